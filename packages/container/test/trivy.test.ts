/**
 * Trivy 0.74.0: the adapter against the real binary (~/.cache/secgate-ci/trivy-0.74.0/trivy, built
 * by the CI setup; SECGATE_TRIVY overrides) and the parser on upstream's own goldens
 * (../shared/fixtures/upstream/trivy, read at run time). No trivy output is committed: every other
 * report parsed here is produced by running trivy in the test.
 *
 * Image scans use a vulnerability DB built at test time (test/helpers/trivy-db.ts) from the real
 * GHSA records in ../shared/fixtures/advisories/ghsa; the expected advisories are derived from
 * those records' affected ranges for the versions planted in the image.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pep440 from '@renovatebot/pep440';
import { ConfigurationError, ToolFailureError, ToolOutputError, silentLogger, type InstalledTool, type ParsedReport, type RawFinding, type ToolContext, type ToolInvocation } from '@secgate/core';
import { misconfigRuleId, parseTrivyReport, trivyAdapter } from '../src/adapters/trivy.js';
import { finalFrom } from '../src/dockerfile-from.js';
import { readDbMaxAgeHours, readScanners } from '../src/options.js';
import { unknownSeverityOption as readUnknownSeverity } from '@secgate/core';
import { checkDbAge, parseDbMetadata, trivyCacheDir } from '../src/trivy-db.js';
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive, writeOciArchive, type ImageSpec } from '../../../test/helpers/image-tar.js';
import { REPO_ROOT, requireTool } from '../../../test/helpers/runner.js';
import { GHSA_RECORDS_DIR, HAVE_TRIVY_DB_BUILDER, TRIVY_DB_BUILDER, buildTrivyDb, writeTrivyDbMetadata, type BuiltTrivyDb } from '../../../test/helpers/trivy-db.js';

const BINARY = process.env['SECGATE_TRIVY'] ?? path.join(os.homedir(), '.cache', 'secgate-ci', 'trivy-0.74.0', 'trivy');
const HAVE_TRIVY = existsSync(BINARY);
const UPSTREAM = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'trivy');
const IAC_PROJECT = path.join(REPO_ROOT, 'packages', 'container', 'test', 'fixtures', 'iac-project');
/** The token planted in the fixture Dockerfile's ENV (line 3) and in the test image's config. */
const PLANTED_TOKEN = 'ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe';

const tool: InstalledTool = { tool: 'trivy', version: '0.74.0', command: BINARY, baseArgs: [], dir: path.dirname(BINARY), cacheHit: true, durationMs: 0, verified: true };

async function upstream(name: string): Promise<string | undefined> {
  const file = path.join(UPSTREAM, name);
  if (!requireTool(existsSync(file), `upstream sample ${file}`)) return undefined;
  return readFile(file, 'utf8');
}

async function context(workspace: string, options: Record<string, string> = {}, targets = ['.']): Promise<ToolContext> {
  return { workspace, targets, exclude: [], workDir: await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-work-')), options, logger: silentLogger };
}

function run(invocation: ToolInvocation, cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BINARY, invocation.args, { cwd, env: { ...process.env, ...invocation.env }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stderr });
    });
  });
}

/** Plans, runs, checks and parses every invocation the way the engine does (engine.ts runOneTool). */
async function scan(ctx: ToolContext): Promise<ParsedReport> {
  const planned = await trivyAdapter.command(tool, ctx);
  const invocations = Array.isArray(planned) ? planned : [planned];
  const reports: ParsedReport[] = [];
  for (const invocation of invocations) {
    const { code, stderr } = await run(invocation, ctx.workspace);
    const meaning = trivyAdapter.exitMeaning(code, invocation);
    const failure = trivyAdapter.stderrFailure?.(stderr, invocation, code);
    if (meaning === 'error') throw new ToolFailureError('trivy', failure ?? `exited with code ${code}`, code, stderr);
    if (failure) throw new ToolFailureError('trivy', failure, code, stderr);
    const parsed = trivyAdapter.parse(await readFile(invocation.reportFile!, 'utf8'), ctx, invocation);
    if (meaning === 'findings' && parsed.findings.length + (parsed.dropped ?? 0) === 0) throw new Error(`exit ${code} says findings, but none parsed`);
    reports.push(parsed);
  }
  return trivyAdapter.combine!(reports);
}

