"""checker — judges a recorded fault-run history of causalkv (python3 standard library).

An operation is a dict (the workload writes them as JSON lines):

    i        position in the history           client   worker name ("c3")
    session  causal session ("c3.2"); None = the client sends no context (every op of
             such a client is a session of its own, with no guarantee to check)
    kind     "put" | "get" | "delete"          key      the key
    value    put: the (unique) value written; get: the value read (None = 404);
             delete: a unique id of this delete
    node     the node the request was sent to  served   the node that served it
             (the reply's "address", else node)
    t0, t1   invoke / complete (seconds, one monotonic clock)
    status   HTTP status or None (no reply)    error    text of a client-side error
    outcome  "ok": a definite answer (PUT 200/201, GET/DELETE 200/404)
             "fail": definitely not applied (the connection was refused)
             "info": indeterminate (503, other 5xx, timeout, reset): a write may or
                     may not have taken effect; a read says nothing
    ctx_sent, ctx_recv   the causal contexts sent and received (None = none)

Model (sound for causal+ with last-writer-wins): every put and every delete that found a
live key is a write unless its outcome is "fail". A write w has a causal past, past(w):
what its session had seen when it invoked w. What a session has seen, seen(s), is its
own acknowledged writes, every write it read, and the pasts of those (transitively). A
write with an indeterminate outcome is never in its own session's seen set (the session
never got the reply's context), but it is in the seen set of whoever reads it.

An observation of key k by session s (a get's answer; the state a put/delete replaced,
given by 201 vs 200 and 404 vs 200) is a violation when it is strictly older than some
write on k that s has seen (it lies in that write's causal past). That covers
read-your-writes, monotonic reads, monotonic writes and writes-follow-reads, across keys
and shards. Concurrent writes are never judged against each other (either may win).
A "missing" answer is explained by the initial state (older than everything) or by any
delete that was invoked before the answer came back.

Epochs: a context from an older epoch counts as empty, so the store does not wait for
it; but a view change moves every key, so an answer that goes back in causal time across
a view change is still wrong (the change lost or reverted data): such violations are
reported with "(across a view change)" in their text.

Also judged: values never written or written to another key, values read before their
put was invoked, replies whose context is not >= the one sent (a newer epoch dominates),
the final state of every key after healing (lost or reverted acknowledged writes;
replicas that disagree), and request latency against the documented bounds.
"""

import bisect
import re
from dataclasses import dataclass


@dataclass
class Violation:
    kind: str
    index: object  # op index (or key / node for non-op findings)
    message: str

    def __str__(self):
        return "[%s] %s: %s" % (self.kind, self.index, self.message)


# --------------------------------------------------------------------------- contexts


def ctx_epoch(ctx):
    if isinstance(ctx, dict) and isinstance(ctx.get("epoch"), (int, float)):
        return ctx["epoch"]
    return None


def _empty_ctx(c):
    return c is None or c == {} or c == ""


def ctx_ge_why(a, b):
    """'' when context a is >= context b (pointwise on the clock; a newer epoch
    dominates any older one), else why not."""
    if _empty_ctx(b):
        return ""
    if not isinstance(a, dict):
        return "reply context is not an object: %r" % (a,)
    if not isinstance(b, dict):
        return ""
    ea, eb = ctx_epoch(a), ctx_epoch(b)
    if ea is not None and eb is not None and ea != eb:
        return "" if ea > eb else "epoch %r < %r" % (ea, eb)
    ca = a.get("clock") if isinstance(a.get("clock"), dict) else {}
    cb = b.get("clock") if isinstance(b.get("clock"), dict) else {}
    for k, v in cb.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            av = ca.get(k, 0)
            if not isinstance(av, (int, float)) or av < v:
                return "clock[%s] %r < %r" % (k, av, v)
    return ""


def check_contexts(ops):
    out = []
    for op in ops:
        if op.get("outcome") != "ok":
            continue
        why = ctx_ge_why(op.get("ctx_recv"), op.get("ctx_sent"))
        if why:
            out.append(Violation("context", op["i"], "%s %s %r at %s: %s (sent %r, got %r)"
                                 % (op["client"], op["kind"], op["key"], op.get("node"), why,
                                    op.get("ctx_sent"), op.get("ctx_recv"))))
    return out


# --------------------------------------------------------------------------- causal model


