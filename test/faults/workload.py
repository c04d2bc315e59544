"""workload — concurrent causal clients that record every operation (stdlib only).

Each client is a thread (in the namespace of the thread that starts it) doing PUT / GET /
DELETE over a small key space, at random nodes, with unique values, echoing the causal
context of its session. Now and then a client starts a fresh session (forgets its
context); one client ("nc") never sends a context. Every operation is recorded with
invoke/complete times, status, outcome and the contexts sent and received (see
checker.py for the record format).
"""

import http.client
import json
import random
import socket
import threading
import time
import urllib.parse

KV = "/kv-store/keys/"
OK = {"PUT": (200, 201), "GET": (200, 404), "DELETE": (200, 404)}


def http_json(addr, method, path, body=None, timeout=6.0):
    """(status, parsed JSON or None). Raises OSError / HTTPException on failures."""
    host, _, port = addr.rpartition(":")
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        st = resp.status
    finally:
        conn.close()
    try:
        js = json.loads(payload.decode("utf-8")) if payload else None
    except (ValueError, UnicodeDecodeError):
        js = None
    return st, js


def keypath(key):
    return KV + urllib.parse.quote(key, safe="")


class Recorder:
    def __init__(self, t_zero=None):
        self.t_zero = t_zero if t_zero is not None else time.monotonic()
        self.ops = []
        self.lock = threading.Lock()

    def now(self):
        return time.monotonic() - self.t_zero

    def add(self, rec):
        with self.lock:
            rec["i"] = len(self.ops)
            self.ops.append(rec)

    def count(self):
        with self.lock:
            return len(self.ops)


class Targets:
    """The nodes clients may talk to (changes with view changes)."""

    def __init__(self, addrs):
        self.lock = threading.Lock()
        self.addrs = list(addrs)

    def set(self, addrs):
        with self.lock:
            self.addrs = list(addrs)

    def pick(self, rng):
        with self.lock:
            return rng.choice(self.addrs)


def do_op(rec, client, session, ctx, kind, key, value, addr, timeout):
    """One request; records it and returns the op dict."""
    method = {"put": "PUT", "get": "GET", "delete": "DELETE"}[kind]
    body = {}
    if kind == "put":
        body["value"] = value
    if ctx is not None:
        body["causal-context"] = ctx
    t0 = rec.now()
    status, js, err, outcome = None, None, None, None
    try:
        status, js = http_json(addr, method, keypath(key), body or None, timeout)
        if status in OK[method]:
            outcome = "ok"
        elif status >= 500:
            outcome = "info"
        else:
            outcome = "fail"  # 4xx other than 404: refused by validation, never applied
    except ConnectionRefusedError as e:
        err, outcome = "refused: %s" % e, "fail"
    except (socket.timeout, TimeoutError) as e:
        err, outcome = "timeout: %s" % e, "info"
    except (OSError, http.client.HTTPException) as e:
        err, outcome = "%s: %s" % (type(e).__name__, e), "info"
    t1 = rec.now()
    js = js if isinstance(js, dict) else {}
    got = None
    if kind == "get" and status == 200:
        got = js.get("value")
    op = {"client": client, "session": session, "kind": kind, "key": key,
          "value": got if kind == "get" else value, "node": addr,
          "served": js.get("address") or addr, "t0": round(t0, 4), "t1": round(t1, 4),
          "status": status, "outcome": outcome, "error": err,
          "ctx_sent": ctx, "ctx_recv": js.get("causal-context") if js else None,
          "partial": js.get("partial-history") is True}
    if kind == "get" and status == 200 and got is None:
        op["outcome"] = "info"
        op["error"] = "200 without a value: %r" % (js,)
    rec.add(op)
    return op


class KeySet:
    """A thread-safe set of keys (the write-once keys clients invent)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = []

    def add(self, k):
        with self.lock:
            self.keys.append(k)

    def all(self):
        with self.lock:
            return list(self.keys)


class Client(threading.Thread):
    def __init__(self, name, rec, targets, keys, stop, seed, context=True,
                 fresh_every=60, timeout=6.0, pace=0.01, deadline=None, cold_keys=(),
                 cold_share=0.3, once=None, once_share=0.02):
        super().__init__(name="client-" + name, daemon=True)
        self.cname = name
        self.rec, self.targets, self.keys, self.stop = rec, targets, list(keys), stop
        # cold keys are written rarely, so a lost write there is not hidden by a later
        # overwrite: it shows up as a wrong final value or as replicas that disagree
        self.cold_keys, self.cold_share = list(cold_keys), cold_share
        # write-once keys: a write lost by the store cannot be hidden by any later write
        self.once, self.once_share = once, once_share
        self.rng = random.Random(seed)
        self.context = context
        self.fresh_every = fresh_every
        self.timeout = timeout
        self.pace = pace
        self.deadline = deadline  # monotonic bound, whatever happens to stop
        self.nsess = 1
        self.ctx = None
        self.n = 0

    def session(self):
        return "%s.%d" % (self.cname, self.nsess) if self.context else None

    def run(self):
        while not self.stop.is_set():
            if self.deadline is not None and time.monotonic() > self.deadline:
                break
            if self.context and self.fresh_every and self.rng.random() < 1.0 / self.fresh_every:
                self.nsess += 1
                self.ctx = None
            self.n += 1
            once = self.once is not None and self.rng.random() < self.once_share
            if once:
                key = "o-%s-%d" % (self.cname, self.n)  # a key written once, never again
                self.once.add(key)
            elif self.cold_keys and self.rng.random() < self.cold_share:
                key = self.rng.choice(self.cold_keys)
            else:
                key = self.rng.choice(self.keys)
            r = self.rng.random()
            if once:
                kind, value = "put", "%s.%d-%d" % (self.cname, self.nsess, self.n)
            elif r < 0.5:
                kind, value = "get", None
            elif r < 0.85:
                kind, value = "put", "%s.%d-%d" % (self.cname, self.nsess, self.n)
            else:
                kind, value = "delete", "%s.%d-d%d" % (self.cname, self.nsess, self.n)
            addr = self.targets.pick(self.rng)
            op = do_op(self.rec, self.cname, self.session(), self.ctx if self.context else None,
                       kind, key, value, addr, self.timeout)
            if self.context and op["outcome"] == "ok" and isinstance(op["ctx_recv"], dict):
                self.ctx = op["ctx_recv"]
            if self.pace:
                self.stop.wait(self.rng.uniform(0, self.pace))
