import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CommitRange } from './adapter.js';
import { ConfigurationError } from './errors.js';
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

/** The full SHA of a commit-ish, or undefined when `rev` names no commit here. */
export async function resolveCommit(workspace: string, rev: string): Promise<string | undefined> {
  // A leading `-` would be read as an option; no branch, tag or SHA starts with one.
  if (rev.startsWith('-') || /[\s\u0000-\u001f\u007f]/.test(rev)) return undefined;
  const resolved = await git(workspace, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  const sha = resolved.stdout.trim();
  return resolved.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

/** Splits `base..head` (head defaults to HEAD, as in git); `a...b` and one-sided forms are refused. */
export function parseRangeSpec(spec: string, key = 'range'): { base: string; head: string } {
  const value = spec.trim();
  const parts = value.split('..');
  if (parts.length !== 2 || parts[1]!.startsWith('.') || parts[0] === '') {
    throw new ConfigurationError(`'${value}' is not <base>..<head> (e.g. main..HEAD or v1.2.0..v1.3.0)`, key);
  }
  return { base: parts[0]!, head: parts[1] || 'HEAD' };
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Validates a `since` date and returns it in the one form git reads unambiguously (UTC, seconds).
 * git's own date parser accepts anything (`--since=garbage` silently selects nothing) and fills a
 * bare date with the current time of day, so only ISO 8601 is taken: a date means 00:00 UTC.
 */
export function parseSinceDate(value: string, key = 'since'): string {
  const text = value.trim();
  const match = ISO_DATE.exec(text);
  const fail = (): never => {
    throw new ConfigurationError(`'${text}' is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])`, key);
  };
  if (!match) return fail();
  const [, year, month, day, hour = '00', minute = '00', second = '00', zone = 'Z'] = match;
  const ms = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${zone}`);
  // Date.parse rolls 2026-02-30 over to March; a real date reads back the same day.
  const sameDay = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).toISOString().slice(0, 10) === `${year}-${month}-${day}`;
  if (!Number.isFinite(ms) || !sameDay || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return fail();
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `git log` / `git rev-list` arguments for a range's commits: SHAs and a validated date only. */
export function rangeRevisions(range: CommitRange): string[] {
  return [...(range.since ? [`--since=${range.since}`] : []), range.base ? `${range.base}..${range.head}` : range.head];
}

/** Words for a range in messages: `1a2b3c4d5e6f..0f9e8d7c6b5a`, `all history of 0f9e8d7c6b5a since …`. */
export function describeCommitRange(range: CommitRange): string {
  const head = range.head.slice(0, 12);
  const commits = range.base ? `${range.base.slice(0, 12)}..${head}` : `all history of ${head}`;
  return range.since ? `${commits} since ${range.since}` : commits;
}

/**
 * Makes a range's commits present and lists them (newest first). A range with both ends (an
 * Actions event) is fetched and deepened as needed. Whole history, or history since a date, is
 * read from the local clone as it is: a shallow clone whose cut lies inside the range is an error,
 * since the commits behind the cut would silently go unscanned.
 */
export async function historyCommits(workspace: string, range: CommitRange, logger: Logger): Promise<string[]> {
  if (range.base) await ensureRangeHistory(workspace, range.base, range.head, logger);
  const listed = await git(workspace, ['rev-list', ...rangeRevisions(range)], 600_000);
  if (listed.exitCode !== 0) {
    throw new ConfigurationError(`cannot list the commits of ${describeCommitRange(range)}: ${listed.stderr.trim().split('\n').pop()}`, 'secrets-scan');
  }
  const commits = listed.stdout.split('\n').filter(Boolean);
  if (!range.base) {
    const cut = (await shallowCommits(workspace)).filter((sha) => commits.includes(sha));
    if (cut.length > 0) {
      throw new ConfigurationError(
        `this clone is shallow: history before ${cut[0]!.slice(0, 12)} is missing, so ${describeCommitRange(range)} cannot be scanned ` +
          '(fetch it with `git fetch --unshallow`, or scan a range that the clone holds)',
        'secrets-scan'
      );
    }
  }
  return commits;
}

/** The commits a shallow clone was cut at (their parents are missing); none in a full clone. */
async function shallowCommits(workspace: string): Promise<string[]> {
  const file = await git(workspace, ['rev-parse', '--git-path', 'shallow']);
  if (file.exitCode !== 0) return [];
  const text = await readFile(path.resolve(workspace, file.stdout.trim()), 'utf8').catch(() => '');
  return text.split('\n').map((line) => line.trim()).filter(Boolean);
}
