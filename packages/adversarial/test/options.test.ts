/**
 * The adversarial stage's option readers: defaults, ranges, workspace files, and the key — refused
 * where it would split a header or sit in another input, handed to tools only through the env.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError } from '@secgate/core';
import {
  CLASSIFIER_DEFAULTS,
  TARGET_API_KEY_ENV,
  apiKeyEnv,
  assertKeyOnlyInApiKey,
  displayUrl,
  readApiKey,
  readBaselineSetting,
  readClassifierGate,
  readClassifierSettings,
  readConcurrency,
  readEpsilon,
  readInputRange,
  readMaxQueries,
  readMode,
  readProfile,
  readRateLimit,
  readRequestTemplate,
  readResponsePath,
  readSeed,
  readTarget
} from '../src/options.js';

const ATTACKS = ['hopskipjump', 'square', 'fgsm', 'pgd'];

function configError(run: () => unknown, key: string): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe(key);
    return error as ConfigurationError;
  }
  throw new Error(`expected a ConfigurationError for ${key}`);
}

async function asyncConfigError(run: () => Promise<unknown>, key: string): Promise<ConfigurationError> {
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  expect((error as ConfigurationError).key).toBe(key);
  return error as ConfigurationError;
}

describe('shared readers', () => {
  it('mode is required and one of classifier, llm, api', () => {
    expect(readMode({ mode: ' Classifier ' })).toBe('classifier');
    expect(readMode({ mode: 'llm' })).toBe('llm');
    expect(configError(() => readMode({}), 'mode').message).toContain('required');
    expect(configError(() => readMode({ mode: 'vision' }), 'mode').message).toContain("'vision' is not one of classifier, llm, api");
  });

  it('profile defaults to fast; deep is accepted; others refused', () => {
    expect(readProfile({})).toBe('fast');
    expect(readProfile({ profile: 'DEEP' })).toBe('deep');
    configError(() => readProfile({ profile: 'quick' }), 'profile');
  });

  it('concurrency 1–64 (default 4), seed default 42, rate-limit optional and positive', () => {
    expect([readConcurrency({}), readConcurrency({ concurrency: '16' })]).toEqual([4, 16]);
    for (const bad of ['0', '65', '2.5', '-1', 'four']) configError(() => readConcurrency({ concurrency: bad }), 'concurrency');
    expect([readSeed({}), readSeed({ seed: '7' })]).toEqual([42, 7]);
    configError(() => readSeed({ seed: '-3' }), 'seed');
    expect([readRateLimit({}), readRateLimit({ 'rate-limit': '2.5' })]).toEqual([undefined, 2.5]);
    for (const bad of ['0', '-1', 'fast', 'Infinity']) configError(() => readRateLimit({ 'rate-limit': bad }), 'rate-limit');
  });

  it('max-queries: the caller default, or a whole number ≥ 1', () => {
    expect(readMaxQueries({}, 500)).toBe(500);
    expect(readMaxQueries({ 'max-queries': '20000' }, 500)).toBe(20000);
    for (const bad of ['0', '1e4', '10.5', 'lots']) configError(() => readMaxQueries({ 'max-queries': bad }, 500), 'max-queries');
  });

  it('target: http(s) only, no credentials in it, the query values never shown', () => {
    expect(readTarget({ target: 'http://127.0.0.1:8080/predict' }).toString()).toBe('http://127.0.0.1:8080/predict');
    configError(() => readTarget({}), 'target');
    configError(() => readTarget({ target: 'not a url' }), 'target');
    expect(configError(() => readTarget({ target: 'ftp://host/x' }), 'target').message).toContain('not an http(s) URL');
    const withPassword = configError(() => readTarget({ target: 'https://user:hunter2secret@host/predict' }), 'target');
    expect(withPassword.message).not.toContain('hunter2secret');
    expect(withPassword.message).toContain('api-key');
    expect(displayUrl(new URL('https://host/v1/predict?key=abcdef123456&model=m#frag'))).toBe('https://host/v1/predict?key=…&model=…');
  });

  it('api-key: Authorization Bearer by default, any other header raw; control characters refused without showing the key', () => {
    expect(readApiKey({})).toBeUndefined();
    expect(readApiKey({ 'api-key': 'sk-test-123456' })).toEqual({ key: 'sk-test-123456', header: 'Authorization', bearer: true });
    expect(readApiKey({ 'api-key': 'k-123456', 'api-key-header': 'X-API-Key' })).toEqual({ key: 'k-123456', header: 'X-API-Key', bearer: false });
    configError(() => readApiKey({ 'api-key': 'k', 'api-key-header': 'X Bad: header' }), 'api-key-header');
    const split = configError(() => readApiKey({ 'api-key': 'sk-abc\r\nX-Evil: 1' }), 'api-key');
    expect(split.message).not.toContain('sk-abc');
  });

  it('the key goes to tools only as SECGATE_TARGET_API_KEY, and no other input may hold it', () => {
    const key = readApiKey({ 'api-key': 'sk-planted-0123456789' });
    expect(apiKeyEnv(key)).toEqual({ [TARGET_API_KEY_ENV]: 'sk-planted-0123456789' });
    expect(apiKeyEnv(undefined)).toEqual({});
    const options = { 'api-key': 'sk-planted-0123456789', 'request-template': '{"key": "sk-planted-0123456789", "instances": $INSTANCES}' };
    const error = configError(() => assertKeyOnlyInApiKey(options, key), 'request-template');
    expect(error.message).not.toContain('sk-planted');
    expect(() => assertKeyOnlyInApiKey({ 'api-key': 'sk-planted-0123456789', target: 'http://h/p' }, key)).not.toThrow();
  });
});

describe('classifier readers', () => {
  it('request-template: JSON with $INSTANCES once (as a bare list), TF Serving shape by default', () => {
    expect(readRequestTemplate({}, '$INSTANCES', CLASSIFIER_DEFAULTS.requestTemplate)).toBe('{"instances": $INSTANCES}');
    expect(readRequestTemplate({ 'request-template': '{"inputs": {"x": $INSTANCES}}' }, '$INSTANCES', '')).toBe('{"inputs": {"x": $INSTANCES}}');
    expect(configError(() => readRequestTemplate({ 'request-template': '{"instances": []}' }, '$INSTANCES', ''), 'request-template').message).toContain('found 0');
    configError(() => readRequestTemplate({ 'request-template': '{"a": $INSTANCES, "b": $INSTANCES}' }, '$INSTANCES', ''), 'request-template');
    expect(configError(() => readRequestTemplate({ 'request-template': '{"instances": "$INSTANCES"' }, '$INSTANCES', ''), 'request-template').message).toContain('not JSON');
  });

  it('response-path must be a JSONPath from the root', () => {
    expect(readResponsePath({}, CLASSIFIER_DEFAULTS.responsePath)).toBe('$.predictions[*]');
    expect(readResponsePath({ 'response-path': '$.predictions[*].probabilities' }, '')).toBe('$.predictions[*].probabilities');
    configError(() => readResponsePath({ 'response-path': 'predictions' }, ''), 'response-path');
  });

  it('input-range low,high with low < high (default 0,1); epsilon defaults to a tenth of it for L∞ only', () => {
    expect(readInputRange({})).toEqual([0, 1]);
    expect(readInputRange({ 'input-range': '0, 255' })).toEqual([0, 255]);
    for (const bad of ['1,0', '0', '0,1,2', 'a,b']) configError(() => readInputRange({ 'input-range': bad }), 'input-range');
    expect(readEpsilon({}, 'inf', [0, 1])).toBe(0.1);
    expect(readEpsilon({}, 'inf', [0, 255])).toBe(25.5);
    expect(readEpsilon({ epsilon: '0.05' }, 'inf', [0, 1])).toBe(0.05);
    configError(() => readEpsilon({ epsilon: '2' }, 'inf', [0, 1]), 'epsilon');
    configError(() => readEpsilon({ epsilon: '0' }, 'inf', [0, 1]), 'epsilon');
    expect(configError(() => readEpsilon({}, '2', [0, 1]), 'epsilon').message).toContain('required with norm 2');
    expect(readEpsilon({ epsilon: '1.5' }, '2', [0, 1])).toBe(1.5);
  });

  it('gate: min-clean-accuracy 0.5 and min-robust-accuracy 0.7 by default; either attack bar alone replaces the default', () => {
    expect(readClassifierGate({})).toEqual({ minCleanAccuracy: 0.5, minRobustAccuracy: 0.7 });
    expect(readClassifierGate({ 'max-attack-success-rate': '0.2' })).toEqual({ minCleanAccuracy: 0.5, minRobustAccuracy: undefined, maxAttackSuccessRate: 0.2 });
    expect(readClassifierGate({ 'min-robust-accuracy': '0.6', 'max-attack-success-rate': '0.3', 'min-clean-accuracy': '0.9' })).toEqual({
      minCleanAccuracy: 0.9,
      minRobustAccuracy: 0.6,
      maxAttackSuccessRate: 0.3
    });
    for (const key of ['min-robust-accuracy', 'max-attack-success-rate', 'min-clean-accuracy']) {
      configError(() => readClassifierGate({ [key]: '1.2' }), key);
      configError(() => readClassifierGate({ [key]: '70%' }), key);
    }
  });
});

describe('workspace files (eval-data, model-file, baseline-report)', () => {
  let workspace: string;
  let outside: string;
  beforeAll(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'adv-options-'));
    outside = await mkdtemp(path.join(os.tmpdir(), 'adv-outside-'));
    await mkdir(path.join(workspace, 'data'));
    await writeFile(path.join(workspace, 'data', 'eval.npz'), 'x');
    await writeFile(path.join(workspace, 'data', 'eval.txt'), 'x');
    await writeFile(path.join(workspace, 'model.onnx'), 'x');
    await writeFile(path.join(workspace, 'previous.json'), '{}');
    await writeFile(path.join(outside, 'eval.csv'), '1,0');
    await symlink(path.join(outside, 'eval.csv'), path.join(workspace, 'data', 'linked.csv'));
  });
  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const base = { mode: 'classifier', target: 'http://127.0.0.1:9/predict', 'eval-data': 'data/eval.npz' };

  it('reads every classifier setting with its defaults, files as absolute paths inside the workspace', async () => {
    const settings = await readClassifierSettings({ workspace, options: base }, ATTACKS);
    expect(settings).toEqual({
      target: new URL('http://127.0.0.1:9/predict'),
      profile: 'fast',
      seed: 42,
      maxQueries: 20_000,
      concurrency: 4,
      evalData: path.join(workspace, 'data', 'eval.npz'),
      requestTemplate: '{"instances": $INSTANCES}',
      responsePath: '$.predictions[*]',
      inputRange: [0, 1],
      norm: 'inf',
      epsilon: 0.1,
      attacks: [],
      samples: 40,
      gate: { minCleanAccuracy: 0.5, minRobustAccuracy: 0.7 }
    });
    const deep = await readClassifierSettings(
      { workspace, options: { ...base, profile: 'deep', 'model-file': 'model.onnx', attacks: 'HopSkipJump, pgd,pgd', 'rate-limit': '50', norm: '2', epsilon: '1' } },
      ATTACKS
    );
    expect(deep).toMatchObject({ maxQueries: 200_000, samples: 200, modelFile: path.join(workspace, 'model.onnx'), attacks: ['hopskipjump', 'pgd'], rateLimit: 50, norm: '2', epsilon: 1 });
  });

  it('refuses a missing eval-data, a wrong extension, a file outside the workspace (symlink), an unknown attack', async () => {
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'eval-data': '' } }, ATTACKS), 'eval-data');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'eval-data': 'data/missing.npz' } }, ATTACKS), 'eval-data');
    expect((await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'eval-data': 'data/eval.txt' } }, ATTACKS), 'eval-data')).message).toContain('.npz or .csv');
    expect((await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'eval-data': 'data/linked.csv' } }, ATTACKS), 'eval-data')).message).toContain('outside the workspace');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'eval-data': '../x.npz' } }, ATTACKS), 'eval-data');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, 'model-file': 'data/eval.npz' } }, ATTACKS), 'model-file');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, attacks: 'hopskipjump,carlini' } }, ATTACKS), 'attacks');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, samples: '0' } }, ATTACKS), 'samples');
    await asyncConfigError(() => readClassifierSettings({ workspace, options: { ...base, norm: '1' } }, ATTACKS), 'norm');
  });

  it('baseline-report: a .json in the workspace, regression-margin 0–1 (default 0.05)', async () => {
    expect(await readBaselineSetting({ workspace, options: {} })).toBeUndefined();
    expect(await readBaselineSetting({ workspace, options: { 'baseline-report': 'previous.json' } })).toEqual({ file: path.join(workspace, 'previous.json'), input: 'previous.json', margin: 0.05 });
    expect(await readBaselineSetting({ workspace, options: { 'baseline-report': 'previous.json', 'regression-margin': '0.1' } })).toMatchObject({ margin: 0.1 });
    await asyncConfigError(() => readBaselineSetting({ workspace, options: { 'baseline-report': 'previous.json', 'regression-margin': '5' } }), 'regression-margin');
    await asyncConfigError(() => readBaselineSetting({ workspace, options: { 'baseline-report': 'nothing.json' } }), 'baseline-report');
    await asyncConfigError(() => readBaselineSetting({ workspace, options: { 'baseline-report': 'model.onnx' } }), 'baseline-report');
  });
});
