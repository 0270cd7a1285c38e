import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigurationError,
  MemoryLogger,
  NothingCheckedError,
  ToolIncompleteError,
  ToolFailureError,
  ToolOutputError,
  ToolSkippedError,
  ToolTimeoutError,
  buildSummary,
  runScan,
  type EffectivePolicy,
  type ExitMeaning,
  type InstallSpec,
  type InstalledTool,
  type ParsedReport,
  type ScanRequest,
  type ScanResult,
  type StageDefinition,
  type Threshold,
  type ToolAdapter,
  type ToolInstaller,
  type ToolRun
} from '@secgate/core';
import { parseBanditReport } from '@secgate/sast';
import { REPO_ROOT } from '../../../test/helpers/runner.js';

/**
 * Each fake tool is a real program: node running a small script. The fake installer "installs"
 * it by returning node with `-e <script>` as the base arguments; the adapter adds the report path.
 */
class ScriptInstaller {
  readonly installs: string[] = [];
  constructor(private readonly scripts: Record<string, string>) {}
  async install(spec: InstallSpec): Promise<InstalledTool> {
    const script = this.scripts[spec.tool];
    if (script === undefined) throw new Error(`no script for ${spec.tool}`);
    this.installs.push(spec.tool);
    return {
      tool: spec.tool,
      version: '0.0.0-test',
      command: process.execPath,
      baseArgs: ['-e', script],
      dir: path.dirname(process.execPath),
      cacheHit: true,
      durationMs: 0,
      verified: true
    };
  }
}

/** A bandit-like adapter: bandit's exit codes (0 clean, 1 findings, other = error) and its real JSON parser. */
function banditLike(id: string, opts: { reportFile?: boolean } = {}): ToolAdapter {
  return {
    id,
    displayName: `Fake ${id}`,
    description: 'test adapter',
    install: { kind: 'python', tool: id, distribution: id, module: id, defaultVersion: '0.0.0-test' },
    defaultTimeoutMs: 60_000,
    severityMap: {},
    command(_tool, context) {
      if (!opts.reportFile) return { args: [] };
      const report = path.join(context.workDir, `${id}.json`);
      return { args: [report], reportFile: report };
    },
    exitMeaning(code): ExitMeaning {
      return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
    },
    parse: (report) => parseBanditReport(report)
  };
}

const SOURCE = ['import subprocess', '', 'def run(cmd):', '    return subprocess.call(cmd, shell=True)', ''].join('\n');

function banditResult(severity: string, line = 4) {
  return {
    filename: 'app.py',
    test_id: 'B602',
    test_name: 'subprocess_popen_with_shell_equals_true',
    issue_text: 'subprocess call with shell=True identified, security issue.',
    issue_severity: severity,
    issue_confidence: 'HIGH',
    issue_cwe: { id: 78, link: 'https://cwe.mitre.org/data/definitions/78.html' },
    line_number: line,
    line_range: [line],
    col_offset: 11,
    end_col_offset: 45,
    more_info: 'https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html'
  };
}

const reportJson = (results: unknown[]): string => JSON.stringify({ errors: [], results, metrics: {} });

/** Scripts (run with `node -e`). A report-file adapter gets the report path as process.argv[1]. */
const script = {
  /** Writes a report with one finding of `severity` to argv[1], exits 1 (bandit: issues found). */
  findingsToFile: (severity = 'HIGH', delayMs = 0): string =>
    `setTimeout(() => { require('fs').writeFileSync(process.argv[1], ${JSON.stringify(reportJson([banditResult(severity)]))}); process.exit(1); }, ${delayMs});`,
  /** Prints a clean report on stdout after `delayMs`. */
  cleanStdout: (delayMs = 0): string =>
    `setTimeout(() => { process.stdout.write(${JSON.stringify(reportJson([]))}); process.exit(0); }, ${delayMs});`,
  crash: `process.stderr.write(${JSON.stringify(
    'Traceback (most recent call last):\n  File "bandit/cli/main.py", line 42, in main\n    run()\nKeyError: \'profiles\'\n'
  )}); process.exit(2);`,
  truncated: `process.stdout.write(${JSON.stringify(reportJson([banditResult('HIGH')]).slice(0, 120))}); process.exit(1);`,
  empty: `process.exit(0);`,
  findingsExitButNone: `process.stdout.write(${JSON.stringify(reportJson([]))}); process.exit(1);`,
  hang: `setTimeout(() => process.exit(0), 20000);`
};

