"""netns — a throw-away network of Linux network namespaces for causalkv fault runs.

    topo = Topology(n_nodes=6)          # needs root; names ckvf<PID>-...
    try:
        topo.create()
        node = topo.start_node(0, view=topo.addrs, rf=2)
        topo.enter_client()             # this thread's sockets now live in the client ns
        ...
    finally:
        topo.destroy()                  # processes, iptables state, links, namespaces

Layout (all names carry the PID of the run, so two runs never collide):

    ckvf<PID>-br   holds bridge br0 and one veth end per namespace (v1..vN, vc)
    ckvf<PID>-n<i> node i: eth0 = 10.213.0.(10+i)/24, lo up
    ckvf<PID>-cl   clients: eth0 = 10.213.0.2/24, lo up

Addresses come from 10.213.0.0/24 and exist only inside these namespaces (the host has no
route there). Faults are applied inside the node namespaces:

  * partitions: iptables DROP rules in a chain CKVF hooked into INPUT and OUTPUT of the
    node namespace (silent drops, like a real cut link: SYNs and segments vanish, the
    peer sees timeouts, not resets). One iptables-restore per namespace per change.
  * loss: iptables `-m statistic --mode random --probability p -j DROP` on OUTPUT to the
    other nodes.
  * delay: this kernel has no sch_netem (and no police/gact actions), so delay is made in
    user space: OUTPUT to the other nodes goes to NFQUEUE, and nfq_delay.py (running in
    the node namespace) holds each packet for delay +- jitter before accepting it.
    `--queue-bypass` lets packets through if the delayer is gone.

Every namespace, link and process is removed on destroy(), which also runs from atexit
and from SIGTERM/SIGINT/SIGHUP handlers; reap_stale() removes leftovers of earlier runs
whose PID no longer exists (and of this PID, from a previous process that had it).
"""

import atexit
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time

PREFIX = "ckvf"
SUBNET = "10.213.0"
CLIENT_IP = SUBNET + ".2"
PORT = 13800
HERE = os.path.dirname(os.path.abspath(__file__))

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


class NotRoot(SystemExit):
    pass


def require_root():
    if os.geteuid() != 0:
        raise NotRoot("the fault suite creates network namespaces and iptables rules: "
                      "run it as root (e.g. sudo scripts/faults.sh)")


def have_tools():
    """'' when ip and iptables are usable, else what is missing."""
    missing = []
    for tool in ("ip", "iptables", "iptables-restore"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/sbin:/usr/bin").split(":") +
                   ["/usr/sbin", "/sbin"]):
            missing.append(tool)
    return " ".join(missing)


def run(cmd, check=True, input=None, timeout=20):
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                  p.stderr.strip()))
    return p


def list_netns():
    p = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _ns_pids(ns):
    p = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def delete_netns(ns):
    """Kill what still runs in ns (by PID) and delete it."""
    for pid in _ns_pids(ns):
        try:
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run(["ip", "netns", "delete", ns], check=False)


def reap_stale(own_pid=None):
    """Delete namespaces ckvf<PID>-* left by runs whose PID is dead (or is own_pid:
    a namespace of our own PID that we did not create is a leftover of a previous
    process with the same PID). Returns the names removed."""
    removed = []
    for ns in list_netns():
        m = re.match(r"^%s(\d+)-" % PREFIX, ns)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == own_pid or not _pid_alive(pid):
            delete_netns(ns)
            removed.append(ns)
    return removed


def setns(ns_name):
    """Move the calling thread into network namespace ns_name (None = the one saved at
    import). Threads started afterwards from this thread inherit it."""
    path = "/run/netns/%s" % ns_name if ns_name else "/proc/%d/ns/net" % os.getpid()
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


_ORIG_NS_FD = None


def _save_orig_ns():
    global _ORIG_NS_FD
    if _ORIG_NS_FD is None:
        _ORIG_NS_FD = os.open("/proc/thread-self/ns/net", os.O_RDONLY)


def leave_ns():
    """Back to the network namespace the process started in."""
    if _ORIG_NS_FD is not None:
        _libc.setns(_ORIG_NS_FD, CLONE_NEWNET)


def _pdeathsig():
    try:
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover
        pass


