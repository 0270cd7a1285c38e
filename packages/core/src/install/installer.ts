import * as io from '@actions/io';
import * as tc from '@actions/tool-cache';
import lockfile from 'proper-lockfile';
import semver from 'semver';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChecksumMismatchError, ConfigurationError, SecgateError, ToolInstallError, errorMessage } from '../errors.js';
import { runTool } from '../exec.js';
import type { Logger } from '../logger.js';
import {
  currentPlatform,
  type BinaryInstallSpec,
  type InstallSpec,
  type InstalledTool,
  type NoInstallSpec,
  type NpmInstallSpec,
  type PlatformKey,
  type PythonInstallSpec
} from './spec.js';
import { TOOLS_LOCK, type NpmLock, type ToolsLock } from './tools-lock.js';

/** A user's request to run another version than the pinned one. */
export interface VersionOverride {
  version: string;
  /** Expected SHA-256 of the binary asset for this platform. */
  sha256?: string;
  /** Explicit opt-out of verification (required when no checksum is known). */
  allowUnverified?: boolean;
}

export interface InstallerOptions {
  logger: Logger;
  /** Base URL that replaces `https://github.com/` for release assets (GHES, air-gapped mirrors). */
  mirrorUrl?: string;
  pipIndexUrl?: string;
  /** Python interpreter used to create tool venvs. */
  python?: string;
  overrides?: Record<string, VersionOverride>;
  lock?: ToolsLock;
  platform?: PlatformKey;
  /** How long to wait for another process installing the same tool (default 20 minutes). */
  lockTimeoutMs?: number;
  /**
   * A lock whose holder stopped refreshing it for this long is taken over (default 30 s; the holder
   * refreshes it every few seconds while it installs, so only a dead process leaves one this old).
   */
  lockStaleMs?: number;
}

export const DEFAULT_RELEASE_BASE = 'https://github.com/';
const INSTALL_TIMEOUT_MS = 10 * 60 * 1000;
// A holder may legitimately take two pip steps of INSTALL_TIMEOUT_MS each.
const LOCK_TIMEOUT_MS = 2 * INSTALL_TIMEOUT_MS;
const LOCK_STALE_MS = 30_000;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Installs tools into the runner tool cache (`RUNNER_TOOL_CACHE`), verifying every download
 * against the committed lock. A later run finds the cached copy and downloads nothing.
 */
export class ToolInstaller {
  private readonly lock: ToolsLock;
  private readonly platform: PlatformKey;
  private pythonVersion?: Promise<string>;

  constructor(private readonly options: InstallerOptions) {
    this.lock = options.lock ?? TOOLS_LOCK;
    this.platform = options.platform ?? currentPlatform();
  }

  /**
   * Where a tool lands in the tool cache (for persisting it across workflow runs); undefined for
   * tools that install nothing (APIs, programs from PATH).
   */
  async cacheEntry(spec: InstallSpec): Promise<{ name: string; version: string; arch: string } | undefined> {
    if (spec.kind === 'none') return undefined;
    const { version } = this.resolveVersion(spec.tool, spec.defaultVersion);
    if (spec.kind === 'binary') return { name: spec.tool, version, arch: this.platform };
    if (spec.kind === 'npm') return { name: npmCacheName(spec.tool), version, arch: this.platform };
    return { name: `secgate-py-${spec.tool}`, version: `${version}-py${await this.getPythonVersion()}`, arch: this.platform };
  }

  install(spec: InstallSpec): Promise<InstalledTool> {
    switch (spec.kind) {
      case 'binary':
        return this.installBinary(spec);
      case 'python':
        return this.installPython(spec);
      case 'npm':
        return this.installNpm(spec);
      case 'none':
        return this.useExisting(spec);
    }
  }

