/**
 * Python dependency manifests in scope: discovery (requirements files, pyproject.toml, poetry.lock, uv.lock,
 * Pipfile.lock), their declarations with line numbers, and `locateDeclaration` — the manifest line a vulnerability
 * annotation lands on. Names compare PEP 503-normalised (`PyYAML` = `pyyaml`, `scikit_learn` = `scikit-learn`).
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Minimatch } from 'minimatch';
import { parse as parseToml } from 'smol-toml';
import { ConfigurationError, ToolFailureError, WorkspaceBoundary, isWithin, type FindingLocation, normalisePackageName } from '@secgate/core';

export type ManifestKind = 'requirements' | 'pyproject' | 'poetry-lock' | 'uv-lock' | 'pipfile-lock';

export interface Manifest {
  /** Workspace-relative, with `/`. */
  path: string;
  kind: ManifestKind;
  ecosystem: 'PyPI';
}

/** One package a manifest declares, where it declares it. */
export interface Declaration {
  /** PEP 503-normalised. */
  name: string;
  /** The exact version when the manifest pins one (`==1.2.3`, a lock file entry), else undefined. */
  version?: string;
  /** The requirement as written (`torch[cuda]==2.1.0 ; python_version >= "3.9"`) or a lock entry's `name==version`. */
  requirement: string;
  /** The file that holds the line (a `-r` include may be another file than the manifest). Workspace-relative. */
  path: string;
  line: number;
}

/** Largest manifest read (a requirements file or lock file is never this big; a FIFO never ends). */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
/** Directories never searched for manifests. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** Bound on directory entries visited, so a huge tree cannot stall discovery. */
const MAX_ENTRIES = 500_000;

export function normalisePyPIName(name: string): string {
  return normalisePackageName(name, 'PyPI');
}

/** The kind of a manifest by its file name, or undefined. */
export function manifestKind(relativePath: string): ManifestKind | undefined {
  const base = path.posix.basename(relativePath);
  const dir = path.posix.basename(path.posix.dirname(relativePath));
  if (base === 'pyproject.toml') return 'pyproject';
  if (base === 'poetry.lock') return 'poetry-lock';
  if (base === 'uv.lock') return 'uv-lock';
  if (base === 'Pipfile.lock') return 'pipfile-lock';
  if (/^requirements.*\.txt$/i.test(base) || (dir === 'requirements' && base.endsWith('.txt'))) return 'requirements';
  return undefined;
}

function excludeMatchers(patterns: readonly string[]): Minimatch[] {
  // As the engine does: a pattern also covers everything below it (`vendor` = `vendor/**`).
  return patterns.flatMap((p) => [new Minimatch(p, { dot: true }), new Minimatch(`${p.replace(/\/$/, '')}/**`, { dot: true })]);
}

/**
 * The Python manifests under `targets` (workspace-relative), leaving out `exclude`. When `explicit` (the `manifests`
 * input) is given, exactly those files, each of which must exist inside the workspace and be a known kind.
 * Symlinks are not followed. Sorted by path.
 */
