"""bench/shard_keys.py FRONT LOCAL_OUT REMOTE_OUT N — which of the keys k000000000000000 …
(N of them) does the front node's shard own? A proxied reply carries "address". Writes
the local and the remote keys, one a line; fails unless there are some of each and every
key exists. (scripts/bench.sh, scenarios 5, 6, 15 and 16.)"""
import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[4])
conn = http.client.HTTPConnection(host, int(port), timeout=10)
local, remote, missing = [], [], 0
for i in range(n):
    key = "k%015d" % i
    conn.request("GET", "/kv-store/keys/" + key)
    r = conn.getresponse()
    body = json.loads(r.read())
    if r.status != 200:
        missing += 1
        continue
    (remote if "address" in body else local).append(key)
if missing or not local or not remote:
    sys.exit("keys: %d local, %d remote, %d missing" % (len(local), len(remote), missing))
for path, keys in ((sys.argv[2], local), (sys.argv[3], remote)):
    with open(path, "w") as f:
        f.write("\n".join(keys) + "\n")
print("%d keys of the front node's shard, %d of the other" % (len(local), len(remote)),
      file=sys.stderr)
