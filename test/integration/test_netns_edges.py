"""Network edge cases that need network namespaces (root): a VIEW member with no route at
all, a replica restarted empty while it is cut off from its peer, and a client that
writes at one replica and then, with its context, at the other while they are cut apart.

Each scenario builds its own namespaces (names ckvf<PID>-...; see test/faults/netns.py)
and removes them at the end, even on failure. Nodes listen on port 13800 inside their
namespaces; nothing reaches the host's network. Skipped (with the reason) when not root
or when ip/iptables are missing."""

import http.client
import os
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))

import netns  # noqa: E402
import workload  # noqa: E402
from ckvtest import CAUSALKV_BIN  # noqa: E402

WHY_SKIP = ""
if os.geteuid() != 0:
    WHY_SKIP = "needs root (network namespaces, iptables): run as root to test these edges"
elif netns.have_tools():
    WHY_SKIP = "missing %s (apt-get install iproute2 iptables)" % netns.have_tools()


def poll(fn, timeout, msg):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001
            last = e
        if time.monotonic() > deadline:
            raise AssertionError("%s: not true within %.0fs (last %r)" % (msg, timeout, last))
        time.sleep(0.05)


def in_ns(ns, fn):
    """Run fn() in a thread whose network namespace is ns; return its result."""
    box = {}

    def body():
        try:
            netns.setns(ns)
            box["r"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["e"] = e
    t = threading.Thread(target=body)
    t.start()
    t.join(120)
    if t.is_alive():
        raise AssertionError("client thread still running after 120 s")
    if "e" in box:
        raise box["e"]
    return box.get("r")


def put(addr, key, value, timeout=4):
    return workload.http_json(addr, "PUT", workload.keypath(key), {"value": value}, timeout)


def get(addr, key, timeout=4):
    return workload.http_json(addr, "GET", workload.keypath(key), None, timeout)


def metrics_text(addr, timeout=4):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def log_tail(node, n=60):
    try:
        with open(node.log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    for i, line in enumerate(lines):
        if any(m in line for m in netns_sanitizer_marks()):
            return "\n".join(lines[max(0, i - 2):i + 40])
    return "\n".join(lines[-n:])


def netns_sanitizer_marks():
    return ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


@unittest.skipIf(WHY_SKIP, WHY_SKIP)
class NetnsEdges(unittest.TestCase):
    def setUp(self):
        self.logdir = tempfile.mkdtemp(prefix="ckv-netns-edges-")
        self.nodes = []
        self.spaces = []
        self.topos = []

    def tearDown(self):
        for node in self.nodes:
            if node.running():
                node.kill9()
        for t in self.topos:
            t.destroy()
        for ns in self.spaces:
            netns.delete_netns(ns)

    def assertAlive(self, nodes, when):
        for node in nodes:
            self.assertTrue(node.running(), "%s died %s (status %s):\n%s"
                            % (node.addr, when, node.proc.poll(), log_tail(node)))

    def assertCleanStop(self, nodes):
        for node in nodes:
            rc, clean = node.stop(10)
            self.assertTrue(clean, "%s ignored SIGTERM for 10 s:\n%s" % (node.addr,
                                                                     log_tail(node)))
            self.assertEqual(rc, 0, "%s exited %s on SIGTERM:\n%s" % (node.addr, rc,
                                                                     log_tail(node)))
            with open(node.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for m in netns_sanitizer_marks():
                self.assertNotIn(m, text, "%s: sanitizer report:\n%s" % (node.addr,
                                                                       log_tail(node)))

    def test_member_without_route(self):
        """(a) VIEW names a peer this node has no route to: every send to it fails at
        once (ENETUNREACH). The node must keep serving, not crash."""
        ns = "%s%d-edge-a" % (netns.PREFIX, os.getpid())
        netns.delete_netns(ns)
        netns.run(["ip", "netns", "add", ns])
        self.spaces.append(ns)
        netns.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        node = netns.NodeProc(0, ns, "127.0.0.2:13800", os.path.join(self.logdir, "a.log"))
        self.nodes.append(node)
        node.start(CAUSALKV_BIN, ["127.0.0.2:13800", "10.99.0.2:13800"], 2,
                   {"GOSSIP_INTERVAL_MS": 100})
        addr = node.addr

        def client():
            def up():
                if not node.running():
                    return True
                return workload.http_json(addr, "GET", "/kv-store/key-count", None, 1)[0] == 200
            poll(up, 15, "node answers")
            seen = {}
            end = time.monotonic() + 4
            i = 0
            while time.monotonic() < end and node.running() and i < 2000:
                i += 1
                st, _ = put(addr, "k%d" % (i % 7), "v%d" % i)
                seen.setdefault("put", set()).add(st)
                st, _ = get(addr, "k%d" % (i % 7))
                seen.setdefault("get", set()).add(st)
                st, _ = workload.http_json(addr, "GET", "/healthz", None, 2)
                seen.setdefault("healthz", set()).add(st)
            return seen

        try:
            seen = in_ns(ns, client)
        except (OSError, AssertionError) as e:
            self.assertAlive([node], "under put/get/healthz (%r)" % e)
            raise
        self.assertAlive([node], "under put/get/healthz")
        self.assertTrue(seen.get("put", set()) <= {200, 201, 503}, seen)
        self.assertCleanStop([node])

    def test_restart_while_cut_off(self):
        """(b) rf 2 in two namespaces: x, y written at A and replicated; A cut from B,
        killed and restarted empty while still cut. Writes at A during the cut are refused
        (503) or, if acknowledged, survive the heal; the replicas agree within 15 s."""
        topo = netns.Topology(2, self.logdir, binary=CAUSALKV_BIN, tag="edge-b-")
        self.topos.append(topo)
        topo.create()
        env = {"GOSSIP_INTERVAL_MS": 200}
        for i in range(2):
            topo.start_node(i, topo.addrs, 2, env)
        A, B = topo.addrs
        nA, nB = topo.nodes
        want = {}

        def phase1():
            for a in (A, B):
                poll(lambda: workload.http_json(a, "GET", "/healthz", None, 1)[0] == 200,
                     15, "%s healthy" % a)
            for k, v in (("x", "v1"), ("y", "w1")):
                st, js = put(A, k, v)
                self.assertIn(st, (200, 201), js)
                want[k] = v
            for k, v in want.items():
                poll(lambda: get(B, k)[1].get("value") == v, 10, "B has %s=%s" % (k, v))

        in_ns(topo.client_ns, phase1)
        topo.apply({frozenset((0, 1))})
        nA.kill9()
        topo.start_node(0, topo.addrs, 2, env)
        acked = {}

        def phase2():
            poll(lambda: workload.http_json(A, "GET", "/kv-store/key-count", None, 1)[0]
                 in (200, 503), 15, "restarted A answers")
            results = []
            for k, v in (("x", "v2"), ("z", "u1"), ("y", "w2")):
                try:
                    st, js = put(A, k, v, timeout=5)
                except OSError as e:
                    st, js = None, repr(e)
                results.append((k, v, st))
                if st in (200, 201):
                    acked[k] = v
                else:
                    self.assertIn(st, (503, None), "PUT %s at cut-off A: %s %r" % (k, st, js))
            return results

        results = in_ns(topo.client_ns, phase2)
        self.assertAlive(topo.nodes, "during the cut")
        topo.heal()
        want.update(acked)

        def phase3():
            def agree():
                for k in ("x", "y", "z"):
                    states = []
                    for a in (A, B):
                        st, js = get(a, k, timeout=3)
                        if st not in (200, 404):
                            return False
                        states.append(js.get("value") if st == 200 else None)
                    if len(set(states)) != 1 or states[0] != want.get(k):
                        return False
                return True
            try:
                poll(agree, 15, "both replicas hold %r" % want)
            except AssertionError:
                snap = {k: {a: get(a, k, timeout=3) for a in (A, B)} for k in ("x", "y", "z")}
                raise AssertionError("after healing, writes at the restarted cut-off A %r; "
                                     "want %r; replicas answer %r" % (results, want, snap))

        in_ns(topo.client_ns, phase3)
        self.assertAlive(topo.nodes, "after healing")
        self.assertCleanStop(topo.nodes)

    def test_write_at_the_other_side_of_a_partition(self):
        """(c) rf 2 in two namespaces: w is written and replicated; A and B are cut apart;
        a client writes y, z and w at A, then writes x and w and deletes z at B with the
        context A returned. B lacks A's writes, but writes do not wait for them: each is
        accepted at once and says "partial-history" (x is new at B: 201; w was live at B:
        200; z held nothing at B, the delete is written anyway: 200). A read at B with
        that context still waits (503 within CAUSAL_TIMEOUT_MS + slack). After the heal
        both replicas hold B's writes (w is B's value, z is gone), and a reader who saw x
        sees y too."""
        topo = netns.Topology(2, self.logdir, binary=CAUSALKV_BIN, tag="edge-c-")
        self.topos.append(topo)
        topo.create()
        env = {"GOSSIP_INTERVAL_MS": 200}
        for i in range(2):
            topo.start_node(i, topo.addrs, 2, env)
        A, B = topo.addrs
        box = {}

        def before_cut():
            for a in (A, B):
                poll(lambda: workload.http_json(a, "GET", "/healthz", None, 1)[0] == 200,
                     15, "%s healthy" % a)
            self.assertIn(put(A, "w", "zero")[0], (200, 201))
            poll(lambda: get(B, "w")[1].get("value") == "zero", 10, "B holds w=zero")

        def write_at(addr, method, key, body, ctx):
            body = dict(body, **{"causal-context": ctx})
            t0 = time.monotonic()
            st, js = workload.http_json(addr, method, workload.keypath(key), body, 4)
            took = time.monotonic() - t0
            self.assertLess(took, 1.0, "%s %s at %s waited %.2f s" % (method, key, addr, took))
            return st, js

        def during_cut():
            ctx = {}
            for key in ("y", "z", "w"):
                st, js = workload.http_json(A, "PUT", workload.keypath(key),
                                            {"value": "first", "causal-context": ctx}, 4)
                self.assertIn(st, (200, 201), js)
                ctx = js["causal-context"]
            st, js = write_at(B, "PUT", "x", {"value": "second"}, ctx)
            self.assertEqual((st, js.get("replaced"), js.get("partial-history")),
                             (201, False, True), js)
            ctx = js["causal-context"]
            st, js = write_at(B, "PUT", "w", {"value": "second"}, ctx)
            self.assertEqual((st, js.get("replaced"), js.get("partial-history")),
                             (200, True, True), js)
            ctx = js["causal-context"]
            st, js = write_at(B, "DELETE", "z", {}, ctx)
            self.assertEqual((st, js.get("doesExist"), js.get("partial-history")),
                             (200, False, True), js)
            ctx = js["causal-context"]
            t0 = time.monotonic()
            st, js = workload.http_json(B, "GET", workload.keypath("x"),
                                        {"causal-context": ctx}, 5)
            self.assertEqual(st, 503, "a read at B that needs A's writes: %s %r" % (st, js))
            self.assertLess(time.monotonic() - t0, 3.5, "bounded by CAUSAL_TIMEOUT_MS")
            box["ctx"] = ctx

        in_ns(topo.client_ns, before_cut)
        topo.apply({frozenset((0, 1))})
        in_ns(topo.client_ns, during_cut)
        self.assertAlive(topo.nodes, "during the cut")
        topo.heal()

        def after_heal():
            for a in (A, B):
                poll(lambda: get(a, "x")[1].get("value") == "second", 15,
                     "%s holds x=second" % a)
                poll(lambda: get(a, "w")[1].get("value") == "second", 15,
                     "%s holds w=second (B's write, after A's)" % a)
                poll(lambda: get(a, "z")[0] == 404, 15, "%s: z deleted" % a)
            st, js = workload.http_json(B, "GET", workload.keypath("x"),
                                        {"causal-context": box["ctx"]}, 5)
            self.assertEqual((st, js.get("value")), (200, "second"), js)
            ctx = js["causal-context"]
            for a in (A, B):
                st, js = workload.http_json(a, "GET", workload.keypath("y"),
                                            {"causal-context": ctx}, 5)
                self.assertEqual((st, js.get("value")), (200, "first"),
                                 "a reader who saw x at %s: y %s %r" % (a, st, js))
            self.assertRegex(metrics_text(B), r"\ncausalkv_writes_without_history_total 3\n")
            self.assertRegex(metrics_text(A), r"\ncausalkv_writes_without_history_total 0\n")

        in_ns(topo.client_ns, after_heal)
        self.assertAlive(topo.nodes, "after healing")
        self.assertCleanStop(topo.nodes)


    def test_read_goes_to_the_replica_that_holds_its_history(self):
        """(d) rf 3, A cut from B only, anti-entropy slowed to once a minute: a client
        writes k at B (pushed to C, not to A); a write at A brings back C's clock in C's
        push reply. The client's read of k at A, which lacks B's write, is sent to C,
        which holds it: 200 with "address" C at once, the metric counts it. With C cut
        off too, A can only wait (503 within CAUSAL_TIMEOUT_MS)."""
        topo = netns.Topology(3, self.logdir, binary=CAUSALKV_BIN, tag="edge-d-")
        self.topos.append(topo)
        topo.create()
        env = {"GOSSIP_INTERVAL_MS": 60000}
        for i in range(3):
            topo.start_node(i, topo.addrs, 3, env)
        A, B, C = topo.addrs
        box = {}

        def before_cut():
            for a in (A, B, C):
                poll(lambda: workload.http_json(a, "GET", "/healthz", None, 1)[0] == 200,
                     15, "%s healthy" % a)

        def during_cut():
            st, js = put(B, "k", "from-b")
            self.assertIn(st, (200, 201), js)
            ctx = js["causal-context"]
            poll(lambda: get(C, "k")[1].get("value") == "from-b", 10, "C holds k (pushed)")
            self.assertIn(put(A, "other", "x")[0], (200, 201))  # C's reply tells its clock
            poll(lambda: get(C, "other")[1].get("value") == "x", 10, "C holds other")
            t0 = time.monotonic()
            st, js = workload.http_json(A, "GET", workload.keypath("k"),
                                        {"causal-context": ctx}, 5)
            took = time.monotonic() - t0
            self.assertEqual((st, js.get("value"), js.get("address")), (200, "from-b", C),
                             "the read at A with B's write in its context: %s %r" % (st, js))
            self.assertLess(took, 1.0, "the read waited %.2f s" % took)
            self.assertRegex(metrics_text(A),
                             r"\ncausalkv_reads_forwarded_for_history_total 1\n")
            box["ctx"] = js["causal-context"]

        def cut_off():
            st, js = put(B, "k2", "from-b")
            self.assertIn(st, (200, 201), js)
            t0 = time.monotonic()
            st, js = workload.http_json(A, "GET", workload.keypath("k2"),
                                        {"causal-context": js["causal-context"]}, 5)
            self.assertEqual(st, 503, "A cut from both: %s %r" % (st, js))
            self.assertLess(time.monotonic() - t0, 3.5, "bounded by CAUSAL_TIMEOUT_MS")

        in_ns(topo.client_ns, before_cut)
        topo.apply({frozenset((0, 1))})
        in_ns(topo.client_ns, during_cut)
        self.assertAlive(topo.nodes, "with A cut from B")
        topo.apply({frozenset((0, 1)), frozenset((0, 2))})
        in_ns(topo.client_ns, cut_off)
        self.assertAlive(topo.nodes, "with A cut from B and C")
        topo.heal()
        self.assertAlive(topo.nodes, "after healing")
        self.assertCleanStop(topo.nodes)


    def test_read_through_another_shard_reaches_the_replica_with_its_history(self):
        """(e) 2 shards of 2, the replicas of shard 1 (A, B) cut apart: a client writes a
        key of shard 1 at B, then reads it with that context at C (shard 2), which
        proxies. Whichever of A and B the proxy asks first, the read is served: A, which
        lacks the write, answers 503 within its share of the time and the proxy asks B.
        Four reads, so both orders come up."""
        topo = netns.Topology(4, self.logdir, binary=CAUSALKV_BIN, tag="edge-e-")
        self.topos.append(topo)
        topo.create()
        for i in range(4):
            topo.start_node(i, topo.addrs, 2, {"GOSSIP_INTERVAL_MS": 200})
        A, B, C, D = topo.addrs

        def before_cut():
            for a in topo.addrs:
                poll(lambda: workload.http_json(a, "GET", "/healthz", None, 1)[0] == 200,
                     15, "%s healthy" % a)

        def during_cut():
            for i in range(4):
                for j in range(50):  # a key of shard 1: B's reply is local (no address)
                    key = "k%d-%d" % (i, j)
                    st, js = put(B, key, "from-b")
                    self.assertIn(st, (200, 201), js)
                    if "address" not in js:
                        break
                else:
                    self.fail("no key of B's shard among 50")
                t0 = time.monotonic()
                st, got = workload.http_json(C, "GET", workload.keypath(key),
                                             {"causal-context": js["causal-context"]}, 5)
                took = time.monotonic() - t0
                self.assertEqual((st, got.get("value"), got.get("address")),
                                 (200, "from-b", B), "read %d via C: %r" % (i, got))
                self.assertLess(took, 2.5, "read %d took %.2f s" % (i, took))

        in_ns(topo.client_ns, before_cut)
        topo.apply({frozenset((0, 1))})
        in_ns(topo.client_ns, during_cut)
        self.assertAlive(topo.nodes, "with A cut from B")
        topo.heal()
        self.assertAlive(topo.nodes, "after healing")
        self.assertCleanStop(topo.nodes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
