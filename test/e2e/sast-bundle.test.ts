import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { newJob, runStep, REPO_ROOT, type RunnerJob } from '../helpers/runner.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';

// End to end: the committed dist/sast bundle on Node 24, as the runner runs `uses: ./actions/sast`.
// bandit is installed for real (PyPI, hash-verified) into the job's tool cache on the first step.

const HIGH_FINDING = 'import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n';

async function workspaceWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-ws-'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

const FUTURE = `${new Date().getUTCFullYear() + 1}-12-31`;

describe('sast bundle on Node 24 (bandit)', () => {
  let job: RunnerJob;
  beforeAll(async () => {
    job = await newJob();
  });

  it('installs bandit through the tool cache, annotates, summarises, writes valid SARIF and goes red on fail-on high', async () => {
    const workspace = await workspaceWith({ 'app.py': HIGH_FINDING });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { 'fail-on': 'high', tools: 'bandit' } });
    expect(step.exitCode).toBe(1);
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.outputs['high']).toBe('1');
    expect(step.outputs['blocking']).toBe('1');
    const b602 = step.annotations.find((a) => a.command === 'error' && a.properties['title']?.includes('B602'));
    expect(b602).toBeDefined();
    expect(b602!.properties).toMatchObject({ file: 'app.py', line: '5', col: '12' });
    // The step's own failure message names the kind of ending.
    expect(step.annotations.some((a) => a.command === 'error' && /1 finding\(s\) at or above severity 'high'/.test(a.message))).toBe(true);
    expect(step.summary).toContain('secgate sast: ❌ failed');
    expect(step.summary).toMatch(/\| Bandit \| sast \| 1\.9\.4 \| ✅ ok \| \d+ \|/);
    const sarif = JSON.parse(await readFile(step.outputs['sarif-file']!, 'utf8'));
    expect(sarifSchemaErrors(sarif)).toEqual([]);
    // The validator does reject a run without its required `tool`.
    expect(sarifSchemaErrors({ version: '2.1.0', runs: [{ results: [] }] }).length).toBeGreaterThan(0);
    expect(sarif.runs).toHaveLength(1);
    expect(sarif.runs[0].automationDetails.id).toBe('secgate/sast/bandit/');
    const result = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'B602');
    expect(result.level).toBe('error');
    expect(result.partialFingerprints['secgateFingerprint/v1']).toMatch(/^[0-9a-f]{32}$/);
    const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8'));
    expect(report.verdict).toBe('fail');
    expect(report.tools[0]).toMatchObject({ tool: 'bandit', version: '1.9.4', status: 'ok', cacheHit: false, verified: true });
  });

  it('goes green after an exception with a future expiry, and reports it as suppressed', async () => {
    const policy = `fail-on: high\nexceptions:\n  - rule: bandit:B602\n    paths: ['app.py']\n    reason: commands come from our own CLI, never from users\n    owner: '@ml-platform'\n    expires: '${FUTURE}'\n`;
    const workspace = await workspaceWith({ 'app.py': HIGH_FINDING, '.secgate.yml': policy });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit' } });
    expect(step.stderr).toBe('');
    expect(step.exitCode).toBe(0);
    expect(step.outputs['verdict']).toBe('pass');
    expect(step.outputs['high']).toBe('0');
    expect(step.summary).toMatch(/\| high \| 0 \| 1 \| 0 \| 0 \|/);
    expect(step.annotations.some((a) => a.properties['title']?.includes('B602'))).toBe(false);
    const report = JSON.parse(await readFile(step.outputs['report-file']!, 'utf8'));
    expect(report.tools[0].cacheHit).toBe(true);
    const sarif = JSON.parse(await readFile(step.outputs['sarif-file']!, 'utf8'));
    const suppressed = sarif.runs[0].results.find((r: { ruleId: string }) => r.ruleId === 'B602');
    expect(suppressed.suppressions[0].justification).toContain('commands come from our own CLI');
  });

  it('an expired exception stops suppressing and is reported', async () => {
    const policy = `exceptions:\n  - rule: B602\n    reason: temporary while we migrate\n    owner: alice\n    expires: '2020-01-31'\n`;
    const workspace = await workspaceWith({ 'app.py': HIGH_FINDING, '.secgate.yml': policy });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'fail-on': 'high' } });
    expect(step.exitCode).toBe(1);
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.summary).toContain('Expired exceptions (no longer suppressing)');
    expect(step.summary).toContain('expired 2020-01-31');
  });

  it('a bad policy key fails red as a configuration error naming the key and line', async () => {
    const workspace = await workspaceWith({ 'app.py': HIGH_FINDING, '.secgate.yml': 'fail-on: high\nreport-severty: low\n' });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit' } });
    expect(step.exitCode).toBe(1);
    const failure = step.annotations.find((a) => a.command === 'error');
    expect(failure?.message).toMatch(/configuration: .*\.secgate\.yml:2: report-severty: unknown key/s);
    expect(step.outputs['verdict']).toBeUndefined();
  });

  it('a bad input value fails red before any tool runs', async () => {
    const workspace = await workspaceWith({ 'app.py': HIGH_FINDING });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { 'fail-on': 'hihg' } });
    expect(step.exitCode).toBe(1);
    expect(step.annotations.find((a) => a.command === 'error')?.message).toBe(
      "secgate sast: configuration: fail-on: 'hihg' is not one of none, critical, high, medium, low, info"
    );
  });

  it('hostile file names and messages cannot forge workflow commands or markup', async () => {
    const workspace = await workspaceWith({
      'x::error::pwned.py': HIGH_FINDING,
      'evil<script>alert(1)<|script>.py': HIGH_FINDING
    });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'fail-on': 'none' } });
    expect(step.exitCode).toBe(0);
    const files = step.annotations.map((a) => a.properties['file']).filter(Boolean);
    expect(files).toEqual(expect.arrayContaining(['x::error::pwned.py', 'evil<script>alert(1)<|script>.py']));
    // Every error annotation is one of ours (a B602 title), none was forged from a file name.
    for (const a of step.annotations.filter((x) => x.command === 'error')) expect(a.properties['title']).toMatch(/B602/);
    expect(step.annotations.some((a) => a.message === 'pwned.py')).toBe(false);
    expect(step.summary).not.toContain('<script>');
    expect(step.summary).toContain('&lt;script&gt;');
  });

  it('runs on the bundled example project and reports bandit findings', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-example-'));
    await cp(path.join(REPO_ROOT, 'examples', 'ml-service'), workspace, { recursive: true });
    const step = await runStep({ bundle: 'sast', workspace, job, inputs: { tools: 'bandit', 'fail-on': 'high' } });
    expect(step.exitCode).toBe(1);
    expect(Number(step.outputs['high'])).toBeGreaterThan(0);
    const errors = step.annotations.filter((a) => a.command === 'error');
    const warnings = step.annotations.filter((a) => a.command === 'warning');
    expect(errors.length).toBeLessThanOrEqual(10);
    expect(warnings.length).toBeLessThanOrEqual(10);
  });
});
