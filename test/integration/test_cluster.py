"""Integration tests for a sharded, replicated cluster (issue 3): shard map, proxying,
replication, causal consistency across nodes and shards, faults.

Clusters (all on the file's ckvtest.slot): 6 nodes rf=2 and 4 nodes rf=2 (no faults, one
cluster per class, shared by its tests); two fault clusters of the same shapes; a 2-node
internal-endpoint cluster."""

import random
import time
import unittest

import ckvtest
from causal_checker import Recorder, check, write_observation
from ckvtest import (Cluster, CkvTestCase, Session, key_count, keypath, kv_get, kv_put,
                     poll, request, unique)
from loadgen import Parallel

SLOT = ckvtest.slot(__file__)
PROXY_TIMEOUT = 2.0  # PROXY_TIMEOUT_MS default
CAUSAL_TIMEOUT = 2.0  # CAUSAL_TIMEOUT_MS default


class ClusterBase(CkvTestCase):
    N = RF = None
    SEED = 1

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(cls.N, cls.RF, name=cls.__name__)
        cls.addrs = cls.cluster.addrs
        cls.rng = random.Random(cls.SEED)
        cls.model = {}  # key -> value of every live key written by this class
        cls.owner = {}  # key -> shard id

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked()

    def tearDown(self):
        self.assertEqual(self.cluster.crashed(), [], "a node crashed")

    # ---------------------------------------------------------------- helpers
    @property
    def nshards(self):
        return self.N // self.RF

    def served_by(self, addr, js):
        return js.get("address") or addr

    def owner_shard(self, key, via=None):
        """Shard owning `key`, from who answers a GET (a replica answers locally)."""
        if key in self.owner:
            return self.owner[key]
        via = via or self.addrs[0]
        st, js = kv_get(via, key)
        self.assertIn(st, (200, 404), js)
        sid = self.cluster.shard_of(self.served_by(via, js))
        self.owner[key] = sid
        return sid

    def keys_on_shard(self, sid, n, prefix="k"):
        out = []
        for _ in range(2000):
            k = unique(prefix)
            if self.owner_shard(k, via=self.rng.choice(self.cluster.live_addrs())) == sid:
                out.append(k)
                if len(out) == n:
                    return out
        self.fail("could not find %d keys on shard %d" % (n, sid))

    def other_nodes(self, sid):
        reps = self.cluster.replicas(sid)
        return [a for a in self.addrs if a not in reps]

    def check_counts(self, timeout=10):
        """Replicas of each shard report equal key counts, summing to the model's size,
        and each shard holds exactly the model keys it owns."""
        want = {s: 0 for s in range(1, self.nshards + 1)}
        for k in self.model:
            want[self.owner_shard(k)] += 1

        def counts_ok():
            got = {}
            for sid in range(1, self.nshards + 1):
                cs = [key_count(a) for a in self.cluster.replicas(sid)]
                if len(set(cs)) != 1:
                    return False
                got[sid] = cs[0]
            return got == want and got

        poll(counts_ok, timeout, 0.1, "key counts per shard == %r" % want)
        self.assertEqual(sum(want.values()), len(self.model))

    def check_replicas_hold_model(self, keys=None, timeout=10):
        """Every replica of the owning shard serves the model value locally (no context,
        no proxying): replicas converged."""
        keys = list(keys if keys is not None else self.model)

        def ok():
            for k in keys:
                for a in self.cluster.replicas(self.owner_shard(k)):
                    st, js = kv_get(a, k)
                    want = self.model.get(k)
                    if "address" in js:
                        raise AssertionError("replica %s proxied key %r" % (a, k))
                    if (want is None and st != 404) or \
                            (want is not None and (st != 200 or js["value"] != want)):
                        raise AssertionError("replica %s has %s=%r (status %s), want %r"
                                             % (a, k, js.get("value"), st, want))
            return True

        poll(ok, timeout, 0.1, "replicas hold the model values")


