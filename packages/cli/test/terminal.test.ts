import { ConfigurationError, ToolFailureError, ToolOutputError, type EvaluatedFinding, type ScanResult, type ToolRun } from '@secgate/core';
import { TITLE_MAX, clean, cutText, normalisePaths, renderReport, titleAndMessage } from '../src/terminal.js';

// The terminal report on constructed scan results: what a developer reads after `secgate scan`.

// Colours (if picocolors enabled them) are not what these tests are about.
const plain = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');

let counter = 0;
function finding(overrides: Partial<EvaluatedFinding> = {}): EvaluatedFinding {
  counter++;
  const tool = overrides.tool ?? 'bandit';
  const ruleId = overrides.ruleId ?? 'B602';
  return {
    tool,
    ruleId,
    title: 'B602 subprocess_popen_with_shell_equals_true',
    message: 'subprocess call with shell=True identified, security issue.',
    severity: 'high',
    location: { path: 'src/app.py', startLine: counter, startColumn: 5 },
    fingerprint: counter.toString(16).padStart(32, '0'),
    sources: [{ tool, ruleId }],
    state: { kind: 'active' },
    isNew: true,
    reported: true,
    ...overrides
  };
}

function run(overrides: Partial<ToolRun> = {}): ToolRun {
  return {
    stage: 'sast',
    tool: 'bandit',
    displayName: 'Bandit',
    version: '1.9.4',
    status: 'ok',
    findingCount: 0,
    warnings: [],
    installMs: 10,
    runMs: 500,
    cacheHit: true,
    ...overrides
  };
}

function result(overrides: Partial<ScanResult> = {}): ScanResult {
  const findings = overrides.findings ?? [];
  return {
    stages: ['sast'],
    workspace: '/work/repo',
    tools: [run({ findingCount: findings.length })],
    findings,
    blocking: findings.filter((f) => f.state.kind === 'active' && ['critical', 'high'].includes(f.severity)),
    ledger: { expired: [], expiringSoon: [], unused: [] },
    policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
    verdict: 'pass',
    errors: [],
    durationMs: 1000,
    ...overrides
  };
}

