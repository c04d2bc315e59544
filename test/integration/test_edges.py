"""View-change edge cases found by outside testers (README "View change", SPEC 3 and 6).

Each test starts its own cluster and ends with every node alive, exiting 0 on SIGTERM,
with no sanitizer report (tearDown: Cluster.close_checked).

  1 grow an empty cluster (1 -> 2 nodes rf 1; 2 -> 4 nodes rf 2): nobody receives keys
  2 one key, 1 -> 4 nodes rf 1: three shards receive nothing
  3 the coordinator is not in the new view (2 -> 1 node; 4 -> 2 nodes)
  4 repl-factor changes: empty 4 nodes rf 1 -> rf 2; one key rf 2 -> rf 1 -> rf 2
  5 a new member that is not running: 503 naming it, the old view stays, a later valid
    change succeeds
  6 two view changes at once, to two members, different targets: 200/503 each, no hang,
    one view agreed everywhere, no key lost
  7 a shard holding only tombstones (reorder; 4 -> 2 nodes): deleted keys stay deleted
  8 a node paused (SIGSTOP) across a change that removes it: the change is bounded by the
    prepare timeout, and the node serves (proxies) promptly once resumed

Ten addresses of the file's ckvtest.slot, the same for every test."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import Cluster, CkvTestCase, expected_state, poll, request, view_state  # noqa: E402
from ckvtest import kv_delete_obj as kv_delete, kv_get_obj as kv_get  # noqa: E402
from ckvtest import kv_put_obj as kv_put  # noqa: E402
from shardhash import keys_for_shard, owner_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(10)  # the file's nodes: every test starts its own, at these addresses
VC_TIMEOUT = 30.0  # no view change may take longer than this to answer
OK_WRITE = (200, 201)
PROXY_TIMEOUT = 2.0  # PROXY_TIMEOUT_MS default: the bound on a prepare to a silent node


def addr_of(i):
    return ADDRS[i]


def view_change(addr, view, rf, timeout=VC_TIMEOUT + 5):
    """(status, json, raw, seconds). A timeout is reported as status None."""
    return ckvtest.view_change(addr, view, rf, timeout=timeout)


class EdgeCase(CkvTestCase):
    """Helpers shared by the scenarios; one cluster per test."""

    def setUp(self):
        self.cluster = None
        self.model = {}  # key -> value (None: deleted)

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.close_checked()

    def start(self, n, rf, **kw):
        self.cluster = Cluster(n, rf, addrs=ADDRS[:n], name="edges", **kw)
        return self.cluster

    def extra(self, i, view, rf, wait=True):
        """Start addr_of(i) with VIEW=view (README: start new nodes first)."""
        self.cluster.start_extra(addr_of(i), view, rf, wait=wait)
        return addr_of(i)

    def put(self, addr, key, value):
        st, js = kv_put(addr, key, value)
        self.assertIn(st, OK_WRITE, "PUT %s at %s: %r" % (key, addr, js))
        self.model[key] = value
        return js

    def delete(self, addr, key):
        st, js = kv_delete(addr, key)
        self.assertEqual(st, 200, "DELETE %s at %s: %r" % (key, addr, js))
        self.model[key] = None
        return js

    def assertAlive(self, what=""):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died %s(log tails above)"
                         % (what + " " if what else ""))

    def assertChanged(self, res, view, rf, what):
        """200 View change successful, one entry per new shard with the new replicas and
        key counts summing to the live keys."""
        st, js, raw, secs = res
        self.assertEqual(st, 200, "%s: view change -> %s after %.1fs: %r" % (what, st, secs, raw))
        self.assertIsInstance(js, dict, raw)
        self.assertEqual(js.get("message"), "View change successful", raw)
        shards = js.get("shards")
        self.assertIsInstance(shards, list, raw)
        got = [(s.get("shard-id"), s.get("replicas")) for s in shards]
        self.assertEqual(got, expected_state(view, rf), "%s: shards in the reply" % what)
        live = sum(1 for v in self.model.values() if v is not None)
        self.assertEqual(sum(s.get("key-count", -1) for s in shards), live,
                         "%s: key counts %r, live keys %d" % (what, shards, live))

    def assertState(self, nodes, view, rf, what):
        want = expected_state(view, rf)
        bad = []
        for a in nodes:
            try:
                got = view_state(a)
            except (OSError, AssertionError) as e:
                bad.append("%s: %r" % (a, e))
                continue
            if got != want:
                bad.append("%s reports %r" % (a, got))
        self.assertEqual(bad, [], "%s: shards differ from %r:\n%s" % (what, want, "\n".join(bad)))

    def assertKeys(self, nodes, what, proxied=()):
        """Every model key from every node: live keys 200 with the value, deleted keys 404.
        Nodes in `proxied` (removed from the view) must answer with "address"."""
        bad = []
        for k, v in sorted(self.model.items()):
            for a in nodes:
                try:
                    st, js = kv_get(a, k)
                except OSError as e:
                    bad.append("GET %s at %s: %r" % (k, a, e))
                    continue
                js = js if isinstance(js, dict) else {}
                if v is None:
                    if st != 404:
                        bad.append("GET %s (deleted) at %s: %s %r, want 404" % (k, a, st, js))
                elif st != 200 or js.get("value") != v:
                    bad.append("GET %s at %s: %s %r, want 200 %r" % (k, a, st, js, v))
                elif a in proxied and "address" not in js:
                    bad.append("GET %s at removed node %s served locally: %r" % (k, a, js))
        self.assertNoErrors(bad, "%s: wrong reads" % what)

    def wait_replicated(self, view, rf, what):
        """Poll until every member holds its shard's live keys (README: a write survives
        the loss of its replica only once the push reached another replica)."""
        nsh = len(view) // rf

        def done():
            for a in view:
                sid = view.index(a) // rf + 1
                want = sum(1 for k, v in self.model.items()
                           if v is not None and owner_shard(k, nsh) == sid)
                st, js, _, _ = request(a, "GET", "/kv-store/key-count", timeout=2)
                if st != 200 or (js or {}).get("key-count") != want:
                    return False
            return True
        poll(done, 5, msg="%s: every replica holds its shard's keys" % what)

    def assertKeyCounts(self, view, rf, what):
        """key-count at every member: the live keys its shard owns."""
        nsh = len(view) // rf
        bad = []
        for a in view:
            sid = view.index(a) // rf + 1
            want = sum(1 for k, v in self.model.items()
                       if v is not None and owner_shard(k, nsh) == sid)
            st, js, _, raw = request(a, "GET", "/kv-store/key-count")
            js = js if isinstance(js, dict) else {}
            if st != 200 or js.get("key-count") != want or js.get("shard-id") != sid:
                bad.append("%s: %s %r, want key-count %d shard-id %d" % (a, st, raw, want, sid))
        self.assertNoErrors(bad, "%s: key counts" % what)


class GrowEmpty(EdgeCase):
    """1. Growing a cluster that holds no key: every new shard receives nothing."""

    def test_grow_empty_1_to_2_rf1(self):
        c = self.start(1, 1)
        new = [c.addrs[0], addr_of(1)]
        self.extra(1, new, 1)
        self.assertChanged(view_change(c.addrs[0], new, 1), new, 1, "1 -> 2 empty")
        self.assertAlive("after 1 -> 2")
        self.assertState(new, new, 1, "1 -> 2 empty")
        self.assertKeyCounts(new, 1, "1 -> 2 empty")
        # and the grown cluster serves
        for i in range(6):
            self.put(new[i % 2], "ge-%d" % i, "v%d" % i)
        self.assertKeys(new, "after 1 -> 2")
        self.assertAlive()

    def test_grow_empty_2_to_4_rf2(self):
        c = self.start(2, 2)
        new = c.addrs + [addr_of(2), addr_of(3)]
        self.extra(2, new, 2)
        self.extra(3, new, 2)
        self.assertChanged(view_change(c.addrs[1], new, 2), new, 2, "2 -> 4 empty")
        self.assertAlive("after 2 -> 4")
        self.assertState(new, new, 2, "2 -> 4 empty")
        self.assertKeyCounts(new, 2, "2 -> 4 empty")
        for i in range(8):
            self.put(new[i % 4], "ge-%d" % i, "v%d" % i)
        self.assertKeys(new, "after 2 -> 4")
        self.assertAlive()


class GrowOneKey(EdgeCase):
    """2. One key, 1 -> 4 nodes rf 1: three of the four new shards receive nothing."""

    def test_one_key_1_to_4_rf1(self):
        c = self.start(1, 1)
        self.put(c.addrs[0], "only-key", "only-value")
        new = [c.addrs[0]] + [addr_of(i) for i in (1, 2, 3)]
        for i in (1, 2, 3):
            self.extra(i, new, 1)
        self.assertChanged(view_change(c.addrs[0], new, 1), new, 1, "1 -> 4 one key")
        self.assertAlive("after 1 -> 4")
        self.assertState(new, new, 1, "1 -> 4 one key")
        self.assertKeys(new, "1 -> 4 one key")
        self.assertKeyCounts(new, 1, "1 -> 4 one key")
        self.assertAlive()


class CoordinatorRemoved(EdgeCase):
    """3. The node that receives the change is not in the new view."""

    def test_two_to_one_sent_to_the_removed_node(self):
        c = self.start(2, 1)
        a = c.addrs
        for i in range(10):
            self.put(a[i % 2], "cr-%d" % i, "v%d" % i)
        new = [a[0]]
        self.assertChanged(view_change(a[1], new, 1), new, 1, "2 -> 1 via the removed node")
        self.assertAlive("after 2 -> 1")
        self.assertState(new, new, 1, "2 -> 1")
        self.assertKeys(new + [a[1]], "2 -> 1", proxied=[a[1]])
        self.assertKeyCounts(new, 1, "2 -> 1")
        self.assertAlive()

    def test_four_to_two_sent_to_a_removed_node(self):
        c = self.start(4, 2)
        a = c.addrs
        for i in range(20):
            self.put(a[i % 4], "cr-%d" % i, "v%d" % i)
        new = [a[0], a[1]]  # rf 1: two shards, a2 and a3 leave
        self.assertChanged(view_change(a[3], new, 1), new, 1, "4 -> 2 via a removed node")
        self.assertAlive("after 4 -> 2")
        self.assertState(new, new, 1, "4 -> 2")
        self.assertKeys(a, "4 -> 2", proxied=[a[2], a[3]])
        self.assertKeyCounts(new, 1, "4 -> 2")
        # the removed nodes keep proxying writes too
        for i, via in enumerate((a[2], a[3])):
            st, js = kv_put(via, "cr-%d" % i, "new%d" % i)
            self.assertEqual(st, 200, "PUT at removed node %s: %r" % (via, js))
            self.assertIn("address", js, "PUT at removed node %s served locally" % via)
            self.model["cr-%d" % i] = "new%d" % i
        self.assertKeys(a, "after writes through removed nodes", proxied=[a[2], a[3]])
        self.assertAlive()


class ReplFactorChange(EdgeCase):
    """4. Same members, a different repl-factor."""

    def test_empty_rf1_to_rf2(self):
        c = self.start(4, 1)
        self.assertChanged(view_change(c.addrs[0], c.addrs, 2), c.addrs, 2, "empty rf 1 -> 2")
        self.assertAlive("after rf 1 -> 2")
        self.assertState(c.addrs, c.addrs, 2, "empty rf 1 -> 2")
        self.assertKeyCounts(c.addrs, 2, "empty rf 1 -> 2")
        self.assertAlive()

    def test_one_key_rf2_to_rf1_and_back(self):
        c = self.start(4, 2)
        a = c.addrs
        self.put(a[2], "rf-key", "rf-value")
        self.assertChanged(view_change(a[0], a, 1), a, 1, "one key rf 2 -> 1")
        self.assertAlive("after rf 2 -> 1")
        self.assertState(a, a, 1, "rf 2 -> 1")
        self.assertKeys(a, "rf 2 -> 1")
        self.assertKeyCounts(a, 1, "rf 2 -> 1")
        self.assertChanged(view_change(a[3], a, 2), a, 2, "one key rf 1 -> 2")
        self.assertAlive("after rf 1 -> 2")
        self.assertState(a, a, 2, "rf 1 -> 2")
        self.assertKeys(a, "rf 1 -> 2")
        self.assertKeyCounts(a, 2, "rf 1 -> 2")
        self.assertAlive()


class NewMemberDown(EdgeCase):
    """5. A new member that is not running: 503, nothing changes; then a valid change."""

    def test_new_member_not_running(self):
        c = self.start(2, 1)
        a = c.addrs
        for i in range(10):
            self.put(a[i % 2], "nm-%d" % i, "v%d" % i)
        ghost = addr_of(2)  # never started (yet)
        bad_view = a + [ghost]
        st, js, raw, secs = view_change(a[0], bad_view, 1)
        self.assertEqual(st, 503, "change to a view with a member that is down: %s after "
                         "%.1fs: %r" % (st, secs, raw))
        self.assertIsInstance(js, dict, raw)
        err = js.get("error", "")
        self.assertTrue(isinstance(err, str) and err.startswith("View change failed:"), raw)
        self.assertIn(ghost, err, "the error does not name the unreachable member: %r" % raw)
        self.assertAlive("after the refused change")
        self.assertState(a, a, 1, "after the refused change (old view)")
        self.assertKeys(a, "after the refused change")
        self.assertKeyCounts(a, 1, "after the refused change")
        # nothing is frozen: writes go on at once
        for i in range(4):
            js = self.put(a[i % 2], "nm-after-%d" % i, "w%d" % i)
        # the same change once the member runs
        self.extra(2, bad_view, 1)
        self.assertChanged(view_change(a[1], bad_view, 1), bad_view, 1, "the change, retried")
        self.assertAlive("after the retried change")
        self.assertState(bad_view, bad_view, 1, "after the retried change")
        self.assertKeys(bad_view, "after the retried change")
        self.assertKeyCounts(bad_view, 1, "after the retried change")
        self.assertAlive()


class ConcurrentChanges(EdgeCase):
    """6. Two different view changes sent at once to two different members (two rounds,
    each starting from the view the previous one left)."""

    def race(self, targets, rnd):
        """Send both changes at once; return the agreed state after checking it."""
        a = self.cluster.addrs
        before = poll(lambda: self.agreed(a), 5, msg="one view before round %d" % rnd)
        results = [None, None]
        barrier = threading.Barrier(2)

        def run(i):
            coord, view, rf = targets[i]
            barrier.wait()
            results[i] = view_change(coord, view, rf, timeout=VC_TIMEOUT + 5)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(VC_TIMEOUT + 10)
        sys.stderr.write("[edges] round %d: %r\n"
                         % (rnd, [(r[0], round(r[3], 2), r[2][:100]) if r else None
                                  for r in results]))
        for i, res in enumerate(results):
            self.assertIsNotNone(res, "round %d change %d: no answer (hang)" % (rnd, i))
            st, js, raw, secs = res
            self.assertIn(st, (200, 503), "round %d change %d to %s: %s after %.1fs: %r"
                          % (rnd, i, targets[i][0], st, secs, raw))
            self.assertLessEqual(secs, VC_TIMEOUT, "round %d change %d took %.1fs"
                                 % (rnd, i, secs))
        self.assertAlive("after round %d" % rnd)
        # every node agrees on one view: the one before, or one of the two targets
        state = poll(lambda: self.agreed(a), 10, interval=0.2,
                     msg="round %d: all nodes report one view" % rnd)
        candidates = [before] + [expected_state(v, rf) for _, v, rf in targets]
        self.assertIn(state, candidates, "round %d: the agreed view is none of the "
                      "requested ones" % rnd)
        won = [i for i, res in enumerate(results) if res[0] == 200]
        if won:
            self.assertEqual(len(won), 1, "round %d: both changes answered 200" % rnd)
            _, v, rf = targets[won[0]]
            self.assertEqual(state, expected_state(v, rf), "round %d: change %d answered "
                             "200 but its view is not in force" % (rnd, won[0]))
        else:
            self.assertEqual(state, before, "round %d: both refused, yet the view moved" % rnd)
        self.assertKeys(a, "after round %d" % rnd)
        # nobody is left frozen: a write through every node succeeds promptly
        for i, x in enumerate(a):
            k = "cc-after%d-%d" % (rnd, i)

            def write(x=x, k=k):
                st, js = kv_put(x, k, "r%d" % rnd, timeout=3)
                return st in OK_WRITE
            poll(write, 5, interval=0.1, msg="round %d: PUT %s at %s" % (rnd, k, x))
            self.model[k] = "r%d" % rnd
        self.assertKeys(a, "after the writes of round %d" % rnd)
        return state

    @staticmethod
    def agreed(nodes):
        states = [view_state(x) for x in nodes]
        return states[0] if all(s == states[0] for s in states) else None

    def test_two_changes_at_once(self):
        c = self.start(4, 2)
        a = c.addrs
        for i in range(30):
            self.put(a[i % 4], "cc-%d" % i, "v%d" % i)
        self.race([(a[0], [a[1], a[0], a[3], a[2]], 2),   # swap the replicas of each shard
                   (a[2], [a[2], a[3], a[0], a[1]], 1)], 1)  # four shards, reordered
        self.race([(a[3], [a[3], a[2], a[1], a[0]], 1),
                   (a[1], [a[0], a[2], a[1], a[3]], 2)], 2)
        self.race([(a[1], [a[1], a[0], a[2], a[3]], 2),
                   (a[3], [a[0], a[1], a[2], a[3]], 1)], 3)
        self.race([(a[2], [a[3], a[1], a[2], a[0]], 2),
                   (a[0], [a[0], a[1], a[2], a[3]], 2)], 4)
        # and a later change goes through
        self.assertChanged(view_change(a[1], a, 2), a, 2, "a change after the races")
        self.assertState(a, a, 2, "a change after the races")
        self.assertKeys(a, "after the change after the races")
        self.assertAlive()


class TombstoneShard(EdgeCase):
    """7. A shard whose every key is deleted: its tombstones must survive the move."""

    def load(self, a):
        live = keys_for_shard("tl", 1, 2, 6)
        dead = keys_for_shard("td", 2, 2, 6)
        for i, k in enumerate(live):
            js = self.put(a[i % 4], k, "live-%d" % i)
        for i, k in enumerate(dead):
            self.put(a[i % 4], k, "dead-%d" % i)
        # the Python hash agrees with the nodes: a shard-1 replica serves shard-1 keys
        for k in live[:2] + dead[:2]:
            st, js = kv_get(a[0], k)
            self.assertEqual(st, 200, js)
            self.assertEqual("address" in js, k in dead, "ownership of %s: %r" % (k, js))
        for i, k in enumerate(dead):
            self.delete(a[(i + 1) % 4], k)
        self.assertKeys(a, "after the deletes")
        return live, dead

    def test_reorder_with_a_tombstone_shard(self):
        c = self.start(4, 2)
        a = c.addrs
        self.load(a)
        new = [a[2], a[3], a[0], a[1]]  # the shards swap members
        self.assertChanged(view_change(a[0], new, 2), new, 2, "reorder")
        self.assertAlive("after the reorder")
        self.assertState(a, new, 2, "reorder")
        self.assertKeys(a, "after the reorder")
        self.assertKeyCounts(new, 2, "after the reorder")
        self.assertAlive()

    def test_shrink_with_a_tombstone_shard(self):
        c = self.start(4, 2)
        a = c.addrs
        self.load(a)
        new = [a[2], a[3]]  # one shard, held by the former tombstone shard
        self.assertChanged(view_change(a[0], new, 2), new, 2, "4 -> 2")
        self.assertAlive("after 4 -> 2")
        self.assertState(new, new, 2, "4 -> 2")
        self.assertKeys(a, "after 4 -> 2", proxied=[a[0], a[1]])
        self.assertKeyCounts(new, 2, "after 4 -> 2")
        self.assertAlive()


class PausedNode(EdgeCase):
    """8. A node stopped (SIGSTOP) across a change that removes it."""

    def test_paused_node_removed_by_the_change(self):
        c = self.start(4, 2)
        a = c.addrs
        for i in range(20):
            self.put(a[i % 4], "pn-%d" % i, "v%d" % i)
        self.wait_replicated(a, 2, "before the pause")  # a2 must hold what a3 accepted
        c.pause(3)
        new = [a[0], a[1], a[2]]  # rf 1; a2 holds the whole old shard 2
        res = view_change(a[0], new, 1)
        self.assertChanged(res, new, 1, "change around a paused node")
        self.assertLessEqual(res[3], 3 * PROXY_TIMEOUT,
                             "the change waited %.1fs on the paused node (a prepare is bounded "
                             "by PROXY_TIMEOUT_MS)" % res[3])
        self.assertAlive("after the change")
        self.assertState(new, new, 1, "change around a paused node")
        self.assertKeys(new, "change around a paused node")
        c.resume(3)
        t0 = time.monotonic()

        attempts = []

        def put_ok():
            st, js = kv_put(a[3], "pn-0", "after-resume", timeout=2)
            js = js if isinstance(js, dict) else {}
            attempts.append((round(time.monotonic() - t0, 2), st, js.get("address")))
            return st in OK_WRITE and js

        def get_ok():
            st, js = kv_get(a[3], "pn-0", timeout=2)
            return st == 200 and js.get("value") == "after-resume" and "address" in js and js

        # 503 (or no answer) while it catches up is fine; a 2xx must be proxied: a write
        # the removed node accepted itself would be lost
        try:
            js = poll(put_ok, 5, interval=0.1, msg="PUT at the resumed, removed node: 2xx")
        except AssertionError as e:
            raise AssertionError("%s; attempts (s, status, address): %r" % (e, attempts))
        sys.stderr.write("[edges] PUTs at the resumed node (s, status, address): %r\n"
                         % attempts)
        self.assertIn("address", js, "the removed node accepted a write itself (lost): "
                      "attempts %r" % attempts)
        self.model["pn-0"] = "after-resume"
        poll(get_ok, max(0.5, 5 - (time.monotonic() - t0)), interval=0.1,
             msg="GET at the resumed, removed node: 200 with the value, proxied")
        self.assertKeys(new + [a[3]], "after the resume", proxied=[a[3]])
        self.assertAlive()


if __name__ == "__main__":
    unittest.main(verbosity=2)
