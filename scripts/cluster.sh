#!/usr/bin/env bash
# scripts/cluster.sh — a local causalkv cluster on loopback, for users without Docker.
#
#   scripts/cluster.sh up [--data] N R [PORT]
#                                      start N nodes, R replicas per shard (N/R shards);
#                                      --data: each node keeps its data in RUN_DIR/dataI
#                                      (DATA_DIR), kept across down and up
#   scripts/cluster.sh status          pid, liveness, shard and key count of every node
#   scripts/cluster.sh down            stop every node (SIGTERM, SIGKILL after a deadline)
#   scripts/cluster.sh stop I          stop node I (1-based), e.g. to test a failure
#   scripts/cluster.sh start I         start node I again with its original configuration
#
# Like docker/docker-compose.yml, node i listens on its own address 127.0.0.(i+1) and the
# same port (default 13800) for all: node 1 is 127.0.0.2:13800, node 2 127.0.0.3:13800, …
# VIEW lists them in that order. Every other variable of the environment (LOG_LEVEL,
# CLUSTER_SECRET, the tunables) passes through to the nodes.
#
# The run folder (CKV_RUN_DIR, default <repo>/run/cluster) holds cluster.env, nodeI.pid
# and nodeI.log. `up` builds build-release (causalkv and causalkv-cli; incremental, so it
# is quick when nothing changed) unless CAUSALKV_BIN=PATH names the binary to use or
# CKV_NO_BUILD=1 says to use an existing build-release/causalkv as it is; it prints the
# node addresses on stdout, one a line. CKV_UP_TIMEOUT (s, default 15) bounds the wait for
# the nodes to answer GET /kv-store/key-count.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CKV_LOG_PREFIX=cluster.sh

RUN_DIR="${CKV_RUN_DIR:-$CKV_ROOT/run/cluster}"
ENV_FILE="$RUN_DIR/cluster.env"
STOP_DEADLINE="${CKV_STOP_TIMEOUT:-5}"

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

is_uint() {
    [[ "$1" =~ ^[0-9]+$ ]]
}

# in_range V LO HI: V is a decimal integer in [LO, HI].
in_range() {
    is_uint "$1" || return 1
    (($1 >= $2 && $1 <= $3))
}

node_ip() {
    printf '127.0.0.%d' "$(($1 + 1))"
}

# Loads N, R, PORT, VIEW, BIN of the cluster recorded in the run folder.
load_env() {
    [[ -f "$ENV_FILE" ]] || return 1
    N="" R="" PORT="" VIEW="" BIN="" DATA=0
    local k v
    while IFS='=' read -r k v; do
        case "$k" in
            N) N=$v ;;
            R) R=$v ;;
            PORT) PORT=$v ;;
            VIEW) VIEW=$v ;;
            BIN) BIN=$v ;;
            DATA) DATA=$v ;;
        esac
    done <"$ENV_FILE"
    if ! is_uint "$N" || ! is_uint "$R" || ! is_uint "$PORT" || [[ -z "$VIEW" || -z "$BIN" ]]; then
        ckv_die "$ENV_FILE is damaged; remove $RUN_DIR by hand"
    fi
}

# node_pid I: the recorded pid of node I if that process still runs causalkv, else "".
node_pid() {
    local f="$RUN_DIR/node$1.pid" pid exe
    [[ -f "$f" ]] || return 0
    pid="$(cat "$f")"
    is_uint "$pid" || return 0
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    exe="${exe% (deleted)}"
    # A pid reused by another program is not ours to signal.
    if [[ -n "$exe" && "$exe" == "$BIN" ]]; then
        printf '%s' "$pid"
    fi
}

