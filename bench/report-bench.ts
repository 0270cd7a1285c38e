/**
 * Benchmark 3: parse + report for a ~100 MB Semgrep JSON report, in one process (targets: ≤ 2 s
 * wall, peak RSS ≤ 2× the report size). Bundled with ncc and run on Node 24 by bench/report.sh.
 *
 *   node report-bench.js gen <real-semgrep.json> <out.json> <megabytes>
 *     Replicates the results of a REAL semgrep --json run (examples/ml-service) with varied paths
 *     and lines until the file reaches the size; every other key keeps the real shape.
 *   node report-bench.js run <report.json> <workspace>
 *     readFile → parseSemgrepReport → identify (fingerprints; snippets from <workspace>, which the
 *     bench points at a folder without the files, so each file costs one failed open) →
 *     mergeDuplicates + hideSecretLines → evaluate → rank → buildSarif → buildSummary →
 *     buildJsonReport. Prints one JSON object: per-phase ms, sizes, peak RSS.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
import { parseSemgrepReport, sastStage } from '@secgate/sast';

interface Match {
  path: string;
  start: { line: number; col: number; offset: number };
  end: { line: number; col: number; offset: number };
  [key: string]: unknown;
}

function generate(realFile: string, outFile: string, megabytes: number): void {
  const real = JSON.parse(readFileSync(realFile, 'utf8')) as { results: Match[]; paths?: { scanned?: string[] }; [key: string]: unknown };
  if (real.results.length === 0) throw new Error(`${realFile} has no results to replicate`);
  const target = megabytes * 1024 * 1024;
  const perResult = Buffer.byteLength(JSON.stringify(real.results)) / real.results.length;
  const count = Math.ceil(target / (perResult + 60)); // + the scanned path each file adds
  const perFile = 10; // ~10 findings per file, like a noisy real tree
  const results: Match[] = [];
  const files = new Set<string>();
  for (let i = 0; i < count; i++) {
    const base = real.results[i % real.results.length]!;
    const file = `services/svc_${Math.floor(i / (perFile * 50))}/pkg_${Math.floor(i / perFile) % 50}/${base.path.split('/').pop()!.replace(/\.py$/, '')}_${Math.floor(i / perFile)}.py`;
    files.add(file);
    const shift = (i * 37) % 900;
    results.push({
      ...base,
      path: file,
      start: { ...base.start, line: base.start.line + shift, offset: base.start.offset + shift * 40 },
      end: { ...base.end, line: base.end.line + shift, offset: base.end.offset + shift * 40 }
    });
  }
  const out = { ...real, results, paths: { ...(real.paths ?? {}), scanned: [...files] } };
  writeFileSync(outFile, JSON.stringify(out));
  console.error(`wrote ${outFile}: ${results.length} results in ${files.size} files, ${(statSync(outFile).size / 1e6).toFixed(1)} MB`);
}

async function run(reportFile: string, workspace: string): Promise<void> {
  const phases: Record<string, number> = {};
  const rssAfter: Record<string, number> = {};
  let t = performance.now();
  const mark = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round((now - t) * 10) / 10;
    rssAfter[name] = Math.round(process.memoryUsage.rss() / 1e6);
    t = now;
  };
  const baselineRssMB = Math.round(process.memoryUsage.rss() / 1e6);
  const started = performance.now();

  const text = await readFile(reportFile, 'utf8');
  mark('read');
  const parsed = parseSemgrepReport(text);
  mark('parse');
  const identified = await identify(parsed.findings, new SourceCache(workspace));
  mark('identify');
  const merged = hideSecretLines(mergeDuplicates(identified, sastStage.equivalentRules));
  mark('merge');
  const policy: EffectivePolicy = {
    failOn: 'high',
    reportSeverity: 'low',
    newOnly: 'off',
    // A small, realistic ledger: one path-scoped rule exception, one fingerprint exception.
    exceptions: [
      { rule: 'secgate.ml.pickle-deserialization', paths: ['services/svc_1/**'], reason: 'bench', owner: '@bench', expires: '2099-12-31' },
      { fingerprint: '0'.repeat(32), reason: 'bench', owner: '@bench', expires: '2099-12-31' }
    ]
  };
  const { findings, ledger } = evaluate(merged, policy, { now: new Date() });
  mark('evaluate');
  findings.sort(rankFindings);
  mark('rank');
  const run: ToolRun = {
    stage: 'sast', tool: 'semgrep', displayName: 'Semgrep', version: '1.185.0', status: 'ok',
    findingCount: findings.length, warnings: parsed.warnings, installMs: 0, runMs: 0, cacheHit: true, verified: true
  };
  const result: ScanResult = {
    stages: ['sast'], workspace, tools: [run], findings, blocking: blockingFindings(findings, policy),
    ledger, policy, verdict: 'fail', errors: [], durationMs: 0
  };
  const sarif = buildSarif(result);
  mark('sarif');
  const summary = buildSummary(result, { sarifFile: 'results.sarif', reportFile: 'report.json' });
  mark('summary');
  const json = buildJsonReport(result);
  mark('json');

  const totalMs = performance.now() - started;
  const reportBytes = statSync(reportFile).size;
  const maxRssKB = process.resourceUsage().maxRSS;
  process.stdout.write(
    JSON.stringify(
      {
        node: process.version,
        reportMB: +(reportBytes / 1e6).toFixed(1),
        results: parsed.findings.length,
        files: new Set(parsed.findings.map((f) => f.location?.path)).size,
        totalMs: Math.round(totalMs),
        totalWithoutReadMs: Math.round(totalMs - phases['read']!),
        phasesMs: phases,
        rssAfterPhaseMB: rssAfter,
        baselineRssMB,
        peakRssMB: Math.round(maxRssKB / 1024),
        peakRssOverReport: +((maxRssKB * 1024) / reportBytes).toFixed(2),
        outputs: {
          sarifMB: +(sarif.text.length / 1e6).toFixed(1),
          sarifResults: sarif.log.runs.reduce((n, r) => n + (r.results?.length ?? 0), 0),
          sarifDropped: sarif.dropped,
          summaryKB: Math.round(Buffer.byteLength(summary) / 1024),
          jsonMB: +(json.length / 1e6).toFixed(1)
        }
      },
      null,
      2
    ) + '\n'
  );
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'gen' && a && b) generate(a, b, Number(c ?? 100));
else if (mode === 'run' && a && b) await run(a, b);
else {
  console.error('usage: report-bench gen <real.json> <out.json> [MB] | run <report.json> <workspace>');
  process.exitCode = 2;
}
