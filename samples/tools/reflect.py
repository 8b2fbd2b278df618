#!/usr/bin/python3
"""Reflected SNMP responses with spoofed sources, for the sample recordings.

Stands in for the amplifiers of a reflection DDoS: the attacker sent small
SNMP requests to many reflectors with the victim's address as source, and
the reflectors' big GetResponse PDUs all land on the victim, FROM port 161,
to whatever port the attacker picked.  From the victim's side that is what
this sends, from one namespace through a raw socket (IP_HDRINCL, standard
library only): one IPv4/UDP datagram per response, with the reflector's
address as source, its own IP id and TTL (reflectors sit at different
distances), a real UDP checksum, and an SNMPv2c GetResponse (BER: SEQUENCE,
version, community, GetResponse-PDU with request id and a varbind list of
the system group, a few hundred bytes).

  reflect.py --victim 192.0.2.155 --sources 203.0.113.1-40 --per-source 2 \\
             --interval 0.025 --seed 1

Destination ports are random (1024-65535, from --seed), so they hit closed
ports of the victim.  Sources are sent in a shuffled order, every source
once before any source twice.  Bounded by --per-source * number of sources
(at most 1000 datagrams).
"""

import argparse
import ipaddress
import random
import socket
import struct
import sys
import time


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + content


def ber_int(v, tag=0x02):
    raw = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return tlv(tag, raw)


def ber_oid(text):
    arcs = [int(x) for x in text.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, out)


def snmp_response(rng, idx):
    """An SNMPv2c GetResponse with the system group of one reflector."""
    uptime = rng.randrange(10 ** 6, 10 ** 9)
    binds = [
        ("1.3.6.1.2.1.1.1.0", tlv(0x04, (
            "Linux cpe-%d 2.6.36 #1 SMP PREEMPT Tue Mar 3 10:21:07 CST 2015 "
            "mips, home gateway firmware V1.0.%d build %d, SNMP agent "
            "v5.4.2 with default community" % (idx, rng.randrange(10),
                                               rng.randrange(1000, 9999))
        ).encode())),
        ("1.3.6.1.2.1.1.2.0", ber_oid("1.3.6.1.4.1.8072.3.2.10")),
        ("1.3.6.1.2.1.1.3.0", ber_int(uptime, 0x43)),   # TimeTicks
        ("1.3.6.1.2.1.1.4.0", tlv(0x04, b"admin@example.net")),
        ("1.3.6.1.2.1.1.5.0", tlv(0x04, ("cpe-%d.example.net" % idx).encode())),
        ("1.3.6.1.2.1.1.6.0", tlv(0x04, b"Unknown location, please set "
                                        b"sysLocation in snmpd.conf")),
        ("1.3.6.1.2.1.1.7.0", ber_int(72)),
        ("1.3.6.1.2.1.1.8.0", ber_int(rng.randrange(100, 5000), 0x43)),
    ]
    vbl = b"".join(tlv(0x30, ber_oid(o) + v) for o, v in binds)
    pdu = tlv(0xA2, ber_int(rng.randrange(1, 1 << 31)) + ber_int(0) +
              ber_int(0) + tlv(0x30, vbl))
    return tlv(0x30, ber_int(1) + tlv(0x04, b"public") + pdu)


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def datagram(src, dst, sport, dport, ttl, ipid, payload):
    ulen = 8 + len(payload)
    pseudo = struct.pack("!4s4sBBH", src.packed, dst.packed, 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ipid, 0, ttl, 17,
                      0, src.packed, dst.packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def sources(spec):
    """203.0.113.1-40 | 203.0.113.5 | a,b,c"""
    out = []
    for part in spec.split(","):
        base, _, last = part.partition("-")
        first = ipaddress.IPv4Address(base)
        if not last:
            out.append(first)
            continue
        prefix = base.rsplit(".", 1)[0]
        for n in range(int(base.rsplit(".", 1)[1]), int(last) + 1):
            out.append(ipaddress.IPv4Address("%s.%d" % (prefix, n)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--victim", required=True)
    ap.add_argument("--sources", required=True, help="e.g. 203.0.113.1-40")
    ap.add_argument("--sport", type=int, default=161,
                    help="the reflected service's port (default 161, SNMP)")
    ap.add_argument("--per-source", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.025)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random("reflect-%d" % args.seed)
    victim = ipaddress.IPv4Address(args.victim)
    srcs = sources(args.sources)
    if args.per_source * len(srcs) > 1000:
        ap.error("more than 1000 datagrams")
    # each reflector: its own TTL (initial 64/128/255 minus its distance),
    # IP id counter and response
    refl = {}
    for i, s in enumerate(srcs):
        ttl = rng.choice((64, 128, 255)) - rng.randrange(6, 20)
        refl[s] = [ttl, rng.randrange(0, 65536), snmp_response(rng, i + 1)]
    order = []
    for _ in range(args.per_source):
        batch = list(srcs)
        rng.shuffle(batch)
        order += batch
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sizes = []
    for n, s in enumerate(order):
        if n:
            time.sleep(args.interval)
        ttl, ipid, payload = refl[s]
        refl[s][1] = (ipid + 1) & 0xFFFF
        dport = rng.randrange(1024, 65536)
        pkt = datagram(s, victim, args.sport, dport, ttl, ipid, payload)
        raw.sendto(pkt, (str(victim), 0))
        sizes.append(len(payload))
    raw.close()
    print("reflect: %d datagrams from %d sources (port %d) to %s, "
          "payload %d-%d bytes" % (len(order), len(srcs), args.sport, victim,
                                   min(sizes), max(sizes)),
          file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