export async function discoverPythonManifests(workspace: string, targets: readonly string[], exclude: readonly string[], explicit?: readonly string[]): Promise<Manifest[]> {
  const boundary = await WorkspaceBoundary.open(workspace);
  if (explicit && explicit.length > 0) {
    const manifests: Manifest[] = [];
    for (const entry of explicit) {
      const absolute = await boundary.resolveSetting(entry, 'manifests');
      const relative = boundary.locate(absolute);
      const kind = relative ? manifestKind(relative) : undefined;
      if (!relative || !kind) {
        throw new ConfigurationError(`'${entry}' is not a Python manifest secgate reads (requirements*.txt, requirements/*.txt, pyproject.toml, poetry.lock, uv.lock, Pipfile.lock)`, 'manifests');
      }
      const info = await lstat(absolute).catch(() => undefined);
      if (!info?.isFile()) throw new ConfigurationError(`'${entry}' does not exist or is not a regular file`, 'manifests');
      manifests.push({ path: relative, kind, ecosystem: 'PyPI' });
    }
    return manifests.sort((a, b) => a.path.localeCompare(b.path));
  }
  const matchers = excludeMatchers(exclude);
  const isExcluded = (relative: string): boolean => matchers.some((m) => m.match(relative));
  const found = new Map<string, Manifest>();
  let visited = 0;
  const walk = async (relative: string): Promise<void> => {
    const absolute = path.join(workspace, relative);
    const info = await lstat(absolute).catch(() => undefined);
    if (!info || info.isSymbolicLink()) return;
    if (info.isFile()) {
      const kind = manifestKind(relative);
      if (kind && !isExcluded(relative)) found.set(relative, { path: relative, kind, ecosystem: 'PyPI' });
      return;
    }
    if (!info.isDirectory()) return;
    const entries = await readdir(absolute, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (++visited > MAX_ENTRIES) return;
      if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue;
      const child = relative === '.' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && isExcluded(child)) continue;
      await walk(child);
    }
  };
  for (const target of targets.length > 0 ? targets : ['.']) {
    const relative = boundary.locate(path.resolve(workspace, target));
    if (relative !== undefined) await walk(relative);
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** Synchronous (parsers are): a manifest's text, refused when it resolves outside the workspace or is not a small regular file. */
function readManifestText(workspace: string, relative: string, tool: string): string {
  let real: string;
  let realWorkspace: string;
  try {
    realWorkspace = realpathSync(workspace);
    real = realpathSync(path.resolve(workspace, relative));
  } catch {
    throw new ToolFailureError(tool, `${relative}: cannot be read (missing or a broken link)`);
  }
  if (!isWithin(realWorkspace, real)) throw new ToolFailureError(tool, `${relative}: resolves outside the workspace; not read`);
  const info = lstatSync(real);
  if (!info.isFile()) throw new ToolFailureError(tool, `${relative}: not a regular file`);
  if (info.size > MAX_MANIFEST_BYTES) throw new ToolFailureError(tool, `${relative}: ${info.size} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`);
  return readFileSync(real, 'utf8');
}

/** PEP 508 name, extras, version specifier and marker of one requirement (no URL forms beyond `name @ url`). */
const REQUIREMENT = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(\(?\s*(?:(?:===|==|~=|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*,?\s*)*\)?)\s*(@\s*\S+)?\s*(;.*)?$/;

/** Parsed requirement: normalised name and the exact pinned version if `==`/`===` (without wildcard). */
export function parseRequirement(text: string): { name: string; version?: string } | undefined {
  const match = REQUIREMENT.exec(text.trim());
  if (!match) return undefined;
  const specifier = (match[3] ?? '').replace(/[()\s]/g, '');
  const pin = /^(?:===|==)([A-Za-z0-9.+!_-]+)$/.exec(specifier);
  return { name: normalisePyPIName(match[1]!), ...(pin && !match[4] ? { version: pin[1] } : {}) };
}

/** Requirements-file options secgate lets through without a declaration (pip's per-file options). */
const IGNORED_OPTION = /^(?:-i|--index-url|--extra-index-url|-f|--find-links|--no-index|--pre|--prefer-binary|--only-binary|--no-binary|--trusted-host|--use-feature|--require-hashes)\b/;

/**
 * Declarations of a requirements file and the files it includes with `-r` (`-c` constraints declare nothing).
 * Continuations (`\`), comments and `--hash` options are handled; an unreadable line is a ToolFailureError naming
 * the file and line, so a broken manifest is never audited as "nothing declared".
 */
function requirementsDeclarations(workspace: string, relative: string, tool: string, seen: Set<string>): Declaration[] {
  if (seen.has(relative)) return [];
  seen.add(relative);
  const text = readManifestText(workspace, relative, tool);
  const declarations: Declaration[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let logical = lines[i]!;
    while (/\\$/.test(logical) && i + 1 < lines.length) logical = logical.slice(0, -1) + ' ' + lines[++i]!;
    const content = logical.replace(/(^|\s)#.*$/, '').trim();
    if (content === '') continue;
    const include = /^(?:-r|--requirement)(?:\s+|=)(\S+)$/.exec(content);
    if (include) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(relative), include[1]!));
      declarations.push(...requirementsDeclarations(workspace, target, tool, seen));
      continue;
    }
    if (/^(?:-c|--constraint)(?:\s+|=)\S+$/.test(content) || IGNORED_OPTION.test(content)) continue;
    if (/^(?:-e|--editable)\s/.test(content)) continue; // a local or VCS checkout: nothing pip-audit can look up by version
    const requirement = content.replace(/\s--hash[=\s]\S+/g, '').trim();
    const parsed = parseRequirement(requirement);
    if (!parsed) throw new ToolFailureError(tool, `${relative}:${startLine}: not a requirement pip can read (${JSON.stringify(content.slice(0, 60))})`);
    declarations.push({ ...parsed, requirement, path: relative, line: startLine });
  }
  return declarations;
}

