"""Unit tests of causal_checker (no causalkv binary needed): valid histories pass, and
injected violations of read-your-writes, monotonic reads and writes-follow-reads are
reported."""

import random
import unittest

from causal_checker import Op, Recorder, check, write_observation


def P(c, k, v, ok=True, prev=None, **kw):
    return Op(c, "put", k, v, ok, prev, **kw)


def G(c, k, v, ok=True, **kw):
    return Op(c, "get", k, v, ok, **kw)


def D(c, k, prev="live", ok=True, did=None, **kw):
    return Op(c, "delete", k, did, ok, prev, **kw)


class Valid(unittest.TestCase):
    def assertValid(self, h):
        v = check(h)
        self.assertEqual(v, [], "\n".join(map(str, v)))

    def test_empty(self):
        self.assertValid([])

    def test_single_client(self):
        self.assertValid([G("a", "x", None), P("a", "x", "a1", prev="missing"),
                          G("a", "x", "a1"), P("a", "x", "a2", prev="live"),
                          G("a", "x", "a2"), D("a", "x"), G("a", "x", None),
                          P("a", "x", "a3", prev="missing"), G("a", "x", "a3")])

    def test_other_client_may_read_old_before_seeing_new(self):
        # b has never seen anything from a: reading missing or old values is fine
        self.assertValid([P("a", "x", "a1"), P("a", "x", "a2"), G("b", "x", None),
                          G("b", "x", "a1"), G("b", "x", "a2")])

    def test_write_without_the_history_observes_nothing(self):
        # a replica that lacked a1 accepted a2 and answered 201 with "partial-history":
        # write_observation makes that no observation, so no violation
        prev = write_observation("put", 201, {"replaced": False, "partial-history": True})
        self.assertIsNone(prev)
        self.assertValid([P("a", "x", "a1", prev="missing"), P("a", "x", "a2", prev=prev),
                          G("a", "x", "a2")])
        self.assertEqual(write_observation("put", 201, {"replaced": False}), "missing")
        self.assertEqual(write_observation("delete", 200, {"doesExist": True}), "live")

    def test_concurrent_writes_either_order(self):
        h = [P("a", "x", "a1"), P("b", "x", "b1"),
             G("c", "x", "a1"), G("c", "x", "b1"), G("c", "x", "a1"),
             G("a", "x", "b1"), G("b", "x", "a1")]
        self.assertValid(h)

    def test_concurrent_delete_explains_missing(self):
        self.assertValid([P("a", "x", "a1"), D("b", "x", prev="missing"),
                          P("b", "y", "b0"), D("b", "x", did="d1", prev="live"),
                          G("a", "x", None)])

    def test_later_delete_by_other_explains_missing(self):
        self.assertValid([P("a", "x", "a1"), G("b", "x", "a1"), D("b", "x"),
                          G("a", "x", None), G("b", "x", None)])

    def test_cross_key_ok(self):
        self.assertValid([P("a", "x", "x1"), P("a", "y", "y1"), G("b", "y", "y1"),
                          G("b", "x", "x1"), P("a", "x", "x2"), G("b", "x", "x2")])

    def test_unknown_outcome_write_is_not_in_writer_past(self):
        # a1's reply was lost (ok=False): a2 is not causally after it, so reading a1
        # after a2 is not a violation
        self.assertValid([P("a", "x", "a1", ok=False), P("a", "x", "a2"),
                          G("b", "x", "a2"), G("b", "x", "a1")])

    def test_read_of_unknown_outcome_write_is_seen(self):
        self.assertValid([P("a", "x", "a1", ok=False), G("b", "x", "a1"),
                          G("b", "x", "a1")])

    def test_failed_get_gives_no_information(self):
        self.assertValid([P("a", "x", "a1"), G("a", "x", None, ok=False)])

    def test_in_flight_write_read_by_other(self):
        # b reads a's value while a's put is still in flight (stamps overlap)
        h = [G("b", "x", "a1", start=2, end=3), P("a", "x", "a1", start=1, end=4),
             G("a", "x", "a1", start=5, end=6), G("b", "x", "a1", start=7, end=8)]
        self.assertValid(h)

    def test_put_prev_checks(self):
        self.assertValid([P("a", "x", "a1", prev="missing"), P("a", "x", "a2", prev="live"),
                          D("a", "x", prev="live"), D("a", "x", prev="missing"),
                          P("a", "x", "a3", prev="missing")])

    def test_recorder_stamps(self):
        r = Recorder()
        t = r.begin()
        r.record("a", "put", "x", "a1", True, "missing", start=t)
        t = r.begin()
        r.record("a", "get", "x", "a1", True, start=t)
        self.assertEqual(len(r.ops), 2)
        self.assertLess(r.ops[0].start, r.ops[0].end)
        self.assertLess(r.ops[0].end, r.ops[1].start)
        self.assertValid(r.ops)


