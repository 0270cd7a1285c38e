/**
 * The adversarial stage's options (context.options keys), read and validated in one place. Every
 * adapter of the stage reads its settings through these functions, so a bad value is the same
 * ConfigurationError (naming the input) whichever tool meets it first. Other adapters' helpers may
 * add readers of their own here.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, parseList, WorkspaceBoundary, type ToolContext } from '@secgate/core';

type Options = Readonly<Record<string, string>>;

/** What the stage attacks (`mode` input); each tool runs in one mode and is not applicable in the others. */
export const MODES = ['classifier', 'llm', 'api'] as const;
export type Mode = (typeof MODES)[number];

/** `profile`: `fast` (default, minutes on a CPU runner, e.g. on pull requests) or `deep` (nightly). */
export const PROFILES = ['fast', 'deep'] as const;
export type Profile = (typeof PROFILES)[number];

/**
 * The environment variable that carries `api-key` to a tool. The key reaches tools only this way:
 * never in argv, never in a file on disk (tool configs name the variable).
 */
export const TARGET_API_KEY_ENV = 'SECGATE_TARGET_API_KEY';

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_SEED = 42;
export const DEFAULT_REGRESSION_MARGIN = 0.05;
export const DEFAULT_API_KEY_HEADER = 'Authorization';

/** The option's trimmed value, undefined when absent or blank. */
function given(options: Options, key: string): string | undefined {
  const value = (options[key] ?? '').trim();
  return value === '' ? undefined : value;
}

/** A value quoted in an error message: one line, at most 80 characters. */
function quote(value: string): string {
  const line = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `'${line.length > 80 ? `${line.slice(0, 80)}…` : line}'`;
}

function oneOf<T extends string>(options: Options, key: string, words: readonly T[], fallback: T | undefined): T {
  const value = given(options, key)?.toLowerCase();
  if (value === undefined) {
    if (fallback === undefined) throw new ConfigurationError(`is required: one of ${words.join(', ')}`, key);
    return fallback;
  }
  if (!(words as readonly string[]).includes(value)) throw new ConfigurationError(`${quote(value)} is not one of ${words.join(', ')}`, key);
  return value as T;
}

/** `mode`: classifier | llm | api. Required: without it no tool knows what it attacks. */
export function readMode(options: Options): Mode {
  return oneOf(options, 'mode', MODES, undefined);
}

/** `profile`: fast (default) | deep. */
export function readProfile(options: Options): Profile {
  return oneOf(options, 'profile', PROFILES, 'fast');
}

/** A decimal number as written by a person (`0.1`, `.5`, `2`, `1e-3`); anything else is NaN. */
function decimal(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : Number.NaN;
}

/** An integer option in [min, max], or `fallback` when not given. */
export function readInteger(options: Options, key: string, min: number, max: number, fallback: number): number;
export function readInteger(options: Options, key: string, min: number, max: number, fallback?: number): number | undefined;
export function readInteger(options: Options, key: string, min: number, max: number, fallback?: number): number | undefined {
  const text = given(options, key);
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ConfigurationError(`${quote(text)} is not a whole number from ${min} to ${max}`, key);
  return value;
}

/** A fraction option in [0, 1] (accuracies, rates, margins), or `fallback` when not given. */
export function readFraction(options: Options, key: string, fallback: number): number;
export function readFraction(options: Options, key: string, fallback?: number): number | undefined;
export function readFraction(options: Options, key: string, fallback?: number): number | undefined {
  const text = given(options, key);
  if (text === undefined) return fallback;
  const value = decimal(text);
  if (!(value >= 0 && value <= 1)) throw new ConfigurationError(`${quote(text)} is not a number from 0 to 1`, key);
  return value;
}

