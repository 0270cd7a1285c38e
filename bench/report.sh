#!/usr/bin/env bash
# Benchmark 3: parse + report of a ~100 MB Semgrep JSON report in one process (targets ≤ 2 s,
# peak RSS ≤ 2× report size).   bash bench/report.sh [results-dir]   (BENCH_REPORT_MB=100)
# The report is made from a REAL semgrep --json run on examples/ml-service (the installed
# semgrep 1.185.0 with rules/ml), its results replicated with varied paths and lines.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
results="${1:-$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results" "$BENCH_CACHE"
cd "$REPO_ROOT"
mb="${BENCH_REPORT_MB:-100}"
out=$(mktemp -d "${TMPDIR:-/tmp}/secgate-bench-report-XXXXXX")
trap 'rm -rf "$out"' EXIT
npx ncc build bench/report-bench.ts -o "$out/bundle" --quiet >&2

real="$BENCH_CACHE/semgrep-ml-service.json"
if [ ! -s "$real" ]; then
  log "real semgrep run on examples/ml-service"
  sg="$(SEMGREP_DIR)"
  [ -x "$sg/bin/semgrep" ] || { echo "semgrep not in the tool cache ($sg): run bench/stage-vs-raw.sh or npm run demo first" >&2; exit 2; }
  (cd examples/ml-service && SEMGREP_SEND_METRICS=off SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SETTINGS_FILE="$out/settings.yml" \
    "$sg/bin/python" "$sg/bin/semgrep" scan --config "$REPO_ROOT/rules/ml" --json --output "$real.tmp" --metrics=off \
    --disable-version-check --no-rewrite-rule-ids --quiet .)
  mv "$real.tmp" "$real"
fi
big="$BENCH_CACHE/semgrep-${mb}mb.json"
[ -s "$big" ] || "$NODE24" "$out/bundle/index.js" gen "$real" "$big" "$mb"
# The workspace does not hold the generated files: snippet reads fail fast (one open per file).
"$NODE24" "$out/bundle/index.js" run "$big" "$out/no-such-workspace" >"$results/report.json"
"$NODE24" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const rss = r.peakRssOverReport <= 2 ? "met" : `MISSED (${r.peakRssOverReport}x)`;
  const wall = r.totalMs <= 2000 ? "met" : `MISSED by ${((r.totalMs - 2000) / 1000).toFixed(2)} s (${(r.totalMs / 2000).toFixed(1)}x)`;
  console.log(`== 3. parse + report, ${r.reportMB} MB semgrep JSON, ${r.results} results in ${r.files} files (node ${r.node}) ==`);
  console.log(`  wall ${(r.totalMs / 1000).toFixed(2)} s incl. read (${(r.totalWithoutReadMs / 1000).toFixed(2)} s without)   target <= 2 s: ${wall}`);
  console.log(`  peak RSS ${r.peakRssMB} MB = ${r.peakRssOverReport}x report (baseline ${r.baselineRssMB} MB)   target <= 2x: ${rss}`);
  console.log("  phases (ms): " + Object.entries(r.phasesMs).map(([k, v]) => `${k} ${v}`).join(", "));
  console.log("  RSS after phase (MB): " + Object.entries(r.rssAfterPhaseMB).map(([k, v]) => `${k} ${v}`).join(", "));
  console.log(`  outputs: SARIF ${r.outputs.sarifMB} MB (${r.outputs.sarifResults} results, ${r.outputs.sarifDropped} dropped), summary ${r.outputs.summaryKB} KB, JSON report ${r.outputs.jsonMB} MB`);' \
  "$results/report.json" | tee "$results/report.txt"
