#!/usr/bin/python3
"""Call-like RTP media for the sample recordings (UDP only, standard library).

Two roles, one process each:

  rtp.py callee --bind 192.0.2.142 --port 5004 [--tail 15]
      waits for the first RTP packet, then streams back to its sender
      (symmetric RTP) every --ptime ms, half a period out of step with the
      caller.  It keeps sending while the caller
      is silent, and stops after --tail packets sent with nothing received
      in between: after a hang-up, the last --tail packets hit the caller's
      closed port.  It sends with sendto() on an unconnected socket, so the
      caller's port unreachable messages do not stop it (like most media
      stacks).

  rtp.py caller --bind 192.0.2.141 --port 40002 --to 192.0.2.142:5004 \\
                --duration 3
      streams to the callee every --ptime ms for --duration seconds, reads
      the callee's stream, then hangs up: it closes its socket right after
      its last packet, so everything the callee still sends is refused by
      the caller's kernel (ICMP port unreachable).

Packets are RTP version 2 (RFC 3550): payload type 0 (PCMU), sequence
number, timestamp (+160 per packet, 8 kHz), SSRC, then 160 bytes of PCMU
silence (0xff).  Sequence, timestamp and SSRC start from --seed, so two
recordings carry the same values.  Everything is bounded by --max-time.
"""

import argparse
import random
import select
import socket
import struct
import sys
import time

PAYLOAD = b"\xff" * 160     # 20 ms of PCMU silence
PT_PCMU = 0
# Linux's SO_TIMESTAMPNS (the "old" one: a struct timespec of two longs);
# Python's socket module does not name it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def rtp_packet(seq, ts, ssrc, marker=False):
    b0 = 0x80                                   # V=2, P=0, X=0, CC=0
    b1 = (0x80 if marker else 0) | PT_PCMU
    return struct.pack("!BBHII", b0, b1, seq & 0xFFFF, ts & 0xFFFFFFFF,
                       ssrc) + PAYLOAD


def is_rtp(data):
    return len(data) >= 12 and data[0] >> 6 == 2


class Stream:
    def __init__(self, seed, role):
        rng = random.Random("rtp-%s-%d" % (role, seed))
        self.seq = rng.randrange(0, 65536)
        self.ts = rng.randrange(0, 1 << 32)
        self.ssrc = rng.randrange(1, 1 << 32)
        self.first = True

    def next(self):
        pkt = rtp_packet(self.seq, self.ts, self.ssrc, marker=self.first)
        self.first = False
        self.seq += 1
        self.ts += 160
        return pkt


def parse_peer(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("role", choices=("caller", "callee"))
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--to", help="caller: the callee's ADDR:PORT")
    ap.add_argument("--ptime", type=float, default=20.0,
                    help="milliseconds between two packets (default 20)")
    ap.add_argument("--duration", type=float, default=3.0,
                    help="caller: seconds of media before the hang-up")
    ap.add_argument("--tail", type=int, default=15,
                    help="callee: packets sent without hearing the caller "
                         "before it stops (default 15: 300 ms)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ready-file", help="create this file once listening")
    ap.add_argument("--max-time", type=float, default=20.0)
    args = ap.parse_args()

    fam = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((args.bind, args.port))
    s.setblocking(False)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    t0 = time.monotonic()
    end = t0 + args.max_time
    period = args.ptime / 1000.0
    stream = Stream(args.seed, args.role)

    def log(msg):
        print("rtp %s %+7.3f %s" % (args.role, time.monotonic() - t0, msg),
              file=sys.stderr, flush=True)

    def read_until(due, heard):
        """Calls heard(data, addr) for each datagram that comes before due."""
        while True:
            wait = due - time.monotonic()
            if wait <= 0:
                return
            r, _, _ = select.select([s], [], [], wait)
            if r:
                try:
                    data, addr = s.recvfrom(2048)
                except OSError:
                    continue
                heard(data, addr)

    sent = received = 0
    if args.role == "caller":
        if not args.to:
            ap.error("caller needs --to")
        peer = parse_peer(args.to)
        n = int(round(args.duration / period))
        start = time.monotonic()
        def heard_callee(data, _addr):
            nonlocal received
            received += is_rtp(data)

        for i in range(n):
            read_until(start + i * period, heard_callee)  # what came until it is due
            if time.monotonic() >= end:
                break
            s.sendto(stream.next(), peer)
            sent += 1
        s.close()                            # hang up right after the last packet
        log("hung up after %d packets sent, %d received" % (sent, received))
        return 0

    # callee: wait for the caller, answer with our own stream
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    peer = None
    arrived = None
    while peer is None and time.monotonic() < end:
        r, _, _ = select.select([s], [], [], end - time.monotonic())
        if not r:
            continue
        data, anc, _flags, addr = s.recvmsg(2048, 64)
        if is_rtp(data):
            peer = addr
            received += 1
            arrived = time.monotonic()
            for level, kind, value in anc:   # the kernel's arrival time
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("@ll", value[:struct.calcsize("@ll")])
                    arrived -= time.time() - (sec + nsec / 1e9)
    if peer is None:
        log("nobody called")
        return 1
    log("call from %s:%d" % peer[:2])
    silent = 0                                # our packets since we last heard the caller
    # Our clock runs half a period after the caller's, counted from the
    # kernel's arrival time of its first packet (a late wake-up of this
    # process does not shift it): none of our packets races the caller's
    # packets or its hang-up, and two recordings interleave the same way.
    start = arrived + period / 2
    i = 0

    def heard_caller(data, addr):
        nonlocal received, silent
        if addr[:2] == peer[:2] and is_rtp(data):
            received += 1
            silent = 0

    while silent < args.tail and time.monotonic() < end:
        read_until(start + i * period, heard_caller)
        s.sendto(stream.next(), peer)
        sent += 1
        silent += 1
        i += 1
    s.close()
    log("stopped after %d packets sent (%d after the caller fell silent), "
        "%d received" % (sent, silent, received))
    return 0


if __name__ == "__main__":
    sys.exit(main())
