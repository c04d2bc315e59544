#!/usr/bin/env python3
"""nfq_delay — delay packets in user space through NFQUEUE (python3 standard library).

This kernel has neither sch_netem nor the police/gact tc actions, so the fault suite
delays node-to-node packets here: an iptables rule
`-j NFQUEUE --queue-num Q --queue-bypass` hands each packet to this process, which
holds it for delay +- jitter milliseconds and then accepts it (verdicts may be given in
any order). Loss is done in the kernel by the statistic match, not here.

Run it inside the namespace whose OUTPUT chain queues packets:
    ip netns exec NS python3 nfq_delay.py --queue 0 --delay-ms 60 --jitter-ms 30

The nfnetlink_queue protocol is spoken directly over an AF_NETLINK socket: bind the
queue (NFQNL_CFG_CMD_BIND), copy metadata only (NFQNL_COPY_META), fail open when the
queue is full, then read NFQNL_MSG_PACKET and answer NFQNL_MSG_VERDICT (NF_ACCEPT).
"""

import argparse
import heapq
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQA_CFG_MASK, NFQA_CFG_FLAGS = 4, 5
NFQA_CFG_F_FAIL_OPEN = 1
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def nlattr(atype, payload):
    ln = 4 + len(payload)
    return struct.pack("=HH", ln, atype) + payload + b"\0" * ((4 - ln % 4) % 4)


def nlmsg(mtype, flags, seq, queue, attrs):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), mtype, flags, seq, 0) + body


class Queue:
    def __init__(self, num):
        self.num = num
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self.seq = 0
        self.wlock = threading.Lock()
        cfg = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG
        self._request(cfg, nlattr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0,
                                                             socket.htons(socket.AF_INET))))
        self._request(cfg, nlattr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META)))
        self._request(cfg, nlattr(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", 8192)))
        self._request(cfg, nlattr(NFQA_CFG_FLAGS, struct.pack(">I", NFQA_CFG_F_FAIL_OPEN)) +
                      nlattr(NFQA_CFG_MASK, struct.pack(">I", NFQA_CFG_F_FAIL_OPEN)))

    def _request(self, mtype, attrs):
        self.seq += 1
        self.sock.send(nlmsg(mtype, NLM_F_REQUEST | NLM_F_ACK, self.seq, self.num, attrs))
        while True:
            data = self.sock.recv(65536)
            ln, t, _, seq, _ = struct.unpack_from("=IHHII", data, 0)
            if t == NLMSG_ERROR:
                err = struct.unpack_from("=i", data, 16)[0]
                if err != 0:
                    raise OSError(-err, "nfqueue config: %s" % os.strerror(-err))
                return

    def verdict(self, pid, verdict=NF_ACCEPT):
        msg = nlmsg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT, NLM_F_REQUEST, 0, self.num,
                    nlattr(NFQA_VERDICT_HDR, struct.pack(">II", verdict, pid)))
        with self.wlock:
            self.sock.send(msg)

    def packets(self):
        """Yield packet ids as they arrive."""
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError as e:
                if e.errno == 105:  # ENOBUFS: the kernel dropped some (fail open)
                    continue
                raise
            off = 0
            while off + 16 <= len(data):
                ln, t, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    break
                if t == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    a = off + 20
                    end = off + ln
                    while a + 4 <= end:
                        alen, atype = struct.unpack_from("=HH", data, a)
                        if alen < 4:
                            break
                        if (atype & 0x7fff) == NFQA_PACKET_HDR:
                            yield struct.unpack_from(">I", data, a + 4)[0]
                            break
                        a += (alen + 3) & ~3
                off += (ln + 3) & ~3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=50)
    ap.add_argument("--jitter-ms", type=float, default=0)
    ap.add_argument("--max-seconds", type=float, default=3600,
                    help="exit by itself after this long (a bound, in case nobody stops us)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    q = Queue(args.queue)
    heap = []
    cv = threading.Condition()
    deadline = time.monotonic() + args.max_seconds

    def releaser():
        while True:
            with cv:
                while not heap:
                    cv.wait(0.5)
                    if time.monotonic() > deadline:
                        os._exit(0)
                due, pid = heap[0]
                now = time.monotonic()
                if due > now:
                    cv.wait(due - now)
                    continue
                heapq.heappop(heap)
            q.verdict(pid)

    threading.Thread(target=releaser, daemon=True).start()
    sys.stdout.write("nfq_delay: queue %d, %.0f +- %.0f ms\n"
                     % (args.queue, args.delay_ms, args.jitter_ms))
    sys.stdout.flush()
    rng = random.Random()
    for pid in q.packets():
        d = args.delay_ms + (rng.uniform(-args.jitter_ms, args.jitter_ms)
                             if args.jitter_ms else 0)
        with cv:
            heapq.heappush(heap, (time.monotonic() + max(0.0, d) / 1000.0, pid))
            cv.notify()
        if time.monotonic() > deadline:
            break


if __name__ == "__main__":
    main()
