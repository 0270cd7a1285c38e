/**
 * Recall and precision on published AI/ML vulnerabilities (packages/sast/test/ml-corpus/corpus.json).
 *
 * The vulnerable and fixed PyPI releases are fetched by scripts/corpus/fetch-ml-corpus.sh into a
 * cache outside the clone (SHA-256 pinned in the manifest); only the affected files are extracted
 * into a temporary tree and scanned once by the sast stage (bandit + semgrep through runScan, the
 * real tools from the shared test tool cache). Scoring, per advisory:
 * - vulnerable: every listed sink function carries a finding >= high (what the default
 *   `fail-on: high` blocks on);
 * - fixed: the same file+function at the fixed release carries no finding >= medium (a function
 *   the fix removed is checked to be gone from the archive).
 * Every other finding >= high on the fixed files is counted per package and printed: the
 * false-positive figure recorded in rules/ml/README.md.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryLogger,
  ToolInstaller,
  errorMessage,
  isAtLeast,
  runScan,
  type EvaluatedFinding,
  type ScanResult
} from '@secgate/core';
import { banditAdapter, sastStage, semgrepAdapter } from '@secgate/sast';
import { runRaw, withCacheLock } from '../../../test/helpers/tool-processes.js';
import { REPO_ROOT, SHARED_TOOL_CACHE, requireTool } from '../../../test/helpers/runner.js';

const MANIFEST = path.join(REPO_ROOT, 'packages', 'sast', 'test', 'ml-corpus', 'corpus.json');
const FETCH = path.join(REPO_ROOT, 'scripts', 'corpus', 'fetch-ml-corpus.sh');
const SLOW = 15 * 60_000;

interface Release {
  version: string;
  archive: string;
  sha256: string;
  removed?: boolean;
  note?: string;
}

interface Advisory {
  id: string;
  advisories: string[];
  package: string;
  summary: string;
  vulnerable: Release;
  fixed: Release | null;
  /** Why the fixed side is not scored (fix is an opt-in gate, or no release changes the code). */
  fixedNote?: string;
  sinks: { file: string; function: string }[];
}

type Side = 'vulnerable' | 'fixed';

/** What the extraction helper reports for one file: absent from the archive, or its function spans. */
type FileFacts = { absent: true } | { absent: false; functions: Record<string, [number, number]> };

/**
 * Extracts members of wheels (zip files) and maps every function's qualified name
 * (`Class.method`, `outer.inner`) to its line span, with Python's own parser.
 */
const EXTRACT_PY = `
import ast, json, sys, zipfile
jobs = json.load(open(sys.argv[1]))
out = {}
for job in jobs:
    key = job["dest"]
    with zipfile.ZipFile(job["archive"]) as zf:
        if job["member"] not in zf.namelist():
            out[key] = {"absent": True}
            continue
        data = zf.read(job["member"])
    with open(job["dest"], "wb") as fh:
        fh.write(data)
    spans = {}
    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    spans[name] = [child.lineno, child.end_lineno]
                walk(child, name + ".")
    walk(ast.parse(data), "")
    out[key] = {"absent": False, "functions": spans}
json.dump(out, sys.stdout)
`;

let root: string;
let tree: string;
let manifest: { advisories: Advisory[] };
let facts: Record<string, FileFacts> = {};
let result: ScanResult | undefined;
let coldFetchMs = 0;
let scanMs = 0;
const savedEnv = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] };

/** Where one sink file of one side lives in the scanned tree (relative to it). */
const relPath = (advisory: Advisory, side: Side, file: string): string => path.posix.join(advisory.id, side, file);

