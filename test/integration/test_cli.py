"""Integration tests for causalkv-cli (issue 7): every subcommand against real nodes, exit
codes, the causal context file, --json, unreachable and slow servers, usage errors.

Real nodes (4 nodes, rf=2, 2 shards; 2 more for the view change), fake HTTP servers (exact
request shape, error replies), a silent listener and an address that never listens: all
on the file's ckvtest.slot."""

import glob
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import ckvtest
from ckvtest import (SANITIZER_MARKS, SOURCE_DIR, Cluster, CkvTestCase, ctx_ge, key_count,
                     keypath, kv_get, poll, request, unique)

SLOT = ckvtest.slot(__file__)
PORT = SLOT.port
NOWHERE = SLOT.addrs(1)[0]  # never listens
FAKE_IP = SLOT.ips(1)[0]  # the fake servers (one at a time)
SILENT_IP = SLOT.ips(1)[0]  # listens, never accepts
FAKE2_IP = SLOT.ips(1)[0]  # a second fake server, beside the first


def _find(var, name, current):
    """The env variable, else the harness's choice, else any build*/ folder of the tree."""
    if os.environ.get(var) or os.access(current, os.X_OK):
        return current
    for p in sorted(glob.glob(os.path.join(SOURCE_DIR, "build*", name))):
        if os.access(p, os.X_OK):
            return p
    return current


ckvtest.CAUSALKV_BIN = _find("CAUSALKV_BIN", "causalkv", ckvtest.CAUSALKV_BIN)
CLI = _find("CAUSALKV_CLI", "causalkv-cli", ckvtest.CAUSALKV_CLI)


class CliRunner:
    """Runs the CLI with a private XDG_STATE_HOME/HOME, so no test touches the user's
    real context file, and fails on sanitizer reports."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ckv-cli-")
        self.state = os.path.join(self.tmp, "state")
        self.ctx = os.path.join(self.tmp, "ctx", "context.json")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, extra=None):
        e = dict(os.environ)
        e.pop("CAUSALKV_NODE", None)
        e["XDG_STATE_HOME"] = self.state
        e["HOME"] = os.path.join(self.tmp, "home")
        e.update(extra or {})
        return e

    def run_cli(self, *args, stdin=None, env=None, timeout=30):
        """(exit code, stdout, stderr) of one CLI call; args are passed as given."""
        p = subprocess.run([CLI] + list(args), input=stdin if stdin is not None else b"",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(env), timeout=timeout)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, "sanitizer report from %r:\n%s" % (args, err))
        return p.returncode, out, err

    def cli(self, node, *args, ctx=True, node_opt="--node", **kw):
        """CLI call against node with the test's context file (ctx=False: the default)."""
        pre = [node_opt, node]
        if ctx is True:
            pre += ["--context", self.ctx]
        elif ctx:
            pre += ["--context", ctx]
        return self.run_cli(*(pre + list(args)), **kw)

    def load_ctx(self, path=None):
        with open(path or self.ctx) as f:
            return json.load(f)

    def assertCli(self, result, rc, out=None, err_has=None):
        code, sout, serr = result
        self.assertEqual(code, rc, "exit code; stdout %r stderr %r" % (sout, serr))
        if out is not None:
            self.assertEqual(sout, out, "stdout; stderr %r" % serr)
        if err_has is not None:
            self.assertIn(err_has, serr)


