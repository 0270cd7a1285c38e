import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: unknown;
}

export interface FakeGitHubApi {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A route's answer: `body` is sent as JSON, `rawBody` as is (malformed bodies); `headers` e.g. `Link`. */
export interface RouteAnswer {
  status: number;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

type Route = (request: RecordedRequest) => RouteAnswer | undefined;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/**
 * A loopback stand-in for the few REST endpoints secgate calls (check runs, PR files), recording
 * every request. Bounded: it answers at most `maxRequests` requests, then 503.
 */
export async function startFakeGitHubApi(routes: Route[], maxRequests = 200): Promise<FakeGitHubApi> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        authorization: req.headers.authorization,
        body: await readBody(req)
      };
      requests.push(recorded);
      const answer = requests.length > maxRequests ? { status: 503, body: { message: 'request limit' } } : routes.map((r) => r(recorded)).find(Boolean);
      const { status, body, rawBody, headers } = answer ?? { status: 404, body: { message: 'Not Found' } };
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(rawBody ?? JSON.stringify(body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  };
}

/**
 * Serves `items` from `GET <path>` the way GitHub's cursor-paginated endpoints do (Dependabot
 * alerts): `state` filters, at most `pageSize` items a page (a server cap below `per_page`), and a
 * `Link: <…&after=N>; rel="next"` header while items remain.
 */
export function paginatedRoute(apiPath: string, items: readonly Record<string, unknown>[], pageSize: number, baseUrl: () => string): Route {
  return (request) => {
    const url = new URL(request.path, 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== apiPath) return undefined;
    const state = url.searchParams.get('state');
    const selected = state ? items.filter((item) => item['state'] === state) : items;
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? '30'), pageSize);
    const start = Number(url.searchParams.get('after') ?? '0');
    const page = selected.slice(start, start + perPage);
    const headers: Record<string, string> = {};
    if (start + perPage < selected.length) {
      const next = new URL(url.toString());
      next.searchParams.set('after', String(start + perPage));
      headers['link'] = `<${baseUrl()}${next.pathname}${next.search}>; rel="next"`;
    }
    return { status: 200, body: page, headers };
  };
}
