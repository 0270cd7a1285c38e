#!/usr/bin/env bash
# Benchmark 1: the sast stage (CLI `scan`, all four tools, --json) against the same tools run by
# hand, warm tool cache, on a real mid-size Python project (Keras sdist from PyPI, committed to a
# throw-away git repo because git-secrets scans through git).
#   bash bench/stage-vs-raw.sh [results-dir]      (BENCH_RUNS=3 by default; median reported)
# Writes <results-dir>/stage-vs-raw.tsv (metric, seconds) and hyperfine JSON exports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
results="${1:-$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"
cd "$REPO_ROOT"
[ -f dist/cli/index.js ] || { echo "dist/cli missing: run npm run build" >&2; exit 2; }
[ -x "$NODE24" ] || { echo "Node 24 missing ($NODE24): run npm ci" >&2; exit 2; }

project=$(prepare_project)
log "project: $project ($(find "$project" -name '*.py' | wc -l) .py files)"
start_bench_mirror
trap stop_mirror EXIT
work=$(mktemp -d "${TMPDIR:-/tmp}/secgate-bench-XXXXXX")
raw="$work/raw" && mkdir -p "$raw"
stage_json="$work/stage.json"
stage_cmd="'$NODE24' '$REPO_ROOT/dist/cli/index.js' scan '$project' --stage sast --tools bandit,semgrep,gitleaks,git-secrets --secrets-scan tree \
--json '$stage_json' --mirror-url '$MIRROR_URL' --tool-versions '$SAST_TOOL_PINS' >'$work/stage.log' 2>&1; test \$? -le 1"

# Exit 1 means "findings" for the CLI but also "crashed" for node: every stage run is checked
# (untimed) through its fresh JSON report: four tools, all ok.
check_stage() {
  "$NODE24" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = r.tools.filter((t) => t.status !== "ok");
    if (bad.length || r.tools.length !== 4) { console.error("stage tools not all ok:", JSON.stringify(r.tools)); process.exit(3); }' "$stage_json" ||
    { cat "$work/stage.log" >&2; echo "stage run did not complete" >&2; exit 3; }
  rm -f "$stage_json.last" && mv "$stage_json" "$stage_json.last"
}
# Warm-up (untimed): fills the tool cache if cold, checks the stage really ran every tool, warms the page cache.
log "warm-up stage run (untimed)"
sh -c "$stage_cmd" || { cat "$work/stage.log" >&2; echo "stage warm-up failed" >&2; exit 3; }
check_stage
bash bench/raw-tools.sh "$project" "$raw" setup

: >"$results/times.tsv"
for tool in bandit semgrep gitleaks git-secrets; do
  log "raw $tool alone x$RUNS"
  time_cmd "raw-$tool" "bash '$REPO_ROOT/bench/raw-tools.sh' '$project' '$raw' $tool" "$results/times.tsv"
done
# The comparison itself: raw-parallel and stage alternate (r s r s r s) so that drift on a shared
# machine hits both alike; wall time per run from date +%s.%N (fork overhead ~ms, same for both).
log "raw (4 tools with &) and stage (CLI scan), alternating, x$RUNS each"
parallel_cmd="bash '$REPO_ROOT/bench/raw-tools.sh' '$project' '$raw' parallel"
: >"$results/pair.tsv"
for i in $(seq "$RUNS"); do
  for name in raw-parallel stage; do
    cmd=$parallel_cmd; [ "$name" = stage ] && cmd=$stage_cmd
    t0=$(date +%s.%N)
    sh -c "$cmd" || { echo "$name run $i failed" >&2; [ "$name" = stage ] && cat "$work/stage.log" >&2; exit 3; }
    t1=$(date +%s.%N)
    [ "$name" = stage ] && check_stage
    echo -e "$name\t$i\t$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >>"$results/pair.tsv"
  done
done
for name in raw-parallel stage; do
  awk -F'\t' -v n="$name" '$1 == n {print $3}' "$results/pair.tsv" | sort -g |
    awk -v n="$name" '{a[NR]=$1} END {printf "%s\t%.3f\t%.3f\t%.3f\n", n, (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2, a[1], a[NR]}' >>"$results/times.tsv"
done
stage_json="$stage_json.last"
cp "$stage_json" "$results/stage-report.json"

# Per-tool timings the engine recorded in the last stage run (installMs: warm ToolInstaller.install()).
"$NODE24" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const t of r.tools) console.log(["stage-tool", t.tool, (t.installMs / 1000).toFixed(3), (t.runMs / 1000).toFixed(3), t.cacheHit, t.findingCount].join("\t"));' \
  "$stage_json" >"$results/stage-tools.tsv"

awk -F'\t' '
  {m[$1]=$2}
  END {
    seq = m["raw-bandit"] + m["raw-semgrep"] + m["raw-gitleaks"] + m["raw-git-secrets"];
    printf "raw sequential (sum of per-tool medians)\t%.2f s\n", seq;
    printf "raw parallel (4 tools with &, wait)\t%.2f s\n", m["raw-parallel"];
    printf "stage (secgate scan --stage sast --json)\t%.2f s\n", m["stage"];
    ratio = m["stage"] / m["raw-parallel"]; over = m["stage"] - m["raw-parallel"];
    printf "stage / raw parallel\t%.3f x\n", ratio;
    printf "stage overhead\t%+.2f s\n", over;
    limit = 1.02 * m["raw-parallel"] + 0.5;
    printf "target stage <= 1.02 x raw + 0.5 s (= %.2f s)\t%s\n", limit, (m["stage"] <= limit) ? "met" : sprintf("MISSED by %.2f s", m["stage"] - limit);
  }' "$results/times.tsv" >"$results/stage-vs-raw.tsv"
{
  echo "== 1. stage vs raw tools (median of $RUNS, warm cache, $BENCH_PKG $BENCH_PKG_VERSION) =="
  awk -F'\t' '{printf "  %-26s median %8.2f s   (min %.2f, max %.2f)\n", $1, $2, $3, $4}' "$results/times.tsv"
  awk -F'\t' '{printf "  %-52s %s\n", $1, $2}' "$results/stage-vs-raw.tsv"
  echo "  engine-recorded (last stage run): tool, installMs, runMs, cacheHit, findings"
  awk -F'\t' '{printf "    %-12s install %6.3f s   run %7.2f s   cacheHit=%s  findings=%s\n", $2, $3, $4, $5, $6}' "$results/stage-tools.tsv"
} | tee "$results/stage-vs-raw.txt"
rm -rf "$work"