function tomlTable(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function parseTomlManifest(text: string, relative: string, tool: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const where = /line (\d+)/.exec((error as Error).message)?.[1];
    throw new ToolFailureError(tool, `${relative}${where ? `:${where}` : ''}: not valid TOML`);
  }
}

/** Line (1-based) of the first line after `from` matching `test`, or undefined. */
function findLine(lines: readonly string[], test: (line: string) => boolean, from = 0): number | undefined {
  for (let i = from; i < lines.length; i++) if (test(lines[i]!)) return i + 1;
  return undefined;
}

function quotedRequirementLine(lines: readonly string[], name: string): number | undefined {
  return findLine(lines, (line) => [...line.matchAll(/["']([^"']+)["']/g)].some((m) => parseRequirement(m[1]!)?.name === name));
}

function pyprojectDeclarations(text: string, relative: string, tool: string): Declaration[] {
  const doc = parseTomlManifest(text, relative, tool);
  const lines = text.split(/\r?\n/);
  const declarations: Declaration[] = [];
  const project = tomlTable(doc['project']);
  const pep621 = [
    ...(Array.isArray(project?.['dependencies']) ? (project['dependencies'] as unknown[]) : []),
    ...Object.values(tomlTable(project?.['optional-dependencies']) ?? {}).flatMap((group) => (Array.isArray(group) ? (group as unknown[]) : []))
  ];
  for (const entry of pep621) {
    const parsed = typeof entry === 'string' ? parseRequirement(entry) : undefined;
    if (!parsed) throw new ToolFailureError(tool, `${relative}: [project] dependency ${JSON.stringify(String(entry).slice(0, 60))} is not a PEP 508 requirement`);
    declarations.push({ ...parsed, requirement: entry as string, path: relative, line: quotedRequirementLine(lines, parsed.name) ?? 1 });
  }
  const poetry = tomlTable(tomlTable(tomlTable(doc['tool'])?.['poetry'])?.['dependencies']);
  const poetryHeader = findLine(lines, (line) => /^\s*\[tool\.poetry\.dependencies\]\s*$/.test(line)) ?? 0;
  for (const [rawName, spec] of Object.entries(poetry ?? {})) {
    if (rawName.toLowerCase() === 'python') continue;
    const name = normalisePyPIName(rawName);
    const version = typeof spec === 'string' ? spec : typeof tomlTable(spec)?.['version'] === 'string' ? (tomlTable(spec)!['version'] as string) : undefined;
    const pin = version ? /^(?:==)?\s*(\d[A-Za-z0-9.+!_-]*)$/.exec(version.trim())?.[1] : undefined;
    const line = findLine(lines, (l) => /^\s*"?([A-Za-z0-9._-]+)"?\s*=/.exec(l)?.[1] !== undefined && normalisePyPIName(/^\s*"?([A-Za-z0-9._-]+)"?\s*=/.exec(l)![1]!) === name, poetryHeader);
    declarations.push({ name, ...(pin ? { version: pin } : {}), requirement: `${rawName}${version ? ` ${version}` : ''}`, path: relative, line: line ?? poetryHeader ?? 1 });
  }
  return declarations;
}

