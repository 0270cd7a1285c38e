import { realpathSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError } from './errors.js';
import { git } from './git.js';

/**
 * The workspace is the boundary of everything secgate reads or reports. Checks are made on real
 * paths (symlinks resolved), since the tree under review can plant a symlink to any file on the
 * runner (`/proc/self/environ`, `~/.ssh`, another checkout).
 */

/** True when `candidate` is `root` or lies below it (both absolute). */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Real path of `absolute`; for a path that does not exist (yet), the real path of its nearest
 * existing ancestor joined with the rest, so `link-to-etc/new-file` still resolves outside.
 */
export async function realPathOf(absolute: string): Promise<string> {
  const rest: string[] = [];
  for (let current = absolute; ; current = path.dirname(current)) {
    try {
      return path.join(await realpath(current), ...rest);
    } catch (error) {
      if (!isMissing(error) || path.dirname(current) === current) throw error;
      rest.unshift(path.basename(current));
    }
  }
}

function realPathOfSync(absolute: string): string {
  const rest: string[] = [];
  for (let current = absolute; ; current = path.dirname(current)) {
    try {
      return path.join(realpathSync.native(current), ...rest);
    } catch (error) {
      if (!isMissing(error) || path.dirname(current) === current) throw error;
      rest.unshift(path.basename(current));
    }
  }
}

export interface ReadOptions {
  /** Refuse bigger files (a policy or baseline never needs to be huge; a FIFO or /dev/zero never ends). */
  maxBytes: number;
}

export class WorkspaceBoundary {
  private readonly located = new Map<string, string | undefined>();

  private constructor(
    /** The workspace as given (absolute): reported paths are relative to it. */
    readonly workspace: string,
    /** Its real path: what "inside" is checked against. */
    readonly realWorkspace: string
  ) {}

