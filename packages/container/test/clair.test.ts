import { mkdir, mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer } from 'node:net';
import { ConfigurationError, ToolFailureError, ToolOutputError, silentLogger, type ParsedReport, type ToolContext } from '@secgate/core';
import { clairAdapter, collectClair, parseVulnerabilityReport, scanArchiveWithClair, startLayerServer, type ClairClientOptions } from '../src/adapters/clair.js';
import { readImageArchive } from '../src/image.js';
import { loadClairExample, startClairApi, type ClairApi, type ClairApiOptions } from '../../../test/helpers/clair-api.js';
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive, writeOciArchive, type BuiltImage, type ImageSpec } from '../../../test/helpers/image-tar.js';

const SPEC: ImageSpec = {
  layers: [debianBaseLayer(), pythonPackagesLayer([{ name: 'PyYAML', version: '5.3' }])],
  history: ['ADD rootfs.tar /', 'RUN pip install PyYAML==5.3']
};

/** Fast retries and polls: the loopback server answers at once. */
const FAST: ClairClientOptions = { backoffMs: 5, pollIntervalMs: 5, requestTimeoutMs: 5000, deadlineMs: 60_000 };

function context(workspace: string, options: Record<string, string>): ToolContext {
  return { workspace, targets: ['.'], exclude: [], workDir: workspace, options, logger: silentLogger };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Clair v4 adapter (loopback API serving the upstream examples)', () => {
  let workspace: string;
  let docker: BuiltImage;
  let oci: BuiltImage;
  const apis: ClairApi[] = [];
  const start = async (options: ClairApiOptions = {}): Promise<ClairApi> => {
    const api = await startClairApi(options);
    apis.push(api);
    return api;
  };
  const run = (api: ClairApi | string, tar = 'images/docker.tar', extra: Record<string, string> = {}, client: ClairClientOptions = {}): Promise<ParsedReport> =>
    collectClair(context(workspace, { 'clair-url': typeof api === 'string' ? api : api.url, 'image-tar': tar, ...extra }), { ...FAST, ...client });

  beforeAll(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-clair-'));
    await mkdir(path.join(workspace, 'images'));
    docker = await writeDockerArchive(SPEC, path.join(workspace, 'images', 'docker.tar'));
    oci = await writeOciArchive(SPEC, path.join(workspace, 'images', 'oci.tar'));
  });
  afterEach(async () => {
    for (const api of apis.splice(0)) {
      expect(api.overLimit()).toBe(false);
      await api.close();
    }
  });

  it('indexes a docker-archive: Clair fetches and verifies every layer from secgate, the doc example (dist/repo) becomes one finding', async () => {
    const api = await start({ spelling: 'doc', reportStatus: 201 });
    const report = await run(api);
    // The synthesised manifest: the same digest as the OCI archive of the same image.
    const manifest = api.manifests[0] as { hash: string; layers: { hash: string; uri: string; headers: unknown; media_type: string }[] };
    expect(manifest.hash).toBe(oci.manifestDigest);
    expect(manifest.layers.map((l) => l.hash)).toEqual(docker.layerDigests);
    expect(manifest.layers.every((l) => /^http:\/\/127\.0\.0\.1:\d+\/[a-f0-9]{64}\/sha256:[a-f0-9]{64}$/.test(l.uri) && JSON.stringify(l.headers) === '{}')).toBe(true);
    expect(manifest.layers.every((l) => l.media_type === 'application/vnd.oci.image.layer.v1.tar')).toBe(true);
    expect(api.layerFetches.map((f) => [f.digest, f.status, f.verified])).toEqual(docker.layerDigests.map((d) => [d, 200, true]));
    expect(api.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /indexer/api/v1/index_report 201',
      `GET /matcher/api/v1/vulnerability_report/${oci.manifestDigest} 201`
    ]);
    expect(report.findings).toHaveLength(1);
    const [finding] = report.findings;
    expect(finding).toMatchObject({
      tool: 'clair',
      ruleId: 'CVE-2009-5155',
      severity: 'low',
      cve: ['CVE-2009-5155'],
      aliases: ['CVE-2009-5155'],
      package: { name: 'libapt-pkg5.0', version: '1.6.11', ecosystem: 'Ubuntu', fixedVersions: ['2.28-0ubuntu1'] },
      helpUri: 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2009-5155',
      identity: 'Ubuntu:libapt-pkg5.0@1.6.11:CVE-2009-5155',
      tags: ['image', 'vulnerability', 'Ubuntu', 'clair']
    });
    expect(finding!.location).toBeUndefined();
    expect(finding!.severityBasis).toBeUndefined();
    expect(finding!.title).toBe('libapt-pkg5.0 1.6.11 → 2.28-0ubuntu1: CVE-2009-5155');
    expect(finding!.message).toContain('Installed 1.6.11 → fixed 2.28-0ubuntu1: upgrade to 2.28-0ubuntu1');
    expect(finding!.message).toContain('advisory for glibc');
    expect(finding!.message).toContain('var/lib/dpkg/status');
    expect(report.facts).toEqual([
      `Clair 127.0.0.1:${new URL(api.url).port} indexed manifest ${oci.manifestDigest} (2 layers, 1 packages); manifest synthesised from the docker-archive`,
      "layers fetched by Clair from secgate's layer server: 2/2"
    ]);
  });

  it('reads the claircore spelling (distribution/repository) from an OCI archive, polling an index in progress; names the layer and its step', async () => {
    const api = await start({ spelling: 'claircore', indexingPolls: 3, introducedInLayer: 2 });
    const report = await run(api, 'images/oci.tar');
    expect(api.requests.map((r) => r.method + ' ' + r.path.replace(/sha256:\w+/, '<d>'))).toEqual([
      'POST /indexer/api/v1/index_report',
      'GET /indexer/api/v1/index_report/<d>',
      'GET /indexer/api/v1/index_report/<d>',
      'GET /indexer/api/v1/index_report/<d>',
      'GET /matcher/api/v1/vulnerability_report/<d>'
    ]);
    expect(api.layerFetches.every((f) => f.verified)).toBe(true);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ ruleId: 'CVE-2009-5155', package: { ecosystem: 'Ubuntu', fixedVersions: ['2.28-0ubuntu1'] } });
    expect(report.findings[0]!.message).toContain(`layer 2/2 (${oci.layerDigests[1]!.slice(0, 19)}…, RUN pip install PyYAML==5.3)`);
    expect(report.facts![0]).not.toContain('synthesised');
  });

  it('closes the layer server once indexing is over', async () => {
    const api = await start();
    await run(api);
    const uri = api.layerFetches[0]!.uri;
    const error = await failure(fetch(uri, { signal: AbortSignal.timeout(2000) }));
    expect(String((error as { cause?: { code?: string } }).cause?.code)).toBe('ECONNREFUSED');
  });

  it('serves a layer only at its tokened path (GET/HEAD), anything else is a bare 404', async () => {
    const archive = await readImageArchive(docker.file);
    const server = await startLayerServer(archive, '127.0.0.1', 10);
    try {
      const digest = archive.layers[0]!.digest;
      const uri = server.uriFor(digest);
      const ok = await fetch(uri);
      expect(ok.status).toBe(200);
      expect(Number(ok.headers.get('content-length'))).toBe(archive.layers[0]!.size);
      await ok.arrayBuffer();
      expect((await fetch(uri, { method: 'HEAD' })).status).toBe(200);
      const wrongToken = uri.replace(/\/[a-f0-9]{64}\//, `/${'0'.repeat(64)}/`);
      for (const bad of [wrongToken, uri.replace(digest, `sha256:${'1'.repeat(64)}`), `${new URL(uri).origin}/${digest}`, new URL(uri).origin]) {
        const answer = await fetch(bad);
        expect(answer.status).toBe(404);
        expect(await answer.text()).toBe('');
      }
      expect((await fetch(uri, { method: 'POST', body: 'x' })).status).toBe(404);
      expect(server.served.has(digest)).toBe(true);
    } finally {
      await server.close();
    }
  });

  describe('errors are named, never "0 vulnerabilities"', () => {
    it('Clair not running', async () => {
      const port = await closedPort();
      const error = await failure(run(`http://127.0.0.1:${port}`, 'images/docker.tar', {}, { attempts: 2 }));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(/Clair at http:\/\/127\.0\.0\.1:\d+ \(POST \/indexer\/api\/v1\/index_report\) failed after 2 attempt\(s\): could not connect \(ECONNREFUSED\); the image was not checked/);
    });

    it('a 500 storm: bounded retries, then a failure naming the status and Clair\'s message', async () => {
      const api = await start({ faults: [{ status: 500 }] });
      const error = await failure(run(api, 'images/docker.tar', {}, { attempts: 3 }));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(/failed after 3 attempt\(s\): HTTP 500: injected fault/);
      expect(api.requests).toHaveLength(3);
    });

    it('transient 500s and a 429 with Retry-After are retried to success', async () => {
      const api = await start({ faults: [{ pathPrefix: '/matcher', status: 503, times: 1 }, { pathPrefix: '/matcher', status: 429, retryAfter: 0, times: 1 }, { pathPrefix: '/indexer', method: 'POST', status: 502, times: 1 }] });
      const report = await run(api);
      expect(report.findings).toHaveLength(1);
      expect(api.requests.map((r) => r.status)).toEqual([502, 201, 503, 429, 200]);
    });

    it('a persistent 429 fails naming it', async () => {
      const api = await start({ faults: [{ status: 429 }] });
      const error = await failure(run(api, 'images/docker.tar', {}, { attempts: 2 }));
      expect(error.message).toMatch(/HTTP 429: injected fault/);
    });

    it('a 4xx is not retried and names the status', async () => {
      const api = await start({ faults: [{ pathPrefix: '/matcher', status: 404 }] });
      const error = await failure(run(api));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(/\(GET \/matcher\/api\/v1\/vulnerability_report\/sha256:[a-f0-9]{64}\) answered HTTP 404: injected fault/);
      expect(api.requests.filter((r) => r.path.startsWith('/matcher'))).toHaveLength(1);
    });

    it('IndexError carries Clair\'s err text', async () => {
      const api = await start({ indexError: 'scanner "dpkg": unable to open database' });
      const error = await failure(run(api));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(/could not index sha256:[a-f0-9]{64}: IndexError: scanner "dpkg": unable to open database/);
    });

    it('IndexError after polling', async () => {
      const api = await start({ indexingPolls: 2, indexError: 'layer fetch failed' });
      const error = await failure(run(api));
      expect(error.message).toMatch(/IndexError: layer fetch failed/);
    });

    it('a layer that no longer matches its digest is cut off, and Clair\'s IndexError says so', async () => {
      const file = path.join(workspace, 'images', 'changing.tar');
      await writeDockerArchive(SPEC, file);
      const archive = await readImageArchive(file);
      // The tarball is rebuilt with other content after it was read: the layer server must not serve it as the old digest.
      await writeDockerArchive({ ...SPEC, layers: [debianBaseLayer('11', 'bullseye'), SPEC.layers[1]!] }, file);
      const api = await start();
      const error = await failure(scanArchiveWithClair(archive, new URL(api.url), { layerHost: '127.0.0.1', unknownSeverity: 'high' }, FAST));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(new RegExp(`could not index sha256:[a-f0-9]{64}: IndexError: failed to fetch layers: layer ${archive.layers[0]!.digest}`));
      expect(api.layerFetches[0]!.verified).toBe(false);
    });

    it('malformed JSON', async () => {
      const api = await start({ faults: [{ pathPrefix: '/matcher', malformed: true }] });
      const error = await failure(run(api));
      expect(error).toBeInstanceOf(ToolOutputError);
      expect(error.message).toMatch(/clair: unreadable output: the vulnerability report is truncated or not JSON/);
    });

    it('an answer over the size limit', async () => {
      const api = await start({ faults: [{ pathPrefix: '/matcher', oversizedBytes: 200_000 }] });
      const error = await failure(run(api, 'images/docker.tar', {}, { maxResponseBytes: 100_000 }));
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error.message).toMatch(/answered with (\d+ bytes, )?more than the 100000-byte limit/);
    });

    it('slow answers time out per request and are retried a bounded number of times', async () => {
      const api = await start({ faults: [{ pathPrefix: '/matcher', delayMs: 400 }] });
      const error = await failure(run(api, 'images/docker.tar', {}, { requestTimeoutMs: 100, attempts: 2 }));
      expect(error.message).toMatch(/failed after 2 attempt\(s\): no answer within 100 ms/);
    });

    it('an index that never finishes hits the poll bound', async () => {
      const api = await start({ indexingPolls: 50 });
      const error = await failure(run(api, 'images/docker.tar', {}, { maxPolls: 3 }));
      expect(error.message).toMatch(/was still indexing sha256:[a-f0-9]{64} \(state ScanLayers\) after 3 polls/);
    });

    it('a matcher not ready (202) is polled until it answers', async () => {
      const api = await start({ matcherNotReady: 2 });
      const report = await run(api);
      expect(report.findings).toHaveLength(1);
      expect(api.requests.filter((r) => r.status === 202)).toHaveLength(2);
    });

    it('the report for another manifest, an unknown severity word, both spellings at once', async () => {
      const cases: [ClairApiOptions['transformReport'], RegExp][] = [
        [(r) => ({ ...r, manifest_hash: `sha256:${'e'.repeat(64)}` }), /vulnerability report\.manifest_hash is "sha256:e+", not the manifest submitted/],
        [(r) => { (r['vulnerabilities'] as Record<string, Record<string, unknown>>)['356835']!['normalized_severity'] = 'Important'; return r; }, /vulnerabilities\["356835"\]\.normalized_severity is "Important", expected one of/],
        [(r) => { const v = (r['vulnerabilities'] as Record<string, Record<string, unknown>>)['356835']!; v['distribution'] = v['dist']; return r; }, /vulnerabilities\["356835"\] has both distribution and dist/],
        [(r) => { (r['package_vulnerabilities'] as Record<string, unknown>)['10'] = ['1']; return r; }, /package_vulnerabilities\["10"\] names vulnerability "1", which the report does not list/]
      ];
      for (const [transformReport, expected] of cases) {
        const api = await start({ transformReport });
        const error = await failure(run(api));
        expect(error).toBeInstanceOf(ToolOutputError);
        expect(error.message).toMatch(expected);
      }
    });
  });

  describe('configuration', () => {
    it('is not applicable without clair-url or without an image', async () => {
      expect(await clairAdapter.skip!(context(workspace, {}))).toEqual({ reason: 'no clair-url given', notApplicable: true });
      expect(await clairAdapter.skip!(context(workspace, { 'clair-url': 'http://127.0.0.1:1' }))).toEqual({ reason: 'no image-tar or image to index', notApplicable: true });
      expect(await clairAdapter.skip!(context(workspace, { 'clair-url': 'http://127.0.0.1:1', 'image-tar': 'images/docker.tar' }))).toBeUndefined();
      expect(clairAdapter.install).toEqual({ kind: 'none', tool: 'clair', defaultVersion: 'v4 API' });
    });

    it.each([
      [{ 'clair-url': 'not a url' }, /clair-url: 'not a url' is not a URL/],
      [{ 'clair-url': 'ftp://clair.example' }, /clair-url: 'ftp:\/\/clair.example\/?' is not an http\(s\) URL/],
      [{ 'clair-url': 'http://user:secret@clair.example/?x=1' }, /clair-url: 'http:\/\/\*\*\*@clair.example\/\?x=1' must not carry a query/],
      [{ 'clair-url': 'https://user:secret@clair.example' }, /clair-url: 'https:\/\/\*\*\*@clair.example' must not carry credentials/],
      [{ 'clair-url': 'http://127.0.0.1:1', image: 'registry.example/app:1', 'image-tar': '' }, /image: clair reads image-tar only for now/],
      [{ 'clair-url': 'http://127.0.0.1:1', 'image-tar': '../outside.tar' }, /image-tar: '..\/outside.tar' is outside the workspace/],
      [{ 'clair-url': 'http://127.0.0.1:1', 'image-tar': 'images/docker.tar', 'clair-layer-host': 'bad host!' }, /clair-layer-host: 'bad host!' is not a host name/],
      [{ 'clair-url': 'http://127.0.0.1:1', 'image-tar': 'images/docker.tar', 'clair-layer-host': '192.0.2.1' }, /clair-layer-host: the layer server for Clair cannot listen on 192\.0\.2\.1/],
      [{ 'clair-url': 'http://127.0.0.1:1', 'image-tar': 'images/docker.tar', 'unknown-severity': 'severe' }, /unknown-severity: 'severe' is not one of/]
    ])('%j', async (options, expected) => {
      const error = await failure(collectClair(context(workspace, options), FAST));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain('secret');
    });
  });

  describe('report parser', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const example = (): Record<string, unknown> => ({ ...loadClairExample('vulnerability_report.json'), manifest_hash: digest });

    it('maps Unknown to unknown-severity with its basis, Negligible to info', () => {
      const report = example();
      const vuln = (report['vulnerabilities'] as Record<string, Record<string, unknown>>)['356835']!;
      vuln['normalized_severity'] = 'Unknown';
      vuln['severity'] = 'unimportant';
      const unknown = parseVulnerabilityReport(report, { manifestDigest: digest }, 'medium').findings[0]!;
      expect(unknown.severity).toBe('medium');
      expect(unknown.severityBasis).toBe('unknown → medium (unknown-severity; Clair normalized_severity Unknown, vendor severity "unimportant")');
      vuln['normalized_severity'] = 'Negligible';
      expect(parseVulnerabilityReport(report, { manifestDigest: digest }, 'high').findings[0]!.severity).toBe('info');
    });

    it('no fix: fixedVersions [] (ignore-unfixed applies); older query-string form read', () => {
      const report = example();
      const vuln = (report['vulnerabilities'] as Record<string, Record<string, unknown>>)['356835']!;
      vuln['fixed_in_version'] = '';
      const finding = parseVulnerabilityReport(report, { manifestDigest: digest }, 'high').findings[0]!;
      expect(finding.package!.fixedVersions).toEqual([]);
      expect(finding.message).toContain('no fixed version is known');
      vuln['fixed_in_version'] = 'fixed=5.4&introduced=0';
      expect(parseVulnerabilityReport(report, { manifestDigest: digest }, 'high').findings[0]!.package!.fixedVersions).toEqual(['5.4']);
    });

    it('Go null maps are empty; a language repository wins over the distribution for the ecosystem', () => {
      const empty = parseVulnerabilityReport({ manifest_hash: digest, packages: null, distributions: null, environments: null, vulnerabilities: null, package_vulnerabilities: null }, { manifestDigest: digest }, 'high');
      expect(empty.findings).toEqual([]);
      const report = example();
      report['repository'] = { '3': { id: '3', name: 'pypi', key: '', uri: 'https://pypi.org/simple' } };
      (report['environments'] as Record<string, Record<string, unknown>[]>)['10']![0]!['repository_ids'] = ['3'];
      expect(parseVulnerabilityReport(report, { manifestDigest: digest }, 'high').findings[0]!.package!.ecosystem).toBe('PyPI');
    });

    it('missing or mistyped fields are named', () => {
      const cases: [(r: Record<string, unknown>) => void, RegExp][] = [
        [(r) => delete r['packages'], /packages is missing, expected an object/],
        [(r) => ((r['packages'] as Record<string, Record<string, unknown>>)['10']!['name'] = 5), /packages\["10"\]\.name is the number 5/],
        [(r) => delete (r['vulnerabilities'] as Record<string, Record<string, unknown>>)['356835']!['fixed_in_version'], /vulnerabilities\["356835"\]\.fixed_in_version is missing/],
        [(r) => ((r['environments'] as Record<string, Record<string, unknown>[]>)['10']![0]!['distribution_id'] = '9'), /names distribution "9", which the report does not list/],
        [(r) => ((r['package_vulnerabilities'] as Record<string, unknown>)['77'] = ['356835']), /package_vulnerabilities\["77"\] names a package the report does not list/]
      ];
      for (const [edit, expected] of cases) {
        const report = example();
        edit(report);
        expect(() => parseVulnerabilityReport(report, { manifestDigest: digest }, 'high')).toThrow(expected);
      }
    });
  });
});
