import { ToolOutputError } from './errors.js';
import type { RawFinding } from './finding.js';
import type { InstallSpec, InstalledTool } from './install/spec.js';
import type { Logger } from './logger.js';
import type { Severity } from './severity.js';

/** What a tool's exit code says about the run. */
export type ExitMeaning = 'clean' | 'findings' | 'error';

/**
 * The commits a history-aware tool (secret scanner) scans: `base..head` (a pull request, push or
 * merge group; a CLI `--range`), or, without `base`, every commit reachable from `head` (the CLI's
 * default). `since` keeps only commits dated (committer date) on or after it.
 */
export interface CommitRange {
  head: string;
  base?: string;
  /** ISO 8601 date or date-time, already validated (no spaces: it becomes one `git log` argument). */
  since?: string;
}

/** A range with both ends: what an Actions event gives, and what a diff (changed lines) needs. */
export type BoundedCommitRange = CommitRange & { base: string };

export interface ToolContext {
  /** Absolute path of the scanned tree (GITHUB_WORKSPACE or the CLI's path). */
  workspace: string;
  /** Paths to scan, relative to the workspace (default `.`). */
  targets: string[];
  /** Glob patterns to leave out. */
  exclude: string[];
  /** A private temp directory for this tool's report files. */
  workDir: string;
  /** Stage-specific settings (e.g. `semgrep-rules`, `secrets-scan`), already validated by the stage. */
  options: Readonly<Record<string, string>>;
  commitRange?: CommitRange;
  /** The engine kills the tool at this time limit (`timeout-minutes`, else the adapter default): tools that retry forever can end themselves just before it with what they have. */
  timeoutMs?: number;
  logger: Logger;
}

export interface ToolInvocation {
  args: string[];
  env?: Record<string, string>;
  /** When set, the report is read from this file instead of stdout. */
  reportFile?: string;
  /** Some tools (git-secrets) print their findings on stderr; read the whole of it then. */
  reportFrom?: 'stdout' | 'stderr';
  /** Passed to `parse` so one adapter can run several modes (e.g. working tree and history). */
  mode?: string;
  /** Adapter-private facts gathered while planning the run, for `parse` (e.g. the commits in range). */
  data?: Readonly<Record<string, unknown>>;
}

export interface ParsedReport {
  findings: RawFinding[];
  /** Problems the tool reported but survived (e.g. a file it could not parse). Shown, not fatal. */
  warnings: string[];
  /**
   * Matches the parser read and deliberately left out (e.g. history matches outside the scanned
   * commits): an exit code saying "findings" is then consistent with an empty `findings`.
   */
  dropped?: number;
  /**
   * What the tool was asked to check but could not (a dependency its service does not know, a
   * model file no scanner could read). Never clean: the engine makes the run incomplete.
   */
  unchecked?: UncheckedItem[];
  /** Everything the tool saw, vulnerable or not (dependencies, model files): the stage's SBOM. */
  inventory?: InventoryItem[];
  /**
   * Facts about the run a reviewer needs to trust it, shown in the summary and terminal under the
   * tool (e.g. "vulnerability DB updated 2026-11-26 07:40 UTC, 2 h old"). Plain text, one line each.
   */
  facts?: string[];
  /** Measured quantities gated against a threshold (robustness, attack success rates), shown in a summary table. */
  metrics?: GateMetric[];
}

/**
 * One measured quantity and its bar, e.g. the robust accuracy of a classifier under one attack.
 * The finding that fails the gate is separate (one per failing attack); a metric is what the
 * summary shows for every attack, passing or not, and what a later run compares against.
 */
export interface GateMetric {
  /** Stable across runs, e.g. `art:HopSkipJump:l2@0.5`, `garak:dan.Dan_11_0/dan.DAN`. */
  id: string;
  /** What is measured, e.g. `robust accuracy`, `attack success rate`. */
  name: string;
  value: number;
  /** `min`: the value must be at least the threshold; `max`: at most. */
  direction: 'min' | 'max';
  threshold?: number;
  /** Confidence interval of a sample proportion (e.g. Wilson, 95 %). */
  interval?: { lower: number; upper: number; method: string; level: number };
  /** Sample size behind the value. */
  n?: number;
  /** `inconclusive`: the interval straddles the threshold (shown as a warning). */
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** The setting it was measured under: attack, norm, ε, queries used. */
  detail?: string;
}

export interface SkipDecision {
  reason: string;
  notApplicable?: boolean;
}

/** A dependency or file a tool should have checked and did not, with the tool's reason. */
export interface UncheckedItem {
  kind: 'dependency' | 'file';
  /** Package name (dependencies) or workspace-relative path (files). */
  name: string;
  version?: string;
  ecosystem?: string;
  reason: string;
}

