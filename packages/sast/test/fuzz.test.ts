/**
 * Fuzz: mutated REAL tool reports never pass, never surface a raw JavaScript error, never crash
 * report building.
 *
 * Start: the six real reports in fixtures/ (bandit, semgrep, gitleaks `dir` and `git`, git-secrets
 * `--scan` and `--scan-history`), each of which correctly FAILS the gate (fail-on: high). Each case
 * applies one seeded mutation (fuzz-mutators.ts: truncation, bit flips, NULs, non-UTF-8 bytes, wrong
 * types, odd numbers, missing keys, array/object swaps, deep nesting, duplicate keys, huge strings;
 * line-level ones for git-secrets' text) and goes through two paths:
 *
 * 1. parse: the real adapter's `parse` (+ `combine`) on the mutated text, with the engine's
 *    exit-code rule (exit "findings" but nothing read is an error). Verdict: error when it throws
 *    a SecgateError, fail when a finding is at or above high, else pass.
 * 2. engine: `runScan` with the real adapter whose `command()` is replaced by a trivial process —
 *    `/bin/sh` that exits with the tool's real exit code for this report and, for git-secrets,
 *    copies the mutated file to stderr; report-file tools get the mutated file as their report
 *    file. Install is a stub returning that shell; `skip()` is dropped (the workspace is
 *    examples/ml-service, read only). Everything else is real: exit meaning, parse, combine,
 *    identify, de-duplication, policy, verdict; then SARIF, JSON report and summary are built.
 *
 * Asserted for every case and path: the verdict is never `pass`; every error is a SecgateError
 * whose message is not a raw JavaScript error (TypeError & co.); building reports does not throw.
 * SECGATE_FUZZ_SEED and SECGATE_FUZZ_CASES override the seed and the count (default 1,500 cases);
 * SECGATE_FUZZ_ENGINE_SHARE the share of cases that also take the engine path (default 0.3, a
 * seeded draw: each engine case spawns a process, and 1,500 of them took ~100 s on a loaded
 * 2-core machine; with 0.3 every case takes the parse path and ~450 the engine path as well).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  SecgateError,
  buildJsonReport,
  buildSarif,
  buildSummary,
  runScan,
  silentLogger,
  type InstallSpec,
  type InstalledTool,
  type ParsedReport,
  type ScanResult,
  type ToolAdapter,
  type ToolContext,
  type ToolInstaller,
  type ToolInvocation
} from '@secgate/core';
import { banditAdapter, gitSecretsAdapter, gitleaksAdapter, semgrepAdapter, sastStage } from '@secgate/sast';
import { REPO_ROOT } from '../../../test/helpers/runner.js';
import { JSON_MUTATORS, TEXT_MUTATORS, mutate, prng, type Random } from './fuzz-mutators.js';

const SEED = Number(process.env['SECGATE_FUZZ_SEED'] ?? 20260601);
const CASES = Number(process.env['SECGATE_FUZZ_CASES'] ?? 1500);
const ENGINE_SHARE = Number(process.env['SECGATE_FUZZ_ENGINE_SHARE'] ?? 0.3);
const FIXTURES = path.join(REPO_ROOT, 'packages', 'sast', 'test', 'fixtures');
const WORKSPACE = path.join(REPO_ROOT, 'examples', 'ml-service');
/** The commit of the history fixtures (fixtures/README.md: fixed author and date). */
const HISTORY_COMMIT = /^([0-9a-f]{40}):/m.exec(readFileSync(path.join(FIXTURES, 'git-secrets-1.3.0.scan-history.txt'), 'utf8'))![1]!;

interface Base {
  name: string;
  adapter: ToolAdapter;
  file: string;
  /** The exit code the real tool had with this report (fixtures/README.md; gitleaks runs with --exit-code 3). */
  exitCode: number;
  invocation: Omit<ToolInvocation, 'args'>;
  json: boolean;
  /** Where the findings array is (a mutation never empties it: that is a real clean report). */
  findingsPath: (string | number)[];
}

const BASES: Base[] = [
  { name: 'bandit', adapter: banditAdapter, file: 'bandit-1.9.4.ml-service.json', exitCode: 1, invocation: {}, json: true, findingsPath: ['results'] },
  { name: 'semgrep', adapter: semgrepAdapter, file: 'semgrep-1.185.0.ml-service.json', exitCode: 0, invocation: {}, json: true, findingsPath: ['results'] },
  { name: 'gitleaks-dir', adapter: gitleaksAdapter, file: 'gitleaks-8.30.0.dir.ml-service.json', exitCode: 3, invocation: { mode: 'tree' }, json: true, findingsPath: [] },
  { name: 'gitleaks-git', adapter: gitleaksAdapter, file: 'gitleaks-8.30.0.git.ml-service.json', exitCode: 3, invocation: { mode: 'history' }, json: true, findingsPath: [] },
  { name: 'git-secrets-scan', adapter: gitSecretsAdapter, file: 'git-secrets-1.3.0.scan.txt', exitCode: 1, invocation: { mode: 'tree', reportFrom: 'stderr' }, json: false, findingsPath: [] },
  {
    name: 'git-secrets-history',
    adapter: gitSecretsAdapter,
    file: 'git-secrets-1.3.0.scan-history.txt',
    exitCode: 1,
    // The fixture repository has one commit (fixtures/README.md): the range and all of history.
    invocation: { mode: 'history', reportFrom: 'stderr', data: { commits: [HISTORY_COMMIT], allCommits: [HISTORY_COMMIT], toplevel: WORKSPACE } },
    json: false,
    findingsPath: []
  }
];

