#!/usr/bin/env bash
# scripts/bench.sh — causalkv against the ceiling of its own stack (bench/baseline.c).
#
# Builds build-release (Release), starts every server it needs on loopback, runs the
# scenarios of the benchmark issue with one wrk setting (1 thread, 32 keep-alive
# connections, BENCH_DURATION s after a BENCH_WARMUP s warm-up), baseline and causalkv
# alternately, prints one table and writes bench/results/latest.json.
#
#   1 GET of existing keys, no body (one node)          5 GET of keys of another shard
#   2 GET with a causal-context body (one node)            (proxied), 4 nodes, R=2
#   3 PUT of 100-byte values over 10,000 keys           6 PUT of keys of the node's own shard
#   4 90% GET / 10% PUT (one node)                         (each write replicated), 4 nodes, R=2
#   7 memory: bulk load of BENCH_KEYS keys (16-byte keys, 100-byte values) into one node:
#     load rate, RSS after the load, overhead per key = (RSS_after - RSS_idle)/keys - 116
#   8 view change of BENCH_KEYS keys from 2 to 3 shards: seconds and keys moved
#   9 scenario 3 with DATA_DIR on /dev/shm, FSYNC=everysec  (9-11: ratio to the baseline,
#  10 scenario 3 with DATA_DIR on /dev/shm, FSYNC=always      and to the mean of the same
#  11 scenario 3 with DATA_DIR on the work disk (run/bench),  PUTs against a node without
#     FSYNC=everysec                                          DATA_DIR, run just before
#                                                             and just after)
#  12 recovery: BENCH_KEYS keys loaded with DATA_DIR on /dev/shm, kill -9, restart: seconds
#     until /healthz answers 200, and bytes on disk per key
#  13 GETs (as scenario 1) while that node writes a snapshot of its BENCH_KEYS keys: p99
#  14 GET /kv-store/status (the dashboard's poll) on the node of scenarios 1-4: what 10
#     tabs polling once a second cost that node (10 / its status req/s)
#  15 PUT over keys of both shards (local and remote in turn, so about half are proxied),
#     all sent to one node of the cluster of 5-6 (4 nodes, R=2)
#  16 PUT of keys of the node's own shard, 6 nodes, R=3 (each write pushed to 2 replicas)
#  5, 6, 15, 16 also read the front node's /metrics before and after each causalkv run:
#     mean proxy batch (batched requests / batches) and push batch (pushed versions /
#     pushes) over the run, "n/a" when this binary lacks a counter or it did not move; and
#     the bucket of its histogram of endpoint "keys" that holds the run's p99, beside wrk's
#
# Environment:
#   BENCH_DURATION   measured seconds per run (default 10)
#   BENCH_WARMUP     warm-up seconds before each run (default 2; 0 skips it)
#   BENCH_SCENARIOS  which scenarios to run (default "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")
#   BENCH_KEYS       keys of scenarios 7, 8, 12 and 13 (default 1000000)
#   BENCH_LOAD_MAX   cap in seconds on one bulk load (default 60)
#   BENCH_VC_MAX     cap in seconds on the view change (default 60)
#   BENCH_BUDGET     seconds the whole run may take (default 480): the caps of the bulk
#                    loads and the view change shrink to fit what is left of it, so a slow
#                    node shows up as a shortfall in the table instead of an overlong run
#   BENCH_PORT       first port (default 18000; uses it up to +8)
#   BENCH_LOG_LEVEL  LOG_LEVEL of the nodes (default warn)
#   BENCH_OUT        JSON output (default bench/results/latest.json)
#   CAUSALKV_BIN     a causalkv binary to use instead of build-release's
#   BENCH_OLD_BIN    a second (older) causalkv binary: scenarios 1-6, 15 and 16 also run
#                    against it, on nodes of its own beside the new ones, in the order new,
#                    old, old, new (so a steady drift of the machine cancels), and the table
#                    gains new/old, the sum of the two new runs' req/s over the two old runs',
#                    and cpu new/old, the CPU time all nodes of the scenario spent per
#                    request (utime + stime from /proc), new over old
#   BENCH_AB_ROUNDS  with BENCH_OLD_BIN: how many times new, old, old, new runs (default 1);
#                    new/old and cpu new/old then cover every run, and the table shows the
#                    lowest and highest ratio of one round's four runs
# Logs and wrk outputs of the last run are kept in run/bench/.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CKV_LOG_PREFIX=bench.sh

DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
SCENARIOS=" ${BENCH_SCENARIOS:-1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16} "
BIG_KEYS="${BENCH_KEYS:-1000000}"
SMALL_KEYS=10000
LOAD_MAX="${BENCH_LOAD_MAX:-60}"
VC_MAX="${BENCH_VC_MAX:-60}"
BUDGET="${BENCH_BUDGET:-480}"
PORT0="${BENCH_PORT:-18000}"
LOG_LEVEL_NODES="${BENCH_LOG_LEVEL:-warn}"
OUT="${BENCH_OUT:-$CKV_ROOT/bench/results/latest.json}"
THREADS=1
CONNS=32
WRK_TIMEOUT=5s
BENCH_DIR="$CKV_ROOT/bench"
RUN="$CKV_ROOT/run/bench"

for v in DURATION WARMUP BIG_KEYS LOAD_MAX VC_MAX BUDGET PORT0; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || ckv_die "$v must be a whole number, not '${!v}'"
done
((DURATION >= 1)) || ckv_die "BENCH_DURATION must be at least 1"
((BIG_KEYS >= 2)) || ckv_die "BENCH_KEYS must be at least 2"
((PORT0 >= 1024 && PORT0 + 8 < 32768)) || ckv_die "BENCH_PORT must be in 1024..32759"

BASE_ADDR="127.0.0.1:$PORT0"          # the baseline server
SINGLE_ADDR="127.0.0.1:$((PORT0 + 1))" # scenarios 1-4
MEM_ADDR="127.0.0.1:$((PORT0 + 2))"    # scenarios 7 and 9-11
CLUSTER_PORT=$((PORT0 + 3))            # scenarios 5-6, 15 and 8: 127.0.0.2… on one port
DUR_ADDR="127.0.0.1:$((PORT0 + 4))"    # scenarios 9-13
OLD_SINGLE_ADDR="127.0.0.1:$((PORT0 + 5))" # BENCH_OLD_BIN: scenarios 1-4
OLD_CLUSTER_PORT=$((PORT0 + 6))            # BENCH_OLD_BIN: scenarios 5-6 and 15
CLUSTER6_PORT=$((PORT0 + 7))               # scenario 16: 127.0.0.2… on one port
OLD_CLUSTER6_PORT=$((PORT0 + 8))           # BENCH_OLD_BIN: scenario 16
SHM_DIR="/dev/shm/causalkv-bench-$$"   # DATA_DIR in memory-backed storage
DISK_DIR="$RUN/data"                   # DATA_DIR on the disk holding the repository

# ---------------------------------------------------------------- processes
ckv_stop_on_exit
# the nodes first, then their data in /dev/shm (memory that outlives the run otherwise)
trap 'ckv_stop_pids; rm -rf "$SHM_DIR"' EXIT

# forget_pid PID: after stopping it.
forget_pid() {
    local -a keep=()
    local p
    for p in "${PIDS[@]}"; do
        [[ "$p" == "$1" ]] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
}

stop_proc() {
    ckv_stop_pid "$1" 5
    forget_pid "$1"
}

# stop_all PID...: SIGTERM to all of them at once, then stop_proc each.
stop_all() {
    local pid
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        stop_proc "$pid"
    done
}

# start_node NAME ADDR VIEW RF [VAR=VALUE...]: starts causalkv (with those variables too),
# waits until it answers; sets LAST_PID.
start_node() {
    local name=$1 addr=$2 view=$3 rf=$4
    shift 4
    env ADDRESS="$addr" VIEW="$view" REPL_FACTOR="$rf" BIND="${addr%:*}" PORT="${addr##*:}" \
        LOG_LEVEL="$LOG_LEVEL_NODES" "$@" "${NODE_BIN:-$BIN}" </dev/null >>"$RUN/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    if ! ckv_wait_http "http://$addr/kv-store/key-count" 15 "$LAST_PID"; then
        tail -n 20 "$RUN/$name.log" >&2 || true
        ckv_die "causalkv $name ($addr) did not start; see $RUN/$name.log"
    fi
}

start_baseline() {
    "$BASELINE" "${BASE_ADDR%:*}" "${BASE_ADDR##*:}" </dev/null >"$RUN/baseline.log" 2>&1 &
    BASELINE_PID=$!
    PIDS+=("$BASELINE_PID")
    if ! ckv_wait_http "http://$BASE_ADDR/" 10 "$BASELINE_PID"; then
        cat "$RUN/baseline.log" >&2 || true
        ckv_die "the baseline did not start"
    fi
}