  /**
   * An API or a program the runner already has: nothing is downloaded, so nothing needs
   * verifying. A program is resolved on PATH now, so a missing one is an install error rather
   * than a failure to start later; its version is what the program itself prints.
   */
  async useExisting(spec: NoInstallSpec): Promise<InstalledTool> {
    const started = Date.now();
    const override = this.options.overrides?.[spec.tool];
    if (override && override.version !== spec.defaultVersion) {
      throw new ConfigurationError(
        spec.command
          ? `${spec.tool} runs the ${spec.command} found on PATH; its version cannot be chosen here`
          : `${spec.tool} is a service, not an installed tool; it has no version to choose`,
        `${spec.tool}-version`
      );
    }
    if (!spec.command) return installed(spec.tool, spec.defaultVersion, '', '', [], true, started, true);
    const resolved = await io.which(spec.command, false);
    if (!resolved) throw new ToolInstallError(spec.tool, `'${spec.command}' was not found on PATH`);
    let version = spec.defaultVersion;
    if (spec.versionArgs) {
      const result = await runTool({ tool: spec.tool, command: resolved, args: spec.versionArgs, timeoutMs: 60_000 }).catch(
        (error: unknown) => {
          throw new ToolInstallError(spec.tool, `could not run ${resolved}: ${errorMessage(error)}`);
        }
      );
      const firstLine = result.stdout.trim().split(/\r?\n/)[0]?.trim() ?? '';
      if (result.exitCode !== 0 || !firstLine) {
        throw new ToolInstallError(
          spec.tool,
          `${resolved} ${spec.versionArgs.join(' ')} exited ${result.exitCode} without a version: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`
        );
      }
      version = firstLine;
    }
    return installed(spec.tool, version, path.dirname(resolved), resolved, [], true, started, true);
  }

  /**
   * An npm package from its committed lockfile: `npm ci` installs exactly the locked tree and
   * checks every tarball against its sha512 `integrity`; `--ignore-scripts` keeps install scripts
   * (e.g. the Snyk wrapper's binary download) from running. Cached like a binary.
   */
  async installNpm(spec: NpmInstallSpec): Promise<InstalledTool> {
    const started = Date.now();
    const { version, override } = this.resolveVersion(spec.tool, spec.defaultVersion);
    const lock = this.lock.npm?.[spec.tool]?.[version];
    if (!lock && !override?.allowUnverified) {
      throw new ConfigurationError(
        `no npm lockfile is committed for ${spec.tool} ${version}; use the pinned ${spec.defaultVersion} ` +
          `or opt out explicitly (allow-unverified-tools: true)`,
        `${spec.tool}-version`
      );
    }
    if (lock) checkNpmLock(spec, version, lock);
    const digest = lock ? createHash('sha256').update(lock.manifest).update('\0').update(lock.lockfile).digest('hex') : 'unverified';
    const entry = (dir: string): string => path.join(dir, 'node_modules', spec.entry);
    const slot = cacheSlot(npmCacheName(spec.tool), version, this.platform);
    const check = async (dir: string): Promise<InstallMarker | undefined> => {
      const marker = await readMarker(dir);
      if (!marker || (lock && marker.digest !== digest)) return undefined;
      return (await stat(entry(dir)).then((info) => info.isFile(), () => false)) ? marker : undefined;
    };
    const { marker, cacheHit } = await this.installOnce(spec.tool, slot, check, async (staging) => {
      const npm = await io.which('npm', false);
      if (!npm) throw new ToolInstallError(spec.tool, `'npm' was not found on PATH`);
      const npmArgs = ['--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier'];
      if (lock) {
        this.options.logger.info(`Installing ${spec.package} ${version} with npm ci from the committed lockfile`);
        await writeFile(path.join(staging, 'package.json'), lock.manifest);
        await writeFile(path.join(staging, 'package-lock.json'), lock.lockfile);
        await this.step(spec.tool, npm, ['ci', ...npmArgs], staging);
      } else {
        this.options.logger.warning(`${spec.tool} ${version}: installing WITHOUT a lockfile (opted out)`);
        await writeFile(path.join(staging, 'package.json'), JSON.stringify({ name: `secgate-tool-${spec.tool}`, private: true }));
        await this.step(spec.tool, npm, ['install', '--save-exact', ...npmArgs, `${spec.package}@${version}`], staging);
      }
      await writeMarker(staging, { digest, verified: Boolean(lock) });
    });
    return installed(spec.tool, version, slot.dir, process.execPath, [entry(slot.dir)], cacheHit, started, marker.verified);
  }