/** A positive number option (ε, requests per second), or undefined when not given. */
function readPositive(options: Options, key: string, max: number): number | undefined {
  const text = given(options, key);
  if (text === undefined) return undefined;
  const value = decimal(text);
  if (!(value > 0 && value <= max)) throw new ConfigurationError(`${quote(text)} is not a number above 0 and at most ${max}`, key);
  return value;
}

/** `concurrency`: parallel requests to the target, 1–64 (default 4). */
export function readConcurrency(options: Options): number {
  return readInteger(options, 'concurrency', 1, 64, DEFAULT_CONCURRENCY);
}

/** `rate-limit`: requests per second to the target (up to 10,000); undefined = no limit (default). */
export function readRateLimit(options: Options): number | undefined {
  return readPositive(options, 'rate-limit', 10_000);
}

/** `seed`: 0 – 2³²−1 (default 42), for the tools' random number generators. */
export function readSeed(options: Options): number {
  return readInteger(options, 'seed', 0, 2 ** 32 - 1, DEFAULT_SEED);
}

/**
 * `max-queries`: the hard budget on model evaluations (classifier: one instance scored; llm: one
 * request), 1 – 10⁹. Its default depends on the mode and profile, so the caller gives it.
 */
export function readMaxQueries(options: Options, fallback: number): number {
  return readInteger(options, 'max-queries', 1, 1_000_000_000, fallback);
}

/** The URL without user information, query values or fragment: safe to print. */
export function displayUrl(url: URL): string {
  const shown = new URL(url.toString());
  shown.username = '';
  shown.password = '';
  shown.hash = '';
  // Query values are where endpoints take keys (`?key=...`); the names are enough to recognise it.
  const names = [...shown.searchParams.keys()];
  shown.search = '';
  return `${shown.toString()}${names.length > 0 ? `?${names.map((name) => `${encodeURIComponent(name)}=…`).join('&')}` : ''}`;
}

/**
 * `target`: the endpoint, an http(s) URL. Credentials in it are refused (they would reach tool
 * configs on disk and logs): the key goes in `api-key`. Error messages never repeat the URL whole.
 */
export function readTarget(options: Options): URL {
  const text = given(options, 'target');
  if (text === undefined) throw new ConfigurationError('is required: the URL of the endpoint to attack', 'target');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError('is not a URL', 'target');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigurationError(`is not an http(s) URL (${url.protocol.replace(/:$/, '')})`, 'target');
  if (url.username || url.password) throw new ConfigurationError(`${quote(displayUrl(url))} must not carry credentials: pass the key in api-key`, 'target');
  return url;
}

/** The key and how it is sent: `Authorization: Bearer <key>` by default, the raw key in any other header. */
export interface ApiKey {
  key: string;
  header: string;
  /** True when the header is `Authorization`: the value is `Bearer <key>`. */
  bearer: boolean;
}

/** RFC 9110 token characters: a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/**
 * `api-key` (a secret) and `api-key-header`. undefined when no key is given (an open endpoint).
 * A key with line breaks or control characters is refused (it would split an HTTP header); the
 * message never shows the key.
 */
export function readApiKey(options: Options): ApiKey | undefined {
  const header = given(options, 'api-key-header') ?? DEFAULT_API_KEY_HEADER;
  if (!HEADER_NAME.test(header)) throw new ConfigurationError(`${quote(header)} is not an HTTP header name`, 'api-key-header');
  const key = (options['api-key'] ?? '').trim();
  if (key === '') return undefined;
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new ConfigurationError('holds a line break or control character (not shown): it cannot be sent in an HTTP header', 'api-key');
  return { key, header, bearer: header.toLowerCase() === 'authorization' };
}

/** The environment that hands the key to a tool (ToolInvocation.env): empty without a key. */
export function apiKeyEnv(apiKey: ApiKey | undefined): Record<string, string> {
  return apiKey ? { [TARGET_API_KEY_ENV]: apiKey.key } : {};
}

/** Options whose value is the key by design; any other option holding it would put it on disk or in argv. */
const KEY_INPUTS = new Set(['api-key']);

