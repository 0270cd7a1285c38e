import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigurationError,
  ReportReader,
  ToolFailureError,
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
 * INFO, INVENTORY, EXPERIMENT → info. Any other word (or a padded one) is a ToolOutputError.
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

const reader = new ReportReader('semgrep');

/** Metadata is free-form rule text: strings are kept, anything else is ignored (it never sets a verdict). */
function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

const TITLE_MAX = 160;

/** The message's first sentence, cut at a word boundary with an ellipsis when longer than `max`. */
export function firstSentence(message: string, max = TITLE_MAX): string {
  const sentence = (message.split(/(?<=\.)\s/)[0] ?? '').replace(/\s+/g, ' ').trim();
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  // A single 160-character word is cut where it is; otherwise at the last space.
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '')}…`;
}

function readPosition(value: unknown, where: string): { line: number; col: number } {
  const position = reader.object(value, where);
  return { line: reader.integer(position['line'], `${where}.line`, 1), col: reader.integer(position['col'], `${where}.col`, 1) };
}

function readMatch(item: unknown, where: string, perRule: Map<string, Omit<RawFinding, 'location'>>): RawFinding {
  const match = reader.object(item, where);
  const checkId = reader.word(match['check_id'], `${where}.check_id`);
  const file = reader.path(match['path'], `${where}.path`);
  const start = readPosition(match['start'], `${where}.start`);
  const end = readPosition(match['end'], `${where}.end`);
  if (end.line < start.line) reader.fail(`${where}.end.line`, `(${end.line}) is before start.line (${start.line})`);
  const extra = reader.object(match['extra'], `${where}.extra`);
  const rawMessage = reader.string(extra['message'], `${where}.extra.message`);
  const severity = reader.oneOf(extra['severity'], `${where}.extra.severity`, SEMGREP_SEVERITY);
  const metadata = extra['metadata'] === undefined ? {} : reader.object(extra['metadata'], `${where}.extra.metadata`);
  // Everything but the location depends on the rule and its message: computed once per rule.
  const cacheKey = `${checkId}\u0000${severity}\u0000${rawMessage}`;
  let facts = perRule.get(cacheKey);
  if (!facts) {
    const cwe = asList(metadata['cwe'])
      .map((c) => /CWE-\d+/i.exec(c)?.[0]?.toUpperCase())
      .filter((c): c is string => Boolean(c));
    const confidence = asList(metadata['confidence'])[0]?.toLowerCase() ?? '';
    const message = rawMessage.trim();
    const shortName = checkId.split('.').pop() || checkId;
    facts = {
      tool: 'semgrep',
      ruleId: checkId,
      title: `${shortName}: ${firstSentence(message)}`,
      message,
      severity,
      confidence: ['high', 'medium', 'low'].includes(confidence) ? (confidence as Confidence) : undefined,
      cwe: cwe.length > 0 ? [...new Set(cwe)] : undefined,
      helpUri: asList(metadata['references'])[0] ?? asList(metadata['source'])[0],
      tags: asList(metadata['category'])
    };
    perRule.set(cacheKey, facts);
  }
  return {
    ...facts,
    location: {
      path: file,
      startLine: start.line,
      endLine: end.line,
      startColumn: start.col,
      endColumn: end.line === start.line ? end.col : undefined
    }
  };
}

/** semgrep's `errors[].level` words; anything else is treated as an error (fail closed). */
const NON_FATAL_LEVELS = new Set(['warn', 'warning', 'info']);
/** Error types that leave the file analysed apart from a span (tree-sitter recovered). */
const PARTIAL_TYPES = new Set(['PartialParsing']);
/** Share of scanned files semgrep may fail on (parse error, timeout, …) before the run counts as failed. */
const MAX_FAILED_FILE_SHARE = 0.5;

interface SemgrepProblem {
  level: string;
  type: string;
  message: string;
  file?: string;
}

function readProblem(item: unknown, where: string): SemgrepProblem {
  const e = reader.object(item, where);
  const level = reader.string(e['level'], `${where}.level`).toLowerCase();
  // `type` is a word (`Timeout`) or a variant `["PartialParsing", [spans]]`.
  const type = Array.isArray(e['type']) ? reader.string(e['type'][0], `${where}.type[0]`) : reader.string(e['type'], `${where}.type`);
  const file = e['path'] === undefined ? undefined : reader.path(e['path'], `${where}.path`).replace(/^\.\//, '');
  // Only the first line: the rest quotes source or rule text.
  const message = (reader.optionalString(e['message'], `${where}.message`) ?? type).split('\n')[0]!.trim().slice(0, 300);
  return { level, type, message, file };
}

/**
 * Reads semgrep's JSON report. Its `errors[]`, per the rule documented here:
 * - level `error` (or an unknown level): a rule failed to load or the scan failed — the run failed;
 * - per-file problems (level `warn`: a file it could not parse, a rule that timed out on a file) are
 *   file-level warnings; `PartialParsing` (a span skipped) never counts against the run;
 * - but when no file was analysed, or more than half of the files semgrep scanned (`paths.scanned`)
 *   failed, the run failed: its silence says nothing about the code.
 */
export function parseSemgrepReport(text: string): ParsedReport {
  const parsed = parseJsonReport('semgrep', text);
  const output = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (Array.isArray(parsed) || !Array.isArray(output['results']) || !Array.isArray(output['errors'])) {
    throw new ToolOutputError('semgrep', 'the report has no results/errors arrays: not semgrep JSON output');
  }
  const perRule = new Map<string, Omit<RawFinding, 'location'>>();
  const findings = reader.each(output['results'], 'results', (item, where) => readMatch(item, where, perRule));
  const problems = reader.each(output['errors'], 'errors', readProblem);
  const paths = output['paths'] === undefined ? {} : reader.object(output['paths'], 'paths');
  const scanned = paths['scanned'] === undefined ? undefined : reader.each(paths['scanned'], 'paths.scanned', (p, at) => reader.path(p, at));

  const fatal = problems.filter((p) => !NON_FATAL_LEVELS.has(p.level));
  if (fatal.length > 0) {
    throw new ToolFailureError('semgrep', `reported ${fatal.length} error(s), e.g. ${fatal[0]!.type}: ${fatal[0]!.message}`);
  }
  const failedFiles = new Set(problems.filter((p) => p.file !== undefined && !PARTIAL_TYPES.has(p.type)).map((p) => p.file!));
  const total = scanned?.length ?? 0;
  if (failedFiles.size > 0 && (failedFiles.size >= total || failedFiles.size > total * MAX_FAILED_FILE_SHARE)) {
    const first = problems.find((p) => p.file !== undefined && failedFiles.has(p.file))!;
    throw new ToolFailureError(
      'semgrep',
      `could not analyse ${failedFiles.size} of ${Math.max(total, failedFiles.size)} file(s) (${first.type}: ${first.message}): the run checked too little to count`
    );
  }
  const warnings = problems.map((p) => `${p.file ? `${p.file}: ` : ''}${p.message}`);
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
    // One scan scope for every tool of the stage: every file under the targets except `.git/` and
    // the user's `exclude`. Semgrep's own filters would otherwise drop `tests/`, `build/`,
    // `vendor/`, … (its default .semgrepignore), the repo's .semgrepignore and git-ignored files,
    // while bandit scans them. `--x-ignore-semgrepignore-files` is the only switch semgrep 1.185
    // has for that (an `--x-` option: it prints a warning on stderr and is pinned with the version).
    args.push('--no-git-ignore', '--x-ignore-semgrepignore-files', '--exclude', '.git');
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
