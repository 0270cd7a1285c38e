import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigurationError,
  ToolOutputError,
  parseJsonReport,
  parseList,
  type Confidence,
  type ExitMeaning,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter
} from '@secgate/core';

/**
 * Semgrep, registry-free: our ML rulepack (rules/ml) plus the user's local rule files. No login,
 * no metrics, no network. https://semgrep.dev/docs
 *
 * Severity words, old and new (semgrep ≥ 1.100 accepts both in rules and reports):
 * CRITICAL → critical; ERROR, HIGH → high; WARNING, MEDIUM → medium; LOW → low;
 * INFO, INVENTORY, EXPERIMENT → info.
 */
export const SEMGREP_SEVERITY: Readonly<Record<string, Severity>> = {
  CRITICAL: 'critical',
  ERROR: 'high',
  HIGH: 'high',
  WARNING: 'medium',
  MEDIUM: 'medium',
  LOW: 'low',
  INFO: 'info',
  INVENTORY: 'info',
  EXPERIMENT: 'info'
};

/** The ML rulepack shipped in this repository (beside dist/ in the action, beside packages/ in dev). */
export function rulepackDir(): string {
  const override = process.env['SECGATE_RULES_DIR'];
  if (override) return override;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'rules', 'ml');
    if (existsSync(path.join(candidate, 'README.md'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new ConfigurationError('the secgate ML rulepack (rules/ml) is missing from this installation', 'semgrep-rules');
}

interface SemgrepPosition {
  line: number;
  col: number;
}

interface SemgrepMatch {
  check_id: string;
  path: string;
  start: SemgrepPosition;
  end: SemgrepPosition;
  extra: {
    message?: string;
    severity?: string;
    metadata?: Record<string, unknown>;
    // `lines` and `fingerprint` read "requires login" on semgrep ≥ 1.100: never used.
  };
}

interface SemgrepOutput {
  version?: string;
  results: SemgrepMatch[];
  errors: { level?: string; type?: unknown; message?: string; path?: string }[];
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function parseSemgrepReport(text: string): ParsedReport {
  const output = parseJsonReport<SemgrepOutput>('semgrep', text);
  if (!output || !Array.isArray(output.results) || !Array.isArray(output.errors)) {
    throw new ToolOutputError('semgrep', 'the report has no results/errors arrays: not semgrep JSON output');
  }
  // Everything but the location depends on the rule and its message: computed once per rule.
  const perRule = new Map<string, Omit<RawFinding, 'location'>>();
  const ruleFacts = (match: SemgrepMatch): Omit<RawFinding, 'location'> => {
    const rawMessage = match.extra?.message ?? '';
    const cacheKey = `${match.check_id}\u0000${match.extra?.severity}\u0000${rawMessage}`;
    let facts = perRule.get(cacheKey);
    if (facts) return facts;
    const metadata = match.extra?.metadata ?? {};
    const severityWord = String(match.extra?.severity ?? 'INFO').toUpperCase();
    const cwe = asList(metadata['cwe'])
      .map((c) => /CWE-\d+/i.exec(c)?.[0]?.toUpperCase())
      .filter((c): c is string => Boolean(c));
    const confidence = String(metadata['confidence'] ?? '').toLowerCase();
    const message = rawMessage.trim();
    const shortName = match.check_id.split('.').pop() ?? match.check_id;
    facts = {
      tool: 'semgrep',
      ruleId: match.check_id,
      title: `${shortName}: ${message.split(/(?<=\.)\s/)[0]?.slice(0, 160) ?? ''}`,
      message,
      severity: SEMGREP_SEVERITY[severityWord] ?? 'info',
      confidence: ['high', 'medium', 'low'].includes(confidence) ? (confidence as Confidence) : undefined,
      cwe: cwe.length > 0 ? [...new Set(cwe)] : undefined,
      helpUri: asList(metadata['references'])[0] ?? asList(metadata['source'])[0],
      tags: asList(metadata['category'])
    };
    perRule.set(cacheKey, facts);
    return facts;
  };
  const findings = output.results.map((match): RawFinding => {
    if (typeof match.check_id !== 'string' || typeof match.path !== 'string' || !match.start) {
      throw new ToolOutputError('semgrep', 'a result lacks check_id, path or start');
    }
    return {
      ...ruleFacts(match),
      location: {
        path: match.path,
        startLine: match.start.line,
        endLine: match.end?.line ?? match.start.line,
        startColumn: match.start.col,
        endColumn: match.end?.line === match.start.line ? match.end.col : undefined
      }
    };
  });
  const warnings = output.errors.map((e) => `${e.level ?? 'error'}: ${e.path ? `${e.path}: ` : ''}${(e.message ?? JSON.stringify(e.type)).split('\n')[0]}`);
  return { findings, warnings };
}

/** Local rule paths only: a registry reference would need the network and a Semgrep account. */
export function userRuleConfigs(value: string | undefined, workspace: string): string[] {
  return parseList(value).map((entry) => {
    if (/^(p|r|s)\/|^auto$|^https?:\/\//.test(entry)) {
      throw new ConfigurationError(`'${entry}' is a registry or remote config; secgate runs Semgrep with local rule files only`, 'semgrep-rules');
    }
    const resolved = path.resolve(workspace, entry);
    if (!existsSync(resolved)) throw new ConfigurationError(`rule path '${entry}' does not exist`, 'semgrep-rules');
    return resolved;
  });
}

export const semgrepAdapter: ToolAdapter = {
  id: 'semgrep',
  displayName: 'Semgrep',
  description: 'Pattern and taint rules: the secgate ML rulepack (unsafe model loading, LLM output to sinks, …) plus your own.',
  install: { kind: 'python', tool: 'semgrep', distribution: 'semgrep', module: 'semgrep', script: 'semgrep', defaultVersion: '1.185.0' },
  defaultTimeoutMs: 20 * 60_000,
  severityMap: SEMGREP_SEVERITY,
  command(_tool, context) {
    const report = path.join(context.workDir, 'semgrep.json');
    const configs = [rulepackDir(), ...userRuleConfigs(context.options['semgrep-rules'], context.workspace)];
    const args = ['scan', ...configs.flatMap((c) => ['--config', c])];
    args.push('--json', '--output', report, '--metrics=off', '--disable-version-check', '--no-rewrite-rule-ids', '--quiet');
    for (const pattern of context.exclude) args.push('--exclude', pattern);
    args.push(...context.targets);
    return {
      args,
      reportFile: report,
      env: { SEMGREP_SEND_METRICS: 'off', SEMGREP_ENABLE_VERSION_CHECK: '0', SEMGREP_SETTINGS_FILE: path.join(context.workDir, 'settings.yml') }
    };
  },
  exitMeaning(code): ExitMeaning {
    // Without --error, findings exit 0; 2 fatal, 3 target parse, 4 rule parse, 5 bad YAML,
    // 7 missing config, 8 invalid language, 13 API key, 14 scan failure (semgrep/error.py).
    return code === 0 ? 'clean' : 'error';
  },
  parse: (report) => parseSemgrepReport(report)
};
