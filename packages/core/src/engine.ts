import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Minimatch } from 'minimatch';
import type { CommitRange, GateMetric, InventoryItem, ParsedReport, SkipDecision, StageDefinition, ToolAdapter, ToolContext, ToolInvocation, UncheckedItem } from './adapter.js';
import {
  ConfigurationError,
  NothingCheckedError,
  SecgateError,
  ToolFailureError,
  ToolIncompleteError,
  ToolOutputError,
  ToolSkippedError,
  errorMessage
} from './errors.js';
import type { EvaluatedFinding, Finding, RawFinding } from './finding.js';
import { SourceCache, identify } from './fingerprint.js';
import { WorkspaceBoundary, isWithin } from './workspace.js';
import type { ToolInstaller } from './install/installer.js';
import { runTool } from './exec.js';
import type { Logger } from './logger.js';
import { mergeDuplicates } from './dedup.js';
import { hideSecretLines } from './redact.js';
import type { ChangedLines } from './policy/changed-lines.js';
import type { PolicyChangeReport } from './policy/relaxation.js';
import { blockingFindings, evaluate, uncheckedAllowance, type EffectivePolicy, type LedgerReport, type Verdict } from './policy/evaluate.js';

export interface ScanRequest {
  stages: readonly StageDefinition[];
  workspace: string;
  targets: string[];
  exclude: string[];
  /** Tool ids to run; empty = each stage's defaults. */
  tools: string[];
  policy: EffectivePolicy;
  options: Record<string, string>;
  timeoutsMs: Record<string, number>;
  baseline?: ReadonlySet<string>;
  changedLines?: ChangedLines;
  commitRange?: CommitRange;
  now: Date;
  tempDir: string;
}

export interface ToolRun {
  stage: string;
  tool: string;
  displayName: string;
  version?: string;
  /** `not-applicable`: a default tool with nothing of its kind here (no lockfile, no model file); not an error. */
  status: 'ok' | 'skipped' | 'not-applicable' | 'failed';
  skipReason?: string;
  error?: SecgateError;
  exitCode?: number;
  findingCount: number;
  warnings: string[];
  installMs: number;
  runMs: number;
  cacheHit?: boolean;
  verified?: boolean;
  /** What the tool could not check, each marked when the policy ledger allows it. */
  unchecked?: UncheckedEntry[];
  /** The adapter's facts about the run (DB age, what an ignore file suppressed), shown under the tool. */
  facts?: string[];
  /** Gate metrics (robustness, attack success rates) with their thresholds. */
  metrics?: GateMetric[];
}

/** An unchecked dependency or file, with the ledger entry that allows it (if one does). */
export interface UncheckedEntry extends UncheckedItem {
  tool: string;
  allowedBy?: { entry: number; reason: string; owner: string; expires: string };
}

/** One component of the scanned project (for the SBOM), with every tool that saw it. */
export interface InventoryEntry extends InventoryItem {
  tools: string[];
  /** Model files: each scanner's own verdict (the entry's `verdict` is the worst of them). */
  verdicts?: Record<string, NonNullable<InventoryItem['verdict']>>;
}

export interface ScanResult {
  stages: string[];
  workspace: string;
  tools: ToolRun[];
  findings: EvaluatedFinding[];
  blocking: EvaluatedFinding[];
  ledger: LedgerReport;
  policy: EffectivePolicy;
  verdict: Verdict;
  errors: SecgateError[];
  durationMs: number;
  /** Every dependency and model file the tools saw, deduplicated (purl, else path). */
  inventory?: InventoryEntry[];
  /** Everything some tool could not check (also under each ToolRun). */
  unchecked?: UncheckedEntry[];
  /** Pull requests and merge groups: how the change's policy file compares with the base commit's (set by the action). */
  policyChange?: PolicyChangeReport;
}

export interface EngineDeps {
  installer: ToolInstaller;
  logger: Logger;
}

