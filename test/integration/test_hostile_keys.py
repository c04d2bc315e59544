"""Hostile clients, keys and paths (issue 6; split from test_hostile.py by concern).

Keys with slashes, percent escapes, NUL, invalid UTF-8 and every length around the
50-byte limit (up to request lines near MAX_HEADER_BYTES, also when proxied), and unknown
paths and shard ids.

Cluster, normal client, helpers and final check: hostile_base."""

import unittest

import ckvtest
import hostile_base as hb
from rawhttp import request_bytes as req_bytes

SLOT = ckvtest.slot(__file__)


class HostileKeys(hb.HostileCase):
    MIN_NASTY = 40

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



if __name__ == "__main__":
    unittest.main(verbosity=2)
