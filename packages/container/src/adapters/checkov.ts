import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import {
  parseJsonReport,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  unknownSeverityOption,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import { Minimatch } from 'minimatch';
import { surveyIac, type IacSurvey } from '../helm-charts.js';
import { readIacPaths, readScanners } from '../options.js';

/**
 * Checkov: misconfigurations in Terraform, Kubernetes manifests, Dockerfiles, Helm charts and
 * GitHub Actions workflows, and secrets in those files. https://www.checkov.io
 *
 * Severity: open-source Checkov reports `severity: null` for every check without a Prisma Cloud
 * key (measured with 3.3.30), so secgate ships its own map, checkov-severity.json (rules and basis:
 * checkov-severity.md; rebuilt by scripts/gen-checkov-severity.py from Checkov's registries). When
 * Checkov does give a severity (a paid key), it is used as given.
 */
export const CHECKOV_VERSION = '3.3.30';

/** Checkov's severity words (reported only with a platform key). */
export const CHECKOV_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  INFO: 'info'
};

/** Frameworks for misconfigurations; `secrets` is added when the secret scanner is on. */
// No `helm`: Checkov renders charts with whatever `helm` is on PATH (GitHub's runners have one) and
// maps results back to templates unreliably; secgate installs no pinned helm yet, so every chart is
// listed as not checked by Checkov, the same on every machine (Trivy renders charts itself).
export const CHECKOV_MISCONFIG_FRAMEWORKS = ['terraform', 'kubernetes', 'dockerfile', 'github_actions'] as const;
const KNOWN_FRAMEWORKS: Readonly<Record<string, string>> = Object.fromEntries(
  [...CHECKOV_MISCONFIG_FRAMEWORKS, 'secrets'].map((name) => [name.toUpperCase(), name])
);

/** The file Checkov writes into `--output-file-path` for `-o json`. */
const REPORT_NAME = 'results_json.json';

interface SeverityRule {
  severity: Severity;
  basis: string;
}

export interface CheckovSeverityMap {
  checkov: string;
  rules: Readonly<Record<string, SeverityRule>>;
  /** check id → [rule key, check name]. */
  checks: Readonly<Record<string, readonly [string, string]>>;
}

/** Reads and checks checkov-severity.json: every check names a rule, every rule a severity. */
export function loadSeverityMap(text: string): CheckovSeverityMap {
  const map = JSON.parse(text) as CheckovSeverityMap;
  const severities = new Set(Object.values(CHECKOV_SEVERITY));
  for (const [key, rule] of Object.entries(map.rules)) {
    if (!severities.has(rule.severity) || typeof rule.basis !== 'string') throw new Error(`checkov-severity.json: rule ${key} is malformed`);
  }
  for (const [id, entry] of Object.entries(map.checks)) {
    if (!Array.isArray(entry) || !map.rules[entry[0]]) throw new Error(`checkov-severity.json: ${id} names no known rule`);
  }
  return map;
}

// One static read (ncc copies the file next to the bundle, as for the tool locks).
export const CHECKOV_SEVERITY_MAP = loadSeverityMap(readFileSync(new URL('../checkov-severity.json', import.meta.url), 'utf8'));

const reader = new ReportReader('checkov');

/** What `command` worked out and `parse` needs. */
export interface CheckovPlan {
  workspace: string;
  /** Absolute directories given as `-d`. */
  dirs: string[];
  /** Absolute files given as `-f`. */
  files: string[];
  /** Workspace-relative Helm charts Checkov does not render (see CHECKOV_MISCONFIG_FRAMEWORKS). */
  unrenderedCharts: string[];
  exclude: string[];
  unknownSeverity: Severity;
}

function toPosix(relative: string): string {
  return relative.split(path.sep).join('/');
}

/**
 * Where a finding is, workspace-relative. `file_abs_path` is read (with absolute `-d`, measured:
 * `repo_file_path` doubles a relative -d, and `file_path` is relative to whichever -d holds the
 * file), and only accepted when it is `file_path` below one of the -d directories, or a -f file.
 */
