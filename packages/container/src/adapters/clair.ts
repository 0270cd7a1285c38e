// Clair v4 is an API, not a process: the adapter talks to the instance named by `clair-url` itself.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  duplicateJsonKey,
  ReportReader,
  ToolFailureError,
  ToolOutputError,
  unknownSeverityOption,
  type Logger,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolContext
} from '@secgate/core';
import { readImageArchive, streamLayer, type ImageArchive } from '../image.js';
import { readImageTarget } from '../options.js';

/**
 * Clair v4 (https://quay.github.io/clair/): the image's manifest is submitted to Clair's indexer,
 * which fetches every layer from the URI given for it, and the matcher's vulnerability report is
 * read back. Endpoints (quay/clair httptransport, Documentation/reference/api.md):
 *
 *   POST /indexer/api/v1/index_report                     Manifest {hash, layers:[{hash, uri, headers, media_type}]} → 201 IndexReport
 *   GET  /indexer/api/v1/index_report/{manifest_hash}     → 200 IndexReport {state, success, err, …}
 *   GET  /matcher/api/v1/vulnerability_report/{manifest_hash} → 200/201 VulnerabilityReport (202: matcher not ready yet)
 *
 * Layers of an `image-tar` are served to Clair by a short-lived HTTP server of secgate's
 * (`clair-layer-host`, default 127.0.0.1; a random port; each layer at a path with a random token),
 * open only while Clair indexes. Errors are JSON `{code, message}`.
 *
 * Severity — Clair's `normalized_severity` (claircore Severity) → secgate:
 *
 * | Clair | secgate |
 * |---|---|
 * | Critical | critical |
 * | High | high |
 * | Medium | medium |
 * | Low | low |
 * | Negligible | info |
 * | Unknown | `unknown-severity` (default high), with the basis shown |
 *
 * Any other word is a ToolOutputError. The vendor's own `severity` text is kept in the message.
 */
export const CLAIR_SEVERITY: Readonly<Record<string, Severity>> = { CRITICAL: 'critical', HIGH: 'high', MEDIUM: 'medium', LOW: 'low', NEGLIGIBLE: 'info' };

const NORMALIZED_SEVERITY: Readonly<Record<string, Severity | 'unknown'>> = { ...CLAIR_SEVERITY, UNKNOWN: 'unknown' };

const TOOL = 'clair';
const reader: ReportReader = new ReportReader(TOOL);

const INDEX_PATH = '/indexer/api/v1/index_report';
const REPORT_PATH = '/matcher/api/v1/vulnerability_report';

/** claircore's indexer states (indexer/controller/state.go); IndexFinished and IndexError end an index. */
const INDEX_STATES = ['Terminal', 'CheckManifest', 'FetchLayers', 'ScanLayers', 'Coalesce', 'IndexManifest', 'IndexError', 'IndexFinished'] as const;
type IndexState = (typeof INDEX_STATES)[number];

export interface ClairClientOptions {
  /** Attempts per request on 5xx, 429, refused connections and timeouts (default 4). */
  attempts?: number;
  /** Wait before the second attempt, doubled each time (default 500 ms; a Retry-After up to 30 s wins). */
  backoffMs?: number;
  /** Per-request time limit (default 120 s: Clair indexes within the POST). */
  requestTimeoutMs?: number;
  /** Wait between polls of an index still in progress (default 2 s). */
  pollIntervalMs?: number;
  /** Polls of the index report (and of a matcher answering 202) before giving up (default 300). */
  maxPolls?: number;
  /** The whole exchange, indexing included (default: the adapter's timeout, 15 min). */
  deadlineMs?: number;
  /** Largest answer read (default 64 MiB: real reports of big images run to a few MB). */
  maxResponseBytes?: number;
  /** Requests the layer server answers before refusing more (default 20 per layer). */
  maxLayerRequestsPerLayer?: number;
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;

/** `clair-url` as given: an http(s) base URL without query or fragment, returned without a trailing slash. */
export function parseClairUrl(value: string): URL {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(`'${redactUrl(text)}' is not a URL`, 'clair-url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigurationError(`'${redactUrl(text)}' is not an http(s) URL`, 'clair-url');
  if (url.search || url.hash) throw new ConfigurationError(`'${redactUrl(text)}' must not carry a query or fragment`, 'clair-url');
  // fetch refuses URLs with credentials, and Clair authenticates with PSK-signed JWTs, which secgate does not send yet.
  if (url.username || url.password) throw new ConfigurationError(`'${redactUrl(text)}' must not carry credentials (an authenticated Clair is not supported yet)`, 'clair-url');
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The URL without user information, for messages. */
function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    return url.toString().replace(/\/+$/, '');
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//***@').slice(0, 200);
  }
}

/** `clair-layer-host`: the address the layer server binds to and names in the layer URIs. */
export function readLayerHost(options: Readonly<Record<string, string>>): string {
  const value = (options['clair-layer-host'] ?? '').trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.-]{1,253}$|^[0-9A-Fa-f:]{2,39}$/.test(value)) throw new ConfigurationError(`'${value.slice(0, 80)}' is not a host name or IP address`, 'clair-layer-host');
  return value;
}

