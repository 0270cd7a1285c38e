#!/usr/bin/env bash
# Builds the committed bundles: one ncc bundle per stage action, the top-level action and the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
# SECGATE_DIST_DIR builds elsewhere (parallel work trees, experiments); CI checks the committed dist/.
OUT="${SECGATE_DIST_DIR:-dist}"
rm -rf "$OUT"
build() { npx ncc build "$1" -o "$OUT/$2" --license licenses.txt --quiet; }
build packages/sast/src/action.ts sast
build packages/sca/src/action.ts sca
build packages/adversarial/src/action.ts adversarial
build packages/container/src/action.ts container
build packages/cli/src/action-all.ts all
build packages/cli/src/index.ts cli
echo "$OUT/ rebuilt: $(ls "$OUT" | tr '\n' ' ')"
