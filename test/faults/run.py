#!/usr/bin/env python3
"""run — Jepsen-style fault runs against causalkv in network namespaces.

    python3 test/faults/run.py [--time S] [--out DIR] [--seed N] [NEMESIS ...]

For each nemesis (default: all of them): build a fresh namespace topology, start the
nodes, run the clients while the nemesis toggles its fault every few seconds, heal, wait
for convergence, read every key from every node, judge the history (checker.py) and
print one summary row. Exit status: 0 when every verdict is PASS, 1 otherwise, 2 on a
usage or setup error. Needs root (namespaces, iptables). CAUSALKV_BIN names the binary.

Everything a run leaves is in DIR/<nemesis>/: history.jsonl, events.json,
result.json, node*.log (a sanitizer build's reports land there).
"""

import argparse
import bisect
import json
import os
import random
import signal
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import netns  # noqa: E402
import workload  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TIMEOUT_BOUND_S = 2.0      # PROXY_TIMEOUT_MS / CAUSAL_TIMEOUT_MS defaults
SLACK_S = 1.0
CLIENT_TIMEOUT_S = 6.0
REPLICATE_WINDOW_S = 2.0   # a write acked this long before a kill, while connected, is safe
CONVERGE_LIMIT_S = 30.0
NODE_ENV = {"VIEW_CHANGE_TIMEOUT_MS": 10000}

NEMESES = {
    "partition-one": "one node cut from every other node (clients still reach it)",
    "partition-shard": "the replicas of one shard cut from each other",
    "halves": "the nodes split into two random halves",
    "client-cut": "one node cut from everything, clients included",
    "kill": "kill -9 one node, restart it empty",
    "pause": "SIGSTOP one node, SIGCONT it",
    "slow": "node-to-node links delayed 60+-40 ms (NFQUEUE) and 10% loss (statistic)",
    "view-change": "add a shard, reorder, remove a shard, while clients write",
    "cut-restart": "one node cut off, kill -9, restarted empty while still cut, then healed",
    "kill-all": "every node kill -9 at once, restarted with its DATA_DIR (FSYNC=always)",
}
# Nemeses whose nodes keep a journal: a restart brings the data back, so no acknowledged
# write may be lost, however soon after its acknowledgement the node died.
DURABLE = {"kill-all"}


def find_binary():
    b = os.environ.get("CAUSALKV_BIN")
    if b:
        return b
    for d in ("build-faults", "build-test", "build"):
        p = os.path.join(ROOT, d, "causalkv")
        if os.access(p, os.X_OK):
            return p
    raise SystemExit("no causalkv binary: set CAUSALKV_BIN or build build-faults")


# --------------------------------------------------------------------------- timeline


class Timeline:
    """What the nemesis did, as state snapshots over time (run-relative seconds)."""

    def __init__(self, rec, n, view, rf):
        self.rec = rec
        self.events = []
        self.times = [0.0]
        self.states = [{"cuts": frozenset(), "down": frozenset(), "paused": frozenset(),
                        "view": tuple(view), "rf": rf, "vc": False}]
        self.lock = threading.Lock()

    def now(self):
        return self.rec.now()

    def log(self, kind, **data):
        with self.lock:
            t = self.now()
            self.events.append(dict(t=round(t, 4), kind=kind, **data))
            return t

    def set(self, **changes):
        with self.lock:
            t = self.now()
            st = dict(self.states[-1])
            st.update({k: (frozenset(v) if isinstance(v, (set, list, frozenset)) and
                           k in ("cuts", "down", "paused") else v)
                       for k, v in changes.items()})
            self.times.append(t)
            self.states.append(st)
            self.events.append({"t": round(t, 4), "kind": "state",
                                **{k: sorted(map(str, v)) if isinstance(v, (set, frozenset))
                                   else v for k, v in changes.items()}})
            return t

    def at(self, t):
        j = bisect.bisect_right(self.times, t) - 1
        return self.states[max(j, 0)]

    def between(self, t0, t1):
        j0 = max(bisect.bisect_right(self.times, t0) - 1, 0)
        j1 = bisect.bisect_right(self.times, t1)
        return self.states[j0:max(j1, j0 + 1)]

    def disturbed(self, topo):
        def f(addr, t0, t1):
            i = topo.addrs.index(addr)
            for st in self.between(t0, t1 + 0.05):
                if i in st["down"] or i in st["paused"] or ("client", i) in st["cuts"]:
                    return True
            return False
        return f

    def connected(self, i, st):
        """Node i can push to at least one live replica of its shard in state st."""
        view, rf = list(st["view"]), st["rf"]
        addr_i = self._addr(i)
        if addr_i not in view:
            return True
        k = view.index(addr_i) // rf
        for a in view[k * rf:(k + 1) * rf]:
            j = self._addrs.index(a)
            if j == i or j in st["down"] or j in st["paused"]:
                continue
            if frozenset((i, j)) in st["cuts"]:
                continue
            return True
        return rf == 1

    def bind(self, addrs):
        self._addrs = list(addrs)

    def _addr(self, i):
        return self._addrs[i]