class _W:
    __slots__ = ("id", "key", "kind", "sess", "seq", "op", "epoch")

    def __init__(self, wid, key, kind, sess, seq, op):
        self.id, self.key, self.kind, self.sess, self.seq, self.op = wid, key, kind, sess, seq, op
        self.epoch = ctx_epoch(op.get("ctx_recv"))

    def label(self):
        if self.kind == "put":
            return "put %r (op %d by %s)" % (self.id, self.op["i"], self.op["client"])
        return "delete (op %d by %s)" % (self.op["i"], self.op["client"])


class _Seen:
    """A causally closed set of writes: {session: highest own-write seq} + loose ids
    (indeterminate writes, writes of context-less clients)."""
    __slots__ = ("vc", "loose")

    def __init__(self, vc=None, loose=None):
        self.vc = dict(vc or {})
        self.loose = set(loose or ())

    def copy(self):
        return _Seen(self.vc, self.loose)

    def has(self, w):
        if w.seq is None:
            return w.id in self.loose
        return self.vc.get(w.sess, 0) >= w.seq

    def add(self, w):
        if w.seq is None:
            self.loose.add(w.id)
        elif self.vc.get(w.sess, 0) < w.seq:
            self.vc[w.sess] = w.seq

    def merge(self, other):
        for s, n in other.vc.items():
            if self.vc.get(s, 0) < n:
                self.vc[s] = n
        if other.loose:
            self.loose |= other.loose


def _is_write(op):
    if op["kind"] == "get" or op.get("outcome") == "fail":
        return False
    if op["kind"] == "delete" and op.get("outcome") == "ok" and op.get("status") == 404:
        return False
    return True


def _prev(op):
    """What a successful put/delete says it replaced: 'live', 'missing' or None. A write
    accepted by a replica that lacked part of the client's history ("partial-history")
    says what that replica held, which is no observation of the client's view."""
    if op.get("outcome") != "ok" or op.get("partial"):
        return None
    st = op.get("status")
    if op["kind"] == "put":
        return {200: "live", 201: "missing"}.get(st)
    if op["kind"] == "delete":
        return {200: "live", 404: "missing"}.get(st)
    return None


def _session(op):
    s = op.get("session")
    return s if s is not None else "nc#%d" % op["i"]


class Model:
    """The writes of a history and their causal pasts (computed by check_causal)."""

    def __init__(self, ops):
        self.ops = ops
        self.writes = {}       # id -> _W
        self.put_by_value = {}
        self.by_key = {}       # key -> [_W]
        self.of_op = {}        # op index -> _W
        self.sess_key = {}     # (session, key) -> ([seq], [_W]) of acknowledged writes
        self.past = {}         # write id -> _Seen
        self.seen = {}         # session -> _Seen

    def build(self):
        by_sess = {}
        for op in self.ops:
            by_sess.setdefault(_session(op), []).append(op)
        for s, lst in by_sess.items():
            lst.sort(key=lambda o: (o["t0"], o["i"]))
            for a, b in zip(lst, lst[1:]):
                if b["t0"] < a["t1"] and op_has_ctx(a):
                    raise ValueError("session %s: ops %d and %d overlap" % (s, a["i"], b["i"]))
            seq = 0
            for op in lst:
                if not _is_write(op):
                    continue
                if op["kind"] == "put":
                    wid = op["value"]
                    if wid in self.put_by_value:
                        raise ValueError("value %r written twice (ops %d, %d)"
                                         % (wid, self.put_by_value[wid].op["i"], op["i"]))
                else:
                    wid = ("delete", op["i"])
                own = op.get("session") is not None and op.get("outcome") == "ok"
                if own:
                    seq += 1
                w = _W(wid, op["key"], op["kind"], s, seq if own else None, op)
                self.writes[wid] = w
                self.of_op[op["i"]] = w
                if op["kind"] == "put":
                    self.put_by_value[wid] = w
                self.by_key.setdefault(op["key"], []).append(w)
                if own:
                    seqs, ws = self.sess_key.setdefault((s, op["key"]), ([], []))
                    seqs.append(seq)
                    ws.append(w)
            self.seen[s] = _Seen()
        return self

    def past_of(self, w):
        p = self.past.get(w.id)
        if p is None:
            p = self.seen[w.sess].copy()
            self.past[w.id] = p
        return p

    exempt = frozenset()

    def newer_seen(self, sess, key, r):
        """A write on key that session sess has seen and whose past holds r, or None."""
        s = self.seen[sess]
        if not s.has(r):
            return None  # seen sets are causally closed: r in past(x), x seen => r seen
        for s2, n in s.vc.items():
            sk = self.sess_key.get((s2, key))
            if not sk:
                continue
            j = bisect.bisect_right(sk[0], n) - 1
            # pasts grow along a session, so the last write <= n has the largest past
            while j >= 0 and sk[1][j].op["i"] in self.exempt:
                j -= 1
            if j >= 0:
                x = sk[1][j]
                if x is not r and self.past_of(x).has(r):
                    return x
        for x in self.by_key.get(key, ()):
            if x.seq is None and x.id in s.loose and x is not r and \
                    x.op["i"] not in self.exempt and self.past_of(x).has(r):
                return x
        return None


