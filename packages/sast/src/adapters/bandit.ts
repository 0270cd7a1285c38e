import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  parseJsonReport,
  type Confidence,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter
} from '@secgate/core';

/**
 * Bandit: Python AST checks. https://bandit.readthedocs.io
 *
 * Severity × confidence → secgate severity. Bandit rates how bad a pattern is and, separately,
 * how sure it is; a low-confidence guess is lowered one step so it does not block on its own:
 *
 * | bandit severity | confidence HIGH / MEDIUM | confidence LOW |
 * |---|---|---|
 * | HIGH | high | medium |
 * | MEDIUM | medium | low |
 * | LOW | low | low |
 * | UNDEFINED | info | info |
 *
 * Any other word, a padded one (`"HIGH "`) or a missing field is a ToolOutputError, never a default.
 */
export const BANDIT_SEVERITY: Readonly<Record<string, Severity>> = {
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  UNDEFINED: 'info'
};

/** Bandit's confidence words; UNDEFINED means bandit did not say. */
const BANDIT_CONFIDENCE: Readonly<Record<string, Confidence | null>> = { HIGH: 'high', MEDIUM: 'medium', LOW: 'low', UNDEFINED: null };

const LOWER: Record<Severity, Severity> = { critical: 'high', high: 'medium', medium: 'low', low: 'low', info: 'info' };

const reader = new ReportReader('bandit');

/** Severity × confidence (case-insensitive words); an unknown or padded word is a ToolOutputError. */
export function banditSeverity(severity: string, confidence: string): Severity {
  const base = reader.oneOf(severity, 'issue_severity', BANDIT_SEVERITY);
  return reader.oneOf(confidence, 'issue_confidence', BANDIT_CONFIDENCE) === 'low' ? LOWER[base] : base;
}

/** Hardcoded password checks, whose messages contain the value found. */
const HARDCODED_SECRET_TESTS = new Set(['B105', 'B106', 'B107']);

/**
 * Bandit writes the value between quotes without escaping it (`'abc\'`, `'it's'`), so everything
 * from the first quote to the last is replaced, greedily.
 */
