"""cdp — a headless Chromium driven over the DevTools protocol, python3 stdlib only.

    with Browser() as b:                   # chromium --headless=new, its own profile dir
        page = b.page()                    # the first tab, over a websocket
        page.goto("http://127.0.10.2:24000/dashboard")
        page.wait_for("document.querySelectorAll('.replica').length == 3", timeout=10)
        page.screenshot("out.png")

Chromium picks its own debugging port (--remote-debugging-port=0) and writes it to
DevToolsActivePort in the profile dir, so nothing collides with the harness's ports. It
runs in its own process group, killed (by that group's id, never by name) on close, at
exit, and when the test process dies (PR_SET_PDEATHSIG). The websocket client is the
minimum RFC 6455 needs for CDP: masked text frames out, text/continuation/ping/close in.
Exceptions thrown by the page and console errors are collected in Page.errors."""

import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    for name in [os.environ.get("CKV_CHROMIUM", "")] + list(CANDIDATES):
        path = name and shutil.which(name)
        if path:
            return path
    return None


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


class WebSocket:
    """A client websocket over one TCP connection (ws:// only)."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://"), url
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError("websocket handshake refused: %r" % head[:200])

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("websocket closed by the browser")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self, timeout):
        """One whole text message; socket.timeout when none arrives in time."""
        self.sock.settimeout(timeout)
        parts = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, data)
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8", "replace")

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class CdpError(Exception):
    pass


class Page:
    """One tab: send commands, wait for events, evaluate JavaScript."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events = []
        self.errors = []  # page exceptions and console errors, as strings
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")

    def _note(self, msg):
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.errors.append("exception: %s" % (d.get("exception", {}).get("description")
                                                   or d.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append("console.error: %s" % [a.get("value", a.get("description"))
                                                      for a in params.get("args", [])])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            e = params["entry"]
            self.errors.append("log: %s %s" % (e.get("text"), e.get("url", "")))
        self.events.append(msg)

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("%s: no answer within %.0fs" % (method, timeout))
            msg = json.loads(self.ws.recv(left))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._note(msg)

    def wait_event(self, method, timeout=30):
        for i, msg in enumerate(self.events):
            if msg.get("method") == method:
                del self.events[i]
                return msg.get("params", {})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("no %s within %.0fs" % (method, timeout))
            msg = json.loads(self.ws.recv(left))
            if msg.get("method") == method:
                self._note(msg)
                self.events.remove(msg)
                return msg.get("params", {})
            self._note(msg)

    def goto(self, url, timeout=30):
        self.events = [m for m in self.events if m.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout)

    def eval(self, expression, timeout=30):
        """The value of a JavaScript expression (awaited when it is a promise)."""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError("%s: %s" % (expression[:80], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def wait_for(self, expression, timeout, interval=0.1):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = self.eval(expression)
            if last:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError("not true within %.1fs: %s (last %r)"
                                     % (timeout, expression, last))
            time.sleep(interval)

    def viewport(self, width, height, mobile=False, scale=1):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=scale, mobile=mobile)

    def key(self, key, code=None, shift=False):
        """Presses and releases one key (e.g. "Tab", "Enter") as a keyboard would."""
        vk = {"Tab": 9, "Enter": 13, " ": 32}.get(key, 0)
        mods = 8 if shift else 0
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                      windowsVirtualKeyCode=vk, modifiers=mods)
        if key == "Enter":
            self.call("Input.dispatchKeyEvent", type="char", text="\r", key="Enter")

    def screenshot(self, path, full_page=True):
        params = {"format": "png", "captureBeyondViewport": full_page}
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        self.ws.close()


class Browser:
    """A headless Chromium with a throwaway profile; close() kills its process group."""

    def __init__(self, binary=None, width=1280, height=1000, timeout=60):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise RuntimeError("chromium not found (scripts/test.sh installs Debian's "
                               "chromium package; CKV_CHROMIUM names another binary)")
        self.profile = tempfile.mkdtemp(prefix="ckv-chromium-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        self.pages = []
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--mute-audio",
                 "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                 "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
                 "about:blank"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            log.close()
        try:
            self.port = self._wait_port(timeout)
        except BaseException:
            self.close()
            raise

    def _wait_port(self, timeout):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited with %s:\n%s" % (self.proc.returncode,
                                                                      self.log_tail()))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port within %ds:\n%s"
                           % (timeout, self.log_tail()))

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def page(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % self.port, timeout=10) as r:
            targets = json.loads(r.read())
        tab = next(t for t in targets if t.get("type") == "page")
        p = Page(tab["webSocketDebuggerUrl"])
        self.pages.append(p)
        return p

    def close(self):
        for p in self.pages:
            try:
                p.close()
            except OSError:
                pass
        self.pages = []
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: renderers too
            except ProcessLookupError:
                pass
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
