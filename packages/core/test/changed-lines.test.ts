import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, unlink, writeFile, rename } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChangedLines,
  MemoryLogger,
  changedLinesFromApiPatches,
  changedLinesFromGit,
  parseUnifiedDiff
} from '@secgate/core';

/** Works on a fresh CI machine: identity, no global/system config, no signing, fixed default branch. */
const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0'
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8'
  });
}

function commitAll(cwd: string, message: string): string {
  git(cwd, 'add', '-A');
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD').trim();
}

const lines = (n: number, prefix = 'line'): string => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-diff-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A repo whose second commit modifies, renames (with an edit), deletes and adds files. */
async function makeRepo(root: string): Promise<{ base: string; head: string }> {
  await mkdir(root, { recursive: true });
  git(root, 'init', '-q');
  await mkdir(path.join(root, 'src'));
  await writeFile(path.join(root, 'src', 'app.py'), lines(20));
  await writeFile(path.join(root, 'src', 'old_name.py'), lines(30, 'stable content'));
  await writeFile(path.join(root, 'doomed.py'), lines(5));
  await writeFile(path.join(root, 'dir with space.txt'), lines(3));
  const base = commitAll(root, 'base');

  const app = lines(20).split('\n');
  app[2] = 'changed 3'; // modify line 3
  app.splice(10, 0, 'inserted A', 'inserted B'); // new lines 11-12
  app.splice(16, 2); // delete two lines (pure deletion → no new-side range)
  await writeFile(path.join(root, 'src', 'app.py'), app.join('\n'));
  const renamed = lines(30, 'stable content').split('\n');
  renamed[24] = 'edited after rename';
  await rename(path.join(root, 'src', 'old_name.py'), path.join(root, 'src', 'new_name.py'));
  await writeFile(path.join(root, 'src', 'new_name.py'), renamed.join('\n'));
  await unlink(path.join(root, 'doomed.py'));
  await writeFile(path.join(root, 'src', 'brand_new.py'), lines(4, 'new'));
  await writeFile(path.join(root, 'dir with space.txt'), 'line 1\nCHANGED\nline 3\n');
  const head = commitAll(root, 'change');
  return { base, head };
}

describe('parseUnifiedDiff on real git output', () => {
  it('finds modified, inserted, renamed and new lines; skips deleted files and pure deletions', async () => {
    const { base, head } = await makeRepo(dir);
    const diff = git(dir, 'diff', '--no-color', '--unified=0', '-M', base, head);
    expect(diff).toContain('rename to src/new_name.py');
    const files = parseUnifiedDiff(diff);

    expect(files.get('src/app.py')).toEqual([
      [3, 3],
      [11, 12]
    ]);
    expect(files.get('src/new_name.py')).toEqual([[25, 25]]);
    expect(files.has('src/old_name.py')).toBe(false);
    expect(files.get('src/brand_new.py')).toEqual([[1, 4]]);
    expect(files.has('doomed.py')).toBe(false);
    expect(files.get('dir with space.txt')).toEqual([[2, 2]]);
    expect([...files.keys()].sort()).toEqual(['dir with space.txt', 'src/app.py', 'src/brand_new.py', 'src/new_name.py']);
  });

  it('is not fooled by an added line whose content starts with "++ "', async () => {
    git(dir, 'init', '-q');
    await writeFile(path.join(dir, 'notes.md'), lines(12));
    const base = commitAll(dir, 'base');
    const notes = lines(12).split('\n');
    notes.splice(1, 0, '++ b/elsewhere.py'); // shows up in the diff as "+++ b/elsewhere.py"
    notes.splice(10, 0, 'x', 'y');
    await writeFile(path.join(dir, 'notes.md'), notes.join('\n'));
    const head = commitAll(dir, 'head');
    const diff = git(dir, 'diff', '--no-color', '--unified=0', base, head);
    expect(diff).toContain('\n+++ b/elsewhere.py\n');

    const files = parseUnifiedDiff(diff);
    expect(files.get('notes.md')).toEqual([
      [2, 2],
      [11, 12]
    ]);
    expect(files.has('elsewhere.py')).toBe(false);
  });
});

