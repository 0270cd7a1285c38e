import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { WorkspaceBoundary } from '@secgate/core';
import { isDockerfileName } from './dockerfiles.js';
import { walkScope } from './scope-walk.js';

/**
 * What Checkov would find under the IaC paths, found before it runs: the Helm charts (directories
 * holding a `Chart.yaml`) and whether any file of a kind Checkov checks is there at all.
 *
 * Charts matter because Checkov renders them with a `helm` binary and, without one, skips them
 * without a word (measured with 3.3.30): the adapter lists each chart as not checked instead.
 */
export interface IacSurvey {
  /** Workspace-relative chart directories (with `/`, sorted). */
  charts: string[];
  /** A Terraform file, Kubernetes manifest, Dockerfile, GitHub workflow or chart is in scope. */
  hasCheckovInput: boolean;
}

/** Directories never searched (VCS data, installed packages), as Checkov and the other scanners skip them. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', '.terraform']);
/** Bytes of a YAML file read to tell a Kubernetes manifest (apiVersion + kind at top level). */
const MANIFEST_PROBE_BYTES = 64 * 1024;

const TERRAFORM = /\.tf(\.json)?$/;
const YAML = /\.ya?ml$/;

async function isKubernetesManifest(absolute: string): Promise<boolean> {
  const handle = await open(absolute, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const buffer = Buffer.alloc(MANIFEST_PROBE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    return /^apiVersion:/m.test(text) && /^kind:/m.test(text);
  } finally {
    await handle.close();
  }
}

/**
 * Surveys `targets` (workspace-relative files or directories) leaving out `exclude` globs (a
 * pattern also covers everything below it, as in the engine). Symlinks are not followed.
 */
export async function surveyIac(workspace: string, targets: readonly string[], exclude: readonly string[]): Promise<IacSurvey> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const charts = new Set<string>();
  let hasCheckovInput = false;
  await walkScope(boundary, targets, exclude, { skippedDirs: SKIPPED_DIRS, symlinkedFiles: false, lookingFor: 'every Helm chart' }, async (relative) => {
    const name = path.posix.basename(relative);
    if (name === 'Chart.yaml') {
      charts.add(path.posix.dirname(relative));
      hasCheckovInput = true;
    }
    if (hasCheckovInput) return;
    if (TERRAFORM.test(name) || isDockerfileName(name) || (YAML.test(name) && /(^|\/)\.github\/workflows\//.test(relative))) hasCheckovInput = true;
    else if (YAML.test(name)) hasCheckovInput = await isKubernetesManifest(path.join(boundary.workspace, relative));
  });
  return { charts: [...charts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), hasCheckovInput };
}
