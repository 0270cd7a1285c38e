#!/usr/bin/env bash
# Benchmark 5: the sca stage (CLI `scan --stage sca`, pip-audit + osv-scanner + modelscan + picklescan, --json)
# against the same four tools run by hand in parallel, warm tool cache, on the fixture ML project
# (packages/sca/test/fixtures/ml-project) plus the generated model files (make-model-files.py, the
# corrupt one left out). Advisories: the loopback OSV API of the tests (bench/sca-osv-api.ts, the real
# records of ../shared/fixtures/advisories) for pip-audit, and osv-scanner offline zips built from them.
#   bash bench/sca-vs-raw.sh [results-dir]      (BENCH_RUNS=3 by default; median reported)
# Not part of npm test. Writes <results-dir>/sca-times.tsv and sca-pair.tsv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
results="${1:-$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"
cd "$REPO_ROOT"
DIST="${SECGATE_DIST_DIR:-dist}"
[ -f "$DIST/cli/index.js" ] || { echo "$DIST/cli missing: run npm run build" >&2; exit 2; }
[ -x "$NODE24" ] || { echo "Node 24 missing ($NODE24): run npm ci" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/secgate-bench-sca-XXXXXX")
api_pid=""
cleanup() { [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null; stop_mirror; rm -rf "$work"; }
trap cleanup EXIT

project="$work/project"
cp -r packages/sca/test/fixtures/ml-project "$project"
python3 packages/sca/test/helpers/make-model-files.py "$project/models" >&2
rm -f "$project/models/corrupt.pkl"
log "project: $project ($(wc -l <"$project/requirements.txt") requirement lines, $(ls "$project/models" | wc -l) model files)"

# The loopback OSV API and the offline zips (bundled with ncc: it resolves the test helpers' imports).
npx ncc build bench/sca-osv-api.ts -o "$work/osv-api" --quiet >&2
export SECGATE_ADVISORIES_DIR="${SECGATE_ADVISORIES_DIR:-$REPO_ROOT/../shared/fixtures/advisories}"
offline_db="$work/osv-db"
"$NODE24" "$work/osv-api/index.js" "$work/osv-url" "$offline_db" </dev/null >"$work/osv-api.log" 2>&1 &
api_pid=$!
for _ in $(seq 100); do [ -s "$work/osv-url" ] && break; sleep 0.1; done
[ -s "$work/osv-url" ] || { cat "$work/osv-api.log" >&2; echo "the loopback OSV API did not start" >&2; exit 3; }
osv_url=$(cat "$work/osv-url")
start_bench_mirror
osv_pin=$(tr ',' '\n' <<<"$TOOL_PINS" | grep '^osv-scanner=')

stage_json="$work/stage.json"
stage_cmd="'$NODE24' '$REPO_ROOT/$DIST/cli/index.js' scan '$project' --stage sca --tools pip-audit,osv-scanner,modelscan,picklescan \
--osv-url '$osv_url' --osv-offline-db '$offline_db' --json '$stage_json' --mirror-url '$MIRROR_URL' --tool-versions '$osv_pin' >'$work/stage.log' 2>&1; test \$? -le 1"
# Exit 1 is "findings" and also "crashed": every stage run is checked through its fresh JSON report.
check_stage() {
  "$NODE24" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = r.tools.filter((t) => t.status !== "ok");
    if (bad.length || r.tools.length !== 4 || r.findings.length === 0) { console.error("stage tools not all ok:", JSON.stringify(r.tools)); process.exit(3); }' "$stage_json" ||
    { cat "$work/stage.log" >&2; echo "stage run did not complete" >&2; exit 3; }
  rm -f "$stage_json.last" && mv "$stage_json" "$stage_json.last"
}
log "warm-up stage run (untimed; fills the tool cache when cold)"
sh -c "$stage_cmd" || { cat "$work/stage.log" >&2; echo "stage warm-up failed" >&2; exit 3; }
check_stage

# Raw: the venvs/binary the stage installed, the adapters' arguments (pip-audit and osv-scanner
# adapters, modelscan/picklescan one invocation per model file).
pyv=$(py_version)
PIP_AUDIT="$(tool_dir secgate-py-pip-audit "2.10.1-py$pyv")/bin/pip-audit"
OSV_SCANNER="$(tool_dir osv-scanner 2.6.0)/osv-scanner"
MODELSCAN="$(tool_dir secgate-py-modelscan "0.8.8-py$pyv")/bin/modelscan"
PICKLESCAN="$(tool_dir secgate-py-picklescan "1.0.5-py$pyv")/bin/picklescan"
for bin in "$PIP_AUDIT" "$OSV_SCANNER" "$MODELSCAN" "$PICKLESCAN"; do [ -x "$bin" ] || { echo "missing $bin (tool cache $TOOL_CACHE)" >&2; exit 3; }; done
raw="$work/raw" && mkdir -p "$raw" && : >"$raw/osv-scanner.toml"
cat >"$work/raw.sh" <<EOF
#!/usr/bin/env bash
# raw-tools for the sca benchmark: one tool (\$1) or all four at once (parallel).
set -u
pip_audit() { '$PIP_AUDIT' -r '$project/requirements.txt' -f json -o '$raw/pip-audit.json' --progress-spinner off --aliases on --desc on --timeout 30 \
  --cache-dir '$raw/pip-audit-cache' -s osv --osv-url '$osv_url/v1/query' --no-deps --disable-pip >/dev/null 2>&1; [ \$? -le 1 ]; }
osv_scanner() { OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY='$offline_db' '$OSV_SCANNER' scan source --format json --output-file '$raw/osv.json' --all-packages \
  --all-vulns --config '$raw/osv-scanner.toml' --offline -L '$project/requirements.txt' >/dev/null 2>&1; [ \$? -le 1 ]; }
modelscan() { for f in '$project'/models/*; do '$MODELSCAN' scan -p "\$f" -r json -o "$raw/modelscan-\$(basename "\$f").json" --show-skipped -l ERROR >/dev/null 2>&1; [ \$? -le 1 ] || return 1; done; }
picklescan() { for f in '$project'/models/*; do '$PICKLESCAN' -p "\$f" -g -l INFO >/dev/null 2>&1; [ \$? -le 1 ] || return 1; done; }
case "\$1" in
  parallel) pip_audit & a=\$!; osv_scanner & b=\$!; modelscan & c=\$!; picklescan & d=\$!
    s=0; for p in \$a \$b \$c \$d; do wait \$p || s=1; done; exit \$s ;;
  *) "\${1//-/_}" ;;
esac
EOF
log "raw check run (untimed)"
bash "$work/raw.sh" parallel || { echo "raw tools failed" >&2; exit 3; }

: >"$results/sca-times.tsv"
for tool in pip-audit osv-scanner modelscan picklescan; do
  log "raw $tool alone x$RUNS"
  time_cmd "raw-$tool" "bash '$work/raw.sh' $tool" "$results/sca-times.tsv"
done
# raw-parallel and stage alternate (r s r s r s) so drift on a shared machine hits both alike.
log "raw (4 tools with &) and stage (CLI scan), alternating, x$RUNS each"
: >"$results/sca-pair.tsv"
for i in $(seq "$RUNS"); do
  for name in raw-parallel stage; do
    cmd="bash '$work/raw.sh' parallel"; [ "$name" = stage ] && cmd=$stage_cmd
    t0=$(date +%s.%N)
    sh -c "$cmd" || { echo "$name run $i failed" >&2; [ "$name" = stage ] && cat "$work/stage.log" >&2; exit 3; }
    t1=$(date +%s.%N)
    [ "$name" = stage ] && check_stage
    echo -e "$name\t$i\t$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >>"$results/sca-pair.tsv"
  done
done
cp "$stage_json.last" "$results/sca-stage.json"

echo "== 5. sca stage vs raw tools (warm cache, median of $RUNS; $(nproc) cores) =="
while IFS=$'\t' read -r name median min max; do
  printf '  %-22s median %7.3f s  (min %.3f, max %.3f)\n' "$name" "$median" "$min" "$max"
done <"$results/sca-times.tsv"
sum=$(awk -F'\t' '{s += $2} END {printf "%.3f", s}' "$results/sca-times.tsv")
printf '  %-22s        %7.3f s  (sum of the medians above)\n' "raw sequential" "$sum"
rawp=$(awk -F'\t' '$1 == "raw-parallel" {print $3}' "$results/sca-pair.tsv" | median)
stage=$(awk -F'\t' '$1 == "stage" {print $3}' "$results/sca-pair.tsv" | median)
printf '  %-22s median %7.3f s  (runs: %s)\n' "raw parallel (&)" "$rawp" "$(awk -F'\t' '$1 == "raw-parallel" {printf "%s ", $3}' "$results/sca-pair.tsv")"
printf '  %-22s median %7.3f s  (runs: %s)\n' "stage" "$stage" "$(awk -F'\t' '$1 == "stage" {printf "%s ", $3}' "$results/sca-pair.tsv")"
awk -v s="$stage" -v r="$rawp" 'BEGIN {printf "  stage - raw parallel = %.3f s, stage / raw parallel = %.2f\n", s - r, s / r}'
"$NODE24" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log("  last stage run, per tool (engine-recorded): " + r.tools.map((t) => `${t.tool} install ${(t.installMs / 1000).toFixed(3)} s, run ${(t.runMs / 1000).toFixed(3)} s, ${t.findingCount} findings`).join("; "));
  console.log(`  stage findings: ${r.findings.length} after merging (${r.findings.filter((f) => new Set(f.sources.map((s) => s.tool)).size > 1).length} reported by two tools)`);' "$results/sca-stage.json"
