import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ConfigurationError,
  parseJsonReport,
  parseList,
  ReportReader,
  severityFromScore,
  ToolOutputError,
  unknownSeverityOption,
  type ExitMeaning,
  type FindingLocation,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext
} from '@secgate/core';
import { discoverPythonManifests, normalisePyPIName } from '../manifests.js';

/**
 * Safety (pyup.io): `safety check -r <requirements> --output json`, the `check` report format
 * (see ../shared/fixtures/upstream/safety/check_report.json). Safety 3 needs an account and crashes
 * offline at start-up, so it is opt-in and runs only with `safety-api-key` (passed as the
 * SAFETY_API_KEY environment variable, never argv). The stale free database of 2021 is not used.
 * `safety scan --output json` is not read: no real sample of that format was found (see the note
 * in packages/sca/test/fixtures/README.md).
 *
 * Severity: Safety's own CVSS when the report carries one (`severity.cvssv3.base_severity`, else
 * `cvssv3.base_score`/`cvssv2.base_score` through the CVSS scale), else the `unknown-severity`
 * input (default high), with the basis shown:
 *
 * | Safety (cvssv3.base_severity) | secgate |
 * |---|---|
 * | CRITICAL | critical |
 * | HIGH | high |
 * | MEDIUM | medium |
 * | LOW | low |
 * | NONE | info |
 */
export const SAFETY_SEVERITY: Readonly<Record<string, Severity>> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low', NONE: 'info' };

const TOOL = 'safety';
const reader: ReportReader = new ReportReader(TOOL);

/**
 * Requirements files in scope, found like pip-audit's manifests (same scope, `exclude`, workspace
 * boundary and `manifests` input): Safety's `check` reads requirements files only.
 */
export async function findRequirementFiles(context: Pick<ToolContext, 'workspace' | 'targets' | 'exclude' | 'options'>): Promise<string[]> {
  const explicit = parseList(context.options['manifests']);
  const manifests = await discoverPythonManifests(context.workspace, context.targets, context.exclude, explicit);
  return manifests.filter((m) => m.kind === 'requirements').map((m) => m.path);
}

function severityOf(value: unknown, where: string, unknown: Severity): { severity: Severity; basis?: string } {
  if (value === null || value === undefined) return { severity: unknown, basis: `unknown → ${unknown} (unknown-severity)` };
  const field = reader.object(value, where);
  for (const version of ['cvssv3', 'cvssv2'] as const) {
    const cvss = field[version];
    if (cvss === null || cvss === undefined) continue;
    const c = reader.object(cvss, `${where}.${version}`);
    if (version === 'cvssv3' && c['base_severity'] !== undefined && c['base_severity'] !== null) {
      return { severity: reader.oneOf(c['base_severity'], `${where}.cvssv3.base_severity`, SAFETY_SEVERITY), basis: `Safety CVSS v3 ${String(c['base_score'] ?? '')}`.trim() };
    }
    const score = c['base_score'];
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) reader.fail(`${where}.${version}.base_score`, 'is not a CVSS score from 0 to 10');
    return { severity: severityFromScore(score), basis: `Safety CVSS ${version === 'cvssv3' ? 'v3' : 'v2'} ${score}` };
  }
  return { severity: unknown, basis: `unknown → ${unknown} (unknown-severity)` };
}

/** The line of `text` holding `raw` (the requirement as Safety read it), 1-based. */
function lineOf(text: string | undefined, raw: string): number | undefined {
  if (text === undefined || raw === '') return undefined;
  const index = text.split('\n').findIndex((line) => line.trim() === raw.trim() || line.trim().startsWith(`${raw.trim()} `) || line.trim().startsWith(`${raw.trim()};`));
  return index >= 0 ? index + 1 : undefined;
}

/**
 * Reads Safety's `check --output json` report (Safety 2.x/3.x `check` format: `report_meta`,
 * `vulnerabilities[]`). Ignored vulnerabilities (Safety's own policy file) are left out and counted
 * in a warning: the gate's exceptions belong in .secgate.yml, where they are visible.
 */
