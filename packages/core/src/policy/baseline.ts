import { stat, writeFile } from 'node:fs/promises';
import { ConfigurationError } from '../errors.js';
import type { Finding } from '../finding.js';
import { readRegularFile } from '../workspace.js';

export interface BaselineFile {
  version: 1;
  generatedAt: string;
  findings: { fingerprint: string; tool: string; ruleId: string; path?: string }[];
}

export const DEFAULT_BASELINE_FILE = '.secgate-baseline.json';

/** Baselines of big repositories hold many thousand fingerprints; far beyond that is not a baseline. */
export const MAX_BASELINE_BYTES = 64 * 1024 * 1024;

export async function readBaseline(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readRegularFile(file, file, 'baseline', { maxBytes: MAX_BASELINE_BYTES });
  } catch (error) {
    const code = await stat(file).then(() => undefined, (e: NodeJS.ErrnoException) => e.code ?? 'error');
    if (code) throw new ConfigurationError(`cannot read baseline ${file} (${code}); create it with 'secgate baseline'`, 'baseline');
    throw error;
  }
  return parseBaseline(text, file);
}

/**
 * The fingerprints of a baseline file's text. Errors give the position, never the text: a
 * baseline path can name any file, and JSON.parse quotes what it chokes on.
 */
export function parseBaseline(text: string, file: string): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    const where = position === undefined ? '' : ` (at ${lineAndColumn(text, Number(position))})`;
    throw new ConfigurationError(`baseline ${file} is not valid JSON${where}`, 'baseline');
  }
  const baseline = parsed as Partial<BaselineFile> | null;
  if (typeof baseline !== 'object' || baseline === null || baseline.version !== 1 || !Array.isArray(baseline.findings)) {
    throw new ConfigurationError(`baseline ${file} is not a secgate baseline (version 1)`, 'baseline');
  }
  const fingerprints = new Set<string>();
  baseline.findings.forEach((entry: unknown, index) => {
    const fingerprint = (entry as { fingerprint?: unknown } | null)?.fingerprint;
    if (typeof fingerprint !== 'string' || !/^[0-9a-f]{32}$/.test(fingerprint)) {
      throw new ConfigurationError(`baseline ${file}: findings[${index}].fingerprint is not 32 hex digits`, 'baseline');
    }
    fingerprints.add(fingerprint);
  });
  return fingerprints;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

export async function writeBaseline(file: string, findings: Finding[], now = new Date()): Promise<BaselineFile> {
  const content: BaselineFile = {
    version: 1,
    generatedAt: now.toISOString(),
    // A merged vulnerability contributes every tool's fingerprint: the next run's lead may be another tool.
    findings: findings
      .flatMap((f) => [
        { fingerprint: f.fingerprint, tool: f.tool, ruleId: f.ruleId, path: f.location?.path },
        ...f.sources.flatMap((s) =>
          s.fingerprint !== undefined && s.fingerprint !== f.fingerprint ? [{ fingerprint: s.fingerprint, tool: s.tool, ruleId: s.ruleId, path: f.location?.path }] : []
        )
      ])
      .sort((a, b) => (a.path ?? '').localeCompare(b.path ?? '') || a.fingerprint.localeCompare(b.fingerprint))
  };
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`);
  return content;
}