type Verdict = 'pass' | 'fail' | 'error';

type ProblemKind = 'silent pass' | 'raw JS error' | 'runScan threw' | 'report building threw';

interface Problem {
  caseId: string;
  path: 'parse' | 'engine';
  kind: ProblemKind;
  what: string;
}

/** What raw JavaScript errors look like; none may be the explanation a user gets. */
const RAW_JS_ERROR =
  /Cannot read propert|is not a function|is not iterable|Maximum call stack|Unexpected token|Unexpected end of JSON|is not valid JSON|undefined is not|null is not|Invalid array length|Invalid string length|unexpected error:|parser exception|internal error in secgate/;

const context: ToolContext = { workspace: WORKSPACE, targets: ['.'], exclude: [], workDir: os.tmpdir(), options: {}, logger: silentLogger };

function parsePath(base: Base, text: string): { verdict: Verdict; error?: unknown } {
  const invocation: ToolInvocation = { args: [], ...base.invocation };
  try {
    const parsed: ParsedReport = base.adapter.parse(text, context, invocation);
    const combined = base.adapter.combine ? base.adapter.combine([parsed]) : parsed;
    if (base.adapter.exitMeaning(base.exitCode, invocation) === 'findings' && combined.findings.length + (combined.dropped ?? 0) === 0) {
      return { verdict: 'error' };
    }
    return { verdict: combined.findings.some((f) => f.severity === 'high' || f.severity === 'critical') ? 'fail' : 'pass' };
  } catch (error) {
    return { verdict: 'error', error };
  }
}

/** Installs nothing: every tool "is" a shell that exits with the code given as its first argument. */
const shellInstaller = {
  async install(spec: InstallSpec): Promise<InstalledTool> {
    return {
      tool: spec.tool,
      version: 'fuzz',
      command: '/bin/sh',
      baseArgs: ['-c', 'if [ "$1" = stderr ]; then cat "$2" >&2; fi; exit "$0"'],
      dir: '/bin',
      cacheHit: true,
      durationMs: 0,
      verified: true
    };
  }
} as unknown as ToolInstaller;

async function enginePath(base: Base, reportFile: string, tempDir: string): Promise<ScanResult> {
  const invocation: ToolInvocation = {
    ...base.invocation,
    args: [String(base.exitCode), base.invocation.reportFrom === 'stderr' ? 'stderr' : 'file', reportFile],
    ...(base.invocation.reportFrom === 'stderr' ? {} : { reportFile })
  };
  const adapter: ToolAdapter = { ...base.adapter, skip: undefined, command: () => invocation };
  return runScan(
    {
      stages: [{ ...sastStage, adapters: [adapter], defaultTools: [adapter.id] }],
      workspace: WORKSPACE,
      targets: ['.'],
      exclude: [],
      tools: [],
      policy: { failOn: 'high', reportSeverity: 'low', newOnly: 'off', exceptions: [] },
      options: {},
      timeoutsMs: {},
      now: new Date('2026-06-01T00:00:00Z'),
      tempDir
    },
    { installer: shellInstaller, logger: silentLogger }
  );
}

function checkError(error: unknown, problems: Problem[], caseId: string, which: 'parse' | 'engine'): void {
  if (!(error instanceof SecgateError)) {
    problems.push({ caseId, path: which, kind: 'raw JS error', what: `not a SecgateError: ${String((error as Error)?.name)}: ${String((error as Error)?.message).slice(0, 200)}` });
  } else if (RAW_JS_ERROR.test(error.message)) {
    problems.push({ caseId, path: which, kind: 'raw JS error', what: `raw JavaScript error text: ${error.message.slice(0, 300)}` });
  }
}

