import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from './runner.js';

/** The real GHSA records (OSV JSON) shipped in shared fixtures, read at run time, never copied. */
export const GHSA_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'advisories', 'ghsa');

interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
}
interface OsvRecord {
  id: string;
  summary?: string;
  affected?: { package?: { ecosystem?: string; name?: string }; ranges?: { type: string; events: OsvEvent[] }[] }[];
  database_specific?: { severity?: string; cwe_ids?: string[] };
}

/** One advisory as the registry's bulk endpoint (`/-/npm/v1/security/advisories/bulk`) answers it. */
export interface BulkAdvisory {
  id: number;
  url: string;
  title: string;
  severity: string;
  vulnerable_versions: string;
  cwe: string[];
}

/**
 * Every npm-ecosystem advisory in the shared GHSA records, in the bulk endpoint's shape, keyed by
 * package. Fields come from the record: url from its id, title = summary, severity = GitHub's
 * `database_specific.severity` (lower-case, as the registry sends it), vulnerable_versions = its
 * ECOSYSTEM ranges (`>=introduced <fixed`, joined by `||`), cwe = `cwe_ids`. The registry's numeric
 * advisory id is not in a GHSA record: a stand-in (1000 + file index) is used.
 */
export function npmAdvisoriesFromGhsa(dir = GHSA_DIR): Map<string, BulkAdvisory[]> {
  const byPackage = new Map<string, BulkAdvisory[]>();
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .forEach((file, index) => {
      const record = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as OsvRecord;
      const ranges = new Map<string, string[]>();
      for (const affected of record.affected ?? []) {
        if (affected.package?.ecosystem !== 'npm' || !affected.package.name) continue;
        for (const range of affected.ranges ?? []) {
          if (range.type !== 'ECOSYSTEM') continue;
          let from: string | undefined;
          for (const event of range.events) {
            if (event.introduced !== undefined) from = event.introduced === '0' ? '>=0.0.0' : `>=${event.introduced}`;
            if (event.fixed !== undefined || event.last_affected !== undefined) {
              const upper = event.fixed !== undefined ? `<${event.fixed}` : `<=${event.last_affected}`;
              const list = ranges.get(affected.package.name) ?? [];
              list.push(`${from ?? '>=0.0.0'} ${upper}`);
              ranges.set(affected.package.name, list);
              from = undefined;
            }
          }
          if (from !== undefined) ranges.set(affected.package.name, [...(ranges.get(affected.package.name) ?? []), from]);
        }
      }
      for (const [name, list] of ranges) {
        const advisories = byPackage.get(name) ?? [];
        advisories.push({
          id: 1000 + index,
          url: `https://github.com/advisories/${record.id}`,
          title: record.summary ?? record.id,
          severity: (record.database_specific?.severity ?? 'moderate').toLowerCase(),
          vulnerable_versions: list.join(' || '),
          cwe: record.database_specific?.cwe_ids ?? []
        });
        byPackage.set(name, advisories);
      }
    });
  return byPackage;
}

export interface NpmRegistry {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/**
 * A loopback npm registry with only the audit endpoint: `answer: 'advisories'` serves the bulk
 * advisories of the requested packages, `answer: 405` refuses the POST as the public registry did
 * when measured here. Packuments are 404 (npm audit then reports no fix). Bounded request count.
 */
export async function startNpmAdvisoryRegistry(answer: 'advisories' | 405, advisories = npmAdvisoriesFromGhsa(), maxRequests = 50): Promise<NpmRegistry> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      if (requests.length > maxRequests) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"request limit"}');
        return;
      }
      if (req.method === 'POST' && req.url?.startsWith('/-/npm/v1/security/')) {
        if (answer === 405) {
          res.writeHead(405, { allow: 'GET,HEAD' }).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const asked = JSON.parse(body.toString('utf8')) as Record<string, string[]>;
        const result: Record<string, BulkAdvisory[]> = {};
        for (const name of Object.keys(asked)) {
          const found = advisories.get(name);
          if (found) result[name] = found;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
