"""Integration tests for installing and running causalkv as a service: `cmake --install`
of the test build into a temporary prefix (the installed binary serves /healthz),
`causalkv --config FILE` (values used, the environment wins, a bad line exits 2 naming
it), the hand-written sd_notify (READY=1 once the port answers, STOPPING=1 on SIGTERM,
to a path and to an abstract socket the test binds) and the systemd unit
(`systemd-analyze verify` when the command exists, and its hardening settings).

Every node listens on the file's ckvtest.slot; every process is stopped by its PID."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import ckvtest
from ckvtest import SANITIZER_MARKS, SOURCE_DIR, health, poll

SLOT = ckvtest.slot(__file__)
BIN = ckvtest.CAUSALKV_BIN
CLI = ckvtest.CAUSALKV_CLI
BUILD_DIR = os.path.dirname(os.path.abspath(BIN))
UNIT_SRC = os.path.join(SOURCE_DIR, "deploy", "systemd", "causalkv.service")
ENV_EXAMPLE = os.path.join(SOURCE_DIR, "deploy", "systemd", "causalkv.env")
NODE_VARS = ("ADDRESS", "VIEW", "REPL_FACTOR", "PORT", "BIND", "DATA_DIR", "CLUSTER_SECRET",
             "LOG_LEVEL", "FSYNC", "NOTIFY_SOCKET")


def clean_env(**extra):
    """This process's environment without any node variable, plus extra."""
    e = {k: v for k, v in os.environ.items() if k not in NODE_VARS}
    e.update(extra)
    return e


class Proc:
    """One causalkv process, its output in a log file; stopped by PID at the end."""

    def __init__(self, test, argv, env, tmp):
        self.log_path = os.path.join(tmp, "node-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, preexec_fn=ckvtest._pdeathsig)
        test.addCleanup(self.stop)
        self.test = test

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
        if self.log.closed:
            return
        self.log.close()
        bad = [m for m in SANITIZER_MARKS if m in self.text()]
        if bad:
            raise AssertionError("sanitizer report in %s:\n%s" % (self.log_path, self.text()))

    def wait_healthy(self, addr, timeout=15):
        def ok():
            if self.p.poll() is not None:
                raise AssertionError("node exited %s:\n%s" % (self.p.returncode, self.text()))
            try:
                return health(addr)[0] == 200
            except OSError:
                return False
        poll(ok, timeout, msg="%s never answered /healthz 200" % addr)

    def terminate(self, timeout=10):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout)


class InstallBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ckv-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, argv, **env):
        return Proc(self, argv, clean_env(**env), self.tmp)

    def run_node(self, argv, timeout=10, **env):
        """Runs a node that is expected to exit by itself (bad configuration)."""
        return subprocess.run(argv, env=clean_env(**env), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class Install(InstallBase):
    """cmake --install of the build the tests run into a temporary prefix."""

    def setUp(self):
        super().setUp()
        if not os.path.isfile(os.path.join(BUILD_DIR, "cmake_install.cmake")):
            self.skipTest("%s is not a CMake build directory (CAUSALKV_BIN=%s)"
                          % (BUILD_DIR, BIN))

    def install(self, prefix, destdir=None):
        env = dict(os.environ)
        if destdir:
            env["DESTDIR"] = destdir
        r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_install_tree_and_installed_node_serves(self):
        prefix = os.path.join(self.tmp, "prefix")
        self.install(prefix)
        for rel in ("bin/causalkv", "bin/causalkv-cli"):
            self.assertTrue(os.access(os.path.join(prefix, rel), os.X_OK), rel)
        unit = os.path.join(prefix, "lib", "systemd", "system", "causalkv.service")
        with open(unit) as f:
            text = f.read()
        # ExecStart names the installed binary, nothing else of the unit changed
        self.assertIn("\nExecStart=%s/bin/causalkv\n" % prefix, text)
        with open(UNIT_SRC) as f:
            self.assertEqual(text.replace(prefix + "/bin/", "/usr/local/bin/"), f.read())
        examples = os.path.join(prefix, "share", "doc", "causalkv", "examples")
        self.assertTrue(os.path.isfile(os.path.join(examples, "causalkv.env")))
        self.assertTrue(os.path.isfile(os.path.join(examples, "causalkv.service")))

        addr = SLOT.addrs(1)[0]
        node = self.start([os.path.join(prefix, "bin", "causalkv")], ADDRESS=addr)
        node.wait_healthy(addr)
        r = subprocess.run([os.path.join(prefix, "bin", "causalkv-cli"), "--no-context",
                            "--node", addr, "count"], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "0"), r.stderr)
        self.assertEqual(node.terminate(), 0)

    def test_destdir_stages_but_unit_names_the_prefix(self):
        stage = os.path.join(self.tmp, "stage")
        self.install("/opt/causalkv", destdir=stage)
        unit = os.path.join(stage, "opt", "causalkv", "lib", "systemd", "system",
                            "causalkv.service")
        with open(unit) as f:
            self.assertIn("\nExecStart=/opt/causalkv/bin/causalkv\n", f.read())
        self.assertTrue(os.access(os.path.join(stage, "opt", "causalkv", "bin", "causalkv"),
                                  os.X_OK))


