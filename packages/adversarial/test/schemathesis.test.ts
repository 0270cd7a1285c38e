/**
 * schemathesis adapter against real schemathesis (installed from its hash lock into the shared test
 * tool cache) and a loopback model-serving API (test/helpers/model-api-server.py) with a planted 500
 * on an empty `instances` list. The key is planted in the server and the run, then grepped for in
 * stdout, stderr, the parsed report and every file under the work dir and the workspace.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { MemoryLogger, ToolFailureError, ToolIncompleteError, ToolInstaller, errorMessage, type InstalledTool, type ParsedReport, type ToolContext } from '@secgate/core';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';
import { withCacheLock } from '../../../test/helpers/tool-processes.js';
import { operationLines, rateLimitArg, redactKey, schemathesisAdapter, schemathesisConfig } from '../src/adapters/schemathesis.js';

const KEY = 'sk-planted-SCHEMA-7f3a9c21e4';
const SERVER = path.join(REPO_ROOT, 'test', 'helpers', 'model-api-server.py');

interface Server {
  url: string;
  stop(): Promise<void>;
}

/** Starts the loopback API; resolves once it prints its port. */
async function startServer(args: string[], key: string | undefined): Promise<Server> {
  const child = spawn('python3', [SERVER, '--lifetime', '240', '--max-requests', '5000', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(key ? { MODEL_API_KEY: key } : {}) },
    stdio: ['ignore', 'pipe', 'inherit']
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const match = /^port (\d+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error('model API server exited before printing its port')));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    }
  };
}

