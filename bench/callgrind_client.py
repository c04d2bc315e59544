"""bench/callgrind_client.py ADDR N REQUEST_ID PID — the client of bench/callgrind_get.sh.

Waits until the node at ADDR answers (GET /kv-store/key-count, which every version of
causalkv serves, so older binaries can be measured too), writes one key, then sends N
GETs of it on the same keep-alive connection, with X-Request-Id when REQUEST_ID is not
empty. Gives up when the node's process PID is gone or after 120 s.
"""

import http.client
import json
import os
import sys
import time


def main():
    addr, n, rid, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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
    c.request("PUT", "/kv-store/keys/k", body=json.dumps({"value": "v"}),
              headers={"Content-Type": "application/json"})
    c.getresponse().read()
    for _ in range(n):
        c.request("GET", "/kv-store/keys/k", headers=hdrs)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("GET answered %d" % r.status)


if __name__ == "__main__":
    main()
