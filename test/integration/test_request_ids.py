"""Operations: request ids, /livez, JSON logs, peer down/up lines (README "Request ids",
"Operations").

  1 X-Request-Id on one node: a valid id is echoed, an invalid one (space, 65 bytes,
    non-ASCII) is replaced by the node's own and never echoed, 64 bytes pass; below
    debug a request without an id gets none, at debug every reply carries one
  2 LOG_FORMAT=json at debug: every line the node writes parses as one JSON object with
    ts, level, node and msg; the per-request lines carry request_id, also for a key
    with bytes that are not UTF-8
  3 a forwarded request (2 shards) carries its id: the client's reply echoes it and the
    owner's debug log shows the same id, also for an id the forwarding node generated
  4 /livez answers 200 on a standby and on a node catching up after a restart (while
    /healthz says 503)
  5 a peer that goes down and comes back: one warning line, then one "answers again"

Every test ends with every node alive, exiting 0 on SIGTERM, with no sanitizer report."""

import json
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import Cluster, CkvTestCase, health, keypath, poll, request  # noqa: E402
from ckvtest import split_addr  # noqa: E402
from shardhash import keys_for_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(4)
ID_MAX = 64  # CKV_REQUEST_ID_MAX
OWN_ID = re.compile(r"^[0-9a-f]{8}-[0-9]+$")
DEBUG_JSON = {"LOG_LEVEL": "debug", "LOG_FORMAT": "json"}


def get(addr, path, rid=None, timeout=5):
    headers = {"X-Request-Id": rid} if rid is not None else {}
    st, js, hdrs, _ = request(addr, "GET", path, headers=headers, timeout=timeout)
    return st, js, hdrs.get("X-Request-Id")


