import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ConfigurationError,
  MemoryLogger,
  SourceCache,
  TOOL_EXCLUDE_BUDGET_CHARS,
  WorkspaceBoundary,
  excludesForTool,
  gitCommitSource,
  identify,
  isWithin,
  runScan,
  type InstallSpec,
  type InstalledTool,
  type RawFinding,
  type StageDefinition,
  type ToolAdapter,
  type ToolInstaller
} from '@secgate/core';

const execFileAsync = promisify(execFile);
const IDENTITY = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid', GIT_CONFIG_NOSYSTEM: '1' };
async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: { ...process.env, ...IDENTITY } });
  return stdout.trim();
}

/** A line only the outside file holds: it must never show up in anything secgate produces. */
const OUTSIDE_MARKER = 'OUTSIDE_ONLY_c0ffee_do_not_leak';

let root: string;
let workspace: string;
let outside: string;
beforeEach(async () => {
  root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'secgate-boundary-')));
  workspace = path.join(root, 'ws');
  outside = path.join(root, 'outside');
  await mkdir(path.join(workspace, 'src'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.py'), `import os\nos.system("${OUTSIDE_MARKER}")\n`);
  await writeFile(path.join(workspace, 'src', 'app.py'), 'import os\nos.system("ls")\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function configError(promise: Promise<unknown>): Promise<ConfigurationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

describe('isWithin', () => {
  it('accepts the root and paths below it, nothing else', () => {
    expect(isWithin('/w/ws', '/w/ws')).toBe(true);
    expect(isWithin('/w/ws', '/w/ws/a/b')).toBe(true);
    expect(isWithin('/w/ws', '/w/ws/..hidden')).toBe(true);
    expect(isWithin('/w/ws', '/w/ws-evil/a')).toBe(false);
    expect(isWithin('/w/ws', '/w')).toBe(false);
    expect(isWithin('/w/ws', '/etc/passwd')).toBe(false);
  });
});

describe('WorkspaceBoundary', () => {
  it('resolves settings inside the workspace and refuses symlinks that lead outside', async () => {
    await symlink('/etc', path.join(workspace, 'etc-link'));
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'src', 'linked.py'));
    await symlink(path.join(workspace, 'src', 'app.py'), path.join(workspace, 'inner-link.py'));
    const boundary = await WorkspaceBoundary.open(workspace);
    await expect(boundary.resolveSetting('src', 'paths')).resolves.toBe(path.join(workspace, 'src'));
    await expect(boundary.resolveSetting('inner-link.py', 'paths')).resolves.toBe(path.join(workspace, 'inner-link.py'));
    // Not created yet, but its parent is inside.
    await expect(boundary.resolveSetting('src/new.json', 'baseline')).resolves.toBe(path.join(workspace, 'src', 'new.json'));
    for (const bad of ['etc-link', 'etc-link/', 'etc-link/passwd', 'etc-link/not-there', 'src/linked.py', '../outside', '/etc']) {
      const error = await configError(boundary.resolveSetting(bad, 'paths'));
      expect(error.key).toBe('paths');
      expect(error.message).toContain('is outside the workspace');
    }
  });

  it('reads a setting file without ever quoting its content, and refuses non-files and oversized files', async () => {
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'policy.yml'));
    await mkdir(path.join(workspace, 'dir.yml'));
    await writeFile(path.join(workspace, 'big.json'), 'x'.repeat(2048));
    const boundary = await WorkspaceBoundary.open(workspace);
    await expect(boundary.readSetting('src/app.py', 'config', { maxBytes: 1024 })).resolves.toContain('os.system("ls")');
    await expect(boundary.readSetting('missing.yml', 'config', { maxBytes: 1024 })).resolves.toBeUndefined();
    const outsideError = await configError(boundary.readSetting('policy.yml', 'config', { maxBytes: 1024 }));
    expect(outsideError.message).not.toContain(OUTSIDE_MARKER);
    const proc = await configError(boundary.readSetting('/proc/self/environ', 'baseline', { maxBytes: 1024 }));
    expect(proc.message).toBe("baseline: '/proc/self/environ' is outside the workspace (paths and the symlinks they pass through must stay inside it)");
    expect((await configError(boundary.readSetting('dir.yml', 'config', { maxBytes: 1024 }))).message).toContain('is not a regular file');
    expect((await configError(boundary.readSetting('big.json', 'baseline', { maxBytes: 1024 }))).message).toContain('is 2048 bytes; the limit is 1024');
  });

  it('locates tool-reported paths: relative when inside, undefined when the real path is outside', async () => {
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'src', 'linked.py'));
    await symlink(outside, path.join(workspace, 'outside-dir'));
    const boundary = await WorkspaceBoundary.open(workspace);
    expect(boundary.locate('src/app.py')).toBe('src/app.py');
    expect(boundary.locate('./src/app.py')).toBe('src/app.py');
    expect(boundary.locate(path.join(workspace, 'src', 'app.py'))).toBe('src/app.py');
    expect(boundary.locate('src/deleted-since.py')).toBe('src/deleted-since.py');
    expect(boundary.locate('src/linked.py')).toBeUndefined();
    expect(boundary.locate('outside-dir/secret.py')).toBeUndefined();
    expect(boundary.locate('../../etc/passwd')).toBeUndefined();
    expect(boundary.locate('/etc/passwd')).toBeUndefined();
    expect(boundary.locate(path.join(outside, 'secret.py'))).toBeUndefined();
  });

  it('accepts paths given below the real path when the workspace itself is reached through a symlink', async () => {
    const alias = path.join(root, 'alias');
    await symlink(workspace, alias);
    const boundary = await WorkspaceBoundary.open(alias);
    expect(boundary.realWorkspace).toBe(workspace);
    expect(boundary.locate(path.join(workspace, 'src', 'app.py'))).toBe('src/app.py');
    expect(boundary.locate(path.join(alias, 'src', 'app.py'))).toBe('src/app.py');
    await expect(boundary.readSetting('src/app.py', 'config', { maxBytes: 1024 })).resolves.toContain('import os');
  });
});

