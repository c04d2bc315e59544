#!/usr/bin/env bash
# bench/callgrind_ops.sh — instructions per request of one kind, under valgrind's callgrind.
#
#   bash bench/callgrind_ops.sh BIN [get|get-ctx|put|put-replicated] [X-Request-Id]
#
# Starts BIN (a Release causalkv) on 127.0.0.4:18300 under callgrind and sends it N
# requests from one keep-alive Python client (bench/callgrind_client.py, with the request
# id header when given), then stops it with SIGTERM; once with N=1000, once with N=3000.
#   get             one node; one PUT, then N GETs of that key (the default)
#   get-ctx         as get, each GET with the PUT's causal context as its body
#   put             one node; N PUTs of 100-byte values to N keys
#   put-replicated  as put, with a second node (127.0.0.5:18300, not under callgrind) in
#                   one shard, REPL_FACTOR=2: every write is also pushed to it
# Prints the instructions of the HTTP path (libevent's read and write callbacks,
# inclusive: the timers' work left out, a push's reply counted) per request, from the
# difference of the two runs, and the whole process's too. Two runs of one binary differ
# by up to about 1.5 %.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
usage="usage: bench/callgrind_ops.sh BIN [get|get-ctx|put|put-replicated] [X-Request-Id]"
(($# >= 1)) || ckv_die "$usage"
bin=$1
op=${2:-get}
rid=${3:-}
[[ "$op" =~ ^(get|get-ctx|put|put-replicated)$ ]] || ckv_die "$usage"
addr=127.0.0.4:18300
replica=127.0.0.5:18300
out=$(mktemp -d)
PIDS=()
ckv_stop_on_exit

client() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/callgrind_client.py" "$addr" "$1" "$rid" "$2" \
        "${op%-replicated}"
}

# node_env ADDR: the settings of a node at ADDR for this kind of run.
node_env() {
    local view=$addr rf=1
    if [[ "$op" == put-replicated ]]; then
        view="$addr,$replica" rf=2
    fi
    printf '%s\n' "ADDRESS=$1" "BIND=${1%:*}" "PORT=${1##*:}" "VIEW=$view" "REPL_FACTOR=$rf" \
        LOG_LEVEL=warn
}

run() {
    local -a env_front env_replica
    mapfile -t env_front < <(node_env "$addr")
    if [[ "$op" == put-replicated ]]; then
        mapfile -t env_replica < <(node_env "$replica")
        env "${env_replica[@]}" "$bin" 2>"$out/$1.replica.log" &
        PIDS+=($!)
    fi
    env "${env_front[@]}" valgrind --tool=callgrind --callgrind-out-file="$out/$1.out" "$bin" \
        2>"$out/$1.log" &
    local front=$!
    PIDS+=("$front")
    client "$1" "$front"
    kill -TERM "$front"
    wait "$front" || true
    ckv_stop_pids
    PIDS=()
}

http_ir() {
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
        awk '/bufferevent_run_(read|write)cb_ /{gsub(",", "", $1); s += $1} END {print s}'
}

total_ir() {
    awk '/^summary:/{print $2; exit}' "$1"
}

run 1000
run 3000
a=$(http_ir "$out/1000.out")
b=$(http_ir "$out/3000.out")
ta=$(total_ir "$out/1000.out")
tb=$(total_ir "$out/3000.out")
echo "instructions per $op: HTTP path $(((b - a) / 2000)), whole process $(((tb - ta) / 2000))"
rm -rf "$out"