function redactQuoted(text: string): string {
  return text.replace(/(['"]).*\1/s, "'[REDACTED]'");
}

function readResult(item: unknown, where: string): RawFinding {
  const r = reader.object(item, where);
  const testId = reader.word(r['test_id'], `${where}.test_id`);
  const testName = reader.word(r['test_name'], `${where}.test_name`);
  const issueText = reader.string(r['issue_text'], `${where}.issue_text`);
  const startLine = reader.integer(r['line_number'], `${where}.line_number`, 1);
  const lineRange = r['line_range'] === undefined ? [] : reader.each(r['line_range'], `${where}.line_range`, (n, at) => reader.integer(n, at, 1));
  // A loop, not Math.max(...range): a huge range must not overflow the argument list.
  let endLine = startLine;
  for (const line of lineRange) if (line > endLine) endLine = line;
  const severity = reader.oneOf(r['issue_severity'], `${where}.issue_severity`, BANDIT_SEVERITY);
  const confidence = reader.oneOf(r['issue_confidence'], `${where}.issue_confidence`, BANDIT_CONFIDENCE);
  const colOffset = reader.optionalInteger(r['col_offset'], `${where}.col_offset`, 0);
  const endColOffset = reader.optionalInteger(r['end_col_offset'], `${where}.end_col_offset`, 0);
  const cweField = r['issue_cwe'] === undefined ? undefined : reader.object(r['issue_cwe'], `${where}.issue_cwe`);
  // CWE id 0 is bandit's "not set".
  const cweId = cweField && cweField['id'] !== undefined ? reader.integer(cweField['id'], `${where}.issue_cwe.id`, 0) : 0;
  const secretBearing = HARDCODED_SECRET_TESTS.has(testId);
  return {
    tool: 'bandit',
    ruleId: testId,
    title: `${testId} ${testName}`,
    // B105–B107 quote the password they found: never repeat it.
    message: secretBearing ? redactQuoted(issueText) : issueText,
    severity: confidence === 'low' ? LOWER[severity] : severity,
    confidence: confidence ?? undefined,
    location: {
      path: reader.path(r['filename'], `${where}.filename`),
      startLine,
      endLine,
      // Bandit columns are 0-based; ours (and GitHub's) are 1-based.
      startColumn: colOffset === undefined ? undefined : colOffset + 1,
      endColumn: endColOffset !== undefined && endLine === startLine ? endColOffset + 1 : undefined
    },
    cwe: cweId > 0 ? [`CWE-${cweId}`] : undefined,
    helpUri: reader.optionalString(r['more_info'], `${where}.more_info`),
    tags: [testName],
    sensitive: secretBearing || undefined
  };
}

/** Share of scanned files bandit may fail to parse before the run as a whole counts as failed. */
const MAX_FAILED_FILE_SHARE = 0.5;

/**
 * Reads bandit's JSON report. `errors[]` lists files bandit could not parse (a Python 2 file, a
 * syntax error). Rule: each is a file-level warning (the run goes on, the summary shows the count),
 * but when no file was analysed — every file bandit looked at (`metrics`, one key per file) is in
 * `errors[]`, or more than half of them are — the run failed (ToolFailureError): its silence says
 * nothing about the code.
 */
export function parseBanditReport(text: string): ParsedReport {
  const parsed = parseJsonReport('bandit', text);
  const report = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (Array.isArray(parsed) || !Array.isArray(report['results']) || !Array.isArray(report['errors'])) {
    throw new ToolOutputError('bandit', 'the report has no results/errors arrays: not bandit JSON output');
  }
  const findings = reader.each(report['results'], 'results', readResult);
  const errors = reader.each(report['errors'], 'errors', (item, where) => {
    const e = reader.object(item, where);
    return { file: reader.path(e['filename'], `${where}.filename`), reason: reader.string(e['reason'], `${where}.reason`) };
  });
  const metrics = report['metrics'] === undefined ? undefined : reader.object(report['metrics'], 'metrics');
  const files = metrics ? Object.keys(metrics).filter((key) => key !== '_totals') : [];
  const failedFiles = new Set(errors.map((e) => e.file));
  if (failedFiles.size > 0 && (failedFiles.size >= files.length || failedFiles.size > files.length * MAX_FAILED_FILE_SHARE)) {
    throw new ToolFailureError(
      'bandit',
      `could not analyse ${failedFiles.size} of ${Math.max(files.length, failedFiles.size)} file(s) (${errors[0]!.file.replace(/^\.\//, '')}: ${errors[0]!.reason}${errors.length > 1 ? ', …' : ''}): the run checked too little to count`
    );
  }
  return { findings, warnings: errors.map((e) => `${e.file.replace(/^\.\//, '')}: ${e.reason}`) };
}

async function hasBanditSection(file: string): Promise<boolean> {
  try {
    return /^\s*\[tool\.bandit[\].]/m.test(await readFile(file, 'utf8'));
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch {
    return false;
  }
}

export const banditAdapter: ToolAdapter = {
  id: 'bandit',
  displayName: 'Bandit',
  description: 'Insecure patterns in Python code (AST checks, incl. B614 torch.load and B615 unpinned Hugging Face downloads).',
  install: { kind: 'python', tool: 'bandit', distribution: 'bandit', module: 'bandit', defaultVersion: '1.9.4' },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: BANDIT_SEVERITY,
  async command(_tool, context) {
    const report = path.join(context.workDir, 'bandit.json');
    const args = ['-r', ...context.targets, '-f', 'json', '-o', report, '-q'];
    // The repo's own configuration wins over our defaults: `.bandit` (INI) and `[tool.bandit]`.
    if (await exists(path.join(context.workspace, '.bandit'))) args.push('--ini', '.bandit');
    const pyproject = path.join(context.workspace, 'pyproject.toml');
    if (await hasBanditSection(pyproject)) args.push('-c', 'pyproject.toml');
    // One scan scope for the stage (see semgrep.ts): `-x` replaces bandit's default list, whose
    // entries match as substrings (`.git` also left out `.github/`), with `.git/` alone.
    args.push('-x', ['*/.git/*', ...context.exclude].join(','));
    return { args, reportFile: report };
  },
  exitMeaning(code): ExitMeaning {
    // bandit/cli/main.py: 0 no issues, 1 issues found, 2 usage or configuration error.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse: (report) => parseBanditReport(report)
};
