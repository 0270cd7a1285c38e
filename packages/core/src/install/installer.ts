import * as tc from '@actions/tool-cache';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChecksumMismatchError, ConfigurationError, ToolInstallError, errorMessage } from '../errors.js';
import { runTool } from '../exec.js';
import type { Logger } from '../logger.js';
import {
  currentPlatform,
  type BinaryInstallSpec,
  type InstallSpec,
  type InstalledTool,
  type PlatformKey,
  type PythonInstallSpec
} from './spec.js';
import { TOOLS_LOCK, type ToolsLock } from './tools-lock.js';

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
}

export const DEFAULT_RELEASE_BASE = 'https://github.com/';
const INSTALL_TIMEOUT_MS = 10 * 60 * 1000;

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

  /** Where a tool lands in the tool cache (for persisting it across workflow runs). */
  async cacheEntry(spec: InstallSpec): Promise<{ name: string; version: string; arch: string }> {
    const { version } = this.resolveVersion(spec.tool, spec.defaultVersion);
    if (spec.kind === 'binary') return { name: spec.tool, version, arch: this.platform };
    return { name: `secgate-py-${spec.tool}`, version: `${version}-py${await this.getPythonVersion()}`, arch: this.platform };
  }

  install(spec: InstallSpec): Promise<InstalledTool> {
    return spec.kind === 'binary' ? this.installBinary(spec) : this.installPython(spec);
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
    const arch = this.platform;
    const pinned = this.lock.binary[spec.tool]?.[version];
    const expected = override?.sha256 ?? pinned?.[this.platform] ?? pinned?.any;
    // Checked before the cache: an opted-out install must not pass later as if it were pinned.
    if (!expected && !override?.allowUnverified) {
      throw new ConfigurationError(
        `no SHA-256 is pinned for ${spec.tool} ${version} on ${this.platform}; give the asset's checksum ` +
          `(${spec.tool}-sha256) or opt out explicitly (allow-unverified-tools: true)`,
        `${spec.tool}-version`
      );
    }
    const cached = tc.find(spec.tool, version, arch);
    if (cached) {
      const marker = await readMarker(cached);
      if (marker && (!expected || marker.digest === expected.toLowerCase())) {
        this.options.logger.debug(`${spec.tool} ${version}: found in tool cache at ${cached}`);
        return installed(spec.tool, version, cached, path.join(cached, asset.executable), [], true, started, marker.verified);
      }
      this.options.logger.info(`${spec.tool} ${version}: cached copy does not match the expected digest; installing again`);
    }

    if (expected && !/^[0-9a-f]{64}$/i.test(expected)) {
      throw new ConfigurationError(`'${expected}' is not a SHA-256 hex digest`, `${spec.tool}-sha256`);
    }
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
      if (expected && actual.toLowerCase() !== expected.toLowerCase()) {
        throw new ChecksumMismatchError(spec.tool, asset.assetName, expected.toLowerCase(), actual);
      }
      if (!expected) this.options.logger.warning(`${spec.tool} ${version}: NOT verified (sha256 ${actual}); opted out`);
      const extracted = await this.extract(spec.tool, downloaded, asset.archive, asset.assetName, asset.executable);
      await writeMarker(extracted, { digest: actual, verified: Boolean(expected) });
      const executable = path.join(extracted, asset.executable);
      try {
        await stat(executable);
      } catch {
        throw new ToolInstallError(spec.tool, `${asset.assetName} does not contain ${asset.executable}`);
      }
      if (process.platform !== 'win32') await chmod(executable, 0o755);
      const dir = await tc.cacheDir(extracted, spec.tool, version, arch);
      await rm(extracted, { recursive: true, force: true });
      return installed(spec.tool, version, dir, path.join(dir, asset.executable), [], false, started, Boolean(expected));
    } finally {
      await rm(downloaded, { force: true });
    }
  }

  private async extract(tool: string, file: string, archive: 'tar.gz' | 'zip' | 'none', assetName: string, executable: string): Promise<string> {
    try {
      if (archive === 'tar.gz') return await tc.extractTar(file);
      if (archive === 'zip') return await tc.extractZip(file);
      const dir = await mkdtemp(path.join(tempRoot(), `${tool}-`));
      const target = path.join(dir, executable);
      await copyFile(file, target);
      return dir;
    } catch (error) {
      throw new ToolInstallError(tool, `could not extract ${assetName}: ${errorMessage(error)}`);
    }
  }

  private pythonTool(spec: PythonInstallSpec, version: string, dir: string, cacheHit: boolean, started: number, verified: boolean): InstalledTool {
    const baseArgs = spec.script ? [path.join(dir, process.platform === 'win32' ? 'Scripts' : 'bin', spec.script)] : ['-m', spec.module];
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
    const usable = async (dir: string): Promise<InstallMarker | undefined> => {
      const marker = await readMarker(dir);
      return marker && (!requirements || marker.digest === digest) ? marker : undefined;
    };
    // Warm path without starting Python (~0.15 s with a pyenv shim): with the default interpreter,
    // any cached venv of this version whose own interpreter still resolves will do.
    if (!this.options.python) {
      for (const candidate of tc.findAllVersions(cacheName, arch).filter((v) => v.startsWith(`${version}-py`))) {
        const dir = tc.find(cacheName, candidate, arch);
        const marker = dir ? await usable(dir) : undefined;
        if (dir && marker && (await realpath(venvExecutable(dir)).then(() => true, () => false))) {
          return this.pythonTool(spec, version, dir, true, started, marker.verified);
        }
      }
    }
    const pyVersion = await this.getPythonVersion();
    const cacheVersion = `${version}-py${pyVersion}`;
    const cached = tc.find(cacheName, cacheVersion, arch);
    if (cached) {
      const marker = await usable(cached);
      if (marker) return this.pythonTool(spec, version, cached, true, started, marker.verified);
    }
    const work = await mkdtemp(path.join(tempRoot(), `secgate-${spec.tool}-`));
    const venv = path.join(work, 'venv');
    try {
      this.options.logger.info(`Installing ${spec.distribution} ${version} into a venv (Python ${pyVersion})`);
      await this.step(spec.tool, this.python(), ['-m', 'venv', venv]);
      const venvPython = venvExecutable(venv);
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
      await this.step(spec.tool, venvPython, pipArgs);
      await writeMarker(venv, { digest, verified: Boolean(requirements) });
      const dir = await tc.cacheDir(venv, cacheName, cacheVersion, arch);
      await relocateScripts(venv, dir);
      return this.pythonTool(spec, version, dir, false, started, Boolean(requirements));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async step(tool: string, command: string, args: string[]): Promise<void> {
    const result = await runTool({ tool, command, args, timeoutMs: INSTALL_TIMEOUT_MS }).catch((error: unknown) => {
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

/** Points the console scripts' shebangs at the venv's new home (tool-cache copies the venv). */
async function relocateScripts(from: string, to: string): Promise<void> {
  if (process.platform === 'win32') return;
  const bin = path.join(to, 'bin');
  const oldPrefix = `#!${path.join(from, 'bin')}/`;
  for (const name of await readdir(bin)) {
    const file = path.join(bin, name);
    const info = await lstat(file);
    if (!info.isFile() || info.size > 1024 * 1024) continue;
    const text = await readFile(file, 'utf8').catch(() => '');
    if (!text.startsWith(oldPrefix)) continue;
    await writeFile(file, `#!${bin}/${text.slice(oldPrefix.length)}`, { mode: info.mode });
  }
}

function venvExecutable(venv: string): string {
  return process.platform === 'win32' ? path.join(venv, 'Scripts', 'python.exe') : path.join(venv, 'bin', 'python');
}

function ensureTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function tempRoot(): string {
  return process.env['RUNNER_TEMP'] || os.tmpdir();
}
