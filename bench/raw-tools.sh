#!/usr/bin/env bash
# Runs the sast tools BY HAND on a folder, with the very binaries/venvs the stage installed in the
# tool cache and the same arguments the adapters pass (see packages/sast/src/adapters/*.ts).
#   bench/raw-tools.sh <project> <out-dir> bandit|semgrep|gitleaks|git-secrets|parallel|sequential
# `parallel` starts all four with & and waits (the stage runs them concurrently, so this is the fair
# baseline). Exit codes meaning "findings" (bandit 1, gitleaks 3, git-secrets 1) count as success.
# git-secrets' AWS patterns are registered once beforehand in <out-dir>/gitconfig (setup, untimed:
# a by-hand user registers once), whereas the stage registers them on every run.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
project=$1 out=$2 what=$3
cd "$project" || exit 2

ok() { local code=$1; shift; for allowed in "$@"; do [ "$code" = "$allowed" ] && return 0; done; echo "raw: exit $code" >&2; return 1; }

run_bandit() {
  "$(BANDIT_DIR)/bin/python" -m bandit -r . -f json -o "$out/bandit.json" -q -x '*/.git/*'; ok $? 0 1
}
run_semgrep() {
  SEMGREP_SEND_METRICS=off SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SETTINGS_FILE="$out/semgrep-settings.yml" \
    "$(SEMGREP_DIR)/bin/python" "$(SEMGREP_DIR)/bin/semgrep" scan --config "$REPO_ROOT/rules/ml" \
    --json --output "$out/semgrep.json" --metrics=off --disable-version-check --no-rewrite-rule-ids --quiet \
    --no-git-ignore --x-ignore-semgrepignore-files --exclude .git .
  ok $? 0
}
run_gitleaks() {
  # The stage's config: secgate's rules (URL credentials) on top of gitleaks' defaults.
  { cat "$REPO_ROOT/rules/gitleaks/secgate.toml"; printf '\n[extend]\nuseDefault = true\n'; } >"$out/gitleaks.toml"
  "$(GITLEAKS_BIN)" dir . --report-format json --redact --exit-code 3 --no-banner --no-color --log-level warn \
    --config "$out/gitleaks.toml" --report-path "$out/gitleaks.json"
  ok $? 0 3
}
run_git_secrets() {
  GIT_CONFIG_GLOBAL="$out/gitconfig" GIT_CONFIG_NOSYSTEM=1 PATH="$(dirname "$(GIT_SECRETS_BIN)"):$PATH" \
    "$(GIT_SECRETS_BIN)" --scan --no-index -- . 2>"$out/git-secrets.txt"
  ok $? 0 1
}

case "$what" in
  setup)
    mkdir -p "$out"
    GIT_CONFIG_GLOBAL="$out/gitconfig" GIT_CONFIG_NOSYSTEM=1 PATH="$(dirname "$(GIT_SECRETS_BIN)"):$PATH" \
      "$(GIT_SECRETS_BIN)" --register-aws --global >/dev/null
    ;;
  bandit) run_bandit ;;
  semgrep) run_semgrep ;;
  gitleaks) run_gitleaks ;;
  git-secrets) run_git_secrets ;;
  sequential) run_bandit && run_semgrep && run_gitleaks && run_git_secrets ;;
  parallel)
    run_bandit & b=$!
    run_semgrep & s=$!
    run_gitleaks & g=$!
    run_git_secrets & x=$!
    status=0
    for pid in $b $s $g $x; do wait "$pid" || status=1; done
    exit $status
    ;;
  *) echo "unknown: $what" >&2; exit 2 ;;
esac
