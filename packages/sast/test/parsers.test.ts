/**
 * The sast parsers on REAL tool output: fixtures/ holds reports the pinned tools wrote for
 * examples/ml-service (fixtures/README.md says which command and version produced each; regenerate
 * with scripts/tools/regen-sast-fixtures.sh). Variants are derived from those reports, never invented.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SourceCache, ToolFailureError, ToolOutputError, identify, silentLogger, type ParsedReport, type RawFinding, type Severity, type ToolContext } from '@secgate/core';
import {
  BANDIT_SEVERITY,
  SEMGREP_SEVERITY,
  banditSeverity,
  gitSecretsAdapter,
  gitleaksAdapter,
  parseBanditReport,
  parseGitSecretsOutput,
  parseGitleaksReport,
  parseSemgrepReport
} from '@secgate/sast';
import { REPO_ROOT } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'sast', 'test', 'fixtures');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

const BANDIT_TEXT = fixture('bandit-1.9.4.ml-service.json');
const SEMGREP_TEXT = fixture('semgrep-1.185.0.ml-service.json');
const GITLEAKS_DIR_TEXT = fixture('gitleaks-8.30.0.dir.ml-service.json');
const GITLEAKS_GIT_TEXT = fixture('gitleaks-8.30.0.git.ml-service.json');
const GIT_SECRETS_SCAN = fixture('git-secrets-1.3.0.scan.txt');
const GIT_SECRETS_HISTORY = fixture('git-secrets-1.3.0.scan-history.txt');

interface BanditResult {
  test_id: string;
  test_name: string;
  filename: string;
  line_number: number;
  line_range: number[];
  col_offset: number;
  end_col_offset: number;
  issue_text: string;
  issue_severity: string;
  issue_confidence: string;
  issue_cwe: { id: number };
  more_info: string;
}
interface SemgrepResult {
  check_id: string;
  path: string;
  start: { line: number; col: number };
  end: { line: number; col: number };
  extra: { message: string; severity: string; metadata: { cwe: string[]; confidence: string; references: string[] } };
}
interface GitleaksLeak {
  RuleID: string;
  Description: string;
  File: string;
  StartLine: number;
  EndLine: number;
  StartColumn: number;
  EndColumn: number;
  Commit: string;
  Secret: string;
  Match: string;
}

const banditRaw = JSON.parse(BANDIT_TEXT) as { results: BanditResult[]; errors: unknown[] };
const semgrepRaw = JSON.parse(SEMGREP_TEXT) as { results: SemgrepResult[]; errors: unknown[] };
const gitleaksDirRaw = JSON.parse(GITLEAKS_DIR_TEXT) as GitleaksLeak[];
const gitleaksGitRaw = JSON.parse(GITLEAKS_GIT_TEXT) as GitleaksLeak[];

/** git-secrets' match lines: everything before its "[ERROR] Matched" trailer. */
function matchLines(text: string): { commit?: string; file: string; line: number; content: string }[] {
  return text
    .slice(0, text.indexOf('[ERROR] Matched'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^(?:([0-9a-f]{40}):)?([^:]+):(\d+):(.*)$/.exec(l);
      if (!m) throw new Error(`fixture line is not a git-secrets match: ${l}`);
      return { commit: m[1], file: m[2]!, line: Number(m[3]), content: m[4]! };
    });
}

/** Calls `fn` and returns the ToolOutputError it throws (fails the test if it throws anything else or nothing). */
function outputError(fn: () => unknown): ToolOutputError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ToolOutputError);
  return thrown as ToolOutputError;
}

/** Calls `fn` and returns the ToolFailureError it throws that is not a ToolOutputError: the tool said it failed. */
function failureError(fn: () => unknown): ToolFailureError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ToolFailureError);
  expect(thrown).not.toBeInstanceOf(ToolOutputError);
  return thrown as ToolFailureError;
}

const half = (text: string): string => text.slice(0, Math.floor(text.length / 2));

