import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Finding, RawFinding } from './finding.js';

/** Collapses whitespace so re-indentation or trailing spaces do not change identity. */
export function normaliseSnippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads files once per run; a finding's snippet comes from the real source, whatever the tool printed. */
export class SourceCache {
  private readonly files = new Map<string, Promise<string[] | undefined>>();
  constructor(private readonly workspace: string) {}

  lines(relativePath: string): Promise<string[] | undefined> {
    let cached = this.files.get(relativePath);
    if (!cached) {
      cached = readFile(path.resolve(this.workspace, relativePath), 'utf8').then(
        (text) => text.split(/\r?\n/),
        () => undefined
      );
      this.files.set(relativePath, cached);
    }
    return cached;
  }
}

async function snippetAt(raw: RawFinding, sources: SourceCache): Promise<string | undefined> {
  const loc = raw.location;
  if (!loc?.startLine) return undefined;
  const lines = await sources.lines(loc.path);
  if (!lines) return undefined;
  const end = Math.min(loc.endLine ?? loc.startLine, loc.startLine + 9, lines.length);
  return lines.slice(loc.startLine - 1, end).join('\n');
}

/**
 * Gives each raw finding its stable fingerprint and display snippet. Line numbers are deliberately
 * not hashed; identical findings in one file are told apart by their order of appearance.
 */
export async function identify(raws: RawFinding[], sources: SourceCache): Promise<Finding[]> {
  const withKeys = await Promise.all(
    raws.map(async (raw) => {
      const text = await snippetAt(raw, sources);
      const basis = raw.identity ?? (text !== undefined ? normaliseSnippet(text) : `line:${raw.location?.startLine ?? 0}`);
      const key = [raw.tool, raw.ruleId, raw.location?.path ?? '', basis].join('\u0000');
      return { raw, text, key };
    })
  );
  const ordered = withKeys
    .map((entry, index) => ({ ...entry, index }))
    .sort((a, b) => (a.raw.location?.startLine ?? 0) - (b.raw.location?.startLine ?? 0) || a.index - b.index);
  const seen = new Map<string, number>();
  const result: Finding[] = new Array(raws.length);
  for (const entry of ordered) {
    const ordinal = seen.get(entry.key) ?? 0;
    seen.set(entry.key, ordinal + 1);
    const fingerprint = sha256(`${entry.key}\u0000${ordinal}`).slice(0, 32);
    const snippet = entry.raw.sensitive || entry.text === undefined ? undefined : truncate(entry.text.trim(), 300);
    result[entry.index] = {
      ...entry.raw,
      fingerprint,
      snippet,
      sources: [{ tool: entry.raw.tool, ruleId: entry.raw.ruleId }]
    };
  }
  return result;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
