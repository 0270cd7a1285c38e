/**
 * Checkov: the real tool (3.3.30, installed from its hash lock) on the stage's planted IaC project,
 * its clean twins and the Helm chart, plus small inputs for each report shape and for parse errors
 * (fixtures/checkov/README.md). Every report read here is written by Checkov during the test.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, ToolFailureError, ToolInstaller, ToolOutputError, errorMessage, severityRank, type InstalledTool, type ParsedReport } from '@secgate/core';
import { CHECKOV_SEVERITY_MAP, CHECKOV_VERSION, checkovAdapter, parseCheckovReport, type CheckovPlan } from '../src/adapters/checkov.js';
import { surveyIac } from '../src/helm-charts.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FIXTURES = path.join(REPO_ROOT, 'packages', 'container', 'test', 'fixtures');
const PROJECT = path.join(FIXTURES, 'iac-project');
const CHECKOV_INPUTS = path.join(FIXTURES, 'checkov');
/** The token planted in iac-project/docker/Dockerfile's ENV line. */
const PLANTED_TOKEN = 'ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe';

describe('checkov severity map (checkov-severity.json)', () => {
  it('covers every check of Checkov 3.3.30 for the stage frameworks, each with a known rule', () => {
    expect(CHECKOV_SEVERITY_MAP.checkov).toBe(CHECKOV_VERSION);
    expect(Object.keys(CHECKOV_SEVERITY_MAP.checks).length).toBeGreaterThan(1200);
    for (const [rule] of Object.values(CHECKOV_SEVERITY_MAP.checks)) expect(CHECKOV_SEVERITY_MAP.rules[rule]).toBeDefined();
  });

  it.each([
    ['CKV_K8S_16', 'critical'], // privileged container
    ['CKV_AWS_24', 'critical'], // SSH from 0.0.0.0/0
    ['CKV_SECRET_2', 'critical'], // AWS access key
    ['CKV_AWS_20', 'high'], // public-read bucket ACL
    ['CKV_K8S_23', 'high'], // root containers
    ['CKV_K8S_19', 'high'], // host network
    ['CKV_DOCKER_3', 'high'], // no USER: runs as root
    ['CKV_AWS_18', 'medium'], // access logging
    ['CKV_K8S_14', 'low'], // latest tag
    ['CKV_DOCKER_2', 'low'] // HEALTHCHECK
  ])('%s is %s', (id, severity) => {
    expect(CHECKOV_SEVERITY_MAP.rules[CHECKOV_SEVERITY_MAP.checks[id]![0]]!.severity).toBe(severity);
  });
});

describe('surveyIac (Helm charts and Checkov inputs in scope)', () => {
  it('finds the chart and IaC in the project, nothing in a tree without IaC', async () => {
    expect(await surveyIac(PROJECT, ['.'], [])).toEqual({ charts: ['charts/web'], hasCheckovInput: true });
    expect(await surveyIac(CHECKOV_INPUTS, ['no-iac'], [])).toEqual({ charts: [], hasCheckovInput: false });
  });

  it('leaves out excluded charts and files', async () => {
    expect(await surveyIac(PROJECT, ['.'], ['charts'])).toEqual({ charts: [], hasCheckovInput: true });
    expect(await surveyIac(PROJECT, ['charts/web'], ['**/Chart.yaml', '**/templates/**'])).toEqual({ charts: [], hasCheckovInput: false });
  });
});

