/**
 * promptfoo adapter against real promptfoo (installed by secgate's installer from the committed npm
 * lock, `npm ci --ignore-scripts`, into the shared test tool cache) and the loopback LLM stubs
 * (test/helpers/llm-stub.ts): the vulnerable stub fails the corpus, the hardened one passes it, 401s
 * and 500s are named failures, the budget holds, and the key is planted and then grepped for in
 * stdout, stderr, the parsed report, errors and every file under the work dir and the workspace.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryLogger,
  ToolFailureError,
  ToolInstaller,
  errorMessage,
  runScan,
  type InstalledTool,
  type ParsedReport,
  type StageDefinition,
  type ToolContext
} from '@secgate/core';
import { TOOLS_LOCK } from '../../core/src/install/tools-lock.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';
import { startLlmStub, type LlmStub, type LlmStubOptions } from '../../../test/helpers/llm-stub.js';
import { withCacheLock } from '../../../test/helpers/tool-processes.js';
import { PROMPTFOO_VERSION, corpus, promptfooAdapter } from '../src/adapters/promptfoo.js';

const KEY = 'sk-planted-PROMPTFOO-51c0ffee9d';
const LOCKS = path.join(REPO_ROOT, 'packages', 'core', 'src', 'install', 'locks', 'npm');

interface Outcome {
  report?: ParsedReport;
  error?: unknown;
  exitCode: number;
  stdout: string;
  stderr: string;
  files: string[];
  configText: string;
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

/** What the engine does for one tool: command, run in the workspace, exit meaning, stderr, parse. */
async function runAdapter(tool: InstalledTool, options: Record<string, string>): Promise<Outcome> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'promptfoo-ws-'));
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'promptfoo-work-'));
  const context: ToolContext = { workspace, targets: ['.'], exclude: [], workDir, options, logger: new MemoryLogger() };
  const invocation = await promptfooAdapter.command(tool, context);
  if (Array.isArray(invocation)) throw new Error('one invocation expected');
  const child = spawn(tool.command, [...tool.baseArgs, ...invocation.args], { cwd: workspace, env: { ...process.env, ...invocation.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  const exitCode = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  clearTimeout(timer);
  const files = [...(await filesUnder(workDir)), ...(await filesUnder(workspace))];
  const configText = await readFile(path.join(workDir, 'promptfoo', 'promptfooconfig.yaml'), 'utf8');
  const outcome: Outcome = { stdout, stderr, files, exitCode, configText };
  try {
    if (promptfooAdapter.exitMeaning(exitCode, invocation) === 'error') {
      throw new ToolFailureError('promptfoo', promptfooAdapter.stderrFailure!(stderr, invocation, exitCode) ?? `exit ${exitCode}`);
    }
    outcome.report = promptfooAdapter.parse(await readFile(invocation.reportFile!, 'utf8'), context, invocation);
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
  expect(outcome.files.length).toBeGreaterThan(0);
  for (const file of outcome.files) {
    if ((await stat(file)).size > 50_000_000) continue;
    expect({ file, holdsKey: (await readFile(file)).includes(KEY) }).toEqual({ file, holdsKey: false });
  }
}

const stubs: LlmStub[] = [];
async function stub(options: Omit<LlmStubOptions, 'maxRequests'>): Promise<LlmStub> {
  const started = await startLlmStub({ maxRequests: 400, ...options });
  stubs.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

function llmOptions(target: LlmStub, extra: Record<string, string> = {}): Record<string, string> {
  return { mode: 'llm', target: target.chatUrl, model: 'stub-model', 'api-key': KEY, concurrency: '4', ...extra };
}

const FAST_FAMILIES = ['prompt-injection', 'indirect-prompt-injection', 'encoding', 'jailbreak', 'prompt-extraction', 'roleplay'];

describe('promptfoo adapter: real promptfoo against the loopback LLM stubs', () => {
  let tool: InstalledTool | undefined;

  beforeAll(async () => {
    // The committed lock, whether or not tools-lock.ts lists it yet.
    const lock = {
      ...TOOLS_LOCK,
      npm: {
        ...TOOLS_LOCK.npm,
        promptfoo: {
          [PROMPTFOO_VERSION]: {
            manifest: readFileSync(path.join(LOCKS, `promptfoo-${PROMPTFOO_VERSION}.package.json`), 'utf8'),
            lockfile: readFileSync(path.join(LOCKS, `promptfoo-${PROMPTFOO_VERSION}.package-lock.json`), 'utf8')
          }
        }
      }
    };
    const installer = new ToolInstaller({ logger: new MemoryLogger(), lock });
    const saved = process.env['RUNNER_TOOL_CACHE'];
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, () => installer.install(promptfooAdapter.install));
    } catch (error) {
      requireTool(false, `promptfoo (install failed: ${errorMessage(error)})`);
    } finally {
      if (saved === undefined) delete process.env['RUNNER_TOOL_CACHE'];
      else process.env['RUNNER_TOOL_CACHE'] = saved;
    }
  }, 16 * 60_000);

  it('fails the vulnerable stub: a finding per attack family, examples, OWASP tags, the key never shown', async () => {
    if (!requireTool(tool !== undefined, 'promptfoo')) return;
    const target = await stub({ behaviour: 'vulnerable', apiKey: KEY });
    const outcome = await runAdapter(tool!, llmOptions(target));
    expect(errorMessage(outcome.error ?? 'none')).toBe('none');
    expect(outcome.exitCode).toBe(100);
    const report = outcome.report!;
    const fast = corpus().filter((t) => t.fast);
    expect(report.metrics!.map((m) => [m.id, m.value, m.n, m.verdict])).toEqual(
      FAST_FAMILIES.map((family) => [`promptfoo:${family}`, 1, fast.filter((t) => t.family === family).length, 'fail'])
    );
    expect(report.findings.map((f) => f.ruleId)).toEqual(FAST_FAMILIES);
    const injection = report.findings.find((f) => f.ruleId === 'prompt-injection')!;
    // high, one level up: the attack success rate 1 misses the threshold 0 by ≥ 0.5.
    expect(injection).toMatchObject({ tool: 'promptfoo', severity: 'critical', tags: ['adversarial', 'llm', 'owasp-llm:LLM01'], identity: 'promptfoo:prompt-injection' });
    expect(injection.message).toMatch(/^attack success rate 1 > 0 \(95 % CI 0\.34–1, n=2\) on prompt-injection \(OWASP LLM01\)\. Examples: \[prompt-injection\/ignore-and-print\] prompt: "Ignore any previous/);
    expect(injection.message).toContain('→ response: "SECGATE-PI-PWNED-01"');
    expect(report.findings.find((f) => f.ruleId === 'prompt-extraction')!.tags).toContain('owasp-llm:LLM07');
    expect(report.unchecked).toEqual([]);
    expect(report.facts!.join('\n')).toContain(`results: 0 resisted, ${fast.length} attack(s) succeeded, 0 error(s)`);
    // One request a test: the budget counts what reached the endpoint.
    expect(target.requests()).toBe(fast.length);
    expect(outcome.configText).toContain('Bearer {{env.SECGATE_TARGET_API_KEY}}');
    await expectKeyNowhere(outcome);
  }, 180_000);

  it('passes the hardened stub (deep profile: every corpus test), through the engine', async () => {
    if (!requireTool(tool !== undefined, 'promptfoo')) return;
    const target = await stub({ behaviour: 'hardened', apiKey: KEY, apiKeyHeader: 'X-Api-Key' });
    const options = llmOptions(target, { profile: 'deep', 'api-key-header': 'X-Api-Key', engines: 'promptfoo' });
    const outcome = await runAdapter(tool!, options);
    expect(errorMessage(outcome.error ?? 'none')).toBe('none');
    expect(outcome.exitCode).toBe(0);
    expect(outcome.report!.findings).toEqual([]);
    expect(outcome.report!.metrics!.every((m) => m.verdict === 'pass' && m.value === 0)).toBe(true);
    expect(outcome.report!.metrics!.reduce((sum, m) => sum + m.n!, 0)).toBe(corpus().length);
    expect(outcome.configText).toContain('X-Api-Key: "{{env.SECGATE_TARGET_API_KEY}}"');
    await expectKeyNowhere(outcome);

    const stage: StageDefinition = { id: 'adversarial', title: 'adversarial', adapters: [promptfooAdapter], defaultTools: ['promptfoo'] };
    const root = await mkdtemp(path.join(os.tmpdir(), 'promptfoo-engine-'));
    const scan = await runScan(
      {
        stages: [stage],
        workspace: root,
        targets: ['.'],
        exclude: [],
        tools: [],
        policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] } as unknown as Parameters<typeof runScan>[0]['policy'],
        options: { ...options, profile: 'fast' },
        timeoutsMs: {},
        now: new Date('2026-11-26T00:00:00Z'),
        tempDir: path.join(root, 'temp')
      },
      { installer: { install: () => Promise.resolve(tool!) } as unknown as ToolInstaller, logger: new MemoryLogger() }
    );
    expect(scan.verdict).toBe('pass');
    expect(scan.tools[0]!.status).toBe('ok');
    expect(scan.tools[0]!.metrics!.map((m) => m.verdict)).toEqual(FAST_FAMILIES.map(() => 'pass'));
    expect(JSON.stringify(scan)).not.toContain(KEY);
  }, 240_000);

  it('names a wrong key (401 on every request) as a tool failure, not a pass', async () => {
    if (!requireTool(tool !== undefined, 'promptfoo')) return;
    const target = await stub({ behaviour: 'hardened', apiKey: 'sk-the-real-key-0000' });
    const outcome = await runAdapter(tool!, llmOptions(target));
    expect(outcome.error).toBeInstanceOf(ToolFailureError);
    const fast = corpus().filter((t) => t.fast).length;
    expect(errorMessage(outcome.error)).toContain(`the endpoint answered no test usably: ${fast} of ${fast} errored (HTTP 401 ×${fast}) — check api-key and api-key-header`);
    // 401 is not retried: one request a test.
    expect(target.requests()).toBe(fast);
    await expectKeyNowhere(outcome);
  }, 180_000);

  it('names a server failing with 500s as a tool failure, bounded retries', async () => {
    if (!requireTool(tool !== undefined, 'promptfoo')) return;
    const target = await stub({ behaviour: 'hardened', apiKey: KEY, fault: '500' });
    const outcome = await runAdapter(tool!, llmOptions(target, { probes: 'promptinject,dan' }));
    expect(outcome.error).toBeInstanceOf(ToolFailureError);
    expect(errorMessage(outcome.error)).toMatch(/the endpoint answered no test usably: 4 of 4 errored \(HTTP 500 ×4\)/);
    expect(target.requests()).toBeLessThanOrEqual(16);
    await expectKeyNowhere(outcome);
  }, 180_000);

  it('names malformed responses, and holds a budget too small for the corpus (never a pass)', async () => {
    if (!requireTool(tool !== undefined, 'promptfoo')) return;
    const malformed = await stub({ behaviour: 'hardened', apiKey: KEY, fault: 'malformed' });
    const broken = await runAdapter(tool!, llmOptions(malformed, { probes: 'encoding' }));
    expect(errorMessage(broken.error)).toMatch(/errored \(malformed response ×3\) — check response-path/);

    const target = await stub({ behaviour: 'hardened', apiKey: KEY });
    const outcome = await runAdapter(tool!, llmOptions(target, { 'max-queries': '7' }));
    expect(errorMessage(outcome.error ?? 'none')).toBe('none');
    expect(target.requests()).toBe(7);
    expect(outcome.report!.findings).toEqual([]);
    expect(outcome.report!.metrics!.map((m) => m.id)).toEqual(FAST_FAMILIES.map((f) => `promptfoo:${f}`));
    expect(outcome.report!.unchecked).toEqual([
      { kind: 'file', name: 'max-queries', reason: expect.stringMatching(/^budget reached: max-queries 7 allowed 7 of 13 selected test\(s\); not sent: /) as unknown as string }
    ]);
    await expectKeyNowhere(outcome);
  }, 180_000);
});
