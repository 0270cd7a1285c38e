/**
 * osv-scanner 2.6.0: the adapter against the real binary (built by scripts/tools/build-mirror.sh into the
 * tool cache) and the real advisory records, in an offline database built at test time
 * (test/helpers/osv-offline-db.ts). Its JSON embeds the full advisory records, so no osv-scanner output
 * is committed: every report parsed here is produced by running the tool, or is upstream's own sample
 * (../shared/fixtures/upstream/osv-scanner/results-some.json), read at run time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, ToolFailureError, ToolOutputError, silentLogger, type InstalledTool, type ParsedReport, type RawFinding, type ToolContext, type ToolInvocation } from '@secgate/core';
import { osvScannerAdapter, parseOsvScannerReport } from '../src/adapters/osv-scanner.js';
import { buildOfflineDb, type OfflineDb } from '../../../test/helpers/osv-offline-db.js';
import { loadAdvisories } from '../../../test/helpers/osv-records.js';
import { REPO_ROOT, requireTool } from '../../../test/helpers/runner.js';

const CACHE = process.env['SECGATE_TOOL_CACHE'] ?? path.join(os.homedir(), '.cache', 'secgate-ci');
const BINARY = path.join(CACHE, 'osv-scanner-2.6.0', 'osv-scanner');
const HAVE_BINARY = existsSync(BINARY);
const FIXTURES = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures');
const UPSTREAM_SAMPLE = path.join(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'osv-scanner', 'results-some.json');

const tool: InstalledTool = { tool: 'osv-scanner', version: '2.6.0', command: BINARY, baseArgs: [], dir: path.dirname(BINARY), cacheHit: true, durationMs: 0, verified: true };

async function context(workspace: string, options: Record<string, string> = {}): Promise<ToolContext> {
  return { workspace, targets: ['.'], exclude: [], workDir: await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-work-')), options, logger: silentLogger };
}

function run(invocation: ToolInvocation, cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BINARY, invocation.args, { cwd, env: { ...process.env, ...invocation.env }, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stderr });
    });
  });
}

/** Plans, runs and parses one scan the way the engine does. */
async function scan(workspace: string, options: Record<string, string>): Promise<{ code: number; stderr: string; parsed?: ParsedReport; invocation: ToolInvocation; ctx: ToolContext }> {
  const ctx = await context(workspace, options);
  const invocation = (await osvScannerAdapter.command(tool, ctx)) as ToolInvocation;
  const { code, stderr } = await run(invocation, workspace);
  const meaning = osvScannerAdapter.exitMeaning(code, invocation);
  const parsed = meaning === 'error' ? undefined : osvScannerAdapter.parse(await readFile(invocation.reportFile!, 'utf8'), ctx, invocation);
  return { code, stderr, parsed, invocation, ctx };
}

const byPackage = (findings: RawFinding[], name: string): RawFinding[] => findings.filter((f) => f.package?.name === name);

