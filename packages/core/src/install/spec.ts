/** How a tool gets onto the machine. Each adapter carries one; versions and hashes live in tools-lock.ts. */
export type InstallSpec = PythonInstallSpec | BinaryInstallSpec | NpmInstallSpec | NoInstallSpec;

/**
 * An npm package installed into the tool cache with `npm ci --ignore-scripts` from a committed
 * lockfile (every tarball verified by its `integrity` sha512), run as `node <entry>` (e.g. the Snyk CLI).
 */
export interface NpmInstallSpec {
  kind: 'npm';
  tool: string;
  /** The npm package, e.g. `snyk`. */
  package: string;
  defaultVersion: string;
  /** The JS entry point relative to the install's `node_modules`, e.g. `snyk/dist/cli/index.js`. */
  entry: string;
}

/**
 * Nothing to install: an API (Dependabot alerts) or a program the runner already has (`npm` for
 * npm audit). `command` is looked up on PATH when given; `version` is what the summary shows.
 */
export interface NoInstallSpec {
  kind: 'none';
  tool: string;
  defaultVersion: string;
  /** A program from PATH, e.g. `npm`; omitted for APIs. */
  command?: string;
  /** Arguments that print the program's version (first line kept), e.g. `['--version']`. */
  versionArgs?: string[];
}

export interface PythonInstallSpec {
  kind: 'python';
  /** Our name for the tool (cache key, lock key). */
  tool: string;
  /** The PyPI distribution, e.g. `bandit`. */
  distribution: string;
  /**
   * Run as `python -m <module>` so the venv still works after tool-cache moves it. Empty: the venv's
   * python alone, for an adapter that passes its own script (the adversarial runner).
   */
  module: string;
  /**
   * Run as `python <venv>/bin/<script>` instead, for tools whose `-m` entry is deprecated (semgrep).
   * The venv's script shebangs are rewritten after the move, since such tools exec sibling scripts.
   */
  script?: string;
  defaultVersion: string;
}

export interface BinaryAsset {
  /** URL path below the release host (or a mirror), e.g. `gitleaks/gitleaks/releases/download/v8.30.0/x.tar.gz`. */
  urlPath: string;
  /** The file name upstream gives the asset (what the lock and checksum files name). */
  assetName: string;
  archive: 'tar.gz' | 'zip' | 'none';
  /** The executable inside the extracted archive, relative to its root. */
  executable: string;
}

export interface BinaryInstallSpec {
  kind: 'binary';
  tool: string;
  defaultVersion: string;
  /** Where the asset for a version and platform lives; undefined when upstream ships none for it. */
  asset(version: string, platform: PlatformKey): BinaryAsset | undefined;
}

/** `<os>-<arch>` as used in the lock, e.g. `linux-x64`. */
export type PlatformKey = string;

export function currentPlatform(): PlatformKey {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return `${os}-${process.arch}`;
}

/** The program and leading arguments to run an installed tool. */
export interface InstalledTool {
  tool: string;
  version: string;
  command: string;
  baseArgs: string[];
  /** Root of the cached install. */
  dir: string;
  cacheHit: boolean;
  durationMs: number;
  /** False when the user opted out of checksum verification for an unpinned version. */
  verified: boolean;
}
