"""Hostile clients (issue 6): malformed, oversized, slow and unusual requests against a
running 2-node cluster (REPL_FACTOR=1, so two shards: every key case is sent to both
nodes, one serves it locally and the other proxies it to the owner).

Every nasty request must get a well-formed HTTP reply -- a JSON error with the status the
SPEC/README fixes, or libevent's own 4xx page for header/request-line/declared-length
limits -- or a closed connection, within the configured timeouts. Meanwhile a normal
client keeps doing PUT/GET on both nodes and must see no error and no wrong value. At the
end both nodes are alive, exit 0 on SIGTERM and their logs hold no sanitizer report.

Port 21900, nodes 127.0.0.100 and 127.0.0.101 (plus 127.0.0.102-103 for the
proxy/idle-timeout race at the end). The nodes run with HTTP_TIMEOUT_MS=2000
(default 10000) so that the idle, slow-client (slowloris) and unfinished-body cases end
in about two seconds instead of ten.
"""

import json
import os
import random
import re
import resource
import select
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ckvtest import (JSON_CT, CIDict, Cluster, CkvTestCase, Session, keypath,  # noqa: E402
                     request)

PORT = 21900
FIRST_IP = 100
HTTP_TIMEOUT = 2.0  # HTTP_TIMEOUT_MS given to the nodes below
CAUSAL_TIMEOUT = 2.0  # CAUSAL_TIMEOUT_MS default
MARGIN = 3.0  # slack for a loaded machine and a sanitizer build
MAX_BODY = 2 << 20  # MAX_BODY_BYTES default
FRAMING = 64 << 10  # CKV_FRAMING_BYTES: libevent's own limit is MAX_BODY_BYTES plus this
MAX_VALUE = 1 << 20  # MAX_VALUE_BYTES default
IDLE_CONNECTIONS = 2000
SLOW_CLIENTS = 3
MIN_NASTY = 40

PARSE_ERROR = "Failed to parse request body"


# --------------------------------------------------------------------------- raw HTTP


class Malformed(Exception):
    pass


