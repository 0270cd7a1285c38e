import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { commitAll, fakeGithubToken, git, initRepo, writeFiles } from '../helpers/git-repo.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, type ReleaseMirror } from '../helpers/release-mirror.js';
import { newJob, runStep, REPO_ROOT, type RunnerJob, type StepResult } from '../helpers/runner.js';
import { sarifSchemaErrors } from '../helpers/sarif-schema.js';

// End to end: the committed dist/sast bundle on Node 24 with all four tools installed for real —
// bandit and semgrep from PyPI (hash-locked), gitleaks and git-secrets from the loopback release
// mirror (scripts/tools/build-mirror.sh). One job per file: every tool is installed once.

const execFileAsync = promisify(execFile);
const STEP_TIMEOUT = 300_000;
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'ml-service');

/** Every fake credential planted in examples/ml-service (settings.py 15-24, config/deploy.yaml:11). */
const PLANTED_SECRETS = [
  'AKIAFYXP5KHYBMAMEOKE',
  '3zASuTfENcllXMn/R/PPtPcBsjulOkcZu5ZlguyC',
  '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',
  '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',
  'ghp_AfjxFNtP9oZS54lGqbid6uJrDehEPqTKCpT6',
  'sk_test_cegjtP82axz7iXEL24jKgNttKqk1s5kM5Wj0a02PbpuKfVbM',
  'Sup3rS3cretAdm1n!',
  'https://hooks.slack.com/services/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'
];

const ALL_TOOLS = ['bandit', 'semgrep', 'gitleaks', 'git-secrets'];

interface ReportFinding {
  tool: string;
  ruleId: string;
  severity: string;
  location?: { path: string; startLine?: number };
  sources: { tool: string; ruleId: string }[];
  state: { kind: string };
  reported: boolean;
  tags?: string[];
}

interface ReportTool {
  tool: string;
  version?: string;
  status: string;
  findingCount: number;
  error?: { kind: string; message: string };
}

interface JsonReport {
  verdict: string;
  tools: ReportTool[];
  errors: { kind: string; name: string; message: string }[];
  findings: ReportFinding[];
}

interface SarifLog {
  runs: { tool: { driver: { name: string } }; automationDetails?: { id?: string }; results: { ruleId: string; properties?: { sources?: string[] } }[] }[];
}

function readJson<T>(file: string | undefined): Promise<T> {
  if (!file) throw new Error('the step wrote no such output');
  return readFile(file, 'utf8').then((text) => JSON.parse(text) as T);
}

function tool(report: JsonReport, id: string): ReportTool {
  const found = report.tools.find((t) => t.tool === id);
  if (!found) throw new Error(`no run of ${id} in the report (tools: ${report.tools.map((t) => t.tool).join(', ')})`);
  return found;
}

function fromTool(report: JsonReport, id: string): ReportFinding[] {
  return report.findings.filter((f) => f.sources.some((s) => s.tool === id));
}

/** The step's own failure message: the last error annotation without a file. */
function failureMessage(step: StepResult): string {
  const own = step.annotations.filter((a) => a.command === 'error' && !a.properties['file']);
  return own[own.length - 1]?.message ?? '';
}