function locate(check: Record<string, unknown>, where: string, plan: CheckovPlan): { absolute: string; relative: string } {
  const filePath = reader.path(check['file_path'], `${where}.file_path`);
  const absolute = reader.path(check['file_abs_path'], `${where}.file_abs_path`);
  // Below the directory, not merely equal after normalising: `/../../etc/passwd` joined to any -d is /etc/passwd.
  const below = (dir: string): boolean => {
    const relative = path.relative(dir, absolute);
    return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
  };
  const consistent =
    path.isAbsolute(absolute) &&
    ((plan.files.includes(absolute) && filePath === absolute) || plan.dirs.some((dir) => path.join(dir, filePath) === path.normalize(absolute) && below(dir)));
  if (!consistent) reader.fail(`${where}.file_abs_path`, `(${JSON.stringify(absolute.slice(0, 200))}) is not file_path below a scanned directory`);
  return { absolute: path.normalize(absolute), relative: toPosix(path.relative(plan.workspace, absolute)) };
}

function readSeverity(value: unknown, where: string, checkId: string, plan: CheckovPlan): { severity: Severity; severityBasis: string } {
  if (value !== null && value !== undefined) {
    const severity = reader.oneOf(value, where, CHECKOV_SEVERITY);
    return { severity, severityBasis: `checkov: ${String(value).toUpperCase()}` };
  }
  const mapped = CHECKOV_SEVERITY_MAP.checks[checkId];
  if (mapped) {
    const rule = CHECKOV_SEVERITY_MAP.rules[mapped[0]]!;
    return { severity: rule.severity, severityBasis: `secgate checkov map: ${mapped[0]} (${rule.basis})` };
  }
  return {
    severity: plan.unknownSeverity,
    severityBasis: `unknown: not in secgate's checkov map (checkov ${CHECKOV_SEVERITY_MAP.checkov}); unknown-severity ${plan.unknownSeverity}`
  };
}

function readFailedCheck(item: unknown, where: string, framework: string, plan: CheckovPlan): RawFinding {
  const check = reader.object(item, where);
  const checkId = reader.word(check['check_id'], `${where}.check_id`);
  const checkName = reader.word(check['check_name'], `${where}.check_name`).trim();
  const result = reader.object(check['check_result'], `${where}.check_result`);
  if (reader.string(result['result'], `${where}.check_result.result`) !== 'FAILED') reader.fail(`${where}.check_result.result`, 'is not FAILED in failed_checks');
  const resource = reader.word(check['resource'], `${where}.resource`);
  const range = reader.array(check['file_line_range'], `${where}.file_line_range`);
  if (range.length !== 2) reader.fail(`${where}.file_line_range`, `has ${range.length} elements, expected 2`);
  // A resource Checkov cannot place (a whole-file check on an empty file) is at line 0.
  const first = reader.integer(range[0], `${where}.file_line_range[0]`, 0);
  const last = reader.integer(range[1], `${where}.file_line_range[1]`, 0);
  if (last < first) reader.fail(`${where}.file_line_range`, `ends (${last}) before it starts (${first})`);
  const guideline = check['guideline'] === null ? undefined : reader.optionalString(check['guideline'], `${where}.guideline`);
  const { relative } = locate(check, where, plan);
  const secret = framework === 'secrets';
  const startLine = first >= 1 ? first : undefined;
  const { severity, severityBasis } = readSeverity(check['severity'], `${where}.severity`, checkId, plan);
  return {
    tool: 'checkov',
    ruleId: checkId,
    title: checkName,
    // The secrets framework's `resource` is a hash of the value: the identity, not something to show.
    message: secret
      ? `${checkName}: a secret in ${relative} (value not shown)`
      : `${checkName} — resource ${resource}${guideline ? ` (guide: ${guideline})` : ''}`,
    severity,
    severityBasis,
    location: {
      path: relative,
      startLine,
      // Kubernetes and Terraform: the whole resource, as Checkov reports it. Secrets: Checkov gives
      // [line, line + 1] for a one-line match (measured), so only the first line is the secret's.
      endLine: startLine === undefined ? undefined : secret ? startLine : Math.max(startLine, last)
    },
    helpUri: guideline && /^https?:\/\//.test(guideline) ? guideline : undefined,
    tags: [secret ? 'secret' : 'misconfiguration', framework],
    identity: `${checkId}|${resource}|${relative}`,
    sensitive: secret || undefined
  };
}

