import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export interface RawRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool by hand (the "raw" side of parity and rulepack tests), capturing everything. */
export function runRaw(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RawRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Suites may share a tool cache: tool-cache's cacheDir removes and rewrites the target folder, so
 * concurrent cold installs of one tool would clobber each other. A directory lock (mkdir is atomic)
 * holding the owner's pid serialises them; a dead owner's lock is taken over.
 */
export async function withCacheLock<T>(toolCache: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(toolCache, '.secgate-test-install.lock');
  const deadline = Date.now() + timeoutMs;
  await mkdir(toolCache, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      let alive = false;
      try {
        if (owner > 0) alive = process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (!alive && age > 5_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the install lock ${lock}`, { cause: error });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