/** Picks the adapters to run; unknown tool names are a configuration error, not a silent no-op. */
export function selectAdapters(stages: readonly StageDefinition[], tools: string[]): { stage: string; adapter: ToolAdapter }[] {
  for (const stage of stages) {
    if (stage.adapters.length === 0) {
      throw new ConfigurationError(
        `stage '${stage.id}' has no tool adapters in this release${stage.planned ? ` (planned: ${stage.planned})` : ''}`,
        'stages'
      );
    }
  }
  const all = stages.flatMap((stage) => stage.adapters.map((adapter) => ({ stage: stage.id, adapter })));
  if (tools.length === 0) {
    return stages.flatMap((stage) =>
      stage.adapters.filter((a) => stage.defaultTools.includes(a.id)).map((adapter) => ({ stage: stage.id, adapter }))
    );
  }
  const unknown = tools.filter((t) => !all.some((entry) => entry.adapter.id === t));
  if (unknown.length > 0) {
    const known = all.map((e) => e.adapter.id).join(', ') || '(none)';
    throw new ConfigurationError(`unknown tool(s) ${unknown.join(', ')}; this run knows ${known}`, 'tools');
  }
  return all.filter((entry) => tools.includes(entry.adapter.id));
}

/** Runs every selected tool concurrently, then normalises, de-duplicates and applies policy. */
export async function runScan(request: ScanRequest, deps: EngineDeps): Promise<ScanResult> {
  const started = Date.now();
  const selected = selectAdapters(request.stages, request.tools);
  if (selected.length === 0) {
    throw new ConfigurationError(`no tools selected for stage(s) ${request.stages.map((s) => s.id).join(', ')}`, 'tools');
  }
  await mkdir(request.tempDir, { recursive: true });
  const outcomes = await Promise.all(selected.map(({ stage, adapter }) => runOneTool(stage, adapter, request, deps)));

  const raws = outcomes.flatMap((o) => o.findings);
  const sources = new SourceCache(request.workspace);
  const identified = await identify(raws, sources);
  // Secret lines are collected before merging: a merged finding keeps only its lead's range.
  const merged = mergeDuplicates(hideSecretLines(identified, sources), request.stages.flatMap((stage) => stage.equivalentRules ?? []));
  const { findings, ledger } = evaluate(merged, request.policy, {
    now: request.now,
    baseline: request.baseline,
    changedLines: request.changedLines
  });
  findings.sort(rankFindings);
  const errors = outcomes.flatMap((o) => (o.run.error ? [o.run.error] : []));
  const notApplicable = outcomes.filter((o) => o.run.status === 'not-applicable');
  // Default tools that do not apply are fine one by one; all of them together checked nothing.
  if (notApplicable.length === outcomes.length) {
    errors.push(new NothingCheckedError(notApplicable.map((o) => ({ tool: o.run.tool, reason: o.run.skipReason ?? '' }))));
  }
  const blocking = blockingFindings(findings, request.policy);
  const verdict: Verdict = errors.length > 0 ? 'error' : blocking.length > 0 ? 'fail' : 'pass';
  return {
    stages: request.stages.map((s) => s.id),
    workspace: request.workspace,
    tools: outcomes.map((o) => o.run),
    findings,
    blocking,
    ledger,
    policy: request.policy,
    verdict,
    errors,
    durationMs: Date.now() - started,
    inventory: mergeInventory(outcomes),
    unchecked: outcomes.flatMap((o) => o.run.unchecked ?? [])
  };
}

/** Order of model verdicts, worst last: an unsafe verdict from one scanner outweighs a clean one from another. */
const VERDICT_RANK = { clean: 0, 'not-scanned': 1, unsafe: 2 } as const;

/**
 * One entry per component: libraries by purl (else ecosystem, name and version), model files by
 * path. A model file keeps each scanner's verdict and the worst of them.
 */
