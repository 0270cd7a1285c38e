/**
 * Parity: for each sast tool, the stage (runScan + sastStage, one tool at a time) reports exactly
 * the findings the raw tool reports when run by hand on the same tree — same count, same places,
 * same rules. The tools are the real ones, installed through the product's installer (binaries
 * from the loopback release mirror, Python tools from PyPI with the committed hash locks).
 *
 * Expected differences: none. Cross-tool duplicates are merged by the engine, so the stage's
 * findings are counted by `sources` containing the tool; with one tool per scan nothing merges.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryLogger,
  ToolInstaller,
  errorMessage,
  runScan,
  type EffectivePolicy,
  type InstalledTool,
  type ScanResult,
  type ToolAdapter
} from '@secgate/core';
import { banditAdapter, gitSecretsAdapter, gitleaksAdapter, rulepackDir, sastStage, semgrepAdapter } from '@secgate/sast';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'ml-service');
const POLICY: EffectivePolicy = { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] };
/** Installs are keyed by tool and version, so one cache can serve every suite and every run. */
const TOOL_CACHE = SHARED_TOOL_CACHE;
const SLOW = 15 * 60_000;

const HAVE_MIRROR = mirrorAvailable();

let root: string;
let tree: string;
let mirror: ReleaseMirror | undefined;
let installer: ToolInstaller;
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

/** git with neither the user's nor the system's configuration (a global hook template could block the commit). */
function isolatedGitEnv(globalConfig: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: globalConfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'secgate tests',
    GIT_AUTHOR_EMAIL: 'tests@secgate.invalid',
    GIT_COMMITTER_NAME: 'secgate tests',
    GIT_COMMITTER_EMAIL: 'tests@secgate.invalid'
  };
}

async function git(args: string[]): Promise<void> {
  const result = await runRaw('git', args, tree, isolatedGitEnv(path.join(root, 'empty-gitconfig')));
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-sast-parity-'));
  tree = path.join(root, 'ml-service');
  await mkdir(path.join(root, 'runner-temp'));
  await writeFile(path.join(root, 'empty-gitconfig'), '');
  await cp(EXAMPLE, tree, { recursive: true });
  await git(['init', '-q']);
  await git(['add', '-A']);
  await git(['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'ml-service example']);
  process.env['RUNNER_TOOL_CACHE'] = TOOL_CACHE;
  process.env['RUNNER_TEMP'] = path.join(root, 'runner-temp');
  if (HAVE_MIRROR) mirror = await startReleaseMirror(mirrorRoot());
  installer = new ToolInstaller({
    logger: new MemoryLogger(),
    lock: HAVE_MIRROR ? testLock() : undefined,
    mirrorUrl: mirror?.url
  });
});

afterAll(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await mirror?.close();
  await rm(root, { recursive: true, force: true });
});

/** The adapter's own install spec through the product's installer; undefined (skip) only outside CI. */
async function install(adapter: ToolAdapter): Promise<InstalledTool | undefined> {
  if (adapter.install.kind === 'binary' && !HAVE_MIRROR) return undefined;
  try {
    return await withCacheLock(TOOL_CACHE, SLOW, () => installer.install(adapter.install));
  } catch (error) {
    requireTool(false, `${adapter.id} ${adapter.install.defaultVersion} (install failed: ${errorMessage(error)})`);
    return undefined;
  }
}

async function stageScan(tool: string): Promise<ScanResult> {
  return runScan(
    {
      stages: [sastStage],
      workspace: tree,
      targets: ['.'],
      exclude: [],
      tools: [tool],
      policy: POLICY,
      options: { 'secrets-scan': 'tree' },
      timeoutsMs: {},
      now: new Date('2026-01-15T00:00:00Z'),
      tempDir: path.join(root, `scan-${tool}`)
    },
    { installer, logger: new MemoryLogger() }
  );
}

