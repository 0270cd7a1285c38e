/**
 * The ART adapter: its parser and gate on real runner reports (fixtures/art, see its README), its
 * invocation (the key only in the environment: never in argv, the config or any file of the work
 * dir), and real runs through the engine — the real runner, installed from its hash lock, against
 * loopback digit classifiers (test/helpers/classifier-server.py) — including a baseline regression.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import {
  ConfigurationError,
  MemoryLogger,
  ToolFailureError,
  ToolInstaller,
  buildJsonReport,
  buildSarif,
  buildSummary,
  errorMessage,
  runScan,
  type InstalledTool,
  type ParsedReport,
  type StageDefinition,
  type ToolContext,
  type ToolInvocation
} from '@secgate/core';
import { artAdapter, gateArtReport, readArtReport } from '../src/adapters/art.js';
import { TARGET_API_KEY_ENV, type ClassifierGate } from '../src/options.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'adversarial', 'test', 'fixtures', 'art');
const HELPERS = path.join(REPO_ROOT, 'test', 'helpers');
const KEY = 'sk-art-PLANTED-7c1d93e0b5';
const GATE: ClassifierGate = { minCleanAccuracy: 0.5, minRobustAccuracy: 0.7 };

function fixture(name: string, gate: ClassifierGate = GATE): ParsedReport {
  return gateArtReport(readArtReport(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')), gate);
}

describe('ART gate on real runner reports', () => {
  it('brittle model, probabilities and model-file: white-box transfer attacks fail critically, HopSkipJump and Square are inconclusive', () => {
    const parsed = fixture('brittle-whitebox');
    expect(parsed.metrics!.map((m) => [m.id, m.verdict])).toEqual([
      ['art:clean-accuracy', 'pass'],
      ['art:HopSkipJump:inf@0.15/robust-accuracy', 'inconclusive'],
      ['art:SquareAttack:inf@0.15/robust-accuracy', 'inconclusive'],
      ['art:FGSM:inf@0.15/robust-accuracy', 'fail'],
      ['art:PGD:inf@0.15/robust-accuracy', 'fail']
    ]);
    expect(parsed.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['HopSkipJump:inf@0.15', 'low'],
      ['SquareAttack:inf@0.15', 'low'],
      ['FGSM:inf@0.15', 'critical'],
      ['PGD:inf@0.15', 'critical']
    ]);
    const pgd = parsed.findings[3]!;
    expect(pgd.message).toMatch(/^robust accuracy 0\.17 < 0\.7 \(95 % CI 0\.06–0\.39, n=18\) under PGD L∞ ε=0\.15, white-box-transfer, 18 queries; mean confidence drop 0\.\d+; median ‖δ‖∞ 0\.\d+\. Examples: sample #\d+: label \d, clean \d → adversarial \d, ‖δ‖∞ 0\.15/);
    expect(pgd.tags).toEqual(['adversarial', 'classifier', 'evasion', 'white-box-transfer']);
    expect(parsed.warnings).toHaveLength(2);
    expect(parsed.warnings.every((w) => w.includes('interval straddles the threshold; raise samples'))).toBe(true);
    expect(parsed.unchecked).toEqual([]);
    expect(parsed.facts).toContain('endpoint: 3,707 request(s), 9,442 instance(s), 0 retries, no HTTP errors');
  });

  it('robust model behind a labels-only API: HopSkipJump passes a 0.6 bar; no finding, nothing unchecked', () => {
    const parsed = fixture('robust-labels', { minCleanAccuracy: 0.5, minRobustAccuracy: 0.6 });
    expect(parsed.metrics!.map((m) => [m.id, m.verdict, m.n])).toEqual([
      ['art:clean-accuracy', 'pass', 20],
      ['art:HopSkipJump:inf@0.15/robust-accuracy', 'pass', 19]
    ]);
    expect([parsed.findings, parsed.warnings, parsed.unchecked]).toEqual([[], [], []]);
    expect(parsed.facts).toContain('samples: 20 requested, 20 scored, 19 classified correctly; labels returned, 10 classes, input shape [64]');
  });

  it('budget exhausted mid-attack: never a pass — unchecked naming how far it got, the partial metric not a pass', () => {
    const parsed = fixture('budget-partial', { minCleanAccuracy: 0.5, minRobustAccuracy: 0.3 });
    expect(parsed.unchecked).toEqual([
      { kind: 'file', name: 'HopSkipJump:inf@0.15', reason: 'query budget (max-queries 4,000) exhausted after 8 of 18 samples, 3,980 queries' },
      { kind: 'file', name: 'SquareAttack:inf@0.15', reason: 'not run: max-queries (4000) was reached by an earlier attack' }
    ]);
    expect(parsed.metrics![1]).toMatchObject({ id: 'art:HopSkipJump:inf@0.15/robust-accuracy', n: 8, verdict: 'inconclusive' });
    expect(parsed.findings).toEqual([]);
    expect(parsed.facts![0]).toBe('queries: 4,000 of 4,000 (max-queries), budget exhausted');
  });

  it('budget exhausted before any attack finished a sample: every attack unchecked', () => {
    const parsed = fixture('budget-exhausted');
    expect(parsed.unchecked!.map((u) => [u.name, u.reason])).toEqual([
      ['HopSkipJump:inf@0.15', 'max-queries (1500) reached after 0 of 18 samples'],
      ['SquareAttack:inf@0.15', 'not run: max-queries (1500) was reached by an earlier attack']
    ]);
    expect(parsed.metrics!.map((m) => m.id)).toEqual(['art:clean-accuracy']);
  });

  it('budget too small for the clean samples, wrong key: named ToolFailureErrors', () => {
    expect(() => fixture('budget-clean')).toThrow(ToolFailureError);
    expect(() => fixture('budget-clean')).toThrow('art: the endpoint scored no sample: max-queries (5) reached while scoring the clean samples (0 of 20)');
    expect(() => fixture('unauthorized')).toThrow('art: the endpoint scored no sample: HTTP 401 from the endpoint: the API key was refused (check api-key and api-key-header)');
  });

  it('500s after the retries: the attacks are unchecked with the endpoint error, partial facts kept', () => {
    const parsed = fixture('server-error');
    expect(parsed.unchecked!.map((u) => u.name)).toEqual(['HopSkipJump:inf@0.15', 'SquareAttack:inf@0.15']);
    expect(parsed.unchecked![0]!.reason).toBe('attack failed: the endpoint failed 3 times in a row (last: HTTP 500)');
    expect(parsed.warnings).toContain('the endpoint failed 3 times in a row (last: HTTP 500)');
    expect(parsed.facts).toContain('endpoint: 43 request(s), 74 instance(s), 2 retries, errors by status: 500 ×3');
    expect(parsed.metrics!.map((m) => m.id)).toEqual(['art:clean-accuracy']);
  });
});

describe('ART adapter contract', () => {
  let workspace: string;
  beforeAll(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'adv-art-contract-'));
    await writeFile(path.join(workspace, 'eval.npz'), 'placeholder: command() only checks it exists');
  });
  afterAll(() => rm(workspace, { recursive: true, force: true }));

  async function context(options: Record<string, string>): Promise<ToolContext> {
    return { workspace, targets: ['.'], exclude: [], options, workDir: await mkdtemp(path.join(os.tmpdir(), 'adv-art-work-')), logger: new MemoryLogger() };
  }

  it('is not applicable outside mode classifier; a missing mode is a ConfigurationError', async () => {
    expect(await artAdapter.skip!(await context({ mode: 'llm' }))).toEqual({ reason: 'mode is llm; ART attacks classifiers (mode classifier)', notApplicable: true });
    expect(await artAdapter.skip!(await context({ mode: 'classifier' }))).toBeUndefined();
    await expect(artAdapter.skip!(await context({}))).rejects.toThrow(ConfigurationError);
  });

  it('exit codes: 0 and 3 are read from the report (3 = endpoint failure, never a pass), 2 and crashes are errors', () => {
    const invocation = { args: [] };
    expect([0, 3, 2, 1, 137].map((code) => artAdapter.exitMeaning(code, invocation))).toEqual(['clean', 'clean', 'error', 'error', 'error']);
    expect(artAdapter.stderrFailure!('secgate-art: configuration error: eval-data x holds NaN or infinite values\n', invocation, 2)).toBe(
      'the runner refused its configuration: secgate-art: configuration error: eval-data x holds NaN or infinite values'
    );
    expect(artAdapter.stderrFailure!('noise', invocation, 0)).toBeUndefined();
  });

  it('writes the runner and a key-free config to the work dir; the key only in the environment', async () => {
    const ctx = await context({ mode: 'classifier', target: 'http://127.0.0.1:9/predict', 'eval-data': 'eval.npz', 'api-key': KEY, 'api-key-header': 'X-API-Key', epsilon: '0.2' });
    const invocation = (await artAdapter.command({} as InstalledTool, ctx)) as ToolInvocation;
    expect(invocation.args).toEqual([
      path.join(ctx.workDir, 'runner', 'secgate_art.py'),
      '--config',
      path.join(ctx.workDir, 'art-config.json'),
      '--output',
      path.join(ctx.workDir, 'art-report.json')
    ]);
    expect(invocation.env).toEqual({ [TARGET_API_KEY_ENV]: KEY });
    expect(invocation.args.join(' ')).not.toContain(KEY);
    const config = JSON.parse(await readFile(path.join(ctx.workDir, 'art-config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ api_key_header: 'X-API-Key', api_key_bearer: false, eps: 0.2, eval_data: path.join(workspace, 'eval.npz'), attacks: [] });
    for (const file of await readdir(ctx.workDir, { recursive: true })) {
      const full = path.join(ctx.workDir, file);
      if ((await readdir(full).catch(() => undefined)) === undefined) expect(await readFile(full, 'utf8')).not.toContain(KEY);
    }
    expect(readFileSync(path.join(ctx.workDir, 'runner', 'secgate_art.py'), 'utf8')).toBe(readFileSync(path.join(REPO_ROOT, 'packages', 'adversarial', 'runner', 'secgate_art.py'), 'utf8'));
    const open = (await artAdapter.command({} as InstalledTool, await context({ mode: 'classifier', target: 'http://127.0.0.1:9/predict', 'eval-data': 'eval.npz' }))) as ToolInvocation;
    expect(open.env).toEqual({});
  });

  it('refuses a key pasted into another input before anything is written', async () => {
    const ctx = await context({ mode: 'classifier', target: 'http://127.0.0.1:9/predict', 'eval-data': 'eval.npz', 'api-key': KEY, 'request-template': `{"token": "${KEY}", "instances": $INSTANCES}` });
    const error = await Promise.resolve(artAdapter.command({} as InstalledTool, ctx)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(errorMessage(error)).not.toContain(KEY);
    expect(await readdir(ctx.workDir)).toEqual([]);
  });

  it('scrubs the key from a runner report that quotes an endpoint echoing it', async () => {
    const ctx = await context({ mode: 'classifier', 'api-key': KEY });
    const report = JSON.parse(readFileSync(path.join(FIXTURES, 'server-error.json'), 'utf8')) as { errors: { message: string }[] };
    report.errors[0]!.message = `the endpoint answered with malformed JSON ('bad key ${KEY}')`;
    const parsed = artAdapter.parse(JSON.stringify(report), ctx, { args: [], data: { gate: GATE } });
    expect(JSON.stringify(parsed)).not.toContain(KEY);
    expect(JSON.stringify(parsed)).toContain('[redacted]');
  });
});

describe('ART through the engine (real runner, loopback classifiers)', () => {
  let tool: InstalledTool | undefined;
  let root: string;
  const servers: ChildProcess[] = [];
  const savedCache = process.env['RUNNER_TOOL_CACHE'];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-art-adapter-'));
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => new ToolInstaller({ logger: new MemoryLogger() }).install(artAdapter.install));
    } catch (error) {
      requireTool(false, `ART runner venv (install failed: ${errorMessage(error)})`);
      return;
    }
    const trained = await runRaw(tool.command, [path.join(HELPERS, 'classifier-models.py'), path.join(root, 'models')], root);
    if (trained.code !== 0) throw new Error(`training failed: ${trained.stderr}`);
  }, 20 * 60_000);

  afterAll(async () => {
    for (const server of servers) if (server.exitCode === null) server.kill();
    if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
    else process.env['RUNNER_TOOL_CACHE'] = savedCache;
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function serve(model: string): Promise<{ url: string; instances: () => Promise<number> }> {
    const child = spawn(tool!.command, [path.join(HELPERS, 'classifier-server.py'), '--model', path.join(root, 'models', `${model}.npz`), '--idle-seconds', '120', '--max-requests', '20000'], {
      env: { ...process.env, SECGATE_TEST_SERVER_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    servers.push(child);
    const port = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`classifier server exited ${code}`)));
    });
    const base = `http://127.0.0.1:${Number(port)}`;
    return { url: `${base}/predict`, instances: async () => ((await (await fetch(`${base}/count`)).json()) as { instances: number }).instances };
  }

  /** A workspace holding the evaluation set and the model's ONNX export, as a user's repository would. */
  async function workspaceFor(model: string): Promise<string> {
    const workspace = await mkdtemp(path.join(root, `ws-${model}-`));
    await mkdir(path.join(workspace, 'eval'));
    copyFileSync(path.join(root, 'models', 'eval.npz'), path.join(workspace, 'eval', 'digits.npz'));
    copyFileSync(path.join(root, 'models', `${model}.onnx`), path.join(workspace, 'model.onnx'));
    return workspace;
  }

  async function scan(workspace: string, options: Record<string, string>) {
    const stage: StageDefinition = { id: 'adversarial', title: 'adversarial', adapters: [artAdapter], defaultTools: ['art'] };
    const logger = new MemoryLogger();
    const result = await runScan(
      {
        stages: [stage],
        workspace,
        targets: ['.'],
        exclude: [],
        tools: [],
        policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] } as unknown as Parameters<typeof runScan>[0]['policy'],
        options,
        timeoutsMs: {},
        now: new Date(),
        tempDir: path.join(root, 'engine-temp')
      },
      { installer: { install: () => Promise.resolve(tool!) } as unknown as ToolInstaller, logger }
    );
    return { result, logger };
  }

  it('fails the brittle model (white-box transfer), passes the robust one, flags the regression vs a baseline, within the budget, the key nowhere', async () => {
    if (!tool) return;
    const options = (url: string) => ({
      mode: 'classifier',
      target: url,
      'api-key': KEY,
      'eval-data': 'eval/digits.npz',
      'model-file': 'model.onnx',
      'response-path': '$.predictions[*].probabilities',
      attacks: 'fgsm,pgd',
      epsilon: '0.2',
      samples: '30',
      'max-queries': '200',
      'min-robust-accuracy': '0.3'
    });
    const robustServer = await serve('robust');
    const robustWorkspace = await workspaceFor('robust');
    const robust = await scan(robustWorkspace, options(robustServer.url));
    expect(robust.result.errors.map((e) => e.message)).toEqual([]);
    expect(robust.result.verdict).toBe('pass');
    expect(robust.result.tools[0]!.metrics!.map((m) => [m.id, m.verdict])).toEqual([
      ['art:clean-accuracy', 'pass'],
      ['art:FGSM:inf@0.2/robust-accuracy', 'pass'],
      ['art:PGD:inf@0.2/robust-accuracy', 'pass']
    ]);
    expect(await robustServer.instances()).toBeLessThanOrEqual(200);

    // The robust run's JSON report is the brittle run's baseline.
    const brittleServer = await serve('brittle');
    const brittleWorkspace = await workspaceFor('brittle');
    await writeFile(path.join(brittleWorkspace, 'baseline.json'), buildJsonReport(robust.result));
    const brittle = await scan(brittleWorkspace, { ...options(brittleServer.url), 'baseline-report': 'baseline.json' });
    expect(brittle.result.errors.map((e) => e.message)).toEqual([]);
    expect(brittle.result.verdict).toBe('fail');
    expect(brittle.result.findings.map((f) => f.ruleId).sort()).toEqual([
      'FGSM:inf@0.2',
      'PGD:inf@0.2',
      'regression:art:FGSM:inf@0.2/robust-accuracy',
      'regression:art:PGD:inf@0.2/robust-accuracy'
    ]);
    expect(brittle.result.findings.every((f) => f.severity === 'critical' || f.severity === 'high')).toBe(true);
    expect(await brittleServer.instances()).toBeLessThanOrEqual(200);

    for (const run of [robust, brittle]) {
      const outputs = [buildJsonReport(run.result), JSON.stringify(buildSarif(run.result)), buildSummary(run.result), run.logger.text()];
      for (const output of outputs) expect(output).not.toContain(KEY);
    }
    expect(buildSummary(brittle.result)).toContain('### Gate metrics');
  }, 5 * 60_000);

  it('after a real run, no file of the work dir, argv, stdout or stderr holds the key', async () => {
    if (!tool) return;
    const server = await serve('brittle');
    const workspace = await workspaceFor('brittle');
    const workDir = await mkdtemp(path.join(root, 'work-'));
    const context: ToolContext = {
      workspace,
      targets: ['.'],
      exclude: [],
      workDir,
      logger: new MemoryLogger(),
      options: { mode: 'classifier', target: server.url, 'api-key': KEY, 'eval-data': 'eval/digits.npz', 'response-path': '$.predictions[*].probabilities', attacks: 'hopskipjump', samples: '8', 'max-queries': '3000' }
    };
    const invocation = (await artAdapter.command(tool, context)) as ToolInvocation;
    const run = await runRaw(tool.command, [...tool.baseArgs, ...invocation.args], workspace, { ...process.env, ...invocation.env });
    const reportText = await readFile(invocation.reportFile!, 'utf8');
    expect([run.code, run.stderr, JSON.parse(reportText).errors]).toEqual([0, expect.any(String), []]);
    const parsed = artAdapter.parse(reportText, context, invocation);
    expect(parsed.metrics!.length).toBeGreaterThan(1);
    const files = (await readdir(workDir, { recursive: true })).map((file) => path.join(workDir, file));
    expect(files).toEqual(expect.arrayContaining([invocation.reportFile, path.join(workDir, 'art-config.json')]));
    for (const file of files) if ((await readdir(file).catch(() => undefined)) === undefined) expect(await readFile(file, 'utf8')).not.toContain(KEY);
    for (const text of [invocation.args.join(' '), run.stdout, run.stderr, JSON.stringify(parsed)]) expect(text).not.toContain(KEY);
    expect(await server.instances()).toBeLessThanOrEqual(3000);
  }, 2 * 60_000);

  it('a wrong key is a named ToolFailureError (401), not a pass', async () => {
    if (!tool) return;
    const server = await serve('robust');
    const workspace = await workspaceFor('robust');
    const { result, logger } = await scan(workspace, { mode: 'classifier', target: server.url, 'api-key': 'sk-wrong-key-000000', 'eval-data': 'eval/digits.npz', attacks: 'hopskipjump', samples: '10' });
    expect(result.verdict).toBe('error');
    expect(result.errors.map((e) => e.message)).toEqual(['art: the endpoint scored no sample: HTTP 401 from the endpoint: the API key was refused (check api-key and api-key-header) (endpoint: 1 request(s), 10 instance(s), 0 retries, errors by status: 401 ×1)']);
    expect(logger.text()).not.toContain(KEY);
  }, 2 * 60_000);
});
