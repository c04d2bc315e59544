"""bench/report.py — the table and bench/results/latest.json of scripts/bench.sh.

    report.py RESULTS EXTRA OUT COMMIT CPU CORES MEM_KB KERNEL WRK_VERSION THREADS CONNS
              DURATION WARMUP ELAPSED LOADAVG_BEFORE LOADAVG_AFTER

RESULTS: lines "scenario \t server \t BENCH_RESULT json (or null)"; EXTRA: lines
"key \t json value" (scenarios 7 and 8, the context body, the front node's /metrics of
scenarios 5, 6, 15 and 16). Writes OUT, prints the table.
"""
import json, sys, datetime
import node_metrics  # bench/node_metrics.py (this script's folder is on sys.path)
(results_path, extra_path, out_path, commit, cpu, cores, mem_kb, kernel, wrk_version,
 threads, conns, duration, warmup, elapsed, load_start, load_end) = sys.argv[1:17]
meta = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "commit": commit,
    "machine": {"cpu": cpu, "cores": int(cores), "memory_gib": round(int(mem_kb) / 1048576, 1),
                "kernel": kernel, "loadavg_1m_before": float(load_start),
                "loadavg_1m_after": float(load_end)},
    "wrk": {"version": wrk_version, "threads": int(threads), "connections": int(conns),
            "duration_s": int(duration), "warmup_s": int(warmup)},
    "command": "scripts/bench.sh",
    "elapsed_s": int(elapsed),
}
names = {1: "GET, no body", 2: "GET with causal-context", 3: "PUT 100 B over 10k keys",
         4: "90% GET / 10% PUT", 5: "proxied GET (4 nodes R=2)",
         6: "replicated PUT (4 nodes R=2)", 9: "PUT, /dev/shm, everysec",
         10: "PUT, /dev/shm, always", 11: "PUT, work disk, everysec",
         13: "GET during a snapshot", 14: "GET /kv-store/status",
         15: "mixed-shard PUT (4 nodes R=2)", 16: "replicated PUT (6 nodes R=3)"}
targets = {1: 0.85, 2: 0.75, 3: 0.70, 4: 0.75, 5: 0.45, 6: 0.45}
# scenarios 9-11: causalkv req/s against the same PUTs in memory, run just before and
# just after on a second node (scenario 3's figure when those runs are missing)
VS_MEMORY_TARGETS = {9: 0.90, 10: 0.50, 11: 0.90}
P99_TARGET_MS = 2.0
# 9-11 are judged against the in-memory PUTs and 14 by its cost, as the durability and browser
# issues set them; 13 by its p99
P99_TARGETS_MS = {9: None, 10: None, 11: None, 13: 5.0, 14: None}
STATUS_POLLS_PER_S = 10  # scenario 14: ten dashboard tabs, one poll a second each
runs = {}
for line in open(results_path):
    sid, server, res = line.rstrip("\n").split("\t", 2)
    runs.setdefault(int(sid), {})[server] = json.loads(res)
extra = {}
for line in open(extra_path):
    k, v = line.rstrip("\n").split("\t", 1)
    extra[k] = json.loads(v) if v.startswith(("{", "[")) else v

def summary(r):
    if r is None:
        return None
    return {"rps": round(r["rps"], 1), "p50_ms": round(r["p50_us"] / 1e3, 3),
            "p90_ms": round(r["p90_us"] / 1e3, 3), "p99_ms": round(r["p99_us"] / 1e3, 3),
            "max_ms": round(r["max_us"] / 1e3, 3), "requests": r["requests"],
            "errors": r["errors"], "error_count": sum(r["errors"].values())}

def run_name(server, i):
    return server if i == 1 else "%s_%d" % (server, i)

def new_vs_old(sid):
    """The new/old figures of a scenario run against BENCH_OLD_BIN: its runs go new, old,
    old, new per round, so a drift of the machine that is steady over a round cancels."""
    got = runs[sid]
    rounds = 0
    while all(run_name(k, 2 * rounds + i) in got for k in ("causalkv", "old") for i in (1, 2)):
        rounds += 1
    names_new = [run_name("causalkv", i) for i in range(1, 2 * rounds + 1)]
    names_old = [run_name("old", i) for i in range(1, 2 * rounds + 1)]
    if rounds == 0 or not all(got[k] for k in names_new + names_old):
        return {}
    out = {"new_rps": [round(got[k]["rps"], 1) for k in names_new],
           "old_rps": [round(got[k]["rps"], 1) for k in names_old]}
    out["new_vs_old"] = round(sum(out["new_rps"]) / sum(out["old_rps"]), 3)
    per_round = [sum(out["new_rps"][2 * r:2 * r + 2]) / sum(out["old_rps"][2 * r:2 * r + 2])
                 for r in range(rounds)]
    out["new_vs_old_rounds"] = [round(x, 3) for x in per_round]
    # CPU time of every node of the scenario per request: what throughput on a shared
    # machine blurs (wrk and the nodes compete for the same cores)
    cpu = {k: extra.get("cpu %d %s" % (sid, k)) for k in names_new + names_old}
    if all(isinstance(c, dict) for c in cpu.values()):
        def per_request(keys):
            reqs = sum(got[k]["requests"] for k in keys)
            return sum(cpu[k]["cpu_s"] for k in keys) * 1e6 / reqs if reqs else None
        new_us, old_us = per_request(names_new), per_request(names_old)
        if new_us and old_us:
            out["cpu_us_per_request"] = {"new": round(new_us, 2), "old": round(old_us, 2)}
            out["cpu_new_vs_old"] = round(new_us / old_us, 3)
    return out

