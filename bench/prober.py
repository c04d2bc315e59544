"""bench/prober.py — scripts/overload.sh's prober: existing keep-alive connections used
once a second, and a burst of new connections (more than MAX_CONNECTIONS allows) halfway.

    prober.py ADDR SECONDS BURST_AT BURST_N HELD_N OUT_JSON READY_FILE

Creates READY_FILE once the HELD_N connections are open and served; writes what it saw to
OUT_JSON. Raw HTTP comes from test/integration/rawhttp.py."""
import json, os, socket, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
import rawhttp  # noqa: E402

addr, secs, burst_at, burst_n, held_n, out, ready = sys.argv[1:8]
secs, burst_at, burst_n, held_n = float(secs), float(burst_at), int(burst_n), int(held_n)
host, port = rawhttp.split_addr(addr)
REQ = rawhttp.request_bytes("GET", "/kv-store/key-count", close=False, host=addr)


def read_reply(s, timeout):
    """(status, body) of one reply, or raises; EOF before a full reply raises."""
    rep, _ = rawhttp.read_reply(s, timeout)
    return rep.status, rep.body


closed_soon = rawhttp.closed_within


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