beforeAll(async () => {
  manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as { advisories: Advisory[] };
  root = await mkdtemp(path.join(os.tmpdir(), 'secgate-ml-corpus-'));
  tree = path.join(root, 'tree');
  await mkdir(path.join(root, 'runner-temp'), { recursive: true });
  process.env['RUNNER_TOOL_CACHE'] = SHARED_TOOL_CACHE;
  process.env['RUNNER_TEMP'] = path.join(root, 'runner-temp');

  const started = Date.now();
  const fetched = await runRaw('bash', [FETCH, MANIFEST], REPO_ROOT);
  coldFetchMs = Date.now() - started;
  if (fetched.code !== 0) {
    requireTool(false, `the ML corpus could not be fetched from PyPI: ${fetched.stderr.slice(-500)}`);
    return;
  }
  const cache = fetched.stdout.trim().split('\n').pop()!;

  const jobs: { archive: string; member: string; dest: string }[] = [];
  for (const advisory of manifest.advisories) {
    for (const side of ['vulnerable', 'fixed'] as const) {
      const release = advisory[side];
      if (!release) continue;
      for (const file of new Set(advisory.sinks.map((s) => s.file))) {
        const dest = path.join(tree, relPath(advisory, side, file));
        await mkdir(path.dirname(dest), { recursive: true });
        jobs.push({ archive: path.join(cache, release.archive), member: file, dest });
      }
    }
  }
  await writeFile(path.join(root, 'jobs.json'), JSON.stringify(jobs));
  const extracted = await runRaw('python3', ['-c', EXTRACT_PY, path.join(root, 'jobs.json')], root);
  expect([extracted.code, extracted.stderr]).toEqual([0, '']);
  const byDest = JSON.parse(extracted.stdout) as Record<string, FileFacts>;
  facts = Object.fromEntries(Object.entries(byDest).map(([dest, f]) => [path.relative(tree, dest).split(path.sep).join('/'), f]));

  const installer = new ToolInstaller({ logger: new MemoryLogger() });
  try {
    await withCacheLock(SHARED_TOOL_CACHE, SLOW, async () => {
      await installer.install(banditAdapter.install);
      await installer.install(semgrepAdapter.install);
    });
  } catch (error) {
    requireTool(false, `bandit/semgrep (install failed: ${errorMessage(error)})`);
    return;
  }
  const scanStarted = Date.now();
  result = await runScan(
    {
      stages: [sastStage],
      workspace: tree,
      targets: ['.'],
      exclude: [],
      tools: ['bandit', 'semgrep'],
      policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
      options: {},
      timeoutsMs: {},
      now: new Date('2026-01-15T00:00:00Z'),
      tempDir: path.join(root, 'runner-temp')
    },
    { installer, logger: new MemoryLogger() }
  );
  scanMs = Date.now() - scanStarted;
}, SLOW);