  private resolveVersion(tool: string, defaultVersion: string): { version: string; override?: VersionOverride } {
    const override = this.options.overrides?.[tool];
    // Same version without a checksum of its own: nothing to override.
    if (!override || (override.version === defaultVersion && !override.sha256)) return { version: defaultVersion };
    if (!/^[0-9A-Za-z][0-9A-Za-z.+-]*$/.test(override.version)) {
      throw new ConfigurationError(`'${override.version}' is not a version`, `${tool}-version`);
    }
    return { version: override.version, override };
  }

  async installBinary(spec: BinaryInstallSpec): Promise<InstalledTool> {
    const started = Date.now();
    const { version, override } = this.resolveVersion(spec.tool, spec.defaultVersion);
    const asset = spec.asset(version, this.platform);
    if (!asset) {
      throw new ToolInstallError(spec.tool, `no release asset of version ${version} for platform ${this.platform}`);
    }
    const pinned = this.lock.binary[spec.tool]?.[version];
    const expected = (override?.sha256 ?? pinned?.[this.platform] ?? pinned?.any)?.toLowerCase();
    // Checked before the cache: an opted-out install must not pass later as if it were pinned.
    if (!expected && !override?.allowUnverified) {
      throw new ConfigurationError(
        `no SHA-256 is pinned for ${spec.tool} ${version} on ${this.platform}; give the asset's checksum ` +
          `(${spec.tool}-sha256) or opt out explicitly (allow-unverified-tools: true)`,
        `${spec.tool}-version`
      );
    }
    if (expected && !/^[0-9a-f]{64}$/.test(expected)) {
      throw new ConfigurationError(`'${expected}' is not a SHA-256 hex digest`, `${spec.tool}-sha256`);
    }
    const slot = cacheSlot(spec.tool, version, this.platform);
    const check = async (dir: string): Promise<InstallMarker | undefined> => {
      const marker = await readMarker(dir);
      if (!marker || (expected && marker.digest !== expected)) return undefined;
      return (await isExecutableFile(path.join(dir, asset.executable))) ? marker : undefined;
    };
    const { marker, cacheHit } = await this.installOnce(spec.tool, slot, check, async (staging) => {
      const base = ensureTrailingSlash(this.options.mirrorUrl || DEFAULT_RELEASE_BASE);
      const url = new URL(asset.urlPath, base).toString();
      this.options.logger.info(`Downloading ${spec.tool} ${version} from ${url}`);
      let downloaded: string;
      try {
        // tool-cache retries 5xx/408/429 with backoff and removes partial files.
        downloaded = await tc.downloadTool(url);
      } catch (error) {
        const status = (error as { httpStatusCode?: number }).httpStatusCode;
        throw new ToolInstallError(
          spec.tool,
          `download of ${url} failed${status ? ` with HTTP ${status}` : ''}: ${errorMessage(error)}`
        );
      }
      try {
        const actual = await sha256File(downloaded);
        if (expected && actual !== expected) {
          throw new ChecksumMismatchError(spec.tool, asset.assetName, expected, actual);
        }
        if (!expected) this.options.logger.warning(`${spec.tool} ${version}: NOT verified (sha256 ${actual}); opted out`);
        await this.extract(spec.tool, downloaded, asset.archive, asset.assetName, staging, asset.executable);
        const executable = path.join(staging, asset.executable);
        try {
          await stat(executable);
        } catch {
          throw new ToolInstallError(spec.tool, `${asset.assetName} does not contain ${asset.executable}`);
        }
        if (process.platform !== 'win32') await chmod(executable, 0o755);
        await writeMarker(staging, { digest: actual, verified: Boolean(expected) });
      } finally {
        await rm(downloaded, { force: true });
      }
    });
    return installed(spec.tool, version, slot.dir, path.join(slot.dir, asset.executable), [], cacheHit, started, marker.verified);
  }