class NodeProc:
    """One causalkv process in a namespace. PID-based control only."""

    def __init__(self, idx, ns, addr, log_path):
        self.idx, self.ns, self.addr, self.log_path = idx, ns, addr, log_path
        self.proc = None
        self.expected_exit = True
        self.paused = False
        self.starts = 0
        self.view = None
        self.rf = None
        self.exits = []  # (time, status, expected)

    def start(self, binary, view, rf, env=None):
        assert not self.running(), "%s already running" % self.addr
        self.view, self.rf = list(view), rf
        self.starts += 1
        e = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        e.update(SANITIZER_ENV)
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update({"ADDRESS": self.addr, "VIEW": ",".join(view), "REPL_FACTOR": str(rf),
                  "LOG_LEVEL": "info"})
        e.update({k: str(v) for k, v in (env or {}).items()})
        with open(self.log_path, "ab") as f:
            f.write(("\n===== start #%d of %s in %s (VIEW=%s REPL_FACTOR=%s) %.3f =====\n"
                     % (self.starts, self.addr, self.ns, e["VIEW"], rf, time.time())).encode())
            # `ip netns exec` execs the binary: the PID we get is causalkv's own
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, binary], env=e,
                                         stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig)
        self.expected_exit = False
        self.paused = False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def poll_exit(self):
        """Record an exit once; returns (status, expected) for a new exit, else None."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None or getattr(self.proc, "_ckvf_seen", False):
            return None
        self.proc._ckvf_seen = True
        self.exits.append((time.monotonic(), rc, self.expected_exit))
        return rc, self.expected_exit

    def signal(self, sig):
        if self.running():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def kill9(self):
        if self.proc is None:
            return None
        self.expected_exit = True
        self.signal(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.paused = False
        self.poll_exit()
        return self.proc.poll()

    def stop(self, timeout=10):
        """SIGTERM (SIGCONT first if paused), wait; SIGKILL at the deadline. Returns
        (status, clean) where clean means it exited by itself within the deadline."""
        if self.proc is None:
            return None, True
        if self.proc.poll() is not None:
            return self.proc.poll(), True
        self.expected_exit = True
        self.signal(signal.SIGTERM)
        if self.paused:
            self.signal(signal.SIGCONT)
            self.paused = False
        try:
            rc = self.proc.wait(timeout)
            self.poll_exit()
            return rc, True
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.poll_exit()
            return self.proc.poll(), False


class Topology:
    """n node namespaces + a client namespace on one bridge (in its own namespace)."""

    def __init__(self, n_nodes, logdir, binary=None, tag=None, node_env=None):
        self.n = n_nodes
        self.pid = os.getpid()
        self.tag = tag or ""
        self.prefix = "%s%d-%s" % (PREFIX, self.pid, self.tag) if self.tag else \
            "%s%d-" % (PREFIX, self.pid)
        self.br_ns = self.prefix + "br"
        self.client_ns = self.prefix + "cl"
        self.node_ns = [self.prefix + "n%d" % i for i in range(n_nodes)]
        self.ips = ["%s.%d" % (SUBNET, 10 + i) for i in range(n_nodes)]
        self.addrs = ["%s:%d" % (ip, PORT) for ip in self.ips]
        self.logdir = logdir
        self.binary = binary
        self.node_env = dict(node_env or {})
        self.nodes = [NodeProc(i, self.node_ns[i], self.addrs[i],
                               os.path.join(logdir, "node%d.log" % i)) for i in range(n_nodes)]
        self.created = []
        self.helpers = []   # extra processes (delayers): Popen
        self.destroyed = False
        self.cuts = set()   # frozenset({i, j}) node pairs cut; ("client", i) for client cuts
        self._lock = threading.Lock()
        _register(self)

    # -- setup --------------------------------------------------------------------
    def create(self):
        require_root()
        missing = have_tools()
        if missing:
            raise SystemExit("missing tools: %s (apt-get install iproute2 iptables)" % missing)
        _save_orig_ns()
        reap_stale(own_pid=None)
        for ns in list_netns():
            if ns.startswith(self.prefix):
                delete_netns(ns)
        os.makedirs(self.logdir, exist_ok=True)
        try:
            self._add_ns(self.br_ns)
            run(["ip", "-n", self.br_ns, "link", "add", "br0", "type", "bridge"])
            run(["ip", "-n", self.br_ns, "link", "set", "br0", "up"])
            for ns, ip, end in ([(self.client_ns, CLIENT_IP, "vc")] +
                                [(self.node_ns[i], self.ips[i], "v%d" % i)
                                 for i in range(self.n)]):
                self._add_ns(ns)
                run(["ip", "-n", self.br_ns, "link", "add", end, "type", "veth",
                     "peer", "name", "eth0", "netns", ns])
                run(["ip", "-n", self.br_ns, "link", "set", end, "master", "br0", "up"])
                run(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0"])
                run(["ip", "-n", ns, "link", "set", "eth0", "up"])
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
            for ns in self.node_ns:
                self._iptables_restore(ns, self._rules(ns_idx=self.node_ns.index(ns)))
        except BaseException:
            self.destroy()
            raise
        return self

    def _add_ns(self, ns):
        run(["ip", "netns", "add", ns])
        self.created.append(ns)

    # -- nodes --------------------------------------------------------------------
    def start_node(self, i, view, rf, env=None):
        e = dict(self.node_env)
        e.update(env or {})
        self.nodes[i].start(self.binary, view, rf, e)
        return self.nodes[i]

    # -- client side --------------------------------------------------------------
    def enter_client(self):
        _save_orig_ns()
        setns(self.client_ns)

    # -- faults: iptables ---------------------------------------------------------
    def _rules(self, ns_idx, loss=0.0, delay=False):
        """iptables-restore input for node ns_idx given self.cuts."""
        me = ns_idx
        lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                 ":OUTPUT ACCEPT [0:0]", ":CKVF - [0:0]", ":CKVSLOW - [0:0]",
                 "-A INPUT -j CKVF", "-A OUTPUT -j CKVF", "-A OUTPUT -j CKVSLOW"]
        for j in range(self.n):
            if j != me and frozenset((me, j)) in self.cuts:
                lines.append("-A CKVF -s %s/32 -j DROP" % self.ips[j])
                lines.append("-A CKVF -d %s/32 -j DROP" % self.ips[j])
        if ("client", me) in self.cuts:
            lines.append("-A CKVF -s %s/32 -j DROP" % CLIENT_IP)
            lines.append("-A CKVF -d %s/32 -j DROP" % CLIENT_IP)
        for j in range(self.n):
            if j == me:
                continue
            if loss > 0:
                lines.append("-A CKVSLOW -d %s/32 -m statistic --mode random "
                             "--probability %.3f -j DROP" % (self.ips[j], loss))
            if delay:
                lines.append("-A CKVSLOW -d %s/32 -j NFQUEUE --queue-num 0 --queue-bypass"
                             % self.ips[j])
        lines.append("COMMIT")
        return "\n".join(lines) + "\n"

    def _iptables_restore(self, ns, text):
        run(["ip", "netns", "exec", ns, "iptables-restore", "-w", "5"], input=text)

    def apply(self, cuts, slow=None):
        """Install exactly `cuts` (set of frozenset({i,j}) and ("client", i)) and the slow
        link setting slow = None or (loss, delay_flag) in every node namespace."""
        with self._lock:
            self.cuts = set(cuts)
            loss, delay = slow if slow else (0.0, False)
            for i, ns in enumerate(self.node_ns):
                self._iptables_restore(ns, self._rules(i, loss, delay))

    def heal(self):
        self.apply(set(), None)

    def start_delayer(self, i, delay_ms, jitter_ms):
        log = open(os.path.join(self.logdir, "delayer%d.log" % i), "ab")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.node_ns[i], sys.executable,
                                  os.path.join(HERE, "nfq_delay.py"), "--queue", "0",
                                  "--delay-ms", str(delay_ms), "--jitter-ms", str(jitter_ms)],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 preexec_fn=_pdeathsig)
        finally:
            log.close()
        self.helpers.append(p)
        return p

    def stop_helpers(self):
        for p in self.helpers:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                    p.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.kill(p.pid, signal.SIGKILL)
                        p.wait(5)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        pass
        self.helpers = []

    # -- teardown -----------------------------------------------------------------
    def destroy(self):
        with self._lock:
            if self.destroyed:
                return
            self.destroyed = True
        try:
            leave_ns()
        except Exception:
            pass
        for node in self.nodes:
            try:
                if node.running():
                    node.expected_exit = True
                    node.signal(signal.SIGCONT)
                    node.signal(signal.SIGKILL)
                    node.proc.wait(5)
            except Exception:
                pass
        try:
            self.stop_helpers()
        except Exception:
            pass
        for ns in reversed(self.created):
            delete_netns(ns)
        for ns in list_netns():
            if ns.startswith(self.prefix):
                delete_netns(ns)
        _unregister(self)


# --------------------------------------------------------------------------- cleanup hooks

_LIVE = []
_LIVE_LOCK = threading.Lock()


def _register(t):
    with _LIVE_LOCK:
        _LIVE.append(t)


def _unregister(t):
    with _LIVE_LOCK:
        if t in _LIVE:
            _LIVE.remove(t)


def destroy_all():
    with _LIVE_LOCK:
        live = list(_LIVE)
    for t in live:
        try:
            t.destroy()
        except Exception as e:  # pragma: no cover
            sys.stderr.write("cleanup of %s failed: %r\n" % (t.prefix, e))


atexit.register(destroy_all)


def _on_signal(signum, frame):
    destroy_all()
    # re-raise as a normal exit so finally blocks and atexit run (they find nothing left)
    raise SystemExit(128 + signum)


def install_signal_handlers():
    if threading.current_thread() is not threading.main_thread():
        return
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        try:
            signal.signal(s, _on_signal)
        except (ValueError, OSError):
            pass


install_signal_handlers()
