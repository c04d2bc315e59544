"""Unit tests of the fault-run checker on hand-made histories (python3 -m unittest)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402


class H:
    """Builds a history. Ops are atomic and sequential unless t0/t1 are given."""

    def __init__(self):
        self.ops = []
        self.t = 0.0

    def op(self, client, kind, key, value=None, status=None, outcome=None, session="",
           t0=None, t1=None, ctx_sent=None, ctx_recv=None, node="n1", partial=False):
        if status is None and outcome is None:
            status = {"put": 200, "get": 200 if value is not None else 404, "delete": 200}[kind]
        if outcome is None:
            ok = {"put": (200, 201), "get": (200, 404), "delete": (200, 404)}[kind]
            outcome = "ok" if status in ok else "info"
        if t0 is None:
            self.t += 1
            t0 = self.t
        if t1 is None:
            self.t += 1
            t1 = self.t
        if kind == "delete" and value is None:
            value = "del%d" % len(self.ops)
        o = {"i": len(self.ops), "client": client,
             "session": (client + ".1") if session == "" else session, "kind": kind,
             "key": key, "value": value, "node": node, "served": node, "t0": t0, "t1": t1,
             "status": status, "outcome": outcome, "error": None,
             "ctx_sent": ctx_sent, "ctx_recv": ctx_recv, "partial": partial}
        self.ops.append(o)
        return o

    def put(self, c, k, v, status=200, **kw):
        return self.op(c, "put", k, v, status, **kw)

    def get(self, c, k, v, **kw):
        return self.op(c, "get", k, v, **kw)

    def delete(self, c, k, status=200, **kw):
        return self.op(c, "delete", k, None, status, **kw)

    def causal(self):
        v, _ = checker.check_causal(self.ops)
        return v

    def kinds(self):
        return sorted(x.kind for x in self.causal())


class CausalRules(unittest.TestCase):
    def test_clean_history_passes(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.get("b", "x", "a1")
        h.put("b", "x", "b1")
        h.get("a", "x", "b1")
        h.delete("a", "x")
        h.get("b", "x", None)
        self.assertEqual(h.causal(), [])

    def test_write_that_found_the_past_is_flagged(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2", 201)  # "added": the key was missing, after a's own write
        self.assertEqual(h.kinds(), ["causal"])

    def test_write_without_the_history_is_no_observation(self):
        # accepted by a replica that lacked a1 ("partial-history"): its 201 and the
        # delete's doesExist=false say what that replica held, not what a saw
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2", 201, partial=True)
        h.get("a", "x", "a2")
        h.delete("a", "x", 200, partial=True)
        h.get("a", "x", None)
        h.get("b", "x", None)
        self.assertEqual(h.causal(), [])

    def test_read_your_writes_missing(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.get("a", "x", None)
        self.assertEqual(h.kinds(), ["causal"])

    def test_read_your_writes_older_value(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2")
        h.get("a", "x", "a1")
        v = h.causal()
        self.assertEqual(len(v), 1, v)
        self.assertIn("a1", v[0].message)

    def test_monotonic_reads(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2")
        h.get("b", "x", "a2")
        h.get("b", "x", "a1")
        self.assertEqual(h.kinds(), ["causal"])

    def test_writes_follow_reads_across_keys(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "y", "a2", 201)   # y depends on x=a1 (monotonic writes)
        h.get("b", "y", "a2")
        h.get("b", "x", None)        # b saw y=a2, so x=a1 or newer
        self.assertEqual(h.kinds(), ["causal"])

    def test_writes_follow_reads_transitive(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.get("b", "x", "a1")
        h.put("b", "y", "b1", 201)   # b1 depends on x=a1
        h.get("c", "y", "b1")
        h.get("c", "x", None)
        self.assertEqual(h.kinds(), ["causal"])

    def test_concurrent_writes_either_order(self):
        h = H()
        h.put("a", "x", "a1", 201, t0=1, t1=5)
        h.put("b", "x", "b1", 201, t0=2, t1=6)
        h.get("c", "x", "b1", t0=7, t1=8)
        h.get("c", "x", "a1", t0=9, t1=10)  # not causally older than b1
        self.assertEqual(h.causal(), [])

    def test_indeterminate_write_not_in_own_context(self):
        h = H()
        h.put("a", "x", "a1", 503)
        h.get("a", "x", None)
        self.assertEqual(h.causal(), [])

    def test_indeterminate_write_seen_by_reader(self):
        h = H()
        h.put("a", "x", "a1", None, outcome="info")  # timed out
        h.get("b", "x", "a1")
        h.get("b", "x", None)
        self.assertEqual(h.kinds(), ["causal"])

    def test_indeterminate_write_may_be_read_by_its_client(self):
        h = H()
        h.put("a", "x", "a1", 503)
        h.get("a", "x", "a1")
        self.assertEqual(h.causal(), [])

    def test_client_without_context_has_no_guarantee(self):
        h = H()
        h.put("nc", "x", "n1", 201, session=None)
        h.get("nc", "x", None, session=None)
        self.assertEqual(h.causal(), [])

    def test_but_its_writes_count_for_readers(self):
        h = H()
        h.put("nc", "x", "n1", 201, session=None)
        h.get("b", "x", "n1")
        h.get("b", "x", None)
        self.assertEqual(h.kinds(), ["causal"])

    def test_fresh_session_forgets(self):
        h = H()
        h.put("a", "x", "a1", 201, session="a.1")
        h.get("a", "x", None, session="a.2")
        self.assertEqual(h.causal(), [])

    def test_delete_then_read_old_value(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.delete("a", "x")
        h.get("a", "x", "a1")
        self.assertEqual(h.kinds(), ["causal"])

    def test_delete_then_missing_is_fine(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.delete("a", "x")
        h.get("a", "x", None)
        h.get("b", "x", None)
        self.assertEqual(h.causal(), [])

    def test_put_reporting_added_after_own_write(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2", 201)  # 201: the key was missing, but a1 was there
        self.assertEqual(h.kinds(), ["causal"])

    def test_put_reporting_replaced_after_own_delete(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.delete("a", "x")
        h.put("a", "x", "a2", 200)  # replaced a live value: only a1, older than the delete
        self.assertEqual(h.kinds(), ["causal"])

    def test_delete_404_after_own_write(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.delete("a", "x", 404)
        self.assertEqual(h.kinds(), ["causal"])

    def test_unknown_value(self):
        h = H()
        h.get("a", "x", "zzz")
        self.assertEqual(h.kinds(), ["unknown-value"])

    def test_refused_write_cannot_be_read(self):
        h = H()
        h.put("a", "x", "a1", None, outcome="fail")
        h.get("b", "x", "a1")
        self.assertEqual(h.kinds(), ["unknown-value"])

    def test_value_of_another_key(self):
        h = H()
        h.put("a", "y", "a1", 201)
        h.get("b", "x", "a1")
        self.assertEqual(h.kinds(), ["unknown-value"])

    def test_future_read(self):
        h = H()
        h.get("b", "x", "a1", t0=1, t1=2)
        h.put("a", "x", "a1", 201, t0=3, t1=4)
        self.assertEqual(h.kinds(), ["unknown-value"])

    def test_concurrent_read_of_in_flight_write(self):
        h = H()
        h.put("a", "x", "a1", 201, t0=1, t1=10)
        h.get("b", "x", "a1", t0=2, t1=3)
        self.assertEqual(h.causal(), [])

    def test_across_view_change_is_tagged(self):
        h = H()
        h.put("a", "x", "a1", 201, ctx_recv={"epoch": 0, "clock": {"n1": 1}})
        h.get("a", "x", None, ctx_recv={"epoch": 1, "clock": {}})
        v = h.causal()
        self.assertEqual(len(v), 1)
        self.assertIn("across a view change", v[0].message)

    def test_exempt_write_is_no_evidence(self):
        h = H()
        w = h.put("a", "x", "a1", 201)
        h.get("a", "x", None)
        v, _ = checker.check_causal(h.ops, exempt={w["i"]})
        self.assertEqual(v, [])

    def test_overlapping_ops_in_a_session_are_malformed(self):
        h = H()
        h.put("a", "x", "a1", 201, t0=1, t1=5)
        h.get("a", "x", None, t0=2, t1=3)
        with self.assertRaises(ValueError):
            h.causal()


class Contexts(unittest.TestCase):
    def test_smaller_reply_context(self):
        h = H()
        h.get("a", "x", None, ctx_sent={"epoch": 0, "clock": {"n1": 3}},
              ctx_recv={"epoch": 0, "clock": {"n1": 2}})
        self.assertEqual([v.kind for v in checker.check_contexts(h.ops)], ["context"])

    def test_newer_epoch_dominates(self):
        h = H()
        h.get("a", "x", None, ctx_sent={"epoch": 0, "clock": {"n1": 3}},
              ctx_recv={"epoch": 1, "clock": {}})
        self.assertEqual(checker.check_contexts(h.ops), [])

    def test_older_epoch_is_smaller(self):
        h = H()
        h.get("a", "x", None, ctx_sent={"epoch": 2, "clock": {}},
              ctx_recv={"epoch": 1, "clock": {"n1": 9}})
        self.assertEqual(len(checker.check_contexts(h.ops)), 1)

    def test_failed_replies_are_not_judged(self):
        h = H()
        h.put("a", "x", "a1", 503, ctx_sent={"epoch": 0, "clock": {"n1": 3}},
              ctx_recv={"epoch": 0, "clock": {}})
        self.assertEqual(checker.check_contexts(h.ops), [])

    def test_empty_sent(self):
        self.assertEqual(checker.ctx_ge_why({"epoch": 0, "clock": {}}, None), "")
        self.assertEqual(checker.ctx_ge_why({"epoch": 0, "clock": {}}, ""), "")
        self.assertNotEqual(checker.ctx_ge_why(None, {"epoch": 0, "clock": {"a": 1}}), "")


class FinalState(unittest.TestCase):
    def final(self, h, final, exempt=()):
        _, m = checker.check_causal(h.ops)
        return [v.kind for v in checker.check_final(m, final, exempt)]

    def test_lost_overwrite(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2")
        self.assertEqual(self.final(h, {"x": ["a1"]}), ["lost"])
        self.assertEqual(self.final(h, {"x": ["a2"]}), [])
        self.assertEqual(self.final(h, {"x": [None]}), ["lost"])

    def test_lost_across_sessions(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.get("b", "x", "a1")
        h.put("b", "x", "b1")
        self.assertEqual(self.final(h, {"x": ["a1"]}), ["lost"])

    def test_concurrent_loser_is_not_lost(self):
        h = H()
        h.put("a", "x", "a1", 201, t0=1, t1=5)
        h.put("b", "x", "b1", 201, t0=2, t1=6)
        self.assertEqual(self.final(h, {"x": ["a1"]}), [])
        self.assertEqual(self.final(h, {"x": ["b1"]}), [])

    def test_reverted_delete(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.delete("a", "x")
        self.assertEqual(self.final(h, {"x": ["a1"]}), ["lost"])
        self.assertEqual(self.final(h, {"x": [None]}), [])

    def test_delete_concurrent_with_put_explains_missing(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("a", "x", "a2", t0=10, t1=14)
        h.delete("b", "x", t0=11, t1=12)
        self.assertEqual(self.final(h, {"x": [None]}), [])

    def test_exempt_write(self):
        h = H()
        h.put("a", "x", "a1", 201)
        w = h.put("a", "x", "a2")
        self.assertEqual(self.final(h, {"x": ["a1"]}, exempt={w["i"]}), [])

    def test_indeterminate_may_win(self):
        h = H()
        h.put("a", "x", "a1", 201)
        h.put("b", "x", "b1", None, outcome="info")
        self.assertEqual(self.final(h, {"x": ["b1"]}), [])

    def test_never_written_key_missing(self):
        self.assertEqual(self.final(H(), {"x": [None]}), [])

    def test_final_unknown_value(self):
        self.assertEqual(self.final(H(), {"x": ["zz"]}), ["unknown-value"])


class Divergence(unittest.TestCase):
    def test_agree(self):
        self.assertEqual(checker.check_divergence(
            {"x": {"n1": ("v", "a"), "n2": ("v", "a")}, "y": {"n1": ("missing",),
                                                             "n2": ("missing",)}}), [])

    def test_disagree(self):
        v = checker.check_divergence({"x": {"n1": ("v", "a"), "n2": ("missing",)}})
        self.assertEqual([x.kind for x in v], ["divergence"])

    def test_unavailable(self):
        v = checker.check_divergence({"x": {"n1": ("v", "a"), "n2": ("error", "503")}})
        self.assertEqual([x.kind for x in v], ["unavailable"])


class Latency(unittest.TestCase):
    def test_slow_when_reachable(self):
        h = H()
        h.get("a", "x", None, t0=0, t1=4)
        h.get("a", "x", None, t0=5, t1=5.5)
        self.assertEqual(len(checker.check_latency(h.ops, 3.0, lambda n, a, b: False)), 1)
        self.assertEqual(checker.check_latency(h.ops, 3.0, lambda n, a, b: True), [])


class Logs(unittest.TestCase):
    def test_scan(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".log") as f:
            f.write("2024-01-01T00:00:00Z INFO started\n"
                    "2024-01-01T00:00:01Z ERROR peer 10.0.0.1 blew up\n"
                    "==1==ERROR: AddressSanitizer: heap-use-after-free on address\n")
        try:
            san, err = checker.scan_log(f.name)
            self.assertEqual(len(san), 1)
            self.assertEqual(len(err), 1)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main(verbosity=1)
