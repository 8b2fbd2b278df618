#!/usr/bin/python3
"""gtpu-wrap.py - real recorded packets carried in GTP-U, as a mobile core's N3 link shows them.

  tests/tools/gtpu-wrap.py [OUT.pcap]     (default tests/captures/gtpu-dns-closed.pcap)

Takes the DNS queries and the ICMP port unreachables that refused them from two captures that
samples/record.sh recorded with real kernels (samples/dns-closed-v4.pcap, .../dns-closed-v6.pcap)
and puts each IP packet, byte for byte and with its own timestamp, in a GTP-U G-PDU (3GPP TS
29.281) between a gNB and a UPF: the client is the UE, its query goes uplink (gNB -> UPF), the
server's port unreachable comes back downlink (UPF -> gNB). The IPv4 packets travel over an
IPv4 transport, the IPv6 ones over IPv6. The G-PDU headers vary the way real ones do:
  uplink      E flag, a PDU Session Container (UL PDU SESSION INFORMATION, QFI 9)
  downlink    in turn: the bare 8-byte header; S flag with a sequence number; E flag with a
              chain of two extension headers (PDCP PDU Number, then a DL PDU Session Container)
An Echo Request/Response opens the capture and an End Marker closes it (GTP-U messages that
carry no T-PDU). Documentation addresses only; deterministic (same input, same bytes out).
Needs scapy (Debian: python3-scapy).
"""
import os
import struct
import sys
from decimal import Decimal

from scapy.all import IP, UDP, Ether, IPv6, Raw, rdpcap, wrpcap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SOURCES = ["samples/dns-closed-v4.pcap", "samples/dns-closed-v6.pcap"]
UES = {"192.0.2.10", "2001:db8::10"}
GNB = {4: "198.51.100.1", 6: "2001:db8:0:3::1"}
UPF = {4: "203.0.113.1", 6: "2001:db8:0:6::1"}
MAC_GNB, MAC_UPF = "02:50:4d:64:00:01", "02:50:4d:71:00:01"
TEID_UL, TEID_DL = 0x00001001, 0x00002001
GTP_PORT = 2152

# Extension header types (TS 29.281 §5.2.1): 0x85 PDU Session Container, 0xc0 PDCP PDU Number.
EXT_PDU_SESSION, EXT_PDCP = 0x85, 0xC0


def gtp(msg_type, teid, body, flags=0, seq=0, exts=()):
    """GTPv1 header (version 1, PT 1) + optional fields + extension headers + body.
    exts: (type, content) pairs; each content is padded so the header is 4-octet units."""
    opt = b""
    if flags or exts:
        flags |= 0x04 if exts else 0
        first = exts[0][0] if exts else 0
        opt = struct.pack(">HBB", seq, 0, first)
        for i, (_, content) in enumerate(exts):
            nxt = exts[i + 1][0] if i + 1 < len(exts) else 0
            units = (len(content) + 2 + 3) // 4
            content = content.ljust(units * 4 - 2, b"\0")
            opt += bytes([units]) + content + bytes([nxt])
    payload = opt + body
    return struct.pack(">BBHI", 0x30 | flags, msg_type, len(payload), teid) + payload


def outer(ver, uplink, gtp_bytes, ip_id):
    src, dst = (GNB, UPF) if uplink else (UPF, GNB)
    macs = (MAC_GNB, MAC_UPF) if uplink else (MAC_UPF, MAC_GNB)
    if ver == 4:
        ip = IP(src=src[4], dst=dst[4], ttl=64, id=ip_id, flags="DF")
    else:
        ip = IPv6(src=src[6], dst=dst[6], hlim=64)
    return Ether(src=macs[0], dst=macs[1]) / ip / UDP(sport=GTP_PORT, dport=GTP_PORT) / Raw(gtp_bytes)


def inner_packets():
    """(time, version, IP packet bytes, from the UE) of every UDP or ICMP error frame."""
    out = []
    for path in SOURCES:
        for p in rdpcap(os.path.join(TOP, path)):
            ip = p[IP] if IP in p else p[IPv6] if IPv6 in p else None
            if ip is None or not (UDP in p or p.haslayer("ICMP") or p.haslayer("ICMPv6DestUnreach")):
                continue
            out.append((p.time, 4 if IP in p else 6, bytes(ip), ip.src in UES))
    return sorted(out, key=lambda t: t[0])


def main():
    dst = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "tests/captures/gtpu-dns-closed.pcap")
    pkts = inner_packets()
    frames, seq, down = [], 1000, 0
    t0 = pkts[0][0]
    # Path management first: the gNB's echo request, the UPF's response with Recovery IE (14).
    frames.append((t0 - Decimal("0.5"), outer(4, True, gtp(1, 0, b"", flags=0x02, seq=seq), 1)))
    frames.append((t0 - Decimal("0.4999"), outer(4, False, gtp(2, 0, b"\x0e\x00", flags=0x02, seq=seq), 1)))
    for i, (t, ver, ip, from_ue) in enumerate(pkts):
        if from_ue:
            g = gtp(255, TEID_UL, ip, exts=[(EXT_PDU_SESSION, b"\x10\x09")])
        else:
            seq += 1
            style = down % 3
            down += 1
            if style == 0:
                g = gtp(255, TEID_DL, ip)
            elif style == 1:
                g = gtp(255, TEID_DL, ip, flags=0x02, seq=seq)
            else:
                g = gtp(255, TEID_DL, ip, flags=0x02, seq=seq,
                        exts=[(EXT_PDCP, struct.pack(">H", seq & 0x7FFF)),
                              (EXT_PDU_SESSION, b"\x00\x09")])
        frames.append((t, outer(ver, from_ue, g, 100 + i)))
    frames.append((pkts[-1][0] + Decimal("0.1"), outer(4, False, gtp(254, TEID_DL, b""), 999)))
    for t, f in frames:
        f.time = t
    wrpcap(dst, [f for _, f in frames], linktype=1)
    print(f"{dst}: {len(frames)} frames ({len(pkts)} wrapped)")


if __name__ == "__main__":
    main()