class Reply:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.json = None
        if body and headers.get("content-type", "").startswith(JSON_CT):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise Malformed("JSON Content-Type but body is not JSON: %r" % body[:200])

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def parse_reply(buf, head_request=False):
    """One complete HTTP/1.x reply from the start of buf: (Reply, rest) or (None, buf)
    when incomplete. Raises Malformed for anything that is not a well-formed reply."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > 65536:
            raise Malformed("no end of headers in %d bytes" % len(buf))
        return None, buf
    lines = buf[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)$", lines[0])
    if not m:
        raise Malformed("bad status line %r" % lines[0])
    items = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise Malformed("bad header line %r" % line)
        items.append((name, value.strip()))
    headers = CIDict(items)
    status = int(m.group(1))
    if head_request or status in (204, 304) or 100 <= status < 200:
        return Reply(status, m.group(2), headers, b""), buf[end + 4:]
    if "content-length" not in headers:
        raise Malformed("reply without Content-Length: %r" % lines)
    n = int(headers["content-length"])
    if len(buf) < end + 4 + n:
        return None, buf
    body = buf[end + 4:end + 4 + n]
    return Reply(status, m.group(2), headers, body), buf[end + 4 + n:]


class Exchange:
    """What came back for one raw request (or one pipelined batch)."""

    def __init__(self):
        self.replies = []
        self.closed = False  # the node closed (EOF) or reset the connection
        self.reset = False
        self.send_error = None
        self.elapsed = 0.0
        self.leftover = b""

    def __repr__(self):
        return ("<replies=%r closed=%s reset=%s send_error=%r %.2fs leftover=%r>"
                % (self.replies, self.closed, self.reset, self.send_error, self.elapsed,
                   self.leftover[:100]))


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host, int(port)


def exchange(addr, data, want=1, timeout=HTTP_TIMEOUT + MARGIN, until_close=False,
             heads=(), source=None):
    """Send raw bytes, read up to `want` replies (and, with until_close, on to EOF).

    heads: indexes of replies that answer HEAD requests (no body). Sending stops at the
    first error (the node may answer and close before reading everything)."""
    ex = Exchange()
    t0 = time.monotonic()
    deadline = t0 + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(split_addr(addr))
        sender = threading.Thread(target=_send_all, args=(s, data, ex), daemon=True)
        sender.start()
        buf = b""
        while True:
            while len(ex.replies) < want:
                rep, buf = parse_reply(buf, head_request=len(ex.replies) in heads)
                if rep is None:
                    break
                ex.replies.append(rep)
            if len(ex.replies) >= want and not until_close:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not readable(s, left):
                break
            try:
                chunk = s.recv(1 << 16)
            except ConnectionResetError:
                ex.closed = ex.reset = True
                break
            if not chunk:
                ex.closed = True
                break
            buf += chunk
        ex.leftover = buf
        sender.join(max(0.0, deadline - time.monotonic()) + 1)
    finally:
        s.close()
    ex.elapsed = time.monotonic() - t0
    return ex


def readable(s, timeout):
    """poll(), not select(): descriptors above 1023 are common while 2,000 are open."""
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(p.poll(max(0, int(timeout * 1000))))


def _send_all(s, data, ex):
    try:
        view = memoryview(data)
        while view:
            n = s.send(view[:1 << 16])
            view = view[n:]
    except OSError as e:  # EPIPE/ECONNRESET after the node answered and closed
        ex.send_error = e


def req_bytes(method, path, body=None, headers=None, close=True, version="HTTP/1.1"):
    """An HTTP request as bytes. path and header values may be str or bytes."""
    if isinstance(path, str):
        path = path.encode()
    out = [method.encode() + b" " + path + b" " + version.encode()]
    hdrs = [(b"Host", b"hostile")]
    for k, v in (headers or []):
        hdrs.append((k.encode() if isinstance(k, str) else k,
                     v.encode() if isinstance(v, str) else v))
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if not any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in hdrs):
            hdrs.append((b"Content-Length", str(len(body)).encode()))
    if close:
        hdrs.append((b"Connection", b"close"))
    for k, v in hdrs:
        out.append(k + b": " + v)
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


def parallel(fn, items):
    """fn(item) for every item, each in its own thread; results in order (an exception
    in fn is re-raised here)."""
    out = [None] * len(items)

    def run(i, item):
        try:
            out[i] = (True, fn(item))
        except BaseException as e:  # re-raised in the caller's thread
            out[i] = (False, e)

    threads = [threading.Thread(target=run, args=(i, x), daemon=True)
               for i, x in enumerate(items)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ok, v in out:
        if not ok:
            raise v
    return [v for _, v in out]


# --------------------------------------------------------------------------- the normal client


class NormalClient(threading.Thread):
    """Keeps writing and reading its own keys on both nodes (PUT at one, GET at the
    other, echoing the causal context) and records every error and wrong value."""

    def __init__(self, addrs):
        super().__init__(daemon=True, name="normal-client")
        self.addrs = addrs
        self.stop_event = threading.Event()
        self.errors = []
        self.ops = 0

    def run(self):
        s = Session(self.addrs, "normal", rng=random.Random(6), timeout=HTTP_TIMEOUT + 8)
        model = {}
        i = 0
        while not self.stop_event.is_set():
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
            i += 1
            self.stop_event.wait(0.005)
        self.errors.extend(s.ctx_errors)

    def finish(self):
        self.stop_event.set()
        self.join(30)
        return self.errors


# --------------------------------------------------------------------------- the tests


class Hostile(CkvTestCase):
    nasty = 0

    @classmethod
    def setUpClass(cls):
        # HTTP_TIMEOUT_MS=2000 (default 10000): idle and slow clients are cut off quickly.
        cls.cluster = Cluster(2, 1, PORT, first_ip=FIRST_IP, name="hostile",
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

    # ---------------------------------------------------------------- keys
    def test_keys_with_slashes_and_percent(self):
        self.roundtrip("/kv-store/keys/h-a/b", "slash", ["/kv-store/keys/h-a%2Fb",
                                                         "/kv-store/keys/h-a%2fb"])
        self.roundtrip("/kv-store/keys//h-lead//", "slashes", ["/kv-store/keys/%2Fh-lead%2F%2F"])
        self.roundtrip("/kv-store/keys/h-100%25", "percent")
        self.roundtrip("/kv-store/keys/h-bad%zz", "kept literally", ["/kv-store/keys/h-bad%25zz"])
        self.roundtrip("/kv-store/keys/h-tail%", "trailing", ["/kv-store/keys/h-tail%25"])
        self.roundtrip("/kv-store/keys/h-tail%2", "short escape", ["/kv-store/keys/h-tail%252"])
        self.roundtrip("/kv-store/keys/h-a+b", "plus", ["/kv-store/keys/h-a%2Bb"])
        self.roundtrip("/kv-store/keys/../../etc/passwd", "dots",
                       ["/kv-store/keys/..%2F..%2Fetc%2Fpasswd"])
        self.roundtrip("/kv-store/keys/h-q?x=1&y", "query ignored", ["/kv-store/keys/h-q"])
        self.roundtrip("/kv-store/keys/h-crlf%0d%0aX-Evil:%201", "crlf")

    def test_keys_with_nul_are_distinct(self):
        self.roundtrip("/kv-store/keys/h-nul%00x", "with nul")
        self.roundtrip("/kv-store/keys/h-nul", "without nul")
        self.roundtrip("/kv-store/keys/h-nul%00y", "other nul")
        rep = self.http(self.addrs[1], "GET", "/kv-store/keys/h-nul%00x")
        self.assertEqual(rep.json.get("value"), "with nul", rep)

    def test_keys_invalid_utf8(self):
        for esc in ("%ff", "h-%fe%ff", "%c0%af", "%ed%a0%80", "%e2%82", "%f4%90%80%80",
                    "x%80"):
            self.key_error_both("PUT", "/kv-store/keys/" + esc, 400, "Key is not valid UTF-8",
                                {"value": "v"})
        self.key_error_both("GET", "/kv-store/keys/%ff%ff", 400, "Key is not valid UTF-8")
        self.key_error_both("DELETE", "/kv-store/keys/%80", 400, "Key is not valid UTF-8")
        # valid multi-byte UTF-8 is a fine key
        self.roundtrip("/kv-store/keys/h-%e2%82%ac%f0%9f%98%80", "euro and smile")

    def test_key_lengths(self):
        self.roundtrip("/kv-store/keys/" + "k" * 50, "fifty")
        self.roundtrip("/kv-store/keys/" + "%e2%82%ac" * 16 + "kk", "fifty bytes decoded")
        self.key_error_both("PUT", "/kv-store/keys/" + "k" * 51, 400, "Key is too long",
                            {"value": "v"})
        self.key_error_both("GET", "/kv-store/keys/" + "%e2%82%ac" * 17, 400, "Key is too long")
        self.key_error_both("PUT", "/kv-store/keys/" + "%6b" * 51, 400, "Key is too long",
                            {"value": "v"})
        self.key_error_both("GET", "/kv-store/keys/" + "k" * 4000, 400, "Key is too long")
        for path in ("/kv-store/keys/", "/kv-store/keys"):
            for a in self.addrs:
                self.assertJsonError(self.http(a, "PUT", path, {"value": "v"}), 400,
                                     "Key is missing", "PUT", path)
        # a 10 KB key makes the request line longer than MAX_HEADER_BYTES: libevent's 400
        for a in self.addrs:
            ex = self.raw(a, req_bytes("GET", "/kv-store/keys/" + "k" * 10240))
            self.assertClosedOrStatus(ex, (400, 414, 431), "10 KB key")
            ex = self.raw(a, req_bytes("PUT", "/kv-store/keys/" + "%41" * 3400, {"value": "v"}))
            self.assertClosedOrStatus(ex, (400, 414, 431), "10 KB escaped key")

    def test_key_near_header_limit_is_proxied_sanely(self):
        # a request line just under MAX_HEADER_BYTES at the node that does not own the key:
        # the forwarded request (with the node's own headers) may not fit the owner's limit;
        # the client must still get a well-formed error, not a hang or a 5xx from a crash.
        for n in (7900, 8000, 8100):
            path = "/kv-store/keys/" + "z" * n
            for a in self.addrs:
                rep = self.one(a, req_bytes("GET", path), "key of %d bytes" % n)
                if rep.json is not None:
                    self.assertJsonError(rep, 400, None, "GET", "key of %d bytes" % n)
                    # the non-owner forwards the key as is; when the forwarded request no
                    # longer fits the owner's MAX_HEADER_BYTES the owner's libevent page
                    # comes back as "Unexpected reply from the owning shard" (still a 400)
                    self.assertIn(rep.json["error"], ("Key is too long",
                                                      "Unexpected reply from the owning shard"),
                                  rep)
                else:
                    self.assertLibevent(rep, (400, 431), "key of %d bytes" % n)

    # ---------------------------------------------------------------- bodies
    def test_bodies_not_objects(self):
        k = "/kv-store/keys/h-body"
        for body in ("[]", '["value","x"]', '"x"', "1", "null", "true", "{", "{}}", '{"value":}',
                     "\x00", '{"value":"x"} trailing', "\xef\xbb\xbf{}"):
            self.key_error_both("PUT", k, 400, PARSE_ERROR, body)
        self.key_error_both("GET", k, 400, PARSE_ERROR, "[1,2,3]")

    def test_bodies_wrong_types_and_missing_values(self):
        k = "/kv-store/keys/h-types"
        for body in ({"value": 1}, {"value": {"a": 1}}, {"value": ["x"]}, {"value": True},
                     {"value": "x", "causal-context": 5},
                     {"value": "x", "causal-context": ["a"]},
                     {"value": "x", "causal-context": "garbage"},
                     {"value": "x", "causal-context": {"clock": []}},
                     {"value": "x", "causal-context": {"clock": {"127.0.0.100:21900": "1"}}},
                     {"value": "x", "causal-context": {"epoch": "0"}},
                     {"value": "x", "causal-context": {"epoch": -1}},
                     {"value": "x", "causal-context": {"epoch": 0.5}}):
            self.key_error_both("PUT", k, 400, PARSE_ERROR, body)
        for body in ({}, {"value": None}, {"value": ""}, {"val": "x"}):
            self.key_error_both("PUT", k, 400, "Value is missing", body)

    def test_bodies_invalid_json_strings(self):
        k = "/kv-store/keys/h-str"
        for body in (b'{"value":"\xff\xfe"}', b'{"value":"\xc0\xaf"}', b'{"value":"\\ud800"}',
                     b'{"value":"\\uZZZZ"}', b'{"value":"a\x01b"}', b'{"value":"x\\"}'):
            self.key_error_both("PUT", k, 400, PARSE_ERROR, body)
        # NUL inside a value is allowed (values are byte strings) and must survive intact
        self.roundtrip("/kv-store/keys/h-nulval", "a\x00b\x00")

    def test_deeply_nested(self):
        depth = 100000
        k = "/kv-store/keys/h-deep"
        bodies = [
            "[" * depth + "]" * depth,
            '{"a":' * depth + "1" + "}" * depth,
            '{"value":"x","causal-context":{"clock":' + "[" * depth + "]" * depth + "}}",
            '{"value":"x","causal-context":' + '{"a":' * depth + "1" + "}" * depth + "}",
            "[" * depth,  # never closed
        ]
        for body in bodies:
            self.key_error_both("PUT", k, 400, PARSE_ERROR, body)
        self.key_error_both("GET", k, 400, PARSE_ERROR, "[" * depth + "]" * depth)

    def test_duplicate_fields(self):
        k = "/kv-store/keys/h-dup"
        for body in ('{"value":"a","value":"b"}',
                     '{"value":"a","causal-context":{},"causal-context":{}}',
                     '{"value":"a","causal-context":{"epoch":0,"epoch":0}}',
                     '{"value":"a","causal-context":{"clock":{"127.0.0.100:21900":0,'
                     '"127.0.0.100:21900":0}}}'):
            self.key_error_both("PUT", k, 400, PARSE_ERROR, body)
        rep = self.http(self.addrs[0], "GET", k)
        self.assertEqual(rep.status, 404, "a refused body wrote nothing: %r" % rep)

    def test_counters(self):
        k = "h-counter"
        path = keypath(k)
        too_big = ('{"value":"x","causal-context":{"epoch":0,"clock":{"%s":%s}}}')
        for addr in self.addrs:
            for number in ("18446744073709551616", "9223372036854775808",
                           "99999999999999999999999999999999", "1e400", "-1",
                           "-9223372036854775808", "1.5", "1e3"):
                body = too_big % (addr, number)
                self.key_error_both("PUT", path, 400, PARSE_ERROR, body)
            body = '{"value":"x","causal-context":{"epoch":18446744073709551616}}'
            self.key_error_both("PUT", path, 400, PARSE_ERROR, body)
        # a counter that fits but that no replica will ever reach: the owner waits
        # CAUSAL_TIMEOUT_MS for it, then answers 503 (SPEC 5: never hangs)
        owner = self.owner_of(k)
        for ctx in ({"epoch": 0, "clock": {owner: 2 ** 63 - 1}},
                    {"epoch": 2 ** 63 - 1, "clock": {}}):
            for addr in self.addrs:
                t0 = time.monotonic()
                rep = self.http(addr, "PUT", path, {"value": "x", "causal-context": ctx},
                                timeout=CAUSAL_TIMEOUT + 2 * MARGIN)
                dt = time.monotonic() - t0
                self.assertJsonError(rep, 503, "Unable to satisfy request", "PUT", repr(ctx))
                self.assertLess(dt, CAUSAL_TIMEOUT + MARGIN, "503 took %.2fs" % dt)
        rep = self.http(owner, "GET", path)
        self.assertEqual(rep.status, 404, "refused writes wrote nothing: %r" % rep)
        # 10,000 unknown addresses in a context are dropped, never stored or echoed
        clock = {"10.%d.%d.1:1" % (i // 200, i % 200): i for i in range(10000)}
        for addr in self.addrs:
            rep = self.http(addr, "GET", path, {"causal-context": {"epoch": 0, "clock": clock}})
            self.assertEqual(rep.status, 404, rep)
            got = rep.json["causal-context"].get("clock", {})
            self.assertLessEqual(set(got), set(self.addrs), rep)

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

    def test_unknown_paths_and_shards(self):
        a = self.addrs[0]
        for path in ("/", "/kv-store", "/kv-store/", "/kv-store/keysX", "/kv-store/key-count/x",
                     "/kv-store/key-countX", "/metrics/../kv-store", "/%00", "/kv-store/shardsX"):
            self.assertJsonError(self.http(a, "GET", path), 404, "Not found", "GET", path)
        for sid in ("0", "3", "-1", "1%00", "1.0", "1" * 30, "99999999999999999", "%31x", " 1"):
            rep = self.http(a, "GET", "/kv-store/shards/" + sid.replace(" ", "%20"))
            self.assertJsonError(rep, 404, "Shard does not exist", "GET", "shard %r" % sid)
        rep = self.http(a, "GET", "/kv-store/shards/02")
        self.assertEqual((rep.status, rep.json.get("shard-id")), (200, 2), rep)

    def test_view_change_garbage(self):
        # only invalid view changes: a valid one would change the cluster under the test
        a = self.addrs[0]
        bodies = [[], "x", {}, {"view": []}, {"view": ""}, {"view": None, "repl-factor": 1},
                  {"view": self.addrs, "repl-factor": 0},
                  {"view": self.addrs, "repl-factor": -1},
                  {"view": self.addrs, "repl-factor": 3},
                  {"view": self.addrs, "repl-factor": 1e100},
                  {"view": self.addrs, "repl-factor": "1x"},
                  {"view": [a, a], "repl-factor": 1},
                  {"view": [1, 2], "repl-factor": 1},
                  {"view": ["127.0.0.1:99999"], "repl-factor": 1},
                  {"view": ["x" * 10000], "repl-factor": 1},
                  {"view": ",".join("127.0.1.%d:1" % i for i in range(1, 101)), "repl-factor": 1},
                  {"view": "a\u0000b", "repl-factor": 1},
                  {"view": [a, "[" * 1000], "repl-factor": 1}]
        for body in bodies:
            rep = self.http(a, "PUT", "/kv-store/view-change", body)
            self.assertJsonError(rep, 400, None, "PUT", "view change %r" % (body,))
        rep = self.http(a, "GET", "/kv-store/shards")
        self.assertEqual((rep.status, rep.json.get("shards")), (200, [1, 2]), rep)

    def test_internal_endpoints_from_a_client(self):
        # the test process connects from 127.0.0.1, which is not a member of the view
        for addr in self.addrs:
            for op, body in (("replicate", {"epoch": 0, "from": 1, "versions": [
                                {"k": "h-int", "v": "evil", "o": 1, "s": 1, "l": 99}]}),
                             ("sync", {"epoch": 0, "from": 1, "clock": [0, 0], "cursor": 0,
                                       "gen": 0}),
                             ("view/prepare", {"id": 7, "epoch": 1, "view": self.addrs,
                                               "repl-factor": 2, "old-view": self.addrs}),
                             ("view/abort", {"id": 7}), ("nope", "[")):
                rep = self.http(addr, "POST", "/kv-store/internal/" + op, body)
                self.assertJsonError(rep, 403, "Forbidden", "POST", op)
        self.assertEqual(self.http(self.addrs[0], "GET", keypath("h-int")).status, 404)

    def test_spoofed_hop_header(self):
        # a client that sets the proxies' hop header only stops its own request from
        # being forwarded (loop protection); it gets an error, the node is unharmed
        k = "h-hop"
        owner = self.owner_of(k)
        other = [x for x in self.addrs if x != owner][0]
        rep = self.http(other, "GET", keypath(k), headers={"X-Ckv-Forwarded": "1"})
        self.assertIn(rep.status, (400, 403, 503), rep)
        self.assertJsonError(rep, rep.status, None, "GET", "hop header")
        rep = self.http(owner, "GET", keypath(k), headers={"X-Ckv-Forwarded": "1"})
        self.assertEqual(rep.status, 404, rep)

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

    # ---------------------------------------------------------------- connections
    def test_idle_connections(self):
        need = IDLE_CONNECTIONS + 256
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < need:
            if hard != resource.RLIM_INFINITY and hard < need:
                self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        socks = []
        try:
            t0 = time.monotonic()
            for i in range(IDLE_CONNECTIONS):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.settimeout(5)
                s.connect(split_addr(self.addrs[i % 2]))
            self.count(IDLE_CONNECTIONS)
            # half of them send one keep-alive request first (counted connections), the
            # other half never send anything
            busy = socks[:IDLE_CONNECTIONS // 2]
            for s in busy:
                s.sendall(req_bytes("GET", "/kv-store/key-count", close=False))
            for s in busy:
                buf = b""
                while True:
                    rep, buf = parse_reply(buf)
                    if rep is not None:
                        break
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "closed before the reply")
                    buf += chunk
                self.assertEqual(rep.status, 200, rep)
            opened = time.monotonic()
            # while they are held the nodes serve other clients
            for addr in self.addrs:
                rep = self.http(addr, "GET", "/kv-store/key-count")
                self.assertEqual(rep.status, 200, rep)
            # and close every one of them after HTTP_TIMEOUT_MS of silence
            by_fd = {s.fileno(): s for s in socks}
            poller = select.poll()
            for s in socks:
                s.setblocking(False)
                poller.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
            open_socks = set(socks)
            deadline = opened + HTTP_TIMEOUT + MARGIN
            while open_socks and time.monotonic() < deadline:
                for fd, _ in poller.poll(200):
                    s = by_fd[fd]
                    try:
                        if s.recv(4096) != b"":
                            continue
                    except BlockingIOError:
                        continue
                    except OSError:
                        pass
                    open_socks.discard(s)
                    poller.unregister(fd)
            self.assertEqual(len(open_socks), 0,
                             "%d of %d idle connections still open %.1fs after the last "
                             "request (connects took %.1fs)"
                             % (len(open_socks), len(socks), time.monotonic() - opened,
                                opened - t0))
        finally:
            for s in socks:
                s.close()
        for addr in self.addrs:
            rep = self.http(addr, "GET", "/kv-store/key-count")
            self.assertEqual(rep.status, 200, rep)

    def test_slowloris(self):
        # a few clients send a partial request one byte a second: the node must close
        # each within HTTP_TIMEOUT_MS (plus margin) of its first byte however steadily
        # it trickles, or slow clients hold descriptors forever
        starts = [b"G", b"GET /kv-store/key-count HTTP/1.1\r\nX-Slow: ",
                  b"PUT /kv-store/keys/h-slow HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"]
        drips = [b"E", b"a", b" "]
        limit = HTTP_TIMEOUT + MARGIN
        clients = []
        for i in range(SLOW_CLIENTS):
            s = socket.create_connection(split_addr(self.addrs[i % 2]), timeout=5)
            s.setblocking(False)
            s.send(starts[i % len(starts)])
            clients.append([s, time.monotonic(), None, i % len(starts)])
        self.count(SLOW_CLIENTS)
        try:
            end = time.monotonic() + limit + 1.5
            while time.monotonic() < end and any(c[2] is None for c in clients):
                for c in clients:
                    s, t0, done, kind = c
                    if done is not None:
                        continue
                    try:
                        data = s.recv(4096)
                        if data == b"":
                            c[2] = time.monotonic() - t0
                            continue
                        # a reply (408/400) followed by close is fine too
                    except BlockingIOError:
                        pass
                    except OSError:
                        c[2] = time.monotonic() - t0
                        continue
                    try:
                        s.send(drips[kind])
                    except BlockingIOError:
                        pass
                    except OSError:
                        c[2] = time.monotonic() - t0
                time.sleep(1.0)  # the slowloris pace: one byte a second per client
            report = ["client %d (%r...): %s" % (i, starts[c[3]][:20],
                                                "closed after %.1fs" % c[2] if c[2] is not None
                                                else "still open after %.1fs"
                                                % (time.monotonic() - c[1]))
                      for i, c in enumerate(clients)]
            for c in clients:
                self.assertIsNotNone(c[2], "slow client not cut off: " + "; ".join(report))
                self.assertLess(c[2], limit, "; ".join(report))
        finally:
            for c in clients:
                c[0].close()

    # ---------------------------------------------------------------- the end
    def test_zz_normal_client_and_shutdown(self):
        """Runs last: the normal client saw no error, both nodes are alive, at least
        MIN_NASTY nasty requests were sent, SIGTERM makes both exit 0, no sanitizer report."""
        errors = self.client.finish()
        self.assertGreater(self.client.ops, 20, "the normal client barely ran")
        self.assertNoErrors(errors, "errors seen by the normal client")
        self.assertGreaterEqual(type(self).nasty, MIN_NASTY, "nasty requests sent")
        for addr in self.addrs:
            st, js, _, _ = request(addr, "GET", "/healthz")
            self.assertEqual(st, 200, js)
        self.assertEqual(self.cluster.crashed(), [])
        problems = self.cluster.shutdown_check()
        self.assertEqual(problems, [], "node problems")
        sys.stderr.write("\n%d nasty requests, %d normal operations\n"
                         % (type(self).nasty, self.client.ops))



class ProxyAfterPeerIdleTimeout(CkvTestCase):
    """A node's pooled keep-alive connection to a peer is closed by that peer after
    HTTP_TIMEOUT_MS of silence. A proxied request that reuses the connection just as the
    peer closes it must still be served (by a fresh connection), not fail with 503:
    client requests spaced about HTTP_TIMEOUT_MS apart hit that moment again and again.

    Own cluster: 127.0.0.102-103 (rf=1, so the request has no other replica to fail over
    to), HTTP_TIMEOUT_MS=300 to keep it short. No other traffic runs, so the pool's first
    connection is the one that idles."""

    T = 0.3
    REQUESTS = 40

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(2, 1, PORT, first_ip=FIRST_IP + 2, name="idle-race",
                              env={"HTTP_TIMEOUT_MS": int(cls.T * 1000)})

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked(dump_logs=False)

    def test_proxied_requests_spaced_like_the_idle_timeout(self):
        a, b = self.cluster.addrs
        key = None
        for i in range(200):
            st, js, _, _ = request(a, "GET", keypath("race%d" % i))
            if st == 404 and js.get("address") == b:
                key = "race%d" % i
                break
        self.assertIsNotNone(key, "no key of shard 2 found")
        rng = random.Random(3)
        failures = []
        for i in range(self.REQUESTS):
            # pacing, not waiting for a condition: each forward lands within a few ms of
            # the peer's idle timeout on the connection the previous one used
            time.sleep(self.T + rng.uniform(-0.006, 0.002))
            st, js, _, _ = request(a, "GET", keypath(key), timeout=HTTP_TIMEOUT + MARGIN)
            if st != 404 or js.get("address") != b:
                failures.append("request %d: %s %r" % (i, st, js))
        self.assertNoErrors(failures, "proxied requests failed (of %d)" % self.REQUESTS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