/** One component seen by a tool, for the CycloneDX SBOM. */
export interface InventoryItem {
  kind: 'library' | 'machine-learning-model';
  name: string;
  version?: string;
  /** OSV ecosystem name, e.g. `PyPI`, `npm`. */
  ecosystem?: string;
  /** Package URL, e.g. `pkg:pypi/torch@2.1.0`. */
  purl?: string;
  /** Workspace-relative path (model files, the manifest that declares a library). */
  path?: string;
  sha256?: string;
  /** Model files: what the scanners concluded. */
  verdict?: 'clean' | 'unsafe' | 'not-scanned';
}

/**
 * Everything secgate knows about one tool, in one place: how to install it, how to call it,
 * what its exit codes mean, how to read its report and how its severities map to ours.
 */
export interface ToolAdapter {
  id: string;
  displayName: string;
  /** One line for docs and the summary. */
  description: string;
  install: InstallSpec;
  defaultTimeoutMs: number;
  /** Documented mapping from the tool's severity words to ours (shown in docs, used by the parser). */
  severityMap: Readonly<Record<string, Severity>>;
  /**
   * Skip the tool when it cannot or need not run; returns the reason. A plain reason is a real
   * skip (a named error). `notApplicable` says there is nothing of the tool's kind here (no
   * lockfile of its ecosystem, no model file): a default tool is then listed as not applicable
   * and does not make the run red; one the user selected explicitly still does.
   */
  skip?(context: ToolContext): Promise<string | SkipDecision | undefined>;
  /**
   * One invocation, or several run one after another (each checked and parsed on its own).
   * An empty list means nothing applies to this run (reported as skipped).
   */
  command(
    tool: InstalledTool,
    context: ToolContext
  ): Promise<ToolInvocation | ToolInvocation[]> | ToolInvocation | ToolInvocation[];
  exitMeaning(exitCode: number, invocation: ToolInvocation): ExitMeaning;
  /**
   * The reason a run failed, read from its stderr, or undefined. For tools that can fail yet exit 0
   * with a well-formed empty report (gitleaks when git cannot read an object), and to name the
   * failure of an error exit (trivy's exit 1 when its vulnerability DB cannot be had).
   */
  stderrFailure?(stderr: string, invocation: ToolInvocation, exitCode: number): string | undefined;
  /** Throws ToolOutputError for missing, empty, truncated or foreign output. */
  parse(report: string, context: ToolContext, invocation: ToolInvocation): ParsedReport;
  /** Combines the findings of several invocations (e.g. drop history duplicates of tree findings). */
  combine?(perInvocation: ParsedReport[]): ParsedReport;
  /**
   * Tools reached over an API rather than run as a process (e.g. Dependabot alerts): when present,
   * the engine calls this instead of `command`/`exitMeaning`/`parse`. Errors are SecgateErrors.
   */
  collect?(tool: InstalledTool, context: ToolContext): Promise<ParsedReport>;
  /**
   * Data the tool downloads that is worth keeping across workflow runs (a vulnerability DB): the
   * action restores each directory with @actions/cache before the run and saves it after.
   */
  persistentData?(options: Readonly<Record<string, string>>, now: Date): PersistentData[];
}

/** One directory kept across workflow runs (see ToolAdapter.persistentData). */
export interface PersistentData {
  dir: string;
  /** Exact key, e.g. `secgate-trivy-db-2026-11-26` (one entry per day). */
  key: string;
  /** Older entries to fall back on, e.g. `secgate-trivy-db-`: the tool then updates what is stale. */
  restorePrefix?: string;
}

/** A stage is a named list of adapters; the engine does the rest. */
export interface StageDefinition {
  id: string;
  title: string;
  adapters: readonly ToolAdapter[];
  /** Tools run when the user does not choose (`tools` input). */
  defaultTools: readonly string[];
  /** Tools on the roadmap, named in the error when a stage has no adapters yet. */
  planned?: string;
  /** Rules of different tools that mean the same thing: on one line they merge into one finding (`mergeDuplicates`). */
  equivalentRules?: readonly import('./dedup.js').RuleEquivalence[];
}

/** Reads a tool's JSON report: empty, truncated, non-JSON or garbled output is a named ToolOutputError. */
export function parseJsonReport<T = unknown>(tool: string, text: string): T {
  if (text.trim() === '') throw new ToolOutputError(tool, 'the JSON report is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Only the position: V8's message quotes the text around it, which may hold a secret.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position ? `invalid at character ${position} of ${text.length}` : `ends early after ${text.length} characters`;
    throw new ToolOutputError(tool, `the JSON report is truncated or not JSON (${where})`);
  }
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) {
    // JSON.parse keeps the last of two equal keys; no tool writes them, so the report is garbled
    // and either value could be the real one.
    throw new ToolOutputError(tool, `the JSON report repeats the key ${JSON.stringify(duplicate.slice(0, 60))} in one object`);
  }
  return value as T;
}

/**
 * The first key that occurs twice in one object of `text` (valid JSON), or undefined. A single
 * pass with an explicit stack: no recursion, so deeply nested input cannot overflow the call stack.
 */