const SUMMARY_KEYS = ['passed', 'failed', 'skipped', 'parsing_errors', 'resource_count'] as const;

function readSummary(value: unknown, where: string): Record<(typeof SUMMARY_KEYS)[number], number> & { version: string } {
  const summary = reader.object(value, where);
  const counts = Object.fromEntries(SUMMARY_KEYS.map((key) => [key, reader.integer(summary[key], `${where}.${key}`, 0)])) as Record<(typeof SUMMARY_KEYS)[number], number>;
  return { ...counts, version: reader.word(summary['checkov_version'], `${where}.checkov_version`) };
}

interface FrameworkReport {
  framework: string;
  findings: RawFinding[];
  passed: number;
  skipped: number;
  resources: number;
  /** Absolute paths of files with any check result (parsed). */
  parsedFiles: Set<string>;
  /** Absolute paths Checkov could not parse. */
  parsingErrors: string[];
}

function readFrameworkReport(value: unknown, where: string, plan: CheckovPlan): FrameworkReport {
  const report = reader.object(value, where);
  const framework = reader.oneOf(report['check_type'], `${where}.check_type`, KNOWN_FRAMEWORKS);
  const results = reader.object(report['results'], `${where}.results`);
  const summary = readSummary(report['summary'], `${where}.summary`);
  const failedChecks = reader.array(results['failed_checks'], `${where}.results.failed_checks`);
  const passedChecks = reader.array(results['passed_checks'], `${where}.results.passed_checks`);
  const skippedChecks = reader.array(results['skipped_checks'], `${where}.results.skipped_checks`);
  const parsingErrors = reader.each(results['parsing_errors'], `${where}.results.parsing_errors`, (item, at) => reader.path(item, at));
  const counted: [string, number, number][] = [
    ['failed', failedChecks.length, summary.failed],
    ['passed', passedChecks.length, summary.passed],
    ['skipped', skippedChecks.length, summary.skipped],
    ['parsing_errors', parsingErrors.length, summary.parsing_errors]
  ];
  for (const [key, listed, total] of counted) {
    if (listed !== total) reader.fail(`${where}.summary.${key}`, `is ${total}, but the results list ${listed}`);
  }
  const findings = failedChecks.map((item, index) => readFailedCheck(item, `${where}.results.failed_checks[${index}]`, framework, plan));
  const parsedFiles = new Set<string>();
  for (const [list, key] of [
    [failedChecks, 'failed_checks'],
    [passedChecks, 'passed_checks'],
    [skippedChecks, 'skipped_checks']
  ] as const) {
    list.forEach((item, index) => {
      const at = `${where}.results.${key}[${index}]`;
      parsedFiles.add(locate(reader.object(item, at), at, plan).absolute);
    });
  }
  return { framework, findings, passed: summary.passed, skipped: summary.skipped, resources: summary.resource_count, parsedFiles, parsingErrors };
}

/** Share of files Checkov may fail to parse before the run as a whole counts as failed (as for bandit). */
const MAX_FAILED_FILE_SHARE = 0.5;

/**
 * Reads Checkov's JSON report in its three shapes: one framework's report (an object with
 * `check_type`), several (an array of those), or, when no framework found anything to check, a bare
 * summary `{passed, failed, skipped, parsing_errors, resource_count, checkov_version}`.
 *
 * Failed checks are findings; checks suppressed in the code (`checkov:skip`) are counted, not
 * reported. `parsing_errors` (files Checkov could not parse) are warnings, but when no file parsed,
 * or more of them failed than parsed, the run failed (ToolFailureError): its silence says nothing.
 * Charts in `plan.unrenderedCharts` are not checked (unchecked items).
 */