describe(`fuzz: mutated real reports (seed ${SEED}, ${CASES} cases)`, () => {
  let tempRoot: string;
  beforeAll(async () => {
    tempRoot = await mkdtemp(path.join(os.tmpdir(), 'secgate-fuzz-'));
  });
  afterAll(async () => {
    await rm(tempRoot, { recursive: true, force: true });
  });

  it('the unmutated reports fail the gate on both paths (the premise of every case)', async () => {
    for (const base of BASES) {
      const original = readFileSync(path.join(FIXTURES, base.file));
      expect([base.name, parsePath(base, original.toString('utf8')).verdict]).toEqual([base.name, 'fail']);
      const file = path.join(tempRoot, `original-${base.name}`);
      await writeFile(file, original);
      const result = await enginePath(base, file, path.join(tempRoot, `original-${base.name}-scan`));
      expect([base.name, result.verdict, result.errors.map((e) => e.message)]).toEqual([base.name, 'fail', []]);
      expect(result.blocking.length).toBeGreaterThan(0);
    }
  });

  it('no mutated report passes, none surfaces a raw JavaScript error, none breaks report building', async () => {
    const random: Random = prng(SEED);
    const originals = BASES.map((base) => readFileSync(path.join(FIXTURES, base.file)));
    const problems: Problem[] = [];
    const tally = new Map<string, { cases: number; parse: Record<Verdict, number>; engine: Record<Verdict, number> }>();
    const kinds = new Map<string, number>();
    const started = Date.now();
    const cases = Array.from({ length: CASES }, (_, index) => {
      const which = index % BASES.length;
      const base = BASES[which]!;
      const mutation = mutate(originals[which]!, random, base.json ? JSON_MUTATORS : TEXT_MUTATORS, base.findingsPath);
      const viaEngine = random() < ENGINE_SHARE;
      return { caseId: `#${index} ${base.name} ${mutation.kind}`, base, mutation, viaEngine, index };
    });

    const runCase = async (c: (typeof cases)[number]): Promise<void> => {
      const entry = tally.get(c.base.name) ?? { cases: 0, parse: { pass: 0, fail: 0, error: 0 }, engine: { pass: 0, fail: 0, error: 0 } };
      tally.set(c.base.name, entry);
      entry.cases++;
      kinds.set(c.mutation.kind, (kinds.get(c.mutation.kind) ?? 0) + 1);
      // What the engine reads: the file decoded as UTF-8 (report file) or stderr decoded the same way.
      const parsed = parsePath(c.base, c.mutation.bytes.toString('utf8'));
      entry.parse[parsed.verdict]++;
      if (parsed.verdict === 'pass') problems.push({ caseId: c.caseId, path: 'parse', kind: 'silent pass', what: 'verdict pass' });
      if (parsed.error !== undefined) checkError(parsed.error, problems, c.caseId, 'parse');
      if (!c.viaEngine) return;
      const file = path.join(tempRoot, `case-${c.index}`);
      await writeFile(file, c.mutation.bytes);
      let result: ScanResult;
      try {
        result = await enginePath(c.base, file, path.join(tempRoot, `scan-${c.index}`));
      } catch (error) {
        problems.push({ caseId: c.caseId, path: 'engine', kind: 'runScan threw', what: `runScan threw ${String(error).slice(0, 200)}` });
        return;
      } finally {
        await rm(file, { force: true });
      }
      entry.engine[result.verdict]++;
      if (result.verdict === 'pass') problems.push({ caseId: c.caseId, path: 'engine', kind: 'silent pass', what: 'verdict pass' });
      for (const error of result.errors) checkError(error, problems, c.caseId, 'engine');
      try {
        buildSarif(result);
        buildJsonReport(result);
        buildSummary(result);
      } catch (error) {
        problems.push({ caseId: c.caseId, path: 'engine', kind: 'report building threw', what: `report building threw ${String(error).slice(0, 200)}` });
      }
    };

    // A few cases at a time: each engine case spawns one short process.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) await runCase(cases[next++]!);
      })
    );

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const perTool = [...tally].map(([name, t]) => `${name} ${t.cases} (parse ${t.parse.error} error/${t.parse.fail} fail/${t.parse.pass} pass; engine ${t.engine.error}/${t.engine.fail}/${t.engine.pass})`);
    const engineCases = [...tally.values()].reduce((sum, t) => sum + t.engine.error + t.engine.fail + t.engine.pass, 0);
    const byKind = new Map<string, number>();
    for (const p of problems) byKind.set(`${p.kind} (${p.path})`, (byKind.get(`${p.kind} (${p.path})`) ?? 0) + 1);
    const kindText = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    process.stdout.write(
      `fuzz seed ${SEED}: ${cases.length} cases, ${engineCases} also through the engine, ${seconds} s; ${problems.length} problem(s): ${kindText}\n` +
        `  per tool: ${perTool.join('; ')}\n  mutations: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}\n`
    );
    if (problems.length > 0) {
      process.stdout.write(`fuzz seed ${SEED} problems (rerun with SECGATE_FUZZ_SEED=${SEED}):\n${problems.slice(0, 40).map((p) => `  ${p.caseId} [${p.path}] ${p.what}`).join('\n')}\n`);
    }
    expect(cases.length).toBeGreaterThanOrEqual(Math.min(CASES, 1000));
    expect({ seed: SEED, problems: problems.slice(0, 20) }).toEqual({ seed: SEED, problems: [] });
  }, 300_000);
});