key_count() {
    local body
    body="$(ckv_http_get "http://$1/kv-store/key-count" 10)" || return 1
    json_field "key-count" <<<"$body"
}

# json_field NAME < JSON: prints a top-level field (compact JSON for objects).
json_field() {
    python3 "$BENCH_DIR/benchtool.py" json-field "$1"
}

scenario_on() {
    [[ "$SCENARIOS" == *" $1 "* ]]
}

# ---------------------------------------------------------------- wrk runs
RESULTS="$RUN/results.tsv" # scenario \t server \t BENCH_RESULT json (or "null")
EXTRA="$RUN/extra.tsv"     # key \t json value (scenarios 7 and 8)

# wrk_run OUTFILE DURATION_S SCRIPT URL: one wrk run; prints the BENCH_RESULT JSON.
wrk_run() {
    local out=$1 dur=$2 script=$3 url=$4
    if ! wrk -t"$THREADS" -c"$CONNS" -d"${dur}s" --timeout "$WRK_TIMEOUT" \
        -s "$BENCH_DIR/$script" "$url" >"$out" 2>&1; then
        ckv_log "wrk failed ($script against $url); see $out"
        return 1
    fi
    local line
    line="$(sed -n 's/^BENCH_RESULT //p' "$out")"
    if [[ -z "$line" ]]; then
        ckv_log "wrk printed no result ($script against $url); see $out"
        return 1
    fi
    printf '%s\n' "$line"
}

