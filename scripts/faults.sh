#!/usr/bin/env bash
# scripts/faults.sh [SECONDS] [NEMESIS...] — Jepsen-style fault runs in network namespaces.
#
# Builds a sanitizer binary in build-faults (or uses CAUSALKV_BIN), then for each nemesis
# (default: all) starts 6 nodes (REPL_FACTOR 2) in namespaces of their own, runs causal
# clients while the nemesis toggles its fault every few seconds, heals, and judges the
# history (test/faults/checker.py). Prints a summary table; exits 1 on any failed verdict.
#   SECONDS        seconds of faults per nemesis (default 60)
#   NEMESIS        partition-one partition-shard halves client-cut kill pause slow
#                  view-change cut-restart kill-all   (python3 test/faults/run.py --list)
#   CKV_FAULTS_OUT artifact directory (default /tmp/ckv-faults-<pid>)
#   CKV_FAULTS_SEED seed (default: time-based; printed)
# Needs root (ip netns, iptables). See test/faults/README.md.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

secs=60
if (($# > 0)) && [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    secs=$1
    shift
fi
((EUID == 0)) || ckv_die "the fault suite creates network namespaces and iptables rules: run it as root"

ckv_install_deps iproute2 iptables
if [[ -z "${CAUSALKV_BIN:-}" ]]; then
    CKV_BUILD_TARGETS="${CKV_BUILD_TARGETS:-causalkv}" \
        ckv_build "$CKV_ROOT/build-faults" -DCMAKE_BUILD_TYPE=Debug -DCKV_SANITIZE=ON
    CAUSALKV_BIN="$CKV_ROOT/build-faults/causalkv"
fi
[[ -x "$CAUSALKV_BIN" ]] || ckv_die "CAUSALKV_BIN=$CAUSALKV_BIN is not executable"
export CAUSALKV_BIN
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# the checker's own unit tests first: a broken checker judges nothing
python3 "$CKV_ROOT/test/faults/test_checker.py" >&2 2>&1 ||
    ckv_die "checker unit tests failed"

args=(--time "$secs")
[[ -n "${CKV_FAULTS_OUT:-}" ]] && args+=(--out "$CKV_FAULTS_OUT")
[[ -n "${CKV_FAULTS_SEED:-}" ]] && args+=(--seed "$CKV_FAULTS_SEED")
# run.py removes its namespaces and processes on exit, Ctrl-C and SIGTERM
exec python3 "$CKV_ROOT/test/faults/run.py" "${args[@]}" "$@"