def op_has_ctx(op):
    return op.get("session") is not None


def check_causal(ops, exempt=()):
    """Session-causality violations plus unknown values / wrong keys / future reads.
    exempt: op indices of writes the store may legitimately have lost (see check_final);
    they are not used as evidence that an answer is stale. Returns (violations, model)."""
    m = Model(ops).build()
    m.exempt = frozenset(exempt)
    out = []
    order = sorted(ops, key=lambda o: (o["t1"], o["i"]))

    def across(op, x):
        e_op = ctx_epoch(op.get("ctx_recv"))
        return " (across a view change)" if (x.epoch is not None and e_op is not None
                                             and e_op != x.epoch) else ""

    def observe(op, sess, cands, what):
        """cands: writes (or 'initial'); fine when one is not older than something seen."""
        witness = None
        for r in cands:
            if r == "initial":
                continue
            if r.op is op:
                return True
            x = m.newer_seen(sess, op["key"], r)
            if x is None:
                return True
            witness = witness or (r, x)
        # every candidate is older than some write the session has seen
        if witness is None:
            # only the initial state explains the answer: any seen write on the key is newer
            s = m.seen[sess]
            xs = [x for x in m.by_key.get(op["key"], ()) if s.has(x) and x.op is not op
                  and x.op["i"] not in m.exempt]
            if not xs:
                return True
            x = xs[-1]
            out.append(Violation("causal", op["i"],
                                 "%s %s %r at %s: %s, but the session had seen %s%s"
                                 % (op["client"], op["kind"], op["key"], op.get("node"), what,
                                    x.label(), across(op, x))))
            return False
        r, x = witness
        out.append(Violation("causal", op["i"],
                             "%s %s %r at %s: %s %s, older than %s that the session had "
                             "seen%s" % (op["client"], op["kind"], op["key"], op.get("node"),
                                         what, r.label(), x.label(), across(op, x))))
        return False

    for op in order:
        sess = _session(op)
        w_self = m.of_op.get(op["i"])
        if w_self is not None:
            m.past_of(w_self)
        k = op["key"]
        if op["kind"] == "get" and op.get("outcome") == "ok":
            if op.get("value") is None:
                cands = ["initial"] + [d for d in m.by_key.get(k, ())
                                       if d.kind == "delete" and d.op["t0"] < op["t1"]]
                observe(op, sess, cands, "got 404")
            else:
                r = m.put_by_value.get(op["value"])
                if r is None:
                    out.append(Violation("unknown-value", op["i"],
                                         "%s get %r at %s returned %r, never written"
                                         % (op["client"], k, op.get("node"), op["value"])))
                elif r.key != k:
                    out.append(Violation("unknown-value", op["i"],
                                         "%s get %r returned %r, written to key %r"
                                         % (op["client"], k, op["value"], r.key)))
                elif r.op["t0"] > op["t1"]:
                    out.append(Violation("unknown-value", op["i"],
                                         "%s get %r returned %r before that put was sent"
                                         % (op["client"], k, op["value"])))
                else:
                    observe(op, sess, [r], "read")
                    m.seen[sess].add(r)
                    m.seen[sess].merge(m.past_of(r))
        elif op["kind"] in ("put", "delete"):
            prev = _prev(op)
            if prev == "missing":
                cands = ["initial"] + [d for d in m.by_key.get(k, ())
                                       if d.kind == "delete" and d.op is not op
                                       and d.op["t0"] < op["t1"]]
                observe(op, sess, cands, "found the key missing")
            elif prev == "live":
                cands = [p for p in m.by_key.get(k, ())
                         if p.kind == "put" and p.op is not op and p.op["t0"] < op["t1"]]
                if not cands:
                    out.append(Violation("unknown-value", op["i"],
                                         "%s %s %r found a live value that no put wrote"
                                         % (op["client"], op["kind"], k)))
                else:
                    observe(op, sess, cands, "found a live value:")
        if w_self is not None and w_self.seq is not None:
            m.seen[sess].add(w_self)
    return out, m


