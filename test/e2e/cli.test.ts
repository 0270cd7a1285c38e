import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, writeFile, appendFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GIT_IDENTITY, fakeGithubToken, initRepo, writeFiles } from '../helpers/git-repo.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, type ReleaseMirror } from '../helpers/release-mirror.js';
import { DIST_DIR, NODE24, REPO_ROOT, SHARED_TOOL_CACHE } from '../helpers/runner.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';

// The CLI bundle (dist/cli) as a developer runs it: exit codes mirror the gate, baseline flow,
// SARIF/JSON files, readable report. Tool cache in a per-suite folder (bandit from PyPI, hash-pinned).

const CLI = path.join(DIST_DIR, 'cli', 'index.js');

describe('secgate CLI bundle', () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    env = { ...process.env, RUNNER_TOOL_CACHE: SHARED_TOOL_CACHE, RUNNER_TEMP: await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-tmp-')), NO_COLOR: '1' };
  });

  const cli = (args: string[], cwd = REPO_ROOT) => spawnSync(NODE24, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });

  it('scan: exit 1 over the threshold, writes valid SARIF and JSON, groups the report by severity', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-'));
    await writeFile(path.join(ws, 'app.py'), 'import subprocess\nsubprocess.call(cmd, shell=True)\n');
    const sarif = path.join(ws, 'out', 'r.sarif');
    const json = path.join(ws, 'out', 'r.json');
    const run = cli(['scan', ws, '--tools', 'bandit', '--fail-on', 'high', '--sarif', sarif, '--json', json]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^HIGH \(1\)$/m);
    expect(run.stdout).toContain('app.py:2');
    expect(run.stdout).toContain('Verdict: FAIL: 1 finding(s) at or above high');
    // Counts that add up, and no states of modes this run does not use (no diff, no baseline).
    expect(run.stdout).toContain('  Bandit 1.9.4: ok, 2 finding(s)');
    expect(run.stdout).toContain('Findings: 2 from 1 tool(s)');
    expect(run.stdout).toMatch(/^Active: 0 critical, 1 high, 0 medium, 1 low, 0 info$/m);
    expect(run.stdout).not.toMatch(/outside the diff|in baseline/);
    expect(run.stderr).toContain('Bandit 1.9.4: running');
    expect(sarifSchemaErrors(JSON.parse(await readFile(sarif, 'utf8')))).toEqual([]);
    expect(JSON.parse(await readFile(json, 'utf8')).verdict).toBe('fail');
    expect(cli(['scan', ws, '--tools', 'bandit', '--fail-on', 'critical']).status).toBe(0);
  });

  it('baseline: known findings pass with --new-only baseline, a new one fails', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-baseline-'));
    await writeFile(path.join(ws, 'app.py'), 'import subprocess\nsubprocess.call(cmd, shell=True)\n');
    const written = cli(['baseline', ws, '--tools', 'bandit']);
    expect(written.status).toBe(0);
    const baseline = JSON.parse(await readFile(path.join(ws, '.secgate-baseline.json'), 'utf8'));
    expect(baseline.findings.map((f: { ruleId: string }) => f.ruleId).sort()).toEqual(['B404', 'B602']);
    // Lines shift above the finding: fingerprints are not line numbers, so it stays known.
    await writeFile(path.join(ws, 'app.py'), '"""Module docstring."""\n\nimport subprocess\nsubprocess.call(cmd, shell=True)\n');
    expect(cli(['scan', ws, '--tools', 'bandit', '--new-only', 'baseline']).status).toBe(0);
    await appendFile(path.join(ws, 'app.py'), 'subprocess.Popen(other, shell=True)\n');
    const after = cli(['scan', ws, '--tools', 'bandit', '--new-only', 'baseline']);
    expect(after.status).toBe(1);
    expect(after.stdout).toContain('2 in baseline');
  });

  it('exit 2 for configuration errors, with the key named', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-bad-'));
    await writeFile(path.join(ws, '.secgate.yml'), 'exceptions:\n  - rule: B602\n    reason: because\n    owner: me\n    expires: 2026-02-30\n');
    await writeFile(path.join(ws, 'app.py'), 'print(1)\n');
    const run = cli(['scan', ws, '--tools', 'bandit']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("secgate: configuration: exceptions[0].expires: '2026-02-30' is not a real date");
    const unknownStage = cli(['scan', ws, '--stage', 'nope']);
    expect(unknownStage.status).toBe(2);
    expect(unknownStage.stderr).toContain("unknown stage 'nope'");
    const outside = cli(['scan', ws, '--tools', 'bandit', '--paths', '../elsewhere']);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toMatch(/paths: '\.\.\/elsewhere' is outside the workspace/);
    // commander's own errors (unknown flag, bad choice) are configuration errors too, not exit 1 = findings.
    expect(cli(['scan', ws, '--no-such-flag']).status).toBe(2);
    expect(cli(['scan', ws, '--fail-on', 'severe']).status).toBe(2);
  });
});

