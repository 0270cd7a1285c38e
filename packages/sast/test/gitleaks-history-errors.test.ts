/**
 * gitleaks' history scan with the REAL gitleaks 8.30.0 (installed from the loopback release mirror)
 * on a repository git cannot fully read. Found on a public project: gitleaks logs
 * `ERR [git] fatal: unable to read <sha>`, writes `[]` and exits 0 — which read as a clean history.
 */
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolInstaller, runScan, type ScanResult } from '@secgate/core';
import { gitleaksAdapter, sastStage } from '@secgate/sast';
import { commitAll, git, initRepo, writeFiles } from '../../../test/helpers/git-repo.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

// An AWS-key-shaped value built at run time, so this file holds no credential-shaped literal.
const FAKE_KEY = ['AKIA', 'QYLPMN5HHHFPZAM2'].join('');

let root: string;
let mirror: ReleaseMirror | undefined;
const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-gitleaks-history-'));
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  process.env['RUNNER_TEMP'] = path.join(root, 'runner-temp');
  if (mirrorAvailable()) mirror = await startReleaseMirror(mirrorRoot());
});

afterAll(async () => {
  await mirror?.close();
  for (const [name, value] of [['RUNNER_TOOL_CACHE', saved.cache], ['RUNNER_TEMP', saved.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(root, { recursive: true, force: true });
});

/** A secret committed and deleted again, with one more commit in between. */
async function repoWithDeletedSecret(name: string): Promise<{ repo: string; blob: string }> {
  const repo = path.join(root, name);
  await writeFiles(repo, { 'creds.py': `aws_key = "${FAKE_KEY}"\n` });
  await initRepo(repo);
  await commitAll(repo, 'add credentials');
  await writeFiles(repo, { 'big.bin': 'some data that is not a secret\n'.repeat(50) });
  await commitAll(repo, 'add data');
  await git(repo, ['rm', '-q', 'creds.py']);
  await commitAll(repo, 'remove credentials');
  const blob = (await git(repo, ['rev-parse', 'HEAD~1:big.bin'])).trim();
  return { repo, blob };
}

async function historyScan(repo: string): Promise<ScanResult> {
  const installer = new ToolInstaller({ logger: new MemoryLogger(), lock: testLock(), mirrorUrl: mirror!.url });
  const head = (await git(repo, ['rev-parse', 'HEAD'])).trim();
  return runScan(
    {
      stages: [sastStage],
      workspace: repo,
      targets: ['.'],
      exclude: [],
      tools: ['gitleaks'],
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: { 'secrets-scan': 'history' },
      timeoutsMs: {},
      commitRange: { head },
      now: new Date('2026-06-01T00:00:00Z'),
      tempDir: path.join(root, `tmp-${path.basename(repo)}`)
    },
    { installer, logger: new MemoryLogger() }
  );
}

describe(`gitleaks ${gitleaksAdapter.install.defaultVersion} history scan (real binary)`, () => {
  it('finds the deleted secret in a complete history (control)', async () => {
    if (!requireTool(Boolean(mirror), 'the loopback release mirror (scripts/tools/build-mirror.sh)')) return;
    const { repo } = await repoWithDeletedSecret('complete');
    const result = await historyScan(repo);
    expect(result.errors).toEqual([]);
    expect(result.verdict).toBe('fail');
    expect(result.findings.map((f) => f.location?.path)).toEqual(['creds.py']);
  }, 300_000);

  it('fails, naming git’s error, when an object of the history cannot be read (gitleaks itself exits 0 with [])', async () => {
    if (!requireTool(Boolean(mirror), 'the loopback release mirror (scripts/tools/build-mirror.sh)')) return;
    const { repo, blob } = await repoWithDeletedSecret('damaged');
    await unlink(path.join(repo, '.git', 'objects', blob.slice(0, 2), blob.slice(2)));
    const result = await historyScan(repo);
    expect(result.verdict).toBe('error');
    expect(result.tools[0]?.status).toBe('failed');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.kind).toBe('tool-failure');
    expect(result.errors[0]?.message).toMatch(/reported an error although it exited 0.*unable to read/);
  }, 300_000);
});
