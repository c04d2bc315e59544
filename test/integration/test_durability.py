"""Durability with DATA_DIR (README "Durability"): what comes back after kill -9.

  1 one node, FSYNC=always: writes and deletes survive kill -9 exactly; a context from
    before the crash is served at once; the counter goes on from where it was
  2 a torn tail (half a record at the end) is cut with a warning; the rest loads
  3 a damaged record in the middle stops the start, naming file and offset; with
    DATA_LOAD_TRUNCATED=yes the node starts with the writes before it (a prefix)
  4 snapshots fold the journal (tiny SNAPSHOT_MIN_BYTES) and a restart loads them
  5 6 nodes, REPL_FACTOR=2, writers on every node, kill -9 of every node, restart: every
    acknowledged write is there (FSYNC=always, then everysec)
  6 a replica restarted with its data receives only what it missed
  7 a view change, then every node killed and started again with the old VIEW: the
    cluster comes back in the new view
  8 a full disk (a small tmpfs, root only): writes 503, reads work, writes come back by
    themselves when space returns, nothing acknowledged is lost
  9 causalkv-cli backup while a writer runs (an in-memory node, CLUSTER_SECRET set): the
    file restores into an empty DATA_DIR with every write acknowledged before it began
Every node is alive after each scenario (tearDown)."""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import metric  # noqa: E402
from ckvtest import Cluster, CkvTestCase, poll, request  # noqa: E402
from ckvtest import kv_get, kv_put, kv_delete  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(6)



def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def segments(d):
    return sorted(f for f in os.listdir(d) if f.startswith("journal-"))