class CliAgainstCluster(CliRunner, CkvTestCase):
    """A shared 4-node, 2-shard, rf=2 cluster."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(4, 2, name="cli")
        cls.addrs = cls.cluster.addrs

    @classmethod
    def tearDownClass(cls):
        cls.cluster.close_checked()

    def setUp(self):
        CliRunner.setUp(self)

    def tearDown(self):
        CliRunner.tearDown(self)
        self.assertEqual(self.cluster.crashed(), [], "a node crashed")

    # ---------------------------------------------------------------- keys
    def test_put_get_delete_round_trip(self):
        a = self.addrs[0]
        k = unique("rt")
        self.assertCli(self.cli(a, "get", k), 1, "", "does not exist")
        self.assertCli(self.cli(a, "delete", k), 1, "")
        self.assertCli(self.cli(a, "put", k, "v1"), 0, "added\n")
        self.assertCli(self.cli(a, "put", k, "v2"), 0, "updated\n")
        self.assertCli(self.cli(a, "get", k), 0, "v2\n")
        st, js = kv_get(a, k, ctx=self.load_ctx())
        self.assertEqual((st, js.get("value")), (200, "v2"))
        self.assertCli(self.cli(a, "delete", k), 0, "deleted\n")
        self.assertCli(self.cli(a, "get", k), 1, "")
        self.assertCli(self.cli(a, "delete", k), 1, "")
        self.assertCli(self.cli(a, "put", k, "v3"), 0, "added\n")

    def test_keys_are_percent_encoded(self):
        a = self.addrs[1]
        for base in ("a b/c?d#e%f", "ünï+&=", "~._-", "/", "..", "%2F", "é/"):
            k = base + unique("p")
            val = "val of %s" % k
            self.assertCli(self.cli(a, "put", k, val), 0, "added\n")
            st, js, _, _ = request(a, "GET", keypath(k), {"causal-context": self.load_ctx()})
            self.assertEqual(st, 200, "key %r stored under another name: %r" % (k, js))
            self.assertEqual(js["value"], val)
            self.assertCli(self.cli(self.addrs[3], "get", k), 0, val + "\n")

    def test_put_value_from_stdin_and_odd_values(self):
        a = self.addrs[2]
        k = unique("in")
        text = "line 1\nline \"2\"\t\\ é\n"
        self.assertCli(self.cli(a, "put", k, "-", stdin=text.encode()), 0, "added\n")
        self.assertCli(self.cli(a, "get", k), 0, text + "\n")
        self.assertCli(self.cli(a, "--", "put", k, "-5"), 0, "updated\n")
        self.assertCli(self.cli(a, "get", k), 0, "-5\n")
        self.assertCli(self.cli(a, "put", k, "-", stdin=b"\xff\xfe"), 2, "", "UTF-8")
        self.assertCli(self.cli(a, "put", k, "-", stdin=b""), 3, "", "Value is missing")
        self.assertCli(self.cli(a, "get", k), 0, "-5\n")

    def test_refused_requests_exit_3(self):
        a = self.addrs[0]
        self.assertCli(self.cli(a, "get", "k" * 51), 3, "", "Key is too long")
        self.assertCli(self.cli(a, "put", "k" * 51, "v"), 3, "", "Key is too long")
        self.assertCli(self.cli(a, "get", ""), 3, "", "Key is missing")
        self.assertCli(self.cli(a, "shard", "9"), 3, "", "Shard does not exist")

    # ---------------------------------------------------------------- cluster info
    def test_count(self):
        a = self.addrs[0]
        k = unique("c")
        self.assertCli(self.cli(a, "put", k, "v"), 0)
        # count is per node; compare with the node's own answer once it is stable
        def same():
            code, out, _ = self.cli(a, "count")
            return code == 0 and out == "%d\n" % key_count(a)
        poll(same, 10, msg="cli count equals GET /kv-store/key-count")

    def test_shards_and_shard(self):
        for a in (self.addrs[0], self.addrs[3]):
            self.assertCli(self.cli(a, "shards"), 0, "1\n2\n")
        for sid in (1, 2):
            for a in self.addrs:
                code, out, err = self.cli(a, "shard", str(sid))
                self.assertEqual(code, 0, err)
                fields = out.split()
                self.assertEqual(len(fields), 3, out)
                self.assertEqual(out.count("\n"), 1, out)
                self.assertEqual(fields[0], str(sid))
                self.assertTrue(fields[1].isdigit(), out)
                self.assertEqual(fields[2].split(","), self.cluster.replicas(sid))
        self.assertCli(self.cli(self.addrs[1], "shard", "01"), 0)

    # ---------------------------------------------------------------- context file
    def test_context_file_created_and_grows(self):
        self.assertFalse(os.path.exists(os.path.dirname(self.ctx)))
        prev = None
        for i in range(16):
            k = unique("cf")
            a = self.addrs[i % 4]
            b = self.addrs[(i + 1) % 4]  # the other replica of a's shard or the other shard
            self.assertCli(self.cli(a, "put", k, "v%d" % i), 0, "added\n")
            ctx = self.load_ctx()
            self.assertIsInstance(ctx, dict)
            if prev is not None:
                self.assertTrue(ctx_ge(ctx, prev), "context shrank: %r -> %r" % (prev, ctx))
                self.assertNotEqual(ctx, prev, "a write did not advance the context")
            prev = ctx
            # read-your-writes through another node, only thanks to the shared file
            self.assertCli(self.cli(b, "get", k), 0, "v%d\n" % i)
            self.assertTrue(ctx_ge(self.load_ctx(), prev))
        leftovers = [f for f in os.listdir(os.path.dirname(self.ctx))
                     if f != os.path.basename(self.ctx)]
        self.assertEqual(leftovers, [], "temporary files left behind")

    def test_context_sent_and_is_replaced(self):
        """A put through one replica, then a get with that context through the other
        replica of the same shard right away: the node must wait for the write."""
        first, second = self.cluster.replicas(1)
        for i in range(10):
            k = unique("rw")
            self.assertCli(self.cli(first, "put", k, "x%d" % i), 0)
            self.assertCli(self.cli(second, "get", k), 0, "x%d\n" % i)
            self.assertCli(self.cli(second, "put", k, "y%d" % i), 0, "updated\n")
            self.assertCli(self.cli(first, "get", k), 0, "y%d\n" % i)

    def test_default_context_paths(self):
        a = self.addrs[0]
        k = unique("dp")
        self.assertCli(self.cli(a, "put", k, "v", ctx=False), 0)
        xdg = os.path.join(self.state, "causalkv", "context.json")
        self.assertIsInstance(self.load_ctx(xdg), dict)
        home = os.path.join(self.tmp, "home")
        env = {"XDG_STATE_HOME": ""}
        self.assertCli(self.cli(a, "get", k, ctx=False, env=env), 0, "v\n")
        self.assertIsInstance(
            self.load_ctx(os.path.join(home, ".local", "state", "causalkv", "context.json")),
            dict)

    def test_no_context(self):
        a = self.addrs[0]
        k = unique("nc")
        self.assertCli(self.cli(a, "--no-context", "put", k, "v", ctx=False), 0, "added\n")
        self.assertCli(self.cli(a, "put", k, "w", "--no-context"), 0, "updated\n")
        self.assertFalse(os.path.exists(self.ctx))
        self.assertFalse(os.path.exists(self.state))

    def test_bad_context_file_is_ignored_with_a_warning(self):
        os.makedirs(os.path.dirname(self.ctx))
        with open(self.ctx, "w") as f:
            f.write("not json")
        k = unique("bc")
        code, out, err = self.cli(self.addrs[0], "put", k, "v")
        self.assertEqual((code, out), (0, "added\n"), err)
        self.assertIn("warning", err)
        self.assertIsInstance(self.load_ctx(), dict)

    # ---------------------------------------------------------------- output, env
    def test_json_output(self):
        a = self.addrs[1]
        k = unique("js")
        code, out, _ = self.cli(a, "--json", "put", k, "v")
        self.assertEqual(code, 0)
        js = json.loads(out)
        self.assertEqual(js["message"], "Added successfully")
        self.assertIsInstance(js["causal-context"], dict)
        code, out, _ = self.cli(a, "get", k, "--json")
        js = json.loads(out)
        self.assertEqual((code, js["value"], js["doesExist"]), (0, "v", True))
        code, out, _ = self.cli(a, "--json", "get", unique("missing"))
        js = json.loads(out)
        self.assertEqual((code, js["error"], js["doesExist"]), (1, "Key does not exist", False))
        code, out, _ = self.cli(a, "--json", "count")
        self.assertIsInstance(json.loads(out)["key-count"], int)
        code, out, _ = self.cli(a, "--json", "shards")
        self.assertEqual(json.loads(out)["shards"], [1, 2])
        code, out, _ = self.cli(a, "--json", "shard", "2")
        self.assertEqual(json.loads(out)["replicas"], self.cluster.replicas(2))

    def test_node_from_environment(self):
        k = unique("env")
        env = {"CAUSALKV_NODE": self.addrs[2]}
        self.assertCli(self.run_cli("--context", self.ctx, "put", k, "e", env=env), 0)
        self.assertCli(self.run_cli("--context", self.ctx, "get", k, env=env), 0, "e\n")
        # --node wins over the environment
        env = {"CAUSALKV_NODE": NOWHERE}
        self.assertCli(self.run_cli("--node", self.addrs[3], "--context", self.ctx, "get", k,
                                    env=env), 0, "e\n")
        self.assertCli(self.run_cli("--context", self.ctx, "get", k, env=env), 4)

    # ---------------------------------------------------------------- endpoints
    def cluster_files(self):
        d = os.path.join(self.state, "causalkv")
        return sorted(f for f in os.listdir(d) if f.startswith("context")) \
            if os.path.isdir(d) else []

    def test_endpoints_fail_over_and_share_a_cluster_file(self):
        a, b = self.addrs[0], self.addrs[1]
        k = unique("ep")
        res = self.run_cli("--endpoints", "%s,%s,%s" % (NOWHERE, a, b), "put", k, "v")
        self.assertCli(res, 0, "added\n")
        self.assertIn("%s: connection refused" % NOWHERE, res[2], "the failover is reported")
        files = self.cluster_files()
        self.assertEqual(len(files), 1, files)
        self.assertRegex(files[0], r"^context-[0-9a-f]{16}\.json$")
        ctx1 = self.load_ctx(os.path.join(self.state, "causalkv", files[0]))
        self.assertTrue(ctx1.get("clock"), ctx1)
        # the same cluster named in another order (and with spaces) shares the file
        self.assertCli(self.run_cli("--endpoints", " %s, %s ,%s" % (b, NOWHERE, a), "get", k),
                       0, "v\n")
        self.assertEqual(self.cluster_files(), files)
        self.assertCli(self.run_cli("get", k, env={"CAUSALKV_ENDPOINTS": "%s,%s" % (a, NOWHERE)}),
                       0, "v\n")
        self.assertEqual(len(self.cluster_files()), 2, "another list, another file")
        self.assertNotIn("context.json", self.cluster_files())
        # every endpoint down: exit 4, each one named
        res = self.run_cli("--endpoints", "%s,%s" % (NOWHERE, NOWHERE), "get", k)
        self.assertCli(res, 4)
        self.assertEqual(res[2].count(NOWHERE), 2, res[2])

    def test_context_of_a_newer_epoch_is_reported(self):
        a = self.addrs[0]
        k = unique("st")
        self.assertCli(self.cli(a, "put", k, "v"), 0)
        stale = {"epoch": 99, "clock": {a: 3}}
        with open(self.ctx, "w") as f:
            json.dump(stale, f)
        res = self.cli(a, "get", k)
        self.assertCli(res, 5, "", "is from view epoch 99, but the cluster is at epoch 0")
        self.assertIn("--forget-context", res[2])
        self.assertIn(self.ctx, res[2])
        self.assertEqual(self.load_ctx(), stale, "kept: the user decides")
        res = self.cli(a, "--forget-context", "get", k)
        self.assertCli(res, 0, "v\n", "forgot the causal context")
        self.assertEqual(self.load_ctx().get("epoch"), 0)
        self.assertCli(self.cli(a, "--forget-context"), 0, "")
        self.assertFalse(os.path.exists(self.ctx))
        self.assertCli(self.cli(a, "--forget-context"), 0, "", "forgot")


class CliViewChange(CliRunner, CkvTestCase):
    def test_view_change(self):
        with Cluster(2, 1, name="cli-vc") as c:
            keys = [unique("vc") for _ in range(10)]
            for k in keys:
                self.assertCli(self.cli(c.addrs[0], "put", k, "v" + k), 0)
            code, out, err = self.cli(c.addrs[1], "view-change", " , ".join(c.addrs), "2")
            if code == 4 and "not available" in err:
                self.skipTest("the node does not implement view change yet: " + err.strip())
            self.assertEqual(code, 0, err)
            self.assertEqual(out, "1 10 %s\n" % ",".join(c.addrs))
            for a in c.addrs:
                for k in keys:
                    self.assertCli(self.cli(a, "get", k), 0, "v%s\n" % k)
            self.assertCli(self.cli(c.addrs[0], "view-change", c.addrs[0], "2"), 3)
            self.assertEqual(c.shutdown_check(), [])


# --------------------------------------------------------------------------- fake servers


class FakeNode:
    """A scripted HTTP server: replies come from `replies` (status, body dict or bytes),
    the last one repeating; every request is recorded as (method, path, headers, body)."""

    def __init__(self, ip, replies):
        self.replies = list(replies)
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                fake.requests.append((self.command, self.path, dict(self.headers), body))
                status, reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = handle_any

        server_class = http.server.ThreadingHTTPServer
        if ":" in ip:
            server_class = type("Server6", (server_class,), {"address_family": socket.AF_INET6})
        self.server = server_class((ip, PORT), Handler)
        self.server.daemon_threads = True
        self.addr = ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, PORT)
        self.closed = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


CTX1 = {"epoch": 1, "clock": {"%s:%d" % (FAKE_IP, PORT): 4}}
CTX2 = {"epoch": 1, "clock": {"%s:%d" % (FAKE_IP, PORT): 5}}
EMPTY = {"epoch": 1, "clock": {}}


class CliAgainstFakes(CliRunner, unittest.TestCase):
    def fake(self, replies, ip=FAKE_IP):
        f = FakeNode(ip, replies)
        self.addCleanup(f.close)
        return f

    def write_ctx(self, ctx):
        os.makedirs(os.path.dirname(self.ctx), exist_ok=True)
        with open(self.ctx, "w") as f:
            json.dump(ctx, f)

    def body(self, req):
        return json.loads(req[3].decode()) if req[3] else None

    def test_request_shape(self):
        f = self.fake([(200, {"message": "Retrieved successfully", "value": "v",
                              "doesExist": True, "causal-context": CTX2})])
        self.write_ctx(CTX1)
        self.assertCli(self.cli(f.addr, "get", "a b/cç~._-%"), 0, "v\n")
        method, path, headers, _ = f.requests[-1]
        self.assertEqual((method, path), ("GET", "/kv-store/keys/a%20b%2Fc%C3%A7~._-%25"))
        self.assertEqual(self.body(f.requests[-1]), {"causal-context": CTX1})
        self.assertTrue(headers.get("Content-Type", "").startswith("application/json"))
        self.assertEqual(self.load_ctx(), CTX2)
        self.cli(f.addr, "put", "k", "v v")
        self.assertEqual(f.requests[-1][:2], ("PUT", "/kv-store/keys/k"))
        self.assertEqual(self.body(f.requests[-1]), {"value": "v v", "causal-context": CTX2})
        self.cli(f.addr, "delete", "k")
        self.assertEqual(f.requests[-1][:2], ("DELETE", "/kv-store/keys/k"))
        self.assertEqual(self.body(f.requests[-1]), {"causal-context": CTX2})
        for args, path in ((["count"], "/kv-store/key-count"), (["shards"], "/kv-store/shards"),
                           (["shard", "2"], "/kv-store/shards/2")):
            self.cli(f.addr, *args)
            self.assertEqual(f.requests[-1][:2], ("GET", path))
            self.assertEqual(self.body(f.requests[-1]), {"causal-context": CTX2})
        self.cli(f.addr, "view-change", "127.0.0.1:1, 127.0.0.2:1,127.0.0.3:1 ", "3")
        self.assertEqual(f.requests[-1][:2], ("PUT", "/kv-store/view-change"))
        self.assertEqual(self.body(f.requests[-1]),
                         {"view": ["127.0.0.1:1", "127.0.0.2:1", "127.0.0.3:1"],
                          "repl-factor": 3, "causal-context": CTX2})
        # no context: no causal-context field (and no body at all when nothing else)
        self.cli(f.addr, "--no-context", "get", "k", ctx=False)
        self.assertEqual(f.requests[-1][3], b"")
        self.cli(f.addr, "--no-context", "put", "k", "v", ctx=False)
        self.assertEqual(self.body(f.requests[-1]), {"value": "v"})

    def test_human_output_of_info_commands(self):
        f = self.fake([
            (200, {"message": "x", "key-count": 7, "shard-id": 1, "causal-context": CTX1}),
            (200, {"message": "x", "shards": [1, 2, 3], "causal-context": CTX1}),
            (200, {"message": "x", "shard-id": 2, "key-count": 3,
                   "replicas": ["127.0.0.1:1", "127.0.0.2:1"], "causal-context": CTX1}),
            (200, {"message": "View change successful", "causal-context": CTX1, "shards": [
                {"shard-id": 1, "replicas": ["127.0.0.1:1"], "key-count": 4},
                {"shard-id": 2, "replicas": ["127.0.0.2:1"], "key-count": 5}]}),
        ])
        self.assertCli(self.cli(f.addr, "count"), 0, "7\n")
        self.assertCli(self.cli(f.addr, "shards"), 0, "1\n2\n3\n")
        self.assertCli(self.cli(f.addr, "shard", "2"), 0, "2 3 127.0.0.1:1,127.0.0.2:1\n")
        self.assertCli(self.cli(f.addr, "view-change", "127.0.0.1:1,127.0.0.2:1", "1"), 0,
                       "1 4 127.0.0.1:1\n2 5 127.0.0.2:1\n")

    def test_server_errors_exit_4_and_keep_the_context(self):
        f = self.fake([
            (503, {"message": "Error in GET", "error": "Unable to satisfy request",
                   "causal-context": EMPTY}),
            # after a causal 503 the CLI asks which epoch and view the node holds
            (200, {"epoch": 1, "view": ["%s:%d" % (FAKE_IP, PORT)]}),
            (500, {"message": "Error", "error": "Out of memory", "causal-context": {}}),
            (502, b"<html>bad gateway</html>"),
            (400, {"message": "Error in PUT", "error": "Failed to parse request body",
                   "causal-context": EMPTY}),
        ])
        self.write_ctx(CTX1)
        res = self.cli(f.addr, "get", "k")
        self.assertCli(res, 4, "", "Unable to satisfy request")
        self.assertIn("hint:", res[2], "nothing says the context is foreign: only a hint")
        self.assertIn("--forget-context", res[2])
        self.assertEqual(f.requests[-1][:2], ("GET", "/kv-store/status"))
        self.assertCli(self.cli(f.addr, "get", "k"), 4, "", "Out of memory")
        self.assertCli(self.cli(f.addr, "--json", "get", "k"), 4,
                       "<html>bad gateway</html>\n", "502")
        self.assertCli(self.cli(f.addr, "put", "k", "v"), 3, "", "Failed to parse")
        self.assertEqual(self.load_ctx(), CTX1, "an error reply replaced the context")

    def test_context_of_another_cluster_is_reported(self):
        f = self.fake([
            (503, {"message": "Error in GET", "error": "Unable to satisfy request",
                   "causal-context": EMPTY}),
            (200, {"epoch": 1, "view": ["%s:%d" % (FAKE_IP, PORT)]}),
        ])
        foreign = {"epoch": 1, "clock": {"10.1.1.1:13800": 3}}
        self.write_ctx(foreign)
        res = self.cli(f.addr, "get", "k")
        self.assertCli(res, 5, "", "counts writes of 10.1.1.1:13800, which is not in the "
                       "cluster's view")
        self.assertEqual(self.load_ctx(), foreign)

    def test_http_error_is_not_failed_over(self):
        f1 = self.fake([(503, {"message": "Error in GET", "error": "Too many connections",
                               "causal-context": EMPTY})])
        f2 = self.fake([(200, {"message": "Retrieved successfully", "value": "v",
                               "causal-context": CTX1})], ip=FAKE2_IP)
        eps = "%s,%s" % (f1.addr, f2.addr)
        self.assertCli(self.cli(eps, "get", "k", ctx=False, node_opt="--endpoints"), 4, "",
                       "Too many connections")
        self.assertEqual(f2.requests, [], "an HTTP answer is an answer: no failover")

    def test_read_fails_over_on_timeout_a_write_does_not(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((SILENT_IP, PORT))
        s.listen(8)  # the connection completes, no reply ever comes
        f = self.fake([(200, {"message": "Retrieved successfully", "value": "v",
                              "causal-context": CTX1})])
        eps = "%s:%d,%s" % (SILENT_IP, PORT, f.addr)
        res = self.cli(eps, "--timeout", "300", "get", "k", node_opt="--endpoints")
        self.assertCli(res, 0, "v\n", "timed out")
        self.assertEqual(len(f.requests), 1)
        res = self.cli(eps, "--timeout", "300", "put", "k", "w", node_opt="--endpoints")
        self.assertCli(res, 4, "", "may have been applied")
        self.assertEqual(len(f.requests), 1, "a write that was sent is not sent again")

    def test_names_and_ipv6(self):
        f = self.fake([(200, {"message": "Retrieved successfully", "value": "v",
                              "causal-context": CTX1})], ip="127.0.0.1")
        self.assertCli(self.cli("localhost:%d" % PORT, "get", "k"), 0, "v\n")
        self.assertEqual(f.requests[-1][2].get("Host"), "localhost:%d" % PORT)
        f.close()
        f6 = FakeNode("::1", [(200, {"message": "Retrieved successfully", "value": "v6",
                                     "causal-context": CTX1})])
        self.addCleanup(f6.close)
        eps = "%s,[::1]:%d" % (NOWHERE, PORT)
        self.assertCli(self.cli(eps, "get", "k", node_opt="--endpoints"), 0, "v6\n")
        self.assertEqual(f6.requests[-1][2].get("Host"), "[::1]:%d" % PORT)

    def test_malformed_success_reply_exits_4(self):
        f = self.fake([(200, b"not json")])
        self.assertCli(self.cli(f.addr, "get", "k"), 4)
        self.assertCli(self.cli(f.addr, "--json", "get", "k"), 0, "not json\n")

    def test_unreachable_node_exits_4(self):
        start = time.monotonic()
        self.assertCli(self.cli(NOWHERE, "get", "k"), 4, "", NOWHERE)
        self.assertCli(self.cli(NOWHERE, "put", "k", "v"), 4)
        self.assertLess(time.monotonic() - start, 10)
        self.assertFalse(os.path.exists(self.ctx))

    def test_silent_node_times_out(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((SILENT_IP, PORT))
        s.listen(8)  # never accepts: the connection completes, no reply ever comes
        start = time.monotonic()
        code, _, err = self.cli("%s:%d" % (SILENT_IP, PORT), "--timeout", "300", "get", "k")
        elapsed = time.monotonic() - start
        self.assertEqual(code, 4, err)
        self.assertIn("timed out", err)
        self.assertLess(elapsed, 5, "--timeout 300 took %.1fs" % elapsed)

    def test_usage_errors_exit_2(self):
        n = ["--node", NOWHERE, "--context", self.ctx]
        cases = [
            [], ["bogus"], ["get"], ["get", "a", "b"], ["put", "k"], ["delete"],
            ["count", "x"], ["shards", "x"], ["shard"], ["shard", "abc"], ["shard", "-1"],
            ["view-change", "127.0.0.1:1"], ["view-change", "127.0.0.1:1", "two"],
            ["--timeout", "0", "get", "k"], ["--timeout", "abc", "get", "k"],
            ["--frobnicate", "get", "k"], ["get", "k", "--timeout"],
        ]
        for args in cases:
            code, out, err = self.run_cli(*(n + args))
            self.assertEqual(code, 2, "%r: %r %r" % (args, out, err))
            self.assertIn("causalkv-cli", err, args)
            self.assertEqual(out, "", args)
        for node in ("127.0.0.1:0", "127.0.0.1:99999", "1.2.3:80", ":80", "a_b:80", "::1:80",
                     "[::1", "[nothex]:80", "x:80:90", "a,b"):
            self.assertEqual(self.run_cli("--node", node, "get", "k")[0], 2, node)
        # names are accepted now: one that does not resolve is unreachable, not a typo
        self.assertCli(self.run_cli("--node", "nonsense.invalid", "get", "k"), 4, "",
                       "cannot resolve nonsense.invalid")
        self.assertEqual(self.run_cli("--node", NOWHERE, "--endpoints", NOWHERE, "get", "k")[0],
                         2, "--node and --endpoints together")
        self.assertFalse(os.path.exists(self.ctx))

    def test_help(self):
        for args in (["--help"], ["-h"], ["get", "--help"]):
            code, out, _ = self.run_cli(*args)
            self.assertEqual(code, 0)
            self.assertIn("usage", out)
            for word in ("get", "put", "delete", "count", "shards", "shard", "view-change",
                         "--node", "--context", "--no-context", "--json", "--timeout"):
                self.assertIn(word, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
