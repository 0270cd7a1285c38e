import { execFile } from 'node:child_process';
import { mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  WorkspaceBoundary,
  assessPolicyChange,
  buildSummary,
  findRelaxations,
  gitCommitSource,
  overriddenKeys,
  parsePolicy,
  parsePolicyDocument,
  workingTreeSource,
  type PolicyChangeReport,
  type ScanResult,
  type StageDefinition,
  type ToolAdapter
} from '@secgate/core';

const execFileAsync = promisify(execFile);
const IDENTITY = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid', GIT_CONFIG_NOSYSTEM: '1' };
async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: { ...process.env, ...IDENTITY } });
  return stdout.trim();
}

const FILE = '.secgate.yml';
const lines = (...text: string[]): string => `${text.join('\n')}\n`;

/** The relaxations of `head` against `base` as "line: message" (line `-` when the key was removed). */
function relax(base: string | undefined, head: string | undefined, overridden: string[] = []): string[] {
  return findRelaxations(base === undefined ? undefined : parsePolicy(base, 'base.yml'), head === undefined ? undefined : parsePolicyDocument(head, FILE), {
    file: FILE,
    overridden: new Set(overridden),
    defaultTimeoutMinutes: { bandit: 15, semgrep: 20 }
  }).map((r) => `${r.line ?? '-'}: ${r.key}: ${r.message}`);
}

const EXCEPTION = ['exceptions:', '  - rule: bandit:B602', '    paths: [tools/**]', '    reason: our own CLI', '    owner: "@ml"', '    expires: 2027-01-31'];