function mergeInventory(outcomes: readonly ToolOutcome[]): InventoryEntry[] {
  const byKey = new Map<string, InventoryEntry>();
  for (const { run, inventory } of outcomes) {
    for (const item of inventory) {
      const key =
        item.kind === 'machine-learning-model'
          ? `model:${item.path ?? item.name}`
          : (item.purl ?? `${item.ecosystem ?? ''}:${item.name}@${item.version ?? ''}`);
      let entry = byKey.get(key);
      if (!entry) {
        entry = { ...item, tools: [] };
        delete entry.verdict;
        byKey.set(key, entry);
      }
      if (!entry.tools.includes(run.tool)) entry.tools.push(run.tool);
      entry.sha256 ??= item.sha256;
      entry.path ??= item.path;
      if (item.verdict) {
        entry.verdicts = { ...entry.verdicts, [run.tool]: item.verdict };
        if (!entry.verdict || VERDICT_RANK[item.verdict] > VERDICT_RANK[entry.verdict]) entry.verdict = item.verdict;
      }
    }
  }
  return [...byKey.values()].sort((a, b) => a.kind.localeCompare(b.kind) || (a.purl ?? a.path ?? a.name).localeCompare(b.purl ?? b.path ?? b.name));
}

/** New first, then most severe, then by place: the order annotations and the summary use. */
export function rankFindings(a: EvaluatedFinding, b: EvaluatedFinding): number {
  const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 } as const;
  return (
    Number(b.state.kind === 'active') - Number(a.state.kind === 'active') ||
    Number(b.isNew) - Number(a.isNew) ||
    rank[b.severity] - rank[a.severity] ||
    (a.location?.path ?? '').localeCompare(b.location?.path ?? '') ||
    (a.location?.startLine ?? 0) - (b.location?.startLine ?? 0) ||
    a.ruleId.localeCompare(b.ruleId)
  );
}

interface ToolOutcome {
  run: ToolRun;
  findings: RawFinding[];
  inventory: InventoryItem[];
}