export function duplicateJsonKey(text: string): string | undefined {
  const stack: (Set<string> | undefined)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = stack[stack.length - 1];
      let next = end + 1;
      while (next < text.length && ' \t\r\n'.includes(text[next]!)) next++;
      if (keys && text[next] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end + 1;
      continue;
    }
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(undefined);
    else if (c === '}' || c === ']') stack.pop();
    i++;
  }
  return undefined;
}

/** Largest line or column number taken from a report; anything above it is garbled, not a file. */
export const MAX_POSITION = 100_000_000;
/** Longest path taken from a report (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096;

/** Longest file or folder name (NAME_MAX on Linux, in bytes). */
const MAX_NAME_BYTES = 255;

/**
 * Why `text` cannot be a path a tool found in the scanned tree, or undefined. A path no file
 * system accepts (NUL, a 300-byte name) would only make the file reads after parsing throw.
 */
export function pathProblem(text: string): string | undefined {
  if (text === '') return 'is empty';
  if (text.includes('\u0000')) return 'holds a NUL character';
  if (text.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (text.split(/[\\/]/).some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) return `has a name longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

type JsonObject = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Typed reads of one tool's JSON report. Every field a parser uses goes through it, so a missing
 * key, a wrong type, an unknown enum word or an absurd number is a ToolOutputError naming the tool
 * and the field (`results[3].issue_severity`), never a default and never a raw TypeError.
 */
export class ReportReader {
  constructor(readonly tool: string) {}

  fail(where: string, problem: string): never {
    throw new ToolOutputError(this.tool, `${where} ${problem}`);
  }

  object(value: unknown, where: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, `is ${describe(value)}, expected an object`);
    return value as JsonObject;
  }

  array(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) this.fail(where, `is ${describe(value)}, expected an array`);
    return value;
  }

  string(value: unknown, where: string): string {
    if (typeof value !== 'string') this.fail(where, `is ${describe(value)}, expected a string`);
    return value;
  }

  /** A string that is not blank (whitespace or line separators alone) and has no control characters (rule ids, names). */
  word(value: unknown, where: string): string {
    const text = this.string(value, where);
    if (text.trim() === '' || /[\u0000-\u001f\u007f-\u009f]/.test(text)) this.fail(where, text.trim() === '' ? 'is empty' : 'holds control characters');
    return text;
  }

  optionalString(value: unknown, where: string): string | undefined {
    return value === undefined ? undefined : this.string(value, where);
  }

  /** A file path: non-empty, no NUL, at most MAX_PATH_LENGTH characters and NAME_MAX bytes a part. */
  path(value: unknown, where: string): string {
    const text = this.string(value, where);
    const problem = pathProblem(text);
    if (problem) this.fail(where, problem);
    return text;
  }

  /** An integer in [min, MAX_POSITION]. */
  integer(value: unknown, where: string, min: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_POSITION) {
      this.fail(where, `is ${describe(value)}, expected an integer from ${min} to ${MAX_POSITION}`);
    }
    return value;
  }

  optionalInteger(value: unknown, where: string, min: number): number | undefined {
    return value === undefined ? undefined : this.integer(value, where, min);
  }

  /** One of the documented words, exactly (case-insensitive; padding or unknown words are errors). */
  oneOf<T>(value: unknown, where: string, table: Readonly<Record<string, T>>): T {
    const word = this.string(value, where);
    const hit = Object.prototype.hasOwnProperty.call(table, word.toUpperCase()) ? table[word.toUpperCase()] : undefined;
    if (hit === undefined) {
      this.fail(where, `is ${JSON.stringify(word.slice(0, 40))}${word.length > 40 ? '…' : ''}, expected one of ${Object.keys(table).join(', ')}`);
    }
    return hit;
  }

  /** Each element of an array field, with its index in the error path. */
  each<T>(value: unknown, where: string, read: (item: unknown, where: string) => T): T[] {
    return this.array(value, where).map((item, index) => read(item, `${where}[${index}]`));
  }
}

/**
 * For `combine`: the findings of several invocations, dropping a finding of a later invocation
 * whose key an earlier invocation already reported (list the preferred mode first, e.g. the
 * working tree before history). Findings of one invocation are never merged with each other: two
 * secrets of one rule on one line are two findings.
 */
export function firstByKey(reports: ParsedReport[], key: (finding: RawFinding) => string): ParsedReport {
  const seen = new Set<string>();
  const findings: RawFinding[] = [];
  for (const report of reports) {
    const keys = report.findings.map(key);
    report.findings.forEach((finding, index) => {
      if (!seen.has(keys[index]!)) findings.push(finding);
    });
    for (const k of keys) seen.add(k);
  }
  const dropped = reports.reduce((sum, r) => sum + (r.dropped ?? 0), 0);
  return { findings, warnings: reports.flatMap((r) => r.warnings), ...(dropped > 0 ? { dropped } : {}) };
}