export function parseCheckovReport(text: string, plan: CheckovPlan): ParsedReport {
  const parsed = parseJsonReport('checkov', text);
  let reports: FrameworkReport[];
  if (Array.isArray(parsed)) {
    reports = parsed.map((item, index) => readFrameworkReport(item, `[${index}]`, plan));
  } else if (typeof parsed === 'object' && parsed !== null && 'check_type' in parsed) {
    reports = [readFrameworkReport(parsed, 'report', plan)];
  } else if (typeof parsed === 'object' && parsed !== null && 'checkov_version' in parsed) {
    const summary = readSummary(parsed, 'summary');
    // Checkov writes the bare summary only when no framework had anything to report.
    for (const key of ['failed', 'passed', 'skipped', 'parsing_errors', 'resource_count'] as const) {
      if (summary[key] !== 0) reader.fail(`summary.${key}`, `is ${summary[key]} in a bare summary (no results to go with it)`);
    }
    reports = [];
  } else {
    throw new ToolOutputError('checkov', 'the report is neither a framework report, a list of them nor a bare summary: not Checkov JSON output');
  }

  const excluders = plan.exclude.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
  const relativeOf = (absolute: string): string => toPosix(path.relative(plan.workspace, absolute));
  const parsedFiles = new Set(reports.flatMap((r) => [...r.parsedFiles]));
  const failedFiles = [...new Set(reports.flatMap((r) => r.parsingErrors))]
    .filter((file) => !parsedFiles.has(file))
    .filter((file) => !excluders.some((m) => m.match(relativeOf(file))));
  if (failedFiles.length > 0 && (parsedFiles.size === 0 || failedFiles.length > (failedFiles.length + parsedFiles.size) * MAX_FAILED_FILE_SHARE)) {
    throw new ToolFailureError(
      'checkov',
      `could not parse ${failedFiles.length} of ${failedFiles.length + parsedFiles.size} file(s) (${relativeOf(failedFiles[0]!)}${failedFiles.length > 1 ? ', …' : ''}): the run checked too little to count`
    );
  }
  const warnings = failedFiles.map((file) => `${relativeOf(file)}: Checkov could not parse it (not checked)`);
  if (failedFiles.length > 1) warnings.unshift(`${failedFiles.length} files Checkov could not parse`);

  const facts: string[] = [];
  const checked = reports.filter((r) => r.resources > 0 || r.findings.length > 0 || r.passed > 0);
  if (checked.length > 0) {
    const resources = checked.reduce((sum, r) => sum + r.resources, 0);
    const passed = checked.reduce((sum, r) => sum + r.passed, 0);
    const failed = checked.reduce((sum, r) => sum + r.findings.length, 0);
    facts.push(`${resources} resource(s) in ${checked.map((r) => r.framework).join(', ')}: ${passed} check(s) passed, ${failed} failed`);
  } else {
    facts.push('no Terraform, Kubernetes, Dockerfile, Helm or GitHub Actions resource found to check');
  }
  const skipped = reports.reduce((sum, r) => sum + r.skipped, 0);
  if (skipped > 0) facts.push(`${skipped} check(s) suppressed in the code (checkov:skip)`);

  const unchecked: UncheckedItem[] = plan.unrenderedCharts.map((chart) => ({ kind: 'file', name: chart, reason: 'Helm chart not rendered by Checkov (no pinned helm yet; Trivy renders charts)' }));
  return { findings: reports.flatMap((r) => r.findings), warnings, unchecked, facts };
}

/**
 * `--skip-path` regexes for the literal `exclude` patterns (`vendor`, `infra/legacy`): Checkov
 * searches each in the absolute paths it walks, so the workspace is prefixed and the match anchored.
 * Glob patterns are not passed (minimatch no longer turns globs into regexes, and Python's syntax
 * differs): the engine filters findings by every pattern and the parser drops parse errors in
 * excluded files, so a skip here only saves work.
 */
function skipPathPatterns(workspace: string, exclude: readonly string[]): string[] {
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return exclude
    .filter((pattern) => !new Minimatch(pattern, { dot: true }).hasMagic())
    .map((pattern) => `^${escape(path.join(workspace, pattern.replace(/\/$/, '')))}(/|$)`);
}

