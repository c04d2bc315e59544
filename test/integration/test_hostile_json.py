"""Hostile clients, JSON bodies (issue 6; split from test_hostile.py by concern).

Bodies that are not JSON objects, fields of the wrong type, missing values, invalid
JSON strings, deep nesting, duplicate fields, and causal contexts with counters that
overflow, are out of reach (503 after CAUSAL_TIMEOUT_MS) or name 10,000 unknown nodes.

Cluster, normal client, helpers and final check: hostile_base."""

import time
import unittest

import ckvtest
import hostile_base as hb
from hostile_base import CAUSAL_TIMEOUT, MARGIN, PARSE_ERROR
from ckvtest import keypath

SLOT = ckvtest.slot(__file__)


class HostileJson(hb.HostileCase):
    MIN_NASTY = 40

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
                     {"value": "x", "causal-context": {"clock": {self.addrs[0]: "1"}}},
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
                     '{"value":"a","causal-context":{"clock":{"%s":0,"%s":0}}}'
                     % (self.addrs[0], self.addrs[0])):
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



if __name__ == "__main__":
    unittest.main(verbosity=2)
