"""rawhttp — HTTP/1.1 on raw sockets, for tests that send what http.client will not
(malformed, ambiguous, pipelined, oversized or half-sent requests) and for tools that
hold many keep-alive connections (python3 standard library only).

    data = request_bytes("PUT", "/kv-store/keys/k", {"value": "v"})
    ex = exchange("127.0.10.2:24000", data, until_close=True, timeout=5)
    ex.status, ex.json, ex.closed, ex.extra

Replies are parsed strictly: anything that is not a well-formed HTTP/1.x reply with a
Content-Length (or a JSON Content-Type whose body is not JSON) raises Malformed.
Used by the integration tests (test/integration) and by bench/prober.py.
"""

import json
import re
import select
import socket
import threading
import time

JSON_CT = "application/json"


class CIDict(dict):
    """Response headers: a dict with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items=()):
        super().__init__()
        for k, v in items:
            k = k.lower()
            if k in self:
                super().__setitem__(k, self[k] + ", " + v)
            else:
                super().__setitem__(k, v)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def __contains__(self, k):
        return super().__contains__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


def split_addr(addr):
    """("host", port) of "host:port"; an IPv6 "[::1]:port" gives "::1" (what sockets want)."""
    host, _, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


# --------------------------------------------------------------------------- requests


def request_bytes(method, path, body=None, headers=None, close=True, version="HTTP/1.1",
                  host="ckv", length=True):
    """An HTTP request as bytes. path, header names and values may be str or bytes; body
    None, bytes, str or a dict/list (sent as JSON). length: add a Content-Length for the
    body unless the headers have one (or a Transfer-Encoding). close: add
    Connection: close."""
    if isinstance(path, str):
        path = path.encode("latin-1")
    out = [method.encode() + b" " + path + b" " + version.encode()]
    hdrs = [(b"Host", host.encode() if isinstance(host, str) else host)]
    for k, v in (headers or []):
        hdrs.append((k.encode("latin-1") if isinstance(k, str) else k,
                     v.encode("latin-1") if isinstance(v, str) else v))
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if length and not any(k.lower() in (b"content-length", b"transfer-encoding")
                              for k, _ in hdrs):
            hdrs.append((b"Content-Length", str(len(body)).encode()))
    if close:
        hdrs.append((b"Connection", b"close"))
    for k, v in hdrs:
        out.append(k + b": " + v)
    return b"\r\n".join(out) + b"\r\n\r\n" + (body or b"")


def chunked(body, size=5, extension=b""):
    """body in the chunked transfer coding, `size` bytes a chunk."""
    return b"".join(b"%x%s\r\n%s\r\n" % (len(body[i:i + size]), extension, body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


# --------------------------------------------------------------------------- replies


class Malformed(Exception):
    pass


class Reply:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.json = None
        if body and headers.get("content-type", "").startswith(JSON_CT):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise Malformed("JSON Content-Type but body is not JSON: %r" % body[:200])

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:300])


def parse_reply(buf, head_request=False):
    """One complete HTTP/1.x reply from the start of buf: (Reply, rest) or (None, buf)
    when incomplete. Raises Malformed for anything that is not a well-formed reply."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > 65536:
            raise Malformed("no end of headers in %d bytes" % len(buf))
        return None, buf
    lines = buf[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)$", lines[0])
    if not m:
        raise Malformed("bad status line %r" % lines[0])
    items = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise Malformed("bad header line %r" % line)
        items.append((name, value.strip()))
    headers = CIDict(items)
    status = int(m.group(1))
    if head_request or status in (204, 304) or 100 <= status < 200:
        return Reply(status, m.group(2), headers, b""), buf[end + 4:]
    if "content-length" not in headers:
        raise Malformed("reply without Content-Length: %r" % lines)
    n = int(headers["content-length"])
    if len(buf) < end + 4 + n:
        return None, buf
    body = buf[end + 4:end + 4 + n]
    return Reply(status, m.group(2), headers, body), buf[end + 4 + n:]


def readable(s, timeout):
    """poll(), not select(): descriptors above 1023 are common while thousands are open."""
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(p.poll(max(0, int(timeout * 1000))))


def read_reply(s, timeout, buf=b""):
    """Read one reply from a connected socket: (Reply, bytes after it). Raises
    TimeoutError when none is complete within `timeout`, ConnectionError on EOF."""
    deadline = time.monotonic() + timeout
    while True:
        rep, rest = parse_reply(buf)
        if rep is not None:
            return rep, rest
        left = deadline - time.monotonic()
        if left <= 0 or not readable(s, left):
            raise TimeoutError("no reply within %.1fs" % timeout)
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the node")
        buf += chunk


def closed_within(s, timeout):
    """True when the peer closes (or resets) the connection within `timeout`; whatever
    it sends before is read and dropped."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not readable(s, left):
            return False
        try:
            if s.recv(65536) == b"":
                return True
        except OSError:
            return True


# --------------------------------------------------------------------------- one exchange


class Exchange:
    """What came back for one raw request (or one pipelined batch)."""

    def __init__(self):
        self.replies = []
        self.closed = False  # the node closed (EOF) or reset the connection
        self.reset = False
        self.send_error = None
        self.elapsed = 0.0  # the whole exchange
        self.first_reply_after = None  # seconds to the first complete reply
        self.leftover = b""  # bytes after the replies read (a further reply: desync)

    # the first reply, for one-request exchanges
    @property
    def status(self):
        return self.replies[0].status if self.replies else None

    @property
    def json(self):
        return self.replies[0].json if self.replies else None

    @property
    def headers(self):
        return self.replies[0].headers if self.replies else CIDict()

    @property
    def extra(self):
        return self.leftover

    def __repr__(self):
        return ("<replies=%r closed=%s reset=%s send_error=%r %.2fs (first reply after %s) "
                "leftover=%r>"
                % (self.replies, self.closed, self.reset, self.send_error, self.elapsed,
                   None if self.first_reply_after is None else round(self.first_reply_after, 2),
                   self.leftover[:100]))


def _send_all(s, data, ex):
    try:
        view = memoryview(data)
        while view:
            n = s.send(view[:1 << 16])
            view = view[n:]
    except OSError as e:  # EPIPE/ECONNRESET after the node answered and closed
        ex.send_error = e


def exchange(addr, data, want=1, timeout=5.0, until_close=False, heads=(), source=None):
    """Send raw bytes, read up to `want` replies (and, with until_close, on to EOF).

    heads: indexes of replies that answer HEAD requests (no body). Sending runs in its
    own thread and stops at the first error (the node may answer and close before reading
    everything). Never raises on a timeout: the Exchange says what happened."""
    ex = Exchange()
    t0 = time.monotonic()
    deadline = t0 + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(split_addr(addr))
        sender = threading.Thread(target=_send_all, args=(s, data, ex), daemon=True)
        sender.start()
        buf = b""
        while True:
            while len(ex.replies) < want:
                rep, buf = parse_reply(buf, head_request=len(ex.replies) in heads)
                if rep is None:
                    break
                if not ex.replies:
                    ex.first_reply_after = time.monotonic() - t0
                ex.replies.append(rep)
            if len(ex.replies) >= want and not until_close:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not readable(s, left):
                break
            try:
                chunk = s.recv(1 << 16)
            except ConnectionResetError:
                ex.closed = ex.reset = True
                break
            if not chunk:
                ex.closed = True
                break
            buf += chunk
        ex.leftover = buf
        sender.join(max(0.0, deadline - time.monotonic()) + 1)
    finally:
        s.close()
    ex.elapsed = time.monotonic() - t0
    return ex
