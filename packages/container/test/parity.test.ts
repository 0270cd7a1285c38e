/**
 * Parity on public IaC nobody here wrote: for each project of the corpus (released Go modules whose
 * archives carry the project's IaC: katib's kustomize manifests, examples and Dockerfiles, kuberay's
 * operator config and samples, terraform-provider-kubernetes' Terraform of EKS/GKE/AKS test clusters,
 * metrics-server's Helm chart and manifests; pinned by SHA-256 and laid out by
 * scripts/corpus/fetch-iac-corpus.sh, which scripts/test.sh runs before jest), every finding that
 * trivy, Checkov and hadolint report when run by hand is in the container stage's result (0 lost),
 * and the stage attributes nothing to a tool that the tool did not report (0 invented).
 *
 * A finding is (tool, rule id, file, line), compared as multisets: the stage is counted through
 * `sources` (the engine merges a finding several tools report into one, listing each tool and
 * rule), at the merged finding's location. The tools are the real ones, installed through the
 * product's installer: trivy and hadolint from the loopback release mirror, Checkov from PyPI
 * with the committed hash lock.
 *
 * By hand means the tools' plain documented commands, with the stage's scope: `trivy fs
 * --scanners misconfig,secret .` (offline: embedded checks, no DB), `checkov -d . --framework
 * terraform,kubernetes,dockerfile,github_actions,secrets` and `hadolint -f json --no-fail` on
 * every Dockerfile found by name here (not by the stage's discovery). Checkov is not asked for its
 * `helm` framework on either side (the stage renders no chart with Checkov: no pinned helm yet);
 * the stage instead lists each chart as not checked by Checkov (an incomplete run), which is
 * asserted below. Trivy renders charts itself, on both sides.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryLogger,
  ToolInstaller,
  errorMessage,
  runScan,
  type EffectivePolicy,
  type InstalledTool,
  type ScanResult,
  type ToolAdapter
} from '@secgate/core';
import { containerStage } from '@secgate/container';
import { checkovAdapter } from '../src/adapters/checkov.js';
import { hadolintAdapter } from '../src/adapters/hadolint.js';
import { trivyAdapter } from '../src/adapters/trivy.js';
import { mirrorAvailable, mirrorRoot, startReleaseMirror, testLock, type ReleaseMirror } from '../../../test/helpers/release-mirror.js';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const FETCH_SCRIPT = path.join(REPO_ROOT, 'scripts', 'corpus', 'fetch-iac-corpus.sh');
/** Where fetch-iac-corpus.sh lays the corpus out (its SECGATE_TOOL_CACHE default). */
const CORPUS = path.join(process.env['SECGATE_TOOL_CACHE'] ?? path.join(os.homedir(), '.cache', 'secgate-ci'), 'iac-corpus');
/** The projects (folder names under CORPUS) and the smallest figures they must keep giving. */
const PROJECTS = [
  { name: 'katib@v0.19.0', atLeast: { trivy: 130, checkov: 150, hadolint: 50 } },
  { name: 'kuberay-operator@v1.5.0', atLeast: { trivy: 130, checkov: 200, hadolint: 3 } },
  { name: 'terraform-provider-kubernetes@v1.13.4', atLeast: { trivy: 30, checkov: 100, hadolint: 0 } },
  { name: 'metrics-server@v0.8.0', atLeast: { trivy: 30, checkov: 20, hadolint: 0 } }
] as const;
const TOOLS = ['trivy', 'checkov', 'hadolint'] as const;
type Tool = (typeof TOOLS)[number];
const POLICY: EffectivePolicy = { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] };
const TOOL_CACHE = SHARED_TOOL_CACHE;
const SLOW = 20 * 60_000;
/** Names hadolint is given here: Docker's (`Dockerfile`, `Dockerfile.<x>`, `<x>.Dockerfile`) and Podman's. */
const DOCKERFILE = /^(?:(?:Dockerfile|Containerfile)(?:\..+)?|.+\.[Dd]ockerfile)$/;

const HAVE_MIRROR = mirrorAvailable();

/** Runs fetch-iac-corpus.sh --check: true when every pinned project is laid out and matches its digest. */
function corpusReady(): Promise<{ ready: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile('bash', [FETCH_SCRIPT, '--check'], { timeout: 120_000 }, (error, _stdout, stderr) => {
      resolve({ ready: error === null, detail: stderr.trim().split('\n').filter((l) => l.startsWith('missing')).join('; ') });
    });
  });
}

let root: string;
let mirror: ReleaseMirror | undefined;
let installer: ToolInstaller;
const installed = new Map<Tool, InstalledTool>();
let ready = false;
const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