const policy = (failOn: Threshold = 'high'): EffectivePolicy => ({ failOn, reportSeverity: 'info', newOnly: 'off', exceptions: [] });

let workspace: string;
let tempRoot: string;

beforeEach(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-engine-ws-'));
  tempRoot = await mkdtemp(path.join(os.tmpdir(), 'secgate-engine-tmp-'));
  await writeFile(path.join(workspace, 'app.py'), SOURCE);
});

afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
  await rm(tempRoot, { recursive: true, force: true });
});

function request(adapters: ToolAdapter[], extra: Partial<ScanRequest> = {}): ScanRequest {
  const stage: StageDefinition = { id: 'sast', title: 'Static analysis', adapters, defaultTools: adapters.map((a) => a.id) };
  return {
    stages: [stage],
    workspace,
    targets: ['.'],
    exclude: [],
    tools: [],
    policy: policy(),
    options: {},
    timeoutsMs: {},
    now: new Date('2026-01-15T00:00:00Z'),
    tempDir: path.join(tempRoot, 'scan'),
    ...extra
  };
}

async function scan(
  scripts: Record<string, string>,
  adapters: ToolAdapter[],
  extra: Partial<ScanRequest> = {}
): Promise<{ result: ScanResult; logger: MemoryLogger; installer: ScriptInstaller }> {
  const logger = new MemoryLogger();
  const installer = new ScriptInstaller(scripts);
  const result = await runScan(request(adapters, extra), { installer: installer as unknown as ToolInstaller, logger });
  return { result, logger, installer };
}

const runOf = (result: ScanResult, tool: string): ToolRun => {
  const found = result.tools.find((t) => t.tool === tool);
  if (!found) throw new Error(`no run for ${tool}`);
  return found;
};

/** The healthy neighbour's finding survives a sibling's failure. */
function expectGoodToolReported(result: ScanResult): void {
  const good = runOf(result, 'good');
  expect(good).toMatchObject({ status: 'ok', exitCode: 1, findingCount: 1, version: '0.0.0-test', cacheHit: true, verified: true });
  expect(good.error).toBeUndefined();
  expect(result.findings).toHaveLength(1);
  expect(result.findings[0]).toMatchObject({
    // The finding names the tool its parser speaks for (the real bandit parser).
    tool: 'bandit',
    ruleId: 'B602',
    severity: 'high',
    location: { path: 'app.py', startLine: 4 },
    snippet: 'return subprocess.call(cmd, shell=True)',
    state: { kind: 'active' },
    cwe: ['CWE-78']
  });
  expect(result.blocking).toHaveLength(1);
}

