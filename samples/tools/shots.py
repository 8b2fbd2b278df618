#!/usr/bin/python3
"""Single-shot unsolicited datagrams for the sample recordings (standard library).

Each --shot sends ONE UDP datagram from a real socket bound to SRC:SPORT (the
address must be local to the namespace) to DST:DPORT, then closes the
socket: the sender never listens for an answer, like spam, worms and stray
peer-to-peer packets on the Internet.  Shots go out --interval seconds apart.

  shots.py --interval 0.25 \\
      --shot 203.0.113.201:1030,192.0.2.150:1026,messenger \\
      --shot 203.0.113.203:2245,192.0.2.150:1434,slammer

Payload kinds (none of them carries anything executable):
  messenger  a DCE/RPC connectionless request (version 4) to the Windows
             Messenger interface (5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc,
             opnum 0, NDR strings from / to / text): Messenger spam
  slammer    376 bytes starting with 0x04 (an MS-SQL resolution-service
             request with a long name, the shape of SQL Slammer); the rest
             is filler bytes 0x01, no code
  dht        a BitTorrent DHT ping (bencoded KRPC query): a stray P2P packet
  text:STR   the bytes of STR
"""

import argparse
import random
import socket
import struct
import sys
import time
import uuid

MSGSVC = uuid.UUID("5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc")


def ndr_string(text, pad=True):
    raw = text.encode("ascii") + b"\x00"
    n = len(raw)
    out = struct.pack("<III", n, 0, n) + raw
    return out + b"\x00" * (-len(out) % 4 if pad else 0)


def messenger(rng):
    body = (ndr_string("Security Center") + ndr_string("Administrator") +
            ndr_string("WINDOWS REQUIRES IMMEDIATE ATTENTION. Your system "
                       "has critical errors. Visit www.example.com/fix now.",
                       pad=False))
    activity = uuid.UUID(int=rng.getrandbits(128), version=4)
    hdr = struct.pack("<BBBB3sB", 4, 0, 0x28, 0, b"\x10\x00\x00", 0)
    hdr += b"\x00" * 16                       # object UUID: nil
    hdr += MSGSVC.bytes_le                    # interface UUID (drep: little endian)
    hdr += activity.bytes_le                  # activity UUID
    hdr += struct.pack("<IIIHHHHHBB", 0, 1, 0, 0, 0xFFFF, 0xFFFF,
                       len(body), 0, 0, 0)
    assert len(hdr) == 80
    return hdr + body


def slammer(_rng):
    return b"\x04" + b"\x01" * 375


def dht(rng):
    node = bytes(rng.getrandbits(8) for _ in range(20))
    return b"d1:ad2:id20:" + node + b"e1:q4:ping1:t2:aa1:y1:qe"


def split_ep(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shot", action="append", required=True,
                    help="SRC:SPORT,DST:DPORT,KIND")
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random("shots-%d" % args.seed)
    kinds = {"messenger": messenger, "slammer": slammer, "dht": dht}
    shots = []
    for spec in args.shot[:64]:
        src, dst, kind = spec.split(",", 2)
        if kind.startswith("text:"):
            payload = kind[5:].encode()
        elif kind in kinds:
            payload = kinds[kind](rng)
        else:
            ap.error("unknown payload kind %r" % kind)
        shots.append((split_ep(src), split_ep(dst), kind, payload))
    for i, (src, dst, kind, payload) in enumerate(shots):
        if i:
            time.sleep(args.interval)
        fam = socket.AF_INET6 if ":" in src[0] else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.bind(src)
            s.sendto(payload, dst)
        print("shots: %s:%d -> %s:%d %s, %d bytes" % (src + dst + (kind.split(":")[0],
              len(payload))), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
