import { ToolOutputError } from './errors.js';
import type { RawFinding } from './finding.js';
import type { InstallSpec, InstalledTool } from './install/spec.js';
import type { Logger } from './logger.js';
import type { Severity } from './severity.js';

/** What a tool's exit code says about the run. */
export type ExitMeaning = 'clean' | 'findings' | 'error';

/** A commit range for history-aware tools (secret scanners) on pull requests and pushes. */
export interface CommitRange {
  base: string;
  head: string;
}

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
  /** Skip the tool when it has nothing to scan (e.g. no Python files); returns the reason. */
  skip?(context: ToolContext): Promise<string | undefined>;
  /**
   * One invocation, or several run one after another (each checked and parsed on its own).
   * An empty list means nothing applies to this run (reported as skipped).
   */
  command(
    tool: InstalledTool,
    context: ToolContext
  ): Promise<ToolInvocation | ToolInvocation[]> | ToolInvocation | ToolInvocation[];
  exitMeaning(exitCode: number, invocation: ToolInvocation): ExitMeaning;
  /** Throws ToolOutputError for missing, empty, truncated or foreign output. */
  parse(report: string, context: ToolContext, invocation: ToolInvocation): ParsedReport;
  /** Combines the findings of several invocations (e.g. drop history duplicates of tree findings). */
  combine?(perInvocation: ParsedReport[]): ParsedReport;
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
}

/** Reads a tool's JSON report: empty, truncated or non-JSON output is a named ToolOutputError. */
export function parseJsonReport<T>(tool: string, text: string): T {
  if (text.trim() === '') throw new ToolOutputError(tool, 'the JSON report is empty');
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ToolOutputError(tool, `the JSON report is truncated or not JSON (${(error as Error).message})`);
  }
}

/**
 * For `combine`: the findings of several invocations with repeats dropped (the first report of a
 * key wins, so list the preferred mode first, e.g. the working tree before history).
 */
export function firstByKey(reports: ParsedReport[], key: (finding: RawFinding) => string): ParsedReport {
  const seen = new Set<string>();
  const findings = reports
    .flatMap((r) => r.findings)
    .filter((finding) => {
      const k = key(finding);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  return { findings, warnings: reports.flatMap((r) => r.warnings) };
}
