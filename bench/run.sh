#!/usr/bin/env bash
# Runs the on-demand benchmarks and prints their figures (see bench/README.md).
#   bash bench/run.sh [stage] [install] [report] [same-line] [container]     (no argument: the first four, in that order)
# Env: BENCH_RUNS (3), BENCH_INSTALL_RUNS (9), BENCH_REPORT_MB (100), SECGATE_BENCH_DIR
# (~/.cache/secgate-ci/bench: project, generated reports, results/<timestamp>/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(stage install report same-line)
results="$BENCH_CACHE/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
for part in "${parts[@]}"; do
  case "$part" in
    stage) bash "$REPO_ROOT/bench/stage-vs-raw.sh" "$results" >/dev/null ;;
    install) bash "$REPO_ROOT/bench/install.sh" "$results" >/dev/null ;;
    report) bash "$REPO_ROOT/bench/report.sh" "$results" >/dev/null ;;
    same-line) bash "$REPO_ROOT/bench/same-line.sh" "$results" >/dev/null ;;
    container) bash "$REPO_ROOT/bench/container-vs-raw.sh" "$results" >/dev/null ;;
    *) echo "unknown benchmark '$part' (stage, install, report, same-line, container)" >&2; exit 2 ;;
  esac
done
echo
echo "secgate benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -sm)"
for part in "${parts[@]}"; do
  case "$part" in
    stage) cat "$results/stage-vs-raw.txt" ;;
    install) cat "$results/install.txt" ;;
    report) cat "$results/report.txt" ;;
    same-line) cat "$results/same-line.txt" ;;
    container) cat "$results/container.txt" ;;
  esac
done
echo "(raw data: $results)"