describe('bandit 1.9.4 JSON', () => {
  const parsed = parseBanditReport(BANDIT_TEXT);

  it('yields one finding per bandit result, in order, and one warning per bandit error', () => {
    expect(banditRaw.results.length).toBe(27);
    expect(parsed.findings).toHaveLength(banditRaw.results.length);
    expect(parsed.warnings).toHaveLength(banditRaw.errors.length);
    expect(parsed.findings.map((f) => f.ruleId)).toEqual(banditRaw.results.map((r) => r.test_id));
    expect(parsed.findings.every((f) => f.tool === 'bandit')).toBe(true);
  });

  it('keeps path and lines, converts the 0-based columns to 1-based', () => {
    parsed.findings.forEach((finding, i) => {
      const r = banditRaw.results[i]!;
      const endLine = Math.max(...r.line_range);
      expect(finding.location).toEqual({
        path: r.filename,
        startLine: r.line_number,
        endLine,
        startColumn: r.col_offset + 1,
        // bandit's end column belongs to the last line of a multi-line node: dropped then.
        endColumn: endLine === r.line_number ? r.end_col_offset + 1 : undefined
      });
    });
    // `import pickle` at the start of a line: bandit says column 0, GitHub column 1.
    const b403 = parsed.findings.find((f) => f.ruleId === 'B403' && f.location?.path === './model_loader.py');
    expect(b403?.location).toMatchObject({ startLine: 3, startColumn: 1 });
    // from_pretrained(...) over three lines (44–46): a range, no end column.
    const multi = parsed.findings.find((f) => f.ruleId === 'B615' && f.location?.startLine === 44);
    expect(multi?.location).toMatchObject({ startLine: 44, endLine: 46, endColumn: undefined });
  });

  it('maps severity × confidence as documented (a LOW-confidence result is lowered one step)', () => {
    const table: [string, string, Severity][] = [
      ['HIGH', 'HIGH', 'high'],
      ['HIGH', 'MEDIUM', 'high'],
      ['HIGH', 'LOW', 'medium'],
      ['MEDIUM', 'HIGH', 'medium'],
      ['MEDIUM', 'MEDIUM', 'medium'],
      ['MEDIUM', 'LOW', 'low'],
      ['LOW', 'HIGH', 'low'],
      ['LOW', 'MEDIUM', 'low'],
      ['LOW', 'LOW', 'low'],
      ['UNDEFINED', 'HIGH', 'info'],
      ['UNDEFINED', 'LOW', 'info']
    ];
    for (const [severity, confidence, expected] of table) {
      expect([severity, confidence, banditSeverity(severity, confidence)]).toEqual([severity, confidence, expected]);
      expect(banditSeverity(severity.toLowerCase(), confidence.toLowerCase())).toBe(expected);
    }
    expect(BANDIT_SEVERITY).toEqual({ HIGH: 'high', MEDIUM: 'medium', LOW: 'low', UNDEFINED: 'info' });
    const expectedOf = (r: BanditResult): Severity => table.find(([s, c]) => s === r.issue_severity && c === r.issue_confidence)![2];
    parsed.findings.forEach((finding, i) => {
      const r = banditRaw.results[i]!;
      expect([r.test_id, finding.severity]).toEqual([r.test_id, expectedOf(r)]);
      expect(finding.confidence).toBe(r.issue_confidence.toLowerCase());
    });
    // The real report exercises the lowering: B113 (requests without timeout) is MEDIUM/LOW.
    const b113 = parsed.findings.find((f) => f.ruleId === 'B113');
    expect(b113).toMatchObject({ severity: 'low', confidence: 'low' });
    expect(parsed.findings.find((f) => f.ruleId === 'B602')?.severity).toBe('high');
    expect(parsed.findings.find((f) => f.ruleId === 'B614')?.severity).toBe('medium');
  });

  it('carries CWE, help link, title and tags from the result', () => {
    parsed.findings.forEach((finding, i) => {
      const r = banditRaw.results[i]!;
      expect(finding.cwe).toEqual([`CWE-${r.issue_cwe.id}`]);
      expect(finding.helpUri).toBe(r.more_info);
      expect(finding.title).toBe(`${r.test_id} ${r.test_name}`);
      expect(finding.tags).toEqual([r.test_name]);
    });
    expect(parsed.findings.find((f) => f.ruleId === 'B301')?.cwe).toEqual(['CWE-502']);
  });

  it('B105 redaction survives the unescaped quotes bandit writes (values ending in a backslash or holding a quote)', () => {
    const report = JSON.parse(readFileSync(path.join(FIXTURES, 'bandit-1.9.4.ml-service.json'), 'utf8'));
    const b105 = report.results.find((r: { test_id: string }) => r.test_id === 'B105');
    // Real bandit 1.9.4 messages for `password = "abc\\"` and `password = "it's-a-Secret"`.
    const texts = ["Possible hardcoded password: 'abc\\'", "Possible hardcoded password: 'it's-a-Secret'"];
    for (const text of texts) {
      const parsed = parseBanditReport(JSON.stringify({ ...report, results: [{ ...b105, issue_text: text }] }));
      expect(parsed.findings[0]!.message).toBe("Possible hardcoded password: '[REDACTED]'");
    }
  });

  it('B105 (hardcoded password) messages say [REDACTED], never the value, and the findings are sensitive', () => {
    const b105 = banditRaw.results.filter((r) => r.test_id === 'B105');
    expect(b105.length).toBe(4);
    for (const r of b105) {
      const value = /'(.+)'$/.exec(r.issue_text)?.[1];
      expect(value && value.length).toBeGreaterThan(8);
      const finding = parsed.findings[banditRaw.results.indexOf(r)]!;
      expect(finding.sensitive).toBe(true);
      expect(finding.message).toContain('[REDACTED]');
      expect(finding.message).toBe("Possible hardcoded password: '[REDACTED]'");
      expect(JSON.stringify(finding)).not.toContain(value);
    }
    // Everything else keeps bandit's text and is not marked sensitive.
    for (const [i, finding] of parsed.findings.entries()) {
      if (finding.ruleId === 'B105') continue;
      expect(finding.message).toBe(banditRaw.results[i]!.issue_text);
      expect(finding.sensitive).toBeUndefined();
    }
  });

  it('bad input is a ToolOutputError naming bandit and the problem', () => {
    expect(outputError(() => parseBanditReport('')).message).toBe('bandit: unreadable output: the JSON report is empty');
    expect(outputError(() => parseBanditReport('  \n')).message).toContain('the JSON report is empty');
    expect(outputError(() => parseBanditReport(half(BANDIT_TEXT))).message).toMatch(
      /^bandit: unreadable output: the JSON report is truncated or not JSON \(.+\)$/
    );
    expect(outputError(() => parseBanditReport(JSON.stringify({ results: banditRaw.results }))).message).toBe(
      'bandit: unreadable output: the report has no results/errors arrays: not bandit JSON output'
    );
    expect(outputError(() => parseBanditReport('null')).message).toContain('not bandit JSON output');
    expect(outputError(() => parseBanditReport('[]')).message).toContain('not bandit JSON output');
    // Other tools' real reports are not bandit's.
    expect(outputError(() => parseBanditReport(GITLEAKS_DIR_TEXT)).message).toContain('not bandit JSON output');
    expect(outputError(() => parseBanditReport(SEMGREP_TEXT)).message).toBe(
      'bandit: unreadable output: results[0].test_id is missing, expected a string'
    );
    const noLine = JSON.parse(BANDIT_TEXT) as { results: Partial<BanditResult>[] };
    delete noLine.results[3]!.line_number;
    expect(outputError(() => parseBanditReport(JSON.stringify(noLine))).message).toBe(
      'bandit: unreadable output: results[3].line_number is missing, expected an integer from 1 to 100000000'
    );
  });

  it('a clean bandit report (the real one with its results removed) is zero findings, not an error', () => {
    const clean = { ...(JSON.parse(BANDIT_TEXT) as object), results: [] };
    expect(parseBanditReport(JSON.stringify(clean))).toEqual({ findings: [], warnings: [] });
  });
});

