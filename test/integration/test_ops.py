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


DOCKERFILE = os.path.join(SOURCE_DIR, "docker", "Dockerfile")


class ComposeFile(unittest.TestCase):
    def test_compose_file(self):
        if shutil.which("docker") and subprocess.run(
                ["docker", "compose", "version"], capture_output=True).returncode == 0:
            env = dict(os.environ, CAUSALKV_CLUSTER_SECRET="test-secret")
            r = subprocess.run(["docker", "compose", "-f", COMPOSE, "config", "-q"],
                               capture_output=True, text=True, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            env.pop("CAUSALKV_CLUSTER_SECRET")
            r = subprocess.run(["docker", "compose", "-f", COMPOSE, "config", "-q"],
                               capture_output=True, text=True, env=env)
            self.assertNotEqual(r.returncode, 0, "compose runs without a cluster secret")
        # A structural check in any case: Debian's python3-yaml (scripts/test.sh installs
        # it) under the system python, as this python may be another installation.
        check = r'''
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
view6 = ",".join("node%d:13800" % i for i in range(1, 7))
view8 = ",".join("node%d:13800" % i for i in range(1, 9))
assert set(svc) == {"node%d" % i for i in range(1, 9)}, sorted(svc)
for i in range(1, 9):
    name = "node%d" % i
    s = svc[name]
    env = s["environment"]
    grown = i > 6
    # names, not static IPs: every VIEW entry is a service of this file, ADDRESS its own
    assert env["VIEW"] == (view8 if grown else view6), (name, env["VIEW"])
    assert all(a.split(":")[0] in svc for a in env["VIEW"].split(",")), env["VIEW"]
    assert env["ADDRESS"] == name + ":13800", (name, env["ADDRESS"])
    assert s.get("hostname", name) == name, name
    nets = s.get("networks") or []
    assert not any(isinstance(v, dict) and "ipv4_address" in v
                   for v in (nets.values() if isinstance(nets, dict) else [])), name
    assert str(env["REPL_FACTOR"]) == "2", name
    assert (s.get("profiles") == ["grow"]) == grown, (name, s.get("profiles"))
    # the secret comes from the caller's environment and is required
    assert re.fullmatch(r"\$\{CAUSALKV_CLUSTER_SECRET:\?[^}]+\}", env["CLUSTER_SECRET"]), \
        (name, env["CLUSTER_SECRET"])
    assert env["DATA_DIR"] == "/data", (name, env.get("DATA_DIR"))
    assert "node%d-data:/data" % i in s["volumes"], (name, s.get("volumes"))
    assert "node%d-data" % i in doc["volumes"], name
    # published on the host's loopback only, host port 13800+i
    assert len(s["ports"]) == 1, (name, s["ports"])
    p = s["ports"][0]
    if isinstance(p, dict):
        ok = p.get("host_ip") == "127.0.0.1" and str(p.get("published")) == str(13800 + i) \
            and int(p.get("target")) == 13800
    else:
        ok = str(p) == "127.0.0.1:%d:13800" % (13800 + i)
    assert ok, (name, p)
assert not re.search(r"\b\d+\.\d+\.\d+\.\d+:13800", open(sys.argv[1]).read().split("\nx-node")[1]), \
    "a static IP in an address"
print("ok")
'''
        r = subprocess.run(["/usr/bin/python3", "-c", check, COMPOSE], capture_output=True,
                           text=True)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ok"), r.stderr)

    def test_dockerfile(self):
        with open(DOCKERFILE) as f:
            text = f.read()
        # no frontend to fetch, and base images chosen by build arguments (tag pinned,
        # digest passed in by whoever can resolve it)
        self.assertNotRegex(text, r"(?m)^#\s*syntax=")
        froms = re.findall(r"(?m)^FROM\s+(\S+)", text)
        self.assertEqual(froms, ["${BUILD_IMAGE}", "${RUNTIME_IMAGE}"])
        self.assertRegex(text, r"(?m)^ARG BUILD_IMAGE=debian:bookworm$")
        self.assertRegex(text, r"(?m)^ARG RUNTIME_IMAGE=debian:bookworm-slim$")
        self.assertNotRegex(text, r"sha256:[0-9a-f]{64}", "a digest nobody resolved here")
        for label in ("title", "description", "version", "revision", "base.name"):
            self.assertIn("org.opencontainers.image.%s=" % label, text)
        # the runtime image has no curl; its health check is causalkv-cli
        runtime = text.split("FROM ${RUNTIME_IMAGE}", 1)[1]
        self.assertNotIn("curl", runtime)
        self.assertRegex(runtime, r"HEALTHCHECK .*\n.*causalkv-cli .*health")
        self.assertRegex(runtime, r"(?m)^USER 10001:10001$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
