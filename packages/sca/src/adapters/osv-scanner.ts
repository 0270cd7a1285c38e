import { access, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as pep440 from '@renovatebot/pep440';
import { PackageURL } from 'packageurl-js';
import semver from 'semver';
import {
  ConfigurationError,
  normalisePackageName,
  parseJsonReport,
  parseList,
  ReportReader,
  severityRank,
  unknownSeverityOption,
  type ExitMeaning,
  type FindingLocation,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import { discoverPythonManifests, locateDeclaration, readDeclarations, type Declaration, type Manifest } from '../manifests.js';
import { DEFAULT_OSV_URL, parseOsvUrl, readOsvRecord } from '../osv/client.js';
import { GHSA_SEVERITY, severityFromOsv, type OsvRecord } from '../osv/severity.js';
import { findNpmProjects } from './npm-audit.js';

/**
 * osv-scanner v2 (https://google.github.io/osv-scanner/): known vulnerabilities of the packages in
 * lockfiles of several ecosystems, matched against OSV.dev — online (the OSV API) or offline
 * (`osv-offline-db`, the per-ecosystem exports).
 *
 * Scope: the manifests in scope are passed explicitly (`-L`), never a recursive walk, so `paths`,
 * `exclude` and `manifests` mean the same as for pip-audit and npm audit: requirements files,
 * poetry.lock, uv.lock, Pipfile.lock (PyPI) and package-lock.json / npm-shrinkwrap.json (npm).
 * pyproject.toml is pip-audit's (osv-scanner 2.6.0 has no extractor for it). Nothing in scope is
 * "not applicable" (a default run goes on), as is osv-scanner's own "no packages" (exit 128).
 *
 * Severity: osv-scanner gives none of its own; each alias group's records are rated by
 * `severityFromOsv` (CVSS v3/v4 vector, else GitHub's word, else `unknown-severity`, shown as the
 * basis) and the highest wins.
 *
 * `osv-url`: osv-scanner 2.6.0 always queries https://api.osv.dev (no flag, variable or config
 * key changes it), so with another `osv-url` and no `osv-offline-db` it cannot honour the setting
 * and is skipped (a named error), never run against the public service behind the user's back.
 *
 * The repository's own `osv-scanner.toml` is not read (an empty config is passed): its ignores
 * would drop vulnerabilities silently; secgate's exception ledger (with expiry) is the place.
 */
export const OSV_SCANNER_SEVERITY: Readonly<Record<string, Severity>> = GHSA_SEVERITY;

const TOOL = 'osv-scanner';
const VERSION = '2.6.0';
const reader = new ReportReader(TOOL);

/** npm lockfiles osv-scanner reads (npm-shrinkwrap.json has package-lock.json's format). */
const NPM_LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json']);

/** One lockfile/manifest passed to osv-scanner. */
export interface OsvScannerTarget {
  /** Workspace-relative, with `/`. */
  path: string;
  ecosystem: 'PyPI' | 'npm';
  /** `-L <parseAs>:<path>` for names osv-scanner would not recognise (requirements/base.txt). */
  parseAs?: string;
}

/** The manifests in scope that osv-scanner reads. Python ones come from manifests.ts, npm lockfiles from npm audit's discovery. */
export async function osvScannerTargets(context: Pick<ToolContext, 'workspace' | 'targets' | 'exclude' | 'options'>): Promise<OsvScannerTarget[]> {
  const named = parseList(context.options['manifests']);
  const pythonNamed = named.filter((file) => !NPM_LOCKFILES.has(path.posix.basename(file)));
  const python: Manifest[] =
    named.length > 0 && pythonNamed.length === 0 ? [] : await discoverPythonManifests(context.workspace, context.targets, context.exclude, named.length > 0 ? pythonNamed : undefined);
  const npm = (await findNpmProjects(context)).flatMap((project) => (project.lockfile ? [project.lockfile] : []));
  return [
    ...python
      .filter((m) => m.kind !== 'pyproject')
      .map((m): OsvScannerTarget => ({
        path: m.path,
        ecosystem: 'PyPI',
        // osv-scanner recognises requirements*.txt by name; requirements/<x>.txt needs saying.
        ...(m.kind === 'requirements' && !/^requirements.*\.txt$/i.test(path.posix.basename(m.path)) ? { parseAs: 'requirements.txt' } : {})
      })),
    ...npm.map((file): OsvScannerTarget => ({ path: file, ecosystem: 'npm' }))
  ];
}

/** `osv-offline-db` resolved against the workspace; a directory in osv-scanner's layout (`osv-scalibr/<Ecosystem>/all.zip`). */
export async function offlineDatabase(context: Pick<ToolContext, 'workspace' | 'options'>): Promise<string | undefined> {
  const value = (context.options['osv-offline-db'] ?? '').trim();
  if (value === '') return undefined;
  const dir = path.resolve(context.workspace, value);
  const info = await stat(path.join(dir, 'osv-scalibr')).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ConfigurationError(`'${value}' is not an osv-scanner offline database (expected ${path.join(value, 'osv-scalibr', '<Ecosystem>', 'all.zip')})`, 'osv-offline-db');
  }
  return dir;
}

/** The ecosystems of `targets` with no `all.zip` in the offline database (osv-scanner would stop with exit 127). */
async function missingEcosystems(dir: string, targets: readonly OsvScannerTarget[]): Promise<string[]> {
  const needed = [...new Set(targets.map((t) => t.ecosystem))];
  const missing: string[] = [];
  for (const ecosystem of needed) {
    const ok = await access(path.join(dir, 'osv-scalibr', ecosystem, 'all.zip')).then(
      () => true,
      () => false
    );
    if (!ok) missing.push(ecosystem);
  }
  return missing;
}

function unknownSeverity(context: Pick<ToolContext, 'options'>): Severity {
  return unknownSeverityOption(context.options);
}

// ---------------------------------------------------------------------------------------------
// Report

const PURL_TYPES: Readonly<Record<string, string>> = { PyPI: 'pypi', npm: 'npm', Go: 'golang', 'crates.io': 'cargo', RubyGems: 'gem', NuGet: 'nuget', Packagist: 'composer', Pub: 'pub', Hex: 'hex' };

function purlOf(ecosystem: string, name: string, version: string | undefined): string | undefined {
  const type = PURL_TYPES[ecosystem];
  if (!type) return undefined;
  const slash = name.lastIndexOf('/');
  const scoped = (type === 'npm' || type === 'golang' || type === 'composer') && slash > 0;
  try {
    return new PackageURL(type, scoped ? name.slice(0, slash) : undefined, scoped ? name.slice(slash + 1) : name, version || undefined, undefined, undefined).toString();
  } catch {
    return undefined;
  }
}

/** Name as secgate keys it: PEP 503 for PyPI, as given elsewhere. */
function packageName(ecosystem: string, name: string): string {
  return normalisePackageName(name, ecosystem);
}

function compareVersions(ecosystem: string, a: string, b: string): number | undefined {
  if (ecosystem === 'PyPI') return pep440.valid(a) && pep440.valid(b) ? pep440.compare(a, b) : undefined;
  if (ecosystem === 'npm') return semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : undefined;
  return undefined;
}

/**
 * The `fixed` versions a record gives for this package, and the first one above `version` (the
 * upgrade that fixes it; undefined when none is, or versions cannot be compared).
 */
function fixesOf(record: OsvRecord, ecosystem: string, name: string, version: string): { fixed: string[]; upgrade?: string; comparable: boolean } {
  const fixed = new Set<string>();
  for (const affected of record.affected ?? []) {
    if (!affected.package || affected.package.ecosystem !== ecosystem || packageName(ecosystem, affected.package.name) !== packageName(ecosystem, name)) continue;
    for (const range of affected.ranges ?? []) {
      if (range.type === 'GIT') continue;
      for (const event of range.events) if (typeof event['fixed'] === 'string') fixed.add(event['fixed']);
    }
  }
  let upgrade: string | undefined;
  let comparable = true;
  for (const candidate of fixed) {
    const order = compareVersions(ecosystem, candidate, version);
    if (order === undefined) {
      comparable = false;
      continue;
    }
    if (order > 0 && (upgrade === undefined || (compareVersions(ecosystem, candidate, upgrade) ?? 0) < 0)) upgrade = candidate;
  }
  return { fixed: [...fixed], upgrade, comparable };
}

export interface OsvScannerParseOptions {
  unknownSeverity: Severity;
  /** Absolute workspace path: source paths are made relative to it and manifest lines looked up. */
  workspace?: string;
  /** The manifests passed to osv-scanner (adds `unchecked` for declared pinned packages it did not report). */
  targets?: readonly OsvScannerTarget[];
}

interface Group {
  ids: string[];
  aliases: string[];
}

function readGroups(value: unknown, where: string): Group[] {
  if (value === undefined) return [];
  return reader.each(value, where, (item, at) => {
    const group = reader.object(item, at);
    const ids = reader.each(group['ids'], `${at}.ids`, (id, idAt) => reader.word(id, idAt));
    if (ids.length === 0) reader.fail(`${at}.ids`, 'is empty');
    // `aliases` is null when the group has none (results-some.json).
    const aliases = group['aliases'] === null || group['aliases'] === undefined ? [] : reader.each(group['aliases'], `${at}.aliases`, (a, aAt) => reader.word(a, aAt));
    return { ids, aliases };
  });
}

/** The workspace-relative form of a source path osv-scanner printed (absolute for `-L` files), or the path as given. */
function relativeSource(workspace: string | undefined, sourcePath: string): string {
  if (!workspace || !path.isAbsolute(sourcePath)) return sourcePath;
  const relative = path.relative(workspace, sourcePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? sourcePath : relative.split(path.sep).join('/');
}

function vulnerabilityFinding(
  pkg: { name: string; version: string; ecosystem: string },
  records: OsvRecord[],
  aliases: readonly string[],
  location: FindingLocation | undefined,
  options: OsvScannerParseOptions,
  note: string | undefined
): RawFinding {
  const ids = [...new Set([...records.map((r) => r.id), ...records.flatMap((r) => r.aliases ?? []), ...aliases])].sort();
  let best: { severity: Severity; basis: string; id: string } | undefined;
  for (const record of records) {
    const verdict = severityFromOsv(record, options.unknownSeverity);
    if (!best || severityRank(verdict.severity) > severityRank(best.severity)) best = { ...verdict, id: record.id };
  }
  const fixes = records.map((r) => fixesOf(r, pkg.ecosystem, pkg.name, pkg.version));
  const fixedVersions = [...new Set(fixes.flatMap((f) => f.fixed))].sort((a, b) => compareVersions(pkg.ecosystem, a, b) ?? a.localeCompare(b));
  // Every record of the group must be fixed: the highest of their first fixes above the installed version.
  const upgrade = fixes.every((f) => f.upgrade !== undefined)
    ? fixes.map((f) => f.upgrade!).reduce((a, b) => ((compareVersions(pkg.ecosystem, a, b) ?? 0) >= 0 ? a : b))
    : undefined;
  const primary = records[0]!;
  const name = packageName(pkg.ecosystem, pkg.name);
  const summary = records.map((r) => r.summary?.trim()).find((s) => s) ?? records.map((r) => r.details?.trim().split('\n')[0]).find((s) => s) ?? '';
  const shortSummary = summary.length > 120 ? `${summary.slice(0, 119)}…` : summary;
  const fixText = upgrade
    ? `Fixed in ${fixedVersions.join(', ')}: upgrade ${name} to ${upgrade}.`
    : fixedVersions.length > 0
      ? `Fixed versions listed: ${fixedVersions.join(', ')}; none of them is known to fix ${pkg.version}.`
      : 'No fixed version is known.';
  const cve = ids.filter((id) => id.startsWith('CVE-'));
  return {
    tool: TOOL,
    ruleId: primary.id,
    title: `${name} ${pkg.version}: ${primary.id}${shortSummary ? ` ${shortSummary}` : ''}`,
    message:
      `${name} ${pkg.version} (${pkg.ecosystem}) is affected by ${ids.join(', ')}. ` +
      `Severity ${best!.severity} (${best!.basis}${records.length > 1 ? `, from ${best!.id}` : ''}). ${fixText}${note ? ` ${note}` : ''}`,
    severity: best!.severity,
    severityBasis: best!.basis,
    confidence: 'high',
    location,
    cve: cve.length > 0 ? cve : undefined,
    aliases: ids,
    package: { name, version: pkg.version, ecosystem: pkg.ecosystem, fixedVersions: upgrade ? fixedVersions.filter((v) => (compareVersions(pkg.ecosystem, v, pkg.version) ?? 1) > 0) : [] },
    helpUri: `https://osv.dev/vulnerability/${encodeURIComponent(primary.id)}`,
    tags: ['dependency', pkg.ecosystem],
    identity: `${pkg.ecosystem}:${name}@${pkg.version}:${ids[0]}`
  };
}

/**
 * Reads `osv-scanner scan source --format json` (pkg/models/results.go): `results[]` per source
 * file, `packages[]` with `package`, the full OSV records in `vulnerabilities` and osv-scanner's
 * alias `groups` (one finding per group). Every record must belong to a group and every group id
 * to a record; anything else is a ToolOutputError. Packages without vulnerabilities (`--all-packages`)
 * make the inventory.
 */
export function parseOsvScannerReport(text: string, options: OsvScannerParseOptions): ParsedReport {
  const report = reader.object(parseJsonReport(TOOL, text), 'report');
  const results = reader.each(report['results'], 'results', (item, where) => {
    const result = reader.object(item, where);
    const source = reader.object(result['source'], `${where}.source`);
    return {
      path: reader.path(source['path'], `${where}.source.path`),
      type: reader.word(source['type'], `${where}.source.type`),
      packages: reader.array(result['packages'], `${where}.packages`),
      where
    };
  });
  const findings: RawFinding[] = [];
  const inventory: InventoryItem[] = [];
  const warnings: string[] = [];
  const reported = new Map<string, Set<string>>();
  const declaredBy = new Map<string, Map<string, Declaration>>();
  if (options.workspace) {
    for (const target of options.targets ?? []) {
      if (target.ecosystem !== 'PyPI') continue;
      const kind = target.path.endsWith('.lock') ? (path.posix.basename(target.path) === 'uv.lock' ? 'uv-lock' : path.posix.basename(target.path) === 'Pipfile.lock' ? 'pipfile-lock' : 'poetry-lock') : 'requirements';
      // Throws ToolFailureError for an unreadable line: osv-scanner skips such lines silently.
      const declarations = readDeclarations(options.workspace, { path: target.path, kind, ecosystem: 'PyPI' }, TOOL);
      declaredBy.set(target.path, new Map(declarations.map((d) => [d.name, d])));
    }
  }
  const unpinned: string[] = [];
  for (const result of results) {
    const source = relativeSource(options.workspace, result.path);
    const names = reported.get(source) ?? new Set<string>();
    reported.set(source, names);
    result.packages.forEach((item, index) => {
      const at = `${result.where}.packages[${index}]`;
      const entry = reader.object(item, at);
      const info = reader.object(entry['package'], `${at}.package`);
      const pkg = {
        name: reader.word(info['name'], `${at}.package.name`),
        version: reader.string(info['version'], `${at}.package.version`),
        ecosystem: reader.word(info['ecosystem'], `${at}.package.ecosystem`)
      };
      const name = packageName(pkg.ecosystem, pkg.name);
      names.add(name);
      inventory.push({ kind: 'library', name, version: pkg.version || undefined, ecosystem: pkg.ecosystem, purl: purlOf(pkg.ecosystem, name, pkg.version), path: source });
      const declared = declaredBy.get(source)?.get(name);
      const note = declared && declared.version === undefined ? `Not pinned (${declared.requirement}): osv-scanner checked ${pkg.version}, the lowest version it allows.` : undefined;
      if (note) unpinned.push(`${declared!.path}:${declared!.line} ${declared!.requirement}`);
      const records = entry['vulnerabilities'] === undefined ? [] : reader.each(entry['vulnerabilities'], `${at}.vulnerabilities`, (v, vAt) => readOsvRecord(v, TOOL, vAt));
      const groups = readGroups(entry['groups'], `${at}.groups`);
      const byId = new Map(records.map((r) => [r.id, r]));
      const grouped = new Set<string>();
      for (const [g, group] of groups.entries()) {
        const members = group.ids.map((id) => byId.get(id) ?? reader.fail(`${at}.groups[${g}].ids`, `names ${JSON.stringify(id)}, which is not among the package's vulnerabilities`));
        for (const id of group.ids) grouped.add(id);
        const location = options.workspace && !path.isAbsolute(source) ? locateDeclaration(options.workspace, [source], pkg.ecosystem, name) : { path: source };
        findings.push(vulnerabilityFinding(pkg, members, group.aliases, location, options, note));
      }
      const loose = records.filter((r) => !grouped.has(r.id));
      if (loose.length > 0) reader.fail(`${at}.vulnerabilities`, `holds ${loose.map((r) => r.id).join(', ')} in no group`);
      if (records.length > 0 && pkg.version === '') reader.fail(`${at}.package.version`, 'is empty for a vulnerable package');
    });
  }
  if (unpinned.length > 0) {
    warnings.push(`${unpinned.length} requirement(s) not pinned, checked at the lowest version they allow: ${unpinned.slice(0, 5).join('; ')}${unpinned.length > 5 ? '; …' : ''}`);
  }
  // A declaration osv-scanner did not report was never looked up (e.g. a line it could not read).
  const unchecked: UncheckedItem[] = [];
  for (const [manifest, declarations] of declaredBy) {
    const seen = reported.get(manifest) ?? new Set<string>();
    for (const declaration of declarations.values()) {
      if (!seen.has(declaration.name)) {
        unchecked.push({
          kind: 'dependency',
          name: declaration.name,
          version: declaration.version,
          ecosystem: 'PyPI',
          reason: `${declaration.path}:${declaration.line}: declared but not in osv-scanner's package list for ${manifest}`
        });
      }
    }
  }
  return { findings, warnings, inventory, ...(unchecked.length > 0 ? { unchecked } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Adapter

export const osvScannerAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'osv-scanner',
  description: 'Known vulnerabilities in Python and npm lockfiles, matched against OSV.dev (online, or an offline database).',
  install: {
    kind: 'binary',
    tool: TOOL,
    defaultVersion: VERSION,
    asset(version, platform) {
      const names: Record<string, string> = {
        'linux-x64': 'osv-scanner_linux_amd64',
        'linux-arm64': 'osv-scanner_linux_arm64',
        'darwin-x64': 'osv-scanner_darwin_amd64',
        'darwin-arm64': 'osv-scanner_darwin_arm64',
        'windows-x64': 'osv-scanner_windows_amd64.exe'
      };
      const assetName = names[platform];
      if (!assetName) return undefined;
      return {
        urlPath: `google/osv-scanner/releases/download/v${version}/${assetName}`,
        assetName,
        archive: 'none',
        executable: platform.startsWith('windows') ? 'osv-scanner.exe' : 'osv-scanner'
      };
    }
  },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: OSV_SCANNER_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    unknownSeverity(context);
    const targets = await osvScannerTargets(context);
    if (targets.length === 0) {
      return { reason: 'no lockfile osv-scanner reads (requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, package-lock.json) in scope', notApplicable: true };
    }
    const offline = await offlineDatabase(context);
    if (!offline && parseOsvUrl(context.options['osv-url'] ?? '') !== DEFAULT_OSV_URL) {
      return {
        reason:
          `osv-scanner ${VERSION} cannot use a custom OSV API (osv-url); it only queries ${DEFAULT_OSV_URL}. ` +
          'Give osv-offline-db, or leave osv-scanner out of tools'
      };
    }
    return undefined;
  },
  async command(_tool, context): Promise<ToolInvocation> {
    const targets = await osvScannerTargets(context);
    const offline = await offlineDatabase(context);
    const report = path.join(context.workDir, 'osv-scanner.json');
    // An empty config: the repository's osv-scanner.toml ignores would drop findings unseen.
    const config = path.join(context.workDir, 'osv-scanner.toml');
    await writeFile(config, '');
    const args = ['scan', 'source', '--format', 'json', '--output-file', report, '--all-packages', '--all-vulns', '--config', config];
    const env: Record<string, string> = {};
    if (offline) {
      const missing = await missingEcosystems(offline, targets);
      if (missing.length > 0) {
        throw new ConfigurationError(
          `the offline database has no ${missing.map((e) => `osv-scalibr/${e}/all.zip`).join(', ')}, needed for ${targets.filter((t) => missing.includes(t.ecosystem)).map((t) => t.path).slice(0, 3).join(', ')}`,
          'osv-offline-db'
        );
      }
      // --offline: local matching and no deps.dev resolution (--offline-vulnerabilities alone still calls deps.dev).
      args.push('--offline');
      env['OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY'] = offline;
    }
    for (const target of targets) args.push('-L', target.parseAs ? `${target.parseAs}:${target.path}` : target.path);
    return { args, env, reportFile: report, data: { targets, offline: Boolean(offline) } };
  },
  exitMeaning(code): ExitMeaning {
    // cmd/osv-scanner: 0 no vulnerabilities, 1 vulnerabilities found, 127 general error (an offline
    // ecosystem without a database, an unreadable file), 128 no packages found in the given files.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse(report, context, invocation) {
    return parseOsvScannerReport(report, {
      unknownSeverity: unknownSeverity(context),
      workspace: context.workspace,
      targets: (invocation.data?.['targets'] as OsvScannerTarget[] | undefined) ?? []
    });
  }
};