describe('runScan: a failing tool is an error, never "0 findings"', () => {
  it('a crash (exit code meaning error) is a ToolFailureError carrying the stderr tail', async () => {
    const { result, logger } = await scan(
      { good: script.findingsToFile(), bad: script.crash },
      [banditLike('good', { reportFile: true }), banditLike('bad')]
    );
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad.status).toBe('failed');
    expect(bad.exitCode).toBe(2);
    expect(bad.findingCount).toBe(0);
    expect(bad.error).toBeInstanceOf(ToolFailureError);
    expect(bad.error).not.toBeInstanceOf(ToolOutputError);
    expect(bad.error).not.toBeInstanceOf(ToolTimeoutError);
    const error = bad.error as ToolFailureError;
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('bad: exited with code 2 (an error, not findings)');
    expect(error.message).toContain("KeyError: 'profiles'");
    expect(error.message).toContain('Traceback (most recent call last):');
    expect(error.stderrTail).toContain('bandit/cli/main.py');
    expect(result.errors).toEqual([bad.error]);
    expect(logger.lines).toContainEqual({ level: 'error', message: error.message });
    expectGoodToolReported(result);
    // Per-tool work directories are removed after the scan.
    expect(await readdir(path.join(tempRoot, 'scan'))).toEqual([]);
  });

  it('a truncated JSON report is a ToolOutputError', async () => {
    const { result } = await scan(
      { good: script.findingsToFile(), bad: script.truncated },
      [banditLike('good', { reportFile: true }), banditLike('bad')]
    );
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad).toMatchObject({ status: 'failed', exitCode: 1, findingCount: 0 });
    expect(bad.error).toBeInstanceOf(ToolOutputError);
    expect(bad.error?.kind).toBe('tool-output');
    expect(bad.error?.message).toMatch(/unreadable output: the JSON report is truncated or not JSON/);
    expectGoodToolReported(result);
  });

  it('empty output is a ToolOutputError, not a clean run', async () => {
    const { result } = await scan(
      { good: script.findingsToFile(), bad: script.empty },
      [banditLike('good', { reportFile: true }), banditLike('bad')]
    );
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad).toMatchObject({ status: 'failed', exitCode: 0 });
    expect(bad.error).toBeInstanceOf(ToolOutputError);
    expect(bad.error?.message).toContain('the JSON report is empty');
    expectGoodToolReported(result);
  });

  it('a report file that was never written is a ToolOutputError', async () => {
    const { result } = await scan(
      { good: script.findingsToFile(), bad: script.empty },
      [banditLike('good', { reportFile: true }), banditLike('bad', { reportFile: true })]
    );
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad.error).toBeInstanceOf(ToolOutputError);
    expect(bad.error?.message).toContain('the report file was not written (bad.json)');
    expectGoodToolReported(result);
  });

  it('an exit code saying "findings" with an empty report is a ToolOutputError', async () => {
    const { result } = await scan(
      { good: script.findingsToFile(), bad: script.findingsExitButNone },
      [banditLike('good', { reportFile: true }), banditLike('bad')]
    );
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad).toMatchObject({ status: 'failed', exitCode: 1, findingCount: 0 });
    expect(bad.error).toBeInstanceOf(ToolOutputError);
    expect(bad.error?.message).toContain('exit code 1 says findings, but the report has none');
    expectGoodToolReported(result);
  });

  it('a tool overrunning its timeout is killed: ToolTimeoutError', async () => {
    const started = Date.now();
    const { result } = await scan(
      { good: script.findingsToFile(), bad: script.hang },
      [banditLike('good', { reportFile: true }), banditLike('bad')],
      { timeoutsMs: { bad: 500 } }
    );
    const elapsed = Date.now() - started;
    expect(result.verdict).toBe('error');
    const bad = runOf(result, 'bad');
    expect(bad.status).toBe('failed');
    expect(bad.error).toBeInstanceOf(ToolTimeoutError);
    expect(bad.error?.kind).toBe('tool-timeout');
    expect((bad.error as ToolTimeoutError).timeoutMs).toBe(500);
    expect(bad.error?.message).toContain('bad: timed out after 500 ms and was killed');
    // SIGTERM ends node at once; far below the script's 20 s.
    expect(elapsed).toBeLessThan(8000);
    expectGoodToolReported(result);
  });

  it('an unknown tool name is a ConfigurationError naming it, before anything runs', async () => {
    const logger = new MemoryLogger();
    const installer = new ScriptInstaller({ good: script.findingsToFile() });
    const error = await runScan(request([banditLike('good', { reportFile: true })], { tools: ['good', 'semgrepp'] }), {
      installer: installer as unknown as ToolInstaller,
      logger
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe('tools');
    expect((error as Error).message).toBe('tools: unknown tool(s) semgrepp; this run knows good');
    expect(installer.installs).toEqual([]);
  });
});

