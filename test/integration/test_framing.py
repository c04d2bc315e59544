"""HTTP/1.1 message framing (RFC 9112 section 6) on raw sockets, against one node.

A request whose body length is ambiguous is a request-smuggling vector: the node must
refuse it with 400 and close the connection (RFC 9112 6.3), promptly, and never act on
it. The cases:

  1 two Content-Length headers that disagree          -> 400, close, key not written
  2 Content-Length together with chunked              -> 400, close, key not written
  3 Transfer-Encoding whose final coding is not chunked -> 400/501, close, never a hang
  4 Content-Length that is not a number ("abc", "-1", "1 2") -> 400, close; and not
    1*DIGIT ("+18": strtoll-style parsers take it) -> 400, close
  5 two identical, correct Content-Length headers     -> accepted (RFC 9112 6.3 allows it)
  6 a well-formed chunked body                        -> accepted

Every JSON reply carries "error" text (refusals); after every case the node is alive and
a normal PUT/GET works. Each test starts its own node (on an address of the file's
ckvtest.slot; the harness refuses to start it where another process listens)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
import rawhttp  # noqa: E402
from ckvtest import JSON_CT, Cluster, CkvTestCase, keypath, kv_get, kv_put  # noqa: E402
from rawhttp import chunked, request_bytes  # noqa: E402

SLOT = ckvtest.slot(__file__)
PROMPT = 2.0  # a refusal must come within this (the node's HTTP_TIMEOUT_MS is 10 s)


def raw_request(method, path, headers, body=b""):
    return request_bytes(method, path, body, headers, close=False, length=False)


def exchange(addr, data, timeout=PROMPT):
    """Send data, read one reply and then wait (up to the same deadline) for the node to
    close the connection. Never raises on timeout: the Exchange says what happened
    (status None: no reply; extra: bytes after the first reply, a second one = desync)."""
    return rawhttp.exchange(addr, data, want=1, timeout=timeout, until_close=True)


BODY = b'{"value":"framed"}'


class Framing(CkvTestCase):

    def setUp(self):
        self.cluster = Cluster(1, 1, name="framing")
        self.addr = self.cluster.addrs[0]
        self.n = 0

    def tearDown(self):
        self.cluster.close_checked()

    # ------------------------------------------------------------ helpers
    def key(self, tag):
        self.n += 1
        return "fr-%s-%d" % (tag, self.n)

    def assertRefused(self, ex, what, statuses=(400,)):
        """A prompt refusal with one of `statuses`, then the connection closed, nothing
        more on it; a JSON body has error text."""
        self.assertIsNotNone(ex.status, "%s: no reply within %.0f s (the node waits for a "
                             "body it should have refused): %r" % (what, PROMPT, ex))
        self.assertIn(ex.status, statuses, "%s: %r" % (what, ex))
        self.assertTrue(ex.closed, "%s: connection not closed after the %d reply: %r"
                        % (what, ex.status, ex))
        self.assertEqual(ex.extra, b"", "%s: more than one reply: %r" % (what, ex))
        js = ex.json
        if js is not None:
            self.assertIsInstance(js, dict, "%s: %r" % (what, ex))
            self.assertTrue(isinstance(js.get("error"), str) and js["error"],
                            "%s: JSON reply without error text: %r" % (what, ex))

    def assertNotWritten(self, key, what):
        st, js = kv_get(self.addr, key)
        self.assertEqual(st, 404, "%s: the refused request wrote %s: %r" % (what, key, js))

    def assertNodeServes(self, what):
        self.assertEqual(self.cluster.crashed(), [], "%s: the node died" % what)
        k = self.key("after")
        st, js = kv_put(self.addr, k, "ok")
        self.assertEqual(st, 201, "%s: PUT afterwards: %r" % (what, js))
        st, js = kv_get(self.addr, k)
        self.assertEqual((st, js.get("value")), (200, "ok"), "%s: GET afterwards" % what)

    # ------------------------------------------------------------ tests
    def test_conflicting_content_lengths(self):
        # both orders; only 2 bytes of body, so a node that believes "15" waits, and one
        # that believes "2" would parse a truncated body
        for first, second in (("15", "2"), ("2", "15")):
            what = "Content-Length %s then %s" % (first, second)
            k = self.key("dupcl")
            ex = exchange(self.addr, raw_request(
                "PUT", keypath(k), [("Content-Type", JSON_CT), ("Content-Length", first),
                                    ("Content-Length", second)], b"{}"))
            self.assertRefused(ex, what)
            self.assertNotWritten(k, what)
            self.assertNodeServes(what)

    def test_conflicting_content_length_list(self):
        # one header holding a list of different values ("15, 2") is the same conflict
        k = self.key("clist")
        ex = exchange(self.addr, raw_request(
            "PUT", keypath(k), [("Content-Type", JSON_CT), ("Content-Length", "15, 2")],
            b"{}"))
        self.assertRefused(ex, "Content-Length: 15, 2")
        self.assertNotWritten(k, "Content-Length: 15, 2")
        self.assertNodeServes("Content-Length: 15, 2")

    def test_content_length_and_chunked(self):
        # a complete chunked body and a Content-Length that covers part of it: a node that
        # honours either framing would accept something; RFC 9112 6.3 says refuse + close
        body = chunked(BODY)
        for hdrs in ([("Content-Length", str(len(body))), ("Transfer-Encoding", "chunked")],
                     [("Transfer-Encoding", "chunked"), ("Content-Length", "3")]):
            what = "headers %r" % (hdrs,)
            k = self.key("clte")
            ex = exchange(self.addr, raw_request("PUT", keypath(k),
                                                 [("Content-Type", JSON_CT)] + hdrs, body))
            self.assertRefused(ex, what)
            self.assertNotWritten(k, what)
            self.assertNodeServes(what)

    def test_transfer_encoding_not_chunked(self):
        # the final coding is not chunked: the length cannot be known (RFC 9112 6.3 item
        # 4): 400 (or 501 for a coding the node does not implement), then close
        for te, body in (("gzip", BODY), ("chunked, gzip", chunked(BODY)),
                         ("identity", BODY), ("x-unknown", BODY)):
            what = "Transfer-Encoding: %s" % te
            k = self.key("te")
            ex = exchange(self.addr, raw_request(
                "PUT", keypath(k), [("Content-Type", JSON_CT), ("Transfer-Encoding", te)],
                body))
            self.assertRefused(ex, what, statuses=(400, 501))
            self.assertNotWritten(k, what)
            self.assertNodeServes(what)

    def refuse_content_lengths(self, values, tag):
        for cl in values:
            what = "Content-Length: %r" % cl
            k = self.key(tag)
            ex = exchange(self.addr, raw_request(
                "PUT", keypath(k), [("Content-Type", JSON_CT), ("Content-Length", cl)],
                BODY))
            self.assertRefused(ex, what)
            self.assertNotWritten(k, what)
            self.assertNodeServes(what)

    def test_content_length_not_a_number(self):
        self.refuse_content_lengths(("abc", "-1", "1 2"), "clnan")

    def test_content_length_not_digits(self):
        # RFC 9112 8.6: Content-Length = 1*DIGIT; strtoll-style parsers accept these
        self.refuse_content_lengths(("+18", " 0x12", ""), "cldig")

    def test_identical_content_lengths_accepted(self):
        for hdrs in ([("Content-Length", str(len(BODY)))] * 2,):
            what = "headers %r" % (hdrs,)
            k = self.key("samecl")
            ex = exchange(self.addr, raw_request(
                "PUT", keypath(k), [("Content-Type", JSON_CT), ("Connection", "close")] + hdrs,
                BODY))
            self.assertEqual(ex.status, 201, "%s: %r" % (what, ex))
            js = ex.json
            self.assertIsInstance(js, dict, "%s: %r" % (what, ex))
            self.assertEqual(js.get("message"), "Added successfully", "%s: %r" % (what, ex))
            self.assertEqual(ex.extra, b"", "%s: more than one reply: %r" % (what, ex))
            st, got = kv_get(self.addr, k)
            self.assertEqual((st, got.get("value")), (200, "framed"), what)
            self.assertNodeServes(what)

    def test_single_content_length_baseline(self):
        k = self.key("onecl")
        ex = exchange(self.addr, raw_request(
            "PUT", keypath(k), [("Content-Type", JSON_CT), ("Connection", "close"),
                                ("Content-Length", str(len(BODY)))], BODY))
        self.assertEqual(ex.status, 201, ex)
        self.assertNodeServes("one Content-Length")

    def test_chunked_body_accepted(self):
        for size in (5, len(BODY)):
            k = self.key("chunk")
            what = "chunked body in %d-byte chunks" % size
            ex = exchange(self.addr, raw_request(
                "PUT", keypath(k), [("Content-Type", JSON_CT), ("Connection", "close"),
                                    ("Transfer-Encoding", "chunked")], chunked(BODY, size)))
            self.assertEqual(ex.status, 201, "%s: %r" % (what, ex))
            self.assertEqual(ex.extra, b"", "%s: more than one reply: %r" % (what, ex))
            st, got = kv_get(self.addr, k)
            self.assertEqual((st, got.get("value")), (200, "framed"), what)
            self.assertNodeServes(what)


if __name__ == "__main__":
    unittest.main(verbosity=2)
