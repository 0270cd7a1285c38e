import { lstat, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, type WorkspaceBoundary } from '@secgate/core';
import { Minimatch } from 'minimatch';

/** Bound on directory entries visited; passing it is an error, never a quiet partial walk. */
export const MAX_WALK_ENTRIES = 500_000;

export interface ScopeWalk {
  /** Directory names never entered (VCS data, installed packages). */
  skippedDirs: ReadonlySet<string>;
  /** Hand symlinked files to `visit` too (flagged); symlinked directories are never entered. */
  symlinkedFiles: boolean;
  /** What the walk looks for, for the bound's error ("every Dockerfile"). */
  lookingFor: string;
}

/**
 * Calls `visit` for every file under `targets` (workspace-relative files or directories) that no
 * `exclude` glob covers (a pattern also covers everything below it, as in the engine). Targets
 * outside the workspace contribute nothing. The walk is bounded by MAX_WALK_ENTRIES.
 */
export async function walkScope(
  boundary: WorkspaceBoundary,
  targets: readonly string[],
  exclude: readonly string[],
  walk: ScopeWalk,
  visit: (relative: string, isSymlink: boolean) => Promise<void>
): Promise<void> {
  const matchers = exclude.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
  const isExcluded = (relative: string): boolean => matchers.some((m) => m.match(relative));
  const isCandidate = (info: { isFile(): boolean; isSymbolicLink(): boolean }): boolean => info.isFile() || (walk.symlinkedFiles && info.isSymbolicLink());
  let visited = 0;
  const descend = async (start: string): Promise<void> => {
    const pending = [start];
    while (pending.length > 0) {
      const directory = pending.pop()!;
      const entries = await readdir(path.join(boundary.workspace, directory), { withFileTypes: true }).catch(() => []);
      visited += entries.length;
      if (visited > MAX_WALK_ENTRIES) {
        throw new ConfigurationError(
          `more than ${MAX_WALK_ENTRIES} files and directories under ${targets.join(', ')}: narrow 'iac-paths' (or 'paths') or add 'exclude' patterns so ${walk.lookingFor} in scope can be found`,
          'iac-paths'
        );
      }
      for (const entry of entries) {
        const child = directory === '.' ? entry.name : `${directory}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!walk.skippedDirs.has(entry.name) && !isExcluded(child)) pending.push(child);
        } else if (isCandidate(entry) && !isExcluded(child)) {
          await visit(child, entry.isSymbolicLink());
        }
      }
    }
  };
  for (const target of targets.length > 0 ? targets : ['.']) {
    const relative = boundary.locate(path.resolve(boundary.workspace, target));
    if (relative === undefined) continue;
    const info = await lstat(path.join(boundary.workspace, relative)).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      if (relative === '.' || !isExcluded(relative)) await descend(relative);
    } else if (isCandidate(info) && !isExcluded(relative)) {
      // A target that is a symlink to a directory is not entered, as below.
      await visit(relative, info.isSymbolicLink());
    }
  }
}