class Violations(unittest.TestCase):
    def assertFlags(self, h, kind=None, index=None):
        v = check(h)
        self.assertTrue(v, "no violation reported")
        if kind is not None:
            self.assertIn(kind, [x.kind for x in v], "\n".join(map(str, v)))
        if index is not None:
            self.assertIn(index, [x.index for x in v], "\n".join(map(str, v)))
        return v

    def test_stale_read_after_own_write(self):
        self.assertFlags([P("a", "x", "a1"), P("a", "x", "a2"), G("a", "x", "a1")],
                         "stale-read", 2)

    def test_stale_read_after_reading_newer(self):
        self.assertFlags([P("a", "x", "a1"), P("a", "x", "a2"), G("b", "x", "a2"),
                          G("b", "x", "a1")], "stale-read", 3)

    def test_missing_after_own_write(self):
        self.assertFlags([P("a", "x", "a1"), G("a", "x", None)], "missing", 1)

    def test_missing_after_reading_live(self):
        self.assertFlags([P("a", "x", "a1"), G("b", "x", "a1"), G("b", "x", None)],
                         "missing", 2)

    def test_missing_explained_only_by_older_delete(self):
        # the only delete happened before a1: it cannot explain a missing read after a1
        self.assertFlags([P("a", "x", "a0"), D("a", "x"), P("a", "x", "a1"),
                          G("a", "x", None)], "missing", 3)

    def test_value_after_own_delete(self):
        self.assertFlags([P("a", "x", "a1"), D("a", "x"), G("a", "x", "a1")],
                         "stale-read", 2)

    def test_writes_follow_reads_missing(self):
        # a writes x then y; b reads y's new value, then must see x
        self.assertFlags([P("a", "x", "x1"), P("a", "y", "y1"), G("b", "y", "y1"),
                          G("b", "x", None)], "missing", 3)

    def test_writes_follow_reads_stale(self):
        self.assertFlags([P("a", "x", "x0"), P("a", "x", "x1"), P("a", "y", "y1"),
                          G("b", "y", "y1"), G("b", "x", "x0")], "stale-read", 4)

    def test_transitive_dependency(self):
        # a: x1 ; b reads x1, writes y1 ; c reads y1 then misses x
        self.assertFlags([P("a", "x", "x1"), G("b", "x", "x1"), P("b", "y", "y1"),
                          G("c", "y", "y1"), G("c", "x", None)], "missing", 4)

    def test_monotonic_writes_seen_by_other(self):
        self.assertFlags([P("a", "x", "a1"), P("a", "x", "a2"), P("a", "x", "a3"),
                          G("b", "x", "a3"), G("b", "x", "a2")], "stale-read", 4)

    def test_put_found_missing_after_own_write(self):
        self.assertFlags([P("a", "x", "a1", prev="missing"),
                          P("a", "x", "a2", prev="missing")], "missing", 1)

    def test_delete_found_missing_after_own_write(self):
        self.assertFlags([P("a", "x", "a1"), D("a", "x", prev="missing")], "missing", 1)

    def test_put_found_live_after_own_delete(self):
        self.assertFlags([P("a", "x", "a1"), D("a", "x"), P("a", "x", "a2", prev="live")],
                         "stale-read", 2)

    def test_unknown_value(self):
        self.assertFlags([P("a", "x", "a1"), G("b", "x", "zzz")], "unknown-value", 1)

    def test_wrong_key(self):
        self.assertFlags([P("a", "x", "a1"), G("b", "y", "a1")], "wrong-key", 1)

    def test_future_read(self):
        self.assertFlags([G("b", "x", "a1", start=1, end=2), P("a", "x", "a1", start=3, end=4)],
                         "future-read", 0)

    def test_malformed_histories(self):
        with self.assertRaises(ValueError):
            check([P("a", "x", "v"), P("b", "x", "v")])
        with self.assertRaises(ValueError):
            check([Op("a", "cas", "x", "v")])
        with self.assertRaises(ValueError):
            check([G("a", "x", None, start=1, end=5), G("a", "x", None, start=3, end=6)])


