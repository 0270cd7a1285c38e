import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as pep440 from '@renovatebot/pep440';
import {
  ConfigurationError,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  parseJsonReport,
  runTool,
  severityRank,
  unknownSeverityOption,
  type ExitMeaning,
  type InstalledTool,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import { discoverPythonManifests, normalisePyPIName, readDeclarations, type Declaration, type Manifest } from '../manifests.js';
import { fetchVulnerabilities, parseOsvUrl, redactUrl } from '../osv/client.js';
import { GHSA_SEVERITY, severityFromOsv, type OsvRecord, type SeverityVerdict } from '../osv/severity.js';

/**
 * pip-audit: known vulnerabilities of the Python dependencies a project declares. https://github.com/pypa/pip-audit
 *
 * Run once per manifest in scope (requirements files as they are; pyproject.toml, poetry.lock, uv.lock and
 * Pipfile.lock converted to a requirements file in the work dir, since pip-audit reads none of them). When every
 * declaration is pinned, `--no-deps --disable-pip`: exactly the pinned versions are audited and nothing is installed.
 *
 * Its JSON has no severity: each vulnerability is looked up (id and every alias) in the OSV API at `osv-url` — the same
 * service pip-audit itself asks with `-s osv` — and scored by severityFromOsv (highest CVSS v3/v4, else GitHub's word,
 * else `unknown-severity`, with the basis shown). A dependency pip-audit skipped ("Dependency not found on PyPI", the
 * measured outcome of `-s pypi` against a registry answering 404) is an unchecked item: the run does not pass.
 *
 * Exit codes: 0 nothing found, 1 vulnerabilities found — and also every crash (an unreachable service ends in a
 * traceback and exit 1 without a report), so the report file, not the code, is the truth.
 */

const TOOL = 'pip-audit';
const reader = new ReportReader(TOOL);

export const PIP_AUDIT_SERVICES = ['osv', 'pypi'] as const;

interface AuditedVuln {
  id: string;
  fixVersions: string[];
  aliases: string[];
  description: string;
}

export interface AuditedDependency {
  name: string;
  version?: string;
  vulns: AuditedVuln[];
  skipReason?: string;
}

/** Strict read of `pip-audit -f json`: `{dependencies: [...], fixes: [...]}`. */
export function parsePipAuditReport(text: string): AuditedDependency[] {
  const report = reader.object(parseJsonReport(TOOL, text), 'report');
  if (!Array.isArray(report['dependencies'])) throw new ToolOutputError(TOOL, 'the report has no dependencies array: not pip-audit JSON output');
  return reader.each(report['dependencies'], 'dependencies', (item, where): AuditedDependency => {
    const dep = reader.object(item, where);
    const name = reader.word(dep['name'], `${where}.name`);
    if (dep['skip_reason'] !== undefined) {
      return { name, vulns: [], skipReason: reader.string(dep['skip_reason'], `${where}.skip_reason`) };
    }
    return {
      name,
      version: reader.word(dep['version'], `${where}.version`),
      vulns: reader.each(dep['vulns'], `${where}.vulns`, (v, at) => {
        const vuln = reader.object(v, at);
        return {
          id: reader.word(vuln['id'], `${at}.id`),
          fixVersions: reader.each(vuln['fix_versions'], `${at}.fix_versions`, (f, fAt) => reader.word(f, fAt)),
          aliases: vuln['aliases'] === undefined ? [] : reader.each(vuln['aliases'], `${at}.aliases`, (a, aAt) => reader.word(a, aAt)),
          description: vuln['description'] === undefined ? '' : reader.string(vuln['description'], `${at}.description`)
        };
      })
    };
  });
}

/** The smallest fixed version above `installed` (PEP 440), else the smallest listed; undefined when none. */
export function upgradeTarget(installed: string, fixVersions: readonly string[]): string | undefined {
  const valid = fixVersions.filter((v) => pep440.valid(v) !== null).sort(pep440.compare);
  if (pep440.valid(installed) === null) return valid[0] ?? fixVersions[0];
  return valid.find((v) => pep440.gt(v, installed)) ?? valid[0] ?? fixVersions[0];
}

/** Severity of one reported vulnerability: the highest over every OSV record of its id and aliases. */
export function severityOfVuln(ids: readonly string[], records: ReadonlyMap<string, OsvRecord | undefined>, unknownSeverity: Severity): SeverityVerdict & { recordIds: string[] } {
  const found = ids.map((id) => records.get(id)).filter((r): r is OsvRecord => r !== undefined);
  const recordIds = [...new Set(found.map((r) => r.id))];
  let best: (SeverityVerdict & { from: string }) | undefined;
  let bestKnown = false;
  for (const record of found) {
    const verdict = severityFromOsv(record, unknownSeverity);
    const known = !verdict.basis.startsWith('unknown');
    // A known severity beats an assumed one; among known ones the highest wins.
    if (!best || (known && !bestKnown) || (known === bestKnown && severityRank(verdict.severity) > severityRank(best.severity))) {
      best = { ...verdict, from: record.id };
      bestKnown = known;
    }
  }
  if (!best) return { severity: unknownSeverity, basis: `unknown → ${unknownSeverity} (unknown-severity; no OSV record for ${ids.join(', ')})`, recordIds };
  return { severity: best.severity, basis: bestKnown ? `${best.basis} (${best.from})` : best.basis, recordIds };
}

function shortText(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export interface BuildContext {
  manifest: Manifest;
  declarations: readonly Declaration[];
  records: ReadonlyMap<string, OsvRecord | undefined>;
  unknownSeverity: Severity;
  /** pip-audit was run with --no-deps: every pinned declaration must appear in its report. */
  pinnedOnly: boolean;
}

/** Findings, unchecked dependencies and inventory of one manifest's report. */
export function buildReport(dependencies: readonly AuditedDependency[], build: BuildContext): ParsedReport {
  const { manifest, declarations, records, unknownSeverity } = build;
  const findings: RawFinding[] = [];
  const unchecked: UncheckedItem[] = [];
  const inventory: InventoryItem[] = [];
  const declared = new Map(declarations.map((d) => [d.name, d]));
  const seen = new Set<string>();
  for (const dep of dependencies) {
    const name = normalisePyPIName(dep.name);
    seen.add(name);
    const declaration = declared.get(name);
    if (dep.skipReason !== undefined) {
      unchecked.push({ kind: 'dependency', name, ...(declaration?.version ? { version: declaration.version } : {}), ecosystem: 'PyPI', reason: `${dep.skipReason} (${manifest.path})` });
      continue;
    }
    const version = dep.version!;
    inventory.push({ kind: 'library', name, version, ecosystem: 'PyPI', purl: `pkg:pypi/${name}@${version}`, path: manifest.path });
    const location = declaration ? { path: declaration.path, startLine: declaration.line, endLine: declaration.line } : { path: manifest.path };
    for (const vuln of dep.vulns) {
      const ids = [vuln.id, ...vuln.aliases];
      const verdict = severityOfVuln(ids, records, unknownSeverity);
      const fetched = verdict.recordIds.map((id) => records.get(id)!);
      const aliases = [...new Set([...ids, ...fetched.flatMap((r) => [r.id, ...(r.aliases ?? [])])])].sort();
      const summary = fetched.find((r) => r.summary)?.summary ?? vuln.description ?? fetched.find((r) => r.details)?.details ?? '';
      const upgrade = upgradeTarget(version, vuln.fixVersions);
      const fix = upgrade ? `Fixed in ${vuln.fixVersions.join(', ')}: upgrade ${name} to ${upgrade}.` : 'No fixed version is known.';
      const others = aliases.filter((a) => a !== vuln.id);
      findings.push({
        tool: TOOL,
        ruleId: vuln.id,
        title: `${name} ${version}: ${vuln.id} ${shortText(summary, 100)}`.trim(),
        message: `${name} ${version} is affected by ${vuln.id}${others.length > 0 ? ` (${others.join(', ')})` : ''}. Severity ${verdict.severity} (${verdict.basis}). ${fix}`,
        severity: verdict.severity,
        severityBasis: verdict.basis,
        location,
        package: { name, version, ecosystem: 'PyPI', fixedVersions: vuln.fixVersions },
        aliases,
        cve: aliases.filter((a) => a.startsWith('CVE-')),
        helpUri: `https://osv.dev/vulnerability/${encodeURIComponent(vuln.id)}`,
        identity: `PyPI:${name}@${version}:${aliases[0]}`,
        tags: ['dependency', 'PyPI']
      });
    }
  }
  if (build.pinnedOnly) {
    for (const declaration of declarations) {
      if (!seen.has(declaration.name)) {
        unchecked.push({ kind: 'dependency', name: declaration.name, version: declaration.version, ecosystem: 'PyPI', reason: `declared in ${declaration.path}:${declaration.line} but absent from pip-audit's report` });
      }
    }
  }
  return { findings, warnings: [], unchecked, inventory };
}

/** The stage options pip-audit reads, validated (ConfigurationError naming the input). */
export function pipAuditOptions(options: Readonly<Record<string, string>>): { service: 'osv' | 'pypi'; osvUrl: string; unknownSeverity: Severity; manifests?: string[] } {
  const service = (options['vulnerability-service'] ?? '').trim().toLowerCase() || 'osv';
  if (!(PIP_AUDIT_SERVICES as readonly string[]).includes(service)) {
    throw new ConfigurationError(`'${options['vulnerability-service']}' is not one of ${PIP_AUDIT_SERVICES.join(', ')}`, 'vulnerability-service');
  }
  const unknown = unknownSeverityOption(options);
  const manifests = (options['manifests'] ?? '')
    .split(/[\n,]/)
    .map((m) => m.trim())
    .filter(Boolean);
  return { service: service as 'osv' | 'pypi', osvUrl: parseOsvUrl(options['osv-url'] ?? ''), unknownSeverity: unknown as Severity, ...(manifests.length > 0 ? { manifests } : {}) };
}

interface PlannedAudit {
  manifest: Manifest;
  declarations: Declaration[];
  pinnedOnly: boolean;
  invocation: ToolInvocation;
}

async function planAudits(context: ToolContext): Promise<PlannedAudit[]> {
  const options = pipAuditOptions(context.options);
  const manifests = await discoverPythonManifests(context.workspace, context.targets, context.exclude, options.manifests);
  // A requirements file another one includes with -r is audited through the including file.
  const all = manifests.map((manifest) => ({ manifest, declarations: readDeclarations(context.workspace, manifest, TOOL) }));
  const included = new Set(all.flatMap(({ manifest, declarations }) => declarations.filter((d) => d.path !== manifest.path).map((d) => d.path)));
  const planned: PlannedAudit[] = [];
  for (const [index, { manifest, declarations }] of all.entries()) {
    if (included.has(manifest.path) || declarations.length === 0) continue;
    const pinnedOnly = declarations.every((d) => d.version !== undefined);
    let requirementFile = path.join(context.workspace, manifest.path);
    if (manifest.kind !== 'requirements') {
      requirementFile = path.join(context.workDir, `manifest-${index}-requirements.txt`);
      await writeFile(requirementFile, declarations.map((d) => (d.version ? `${d.name}==${d.version}` : d.requirement)).join('\n') + '\n');
    }
    const reportFile = path.join(context.workDir, `pip-audit-${index}.json`);
    const args = ['-r', requirementFile, '-f', 'json', '-o', reportFile, '--progress-spinner', 'off', '--aliases', 'on', '--desc', 'on', '--timeout', '30'];
    args.push('--cache-dir', path.join(context.workDir, 'cache'));
    args.push('-s', options.service);
    if (options.service === 'osv') args.push('--osv-url', `${options.osvUrl}/v1/query`);
    if (pinnedOnly) args.push('--no-deps', '--disable-pip');
    planned.push({ manifest, declarations, pinnedOnly, invocation: { args, reportFile, mode: manifest.path } });
  }
  return planned;
}

async function auditOne(tool: InstalledTool, context: ToolContext, audit: PlannedAudit): Promise<AuditedDependency[]> {
  await mkdir(path.join(context.workDir, 'cache'), { recursive: true });
  const result = await runTool({
    tool: TOOL,
    command: tool.command,
    args: [...tool.baseArgs, ...audit.invocation.args],
    cwd: context.workspace,
    env: process.env,
    timeoutMs: pipAuditAdapter.defaultTimeoutMs
  });
  const meaning = pipAuditAdapter.exitMeaning(result.exitCode, audit.invocation);
  if (meaning === 'error') throw new ToolFailureError(TOOL, `${audit.manifest.path}: exited with code ${result.exitCode} (an error, not findings)`, result.exitCode, result.stderr);
  let text: string;
  try {
    text = await readFile(audit.invocation.reportFile!, 'utf8');
  } catch {
    throw new ToolFailureError(TOOL, `${audit.manifest.path}: exited with code ${result.exitCode} without writing its JSON report (a crash, not findings)`, result.exitCode, result.stderr);
  }
  let dependencies: AuditedDependency[];
  try {
    dependencies = parsePipAuditReport(text);
  } catch (error) {
    if (error instanceof ToolOutputError) throw new ToolOutputError(TOOL, `${audit.manifest.path}: ${error.detail}`, result.stderr);
    throw error;
  }
  const vulnCount = dependencies.reduce((sum, d) => sum + d.vulns.length, 0);
  if (result.exitCode === 1 && vulnCount === 0) throw new ToolFailureError(TOOL, `${audit.manifest.path}: exit code 1 but the report lists no vulnerability`, 1, result.stderr);
  if (result.exitCode === 0 && vulnCount > 0) throw new ToolOutputError(TOOL, `${audit.manifest.path}: exit code 0 but the report lists ${vulnCount} vulnerabilities`);
  return dependencies;
}

export const pipAuditAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'pip-audit',
  description: 'Known vulnerabilities of declared Python dependencies (requirements, pyproject.toml, poetry/uv/Pipfile locks), enriched with OSV severities.',
  install: { kind: 'python', tool: TOOL, distribution: 'pip-audit', module: 'pip_audit', defaultVersion: '2.10.1' },
  defaultTimeoutMs: 20 * 60_000,
  /** pip-audit reports no severity; these are GitHub's words in OSV records, used when a record has no CVSS vector. */
  severityMap: GHSA_SEVERITY,
  async skip(context) {
    const manifests = await discoverPythonManifests(context.workspace, context.targets, context.exclude, pipAuditOptions(context.options).manifests);
    if (manifests.length === 0) {
      return { reason: 'no Python manifest in scope (requirements*.txt, requirements/*.txt, pyproject.toml, poetry.lock, uv.lock, Pipfile.lock)', notApplicable: true };
    }
    return undefined;
  },
  async command(_tool, context) {
    return (await planAudits(context)).map((a) => a.invocation);
  },
  exitMeaning(code): ExitMeaning {
    // pip_audit/_cli.py: 0 no known vulnerabilities, 1 vulnerabilities found or any fatal error.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse() {
    // Enrichment needs the OSV service (async): this adapter runs through `collect`.
    throw new ToolOutputError(TOOL, 'pip-audit reports are read by collect(), which enriches them from OSV');
  },
  /**
   * Runs pip-audit per manifest itself (instead of the engine's command/parse path) because every vulnerability
   * must be enriched from the OSV service, which parse() — synchronous — cannot do.
   */
  async collect(tool, context) {
    const options = pipAuditOptions(context.options);
    const audits = await planAudits(context);
    const reports: ParsedReport[] = [];
    for (const audit of audits) {
      context.logger.info(`pip-audit: auditing ${audit.manifest.path} (${audit.declarations.length} declared, ${audit.pinnedOnly ? 'all pinned: --no-deps' : 'resolved by pip'}, service ${options.service === 'osv' ? `osv at ${redactUrl(options.osvUrl)}` : 'pypi'})`);
      const dependencies = await auditOne(tool, context, audit);
      const ids = dependencies.flatMap((d) => d.vulns.flatMap((v) => [v.id, ...v.aliases]));
      const records = await fetchVulnerabilities(options.osvUrl, ids, { tool: TOOL });
      reports.push(buildReport(dependencies, { manifest: audit.manifest, declarations: audit.declarations, records, unknownSeverity: options.unknownSeverity, pinnedOnly: audit.pinnedOnly }));
    }
    return {
      findings: reports.flatMap((r) => r.findings),
      warnings: reports.flatMap((r) => r.warnings),
      unchecked: reports.flatMap((r) => r.unchecked ?? []),
      inventory: reports.flatMap((r) => r.inventory ?? [])
    };
  }
};
