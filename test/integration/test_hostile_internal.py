"""Hostile clients, cluster endpoints (issue 6; split from test_hostile.py by concern).

Invalid view changes (only invalid ones: a valid one would change the cluster under the
test), the internal node-to-node endpoints called by a client that is not a member, and
a client that sets the proxies' hop header.

Cluster, normal client, helpers and final check: hostile_base."""

import unittest

import ckvtest
import hostile_base as hb
from ckvtest import keypath

SLOT = ckvtest.slot(__file__)


class HostileInternal(hb.HostileCase):
    MIN_NASTY = 30  # 32 sent: the smallest family

    def test_view_change_garbage(self):
        # only invalid view changes: a valid one would change the cluster under the test
        a = self.addrs[0]
        bodies = [[], "x", {}, {"view": []}, {"view": ""}, {"view": None, "repl-factor": 1},
                  {"view": self.addrs, "repl-factor": 0},
                  {"view": self.addrs, "repl-factor": -1},
                  {"view": self.addrs, "repl-factor": 3},
                  {"view": self.addrs, "repl-factor": 1e100},
                  {"view": self.addrs, "repl-factor": "1x"},
                  {"view": [a, a], "repl-factor": 1},
                  {"view": [1, 2], "repl-factor": 1},
                  {"view": ["127.0.0.1:99999"], "repl-factor": 1},
                  {"view": ["x" * 10000], "repl-factor": 1},
                  {"view": ",".join("127.0.1.%d:1" % i for i in range(1, 101)), "repl-factor": 1},
                  {"view": "a\u0000b", "repl-factor": 1},
                  {"view": [a, "[" * 1000], "repl-factor": 1}]
        for body in bodies:
            rep = self.http(a, "PUT", "/kv-store/view-change", body)
            self.assertJsonError(rep, 400, None, "PUT", "view change %r" % (body,))
        rep = self.http(a, "GET", "/kv-store/shards")
        self.assertEqual((rep.status, rep.json.get("shards")), (200, [1, 2]), rep)

    def test_internal_endpoints_from_a_client(self):
        # the test process connects from 127.0.0.1, which is not a member of the view
        for addr in self.addrs:
            for op, body in (("replicate", {"epoch": 0, "from": 1, "versions": [
                                {"k": "h-int", "v": "evil", "o": 1, "s": 1, "l": 99}]}),
                             ("sync", {"epoch": 0, "from": 1, "clock": [0, 0], "cursor": 0,
                                       "gen": 0}),
                             ("view/prepare", {"id": 7, "epoch": 1, "view": self.addrs,
                                               "repl-factor": 2, "old-view": self.addrs}),
                             ("view/abort", {"id": 7}), ("nope", "[")):
                rep = self.http(addr, "POST", "/kv-store/internal/" + op, body)
                self.assertJsonError(rep, 403, "Forbidden", "POST", op)
        self.assertEqual(self.http(self.addrs[0], "GET", keypath("h-int")).status, 404)

    def test_spoofed_hop_header(self):
        # a client that sets the proxies' hop header only stops its own request from
        # being forwarded (loop protection); it gets an error, the node is unharmed
        k = "h-hop"
        owner = self.owner_of(k)
        other = [x for x in self.addrs if x != owner][0]
        rep = self.http(other, "GET", keypath(k), headers={"X-Ckv-Forwarded": "1"})
        self.assertIn(rep.status, (400, 403, 503), rep)
        self.assertJsonError(rep, rep.status, None, "GET", "hop header")
        rep = self.http(owner, "GET", keypath(k), headers={"X-Ckv-Forwarded": "1"})
        self.assertEqual(rep.status, 404, rep)



if __name__ == "__main__":
    unittest.main(verbosity=2)
