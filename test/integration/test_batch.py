"""Batches of forwarded requests (README "Batching between nodes").

  1 many clients at once through one node, to keys of both shards: the proxied requests
    go out in batches (the metrics say so), every answer is the one the plain request
    would get (each write 201, each read its own value, "address" on proxied replies),
    and every node is alive after
  2 one batch sent by hand holding every kind of item: a PUT, a GET of that key, a GET
    of a missing key, an empty key, a PUT without a value, a URI that is not a key, and
    an item past its deadline: each gets the answer of the plain request, in order
  3 malformed batches (empty body, bad magic, truncated, trailing bytes, count 0, a bad
    method): 400 with a JSON error, the node unharmed; GET on the endpoint: 405
  4 an owner that refuses the batch endpoint (an older node: 404): the front sends each
    request of the refused batch again on its own, and every client gets its answer
  5 an empty node forwarding everything it gets: nothing in its store, all served
  6 REPL_BATCH is what a push carries at most: writes pile up while the replica is
    paused, and after it resumes they go over in pushes of at most REPL_BATCH versions"""

import http.client
import json
import os
import struct
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import metric  # noqa: E402
from ckvtest import Cluster, CkvTestCase, poll, request, split_addr  # noqa: E402
from shardhash import keys_for_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
BATCH = "/kv-store/internal/batch"
GET, PUT, DELETE = 1, 2, 3



def encode_batch(items):
    """items: (method, deadline_ms, uri, request_id, body) -> the fwd_batch.h request."""
    out = b"CKVB1" + struct.pack("<I", len(items))
    for method, deadline, uri, rid, body in items:
        uri, rid, body = uri.encode(), rid.encode(), body.encode()
        out += struct.pack("<BQH", method, deadline, len(uri)) + uri
        out += struct.pack("<B", len(rid)) + rid + struct.pack("<I", len(body)) + body
    return out


def decode_reply(raw):
    """The fwd_batch.h reply -> [(status, parsed JSON body or raw bytes)]."""
    assert raw[:5] == b"CKVR1", raw[:16]
    (count,), at, out = struct.unpack_from("<I", raw, 5), 9, []
    for _ in range(count):
        status, blen = struct.unpack_from("<HI", raw, at)
        at += 6
        body = raw[at:at + blen]
        at += blen
        try:
            body = json.loads(body)
        except ValueError:
            pass
        out.append((status, body))
    assert at == len(raw), "trailing bytes in the reply"
    return out


def post_batch(addr, body):
    return request(addr, "POST", BATCH, body=body, raw=True,
                   headers={"Content-Type": "application/octet-stream"})


def ctx_body(extra=None):
    d = {"causal-context": {}}
    d.update(extra or {})
    return json.dumps(d)