def simulate(seed, clients=8, ops=1000, keys=20, p_delete=0.15):
    """A linearizable store (trivially causal) driven by random interleaved clients."""
    rng = random.Random(seed)
    store = {}
    hist = []
    counters = {c: 0 for c in range(clients)}
    for _ in range(ops):
        c = rng.randrange(clients)
        cid = "c%d" % c
        k = "k%d" % rng.randrange(keys)
        r = rng.random()
        if r < 0.45:
            hist.append(G(cid, k, store.get(k)))
        elif r < 1.0 - p_delete:
            counters[c] += 1
            v = "%s-%d" % (cid, counters[c])
            hist.append(P(cid, k, v, prev="live" if k in store else "missing"))
            store[k] = v
        else:
            hist.append(D(cid, k, prev="live" if k in store else "missing"))
            store.pop(k, None)
    return hist


class Simulated(unittest.TestCase):
    def test_linearizable_histories_pass(self):
        for seed in range(5):
            h = simulate(seed)
            v = check(h)
            self.assertEqual(v, [], "seed %d: %s" % (seed, "\n".join(map(str, v[:5]))))

    def test_injected_stale_reads_are_caught(self):
        """Replace a read that follows the client's own two writes of a key with the
        older of the two values (or with "missing"): the checker must flag that read."""
        injected = missing_injected = 0
        for seed in range(10):
            h = simulate(seed, ops=400, keys=5, p_delete=0.02)
            did_stale = did_missing = False
            for i, op in enumerate(h):
                if did_stale and did_missing:
                    break
                if op.kind != "get" or op.value is None:
                    continue
                own = [o for o in h[:i] if o.client == op.client and o.key == op.key
                       and o.kind == "put"]
                if len(own) < 2 or own[-1].value != op.value:
                    continue
                if not did_stale:
                    bad = list(h)
                    bad[i] = G(op.client, op.key, own[-2].value)
                    self.assertIn(i, [x.index for x in check(bad)],
                                  "seed %d op %d not flagged" % (seed, i))
                    injected += 1
                    did_stale = True
                # a missing answer is a violation too, unless another client's delete
                # (concurrent with the client's writes) could explain it
                if not did_missing and not any(o.kind == "delete" and o.key == op.key
                                               and o.client != op.client for o in h[:i]):
                    bad = list(h)
                    bad[i] = G(op.client, op.key, None)
                    self.assertIn(i, [x.index for x in check(bad)],
                                  "seed %d op %d (missing) not flagged" % (seed, i))
                    missing_injected += 1
                    did_missing = True
        self.assertGreater(injected, 0)
        self.assertGreater(missing_injected, 0)

    def test_injected_cross_client_stale_reads_are_caught(self):
        """Client B read value w of key k; a later read by B of k returning a value that
        was overwritten before w (by w's writer) is flagged."""
        found = 0
        for seed in range(10):
            h = simulate(seed, ops=800, keys=4, clients=4)
            for i, op in enumerate(h):
                if op.kind != "get" or op.value is None:
                    continue
                w_i = next(j for j, o in enumerate(h) if o.kind == "put" and o.value == op.value)
                writer = h[w_i].client
                if writer == op.client:
                    continue
                older = [o for o in h[:w_i] if o.kind == "put" and o.key == op.key
                         and o.client == writer]
                later = [j for j in range(i + 1, len(h)) if h[j].client == op.client
                         and h[j].key == op.key and h[j].kind == "get"]
                if not older or not later:
                    continue
                j = later[0]
                bad = list(h)
                bad[j] = G(op.client, op.key, older[-1].value)
                # only meaningful if nothing between i and j by this client touched k
                between = [o for o in h[i + 1:j] if o.client == op.client and o.key == op.key]
                if between:
                    continue
                self.assertIn(j, [x.index for x in check(bad)], "seed %d" % seed)
                found += 1
                break
        self.assertGreater(found, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
