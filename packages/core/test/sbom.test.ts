import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import {
  MemoryLogger,
  buildSbom,
  packageUrl,
  runScan,
  type InstalledTool,
  type ParsedReport,
  type RawFinding,
  type ScanResult,
  type ToolAdapter,
  type ToolInstaller
} from '@secgate/core';

/**
 * The CycloneDX 1.6 JSON schema as the library ships it (res/schema), read at test time. The
 * library's own validator needs ajv-formats-draft2019 for `iri-reference`/`idn-email`; here ajv
 * checks those two formats with URL parsing and a plain address shape instead.
 */
function cyclonedx16Validator(): ValidateFunction {
  const require = createRequire(import.meta.url);
  const schemaDir = path.join(path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
  const load = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(schemaDir, name), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('iri-reference', (value: string) => URL.canParse(value, 'https://example.invalid/'));
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  // The bom schema refers to its siblings by their file names (…SNAPSHOT.schema.json).
  ajv.addSchema({ ...load('spdx.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json' });
  ajv.addSchema({ ...load('jsf-0.82.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json' });
  return ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
}

const installer = {
  install: async (spec: { tool: string; defaultVersion: string }): Promise<InstalledTool> => ({
    tool: spec.tool,
    version: spec.defaultVersion,
    command: '',
    baseArgs: [],
    dir: '',
    cacheHit: true,
    durationMs: 0,
    verified: true
  })
} as unknown as ToolInstaller;

/** An API-like adapter (collect()) returning a fixed report, so the scan goes through the real engine. */
function reporting(id: string, report: ParsedReport): ToolAdapter {
  return {
    id,
    displayName: id,
    description: 'test adapter',
    install: { kind: 'none', tool: id, defaultVersion: '1.0.0' },
    defaultTimeoutMs: 60_000,
    severityMap: {},
    command: () => ({ args: [] }),
    exitMeaning: () => 'clean',
    parse: () => report,
    collect: async () => structuredClone(report)
  };
}

let workspace: string;
beforeEach(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'secgate-sbom-'));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

const PYYAML_FINDING: RawFinding = {
  tool: 'pip-audit',
  ruleId: 'PYSEC-2021-142',
  title: 'pyyaml 5.3.1: PYSEC-2021-142 arbitrary code execution in full_load',
  message: 'pyyaml 5.3.1 is affected by PYSEC-2021-142 (CVE-2020-14343, GHSA-8q59-q68h-6hv4); critical (CVSS:3.1 9.8); upgrade pyyaml to 5.4',
  severity: 'critical',
  severityBasis: 'CVSS:3.1 9.8',
  location: { path: 'requirements.txt', startLine: 2 },
  package: { name: 'pyyaml', version: '5.3.1', ecosystem: 'PyPI', fixedVersions: ['5.4'] },
  aliases: ['PYSEC-2021-142', 'CVE-2020-14343', 'GHSA-8q59-q68h-6hv4'],
  cve: ['CVE-2020-14343'],
  helpUri: 'https://osv.dev/vulnerability/PYSEC-2021-142',
  identity: 'PyPI:pyyaml@5.3.1:CVE-2020-14343',
  tags: ['dependency', 'PyPI']
};

async function scanFixture(): Promise<ScanResult> {
  await writeFile(path.join(workspace, 'requirements.txt'), 'numpy==1.21.0\npyyaml==5.3.1\n');
  const modelBytes = Buffer.from('not a real pickle, only hashed');
  await writeFile(path.join(workspace, 'model.pkl'), modelBytes);
  const sha256 = createHash('sha256').update(modelBytes).digest('hex');
  const libraries = [
    { kind: 'library' as const, name: 'numpy', version: '1.21.0', ecosystem: 'PyPI', purl: 'pkg:pypi/numpy@1.21.0', path: 'requirements.txt' },
    { kind: 'library' as const, name: 'pyyaml', version: '5.3.1', ecosystem: 'PyPI', purl: 'pkg:pypi/pyyaml@5.3.1', path: 'requirements.txt' }
  ];
  const audit = reporting('pip-audit', { findings: [PYYAML_FINDING], warnings: [], inventory: libraries });
  const modelscan = reporting('modelscan', {
    findings: [],
    warnings: [],
    inventory: [{ kind: 'machine-learning-model', name: 'model.pkl', path: 'model.pkl', sha256, verdict: 'unsafe' }]
  });
  const picklescan = reporting('picklescan', {
    findings: [],
    warnings: [],
    inventory: [{ kind: 'machine-learning-model', name: 'model.pkl', path: 'model.pkl', sha256, verdict: 'clean' }]
  });
  // An API tool with a vulnerable npm package it has no inventory for.
  const api = reporting('dependabot', {
    findings: [
      {
        tool: 'dependabot',
        ruleId: 'GHSA-aaaa-bbbb-cccc',
        title: '@scope/pkg 1.0.0: GHSA-aaaa-bbbb-cccc',
        message: 'upgrade',
        severity: 'high',
        package: { name: '@scope/pkg', version: '1.0.0', ecosystem: 'npm', fixedVersions: [] },
        aliases: ['GHSA-aaaa-bbbb-cccc'],
        identity: 'npm:@scope/pkg@1.0.0:GHSA-aaaa-bbbb-cccc',
        tags: ['dependency', 'npm']
      }
    ],
    warnings: []
  });
  return runScan(
    {
      stages: [{ id: 'sca', title: 'SCA', adapters: [audit, modelscan, picklescan, api], defaultTools: ['pip-audit', 'modelscan', 'picklescan', 'dependabot'] }],
      workspace,
      targets: ['.'],
      exclude: [],
      tools: [],
      policy: { failOn: 'critical', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: {},
      timeoutsMs: {},
      now: new Date('2026-01-15T00:00:00Z'),
      tempDir: path.join(workspace, '..', `${path.basename(workspace)}-tmp`)
    },
    { installer, logger: new MemoryLogger() }
  );
}

describe('buildSbom: CycloneDX 1.6', () => {
  it('libraries with purls, the model file as machine-learning-model with SHA-256 and verdicts, vulnerabilities affecting their components; valid against the 1.6 schema', async () => {
    const result = await scanFixture();
    expect(result.verdict).toBe('fail');
    const text = buildSbom(result, { timestamp: new Date('2026-01-15T00:00:00Z'), serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' });
    const validate = cyclonedx16Validator();
    const bom = JSON.parse(text) as Record<string, unknown>;
    expect(validate(bom) ? [] : validate.errors).toEqual([]);
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' });

    const components = bom['components'] as { type: string; group?: string; name: string; version?: string; purl?: string; 'bom-ref': string; hashes?: unknown[]; properties?: { name: string; value: string }[] }[];
    expect(components.map((c) => [c.type, c.name, c.version, c.purl])).toEqual(
      expect.arrayContaining([
        ['library', 'numpy', '1.21.0', 'pkg:pypi/numpy@1.21.0'],
        ['library', 'pyyaml', '5.3.1', 'pkg:pypi/pyyaml@5.3.1'],
        ['library', 'pkg', '1.0.0', 'pkg:npm/%40scope/pkg@1.0.0'],
        ['machine-learning-model', 'model.pkl', undefined, undefined]
      ])
    );
    expect(components).toHaveLength(4);
    expect(components.find((c) => c.name === 'pkg')?.group).toBe('@scope');
    const model = components.find((c) => c.type === 'machine-learning-model')!;
    expect(model.hashes).toEqual([{ alg: 'SHA-256', content: createHash('sha256').update('not a real pickle, only hashed').digest('hex') }]);
    expect(model.properties).toEqual(
      expect.arrayContaining([
        { name: 'secgate:model-scan-verdict', value: 'unsafe' },
        { name: 'secgate:model-scan-verdict:modelscan', value: 'unsafe' },
        { name: 'secgate:model-scan-verdict:picklescan', value: 'clean' }
      ])
    );

    const vulns = bom['vulnerabilities'] as { id: string; affects: { ref: string }[]; ratings: { severity: string; justification?: string }[]; recommendation?: string; references?: { id: string }[] }[];
    expect(vulns.map((v) => [v.id, v.affects.map((a) => a.ref), v.ratings[0]?.severity])).toEqual(
      expect.arrayContaining([
        ['PYSEC-2021-142', ['pkg:pypi/pyyaml@5.3.1'], 'critical'],
        ['GHSA-aaaa-bbbb-cccc', ['pkg:npm/%40scope/pkg@1.0.0'], 'high']
      ])
    );
    const pyyaml = vulns.find((v) => v.id === 'PYSEC-2021-142')!;
    expect(pyyaml.recommendation).toBe('upgrade pyyaml to 5.4');
    expect(pyyaml.ratings[0]?.justification).toBe('secgate severity from CVSS:3.1 9.8');
    expect(pyyaml.references?.map((r) => r.id).sort()).toEqual(['CVE-2020-14343', 'GHSA-8q59-q68h-6hv4']);
    // Every affects ref points at a component of this BOM.
    const refs = new Set(components.map((c) => c['bom-ref']));
    for (const v of vulns) for (const a of v.affects) expect(refs.has(a.ref)).toBe(true);
  });

  it('a scan without inventory is an empty but valid BOM', () => {
    const empty = {
      stages: ['sca'],
      workspace,
      tools: [],
      findings: [],
      blocking: [],
      ledger: { expired: [], expiringSoon: [], unused: [] },
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      verdict: 'pass',
      errors: [],
      durationMs: 0
    } as unknown as ScanResult;
    const bom = JSON.parse(buildSbom(empty)) as Record<string, unknown>;
    const validate = cyclonedx16Validator();
    expect(validate(bom) ? [] : validate.errors).toEqual([]);
    expect(bom['components'] ?? []).toEqual([]);
    expect(bom['vulnerabilities'] ?? []).toEqual([]);
    expect(String(bom['serialNumber'])).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
  });

  it('purls: PyPI, npm with scope, unknown ecosystems get none', () => {
    expect(packageUrl('PyPI', 'langchain', '0.0.141')).toBe('pkg:pypi/langchain@0.0.141');
    expect(packageUrl('npm', '@types/node', '20.1.0')).toBe('pkg:npm/%40types/node@20.1.0');
    expect(packageUrl('npm', 'lodash', undefined)).toBe('pkg:npm/lodash');
    expect(packageUrl('SomethingElse', 'x', '1')).toBeUndefined();
  });
});
