import { access } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ReportReader,
  ToolOutputError,
  parseJsonReport,
  type ExitMeaning,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolInvocation,
  type UncheckedItem,
  severityRank
} from '@secgate/core';
import { TENSORFLOW_FORMATS, discoverModelFiles, type ModelFile } from '../models.js';
import { operatorId } from './picklescan.js';

/**
 * modelscan (Protect AI): unsafe operators in pickle, PyTorch, numpy, Keras (`.h5`, `.keras`) and
 * TensorFlow SavedModel files. https://github.com/protectai/modelscan
 *
 * Run once per model file (`scan -p <file> -r json -o <report>`), so every entry of a report
 * belongs to one file. The gate reads the JSON (`summary`, `issues`, `errors`, `skipped`), never
 * the exit code alone: measured with 0.8.8, a scan with both issues and errors exits 2, not 1.
 *
 * Severity: modelscan's own, one to one (CRITICAL → critical, HIGH → high, MEDIUM → medium,
 * LOW → low); any other word is a ToolOutputError.
 *
 * A file is unchecked (never clean) when modelscan reports an error for it, skipped it, or scanned
 * nothing in it; a zip member it skips as unsupported (`archive/version` of a torch zip) is not an
 * error, a bad zip is. Known limits (measured with 0.8.8, which is why picklescan runs too):
 * - a legacy (non-zip) torch `.pth` whose payload is in its fourth pickle reads as clean;
 * - `.h5`, `.keras` and SavedModel files need the `tensorflow` extra (hundreds of MB), which secgate
 *   does not install: modelscan reports a dependency error and those files are unchecked with the
 *   reason "needs modelscan[tensorflow]" (a named error, unless the ledger allows the file);
 * - its `.npy` scanner calls `numpy.lib.format._check_version`, gone in numpy 2.3: the lock pins
 *   numpy below 2.3.
 * A `modelscan-settings.toml` at the workspace root is modelscan's own default and is used (like
 * bandit's `.bandit`), with a warning in the run, since it can turn scanners off.
 */
export const MODELSCAN_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low'
};

const reader = new ReportReader('modelscan');

const TENSORFLOW_REASON = 'needs modelscan[tensorflow], which secgate does not install';

function fileOf(invocation: ToolInvocation): ModelFile {
  const file = invocation.data?.['file'] as ModelFile | undefined;
  if (!file) throw new ToolOutputError('modelscan', 'internal: the invocation names no model file');
  return file;
}

/** `<name>` or `<name>:<member>` — modelscan's sources are relative to the scanned file's folder. */
function memberOf(source: string, file: ModelFile, where: string): string | undefined {
  const base = path.basename(file.absolute);
  if (source === base) return undefined;
  if (source.startsWith(`${base}:`)) return source.slice(base.length + 1);
  return reader.fail(where, `names ${JSON.stringify(operatorId(source).slice(0, 80))}, not the scanned file ${JSON.stringify(base)}`);
}

function shortText(text: string, file: ModelFile): string {
  const relative = text.split(file.absolute).join(file.path).replace(/\s+/g, ' ').trim();
  return relative.length > 300 ? `${relative.slice(0, 299)}…` : relative;
}

