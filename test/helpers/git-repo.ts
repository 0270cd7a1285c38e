/**
 * Small git fixtures for end-to-end tests: repositories built with the real git CLI under a fixed
 * identity, so commits are reproducible and no user configuration is needed.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const GIT_IDENTITY: Record<string, string> = {
  GIT_AUTHOR_NAME: 'secgate tests',
  GIT_AUTHOR_EMAIL: 'tests@secgate.invalid',
  GIT_COMMITTER_NAME: 'secgate tests',
  GIT_COMMITTER_EMAIL: 'tests@secgate.invalid'
};

/** Runs git in `cwd` and returns its trimmed stdout; a non-zero exit rejects with git's stderr. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_NOSYSTEM: '1' },
    maxBuffer: 64 * 1024 * 1024
  });
  return stdout.trim();
}

/** `git init` (branch main) of an existing directory. */
export async function initRepo(dir: string): Promise<void> {
  await git(dir, ['-c', 'init.defaultBranch=main', 'init', '-q']);
}

/** Stages everything (including deletions) and commits; returns the new commit's SHA. */
export async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message]);
  return git(dir, ['rev-parse', 'HEAD']);
}

/** Writes files (creating folders); a `null` content deletes the file. */
export async function writeFiles(dir: string, files: Record<string, string | null>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    if (content === null) {
      await rm(file, { force: true });
      continue;
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fake GitHub classic token (`ghp_` + 36 random alphanumerics), fresh on every call. */
export function fakeGithubToken(): string {
  let body = '';
  for (let i = 0; i < 36; i++) body += ALNUM[randomInt(ALNUM.length)];
  return `ghp_${body}`;
}