def log_text(node):
    with open(node.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def node_lines(node):
    """The lines the node wrote (not the harness's start markers)."""
    with open(node.log_path, "rb") as f:
        data = f.read()
    return [ln for ln in data.split(b"\n") if ln and not ln.startswith(b"=====")]


def json_lines(node):
    out = []
    for ln in node_lines(node):
        js = json.loads(ln.decode("utf-8"))  # strict: invalid UTF-8 fails here
        assert isinstance(js, dict), ln
        out.append(js)
    return out


def raw_get(addr, raw_path):
    """A GET whose request line holds raw bytes; the status (or None if cut off)."""
    host, port = split_addr(addr)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nX-Request-Id: raw-1\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    m = re.match(rb"HTTP/1\.1 (\d+)", data)
    return int(m.group(1)) if m else None


class Case(CkvTestCase):
    def setUp(self):
        self.cluster = None

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.close_checked()

    def start(self, n, rf, env=None, view_n=None):
        self.cluster = Cluster(n, rf, addrs=ADDRS[:n], name="rid", env=env)
        return self.cluster

    def assertAlive(self):
        self.assertEqual(self.cluster.crashed(), [], "node(s) died (log tails above)")


class SingleNode(Case):
    """1, 2."""

    def test_ids_at_info(self):
        c = self.start(1, 1)
        a = c.addrs[0]
        st, _, rid = get(a, "/livez")
        self.assertEqual((st, rid), (200, None), "no id asked, none given below debug")
        st, _, rid = get(a, keypath("k"), "client-id-1")
        self.assertEqual((st, rid), (404, "client-id-1"))
        ok64 = "a" * ID_MAX
        self.assertEqual(get(a, "/healthz", ok64)[2], ok64, "64 bytes are accepted")
        for bad in ("has space", "b" * (ID_MAX + 1), "caf\u00e9", "semi;colon", "quo\"te"):
            st, _, rid = get(a, "/livez", bad.encode("utf-8").decode("latin-1"))
            self.assertEqual(st, 200)
            self.assertIsNotNone(rid, "an invalid id %r is replaced, not dropped" % bad)
            self.assertRegex(rid, OWN_ID, "an invalid id %r is replaced by the node's" % bad)
        ids = [get(a, "/livez", "bad id")[2] for _ in range(3)]
        self.assertEqual(len(set(ids)), 3, "generated ids are distinct: %r" % ids)
        self.assertEqual(len({i.split("-")[0] for i in ids}), 1, "one prefix per node: %r" % ids)
        self.assertAlive()

    def test_debug_json(self):
        c = self.start(1, 1, env=DEBUG_JSON)
        a = c.addrs[0]
        st, _, rid = get(a, "/livez")
        self.assertEqual(st, 200)
        self.assertRegex(rid or "", OWN_ID, "at debug every reply carries an id")
        request(a, "PUT", keypath("jk"), {"value": "v"}, headers={"X-Request-Id": "put-7"})
        st, _, rid = get(a, keypath("jk"), "get-8")
        self.assertEqual((st, rid), (200, "get-8"))
        raw_status = raw_get(a, b"/kv-store/keys/\xff\xfe%22q\"\x01")
        self.assertIn(raw_status, (400, 404, None), "a raw non-UTF-8 key")

        def logged():
            lines = json_lines(c.nodes[0])
            by_id = {js.get("request_id"): js for js in lines if "request_id" in js}
            return ("put-7" in by_id and "get-8" in by_id and rid in by_id
                    and ("raw-1" in by_id or raw_status is None)) and (lines, by_id)

        lines, by_id = poll(logged, 5, msg="the per-request debug lines")
        for js in lines:
            for f in ("ts", "level", "node", "msg"):
                self.assertIn(f, js, "a JSON line without %s: %r" % (f, js))
            self.assertEqual(js["node"], a)
            self.assertRegex(js["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertTrue(any(js["level"] == "info" and "listening" in js["msg"] for js in lines))
        self.assertEqual(by_id["get-8"]["level"], "debug")
        self.assertIn("GET /kv-store/keys/jk -> 200", by_id["get-8"]["msg"])
        self.assertIn("PUT /kv-store/keys/jk -> 201", by_id["put-7"]["msg"])
        if raw_status is not None:
            self.assertIn("\ufffd", by_id["raw-1"]["msg"], "invalid bytes become U+FFFD")
        self.assertAlive()


class Forwarded(Case):
    """3."""

    def test_forwarded_request_keeps_its_id(self):
        c = self.start(2, 1, env={"LOG_LEVEL": "debug"})
        entry, owner = c.addrs
        key = keys_for_shard("fwd", 2, 2, 1)[0]
        st, js, hdrs, _ = request(entry, "PUT", keypath(key), {"value": "v"},
                                  headers={"X-Request-Id": "fwd-put-1"})
        self.assertEqual((st, js.get("address"), hdrs.get("X-Request-Id")),
                         (201, owner, "fwd-put-1"), "forwarded PUT: %r" % js)
        st, js, hdrs, _ = request(entry, "GET", keypath(key))
        gen = hdrs.get("X-Request-Id")
        self.assertEqual((st, js.get("address")), (200, owner), js)
        self.assertRegex(gen or "", OWN_ID, "a forwarded request without an id gets one")
        owner_node = c.nodes[1]
        for rid, what in (("fwd-put-1", "PUT /kv-store/keys/%s -> 201" % key),
                          (gen, "GET /kv-store/keys/%s -> 200" % key)):
            poll(lambda: ("[%s] %s" % (rid, what)) in log_text(owner_node), 5,
                 msg="the owner's debug line for %s" % rid)
            self.assertIn("[%s] proxy: forwarding" % rid, log_text(c.nodes[0]))
        self.assertAlive()


class Livez(Case):
    """4."""

    def assertLive(self, addr, what):
        st, js, _ = get(addr, "/livez")
        self.assertEqual((st, js), (200, {"status": "alive"}), what)

    def test_livez_on_standby(self):
        c = self.start(1, 1)
        node = c.start_extra(ADDRS[1], [c.addrs[0]], 1, wait=False)
        poll(lambda: health(node.addr)[1].get("status") == "standby", 10, msg="standby")
        self.assertEqual(health(node.addr)[0], 503)
        self.assertLive(node.addr, "/livez on a standby")
        self.assertLive(c.addrs[0], "/livez on a member")
        self.assertEqual(request(node.addr, "HEAD", "/livez")[0], 200)
        self.assertEqual(request(node.addr, "POST", "/livez")[0], 405)
        self.assertAlive()

    def test_livez_while_catching_up(self):
        c = self.start(2, 2)
        a, b = c.addrs
        request(a, "PUT", keypath("cu"), {"value": "v"})
        c.kill(1)
        c.kill(0)
        # restarted with its replica down: it waits for it (bootstrapping) this long
        c.nodes[0].env["CAUSAL_TIMEOUT_MS"] = "30000"
        c.start_node(0, wait=False)

        def catching_up():
            st, js = health(a)
            return st == 503 and js.get("bootstrapping") is True and js

        poll(catching_up, 10, msg="the restarted node says it is catching up")
        self.assertLive(a, "/livez while catching up")
        self.assertEqual(health(a)[0], 503, "still catching up after /livez")
        c.start_node(1, wait=False)
        poll(lambda: health(a)[0] == 200, 15, msg="caught up once its replica is back")
        self.assertLive(a, "/livez once ready")
        self.assertAlive()


class PeerDownUp(Case):
    """5."""

    def test_peer_down_and_back_is_logged(self):
        c = self.start(2, 2)
        a, b = c.addrs
        down = "peer %s: no reply" % b
        back = "peer %s answers again" % b
        c.kill(1)
        request(a, "PUT", keypath("pd"), {"value": "v"})  # pushed to b at once
        poll(lambda: down in log_text(c.nodes[0]), 10, msg="the peer-down line")
        c.start_node(1)
        poll(lambda: back in log_text(c.nodes[0]), 10, msg="the peer-back line")
        text = log_text(c.nodes[0])
        self.assertEqual(text.count(down), 1, "one line when the peer goes down")
        self.assertEqual(text.count(back), 1, "one line when it comes back")
        self.assertRegex(text, r"WARN peer %s: no reply" % re.escape(b))
        self.assertRegex(text, r"INFO peer %s answers again" % re.escape(b))
        self.assertAlive()


if __name__ == "__main__":
    unittest.main(verbosity=2)
