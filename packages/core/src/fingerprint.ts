import { createHash, type Hash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Finding, RawFinding } from './finding.js';
import { isWithin } from './workspace.js';

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
    // Only files whose real path is inside the workspace are read: a symlink to outside must not
    // bring another file's content into snippets or fingerprints.
    const root = await realpath(this.workspace).catch(() => undefined);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length) {
        const file = pending[next++]!;
        const absolute = path.resolve(this.workspace, file);
        // stat without throwing: reports can name thousands of files that are not in this tree.
        // Any stat error (ENOTDIR, ELOOP, ENAMETOOLONG, EACCES…) means "no readable file here".
        let info: ReturnType<typeof statSync> | undefined;
        try {
          info = statSync(absolute, { throwIfNoEntry: false });
        } catch {
          info = undefined;
        }
        const real = info?.isFile() && root !== undefined ? realPathInside(root, absolute) : undefined;
        if (real === undefined) {
          this.files.set(file, undefined);
          continue;
        }
        this.files.set(file, await readFile(real, 'utf8').then((text) => text.split(/\r?\n/), () => undefined));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  }

  /** Lines of a loaded file (undefined when missing or not loaded). */
  linesOf(relativePath: string): string[] | undefined {
    return this.files.get(relativePath);
  }
}

function realPathInside(root: string, absolute: string): string | undefined {
  try {
    const real = realpathSync.native(absolute);
    return isWithin(root, real) ? real : undefined;
  } catch {
    return undefined;
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
/** Longer bases are hashed once per key and looked up by digest (see identify). */
const LONG_BASIS = 1024;

export async function identify(raws: RawFinding[], sources: SourceCache): Promise<Finding[]> {
  // Source text is needed for the fingerprint (no identity) or the snippet (not sensitive).
  await sources.load(raws.flatMap((raw) => (raw.location?.startLine && (raw.identity === undefined || !raw.sensitive) ? [raw.location.path] : [])));
  const order = raws.map((_, index) => index);
  order.sort((a, b) => (raws[a]!.location?.startLine ?? 0) - (raws[b]!.location?.startLine ?? 0) || a - b);
  // Many findings on one long line (30,000 on a 1 MB line happen) must not normalise, compare and
  // hash that line once per finding: source text is read once per place, and a long basis is
  // hashed once per key, its hash state copied per finding (same fingerprints as hashing it whole).
  const places = new Map<string, { text: string | undefined; basis: string; digest?: string }>();
  const seen = new Map<string, { count: number; hash?: Hash }>();
  const result: Finding[] = new Array(raws.length);
  for (const index of order) {
    const raw = raws[index]!;
    const placeKey = `${raw.location?.path}\u0000${raw.location?.startLine}\u0000${raw.location?.endLine}`;
    let place = places.get(placeKey);
    if (!place) {
      const found = snippetAt(raw, sources);
      place = { text: found, basis: found !== undefined ? normaliseSnippet(found) : `line:${raw.location?.startLine ?? 0}` };
      places.set(placeKey, place);
    }
    const text = place.text;
    const basis = raw.identity ?? place.basis;
    const prefix = `${raw.tool}\u0000${raw.ruleId}\u0000${raw.location?.path ?? ''}\u0000`;
    const long = basis.length > LONG_BASIS;
    const digest = long && raw.identity === undefined ? (place.digest ??= sha256(basis)) : long ? sha256(basis) : undefined;
    const seenKey = `${prefix}${digest !== undefined ? `h${digest}` : `t${basis}`}`;
    let entry = seen.get(seenKey);
    if (!entry) {
      entry = { count: 0, hash: long ? createHash('sha256').update(prefix).update(basis) : undefined };
      seen.set(seenKey, entry);
    }
    const ordinal = entry.count++;
    const fingerprint = entry.hash ? entry.hash.copy().update(`\u0000${ordinal}`).digest('hex') : sha256(`${prefix}${basis}\u0000${ordinal}`);
    result[index] = {
      ...raw,
      fingerprint: fingerprint.slice(0, 32),
      snippet: raw.sensitive || text === undefined ? undefined : truncate(text.trim(), 300),
      sources: [{ tool: raw.tool, ruleId: raw.ruleId }]
    };
  }
  return result;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
