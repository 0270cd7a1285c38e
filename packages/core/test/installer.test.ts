import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ChecksumMismatchError,
  ConfigurationError,
  MemoryLogger,
  TOOLS_LOCK,
  ToolInstallError,
  ToolInstaller,
  type BinaryInstallSpec,
  type InstallerOptions,
  type NoInstallSpec,
  type NpmInstallSpec,
  type PythonInstallSpec,
  type ToolsLock
} from '@secgate/core';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { NODE24, REPO_ROOT } from '../../../test/helpers/runner.js';
import { installInProcesses, runRaw, type InstallRecipe } from '../../../test/helpers/tool-processes.js';

const run = promisify(execFile);
const execFileAsync = run;

const GITLEAKS_VERSION = '8.30.0';
const gitleaksPath = (v: string): string => `gitleaks/gitleaks/releases/download/v${v}/gitleaks_${v}_linux_x64.tar.gz`;
const GITLEAKS_URL_PATH = `/${gitleaksPath(GITLEAKS_VERSION)}`;

/** The real gitleaks release layout: one linux-x64 tarball with the binary at its root. */
function gitleaksSpec(defaultVersion = GITLEAKS_VERSION): BinaryInstallSpec {
  return {
    kind: 'binary',
    tool: 'gitleaks',
    defaultVersion,
    asset: (v, platform) =>
      platform === 'linux-x64'
        ? { assetName: `gitleaks_${v}_linux_x64.tar.gz`, urlPath: gitleaksPath(v), archive: 'tar.gz', executable: 'gitleaks' }
        : undefined
  };
}

const gitSecretsSpec: BinaryInstallSpec = {
  kind: 'binary',
  tool: 'git-secrets',
  defaultVersion: '1.3.0',
  asset: (v) => ({
    assetName: `git-secrets-${v}.tar.gz`,
    urlPath: `awslabs/git-secrets/archive/refs/tags/${v}.tar.gz`,
    archive: 'tar.gz',
    executable: `git-secrets-${v}/git-secrets`
  })
};

const banditSpec: PythonInstallSpec = {
  kind: 'python',
  tool: 'bandit',
  distribution: 'bandit',
  module: 'bandit',
  defaultVersion: '1.9.4'
};

const HAVE_MIRROR = mirrorAvailable();

/** Fresh RUNNER_TOOL_CACHE / RUNNER_TEMP per test (tool-cache reads them at call time). */
let job: { root: string; toolCache: string; temp: string };
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeEach(async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-installer-'));
  job = { root, toolCache: path.join(root, 'tool-cache'), temp: path.join(root, 'temp') };
  await mkdir(job.toolCache, { recursive: true });
  await mkdir(job.temp, { recursive: true });
  process.env['RUNNER_TOOL_CACHE'] = job.toolCache;
  process.env['RUNNER_TEMP'] = job.temp;
});

afterEach(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(job.root, { recursive: true, force: true });
});

function installer(mirror: ReleaseMirror | undefined, extra: Partial<InstallerOptions> = {}): ToolInstaller {
  return new ToolInstaller({
    logger: new MemoryLogger(),
    mirrorUrl: mirror?.url,
    lock: HAVE_MIRROR ? testLock() : TOOLS_LOCK,
    platform: 'linux-x64',
    ...extra
  });
}

async function withMirror<T>(opts: Parameters<typeof startReleaseMirror>[1], fn: (mirror: ReleaseMirror) => Promise<T>): Promise<T> {
  const mirror = await startReleaseMirror(mirrorRoot(), opts);
  try {
    return await fn(mirror);
  } finally {
    await mirror.close();
  }
}

async function gitleaksVersionOf(command: string): Promise<string> {
  const { stdout } = await run(command, ['version'], { timeout: 30_000 });
  return stdout.trim();
}

/**
 * What a tool's cache folder holds below its version folders (`<version>/<entry>`): complete
 * entries, their `.complete` markers, and anything a failed install would have left behind.
 */
async function cachedEntries(tool: string): Promise<string[]> {
  const dir = path.join(job.toolCache, tool);
  if (!existsSync(dir)) return [];
  const entries: string[] = [];
  for (const version of await readdir(dir)) {
    for (const entry of await readdir(path.join(dir, version))) entries.push(`${version}/${entry}`);
  }
  return entries;
}

const gitleaksDigest = (): string => testLock().binary['gitleaks']![GITLEAKS_VERSION]!['linux-x64']!;
const WRONG_DIGEST = 'a'.repeat(64);
const lockWith = (binary: ToolsLock['binary']): ToolsLock => ({ binary, python: TOOLS_LOCK.python });

