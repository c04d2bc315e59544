"""Operations as users run them: scripts/cluster.sh, causalkv-cli against it, /metrics and
/healthz on every node, and the docker-compose file (docker compose config where the plugin
exists, else a YAML parse). The port is the file's ckvtest.slot's; the addresses are
cluster.sh's own layout, 127.0.0.2-7 (nothing else of the suite uses 127.0.0.0/24)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import ckvtest
from ckvtest import CAUSALKV_BIN, CAUSALKV_CLI, SOURCE_DIR, request

SLOT = ckvtest.slot(__file__)
PORT = SLOT.port
N, R = 6, 2
CLUSTER_SH = os.path.join(SOURCE_DIR, "scripts", "cluster.sh")
COMPOSE = os.path.join(SOURCE_DIR, "docker", "docker-compose.yml")
METRIC_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInf]+$')


def parse_prometheus(text):
    """{name: [(labels, value)]}; raises AssertionError on a line of the wrong shape."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("# TYPE"):
                assert len(line.split()) == 4, line
            continue
        assert METRIC_LINE.match(line), "not Prometheus text: %r" % line
        name_labels, value = line.rsplit(" ", 1)
        name = name_labels.split("{", 1)[0]
        out.setdefault(name, []).append((name_labels[len(name):], float(value)))
    return out