# measure ID SERVER SCRIPT URL [METRICS_ADDR]: warm-up, then the measured run; records the
# result. With METRICS_ADDR, that node's /metrics are read just before and just after the
# measured run, and bench/node_metrics.py's figures (batch sizes, the node's p99 of
# endpoint "keys") go to EXTRA as "node_metrics ID SERVER".
measure() {
    local id=$1 server=$2 script=$3 url=$4 maddr=${5:-} res
    local tag="s$id-$server"
    if ((WARMUP > 0)); then
        wrk_run "$RUN/$tag.warmup.out" "$WARMUP" "$script" "$url" >/dev/null || true
    fi
    # a node that does not answer leaves an empty file: its figures are n/a
    [[ -z "$maddr" ]] || ckv_http_get "http://$maddr/metrics" 5 >"$RUN/$tag.metrics-before" || true
    local -a cpu_pids
    read -r -a cpu_pids <<<"${CPU_PIDS:-}"
    local ticks_before ticks_after
    ticks_before="$(cpu_ticks "${cpu_pids[@]}")"
    if res="$(wrk_run "$RUN/$tag.out" "$DURATION" "$script" "$url")"; then
        python3 "$BENCH_DIR/benchtool.py" wrk-line "$res" "$server"
    else
        res=null
    fi
    ticks_after="$(cpu_ticks "${cpu_pids[@]}")"
    printf '%s\t%s\t%s\n' "$id" "$server" "$res" >>"$RESULTS"
    if ((${#cpu_pids[@]} > 0)); then
        extra "cpu $id $server" "{\"cpu_s\": $(awk -v t=$((ticks_after - ticks_before)) \
            -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')}"
    fi
    if [[ -n "$maddr" ]]; then
        ckv_http_get "http://$maddr/metrics" 5 >"$RUN/$tag.metrics-after" || true
        extra "node_metrics $id $server" "$(python3 "$BENCH_DIR/node_metrics.py" \
            "$RUN/$tag.metrics-before" "$RUN/$tag.metrics-after" "$res")"
    fi
}

# pair ID TITLE SCRIPT CKV_ADDR [OLD_ADDR]: the scenario against the baseline, then against
# causalkv; with OLD_ADDR (BENCH_OLD_BIN's node) new, old, old, new, AB_ROUNDS times (runs
# named causalkv, old, old_2, causalkv_2, causalkv_3, old_3, …). With PAIR_METRICS=1 each
# causalkv (and old) run also reads the /metrics of the node it sends to (measure); the
# CPU time of the processes in new_pids (old_pids for the old runs) is read around each.
pair() {
    local id=$1 title=$2 script=$3 addr=$4 old=${5:-}
    local m_new="" m_old="" r a b
    if [[ "${PAIR_METRICS:-}" == 1 ]]; then
        m_new=$addr m_old=$old
    fi
    ckv_log "scenario $id: $title"
    measure "$id" baseline "$script" "http://$BASE_ADDR/"
    CPU_PIDS="${new_pids[*]}" measure "$id" causalkv "$script" "http://$addr/" "$m_new"
    [[ -n "$old" ]] || return 0
    for ((r = 1; r <= AB_ROUNDS; r++)); do
        a=_$((2 * r - 1)) b=_$((2 * r))
        [[ "$a" != _1 ]] || a=""
        ((r == 1)) || CPU_PIDS="${new_pids[*]}" measure "$id" "causalkv$a" "$script" \
            "http://$addr/" "$m_new"
        CPU_PIDS="${old_pids[*]}" old_env measure "$id" "old$a" "$script" "http://$old/" "$m_old"
        CPU_PIDS="${old_pids[*]}" old_env measure "$id" "old$b" "$script" "http://$old/" "$m_old"
        CPU_PIDS="${new_pids[*]}" measure "$id" "causalkv$b" "$script" "http://$addr/" "$m_new"
    done
}

# cpu_ticks PID...: the CPU time (user + system, in clock ticks) those processes have used.
cpu_ticks() {
    local pid sum=0 stat
    local -a f
    for pid in "$@"; do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
        stat="${stat##*) }" # the fields after the command name
        read -r -a f <<<"$stat"
        sum=$((sum + f[11] + f[12]))
    done
    printf '%s' "$sum"
}

# old_env CMD...: CMD with the old node's causal context as BENCH_CONTEXT (scenario 2).
old_env() {
    BENCH_CONTEXT="${OLD_CONTEXT:-${BENCH_CONTEXT:-}}" "$@"
}

# start_old NAME ADDR VIEW RF: a node of BENCH_OLD_BIN (nothing without it).
start_old() {
    [[ -n "$OLD_BIN" ]] || return 0
    NODE_BIN="$OLD_BIN" start_node "$@"
}

# context_of ADDR: the context a PUT's reply returns there (a context that node reached).
context_of() {
    local reply
    reply="$(curl -fsS --max-time 5 -X PUT -H 'Content-Type: application/json' \
        -d "{\"value\":\"$(printf 'v%.0s' {1..100})\"}" \
        "http://$1/kv-store/keys/$(printf 'k%015d' 0)")" ||
        ckv_die "PUT for the causal context failed at $1"
    json_field causal-context <<<"$reply" || ckv_die "no causal-context in the reply: $reply"
}

# bulk_load OUTFILE ADDR START COUNT [CAP_S]: loads keys with bench/load.lua; prints its
# result.
bulk_load() {
    local out=$1 addr=$2 start=$3 count=$4 cap=${5:-$LOAD_MAX}
    BENCH_LOAD_START="$start" BENCH_LOAD_COUNT="$count" \
        wrk_run "$out" "$cap" load.lua "http://$addr/"
}

# cap_to_budget WANT RESERVE: WANT seconds, or less so that RESERVE seconds of the budget
# remain afterwards; at least 5.
cap_to_budget() {
    local want=$1 reserve=$2 left
    left=$((BUDGET - SECONDS - reserve))
    ((left < want)) && want=$left
    ((want < 5)) && want=5
    printf '%s' "$want"
}

extra() {
    printf '%s\t%s\n' "$1" "$2" >>"$EXTRA"
}

# ---------------------------------------------------------------- setup
SECONDS=0
ckv_install_deps wrk curl
if [[ -n "${CAUSALKV_BIN:-}" ]]; then
    CKV_BUILD_TARGETS=ckv-baseline ckv_build "$CKV_ROOT/build-release" -DCMAKE_BUILD_TYPE=Release
    BIN="$CAUSALKV_BIN"
else
    CKV_BUILD_TARGETS="causalkv ckv-baseline" \
        ckv_build "$CKV_ROOT/build-release" -DCMAKE_BUILD_TYPE=Release
    BIN="$CKV_ROOT/build-release/causalkv"
fi
BASELINE="$CKV_ROOT/build-release/ckv-baseline"
[[ -x "$BIN" ]] || ckv_die "no causalkv binary at $BIN"
OLD_BIN="${BENCH_OLD_BIN:-}"
AB_ROUNDS="${BENCH_AB_ROUNDS:-1}"
[[ "$AB_ROUNDS" =~ ^[1-9][0-9]*$ ]] || ckv_die "BENCH_AB_ROUNDS: a positive number, not $AB_ROUNDS"
CLK_TCK="$(getconf CLK_TCK)"
[[ -z "$OLD_BIN" || -x "$OLD_BIN" ]] || ckv_die "BENCH_OLD_BIN: no executable at $OLD_BIN"

rm -rf "$RUN"
mkdir -p "$RUN" "$(dirname "$OUT")"
: >"$RESULTS"
: >"$EXTRA"
export BENCH_KEY_COUNT="$SMALL_KEYS"
ckv_log "wrk -t$THREADS -c$CONNS -d${DURATION}s after ${WARMUP}s warm-up; scenarios:$SCENARIOS"

# Other work on the machine skews every number: say so when there is any.
read -r load_start_1m _ </proc/loadavg
if awk -v l="$load_start_1m" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    ckv_log "warning: load average $load_start_1m on $(nproc) cores before the run: the numbers will be low and noisy"
fi

start_baseline

# ---------------------------------------------------------------- scenarios 1-4: one node
if scenario_on 1 || scenario_on 2 || scenario_on 3 || scenario_on 4 || scenario_on 14; then
    start_node single "$SINGLE_ADDR" "$SINGLE_ADDR" 1
    single_pid=$LAST_PID
    old_single="" old_single_pid=""
    new_pids=("$single_pid") old_pids=()
    if [[ -n "$OLD_BIN" ]]; then
        start_old old-single "$OLD_SINGLE_ADDR" "$OLD_SINGLE_ADDR" 1
        old_single=$OLD_SINGLE_ADDR old_single_pid=$LAST_PID
        old_pids=("$old_single_pid")
    fi
    for addr in "$SINGLE_ADDR" $old_single; do
        bulk_load "$RUN/single-load-$addr.out" "$addr" 0 "$SMALL_KEYS" >/dev/null ||
            ckv_die "could not load $SMALL_KEYS keys into $addr"
        n="$(key_count "$addr")" || ckv_die "no key count from $addr"
        [[ "$n" == "$SMALL_KEYS" ]] || ckv_die "$addr holds $n keys after loading $SMALL_KEYS"
    done

    scenario_on 1 && pair 1 "GET, no body" get.lua "$SINGLE_ADDR" "$old_single"
    if scenario_on 2; then
        # A context the node has reached: the one its reply to a write returns.
        BENCH_CONTEXT="$(context_of "$SINGLE_ADDR")"
        export BENCH_CONTEXT
        [[ -z "$old_single" ]] || OLD_CONTEXT="$(context_of "$old_single")"
        extra context "$BENCH_CONTEXT"
        ckv_log "context body: {\"causal-context\":$BENCH_CONTEXT}"
        pair 2 "GET with a causal-context body" get_ctx.lua "$SINGLE_ADDR" "$old_single"
    fi
    scenario_on 3 &&
        pair 3 "PUT of 100-byte values over $SMALL_KEYS keys" put.lua "$SINGLE_ADDR" "$old_single"
    scenario_on 4 && pair 4 "90% GET / 10% PUT" mix.lua "$SINGLE_ADDR" "$old_single"
    if scenario_on 14; then
        ckv_log "scenario 14: GET /kv-store/status"
        measure 14 causalkv status.lua "http://$SINGLE_ADDR/"
    fi
    stop_proc "$single_pid"
    [[ -z "$old_single_pid" ]] || stop_proc "$old_single_pid"
fi

# ---------------------------------------------------------------- scenarios 5-6: 4 nodes, R=2
cluster_addrs() { # cluster_addrs N [PORT]: 127.0.0.2:P … 127.0.0.(N+1):P, comma-separated
    local i out="" port=${2:-$CLUSTER_PORT}
    for ((i = 2; i <= $1 + 1; i++)); do
        out+="${out:+,}127.0.0.$i:$port"
    done
    printf '%s' "$out"
}

# start_cluster N R PORT OLD_PORT TAG: N nodes with REPL_FACTOR=R on PORT (and, with
# BENCH_OLD_BIN, N of the old binary on OLD_PORT), loaded with SMALL_KEYS keys. Sets
# cluster_pids (new_pids and old_pids together), front and old_front (empty without
# BENCH_OLD_BIN), and writes the keys the
# front node's shard owns to $RUN/local-TAG.keys, the others to $RUN/remote-TAG.keys (a
# proxied reply carries "address"; the old cluster has the same view order, so the same
# keys are local to its front node).
start_cluster() {
    local n=$1 rf=$2 port=$3 old_port=$4 tag=$5 i view old_view addr
    local -a nodes old_nodes
    view="$(cluster_addrs "$n" "$port")"
    IFS=, read -r -a nodes <<<"$view"
    cluster_pids=() new_pids=() old_pids=()
    for ((i = 0; i < n; i++)); do
        start_node "$tag-node$((i + 1))" "${nodes[$i]}" "$view" "$rf"
        new_pids+=("$LAST_PID")
    done
    front="${nodes[0]}" old_front=""
    if [[ -n "$OLD_BIN" ]]; then
        old_view="$(cluster_addrs "$n" "$old_port")"
        IFS=, read -r -a old_nodes <<<"$old_view"
        for ((i = 0; i < n; i++)); do
            start_old "old-$tag-node$((i + 1))" "${old_nodes[$i]}" "$old_view" "$rf"
            old_pids+=("$LAST_PID")
        done
        old_front="${old_nodes[0]}"
    fi
    cluster_pids=("${new_pids[@]}" "${old_pids[@]}")
    for addr in "$front" $old_front; do
        bulk_load "$RUN/$tag-load-$addr.out" "$addr" 0 "$SMALL_KEYS" >/dev/null ||
            ckv_die "could not load $SMALL_KEYS keys into the $n-node cluster of $addr"
    done
    python3 "$BENCH_DIR/shard_keys.py" "$front" "$RUN/local-$tag.keys" "$RUN/remote-$tag.keys" \
        4000 || ckv_die "could not sort the keys of the $n-node cluster by shard"
}

if scenario_on 5 || scenario_on 6 || scenario_on 15; then
    start_cluster 4 2 "$CLUSTER_PORT" "$OLD_CLUSTER_PORT" c4
    if scenario_on 5; then
        PAIR_METRICS=1 BENCH_KEYS_FILE="$RUN/remote-c4.keys" \
            pair 5 "proxied GET (4 nodes, R=2)" get.lua "$front" "$old_front"
    fi
    if scenario_on 6; then
        PAIR_METRICS=1 BENCH_KEYS_FILE="$RUN/local-c4.keys" \
            pair 6 "replicated PUT (4 nodes, R=2)" put.lua "$front" "$old_front"
    fi
    if scenario_on 15; then
        # local and remote keys in turn (blank lines, when one list is longer, are skipped):
        # about half the writes are proxied, the other half replicated by the front node
        paste -d '\n' "$RUN/local-c4.keys" "$RUN/remote-c4.keys" >"$RUN/both.keys"
        PAIR_METRICS=1 BENCH_KEYS_FILE="$RUN/both.keys" \
            pair 15 "PUT over keys of both shards, sent to one node (4 nodes, R=2)" put.lua \
            "$front" "$old_front"
    fi
    stop_all "${cluster_pids[@]}"
fi

# ---------------------------------------------------------------- scenario 16: 6 nodes, R=3
if scenario_on 16; then
    start_cluster 6 3 "$CLUSTER6_PORT" "$OLD_CLUSTER6_PORT" c6
    PAIR_METRICS=1 BENCH_KEYS_FILE="$RUN/local-c6.keys" \
        pair 16 "replicated PUT (6 nodes, R=3)" put.lua "$front" "$old_front"
    stop_all "${cluster_pids[@]}"
fi

# ---------------------------------------------------------------- scenarios 9-11: DATA_DIR
# durable_put ID TITLE DATA_DIR FSYNC: scenario 3 against a node that keeps a journal,
# between two runs of the same PUTs against a node without one (started beside it with
# the same keys): the ratio to the mean of those two is not skewed by the machine
# speeding up or slowing down between scenario 3 and this one.
durable_put() {
    local id=$1 title=$2 dir=$3 fsync=$4
    rm -rf "$dir"
    start_node "durable$id" "$DUR_ADDR" "$DUR_ADDR" 1 DATA_DIR="$dir" FSYNC="$fsync"
    local pid=$LAST_PID
    start_node "memory$id" "$MEM_ADDR" "$MEM_ADDR" 1
    local mem_pid=$LAST_PID
    local addr
    for addr in "$DUR_ADDR" "$MEM_ADDR"; do
        bulk_load "$RUN/s$id-load-$addr.out" "$addr" 0 "$SMALL_KEYS" >/dev/null ||
            ckv_die "could not load $SMALL_KEYS keys into $addr"
    done
    ckv_log "scenario $id: $title"
    measure "$id" baseline put.lua "http://$BASE_ADDR/"
    measure "$id" memory_before put.lua "http://$MEM_ADDR/"
    measure "$id" causalkv put.lua "http://$DUR_ADDR/"
    measure "$id" memory_after put.lua "http://$MEM_ADDR/"
    extra "journal$id" "$(ckv_http_get "http://$DUR_ADDR/metrics" 5 |
        python3 "$BENCH_DIR/benchtool.py" journal-metrics)"
    stop_proc "$mem_pid"
    stop_proc "$pid"
    rm -rf "$dir"
}
scenario_on 9 && durable_put 9 "PUT, DATA_DIR on /dev/shm, FSYNC=everysec" "$SHM_DIR" everysec
scenario_on 10 && durable_put 10 "PUT, DATA_DIR on /dev/shm, FSYNC=always" "$SHM_DIR" always
scenario_on 11 && durable_put 11 "PUT, DATA_DIR on the work disk, FSYNC=everysec" "$DISK_DIR" \
    everysec

# The baseline is not needed any more.
stop_proc "$BASELINE_PID"

# ---------------------------------------------------------------- scenario 7: memory
if scenario_on 7; then
    ckv_log "scenario 7: bulk load of $BIG_KEYS keys into one node"
    start_node mem "$MEM_ADDR" "$MEM_ADDR" 1
    mem_pid=$LAST_PID
    rss_idle="$(ckv_rss_kb "$mem_pid")"
    # Leave time for scenario 8: two loads' worth plus the view change.
    reserve=10
    scenario_on 8 && reserve=$((reserve + 60))
    cap="$(cap_to_budget "$LOAD_MAX" "$reserve")"
    if res="$(bulk_load "$RUN/s7-load.out" "$MEM_ADDR" 0 "$BIG_KEYS" "$cap")"; then
        rss_after="$(ckv_rss_kb "$mem_pid")"
        loaded="$(key_count "$MEM_ADDR")" || loaded=0
        extra memory "$(python3 "$BENCH_DIR/benchtool.py" memory "$res" "$BIG_KEYS" "$loaded" \
            "$rss_idle" "$rss_after")"
        ckv_log "  loaded $loaded keys; RSS $((rss_idle / 1024)) MiB idle, $((rss_after / 1024)) MiB after"
    else
        extra memory '{"error":"bulk load failed"}'
    fi
    stop_proc "$mem_pid"
fi

# ---------------------------------------------------------------- scenario 8: view change
if scenario_on 8; then
    ckv_log "scenario 8: view change of $BIG_KEYS keys from 2 to 3 shards"
    view2="$(cluster_addrs 2)"
    view3="$(cluster_addrs 3)"
    IFS=, read -r -a nodes3 <<<"$view3"
    vc_pids=()
    loaders=()
    for i in 0 1; do
        start_node "vc-node$((i + 1))" "${nodes3[$i]}" "$view2" 1
        vc_pids+=("$LAST_PID")
    done
    # The joining node starts with the new view, as in the docker-compose example.
    start_node vc-node3 "${nodes3[2]}" "$view3" 1
    vc_pids+=("$LAST_PID")

    # Two loaders in parallel, one per old node, each sending only the keys that its
    # node's shard owns (bench/common.lua computes ownership like src/shard_map.c).
    cap="$(cap_to_budget "$LOAD_MAX" 30)"
    load_start=$SECONDS
    for i in 0 1; do
        BENCH_LOAD_START=0 BENCH_LOAD_COUNT=$BIG_KEYS BENCH_LOAD_SHARD=$((i + 1)) \
            BENCH_LOAD_SHARDS=2 wrk -t1 -c"$CONNS" -d"${cap}s" --timeout "$WRK_TIMEOUT" \
            -s "$BENCH_DIR/load.lua" "http://${nodes3[$i]}/" >"$RUN/s8-load$((i + 1)).out" 2>&1 &
        PIDS+=("$!")
        loaders[i]=$!
    done
    load_ok=1
    for pid in "${loaders[@]}"; do
        wait "$pid" || load_ok=0
        forget_pid "$pid"
    done
    load_secs=$((SECONDS - load_start))
    c1="$(key_count "${nodes3[0]}")" || c1=0
    c2="$(key_count "${nodes3[1]}")" || c2=0
    ckv_log "  loaded $((c1 + c2)) keys in about ${load_secs}s (shard 1: $c1, shard 2: $c2)"
    extra load2 "{\"keys\":$((c1 + c2)),\"seconds\":$load_secs}"
    ((load_ok)) || ckv_log "  a loader failed; see $RUN/s8-load*.out"

    cap="$(cap_to_budget "$VC_MAX" 5)"
    body="{\"view\":[\"${nodes3[0]}\",\"${nodes3[1]}\",\"${nodes3[2]}\"],\"repl-factor\":1}"
    # Only the wall clock of this one request is measured.
    vc="$(curl -sS --max-time "$cap" -o "$RUN/s8-view-change.json" \
        -w '%{http_code} %{time_total}' -X PUT -H 'Content-Type: application/json' \
        -d "$body" "http://${nodes3[0]}/kv-store/view-change")" || vc="000 $cap"
    extra view_change "$(python3 "$BENCH_DIR/benchtool.py" view-change "$vc" "$BIG_KEYS" \
        "$c1" "$c2" "$RUN/s8-view-change.json")"
    ckv_log "  view change: HTTP ${vc% *} in ${vc#* } s"
    stop_all "${vc_pids[@]}"
fi

# ---------------------------------------------------------------- scenarios 12-13: recovery
if scenario_on 12 || scenario_on 13; then
    ckv_log "scenario 12: recovery of $BIG_KEYS keys from DATA_DIR on /dev/shm"
    rm -rf "$SHM_DIR"
    # no snapshot during the load: the restart replays the whole journal (the slow case)
    start_node recovery "$DUR_ADDR" "$DUR_ADDR" 1 DATA_DIR="$SHM_DIR" FSYNC=everysec \
        SNAPSHOT_MIN_BYTES=4000000000
    rec_pid=$LAST_PID
    cap="$(cap_to_budget "$LOAD_MAX" 40)"
    bulk_load "$RUN/s12-load.out" "$DUR_ADDR" 0 "$BIG_KEYS" "$cap" >/dev/null || true
    loaded="$(key_count "$DUR_ADDR")" || loaded=0
    kill -KILL "$rec_pid"
    wait "$rec_pid" 2>/dev/null || true
    forget_pid "$rec_pid"
    disk_bytes="$(du -sb "$SHM_DIR" | awk '{ print $1 }')"
    # A snapshot starts at the first housekeeping tick after the restart (the journal
    # outgrows SNAPSHOT_MIN_BYTES): scenario 13 measures GETs while it is written.
    t0="$(date +%s.%N)"
    start_node recovery "$DUR_ADDR" "$DUR_ADDR" 1 DATA_DIR="$SHM_DIR" FSYNC=everysec \
        SNAPSHOT_MIN_BYTES=4096
    rec_pid=$LAST_PID
    ckv_wait_http "http://$DUR_ADDR/healthz" 60 "$rec_pid" || ckv_die "no recovery within 60 s"
    t1="$(date +%s.%N)"
    extra recovery "$(python3 "$BENCH_DIR/benchtool.py" recovery "$BIG_KEYS" "$loaded" \
        "$t0" "$t1" "$disk_bytes")"
    ckv_log "  $loaded keys back in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s; $disk_bytes bytes on disk"
    if scenario_on 13; then
        ckv_log "scenario 13: GETs while a snapshot of $loaded keys is written"
        # no warm-up: the snapshot starts within a second of the restart
        if res="$(wrk_run "$RUN/s13-causalkv.out" "$DURATION" get.lua "http://$DUR_ADDR/")"; then
            python3 "$BENCH_DIR/benchtool.py" wrk-line "$res" causalkv
        else
            res=null
        fi
        printf '13\tcausalkv\t%s\n' "$res" >>"$RESULTS"
        extra journal13 "$(ckv_http_get "http://$DUR_ADDR/metrics" 5 |
            python3 "$BENCH_DIR/benchtool.py" journal-metrics)"
    fi
    stop_proc "$rec_pid"
    rm -rf "$SHM_DIR"
fi

# ---------------------------------------------------------------- table and JSON
commit="$(git -C "$CKV_ROOT" rev-parse -q --verify --short HEAD 2>/dev/null || true)"
commit="${commit:-none}"
if [[ "$commit" != none ]] &&
    [[ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$CKV_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    commit+="-dirty"
fi
cpu="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
mem_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"

# `wrk -v` prints its version, then its usage, and exits 1.
read -r load_end_1m _ </proc/loadavg
wrk_version="$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')"

python3 "$BENCH_DIR/report.py" "$RESULTS" "$EXTRA" "$OUT" "$commit" "$cpu" "$(nproc)" \
    "$mem_kb" "$(uname -r)" "$wrk_version" "$THREADS" "$CONNS" "$DURATION" "$WARMUP" \
    "$SECONDS" "$load_start_1m" "$load_end_1m"

# A scenario that produced no number fails the run; a missed target does not.
if grep -q $'\tnull$' "$RESULTS"; then
    ckv_die "some runs failed; see $RUN"
fi
