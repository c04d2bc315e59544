"""Hostile clients, connections (issue 6; split from test_hostile.py by concern).

2,000 idle connections and slowloris clients are cut off after HTTP_TIMEOUT_MS while the
nodes go on serving; and (own cluster, HTTP_TIMEOUT_MS=300) a proxied request that reuses
a pooled connection just as the peer closes it for idleness is still served.

Cluster, normal client, helpers and final check: hostile_base."""

import random
import resource
import select
import socket
import time
import unittest

import ckvtest
import hostile_base as hb
from hostile_base import HTTP_TIMEOUT, MARGIN
from ckvtest import keypath, request
from rawhttp import read_reply, request_bytes as req_bytes, split_addr

SLOT = ckvtest.slot(__file__)

IDLE_CONNECTIONS = 2000
SLOW_CLIENTS = 3


class HostileConnections(hb.HostileCase):
    MIN_NASTY = 40

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
                try:
                    rep, _ = read_reply(s, 5)
                except ConnectionError:
                    rep = None
                self.assertTrue(rep, "closed before the reply")
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



class ProxyAfterPeerIdleTimeout(ckvtest.CkvTestCase):
    """A node's pooled keep-alive connection to a peer is closed by that peer after
    HTTP_TIMEOUT_MS of silence. A proxied request that reuses the connection just as the
    peer closes it must still be served (by a fresh connection), not fail with 503:
    client requests spaced about HTTP_TIMEOUT_MS apart hit that moment again and again.

    Own cluster (two more addresses of the slot; rf=1, so the request has no other replica
    to fail over to), HTTP_TIMEOUT_MS=300 to keep it short. No other traffic runs, so the
    pool's first connection is the one that idles."""

    T = 0.3
    REQUESTS = 40

    @classmethod
    def setUpClass(cls):
        cls.cluster = ckvtest.Cluster(2, 1, name="idle-race",
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