export function parseSafetyReport(text: string, requirementsFile: string, requirementsText: string | undefined, unknown: Severity): ParsedReport {
  const report = reader.object(parseJsonReport(TOOL, text), 'the report');
  if (report['report_meta'] === undefined) {
    if (typeof report['message'] === 'string' || typeof report['error'] === 'string') {
      throw new ToolOutputError(TOOL, `Safety answered with an error instead of a report: ${String(report['message'] ?? report['error']).split('\n')[0]!.slice(0, 200)}`);
    }
    reader.fail('report_meta', 'is missing: not a `safety check --output json` report');
  }
  reader.object(report['report_meta'], 'report_meta');
  const findings: RawFinding[] = [];
  let ignored = 0;
  reader.each(report['vulnerabilities'], 'vulnerabilities', (item, where) => {
    const v = reader.object(item, where);
    if (v['ignored'] === true) {
      ignored++;
      return;
    }
    const id = reader.word(v['vulnerability_id'], `${where}.vulnerability_id`);
    const rawName = reader.word(v['package_name'], `${where}.package_name`);
    const name = normalisePyPIName(rawName);
    const version = reader.word(v['analyzed_version'], `${where}.analyzed_version`);
    const advisory = reader.string(v['advisory'], `${where}.advisory`);
    const moreInfo = reader.optionalString(v['more_info_url'], `${where}.more_info_url`);
    const pve = moreInfo ? /\/(PVE-\d{4}-\d+)\//.exec(moreInfo)?.[1] : undefined;
    const ruleId = pve ?? `PYUP-${id}`;
    const cveField = v['CVE'] === null || v['CVE'] === undefined ? undefined : reader.word(v['CVE'], `${where}.CVE`);
    const aliases = [...new Set([ruleId, ...(cveField ? [cveField] : [])])].sort();
    const fixed = v['fixed_versions'] === undefined ? [] : reader.each(v['fixed_versions'], `${where}.fixed_versions`, (f, at) => reader.string(f, at)).filter((f) => f !== '');
    const { severity, basis } = severityOf(v['severity'], `${where}.severity`, unknown);
    const requirement = v['analyzed_requirement'] === undefined || v['analyzed_requirement'] === null ? undefined : reader.object(v['analyzed_requirement'], `${where}.analyzed_requirement`);
    const raw = requirement ? reader.string(requirement['raw'], `${where}.analyzed_requirement.raw`) : '';
    const line = lineOf(requirementsText, raw);
    const location: FindingLocation = line ? { path: requirementsFile, startLine: line, endLine: line } : { path: requirementsFile };
    const summary = advisory.split('\n')[0]!.slice(0, 160);
    findings.push({
      tool: TOOL,
      ruleId,
      title: `${name} ${version}: ${ruleId} ${summary}`,
      message: `${name} ${version} (PyPI) is affected by ${aliases.join(', ')} (severity ${severity}: ${basis}). Fixed in: ${fixed.length > 0 ? fixed.join(', ') : 'no fixed version known'}; ${fixed.length > 0 ? `upgrade ${name} to ${fixed[0]}` : 'no fixed version is known'}.`,
      severity,
      severityBasis: basis,
      location,
      cve: cveField ? [cveField] : undefined,
      aliases,
      package: { name, version, ecosystem: 'PyPI', fixedVersions: fixed },
      helpUri: moreInfo,
      identity: `PyPI:${name}@${version}:${aliases[0]}`,
      tags: ['dependency', 'PyPI']
    });
  });
  return { findings, warnings: ignored > 0 ? [`${ignored} vulnerabilit${ignored === 1 ? 'y' : 'ies'} ignored by Safety's own policy in ${requirementsFile} (not shown; put exceptions in .secgate.yml)`] : [] };
}

export const safetyAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'Safety',
  description: "Known-vulnerable Python packages in requirements files (Safety's commercial database). Opt-in; needs safety-api-key.",
  install: { kind: 'python', tool: TOOL, distribution: 'safety', module: 'safety', defaultVersion: '3.8.1' },
  defaultTimeoutMs: 10 * 60_000,
  severityMap: SAFETY_SEVERITY,
  async skip(context) {
    return (await findRequirementFiles(context)).length === 0 ? { reason: 'no requirements*.txt in scope', notApplicable: true } : undefined;
  },
  async command(_tool, context) {
    const key = context.options['safety-api-key'];
    if (!key) throw new ConfigurationError('the safety tool needs a Safety account key (input `safety-api-key`, a secret; CLI: SECGATE_SAFETY_API_KEY): Safety 3 does not run without one', 'safety-api-key');
    const unknown = unknownSeverityOption(context.options);
    const files = await findRequirementFiles(context);
    return Promise.all(
      files.map(async (file) => ({
        args: ['check', '-r', file, '--output', 'json'],
        // The key only in the environment: never argv (visible in ps) or a file.
        env: { SAFETY_API_KEY: key },
        mode: file,
        data: { file, text: await readFile(path.join(context.workspace, file), 'utf8').catch(() => undefined), unknown }
      }))
    );
  },
  exitMeaning(code): ExitMeaning {
    // safety check: 0 no vulnerabilities, 64 vulnerabilities found, anything else an error.
    return code === 0 ? 'clean' : code === 64 ? 'findings' : 'error';
  },
  parse(report, _context, invocation) {
    const data = invocation.data as { file: string; text?: string; unknown: Severity };
    return parseSafetyReport(report, data.file, data.text, data.unknown);
  }
};
