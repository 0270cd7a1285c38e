/**
 * pip-audit adapter: the strict parser on real output (pypi service answering 404, measured here; see
 * fixtures/README.md), and the real pip-audit 2.10.1 (hash-locked venv from the installer) run through the engine
 * against the loopback OSV API serving ../shared/fixtures/advisories, on the fixture ML project.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLogger, ToolInstaller, ToolOutputError, errorMessage, runScan, type ScanResult } from '@secgate/core';
import { SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';
import { withCacheLock } from '../../../test/helpers/tool-processes.js';
import { startOsvApi, unreachableUrl, type OsvApi } from '../../../test/helpers/osv-api.js';
import { parsePipAuditReport, pipAuditAdapter, upgradeTarget, buildReport } from '../src/adapters/pip-audit.js';
import { scaStage } from '../src/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, 'fixtures');
const ML_PROJECT = path.join(FIXTURES, 'ml-project');

describe('pip-audit report parser', () => {
  it('reads every skipped dependency of the measured pypi-404 run as unchecked, never as clean', async () => {
    const deps = parsePipAuditReport(await readFile(path.join(FIXTURES, 'pip-audit', 'pypi-404-ml-project.json'), 'utf8'));
    expect(deps).toHaveLength(6);
    const report = buildReport(deps, {
      manifest: { path: 'requirements.txt', kind: 'requirements', ecosystem: 'PyPI' },
      declarations: [],
      records: new Map(),
      unknownSeverity: 'high',
      pinnedOnly: false
    });
    expect(report.findings).toEqual([]);
    expect(report.unchecked?.map((u) => u.name)).toEqual(['torch', 'transformers', 'langchain', 'pyyaml', 'numpy', 'jinja2']);
    expect(report.unchecked?.[0]?.reason).toBe('Dependency not found on PyPI and could not be audited: torch (2.5.1) (requirements.txt)');
  });
  it('refuses garbled reports with a named error', () => {
    expect(() => parsePipAuditReport('')).toThrow(ToolOutputError);
    expect(() => parsePipAuditReport('{"dependencies": [{"name": "x", "version": "1", "vulns": [{"id": 3}]}]}')).toThrow(/dependencies\[0\]\.vulns\[0\]\.id is the number 3/);
    expect(() => parsePipAuditReport('{"fixes": []}')).toThrow(/no dependencies array/);
    expect(() => parsePipAuditReport('{"dependencies": [{"name": "x", "version": "1"}]}')).toThrow(/vulns is missing/);
  });
  it('picks the upgrade that fixes the installed version', () => {
    expect(upgradeTarget('0.0.171', ['0.0.247', '0.0.236'])).toBe('0.0.236');
    expect(upgradeTarget('2.10', ['2.10.1', '3.1.3'])).toBe('2.10.1');
    expect(upgradeTarget('1.0', [])).toBeUndefined();
  });
});

describe('pip-audit through the engine (real tool, loopback OSV API)', () => {
  let api: OsvApi;
  let root: string;
  let available = false;
  const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'secgate-pip-audit-'));
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    process.env['RUNNER_TEMP'] = root;
    api = await startOsvApi({ maxRequests: 5000 });
    try {
      await withCacheLock(SHARED_TOOL_CACHE, 15 * 60_000, async () => {
        await new ToolInstaller({ logger: new MemoryLogger() }).install(pipAuditAdapter.install);
      });
      available = true;
    } catch (error) {
      requireTool(false, `pip-audit (install failed: ${errorMessage(error)})`);
    }
  }, 20 * 60_000);
  afterAll(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
    process.env['RUNNER_TOOL_CACHE'] = saved.cache;
    process.env['RUNNER_TEMP'] = saved.temp;
  });

  const scan = async (workspace: string, options: Record<string, string>): Promise<ScanResult> =>
    runScan(
      {
        stages: [scaStage],
        workspace,
        targets: ['.'],
        exclude: [],
        tools: ['pip-audit'],
        policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
        options,
        timeoutsMs: {},
        now: new Date('2026-01-15T00:00:00Z'),
        tempDir: root
      },
      { installer: new ToolInstaller({ logger: new MemoryLogger() }), logger: new MemoryLogger() }
    );

  it('finds the advisories of the fixture project, enriched, on the declaring lines', async () => {
    if (!requireTool(available, 'pip-audit 2.10.1')) return;
    const result = await scan(ML_PROJECT, { 'osv-url': api.url });
    const run = result.tools.find((t) => t.tool === 'pip-audit')!;
    expect([run.status, run.error?.message]).toEqual(['ok', undefined]);
    const byRule = new Map(result.findings.map((f) => [f.ruleId, f]));
    // PyYAML 5.3.1: PYSEC-2021-142 has no vector; its alias GHSA-8q59-q68h-6hv4 carries CVSS:3.1 9.8.
    const pyyaml = byRule.get('PYSEC-2021-142')!;
    expect(pyyaml).toMatchObject({
      severity: 'critical',
      severityBasis: 'CVSS:3.1 9.8 (GHSA-8q59-q68h-6hv4)',
      location: { path: 'requirements.txt', startLine: 6 },
      package: { name: 'pyyaml', version: '5.3.1', ecosystem: 'PyPI', fixedVersions: ['5.4'] },
      cve: ['CVE-2020-14343'],
      identity: 'PyPI:pyyaml@5.3.1:CVE-2020-14343',
      helpUri: 'https://osv.dev/vulnerability/PYSEC-2021-142'
    });
    expect(pyyaml.message).toContain('upgrade pyyaml to 5.4');
    // transformers 4.36.0: GHSA-37q5-v5qm-c9v8 only (no vector): GitHub's LOW.
    expect(byRule.get('CVE-2024-3568')).toMatchObject({ severity: 'low', severityBasis: 'GHSA low (GHSA-37q5-v5qm-c9v8)', location: { startLine: 4 } });
    // numpy 1.21.0: GHSA-fpfv-jqm9-f5jm.
    expect(byRule.get('CVE-2021-34141')?.location).toMatchObject({ path: 'requirements.txt', startLine: 7 });
    expect(byRule.get('PYSEC-2023-138')).toMatchObject({ severity: 'critical', severityBasis: 'CVSS:3.1 9.8 (PYSEC-2023-138)', location: { startLine: 5 } });
    // Jinja2 2.10 with a marker, line 8.
    expect(result.findings.filter((f) => f.package?.name === 'jinja2').every((f) => f.location?.startLine === 8)).toBe(true);
    expect(result.findings.filter((f) => f.package?.name === 'langchain')).toHaveLength(13);
    expect(result.findings.filter((f) => f.package?.name === 'torch')).toHaveLength(0);
    expect(result.findings).toHaveLength(20);
    expect(result.inventory?.map((i) => i.purl).sort()).toEqual(
      ['jinja2@2.10', 'langchain@0.0.171', 'numpy@1.21.0', 'pyyaml@5.3.1', 'torch@2.5.1', 'transformers@4.36.0'].map((p) => `pkg:pypi/${p}`)
    );
    expect(result.verdict).not.toBe('pass');
    expect(api.overLimit()).toBe(false);
  }, 10 * 60_000);

  it('is red with the named unchecked dependencies when the pypi service knows none of them', async () => {
    if (!requireTool(available, 'pip-audit 2.10.1')) return;
    const result = await scan(ML_PROJECT, { 'vulnerability-service': 'pypi', 'osv-url': api.url });
    const run = result.tools.find((t) => t.tool === 'pip-audit')!;
    // Measured on this machine: the registry answers 404 for every package; pip-audit exits 0.
    // Where the real PyPI answers, the vulnerabilities are found instead: red either way, never a pass.
    expect(result.verdict).not.toBe('pass');
    if (run.unchecked) {
      expect(run.status).toBe('failed');
      expect(run.unchecked.map((u) => u.name)).toEqual(['torch', 'transformers', 'langchain', 'pyyaml', 'numpy', 'jinja2']);
      expect(run.error?.message).toMatch(/torch/);
    } else {
      expect(result.findings.length).toBeGreaterThan(0);
    }
  }, 10 * 60_000);

  it('is red with a named error when the OSV service is unreachable', async () => {
    if (!requireTool(available, 'pip-audit 2.10.1')) return;
    const result = await scan(ML_PROJECT, { 'osv-url': await unreachableUrl() });
    const run = result.tools.find((t) => t.tool === 'pip-audit')!;
    expect(run.status).toBe('failed');
    expect(run.error?.name).toBe('ToolFailureError');
    expect(run.error?.message).toMatch(/without writing its JSON report/);
    expect(result.findings).toHaveLength(0);
    expect(result.verdict).toBe('error');
  }, 10 * 60_000);

  it('is red naming the line of an unparsable requirements file', async () => {
    if (!requireTool(available, 'pip-audit 2.10.1')) return;
    const workspace = await mkdtemp(path.join(root, 'broken-'));
    await cp(ML_PROJECT, workspace, { recursive: true });
    await writeFile(path.join(workspace, 'requirements.txt'), 'numpy==1.21.0\ntorch===\n');
    const result = await scan(workspace, { 'osv-url': api.url });
    const run = result.tools.find((t) => t.tool === 'pip-audit')!;
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/requirements\.txt:2: not a requirement pip can read/);
    expect(result.verdict).toBe('error');
  }, 10 * 60_000);
});
