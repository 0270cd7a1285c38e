/**
 * Trivy's vulnerability DB: where it comes from, where it lives, and whether it is fresh enough to
 * trust. A DB that is missing, unreadable or older than `trivy-db-max-age` is a named error, never
 * "0 vulnerabilities".
 *
 * Sources (options.ts `readDbSource`):
 * - `trivy-db-dir`: a directory holding `trivy.db` and `metadata.json` (air-gapped runners). It is
 *   linked into `<workDir>/cache/db/` and trivy runs with `--cache-dir <workDir>/cache --skip-db-update`,
 *   so trivy never writes next to the user's copy and never downloads.
 * - `trivy-db-repository`: trivy downloads from that OCI repository (`--db-repository`) into a
 *   per-repository directory of the secgate cache.
 * - default: trivy's own download, into the secgate cache (`trivyCacheDir()`), which the action
 *   persists across runs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, stat, symlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, ToolFailureError, type PersistentData, type ToolContext } from '@secgate/core';
import { readDbMaxAgeHours, readDbSource, type DbSource } from './options.js';

const TOOL = 'trivy';
/** The DB schema trivy 0.74 reads (trivy-db `db.SchemaVersion`). */
export const TRIVY_DB_SCHEMA_VERSION = 2;
const HOUR_MS = 3_600_000;

/**
 * The directory secgate keeps downloaded trivy DBs in (persisted across runs by the action):
 * `SECGATE_TRIVY_CACHE_DIR`, else `<RUNNER_TOOL_CACHE or the OS temp dir>/secgate-trivy`.
 */
export function trivyCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = (env['SECGATE_TRIVY_CACHE_DIR'] ?? '').trim();
  if (explicit !== '') return path.resolve(explicit);
  const base = (env['RUNNER_TOOL_CACHE'] ?? '').trim() || os.tmpdir();
  return path.join(path.resolve(base), 'secgate-trivy');
}

/** `metadata.json` next to `trivy.db` (trivy-db `metadata.Metadata`). */
export interface DbMetadata {
  version: number;
  updatedAt: Date;
  nextUpdate: Date;
  /** Zero time (`0001-01-01T00:00:00Z`) when the DB was built locally, not downloaded: undefined then. */
  downloadedAt?: Date;
}

/** RFC 3339 as Go writes it (`time.Time` JSON): date, time, optional fraction, `Z` or an offset. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

function fail(file: string, problem: string): never {
  throw new ToolFailureError(TOOL, `vulnerability DB metadata ${file} ${problem}`);
}

function readTime(value: unknown, key: string, file: string): Date {
  if (typeof value !== 'string' || !RFC3339.test(value)) fail(file, `has ${key} ${value === undefined ? 'missing' : JSON.stringify(value).slice(0, 40)}, expected an RFC 3339 time`);
  // JavaScript keeps milliseconds: drop the rest of Go's nanoseconds before parsing.
  const date = new Date(value.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(date.getTime())) fail(file, `has ${key} ${JSON.stringify(value)}, not a valid time`);
  return date;
}

/** Reads `metadata.json` strictly: each of Version, UpdatedAt, NextUpdate, DownloadedAt present and well-formed. */
export function parseDbMetadata(text: string, file: string): DbMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail(file, 'is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, 'is not a JSON object');
  const meta = value as Record<string, unknown>;
  const version = meta['Version'];
  if (typeof version !== 'number' || !Number.isInteger(version)) fail(file, `has Version ${JSON.stringify(version) ?? 'missing'}, expected an integer`);
  if (version !== TRIVY_DB_SCHEMA_VERSION) fail(file, `has schema Version ${version}; trivy 0.74 reads version ${TRIVY_DB_SCHEMA_VERSION}`);
  const downloaded = meta['DownloadedAt'];
  return {
    version,
    updatedAt: readTime(meta['UpdatedAt'], 'UpdatedAt', file),
    nextUpdate: readTime(meta['NextUpdate'], 'NextUpdate', file),
    ...(downloaded === GO_ZERO_TIME ? {} : { downloadedAt: readTime(downloaded, 'DownloadedAt', file) })
  };
}

/** `2026-11-26 07:40 UTC` */
export function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How old the DB is, in whole hours (never negative: a clock a little behind the builder's is 0 h). */
export function dbAgeHours(meta: DbMetadata, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - meta.updatedAt.getTime()) / HOUR_MS));
}

/** The summary line: "vulnerability DB updated <UTC>, <N> h old, next update <UTC>, source <…>". */
export function dbFact(meta: DbMetadata, source: DbSource, now: Date): string {
  const where = source.kind === 'dir' ? 'dir' : source.kind === 'repository' ? `repository ${source.repository}` : 'default';
  return `vulnerability DB updated ${utc(meta.updatedAt)}, ${dbAgeHours(meta, now)} h old, next update ${utc(meta.nextUpdate)}, source ${where}`;
}

