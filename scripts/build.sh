#!/usr/bin/env bash
# Builds the committed bundles: one ncc bundle per stage action, the top-level action and the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
# SECGATE_DIST_DIR builds elsewhere (parallel work trees, experiments); CI checks the committed dist/.
OUT="${SECGATE_DIST_DIR:-dist}"
rm -rf "$OUT"
# SECGATE_TRANSPILE_ONLY=1 skips ncc's type check (a tree with unfinished files elsewhere); CI
# type-checks everything (npm run typecheck) and builds with the check on.
build() { npx ncc build "$1" -o "$OUT/$2" --license licenses.txt --quiet ${SECGATE_TRANSPILE_ONLY:+--transpile-only}; }
build packages/sast/src/action.ts sast
build packages/sca/src/action.ts sca
build packages/adversarial/src/action.ts adversarial
build packages/container/src/action.ts container
build packages/cli/src/action-all.ts all
build packages/cli/src/index.ts cli
echo "$OUT/ rebuilt: $(ls "$OUT" | tr '\n' ' ')"
