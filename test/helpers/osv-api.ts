/**
 * A loopback OSV-compatible API (https://google.github.io/osv.dev/api/) serving the real advisory records of
 * `../shared/fixtures/advisories/` (see osv-records.ts):
 *   POST /v1/query        {package:{name,ecosystem}|{purl}, version?} → {vulns:[full records]} or {} when none
 *   POST /v1/querybatch   {queries:[…]} → {results:[{vulns:[{id,modified}]} | {}]} (ids only, as osv.dev does)
 *   GET  /v1/vulns/{id}   → the record, or 404 {code:5,message:"Bug not found."}
 * Bounded (503 after `maxRequests`), every request logged, faults injectable per path (status, delay, malformed JSON).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadAdvisories, type AdvisoryIndex, type OsvRecord } from './osv-records.js';

export interface OsvApiRequest {
  method: string;
  path: string;
  body: unknown;
  status: number;
  /** Set when a fault answered this request. */
  fault?: string;
}

export interface OsvApiFault {
  /** Applies to requests whose path starts with this (default: every path). */
  pathPrefix?: string;
  /** Answer with this HTTP status and an OSV-style error body. */
  status?: number;
  /** Wait this long before answering (or before the status/malformed answer). */
  delayMs?: number;
  /** Answer 200 with a body that is not JSON. */
  malformed?: boolean;
  /** Apply to this many matching requests, then stop (default: all of them). */
  times?: number;
}

export interface OsvApiOptions {
  index?: AdvisoryIndex;
  maxRequests?: number;
  faults?: OsvApiFault[];
}

export interface OsvApi {
  url: string;
  requests: OsvApiRequest[];
  /** True once a request went past `maxRequests` (then answered 503). */
  overLimit(): boolean;
  setFaults(faults: OsvApiFault[]): void;
  close(): Promise<void>;
}

interface QueryBody {
  package?: { name?: string; ecosystem?: string; purl?: string };
  version?: string;
  commit?: string;
}

class BadRequest extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const PURL_TYPES: Record<string, string> = { pypi: 'PyPI', npm: 'npm' };

/** `pkg:pypi/name@version` → ecosystem, name, version (the subset of purl the API accepts for these ecosystems). */
function fromPurl(purl: string): { ecosystem: string; name: string; version?: string } {
  const match = /^pkg:([a-z]+)\/([^@?#]+)(?:@([^?#]+))?/.exec(purl);
  const ecosystem = match ? PURL_TYPES[match[1]!] : undefined;
  if (!match || !ecosystem) throw new BadRequest(`Invalid Package URL: ${purl}`);
  return { ecosystem, name: decodeURIComponent(match[2]!), version: match[3] ? decodeURIComponent(match[3]) : undefined };
}

function runQuery(index: AdvisoryIndex, body: unknown): OsvRecord[] {
  if (typeof body !== 'object' || body === null) throw new BadRequest('Invalid query.');
  const { package: pkg, version, commit } = body as QueryBody;
  if (commit !== undefined) return []; // no GIT ranges are served
  if (!pkg) throw new BadRequest('Invalid query.');
  if (pkg.purl) {
    const fromUrl = fromPurl(pkg.purl);
    if (fromUrl.version !== undefined && version !== undefined) throw new BadRequest('version specified in params and PURL query');
    return index.query(fromUrl.ecosystem, fromUrl.name, fromUrl.version ?? version);
  }
  if (typeof pkg.name !== 'string' || typeof pkg.ecosystem !== 'string') throw new BadRequest('Invalid query.');
  if (version !== undefined && typeof version !== 'string') throw new BadRequest('Invalid query.');
  return index.query(pkg.ecosystem, pkg.name, version);
}

export async function startOsvApi(options: OsvApiOptions = {}): Promise<OsvApi> {
  const index = options.index ?? loadAdvisories();
  const maxRequests = options.maxRequests ?? 2000;
  const requests: OsvApiRequest[] = [];
  let faults = (options.faults ?? []).map((f) => ({ ...f, left: f.times ?? Infinity }));
  let exceeded = false;

  const send = (res: ServerResponse, log: OsvApiRequest, status: number, body: unknown): void => {
    log.status = status;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const urlPath = (req.url ?? '/').split('?')[0]!;
    const log: OsvApiRequest = { method: req.method ?? 'GET', path: urlPath, body, status: 0 };
    requests.push(log);
    if (requests.length > maxRequests) {
      exceeded = true;
      send(res, log, 503, { code: 14, message: 'request limit of the loopback OSV API reached' });
      return;
    }
    const fault = faults.find((f) => f.left > 0 && (f.pathPrefix === undefined || urlPath.startsWith(f.pathPrefix)));
    if (fault) {
      fault.left -= 1;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.status !== undefined) {
        log.fault = `status ${fault.status}`;
        send(res, log, fault.status, { code: 13, message: 'injected fault' });
        return;
      }
      if (fault.malformed) {
        log.fault = 'malformed';
        log.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"vulns": [ {"id": "truncated');
        return;
      }
      log.fault = `delay ${fault.delayMs ?? 0}ms`;
    }
    try {
      if (log.method === 'POST' && urlPath === '/v1/query') {
        const vulns = runQuery(index, body);
        send(res, log, 200, vulns.length > 0 ? { vulns } : {});
        return;
      }
      if (log.method === 'POST' && urlPath === '/v1/querybatch') {
        const queries = (body as { queries?: unknown } | undefined)?.queries;
        if (!Array.isArray(queries)) throw new BadRequest('Invalid query.');
        const results = queries.map((q) => {
          const vulns = runQuery(index, q);
          return vulns.length > 0 ? { vulns: vulns.map((v) => ({ id: v.id, modified: v.modified })) } : {};
        });
        send(res, log, 200, { results });
        return;
      }
      const vulnMatch = /^\/v1\/vulns\/([^/]+)$/.exec(urlPath);
      if (log.method === 'GET' && vulnMatch) {
        const record = index.byId.get(decodeURIComponent(vulnMatch[1]!));
        if (record) send(res, log, 200, record);
        else send(res, log, 404, { code: 5, message: 'Bug not found.' });
        return;
      }
      send(res, log, 404, { code: 5, message: 'Not Found' });
    } catch (error) {
      if (error instanceof BadRequest) send(res, log, 400, { code: 3, message: error.message });
      else send(res, log, 500, { code: 13, message: String(error) });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    overLimit: () => exceeded,
    setFaults(next) {
      faults = next.map((f) => ({ ...f, left: f.times ?? Infinity }));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}

/** A loopback URL where nothing listens (a port bound, then released): for "service unreachable" tests. */
export async function unreachableUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
