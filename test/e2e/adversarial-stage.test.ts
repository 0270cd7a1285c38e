/**
 * End to end: the built adversarial action bundle (`dist/adversarial`, or SECGATE_DIST_DIR) on Node 24, as the runner
 * runs it, against loopback targets written for the tests:
 * - classifier: a brittle and an adversarially trained digits classifier (test/helpers/classifier-models.py, served
 *   by classifier-server.py, which counts every instance scored), attacked by the ART runner black-box over HTTP and
 *   white-box from the model's ONNX export;
 * - llm: a stub that follows injected instructions and a hardened one that refuses (test/helpers/llm-stub.ts), probed
 *   by real garak and real promptfoo;
 * - api: a model-serving API with an OpenAPI schema and a planted 500 (test/helpers/model-api-server.py), fuzzed by
 *   real schemathesis.
 * Weak targets are red, hardened ones green, the budget holds, the key is never printed or written, SARIF is valid.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { MemoryLogger, ToolInstaller, errorMessage, type InstalledTool } from '@secgate/core';
import { artAdapter } from '../../packages/adversarial/src/adapters/art.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, newJob, requireTool, runStep, type RunnerJob, type StepResult } from '../helpers/runner.js';
import { startLlmStub, type LlmStub } from '../helpers/llm-stub.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';
import { runRaw, withCacheLock } from '../helpers/tool-processes.js';

const HELPERS = path.join(REPO_ROOT, 'test', 'helpers');
const STEP_TIMEOUT = 20 * 60_000;
const KEY = `sk-secgate-e2e-${randomBytes(12).toString('hex')}`;

let job: RunnerJob;
let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  job = await newJob({ sharedToolCache: true });
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-adversarial-e2e-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill();
  await rm(root, { recursive: true, force: true });
});

const run = (workspace: string, inputs: Record<string, string>): Promise<StepResult> =>
  runStep({
    bundle: 'adversarial',
    workspace,
    job,
    inputs: { 'fail-on': 'high', cache: 'false', 'output-dir': path.join(workspace, '..', `${path.basename(workspace)}-out`), ...inputs },
    timeoutMs: STEP_TIMEOUT
  });

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** The key is nowhere: stdout, stderr, summary, SARIF, JSON, every file the step left in the workspace and output dir. */
async function expectKeyNowhere(step: StepResult, workspace: string): Promise<void> {
  // `::add-mask::<key>` is the one line that must carry it: the runner masks the value in every log after it.
  const masked = step.stdout.split('\n').filter((line) => line !== `::add-mask::${KEY}`);
  expect(masked.length).toBe(step.stdout.split('\n').length - 1);
  const texts: [string, string][] = [['stdout', masked.join('\n')], ['stderr', step.stderr], ['summary', step.summary]];
  for (const file of [...(await filesUnder(workspace)), ...(await filesUnder(`${workspace}-out`)), ...(await filesUnder(job.temp))]) {
    texts.push([file, (await readFile(file)).toString('latin1')]);
  }
  expect(texts.filter(([, text]) => text.includes(KEY)).map(([where]) => where)).toEqual([]);
}

async function expectValidSarif(step: StepResult): Promise<void> {
  expect(sarifSchemaErrors(JSON.parse(await readFile(step.outputs['sarif-file']!, 'utf8')))).toEqual([]);
}

interface Report {
  findings: { tool: string; ruleId: string; severity: string; message: string }[];
  tools: { tool: string; status: string; metrics?: { id: string; value: number; verdict: string; n?: number }[]; facts?: string[] }[];
}
const reportOf = async (step: StepResult): Promise<Report> => JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as Report;

