import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeGitHubApi, type FakeGitHubApi } from '../helpers/fake-github-api.js';
import { newJob, runStep, type RunnerJob } from '../helpers/runner.js';

// The action's GitHub API paths, against a loopback API (GITHUB_API_URL): Checks API publication
// in batches of 50, token masking, and the pull-request files fallback of changed-lines mode.

const TOKEN = 'ghs_fakeTokenForLoopbackTestsOnly0123456789';
const HEAD = '1111111111111111111111111111111111111111';

function manyHighFindings(count: number): string {
  const lines = ['import subprocess', '', '', 'def run(cmd):'];
  for (let i = 0; i < count; i++) lines.push(`    subprocess.call(cmd + "${i}", shell=True)`);
  return `${lines.join('\n')}\n`;
}

describe('GitHub API integration (loopback API)', () => {
  let job: RunnerJob;
  let api: FakeGitHubApi;
  beforeAll(async () => {
    job = await newJob({ sharedToolCache: true });
    let nextId = 1000;
    api = await startFakeGitHubApi([
      (r) => (r.method === 'POST' && r.path === '/repos/secgate-tests/example/check-runs' ? { status: 201, body: { id: ++nextId } } : undefined),
      (r) => (r.method === 'PATCH' && /^\/repos\/secgate-tests\/example\/check-runs\/\d+$/.test(r.path) ? { status: 200, body: { id: nextId } } : undefined),
      (r) =>
        r.method === 'GET' && r.path.startsWith('/repos/secgate-tests/example/pulls/7/files')
          ? {
              status: 200,
              body: [{ filename: 'app.py', status: 'modified', patch: '@@ -1,2 +1,3 @@\n import subprocess\n+subprocess.call(x, shell=True)\n \n' }]
            }
          : undefined
    ]);
  });
  afterAll(async () => {
    await api.close();
  });

  it('publishes every finding through the Checks API, 50 annotations per request, and masks the token', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-checks-'));
    await writeFile(path.join(workspace, 'jobs.py'), manyHighFindings(70));
    const before = api.requests.length;
    const step = await runStep({
      bundle: 'sast',
      workspace,
      job,
      inputs: { tools: 'bandit', 'fail-on': 'high', checks: 'true', token: TOKEN },
      env: { GITHUB_API_URL: api.url, GITHUB_SHA: HEAD }
    });
    expect(step.exitCode).toBe(1);
    expect(step.stdout).toContain(`::add-mask::${TOKEN}`);
    const calls = api.requests.slice(before);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/repos/secgate-tests/example/check-runs' });
    expect(calls[0]!.authorization).toBe(`token ${TOKEN}`);
    const batches = calls.map((c) => ((c.body as { output?: { annotations?: unknown[] } })?.output?.annotations ?? []).length);
    // 70 B602 + 1 B404 reported findings with lines → 71 annotations: 50 on create, 21 on the first update.
    expect(batches.slice(0, 2)).toEqual([50, 21]);
    const last = calls[calls.length - 1]!.body as { status: string; conclusion: string };
    expect(last).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect((calls[0]!.body as { head_sha: string }).head_sha).toBe(HEAD);
    // Workflow-command annotations stay within the per-step cap: 9 errors + the failure message.
    expect(step.annotations.filter((a) => a.command === 'error')).toHaveLength(10);
    // 70 high findings: 9 error annotations (one slot kept for the failure); the low B404 one is a notice.
    expect(Number(step.outputs['annotations-omitted'])).toBe(61);
    expect(step.summary).toContain('61 finding(s) were not annotated inline');
  });

  it('changed-lines falls back to the pull-request files API when git cannot give the diff', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-prfiles-'));
    // A repository without the PR's base commit and no remote to fetch it from.
    await writeFile(path.join(workspace, 'app.py'), 'import subprocess\nsubprocess.call(x, shell=True)\n\nsubprocess.call(y, shell=True)\n');
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
    execFileSync('git', ['init', '-q'], { cwd: workspace, env });
    execFileSync('git', ['add', '-A'], { cwd: workspace, env });
    execFileSync('git', ['commit', '-qm', 'pr'], { cwd: workspace, env });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: workspace, encoding: 'utf8' }).trim();
    const before = api.requests.length;
    const step = await runStep({
      bundle: 'sast',
      workspace,
      job,
      inputs: { tools: 'bandit', 'fail-on': 'high', 'new-only': 'changed-lines', token: TOKEN },
      event: { name: 'pull_request', payload: { pull_request: { number: 7, base: { sha: '2'.repeat(40) }, head: { sha: head } } } },
      env: { GITHUB_API_URL: api.url, GITHUB_SHA: head }
    });
    const calls = api.requests.slice(before);
    expect(calls.some((c) => c.method === 'GET' && c.path.startsWith('/repos/secgate-tests/example/pulls/7/files'))).toBe(true);
    expect(step.stdout).toContain('using the pull-request files API');
    // Line 2 is in the PR's patch, line 4 is not: one blocking finding, one outside the diff.
    expect(step.exitCode).toBe(1);
    expect(step.outputs['blocking']).toBe('1');
    expect(step.summary).toMatch(/\| high \| 1 \| 0 \| 0 \| 1 \|/);
  });

  it('checks: false makes no API call; a bad value is a configuration error', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-nochecks-'));
    await writeFile(path.join(workspace, 'jobs.py'), manyHighFindings(2));
    const before = api.requests.length;
    const quiet = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', checks: 'false', token: TOKEN }, env: { GITHUB_API_URL: api.url } });
    expect(quiet.outputs['verdict']).toBe('fail');
    expect(api.requests.length).toBe(before);
    const bad = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', checks: 'yes please', token: TOKEN }, env: { GITHUB_API_URL: api.url } });
    expect(bad.exitCode).toBe(1);
    expect(bad.annotations.find((a) => a.command === 'error')?.message).toBe("secgate sast: configuration: checks: 'yes please' is not one of auto, true, false");
  });
});
