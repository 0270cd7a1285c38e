/**
 * osv-scanner's offline vulnerability database, built at test time from the real advisory records of
 * `../shared/fixtures/advisories/` (osv-records.ts): `<dir>/osv-scalibr/<Ecosystem>/all.zip`, one `<id>.json`
 * per record — the layout of osv.dev's per-ecosystem export that osv-scanner reads from
 * `OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY`. Nothing is written into the repository.
 *
 * Names: osv-scanner 2.6.0 compares package names case-sensitively offline, and the PYSEC/GHSA files name
 * some PyPI packages as published (`PyYAML`, `Pillow`); osv.dev's API compares them normalised. The PyPI
 * names in the zip are PEP 503-normalised so the offline scan sees what the API would (measured: without
 * it, pyyaml 5.3.1 and pillow 9.0.0 were missed).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadAdvisories, normalisePackageName, type AdvisoryIndex, type OsvRecord } from './osv-records.js';

export interface OfflineDb {
  /** The value for OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY (and secgate's `osv-offline-db` input). */
  dir: string;
  /** Records written per ecosystem. */
  counts: Record<string, number>;
}

/** The record restricted to `ecosystem`'s affected entries, PyPI names normalised; undefined when none is left. */
function forEcosystem(record: OsvRecord, ecosystem: string): OsvRecord | undefined {
  const affected = (record.affected ?? []).filter((a) => a.package?.ecosystem === ecosystem);
  if (affected.length === 0) return undefined;
  return {
    ...record,
    affected: affected.map((a) => ({ ...a, package: { ...a.package!, name: normalisePackageName(ecosystem, a.package!.name) } }))
  };
}

/** Writes one deterministic zip (python's zipfile: no extra tool, and python is needed for the Python tools anyway). */
function writeZip(zipFile: string, sourceDir: string): void {
  execFileSync(
    'python3',
    [
      '-c',
      [
        'import os, sys, zipfile',
        'src, out = sys.argv[1], sys.argv[2]',
        'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:',
        '    for name in sorted(os.listdir(src)):',
        '        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))',
        '        info.compress_type = zipfile.ZIP_DEFLATED',
        '        z.writestr(info, open(os.path.join(src, name), "rb").read())'
      ].join('\n'),
      sourceDir,
      zipFile
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] }
  );
}

/**
 * Builds the database for `ecosystems` (default PyPI) under a new temp directory (or `dir`). An
 * ecosystem with no record still gets a zip (a real, empty export): osv-scanner needs one for every
 * ecosystem it sees. Leave an ecosystem out to provoke its "no offline version" error.
 */
export async function buildOfflineDb(options: { ecosystems?: string[]; dir?: string; index?: AdvisoryIndex } = {}): Promise<OfflineDb> {
  const index = options.index ?? loadAdvisories();
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'secgate-osv-db-')));
  const counts: Record<string, number> = {};
  for (const ecosystem of options.ecosystems ?? ['PyPI']) {
    const staging = await mkdtemp(path.join(os.tmpdir(), 'secgate-osv-records-'));
    let written = 0;
    for (const record of index.records) {
      const scoped = forEcosystem(record, ecosystem);
      if (!scoped) continue;
      await writeFile(path.join(staging, `${record.id}.json`), JSON.stringify(scoped));
      written++;
    }
    const target = path.join(dir, 'osv-scalibr', ecosystem);
    await mkdir(target, { recursive: true });
    try {
      writeZip(path.join(target, 'all.zip'), staging);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    counts[ecosystem] = written;
  }
  return { dir, counts };
}
