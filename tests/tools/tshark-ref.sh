#!/bin/sh
# tshark-ref.sh CAPTURE - tshark's reading of every ICMP destination unreachable in CAPTURE,
# one line each: frame reporter family type code src sport dst dport (the quoted datagram;
# "-" where absent). `portmortem events` must print the same columns (tests/integration.sh).
set -eu
tshark -n -r "$1" -Y 'icmp.type==3 || icmpv6.type==1' -T fields -E separator=/t \
	-e frame.number -e ip.src -e ipv6.src -e icmp.type -e icmp.code -e icmpv6.type \
	-e icmpv6.code -e ip.dst -e ipv6.dst -e udp.srcport -e udp.dstport 2>/dev/null |
awk -F'\t' '
function nth(s, k,   a, n) { n = split(s, a, ","); if (k < 0) k = n + 1 + k; return (k >= 1 && k <= n) ? a[k] : "" }
function cnt(s,   a) { return s == "" ? 0 : split(s, a, ",") }
{
	v6 = ($6 != "")
	srcs = v6 ? $3 : $2; dsts = v6 ? $9 : $8
	fam = v6 ? "icmp6" : "icmp"; type = v6 ? $6 : $4; code = v6 ? $7 : $5
	type = nth(type, 1); code = nth(code, 1)
	rep = (cnt(srcs) >= 2) ? nth(srcs, -2) : nth(srcs, 1)
	if (cnt(srcs) >= 2) { qs = nth(srcs, -1); qd = nth(dsts, -1) } else { qs = "-"; qd = "-" }
	sp = ($10 != "") ? nth($10, -1) : "-"; dp = ($11 != "") ? nth($11, -1) : "-"
	print $1 "\t" rep "\t" fam "\t" type "\t" code "\t" qs "\t" sp "\t" qd "\t" dp
}'
