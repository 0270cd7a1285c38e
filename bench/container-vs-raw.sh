#!/usr/bin/env bash
# Benchmark 6: the container stage (CLI `scan --stage container`, trivy + checkov + hadolint, --json)
# against the same tools run by hand in parallel, warm tool cache, on the stage's fixture project
# (packages/container/test/fixtures/iac-project: Dockerfiles, Kubernetes manifests, Terraform, a Helm
# chart) plus a docker-archive image tarball written by test/helpers/image-tar.ts (Debian base + five
# vulnerable Python packages + a token in its config) scanned against a trivy DB built here from the
# real GHSA records of ../shared/fixtures/advisories/ghsa with trivy's own builder (trivy-db build).
# Then cold and warm installs of the three tools through the CLI (an empty tool cache, then the same
# cache again).
#   bash bench/container-vs-raw.sh [results-dir]      (BENCH_RUNS=3 by default; median reported)
# Not part of npm test. Writes <results-dir>/container-times.tsv, container-pair.tsv, container-install.tsv
# and container.txt (the figures printed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
results="${1:-$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"
cd "$REPO_ROOT"
DIST="${SECGATE_DIST_DIR:-dist}"
TRIVY_DB_BUILDER="${SECGATE_TRIVY_DB_BUILDER:-$HOME/.cache/secgate-ci/trivy-db/trivy-db}"
GHSA_RECORDS="$REPO_ROOT/../shared/fixtures/advisories/ghsa"
[ -f "$DIST/cli/index.js" ] || { echo "$DIST/cli missing: run npm run build" >&2; exit 2; }
[ -x "$NODE24" ] || { echo "Node 24 missing ($NODE24): run npm ci" >&2; exit 2; }
[ -x "$TRIVY_DB_BUILDER" ] || { echo "trivy-db builder missing ($TRIVY_DB_BUILDER; SECGATE_TRIVY_DB_BUILDER)" >&2; exit 2; }
[ -d "$GHSA_RECORDS" ] || { echo "GHSA records missing ($GHSA_RECORDS)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/secgate-bench-container-XXXXXX")
cleanup() { stop_mirror; rm -rf "$work"; }
trap cleanup EXIT

# The project, and the image inside it (image-tar must be in the workspace). The image folder is
# excluded from IaC scanning on both sides, so the fs scans do not read the tarball.
project="$work/project"
cp -r packages/container/test/fixtures/iac-project "$project"
mkdir -p "$project/image"
# Node 24 runs the TypeScript helper as it is (type stripping): the image the tests build.
cat >"$work/make-image.mts" <<EOF
import { debianBaseLayer, pythonPackagesLayer, writeDockerArchive } from '$REPO_ROOT/test/helpers/image-tar.ts';
const packages = [
  { name: 'requests', version: '2.25.1' }, { name: 'joblib', version: '1.1.0' }, { name: 'PyYAML', version: '5.3.1' },
  { name: 'mlflow', version: '2.9.2' }, { name: 'six', version: '1.16.0' }
];
await writeDockerArchive(
  {
    layers: [debianBaseLayer(), pythonPackagesLayer(packages)],
    env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'GITHUB_TOKEN=ghp_R8x2Kq7Lm4Zt9Wv3Yb6Nc1Pd5Sf0Hj2Gk8Qe'],
    history: ['ADD rootfs.tar /', 'RUN pip install ' + packages.map((p) => p.name + '==' + p.version).join(' ')]
  },
  process.argv[2]
);
EOF
"$NODE24" --no-warnings "$work/make-image.mts" "$project/image/app.tar"

