"""bench/benchtool.py — the small computations of scripts/bench.sh and scripts/overload.sh.

    benchtool.py json-field NAME < JSON     a top-level field (compact JSON for objects);
                                            exit 1 when it is absent or null
    benchtool.py wrk-line RESULT SERVER     one line about a BENCH_RESULT (to stderr)
    benchtool.py memory RESULT KEYS LOADED RSS_IDLE_KB RSS_AFTER_KB
                                            scenario 7's JSON
    benchtool.py view-change "STATUS SECONDS" KEYS C1 C2 REPLY_FILE
                                            scenario 8's JSON
"""

import json
import sys


def json_field(name):
    v = json.load(sys.stdin).get(name)
    if v is None:
        sys.exit(1)
    print(v if isinstance(v, (int, float, str)) else json.dumps(v, separators=(",", ":")))


def wrk_line(res, server):
    r = json.loads(res)
    e = sum(r["errors"].values())
    print("  %-13s %10.0f req/s  p50 %6.2f ms  p99 %6.2f ms%s" % (server, r["rps"],
          r["p50_us"] / 1e3, r["p99_us"] / 1e3, "  (%d errors)" % e if e else ""),
          file=sys.stderr)


def memory(res, *counts):
    r = json.loads(res)
    want, loaded, idle, after = (int(x) for x in counts)
    secs = r["duration_us"] / 1e6
    out = {"keys": want, "loaded": loaded, "load_seconds": round(secs, 3),
           "load_rate": round(loaded / secs) if secs > 0 else 0,
           "load_p99_ms": round(r["p99_us"] / 1e3, 3),
           "load_errors": sum(r["errors"].values()),
           "rss_idle_bytes": idle * 1024, "rss_after_bytes": after * 1024,
           "overhead_bytes_per_key": round((after - idle) * 1024 / loaded - 116, 1)
           if loaded else None}
    print(json.dumps(out))


def view_change(vc, want, c1, c2, reply_path):
    status, secs = vc.split()
    want, c1, c2 = int(want), int(c1), int(c2)
    out = {"keys": want, "keys_before": c1 + c2, "before": {"1": c1, "2": c2},
           "status": int(status), "seconds": round(float(secs), 3)}
    try:
        with open(reply_path) as f:
            reply = json.load(f)
    except Exception as e:
        reply = None
        out["error"] = "reply is not JSON: %s" % e
    if isinstance(reply, dict):
        shards = reply.get("shards")
        if isinstance(shards, list) and all(isinstance(s, dict) for s in shards):
            after = {str(s.get("shard-id")): s.get("key-count", 0) for s in shards}
            out["after"] = after
            out["keys_after"] = sum(after.values())
            gained = sum(max(0, n - out["before"].get(k, 0)) for k, n in after.items())
            if isinstance(reply.get("duration-ms"), (int, float)):
                out["server_ms"] = reply["duration-ms"]
            if isinstance(reply.get("moved-keys"), int):
                out["moved"], out["moved_source"] = reply["moved-keys"], "reply"
            else:
                out["moved"], out["moved_source"] = gained, "key counts"
            out["moved_fraction"] = round(out["moved"] / (c1 + c2), 4) if c1 + c2 else None
        if out["status"] != 200:
            out["error"] = reply.get("error") or reply.get("message")
    print(json.dumps(out))


def journal_metrics():
    """The journal figures of a node's /metrics (stdin) as one JSON object."""
    want = {"causalkv_journal_bytes", "causalkv_snapshot_bytes", "causalkv_snapshots_total",
            "causalkv_snapshot_last_unixtime", "causalkv_snapshot_last_seconds",
            "causalkv_fsyncs_total", "causalkv_fsync_seconds_sum", "causalkv_fsync_seconds_max",
            "causalkv_journal_write_errors_total"}
    out = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 2 and parts[0] in want:
            out[parts[0][len("causalkv_"):]] = float(parts[1])
    print(json.dumps(out))


def recovery(keys, loaded, t0, t1, disk_bytes):
    """Scenario 12: seconds from the restart to /healthz 200, and disk bytes per key."""
    loaded = int(loaded)
    print(json.dumps({"keys": int(keys), "loaded": loaded,
                      "seconds": round(float(t1) - float(t0), 3),
                      "disk_bytes": int(disk_bytes),
                      "disk_bytes_per_key": round(int(disk_bytes) / loaded, 1) if loaded else None}))


COMMANDS = {"json-field": json_field, "wrk-line": wrk_line, "memory": memory,
            "view-change": view_change, "journal-metrics": journal_metrics,
            "recovery": recovery}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit("usage: benchtool.py %s ARG..." % "|".join(COMMANDS))
    COMMANDS[sys.argv[1]](*sys.argv[2:])