/**
 * Refuses a run where another input holds the key (pasted into `request-template` or `target`):
 * tool configs are written to disk and the key must never be. Keys shorter than 6 characters are
 * not looked for (they would match ordinary text).
 */
export function assertKeyOnlyInApiKey(options: Options, apiKey: ApiKey | undefined): void {
  if (!apiKey || apiKey.key.length < 6) return;
  for (const [name, value] of Object.entries(options)) {
    if (!KEY_INPUTS.has(name) && value.includes(apiKey.key)) {
      throw new ConfigurationError('holds the api-key value (not shown); tools get the key only through an environment variable, so pass it in api-key alone', name);
    }
  }
}

/** `baseline-report` and `regression-margin`: compare this run's metrics with a previous report's. */
export interface BaselineSetting {
  /** Absolute path, inside the workspace. */
  file: string;
  /** As given, for messages. */
  input: string;
  margin: number;
}

/**
 * `baseline-report`: a previous secgate JSON report in the workspace; `regression-margin` (default
 * 0.05): how far a metric may move in its bad direction before it counts as a regression. undefined
 * without a baseline (a margin alone is accepted and unused).
 */
export async function readBaselineSetting(context: Pick<ToolContext, 'workspace' | 'options'>): Promise<BaselineSetting | undefined> {
  const margin = readFraction(context.options, 'regression-margin', DEFAULT_REGRESSION_MARGIN);
  const input = given(context.options, 'baseline-report');
  if (input === undefined) return undefined;
  return { file: await workspaceFile(context, 'baseline-report', input, ['.json']), input, margin };
}

/**
 * A workspace file named by an input: must resolve (real path) inside the workspace, exist, be a
 * regular file and end with one of `extensions`. Returns its absolute path.
 */
export async function workspaceFile(context: Pick<ToolContext, 'workspace'>, key: string, input: string, extensions: readonly string[]): Promise<string> {
  const boundary = await WorkspaceBoundary.open(context.workspace);
  const absolute = await boundary.resolveSetting(input, key);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new ConfigurationError(`${quote(input)} does not exist in the workspace`, key);
  if (!info.isFile()) throw new ConfigurationError(`${quote(input)} is not a regular file`, key);
  if (!extensions.some((extension) => absolute.toLowerCase().endsWith(extension))) {
    throw new ConfigurationError(`${quote(input)} is not a ${extensions.join(' or ')} file`, key);
  }
  return absolute;
}

// ---------------------------------------------------------------------------------------------
// mode: classifier

/** The ε norms the classifier runner bounds perturbations in (`norm` input). */
/** The engines of mode llm. */
export const LLM_ENGINES = ['garak', 'promptfoo'] as const;

/** `engines`: a subset of LLM_ENGINES (default both); an unknown name is a configuration error. */
export function readEngines(options: Options): string[] {
  const engines = parseList(options['engines']).map((engine) => engine.toLowerCase());
  const unknown = engines.find((engine) => !(LLM_ENGINES as readonly string[]).includes(engine));
  if (unknown !== undefined) throw new ConfigurationError(`${quote(unknown)} is not one of ${LLM_ENGINES.join(', ')}`, 'engines');
  return engines.length > 0 ? [...new Set(engines)] : [...LLM_ENGINES];
}

export const NORMS = ['inf', '2'] as const;
export type Norm = (typeof NORMS)[number];

/** Placeholder for the batch of inputs in `request-template` (classifier mode). */
export const INSTANCES_PLACEHOLDER = '$INSTANCES';

/**
 * Defaults of the classifier inputs. The request and response shapes default to TensorFlow
 * Serving's REST API (`{"instances": [...]}` → `{"predictions": [...]}`), the de-facto shape.
 */