# --------------------------------------------------------------------------- final state


def check_final(model, final, exempt=()):
    """final: {key: [state, ...]} with state = value string or None (missing), as read
    from every node after healing (one entry per distinct answer). Returns violations
    'lost' (an acknowledged write lies strictly after the final state, causally) and
    'unknown-value'. exempt: op indices of writes the store may legitimately lose
    (acknowledged by a node that was killed before it could replicate them)."""
    out = []
    for key, states in sorted(final.items()):
        ws = model.by_key.get(key, [])
        acked = [w for w in ws if w.op.get("outcome") == "ok" and w.op["i"] not in exempt]
        for st in states:
            if st is None:
                # missing is right when some delete is not older than any acknowledged
                # write (or nothing acknowledged is left to lose)
                dels = [d for d in ws if d.kind == "delete"]
                if not acked or any(not any(a is not d and model.past_of(a).has(d)
                                            for a in acked) for d in dels):
                    continue
                puts = [a for a in acked if a.kind == "put"]
                if not puts:
                    continue  # only deletes acknowledged: missing is their effect
                out.append(Violation("lost", key, "final state is missing, but %s was "
                                     "acknowledged and no delete explains it"
                                     % puts[-1].label()))
                continue
            r = model.put_by_value.get(st)
            if r is None or r.key != key:
                out.append(Violation("unknown-value", key,
                                     "final value %r was never written to this key" % (st,)))
                continue
            newer = [a for a in acked if a is not r and model.past_of(a).has(r)]
            if newer:
                out.append(Violation("lost", key, "final value is %s, but %s was acknowledged "
                                     "after it (causally) and is gone"
                                     % (r.label(), newer[-1].label())))
    return out


def check_divergence(answers):
    """answers: {key: {node: ("v", value) | ("missing",) | ("error", text)}} read with an
    empty context after healing. Returns violations for keys on which the nodes do not
    all give the same definite answer."""
    out = []
    for key, per in sorted(answers.items()):
        definite = {n: a for n, a in per.items() if a[0] != "error"}
        states = {a for a in definite.values()}
        errs = {n: a[1] for n, a in per.items() if a[0] == "error"}
        if len(states) > 1:
            out.append(Violation("divergence", key, "nodes disagree: %s"
                                 % ", ".join("%s=%s" % (n, a[1] if a[0] == "v" else "missing")
                                             for n, a in sorted(definite.items()))))
        if errs:
            out.append(Violation("unavailable", key, "no answer after healing from %s"
                                 % ", ".join("%s (%s)" % kv for kv in sorted(errs.items()))))
    return out


# --------------------------------------------------------------------------- latency


def check_latency(ops, bound_s, disturbed):
    """Requests slower than bound_s (documented timeout + slack) although their target
    was reachable throughout: disturbed(node, t0, t1) says whether the nemesis made the
    node unreachable, paused, down or part of a view change during the request."""
    out = []
    for op in ops:
        if op.get("outcome") == "fail":
            continue
        d = op["t1"] - op["t0"]
        if d > bound_s and not disturbed(op["node"], op["t0"], op["t1"]):
            out.append(Violation("slow", op["i"], "%s %s %r at %s took %.2fs (> %.1fs), status "
                                 "%s %s" % (op["client"], op["kind"], op["key"], op["node"], d,
                                            bound_s, op.get("status"), op.get("error") or "")))
    return out


# --------------------------------------------------------------------------- logs

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
_ERROR_LINE = re.compile(r"^\S+Z? +ERROR\b|\bERROR\b")


def scan_log(path):
    """(sanitizer report lines, ERROR log lines) of one node log."""
    san, err = [], []
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return san, err
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            san.append(line.strip())
        elif re.match(r"^\d{4}-\d\d-\d\dT\S+ ERROR ", line):
            err.append(line.strip())
    return san, err
