"""hostile_base — what the test_hostile_*.py files share (issue 6): a running 2-node
cluster (REPL_FACTOR=1, so two shards: every key case is sent to both nodes, one serves
it locally and the other proxies it to the owner), a normal client, and the checks.

Every nasty request must get a well-formed HTTP reply -- a JSON error with the status the
SPEC/README fixes, or libevent's own 4xx page for header/request-line/declared-length
limits -- or a closed connection, within the configured timeouts. Meanwhile a normal
client keeps doing PUT/GET on both nodes and must see no error and no wrong value. At the
end (test_zz_normal_client_and_shutdown, the last test of every file) both nodes are
alive, exit 0 on SIGTERM and their logs hold no sanitizer report.

The nodes run with HTTP_TIMEOUT_MS=2000 (default 10000) so that the idle, slow-client
(slowloris) and unfinished-body cases end in about two seconds instead of ten. Each file
has its own nodes, on the port and addresses the harness gives it (ckvtest.slot).

A file subclasses hostile_base.HostileCase (import the module, not the class, or
unittest runs the base class's test too) and sets MIN_NASTY.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loadgen  # noqa: E402
from ckvtest import JSON_CT, Cluster, CkvTestCase, Session, keypath, poll, request  # noqa: E402
from rawhttp import Malformed, Reply, exchange  # noqa: E402

HTTP_TIMEOUT = 2.0  # HTTP_TIMEOUT_MS given to the nodes below
CAUSAL_TIMEOUT = 2.0  # CAUSAL_TIMEOUT_MS default
MARGIN = 3.0  # slack for a loaded machine and a sanitizer build
MAX_BODY = 2 << 20  # MAX_BODY_BYTES default
FRAMING = 64 << 10  # CKV_FRAMING_BYTES: libevent's own limit is MAX_BODY_BYTES plus this
MAX_VALUE = 1 << 20  # MAX_VALUE_BYTES default

PARSE_ERROR = "Failed to parse request body"


# --------------------------------------------------------------------------- the normal client


class NormalClient(loadgen.LoadThread):
    """Keeps writing and reading its own keys on both nodes (PUT at one, GET at the
    other, echoing the causal context) and records every error and wrong value."""

    def __init__(self, addrs):
        super().__init__(name="normal-client", pace=0.005)
        self.addrs = addrs
        self.ops = 0
        self.session = Session(self.addrs, "normal", rng=random.Random(6),
                               timeout=HTTP_TIMEOUT + 8)
        self.model = {}
        self.i = 0

    def step(self):
        s, model, i = self.session, self.model, self.i
        self.i += 1
        key = "normal-%d" % (i % 64)
        value = "v%d-%s" % (i, "x" * (i % 7))
        w, r = self.addrs[i % 2], self.addrs[(i + 1) % 2]
        t0 = time.monotonic()
        try:
            st, js = s.put(key, value, addr=w)
            if st not in (200, 201):
                self.errors.append("PUT %s at %s: %s %r" % (key, w, st, js))
            else:
                if (st == 201) != (key not in model):
                    self.errors.append("PUT %s at %s: %s but key %s" %
                                       (key, w, st, "known" if key in model else "new"))
                model[key] = value
            st, js = s.get(key, addr=r)
            if st != 200 or js.get("value") != model.get(key):
                self.errors.append("GET %s at %s: %s %r, want %r"
                                   % (key, r, st, js, model.get(key)))
            self.ops += 2
        except Exception as e:  # any exception is an error for a normal client
            self.errors.append("op %d on %s/%s after %.2fs: %r"
                               % (i, w, r, time.monotonic() - t0, e))

    def finished(self):
        self.errors.extend(self.session.ctx_errors)

    def finish(self):
        self.stop(30)
        return self.errors


# --------------------------------------------------------------------------- the base case


class HostileCase(CkvTestCase):
    nasty = 0
    MIN_NASTY = 40  # nasty requests a file must send (each file sets its own)

    @classmethod
    def setUpClass(cls):
        # HTTP_TIMEOUT_MS=2000 (default 10000): idle and slow clients are cut off quickly.
        cls.cluster = Cluster(2, 1, name="hostile",
                              env={"HTTP_TIMEOUT_MS": int(HTTP_TIMEOUT * 1000)})
        cls.addrs = cls.cluster.addrs
        cls.client = NormalClient(cls.addrs)
        cls.client.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.client.finish()
        finally:
            cls.cluster.close()

    def tearDown(self):
        self.assertEqual(self.cluster.crashed(), [], "a node crashed")

    # ---------------------------------------------------------------- helpers
    def count(self, n=1):
        type(self).nasty += n

    def raw(self, addr, data, **kw):
        self.count()
        kw.setdefault("timeout", HTTP_TIMEOUT + MARGIN)
        try:
            return exchange(addr, data, **kw)
        except Malformed as e:
            self.fail("malformed reply from %s to %r: %s" % (addr, data[:120], e))

    def one(self, addr, data, what, **kw):
        """Exactly one well-formed reply to a raw request, within the timeouts."""
        ex = self.raw(addr, data, **kw)
        self.assertEqual(len(ex.replies), 1, "%s at %s: %r" % (what, addr, ex))
        self.assertLess(ex.elapsed, HTTP_TIMEOUT + MARGIN, what)
        return ex.replies[0]

    def http(self, addr, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT + MARGIN):
        """A request through http.client (ckvtest.request); returns a Reply."""
        self.count()
        st, js, hd, payload = request(addr, method, path, body, timeout=timeout,
                                      headers=headers, raw=True)
        rep = Reply(st, "", hd, payload)
        return rep

    def assertJsonError(self, rep, status, error, method, what=""):
        what = "%s: %r" % (what, rep)
        self.assertEqual(rep.status, status, what)
        self.assertTrue(rep.headers.get("content-type", "").startswith(JSON_CT), what)
        js = rep.json
        self.assertIsInstance(js, dict, what)
        self.assertEqual(js.get("message"), "Error in " + method, what)
        if error is not None:
            self.assertEqual(js.get("error"), error, what)
        else:
            self.assertIsInstance(js.get("error"), str, what)
        self.assertIsInstance(js.get("causal-context"), dict, what)
        if "address" in js:
            self.assertIn(js["address"], self.addrs, what)

    def assertLibevent(self, rep, statuses, what=""):
        """libevent's own error page (or, if the node got there first, a JSON error)."""
        self.assertIn(rep.status, statuses, "%s: %r" % (what, rep))
        self.assertEqual(int(rep.headers["content-length"]), len(rep.body), what)

    def assertClosedOrStatus(self, ex, statuses, what):
        """Either a well-formed reply with one of `statuses` or a closed connection, in
        time (a node that answers early and closes may reset before the reply is read)."""
        self.assertLess(ex.elapsed, HTTP_TIMEOUT + MARGIN, "%s: %r" % (what, ex))
        if ex.replies:
            self.assertIn(ex.replies[0].status, statuses, "%s: %r" % (what, ex))
        else:
            self.assertTrue(ex.closed or ex.send_error, "%s: no reply, not closed: %r"
                            % (what, ex))

    def both(self, method, path, body=None, headers=None):
        """Send a key request to both nodes (one local, one proxied); return replies."""
        out = []
        for a in self.addrs:
            rep = self.http(a, method, path, body, headers)
            out.append(rep)
        local = [r for r in out if isinstance(r.json, dict) and "address" not in r.json]
        if all(isinstance(r.json, dict) for r in out):
            self.assertEqual(len(local), 1, "one node serves locally, one proxies: %r" % out)
        return out

    def key_error_both(self, method, path, status, error, body=None):
        for rep in self.both(method, path, body):
            self.assertJsonError(rep, status, error, method, "%s %s" % (method, path[:80]))

    def roundtrip(self, raw_path, value, get_paths=()):
        """PUT at one node, GET at the other (and at the equivalent paths)."""
        a, b = self.addrs
        rep = self.http(a, "PUT", raw_path, {"value": value})
        self.assertIn(rep.status, (200, 201), "PUT %s: %r" % (raw_path, rep))
        self.assertIsInstance(rep.json.get("causal-context"), dict, rep)
        ctx = rep.json["causal-context"]
        for p in (raw_path,) + tuple(get_paths):
            for addr in (b, a):
                rep = self.http(addr, "GET", p, {"causal-context": ctx})
                self.assertEqual((rep.status, rep.json.get("value")), (200, value),
                                 "GET %s at %s: %r" % (p, addr, rep))

    def owner_of(self, key):
        """Address of the node owning key (it answers locally, without `address`)."""
        st, js, _, _ = request(self.addrs[0], "GET", keypath(key))
        self.assertIn(st, (200, 404), js)
        return js.get("address", self.addrs[0])


    # ---------------------------------------------------------------- the end
    def test_zz_normal_client_and_shutdown(self):
        """Runs last: the normal client saw no error, both nodes are alive, at least
        MIN_NASTY nasty requests were sent, SIGTERM makes both exit 0, no sanitizer report."""
        # a short file may be done before the normal client got going: let it reach the
        # operations the check below asks for (bounded), then stop it
        try:
            poll(lambda: self.client.ops > 20 or not self.client.is_alive(), 10,
                 msg="the normal client's first 20 operations")
        except AssertionError:
            pass  # reported by the assertion below
        errors = self.client.finish()
        self.assertGreater(self.client.ops, 20, "the normal client barely ran")
        self.assertNoErrors(errors, "errors seen by the normal client")
        self.assertGreaterEqual(type(self).nasty, self.MIN_NASTY, "nasty requests sent")
        for addr in self.addrs:
            st, js, _, _ = request(addr, "GET", "/healthz")
            self.assertEqual(st, 200, js)
        self.assertEqual(self.cluster.crashed(), [])
        problems = self.cluster.shutdown_check()
        self.assertEqual(problems, [], "node problems")
        sys.stderr.write("\n%d nasty requests, %d normal operations\n"
                         % (type(self).nasty, self.client.ops))


