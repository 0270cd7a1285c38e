/**
 * A loopback Clair v4 API (indexer + matcher) for the clair adapter's tests. No live Clair can be
 * built here (the Go module proxy refuses github.com/quay/clair/v4), so this implements the three
 * endpoints secgate calls, as quay/clair's httptransport does (indexer_v1.go, matcher_v1.go, error.go):
 *
 *   POST /indexer/api/v1/index_report                  Manifest → 201 IndexReport (400 {"code":"bad-request"} for a bogus manifest)
 *   GET  /indexer/api/v1/index_report/{digest}         → 200 IndexReport, 404 {"code":"not-found"}
 *   GET  /matcher/api/v1/vulnerability_report/{digest} → 200 VulnerabilityReport (or `reportStatus`), 404, 202 while "not ready"
 *
 * Like Clair's indexer it FETCHES every layer URI of the submitted manifest (with the manifest's
 * headers) and checks the bytes against the layer's hash; a layer that cannot be fetched or does
 * not match ends the index in state IndexError with Clair's style of message. So the adapter's
 * layer server is really exercised.
 *
 * Answers are the upstream API-doc examples, read at run time from
 * ../shared/fixtures/upstream/clair/{index_report.json,vulnerability_report.json} (never copied
 * into the repository). Changes made to them, and only these:
 *   - `manifest_hash` is set to the submitted manifest's hash (so the report routes to it);
 *   - the index report's `state` (and `success`/`err`) follow the simulated indexing;
 *   - with `introducedInLayer: n`, every environment's `introduced_in` (the example's
 *     sha256:35c1…, a layer of no image here) is set to the submitted manifest's layer n;
 *   - with `spelling: 'claircore'`, each vulnerability's `dist`/`repo` keys are renamed
 *     `distribution`/`repository` (what claircore's vulnerability.go writes; the doc example
 *     uses the short names); values untouched;
 *   - `transformReport` (a test's own edit, e.g. a severity word) is applied last.
 *
 * Bounded: after `maxRequests` requests every answer is 503 and `overLimit()` turns true. Faults
 * (status storms, 429 with Retry-After, delays, malformed or oversized bodies) are injectable per path.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { REPO_ROOT } from './runner.js';

export const CLAIR_FIXTURES = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'clair');

export function loadClairExample(name: 'index_report.json' | 'vulnerability_report.json'): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(CLAIR_FIXTURES, name), 'utf8')) as Record<string, unknown>;
}

export interface ClairApiRequest {
  method: string;
  path: string;
  status: number;
  fault?: string;
}

export interface LayerFetch {
  digest: string;
  uri: string;
  status: number;
  bytes: number;
  /** sha256 of the bytes received matched the layer's hash. */
  verified: boolean;
  error?: string;
}

export interface ClairFault {
  /** Applies to requests whose path starts with this (default: every path). */
  pathPrefix?: string;
  method?: string;
  /** Answer with this status and Clair's error body. */
  status?: number;
  /** Sent with a status answer (seconds). */
  retryAfter?: number;
  delayMs?: number;
  /** Answer 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Answer 200 with a JSON body of about this many bytes. */
  oversizedBytes?: number;
  /** Apply to this many matching requests (default: all). */
  times?: number;
}

export interface ClairApiOptions {
  spelling?: 'doc' | 'claircore';
  /** Status of the vulnerability report answer: 200 (what matcher_v1.go writes) or 201 (what api.md shows). */
  reportStatus?: 200 | 201;
  /** GET polls answered with an in-progress state before the index finishes (the POST then answers CheckManifest and fetches layers after). */
  indexingPolls?: number;
  /** End every index in IndexError with this `err`. */
  indexError?: string;
  /** GETs of the vulnerability report answered 202 (matcher not initialised) first. */
  matcherNotReady?: number;
  /** 1-based layer of the submitted manifest that environments' introduced_in name. */
  introducedInLayer?: number;
  transformReport?: (report: Record<string, unknown>) => Record<string, unknown>;
  maxRequests?: number;
  faults?: ClairFault[];
}

export interface ClairApi {
  url: string;
  requests: ClairApiRequest[];
  layerFetches: LayerFetch[];
  /** Manifests POSTed, as received. */
  manifests: unknown[];
  overLimit(): boolean;
  close(): Promise<void>;
}

