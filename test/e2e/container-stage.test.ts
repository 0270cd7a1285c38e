/**
 * End to end: the built container action bundle (`dist/container`, or SECGATE_DIST_DIR) on Node 24, as the runner
 * runs it: real Trivy (from the loopback release mirror, pinned by digest), real Checkov (PyPI, hash lock) and real
 * hadolint (the official binary, verified against the committed lock) on the fixture project
 * (packages/container/test/fixtures/iac-project), an image tarball built here with vulnerable Python packages and a
 * token in its config, a Trivy DB built at test time from the real GHSA records of ../shared, and Clair through the
 * loopback stand-in serving Clair's published API examples.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, newJob, requireTool, runStep, type RunnerJob, type StepResult } from '../helpers/runner.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../helpers/release-mirror.js';
import { HAVE_TRIVY_DB_BUILDER, TRIVY_DB_BUILDER, buildTrivyDb, type BuiltTrivyDb } from '../helpers/trivy-db.js';
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive, writeOciArchive, type ImageSpec } from '../helpers/image-tar.js';
import { startClairApi } from '../helpers/clair-api.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';

const PROJECT = path.join(REPO_ROOT, 'packages', 'container', 'test', 'fixtures', 'iac-project');
const STEP_TIMEOUT = 15 * 60_000;
/** In the fixture Dockerfile's ENV (line 3), and in the image config below. */
const PLANTED_TOKEN = 'ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe';

const IMAGE: ImageSpec = {
  layers: [debianBaseLayer(), pythonPackagesLayer([
    { name: 'requests', version: '2.25.1' },
    { name: 'PyYAML', version: '5.3.1' },
    { name: 'mlflow', version: '2.9.2' },
    { name: 'six', version: '1.16.0' }
  ])],
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', `GITHUB_TOKEN=${PLANTED_TOKEN}`],
  history: ['ADD rootfs.tar /', 'RUN pip install requests==2.25.1 PyYAML==5.3.1 mlflow==2.9.2 six==1.16.0']
};

let job: RunnerJob;
let root: string;
let mirror: ReleaseMirror | undefined;
let pins = '';
let db: BuiltTrivyDb | undefined;

