/**
 * One scan scope for every tool of the sast stage: every file under the targets except `.git/`
 * and the user's `exclude`. Before, semgrep's default .semgrepignore (tests/, build/, vendor/,
 * node_modules/, …), the repo's .semgrepignore and .gitignore applied to the ML rules while
 * bandit scanned those folders, so one `torch.load` was high (both tools) in src/ and medium
 * (bandit only) in tests/. Real bandit and semgrep, through runScan, on a real git repository.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolInstaller, errorMessage, runScan, type ScanResult } from '@secgate/core';
import { banditAdapter, sastStage, semgrepAdapter } from '@secgate/sast';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const SLOW = 15 * 60_000;
const TORCH_LOAD = 'import torch\n\nmodel = torch.load("model.pt")\n';
/** Folders semgrep used to skip on its own (defaults, .semgrepignore, .gitignore), and plain ones. */
const SCANNED = ['src', 'tests', 'test', 'build', 'dist', 'vendor', 'node_modules', '.venv', '.github/scripts', 'ignored-by-git', 'ignored-by-semgrep', 'x.egg', 'CVSdir'];
const EXCLUDED_BY_USER = 'generated';

let root: string;
let tree: string;
let result: ScanResult | undefined;
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-scan-scope-'));
  tree = path.join(root, 'repo');
  await mkdir(path.join(root, 'temp'), { recursive: true });
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  process.env['RUNNER_TEMP'] = path.join(root, 'temp');
  for (const dir of [...SCANNED, EXCLUDED_BY_USER, '.git/hooks-copy']) {
    await mkdir(path.join(tree, dir), { recursive: true });
  }
  const git = await runRaw('git', ['init', '-q', tree], root, { ...process.env, GIT_CONFIG_GLOBAL: path.join(root, 'none'), GIT_CONFIG_NOSYSTEM: '1' });
  expect([git.code, git.stderr]).toEqual([0, '']);
  for (const dir of [...SCANNED, EXCLUDED_BY_USER, '.git/hooks-copy']) await writeFile(path.join(tree, dir, 'load.py'), TORCH_LOAD);
  await writeFile(path.join(tree, '.gitignore'), 'ignored-by-git/\n');
  await writeFile(path.join(tree, '.semgrepignore'), 'ignored-by-semgrep/\n');

  const installer = new ToolInstaller({ logger: new MemoryLogger() });
  try {
    await withCacheLock(SHARED_TOOL_CACHE, SLOW, async () => {
      await installer.install(banditAdapter.install);
      await installer.install(semgrepAdapter.install);
    });
  } catch (error) {
    requireTool(false, `bandit/semgrep (install failed: ${errorMessage(error)})`);
    return;
  }
  result = await runScan(
    {
      stages: [sastStage],
      workspace: tree,
      targets: ['.'],
      exclude: [`${EXCLUDED_BY_USER}/**`],
      tools: ['bandit', 'semgrep'],
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: {},
      timeoutsMs: {},
      now: new Date('2026-01-15T00:00:00Z'),
      tempDir: path.join(root, 'temp')
    },
    { installer, logger: new MemoryLogger() }
  );
}, SLOW);

afterAll(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the sast stage scans one scope with every tool', () => {
  it('finds the same torch.load, from bandit and semgrep at the same severity, in every folder but .git/ and the excluded one', () => {
    if (!result) return;
    for (const tool of result.tools) expect([tool.tool, tool.status]).toEqual([tool.tool, 'ok']);
    const byDir = new Map<string, { severity: string; tools: string[] }[]>();
    for (const f of result.findings) {
      const file = (f.location?.path ?? '').replace(/^\.\//, '');
      const dir = path.posix.dirname(file);
      byDir.set(dir, [...(byDir.get(dir) ?? []), { severity: f.severity, tools: [...new Set(f.sources.map((s) => s.tool))].sort() }]);
    }
    for (const dir of SCANNED) {
      // One merged finding per file: both tools, severity high.
      expect([dir, byDir.get(dir)]).toEqual([dir, [{ severity: 'high', tools: ['bandit', 'semgrep'] }]]);
    }
    expect([...byDir.keys()].filter((d) => d.startsWith('.git/') || d === '.git' || d.startsWith(EXCLUDED_BY_USER))).toEqual([]);
  });
});
