import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { StepResult } from './runner.js';

/** Files bigger than this are not read (no report of a test run comes near it). */
const MAX_SCANNED_BYTES = 32 * 1024 * 1024;

/** Every regular file under `dir`, recursively (symlinks are not followed). */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

export interface SecretExposure {
  /** Where the secret was seen: `stdout`, `stderr`, `summary`, `output <name>` or a file path. */
  places: string[];
  /** The files that were read (so a test can check the reports it cares about were among them). */
  scannedFiles: string[];
  /** Whether the step asked the runner to mask the secret (`::add-mask::<secret>`). */
  masked: boolean;
}

/**
 * Looks for `secret` (verbatim and base64-encoded, as a Basic header would carry it) everywhere a
 * step leaves text behind: stdout apart from its `::add-mask::` lines (the runner masks from that
 * line on), stderr, the step summary, every output, and every file under `jobRoot` (GITHUB_OUTPUT,
 * the summary file, SARIF, JSON report, SBOM and the tools' temp files, when the job is the step's own).
 */
export async function findSecretExposure(step: StepResult, secret: string, jobRoot: string): Promise<SecretExposure> {
  const forms = [secret, Buffer.from(secret).toString('base64')];
  const contains = (text: string): boolean => forms.some((form) => text.includes(form));
  const places: string[] = [];
  const stdout = step.stdout
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  if (contains(stdout)) places.push('stdout');
  if (contains(step.stderr)) places.push('stderr');
  if (contains(step.summary)) places.push('summary');
  for (const [name, value] of Object.entries(step.outputs)) if (contains(value)) places.push(`output ${name}`);
  const scannedFiles: string[] = [];
  for (const file of await filesUnder(jobRoot)) {
    if ((await stat(file)).size > MAX_SCANNED_BYTES) {
      places.push(`${file} (too big to check)`);
      continue;
    }
    scannedFiles.push(file);
    if (contains(await readFile(file, 'latin1'))) places.push(file);
  }
  const masked = step.commands.some((c) => c.command === 'add-mask' && c.message === secret);
  return { places, scannedFiles, masked };
}
