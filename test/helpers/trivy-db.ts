/**
 * A trivy vulnerability DB built at test time from the real GHSA records in
 * ../shared/fixtures/advisories/ghsa, with trivy's own builder (aquasecurity/trivy-db,
 * `trivy-db build --only-update ghsa`), so image scans find real advisories offline.
 *
 * The builder reads a github/advisory-database checkout (`ghsa/advisories/github-reviewed/<id>/<id>.json`)
 * and, for Swift packages, a CocoaPods specs checkout (`cocoapods-specs/Specs`, empty here), both
 * under its `--cache-dir`; it writes `trivy.db` and `metadata.json` to `--output-dir`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from './runner.js';

/** The builder binary: SECGATE_TRIVY_DB_BUILDER, else the one the CI setup caches. */
export const TRIVY_DB_BUILDER = process.env['SECGATE_TRIVY_DB_BUILDER'] ?? path.join(os.homedir(), '.cache', 'secgate-ci', 'trivy-db', 'trivy-db');
export const HAVE_TRIVY_DB_BUILDER = existsSync(TRIVY_DB_BUILDER);
/** The real GHSA records (OSV JSON) the DB is built from. */
export const GHSA_RECORDS_DIR = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'advisories', 'ghsa');

export interface BuiltTrivyDb {
  /** Holds `trivy.db` and `metadata.json` (what `trivy-db-dir` takes). */
  dir: string;
  /** The builder's output before `metadata.json` was rewritten, and its inputs. */
  root: string;
}

export interface TrivyDbOptions {
  /** `UpdatedAt` written to metadata.json (default: now). */
  updatedAt?: Date;
  /** `NextUpdate` (default: updatedAt + 24 h, as the builder's default interval). */
  nextUpdate?: Date;
  /** Build into this directory instead of a fresh temp dir. */
  into?: string;
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve();
    });
  });
}

/** metadata.json as trivy reads it (trivy-db pkg/metadata): schema 2, zero DownloadedAt (built, not downloaded). */
export async function writeTrivyDbMetadata(dir: string, updatedAt: Date, nextUpdate: Date): Promise<void> {
  await writeFile(
    path.join(dir, 'metadata.json'),
    JSON.stringify({ Version: 2, NextUpdate: nextUpdate.toISOString(), UpdatedAt: updatedAt.toISOString(), DownloadedAt: '0001-01-01T00:00:00Z' })
  );
}

/** Builds a DB holding every GHSA record of the shared fixtures. */
export async function buildTrivyDb(options: TrivyDbOptions = {}): Promise<BuiltTrivyDb> {
  const root = options.into ?? (await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-db-')));
  const sources = path.join(root, 'sources');
  const reviewed = path.join(sources, 'ghsa', 'advisories', 'github-reviewed');
  await mkdir(path.join(sources, 'cocoapods-specs', 'Specs'), { recursive: true });
  for (const file of (await readdir(GHSA_RECORDS_DIR)).filter((f) => f.endsWith('.json'))) {
    const id = path.basename(file, '.json');
    await mkdir(path.join(reviewed, id), { recursive: true });
    await copyFile(path.join(GHSA_RECORDS_DIR, file), path.join(reviewed, id, file));
  }
  const out = path.join(root, 'out');
  await run(TRIVY_DB_BUILDER, ['build', '--only-update', 'ghsa', '--cache-dir', sources, '--output-dir', out]);
  const updatedAt = options.updatedAt ?? new Date();
  await writeTrivyDbMetadata(out, updatedAt, options.nextUpdate ?? new Date(updatedAt.getTime() + 24 * 3_600_000));
  return { dir: out, root };
}