async function runOneTool(stage: string, adapter: ToolAdapter, request: ScanRequest, deps: EngineDeps): Promise<ToolOutcome> {
  const run: ToolRun = {
    stage,
    tool: adapter.id,
    displayName: adapter.displayName,
    status: 'ok',
    findingCount: 0,
    warnings: [],
    installMs: 0,
    runMs: 0
  };
  const workDir = await mkdtemp(path.join(request.tempDir, `${adapter.id}-`));
  const context: ToolContext = {
    workspace: request.workspace,
    targets: request.targets,
    exclude: excludesForTool(request.exclude, adapter.displayName, deps.logger),
    workDir,
    options: request.options,
    commitRange: request.commitRange,
    timeoutMs: request.timeoutsMs[adapter.id] ?? adapter.defaultTimeoutMs,
    logger: deps.logger
  };
  try {
    const skip = await adapter.skip?.(context);
    if (skip) return skipped(run, skip, request.tools.length > 0, deps);
    const installed = await deps.installer.install(adapter.install);
    run.version = installed.version;
    run.installMs = installed.durationMs;
    run.cacheHit = installed.cacheHit;
    run.verified = installed.verified;
    if (adapter.collect) {
      deps.logger.info(`${adapter.displayName} ${installed.version}: collecting`);
      const collectStarted = Date.now();
      const collected = await adapter.collect(installed, context);
      run.runMs = Date.now() - collectStarted;
      return await finishRun(run, adapter, collected, request, deps);
    }
    const planned = await adapter.command(installed, context);
    const invocations = Array.isArray(planned) ? planned : [planned];
    if (invocations.length === 0) return skipped(run, 'no commit range was given for a history-only scan', true, deps);
    const timeoutMs = request.timeoutsMs[adapter.id] ?? adapter.defaultTimeoutMs;
    const reports: ParsedReport[] = [];
    for (const invocation of invocations) {
      deps.logger.info(`${adapter.displayName} ${installed.version}: running${invocation.mode ? ` (${invocation.mode})` : ''}`);
      const result = await runTool({
        tool: adapter.id,
        command: installed.command,
        args: [...installed.baseArgs, ...invocation.args],
        cwd: request.workspace,
        env: { ...process.env, ...invocation.env },
        timeoutMs,
        maxStderrChars: invocation.reportFrom === 'stderr' ? 256 * 1024 * 1024 : undefined
      });
      run.runMs += result.durationMs;
      run.exitCode = result.exitCode;
      const meaning = adapter.exitMeaning(result.exitCode, invocation);
      // The adapter's reading of stderr names the failure when it can (e.g. "vulnerability DB
      // unavailable"), for an error exit and for a tool that fails yet exits 0.
      const stderrFailure = adapter.stderrFailure?.(result.stderr, invocation, result.exitCode);
      if (meaning === 'error') {
        throw new ToolFailureError(adapter.id, stderrFailure ?? `exited with code ${result.exitCode} (an error, not findings)`, result.exitCode, result.stderr);
      }
      if (stderrFailure) throw new ToolFailureError(adapter.id, stderrFailure, result.exitCode, result.stderr);
      const report = invocation.reportFile
        ? await readReport(adapter.id, invocation.reportFile, result.stderr)
        : invocation.reportFrom === 'stderr'
          ? result.stderr
          : result.stdout;
      const parsedOne = parseReport(adapter, report, context, invocation, result.stderr);
      if (meaning === 'findings' && parsedOne.findings.length + (parsedOne.dropped ?? 0) === 0) {
        throw new ToolOutputError(adapter.id, `exit code ${result.exitCode} says findings, but the report has none`, result.stderr);
      }
      reports.push(parsedOne);
    }
    const parsed: ParsedReport = adapter.combine
      ? adapter.combine(reports)
      : {
          findings: reports.flatMap((r) => r.findings),
          warnings: reports.flatMap((r) => r.warnings),
          unchecked: reports.flatMap((r) => r.unchecked ?? []),
          inventory: reports.flatMap((r) => r.inventory ?? []),
          facts: [...new Set(reports.flatMap((r) => r.facts ?? []))],
          metrics: reports.flatMap((r) => r.metrics ?? [])
        };
    return await finishRun(run, adapter, parsed, request, deps);
  } catch (error) {
    run.status = 'failed';
    // Anything else is a bug in secgate's adapter, named as such (never a bare TypeError text).
    run.error =
      error instanceof SecgateError
        ? error
        : new ToolFailureError(adapter.id, `internal error in secgate's ${adapter.displayName} adapter (${error instanceof Error ? error.name : 'exception'}: ${errorMessage(error).slice(0, 300)})`);
    deps.logger.error(run.error.message);
    return { run, findings: [], inventory: [] };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The same for every tool, run or collected: findings placed in the workspace and filtered by
 * `exclude`, inventory paths made workspace-relative, and unchecked items checked against the
 * ledger — any the ledger does not allow make the run an error (ToolIncompleteError).
 */
async function finishRun(run: ToolRun, adapter: ToolAdapter, parsed: ParsedReport, request: ScanRequest, deps: EngineDeps): Promise<ToolOutcome> {
  const boundary = await WorkspaceBoundary.open(request.workspace);
  const findings = (await placeInWorkspace(parsed, request.workspace)).filter((f) => !excluded(f, request.exclude));
  run.findingCount = findings.length;
  run.warnings = parsed.warnings;
  if (parsed.metrics && parsed.metrics.length > 0) run.metrics = parsed.metrics;
  if (parsed.facts && parsed.facts.length > 0) {
    run.facts = parsed.facts;
    for (const fact of parsed.facts) deps.logger.info(`${adapter.displayName}: ${fact}`);
  }
  const inventory = placeInventory(parsed.inventory ?? [], boundary, parsed.warnings);
  const unchecked = (parsed.unchecked ?? []).map((item): UncheckedEntry => {
    const placed = item.kind === 'file' ? { ...item, name: lexicallyInside(boundary, item.name) ?? item.name } : item;
    const allowing = uncheckedAllowance(placed, request.policy.exceptions, request.now);
    if (!allowing) return { ...placed, tool: adapter.id };
    const index = request.policy.exceptions.indexOf(allowing);
    return { ...placed, tool: adapter.id, allowedBy: { entry: index, reason: allowing.reason, owner: allowing.owner, expires: allowing.expires } };
  });
  if (unchecked.length > 0) run.unchecked = unchecked;
  for (const warning of parsed.warnings) deps.logger.warning(`${adapter.displayName}: ${warning}`);
  const refused = unchecked.filter((item) => !item.allowedBy);
  if (refused.length > 0) {
    run.status = 'failed';
    const one = refused.length === 1;
    const noun = refused.every((item) => item.kind === 'file')
      ? one ? 'file' : 'files'
      : refused.every((item) => item.kind === 'dependency')
        ? one ? 'dependency' : 'dependencies'
        : 'dependencies or files';
    run.error = new ToolIncompleteError(adapter.id, refused, noun);
    deps.logger.error(run.error.message);
  }
  const allowed = unchecked.length - refused.length;
  if (allowed > 0) deps.logger.info(`${adapter.displayName}: ${allowed} unchecked item(s) allowed by the policy ledger (unaudited)`);
  deps.logger.info(`${adapter.displayName}: ${findings.length} finding(s) in ${(run.runMs / 1000).toFixed(1)} s`);
  // Findings still count when the run is incomplete: what was checked is reported.
  return { run, findings, inventory };
}

/**
 * Inventory paths made workspace-relative. A model file outside the workspace is left out (its
 * content is not the repository's); a library keeps its purl but loses such a manifest path.
 */
function placeInventory(items: readonly InventoryItem[], boundary: WorkspaceBoundary, warnings: string[]): InventoryItem[] {
  const placed: InventoryItem[] = [];
  let outside = 0;
  for (const item of items) {
    if (!item.path) {
      placed.push(item);
      continue;
    }
    const relative = boundary.locate(item.path);
    if (relative !== undefined) placed.push({ ...item, path: relative });
    else if (item.kind === 'library') placed.push({ ...item, path: undefined });
    else outside++;
  }
  if (outside > 0) warnings.push(`${outside} model file(s) left out of the inventory: they resolve outside the workspace`);
  return placed;
}

/**
 * A requested tool that did not run: shown as skipped, and an error (ToolSkippedError), never a
 * pass — its silence says nothing about the code. Users deselect tools they do not want. The one
 * exception: a default tool (not chosen with `tools`) that has nothing of its kind here is listed
 * as not applicable, without an error (all of them at once is NothingCheckedError).
 */
function skipped(run: ToolRun, decision: string | SkipDecision, explicitlySelected: boolean, deps: EngineDeps): ToolOutcome {
  const reason = typeof decision === 'string' ? decision : decision.reason;
  run.skipReason = reason;
  if (typeof decision !== 'string' && decision.notApplicable && !explicitlySelected) {
    run.status = 'not-applicable';
    deps.logger.info(`${run.displayName}: not applicable: ${reason}`);
    return { run, findings: [], inventory: [] };
  }
  run.status = 'skipped';
  run.error = new ToolSkippedError(run.tool, reason);
  deps.logger.error(run.error.message);
  return { run, findings: [], inventory: [] };
}

/**
 * The adapter's parser, with the tool's stderr tail added to an unreadable report (an empty report
 * usually means the tool crashed, and only its stderr says why) and any non-secgate exception from
 * the parser named as such: a raw TypeError is never the only explanation.
 */
function parseReport(adapter: ToolAdapter, report: string, context: ToolContext, invocation: ToolInvocation, stderr: string): ParsedReport {
  try {
    return adapter.parse(report, context, invocation);
  } catch (error) {
    if (error instanceof ToolOutputError && !error.stderrTail && stderr.trim() !== '' && invocation.reportFrom !== 'stderr') {
      throw new ToolOutputError(error.tool, error.detail, stderr);
    }
    if (error instanceof SecgateError) throw error;
    const raw = error instanceof Error ? `${error.name}: ${error.message}` : errorMessage(error);
    throw new ToolOutputError(adapter.id, `the report does not have the shape this parser reads (parser exception ${raw.slice(0, 200)})`);
  }
}

async function readReport(tool: string, file: string, stderr: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new ToolOutputError(tool, `the report file was not written (${path.basename(file)})`, stderr.trim() === '' ? undefined : stderr);
  }
}

/**
 * Findings with their paths made workspace-relative. A finding whose file is outside the workspace
 * (`../../etc/passwd`, an absolute path elsewhere, a file reached through a symlink to outside) is
 * dropped: its content is not the repository's and must not reach a report. The drop is counted
 * in a warning added to `report.warnings`, never silent.
 */
async function placeInWorkspace(report: ParsedReport, workspace: string): Promise<RawFinding[]> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const outside: string[] = [];
  const placed: RawFinding[] = [];
  for (const finding of report.findings) {
    const normalised = normaliseLocation(finding, boundary);
    if (normalised) placed.push(normalised);
    else outside.push(lexicallyInside(boundary, finding.location!.path) ?? finding.location!.path);
  }
  if (outside.length > 0) {
    const files = [...new Set(outside)];
    const named = files.slice(0, 5).map((f) => (f.length > 120 ? `${f.slice(0, 119)}…` : f));
    report.warnings.push(
      `${outside.length} finding(s) dropped: ${files.length} file(s) resolve outside the workspace (symlink or path to outside): ${named.join(', ')}${files.length > 5 ? `, … ${files.length - 5} more` : ''}`
    );
  }
  return placed;
}