describe('semgrep 1.185.0 JSON (the ML rulepack on examples/ml-service)', () => {
  const parsed = parseSemgrepReport(SEMGREP_TEXT);

  it('yields one finding per semgrep result with the secgate.ml. rule id', () => {
    expect(semgrepRaw.results.length).toBe(20);
    expect(semgrepRaw.errors).toEqual([]);
    expect(parsed.findings).toHaveLength(semgrepRaw.results.length);
    expect(parsed.warnings).toEqual([]);
    parsed.findings.forEach((finding, i) => {
      const r = semgrepRaw.results[i]!;
      expect(finding.tool).toBe('semgrep');
      expect(finding.ruleId).toBe(r.check_id);
      expect(finding.ruleId.startsWith('secgate.ml.')).toBe(true);
      expect(finding.title.startsWith(`${r.check_id.slice('secgate.ml.'.length)}: `)).toBe(true);
      expect(finding.message).toBe(r.extra.message.trim());
      expect(finding.sensitive).toBeUndefined();
    });
  });

  it('keeps semgrep 1-based positions; the end column only on one-line matches', () => {
    parsed.findings.forEach((finding, i) => {
      const r = semgrepRaw.results[i]!;
      expect(finding.location).toEqual({
        path: r.path,
        startLine: r.start.line,
        endLine: r.end.line,
        startColumn: r.start.col,
        endColumn: r.end.line === r.start.line ? r.end.col : undefined
      });
    });
    const torch = parsed.findings.find((f) => f.ruleId === 'secgate.ml.torch-load-unsafe');
    expect(torch?.location).toMatchObject({ path: 'model_loader.py', startLine: 25 });
  });

  it('extracts CWE ids from the "CWE-n: title" metadata', () => {
    const byRule = (id: string): RawFinding => parsed.findings.find((f) => f.ruleId === `secgate.ml.${id}`)!;
    expect(byRule('torch-load-unsafe').cwe).toEqual(['CWE-502']);
    expect(byRule('pickle-deserialization').cwe).toEqual(['CWE-502']);
    expect(byRule('requests-verify-false').cwe).toEqual(['CWE-295']);
    expect(byRule('llm-output-injection').cwe).toEqual(['CWE-94', 'CWE-78', 'CWE-89', 'CWE-1426']);
    expect(byRule('hf-trust-remote-code').cwe).toEqual(['CWE-94', 'CWE-829']);
    parsed.findings.forEach((finding, i) => {
      expect(finding.cwe).toEqual(semgrepRaw.results[i]!.extra.metadata.cwe.map((c) => c.split(':')[0]));
      expect(finding.confidence).toBe(semgrepRaw.results[i]!.extra.metadata.confidence.toLowerCase());
      expect(finding.helpUri).toBe(semgrepRaw.results[i]!.extra.metadata.references[0]);
      expect(finding.tags).toEqual(['security']);
    });
  });

  it('maps the new severity words of the real report: CRITICAL, HIGH, MEDIUM', () => {
    const words = new Set(semgrepRaw.results.map((r) => r.extra.severity));
    expect([...words].sort()).toEqual(['CRITICAL', 'HIGH', 'MEDIUM']);
    parsed.findings.forEach((finding, i) => {
      const word = semgrepRaw.results[i]!.extra.severity;
      expect([word, finding.severity]).toEqual([word, { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium' }[word]]);
    });
    expect(parsed.findings.find((f) => f.ruleId === 'secgate.ml.llm-output-injection')?.severity).toBe('critical');
  });

  it('maps every severity word, old and new, on the real report with the word changed', () => {
    const expected: [string, Severity][] = [
      ['CRITICAL', 'critical'],
      ['HIGH', 'high'],
      ['MEDIUM', 'medium'],
      ['LOW', 'low'],
      ['ERROR', 'high'],
      ['WARNING', 'medium'],
      ['INFO', 'info'],
      ['INVENTORY', 'info'],
      ['EXPERIMENT', 'info'],
      ['warning', 'medium']
    ];
    for (const [word, severity] of expected) {
      const variant = JSON.parse(SEMGREP_TEXT) as { results: SemgrepResult[] };
      for (const r of variant.results) r.extra.severity = word;
      const findings = parseSemgrepReport(JSON.stringify(variant)).findings;
      expect(findings).toHaveLength(semgrepRaw.results.length);
      expect([word, [...new Set(findings.map((f) => f.severity))]]).toEqual([word, [severity]]);
    }
    expect(Object.keys(SEMGREP_SEVERITY).sort()).toEqual(['CRITICAL', 'ERROR', 'EXPERIMENT', 'HIGH', 'INFO', 'INVENTORY', 'LOW', 'MEDIUM', 'WARNING']);
  });

  it('semgrep errors become warnings (a real result turned into an error entry)', () => {
    const variant = JSON.parse(SEMGREP_TEXT) as { results: SemgrepResult[]; errors: unknown[] };
    variant.errors = [{ level: 'warn', type: 'Syntax error', message: 'Syntax error at line 3\nmore', path: './broken.py' }];
    (variant as unknown as { paths: { scanned: string[] } }).paths.scanned.push('broken.py');
    // One file of eight failed: a file-level warning, path normalised, first line only.
    expect(parseSemgrepReport(JSON.stringify(variant)).warnings).toEqual(['broken.py: Syntax error at line 3']);
  });

  it('bad input is a ToolOutputError naming semgrep and the problem', () => {
    expect(outputError(() => parseSemgrepReport('')).message).toBe('semgrep: unreadable output: the JSON report is empty');
    expect(outputError(() => parseSemgrepReport(half(SEMGREP_TEXT))).message).toMatch(
      /^semgrep: unreadable output: the JSON report is truncated or not JSON \(.+\)$/
    );
    expect(outputError(() => parseSemgrepReport(JSON.stringify({ results: semgrepRaw.results }))).message).toBe(
      'semgrep: unreadable output: the report has no results/errors arrays: not semgrep JSON output'
    );
    expect(outputError(() => parseSemgrepReport(GITLEAKS_DIR_TEXT)).message).toContain('not semgrep JSON output');
    expect(outputError(() => parseSemgrepReport(BANDIT_TEXT)).message).toBe(
      'semgrep: unreadable output: results[0].check_id is missing, expected a string'
    );
  });
});

describe('gitleaks 8.30.0 JSON (--redact)', () => {
  const dir = parseGitleaksReport(GITLEAKS_DIR_TEXT, 'tree');
  const git = parseGitleaksReport(GITLEAKS_GIT_TEXT, 'history');

  it('yields one finding per leak: high, sensitive, CWE-798', () => {
    expect(gitleaksDirRaw.length).toBe(7);
    expect(dir.findings).toHaveLength(gitleaksDirRaw.length);
    expect(git.findings).toHaveLength(gitleaksGitRaw.length);
    expect(dir.warnings).toEqual([]);
    for (const finding of [...dir.findings, ...git.findings]) {
      expect(finding).toMatchObject({ tool: 'gitleaks', severity: 'high', confidence: 'high', sensitive: true, cwe: ['CWE-798'] });
    }
    dir.findings.forEach((finding, i) => {
      const leak = gitleaksDirRaw[i]!;
      expect(finding.ruleId).toBe(leak.RuleID);
      expect(finding.location).toEqual({
        path: leak.File,
        startLine: leak.StartLine,
        endLine: leak.EndLine,
        // gitleaks 8.30 reports StartColumn one too high after a file's first line (gitleaks#1424).
        startColumn: leak.StartLine > 1 ? leak.StartColumn - 1 : leak.StartColumn,
        endColumn: leak.EndColumn
      });
      expect(finding.tags).toEqual(['secret', 'tree']);
      expect(finding.identity).toBeUndefined();
      expect(finding.message.startsWith(leak.Description)).toBe(true);
    });
    // The Slack webhook on deploy.yaml:11 starts at byte 17 of the line: column 18.
    const slack = dir.findings.find((f) => f.location?.path.endsWith('deploy.yaml'));
    expect(slack?.location?.startColumn).toBe(18);
    expect(dir.findings.map((f) => f.ruleId).sort()).toEqual([
      'aws-access-token',
      'generic-api-key',
      'github-pat',
      'huggingface-access-token',
      'openai-api-key',
      'slack-webhook-url',
      'stripe-access-token'
    ]);
  });

  it('a leak found in a commit is identified by the commit and names it', () => {
    git.findings.forEach((finding, i) => {
      const leak = gitleaksGitRaw[i]!;
      expect(leak.Commit).toMatch(/^[0-9a-f]{40}$/);
      expect(finding.identity).toBe(`${leak.Commit}:${leak.File}:${leak.RuleID}`);
      expect(finding.message).toContain(`(in commit ${leak.Commit.slice(0, 12)})`);
      expect(finding.tags).toEqual(['secret', 'history']);
    });
  });

  it('never copies Secret or Match into a finding (the real report with unredacted-looking values put back)', () => {
    const variant = JSON.parse(GITLEAKS_DIR_TEXT) as GitleaksLeak[];
    variant.forEach((leak, i) => {
      leak.Secret = `SECRET-VALUE-${i}-AKIAFYXP5KHYBMAMEOKE`;
      leak.Match = `MATCH-TEXT-${i}-token = "AKIAFYXP5KHYBMAMEOKE"`;
    });
    const findings = parseGitleaksReport(JSON.stringify(variant), 'tree').findings;
    expect(findings).toHaveLength(variant.length);
    const text = JSON.stringify(findings);
    expect(text).not.toContain('SECRET-VALUE-');
    expect(text).not.toContain('MATCH-TEXT-');
    expect(text).not.toContain('AKIAFYXP5KHYBMAMEOKE');
    // The redacted report does not leak the marker either.
    expect(JSON.stringify(dir.findings)).not.toContain('REDACTED');
  });

  it('bad input is a ToolOutputError naming gitleaks and the problem', () => {
    expect(outputError(() => parseGitleaksReport('', 'tree')).message).toBe('gitleaks: unreadable output: the JSON report is empty');
    expect(outputError(() => parseGitleaksReport(half(GITLEAKS_DIR_TEXT), 'tree')).message).toMatch(
      /^gitleaks: unreadable output: the JSON report is truncated or not JSON \(.+\)$/
    );
    expect(outputError(() => parseGitleaksReport(BANDIT_TEXT, 'tree')).message).toBe(
      'gitleaks: unreadable output: the report is not a JSON array of leaks'
    );
    expect(outputError(() => parseGitleaksReport(JSON.stringify({ leaks: gitleaksDirRaw }), 'tree')).message).toContain(
      'not a JSON array of leaks'
    );
    const noRule = JSON.parse(GITLEAKS_DIR_TEXT) as Partial<GitleaksLeak>[];
    delete noRule[2]!.RuleID;
    expect(outputError(() => parseGitleaksReport(JSON.stringify(noRule), 'tree')).message).toBe(
      'gitleaks: unreadable output: leaks[2].RuleID is missing, expected a string'
    );
    // gitleaks writes [] for a clean scan: zero findings, not an error.
    expect(parseGitleaksReport('[]', 'tree')).toEqual({ findings: [], warnings: [] });
  });
});

describe('git-secrets 1.3.0 output (stderr)', () => {
  const context: ToolContext = {
    workspace: '/nonexistent',
    targets: ['.'],
    exclude: [],
    workDir: '/nonexistent',
    options: {},
    logger: silentLogger
  };
  const adapterParse = (text: string, mode = 'tree'): ParsedReport => gitSecretsAdapter.parse(text, context, { args: [], mode });

  it('--scan -r: path and line of each match, never the matched text', () => {
    const raw = matchLines(GIT_SECRETS_SCAN);
    expect(raw.map((m) => [m.file, m.line])).toEqual([
      ['./settings.py', 15],
      ['./settings.py', 16]
    ]);
    const parsed = parseGitSecretsOutput(GIT_SECRETS_SCAN, 'tree');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.findings).toHaveLength(raw.length);
    parsed.findings.forEach((finding, i) => {
      expect(finding).toMatchObject({
        tool: 'git-secrets',
        ruleId: 'prohibited-pattern',
        severity: 'high',
        sensitive: true,
        cwe: ['CWE-798'],
        tags: ['secret', 'tree'],
        location: { path: 'settings.py', startLine: raw[i]!.line }
      });
      expect(finding.identity).toBeUndefined();
      expect(Object.keys(finding.location!).sort()).toEqual(['path', 'startLine']);
      const secret = /"([^"]+)"/.exec(raw[i]!.content)![1]!;
      expect(JSON.stringify(finding)).not.toContain(secret);
      expect(finding.message).not.toContain(raw[i]!.content.trim());
    });
    expect(adapterParse(GIT_SECRETS_SCAN)).toEqual(parsed);
  });

  it('--scan-history: `<sha>:path:line:` lines keep the commit in the identity and message', () => {
    const raw = matchLines(GIT_SECRETS_HISTORY);
    expect(raw).toHaveLength(2);
    const parsed = parseGitSecretsOutput(GIT_SECRETS_HISTORY, 'history');
    expect(parsed.findings).toHaveLength(raw.length);
    parsed.findings.forEach((finding, i) => {
      const m = raw[i]!;
      expect(m.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(finding.location).toEqual({ path: m.file, startLine: m.line });
      expect(finding.identity).toBe(`${m.commit}:${m.file}`);
      expect(finding.message).toContain(`in commit ${m.commit!.slice(0, 12)}`);
      expect(finding.tags).toEqual(['secret', 'history']);
      expect(JSON.stringify(finding)).not.toContain(/"([^"]+)"/.exec(m.content)![1]!);
    });
  });

  it('stops at the "[ERROR] Matched" trailer: nothing after it is read as a match', () => {
    // The real output with a real match line repeated after the trailer.
    const firstMatch = GIT_SECRETS_SCAN.split('\n')[0]!;
    const withTail = `${GIT_SECRETS_SCAN}\n${firstMatch}\n./other.py:3:AWS_SECRET_ACCESS_KEY = "x"\n`;
    expect(parseGitSecretsOutput(withTail, 'tree').findings).toHaveLength(2);
    const trailer = GIT_SECRETS_SCAN.slice(GIT_SECRETS_SCAN.indexOf('[ERROR] Matched'));
    expect(trailer).toContain('Possible mitigations');
  });

  it('output cut anywhere is never a clean scan', () => {
    // Only the trailer: matches were reported but none can be read.
    const trailer = GIT_SECRETS_SCAN.slice(GIT_SECRETS_SCAN.indexOf('[ERROR] Matched'));
    expect(outputError(() => adapterParse(trailer)).message).toBe(
      'git-secrets: unreadable output: it reported matches but no match line could be read'
    );
    // Match lines without the trailer: cut after them.
    const beforeTrailer = GIT_SECRETS_SCAN.slice(0, GIT_SECRETS_SCAN.indexOf('[ERROR] Matched'));
    expect(outputError(() => adapterParse(beforeTrailer)).message).toBe(
      'git-secrets: unreadable output: it printed 2 match line(s) but not its "Matched" trailer: the output is cut'
    );
    // Cut inside the first match line (before its line number): no match text was printed yet.
    const cut = GIT_SECRETS_SCAN.slice(0, GIT_SECRETS_SCAN.indexOf(':'));
    expect(cut).toBe('./settings.py');
    expect(failureError(() => adapterParse(cut)).message).toBe('git-secrets: the scan failed (it printed: ./settings.py)');
    // A line number no file has.
    const absurd = GIT_SECRETS_SCAN.replace('./settings.py:15:', './settings.py:99999999999999999999:');
    expect(outputError(() => adapterParse(absurd)).message).toBe(
      'git-secrets: unreadable output: line 1 of its output has an impossible path or line number'
    );
  });

  it('empty output is a clean scan (exit 0; the engine rejects exit 1 with no findings)', () => {
    expect(adapterParse('')).toEqual({ findings: [], warnings: [] });
    expect(adapterParse('\n\n')).toEqual({ findings: [], warnings: [] });
  });

  it('errors git-secrets prints with exit 0, or with exit 1 like matches, fail the run (real output)', () => {
    // `git secrets --scan --no-index -- .` outside a repository: exit 0, and .gitallowed was never read.
    const notARepo = fixture('git-secrets-1.3.0.scan-not-a-repo.txt');
    expect(failureError(() => adapterParse(notARepo)).message).toBe(
      'git-secrets: the scan failed: fatal: not a git repository (or any of the parent directories): .git'
    );
    // An unknown option (exit 129): git's option parser prints the usage.
    expect(failureError(() => adapterParse(fixture('git-secrets-1.3.0.unknown-option.txt'))).message).toBe(
      "git-secrets: the scan failed: error: unknown option `bogus'"
    );
    // --scan-history with a --scan option: `die`, exit 1 — the exit code of matches. Not a clean history.
    const usage = fixture('git-secrets-1.3.0.scan-history-usage.txt');
    expect(gitSecretsAdapter.exitMeaning(1, { args: [], mode: 'history' })).toBe('findings');
    expect(failureError(() => gitSecretsAdapter.parse(usage, context, { args: [], mode: 'history', data: { commits: [], toplevel: '/x' } })).message).toBe(
      'git-secrets: the scan failed (it printed: -r|--recursive can only be supplied with the --scan subcommand)'
    );
    // A git warning is shown, not fatal.
    const warned = parseGitSecretsOutput(`warning: refname 'main' is ambiguous.\n${GIT_SECRETS_SCAN}`, 'tree');
    expect(warned.warnings).toEqual(["warning: refname 'main' is ambiguous."]);
    expect(warned.findings).toHaveLength(2);
  });

  it('history matches outside the scanned commits are dropped and counted, so exit 1 stays consistent', () => {
    const parsed = gitSecretsAdapter.parse(GIT_SECRETS_HISTORY, context, { args: [], mode: 'history', data: { commits: ['0'.repeat(40)], toplevel: '/nonexistent' } });
    expect(parsed.findings).toEqual([]);
    expect(parsed.dropped).toBe(2);
    // With every commit of the repository known, a commit id in neither list is garbled output.
    const known = { commits: ['0'.repeat(40)], allCommits: ['0'.repeat(40), '1'.repeat(40)], toplevel: '/nonexistent' };
    expect(outputError(() => gitSecretsAdapter.parse(GIT_SECRETS_HISTORY, context, { args: [], mode: 'history', data: known })).message).toMatch(
      /^git-secrets: unreadable output: a match names commit [0-9a-f]{12}, which is not in this repository$/
    );
  });
});

