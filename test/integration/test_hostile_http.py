"""Hostile clients, HTTP messages (issue 6; split from test_hostile.py by concern).

Value and body size limits (declared, sent, never sent), chunked bodies good and
broken, conflicting Content-Length headers, header floods and long lines, malformed
request lines, unknown and wrong methods, and pipelined requests (a malformed one in the
middle, 200 on one connection).

Cluster, normal client, helpers and final check: hostile_base."""

import unittest

import ckvtest
import hostile_base as hb
from hostile_base import FRAMING, HTTP_TIMEOUT, MARGIN, MAX_BODY, MAX_VALUE
from ckvtest import keypath
from loadgen import parallel
from rawhttp import request_bytes as req_bytes

SLOT = ckvtest.slot(__file__)


class HostileHttp(hb.HostileCase):
    MIN_NASTY = 40

    def test_value_and_body_limits(self):
        a, b = self.addrs
        self.roundtrip(keypath("h-mib"), "m" * MAX_VALUE)
        self.key_error_both("PUT", keypath("h-mib1"), 413, "Value is too large",
                            {"value": "m" * (MAX_VALUE + 1)})
        # over MAX_BODY_BYTES but within libevent's framing allowance: the node's own 413
        self.key_error_both("PUT", keypath("h-2mib"), 413, "Request body is too large",
                            {"value": "b" * MAX_BODY})
        # over libevent's limit, declared and sent: its 413, or a closed connection
        for n in (MAX_BODY + FRAMING + 1, 64 << 20):
            for addr in (a, b):
                body = b'{"value":"' + b"x" * (n - 12) + b'"}'
                ex = self.raw(addr, req_bytes("PUT", keypath("h-huge"), body),
                              timeout=HTTP_TIMEOUT + 2 * MARGIN)
                self.assertClosedOrStatus(ex, (413,), "body of %d bytes" % n)
                if ex.replies:
                    self.assertLibevent(ex.replies[0], (413,), "body of %d bytes" % n)
        # 1 GB declared, a short body: libevent answers 413 at once
        for addr in (a, b):
            data = req_bytes("PUT", keypath("h-gig"), b'{"value":"x"}',
                             headers=[("Content-Length", "1073741824")])
            rep = self.one(addr, data, "1 GB Content-Length")
            self.assertLibevent(rep, (413,), "1 GB Content-Length")
            self.assertLess(self.raw(addr, data).elapsed, 1.5, "413 comes at once")
        # a declared length that never arrives: cut off after HTTP_TIMEOUT_MS
        for addr in (a, b):
            data = req_bytes("PUT", keypath("h-short"), b'{"value":"x"}',
                             headers=[("Content-Length", "100")])
            ex = self.raw(addr, data, until_close=True)
            self.assertTrue(ex.closed, "short body: %r" % ex)
            self.assertLess(ex.elapsed, HTTP_TIMEOUT + MARGIN, "short body closed in time")
        for bad in ("-1", "abc", "1e3", "99999999999999999999999", " 5"):
            data = req_bytes("PUT", keypath("h-cl"), b'{"value":"x"}',
                             headers=[("Content-Length", bad)])
            ex = self.raw(a, data)
            self.assertClosedOrStatus(ex, (400, 411, 413), "Content-Length %r" % bad)
        for k in ("h-mib1", "h-2mib", "h-huge", "h-gig", "h-short", "h-cl"):
            self.assertEqual(self.http(a, "GET", keypath(k)).status, 404, k)

    def test_chunked(self):
        a, b = self.addrs
        te = [("Transfer-Encoding", "chunked")]
        body = b'{"value":"chunky"}'
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5]), body[i:i + 5])
                          for i in range(0, len(body), 5)) + b"0\r\n\r\n"
        for addr in (a, b):
            rep = self.one(addr, req_bytes("PUT", keypath("h-chunk"), chunks, te), "chunked")
            self.assertIn(rep.status, (200, 201), rep)
        self.assertEqual(self.http(b, "GET", keypath("h-chunk")).json.get("value"), "chunky")
        # a chunk extension and a trailer are legal
        data = req_bytes("PUT", keypath("h-chunk2"),
                         b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(body), body), te)
        rep = self.one(a, data, "chunk extension")
        self.assertIn(rep.status, (200, 201, 400, 413), rep)  # libevent: 413 for extensions
        # broken framing: bad size, missing CRLF, a size beyond any limit, negative size
        for bad in (b"zz\r\n" + body + b"\r\n0\r\n\r\n",
                    b"%x\r\n%sXX0\r\n\r\n" % (len(body), body),
                    b"ffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n",
                    b"7fffffffffffffff\r\n" + body,
                    b"-5\r\n" + body + b"\r\n0\r\n\r\n",
                    b"\r\n\r\n"):
            for addr in (a, b):
                ex = self.raw(addr, req_bytes("PUT", keypath("h-chunkbad"), bad, te))
                self.assertClosedOrStatus(ex, (400, 411, 413), "chunked %r" % bad[:20])
        # chunks that add up to more than the limit
        big = b"".join(b"10000\r\n" + b"x" * 0x10000 + b"\r\n" for _ in range(40)) + b"0\r\n\r\n"
        ex = self.raw(a, req_bytes("PUT", keypath("h-chunkbad"), big, te))
        self.assertClosedOrStatus(ex, (413,), "chunked body over the limit")
        # a chunked body that never ends: closed after HTTP_TIMEOUT_MS
        ex = self.raw(b, req_bytes("PUT", keypath("h-chunkbad"), b"5\r\n{\"val\r\n", te),
                      until_close=True)
        self.assertTrue(ex.closed, "unfinished chunked body: %r" % ex)
        # Transfer-Encoding and Content-Length together: chunked wins (RFC 7230 3.3.3)
        data = req_bytes("PUT", keypath("h-chunk3"), chunks, te + [("Content-Length", "3")])
        ex = self.raw(a, data, until_close=True)
        self.assertTrue(ex.replies, ex)
        self.assertIn(ex.replies[0].status, (200, 201, 400), ex)
        self.assertEqual(len(ex.replies), 1, "no second request smuggled: %r" % ex)
        self.assertEqual(self.http(a, "GET", keypath("h-chunkbad")).status, 404)

    def test_duplicate_content_length(self):
        # conflicting Content-Length headers (RFC 7230 3.3.2: a 400 is the safe answer);
        # whatever the node does, it must answer once, well formed, and not desync
        body = b'{"value":"dupcl"}'
        n, short = str(len(body)), "5"
        for lens in ((n, n), (n, short), (short, n), (n, n + ", " + n)):
            hdrs = [("Content-Length", x) for x in lens]
            ex = self.raw(self.addrs[0], req_bytes("PUT", keypath("h-dupcl"), body, hdrs),
                          until_close=True)
            self.assertClosedOrStatus(ex, (200, 201, 400), "Content-Length %r" % (lens,))
            self.assertLessEqual(len(ex.replies), 2, ex)

    # ---------------------------------------------------------------- request line, headers
    def test_header_flood_and_long_lines(self):
        a, b = self.addrs
        flood = [("X-Flood-%d" % i, "v" * 10) for i in range(2000)]
        cases = [
            ("2000 headers", req_bytes("GET", "/kv-store/key-count", headers=flood)),
            ("one 100 KB header", req_bytes("GET", "/kv-store/key-count",
                                            headers=[("X-Big", "b" * 100000)])),
            ("100 KB request line", req_bytes("GET", "/kv-store/keys/" + "l" * 100000)),
            ("100 KB query", req_bytes("GET", "/kv-store/key-count?" + "q=1&" * 25000)),
            ("8 KiB Host", req_bytes("GET", "/kv-store/key-count",
                                     headers=[("Host", "h" * 8192)])),
        ]
        for name, data in cases:
            for addr in (a, b):
                ex = self.raw(addr, data)
                self.assertClosedOrStatus(ex, (400, 413, 414, 431), name)
                if ex.replies:
                    self.assertLibevent(ex.replies[0], (400, 413, 414, 431), name)
        # many small headers under the limit are fine
        few = [("X-Ok-%d" % i, "v") for i in range(200)]
        rep = self.one(a, req_bytes("GET", "/kv-store/key-count", headers=few), "200 headers")
        self.assertEqual(rep.status, 200, rep)

    def test_malformed_request_lines(self):
        # some of these are answered and then kept alive until the idle timeout: run
        # them side by side
        a = self.addrs[0]
        cases = (b"\x00\x01\x02\xff\r\n\r\n",
                 b"GET\r\n\r\n",
                 b"GET /\r\n\r\n",
                 b"GET / HTTP/9.9\r\n\r\n",
                 b"GET / HTTP/1.1 extra\r\n\r\n",
                 b"GET  /kv-store/key-count  HTTP/1.1\r\n\r\n",
                 b"GET /kv-store/keys/a b HTTP/1.1\r\n\r\n",
                 b"GET /kv-store/key-count HTTP/1.1\r\nNo-Colon\r\n\r\n",
                 b"GET /kv-store/key-count HTTP/1.1\r\nX-\x00Nul: 1\r\n\r\n",
                 b"GET /kv-store/key-count HTTP/1.1\r\n : empty name\r\n\r\n",
                 b"GET /kv-store/key-count HTTP/1.1\r\nX-Fold: a\r\n b\r\n\r\n",
                 b"\r\n\r\n\r\n",
                 b"GET http://evil.example/kv-store/key-count HTTP/1.1\r\n\r\n",
                 b"GET * HTTP/1.1\r\n\r\n",
                 b"GET /kv-store/key-count HTTP/1.1\n\n")
        results = parallel(lambda d: self.raw(a, d, until_close=True), cases)
        for data, ex in zip(cases, results):
            self.assertLess(ex.elapsed, HTTP_TIMEOUT + MARGIN, "%r: %r" % (data, ex))
            for rep in ex.replies:
                self.assertTrue(200 <= rep.status < 600, "%r: %r" % (data, rep))
                if rep.json is not None:
                    self.assertIsInstance(rep.json.get("causal-context"), dict, rep)
            self.assertTrue(ex.closed, "%r: connection not closed: %r" % (data, ex))

    def test_methods(self):
        a, b = self.addrs
        for m in ("FOO", "get", "BREW", "M" * 1000):
            for addr in (a, b):
                ex = self.raw(addr, req_bytes(m, keypath("h-meth")))
                self.assertClosedOrStatus(ex, (400, 405, 501), "method %s" % m[:20])
        for m, path, allow in (("PATCH", keypath("h-meth"), "GET, PUT, DELETE"),
                               ("POST", keypath("h-meth"), "GET, PUT, DELETE"),
                               ("OPTIONS", keypath("h-meth"), "GET, PUT, DELETE"),
                               ("TRACE", keypath("h-meth"), "GET, PUT, DELETE"),
                               ("PATCH", "/kv-store/shards", "GET"),
                               ("DELETE", "/kv-store/key-count", "GET"),
                               ("POST", "/kv-store/shards/1", "GET"),
                               ("GET", "/kv-store/view-change", "PUT")):
            for addr in (a, b):
                rep = self.one(addr, req_bytes(m, path, {"value": "v"}), "%s %s" % (m, path))
                self.assertJsonError(rep, 405, "Method not allowed", m, "%s %s" % (m, path))
                self.assertEqual(rep.headers.get("allow"), allow, rep)
        rep = self.one(a, req_bytes("HEAD", keypath("h-meth")), "HEAD", heads=(0,))
        self.assertEqual(rep.status, 405, rep)

    # ---------------------------------------------------------------- pipelining
    def test_pipelined(self):
        a, b = self.addrs
        reqs = [req_bytes("PUT", keypath("h-pipe%d" % i), {"value": "p%d" % i}, close=False)
                for i in range(8)]
        reqs += [req_bytes("GET", keypath("h-pipe%d" % i), close=False) for i in range(8)]
        reqs += [req_bytes("PUT", keypath("h-pipeX"), "[", close=False),
                 req_bytes("GET", "/nope", close=False),
                 req_bytes("DELETE", keypath("h-pipe0"), close=False),
                 req_bytes("GET", keypath("h-pipe0"), close=False),
                 req_bytes("GET", "/kv-store/key-count", close=True)]
        for addr in (a, b):
            ex = self.raw(addr, b"".join(reqs), want=len(reqs), until_close=True,
                          timeout=HTTP_TIMEOUT + 2 * MARGIN)
            self.count(len(reqs) - 1)
            got = [r.status for r in ex.replies]
            want = [201 if addr == a else 200] * 8 + [200] * 8 + [400, 404, 200, 404, 200]
            self.assertEqual(got, want, "pipelined at %s: %r" % (addr, ex))
            self.assertEqual([r.json.get("value") for r in ex.replies[8:16]],
                             ["p%d" % i for i in range(8)])
            self.assertTrue(ex.closed, ex)
            self.assertEqual(ex.leftover, b"", ex)
            self.http(a, "PUT", keypath("h-pipe0"), {"value": "p0"})  # deleted above
        # a malformed request in the middle: the ones before are answered, then 400 + close
        data = (req_bytes("GET", "/kv-store/key-count", close=False) * 3 + b"BAD\x00LINE\r\n\r\n"
                + req_bytes("GET", "/kv-store/key-count", close=False))
        ex = self.raw(a, data, want=5, until_close=True)
        self.assertEqual([r.status for r in ex.replies][:3], [200, 200, 200], ex)
        self.assertTrue(ex.closed, ex)
        self.assertLessEqual(len(ex.replies), 4, "nothing after the bad line: %r" % ex)
        # 200 pipelined GETs on one connection, half of them proxied
        many = b"".join(req_bytes("GET", keypath("h-pipe%d" % (i % 8)), close=False)
                        for i in range(199)) + req_bytes("GET", "/kv-store/key-count")
        ex = self.raw(b, many, want=200, until_close=True, timeout=HTTP_TIMEOUT + 3 * MARGIN)
        self.count(199)
        self.assertEqual(len(ex.replies), 200, ex)
        self.assertEqual({r.status for r in ex.replies}, {200}, ex)



if __name__ == "__main__":
    unittest.main(verbosity=2)