def exempt_writes(ops, tl, topo):
    """Op indices of acknowledged writes that a later SIGKILL of the node that applied them
    may legitimately have destroyed: the node was killed before it had been connected to a
    live replica of its shard for REPLICATE_WINDOW_S after the acknowledgement."""
    kills = {}
    for e in tl.events:
        if e["kind"] == "kill":
            kills.setdefault(e["node"], []).append(e["t"])
    out = set()
    for op in ops:
        if op["kind"] == "get" or op["outcome"] != "ok" or op["served"] not in topo.addrs:
            continue
        i = topo.addrs.index(op["served"])
        later = [t for t in kills.get(i, ()) if t >= op["t0"]]
        if not later:
            continue
        tk = min(later)
        t, conn = op["t1"], 0.0
        while t < tk and conn < REPLICATE_WINDOW_S:
            if tl.connected(i, tl.at(t)):
                conn += 0.1
            t += 0.1
        if conn < REPLICATE_WINDOW_S:
            out.add(op["i"])
    return out


# --------------------------------------------------------------------------- nemeses


def node_env(name, outdir, i):
    """The environment of node i beyond NODE_ENV: a DATA_DIR of its own when durable."""
    if name not in DURABLE:
        return {}
    return {"DATA_DIR": os.path.join(outdir, "data%d" % i), "FSYNC": "always"}