// ---------------------------------------------------------------------------------------------
// The layer server
// ---------------------------------------------------------------------------------------------

export interface LayerServer {
  /** The URI Clair fetches a layer from. */
  uriFor(digest: string): string;
  /** Layers streamed to the end, by digest. */
  readonly served: ReadonlySet<string>;
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * Serves the archive's layer blobs at `http://<host>:<port>/<token>/<digest>` (GET and HEAD), the
 * token 32 random bytes: a layer cannot be fetched without the manifest secgate sent to Clair.
 * Anything else is a bare 404. Bounded: more than `maxRequests` requests are answered 429.
 */
export async function startLayerServer(archive: ImageArchive, host: string, maxRequests: number, logger?: Logger): Promise<LayerServer> {
  const token = randomBytes(32).toString('hex');
  const layers = new Map(archive.layers.map((layer) => [layer.digest, layer]));
  const served = new Set<string>();
  let requests = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1;
    const match = /^\/([a-f0-9]{64})\/(sha256:[a-f0-9]{64})$/.exec((req.url ?? '').split('?')[0]!);
    const layer = match && match[1] === token ? layers.get(match[2]!) : undefined;
    if (!layer || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    if (requests > maxRequests) {
      res.writeHead(429).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(layer.size), 'docker-content-digest': layer.digest });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    streamLayer(archive, layer.digest, res).then(
      () => {
        served.add(layer.digest);
        res.end();
      },
      (error: unknown) => {
        // Headers are out: cutting the connection is the only way to say the blob is not whole.
        logger?.warning(`Clair layer server: ${layer.digest} not served whole: ${(error as Error).message}`);
        res.destroy();
      }
    );
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ConfigurationError(`the layer server for Clair cannot listen on ${host} (${error.code ?? error.message}); set clair-layer-host to an address of this machine that Clair can reach`, 'clair-layer-host'))
    );
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    uriFor: (digest) => `http://${hostPart}:${port}/${token}/${digest}`,
    served,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------------------------

class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number
  ) {
    super(message);
  }
}

interface Answer {
  status: number;
  text: string;
}

/** Clair's error body `{code, message}`: its message, first line, bounded; '' when there is none. */
function clairMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message.split('\n')[0]!.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300) : '';
  } catch {
    return '';
  }
}

function retryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d{1,4}$/.test(value.trim())) return undefined;
  return Math.min(30_000, Number(value.trim()) * 1000);
}