describe('changedLinesFromGit', () => {
  it('computes ranges between two commits of a full clone', async () => {
    const { base, head } = await makeRepo(dir);
    const logger = new MemoryLogger();
    const changed = await changedLinesFromGit({ workspace: dir, base, head, logger });
    expect(changed.contains({ path: 'src/app.py', startLine: 3 })).toBe(true);
    expect(changed.contains({ path: 'src/app.py', startLine: 4 })).toBe(false);
    expect(changed.contains({ path: 'src/new_name.py', startLine: 25 })).toBe(true);
    expect(changed.contains({ path: 'src/new_name.py', startLine: 1 })).toBe(false);
    expect(changed.fileCount).toBe(4);
    expect(logger.text()).not.toContain('Fetching');
  });

  it('fetches a base commit missing from a shallow clone', async () => {
    const origin = path.join(dir, 'origin');
    await mkdir(origin);
    git(origin, 'init', '-q');
    // GitHub serves any reachable commit by SHA; protocol v2 does too, this also covers older git.
    git(origin, 'config', 'uploadpack.allowReachableSHA1InWant', 'true');
    await writeFile(path.join(origin, 'a.py'), lines(10));
    commitAll(origin, 'one');
    await writeFile(path.join(origin, 'b.py'), lines(3));
    const base = commitAll(origin, 'two');
    const a = lines(10).split('\n');
    a[4] = 'five changed';
    a[8] = 'nine changed';
    await writeFile(path.join(origin, 'a.py'), a.join('\n'));
    commitAll(origin, 'three');
    await writeFile(path.join(origin, 'c.py'), lines(2));
    await writeFile(path.join(origin, 'b.py'), 'line 1\nline 2\nline 3\nline 4\n');
    const head = commitAll(origin, 'four');

    const clone = path.join(dir, 'clone');
    git(dir, 'clone', '-q', '--depth=1', `file://${origin}`, clone);
    expect(git(clone, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    expect(() => git(clone, 'cat-file', '-e', `${base}^{commit}`)).toThrow();

    const logger = new MemoryLogger();
    const changed = await changedLinesFromGit({ workspace: clone, base, head, logger });
    expect(logger.text()).toContain(`Fetching ${base.slice(0, 12)}`);
    expect(logger.text()).not.toContain(`Fetching ${head.slice(0, 12)}`);
    expect(git(clone, 'cat-file', '-t', base).trim()).toBe('commit');
    expect(Object.fromEntries(changed.files)).toEqual({
      'a.py': [
        [5, 5],
        [9, 9]
      ],
      'b.py': [[4, 4]],
      'c.py': [[1, 2]]
    });
  });

  it('fails with a clear error when the base cannot be fetched', async () => {
    await makeRepo(dir);
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const bogus = 'f'.repeat(40);
    await expect(changedLinesFromGit({ workspace: dir, base: bogus, head, logger: new MemoryLogger() })).rejects.toThrow(
      new RegExp(`git fetch ${bogus} failed`)
    );
  });

  it('handles non-ASCII file names (git quotes them as octal escapes)', async () => {
    git(dir, 'init', '-q');
    await writeFile(path.join(dir, 'größe.py'), lines(3));
    const base = commitAll(dir, 'base');
    await writeFile(path.join(dir, 'größe.py'), 'line 1\nCHANGED\nline 3\n');
    const head = commitAll(dir, 'head');
    const changed = await changedLinesFromGit({ workspace: dir, base, head, logger: new MemoryLogger() });
    expect([...changed.files.keys()]).toEqual(['größe.py']);
    expect(changed.contains({ path: 'größe.py', startLine: 2 })).toBe(true);
  });
});

describe('changedLinesFromApiPatches', () => {
  it('parses patches, treats a file without a patch as wholly changed and skips removed files', () => {
    const patch = ['@@ -1,3 +1,4 @@', ' import os', '+import subprocess', ' ', ' def main():', '@@ -20,2 +21,0 @@', '-gone', '-gone too'].join('\n');
    const changed = changedLinesFromApiPatches([
      { filename: 'src/app.py', status: 'modified', patch },
      { filename: 'assets/big.bin', status: 'added' },
      { filename: 'old.py', status: 'removed', patch: '@@ -1,2 +0,0 @@\n-a\n-b' }
    ]);
    expect(changed).toBeInstanceOf(ChangedLines);
    expect(changed.fileCount).toBe(2);
    expect(changed.contains({ path: 'src/app.py', startLine: 2 })).toBe(true);
    expect(changed.contains({ path: 'src/app.py', startLine: 21 })).toBe(false);
    expect(changed.contains({ path: 'assets/big.bin', startLine: 123_456 })).toBe(true);
    expect(changed.contains({ path: 'assets/big.bin' })).toBe(true);
    expect(changed.contains({ path: 'old.py', startLine: 1 })).toBe(false);
    expect(changed.contains(undefined)).toBe(false);
  });

  it('counts only added lines, not the context lines the API includes', () => {
    // GitHub's patches carry 3 lines of context; line 1 and 3-4 below are unchanged.
    const patch = ['@@ -1,3 +1,4 @@', ' import os', '+import subprocess', ' ', ' def main():'].join('\n');
    const changed = changedLinesFromApiPatches([{ filename: 'src/app.py', status: 'modified', patch }]);
    expect(changed.contains({ path: 'src/app.py', startLine: 2 })).toBe(true);
    expect(changed.contains({ path: 'src/app.py', startLine: 1 })).toBe(false);
    expect(changed.contains({ path: 'src/app.py', startLine: 4 })).toBe(false);
  });
});
