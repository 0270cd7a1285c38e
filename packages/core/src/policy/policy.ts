import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigurationError } from '../errors.js';
import type { Severity, Threshold } from '../severity.js';
import { POLICY_SCHEMA } from './schema.js';

export type NewOnlyMode = 'off' | 'baseline' | 'changed-lines';

export interface ExceptionEntry {
  fingerprint?: string;
  /** `B602` or `bandit:B602` (tool-qualified). */
  rule?: string;
  cve?: string;
  paths?: string[];
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

/** The validated content of `.secgate.yml`. */
export interface PolicyFile {
  version?: 1;
  'fail-on'?: Threshold;
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

/** Reads and validates a policy file. Missing file → undefined (only when `required` is false). */
export async function loadPolicyFile(file: string, required: boolean): Promise<PolicyFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new ConfigurationError(`cannot read policy file ${file}: ${(error as Error).message}`, 'config');
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, file: string): PolicyFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new ConfigurationError(`${file}: invalid YAML: ${first.message.split('\n')[0]}`, 'config');
  }
  const value: unknown = doc.toJS() ?? {};
  const validate = getValidator();
  if (!validate(value)) {
    const messages = (validate.errors ?? []).filter(relevant).map((error) => {
      const keyPath = errorKeyPath(error);
      const node = doc.getIn(pathSegments(error), true) as { range?: [number, number] } | undefined;
      const line = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
      return `${file}${line}: ${keyPath || '(top level)'}: ${describe(error)}`;
    });
    throw new ConfigurationError(`invalid policy file:\n  ${[...new Set(messages)].join('\n  ')}`, 'config');
  }
  return value;
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
  return pathSegments(error).reduce<string>(
    (acc, segment) => (typeof segment === 'number' ? `${acc}[${segment}]` : acc ? `${acc}.${segment}` : segment),
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
      return 'needs one of fingerprint, rule or cve';
    case 'pattern':
      return error.instancePath.endsWith('/expires') ? 'must be a date YYYY-MM-DD' : `${error.message}`;
    default:
      return error.message ?? error.keyword;
  }
}
