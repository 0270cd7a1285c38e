import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Minimatch } from 'minimatch';
import { PackageURL } from 'packageurl-js';
import semver from 'semver';
import {
  parseJsonReport,
  parseList,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  WorkspaceBoundary,
  type ExitMeaning,
  type FindingLocation,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type UncheckedItem
} from '@secgate/core';

/**
 * npm audit (the runner's own `npm`): known-vulnerable packages in `package-lock.json` /
 * `npm-shrinkwrap.json`, from the registry's bulk advisory endpoint. https://docs.npmjs.com/cli/commands/npm-audit
 *
 * Severity: npm's own word for the advisory (GitHub's advisory severity), mapped one to one:
 *
 * | npm | secgate |
 * |---|---|
 * | critical | critical |
 * | high | high |
 * | moderate | medium |
 * | low | low |
 * | info | info |
 *
 * Any other word is a ToolOutputError, never a default.
 */
export const NPM_AUDIT_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MODERATE: 'medium',
  LOW: 'low',
  INFO: 'info'
};

const TOOL = 'npm-audit';
const reader = new ReportReader(TOOL);
const LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json'];
/** A lockfile bigger than this is not read (a monorepo's is a few MB). */
const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;
/** Directories never walked for manifests: installed code and VCS data are not the project's manifests. */
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

/** One npm project found in scope: its directory and lockfile (workspace-relative, `/`). */
export interface NpmProject {
  dir: string;
  lockfile?: string;
}

function excluder(patterns: string[]): (file: string) => boolean {
  const matchers = patterns.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
  return (file) => matchers.some((m) => m.match(file));
}

/**
 * npm projects in scope: every directory with a lockfile, and every `package.json` with no
 * lockfile in its own or a parent directory (npm workspaces share the root's). With the
 * `manifests` option, only the lockfiles it names. Symlinks are not followed.
 */
