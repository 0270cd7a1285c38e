#!/usr/bin/env bash
# The main job (README): scans the bundled example ML project with every stage that works offline
# (sast: bandit, semgrep + the ML rulepack, gitleaks, git-secrets) through the real engine and
# prints the verdict. Exit code mirrors the gate: the example is vulnerable on purpose, so 1.
#
# Tools install as in production: Python tools from PyPI with hash-pinned requirements, binaries
# from their release assets with SHA-256 checks. Where GitHub release downloads are blocked
# (the default here: SECGATE_ONLINE unset), gitleaks and git-secrets come from a loopback mirror
# with the same asset layout, filled by scripts/tools/build-mirror.sh, and their digests are
# passed as explicit version pins (tool=version@sha256) — the same path an air-gapped user takes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli/index.js ] || { echo "dist/cli missing: run npm run build" >&2; exit 2; }
args=(scan examples/ml-service --stage sast "$@")

if [ "${SECGATE_ONLINE:-}" = "1" ]; then
  exec node dist/cli/index.js "${args[@]}"
fi

mirror="${SECGATE_MIRROR_DIR:-${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}/mirror}"
bash scripts/tools/build-mirror.sh "$mirror" >&2
port_file=$(mktemp)
python3 - "$mirror" "$port_file" <<'PY' &
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
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
pins=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/SHA256SUMS.json")); print("gitleaks=8.30.0@%s,git-secrets=1.3.0@%s" % (d["gitleaks/8.30.0/linux-x64"], d["git-secrets/1.3.0/any"]))' "$mirror")
set +e
node dist/cli/index.js "${args[@]}" --mirror-url "http://127.0.0.1:$port/" --tool-versions "$pins"
status=$?
set -e
exit $status
