import { lstat, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, WorkspaceBoundary } from '@secgate/core';
import { Minimatch } from 'minimatch';

/**
 * Dockerfile discovery for the container stage: which files of the scanned tree are Dockerfiles
 * (hadolint lints them; trivy and checkov scan them too; the image findings annotate one of them).
 *
 * Names, exactly as Docker, Podman and the tools' own detection use them: `Dockerfile`,
 * `Containerfile`, `<name>.Dockerfile`, `<name>.dockerfile`, `Dockerfile.<suffix>` and
 * `Containerfile.<suffix>` — except `*.dockerignore` (BuildKit's per-Dockerfile ignore file,
 * `Dockerfile.dockerignore`, is not a Dockerfile).
 */
const DOCKERFILE_NAME = /^(?:(?:Dockerfile|Containerfile)(?:\..+)?|.+\.[Dd]ockerfile)$/;

/** Directories never searched (VCS data, installed packages). */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/**
 * Bound on directory entries visited. Stopping quietly at the bound would leave Dockerfiles
 * unscanned with no word, so passing it is an error that asks for narrower paths.
 */
export const MAX_WALK_ENTRIES = 500_000;

export function isDockerfileName(name: string): boolean {
  return DOCKERFILE_NAME.test(name) && !name.endsWith('.dockerignore');
}

function excludeMatchers(patterns: readonly string[]): Minimatch[] {
  // As the engine does: a pattern also covers everything below it (`vendor` = `vendor/**`).
  return patterns.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
}

/**
 * Workspace-relative paths (with `/`, sorted) of the Dockerfiles under `targets`, leaving out
 * `exclude` globs, `.git` and `node_modules`. Symlinked directories are never entered; a symlinked
 * Dockerfile counts only when its real path is a regular file inside the workspace. A target that
 * resolves outside the workspace contributes nothing.
 */
export async function findDockerfiles(workspace: string, targets: readonly string[], exclude: readonly string[]): Promise<string[]> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const matchers = excludeMatchers(exclude);
  const isExcluded = (relative: string): boolean => matchers.some((m) => m.match(relative));
  const found = new Set<string>();
  let visited = 0;

  const consider = async (relative: string, isSymlink: boolean): Promise<void> => {
    if (!isDockerfileName(path.posix.basename(relative)) || isExcluded(relative)) return;
    const absolute = path.join(boundary.workspace, relative);
    if (isSymlink) {
      if ((await boundary.realInside(absolute)) === undefined) return;
      if (!(await stat(absolute).then((info) => info.isFile(), () => false))) return;
    }
    found.add(relative);
  };

  const walk = async (start: string): Promise<void> => {
    const pending = [start];
    while (pending.length > 0) {
      const directory = pending.pop()!;
      const entries = await readdir(path.join(boundary.workspace, directory), { withFileTypes: true }).catch(() => []);
      visited += entries.length;
      if (visited > MAX_WALK_ENTRIES) {
        throw new ConfigurationError(
          `more than ${MAX_WALK_ENTRIES} files and directories under ${targets.join(', ')}: narrow 'iac-paths' (or 'paths') or add 'exclude' patterns so every Dockerfile in scope can be found`,
          'iac-paths'
        );
      }
      for (const entry of entries) {
        const child = directory === '.' ? entry.name : `${directory}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRS.has(entry.name) && !isExcluded(child)) pending.push(child);
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          await consider(child, entry.isSymbolicLink());
        }
      }
    }
  };

  for (const target of targets.length > 0 ? targets : ['.']) {
    const absolute = path.resolve(boundary.workspace, target);
    const relative = boundary.locate(absolute);
    if (relative === undefined) continue;
    const info = await lstat(absolute).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) {
      if (relative === '.' || !isExcluded(relative)) await walk(relative);
    } else if (info.isFile() || info.isSymbolicLink()) {
      // A target that is a symlink to a directory is not entered, as below.
      await consider(relative, info.isSymbolicLink());
    }
  }
  return [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The Dockerfile whose final-stage `FROM` line image findings annotate (workspace-relative, `/`):
 * the `dockerfile` option (a regular file inside the workspace, else a ConfigurationError); without
 * it, `Dockerfile` at the workspace root when there is one, else the only Dockerfile in `found`,
 * else undefined (image findings are then reported at job level).
 */
export async function resolveDockerfileOption(workspace: string, options: Readonly<Record<string, string>>, found: readonly string[]): Promise<string | undefined> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const value = (options['dockerfile'] ?? '').trim();
  if (value !== '') {
    const absolute = await boundary.resolveSetting(value, 'dockerfile');
    const relative = boundary.locate(absolute);
    if (relative === undefined || !(await stat(absolute).then((info) => info.isFile(), () => false))) {
      throw new ConfigurationError(`'${value}' does not exist or is not a regular file`, 'dockerfile');
    }
    return relative;
  }
  const root = path.join(boundary.workspace, 'Dockerfile');
  if ((await boundary.realInside(root)) !== undefined && (await stat(root).then((info) => info.isFile(), () => false))) return 'Dockerfile';
  return found.length === 1 ? found[0] : undefined;
}
