"""Integration tests for view change (issue 4; SPEC sections 3, 5, 6).

Independent cases: each test starts its own cluster in the view it needs (4 nodes with
REPL_FACTOR=2 unless it says otherwise), loads 100 keys, and runs a writer thread that
keeps writing its own keys (unique values, echoing its context) during every change and
records every acknowledged write.

  1 invalid bodies -> 400, nothing changes
  2 grow 4 -> 6 nodes (2 new processes), same R: 3 shards, few keys move
  3 6 nodes R 2 -> 3, the view given as a comma string
  4 reorder a view of 6 nodes, R 3
  5 apply an identical view
  6 shrink 6 -> 4 nodes (coordinated by a node it removes); removed nodes never answer a
    GET with a stale value; a removed node refuses to coordinate
  7 two concurrent view changes: at most one commits
  8 the writer lost no acknowledged write across consecutive changes (grow, then shrink)
  9 a change whose old shard is entirely down -> 503, the old view still serves the rest

After every change: each key readable from every node with its value, ownership
consistent, shard key counts sum to the live keys, a GET with a context from before the
change answers 200 in under 1 s; at the end of every test, the writer lost nothing.

Addresses: six fresh ones of the file's ckvtest.slot per test."""

import collections
import http.client
import os
import random
import sys
import time
import unittest

import ckvtest
import loadgen
from ckvtest import (VC_PATH, Cluster, CkvTestCase, Session, ctx_ge_why, expected_state,
                     keypath, poll, request, shard_groups, view_state)

SLOT = ckvtest.slot(__file__)
NBASE = 100
CAUSAL_TIMEOUT = 2.0  # CAUSAL_TIMEOUT_MS default
WRITE_TIMEOUT = 10.0  # a node must answer a write well within this (2 s timeouts inside)
VC_TIMEOUT = 60.0
OK_WRITE = (200, 201)


def log(msg):
    sys.stderr.write("[view-change] %s\n" % msg)
    sys.stderr.flush()


def shard_of(view, rf, addr):
    return view.index(addr) // rf + 1


def get_json(addr, path, body=None, timeout=5):
    st, js, _, raw = request(addr, "GET", path, body, timeout=timeout)
    return st, js, raw


# --------------------------------------------------------------------------- the writer


