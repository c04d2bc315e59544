"""Causal history runs (issue 3): several clients do random operations over 50 keys on all
shards through random nodes, each echoing its causal context; the recorded history must
show no violation of read-your-writes, monotonic reads or writes-follow-reads
(causal_checker), replicas must converge, and key counts must add up.

Clusters: 6 nodes rf=2, and 4 nodes rf=2 for the fault run, on the file's ckvtest.slot."""

import random
import signal
import threading
import unittest

import ckvtest
from causal_checker import Recorder, check, write_observation
from ckvtest import Cluster, CkvTestCase, Session, key_count, kv_get, poll
from loadgen import Parallel

SLOT = ckvtest.slot(__file__)


def run_client(name, nops, keys, addrs, rec, errors, seed, stop=None, timeout=10):
    rng = random.Random(seed)
    s = Session(addrs, name, rng, timeout=timeout)
    for i in range(nops):
        if stop is not None and stop.is_set():
            break
        key = rng.choice(keys)
        addr = rng.choice(addrs)
        r = rng.random()
        t = rec.begin()
        if r < 0.5:
            kind, value = "get", None
        elif r < 0.9:
            kind, value = "put", "%s-%d" % (name, i)
        else:
            kind, value = "delete", "%s-del%d" % (name, i)
        try:
            if kind == "get":
                st, js = s.get(key, addr)
                ok = st in (200, 404)
                rec.record(name, "get", key, js.get("value") if st == 200 else None, ok,
                           start=t)
            elif kind == "put":
                st, js = s.put(key, value, addr)
                ok = st in (200, 201)
                rec.record(name, "put", key, value, ok, write_observation("put", st, js), start=t)
            else:
                st, js = s.delete(key, addr)
                ok = st in (200, 404)
                rec.record(name, "delete", key, value, ok, write_observation("delete", st, js), start=t)
            if not ok:
                errors.append("%s %s %s at %s -> %s %r" % (name, kind, key, addr, st, js))
        except Exception as e:  # noqa: BLE001 - a failed op is recorded as unknown
            rec.record(name, kind, key, value, False, None, start=t)
            errors.append("%s %s %s at %s: %r" % (name, kind, key, addr, e))
    errors.extend(s.ctx_errors)
    return s


class HistoryBase(CkvTestCase):
    def converge_and_count(self, cluster, keys, rec):
        """Replicas of each key's shard agree (poll), the agreed state is a value
        written to that key (or missing), and per-shard key counts add up."""
        written = {}
        for op in rec.ops:
            if op.kind == "put":
                written.setdefault(op.key, set()).add(op.value)
        owner = {}
        for k in keys:
            st, js = kv_get(cluster.addrs[0], k)
            owner[k] = cluster.shard_of(js.get("address") or cluster.addrs[0])
        self.assertEqual(set(owner.values()), set(range(1, len(cluster.shards) + 1)),
                         "the 50 keys do not cover every shard")
        final = {}

        def agreed():
            for k in keys:
                states = []
                for a in cluster.replicas(owner[k]):
                    st, js = kv_get(a, k)
                    if st not in (200, 404) or "address" in js:
                        return False
                    states.append(js.get("value") if st == 200 else None)
                if len(set(states)) != 1:
                    return False
                final[k] = states[0]
            return True

        poll(agreed, 15, 0.2, "replicas agree on every key")
        for k, v in final.items():
            if v is not None:
                self.assertIn(v, written.get(k, ()), "key %s converged to %r, never written"
                              % (k, v))
        want = {}
        for k, v in final.items():
            if v is not None:
                want[owner[k]] = want.get(owner[k], 0) + 1

        def counts():
            for sid, reps in enumerate(cluster.shards, 1):
                cs = {key_count(a) for a in reps}
                if cs != {want.get(sid, 0)}:
                    return False
            return True

        poll(counts, 10, 0.2, "key counts per shard == %r" % want)


class CausalHistory(HistoryBase):
    def test_8_clients_1000_ops_50_keys(self):
        with Cluster(6, 2, name="history") as cluster:
            keys = ["h%d" % i for i in range(50)]
            rec = Recorder()
            errors = []
            clients = Parallel(lambda c: run_client("c%d" % c, 1000, keys, cluster.addrs, rec,
                                                    errors, 100 + c), range(8)).start()
            clients.join(600)
            self.assertFalse(clients.hung, "clients hung")
            self.assertEqual(len(rec.ops), 8000)
            kinds = {k: sum(1 for op in rec.ops if op.kind == k)
                     for k in ("get", "put", "delete")}
            reads_live = sum(1 for op in rec.ops if op.kind == "get" and op.value)
            self.assertGreater(reads_live, 1000, "too few reads saw a value: %r" % kinds)
            v = check(rec.ops)
            self.assertNoErrors(v, "causal violations", show=20)
            self.assertNoErrors(errors, "failed operations")
            self.converge_and_count(cluster, keys, rec)
            self.assertEqual(cluster.crashed(), [])
            problems = cluster.shutdown_check()
            self.assertEqual(problems, [])

    def test_history_under_faults(self):
        """4 clients while a replica is paused and resumed and another is killed and
        restarted empty. Operations may fail (503) during faults but the history must
        stay causal and the replicas must converge afterwards."""
        with Cluster(4, 2, name="history-faults") as cluster:
            keys = ["f%d" % i for i in range(30)]
            rec = Recorder()
            errors = []
            stop = threading.Event()
            clients = Parallel(lambda c: run_client("f%d" % c, 500, keys, cluster.addrs, rec,
                                                    errors, 200 + c, stop, 3),
                               range(4)).start()
            try:
                def at(n):
                    poll(lambda: len(rec.ops) >= n or not clients.running(),
                         120, 0.02, "history reaches %d ops" % n)
                at(200)
                cluster.pause(1)       # a replica of shard 1
                at(260)
                cluster.resume(1)
                at(550)
                cluster.kill(3, signal.SIGKILL)  # a replica of shard 2
                at(750)
                cluster.restart(3)     # empty
            except BaseException:
                stop.set()
                raise
            finally:
                clients.join(300)
            self.assertFalse(clients.hung, "clients hung")
            ok = sum(1 for op in rec.ops if op.ok)
            self.assertGreater(ok, 0.7 * len(rec.ops),
                               "too many failures: %d of %d; first: %s"
                               % (len(rec.ops) - ok, len(rec.ops), errors[:5]))
            v = check(rec.ops)
            self.assertNoErrors(v, "causal violations", show=20)
            ctx_err = [e for e in errors if "reply context" in e]
            self.assertNoErrors(ctx_err, "replies with a smaller context than sent")
            self.converge_and_count(cluster, keys, rec)
            self.assertEqual(cluster.crashed(), [])
            problems = cluster.shutdown_check()
            self.assertEqual(problems, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
