/**
 * A loopback "GitHub release mirror" for installer tests: a node:http server on 127.0.0.1 that
 * serves the files built by scripts/tools/build-mirror.sh by URL path (the path after
 * https://github.com/), with per-path fault injection and a request log.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOOLS_LOCK, type ToolsLock } from '@secgate/core';
import { requireTool } from './runner.js';

export interface PathFault {
  /** Answer with this HTTP status instead of the file. */
  status?: number;
  /** Apply the fault to the first `times` requests of the path only, then serve normally (default: every request). */
  times?: number;
  /** Serve these bytes (status 200) instead of the file's: a tampered asset. */
  body?: Buffer | string;
}

export interface ReleaseMirrorOptions {
  /** Faults keyed by URL path (with or without the leading `/`). */
  faults?: Record<string, PathFault>;
  /**
   * Safety net against runaway client loops: requests beyond this many are answered 410 Gone
   * (a status tool-cache does not retry). Default 100.
   */
  maxRequests?: number;
}

export interface MirrorRequest {
  method: string;
  path: string;
  status: number;
}

export interface ReleaseMirror {
  /** Base URL ending in `/`, a drop-in for `https://github.com/`. */
  url: string;
  /** Every request answered so far, in order. */
  requests: MirrorRequest[];
  close(): Promise<void>;
}

function normalisePath(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

export async function startReleaseMirror(root: string, opts: ReleaseMirrorOptions = {}): Promise<ReleaseMirror> {
  const absRoot = path.resolve(root);
  const maxRequests = opts.maxRequests ?? 100;
  const faults = new Map<string, PathFault>();
  for (const [key, fault] of Object.entries(opts.faults ?? {})) faults.set(normalisePath(key), fault);
  const hits = new Map<string, number>();
  const requests: MirrorRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      urlPath = req.url ?? '/';
    }
    const respond = (status: number, body?: Buffer | string): void => {
      requests.push({ method, path: urlPath, status });
      const data = body === undefined ? Buffer.from(`${status}\n`) : Buffer.from(body);
      res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) });
      res.end(method === 'HEAD' ? undefined : data);
    };

    if (requests.length >= maxRequests) return respond(410, 'request limit of the test mirror reached\n');
    if (method !== 'GET' && method !== 'HEAD') return respond(405);

    const count = (hits.get(urlPath) ?? 0) + 1;
    hits.set(urlPath, count);
    const fault = faults.get(urlPath);
    if (fault && (fault.times === undefined || count <= fault.times)) {
      if (fault.status !== undefined) return respond(fault.status);
      if (fault.body !== undefined) return respond(200, fault.body);
    }

    const file = path.resolve(absRoot, `.${urlPath}`);
    if (file !== absRoot && !file.startsWith(absRoot + path.sep)) return respond(403);
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) return respond(404);
      size = info.size;
    } catch {
      return respond(404);
    }
    requests.push({ method, path: urlPath, status: 200 });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    if (method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })
  };
}

/** The mirror directory built by scripts/tools/build-mirror.sh. */
export function mirrorRoot(): string {
  return process.env['SECGATE_MIRROR_DIR'] ?? path.join(os.homedir(), '.cache', 'secgate-ci', 'mirror');
}

/**
 * True when the mirror (with its SHA256SUMS.json) exists. Missing: throws in CI, otherwise prints
 * why and returns false so the caller's tests return early.
 */
export function mirrorAvailable(): boolean {
  const root = mirrorRoot();
  return requireTool(
    existsSync(path.join(root, 'SHA256SUMS.json')),
    `release mirror at ${root} (build it with scripts/tools/build-mirror.sh)`
  );
}

/**
 * A ToolsLock whose binary digests are the mirror's (keys `<tool>/<version>/<platform>` in
 * SHA256SUMS.json); the locally built assets differ from upstream's, so the production lock
 * cannot verify them. Python requirement sets are the committed ones.
 */
export function testLock(root: string = mirrorRoot()): ToolsLock {
  const sums = JSON.parse(readFileSync(path.join(root, 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
  const binary: ToolsLock['binary'] = {};
  for (const [key, digest] of Object.entries(sums)) {
    const parts = key.split('/');
    if (parts.length !== 3 || !/^[0-9a-f]{64}$/i.test(digest)) {
      throw new Error(`${root}/SHA256SUMS.json: unexpected entry ${key}: ${digest}`);
    }
    const [tool, version, platform] = parts as [string, string, string];
    ((binary[tool] ??= {})[version] ??= {})[platform] = digest.toLowerCase();
  }
  return { binary, python: { ...TOOLS_LOCK.python } };
}
