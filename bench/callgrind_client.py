"""bench/callgrind_client.py ADDR N REQUEST_ID PID [get|get-ctx|put] — the client of
bench/callgrind_ops.sh.

Waits until the node at ADDR answers (GET /kv-store/key-count, which every version of
causalkv serves, so older binaries can be measured too), then on one keep-alive
connection, with X-Request-Id when REQUEST_ID is not empty: get (the default) writes one
key and sends N GETs of it; get-ctx, the same GETs with the write's causal context as
their body; put sends N PUTs of 100-byte values to keys k0 … k(N-1).
Gives up when the node's process PID is gone or after 120 s.
"""

import http.client
import json
import os
import sys
import time


def put_many(c, n, hdrs):
    body = json.dumps({"value": "v" * 100})
    headers = dict(hdrs, **{"Content-Type": "application/json"})
    for i in range(n):
        c.request("PUT", "/kv-store/keys/k%d" % i, body=body, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status not in (200, 201):
            raise SystemExit("PUT answered %d" % r.status)


def main():
    addr, n, rid, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    op = sys.argv[5] if len(sys.argv) > 5 else "get"
    host, port = addr.rsplit(":", 1)
    hdrs = {"X-Request-Id": rid} if rid else {}
    deadline = time.monotonic() + 120
    while True:
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=30)
            c.request("GET", "/kv-store/key-count")
            c.getresponse().read()
            break
        except OSError:
            if time.monotonic() > deadline or not os.path.exists("/proc/" + pid):
                raise SystemExit("the node did not start (a sanitizer build cannot run "
                                 "under valgrind)")
            time.sleep(0.1)
    if op == "put":
        put_many(c, n, hdrs)
        return
    c.request("PUT", "/kv-store/keys/k", body=json.dumps({"value": "v"}),
              headers={"Content-Type": "application/json"})
    put_reply = json.loads(c.getresponse().read())
    body, get_hdrs = None, hdrs
    if op == "get-ctx":  # the context the write returned, as scenario 2 sends it
        body = json.dumps({"causal-context": put_reply["causal-context"]})
        get_hdrs = dict(hdrs, **{"Content-Type": "application/json"})
    for _ in range(n):
        c.request("GET", "/kv-store/keys/k", body=body, headers=get_hdrs)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("GET answered %d" % r.status)


if __name__ == "__main__":
    main()
