import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, MemoryLogger, ToolFailureError, ToolInstaller, ToolOutputError, errorMessage, type ToolContext } from '@secgate/core';
import { parseSnykReport, readSnykReport, snykAdapter } from '../src/adapters/snyk.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

/** A real `snyk test --json` of a pip project (snyk/cli test fixture), read at test time. */
const SAMPLE = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'upstream', 'snyk', 'test-result-pip-with-remediation.json');
const VERSION = snykAdapter.install.defaultVersion;
const TOKEN = 'snyk-s5-test-token-0f1e2d3c4b5a';

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, timeout: 300_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr })
    );
  });
}

/** The CLI installed by secgate's installer (`npm ci --ignore-scripts` from the committed lock) into the shared test tool cache. */
async function installSnyk(): Promise<string | undefined> {
  const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  process.env['RUNNER_TEMP'] = await mkdtemp(path.join(os.tmpdir(), 'secgate-snyk-install-'));
  try {
    const installed = await new ToolInstaller({ logger: new MemoryLogger() }).install(snykAdapter.install);
    const entry = installed.baseArgs[0];
    return entry && existsSync(entry) ? entry : undefined;
  } catch (error) {
    process.stderr.write(`snyk install failed: ${errorMessage(error)}\n`);
    return undefined;
  } finally {
    for (const [name, value] of [['RUNNER_TOOL_CACHE', saved.cache], ['RUNNER_TEMP', saved.temp]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('Snyk', () => {
  it('reads the real pip result: one finding per advisory and package version, Snyk severity, CVE aliases, fixed versions', async () => {
    const text = await readFile(SAMPLE, 'utf8');
    const sample = JSON.parse(text) as { vulnerabilities: { id: string }[]; uniqueCount: number };
    const report = parseSnykReport(text, '/work/space');
    expect(report.findings).toHaveLength(sample.uniqueCount);
    const redos = report.findings.find((f) => f.ruleId === 'SNYK-PYTHON-JINJA2-1012994');
    expect(redos).toMatchObject({
      tool: 'snyk',
      severity: 'medium',
      title: 'jinja2 2.7.2: SNYK-PYTHON-JINJA2-1012994 Regular Expression Denial of Service (ReDoS)',
      cve: ['CVE-2020-28493'],
      cwe: ['CWE-400'],
      aliases: ['CVE-2020-28493', 'SNYK-PYTHON-JINJA2-1012994'],
      package: { name: 'jinja2', version: '2.7.2', ecosystem: 'PyPI', fixedVersions: ['2.11.3'] },
      identity: 'PyPI:jinja2@2.7.2:CVE-2020-28493',
      helpUri: 'https://security.snyk.io/vuln/SNYK-PYTHON-JINJA2-1012994',
      tags: ['dependency', 'PyPI']
    });
    expect(redos!.message).toContain('upgrade jinja2 to 2.11.3');
    expect(redos!.message).toContain('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L/E:P');
    // This older result names no manifest: no location rather than a guessed one.
    expect(redos!.location).toBeUndefined();
    // Same result, as current CLIs print it with --all-projects (an array, manifest named).
    const current = JSON.stringify([{ ...JSON.parse(text), displayTargetFile: 'requirements.txt', path: '/work/space/ml' }]);
    expect(parseSnykReport(current, '/work/space').findings[0]!.location).toEqual({ path: 'ml/requirements.txt' });
  });

  it('refuses garbled results', async () => {
    const sample = JSON.parse(await readFile(SAMPLE, 'utf8')) as Record<string, unknown> & { vulnerabilities: Record<string, unknown>[] };
    const severe = structuredClone(sample);
    severe.vulnerabilities[0]!['severity'] = 'severe';
    expect(() => readSnykReport(JSON.stringify(severe))).toThrow(/result.vulnerabilities\[0\].severity is "severe"/);
    expect(() => readSnykReport(JSON.stringify({ ...sample, ok: true }))).toThrow(/ok is true with 4 vulnerabilities/);
    expect(() => readSnykReport(JSON.stringify({ ...sample, ok: undefined }))).toThrow(/not snyk test JSON/);
    expect(() => readSnykReport(JSON.stringify({ ...sample, vulnerabilities: {} }))).toThrow(ToolOutputError);
    expect(() => readSnykReport('')).toThrow(/empty/);
  });

  it('the token is required, and travels only in SNYK_TOKEN', async () => {
    const context = { workspace: '/w', targets: ['.'], exclude: [], workDir: '/tmp', options: {}, logger: undefined as never } as ToolContext;
    const tool = { tool: 'snyk', version: VERSION, command: process.execPath, baseArgs: ['x.js'], dir: '', cacheHit: true, durationMs: 0, verified: true };
    expect(() => snykAdapter.command(tool, context)).toThrow(ConfigurationError);
    expect(() => snykAdapter.command(tool, context)).toThrow(/^snyk-token: /);
    const invocation = snykAdapter.command(tool, { ...context, options: { 'snyk-token': TOKEN } }) as { args: string[]; env: Record<string, string> };
    expect(invocation.env['SNYK_TOKEN']).toBe(TOKEN);
    expect(JSON.stringify(invocation.args)).not.toContain(TOKEN);
    expect(snykAdapter.exitMeaning(3, invocation)).toBe('error');
  });

  it('the real CLI, with an unreachable Snyk API: a named tool failure, and the token appears nowhere', async () => {
    const entry = await installSnyk();
    if (!requireTool(entry !== undefined, `snyk ${VERSION} (npm ci from the committed lock)`)) return;
    const project = await mkdtemp(path.join(os.tmpdir(), 'secgate-snyk-'));
    await writeFile(path.join(project, 'requirements.txt'), 'jinja2==2.7.2\n');
    const context = { workspace: project, targets: ['.'], exclude: [], workDir: project, options: { 'snyk-token': TOKEN }, logger: undefined as never } as ToolContext;
    const tool = { tool: 'snyk', version: VERSION, command: process.execPath, baseArgs: [entry!], dir: '', cacheHit: true, durationMs: 0, verified: true };
    const invocation = snykAdapter.command(tool, context) as { args: string[]; env: Record<string, string> };
    // SNYK_API points the CLI at a closed loopback port: offline, as this machine is.
    const ran = await run(process.execPath, [entry!, ...invocation.args], { cwd: project, env: { ...process.env, ...invocation.env, SNYK_API: 'http://127.0.0.1:9/api' } });
    expect(ran.code).toBe(2);
    expect(snykAdapter.exitMeaning(ran.code, invocation)).not.toBe('clean');
    expect(() => snykAdapter.parse(ran.stdout, context, invocation)).toThrow(ToolFailureError);
    expect(() => snykAdapter.parse(ran.stdout, context, invocation)).toThrow(/^snyk: the test failed: .*ECONNREFUSED 127.0.0.1:9 \(an error, not 0 vulnerabilities\)$/);
    expect(ran.stdout + ran.stderr).not.toContain(TOKEN);
  }, 300_000);
});
