#!/usr/bin/env bash
# scripts/lint.sh — the checks that need no build: every C source and header of the tree
# is clang-formatted (.clang-format), and the shell scripts pass shellcheck. Installs
# clang-format and shellcheck when they are missing. Exits non-zero on any finding,
# after printing them all. scripts/test.sh runs it right after the build.
#
#   CKV_LINT_FIX=1   reformat the C files in place instead of only checking them
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CKV_LOG_PREFIX=lint.sh

ckv_install_deps clang-format shellcheck
cd "$CKV_ROOT"

# The files git knows (tracked, or new and not ignored); every *.c and *.h outside a
# build folder when this is not a git checkout.
list_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard -- "$@" |
            while IFS= read -r -d '' f; do
                [[ -f "$f" ]] && printf '%s\n' "$f"
            done
    else
        local -a names=()
        local p
        for p in "$@"; do
            names+=(-o -name "$p")
        done
        find . -path './build*' -prune -o -path './run' -prune -o -type f \
            \( "${names[@]:1}" \) -print | sed 's|^\./||' | sort
    fi
}

rc=0

mapfile -t c_files < <(list_files '*.c' '*.h')
if ((${#c_files[@]} == 0)); then
    ckv_die "no C files found under $CKV_ROOT"
fi
if [[ "${CKV_LINT_FIX:-}" == 1 ]]; then
    clang-format -i "${c_files[@]}"
    ckv_log "clang-format: reformatted ${#c_files[@]} files in place"
elif ! clang-format --dry-run --Werror "${c_files[@]}"; then
    mapfile -t bad < <(for f in "${c_files[@]}"; do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || printf '%s\n' "$f"
    done)
    ckv_log "clang-format: ${#bad[@]} of ${#c_files[@]} files are not formatted: ${bad[*]}"
    ckv_log "fix with: clang-format -i ${bad[*]}"
    rc=1
else
    ckv_log "clang-format: ${#c_files[@]} files formatted"
fi

mapfile -t sh_files < <(list_files 'scripts/*.sh' '.ci/run')
if ! shellcheck -x "${sh_files[@]}"; then
    ckv_log "shellcheck: findings above"
    rc=1
else
    ckv_log "shellcheck: ${#sh_files[@]} scripts clean"
fi

exit "$rc"
