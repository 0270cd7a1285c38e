import {
  ChangedLines,
  ConfigurationError,
  EXPIRY_WARNING_DAYS,
  blockingFindings,
  evaluate,
  type EffectivePolicy,
  type ExceptionEntry,
  type Finding
} from '@secgate/core';

const NOW = new Date('2026-03-01T12:00:00Z');

let counter = 0;
function finding(overrides: Partial<Finding> = {}): Finding {
  counter++;
  const tool = overrides.tool ?? 'bandit';
  const ruleId = overrides.ruleId ?? 'B602';
  return {
    tool,
    ruleId,
    title: 'subprocess with shell=True',
    message: 'shell=True is dangerous',
    severity: 'high',
    location: { path: 'src/app.py', startLine: 10 },
    fingerprint: counter.toString(16).padStart(32, '0'),
    sources: [{ tool, ruleId }],
    ...overrides
  };
}

function policy(overrides: Partial<EffectivePolicy> = {}): EffectivePolicy {
  return { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [], ...overrides };
}

function entry(overrides: Partial<ExceptionEntry>): ExceptionEntry {
  return { reason: 'accepted risk', owner: 'alice', expires: '2026-12-31', ...overrides };
}

describe('evaluate: exceptions', () => {
  it('suppresses by bare rule id and by tool-qualified rule id', () => {
    for (const rule of ['B602', 'bandit:B602']) {
      const { findings, ledger } = evaluate([finding(), finding({ ruleId: 'B603' })], policy({ exceptions: [entry({ rule })] }), { now: NOW });
      expect(findings[0]!.state).toEqual({ kind: 'suppressed', reason: 'accepted risk', owner: 'alice', expires: '2026-12-31', entry: 0 });
      expect(findings[1]!.state).toEqual({ kind: 'active' });
      expect(ledger.unused).toEqual([]);
    }
  });

  it('does not match a rule qualified with another tool', () => {
    const { findings, ledger } = evaluate([finding()], policy({ exceptions: [entry({ rule: 'semgrep:B602' })] }), { now: NOW });
    expect(findings[0]!.state.kind).toBe('active');
    expect(ledger.unused.map((u) => u.index)).toEqual([0]);
  });

  it('matches a rule against any source of a merged finding, and dotted rule ids qualified by tool', () => {
    const merged = finding({
      tool: 'semgrep',
      ruleId: 'python.lang.security.subprocess-shell-true',
      sources: [
        { tool: 'semgrep', ruleId: 'python.lang.security.subprocess-shell-true' },
        { tool: 'bandit', ruleId: 'B602' }
      ]
    });
    expect(evaluate([merged], policy({ exceptions: [entry({ rule: 'bandit:B602' })] }), { now: NOW }).findings[0]!.state.kind).toBe('suppressed');
    expect(
      evaluate([merged], policy({ exceptions: [entry({ rule: 'semgrep:python.lang.security.subprocess-shell-true' })] }), { now: NOW })
        .findings[0]!.state.kind
    ).toBe('suppressed');
  });

  it('suppresses by fingerprint only the finding with that fingerprint', () => {
    const a = finding();
    const b = finding();
    const { findings } = evaluate([a, b], policy({ exceptions: [entry({ fingerprint: b.fingerprint })] }), { now: NOW });
    expect(findings.map((f) => f.state.kind)).toEqual(['active', 'suppressed']);
  });

  it('suppresses by CVE, matching cve ids, aliases and the rule id case-insensitively', () => {
    const byCve = finding({ tool: 'pip-audit', ruleId: 'PYSEC-2024-1', cve: ['CVE-2024-1234'] });
    const byAlias = finding({ tool: 'pip-audit', ruleId: 'GHSA-aaaa-bbbb-cccc', aliases: ['CVE-2024-1234', 'PYSEC-2024-9'] });
    const byRuleId = finding({ tool: 'trivy', ruleId: 'CVE-2024-1234' });
    const other = finding({ tool: 'pip-audit', ruleId: 'PYSEC-2024-2', cve: ['CVE-2024-9999'] });
    const { findings, ledger } = evaluate([byCve, byAlias, byRuleId, other], policy({ exceptions: [entry({ cve: 'cve-2024-1234' })] }), {
      now: NOW
    });
    expect(findings.map((f) => f.state.kind)).toEqual(['suppressed', 'suppressed', 'suppressed', 'active']);
    expect(ledger.unused).toEqual([]);
  });

  it('limits an entry to its path globs', () => {
    const inScripts = finding({ location: { path: 'scripts/deploy/run.py', startLine: 3 } });
    const dotDir = finding({ location: { path: 'scripts/.hidden/x.py', startLine: 3 } });
    const inSrc = finding({ location: { path: 'src/app.py', startLine: 3 } });
    const noLocation = finding({ location: undefined });
    const { findings } = evaluate(
      [inScripts, dotDir, inSrc, noLocation],
      policy({ exceptions: [entry({ rule: 'B602', paths: ['scripts/**'] })] }),
      { now: NOW }
    );
    expect(findings.map((f) => f.state.kind)).toEqual(['suppressed', 'suppressed', 'active', 'active']);
  });

  it('requires every selector of an entry to match', () => {
    const f = finding({ cve: ['CVE-2024-1'] });
    const ex = (e: Partial<ExceptionEntry>) => evaluate([f], policy({ exceptions: [entry(e)] }), { now: NOW }).findings[0]!.state.kind;
    expect(ex({ rule: 'B602', cve: 'CVE-2024-1' })).toBe('suppressed');
    expect(ex({ rule: 'B602', cve: 'CVE-2024-2' })).toBe('active');
    expect(ex({ rule: 'B602', fingerprint: 'f'.repeat(32) })).toBe('active');
  });

  it('stops suppressing after the expiry day and reports the entry as expired with its match count', () => {
    const findings = [finding(), finding(), finding({ ruleId: 'B101' })];
    const { findings: out, ledger } = evaluate(findings, policy({ exceptions: [entry({ rule: 'B602', expires: '2026-02-28' })] }), {
      now: NOW
    });
    expect(out.map((f) => f.state.kind)).toEqual(['active', 'active', 'active']);
    expect(ledger.expired).toHaveLength(1);
    expect(ledger.expired[0]).toMatchObject({ index: 0, matched: 2 });
    expect(ledger.expired[0]!.daysLeft).toBeLessThan(0);
    expect(ledger.unused).toEqual([]);
    expect(ledger.expiringSoon).toEqual([]);
  });

  it('still suppresses on the expiry day itself (UTC end of day)', () => {
    const lateInDay = new Date('2026-03-01T23:59:59Z');
    const { findings, ledger } = evaluate([finding()], policy({ exceptions: [entry({ rule: 'B602', expires: '2026-03-01' })] }), {
      now: lateInDay
    });
    expect(findings[0]!.state.kind).toBe('suppressed');
    expect(ledger.expired).toEqual([]);
    expect(ledger.expiringSoon.map((s) => s.daysLeft)).toEqual([0]);
  });

  it('lists entries expiring within 14 days, but not later ones', () => {
    const soon = entry({ rule: 'B602', expires: '2026-03-06' });
    const later = entry({ rule: 'B602', expires: '2026-04-30' });
    const { ledger } = evaluate([finding()], policy({ exceptions: [soon, later] }), { now: NOW });
    expect(EXPIRY_WARNING_DAYS).toBe(14);
    expect(ledger.expiringSoon.map((s) => s.index)).toEqual([0]);
    expect(ledger.expiringSoon[0]).toMatchObject({ matched: 1, daysLeft: 5 });
  });

  it('lists entries that matched nothing as unused', () => {
    const { ledger } = evaluate([finding()], policy({ exceptions: [entry({ rule: 'B602' }), entry({ rule: 'B999' }), entry({ cve: 'CVE-1' })] }), {
      now: NOW
    });
    expect(ledger.unused.map((s) => [s.index, s.matched])).toEqual([
      [1, 0],
      [2, 0]
    ]);
  });

  it('the first live matching entry wins; an expired one earlier in the list does not block it', () => {
    const { findings, ledger } = evaluate(
      [finding()],
      policy({ exceptions: [entry({ rule: 'B602', expires: '2025-01-01' }), entry({ rule: 'B602', owner: 'bob' }), entry({ rule: 'B602', owner: 'carol' })] }),
      { now: NOW }
    );
    expect(findings[0]!.state).toMatchObject({ kind: 'suppressed', owner: 'bob', entry: 1 });
    expect(ledger.expired.map((s) => s.index)).toEqual([0]);
    expect(ledger.unused).toEqual([]);
  });

  it('rejects an impossible date, naming the entry', () => {
    const run = () => evaluate([finding()], policy({ exceptions: [entry({ rule: 'B602', expires: '2026-02-30' })] }), { now: NOW });
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow(/^exceptions\[0\]\.expires: '2026-02-30' is not a real date/);
    const second = () =>
      evaluate([], policy({ exceptions: [entry({ rule: 'B602' }), entry({ rule: 'B602', expires: '2026-13-01' })] }), { now: NOW });
    expect(second).toThrow(/^exceptions\[1\]\.expires:/);
    // Leap day is real in 2028.
    expect(() => evaluate([], policy({ exceptions: [entry({ rule: 'x', expires: '2028-02-29' })] }), { now: NOW })).not.toThrow();
  });
});

