#!/bin/sh
# storm.sh - the cost of an error storm (issue 8): captures where most packets are refused
# requests, generated with the project's generator at 100 k, 300 k, 1 M and 3 M port
# unreachables, plus the issue's storm (1.0 M refused DNS requests to 1,000 servers and 4
# scanners x 50 hosts x 1,000 ports: 1.2 M errors). Per row, from one run each (page cache
# hot): tcpdump's filter pass over the file, `portmortem analyze` (the whole job: read,
# store, diagnose, text report), then `report -f json|text|html` on the database it made,
# its peak RSS, and the cost per error. Ends with `report` on the small-packet database of
# bench.sh when that capture exists.
# Env: BENCH_DIR (default /tmp/portmortem-bench; only files named storm-* and small.* are
# written or read there), STORM_SIZES ("100000 300000 1000000 3000000"), STORM_ISSUE (1: add
# the issue's 1.2 M storm row; 0: skip), PORTMORTEM (./portmortem), GEN (the generator).
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

PM=${PORTMORTEM:-./portmortem}
SIZES=${STORM_SIZES:-100000 300000 1000000 3000000}
need tcpdump tcpdump
need sqlite3 sqlite3
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install -y time" >&2; exit 2; }
[ -x "$PM" ] || { echo "$PM is not built (make portmortem)" >&2; exit 2; }
GEN=$(gen_binary)
ICMP_BPF='icmp[0]=3 or icmp6[0]=1'
FILTER="$ICMP_BPF or (vlan and ($ICMP_BPF or (vlan and ($ICMP_BPF))))"
DB="$BENCH_DIR/storm.db"

secs() { # COMMAND... -> wall seconds of one run (stdout discarded); peak RSS KB in $BENCH_DIR/storm.rss
	/usr/bin/time -f '%e %M' -o "$BENCH_DIR/storm.time" "$@" > /dev/null
	cut -d ' ' -f 2 "$BENCH_DIR/storm.time" > "$BENCH_DIR/storm.rss"
	cut -d ' ' -f 1 "$BENCH_DIR/storm.time"
}

printf '%-34s %9s %9s %8s %9s %8s %8s %8s %7s %8s\n' capture errors "tcpdump s" "analyze s" \
	"ratio" "us/error" "json s" "text s" "html s" "RSS MB"
row() { # NAME CAPTURE
	name=$1 cap=$2
	cat "$cap" > /dev/null
	td=$(secs tcpdump -n -r "$cap" -w /dev/null "$FILTER" 2>/dev/null)
	rm -f "$DB" "$DB-wal" "$DB-shm"
	an=$(secs "$PM" analyze -q -j 1 -d "$DB" -o /dev/null "$cap")
	rss=$(cat "$BENCH_DIR/storm.rss")
	errors=$(sqlite3 "$DB" "SELECT SUM(port_unreachables) FROM captures")
	js=$(secs "$PM" report -d "$DB" -f json -o /dev/null)
	tx=$(secs "$PM" report -d "$DB" -f text -o /dev/null)
	ht=$(secs "$PM" report -d "$DB" -f html -o "$BENCH_DIR/storm.html")
	printf '%-34s %9s %9s %8s %8.1fx %8.1f %8s %8s %8s %7.0f\n' "$name" "$errors" "$td" "$an" \
		"$(echo "$an $td" | awk '{print $1 / ($2 > 0 ? $2 : 0.001)}')" \
		"$(echo "$an $errors" | awk '{print 1e6 * $1 / ($2 > 0 ? $2 : 1)}')" "$js" "$tx" "$ht" \
		"$(echo "$rss" | awk '{print $1 / 1024}')"
}

for n in $SIZES; do
	cap="$BENCH_DIR/storm-$n.pcap"
	# n refused DNS requests to 1,000 servers from 2,000 clients, on 200 k packets of the mix
	[ -s "$cap" ] || "$GEN" -q --packets $((2 * n + 200000)) --seed 2 --storm "1000:$n" -o "$cap"
	row "storm, $n refusals" "$cap"
done
if [ "${STORM_ISSUE:-1}" = 1 ]; then
	cap="$BENCH_DIR/storm-issue.pcap"
	[ -s "$cap" ] || "$GEN" -q --packets 2600000 --seed 2 --storm 1000:1000000:4:50:1000 -o "$cap"
	row "storm + 4 scanners (issue 8)" "$cap"
fi
if [ -s "$BENCH_DIR/small.pcap" ]; then
	rm -f "$DB" "$DB-wal" "$DB-shm"
	"$PM" analyze -q -j 1 -d "$DB" -o /dev/null "$BENCH_DIR/small.pcap"
	printf 'report on the small-packet database (%s findings): json %s s, text %s s, html %s s\n' \
		"$(sqlite3 "$DB" 'SELECT COUNT(*) FROM findings')" \
		"$(secs "$PM" report -d "$DB" -f json -o /dev/null)" \
		"$(secs "$PM" report -d "$DB" -f text -o /dev/null)" \
		"$(secs "$PM" report -d "$DB" -f html -o "$BENCH_DIR/storm.html")"
fi
echo "one run each, page cache hot; ratio: analyze over tcpdump's filter pass (lower is better);"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, load $(cut -d ' ' -f 1-3 /proc/loadavg)"
rm -f "$DB" "$DB-wal" "$DB-shm" "$BENCH_DIR/storm.time" "$BENCH_DIR/storm.rss" "$BENCH_DIR/storm.html"