describe('findRelaxations', () => {
  it('finds nothing when the policy is unchanged or stricter', () => {
    const base = lines('fail-on: high', 'exclude: [vendor/**]', ...EXCEPTION);
    expect(relax(base, base)).toEqual([]);
    expect(relax(undefined, undefined)).toEqual([]);
    expect(relax(base, lines('fail-on: medium', 'report-severity: info', 'exclude: []'))).toEqual([]);
    // A narrower exception (fewer paths, earlier expiry, tool-qualified rule) is not a relaxation.
    const narrower = ['exceptions:', '  - rule: bandit:B602', '    paths: [tools/**]', '    reason: our own CLI', '    owner: "@ml"', '    expires: 2026-06-30'];
    expect(relax(base, lines(...narrower))).toEqual([]);
    expect(relax(lines('exceptions:', '  - rule: B602', '    reason: r r', '    owner: o', '    expires: 2027-01-01'), lines('exceptions:', '  - rule: bandit:B602', '    reason: r r', '    owner: o', '    expires: 2027-01-01'))).toEqual([]);
  });

  it('reports a lowered gate, a wider exclude and a blanket exception with their lines (no base policy = defaults)', () => {
    const head = lines('version: 1', 'fail-on: none', 'report-severity: high', 'new-only: baseline', 'exclude:', '  - vendor/**', "  - '**'", 'exceptions:', '  - rule: B602', '    reason: blanket', '    owner: me', '    expires: 2099-12-31');
    expect(relax(undefined, head)).toEqual([
      '2: fail-on: fail-on lowered from high to none: no finding fails the gate',
      '3: report-severity: report-severity raised from low to high: fewer findings are shown',
      '4: new-only: new-only turned to baseline (was off): existing findings no longer fail the gate',
      "6: exclude[0]: new exclude pattern 'vendor/**': findings under it are dropped",
      "7: exclude[1]: new exclude pattern '**': findings under it are dropped",
      '9: exceptions[0]: new exception rule B602 on all paths, until 2099-12-31'
    ]);
  });

  it('reports widened and extended exceptions, and a rule in place of a fingerprint', () => {
    const base = lines(...EXCEPTION, '  - fingerprint: 0123456789abcdef0123456789abcdef', '    reason: false positive', '    owner: me', '    expires: 2027-01-31');
    const head = lines(
      'exceptions:',
      '  - rule: bandit:B602',
      '    paths: [tools/**, src/**]',
      '    reason: our own CLI',
      '    owner: "@ml"',
      '    expires: 2027-01-31',
      '  - rule: bandit:B602',
      '    paths: [tools/**]',
      '    reason: our own CLI',
      '    owner: "@ml"',
      '    expires: 2028-01-31',
      '  - rule: B105',
      '    reason: false positive',
      '    owner: me',
      '    expires: 2027-01-31',
      '  - rule: bandit:B602',
      '    reason: everywhere now',
      '    owner: me',
      '    expires: 2027-01-31'
    );
    expect(relax(base, head)).toEqual([
      '3: exceptions[0].paths: exception rule bandit:B602 widened to tools/**, src/** (was tools/**)',
      '11: exceptions[1].expires: exception rule bandit:B602 extended from 2027-01-31 to 2028-01-31',
      '12: exceptions[2]: new exception rule B105 on all paths, until 2027-01-31',
      '16: exceptions[3].paths: exception rule bandit:B602 widened to all paths (was tools/**)'
    ]);
  });

  it('reports disabled tools, version overrides, unverified builds, lowered timeouts and a changed baseline', () => {
    const base = lines('tools:', '  semgrep: { timeout-minutes: 30 }');
    const head = lines(
      'baseline: other-baseline.json',
      'tools:',
      '  bandit:',
      '    enabled: false',
      '  semgrep:',
      '    timeout-minutes: 1',
      '  gitleaks:',
      '    version: 8.0.0',
      '    allow-unverified: true',
      '  git-secrets:',
      '    timeout-minutes: 60'
    );
    expect(relax(base, head)).toEqual([
      '1: baseline: baseline file changed from .secgate-baseline.json to other-baseline.json',
      '4: tools.bandit.enabled: bandit disabled',
      '9: tools.gitleaks.allow-unverified: gitleaks may run an unverified build (allow-unverified)',
      '8: tools.gitleaks.version: gitleaks version overridden to 8.0.0',
      '6: tools.semgrep.timeout-minutes: semgrep time limit lowered from 30 to 1 minute(s)'
    ]);
    // Below the adapter default without a base setting counts too.
    expect(relax(undefined, lines('tools:', '  bandit: { timeout-minutes: 2 }'))).toEqual(['2: tools.bandit.timeout-minutes: bandit time limit lowered from 15 to 2 minute(s)']);
  });

  it('reports a removed setting (no line) and skips keys an input overrides', () => {
    expect(relax(lines('fail-on: low'), lines('version: 1'))).toEqual(['-: fail-on: fail-on lowered from low to high']);
    expect(relax(lines('fail-on: low'), undefined)).toEqual(['-: fail-on: fail-on lowered from low to high']);
    expect(relax(undefined, lines('fail-on: none', 'new-only: changed-lines'), ['fail-on', 'new-only'])).toEqual([]);
    expect([...overriddenKeys({ workspace: '.', options: {}, failOn: 'high', toolVersions: 'bandit=1.9.4', timeoutMinutes: '5' })].sort()).toEqual([
      'fail-on',
      'timeout-minutes',
      'tool-versions.bandit'
    ]);
    expect([...overriddenKeys({ workspace: '.', options: { 'ignore-unfixed': 'true', 'unknown-severity': 'low', 'osv-url': 'http://x' } })].sort()).toEqual([
      'ignore-unfixed',
      'unknown-severity'
    ]);
  });
});

