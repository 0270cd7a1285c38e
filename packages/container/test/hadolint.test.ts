/**
 * hadolint 2.15.1: the adapter against the real binary (the official release asset, cached by
 * scripts/test.sh at <tool cache>/hadolint-2.15.1/hadolint). No hadolint output is committed: every
 * report read here is produced by running the tool in the test.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  MemoryLogger,
  ToolOutputError,
  runScan,
  silentLogger,
  type InstalledTool,
  type ParsedReport,
  type RawFinding,
  type StageDefinition,
  type ToolContext,
  type ToolInstaller,
  type ToolInvocation
} from '@secgate/core';
import { HADOLINT_SEVERITY, hadolintAdapter, hadolintAsset, parseHadolintReport } from '../src/adapters/hadolint.js';
import { REPO_ROOT, requireTool } from '../../../test/helpers/runner.js';

const CACHE = process.env['SECGATE_TOOL_CACHE'] ?? path.join(os.homedir(), '.cache', 'secgate-ci');
const BINARY = path.join(CACHE, 'hadolint-2.15.1', 'hadolint');
const HAVE_BINARY = existsSync(BINARY);
const FIXTURE = path.join(REPO_ROOT, 'packages', 'container', 'test', 'fixtures', 'iac-project');
/** The credential planted in the fixture Dockerfile's ENV (line 3). */
const PLANTED_TOKEN = 'ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe';
/** hadolint findings expected in the clean twin: none. */
const CLEAN_TWIN_FINDINGS: string[] = [];

const tool: InstalledTool = { tool: 'hadolint', version: '2.15.1', command: BINARY, baseArgs: [], dir: path.dirname(BINARY), cacheHit: true, durationMs: 0, verified: true };

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-hadolint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function workspaceWith(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [relative, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, relative)), { recursive: true });
    await writeFile(path.join(dir, relative), content);
  }
  return dir;
}

async function context(workspace: string, options: Record<string, string> = {}, targets = ['.']): Promise<ToolContext> {
  const workDir = await mkdtemp(path.join(root, 'work-'));
  return { workspace, targets, exclude: [], workDir, options, logger: silentLogger };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one invocation as the engine does (cwd = workspace, the runner's env with the adapter's on top). */
function run(invocation: ToolInvocation, cwd: string, baseEnv: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BINARY, invocation.args, { cwd, env: { ...baseEnv, ...invocation.env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Plans, runs and parses a scan (every invocation), the way the engine does. */
async function scan(workspace: string, options: Record<string, string> = {}, baseEnv?: NodeJS.ProcessEnv): Promise<ParsedReport & { runs: Run[] }> {
  const ctx = await context(workspace, options);
  const planned = await hadolintAdapter.command(tool, ctx);
  const invocations = Array.isArray(planned) ? planned : [planned];
  const reports: ParsedReport[] = [];
  const runs: Run[] = [];
  for (const invocation of invocations) {
    const result = await run(invocation, workspace, baseEnv);
    runs.push(result);
    expect(hadolintAdapter.exitMeaning(result.code, invocation)).toBe('clean');
    expect(hadolintAdapter.stderrFailure?.(result.stderr, invocation, result.code)).toBeUndefined();
    reports.push(hadolintAdapter.parse(result.stdout, ctx, invocation));
  }
  return {
    findings: reports.flatMap((r) => r.findings),
    warnings: reports.flatMap((r) => r.warnings),
    unchecked: reports.flatMap((r) => r.unchecked ?? []),
    facts: reports.flatMap((r) => r.facts ?? []),
    runs
  };
}

const placed = (findings: RawFinding[], file: string): string[] =>
  findings
    .filter((f) => f.location?.path === file)
    .map((f) => `${f.ruleId}@${f.location!.startLine}`)
    .sort();

describe('hadolint: release assets', () => {
  it('names the lowercase assets from 2.13.1 on, the capitalised ones before, and none where upstream has none', () => {
    expect(hadolintAsset('2.15.1', 'linux-x64')).toEqual({ assetName: 'hadolint-linux-x86_64', executable: 'hadolint' });
    expect(hadolintAsset('2.15.1', 'darwin-arm64')?.assetName).toBe('hadolint-macos-arm64');
    expect(hadolintAsset('2.15.1', 'windows-x64')).toEqual({ assetName: 'hadolint-windows-x86_64.exe', executable: 'hadolint.exe' });
    expect(hadolintAsset('2.12.0', 'linux-x64')?.assetName).toBe('hadolint-Linux-x86_64');
    expect(hadolintAsset('2.12.0', 'darwin-arm64')).toBeUndefined();
    expect(hadolintAsset('2.15.1', 'freebsd-x64')).toBeUndefined();
    const spec = hadolintAdapter.install;
    if (spec.kind !== 'binary') throw new Error('hadolint is a binary install');
    expect(spec.defaultVersion).toBe('2.15.1');
    expect(spec.asset('2.15.1', 'linux-x64')).toEqual({
      urlPath: 'hadolint/hadolint/releases/download/v2.15.1/hadolint-linux-x86_64',
      assetName: 'hadolint-linux-x86_64',
      archive: 'none',
      executable: 'hadolint'
    });
  });
});

describe('hadolint 2.15.1 on the fixture project (real binary)', () => {
  let workspace: string;
  let result: Awaited<ReturnType<typeof scan>>;

  beforeAll(async () => {
    if (!HAVE_BINARY) return;
    workspace = path.join(root, 'iac-project');
    await cp(FIXTURE, workspace, { recursive: true });
    result = await scan(workspace);
  }, 60_000);

  it('finds the planted problems of docker/Dockerfile on their lines, with mapped severities and help links', () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    // latest tag (2), credential in ENV (3), apt-get without pinning, --no-install-recommends, list cleanup (4).
    expect(placed(result.findings, 'docker/Dockerfile')).toEqual(['DL3007@2', 'DL3008@4', 'DL3009@4', 'DL3015@4', 'DL3064@3']);
    const byRule = new Map(result.findings.map((f) => [f.ruleId, f]));
    expect(byRule.get('DL3007')).toMatchObject({
      tool: 'hadolint',
      severity: 'medium',
      helpUri: 'https://github.com/hadolint/hadolint/wiki/DL3007',
      location: { path: 'docker/Dockerfile', startLine: 2, startColumn: 1 },
      tags: ['misconfiguration', 'dockerfile']
    });
    expect(byRule.get('DL3007')!.title).toMatch(/^DL3007 Using latest/);
    expect(byRule.get('DL3009')!.severity).toBe('low');
    expect(byRule.get('DL3008')!.identity).toBeUndefined();
    expect(result.unchecked).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.facts).toEqual(['configuration: hadolint defaults (no .hadolint.yaml in the workspace)', '2 Dockerfile(s) linted']);
  });

  it('marks the ENV credential finding sensitive and never repeats the credential', () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const secret = result.findings.find((f) => f.ruleId === 'DL3064')!;
    expect(secret.sensitive).toBe(true);
    expect(JSON.stringify(result)).not.toContain(PLANTED_TOKEN);
    expect(result.findings.filter((f) => f.sensitive).map((f) => f.ruleId)).toEqual(['DL3064']);
  });

  it('keeps the clean twin clean (see CLEAN_TWIN_FINDINGS)', () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    expect(placed(result.findings, 'clean/docker/Dockerfile')).toEqual(CLEAN_TWIN_FINDINGS);
  });
});

