import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChangedLines,
  ConfigurationError,
  EXPIRY_WARNING_DAYS,
  blockingFindings,
  evaluate,
  failOnFor,
  mergeDuplicates,
  readBaseline,
  uncheckedAllowance,
  writeBaseline,
  type EffectivePolicy,
  type ExceptionEntry,
  type Finding,
  type UncheckedItem
} from '@secgate/core';
import { advisoryFinding } from './advisory-findings.js';

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
    expect(blockingFindings(findings, { failOn: 'high' }).map((f) => f.fingerprint)).toEqual([crit.fingerprint, high.fingerprint]);
    expect(blockingFindings(findings, { failOn: 'critical' }).map((f) => f.fingerprint)).toEqual([crit.fingerprint]);
    expect(blockingFindings(findings, { failOn: 'medium' })).toHaveLength(3);
    expect(blockingFindings(findings, { failOn: 'none' })).toEqual([]);
  });
});

// Findings built from the real advisory records (../shared/fixtures/advisories), shaped as the sca adapters report them.
const requirements = (line: number) => ({ path: 'requirements.txt', startLine: line });
const pyyamlPipAudit = (): Finding => advisoryFinding('PYSEC-2021-142', { tool: 'pip-audit', name: 'pyyaml', version: '5.3.1', location: requirements(3) });
const pyyamlOsv = (): Finding => advisoryFinding('GHSA-8q59-q68h-6hv4', { tool: 'osv-scanner', name: 'PyYAML', version: '5.3.1', location: requirements(3) });
const tensorflow = (name = 'tensorflow'): Finding => advisoryFinding('GHSA-558h-mq8x-7q9g', { tool: 'osv-scanner', name, version: '2.11.0', location: requirements(5) });
const torch = (): Finding => advisoryFinding('PYSEC-2022-43015', { tool: 'pip-audit', name: 'torch', version: '1.13.0', unknownSeverity: 'medium', location: requirements(4) });
/** mlflow ≤ 2.9.2: GHSA-5mvj-wmgj-7q8c has no fixed release (last_affected only). */
const mlflow = (): Finding => advisoryFinding('GHSA-5mvj-wmgj-7q8c', { tool: 'osv-scanner', name: 'mlflow', version: '2.9.2', location: requirements(6) });

describe('package-policy: a stricter gate for core packages', () => {
  it('uses the real records: tensorflow high (CVSS 7.5), torch without a severity, mlflow without a fix', () => {
    expect([tensorflow().severity, tensorflow().severityBasis]).toEqual(['high', 'CVSS:3.1 7.5']);
    expect([torch().severity, torch().severityBasis]).toEqual(['medium', 'unknown → medium (unknown-severity)']);
    expect(mlflow().package?.fixedVersions).toEqual([]);
  });

  it('blocks a finding of a listed package at the stricter threshold, and leaves other packages at fail-on', () => {
    const packagePolicy = [{ packages: ['torch', 'tensorflow*'], 'fail-on': 'medium' as const }];
    const { findings } = evaluate([tensorflow(), tensorflow('tensorflow-cpu'), torch(), pyyamlPipAudit()], policy({ failOn: 'critical', packagePolicy }), { now: NOW });
    const blocking = blockingFindings(findings, { failOn: 'critical', packagePolicy });
    expect(blocking.map((f) => f.package!.name)).toEqual(['tensorflow', 'tensorflow-cpu', 'torch']);
    expect(failOnFor(pyyamlPipAudit(), { failOn: 'critical', packagePolicy })).toBe('critical');
    expect(failOnFor(torch(), { failOn: 'critical', packagePolicy })).toBe('medium');
    // Without the rule, only fail-on counts.
    expect(blockingFindings(findings, { failOn: 'critical' })).toEqual([]);
  });

  it('never loosens the gate: a rule looser than fail-on leaves fail-on in force', () => {
    const packagePolicy = [{ packages: ['tensorflow'], 'fail-on': 'critical' as const }];
    expect(failOnFor(tensorflow(), { failOn: 'medium', packagePolicy })).toBe('medium');
    const { findings } = evaluate([tensorflow()], policy({ failOn: 'high', packagePolicy }), { now: NOW });
    expect(blockingFindings(findings, { failOn: 'high', packagePolicy })).toHaveLength(1);
    // Several rules for one package: the strictest wins; `fail-on: none` still gates the listed packages.
    const twoRules = [...packagePolicy, { packages: ['tensor*'], 'fail-on': 'low' as const }];
    expect(failOnFor(tensorflow(), { failOn: 'none', packagePolicy: twoRules })).toBe('low');
  });

  it('compares PyPI names PEP 503-normalised, other ecosystems exactly, and honours a rule ecosystem', () => {
    const pyyaml = pyyamlOsv();
    expect(failOnFor(pyyaml, { failOn: 'critical', packagePolicy: [{ packages: ['PyYAML'], 'fail-on': 'low' }] })).toBe('low');
    expect(failOnFor(pyyaml, { failOn: 'critical', packagePolicy: [{ packages: ['py_yaml'], 'fail-on': 'low' }] })).toBe('critical');
    expect(failOnFor(pyyaml, { failOn: 'critical', packagePolicy: [{ packages: ['Py.YAML*'], 'fail-on': 'low' }] })).toBe('critical');
    expect(failOnFor({ ...pyyaml, package: { ...pyyaml.package!, name: 'py_yaml' } }, { failOn: 'critical', packagePolicy: [{ packages: ['Py.YAML'], 'fail-on': 'low' }] })).toBe('low');
    const npmFinding = { ...pyyaml, package: { name: 'Lodash', version: '4.17.20', ecosystem: 'npm' } };
    expect(failOnFor(npmFinding, { failOn: 'critical', packagePolicy: [{ packages: ['lodash'], 'fail-on': 'low' }] })).toBe('critical');
    expect(failOnFor(npmFinding, { failOn: 'critical', packagePolicy: [{ packages: ['Lodash'], 'fail-on': 'low', ecosystem: 'npm' }] })).toBe('low');
    expect(failOnFor(pyyaml, { failOn: 'critical', packagePolicy: [{ packages: ['pyyaml'], 'fail-on': 'low', ecosystem: 'npm' }] })).toBe('critical');
    // A finding without a package (a code finding, a model file) is never named by a package rule.
    expect(failOnFor(finding(), { failOn: 'critical', packagePolicy: [{ packages: ['*'], 'fail-on': 'info' }] })).toBe('critical');
  });
});