class Durable(CkvTestCase):
    def setUp(self):
        self.cluster = None
        self.data = tempfile.mkdtemp(prefix="ckv-data-")

    def tearDown(self):
        try:
            if self.cluster is not None:
                self.cluster.close_checked()
        finally:
            shutil.rmtree(self.data, ignore_errors=True)

    def start(self, n, rf, env=None, dirs=None):
        c = Cluster(n, rf, addrs=ADDRS[:n], name="durable", start=False, env=env)
        self.cluster = c
        for i, node in enumerate(c.nodes):
            node.env["DATA_DIR"] = dirs[i] if dirs else os.path.join(self.data, "n%d" % i)
        for node in c.nodes:
            node.start()
        c.wait_ready()
        self.wait_healthy()
        return c

    def wait_healthy(self, nodes=None):
        nodes = nodes or self.cluster.addrs
        poll(lambda: all(ckvtest.health(a)[0] == 200 for a in nodes), 20,
             msg="every node healthy")

    def kill_all(self):
        for i in range(self.cluster.n):
            self.cluster.kill(i)

    def restart_all(self):
        for i in range(self.cluster.n):
            self.cluster.start_node(i, wait=False)
        self.cluster.wait_ready()
        self.wait_healthy()

    def assertAlive(self):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died")

    def assertHas(self, addrs, model, what):
        bad = []
        for k, v in sorted(model.items()):
            a = random.choice(addrs)
            st, js = kv_get(a, k)
            js = js if isinstance(js, dict) else {}
            if v is None and st != 404:
                bad.append("%s (deleted) at %s: %s %r" % (k, a, st, js))
            elif v is not None and (st != 200 or js.get("value") != v):
                bad.append("%s at %s: %s %r, want %r" % (k, a, st, js, v))
        self.assertNoErrors(bad, what)

    # 1
    def test_1_single_node_kill9_always(self):
        c = self.start(1, 1, env={"FSYNC": "always"})
        a = c.addrs[0]
        model, ctx = {}, None
        for i in range(60):
            st, js = kv_put(a, "k%d" % i, "v%d" % i, ctx)
            self.assertEqual(st, 201, js)
            ctx = js["causal-context"]
            model["k%d" % i] = "v%d" % i
        for i in range(0, 60, 7):
            st, js = kv_delete(a, "k%d" % i, ctx)
            self.assertEqual(st, 200, js)
            ctx = js["causal-context"]
            model["k%d" % i] = None
        st, js = kv_put(a, "k1", "v1-again", ctx)
        ctx = js["causal-context"]
        model["k1"] = "v1-again"
        counter = ctx["clock"][a]
        c.kill(0)
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], model, "after kill -9")
        t0 = time.monotonic()
        st, js = kv_get(a, "k2", ctx)
        self.assertEqual(st, 200, "a context from before the crash: %r" % js)
        self.assertLess(time.monotonic() - t0, 1.0, "the context waited: clock not recovered")
        st, js = kv_put(a, "after", "x", ctx)
        self.assertEqual(js["causal-context"]["clock"][a], counter + 1, js)
        self.assertEqual(metric(a, "causalkv_recovered_versions"), 70)  # 60 + 9 + 1 records
        self.assertAlive()

    def write_then_stop(self, n_keys, env=None):
        c = self.start(1, 1, env=env)
        a = c.addrs[0]
        for i in range(n_keys):
            self.assertEqual(kv_put(a, "k%03d" % i, "v%d" % i)[0], 201)
        self.assertEqual(c.stop(0), 0)
        return c, a, c.nodes[0].env["DATA_DIR"]

    # 2
    def test_2_torn_tail_is_cut(self):
        c, a, d = self.write_then_stop(20)
        seg = os.path.join(d, segments(d)[-1])
        size = os.path.getsize(seg)
        with open(seg, "ab") as f:
            f.write(b"\x40\x00\x00\x00\x12\x34")  # a frame header cut short
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], {"k%03d" % i: "v%d" % i for i in range(20)}, "after a torn tail")
        self.assertEqual(os.path.getsize(seg), size, "the torn bytes were not cut")
        self.assertIn("torn tail", read(c.nodes[0].log_path))
        self.assertEqual(kv_put(a, "more", "x")[0], 201)
        c.stop(0)
        c.start_node(0)
        self.assertEqual(kv_get(a, "more")[0], 200, "a write after the cut did not survive")
        self.assertAlive()

    # 3
    def test_3_damage_in_the_middle(self):
        c, a, d = self.write_then_stop(40)
        seg = os.path.join(d, segments(d)[-1])
        with open(seg, "rb") as f:
            data = bytearray(f.read())
        pos = data.find(b"k020")
        self.assertGreater(pos, 0)
        data[pos] ^= 0x01
        with open(seg, "wb") as f:
            f.write(bytes(data))
        self.assertRefusesToStart(c, os.path.basename(seg), "DATA_LOAD_TRUNCATED=yes")
        c.nodes[0].env["DATA_LOAD_TRUNCATED"] = "yes"
        c.start_node(0)
        self.wait_healthy()
        present = [kv_get(a, "k%03d" % i)[0] == 200 for i in range(40)]
        self.assertEqual(present, [True] * 20 + [False] * 20,
                         "not the writes before the damage (a prefix)")
        self.assertAlive()

    def assertRefusesToStart(self, c, *words):
        node = c.nodes[0]
        node.start()
        rc = node.proc.wait(timeout=10)
        node.expected_exit = True
        self.assertNotEqual(rc, 0, "started on a damaged DATA_DIR")
        log = read(node.log_path)
        for w in words:
            self.assertIn(w, log)

    def test_3b_damaged_snapshot_and_missing_segment(self):
        c = self.start(1, 1, env={"SNAPSHOT_MIN_BYTES": 4096})
        a = c.addrs[0]
        d = c.nodes[0].env["DATA_DIR"]
        for i in range(100):
            self.assertEqual(kv_put(a, "m%03d" % i, "x" * 100)[0], 201)
        poll(lambda: metric(a, "causalkv_snapshots_total") >= 1, 10, msg="a snapshot")
        for i in range(100, 140):  # a few more segments' worth after the snapshot
            self.assertEqual(kv_put(a, "m%03d" % i, "x" * 100)[0], 201)
        self.assertEqual(c.stop(0), 0)
        snap = os.path.join(d, "snapshot.ckv")
        with open(snap, "rb") as f:
            good = f.read()
        with open(snap, "wb") as f:
            f.write(good[:len(good) // 2])
        self.assertRefusesToStart(c, "snapshot.ckv is damaged")
        with open(snap, "wb") as f:
            f.write(good)
        # the segment after the snapshot gone (renamed one further): history has a hole
        seg = segments(d)[0]
        n = int(seg[len("journal-"):-len(".ckv")])
        later = os.path.join(d, "journal-%08d.ckv" % (n + 1))
        os.rename(os.path.join(d, seg), later)
        self.assertRefusesToStart(c, "journal segment %d is missing" % n)
        os.rename(later, os.path.join(d, seg))
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], {"m%03d" % i: "x" * 100 for i in range(140)}, "put back whole")
        self.assertAlive()

    # 4
    def test_4_snapshots_fold_the_journal(self):
        c = self.start(1, 1, env={"SNAPSHOT_MIN_BYTES": 4096, "FSYNC": "everysec"})
        a = c.addrs[0]
        d = c.nodes[0].env["DATA_DIR"]
        model = {}
        for i in range(400):
            k, v = "s%03d" % i, "x" * 100 + str(i)
            self.assertIn(kv_put(a, k, v)[0], (200, 201))
            model[k] = v
        poll(lambda: metric(a, "causalkv_snapshots_total") >= 1, 10, msg="a snapshot")
        poll(lambda: len(segments(d)) <= 2, 10, msg="folded segments removed")
        self.assertTrue(os.path.exists(os.path.join(d, "snapshot.ckv")))
        for i in range(0, 400, 3):
            model["s%03d" % i] = None
            self.assertEqual(kv_delete(a, "s%03d" % i)[0], 200)
        c.kill(0)
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], model, "after snapshot + journal")
        self.assertAlive()

    # 5
    def cluster_crash(self, fsync):
        c = self.start(6, 2, env={"FSYNC": fsync})
        acked, lock, stop = {}, threading.Lock(), threading.Event()

        def writer(w):
            i = 0
            while not stop.is_set():
                k, v = "w%d-%d" % (w, i), "v%d-%d" % (w, i)
                try:
                    st, _ = kv_put(c.addrs[(w + i) % 6], k, v, timeout=3)
                except OSError:
                    st = None
                if st in (200, 201):
                    with lock:
                        acked[k] = v
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        poll(lambda: len(acked) >= 300, 20, msg="300 acknowledged writes")
        self.kill_all()  # while the writers are still sending
        stop.set()
        for t in threads:
            t.join()
        model = dict(acked)  # every reply that came back came before the kill
        self.restart_all()
        self.assertHas(c.addrs, model, "acknowledged writes after kill -9 of every node")
        self.assertAlive()

    def test_5a_cluster_kill9_always(self):
        self.cluster_crash("always")

    def test_5b_cluster_kill9_everysec(self):
        self.cluster_crash("everysec")

    # 6
    def test_6_restarted_replica_receives_only_what_it_missed(self):
        c = self.start(2, 2)
        a, b = c.addrs
        for i in range(1500):
            self.assertEqual(kv_put(a, "r%d" % i, "v%d" % i)[0], 201)
        poll(lambda: ckvtest.key_count(b) == 1500, 10, msg="b holds every key")
        c.kill(1)
        for i in range(1500, 1520):
            self.assertEqual(kv_put(a, "r%d" % i, "v%d" % i)[0], 201)
        c.start_node(1)
        self.wait_healthy()
        poll(lambda: ckvtest.key_count(b) == 1520, 10, msg="b caught up")
        got = metric(b, "causalkv_sync_versions_received_total")
        self.assertLessEqual(got, 100, "b received %d versions to catch up 20" % got)
        self.assertAlive()

    # 7
    def test_7_view_change_then_full_restart(self):
        c = self.start(4, 1)
        model = {}
        for i in range(80):
            model["vc%d" % i] = "v%d" % i
            self.assertEqual(kv_put(c.addrs[i % 4], "vc%d" % i, "v%d" % i)[0], 201)
        new = [c.addrs[2], c.addrs[0], c.addrs[3], c.addrs[1]]
        st, js, raw, _ = ckvtest.view_change(c.addrs[0], new, 2)
        self.assertEqual(st, 200, raw)
        self.kill_all()
        self.restart_all()  # started with the old VIEW and REPL_FACTOR=1
        for a in c.addrs:
            self.assertEqual(ckvtest.view_state(a), ckvtest.expected_state(new, 2),
                             "%s came back in another view" % a)
        self.assertHas(c.addrs, model, "after the view change and the restart")
        self.assertAlive()

    # 8
    @unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
    def test_8_disk_full(self):
        mnt = tempfile.mkdtemp(prefix="ckv-full-")
        subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt])
        try:
            self.disk_full(mnt)
        finally:
            if self.cluster is not None:
                self.cluster.close_checked()
                self.cluster = None
            subprocess.call(["umount", mnt])
            os.rmdir(mnt)

    def disk_full(self, mnt):
        c = self.start(1, 1, env={"FSYNC": "always"}, dirs=[os.path.join(mnt, "d")])
        a = c.addrs[0]
        filler = os.path.join(mnt, "filler")
        st = os.statvfs(mnt)
        with open(filler, "wb") as f:  # leave room for about 60 writes
            f.write(b"\0" * (st.f_bavail * st.f_frsize - 16 * 1024))
        model, refused = {}, 0
        for i in range(400):
            st, js = kv_put(a, "f%d" % i, "y" * 200)
            if st in (200, 201):
                model["f%d" % i] = "y" * 200
            else:
                self.assertEqual((st, js.get("error")), (503, "Unable to satisfy request"), js)
                refused += 1
                if refused >= 3:
                    break
        self.assertGreaterEqual(refused, 3, "the disk never filled")
        self.assertEqual(metric(a, "causalkv_journal_failing"), 1)
        self.assertHas([a], model, "reads while the disk is full")
        os.unlink(filler)
        poll(lambda: kv_put(a, "after", "z")[0] == 201, 5,
             msg="writes accepted again once space returned")
        model["after"] = "z"
        c.kill(0)
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], model, "after the disk-full episode and kill -9")
        self.assertAlive()

    # 9
    def test_9_backup_while_writing_then_restore(self):
        c = self.start(1, 1, env={"CLUSTER_SECRET": "s3"}, dirs=[""])  # in memory
        a = c.addrs[0]
        acked, stop = [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                if kv_put(a, "b%d" % i, "v%d" % i)[0] == 201:
                    acked.append("b%d" % i)
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            poll(lambda: len(acked) >= 200, 10, msg="200 writes")
            before = list(acked)
            path = os.path.join(self.data, "backup.ckv")
            env = dict(os.environ, CLUSTER_SECRET="wrong")
            r = subprocess.run([ckvtest.CAUSALKV_CLI, "--node", a, "backup", path], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 3, "a wrong secret: %s" % r.stderr)
            self.assertFalse(os.path.exists(path))
            env["CLUSTER_SECRET"] = "s3"
            r = subprocess.run([ckvtest.CAUSALKV_CLI, "--node", a, "backup", path], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("written to", r.stdout)
        finally:
            stop.set()
            t.join()
        self.assertEqual(c.stop(0), 0)
        restored = os.path.join(self.data, "restored")
        os.mkdir(restored)
        shutil.copy(path, os.path.join(restored, "snapshot.ckv"))
        c.nodes[0].env["DATA_DIR"] = restored
        c.start_node(0)
        self.wait_healthy()
        self.assertHas([a], {k: "v" + k[1:] for k in before}, "restored from the backup")
        self.assertAlive()


if __name__ == "__main__":
    unittest.main(verbosity=2)
