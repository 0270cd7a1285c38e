#!/usr/bin/env bash
# Regenerates the error-case fixtures in packages/sast/test/fixtures/ (fixtures/README.md, second
# table) by running the REAL pinned tools on small inputs made here: a Python 2 file, a file only
# partly parseable, a rule that times out, an invalid rule, two secrets on one line, a folder that
# is not a git repository, a usage error. Tools: the shared test tool cache (see
# scripts/tools/regen-sast-fixtures.sh, same variables). Nothing is edited after the tools wrote it.
set -euo pipefail
cd "$(dirname "$0")/../../.."
REPO=$(pwd)
OUT="$REPO/packages/sast/test/fixtures"
CACHE="${SECGATE_TEST_TOOL_CACHE:-$HOME/.cache/secgate-ci/test-tool-cache}"
die() { printf 'regen-error-fixtures: %s\n' "$*" >&2; exit 1; }
first() { for p in "$@"; do [ -e "$p" ] && { printf '%s\n' "$p"; return 0; }; done; return 1; }
BANDIT="${BANDIT:-$(first "$CACHE"/secgate-py-bandit/1.9.4-py*/linux-x64/bin/python) -m bandit}" || die "bandit 1.9.4 missing"
SEMGREP="${SEMGREP:-$(first "$CACHE"/secgate-py-semgrep/1.185.0-py*/linux-x64/bin/semgrep)}" || die "semgrep 1.185.0 missing"
GITLEAKS="${GITLEAKS:-$(first "$CACHE"/gitleaks/8.30.0/linux-x64/gitleaks)}" || die "gitleaks 8.30.0 missing"
GIT_SECRETS_DIR="${GIT_SECRETS_DIR:-$(first "$CACHE"/git-secrets/1.3.0/linux-x64/git-secrets-1.3.0)}" || die "git-secrets 1.3.0 missing"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export SEMGREP_SETTINGS_FILE="$WORK/semgrep-settings.yml" SEMGREP_SEND_METRICS=off SEMGREP_ENABLE_VERSION_CHECK=0
expect_rc() { local want=$1; shift; set +e; "$@"; local rc=$?; set -e; [ "$rc" = "$want" ] || die "$* exited $rc, expected $want"; }
SHELL_PY='import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n'
PICKLE_PY='import pickle\n\ndef load(data):\n    return pickle.loads(data)\n'
SG_FLAGS=(--config "$REPO/rules/ml" --json --metrics=off --disable-version-check --no-rewrite-rule-ids --quiet)

# bandit: one Python 2 file beside a real finding (exit 1), and a tree of only that file (exit 0).
mkdir "$WORK/py2" "$WORK/py2-only"
printf 'print "hello"\n' >"$WORK/py2/py2.py"; printf "$SHELL_PY" >"$WORK/py2/app.py"; cp "$WORK/py2/py2.py" "$WORK/py2-only/"
(cd "$WORK/py2" && expect_rc 1 $BANDIT -r . -f json -o "$OUT/bandit-1.9.4.py2-file.json" -q)
(cd "$WORK/py2-only" && expect_rc 0 $BANDIT -r . -f json -o "$OUT/bandit-1.9.4.py2-only.json" -q)
# bandit on a 1,500-deep folder: RecursionError, exit 1, an empty report; its stderr is the fixture.
mkdir -p "$WORK/deep/$(printf 'd/%.0s' $(seq 1500))" && printf 'import pickle\n' >"$WORK/deep/$(printf 'd/%.0s' $(seq 1500))x.py"
(cd "$WORK/deep" && expect_rc 1 $BANDIT -r . -f json -o "$WORK/deep.json" -q 2>"$OUT/bandit-1.9.4.deep-path.stderr.txt")
[ ! -s "$WORK/deep.json" ] || die "bandit wrote a report for the deep tree"

# semgrep: a file it parses only in part beside a finding (exit 0, a PartialParsing warning).
mkdir "$WORK/partial" && printf "$PICKLE_PY" >"$WORK/partial/app.py" && printf 'import pickle\nif True\n  pickle.loads(x) ]]\n' >"$WORK/partial/broken.py"
(cd "$WORK/partial" && expect_rc 0 "$SEMGREP" scan "${SG_FLAGS[@]}" --output "$OUT/semgrep-1.185.0.partial-parse.json" .)
# semgrep: the only file times out (--timeout 1 on 20,000 lines): exit 0, no results, one Timeout.
mkdir "$WORK/timeout" && python3 -c "
lines=['import subprocess','def f(x):']+[f'    y{i} = x + {i}; subprocess.call(y{i}, shell=True)' for i in range(20000)]
open('$WORK/timeout/big.py','w').write('\n'.join(lines)+'\n')"
(cd "$WORK/timeout" && expect_rc 0 "$SEMGREP" scan "${SG_FLAGS[@]}" --timeout 1 --output "$OUT/semgrep-1.185.0.timeout.json" big.py)
# semgrep: an invalid user rule beside the rulepack (exit 2, level error).
mkdir "$WORK/rule" && printf "$PICKLE_PY" >"$WORK/rule/app.py"
printf 'rules:\n  - id: bad-pattern\n    languages: [python]\n    severity: ERROR\n    message: an invalid pattern\n    pattern: "foo(((("\n' >"$WORK/bad-rule.yml"
(cd "$WORK/rule" && expect_rc 2 "$SEMGREP" scan "${SG_FLAGS[@]}" --config "$WORK/bad-rule.yml" --output "$OUT/semgrep-1.185.0.invalid-rule.json" .)

# gitleaks: two GitHub tokens (random, fake) on one line; --redact.
mkdir "$WORK/same-line" && python3 -c "
import random, string
r = random.Random(7)
tok = lambda: 'ghp_' + ''.join(r.choice(string.ascii_letters + string.digits) for _ in range(36))
open('$WORK/same-line/tokens.py', 'w').write('import os\n\nTOKENS = [\"%s\", \"%s\"]\n' % (tok(), tok()))"
(cd "$WORK/same-line" && expect_rc 3 "$GITLEAKS" dir . --report-format json --report-path "$OUT/gitleaks-8.30.0.same-line.json" \
  --redact --exit-code 3 --no-banner --no-color --log-level error)

# git-secrets (AWS patterns in a private global config): a folder that is not a git repository
# (exit 0, "fatal: not a git repository"), an unknown option (exit 129), a history usage error (exit 1).
export PATH="$GIT_SECRETS_DIR:$PATH" GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1
: >"$WORK/gitconfig"; git secrets --register-aws --global >/dev/null
mkdir "$WORK/not-a-repo" && printf 'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n' >"$WORK/not-a-repo/s.py"
(cd "$WORK/not-a-repo" && expect_rc 0 git secrets --scan --no-index -- . 2>"$OUT/git-secrets-1.3.0.scan-not-a-repo.txt")
mkdir "$WORK/repo" && (cd "$WORK/repo" && git init -q && expect_rc 129 git secrets --scan --bogus 2>"$OUT/git-secrets-1.3.0.unknown-option.txt" \
  && expect_rc 1 git secrets --scan-history -r 2>"$OUT/git-secrets-1.3.0.scan-history-usage.txt")
if grep -h '"\(Secret\|Match\)":' "$OUT"/gitleaks-*.json | grep -qv 'REDACTED'; then die "gitleaks fixture holds an unredacted secret"; fi
printf 'regen-error-fixtures: wrote the error-case fixtures to %s\n' "$OUT"