describe('osv-scanner: upstream sample (results-some.json)', () => {
  it('reads the record, its alias group, and rates a record without severity as unknown-severity, visibly', async () => {
    if (!requireTool(existsSync(UPSTREAM_SAMPLE), `upstream sample ${UPSTREAM_SAMPLE}`)) return;
    const parsed = parseOsvScannerReport(await readFile(UPSTREAM_SAMPLE, 'utf8'), { unknownSeverity: 'high' });
    expect(parsed.findings).toHaveLength(1);
    const [finding] = parsed.findings;
    expect(finding).toMatchObject({
      tool: 'osv-scanner',
      ruleId: 'GO-2021-0053',
      severity: 'high',
      severityBasis: 'unknown → high (unknown-severity)',
      cve: ['CVE-2021-3121'],
      package: { name: 'github.com/gogo/protobuf', version: '1.3.1', ecosystem: 'Go', fixedVersions: [] },
      helpUri: 'https://osv.dev/vulnerability/GO-2021-0053',
      identity: 'Go:github.com/gogo/protobuf@1.3.1:CVE-2021-3121',
      tags: ['dependency', 'Go'],
      location: { path: '/path/to/different-dir/go.mod' }
    });
    expect(finding!.aliases).toEqual(['CVE-2021-3121', 'GHSA-c3h9-896r-86jm', 'GO-2021-0053']);
    // Go versions are not compared here: the fix is listed, not claimed as the upgrade.
    expect(finding!.message).toContain('Fixed versions listed: 1.3.2');
    expect(parsed.inventory).toEqual([
      { kind: 'library', name: 'github.com/gogo/protobuf', version: '1.3.1', ecosystem: 'Go', purl: 'pkg:golang/github.com/gogo/protobuf@1.3.1', path: '/path/to/different-dir/go.mod' }
    ]);
    expect(parseOsvScannerReport(await readFile(UPSTREAM_SAMPLE, 'utf8'), { unknownSeverity: 'critical' }).findings[0]!.severity).toBe('critical');
  });

  it('refuses garbled reports with a named ToolOutputError', async () => {
    if (!requireTool(existsSync(UPSTREAM_SAMPLE), `upstream sample ${UPSTREAM_SAMPLE}`)) return;
    const text = await readFile(UPSTREAM_SAMPLE, 'utf8');
    const sample = JSON.parse(text) as { results: { packages: { groups: { ids: string[] }[]; vulnerabilities: unknown[]; package: { version: unknown } }[] }[] };
    const variant = (edit: (s: typeof sample) => void): string => {
      const copy = JSON.parse(text) as typeof sample;
      edit(copy);
      return JSON.stringify(copy);
    };
    const cases: [string, RegExp][] = [
      ['', /empty/],
      [text.slice(0, text.length / 2), /truncated/],
      ['[]', /report is an array/],
      ['{"experimental_config":{}}', /results is missing/],
      [variant((s) => (s.results[0]!.packages[0]!.groups[0]!.ids = ['GO-0000-0000'])), /not among the package's vulnerabilities/],
      [variant((s) => (s.results[0]!.packages[0]!.groups = [])), /GO-2021-0053 in no group/],
      [variant((s) => (s.results[0]!.packages[0]!.package.version = 7)), /package\.version is the number 7/],
      [variant((s) => (s.results[0]!.packages[0]!.vulnerabilities = [{ summary: 'no id' }])), /\.id is missing/]
    ];
    for (const [report, message] of cases) {
      expect(() => parseOsvScannerReport(report, { unknownSeverity: 'high' })).toThrow(ToolOutputError);
      expect(() => parseOsvScannerReport(report, { unknownSeverity: 'high' })).toThrow(message);
    }
  });
});

describe('osv-scanner 2.6.0: offline scan of the fixture ML project (real binary, real records)', () => {
  let workspace: string;
  let db: OfflineDb;
  let result: Awaited<ReturnType<typeof scan>>;

  beforeAll(async () => {
    if (!HAVE_BINARY) return;
    workspace = await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-ml-'));
    await cp(path.join(FIXTURES, 'ml-project'), workspace, { recursive: true });
    db = await buildOfflineDb({ ecosystems: ['PyPI'] });
    result = await scan(workspace, { 'osv-offline-db': db.dir });
  }, 120_000);
  afterAll(async () => {
    if (workspace) await rm(workspace, { recursive: true, force: true });
    if (db) await rm(db.dir, { recursive: true, force: true });
  });

  it('runs offline (no network flags missing) and reports vulnerabilities with exit 1', () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY} (scripts/tools/build-mirror.sh builds it)`)) return;
    expect(result.invocation.args).toEqual(expect.arrayContaining(['scan', 'source', '--offline', '--format', 'json', '--all-packages', '-L', 'requirements.txt']));
    expect(result.invocation.env).toEqual({ OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY: db.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Loaded PyPI local db');
  });

  it('finds every advisory the records give for the pinned versions, one finding per alias group', () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const index = loadAdvisories();
    const findings = result.parsed!.findings;
    const pins: [string, string][] = [['torch', '2.5.1'], ['transformers', '4.36.0'], ['langchain', '0.0.171'], ['pyyaml', '5.3.1'], ['numpy', '1.21.0'], ['jinja2', '2.10']];
    for (const [name, version] of pins) {
      const expected = index.query('PyPI', name, version).map((r) => r.id).sort();
      const found = [...new Set(byPackage(findings, name).flatMap((f) => f.aliases ?? []))].filter((id) => /^(PYSEC|GHSA)-/.test(id)).sort();
      expect({ name, ids: found }).toEqual({ name, ids: expected });
    }
    expect(byPackage(findings, 'torch')).toEqual([]);
    // Alias groups: PYSEC-2021-142 and GHSA-8q59-q68h-6hv4 are one finding.
    expect(byPackage(findings, 'pyyaml')).toHaveLength(1);
  });

  it('builds findings in the shared shape: severity with basis, fix, manifest line, identity', () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const [pyyaml] = byPackage(result.parsed!.findings, 'pyyaml');
    expect(pyyaml).toMatchObject({
      tool: 'osv-scanner',
      ruleId: 'PYSEC-2021-142',
      severity: 'critical',
      cve: ['CVE-2020-14343'],
      package: { name: 'pyyaml', version: '5.3.1', ecosystem: 'PyPI', fixedVersions: ['5.4'] },
      location: { path: 'requirements.txt', startLine: 6, endLine: 6 },
      identity: 'PyPI:pyyaml@5.3.1:CVE-2020-14343',
      helpUri: 'https://osv.dev/vulnerability/PYSEC-2021-142',
      tags: ['dependency', 'PyPI']
    });
    expect(pyyaml!.aliases).toEqual(expect.arrayContaining(['PYSEC-2021-142', 'GHSA-8q59-q68h-6hv4', 'CVE-2020-14343']));
    expect(pyyaml!.title).toMatch(/^pyyaml 5\.3\.1: PYSEC-2021-142 /);
    expect(pyyaml!.message).toContain('upgrade pyyaml to 5.4');
    expect(pyyaml!.severityBasis).toMatch(/^(CVSS:3\.\d 9\.\d|GHSA critical)$/);
    const [numpy] = byPackage(result.parsed!.findings, 'numpy');
    expect(numpy).toMatchObject({ ruleId: 'GHSA-fpfv-jqm9-f5jm', severity: 'medium', location: { path: 'requirements.txt', startLine: 7 } });
    const [transformers] = byPackage(result.parsed!.findings, 'transformers');
    expect(transformers).toMatchObject({ ruleId: 'GHSA-37q5-v5qm-c9v8', severity: 'low', location: { path: 'requirements.txt', startLine: 4 } });
  });

  it('inventories every package (vulnerable or not) with a purl, and leaves nothing unchecked', () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const inventory = result.parsed!.inventory!;
    expect(inventory.map((i) => i.name).sort()).toEqual(['jinja2', 'langchain', 'numpy', 'pyyaml', 'torch', 'transformers']);
    expect(inventory.find((i) => i.name === 'torch')).toEqual({ kind: 'library', name: 'torch', version: '2.5.1', ecosystem: 'PyPI', purl: 'pkg:pypi/torch@2.5.1', path: 'requirements.txt' });
    expect(result.parsed!.unchecked).toBeUndefined();
  });

  it('an unparsable requirements line (which osv-scanner skips silently) is a named error, never fewer packages', async () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const broken = await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-broken-'));
    try {
      await writeFile(path.join(broken, 'requirements.txt'), 'numpy==1.21.0\n!!! not a requirement\n');
      const ctx = await context(broken, { 'osv-offline-db': db.dir });
      const invocation = (await osvScannerAdapter.command(tool, ctx)) as ToolInvocation;
      const { code } = await run(invocation, broken);
      expect(code).toBe(1); // osv-scanner read one package and went on
      const report = await readFile(invocation.reportFile!, 'utf8');
      expect(() => osvScannerAdapter.parse(report, ctx, invocation)).toThrow(ToolFailureError);
      expect(() => osvScannerAdapter.parse(report, ctx, invocation)).toThrow(/requirements\.txt:2: not a requirement/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('an unpinned requirement is checked at its lower bound and said so, with a warning', async () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const loose = await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-loose-'));
    try {
      await writeFile(path.join(loose, 'requirements.txt'), 'numpy>=1.21.0\n');
      const { code, parsed } = await scan(loose, { 'osv-offline-db': db.dir });
      expect(code).toBe(1);
      expect(parsed!.findings[0]!.message).toContain('Not pinned (numpy>=1.21.0)');
      expect(parsed!.warnings).toEqual(['1 requirement(s) not pinned, checked at the lowest version they allow: requirements.txt:1 numpy>=1.21.0']);
    } finally {
      await rm(loose, { recursive: true, force: true });
    }
  });
});

describe('osv-scanner: offline database per ecosystem', () => {
  it('an ecosystem without a zip: osv-scanner itself exits 127 (an error), and the adapter names the missing file first', async () => {
    if (!requireTool(HAVE_BINARY, `osv-scanner at ${BINARY}`)) return;
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-npm-'));
    const db = await buildOfflineDb({ ecosystems: ['PyPI'] });
    try {
      await cp(path.join(FIXTURES, 'ml-project'), workspace, { recursive: true });
      await cp(path.join(FIXTURES, 'npm-project'), workspace, { recursive: true });
      const ctx = await context(workspace, { 'osv-offline-db': db.dir });
      await expect(osvScannerAdapter.command(tool, ctx)).rejects.toThrow(ConfigurationError);
      await expect(osvScannerAdapter.command(tool, ctx)).rejects.toThrow(/no osv-scalibr\/npm\/all\.zip, needed for package-lock\.json/);
      // The tool's own behaviour, which the exit-code mapping relies on when the layout is right but a zip is unreadable.
      const direct = await run({ args: ['scan', 'source', '--offline', '--format', 'json', '-L', 'requirements.txt', '-L', 'package-lock.json'], env: { OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY: db.dir } }, workspace);
      expect(direct.code).toBe(127);
      expect(direct.stderr).toContain('no offline version of the OSV database');
      expect(osvScannerAdapter.exitMeaning(127, { args: [] })).toBe('error');
      expect(osvScannerAdapter.exitMeaning(128, { args: [] })).toBe('error');
      // With an npm zip (no npm records in the fixtures: an empty export), both ecosystems are checked.
      await buildOfflineDb({ ecosystems: ['npm'], dir: db.dir });
      const both = await scan(workspace, { 'osv-offline-db': db.dir });
      expect(both.code).toBe(1);
      expect(both.parsed!.inventory!.filter((i) => i.ecosystem === 'npm').map((i) => i.path)).toContain('package-lock.json');
    } finally {
      await rm(workspace, { recursive: true, force: true });
      await rm(db.dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('osv-offline-db that is not a database is a ConfigurationError naming the input', async () => {
    const ctx = await context(path.join(FIXTURES, 'ml-project'), { 'osv-offline-db': 'no-such-dir' });
    await expect(osvScannerAdapter.skip!(ctx)).rejects.toThrow(ConfigurationError);
    await expect(osvScannerAdapter.skip!(ctx)).rejects.toThrow(/osv-offline-db/);
  });
});

describe('osv-scanner: scope and settings', () => {
  it('nothing osv-scanner reads in scope is "not applicable"; pyproject.toml alone is pip-audit\'s', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'osv-scanner-none-'));
    try {
      expect(await osvScannerAdapter.skip!(await context(workspace))).toMatchObject({ notApplicable: true });
      await writeFile(path.join(workspace, 'pyproject.toml'), '[project]\nname = "x"\nversion = "1"\ndependencies = ["numpy==1.21.0"]\n');
      expect(await osvScannerAdapter.skip!(await context(workspace))).toMatchObject({ notApplicable: true, reason: expect.stringContaining('no lockfile osv-scanner reads') });
    } finally {
      await rm(workspace, { recursive: true, force: true });
    }
  });

  it('a custom osv-url without an offline database is a real skip (osv-scanner only queries api.osv.dev)', async () => {
    const ml = path.join(FIXTURES, 'ml-project');
    const skip = await osvScannerAdapter.skip!(await context(ml, { 'osv-url': 'http://127.0.0.1:9/' }));
    expect(typeof skip === 'object' && skip.notApplicable).toBeFalsy();
    expect(JSON.stringify(skip)).toContain('cannot use a custom OSV API (osv-url)');
    expect(await osvScannerAdapter.skip!(await context(ml, { 'osv-url': 'https://api.osv.dev/' }))).toBeUndefined();
    await expect(osvScannerAdapter.skip!(await context(ml, { 'unknown-severity': 'severe' }))).rejects.toThrow(/unknown-severity/);
  });

  it('online (default) mode passes no offline flags and no database variable', async () => {
    const ctx = await context(path.join(FIXTURES, 'ml-project'));
    const invocation = (await osvScannerAdapter.command(tool, ctx)) as ToolInvocation;
    expect(invocation.args).not.toContain('--offline');
    expect(invocation.env).toEqual({});
    expect(invocation.args.slice(-2)).toEqual(['-L', 'requirements.txt']);
    // The repository's osv-scanner.toml is replaced by an empty one: its ignores would hide findings.
    const config = invocation.args[invocation.args.indexOf('--config') + 1]!;
    expect(await readFile(config, 'utf8')).toBe('');
  });

  it('installs the official release asset, pinned by the committed lock', () => {
    const install = osvScannerAdapter.install;
    expect(install.kind).toBe('binary');
    if (install.kind !== 'binary') return;
    expect(install.asset('2.6.0', 'linux-x64')).toEqual({
      urlPath: 'google/osv-scanner/releases/download/v2.6.0/osv-scanner_linux_amd64',
      assetName: 'osv-scanner_linux_amd64',
      archive: 'none',
      executable: 'osv-scanner'
    });
    expect(install.asset('2.6.0', 'freebsd-x64')).toBeUndefined();
  });
});
