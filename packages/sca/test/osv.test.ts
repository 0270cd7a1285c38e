import { describe, expect, it, afterAll, beforeAll } from '@jest/globals';
import { loadAdvisories } from '../../../test/helpers/osv-records.js';
import { startOsvApi, unreachableUrl, type OsvApi } from '../../../test/helpers/osv-api.js';
import { advisory } from '../../../test/helpers/osv-records.js';
import { cvssBaseScore, severityFromOsv, type OsvRecord } from '../src/osv/severity.js';
import { clearOsvCache, fetchVulnerabilities, fetchVulnerability, parseOsvUrl } from '../src/osv/client.js';

// Expectations from ../shared/fixtures/advisories/SOURCES.md ("Advisories affecting the pinned versions").
const ids = (records: { id: string }[]): string[] => records.map((r) => r.id).sort();

describe('advisory fixtures index', () => {
  const index = loadAdvisories();
  it('loads every PYSEC and GHSA record with aliases', () => {
    expect(index.records).toHaveLength(140 + 55);
    expect(index.byAlias.get('CVE-2020-14343')?.map((r) => r.id).sort()).toEqual(['GHSA-8q59-q68h-6hv4', 'PYSEC-2021-142']);
  });
  it('matches versions by range and list, with PEP 503 names', () => {
    expect(ids(index.query('PyPI', 'PyYAML', '5.3.1'))).toEqual(['GHSA-8q59-q68h-6hv4', 'PYSEC-2021-142']);
    expect(ids(index.query('PyPI', 'pyyaml', '5.4'))).toEqual([]);
    expect(ids(index.query('PyPI', 'numpy', '1.21.0'))).toEqual(['GHSA-fpfv-jqm9-f5jm']);
    expect(ids(index.query('PyPI', 'torch', '2.5.1'))).toEqual([]);
    expect(ids(index.query('PyPI', 'langchain', '0.0.171'))).toEqual([
      'GHSA-655w-fm8m-m478', 'GHSA-6h8p-4hx9-w66c', 'GHSA-h59x-p739-982c',
      'PYSEC-2023-109', 'PYSEC-2023-110', 'PYSEC-2023-138', 'PYSEC-2023-145', 'PYSEC-2023-146', 'PYSEC-2023-147',
      'PYSEC-2023-162', 'PYSEC-2023-205', 'PYSEC-2023-91', 'PYSEC-2023-92', 'PYSEC-2023-98', 'PYSEC-2024-43'
    ].sort());
    expect(ids(index.query('PyPI', 'Jinja2', '2.10'))).toEqual(['GHSA-462w-v97r-4m45', 'GHSA-g3rq-g295-4j3m', 'GHSA-h5c8-rqwp-cp95', 'GHSA-h75v-3vvj-5mfj', 'PYSEC-2019-217', 'PYSEC-2021-66']);
    expect(ids(index.query('PyPI', 'scikit_learn', '0.23.0'))).toEqual(['GHSA-jw8x-6495-233v', 'PYSEC-2020-107', 'PYSEC-2020-108']);
  });
});

