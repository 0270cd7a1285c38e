import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { STDERR_TAIL_CHARS, ToolFailureError, ToolTimeoutError, runTool } from '@secgate/core';

const NODE = process.execPath;

/** Dead, or a zombie waiting for a reaper (its process is gone either way). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function waitUntilDead(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-exec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runTool', () => {
  it('captures stdout, stderr and the exit code', async () => {
    const result = await runTool({
      tool: 'node',
      command: NODE,
      args: ['-e', 'process.stdout.write("héllo " + process.argv[1]); process.stderr.write("warn"); process.exitCode = 0', 'world'],
      timeoutMs: 30_000
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('héllo world');
    expect(result.stderr).toBe('warn');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes cwd and env through', async () => {
    const result = await runTool({
      tool: 'node',
      command: NODE,
      args: ['-e', 'console.log(process.cwd() + "|" + process.env.SECGATE_TEST_VAR)'],
      cwd: dir,
      env: { ...process.env, SECGATE_TEST_VAR: 'set' },
      timeoutMs: 30_000
    });
    expect(result.stdout.trim()).toBe(`${await realpath(dir)}|set`);
  });

  it('does not throw for a non-zero exit code', async () => {
    const result = await runTool({
      tool: 'node',
      command: NODE,
      args: ['-e', 'console.log("partial"); console.error("bad things"); process.exit(3)'],
      timeoutMs: 30_000
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('partial\n');
    expect(result.stderr).toBe('bad things\n');
  });

  it('reports a missing executable as ToolFailureError', async () => {
    const promise = runTool({ tool: 'ghost', command: path.join(dir, 'no-such-binary'), args: [], timeoutMs: 30_000 });
    await expect(promise).rejects.toBeInstanceOf(ToolFailureError);
    await expect(runTool({ tool: 'ghost', command: 'secgate-no-such-binary-xyz', args: [], timeoutMs: 30_000 })).rejects.toThrow(
      /^ghost: could not start: executable not found: secgate-no-such-binary-xyz/
    );
  });

  it('reports a process killed by a signal', async () => {
    await expect(
      runTool({ tool: 'node', command: NODE, args: ['-e', 'process.kill(process.pid, "SIGKILL")'], timeoutMs: 30_000 })
    ).rejects.toThrow(/node: was killed by signal SIGKILL/);
  });

  it('rejects more stdout than allowed', async () => {
    await expect(
      runTool({ tool: 'node', command: NODE, args: ['-e', 'process.stdout.write("x".repeat(10000))'], timeoutMs: 30_000, maxStdoutBytes: 1000 })
    ).rejects.toThrow(/printed more than 1000 bytes on stdout/);
  });

  it('kills an overrunning tool and its children on timeout', async () => {
    const pidFile = path.join(dir, 'child.pid');
    const script = [
      'const { spawn } = require("node:child_process");',
      'const fs = require("node:fs");',
      'const child = spawn("sleep", ["30"], { stdio: "ignore" });',
      `fs.writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));`,
      'process.stderr.write("started\\n");',
      'setTimeout(() => {}, 30000);'
    ].join('\n');
    const started = Date.now();
    const error = await runTool({ tool: 'slow', command: NODE, args: ['-e', script], timeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e
    );
    expect(error).toBeInstanceOf(ToolTimeoutError);
    expect(error).toBeInstanceOf(ToolFailureError);
    const timeout = error as ToolTimeoutError;
    expect(timeout.kind).toBe('tool-timeout');
    expect(timeout.timeoutMs).toBe(500);
    expect(timeout.message).toMatch(/^slow: timed out after 500 ms and was killed/);
    expect(timeout.stderrTail).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(10_000);

    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    // process.kill(pid, 0) throws ESRCH once it is reaped; a zombie (no reaper as PID 1 in some
    // containers) is just as dead, so isAlive() accepts either.
    expect(await waitUntilDead(pid, 5_000)).toBe(true);
  });

  it('escalates to SIGKILL when the tool ignores SIGTERM', async () => {
    const script = 'process.on("SIGTERM", () => {}); process.stderr.write("ready\\n"); setInterval(() => {}, 1000);';
    const started = Date.now();
    await expect(runTool({ tool: 'stubborn', command: NODE, args: ['-e', script], timeoutMs: 500 })).rejects.toBeInstanceOf(ToolTimeoutError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('keeps only the last 20,000 characters of stderr', async () => {
    const script = 'process.stderr.write("A".repeat(50000) + "B".repeat(15000) + "END");';
    const result = await runTool({ tool: 'node', command: NODE, args: ['-e', script], timeoutMs: 30_000 });
    expect(STDERR_TAIL_CHARS).toBe(20_000);
    expect(result.stderr.length).toBe(20_000);
    expect(result.stderr.endsWith('B'.repeat(15000) + 'END')).toBe(true);
    expect(result.stderr.startsWith('A'.repeat(20_000 - 15_003))).toBe(true);
  });
});
