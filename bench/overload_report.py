"""bench/overload_report.py — the checks and report of scripts/overload.sh.

    overload_report.py RUN_DIR WRK_RC PROBER_RC RSS_IDLE_KB RSS_MAX_KB DATA_KB LIMIT_KB LIVE
                       SECONDS CAP CONNS HELD BURST MAX_503_MS NODE_RC

Reads wrk.out, prober.json, prober.log and rss.tsv in RUN_DIR; prints the report; exits 1
when a check failed."""
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
