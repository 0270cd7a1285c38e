#!/usr/bin/env bash
# Benchmark 4: 30,000 bandit + 30,000 semgrep results on ONE line through the real parsers and the
# engine's findings path, and a tenth of that for the scaling (targets: near-linear — 10× the
# results cost ≤ 15× the time — and ≤ 10 s in all).   bash bench/same-line.sh [results-dir]
# (BENCH_SAME_LINE_COUNT=30000). The results repeat real ones from packages/sast/test/fixtures.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
results="${1:-$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"
cd "$REPO_ROOT"
count="${BENCH_SAME_LINE_COUNT:-30000}"
out=$(mktemp -d "${TMPDIR:-/tmp}/secgate-bench-same-line-XXXXXX")
trap 'rm -rf "$out"' EXIT
npx ncc build bench/same-line-bench.ts -o "$out/bundle" --quiet >&2
fixtures="$REPO_ROOT/packages/sast/test/fixtures"
"$NODE24" "$out/bundle/index.js" "$fixtures" "$out/small" "$((count / 10))" >"$results/same-line-small.json"
"$NODE24" "$out/bundle/index.js" "$fixtures" "$out/full" "$count" >"$results/same-line.json"
"$NODE24" -e '
  const fs = require("fs");
  const small = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const r = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const right = (x) => x.pairedBanditSemgrep === x.resultsPerTool && x.findingsAfterMerge === x.resultsPerTool;
  const growth = r.totalMs / Math.max(1, small.totalMs);
  console.log(`== 4. same line: ${r.resultsPerTool} bandit + ${r.resultsPerTool} semgrep results on one ${r.lineKB} KB line (node ${r.node}) ==`);
  console.log(`  wall ${(r.totalMs / 1000).toFixed(2)} s   target <= 10 s (idle machine): ${r.totalMs <= 10000 ? "met" : "MISSED"}`);
  console.log(`  ${small.resultsPerTool} per tool: ${(small.totalMs / 1000).toFixed(2)} s; 10x the results cost ${growth.toFixed(1)}x the time   target <= 15x: ${growth <= 15 ? "met" : "MISSED"}`);
  console.log(`  merged: ${r.findingsAfterMerge} findings, ${r.pairedBanditSemgrep} bandit+semgrep pairs ${right(r) && right(small) ? "(right)" : "(WRONG)"}`);
  console.log("  phases (ms): " + Object.entries(r.phasesMs).map(([k, v]) => `${k} ${v}`).join(", "));
  console.log(`  peak RSS ${r.peakRssMB} MB; outputs: SARIF ${r.outputs.sarifMB} MB (${r.outputs.sarifResults} results), summary ${r.outputs.summaryKB} KB, JSON report ${r.outputs.jsonMB} MB`);
  if (!right(r) || !right(small)) process.exitCode = 1;' \
  "$results/same-line-small.json" "$results/same-line.json" | tee "$results/same-line.txt"
