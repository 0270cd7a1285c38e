import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { commitAll, initRepo } from '../helpers/git-repo.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, type ReleaseMirror } from '../helpers/release-mirror.js';
import { newJob, runStep, REPO_ROOT, type StepResult } from '../helpers/runner.js';

// Issue #6 §5: several scans started at once on one empty tool cache (parallel jobs on a
// self-hosted runner, two CLI scans) must all install and run every tool. Three cold runs of the
// real dist/sast bundle share ONE empty RUNNER_TOOL_CACHE: bandit and semgrep from PyPI
// (hash-locked), gitleaks and git-secrets from the loopback release mirror, pinned by digest.
// This file performs the suite's one extra cold semgrep install (~100 MB from PyPI).

const RUNS = 3;
const ALL_TOOLS = ['bandit', 'git-secrets', 'gitleaks', 'semgrep'];
const VERSIONS: Record<string, string> = { bandit: '1.9.4', semgrep: '1.185.0', gitleaks: '8.30.0', 'git-secrets': '1.3.0' };

interface ReportTool {
  tool: string;
  version?: string;
  status: string;
  findingCount: number;
  cacheHit?: boolean;
  error?: { kind: string; message: string };
}

interface JsonReport {
  verdict: string;
  tools: ReportTool[];
  errors: { kind: string; message: string }[];
}

describe('three concurrent cold runs of the sast bundle on one shared, empty tool cache', () => {
  let available = false;
  let mirror: ReleaseMirror;
  let toolCache: string;
  /** Removed afterwards: the shared cache alone holds a semgrep venv of several hundred MB. */
  const scratch: string[] = [];
  const steps: StepResult[] = [];
  const reports: JsonReport[] = [];

  beforeAll(async () => {
    available = mirrorAvailable();
    if (!available) return;
    const sums = JSON.parse(await readFile(path.join(mirrorRoot(), 'SHA256SUMS.json'), 'utf8')) as Record<string, string>;
    const toolVersions = `gitleaks=8.30.0@${sums['gitleaks/8.30.0/linux-x64']},git-secrets=1.3.0@${sums['git-secrets/1.3.0/any']}`;
    mirror = await startReleaseMirror(mirrorRoot());
    const cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'secgate-shared-cache-'));
    scratch.push(cacheRoot);
    toolCache = path.join(cacheRoot, 'tool-cache');

    const runs = Array.from({ length: RUNS }, async (_, i) => {
      // Each run is its own job (own RUNNER_TEMP, own checkout); only the tool cache is shared.
      const job = { ...(await newJob()), toolCache };
      const workspace = await mkdtemp(path.join(os.tmpdir(), `secgate-concurrent-${i}-`));
      scratch.push(path.dirname(job.temp), workspace);
      await cp(path.join(REPO_ROOT, 'examples', 'ml-service'), workspace, { recursive: true });
      await initRepo(workspace);
      await commitAll(workspace, 'ml-service example');
      return runStep({
        bundle: 'sast',
        workspace,
        job,
        env: { GITHUB_JOB: `concurrent-${i}` },
        inputs: { 'tool-versions': toolVersions, 'mirror-url': mirror.url, 'fail-on': 'high', cache: 'false' },
        timeoutMs: 900_000
      });
    });
    steps.push(...(await Promise.all(runs)));
    for (const step of steps) {
      const file = step.outputs['report-file'];
      if (!file) throw new Error(`a run wrote no report (exit ${step.exitCode}): ${step.stdout.slice(-3000)}`);
      reports.push(JSON.parse(await readFile(file, 'utf8')) as JsonReport);
    }
  }, 1_000_000);

  afterAll(async () => {
    await mirror?.close();
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  it('every run installs and runs all four tools and reaches the real verdict (fail at high)', () => {
    if (!available) return;
    expect(steps).toHaveLength(RUNS);
    for (const [i, step] of steps.entries()) {
      const report = reports[i]!;
      const context = `run ${i}: ${JSON.stringify(report.tools.map((t) => ({ tool: t.tool, status: t.status, error: t.error?.message })))}`;
      expect({ context, errors: report.errors }).toEqual({ context, errors: [] });
      expect(report.tools.map((t) => t.tool).sort()).toEqual(ALL_TOOLS);
      for (const tool of report.tools) {
        expect({ context, tool: tool.tool, status: tool.status, version: tool.version }).toEqual({
          context,
          tool: tool.tool,
          status: 'ok',
          version: VERSIONS[tool.tool]
        });
        expect(tool.findingCount).toBeGreaterThan(0);
      }
      expect(report.verdict).toBe('fail');
      expect(step.outputs['verdict']).toBe('fail');
      expect(step.exitCode).toBe(1);
      expect(Number(step.outputs['critical'])).toBeGreaterThan(0);
      expect(`${step.stdout}${step.stderr}`).not.toMatch(/ETXTBSY|No module named/);
    }
  });

  it('each tool was built once and found complete by the other runs', async () => {
    if (!available) return;
    for (const tool of ALL_TOOLS) {
      const fresh = reports.map((r) => r.tools.find((t) => t.tool === tool)!).filter((t) => t.cacheHit === false);
      expect({ tool, fresh: fresh.length }).toEqual({ tool, fresh: 1 });
    }
    // One download per release asset across all runs.
    expect(mirror.requests.filter((r) => r.status === 200).map((r) => r.path).sort()).toEqual([
      '/awslabs/git-secrets/archive/refs/tags/1.3.0.tar.gz',
      '/gitleaks/gitleaks/releases/download/v8.30.0/gitleaks_8.30.0_linux_x64.tar.gz'
    ]);
    // The shared cache holds complete entries only: no staging copies, no locks left behind.
    for (const name of ['gitleaks', 'git-secrets', 'secgate-py-bandit', 'secgate-py-semgrep']) {
      const versions = await readdir(path.join(toolCache, name));
      expect(versions).toHaveLength(1);
      expect((await readdir(path.join(toolCache, name, versions[0]!))).sort()).toEqual(['linux-x64', 'linux-x64.complete']);
    }
  });
});