class ClusterScript(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.run_dir = tempfile.mkdtemp(prefix="ckv-ops-")
        cls.env = dict(os.environ, CKV_RUN_DIR=cls.run_dir, CAUSALKV_BIN=CAUSALKV_BIN)
        cls.state = os.path.join(cls.run_dir, "cli-state")
        cls.addrs = []
        try:
            up = subprocess.run(["bash", CLUSTER_SH, "up", str(N), str(R), str(PORT)], env=cls.env,
                                capture_output=True, text=True, timeout=120)
            if up.returncode != 0:
                raise AssertionError("cluster.sh up failed:\n" + up.stdout + up.stderr)
            cls.addrs = up.stdout.split()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        down = subprocess.run(["bash", CLUSTER_SH, "down"], env=cls.env, capture_output=True,
                              text=True, timeout=60)
        logs = ""
        for name in sorted(os.listdir(cls.run_dir)) if os.path.isdir(cls.run_dir) else []:
            if name.endswith(".log"):
                with open(os.path.join(cls.run_dir, name), errors="replace") as f:
                    text = f.read()
                if "Sanitizer" in text or "runtime error:" in text:
                    logs += "\n%s:\n%s" % (name, text[-3000:])
        shutil.rmtree(cls.run_dir, ignore_errors=True)
        if down.returncode != 0 or logs:
            raise AssertionError("cluster.sh down: %s%s%s" % (down.stdout, down.stderr, logs))

    def cli(self, *args, node=None):
        env = dict(os.environ, XDG_STATE_HOME=self.state, HOME=self.run_dir)
        cmd = [CAUSALKV_CLI, "--node", node or self.addrs[0]] + list(args)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)

    def test_1_cluster_layout(self):
        self.assertEqual(self.addrs, ["127.0.0.%d:%d" % (i + 2, PORT) for i in range(N)])
        for a in self.addrs:
            st, js, _, _ = request(a, "GET", "/kv-store/shards")
            self.assertEqual((st, js["shards"]), (200, [1, 2, 3]))
        status = subprocess.run(["bash", CLUSTER_SH, "status"], env=self.env, capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(status.returncode, 0, status.stderr)
        for a in self.addrs:
            self.assertIn(a, status.stdout)

    def test_2_cli_uses_the_cluster(self):
        for i in range(12):
            r = self.cli("put", "ops-%d" % i, "value-%d" % i, node=self.addrs[i % N])
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "added"), r.stderr)
        for i in range(12):  # read through another node, with the same context file
            r = self.cli("get", "ops-%d" % i, node=self.addrs[(i + 3) % N])
            self.assertEqual((r.returncode, r.stdout), (0, "value-%d\n" % i), r.stderr)
        r = self.cli("get", "ops-missing")
        self.assertEqual(r.returncode, 1)
        r = self.cli("shards")
        self.assertEqual(r.stdout.split(), ["1", "2", "3"])

    def test_3_metrics_on_every_node(self):
        for a in self.addrs:
            st, _, hd, raw = request(a, "GET", "/metrics", raw=True)
            self.assertEqual(st, 200)
            self.assertTrue(hd.get("content-type", "").startswith("text/plain"), hd)
            m = parse_prometheus(raw.decode())
            for name in ("causalkv_requests_total", "causalkv_request_duration_seconds_bucket",
                         "causalkv_keys", "causalkv_tombstones", "causalkv_anti_entropy_rounds_total",
                         "causalkv_proxy_failovers_total", "causalkv_causal_waits_total",
                         "causalkv_view_epoch", "causalkv_replication_queue_depth"):
                self.assertIn(name, m, "%s missing at %s" % (name, a))
            self.assertEqual(m["causalkv_view_epoch"][0][1], 0)
            buckets = [v for labels, v in m["causalkv_request_duration_seconds_bucket"]
                       if 'endpoint="keys"' in labels]
            self.assertEqual(buckets, sorted(buckets), "histogram buckets must be cumulative")
        # the key counts in /metrics agree with the API's
        for a in self.addrs:
            _, js, _, _ = request(a, "GET", "/kv-store/key-count")
            _, _, _, raw = request(a, "GET", "/metrics", raw=True)
            self.assertEqual(parse_prometheus(raw.decode())["causalkv_keys"][0][1], js["key-count"])

    def test_4_healthz_on_every_node(self):
        for i, a in enumerate(self.addrs):
            st, js, _, _ = request(a, "GET", "/healthz")
            self.assertEqual(st, 200, js)
            self.assertEqual(js["status"], "ok")
            self.assertEqual(js["view-epoch"], 0)
            self.assertEqual(js["shard-id"], i // R + 1)


class ComposeFile(unittest.TestCase):
    def test_compose_file(self):
        if shutil.which("docker") and subprocess.run(
                ["docker", "compose", "version"], capture_output=True).returncode == 0:
            r = subprocess.run(["docker", "compose", "-f", COMPOSE, "config", "-q"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        # A structural check in any case: Debian's python3-yaml (scripts/test.sh installs
        # it) under the system python, as this python may be another installation.
        check = r'''
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
nodes = ["node%d" % i for i in range(1, 7)]
view = ",".join("10.10.0.%d:13800" % (i + 1) for i in range(1, 7))
for i, name in enumerate(nodes, start=1):
    s = svc[name]
    ip = "10.10.0.%d" % (i + 1)
    env = s["environment"]
    assert env["VIEW"] == view, (name, env["VIEW"])
    assert str(env["REPL_FACTOR"]) == "2", name
    assert env["ADDRESS"] == ip + ":13800", (name, env["ADDRESS"])
    assert s["networks"][next(iter(s["networks"]))]["ipv4_address"] == ip, name
    assert env["DATA_DIR"] == "/data", (name, env.get("DATA_DIR"))
    assert "node%d-data:/data" % i in s["volumes"], (name, s.get("volumes"))
    assert "node%d-data" % i in doc["volumes"], name
    assert any(str(p).startswith("%d:13800" % (13800 + i)) or
               (isinstance(p, dict) and p.get("published") in (13800 + i, str(13800 + i)))
               for p in s["ports"]), (name, s["ports"])
nets = doc["networks"]
subnets = [c["subnet"] for n in nets.values() for c in n["ipam"]["config"]]
assert "10.10.0.0/16" in subnets, subnets
print("ok")
'''
        r = subprocess.run(["/usr/bin/python3", "-c", check, COMPOSE], capture_output=True,
                           text=True)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ok"), r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
