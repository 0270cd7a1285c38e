/**
 * Model files: discovery (extensions, SavedModel, scope, `model-paths`, workspace boundary, SHA-256)
 * and both real scanners through the engine — what each finds, one finding for a file both flag,
 * the worst verdict per file, unchecked files making the run an error, and "not applicable".
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, MemoryLogger, ToolInstaller, errorMessage, runScan, type ScanResult } from '@secgate/core';
import { scaStage } from '@secgate/sca';
import { modelscanAdapter } from '../src/adapters/modelscan.js';
import { picklescanAdapter } from '../src/adapters/picklescan.js';
import { MODEL_FILE_EXTENSIONS, discoverModelFiles, modelFormatOf } from '../src/models.js';
import { CLEAN_FILES, CORRUPT_FILE, MALICIOUS_FILES, PAYLOAD_OPERATOR, writeKerasStub, writeModelFiles } from './helpers/model-files.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const SLOW = 15 * 60_000;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-models-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

describe('model file discovery', () => {
  it('finds every documented extension and SavedModel graphs, case-insensitively, sorted, with formats', async () => {
    const files = Object.fromEntries([...MODEL_FILE_EXTENSIONS.map((ext) => [`m/model${ext}`, 'x']), ['m/UPPER.PKL', 'x'], ['export/1/saved_model.pb', 'x'], ['src/app.py', 'x'], ['m/weights.safetensors', 'x']]);
    const workspace = await tree('extensions', files);
    const found = await discoverModelFiles({ workspace, targets: ['.'], exclude: [], options: {} });
    expect(found.map((f) => [f.path, f.format])).toEqual([
      ['export/1/saved_model.pb', 'saved-model'],
      ['m/UPPER.PKL', 'pickle'],
      ['m/model.bin', 'pytorch'],
      ['m/model.ckpt', 'pytorch'],
      ['m/model.h5', 'keras-h5'],
      ['m/model.joblib', 'pickle'],
      ['m/model.keras', 'keras'],
      ['m/model.npy', 'numpy'],
      ['m/model.npz', 'numpy-zip'],
      ['m/model.pickle', 'pickle'],
      ['m/model.pkl', 'pickle'],
      ['m/model.pt', 'pytorch'],
      ['m/model.pth', 'pytorch']
    ]);
    expect(MODEL_FILE_EXTENSIONS).toEqual(['.pkl', '.pickle', '.joblib', '.pt', '.pth', '.bin', '.ckpt', '.npy', '.npz', '.h5', '.keras']);
    expect(modelFormatOf('a/saved_model.pb')).toBe('saved-model');
    expect(modelFormatOf('a/other.pb')).toBeUndefined();
  });

  it('hashes each file with SHA-256 (checked against sha256sum)', async () => {
    const workspace = await tree('hash', { 'w.pt': 'weights \u00e9\n' });
    const [file] = await discoverModelFiles({ workspace, targets: ['.'], exclude: [], options: {} });
    const sum = await runRaw('sha256sum', [path.join(workspace, 'w.pt')], workspace);
    expect(file!.sha256).toBe(sum.stdout.split(' ')[0]);
    expect(file!.sha256).toBe(createHash('sha256').update(await readFile(path.join(workspace, 'w.pt'))).digest('hex'));
  });

  it('leaves out .git/, the exclude globs, files outside the targets and symlinks that lead outside the workspace', async () => {
    const outside = await tree('outside', { 'secret.pkl': 'x' });
    const workspace = await tree('scope', { 'a/in.pkl': 'x', 'b/out.pkl': 'x', '.git/objects/x.pkl': 'x', 'vendor/v.pkl': 'x', 'gen/g.pkl': 'x' });
    await symlink(path.join(outside, 'secret.pkl'), path.join(workspace, 'a', 'link.pkl'));
    await symlink(outside, path.join(workspace, 'a', 'linked-dir'));
    await symlink(path.join(workspace, 'a', 'in.pkl'), path.join(workspace, 'a', 'inner-link.pkl'));
    expect((await discoverModelFiles({ workspace, targets: ['.'], exclude: ['vendor', 'gen/**'], options: {} })).map((f) => f.path)).toEqual([
      'a/in.pkl',
      'a/inner-link.pkl',
      'b/out.pkl'
    ]);
    expect((await discoverModelFiles({ workspace, targets: ['a'], exclude: [], options: {} })).map((f) => f.path)).toEqual(['a/in.pkl', 'a/inner-link.pkl']);
  });

  it('model-paths replaces discovery: named files whatever their extension, named folders searched', async () => {
    const workspace = await tree('named', { 'models/custom.weights': 'x', 'more/a.pt': 'x', 'more/readme.md': 'x', 'other/b.pkl': 'x' });
    const found = await discoverModelFiles({ workspace, targets: ['.'], exclude: [], options: { 'model-paths': 'models/custom.weights,\n more ' } });
    expect(found.map((f) => [f.path, f.format])).toEqual([
      ['models/custom.weights', 'pickle'],
      ['more/a.pt', 'pytorch']
    ]);
  });

  it.each([
    ['a path outside the workspace', '../outside/secret.pkl', /model-paths: '\.\.\/outside\/secret\.pkl' is outside the workspace/],
    ['a path that does not exist', 'missing.pkl', /model-paths: 'missing\.pkl' does not exist/],
    ['a folder without model files', 'docs', /model-paths: no model file under 'docs'/]
  ])('model-paths with %s is a ConfigurationError', async (_what, input, message) => {
    const workspace = await tree('named-bad', { 'a.pkl': 'x', 'docs/readme.md': 'x' });
    const promise = discoverModelFiles({ workspace, targets: ['.'], exclude: [], options: { 'model-paths': input } });
    await expect(promise).rejects.toThrow(ConfigurationError);
    await expect(discoverModelFiles({ workspace, targets: ['.'], exclude: [], options: { 'model-paths': input } })).rejects.toThrow(message);
  });
});

describe('both model scanners through the engine (real modelscan and picklescan)', () => {
  let workspace: string;
  let result: ScanResult | undefined;
  let installer: ToolInstaller;
  const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

  function request(tools: string[], ws: string, options: Record<string, string> = {}): Parameters<typeof runScan>[0] {
    return {
      stages: [scaStage],
      workspace: ws,
      targets: ['.'],
      exclude: [],
      tools,
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] } as unknown as Parameters<typeof runScan>[0]['policy'],
      options,
      timeoutsMs: {},
      now: new Date('2026-01-15T00:00:00Z'),
      tempDir: path.join(root, 'temp')
    };
  }

  beforeAll(async () => {
    workspace = path.join(root, 'project');
    await writeModelFiles(path.join(workspace, 'models'));
    await writeFile(path.join(workspace, 'app.py'), 'print("hello")\n');
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    process.env['RUNNER_TEMP'] = path.join(root, 'temp');
    installer = new ToolInstaller({ logger: new MemoryLogger() });
    try {
      await withCacheLock(SHARED_TOOL_CACHE, SLOW, async () => {
        await installer.install(modelscanAdapter.install);
        await installer.install(picklescanAdapter.install);
      });
    } catch (error) {
      requireTool(false, `modelscan/picklescan (install failed: ${errorMessage(error)})`);
      return;
    }
    result = await runScan(request(['modelscan', 'picklescan'], workspace), { installer, logger: new MemoryLogger() });
  }, SLOW);

  afterAll(() => {
    for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('finds each malicious file once, critical, with the scanners that see it (modelscan misses the legacy .pth)', () => {
    if (!result) return;
    const byFile = new Map(result.findings.map((f) => [f.location!.path, f]));
    expect([...byFile.keys()].sort()).toEqual(MALICIOUS_FILES.map((name) => `models/${name}`).sort());
    expect(result.findings).toHaveLength(MALICIOUS_FILES.length);
    for (const name of MALICIOUS_FILES) {
      const finding = byFile.get(`models/${name}`)!;
      const tools = finding.sources.map((s) => s.tool).sort();
      expect([name, finding.ruleId, finding.severity, tools]).toEqual([
        name,
        PAYLOAD_OPERATOR,
        'critical',
        name === 'malicious-legacy.pth' ? ['picklescan'] : ['modelscan', 'picklescan']
      ]);
      expect(finding.snippet).toBeUndefined();
    }
  });

  it('lists every model file in the inventory with its SHA-256 and the worst verdict of the two scanners', () => {
    if (!result) return;
    const models = (result.inventory ?? []).filter((i) => i.kind === 'machine-learning-model');
    const verdicts = Object.fromEntries(models.map((m) => [m.path, m.verdict]));
    expect(verdicts).toEqual({
      ...Object.fromEntries(MALICIOUS_FILES.map((n) => [`models/${n}`, 'unsafe'])),
      ...Object.fromEntries(CLEAN_FILES.map((n) => [`models/${n}`, 'clean'])),
      [`models/${CORRUPT_FILE}`]: 'not-scanned'
    });
    const legacy = models.find((m) => m.path === 'models/malicious-legacy.pth')!;
    expect(legacy.verdicts).toEqual({ modelscan: 'clean', picklescan: 'unsafe' });
    for (const m of models) expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the corrupt file is unchecked by both scanners: the run is an error, not a pass', () => {
    if (!result) return;
    expect((result.unchecked ?? []).map((u) => [u.tool, u.name]).sort()).toEqual([
      ['modelscan', `models/${CORRUPT_FILE}`],
      ['picklescan', `models/${CORRUPT_FILE}`]
    ]);
    expect(result.verdict).toBe('error');
    expect(result.errors.map((e) => e.name)).toEqual(['ToolIncompleteError', 'ToolIncompleteError']);
  });

  it('a project with clean models only passes; without model files both scanners say "not applicable" (a skip when selected by name)', async () => {
    if (!result) return;
    const clean = path.join(root, 'clean-project');
    await writeModelFiles(path.join(root, 'generated'));
    await mkdir(path.join(clean, 'models'), { recursive: true });
    for (const name of CLEAN_FILES) await writeFile(path.join(clean, 'models', name), await readFile(path.join(root, 'generated', name)));
    const passed = await runScan(request(['modelscan', 'picklescan'], clean), { installer, logger: new MemoryLogger() });
    expect(passed.tools.map((t) => [t.tool, t.status])).toEqual([
      ['modelscan', 'ok'],
      ['picklescan', 'ok']
    ]);
    expect([passed.findings, passed.unchecked, passed.verdict]).toEqual([[], [], 'pass']);

    const empty = path.join(root, 'no-models');
    await mkdir(empty, { recursive: true });
    await writeFile(path.join(empty, 'app.py'), 'print(1)\n');
    const context = { workspace: empty, targets: ['.'], exclude: [], options: {}, workDir: empty, logger: new MemoryLogger() };
    expect(await modelscanAdapter.skip!(context)).toEqual({ reason: expect.stringMatching(/^no model file in scope/), notApplicable: true });
    expect(await picklescanAdapter.skip!(context)).toEqual({ reason: expect.stringMatching(/^no pickle-based model file in scope/), notApplicable: true });
    const nothing = await runScan(request(['modelscan', 'picklescan'], empty), { installer, logger: new MemoryLogger() });
    expect(nothing.tools.map((t) => [t.tool, t.status])).toEqual([
      ['modelscan', 'skipped'],
      ['picklescan', 'skipped']
    ]);
    expect(nothing.verdict).toBe('error');
  }, SLOW);

  it('an .h5 file alone: picklescan is not applicable, modelscan leaves it unchecked ("needs modelscan[tensorflow]")', async () => {
    if (!result) return;
    const keras = path.join(root, 'keras-project');
    await mkdir(keras, { recursive: true });
    await writeKerasStub(path.join(keras, 'model.h5'));
    const run = await runScan(request(['modelscan', 'picklescan'], keras), { installer, logger: new MemoryLogger() });
    expect(run.unchecked?.map((u) => [u.tool, u.name, u.reason])).toEqual([['modelscan', 'model.h5', 'modelscan: needs modelscan[tensorflow], which secgate does not install']]);
    expect(run.inventory?.map((i) => [i.path, i.verdict])).toEqual([['model.h5', 'not-scanned']]);
    expect(run.verdict).toBe('error');
  }, SLOW);
});
