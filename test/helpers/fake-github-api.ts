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

type Route = (request: RecordedRequest) => { status: number; body: unknown } | undefined;

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
      const { status, body } = answer ?? { status: 404, body: { message: 'Not Found' } };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
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
