#!/usr/bin/env bash
# Regenerates packages/sast/test/fixtures/ by running the REAL sast tools on a git copy of
# examples/ml-service (see fixtures/README.md for what each file is).
#
# Tools come from the shared test tool cache that the sast test suites fill through secgate's own
# installer (run `npx jest packages/sast/test/parity.test.ts` once), or from explicit paths:
#   BANDIT=/path/to/venv/bin/python -m bandit   (any command prefix)
#   SEMGREP=/path/to/venv/bin/semgrep
#   GITLEAKS=/path/to/gitleaks
#   GIT_SECRETS_DIR=/dir/containing/git-secrets
# Cache root: $SECGATE_TEST_TOOL_CACHE (default ~/.cache/secgate-ci/test-tool-cache).
#
# The copy is committed with a fixed author and date, so commit ids in the history fixtures are
# stable. gitleaks runs with --redact: no secret value is written by it.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
OUT="$REPO/packages/sast/test/fixtures"
CACHE="${SECGATE_TEST_TOOL_CACHE:-$HOME/.cache/secgate-ci/test-tool-cache}"

BANDIT_VERSION=1.9.4
SEMGREP_VERSION=1.185.0
GITLEAKS_VERSION=8.30.0
GIT_SECRETS_VERSION=1.3.0

die() { printf 'regen-sast-fixtures: %s\n' "$*" >&2; exit 1; }
first() { for p in "$@"; do [ -e "$p" ] && { printf '%s\n' "$p"; return 0; }; done; return 1; }

BANDIT="${BANDIT:-$(first "$CACHE"/secgate-py-bandit/"$BANDIT_VERSION"-py*/linux-x64/bin/python) -m bandit}" \
  || die "bandit $BANDIT_VERSION not in $CACHE (run the parity tests once, or set BANDIT)"
SEMGREP="${SEMGREP:-$(first "$CACHE"/secgate-py-semgrep/"$SEMGREP_VERSION"-py*/linux-x64/bin/semgrep)}" \
  || die "semgrep $SEMGREP_VERSION not in $CACHE (or set SEMGREP)"
GITLEAKS="${GITLEAKS:-$(first "$CACHE"/gitleaks/"$GITLEAKS_VERSION"/linux-x64/gitleaks)}" \
  || die "gitleaks $GITLEAKS_VERSION not in $CACHE (or set GITLEAKS)"
GIT_SECRETS_DIR="${GIT_SECRETS_DIR:-$(first "$CACHE"/git-secrets/"$GIT_SECRETS_VERSION"/linux-x64/git-secrets-"$GIT_SECRETS_VERSION")}" \
  || die "git-secrets $GIT_SECRETS_VERSION not in $CACHE (or set GIT_SECRETS_DIR)"

# Refuse to write fixtures with another version than the file names say.
$BANDIT --version 2>/dev/null | grep -q " $BANDIT_VERSION\$" || die "bandit is not $BANDIT_VERSION"
[ "$("$SEMGREP" --version 2>/dev/null)" = "$SEMGREP_VERSION" ] || die "semgrep is not $SEMGREP_VERSION"
[ "$("$GITLEAKS" version)" = "$GITLEAKS_VERSION" ] || die "gitleaks is not $GITLEAKS_VERSION"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TREE="$WORK/ml-service"
cp -R "$REPO/examples/ml-service" "$TREE"
: >"$WORK/gitconfig"
export GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME='secgate fixtures' GIT_AUTHOR_EMAIL='fixtures@secgate.invalid' GIT_AUTHOR_DATE='2026-01-01T00:00:00Z'
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL" GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"
cd "$TREE"
git init -q -b main
git add -A
git -c commit.gpgsign=false commit -q -m 'ml-service example'

mkdir -p "$OUT"
# Exit codes: bandit 1 and gitleaks 1 = findings; semgrep 0 (no --error); git-secrets 1 = matches.
expect_rc() { local want=$1; shift; set +e; "$@"; local rc=$?; set -e; [ "$rc" = "$want" ] || die "$* exited $rc, expected $want"; }

expect_rc 1 $BANDIT -r . -f json -o "$OUT/bandit-$BANDIT_VERSION.ml-service.json" -q
# Same flags as the adapter (ids without the config directory's prefix).
SEMGREP_SETTINGS_FILE="$WORK/semgrep-settings.yml" expect_rc 0 "$SEMGREP" scan --config "$REPO/rules/ml" --json \
  --output "$OUT/semgrep-$SEMGREP_VERSION.ml-service.json" --metrics=off --disable-version-check --no-rewrite-rule-ids --quiet .
expect_rc 1 "$GITLEAKS" dir . --report-format json --report-path "$OUT/gitleaks-$GITLEAKS_VERSION.dir.ml-service.json" \
  --redact --no-banner --no-color --log-level error
expect_rc 1 "$GITLEAKS" git . --report-format json --report-path "$OUT/gitleaks-$GITLEAKS_VERSION.git.ml-service.json" \
  --redact --no-banner --no-color --log-level error

export PATH="$GIT_SECRETS_DIR:$PATH"
git secrets --register-aws --global >/dev/null
expect_rc 1 git secrets --scan -r . 2>"$OUT/git-secrets-$GIT_SECRETS_VERSION.scan.txt"
expect_rc 1 git secrets --scan-history 2>"$OUT/git-secrets-$GIT_SECRETS_VERSION.scan-history.txt"

# A fixture must never hold an unredacted gitleaks secret.
if grep -h '"\(Secret\|Match\)":' "$OUT"/gitleaks-*.json | grep -qv 'REDACTED'; then die "gitleaks fixture holds an unredacted secret"; fi
printf 'regen-sast-fixtures: wrote %s\n' "$OUT"
ls -l "$OUT"
