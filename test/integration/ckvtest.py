"""ckvtest — black-box harness for causalkv integration tests (python3 stdlib only).

Starts real `causalkv` processes on loopback and talks HTTP/JSON to them.

    SLOT = slot(__file__)                         # this file's port and addresses
    with Cluster(6, 2) as c:                      # six fresh addresses of SLOT, 3 shards
        st, body = kv_put(c.addrs[0], "k", "v")

Environment: CAUSALKV_BIN (node binary), CAUSALKV_CLI, CKV_SOURCE_DIR.
CKV_KEEP_LOGS=1 keeps every node log directory (otherwise kept only after a failure).

Rules the tests follow: every wait is a poll with a deadline (no fixed sleeps), every
node started is killed at the end (close(), atexit, and PR_SET_PDEATHSIG when a test
process dies), and no test file chooses a port or an address: the harness gives each
file its own (see "Ports and addresses" below), so files run side by side under
`ctest -j` (and two runs of one file, by two people, at the same time) never collide.
"""

import atexit
import ctypes
import fcntl
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rawhttp import JSON_CT, CIDict, split_addr  # noqa: E402,F401 (re-exported)

SOURCE_DIR = os.environ.get(
    "CKV_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))


def _find_bin(var, name):
    path = os.environ.get(var)
    if path:
        return path
    for cand in ("build-c", "build", "build-release"):
        p = os.path.join(SOURCE_DIR, cand, name)
        if os.access(p, os.X_OK):
            return p
    return name


CAUSALKV_BIN = _find_bin("CAUSALKV_BIN", "causalkv")
CAUSALKV_CLI = _find_bin("CAUSALKV_CLI", "causalkv-cli")

KV = "/kv-store/keys/"

# --------------------------------------------------------------------------- HTTP


def request(addr, method, path, body=None, timeout=5, headers=None, raw=False, source=None):
    """One HTTP request on a fresh connection.

    body: None (no body), dict/list (JSON-encoded, Content-Type application/json),
    str/bytes (sent as is). path is sent exactly as given (quote keys yourself with
    keypath()). raw=True skips JSON parsing of the reply (json is then None).
    source: local IP to connect from (e.g. a member's IP, to look like a peer).
    Returns (status, parsed JSON or None, headers CIDict, raw bytes). Connection
    errors and timeouts propagate (OSError / socket.timeout)."""
    host, port = split_addr(addr)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", JSON_CT)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = bytes(body)
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        rh = CIDict(resp.getheaders())
        status = resp.status
    finally:
        conn.close()
    parsed = None
    if not raw and payload:
        try:
            parsed = json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            parsed = None
    return status, parsed, rh, payload


def keypath(key):
    return KV + urllib.parse.quote(key, safe="")


def _ctx_body(ctx, extra=None):
    body = dict(extra or {})
    if ctx is not None:
        body["causal-context"] = ctx
    return body


def kv_put(addr, key, value, ctx=None, timeout=5):
    st, js, _, _ = request(addr, "PUT", keypath(key), _ctx_body(ctx, {"value": value}),
                           timeout=timeout)
    return st, js


def kv_get(addr, key, ctx=None, timeout=5):
    body = _ctx_body(ctx) if ctx is not None else None
    st, js, _, _ = request(addr, "GET", keypath(key), body, timeout=timeout)
    return st, js


def kv_delete(addr, key, ctx=None, timeout=5):
    body = _ctx_body(ctx) if ctx is not None else None
    st, js, _, _ = request(addr, "DELETE", keypath(key), body, timeout=timeout)
    return st, js


def key_count(addr, timeout=5):
    st, js, _, _ = request(addr, "GET", "/kv-store/key-count", timeout=timeout)
    if st != 200 or not isinstance(js, dict):
        raise AssertionError("key-count at %s: %s %r" % (addr, st, js))
    return js["key-count"]


def as_object(reply):
    """(status, json) -> (status, json, or {} when the body is not a JSON object)."""
    st, js = reply
    return st, js if isinstance(js, dict) else {}


def kv_get_obj(addr, key, timeout=5):
    return as_object(kv_get(addr, key, timeout=timeout))


def kv_put_obj(addr, key, value, timeout=5):
    return as_object(kv_put(addr, key, value, timeout=timeout))


def kv_delete_obj(addr, key, timeout=5):
    return as_object(kv_delete(addr, key, timeout=timeout))


def metric(addr, name):
    """The value of the plain (unlabelled) metric `name` in addr's /metrics."""
    st, _, _, raw = request(addr, "GET", "/metrics", raw=True)
    if st != 200:
        raise AssertionError("GET /metrics at %s: %s" % (addr, st))
    for line in raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("%s not in /metrics of %s" % (name, addr))


def health(addr, timeout=2):
    """(status, json object) of GET /healthz."""
    st, js, _, _ = request(addr, "GET", "/healthz", timeout=timeout)
    return st, js if isinstance(js, dict) else {}


# --------------------------------------------------------------------------- views

VC_PATH = "/kv-store/view-change"


def shard_groups(view, rf):
    """The replica lists of the shards of a view, in shard order."""
    return [list(view[i:i + rf]) for i in range(0, len(view), rf)]


def expected_state(view, rf):
    """[(shard id, replicas)] that the nodes of `view` must report."""
    return [(i + 1, g) for i, g in enumerate(shard_groups(view, rf))]


def view_state(addr, timeout=5):
    """[(shard id, replicas)] as node `addr` reports them (/kv-store/shards, then
    /kv-store/shards/<id> for each)."""
    st, js, _, raw = request(addr, "GET", "/kv-store/shards", timeout=timeout)
    if st != 200 or not isinstance(js, dict) or not isinstance(js.get("shards"), list):
        raise AssertionError("GET /kv-store/shards at %s: %s %r" % (addr, st, raw))
    out = []
    for sid in js["shards"]:
        st2, js2, _, raw2 = request(addr, "GET", "/kv-store/shards/%s" % sid, timeout=timeout)
        if st2 != 200 or not isinstance(js2, dict):
            raise AssertionError("GET /kv-store/shards/%s at %s: %s %r" % (sid, addr, st2, raw2))
        out.append((sid, js2.get("replicas")))
    return out


def view_change(addr, view, rf, timeout=35):
    """(status, json, raw, seconds) of PUT /kv-store/view-change with the view as a list.
    A timeout or connection error is reported as status None."""
    t0 = time.monotonic()
    try:
        st, js, _, raw = request(addr, "PUT", VC_PATH, {"view": list(view), "repl-factor": rf},
                                 timeout=timeout)
    except OSError as e:
        return None, None, repr(e).encode(), time.monotonic() - t0
    return st, js, raw, time.monotonic() - t0


def poll(fn, timeout, interval=0.05, msg=None):
    """Call fn until it returns a truthy value; return it. Raise AssertionError at the
    deadline (exceptions from fn count as falsy; the last one is reported)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except AssertionError as e:
            last_exc = e
        except (OSError, http.client.HTTPException, ValueError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            detail = "last result %r" % (last,)
            if last_exc is not None:
                detail += ", last error %r" % (last_exc,)
            raise AssertionError("%s: not true within %.1fs (%s)"
                                 % (msg or getattr(fn, "__name__", "condition"), timeout, detail))
        time.sleep(interval)


# --------------------------------------------------------------------------- ports and addresses
#
# Every test file that starts nodes (or binds anything) asks for its slot once, at the top:
#
#     SLOT = ckvtest.slot(__file__)
#
# A slot is one TCP port and one /24 of loopback addresses, both derived from the file's
# name through REGISTRY below (a name not in it fails at once, saying so): file number i
# gets port PORT_BASE + PORT_ALTERNATES * i and the addresses 127.0.(ADDR_NET0 + i).2 ...
# .254. Every node of the file listens on the slot's port, each on its own address (like
# the compose file: one port, many hosts), and SLOT.addrs(n) hands out n addresses no
# other part of the file has had. Cluster(n, rf) takes them from the current slot.
#
# Two runs of the same file at once (two people on one machine) would still collide, so
# a slot holds an exclusive lock (flock on a file in the temp dir, released when the
# process ends) on its port; when another run holds it, the next of the file's
# PORT_ALTERNATES ports is used. Ports stay below 32768 (the kernel's ephemeral range
# starts there), away from the scripts' defaults (13800 run/cluster, 18000-18003 bench,
# 18200 overload) and from the ports of older versions of these files (21000-22299).

PORT_BASE = 24000
PORT_ALTERNATES = 4
ADDR_NET0 = 10  # 127.0.10.0/24 is file 0's; 127.0.0.0/24 stays free for the scripts

# file name (without .py) -> file number. Append new files; never reuse a number.
REGISTRY = {
    "test_single_node": 0,
    "test_cluster": 1,
    "test_causal_history": 2,
    "test_view_change": 3,
    "test_ops": 4,  # scripts/cluster.sh fixes the addresses: 127.0.0.2.. on this port
    "test_cli": 5,
    "test_rejoin": 6,
    "test_hostile_http": 7,
    "test_internal_auth": 8,
    "test_edges": 9,
    "test_standby": 10,
    "test_framing": 11,
    "test_hostile_json": 12,
    "test_hostile_keys": 13,
    "test_hostile_conn": 14,
    "test_hostile_internal": 15,
    "test_shard_hash": 16,
    "test_proxy_writes": 17,
    "test_durability": 18,
    "test_browser_api": 19,
    "test_dashboard": 20,
    "test_names": 21,
    "test_install": 22,  # cmake --install, --config, sd_notify, the systemd unit
    "test_request_ids": 23,
    "test_batch": 24,  # batches of forwarded requests, and an owner without them
}
SCRIPT_PORTS = (13800, 18000, 18001, 18002, 18003, 18200)


def _check_registry():
    """Fails loudly (at import) when two files would share a port or an address block."""
    numbers = sorted(REGISTRY.values())
    if len(set(numbers)) != len(numbers):
        dup = sorted(n for n in set(numbers) if numbers.count(n) > 1)
        raise RuntimeError("ckvtest.REGISTRY: file numbers used twice: %r" % dup)
    top = PORT_BASE + PORT_ALTERNATES * (max(numbers) + 1)
    if top > 32768:
        raise RuntimeError("ckvtest.REGISTRY: port %d is in the ephemeral range" % top)
    if ADDR_NET0 + max(numbers) > 255:
        raise RuntimeError("ckvtest.REGISTRY: no /24 left in 127.0.0.0/16")
    clash = [p for p in SCRIPT_PORTS if PORT_BASE <= p < top]
    if clash:
        raise RuntimeError("ckvtest.REGISTRY: ports %r are the scripts' defaults" % clash)


_check_registry()


def _address_in_use(addr):
    host, port = split_addr(addr)
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Slot:
    """The port and loopback /24 of one test file (see above)."""

    def __init__(self, name, number, port, lock_file):
        self.name, self.number, self.port = name, number, port
        self.net = "127.0.%d" % (ADDR_NET0 + number)
        self._lock_file = lock_file  # kept open: the lock lives as long as the process
        self._next = 2
        self._extra_ports = {}

    def addr(self, host):
        """The address of host number `host` (2..254) of the block, on the slot's port."""
        return "%s.%d:%d" % (self.net, host, self.port)

    def ip(self, host):
        return "%s.%d" % (self.net, host)

    def addrs(self, n):
        """n consecutive addresses that nothing else in this file has been given."""
        if self._next + n > 255:
            raise RuntimeError("%s: its 253 loopback addresses are used up" % self.name)
        out = [self.addr(self._next + i) for i in range(n)]
        self._next += n
        return out

    def ips(self, n):
        return [a.rsplit(":", 1)[0] for a in self.addrs(n)]

    def extra_port(self):
        """Another of the file's ports, locked like the slot's own (for nodes that must
        differ by port, e.g. on ::1): a second run of the file takes the others."""
        base = PORT_BASE + PORT_ALTERNATES * self.number
        lock_dir = os.path.join(tempfile.gettempdir(), "ckvtest-ports")
        for port in range(base, base + PORT_ALTERNATES):
            if port == self.port or port in self._extra_ports:
                continue
            f = open(os.path.join(lock_dir, "%d.lock" % port), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            self._extra_ports[port] = f  # kept open: the lock lives as long as the process
            return port
        raise RuntimeError("%s: no free port left among %d..%d"
                           % (self.name, base, base + PORT_ALTERNATES - 1))

    def __repr__(self):
        return "<slot %s: port %d, %s.0/24>" % (self.name, self.port, self.net)


_SLOT = None


def slot(test_file):
    """The slot of the test file `test_file` (pass __file__); the first call takes it,
    later calls return it. It becomes the slot Cluster() takes addresses from."""
    global _SLOT
    name = os.path.splitext(os.path.basename(test_file))[0]
    if _SLOT is not None:
        if _SLOT.name != name:
            raise RuntimeError("one process, two test files' slots: %s and %s"
                               % (_SLOT.name, name))
        return _SLOT
    if name not in REGISTRY:
        raise RuntimeError("%s is not in ckvtest.REGISTRY: add it there with the next free "
                           "number (it gives the file its port and addresses)" % name)
    number = REGISTRY[name]
    base = PORT_BASE + PORT_ALTERNATES * number
    lock_dir = os.path.join(tempfile.gettempdir(), "ckvtest-ports")
    os.makedirs(lock_dir, exist_ok=True)
    for port in range(base, base + PORT_ALTERNATES):
        f = open(os.path.join(lock_dir, "%d.lock" % port), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _SLOT = Slot(name, number, port, f)
        return _SLOT
    raise RuntimeError("%s: all %d ports %d..%d are held by other runs of this file"
                       % (name, PORT_ALTERNATES, base, base + PORT_ALTERNATES - 1))


def current_slot():
    if _SLOT is None:
        raise RuntimeError("no slot: the test file must call ckvtest.slot(__file__) first")
    return _SLOT


# --------------------------------------------------------------------------- contexts


def ctx_ge(a, b):
    """True when context a is pointwise >= context b (treating the context as opaque
    nested numbers; for the documented shape {"epoch","clock"} a newer epoch dominates,
    an older one never does). Absent entries count as 0."""
    return not ctx_ge_why(a, b)


def ctx_ge_why(a, b):
    """'' when a >= b, else a description of the first entry that is smaller."""
    if b is None or b == {}:
        return ""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return "not objects: %r vs %r" % (a, b)
    ea, eb = a.get("epoch"), b.get("epoch")
    if isinstance(ea, (int, float)) and isinstance(eb, (int, float)) and ea != eb:
        return "" if ea > eb else "epoch %r < %r" % (ea, eb)
    return _ge(a, b, "")


def _ge(a, b, where):
    if isinstance(b, bool) or isinstance(a, bool):
        return ""
    if isinstance(b, (int, float)):
        av = a if isinstance(a, (int, float)) else 0
        return "" if av >= b else "%s: %r < %r" % (where or "value", a, b)
    if isinstance(b, dict):
        a = a if isinstance(a, dict) else {}
        for k, bv in b.items():
            why = _ge(a.get(k, 0 if isinstance(bv, (int, float)) else {}), bv, where + "/" + k)
            if why:
                return why
    return ""


class Session:
    """A client session that echoes its causal context (opaque) on every request and
    checks that every successful reply's context is >= the one it sent.

    ctx_errors collects violations of that rule (tests assert it is empty)."""

    OK = {"PUT": (200, 201), "GET": (200, 404), "DELETE": (200, 404)}

    def __init__(self, addrs, name="client", rng=None, timeout=5):
        self.addrs = list(addrs)
        self.name = name
        self.rng = rng or random.Random()
        self.ctx = None
        self.ctx_errors = []
        self.timeout = timeout
        self.last_addr = None

    def pick(self):
        return self.rng.choice(self.addrs)

    def _do(self, method, key, addr, extra):
        addr = addr or self.pick()
        self.last_addr = addr
        sent = self.ctx
        if method == "PUT" or sent is not None:
            body = _ctx_body(sent, extra)
        else:
            body = None
        st, js, _, _ = request(addr, method, keypath(key), body, timeout=self.timeout)
        if st in self.OK[method] and isinstance(js, dict):
            got = js.get("causal-context")
            why = ctx_ge_why(got, sent)
            if why:
                self.ctx_errors.append("%s %s %s at %s: reply context %r < sent %r (%s)"
                                       % (self.name, method, key, addr, got, sent, why))
            if isinstance(got, dict):
                self.ctx = got
        return st, js

    def put(self, key, value, addr=None):
        return self._do("PUT", key, addr, {"value": value})

    def get(self, key, addr=None):
        return self._do("GET", key, addr, None)

    def delete(self, key, addr=None):
        return self._do("DELETE", key, addr, None)


# --------------------------------------------------------------------------- processes


def _pdeathsig():
    """preexec_fn: the node gets SIGKILL when the thread that started it dies (so a test
    process killed by ctest's timeout leaves no node behind). Start nodes from the main
    thread."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


_ALL_CLUSTERS = []
_LOCK = threading.Lock()


def _close_all():
    for c in list(_ALL_CLUSTERS):
        try:
            c.close()
        except Exception:
            pass


atexit.register(_close_all)


def _term_handler(signum, frame):
    _close_all()
    raise KeyboardInterrupt("signal %d" % signum)


if threading.current_thread() is threading.main_thread():
    for _s in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(_s, _term_handler)
        except (ValueError, OSError):
            pass

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


class Node:
    def __init__(self, addr, view, rf, env, log_path, reach=None):
        self.addr = addr
        # where the harness connects to the node: its address, unless that is a name
        # the harness cannot resolve (the nodes' HOSTS_FILE is not the test's)
        self.reach = reach or addr
        self.view = list(view)
        self.rf = rf
        self.env = dict(env or {})
        self.log_path = log_path
        self.proc = None
        self.expected_exit = True  # no process yet
        self.paused = False
        self.starts = 0

    def full_env(self):
        e = dict(os.environ)
        e.update({
            "ADDRESS": self.addr,
            "VIEW": ",".join(self.view),
            "REPL_FACTOR": str(self.rf),
            "LOG_LEVEL": "info",
        })
        e.update({k: str(v) for k, v in self.env.items()})
        return e

    def start(self):
        assert not self.running(), "%s already running" % self.addr
        if _address_in_use(self.reach):
            raise AssertionError("%s is already in use by another process: its answers "
                                 "would be taken for this node's" % self.reach)
        self.starts += 1
        with open(self.log_path, "ab") as f:
            f.write(("\n===== start #%d of %s (VIEW=%s REPL_FACTOR=%s extra=%r) =====\n"
                     % (self.starts, self.addr, ",".join(self.view), self.rf, self.env)).encode())
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([CAUSALKV_BIN], env=self.full_env(), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_pdeathsig)
        finally:
            log.close()
        self.expected_exit = False
        self.paused = False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def unexpected_exit(self):
        """Exit code if the process died without the harness asking it to, else None."""
        if self.proc is None or self.expected_exit:
            return None
        return self.proc.poll()

    def send(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def kill(self, sig=signal.SIGKILL):
        if self.proc is None:
            return None
        self.expected_exit = True
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT) and self.paused:
                    self.proc.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL:
            self.proc.wait()
        self.paused = False
        return self.proc.poll()

    def tail(self, lines=40):
        """The last `lines` lines of the log; when the log holds a sanitizer report, the
        report's first lines (the error and its stacks) instead of its shadow-byte
        legend."""
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        text = data.decode("utf-8", "replace").splitlines()
        for i, line in enumerate(text):
            if any(m in line for m in SANITIZER_MARKS):
                start = max(0, i - 3)
                return "\n".join(text[start:start + max(lines, 45)])
        return "\n".join(text[-lines:])


class Cluster:
    """n nodes at 127.0.0.{first_ip}..{first_ip+n-1}, all on `port`, REPL_FACTOR rf.

    env: extra environment for every node (e.g. {"GOSSIP_INTERVAL_MS": 200}).
    addrs: list of "ip:port" in VIEW order; shards: list of replica lists."""

    def __init__(self, n, rf, port=None, first_ip=2, env=None, start=True, name=None,
                 ready_timeout=15, addrs=None, reach=None, node_env=None):
        if addrs is None:
            if port is None:
                addrs = current_slot().addrs(n)
            else:  # an explicit port, for tools outside the suite
                addrs = ["127.0.0.%d:%d" % (first_ip + i, port) for i in range(n)]
        assert len(addrs) == n, "%d addresses for %d nodes" % (len(addrs), n)
        self.n, self.rf = n, rf
        self.port = split_addr(addrs[0])[1]
        assert self.port < 32768, "ports above 32767 are the kernel's ephemeral range"
        self.env = dict(env or {})
        self.addrs = list(addrs)
        self.view = list(self.addrs)
        self.ready_timeout = ready_timeout
        name = name or "p%d-%s" % (self.port, self.addrs[0].rsplit(":", 1)[0])
        self.logdir = tempfile.mkdtemp(prefix="ckv-%s-" % name)
        # reach: {address: "ip:port" the harness connects to} for named members;
        # node_env: {address: extra environment of that node only} (e.g. its BIND)
        reach, node_env = reach or {}, node_env or {}
        self.nodes = [Node(a, self.view, rf, dict(self.env, **node_env.get(a, {})),
                           os.path.join(self.logdir, "node%d-%s.log" % (i, a.replace(":", "_"))),
                           reach=reach.get(a))
                      for i, a in enumerate(self.addrs)]
        self.extra = []
        self.failed = False
        self.closed = False
        with _LOCK:
            _ALL_CLUSTERS.append(self)
        if start:
            try:
                for i in range(n):
                    self.nodes[i].start()
                self.wait_ready()
            except BaseException:
                self.failed = True
                self.dump_logs()
                self.close()
                raise

    # -- topology (SPEC section 2) --
    @property
    def shards(self):
        return [self.addrs[i:i + self.rf] for i in range(0, self.n, self.rf)]

    def shard_of(self, addr):
        """1-based shard id of a member address."""
        return self.addrs.index(addr) // self.rf + 1

    def replicas(self, shard_id):
        return self.shards[shard_id - 1]

    def index(self, addr):
        return self.addrs.index(addr)

    def live_addrs(self):
        return [n.addr for n in self.nodes if n.running() and not n.paused]

    # -- processes --
    def all_nodes(self):
        return self.nodes + self.extra

    def _node(self, i):
        if isinstance(i, Node):
            return i
        if isinstance(i, str):
            for n in self.all_nodes():
                if n.addr == i:
                    return n
            raise KeyError(i)
        return self.nodes[i]

    def start_node(self, i, wait=True):
        node = self._node(i)
        node.start()
        if wait:
            self.wait_ready([node])
        return node

    def restart(self, i, wait=True):
        """Start node i again (a fresh, empty process) after kill/stop."""
        node = self._node(i)
        if node.running():
            node.kill()
        return self.start_node(node, wait=wait)

    def start_extra(self, addr, view, rf, env=None, wait=True):
        """Start a node outside the initial cluster (e.g. to join by view change)."""
        e = dict(self.env)
        e.update(env or {})
        node = Node(addr, view, rf, e,
                    os.path.join(self.logdir, "extra%d-%s.log" % (len(self.extra),
                                                                  addr.replace(":", "_"))))
        self.extra.append(node)
        node.start()
        if wait:
            self.wait_ready([node])
        return node

    def kill(self, i, sig=signal.SIGKILL):
        return self._node(i).kill(sig)

    def pause(self, i):
        node = self._node(i)
        node.send(signal.SIGSTOP)
        node.paused = True

    def resume(self, i):
        node = self._node(i)
        node.send(signal.SIGCONT)
        node.paused = False

    def _term(self, node):
        node.expected_exit = True
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            if node.paused:
                node.proc.send_signal(signal.SIGCONT)
                node.paused = False

    def stop(self, i, timeout=5):
        """SIGTERM and wait; return the exit code. On timeout, SIGKILL and raise."""
        node = self._node(i)
        if node.proc is None:
            return None
        self._term(node)
        return self._wait_exit(node, timeout)

    def _wait_exit(self, node, timeout):
        try:
            return node.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()
            raise AssertionError("%s did not exit within %.1fs of SIGTERM" % (node.addr, timeout))

    def wait_ready(self, nodes=None, timeout=None):
        nodes = [self._node(x) for x in nodes] if nodes is not None else \
            [n for n in self.all_nodes() if n.running()]
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        for node in nodes:
            while True:
                rc = node.proc.poll() if node.proc else -1
                if rc is not None:
                    raise AssertionError("%s exited with status %s while starting:\n%s"
                                         % (node.addr, rc, node.tail(20)))
                try:
                    st, _, _, _ = request(node.reach, "GET", "/kv-store/key-count", timeout=1)
                    if st == 200:
                        break
                except (OSError, http.client.HTTPException):
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("%s not ready within %.0fs:\n%s"
                                         % (node.addr, timeout or self.ready_timeout,
                                            node.tail(20)))
                time.sleep(0.02)

    # -- health --
    def crashed(self):
        """[(addr, exit status)] of nodes that exited without being told to."""
        out = []
        for n in self.all_nodes():
            rc = n.unexpected_exit()
            if rc is not None:
                out.append((n.addr, rc))
        return out

    def sanitizer_reports(self):
        out = []
        for n in self.all_nodes():
            try:
                with open(n.log_path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for mark in SANITIZER_MARKS:
                if mark in text:
                    out.append((n.addr, mark))
                    break
        return out

    def shutdown_check(self, timeout=10):
        """Stop every running node with SIGTERM; return a list of problems: nodes that
        crashed earlier, nodes exiting non-zero (sanitizer leak/error reports), nodes not
        exiting in time, sanitizer reports in any log."""
        problems = ["%s died unexpectedly with status %s" % c for c in self.crashed()]
        running = [n for n in self.all_nodes() if n.running()]
        for n in running:  # all at once: each then has `timeout` to exit, in parallel
            self._term(n)
        for n in running:
            try:
                rc = self._wait_exit(n, timeout)
            except AssertionError as e:
                problems.append(str(e))
                continue
            if rc != 0:
                problems.append("%s exited with status %s on SIGTERM" % (n.addr, rc))
        problems += ["%s log has a sanitizer report (%s)" % r for r in self.sanitizer_reports()]
        if problems:
            self.failed = True
        return problems

    def dump_logs(self, lines=40, out=None):
        out = out or sys.stderr
        out.write("\n---- causalkv node logs (%s) ----\n" % self.logdir)
        for n in self.all_nodes():
            state = "running" if n.running() else (
                "exit %s" % (n.proc.poll(),) if n.proc else "never started")
            out.write("== %s [%s] %s (last %d lines)\n%s\n"
                      % (n.addr, state, n.log_path, lines, n.tail(lines)))
        out.flush()

    def close_checked(self, dump_logs=True):
        """End of a test class: shutdown_check(), then raise AssertionError if there were
        problems (after dumping the node logs when dump_logs); close in any case."""
        try:
            problems = self.shutdown_check()
            if problems:
                if dump_logs:
                    self.dump_logs()
                raise AssertionError("node problems: %s" % problems)
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for n in self.all_nodes():
            try:
                n.kill(signal.SIGKILL)
            except Exception:
                pass
        with _LOCK:
            if self in _ALL_CLUSTERS:
                _ALL_CLUSTERS.remove(self)
        if not self.failed and not os.environ.get("CKV_KEEP_LOGS"):
            shutil.rmtree(self.logdir, ignore_errors=True)
        elif self.failed:
            sys.stderr.write("causalkv logs kept in %s\n" % self.logdir)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
            self.dump_logs()
        self.close()
        return False


# --------------------------------------------------------------------------- unittest glue


class CkvTestCase(unittest.TestCase):
    """TestCase that prints the tail of every node log of every open cluster when a test
    fails or errors, and marks those clusters failed (their logs are kept)."""

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for c in list(_ALL_CLUSTERS):
                c.failed = True
                c.dump_logs()
        return out

    def assertNoErrors(self, errors, what="errors", show=10):
        """Fail with the count and the first few entries (not a diff of a huge list)."""
        if errors:
            self.fail("%d %s; first %d:\n  %s" % (len(errors), what, min(show, len(errors)),
                                                 "\n  ".join(str(e)[:500]
                                                             for e in errors[:show])))

    # -- assertions on replies --
    def assertJsonReply(self, status, js, headers=None, want_status=None, exact=None,
                        msg=None):
        """Check a JSON reply: status, causal-context present and an object, and when
        `exact` is given, that the body has exactly those fields (plus causal-context,
        and `address` only if exact has it) with those values."""
        ctx = "%s%r" % ((msg + ": ") if msg else "", js)
        if want_status is not None:
            self.assertEqual(status, want_status, "status " + ctx)
        self.assertIsInstance(js, dict, "reply is not a JSON object: " + ctx)
        self.assertIn("causal-context", js, "causal-context missing: " + ctx)
        self.assertIsInstance(js["causal-context"], dict, "causal-context not an object: " + ctx)
        if headers is not None:
            self.assertTrue(headers.get("content-type", "").startswith(JSON_CT),
                            "Content-Type %r: %s" % (headers.get("content-type"), ctx))
        if exact is not None:
            want = dict(exact)
            got = {k: v for k, v in js.items() if k != "causal-context"}
            self.assertEqual(got, want, "body " + ctx)


def unique(prefix="k"):
    """A short unique token (keys must stay <= 50 bytes)."""
    unique.n += 1
    return "%s%d-%d" % (prefix, os.getpid() % 10000, unique.n)


unique.n = 0
