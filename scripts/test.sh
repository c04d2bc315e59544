#!/usr/bin/env bash
# scripts/test.sh — install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, and run every test (cmocka units, then the integration
# tests that start real clusters on loopback). Exits non-zero on any failure.
#   CKV_TEST_FILTER=regex   run only the ctest tests whose name matches
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# python3-yaml: the compose file's structural check (test_ops.py) when Docker is absent
ckv_install_deps python3-yaml
build="$CKV_ROOT/build-test"
ckv_build "$build" -DCMAKE_BUILD_TYPE=Debug -DCKV_SANITIZE=ON

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd "$build"
# Unit tests are quick and say most when something is wrong: run them first.
ctest --output-on-failure -L unit ${CKV_TEST_FILTER:+-R "$CKV_TEST_FILTER"}
ctest --output-on-failure -L integration -j "${CKV_TEST_JOBS:-2}" \
    ${CKV_TEST_FILTER:+-R "$CKV_TEST_FILTER"}