describe('SourceCache', () => {
  it('never reads a file whose real path is outside the workspace', async () => {
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'src', 'linked.py'));
    const raw = (file: string): RawFinding => ({ tool: 'bandit', ruleId: 'B605', title: 't', message: 'm', severity: 'high', location: { path: file, startLine: 2 } });
    const sources = new SourceCache(workspace);
    const [inside, linked] = await identify([raw('src/app.py'), raw('src/linked.py')], sources);
    expect(inside!.snippet).toBe('os.system("ls")');
    expect(linked!.snippet).toBeUndefined();
    expect(sources.linesOf('src/linked.py')).toBeUndefined();
    expect(JSON.stringify(linked)).not.toContain(OUTSIDE_MARKER);
  });
});

describe('excludesForTool', () => {
  it('passes every pattern while they fit, keeps commas from tools, and says when some stay with the engine', () => {
    const logger = new MemoryLogger();
    expect(excludesForTool(['vendor/**', 'build'], 'Bandit', logger)).toEqual(['vendor/**', 'build']);
    expect(logger.lines).toEqual([]);
    expect(excludesForTool(['{a,b}/**', 'c'], 'Bandit', logger)).toEqual(['c']);
    const many = Array.from({ length: 20_000 }, (_, i) => `generated/module_${i}/**`);
    const passed = excludesForTool(many, 'Bandit', logger);
    expect(passed.length).toBeGreaterThan(100);
    expect(passed.length).toBeLessThan(many.length);
    expect(passed.join(',').length).toBeLessThanOrEqual(TOOL_EXCLUDE_BUDGET_CHARS);
    expect(logger.text()).toContain(`Bandit: ${passed.length} of 20000 exclude pattern(s) passed to the tool (command-line limit)`);
  });
});

