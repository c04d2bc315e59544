# shellcheck shell=bash
# scripts/lib.sh — helpers shared by the scripts in this folder. Source it:
#
#   # shellcheck source=scripts/lib.sh
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Functions (all log to stderr, so a script's stdout stays its own):
#   ckv_install_deps [EXTRA_PKG...]   install the missing Debian packages among the build
#                                     dependencies (plus the extra ones named); apt-get update
#                                     runs first, and only when something is missing
#   ckv_build DIR [CMAKE_ARG...]      configure DIR from the repo root and build it;
#                                     CKV_BUILD_TARGETS="a b" limits the targets,
#                                     CKV_BUILD_JOBS the parallelism (default: nproc)
#   ckv_release_bin                   build build-release (Release) and print the path of
#                                     its causalkv; CAUSALKV_BIN overrides the binary
#   ckv_http_get URL [TIMEOUT_S]      print the body of a 2xx reply; fails otherwise
#   ckv_wait_http URL DEADLINE_S [PID]  poll URL until it answers 2xx; fails at the deadline
#                                     or as soon as PID (if given) has exited
#   ckv_stop_pid PID [DEADLINE_S]     SIGTERM, then SIGKILL after the deadline (default 5 s)
#   ckv_rss_kb PID                    VmRSS of PID in kB
#   ckv_stop_on_exit                  stop every PID in the array PIDS (by PID, never by
#                                     name) when the script exits or is interrupted
#   ckv_log MSG... / ckv_die MSG...   messages on stderr; ckv_die exits 1
#
# Variables: CKV_ROOT (repository root), CKV_DEPS (the build dependency list).

if [[ -n "${CKV_LIB_LOADED:-}" ]]; then
    return 0
fi
CKV_LIB_LOADED=1

CKV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CKV_DEPS=(cmake gcc make pkg-config libevent-dev libjansson-dev libcmocka-dev python3)
export CKV_ROOT

ckv_log() {
    printf '%s: %s\n' "${CKV_LOG_PREFIX:-$(basename "$0")}" "$*" >&2
}

ckv_die() {
    ckv_log "error: $*"
    exit 1
}

# _ckv_pkg_present PKG: true when the package (or what it provides) is already there.
# Tools are looked up as commands (python3 may come from elsewhere than dpkg), libraries
# through pkg-config, anything else through dpkg.
_ckv_pkg_present() {
    local pkg=$1 pc=""
    case "$pkg" in
        libevent-dev) pc=libevent ;;
        libjansson-dev) pc=jansson ;;
        libcmocka-dev) pc=cmocka ;;
    esac
    if [[ -n "$pc" ]]; then
        if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$pc"; then
            return 0
        fi
    elif [[ "$pkg" != lib* ]] && command -v "$pkg" >/dev/null 2>&1; then
        return 0
    fi
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" == "install ok installed" ]]
}

# shellcheck disable=SC2120  # callers pass extra packages
ckv_install_deps() {
    local pkg
    local -a missing=()
    for pkg in "${CKV_DEPS[@]}" "$@"; do
        _ckv_pkg_present "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        ckv_die "missing packages (${missing[*]}) and no apt-get to install them"
    fi
    local -a sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            ckv_die "missing packages (${missing[*]}): run as root or install sudo"
        fi
    fi
    ckv_log "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 ||
        ckv_die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        ckv_die "apt-get install ${missing[*]} failed"
}

ckv_build() {
    (($# >= 1)) || ckv_die "usage: ckv_build DIR [CMAKE_ARG...]"
    local dir=$1
    shift
    local jobs="${CKV_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
    local -a targets=()
    local t
    for t in ${CKV_BUILD_TARGETS:-}; do
        targets+=(--target "$t")
    done
    ckv_log "configuring $dir"
    cmake -S "$CKV_ROOT" -B "$dir" "$@" >&2 || ckv_die "cmake configure of $dir failed"
    ckv_log "building $dir${CKV_BUILD_TARGETS:+ (${CKV_BUILD_TARGETS})}"
    cmake --build "$dir" -j "$jobs" "${targets[@]}" >&2 || ckv_die "build of $dir failed"
}

ckv_release_bin() {
    if [[ -n "${CAUSALKV_BIN:-}" ]]; then
        [[ -x "$CAUSALKV_BIN" ]] || ckv_die "CAUSALKV_BIN=$CAUSALKV_BIN is not executable"
        printf '%s\n' "$CAUSALKV_BIN"
        return 0
    fi
    # shellcheck disable=SC2119
    ckv_install_deps
    CKV_BUILD_TARGETS="${CKV_BUILD_TARGETS:-causalkv}" \
        ckv_build "$CKV_ROOT/build-release" -DCMAKE_BUILD_TYPE=Release
    printf '%s\n' "$CKV_ROOT/build-release/causalkv"
}

ckv_http_get() {
    local url=$1 timeout=${2:-2}
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time "$timeout" "$url" 2>/dev/null
    else
        python3 - "$url" "$timeout" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
        sys.stdout.write(r.read().decode("utf-8", "replace"))
except Exception:
    sys.exit(1)
EOF
    fi
}

ckv_wait_http() {
    local url=$1 deadline_s=$2 pid=${3:-}
    local end=$((SECONDS + deadline_s))
    while true; do
        if ckv_http_get "$url" 1 >/dev/null; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            ckv_log "process $pid exited before $url answered"
            return 1
        fi
        if ((SECONDS >= end)); then
            ckv_log "$url did not answer within ${deadline_s}s"
            return 1
        fi
        sleep 0.1
    done
}

# _ckv_pid_state PID: the state letter of PID (R, S, Z, ...), empty when it is gone.
_ckv_pid_state() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    printf '%s' "${stat%% *}"
}

# _ckv_gone PID: true when PID no longer runs (gone, or a zombie, which is then reaped
# if it is a child of this shell).
_ckv_gone() {
    local st
    st="$(_ckv_pid_state "$1")"
    if [[ -z "$st" ]]; then
        return 0
    fi
    if [[ "$st" == Z ]]; then
        wait "$1" 2>/dev/null || true
        return 0
    fi
    return 1
}

ckv_stop_pid() {
    local pid=$1 deadline_s=${2:-5}
    _ckv_gone "$pid" && return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    local end=$((SECONDS + deadline_s))
    while ! _ckv_gone "$pid"; do
        if ((SECONDS >= end)); then
            ckv_log "pid $pid ignored SIGTERM for ${deadline_s}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            end=$((SECONDS + 2))
            while ! _ckv_gone "$pid" && ((SECONDS < end)); do
                sleep 0.05
            done
            break
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || true
    return 0
}

ckv_rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# PIDS: the processes a script started; ckv_stop_on_exit stops them all when it ends.
PIDS=()

# shellcheck disable=SC2317  # called by the EXIT trap
ckv_stop_pids() {
    local pid
    for pid in "${PIDS[@]}"; do
        ckv_stop_pid "$pid" 3
    done
    PIDS=()
}

ckv_stop_on_exit() {
    trap ckv_stop_pids EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
