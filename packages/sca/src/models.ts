import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Minimatch } from 'minimatch';
import { ConfigurationError, WorkspaceBoundary, type ToolContext } from '@secgate/core';

/**
 * Model files in scope: what the model scanners (modelscan, picklescan) check and what the SBOM
 * lists as `machine-learning-model` components.
 *
 * | extension | format | read by |
 * |---|---|---|
 * | `.pkl` `.pickle` `.joblib` | pickle | modelscan, picklescan |
 * | `.pt` `.pth` `.bin` `.ckpt` | pytorch (zip or legacy concatenated pickles) | modelscan, picklescan |
 * | `.npy` | numpy (object arrays hold a pickle) | modelscan, picklescan |
 * | `.npz` | numpy zip | modelscan, picklescan |
 * | `.h5` | keras-h5 | modelscan with its tensorflow extra |
 * | `.keras` | keras | modelscan with its tensorflow extra |
 * | `saved_model.pb` (a SavedModel directory) | saved-model | modelscan with its tensorflow extra |
 */
export type ModelFormat = 'pickle' | 'pytorch' | 'numpy' | 'numpy-zip' | 'keras-h5' | 'keras' | 'saved-model';

const FORMAT_BY_EXTENSION: Readonly<Record<string, ModelFormat>> = {
  '.pkl': 'pickle',
  '.pickle': 'pickle',
  '.joblib': 'pickle',
  '.pt': 'pytorch',
  '.pth': 'pytorch',
  '.bin': 'pytorch',
  '.ckpt': 'pytorch',
  '.npy': 'numpy',
  '.npz': 'numpy-zip',
  '.h5': 'keras-h5',
  '.keras': 'keras'
};

/** The extensions discovered by default (a SavedModel is found by its `saved_model.pb`). */
export const MODEL_FILE_EXTENSIONS: readonly string[] = Object.keys(FORMAT_BY_EXTENSION);

/** The graph file that makes a directory a TensorFlow SavedModel. */
const SAVED_MODEL_FILE = 'saved_model.pb';

/** Formats whose payload is a pickle stream: picklescan's domain. */
export const PICKLE_FORMATS: ReadonlySet<ModelFormat> = new Set(['pickle', 'pytorch', 'numpy', 'numpy-zip']);

/** Formats modelscan 0.8.8 reads only with its `tensorflow` extra (not installed: see modelscan.ts). */
export const TENSORFLOW_FORMATS: ReadonlySet<ModelFormat> = new Set(['keras-h5', 'keras', 'saved-model']);

export interface ModelFile {
  /** Workspace-relative path with `/` (a SavedModel: its `saved_model.pb`). */
  path: string;
  /** Absolute path as found under the workspace (what the scanners are given). */
  absolute: string;
  format: ModelFormat;
  /** SHA-256 of the file's bytes, hex: the finding identity and the SBOM hash. */
  sha256: string;
}

/** The format of a file by its name, or undefined when it is not a model file. */
export function modelFormatOf(file: string): ModelFormat | undefined {
  const base = path.basename(file);
  if (base === SAVED_MODEL_FILE) return 'saved-model';
  return FORMAT_BY_EXTENSION[path.extname(base).toLowerCase()];
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  // Streamed: model files are often gigabytes.
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `model-paths`: a comma- or newline-separated list of workspace paths (files or directories). */
export function modelPathsOption(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const paths = value
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of paths) {
    if (p.includes('\u0000')) throw new ConfigurationError('a path holds a NUL character', 'model-paths');
  }
  return paths.length > 0 ? paths : undefined;
}

type ScopeContext = Pick<ToolContext, 'workspace' | 'targets' | 'exclude' | 'options'>;

/** Discovery runs once per stage run and context, though both model scanners ask for it. */
const discoveries = new WeakMap<Readonly<Record<string, string>>, Map<string, Promise<ModelFile[]>>>();

/**
 * Model files in scope, sorted by path. Default scope: every file under the stage's targets with a
 * model extension (and every `saved_model.pb`), leaving out `.git/` and the `exclude` globs. The
 * `model-paths` input replaces the discovery: each path must exist inside the workspace; a named
 * file is scanned whatever its extension, a named directory is searched like a target, and no model
 * file at all under them is a ConfigurationError. Files whose real path is outside the workspace
 * (a symlink to elsewhere) are never read.
 */
export function discoverModelFiles(context: ScopeContext): Promise<ModelFile[]> {
  let byScope = discoveries.get(context.options);
  if (!byScope) {
    byScope = new Map();
    discoveries.set(context.options, byScope);
  }
  const key = JSON.stringify([context.workspace, context.targets, context.exclude, context.options['model-paths'] ?? '']);
  let found = byScope.get(key);
  if (!found) {
    found = discover(context);
    byScope.set(key, found);
    // A failed discovery (bad input) is not cached: the next caller reports it too.
    found.catch(() => byScope!.delete(key));
  }
  return found;
}

async function discover(context: ScopeContext): Promise<ModelFile[]> {
  const boundary = await WorkspaceBoundary.open(context.workspace);
  const exclude = context.exclude.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
  const isExcluded = (relative: string): boolean => exclude.some((m) => m.match(relative));
  const found = new Map<string, ModelFile>();

  const add = async (absolute: string, format: ModelFormat): Promise<void> => {
    if ((await boundary.realInside(absolute)) === undefined) return;
    const relative = path.relative(boundary.workspace, absolute).split(path.sep).join('/');
    if (found.has(relative)) return;
    found.set(relative, { path: relative, absolute, format, sha256: await sha256File(absolute) });
  };

  const walk = async (directory: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return; // unreadable directory: nothing the scanners could read either
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const absolute = path.join(directory, entry.name);
      const relative = path.relative(boundary.workspace, absolute).split(path.sep).join('/');
      if (entry.name === '.git' || isExcluded(relative)) continue;
      // Symlinked directories are not followed (loops, trees outside the workspace).
      if (entry.isDirectory()) await walk(absolute);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        const format = modelFormatOf(entry.name);
        if (format && (entry.isFile() || (await stat(absolute).then((s) => s.isFile(), () => false)))) await add(absolute, format);
      }
    }
  };

  const named = modelPathsOption(context.options['model-paths']);
  if (named) {
    for (const input of named) {
      const absolute = await boundary.resolveSetting(input, 'model-paths');
      const info = await lstat(absolute).catch(() => undefined);
      if (!info) throw new ConfigurationError(`'${input}' does not exist`, 'model-paths');
      if (info.isDirectory()) await walk(absolute);
      else if ((await stat(absolute)).isFile()) await add(absolute, modelFormatOf(absolute) ?? 'pickle');
      else throw new ConfigurationError(`'${input}' is not a file or directory`, 'model-paths');
    }
    // The user named where the models are: finding none there is a mistake, not "not applicable".
    if (found.size === 0) throw new ConfigurationError(`no model file under ${named.map((p) => `'${p}'`).join(', ')}`, 'model-paths');
  } else {
    for (const target of context.targets) {
      const absolute = path.resolve(boundary.workspace, target);
      if ((await boundary.realInside(absolute)) === undefined) continue;
      const info = await stat(absolute).catch(() => undefined);
      if (info?.isDirectory()) await walk(absolute);
      else if (info?.isFile()) {
        const format = modelFormatOf(absolute);
        if (format) await add(absolute, format);
      }
    }
  }
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