class BasicsMixin:
    """Tests for a healthy cluster; they share one cluster and the class model."""

    def test_1_shards_agree_on_every_node(self):
        sids = list(range(1, self.nshards + 1))
        for a in self.addrs:
            st, js, hd, _ = request(a, "GET", "/kv-store/shards")
            self.assertJsonReply(st, js, hd, want_status=200,
                                 exact={"message": "Shard membership retrieved successfully",
                                        "shards": sids}, msg=a)
        counts = {}
        for a in self.addrs:
            for sid in sids:
                st, js, hd, _ = request(a, "GET", "/kv-store/shards/%d" % sid)
                self.assertJsonReply(st, js, hd, want_status=200, msg="%s shard %d" % (a, sid))
                reps = self.cluster.replicas(sid)
                self.assertEqual(js["message"], "Shard information retrieved successfully")
                self.assertEqual(js["shard-id"], sid)
                self.assertEqual(sorted(js["replicas"]), sorted(reps))
                self.assertIsInstance(js["key-count"], int)
                counts.setdefault(sid, set()).add(js["key-count"])
                if a in reps:
                    self.assertNotIn("address", js, "local shard info carries address")
                else:
                    self.assertIn(js.get("address"), reps,
                                  "proxied shard info from %s names %r" % (a, js.get("address")))
            st, js, hd, _ = request(a, "GET", "/kv-store/shards/%d" % (self.nshards + 1))
            self.assertJsonReply(st, js, hd, want_status=404,
                                 exact={"message": "Error in GET",
                                        "error": "Shard does not exist"})
        for sid, cs in counts.items():
            self.assertEqual(len(cs), 1, "nodes disagree on shard %d's key count" % sid)

    def test_2_sixty_keys_readable_everywhere(self):
        w = Session(self.addrs, "writer", self.rng)
        keys = [unique("s") for _ in range(60)]
        for i, k in enumerate(keys):
            v = "val-%d-%s" % (i, k)
            st, js = w.put(k, v)
            self.assertEqual(st, 201, js)
            self.owner[k] = self.cluster.shard_of(self.served_by(w.last_addr, js))
            self.model[k] = v
        self.assertNoErrors(w.ctx_errors, "replies with a smaller context than sent")
        owners = {self.owner[k] for k in keys}
        self.assertEqual(owners, set(range(1, self.nshards + 1)), "60 keys miss a shard")
        # with the writer's context every node must answer with the value at once
        for a in self.addrs:
            for k in keys:
                st, js = kv_get(a, k, ctx=w.ctx)
                self.assertEqual((st, js.get("value")), (200, self.model[k]),
                                 "GET %s at %s with the writer's context: %r" % (k, a, js))
        self.check_counts()
        self.check_replicas_hold_model(keys)

    def test_3_address_only_on_proxied_replies(self):
        keys = [unique("ad") for _ in range(6)]
        for k in keys:
            sid = self.owner_shard(k)
            reps = self.cluster.replicas(sid)
            for a in self.addrs:
                for method, body, want in (("GET", None, 404), ("DELETE", None, 404),
                                           ("PUT", {"value": ""}, 400)):
                    st, js, hd, _ = request(a, method, keypath(k), body)
                    self.assertJsonReply(st, js, hd, want_status=want,
                                         msg="%s %s at %s" % (method, k, a))
                    if a in reps:
                        self.assertNotIn("address", js, "replica %s added address" % a)
                    else:
                        self.assertIn(js.get("address"), reps,
                                      "%s %s at %s (shard %d): address %r"
                                      % (method, k, a, sid, js.get("address")))
            # a successful proxied write names the replica that took it
            a = self.rng.choice(self.other_nodes(sid))
            st, js = kv_put(a, k, "x")
            self.assertEqual(st, 201, js)
            self.assertIn(js.get("address"), reps)
            self.model[k] = "x"

    def test_4_read_your_writes_across_nodes(self):
        s = Session(self.addrs, "ryw", self.rng)
        keys = [unique("ryw") for _ in range(3)]
        for i in range(30):
            k = keys[i % 3]
            a = self.rng.choice(self.addrs)
            v = "ryw-%d" % i
            st, js = s.put(k, v, addr=a)
            self.assertIn(st, (200, 201), js)
            self.model[k] = v
            taker = self.served_by(a, js)
            reps = self.cluster.replicas(self.cluster.shard_of(taker))
            self.owner[k] = self.cluster.shard_of(taker)
            # B: the other replica (must wait/pull), a non-replica, or anyone else
            if i % 3 == 0:
                b = [r for r in reps if r != taker][0]
            elif i % 3 == 1:
                b = self.rng.choice([x for x in self.addrs if x not in reps])
            else:
                b = self.rng.choice([x for x in self.addrs if x != a])
            st, js = s.get(k, addr=b)
            self.assertEqual((st, js.get("value")), (200, v),
                             "round %d: wrote %r at %s (taken by %s), read at %s: %r"
                             % (i, v, a, taker, b, js))
        self.assertNoErrors(s.ctx_errors, "replies with a smaller context than sent")

    def test_5_cross_shard_causality(self):
        ka = unique("xa")
        sa = self.owner_shard(ka)
        while True:
            kb = unique("xb")
            if self.owner_shard(kb) != sa:
                break
        reps_a = self.cluster.replicas(sa)
        rec = Recorder()
        w = Session(self.addrs, "c1", self.rng)
        r = Session(self.addrs, "c2", self.rng)

        def op(sess, kind, key, value=None, addr=None):
            t = rec.begin()
            if kind == "put":
                st, js = sess.put(key, value, addr=addr)
                rec.record(sess.name, "put", key, value, st in (200, 201),
                           write_observation("put", st, js), start=t)
            else:
                st, js = sess.get(key, addr=addr)
                rec.record(sess.name, "get", key, js.get("value") if st == 200 else None,
                           st in (200, 404), start=t)
            return st, js

        saw_b = 0
        for i in range(20):
            va, vb = "a-%d" % i, "b-%d" % i
            targeted = i % 2 == 0
            a_node = reps_a[0] if targeted else None
            st, js = op(w, "put", ka, va, addr=a_node)
            self.assertIn(st, (200, 201), js)
            a_taker = self.served_by(w.last_addr, js)
            st, js = op(w, "put", kb, vb)
            self.assertIn(st, (200, 201), js)
            b_taker = self.served_by(w.last_addr, js)
            # reader: b at the node that took b (sees it), then a at the replica of a's
            # shard that did NOT take a (the write may not have reached it yet)
            st, js = op(r, "get", kb, addr=b_taker if targeted else None)
            self.assertEqual(st, 200, js)
            got_b = int(js["value"].split("-")[1])
            if got_b == i:
                saw_b += 1
            a_other = [x for x in reps_a if x != a_taker][0]
            st, js = op(r, "get", ka, addr=a_other if targeted else None)
            self.assertEqual(st, 200, "round %d: read b-%d, then a is missing: %r"
                             % (i, got_b, js))
            got_a = int(js["value"].split("-")[1])
            self.assertGreaterEqual(got_a, got_b,
                                    "round %d: read b-%d, then a-%d (older than a-%d)"
                                    % (i, got_b, got_a, got_b))
        self.model[ka], self.model[kb] = "a-19", "b-19"
        self.owner[ka], self.owner[kb] = sa, self.owner_shard(kb)
        self.assertGreaterEqual(saw_b, 10, "the reader rarely saw the latest b")
        v = check(rec.ops)
        self.assertNoErrors(v, "causal violations", show=20)
        self.assertNoErrors(w.ctx_errors + r.ctx_errors,
                            "replies with a smaller context than sent")

    def test_6_concurrent_writers_converge(self):
        k = unique("cv")
        sid = self.owner_shard(k)
        r1, r2 = self.cluster.replicas(sid)
        last = {}
        errors = []

        def writer(name, node, ops):
            s = Session([node], name, random.Random(name))
            try:
                for j in range(ops):
                    v = "%s-%d" % (name, j)
                    st, js = s.put(k, v)
                    if st not in (200, 201):
                        errors.append("%s PUT -> %s %r" % (name, st, js))
                    last[name] = v
                errors.extend(s.ctx_errors)
            except Exception as e:  # noqa: BLE001
                errors.append("%s: %r" % (name, e))

        Parallel(lambda a: writer(*a), [("w1", r1, 20), ("w2", r2, 20)], together=True,
                 barrier_timeout=10).start().join(60)
        self.assertNoErrors(errors, "failed operations")

        def same():
            vals = []
            for a in (r1, r2):
                st, js = kv_get(a, k)
                if st != 200:
                    return False
                vals.append(js["value"])
            return vals[0] == vals[1] and vals[0]

        final = poll(same, 10, 0.1, "replicas %s and %s agree on %s" % (r1, r2, k))
        # each writer's writes are causally ordered, so only a last write can win
        self.assertIn(final, (last["w1"], last["w2"]))
        self.model[k] = final
        self.owner[k] = sid
        # tombstones take part in the same ordering: mixed deletes and puts converge
        k2 = unique("cvd")
        sid2 = self.owner_shard(k2)
        q1, q2 = self.cluster.replicas(sid2)

        def mixed(name, node, seed):
            s = Session([node], name, random.Random(seed))
            try:
                for j in range(20):
                    if s.rng.random() < 0.4:
                        st, js = s.delete(k2)
                        ok = st in (200, 404)
                    else:
                        st, js = s.put(k2, "%s-%d" % (name, j))
                        ok = st in (200, 201)
                    if not ok:
                        errors.append("%s -> %s %r" % (name, st, js))
                errors.extend(s.ctx_errors)
            except Exception as e:  # noqa: BLE001
                errors.append("%s: %r" % (name, e))

        Parallel(lambda a: mixed(*a), [("m1", q1, 1), ("m2", q2, 2)], together=True,
                 barrier_timeout=10).start().join(60)
        self.assertNoErrors(errors, "failed operations")

        def same2():
            res = [kv_get(a, k2) for a in (q1, q2)]
            states = [(st, js.get("value")) for st, js in res]
            return states[0] == states[1] and states[0]

        st, v = poll(same2, 10, 0.1, "replicas agree on %s after puts and deletes" % k2)
        if st == 200:
            self.model[k2] = v
        self.owner[k2] = sid2
        self.check_counts()

    def test_7_final_state_everywhere(self):
        """Whatever ran before: every model key reads its value from every node (with no
        context, once replication settled), and replicas agree."""
        self.check_replicas_hold_model()

        def all_nodes_read_model():
            for k, v in self.model.items():
                for a in self.addrs:
                    st, js = kv_get(a, k)
                    if (st, js.get("value")) != (200, v):
                        return False
            return True

        poll(all_nodes_read_model, 10, 0.2, "every node reads every model value")
        self.check_counts()