export const CLASSIFIER_DEFAULTS = {
  requestTemplate: '{"instances": $INSTANCES}',
  responsePath: '$.predictions[*]',
  inputRange: [0, 1] as [number, number],
  norm: 'inf' as Norm,
  /** ε for norm inf, as a share of the input range (0.1 on `0,1`). No default for norm 2: it scales with the input size. */
  epsilonShareInf: 0.1,
  samples: { fast: 40, deep: 200 },
  maxQueries: { fast: 20_000, deep: 200_000 },
  /** A broken endpoint (or wrong labels) must never pass: below this clean accuracy the run fails. */
  minCleanAccuracy: 0.5,
  /** Used when neither `min-robust-accuracy` nor `max-attack-success-rate` is given. */
  minRobustAccuracy: 0.7
} as const;

/** Everything the classifier runner is told, except the key. */
export interface ClassifierSettings {
  target: URL;
  apiKey?: ApiKey;
  profile: Profile;
  seed: number;
  maxQueries: number;
  concurrency: number;
  rateLimit?: number;
  /** Absolute paths inside the workspace. */
  evalData: string;
  modelFile?: string;
  requestTemplate: string;
  responsePath: string;
  inputRange: [number, number];
  norm: Norm;
  epsilon: number;
  /** Attack names as the user gave them (lower-case); empty: the runner's choice by what the endpoint returns. */
  attacks: string[];
  samples: number;
  gate: ClassifierGate;
}

/** The bars a classifier run is held to. At least one of the two attack bars is always set. */
export interface ClassifierGate {
  minCleanAccuracy: number;
  minRobustAccuracy?: number;
  maxAttackSuccessRate?: number;
}

/** `request-template`: JSON once `placeholder` stands for a value; the placeholder must occur exactly once. */
export function readRequestTemplate(options: Options, placeholder: string, fallback: string): string {
  const template = given(options, 'request-template') ?? fallback;
  const occurrences = template.split(placeholder).length - 1;
  if (occurrences !== 1) throw new ConfigurationError(`must hold ${placeholder} exactly once (found ${occurrences})`, 'request-template');
  try {
    JSON.parse(template.replace(placeholder, placeholder === INSTANCES_PLACEHOLDER ? '[]' : '"x"'));
  } catch {
    throw new ConfigurationError(`is not JSON once ${placeholder} is replaced by a value (${placeholder === INSTANCES_PLACEHOLDER ? 'a list, so no quotes around it' : 'a JSON string, so no quotes around it'})`, 'request-template');
  }
  return template;
}

/** `response-path`: a JSONPath from the response root (`$...`); the tool checks the rest of its syntax. */
export function readResponsePath(options: Options, fallback: string): string {
  const value = given(options, 'response-path') ?? fallback;
  if (!value.startsWith('$') || value.length > 500 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ConfigurationError(`${quote(value)} is not a JSONPath from the response root (e.g. $.predictions[*].probabilities)`, 'response-path');
  }
  return value;
}

/** `input-range`: `low,high` clip range of the model's inputs (default `0,1`). */
export function readInputRange(options: Options): [number, number] {
  const text = given(options, 'input-range');
  if (text === undefined) return [...CLASSIFIER_DEFAULTS.inputRange];
  const parts = text.split(',').map((part) => decimal(part.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! < parts[1]!)) {
    throw new ConfigurationError(`${quote(text)} is not 'low,high' with low < high (e.g. 0,1)`, 'input-range');
  }
  return [parts[0]!, parts[1]!];
}

/**
 * `epsilon`: the perturbation bound, in input units. Default for norm inf: a tenth of the input
 * range; norm 2 has none (the L2 size of a perturbation grows with the number of features).
 */
export function readEpsilon(options: Options, norm: Norm, inputRange: [number, number]): number {
  const width = inputRange[1] - inputRange[0];
  const epsilon = readPositive(options, 'epsilon', norm === 'inf' ? width : Number.MAX_VALUE);
  if (epsilon !== undefined) return epsilon;
  if (norm === '2') throw new ConfigurationError('is required with norm 2 (an L2 bound depends on the number of features; e.g. 1.0 for 64 features in 0..1)', 'epsilon');
  return Number((width * CLASSIFIER_DEFAULTS.epsilonShareInf).toPrecision(12));
}

