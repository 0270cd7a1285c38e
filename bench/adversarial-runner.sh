#!/usr/bin/env bash
# Throughput and wall time of the ART classifier runner (packages/adversarial/runner) against the
# loopback digit classifier (test/helpers/classifier-server.py): HopSkipJump (labels), SquareAttack
# (probabilities) and white-box FGSM/PGD, profile fast, 40 samples, L-inf eps 0.2.
# Prints queries/s (instances scored by the server / runner wall time; goal >= 200/s) and the wall
# time of the fast profile. Uses the ART venv the tests install (override with ART_PYTHON=...).
# Usage: bench/adversarial-runner.sh [concurrency=4]
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONCURRENCY="${1:-4}"
py_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
CACHE="${SECGATE_TEST_TOOL_CACHE:-$HOME/.cache/secgate-ci/test-tool-cache}"
PY="${ART_PYTHON:-$CACHE/secgate-py-art/1.20.1-py$py_version/linux-x64/bin/python}"
[ -x "$PY" ] || { echo "no ART venv at $PY: run packages/adversarial/test/runner.test.ts once (or set ART_PYTHON)" >&2; exit 2; }
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$PY" "$REPO_ROOT/test/helpers/classifier-models.py" "$work/models" >/dev/null
"$PY" "$REPO_ROOT/test/helpers/classifier-server.py" --model "$work/models/brittle.npz" --idle-seconds 120 --max-requests 1000000 >"$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(head -1 "$work/port")
cat >"$work/config.json" <<JSON
{"target": "http://127.0.0.1:$port/predict", "api_key_header": null, "api_key_bearer": false, "profile": "fast",
 "seed": 42, "max_queries": 100000, "concurrency": $CONCURRENCY, "rate_limit": null, "eval_data": "$work/models/eval.npz",
 "model_file": "$work/models/brittle.onnx", "request_template": "{\"instances\": \$INSTANCES}",
 "response_path": "\$.predictions[*].probabilities", "input_range": [0, 1], "norm": "inf", "eps": 0.2,
 "attacks": [], "samples": 40}
JSON
start=$(date +%s.%N)
"$PY" "$REPO_ROOT/packages/adversarial/runner/secgate_art.py" --config "$work/config.json" --output "$work/report.json" 2>/dev/null
end=$(date +%s.%N)
counted=$(curl -s "http://127.0.0.1:$port/count")
python3 - "$work/report.json" "$start" "$end" "$counted" "$CONCURRENCY" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
served = json.loads(sys.argv[4])["instances"]
attack_seconds = sum(a["seconds"] for a in report["attacks"])
print(f"profile fast, 40 samples, concurrency {sys.argv[5]}: wall {wall:.1f} s (attacks {attack_seconds:.1f} s, rest = Python/ART import and clean pass)")
print(f"queries: {served} served ({report['budget']['used']} counted by the runner) in {report['http']['requests']} requests")
print(f"throughput: {served / wall:.0f} queries/s over the wall time, {served / max(attack_seconds, 1e-9):.0f} queries/s while attacking (goal >= 200/s)")
for a in report["attacks"]:
    print(f"  {a['id']:24} robust {a['robust_accuracy']}  queries {a['queries']:6}  {a['seconds']:.1f} s")
PY