class ConfigFile(InstallBase):
    """causalkv --config FILE."""

    def test_values_from_the_file_are_used(self):
        addr = SLOT.addrs(1)[0]
        path = self.write("node.env", "# a node from a file\n\nADDRESS=%s\nVIEW='%s'\n"
                          "REPL_FACTOR=\"1\"\nLOG_LEVEL=debug\n" % (addr, addr))
        node = self.start([BIN, "--config", path])
        node.wait_healthy(addr)
        st, js, _, _ = ckvtest.request(addr, "GET", "/kv-store/status")
        self.assertEqual((st, js["address"], js["view"]), (200, addr, [addr]))
        self.assertIn("LOG_LEVEL=debug", node.text())
        self.assertEqual(node.terminate(), 0)

    def test_environment_wins(self):
        file_addr, env_addr = SLOT.addrs(2)
        path = self.write("node.env", "ADDRESS=%s\nVIEW=%s\n" % (file_addr, file_addr))
        # VIEW set in the environment wins; an empty ADDRESS counts as unset: the file's
        node = self.start(["%s" % BIN, "--config=%s" % path], ADDRESS="", VIEW=env_addr)
        poll(lambda: "listening" in node.text(), 15, msg="no start line")
        self.assertIn("ADDRESS=%s" % file_addr, node.text())
        self.assertIn("VIEW=%s" % env_addr, node.text())
        node.stop()
        # ADDRESS from the environment: the node listens there, not at the file's
        node = self.start([BIN, "--config", path], ADDRESS=env_addr, VIEW=env_addr)
        node.wait_healthy(env_addr)
        with self.assertRaises(OSError):
            health(file_addr, timeout=1)
        self.assertEqual(node.terminate(), 0)

    def test_bad_files_exit_2_naming_the_line(self):
        cases = [
            ("ADDRESS=%s\nVEIW=x\n" % SLOT.addr(250), "line 2: unknown variable VEIW"),
            ("# ok\n\nADDRESS %s\n" % SLOT.addr(250), "line 3: not VARIABLE=value"),
            ("VIEW=\"%s\n" % SLOT.addr(250), "line 1: VIEW: a quote is not closed"),
            ("REPL_FACTOR=two\n", "REPL_FACTOR"),  # the value is checked like the env's
        ]
        for text, want in cases:
            path = self.write("bad.env", text)
            r = self.run_node([BIN, "--config", path])
            self.assertEqual(r.returncode, 2, (text, r.stderr))
            self.assertIn("bad configuration", r.stderr)
            self.assertIn(want, r.stderr, text)
            if "line" in want:
                self.assertIn(path, r.stderr)
        r = self.run_node([BIN, "--config", os.path.join(self.tmp, "missing.env")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("missing.env: No such file", r.stderr)
        r = self.run_node([BIN, "--config"])
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_example_file_has_only_known_variables(self):
        # Its ADDRESS and VIEW are an example network's: the environment replaces them,
        # every other line (secret, FSYNC, LOG_LEVEL) is taken from the file.
        addr = SLOT.addrs(1)[0]
        data = os.path.join(self.tmp, "data")
        node = self.start([BIN, "--config", ENV_EXAMPLE], ADDRESS=addr, VIEW=addr,
                          REPL_FACTOR="1", DATA_DIR=data)
        node.wait_healthy(addr)
        text = node.text()
        for want in ("ADDRESS=%s" % addr, "CLUSTER_SECRET=set", "FSYNC=everysec",
                     "DATA_DIR=%s" % data):
            self.assertIn(want, text)
        self.assertEqual(node.terminate(), 0)

    def test_help_mentions_config(self):
        r = self.run_node([BIN, "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--config FILE", r.stdout)


class HealthCheck(InstallBase):
    """causalkv-cli health, and the Dockerfile's HEALTHCHECK command run as Docker runs
    it (/bin/sh -c, the image's environment), against nodes of this slot."""

    def healthcheck_command(self):
        with open(os.path.join(SOURCE_DIR, "docker", "Dockerfile")) as f:
            text = f.read().replace("\\\n", " ")
        line = re.search(r"(?m)^HEALTHCHECK .* CMD (\[.*\])$", text).group(1)
        return json.loads(line)

    def run_check(self, addr, **env):
        e = clean_env(PATH=os.path.dirname(os.path.abspath(CLI)) + os.pathsep +
                      os.environ.get("PATH", ""), HOME=self.tmp, **env)
        return subprocess.run(self.healthcheck_command(), env=e, capture_output=True,
                              text=True, timeout=10)

    def test_cli_health_and_docker_healthcheck(self):
        member, standby, nobody = SLOT.addrs(3)
        m = self.start([BIN], ADDRESS=member)
        s = self.start([BIN], ADDRESS=standby, VIEW=member)
        m.wait_healthy(member)
        r = subprocess.run([CLI, "--node", member, "health"], capture_output=True, text=True,
                           timeout=10, env=clean_env(HOME=self.tmp))
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, ".local")),
                         "health kept a causal context")
        poll(lambda: health(standby)[0] == 503, 10)
        r = subprocess.run([CLI, "--node", standby, "health"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("standby (HTTP 503)", r.stderr)
        # the image's command: BIND is the node's IP here (0.0.0.0 in the image, where
        # the command asks 127.0.0.1), the port that of ADDRESS, or PORT
        ip = member.rsplit(":", 1)[0]
        r = self.run_check(member, BIND=ip, ADDRESS=member)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.run_check(member, BIND=ip, ADDRESS="name.invalid:1", PORT=str(SLOT.port))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.run_check(standby, BIND=standby.rsplit(":", 1)[0], ADDRESS=standby)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        r = self.run_check(nobody, BIND=nobody.rsplit(":", 1)[0], ADDRESS=nobody)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertEqual(m.terminate(), 0)
        self.assertEqual(s.terminate(), 0)


class SdNotify(InstallBase):
    """READY=1 and STOPPING=1 to a Unix datagram socket the test binds."""

    def notify_socket(self, abstract):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        if abstract:
            name = "ckvtest-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            s.bind("\0" + name)
            return s, "@" + name
        path = os.path.join(self.tmp, "notify.sock")
        s.bind(path)
        return s, path

    def check_notify(self, abstract):
        sock, where = self.notify_socket(abstract)
        addr = SLOT.addrs(1)[0]
        node = self.start([BIN], ADDRESS=addr, NOTIFY_SOCKET=where)
        sock.settimeout(15)
        msg = sock.recv(4096).decode()
        lines = msg.split("\n")
        self.assertIn("READY=1", lines, msg)
        # when READY=1 arrives, the port answers
        host, port = addr.rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=2).close()
        st, _ = health(addr, timeout=5)
        self.assertIn(st, (200, 503))
        node.wait_healthy(addr)
        sock.settimeout(0.2)
        with self.assertRaises(socket.timeout):  # nothing else before the signal
            sock.recv(4096)
        node.p.send_signal(signal.SIGTERM)
        sock.settimeout(5)
        self.assertEqual(sock.recv(4096).decode(), "STOPPING=1")
        self.assertEqual(node.p.wait(10), 0)

    def test_notify_path_socket(self):
        self.check_notify(abstract=False)

    def test_notify_abstract_socket(self):
        self.check_notify(abstract=True)

    def test_bad_notify_socket_is_not_fatal(self):
        addr = SLOT.addrs(1)[0]
        node = self.start([BIN], ADDRESS=addr,
                          NOTIFY_SOCKET=os.path.join(self.tmp, "nobody-listens"))
        node.wait_healthy(addr)
        self.assertIn("sd_notify", node.text())
        self.assertEqual(node.terminate(), 0)


class SystemdUnit(unittest.TestCase):
    def read_unit(self):
        with open(UNIT_SRC) as f:
            settings = {}
            for line in f:
                line = line.strip()
                if line and not line.startswith(("#", "[")):
                    k, v = line.split("=", 1)
                    settings.setdefault(k, []).append(v)
            return settings

    def test_unit_settings(self):
        u = self.read_unit()
        want = {
            "Type": "notify", "EnvironmentFile": "/etc/causalkv/causalkv.env",
            "DynamicUser": "yes", "StateDirectory": "causalkv",
            "Environment": "DATA_DIR=/var/lib/causalkv", "ProtectSystem": "strict",
            "ProtectHome": "yes", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
            "KillSignal": "SIGTERM", "RestartPreventExitStatus": "2",
            "ExecStart": "/usr/local/bin/causalkv",
        }
        for k, v in want.items():
            self.assertEqual(u.get(k), [v], k)
        # IP for clients and peers, AF_UNIX for the notify socket: nothing else
        self.assertEqual(sorted(u["RestrictAddressFamilies"][0].split()),
                         ["AF_INET", "AF_INET6", "AF_UNIX"])
        self.assertEqual(u["CapabilityBoundingSet"], [""])
        # the stop timeout covers the node's documented shutdown (within a second)
        self.assertGreaterEqual(int(u["TimeoutStopSec"][0].rstrip("s")), 2)

    def test_systemd_analyze_verify(self):
        exe = shutil.which("systemd-analyze")
        if exe is None:
            print("SKIP systemd-analyze verify: systemd-analyze is not installed here "
                  "(Debian's systemd package provides it)")
            self.skipTest("no systemd-analyze")
        tmp = tempfile.mkdtemp(prefix="ckv-unit-")
        self.addCleanup(shutil.rmtree, tmp, True)

        def verify(text):
            path = os.path.join(tmp, "causalkv.service")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([exe, "verify", path], capture_output=True, text=True,
                               timeout=60)
            return r.returncode, (r.stdout + r.stderr).strip()

        with open(UNIT_SRC) as f:
            text = f.read().replace("ExecStart=/usr/local/bin/causalkv",
                                    "ExecStart=%s" % os.path.abspath(BIN))
        rc, out = verify(text)
        self.assertEqual((rc, out), (0, ""), "the unit has problems:\n" + out)
        # and verify does notice mistakes: a misspelt key, a bad type, a missing binary
        rc, out = verify(text.replace("ProtectSystem=", "ProtectSytem=")
                         .replace("Type=notify", "Type=notifyy"))
        self.assertIn("ProtectSytem", out)
        self.assertIn("notifyy", out)
        rc, out = verify(text.replace(os.path.abspath(BIN), "/nonexistent/causalkv"))
        self.assertNotEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