const execFileAsync = promisify(execFile);

/** Commits everything with both dates set, so `--since` has fixed commits on either side. */
async function commitAt(dir: string, isoDate: string, message: string): Promise<string> {
  const env = { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_DATE: isoDate, GIT_COMMITTER_DATE: isoDate };
  await execFileAsync('git', ['add', '-A'], { cwd: dir, env });
  await execFileAsync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env });
  return (await execFileAsync('git', ['rev-parse', 'HEAD'], { cwd: dir, env })).stdout.trim();
}

/** An AWS access key id (what git-secrets' AWS patterns match), fresh on every call. */
function fakeAwsKeyId(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let body = '';
  for (let i = 0; i < 16; i++) body += chars[randomInt(chars.length)];
  return `AKIA${body}`;
}

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface CliJsonReport {
  verdict: string;
  errors: { kind: string; message: string }[];
  tools: { tool: string; status: string; findingCount: number }[];
  findings: { ruleId: string; sources: { tool: string; ruleId: string }[]; location?: { path: string; startLine?: number }; tags?: string[] }[];
}

// The CLI scans local history (issue #6): the whole of it by default, or --since / --range, with the
// real gitleaks and git-secrets from the loopback release mirror, pinned by digest.
describe('secgate CLI bundle: local history scans', () => {
  let available = false;
  let mirror: ReleaseMirror | undefined;
  let pins: string[] = [];
  let env: NodeJS.ProcessEnv;
  let repo: string;
  const commits: Record<'init' | 'secret' | 'deleted' | 'later', string> = { init: '', secret: '', deleted: '', later: '' };
  const token = fakeGithubToken();
  const awsKey = fakeAwsKeyId();

  // Asynchronous: the mirror answers from this process, which spawnSync would block.
  const cli = (args: string[]): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(NODE24, [path.join(DIST_DIR, 'cli', 'index.js'), ...args, ...pins], { cwd: REPO_ROOT, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  /** Every way the CLI could show a secret: none of them may hold one. */
  const expectNoSecret = (...texts: string[]): void => {
    for (const text of texts) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(awsKey);
    }
  };

  beforeAll(async () => {
    available = mirrorAvailable();
    if (!available) return;
    const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
    mirror = await startReleaseMirror(mirrorRoot());
    pins = [
      '--tool-versions',
      `gitleaks=8.30.0@${sums['gitleaks/8.30.0/linux-x64']},git-secrets=1.3.0@${sums['git-secrets/1.3.0/any']}`,
      '--mirror-url',
      mirror.url
    ];
    env = { ...process.env, RUNNER_TOOL_CACHE: SHARED_TOOL_CACHE, RUNNER_TEMP: await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-history-tmp-')), NO_COLOR: '1' };
    // A secret committed in an old commit and deleted in the next: only history holds it.
    repo = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-history-'));
    await initRepo(repo);
    await writeFiles(repo, { 'app.py': 'print("hello")\n' });
    commits.init = await commitAt(repo, '2020-01-01T10:00:00Z', 'init');
    await writeFiles(repo, { 'settings.py': `GITHUB_TOKEN = "${token}"\nAWS_ACCESS_KEY_ID = "${awsKey}"\n` });
    commits.secret = await commitAt(repo, '2020-02-01T10:00:00Z', 'add settings');
    await writeFiles(repo, { 'settings.py': null });
    commits.deleted = await commitAt(repo, '2020-03-01T10:00:00Z', 'remove settings');
    await writeFiles(repo, { 'app.py': 'print("hello again")\n' });
    commits.later = await commitAt(repo, '2021-01-01T10:00:00Z', 'later work');
  }, 120_000);

  afterAll(async () => {
    await mirror?.close();
  });

  it('by default scans every commit from HEAD: the deleted secret is found by gitleaks and git-secrets', async () => {
    if (!available) return;
    const json = path.join(await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-history-out-')), 'r.json');
    const run = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--json', json]);
    expect(run.stderr).not.toContain('skipped');
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`Secrets history: 4 commit(s), all history of ${commits.later.slice(0, 12)}`);
    expect(run.stdout).toMatch(/^ {2}settings\.py:1:\d+ {2}Hardcoded secret: github-pat \[gitleaks:github-pat\]$/m);
    expect(run.stdout).toContain(`(in commit ${commits.secret.slice(0, 12)})`);
    expect(run.stdout).toContain('Verdict: FAIL');
    const report = JSON.parse(await readFile(json, 'utf8')) as CliJsonReport;
    expect(report.verdict).toBe('fail');
    expect(report.errors).toEqual([]);
    expect(report.tools.map((t) => [t.tool, t.status])).toEqual([
      ['gitleaks', 'ok'],
      ['git-secrets', 'ok']
    ]);
    const sources = report.findings.flatMap((f) => f.sources.map((s) => `${s.tool}:${s.ruleId}@${f.location?.path}:${f.location?.startLine}`));
    expect(sources).toEqual(expect.arrayContaining(['gitleaks:github-pat@settings.py:1', 'git-secrets:prohibited-pattern@settings.py:2']));
    expect(report.findings.every((f) => f.tags?.includes('history'))).toBe(true);
    expectNoSecret(run.stdout, run.stderr, await readFile(json, 'utf8'));
  });

  it('--secrets-scan history scans the local history instead of skipping it (it used to PASS)', async () => {
    if (!available) return;
    const run = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--secrets-scan', 'history']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('gitleaks 8.30.0: ok, 2 finding(s)');
    expect(run.stdout).toContain('git-secrets 1.3.0: ok, 1 finding(s)');
    expect(run.stdout).not.toMatch(/SKIPPED|Verdict: PASS|event/);
    expectNoSecret(run.stdout, run.stderr);
  });

  it('--since after the secret’s commit does not see it; --since before it does', async () => {
    if (!available) return;
    const after = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--since', '2020-02-15']);
    expect(after.stdout).toContain(`Secrets history: 2 commit(s), all history of ${commits.later.slice(0, 12)} since 2020-02-15T00:00:00Z`);
    expect(after.stdout).toContain('gitleaks 8.30.0: ok, 0 finding(s)');
    expect(after.stdout).toContain('git-secrets 1.3.0: ok, 0 finding(s)');
    expect(after.stdout).toContain('Verdict: PASS');
    expect(after.status).toBe(0);
    const before = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--since', '2020-01-15T00:00:00+00:00']);
    expect(before.status).toBe(1);
    expect(before.stdout).toContain('Secrets history: 3 commit(s)');
    expect(before.stdout).toContain('settings.py:1');
  });

  it('--range covering the secret’s commit finds it; a range after it does not', async () => {
    if (!available) return;
    const covering = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--range', `${commits.init}..${commits.secret}`]);
    expect(covering.status).toBe(1);
    expect(covering.stdout).toContain(`Secrets history: 1 commit(s), ${commits.init.slice(0, 12)}..${commits.secret.slice(0, 12)}`);
    expect(covering.stdout).toContain('[gitleaks:github-pat]');
    expect(covering.stdout).toMatch(/gitleaks:aws-access-token, git-secrets:prohibited-pattern|git-secrets:prohibited-pattern/);
    const later = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', '--range', `${commits.deleted.slice(0, 10)}..HEAD`]);
    expect(later.stdout).toContain('Secrets history: 1 commit(s)');
    expect(later.stdout).toContain('Verdict: PASS');
    expect(later.status).toBe(0);
    expectNoSecret(covering.stdout, covering.stderr, later.stdout);
  });

  it('a bad --range or --since is a configuration error (exit 2) before any tool runs', async () => {
    if (!available) return;
    const cases: [string[], string][] = [
      [['--range', 'no-such-branch..HEAD'], "secgate: configuration: range: 'no-such-branch' is not a commit of this repository"],
      [['--range', 'HEAD...main'], "range: 'HEAD...main' is not <base>..<head>"],
      [['--range', '--output=x..HEAD'], "range: '--output=x' is not a commit of this repository"],
      [['--range', `HEAD..${commits.init}`], 'holds no commits, so there is no history to scan'],
      [['--since', 'last tuesday'], "since: 'last tuesday' is not an ISO 8601 date"],
      [['--since', '2021-02-30'], "since: '2021-02-30' is not an ISO 8601 date"],
      [['--since', '2099-01-01'], 'holds no commits, so there is no history to scan'],
      [['--secrets-scan', 'tree', '--since', '2020-01-01'], '--since selects commits to scan: it needs --secrets-scan history or both'],
      [['--secrets-scan', 'all'], "argument 'all' is invalid. Allowed choices are tree, history, both"]
    ];
    for (const [args, message] of cases) {
      const run = await cli(['scan', repo, '--tools', 'gitleaks,git-secrets', ...args]);
      expect({ args, status: run.status }).toEqual({ args, status: 2 });
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toContain(': running');
    }
  });

  it('a folder below the repository root: its own history only, with paths relative to it', async () => {
    if (!available) return;
    const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-subfolder-'));
    await initRepo(root);
    const leak = `TOKEN = "${token}"\nAWS_ACCESS_KEY_ID = "${awsKey}"\n`;
    await writeFiles(root, { 'pkg/leak.py': leak, 'other/leak.py': leak });
    await commitAt(root, '2020-01-01T10:00:00Z', 'two leaks');
    await writeFiles(root, { 'pkg/leak.py': null, 'other/leak.py': null, 'pkg/app.py': 'print(1)\n' });
    await commitAt(root, '2020-02-01T10:00:00Z', 'remove them');
    const json = path.join(await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-subfolder-out-')), 'r.json');
    const run = await cli(['scan', path.join(root, 'pkg'), '--tools', 'gitleaks,git-secrets', '--secrets-scan', 'history', '--json', json]);
    expect(run.status).toBe(1);
    const report = JSON.parse(await readFile(json, 'utf8')) as CliJsonReport;
    const places = report.findings.flatMap((f) => f.sources.map((s) => `${s.tool}@${f.location?.path}:${f.location?.startLine}`));
    expect(places).toEqual(expect.arrayContaining(['gitleaks@leak.py:1', 'git-secrets@leak.py:2']));
    expect(report.findings.every((f) => f.location?.path === 'leak.py')).toBe(true);
    // Nothing of the sibling folder, not even as a dropped finding.
    expect(run.stdout).not.toMatch(/other\/|dropped|outside the workspace/);
    expectNoSecret(run.stdout, run.stderr, await readFile(json, 'utf8'));
  });

  it('a folder that is not a git repository: explicit history is exit 2; the default scans the files and does not pass', async () => {
    if (!available) return;
    const folder = await mkdtemp(path.join(os.tmpdir(), 'secgate-cli-nogit-'));
    await writeFile(path.join(folder, 'app.py'), 'print("clean")\n');
    const explicit = await cli(['scan', folder, '--tools', 'gitleaks', '--secrets-scan', 'history']);
    expect(explicit.status).toBe(2);
    expect(explicit.stderr).toContain('history scanning was asked for, but the scanned folder is not a git repository');
    const byDefault = await cli(['scan', folder, '--tools', 'gitleaks']);
    expect(byDefault.stdout).toContain('gitleaks 8.30.0: ok, 0 finding(s)');
    expect(byDefault.stdout).toContain('configuration: secrets-scan: history not scanned: the scanned folder is not a git repository');
    expect(byDefault.stdout).toContain('Verdict: ERROR (configuration): results are incomplete, so this is not a pass');
    expect(byDefault.status).toBe(2);
    const treeOnly = await cli(['scan', folder, '--tools', 'gitleaks', '--secrets-scan', 'tree']);
    expect(treeOnly.stdout).toContain('Verdict: PASS');
    expect(treeOnly.status).toBe(0);
  });
});
