import { readFile, writeFile } from 'node:fs/promises';
import { ConfigurationError } from '../errors.js';
import type { Finding } from '../finding.js';

export interface BaselineFile {
  version: 1;
  generatedAt: string;
  findings: { fingerprint: string; tool: string; ruleId: string; path?: string }[];
}

export const DEFAULT_BASELINE_FILE = '.secgate-baseline.json';

export async function readBaseline(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `cannot read baseline ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); create it with 'secgate baseline'`,
      'baseline'
    );
  }
  let parsed: BaselineFile;
  try {
    parsed = JSON.parse(text) as BaselineFile;
  } catch (error) {
    throw new ConfigurationError(`baseline ${file} is not valid JSON: ${(error as Error).message}`, 'baseline');
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.findings)) {
    throw new ConfigurationError(`baseline ${file} is not a secgate baseline (version 1)`, 'baseline');
  }
  return new Set(parsed.findings.map((f) => f.fingerprint));
}

export async function writeBaseline(file: string, findings: Finding[], now = new Date()): Promise<BaselineFile> {
  const content: BaselineFile = {
    version: 1,
    generatedAt: now.toISOString(),
    findings: findings
      .map((f) => ({ fingerprint: f.fingerprint, tool: f.tool, ruleId: f.ruleId, path: f.location?.path }))
      .sort((a, b) => (a.path ?? '').localeCompare(b.path ?? '') || a.fingerprint.localeCompare(b.fingerprint))
  };
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`);
  return content;
}
