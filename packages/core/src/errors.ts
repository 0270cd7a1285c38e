/**
 * Error taxonomy. Every way a stage can end red has its own class, so the step
 * message says which kind of problem it was and a tool error can never be
 * mistaken for "0 findings".
 */
export type ErrorKind =
  | 'configuration'
  | 'tool-install'
  | 'tool-failure'
  | 'tool-timeout'
  | 'tool-output'
  | 'findings-over-threshold';

export abstract class SecgateError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The user's inputs or policy file are wrong. `key` points at the bad setting. */
export class ConfigurationError extends SecgateError {
  readonly kind = 'configuration' as const;
  constructor(message: string, readonly key?: string) {
    super(key ? `${key}: ${message}` : message);
  }
}

/** Download, checksum, extraction or pip install of a tool failed. */
export class ToolInstallError extends SecgateError {
  readonly kind = 'tool-install' as const;
  constructor(readonly tool: string, message: string) {
    super(`${tool}: install failed: ${message}`);
  }
}

/** SHA-256 of a downloaded asset differs from the committed lock. */
export class ChecksumMismatchError extends ToolInstallError {
  constructor(tool: string, readonly asset: string, readonly expected: string, readonly actual: string) {
    super(tool, `checksum mismatch for ${asset}: expected sha256 ${expected}, got ${actual}`);
  }
}

/** The tool ran but crashed, exited with a code that means "error", or could not start. */
export class ToolFailureError extends SecgateError {
  readonly kind: ErrorKind = 'tool-failure';
  constructor(
    readonly tool: string,
    message: string,
    readonly exitCode?: number,
    readonly stderrTail?: string
  ) {
    super(`${tool}: ${message}${stderrTail ? ` — stderr tail: ${lastLines(stderrTail, 5)}` : ''}`);
  }
}

/** The tool did not finish within its time limit and was killed. */
export class ToolTimeoutError extends ToolFailureError {
  override readonly kind = 'tool-timeout' as const;
  constructor(tool: string, readonly timeoutMs: number, stderrTail?: string) {
    super(tool, `timed out after ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was killed`, undefined, stderrTail);
  }
}

/** The tool's report is missing, empty, truncated or not in the expected shape. */
export class ToolOutputError extends ToolFailureError {
  override readonly kind = 'tool-output' as const;
  constructor(tool: string, message: string) {
    super(tool, `unreadable output: ${message}`);
  }
}

/** The gate itself: findings at or above `fail-on` remain after policy. */
export class FindingsOverThresholdError extends SecgateError {
  readonly kind = 'findings-over-threshold' as const;
  constructor(readonly count: number, readonly threshold: string) {
    super(`${count} finding(s) at or above severity '${threshold}'`);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error);
  } catch {
    return String(error);
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split(/\r?\n/).slice(-count).join(' | ');
}