class Writer(loadgen.LoadThread):
    """Writes its own keys in a loop (unique values, echoing its causal context) to a
    random target. A key is used until a write to it is not acknowledged (503, no
    reply); then it is retired and a fresh key takes its place, so for every key all
    attempts but possibly the last were acknowledged, and the last acknowledged value
    must stay readable (or the unacknowledged last one, if it was applied after all).

    Failures: a status other than 200/201/503, no reply from a node still in the
    targets, 201 for a key that had an acknowledged write (the write was lost), a reply
    context smaller than the one sent."""

    POOL = 6

    def __init__(self, targets, seed):
        super().__init__(name="vc-writer")
        self.rng = random.Random(seed)
        self.targets = list(targets)
        self.phase = "start"
        self.ctx = None
        self.history = collections.OrderedDict()  # key -> [attempt dict]
        self.active = []
        self.failures = self.errors
        self.fast503 = []  # (seconds to the 503, phase)
        self.stats = collections.Counter()
        self.seq = 0
        self.nkeys = 0
        self.turn = 0
        for _ in range(self.POOL):
            self.active.append(self._new_key())

    def _new_key(self):
        self.nkeys += 1
        k = "w%d-%d" % (os.getpid() % 10000, self.nkeys)
        self.history[k] = []
        return k

    # -- control (main thread) --
    def set_targets(self, targets, phase=None):
        with self.cv:
            self.targets = list(targets)
            if phase is not None:
                self.phase = phase

    def set_phase(self, phase):
        with self.cv:
            self.phase = phase

    def stop(self):
        super().stop(WRITE_TIMEOUT + 5)

    # -- the loop (loadgen.LoadThread runs step() until stop()) --
    def step(self):
        self._write_one()

    def on_exception(self, e):  # never die silently
        self._fail("writer exception %r" % (e,))

    def _fail(self, msg):
        with self.cv:
            self.failures.append("[%s] %s" % (self.phase, msg))

    def _retire(self, key):
        i = self.active.index(key)
        self.active[i] = self._new_key()

    def _write_one(self):
        key = self.active[self.turn % self.POOL]
        self.turn += 1
        self.seq += 1
        value = "wv%d" % self.seq
        with self.cv:
            addr = self.rng.choice(self.targets)
            att = {"value": value, "t0": time.monotonic(), "t1": None, "status": None,
                   "addr": addr, "phase": self.phase}
            had_ack = any(a["status"] in OK_WRITE for a in self.history[key])
            self.history[key].append(att)
        sent = self.ctx
        body = {"value": value}
        if sent is not None:
            body["causal-context"] = sent
        try:
            st, js, _, raw = request(addr, "PUT", keypath(key), body, timeout=WRITE_TIMEOUT)
        except (OSError, http.client.HTTPException) as e:
            with self.cv:
                att["t1"] = time.monotonic()
                att["status"] = "error"
                still_target = addr in self.targets
            self.stats["no reply"] += 1
            if still_target:
                self._fail("PUT %s=%s at %s: no reply (%r)" % (key, value, addr, e))
            self._retire(key)
            return
        with self.cv:
            att["t1"] = time.monotonic()
            att["status"] = st
        self.stats[st] += 1
        if st in OK_WRITE:
            want = 200 if had_ack else 201
            if st != want:
                self._fail("PUT %s=%s at %s: status %d, want %d (%s): %r"
                           % (key, value, addr, st, want,
                              "an acknowledged write to it was lost" if had_ack
                              else "a fresh key already existed", raw))
            if not isinstance(js, dict) or not isinstance(js.get("causal-context"), dict):
                self._fail("PUT %s at %s: reply without a context object: %r" % (key, addr, raw))
                return
            why = ctx_ge_why(js["causal-context"], sent)
            if why:
                self._fail("PUT %s at %s: reply context %r < sent %r (%s)"
                           % (key, addr, js["causal-context"], sent, why))
            self.ctx = js["causal-context"]
        elif st == 503:
            with self.cv:
                self.fast503.append((round(att["t1"] - att["t0"], 3), self.phase))
            self._retire(key)
        else:
            self._fail("PUT %s=%s at %s: status %d: %r" % (key, value, addr, st, raw))
            self._retire(key)

    # -- queries (main thread) --
    def snapshot(self):
        with self.cv:
            return {k: [dict(a) for a in v] for k, v in self.history.items() if v}

    def key_bounds(self, t_send, t_reply):
        """(keys surely live at any moment in [t_send, t_reply], keys possibly live)."""
        lo = hi = 0
        for atts in self.snapshot().values():
            acks = [a for a in atts if a["status"] in OK_WRITE]
            if acks and acks[0]["t1"] < t_send:
                lo += 1
            if atts[0]["t0"] < t_reply:
                hi += 1
        return lo, hi

    def overlapping(self, t_send, t_reply):
        """Counter of the statuses of writes in flight at some time in [t_send, t_reply]."""
        c = collections.Counter()
        for atts in self.snapshot().values():
            for a in atts:
                if a["t0"] < t_reply and (a["t1"] is None or a["t1"] > t_send):
                    c[a["status"]] += 1
        return c


# --------------------------------------------------------------------------- the scenario


