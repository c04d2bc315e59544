#!/usr/bin/env bash
# scripts/overload.sh [SECONDS] — one node under overload (issue 6): connection cap and
# memory bound. SECONDS defaults to 300 (the full run takes about SECONDS + 15 s once
# build-release is built).
#
#   1. builds build-release (Release) and starts one node on OVERLOAD_ADDR with
#      MAX_CONNECTIONS=OVERLOAD_MAX_CONNECTIONS (64) and measures its idle RSS;
#   2. a prober opens OVERLOAD_HELD (8) keep-alive connections and uses each once a second
#      for the whole run ("existing connections");
#   3. wrk runs for SECONDS with OVERLOAD_CONNECTIONS (48) keep-alive connections, below
#      the cap: ~70% GET / 25% PUT over OVERLOAD_KEYS (10,000) keys with 100-byte values
#      and ~5% malformed requests (bench/overload.lua);
#   4. halfway, the prober opens OVERLOAD_BURST (128) new connections at once, more than
#      the cap allows: the ones over the cap must get 503 "Too many connections" quickly
#      (under OVERLOAD_503_MS, 1000 ms) and be closed, while the existing connections keep
#      getting 200; once the burst is closed a new connection is served again;
#   5. RSS is sampled every OVERLOAD_SAMPLE_S (5) seconds; the run fails if any sample is
#      above 2 x idle RSS + the data loaded (live keys x (16-byte key + 100-byte value)).
#
# Prints a short report; exits 1 when a check failed. Logs and raw outputs go to
# run/overload/. OVERLOAD_PORT (default 18200) and OVERLOAD_ADDR (default
# 127.0.0.1:OVERLOAD_PORT) choose where the node listens; CAUSALKV_BIN runs another
# binary instead of build-release's.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CKV_LOG_PREFIX=overload.sh

SECS="${1:-300}"
PORT="${OVERLOAD_PORT:-18200}"
ADDR="${OVERLOAD_ADDR:-127.0.0.1:$PORT}"
CAP="${OVERLOAD_MAX_CONNECTIONS:-64}"
CONNS="${OVERLOAD_CONNECTIONS:-48}"
HELD="${OVERLOAD_HELD:-8}"
BURST="${OVERLOAD_BURST:-128}"
SAMPLE="${OVERLOAD_SAMPLE_S:-5}"
KEYS="${OVERLOAD_KEYS:-10000}"
MAX_503_MS="${OVERLOAD_503_MS:-1000}"
RUN="$CKV_ROOT/run/overload"
KV_BYTES=116 # bytes of data per live key: a 16-byte key and a 100-byte value

for v in SECS PORT CAP CONNS HELD BURST SAMPLE KEYS MAX_503_MS; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || ckv_die "$v must be a whole number, not '${!v}' (usage: $0 [seconds])"
done
((SECS >= 10)) || ckv_die "run for at least 10 seconds"
((SAMPLE >= 1)) || ckv_die "OVERLOAD_SAMPLE_S must be at least 1"
((CONNS + HELD < CAP)) || ckv_die "wrk's and the prober's connections must stay below the cap"
((BURST > CAP - CONNS - HELD)) || ckv_die "the burst must go over the cap"
[[ "${ADDR%:*}" == 127.* ]] || ckv_die "OVERLOAD_ADDR must be a 127.x address"

ckv_stop_on_exit

ckv_install_deps wrk
BIN="$(ckv_release_bin)"
[[ -x "$BIN" ]] || ckv_die "no causalkv binary at $BIN"
rm -rf "$RUN"
mkdir -p "$RUN"

# ---------------------------------------------------------------- the node
ADDRESS="$ADDR" BIND="${ADDR%:*}" PORT="${ADDR##*:}" MAX_CONNECTIONS="$CAP" LOG_LEVEL=warn \
    "$BIN" </dev/null >"$RUN/node.log" 2>&1 &