interface IndexRecord {
  layers: { hash: string; uri: string; headers: Record<string, string[]> }[];
  state: string;
  err: string;
  polls: number;
  done: Promise<void>;
}

const MAX_LAYER_BYTES = 256 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const ERROR_CODES: Record<number, string> = { 400: 'bad-request', 404: 'not-found', 405: 'method-not-allowed', 429: 'too-many-requests' };

export async function startClairApi(options: ClairApiOptions = {}): Promise<ClairApi> {
  const indexExample = loadClairExample('index_report.json');
  const reportExample = loadClairExample('vulnerability_report.json');
  const maxRequests = options.maxRequests ?? 200;
  const requests: ClairApiRequest[] = [];
  const layerFetches: LayerFetch[] = [];
  const manifests: unknown[] = [];
  const indexes = new Map<string, IndexRecord>();
  const faults = (options.faults ?? []).map((f) => ({ ...f, left: f.times ?? Infinity }));
  let matcherNotReady = options.matcherNotReady ?? 0;
  let exceeded = false;

  const send = (res: ServerResponse, log: ClairApiRequest, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    log.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const apiError = (res: ServerResponse, log: ClairApiRequest, status: number, message: string, headers: Record<string, string> = {}): void =>
    send(res, log, status, { code: ERROR_CODES[status] ?? 'internal-error', message }, headers);

  /** Fetches and verifies each layer as Clair's fetcher does; the index ends IndexError on the first failure. */
  const fetchLayers = async (record: IndexRecord): Promise<void> => {
    for (const layer of record.layers) {
      const fetchLog: LayerFetch = { digest: layer.hash, uri: layer.uri, status: 0, bytes: 0, verified: false };
      layerFetches.push(fetchLog);
      try {
        const headers = Object.fromEntries(Object.entries(layer.headers).map(([k, v]) => [k, v.join(', ')]));
        const response = await fetch(layer.uri, { headers, signal: AbortSignal.timeout(10_000) });
        fetchLog.status = response.status;
        if (!response.ok || !response.body) throw new Error(`unexpected status code: ${response.status}`);
        const hash = createHash('sha256');
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          fetchLog.bytes += chunk.byteLength;
          if (fetchLog.bytes > MAX_LAYER_BYTES) throw new Error('layer too large');
          hash.update(chunk);
        }
        fetchLog.verified = `sha256:${hash.digest('hex')}` === layer.hash;
        if (!fetchLog.verified) throw new Error(`digest mismatch`);
      } catch (error) {
        fetchLog.error = (error as Error).message;
        record.state = 'IndexError';
        record.err = `failed to fetch layers: layer ${layer.hash}: ${fetchLog.error}`;
        return;
      }
    }
    record.state = options.indexError === undefined ? 'IndexFinished' : 'IndexError';
    record.err = options.indexError ?? '';
  };

  const indexReport = (digest: string, record: IndexRecord): Record<string, unknown> => {
    const report: Record<string, unknown> = { ...structuredClone(indexExample), manifest_hash: digest, state: record.state, success: record.state === 'IndexFinished', err: record.err };
    return withLayers(report, record);
  };

  const withLayers = (report: Record<string, unknown>, record: IndexRecord): Record<string, unknown> => {
    const layer = options.introducedInLayer === undefined ? undefined : record.layers[options.introducedInLayer - 1]?.hash;
    if (layer !== undefined) {
      for (const list of Object.values(report['environments'] as Record<string, { introduced_in: string }[]>)) for (const env of list) env.introduced_in = layer;
    }
    return report;
  };

  const vulnerabilityReport = (digest: string, record: IndexRecord): Record<string, unknown> => {
    let report: Record<string, unknown> = withLayers({ ...structuredClone(reportExample), manifest_hash: digest }, record);
    if (options.spelling === 'claircore') {
      const vulns = report['vulnerabilities'] as Record<string, Record<string, unknown>>;
      for (const [id, vuln] of Object.entries(vulns)) {
        const { dist, repo, ...rest } = vuln;
        vulns[id] = { ...rest, distribution: dist, repository: repo };
      }
    }
    if (options.transformReport) report = options.transformReport(report);
    return report;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    const urlPath = (req.url ?? '/').split('?')[0]!;
    const log: ClairApiRequest = { method: req.method ?? 'GET', path: urlPath, status: 0 };
    requests.push(log);
    if (requests.length > maxRequests) {
      exceeded = true;
      apiError(res, log, 503, 'request limit of the loopback Clair API reached');
      return;
    }
    const fault = faults.find((f) => f.left > 0 && (f.pathPrefix === undefined || urlPath.startsWith(f.pathPrefix)) && (f.method === undefined || f.method === log.method));
    if (fault) {
      fault.left -= 1;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.status !== undefined) {
        log.fault = `status ${fault.status}`;
        apiError(res, log, fault.status, 'injected fault', fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) });
        return;
      }
      if (fault.malformed) {
        log.fault = 'malformed';
        log.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"manifest_hash": "sha256:');
        return;
      }
      if (fault.oversizedBytes !== undefined) {
        log.fault = `oversized ${fault.oversizedBytes}`;
        log.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ padding: 'x'.repeat(fault.oversizedBytes) }));
        return;
      }
      log.fault = `delay ${fault.delayMs ?? 0}ms`;
    }
    if (urlPath === '/indexer/api/v1/index_report') {
      if (log.method !== 'POST') return apiError(res, log, 405, `method disallowed: ${log.method}`);
      let manifest: { hash?: unknown; layers?: unknown };
      try {
        manifest = JSON.parse(text) as typeof manifest;
      } catch (error) {
        return apiError(res, log, 400, `failed to deserialize manifest: ${(error as Error).message}`);
      }
      manifests.push(manifest);
      const layers = Array.isArray(manifest.layers) ? (manifest.layers as IndexRecord['layers']) : [];
      if (typeof manifest.hash !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(manifest.hash) || layers.length === 0) return apiError(res, log, 400, 'bogus manifest');
      if (layers.some((l) => typeof l?.hash !== 'string' || typeof l?.uri !== 'string')) return apiError(res, log, 400, 'failed to deserialize manifest: layer without hash or uri');
      const record: IndexRecord = { layers: layers.map((l) => ({ hash: l.hash, uri: l.uri, headers: l.headers ?? {} })), state: 'CheckManifest', err: '', polls: 0, done: Promise.resolve() };
      indexes.set(manifest.hash, record);
      if ((options.indexingPolls ?? 0) > 0) {
        record.done = fetchLayers(record);
      } else {
        await fetchLayers(record);
      }
      return send(res, log, 201, indexReport(manifest.hash, record), { location: `${urlPath}/${manifest.hash}` });
    }
    const indexMatch = /^\/indexer\/api\/v1\/index_report\/(.+)$/.exec(urlPath);
    if (indexMatch) {
      if (log.method !== 'GET') return apiError(res, log, 405, `method disallowed: ${log.method}`);
      const record = indexes.get(indexMatch[1]!);
      if (!record) return apiError(res, log, 404, 'index report not found');
      record.polls += 1;
      if (record.polls >= (options.indexingPolls ?? 0)) await record.done;
      const state = record.polls < (options.indexingPolls ?? 0) && record.state !== 'IndexError' ? 'ScanLayers' : record.state;
      return send(res, log, 200, { ...indexReport(indexMatch[1]!, record), state, success: state === 'IndexFinished' });
    }
    const reportMatch = /^\/matcher\/api\/v1\/vulnerability_report\/(.+)$/.exec(urlPath);
    if (reportMatch) {
      if (log.method !== 'GET') return apiError(res, log, 405, 'endpoint only allows GET');
      if (matcherNotReady > 0) {
        matcherNotReady -= 1;
        log.status = 202;
        res.writeHead(202).end();
        return;
      }
      const record = indexes.get(reportMatch[1]!);
      if (!record || record.state !== 'IndexFinished') return apiError(res, log, 404, `index report for manifest "${reportMatch[1]}" not found`);
      return send(res, log, options.reportStatus ?? 200, vulnerabilityReport(reportMatch[1]!, record));
    }
    return apiError(res, log, 404, 'not found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'internal-error', message: `loopback Clair: ${(error as Error).message}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    layerFetches,
    manifests,
    overLimit: () => exceeded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}
