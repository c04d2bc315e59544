"""causal_checker — checks a recorded key-value history for session causality.

Input: the operations of several client sessions (each session sequential), recorded as
Op(client, kind, key, value, ok, prev, start, end):

  kind "put":    value = the value written (unique across the whole history);
                 ok = the store acknowledged it (200/201); prev = "live" (200, replaced)
                 or "missing" (201, added) or None (unknown).
  kind "get":    value = the value read, or None when the key was missing (404);
                 ok = a definite answer came back (200/404). ok=False: no information.
  kind "delete": value = optional unique id of this delete; ok = 200/404;
                 prev = "live" (200) or "missing" (404) or None.
  start, end:    optional stamps from one global counter (taken before sending and
                 after the reply). Without them, ops are taken as atomic in list order.

Model. Every acknowledged put and every delete that removed a live key is a write, and
so is every write whose outcome is unknown (ok=False: it may have happened). Each write
w has a causal past, past(w) = what its client had seen when it issued w. What a client
has seen, seen(c), is its own acknowledged writes, every write it read, and the pasts of
those (transitively). A write with an unknown outcome is never in its own client's seen
set (the client never got its context), but it is in the seen set of whoever reads it.

Rule (sound for concurrent writes and any conflict resolution): an operation on key k by
client c that observes the state r of k (a get's answer, or what a put/delete replaced)
is a violation when r is strictly older than some write on k that c has seen, i.e.
r ∈ past(x) for some x ∈ seen(c) on k. This catches stale reads after the client's own
writes (read-your-writes), after reading something newer (monotonic reads), after reading
a value that causally depended on a newer k (writes-follow-reads / causal across keys),
and "missing" answers when the client has seen a live value and no delete that is not
older than it exists (the initial "never written" state is older than every write).
Additionally flagged: values never written, values written to a different key, and
values read before their write was even sent (read from the future, needs stamps).

Concurrent writes are never flagged against each other: the checker does not decide which
of two concurrent writes wins, only that nobody goes back in causal time.

Each client's acknowledged writes are numbered 1, 2, ... in its program order; since
seen sets are closed under each client's program order, a seen set is a vector
{client: highest write number} plus a set of unknown-outcome writes.
"""

from dataclasses import dataclass
import itertools
import threading


@dataclass
class Op:
    client: str
    kind: str
    key: str
    value: object = None
    ok: bool = True
    prev: object = None
    start: object = None
    end: object = None


@dataclass
class Violation:
    index: int  # position of the op in the history given to check()
    client: str
    kind: str  # stale-read | missing | future-read | unknown-value | wrong-key
    message: str

    def __str__(self):
        return "[%s] op #%d by %s: %s" % (self.kind, self.index, self.client, self.message)


class _Write:
    __slots__ = ("id", "key", "kind", "client", "seq", "op", "index")

    def __init__(self, wid, key, kind, client, seq, op, index):
        self.id, self.key, self.kind, self.client = wid, key, kind, client
        self.seq, self.op, self.index = seq, op, index

    def label(self):
        return "%s %r (by %s)" % ("delete" if self.kind == "delete" else "put", self.id,
                                  self.client)


class _Seen:
    """A causally closed set of writes: vector over clients + unknown-outcome writes."""
    __slots__ = ("vc", "orphans")

    def __init__(self, vc=None, orphans=None):
        self.vc = dict(vc or {})
        self.orphans = set(orphans or ())

    def copy(self):
        return _Seen(self.vc, self.orphans)

    def has(self, w):
        if w.seq is None:
            return w.id in self.orphans
        return self.vc.get(w.client, 0) >= w.seq

    def add(self, w):
        if w.seq is None:
            self.orphans.add(w.id)
        elif self.vc.get(w.client, 0) < w.seq:
            self.vc[w.client] = w.seq

    def merge(self, other):
        for c, n in other.vc.items():
            if self.vc.get(c, 0) < n:
                self.vc[c] = n
        self.orphans |= other.orphans


def _is_write(op):
    if op.kind == "put":
        return True
    if op.kind == "delete":
        return not (op.ok and op.prev == "missing")
    return False


