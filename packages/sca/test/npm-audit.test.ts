import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ToolFailureError, ToolOutputError } from '@secgate/core';
import { findNpmProjects, firstFixedVersion, npmAuditAdapter, parseNpmAuditReport } from '../src/adapters/npm-audit.js';
import { startNpmAdvisoryRegistry, type NpmRegistry } from '../../../test/helpers/npm-advisory-registry.js';
import { REPO_ROOT, requireTool } from '../../../test/helpers/runner.js';

const PROJECT = path.join(REPO_ROOT, 'packages', 'sca', 'test', 'fixtures', 'npm-project');
const LOCKFILE = 'package-lock.json';

async function hasNpm(): Promise<boolean> {
  try {
    await promisify(execFile)('npm', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** The real npm, auditing the fixture lockfile against `registry`; npm exits 1 for both outcomes. */
async function runNpmAudit(registry: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['audit', '--json', '--package-lock-only', '--prefix', PROJECT],
      { env: { ...process.env, npm_config_registry: registry, npm_config_update_notifier: 'false', npm_config_cache: path.join(os.tmpdir(), 'secgate-npm-audit-cache') } },
      (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout })
    );
  });
}

describe('npm audit', () => {
  let lockText: string;
  beforeAll(async () => {
    lockText = await readFile(path.join(PROJECT, LOCKFILE), 'utf8');
  });

  describe('real npm against a loopback registry serving the real GHSA record', () => {
    let registry: NpmRegistry | undefined;
    let ran: { code: number; stdout: string } | undefined;
    beforeAll(async () => {
      if (!requireTool(await hasNpm(), 'npm')) return;
      registry = await startNpmAdvisoryRegistry('advisories');
      ran = await runNpmAudit(registry.url);
    }, 120_000);
    afterAll(async () => registry?.close());

    it('reads GHSA-j7hp-h8jx-5ppr on electron 22.0.0 at its lockfile entry', () => {
      if (!ran) return;
      expect(ran.code).toBe(1);
      expect(registry!.requests.some((r) => r.startsWith('POST /-/npm/v1/security/advisories/bulk'))).toBe(true);
      const report = parseNpmAuditReport(ran.stdout, LOCKFILE, lockText);
      expect(report.findings).toHaveLength(1);
      const [finding] = report.findings;
      const electronLine = lockText.split('\n').findIndex((l) => l.includes('"node_modules/electron": {')) + 1;
      expect(finding).toMatchObject({
        tool: 'npm-audit',
        ruleId: 'GHSA-j7hp-h8jx-5ppr',
        severity: 'high',
        title: 'electron 22.0.0: GHSA-j7hp-h8jx-5ppr libwebp: OOB write in BuildHuffmanTable',
        location: { path: LOCKFILE, startLine: electronLine },
        package: { name: 'electron', version: '22.0.0', ecosystem: 'npm', fixedVersions: ['22.3.24'] },
        aliases: ['GHSA-j7hp-h8jx-5ppr'],
        cwe: ['CWE-787'],
        helpUri: 'https://osv.dev/vulnerability/GHSA-j7hp-h8jx-5ppr',
        identity: 'npm:electron@22.0.0:GHSA-j7hp-h8jx-5ppr',
        tags: ['dependency', 'npm']
      });
      expect(electronLine).toBeGreaterThan(1);
      expect(finding!.message).toContain('upgrade electron to 22.3.24 or later');
      // Every locked package is in the inventory, with a purl.
      expect(report.inventory?.length).toBe(JSON.parse(ran.stdout).metadata.dependencies.total);
      expect(report.inventory).toContainEqual(expect.objectContaining({ name: 'electron', version: '22.0.0', purl: 'pkg:npm/electron@22.0.0' }));
      expect(report.inventory?.some((i) => i.purl?.startsWith('pkg:npm/%40electron/get@'))).toBe(true);
    });

    it('refuses the same report when it does not match the lockfile or is garbled', () => {
      if (!ran) return;
      const report = JSON.parse(ran.stdout);
      const otherVersion = lockText.replace('"version": "22.0.0"', '"version": "22.3.24"');
      expect(() => parseNpmAuditReport(ran!.stdout, LOCKFILE, otherVersion)).toThrow(/none of them in package-lock.json at a version/);
      report.metadata.vulnerabilities.total = 0;
      expect(() => parseNpmAuditReport(JSON.stringify(report), LOCKFILE, lockText)).toThrow(/metadata.vulnerabilities.total is 0 but the report lists 1/);
      const badSeverity = JSON.parse(ran.stdout);
      badSeverity.vulnerabilities.electron.via[0].severity = 'severe';
      expect(() => parseNpmAuditReport(JSON.stringify(badSeverity), LOCKFILE, lockText)).toThrow(ToolOutputError);
      expect(() => parseNpmAuditReport(ran!.stdout.slice(0, 200), LOCKFILE, lockText)).toThrow(/truncated or not JSON/);
      expect(() => parseNpmAuditReport('', LOCKFILE, lockText)).toThrow(/empty/);
    });
  });

  it('an audit endpoint answering 405 (as measured here) is a tool failure, never 0 vulnerabilities', async () => {
    if (!requireTool(await hasNpm(), 'npm')) return;
    const registry = await startNpmAdvisoryRegistry(405);
    try {
      const ran = await runNpmAudit(registry.url);
      // npm exits 1 exactly as for "vulnerabilities found"; only the JSON tells them apart.
      expect(ran.code).toBe(1);
      expect(npmAuditAdapter.exitMeaning(ran.code, { args: [] })).toBe('findings');
      const error = (() => {
        try {
          parseNpmAuditReport(ran.stdout, LOCKFILE, lockText);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ToolFailureError);
      expect(error).not.toBeInstanceOf(ToolOutputError);
      expect((error as Error).message).toMatch(/^npm-audit: the audit of package-lock.json failed: HTTP 405: 405 Method Not Allowed - POST .*advisories\/bulk \(an error, not 0 vulnerabilities\)$/);
    } finally {
      await registry.close();
    }
  }, 120_000);

  it('never repeats the headers, body or credentials of an error object', () => {
    const error = JSON.stringify({
      message: '401 Unauthorized - POST https://user:s3cr3t-token@registry.example/-/npm/v1/security/advisories/bulk\nsecond line',
      statusCode: 401,
      headers: { 'set-cookie': ['session=cookie-value'] },
      body: 'token=abc'
    });
    expect(() => parseNpmAuditReport(error, LOCKFILE, lockText)).toThrow(ToolFailureError);
    try {
      parseNpmAuditReport(error, LOCKFILE, lockText);
    } catch (e) {
      const text = (e as Error).message;
      for (const secret of ['s3cr3t-token', 'cookie-value', 'token=abc', 'second line']) expect(text).not.toContain(secret);
      expect(text).toContain('HTTP 401');
    }
    // npm's own error shape for a missing lockfile.
    expect(() => parseNpmAuditReport(JSON.stringify({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.', detail: '' } }), LOCKFILE, lockText)).toThrow(
      /failed: ENOLOCK: This command requires an existing lockfile/
    );
    expect(() => parseNpmAuditReport('{"auditReportVersion":1,"vulnerabilities":{},"metadata":{}}', LOCKFILE, lockText)).toThrow(/auditReportVersion is 1/);
    expect(() => parseNpmAuditReport('[]', LOCKFILE, lockText)).toThrow(ToolOutputError);
  });

  it('takes the fixed version from the comparator set the installed version is in', () => {
    expect(firstFixedVersion('>=22.0.0 <22.3.24 || >=24.0.0 <24.8.3', '24.1.0')).toBe('24.8.3');
    expect(firstFixedVersion('>=22.0.0 <22.3.24', '22.0.0')).toBe('22.3.24');
    expect(firstFixedVersion('<=1.2.3', '1.0.0')).toBeUndefined();
    expect(firstFixedVersion('not a range', '1.0.0')).toBeUndefined();
  });

  it('finds lockfiles in scope; a package.json without one is unchecked; nothing npm is not applicable', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-npm-'));
    const context = { workspace: root, targets: ['.'], exclude: ['vendor'], options: {}, workDir: root, logger: undefined as never };
    expect(await npmAuditAdapter.skip!(context)).toEqual({ reason: expect.stringContaining('no package-lock.json'), notApplicable: true });
    await mkdir(path.join(root, 'web', 'node_modules', 'dep'), { recursive: true });
    await mkdir(path.join(root, 'vendor'), { recursive: true });
    await mkdir(path.join(root, 'tools'), { recursive: true });
    await writeFile(path.join(root, 'web', 'package.json'), '{}');
    await writeFile(path.join(root, 'web', 'package-lock.json'), lockText);
    await writeFile(path.join(root, 'web', 'node_modules', 'dep', 'package.json'), '{}');
    await writeFile(path.join(root, 'vendor', 'package-lock.json'), '{}');
    await writeFile(path.join(root, 'tools', 'package.json'), '{}');
    expect(await findNpmProjects(context)).toEqual([{ dir: 'tools' }, { dir: 'web', lockfile: 'web/package-lock.json' }]);
    expect(await npmAuditAdapter.skip!(context)).toBeUndefined();
    const invocations = (await npmAuditAdapter.command({ tool: 'npm-audit', version: '11', command: 'npm', baseArgs: [], dir: '', cacheHit: true, durationMs: 0, verified: true }, context)) as {
      args: string[];
      data: { unchecked: unknown[] };
    }[];
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.args).toEqual(['audit', '--json', '--package-lock-only', '--prefix', path.join(root, 'web')]);
    expect(invocations[0]!.data.unchecked).toEqual([expect.objectContaining({ kind: 'file', name: 'tools/package.json' })]);
  });
});
