#!/usr/bin/env bash
# Regenerates the hash-pinned requirement sets for the Python tools secgate installs
# (pip --require-hashes): packages/core/src/install/locks/<tool>-<version>.txt, pip-compile's own
# output. Run after bumping a tool version, review the diff, commit. A new tool or version also
# needs its line in PYTHON_LOCKS (packages/core/src/install/tools-lock.ts); installer.test.ts
# fails while a lock file and that list disagree.
# Usage: scripts/lock-python-tools.sh bandit==1.9.4 semgrep==1.185.0
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 <tool>==<version>..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pip-tools==7.5.3
locks=packages/core/src/install/locks
mkdir -p "$locks"
for spec in "$@"; do
  tool=${spec%%==*}
  version=${spec##*==}
  [[ "$tool" =~ ^[a-z0-9][a-z0-9._-]*$ && "$version" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]*$ && "$spec" == "$tool==$version" ]] \
    || { echo "not a <tool>==<version>: $spec" >&2; exit 2; }
  echo "$spec" >"$work/$tool.in"
  PIP_FIND_LINKS= "$work/venv/bin/pip-compile" --quiet --generate-hashes --no-header --no-annotate \
    --strip-extras --no-emit-find-links --no-emit-index-url -o "$work/$tool.txt" "$work/$tool.in"
  cp "$work/$tool.txt" "$locks/$tool-$version.txt"
  echo "wrote $locks/$tool-$version.txt"
  grep -q "locks/$tool-$version.txt" packages/core/src/install/tools-lock.ts \
    || echo "add '$version' under $tool in PYTHON_LOCKS (packages/core/src/install/tools-lock.ts)" >&2
done
