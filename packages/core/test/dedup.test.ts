import { mergeDuplicates, type Finding } from '@secgate/core';

let counter = 0;
function finding(overrides: Partial<Finding> = {}): Finding {
  counter++;
  const tool = overrides.tool ?? 'bandit';
  const ruleId = overrides.ruleId ?? 'B301';
  return {
    tool,
    ruleId,
    title: `${tool} ${ruleId}`,
    message: 'pickle can execute code',
    severity: 'medium',
    location: { path: 'src/load.py', startLine: 12 },
    cwe: ['CWE-502'],
    fingerprint: counter.toString(16).padStart(32, '0'),
    sources: [{ tool, ruleId }],
    ...overrides
  };
}

describe('mergeDuplicates', () => {
  it('merges the same line and a shared CWE from two tools; the more severe report leads', () => {
    const bandit = finding({ tool: 'bandit', ruleId: 'B301', severity: 'medium', cwe: ['CWE-502'] });
    const semgrep = finding({ tool: 'semgrep', ruleId: 'python.pickle', severity: 'high', cwe: ['CWE-502: Deserialization of Untrusted Data', 'CWE-20'] });
    const unrelated = finding({ location: { path: 'src/other.py', startLine: 1 } });
    const merged = mergeDuplicates([bandit, semgrep, unrelated]);
    expect(merged).toHaveLength(2);
    const [first, second] = merged;
    expect(first).toMatchObject({ tool: 'semgrep', ruleId: 'python.pickle', severity: 'high', fingerprint: semgrep.fingerprint });
    expect(first!.sources).toEqual([
      { tool: 'semgrep', ruleId: 'python.pickle' },
      { tool: 'bandit', ruleId: 'B301' }
    ]);
    expect(first!.cwe).toEqual(['CWE-502: Deserialization of Untrusted Data', 'CWE-20', 'CWE-502']);
    expect(second).toBe(unrelated);
  });

  it('keeps the first report as lead when severities tie, at its original position', () => {
    const a = finding({ tool: 'bandit', severity: 'high' });
    const before = finding({ location: { path: 'a.py', startLine: 1 } });
    const b = finding({ tool: 'semgrep', ruleId: 'x', severity: 'high', cwe: ['cwe-502'] });
    const merged = mergeDuplicates([a, before, b]);
    expect(merged.map((f) => f.fingerprint)).toEqual([a.fingerprint, before.fingerprint]);
    expect(merged[0]!.sources.map((s) => s.tool)).toEqual(['bandit', 'semgrep']);
  });

  it('merges a third tool into an already merged finding', () => {
    const merged = mergeDuplicates([
      finding({ tool: 'bandit' }),
      finding({ tool: 'semgrep', ruleId: 's' }),
      finding({ tool: 'codeql', ruleId: 'c', severity: 'critical' })
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.tool).toBe('codeql');
    expect(merged[0]!.sources.map((s) => s.tool).sort()).toEqual(['bandit', 'codeql', 'semgrep']);
  });

  it('does not merge two reports from the same tool', () => {
    const merged = mergeDuplicates([finding({ ruleId: 'B301' }), finding({ ruleId: 'B403' })]);
    expect(merged).toHaveLength(2);
    expect(merged.every((f) => f.sources.length === 1)).toBe(true);
  });

  it('does not merge different CWEs, different lines or different files', () => {
    const base = finding({ tool: 'bandit' });
    const cases = [
      finding({ tool: 'semgrep', ruleId: 's', cwe: ['CWE-78'] }),
      finding({ tool: 'semgrep', ruleId: 's', location: { path: 'src/load.py', startLine: 13 } }),
      finding({ tool: 'semgrep', ruleId: 's', location: { path: 'src/other.py', startLine: 12 } })
    ];
    for (const other of cases) {
      expect(mergeDuplicates([base, other])).toEqual([base, other]);
    }
  });

  it('leaves findings without CWE, without a line, or carrying secrets alone', () => {
    const noCwe = [finding({ tool: 'bandit', cwe: undefined }), finding({ tool: 'semgrep', ruleId: 's', cwe: [] })];
    expect(mergeDuplicates(noCwe)).toHaveLength(2);
    const noLine = [finding({ tool: 'bandit', location: { path: 'x.py' } }), finding({ tool: 'semgrep', ruleId: 's', location: { path: 'x.py' } })];
    expect(mergeDuplicates(noLine)).toHaveLength(2);
  });

  it('never lets a merge drop the sensitive flag or keep a snippet of a secret', () => {
    // A generic rule (not marked sensitive, snippet shown) and a secret scanner on the same line.
    const generic = finding({ tool: 'semgrep', ruleId: 'hardcoded-credential', severity: 'critical', cwe: ['CWE-798'], snippet: 'KEY = "AKIA..."' });
    const secret = finding({ tool: 'gitleaks', ruleId: 'aws-access-key', severity: 'high', cwe: ['CWE-798'], sensitive: true });
    for (const input of [[generic, secret], [secret, generic]]) {
      const merged = mergeDuplicates(input);
      expect(merged).toHaveLength(1);
      expect(merged[0]!.sources.map((s) => s.tool).sort()).toEqual(['gitleaks', 'semgrep']);
      expect(merged[0]!.sensitive).toBe(true);
      expect(merged[0]!.snippet).toBeUndefined();
    }
  });
});
