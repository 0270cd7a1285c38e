# Sourced by scripts/demo.sh and bench/lib.sh: builds the loopback release mirror and serves it on
# 127.0.0.1 (a random port, at most an hour). Sets MIRROR_URL, MIRROR_PID and TOOL_PINS (also per
# stage: SAST_TOOL_PINS, SCA_TOOL_PINS, CONTAINER_TOOL_PINS) — the mirror's digests as explicit pins (tool=version@sha256),
# since the committed lock holds the official assets' digests and the mirror's assets are built here.
start_mirror() {
  local dir="$1" port_file
  bash "$(dirname "${BASH_SOURCE[0]}")/build-mirror.sh" "$dir" >&2
  port_file=$(mktemp)
  python3 - "$dir" "$port_file" <<'PY' &
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
  [ -s "$port_file" ] || { echo "the loopback mirror did not start" >&2; return 1; }
  MIRROR_URL="http://127.0.0.1:$(cat "$port_file")/"
  rm -f "$port_file"
  TOOL_PINS=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/SHA256SUMS.json")); print("gitleaks=8.30.0@%s,git-secrets=1.3.0@%s,osv-scanner=2.6.0@%s,trivy=0.74.0@%s" % (d["gitleaks/8.30.0/linux-x64"], d["git-secrets/1.3.0/any"], d["osv-scanner/2.6.0/linux-x64"], d["trivy/0.74.0/linux-x64"]))' "$dir")
  # Per stage too: tool-versions naming a tool the scanned stages do not have is a configuration error.
  SAST_TOOL_PINS=$(tr ',' '\n' <<<"$TOOL_PINS" | grep -E '^(gitleaks|git-secrets)=' | paste -sd, -)
  SCA_TOOL_PINS=$(tr ',' '\n' <<<"$TOOL_PINS" | grep -E '^osv-scanner=' | paste -sd, -)
  # hadolint needs no pin: the mirror serves the official binary, which the committed lock verifies.
  CONTAINER_TOOL_PINS=$(tr ',' '\n' <<<"$TOOL_PINS" | grep -E '^trivy=' | paste -sd, -)
  export MIRROR_URL TOOL_PINS SAST_TOOL_PINS SCA_TOOL_PINS CONTAINER_TOOL_PINS MIRROR_PID
}

stop_mirror() { [ -n "${MIRROR_PID:-}" ] && kill "$MIRROR_PID" 2>/dev/null || true; }