/** A temp copy of examples/ml-service committed as a fresh git repository (branch main). */
async function exampleRepo(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-stage-'));
  await cp(EXAMPLE, dir, { recursive: true });
  await writeFiles(dir, extra);
  await initRepo(dir);
  await commitAll(dir, 'ml-service example');
  return dir;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('sast stage end to end: bandit, semgrep, gitleaks, git-secrets', () => {
  let available = false;
  let job: RunnerJob;
  let mirror: ReleaseMirror;
  let toolVersions: string;
  let gitleaksSha: string;
  let gitSecretsSha: string;
  /** Inputs every step needs: the test mirror and its digests. */
  let mirrorInputs: Record<string, string>;
  const servers: ReleaseMirror[] = [];

  beforeAll(async () => {
    available = mirrorAvailable();
    if (!available) return;
    const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
    gitleaksSha = sums['gitleaks/8.30.0/linux-x64']!;
    gitSecretsSha = sums['git-secrets/1.3.0/any']!;
    expect(gitleaksSha).toMatch(/^[0-9a-f]{64}$/);
    expect(gitSecretsSha).toMatch(/^[0-9a-f]{64}$/);
    toolVersions = `gitleaks=8.30.0@${gitleaksSha},git-secrets=1.3.0@${gitSecretsSha}`;
    job = await newJob();
    mirror = await startReleaseMirror(mirrorRoot());
    servers.push(mirror);
    mirrorInputs = { 'tool-versions': toolVersions, 'mirror-url': mirror.url };
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  describe('the full stage on examples/ml-service', () => {
    let workspace: string;
    let step: StepResult;
    let report: JsonReport;
    let sarif: SarifLog;

    beforeAll(async () => {
      if (!available) return;
      workspace = await exampleRepo();
      // Its own job name: the 50-annotation budget is per job (kept in RUNNER_TEMP, keyed by GITHUB_JOB).
      step = await runStep({ bundle: 'sast', workspace, job, env: { GITHUB_JOB: 'full-stage' }, inputs: { ...mirrorInputs, 'fail-on': 'high' } });
      report = await readJson<JsonReport>(step.outputs['report-file']);
      sarif = await readJson<SarifLog>(step.outputs['sarif-file']);
    }, 600_000);

    it('runs all four tools and fails the gate at fail-on high', () => {
      if (!available) return;
      expect(step.exitCode).toBe(1);
      expect(step.outputs['verdict']).toBe('fail');
      expect(report.verdict).toBe('fail');
      expect(report.errors).toEqual([]);
      expect(report.tools.map((t) => t.tool).sort()).toEqual([...ALL_TOOLS].sort());
      expect(tool(report, 'bandit')).toMatchObject({ status: 'ok', version: '1.9.4' });
      expect(tool(report, 'semgrep')).toMatchObject({ status: 'ok', version: '1.185.0' });
      expect(tool(report, 'gitleaks')).toMatchObject({ status: 'ok', version: '8.30.0' });
      expect(tool(report, 'git-secrets')).toMatchObject({ status: 'ok', version: '1.3.0' });
      for (const id of ALL_TOOLS) expect(tool(report, id).findingCount).toBeGreaterThan(0);
      expect(Number(step.outputs['blocking'])).toBeGreaterThan(0);
      expect(Number(step.outputs['critical'])).toBeGreaterThan(0);
      expect(failureMessage(step)).toMatch(/^secgate sast: \d+ finding\(s\) at or above severity 'high'$/);
    });

    it('annotates within GitHub caps, most severe first: critical llm-output-injection errors lead', () => {
      if (!available) return;
      const findingAnnotations = step.annotations.filter((a) => a.properties['file']);
      for (const level of ['error', 'warning', 'notice']) {
        expect(step.annotations.filter((a) => a.command === level).length).toBeLessThanOrEqual(10);
      }
      expect(step.annotations.length).toBeLessThanOrEqual(50);
      // One error slot is kept for the step's own failure message.
      expect(step.annotations.filter((a) => a.command === 'error' && a.properties['file']).length).toBeLessThanOrEqual(9);

      const errors = findingAnnotations.filter((a) => a.command === 'error');
      const criticalCount = report.findings.filter((f) => f.severity === 'critical' && f.state.kind === 'active').length;
      expect(criticalCount).toBeGreaterThan(0);
      const leading = errors.slice(0, Math.min(criticalCount, errors.length));
      expect(leading.length).toBeGreaterThan(0);
      for (const a of leading) {
        expect(a.properties['title']).toMatch(/^\[CRITICAL\] /);
        expect(a.properties['title']).toContain('semgrep secgate.ml.llm-output-injection');
      }
      // Severity never increases along the annotation order.
      const rank: Record<string, number> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1, INFO: 0 };
      const ranks = findingAnnotations.map((a) => rank[/^\[([A-Z]+)\]/.exec(a.properties['title'] ?? '')?.[1] ?? ''] ?? -1);
      expect(ranks.every((r) => r >= 0)).toBe(true);
      expect(ranks).toEqual([...ranks].sort((x, y) => y - x));

      const omitted = Number(step.outputs['annotations-omitted']);
      const reportedActive = report.findings.filter((f) => f.reported && f.state.kind === 'active').length;
      expect(omitted).toBeGreaterThan(0);
      expect(omitted + findingAnnotations.length).toBe(reportedActive);
    });

    it('summarises every tool and how many findings were not annotated', () => {
      if (!available) return;
      expect(step.summary).toContain('## secgate sast: ❌ failed: findings over threshold');
      expect(step.summary).toMatch(/\| Bandit \| sast \| 1\.9\.4 \| ✅ ok \| [1-9]\d* \|/);
      expect(step.summary).toMatch(/\| Semgrep \| sast \| 1\.185\.0 \| ✅ ok \| [1-9]\d* \|/);
      expect(step.summary).toMatch(/\| gitleaks \| sast \| 8\.30\.0 \| ✅ ok \| [1-9]\d* \|/);
      expect(step.summary).toMatch(/\| git-secrets \| sast \| 1\.3\.0 \| ✅ ok \| [1-9]\d* \|/);
      expect(step.summary).toContain(`> ${step.outputs['annotations-omitted']} finding(s) were not annotated inline`);
    });

    it('writes valid SARIF with one run per tool and unique automation ids', () => {
      if (!available) return;
      expect(sarifSchemaErrors(sarif)).toEqual([]);
      expect(sarif.runs).toHaveLength(4);
      const ids = sarif.runs.map((r) => r.automationDetails?.id);
      expect(new Set(ids).size).toBe(4);
      expect([...ids].sort()).toEqual(ALL_TOOLS.map((t) => `secgate/sast/${t}/`).sort());
    });

    it('shows a cross-tool duplicate once, with both sources (bandit B615 + semgrep hf-unpinned-revision)', () => {
      if (!available) return;
      const merged = report.findings.filter(
        (f) =>
          f.sources.some((s) => s.tool === 'bandit' && s.ruleId === 'B615') &&
          f.sources.some((s) => s.tool === 'semgrep' && s.ruleId === 'secgate.ml.hf-unpinned-revision')
      );
      expect(merged.length).toBeGreaterThan(0);
      for (const finding of merged) {
        const sameLine = report.findings.filter(
          (f) => f.location?.path === finding.location?.path && f.location?.startLine === finding.location?.startLine
        );
        // Neither tool's report shows up a second time on that line.
        expect(sameLine.filter((f) => f.sources.some((s) => s.ruleId === 'B615'))).toHaveLength(1);
        expect(sameLine.filter((f) => f.sources.some((s) => s.ruleId === 'secgate.ml.hf-unpinned-revision'))).toHaveLength(1);
      }
      // The SARIF result of the merged finding names both sources too.
      const results = sarif.runs.flatMap((r) => r.results);
      expect(
        results.some(
          (r) => r.properties?.sources?.includes('bandit:B615') && r.properties.sources.includes('semgrep:secgate.ml.hf-unpinned-revision')
        )
      ).toBe(true);
    });

    it('reports nothing in the safe counterparts (safe_loaders.py)', () => {
      if (!available) return;
      expect(report.findings.filter((f) => f.location?.path === 'safe_loaders.py')).toEqual([]);
      // Their unsafe twins are found, so the rules did run on these patterns.
      expect(fromTool(report, 'semgrep').some((f) => f.location?.path === 'model_loader.py')).toBe(true);
      expect(fromTool(report, 'bandit').some((f) => f.location?.path === 'model_loader.py')).toBe(true);
      expect(step.annotations.some((a) => a.properties['file'] === 'safe_loaders.py')).toBe(false);
    });

    it('never shows a planted secret anywhere, while gitleaks and git-secrets found them', async () => {
      if (!available) return;
      const gitleaks = fromTool(report, 'gitleaks');
      expect(gitleaks.some((f) => f.location?.path === 'settings.py')).toBe(true);
      const settingsLines = gitleaks.filter((f) => f.location?.path === 'settings.py').map((f) => f.location?.startLine);
      expect(settingsLines).toEqual(expect.arrayContaining([15, 19, 20, 21, 22]));
      expect(gitleaks.some((f) => f.location?.path === 'config/deploy.yaml' && f.location.startLine === 11)).toBe(true);
      expect(fromTool(report, 'git-secrets').some((f) => f.location?.path === 'settings.py')).toBe(true);

      const places: Record<string, string> = {
        stdout: step.stdout,
        stderr: step.stderr,
        summary: step.summary,
        sarif: await readFile(step.outputs['sarif-file']!, 'utf8'),
        report: await readFile(step.outputs['report-file']!, 'utf8'),
        outputs: JSON.stringify(step.outputs)
      };
      const leaks: string[] = [];
      for (const [place, text] of Object.entries(places)) {
        for (const secret of PLANTED_SECRETS) {
          // JSON escapes '/' nowhere, but check the JSON-escaped form as well.
          if (text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1))) leaks.push(`${place}: ${secret.slice(0, 8)}…`);
        }
      }
      expect(leaks).toEqual([]);
    });
  });

  describe('bad input: a red step with a named error, the other tools still reported', () => {
    it(
      'a crashing tool (semgrep on an invalid rule file) names semgrep and its exit code',
      async () => {
        if (!available) return;
        const workspace = await exampleRepo({ 'broken.yml': 'rules:\n  - id: broken-rule\n    pattern: "os.system(("\n    oops: [\n' });
        const step = await runStep({ bundle: 'sast', workspace, job, inputs: { ...mirrorInputs, 'semgrep-rules': 'broken.yml' } });
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('error');
        expect(failureMessage(step)).toMatch(/^secgate sast: tool-failure: semgrep: exited with code [1-9]\d* \(an error, not findings\)/);
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        expect(tool(report, 'semgrep')).toMatchObject({ status: 'failed', error: { kind: 'tool-failure' } });
        for (const id of ['bandit', 'gitleaks', 'git-secrets']) {
          expect(tool(report, id).status).toBe('ok');
          expect(fromTool(report, id).length).toBeGreaterThan(0);
        }
        expect(Number(step.outputs['total'])).toBeGreaterThan(0);
        expect(step.summary).toContain('⛔ error: a tool failed');
        expect(step.summary).toMatch(/\| Semgrep \| sast \| 1\.185\.0 \| ⛔ failed \|/);
      },
      STEP_TIMEOUT
    );

    it(
      'a tool over its time limit is killed and reported as timed out',
      async () => {
        if (!available) return;
        const workspace = await exampleRepo();
        const step = await runStep({
          bundle: 'sast',
          workspace,
          job,
          inputs: { ...mirrorInputs, tools: 'semgrep,bandit', 'timeout-minutes': '0.005' }
        });
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('error');
        expect(failureMessage(step)).toMatch(/^secgate sast: tool-timeout.*semgrep: timed out after 300 ms and was killed/);
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        const semgrep = tool(report, 'semgrep');
        expect(semgrep.status).toBe('failed');
        expect(semgrep.error?.kind).toBe('tool-timeout');
        expect(semgrep.error?.message).toContain('timed out');
        expect(report.errors.some((e) => e.name === 'ToolTimeoutError')).toBe(true);
        // bandit may or may not finish in 300 ms; if it did, its findings are in the report.
        const bandit = tool(report, 'bandit');
        if (bandit.status === 'ok') expect(fromTool(report, 'bandit').length).toBeGreaterThan(0);
        else expect(bandit.error?.kind).toBe('tool-timeout');
      },
      STEP_TIMEOUT
    );

    it(
      'a truncated report (a gitleaks that writes half a JSON array) is a tool-output error naming gitleaks',
      async () => {
        if (!available) return;
        // A fake gitleaks 9.9.9 release asset, served from a copy of the mirror.
        const root = await mkdtemp(path.join(os.tmpdir(), 'secgate-fake-mirror-'));
        await cp(mirrorRoot(), root, { recursive: true });
        const build = await mkdtemp(path.join(os.tmpdir(), 'secgate-fake-gitleaks-'));
        const script = [
          '#!/bin/sh',
          'report=""',
          'while [ $# -gt 0 ]; do',
          '  if [ "$1" = "--report-path" ]; then report="$2"; shift; fi',
          '  shift',
          'done',
          '[ -n "$report" ] || exit 9',
          `printf '[\\n  {"RuleID": "generic-api-key", "File": "settings.py", "StartLine": 15,' > "$report"`,
          'exit 3',
          ''
        ].join('\n');
        await writeFile(path.join(build, 'gitleaks'), script);
        await chmod(path.join(build, 'gitleaks'), 0o755);
        const assetDir = path.join(root, 'gitleaks', 'gitleaks', 'releases', 'download', 'v9.9.9');
        const asset = path.join(assetDir, 'gitleaks_9.9.9_linux_x64.tar.gz');
        await execFileAsync('mkdir', ['-p', assetDir]);
        await execFileAsync('tar', ['-czf', asset, '-C', build, 'gitleaks']);
        const digest = sha256(await readFile(asset));
        const fake = await startReleaseMirror(root);
        servers.push(fake);

        const workspace = await exampleRepo();
        const step = await runStep({
          bundle: 'sast',
          workspace,
          job,
          inputs: { tools: 'gitleaks,bandit', 'secrets-scan': 'tree', 'tool-versions': `gitleaks=9.9.9@${digest}`, 'mirror-url': fake.url }
        });
        expect(fake.requests.some((r) => r.path.endsWith('/v9.9.9/gitleaks_9.9.9_linux_x64.tar.gz') && r.status === 200)).toBe(true);
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('error');
        expect(failureMessage(step)).toMatch(/^secgate sast: tool-output: gitleaks: unreadable output: the JSON report is truncated or not JSON/);
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        expect(tool(report, 'gitleaks')).toMatchObject({ status: 'failed', version: '9.9.9', error: { kind: 'tool-output' } });
        expect(tool(report, 'gitleaks').error?.message).toContain('gitleaks');
        expect(tool(report, 'bandit').status).toBe('ok');
        expect(fromTool(report, 'bandit').length).toBeGreaterThan(0);
        expect(fromTool(report, 'gitleaks')).toEqual([]);
      },
      STEP_TIMEOUT
    );

    describe('installs in a fresh job (empty tool cache)', () => {
      let freshJob: RunnerJob;
      beforeAll(async () => {
        if (available) freshJob = await newJob();
      });

      it(
        'a checksum mismatch is a tool-install error with the expected and actual digests',
        async () => {
          if (!available) return;
          const workspace = await exampleRepo();
          const zeros = '0'.repeat(64);
          const step = await runStep({
            bundle: 'sast',
            workspace,
            job: freshJob,
            inputs: { tools: 'gitleaks,bandit', 'tool-versions': `gitleaks=8.30.0@${zeros}`, 'mirror-url': mirror.url }
          });
          expect(step.exitCode).toBe(1);
          expect(step.outputs['verdict']).toBe('error');
          const message = failureMessage(step);
          expect(message).toMatch(/^secgate sast: tool-install: gitleaks: install failed: checksum mismatch for gitleaks_8\.30\.0_linux_x64\.tar\.gz/);
          expect(message).toContain(`expected sha256 ${zeros}, got ${gitleaksSha}`);
          const report = await readJson<JsonReport>(step.outputs['report-file']);
          expect(tool(report, 'gitleaks')).toMatchObject({ status: 'failed', error: { kind: 'tool-install' } });
          expect(report.errors.some((e) => e.name === 'ChecksumMismatchError')).toBe(true);
          expect(tool(report, 'bandit').status).toBe('ok');
          expect(fromTool(report, 'bandit').length).toBeGreaterThan(0);
        },
        STEP_TIMEOUT
      );

      it(
        'a download failure (HTTP 404 from the mirror) is a tool-install error naming the status',
        async () => {
          if (!available) return;
          const empty = await mkdtemp(path.join(os.tmpdir(), 'secgate-empty-mirror-'));
          const notFound = await startReleaseMirror(empty);
          servers.push(notFound);
          const workspace = await exampleRepo();
          const step = await runStep({
            bundle: 'sast',
            workspace,
            job: freshJob,
            inputs: { tools: 'gitleaks,bandit', 'tool-versions': toolVersions, 'mirror-url': notFound.url }
          });
          expect(notFound.requests.some((r) => r.status === 404)).toBe(true);
          expect(step.exitCode).toBe(1);
          expect(step.outputs['verdict']).toBe('error');
          expect(failureMessage(step)).toMatch(/^secgate sast: tool-install: gitleaks: install failed: download of http:\/\/127\.0\.0\.1:\d+\/gitleaks\/.* failed with HTTP 404/);
          const report = await readJson<JsonReport>(step.outputs['report-file']);
          expect(tool(report, 'gitleaks')).toMatchObject({ status: 'failed', error: { kind: 'tool-install' } });
          expect(tool(report, 'bandit').status).toBe('ok');
          expect(fromTool(report, 'bandit').length).toBeGreaterThan(0);
        },
        STEP_TIMEOUT
      );
    });
  });

  describe('pull_request and merge_group on a shallow clone', () => {
    const LEGACY = 'import subprocess\n\n\ndef legacy(cmd):\n    return subprocess.call(cmd, shell=True)\n';
    const FEATURE = 'import subprocess\n\n\ndef feature(cmd):\n    """New in the PR."""\n    return subprocess.check_output(cmd, shell=True)\n';
    let origin: string;
    let base: string;
    let head: string;
    let token: string;

    beforeAll(async () => {
      if (!available) return;
      token = fakeGithubToken();
      origin = await mkdtemp(path.join(os.tmpdir(), 'secgate-origin-'));
      await initRepo(origin);
      await writeFiles(origin, { 'README.md': '# service\n', 'legacy.py': LEGACY });
      base = await commitAll(origin, 'base: pre-existing code');
      await git(origin, ['checkout', '-q', '-b', 'feature']);
      await writeFiles(origin, { 'deploy/release.env': `RELEASE_GITHUB_TOKEN=${token}\n` });
      await commitAll(origin, 'PR 1: release credentials');
      await writeFiles(origin, { 'deploy/release.env': null });
      await commitAll(origin, 'PR 2: remove the credentials again');
      await writeFiles(origin, { 'feature.py': FEATURE });
      head = await commitAll(origin, 'PR 3: feature');
      await git(origin, ['checkout', '-q', 'main']);
    });

    /** `git clone --depth=1` of the PR branch: the workspace actions/checkout gives by default. */
    async function shallowClone(): Promise<string> {
      const parent = await mkdtemp(path.join(os.tmpdir(), 'secgate-clone-'));
      const ws = path.join(parent, 'ws');
      await git(parent, ['-c', 'protocol.file.allow=always', 'clone', '-q', '--depth=1', '--branch', 'feature', `file://${origin}`, ws]);
      expect(await git(ws, ['rev-parse', 'HEAD'])).toBe(head);
      expect(await git(ws, ['rev-parse', '--is-shallow-repository'])).toBe('true');
      expect(await git(ws, ['rev-list', '--count', 'HEAD'])).toBe('1');
      return ws;
    }

    const prEvent = (): { name: string; payload: unknown } => ({
      name: 'pull_request',
      payload: { pull_request: { number: 7, base: { sha: base }, head: { sha: head } } }
    });

    it(
      'secrets-scan history scans every PR commit: a token added then deleted is found (the clone is deepened)',
      async () => {
        if (!available) return;
        const ws = await shallowClone();
        const step = await runStep({
          bundle: 'sast',
          workspace: ws,
          job,
          event: prEvent(),
          env: { GITHUB_SHA: head, GITHUB_REF: 'refs/pull/7/merge' },
          inputs: { ...mirrorInputs, tools: 'gitleaks', 'secrets-scan': 'history' }
        });
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        expect(tool(report, 'gitleaks').status).toBe('ok');
        const leak = fromTool(report, 'gitleaks').find((f) => f.location?.path === 'deploy/release.env');
        expect(leak).toMatchObject({ ruleId: 'github-pat', severity: 'high', location: { startLine: 1 } });
        expect(leak?.tags).toContain('history');
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('fail');
        // The shallow clone now holds the whole range.
        expect(Number(await git(ws, ['rev-list', '--count', 'HEAD']))).toBeGreaterThanOrEqual(4);
        expect(await git(ws, ['merge-base', base, head])).toBe(base);
        expect(step.stdout).toContain(`Fetching ${base.slice(0, 12)} (not in this clone)`);
        expect(step.stdout).toContain(`Deepening the clone by 32 commits to reach ${base.slice(0, 12)}`);
        for (const text of [step.stdout, step.stderr, step.summary, await readFile(step.outputs['report-file']!, 'utf8')]) {
          expect(text).not.toContain(token);
        }
      },
      STEP_TIMEOUT
    );

    it(
      'new-only changed-lines: a pre-existing high finding outside the diff does not block, the new line does',
      async () => {
        if (!available) return;
        const ws = await shallowClone();
        const step = await runStep({
          bundle: 'sast',
          workspace: ws,
          job,
          event: prEvent(),
          // A job of its own: earlier steps of the shared job used up its 50-annotation budget.
          env: { GITHUB_SHA: head, GITHUB_REF: 'refs/pull/7/merge', GITHUB_JOB: 'changed-lines' },
          inputs: { ...mirrorInputs, tools: 'bandit', 'new-only': 'changed-lines', 'fail-on': 'high' }
        });
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('fail');
        expect(step.outputs['blocking']).toBe('1');
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        const b602 = report.findings.filter((f) => f.ruleId === 'B602');
        expect(b602.find((f) => f.location?.path === 'legacy.py')?.state.kind).toBe('outside-changed-lines');
        expect(b602.find((f) => f.location?.path === 'feature.py')?.state.kind).toBe('active');
        const errors = step.annotations.filter((a) => a.command === 'error' && a.properties['file']);
        expect(errors.map((a) => a.properties['file'])).toEqual(['feature.py']);
        const outsideHigh = /\| high \| (\d+) \| \d+ \| \d+ \| (\d+) \|/.exec(step.summary);
        expect(outsideHigh).not.toBeNull();
        expect(Number(outsideHigh![2])).toBeGreaterThanOrEqual(1);
        expect(step.summary).toContain('new-only: **changed-lines**');
        expect(failureMessage(step)).toBe("secgate sast: 1 finding(s) at or above severity 'high'");
      },
      STEP_TIMEOUT
    );

    it(
      'new-only changed-lines still blocks a secret leaked in a PR commit (history finding in a file the PR deleted again)',
      async () => {
        if (!available) return;
        const ws = await shallowClone();
        const step = await runStep({
          bundle: 'sast',
          workspace: ws,
          job,
          event: prEvent(),
          env: { GITHUB_SHA: head, GITHUB_REF: 'refs/pull/7/merge' },
          inputs: { ...mirrorInputs, tools: 'gitleaks', 'secrets-scan': 'history', 'new-only': 'changed-lines', 'fail-on': 'high' }
        });
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        const leak = fromTool(report, 'gitleaks').find((f) => f.location?.path === 'deploy/release.env');
        expect(leak).toBeDefined();
        // The leak is in a commit of this PR: the credential is exposed whatever the final diff says.
        expect(leak?.state.kind).toBe('active');
        expect(step.outputs['verdict']).toBe('fail');
        expect(step.exitCode).toBe(1);
      },
      STEP_TIMEOUT
    );

    it(
      'merge_group: the queue range (base_sha..head_sha) is scanned',
      async () => {
        if (!available) return;
        const ws = await shallowClone();
        const step = await runStep({
          bundle: 'sast',
          workspace: ws,
          job,
          event: { name: 'merge_group', payload: { merge_group: { base_sha: base, head_sha: head, head_ref: 'refs/heads/gh-readonly-queue/main/pr-7' } } },
          env: { GITHUB_SHA: head, GITHUB_REF: 'refs/heads/gh-readonly-queue/main/pr-7' },
          inputs: { ...mirrorInputs, tools: 'gitleaks', 'secrets-scan': 'history' }
        });
        const report = await readJson<JsonReport>(step.outputs['report-file']);
        expect(tool(report, 'gitleaks').status).toBe('ok');
        expect(fromTool(report, 'gitleaks').some((f) => f.location?.path === 'deploy/release.env' && f.tags?.includes('history'))).toBe(true);
        expect(step.exitCode).toBe(1);
        expect(step.outputs['verdict']).toBe('fail');
        expect(await git(ws, ['merge-base', base, head])).toBe(base);
      },
      STEP_TIMEOUT
    );
  });
});
