import { lstat, open, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, WorkspaceBoundary } from '@secgate/core';
import { Minimatch } from 'minimatch';
import { isDockerfileName } from './dockerfiles.js';

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
/** Bound on directory entries visited; passing it is an error, never a quiet partial survey. */
export const MAX_SURVEY_ENTRIES = 500_000;
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
  const matchers = exclude.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
  const isExcluded = (relative: string): boolean => matchers.some((m) => m.match(relative));
  const charts = new Set<string>();
  let hasCheckovInput = false;
  let visited = 0;

  const consider = async (relative: string): Promise<void> => {
    if (isExcluded(relative)) return;
    const name = path.posix.basename(relative);
    if (name === 'Chart.yaml') {
      charts.add(path.posix.dirname(relative));
      hasCheckovInput = true;
    }
    if (hasCheckovInput) return;
    if (TERRAFORM.test(name) || isDockerfileName(name) || (YAML.test(name) && /(^|\/)\.github\/workflows\//.test(relative))) hasCheckovInput = true;
    else if (YAML.test(name)) hasCheckovInput = await isKubernetesManifest(path.join(boundary.workspace, relative));
  };

  const walk = async (start: string): Promise<void> => {
    const pending = [start];
    while (pending.length > 0) {
      const directory = pending.pop()!;
      const entries = await readdir(path.join(boundary.workspace, directory), { withFileTypes: true }).catch(() => []);
      visited += entries.length;
      if (visited > MAX_SURVEY_ENTRIES) {
        throw new ConfigurationError(
          `more than ${MAX_SURVEY_ENTRIES} files and directories under ${targets.join(', ')}: narrow 'iac-paths' (or 'paths') or add 'exclude' patterns so every Helm chart in scope can be found`,
          'iac-paths'
        );
      }
      for (const entry of entries) {
        const child = directory === '.' ? entry.name : `${directory}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRS.has(entry.name) && !isExcluded(child)) pending.push(child);
        } else if (entry.isFile()) {
          await consider(child);
        }
      }
    }
  };

  for (const target of targets.length > 0 ? targets : ['.']) {
    const relative = boundary.locate(path.resolve(boundary.workspace, target));
    if (relative === undefined) continue;
    const info = await lstat(path.join(boundary.workspace, relative)).catch(() => undefined);
    if (info?.isDirectory()) {
      if (relative === '.' || !isExcluded(relative)) await walk(relative);
    } else if (info?.isFile()) {
      await consider(relative);
    }
  }
  return { charts: [...charts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), hasCheckovInput };
}
