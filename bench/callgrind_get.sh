#!/usr/bin/env bash
# bench/callgrind_get.sh — instructions per single-node GET, under valgrind's callgrind.
#
#   bash bench/callgrind_get.sh BIN [X-Request-Id]
#
# Starts BIN (a Release causalkv) alone on 127.0.0.1:18300 under callgrind, sends one PUT
# and then N GETs of that key from one keep-alive Python client (with the request id
# header when given), stops it with SIGTERM; once with N=1000, once with N=3000. Prints
# the instructions of the HTTP path (libevent's read and write callbacks, inclusive: the
# timers' work left out) per GET, from the difference of the two runs, and the whole
# process's too. Two runs of one binary differ by up to about 1.5 %.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
(($# >= 1)) || ckv_die "usage: bench/callgrind_get.sh BIN [X-Request-Id]"
bin=$1
rid=${2:-}
addr=127.0.0.1:18300
out=$(mktemp -d)
PIDS=()
ckv_stop_on_exit

client() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/callgrind_client.py" "$addr" "$1" "$rid" "$2"
}

run() {
    ADDRESS=$addr valgrind --tool=callgrind --callgrind-out-file="$out/$1.out" "$bin" \
        2>"$out/$1.log" &
    PIDS=($!)
    client "$1" "${PIDS[0]}"
    kill -TERM "${PIDS[0]}"
    wait "${PIDS[0]}" || true
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
echo "instructions per GET: HTTP path $(((b - a) / 2000)), whole process $(((tb - ta) / 2000))"
rm -rf "$out"