const rules = (findings: RawFinding[], file: string): string[] => [...new Set(findings.filter((f) => f.location?.path === file).map((f) => f.ruleId))].sort();
const at = (findings: RawFinding[], file: string, ruleId: string): RawFinding | undefined => findings.find((f) => f.location?.path === file && f.ruleId === ruleId);

// ---------------------------------------------------------------------------------------------

describe('trivy parser: upstream goldens', () => {
  it('reads a Dockerfile misconfiguration (new id form DS-0002, no line) as a file-level finding', async () => {
    const text = await upstream('dockerfile.json.golden');
    if (text === undefined) return;
    const parsed = parseTrivyReport(text);
    expect(parsed.findings).toHaveLength(1);
    expect(parsed.findings[0]).toMatchObject({ tool: 'trivy', ruleId: 'DS-0002', severity: 'high', location: { path: 'Dockerfile' }, aliases: ['AVD-DS-0002'] });
    expect(parsed.findings[0]!.location!.startLine).toBeUndefined();
    expect(parsed.findings[0]!.message).toContain('USER');
  });

  it('maps both misconfiguration id forms (before and after v0.69) to one rule id', async () => {
    const text = await upstream('dockerfile.json.golden');
    if (text === undefined) return;
    // The same report in the ≤ 0.68 form: ID "DS002" and AVDID "AVD-DS-0002".
    const old = text.replace('"ID": "DS-0002",', '"ID": "DS002",\n          "AVDID": "AVD-DS-0002",');
    expect(old).not.toBe(text);
    const [newer] = parseTrivyReport(text).findings;
    const [older] = parseTrivyReport(old).findings;
    expect(older!.ruleId).toBe('DS-0002');
    expect(older!.ruleId).toBe(newer!.ruleId);
    expect(older!.aliases).toEqual(expect.arrayContaining(['DS002', 'AVD-DS-0002']));
    expect(older!.identity).toBe(newer!.identity);
    expect(misconfigRuleId('AVD-AWS-0086', 'AVD-AWS-0086')).toEqual({ ruleId: 'AWS-0086', aliases: ['AVD-AWS-0086'] });
    expect(misconfigRuleId('KSV001', 'AVD-KSV-0001').ruleId).toBe(misconfigRuleId('KSV-0001', undefined).ruleId);
  });

  it('reads Terraform misconfigurations of real trivy 0.72.0 output on their lines, with a line-free identity', async () => {
    const text = await upstream('trivy-action_config-scan_report.json');
    if (text === undefined) return;
    const parsed = parseTrivyReport(text, { scanRoot: 'infra' });
    expect(parsed.findings.map((f) => f.ruleId)).toEqual(['AWS-0086', 'AWS-0087', 'AWS-0089', 'AWS-0090', 'AWS-0091', 'AWS-0093', 'AWS-0094', 'AWS-0132']);
    expect(at(parsed.findings, 'infra/main.tf', 'AWS-0086')!.location).toEqual({ path: 'infra/main.tf', startLine: 8, endLine: 10 });
    expect(at(parsed.findings, 'infra/main.tf', 'AWS-0090')!.location!.startLine).toBe(16);
    for (const finding of parsed.findings) expect(finding.identity).not.toMatch(/\b(8|10|16)\b/);
  });

  it('reads secrets as sensitive, without the match or the code lines around it', async () => {
    const text = await upstream('secrets.json.golden');
    if (text === undefined) return;
    const parsed = parseTrivyReport(text);
    expect(parsed.findings.map((f) => [f.ruleId, f.location, f.severity, f.sensitive])).toEqual([
      ['aws-access-key-id', { path: 'deploy.sh', startLine: 3, endLine: 3 }, 'critical', true],
      ['mysecret', { path: 'deploy.sh', startLine: 7, endLine: 7 }, 'high', true]
    ]);
    // The golden carries an unmasked token on a context line (5): it must not travel.
    const output = JSON.stringify(parsed);
    expect(text).toContain('ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    expect(output).not.toContain('ghp_0123456789');
    expect(output).not.toContain('export AWS_ACCESS_KEY_ID');
    expect(output).not.toContain('****');
  });

  it('reads OS package vulnerabilities of an image: package, installed → fixed, no location, identity by package', async () => {
    const text = await upstream('alpine-310.json.golden');
    if (text === undefined) return;
    const parsed = parseTrivyReport(text);
    expect(parsed.findings).toHaveLength(4);
    const finding = parsed.findings.find((f) => f.ruleId === 'CVE-2019-1549')!;
    expect(finding).toMatchObject({
      severity: 'medium',
      package: { name: 'libcrypto1.1', version: '1.1.1c-r0', ecosystem: 'Alpine', fixedVersions: ['1.1.1d-r0'] },
      cve: ['CVE-2019-1549'],
      cwe: ['CWE-330'],
      identity: 'Alpine:libcrypto1.1@1.1.1c-r0:CVE-2019-1549',
      helpUri: 'https://avd.aquasec.com/nvd/cve-2019-1549'
    });
    expect(finding.location).toBeUndefined();
    expect(finding.message).toContain('1.1.1c-r0 → 1.1.1d-r0');
    // The runner path of the tarball is not repeated; the OS is.
    expect(finding.message).toContain('(alpine 3.10.2)');
  });

  it('reads language packages: inventory with purls, PEP 503 names, vulnerabilities with fixed versions', async () => {
    const text = await upstream('poetry.json.golden');
    if (text === undefined) return;
    const parsed = parseTrivyReport(text);
    expect(parsed.inventory).toEqual([
      { kind: 'library', name: 'click', version: '8.1.3', ecosystem: 'PyPI', purl: 'pkg:pypi/click@8.1.3' },
      { kind: 'library', name: 'werkzeug', version: '0.14', ecosystem: 'PyPI', purl: 'pkg:pypi/werkzeug@0.14' },
      { kind: 'library', name: 'colorama', version: '0.4.6', ecosystem: 'PyPI', purl: 'pkg:pypi/colorama@0.4.6' }
    ]);
    expect(parsed.findings).toHaveLength(1);
    expect(parsed.findings[0]).toMatchObject({ ruleId: 'CVE-2019-14806', severity: 'high', location: { path: 'poetry.lock' }, package: { name: 'werkzeug', fixedVersions: ['0.15.3'] } });
  });

  it('refuses garbled reports with the field named, never a default', async () => {
    const text = await upstream('poetry.json.golden');
    if (text === undefined) return;
    const mutate = (from: string, to: string): string => {
      expect(text).toContain(from);
      return text.replace(from, to);
    };
    expect(() => parseTrivyReport(mutate('"Class": "lang-pkgs"', '"Class": "lang-packages"'))).toThrow(/Results\[0\]\.Class/);
    expect(() => parseTrivyReport(mutate('"Severity": "HIGH"', '"Severity": "SEVERE"'))).toThrow(/Vulnerabilities\[0\]\.Severity/);
    expect(() => parseTrivyReport(mutate('"Status": "fixed"', '"Status": "patched"'))).toThrow(/Status/);
    expect(() => parseTrivyReport(mutate('"FixedVersion": "0.15.3"', '"FixedVersion": ""'))).toThrow(/FixedVersion is empty while Status says fixed/);
    expect(() => parseTrivyReport(mutate('"SchemaVersion": 2', '"SchemaVersion": 1'))).toThrow(ToolOutputError);
    expect(() => parseTrivyReport(mutate('"InstalledVersion": "0.14",', ''))).toThrow(/InstalledVersion/);
    expect(() => parseTrivyReport(text.slice(0, 500))).toThrow(ToolOutputError);
    // UNKNOWN is not an error: it takes unknown-severity, visibly.
    const unknown = parseTrivyReport(mutate('"Severity": "HIGH"', '"Severity": "UNKNOWN"'), { unknownSeverity: 'medium' }).findings[0]!;
    expect(unknown.severity).toBe('medium');
    expect(unknown.severityBasis).toMatch(/unknown-severity/);
    // No fix: affected with no FixedVersion is fixedVersions [] (ignore-unfixed can tell).
    const report = JSON.parse(text) as { Results: { Vulnerabilities: Record<string, unknown>[] }[] };
    const vulnerability = report.Results[0]!.Vulnerabilities[0]!;
    delete vulnerability['FixedVersion'];
    vulnerability['Status'] = 'affected';
    expect(parseTrivyReport(JSON.stringify(report)).findings[0]!.package!.fixedVersions).toEqual([]);
    // Status unknown (omitted) and no FixedVersion: whether a fix exists is not known.
    delete vulnerability['Status'];
    expect(parseTrivyReport(JSON.stringify(report)).findings[0]!.package!.fixedVersions).toBeUndefined();
  });
});

describe('container options and helpers', () => {
  it('finds the final FROM line through stages, continuations, comments and heredocs', () => {
    const dockerfile = [
      '# syntax=docker/dockerfile:1',
      'FROM python:3.12 AS build',
      'RUN <<EOF',
      'FROM not-an-instruction',
      'EOF',
      '# final stage',
      'FROM --platform=linux/amd64 \\',
      '  # a comment inside the continuation',
      '  gcr.io/distroless/python3 AS final',
      'COPY --from=build /app /app'
    ].join('\n');
    expect(finalFrom(dockerfile)).toEqual({ line: 7, endLine: 9, image: 'gcr.io/distroless/python3', stage: 'final' });
    expect(finalFrom('# escape=`\nFROM a `\n  AS b\nRUN x')).toEqual({ line: 2, endLine: 3, image: 'a', stage: 'b' });
    expect(finalFrom('RUN echo\n')).toBeUndefined();
  });

  it('validates scanners, unknown-severity and trivy-db-max-age as ConfigurationErrors naming the input', () => {
    expect([...readScanners({})].sort()).toEqual(['misconfig', 'secret', 'vuln']);
    expect([...readScanners({ scanners: 'vuln, secret' })].sort()).toEqual(['secret', 'vuln']);
    expect(() => readScanners({ scanners: 'vuln,license' })).toThrow(/scanners: 'license'/);
    expect(readUnknownSeverity({})).toBe('high');
    expect(() => readUnknownSeverity({ 'unknown-severity': 'severe' })).toThrow(ConfigurationError);
    expect(readDbMaxAgeHours({})).toBe(168);
    expect(readDbMaxAgeHours({ 'trivy-db-max-age': '24' })).toBe(24);
    expect(() => readDbMaxAgeHours({ 'trivy-db-max-age': '-1' })).toThrow(/trivy-db-max-age/);
  });

  it('reads DB metadata strictly and refuses a stale DB by name', () => {
    const meta = parseDbMetadata('{"Version":2,"NextUpdate":"2026-11-27T06:59:56.104061407Z","UpdatedAt":"2026-11-26T06:59:56.104062158Z","DownloadedAt":"0001-01-01T00:00:00Z"}', 'metadata.json');
    expect(meta.updatedAt.toISOString()).toBe('2026-11-26T06:59:56.104Z');
    expect(meta.downloadedAt).toBeUndefined();
    expect(() => parseDbMetadata('{"Version":2,"NextUpdate":"2026-11-27T06:59:56Z","UpdatedAt":"yesterday","DownloadedAt":"0001-01-01T00:00:00Z"}', 'm.json')).toThrow(/UpdatedAt/);
    expect(() => parseDbMetadata('{"Version":1,"NextUpdate":"2026-11-27T06:59:56Z","UpdatedAt":"2026-11-26T06:59:56Z","DownloadedAt":"0001-01-01T00:00:00Z"}', 'm.json')).toThrow(/schema Version 1/);
    expect(() => parseDbMetadata('{"Version":2,"UpdatedAt":"2026-11-26T06:59:56Z","DownloadedAt":"0001-01-01T00:00:00Z"}', 'm.json')).toThrow(/NextUpdate missing/);
    expect(() => checkDbAge(meta, 168, new Date('2026-12-10T00:00:00Z'), 'test')).toThrow(/too old: updated 2026-11-26 06:59 UTC, 329 h ago, more than trivy-db-max-age 168 h/);
    expect(() => checkDbAge(meta, 168, new Date('2026-11-27T00:00:00Z'), 'test')).not.toThrow();
  });

  it('keeps downloaded DBs in SECGATE_TRIVY_CACHE_DIR, else the runner tool cache, else the temp dir', () => {
    expect(trivyCacheDir({ SECGATE_TRIVY_CACHE_DIR: '/cache/t' })).toBe('/cache/t');
    expect(trivyCacheDir({ RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' })).toBe('/opt/hostedtoolcache/secgate-trivy');
    expect(trivyCacheDir({})).toBe(path.join(os.tmpdir(), 'secgate-trivy'));
  });
});

// ---------------------------------------------------------------------------------------------

describe('trivy fs: IaC, Dockerfiles and secrets of the fixture project', () => {
  let workspace: string;
  let parsed: ParsedReport;

  beforeAll(async () => {
    if (!HAVE_TRIVY) return;
    workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-iac-'));
    await cp(IAC_PROJECT, workspace, { recursive: true });
    parsed = await scan(await context(workspace));
  });
  afterAll(async () => {
    if (workspace) await rm(workspace, { recursive: true, force: true });
  });

  it('annotates the planted Dockerfile problems on their lines and redacts the ENV token', () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const file = 'docker/Dockerfile';
    expect(rules(parsed.findings, file)).toEqual(expect.arrayContaining(['DS-0001', 'DS-0002', 'DS-0031', 'github-pat']));
    expect(at(parsed.findings, file, 'DS-0001')!.location).toEqual({ path: file, startLine: 2, endLine: 2 }); // FROM python:latest
    expect(at(parsed.findings, file, 'DS-0002')).toMatchObject({ severity: 'high', location: { path: file } }); // root: no USER, whole file
    const secret = at(parsed.findings, file, 'github-pat')!;
    expect(secret).toMatchObject({ sensitive: true, severity: 'critical', location: { path: file, startLine: 3, endLine: 3 } });
    expect(JSON.stringify(parsed)).not.toContain(PLANTED_TOKEN);
    expect(JSON.stringify(parsed)).not.toContain(PLANTED_TOKEN.slice(4, 20));
  });

  it('annotates the Kubernetes manifest: privileged, root, latest tag, host network', () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const file = 'k8s/deployment.yaml';
    expect(at(parsed.findings, file, 'KSV-0017')).toMatchObject({ severity: 'high', location: { path: file, startLine: 19, endLine: 26 } }); // privileged, in the container at 19–26
    expect(at(parsed.findings, file, 'KSV-0105')!.location).toEqual({ path: file, startLine: 21, endLine: 24 }); // runAsUser: 0 in securityContext
    expect(at(parsed.findings, file, 'KSV-0013')!.message).toMatch(/image tag/); // :latest
    expect(at(parsed.findings, file, 'KSV-0009')!.message).toMatch(/hostNetwork/);
    // Helm charts are rendered by trivy itself: the privileged pod of the chart template is found.
    expect(rules(parsed.findings, 'charts/web/templates/pod.yaml')).toContain('KSV-0017');
  });

  it('annotates the Terraform problems: public-read ACL on line 8, SSH from 0.0.0.0/0 on line 20', () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const file = 'terraform/main.tf';
    expect(at(parsed.findings, file, 'AWS-0092')).toMatchObject({ severity: 'high', location: { path: file, startLine: 8, endLine: 8 } });
    expect(at(parsed.findings, file, 'AWS-0107')).toMatchObject({ severity: 'high', location: { path: file, startLine: 20, endLine: 20 } });
  });

  it('finds nothing in the clean twins (Dockerfile, Kubernetes, Terraform)', () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    expect(parsed.findings.filter((f) => f.location?.path.startsWith('clean/'))).toEqual([]);
  });

  it('scans only the iac-paths given, with paths still workspace-relative (a file and a directory)', async () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const only = await scan(await context(workspace, { 'iac-paths': 'terraform\ndocker/Dockerfile', scanners: 'misconfig' }));
    expect([...new Set(only.findings.map((f) => f.location?.path))].sort()).toEqual(['docker/Dockerfile', 'terraform/main.tf']);
    expect(only.findings.some((f) => f.sensitive)).toBe(false);
  });

  it('honours .trivyignore at the workspace root and counts what it suppressed', async () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const ignoring = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-ignore-'));
    try {
      await cp(path.join(IAC_PROJECT, 'terraform'), path.join(ignoring, 'terraform'), { recursive: true });
      await writeFile(path.join(ignoring, '.trivyignore'), '# accepted for the demo bucket\nAWS-0092\nAVD-AWS-0107\n');
      const result = await scan(await context(ignoring, { scanners: 'misconfig' }));
      const ids = result.findings.map((f) => f.ruleId);
      expect(ids).not.toContain('AWS-0092');
      expect(ids).not.toContain('AWS-0107');
      expect(ids).toContain('AWS-0086');
      expect(result.facts).toContain('2 finding(s) suppressed by .trivyignore (2 misconfiguration)');
    } finally {
      await rm(ignoring, { recursive: true, force: true });
    }
  });

  it('never reads a .trivyignore whose real path is outside the workspace, nor the repository trivy.yaml', async () => {
    if (!requireTool(HAVE_TRIVY, `trivy at ${BINARY}`)) return;
    const outside = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-outside-'));
    const ws = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-linked-'));
    try {
      await cp(path.join(IAC_PROJECT, 'terraform'), path.join(ws, 'terraform'), { recursive: true });
      await writeFile(path.join(outside, 'ignore'), 'AWS-0092\n');
      const { symlink } = await import('node:fs/promises');
      await symlink(path.join(outside, 'ignore'), path.join(ws, '.trivyignore'));
      // A repository trivy.yaml that would drop everything below CRITICAL.
      await writeFile(path.join(ws, 'trivy.yaml'), 'severity:\n  - CRITICAL\nexit-code: 0\n');
      const result = await scan(await context(ws, { scanners: 'misconfig' }));
      expect(result.findings.map((f) => f.ruleId)).toEqual(expect.arrayContaining(['AWS-0092', 'AWS-0107']));
      expect(result.facts ?? []).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
      await rm(ws, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface GhsaRecord {
  id: string;
  aliases?: string[];
  affected?: { package?: { ecosystem: string; name: string }; ranges?: { type: string; events: Record<string, string>[] }[] }[];
}

const pep503 = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

/** Whether `version` falls in one of the record's PyPI ranges for `name` (introduced/fixed/last_affected). */
function affects(record: GhsaRecord, name: string, version: string): boolean {
  for (const affected of record.affected ?? []) {
    if (affected.package?.ecosystem !== 'PyPI' || pep503(affected.package.name) !== pep503(name)) continue;
    for (const range of affected.ranges ?? []) {
      let inside = false;
      for (const event of range.events) {
        if (event['introduced'] !== undefined && (event['introduced'] === '0' || pep440.gte(version, event['introduced']))) inside = true;
        if (event['fixed'] !== undefined && pep440.gte(version, event['fixed'])) inside = false;
        if (event['last_affected'] !== undefined && pep440.gt(version, event['last_affected'])) inside = false;
      }
      if (inside) return true;
    }
  }
  return false;
}

/** Planted: vulnerable versions (fixed and unfixed advisories) and one package no record names. */
const PLANTED = [
  { name: 'requests', version: '2.25.1' },
  { name: 'joblib', version: '1.1.0' },
  { name: 'PyYAML', version: '5.3.1' },
  { name: 'mlflow', version: '2.9.2' },
  { name: 'six', version: '1.16.0' }
];

const IMAGE: ImageSpec = {
  layers: [debianBaseLayer(), pythonPackagesLayer(PLANTED)],
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', `GITHUB_TOKEN=${PLANTED_TOKEN}`],
  history: ['ADD rootfs.tar /', 'RUN pip install requests==2.25.1 joblib==1.1.0 PyYAML==5.3.1 mlflow==2.9.2 six==1.16.0']
};

describe('trivy image: a hand-built image tarball against a DB built from the real GHSA records', () => {
  let workspace: string;
  let db: BuiltTrivyDb;
  let expected: Map<string, Set<string>>;
  const ready = (): boolean => requireTool(HAVE_TRIVY, `trivy at ${BINARY}`) && requireTool(HAVE_TRIVY_DB_BUILDER, `trivy-db builder at ${TRIVY_DB_BUILDER}`);

  beforeAll(async () => {
    if (!HAVE_TRIVY || !HAVE_TRIVY_DB_BUILDER) return;
    workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-image-'));
    db = await buildTrivyDb();
    await writeDockerArchive(IMAGE, path.join(workspace, 'image.tar'));
    await writeOciArchive(IMAGE, path.join(workspace, 'image-oci.tar'));
    await cp(path.join(IAC_PROJECT, 'docker', 'Dockerfile'), path.join(workspace, 'Dockerfile'));
    // Expected: for each planted package, every GHSA id whose affected ranges hold its version.
    expected = new Map();
    for (const file of (await readdir(GHSA_RECORDS_DIR)).filter((f) => f.endsWith('.json'))) {
      const record = JSON.parse(await readFile(path.join(GHSA_RECORDS_DIR, file), 'utf8')) as GhsaRecord;
      for (const pkg of PLANTED) {
        if (!affects(record, pkg.name, pkg.version)) continue;
        const ids = expected.get(pep503(pkg.name)) ?? new Set<string>();
        ids.add(record.id);
        expected.set(pep503(pkg.name), ids);
      }
    }
  });
  afterAll(async () => {
    if (workspace) await rm(workspace, { recursive: true, force: true });
    if (db) await rm(db.root, { recursive: true, force: true });
  });

  for (const archive of ['image.tar', 'image-oci.tar']) {
    it(`${archive}: finds exactly the planted advisories, on the Dockerfile's FROM line, and redacts the config token`, async () => {
      if (!ready()) return;
      const parsed = await scan(await context(workspace, { 'image-tar': archive, 'trivy-db-dir': db.dir, scanners: 'vuln,secret', 'iac-paths': 'Dockerfile' }));
      const vulns = parsed.findings.filter((f) => f.package);
      const found = new Map<string, Set<string>>();
      for (const finding of vulns) {
        const ghsa = (finding.aliases ?? []).filter((id) => id.startsWith('GHSA-'));
        expect(ghsa).toHaveLength(1);
        const ids = found.get(finding.package!.name) ?? new Set<string>();
        ids.add(ghsa[0]!);
        found.set(finding.package!.name, ids);
      }
      expect(expected.size).toBeGreaterThanOrEqual(4);
      expect(found).toEqual(expected);
      expect(found.has('six')).toBe(false);
      for (const finding of vulns) {
        expect(finding.location).toEqual({ path: 'Dockerfile', startLine: 2, endLine: 2 });
        expect(finding.identity).toBe(`PyPI:${finding.package!.name}@${finding.package!.version}:${finding.ruleId}`);
        expect(finding.message).toContain(`${finding.package!.name} ${finding.package!.version}`);
      }
      // PyYAML 5.3.1: fixed in 5.4 (GHSA-8q59-q68h-6hv4); mlflow 2.9.2: last_affected, no fix.
      const pyyaml = vulns.find((f) => f.package!.name === 'pyyaml')!;
      expect(pyyaml).toMatchObject({ severity: 'critical', package: { fixedVersions: ['5.4'] } });
      expect(pyyaml.message).toContain('5.3.1 → 5.4');
      expect(vulns.find((f) => f.package!.name === 'mlflow')!.package!.fixedVersions).toEqual([]);
      // Inventory: every planted package, with trivy's purl.
      expect(parsed.inventory!.filter((i) => i.ecosystem === 'PyPI').map((i) => i.purl).sort()).toEqual(PLANTED.map((p) => `pkg:pypi/${p.name.toLowerCase()}@${p.version}`).sort());
      // The token in the image config: found, redacted, annotated like the other image findings.
      const secret = parsed.findings.find((f) => f.sensitive && f.message.includes('(image config)'))!;
      expect(secret).toMatchObject({ ruleId: 'github-pat', location: { path: 'Dockerfile', startLine: 2, endLine: 2 } });
      // The Dockerfile's own ENV line (fs scan of iac-paths) is the other one.
      expect(parsed.findings.filter((f) => f.sensitive).map((f) => f.location!.startLine).sort()).toEqual([2, 3]);
      const output = JSON.stringify(parsed);
      expect(output).not.toContain(PLANTED_TOKEN);
      expect(output).not.toContain(PLANTED_TOKEN.slice(4, 20));
      expect(output).not.toContain(workspace);
      expect(parsed.facts!.find((f) => f.startsWith('vulnerability DB updated'))).toMatch(/^vulnerability DB updated \d{4}-\d\d-\d\d \d\d:\d\d UTC, 0 h old, next update .* UTC, source dir$/);
    });
  }

  it('refuses a stale DB (UpdatedAt older than trivy-db-max-age) by name, before running trivy', async () => {
    if (!ready()) return;
    const stale = await buildTrivyDb({ updatedAt: new Date(Date.now() - 200 * 3_600_000) });
    try {
      const ctx = await context(workspace, { 'image-tar': 'image.tar', 'trivy-db-dir': stale.dir });
      await expect(trivyAdapter.command(tool, ctx)).rejects.toThrow(/vulnerability DB \(trivy-db-dir .*\) is too old: .* 200 h ago, more than trivy-db-max-age 168 h/);
      // Within a raised max age it runs.
      await writeTrivyDbMetadata(stale.dir, new Date(Date.now() - 200 * 3_600_000), new Date());
      const parsed = await scan(await context(workspace, { 'image-tar': 'image.tar', 'trivy-db-dir': stale.dir, 'trivy-db-max-age': '240', scanners: 'vuln' }));
      expect(parsed.findings.length).toBeGreaterThan(0);
      expect(parsed.facts![0]).toMatch(/200 h old/);
    } finally {
      await rm(stale.root, { recursive: true, force: true });
    }
  });

  it('names a missing DB directory or file as a configuration error', async () => {
    if (!ready()) return;
    await expect(trivyAdapter.command(tool, await context(workspace, { 'image-tar': 'image.tar', 'trivy-db-dir': 'no-such-db' }))).rejects.toThrow(/trivy-db-dir: .*no-such-db is not a directory/);
    const half = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-halfdb-'));
    try {
      await writeTrivyDbMetadata(half, new Date(), new Date());
      await expect(trivyAdapter.command(tool, await context(workspace, { 'image-tar': 'image.tar', 'trivy-db-dir': half }))).rejects.toThrow(/trivy\.db does not exist/);
    } finally {
      await rm(half, { recursive: true, force: true });
    }
  });

  it('says "vulnerability DB unavailable" when the DB cannot be downloaded (offline mirror), never 0 vulnerabilities', async () => {
    if (!ready()) return;
    const cache = await mkdtemp(path.join(os.tmpdir(), 'secgate-trivy-cache-'));
    const saved = process.env['SECGATE_TRIVY_CACHE_DIR'];
    process.env['SECGATE_TRIVY_CACHE_DIR'] = cache;
    try {
      // Port 1 on the loopback refuses: what an offline runner sees from the registry.
      const ctx = await context(workspace, { 'image-tar': 'image.tar', 'trivy-db-repository': '127.0.0.1:1/trivy-db:2', scanners: 'vuln' });
      await expect(scan(ctx)).rejects.toThrow(/trivy: vulnerability DB unavailable from 127\.0\.0\.1:1\/trivy-db:2 \(trivy exited 1\): no vulnerability was checked — stderr tail: .*failed to download/s);
    } finally {
      if (saved === undefined) delete process.env['SECGATE_TRIVY_CACHE_DIR'];
      else process.env['SECGATE_TRIVY_CACHE_DIR'] = saved;
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('reads exit codes: 0 clean, 5 findings, 1 a named failure (never a result), others errors', async () => {
    if (!ready()) return;
    expect([0, 5, 1, 2, 137].map((code) => trivyAdapter.exitMeaning(code, { args: [] }))).toEqual(['clean', 'findings', 'error', 'error', 'error']);
    const [planned] = (await trivyAdapter.command(tool, await context(workspace, { 'iac-paths': 'Dockerfile', scanners: 'misconfig' }))) as ToolInvocation[];
    expect(trivyAdapter.exitMeaning(1, planned!)).toBe('error');
    expect(trivyAdapter.stderrFailure!('FATAL Fatal error flag error', planned!, 1)).toBe('exited with code 1 (a fatal error, not findings) scanning Dockerfile');
    expect(trivyAdapter.stderrFailure!('', planned!, 0)).toBeUndefined();
  });

  it('refuses an image-tar outside the workspace, and image with image-tar together', async () => {
    if (!ready()) return;
    await expect(trivyAdapter.skip!(await context(workspace, { 'image-tar': '../outside.tar' }))).rejects.toThrow(/image-tar: '..\/outside.tar' is outside the workspace/);
    await expect(trivyAdapter.skip!(await context(workspace, { 'image-tar': 'image.tar', image: 'alpine:3' }))).rejects.toThrow(/not both/);
  });
});

describe('trivy DB kept across workflow runs (persistentData)', () => {
  const now = new Date('2026-11-26T07:30:00Z');
  it('keys a downloaded DB per source and UTC day, with an older-day fallback; never a trivy-db-dir or an IaC-only run', () => {
    expect(trivyAdapter.persistentData!({}, now)).toEqual([]);
    expect(trivyAdapter.persistentData!({ 'image-tar': 'image.tar', scanners: 'misconfig,secret' }, now)).toEqual([]);
    expect(trivyAdapter.persistentData!({ 'image-tar': 'image.tar', 'trivy-db-dir': '/srv/trivy-db' }, now)).toEqual([]);
    const [fallback] = trivyAdapter.persistentData!({ 'image-tar': 'image.tar' }, now);
    expect(fallback).toMatchObject({ key: 'secgate-trivy-db-default-2026-11-26', restorePrefix: 'secgate-trivy-db-default-' });
    expect(path.basename(fallback!.dir)).toBe('default');
    const [mirror] = trivyAdapter.persistentData!({ image: 'registry.example.com/app:1', 'trivy-db-repository': 'mirror.example.com/trivy-db:2' }, now);
    expect(mirror!.key).toMatch(/^secgate-trivy-db-repository-[0-9a-f]{16}-2026-11-26$/);
    expect(mirror!.dir).not.toBe(fallback!.dir);
  });
});