describe('hadolint: what can and cannot be linted (real binary)', () => {
  it('lists a Dockerfile with a syntax error as unchecked (DL1000), never as a finding or as clean, and lints the others', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('syntax', {
      'ok/Dockerfile': 'FROM debian:12.5\nRUN echo $HOME > /tmp/x\n',
      // The credential sits on the line the parser rejects: it must not reach the reason.
      'bad/Dockerfile': 'FROM debian:12.5\nHEALTHCHECK --interval=ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe CMD x\n',
      'worse.Dockerfile': 'FROM debian:12.5\nFROMM x\n'
    });
    const result = await scan(workspace);
    expect(result.findings.map((f) => `${f.location!.path}:${f.ruleId}@${f.location!.startLine}`)).toEqual(['ok/Dockerfile:SC2086@2']);
    const shellcheck = result.findings[0]!;
    expect(shellcheck).toMatchObject({ severity: 'low', helpUri: 'https://www.shellcheck.net/wiki/SC2086', tags: ['misconfiguration', 'shellcheck'] });
    expect(result.unchecked!.map((u) => [u.kind, u.name])).toEqual([
      ['file', 'bad/Dockerfile'],
      ['file', 'worse.Dockerfile']
    ]);
    expect(result.unchecked![0]!.reason).toMatch(/^hadolint could not parse it \(DL1000 at line 2, column 24: unexpected input; expecting a natural or fractional number\); not linted$/);
    expect(result.warnings).toHaveLength(2);
    expect(result.warnings[1]).toMatch(/^worse\.Dockerfile: hadolint could not parse it \(DL1000 at line 2, column 5: missing whitespace\)/);
    expect(JSON.stringify(result)).not.toContain('ghp_');
  });

  it('makes the run an error through the engine when a Dockerfile could not be parsed, with the file named', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('engine', { Dockerfile: 'FROM debian:12.5\nFROMM x\n', 'b/Dockerfile': 'FROM debian:latest\n' });
    const stage: StageDefinition = { id: 'container', title: 'container', adapters: [hadolintAdapter], defaultTools: ['hadolint'] };
    const installer = { install: () => Promise.resolve(tool) } as unknown as ToolInstaller;
    const scanResult = await runScan(
      {
        stages: [stage],
        workspace,
        targets: ['.'],
        exclude: [],
        tools: [],
        policy: { failOn: 'critical', reportSeverity: 'info', newOnly: 'off', exceptions: [] } as unknown as Parameters<typeof runScan>[0]['policy'],
        options: {},
        timeoutsMs: {},
        now: new Date('2026-01-15T00:00:00Z'),
        tempDir: path.join(root, 'engine-temp')
      },
      { installer, logger: new MemoryLogger() }
    );
    expect(scanResult.findings.map((f) => `${f.location!.path}:${f.ruleId}@${f.location!.startLine}`)).toEqual(['b/Dockerfile:DL3007@1']);
    // Nothing reaches fail-on critical, yet the run is not a pass: one Dockerfile was not linted.
    expect(scanResult.verdict).toBe('error');
    expect(scanResult.unchecked?.map((u) => `${u.tool}:${u.name}`)).toEqual(['hadolint:Dockerfile']);
  }, 60_000);

  it('is not applicable without a Dockerfile in scope, and follows iac-paths', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('scope', { 'infra/main.tf': 'resource "x" "y" {}\n', 'app/Dockerfile': 'FROM debian:latest\n' });
    expect(await hadolintAdapter.skip!(await context(workspace, { 'iac-paths': 'infra' }))).toEqual({ reason: 'no Dockerfile or Containerfile in scope', notApplicable: true });
    expect(await hadolintAdapter.skip!(await context(workspace))).toBeUndefined();
    const result = await scan(workspace, { 'iac-paths': 'app\ninfra' });
    expect(placed(result.findings, 'app/Dockerfile')).toEqual(['DL3007@1']);
  });

  it('splits many Dockerfiles over several runs and reads every one', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const files: Record<string, string> = {};
    for (let i = 0; i < 201; i++) files[`svc${String(i).padStart(3, '0')}/Dockerfile`] = 'FROM debian:latest\n';
    const workspace = await workspaceWith('many', files);
    const result = await scan(workspace);
    expect(result.runs).toHaveLength(2);
    expect(result.findings.filter((f) => f.ruleId === 'DL3007')).toHaveLength(201);
    expect(result.facts).toContain('201 Dockerfile(s) linted');
  }, 60_000);

  it('passes a file whose name starts with a dash as a file, not an option', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('dash', { '-h.Dockerfile': 'FROM debian:latest\n' });
    const result = await scan(workspace);
    expect(placed(result.findings, '-h.Dockerfile')).toEqual(['DL3007@1']);
  });
});