  /** Unpacks the asset into `dest` (tar and unzip run as child processes and close what they wrote). */
  private async extract(tool: string, file: string, archive: 'tar.gz' | 'zip' | 'none', assetName: string, dest: string, executable: string): Promise<void> {
    try {
      if (archive === 'tar.gz') await tc.extractTar(file, dest);
      else if (archive === 'zip') await tc.extractZip(file, dest);
      else {
        const target = path.join(dest, executable);
        await mkdir(path.dirname(target), { recursive: true });
        await copyFile(file, target);
      }
    } catch (error) {
      throw new ToolInstallError(tool, `could not extract ${assetName}: ${errorMessage(error)}`);
    }
  }

  /**
   * Returns the usable cache entry in `slot`, building it first when there is none. Safe when
   * several processes share one tool cache (parallel jobs on a self-hosted runner, two CLI scans):
   * a complete entry is used without any lock; otherwise one process at a time, holding a lock per
   * tool, version and platform, builds the entry in a private sibling directory, moves it into
   * place with one rename and only then writes tool-cache's `.complete` marker — so no process
   * ever sees, runs or deletes a half-written entry.
   */
  private async installOnce(
    tool: string,
    slot: CacheSlot,
    check: (dir: string) => Promise<InstallMarker | undefined>,
    build: (staging: string) => Promise<void>
  ): Promise<{ marker: InstallMarker; cacheHit: boolean }> {
    const hit = await usableEntry(slot, check);
    if (hit) {
      this.options.logger.debug(`${tool}: found in tool cache at ${slot.dir}`);
      return { marker: hit, cacheHit: true };
    }
    try {
      return await this.buildLocked(tool, slot, check, build);
    } catch (error) {
      // A file-system failure (no space, no permission) is an install failure, not an internal error.
      throw error instanceof SecgateError ? error : new ToolInstallError(tool, errorMessage(error));
    }
  }