describe('strict fields: a wrong type, an unknown word or an absurd number is a ToolOutputError naming the field', () => {
  /** The real report with one field of its first result (or leak) set to `value` (undefined deletes it). */
  function variant(text: string, mutate: (first: Record<string, unknown>) => void): string {
    const report = JSON.parse(text) as { results?: Record<string, unknown>[] } | Record<string, unknown>[];
    mutate(Array.isArray(report) ? report[0]! : report.results![0]!);
    return JSON.stringify(report);
  }
  const set = (key: string, value: unknown) => (first: Record<string, unknown>) => {
    if (value === undefined) delete first[key];
    else first[key] = value;
  };

  it('bandit: severity and confidence words, types and numbers (never a default, never a raw TypeError)', () => {
    const cases: [string, unknown, string][] = [
      ['issue_severity', 'HIGH ', 'results[0].issue_severity is "HIGH ", expected one of HIGH, MEDIUM, LOW, UNDEFINED'],
      ['issue_severity', 'CRITICAL', 'results[0].issue_severity is "CRITICAL", expected one of HIGH, MEDIUM, LOW, UNDEFINED'],
      ['issue_severity', '', 'results[0].issue_severity is "", expected one of HIGH, MEDIUM, LOW, UNDEFINED'],
      ['issue_severity', null, 'results[0].issue_severity is null, expected a string'],
      ['issue_severity', 5, 'results[0].issue_severity is the number 5, expected a string'],
      ['issue_severity', undefined, 'results[0].issue_severity is missing, expected a string'],
      ['issue_confidence', 'SURE', 'results[0].issue_confidence is "SURE", expected one of HIGH, MEDIUM, LOW, UNDEFINED'],
      ['filename', null, 'results[0].filename is null, expected a string'],
      ['filename', '', 'results[0].filename is empty'],
      ['filename', 'a\u0000b.py', 'results[0].filename holds a NUL character'],
      ['line_number', -3, 'results[0].line_number is the number -3, expected an integer from 1 to 100000000'],
      ['line_number', 1e300, 'results[0].line_number is the number 1e+300, expected an integer from 1 to 100000000'],
      ['line_number', 2.5, 'results[0].line_number is the number 2.5, expected an integer from 1 to 100000000'],
      ['line_number', '3', 'results[0].line_number is a string, expected an integer from 1 to 100000000'],
      ['line_range', 7, 'results[0].line_range is the number 7, expected an array'],
      ['line_range', [1, null], 'results[0].line_range[1] is null, expected an integer from 1 to 100000000'],
      ['col_offset', -1, 'results[0].col_offset is the number -1, expected an integer from 0 to 100000000'],
      ['issue_cwe', 'CWE-78', 'results[0].issue_cwe is a string, expected an object'],
      ['issue_cwe', { id: '78' }, 'results[0].issue_cwe.id is a string, expected an integer from 0 to 100000000'],
      ['test_id', { id: 'B602' }, 'results[0].test_id is an object, expected a string'],
      ['issue_text', ['x'], 'results[0].issue_text is an array, expected a string'],
      ['more_info', 3, 'results[0].more_info is the number 3, expected a string']
    ];
    for (const [key, value, message] of cases) {
      expect([key, value, outputError(() => parseBanditReport(variant(BANDIT_TEXT, set(key, value)))).message]).toEqual([key, value, `bandit: unreadable output: ${message}`]);
    }
    expect(outputError(() => parseBanditReport(JSON.stringify({ results: [null], errors: [] }))).message).toBe(
      'bandit: unreadable output: results[0] is null, expected an object'
    );
    expect(outputError(() => parseBanditReport(JSON.stringify({ results: [], errors: [{ filename: 3 }] }))).message).toBe(
      'bandit: unreadable output: errors[0].filename is the number 3, expected a string'
    );
  });

  it('semgrep: severity words, a missing extra, positions', () => {
    const cases: [(first: Record<string, unknown>) => void, string][] = [
      [(r) => ((r['extra'] as Record<string, unknown>)['severity'] = 'HIGH '), 'results[0].extra.severity is "HIGH ", expected one of'],
      [(r) => ((r['extra'] as Record<string, unknown>)['severity'] = ''), 'results[0].extra.severity is "", expected one of'],
      [(r) => ((r['extra'] as Record<string, unknown>)['severity'] = null), 'results[0].extra.severity is null, expected a string'],
      [(r) => ((r['extra'] as Record<string, unknown>)['severity'] = 5), 'results[0].extra.severity is the number 5, expected a string'],
      [(r) => delete (r['extra'] as Record<string, unknown>)['severity'], 'results[0].extra.severity is missing, expected a string'],
      [set('extra', undefined), 'results[0].extra is missing, expected an object'],
      [set('extra', null), 'results[0].extra is null, expected an object'],
      [(r) => ((r['extra'] as Record<string, unknown>)['message'] = 7), 'results[0].extra.message is the number 7, expected a string'],
      [(r) => ((r['extra'] as Record<string, unknown>)['metadata'] = []), 'results[0].extra.metadata is an array, expected an object'],
      [set('start', null), 'results[0].start is null, expected an object'],
      [set('start', { line: 0, col: 1 }), 'results[0].start.line is the number 0, expected an integer from 1 to'],
      [set('end', { line: 1, col: 1 }), 'results[0].end.line (1) is before start.line (31)'],
      [set('path', ['agent.py']), 'results[0].path is an array, expected a string'],
      [set('check_id', ''), 'results[0].check_id is empty']
    ];
    for (const [mutate, message] of cases) {
      expect(outputError(() => parseSemgrepReport(variant(SEMGREP_TEXT, mutate))).message).toContain(`semgrep: unreadable output: ${message}`);
    }
    const report = JSON.parse(SEMGREP_TEXT) as Record<string, unknown>;
    expect(outputError(() => parseSemgrepReport(JSON.stringify({ ...report, errors: [{ level: 5 }] }))).message).toBe(
      'semgrep: unreadable output: errors[0].level is the number 5, expected a string'
    );
    expect(outputError(() => parseSemgrepReport(JSON.stringify({ ...report, paths: { scanned: 'agent.py' } }))).message).toBe(
      'semgrep: unreadable output: paths.scanned is a string, expected an array'
    );
  });

  it('gitleaks: types, lines, commit ids', () => {
    const cases: [string, unknown, string][] = [
      ['StartLine', -1, 'leaks[0].StartLine is the number -1, expected an integer from 1 to 100000000'],
      ['StartLine', '4', 'leaks[0].StartLine is a string, expected an integer from 1 to 100000000'],
      ['EndLine', 1, 'leaks[0].EndLine is the number 1, expected an integer from'],
      ['StartColumn', 1e21, 'leaks[0].StartColumn is the number 1e+21, expected an integer from 0 to 100000000'],
      ['File', null, 'leaks[0].File is null, expected a string'],
      ['Commit', 12345, 'leaks[0].Commit is the number 12345, expected a string'],
      ['Commit', 'not-a-sha', 'leaks[0].Commit is not a commit id'],
      ['Tags', 'secret', 'leaks[0].Tags is a string, expected an array'],
      ['Description', {}, 'leaks[0].Description is an object, expected a string']
    ];
    for (const [key, value, message] of cases) {
      expect([key, outputError(() => parseGitleaksReport(variant(GITLEAKS_DIR_TEXT, set(key, value)), 'tree')).message]).toEqual([
        key,
        expect.stringContaining(`gitleaks: unreadable output: ${message}`)
      ]);
    }
    expect(outputError(() => parseGitleaksReport(variant(GITLEAKS_GIT_TEXT, set('Commit', '')), 'history')).message).toBe(
      'gitleaks: unreadable output: leaks[0].Commit is missing in a history scan'
    );
    expect(outputError(() => parseGitleaksReport('[1]', 'tree')).message).toBe('gitleaks: unreadable output: leaks[0] is the number 1, expected an object');
  });

  it('deep nesting, duplicate keys and hostile JSON text end in a named error, not a stack overflow', () => {
    const deep = `{"results": ${'['.repeat(200_000)}${']'.repeat(200_000)}, "errors": []}`;
    expect(outputError(() => parseBanditReport(deep)).message).toBe('bandit: unreadable output: results[0] is an array, expected an object');
    const deepObject = `[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]`;
    expect(outputError(() => parseGitleaksReport(deepObject, 'tree')).message).toBe('gitleaks: unreadable output: leaks[0].RuleID is missing, expected a string');
    // JSON.parse keeps the last of two keys: a real report followed by an empty results array would pass.
    const duplicated = BANDIT_TEXT.replace(/^\{/, '{"results": [], ');
    expect(outputError(() => parseBanditReport(duplicated)).message).toBe('bandit: unreadable output: the JSON report repeats the key "results" in one object');
    // V8 quotes the text around a syntax error; the message gives the position only.
    const secretish = '{"results": [{"issue_text": "AKIAFYXP5KHYBMAMEOKE" oops}]}';
    const error = outputError(() => parseBanditReport(secretish));
    expect(error.message).toMatch(/^bandit: unreadable output: the JSON report is truncated or not JSON \(invalid at character \d+ of \d+\)$/);
    expect(error.message).not.toContain('AKIA');
  });
});

describe('errors inside reports, on real tool output (fixtures/README.md, second table)', () => {
  it('bandit: a Python 2 file beside real code is a warning with its path normalised; the findings stay', () => {
    const parsed = parseBanditReport(fixture('bandit-1.9.4.py2-file.json'));
    expect(parsed.warnings).toEqual(['py2.py: syntax error while parsing AST from file']);
    expect(parsed.findings.map((f) => [f.ruleId, f.location?.path])).toEqual([
      ['B404', './app.py'],
      ['B602', './app.py']
    ]);
  });

  it('bandit: when no file could be analysed (exit 0, every file in errors[]) the run failed', () => {
    expect(failureError(() => parseBanditReport(fixture('bandit-1.9.4.py2-only.json'))).message).toBe(
      'bandit: could not analyse 1 of 1 file(s) (py2.py: syntax error while parsing AST from file): the run checked too little to count'
    );
  });

  it('semgrep: a partly parsed file is a warning (first line only: the rest quotes source); the finding stays', () => {
    const parsed = parseSemgrepReport(fixture('semgrep-1.185.0.partial-parse.json'));
    expect(parsed.warnings).toEqual(['broken.py: Syntax error at line broken.py:2:']);
    expect(parsed.findings.map((f) => [f.ruleId, f.location?.path, f.location?.startLine])).toEqual([['secgate.ml.pickle-deserialization', 'app.py', 4]]);
  });

  it('semgrep: every scanned file timed out (exit 0, no results) — the run failed', () => {
    expect(failureError(() => parseSemgrepReport(fixture('semgrep-1.185.0.timeout.json'))).message).toBe(
      'semgrep: could not analyse 1 of 1 file(s) (Timeout: Timeout when running secgate.ml.llm-output-injection on big.py:): the run checked too little to count'
    );
  });

  it('semgrep: an invalid rule (level error) fails the run even beside real results', () => {
    expect(failureError(() => parseSemgrepReport(fixture('semgrep-1.185.0.invalid-rule.json'))).message).toBe(
      'semgrep: reported 1 error(s), e.g. Rule parse error: Rule parse error in rule bad-pattern:'
    );
  });

  it('semgrep: titles are the first sentence, cut at a word boundary with an ellipsis', () => {
    const parsed = parseSemgrepReport(SEMGREP_TEXT);
    const injection = parsed.findings.find((f) => f.ruleId === 'secgate.ml.llm-output-injection')!;
    expect(injection.title).toBe(
      'llm-output-injection: Output of an LLM / model call flows into a code, shell or SQL sink (eval/exec, os.system, subprocess with shell=True, cursor.execute with a built string).'
    );
    // The real messages with their full stops removed: one sentence of several hundred characters.
    const variant = JSON.parse(SEMGREP_TEXT) as { results: SemgrepResult[] };
    for (const r of variant.results) r.extra.message = r.extra.message.replace(/\.(\s)/g, ',$1');
    for (const finding of parseSemgrepReport(JSON.stringify(variant)).findings) {
      const shortName = finding.ruleId.split('.').pop()!;
      const text = finding.title.slice(shortName.length + 2);
      expect(finding.title.startsWith(`${shortName}: `)).toBe(true);
      expect(text.length).toBeLessThanOrEqual(160);
      expect(text.endsWith('…')).toBe(true);
      const kept = text.slice(0, -1);
      expect(finding.message.startsWith(kept)).toBe(true);
      // Never cut inside a word: what follows the kept text in the message starts a new word.
      expect(finding.message.slice(kept.length)).toMatch(/^[\s,;:.]/);
      expect(kept).not.toMatch(/[\s,;:]$/);
    }
  });

  it('gitleaks: two secrets of one rule on one line are two findings, with their own columns', async () => {
    const raw = JSON.parse(fixture('gitleaks-8.30.0.same-line.json')) as GitleaksLeak[];
    expect(raw.map((l) => [l.RuleID, l.StartLine, l.StartColumn])).toEqual([
      ['github-pat', 3, 13],
      ['github-pat', 3, 57]
    ]);
    const tree = parseGitleaksReport(fixture('gitleaks-8.30.0.same-line.json'), 'tree');
    expect(tree.findings.map((f) => f.location?.startColumn)).toEqual([12, 56]);
    const combined = gitleaksAdapter.combine!([tree]);
    expect(combined.findings).toHaveLength(2);
    // The same two in a later (history) report are repeats of the tree's and dropped; the tree's stay.
    expect(gitleaksAdapter.combine!([tree, tree]).findings).toEqual(tree.findings);
    // And two fingerprints: identify() tells repeats on one line apart by their ordinal.
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'secgate-same-line-'));
    try {
      // The line's shape as scanned (the real tokens were random and are not stored).
      writeFileSync(path.join(workspace, 'tokens.py'), `import os\n\nTOKENS = ["ghp_${'a'.repeat(36)}", "ghp_${'b'.repeat(36)}"]\n`);
      const identified = await identify(combined.findings, new SourceCache(workspace));
      expect(new Set(identified.map((f) => f.fingerprint)).size).toBe(2);
      expect(identified.every((f) => f.snippet === undefined)).toBe(true);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
    // One full stop after a Description that ends with one.
    expect(raw[0]!.Description.endsWith('.')).toBe(true);
    for (const finding of tree.findings) {
      expect(finding.message).not.toContain('..');
      expect(finding.message).toBe(`${raw[0]!.Description} Revoke/rotate the credential, remove it from the code and history, and load it from a secret store.`);
    }
  });
});