/** Starts a Python test server; resolves with the port from the first line it prints matching `pattern`. */
async function startServer(python: string, args: string[], env: Record<string, string>, pattern: RegExp): Promise<string> {
  const child = spawn(python, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = pattern.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0]!)} exited ${code} before printing its port`)));
  });
}

describe('mode classifier (ART)', () => {
  let python: InstalledTool | undefined;
  const servers: Record<string, { url: string; count: () => Promise<number> }> = {};

  beforeAll(async () => {
    const saved = process.env['RUNNER_TOOL_CACHE'];
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      python = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => new ToolInstaller({ logger: new MemoryLogger() }).install(artAdapter.install));
    } catch (error) {
      requireTool(false, `the ART runner venv (install failed: ${errorMessage(error)})`);
      return;
    } finally {
      if (saved === undefined) delete process.env['RUNNER_TOOL_CACHE'];
      else process.env['RUNNER_TOOL_CACHE'] = saved;
    }
    const models = path.join(root, 'models');
    const trained = await runRaw(python.command, [path.join(HELPERS, 'classifier-models.py'), models], root);
    if (trained.code !== 0) throw new Error(`training failed: ${trained.stderr}`);
    for (const model of ['brittle', 'robust']) {
      const port = await startServer(
        python.command,
        [path.join(HELPERS, 'classifier-server.py'), '--model', path.join(models, `${model}.npz`), '--idle-seconds', '600', '--max-requests', '100000'],
        { SECGATE_TEST_SERVER_KEY: KEY },
        /^(\d+)$/
      );
      const base = `http://127.0.0.1:${port}`;
      servers[model] = { url: `${base}/predict`, count: async () => ((await (await fetch(`${base}/count`)).json()) as { instances: number }).instances };
    }
  }, 20 * 60_000);

  async function workspaceFor(model: string): Promise<string> {
    const workspace = await mkdtemp(path.join(root, `classifier-${model}-`));
    await mkdir(path.join(workspace, 'eval'));
    await copyFile(path.join(root, 'models', 'eval.npz'), path.join(workspace, 'eval', 'digits.npz'));
    await copyFile(path.join(root, 'models', `${model}.onnx`), path.join(workspace, 'model.onnx'));
    return workspace;
  }

  const common = { mode: 'classifier', 'api-key': KEY, 'eval-data': 'eval/digits.npz', 'response-path': '$.predictions[*].probabilities', epsilon: '0.2' };

  it.each([
    ['brittle', 'fail'],
    ['robust', 'pass']
  ])('white-box (FGSM, PGD from the ONNX export, sent to the endpoint): the %s model -> %s, within the budget', async (model, verdict) => {
    if (!python) return;
    const workspace = await workspaceFor(model);
    const before = await servers[model]!.count();
    const step = await run(workspace, { ...common, target: servers[model]!.url, attacks: 'fgsm,pgd', 'model-file': 'model.onnx', samples: '30', 'max-queries': '200', 'min-robust-accuracy': '0.3' });
    expect(step.outputs['verdict']).toBe(verdict);
    expect((await servers[model]!.count()) - before).toBeLessThanOrEqual(200);
    const report = await reportOf(step);
    const art = report.tools.find((t) => t.tool === 'art')!;
    expect(art.status).toBe('ok');
    expect(art.metrics?.some((m) => /robust-accuracy/.test(m.id) && m.verdict === verdict)).toBe(true);
    expect(step.summary).toContain('### Gate metrics');
    await expectValidSarif(step);
    await expectKeyNowhere(step, workspace);
  }, STEP_TIMEOUT);

  it.each([
    ['brittle', 'fail'],
    ['robust', 'pass']
  ])('black-box over HTTP (HopSkipJump within ε): the %s model -> %s', async (model, verdict) => {
    if (!python) return;
    const workspace = await workspaceFor(model);
    const step = await run(workspace, { ...common, target: servers[model]!.url, attacks: 'hopskipjump', samples: '40', 'max-queries': '30000', 'min-robust-accuracy': '0.5' });
    expect(step.outputs['verdict']).toBe(verdict);
    await expectKeyNowhere(step, workspace);
  }, STEP_TIMEOUT);

  it('a budget too small to finish is never a pass; the server saw no more than the budget', async () => {
    if (!python) return;
    const workspace = await workspaceFor('robust');
    const before = await servers['robust']!.count();
    const step = await run(workspace, { ...common, target: servers['robust']!.url, attacks: 'hopskipjump', samples: '30', 'max-queries': '120', 'min-robust-accuracy': '0.5' });
    expect(step.outputs['verdict']).toBe('error');
    expect((await servers['robust']!.count()) - before).toBeLessThanOrEqual(120);
  }, STEP_TIMEOUT);

  it('a wrong key is a named failure, never a pass', async () => {
    if (!python) return;
    const workspace = await workspaceFor('robust');
    const step = await run(workspace, { ...common, 'api-key': `${KEY}-wrong`, target: servers['robust']!.url, attacks: 'fgsm', 'model-file': 'model.onnx', samples: '10', 'max-queries': '100' });
    expect(step.outputs['verdict']).toBe('error');
    expect(step.annotations.find((a) => a.command === 'error')?.message).toMatch(/401/);
  }, STEP_TIMEOUT);
});

