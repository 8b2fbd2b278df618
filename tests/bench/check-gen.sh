#!/bin/sh
# check-gen.sh - checks the capture generator (samples/gen/) against tshark, for every link
# type: the ICMP counts tshark finds equal the ground truth, no packet is malformed or has a
# bad IP/UDP/TCP/ICMP checksum, and the same arguments give byte-identical files.
# Env: BENCH_DIR (default /tmp/portmortem-bench), CHECK_PACKETS (default 200000), GEN.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
need tshark tshark
need capinfos wireshark-common
GEN=$(gen_binary)
N=${CHECK_PACKETS:-200000}
D="$BENCH_DIR/check"
mkdir -p "$D"
CK="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE"
fail=0
pass=0

check() { # check NAME GOT WANT
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
	else
		echo "FAIL $1: tshark $2, truth $3"
		fail=$((fail + 1))
	fi
}

for cfg in en10mb sll2 raw null en10mb-nsec; do
	link=${cfg%-nsec}
	extra=""
	[ "$cfg" != "$link" ] && extra="--nsec"
	f="$D/$cfg.pcap"
	t="$D/$cfg.tsv"
	"$GEN" -q --packets "$N" --seed 7 --link "$link" $extra --truth "$t" -o "$f"
	"$GEN" -q --packets "$N" --seed 7 --link "$link" $extra --truth "$t.2" -o "$f.2"
	if cmp -s "$f" "$f.2" && cmp -s "$t" "$t.2"; then pass=$((pass + 1)); else
		echo "FAIL $cfg: two runs with the same arguments differ"
		fail=$((fail + 1))
	fi
	rm -f "$f.2" "$t.2"
	check "$cfg packets" "$(capinfos -M -c "$f" | sed -n 's/^Number of packets: *//p')" \
		"$(truth_value "$t" packets)"
	counts=$(tshark -n -r "$f" -Y 'icmp || icmpv6' -T fields -e icmp.type -e icmp.code \
		-e icmpv6.type -e icmpv6.code 2>/dev/null | awk -F'\t' '
		$1 == 3 && $2 == 3 { pu4++ } $1 == 3 && $2 != 3 { o4++ } $1 == 11 { te4++ }
		$3 == 1 && $4 == 4 { pu6++ } $3 == 1 && $4 != 4 { o6++ } $3 == 3 { te6++ }
		END { printf "%d %d %d %d %d %d\n", pu4, pu6, o4, o6, te4, te6 }')
	# shellcheck disable=SC2086 # six numbers, split on purpose
	set -- $counts
	check "$cfg icmp 3/3" "$1" "$(truth_value "$t" icmp_port_unreach_v4)"
	check "$cfg icmpv6 1/4" "$2" "$(truth_value "$t" icmp6_port_unreach)"
	check "$cfg other unreachables" "$(($3 + $4))" "$(truth_value "$t" icmp_unreach_other)"
	check "$cfg time exceeded" "$(($5 + $6))" "$(truth_value "$t" time_exceeded)"
	# shellcheck disable=SC2086 # $CK is three options
	bad=$(tshark -n -r "$f" $CK -Y '_ws.malformed || _ws.expert.severity==error' 2>/dev/null | wc -l)
	check "$cfg malformed or bad checksum" "$bad" 0
	echo "$cfg: $(truth_value "$t" packets) packets, 3/3 $1, 1/4 $2, other $(($3 + $4)), time exceeded $(($5 + $6)), malformed $bad"
	rm -f "$f"
done
echo "check-gen: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