describe('ignore-unfixed', () => {
  it('marks a vulnerability without a fixed release unfixed: shown and reported, never blocking', () => {
    const { findings } = evaluate([mlflow(), tensorflow()], policy({ ignoreUnfixed: true }), { now: NOW });
    expect(findings.map((f) => f.state.kind)).toEqual(['unfixed', 'active']);
    expect(findings[0]!.reported).toBe(true);
    expect(blockingFindings(findings, { failOn: 'high' }).map((f) => f.package!.name)).toEqual(['tensorflow']);
  });

  it('is off by default, and never hides a finding whose tool did not say (fixedVersions absent) or a code finding', () => {
    expect(evaluate([mlflow()], policy(), { now: NOW }).findings[0]!.state.kind).toBe('active');
    const unsaid = { ...mlflow(), package: { ...mlflow().package!, fixedVersions: undefined } };
    expect(evaluate([unsaid, finding()], policy({ ignoreUnfixed: true }), { now: NOW }).findings.map((f) => f.state.kind)).toEqual(['active', 'active']);
  });

  it('lets an exception win (its reason and owner are shown) and counts it as used', () => {
    const { findings, ledger } = evaluate([mlflow()], policy({ ignoreUnfixed: true, exceptions: [entry({ advisory: 'CVE-2024-1560' })] }), { now: NOW });
    expect(findings[0]!.state.kind).toBe('suppressed');
    expect(ledger.unused).toEqual([]);
  });
});

