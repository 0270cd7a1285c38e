import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { minimatch } from 'minimatch';
import type { CommitRange, ParsedReport, StageDefinition, ToolAdapter, ToolContext } from './adapter.js';
import { ConfigurationError, SecgateError, ToolFailureError, ToolOutputError, errorMessage } from './errors.js';
import type { EvaluatedFinding, Finding, RawFinding } from './finding.js';
import { SourceCache, identify } from './fingerprint.js';
import type { ToolInstaller } from './install/installer.js';
import { runTool } from './exec.js';
import type { Logger } from './logger.js';
import { mergeDuplicates } from './dedup.js';
import type { ChangedLines } from './policy/changed-lines.js';
import { blockingFindings, evaluate, type EffectivePolicy, type LedgerReport, type Verdict } from './policy/evaluate.js';

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
  status: 'ok' | 'skipped' | 'failed';
  skipReason?: string;
  error?: SecgateError;
  exitCode?: number;
  findingCount: number;
  warnings: string[];
  installMs: number;
  runMs: number;
  cacheHit?: boolean;
  verified?: boolean;
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
  const merged = hideSecretLines(mergeDuplicates(identified));
  const { findings, ledger } = evaluate(merged, request.policy, {
    now: request.now,
    baseline: request.baseline,
    changedLines: request.changedLines
  });
  findings.sort(rankFindings);
  const errors = outcomes.flatMap((o) => (o.run.error ? [o.run.error] : []));
  const blocking = blockingFindings(findings, request.policy.failOn);
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
    durationMs: Date.now() - started
  };
}

/** A line where any tool saw a secret is shown by no finding: other tools' snippets would leak it. */
export function hideSecretLines(findings: Finding[]): Finding[] {
  const key = (f: Finding): string => `${f.location?.path}:${f.location?.startLine}`;
  const secretLines = new Set(findings.filter((f) => f.sensitive && f.location?.startLine).map(key));
  return findings.map((f) => (!f.sensitive && f.location?.startLine && secretLines.has(key(f)) ? { ...f, sensitive: true, snippet: undefined } : f));
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

async function runOneTool(
  stage: string,
  adapter: ToolAdapter,
  request: ScanRequest,
  deps: EngineDeps
): Promise<{ run: ToolRun; findings: RawFinding[] }> {
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
    exclude: request.exclude,
    workDir,
    options: request.options,
    commitRange: request.commitRange,
    logger: deps.logger
  };
  try {
    const skip = await adapter.skip?.(context);
    if (skip) {
      run.status = 'skipped';
      run.skipReason = skip;
      deps.logger.info(`${adapter.displayName}: skipped (${skip})`);
      return { run, findings: [] };
    }
    const installed = await deps.installer.install(adapter.install);
    run.version = installed.version;
    run.installMs = installed.durationMs;
    run.cacheHit = installed.cacheHit;
    run.verified = installed.verified;
    const planned = await adapter.command(installed, context);
    const invocations = Array.isArray(planned) ? planned : [planned];
    if (invocations.length === 0) {
      // Shown as skipped in the summary, never as a clean "0 findings".
      run.status = 'skipped';
      run.skipReason = 'nothing to scan on this event (a history scan needs a commit range)';
      deps.logger.info(`${adapter.displayName}: skipped (${run.skipReason})`);
      return { run, findings: [] };
    }
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
      if (meaning === 'error') {
        throw new ToolFailureError(adapter.id, `exited with code ${result.exitCode} (an error, not findings)`, result.exitCode, result.stderr);
      }
      const report = invocation.reportFile
        ? await readReport(adapter.id, invocation.reportFile)
        : invocation.reportFrom === 'stderr'
          ? result.stderr
          : result.stdout;
      const parsedOne = adapter.parse(report, context, invocation);
      if (meaning === 'findings' && parsedOne.findings.length === 0) {
        throw new ToolOutputError(adapter.id, `exit code ${result.exitCode} says findings, but the report has none`);
      }
      reports.push(parsedOne);
    }
    const parsed: ParsedReport = adapter.combine
      ? adapter.combine(reports)
      : { findings: reports.flatMap((r) => r.findings), warnings: reports.flatMap((r) => r.warnings) };
    const findings = parsed.findings.map((f) => normaliseLocation(f, request.workspace)).filter((f) => !excluded(f, request.exclude));
    run.findingCount = findings.length;
    run.warnings = parsed.warnings;
    for (const warning of parsed.warnings) deps.logger.warning(`${adapter.displayName}: ${warning}`);
    deps.logger.info(`${adapter.displayName}: ${findings.length} finding(s) in ${(run.runMs / 1000).toFixed(1)} s`);
    return { run, findings };
  } catch (error) {
    run.status = 'failed';
    run.error =
      error instanceof SecgateError ? error : new ToolFailureError(adapter.id, `unexpected error: ${errorMessage(error)}`);
    deps.logger.error(run.error.message);
    return { run, findings: [] };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function readReport(tool: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new ToolOutputError(tool, `the report file was not written (${path.basename(file)})`);
  }
}

function normaliseLocation(finding: RawFinding, workspace: string): RawFinding {
  if (!finding.location) return finding;
  const absolute = path.resolve(workspace, finding.location.path);
  const relative = path.relative(workspace, absolute).split(path.sep).join('/');
  const startLine = finding.location.startLine && finding.location.startLine > 0 ? finding.location.startLine : undefined;
  return { ...finding, location: { ...finding.location, path: relative || '.', startLine } };
}

function excluded(finding: RawFinding, patterns: string[]): boolean {
  const file = finding.location?.path;
  return Boolean(file && patterns.some((p) => minimatch(file, p, { dot: true }) || minimatch(file, `${p.replace(/\/$/, '')}/**`, { dot: true })));
}

export type { Finding };
