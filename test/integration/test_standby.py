"""Nodes started outside the view in force: standbys, and nodes started early with the
next view (README "Configuration", "Operations": Restarts and View change).

  1 ADDRESS not in VIEW: the node runs as a standby (/healthz 503 "standby"), proxies key
    requests to the members of its VIEW, and becomes a serving member ("ok") through a
    view change that includes it
  2 a real configuration error still exits with status 2 and names the variable
  3 a node started early with the NEW view, before the change: it never answers 404 for
    a key that exists (never serves its empty store as the owner), learns from the
    members that it is not one of them ("standby"), and joins through the change
  4 baseline: a cluster started normally becomes ready and serves

Each test starts its own nodes and ends with every node alive, exiting 0 on SIGTERM, and
no sanitizer report (tearDown: Cluster.close_checked). Six addresses of the file's
ckvtest.slot, the same for every test."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import Cluster, CkvTestCase, as_object as _obj, health, poll, request  # noqa: E402
from ckvtest import kv_delete_obj as kv_delete, kv_get_obj as kv_get  # noqa: E402
from ckvtest import kv_put_obj as kv_put, view_change  # noqa: E402
from shardhash import keys_for_shard, owner_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(6)  # the file's nodes: every test starts its own, at these addresses
OK_WRITE = (200, 201)
LEARN_TIMEOUT = 5.0  # a few anti-entropy/membership rounds (GOSSIP_INTERVAL_MS 500)


def addr_of(i):
    return ADDRS[i]


class StandbyCase(CkvTestCase):

    def setUp(self):
        self.cluster = None
        self.model = {}

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.close_checked()

    def start(self, n, rf, start=True):
        self.cluster = Cluster(n, rf, addrs=ADDRS[:n], name="standby", start=start)
        return self.cluster

    def put(self, addr, key, value):
        st, js = kv_put(addr, key, value)
        self.assertIn(st, OK_WRITE, "PUT %s at %s: %r" % (key, addr, js))
        self.model[key] = value
        return js

    def assertAlive(self, what=""):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died %s(log tails above)"
                         % (what + " " if what else ""))

    def wait_health(self, node, want_status, want_code, timeout, what):
        """Poll /healthz of `node` until it says `want_status` with HTTP `want_code`;
        fail at once if the process exits. Returns the reply."""
        seen = []

        def check():
            if not node.running():
                return ("exited", node.proc.poll())
            st, js = health(node.addr)
            if not seen or seen[-1] != (st, js.get("status")):
                seen.append((st, js.get("status")))
            return (st == want_code and js.get("status") == want_status) and ("ok", js)

        try:
            res = poll(check, timeout, interval=0.05, msg=what)
        except AssertionError as e:
            raise AssertionError("%s; /healthz answers seen: %r" % (e, seen))
        if res[0] == "exited":
            self.fail("%s: %s exited with status %r:\n%s"
                      % (what, node.addr, res[1], node.tail(15)))
        return res[1]

    def assertKeys(self, nodes, what, proxied=()):
        bad = []
        for k, v in sorted(self.model.items()):
            for a in nodes:
                st, js = kv_get(a, k)
                js = js if isinstance(js, dict) else {}
                if st != 200 or js.get("value") != v:
                    bad.append("GET %s at %s: %s %r, want 200 %r" % (k, a, st, js, v))
                elif a in proxied and "address" not in js:
                    bad.append("GET %s at non-member %s served locally: %r" % (k, a, js))
        self.assertNoErrors(bad, "%s: wrong reads" % what)


class Standby(StandbyCase):
    """1. ADDRESS outside VIEW: a standby that proxies, then joins by view change."""

    def test_standby_proxies_then_joins(self):
        c = self.start(2, 1)
        a, b = c.addrs
        s = addr_of(2)
        # keys of every shard of the 3-shard view to come, shard 3 (s's) included
        for sid in (1, 2, 3):
            for k in keys_for_shard("sb%d" % sid, sid, 3, 3):
                self.put(a, k, "v-" + k)
        node = c.start_extra(s, [a, b], 1, wait=False)
        js = self.wait_health(node, "standby", 503, 10, "the standby's /healthz says standby")
        self.assertAlive("with the standby up")
        # key requests at the standby are proxied to the members of its VIEW
        for k, v in sorted(self.model.items()):
            st, got = kv_get(s, k)
            self.assertEqual((st, got.get("value")), (200, v), "GET %s at the standby: %r"
                             % (k, got))
            self.assertIn(got.get("address"), (a, b), "GET %s at the standby: %r" % (k, got))
        st, got = kv_get(s, "sb-missing")
        self.assertEqual(st, 404, "GET of a missing key at the standby: %r" % got)
        self.assertIn("address", got, "404 at the standby not proxied: %r" % got)
        st, got = kv_put(s, "sb-new", "through-standby")
        self.assertEqual(st, 201, "PUT of a new key at the standby: %r" % got)
        self.assertIn(got.get("address"), (a, b), "PUT at the standby: %r" % got)
        self.model["sb-new"] = "through-standby"
        k0 = sorted(self.model)[0]
        st, got = kv_put(s, k0, "updated-through-standby")
        self.assertEqual(st, 200, "PUT of an existing key at the standby: %r" % got)
        self.assertIn(got.get("address"), (a, b), "PUT at the standby: %r" % got)
        self.model[k0] = "updated-through-standby"
        self.assertKeys([a, b, s], "through the standby", proxied=[s])
        # the view change that makes it a member
        new = [a, b, s]
        st, js, raw, secs = view_change(b, new, 1)
        self.assertEqual(st, 200, "view change adding the standby: %s after %.1fs: %r"
                         % (st, secs, raw))
        self.assertEqual(js.get("message"), "View change successful", raw)
        got = self.wait_health(node, "ok", 200, LEARN_TIMEOUT, "the new member's /healthz ok")
        self.assertEqual(got.get("shard-id"), 3, got)
        self.assertKeys([a, b, s], "after the change")
        own = [k for k in self.model if owner_shard(k, 3) == 3]
        self.assertTrue(own)
        for k in own:
            st, got = kv_get(s, k)
            self.assertEqual((st, got.get("value")), (200, self.model[k]), got)
            self.assertNotIn("address", got, "the new owner proxied its own key %s: %r"
                             % (k, got))
        st, got = _obj(request(s, "GET", "/kv-store/key-count")[:2])
        self.assertEqual((st, got.get("key-count"), got.get("shard-id")), (200, len(own), 3), got)
        self.assertAlive()

    def test_standby_with_one_member_view(self):
        # the simplest standby: VIEW is one running node
        c = self.start(1, 1)
        a = c.addrs[0]
        s = addr_of(1)
        self.put(a, "one", "1")
        node = c.start_extra(s, [a], 1, wait=False)
        self.wait_health(node, "standby", 503, 10, "the standby's /healthz says standby")
        st, got = kv_get(s, "one")
        self.assertEqual((st, got.get("value"), got.get("address")), (200, "1", a), got)
        st, got = kv_delete(s, "one")
        self.assertEqual((st, got.get("address")), (200, a), got)
        st, got = kv_get(a, "one")
        self.assertEqual(st, 404, got)
        self.assertAlive()


class ConfigErrors(StandbyCase):
    """2. Real configuration errors still exit 2 with one line naming the variable."""

    CASES = [
        ("REPL_FACTOR larger than the VIEW", [0], [0, 1], 3, "REPL_FACTOR"),
        ("VIEW length not a multiple of REPL_FACTOR", [0], [0, 1, 2], 2, "REPL_FACTOR"),
        ("REPL_FACTOR 0", [0], [0, 1], 0, "REPL_FACTOR"),
        ("duplicate member", [0], [0, 1, 0, 1], 1, "VIEW"),
        ("not in VIEW and REPL_FACTOR larger than VIEW", [3], [0, 1], 3, "REPL_FACTOR"),
    ]

    def test_config_errors_exit_2(self):
        c = self.start(1, 1, start=False)
        for what, (me,), view, rf, var in self.CASES:
            node = c.start_extra(addr_of(me), [addr_of(i) for i in view], rf, wait=False)
            try:
                rc = node.proc.wait(timeout=10)
            except Exception:
                node.kill()
                self.fail("%s: the node did not exit" % what)
            node.expected_exit = True
            self.assertEqual(rc, 2, "%s: exit status %r:\n%s" % (what, rc, node.tail(10)))
            self.assertIn(var, node.tail(5), "%s: stderr does not name %s" % (what, var))
        # an unparsable VIEW member
        node = c.start_extra(addr_of(0), [addr_of(0), "%s:notaport" % addr_of(1).rsplit(":", 1)[0]], 1, wait=False)
        rc = node.proc.wait(timeout=10)
        node.expected_exit = True
        self.assertEqual(rc, 2, "unparsable VIEW member: %r:\n%s" % (rc, node.tail(10)))
        self.assertIn("VIEW", node.tail(5))
        self.assertAlive()


class EarlyStart(StandbyCase):
    """3. A node started with the next view before the view change."""

    def test_early_node_never_serves_an_empty_store(self):
        c = self.start(2, 1)
        a, b = c.addrs
        cx = addr_of(2)
        new = [a, b, cx]
        for sid in (1, 2, 3):  # shard 3 of the 3-shard view is the one cx would own
            for k in keys_for_shard("es%d" % sid, sid, 3, 4):
                self.put(b, k, "v-" + k)
        node = c.start_extra(cx, new, 1, wait=False)
        bad, sweeps, seen = [], 0, []
        deadline = time.monotonic() + 10
        learned = False
        while time.monotonic() < deadline and not learned:
            if not node.running():
                break
            try:
                st, js = health(cx)
                seen.append((st, js.get("status")))
                if st == 200 and js.get("status") == "ok":
                    bad.append("/healthz at the early node says ok before the view change: "
                               "%r" % js)
                learned = st == 503 and js.get("status") == "standby"
            except OSError:
                time.sleep(0.05)  # poll interval: not listening yet
                continue
            for k, v in sorted(self.model.items()):
                try:
                    st, got = kv_get(cx, k, timeout=5)
                except OSError:
                    continue
                got = got if isinstance(got, dict) else {}
                if st == 503:
                    continue
                if st != 200 or got.get("value") != v:
                    bad.append("GET %s at the early node: %s %r (want 200 %r or 503)"
                               % (k, st, got, v))
                elif "address" not in got:
                    bad.append("GET %s at the early node served locally: %r" % (k, got))
            sweeps += 1
            if len(bad) > 20:
                break
        self.assertTrue(node.running(), "the early node exited with status %r:\n%s"
                        % (node.proc.poll(), node.tail(15)))
        self.assertNoErrors(bad, "wrong answers from the early node (%d sweeps)" % sweeps)
        self.assertTrue(learned, "the early node never said standby within 10 s; /healthz "
                        "answers: %r" % sorted(set(seen), key=str))
        # once a standby, it proxies every key (and a write) to the members
        self.assertKeys([cx], "the early node as a standby", proxied=[cx])
        st, got = kv_put(cx, "es-new", "early")
        self.assertIn(st, OK_WRITE, got)
        self.assertIn(got.get("address"), (a, b), "PUT at the standby: %r" % got)
        self.model["es-new"] = "early"
        # the change it was started for
        st, js, raw, secs = view_change(a, new, 1)
        self.assertEqual(st, 200, "view change adding the early node: %s after %.1fs: %r"
                         % (st, secs, raw))
        self.wait_health(node, "ok", 200, LEARN_TIMEOUT, "the new member's /healthz ok")
        self.assertKeys([a, b, cx], "after the change")
        for k in self.model:
            if owner_shard(k, 3) == 3:
                st, got = kv_get(cx, k)
                self.assertNotIn("address", got, "the new owner proxied its key %s" % k)
        self.assertAlive()


class Baseline(StandbyCase):
    """4. A fresh cluster started normally becomes ready and serves."""

    def test_fresh_cluster_ready_and_serving(self):
        c = self.start(4, 2)
        for i, node in enumerate(c.nodes):
            js = self.wait_health(node, "ok", 200, LEARN_TIMEOUT, "%s becomes ready" % node.addr)
            self.assertEqual((js.get("shard-id"), js.get("view-epoch")), (i // 2 + 1, 0),
                             "%s /healthz: %r" % (node.addr, js))
        for i in range(8):
            self.put(c.addrs[i % 4], "bl-%d" % i, "v%d" % i)
        self.assertKeys(c.addrs, "fresh cluster")
        self.assertAlive()

    def test_single_node_default_view(self):
        # VIEW unset: ADDRESS alone, a one-node cluster
        c = self.start(1, 1, start=False)
        node = c.nodes[0]
        full = node.full_env

        def env_without_view():
            e = full()
            e.pop("VIEW", None)
            e.pop("REPL_FACTOR", None)
            return e
        node.full_env = env_without_view
        node.start()
        c.wait_ready([node])
        self.wait_health(node, "ok", 200, 5, "a one-node cluster is ready")
        self.put(node.addr, "solo", "1")
        self.assertKeys([node.addr], "one node")
        self.assertAlive()


if __name__ == "__main__":
    unittest.main(verbosity=2)