describe('mode llm (garak and promptfoo)', () => {
  const stubs: LlmStub[] = [];
  afterAll(async () => {
    for (const stub of stubs) await stub.close();
  });

  it.each([
    ['vulnerable', 'fail'],
    ['hardened', 'pass']
  ] as const)('the %s stub -> %s with both engines', async (behaviour, verdict) => {
    const stub = await startLlmStub({ behaviour, apiKey: KEY });
    stubs.push(stub);
    const workspace = await mkdtemp(path.join(root, `llm-${behaviour}-`));
    const step = await run(workspace, { mode: 'llm', target: stub.chatUrl, 'api-key': KEY, model: 'stub-model' });
    const report = await reportOf(step);
    expect(report.tools.filter((t) => ['garak', 'promptfoo'].includes(t.tool)).map((t) => `${t.tool}:${t.status}`)).toEqual(['garak:ok', 'promptfoo:ok']);
    expect(step.outputs['verdict']).toBe(verdict);
    if (verdict === 'fail') {
      for (const tool of ['garak', 'promptfoo']) expect(report.findings.some((f) => f.tool === tool)).toBe(true);
    } else {
      expect(report.findings).toEqual([]);
    }
    expect(step.summary).toContain('### Gate metrics');
    await expectValidSarif(step);
    await expectKeyNowhere(step, workspace);
  }, STEP_TIMEOUT);

  it('a wrong key is a named failure of both engines, never a pass', async () => {
    const stub = await startLlmStub({ behaviour: 'hardened', apiKey: KEY });
    stubs.push(stub);
    const workspace = await mkdtemp(path.join(root, 'llm-401-'));
    const step = await run(workspace, { mode: 'llm', target: stub.chatUrl, 'api-key': `${KEY}-wrong`, model: 'stub-model', probes: 'promptinject' });
    expect(step.outputs['verdict']).toBe('error');
    const report = await reportOf(step);
    expect(report.tools.filter((t) => ['garak', 'promptfoo'].includes(t.tool)).every((t) => t.status === 'failed')).toBe(true);
  }, STEP_TIMEOUT);
});

describe('mode api (schemathesis)', () => {
  it.each([
    ['planted 500', [], 'fail'],
    ['hardened', ['--hardened'], 'pass']
  ] as const)('the model API with a %s -> %s', async (_name, args, verdict) => {
    const port = await startServer('python3', [path.join(HELPERS, 'model-api-server.py'), '--lifetime', '600', '--max-requests', '20000', ...args], { MODEL_API_KEY: KEY }, /^port (\d+)$/);
    const base = `http://127.0.0.1:${port}`;
    const workspace = await mkdtemp(path.join(root, `api-${verdict}-`));
    const step = await run(workspace, { mode: 'api', target: base, openapi: `${base}/openapi.json`, 'api-key': KEY, 'max-queries': '500' });
    expect(step.outputs['verdict']).toBe(verdict);
    if (verdict === 'fail') {
      const report = await reportOf(step);
      const serverError = report.findings.find((f) => f.tool === 'schemathesis' && /server error/i.test(`${f.ruleId} ${f.message}`));
      expect(serverError?.message).toMatch(/curl/);
    }
    await expectValidSarif(step);
    await expectKeyNowhere(step, workspace);
  }, STEP_TIMEOUT);
});
