import { spawn } from 'node:child_process';
import { ToolFailureError, ToolTimeoutError } from './errors.js';

export interface ExecRequest {
  tool: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Bytes of stdout kept in memory; tools with big reports write them to a file instead. */
  maxStdoutBytes?: number;
  /** Characters of stderr kept (the tail); default STDERR_TAIL_CHARS. */
  maxStderrChars?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  /** The last part of stderr (at most STDERR_TAIL_CHARS). */
  stderr: string;
  durationMs: number;
}

export const STDERR_TAIL_CHARS = 20_000;
const KILL_GRACE_MS = 3_000;

/**
 * The one way secgate runs a tool: never throws for a non-zero exit (the adapter decides what an
 * exit code means), throws ToolFailureError when the program cannot start and ToolTimeoutError
 * when it overruns its time limit.
 */
export async function runTool(request: ExecRequest): Promise<ExecResult> {
  // ETXTBSY: a just-installed executable can still be held open for writing by a child forked
  // concurrently (the fd lives until that child execs). It clears within milliseconds.
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(request);
    } catch (error) {
      if (!(error instanceof TextBusyError) || attempt >= 5) {
        throw error instanceof TextBusyError ? new ToolFailureError(request.tool, `could not start: ${request.command} is busy (ETXTBSY)`) : error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

class TextBusyError extends Error {}

function runOnce(request: ExecRequest): Promise<ExecResult> {
  const started = Date.now();
  const maxStdout = request.maxStdoutBytes ?? 256 * 1024 * 1024;
  const maxStderr = request.maxStderrChars ?? STDERR_TAIL_CHARS;
  return new Promise((resolve, reject) => {
    const child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own, so a timeout also ends the tool's children (pip, git, ...).
      detached: process.platform !== 'win32'
    });
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let stderrTail = '';
    let timedOut = false;

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdout) stdoutOverflow = true;
      else stdoutChunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-maxStderr);
    });

    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, request.timeoutMs);

    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ETXTBSY') {
        reject(new TextBusyError(error.message));
        return;
      }
      const what = error.code === 'ENOENT' ? `executable not found: ${request.command}` : error.message;
      reject(new ToolFailureError(request.tool, `could not start: ${what}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new ToolTimeoutError(request.tool, request.timeoutMs, stderrTail));
        return;
      }
      if (stdoutOverflow) {
        reject(new ToolFailureError(request.tool, `printed more than ${maxStdout} bytes on stdout`));
        return;
      }
      if (code === null) {
        reject(new ToolFailureError(request.tool, `was killed by signal ${signal}`, undefined, stderrTail));
        return;
      }
      resolve({
        exitCode: code,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderr: stderrTail,
        durationMs: Date.now() - started
      });
    });
  });
}