describe('ToolInstaller: binary tools from a release mirror', () => {
  it('cache miss: downloads once, verifies the SHA-256, caches, and the binary runs', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const tool = await installer(mirror).install(gitleaksSpec());
      expect(tool).toMatchObject({ tool: 'gitleaks', version: GITLEAKS_VERSION, cacheHit: false, verified: true, baseArgs: [] });
      expect(mirror.requests).toEqual([{ method: 'GET', path: GITLEAKS_URL_PATH, status: 200 }]);
      expect(tool.dir).toBe(path.join(job.toolCache, 'gitleaks', GITLEAKS_VERSION, 'linux-x64'));
      expect(tool.command).toBe(path.join(tool.dir, 'gitleaks'));
      expect(existsSync(`${tool.dir}.complete`)).toBe(true);
      expect(statSync(tool.command).mode & 0o111).not.toBe(0);
      expect(await gitleaksVersionOf(tool.command)).toBe(GITLEAKS_VERSION);
      // The download and the extraction directory are cleaned up.
      expect(await readdir(job.temp)).toEqual([]);
    });
  });

  it('cache hit: a second install makes no HTTP request', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const first = await installer(mirror).install(gitleaksSpec());
      expect(first.cacheHit).toBe(false);
      const before = [...mirror.requests];
      expect(before).toHaveLength(1);

      const second = await installer(mirror).install(gitleaksSpec());
      expect(mirror.requests).toEqual(before);
      expect(second).toMatchObject({ cacheHit: true, verified: true, dir: first.dir, command: first.command });
      expect(await gitleaksVersionOf(second.command)).toBe(GITLEAKS_VERSION);
    });
  });

  it('checksum mismatch against the lock: ChecksumMismatchError naming both digests, nothing cached', async () => {
    if (!HAVE_MIRROR) return;
    const actual = gitleaksDigest();
    await withMirror({}, async (mirror) => {
      const bad = installer(mirror, { lock: lockWith({ gitleaks: { [GITLEAKS_VERSION]: { 'linux-x64': WRONG_DIGEST } } }) });
      const error = await bad.install(gitleaksSpec()).then(
        () => undefined,
        (e: unknown) => e
      );
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect(error).toBeInstanceOf(ToolInstallError);
      const mismatch = error as ChecksumMismatchError;
      expect(mismatch.expected).toBe(WRONG_DIGEST);
      expect(mismatch.actual).toBe(actual);
      expect(mismatch.message).toContain(`expected sha256 ${WRONG_DIGEST}`);
      expect(mismatch.message).toContain(`got ${actual}`);
      expect(mismatch.message).toContain(`gitleaks_${GITLEAKS_VERSION}_linux_x64.tar.gz`);
      expect(await cachedEntries('gitleaks')).toEqual([]);
      expect(await readdir(job.temp)).toEqual([]);

      // Nothing was cached, so the next attempt downloads again (and fails again).
      await expect(bad.install(gitleaksSpec())).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(mirror.requests.map((r) => r.path)).toEqual([GITLEAKS_URL_PATH, GITLEAKS_URL_PATH]);
    });
  });

  it('a tampered asset served by the mirror fails verification', async () => {
    if (!HAVE_MIRROR) return;
    const original = await readFile(path.join(mirrorRoot(), gitleaksPath(GITLEAKS_VERSION)));
    const tampered = Buffer.from(original);
    tampered[tampered.length >> 1] ^= 0xff;
    await withMirror({ faults: { [GITLEAKS_URL_PATH]: { body: tampered } } }, async (mirror) => {
      const error = await installer(mirror).install(gitleaksSpec()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect((error as ChecksumMismatchError).expected).toBe(gitleaksDigest());
      expect((error as ChecksumMismatchError).actual).not.toBe(gitleaksDigest());
      expect(mirror.requests).toEqual([{ method: 'GET', path: GITLEAKS_URL_PATH, status: 200 }]);
      expect(await cachedEntries('gitleaks')).toEqual([]);
    });
  });

  it('HTTP 404: ToolInstallError naming the status, no retry', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({ faults: { [GITLEAKS_URL_PATH]: { status: 404 } } }, async (mirror) => {
      const error = await installer(mirror).install(gitleaksSpec()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolInstallError);
      expect(error).not.toBeInstanceOf(ChecksumMismatchError);
      expect((error as Error).message).toContain('HTTP 404');
      expect((error as Error).message).toContain(`${mirror.url}${gitleaksPath(GITLEAKS_VERSION)}`);
      expect(mirror.requests).toEqual([{ method: 'GET', path: GITLEAKS_URL_PATH, status: 404 }]);
      expect(await cachedEntries('gitleaks')).toEqual([]);
    });
  });

  it('HTTP 500 once, then the asset: retried and installed', async () => {
    if (!HAVE_MIRROR) return;
    const g = globalThis as Record<string, unknown>;
    const saved = [g['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'], g['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS']];
    g['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'] = 0;
    g['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS'] = 0;
    try {
      await withMirror({ faults: { [GITLEAKS_URL_PATH]: { status: 500, times: 1 } } }, async (mirror) => {
        const tool = await installer(mirror).install(gitleaksSpec());
        expect(tool).toMatchObject({ cacheHit: false, verified: true });
        expect(mirror.requests).toEqual([
          { method: 'GET', path: GITLEAKS_URL_PATH, status: 500 },
          { method: 'GET', path: GITLEAKS_URL_PATH, status: 200 }
        ]);
        expect(await gitleaksVersionOf(tool.command)).toBe(GITLEAKS_VERSION);
      });
    } finally {
      if (saved[0] === undefined) delete g['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'];
      else g['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'] = saved[0];
      if (saved[1] === undefined) delete g['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS'];
      else g['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS'] = saved[1];
    }
  });

  it('an unpinned version needs a checksum or an explicit opt-out', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const emptyLock = lockWith({});
      // Default version with nothing pinned: refused before any download.
      const unpinned = installer(mirror, { lock: emptyLock });
      const error = await unpinned.install(gitleaksSpec()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).key).toBe('gitleaks-version');
      expect((error as Error).message).toContain('allow-unverified-tools');
      expect((error as Error).message).toContain(`gitleaks ${GITLEAKS_VERSION}`);

      // An override to another version, with neither a checksum nor the opt-out: refused too.
      const bare = installer(mirror, { lock: testLock(), overrides: { gitleaks: { version: '8.31.0' } } });
      await expect(bare.install(gitleaksSpec())).rejects.toThrow(/gitleaks-version: no SHA-256 is pinned for gitleaks 8\.31\.0 .*allow-unverified-tools/);
      await expect(bare.install(gitleaksSpec())).rejects.toBeInstanceOf(ConfigurationError);
      expect(mirror.requests).toEqual([]);
    });
  });

  it('an override version installs unverified only with the explicit opt-out', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const logger = new MemoryLogger();
      const optOut = installer(mirror, {
        logger,
        lock: lockWith({}),
        overrides: { gitleaks: { version: GITLEAKS_VERSION, allowUnverified: true } }
      });
      const tool = await optOut.install(gitleaksSpec('8.29.0'));
      expect(tool).toMatchObject({ version: GITLEAKS_VERSION, cacheHit: false, verified: false });
      expect(logger.lines.some((l) => l.level === 'warning' && l.message.includes('NOT verified'))).toBe(true);
      expect(await gitleaksVersionOf(tool.command)).toBe(GITLEAKS_VERSION);
      expect(mirror.requests).toHaveLength(1);
    });
  });

  it('an override version with its correct SHA-256 installs verified', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const pinned = installer(mirror, {
        lock: lockWith({}),
        overrides: { gitleaks: { version: GITLEAKS_VERSION, sha256: gitleaksDigest().toUpperCase() } }
      });
      const tool = await pinned.install(gitleaksSpec('8.29.0'));
      expect(tool).toMatchObject({ version: GITLEAKS_VERSION, cacheHit: false, verified: true });
      expect(await gitleaksVersionOf(tool.command)).toBe(GITLEAKS_VERSION);

      // A wrong override checksum is a mismatch like a wrong lock entry.
      await rm(job.toolCache, { recursive: true, force: true });
      await mkdir(job.toolCache, { recursive: true });
      const wrong = installer(mirror, { lock: lockWith({}), overrides: { gitleaks: { version: GITLEAKS_VERSION, sha256: WRONG_DIGEST } } });
      await expect(wrong.install(gitleaksSpec('8.29.0'))).rejects.toBeInstanceOf(ChecksumMismatchError);
      // A malformed one is a configuration error, before any download.
      const malformed = installer(mirror, { lock: lockWith({}), overrides: { gitleaks: { version: GITLEAKS_VERSION, sha256: 'abc' } } });
      await expect(malformed.install(gitleaksSpec('8.29.0'))).rejects.toThrow(/gitleaks-sha256: 'abc' is not a SHA-256/);
      expect(mirror.requests).toHaveLength(2);
    });
  });

  it('a platform without a release asset: ToolInstallError, no download', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const error = await installer(mirror, { platform: 'darwin-arm64' }).install(gitleaksSpec()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolInstallError);
      expect((error as Error).message).toBe(
        `gitleaks: install failed: no release asset of version ${GITLEAKS_VERSION} for platform darwin-arm64`
      );
      expect(mirror.requests).toEqual([]);
    });
  });

  it('git-secrets: the tag source archive, verified with the platform-independent lock entry', async () => {
    if (!HAVE_MIRROR) return;
    const lock = testLock();
    expect(Object.keys(lock.binary['git-secrets']!['1.3.0']!)).toEqual(['any']);
    await withMirror({}, async (mirror) => {
      const tool = await installer(mirror).install(gitSecretsSpec);
      expect(tool).toMatchObject({ tool: 'git-secrets', version: '1.3.0', cacheHit: false, verified: true });
      expect(tool.command).toBe(path.join(job.toolCache, 'git-secrets', '1.3.0', 'linux-x64', 'git-secrets-1.3.0', 'git-secrets'));
      expect(mirror.requests).toEqual([{ method: 'GET', path: '/awslabs/git-secrets/archive/refs/tags/1.3.0.tar.gz', status: 200 }]);
      const { stdout } = await run(tool.command, [], { timeout: 30_000 });
      expect(stdout).toMatch(/^usage: git secrets --scan/);

      const again = await installer(mirror).install(gitSecretsSpec);
      expect(again.cacheHit).toBe(true);
      expect(mirror.requests).toHaveLength(1);
    });
  });
});