scen = []
memory_put = summary(runs.get(3, {}).get("causalkv"))
for sid in sorted(runs):
    b, c = summary(runs[sid].get("baseline")), summary(runs[sid].get("causalkv"))
    ratio = round(c["rps"] / b["rps"], 3) if b and c and b["rps"] else None
    p99_target = P99_TARGETS_MS.get(sid, P99_TARGET_MS)
    met = (c is not None and (p99_target is None or c["p99_ms"] <= p99_target)
           and c["error_count"] == 0)
    if sid in targets:
        met = met and ratio is not None and ratio >= targets[sid]
    entry = {"id": sid, "name": names[sid], "baseline": b, "causalkv": c, "ratio": ratio,
             "target_ratio": targets.get(sid), "target_p99_ms": p99_target}
    if sid in VS_MEMORY_TARGETS:
        around = [summary(runs[sid].get(k)) for k in ("memory_before", "memory_after")]
        around = [m["rps"] for m in around if m]
        memory_rps = (sum(around) / len(around) if around
                      else memory_put["rps"] if memory_put else None)
        vs = round(c["rps"] / memory_rps, 3) if c and memory_rps else None
        entry["memory_rps"] = round(memory_rps, 1) if memory_rps else None
        entry["vs_memory_put"] = vs
        entry["target_vs_memory_put"] = VS_MEMORY_TARGETS[sid]
        met = met and vs is not None and vs >= VS_MEMORY_TARGETS[sid]
    if sid == 14 and c:
        entry["cost_of_10_polls_per_s"] = round(STATUS_POLLS_PER_S / c["rps"], 5)
        met = met and entry["cost_of_10_polls_per_s"] < 0.01
    entry.update(new_vs_old(sid))
    if "journal%d" % sid in extra:
        entry["journal"] = extra["journal%d" % sid]
    # scenarios 5, 6, 15, 16: the front node's /metrics over each run (bench/node_metrics.py)
    nm = {server: extra["node_metrics %d %s" % (sid, server)] for server in runs[sid]
          if "node_metrics %d %s" % (sid, server) in extra}
    if nm:
        entry["front_node"] = nm
    entry["met"] = met
    scen.append(entry)

doc = dict(meta, scenarios=scen)
if "context" in extra:
    doc["context_body"] = {"causal-context": extra["context"]}
mem = extra.get("memory")
if isinstance(mem, dict):
    mem["target_load_rate"] = 50000
    mem["target_overhead_bytes_per_key"] = 100
    ov = mem.get("overhead_bytes_per_key")
    mem["met"] = (mem.get("loaded") == mem.get("keys") and mem.get("load_rate", 0) >= 50000
                  and ov is not None and ov <= 100)
    doc["memory"] = mem
vc = extra.get("view_change")
if isinstance(vc, dict) and isinstance(extra.get("load2"), dict):
    vc["load"] = extra["load2"]
if isinstance(vc, dict):
    vc["target_seconds"] = 10
    vc["target_moved_fraction"] = 0.40
    vc["met"] = (vc.get("status") == 200 and vc.get("seconds", 1e9) <= 10
                 and vc.get("moved_fraction") is not None and vc["moved_fraction"] <= 0.40
                 and vc.get("keys_after") == vc.get("keys_before"))
    doc["view_change"] = vc
rec = extra.get("recovery")
if isinstance(rec, dict):
    rec["target_seconds"] = 3
    rec["target_disk_bytes_per_key"] = 1.5 * (16 + 100 + 40)
    bpk = rec.get("disk_bytes_per_key")
    rec["met"] = (rec.get("loaded") == rec.get("keys") and rec["seconds"] <= 3
                  and bpk is not None and bpk <= rec["target_disk_bytes_per_key"])
    doc["recovery"] = rec

