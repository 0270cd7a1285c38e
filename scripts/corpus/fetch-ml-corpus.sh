#!/usr/bin/env bash
# Downloads the PyPI releases of the ML vulnerability corpus (packages/sast/test/ml-corpus/corpus.json)
# into a cache OUTSIDE the clone and verifies each archive against the SHA-256 pinned in the manifest.
# Wheels only (`--only-binary=:all:`): `pip download` of an sdist would run its build backend.
#
#   bash scripts/corpus/fetch-ml-corpus.sh [manifest]      # prints the cache directory on stdout
#
#   SECGATE_TOOL_CACHE   cache root (default: $HOME/.cache/secgate-ci); archives go to <root>/ml-corpus
#   PIP_INDEX_URL        honoured by pip (hashes are checked whatever the index)
set -euo pipefail
cd "$(dirname "$0")/../.."
MANIFEST="${1:-packages/sast/test/ml-corpus/corpus.json}"
CACHE="${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}/ml-corpus"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# package<TAB>version<TAB>archive<TAB>sha256, one line per distinct archive
node -e '
  const m = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const seen = new Map();
  for (const a of m.advisories) for (const side of [a.vulnerable, a.fixed]) {
    if (!side) continue;
    const prev = seen.get(side.archive);
    if (prev && prev.sha256 !== side.sha256) { console.error(`${side.archive}: two different sha256 in the manifest`); process.exit(2); }
    seen.set(side.archive, { pkg: a.package, ...side });
  }
  for (const s of seen.values()) console.log([s.pkg, s.version, s.archive, s.sha256].join("\t"));
' "$MANIFEST" | while IFS=$'\t' read -r pkg version archive expected; do
  target="$CACHE/$archive"
  if [ -f "$target" ] && [ "$(sha256 "$target")" = "$expected" ]; then
    echo "cached   $archive" >&2
    continue
  fi
  # A private directory, then an atomic rename: concurrent fetches never see half a file.
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --dest "$tmp" "$pkg==$version" >&2
  if [ ! -f "$tmp/$archive" ]; then
    echo "error: pip download $pkg==$version did not produce $archive (got: $(ls "$tmp" | tr '\n' ' '))" >&2
    exit 1
  fi
  actual=$(sha256 "$tmp/$archive")
  if [ "$actual" != "$expected" ]; then
    echo "error: $archive: sha256 $actual, the manifest pins $expected" >&2
    exit 1
  fi
  mv -f "$tmp/$archive" "$target"
  rm -rf "$tmp"
  trap - EXIT
  echo "fetched  $archive" >&2
done
echo "$CACHE"