# start_node I [append]: start node I in its own session (a Ctrl-C in the shell that ran
# `up` does not reach it), its output in nodeI.log (appended to on a restart).
start_node() {
    local i=$1 ip addr pid log
    ip="$(node_ip "$i")"
    addr="$ip:$PORT"
    log="$RUN_DIR/node$i.log"
    if [[ "${2:-}" == append ]]; then
        printf '\n--- restarted by cluster.sh start at %s ---\n' "$(date -Is)" >>"$log"
    else
        : >"$log"
    fi
    local data_dir=""
    if [[ "${DATA:-0}" == 1 ]]; then
        data_dir="$RUN_DIR/data$i"
    fi
    ADDRESS="$addr" VIEW="$VIEW" REPL_FACTOR="$R" BIND="$ip" PORT="$PORT" DATA_DIR="$data_dir" \
        setsid "$BIN" </dev/null >>"$log" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$RUN_DIR/node$i.pid"
}

wait_node() {
    local i=$1 pid addr
    addr="$(node_ip "$i"):$PORT"
    pid="$(cat "$RUN_DIR/node$i.pid")"
    if ! ckv_wait_http "http://$addr/kv-store/key-count" "${CKV_UP_TIMEOUT:-15}" "$pid"; then
        ckv_log "node $i ($addr) did not come up; last lines of $RUN_DIR/node$i.log:"
        tail -n 20 "$RUN_DIR/node$i.log" >&2 || true
        return 1
    fi
}

