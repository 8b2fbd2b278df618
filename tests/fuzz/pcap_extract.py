#!/usr/bin/env python3
"""pcap_extract.py - turns packets of classic pcap files into fuzz seeds or C arrays.

  pcap_extract.py seeds OUTDIR FILE.pcap...     one seed per packet: 2-byte link type index
                                               (see fuzz_dissect.c) + the packet bytes
  pcap_extract.py carray FILE.pcap:N[,N...]...  C initialisers for tests/unit (1-based N)
"""
import os
import struct
import sys

# Same order as LINKTYPES[] in fuzz_dissect.c.
FUZZ_LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9]


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off, pkts = 24, []
    while off + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        pkts.append((data[off:off + caplen], wirelen))
        off += caplen
    return linktype, pkts


def seeds(outdir, files):
    os.makedirs(outdir, exist_ok=True)
    for path in files:
        try:
            lt, pkts = read_pcap(path)
        except (ValueError, struct.error, OSError):
            continue
        if lt not in FUZZ_LINKTYPES:
            continue
        base = os.path.basename(path)
        for i, (pkt, _) in enumerate(pkts[:50]):
            with open(os.path.join(outdir, f"{base}-{i + 1}"), "wb") as f:
                f.write(struct.pack(">H", FUZZ_LINKTYPES.index(lt)) + pkt)


def carray(specs):
    for spec in specs:
        path, nums = spec.rsplit(":", 1)
        lt, pkts = read_pcap(path)
        for n in nums.split(","):
            pkt, wirelen = pkts[int(n) - 1]
            name = os.path.basename(path)
            print(f"\t/* {name} frame {n}: link type {lt}, {len(pkt)} of {wirelen} bytes */")
            print(f"\t{{ \"{name}#{n}\", {lt}, {wirelen}, {len(pkt)}, (const uint8_t[]){{")
            for i in range(0, len(pkt), 12):
                row = ", ".join(f"0x{b:02x}" for b in pkt[i:i + 12])
                print(f"\t\t{row},")
            print("\t} },")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "seeds":
        seeds(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "carray":
        carray(sys.argv[2:])
    else:
        sys.exit(__doc__)
