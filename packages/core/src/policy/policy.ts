import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { minimatch } from 'minimatch';
import { stat } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigurationError } from '../errors.js';
import type { Severity, Threshold } from '../severity.js';
import { POLICY_SCHEMA } from './schema.js';
import { readRegularFile } from '../workspace.js';

export type NewOnlyMode = 'off' | 'baseline' | 'changed-lines';

export interface ExceptionEntry {
  fingerprint?: string;
  /** `B602` or `bandit:B602` (tool-qualified). */
  rule?: string;
  /** An advisory id (`CVE-…`, `GHSA-…`, `PYSEC-…`): matches a finding with that id among its aliases. */
  advisory?: string;
  /** Older synonym of `advisory`. */
  cve?: string;
  /** Only findings of this package (PEP 503 names for PyPI; globs allowed). */
  package?: string;
  paths?: string[];
  /**
   * A dependency (package name, globs allowed) a tool may leave unchecked (e.g. unknown to the
   * vulnerability service), or a workspace path (a file or folder, e.g. a Helm chart Checkov cannot
   * render). Allows nothing else: such an entry never suppresses a finding.
   */
  unaudited?: string;
  reason: string;
  owner: string;
  /** `YYYY-MM-DD`; the entry suppresses up to and including that day (UTC). */
  expires: string;
}

export interface ToolSettings {
  version?: string;
  sha256?: string;
  'allow-unverified'?: boolean;
  'timeout-minutes'?: number;
  enabled?: boolean;
}

/**
 * A stricter gate for some packages ("a critical vulnerability in TensorFlow blocks the build"):
 * a finding of a listed package blocks at the stricter of this `fail-on` and the global one.
 */
export interface PackageRule {
  /** Package names or globs (`tensorflow*`); PyPI names compare PEP 503-normalised. */
  packages: string[];
  'fail-on': Severity;
  /** Only this ecosystem (`PyPI`, `npm`, …; case-insensitive); default every ecosystem. */
  ecosystem?: string;
}

/** The validated content of `.secgate.yml`. */
export interface PolicyFile {
  version?: 1;
  'fail-on'?: Threshold;
  'package-policy'?: PackageRule[];
  'ignore-unfixed'?: boolean;
  'unknown-severity'?: Severity;
  'report-severity'?: Severity;
  'new-only'?: NewOnlyMode;
  baseline?: string;
  exclude?: string[];
  tools?: Record<string, ToolSettings>;
  exceptions?: ExceptionEntry[];
}

// strictRequired is off because the anyOf branches name properties declared one level up.
let validator: ValidateFunction<PolicyFile> | undefined;
function getValidator(): ValidateFunction<PolicyFile> {
  validator ??= new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile<PolicyFile>(POLICY_SCHEMA);
  return validator;
}