stop_nodes() {
    local i pid
    local -a pids=()
    for ((i = 1; i <= N; i++)); do
        pid="$(node_pid "$i")"
        if [[ -n "$pid" ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do
        ckv_stop_pid "$pid" "$STOP_DEADLINE"
    done
    for ((i = 1; i <= N; i++)); do
        rm -f "$RUN_DIR/node$i.pid"
    done
}

cmd_up() {
    DATA=0
    if [[ "${1:-}" == --data ]]; then
        DATA=1
        shift
    fi
    (($# >= 2 && $# <= 3)) || {
        usage >&2
        exit 2
    }
    N=$1 R=$2 PORT=${3:-13800}
    in_range "$N" 1 253 || ckv_die "N must be 1..253, not '$N'"
    in_range "$R" 1 253 || ckv_die "R must be 1..253, not '$R'"
    ((N % R == 0)) || ckv_die "N ($N) must be a multiple of R ($R)"
    in_range "$PORT" 1 65535 || ckv_die "PORT must be 1..65535, not '$PORT'"

    if [[ -f "$ENV_FILE" ]]; then
        local newN=$N newR=$R newPORT=$PORT newDATA=$DATA i
        load_env
        for ((i = 1; i <= N; i++)); do
            if [[ -n "$(node_pid "$i")" ]]; then
                ckv_die "a cluster is already running in $RUN_DIR (scripts/cluster.sh down first)"
            fi
        done
        N=$newN R=$newR PORT=$newPORT DATA=$newDATA
    fi

    if [[ -n "${CAUSALKV_BIN:-}" ]]; then
        BIN="$(ckv_release_bin)"
    elif [[ "${CKV_NO_BUILD:-0}" != 1 ]]; then
        # The client too, so that build-release/causalkv-cli can talk to the cluster.
        BIN="$(CKV_BUILD_TARGETS="${CKV_BUILD_TARGETS:-causalkv causalkv-cli}" ckv_release_bin)"
    elif [[ "${CKV_NO_BUILD:-0}" == 1 && -x "$CKV_ROOT/build-release/causalkv" ]]; then
        BIN="$CKV_ROOT/build-release/causalkv"
    else
        BIN="$(ckv_release_bin)"
    fi
    BIN="$(readlink -f "$BIN")"

    local i
    local -a addrs=()
    for ((i = 1; i <= N; i++)); do
        addrs+=("$(node_ip "$i"):$PORT")
    done
    VIEW="$(
        IFS=,
        printf '%s' "${addrs[*]}"
    )"

    mkdir -p "$RUN_DIR"
    rm -f "$RUN_DIR"/node*.pid "$RUN_DIR"/node*.log
    printf 'N=%s\nR=%s\nPORT=%s\nVIEW=%s\nBIN=%s\nDATA=%s\n' "$N" "$R" "$PORT" "$VIEW" "$BIN" "$DATA" \
        >"$ENV_FILE"

    for ((i = 1; i <= N; i++)); do
        start_node "$i"
    done
    for ((i = 1; i <= N; i++)); do
        if ! wait_node "$i"; then
            stop_nodes
            rm -f "$ENV_FILE"
            ckv_die "cluster did not start"
        fi
    done
    ckv_log "up: $N nodes, $((N / R)) shards of $R replicas; logs and pids in $RUN_DIR$(
        ((DATA)) && printf '; data in %s/dataI' "$RUN_DIR"
    )"
    ckv_log "VIEW=$VIEW"
    if [[ -x "$(dirname "$BIN")/causalkv-cli" ]]; then
        ckv_log "try: $(dirname "$BIN")/causalkv-cli --node ${addrs[0]} put greeting hello"
    fi
    printf '%s\n' "${addrs[@]}"
}

cmd_status() {
    if ! load_env; then
        ckv_log "no cluster in $RUN_DIR"
        exit 3
    fi
    local i pid addr body count shard state down=0
    printf '%-5s %-21s %-8s %-6s %-6s %s\n' NODE ADDRESS PID STATE SHARD KEYS
    for ((i = 1; i <= N; i++)); do
        addr="$(node_ip "$i"):$PORT"
        pid="$(node_pid "$i")"
        count=- shard=-
        if [[ -z "$pid" ]]; then
            state=down
            pid=-
        elif body="$(ckv_http_get "http://$addr/kv-store/key-count" 2)"; then
            state=up
            count="$(sed -n 's/.*"key-count"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' <<<"$body")"
            shard="$(sed -n 's/.*"shard-id"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' <<<"$body")"
        else
            state=silent
        fi
        [[ "$state" == up ]] || down=$((down + 1))
        printf '%-5s %-21s %-8s %-6s %-6s %s\n' "$i" "$addr" "$pid" "$state" "${shard:--}" "${count:--}"
    done
    printf 'VIEW=%s REPL_FACTOR=%s (%d shards); run folder %s\n' "$VIEW" "$R" "$((N / R))" "$RUN_DIR"
    ((down == 0))
}

cmd_down() {
    if ! load_env; then
        ckv_log "no cluster in $RUN_DIR"
        return 0
    fi
    stop_nodes
    rm -f "$ENV_FILE"
    ckv_log "down; logs kept in $RUN_DIR"
}

node_index() {
    in_range "$1" 1 "$N" || ckv_die "node index must be 1..$N, not '$1'"
}

cmd_stop() {
    (($# == 1)) || ckv_die "usage: cluster.sh stop I"
    load_env || ckv_die "no cluster in $RUN_DIR"
    node_index "$1"
    local pid
    pid="$(node_pid "$1")"
    if [[ -n "$pid" ]]; then
        ckv_stop_pid "$pid" "$STOP_DEADLINE"
    fi
    rm -f "$RUN_DIR/node$1.pid"
    ckv_log "node $1 ($(node_ip "$1"):$PORT) stopped"
}

cmd_start() {
    (($# == 1)) || ckv_die "usage: cluster.sh start I"
    load_env || ckv_die "no cluster in $RUN_DIR"
    node_index "$1"
    [[ -z "$(node_pid "$1")" ]] || ckv_die "node $1 is already running"
    start_node "$1" append
    wait_node "$1" || ckv_die "node $1 did not come up"
    ckv_log "node $1 ($(node_ip "$1"):$PORT) started"
}

main() {
    local cmd=${1:-}
    if (($# > 0)); then
        shift
    fi
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        stop) cmd_stop "$@" ;;
        start) cmd_start "$@" ;;
        -h | --help | help)
            usage
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
