import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, WorkspaceBoundary } from '@secgate/core';
import { walkScope } from './scope-walk.js';

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

export function isDockerfileName(name: string): boolean {
  return DOCKERFILE_NAME.test(name) && !name.endsWith('.dockerignore');
}

/**
 * Workspace-relative paths (with `/`, sorted) of the Dockerfiles under `targets`, leaving out
 * `exclude` globs, `.git` and `node_modules`. Symlinked directories are never entered; a symlinked
 * Dockerfile counts only when its real path is a regular file inside the workspace. A target that
 * resolves outside the workspace contributes nothing.
 */
export async function findDockerfiles(workspace: string, targets: readonly string[], exclude: readonly string[]): Promise<string[]> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const found = new Set<string>();
  await walkScope(boundary, targets, exclude, { skippedDirs: SKIPPED_DIRS, symlinkedFiles: true, lookingFor: 'every Dockerfile' }, async (relative, isSymlink) => {
    if (!isDockerfileName(path.posix.basename(relative))) return;
    if (isSymlink) {
      const absolute = path.join(boundary.workspace, relative);
      if ((await boundary.realInside(absolute)) === undefined) return;
      if (!(await stat(absolute).then((info) => info.isFile(), () => false))) return;
    }
    found.add(relative);
  });
  return [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The Dockerfile whose final-stage `FROM` line image findings annotate (workspace-relative, `/`):
 * the `dockerfile` option (a regular file inside the workspace, else a ConfigurationError); without
 * it, `Dockerfile` at the workspace root when there is one, else the only Dockerfile in `found` (a list,
 * or a function listing them on demand),
 * else undefined (image findings are then reported at job level).
 */
export async function resolveDockerfileOption(
  workspace: string,
  options: Readonly<Record<string, string>>,
  found: readonly string[] | (() => Promise<readonly string[]>)
): Promise<string | undefined> {
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
  // A function: the walk for Dockerfiles happens only when neither the option nor a root Dockerfile decides.
  const candidates = typeof found === 'function' ? await found() : found;
  return candidates.length === 1 ? candidates[0] : undefined;
}