class Batching(CkvTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(4, 2, addrs=SLOT.addrs(4), name="batch")
        poll(lambda: all(ckvtest.health(a)[0] == 200 for a in cls.cluster.addrs), 15,
             msg="every node healthy")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked()

    def tearDown(self):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died")

    def test_1_concurrent_clients_are_batched_and_served(self):
        a = self.cluster.addrs
        before = metric(a[0], "causalkv_proxy_batched_requests_total")
        keys = keys_for_shard("b1-", 2, 2, 64) + keys_for_shard("b1-", 1, 2, 16)
        errors = []

        def client(w):
            for k in keys[w::16]:
                st, js = ckvtest.kv_put_obj(a[0], k, "v-" + k)
                if st != 201:
                    errors.append(("PUT", k, st, js))
                # with the write's context: without it the other replica may answer
                # before the push reaches it, and 404 would be a correct answer
                ctx = js.get("causal-context") if isinstance(js, dict) else None
                st, js = ckvtest.as_object(ckvtest.kv_get(a[0], k, ctx=ctx))
                if st != 200 or js.get("value") != "v-" + k:
                    errors.append(("GET", k, st, js))
                elif k in keys[:64] and js.get("address") not in a[2:]:
                    errors.append(("address", k, js))

        threads = [threading.Thread(target=client, args=(w,)) for w in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        sent = metric(a[0], "causalkv_proxy_batched_requests_total") - before
        self.assertGreater(sent, 0, "16 clients at once: some proxied requests share a batch")
        served = sum(metric(x, "causalkv_batches_served_total") for x in a[2:])
        self.assertGreater(served, 0)

    def test_2_every_kind_of_item_answers_as_the_plain_request(self):
        a = self.cluster.addrs
        owner = a[2]
        key, missing = keys_for_shard("b2-", 2, 2, 2)
        future = int(time.time() * 1000) + 10000
        items = [
            (PUT, future, "/kv-store/keys/" + key, "req-put-1", ctx_body({"value": "x"})),
            (GET, future, "/kv-store/keys/" + key, "", ctx_body()),
            (GET, 0, "/kv-store/keys/" + missing, "", ctx_body()),
            (GET, future, "/kv-store/keys/", "", ctx_body()),
            (PUT, future, "/kv-store/keys/" + key, "", ctx_body()),
            (GET, future, "/kv-store/shards", "", ctx_body()),
            (PUT, 1, "/kv-store/keys/" + key, "", ctx_body({"value": "late"})),
        ]
        st, _, _, raw = post_batch(owner, encode_batch(items))
        self.assertEqual(st, 200, raw[:200])
        got = decode_reply(raw)
        self.assertEqual([s for s, _ in got], [201, 200, 404, 400, 400, 400, 503], got)
        self.assertEqual(got[1][1].get("value"), "x")
        self.assertEqual(got[2][1].get("doesExist"), False)
        self.assertEqual(got[3][1].get("error"), "Key is missing")
        self.assertEqual(got[4][1].get("error"), "Value is missing")
        self.assertEqual(got[5][1].get("error"), "Only key requests can be batched")
        self.assertEqual(got[6][1].get("error"), "Unable to satisfy request")
        st, js = ckvtest.kv_get_obj(owner, key)
        self.assertEqual((st, js.get("value")), (200, "x"), "the late PUT did not run")

    def test_3_malformed_batches_are_refused(self):
        owner = self.cluster.addrs[2]
        good = encode_batch([(GET, 0, "/kv-store/keys/k", "", ctx_body())])
        bad = {
            "empty": b"",
            "bad magic": b"CKVX1" + good[5:],
            "truncated": good[:-1],
            "trailing byte": good + b"\0",
            "count 0": b"CKVB1" + struct.pack("<I", 0),
            "bad method": good[:9] + b"\x09" + good[10:],
            "JSON": b'{"items":[]}',
        }
        for what, body in bad.items():
            st, _, _, raw = post_batch(owner, body)
            self.assertEqual(st, 400, what)
            self.assertEqual(json.loads(raw).get("error"), "Malformed batch", what)
        st, js = request(owner, "GET", BATCH)[:2]
        self.assertEqual(st, 405, js)
        self.assertEqual(ckvtest.health(owner)[0], 200)

    def test_5_an_empty_front_node_serves_everything_by_forwarding(self):
        a = self.cluster.addrs
        keys = keys_for_shard("b5-", 2, 2, 20)
        for k in keys:
            self.assertEqual(ckvtest.kv_put_obj(a[2], k, "v")[0], 201)
        # a1 and a0 hold nothing of shard 2: every one of these is forwarded
        results = []

        def client(ks):
            for k in ks:
                results.append(ckvtest.kv_get_obj(a[1], k)[0])

        threads = [threading.Thread(target=client, args=(keys[w::4],)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * len(keys))


class PushBatch(CkvTestCase):
    def test_6_a_push_carries_at_most_repl_batch_versions(self):
        cluster = Cluster(2, 2, addrs=SLOT.addrs(2), name="batch-push", env={"REPL_BATCH": 4})
        try:
            a = cluster.addrs
            poll(lambda: all(ckvtest.health(x)[0] == 200 for x in a), 15, msg="both healthy")
            cluster.pause(1)
            try:
                for i in range(40):
                    self.assertEqual(ckvtest.kv_put_obj(a[0], "b6-%d" % i, "v")[0], 201)
            finally:
                cluster.resume(1)
            poll(lambda: ckvtest.key_count(a[1]) == 40, 15, msg="the replica has all 40")
            pushes = metric(a[0], "causalkv_pushes_total")
            versions = metric(a[0], "causalkv_pushed_versions_total")
            self.assertGreater(pushes, 0)
            self.assertLessEqual(versions / pushes, 4, "%d versions in %d pushes" % (versions, pushes))
            self.assertGreater(versions / pushes, 1, "the piled-up writes went over batched")
            self.assertEqual(cluster.crashed(), [])
        finally:
            cluster.close_checked()


class OlderOwner(BaseHTTPRequestHandler):
    """A stand-in for a node without the batch endpoint: 404 there, plain answers to
    key requests, and counts of both."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the nodes' pool expects
    counts = {"batch": 0, "plain": 0}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        if self.path == BATCH:
            with self.lock:
                self.counts["batch"] += 1
            time.sleep(0.05)  # holds the connection, so the front queues the next ones
            self._answer(404, {"error": "Not found"})
        elif self.path.startswith("/kv-store/keys/"):
            with self.lock:
                self.counts["plain"] += 1
            time.sleep(0.05)
            if self.command == "PUT":
                self._answer(201, {"result": "created", "causal-context": {}})
            else:
                self._answer(200, {"result": "found", "value": "old", "causal-context": {}})
        else:
            self._answer(404, {"error": "Not found"})

    do_GET = do_PUT = do_POST = do_DELETE = _any


class RefusedBatch(CkvTestCase):
    def test_4_a_refused_batch_is_sent_again_item_by_item(self):
        front, fake = SLOT.addrs(2)
        host, port = split_addr(fake)
        server = ThreadingHTTPServer((host, port), OlderOwner)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        cluster = Cluster(2, 1, addrs=[front, fake], name="batch-old", start=False)
        try:
            cluster.nodes[0].start()
            poll(lambda: ckvtest.health(front)[0] is not None, 15, msg="the front node up")
            keys = keys_for_shard("b4-", 2, 2, 40)
            results = []
            # Eight requests written back to back on eight connections, then read: the
            # front batches what reaches it in one turn of its loop, and threads that
            # each wait for their own reply rarely arrive together.
            fhost, fport = split_addr(front)
            conns = [http.client.HTTPConnection(fhost, fport, timeout=10) for _ in range(8)]
            try:
                for group in range(0, len(keys), 8):
                    ks = keys[group:group + 8]
                    for c, k in zip(conns, ks):
                        c.request("GET", ckvtest.keypath(k))
                    for c in conns[:len(ks)]:
                        r = c.getresponse()
                        js = json.loads(r.read())
                        results.append((r.status, js.get("value"), js.get("address"),
                                        js.get("error")))
            finally:
                for c in conns:
                    c.close()
            self.assertEqual(results, [(200, "old", fake, None)] * len(keys))
            self.assertGreater(OlderOwner.counts["batch"], 0, "the front tried a batch")
            self.assertEqual(OlderOwner.counts["plain"], len(keys), "each request once")
            self.assertGreater(metric(front, "causalkv_proxy_batches_refused_total"), 0)
            self.assertTrue(cluster.nodes[0].running(), "the front node is alive")
        finally:
            server.shutdown()
            server.server_close()
            cluster.close_checked()


if __name__ == "__main__":
    unittest.main()
