/**
 * The container stage's options (context.options keys), read and validated in one place. Every
 * adapter of the stage reads its settings through these functions, so a bad value is the same
 * ConfigurationError (naming the input) whichever tool meets it first.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, parseList, WorkspaceBoundary, type ToolContext } from '@secgate/core';

/** What the stage can look for (`scanners` input). */
export const SCANNERS = ['vuln', 'misconfig', 'secret'] as const;
export type Scanner = (typeof SCANNERS)[number];

/** Default `trivy-db-max-age`: a week, in hours. */
export const DEFAULT_DB_MAX_AGE_HOURS = 168;

/** `scanners`: a subset of vuln, misconfig, secret (default all three); anything else is a ConfigurationError. */
export function readScanners(options: Readonly<Record<string, string>>): ReadonlySet<Scanner> {
  const given = parseList(options['scanners']).map((item) => item.toLowerCase());
  if (given.length === 0) return new Set(SCANNERS);
  const unknown = given.filter((item) => !(SCANNERS as readonly string[]).includes(item));
  if (unknown.length > 0) throw new ConfigurationError(`'${unknown[0]}' is not one of ${SCANNERS.join(', ')}`, 'scanners');
  return new Set(given as Scanner[]);
}

/** `trivy-db-max-age`: hours, a positive number (default 168). */
export function readDbMaxAgeHours(options: Readonly<Record<string, string>>): number {
  const text = (options['trivy-db-max-age'] ?? '').trim();
  if (text === '') return DEFAULT_DB_MAX_AGE_HOURS;
  const hours = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(hours) || hours <= 0) throw new ConfigurationError(`'${text}' is not a positive number of hours`, 'trivy-db-max-age');
  return hours;
}

/** Workspace-relative path with `/`, `.` for the root. */
function relativeTo(workspace: string, absolute: string): string {
  return path.relative(workspace, absolute).split(path.sep).join('/') || '.';
}

/**
 * `iac-paths`: workspace-relative paths to scan for IaC and Dockerfiles (default: the stage's
 * targets). Each must exist and resolve (real path) inside the workspace; returned normalised,
 * workspace-relative, without duplicates.
 */
export async function readIacPaths(context: Pick<ToolContext, 'workspace' | 'targets' | 'options'>): Promise<string[]> {
  const given = parseList(context.options['iac-paths']);
  const key = given.length > 0 ? 'iac-paths' : 'paths';
  const boundary = await WorkspaceBoundary.open(context.workspace);
  const result: string[] = [];
  for (const entry of given.length > 0 ? given : context.targets) {
    const absolute = await boundary.resolveSetting(entry, key);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new ConfigurationError(`'${entry}' does not exist in the workspace`, key);
    const relative = relativeTo(boundary.workspace, absolute);
    if (!result.includes(relative)) result.push(relative);
  }
  return result;
}

/** The image to scan: a tarball in the workspace (`image-tar`) or a registry reference (`image`). */
export type ImageTarget = { kind: 'tar'; path: string; absolute: string } | { kind: 'ref'; ref: string };

/** A registry reference as `docker pull` takes it; no spaces, no leading `-` (never an option to trivy). */
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/;

/**
 * `image-tar` (docker-archive or OCI layout tar, real path inside the workspace, a regular file) or
 * `image` (a reference); undefined when neither is set. Both at once is ambiguous: a ConfigurationError.
 */
export async function readImageTarget(context: Pick<ToolContext, 'workspace' | 'options'>): Promise<ImageTarget | undefined> {
  const tar = (context.options['image-tar'] ?? '').trim();
  const ref = (context.options['image'] ?? '').trim();
  if (tar !== '' && ref !== '') throw new ConfigurationError('give image or image-tar, not both', 'image-tar');
  if (ref !== '') {
    if (!IMAGE_REF.test(ref) || ref.length > 512) throw new ConfigurationError(`'${ref.slice(0, 80)}' is not an image reference (registry/name:tag or name@sha256:…)`, 'image');
    return { kind: 'ref', ref };
  }
  if (tar === '') return undefined;
  const boundary = await WorkspaceBoundary.open(context.workspace);
  const absolute = await boundary.resolveSetting(tar, 'image-tar');
  const real = await boundary.realInside(absolute);
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (!info) throw new ConfigurationError(`'${tar}' does not exist in the workspace`, 'image-tar');
  if (!info.isFile()) throw new ConfigurationError(`'${tar}' is not a file (expected a docker-archive or OCI layout tarball)`, 'image-tar');
  return { kind: 'tar', path: relativeTo(boundary.workspace, absolute), absolute: real! };
}

/** Where the vulnerability DB comes from (`trivy-db-dir`, `trivy-db-repository`, or trivy's default download). */
export type DbSource = { kind: 'dir'; dir: string } | { kind: 'repository'; repository: string } | { kind: 'default' };

/** An OCI repository reference for `--db-repository` (e.g. `mirror.example.com/aquasecurity/trivy-db:2`). */
const DB_REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;

/**
 * `trivy-db-dir` (resolved against the workspace when relative; an air-gapped runner keeps it
 * anywhere, so it may lie outside) or `trivy-db-repository`; both at once is a ConfigurationError.
 */
export function readDbSource(context: Pick<ToolContext, 'workspace' | 'options'>): DbSource {
  const dir = (context.options['trivy-db-dir'] ?? '').trim();
  const repository = (context.options['trivy-db-repository'] ?? '').trim();
  if (dir !== '' && repository !== '') throw new ConfigurationError('give trivy-db-dir or trivy-db-repository, not both', 'trivy-db-dir');
  if (dir !== '') return { kind: 'dir', dir: path.resolve(context.workspace, dir) };
  if (repository !== '') {
    if (!DB_REPOSITORY.test(repository) || repository.length > 512) throw new ConfigurationError(`'${repository.slice(0, 80)}' is not an OCI repository reference`, 'trivy-db-repository');
    return { kind: 'repository', repository };
  }
  return { kind: 'default' };
}