# The trivy DB, as test/helpers/trivy-db.ts builds it: github-reviewed/<id>/<id>.json + an empty CocoaPods checkout.
db_src="$work/db-sources"
mkdir -p "$db_src/cocoapods-specs/Specs"
for record in "$GHSA_RECORDS"/*.json; do
  id=$(basename "$record" .json)
  mkdir -p "$db_src/ghsa/advisories/github-reviewed/$id" && cp "$record" "$db_src/ghsa/advisories/github-reviewed/$id/"
done
"$TRIVY_DB_BUILDER" build --only-update ghsa --cache-dir "$db_src" --output-dir "$work/db" >"$work/db-build.log" 2>&1 ||
  { cat "$work/db-build.log" >&2; echo "trivy-db build failed" >&2; exit 3; }
"$NODE24" -e '
  const now = new Date();
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ Version: 2, NextUpdate: new Date(now.getTime() + 86400000).toISOString(), UpdatedAt: now.toISOString(), DownloadedAt: "0001-01-01T00:00:00Z" }));' "$work/db/metadata.json"
log "project: $project ($(find "$project" -type f | wc -l) files, image $(du -k "$project/image/app.tar" | cut -f1) KiB); trivy DB from $(ls "$GHSA_RECORDS" | wc -l) GHSA records"

start_bench_mirror

stage_json="$work/stage.json"
stage_args="scan '$project' --stage container --tools trivy,checkov,hadolint --image-tar image/app.tar --trivy-db-dir '$work/db' --exclude image \
--json '$stage_json' --mirror-url '$MIRROR_URL' --tool-versions '$CONTAINER_TOOL_PINS'"
# Exit 3: the fixture's Helm chart is listed as not checked by Checkov (no helm binary): incomplete, checked below.
stage_cmd="'$NODE24' '$REPO_ROOT/$DIST/cli/index.js' $stage_args >'$work/stage.log' 2>&1; test \$? -le 3"
# Every stage run is checked through its fresh JSON report: trivy and hadolint ok, image
# vulnerabilities found, and checkov ok or incomplete only for the chart.
check_stage() {
  local json=${1:-$stage_json}
  "$NODE24" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const status = Object.fromEntries(r.tools.map((t) => [t.tool, t.status]));
    const unchecked = (r.unchecked ?? []).map((u) => u.tool + ":" + u.name).join(",");
    const ok = r.tools.length === 3 && status.trivy === "ok" && status.hadolint === "ok" &&
      (status.checkov === "ok" || (status.checkov === "failed" && unchecked === "checkov:charts/web")) &&
      r.findings.some((f) => f.package) && r.findings.length > 0;
    if (!ok) { console.error("stage run not as expected:", JSON.stringify(r.tools), JSON.stringify(r.errors)); process.exit(3); }' "$json" ||
    { cat "$work/stage.log" >&2; echo "stage run did not complete" >&2; exit 3; }
  [ "$json" = "$stage_json" ] && { rm -f "$stage_json.last"; mv "$stage_json" "$stage_json.last"; }
  return 0
}
log "warm-up stage run (untimed; fills the tool cache when cold)"
sh -c "$stage_cmd" || { cat "$work/stage.log" >&2; echo "stage warm-up failed" >&2; exit 3; }
check_stage

# Raw: the binaries/venv the stage installed, each tool's plain command with the stage's scope
# (trivy fs + trivy image, checkov with the stage's frameworks, hadolint on the Dockerfiles).
pyv=$(py_version)
TRIVY="$(tool_dir trivy 0.74.0)/trivy"
CHECKOV="$(tool_dir secgate-py-checkov "3.3.30-py$pyv")/bin/python"
HADOLINT="$(tool_dir hadolint 2.15.1)/hadolint"
for bin in "$TRIVY" "$CHECKOV" "$HADOLINT"; do [ -x "$bin" ] || { echo "missing $bin (tool cache $TOOL_CACHE)" >&2; exit 3; }; done
raw="$work/raw" && mkdir -p "$raw/db-cache/db" && cp "$work/db/trivy.db" "$work/db/metadata.json" "$raw/db-cache/db/"
dockerfiles=$(cd "$project" && find . -path ./image -prune -o -type f \( -name Dockerfile -o -name '*.Dockerfile' -o -name 'Dockerfile.*' \) -print | sort | tr '\n' ' ')
cat >"$work/raw.sh" <<EOF
#!/usr/bin/env bash
# raw tools for the container benchmark: one (\$1) or all at once (parallel). Exit codes meaning findings count as success.
set -u
cd '$project'
trivy_fs() { '$TRIVY' fs --scanners misconfig,secret --format json --output '$raw/trivy-fs.json' --skip-check-update --skip-db-update \
  --cache-dir '$raw/fs-cache' --skip-dirs image --disable-telemetry --no-progress --quiet . ; [ \$? -eq 0 ]; }
trivy_image() { '$TRIVY' image --input image/app.tar --scanners vuln,secret --image-config-scanners misconfig,secret --list-all-pkgs \
  --format json --output '$raw/trivy-image.json' --skip-check-update --skip-db-update --cache-dir '$raw/db-cache' --cache-backend memory \
  --disable-telemetry --no-progress --quiet; [ \$? -eq 0 ]; }
checkov() { '$CHECKOV' -m checkov.main -d . -o json --output-file-path '$raw/checkov' --skip-download --compact --skip-path image \
  --framework terraform,kubernetes,dockerfile,helm,github_actions,secrets >/dev/null 2>&1; [ \$? -le 1 ]; }
hadolint() { '$HADOLINT' -f json --no-fail -- $dockerfiles >'$raw/hadolint.json'; }
case "\$1" in
  parallel) trivy_fs & a=\$!; trivy_image & b=\$!; checkov & c=\$!; hadolint & d=\$!
    s=0; for p in \$a \$b \$c \$d; do wait \$p || s=1; done; exit \$s ;;
  *) "\${1//-/_}" ;;
esac
EOF
log "raw check run (untimed)"
bash "$work/raw.sh" parallel 2>"$work/raw.log" || { cat "$work/raw.log" >&2; echo "raw tools failed" >&2; exit 3; }

: >"$results/container-times.tsv"
for tool in trivy-fs trivy-image checkov hadolint; do
  log "raw $tool alone x$RUNS"
  time_cmd "raw-$tool" "bash '$work/raw.sh' $tool" "$results/container-times.tsv" "$work/raw.log"
done
# raw-parallel and stage alternate (r s r s r s) so drift on a shared machine hits both alike.
log "raw (4 processes with &) and stage (CLI scan), alternating, x$RUNS each"
: >"$results/container-pair.tsv"
for i in $(seq "$RUNS"); do
  for name in raw-parallel stage; do
    cmd="bash '$work/raw.sh' parallel"; [ "$name" = stage ] && cmd=$stage_cmd
    t0=$(date +%s.%N)
    sh -c "$cmd" 2>>"$work/raw.log" || { echo "$name run $i failed" >&2; [ "$name" = stage ] && cat "$work/stage.log" >&2; exit 3; }
    t1=$(date +%s.%N)
    [ "$name" = stage ] && check_stage
    echo -e "$name\t$i\t$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >>"$results/container-pair.tsv"
  done
done
cp "$stage_json.last" "$results/container-stage.json"

# Cold and warm installs through the CLI: an empty tool cache (pip's own download cache stays
# warm, as on a runner with actions/cache for pip), then the same cache again.
log "cold install run, then warm, with an empty tool cache"
cold_cache="$work/cold-tool-cache"
: >"$results/container-install.tsv"
for phase in cold warm; do
  json="$work/install-$phase.json"
  RUNNER_TOOL_CACHE="$cold_cache" sh -c "'$NODE24' '$REPO_ROOT/$DIST/cli/index.js' ${stage_args//$stage_json/$json} >'$work/stage.log' 2>&1; test \$? -le 3" ||
    { cat "$work/stage.log" >&2; echo "$phase install run failed" >&2; exit 3; }
  check_stage "$json"
  "$NODE24" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const t of r.tools) console.log([process.argv[2], t.tool, (t.installMs / 1000).toFixed(3), t.cacheHit].join("\t"));' "$json" "$phase" >>"$results/container-install.tsv"
done

{
  echo "== 6. container stage vs raw tools (warm cache, median of $RUNS; $(nproc) cores) =="
  while IFS=$'\t' read -r name median min max; do
    printf '  %-22s median %7.3f s  (min %.3f, max %.3f)\n' "$name" "$median" "$min" "$max"
  done <"$results/container-times.tsv"
  sum=$(awk -F'\t' '{s += $2} END {printf "%.3f", s}' "$results/container-times.tsv")
  printf '  %-22s        %7.3f s  (sum of the medians above)\n' "raw sequential" "$sum"
  rawp=$(awk -F'\t' '$1 == "raw-parallel" {print $3}' "$results/container-pair.tsv" | median)
  stage=$(awk -F'\t' '$1 == "stage" {print $3}' "$results/container-pair.tsv" | median)
  printf '  %-22s median %7.3f s  (runs: %s)\n' "raw parallel (&)" "$rawp" "$(awk -F'\t' '$1 == "raw-parallel" {printf "%s ", $3}' "$results/container-pair.tsv")"
  printf '  %-22s median %7.3f s  (runs: %s)\n' "stage" "$stage" "$(awk -F'\t' '$1 == "stage" {printf "%s ", $3}' "$results/container-pair.tsv")"
  awk -v s="$stage" -v r="$rawp" 'BEGIN {printf "  stage - raw parallel = %.3f s, stage / raw parallel = %.2f\n", s - r, s / r}'
  "$NODE24" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log("  last stage run, per tool (engine-recorded): " + r.tools.map((t) => `${t.tool} install ${(t.installMs / 1000).toFixed(3)} s, run ${(t.runMs / 1000).toFixed(3)} s, ${t.findingCount} findings (${t.status})`).join("; "));
    console.log(`  stage findings: ${r.findings.length} after merging (${r.findings.filter((f) => new Set(f.sources.map((s) => s.tool)).size > 1).length} reported by two tools), ${r.findings.filter((f) => f.package).length} image vulnerabilities`);' "$results/container-stage.json"
  echo "  installs through the CLI (engine installMs; cold = empty tool cache, pip download cache warm):"
  for tool in trivy checkov hadolint; do
    printf '    %-9s cold %7.3f s, warm %6.3f s\n' "$tool" "$(awk -F'\t' -v t="$tool" '$1 == "cold" && $2 == t {print $3}' "$results/container-install.tsv")" \
      "$(awk -F'\t' -v t="$tool" '$1 == "warm" && $2 == t {print $3}' "$results/container-install.tsv")"
  done
} | tee "$results/container.txt"
