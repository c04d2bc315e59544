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
cat >"$RUN/prober.py" <<'EOF'
"""Existing keep-alive connections used once a second, and a burst of new connections."""
import json, os, select, socket, sys, time

addr, secs, burst_at, burst_n, held_n, out, ready = sys.argv[1:8]
secs, burst_at, burst_n, held_n = float(secs), float(burst_at), int(burst_n), int(held_n)
host, port = addr.rsplit(":", 1)
port = int(port)
REQ = ("GET /kv-store/key-count HTTP/1.1\r\nHost: %s\r\n\r\n" % addr).encode()


def read_reply(s, timeout):
    """(status, body) of one reply, or raises; EOF before a full reply raises."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(buf) >= end + 4 + length:
                return int(head[0].split()[1]), buf[end + 4:end + 4 + length]
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            raise TimeoutError("no reply within %.1fs" % timeout)
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the node")
        buf += chunk


def closed_soon(s, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return False
        try:
            if s.recv(65536) == b"":
                return True
        except OSError:
            return True


res = {"held": held_n, "held_requests": 0, "held_failures": [], "burst": burst_n}
t0 = time.monotonic()
held = []
for i in range(held_n):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(REQ)
    st, _ = read_reply(s, 5)
    if st != 200:
        sys.exit("held connection %d: first request got %d" % (i, st))
    held.append(s)
open(ready, "w").close()


def held_round(tag):
    for i, s in enumerate(held):
        if s is None:
            continue
        try:
            s.sendall(REQ)
            st, body = read_reply(s, 5)
            res["held_requests"] += 1
            if st != 200:
                res["held_failures"].append("%s: conn %d got %d %r" % (tag, i, st, body[:100]))
        except Exception as e:
            res["held_failures"].append("%s: conn %d: %r" % (tag, i, e))
            held[i] = None


burst_done = False
next_round = time.monotonic()
while time.monotonic() - t0 < secs:
    held_round("t=%.0fs" % (time.monotonic() - t0))
    if not burst_done and time.monotonic() - t0 >= burst_at:
        burst_done = True
        socks, lat, statuses, errors, not_closed = [], [], {}, [], 0
        for _ in range(burst_n):
            socks.append(socket.create_connection((host, port), timeout=5))
        for s in socks:
            s.sendall(REQ)
        sent = time.monotonic()
        admitted = []
        for s in socks:
            try:
                st, body = read_reply(s, 5)
            except Exception as e:
                errors.append(repr(e))
                continue
            statuses[st] = statuses.get(st, 0) + 1
            if st == 503:
                lat.append(time.monotonic() - sent)
                if b"Too many connections" not in body:
                    errors.append("503 without 'Too many connections': %r" % body[:200])
                if not closed_soon(s, 2):
                    not_closed += 1
            elif st == 200:
                admitted.append(s)
            else:
                errors.append("status %d: %r" % (st, body[:200]))
        # while the burst's admitted connections are held, the existing ones still work
        held_round("during the burst")
        extra = socket.create_connection((host, port), timeout=5)
        extra.sendall(REQ)
        try:
            st_extra, _ = read_reply(extra, 5)
        except Exception as e:
            st_extra = repr(e)
        extra.close()
        for s in socks:
            s.close()
        # once they are gone, a new connection is served again
        t_rec, recovered = time.monotonic(), None
        while time.monotonic() - t_rec < 5:
            try:
                c = socket.create_connection((host, port), timeout=5)
                c.sendall(REQ)
                st, _ = read_reply(c, 5)
                c.close()
                if st == 200:
                    recovered = (time.monotonic() - t_rec) * 1000
                    break
            except Exception:
                pass
            time.sleep(0.05)
        lat.sort()
        res.update({"burst_statuses": statuses, "burst_errors": errors,
                    "burst_admitted": len(admitted), "burst_refused": statuses.get(503, 0),
                    "burst_503_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
                    "burst_503_max_ms": round(lat[-1] * 1000, 1) if lat else None,
                    "burst_503_not_closed": not_closed,
                    "new_connection_during_burst": st_extra,
                    "recovered_after_ms": round(recovered, 1) if recovered is not None else None})
    next_round += 1.0
    time.sleep(max(0.0, next_round - time.monotonic()))  # the prober's pace: once a second
for s in held:
    if s is not None:
        s.close()
with open(out, "w") as f:
    json.dump(res, f)
EOF

python3 "$RUN/prober.py" "$ADDR" "$SECS" "$((SECS / 2))" "$BURST" "$HELD" \
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
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key-count"])')" ||
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
python3 - "$RUN" "$wrk_rc" "$prober_rc" "$RSS_IDLE" "$RSS_MAX" "$DATA_KB" "$LIMIT_KB" "$LIVE" \
    "$SECS" "$CAP" "$CONNS" "$HELD" "$BURST" "$MAX_503_MS" "$node_rc" <<'EOF' || report_rc=$?
import json, os, sys

run = sys.argv[1]
(wrk_rc, prober_rc, idle, peak, data, limit, live, secs, cap, conns, held, burst, max503,
 node_rc) = (int(x) for x in sys.argv[2:16])
problems = []
if node_rc != 0:
    problems.append("the node exited with status %d on SIGTERM; see %s/node.log" % (node_rc, run))


def load(path):
    try:
        with open(os.path.join(run, path)) as f:
            return f.read()
    except OSError:
        return ""


wrk = None
for line in load("wrk.out").splitlines():
    if line.startswith("OVERLOAD_RESULT "):
        wrk = json.loads(line[len("OVERLOAD_RESULT "):])
if wrk_rc != 0 or wrk is None:
    problems.append("wrk failed (exit %d); see %s/wrk.out" % (wrk_rc, run))
prober = None
if prober_rc != 0:
    problems.append("the prober failed (exit %d): %s" % (prober_rc, load("prober.log")[-500:]))
else:
    prober = json.loads(load("prober.json"))

print("overload report (%d s, one node, MAX_CONNECTIONS=%d)" % (secs, cap))
print("  RSS: idle %d kB, peak %d kB, limit %d kB (2 x idle + %d kB of data: %d live keys)"
      % (idle, peak, limit, data, live))
samples = [l.split("\t") for l in load("rss.tsv").splitlines() if l]
if samples:
    print("  RSS samples (s:kB): " + " ".join("%s:%s" % (t, r) for t, r in samples[:40])
          + (" ..." if len(samples) > 40 else ""))
if peak > limit:
    problems.append("RSS %d kB over the limit %d kB" % (peak, limit))
if wrk:
    st = wrk["status"]
    other5xx = sum(n for s, n in st.items() if s.startswith("5") and s != "503")
    print("  wrk: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, max %.0f ms; "
          "%d malformed sent (%.1f%%)"
          % (wrk["requests"], wrk["rps"], wrk["p50_us"] / 1e3, wrk["p99_us"] / 1e3,
             wrk["max_us"] / 1e3, wrk["malformed"],
             100.0 * wrk["malformed"] / max(1, wrk["sent"])))
    print("  wrk statuses: %s; socket errors %s"
          % (", ".join("%s: %d" % kv for kv in sorted(st.items())), wrk["errors"]))
    if other5xx:
        problems.append("wrk saw %d 5xx replies other than 503" % other5xx)
    if st.get("200", 0) + st.get("201", 0) == 0:
        problems.append("wrk got no successful reply")
    if wrk["errors"]["timeout"]:
        problems.append("wrk saw %d timeouts" % wrk["errors"]["timeout"])
if prober:
    p = prober
    print("  existing connections: %d held, %d requests, %d failures"
          % (p["held"], p["held_requests"], len(p["held_failures"])))
    for f in p["held_failures"][:5]:
        print("    " + f)
    if p["held_failures"]:
        problems.append("existing connections failed: %s" % p["held_failures"][:3])
    if "burst_statuses" not in p:
        problems.append("the burst did not run")
    else:
        print("  burst of %d new connections: %d admitted, %d refused with 503 (p50 %s ms, "
              "max %s ms), %d refused ones left open; statuses %s"
              % (p["burst"], p["burst_admitted"], p["burst_refused"], p["burst_503_p50_ms"],
                 p["burst_503_max_ms"], p["burst_503_not_closed"], p["burst_statuses"]))
        print("  a new connection during the burst got %s; served again %s ms after the burst"
              % (p["new_connection_during_burst"], p["recovered_after_ms"]))
        # wrk's connections closed by a malformed request free their slot until wrk has
        # reconnected: allow that many more admissions. Every wrk reconnection refused
        # with 503 is such a slot that a burst connection took first (the cap counts a
        # connection from its accept), so those count as churn too.
        wrk_refused = wrk["status"].get("503", 0) if wrk else 0
        free, churn = cap - conns - held, max(4, conns // 6) + wrk_refused
        if p["burst_refused"] < burst - free - churn:
            problems.append("only %d of %d burst connections refused (%d slots were free)"
                            % (p["burst_refused"], burst, free))
        if p["burst_admitted"] > free + churn:
            problems.append("%d burst connections admitted, only %d slots were free"
                            % (p["burst_admitted"], free))
        if p["burst_503_max_ms"] is not None and p["burst_503_max_ms"] > max503:
            problems.append("a 503 took %s ms (limit %d ms)" % (p["burst_503_max_ms"], max503))
        if p["burst_503_not_closed"]:
            problems.append("%d refused connections were not closed" % p["burst_503_not_closed"])
        if p["burst_errors"]:
            problems.append("burst errors: %s" % p["burst_errors"][:3])
        if p["new_connection_during_burst"] != 503:
            problems.append("a new connection during the burst got %s, not 503"
                            % p["new_connection_during_burst"])
        if p["recovered_after_ms"] is None:
            problems.append("no new connection was served within 5 s after the burst")
if problems:
    print("FAILED:")
    for p in problems:
        print("  - " + p)
    sys.exit(1)
print("OK")
EOF
exit "$report_rc"