/**
 * The gate of a classifier run. `min-clean-accuracy` defaults to 0.5; when neither attack bar is
 * given, `min-robust-accuracy` defaults to 0.7 (at least 70 % of correctly classified inputs survive
 * the attack at ε).
 */
export function readClassifierGate(options: Options): ClassifierGate {
  const minRobustAccuracy = readFraction(options, 'min-robust-accuracy');
  const maxAttackSuccessRate = readFraction(options, 'max-attack-success-rate');
  return {
    minCleanAccuracy: readFraction(options, 'min-clean-accuracy', CLASSIFIER_DEFAULTS.minCleanAccuracy),
    ...(minRobustAccuracy === undefined && maxAttackSuccessRate === undefined
      ? { minRobustAccuracy: CLASSIFIER_DEFAULTS.minRobustAccuracy }
      : { minRobustAccuracy, maxAttackSuccessRate })
  };
}

/**
 * Every classifier input, validated: files resolved in the workspace, numbers in range, the key
 * nowhere but in `api-key`. `knownAttacks` are the attack names the runner accepts (lower-case).
 */
export async function readClassifierSettings(context: Pick<ToolContext, 'workspace' | 'options'>, knownAttacks: readonly string[]): Promise<ClassifierSettings> {
  const options = context.options;
  const apiKey = readApiKey(options);
  assertKeyOnlyInApiKey(options, apiKey);
  const profile = readProfile(options);
  const evalDataInput = given(options, 'eval-data');
  if (evalDataInput === undefined) throw new ConfigurationError('is required in mode classifier: a labelled evaluation set in the workspace (.npz with x and y, or .csv with the label last)', 'eval-data');
  const modelFileInput = given(options, 'model-file');
  const norm = oneOf(options, 'norm', NORMS, CLASSIFIER_DEFAULTS.norm);
  const inputRange = readInputRange(options);
  const attacks = parseList(options['attacks']).map((name) => name.toLowerCase());
  const unknown = attacks.find((name) => !knownAttacks.includes(name));
  if (unknown !== undefined) throw new ConfigurationError(`${quote(unknown)} is not one of ${knownAttacks.join(', ')}`, 'attacks');
  return {
    target: readTarget(options),
    ...(apiKey ? { apiKey } : {}),
    profile,
    seed: readSeed(options),
    maxQueries: readMaxQueries(options, CLASSIFIER_DEFAULTS.maxQueries[profile]),
    concurrency: readConcurrency(options),
    ...(readRateLimit(options) !== undefined ? { rateLimit: readRateLimit(options) } : {}),
    evalData: await workspaceFile(context, 'eval-data', evalDataInput, ['.npz', '.csv']),
    ...(modelFileInput !== undefined ? { modelFile: await workspaceFile(context, 'model-file', modelFileInput, ['.onnx']) } : {}),
    requestTemplate: readRequestTemplate(options, INSTANCES_PLACEHOLDER, CLASSIFIER_DEFAULTS.requestTemplate),
    responsePath: readResponsePath(options, CLASSIFIER_DEFAULTS.responsePath),
    inputRange,
    norm,
    epsilon: readEpsilon(options, norm, inputRange),
    attacks: [...new Set(attacks)],
    samples: readInteger(options, 'samples', 1, 100_000, CLASSIFIER_DEFAULTS.samples[profile]),
    gate: readClassifierGate(options)
  };
}

/** Workspace-relative path with `/` of an absolute path inside it, for messages. */
export function workspaceRelative(workspace: string, absolute: string): string {
  return path.relative(workspace, absolute).split(path.sep).join('/');
}