describe('ToolInstaller: Python tools in hash-locked venvs', () => {
  const pythonInstaller = (extra: Partial<InstallerOptions> = {}): ToolInstaller =>
    new ToolInstaller({ logger: new MemoryLogger(), lock: TOOLS_LOCK, platform: 'linux-x64', ...extra });

  it('installs bandit 1.9.4 from PyPI with --require-hashes; the second install is a cache hit', async () => {
    const first = await pythonInstaller().install(banditSpec);
    expect(first).toMatchObject({ tool: 'bandit', version: '1.9.4', cacheHit: false, verified: true, baseArgs: ['-m', 'bandit'] });
    expect(first.dir.startsWith(path.join(job.toolCache, 'secgate-py-bandit', '1.9.4-py'))).toBe(true);
    const { stdout } = await run(first.command, [...first.baseArgs, '--version'], { timeout: 60_000 });
    // `python -m bandit --version` names the entry module: "__main__.py 1.9.4".
    expect(stdout.split('\n')[0]).toMatch(/^\S+ 1\.9\.4$/);
    expect(await readdir(job.temp)).toEqual([]);
    // The marker's digest is that of the committed requirement text (what keys a cached venv).
    const marker = JSON.parse(await readFile(path.join(first.dir, '.secgate-install.json'), 'utf8')) as { digest: string };
    expect(marker.digest).toBe(createHash('sha256').update(TOOLS_LOCK.python['bandit']!['1.9.4']!).digest('hex'));
    // Built beside its final place and renamed: the console script names the final interpreter and runs.
    const script = path.join(first.dir, 'bin', 'bandit');
    expect((await readFile(script, 'utf8')).split('\n')[0]).toBe(`#!${path.join(first.dir, 'bin', 'python')}`);
    const direct = await run(script, ['--version'], { timeout: 60_000 });
    expect(direct.stdout.split('\n')[0]).toMatch(/^bandit 1\.9\.4$/);
    expect((await readdir(path.dirname(first.dir))).sort()).toEqual(['linux-x64', 'linux-x64.complete']);

    const started = Date.now();
    const second = await pythonInstaller().install(banditSpec);
    const elapsed = Date.now() - started;
    expect(second).toMatchObject({ cacheHit: true, verified: true, dir: first.dir, command: first.command });
    expect(elapsed).toBeLessThan(1000);
  });

  it('an override version without a hash lock and without the opt-out is a configuration error', async () => {
    const error = await pythonInstaller({ overrides: { bandit: { version: '1.8.0' } } })
      .install(banditSpec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe('bandit-version');
    expect((error as Error).message).toContain('allow-unverified-tools');
    expect((error as Error).message).toContain('bandit 1.8.0');
    expect(await cachedEntries('secgate-py-bandit')).toEqual([]);
  });

  it('a requirements lock with a wrong hash for bandit fails in pip', async () => {
    const real = TOOLS_LOCK.python['bandit']!['1.9.4']!;
    // Flip the last hex digit of each of bandit's own hashes (its wheel and its sdist), nothing else.
    const lines = real.split('\n');
    let inBandit = false;
    let corrupted = 0;
    const flip = (c: string): string => (c === '0' ? '1' : '0');
    const tamperedLines = lines.map((line) => {
      if (/^\S/.test(line)) inBandit = line.startsWith('bandit==');
      const match = /^(\s*--hash=sha256:[0-9a-f]{63})([0-9a-f])(.*)$/.exec(line);
      if (!inBandit || !match) return line;
      corrupted++;
      return `${match[1]}${flip(match[2]!)}${match[3]}`;
    });
    expect(corrupted).toBeGreaterThanOrEqual(1);
    const lock: ToolsLock = { binary: {}, python: { bandit: { '1.9.4': tamperedLines.join('\n') } } };
    expect(lock.python['bandit']!['1.9.4']).not.toBe(real);

    const error = await pythonInstaller({ lock }).install(banditSpec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolInstallError);
    expect((error as Error).message).toMatch(/^bandit: install failed: python -m pip install exited \d+/);
    expect((error as Error).message).toMatch(/hash/i);
    expect(await cachedEntries('secgate-py-bandit')).toEqual([]);
    expect(await readdir(job.temp)).toEqual([]);
  });
});

describe('ToolInstaller: a tool cache shared by concurrent processes', () => {
  const gitleaksRecipe: InstallRecipe = {
    kind: 'binary',
    tool: 'gitleaks',
    defaultVersion: GITLEAKS_VERSION,
    asset: { assetName: `gitleaks_${GITLEAKS_VERSION}_linux_x64.tar.gz`, urlPath: gitleaksPath(GITLEAKS_VERSION), archive: 'tar.gz', executable: 'gitleaks' }
  };
  const gitSecretsRecipe: InstallRecipe = { ...gitSecretsSpec, asset: gitSecretsSpec.asset('1.3.0', 'linux-x64')! };
  const gitleaksDir = (): string => path.join(job.toolCache, 'gitleaks', GITLEAKS_VERSION, 'linux-x64');
  const gitleaksLock = (): string => `${gitleaksDir()}.lock`;

  it('three processes install gitleaks, git-secrets and bandit at once into one empty cache: one build each, all run', async () => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const results = await installInProcesses({
        count: 3,
        toolCache: job.toolCache,
        tempRoot: job.temp,
        recipes: [gitleaksRecipe, gitSecretsRecipe, banditSpec],
        options: { mirrorUrl: mirror.url, lock: testLock(), platform: 'linux-x64' },
        node: NODE24,
        repoRoot: REPO_ROOT
      });
      expect(new Set(results.map((r) => r.pid)).size).toBe(3);
      for (const tool of ['gitleaks', 'git-secrets', 'bandit']) {
        const outcomes = results.map((r) => r.tools[tool]!);
        for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: true, verified: true });
        const ok = outcomes.filter((o): o is Extract<typeof o, { ok: true }> => o.ok);
        // Exactly one process built it; the others waited for the lock and found it complete.
        expect(ok.filter((o) => !o.cacheHit)).toHaveLength(1);
        expect(new Set(ok.map((o) => o.command)).size).toBe(1);
        expect(existsSync(`${ok[0]!.dir}.complete`)).toBe(true);
        // Nothing left beside the entry: no staging copy, no lock, no moved-aside copy.
        expect((await readdir(path.dirname(ok[0]!.dir))).sort()).toEqual(['linux-x64', 'linux-x64.complete']);
      }
      expect(results.some((r) => r.logs.some((l) => l.includes('another process is installing')))).toBe(true);
      // One download per asset across all three processes.
      expect(mirror.requests.map((r) => `${r.path} ${r.status}`).sort()).toEqual(
        [`/awslabs/git-secrets/archive/refs/tags/1.3.0.tar.gz 200`, `${GITLEAKS_URL_PATH} 200`].sort()
      );
      const gitleaks = results[0]!.tools['gitleaks']!;
      const bandit = results[0]!.tools['bandit']!;
      if (!gitleaks.ok || !bandit.ok) throw new Error('unreachable');
      expect(await gitleaksVersionOf(gitleaks.command)).toBe(GITLEAKS_VERSION);
      const banditRun = await runRaw(bandit.command, ['-m', 'bandit', '--version'], job.root);
      expect(banditRun.code).toBe(0);
      expect(banditRun.stdout.split('\n')[0]).toMatch(/ 1\.9\.4$/);
    });
  }, 300_000);

  it.each([
    ['the executable is missing', async (dir: string) => rm(path.join(dir, 'gitleaks'))],
    ['no .complete marker (an interrupted copy)', async (dir: string) => rm(`${dir}.complete`)],
    ['no install marker', async (dir: string) => rm(path.join(dir, '.secgate-install.json'))],
    ['the marker names another digest', async (dir: string) => writeFile(path.join(dir, '.secgate-install.json'), JSON.stringify({ digest: WRONG_DIGEST, verified: true }))]
  ])('a half-installed entry is rebuilt: %s', async (_what, damage) => {
    if (!HAVE_MIRROR) return;
    await withMirror({}, async (mirror) => {
      const first = await installer(mirror).install(gitleaksSpec());
      await damage(first.dir);
      // Leftovers of a crashed build beside the entry are cleared too.
      await mkdir(`${first.dir}.staging-crashed`);
      await writeFile(path.join(`${first.dir}.staging-crashed`, 'gitleaks'), 'partial');
      const logger = new MemoryLogger();
      const repaired = await installer(mirror, { logger }).install(gitleaksSpec());
      expect(repaired).toMatchObject({ cacheHit: false, verified: true, dir: first.dir, command: first.command });
      expect(logger.lines.some((l) => l.message.includes('incomplete or does not match the lock; installing it again'))).toBe(true);
      expect(await gitleaksVersionOf(repaired.command)).toBe(GITLEAKS_VERSION);
      expect((await readdir(path.dirname(first.dir))).sort()).toEqual(['linux-x64', 'linux-x64.complete']);
      expect(mirror.requests).toHaveLength(2);
      expect((await installer(mirror).install(gitleaksSpec())).cacheHit).toBe(true);
    });
  });

  /** Another process holding the gitleaks entry's lock (proper-lockfile, like the installer). */
  async function lockHolder(staleMs: number): Promise<ChildProcess> {
    await mkdir(path.dirname(gitleaksDir()), { recursive: true });
    const script = `require('proper-lockfile').lock(${JSON.stringify(gitleaksDir())}, { lockfilePath: ${JSON.stringify(gitleaksLock())}, realpath: false, stale: ${staleMs}, update: 1000, onCompromised() {} }).then(() => { console.log('locked'); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    return child;
  }

  it('a lock left by a killed process is taken over once stale', async () => {
    if (!HAVE_MIRROR) return;
    const holder = await lockHolder(2_000);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(gitleaksLock())).toBe(true);
    await withMirror({}, async (mirror) => {
      const started = Date.now();
      const logger = new MemoryLogger();
      const tool = await installer(mirror, { logger, lockStaleMs: 2_000, lockTimeoutMs: 60_000 }).install(gitleaksSpec());
      expect(tool).toMatchObject({ cacheHit: false, verified: true });
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(logger.lines.some((l) => l.message.includes('another process is installing'))).toBe(true);
      expect(await gitleaksVersionOf(tool.command)).toBe(GITLEAKS_VERSION);
      expect(existsSync(gitleaksLock())).toBe(false);
    });
  });

  it('a live holder: the wait is bounded and ends in a ToolInstallError naming the lock; a complete entry needs no lock', async () => {
    if (!HAVE_MIRROR) return;
    const holder = await lockHolder(10_000);
    try {
      await withMirror({}, async (mirror) => {
        const started = Date.now();
        const error = await installer(mirror, { lockTimeoutMs: 2_000 }).install(gitleaksSpec()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ToolInstallError);
        expect((error as Error).message).toMatch(/^gitleaks: install failed: timed out after 2 s waiting for another process installing into /);
        expect((error as Error).message).toContain(gitleaksLock());
        expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
        expect(mirror.requests).toEqual([]);

        // With the entry complete (built by another cache user), the lock is not consulted at all.
        const other = path.join(job.root, 'other-cache');
        process.env['RUNNER_TOOL_CACHE'] = other;
        const built = await installer(mirror).install(gitleaksSpec());
        await rm(job.toolCache, { recursive: true, force: true });
        await mkdir(path.dirname(gitleaksDir()), { recursive: true });
        await execFileAsync('cp', ['-a', built.dir, `${built.dir}.complete`, path.dirname(gitleaksDir())]);
        process.env['RUNNER_TOOL_CACHE'] = job.toolCache;
        const hit = await installer(mirror, { lockTimeoutMs: 2_000 }).install(gitleaksSpec());
        expect(hit).toMatchObject({ cacheHit: true, dir: gitleaksDir() });
      });
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('hash-pinned Python requirement sets (packages/core/src/install/locks)', () => {
  const locksDir = path.join(REPO_ROOT, 'packages', 'core', 'src', 'install', 'locks');

  const DISTRIBUTION_OF_TOOL: Record<string, string> = { art: 'adversarial-robustness-toolbox' };
  it('every lock file is in TOOLS_LOCK.python and every entry has its file, byte for byte', async () => {
    // locks/npm/ holds the npm tools' lockfiles (checked below).
    const files = (await readdir(locksDir)).filter((name) => name.endsWith('.txt')).sort();
    const entries = Object.entries(TOOLS_LOCK.python).flatMap(([tool, versions]) => Object.keys(versions).map((v) => `${tool}-${v}.txt`));
    expect(entries.sort()).toEqual(files);
    for (const [tool, versions] of Object.entries(TOOLS_LOCK.python)) {
      for (const [version, text] of Object.entries(versions)) {
        const file = await readFile(path.join(locksDir, `${tool}-${version}.txt`), 'utf8');
        // pip-compile's file ends in a newline; the set (and so the cache key) is the text before it.
        expect(file).toBe(`${text}\n`);
        // The lock pins the tool's own distribution (the ART runner's tool id names its distribution differently).
        const distribution = DISTRIBUTION_OF_TOOL[tool] ?? tool;
        expect(text).toMatch(new RegExp(`^${distribution}==${version.replace(/\./g, '\\.')} \\\\$`, 'm'));
        // Every requirement is pinned (==) and carries at least one sha256 hash.
        // pip-compile may close with comment lines (e.g. pip-audit's "not pinned: pip", which the venv provides).
        const requirements = text.replace(/(^#.*\n?)+/gm, '').trimEnd().split(/\n(?=\S)/);
        for (const requirement of requirements) {
          expect(requirement).toMatch(/^[A-Za-z0-9._-]+==\S+ \\\n(\s+--hash=sha256:[0-9a-f]{64}( \\\n|$))+$/);
        }
      }
    }
  });
});

describe('committed npm lockfiles (packages/core/src/install/locks/npm)', () => {
  const npmLocksDir = path.join(REPO_ROOT, 'packages', 'core', 'src', 'install', 'locks', 'npm');

  it('every lock file pair is in TOOLS_LOCK.npm byte for byte, and every locked package carries a sha512 integrity', async () => {
    const files = existsSync(npmLocksDir) ? (await readdir(npmLocksDir)).sort() : [];
    const entries = Object.entries(TOOLS_LOCK.npm ?? {}).flatMap(([tool, versions]) =>
      Object.keys(versions).flatMap((v) => [`${tool}-${v}.package-lock.json`, `${tool}-${v}.package.json`])
    );
    expect(entries.sort()).toEqual(files);
    for (const [tool, versions] of Object.entries(TOOLS_LOCK.npm ?? {})) {
      for (const [version, lock] of Object.entries(versions)) {
        expect(await readFile(path.join(npmLocksDir, `${tool}-${version}.package.json`), 'utf8')).toBe(lock.manifest);
        expect(await readFile(path.join(npmLocksDir, `${tool}-${version}.package-lock.json`), 'utf8')).toBe(lock.lockfile);
        const packages = (JSON.parse(lock.lockfile) as { packages: Record<string, { integrity?: string; inBundle?: boolean }> }).packages;
        for (const [where, entry] of Object.entries(packages)) {
          // Bundled dependencies come inside their parent's tarball, which its integrity covers.
          if (where !== '' && !entry.inBundle) expect(`${where} ${entry.integrity ?? 'none'}`).toMatch(/ sha512-[A-Za-z0-9+/]+=*$/);
        }
      }
    }
  });
});

/**
 * npm tools, with the real npm and the real registry: a lock for a small real package (semver,
 * whose CLI prints the versions it is given) is generated once with `npm install --package-lock-only`,
 * exactly as a committed tool lock is made.
 */
describe('ToolInstaller: npm tools from a committed lockfile', () => {
  const SEMVER_VERSION = '7.6.3';
  const semverSpec: NpmInstallSpec = { kind: 'npm', tool: 'semver-cli', package: 'semver', defaultVersion: SEMVER_VERSION, entry: 'semver/bin/semver.js' };
  let realLock: { manifest: string; lockfile: string };
  const npmLock = (lock: { manifest: string; lockfile: string } | undefined): ToolsLock => ({
    binary: {},
    python: {},
    npm: lock ? { 'semver-cli': { [SEMVER_VERSION]: lock } } : {}
  });

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-npm-lock-'));
    try {
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'secgate-tool-semver-cli', private: true }));
      await run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--save-exact', '--no-audit', '--no-fund', `semver@${SEMVER_VERSION}`], {
        cwd: dir,
        timeout: 120_000
      });
      realLock = {
        manifest: await readFile(path.join(dir, 'package.json'), 'utf8'),
        lockfile: await readFile(path.join(dir, 'package-lock.json'), 'utf8')
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('npm ci installs the locked tree into the tool cache; the entry runs under this node; the second install is a cache hit', async () => {
    const tools = installer(undefined, { lock: npmLock(realLock) });
    const first = await tools.install(semverSpec);
    expect(first).toMatchObject({ tool: 'semver-cli', version: SEMVER_VERSION, cacheHit: false, verified: true, command: process.execPath });
    expect(first.dir).toBe(path.join(job.toolCache, 'secgate-npm-semver-cli', SEMVER_VERSION, 'linux-x64'));
    expect(first.baseArgs).toEqual([path.join(first.dir, 'node_modules', 'semver', 'bin', 'semver.js')]);
    expect(existsSync(`${first.dir}.complete`)).toBe(true);
    // The installed package is the locked one, and its CLI works.
    const installedManifest = JSON.parse(await readFile(path.join(first.dir, 'node_modules', 'semver', 'package.json'), 'utf8')) as { version: string };
    expect(installedManifest.version).toBe(SEMVER_VERSION);
    const { stdout } = await run(first.command, [...first.baseArgs, '1.2.3', '0.9.0', '-r', '>=1.0.0'], { timeout: 30_000 });
    expect(stdout.trim()).toBe('1.2.3');
    const second = await tools.install(semverSpec);
    expect(second).toMatchObject({ cacheHit: true, verified: true, dir: first.dir });
    expect(await cachedEntries('secgate-npm-semver-cli')).toEqual([`${SEMVER_VERSION}/linux-x64`, `${SEMVER_VERSION}/linux-x64.complete`]);
  }, 180_000);

  it('a lock whose integrity does not match the registry tarball fails in npm ci (EINTEGRITY), nothing cached', async () => {
    const parsed = JSON.parse(realLock.lockfile) as { packages: Record<string, { integrity?: string }> };
    const other = `sha512-${createHash('sha512').update('not the semver tarball').digest('base64')}`;
    parsed.packages[`node_modules/semver`]!.integrity = other;
    const tampered = { manifest: realLock.manifest, lockfile: JSON.stringify(parsed, null, 2) };
    const error = await installer(undefined, { lock: npmLock(tampered) })
      .install(semverSpec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolInstallError);
    expect((error as Error).message).toMatch(/^semver-cli: install failed: npm ci .*exited [1-9]/s);
    expect((error as Error).message).toMatch(/EINTEGRITY|integrity/i);
    expect(await cachedEntries('secgate-npm-semver-cli')).toEqual([]);
  }, 180_000);

  it('a lock entry without a sha512 integrity, or locking another version, is refused before npm runs', async () => {
    const parsed = JSON.parse(realLock.lockfile) as { packages: Record<string, { integrity?: string; version?: string }> };
    const noIntegrity = structuredClone(parsed);
    delete noIntegrity.packages['node_modules/semver']!.integrity;
    const noIntegrityError = await installer(undefined, { lock: npmLock({ manifest: realLock.manifest, lockfile: JSON.stringify(noIntegrity) }) })
      .install(semverSpec)
      .catch((e: unknown) => e);
    expect(noIntegrityError).toBeInstanceOf(ToolInstallError);
    expect((noIntegrityError as Error).message).toBe(
      `semver-cli: install failed: the committed npm lockfile for ${SEMVER_VERSION} has no sha512 integrity for node_modules/semver`
    );
    const otherVersion = structuredClone(parsed);
    otherVersion.packages['node_modules/semver']!.version = '7.0.0';
    const otherError = await installer(undefined, { lock: npmLock({ manifest: realLock.manifest, lockfile: JSON.stringify(otherVersion) }) })
      .install(semverSpec)
      .catch((e: unknown) => e);
    expect((otherError as Error).message).toMatch(/installs semver 7\.0\.0, not 7\.6\.3$/);
    expect(existsSync(path.join(job.toolCache, 'secgate-npm-semver-cli'))).toBe(false);
  });

  it('no committed lock for the version: ConfigurationError unless explicitly opted out, then installed and marked unverified', async () => {
    const missing = await installer(undefined, { lock: npmLock(undefined) })
      .install(semverSpec)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigurationError);
    expect((missing as ConfigurationError).key).toBe('semver-cli-version');
    const optedOut = await installer(undefined, {
      lock: npmLock(undefined),
      overrides: { 'semver-cli': { version: '7.6.2', allowUnverified: true } }
    }).install(semverSpec);
    expect(optedOut).toMatchObject({ version: '7.6.2', verified: false, cacheHit: false });
    const { stdout } = await run(optedOut.command, [...optedOut.baseArgs, '--help'], { timeout: 30_000 });
    expect(stdout).toMatch(/^SemVer 7\.6\.2/);
  }, 180_000);
});

describe('ToolInstaller: tools that install nothing (a program from PATH, an API)', () => {
  it('a program from PATH: resolved now, its version is what it prints, nothing cached', async () => {
    const spec: NoInstallSpec = { kind: 'none', tool: 'npm-audit', defaultVersion: 'npm', command: 'npm', versionArgs: ['--version'] };
    const tools = installer(undefined);
    const result = await tools.install(spec);
    const { stdout } = await run('npm', ['--version'], { timeout: 30_000 });
    expect(result).toMatchObject({ tool: 'npm-audit', version: stdout.trim(), verified: true, cacheHit: true, baseArgs: [] });
    expect(path.basename(result.command)).toBe('npm');
    expect(statSync(result.command).isFile()).toBe(true);
    expect(await tools.cacheEntry(spec)).toBeUndefined();
    expect(await readdir(job.toolCache)).toEqual([]);
  });

  it('a program missing from PATH is an install error naming it; a program that prints no version too', async () => {
    const missing = await installer(undefined)
      .install({ kind: 'none', tool: 'ghost', defaultVersion: '1', command: 'secgate-no-such-program' })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ToolInstallError);
    expect((missing as Error).message).toBe(`ghost: install failed: 'secgate-no-such-program' was not found on PATH`);
    const silent = await installer(undefined)
      .install({ kind: 'none', tool: 'quiet', defaultVersion: '1', command: 'sh', versionArgs: ['-c', 'exit 0'] })
      .catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(ToolInstallError);
    expect((silent as Error).message).toMatch(/^quiet: install failed: \S+\/sh -c exit 0 exited 0 without a version/);
  });

  it('an API: a synthetic tool with the default version; choosing another version is a configuration error', async () => {
    const spec: NoInstallSpec = { kind: 'none', tool: 'dependabot', defaultVersion: 'rest-api-2022-11-28' };
    expect(await installer(undefined).install(spec)).toMatchObject({ tool: 'dependabot', version: 'rest-api-2022-11-28', verified: true, command: '' });
    const error = await installer(undefined, { overrides: { dependabot: { version: '2' } } })
      .install(spec)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe('dependabot-version');
  });
});
