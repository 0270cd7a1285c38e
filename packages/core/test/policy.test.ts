import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, loadPolicyFile, parsePolicy, parsePolicyDocument } from '@secgate/core';

const FP = '0123456789abcdef0123456789abcdef';

function errorOf(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parsePolicy', () => {
  it('accepts a complete valid file', () => {
    const text = [
      'version: 1',
      'fail-on: medium',
      'report-severity: low',
      'new-only: baseline',
      'baseline: .secgate-baseline.json',
      'exclude:',
      '  - vendor/**',
      'tools:',
      '  bandit:',
      '    version: 1.8.0',
      `    sha256: ${'a'.repeat(64)}`,
      '    timeout-minutes: 5',
      '    enabled: true',
      'exceptions:',
      '  - rule: bandit:B602',
      '    paths: [scripts/**]',
      '    reason: build scripts only',
      '    owner: "@alice"',
      '    expires: 2026-12-31',
      `  - fingerprint: ${FP}`,
      '    reason: false positive',
      '    owner: bob',
      '    expires: "2026-06-01"',
      '  - cve: CVE-2024-1234',
      '    reason: not reachable',
      '    owner: carol',
      '    expires: 2026-06-01',
      ''
    ].join('\n');
    const policy = parsePolicy(text, '.secgate.yml');
    expect(policy['fail-on']).toBe('medium');
    expect(policy['new-only']).toBe('baseline');
    expect(policy.exclude).toEqual(['vendor/**']);
    expect(policy.tools?.['bandit']?.['timeout-minutes']).toBe(5);
    expect(policy.exceptions).toHaveLength(3);
    expect(policy.exceptions![0]).toEqual({
      rule: 'bandit:B602',
      paths: ['scripts/**'],
      reason: 'build scripts only',
      owner: '@alice',
      expires: '2026-12-31'
    });
    // Unquoted YAML dates stay strings (the core schema), so the pattern check applies.
    expect(policy.exceptions![2]!.expires).toBe('2026-06-01');
  });

  it('treats an empty file as an empty policy', () => {
    expect(parsePolicy('', '.secgate.yml')).toEqual({});
    expect(parsePolicy('# only a comment\n', '.secgate.yml')).toEqual({});
  });

  it('names the key path and line of an unknown key', () => {
    const text = [
      'fail-on: high',
      'exceptions:',
      '  - rule: B602',
      '    reason: because',
      '    expirez: 2026-01-01',
      '    owner: me',
      '    expires: 2026-01-01',
      ''
    ].join('\n');
    const error = errorOf(() => parsePolicy(text, '.secgate.yml'));
    expect(error.key).toBe('config');
    expect(error.message).toContain('.secgate.yml:5: exceptions[0].expirez: unknown key');
  });

  it('reports an unknown top-level key (a typo must not relax the gate)', () => {
    const error = errorOf(() => parsePolicy('fail-on: high\nfailon: none\n', 'p.yml'));
    expect(error.message).toContain('p.yml:2: failon: unknown key');
  });

  it('rejects a bad fail-on value and lists the allowed ones', () => {
    const error = errorOf(() => parsePolicy('version: 1\nfail-on: hihg\n', '.secgate.yml'));
    expect(error.message).toMatch(/\.secgate\.yml:2: fail-on: must be one of critical, high, medium, low, info, none/);
  });

  it('requires fingerprint, rule, advisory, cve or unaudited on an exception', () => {
    const text = ['exceptions:', '  - reason: no selector', '    owner: me', '    expires: 2026-01-01', ''].join('\n');
    const error = errorOf(() => parsePolicy(text, '.secgate.yml'));
    expect(error.message).toContain('exceptions[0]: needs one of fingerprint, rule, advisory, cve or unaudited');
    // `package` and `paths` narrow a selector; alone they would suppress every finding of a package.
    const packageOnly = ['exceptions:', '  - package: torch', '    reason: no selector', '    owner: me', '    expires: 2026-01-01', ''].join('\n');
    expect(errorOf(() => parsePolicy(packageOnly, '.secgate.yml')).message).toContain('exceptions[0]: needs one of');
    // The anyOf branches' own "required" errors are folded into that one line.
    expect(error.message).not.toMatch(/must have required property 'fingerprint'/);
  });

  it('accepts the dependency keys: package-policy, ignore-unfixed, unknown-severity, advisory and unaudited entries', () => {
    const text = [
      'fail-on: high',
      'package-policy:',
      '  - packages: [torch, tensorflow*, numpy, transformers]',
      '    fail-on: medium',
      '  - packages: [lodash]',
      '    ecosystem: npm',
      '    fail-on: low',
      'ignore-unfixed: true',
      'unknown-severity: critical',
      'exceptions:',
      '  - advisory: GHSA-8q59-q68h-6hv4',
      '    package: PyYAML',
      '    paths: [requirements-dev.txt]',
      '    reason: dev only, never loads untrusted YAML',
      '    owner: "@ml-platform"',
      '    expires: 2026-09-30',
      '  - unaudited: internal-models',
      '    reason: private package, unknown to the vulnerability service',
      '    owner: "@ml-platform"',
      '    expires: 2026-06-30',
      ''
    ].join('\n');
    const policy = parsePolicy(text, '.secgate.yml');
    expect(policy['package-policy']).toEqual([
      { packages: ['torch', 'tensorflow*', 'numpy', 'transformers'], 'fail-on': 'medium' },
      { packages: ['lodash'], ecosystem: 'npm', 'fail-on': 'low' }
    ]);
    expect(policy['ignore-unfixed']).toBe(true);
    expect(policy['unknown-severity']).toBe('critical');
    expect(policy.exceptions![0]).toMatchObject({ advisory: 'GHSA-8q59-q68h-6hv4', package: 'PyYAML', paths: ['requirements-dev.txt'] });
    expect(policy.exceptions![1]).toMatchObject({ unaudited: 'internal-models' });
  });

  it('names the line of a bad package-policy rule, ignore-unfixed or unknown-severity value', () => {
    const text = [
      'package-policy:',
      '  - packages: [torch]',
      '    fail-on: none',
      '  - packages: []',
      '    fail-on: high',
      '  - packages: [numpy]',
      '    failon: high',
      'ignore-unfixed: yes please',
      'unknown-severity: none',
      ''
    ].join('\n');
    const error = errorOf(() => parsePolicy(text, '.secgate.yml'));
    expect(error.message).toContain('.secgate.yml:3: package-policy[0].fail-on: must be one of critical, high, medium, low, info');
    expect(error.message).toContain('.secgate.yml:4: package-policy[1].packages: must NOT have fewer than 1 items');
    expect(error.message).toContain('.secgate.yml:7: package-policy[2].failon: unknown key');
    expect(error.message).toContain('.secgate.yml:8: ignore-unfixed: must be boolean');
    expect(error.message).toContain('.secgate.yml:9: unknown-severity: must be one of critical, high, medium, low, info');
  });

  it('refuses an unaudited entry mixed with finding selectors, and an advisory that is not an id', () => {
    const mixed = ['exceptions:', '  - unaudited: torch', '    advisory: CVE-2024-1', '    reason: because', '    owner: me', '    expires: 2026-01-01', ''].join('\n');
    expect(errorOf(() => parsePolicy(mixed, '.secgate.yml')).message).toContain(
      '.secgate.yml:2: exceptions[0]: unaudited allows an unchecked dependency or path only: it cannot be combined with fingerprint, rule, advisory, cve, package or paths'
    );
    const notAnId = ['exceptions:', '  - advisory: "*"', '    reason: because', '    owner: me', '    expires: 2026-01-01', ''].join('\n');
    expect(errorOf(() => parsePolicy(notAnId, '.secgate.yml')).message).toContain('.secgate.yml:2: exceptions[0].advisory: must be an advisory id such as CVE-2020-14343');
  });

  it('rejects an expiry that is not YYYY-MM-DD', () => {
    const text = ['exceptions:', '  - rule: B602', '    reason: because', '    owner: me', '    expires: 31/12/2026', ''].join('\n');
    const error = errorOf(() => parsePolicy(text, '.secgate.yml'));
    expect(error.message).toContain('.secgate.yml:5: exceptions[0].expires: must be a date YYYY-MM-DD');
  });

  it('lists every problem, not only the first', () => {
    const text = ['fail-on: nope', 'new-only: sometimes', ''].join('\n');
    const error = errorOf(() => parsePolicy(text, 'p.yml'));
    expect(error.message).toContain('p.yml:1: fail-on:');
    expect(error.message).toContain('p.yml:2: new-only: must be one of off, baseline, changed-lines');
  });

  it('rejects a document that is not a mapping', () => {
    const error = errorOf(() => parsePolicy('- fail-on: high\n', 'p.yml'));
    expect(error.message).toContain('(top level): must be object');
  });

  it('rejects invalid YAML and duplicate keys', () => {
    const bad = errorOf(() => parsePolicy('fail-on: [high\n', '.secgate.yml'));
    expect(bad.key).toBe('config');
    expect(bad.message).toMatch(/^config: \.secgate\.yml:\d+:\d+: invalid YAML \([a-z ]+\)$/);

    const dup = errorOf(() => parsePolicy('fail-on: high\nfail-on: none\n', '.secgate.yml'));
    expect(dup.message).toBe('config: .secgate.yml:2:1: invalid YAML (duplicate key)');
  });

  it('never quotes the file in YAML errors (the file may not be a policy at all)', () => {
    const secretish = 'AWS_SECRET=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
    for (const text of [`${secretish}\n  bad: [indent\n`, `key: *${secretish}\n`, `${secretish}: {\n`, `- ${secretish}\n`, `${secretish}\n`]) {
      const error = errorOf(() => parsePolicy(text, 'p.yml'));
      expect(error.message).not.toContain('wJalrXUtnFEMIK7MDENG');
    }
  });

  it('names an alias bomb and an unresolved alias without internal errors', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const name of ['b', 'c', 'd', 'e', 'f']) bomb.push(`${name}: &${name} [${Array(10).fill(`*${String.fromCharCode(name.charCodeAt(0) - 1)}`).join(', ')}]`);
    const error = errorOf(() => parsePolicy(bomb.join('\n'), 'bomb.yml'));
    expect(error.message).toBe('config: bomb.yml: invalid YAML (too many alias expansions (an alias bomb?))');
    const nesting = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(errorOf(() => parsePolicy(`exclude: ${nesting}\n`, 'deep.yml')).message).toMatch(/^config: deep\.yml/);
  });

  it('gives the line of every key (for annotations)', () => {
    const doc = parsePolicyDocument(['fail-on: none', 'exclude:', '  - a/**', '  - "**"', 'exceptions:', '  - rule: B602', '    reason: why not', '    owner: me', '    expires: 2030-01-01', ''].join('\n'), 'p.yml');
    expect(doc.lineOf(['fail-on'])).toBe(1);
    expect(doc.lineOf(['exclude', 1])).toBe(4);
    expect(doc.lineOf(['exceptions', 0])).toBe(6);
    expect(doc.lineOf(['exceptions', 0, 'expires'])).toBe(9);
    expect(doc.lineOf(['report-severity'])).toBeUndefined();
  });
});

describe('loadPolicyFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-policy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns undefined for a missing optional file', async () => {
    await expect(loadPolicyFile(path.join(dir, '.secgate.yml'), false)).resolves.toBeUndefined();
  });

  it('fails for a missing required file, naming the config key', async () => {
    const file = path.join(dir, 'custom.yml');
    const promise = loadPolicyFile(file, true);
    await expect(promise).rejects.toBeInstanceOf(ConfigurationError);
    await expect(loadPolicyFile(file, true)).rejects.toThrow(/^config: cannot read '.*custom\.yml' \(ENOENT\)/);
  });

  it('reads and validates an existing file', async () => {
    const file = path.join(dir, '.secgate.yml');
    await writeFile(file, 'fail-on: critical\n');
    await expect(loadPolicyFile(file, false)).resolves.toEqual({ 'fail-on': 'critical' });
    await writeFile(file, 'fail-on: critical\nbogus: 1\n');
    await expect(loadPolicyFile(file, false)).rejects.toThrow(/\.secgate\.yml:2: bogus: unknown key/);
  });
});