class ViewChangeCase(CkvTestCase):
    """One cluster per test: self.start() builds it in the view the test begins from."""

    def setUp(self):
        self.t_start = time.monotonic()
        self.cluster = None
        self.writer = None
        self.removed = []
        self.dead = []
        self.rng = random.Random(44)
        self.model = {}
        self.owner = {}  # base key -> shard id, as observed by the last full check
        self.writer_owner = {}  # writer key -> shard id, likewise
        self.changes = []
        self.version = collections.Counter()
        # four "original" nodes and two more, fresh addresses for every test
        self.orig = SLOT.addrs(4)
        self.extra_addrs = SLOT.addrs(2)
        self.addCleanup(self._cleanup)

    def start(self, view, rf):
        """Start the nodes of `view` with REPL_FACTOR rf, load the base keys, start the
        writer and record which shard owns each base key."""
        self.view, self.rf = list(view), rf
        self.cluster = Cluster(len(view), rf, addrs=view, name="viewchange")
        s = Session(self.view, name="loader", rng=self.rng)
        for i in range(NBASE):
            k, v = "base-%03d" % i, "b%d-0" % i
            st, js = s.put(k, v)
            if st != 201:
                raise AssertionError("loading %s: %s %r" % (k, st, js))
            self.model[k] = v
        self.writer = Writer(self.view, seed=7)
        self.writer.start()
        # ownership before any change (for the moved-keys checks); the loads replicate
        # asynchronously: poll
        self.owner = poll(lambda: self.check_base_keys(self.view, self.view, rf, [],
                                                       "initial"),
                          10, msg="initial base keys")

    def _cleanup(self):
        if self.cluster is None:
            return
        try:
            if self.writer is not None:
                self.writer.stop()
                log("%s writer: %d keys, statuses %s; 503s after (s, phase) %s"
                    % (self.id().rsplit(".", 1)[-1], len(self.writer.snapshot()),
                       dict(self.writer.stats), self.writer.fast503[:20]))
            for c in self.changes:
                log(c)
            log("%s: %.1fs" % (self.id().rsplit(".", 1)[-1], time.monotonic() - self.t_start))
            self.cluster.close_checked()
        finally:
            self.cluster.close()  # if the lines above failed; a second close does nothing

    def tearDown(self):
        if self.cluster is not None:
            self.assertEqual(self.cluster.crashed(), [],
                             "a node crashed (its log tail is above)")

    # ------------------------------------------------------------ helpers
    def members(self):
        return [a for a in self.view if a not in self.dead]

    def vc(self, addr, body, timeout=VC_TIMEOUT):
        return request(addr, "PUT", VC_PATH, body, timeout=timeout)

    def assert_no_writer_failures(self):
        f = list(self.writer.failures)
        self.assertEqual(f, [], "writer failures (%d): %s" % (len(f), "\n".join(f[:10])))

    def assert_state_everywhere(self, nodes, view, rf, msg):
        want = expected_state(view, rf)
        bad = []
        for a in nodes:
            got = view_state(a)
            if got != want:
                bad.append("%s reports %r" % (a, got))
        self.assertEqual(bad, [], "%s: shards differ from %r:\n%s" % (msg, want, "\n".join(bad)))

    def next_value(self, key):
        self.version[key] += 1
        return "%s-v%d" % (key, self.version[key])

    def update_base_keys(self, n, targets, label):
        s = Session(targets, name="upd-" + label, rng=self.rng)
        for k in self.rng.sample(sorted(self.model), n):
            v = self.next_value(k)
            st, js = s.put(k, v)
            self.assertEqual(st, 200, "update %s after %s: %r" % (k, label, js))
            self.model[k] = v
        self.assertEqual(s.ctx_errors, [])
        return s

    def check_base_keys(self, nodes, view, rf, removed, label, keys=None):
        """Every base key, read (no context) from every node in `nodes` (members of
        `view`): 200 with the
        model value; served locally by exactly the replicas of one shard, proxied by the
        others to that shard. Removed nodes: the current value (proxied) or an error,
        never a stale value or a 404. Returns {key: owning shard id}."""
        keys = sorted(self.model) if keys is None else keys
        groups = shard_groups(view, rf)
        problems, owners = [], {}
        removed_errors = collections.Counter()
        for k in keys:
            seen = {}
            for a in nodes:
                st, js, raw = get_json(a, keypath(k))
                if st != 200 or not isinstance(js, dict) or js.get("value") != self.model[k]:
                    problems.append("GET %s at %s: %s %r, want 200 value %r"
                                    % (k, a, st, raw, self.model[k]))
                    continue
                served = js.get("address", a)
                if served not in view:
                    problems.append("GET %s at %s: served by %r, not a member" % (k, a, served))
                    continue
                seen[a] = (shard_of(view, rf, served), "address" in js)
            sids = {sid for sid, _ in seen.values()}
            if len(sids) > 1:
                problems.append("%s: answered as owned by shards %s: %r" % (k, sorted(sids), seen))
                continue
            if not sids:
                continue
            sid = sids.pop()
            owners[k] = sid
            for a, (_, proxied) in seen.items():
                if proxied == (a in groups[sid - 1]):
                    problems.append("%s (shard %d) at %s: %s" % (
                        k, sid, a, "a replica proxied it" if proxied else
                        "a non-replica served it locally"))
            for a in removed:
                st, js, raw = get_json(a, keypath(k))
                if st == 200:
                    if not isinstance(js, dict) or js.get("value") != self.model[k]:
                        problems.append("removed node %s: GET %s -> STALE 200 %r, current %r"
                                        % (a, k, raw, self.model[k]))
                    elif js.get("address") not in groups[sid - 1]:
                        problems.append("removed node %s: GET %s -> 200 with address %r, not a "
                                        "replica of shard %d" % (a, k, js.get("address"), sid))
                elif st == 404:
                    problems.append("removed node %s: GET %s -> 404 %r (the key exists: %r)"
                                    % (a, k, raw, self.model[k]))
                else:
                    removed_errors[st] += 1
        if removed_errors:
            log("%s: removed nodes answered errors %s" % (label, dict(removed_errors)))
        self.assertEqual(problems, [], "%s: %d problems reading base keys:\n%s"
                         % (label, len(problems), "\n".join(problems[:15])))
        return owners

    def check_writer_keys(self, nodes, view, rf, label, unavailable_shard=None):
        """The writer is paused. Every writer key, read with the writer's context from
        every node: its last acknowledged value (or the unacknowledged write after it).
        With unavailable_shard, 503 is allowed for keys of that shard (or of unknown
        shard). Returns ({shard: live acknowledged keys}, keys whose only write is
        unacknowledged)."""
        hist = self.writer.snapshot()
        ctx = self.writer.ctx
        body = {"causal-context": ctx} if ctx is not None else None
        problems = []
        owned = collections.Counter()
        pending_only = 0
        for k, atts in hist.items():
            acked = [a for a in atts if a["status"] in OK_WRITE]
            last = acked[-1]["value"] if acked else None
            pending = atts[-1]["value"] if atts[-1]["status"] not in OK_WRITE else None
            allowed = {v for v in (last, pending) if v is not None}
            if last is None:
                pending_only += 1
            sids = set()
            for a in nodes:
                st, js, raw = get_json(a, keypath(k), body, timeout=WRITE_TIMEOUT)
                if st == 200 and isinstance(js, dict) and js.get("value") in allowed:
                    served = js.get("address", a)
                    if served in view:
                        sids.add(shard_of(view, rf, served))
                    continue
                if st == 404 and last is None:
                    continue
                if st == 503 and unavailable_shard is not None and \
                        self.writer_owner.get(k) in (unavailable_shard, None):
                    continue
                older = [a2["value"] for a2 in acked[:-1]]
                why = ("an OLDER acknowledged value: the last acknowledged write is lost"
                       if isinstance(js, dict) and js.get("value") in older else "unexpected")
                problems.append("writer key %s at %s (ctx): %s %r, want %r (%s); history %s"
                                % (k, a, st, raw, sorted(allowed), why,
                                   [(x["value"], x["status"], x["addr"], x["phase"])
                                    for x in atts[-3:]]))
            if len(sids) > 1:
                problems.append("writer key %s answered as owned by shards %s" % (k, sids))
            elif len(sids) == 1:
                sid = sids.pop()
                if unavailable_shard is None:
                    self.writer_owner[k] = sid
                if last is not None:
                    owned[sid] += 1
        self.assertEqual(problems, [], "%s: %d problems reading writer keys:\n%s"
                         % (label, len(problems), "\n".join(problems[:15])))
        return owned, pending_only

    def check_counts(self, view, rf, base_owners, writer_owned, pending_only, label):
        """Poll: the replicas of each shard report the same key-count, within
        [base + acknowledged writer keys, + keys whose only write was not acknowledged]."""
        groups = shard_groups(view, rf)
        base = collections.Counter(base_owners.values())

        def counts_ok():
            got = {}
            for a in view:
                st, js, raw = get_json(a, "/kv-store/key-count")
                if st != 200 or not isinstance(js, dict):
                    raise AssertionError("key-count at %s: %s %r" % (a, st, raw))
                if js.get("shard-id") != shard_of(view, rf, a):
                    raise AssertionError("key-count at %s: shard-id %r, want %d"
                                         % (a, js.get("shard-id"), shard_of(view, rf, a)))
                got[a] = js.get("key-count")
            for sid, g in enumerate(groups, 1):
                vals = {got[a] for a in g}
                lo = base[sid] + writer_owned[sid]
                if len(vals) != 1 or not (lo <= min(vals) and max(vals) <= lo + pending_only):
                    raise AssertionError("shard %d counts %r, want one value in [%d, %d]"
                                         % (sid, {a: got[a] for a in g}, lo, lo + pending_only))
            return got

        poll(counts_ok, 10, msg="%s: key counts" % label)

    def check_reply(self, js, raw, view, rf, lo, hi, label):
        self.assertIsInstance(js, dict, raw)
        self.assertEqual(js.get("message"), "View change successful", raw)
        self.assertIsInstance(js.get("causal-context"), dict, raw)
        shards = js.get("shards")
        self.assertIsInstance(shards, list, raw)
        self.assertEqual([s.get("shard-id") for s in shards],
                         list(range(1, len(view) // rf + 1)), "shard ids: %s" % raw)
        self.assertEqual([s.get("replicas") for s in shards], shard_groups(view, rf),
                         "replicas: %s" % raw)
        counts = [s.get("key-count") for s in shards]
        self.assertTrue(all(isinstance(c, int) and not isinstance(c, bool) for c in counts), raw)
        for f in ("moved-keys", "duration-ms"):
            self.assertIsInstance(js.get(f), int, "%s missing: %s" % (f, raw))
        total = sum(counts)
        self.assertTrue(NBASE + lo <= total <= NBASE + hi,
                        "%s: key counts %r sum to %d, live keys were between %d and %d"
                        % (label, counts, total, NBASE + lo, NBASE + hi))
        return counts, total

    def change(self, label, coordinator, view_field, new_view, rf, removed=()):
        """Run one view change with the writer going, then check everything."""
        w = self.writer
        old_view = list(self.view)
        # a context from before the change: a write just before it
        sess = Session(old_view, name="pre-" + label, rng=self.rng)
        probe = self.rng.choice(sorted(self.model))
        v = self.next_value(probe)
        st, pj = sess.put(probe, v)
        self.assertEqual(st, 200, "pre-change write: %r" % (pj,))
        self.model[probe] = v
        old_ctx = sess.ctx
        old_owner = dict(self.owner)

        w.set_phase(label)
        t_send = time.monotonic()
        st, js, _, raw = self.vc(coordinator, {"view": view_field, "repl-factor": rf})
        t_reply = time.monotonic()
        if st != 200:
            self.fail("%s: PUT %s at %s %r -> %s %r"
                      % (label, VC_PATH, coordinator, {"view": view_field, "repl-factor": rf},
                         st, raw))
        self.view, self.rf = list(new_view), rf
        self.removed = list(removed)
        w.set_targets(list(new_view) + list(removed), label + " (after)")
        lo, hi = w.key_bounds(t_send, t_reply)
        inflight = w.overlapping(t_send, t_reply)
        counts, total = self.check_reply(js, raw, new_view, rf, lo, hi, label)
        self.changes.append("%s: %.0f ms (reply says %s), moved-keys %s of %d, counts %s, "
                            "writer writes in flight during it %s"
                            % (label, (t_reply - t_send) * 1000, js.get("duration-ms"),
                               js.get("moved-keys"), total, counts, dict(inflight)))
        self.assertGreater(sum(inflight.values()), 0, "the writer was not writing during it")

        # every base key readable from every node right after the commit
        owners = self.check_base_keys(new_view, new_view, rf, removed, label)
        self.owner = owners
        base = collections.Counter(owners.values())
        for sid, c in enumerate(counts, 1):
            self.assertGreaterEqual(c, base[sid], "%s: shard %d reports %d keys but holds "
                                    "%d base keys" % (label, sid, c, base[sid]))
        if old_owner:
            changed = sum(1 for k in owners if old_owner.get(k) != owners[k])
            self.assertLessEqual(changed, js["moved-keys"],
                                 "%s: %d base keys changed shard, moved-keys %d"
                                 % (label, changed, js["moved-keys"]))

        # a context from before the change never blocks
        slow = []
        for a in new_view:
            t0 = time.monotonic()
            st, gj, raw2 = get_json(a, keypath(probe), {"causal-context": old_ctx})
            dt = time.monotonic() - t0
            if st != 200 or not isinstance(gj, dict) or gj.get("value") != self.model[probe] \
                    or dt >= 1.0:
                slow.append("GET %s at %s with pre-change context %r: %s %r in %.2fs"
                            % (probe, a, old_ctx, st, raw2, dt))
        self.assertEqual(slow, [], "\n".join(slow))

        # quiesce the writer: its keys, counts, shard info
        w.pause()
        try:
            owned, pending_only = self.check_writer_keys(new_view, new_view, rf, label)
            self.check_counts(new_view, rf, owners, owned, pending_only, label)
            self.assert_state_everywhere(new_view, new_view, rf, label)
        finally:
            w.resume()
        self.assert_no_writer_failures()
        self.update_base_keys(10, new_view, label)
        return js, old_owner, owners

    def start_new_nodes(self):
        """Start the two extra nodes with the grown view (README: start new nodes first);
        return that view."""
        new_view = self.orig + self.extra_addrs
        for addr in self.extra_addrs:
            self.cluster.start_extra(addr, new_view, 2)
        return new_view

    def writer_lost_nothing(self):
        """The end of every test: the writer, paused, reads back its last acknowledged
        value of every key from every live member."""
        self.writer.pause()
        try:
            nodes = self.members()
            self.check_writer_keys(nodes, self.view, self.rf, "final writer check")
            self.assert_no_writer_failures()
            hist = self.writer.snapshot()
            acked = sum(1 for atts in hist.values() for a in atts if a["status"] in OK_WRITE)
            log("writer: %d keys, %d acknowledged writes, statuses %s"
                % (len(hist), acked, dict(self.writer.stats)))
            self.assertGreater(acked, 0)
        finally:
            self.writer.resume()


class ViewChanges(ViewChangeCase):
    def test_1_invalid_bodies(self):
        self.start(self.orig, 2)
        a = self.view
        self.assert_state_everywhere(a, a, self.rf, "before")
        cases = [
            ("empty view (list)", {"view": [], "repl-factor": 2}, ("empty",)),
            ("empty view (string)", {"view": "", "repl-factor": 2}, ("empty",)),
            ("rf 0", {"view": a, "repl-factor": 0}, ("repl",)),
            ("rf negative", {"view": a, "repl-factor": -2}, ("repl",)),
            ("rf not an integer (1.5)", {"view": a, "repl-factor": 1.5}, ("repl", "parse")),
            ("rf not an integer (\"two\")", {"view": a, "repl-factor": "two"}, ("repl", "parse")),
            ("rf not an integer (true)", {"view": a, "repl-factor": True}, ("repl", "parse")),
            ("rf not an integer (list)", {"view": a, "repl-factor": [2]}, ("repl", "parse")),
            ("rf missing", {"view": a}, ("repl",)),
            ("view missing", {"repl-factor": 2}, ("view",)),
            ("n not a multiple of rf", {"view": a[:3], "repl-factor": 2}, ("multiple",)),
            ("rf larger than n", {"view": a, "repl-factor": 8}, ("multiple",)),
            ("duplicate members", {"view": [a[0], a[1], a[0], a[1]], "repl-factor": 2},
             ("duplicate",)),
            ("duplicate members (string)", {"view": "%s,%s,%s,%s" % (a[0], a[1], a[2], a[1]),
                                            "repl-factor": 2}, ("duplicate",)),
            ("unparsable member", {"view": a[:3] + ["nonsense"], "repl-factor": 2},
             ("nonsense",)),
            ("unparsable member (port)", {"view": a[:3] + ["127.0.0.83:99999"], "repl-factor": 2},
             ("99999",)),
            ("unparsable member (no port)", {"view": a[:3] + ["127.0.0.83"], "repl-factor": 2},
             ("127.0.0.83",)),
            ("member not a string", {"view": [a[0], 7, a[2], a[3]], "repl-factor": 2},
             ("member", "parse")),
            ("view not a list or string", {"view": 5, "repl-factor": 2}, ("view", "parse")),
            ("body not JSON", "{view: [", ("parse",)),
            ("body a JSON list", [a, 2], ("parse", "object")),
            ("no body", None, ("parse", "missing", "object")),
        ]
        bad = []
        for i, (name, body, words) in enumerate(cases):
            coord = a[i % len(a)]
            st, js, _, raw = self.vc(coord, body, timeout=10)
            err = js.get("error") if isinstance(js, dict) else None
            if st != 400:
                bad.append("%s: %r at %s -> %s %r, want 400" % (name, body, coord, st, raw))
            elif not isinstance(err, str) or not any(w in err.lower() for w in words) or \
                    js.get("message") != "Error in PUT" or \
                    not isinstance(js.get("causal-context"), dict):
                bad.append("%s: %r -> 400 %r: the error should name the problem (one of %r)"
                           % (name, body, raw, words))
        # nothing changed: the same view everywhere, writes are not paused, keys readable
        self.assert_state_everywhere(a, a, self.rf, "after invalid bodies")
        # one key per node (two context-less writes of one key at two nodes would be
        # concurrent, and either may win)
        for addr, k in zip(a, self.rng.sample(sorted(self.model), len(a))):
            v = self.next_value(k)
            t0 = time.monotonic()
            st, js, _, raw = request(addr, "PUT", keypath(k), {"value": v}, timeout=10)
            self.assertEqual(st, 200, "write at %s after invalid view changes: %r" % (addr, raw))
            self.assertLess(time.monotonic() - t0, CAUSAL_TIMEOUT, "write paused at %s" % addr)
            self.model[k] = v
        self.assertEqual(bad, [], "invalid view-change bodies:\n" + "\n".join(bad))
        # ownership as seen before any change (for the moved-keys check of the grow);
        # replication of the writes above is asynchronous: poll
        self.owner = poll(lambda: self.check_base_keys(a, a, self.rf, [], "initial"), 10,
                          msg="initial base keys")
        self.assert_no_writer_failures()
        self.writer_lost_nothing()

    def test_2_grow(self):
        self.start(self.orig, 2)
        new_view = self.start_new_nodes()
        js, old_owner, owners = self.change("grow 4->6 nodes rf 2", self.orig[1], new_view,
                                            new_view, 2)
        self.assertEqual(len(js["shards"]), 3)
        total = sum(s["key-count"] for s in js["shards"])
        frac = js["moved-keys"] / float(total)
        self.assertLessEqual(frac, 1 / 3.0 + 0.1,
                             "moved-keys %d of %d keys" % (js["moved-keys"], total))
        if old_owner:
            changed = sum(1 for k in owners if old_owner.get(k) != owners[k])
            self.assertLessEqual(changed / float(NBASE), 1 / 3.0 + 0.1,
                                 "%d of %d base keys changed shard" % (changed, NBASE))
            wrong = [k for k in owners if old_owner.get(k) != owners[k] and owners[k] != 3]
            log("grow: %d base keys changed shard, %d to a shard other than the new one"
                % (changed, len(wrong)))
        self.writer_lost_nothing()

    def test_3_rf3_comma_string(self):
        self.start(self.orig + self.extra_addrs, 2)
        view = list(self.view)
        js, _, _ = self.change("rf 2->3, view as a comma string", self.extra_addrs[0],
                               ",".join(view), view, 3)
        self.assertEqual(len(js["shards"]), 2)
        self.writer_lost_nothing()

    def reordered(self):
        o, e = self.orig, self.extra_addrs
        return [e[1], o[2], o[0], e[0], o[3], o[1]]

    def test_4_reorder(self):
        self.start(self.orig + self.extra_addrs, 3)
        view = self.reordered()
        self.assertNotEqual(view, self.view)
        self.change("reorder the view", self.orig[3], view, view, 3)
        self.writer_lost_nothing()

    def test_5_identical_view(self):
        self.start(self.reordered(), 3)
        view = list(self.view)
        js, old_owner, owners = self.change("identical view", self.view[0], view, view, self.rf)
        moved = [k for k in owners if old_owner.get(k) != owners[k]]
        self.assertEqual(moved, [], "an identical view moved keys")
        self.writer_lost_nothing()

    def test_6_shrink(self):
        self.start(self.reordered(), 3)
        view = list(self.orig)
        removed = list(self.extra_addrs)
        # coordinated by a node that the change removes
        self.change("shrink 6->4 nodes rf 2", removed[1], view, view, 2, removed=removed)

        # removed nodes never answer with a stale value: update keys through members, then
        # read through the removed nodes, with the writer's context and without
        s = Session(view, name="after-shrink", rng=self.rng)
        keys = self.rng.sample(sorted(self.model), 20)
        for k in keys:
            v = self.next_value(k)
            st, js = s.put(k, v)
            self.assertEqual(st, 200, "update %s: %r" % (k, js))
            self.model[k] = v
        stale = []
        errors = collections.Counter()
        for a in removed:
            for k in keys:
                st, js, raw = get_json(a, keypath(k), {"causal-context": s.ctx})
                if st == 200 and isinstance(js, dict) and js.get("value") == self.model[k] \
                        and js.get("address") in view:
                    continue
                if st not in (200, 404):
                    errors[st] += 1
                    continue
                stale.append("removed %s: GET %s with a context covering the update -> %s %r, "
                             "current %r" % (a, k, st, raw, self.model[k]))
        self.assertEqual(stale, [], "\n".join(stale))
        # once the members have converged, reads without context too
        poll(lambda: self.check_base_keys(view, view, 2, removed, "shrink, after updates", keys),
             10, msg="base keys after updates, removed nodes included")
        if errors:
            log("removed nodes answered errors %s" % dict(errors))

        # a removed node cannot coordinate a change: 400, nothing changes
        st, js, _, raw = self.vc(removed[0], {"view": view, "repl-factor": 2}, timeout=10)
        self.assertEqual(st, 400, "view change sent to a removed node: %s %r" % (st, raw))
        self.assertIn("member", (js or {}).get("error", ""), raw)
        self.assert_state_everywhere(view, view, 2, "after a change sent to a removed node")
        self.writer_lost_nothing()

    def test_7_concurrent_changes(self):
        self.start(self.orig, 2)
        v = list(self.view)
        cands = {"A": (v[0], [v[1], v[0], v[3], v[2]]), "B": (v[3], [v[2], v[3], v[0], v[1]])}
        results = {}

        def go(name):
            coord, view = cands[name]
            try:
                results[name] = self.vc(coord, {"view": view, "repl-factor": 2})
            except Exception as e:  # reported below
                results[name] = (None, None, None, repr(e).encode())

        self.writer.set_phase("concurrent changes")
        loadgen.Parallel(go, list(cands), together=True, barrier_timeout=5).start().join(
            VC_TIMEOUT + 5)
        summary = {n: (r[0], r[3]) for n, r in results.items()}
        self.changes.append("concurrent changes: %r" % (summary,))
        self.assertEqual(sorted(results), ["A", "B"], summary)
        for n, (st, js, _, raw) in results.items():
            self.assertIn(st, (200, 503), "change %s: %r" % (n, summary))
            if st == 503:
                self.assertTrue(isinstance(js, dict) and str(js.get("error", ""))
                                .startswith("View change failed"), "change %s: %r" % (n, raw))
        committed = [n for n, r in results.items() if r[0] == 200]
        self.assertLessEqual(len(committed), 1, "both concurrent changes committed: %r"
                             % (summary,))
        if not committed:
            # allowed (at most one commits), but the aborts must leave nothing behind:
            # the same change, alone, now commits
            log("concurrent changes: both refused (allowed: at most one commits); "
                "retrying A alone")
            coord, view = cands["A"]
            st, js, _, raw = self.vc(coord, {"view": view, "repl-factor": 2})
            self.changes.append("after both concurrent changes were refused, A alone: %s %r"
                                % (st, raw))
            self.assertEqual(st, 200, "change A alone after both were refused: %r" % raw)
            committed = ["A"]
        new_view = cands[committed[0]][1]
        self.writer.set_targets(new_view + list(self.removed), "after concurrent changes")
        self.view = list(new_view)
        self.assert_state_everywhere(new_view, new_view, 2, "after concurrent changes")
        owners = self.check_base_keys(new_view, new_view, 2, self.removed,
                                      "after concurrent changes")
        self.owner = owners
        self.writer.pause()
        try:
            owned, pending_only = self.check_writer_keys(new_view, new_view, 2, "concurrent")
            self.check_counts(new_view, 2, owners, owned, pending_only, "concurrent")
        finally:
            self.writer.resume()
        self.update_base_keys(10, new_view, "concurrent")
        self.writer_lost_nothing()

    def test_8_writer_lost_nothing(self):
        # one writer history across two consecutive changes (grow, then shrink back,
        # coordinated by a member that stays), checked once at the end
        self.start(self.orig, 2)
        new_view = self.start_new_nodes()
        self.change("grow 4->6 nodes rf 2", self.orig[0], new_view, new_view, 2)
        self.change("shrink 6->4 nodes rf 2", self.orig[2], self.orig, self.orig, 2,
                    removed=self.extra_addrs)
        self.writer_lost_nothing()

    def test_9_old_shard_down(self):
        self.start(self.orig, 2)
        view, rf = list(self.view), self.rf
        groups = shard_groups(view, rf)
        up, down = groups[0], groups[1]
        self.writer.set_targets(up + list(self.removed), "shard 2 down")
        for a in down:
            self.cluster.kill(a)
        self.dead = list(down)
        # the new view leaves the dead shard out, so its keys would be lost: refused
        attempts = [(up[0], {"view": up, "repl-factor": 2}),
                    (up[1], {"view": view, "repl-factor": 2})]
        for coord, body in attempts:
            t0 = time.monotonic()
            st, js, _, raw = self.vc(coord, body)
            self.changes.append("old shard down: %r at %s -> %s %r in %.0f ms"
                                % (body, coord, st, raw, (time.monotonic() - t0) * 1000))
            self.assertEqual(st, 503, "change with shard 2 down: %r -> %s %r" % (body, st, raw))
            self.assertTrue(isinstance(js, dict) and
                            str(js.get("error", "")).startswith("View change failed: "), raw)
            self.assertIsInstance(js.get("causal-context"), dict, raw)

        # the old view stays, and still serves shard 1 (shard 2's info is unavailable)
        for a in up:
            st, js, raw = get_json(a, "/kv-store/shards")
            self.assertEqual((st, (js or {}).get("shards")), (200, [1, 2]),
                             "GET /kv-store/shards at %s after the refused change: %r" % (a, raw))
            st, js, raw = get_json(a, "/kv-store/shards/1")
            self.assertEqual((st, (js or {}).get("replicas")), (200, up),
                             "GET /kv-store/shards/1 at %s after the refused change: %r" % (a, raw))
            st, js, raw = get_json(a, "/kv-store/shards/2")
            self.assertIn(st, (200, 503), "GET /kv-store/shards/2 at %s: %r" % (a, raw))
            if st == 200:
                self.assertEqual(js.get("replicas"), down, raw)
        mine = sorted(k for k, sid in self.owner.items() if sid == 1)
        theirs = sorted(k for k, sid in self.owner.items() if sid == 2)
        self.assertTrue(mine and theirs)
        self.check_base_keys(up, view, rf, [], "shard 2 down", mine)
        for k in theirs[:3]:
            st, js, raw = get_json(up[0], keypath(k))
            self.assertEqual(st, 503, "GET %s of the dead shard: %s %r" % (k, st, raw))
        s = Session(up, name="shard1-writes", rng=self.rng)
        for addr in up:
            k = self.rng.choice(mine)
            v = self.next_value(k)
            t0 = time.monotonic()
            st, js = s.put(k, v, addr=addr)
            self.assertEqual(st, 200, "write to shard 1 at %s after the refused change: %r"
                             % (addr, js))
            self.assertLess(time.monotonic() - t0, CAUSAL_TIMEOUT,
                            "write to shard 1 at %s paused after the refused change" % addr)
            self.model[k] = v
        self.writer.pause()
        try:
            self.check_writer_keys(up, view, rf, "shard 2 down", unavailable_shard=2)
        finally:
            self.writer.resume()
        self.assert_no_writer_failures()


if __name__ == "__main__":
    unittest.main(verbosity=2)