describe('hadolint configuration: only the repository’s own (real binary)', () => {
  const planted = 'FROM debian:latest\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n';

  it('honours .hadolint.yaml at the workspace root (ignored rules, level overrides) and says so', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('repo-config', {
      Dockerfile: planted,
      '.hadolint.yaml': 'ignored:\n  - DL3008\noverride:\n  error:\n    - DL3015\n'
    });
    const result = await scan(workspace);
    expect(placed(result.findings, 'Dockerfile')).toEqual(['DL3007@1', 'DL3015@2']);
    expect(result.findings.find((f) => f.ruleId === 'DL3015')!.severity).toBe('high');
    expect(result.facts).toContain("configuration: .hadolint.yaml (the repository's)");
  });

  it('reads no configuration from the home directory, XDG_CONFIG_HOME or HADOLINT_* variables of the runner', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const home = await workspaceWith('fake-home', {
      '.config/hadolint.yaml': 'ignored:\n  - DL3007\n',
      '.hadolint.yaml': 'ignored:\n  - DL3007\n',
      'xdg/hadolint.yaml': 'ignored:\n  - DL3007\n'
    });
    const workspace = await workspaceWith('no-repo-config', { Dockerfile: planted });
    const runnerEnv = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, 'xdg'),
      HADOLINT_IGNORE: 'DL3008,DL3015',
      HADOLINT_OVERRIDE_STYLE: 'DL3007',
      HADOLINT_FORMAT: 'tty',
      HADOLINT_VERBOSE: '1'
    };
    // Control: hadolint on its own does read them (the user config drops DL3007, the variables the rest).
    const control = await run({ args: ['-f', 'json', '--no-fail', 'Dockerfile'] }, workspace, { ...runnerEnv, HADOLINT_FORMAT: '', HADOLINT_VERBOSE: '' });
    expect(parseHadolintReport(control.stdout).findings).toEqual([]);
    const result = await scan(workspace, {}, runnerEnv);
    expect(placed(result.findings, 'Dockerfile')).toEqual(['DL3007@1', 'DL3008@2', 'DL3015@2']);
    expect(result.findings.find((f) => f.ruleId === 'DL3007')!.severity).toBe('medium');
  });

  it('does not read a .hadolint.yaml that is a symlink to a file outside the workspace, and warns', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const elsewhere = await workspaceWith('elsewhere', { 'hadolint.yaml': 'ignored:\n  - DL3007\n  - DL3008\n' });
    const workspace = await workspaceWith('linked-config', { Dockerfile: planted });
    await symlink(path.join(elsewhere, 'hadolint.yaml'), path.join(workspace, '.hadolint.yaml'));
    const result = await scan(workspace);
    expect(placed(result.findings, 'Dockerfile')).toEqual(['DL3007@1', 'DL3008@2', 'DL3015@2']);
    expect(result.warnings).toEqual(['.hadolint.yaml: resolves outside the workspace; not used (hadolint ran with its defaults)']);
  });

  it('fails the run when the repository configuration is invalid (hadolint itself would go on without it)', async () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    const workspace = await workspaceWith('bad-config', { Dockerfile: planted, '.hadolint.yml': 'ignored: DL3008\n' });
    const ctx = await context(workspace);
    const [invocation] = (await hadolintAdapter.command(tool, ctx)) as ToolInvocation[];
    const result = await run(invocation!, workspace);
    expect(result.code).toBe(0);
    expect(hadolintAdapter.stderrFailure!(result.stderr, invocation!, result.code)).toBe(
      "the repository's hadolint configuration (.hadolint.yaml or .yml) is not valid (expected !!seq instead of !!str): its settings would be ignored; fix or remove it"
    );
  });
});