class Nemesis:
    def __init__(self, name, topo, tl, targets, rng, run_until, outdir=None):
        self.name, self.topo, self.tl, self.targets, self.rng = name, topo, tl, targets, rng
        self.outdir = outdir
        self.run_until = run_until
        self.n = topo.n
        self.view = list(tl.states[-1]["view"])
        self.rf = tl.states[-1]["rf"]
        self.down, self.paused, self.cuts = set(), set(), set()
        self.ever_members = set(self.view)
        self.vc_seq = 0
        self.notes = []

    def members_idx(self):
        return [self.topo.addrs.index(a) for a in self.view]

    def apply_cuts(self, cuts, slow=None):
        self.cuts = set(cuts)
        self.topo.apply(self.cuts, slow)
        self.tl.set(cuts=self.cuts)

    def cut_node(self, i, clients=False):
        cuts = {frozenset((i, j)) for j in range(self.n) if j != i}
        if clients:
            cuts.add(("client", i))
        return cuts

    def kill(self, i):
        self.topo.nodes[i].kill9()
        self.down.add(i)
        self.tl.log("kill", node=i)
        self.tl.set(down=self.down)

    def start(self, i):
        node = self.topo.nodes[i]
        if node.running():
            return
        # a restarted node comes back with the view in force: empty, or with its journal
        env = dict(NODE_ENV, **node_env(self.name, self.outdir, i))
        self.topo.start_node(i, self.view, self.rf, env)
        self.tl.log("start", node=i)
        wait_listening(node, 15)
        self.down.discard(i)
        self.tl.set(down=self.down)

    def pause(self, i):
        self.topo.nodes[i].pause()
        self.paused.add(i)
        self.tl.log("pause", node=i)
        self.tl.set(paused=self.paused)

    def resume(self, i):
        self.topo.nodes[i].resume()
        self.paused.discard(i)
        self.tl.log("resume", node=i)
        self.tl.set(paused=self.paused)

    def heal(self):
        for i in sorted(self.paused):
            self.resume(i)
        if self.cuts or self.name == "slow":
            self.apply_cuts(set(), None)
        for i in sorted(self.down):
            self.start(i)
        return self.tl.log("heal")

    def wait(self, seconds):
        end = min(time.monotonic() + seconds, self.run_until)
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def cycle(self):
        """One fault-on / fault-off cycle."""
        members = self.members_idx()
        i = self.rng.choice(members)
        on, off = self.rng.uniform(2.0, 4.0), self.rng.uniform(1.5, 2.5)
        nm = self.name
        if nm == "partition-one":
            self.apply_cuts(self.cut_node(i))
            self.wait(on)
            self.apply_cuts(set())
        elif nm == "client-cut":
            self.apply_cuts(self.cut_node(i, clients=True))
            self.wait(on)
            self.apply_cuts(set())
        elif nm == "partition-shard":
            k = self.rng.randrange(len(members) // self.rf)
            reps = members[k * self.rf:(k + 1) * self.rf]
            self.apply_cuts({frozenset((a, b)) for a in reps for b in reps if a < b})
            self.wait(on)
            self.apply_cuts(set())
        elif nm == "halves":
            m = list(members)
            self.rng.shuffle(m)
            h = set(m[:len(m) // 2])
            self.apply_cuts({frozenset((a, b)) for a in h for b in m if b not in h})
            self.wait(on)
            self.apply_cuts(set())
        elif nm == "kill":
            self.kill(i)
            self.wait(on)
            self.start(i)
        elif nm == "pause":
            self.pause(i)
            self.wait(on)
            self.resume(i)
        elif nm == "slow":
            self.topo.apply(set(), (0.10, True))
            self.tl.log("slow", on=True)
            self.wait(on)
            self.topo.apply(set(), None)
            self.tl.log("slow", on=False)
        elif nm == "cut-restart":
            self.apply_cuts(self.cut_node(i))
            self.wait(on / 2)
            self.kill(i)
            self.start(i)
            self.wait(on / 2 + 1.0)
            self.apply_cuts(set())
            off += 1.0
        elif nm == "view-change":
            self.view_change()
        elif nm == "kill-all":
            for j in range(self.n):
                self.kill(j)
            self.wait(on / 4)
            for j in range(self.n):
                self.start(j)
        self.wait(off)

    def view_change(self):
        a = self.topo.addrs
        plans = [(a[0:6], 2), (list(reversed(a[0:6])), 2), ([a[2], a[5], a[3], a[4]], 2),
                 (a[0:4], 2)]
        new, rf = plans[self.vc_seq % len(plans)]
        self.vc_seq += 1
        coord = self.rng.choice(self.view)
        paused = None
        if self.vc_seq % 2 == 0:
            # every other change: one participant is paused while it runs, resumed after
            cand = [self.topo.addrs.index(x) for x in set(self.view) | set(new)
                    if x != coord]
            paused = self.rng.choice(sorted(cand))
            self.pause(paused)
            self.wait(0.3)
        t0 = self.tl.log("view-change-start", view=new, rf=rf, coordinator=coord,
                         paused=paused)
        self.tl.set(vc=True)
        try:
            st, js = workload.http_json(coord, "PUT", "/kv-store/view-change",
                                        {"view": new, "repl-factor": rf}, timeout=40)
        except Exception as e:  # noqa: BLE001
            st, js = None, {"error": repr(e)}
        t1 = self.tl.log("view-change-end", status=st,
                         reply={k: v for k, v in (js or {}).items() if k != "shards"},
                         seconds=None)
        self.tl.events[-1]["seconds"] = round(t1 - t0, 3)
        if paused is not None:
            self.wait(0.3)
            self.resume(paused)
        if st == 200:
            self.view, self.rf = list(new), rf
            self.ever_members |= set(new)
            self.targets.set(sorted(self.ever_members))
            self.tl.set(view=tuple(new), rf=rf, vc=False)
        else:
            self.notes.append("view change to %s answered %s %r" % (new, st, js))
            self.tl.set(vc=False)

    def run(self, fault_seconds):
        self.run_until = time.monotonic() + fault_seconds
        cycles = 0
        while time.monotonic() < self.run_until and cycles < 1000:
            self.cycle()
            cycles += 1
        return cycles


def wait_listening(node, seconds):
    """Poll until the node answers /kv-store/key-count (any status) or exits."""
    deadline = time.monotonic() + seconds
    host = node.addr
    while time.monotonic() < deadline:
        if not node.running():
            return False
        try:
            workload.http_json(host, "GET", "/kv-store/key-count", timeout=1)
            return True
        except Exception:  # noqa: BLE001
            time.sleep(0.05)
    return False


def wait_healthy(addr, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            st, _ = workload.http_json(addr, "GET", "/healthz", timeout=1)
            if st == 200:
                return True
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- final reads


def read_one(k, a):
    try:
        st, js = workload.http_json(a, "GET", workload.keypath(k), None, timeout=3)
        if st == 200 and isinstance(js, dict):
            return ("v", js.get("value"))
        if st == 404:
            return ("missing",)
        return ("error", str(st))
    except Exception as e:  # noqa: BLE001
        return ("error", type(e).__name__)


def read_all(keys, addrs, threads=6):
    """{key: {node: answer}} read with an empty context, a few requests in parallel."""
    jobs = [(k, a) for k in keys for a in addrs]
    res = {}
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                k, a = jobs.pop()
            r = read_one(k, a)
            with lock:
                res[(k, a)] = r

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return {k: {a: res.get((k, a), ("error", "no answer")) for a in addrs} for k in keys}


def agreed(answers):
    for per in answers.values():
        vals = set(per.values())
        if len(vals) != 1 or next(iter(vals))[0] == "error":
            return False
    return True


def converge(keys, addrs, heal_t, rec, limit):
    """Poll until every node gives the same definite answer for every key twice in a
    row; returns (seconds after heal or None, last answers)."""
    deadline = time.monotonic() + limit
    prev = None
    answers = read_all(keys, addrs)
    while True:
        if agreed(answers) and answers == prev:
            return rec.now() - heal_t, answers
        if time.monotonic() > deadline:
            return None, answers
        prev = answers
        time.sleep(0.2)
        answers = read_all(keys, addrs)


# --------------------------------------------------------------------------- one run


def key_owner_map(keys, addr, view):
    """key -> address of a replica that served it (to check the key space covers every
    shard)."""
    owners = {}
    for k in keys:
        try:
            st, js = workload.http_json(addr, "GET", workload.keypath(k), None, timeout=3)
            owners[k] = (js or {}).get("address") or addr
        except Exception:  # noqa: BLE001
            owners[k] = None
    return owners


def run_nemesis(name, seconds, outdir, binary, seed, nclients=8, nkeys=16):
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    n = 6
    topo = netns.Topology(n, outdir, binary=binary, tag=name.replace("-", "")[:6] + "-",
                          node_env=NODE_ENV)
    result = {"nemesis": name, "seconds": seconds, "seed": seed, "binary": binary,
              "problems": []}
    rec = workload.Recorder()
    stop = threading.Event()
    clients = []
    try:
        topo.create()
        if name == "view-change":
            view0 = topo.addrs[0:4]
            for i in range(4):
                topo.start_node(i, view0, 2)
            for i in (4, 5):
                topo.start_node(i, topo.addrs[0:6], 2)
            view = view0
        else:
            view = topo.addrs
            for i in range(n):
                topo.start_node(i, view, 2, node_env(name, outdir, i))
        topo.enter_client()
        for node in topo.nodes:
            if not wait_listening(node, 20):
                raise RuntimeError("%s did not start: see %s" % (node.addr, node.log_path))
        for a in view:
            if not wait_healthy(a, 10):
                raise RuntimeError("%s not healthy" % a)
        tl = Timeline(rec, n, view, 2)
        tl.bind(topo.addrs)
        keys = ["k%02d" % i for i in range(nkeys)]
        owners = key_owner_map(keys, view[0], view)
        shards = {view.index(o) // 2 for o in owners.values() if o in view}
        while len(shards) < len(view) // 2 and len(keys) < 64:
            k = "k%02d" % len(keys)
            o = key_owner_map([k], view[0], view)[k]
            if o in view and view.index(o) // 2 not in shards:
                shards.add(view.index(o) // 2)
            keys.append(k)
        cold = ["u%03d" % i for i in range(nkeys * 6)]
        once = workload.KeySet()
        result["keys"] = keys + cold
        crashes = []

        def monitor():
            while not stop.is_set():
                for node in topo.nodes:
                    r = node.poll_exit()
                    if r is not None and not r[1]:
                        crashes.append((node.addr, r[0], rec.now()))
                        tl.log("crash", node=node.idx, status=r[0])
                stop.wait(0.1)

        mon = threading.Thread(target=monitor, daemon=True)
        mon.start()
        if name == "view-change":
            # first a change of an empty store: every node receives no keys
            v1 = [view[1], view[0], view[3], view[2]]
            t0 = tl.log("view-change-start", view=v1, rf=2, coordinator=view[0], paused=None)
            try:
                st, js = workload.http_json(view[0], "PUT", "/kv-store/view-change",
                                            {"view": v1, "repl-factor": 2}, timeout=40)
            except Exception as e:  # noqa: BLE001
                st, js = None, {"error": repr(e)}
            tl.log("view-change-end", status=st, seconds=round(tl.now() - t0, 3),
                   reply={k: v for k, v in (js or {}).items() if k != "shards"})
            if st == 200:
                view = v1
                tl.set(view=tuple(v1), rf=2)
            else:
                result["problems"].append("view change of an empty store answered %s %r"
                                          % (st, js))
        if name == "slow":
            for i in range(n):
                topo.start_delayer(i, 60, 40)
        targets = workload.Targets(view)
        hard_deadline = time.monotonic() + seconds + 120
        for c in range(nclients):
            clients.append(workload.Client("c%d" % c, rec, targets, keys, stop,
                                           seed * 100 + c, timeout=CLIENT_TIMEOUT_S,
                                           deadline=hard_deadline, cold_keys=cold, once=once))
        clients.append(workload.Client("nc", rec, targets, keys, stop, seed * 100 + 99,
                                       context=False, timeout=CLIENT_TIMEOUT_S,
                                       deadline=hard_deadline, cold_keys=cold, once=once))
        for c in clients:
            c.start()
        nem = Nemesis(name, topo, tl, targets, rng, time.monotonic() + seconds, outdir)
        nem.wait(1.0)  # a fault-free start
        cycles = nem.run(seconds)
        heal_t = nem.heal()
        for i in range(n):
            node = topo.nodes[i]
            if node.running() and topo.addrs[i] in nem.view:
                wait_healthy(node.addr, 15)
        # clients go on a little after the heal, then stop
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            time.sleep(0.05)
        stop.set()
        for c in clients:
            c.join(CLIENT_TIMEOUT_S + 5)
        quiet_t = rec.now()
        hung = [c.cname for c in clients if c.is_alive()]
        if hung:
            result["problems"].append("clients still waiting: %s" % hung)
        # convergence and final reads (every running node, members and removed ones)
        readers = [a for i, a in enumerate(topo.addrs) if topo.nodes[i].running()
                   and a in nem.ever_members]
        all_keys = keys + cold + once.all()
        result["keys"] = all_keys
        conv, answers = converge(all_keys, readers, heal_t, rec, CONVERGE_LIMIT_S)
        for node in topo.nodes:
            r = node.poll_exit()
            if r is not None and not r[1]:
                crashes.append((node.addr, r[0], rec.now()))
        ops = rec.ops
        # ---- judge
        exempt = set() if name in DURABLE else exempt_writes(ops, tl, topo)
        causal, model = checker.check_causal(ops, exempt)
        ctxv = checker.check_contexts(ops)
        final = {}
        members = set(nem.view)
        for k, per in answers.items():
            final[k] = sorted({a[1] if a[0] == "v" else None for n_, a in per.items()
                               if a[0] != "error" and n_ in members}, key=str)
        lost = [v for v in checker.check_final(model, final, exempt)]
        div = checker.check_divergence(answers)
        slow = checker.check_latency(ops, TIMEOUT_BOUND_S + SLACK_S, tl.disturbed(topo))
        stop_problems = []
        for node in topo.nodes:
            if node.running():
                paused = node.paused
                rc, clean = node.stop(10)
                if not clean:
                    stop_problems.append("%s did not exit within 10 s of SIGTERM%s"
                                         % (node.addr, " (was paused)" if paused else ""))
                elif rc != 0:
                    stop_problems.append("%s exited %s on SIGTERM" % (node.addr, rc))
        san, errs = [], []
        for node in topo.nodes:
            s, e = checker.scan_log(node.log_path)
            san += ["%s: %s" % (node.addr, x) for x in s]
            errs += ["%s: %s" % (node.addr, x) for x in e]
        writes = [o for o in ops if o["kind"] != "get"]
        n503 = sum(1 for o in ops if o["status"] == 503)
        nto = sum(1 for o in ops if o["status"] is None and o["outcome"] == "info")
        result.update({
            "cycles": cycles, "ops": len(ops), "ok": sum(1 for o in ops if o["outcome"] == "ok"),
            "writes": len(writes), "pct_503": 100.0 * n503 / max(1, len(ops)),
            "pct_timeout": 100.0 * nto / max(1, len(ops)),
            "refused": sum(1 for o in ops if o["outcome"] == "fail"),
            "max_latency_s": round(max([o["t1"] - o["t0"] for o in ops] or [0]), 2),
            "over_3s": sum(1 for o in ops if o["t1"] - o["t0"] > 3.0),
            "lost": [str(v) for v in lost if v.kind == "lost"],
            "unknown_final": [str(v) for v in lost if v.kind != "lost"],
            "exempt_writes": len(exempt),
            "causal": [str(v) for v in causal if v.kind == "causal"],
            "unknown_values": [str(v) for v in causal if v.kind != "causal"],
            "context": [str(v) for v in ctxv],
            "divergence": [str(v) for v in div],
            "slow": [str(v) for v in slow],
            "convergence_s": None if conv is None else round(conv, 2),
            "convergence_after_load_s": None if conv is None else
            round(conv - (quiet_t - heal_t), 2),
            "crashes": ["%s exited with status %s at t=%.1fs" % c for c in crashes],
            "shutdown": stop_problems, "sanitizer": san, "error_lines": errs,
            "notes": nem.notes,
        })
        write_artifacts(outdir, rec, tl, result)
    except BaseException as e:
        result["problems"].append("harness: %s" % "".join(
            traceback.format_exception_only(type(e), e)).strip())
        if not isinstance(e, Exception):
            stop.set()
            topo.destroy()
            raise
        sys.stderr.write(traceback.format_exc())
        try:
            write_artifacts(outdir, rec, None, result)
        except Exception:  # noqa: BLE001
            pass
    finally:
        stop.set()
        topo.destroy()
    result["verdict"] = verdict(result)
    with open(os.path.join(outdir, "result.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    return result


def write_artifacts(outdir, rec, tl, result):
    with open(os.path.join(outdir, "history.jsonl"), "w") as f:
        for op in rec.ops:
            f.write(json.dumps(op, default=str) + "\n")
    if tl is not None:
        with open(os.path.join(outdir, "events.json"), "w") as f:
            json.dump(tl.events, f, indent=0, default=str)


FAILING = ("lost", "unknown_final", "causal", "unknown_values", "context", "divergence",
           "slow", "crashes", "shutdown", "sanitizer", "error_lines", "problems")


def verdict(r):
    bad = [k for k in FAILING if r.get(k)]
    if r.get("convergence_s") is None and "ops" in r:
        bad.append("no-convergence")
    return "PASS" if not bad else "FAIL(" + ",".join(bad) + ")"


def table(results):
    hdr = ["nemesis", "ops", "%503", "%timeout", "%refused", "max s", "lost", "causal",
           "ctx", "diverg",
           "conv s", "slow", "crashes", "san/err", "verdict"]
    rows = []
    for r in results:
        rows.append([r["nemesis"], str(r.get("ops", "-")), "%.1f" % r.get("pct_503", 0),
                     "%.1f" % r.get("pct_timeout", 0),
                     "%.1f" % (100.0 * r.get("refused", 0) / max(1, r.get("ops", 0) or 1)),
                     "%.1f" % r.get("max_latency_s", 0), str(len(r.get("lost", []))),
                     str(len(r.get("causal", [])) + len(r.get("unknown_values", []))),
                     str(len(r.get("context", []))), str(len(r.get("divergence", []))),
                     "-" if r.get("convergence_s") is None else "%.1f" % r["convergence_s"],
                     str(len(r.get("slow", []))),
                     str(len(r.get("crashes", [])) + len(r.get("shutdown", []))),
                     "%d/%d" % (len(r.get("sanitizer", [])), len(r.get("error_lines", []))),
                     r.get("verdict", "?")])
    w = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
         for i, h in enumerate(hdr)]
    line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    out = [line(hdr), "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    out += [line(row) for row in rows]
    return "\n".join(out)


def details(r, show=5):
    lines = []
    for k in FAILING + ("notes",):
        v = r.get(k)
        if v:
            lines.append("  %s (%d):" % (k, len(v)))
            lines += ["    " + str(x)[:400] for x in v[:show]]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("nemesis", nargs="*", help="nemeses to run (default: all): " +
                    ", ".join(NEMESES))
    ap.add_argument("--time", type=float, default=20, help="seconds of faults per nemesis")
    ap.add_argument("--out", default=None, help="artifact directory")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for k, v in NEMESES.items():
            print("%-16s %s" % (k, v))
        return 0
    try:
        netns.require_root()
    except SystemExit as e:
        sys.stderr.write("faults: %s\n" % e)
        return 2
    names = args.nemesis or list(NEMESES)
    for nm in names:
        if nm not in NEMESES:
            sys.stderr.write("unknown nemesis %r; known: %s\n" % (nm, ", ".join(NEMESES)))
            return 2
    binary = find_binary()
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    out = args.out or os.path.join("/tmp", "ckv-faults-%d" % os.getpid())
    os.makedirs(out, exist_ok=True)
    print("faults: binary %s, seed %d, %.0f s per nemesis, artifacts in %s"
          % (binary, seed, args.time, out), flush=True)
    results = []
    for k, nm in enumerate(names):
        t0 = time.monotonic()
        r = run_nemesis(nm, args.time, os.path.join(out, nm), binary, seed + k)
        r["wall_s"] = round(time.monotonic() - t0, 1)
        results.append(r)
        print("faults: %-16s %s (%.0f s)" % (nm, r["verdict"], r["wall_s"]), flush=True)
        d = details(r)
        if d:
            print(d, flush=True)
    print(table(results))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    return 0 if all(r["verdict"] == "PASS" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
