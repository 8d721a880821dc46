#!/usr/bin/env python3
"""A UDP DNS server for the dns tests that dnsmasq cannot play.

  fakedns.py --bind 127.0.0.1 --port-file F --never
      a blackhole: reads every query and never answers (an unreachable
      resolver as the client sees it)
  fakedns.py --bind 127.0.0.1 --port-file F --delay-ms 200
      answers every query NXDOMAIN after the delay, all delays running side
      by side, so a client that queries serially takes N times the delay
      and one that queries in parallel barely more than one delay

It binds a free port on the given loopback address, writes the port to F
once it is listening, counts the queries it received in F.count when it is
stopped with SIGTERM, and runs until killed.
"""
import argparse
import heapq
import os
import selectors
import signal
import socket
import sys
import time

HEADER_LEN = 12
MAX_PACKET = 4096


def question_end(pkt):
    """Offset just past the first question, or None when malformed."""
    off = HEADER_LEN
    while off < len(pkt):
        n = pkt[off]
        if n == 0:
            off += 1 + 4  # root label, then QTYPE and QCLASS
            return off if off <= len(pkt) else None
        if n & 0xC0:
            return None  # a query's question is never compressed
        off += 1 + n
    return None


def nxdomain(query):
    end = question_end(query)
    if len(query) < HEADER_LEN or end is None:
        return None
    flags = 0x8000 | (query[2] & 0x01) << 8 | 0x0080 | 3  # QR, RD echo, RA, NXDOMAIN
    return (query[0:2] + flags.to_bytes(2, "big") + b"\x00\x01" + b"\x00" * 6
            + query[HEADER_LEN:end])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port-file", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--never", action="store_true")
    mode.add_argument("--delay-ms", type=int)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.bind, 0))
    sock.setblocking(False)
    received = 0

    def stop(*_):
        with open(args.port_file + ".count", "w") as f:
            f.write("%d\n" % received)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    # Rename so a reader never sees a half-written file.
    os.rename(args.port_file + ".tmp", args.port_file)

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    due = []  # (time, seq, reply, peer)
    seq = 0
    while True:
        timeout = None
        if due:
            timeout = max(0.0, due[0][0] - time.monotonic())
        for _ in sel.select(timeout):
            while True:
                try:
                    pkt, peer = sock.recvfrom(MAX_PACKET)
                except BlockingIOError:
                    break
                received += 1
                if args.never:
                    continue
                reply = nxdomain(pkt)
                if reply is not None:
                    seq += 1
                    heapq.heappush(due, (time.monotonic() + args.delay_ms / 1000.0,
                                         seq, reply, peer))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, reply, peer = heapq.heappop(due)
            try:
                sock.sendto(reply, peer)
            except OSError:
                pass


if __name__ == "__main__":
    main()
