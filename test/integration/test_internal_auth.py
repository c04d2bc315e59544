"""Internal endpoints refuse callers without the cluster secret or outside the view
(issue 6): a 2-node rf=2 cluster with CLUSTER_SECRET set.

A valid replication push (the shape the nodes exchange on /kv-store/internal/replicate) is
replayed with no secret, a wrong secret, and the right secret from an address outside the
view: every time 403, and the key keeps its value. The same message with the right secret
from a member's address is accepted (200) and takes effect, so the refusals come from
the checks and not from a broken message. view/prepare with a wrong secret is refused and
does not pause writes, while the same message properly authenticated does (and an abort
resumes them). A batch of forwarded requests (a PUT) without the right secret is refused
and the key keeps its value; with it, from any address (a standby forwards too), it runs.

Two nodes and an outsider's address, all from the file's ckvtest.slot.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import Cluster, CkvTestCase, keypath, kv_get, kv_put, poll, request  # noqa: E402

SLOT = ckvtest.slot(__file__)
OUTSIDER = SLOT.ips(1)[0]
SECRET = "hardening-test-secret-6f1c"
HDR = "X-Ckv-Secret"
CAUSAL_TIMEOUT = 2.0  # CAUSAL_TIMEOUT_MS default
MARGIN = 3.0
INTERNAL = "/kv-store/internal/"


class InternalAuth(CkvTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(2, 2, name="internal-auth",
                              env={"CLUSTER_SECRET": SECRET})
        cls.a, cls.b = cls.cluster.addrs
        cls.a_ip, cls.b_ip = cls.a.split(":")[0], cls.b.split(":")[0]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked(dump_logs=False)

    def tearDown(self):
        self.assertEqual(self.cluster.crashed(), [], "a node crashed")

    # ---------------------------------------------------------------- helpers
    def post(self, addr, op, body, secret=None, source=None):
        headers = {HDR: secret} if secret is not None else {}
        return request(addr, "POST", INTERNAL + op, body, headers=headers, source=source)

    def assertForbidden(self, reply, what):
        st, js, hd, raw = reply
        self.assertEqual(st, 403, "%s: %s %r" % (what, st, raw[:300]))
        self.assertIsInstance(js, dict, what)
        self.assertEqual(js.get("error"), "Forbidden", what)
        self.assertIsInstance(js.get("causal-context"), dict, what)
        self.assertTrue(hd.get("content-type", "").startswith("application/json"), what)

    def value_everywhere(self, key):
        return [kv_get(x, key)[1].get("value") for x in (self.a, self.b)]

    def bad_callers(self):
        """(name, secret, source IP) of callers that must be refused."""
        return [("no secret, test process", None, None),
                ("wrong secret, test process", "wrong", None),
                ("no secret, member address", None, self.b_ip),
                ("wrong secret, member address", "wrong", self.b_ip),
                ("empty secret, member address", "", self.b_ip),
                ("secret prefix, member address", SECRET[:-1], self.b_ip),
                ("secret plus a byte, member address", SECRET + "x", self.b_ip),
                ("secret in other case, member address", SECRET.upper(), self.b_ip),
                ("right secret, outsider address", SECRET, OUTSIDER),
                ("right secret, test process (127.0.0.1)", SECRET, None)]

    # ---------------------------------------------------------------- tests
    def test_1_replayed_push_refused_then_accepted(self):
        key = "auth-key"
        st, js = kv_put(self.a, key, "good")
        self.assertEqual(st, 201, js)
        poll(lambda: self.value_everywhere(key) == ["good", "good"], 10,
             msg="the write reached both replicas")
        count = [request(x, "GET", "/kv-store/key-count")[1]["key-count"]
                 for x in (self.a, self.b)]

        # what node 2 (view index 1) would push to node 1: its first write of the key,
        # with a Lamport time high enough to win over the current version
        push = {"epoch": 0, "from": 1,
                "versions": [{"k": key, "v": "evil", "o": 1, "s": 1, "l": 99}]}
        for name, secret, source in self.bad_callers():
            with self.subTest(caller=name):
                self.assertForbidden(self.post(self.a, "replicate", push, secret, source), name)
                self.assertEqual(self.value_everywhere(key), ["good", "good"], name)
        # a sync would hand out every version a node holds: refused just the same
        sync = {"epoch": 0, "from": 1, "clock": [0, 0], "cursor": 0, "gen": 0}
        for name, secret, source in self.bad_callers():
            with self.subTest(caller=name, op="sync"):
                reply = self.post(self.a, "sync", sync, secret, source)
                self.assertForbidden(reply, "sync: " + name)
                self.assertNotIn(b"good", reply[3], "sync leaked a value to " + name)
        # junk bodies are refused before they are parsed
        for body in ("[", "x" * 100000, {"epoch": "zz"}):
            self.assertForbidden(self.post(self.a, "replicate", body, "wrong", self.b_ip),
                                 "junk body")
        self.assertEqual(self.value_everywhere(key), ["good", "good"])
        self.assertEqual([request(x, "GET", "/kv-store/key-count")[1]["key-count"]
                          for x in (self.a, self.b)], count)

        # the same message with the right secret from a member's address is accepted and
        # applied: the refusals above came from the checks, not from the message
        st, js, _, raw = self.post(self.a, "replicate", push, SECRET, self.b_ip)
        self.assertEqual(st, 200, raw[:300])
        self.assertIsInstance(js, dict, raw[:300])
        self.assertEqual(kv_get(self.a, key)[1].get("value"), "evil",
                         "the authenticated push was applied")

    def test_2_view_prepare_with_wrong_secret_does_not_pause_writes(self):
        key = "auth-vc"
        st, js = kv_put(self.a, key, "v0")
        self.assertEqual(st, 201, js)
        prepare = {"id": 4242, "epoch": 1, "view": [self.a, self.b], "repl-factor": 2,
                   "old-view": [self.a, self.b]}
        for name, secret, source in self.bad_callers():
            with self.subTest(caller=name):
                for addr in (self.a, self.b):
                    self.assertForbidden(self.post(addr, "view/prepare", prepare, secret,
                                                   source), "prepare: " + name)
                for op in ("view/collect", "view/install", "view/commit", "view/abort"):
                    self.assertForbidden(self.post(self.a, op, {"id": 4242}, secret, source),
                                         "%s: %s" % (op, name))
        # writes are not paused: a PUT is served at once (a paused node would hold it for
        # CAUSAL_TIMEOUT_MS and then answer 503)
        for i, addr in enumerate((self.a, self.b)):
            t0 = time.monotonic()
            st, js = kv_put(addr, key, "v%d" % (i + 1))
            self.assertEqual(st, 200, js)
            self.assertLess(time.monotonic() - t0, 1.0, "PUT at %s was held" % addr)
        st, js, _, _ = request(self.a, "GET", "/healthz")
        self.assertEqual(st, 200, js)

        # the same prepare properly authenticated does pause writes at the node ...
        st, js, _, raw = self.post(self.a, "view/prepare", prepare, SECRET, self.b_ip)
        self.assertEqual(st, 200, raw[:300])
        try:
            t0 = time.monotonic()
            st, js = kv_put(self.a, key, "paused", timeout=CAUSAL_TIMEOUT + 2 * MARGIN)
            dt = time.monotonic() - t0
            self.assertEqual((st, js.get("error")), (503, "Unable to satisfy request"), js)
            self.assertGreater(dt, CAUSAL_TIMEOUT - 0.5, "the PUT was held")
        finally:
            # ... and its abort resumes them
            st, js, _, raw = self.post(self.a, "view/abort", {"id": 4242}, SECRET, self.b_ip)
            self.assertEqual(st, 200, raw[:300])
        poll(lambda: kv_put(self.a, key, "resumed", timeout=5)[0] == 200, 5,
             msg="writes resumed after the abort")
        self.assertEqual(kv_get(self.a, key)[1].get("value"), "resumed")

    def test_3_client_api_needs_no_secret(self):
        for addr in (self.a, self.b):
            st, js = kv_put(addr, "auth-client-" + addr, "v")
            self.assertIn(st, (200, 201), js)
            st, js, _, _ = request(addr, "GET", keypath("auth-client-" + addr))
            self.assertEqual((st, js.get("value")), (200, "v"), js)

    def test_4_batch_of_forwarded_requests_needs_the_secret(self):
        import struct
        key = "auth-batch"
        self.assertIn(kv_put(self.a, key, "before")[0], (200, 201))

        def batch(value):
            uri, body = ("/kv-store/keys/" + key).encode(), ('{"value":"%s"}' % value).encode()
            return (b"CKVB1" + struct.pack("<I", 1) + struct.pack("<BQH", 2, 0, len(uri)) + uri
                    + struct.pack("<BI", 0, len(body)) + body)

        for name, secret, source in self.bad_callers():
            if secret == SECRET:
                continue  # the right secret from anywhere: a node, member or not
            self.assertForbidden(self.post(self.a, "batch", batch("forged"), secret, source),
                                 "batch, " + name)
        self.assertEqual(kv_get(self.a, key)[1].get("value"), "before")
        st, _, _, raw = self.post(self.a, "batch", batch("after"), SECRET, OUTSIDER)
        self.assertEqual(st, 200, raw[:200])
        self.assertEqual(struct.unpack_from("<H", raw, 9)[0], 200, raw[:200])
        self.assertEqual(kv_get(self.a, key)[1].get("value"), "after")


if __name__ == "__main__":
    unittest.main(verbosity=2)