with open(out_path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

def ms(x):
    return "%.2f" % x
m = doc["machine"]
print()
print("causalkv %s — %s, %d cores, %.0f GiB — wrk %s, %d thread, %d connections, %d s after %d s warm-up"
      % (doc["commit"], m["cpu"] or "unknown CPU", m["cores"], m["memory_gib"],
         doc["wrk"]["version"], doc["wrk"]["threads"], doc["wrk"]["connections"],
         doc["wrk"]["duration_s"], doc["wrk"]["warmup_s"]))
hdr = "%-2s %-29s %11s %7s %7s %11s %7s %7s %6s %7s  %s" % (
    "#", "scenario", "base req/s", "p50 ms", "p99 ms", "ckv req/s", "p50 ms", "p99 ms",
    "ratio", "target", "")
print(hdr)
print("-" * len(hdr))
for s in scen:
    b, c = s["baseline"], s["causalkv"]
    no_base = ("-", "-", "-") if s["id"] not in targets else ("failed", "-", "-")
    cells = [("%11.0f" % b["rps"], ms(b["p50_ms"]), ms(b["p99_ms"])) if b else no_base,
             ("%11.0f" % c["rps"], ms(c["p50_ms"]), ms(c["p99_ms"])) if c else ("failed", "-", "-")]
    note = "ok" if s["met"] else "MISSED"
    if c and c["error_count"]:
        note += " (%d errors)" % c["error_count"]
    if "vs_memory_put" in s:
        note += "; %s of %s req/s in memory (target >= %.2f)" % (
            "-" if s["vs_memory_put"] is None else "%.2f" % s["vs_memory_put"],
            "-" if s["memory_rps"] is None else "%.0f" % s["memory_rps"],
            s["target_vs_memory_put"])
    if "new_vs_old" in s:
        rr = s["new_vs_old_rounds"]
        note += "; new/old %.3f%s" % (
            s["new_vs_old"], " (rounds %.3f-%.3f)" % (min(rr), max(rr)) if len(rr) > 1 else
            " (new %s, old %s req/s)" % ("+".join("%.0f" % r for r in s["new_rps"]),
                                          "+".join("%.0f" % r for r in s["old_rps"])))
    if "cpu_new_vs_old" in s:
        c = s["cpu_us_per_request"]
        note += "; cpu/req new/old %.3f (%.1f vs %.1f us)" % (s["cpu_new_vs_old"], c["new"],
                                                             c["old"])
    if isinstance(s.get("front_node", {}).get("causalkv"), dict):
        note += "; " + node_metrics.describe(s["front_node"]["causalkv"])
    if s["id"] == 14 and "cost_of_10_polls_per_s" in s:
        note += "; 10 polls/s cost %.3f%% of the node (target < 1%%)" % (
            100 * s["cost_of_10_polls_per_s"])
    if s["id"] == 13:
        j = s.get("journal", {})
        note += "; p99 target <= %.0f ms; snapshots %d, last took %.2f s" % (
            s["target_p99_ms"], j.get("snapshots_total", 0), j.get("snapshot_last_seconds", 0))
    print("%-2d %-29s %11s %7s %7s %11s %7s %7s %6s %7s  %s" % (
        s["id"], s["name"], *cells[0], *cells[1],
        "%.2f" % s["ratio"] if s["ratio"] is not None else "-",
        ">=%.2f" % s["target_ratio"] if s["target_ratio"] is not None else "-", note))
def flag(ok):
    return "ok" if ok else "MISSED"
if mem:
    if "error" in mem:
        print("7  memory: %s  MISSED" % mem["error"])
    else:
        ov = mem["overhead_bytes_per_key"]
        print("7  memory, %d keys (%d loaded): load %.1f s = %d keys/s (target >= 50000) %s;"
              % (mem["keys"], mem["loaded"], mem["load_seconds"], mem["load_rate"],
                 flag(mem["load_rate"] >= 50000 and mem["loaded"] == mem["keys"])))
        print("   RSS %.1f MiB idle, %.1f MiB loaded: %s B/key beyond the 116 B of key+value "
              "(target <= 100) %s"
              % (mem["rss_idle_bytes"] / 2**20, mem["rss_after_bytes"] / 2**20,
                 "-" if ov is None else "%.1f" % ov, flag(ov is not None and ov <= 100)))
if vc:
    if vc.get("status") != 200 or "moved" not in vc:
        print("8  view change 2 -> 3 shards: HTTP %s after %.1f s: %s  MISSED"
              % (vc.get("status"), vc.get("seconds", 0), vc.get("error", "no shard counts")))
    else:
        print("8  view change 2 -> 3 shards, %d keys: %.2f s (target <= 10) %s; moved %d keys = "
              "%.1f%% (%s; target <= 40%%) %s; %d keys after %s"
              % (vc["keys_before"], vc["seconds"], flag(vc["seconds"] <= 10), vc["moved"],
                 100 * vc["moved_fraction"], "the reply's moved-keys" if vc["moved_source"] ==
                 "reply" else "from key counts", flag(vc["moved_fraction"] <= 0.40),
                 vc["keys_after"], flag(vc["keys_after"] == vc["keys_before"])))
if rec:
    print("12 recovery of %d keys (%d loaded) from /dev/shm: %.2f s to /healthz 200 (target <= 3) "
          "%s; %s B on disk per key (target <= %.0f) %s"
          % (rec["keys"], rec["loaded"], rec["seconds"], flag(rec["seconds"] <= 3),
             "-" if rec["disk_bytes_per_key"] is None else "%.1f" % rec["disk_bytes_per_key"],
             rec["target_disk_bytes_per_key"],
             flag(rec["disk_bytes_per_key"] is not None and
                  rec["disk_bytes_per_key"] <= rec["target_disk_bytes_per_key"])))
print()
print("written to %s in %d s (load average %.2f before, %.2f after)"
      % (out_path, doc["elapsed_s"], m["loadavg_1m_before"], m["loadavg_1m_after"]))
