"""bench/node_metrics.py BEFORE AFTER WRK_RESULT — what the front node's /metrics say about
one measured wrk run of scripts/bench.sh (scenarios 5, 6, 15 and 16).

BEFORE and AFTER are the node's /metrics (Prometheus text) read just before and just after
the run; WRK_RESULT is the run's BENCH_RESULT JSON (or "null"). Prints one JSON object:

  proxy_batch   mean requests per proxy batch = delta causalkv_proxy_batched_requests_total
                / delta causalkv_proxy_batches_total
  push_batch    mean versions per replication push = delta causalkv_pushed_versions_total
                / delta causalkv_pushes_total
                (each null when a counter is missing, or the divisor's delta is 0)
  deltas        the delta of each of those four counters (null when missing)
  keys_p99      the p99 of endpoint "keys" from the deltas of
                causalkv_request_duration_seconds_bucket: the bucket it falls in, as
                {"lo_ms", "hi_ms" (null for +Inf), "requests"}, null when no request
  wrk_p99_ms    wrk's p99 of the same run, and wrk_p99_in_bucket: lo_ms < it <= hi_ms
"""

import json
import math
import re
import sys

COUNTERS = ("causalkv_proxy_batched_requests_total", "causalkv_proxy_batches_total",
            "causalkv_pushed_versions_total", "causalkv_pushes_total")
HIST = "causalkv_request_duration_seconds_bucket"
ENDPOINT = "keys"
SAMPLE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    """{(name, frozenset of labels): value} of a Prometheus text file."""
    out = {}
    try:
        f = open(path)
    except OSError:
        return out
    with f:
        for line in f:
            if line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                continue
            try:
                v = float(m.group(3))
            except ValueError:
                continue
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            out[(m.group(1), labels)] = v
    return out


def delta(before, after, name):
    key = (name, frozenset())
    if key not in before or key not in after:
        return None
    return after[key] - before[key]


def ratio(num, den):
    if num is None or den is None or den == 0:
        return None
    return round(num / den, 2)


def bucket_of_p99(before, after):
    """The bucket (lo, hi] of the deltas of endpoint "keys" that holds the 99th percentile."""
    buckets = []
    for (name, labels), v in after.items():
        lab = dict(labels)
        if name != HIST or lab.get("endpoint") != ENDPOINT or "le" not in lab:
            continue
        le = math.inf if lab["le"] == "+Inf" else float(lab["le"])
        buckets.append((le, v - before.get((name, labels), 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = 0.99 * total
    lo = 0.0
    for le, cum in buckets:
        if cum >= rank:
            return {"lo_ms": round(lo * 1e3, 3),
                    "hi_ms": None if le == math.inf else round(le * 1e3, 3),
                    "requests": int(total)}
        lo = le
    return None


def main(before_path, after_path, wrk_result):
    before, after = parse(before_path), parse(after_path)
    d = {name[len("causalkv_"):]: delta(before, after, name) for name in COUNTERS}
    out = {"proxy_batch": ratio(d["proxy_batched_requests_total"], d["proxy_batches_total"]),
           "push_batch": ratio(d["pushed_versions_total"], d["pushes_total"]),
           "deltas": d, "keys_p99": bucket_of_p99(before, after)}
    try:
        r = json.loads(wrk_result)
    except ValueError:
        r = None
    if isinstance(r, dict) and "p99_us" in r:
        out["wrk_p99_ms"] = round(r["p99_us"] / 1e3, 3)
        b = out["keys_p99"]
        out["wrk_p99_in_bucket"] = (b is not None and b["lo_ms"] < out["wrk_p99_ms"] and
                                    (b["hi_ms"] is None or out["wrk_p99_ms"] <= b["hi_ms"]))
    print(json.dumps(out, separators=(",", ":")))
    print("  front node: %s" % describe(out), file=sys.stderr)


def na(x):
    return "n/a" if x is None else "%.2f" % x


def describe(m):
    """One line: the batch sizes and the two p99s (also used by bench/report.py)."""
    s = "proxy batch %s, push batch %s" % (na(m.get("proxy_batch")), na(m.get("push_batch")))
    b = m.get("keys_p99")
    node = ("n/a" if b is None else "(%g, %s] ms" % (
        b["lo_ms"], "+Inf" if b["hi_ms"] is None else "%g" % b["hi_ms"]))
    wrk = m.get("wrk_p99_ms")
    s += "; p99 wrk %s ms, node %s" % ("n/a" if wrk is None else "%.2f" % wrk, node)
    if "wrk_p99_in_bucket" in m:
        s += " (%s)" % ("same bucket" if m["wrk_p99_in_bucket"] else "other bucket")
    return s


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
