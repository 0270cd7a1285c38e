/**
 * A small client for an OSV-compatible API (`GET /v1/vulns/{id}`), used to enrich tool results that carry advisory ids
 * but no severity. Bounded retries on 5xx, 429, timeouts and refused connections; an unreachable service is a
 * ToolFailureError naming the URL, never "0 vulnerabilities". One cache per process (= per run).
 */
import { ConfigurationError, ReportReader, ToolFailureError } from '@secgate/core';
import type { OsvAffected, OsvRecord, OsvSeverity } from './severity.js';

export const DEFAULT_OSV_URL = 'https://api.osv.dev';

export interface OsvClientOptions {
  /** The tool the lookup is for (names the error). */
  tool?: string;
  /** Attempts per request, 1–10 (default 3). */
  attempts?: number;
  /** Per-attempt time limit (default 15 s). */
  timeoutMs?: number;
  /** Wait before the second attempt; doubled each time (default 250 ms). */
  backoffMs?: number;
}

/** `osv-url` as given: an http(s) base URL without query or fragment. Returned without a trailing slash. */
export function parseOsvUrl(value: string, key = 'osv-url'): string {
  const text = value.trim() === '' ? DEFAULT_OSV_URL : value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(`'${redactUrl(text)}' is not a URL`, key);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(`'${redactUrl(text)}' is not an http(s) URL`, key);
  if (url.search || url.hash) throw new ConfigurationError(`'${redactUrl(text)}' must not carry a query or fragment`, key);
  return url.toString().replace(/\/+$/, '');
}

/** The URL without user information, for messages (a mirror URL may embed credentials). */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    return url.toString();
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//***@');
  }
}

const cache = new Map<string, Promise<OsvRecord | undefined>>();

/** Forget every cached record (tests; a long-lived process serving several runs). */
export function clearOsvCache(): void {
  cache.clear();
}

const RETRYABLE_STATUS = (status: number): boolean => status === 429 || status >= 500;

class Retryable extends Error {}

function readSeverities(reader: ReportReader, value: unknown, where: string): OsvSeverity[] | undefined {
  if (value === undefined) return undefined;
  return reader.each(value, where, (item, at) => {
    const entry = reader.object(item, at);
    return { type: reader.word(entry['type'], `${at}.type`), score: reader.string(entry['score'], `${at}.score`) };
  });
}

/** Strict read of the fields secgate uses; anything else in the record is ignored. */
export function readOsvRecord(value: unknown, tool: string, where = 'OSV record'): OsvRecord {
  const reader = new ReportReader(tool);
  const record = reader.object(value, where);
  const aliases = record['aliases'] === undefined || record['aliases'] === null ? undefined : reader.each(record['aliases'], `${where}.aliases`, (a, at) => reader.word(a, at));
  const affected = record['affected'] === undefined ? undefined : reader.each(record['affected'], `${where}.affected`, (item, at): OsvAffected => {
    const entry = reader.object(item, at);
    const pkg = entry['package'] === undefined ? undefined : reader.object(entry['package'], `${at}.package`);
    return {
      ...(pkg ? { package: { name: reader.word(pkg['name'], `${at}.package.name`), ecosystem: reader.word(pkg['ecosystem'], `${at}.package.ecosystem`) } } : {}),
      ...(entry['ranges'] === undefined
        ? {}
        : {
            ranges: reader.each(entry['ranges'], `${at}.ranges`, (r, rAt) => {
              const range = reader.object(r, rAt);
              return {
                type: reader.word(range['type'], `${rAt}.type`),
                events: reader.each(range['events'], `${rAt}.events`, (e, eAt) =>
                  Object.fromEntries(Object.entries(reader.object(e, eAt)).map(([k, v]) => [k, reader.string(v, `${eAt}.${k}`)]))
                )
              };
            })
          }),
      ...(entry['versions'] === undefined ? {} : { versions: reader.each(entry['versions'], `${at}.versions`, (v, vAt) => reader.string(v, vAt)) }),
      ...(entry['severity'] === undefined ? {} : { severity: readSeverities(reader, entry['severity'], `${at}.severity`) })
    };
  });
  const databaseSpecific = record['database_specific'] === undefined ? undefined : reader.object(record['database_specific'], `${where}.database_specific`);
  return {
    id: reader.word(record['id'], `${where}.id`),
    ...(aliases ? { aliases } : {}),
    ...(record['summary'] === undefined ? {} : { summary: reader.string(record['summary'], `${where}.summary`) }),
    ...(record['details'] === undefined ? {} : { details: reader.string(record['details'], `${where}.details`) }),
    ...(record['severity'] === undefined ? {} : { severity: readSeverities(reader, record['severity'], `${where}.severity`) }),
    ...(affected ? { affected } : {}),
    ...(databaseSpecific ? { database_specific: databaseSpecific } : {}),
    ...(record['withdrawn'] === undefined ? {} : { withdrawn: reader.string(record['withdrawn'], `${where}.withdrawn`) })
  };
}

async function fetchOnce(url: string, tool: string, id: string, timeoutMs: number): Promise<OsvRecord | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new Retryable(cause === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `could not connect (${cause})`);
  }
  const text = await response.text().catch(() => '');
  if (response.status === 404) return undefined;
  if (RETRYABLE_STATUS(response.status)) throw new Retryable(`HTTP ${response.status}`);
  if (!response.ok) throw new ToolFailureError(tool, `the OSV service at ${redactUrl(url)} answered HTTP ${response.status}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ToolFailureError(tool, `the OSV service at ${redactUrl(url)} answered with a body that is not JSON (${text.length} characters)`);
  }
  const record = readOsvRecord(json, tool, `OSV record ${id}`);
  if (record.id !== id && !(record.aliases ?? []).includes(id)) {
    throw new ToolFailureError(tool, `the OSV service at ${redactUrl(url)} answered with record ${record.id} for ${id}`);
  }
  return record;
}

/**
 * The OSV record `id` from `baseUrl` (`GET /v1/vulns/{id}`), or undefined when the service says it has none (404).
 * Throws ToolFailureError naming the URL when the service cannot be reached after bounded retries or answers garbage.
 */
export function fetchVulnerability(baseUrl: string, id: string, options: OsvClientOptions = {}): Promise<OsvRecord | undefined> {
  const base = baseUrl.replace(/\/+$/, '');
  const key = `${base}\u0000${id}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const tool = options.tool ?? 'osv';
  const attempts = Math.min(10, Math.max(1, options.attempts ?? 3));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const backoffMs = options.backoffMs ?? 250;
  const url = `${base}/v1/vulns/${encodeURIComponent(id)}`;
  const pending = (async () => {
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await fetchOnce(url, tool, id, timeoutMs);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        last = error.message;
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
      }
    }
    throw new ToolFailureError(tool, `the OSV service at ${redactUrl(url)} is unreachable after ${attempts} attempt(s): ${last}; no vulnerability data could be read, so nothing counts as checked`);
  })();
  // A failure is not cached: a later run (or retry by the caller) asks again.
  pending.catch(() => cache.delete(key));
  cache.set(key, pending);
  return pending;
}

/** Several records, at most `concurrency` requests at a time; same errors as fetchVulnerability. */
export async function fetchVulnerabilities(baseUrl: string, ids: readonly string[], options: OsvClientOptions & { concurrency?: number } = {}): Promise<Map<string, OsvRecord | undefined>> {
  const unique = [...new Set(ids)];
  const results = new Map<string, OsvRecord | undefined>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const id = unique[next++]!;
      results.set(id, await fetchVulnerability(baseUrl, id, options));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, unique.length) }, worker));
  return results;
}