async function readCapped(response: Response, maxBytes: number, where: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ToolFailureError(TOOL, `${where} answered with ${declared} bytes, more than the ${maxBytes}-byte limit`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new ToolFailureError(TOOL, `${where} answered with more than the ${maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

class ClairClient {
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly deadline: AbortSignal;

  constructor(
    private readonly base: URL,
    options: ClairClientOptions
  ) {
    this.attempts = Math.min(10, Math.max(1, options.attempts ?? 4));
    this.backoffMs = options.backoffMs ?? 500;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.deadline = AbortSignal.timeout(options.deadlineMs ?? DEFAULT_TIMEOUT_MS);
  }

  get label(): string {
    return redactUrl(this.base.toString());
  }

  /** Waits `ms`, or throws when the overall deadline passes first. */
  async sleep(ms: number): Promise<void> {
    if (this.deadline.aborted) throw this.timedOut();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.deadline.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (this.deadline.aborted) throw this.timedOut();
  }

  timedOut(): ToolFailureError {
    return new ToolFailureError(TOOL, `Clair at ${this.label} did not finish within the time limit`);
  }

  /**
   * One API call with bounded retries on 5xx, 429, refused connections and timeouts. `accept`
   * lists the statuses handed back; any other 4xx is a ToolFailureError naming it and Clair's message.
   */
  async call(method: 'GET' | 'POST', apiPath: string, body: unknown, accept: readonly number[]): Promise<Answer> {
    const url = `${this.base.toString().replace(/\/+$/, '')}${apiPath}`;
    const where = `Clair at ${this.label} (${method} ${apiPath})`;
    let last = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await this.once(method, url, body, accept, where);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        last = error.message;
        if (attempt < this.attempts) await this.sleep(Math.max(error.retryAfterMs ?? 0, this.backoffMs * 2 ** (attempt - 1)));
      }
    }
    throw new ToolFailureError(TOOL, `${where} failed after ${this.attempts} attempt(s): ${last}; the image was not checked`);
  }

  private async once(method: string, url: string, body: unknown, accept: readonly number[], where: string): Promise<Answer> {
    if (this.deadline.aborted) throw this.timedOut();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.any([this.deadline, AbortSignal.timeout(this.requestTimeoutMs)]),
        redirect: 'error'
      });
    } catch (error) {
      if (this.deadline.aborted) throw this.timedOut();
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new Retryable(cause === 'TimeoutError' ? `no answer within ${this.requestTimeoutMs} ms` : `could not connect (${cause})`);
    }
    let text: string;
    try {
      text = await readCapped(response, this.maxResponseBytes, where);
    } catch (error) {
      if (error instanceof ToolFailureError) throw error;
      if (this.deadline.aborted) throw this.timedOut();
      throw new Retryable(`the answer broke off (${(error as Error).name})`);
    }
    if (response.status === 429 || response.status >= 500) {
      const message = clairMessage(text);
      throw new Retryable(`HTTP ${response.status}${message ? `: ${message}` : ''}`, retryAfter(response.headers.get('retry-after')));
    }
    if (accept.includes(response.status)) return { status: response.status, text };
    const message = clairMessage(text);
    throw new ToolFailureError(TOOL, `${where} answered HTTP ${response.status}${message ? `: ${message}` : ''}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

function parseBody(text: string, what: string): unknown {
  if (text.trim() === '') throw new ToolOutputError(TOOL, `the ${what} is empty`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ToolOutputError(TOOL, `the ${what} is truncated or not JSON (${text.length} characters)`);
  }
  // JSON.parse keeps the last of two equal keys (a null `package_vulnerabilities` after the real
  // one read as a clean report); Go's encoder never writes them, so the answer is garbled.
  const duplicate = duplicateJsonKey(text);
  if (duplicate !== undefined) throw new ToolOutputError(TOOL, `the ${what} repeats the key ${JSON.stringify(duplicate.slice(0, 60))} in one object`);
  return value;
}

/** A map field: Go encodes an empty (nil) map as `null`, which is an empty map here. */
function readMap(value: unknown, where: string): Record<string, unknown> {
  return value === null ? {} : reader.object(value, where);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface IndexStatus {
  state: IndexState;
  success: boolean;
  err: string;
}

/** The fields of an IndexReport the client acts on. */
export function readIndexReport(value: unknown, manifestDigest: string): IndexStatus {
  const report = reader.object(value, 'index report');
  const hash = reader.string(report['manifest_hash'], 'index report.manifest_hash');
  if (hash !== manifestDigest) reader.fail('index report.manifest_hash', `is ${JSON.stringify(hash.slice(0, 80))}, not the manifest submitted (${manifestDigest})`);
  const word = reader.word(report['state'], 'index report.state');
  if (!(INDEX_STATES as readonly string[]).includes(word)) reader.fail('index report.state', `is ${JSON.stringify(word.slice(0, 40))}, expected one of ${INDEX_STATES.join(', ')}`);
  const success = report['success'];
  if (typeof success !== 'boolean') reader.fail('index report.success', `is ${success === undefined ? 'missing' : typeof success}, expected a boolean`);
  const err = report['err'] === undefined ? '' : reader.string(report['err'], 'index report.err');
  return { state: word as IndexState, success, err };
}

interface ReportPackage {
  id: string;
  name: string;
  version: string;
}

interface ReportDistribution {
  did: string;
  name: string;
  versionId: string;
}

interface ReportEnvironment {
  packageDb: string;
  introducedIn: string;
  distributionId: string;
  repositoryIds: string[];
}

interface ReportVulnerability {
  id: string;
  name: string;
  description: string;
  links: string[];
  severity: string;
  normalized: Severity | 'unknown';
  fixedInVersion: string;
  advisoryPackage?: string;
  distribution?: ReportDistribution;
  repository?: string;
}

function readPackage(value: unknown, where: string, key: string): ReportPackage {
  const pkg = reader.object(value, where);
  const id = reader.word(pkg['id'], `${where}.id`);
  if (id !== key) reader.fail(`${where}.id`, `is ${JSON.stringify(id.slice(0, 40))}, but the package is filed under ${JSON.stringify(key.slice(0, 40))}`);
  return { id, name: reader.word(pkg['name'], `${where}.name`), version: reader.string(pkg['version'], `${where}.version`) };
}

function readDistribution(value: unknown, where: string): ReportDistribution {
  const dist = reader.object(value, where);
  return {
    did: reader.string(dist['did'], `${where}.did`),
    name: reader.string(dist['name'], `${where}.name`),
    versionId: dist['version_id'] === undefined ? '' : reader.string(dist['version_id'], `${where}.version_id`)
  };
}

function readEnvironment(value: unknown, where: string): ReportEnvironment {
  const env = reader.object(value, where);
  const introducedIn = env['introduced_in'] === undefined || env['introduced_in'] === '' ? '' : reader.string(env['introduced_in'], `${where}.introduced_in`);
  if (introducedIn !== '' && !DIGEST.test(introducedIn)) reader.fail(`${where}.introduced_in`, `is ${JSON.stringify(introducedIn.slice(0, 80))}, expected a sha256 digest`);
  const repositoryIds = env['repository_ids'] === undefined || env['repository_ids'] === null ? [] : reader.each(env['repository_ids'], `${where}.repository_ids`, (id, at) => reader.word(id, at));
  return {
    packageDb: env['package_db'] === undefined ? '' : reader.string(env['package_db'], `${where}.package_db`),
    introducedIn,
    distributionId: env['distribution_id'] === undefined || env['distribution_id'] === null ? '' : reader.string(env['distribution_id'], `${where}.distribution_id`),
    repositoryIds
  };
}

/**
 * One of two spellings: the API-doc examples write `dist`/`repo`, claircore (vulnerability.go)
 * writes `distribution`/`repository`. Both at once is garbled.
 */
function eitherField(vuln: Record<string, unknown>, where: string, real: string, doc: string): { value: unknown; at: string } {
  const hasReal = vuln[real] !== undefined;
  const hasDoc = vuln[doc] !== undefined;
  if (hasReal && hasDoc) reader.fail(where, `has both ${real} and ${doc}`);
  return hasDoc ? { value: vuln[doc], at: `${where}.${doc}` } : { value: vuln[real], at: `${where}.${real}` };
}

function readVulnerability(value: unknown, where: string, key: string): ReportVulnerability {
  const vuln = reader.object(value, where);
  const id = reader.word(vuln['id'], `${where}.id`);
  if (id !== key) reader.fail(`${where}.id`, `is ${JSON.stringify(id.slice(0, 40))}, but the vulnerability is filed under ${JSON.stringify(key.slice(0, 40))}`);
  const links = reader.string(vuln['links'], `${where}.links`);
  const pkg = vuln['package'] === null || vuln['package'] === undefined ? undefined : reader.object(vuln['package'], `${where}.package`);
  const dist = eitherField(vuln, where, 'distribution', 'dist');
  const repo = eitherField(vuln, where, 'repository', 'repo');
  const repository = repo.value === null || repo.value === undefined ? undefined : reader.string(reader.object(repo.value, repo.at)['name'], `${repo.at}.name`);
  const advisoryPackage = pkg === undefined ? undefined : reader.string(pkg['name'], `${where}.package.name`);
  return {
    id,
    name: reader.word(vuln['name'], `${where}.name`),
    description: reader.string(vuln['description'], `${where}.description`),
    links: links.split(/\s+/).filter((link) => link !== ''),
    severity: reader.string(vuln['severity'], `${where}.severity`),
    normalized: reader.oneOf(vuln['normalized_severity'], `${where}.normalized_severity`, NORMALIZED_SEVERITY),
    fixedInVersion: reader.string(vuln['fixed_in_version'], `${where}.fixed_in_version`),
    ...(advisoryPackage ? { advisoryPackage } : {}),
    ...(dist.value === null || dist.value === undefined ? {} : { distribution: readDistribution(dist.value, dist.at) }),
    ...(repository ? { repository } : {})
  };
}

/** Distribution ids (os-release ID) → OSV ecosystem names; others keep Clair's word. */
const DISTRIBUTION_ECOSYSTEMS: Readonly<Record<string, string>> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  alpine: 'Alpine',
  rhel: 'Red Hat',
  centos: 'CentOS',
  rocky: 'Rocky Linux',
  almalinux: 'AlmaLinux',
  ol: 'Oracle Linux',
  amzn: 'Amazon Linux',
  photon: 'Photon OS',
  suse: 'SUSE',
  sles: 'SUSE',
  'opensuse-leap': 'openSUSE',
  wolfi: 'Wolfi',
  chainguard: 'Chainguard'
};

/** Language repositories (claircore updater/osv, python/gobin/java/ruby indexers) → OSV ecosystem names. */
const REPOSITORY_ECOSYSTEMS: Readonly<Record<string, string>> = {
  pypi: 'PyPI',
  npm: 'npm',
  go: 'Go',
  maven: 'Maven',
  'crates.io': 'crates.io',
  nuget: 'NuGet',
  packagist: 'Packagist',
  rubygems: 'RubyGems'
};

function distributionEcosystem(dist: ReportDistribution | undefined): string | undefined {
  if (!dist) return undefined;
  const did = dist.did.toLowerCase();
  if (did !== '') return DISTRIBUTION_ECOSYSTEMS[did] ?? dist.did;
  return dist.name !== '' ? dist.name : undefined;
}

const repositoryEcosystem = (name: string | undefined): string | undefined => (name === undefined ? undefined : REPOSITORY_ECOSYSTEMS[name.toLowerCase()]);

/**
 * `fixed_in_version`: a version, '' when no fix is known (then `[]`: the tool says there is none),
 * or, from older Clair's language matchers, a query string (`fixed=1.2.3&introduced=0`).
 */
function fixedVersionsOf(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (/^[a-z_]+=[^&]*(&[a-z_]+=[^&]*)*$/i.test(trimmed)) {
    const params = new URLSearchParams(trimmed);
    return params.getAll('fixed').filter((v) => v !== '');
  }
  return [trimmed];
}

/** The advisory id a finding carries: Clair's vulnerability name up to the first space (RHSA names run on). */
function advisoryId(name: string): string {
  return name.split(/\s+/)[0]!.replace(/:$/, '');
}

/** What the parser knows about the image, to name layers in messages. */
export interface ClairImageContext {
  manifestDigest: string;
  /** Layer digests (as sent to Clair), lowest first, with the history step that made each. */
  layers?: readonly { digest: string; createdBy?: string }[];
}

function describeLayer(digest: string, image: ClairImageContext): string {
  if (digest === '') return 'an unknown layer';
  const index = image.layers?.findIndex((layer) => layer.digest === digest) ?? -1;
  if (index < 0) return `layer ${digest.slice(0, 19)}…`;
  const step = image.layers![index]!.createdBy?.replace(/\s+/g, ' ').trim();
  return `layer ${index + 1}/${image.layers!.length} (${digest.slice(0, 19)}…${step ? `, ${step.slice(0, 80)}` : ''})`;
}

/**
 * Reads a Clair v4 VulnerabilityReport strictly into findings: one per (package, vulnerability) of
 * `package_vulnerabilities`. `dist`/`repo` (API-doc examples) and `distribution`/`repository`
 * (claircore) are both read; a map Go wrote as `null` is empty.
 */
export function parseVulnerabilityReport(value: unknown, image: ClairImageContext, unknownSeverity: Severity): ParsedReport & { packageCount: number } {
  const report = reader.object(value, 'vulnerability report');
  const hash = reader.string(report['manifest_hash'], 'vulnerability report.manifest_hash');
  if (hash !== image.manifestDigest) reader.fail('vulnerability report.manifest_hash', `is ${JSON.stringify(hash.slice(0, 80))}, not the manifest submitted (${image.manifestDigest})`);
  const packages = new Map(Object.entries(readMap(report['packages'], 'packages')).map(([key, p]) => [key, readPackage(p, `packages[${JSON.stringify(key)}]`, key)]));
  const distributions = new Map(Object.entries(readMap(report['distributions'], 'distributions')).map(([key, d]) => [key, readDistribution(d, `distributions[${JSON.stringify(key)}]`)]));
  const repositories = new Map(
    Object.entries(report['repository'] === undefined ? {} : readMap(report['repository'], 'repository')).map(([key, r]) => [key, reader.string(reader.object(r, `repository[${JSON.stringify(key)}]`)['name'], `repository[${JSON.stringify(key)}].name`)])
  );
  const environments = new Map(
    Object.entries(readMap(report['environments'], 'environments')).map(([key, list]) => [
      key,
      list === null ? [] : reader.each(list, `environments[${JSON.stringify(key)}]`, (e, at) => readEnvironment(e, at))
    ])
  );
  const vulnerabilities = new Map(Object.entries(readMap(report['vulnerabilities'], 'vulnerabilities')).map(([key, v]) => [key, readVulnerability(v, `vulnerabilities[${JSON.stringify(key)}]`, key)]));
  const affected = readMap(report['package_vulnerabilities'], 'package_vulnerabilities');
  const findings: RawFinding[] = [];
  for (const [packageId, list] of Object.entries(affected)) {
    const where = `package_vulnerabilities[${JSON.stringify(packageId)}]`;
    const pkg = packages.get(packageId);
    if (!pkg) reader.fail(where, 'names a package the report does not list');
    const ids = list === null ? [] : reader.each(list, where, (id, at) => (typeof id === 'number' ? String(reader.integer(id, at, 0)) : reader.word(id, at)));
    const envs = environments.get(packageId) ?? [];
    for (const env of envs) {
      if (env.distributionId !== '' && !distributions.has(env.distributionId)) reader.fail(`environments[${JSON.stringify(packageId)}]`, `names distribution ${JSON.stringify(env.distributionId.slice(0, 40))}, which the report does not list`);
      for (const repositoryId of env.repositoryIds) {
        if (!repositories.has(repositoryId)) reader.fail(`environments[${JSON.stringify(packageId)}]`, `names repository ${JSON.stringify(repositoryId.slice(0, 40))}, which the report does not list`);
      }
    }
    const layers = [...new Set(envs.map((e) => e.introducedIn))];
    const packageDbs = [...new Set(envs.map((e) => e.packageDb).filter((db) => db !== ''))];
    for (const vulnId of ids) {
      const vuln = vulnerabilities.get(vulnId);
      if (!vuln) reader.fail(where, `names vulnerability ${JSON.stringify(vulnId.slice(0, 40))}, which the report does not list`);
      // Where the package came from: its environment (language repository first, then the OS), else the advisory's.
      const ecosystem =
        envs.flatMap((e) => e.repositoryIds.map((r) => repositoryEcosystem(repositories.get(r)))).find((e) => e !== undefined) ??
        envs.map((e) => distributionEcosystem(distributions.get(e.distributionId))).find((e) => e !== undefined) ??
        repositoryEcosystem(vuln.repository) ??
        distributionEcosystem(vuln.distribution);
      const ruleId = advisoryId(vuln.name);
      const aliases = [...new Set([ruleId, ...(vuln.name.match(/\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b/g) ?? [])])].sort();
      const fixedVersions = fixedVersionsOf(vuln.fixedInVersion);
      let severity: Severity;
      let severityBasis: string | undefined;
      if (vuln.normalized === 'unknown') {
        severity = unknownSeverity;
        severityBasis = `unknown → ${unknownSeverity} (unknown-severity; Clair normalized_severity Unknown${vuln.severity ? `, vendor severity ${JSON.stringify(vuln.severity.slice(0, 40))}` : ''})`;
      } else {
        severity = vuln.normalized;
      }
      const installed = pkg.version || 'unknown version';
      const fix = fixedVersions.length > 0 ? `upgrade to ${fixedVersions.join(' or ')}` : 'no fixed version is known';
      const source = vuln.advisoryPackage && vuln.advisoryPackage !== pkg.name ? `; advisory for ${vuln.advisoryPackage}` : '';
      const where2 = `${layers.map((l) => describeLayer(l, image)).join(', ')}${packageDbs.length > 0 ? `, ${packageDbs.join(', ')}` : ''}`;
      const description = vuln.description.replace(/\s+/g, ' ').trim();
      const helpUri = vuln.links.find((link) => /^https?:\/\//.test(link));
      findings.push({
        tool: TOOL,
        ruleId,
        title: `${pkg.name} ${installed} → ${fixedVersions[0] ?? 'no fix'}: ${ruleId}`,
        message:
          `${pkg.name} ${installed}${ecosystem ? ` (${ecosystem})` : ''} in the image (${where2}) is affected by ${vuln.name} ` +
          `(Clair severity ${vuln.normalized === 'unknown' ? 'Unknown' : severity}${vuln.severity && vuln.severity.toLowerCase() !== severity ? `; vendor: ${vuln.severity.slice(0, 40)}` : ''}${source}). ` +
          `Installed ${installed} → fixed ${fixedVersions.join(', ') || 'none'}: ${fix}.${description ? ` ${description.slice(0, 400)}${description.length > 400 ? '…' : ''}` : ''}`,
        severity,
        ...(severityBasis ? { severityBasis } : {}),
        cve: aliases.filter((a) => a.startsWith('CVE-')),
        aliases,
        package: { name: pkg.name, version: pkg.version, ...(ecosystem ? { ecosystem } : {}), fixedVersions },
        ...(helpUri ? { helpUri } : {}),
        identity: `${ecosystem ?? 'unknown'}:${pkg.name}@${pkg.version}:${ruleId}`,
        tags: ['image', 'vulnerability', ...(ecosystem ? [ecosystem] : []), 'clair']
      });
    }
  }
  return { findings, warnings: [], packageCount: packages.size };
}

// ---------------------------------------------------------------------------------------------
// The exchange
// ---------------------------------------------------------------------------------------------

/**
 * Submits the image to Clair, waits for its index, reads the vulnerability report. The layer
 * server is up only between the submission and the end of indexing.
 */
export async function scanArchiveWithClair(
  archive: ImageArchive,
  baseUrl: URL,
  settings: { layerHost: string; unknownSeverity: Severity; logger?: Logger },
  options: ClairClientOptions = {}
): Promise<ParsedReport> {
  const client = new ClairClient(baseUrl, options);
  const digest = archive.manifestDigest;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const maxPolls = options.maxPolls ?? 300;
  const server = await startLayerServer(archive, settings.layerHost, archive.layers.length * (options.maxLayerRequestsPerLayer ?? 20), settings.logger);
  let status: IndexStatus;
  try {
    const manifest = {
      hash: digest,
      layers: archive.layers.map((layer) => ({ hash: layer.digest, uri: server.uriFor(layer.digest), headers: {}, media_type: layer.mediaType }))
    };
    const posted = await client.call('POST', INDEX_PATH, manifest, [200, 201]);
    status = readIndexReport(parseBody(posted.text, 'index report'), digest);
    for (let poll = 0; status.state !== 'IndexFinished' && status.state !== 'IndexError'; poll++) {
      if (poll >= maxPolls) throw new ToolFailureError(TOOL, `Clair at ${client.label} was still indexing ${digest} (state ${status.state}) after ${maxPolls} polls`);
      await client.sleep(pollIntervalMs);
      const answer = await client.call('GET', `${INDEX_PATH}/${digest}`, undefined, [200]);
      status = readIndexReport(parseBody(answer.text, 'index report'), digest);
    }
  } finally {
    await server.close();
  }
  if (status.state === 'IndexError' || !status.success) {
    const err = status.err.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 500);
    throw new ToolFailureError(TOOL, `Clair at ${client.label} could not index ${digest}: ${status.state}${err ? `: ${err}` : ' (no error text)'}`);
  }
  let answer: Answer | undefined;
  for (let poll = 0; ; poll++) {
    answer = await client.call('GET', `${REPORT_PATH}/${digest}`, undefined, [200, 201, 202]);
    if (answer.status !== 202) break;
    // 202: the matcher has not loaded its vulnerability data yet (fresh instance).
    if (poll >= maxPolls) throw new ToolFailureError(TOOL, `Clair's matcher at ${client.label} was still not ready (HTTP 202) after ${maxPolls} polls`);
    await client.sleep(pollIntervalMs);
  }
  const parsed = parseVulnerabilityReport(parseBody(answer.text, 'vulnerability report'), {
    manifestDigest: digest,
    layers: archive.layers.map((layer, i) => ({ digest: layer.digest, createdBy: archive.config.history.filter((h) => !h.emptyLayer)[i]?.createdBy }))
  }, settings.unknownSeverity);
  const facts = [
    `Clair ${baseUrl.host} indexed manifest ${digest} (${archive.layers.length} layers, ${parsed.packageCount} packages)${archive.manifestSynthesised ? '; manifest synthesised from the docker-archive' : ''}`,
    `layers fetched by Clair from secgate's layer server: ${server.served.size}/${archive.layers.length}${server.served.size < archive.layers.length ? ' (Clair had indexed the others before)' : ''}`
  ];
  return { findings: parsed.findings, warnings: parsed.warnings, facts };
}

export async function collectClair(context: ToolContext, options: ClairClientOptions = {}): Promise<ParsedReport> {
  const url = (context.options['clair-url'] ?? '').trim();
  if (url === '') throw new ConfigurationError('the clair tool needs the base URL of a Clair v4 instance', 'clair-url');
  const baseUrl = parseClairUrl(url);
  const layerHost = readLayerHost(context.options);
  const unknownSeverity = unknownSeverityOption(context.options);
  const target = await readImageTarget(context);
  if (!target) throw new ConfigurationError('the clair tool indexes an image: give image-tar (a docker-archive or OCI layout tarball in the workspace)', 'image-tar');
  if (target.kind === 'ref') {
    throw new ConfigurationError(
      `clair reads image-tar only for now: for a registry image (${target.ref.slice(0, 80)}) Clair would fetch the layers from the registry itself, which secgate does not drive yet; save the image (docker save / skopeo copy … oci-archive:) and give image-tar`,
      'image'
    );
  }
  const archive = await readImageArchive(target.absolute);
  context.logger.info(`Clair: submitting ${target.path} (${archive.format}, manifest ${archive.manifestDigest}, ${archive.layers.length} layers) to ${redactUrl(baseUrl.toString())}`);
  return scanArchiveWithClair(archive, baseUrl, { layerHost, unknownSeverity, logger: context.logger }, { deadlineMs: DEFAULT_TIMEOUT_MS, ...options });
}

export const clairAdapter: ToolAdapter = {
  id: TOOL,
  displayName: 'Clair',
  description: 'Image vulnerabilities from a Clair v4 instance (clair-url): the image tarball is indexed by Clair, which fetches its layers from secgate, and matched by its matcher.',
  install: { kind: 'none', tool: TOOL, defaultVersion: 'v4 API' },
  defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
  severityMap: CLAIR_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    if ((context.options['clair-url'] ?? '').trim() === '') return { reason: 'no clair-url given', notApplicable: true };
    if ((context.options['image-tar'] ?? '').trim() === '' && (context.options['image'] ?? '').trim() === '') return { reason: 'no image-tar or image to index', notApplicable: true };
    return undefined;
  },
  command() {
    throw new ToolFailureError(TOOL, 'is an API: the engine calls collect()');
  },
  exitMeaning: () => 'error',
  parse() {
    throw new ToolFailureError(TOOL, 'is an API: the engine calls collect()');
  },
  collect: (_tool, context) => collectClair(context)
};
