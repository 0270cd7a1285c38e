import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigurationError, ToolOutputError, type ToolContext } from '@secgate/core';
import { parseSafetyReport, safetyAdapter } from '../src/adapters/safety.js';
import { unknownSeverityOption } from '@secgate/core';
import { REPO_ROOT } from '../../../test/helpers/runner.js';

/** A real `safety check --output json` report (pyupio/safety test data), read at test time. */
const SAMPLE = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'safety', 'check_report.json');
const KEY = 'safety-s5-test-key-9a8b7c';

describe('Safety', () => {
  let text: string;
  beforeAll(async () => {
    text = await readFile(SAMPLE, 'utf8');
  });

  it('reads the real check report: PVE id, no severity → unknown-severity with its basis, requirement line', () => {
    const requirements = 'click==8.0.4\ninsecure-package==0.1.0\n';
    const report = parseSafetyReport(text, 'requirements.txt', requirements, 'high');
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      tool: 'safety',
      ruleId: 'PVE-2021-25853',
      severity: 'high',
      severityBasis: 'unknown → high (unknown-severity)',
      title: 'insecure-package 0.1.0: PVE-2021-25853 This is an insecure package with lots of exploitable security vulnerabilities.',
      location: { path: 'requirements.txt', startLine: 2, endLine: 2 },
      aliases: ['PVE-2021-25853'],
      // fixed_versions is [""] in the report: no fix, not an empty version.
      package: { name: 'insecure-package', version: '0.1.0', ecosystem: 'PyPI', fixedVersions: [] },
      identity: 'PyPI:insecure-package@0.1.0:PVE-2021-25853',
      tags: ['dependency', 'PyPI']
    });
    expect(report.findings[0]!.message).toContain('no fixed version is known');
    expect(parseSafetyReport(text, 'requirements.txt', undefined, 'critical').findings[0]).toMatchObject({ severity: 'critical', location: { path: 'requirements.txt' } });
  });

  it("uses Safety's own CVSS when present and refuses garbled reports", () => {
    const sample = JSON.parse(text) as { vulnerabilities: Record<string, unknown>[] };
    const withCvss = structuredClone(sample);
    withCvss.vulnerabilities[0]!['severity'] = { source: 'nvd', cvssv2: null, cvssv3: { base_score: 9.8, base_severity: 'CRITICAL' } };
    expect(parseSafetyReport(JSON.stringify(withCvss), 'r.txt', undefined, 'high').findings[0]).toMatchObject({ severity: 'critical', severityBasis: 'Safety CVSS v3 9.8' });
    const bad = structuredClone(sample);
    bad.vulnerabilities[0]!['severity'] = { cvssv3: { base_severity: 'SEVERE' } };
    expect(() => parseSafetyReport(JSON.stringify(bad), 'r.txt', undefined, 'high')).toThrow(/vulnerabilities\[0\].severity.cvssv3.base_severity is "SEVERE"/);
    expect(() => parseSafetyReport('{"vulnerabilities": []}', 'r.txt', undefined, 'high')).toThrow(/not a `safety check --output json` report/);
    expect(() => parseSafetyReport('{"message": "Unauthorized, invalid API key"}', 'r.txt', undefined, 'high')).toThrow(ToolOutputError);
    expect(() => parseSafetyReport(text.slice(0, 300), 'r.txt', undefined, 'high')).toThrow(/truncated or not JSON/);
    const ignored = structuredClone(sample);
    ignored.vulnerabilities[0]!['ignored'] = true;
    expect(parseSafetyReport(JSON.stringify(ignored), 'r.txt', undefined, 'high')).toEqual({ findings: [], warnings: [expect.stringContaining("1 vulnerability ignored by Safety's own policy")] });
  });

  it('runs only with a key, which travels only in SAFETY_API_KEY; unknown-severity is validated', async () => {
    const context = { workspace: path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'ml-project'), targets: ['.'], exclude: [], workDir: '/tmp', options: { manifests: 'requirements.txt' }, logger: undefined as never } as ToolContext;
    const tool = { tool: 'safety', version: '3.8.1', command: 'python', baseArgs: ['-m', 'safety'], dir: '', cacheHit: true, durationMs: 0, verified: true };
    await expect(safetyAdapter.command(tool, context)).rejects.toThrow(ConfigurationError);
    await expect(safetyAdapter.command(tool, context)).rejects.toThrow(/^safety-api-key: /);
    const invocations = (await safetyAdapter.command(tool, { ...context, options: { ...context.options, 'safety-api-key': KEY } })) as { args: string[]; env: Record<string, string> }[];
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.args).toEqual(['check', '-r', 'requirements.txt', '--output', 'json']);
    expect(invocations[0]!.env['SAFETY_API_KEY']).toBe(KEY);
    expect(JSON.stringify(invocations[0]!.args)).not.toContain(KEY);
    expect(() => unknownSeverityOption({ 'unknown-severity': 'severe' })).toThrow(/^unknown-severity: 'severe' is not one of/);
    expect(unknownSeverityOption({})).toBe('high');
    expect(safetyAdapter.exitMeaning(64, invocations[0]!)).toBe('findings');
    expect(safetyAdapter.exitMeaning(1, invocations[0]!)).toBe('error');
  });
});
