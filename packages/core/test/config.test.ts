import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigurationError,
  DEFAULTS,
  MemoryLogger,
  parseList,
  parseToolVersions,
  prepareScan,
  selectAdapters,
  type RawSettings,
  type RepoFileSource,
  type StageDefinition,
  type ToolAdapter
} from '@secgate/core';

const NOW = new Date('2026-03-01T00:00:00Z');
const HEX = 'ab'.repeat(32);

function fakeAdapter(id: string): ToolAdapter {
  return {
    id,
    displayName: id,
    description: `fake ${id}`,
    install: { kind: 'python', tool: id, distribution: id, module: id, defaultVersion: '1.0.0' },
    defaultTimeoutMs: 60_000,
    severityMap: {},
    command: () => {
      throw new Error('not used by prepareScan');
    },
    exitMeaning: () => 'clean',
    parse: () => ({ findings: [], warnings: [] })
  };
}

const STAGE: StageDefinition = {
  id: 'sast',
  title: 'Static analysis',
  adapters: [fakeAdapter('bandit'), fakeAdapter('semgrep')],
  defaultTools: ['bandit', 'semgrep']
};

let workspace: string;
let logger: MemoryLogger;
beforeEach(async () => {
  workspace = await realpath(await mkdtemp(path.join(os.tmpdir(), 'secgate-config-')));
  logger = new MemoryLogger();
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function settings(overrides: Partial<RawSettings> = {}): RawSettings {
  return { workspace, options: {}, ...overrides };
}

async function prepare(overrides: Partial<RawSettings> = {}) {
  return prepareScan([STAGE], settings(overrides), { logger, now: NOW, tempDir: path.join(workspace, '.tmp') });
}

async function configError(promise: Promise<unknown>): Promise<ConfigurationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

describe('prepareScan', () => {
  it('uses the built-in defaults without a policy file', async () => {
    const prepared = await prepare();
    expect(prepared.policyFile).toBeUndefined();
    expect(prepared.policyPath).toBe(path.join(workspace, '.secgate.yml'));
    expect(prepared.request.policy).toEqual({
      failOn: DEFAULTS.failOn,
      reportSeverity: DEFAULTS.reportSeverity,
      newOnly: 'off',
      exceptions: [],
      packagePolicy: [],
      ignoreUnfixed: false,
      unknownSeverity: 'high'
    });
    // Adapters that enrich advisories see the one effective value.
    expect(prepared.request.options['unknown-severity']).toBe('high');
    expect(prepared.request.targets).toEqual(['.']);
    expect(prepared.request.tools).toEqual([]);
    expect(prepared.request.baseline).toBeUndefined();
    expect(prepared.request.timeoutsMs).toEqual({});
    expect(prepared.request.now).toBe(NOW);
    expect(prepared.request.tempDir).toBe(path.join(workspace, '.tmp'));
  });

  it('takes the policy file over defaults and explicit inputs over the policy file', async () => {
    await writeFile(
      path.join(workspace, '.secgate.yml'),
      [
        'fail-on: medium',
        'report-severity: medium',
        'exclude: [vendor/**]',
        'tools:',
        '  bandit:',
        '    timeout-minutes: 2',
        '    version: 1.7.0',
        `    sha256: ${HEX}`,
        'exceptions:',
        '  - rule: B602',
        '    reason: accepted',
        '    owner: me',
        '    expires: 2026-12-31',
        ''
      ].join('\n')
    );
    const fromPolicy = await prepare();
    expect(fromPolicy.request.policy.failOn).toBe('medium');
    expect(fromPolicy.request.policy.reportSeverity).toBe('medium');
    expect(fromPolicy.request.policy.exceptions).toHaveLength(1);
    expect(fromPolicy.request.exclude).toEqual(['vendor/**']);
    expect(fromPolicy.request.timeoutsMs).toEqual({ bandit: 120_000 });
    expect(fromPolicy.installer.overrides).toEqual({ bandit: { version: '1.7.0', sha256: HEX, allowUnverified: undefined } });
    expect(logger.text()).toContain('Policy: .secgate.yml');

    const fromInput = await prepare({
      failOn: 'CRITICAL',
      reportSeverity: 'high',
      exclude: 'build/**\n# comment\n, dist/**',
      timeoutMinutes: '0.5',
      toolVersions: 'bandit=1.8.0'
    });
    expect(fromInput.request.policy.failOn).toBe('critical');
    expect(fromInput.request.policy.reportSeverity).toBe('high');
    expect(fromInput.request.exclude).toEqual(['vendor/**', 'build/**', 'dist/**']);
    expect(fromInput.request.timeoutsMs).toEqual({ bandit: 30_000, semgrep: 30_000 });
    expect(fromInput.installer.overrides).toEqual({ bandit: { version: '1.8.0', sha256: undefined, allowUnverified: false } });
  });

  it('reads a policy file named by the config input, and fails if it is missing', async () => {
    await mkdir(path.join(workspace, 'ci'));
    await writeFile(path.join(workspace, 'ci', 'gate.yml'), 'fail-on: low\n');
    const prepared = await prepare({ config: 'ci/gate.yml' });
    expect(prepared.request.policy.failOn).toBe('low');
    const error = await configError(prepare({ config: 'ci/missing.yml' }));
    expect(error.key).toBe('config');
  });

  it('names fail-on when its value is bad, from the input or the policy file', async () => {
    const error = await configError(prepare({ failOn: 'hihg' }));
    expect(error.key).toBe('fail-on');
    expect(error.message).toMatch(/^fail-on: 'hihg' is not one of none, critical/);
    expect((await configError(prepare({ reportSeverity: 'none' }))).key).toBe('report-severity');
    expect((await configError(prepare({ newOnly: 'sometimes' }))).key).toBe('new-only');
    expect((await configError(prepare({ timeoutMinutes: '-1' }))).key).toBe('timeout-minutes');
    expect((await configError(prepare({ mirrorUrl: 'ftp://mirror' }))).key).toBe('mirror-url');
  });

  it('takes ignore-unfixed and unknown-severity from the input over the policy file, and puts the effective unknown-severity into the options', async () => {
    await writeFile(path.join(workspace, '.secgate.yml'), 'ignore-unfixed: true\nunknown-severity: medium\n');
    const fromPolicy = await prepare();
    expect(fromPolicy.request.policy.ignoreUnfixed).toBe(true);
    expect(fromPolicy.request.policy.unknownSeverity).toBe('medium');
    expect(fromPolicy.request.options['unknown-severity']).toBe('medium');

    const fromInput = await prepare({ options: { 'ignore-unfixed': ' False ', 'unknown-severity': 'CRITICAL', 'osv-url': 'http://127.0.0.1:1' } });
    expect(fromInput.request.policy.ignoreUnfixed).toBe(false);
    expect(fromInput.request.policy.unknownSeverity).toBe('critical');
    expect(fromInput.request.options).toEqual({ 'ignore-unfixed': ' False ', 'unknown-severity': 'critical', 'osv-url': 'http://127.0.0.1:1' });
    // An empty input (an action input left blank) means "not given".
    expect((await prepare({ options: { 'ignore-unfixed': '', 'unknown-severity': '' } })).request.policy).toMatchObject({ ignoreUnfixed: true, unknownSeverity: 'medium' });
  });

  it('names ignore-unfixed or unknown-severity when the input is not a valid value (never read as false)', async () => {
    const unfixed = await configError(prepare({ options: { 'ignore-unfixed': 'yes' } }));
    expect(unfixed.key).toBe('ignore-unfixed');
    expect(unfixed.message).toBe("ignore-unfixed: 'yes' is not true or false");
    expect((await configError(prepare({ options: { 'unknown-severity': 'none' } }))).key).toBe('unknown-severity');
    expect((await configError(prepare({ options: { 'unknown-severity': 'severe' } }))).key).toBe('unknown-severity');
  });

  it('keeps package rules stricter than fail-on and drops a looser one with a warning (a package rule never loosens the gate)', async () => {
    await writeFile(
      path.join(workspace, '.secgate.yml'),
      ['fail-on: high', 'package-policy:', '  - packages: [torch, tensorflow*]', '    fail-on: medium', '  - packages: [requests]', '    fail-on: critical', ''].join('\n')
    );
    const prepared = await prepare();
    expect(prepared.request.policy.packagePolicy).toEqual([{ packages: ['torch', 'tensorflow*'], 'fail-on': 'medium' }]);
    expect(logger.lines).toContainEqual({
      level: 'warning',
      message:
        'Policy: package-policy[1] (fail-on critical for requests) is not stricter than fail-on high and has no effect; a package rule never loosens the gate'
    });
    // With fail-on from an input, the rules are compared with that value.
    const lowGate = await prepare({ failOn: 'low' });
    expect(lowGate.request.policy.packagePolicy).toEqual([]);
    const noGate = await prepare({ failOn: 'none' });
    expect(noGate.request.policy.packagePolicy).toHaveLength(2);
  });

  it('accepts new-only aliases', async () => {
    expect((await prepare({ newOnly: 'false' })).request.policy.newOnly).toBe('off');
    expect((await prepare({ newOnly: ' Changed-Lines ' })).request.policy.newOnly).toBe('changed-lines');
  });

  it('rejects paths outside the workspace', async () => {
    for (const bad of ['../elsewhere', '/etc', 'src/../../x']) {
      const error = await configError(prepare({ paths: bad }));
      expect(error.key).toBe('paths');
      expect(error.message).toContain('is outside the workspace');
    }
    // A sibling directory that shares the workspace's name as a prefix is outside too.
    expect((await configError(prepare({ paths: `../${path.basename(workspace)}-evil` }))).key).toBe('paths');
    await mkdir(path.join(workspace, 'src'));
    await mkdir(path.join(workspace, 'lib'));
    const ok = await prepare({ paths: 'src\n./lib, .' });
    expect(ok.request.targets).toEqual(['src', './lib', '.']);
  });

  it('rejects paths that reach outside through a symlink, and paths that do not exist', async () => {
    await symlink('/etc', path.join(workspace, 'etc-link'));
    for (const bad of ['etc-link', 'etc-link/ssl', './etc-link/']) {
      const error = await configError(prepare({ paths: bad }));
      expect(error.key).toBe('paths');
      expect(error.message).toContain('is outside the workspace');
    }
    const missing = await configError(prepare({ paths: 'nowhere' }));
    expect(missing.message).toBe("paths: 'nowhere' does not exist in the workspace");
  });

  it('requires a baseline file in baseline mode and points at `secgate baseline`', async () => {
    const error = await configError(prepare({ newOnly: 'baseline' }));
    expect(error.key).toBe('baseline');
    expect(error.message).toContain("create it with 'secgate baseline'");

    await writeFile(
      path.join(workspace, '.secgate-baseline.json'),
      JSON.stringify({ version: 1, generatedAt: NOW.toISOString(), findings: [{ fingerprint: 'f'.repeat(32), tool: 'bandit', ruleId: 'B602' }] })
    );
    const prepared = await prepare({ newOnly: 'baseline' });
    expect([...prepared.request.baseline!]).toEqual(['f'.repeat(32)]);
  });

  it('rejects a baseline file that is not a secgate baseline', async () => {
    await writeFile(path.join(workspace, 'b.json'), '{"findings": "nope"}');
    expect((await configError(prepare({ baseline: 'b.json' }))).message).toContain('is not a secgate baseline');
    await writeFile(path.join(workspace, 'b.json'), '{oops');
    const invalid = await configError(prepare({ baseline: 'b.json' }));
    expect(invalid.message).toBe('baseline: baseline b.json is not valid JSON (at line 1, column 2)');
    await writeFile(path.join(workspace, 'b.json'), '{"version": 1, "findings": [null]}');
    expect((await configError(prepare({ baseline: 'b.json' }))).message).toContain('findings[0].fingerprint is not 32 hex digits');
  });

  it('refuses baseline and policy files outside the workspace without quoting their content', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'secgate-outside-'));
    try {
      const marker = 'NOT_JSON_outside_content_7f3a';
      await writeFile(path.join(outside, 'notes.txt'), `${marker}\n`);
      await writeFile(path.join(outside, 'policy.yml'), `${marker}: 1\n`);
      for (const baseline of ['/proc/self/environ', path.join(outside, 'notes.txt'), '../x.json']) {
        const error = await configError(prepare({ baseline }));
        expect(error.key).toBe('baseline');
        expect(error.message).toContain('is outside the workspace');
      }
      await symlink(path.join(outside, 'notes.txt'), path.join(workspace, 'baseline.json'));
      const viaLink = await configError(prepare({ baseline: 'baseline.json' }));
      expect(viaLink.message).not.toContain(marker);
      // The policy key, too (it comes from the code under review).
      await writeFile(path.join(workspace, '.secgate.yml'), 'new-only: baseline\nbaseline: /proc/self/environ\n');
      const fromPolicy = await configError(prepare());
      expect(fromPolicy.message).toBe("baseline: '/proc/self/environ' is outside the workspace (paths and the symlinks they pass through must stay inside it)");
      await rm(path.join(workspace, '.secgate.yml'));
      // A policy file that is a symlink to another file, by default name or named.
      await symlink(path.join(outside, 'policy.yml'), path.join(workspace, '.secgate.yml'));
      const policyLink = await configError(prepare());
      expect(policyLink.key).toBe('config');
      expect(policyLink.message).not.toContain(marker);
      expect((await configError(prepare({ config: path.join(outside, 'policy.yml') }))).message).not.toContain(marker);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('limits timeout-minutes to the 6-hour job limit, as input and in the policy file', async () => {
    for (const bad of ['1e12', '361', 'Infinity', '0']) {
      const error = await configError(prepare({ timeoutMinutes: bad }));
      expect(error.key).toBe('timeout-minutes');
    }
    expect((await configError(prepare({ timeoutMinutes: '1e12' }))).message).toBe("timeout-minutes: '1e12' is more than 360 minutes (the 6-hour job limit)");
    expect((await prepare({ timeoutMinutes: '360' })).request.timeoutsMs).toEqual({ bandit: 21_600_000, semgrep: 21_600_000 });
    await writeFile(path.join(workspace, '.secgate.yml'), 'tools:\n  bandit:\n    timeout-minutes: 1e12\n');
    const fromPolicy = await configError(prepare());
    expect(fromPolicy.message).toContain('.secgate.yml:3: tools.bandit.timeout-minutes: must be <= 360');
  });

  it('names the policy file for a YAML alias bomb instead of failing with an internal error', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]'];
    bomb.push('d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]', '');
    await writeFile(path.join(workspace, '.secgate.yml'), bomb.join('\n'));
    const error = await configError(prepare());
    expect(error.message).toBe('config: .secgate.yml: invalid YAML (too many alias expansions (an alias bomb?))');
  });

  it('rejects tool-versions for a tool this run does not know, listing the known ones', async () => {
    const error = await configError(prepare({ toolVersions: 'bandit=1.8.0, trivy=0.50.0' }));
    expect(error.message).toBe('tool-versions: unknown tool(s) trivy; known tools: bandit, semgrep');
    // In the policy file another stage's tool is only named in the log (one file serves every stage).
    await writeFile(path.join(workspace, '.secgate.yml'), 'tools:\n  trivy:\n    timeout-minutes: 5\n');
    await prepare();
    expect(logger.text()).toContain('Policy: tools.trivy not used by this run (known tools: bandit, semgrep)');
  });

  it('reads the policy and baseline from another source (policy-source: base), defaults when it has none', async () => {
    const fp = 'c'.repeat(32);
    const files: Record<string, string> = {
      '.secgate.yml': 'fail-on: medium\nnew-only: baseline\n',
      '.secgate-baseline.json': JSON.stringify({ version: 1, generatedAt: NOW.toISOString(), findings: [{ fingerprint: fp, tool: 'bandit', ruleId: 'B1' }] })
    };
    const reads: string[] = [];
    const policySource: RepoFileSource = {
      label: 'base commit 1234567',
      read: async (file) => {
        reads.push(file);
        return files[file];
      }
    };
    // The working tree's file would relax the gate; it is not read.
    await writeFile(path.join(workspace, '.secgate.yml'), 'fail-on: none\n');
    const prepared = await prepareScan([STAGE], settings(), { logger, now: NOW, policySource });
    expect(prepared.request.policy.failOn).toBe('medium');
    expect([...prepared.request.baseline!]).toEqual([fp]);
    expect(reads).toEqual(['.secgate.yml', '.secgate-baseline.json']);
    expect(logger.text()).toContain('Policy: .secgate.yml from base commit 1234567');

    const empty: RepoFileSource = { label: 'base commit 7654321', read: async () => undefined };
    const defaults = await prepareScan([STAGE], settings({ config: 'ci/gate.yml' }), { logger, now: NOW, policySource: empty });
    expect(defaults.request.policy.failOn).toBe(DEFAULTS.failOn);
    expect(logger.text()).toContain('Policy: no ci/gate.yml in base commit 7654321; the built-in defaults apply');
  });

  it('drops tools the policy disables', async () => {
    await writeFile(path.join(workspace, '.secgate.yml'), 'tools:\n  semgrep:\n    enabled: false\n');
    const prepared = await prepare();
    expect(prepared.request.tools).toEqual(['bandit']);
    expect(selectAdapters(prepared.request.stages, prepared.request.tools).map((s) => s.adapter.id)).toEqual(['bandit']);
  });

  it('never runs a tool the policy disables, even when every selected tool is disabled', async () => {
    await writeFile(path.join(workspace, '.secgate.yml'), 'tools:\n  bandit:\n    enabled: false\n  semgrep:\n    enabled: false\n');
    // Either prepareScan refuses the configuration, or the selection must not contain the disabled tools.
    const outcome = await prepare().then(
      (prepared) => selectAdapters(prepared.request.stages, prepared.request.tools).map((s) => s.adapter.id),
      (error: unknown) => error
    );
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(ConfigurationError);
    } else {
      expect(outcome).toEqual([]);
    }
  });
});