describe('hadolint report reading is strict', () => {
  let real: string;

  beforeAll(async () => {
    if (!HAVE_BINARY) return;
    const workspace = await workspaceWith('strict', { Dockerfile: 'FROM debian:latest\nRUN cd /tmp\n' });
    real = (await run({ args: ['-f', 'json', '--no-fail', 'Dockerfile'] }, workspace)).stdout;
  });

  it('documents its severity map', () => {
    expect(hadolintAdapter.severityMap).toBe(HADOLINT_SEVERITY);
    expect(HADOLINT_SEVERITY).toEqual({ ERROR: 'high', WARNING: 'medium', INFO: 'low', STYLE: 'info' });
  });

  it('refuses garbled reports with a named ToolOutputError', () => {
    if (!requireTool(HAVE_BINARY, `hadolint 2.15.1 at ${BINARY}`)) return;
    expect(parseHadolintReport(real, { files: ['Dockerfile'] }).findings.map((f) => f.ruleId)).toEqual(['DL3007', 'DL3003', 'SC2164']);
    const edit = (change: (items: Record<string, unknown>[]) => void): string => {
      const items = JSON.parse(real) as Record<string, unknown>[];
      change(items);
      return JSON.stringify(items);
    };
    const cases: [string, RegExp][] = [
      ['', /empty/],
      [real.slice(0, real.length - 5), /truncated/],
      [`${real}${real}`, /truncated or not JSON/],
      ['{"results":[]}', /not a JSON array/],
      [edit((items) => (items[0]!['level'] = 'ignore')), /results\[0\]\.level is "ignore", expected one of ERROR, WARNING, INFO, STYLE/],
      [edit((items) => (items[1]!['level'] = 'Warning ')), /results\[1\]\.level is "Warning "/],
      [edit((items) => delete items[0]!['line']), /results\[0\]\.line is missing/],
      [edit((items) => (items[0]!['line'] = 0)), /results\[0\]\.line is the number 0/],
      [edit((items) => (items[0]!['column'] = '1')), /results\[0\]\.column is a string/],
      [edit((items) => (items[0]!['code'] = '')), /results\[0\]\.code is empty/],
      [edit((items) => (items[0]!['message'] = null)), /results\[0\]\.message is null/],
      [edit((items) => (items[0]!['file'] = '/etc/passwd')), /results\[0\]\.file names "\/etc\/passwd", which was not given to hadolint/],
      [edit((items) => (items[0] = 'DL3007' as unknown as Record<string, unknown>)), /results\[0\] is a string, expected an object/]
    ];
    for (const [report, message] of cases) {
      expect(() => parseHadolintReport(report, { files: ['Dockerfile'] })).toThrow(ToolOutputError);
      expect(() => parseHadolintReport(report, { files: ['Dockerfile'] })).toThrow(message);
    }
  });

  it('reads an empty array as no findings', () => {
    expect(parseHadolintReport('[]', { files: ['Dockerfile'] })).toEqual({ findings: [], warnings: [] });
  });
});