def check(history):
    """Return a list of Violation (empty when the history is causally consistent).
    Raises ValueError when the history itself is malformed."""
    ops = list(history)
    n = len(ops)
    starts, ends = [], []
    for i, op in enumerate(ops):
        if op.kind not in ("put", "get", "delete"):
            raise ValueError("op #%d: unknown kind %r" % (i, op.kind))
        starts.append(op.start if op.start is not None else i)
        ends.append(op.end if op.end is not None else i)
        if ends[i] < starts[i]:
            raise ValueError("op #%d ends before it starts" % i)

    # per-client program order: sequential, non-overlapping
    by_client = {}
    for i, op in enumerate(ops):
        by_client.setdefault(op.client, []).append(i)
    for c, idxs in by_client.items():
        idxs.sort(key=lambda j: (starts[j], j))
        for a, b in zip(idxs, idxs[1:]):
            if starts[b] < ends[a]:
                raise ValueError("client %s: ops #%d and #%d overlap" % (c, a, b))

    # writes, numbered per client in program order (acknowledged ones only)
    writes = {}   # id -> _Write
    put_by_value = {}
    writes_by_key = {}
    write_of_op = {}
    for c, idxs in by_client.items():
        seq = 0
        for i in idxs:
            op = ops[i]
            if not _is_write(op):
                continue
            if op.kind == "put":
                wid = op.value
                if wid in put_by_value:
                    raise ValueError("value %r written twice (ops #%d and #%d): values must be "
                                     "unique" % (wid, put_by_value[wid].index, i))
            else:
                wid = ("delete", op.value if op.value is not None else "%s#%d" % (c, i))
                if wid in writes:
                    raise ValueError("delete id %r used twice" % (wid[1],))
            s = None
            if op.ok:
                seq += 1
                s = seq
            w = _Write(wid, op.key, op.kind, c, s, op, i)
            writes[wid] = w
            write_of_op[i] = w
            if op.kind == "put":
                put_by_value[wid] = w
            writes_by_key.setdefault(op.key, []).append(w)

    seen = {c: _Seen() for c in by_client}
    past = {}  # write id -> _Seen snapshot

    def past_of(w):
        p = past.get(w.id)
        if p is None:
            # the writer has not completed w yet: its current seen set is what it had
            # seen when it issued w (its earlier ops all ended before w started)
            p = seen[w.client].copy()
            past[w.id] = p
        return p

    violations = []

    def observe(i, op, c, candidates, what):
        """Check that one of the candidate states (writes, or "initial") is not older
        than anything c has seen on op.key. Returns True when fine."""
        s = seen[c]
        S = [x for x in writes_by_key.get(op.key, ()) if s.has(x)]
        if not S:
            return True
        union = _Seen()
        for x in S:
            union.merge(past_of(x))
        for r in candidates:
            if r == "initial":
                continue  # older than every write in S
            if r.op is op:
                continue
            if not union.has(r):
                return True
        # violation: explain with one seen write the answer is older than
        if len(candidates) == 1 and candidates[0] != "initial":
            r = candidates[0]
            newer = [x for x in S if past_of(x).has(r)]
            violations.append(Violation(
                i, c, "stale-read",
                "%s on %r observed %s, which is older than %s that the client had already "
                "seen" % (what, op.key, r.label(), newer[0].label())))
        else:
            live = [x for x in S if x.kind == "put"]
            violations.append(Violation(
                i, c, "missing" if what.endswith("missing") else "stale-read",
                "%s on %r, but the client had seen %s and no delete/put that is not older "
                "than it explains the answer" % (what, op.key,
                                                 (live or S)[-1].label())))
        return False

    order = sorted(range(n), key=lambda j: (ends[j], j))
    for i in order:
        op = ops[i]
        c = op.client
        w_self = write_of_op.get(i)
        if w_self is not None:
            past_of(w_self)  # snapshot before anything of this op is merged

        if op.kind == "get" and op.ok:
            if op.value is None:
                cands = ["initial"] + [d for d in writes_by_key.get(op.key, ())
                                       if d.kind == "delete" and starts[d.index] < ends[i]]
                observe(i, op, c, cands, "get returned missing")
            else:
                r = put_by_value.get(op.value)
                if r is None:
                    violations.append(Violation(i, c, "unknown-value",
                                                "get %r returned %r, never written"
                                                % (op.key, op.value)))
                elif r.key != op.key:
                    violations.append(Violation(i, c, "wrong-key",
                                                "get %r returned %r, written to key %r"
                                                % (op.key, op.value, r.key)))
                elif starts[r.index] > ends[i]:
                    violations.append(Violation(i, c, "future-read",
                                                "get %r returned %r before that put was sent"
                                                % (op.key, op.value)))
                else:
                    observe(i, op, c, [r], "get returned")
                    seen[c].add(r)
                    seen[c].merge(past_of(r))
        elif op.kind in ("put", "delete") and op.ok and op.prev in ("live", "missing"):
            # what the write replaced is an observation too (201 = was missing, ...)
            if op.prev == "missing":
                cands = ["initial"] + [d for d in writes_by_key.get(op.key, ())
                                       if d.kind == "delete" and d.op is not op
                                       and starts[d.index] < ends[i]]
                observe(i, op, c, cands, "%s found the key missing" % op.kind)
            else:
                cands = [p for p in writes_by_key.get(op.key, ())
                         if p.kind == "put" and p.op is not op and starts[p.index] < ends[i]]
                if not cands:
                    violations.append(Violation(i, c, "unknown-value",
                                                "%s %r replaced a live value that no put wrote"
                                                % (op.kind, op.key)))
                else:
                    observe(i, op, c, cands, "%s found a live value" % op.kind)
        if w_self is not None and w_self.seq is not None:
            seen[c].add(w_self)
    return violations


def write_observation(kind, status, reply):
    """What an acknowledged put/delete says the key held: "live", "missing" or None
    (unknown). A write accepted by a replica that lacked part of the client's history
    says "partial-history": what it found is that replica's, not the client's view."""
    if isinstance(reply, dict) and reply.get("partial-history") is True:
        return None
    if kind == "put":
        return {200: "live", 201: "missing"}.get(status)
    return {200: "live", 404: "missing"}.get(status)


class Recorder:
    """Thread-safe history recorder with global start/end stamps.

        t = rec.begin()
        ... do the request ...
        rec.record(client, "get", key, value_or_None, ok, start=t)
    """

    def __init__(self):
        self.ops = []
        self._lock = threading.Lock()
        self._clock = itertools.count(1)

    def begin(self):
        with self._lock:
            return next(self._clock)

    def record(self, client, kind, key, value=None, ok=True, prev=None, start=None):
        with self._lock:
            end = next(self._clock)
            op = Op(client, kind, key, value, ok, prev,
                    start if start is not None else end, end)
            self.ops.append(op)
            return op
