"""Minimal DNS wire format (RFC 1035) for the sample recorders.

Only what dnsd.py and dnsq.py need: build a query, parse a query, build an
answer for A / AAAA / MX (other types get an empty NOERROR answer, garbage
gets FORMERR).  Standard library only.
"""

import ipaddress
import struct

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
          "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
QTYPE_NAMES = {v: k for k, v in QTYPES.items()}

RCODE_NOERROR, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP = 0, 1, 3, 4


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError("label too long: %r" % label)
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def decode_name(data, off, depth=0):
    """Return (name, offset after the name in the original position)."""
    labels = []
    end = None
    hops = 0
    while True:
        if off >= len(data):
            raise ValueError("name runs past the end")
        n = data[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise ValueError("truncated pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | data[off + 1]
            hops += 1
            if hops > 16:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            off += 1
            break
        if n > 63 or off + 1 + n > len(data):
            raise ValueError("bad label")
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if end is not None else off)


def build_query(qid, name, qtype, rd=True, edns=False):
    flags = 0x0100 if rd else 0
    arcount = 1 if edns else 0
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, arcount)
    msg += encode_name(name) + struct.pack("!HH", QTYPES.get(qtype, qtype) if isinstance(qtype, str) else qtype, 1)
    if edns:
        # OPT pseudo-RR: root name, type 41, UDP size 1232, no flags
        msg += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return msg


def parse_header(data):
    if len(data) < 12:
        raise ValueError("short header")
    return struct.unpack("!HHHHHH", data[:12])


def parse_query(data):
    """Return dict with id, flags, qname, qtype, qclass, qend (offset after question)."""
    qid, flags, qd, _an, _ns, _ar = parse_header(data)
    if qd < 1:
        raise ValueError("no question")
    name, off = decode_name(data, 12)
    if off + 4 > len(data):
        raise ValueError("truncated question")
    qtype, qclass = struct.unpack("!HH", data[off:off + 4])
    return {"id": qid, "flags": flags, "qname": name, "qtype": qtype,
            "qclass": qclass, "qend": off + 4}


def _rr(rtype, ttl, rdata):
    # owner = pointer to the question name at offset 12
    return b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def build_response(query, a="192.0.2.80", aaaa="2001:db8::80",
                   mx="mx.example.org", ttl=300):
    """Answer a raw query.  Never raises: garbage gets a FORMERR header."""
    try:
        q = parse_query(query)
    except ValueError:
        qid = struct.unpack("!H", query[:2])[0] if len(query) >= 2 else 0
        return struct.pack("!HHHHHH", qid, 0x8000 | RCODE_FORMERR, 0, 0, 0, 0)
    opcode = (q["flags"] >> 11) & 0xF
    rd = q["flags"] & 0x0100
    question = query[12:q["qend"]]
    if opcode != 0:
        flags = 0x8000 | (opcode << 11) | rd | RCODE_NOTIMP
        return struct.pack("!HHHHHH", q["id"], flags, 1, 0, 0, 0) + question
    answers = []
    if q["qclass"] == 1:
        if q["qtype"] == 1 and a:
            answers.append(_rr(1, ttl, ipaddress.IPv4Address(a).packed))
        elif q["qtype"] == 28 and aaaa:
            answers.append(_rr(28, ttl, ipaddress.IPv6Address(aaaa).packed))
        elif q["qtype"] == 15 and mx:
            answers.append(_rr(15, ttl, struct.pack("!H", 10) + encode_name(mx)))
    flags = 0x8000 | 0x0400 | rd | 0x0080 | RCODE_NOERROR  # QR AA RD RA
    hdr = struct.pack("!HHHHHH", q["id"], flags, 1, len(answers), 0, 0)
    return hdr + question + b"".join(answers)


def describe(data):
    try:
        q = parse_query(data)
        return "%s %s" % (q["qname"], QTYPE_NAMES.get(q["qtype"], q["qtype"]))
    except ValueError:
        return "(not DNS)"
