import type { FindingLocation } from '../finding.js';
import { runTool } from '../exec.js';
import type { Logger } from '../logger.js';

type Range = [start: number, end: number];

/** The lines a change adds or modifies, per file (new-side line numbers). */
export class ChangedLines {
  constructor(readonly files: ReadonlyMap<string, Range[]>) {}

  /** Findings without a line (a whole file, a package) count as changed when their file changed. */
  contains(location: FindingLocation | undefined): boolean {
    if (!location) return false;
    const ranges = this.files.get(location.path);
    if (!ranges) return false;
    if (!location.startLine) return true;
    const start = location.startLine;
    const end = location.endLine ?? start;
    return ranges.some(([a, b]) => start <= b && end >= a);
  }

  get fileCount(): number {
    return this.files.size;
  }
}

/** Parses `git diff --unified=0` output (or concatenated API patches) into changed line ranges. */
export function parseUnifiedDiff(diff: string): Map<string, Range[]> {
  const files = new Map<string, Range[]>();
  let current: Range[] | undefined;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      const target = line.slice(4).trim();
      if (target === '/dev/null') {
        current = undefined;
      } else {
        const file = unquote(target).replace(/^b\//, '');
        current = files.get(file) ?? [];
        files.set(file, current);
      }
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk && current) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      if (count > 0) current.push([start, start + count - 1]);
    }
  }
  return files;
}

/** Patches from the pull-request files API: one `patch` (hunks only) per file. */
export function changedLinesFromApiPatches(files: { filename: string; patch?: string; status?: string }[]): ChangedLines {
  const map = new Map<string, Range[]>();
  for (const file of files) {
    if (file.status === 'removed') continue;
    const parsed = parseUnifiedDiff(`+++ b/${file.filename}\n${file.patch ?? ''}`);
    // A file whose patch GitHub omitted (too large, binary) counts as wholly changed.
    map.set(file.filename, file.patch ? parsed.get(file.filename) ?? [] : [[1, Number.MAX_SAFE_INTEGER]]);
  }
  return new ChangedLines(map);
}

function unquote(path: string): string {
  if (!path.startsWith('"')) return path;
  try {
    return JSON.parse(path) as string;
  } catch {
    return path.slice(1, -1);
  }
}

export interface GitDiffRequest {
  workspace: string;
  base: string;
  head: string;
  logger: Logger;
  remote?: string;
}

/**
 * Changed lines between two commits with git. Works on shallow clones: a missing commit is
 * fetched by SHA (depth 1), which is all a two-dot diff needs — on pull_request the head is the
 * merge commit, whose diff against the base tip is exactly the PR's change; on merge_group the
 * queue commit against its base_sha.
 */
export async function changedLinesFromGit(request: GitDiffRequest): Promise<ChangedLines> {
  const git = async (args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> =>
    runTool({ tool: 'git', command: 'git', args, cwd: request.workspace, timeoutMs: 120_000 });
  for (const sha of [request.base, request.head]) {
    const present = await git(['cat-file', '-e', `${sha}^{commit}`]);
    if (present.exitCode === 0) continue;
    request.logger.info(`Fetching ${sha} (not in this clone) to compute changed lines`);
    const fetched = await git(['fetch', '--no-tags', '--no-recurse-submodules', '--depth=1', request.remote ?? 'origin', sha]);
    if (fetched.exitCode !== 0) throw new Error(`git fetch ${sha} failed: ${fetched.stderr.trim().split('\n').pop()}`);
  }
  const diff = await git(['diff', '--no-color', '--no-ext-diff', '--unified=0', '-M', request.base, request.head]);
  if (diff.exitCode !== 0) throw new Error(`git diff failed: ${diff.stderr.trim().split('\n').pop()}`);
  return new ChangedLines(parseUnifiedDiff(diff.stdout));
}