class Cluster6x2(ClusterBase, BasicsMixin):
    N, RF, SEED = 6, 2, 6


class Cluster4x2(ClusterBase, BasicsMixin):
    N, RF, SEED = 4, 2, 4


class FaultsMixin:
    """Fault injection; each class has its own cluster. Test order: kill/restart on
    shard 1, pause on shard 2, both replicas of the last shard down (destructive)."""

    def timed(self, fn, limit, what):
        t0 = time.monotonic()
        res = fn()
        dt = time.monotonic() - t0
        self.assertLess(dt, limit, "%s took %.2fs" % (what, dt))
        return res

    def test_1_kill_one_replica_then_restart_empty(self):
        sid = 1
        r0, r1 = self.cluster.replicas(sid)
        i1 = self.cluster.index(r1)
        keys = self.keys_on_shard(sid, 16, "kr")
        before, after = keys[:8], keys[8:]
        s = Session(self.addrs, "k", self.rng)
        for k in before:
            v = "pre-" + k
            st, js = s.put(k, v)
            self.assertEqual(st, 201, js)
            self.model[k] = v
        # the survivor has everything the session saw (readiness: all replicas' entries)
        for k in before:
            st, js = s.get(k, addr=r0)
            self.assertEqual((st, js.get("value")), (200, self.model[k]))
        early_ctx = s.ctx
        self.cluster.kill(i1)
        limit = PROXY_TIMEOUT + 1.0
        live = [a for a in self.addrs if a != r1]
        for j, a in enumerate(live):
            k = after[j % len(after)]
            v = "during-%d-%s" % (j, k)
            st, js = self.timed(lambda: s.put(k, v, addr=a), limit, "PUT at %s" % a)
            self.assertIn(st, (200, 201), "PUT %s at %s with %s down: %r" % (k, a, r1, js))
            self.model[k] = v
            for kk in (k, before[j % len(before)]):
                st, js = self.timed(lambda: s.get(kk, addr=a), limit, "GET at %s" % a)
                self.assertEqual((st, js.get("value")), (200, self.model[kk]),
                                 "GET %s at %s with %s down: %r" % (kk, a, r1, js))
        # restart empty: until it caught up it may refuse (503) but never answer stale
        late_ctx = s.ctx
        self.cluster.restart(i1)
        for k in before + after:
            if k not in self.model:
                continue
            st, js = kv_get(r1, k, ctx=late_ctx)
            self.assertIn((st, js.get("value")), ((200, self.model[k]), (503, None)),
                          "restarted %s answered GET %s with the client's context: %r"
                          % (r1, k, js))
        # a fresh client writes at the restarted node at once; the other replica must
        # take those writes (a restarted node must not reuse its old write numbers)
        fresh = Session([r1], "fresh", self.rng)
        fresh_keys = self.keys_on_shard(sid, 3, "fr")
        for k in fresh_keys:
            v = "fresh-" + k
            st, js = fresh.put(k, v)
            self.assertIn(st, (200, 201), js)
            self.assertNotIn("address", js)
            self.model[k] = v
        for k in fresh_keys:
            st, js = kv_get(r0, k, ctx=fresh.ctx)
            self.assertEqual((st, js.get("value")), (200, self.model[k]),
                             "write at restarted %s not visible at %s with its context: %r"
                             % (r1, r0, js))
        # catch-up within 10 s: equal key counts, earlier contexts served at r1
        self.check_counts(timeout=10)

        def caught_up():
            for ctx in (early_ctx, late_ctx):
                for k in before + after:
                    if k not in self.model:
                        continue
                    st, js = kv_get(r1, k, ctx=ctx)
                    if (st, js.get("value")) != (200, self.model[k]):
                        raise AssertionError("GET %s at %s: %s %r" % (k, r1, st, js))
            return True

        poll(caught_up, 10, 0.1, "restarted %s serves earlier contexts" % r1)
        self.check_replicas_hold_model([k for k in before + after + fresh_keys
                                        if k in self.model])
        self.assertNoErrors(s.ctx_errors + fresh.ctx_errors,
                            "replies with a smaller context than sent")

    def test_2_pause_replica_then_resume(self):
        sid = 2
        r0, r1 = self.cluster.replicas(sid)
        i1 = self.cluster.index(r1)
        keys = self.keys_on_shard(sid, 8, "pz")
        hot = self.keys_on_shard(sid, 1, "hot")[0]
        s = Session(self.addrs, "p", self.rng)
        self.assertEqual(s.put(hot, "hot-init", addr=r0)[0], 201)
        self.model[hot] = "hot-init"
        self.check_replicas_hold_model([hot])
        self.cluster.pause(i1)
        try:
            limit = PROXY_TIMEOUT + 1.0
            for k in keys:  # straight to the live replica
                v = "paused-" + k
                st, js = self.timed(lambda: s.put(k, v, addr=r0), limit, "PUT at " + r0)
                self.assertEqual(st, 201, js)
                self.model[k] = v
            others = self.other_nodes(sid)
            unknown = {}  # front node -> writes it answered 503
            for j in range(2 * len(others)):  # through non-replicas
                a = others[j % len(others)]
                v = "hot-%d" % j
                st, js = self.timed(lambda: s.put(hot, v, addr=a), limit, "PUT at " + a)
                if st == 503 and not unknown.get(a):
                    # sent to the paused replica: a write that was sent is never sent to a
                    # second replica (README), and that front node tries r1 last from now
                    unknown[a] = 1
                    continue
                self.assertEqual(st, 200, "PUT %s at %s with %s paused: %r" % (hot, a, r1, js))
                self.assertEqual(js.get("address"), r0)
                self.model[hot] = v
                st, js = self.timed(lambda: s.get(hot, addr=a), limit, "GET at " + a)
                self.assertEqual((st, js.get("value")), (200, v))  # reads fail over
        finally:
            self.cluster.resume(i1)
        # converged within 10 s, and the last write of `hot` is the value everywhere
        # (requests that timed out at the paused node must not resurface as newer writes)
        self.check_replicas_hold_model(keys + [hot], timeout=10)
        self.check_counts(timeout=10)
        st, js = s.get(hot, addr=r1)
        self.assertEqual((st, js.get("value")), (200, self.model[hot]))
        self.assertNoErrors(s.ctx_errors, "replies with a smaller context than sent")

    def test_3_both_replicas_down(self):
        sid = self.nshards
        reps = self.cluster.replicas(sid)
        idx = [self.cluster.index(a) for a in reps]
        k = self.keys_on_shard(sid, 1, "bd")[0]
        ko = self.keys_on_shard(1, 1, "alive")[0]
        for key in (k, ko):
            st, js = kv_put(self.addrs[0], key, "v-" + key)
            self.assertEqual(st, 201, js)
            self.model[key] = "v-" + key
        self.check_replicas_hold_model([k, ko])
        others = self.other_nodes(sid)
        limit = PROXY_TIMEOUT + 1.0

        def probe_all(label):
            """GET and PUT of k at every other node, in parallel; each must answer 503
            within the proxy timeout + 1 s. Meanwhile other shards keep serving."""
            results = []

            def one(a, method):
                t0 = time.monotonic()
                try:
                    if method == "PUT":
                        body = {"value": self.model[k]}  # same value: harmless if applied
                    else:
                        body = None
                    st, js, hd, _ = request(a, method, keypath(k), body, timeout=limit + 5)
                    results.append((a, method, st, js, hd, time.monotonic() - t0))
                except Exception as e:  # noqa: BLE001
                    results.append((a, method, None, repr(e), None, time.monotonic() - t0))

            probes = Parallel(lambda am: one(*am),
                              [(a, m) for a in others for m in ("GET", "PUT")]).start()
            st, js = kv_get(self.rng.choice(others), ko)
            self.assertEqual((st, js.get("value")), (200, self.model[ko]),
                             "%s: another shard's key stopped working" % label)
            probes.join(limit + 10)
            for a, method, st, js, hd, dt in results:
                what = "%s: %s %s at %s" % (label, method, k, a)
                self.assertEqual(st, 503, "%s -> %s %r" % (what, st, js))
                self.assertJsonReply(st, js, hd, exact={"message": "Error in " + method,
                                                        "error": "Unable to satisfy request"},
                                     msg=what)
                self.assertLess(dt, limit, "%s took %.2fs" % (what, dt))
            st, js, hd, _ = request(others[0], "GET", "/kv-store/shards/%d" % sid,
                                    timeout=limit + 5)
            self.assertEqual(st, 503, "%s: shard info of a dead shard: %r" % (label, js))

        for i in idx:
            self.cluster.pause(i)
        try:
            probe_all("both paused")
        finally:
            for i in idx:
                self.cluster.resume(i)
        for a in self.addrs:
            st, js = poll(lambda: (lambda r: r[0] == 200 and r)(kv_get(a, k)), 10, 0.1,
                          "GET %s at %s after resume" % (k, a))
            self.assertEqual(js["value"], self.model[k])
        for i in idx:
            self.cluster.kill(i)
        probe_all("both killed")
        self.assertEqual(self.cluster.crashed(), [], "a survivor crashed")
        for a in others:
            st, js = kv_get(a, ko)
            self.assertEqual((st, js.get("value")), (200, self.model[ko]))