describe('evaluate: new-only modes and reporting', () => {
  it('baseline mode marks known fingerprints as baseline and not new', () => {
    const known = finding();
    const fresh = finding();
    const { findings } = evaluate([known, fresh], policy({ newOnly: 'baseline' }), { now: NOW, baseline: new Set([known.fingerprint]) });
    expect(findings[0]).toMatchObject({ state: { kind: 'baseline' }, isNew: false });
    expect(findings[1]).toMatchObject({ state: { kind: 'active' }, isNew: true });
  });

  it('without baseline mode, a baseline only sets isNew', () => {
    const known = finding();
    const { findings } = evaluate([known], policy(), { now: NOW, baseline: new Set([known.fingerprint]) });
    expect(findings[0]).toMatchObject({ state: { kind: 'active' }, isNew: false });
  });

  it('an exception takes precedence over the baseline', () => {
    const known = finding();
    const { findings } = evaluate([known], policy({ newOnly: 'baseline', exceptions: [entry({ rule: 'B602' })] }), {
      now: NOW,
      baseline: new Set([known.fingerprint])
    });
    expect(findings[0]!.state.kind).toBe('suppressed');
  });

  it('changed-lines mode marks findings outside the diff', () => {
    const changed = new ChangedLines(
      new Map<string, [number, number][]>([
        ['src/app.py', [[8, 12]]],
        ['Dockerfile', [[1, 1]]]
      ])
    );
    const inside = finding({ location: { path: 'src/app.py', startLine: 10 } });
    const overlapping = finding({ location: { path: 'src/app.py', startLine: 5, endLine: 8 } });
    const outside = finding({ location: { path: 'src/app.py', startLine: 13 } });
    const otherFile = finding({ location: { path: 'src/other.py', startLine: 10 } });
    const wholeFile = finding({ location: { path: 'Dockerfile' } });
    const noLocation = finding({ location: undefined });
    const { findings } = evaluate([inside, overlapping, outside, otherFile, wholeFile, noLocation], policy({ newOnly: 'changed-lines' }), {
      now: NOW,
      changedLines: changed
    });
    expect(findings.map((f) => f.state.kind)).toEqual([
      'active',
      'active',
      'outside-changed-lines',
      'outside-changed-lines',
      'active',
      'outside-changed-lines'
    ]);
  });

  it('sets reported from report-severity', () => {
    const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
    const { findings } = evaluate(
      severities.map((severity) => finding({ severity })),
      policy({ reportSeverity: 'medium' }),
      { now: NOW }
    );
    expect(findings.map((f) => f.reported)).toEqual([true, true, true, false, false]);
  });
});

describe('blockingFindings', () => {
  it('keeps only active findings at or above fail-on', () => {
    const crit = finding({ severity: 'critical' });
    const high = finding({ severity: 'high' });
    const medium = finding({ severity: 'medium' });
    const suppressedCrit = finding({ severity: 'critical', ruleId: 'B999' });
    const baselineHigh = finding({ severity: 'high' });
    const { findings } = evaluate([crit, high, medium, suppressedCrit, baselineHigh], policy({ newOnly: 'baseline', exceptions: [entry({ rule: 'B999' })] }), {
      now: NOW,
      baseline: new Set([baselineHigh.fingerprint])
    });
    expect(blockingFindings(findings, 'high').map((f) => f.fingerprint)).toEqual([crit.fingerprint, high.fingerprint]);
    expect(blockingFindings(findings, 'critical').map((f) => f.fingerprint)).toEqual([crit.fingerprint]);
    expect(blockingFindings(findings, 'medium')).toHaveLength(3);
    expect(blockingFindings(findings, 'none')).toEqual([]);
  });
});
