import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export interface RawRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool by hand (the "raw" side of parity and rulepack tests), capturing everything. */
export function runRaw(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RawRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Serialises whole install sequences of suites that share a tool cache (a directory lock holding
 * the owner's pid; a dead owner's lock is taken over). The installer no longer needs it for safety:
 * it locks each tool's cache entry itself and moves finished installs into place atomically.
 */
export async function withCacheLock<T>(toolCache: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(toolCache, '.secgate-test-install.lock');
  const deadline = Date.now() + timeoutMs;
  await mkdir(toolCache, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      let alive = false;
      try {
        if (owner > 0) alive = process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (!alive && age > 5_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the install lock ${lock}`, { cause: error });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** A serialisable install spec: a binary's asset is fixed for the one version the test installs. */
export type InstallRecipe =
  | { kind: 'python'; tool: string; distribution: string; module: string; script?: string; defaultVersion: string }
  | {
      kind: 'binary';
      tool: string;
      defaultVersion: string;
      asset: { urlPath: string; assetName: string; archive: 'tar.gz' | 'zip' | 'none'; executable: string };
    };

export interface InstallProcessResult {
  pid: number;
  /** Per tool: the install as the process saw it, or the error it got. */
  tools: Record<string, { ok: true; dir: string; command: string; cacheHit: boolean; verified: boolean } | { ok: false; error: string; name: string }>;
  /** The installer's info and warning lines. */
  logs: string[];
}

// Runs packages/core/src/install/installer.ts itself (not a bundle) in a fresh Node 24 process:
// type stripping plus a resolve hook for the sources' `.js` import suffixes.
const RESOLVE_HOOK = `
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(url))) return next(url.href.replace(/\\.js$/, '.ts'), context);
  }
  return next(specifier, context);
}
`;
const REGISTER = `import { register } from 'node:module';\nregister(new URL('./resolve-hook.mjs', import.meta.url));\n`;
const RESULT_SENTINEL = '--- secgate install result ---';
const WORKER = `
const RESULT_SENTINEL = ${JSON.stringify(RESULT_SENTINEL)};
const [installerPath, requestFile] = process.argv.slice(2);
const { ToolInstaller } = await import(installerPath);
const { readFileSync } = await import('node:fs');
const request = JSON.parse(readFileSync(requestFile, 'utf8'));
const logs = [];
const logger = { debug() {}, info: (m) => logs.push(m), warning: (m) => logs.push(m), error: (m) => logs.push(m), group: async (_n, fn) => fn() };
const installer = new ToolInstaller({ ...request.options, logger });
const specs = request.recipes.map((r) => (r.kind === 'binary' ? { ...r, asset: () => r.asset } : r));
// The start signal: every process waits for it, so the installs really overlap.
while (request.startAt > Date.now()) await new Promise((r) => setTimeout(r, 10));
const settled = await Promise.allSettled(specs.map((spec) => installer.install(spec)));
const tools = {};
settled.forEach((s, i) => {
  const tool = specs[i].tool;
  tools[tool] = s.status === 'fulfilled'
    ? { ok: true, dir: s.value.dir, command: s.value.command, cacheHit: s.value.cacheHit, verified: s.value.verified }
    : { ok: false, error: String(s.reason?.message ?? s.reason), name: String(s.reason?.name) };
});
// tool-cache writes ::debug:: lines to stdout: the result is the line after the sentinel.
process.stdout.write('\\n' + RESULT_SENTINEL + '\\n' + JSON.stringify({ pid: process.pid, tools, logs }) + '\\n');
`;

/**
 * Starts `count` separate Node processes that each run `installer.install()` for every recipe at
 * the same moment, against `RUNNER_TOOL_CACHE=toolCache`; resolves with what each process got.
 */
export async function installInProcesses(request: {
  count: number;
  toolCache: string;
  tempRoot: string;
  recipes: InstallRecipe[];
  options: Record<string, unknown>;
  node: string;
  repoRoot: string;
}): Promise<InstallProcessResult[]> {
  const scripts = path.join(request.tempRoot, 'install-worker');
  await mkdir(scripts, { recursive: true });
  await writeFile(path.join(scripts, 'resolve-hook.mjs'), RESOLVE_HOOK);
  await writeFile(path.join(scripts, 'register.mjs'), REGISTER);
  await writeFile(path.join(scripts, 'worker.mjs'), WORKER);
  const installer = path.join(request.repoRoot, 'packages', 'core', 'src', 'install', 'installer.ts');
  // In a file: the options hold the whole tools lock (npm lockfiles included), too big for argv.
  const payload = path.join(scripts, 'request.json');
  await writeFile(payload, JSON.stringify({ options: request.options, recipes: request.recipes, startAt: Date.now() + 1_500 }));
  const runs = Array.from({ length: request.count }, async (_, i) => {
    const temp = path.join(request.tempRoot, `process-${i}`);
    await mkdir(temp, { recursive: true });
    const env = { ...process.env, RUNNER_TOOL_CACHE: request.toolCache, RUNNER_TEMP: temp, NODE_OPTIONS: '' };
    const args = ['--experimental-transform-types', '--no-warnings', '--import', path.join(scripts, 'register.mjs'), path.join(scripts, 'worker.mjs'), installer, payload];
    const run = await runRaw(request.node, args, request.repoRoot, env);
    if (run.code !== 0) throw new Error(`install process ${i} exited ${run.code}: ${run.stderr.slice(-2000)}`);
    const result = run.stdout.split(`\n${RESULT_SENTINEL}\n`)[1];
    if (result === undefined) throw new Error(`install process ${i} printed no result: ${run.stdout.slice(-2000)}`);
    return JSON.parse(result) as InstallProcessResult;
  });
  return Promise.all(runs);
}