  static async open(workspace: string): Promise<WorkspaceBoundary> {
    const absolute = path.resolve(workspace);
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (error) {
      throw new ConfigurationError(`the workspace ${absolute} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'workspace');
    }
    return new WorkspaceBoundary(absolute, real);
  }

  /** Real path of a path inside the workspace, or undefined when it resolves outside (or cannot be resolved). */
  async realInside(absolute: string): Promise<string | undefined> {
    const lexical = path.resolve(this.workspace, absolute);
    if (!isWithin(this.workspace, lexical) && !isWithin(this.realWorkspace, lexical)) return undefined;
    const real = await realPathOf(lexical).catch(() => undefined);
    return real !== undefined && isWithin(this.realWorkspace, real) ? real : undefined;
  }

  /**
   * A path setting (input or policy key) resolved against the workspace: its absolute path, or a
   * ConfigurationError when it, or a symlink on the way, leads outside. `input` is the user's text.
   */
  async resolveSetting(input: string, key: string): Promise<string> {
    const absolute = path.resolve(this.workspace, input);
    const real = await this.realInside(absolute);
    if (real === undefined) {
      throw new ConfigurationError(`'${input}' is outside the workspace (paths and the symlinks they pass through must stay inside it)`, key);
    }
    return absolute;
  }

  /**
   * Reads a file named by a setting, refusing one whose real path is outside the workspace, that is
   * not a regular file, or that is bigger than `maxBytes`. undefined when the file does not exist.
   * Error messages name the setting and the path, never the file's content.
   */
  async readSetting(input: string, key: string, options: ReadOptions): Promise<string | undefined> {
    const absolute = await this.resolveSetting(input, key);
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new ConfigurationError(`cannot read '${input}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`, key);
    }
    return readRegularFile(real, input, key, options);
  }

  /**
   * Where a tool-reported path lies: its workspace-relative form (with `/`), or undefined when its
   * real path is outside the workspace (`../../etc/passwd`, an absolute path elsewhere, a file
   * reached through a symlink to outside). Synchronous and cached: reports name thousands of files.
   */
  locate(reported: string): string | undefined {
    if (this.located.has(reported)) return this.located.get(reported);
    const absolute = path.resolve(this.workspace, reported);
    let relative: string | undefined;
    // Tools given the real path of the workspace report paths below it, not below the given one.
    const base = isWithin(this.workspace, absolute) ? this.workspace : isWithin(this.realWorkspace, absolute) ? this.realWorkspace : undefined;
    if (base !== undefined) {
      let real: string | undefined;
      try {
        real = realPathOfSync(absolute);
      } catch {
        real = undefined; // a symlink loop or an unreadable directory: not provably inside
      }
      if (real !== undefined && isWithin(this.realWorkspace, real)) relative = path.relative(base, absolute).split(path.sep).join('/') || '.';
    }
    this.located.set(reported, relative);
    return relative;
  }
}

/** Reads a regular file of at most `maxBytes`; `label` and `key` name it in errors. */
export async function readRegularFile(file: string, label: string, key: string, options: ReadOptions): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new ConfigurationError(`cannot read '${label}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`, key);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ConfigurationError(`'${label}' is not a regular file`, key);
    if (info.size > options.maxBytes) {
      throw new ConfigurationError(`'${label}' is ${info.size} bytes; the limit is ${options.maxBytes}`, key);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Where the policy and baseline files come from: the working tree (the code under review) or a
 * commit (the base of a pull request, for `policy-source: base` and the relaxation check).
 */
export interface RepoFileSource {
  /** For messages: "the working tree", "base commit 1a2b3c4". */
  readonly label: string;
  /** A workspace-relative file's text; undefined when it does not exist there. Refusals are ConfigurationErrors. */
  read(relativePath: string, key: string, options: ReadOptions): Promise<string | undefined>;
}

export function workingTreeSource(boundary: WorkspaceBoundary): RepoFileSource {
  return { label: 'the working tree', read: (relativePath, key, options) => boundary.readSetting(relativePath, key, options) };
}

/**
 * Files as they are in a commit (`git ls-tree` + `git cat-file`), relative to the workspace. A path
 * that is a symlink in that commit is refused, as in the working tree; a missing path is undefined.
 */
export function gitCommitSource(workspace: string, sha: string): RepoFileSource {
  const label = `base commit ${sha.slice(0, 7)}`;
  return {
    label,
    async read(relativePath, key, options) {
      const lexical = path.resolve(workspace, relativePath);
      if (!isWithin(workspace, lexical)) throw new ConfigurationError(`'${relativePath}' is outside the workspace`, key);
      const inTree = `./${path.relative(workspace, lexical).split(path.sep).join('/')}`;
      const listed = await git(workspace, ['ls-tree', '-z', '--long', sha, '--', inTree]);
      if (listed.exitCode !== 0) throw new ConfigurationError(`cannot list '${relativePath}' in ${label}: ${lastLine(listed.stderr)}`, key);
      const entry = listed.stdout.split('\0').find(Boolean);
      if (!entry) return undefined;
      // "<mode> <type> <object> <size>\t<path>"
      const [mode, type, object, size] = entry.slice(0, entry.indexOf('\t')).trim().split(/\s+/);
      if (mode === '120000') throw new ConfigurationError(`'${relativePath}' is a symlink in ${label}; refusing to follow it`, key);
      if (type !== 'blob' || !object) throw new ConfigurationError(`'${relativePath}' is not a file in ${label}`, key);
      if (Number(size) > options.maxBytes) throw new ConfigurationError(`'${relativePath}' in ${label} is ${size} bytes; the limit is ${options.maxBytes}`, key);
      const blob = await git(workspace, ['cat-file', 'blob', object]);
      if (blob.exitCode !== 0) throw new ConfigurationError(`cannot read '${relativePath}' in ${label}: ${lastLine(blob.stderr)}`, key);
      return blob.stdout;
    }
  };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 300) ?? '';
}