/** The IaC paths and their survey, walked once per run: `skip` and `command` get the same context. */
const surveys = new WeakMap<ToolContext, Promise<{ targets: string[]; survey: IacSurvey }>>();
function surveyOf(context: ToolContext): Promise<{ targets: string[]; survey: IacSurvey }> {
  let surveyed = surveys.get(context);
  if (!surveyed) {
    surveyed = readIacPaths(context).then(async (targets) => ({ targets, survey: await surveyIac(context.workspace, targets, context.exclude) }));
    surveys.set(context, surveyed);
  }
  return surveyed;
}

async function plan(context: ToolContext): Promise<{ plan: CheckovPlan; frameworks: string[]; charts: string[] }> {
  const scanners = readScanners(context.options);
  const frameworks = [...(scanners.has('misconfig') ? CHECKOV_MISCONFIG_FRAMEWORKS : []), ...(scanners.has('secret') ? ['secrets'] : [])];
  const { targets, survey } = await surveyOf(context);
  const dirs: string[] = [];
  const files: string[] = [];
  for (const target of targets) {
    const absolute = path.resolve(context.workspace, target);
    ((await stat(absolute)).isDirectory() ? dirs : files).push(absolute);
  }
  return {
    plan: {
      workspace: path.resolve(context.workspace),
      dirs,
      files,
      unrenderedCharts: scanners.has('misconfig') ? survey.charts : [],
      exclude: context.exclude,
      unknownSeverity: unknownSeverityOption(context.options)
    },
    frameworks,
    charts: survey.charts
  };
}

export const checkovAdapter: ToolAdapter = {
  id: 'checkov',
  displayName: 'Checkov',
  description: 'Misconfigurations in Terraform, Kubernetes manifests, Dockerfiles, Helm charts and GitHub Actions workflows, and secrets in them; severities from a documented secgate map.',
  // `python -m checkov.main`: the module Checkov's own `checkov` script runs (it ships no entry point).
  install: { kind: 'python', tool: 'checkov', distribution: 'checkov', module: 'checkov.main', defaultVersion: CHECKOV_VERSION },
  defaultTimeoutMs: 30 * 60_000,
  severityMap: CHECKOV_SEVERITY,
  async skip(context) {
    const scanners = readScanners(context.options);
    if (!scanners.has('misconfig') && !scanners.has('secret')) return { reason: "'scanners' includes neither misconfig nor secret", notApplicable: true };
    const { survey } = await surveyOf(context);
    if (!survey.hasCheckovInput) return { reason: 'no Terraform, Kubernetes manifest, Dockerfile, Helm chart or GitHub workflow in scope', notApplicable: true };
    return undefined;
  },
  async command(_tool, context): Promise<ToolInvocation> {
    const { plan: checkovPlan, frameworks } = await plan(context);
    const args = [
      ...checkovPlan.dirs.flatMap((dir) => ['-d', dir]),
      ...checkovPlan.files.flatMap((file) => ['-f', file]),
      '--framework',
      frameworks.join(','),
      '-o',
      'json',
      '--output-file-path',
      context.workDir,
      // Offline and quiet: no policy download from the platform.
      '--skip-download',
      // No code blocks in the report: for secrets they hold the start of the value.
      '--compact',
      // Not --quiet: it drops the parsing_errors list (which files failed) along with passed checks.
      '--skip-path',
      '/\\.git$'
    ];
    for (const pattern of skipPathPatterns(checkovPlan.workspace, context.exclude)) args.push('--skip-path', pattern);
    return {
      args,
      reportFile: path.join(context.workDir, REPORT_NAME),
      data: { plan: checkovPlan }
    };
  },
  exitMeaning(code): ExitMeaning {
    // 0: no failed check; 1: failed checks — or a crash, which writes no report (the engine then
    // fails on the missing file). Anything else is an error.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse(report, _context, invocation) {
    const checkovPlan = invocation.data?.['plan'] as CheckovPlan | undefined;
    if (!checkovPlan) throw new ToolOutputError('checkov', 'internal: the invocation carries no plan');
    return parseCheckovReport(report, checkovPlan);
  }
};