describe('runScan: scheduling and verdicts', () => {
  it('runs tools concurrently', async () => {
    const started = Date.now();
    const { result } = await scan(
      { one: script.cleanStdout(1500), two: script.cleanStdout(1500) },
      [banditLike('one'), banditLike('two')]
    );
    const elapsed = Date.now() - started;
    expect(result.verdict).toBe('pass');
    expect(result.tools.map((t) => [t.tool, t.status])).toEqual([
      ['one', 'ok'],
      ['two', 'ok']
    ]);
    for (const run of result.tools) expect(run.runMs).toBeGreaterThanOrEqual(1400);
    // Sequential would be >= 3 s.
    expect(elapsed).toBeLessThan(2800);
  });

  it('a finding at or above fail-on fails the gate; below it passes', async () => {
    const adapters = [banditLike('good', { reportFile: true })];
    const failing = await scan({ good: script.findingsToFile('HIGH') }, adapters, { policy: policy('high') });
    expect(failing.result.verdict).toBe('fail');
    expect(failing.result.errors).toEqual([]);
    expect(failing.result.blocking.map((f) => [f.ruleId, f.severity])).toEqual([['B602', 'high']]);

    const passing = await scan({ good: script.findingsToFile('MEDIUM') }, adapters, { policy: policy('high') });
    expect(passing.result.verdict).toBe('pass');
    expect(passing.result.errors).toEqual([]);
    expect(passing.result.blocking).toEqual([]);
    expect(passing.result.findings.map((f) => [f.ruleId, f.severity, f.reported])).toEqual([['B602', 'medium', true]]);

    const never = await scan({ good: script.findingsToFile('HIGH') }, adapters, { policy: policy('none') });
    expect(never.result.verdict).toBe('pass');
    expect(never.result.findings).toHaveLength(1);
  });

  it('a requested tool with nothing to run is skipped AND an error (ToolSkippedError), never a pass', async () => {
    const idle: ToolAdapter = { ...banditLike('idle'), command: () => [] };
    const { result, installer, logger } = await scan({ idle: script.cleanStdout(0), good: script.cleanStdout(0) }, [idle, banditLike('good')]);
    // Both installed; tools start concurrently, so the order of the installs is not fixed.
    expect([...installer.installs].sort()).toEqual(['good', 'idle']);
    const run = runOf(result, 'idle');
    expect(run).toMatchObject({ status: 'skipped', findingCount: 0, skipReason: 'no commit range was given for a history-only scan' });
    expect(run.error).toBeInstanceOf(ToolSkippedError);
    expect(run.error?.kind).toBe('tool-skipped');
    expect(run.error?.message).toBe(
      'idle: requested but not run: no commit range was given for a history-only scan; deselect it (tools input) if it is not wanted here'
    );
    expect(result.verdict).toBe('error');
    expect(result.errors).toEqual([run.error]);
    expect(logger.lines).toContainEqual({ level: 'error', message: run.error!.message });
    // The wording is not about Actions events (the CLI has none).
    expect(run.error!.message).not.toMatch(/event/);
  });

  it('a tool whose skip() gives a reason is not run and fails the verdict the same way', async () => {
    const notHere: ToolAdapter = { ...banditLike('not-here'), skip: async () => 'not a git repository (git-secrets scans through git)' };
    const { result, installer } = await scan({ 'not-here': script.cleanStdout(0) }, [notHere]);
    expect(installer.installs).toEqual([]);
    expect(runOf(result, 'not-here')).toMatchObject({ status: 'skipped', skipReason: 'not a git repository (git-secrets scans through git)' });
    expect(runOf(result, 'not-here').error).toBeInstanceOf(ToolSkippedError);
    expect(result.verdict).toBe('error');
  });
});

