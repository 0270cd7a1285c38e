/**
 * The real advisory records in `../shared/fixtures/advisories/` (PYSEC YAML from pypa/advisory-database, GHSA JSON from
 * github/advisory-database), loaded at run time as OSV JSON objects. They are never copied into this repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as pep440 from '@renovatebot/pep440';
import semver from 'semver';
import { REPO_ROOT } from './runner.js';

export const ADVISORIES_DIR = path.resolve(process.env['SECGATE_ADVISORIES_DIR'] ?? path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'advisories'));

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvAffected {
  package?: { name: string; ecosystem: string; purl?: string };
  ranges?: { type: string; events: OsvEvent[] }[];
  versions?: string[];
  severity?: { type: string; score: string }[];
  database_specific?: Record<string, unknown>;
  ecosystem_specific?: Record<string, unknown>;
}

/** An OSV record as served by the OSV API; every other field of the source record is kept as is. */
export interface OsvRecord {
  id: string;
  modified: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  severity?: { type: string; score: string }[];
  affected?: OsvAffected[];
  database_specific?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface AdvisoryIndex {
  records: OsvRecord[];
  /** By record id. */
  byId: Map<string, OsvRecord>;
  /** By every id a record carries (its own id and its aliases) → the records carrying it. */
  byAlias: Map<string, OsvRecord[]>;
  /** By `<ecosystem>:<normalised name>` → the records with an `affected[]` entry for that package. */
  byPackage: Map<string, OsvRecord[]>;
  /** The records affecting `name@version` in `ecosystem`, as the OSV API's `/v1/query` would answer. */
  query(ecosystem: string, name: string, version?: string): OsvRecord[];
}

/** PEP 503 for PyPI (osv.dev compares PyPI names normalised); other ecosystems compare names as given. */
export function normalisePackageName(ecosystem: string, name: string): string {
  return ecosystem === 'PyPI' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

function packageKey(ecosystem: string, name: string): string {
  return `${ecosystem}:${normalisePackageName(ecosystem, name)}`;
}

interface VersionScheme {
  valid(version: string): boolean;
  compare(a: string, b: string): number;
}

const PEP440: VersionScheme = { valid: (v) => pep440.valid(v) !== null, compare: (a, b) => pep440.compare(a, b) };
const SEMVER: VersionScheme = { valid: (v) => semver.valid(v) !== null, compare: (a, b) => semver.compare(a, b) };

function schemeFor(ecosystem: string): VersionScheme | undefined {
  if (ecosystem === 'PyPI') return PEP440;
  if (ecosystem === 'npm') return SEMVER;
  return undefined;
}

/**
 * OSV range evaluation (https://ossf.github.io/osv-schema/#evaluation): ECOSYSTEM/SEMVER events sorted by version,
 * `introduced` opens, `fixed` (>=) and `last_affected` (>) close. GIT ranges need commits and are ignored, as the
 * API does for a version query. The explicit `versions[]` list also counts (osv.dev matches either).
 */
export function affectsVersion(affected: OsvAffected, ecosystem: string, version: string): boolean {
  const scheme = schemeFor(ecosystem);
  const listed = (affected.versions ?? []).some((v) => v === version || (scheme !== undefined && scheme.valid(v) && scheme.valid(version) && scheme.compare(v, version) === 0));
  if (listed) return true;
  if (!scheme || !scheme.valid(version)) return false;
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
    const eventVersion = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0';
    const events = range.events
      .filter((e) => e.limit === undefined)
      .filter((e) => eventVersion(e) === '0' || scheme.valid(eventVersion(e)))
      .sort((a, b) => {
        const va = eventVersion(a);
        const vb = eventVersion(b);
        if (va === '0' || vb === '0') return va === vb ? 0 : va === '0' ? -1 : 1;
        return scheme.compare(va, vb);
      });
    let inRange = false;
    for (const e of events) {
      if (e.introduced !== undefined && (e.introduced === '0' || scheme.compare(version, e.introduced) >= 0)) inRange = true;
      if (e.fixed !== undefined && scheme.compare(version, e.fixed) >= 0) inRange = false;
      if (e.last_affected !== undefined && scheme.compare(version, e.last_affected) > 0) inRange = false;
    }
    if (inRange) return true;
  }
  return false;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

/** One record file → OSV JSON. PYSEC YAML is read with the failsafe schema so `1.10` stays the string "1.10". */
export function readRecordFile(file: string): OsvRecord {
  const text = fs.readFileSync(file, 'utf8');
  const value: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { schema: 'failsafe' });
  if (typeof value !== 'object' || value === null || typeof (value as { id?: unknown }).id !== 'string') {
    throw new Error(`${file}: not an OSV record (no id)`);
  }
  return value as OsvRecord;
}

let cached: AdvisoryIndex | undefined;

/** Loads every record under `dir` (cached per process for the default directory). Throws when the directory is missing. */
export function loadAdvisories(dir: string = ADVISORIES_DIR): AdvisoryIndex {
  if (dir === ADVISORIES_DIR && cached) return cached;
  if (!fs.existsSync(dir)) throw new Error(`advisory fixtures not found at ${dir} (expected ../shared/fixtures/advisories beside the repository)`);
  const records = listFiles(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map(readRecordFile);
  const byId = new Map<string, OsvRecord>();
  const byAlias = new Map<string, OsvRecord[]>();
  const byPackage = new Map<string, OsvRecord[]>();
  const push = (map: Map<string, OsvRecord[]>, key: string, record: OsvRecord): void => {
    const list = map.get(key) ?? [];
    if (!list.includes(record)) list.push(record);
    map.set(key, list);
  };
  for (const record of records) {
    if (byId.has(record.id)) throw new Error(`duplicate advisory id ${record.id}`);
    byId.set(record.id, record);
    for (const id of [record.id, ...(record.aliases ?? [])]) push(byAlias, id, record);
    for (const affected of record.affected ?? []) {
      if (affected.package) push(byPackage, packageKey(affected.package.ecosystem, affected.package.name), record);
    }
  }
  const index: AdvisoryIndex = {
    records,
    byId,
    byAlias,
    byPackage,
    query(ecosystem, name, version) {
      const candidates = byPackage.get(packageKey(ecosystem, name)) ?? [];
      return candidates.filter((record) =>
        (record.affected ?? []).some(
          (a) =>
            a.package !== undefined &&
            packageKey(a.package.ecosystem, a.package.name) === packageKey(ecosystem, name) &&
            (version === undefined || affectsVersion(a, ecosystem, version))
        )
      );
    }
  };
  if (dir === ADVISORIES_DIR) cached = index;
  return index;
}

/** The record with this id; throws (naming it) when the fixtures hold none, so tests never assert on a missing record. */
export function advisory(id: string, index: AdvisoryIndex = loadAdvisories()): OsvRecord {
  const record = index.byId.get(id);
  if (!record) throw new Error(`no advisory ${id} in ${ADVISORIES_DIR}`);
  return record;
}
