import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile, appendFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
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
    const notYet = cli(['scan', ws, '--stage', 'sca']);
    expect(notYet.status).toBe(2);
    expect(notYet.stderr).toContain("stage 'sca' has no tool adapters in this release");
  });
});