describe('runScan: what a parser says is never lost', () => {
  it("an empty report shows the tool's stderr tail (real bandit stderr: RecursionError on a 1,500-deep tree)", async () => {
    const stderr = readFileSync(path.join(REPO_ROOT, 'packages', 'sast', 'test', 'fixtures', 'bandit-1.9.4.deep-path.stderr.txt'), 'utf8');
    // bandit wrote an empty report file and exited 1 (fixtures/README.md).
    const crashed = `require('fs').writeFileSync(process.argv[1], ''); process.stderr.write(${JSON.stringify(stderr)}); process.exit(1);`;
    const { result } = await scan({ bad: crashed }, [banditLike('bad', { reportFile: true })]);
    const error = runOf(result, 'bad').error as ToolOutputError;
    expect(error).toBeInstanceOf(ToolOutputError);
    expect(error.detail).toBe('the JSON report is empty');
    expect(error.stderrTail).toBe(stderr);
    expect(error.message).toMatch(/^bandit: unreadable output: the JSON report is empty — stderr tail: .*RecursionError: maximum recursion depth exceeded$/);
    expect(result.verdict).toBe('error');
  });

  it('a non-secgate exception from a parser is a named ToolOutputError, not the raw TypeError alone', async () => {
    const broken: ToolAdapter = {
      ...banditLike('broken'),
      parse: () => {
        const value = null as unknown as { slice(): string };
        return { findings: [], warnings: [value.slice()] };
      }
    };
    const { result } = await scan({ broken: script.cleanStdout(0) }, [broken]);
    const error = runOf(result, 'broken').error!;
    expect(error).toBeInstanceOf(ToolOutputError);
    expect(error.message).toMatch(/^broken: unreadable output: the report does not have the shape this parser reads \(parser exception TypeError: Cannot read properties of null/);
    expect(result.verdict).toBe('error');
  });

  it('exit code "findings" with matches the parser dropped on purpose (counted) is consistent, not an error', async () => {
    const dropping: ToolAdapter = { ...banditLike('dropping'), parse: () => ({ findings: [], warnings: [], dropped: 2 }) };
    const { result } = await scan({ dropping: script.findingsExitButNone }, [dropping]);
    expect(runOf(result, 'dropping')).toMatchObject({ status: 'ok', exitCode: 1, findingCount: 0 });
    expect(result.verdict).toBe('pass');
  });

  it('file-level warnings are kept on the run and logged; the summary counts them on the tool row', async () => {
    const warned = `process.stdout.write(${JSON.stringify(
      JSON.stringify({ errors: [{ filename: './py2.py', reason: 'syntax error while parsing AST from file' }], results: [banditResult('HIGH')], metrics: { './app.py': {}, './py2.py': {}, './other.py': {}, _totals: {} } })
    )}); process.exit(1);`;
    const { result, logger } = await scan({ good: warned }, [banditLike('good')]);
    expect(runOf(result, 'good')).toMatchObject({ status: 'ok', warnings: ['py2.py: syntax error while parsing AST from file'] });
    expect(logger.lines).toContainEqual({ level: 'warning', message: 'Fake good: py2.py: syntax error while parsing AST from file' });
    expect(result.verdict).toBe('fail');
    const summary = buildSummary(result);
    expect(summary).toContain('| Fake good | sast | 0.0.0-test | ⚠️ ok · ⚠️ 1 warning(s) | 1 |');
    expect(summary).toContain('Tool warnings: 1 (files a tool could not fully scan, …)');
  });
});

/**
 * A dependency-audit-like adapter: the "tool" prints a JSON report of what it checked, could not
 * check and saw, exactly as an sca adapter's parse() turns real tool output into a ParsedReport.
 */
function auditLike(id: string, report: ParsedReport, extra: Partial<ToolAdapter> = {}): { adapter: ToolAdapter; script: string } {
  return {
    script: `process.stdout.write(${JSON.stringify(JSON.stringify(report))}); process.exit(0);`,
    adapter: {
      id,
      displayName: `Fake ${id}`,
      description: 'test adapter',
      install: { kind: 'none', tool: id, defaultVersion: '0.0.0-test' },
      defaultTimeoutMs: 60_000,
      severityMap: {},
      command: () => ({ args: [] }),
      exitMeaning: (code): ExitMeaning => (code === 0 ? 'clean' : 'error'),
      parse: (text) => JSON.parse(text) as ParsedReport,
      ...extra
    }
  };
}

const torchUnchecked = { kind: 'dependency' as const, name: 'torch', version: '2.1.0', ecosystem: 'PyPI', reason: 'not found on the service' };

describe('runScan: unchecked items, inventory, collect() and not-applicable tools (sca)', () => {
  it('an unchecked dependency makes the run incomplete: ToolIncompleteError naming each item, findings still reported', async () => {
    const audit = auditLike('audit', {
      findings: [],
      warnings: [],
      unchecked: [torchUnchecked, { kind: 'dependency', name: 'numpy', version: '1.21.0', ecosystem: 'PyPI', reason: 'not found on the service' }]
    });
    const { result } = await scan({ audit: audit.script }, [audit.adapter]);
    const run = runOf(result, 'audit');
    expect(run.status).toBe('failed');
    expect(run.error).toBeInstanceOf(ToolIncompleteError);
    expect(run.error?.kind).toBe('tool-incomplete');
    expect(run.error?.message).toBe('audit could not check 2 dependencies: torch 2.1.0 (not found on the service), numpy 1.21.0 (not found on the service)');
    expect(run.unchecked?.map((u) => [u.tool, u.name, u.allowedBy])).toEqual([
      ['audit', 'torch', undefined],
      ['audit', 'numpy', undefined]
    ]);
    expect(result.unchecked).toHaveLength(2);
    expect(result.verdict).toBe('error');
  });

  it('an unchecked dependency the ledger allows (unaudited, not expired) is listed as allowed and the run passes; an expired entry allows nothing', async () => {
    const audit = auditLike('audit', { findings: [], warnings: [], unchecked: [torchUnchecked] });
    const entry = { unaudited: 'torch', reason: 'private mirror build', owner: 'ml-platform', expires: '2026-03-01' };
    const allowed = await scan({ audit: audit.script }, [audit.adapter], { policy: { ...policy(), exceptions: [entry] } });
    expect(allowed.result.verdict).toBe('pass');
    expect(runOf(allowed.result, 'audit')).toMatchObject({ status: 'ok' });
    expect(allowed.result.unchecked).toEqual([
      { ...torchUnchecked, tool: 'audit', allowedBy: { entry: 0, reason: 'private mirror build', owner: 'ml-platform', expires: '2026-03-01' } }
    ]);
    const expired = await scan({ audit: audit.script }, [audit.adapter], { policy: { ...policy(), exceptions: [{ ...entry, expires: '2026-01-01' }] } });
    expect(expired.result.verdict).toBe('error');
    expect(runOf(expired.result, 'audit').error).toBeInstanceOf(ToolIncompleteError);
  });

  it('inventory from several tools is merged (libraries by purl, models by path; the worst model verdict wins) and paths are workspace-relative', async () => {
    await writeFile(path.join(workspace, 'model.pkl'), 'x');
    const lib = { kind: 'library' as const, name: 'torch', version: '2.1.0', ecosystem: 'PyPI', purl: 'pkg:pypi/torch@2.1.0', path: 'requirements.txt' };
    const model = { kind: 'machine-learning-model' as const, name: 'model.pkl', path: path.join(workspace, 'model.pkl'), sha256: 'ab'.repeat(32) };
    const a = auditLike('scan-a', { findings: [], warnings: [], inventory: [lib, { ...model, verdict: 'clean' }] });
    const b = auditLike('scan-b', {
      findings: [],
      warnings: [],
      inventory: [lib, { ...model, verdict: 'unsafe' }, { kind: 'machine-learning-model', name: 'passwd', path: '/etc/passwd', verdict: 'clean' }]
    });
    const { result } = await scan({ 'scan-a': a.script, 'scan-b': b.script }, [a.adapter, b.adapter]);
    expect(result.verdict).toBe('pass');
    expect(result.inventory).toEqual([
      { ...lib, tools: ['scan-a', 'scan-b'] },
      { ...model, path: 'model.pkl', verdict: 'unsafe', verdicts: { 'scan-a': 'clean', 'scan-b': 'unsafe' }, tools: ['scan-a', 'scan-b'] }
    ]);
    expect(runOf(result, 'scan-b').warnings).toEqual(['1 model file(s) left out of the inventory: they resolve outside the workspace']);
  });

  it('collect(): an API tool runs no process; its report gets the same placement, exclude and error handling', async () => {
    await writeFile(path.join(workspace, 'requirements.txt'), 'torch==2.1.0\n');
    const finding = (file: string) => ({
      tool: 'api',
      ruleId: 'GHSA-1234-5678-9abc',
      title: 'torch 2.1.0: GHSA-1234-5678-9abc',
      message: 'upgrade torch',
      severity: 'critical' as const,
      location: { path: file, startLine: 1 }
    });
    const api = auditLike('api', { findings: [], warnings: [] }, {
      command: () => {
        throw new Error('command() must not be called for a collect() tool');
      },
      collect: async (tool) => {
        expect(tool).toMatchObject({ tool: 'api', version: '0.0.0-test' });
        return { findings: [finding('requirements.txt'), finding('vendor/requirements.txt'), finding('../../etc/passwd')], warnings: [] };
      }
    });
    const { result } = await scan({ api: '' }, [api.adapter], { exclude: ['vendor'] });
    expect(result.findings.map((f) => [f.ruleId, f.location?.path, f.severity])).toEqual([['GHSA-1234-5678-9abc', 'requirements.txt', 'critical']]);
    expect(runOf(result, 'api')).toMatchObject({ status: 'ok', findingCount: 1 });
    expect(runOf(result, 'api').warnings[0]).toMatch(/^1 finding\(s\) dropped: 1 file\(s\) resolve outside the workspace/);
    expect(result.verdict).toBe('fail');

    const failing = auditLike('api', { findings: [], warnings: [] }, { collect: async () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')")) });
    const failed = await scan({ api: '' }, [failing.adapter]);
    expect(runOf(failed.result, 'api').error).toBeInstanceOf(ToolFailureError);
    expect(failed.result.errors[0]?.message).toMatch(/^api: internal error in secgate's Fake api adapter \(TypeError: /);
    expect(failed.result.verdict).toBe('error');
  });

  it('a default tool with nothing of its kind here is "not applicable", not an error; selected explicitly it is ToolSkippedError', async () => {
    const nothing = { reason: 'no package-lock.json in scope', notApplicable: true };
    const npmLike = auditLike('npm-like', { findings: [], warnings: [] }, { skip: async () => nothing });
    const pipLike = auditLike('pip-like', { findings: [], warnings: [] });
    const byDefault = await scan({ 'npm-like': npmLike.script, 'pip-like': pipLike.script }, [npmLike.adapter, pipLike.adapter]);
    expect(runOf(byDefault.result, 'npm-like')).toMatchObject({ status: 'not-applicable', skipReason: 'no package-lock.json in scope' });
    expect(runOf(byDefault.result, 'npm-like').error).toBeUndefined();
    expect(byDefault.installer.installs).toEqual(['pip-like']);
    expect(byDefault.result.verdict).toBe('pass');
    expect(byDefault.logger.lines).toContainEqual({ level: 'info', message: 'Fake npm-like: not applicable: no package-lock.json in scope' });

    const explicit = await scan({ 'npm-like': npmLike.script, 'pip-like': pipLike.script }, [npmLike.adapter, pipLike.adapter], {
      tools: ['npm-like', 'pip-like']
    });
    expect(runOf(explicit.result, 'npm-like').status).toBe('skipped');
    expect(runOf(explicit.result, 'npm-like').error).toBeInstanceOf(ToolSkippedError);
    expect(explicit.result.verdict).toBe('error');
  });

  it('every selected tool not applicable: nothing was checked, NothingCheckedError', async () => {
    const a = auditLike('npm-like', { findings: [], warnings: [] }, { skip: async () => ({ reason: 'no package-lock.json in scope', notApplicable: true }) });
    const b = auditLike('model-like', { findings: [], warnings: [] }, { skip: async () => ({ reason: 'no model file in scope', notApplicable: true }) });
    const { result } = await scan({}, [a.adapter, b.adapter]);
    expect(result.verdict).toBe('error');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(NothingCheckedError);
    expect(result.errors[0]?.message).toBe(
      'no selected tool had anything to check: npm-like (no package-lock.json in scope), model-like (no model file in scope)'
    );
  });
});