class InternalEndpoints(CkvTestCase):
    """Node-to-node endpoints under /kv-store/internal/ refuse callers outside the view,
    and with CLUSTER_SECRET set, callers without the right secret even from a member IP."""

    SECRET = "s3cr3t-for-tests"

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(2, 2, name="internal",
                              env={"CLUSTER_SECRET": cls.SECRET})

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked(dump_logs=False)

    def test_outsider_and_missing_secret_refused(self):
        a, b = self.cluster.addrs
        member_ip = b.split(":")[0]
        body = {"versions": []}
        cases = [("outsider", None, {}),
                 ("member ip, no secret", member_ip, {}),
                 ("member ip, wrong secret", member_ip, {"X-Ckv-Secret": "nope"})]
        for path in ("/kv-store/internal/replicate", "/kv-store/internal/sync"):
            for name, src, hdrs in cases:
                with self.subTest(path=path, case=name):
                    st, js, hd, _ = request(a, "POST", path, body, headers=hdrs, source=src)
                    self.assertIn(st, (401, 403), "%s %s: %s %r" % (path, name, st, js))
                    self.assertJsonReply(st, js, hd)
        self.assertEqual(self.cluster.crashed(), [])

    def test_replication_works_with_secret(self):
        a, b = self.cluster.addrs
        k = unique("sec")
        st, js = kv_put(a, k, "v")
        self.assertEqual(st, 201, js)
        st, js = kv_get(b, k, ctx=js["causal-context"])
        self.assertEqual((st, js.get("value")), (200, "v"), js)
        poll(lambda: kv_get(b, k)[0] == 200, 10, 0.1, "replicated to %s" % b)


class Faults6x2(ClusterBase, FaultsMixin):
    N, RF, SEED = 6, 2, 66


class Faults4x2(ClusterBase, FaultsMixin):
    N, RF, SEED = 4, 2, 44


if __name__ == "__main__":
    unittest.main(verbosity=2)