export const DEFAULT_POLICY_FILE = '.secgate.yml';
/** A policy file is a few hundred lines; anything bigger is refused before parsing. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** Reads and validates a policy file. Missing file → undefined (only when `required` is false). */
export async function loadPolicyFile(file: string, required: boolean): Promise<PolicyFile | undefined> {
  let text: string;
  try {
    text = await readRegularFile(file, file, 'config', { maxBytes: MAX_POLICY_BYTES });
  } catch (error) {
    if (!required && (await stat(file).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT'))) return undefined;
    throw error;
  }
  return parsePolicy(text, file);
}

/** A parsed policy with the line of each key, for errors and for annotating relaxations. */
export interface PolicyDocument {
  policy: PolicyFile;
  /** 1-based line of the node at a key path (e.g. `['exceptions', 2, 'paths']`); undefined when absent. */
  lineOf(keyPath: readonly (string | number)[]): number | undefined;
}

export function parsePolicy(text: string, file: string): PolicyFile {
  return parsePolicyDocument(text, file).policy;
}

/**
 * Parses and validates policy text. Every error names the file and a position, never the text at
 * it: the file may not be what it claims to be, and messages end up in public logs.
 */
export function parsePolicyDocument(text: string, file: string): PolicyDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const lineOf = (keyPath: readonly (string | number)[]): number | undefined => {
    const node = (keyPath.length === 0 ? doc.contents : doc.getIn(keyPath, true)) as { range?: [number, number, number] } | null | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const at = first.linePos ? `:${first.linePos[0].line}:${first.linePos[0].col}` : '';
    throw new ConfigurationError(`${file}${at}: invalid YAML (${first.code.toLowerCase().replace(/_/g, ' ')})`, 'config');
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    // The yaml library's own messages quote anchor names; name the problem instead.
    const reason = /Excessive alias count/.test((error as Error).message)
      ? 'too many alias expansions (an alias bomb?)'
      : error instanceof RangeError
        ? 'nested too deeply'
        : 'an alias that cannot be resolved';
    throw new ConfigurationError(`${file}: invalid YAML (${reason})`, 'config');
  }
  const validate = getValidator();
  if (!validate(value)) {
    const messages = (validate.errors ?? []).filter(relevant).map((error) => {
      const line = lineOf(pathSegments(error));
      return `${file}${line ? `:${line}` : ''}: ${errorKeyPath(error) || '(top level)'}: ${describe(error)}`;
    });
    throw new ConfigurationError(`invalid policy file:\n  ${[...new Set(messages)].slice(0, 20).join('\n  ')}`, 'config');
  }
  return { policy: value, lineOf };
}

// anyOf failures repeat each branch's "required" error; keep one readable line instead.
function relevant(error: ErrorObject, _i: number, all: ErrorObject[]): boolean {
  if (error.keyword === 'required' && error.schemaPath.includes('anyOf')) return false;
  if (error.keyword === 'anyOf') return true;
  return !(error.keyword === 'if') && all.length > 0;
}

function pathSegments(error: ErrorObject): (string | number)[] {
  const segments = error.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  if (error.keyword === 'additionalProperties') segments.push(String(error.params['additionalProperty']));
  return segments;
}

function errorKeyPath(error: ErrorObject): string {
  // Keys come from the file: shown, but kept short.
  const short = (key: string): string => (key.length > 60 ? `${key.slice(0, 59)}…` : key);
  return pathSegments(error).reduce<string>(
    (acc, segment) => (typeof segment === 'number' ? `${acc}[${segment}]` : acc ? `${acc}.${short(segment)}` : short(segment)),
    ''
  );
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'unknown key';
    case 'enum':
      return `must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}`;
    case 'anyOf':
      return 'needs one of fingerprint, rule, advisory, cve or unaudited';
    case 'not':
      return 'unaudited allows an unchecked dependency or path only: it cannot be combined with fingerprint, rule, advisory, cve, package or paths';
    case 'pattern':
      if (error.instancePath.endsWith('/expires')) return 'must be a date YYYY-MM-DD';
      if (error.instancePath.endsWith('/advisory')) return 'must be an advisory id such as CVE-2020-14343, GHSA-8q59-q68h-6hv4 or PYSEC-2021-142';
      return `${error.message}`;
    default:
      return error.message ?? error.keyword;
  }
}

/**
 * A package name as its ecosystem compares it: PyPI names are PEP 503-normalised (lower-case,
 * runs of `-`, `_`, `.` become one `-`), so `PyYAML`, `pyyaml` and `py_yaml` are one package;
 * other ecosystems compare names exactly.
 */
export function normalisePackageName(name: string, ecosystem: string | undefined): string {
  return isPyPI(ecosystem) ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

function isPyPI(ecosystem: string | undefined): boolean {
  return ecosystem?.toLowerCase() === 'pypi';
}

/**
 * True when `pattern` (a name or a glob such as `tensorflow*`) names the package, both compared as
 * the package's ecosystem compares names (a rule written `PyYAML` matches the PyPI package `pyyaml`).
 */
export function packagePatternMatches(pattern: string, name: string, ecosystem: string | undefined): boolean {
  const normalisedName = normalisePackageName(name, ecosystem);
  // Glob characters survive normalisation: `-`, `_` and `.` are not glob syntax.
  const normalisedPattern = normalisePackageName(pattern, ecosystem);
  if (normalisedPattern === normalisedName) return true;
  return /[*?[\]]/.test(normalisedPattern) && minimatch(normalisedName, normalisedPattern, { dot: true, nocomment: true, nonegate: true });
}
