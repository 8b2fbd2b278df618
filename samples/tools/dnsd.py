#!/usr/bin/python3
"""Tiny DNS responder for the sample recordings (UDP only, standard library).

With --silent it only reads (a discard or syslog sink that never answers).
Otherwise it answers every query on ADDR:PORT: A -> --a, AAAA -> --aaaa, MX -> --mx,
anything else an empty NOERROR answer, non-DNS datagrams FORMERR.  With
--delay the answer is sent that many seconds after the query arrived (from
the same socket, so from the same port): the reply comes late.

It always stops by itself after --duration seconds, or right after its
--max-replies-th answer (closing its socket then, like a crash: later
queries are refused by the kernel).

  dnsd.py --bind 192.0.2.53 --port 53 [--delay 1.5] [--duration 10]
"""

import argparse
import heapq
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnswire  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", action="append", required=True,
                    help="address to listen on (repeatable)")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds to wait before each answer")
    ap.add_argument("--duration", type=float, default=30.0,
                    help="exit after this many seconds (default 30)")
    ap.add_argument("--max-replies", type=int, default=10000)
    ap.add_argument("--a", default="192.0.2.80")
    ap.add_argument("--aaaa", default="2001:db8::80")
    ap.add_argument("--mx", default="mx.example.org")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--ready-file", help="create this file once listening")
    ap.add_argument("--start-file",
                    help="start listening only once this file exists (so a "
                         "restart takes milliseconds, not a Python start-up)")
    ap.add_argument("--silent", action="store_true",
                    help="never answer (a discard / syslog-like sink)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    if args.start_file:
        give_up = time.monotonic() + args.duration
        while not os.path.exists(args.start_file):
            if time.monotonic() >= give_up:
                return 1
            time.sleep(0.002)
    socks = []
    for addr in args.bind:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, args.port))
        s.setblocking(False)
        socks.append(s)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("%d\n" % os.getpid())

    start = time.monotonic()
    stop_at = start + args.duration
    pending = []  # heap of (due, seq, sock, reply, peer)
    seq = 0
    sent = 0

    def log(msg):
        if not args.quiet:
            print("dnsd %+7.3f %s" % (time.monotonic() - start, msg),
                  file=sys.stderr, flush=True)

    while True:
        now = time.monotonic()
        if now >= stop_at or (sent >= args.max_replies and not pending):
            break
        # send what is due
        while pending and pending[0][0] <= now:
            _due, _seq, s, reply, peer = heapq.heappop(pending)
            try:
                s.sendto(reply, peer)
                sent += 1
                log("answer -> %s:%d" % peer[:2])
            except OSError as e:
                log("answer -> %s:%d failed: %s" % (peer[0], peer[1], e))
        if sent >= args.max_replies and not pending:
            break               # at once: no later query is read and dropped
        wait = stop_at - now
        if pending:
            wait = min(wait, max(0.0, pending[0][0] - now))
        try:
            ready, _, _ = select.select(socks, [], [], wait)
        except InterruptedError:
            continue
        for s in ready:
            try:
                data, peer = s.recvfrom(4096)
            except (BlockingIOError, ConnectionRefusedError, OSError):
                continue
            if args.silent:
                log("%d bytes from %s:%d, discarded" % (len(data), peer[0], peer[1]))
                continue
            if sent + len(pending) >= args.max_replies:
                continue
            log("query %s from %s:%d" % (dnswire.describe(data), peer[0], peer[1]))
            reply = dnswire.build_response(data, a=args.a, aaaa=args.aaaa,
                                           mx=args.mx, ttl=args.ttl)
            seq += 1
            heapq.heappush(pending, (time.monotonic() + args.delay, seq, s,
                                     reply, peer))
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