describe('exceptions by advisory id', () => {
  it('matches any alias of a finding, case-insensitively; cve stays a synonym', () => {
    for (const selector of [{ advisory: 'CVE-2020-14343' }, { advisory: 'ghsa-8q59-q68h-6hv4' }, { cve: 'CVE-2020-14343' }]) {
      const { findings } = evaluate([pyyamlPipAudit(), pyyamlOsv(), tensorflow()], policy({ exceptions: [entry(selector)] }), { now: NOW });
      expect(findings.map((f) => f.state.kind)).toEqual(['suppressed', 'suppressed', 'active']);
    }
  });

  it('matches an id only one tool knew once the findings are merged by alias set', () => {
    // osv-scanner's GHSA record does not list PYSEC-2021-142; pip-audit's does. Merged, the finding knows both.
    const byPysec = policy({ exceptions: [entry({ advisory: 'PYSEC-2021-142' })] });
    expect(evaluate([pyyamlOsv()], byPysec, { now: NOW }).findings[0]!.state.kind).toBe('active');
    const merged = mergeDuplicates([pyyamlPipAudit(), pyyamlOsv()]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.tool).toBe('osv-scanner');
    expect(evaluate(merged, byPysec, { now: NOW }).findings[0]!.state.kind).toBe('suppressed');
  });

  it('keeps baseline and fingerprint entries working whichever tool leads the merged finding', () => {
    const pip = pyyamlPipAudit();
    const merged = mergeDuplicates([pip, pyyamlOsv()]);
    // osv-scanner leads (critical); a baseline or exception written when pip-audit ran alone still matches.
    expect(merged[0]!.fingerprint).not.toBe(pip.fingerprint);
    const baselined = evaluate(merged, policy({ newOnly: 'baseline' }), { now: NOW, baseline: new Set([pip.fingerprint]) });
    expect(baselined.findings[0]!.isNew).toBe(false);
    expect(baselined.findings[0]!.state.kind).toBe('baseline');
    expect(evaluate(merged, policy({ exceptions: [entry({ fingerprint: pip.fingerprint })] }), { now: NOW }).findings[0]!.state.kind).toBe('suppressed');
    expect(evaluate(merged, policy({ newOnly: 'baseline' }), { now: NOW, baseline: new Set(['0'.repeat(32)]) }).findings[0]!.isNew).toBe(true);
  });

  it('writes every merged tool’s fingerprint to the baseline, so a later run led by either tool is not new', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-baseline-'));
    try {
      const file = path.join(dir, 'baseline.json');
      const merged = mergeDuplicates([pyyamlPipAudit(), pyyamlOsv()]);
      const written = await writeBaseline(file, merged, NOW);
      expect(written.findings.map((f) => `${f.tool}:${f.ruleId}`).sort()).toEqual(['osv-scanner:GHSA-8q59-q68h-6hv4', 'pip-audit:PYSEC-2021-142']);
      const baseline = await readBaseline(file);
      for (const alone of [pyyamlPipAudit(), pyyamlOsv()]) {
        expect(evaluate([alone], policy({ newOnly: 'baseline' }), { now: NOW, baseline }).findings[0]!.state.kind).toBe('baseline');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('narrows by package (normalised) and paths; an expired entry suppresses nothing', () => {
    const check = (e: Partial<ExceptionEntry>): string => evaluate([pyyamlOsv()], policy({ exceptions: [entry(e)] }), { now: NOW }).findings[0]!.state.kind;
    expect(check({ advisory: 'CVE-2020-14343', package: 'PyYAML' })).toBe('suppressed');
    expect(check({ advisory: 'CVE-2020-14343', package: 'pyyaml' })).toBe('suppressed');
    expect(check({ advisory: 'CVE-2020-14343', package: 'numpy' })).toBe('active');
    expect(check({ advisory: 'CVE-2020-14343', paths: ['requirements.txt'] })).toBe('suppressed');
    expect(check({ advisory: 'CVE-2020-14343', paths: ['requirements-dev.txt'] })).toBe('active');
    expect(check({ advisory: 'CVE-2020-14343', expires: '2026-02-28' })).toBe('active');
    expect(check({ advisory: 'CVE-2020-14343', cve: 'CVE-2023-25665' })).toBe('active');
  });
});

describe('unaudited: a dependency allowed to stay unchecked', () => {
  const torchUnchecked: UncheckedItem = { kind: 'dependency', name: 'Torch', version: '2.1.0', ecosystem: 'PyPI', reason: 'Dependency not found on PyPI' };

  it('allows the named dependency (PEP 503 names, globs) until it expires, and nothing else', () => {
    const allow = entry({ unaudited: 'torch' });
    expect(uncheckedAllowance(torchUnchecked, [allow], NOW)).toBe(allow);
    expect(uncheckedAllowance({ ...torchUnchecked, name: 'internal_models' }, [entry({ unaudited: 'internal-*' })], NOW)).toBeDefined();
    expect(uncheckedAllowance({ ...torchUnchecked, name: 'numpy' }, [allow], NOW)).toBeUndefined();
    expect(uncheckedAllowance(torchUnchecked, [entry({ unaudited: 'torch', expires: '2026-02-28' })], NOW)).toBeUndefined();
    // The expiry day itself still allows (UTC end of day).
    expect(uncheckedAllowance(torchUnchecked, [entry({ unaudited: 'torch', expires: '2026-03-01' })], NOW)).toMatchObject({ unaudited: 'torch' });
    // Finding exceptions never allow an unchecked dependency, and files (an unreadable model) are never allowed.
    expect(uncheckedAllowance(torchUnchecked, [entry({ rule: 'torch' }), entry({ advisory: 'CVE-2022-45907', package: 'torch' })], NOW)).toBeUndefined();
    expect(uncheckedAllowance({ kind: 'file', name: 'models/torch', reason: 'unreadable' }, [entry({ unaudited: '*' })], NOW)).toBeUndefined();
  });

  it('never suppresses a finding, and is counted as used against the unchecked items', () => {
    const exceptions = [entry({ unaudited: 'torch' }), entry({ unaudited: 'jax' })];
    const withItems = evaluate([torch()], policy({ exceptions }), { now: NOW, unchecked: [torchUnchecked] });
    expect(withItems.findings[0]!.state.kind).toBe('active');
    expect(withItems.ledger.unused.map((u) => u.index)).toEqual([1]);
    expect(withItems.ledger.expiringSoon).toEqual([]);
    // Without the unchecked items the use is unknown: not reported unused.
    expect(evaluate([torch()], policy({ exceptions }), { now: NOW }).ledger.unused).toEqual([]);
  });
});
