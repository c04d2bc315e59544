"""Members named by DNS names and IPv6 literals (issue "Past one machine").

- A 2-shard REPL_FACTOR 2 cluster whose VIEW is names that a hosts file written by the
  test resolves (HOSTS_FILE) to the slot's loopback addresses: writes, proxied reads and
  replication work, and `replicas`, `address` and the contexts show the names.
- A member whose name moves to another loopback address in the hosts file (only that
  node is restarted, on the new address) is reached again by the others, which are not
  restarted: with its replica stopped, every other node's reads of its shard are served
  by it.
- IPv6 loopback members ([::1] on two of the file's ports): replication and contexts.
- A name that does not resolve when the nodes start: they start, log it once, and the
  cluster works once the hosts file has the name.

After each scenario every node that was not stopped on purpose is still running. Every
wait polls for its condition with a bound.
"""

import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import (Cluster, CkvTestCase, as_object, kv_get, kv_put, poll,  # noqa: E402
                     request, unique)

SLOT = ckvtest.slot(__file__)
DOMAIN = "names.test"  # .test is reserved for testing (RFC 2606)
BOUND = 20.0  # seconds any condition below may take


def write_hosts(path, entries):
    """entries: {name: ip}. Replaced in one rename, so a node never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# written by test_names.py\n")
        for name, ip in entries.items():
            f.write("%s %s\n" % (ip, name))
    os.replace(tmp, path)


def host_of(addr):
    return addr.rsplit(":", 1)[0]


def log_text(node):
    with open(node.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class NamesBase(CkvTestCase):
    cluster = None

    dir = None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.cluster is not None:
                cls.cluster.close_checked(dump_logs=False)
        finally:
            if cls.dir is not None:
                shutil.rmtree(cls.dir, ignore_errors=True)

    def tearDown(self):
        if self.cluster is not None:
            self.assertEqual(self.cluster.crashed(), [], "a node died")

    def reach(self, addr):
        return self.cluster._node(addr).reach

    def get(self, addr, key):
        return as_object(kv_get(self.reach(addr), key))

    def assertAllRunning(self, but=()):
        for n in self.cluster.all_nodes():
            if n.addr not in but:
                self.assertTrue(n.running(), "%s is not running" % n.addr)

    def assertContextNames(self, ctx, members):
        clock = ctx.get("clock", {})
        self.assertTrue(clock, "empty clock in %r" % ctx)
        for a in clock:
            self.assertIn(a, members, "context names %r, not a member" % a)

    def wait_everywhere(self, key, value):
        """Every node answers key with value (proxied or local); returns the replies."""
        def check():
            replies = {}
            for a in self.cluster.addrs:
                st, js = self.get(a, key)
                if st != 200 or js.get("value") != value:
                    return None
                replies[a] = js
            return replies
        return poll(check, BOUND, msg="%s readable everywhere" % key)


class NamedCluster(NamesBase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ckv-names-")
        cls.hosts = os.path.join(cls.dir, "hosts")
        ips = SLOT.ips(4)
        cls.names = ["ckv-%d.%s:%d" % (i, DOMAIN, SLOT.port) for i in range(4)]
        cls.ip = {a: ip for a, ip in zip(cls.names, ips)}
        write_hosts(cls.hosts, {host_of(a): ip for a, ip in cls.ip.items()})
        cls.cluster = Cluster(
            4, 2, name="names", addrs=cls.names, env={"HOSTS_FILE": cls.hosts},
            reach={a: "%s:%d" % (ip, SLOT.port) for a, ip in cls.ip.items()},
            node_env={a: {"BIND": ip} for a, ip in cls.ip.items()})

    def test_1_names_are_the_identities(self):
        c = self.cluster
        keys = {}
        for i, a in enumerate(c.addrs * 3):
            key, value = unique("n%d" % i), "v%d" % i
            st, js = as_object(kv_put(self.reach(a), key, value))
            self.assertIn(st, (200, 201), js)
            self.assertContextNames(js["causal-context"], c.addrs)
            if "address" in js:
                self.assertIn(js["address"], c.addrs)
            keys[key] = value
        proxied = 0
        for key, value in keys.items():
            replies = self.wait_everywhere(key, value)  # local ones need replication
            for a, js in replies.items():
                if "address" in js:
                    proxied += 1
                    self.assertIn(js["address"], c.addrs, "proxied from %s" % a)
                    self.assertNotEqual(c.shard_of(js["address"]), c.shard_of(a))
                self.assertContextNames(js["causal-context"], c.addrs)
        self.assertGreater(proxied, 0, "no read was proxied")
        for sid in (1, 2):
            st, js = as_object(request(self.reach(c.addrs[0]), "GET", "/kv-store/shards/%d" % sid)[:2])
            self.assertEqual(st, 200, js)
            self.assertEqual(js["replicas"], c.replicas(sid))
        self.assertAllRunning()

    def test_2_moved_member_is_reached_again(self):
        c = self.cluster
        moved, partner = c.addrs[0], c.addrs[1]  # the replicas of shard 1
        new_ip = SLOT.ips(1)[0]
        node = c._node(moved)
        c.stop(moved)
        self.ip[moved] = new_ip
        write_hosts(self.hosts, {host_of(a): ip for a, ip in self.ip.items()})
        node.reach = "%s:%d" % (new_ip, SLOT.port)
        node.env["BIND"] = new_ip
        c.start_node(moved)  # waits until it answers on the new address

        # both ways between the replicas: pushes from and to the new address
        for src, dst in ((partner, moved), (moved, partner)):
            local = 0
            for i in range(12):
                key, value = unique("m%d" % i), "w%d" % i
                st, js = as_object(kv_put(self.reach(src), key, value))
                self.assertIn(st, (200, 201), js)
                st, js = poll(lambda: (lambda r: r if r[0] == 200 else None)(self.get(dst, key)),
                              BOUND, msg="%s reads %s" % (dst, key))
                self.assertEqual(js["value"], value)
                local += "address" not in js
            self.assertGreater(local, 0, "no key of shard 1 among those written")

        # every other node, none restarted, learns the new address
        for a in c.addrs[1:]:
            poll(lambda: "now resolves to %s" % new_ip in log_text(c._node(a)), BOUND,
                 msg="%s re-resolves %s" % (a, host_of(moved)))

        # with the partner stopped, shard 1 is the moved node alone: the other shard's
        # nodes reach it for every read of shard 1
        keys = {}
        for i in range(12):
            key, value = unique("s%d" % i), "x%d" % i
            self.assertIn(as_object(kv_put(self.reach(moved), key, value))[0], (200, 201))
            keys[key] = value
        for key, value in keys.items():
            self.wait_everywhere(key, value)
        c.stop(partner)
        served = 0
        for key, value in keys.items():
            for a in c.addrs[2:]:
                st, js = poll(lambda: (lambda r: r if r[0] == 200 else None)(self.get(a, key)),
                              BOUND, msg="%s reads %s" % (a, key))
                self.assertEqual(js["value"], value)
                if js.get("address") == moved:
                    served += 1
        self.assertGreater(served, 0, "the moved node served no read of the other shard")
        c.start_node(partner)  # and it comes back through the moved node
        self.assertAllRunning()


def ipv6_loopback_reason():
    """None when ::1 can be bound, else why not."""
    if not socket.has_ipv6:
        return "python has no IPv6"
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as e:
        return "no IPv6 sockets: %s" % e
    try:
        s.bind(("::1", 0))
    except OSError as e:
        return "cannot bind ::1 (IPv6 disabled in the kernel?): %s" % e
    finally:
        s.close()
    return None


class Ipv6Members(NamesBase):
    @classmethod
    def setUpClass(cls):
        why = ipv6_loopback_reason()
        if why is not None:
            print("test_names: skipping the IPv6 members: %s" % why, file=sys.stderr)
            raise unittest.SkipTest(why)
        # [::1] twice: the members differ by port, the slot's and another of the file's;
        # the second node spells its ADDRESS differently, and finds itself in VIEW
        port2 = SLOT.extra_port()
        view = ["[::1]:%d" % SLOT.port, "[::1]:%d" % port2]
        cls.cluster = Cluster(2, 2, name="ipv6", addrs=view,
                              node_env={view[1]: {"ADDRESS": "[0:0::1]:%d" % port2}})

    def test_ipv6_members_replicate(self):
        a, b = self.cluster.addrs
        for src, dst in ((a, b), (b, a)):
            key, value = unique("six"), "v6"
            st, js = as_object(kv_put(src, key, value))
            self.assertIn(st, (200, 201), js)
            self.assertContextNames(js["causal-context"], self.cluster.addrs)
            st, js = poll(lambda: (lambda r: r if r[0] == 200 else None)(as_object(kv_get(dst, key))),
                          BOUND, msg="%s reads %s" % (dst, key))
            self.assertEqual(js["value"], value)
            self.assertContextNames(js["causal-context"], self.cluster.addrs)
        st, js = as_object(request(a, "GET", "/kv-store/shards/1")[:2])
        self.assertEqual(st, 200, js)
        self.assertEqual(js["replicas"], self.cluster.addrs)  # the normalised spelling
        self.assertAllRunning()


class NameResolvesLate(NamesBase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ckv-names-late-")
        cls.hosts = os.path.join(cls.dir, "hosts")
        ips = SLOT.ips(2)
        cls.names = ["late-%d.%s:%d" % (i, DOMAIN, SLOT.port) for i in range(2)]
        cls.ip = {a: ip for a, ip in zip(cls.names, ips)}
        write_hosts(cls.hosts, {host_of(cls.names[0]): ips[0]})  # the second is missing
        cls.cluster = Cluster(
            2, 2, name="names-late", addrs=cls.names, env={"HOSTS_FILE": cls.hosts},
            reach={a: "%s:%d" % (ip, SLOT.port) for a, ip in cls.ip.items()},
            node_env={a: {"BIND": ip} for a, ip in cls.ip.items()}, start=False)

    def test_cluster_works_once_the_name_resolves(self):
        c = self.cluster
        first, late = c.addrs
        for a in c.addrs:
            c._node(a).start()
        missing = "%s does not resolve" % host_of(late)
        poll(lambda: missing in log_text(c._node(first)), BOUND, msg="the missing name is logged")
        self.assertAllRunning()

        write_hosts(self.hosts, {host_of(a): ip for a, ip in self.ip.items()})
        resolved = "%s resolves to %s" % (host_of(late), self.ip[late])
        poll(lambda: resolved in log_text(c._node(first)), BOUND, msg="the name resolves")
        c.wait_ready(timeout=BOUND)
        for src, dst in ((first, late), (late, first)):
            key = unique("late")
            st, js = as_object(kv_put(self.reach(src), key, "v"))
            self.assertIn(st, (200, 201), js)
            st, js = poll(lambda: (lambda r: r if r[0] == 200 else None)(self.get(dst, key)),
                          BOUND, msg="%s reads %s" % (dst, key))
        text = log_text(c._node(first))
        self.assertEqual(text.count(missing), 1, "logged once, not once per retry")
        self.assertEqual(text.count(resolved), 1)
        self.assertAllRunning()


if __name__ == "__main__":
    unittest.main(verbosity=2)