beforeAll(async () => {
  const corpus = await corpusReady();
  if (!requireTool(corpus.ready, `the public IaC corpus at ${CORPUS} (${corpus.detail || 'see scripts/corpus/fetch-iac-corpus.sh'})`)) return;
  if (!HAVE_MIRROR) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-container-parity-'));
  process.env['RUNNER_TOOL_CACHE'] = TOOL_CACHE;
  process.env['RUNNER_TEMP'] = root;
  mirror = await startReleaseMirror(mirrorRoot());
  installer = new ToolInstaller({ logger: new MemoryLogger(), lock: testLock(), mirrorUrl: mirror.url });
  const adapters: Record<Tool, ToolAdapter> = { trivy: trivyAdapter, checkov: checkovAdapter, hadolint: hadolintAdapter };
  for (const tool of TOOLS) {
    try {
      installed.set(tool, await withCacheLock(TOOL_CACHE, SLOW, () => installer.install(adapters[tool].install)));
    } catch (error) {
      requireTool(false, `${tool} ${adapters[tool].install.defaultVersion} (install failed: ${errorMessage(error)})`);
      return;
    }
  }
  ready = true;
}, SLOW);

afterAll(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', saved.cache], ['RUNNER_TEMP', saved.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await mirror?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const strip = (p: string): string => p.replace(/^\.\//, '');

/** Relative paths (with `/`) of the files under `dir` whose name matches, leaving out `.git`. */
async function filesNamed(dir: string, name: RegExp): Promise<string[]> {
  const found: string[] = [];
  const pending = ['.'];
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const entry of await readdir(path.join(dir, current), { withFileTypes: true })) {
      const relative = current === '.' ? entry.name : `${current}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== '.git') pending.push(relative);
      else if (entry.isFile() && name.test(entry.name)) found.push(relative);
    }
  }
  return found.sort();
}

interface TrivyJson {
  Results?: {
    Target: string;
    Misconfigurations?: { ID: string; Status: string; CauseMetadata?: { StartLine?: number } }[];
    Secrets?: { RuleID: string; StartLine: number }[];
  }[];
}
interface CheckovFramework {
  check_type: string;
  results: { failed_checks: { check_id: string; file_path: string; file_line_range: [number, number] }[] };
}

/** `path:line:rule` of every finding of the three tools run by hand in `tree`. */
async function rawFindings(tree: string, scratch: string, dockerfiles: readonly string[]): Promise<Record<Tool, string[]>> {
  const trivy = installed.get('trivy')!;
  const trivyReport = path.join(scratch, 'trivy.json');
  const trivyRun = await runRaw(
    trivy.command,
    [
      ...trivy.baseArgs, 'fs', '--scanners', 'misconfig,secret', '--format', 'json', '--output', trivyReport,
      '--skip-check-update', '--skip-db-update', '--cache-dir', path.join(scratch, 'trivy-cache'), '--disable-telemetry', '--no-progress', '.'
    ],
    tree
  );
  expect(trivyRun.code).toBe(0); // without --exit-code, findings exit 0
  const trivyJson = JSON.parse(await readFile(trivyReport, 'utf8')) as TrivyJson;
  const trivyKeys = (trivyJson.Results ?? []).flatMap((result) => [
    ...(result.Misconfigurations ?? []).filter((m) => m.Status === 'FAIL').map((m) => `${strip(result.Target)}:${m.CauseMetadata?.StartLine ?? 0}:${m.ID}`),
    ...(result.Secrets ?? []).map((s) => `${strip(result.Target)}:${s.StartLine}:${s.RuleID}`)
  ]);

  const checkov = installed.get('checkov')!;
  const checkovDir = path.join(scratch, 'checkov');
  const checkovRun = await runRaw(
    checkov.command,
    [
      ...checkov.baseArgs, '-d', '.', '-o', 'json', '--output-file-path', checkovDir, '--skip-download', '--compact',
      // No `helm`: the stage does not ask Checkov to render charts (they are listed as not checked).
      '--framework', 'terraform,kubernetes,dockerfile,github_actions,secrets'
    ],
    tree
  );
  expect(checkovRun.code).toBe(1); // 1: failed checks
  const checkovJson = JSON.parse(await readFile(path.join(checkovDir, 'results_json.json'), 'utf8')) as CheckovFramework | CheckovFramework[];
  const frameworks = Array.isArray(checkovJson) ? checkovJson : [checkovJson];
  const checkovKeys = frameworks.flatMap((f) => f.results.failed_checks.map((c) => `${c.file_path.replace(/^\//, '')}:${c.file_line_range[0]}:${c.check_id}`));

  const hadolint = installed.get('hadolint')!;
  let hadolintKeys: string[] = [];
  if (dockerfiles.length > 0) {
    const hadolintRun = await runRaw(hadolint.command, [...hadolint.baseArgs, '-f', 'json', '--no-fail', '--', ...dockerfiles], tree);
    expect(hadolintRun.code).toBe(0);
    const results = JSON.parse(hadolintRun.stdout) as { file: string; line: number; code: string }[];
    hadolintKeys = results.map((r) => `${strip(r.file)}:${r.line}:${r.code}`);
  }
  return { trivy: trivyKeys.sort(), checkov: checkovKeys.sort(), hadolint: hadolintKeys.sort() };
}

async function stageScan(tree: string, scratch: string, tools: readonly Tool[]): Promise<ScanResult> {
  return runScan(
    {
      stages: [containerStage],
      workspace: tree,
      targets: ['.'],
      exclude: [],
      tools: [...tools],
      policy: POLICY,
      options: {},
      timeoutsMs: {},
      now: new Date('2026-11-26T00:00:00Z'),
      tempDir: path.join(scratch, 'stage')
    },
    { installer, logger: new MemoryLogger() }
  );
}

/** `path:line:rule` per tool, from every finding's `sources`, at the finding's location. */
function stageFindings(result: ScanResult): Record<Tool, string[]> {
  const keys: Record<Tool, string[]> = { trivy: [], checkov: [], hadolint: [] };
  for (const finding of result.findings) {
    for (const source of finding.sources) {
      keys[source.tool as Tool].push(`${finding.location?.path}:${finding.location?.startLine ?? 0}:${source.ruleId}`);
    }
  }
  for (const tool of TOOLS) keys[tool].sort();
  return keys;
}

/** What `a` holds more often than `b` (multiset difference), as `key ×n`. */
function missingFrom(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const key of b) counts.set(key, (counts.get(key) ?? 0) + 1);
  const missing = new Map<string, number>();
  for (const key of a) {
    const left = counts.get(key) ?? 0;
    if (left > 0) counts.set(key, left - 1);
    else missing.set(key, (missing.get(key) ?? 0) + 1);
  }
  return [...missing].map(([key, n]) => `${key} ×${n}`);
}

describe('container stage ↔ raw tools parity on public IaC (trivy, checkov, hadolint)', () => {
  it.each(PROJECTS)(
    '$name: every raw finding is in the stage report, none invented',
    async ({ name, atLeast }) => {
      if (!ready) return;
      const scratch = await mkdtemp(path.join(root, `${name.replace(/@.*/, '')}-`));
      const tree = path.join(scratch, 'tree');
      await cp(path.join(CORPUS, name), tree, { recursive: true, verbatimSymlinks: true });

      const dockerfiles = (await filesNamed(tree, DOCKERFILE)).filter((f) => !f.endsWith('.dockerignore'));
      const raw = await rawFindings(tree, scratch, dockerfiles);
      // hadolint only where there is a Dockerfile: a tool chosen by name with nothing to check is a
      // skipped run (an error), which is the engine's rule and not what this test is about.
      const tools = TOOLS.filter((tool) => tool !== 'hadolint' || dockerfiles.length > 0);
      const result = await stageScan(tree, scratch, tools);
      const stage = stageFindings(result);

      for (const tool of TOOLS) {
        expect(raw[tool].length).toBeGreaterThanOrEqual(atLeast[tool]);
        expect({ tool, lost: missingFrom(raw[tool], stage[tool]) }).toEqual({ tool, lost: [] });
        expect({ tool, invented: missingFrom(stage[tool], raw[tool]) }).toEqual({ tool, invented: [] });
      }
      for (const run of result.tools) {
        expect(run).toMatchObject({ findingCount: raw[run.tool as Tool].length });
        expect(run.verified).toBe(true);
      }
      // Every finding is in the report (report-severity info), on a workspace-relative path.
      expect(result.findings.every((f) => f.reported && f.location !== undefined && !path.isAbsolute(f.location.path))).toBe(true);

      // Helm charts: not given to Checkov on either side; the stage names each as not checked by it.
      const charts = (await filesNamed(tree, /^Chart\.yaml$/)).map((f) => path.posix.dirname(f));
      expect((result.unchecked ?? []).map((u) => `${u.tool}:${u.name}`).sort()).toEqual(charts.map((c) => `checkov:${c}`).sort());
      expect(result.tools.find((t) => t.tool === 'trivy')?.status).toBe('ok');
      expect(result.tools.find((t) => t.tool === 'hadolint')?.status).toBe(dockerfiles.length === 0 ? undefined : 'ok');
      expect(result.tools.find((t) => t.tool === 'checkov')?.status).toBe(charts.length === 0 ? 'ok' : 'failed');
      expect(result.errors.map((e) => e.kind)).toEqual(charts.length === 0 ? [] : ['tool-incomplete']);

      const merged = result.findings.filter((f) => new Set(f.sources.map((s) => s.tool)).size > 1).length;
      process.stdout.write(
        `parity ${name}: raw trivy ${raw.trivy.length}, checkov ${raw.checkov.length}, hadolint ${raw.hadolint.length}; ` +
          `stage ${result.findings.length} findings (${merged} merged across tools), 0 lost, 0 invented; ${charts.length} chart(s) listed as not checked by checkov\n`
      );
    },
    SLOW
  );
});