async function workspaceCopy(name: string, files: Record<string, string> = {}): Promise<string> {
  const dir = path.join(root, name);
  await cp(PROJECT, dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  return dir;
}

const run = (workspace: string, inputs: Record<string, string>): Promise<StepResult> =>
  runStep({
    bundle: 'container',
    workspace,
    job,
    inputs: { 'fail-on': 'high', cache: 'false', 'tool-versions': pins, 'mirror-url': mirror!.url, 'output-dir': path.join(workspace, '..', `${path.basename(workspace)}-out`), ...inputs },
    timeoutMs: STEP_TIMEOUT
  });

/** Everything a step leaves: stdout, stderr, summary and its report files. */
async function everything(step: StepResult): Promise<string> {
  const files = await Promise.all([step.outputs['sarif-file'], step.outputs['report-file'], step.outputs['sbom-file']].filter(Boolean).map((f) => readFile(f!, 'utf8')));
  return [step.stdout, step.stderr, step.summary, ...files].join('\n');
}

const ready = (): boolean => mirror !== undefined;

interface ReportFinding {
  tool: string;
  ruleId: string;
  title: string;
  message: string;
  severity: string;
  severityBasis?: string;
  location?: { path: string; startLine?: number };
  package?: { name: string; version?: string; fixedVersions?: string[] };
  sources: { tool: string; ruleId: string }[];
}
interface Report {
  findings: ReportFinding[];
  tools: { tool: string; status: string; facts?: string[] }[];
  unchecked?: { name: string; allowedBy?: unknown }[];
}
const reportOf = async (step: StepResult): Promise<Report> => JSON.parse(await readFile(step.outputs['report-file']!, 'utf8')) as Report;
/** Start lines of the findings of `rule` (from any merged source) in `file`: annotations are capped, the report is whole. */
const linesOf = (report: Report, file: string, rule: string): number[] =>
  report.findings.filter((f) => f.location?.path === file && f.sources.some((s) => s.ruleId === rule)).map((f) => f.location!.startLine ?? 0);

beforeAll(async () => {
  job = await newJob({ sharedToolCache: true });
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-container-e2e-'));
  if (!mirrorAvailable()) return;
  const digest = testLock().binary['trivy']?.['0.74.0']?.['linux-x64'];
  if (!digest) throw new Error('the release mirror has no trivy 0.74.0: run scripts/tools/build-mirror.sh');
  pins = `trivy=0.74.0@${digest}`;
  mirror = await startReleaseMirror(mirrorRoot());
  if (requireTool(HAVE_TRIVY_DB_BUILDER, `trivy-db builder at ${TRIVY_DB_BUILDER}`)) db = await buildTrivyDb();
}, 10 * 60_000);
afterAll(async () => {
  await mirror?.close();
  if (db) await rm(db.root, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

describe('infrastructure as code and Dockerfiles', () => {
  let step: StepResult;
  beforeAll(async () => {
    if (!ready()) return;
    // The Helm chart is allowed unchecked by Checkov through the ledger (Trivy renders it).
    const ws = await workspaceCopy('iac', {
      '.secgate.yml': 'exceptions:\n  - unaudited: charts/web\n    reason: Checkov cannot render Helm charts yet; Trivy scans the chart\n    owner: platform-team\n    expires: 2099-01-01\n'
    });
    step = await run(ws, {});
  }, STEP_TIMEOUT);

  it('gates on real Trivy, Checkov and hadolint findings, each on its line; the most severe annotated', async () => {
    if (!ready()) return;
    expect(step.outputs['verdict']).toBe('fail');
    expect(step.exitCode).toBe(1);
    const report = await reportOf(step);
    // Kubernetes: Trivy on the offending field, Checkov on the resource's first line; never merged.
    expect(linesOf(report, 'k8s/deployment.yaml', 'KSV-0017')).toEqual([19]); // privileged
    expect(linesOf(report, 'k8s/deployment.yaml', 'CKV_K8S_16')).toEqual([2]);
    expect(linesOf(report, 'k8s/deployment.yaml', 'KSV-0105')).toEqual([21]); // runAsUser 0
    // Terraform: SSH open to the world and the public-read ACL.
    expect(linesOf(report, 'terraform/main.tf', 'AWS-0107')).toEqual([20]);
    expect(linesOf(report, 'terraform/main.tf', 'CKV_AWS_24')).toEqual([11]);
    expect(linesOf(report, 'terraform/main.tf', 'AWS-0092')).toEqual([8]);
    expect(linesOf(report, 'docker/Dockerfile', 'DL3008')).toEqual([4]);
    // The secret in ENV (Trivy's secret scanner), its value nowhere (next test).
    expect(linesOf(report, 'docker/Dockerfile', 'github-pat')).toEqual([3]);
    // GitHub's caps: the annotations are the most severe findings, criticals first, on their lines.
    const critical = step.annotations.filter((a) => a.command === 'error' && /critical/i.test(a.properties['title'] ?? ''));
    expect(critical.length).toBeGreaterThan(0);
    for (const a of critical) expect(report.findings.some((f) => f.severity === 'critical' && f.location?.path === a.properties['file'] && String(f.location.startLine) === a.properties['line'])).toBe(true);
  });

  it('merges the same Dockerfile check of three tools, keeps the others apart, and lists the chart as allowed unchecked', async () => {
    if (!ready()) return;
    const report = await reportOf(step);
    const line2 = report.findings.filter((f) => f.location?.path === 'docker/Dockerfile' && f.location.startLine === 2);
    expect(line2).toHaveLength(1);
    expect(line2[0]!.sources.map((s) => `${s.tool}:${s.ruleId}`).sort()).toEqual(['checkov:CKV_DOCKER_7', 'hadolint:DL3007', 'trivy:DS-0001']);
    expect(report.tools.map((t) => `${t.tool}:${t.status}`)).toEqual(['trivy:ok', 'checkov:ok', 'hadolint:ok', 'clair:not-applicable']);
    expect(report.unchecked?.map((u) => [u.name, u.allowedBy !== undefined])).toEqual([['charts/web', true]]);
    // Checkov without a key: severities from secgate's map, with the basis on the finding.
    const privileged = report.findings.find((f) => f.ruleId === 'CKV_K8S_16')!;
    expect(privileged.severity).toBe('critical');
    expect(privileged.severityBasis).toMatch(/secgate/);
  });

  it('never prints the planted token, and writes valid SARIF', async () => {
    if (!ready()) return;
    const all = await everything(step);
    expect(all).not.toContain(PLANTED_TOKEN);
    expect(all).not.toContain(PLANTED_TOKEN.slice(4, 20));
    expect(sarifSchemaErrors(JSON.parse(await readFile(step.outputs['sarif-file']!, 'utf8')))).toEqual([]);
    expect(step.summary).toMatch(/### Misconfigurations by file \(\d+\)/);
    expect(step.summary).toMatch(/\| <code>k8s\/deployment\.yaml<\/code> \| [1-9]/); // criticals in the planted manifest
    expect(step.summary).toMatch(/### Secrets \(1; values redacted\)/);
  });

  it('keeps the clean twins clean for every tool', async () => {
    if (!ready()) return;
    const ws = await workspaceCopy('clean-only');
    const clean = await run(ws, { 'iac-paths': 'clean', 'fail-on': 'info' });
    expect(clean.annotations.filter((a) => a.command !== 'notice' && a.properties['file'])).toEqual([]);
    expect(clean.outputs['verdict']).toBe('pass');
    expect(clean.outputs['total']).toBe('0');
  }, STEP_TIMEOUT);

  it('one credential found by Trivy and Checkov on one line is one finding with both sources, its value nowhere', async () => {
    if (!ready()) return;
    // A made-up AWS key pair in the documented AKIA format, written at test time.
    const keyId = ['AKIA', 'QX7Z', 'M4NB', 'R2TK', 'W9VD'].join('');
    const secret = ['wJal', 'rXUt', 'nFEM', 'I/K7', 'MDEN', 'G/bP', 'xRfi', 'CYzE', 'XAMP', 'LEKE'].join('');
    const ws = await workspaceCopy('secret-merge');
    await writeFile(path.join(ws, 'terraform', 'provider.tf'), `provider "aws" {\n  region     = "eu-west-1"\n  access_key = "${keyId}"\n  secret_key = "${secret}"\n}\n`);
    const step = await run(ws, { tools: 'trivy,checkov', 'iac-paths': 'terraform', scanners: 'secret' });
    const report = await reportOf(step);
    const onLine3 = report.findings.filter((f) => f.location?.path === 'terraform/provider.tf' && f.location.startLine === 3);
    expect(onLine3).toHaveLength(1);
    expect(onLine3[0]!.sources.map((s) => `${s.tool}:${s.ruleId}`).sort()).toEqual(['checkov:CKV_SECRET_2', 'trivy:aws-access-key-id']);
    const all = await everything(step);
    for (const value of [keyId, secret, keyId.slice(4, 16), secret.slice(8, 24)]) expect(all).not.toContain(value);
  }, STEP_TIMEOUT);

  it('gates on Checkov alone without a paid key (fail-on high works)', async () => {
    if (!ready()) return;
    const ws = await workspaceCopy('checkov-only');
    const only = await run(ws, { tools: 'checkov', 'iac-paths': 'k8s,terraform' });
    expect(only.outputs['verdict']).toBe('fail');
    expect(Number(only.outputs['blocking'])).toBeGreaterThan(0);
  }, STEP_TIMEOUT);

  it('a Helm chart Checkov cannot render makes the run an error unless the ledger allows it', async () => {
    if (!ready()) return;
    const ws = await workspaceCopy('helm');
    const step = await run(ws, { tools: 'checkov', 'iac-paths': 'charts' });
    expect(step.outputs['verdict']).toBe('error');
    expect(step.annotations.find((a) => a.command === 'error' && /tool-incomplete/.test(a.message))?.message).toMatch(/charts\/web/);
  }, STEP_TIMEOUT);
});

describe('image tarball', () => {
  const haveDb = (): boolean => ready() && db !== undefined;

  it.each(['docker-archive', 'oci-archive'])('finds the planted vulnerabilities (%s) offline, on the Dockerfile FROM line, with the SBOM and the DB age', async (format) => {
    if (!haveDb()) return;
    const ws = await workspaceCopy(`image-${format}`);
    await (format === 'docker-archive' ? writeDockerArchive : writeOciArchive)(IMAGE, path.join(ws, 'image.tar'));
    const step = await run(ws, { tools: 'trivy', 'image-tar': 'image.tar', 'iac-paths': 'docker', dockerfile: 'docker/Dockerfile', 'trivy-db-dir': db!.dir, sbom: 'true' });
    expect(step.outputs['verdict']).toBe('fail');
    if (process.env['DUMP_SUMMARY']) await writeFile(`/tmp/summary-${format}.md`, step.summary + '\n=====\n' + step.stdout);
    const report = await reportOf(step);
    const vulns = report.findings.filter((f) => f.package && /^(GHSA|CVE|PYSEC)-/.test(f.ruleId));
    expect([...new Set(vulns.map((f) => f.package!.name.toLowerCase()))].sort()).toEqual(['mlflow', 'pyyaml', 'requests']);
    // Image findings point at the final FROM line of the Dockerfile given.
    expect(new Set(vulns.map((f) => `${f.location?.path}:${f.location?.startLine}`))).toEqual(new Set(['docker/Dockerfile:2']));
    const pyyaml = vulns.find((f) => f.package!.name.toLowerCase() === 'pyyaml' && f.package!.fixedVersions?.includes('5.4'))!;
    expect(pyyaml.message).toContain('5.3.1');
    expect(pyyaml.message).toContain('5.4');
    expect(step.summary).toMatch(/vulnerability DB updated .*h old/);
    expect(step.summary).toMatch(/### Image vulnerabilities \(\d+ in 3 package\(s\)\)/);
    expect(step.summary).toMatch(/### Secrets \(\d+; values redacted\)/);
    const sbom = JSON.parse(await readFile(step.outputs['sbom-file']!, 'utf8')) as { components?: { name: string; version?: string }[] };
    expect(sbom.components?.map((c) => c.name.toLowerCase())).toEqual(expect.arrayContaining(['requests', 'pyyaml', 'mlflow', 'six']));
    // The token in the image config is found, and redacted everywhere.
    expect(report.findings.some((f) => f.ruleId === 'github-pat' && /config/i.test(f.message))).toBe(true);
    const all = await everything(step);
    expect(all).not.toContain(PLANTED_TOKEN);
    expect(all).not.toContain(PLANTED_TOKEN.slice(4, 20));
  }, STEP_TIMEOUT);

  it('refuses a stale DB and an unavailable one with a clear error, never 0 vulnerabilities', async () => {
    if (!haveDb()) return;
    const ws = await workspaceCopy('image-db-errors');
    await writeDockerArchive(IMAGE, path.join(ws, 'image.tar'));
    const stale = await buildTrivyDb({ updatedAt: new Date(Date.now() - 200 * 3_600_000) });
    try {
      const old = await run(ws, { tools: 'trivy', 'image-tar': 'image.tar', 'iac-paths': 'docker', 'trivy-db-dir': stale.dir });
      expect(old.outputs['verdict']).toBe('error');
      expect(old.annotations.find((a) => a.command === 'error')?.message).toMatch(/trivy-db-max-age/);
    } finally {
      await rm(stale.root, { recursive: true, force: true });
    }
    const down = await run(ws, { tools: 'trivy', 'image-tar': 'image.tar', 'iac-paths': 'docker', 'trivy-db-repository': '127.0.0.1:9/secgate/no-trivy-db' });
    expect(down.outputs['verdict']).toBe('error');
    expect(down.annotations.find((a) => a.command === 'error')?.message).toMatch(/vulnerability DB unavailable/);
  }, STEP_TIMEOUT);

  it('Clair: the tarball indexed and matched through the loopback Clair API, layers fetched and verified', async () => {
    if (!ready()) return;
    const clair = await startClairApi();
    try {
      const ws = await workspaceCopy('clair');
      await writeDockerArchive(IMAGE, path.join(ws, 'image.tar'));
      const step = await run(ws, { tools: 'clair', 'image-tar': 'image.tar', 'clair-url': clair.url, 'fail-on': 'low' });
      expect(clair.layerFetches.length).toBe(IMAGE.layers.length);
      expect(step.outputs['verdict']).toBe('fail');
      expect(step.summary).toMatch(/Clair .*indexed manifest sha256:/);
      expect(Number(step.outputs['total'])).toBeGreaterThan(0);
    } finally {
      await clair.close();
    }
  }, STEP_TIMEOUT);
});