describe('checkov, the real tool', () => {
  let tool: InstalledTool | undefined;
  let scratch: string;
  const savedCache = process.env['RUNNER_TOOL_CACHE'];
  const savedPath = process.env['PATH'];

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'secgate-checkov-'));
    // Checkov renders charts with `helm` from PATH; these tests pin the no-helm case.
    process.env['PATH'] = (savedPath ?? '').split(path.delimiter).filter((dir) => !readableHelm(dir)).join(path.delimiter);
    const installer = new ToolInstaller({ logger: new MemoryLogger() });
    process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
    try {
      tool = await withCacheLock(SHARED_TOOL_CACHE, 20 * 60_000, () => installer.install(checkovAdapter.install));
    } catch (error) {
      requireTool(false, `checkov (install failed: ${errorMessage(error)})`);
    }
  }, 20 * 60_000);

  afterAll(async () => {
    if (savedCache === undefined) delete process.env['RUNNER_TOOL_CACHE'];
    else process.env['RUNNER_TOOL_CACHE'] = savedCache;
    process.env['PATH'] = savedPath;
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  interface Scan {
    code: number;
    text: string;
    plan: CheckovPlan;
    report: () => ParsedReport;
  }

  async function scan(workspace: string, options: Record<string, string> = {}, targets = ['.']): Promise<Scan> {
    const workDir = await mkdtemp(path.join(scratch, 'work-'));
    const context = { workspace, targets, exclude: [], options, workDir, logger: new MemoryLogger() };
    const invocation = await checkovAdapter.command(tool!, context);
    if (Array.isArray(invocation)) throw new Error('one invocation expected');
    const run = await runRaw(tool!.command, [...tool!.baseArgs, ...invocation.args], workspace);
    expect(checkovAdapter.exitMeaning(run.code, invocation)).not.toBe('error');
    const text = readFileSync(invocation.reportFile!, 'utf8');
    const plan = invocation.data!['plan'] as CheckovPlan;
    return { code: run.code, text, plan, report: () => checkovAdapter.parse(text, context, invocation) };
  }

  describe('on the planted project (all scanners: an array of framework reports)', () => {
    let project: Scan;
    let report: ParsedReport;
    beforeAll(async () => {
      if (!tool) return;
      project = await scan(PROJECT);
      report = project.report();
    }, 10 * 60_000);

    it('installs 3.3.30 from the lock, exits 1 and writes the array shape', () => {
      if (!tool) return;
      expect(tool.version).toBe(CHECKOV_VERSION);
      expect(project.code).toBe(1);
      expect(Array.isArray(JSON.parse(project.text))).toBe(true);
    });

    it('reports severity null for every failed check (open source, no key): the map decides', () => {
      if (!tool) return;
      const frameworks = JSON.parse(project.text) as { results: { failed_checks: { severity: unknown }[] } }[];
      const severities = new Set(frameworks.flatMap((f) => f.results.failed_checks.map((c) => c.severity)));
      expect([...severities]).toEqual([null]);
      for (const finding of report.findings) expect(finding.severityBasis).toMatch(/^secgate checkov map: [a-z-]+ \(/);
    });

    it.each([
      ['k8s/deployment.yaml', 'CKV_K8S_16', 'critical', 2, 26], // privileged, at the resource's first line
      ['k8s/deployment.yaml', 'CKV_K8S_23', 'high', 2, 26], // root
      ['k8s/deployment.yaml', 'CKV_K8S_19', 'high', 2, 26], // hostNetwork
      ['k8s/deployment.yaml', 'CKV_K8S_14', 'low', 2, 26], // latest tag
      ['terraform/main.tf', 'CKV_AWS_20', 'high', 2, 4], // public-read ACL, on the bucket it opens
      ['terraform/main.tf', 'CKV_AWS_24', 'critical', 11, 22], // SSH from 0.0.0.0/0
      ['docker/Dockerfile', 'CKV_DOCKER_7', 'low', 2, 2], // FROM python:latest
      ['docker/Dockerfile', 'CKV_DOCKER_3', 'high', 1, 8] // no USER: runs as root
    ])('%s: %s (%s) at lines %i-%i', (file, ruleId, severity, startLine, endLine) => {
      if (!tool) return;
      const finding = report.findings.find((f) => f.ruleId === ruleId && f.location?.path === file);
      expect(finding).toMatchObject({ tool: 'checkov', severity, location: { path: file, startLine, endLine } });
      // Independent of the line: the check, the resource and the file.
      expect(finding!.identity).toMatch(new RegExp(`^${ruleId}\\|[^|]+\\|${file}$`));
    });

    it('keeps the clean twins clean', () => {
      if (!tool) return;
      expect(report.findings.filter((f) => f.location?.path.startsWith('clean/'))).toEqual([]);
    });

    it('lists the Helm chart as not checked by Checkov, never silently skipped', () => {
      if (!tool) return;
      expect(report.unchecked).toEqual([{ kind: 'file', name: 'charts/web', reason: expect.stringContaining('Helm chart not rendered by Checkov') }]);
      expect(report.findings.filter((f) => f.location?.path.startsWith('charts/'))).toEqual([]);
    });

    it('misses the ENV token in the Dockerfile (no GitHub-token detector offline), as measured; the token never leaves the raw report', () => {
      if (!tool) return;
      expect(report.findings.filter((f) => f.ruleId.startsWith('CKV_SECRET'))).toEqual([]);
      // Even with --compact, Checkov copies Dockerfile instructions (`check_result.entity`,
      // `results_configuration`) into its report: the raw file holds the token, the parsed report not.
      expect(project.text).toContain(PLANTED_TOKEN);
      expect(JSON.stringify(report)).not.toContain(PLANTED_TOKEN);
      expect(JSON.stringify(report)).not.toContain(PLANTED_TOKEN.slice(0, 12));
    });

    it('lets fail-on high work without a key: findings at high and above', () => {
      if (!tool) return;
      expect(report.findings.filter((f) => severityRank(f.severity) >= severityRank('high')).length).toBeGreaterThanOrEqual(6);
      expect(report.facts?.[0]).toMatch(/^\d+ resource\(s\) in (dockerfile|kubernetes|terraform), (dockerfile|kubernetes|terraform), (dockerfile|kubernetes|terraform): \d+ check\(s\) passed, 35 failed$/);
    });

    it('takes Checkov\'s own severity when it gives one (a platform key) and unknown-severity for a check not in the map', () => {
      if (!tool) return;
      const frameworks = JSON.parse(project.text) as { results: { failed_checks: Record<string, unknown>[] } }[];
      frameworks[0]!.results.failed_checks[0]!['severity'] = 'HIGH';
      frameworks[0]!.results.failed_checks[1]!['check_id'] = 'CKV_NEW_9999';
      const parsed = parseCheckovReport(JSON.stringify(frameworks), { ...project.plan, unknownSeverity: 'medium' });
      expect(parsed.findings[0]).toMatchObject({ severity: 'high', severityBasis: 'checkov: HIGH' });
      expect(parsed.findings[1]).toMatchObject({ ruleId: 'CKV_NEW_9999', severity: 'medium', severityBasis: expect.stringMatching(/not in secgate's checkov map .*unknown-severity medium/) });
    });

    const mutate = (change: (frameworks: Record<string, unknown>[]) => void): string => {
      const frameworks = JSON.parse(project.text) as Record<string, unknown>[];
      change(frameworks);
      return JSON.stringify(frameworks);
    };
    const failed = (f: Record<string, unknown>[]): Record<string, unknown> =>
      ((f[0]!['results'] as Record<string, unknown>)['failed_checks'] as Record<string, unknown>[])[0]!;
    it.each([
      ['an empty report', () => '', /JSON report is empty/],
      ['a foreign object', () => '{"results": []}', /neither a framework report/],
      ['an unknown framework', () => mutate((f) => (f[0]!['check_type'] = 'cloudformation')), /\[0\]\.check_type is "cloudformation"/],
      ['an unknown severity word', () => mutate((f) => (failed(f)['severity'] = 'SEVERE')), /failed_checks\[0\]\.severity is "SEVERE"/],
      ['a summary that does not match the list', () => mutate((f) => ((f[0]!['summary'] as Record<string, number>)['failed'] = 0)), /summary\.failed is 0, but the results list/],
      ['a missing line range', () => mutate((f) => delete failed(f)['file_line_range']), /file_line_range is missing/],
      ['a path outside the scanned directories', () => mutate((f) => (failed(f)['file_abs_path'] = '/etc/passwd')), /file_abs_path .* is not file_path below a scanned directory/],
      ['a bare summary with failures', () => '{"passed": 0, "failed": 2, "skipped": 0, "parsing_errors": 0, "resource_count": 1, "checkov_version": "3.3.30"}', /summary\.failed is 2 in a bare summary/]
    ])('%s is a ToolOutputError', (_what, text, message) => {
      if (!tool) return;
      expect(() => parseCheckovReport(text(), project.plan)).toThrow(ToolOutputError);
      expect(() => parseCheckovReport(text(), project.plan)).toThrow(message);
    });
  });

  it('writes one framework\'s report as an object (iac-paths: terraform)', async () => {
    if (!tool) return;
    const { text, report } = await scan(PROJECT, { 'iac-paths': 'terraform' });
    expect(JSON.parse(text)).toMatchObject({ check_type: 'terraform' });
    expect(report().findings.map((f) => f.location?.path)).toEqual(expect.arrayContaining(['terraform/main.tf']));
    expect(new Set(report().findings.map((f) => f.location?.path))).toEqual(new Set(['terraform/main.tf']));
  }, 5 * 60_000);

  it('writes a bare summary when there is nothing to check: no findings, a fact saying so', async () => {
    if (!tool) return;
    const { code, text, report } = await scan(path.join(CHECKOV_INPUTS, 'no-iac'), { scanners: 'misconfig' });
    expect([code, Object.keys(JSON.parse(text)).sort()]).toEqual([0, ['checkov_version', 'failed', 'parsing_errors', 'passed', 'resource_count', 'skipped']]);
    expect(report()).toMatchObject({ findings: [], warnings: [], unchecked: [], facts: [expect.stringMatching(/^no Terraform/)] });
  }, 5 * 60_000);

  it('passes literal excludes as anchored --skip-path regexes (globs are left to the engine), .git always', async () => {
    const context = { workspace: PROJECT, targets: ['.'], exclude: ['clean/', '**/*.md'], options: {}, workDir: os.tmpdir(), logger: new MemoryLogger() };
    const invocation = (await checkovAdapter.command({} as InstalledTool, context)) as { args: string[] };
    const skips = invocation.args.flatMap((arg, i) => (invocation.args[i - 1] === '--skip-path' ? [arg] : []));
    expect(skips).toEqual(['/\\.git$', `^${PROJECT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/clean(/|$)`]);
    expect(invocation.args).toEqual(expect.arrayContaining(['-d', PROJECT, '--framework', 'terraform,kubernetes,dockerfile,github_actions,secrets', '--skip-download', '--compact']));
  });

  it('is not applicable where there is no IaC, and when scanners has neither misconfig nor secret', async () => {
    const base = { targets: ['.'], exclude: [], workDir: scratch ?? os.tmpdir(), logger: new MemoryLogger() };
    expect(await checkovAdapter.skip!({ ...base, workspace: path.join(CHECKOV_INPUTS, 'no-iac'), options: {} })).toMatchObject({ notApplicable: true });
    expect(await checkovAdapter.skip!({ ...base, workspace: PROJECT, options: { scanners: 'vuln' } })).toMatchObject({ notApplicable: true });
    expect(await checkovAdapter.skip!({ ...base, workspace: PROJECT, options: {} })).toBeUndefined();
  });

  it('warns about a file it could not parse when most files parsed', async () => {
    if (!tool) return;
    const { report } = await scan(path.join(CHECKOV_INPUTS, 'parse-errors'), { scanners: 'misconfig' });
    const parsed = report();
    expect(parsed.warnings).toEqual(['broken.tf: Checkov could not parse it (not checked)']);
    expect(parsed.findings.some((f) => f.location?.path === 'bucket.tf')).toBe(true);
    // An inline `checkov:skip` is counted, not reported.
    expect(parsed.findings.filter((f) => f.ruleId === 'CKV_AWS_18')).toEqual([]);
    expect(parsed.facts).toContain('1 check(s) suppressed in the code (checkov:skip)');
  }, 5 * 60_000);

  it('fails the run when nothing parsed', async () => {
    if (!tool) return;
    const { code, report } = await scan(path.join(CHECKOV_INPUTS, 'unparseable'), { scanners: 'misconfig' });
    expect(code).toBe(0);
    expect(report).toThrow(ToolFailureError);
    expect(report).toThrow(/could not parse 1 of 1 file\(s\) \(broken\.tf\)/);
  }, 5 * 60_000);

  it('reports secrets as sensitive findings on their line, without the value anywhere', async () => {
    if (!tool) return;
    const workspace = await mkdtemp(path.join(scratch, 'secrets-'));
    // Built from parts so this test file holds no key-shaped literal.
    const key = ['AKIA', 'IOSFODNN7', 'EXAMPLF'].join('');
    await writeFile(path.join(workspace, 'main.tf'), `resource "aws_instance" "a" {\n  ami = "ami-123"\n  user_data = "export AWS_ACCESS_KEY_ID=${key}"\n}\n`);
    const { text, report } = await scan(workspace, { scanners: 'secret' });
    const parsed = report();
    expect(parsed.findings).toEqual([
      expect.objectContaining({ ruleId: 'CKV_SECRET_2', severity: 'critical', sensitive: true, location: { path: 'main.tf', startLine: 3, endLine: 3 } })
    ]);
    expect(parsed.findings[0]!.message).toBe('AWS Access Key: a secret in main.tf (value not shown)');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(0, 8));
    expect(JSON.stringify(parsed)).not.toContain(key);
  }, 5 * 60_000);
});

function readableHelm(dir: string): boolean {
  try {
    readFileSync(path.join(dir, 'helm'));
    return true;
  } catch {
    return false;
  }
}