/** `[[package]]` entries of poetry.lock / uv.lock: name, version, and the line of the entry's `name =`. */
function tomlLockDeclarations(text: string, relative: string, tool: string): Declaration[] {
  const doc = parseTomlManifest(text, relative, tool);
  const packages = Array.isArray(doc['package']) ? (doc['package'] as unknown[]) : [];
  const lines = text.split(/\r?\n/);
  const nameLines = new Map<string, number>();
  let inPackage = false;
  lines.forEach((line, index) => {
    if (/^\s*\[/.test(line)) inPackage = /^\s*\[\[package\]\]\s*$/.test(line);
    const match = inPackage ? /^\s*name\s*=\s*"([^"]+)"/.exec(line) : null;
    if (match && !nameLines.has(normalisePyPIName(match[1]!))) nameLines.set(normalisePyPIName(match[1]!), index + 1);
  });
  return packages.map((entry, index) => {
    const table = tomlTable(entry);
    const rawName = table?.['name'];
    const version = table?.['version'];
    if (typeof rawName !== 'string' || typeof version !== 'string') {
      throw new ToolFailureError(tool, `${relative}: package entry ${index + 1} has no name or version`);
    }
    const name = normalisePyPIName(rawName);
    return { name, version, requirement: `${rawName}==${version}`, path: relative, line: nameLines.get(name) ?? 1 };
  });
}

function pipfileLockDeclarations(text: string, relative: string, tool: string): Declaration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ToolFailureError(tool, `${relative}: not valid JSON`);
  }
  const lines = text.split(/\r?\n/);
  const declarations: Declaration[] = [];
  for (const section of ['default', 'develop']) {
    const sectionLine = findLine(lines, (l) => new RegExp(`^\\s*"${section}"\\s*:`).test(l)) ?? 0;
    for (const [rawName, spec] of Object.entries(tomlTable(tomlTable(doc)?.[section]) ?? {})) {
      const version = tomlTable(spec)?.['version'];
      const pin = typeof version === 'string' ? /^==\s*(\S+)$/.exec(version)?.[1] : undefined;
      const name = normalisePyPIName(rawName);
      const line = findLine(lines, (l) => new RegExp(`^\\s*"${rawName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:`).test(l), sectionLine);
      declarations.push({ name, ...(pin ? { version: pin } : {}), requirement: pin ? `${rawName}==${pin}` : rawName, path: relative, line: line ?? 1 });
    }
  }
  return declarations;
}

/** Every declaration of one manifest. Unreadable content is a ToolFailureError naming `tool` and the file. */
export function readDeclarations(workspace: string, manifest: Manifest, tool = 'sca'): Declaration[] {
  if (manifest.kind === 'requirements') return requirementsDeclarations(workspace, manifest.path, tool, new Set());
  const text = readManifestText(workspace, manifest.path, tool);
  if (manifest.kind === 'pyproject') return pyprojectDeclarations(text, manifest.path, tool);
  if (manifest.kind === 'pipfile-lock') return pipfileLockDeclarations(text, manifest.path, tool);
  return tomlLockDeclarations(text, manifest.path, tool);
}

/**
 * The line that declares `name` (any spelling; PEP 503-normalised) in the first of `manifestPaths` that declares it,
 * following `-r` includes. A manifest that names the package nowhere is passed over; when none does, the first
 * manifest's path without a line, else undefined. Synchronous (parsers call it). Never throws: a location is a
 * convenience; an unreadable manifest is reported by the tool that audits it.
 */
export function locateDeclaration(workspace: string, manifestPaths: readonly string[], ecosystem: string, name: string): FindingLocation | undefined {
  if (ecosystem !== 'PyPI' || manifestPaths.length === 0) return manifestPaths[0] ? { path: manifestPaths[0] } : undefined;
  const wanted = normalisePyPIName(name);
  for (const manifestPath of manifestPaths) {
    const kind = manifestKind(manifestPath);
    if (!kind) continue;
    try {
      const hit = (readDeclarations(workspace, { path: manifestPath, kind, ecosystem: 'PyPI' })).find((d) => d.name === wanted);
      if (hit) return { path: hit.path, startLine: hit.line, endLine: hit.line };
    } catch {
      // An unreadable manifest is reported by the tool that audits it; here it only gives no line.
    }
  }
  return { path: manifestPaths[0]! };
}
