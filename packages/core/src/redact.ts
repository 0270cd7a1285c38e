import type { Finding } from './finding.js';
import type { SourceCache } from './fingerprint.js';

/**
 * Secret hiding across tools. A secret finding (`sensitive`) never carries source text, but other
 * tools report the same lines: a multi-line `requests.get(...)` whose range covers a password line
 * would print that line as its snippet. Every line of every secret finding's range is therefore
 * off limits to every finding, whatever the tool and wherever the other finding starts.
 */

/** Shown instead of a message or title that quotes text from a line where a secret was found. */
export const WITHHELD_TEXT = '[withheld: it quotes a line where a secret was found]';

/**
 * Shortest run of secret text looked for in messages and titles. Shorter runs match ordinary words
 * ("import", "token"); eight characters of a credential are enough to matter.
 */
export const QUOTE_WINDOW = 8;

/** Over this much secret text in one file, overlapping findings' messages are withheld unchecked. */
const MAX_SECRET_TEXT_PER_FILE = 1_000_000;

interface SecretSpan {
  startLine: number;
  endLine: number;
  startColumn?: number;
  endColumn?: number;
}

/** Secret lines of one file as sorted, non-overlapping [start, end] intervals: O(log n) per query. */
class IntervalSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(spans: readonly SecretSpan[]) {
    const sorted = [...spans].sort((a, b) => a.startLine - b.startLine);
    for (const span of sorted) {
      const last = this.ends.length - 1;
      if (last >= 0 && span.startLine <= this.ends[last]! + 1) this.ends[last] = Math.max(this.ends[last]!, span.endLine);
      else {
        this.starts.push(span.startLine);
        this.ends.push(span.endLine);
      }
    }
  }

  /** True when some secret line lies in [start, end]. */
  intersects(start: number, end: number): boolean {
    // First interval whose end is at or after `start`.
    let low = 0;
    let high = this.ends.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ends[mid]! < start) low = mid + 1;
      else high = mid;
    }
    return low < this.starts.length && this.starts[low]! <= end;
  }
}

interface FileSecrets {
  spans: SecretSpan[];
  lines?: IntervalSet;
  /** Every QUOTE_WINDOW-long run of the file's secret text; `null`: unknown or too much text, withhold. */
  windows?: Set<string> | null;
  /** Secret tokens shorter than QUOTE_WINDOW, matched whole. */
  shortTokens?: string[];
}

function lineRange(finding: Finding): [number, number] | undefined {
  const start = finding.location?.startLine;
  if (!start || start < 1) return undefined;
  const end = finding.location?.endLine;
  return [start, end && end > start ? end : start];
}

/** The text a secret finding points at: its columns on a single line, else its whole lines. */
function spanText(span: SecretSpan, lines: string[]): string | undefined {
  if (span.startLine > lines.length) return undefined;
  const text = lines.slice(span.startLine - 1, Math.min(span.endLine, lines.length)).join('\n');
  if (span.startLine === span.endLine && span.startColumn && span.endColumn && span.endColumn >= span.startColumn) {
    // One column of slack on each side: tools disagree about 0/1-based and inclusive ends.
    return text.slice(Math.max(0, span.startColumn - 2), span.endColumn + 1);
  }
  return text;
}

function buildWindows(file: FileSecrets, lines: string[] | undefined): void {
  if (!lines) {
    file.windows = null;
    return;
  }
  const windows = new Set<string>();
  const shortTokens = new Set<string>();
  let budget = MAX_SECRET_TEXT_PER_FILE;
  const seen = new Set<string>();
  for (const span of file.spans) {
    const key = `${span.startLine}:${span.endLine}:${span.startColumn ?? ''}:${span.endColumn ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const text = spanText(span, lines);
    if (text === undefined) {
      file.windows = null;
      return;
    }
    budget -= text.length;
    if (budget < 0) {
      file.windows = null;
      return;
    }
    // Whitespace is left out: indentation and spacing would match any message.
    for (const token of text.split(/\s+/)) {
      if (token.length < QUOTE_WINDOW) {
        if (token.length >= 4) shortTokens.add(token);
        continue;
      }
      for (let i = 0; i + QUOTE_WINDOW <= token.length; i++) windows.add(token.slice(i, i + QUOTE_WINDOW));
    }
  }
  file.windows = windows;
  file.shortTokens = [...shortTokens];
}

function quotesSecret(text: string, file: FileSecrets): boolean {
  if (file.windows === null) return true;
  for (const token of text.split(/\s+/)) {
    for (let i = 0; i + QUOTE_WINDOW <= token.length; i++) if (file.windows!.has(token.slice(i, i + QUOTE_WINDOW))) return true;
  }
  return file.shortTokens!.some((short) => text.includes(short));
}

/**
 * Hides every line on which any tool saw a secret: a finding whose line range [start, end] (which
 * contains its snippet window) touches such a line loses its snippet and is marked sensitive, and
 * with `sources` its message and title are withheld when they quote the secret's text. Near-linear:
 * secret lines are indexed per file as merged intervals, never compared pairwise.
 */
export function hideSecretLines(findings: Finding[], sources?: SourceCache): Finding[] {
  const files = new Map<string, FileSecrets>();
  for (const finding of findings) {
    if (!finding.sensitive || !finding.location) continue;
    const range = lineRange(finding);
    if (!range) continue;
    let file = files.get(finding.location.path);
    if (!file) files.set(finding.location.path, (file = { spans: [] }));
    file.spans.push({ startLine: range[0], endLine: range[1], startColumn: finding.location.startColumn, endColumn: finding.location.endColumn });
  }
  if (files.size === 0) return findings;
  for (const file of files.values()) file.lines = new IntervalSet(file.spans);

  return findings.map((finding) => {
    if (finding.sensitive || !finding.location) return finding;
    const file = files.get(finding.location.path);
    const range = lineRange(finding);
    if (!file || !range || !file.lines!.intersects(range[0], range[1])) return finding;
    const hidden: Finding = { ...finding, sensitive: true, snippet: undefined };
    if (sources) {
      if (file.windows === undefined) buildWindows(file, sources.linesOf(finding.location.path));
      if (quotesSecret(finding.message, file)) hidden.message = WITHHELD_TEXT;
      if (quotesSecret(finding.title, file)) hidden.title = `${finding.ruleId}: ${WITHHELD_TEXT}`;
    }
    return hidden;
  });
}