interface Outcome {
  report?: ParsedReport;
  error?: unknown;
  stdout: string;
  stderr: string;
  files: string[];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** What the engine does for one tool: command, run in the workspace, exit meaning, parse. */
async function runAdapter(tool: InstalledTool, options: Record<string, string>, workspace: string): Promise<Outcome> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'schemathesis-work-'));
  const context: ToolContext = { workspace, targets: ['.'], exclude: [], workDir, options, logger: new MemoryLogger() };
  const invocation = await schemathesisAdapter.command(tool, context);
  if (Array.isArray(invocation)) throw new Error('one invocation expected');
  const child = spawn(tool.command, [...tool.baseArgs, ...invocation.args], { cwd: workspace, env: { ...process.env, ...invocation.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  const files = [...(await filesUnder(workDir)), ...(await filesUnder(workspace))];
  const outcome: Outcome = { stdout, stderr, files };
  try {
    const meaning = schemathesisAdapter.exitMeaning(code, invocation);
    if (meaning === 'error') throw new ToolFailureError('schemathesis', `exit ${code}`);
    outcome.report = schemathesisAdapter.parse(await readFile(invocation.reportFile!, 'utf8'), context, invocation);
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

async function expectKeyNowhere(outcome: Outcome): Promise<void> {
  expect(outcome.stdout).not.toContain(KEY);
  expect(outcome.stderr).not.toContain(KEY);
  expect(JSON.stringify(outcome.report ?? {})).not.toContain(KEY);
  expect(errorMessage(outcome.error ?? '')).not.toContain(KEY);
  for (const file of outcome.files) {
    if ((await stat(file)).size > 50_000_000) continue;
    expect({ file, holdsKey: (await readFile(file)).includes(KEY) }).toEqual({ file, holdsKey: false });
  }
}

async function workspaceWithSpec(server: Server): Promise<string> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'schemathesis-ws-'));
  await mkdir(path.join(workspace, 'api'));
  const spec = await (await fetch(`${server.url}/openapi.json`)).text();
  await writeFile(path.join(workspace, 'api', 'openapi.json'), JSON.stringify(JSON.parse(spec), null, 2));
  return workspace;
}

describe('schemathesis adapter: pieces', () => {
  it('writes the key header as a ${VAR} reference and the cache into the work dir', () => {
    const config = schemathesisConfig({ key: KEY, header: 'Authorization', bearer: true }, '/tmp/w/cache');
    expect(config).toContain('headers = { "Authorization" = "Bearer ${SECGATE_TARGET_API_KEY}" }');
    expect(config).toContain('directory = "/tmp/w/cache"');
    expect(config).not.toContain(KEY);
    expect(schemathesisConfig({ key: KEY, header: 'X-Api-Key', bearer: false }, '/c')).toContain('"X-Api-Key" = "${SECGATE_TARGET_API_KEY}"');
  });

  it('finds operation lines in JSON and YAML schemas', () => {
    const yaml = 'openapi: 3.0.3\npaths:\n  /predict:\n    get:\n      responses: {}\n    post:\n      responses: {}\n';
    expect(Object.fromEntries(operationLines(yaml))).toEqual({ 'GET /predict': 4, 'POST /predict': 6 });
    const json = JSON.stringify({ openapi: '3.0.3', paths: { '/a': { post: {} } } }, null, 2);
    expect(Object.fromEntries(operationLines(json))).toEqual({ 'POST /a': 5 });
  });

  it('spells rate limits schemathesis accepts and redacts the key', () => {
    expect(rateLimitArg(10)).toBe('10/s');
    expect(rateLimitArg(0.5)).toBe('30/m');
    expect(redactKey(`Bearer ${KEY}!`, KEY)).toBe('Bearer [REDACTED]!');
  });

  it('is not applicable outside mode api', async () => {
    const context = { workspace: '/w', targets: ['.'], exclude: [], workDir: '/t', options: { mode: 'llm' }, logger: new MemoryLogger() };
    expect(await schemathesisAdapter.skip!(context)).toEqual({ reason: 'mode llm (schemathesis runs in mode api)', notApplicable: true });
  });
});

describe('schemathesis adapter: real schemathesis against a loopback model API', () => {
  let tool: InstalledTool | undefined;

  beforeAll(async () => {
    const installer = new ToolInstaller({ logger: new MemoryLogger() });
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => installer.install(schemathesisAdapter.install));
    } catch (error) {
      requireTool(false, `schemathesis (install failed: ${errorMessage(error)})`);
    }
  }, 16 * 60_000);

  it('finds the planted 500 with its reproducing request, the key never shown', async () => {
    if (!requireTool(tool !== undefined, 'schemathesis')) return;
    const server = await startServer([], KEY);
    try {
      const workspace = await workspaceWithSpec(server);
      const outcome = await runAdapter(tool!, { mode: 'api', target: server.url, openapi: 'api/openapi.json', 'api-key': KEY, concurrency: '2' }, workspace);
      expect(errorMessage(outcome.error ?? 'none')).toBe('none');
      const serverError = outcome.report!.findings.find((f) => f.ruleId === 'ST101');
      expect(serverError).toMatchObject({ severity: 'high', title: 'Server error: POST /predict', location: { path: 'api/openapi.json', startLine: 9 } });
      expect(serverError!.message).toContain(`-d '{"instances": []}'`);
      expect(serverError!.message).toContain('"Authorization: Bearer $SECGATE_TARGET_API_KEY"');
      expect(outcome.report!.facts!.join('\n')).toMatch(/500×[1-9]/);
      // Nothing of schemathesis's caches lands in the workspace.
      expect((await filesUnder(workspace)).map((f) => path.relative(workspace, f))).toEqual(['api/openapi.json']);
      await expectKeyNowhere(outcome);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('passes a hardened API with the same schema', async () => {
    if (!requireTool(tool !== undefined, 'schemathesis')) return;
    const server = await startServer(['--hardened'], KEY);
    try {
      const workspace = await workspaceWithSpec(server);
      const outcome = await runAdapter(tool!, { mode: 'api', target: server.url, openapi: 'api/openapi.json', 'api-key': KEY }, workspace);
      expect(errorMessage(outcome.error ?? 'none')).toBe('none');
      expect(outcome.report!.findings).toEqual([]);
      expect(outcome.report!.unchecked).toBeUndefined();
      expect(outcome.report!.facts!.join('\n')).toMatch(/[1-9]\d* test request\(s\) sent/);
      await expectKeyNowhere(outcome);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('names an unreachable schema URL as a tool failure', async () => {
    if (!requireTool(tool !== undefined, 'schemathesis')) return;
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'schemathesis-ws-'));
    const outcome = await runAdapter(tool!, { mode: 'api', target: 'http://127.0.0.1:9/', openapi: 'http://127.0.0.1:9/openapi.json', 'api-key': KEY }, workspace);
    expect(outcome.error).toBeInstanceOf(ToolFailureError);
    expect(errorMessage(outcome.error)).toMatch(/could not load the OpenAPI schema: LoaderError: Connection failed/);
    await expectKeyNowhere(outcome);
  }, 120_000);

  it('refuses a wrong key instead of passing on a wall of 401s', async () => {
    if (!requireTool(tool !== undefined, 'schemathesis')) return;
    const server = await startServer(['--hardened'], KEY);
    try {
      const workspace = await workspaceWithSpec(server);
      const outcome = await runAdapter(tool!, { mode: 'api', target: server.url, openapi: 'api/openapi.json', 'api-key': 'sk-wrong-key-000000' }, workspace);
      expect(errorMessage(outcome.error)).toMatch(/refused all \d+ request\(s\) with 401\/403/);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('holds max-queries: the run stops at the budget and is not a pass', async () => {
    if (!requireTool(tool !== undefined, 'schemathesis')) return;
    const server = await startServer(['--hardened'], KEY);
    try {
      const workspace = await workspaceWithSpec(server);
      const outcome = await runAdapter(tool!, { mode: 'api', target: server.url, openapi: 'api/openapi.json', 'api-key': KEY, 'max-queries': '3' }, workspace);
      expect(outcome.error).toBeInstanceOf(ToolIncompleteError);
      expect(errorMessage(outcome.error)).toMatch(/POST \/predict \(max-queries budget of 3 requests reached/);
      // Server-side count: the test requests (3) plus the two capability probes and the spec fetch.
      const served = ((await (await fetch(`${server.url}/__requests`)).json()) as { requests: number }).requests;
      expect(served).toBeLessThanOrEqual(3 + 3);
    } finally {
      await server.stop();
    }
  }, 180_000);
});