/** Reads modelscan's JSON report for one model file. */
export function parseModelscanReport(text: string, file: ModelFile, options: { repoSettings?: boolean } = {}): ParsedReport {
  const report = reader.object(parseJsonReport('modelscan', text), 'report');
  const summary = reader.object(report['summary'], 'summary');
  reader.word(summary['modelscan_version'], 'summary.modelscan_version');
  const totalIssues = reader.integer(summary['total_issues'], 'summary.total_issues', 0);
  const bySeverity = reader.object(summary['total_issues_by_severity'], 'summary.total_issues_by_severity');
  const scanned = reader.object(summary['scanned'], 'summary.scanned');
  const totalScanned = reader.integer(scanned['total_scanned'], 'summary.scanned.total_scanned', 0);
  const scannedFiles =
    scanned['scanned_files'] === undefined ? [] : reader.each(scanned['scanned_files'], 'summary.scanned.scanned_files', (s, at) => reader.path(s, at));
  if (scannedFiles.length !== totalScanned) reader.fail('summary.scanned.total_scanned', `is ${totalScanned}, but ${scannedFiles.length} file(s) are listed`);
  scannedFiles.forEach((source, index) => memberOf(source, file, `summary.scanned.scanned_files[${index}]`));
  // `--show-skipped` keeps the list in the report.
  const skippedSection = reader.object(summary['skipped'], 'summary.skipped');
  const skipped = reader.each(skippedSection['skipped_files'], 'summary.skipped.skipped_files', (item, at) => {
    const s = reader.object(item, at);
    const source = reader.path(s['source'], `${at}.source`);
    return {
      category: reader.word(s['category'], `${at}.category`),
      description: reader.string(s['description'], `${at}.description`),
      member: memberOf(source, file, `${at}.source`)
    };
  });
  if (reader.integer(skippedSection['total_skipped'], 'summary.skipped.total_skipped', 0) !== skipped.length) {
    reader.fail('summary.skipped.total_skipped', `differs from the ${skipped.length} skipped file(s) listed`);
  }

  const issues = reader.each(report['issues'], 'issues', (item, at) => {
    const i = reader.object(item, at);
    const module = reader.string(i['module'], `${at}.module`);
    const operator = reader.string(i['operator'], `${at}.operator`);
    if (module === '' && operator === '') reader.fail(at, 'names no module and no operator');
    return {
      id: operatorId(module === '' ? operator : `${module}.${operator}`),
      severity: reader.oneOf(i['severity'], `${at}.severity`, MODELSCAN_SEVERITY),
      description: reader.string(i['description'], `${at}.description`),
      scanner: reader.word(i['scanner'], `${at}.scanner`),
      member: memberOf(reader.path(i['source'], `${at}.source`), file, `${at}.source`)
    };
  });
  if (issues.length !== totalIssues) reader.fail('summary.total_issues', `is ${totalIssues}, but ${issues.length} issue(s) are listed`);
  for (const [word, severity] of Object.entries(MODELSCAN_SEVERITY)) {
    const counted = reader.integer(bySeverity[word], `summary.total_issues_by_severity.${word}`, 0);
    const listed = issues.filter((i) => i.severity === severity).length;
    if (counted !== listed) reader.fail(`summary.total_issues_by_severity.${word}`, `is ${counted}, but ${listed} such issue(s) are listed`);
  }

  const errors = reader.each(report['errors'], 'errors', (item, at) => {
    const e = reader.object(item, at);
    const source = e['source'] === undefined ? undefined : reader.path(e['source'], `${at}.source`);
    return {
      category: reader.word(e['category'], `${at}.category`),
      description: reader.string(e['description'], `${at}.description`),
      member: source === undefined ? undefined : memberOf(source, file, `${at}.source`)
    };
  });

  const reasons: string[] = [];
  const dependencyMissing = errors.some((e) => e.category === 'DEPENDENCY');
  if (dependencyMissing && TENSORFLOW_FORMATS.has(file.format)) reasons.push(TENSORFLOW_REASON);
  for (const e of errors) {
    if (e.category === 'DEPENDENCY' && TENSORFLOW_FORMATS.has(file.format)) continue;
    reasons.push(`${e.category}${e.member ? ` in ${e.member}` : ''}: ${shortText(e.description, file)}`);
  }
  for (const s of skipped) {
    // A torch zip's `version`/`byteorder` entries are not models: unsupported members are expected.
    if (s.member !== undefined && s.category === 'SCAN_NOT_SUPPORTED') continue;
    reasons.push(`skipped${s.member ? ` ${s.member}` : ''} (${s.category}: ${shortText(s.description, file)})`);
  }
  if (totalScanned === 0 && issues.length === 0 && reasons.length === 0) reasons.push('modelscan found nothing in it to scan');

  const byId = new Map<string, (typeof issues)[number]>();
  for (const issue of issues) {
    const seen = byId.get(issue.id);
    if (!seen || severityRank(issue.severity) > severityRank(seen.severity)) byId.set(issue.id, issue);
  }
  const findings: RawFinding[] = [...byId.values()].map((issue) => ({
    tool: 'modelscan',
    ruleId: issue.id,
    title: `Model file uses unsafe operator ${issue.id}`,
    message: `${shortText(issue.description, file)} in ${file.path}${issue.member ? ` (${issue.member})` : ''}: loading the file runs it. Do not load it; get the model from a trusted source or in a format without code (safetensors).`,
    severity: issue.severity,
    location: { path: file.path },
    cwe: ['CWE-502'],
    helpUri: 'https://github.com/protectai/modelscan',
    tags: ['model', file.format],
    identity: `${file.sha256}:${issue.id}`
  }));
  const unchecked: UncheckedItem[] = reasons.length > 0 ? [{ kind: 'file', name: file.path, reason: `modelscan: ${reasons.join('; ')}` }] : [];
  const inventory: InventoryItem[] = [
    {
      kind: 'machine-learning-model',
      name: file.path,
      path: file.path,
      sha256: file.sha256,
      verdict: findings.length > 0 ? 'unsafe' : unchecked.length > 0 ? 'not-scanned' : 'clean'
    }
  ];
  const warnings = options.repoSettings ? ['modelscan used the repository\'s modelscan-settings.toml, which replaces its default scanners and operator lists'] : [];
  return { findings, warnings, unchecked, inventory };
}


export const modelscanAdapter: ToolAdapter = {
  id: 'modelscan',
  displayName: 'modelscan',
  description: 'Unsafe operators in model files (pickle, PyTorch, numpy; Keras and SavedModel need its tensorflow extra).',
  install: { kind: 'python', tool: 'modelscan', distribution: 'modelscan', module: 'modelscan', script: 'modelscan', defaultVersion: '0.8.8' },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: MODELSCAN_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    if ((await discoverModelFiles(context)).length > 0) return undefined;
    return { reason: 'no model file in scope (.pkl, .pickle, .joblib, .pt, .pth, .bin, .ckpt, .h5, .keras, .npy, .npz, SavedModel)', notApplicable: true };
  },
  async command(_tool, context) {
    const repoSettings = await access(path.join(context.workspace, 'modelscan-settings.toml')).then(
      () => true,
      () => false
    );
    const files = await discoverModelFiles(context);
    return files.map((file, index) => ({
      args: ['scan', '-p', file.absolute, '-r', 'json', '-o', path.join(context.workDir, `modelscan-${index}.json`), '--show-skipped', '-l', 'ERROR'],
      reportFile: path.join(context.workDir, `modelscan-${index}.json`),
      mode: file.path,
      data: { file, repoSettings }
    }));
  },
  exitMeaning(code): ExitMeaning {
    // modelscan/cli.py: 0 clean, 1 issues, 2 errors (with or without issues), 3 nothing scanned,
    // 4 usage error. For 2 and 3 the report says what was not read: the parser makes the file
    // unchecked, so neither reads as clean.
    return code === 0 || code === 2 || code === 3 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse: (report, _context, invocation) => parseModelscanReport(report, fileOf(invocation), { repoSettings: invocation.data?.['repoSettings'] === true })
};
