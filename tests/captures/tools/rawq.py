#!/usr/bin/python3
"""Send DNS queries whose names hold arbitrary label bytes (standard library only).

samples/tools/dnswire.py encodes names as ASCII and splits them on dots, so it
cannot send a NUL, an ESC or an invalid UTF-8 byte inside a label.  This one
takes each name with escapes and puts the bytes on the wire as they are:

  \\xHH  the byte HH           \\.  a dot inside a label
  \\\\    a backslash           .   the label separator

  rawq.py --server 203.0.113.253 --seed 3 --interval 0.05 \\
          --name '<script>alert(1)</script>' --name '\\x1b[31mred\\x1b[0m.example'

One query (type A, class IN, RD set) per name, in the order given, each from
its own UDP socket bound to a source port drawn from --seed (never twice the
same), with a query id from the seed too, so two recordings carry the same
ports and ids.  It waits --wait seconds for an answer or an ICMP error
(ECONNREFUSED) and logs which one came; it never retries.  Bounded: at most
64 names.
"""

import argparse
import random
import select
import socket
import struct
import sys
import time


def parse_name(text):
    """Escaped text -> list of label byte strings."""
    labels, cur, i = [], bytearray(), 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                cur.append(int(text[i + 2:i + 4], 16))  # ValueError if not 2 hex digits
                i += 4
                continue
            cur.extend(n.encode("utf-8"))
            i += 2
            continue
        if c == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur.extend(c.encode("utf-8"))
        i += 1
    if cur:
        labels.append(bytes(cur))
    for lab in labels:
        if not 1 <= len(lab) <= 63:
            raise ValueError("label of %d bytes in %r" % (len(lab), text))
    return labels


def build_query(qid, labels, qtype=1):
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for lab in labels:
        msg += bytes([len(lab)]) + lab
    return msg + b"\x00" + struct.pack("!HH", qtype, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--name", action="append", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--wait", type=float, default=0.5)
    args = ap.parse_args()
    if len(args.name) > 64:
        ap.error("at most 64 names")
    fam = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    rng = random.Random("ids-%d" % args.seed)
    port_rng = random.Random("ports-%d" % args.seed)
    used = set()
    results = {}
    for i, text in enumerate(args.name):
        labels = parse_name(text)
        qid = rng.randrange(1, 65536)
        port = 0
        for _ in range(1000):
            p = port_rng.randrange(32768, 61000)
            if p not in used:
                used.add(p)
                port = p
                break
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
        except OSError:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
        port = s.getsockname()[1]
        s.connect((args.server, args.port))
        s.send(build_query(qid, labels))
        outcome = "no answer"
        ready, _, _ = select.select([s], [], [], args.wait)
        if ready:
            try:
                s.recv(4096)
                outcome = "answered"
            except ConnectionRefusedError:
                outcome = "refused"
            except OSError as e:
                outcome = "error %s" % e
        s.close()
        results[outcome] = results.get(outcome, 0) + 1
        print("rawq #%d id=%d port %d %r: %s" % (i, qid, port, b".".join(labels), outcome),
              file=sys.stderr, flush=True)
        time.sleep(args.interval)
    print("rawq summary: " + ", ".join("%s %d" % kv for kv in sorted(results.items())),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
