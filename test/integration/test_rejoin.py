"""A node that was down during a view change and comes back with the VIEW it was started
with (the old one) learns the view in force from its replicas and serves the current data,
never the old epoch's. Five addresses of the file's ckvtest.slot."""
import unittest

import ckvtest
from ckvtest import Cluster, kv_get, kv_put, poll, request

SLOT = ckvtest.slot(__file__)


class RejoinAfterViewChange(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(4, 2)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked()

    def test_restarted_node_joins_the_view_in_force(self):
        c = self.cluster
        a = c.addrs
        values = {}
        for i in range(40):
            key, val = "rj-%d" % i, "before-%d" % i
            st, _ = kv_put(a[i % 4], key, val)
            self.assertIn(st, (200, 201))
            values[key] = val
        # a write is acknowledged before it is pushed to the other replica; wait until
        # a[2] holds a[3]'s writes, or killing a[3] loses the last one (no durability)
        for key in [k for k in values if int(k.split("-")[1]) % 4 == 3]:
            poll(lambda: kv_get(a[2], key)[0] == 200, 5, msg="%s did not reach a[2]" % key)
        c.kill(3)  # a[3] misses the change
        # swap the shards' replica pairs: a[3] now shares its shard with a[0]
        new_view = [a[2], a[3], a[0], a[1]]
        st, js, _, _ = request(a[0], "PUT", "/kv-store/view-change",
                               {"view": new_view, "repl-factor": 2}, timeout=30)
        self.assertEqual(st, 503, js)  # a[3] is a member of the new view and is down
        # a change without a[3] is possible only if a[3] leaves the view: replace it by a
        # node that is up, so the epoch moves on while a[3] is away
        extra = SLOT.addrs(1)[0]
        view2 = [a[0], a[1], a[2], extra]
        c.start_extra(extra, view2, 2)
        st, js, _, _ = request(a[0], "PUT", "/kv-store/view-change",
                               {"view": view2, "repl-factor": 2}, timeout=30)
        self.assertEqual(st, 200, js)
        epoch = js["causal-context"]["epoch"]
        for i in range(10):  # overwrite some keys in the new epoch
            key = "rj-%d" % i
            st, _ = kv_put(view2[i % 4], key, "after-%d" % i)
            self.assertIn(st, (200, 201))
            values[key] = "after-%d" % i
        # a[3] comes back with its original VIEW (epoch 0): it must learn epoch `epoch`,
        # find itself removed, and proxy every key to the members, never serving old data
        c.restart(3)
        poll(lambda: request(a[3], "GET", "/healthz")[1].get("view-epoch") == epoch, 10,
             msg="restarted node did not learn the view in force")
        for key, val in values.items():
            st, js = kv_get(a[3], key)
            self.assertEqual((st, js.get("value")), (200, val), (key, js))
            self.assertIn("address", js)  # proxied: it is no longer a member


if __name__ == "__main__":
    unittest.main(verbosity=2)
