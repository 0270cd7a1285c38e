import type { FindingLocation } from '../finding.js';
import { ensureCommit, git } from '../git.js';
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

/**
 * Parses unified diff text (git's, or the API's per-file patches) into the new-side line numbers
 * of added lines. Hunk line counts are tracked so content such as a line `++ b/x` inside a hunk is
 * never mistaken for a file header, and context lines never count as changed.
 */
export function parseUnifiedDiff(diff: string): Map<string, Range[]> {
  const files = new Map<string, Range[]>();
  let current: Range[] | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let newLine = 0;
  const add = (line: number): void => {
    if (!current) return;
    const last = current[current.length - 1];
    if (last && last[1] === line - 1) last[1] = line;
    else current.push([line, line]);
  };
  for (const line of diff.split('\n')) {
    if (oldLeft > 0 || newLeft > 0) {
      const marker = line[0];
      if (marker === '+') {
        add(newLine++);
        newLeft--;
      } else if (marker === '-') {
        oldLeft--;
      } else if (marker !== '\\') {
        // Context line (a "\ No newline at end of file" marker counts for neither side).
        newLine++;
        newLeft--;
        oldLeft--;
      }
      continue;
    }
    if (line.startsWith('+++ ')) {
      const target = line.slice(4).replace(/\t.*$/, '').trim();
      if (target === '/dev/null') {
        current = undefined;
      } else {
        const file = unquote(target).replace(/^b\//, '');
        current = files.get(file) ?? [];
        files.set(file, current);
      }
      continue;
    }
    const hunk = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLine = Number(hunk[2]);
      newLeft = hunk[3] === undefined ? 1 : Number(hunk[3]);
    }
  }
  return files;
}

/** Patches from the pull-request files API: one `patch` (hunks only) per file. */
export function changedLinesFromApiPatches(files: { filename: string; patch?: string; status?: string }[]): ChangedLines {
  const map = new Map<string, Range[]>();
  for (const file of files) {
    if (file.status === 'removed') continue;
    if (!file.patch) {
      // GitHub omits the patch of large or binary files: count the whole file as changed (fails safe).
      // A pure rename has no patch either, and no changed line.
      if (file.status !== 'renamed') map.set(file.filename, [[1, Number.MAX_SAFE_INTEGER]]);
      continue;
    }
    const parsed = parseUnifiedDiff(`+++ b/${file.filename}\n${file.patch}`);
    map.set(file.filename, parsed.get(file.filename) ?? []);
  }
  return new ChangedLines(map);
}

/** Undoes git's C-style quoting of unusual paths ("a\tb", octal escapes of UTF-8 bytes). */
export function unquote(path: string): string {
  if (!path.startsWith('"') || !path.endsWith('"')) return path;
  const body = path.slice(1, -1);
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[i + 1] ?? '';
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(simple[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
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
  for (const sha of [request.base, request.head]) await ensureCommit(request.workspace, sha, request.logger, request.remote);
  const diff = await git(request.workspace, ['-c', 'core.quotePath=false', 'diff', '--no-color', '--no-ext-diff', '--unified=0', '-M', '--src-prefix=a/', '--dst-prefix=b/', request.base, request.head]);
  if (diff.exitCode !== 0) throw new Error(`git diff failed: ${diff.stderr.trim().split('\n').pop()}`);
  return new ChangedLines(parseUnifiedDiff(diff.stdout));
}
