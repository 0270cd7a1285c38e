/**
 * The ART runner (packages/adversarial/runner/secgate_art.py), run for real: installed from its hash
 * lock (locks/art-1.20.1.txt) through the core installer, against loopback digit classifiers trained
 * here (test/helpers/classifier-models.py: a brittle MLP and a PGD-trained twin) served by
 * test/helpers/classifier-server.py, which counts every instance it receives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { MemoryLogger, ToolInstaller, errorMessage, type InstalledTool } from '@secgate/core';
import { runRaw, withCacheLock, type RawRun } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const ART_VERSION = '1.20.1';
const RUNNER = path.join(REPO_ROOT, 'packages', 'adversarial', 'runner', 'secgate_art.py');
const HELPERS = path.join(REPO_ROOT, 'test', 'helpers');
const KEY = 'sk-test-PLANTED-4f9c2e7a1b';
/** L-inf epsilon with the clearest brittle/robust gap for these models (measured, see the report). */
const EPS = 0.2;
const INSTANCES_TEMPLATE = '{"instances": $INSTANCES}';

interface AttackReport {
  id: string;
  name: string;
  access: string;
  attempted: number;
  succeeded: number;
  robust_correct: number;
  robust_accuracy: number | null;
  attack_success_rate: number | null;
  mean_confidence_drop: number | null;
  queries: number;
  status: string;
  error: string | null;
  examples: { index: number; true_label: number; clean_pred: number; adv_pred: number; perturbation: number }[];
}

interface RunnerReport {
  schema: string;
  response: string | null;
  samples: { requested: number; evaluated: number; correct: number };
  clean_accuracy: number | null;
  budget: { max_queries: number; used: number; exhausted: boolean };
  attacks: AttackReport[];
  http: { requests: number; instances: number; retries: number; errors: Record<string, number> };
  errors: { kind: string; message: string }[];
}

interface Server {
  url: string;
  count: () => Promise<number>;
  stop: () => void;
}

let tool: InstalledTool | undefined;
let root: string;
const servers: ChildProcess[] = [];
const savedCache = process.env['RUNNER_TOOL_CACHE'];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-art-runner-'));
  const installer = new ToolInstaller({ logger: new MemoryLogger() });
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  try {
    tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () =>
      installer.install({ kind: 'python', tool: 'art', distribution: 'adversarial-robustness-toolbox', module: '', defaultVersion: ART_VERSION })
    );
  } catch (error) {
    requireTool(false, `ART runner venv (install failed: ${errorMessage(error)})`);
    return;
  }
  const trained = await runRaw(tool.command, [path.join(HELPERS, 'classifier-models.py'), path.join(root, 'models')], root);
  if (trained.code !== 0) throw new Error(`training failed: ${trained.stderr}`);
  const accuracy = JSON.parse(trained.stdout.trim().split('\n').pop()!) as { clean_accuracy: Record<string, number> };
  expect(accuracy.clean_accuracy['brittle']).toBeGreaterThanOrEqual(0.9);
  expect(accuracy.clean_accuracy['robust']).toBeGreaterThanOrEqual(0.9);
}, 20 * 60_000);

afterAll(async () => {
  for (const server of servers) if (server.exitCode === null) server.kill();
  if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
  else process.env['RUNNER_TOOL_CACHE'] = savedCache;
  if (root) await rm(root, { recursive: true, force: true });
});

async function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(tool!.command, [path.join(HELPERS, 'classifier-server.py'), '--idle-seconds', '120', '--max-requests', '200000', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  servers.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`classifier server exited ${code}`)));
  });
  const base = `http://127.0.0.1:${Number(line)}`;
  return {
    url: `${base}/predict`,
    count: async () => ((await (await fetch(`${base}/count`)).json()) as { instances: number }).instances,
    stop: () => child.kill()
  };
}

interface RunResult extends RawRun {
  report?: RunnerReport;
  workDir: string;
}

