import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
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
 */
export const BANDIT_SEVERITY: Readonly<Record<string, Severity>> = {
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  UNDEFINED: 'info'
};

const LOWER: Record<Severity, Severity> = { critical: 'high', high: 'medium', medium: 'low', low: 'low', info: 'info' };

export function banditSeverity(severity: string, confidence: string): Severity {
  const base = BANDIT_SEVERITY[severity.toUpperCase()] ?? 'info';
  return confidence.toUpperCase() === 'LOW' ? LOWER[base] : base;
}

interface BanditResult {
  code?: string;
  col_offset?: number;
  end_col_offset?: number;
  filename: string;
  issue_confidence: string;
  issue_severity: string;
  issue_cwe?: { id?: number; link?: string };
  issue_text: string;
  line_number: number;
  line_range?: number[];
  more_info?: string;
  test_id: string;
  test_name: string;
}

interface BanditReport {
  errors: { filename: string; reason: string }[];
  results: BanditResult[];
  metrics?: unknown;
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

export function parseBanditReport(text: string): ParsedReport {
  const report = parseJsonReport<BanditReport>('bandit', text);
  if (!report || !Array.isArray(report.results) || !Array.isArray(report.errors)) {
    throw new ToolOutputError('bandit', 'the report has no results/errors arrays: not bandit JSON output');
  }
  const findings = report.results.map((r): RawFinding => {
    const secretBearing = HARDCODED_SECRET_TESTS.has(r.test_id);
    if (typeof r.test_id !== 'string' || typeof r.filename !== 'string' || typeof r.line_number !== 'number') {
      throw new ToolOutputError('bandit', 'a result lacks test_id, filename or line_number');
    }
    const lines = r.line_range && r.line_range.length > 0 ? r.line_range : [r.line_number];
    const startLine = r.line_number;
    const endLine = Math.max(startLine, ...lines);
    return {
      tool: 'bandit',
      ruleId: r.test_id,
      title: `${r.test_id} ${r.test_name}`,
      // B105–B107 quote the password they found: never repeat it.
      message: secretBearing ? redactQuoted(r.issue_text) : r.issue_text,
      severity: banditSeverity(r.issue_severity, r.issue_confidence),
      confidence: (r.issue_confidence?.toLowerCase() as Confidence) || undefined,
      location: {
        path: r.filename,
        startLine,
        endLine,
        // Bandit columns are 0-based; ours (and GitHub's) are 1-based.
        startColumn: typeof r.col_offset === 'number' ? r.col_offset + 1 : undefined,
        endColumn: typeof r.end_col_offset === 'number' && endLine === startLine ? r.end_col_offset + 1 : undefined
      },
      cwe: r.issue_cwe?.id ? [`CWE-${r.issue_cwe.id}`] : undefined,
      helpUri: r.more_info,
      tags: [r.test_name],
      sensitive: secretBearing || undefined
    };
  });
  return { findings, warnings: report.errors.map((e) => `${e.filename}: ${e.reason}`) };
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
    if (context.exclude.length > 0) args.push('-x', context.exclude.join(','));
    return { args, reportFile: report };
  },
  exitMeaning(code): ExitMeaning {
    // bandit/cli/main.py: 0 no issues, 1 issues found, 2 usage or configuration error.
    return code === 0 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse: (report) => parseBanditReport(report)
};
