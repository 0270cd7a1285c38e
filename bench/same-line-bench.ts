/**
 * Benchmark 4: 30,000 bandit results and 30,000 semgrep results on ONE line, through the real
 * parsers and the engine's findings path. Bundled with ncc and run on Node 24 by bench/same-line.sh.
 *
 *   node same-line-bench.js <fixtures-dir> <work-dir> [count]
 *
 * The reports repeat REAL results: bandit 1.9.4's B506 and semgrep 1.185.0's
 * `secgate.ml.yaml-unsafe-load` on `examples/ml-service/model_loader.py:20` (from
 * packages/sast/test/fixtures), moved onto line 2 of a generated `big.py` whose line 2 is the very
 * statement repeated <count> times (`yaml.load(fh, Loader=yaml.Loader); …`, ~1 MB), each result at
 * its statement's real column and offset. Running the tools themselves on that file is not
 * feasible: bandit 1.9.4 puts the whole ~1 MB line into each result's `code` and was killed
 * (out of memory) after 8 minutes on this file. The phases timed: parse (both reports) → identify (fingerprints and
 * snippets from the real file) → hideSecretLines → mergeDuplicates (the sast stage's equivalences)
 * → evaluate → rank → buildSarif → buildSummary → buildJsonReport.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  SourceCache,
  blockingFindings,
  buildJsonReport,
  buildSarif,
  buildSummary,
  evaluate,
  hideSecretLines,
  identify,
  mergeDuplicates,
  rankFindings,
  type EffectivePolicy,
  type ScanResult,
  type ToolRun
} from '@secgate/core';
import { parseBanditReport, parseSemgrepReport, sastStage } from '@secgate/sast';

interface Position {
  line: number;
  col: number;
  offset: number;
}

const STATEMENT = 'yaml.load(fh, Loader=yaml.Loader); ';
const LINE = 2;

function generate(fixturesDir: string, workDir: string, count: number): { bandit: string; semgrep: string; lineBytes: number } {
  const banditReal = JSON.parse(readFileSync(path.join(fixturesDir, 'bandit-1.9.4.ml-service.json'), 'utf8')) as Record<string, unknown> & {
    results: Record<string, unknown>[];
  };
  const semgrepReal = JSON.parse(readFileSync(path.join(fixturesDir, 'semgrep-1.185.0.ml-service.json'), 'utf8')) as Record<string, unknown> & {
    results: { check_id: string; start: Position; end: Position; [key: string]: unknown }[];
  };
  const banditBase = banditReal.results.find((r) => r['test_id'] === 'B506');
  const semgrepBase = semgrepReal.results.find((r) => r.check_id.endsWith('secgate.ml.yaml-unsafe-load'));
  if (!banditBase || !semgrepBase) throw new Error(`${fixturesDir}: no real B506 / yaml-unsafe-load result to repeat`);
  const callLength = STATEMENT.indexOf(';'); // `yaml.load(…)` without the separator
  const header = 'import yaml\n';
  const line = STATEMENT.repeat(count);
  mkdirSync(path.join(workDir, 'workspace'), { recursive: true });
  writeFileSync(path.join(workDir, 'workspace', 'big.py'), `${header}${line}\n`);
  const bandit = {
    ...banditReal,
    results: Array.from({ length: count }, (_, i) => ({
      ...banditBase,
      filename: './big.py',
      line_number: LINE,
      line_range: [LINE],
      col_offset: i * STATEMENT.length,
      end_col_offset: i * STATEMENT.length + callLength,
      // bandit prints the line here; the real (short) excerpt keeps the report at a sane size.
      code: `${LINE} ${STATEMENT.trim()}\n`
    })),
    errors: []
  };
  const semgrep = {
    ...semgrepReal,
    results: Array.from({ length: count }, (_, i) => {
      const col = 1 + i * STATEMENT.length;
      const offset = header.length + i * STATEMENT.length;
      return {
        ...semgrepBase,
        path: 'big.py',
        start: { line: LINE, col, offset },
        end: { line: LINE, col: col + callLength, offset: offset + callLength }
      };
    }),
    errors: [],
    paths: { scanned: ['big.py'] }
  };
  return { bandit: JSON.stringify(bandit), semgrep: JSON.stringify(semgrep), lineBytes: line.length };
}

async function run(fixturesDir: string, workDir: string, count: number): Promise<void> {
  const reports = generate(fixturesDir, workDir, count);
  const workspace = path.join(workDir, 'workspace');
  const phases: Record<string, number> = {};
  let t = performance.now();
  const mark = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  const started = performance.now();
  const bandit = parseBanditReport(reports.bandit);
  const semgrep = parseSemgrepReport(reports.semgrep);
  // As the engine's normaliseLocation does: workspace-relative paths without `./`.
  const raws = [...bandit.findings, ...semgrep.findings].map((f) => ({ ...f, location: f.location && { ...f.location, path: path.posix.normalize(f.location.path) } }));
  mark('parse');
  const sources = new SourceCache(workspace);
  const identified = await identify(raws, sources);
  mark('identify');
  // The engine's order: secret lines are hidden first, then equivalent reports merge.
  const hidden = hideSecretLines(identified, sources);
  mark('hideSecretLines');
  const merged = mergeDuplicates(hidden, sastStage.equivalentRules);
  mark('merge');
  const policy: EffectivePolicy = {
    failOn: 'high',
    reportSeverity: 'low',
    newOnly: 'off',
    exceptions: [{ rule: 'bandit:B506', paths: ['other/**'], reason: 'bench', owner: '@bench', expires: '2099-12-31' }]
  };
  const { findings, ledger } = evaluate(merged, policy, { now: new Date() });
  mark('evaluate');
  findings.sort(rankFindings);
  mark('rank');
  const tools: ToolRun[] = (['bandit', 'semgrep'] as const).map((tool) => ({
    stage: 'sast', tool, displayName: tool, version: tool === 'bandit' ? '1.9.4' : '1.185.0', status: 'ok',
    findingCount: count, warnings: [], installMs: 0, runMs: 0, cacheHit: true, verified: true
  }));
  const result: ScanResult = {
    stages: ['sast'], workspace, tools, findings, blocking: blockingFindings(findings, policy),
    ledger, policy, verdict: 'fail', errors: [], durationMs: 0
  };
  const sarif = buildSarif(result);
  mark('sarif');
  const summary = buildSummary(result, { sarifFile: 'results.sarif', reportFile: 'report.json' });
  mark('summary');
  const json = buildJsonReport(result);
  mark('json');
  const totalMs = performance.now() - started;
  // Correctness, not only speed: every bandit result pairs with the semgrep result at its column.
  const paired = findings.filter((f) => f.sources.length === 2 && f.sources.some((s) => s.tool === 'bandit')).length;
  process.stdout.write(
    JSON.stringify(
      {
        node: process.version,
        resultsPerTool: count,
        lineKB: Math.round(reports.lineBytes / 1024),
        findingsAfterMerge: findings.length,
        pairedBanditSemgrep: paired,
        totalMs: Math.round(totalMs),
        phasesMs: phases,
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        outputs: {
          sarifMB: +(sarif.text.length / 1e6).toFixed(1),
          sarifResults: sarif.log.runs.reduce((n, r) => n + (r.results?.length ?? 0), 0),
          summaryKB: Math.round(Buffer.byteLength(summary) / 1024),
          jsonMB: +(json.length / 1e6).toFixed(1)
        }
      },
      null,
      2
    ) + '\n'
  );
}

const [fixturesDir, workDir, count] = process.argv.slice(2);
if (fixturesDir && workDir) await run(fixturesDir, workDir, Number(count ?? 30_000));
else {
  console.error('usage: same-line-bench <fixtures-dir> <work-dir> [count]');
  process.exitCode = 2;
}