const strip = (p: string): string => p.replace(/^\.\//, '');

/** `path:line:rule` of every finding the stage attributes to `tool`, sorted. */
function stageKeys(result: ScanResult, tool: string, rule: (ruleId: string) => string = (r) => r): string[] {
  return result.findings
    .filter((f) => f.sources.some((s) => s.tool === tool))
    .map((f) => {
      const own = f.sources.find((s) => s.tool === tool)!;
      return `${f.location?.path}:${f.location?.startLine}:${rule(own.ruleId)}`;
    })
    .sort();
}

function expectHealthyRun(result: ScanResult, tool: string, version: string, count: number): void {
  expect(result.errors).toEqual([]);
  expect(result.tools).toHaveLength(1);
  expect(result.tools[0]).toMatchObject({ tool, status: 'ok', version, findingCount: count });
  // Every finding is reported (report-severity info) and attributed to this tool alone.
  expect(result.findings.every((f) => f.reported && f.sources.every((s) => s.tool === tool))).toBe(true);
}

describe('sast stage ↔ raw tool parity on examples/ml-service', () => {
  it('bandit: the stage reports exactly the results of `bandit -r . -f json`', async () => {
    const tool = await install(banditAdapter);
    if (!tool) return;
    const report = path.join(root, 'bandit-raw.json');
    const raw = await runRaw(tool.command, [...tool.baseArgs, '-r', '.', '-f', 'json', '-o', report, '-q'], tree);
    expect(raw.code).toBe(1); // bandit: 1 = issues found
    const results = (JSON.parse(await readFile(report, 'utf8')) as { results: { filename: string; line_number: number; test_id: string }[] }).results;
    expect(results.length).toBeGreaterThan(0);
    const rawKeys = results.map((r) => `${strip(r.filename)}:${r.line_number}:${r.test_id}`).sort();

    const result = await stageScan('bandit');
    expectHealthyRun(result, 'bandit', '1.9.4', results.length);
    expect(result.findings.filter((f) => f.sources.some((s) => s.tool === 'bandit'))).toHaveLength(results.length);
    expect(stageKeys(result, 'bandit')).toEqual(rawKeys);
    // The gate's verdict follows from the findings: bandit reports HIGH/HIGH issues here.
    expect(result.verdict).toBe('fail');
  }, SLOW);

  it('semgrep: the stage reports exactly the results of `semgrep scan --config rules/ml --json`', async () => {
    const tool = await install(semgrepAdapter);
    if (!tool) return;
    const report = path.join(root, 'semgrep-raw.json');
    const raw = await runRaw(
      tool.command,
      [...tool.baseArgs, 'scan', '--config', rulepackDir(), '--json', '--output', report, '--metrics=off', '--disable-version-check', '--quiet', '.'],
      tree,
      { ...process.env, SEMGREP_SETTINGS_FILE: path.join(root, 'semgrep-settings.yml') }
    );
    expect(raw.code).toBe(0); // without --error, findings exit 0
    const output = JSON.parse(await readFile(report, 'utf8')) as { results: { check_id: string; path: string; start: { line: number } }[]; errors: unknown[] };
    expect(output.errors).toEqual([]);
    expect(output.results.length).toBeGreaterThan(0);
    // Without --no-rewrite-rule-ids semgrep prefixes the config directory's path to the id: compare by the secgate.ml. suffix.
    const short = (id: string): string => id.slice(id.indexOf('secgate.ml.'));
    const rawKeys = output.results.map((r) => `${strip(r.path)}:${r.start.line}:${short(r.check_id)}`).sort();

    const result = await stageScan('semgrep');
    expectHealthyRun(result, 'semgrep', '1.185.0', output.results.length);
    expect(result.findings.filter((f) => f.sources.some((s) => s.tool === 'semgrep'))).toHaveLength(output.results.length);
    expect(stageKeys(result, 'semgrep', short)).toEqual(rawKeys);
  }, SLOW);

  it('gitleaks: the stage (secrets-scan: tree) reports exactly the leaks of `gitleaks dir .`', async () => {
    const tool = await install(gitleaksAdapter);
    if (!tool) return;
    const report = path.join(root, 'gitleaks-raw.json');
    const raw = await runRaw(tool.command, ['dir', '.', '--report-format', 'json', '--report-path', report, '--redact', '--no-banner'], tree);
    expect(raw.code).toBe(1); // gitleaks: 1 = leaks found (the default --exit-code)
    const leaks = JSON.parse(await readFile(report, 'utf8')) as { File: string; StartLine: number; RuleID: string }[];
    expect(leaks.length).toBeGreaterThan(0);
    const rawKeys = leaks.map((l) => `${strip(l.File)}:${l.StartLine}:${l.RuleID}`).sort();

    const result = await stageScan('gitleaks');
    expectHealthyRun(result, 'gitleaks', '8.30.0', leaks.length);
    expect(result.findings.filter((f) => f.sources.some((s) => s.tool === 'gitleaks'))).toHaveLength(leaks.length);
    expect(stageKeys(result, 'gitleaks')).toEqual(rawKeys);
    expect(result.findings.every((f) => f.sensitive === true && f.snippet === undefined)).toBe(true);
  }, SLOW);

  it('git-secrets: the stage (secrets-scan: tree) reports exactly the match lines of `git secrets --scan --no-index -- .`', async () => {
    const tool = await install(gitSecretsAdapter);
    if (!tool) return;
    // By hand, as its README says: register the AWS patterns, then scan. A private global config
    // keeps the user's own git configuration out of it; PATH lets `git secrets` find the script.
    const env = {
      ...isolatedGitEnv(path.join(root, 'git-secrets-raw-gitconfig')),
      PATH: `${path.dirname(tool.command)}${path.delimiter}${process.env['PATH'] ?? ''}`
    };
    const registered = await runRaw('git', ['secrets', '--register-aws', '--global'], tree, env);
    expect(registered.code).toBe(0);
    // --no-index: every file on disk, tracked or not, but not .git/ (what `-r .` also greps).
    const raw = await runRaw('git', ['secrets', '--scan', '--no-index', '--', '.'], tree, env);
    expect(raw.code).toBe(1); // 1 = prohibited patterns matched
    expect(raw.stderr).toContain('[ERROR] Matched one or more prohibited patterns');
    const matchLines = raw.stderr.slice(0, raw.stderr.indexOf('[ERROR]')).split('\n').filter((l) => /^[^:]+:\d+:/.test(l));
    expect(matchLines.length).toBeGreaterThan(0);
    const rawKeys = matchLines.map((l) => {
      const [file, line] = l.split(':') as [string, string];
      return `${strip(file)}:${line}:prohibited-pattern`;
    });

    const result = await stageScan('git-secrets');
    expectHealthyRun(result, 'git-secrets', '1.3.0', matchLines.length);
    expect(result.findings.filter((f) => f.sources.some((s) => s.tool === 'git-secrets'))).toHaveLength(matchLines.length);
    expect(stageKeys(result, 'git-secrets')).toEqual(rawKeys.sort());
    for (const finding of result.findings) {
      expect(finding.sensitive).toBe(true);
      expect(finding.snippet).toBeUndefined();
      // The matched line is in the raw output; none of it reaches the finding.
      for (const line of matchLines) expect(finding.message).not.toContain(line.split(':').slice(2).join(':').trim());
    }
  }, SLOW);
});
