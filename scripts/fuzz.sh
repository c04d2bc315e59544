#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — run every libFuzzer target for SECONDS (default 60) each.
#
# Installs clang and its libFuzzer runtime (libclang-rt-<major>-dev) when missing, builds
# build-fuzz with clang, -DCKV_FUZZ=ON -DCKV_SANITIZE=ON (ASan + UBSan), then runs the
# targets one after the other with test/fuzz/dict/json.dict and test/fuzz/corpus/<target>
# as seeds. New inputs go to build-fuzz/fuzz-work/<target>/corpus, never into the
# repository; crash, leak and timeout inputs to build-fuzz/fuzz-work/<target>/.
# Prints the executions per target and exits 1 when any target failed.
#
#   CKV_FUZZ_TARGETS="internal config"   run only these targets
#   CKV_FUZZ_ARGS="-jobs=2"              extra libFuzzer flags
#
# A crash found: minimise it (build-fuzz/test/fuzz/fuzz_<target> -minimize_crash=1
# -runs=10000 <crash-file>), add it to test/fuzz/corpus/<target>/ and fix the code; the
# regular test suite replays that corpus (ctest -R fuzz.replay_).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    ckv_die "usage: $0 [seconds]"
fi
fuzz_targets="${CKV_FUZZ_TARGETS:-client_body context view_change internal config config_file journal ctx_header fwd_batch}"

# clang first: its major version names the runtime package.
ckv_install_deps clang
major="$(clang -dumpversion | cut -d. -f1)"
rt_pkg="libclang-rt-${major}-dev" # libFuzzer and the sanitizer runtimes (bookworm: 14)
installed="$(apt-cache policy "$rt_pkg" 2>/dev/null | awk '/Installed:/ { print $2 }')"
if [[ -z "$installed" || "$installed" == "(none)" ]]; then
    ckv_install_deps "$rt_pkg"
fi

build="$CKV_ROOT/build-fuzz"
bins=""
for t in $fuzz_targets; do bins+=" fuzz_$t"; done
CC=clang CKV_BUILD_TARGETS="${bins# }" ckv_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCKV_FUZZ=ON -DCKV_SANITIZE=ON

work="$build/fuzz-work"
dict="$CKV_ROOT/test/fuzz/dict/json.dict"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

declare -A execs=()
declare -A status=()
failed=0
for t in $fuzz_targets; do
    bin="$build/test/fuzz/fuzz_$t"
    seeds="$CKV_ROOT/test/fuzz/corpus/$t"
    [[ -x "$bin" ]] || ckv_die "no fuzz target $bin"
    [[ -d "$seeds" ]] || ckv_die "no seed corpus $seeds"
    rm -rf "${work:?}/$t"
    mkdir -p "$work/$t/corpus"
    log="$work/$t/fuzz.log"
    ckv_log "fuzzing $t for ${seconds}s (log: $log)"
    rc=0
    # shellcheck disable=SC2086  # CKV_FUZZ_ARGS is a list of flags
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="$dict" -artifact_prefix="$work/$t/" ${CKV_FUZZ_ARGS:-} \
        "$work/$t/corpus" "$seeds" >"$log" 2>&1 || rc=$?
    # "stat::number_of_executed_units: N" (final stats), else the last "#N" status line.
    n="$(awk '/^stat::number_of_executed_units:/ { v = $2 } END { print v }' "$log")"
    if [[ -z "$n" ]]; then
        n="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)"
    fi
    execs[$t]="${n:-0}"
    artifacts="$(find "$work/$t" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
        sort | tr '\n' ' ')"
    if ((rc != 0)) || [[ -n "$artifacts" ]]; then
        status[$t]="FAILED (exit $rc) ${artifacts}"
        failed=1
        ckv_log "$t failed; the end of its log:"
        tail -n 40 "$log" >&2
    else
        status[$t]="ok"
    fi
done

printf '%-14s %14s  %s\n' target executions result
for t in $fuzz_targets; do
    printf '%-14s %14s  %s\n' "$t" "${execs[$t]}" "${status[$t]}"
done
if ((failed)); then
    ckv_die "a fuzz target failed; minimise the input and add it to test/fuzz/corpus/<target>/"
fi
