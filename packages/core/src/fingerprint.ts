import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { Finding, RawFinding } from './finding.js';

/** Collapses whitespace so re-indentation or trailing spaces do not change identity. */
export function normaliseSnippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads each file at most once per run; a finding's snippet comes from the real source, whatever the tool printed. */
export class SourceCache {
  private readonly files = new Map<string, string[] | undefined>();
  constructor(private readonly workspace: string) {}

  /** Loads the given files (bounded concurrency), skipping those already loaded. */
  async load(relativePaths: Iterable<string>, concurrency = 16): Promise<void> {
    const pending = [...new Set(relativePaths)].filter((p) => !this.files.has(p));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length) {
        const file = pending[next++]!;
        const absolute = path.resolve(this.workspace, file);
        // stat without throwing: reports can name thousands of files that are not in this tree.
        const info = statSync(absolute, { throwIfNoEntry: false });
        if (!info?.isFile()) {
          this.files.set(file, undefined);
          continue;
        }
        this.files.set(file, await readFile(absolute, 'utf8').then((text) => text.split(/\r?\n/), () => undefined));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  }

  /** Lines of a loaded file (undefined when missing or not loaded). */
  linesOf(relativePath: string): string[] | undefined {
    return this.files.get(relativePath);
  }
}

function snippetAt(raw: RawFinding, sources: SourceCache): string | undefined {
  const loc = raw.location;
  if (!loc?.startLine) return undefined;
  const lines = sources.linesOf(loc.path);
  if (!lines) return undefined;
  const end = Math.min(loc.endLine ?? loc.startLine, loc.startLine + 9, lines.length);
  return lines.slice(loc.startLine - 1, end).join('\n');
}

/**
 * Gives each raw finding its stable fingerprint and display snippet. Line numbers are deliberately
 * not hashed; identical findings in one file are told apart by their order of appearance.
 */
export async function identify(raws: RawFinding[], sources: SourceCache): Promise<Finding[]> {
  // Source text is needed for the fingerprint (no identity) or the snippet (not sensitive).
  await sources.load(raws.flatMap((raw) => (raw.location?.startLine && (raw.identity === undefined || !raw.sensitive) ? [raw.location.path] : [])));
  const order = raws.map((_, index) => index);
  order.sort((a, b) => (raws[a]!.location?.startLine ?? 0) - (raws[b]!.location?.startLine ?? 0) || a - b);
  const seen = new Map<string, number>();
  const result: Finding[] = new Array(raws.length);
  for (const index of order) {
    const raw = raws[index]!;
    const text = snippetAt(raw, sources);
    const basis = raw.identity ?? (text !== undefined ? normaliseSnippet(text) : `line:${raw.location?.startLine ?? 0}`);
    const key = `${raw.tool}\u0000${raw.ruleId}\u0000${raw.location?.path ?? ''}\u0000${basis}`;
    const ordinal = seen.get(key) ?? 0;
    seen.set(key, ordinal + 1);
    result[index] = {
      ...raw,
      fingerprint: sha256(`${key}\u0000${ordinal}`).slice(0, 32),
      snippet: raw.sensitive || text === undefined ? undefined : truncate(text.trim(), 300),
      sources: [{ tool: raw.tool, ruleId: raw.ruleId }]
    };
  }
  return result;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
