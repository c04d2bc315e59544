"""The API as a browser uses it (README "The causal context in a header", "CORS",
"Dashboard"), without a browser:

  1 X-Causal-Context: a context sent only in the header is honoured (a write through one
    replica read at once through the other, locally and through the proxy); header and
    body both present are joined (either one alone, ahead of the node, makes it wait);
    every client endpoint's reply repeats its body's context in the header; a malformed
    header is 400 "Failed to parse request body" exactly like a malformed body, on the
    owner and on a forwarding node
  2 CORS: a preflight from an allowed origin (CORS_ORIGINS, or a node's own origin) is
    answered 204 with the methods and headers; another origin's is 403; replies to an
    allowed origin expose X-Causal-Context; OPTIONS without CORS stays 405; internal
    endpoints never answer CORS; a malformed CORS_ORIGINS exits 2 naming the variable
  3 GET /kv-store/status: state, view, epoch, shard, key count, request counters, and
    replication lag that grows while a replica is paused and drains when it resumes
  4 GET /dashboard and its files: the bytes of dashboard/, with a CSP

Four nodes, REPL_FACTOR=2 (shard 1 = a0 a1, shard 2 = a2 a3), CORS_ORIGINS set to one
foreign origin, a short causal timeout; plus one default node for the defaults."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import (CAUSALKV_BIN, SOURCE_DIR, Cluster, CkvTestCase, ctx_ge, keypath,  # noqa: E402
                     poll, request)
from shardhash import keys_for_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(4)
SOLO = SLOT.addrs(1)
APP = "http://app.example:8080"
HDR = "X-Causal-Context"
CAUSAL_TIMEOUT_MS = 600
BAD = "Failed to parse request body"


def hdr_ctx(ctx):
    return {HDR: json.dumps(ctx)}


def reply_ctx(headers):
    """The context of the X-Causal-Context reply header (parsed), or None."""
    h = headers.get(HDR.lower())
    return json.loads(h) if h is not None else None


class HeaderContext(CkvTestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(4, 2, addrs=ADDRS, name="browserapi",
                        env={"CORS_ORIGINS": APP, "CAUSAL_TIMEOUT_MS": CAUSAL_TIMEOUT_MS})
        poll(lambda: all(ckvtest.health(a)[0] == 200 for a in ADDRS), 15,
             msg="every node healthy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close_checked()

    def tearDown(self):
        self.assertEqual(self.c.crashed(), [], "a node died")

    def key_of(self, shard, prefix):
        return keys_for_shard("%s%d" % (prefix, os.getpid() % 1000), shard, 2, 1)[0]

    def assertHeaderMatchesBody(self, st, js, rh, what):
        self.assertIsInstance(js, dict, what)
        self.assertEqual(reply_ctx(rh), js["causal-context"], "%s: %s %r" % (what, st, rh))

    # -------------------------------------------------------------- 1 header form
    def test_header_only_keeps_causality_between_replicas(self):
        a0, a1 = ADDRS[0], ADDRS[1]
        ctx = None
        for i in range(30):
            key = "hdr-rw-%d" % i
            h = hdr_ctx(ctx) if ctx else {HDR: "{}"}  # the header form from the start
            st, js, rh, _ = request(a0, "PUT", keypath(key), {"value": "v%d" % i}, headers=h)
            self.assertEqual(st, 201, js)
            self.assertHeaderMatchesBody(st, js, rh, "PUT")
            ctx = reply_ctx(rh)
            # at once through the other replica, the context in the header only
            st, js, rh, _ = request(a1, "GET", keypath(key), headers=hdr_ctx(ctx))
            self.assertEqual((st, js.get("value")), (200, "v%d" % i), js)
            self.assertTrue(ctx_ge(reply_ctx(rh), ctx), (reply_ctx(rh), ctx))
            ctx = reply_ctx(rh)

    def test_header_through_the_proxy(self):
        key = self.key_of(2, "hdr-px")  # shard 2: a0 forwards
        st, js, rh, _ = request(ADDRS[2], "PUT", keypath(key), {"value": "p"},
                                headers={HDR: "{}"})
        self.assertEqual(st, 201, js)
        ctx = reply_ctx(rh)
        st, js, rh, _ = request(ADDRS[0], "GET", keypath(key), headers=hdr_ctx(ctx))
        self.assertEqual((st, js.get("value"), js.get("address") in ADDRS[2:]), (200, "p", True), js)
        self.assertHeaderMatchesBody(st, js, rh, "proxied GET")
        self.assertTrue(ctx_ge(reply_ctx(rh), ctx))
        # a context ahead of the owner, in the header only, must reach the owner: it waits
        ahead = {"epoch": ctx["epoch"], "clock": {ADDRS[2]: 10 ** 6}}
        st, js, rh, _ = request(ADDRS[0], "GET", keypath(key), headers=hdr_ctx(ahead), timeout=10)
        self.assertEqual((st, js.get("error")), (503, "Unable to satisfy request"), js)

    def test_header_and_body_are_joined(self):
        key = self.key_of(1, "hdr-join")
        st, js, rh, _ = request(ADDRS[0], "PUT", keypath(key), {"value": "j"},
                                headers={HDR: "{}"})
        base = reply_ctx(rh)
        ahead = {"epoch": base["epoch"], "clock": {ADDRS[1]: 10 ** 6}}
        # either one ahead of the node makes it wait: both are read
        for body_ctx, header_ctx in ((base, ahead), (ahead, base)):
            st, js, _, _ = request(ADDRS[0], "GET", keypath(key), {"causal-context": body_ctx},
                                   headers=hdr_ctx(header_ctx), timeout=10)
            self.assertEqual(st, 503, (body_ctx, header_ctx, js))
        # joined: the reply is >= both
        other = {"epoch": base["epoch"], "clock": {ADDRS[2]: 1}, "lamport": 0}
        st, js, rh, _ = request(ADDRS[0], "GET", keypath(key), {"causal-context": other},
                                headers=hdr_ctx(base))
        self.assertEqual(st, 200, js)
        for sent in (base, other):
            self.assertTrue(ctx_ge(reply_ctx(rh), sent), (reply_ctx(rh), sent))
        # a history without a Lamport time (an older node's context) makes the join wait
        # for its dependencies like it: the reply says so by carrying none
        old = {"epoch": base["epoch"], "clock": {ADDRS[2]: 1}}
        st, js, rh, _ = request(ADDRS[0], "GET", keypath(key), {"causal-context": old},
                                headers=hdr_ctx(base))
        self.assertEqual(st, 200, js)
        self.assertNotIn("lamport", reply_ctx(rh), reply_ctx(rh))
        self.assertTrue(ctx_ge(reply_ctx(rh)["clock"], base["clock"]), (reply_ctx(rh), base))
        # a newer epoch in one of them dominates the other: not this node's epoch, it waits
        st, js, _, _ = request(ADDRS[0], "GET", keypath(key), {"causal-context": base},
                               headers=hdr_ctx({"epoch": base["epoch"] + 5}), timeout=10)
        self.assertEqual(st, 503, js)

    def test_every_client_reply_has_the_header(self):
        k1, k2 = self.key_of(1, "hdr-all"), self.key_of(2, "hdr-all")
        cases = [("PUT", keypath(k1), {"value": "x"}), ("GET", keypath(k1), None),
                 ("PUT", keypath(k2), {"value": "y"}), ("GET", keypath(k2), None),
                 ("DELETE", keypath(k2), None), ("GET", keypath(k2), None),
                 ("GET", "/kv-store/key-count", None), ("GET", "/kv-store/shards", None),
                 ("GET", "/kv-store/shards/1", None), ("GET", "/kv-store/shards/2", None),
                 ("GET", "/kv-store/shards/9", None), ("PUT", keypath(""), {"value": "x"})]
        for method, path, body in cases:  # clients of the header form: empty at first
            st, js, rh, _ = request(ADDRS[0], method, path, body, headers={HDR: "{}"})
            self.assertHeaderMatchesBody(st, js, rh, "%s %s" % (method, path))
            st, js, rh, _ = request(ADDRS[0], method, path, body,  # a browser
                                    headers={"Origin": "http://%s" % ADDRS[1]})
            self.assertHeaderMatchesBody(st, js, rh, "%s %s with Origin" % (method, path))
        # a client that keeps its context in the body gets it there only
        st, js, rh, _ = request(ADDRS[0], "GET", keypath(k1))
        self.assertEqual(st, 200, js)
        self.assertIsNone(rh.get(HDR.lower()), "body-only client")
        # monitoring replies carry no context, so no header
        for path in ("/healthz", "/kv-store/status", "/metrics"):
            st, _, rh, _ = request(ADDRS[0], "GET", path, raw=True)
            self.assertIsNone(rh.get(HDR.lower()), path)

    def test_bad_header_is_400_like_a_bad_body(self):
        k1, k2 = self.key_of(1, "hdr-bad"), self.key_of(2, "hdr-bad")  # local, forwarded
        bad = ['{"epoch":-1}', "not json", '{"clock":[]}', '{"clock":{"%s":"1"}}' % ADDRS[0],
               '{"epoch":1,"epoch":2}', "{}{}", '"x"', "5"]
        for value in bad:
            for method, path, body in (("GET", keypath(k1), None), ("GET", keypath(k2), None),
                                       ("PUT", keypath(k1), {"value": "v"}),
                                       ("PUT", keypath(k2), {"value": "v"}),
                                       ("DELETE", keypath(k2), None),
                                       ("GET", "/kv-store/key-count", None),
                                       ("GET", "/kv-store/shards/2", None),
                                       ("PUT", "/kv-store/view-change",
                                        {"view": ADDRS, "repl-factor": 2})):
                st, js, rh, _ = request(ADDRS[0], method, path, body, headers={HDR: value})
                what = "%s %s with %s: %r" % (method, path, value, js)
                self.assertEqual(st, 400, what)
                self.assertEqual(js.get("error"), BAD, what)
                self.assertEqual(js.get("message"), "Error in " + method, what)
                self.assertIsInstance(js.get("causal-context"), dict, what)
                # and exactly what the same context in the body gets
                bst, bjs, _, _ = request(ADDRS[0], method, path,
                                         '{"causal-context":%s}' % value)
                if bst == 400:
                    self.assertEqual(bjs.get("error"), BAD, what)
        for value in ("", "{}", "null", '""'):  # empty forms are the empty context
            st, js, _, _ = request(ADDRS[0], "GET", "/kv-store/key-count", headers={HDR: value})
            self.assertEqual(st, 200, (value, js))

    # -------------------------------------------------------------- 2 CORS
    def preflight(self, addr, origin, path, method="PUT"):
        return request(addr, "OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,x-causal-context"}, raw=True)

    def test_preflight(self):
        for origin in (APP, "http://" + ADDRS[3]):
            st, _, rh, raw = self.preflight(ADDRS[0], origin, keypath("cors-k"))
            self.assertEqual(st, 204, (origin, raw))
            self.assertEqual(raw, b"")
            self.assertEqual(rh.get("access-control-allow-origin"), origin)
            self.assertEqual(rh.get("access-control-allow-methods"), "GET, PUT, DELETE")
            allowed = [h.strip().lower() for h in rh.get("access-control-allow-headers").split(",")]
            self.assertEqual(sorted(allowed), ["content-type", "x-causal-context", "x-request-id"])
            self.assertIn("Origin", rh.get("vary", ""))
        st, _, rh, _ = self.preflight(ADDRS[1], APP, "/kv-store/view-change")
        self.assertEqual((st, rh.get("access-control-allow-methods")), (204, "PUT"))
        st, _, rh, _ = self.preflight(ADDRS[1], APP, "/kv-store/status", "GET")
        self.assertEqual((st, rh.get("access-control-allow-methods")), (204, "GET"))

    def test_preflight_refused(self):
        for origin in ("http://evil.example", APP + "/", "http://" + ADDRS[0] + "0", "null"):
            st, js, rh, raw = self.preflight(ADDRS[0], origin, keypath("cors-k"))
            self.assertEqual(st, 403, (origin, raw))
            self.assertIsNone(rh.get("access-control-allow-origin"), origin)
            self.assertEqual(json.loads(raw)["error"], "Origin not allowed")
        # internal endpoints are for nodes: no CORS, whatever the origin
        for path in ("/kv-store/internal/sync", "/kv-store/internal/replicate"):
            st, _, rh, _ = self.preflight(ADDRS[0], APP, path, "POST")
            self.assertIn(st, (403, 405), path)  # refused as any OPTIONS there is
            self.assertIsNone(rh.get("access-control-allow-origin"), path)
        # OPTIONS that is no preflight keeps the API's 405
        st, js, rh, _ = request(ADDRS[0], "OPTIONS", keypath("cors-k"))
        self.assertEqual((st, js.get("error"), rh.get("allow")),
                         (405, "Method not allowed", "GET, PUT, DELETE"))

    def test_replies_to_allowed_origins(self):
        st, js, rh, _ = request(ADDRS[0], "PUT", keypath("cors-v"), {"value": "1"},
                                headers={"Origin": APP})
        self.assertIn(st, (200, 201), js)
        self.assertEqual(rh.get("access-control-allow-origin"), APP)
        self.assertEqual(rh.get("access-control-expose-headers"), HDR + ", X-Request-Id")
        st, js, rh, _ = request(ADDRS[0], "GET", keypath("cors-v"),
                                headers={"Origin": "http://evil.example"})
        self.assertEqual(st, 200)  # served (CORS is the browser's to enforce) ...
        self.assertIsNone(rh.get("access-control-allow-origin"))  # ... but not readable there
        self.assertIsNone(rh.get("access-control-expose-headers"))
        st, js, rh, _ = request(ADDRS[0], "GET", keypath("cors-v"))
        self.assertIsNone(rh.get("access-control-allow-origin"))

    # -------------------------------------------------------------- 3 status
    def status(self, addr):
        st, js, rh, _ = request(addr, "GET", "/kv-store/status")
        self.assertEqual(st, 200, js)
        self.assertTrue(rh.get("content-type", "").startswith("application/json"))
        return js

    def test_status(self):
        for i, a in enumerate(ADDRS):
            js = self.status(a)
            self.assertEqual(js["address"], a)
            self.assertEqual(js["state"], "up")
            self.assertEqual((js["view"], js["repl-factor"], js["epoch"]), (ADDRS, 2, 0))
            self.assertEqual(js["shard-id"], i // 2 + 1)
            peer = ADDRS[i ^ 1]
            self.assertEqual(list(js["lag"].keys()), [peer])
            self.assertEqual(len(js["latency-buckets"]), len(js["latency-bounds-ms"]) + 1)
            self.assertEqual(sum(js["latency-buckets"]), js["requests"])
            _, kc, _, _ = request(a, "GET", "/kv-store/key-count")
            self.assertEqual(js["key-count"], kc["key-count"])
        before = self.status(ADDRS[0])["requests"]
        for _ in range(5):
            request(ADDRS[0], "GET", "/kv-store/key-count")
        request(ADDRS[0], "GET", "/kv-store/status")  # monitoring is not counted
        self.assertEqual(self.status(ADDRS[0])["requests"], before + 5)

    def test_status_lag_while_a_replica_is_paused(self):
        a2, a3 = ADDRS[2], ADDRS[3]
        self.c.pause(a3)
        try:
            keys = keys_for_shard("lag%d" % os.getpid(), 2, 2, 20)
            for k in keys:
                st, js, _, _ = request(a2, "PUT", keypath(k), {"value": "l"})
                self.assertIn(st, (200, 201), js)
            lag = self.status(a2)["lag"][a3]
            self.assertGreaterEqual(lag, 20)
        finally:
            self.c.resume(a3)
        poll(lambda: self.status(a2)["lag"][a3] == 0, 15, msg="lag drains after resume")
        self.assertEqual(self.c.crashed(), [])


class Defaults(CkvTestCase):
    """One node with the default configuration, and a bad CORS_ORIGINS."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(1, 1, addrs=SOLO, name="browserapi-solo")

    @classmethod
    def tearDownClass(cls):
        cls.c.close_checked()

    def test_no_foreign_origin_by_default(self):
        a = SOLO[0]
        st, _, rh, _ = request(a, "OPTIONS", "/kv-store/key-count", headers={
            "Origin": APP, "Access-Control-Request-Method": "GET"}, raw=True)
        self.assertEqual(st, 403)
        st, _, rh, _ = request(a, "OPTIONS", "/kv-store/key-count", headers={
            "Origin": "http://" + a, "Access-Control-Request-Method": "GET"}, raw=True)
        self.assertEqual((st, rh.get("access-control-allow-origin")), (204, "http://" + a))

    def test_bad_cors_origins_exit_2(self):
        for value in ("app.example", "http://a/path", "*,http://a"):
            env = dict(os.environ, ADDRESS=SLOT.addr(250), CORS_ORIGINS=value)
            p = subprocess.run([CAUSALKV_BIN], env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (value, p.stderr))
            self.assertIn("CORS_ORIGINS", p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_dashboard_assets(self):
        a = SOLO[0]
        st, _, rh, raw = request(a, "GET", "/dashboard", raw=True)
        self.assertEqual(st, 200)
        self.assertTrue(rh.get("content-type").startswith("text/html"))
        self.assertIn("default-src 'none'", rh.get("content-security-policy"))
        self.assertEqual(rh.get("x-content-type-options"), "nosniff")
        with open(os.path.join(SOURCE_DIR, "dashboard", "index.html"), "rb") as f:
            self.assertEqual(raw, f.read(), "the binary serves an old copy of the page")
        for name, ctype in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
            st, _, rh, raw = request(a, "GET", "/dashboard/" + name, raw=True)
            self.assertEqual(st, 200, name)
            self.assertTrue(rh.get("content-type").startswith(ctype), rh)
            with open(os.path.join(SOURCE_DIR, "dashboard", name), "rb") as f:
                self.assertEqual(raw, f.read(), name)
        for path in ("/dashboard/nope.js", "/dashboard/../README.md", "/dashboard/"):
            st, js, _, _ = request(a, "GET", path)
            self.assertEqual((st, js.get("error")), (404, "Not found"), path)
        st, js, rh, _ = request(a, "PUT", "/dashboard", "x")
        self.assertEqual((st, rh.get("allow")), (405, "GET"))

    def tearDown(self):
        self.assertEqual(self.c.crashed(), [], "the node died")


if __name__ == "__main__":
    unittest.main(verbosity=2)