async function runRunner(overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const workDir = await mkdtemp(path.join(root, 'work-'));
  // As the adapter does: the runner copied into the work dir, the key only in the environment.
  mkdirSync(path.join(workDir, 'runner'));
  copyFileSync(RUNNER, path.join(workDir, 'runner', 'secgate_art.py'));
  const config = {
    target: 'http://127.0.0.1:9/predict',
    api_key_header: null,
    api_key_bearer: false,
    profile: 'fast',
    seed: 42,
    max_queries: 40_000,
    concurrency: 4,
    rate_limit: null,
    eval_data: path.join(root, 'models', 'eval.npz'),
    model_file: null,
    request_template: INSTANCES_TEMPLATE,
    response_path: '$.predictions[*].probabilities',
    input_range: [0, 1],
    norm: 'inf',
    eps: EPS,
    attacks: ['hopskipjump'],
    samples: 30,
    ...overrides
  };
  const configFile = path.join(workDir, 'art-config.json');
  const output = path.join(workDir, 'art-report.json');
  writeFileSync(configFile, JSON.stringify(config));
  const run = await runRaw(tool!.command, [path.join(workDir, 'runner', 'secgate_art.py'), '--config', configFile, '--output', output], workDir, { ...process.env, ...env });
  let report: RunnerReport | undefined;
  try {
    report = JSON.parse(readFileSync(output, 'utf8')) as RunnerReport;
  } catch {
    report = undefined;
  }
  return { ...run, report, workDir };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

function attack(report: RunnerReport | undefined, name: string): AttackReport {
  const found = report?.attacks.find((a) => a.name === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(report)?.slice(0, 300)}`);
  return found;
}

describe('ART runner against loopback classifiers (real ART 1.20.1)', () => {
  it(`black-box HopSkipJump (labels only) at L∞ ε=${EPS}: the brittle model falls, the adversarially trained one holds; the budget is what the server counted`, async () => {
    if (!tool) return;
    const results: Record<string, { run: RunResult; counted: number }> = {};
    for (const model of ['brittle', 'robust']) {
      const server = await startServer(['--model', path.join(root, 'models', `${model}.npz`), '--labels']);
      const run = await runRunner({ target: server.url, response_path: '$.labels[*]' });
      results[model] = { run, counted: await server.count() };
      server.stop();
    }
    for (const { run, counted } of Object.values(results)) {
      expect([run.code, run.report?.errors]).toEqual([0, []]);
      expect(run.report!.response).toBe('labels');
      expect(run.report!.clean_accuracy).toBeGreaterThanOrEqual(0.9);
      expect(run.report!.budget.used).toBe(counted);
      expect(counted).toBeLessThanOrEqual(40_000);
    }
    const brittle = attack(results['brittle']!.run.report, 'HopSkipJump');
    const robust = attack(results['robust']!.run.report, 'HopSkipJump');
    expect(brittle).toMatchObject({ id: `HopSkipJump:inf@${EPS}`, access: 'black-box-labels', status: 'complete', mean_confidence_drop: null });
    expect(brittle.robust_accuracy).toBeLessThanOrEqual(0.4);
    expect(robust.robust_accuracy).toBeGreaterThanOrEqual(0.7);
    expect(brittle.examples.length).toBeGreaterThan(0);
    for (const example of brittle.examples) {
      expect(example.adv_pred).not.toBe(example.true_label);
      expect(example.perturbation).toBeLessThanOrEqual(EPS + 1e-5);
    }
  }, 300_000);

  it(`white-box FGSM/PGD on the ONNX export, sent to the endpoint at L∞ ε=${EPS}: brittle falls, robust holds, confidence drops are numbers`, async () => {
    if (!tool) return;
    const reports: Record<string, RunnerReport> = {};
    for (const model of ['brittle', 'robust']) {
      const server = await startServer(['--model', path.join(root, 'models', `${model}.npz`)]);
      const run = await runRunner({ target: server.url, model_file: path.join(root, 'models', `${model}.onnx`), attacks: ['fgsm', 'pgd'], samples: 40 });
      expect([run.code, run.report?.errors]).toEqual([0, []]);
      reports[model] = run.report!;
      server.stop();
    }
    const pgdBrittle = attack(reports['brittle'], 'PGD');
    const pgdRobust = attack(reports['robust'], 'PGD');
    expect(pgdBrittle).toMatchObject({ access: 'white-box-transfer', status: 'complete' });
    expect(pgdBrittle.robust_accuracy).toBeLessThanOrEqual(0.15);
    expect(pgdRobust.robust_accuracy).toBeGreaterThanOrEqual(0.4);
    // One query per attacked sample: crafted locally, scored once on the endpoint.
    expect(pgdBrittle.queries).toBe(pgdBrittle.attempted);
    expect(pgdBrittle.mean_confidence_drop).toBeGreaterThan(0.5);
    expect(pgdRobust.mean_confidence_drop!).toBeLessThan(pgdBrittle.mean_confidence_drop!);
    expect(attack(reports['brittle'], 'FGSM').robust_accuracy).toBeLessThanOrEqual(0.3);
  }, 300_000);

  it('SquareAttack runs when probabilities come back (inputs reshaped to 1×8×8)', async () => {
    if (!tool) return;
    const server = await startServer(['--model', path.join(root, 'models', 'brittle.npz')]);
    const run = await runRunner({ target: server.url, attacks: ['square'], samples: 12 });
    server.stop();
    expect([run.code, run.report?.response]).toEqual([0, 'probabilities']);
    const square = attack(run.report, 'SquareAttack');
    expect(square).toMatchObject({ access: 'black-box-scores', status: 'complete', attempted: run.report!.samples.correct });
    expect(square.mean_confidence_drop).toEqual(expect.any(Number));
  }, 180_000);

  it('stops at max-queries: the server never sees more, the attack says budget-exhausted, later attacks are not run, exit 0 with the report', async () => {
    if (!tool) return;
    const server = await startServer(['--model', path.join(root, 'models', 'brittle.npz')]);
    const run = await runRunner({ target: server.url, max_queries: 1_500, attacks: ['hopskipjump', 'square'] });
    const counted = await server.count();
    server.stop();
    expect(run.code).toBe(0);
    expect(counted).toBeLessThanOrEqual(1_500);
    expect(run.report!.budget).toEqual({ max_queries: 1_500, used: counted, exhausted: true });
    expect(attack(run.report, 'HopSkipJump')).toMatchObject({ status: 'budget-exhausted', error: expect.stringMatching(/max-queries \(1500\) reached after \d+ of \d+ samples/) });
    expect(attack(run.report, 'SquareAttack')).toMatchObject({ status: 'budget-exhausted', attempted: 0 });
  }, 180_000);

  it('sends the key in the configured header from the environment only, and a wrong key is a 401 failure (exit 3) — the key is in no output and no file', async () => {
    if (!tool) return;
    const server = await startServer(['--model', path.join(root, 'models', 'brittle.npz'), '--key-header', 'X-Api-Key'], { SECGATE_TEST_SERVER_KEY: KEY });
    const good = await runRunner({ target: server.url, api_key_header: 'X-Api-Key', samples: 8 }, { SECGATE_TARGET_API_KEY: KEY });
    const bad = await runRunner({ target: server.url, api_key_header: 'X-Api-Key', samples: 8 }, { SECGATE_TARGET_API_KEY: 'wrong-key' });
    server.stop();
    expect([good.code, good.report?.errors]).toEqual([0, []]);
    expect(bad.code).toBe(3);
    expect(bad.report!.errors).toEqual([{ kind: 'http', message: expect.stringContaining('HTTP 401 from the endpoint: the API key was refused') }]);
    expect(bad.report!.http).toMatchObject({ requests: 1, retries: 0, errors: { '401': 1 } });
    for (const run of [good, bad]) {
      expect(run.stdout + run.stderr).not.toContain(KEY);
      for (const file of filesUnder(run.workDir)) expect(readFileSync(file, 'utf8')).not.toContain(KEY);
    }
  }, 180_000);

  it.each([
    ['429', 'a 429 storm', /failed 3 times in a row \(last: HTTP 429\)/, '429'],
    ['500', '500s', /failed 3 times in a row \(last: HTTP 500\)/, '500'],
    ['slow', 'slow answers (beyond the request timeout)', /failed 3 times in a row \(last: timeout/, 'timeout'],
    ['badjson', 'malformed JSON', /malformed JSON/, 'malformed-json'],
    ['drop', 'dropped connections', /failed 3 times in a row \(last: connection/, 'connection'],
    ['nan', 'scores that are not probabilities', /not probabilities/, 'bad-response']
  ])('%s: %s after the clean pass -> exit 3, a named http error, the clean results kept', async (fault, _what, message, errorKey) => {
    if (!tool) return;
    const server = await startServer(['--model', path.join(root, 'models', 'brittle.npz'), '--fault', fault, '--fault-after', '1', '--slow-seconds', '3']);
    const run = await runRunner({ target: server.url, samples: 10, request_timeout_s: 1, attacks: ['hopskipjump', 'square'] });
    const counted = await server.count();
    server.stop();
    expect(run.code).toBe(3);
    const report = run.report!;
    expect(report.samples).toMatchObject({ requested: 10, evaluated: 10 });
    expect(report.clean_accuracy).toEqual(expect.any(Number));
    expect(report.errors).toEqual([{ kind: 'http', message: expect.stringMatching(message) }]);
    expect(report.http.errors[errorKey]).toBeGreaterThan(0);
    expect(attack(report, 'HopSkipJump')).toMatchObject({ status: 'error', error: expect.stringMatching(message) });
    expect(attack(report, 'SquareAttack')).toMatchObject({ status: 'error', attempted: 0, error: expect.stringMatching(/^not run: the endpoint failed earlier/) });
    expect(report.budget.used).toBeGreaterThanOrEqual(counted);
  }, 120_000);

  it('an endpoint that is down: bounded retries, exit 3, nothing evaluated', async () => {
    if (!tool) return;
    const server = await startServer(['--model', path.join(root, 'models', 'brittle.npz')]);
    const url = server.url;
    server.stop();
    await new Promise((r) => setTimeout(r, 500));
    const run = await runRunner({ target: url, samples: 5 });
    expect(run.code).toBe(3);
    expect(run.report!.samples.evaluated).toBe(0);
    expect(run.report!.response).toBeNull();
    expect(run.report!.http).toMatchObject({ requests: 3, retries: 2, errors: { connection: 3 } });
  }, 60_000);

  it.each([
    ['an unknown attack', { attacks: ['deepfool'] }, /config\.attacks names 'deepfool'/],
    ['a key header without a key in the environment', { api_key_header: 'Authorization' }, /SECGATE_TARGET_API_KEY is empty/],
    ['a template without $INSTANCES', { request_template: '{"instances": []}' }, /exactly once/],
    ['missing eval data', { eval_data: '/nonexistent/eval.npz' }, /does not exist/]
  ])('%s is a configuration error: exit 2, a one-line reason, no report', async (_what, overrides, message) => {
    if (!tool) return;
    const run = await runRunner(overrides);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.report).toBeUndefined();
  }, 60_000);

  it('refuses an ONNX model with ops it cannot differentiate (exit 2, the ops named)', async () => {
    if (!tool) return;
    const modelFile = path.join(root, 'conv.onnx');
    const made = await runRaw(
      tool.command,
      [
        '-c',
        'import onnx,sys; from onnx import helper as h, TensorProto as T\n' +
          'g=h.make_graph([h.make_node("Conv",["input","w"],["out"])],"g",[h.make_tensor_value_info("input",T.FLOAT,["N",1,8,8])],' +
          '[h.make_tensor_value_info("out",T.FLOAT,["N",1,8,8])],[h.make_tensor("w",T.FLOAT,[1,1,1,1],[1.0])])\n' +
          'onnx.save(h.make_model(g),sys.argv[1])',
        modelFile
      ],
      root
    );
    expect(made.code).toBe(0);
    const run = await runRunner({ model_file: modelFile, attacks: ['pgd'] });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ONNX ops the runner cannot differentiate: Conv/);
  }, 60_000);
});
