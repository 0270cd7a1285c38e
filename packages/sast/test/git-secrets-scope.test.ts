/**
 * git-secrets' tree scan through the engine with the REAL git-secrets 1.3.0 (from the shared test
 * tool cache that the sast suites fill): what it reads and what it leaves out, and that a requested
 * git-secrets that cannot run is an error, never a pass.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolSkippedError, runScan, type InstalledTool, type ScanResult, type ToolInstaller } from '@secgate/core';
import { gitSecretsAdapter, sastStage } from '@secgate/sast';
import { SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';
import { commitAll, initRepo, writeFiles } from '../../../test/helpers/git-repo.js';

const SCRIPT = path.join(SHARED_TOOL_CACHE, 'git-secrets', '1.3.0', 'linux-x64', 'git-secrets-1.3.0', 'git-secrets');
// An AWS-secret-shaped value that is not one of the AWS documentation examples git-secrets allows.
const FAKE_SECRET = 'AWS_SECRET_ACCESS_KEY = "Zk3Lq9vX2mN8pR4tY6wB1cD5fG7hJ0kL2nQ4sT6u"';

const installer = {
  async install(): Promise<InstalledTool> {
    return { tool: 'git-secrets', version: '1.3.0', command: SCRIPT, baseArgs: [], dir: path.dirname(SCRIPT), cacheHit: true, durationMs: 0, verified: true };
  }
} as unknown as ToolInstaller;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-git-secrets-scope-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function scan(workspace: string): Promise<ScanResult> {
  return runScan(
    {
      stages: [sastStage],
      workspace,
      targets: ['.'],
      exclude: [],
      tools: ['git-secrets'],
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: { 'secrets-scan': 'tree' },
      timeoutsMs: {},
      now: new Date('2026-06-01T00:00:00Z'),
      tempDir: path.join(root, 'tmp')
    },
    { installer, logger: new MemoryLogger() }
  );
}

describe('git-secrets tree scan (real git-secrets 1.3.0)', () => {
  it('reads tracked, untracked and ignored files, never .git/ (commit messages, reflogs)', async () => {
    if (!requireTool(existsSync(SCRIPT), `git-secrets 1.3.0 in ${SHARED_TOOL_CACHE}`)) return;
    const repo = path.join(root, 'repo');
    await writeFiles(repo, { 'app/settings.py': `import os\n${FAKE_SECRET}\n`, '.gitignore': 'ignored/\n' });
    await initRepo(repo);
    // The secret in the commit message lands in .git/COMMIT_EDITMSG and .git/logs/*.
    await commitAll(repo, FAKE_SECRET);
    await writeFiles(repo, { 'new.yml': `${FAKE_SECRET}\n`, 'ignored/copy.py': `${FAKE_SECRET}\n` });
    const result = await scan(repo);
    expect(result.errors).toEqual([]);
    expect(result.verdict).toBe('fail');
    const places = result.findings.map((f) => `${f.location?.path}:${f.location?.startLine}`).sort();
    expect(places).toEqual(['app/settings.py:2', 'ignored/copy.py:1', 'new.yml:1']);
    expect(places.some((p) => p.startsWith('.git/'))).toBe(false);
  });

  it('a workspace that is not a git repository: git-secrets is skipped and the verdict is error, not pass', async () => {
    if (!requireTool(existsSync(SCRIPT), `git-secrets 1.3.0 in ${SHARED_TOOL_CACHE}`)) return;
    const folder = path.join(root, 'plain');
    await writeFiles(folder, { 'app.py': 'print(1)\n' });
    const result = await scan(folder);
    expect(result.verdict).toBe('error');
    expect(result.tools[0]).toMatchObject({ tool: 'git-secrets', status: 'skipped', skipReason: 'not a git repository (git-secrets scans through git)' });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(ToolSkippedError);
    expect(result.errors[0]!.message).toBe(
      `${gitSecretsAdapter.id}: requested but not run: not a git repository (git-secrets scans through git); deselect it (tools input) if it is not wanted here`
    );
  });
});
