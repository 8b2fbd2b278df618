#!/bin/sh
# evict.sh - the cost of the endpoint table when it is full of endpoints that cannot be
# evicted (issue 11 item 7): UDP scans of 4k to 256k refused ports (tests/tools/
# gen-refused.py --scan), analyzed with --max-endpoints 1024 and with a table big enough for
# all (no eviction); the difference is what eviction costs. It should grow linearly (the
# bound in analyzer/corr.c: ep_make_room). Median of BENCH_RUNS (3) wall times per size.
# Env: BENCH_DIR (default /tmp/portmortem-bench; writes evict-*.pcap and evict.db there),
# PORTMORTEM (./portmortem), EVICT_SIZES ("4000 8000 16000 64000 256000").
set -eu
cd "$(dirname "$0")/../.."
DIR=${BENCH_DIR:-/tmp/portmortem-bench}
PM=${PORTMORTEM:-./portmortem}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$DIR"
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
run() { # CAPTURE MAX -> median seconds
	for _ in $(seq "$RUNS"); do
		rm -f "$DIR/evict.db" "$DIR/evict.db-wal" "$DIR/evict.db-shm"
		/usr/bin/time -f %e -o "$DIR/evict.time" "$PM" analyze -q -d "$DIR/evict.db" \
			--max-endpoints "$2" -o /dev/null "$1"
		cat "$DIR/evict.time"
	done | median
}
printf '%-10s %14s %14s %12s\n' endpoints "cap 1024 (s)" "no cap (s)" "eviction (s)"
for n in ${EVICT_SIZES:-4000 8000 16000 64000 256000}; do
	cap="$DIR/evict-$n.pcap"
	[ -f "$cap" ] || python3 tests/tools/gen-refused.py --scan "$n" "$cap"
	capped=$(run "$cap" 1024)
	free=$(run "$cap" 1048576)
	printf '%-10s %14s %14s %12s\n' "$n" "$capped" "$free" \
		"$(echo "$capped $free" | awk '{printf "%.2f", $1 - $2}')"
done
rm -f "$DIR/evict.db" "$DIR/evict.db-wal" "$DIR/evict.db-shm" "$DIR/evict.time"