NODE=$!
PIDS+=("$NODE")
if ! ckv_wait_http "http://$ADDR/kv-store/key-count" 15 "$NODE"; then
    tail -n 20 "$RUN/node.log" >&2 || true
    ckv_die "the node did not start; see $RUN/node.log"
fi
RSS_IDLE="$(ckv_rss_kb "$NODE")"
ckv_log "node $ADDR (pid $NODE, MAX_CONNECTIONS=$CAP): idle RSS ${RSS_IDLE} kB"

# ---------------------------------------------------------------- the prober

python3 "$CKV_ROOT/bench/prober.py" "$ADDR" "$SECS" "$((SECS / 2))" "$BURST" "$HELD" \
    "$RUN/prober.json" "$RUN/prober.ready" >"$RUN/prober.log" 2>&1 &
PROBER=$!
PIDS+=("$PROBER")
end=$((SECONDS + 15))
while [[ ! -e "$RUN/prober.ready" ]]; do
    kill -0 "$PROBER" 2>/dev/null || ckv_die "the prober failed: $(cat "$RUN/prober.log")"
    ((SECONDS < end)) || ckv_die "the prober did not open its connections within 15 s"
    sleep 0.1
done

# ---------------------------------------------------------------- wrk, and RSS samples
ckv_log "wrk -t1 -c$CONNS -d${SECS}s (bench/overload.lua, $KEYS keys); burst of $BURST at $((SECS / 2)) s"
OVERLOAD_KEYS="$KEYS" wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 5s \
    -s "$CKV_ROOT/bench/overload.lua" "http://$ADDR/" >"$RUN/wrk.out" 2>&1 &
WRK=$!
PIDS+=("$WRK")

RSS_MAX=0
: >"$RUN/rss.tsv"
start=$SECONDS
sample() {
    local rss
    rss="$(ckv_rss_kb "$NODE" 2>/dev/null)" || ckv_die "the node died; see $RUN/node.log"
    [[ -n "$rss" ]] || ckv_die "the node died; see $RUN/node.log"
    printf '%s\t%s\n' "$((SECONDS - start))" "$rss" >>"$RUN/rss.tsv"
    ((rss > RSS_MAX)) && RSS_MAX=$rss
    return 0
}
while kill -0 "$WRK" 2>/dev/null; do
    sample
    # the sampling pace; wake early when wrk is done
    for ((i = 0; i < SAMPLE * 10; i++)); do
        kill -0 "$WRK" 2>/dev/null || break
        sleep 0.1
    done
done
wrk_rc=0
wait "$WRK" || wrk_rc=$?
prober_rc=0
wait "$PROBER" || prober_rc=$?
sample

# ---------------------------------------------------------------- checks and report
LIVE="$(ckv_http_get "http://$ADDR/kv-store/key-count" 5 |
    python3 "$CKV_ROOT/bench/benchtool.py" json-field key-count)" ||
    ckv_die "no key count from the node after the run"
DATA_KB=$(((LIVE * KV_BYTES + 1023) / 1024))
LIMIT_KB=$((2 * RSS_IDLE + DATA_KB))
# SIGTERM must make the node exit 0 (within a second, says the README; 10 s at most here)
kill -TERM "$NODE"
(sleep 10 && kill -KILL "$NODE" 2>/dev/null) &
WATCHDOG=$!
node_rc=0
wait "$NODE" || node_rc=$?
kill "$WATCHDOG" 2>/dev/null || true
wait "$WATCHDOG" 2>/dev/null || true

report_rc=0
python3 "$CKV_ROOT/bench/overload_report.py" "$RUN" "$wrk_rc" "$prober_rc" "$RSS_IDLE" "$RSS_MAX" \
    "$DATA_KB" "$LIMIT_KB" "$LIVE" "$SECS" "$CAP" "$CONNS" "$HELD" "$BURST" "$MAX_503_MS" \
    "$node_rc" || report_rc=$?
exit "$report_rc"