/** Throws a ToolFailureError when the DB is older than `maxAgeHours` (or updated in the future). */
export function checkDbAge(meta: DbMetadata, maxAgeHours: number, now: Date, origin: string): void {
  const ageMs = now.getTime() - meta.updatedAt.getTime();
  // A DB dated more than a day ahead of this clock is garbled or forged, not fresh.
  if (ageMs < -24 * HOUR_MS) {
    throw new ToolFailureError(TOOL, `vulnerability DB (${origin}) says it was updated ${utc(meta.updatedAt)}, after now (${utc(now)}): its metadata cannot be trusted`);
  }
  if (ageMs > maxAgeHours * HOUR_MS) {
    throw new ToolFailureError(
      TOOL,
      `vulnerability DB (${origin}) is too old: updated ${utc(meta.updatedAt)}, ${Math.floor(ageMs / HOUR_MS)} h ago, more than trivy-db-max-age ${maxAgeHours} h. ` +
        'Refresh it (a newer trivy-db-dir, or let the download run), or raise trivy-db-max-age deliberately'
    );
  }
}

/** Reads and checks `<dbDir>/metadata.json` synchronously (used after trivy downloaded a DB). */
export function readDbMetadataFile(file: string): DbMetadata {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ToolFailureError(TOOL, `vulnerability DB unavailable: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseDbMetadata(text, file);
}

/** What the image invocation needs for the DB: trivy arguments and where the metadata is checked. */
export interface DbPlan {
  source: DbSource;
  /** `--cache-dir …` and `--skip-db-update` or `--db-repository …`. */
  args: string[];
  /** `<cache-dir>/db/metadata.json`: read after the run (downloads) or already read (dir). */
  metadataFile: string;
  maxAgeHours: number;
  /** Set for `trivy-db-dir`: checked before trivy runs. */
  metadata?: DbMetadata;
}

async function regularFile(file: string, key: string, what: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new ConfigurationError(`${what} ${file} does not exist (expected trivy.db and metadata.json in the directory)`, key);
  if (!info.isFile()) throw new ConfigurationError(`${what} ${file} is not a file`, key);
}

/** Where trivy keeps a downloaded DB of `source`: one directory per source, so a DB from a mirror is never taken for the default one, or the reverse. */
export function downloadCacheDir(source: Exclude<DbSource, { kind: 'dir' }>, env: NodeJS.ProcessEnv = process.env): string {
  const root = trivyCacheDir(env);
  return source.kind === 'repository' ? path.join(root, `repository-${createHash('sha256').update(source.repository).digest('hex').slice(0, 16)}`) : path.join(root, 'default');
}

/**
 * The downloaded DB as Actions-cache data: one entry per source and UTC day (as trivy-action keys
 * it), falling back to the newest older day; trivy then updates it only when its NextUpdate has
 * passed. A `trivy-db-dir` is the user's own and is never cached.
 */
export function dbPersistentData(source: DbSource, now: Date, env: NodeJS.ProcessEnv = process.env): PersistentData[] {
  if (source.kind === 'dir') return [];
  const dir = downloadCacheDir(source, env);
  const prefix = `secgate-trivy-db-${path.basename(dir)}-`;
  return [{ dir, key: `${prefix}${now.toISOString().slice(0, 10)}`, restorePrefix: prefix }];
}

/**
 * Plans the DB for an image scan. For `trivy-db-dir` the directory is checked now (files present,
 * metadata strict, age within `trivy-db-max-age`) and linked into `<workDir>/cache/db/`.
 */
export async function planDb(context: Pick<ToolContext, 'workspace' | 'options' | 'workDir'>, now: Date = new Date(), env: NodeJS.ProcessEnv = process.env): Promise<DbPlan> {
  const source = readDbSource(context);
  const maxAgeHours = readDbMaxAgeHours(context.options);
  if (source.kind === 'dir') {
    const info = await stat(source.dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new ConfigurationError(`${source.dir} is not a directory (expected one holding trivy.db and metadata.json)`, 'trivy-db-dir');
    const db = path.join(source.dir, 'trivy.db');
    const metadataPath = path.join(source.dir, 'metadata.json');
    await regularFile(db, 'trivy-db-dir', 'the vulnerability DB');
    await regularFile(metadataPath, 'trivy-db-dir', 'the DB metadata');
    const metadata = readDbMetadataFile(metadataPath);
    checkDbAge(metadata, maxAgeHours, now, `trivy-db-dir ${source.dir}`);
    const cache = path.join(context.workDir, 'cache');
    await mkdir(path.join(cache, 'db'), { recursive: true });
    await symlink(db, path.join(cache, 'db', 'trivy.db'));
    await symlink(metadataPath, path.join(cache, 'db', 'metadata.json'));
    return { source, args: ['--cache-dir', cache, '--skip-db-update'], metadataFile: metadataPath, maxAgeHours, metadata };
  }
  const cache = downloadCacheDir(source, env);
  await mkdir(cache, { recursive: true });
  return {
    source,
    args: ['--cache-dir', cache, ...(source.kind === 'repository' ? ['--db-repository', source.repository] : [])],
    metadataFile: path.join(cache, 'db', 'metadata.json'),
    maxAgeHours
  };
}

/** Trivy's words when it could not fetch the DB (pkg/db, pkg/commands/operation). */
const DB_DOWNLOAD_FAILURE = /failed to download (the )?vulnerability DB|DB download error|OCI repository error|failed to download artifact|db download|init error: DB error/i;

/** True when trivy's stderr says the vulnerability DB could not be downloaded or opened. */
export function isDbUnavailable(stderr: string): boolean {
  return DB_DOWNLOAD_FAILURE.test(stderr);
}