/** A tool that prints the paths it is told to report; its installer runs node. */
function pathReporter(paths: string[]): { stage: StageDefinition; installer: ToolInstaller } {
  const adapter: ToolAdapter = {
    id: 'reporter',
    displayName: 'Reporter',
    description: 'reports the given paths',
    install: { kind: 'python', tool: 'reporter', distribution: 'reporter', module: 'reporter', defaultVersion: '0.0.0' },
    defaultTimeoutMs: 60_000,
    severityMap: {},
    command: (_tool, context) => ({ args: [JSON.stringify(paths), String(context.exclude.length)] }),
    exitMeaning: (code) => (code === 0 ? 'clean' : 'error'),
    parse: (report) => ({
      findings: (JSON.parse(report) as string[]).map((file) => ({
        tool: 'reporter',
        ruleId: 'R1',
        title: 'os.system',
        message: 'shell',
        severity: 'high' as const,
        location: { path: file, startLine: 2 }
      })),
      warnings: []
    })
  };
  const installer = {
    install: async (spec: InstallSpec): Promise<InstalledTool> => ({
      tool: spec.tool,
      version: '0.0.0',
      command: process.execPath,
      baseArgs: ['-e', 'process.stdout.write(process.argv[1])'],
      dir: path.dirname(process.execPath),
      cacheHit: true,
      durationMs: 0,
      verified: true
    })
  } as unknown as ToolInstaller;
  return { stage: { id: 'sast', title: 'test', adapters: [adapter], defaultTools: ['reporter'] }, installer };
}

describe('the engine keeps every finding inside the workspace', () => {
  it('drops findings in files outside (symlink, ../, absolute) with a counted warning, and no outside content anywhere', async () => {
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'src', 'linked.py'));
    const reported = ['src/app.py', 'src/linked.py', '../outside/secret.py', path.join(outside, 'secret.py'), '/etc/passwd'];
    const { stage, installer } = pathReporter(reported);
    const logger = new MemoryLogger();
    const result = await runScan(
      {
        stages: [stage],
        workspace,
        targets: ['.'],
        exclude: Array.from({ length: 10_000 }, (_, i) => `generated/part_${i}/**`),
        tools: [],
        policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
        options: {},
        timeoutsMs: {},
        now: new Date('2026-03-01T00:00:00Z'),
        tempDir: path.join(root, 'tmp')
      },
      { installer, logger }
    );
    expect(result.errors).toEqual([]);
    expect(result.findings.map((f) => f.location?.path)).toEqual(['src/app.py']);
    expect(result.findings[0]!.snippet).toBe('os.system("ls")');
    const run = result.tools[0]!;
    expect(run.findingCount).toBe(1);
    expect(run.warnings).toEqual([
      `4 finding(s) dropped: 4 file(s) resolve outside the workspace (symlink or path to outside): src/linked.py, ../outside/secret.py, ${path.join(outside, 'secret.py')}, /etc/passwd`
    ]);
    expect(JSON.stringify(result)).not.toContain(OUTSIDE_MARKER);
    expect(logger.text()).toMatch(/Reporter: \d+ of 10000 exclude pattern\(s\) passed to the tool/);
  });
});

describe('gitCommitSource', () => {
  it('reads files as committed, refuses symlinks and oversized blobs, and says undefined for missing ones', async () => {
    await git(workspace, ['-c', 'init.defaultBranch=main', 'init', '-q']);
    await mkdir(path.join(workspace, 'ci'));
    await writeFile(path.join(workspace, 'ci', 'gate.yml'), 'fail-on: medium\n');
    await writeFile(path.join(workspace, '.secgate.yml'), 'fail-on: low\n');
    await symlink(path.join(outside, 'secret.py'), path.join(workspace, 'linked.yml'));
    await git(workspace, ['add', '-A']);
    await git(workspace, ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'base']);
    const sha = await git(workspace, ['rev-parse', 'HEAD']);
    // The working tree moves on; the commit's text is what counts.
    await writeFile(path.join(workspace, '.secgate.yml'), 'fail-on: none\n');

    const source = gitCommitSource(workspace, sha);
    expect(source.label).toBe(`base commit ${sha.slice(0, 7)}`);
    const options = { maxBytes: 1024 };
    await expect(source.read('.secgate.yml', 'config', options)).resolves.toBe('fail-on: low\n');
    await expect(source.read('ci/gate.yml', 'config', options)).resolves.toBe('fail-on: medium\n');
    await expect(source.read('missing.yml', 'config', options)).resolves.toBeUndefined();
    const link = await configError(source.read('linked.yml', 'config', options));
    expect(link.message).toContain('is a symlink in base commit');
    expect(link.message).not.toContain(OUTSIDE_MARKER);
    expect((await configError(source.read('ci', 'config', options))).message).toContain('is not a file');
    expect((await configError(source.read('.secgate.yml', 'config', { maxBytes: 4 }))).message).toContain('the limit is 4');
    expect((await configError(source.read('../outside/secret.py', 'config', options))).message).toContain('is outside the workspace');
  });
});