/** The finding with a workspace-relative location, or undefined when its file lies outside the workspace. */
function normaliseLocation(finding: RawFinding, boundary: WorkspaceBoundary): RawFinding | undefined {
  if (!finding.location) return finding;
  // A history finding's content comes from a commit, not from the file now at that path: only the path must be inside.
  const relative = finding.inChange ? lexicallyInside(boundary, finding.location.path) : boundary.locate(finding.location.path);
  if (relative === undefined) return undefined;
  const startLine = finding.location.startLine && finding.location.startLine > 0 ? finding.location.startLine : undefined;
  return { ...finding, location: { ...finding.location, path: relative, startLine } };
}

function lexicallyInside(boundary: WorkspaceBoundary, reported: string): string | undefined {
  for (const root of [boundary.workspace, boundary.realWorkspace]) {
    const absolute = path.resolve(root, reported);
    if (isWithin(root, absolute)) return path.relative(root, absolute).split(path.sep).join('/') || '.';
  }
  return undefined;
}

/** Compiled once per pattern list: a long `exclude` list times many findings must not recompile globs. */
const excludeMatchers = new WeakMap<readonly string[], Minimatch[]>();

function excluded(finding: RawFinding, patterns: string[]): boolean {
  const file = finding.location?.path;
  if (!file || patterns.length === 0) return false;
  let matchers = excludeMatchers.get(patterns);
  if (!matchers) {
    // A pattern also covers everything below it (`vendor` = `vendor/**`).
    matchers = patterns.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
    excludeMatchers.set(patterns, matchers);
  }
  return matchers.some((matcher) => matcher.match(file));
}

/**
 * Linux caps one argument at 128 KiB and all of them at about 2 MiB: a long `exclude` list ended
 * in `spawn E2BIG`. The engine filters every finding by the whole list anyway, so tools only get
 * the patterns that fit this budget (they merely save scanning time). Patterns with a comma are
 * kept from tools: bandit splits `-x` on commas, and half a pattern could exclude more than meant.
 */
export const TOOL_EXCLUDE_BUDGET_CHARS = 32 * 1024;

export function excludesForTool(patterns: readonly string[], toolName: string, logger: Logger): string[] {
  const passed: string[] = [];
  let size = 0;
  for (const pattern of patterns) {
    if (pattern.includes(',')) continue;
    if (size + pattern.length + 1 > TOOL_EXCLUDE_BUDGET_CHARS) break;
    size += pattern.length + 1;
    passed.push(pattern);
  }
  if (passed.length < patterns.length) {
    logger.info(
      `${toolName}: ${passed.length} of ${patterns.length} exclude pattern(s) passed to the tool (command-line limit); secgate drops findings under every pattern after the scan`
    );
  }
  return passed;
}

export type { Finding };
