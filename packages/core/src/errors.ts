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
  | 'tool-skipped'
  | 'tool-incomplete'
  | 'nothing-checked'
  | 'findings-over-threshold';

// Each subclass spells out its `name`: bundlers rename classes (ncc: `errors_ConfigurationError`),
// and the name reaches the JSON report and the summary.
export abstract class SecgateError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string) {
    super(message);
  }
}

/** The user's inputs or policy file are wrong. `key` points at the bad setting. */
export class ConfigurationError extends SecgateError {
  override readonly name: string = 'ConfigurationError';
  readonly kind = 'configuration' as const;
  constructor(message: string, readonly key?: string) {
    super(key ? `${key}: ${message}` : message);
  }
}

/** Download, checksum, extraction or pip install of a tool failed. */
export class ToolInstallError extends SecgateError {
  override readonly name: string = 'ToolInstallError';
  readonly kind = 'tool-install' as const;
  constructor(readonly tool: string, message: string) {
    super(`${tool}: install failed: ${message}`);
  }
}

/** SHA-256 of a downloaded asset differs from the committed lock. */
export class ChecksumMismatchError extends ToolInstallError {
  override readonly name: string = 'ChecksumMismatchError';
  constructor(tool: string, readonly asset: string, readonly expected: string, readonly actual: string) {
    super(tool, `checksum mismatch for ${asset}: expected sha256 ${expected}, got ${actual}`);
  }
}

/** The tool ran but crashed, exited with a code that means "error", or could not start. */
export class ToolFailureError extends SecgateError {
  override readonly name: string = 'ToolFailureError';
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
  override readonly name: string = 'ToolTimeoutError';
  override readonly kind = 'tool-timeout' as const;
  constructor(tool: string, readonly timeoutMs: number, stderrTail?: string) {
    super(tool, `timed out after ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was killed`, undefined, stderrTail);
  }
}

/**
 * The tool's report is missing, empty, truncated or not in the expected shape. `detail` is the
 * problem without the tool prefix, so the engine can re-raise it with the tool's stderr tail (an
 * empty report usually means the tool crashed, and only its stderr says why).
 */
export class ToolOutputError extends ToolFailureError {
  override readonly name: string = 'ToolOutputError';
  override readonly kind = 'tool-output' as const;
  constructor(
    tool: string,
    readonly detail: string,
    stderrTail?: string
  ) {
    super(tool, `unreadable output: ${detail}`, undefined, stderrTail);
  }
}

/**
 * A tool the user asked for did not run (nothing it could scan here, or a precondition failed).
 * Never a pass: a tool that is not wanted is deselected (`tools` input, policy `enabled: false`).
 */
export class ToolSkippedError extends SecgateError {
  override readonly name: string = 'ToolSkippedError';
  readonly kind = 'tool-skipped' as const;
  constructor(
    readonly tool: string,
    readonly reason: string
  ) {
    super(`${tool}: requested but not run: ${reason}; deselect it (tools input) if it is not wanted here`);
  }
}

/** One thing a tool could not check, as the incomplete-run error lists it. */
export interface UncheckedLabel {
  name: string;
  version?: string;
  reason: string;
}

/**
 * The tool ran but could not check everything it was asked to (a dependency its vulnerability
 * service does not know, a model file no scanner could read). Its silence about those says
 * nothing, so the run is not a pass unless the policy ledger allows each item (`unaudited`).
 */
export class ToolIncompleteError extends SecgateError {
  override readonly name: string = 'ToolIncompleteError';
  readonly kind = 'tool-incomplete' as const;
  constructor(
    readonly tool: string,
    readonly items: readonly UncheckedLabel[],
    readonly noun: string = 'dependencies'
  ) {
    const shown = items.slice(0, 10).map((item) => `${item.name}${item.version ? ` ${item.version}` : ''} (${item.reason})`);
    super(`${tool} could not check ${items.length} ${noun}: ${shown.join(', ')}${items.length > 10 ? `, … ${items.length - 10} more` : ''}`);
  }
}

/**
 * Every selected tool found nothing of its kind here (no lockfile, no model file): nothing was
 * checked, which is not a pass.
 */
export class NothingCheckedError extends SecgateError {
  override readonly name: string = 'NothingCheckedError';
  readonly kind = 'nothing-checked' as const;
  constructor(readonly reasons: readonly { tool: string; reason: string }[]) {
    super(`no selected tool had anything to check: ${reasons.map((r) => `${r.tool} (${r.reason})`).join(', ')}`);
  }
}

/** The gate itself: findings at or above `fail-on` remain after policy. */
export class FindingsOverThresholdError extends SecgateError {
  override readonly name: string = 'FindingsOverThresholdError';
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