describe('parseList', () => {
  it('splits on newlines and commas, trims, drops blanks and comments', () => {
    expect(parseList(' a, b\n\n# all comment\nc # trailing\n,')).toEqual(['a', 'b', 'c']);
    expect(parseList(undefined)).toEqual([]);
  });
});

describe('parseToolVersions', () => {
  it('accepts tool=version with an optional sha256 (bare or prefixed)', () => {
    expect(parseToolVersions(`gitleaks=8.29.0@${HEX.toUpperCase()}\nbandit = 1.8.0, semgrep=1.100.0@sha256:${HEX}`, false)).toEqual({
      gitleaks: { version: '8.29.0', sha256: HEX, allowUnverified: false },
      bandit: { version: '1.8.0', sha256: undefined, allowUnverified: false },
      semgrep: { version: '1.100.0', sha256: HEX, allowUnverified: false }
    });
    expect(parseToolVersions('bandit=1.8.0', true)['bandit']!.allowUnverified).toBe(true);
  });

  it('names tool-versions for a bad entry', () => {
    for (const bad of ['gitleaks', 'gitleaks=8.29.0@abc', 'Gitleaks=1', `gitleaks=8@${HEX}0`, '=1.0']) {
      expect(() => parseToolVersions(bad, false)).toThrow(ConfigurationError);
      expect(() => parseToolVersions(bad, false)).toThrow(/^tool-versions: '.*' is not 'tool=version' or 'tool=version@sha256'/);
    }
  });
});
