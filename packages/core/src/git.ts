import { runTool } from './exec.js';
import type { Logger } from './logger.js';

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function git(workspace: string, args: string[], timeoutMs = 120_000): Promise<GitResult> {
  return runTool({ tool: 'git', command: 'git', args, cwd: workspace, timeoutMs });
}

export async function isGitWorkTree(workspace: string): Promise<boolean> {
  const result = await git(workspace, ['rev-parse', '--is-inside-work-tree']).catch(() => undefined);
  return result?.exitCode === 0 && result.stdout.trim() === 'true';
}

async function hasCommit(workspace: string, sha: string): Promise<boolean> {
  return (await git(workspace, ['cat-file', '-e', `${sha}^{commit}`])).exitCode === 0;
}

/** Fetches a commit by SHA (depth 1) when a shallow clone lacks it. */
export async function ensureCommit(workspace: string, sha: string, logger: Logger, remote = 'origin'): Promise<void> {
  if (await hasCommit(workspace, sha)) return;
  logger.info(`Fetching ${sha.slice(0, 12)} (not in this clone)`);
  const fetched = await git(workspace, ['fetch', '--no-tags', '--no-recurse-submodules', '--depth=1', remote, sha]);
  if (fetched.exitCode !== 0) {
    throw new Error(`git fetch ${sha} failed: ${fetched.stderr.trim().split('\n').pop()}`);
  }
}

const MAX_DEEPEN_ROUNDS = 12;

/**
 * Makes every commit of `base..head` present, however shallow the clone: fetches both ends, then
 * deepens (doubling, bounded) until `base` is reachable from `head` or the clone is complete.
 * Peers that list commits through the API stop at 30 or 250; walking git history has no such cap.
 */
export function ensureRangeHistory(workspace: string, base: string, head: string, logger: Logger, remote = 'origin'): Promise<void> {
  // Secret scanners run concurrently and may each need the range: one fetch per clone, shared,
  // since concurrent `git fetch --deepen` on one repository collide on its shallow file.
  const key = [workspace, base, head, remote].join('\u0000');
  let pending = rangeHistory.get(key);
  if (!pending) {
    pending = deepenToRange(workspace, base, head, logger, remote);
    rangeHistory.set(key, pending);
    pending.catch(() => rangeHistory.delete(key));
  }
  return pending;
}

const rangeHistory = new Map<string, Promise<void>>();

async function deepenToRange(workspace: string, base: string, head: string, logger: Logger, remote: string): Promise<void> {
  await ensureCommit(workspace, head, logger, remote);
  await ensureCommit(workspace, base, logger, remote);
  let depth = 32;
  for (let round = 0; round < MAX_DEEPEN_ROUNDS; round++) {
    const related = await git(workspace, ['merge-base', base, head]);
    if (related.exitCode === 0) return;
    const shallow = await git(workspace, ['rev-parse', '--is-shallow-repository']);
    if (shallow.stdout.trim() !== 'true') return;
    logger.info(`Deepening the clone by ${depth} commits to reach ${base.slice(0, 12)}`);
    const deepened = await git(workspace, ['fetch', '--no-tags', '--no-recurse-submodules', `--deepen=${depth}`, remote, head], 600_000);
    if (deepened.exitCode !== 0) throw new Error(`git fetch --deepen failed: ${deepened.stderr.trim().split('\n').pop()}`);
    depth *= 2;
  }
  const last = await git(workspace, ['merge-base', base, head]);
  if (last.exitCode !== 0) {
    const unshallow = await git(workspace, ['fetch', '--no-tags', '--unshallow', remote], 900_000);
    if (unshallow.exitCode !== 0) throw new Error(`cannot reach ${base} from ${head}: ${unshallow.stderr.trim().split('\n').pop()}`);
  }
}
