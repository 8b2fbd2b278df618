#!/bin/sh
# communityid-ref.sh CAPTURE... - tshark's Community ID (v1, seed 0) of every UDP datagram of
# the captures, as "src<TAB>sport<TAB>dst<TAB>dport<TAB>id" lines, sorted and unique: the
# reference tests/cli.sh holds the Community IDs of `portmortem events` to (the flow quoted
# in an ICMP error is a UDP datagram that tshark saw on the wire). Needs tshark 3.6 or later
# (its "communityid" protocol, off by default). Rewrite the committed reference with
#   sh tests/tools/communityid-ref.sh samples/*.pcap > tests/cli/communityid.ref
set -eu
for f in "$@"; do
	tshark --enable-protocol communityid -r "$f" -Y 'udp and not icmp and not icmpv6' \
		-T fields -E separator=/t -e ip.src -e ipv6.src -e udp.srcport -e ip.dst \
		-e ipv6.dst -e udp.dstport -e communityid 2>/dev/null
done | awk -F'\t' '$7 != "" && index($1 $2 $4 $5, ",") == 0 {
	print $1 $2 "\t" $3 "\t" $4 $5 "\t" $6 "\t" $7 }' | LC_ALL=C sort -u
