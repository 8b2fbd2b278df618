#!/usr/bin/env python3
"""gen-refused.py [--scan] N OUT.pcap - N refused UDP endpoints (raw IPv4, LINKTYPE 101).

Each of N servers (198.18.0.0/15) gets one datagram from a client (10.0.0.0/8) and answers
with an ICMP port unreachable quoting it: N endpoints, each with an error, none of which the
endpoint table may evict. Every tenth server is asked three times, so that some findings
have more than one error. With --scan, one client probes ports 1..60000 of as many hosts as
N needs (a UDP scan: N endpoints, a few findings). Deterministic: same N, same bytes.
"""
import struct
import sys


def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", cksum(h)) + h[12:]
    return h + payload


def main():
    scan = sys.argv[1] == "--scan"
    n, out = int(sys.argv[1 + scan]), sys.argv[2 + scan]
    recs, t = [], 1_700_000_000_000_000
    for i in range(n):
        server = struct.pack("!BBH", 198, 18 + (i >> 16 & 1), i & 0xFFFF)
        client = struct.pack("!BBH", 10, i >> 16 & 0xFF, i & 0xFFFF)
        port = 1024 + i % 60000
        if scan:
            server = struct.pack("!BBH", 198, 18, 1 + i // 60000)
            client = struct.pack("!BBH", 10, 0, 1)
            port = 1 + i % 60000
        for k in range(3 if i % 10 == 0 and not scan else 1):
            udp = struct.pack("!HHHH", 40000 + k, port, 8 + 12, 0) + b"portmortem.."
            req = ipv4(client, server, 17, udp, i & 0xFFFF)
            icmp = struct.pack("!BBHI", 3, 3, 0, 0) + req[:28 + 12]
            icmp = icmp[:2] + struct.pack("!H", cksum(icmp)) + icmp[4:]
            err = ipv4(server, client, 1, icmp, (i + 1) & 0xFFFF)
            for pkt in (req, err):
                recs.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(pkt), len(pkt)) + pkt)
                t += 50
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        f.writelines(recs)


main()
