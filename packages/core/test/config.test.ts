import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
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
    expect(prepared.request.policy).toEqual({ failOn: DEFAULTS.failOn, reportSeverity: DEFAULTS.reportSeverity, newOnly: 'off', exceptions: [] });
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
    const ok = await prepare({ paths: 'src\n./lib, .' });
    expect(ok.request.targets).toEqual(['src', './lib', '.']);
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
    expect((await configError(prepare({ baseline: 'b.json' }))).message).toContain('is not valid JSON');
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