describe('loopback OSV API', () => {
  let api: OsvApi;
  beforeAll(async () => {
    api = await startOsvApi({ maxRequests: 20 });
  });
  afterAll(async () => api.close());
  const post = async (p: string, body: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(`${api.url}${p}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  it('answers /v1/query, /v1/querybatch and /v1/vulns/{id} in the OSV shapes', async () => {
    const q = await post('/v1/query', { package: { name: 'pyyaml', ecosystem: 'PyPI' }, version: '5.3.1' });
    expect(q.status).toBe(200);
    expect(ids((q.json as { vulns: { id: string }[] }).vulns)).toEqual(['GHSA-8q59-q68h-6hv4', 'PYSEC-2021-142']);
    expect((await post('/v1/query', { package: { purl: 'pkg:pypi/torch@2.5.1' } })).json).toEqual({});
    const batch = await post('/v1/querybatch', { queries: [{ package: { name: 'numpy', ecosystem: 'PyPI' }, version: '1.21.0' }, { package: { name: 'torch', ecosystem: 'PyPI' }, version: '2.5.1' }] });
    expect(batch.json).toEqual({ results: [{ vulns: [{ id: 'GHSA-fpfv-jqm9-f5jm', modified: expect.any(String) }] }, {}] });
    const one = await fetch(`${api.url}/v1/vulns/PYSEC-2021-142`);
    expect(((await one.json()) as { aliases: string[] }).aliases).toEqual(['CVE-2020-14343', 'GHSA-8q59-q68h-6hv4']);
    const missing = await fetch(`${api.url}/v1/vulns/PYSEC-0000-0`);
    expect(missing.status).toBe(404);
    expect((await post('/v1/query', { nope: 1 })).status).toBe(400);
  });
  it('injects faults and logs requests', async () => {
    api.setFaults([{ pathPrefix: '/v1/vulns/', status: 503, times: 1 }, { pathPrefix: '/v1/query', malformed: true, times: 1 }]);
    expect((await fetch(`${api.url}/v1/vulns/PYSEC-2021-142`)).status).toBe(503);
    expect((await fetch(`${api.url}/v1/vulns/PYSEC-2021-142`)).status).toBe(200);
    const bad = await fetch(`${api.url}/v1/query`, { method: 'POST', body: '{}' });
    await expect(bad.json()).rejects.toThrow();
    expect(api.requests.filter((r) => r.fault).map((r) => r.fault)).toEqual(['status 503', 'malformed']);
  });
  it('is bounded', async () => {
    while (api.requests.length <= 20) await fetch(`${api.url}/v1/vulns/x`);
    expect(api.overLimit()).toBe(true);
  });
});

describe('severityFromOsv on real records', () => {
  const rec = (id: string): OsvRecord => advisory(id) as unknown as OsvRecord;
  it('scores a CVSS v3.1 vector (GHSA-8q59-q68h-6hv4, PyYAML: 9.8)', () => {
    expect(cvssBaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toEqual({ version: '3.1', score: 9.8 });
    expect(severityFromOsv(rec('GHSA-8q59-q68h-6hv4'), 'high')).toEqual({ severity: 'critical', basis: 'CVSS:3.1 9.8' });
    expect(severityFromOsv(rec('PYSEC-2023-138'), 'high')).toEqual({ severity: 'critical', basis: 'CVSS:3.1 9.8' });
  });
  it('takes the highest of v3 and v4 vectors (GHSA-44wm-f244-xhp3 carries both)', () => {
    const record = rec('GHSA-44wm-f244-xhp3');
    const scores = (record.severity ?? []).map((s) => cvssBaseScore(s.score)!);
    expect(scores.map((s) => s.version).sort()).toEqual(['3.1', '4.0']);
    const best = scores.reduce((a, b) => (b.score > a.score ? b : a));
    const verdict = severityFromOsv(record, 'low');
    expect(verdict.basis).toBe(`CVSS:${best.version} ${best.score.toFixed(1)}`);
    expect(verdict.severity).toBe(best.score >= 9 ? 'critical' : best.score >= 7 ? 'high' : 'medium');
    expect(cvssBaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toEqual({ version: '4.0', score: 9.3 });
  });
  it('falls back to the GHSA word (GHSA-37q5-v5qm-c9v8, transformers: LOW, no vector)', () => {
    expect(severityFromOsv(rec('GHSA-37q5-v5qm-c9v8'), 'high')).toEqual({ severity: 'low', basis: 'GHSA low' });
  });
  it('uses unknown-severity, visibly, when the record has none (PYSEC-2021-142)', () => {
    expect(severityFromOsv(rec('PYSEC-2021-142'), 'high')).toEqual({ severity: 'high', basis: 'unknown → high (unknown-severity)' });
    expect(severityFromOsv(rec('PYSEC-2021-142'), 'critical').severity).toBe('critical');
  });
  it('never scores partial, garbled or v2 vectors', () => {
    expect(cvssBaseScore('CVSS:3.1/AV:N')).toBeUndefined();
    expect(cvssBaseScore('CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBeUndefined();
    expect(cvssBaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P')).toBeUndefined();
    const garbled: OsvRecord = { id: 'X-1', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' }] };
    expect(severityFromOsv(garbled, 'high')).toEqual({ severity: 'high', basis: 'unknown → high (unknown-severity); 1 unreadable CVSS vector(s) ignored' });
  });
});

describe('OSV client', () => {
  let api: OsvApi;
  beforeAll(async () => {
    api = await startOsvApi();
  });
  afterAll(async () => api.close());
  it('fetches, caches per run, and answers undefined for an unknown id', async () => {
    clearOsvCache();
    const before = api.requests.length;
    const record = await fetchVulnerability(api.url, 'GHSA-8q59-q68h-6hv4');
    expect(record?.aliases).toEqual(['CVE-2020-14343']);
    await fetchVulnerability(`${api.url}/`, 'GHSA-8q59-q68h-6hv4');
    expect(api.requests.length - before).toBe(1);
    expect(await fetchVulnerability(api.url, 'PYSEC-0000-0')).toBeUndefined();
    const many = await fetchVulnerabilities(api.url, ['PYSEC-2023-138', 'PYSEC-2021-142', 'PYSEC-2023-138'], { concurrency: 2 });
    expect([...many.keys()].sort()).toEqual(['PYSEC-2021-142', 'PYSEC-2023-138']);
  });
  it('retries 5xx within bounds, then names the URL', async () => {
    clearOsvCache();
    api.setFaults([{ pathPrefix: '/v1/vulns/', status: 503, times: 2 }]);
    expect((await fetchVulnerability(api.url, 'PYSEC-2021-142', { backoffMs: 1 }))?.id).toBe('PYSEC-2021-142');
    api.setFaults([{ pathPrefix: '/v1/vulns/', status: 502 }]);
    const before = api.requests.length;
    await expect(fetchVulnerability(api.url, 'PYSEC-2023-138', { backoffMs: 1, attempts: 3, tool: 'pip-audit' })).rejects.toThrow(
      new RegExp(`^pip-audit: the OSV service at ${api.url}/v1/vulns/PYSEC-2023-138 is unreachable after 3 attempt\\(s\\): HTTP 502`)
    );
    expect(api.requests.length - before).toBe(3);
    api.setFaults([{ pathPrefix: '/v1/vulns/', malformed: true }]);
    await expect(fetchVulnerability(api.url, 'PYSEC-2023-91')).rejects.toThrow(/not JSON/);
    api.setFaults([{ pathPrefix: '/v1/vulns/', delayMs: 300, times: 5 }]);
    await expect(fetchVulnerability(api.url, 'PYSEC-2023-92', { timeoutMs: 50, backoffMs: 1, attempts: 2 })).rejects.toThrow(/no answer within 50 ms/);
    api.setFaults([]);
  });
  it('is red when nothing listens', async () => {
    const url = await unreachableUrl();
    await expect(fetchVulnerability(url, 'PYSEC-2021-142', { backoffMs: 1 })).rejects.toThrow(/is unreachable after 3 attempt\(s\): could not connect \(ECONNREFUSED\)/);
  });
  it('validates osv-url without echoing credentials', () => {
    expect(parseOsvUrl('')).toBe('https://api.osv.dev');
    expect(parseOsvUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(() => parseOsvUrl('ftp://x')).toThrow(/osv-url: .* is not an http\(s\) URL/);
    expect(() => parseOsvUrl('https://user:s3cret@host/?q=1')).toThrow(/^osv-url: 'https:\/\/\*\*\*@host\/\?q=1' must not carry/);
  });
});