afterAll(async () => {
  for (const [name, value] of [['RUNNER_TOOL_CACHE', savedEnv.cache], ['RUNNER_TEMP', savedEnv.temp]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (root) await rm(root, { recursive: true, force: true });
});

const findingPath = (f: EvaluatedFinding): string => (f.location?.path ?? '').replace(/^\.\//, '');

/** Findings of the scan inside one function of one extracted file. */
function findingsIn(file: string, fn: string): EvaluatedFinding[] {
  const known = facts[file];
  if (!known || known.absent) return [];
  const span = known.functions[fn];
  if (!span) return [];
  return result!.findings.filter((f) => findingPath(f) === file && (f.location?.startLine ?? 0) >= span[0] && (f.location?.startLine ?? 0) <= span[1]);
}

const label = (f: EvaluatedFinding): string => `${f.severity} ${f.sources.map((s) => s.ruleId.slice(s.ruleId.indexOf('secgate.ml.') >= 0 ? s.ruleId.indexOf('secgate.ml.') : 0)).join('+')}@${f.location?.startLine}`;

describe('the sast stage on published AI/ML vulnerabilities', () => {
  it('fetched every archive with its pinned SHA-256 and ran bandit and semgrep cleanly', () => {
    if (!result) return;
    expect(manifest.advisories.length).toBeGreaterThanOrEqual(9);
    for (const tool of result.tools) expect([tool.tool, tool.status, tool.error?.message]).toEqual([tool.tool, 'ok', undefined]);
    expect(result.tools.map((t) => t.tool).sort()).toEqual(['bandit', 'semgrep']);
  });

  it('blocks >= 95 % of the vulnerable sinks at high and flags none of the fixed ones at medium or above', () => {
    if (!result) return;
    const rows: string[] = [];
    let sinks = 0;
    let blocked = 0;
    let fixedScored = 0;
    let advisoriesBlocked = 0;
    const fixedFlagged: string[] = [];
    for (const advisory of manifest.advisories) {
      let allBlocked = true;
      for (const sink of advisory.sinks) {
        sinks++;
        const vulnFile = relPath(advisory, 'vulnerable', sink.file);
        const vulnFacts = facts[vulnFile];
        // The manifest must name a function that exists at the vulnerable release.
        expect([vulnFile, sink.function, vulnFacts && !vulnFacts.absent && sink.function in vulnFacts.functions]).toEqual([vulnFile, sink.function, true]);
        const atVuln = findingsIn(vulnFile, sink.function);
        const high = atVuln.filter((f) => isAtLeast(f.severity, 'high'));
        if (high.length > 0) blocked++;
        else allBlocked = false;

        let fixedCell = 'not scored (see fixedNote in corpus.json)';
        if (!advisory.fixed) expect([advisory.id, typeof advisory.fixedNote]).toEqual([advisory.id, 'string']);
        if (advisory.fixed) {
          fixedScored++;
          const fixedFile = relPath(advisory, 'fixed', sink.file);
          const fixedFacts = facts[fixedFile];
          const gone = !fixedFacts || fixedFacts.absent || !(sink.function in fixedFacts.functions);
          if (advisory.fixed.removed) expect([fixedFile, gone]).toEqual([fixedFile, true]);
          const atFixed = findingsIn(fixedFile, sink.function).filter((f) => isAtLeast(f.severity, 'medium'));
          if (atFixed.length > 0) fixedFlagged.push(`${advisory.id} ${sink.function}: ${atFixed.map(label).join(', ')}`);
          fixedCell = gone ? 'sink removed' : atFixed.length === 0 ? 'clean' : atFixed.map(label).join(', ');
        }
        rows.push(
          `| ${advisory.advisories.join(', ')} | ${advisory.package} ${advisory.vulnerable.version} → ${advisory.fixed?.version ?? '—'} | ` +
            `${sink.file} \`${sink.function}\` | ${high.length > 0 ? 'blocked' : 'MISSED'}: ${(high.length > 0 ? high : atVuln).map(label).join(', ') || 'no finding'} | ${fixedCell} |`
        );
      }
      if (allBlocked) advisoriesBlocked++;
    }

    // Every OTHER finding >= high on the fixed release files, per package: the false-positive figure.
    const others = new Map<string, string[]>();
    for (const advisory of manifest.advisories) {
      if (!advisory.fixed) continue;
      for (const file of new Set(advisory.sinks.map((s) => s.file))) {
        const fixedFile = relPath(advisory, 'fixed', file);
        const sinkFns = advisory.sinks.filter((s) => s.file === file).map((s) => s.function);
        for (const f of result.findings.filter((x) => findingPath(x) === fixedFile && isAtLeast(x.severity, 'high'))) {
          if (sinkFns.some((fn) => findingsIn(fixedFile, fn).includes(f))) continue;
          const key = `${advisory.package} ${advisory.fixed.version}`;
          others.set(key, [...(others.get(key) ?? []), `${file}:${label(f)}`]);
        }
      }
    }
    const recall = blocked / sinks;
    console.log(
      [
        `ML corpus: ${manifest.advisories.length} advisories (${advisoriesBlocked} fully blocked), ${sinks} sink functions; blocked at high: ${blocked}/${sinks} (${(recall * 100).toFixed(1)} %); ` +
          `fixed sinks scored: ${fixedScored}, flagged >= medium: ${fixedFlagged.length}; fetch ${coldFetchMs} ms, scan ${scanMs} ms`,
        '| advisory | release → fix | sink | vulnerable (>= high) | fixed (>= medium) |',
        '|---|---|---|---|---|',
        ...rows,
        `Other findings >= high on the fixed files: ${others.size === 0 ? 'none' : ''}`,
        ...[...others].map(([pkg, list]) => `- ${pkg}: ${list.length} (${list.join('; ')})`)
      ].join('\n')
    );
    expect(fixedFlagged).toEqual([]);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });
});