describe('findRelaxations: dependency policy', () => {
  const CORE = ['fail-on: high', 'package-policy:', '  - packages: [torch, tensorflow*]', '    fail-on: medium', '  - packages: [numpy]', '    fail-on: low'];

  it('finds nothing when package rules, ignore-unfixed and unknown-severity stay or get stricter', () => {
    const base = lines(...CORE, 'unknown-severity: high');
    expect(relax(base, base)).toEqual([]);
    // Stricter rules, a glob that covers a listed name, a stricter unknown-severity, ignore-unfixed turned off.
    const stricter = lines('fail-on: high', 'package-policy:', '  - packages: [torch, tensorflow*, "num*"]', '    fail-on: low', 'unknown-severity: critical', 'ignore-unfixed: false');
    expect(relax(base, stricter)).toEqual([]);
    // A rule superseded by a global fail-on at least as strict is not a relaxation.
    expect(relax(base, lines('fail-on: low'))).toEqual([]);
  });

  it('reports a package rule loosened or removed, narrowed to one ecosystem, ignore-unfixed turned on and unknown-severity lowered', () => {
    const head = lines(
      'fail-on: high',
      'package-policy:',
      '  - packages: [torch]',
      '    fail-on: high',
      '  - packages: [tensorflow*]',
      '    ecosystem: PyPI',
      '    fail-on: medium',
      'ignore-unfixed: true',
      'unknown-severity: low'
    );
    expect(relax(lines(...CORE), head)).toEqual([
      '8: ignore-unfixed: ignore-unfixed turned on: vulnerabilities without a fixed version no longer fail the gate',
      '9: unknown-severity: unknown-severity lowered from high to low: vulnerabilities without a severity may no longer fail the gate',
      '4: package-policy[0].fail-on: package-policy for torch loosened from medium to high',
      '6: package-policy[1].ecosystem: package-policy for tensorflow* narrowed to ecosystem PyPI (was fail-on medium in every ecosystem)',
      // A removed entry has no line of its own: the list's first line.

      '3: package-policy: package-policy for numpy removed (was fail-on low)'
    ]);
    expect(relax(lines(...CORE), lines('fail-on: high'))).toEqual([
      '-: package-policy: package-policy for torch removed (was fail-on medium)',
      '-: package-policy: package-policy for tensorflow* removed (was fail-on medium)',
      '-: package-policy: package-policy for numpy removed (was fail-on low)'
    ]);
  });

  it('skips ignore-unfixed and unknown-severity when an input sets them, and does not let an overridden fail-on stand in for a rule', () => {
    expect(relax(undefined, lines('ignore-unfixed: true', 'unknown-severity: info'), ['ignore-unfixed', 'unknown-severity'])).toEqual([]);
    expect(relax(lines(...CORE), lines('fail-on: info'), ['fail-on'])).toHaveLength(3);
  });

  it('reports new advisory and unaudited exceptions; cve and advisory are one selector; a dropped package narrowing widens', () => {
    const entry = (...keys: string[]): string[] => ['  - ' + keys[0]!, ...keys.slice(1).map((k) => `    ${k}`), '    reason: accepted', '    owner: "@ml"', '    expires: 2027-01-31'];
    const base = lines('exceptions:', ...entry('cve: CVE-2020-14343', 'package: PyYAML'), ...entry('unaudited: internal-models'));
    expect(relax(base, base)).toEqual([]);
    // The synonym and a normalised package name select the same findings.
    expect(relax(base, lines('exceptions:', ...entry('advisory: cve-2020-14343', 'package: pyyaml'), ...entry('unaudited: internal_models')))).toEqual([]);
    expect(
      relax(base, lines('exceptions:', ...entry('advisory: CVE-2020-14343'), ...entry('unaudited: torch'), ...entry('advisory: GHSA-8q59-q68h-6hv4', 'paths: [requirements-dev.txt]')))
    ).toEqual([
      '2: exceptions[0]: new exception advisory CVE-2020-14343 on all paths, until 2027-01-31',
      '6: exceptions[1]: new exception unaudited torch, until 2027-01-31: torch may stay unchecked by the vulnerability tools',
      '10: exceptions[2]: new exception advisory GHSA-8q59-q68h-6hv4 on requirements-dev.txt, until 2027-01-31'
    ]);
  });
});

function stage(): StageDefinition {
  const adapter = (id: string, minutes: number): ToolAdapter => ({
    id,
    displayName: id,
    description: id,
    install: { kind: 'python', tool: id, distribution: id, module: id, defaultVersion: '1.0.0' },
    defaultTimeoutMs: minutes * 60_000,
    severityMap: {},
    command: () => ({ args: [] }),
    exitMeaning: () => 'clean',
    parse: () => ({ findings: [], warnings: [] })
  });
  return { id: 'sast', title: 'sast', adapters: [adapter('bandit', 15), adapter('semgrep', 20)], defaultTools: ['bandit', 'semgrep'] };
}

