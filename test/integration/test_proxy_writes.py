"""Forwarding to another shard when a replica does not answer (README "Choices where the
contract left one open": a forwarded read moves on, a forwarded write moves on only when
it never reached the replica).

  1 a replica that is paused (SIGSTOP: the kernel takes the request, the process never
    answers): the write sent there is answered 503 and is NOT sent to the other replica,
    which would apply it a second time as a new version; later writes go to the answering
    replica first; reads fail over and are served
  2 a replica that refuses at once (killed): writes fail over and succeed, promptly
  3 after both: every node alive, the metric of writes with an unknown outcome counted

Four nodes, REPL_FACTOR=2: shard 1 = a0 a1, shard 2 = a2 a3; clients talk to a0."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import metric  # noqa: E402
from ckvtest import Cluster, CkvTestCase, poll, request  # noqa: E402
from ckvtest import kv_get_obj as kv_get, kv_put_obj as kv_put  # noqa: E402
from shardhash import keys_for_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(4)
PROXY_TIMEOUT = 2.0  # PROXY_TIMEOUT_MS default
SLACK = 1.0  # scheduling and sanitizer overhead on a loaded 2-core machine



def timed_put(addr, key, value):
    t0 = time.monotonic()
    st, js = kv_put(addr, key, value, timeout=PROXY_TIMEOUT + 5)
    return st, js if isinstance(js, dict) else {}, time.monotonic() - t0


class ProxyWrites(CkvTestCase):
    def setUp(self):
        self.cluster = Cluster(4, 2, addrs=ADDRS, name="proxywrites")
        # a node serves writes once every replica of its shard has answered it once
        poll(lambda: all(ckvtest.health(a)[0] == 200 for a in ADDRS), 10,
             msg="every node healthy before the fault")

    def tearDown(self):
        self.cluster.close_checked()

    def assertAlive(self, what):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died %s" % what)

    def test_1_write_to_a_paused_replica_is_not_sent_twice(self):
        c = self.cluster
        a = c.addrs
        keys = keys_for_shard("pw", 2, 2, 4)
        # a0 tried last the replicas it could not reach while the cluster started; a read
        # that a3 answers shows a0 takes it in turn again
        poll(lambda: request(a[0], "GET", "/kv-store/keys/" + keys[0])[1].get("address") == a[3],
             10, msg="a read through a0 answered by a3")
        c.pause(3)
        try:
            results = [(k,) + timed_put(a[0], k, "v-" + k) for k in keys]
            unknown = [r for r in results if r[1] == 503]
            # replicas are tried in turn, so one of the first two writes goes to a3 first;
            # once a3 has not replied, writes try a2 first
            self.assertEqual(len(unknown), 1, "writes (key, status, reply, s): %r" % results)
            key, _, js, secs = unknown[0]
            self.assertEqual(js.get("error"), "Unable to satisfy request", js)
            self.assertLessEqual(secs, PROXY_TIMEOUT + SLACK, "503 after %.1fs" % secs)
            self.assertGreaterEqual(secs, PROXY_TIMEOUT - 0.2,
                                    "a write waits all of PROXY_TIMEOUT_MS for its replica")
            st, got = kv_get(a[2], key)
            self.assertEqual(st, 404, "the write a3 took was applied again at a2: %r" % got)
            later = results[results.index(unknown[0]) + 1:]
            self.assertNotEqual(later, [], results)
            for k, st, js, secs in later:
                self.assertIn(st, (200, 201), "%s after the 503: %s %r" % (k, st, js))
                self.assertEqual(js.get("address"), a[2], "%s went to a3 first" % k)
                self.assertLess(secs, 1.0, "%s took %.1fs" % (k, secs))
            # reads move on when a3 does not answer
            for k, st, _, _ in results:
                if st in (200, 201):
                    gst, gjs = kv_get(a[0], k, timeout=PROXY_TIMEOUT + 5)
                    self.assertEqual((gst, gjs.get("value")), (200, "v-" + k), gjs)
            self.assertEqual(metric(a[0], "causalkv_proxy_write_unknown_total"), 1)
        finally:
            c.resume(3)
        poll(lambda: ckvtest.health(a[3])[0] == 200, 10, msg="a3 healthy after resume")
        self.assertAlive("after the pause")

    def test_2_write_to_a_refusing_replica_fails_over(self):
        c = self.cluster
        a = c.addrs
        c.kill(3)
        keys = keys_for_shard("pr", 2, 2, 4)
        for k in keys:
            st, js, secs = timed_put(a[0], k, "v-" + k)
            self.assertIn(st, (200, 201), "%s with a3 refusing: %s %r" % (k, st, js))
            self.assertEqual(js.get("address"), a[2], js)
            self.assertLess(secs, 1.0, "%s took %.1fs: a refused write moves on at once"
                            % (k, secs))
        self.assertEqual(metric(a[0], "causalkv_proxy_write_unknown_total"), 0)
        c.restart(3)
        self.assertAlive("after the restart")
        poll(lambda: kv_get(a[3], keys[0])[0] == 200, 10,
             msg="a3 back: it catches up the writes it missed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