export async function findNpmProjects(context: Pick<ToolContext, 'workspace' | 'targets' | 'exclude' | 'options'>): Promise<NpmProject[]> {
  const isExcluded = excluder(context.exclude);
  const named = parseList(context.options['manifests']);
  if (named.length > 0) {
    return named
      .filter((file) => LOCKFILES.includes(path.posix.basename(file)))
      .map((file) => ({ dir: path.posix.dirname(file), lockfile: file.replace(/^\.\//, '') }));
  }
  const lockDirs = new Map<string, string>();
  const packageDirs: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    if (relative !== '.' && isExcluded(relative)) return;
    let entries;
    try {
      entries = await readdir(path.join(context.workspace, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = relative === '.' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) await walk(child);
      else if (entry.isFile() && !isExcluded(child)) {
        // npm-shrinkwrap.json wins over package-lock.json, as in npm itself.
        if (LOCKFILES.includes(entry.name) && (entry.name === LOCKFILES[0] || !lockDirs.has(relative))) lockDirs.set(relative, child);
        if (entry.name === 'package.json') packageDirs.push(relative);
      }
    }
  };
  for (const target of context.targets.length > 0 ? context.targets : ['.']) await walk(path.posix.normalize(target).replace(/\/$/, '') || '.');
  const covered = (dir: string): boolean => {
    for (let d = dir; ; d = path.posix.dirname(d)) {
      if (lockDirs.has(d)) return true;
      if (d === '.' || d === path.posix.dirname(d)) return false;
    }
  };
  const projects: NpmProject[] = [...lockDirs].map(([dir, lockfile]) => ({ dir, lockfile }));
  for (const dir of packageDirs) if (!covered(dir)) projects.push({ dir });
  return projects.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** A package in the lockfile: its node path (`node_modules/a/node_modules/b`), name, version and line. */
interface LockedPackage {
  node: string;
  name: string;
  version: string;
  line?: number;
}

/** The lockfile's packages by node path (lockfileVersion 2 and 3; version 1 has no `packages`). */
export function readLockfile(text: string, lockfile: string): Map<string, LockedPackage> {
  const lockReader = new ReportReader(`${TOOL} (${lockfile})`);
  const lock = lockReader.object(parseJsonReport(`${TOOL} (${lockfile})`, text), lockfile);
  const version = lockReader.integer(lock['lockfileVersion'], 'lockfileVersion', 1);
  if (version < 2) {
    lockReader.fail('lockfileVersion', `is ${version}: npm audit here needs lockfileVersion 2 or 3 (run npm install with npm ≥ 7 to upgrade it)`);
  }
  const packages = lockReader.object(lock['packages'], 'packages');
  const lines = text.split('\n');
  const lineOf = new Map<string, number>();
  lines.forEach((line, index) => {
    const match = /^\s*"((?:[^"\\]|\\.)*node_modules\/(?:[^"\\]|\\.)*)":\s*\{/.exec(line);
    if (match && !lineOf.has(match[1]!)) lineOf.set(match[1]!, index + 1);
  });
  const result = new Map<string, LockedPackage>();
  for (const [node, value] of Object.entries(packages)) {
    if (node === '' || !node.includes('node_modules/')) continue; // the root project and workspace folders
    const entry = lockReader.object(value, `packages[${JSON.stringify(node)}]`);
    if (entry['link'] === true) continue; // a symlink to a workspace folder: its own entry has the version
    const name = entry['name'] === undefined ? node.slice(node.lastIndexOf('node_modules/') + 'node_modules/'.length) : lockReader.word(entry['name'], `packages[${JSON.stringify(node)}].name`);
    const ver = lockReader.word(entry['version'], `packages[${JSON.stringify(node)}].version`);
    result.set(node, { node, name, version: ver, line: lineOf.get(node) });
  }
  return result;
}

function npmPurl(name: string, version: string): string {
  const at = name.startsWith('@') ? name.indexOf('/') : -1;
  return new PackageURL('npm', at > 0 ? name.slice(0, at) : undefined, at > 0 ? name.slice(at + 1) : name, version, undefined, undefined).toString();
}

const GHSA_URL = /^https:\/\/github\.com\/advisories\/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})$/;

/**
 * The first fixed version for `version` under an advisory's vulnerable range: the `<X` bound of the
 * comparator set `version` falls in (`>=22.0.0 <22.3.24` → 22.3.24). undefined when the range is
 * open-ended or unreadable (then no fix is known).
 */
export function firstFixedVersion(range: string, version: string): string | undefined {
  let parsed: semver.Range;
  try {
    parsed = new semver.Range(range);
  } catch {
    return undefined;
  }
  for (const set of parsed.set) {
    if (!set.every((comparator) => comparator.test(version))) continue;
    const upper = set.find((comparator) => comparator.operator === '<');
    return upper ? upper.semver.version : undefined;
  }
  return undefined;
}

/** What npm prints instead of a report when the audit itself failed (HTTP error, no lockfile). */
function auditError(report: Record<string, unknown>): string | undefined {
  if (report['auditReportVersion'] !== undefined) return undefined;
  const status = typeof report['statusCode'] === 'number' ? `HTTP ${report['statusCode']}` : undefined;
  const nested = typeof report['error'] === 'object' && report['error'] !== null ? (report['error'] as Record<string, unknown>) : undefined;
  const code = typeof nested?.['code'] === 'string' ? nested['code'] : undefined;
  const summary = typeof nested?.['summary'] === 'string' && nested['summary'] !== '' ? nested['summary'] : undefined;
  // Only the first line of npm's own message and never the echoed headers or body: they can carry
  // registry cookies or a token-bearing URL.
  const message = typeof report['message'] === 'string' ? report['message'].split('\n')[0]!.replace(/\/\/[^/\s@]+@/g, '//[credentials]@') : undefined;
  const parts = [status, code, summary ?? message].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? parts.join(': ').slice(0, 400) : undefined;
}

/**
 * Reads `npm audit --json` (auditReportVersion 2, npm ≥ 7) for one lockfile. npm exits 1 both
 * when it found vulnerabilities and when the audit endpoint failed (measured: HTTP 405 from a
 * registry without the audit API): an error object (`message`/`statusCode`, or `error.code`)
 * instead of `auditReportVersion` is a ToolFailureError, never 0 findings.
 *
 * One finding per advisory and installed version: `via` objects are advisories on the package
 * itself; `via` strings name a vulnerable dependency, whose own entry carries the advisory.
 */
export function parseNpmAuditReport(text: string, lockfile: string, lockText: string): ParsedReport {
  const parsed = parseJsonReport(TOOL, text);
  const report = reader.object(parsed, 'the report');
  const failure = auditError(report);
  if (report['auditReportVersion'] === undefined) {
    if (failure) throw new ToolFailureError(TOOL, `the audit of ${lockfile} failed: ${failure} (an error, not 0 vulnerabilities)`);
    throw new ToolOutputError(TOOL, 'the report has no auditReportVersion: not npm audit JSON (npm 7 or later)');
  }
  const version = reader.integer(report['auditReportVersion'], 'auditReportVersion', 1);
  if (version !== 2) reader.fail('auditReportVersion', `is ${version}; this parser reads version 2`);
  const locked = readLockfile(lockText, lockfile);
  const vulnerabilities = reader.object(report['vulnerabilities'], 'vulnerabilities');
  const metadata = reader.object(report['metadata'], 'metadata');
  const counts = reader.object(metadata['vulnerabilities'], 'metadata.vulnerabilities');
  const total = reader.integer(counts['total'], 'metadata.vulnerabilities.total', 0);
  if (total !== Object.keys(vulnerabilities).length) {
    reader.fail('metadata.vulnerabilities.total', `is ${total} but the report lists ${Object.keys(vulnerabilities).length} vulnerable package(s): garbled`);
  }
  const findings: RawFinding[] = [];
  for (const [key, value] of Object.entries(vulnerabilities)) {
    const where = `vulnerabilities[${JSON.stringify(key.slice(0, 80))}]`;
    const vuln = reader.object(value, where);
    const name = reader.word(vuln['name'], `${where}.name`);
    if (name !== key) reader.fail(`${where}.name`, `is ${JSON.stringify(name.slice(0, 80))}, not its key`);
    reader.oneOf(vuln['severity'], `${where}.severity`, NPM_AUDIT_SEVERITY);
    const nodes = reader.each(vuln['nodes'], `${where}.nodes`, (n, at) => reader.path(n, at));
    const fix = vuln['fixAvailable'];
    const fixTarget =
      typeof fix === 'object' && fix !== null && !Array.isArray(fix)
        ? { name: reader.word((fix as Record<string, unknown>)['name'], `${where}.fixAvailable.name`), version: reader.word((fix as Record<string, unknown>)['version'], `${where}.fixAvailable.version`) }
        : typeof fix === 'boolean'
          ? undefined
          : reader.fail(`${where}.fixAvailable`, 'is neither a boolean nor an object');
    const via = reader.array(vuln['via'], `${where}.via`);
    via.forEach((item, index) => {
      if (typeof item === 'string') return; // a vulnerable dependency: reported under its own name
      const at = `${where}.via[${index}]`;
      const advisory = reader.object(item, at);
      const title = reader.string(advisory['title'], `${at}.title`);
      const url = reader.string(advisory['url'], `${at}.url`);
      const source = reader.integer(advisory['source'], `${at}.source`, 0);
      const severity = reader.oneOf(advisory['severity'], `${at}.severity`, NPM_AUDIT_SEVERITY);
      const range = reader.string(advisory['range'], `${at}.range`);
      const cwe = advisory['cwe'] === undefined ? [] : reader.each(advisory['cwe'], `${at}.cwe`, (c, w) => reader.word(c, w).toUpperCase());
      const ghsa = GHSA_URL.exec(url)?.[1];
      const id = ghsa ?? `npm-advisory-${source}`;
      // The advisory hits the installed versions its range covers (a package can be installed at several).
      const hit = nodes.map((node) => locked.get(node)).filter((p): p is LockedPackage => p !== undefined && p.name === name && semver.satisfies(p.version, range, { includePrerelease: true }));
      if (hit.length === 0) {
        reader.fail(at, `names ${nodes.length} node(s) of ${name}, none of them in ${lockfile} at a version in ${JSON.stringify(range.slice(0, 80))}: the report does not match the lockfile`);
      }
      const byVersion = new Map<string, LockedPackage>();
      for (const p of hit) if (!byVersion.has(p.version)) byVersion.set(p.version, p);
      for (const installed of byVersion.values()) {
        const fixed = firstFixedVersion(range, installed.version);
        const upgrade = fixTarget && fixTarget.name === name ? `upgrade ${name} to ${fixTarget.version}` : fixed ? `upgrade ${name} to ${fixed} or later` : 'no fixed version is known';
        const location: FindingLocation = installed.line ? { path: lockfile, startLine: installed.line, endLine: installed.line } : { path: lockfile };
        findings.push({
          tool: TOOL,
          ruleId: id,
          title: `${name} ${installed.version}: ${id} ${title}`,
          message: `${name} ${installed.version} (npm) is affected by ${id} (severity ${severity}, from npm audit; vulnerable range ${range}). Fixed in: ${fixed ?? 'no fixed version known'}; ${upgrade}.`,
          severity,
          location,
          cwe: cwe.length > 0 ? cwe : undefined,
          aliases: [id],
          package: { name, version: installed.version, ecosystem: 'npm', fixedVersions: fixed ? [fixed] : [] },
          helpUri: ghsa ? `https://osv.dev/vulnerability/${ghsa}` : url,
          identity: `npm:${name}@${installed.version}:${id}`,
          tags: ['dependency', 'npm']
        });
      }
    });
  }
  const inventory: InventoryItem[] = [...locked.values()].map((p) => ({ kind: 'library', name: p.name, version: p.version, ecosystem: 'npm', purl: npmPurl(p.name, p.version), path: lockfile }));
  return { findings, warnings: [], inventory };
}

async function readLock(workspace: string, lockfile: string): Promise<string> {
  const boundary = await WorkspaceBoundary.open(workspace);
  const text = await boundary.readSetting(lockfile, 'manifests', { maxBytes: MAX_LOCKFILE_BYTES });
  if (text === undefined) throw new ToolFailureError(TOOL, `the lockfile ${lockfile} does not exist`);
  return text;
}

export const npmAuditAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'npm audit',
  description: 'Known-vulnerable npm packages in package-lock.json / npm-shrinkwrap.json (the registry advisory database).',
  install: { kind: 'none', tool: TOOL, command: 'npm', versionArgs: ['--version'], defaultVersion: 'runner' },
  defaultTimeoutMs: 10 * 60_000,
  severityMap: NPM_AUDIT_SEVERITY,
  async skip(context) {
    const projects = await findNpmProjects(context);
    return projects.length === 0 ? { reason: 'no package-lock.json, npm-shrinkwrap.json or package.json in scope', notApplicable: true } : undefined;
  },
  async command(_tool, context) {
    const projects = await findNpmProjects(context);
    const unlocked = projects.filter((p) => p.lockfile === undefined);
    // npm audit needs a lockfile; a package.json without one was not checked, and says so.
    const unchecked: UncheckedItem[] = unlocked.map((p) => ({
      kind: 'file',
      name: p.dir === '.' ? 'package.json' : `${p.dir}/package.json`,
      reason: 'no package-lock.json or npm-shrinkwrap.json: npm audit needs a lockfile (run npm install --package-lock-only and commit it)'
    }));
    const invocations = [];
    for (const project of projects) {
      if (!project.lockfile) continue;
      invocations.push({
        // --package-lock-only: audit the lockfile as committed, never an installed node_modules.
        args: ['audit', '--json', '--package-lock-only', '--prefix', path.join(context.workspace, project.dir)],
        env: { npm_config_update_notifier: 'false', npm_config_fund: 'false' },
        mode: project.lockfile,
        data: { lockfile: project.lockfile, lockText: await readLock(context.workspace, project.lockfile), unchecked: invocations.length === 0 ? unchecked : [] }
      });
    }
    if (invocations.length === 0) {
      // Only lockfile-less projects: the check could not run at all.
      throw new ToolFailureError(TOOL, `nothing could be audited: ${unchecked.map((u) => u.name).join(', ')} ha${unchecked.length === 1 ? 's' : 've'} no lockfile (npm audit needs package-lock.json or npm-shrinkwrap.json)`);
    }
    return invocations;
  },
  exitMeaning(code): ExitMeaning {
    // npm audit: 0 no vulnerabilities, 1 vulnerabilities OR a failed audit (told apart by the JSON).
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse(report, _context, invocation) {
    const data = invocation.data as { lockfile: string; lockText: string; unchecked: UncheckedItem[] };
    const parsed = parseNpmAuditReport(report, data.lockfile, data.lockText);
    return data.unchecked.length > 0 ? { ...parsed, unchecked: data.unchecked } : parsed;
  },
  combine(reports) {
    return {
      findings: reports.flatMap((r) => r.findings),
      warnings: reports.flatMap((r) => r.warnings),
      unchecked: reports.flatMap((r) => r.unchecked ?? []),
      inventory: reports.flatMap((r) => r.inventory ?? [])
    };
  }
};