  private async buildLocked(
    tool: string,
    slot: CacheSlot,
    check: (dir: string) => Promise<InstallMarker | undefined>,
    build: (staging: string) => Promise<void>
  ): Promise<{ marker: InstallMarker; cacheHit: boolean }> {
    await mkdir(path.dirname(slot.dir), { recursive: true });
    const held = await this.acquire(tool, slot);
    try {
      // Another process may have finished the entry while this one waited.
      const ready = await usableEntry(slot, check);
      if (ready) return { marker: ready, cacheHit: true };
      if (await exists(slot.dir)) {
        this.options.logger.info(`${tool}: the cached copy at ${slot.dir} is incomplete or does not match the lock; installing it again`);
      }
      await removeLeftovers(slot);
      const staging = await mkdtemp(`${slot.dir}.staging-`);
      try {
        await build(staging);
        const marker = await check(staging);
        if (!marker) throw new ToolInstallError(tool, `the new install in ${staging} is incomplete`);
        const lost = held.compromised();
        if (lost) throw new ToolInstallError(tool, `lost the install lock ${slot.lock} while installing (${lost.message})`);
        await placeEntry(staging, slot);
        return { marker, cacheHit: false };
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    } finally {
      await held.release();
    }
  }

  /**
   * Waits for the slot's inter-process lock. A holder refreshes the lock's mtime while it works;
   * one that died stops refreshing, and its lock is taken over once stale.
   */
  private async acquire(tool: string, slot: CacheSlot): Promise<HeldLock> {
    const timeoutMs = this.options.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
    const stale = Math.max(2_000, this.options.lockStaleMs ?? LOCK_STALE_MS);
    const deadline = Date.now() + timeoutMs;
    let compromised: Error | undefined;
    let delay = 100;
    let announced = false;
    for (;;) {
      try {
        const release = await lockfile.lock(slot.dir, {
          lockfilePath: slot.lock,
          realpath: false,
          stale,
          update: Math.max(1_000, Math.floor(stale / 3)),
          retries: 0,
          // The default throws from a timer, which would kill the process; the holder checks instead.
          onCompromised: (error) => {
            compromised = error;
          }
        });
        return {
          compromised: () => compromised,
          release: () => release().catch(() => undefined)
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new ToolInstallError(tool, `could not take the install lock ${slot.lock}: ${errorMessage(error)}`);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ToolInstallError(
          tool,
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for another process installing into ${slot.dir} ` +
            `(lock ${slot.lock}, taken over only when its holder stops refreshing it for ${Math.round(stale / 1000)} s)`
        );
      }
      if (!announced) {
        this.options.logger.info(`${tool}: another process is installing it into ${slot.dir}; waiting`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
      delay = Math.min(delay * 2, 2_000);
    }
  }

  private pythonTool(spec: PythonInstallSpec, version: string, dir: string, cacheHit: boolean, started: number, verified: boolean): InstalledTool {
    // No module and no script: the venv's python alone (an adapter that runs its own script in it).
    const baseArgs = spec.script ? [scriptPath(dir, spec.script)] : spec.module ? ['-m', spec.module] : [];
    return installed(spec.tool, version, dir, venvExecutable(dir), baseArgs, cacheHit, started, verified);
  }

  /** `major.minor` of the interpreter that builds tool venvs (part of their cache key). */
  getPythonVersion(): Promise<string> {
    this.pythonVersion ??= runTool({
      tool: 'python',
      command: this.python(),
      args: ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
      timeoutMs: 30_000
    }).then((result) => {
      const version = result.stdout.trim();
      if (result.exitCode !== 0 || !/^\d+\.\d+$/.test(version)) {
        throw new ToolInstallError('python', `could not run ${this.python()}: ${result.stderr.trim()}`);
      }
      return version;
    });
    return this.pythonVersion;
  }

  private python(): string {
    return this.options.python || (process.platform === 'win32' ? 'python' : 'python3');
  }

  /**
   * A venv per tool and version, cached like a binary. Pinned versions install with
   * `--require-hashes` from the committed requirement set, so every wheel is verified.
   */
  async installPython(spec: PythonInstallSpec): Promise<InstalledTool> {
    const started = Date.now();
    const { version, override } = this.resolveVersion(spec.tool, spec.defaultVersion);
    const cacheName = `secgate-py-${spec.tool}`;
    const arch = this.platform;
    const requirements = this.lock.python[spec.tool]?.[version];
    if (!requirements && !override?.allowUnverified) {
      throw new ConfigurationError(
        `no hash-pinned requirement set is committed for ${spec.tool} ${version}; use the pinned ${spec.defaultVersion} ` +
          `or opt out explicitly (allow-unverified-tools: true)`,
        `${spec.tool}-version`
      );
    }
    const digest = requirements ? createHash('sha256').update(requirements).digest('hex') : 'unverified';
    const check = async (dir: string): Promise<InstallMarker | undefined> => {
      const marker = await readMarker(dir);
      if (!marker || (requirements && marker.digest !== digest)) return undefined;
      // The venv's interpreter links to the base Python, which may have been removed or upgraded.
      if (!(await realpath(venvExecutable(dir)).then(() => true, () => false))) return undefined;
      return !spec.script || (await exists(scriptPath(dir, spec.script))) ? marker : undefined;
    };
    // Warm path without starting Python (~0.15 s with a pyenv shim): with the default interpreter,
    // any cached venv of this version whose own interpreter still resolves will do.
    if (!this.options.python) {
      for (const candidate of tc.findAllVersions(cacheName, arch).filter((v) => v.startsWith(`${version}-py`))) {
        const slot = cacheSlot(cacheName, candidate, arch);
        const marker = await usableEntry(slot, check);
        if (marker) return this.pythonTool(spec, version, slot.dir, true, started, marker.verified);
      }
    }
    const pyVersion = await this.getPythonVersion();
    const slot = cacheSlot(cacheName, `${version}-py${pyVersion}`, arch);
    const { marker, cacheHit } = await this.installOnce(spec.tool, slot, check, async (venv) => {
      await mkdir(tempRoot(), { recursive: true });
      const work = await mkdtemp(path.join(tempRoot(), `secgate-${spec.tool}-`));
      try {
        this.options.logger.info(`Installing ${spec.distribution} ${version} into a venv (Python ${pyVersion})`);
        await this.step(spec.tool, this.python(), ['-m', 'venv', venv]);
        const pipArgs = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet'];
        if (this.options.pipIndexUrl) pipArgs.push('--index-url', this.options.pipIndexUrl);
        if (requirements) {
          const file = path.join(work, 'requirements.txt');
          await writeFile(file, requirements);
          pipArgs.push('--require-hashes', '--no-deps', '-r', file);
        } else {
          this.options.logger.warning(`${spec.tool} ${version}: installing WITHOUT hash verification (opted out)`);
          pipArgs.push(`${spec.distribution}==${version}`);
        }
        await this.step(spec.tool, venvExecutable(venv), pipArgs);
        // Built beside its final place and renamed there: scripts must name the final path.
        await relocateScripts(venv, slot.dir);
        await writeMarker(venv, { digest, verified: Boolean(requirements) });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
    return this.pythonTool(spec, version, slot.dir, cacheHit, started, marker.verified);
  }

  private async step(tool: string, command: string, args: string[], cwd?: string): Promise<void> {
    const result = await runTool({ tool, command, args, cwd, timeoutMs: INSTALL_TIMEOUT_MS }).catch((error: unknown) => {
      throw new ToolInstallError(tool, errorMessage(error));
    });
    if (result.exitCode !== 0) {
      const tail = result.stderr.trim().split('\n').slice(-8).join('\n');
      throw new ToolInstallError(tool, `${path.basename(command)} ${args.slice(0, 3).join(' ')} exited ${result.exitCode}: ${tail}`);
    }
  }
}

function installed(
  tool: string,
  version: string,
  dir: string,
  command: string,
  baseArgs: string[],
  cacheHit: boolean,
  started: number,
  verified: boolean
): InstalledTool {
  return { tool, version, command, baseArgs, dir, cacheHit, durationMs: Date.now() - started, verified };
}

function npmCacheName(tool: string): string {
  return `secgate-npm-${tool}`;
}

/**
 * Refuses a committed lock that npm ci would install without verifying: every installed package
 * needs a sha512 `integrity`, and the tool's own package must be the version asked for.
 */
function checkNpmLock(spec: NpmInstallSpec, version: string, lock: NpmLock): void {
  const bad = (why: string): ToolInstallError => new ToolInstallError(spec.tool, `the committed npm lockfile for ${version} ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(lock.lockfile);
    JSON.parse(lock.manifest);
  } catch (error) {
    throw bad(`is not JSON: ${errorMessage(error)}`);
  }
  const packages = (parsed as { packages?: unknown }).packages;
  if (typeof packages !== 'object' || packages === null || Array.isArray(packages)) throw bad('has no "packages" map (lockfileVersion 2 or 3 is required)');
  let tool: { version?: unknown } | undefined;
  for (const [where, value] of Object.entries(packages as Record<string, unknown>)) {
    if (where === '') continue;
    const entry = value as { integrity?: unknown; link?: unknown; version?: unknown; inBundle?: unknown };
    if (entry.link === true) throw bad(`links ${where} to a local directory`);
    // A bundled dependency ships inside the tarball of the package that bundles it, so that
    // package's integrity covers it: it must have one (checked when the loop reaches it).
    if (entry.inBundle === true) {
      const parent = where.slice(0, where.lastIndexOf('/node_modules/'));
      if (!parent || !(parent in (packages as Record<string, unknown>))) throw bad(`bundles ${where} in no locked package`);
      continue;
    }
    if (typeof entry.integrity !== 'string' || !entry.integrity.startsWith('sha512-')) throw bad(`has no sha512 integrity for ${where}`);
    if (where === `node_modules/${spec.package}`) tool = entry;
  }
  if (!tool) throw bad(`does not install ${spec.package}`);
  if (tool.version !== version) throw bad(`installs ${spec.package} ${String(tool.version)}, not ${version}`);
}

/** Written into every install: what was verified, so a cache hit reports the truth. */
interface InstallMarker {
  digest: string;
  verified: boolean;
}
const MARKER_FILE = '.secgate-install.json';

async function writeMarker(dir: string, marker: InstallMarker): Promise<void> {
  await writeFile(path.join(dir, MARKER_FILE), JSON.stringify(marker));
}

async function readMarker(dir: string): Promise<InstallMarker | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, MARKER_FILE), 'utf8')) as InstallMarker;
    return typeof parsed.digest === 'string' && typeof parsed.verified === 'boolean' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Points the venv's console scripts at its final home. pip writes the build path either as the
 * shebang or, when that would be too long for the kernel, in a `/bin/sh` trampoline on the
 * following lines; both sit in the first few lines.
 */
async function relocateScripts(venv: string, finalHome: string): Promise<void> {
  if (process.platform === 'win32') return;
  const bin = path.join(venv, 'bin');
  const oldBin = `${bin}/`;
  const newBin = `${path.join(finalHome, 'bin')}/`;
  for (const name of await readdir(bin)) {
    const file = path.join(bin, name);
    const info = await lstat(file);
    if (!info.isFile() || info.size > 1024 * 1024) continue;
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!text.startsWith('#!')) continue;
    const lines = text.split('\n');
    const head = lines.slice(0, 3).join('\n');
    if (!head.includes(oldBin)) continue;
    const relocated = [head.split(oldBin).join(newBin), ...lines.slice(3)].join('\n');
    await writeFile(file, relocated, { mode: info.mode });
  }
}

function venvExecutable(venv: string): string {
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

function scriptPath(venv: string, script: string): string {
  return path.join(venv, process.platform === 'win32' ? 'Scripts' : 'bin', script);
}

/** A tool-cache entry: `<root>/<name>/<version>/<arch>` plus tool-cache's `<arch>.complete` marker. */
interface CacheSlot {
  dir: string;
  complete: string;
  /** The inter-process lock of this entry (a directory, see proper-lockfile). */
  lock: string;
}

function cacheSlot(name: string, version: string, arch: string): CacheSlot {
  const root = process.env['RUNNER_TOOL_CACHE'];
  if (!root) throw new ToolInstallError(name, 'RUNNER_TOOL_CACHE is not set');
  // The same layout and version spelling as tool-cache's cacheDir, so tc.find keeps working.
  const dir = path.join(root, name, semver.clean(version) || version, arch);
  return { dir, complete: `${dir}.complete`, lock: `${dir}.lock` };
}

interface HeldLock {
  /** Set when another process took the lock over (this one stopped refreshing it in time). */
  compromised(): Error | undefined;
  release(): Promise<void>;
}

/** The entry's marker when tool-cache's `.complete` exists and the entry passes `check`. */
async function usableEntry(slot: CacheSlot, check: (dir: string) => Promise<InstallMarker | undefined>): Promise<InstallMarker | undefined> {
  return (await exists(slot.complete)) ? check(slot.dir) : undefined;
}

/** Under the lock: what a crashed or interrupted install left (marker first, so no one uses it). */
async function removeLeftovers(slot: CacheSlot): Promise<void> {
  await rm(slot.complete, { force: true });
  const base = path.basename(slot.dir);
  const parent = path.dirname(slot.dir);
  for (const name of await readdir(parent)) {
    if (name.startsWith(`${base}.staging-`) || name.startsWith(`${base}.old-`)) {
      await rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/**
 * Moves a finished build into place: the old entry is renamed aside (one rename), the new one
 * renamed in (one rename, same file system), then `.complete` is written. Files are never
 * rewritten in place, so a process running the old copy keeps its files and none sees ETXTBSY.
 */
async function placeEntry(staging: string, slot: CacheSlot): Promise<void> {
  const aside = `${slot.dir}.old-${randomBytes(6).toString('hex')}`;
  const movedAside = await rename(slot.dir, aside).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    }
  );
  await rename(staging, slot.dir);
  await writeFile(slot.complete, '');
  if (movedAside) await rm(aside, { recursive: true, force: true });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false
  );
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    return info.isFile() && (process.platform === 'win32' || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

function ensureTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function tempRoot(): string {
  return process.env['RUNNER_TEMP'] || os.tmpdir();
}