describe('assessPolicyChange against a real base commit', () => {
  let repo: string;
  let base: string;
  beforeEach(async () => {
    repo = await realpath(await mkdtemp(path.join(os.tmpdir(), 'secgate-relax-')));
    await git(repo, ['-c', 'init.defaultBranch=main', 'init', '-q']);
    const fingerprint = 'a'.repeat(32);
    await writeFile(path.join(repo, '.secgate.yml'), lines('fail-on: high', 'new-only: baseline'));
    await writeFile(path.join(repo, '.secgate-baseline.json'), JSON.stringify({ version: 1, generatedAt: 'x', findings: [{ fingerprint, tool: 'bandit', ruleId: 'B1' }] }));
    await git(repo, ['add', '-A']);
    await git(repo, ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'base']);
    base = await git(repo, ['rev-parse', 'HEAD']);
  });
  afterEach(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  async function assess(applied: 'head' | 'base' = 'head', raw: Record<string, string> = {}) {
    const head = workingTreeSource(await WorkspaceBoundary.open(repo));
    return assessPolicyChange([stage()], { workspace: repo, options: {}, ...raw }, { base: gitCommitSource(repo, base), head }, applied);
  }

  it('lists the policy relaxations and the fingerprints the change adds to the baseline', async () => {
    await writeFile(path.join(repo, '.secgate.yml'), lines('fail-on: none', 'new-only: baseline', "exclude: ['**']"));
    const findings = ['a', 'b', 'c'].map((c) => ({ fingerprint: c.repeat(32), tool: 'bandit', ruleId: 'B1' }));
    await writeFile(path.join(repo, '.secgate-baseline.json'), JSON.stringify({ version: 1, generatedAt: 'y', findings }));
    const report = await assess();
    expect(report).toEqual({
      baseLabel: `base commit ${base.slice(0, 7)}`,
      policyFile: '.secgate.yml',
      applied: 'head',
      relaxations: [
        { key: 'fail-on', message: 'fail-on lowered from high to none: no finding fails the gate', file: '.secgate.yml', line: 1 },
        { key: 'exclude[0]', message: "new exclude pattern '**': findings under it are dropped", file: '.secgate.yml', line: 3 },
        {
          key: 'baseline',
          message: '2 fingerprint(s) added to the baseline .secgate-baseline.json: those findings no longer fail the gate',
          file: '.secgate-baseline.json'
        }
      ]
    });
  });

  it('treats a policy file added by the change as a change from the defaults, and a deleted one likewise', async () => {
    await git(repo, ['rm', '-q', '.secgate.yml']);
    await git(repo, ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'no policy']);
    base = await git(repo, ['rev-parse', 'HEAD']);
    await writeFile(path.join(repo, '.secgate.yml'), lines('fail-on: critical'));
    expect((await assess()).relaxations.map((r) => r.message)).toEqual(['fail-on lowered from high to critical']);
  });

  it('reports, never hides, a comparison it cannot make', async () => {
    await symlink('/etc/hostname', path.join(repo, 'elsewhere.yml'));
    const report = await assess('head', { config: 'elsewhere.yml' });
    expect(report.relaxations).toEqual([]);
    expect(report.error).toContain("'elsewhere.yml' is outside the workspace");
  });
});

describe('the summary section', () => {
  const result = (policyChange?: PolicyChangeReport): ScanResult => ({
    stages: ['sast'],
    workspace: '/w',
    tools: [],
    findings: [],
    blocking: [],
    ledger: { expired: [], expiringSoon: [], unused: [] },
    policy: { failOn: 'none', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
    verdict: 'pass',
    errors: [],
    durationMs: 1,
    policyChange
  });

  it('lists every relaxation with its place, escaped, and says which policy applied', () => {
    const relaxations = findRelaxations(undefined, parsePolicyDocument(lines('fail-on: none', 'exclude:', "  - '**|<img src=x>'"), FILE), { file: FILE });
    const head = buildSummary(result({ baseLabel: 'base commit 1234567', policyFile: FILE, applied: 'head', relaxations }));
    expect(head).toContain('### ⚠️ This change relaxes the gate');
    expect(head).toContain('- <code>.secgate.yml:1</code> fail-on lowered from high to none: no finding fails the gate');
    expect(head).toContain("- <code>.secgate.yml:3</code> new exclude pattern '\\*\\*\\|&lt;img src=x&gt;': findings under it are dropped");
    expect(head).not.toContain('<img');
    const base = buildSummary(result({ baseLabel: 'base commit 1234567', policyFile: FILE, applied: 'base', relaxations }));
    expect(base).toContain("`policy-source: base` applied the base commit's policy, so these changes had no effect");
  });

  it('shows a comparison that could not be made, and nothing when there is no change or no pull request', () => {
    const failed = buildSummary(result({ baseLabel: 'base commit 1234567', policyFile: FILE, applied: 'head', relaxations: [], error: 'git fetch failed' }));
    expect(failed).toContain('### ⚠️ Policy change not checked');
    expect(failed).toContain('The policy could not be compared with base commit 1234567: git fetch failed');
    expect(buildSummary(result({ baseLabel: 'base commit 1234567', policyFile: FILE, applied: 'head', relaxations: [] }))).not.toContain('relaxes the gate');
    expect(buildSummary(result())).not.toContain('relaxes the gate');
  });
});