describe('text helpers', () => {
  it('clean strips ANSI sequences, control characters and bidi overrides but keeps the text', () => {
    expect(clean('\u001b[31mred\u001b[0m \u001b]8;;http://x\u0007link\u001b]8;;\u0007 a\rb\u0085c\u202eevil\u0007')).toBe('red link abcevil');
    expect(clean('\u009b2Jtab\tand\nnewline')).toBe('tab\tand\nnewline');
  });

  it('cutText cuts at a word boundary with an ellipsis, never after a full stop', () => {
    expect(cutText('short', 10)).toBe('short');
    expect(cutText('alpha beta gamma delta', 12)).toBe('alpha beta…');
    expect(cutText('one two. three four five', 12)).toBe('one two…');
    // One long word: cut inside it rather than keep nothing.
    expect(cutText('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(cutText('alpha beta gamma delta', 12).length).toBeLessThanOrEqual(12);
  });

  it('normalisePaths drops ./ and the workspace prefix from tool warnings', () => {
    expect(normalisePaths('./py2.py: syntax error', '/w')).toBe('py2.py: syntax error');
    expect(normalisePaths('error: /w/src/a.py: bad; see ../x and ./', '/w')).toBe('error: src/a.py: bad; see ../x and ./');
  });

  it('titleAndMessage does not repeat the title’s sentence in the message', () => {
    // semgrep: `rule: First sentence.` then the whole message.
    expect(titleAndMessage('torch-load-unsafe: torch.load unpickles arbitrary code.', 'torch.load unpickles arbitrary code. Use weights_only=True.')).toEqual({
      title: 'torch-load-unsafe: torch.load unpickles arbitrary code.',
      message: 'Use weights_only=True.'
    });
    // The title is the whole message: no message line.
    expect(titleAndMessage('rule-x: Model output reaches eval.', 'Model output reaches eval.')).toEqual({ title: 'rule-x: Model output reaches eval.', message: '' });
    // A title cut mid-word: it ends on a whole word with …, and the message carries on from there.
    const cutTitle = titleAndMessage('rule-y: The model output reaches a shell comm', 'The model output reaches a shell command without validation. Quote it.');
    expect(cutTitle).toEqual({ title: 'rule-y: The model output reaches a shell…', message: '…command without validation. Quote it.' });
    // A repeated sentence longer than the title's room: cut on a word, continued word for word.
    const sentence = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const long = titleAndMessage(`rule-z: ${sentence.slice(0, 170)}`, `${sentence}. Second sentence.`);
    expect(long.title.length).toBeLessThanOrEqual(TITLE_MAX);
    expect(long.title).toMatch(/^rule-z: word0 .* word\d+…$/);
    expect(long.message).toMatch(/^…word\d+ /);
    expect(`${long.title.slice('rule-z: '.length, -1)} ${long.message.slice(1)}`).toBe(`${sentence}. Second sentence.`);
    // Unrelated title and message are left as they are.
    expect(titleAndMessage('B602 subprocess_popen', 'subprocess call with shell=True.')).toEqual({ title: 'B602 subprocess_popen', message: 'subprocess call with shell=True.' });
  });
});

describe('renderReport', () => {
  it('groups by severity, cuts long titles and messages at words with …, and adds no full stops', () => {
    const longTitle = `${'word '.repeat(40)}end`;
    const longMessage = `${'lorem ipsum '.repeat(40)}tail`;
    const text = plain(
      renderReport(
        result({
          findings: [
            finding({ severity: 'critical', title: longTitle, message: longMessage }),
            finding({ tool: 'gitleaks', ruleId: 'github-pat', title: 'Hardcoded secret: github-pat', message: 'GitHub Personal Access Token. Revoke/rotate the credential.' })
          ],
          verdict: 'fail'
        })
      )
    );
    expect(text).toMatch(/^CRITICAL \(1\)$/m);
    expect(text).toMatch(/^HIGH \(1\)$/m);
    const titleLine = text.split('\n').find((l) => l.includes('word word'))!;
    expect(titleLine).toMatch(/word…/);
    expect(titleLine).not.toContain('end');
    const messageLine = text.split('\n').find((l) => l.includes('lorem ipsum'))!;
    expect(messageLine.trim().length).toBeLessThanOrEqual(300);
    expect(messageLine.trim()).toMatch(/(ipsum|lorem)…$/);
    expect(text).toContain('GitHub Personal Access Token. Revoke/rotate the credential.');
    expect(text).not.toMatch(/\.\./);
    expect(text).toContain('Verdict: FAIL: 2 finding(s) at or above high');
  });

  it('says how many findings are not listed and where to find them', () => {
    const findings = Array.from({ length: 7 }, () => finding());
    const text = plain(renderReport(result({ findings, verdict: 'fail' }), { maxPerSeverity: 5 }));
    expect(text).toMatch(/^HIGH \(7\)$/m);
    expect(text.split('\n').filter((l) => l.includes('src/app.py:')).length).toBe(5);
    expect(text).toContain('… 2 more high finding(s) not listed here: every finding is in the --json <file> and --sarif <file> reports');
  });

  it('explains how per-tool counts become the total when findings were merged', () => {
    const merged = finding({ sources: [{ tool: 'bandit', ruleId: 'B506' }, { tool: 'semgrep', ruleId: 'yaml-unsafe-load' }] });
    const alone = finding({ severity: 'medium' });
    const text = plain(
      renderReport(
        result({
          findings: [merged, alone],
          tools: [run({ findingCount: 2 }), run({ tool: 'semgrep', displayName: 'Semgrep', version: '1.185.0', findingCount: 1 })],
          verdict: 'fail'
        })
      )
    );
    expect(text).toContain('Findings: 3 raw from 2 tool(s), 2 after merging 1 that another tool (or rule) also reported');
    expect(text).toContain('  Bandit 1.9.4: ok, 2 finding(s), install 0.01 s (cached), run 0.50 s');
    expect(text).toContain('  Semgrep 1.185.0: ok, 1 finding(s)');
    expect(text).toContain('[bandit:B506, semgrep:yaml-unsafe-load]');
  });

  it('shows only the finding states the run’s policy can produce', () => {
    const offRun = plain(renderReport(result({ findings: [finding({ severity: 'low' })] })));
    expect(offRun).toContain('Active: 0 critical, 0 high, 0 medium, 1 low, 0 info');
    expect(offRun).not.toMatch(/outside the diff|in baseline|suppressed/);
    const baselineRun = plain(
      renderReport(
        result({
          findings: [finding({ state: { kind: 'baseline' } }), finding({ severity: 'info', reported: false })],
          policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'baseline', exceptions: [] }
        })
      )
    );
    expect(baselineRun).toContain('1 in baseline');
    expect(baselineRun).toContain('1 below report-severity low (counted, not listed)');
    expect(baselineRun).not.toContain('outside the diff');
    const diffRun = plain(renderReport(result({ policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'changed-lines', exceptions: [] } })));
    expect(diffRun).toContain('0 outside the diff');
  });

  it('counts each tool’s file-level warnings on its line and shows the first few with normalised paths', () => {
    const warnings = ['./py2.py: syntax error while parsing AST', '/work/repo/lib/old.py: invalid syntax', './c.py: x', './d.py: y', './e.py: z'];
    const text = plain(renderReport(result({ tools: [run({ warnings })] })));
    expect(text).toContain('  Bandit 1.9.4: ok, 0 finding(s), 5 warning(s), install');
    expect(text).toContain('    warning py2.py: syntax error while parsing AST');
    expect(text).toContain('    warning lib/old.py: invalid syntax');
    expect(text).not.toContain('./py2.py');
    expect(text).not.toContain('warning d.py');
    expect(text).toContain('… 2 more warning(s): all are in the --json <file> report');
  });

  it('shows failed and skipped tools and every error in full, cleaned, and never reads as a pass', () => {
    const stderrTail = 'Traceback (most recent call last): | RecursionError: maximum recursion depth exceeded \u001b[2J\u001b]0;pwned\u0007';
    const failure = new ToolFailureError('bandit', 'exited with code 2 (an error, not findings)', 2, stderrTail);
    const output = new ToolOutputError('semgrep', 'the JSON report is empty');
    const text = plain(
      renderReport(
        result({
          tools: [
            run({ status: 'failed', error: failure }),
            run({ tool: 'semgrep', displayName: 'Semgrep', version: '1.185.0', status: 'failed', error: output }),
            run({ tool: 'git-secrets', displayName: 'git-secrets', version: undefined, status: 'skipped', skipReason: 'not a git repository (git-secrets scans through git)' })
          ],
          errors: [failure, output, new ConfigurationError('history not scanned: the scanned folder is not a git repository', 'secrets-scan')],
          verdict: 'error'
        })
      )
    );
    expect(text).toContain('  Bandit 1.9.4: FAILED (tool-failure)');
    expect(text).toContain('  git-secrets: SKIPPED: not a git repository (git-secrets scans through git) — nothing was checked');
    expect(text).toContain('Errors (3):');
    expect(text).toContain('RecursionError: maximum recursion depth exceeded');
    expect(text).toContain('  tool-output: semgrep: unreadable output: the JSON report is empty');
    expect(text).toContain('  configuration: secrets-scan: history not scanned');
    expect(text).not.toMatch(/\u001b|pwned\u0007/);
    expect(text).toContain('Verdict: ERROR (tool-failure, tool-output, configuration): results are incomplete, so this is not a pass');
    expect(text).not.toContain('PASS');
  });

  it('cannot be turned into workflow commands or terminal escapes by tool text', () => {
    const text = renderReport(
      result({
        findings: [
          finding({
            location: { path: '::stop-commands::token', startLine: 1 },
            title: 'x\n\u0085::error file=a::forged',
            message: '##[error]forged\u001b[2J'
          })
        ],
        verdict: 'fail'
      })
    );
    for (const line of plain(text).split('\n')) {
      expect(line).not.toMatch(/^[\s\u0085\u2028\u2029\u00a0]*::/);
      expect(line).not.toContain('##[');
    }
    expect(plain(text)).not.toContain('\u0085');
    expect(plain(text)).not.toContain('\u001b[2J');
  });

  it('shows the notes about what was scanned (e.g. the history range)', () => {
    const text = plain(renderReport(result(), { notes: ['Secrets history: 3 commit(s), all history of 0123456789ab'] }));
    expect(text).toContain('Secrets history: 3 commit(s), all history of 0123456789ab');
    expect(text).toContain('Verdict: PASS');
  });
});
