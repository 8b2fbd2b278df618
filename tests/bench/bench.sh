#!/bin/sh
# bench.sh - times portmortem against cat, tcpdump and tshark on one large generated capture,
# all in one hyperfine run, and prints median time, packets/s, GB/s, speed relative to
# tcpdump and peak RSS. See tests/bench/README.md.
#
# Env: BENCH_DIR (default /tmp/portmortem-bench; only files this script names are written or
# deleted there), BENCH_SIZE (2G), BENCH_SEED (1), BENCH_LINK (en10mb), BENCH_RUNS (5),
# BENCH_SLICE (100M: tshark's share), BENCH_TIMEOUT (1800 s for the timed part),
# PORTMORTEM (./portmortem), GEN (the generator; built when unset).
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

SIZE=${BENCH_SIZE:-2G}
SEED=${BENCH_SEED:-1}
LINK=${BENCH_LINK:-en10mb}
RUNS=${BENCH_RUNS:-5}
SLICE=${BENCH_SLICE:-100M}
TIMEOUT=${BENCH_TIMEOUT:-1800}
PM=${PORTMORTEM:-./portmortem}
CAP="$BENCH_DIR/bench.pcap"
TRUTH="$BENCH_DIR/bench.tsv"
STAMP="$BENCH_DIR/bench.stamp"
SLICE_CAP="$BENCH_DIR/slice.pcap"
DB="$BENCH_DIR/bench.db"
META="$BENCH_DIR/bench.meta"
JSON="$BENCH_DIR/bench.json"
OUT="$BENCH_DIR/out.txt"

need hyperfine hyperfine
need tcpdump tcpdump
need tshark tshark
need editcap wireshark-common
need capinfos wireshark-common
need python3 python3
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install -y time" >&2; exit 2; }

# ---- the capture: generated once, reused while size, seed, link and generator agree ----

bytes_of() { # SIZE with k/M/G/T suffix (powers of 1024) -> bytes
	echo "$1" | awk '{ n = $0 + 0; u = toupper(substr($0, length($0)))
		if (u == "B") u = toupper(substr($0, length($0) - 1, 1))
		m = u == "K" ? 2^10 : u == "M" ? 2^20 : u == "G" ? 2^30 : u == "T" ? 2^40 : 1
		printf "%.0f\n", n * m }'
}

want=$(bytes_of "$SIZE")
stamp="size=$SIZE seed=$SEED link=$LINK gen=$(cat samples/gen/*.c samples/gen/*.h | cksum)"
if [ -s "$CAP" ] && [ -s "$TRUTH" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$stamp" ]; then
	echo "reusing $CAP"
else
	rm -f "$CAP" "$TRUTH" "$STAMP" "$SLICE_CAP" "$SLICE_CAP.stamp"
	free_kb=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
	need_kb=$((want / 1024 + $(bytes_of "$SLICE") / 1024 + 1048576))
	if [ "$free_kb" -lt "$need_kb" ]; then
		echo "not enough disk in $BENCH_DIR: $((free_kb / 1024)) MiB free, $((need_kb / 1024)) MiB needed" >&2
		exit 2
	fi
	GEN=$(gen_binary)
	echo "generating $SIZE ($LINK, seed $SEED) into $CAP"
	"$GEN" --bytes "$SIZE" --seed "$SEED" --link "$LINK" --truth "$TRUTH" -o "$CAP"
	echo "$stamp" > "$STAMP"
fi
BYTES=$(wc -c < "$CAP")
PACKETS=$(truth_value "$TRUTH" packets)
EXPECT=$(($(truth_value "$TRUTH" icmp_port_unreach_v4) + $(truth_value "$TRUTH" icmp6_port_unreach) + $(truth_value "$TRUTH" icmp_unreach_other)))

# tshark is ~100x slower: it reads the first BENCH_SLICE bytes' worth of packets.
if [ ! -s "$SLICE_CAP" ] || [ "$(cat "$SLICE_CAP.stamp" 2>/dev/null)" != "$SLICE" ]; then
	k=$(awk -v p="$PACKETS" -v s="$(bytes_of "$SLICE")" -v b="$BYTES" 'BEGIN { k = int(p * s / b); print k < 1 ? 1 : k }')
	editcap -r "$CAP" "$SLICE_CAP" "1-$k"
	echo "$SLICE" > "$SLICE_CAP.stamp"
fi
SLICE_BYTES=$(wc -c < "$SLICE_CAP")
SLICE_PACKETS=$(capinfos -M -c "$SLICE_CAP" | sed -n 's/^Number of packets: *//p')

echo "warming the page cache"
cat "$CAP" > /dev/null
cat "$SLICE_CAP" > /dev/null

# ---- the commands: each is run once under /usr/bin/time -v first (peak RSS, what it
# found, and whether it works at all); the ones that fail are left out of the timing.
# hyperfine sends their standard output to /dev/null, like `CMD > /dev/null`. ----

ICMP_BPF='icmp[0]=3 or icmp6[0]=1'
TCPDUMP_FILTER="$ICMP_BPF or (vlan and ($ICMP_BPF or (vlan and ($ICMP_BPF))))"
: > "$META"

# add NAME BYTES PACKETS COUNT COMMAND: COUNT is lines (of output), tsv (lines less the
# header) or none (output not counted: not even written anywhere).
add() {
	name=$1 b=$2 p=$3 how=$4 cmd=$5
	rm -f "$DB" "$DB-wal" "$DB-shm"
	dest="$OUT"
	[ "$how" = none ] && dest=/dev/null
	if ! timeout 900 /usr/bin/time -v -o "$BENCH_DIR/time.txt" sh -c "$cmd" > "$dest" 2> "$BENCH_DIR/err.txt"; then
		echo "skipping $name: it failed (see $BENCH_DIR/err.txt)"
		return 0
	fi
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$BENCH_DIR/time.txt")
	case $how in
	lines) found=$(wc -l < "$OUT") ;;
	tsv) found=$(($(wc -l < "$OUT") - 1)) ;;
	*) found=- ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$b" "$p" "$rss" "$found" "$cmd" >> "$META"
}

echo "running each command once (peak RSS)"
add "cat" "$BYTES" "$PACKETS" none "cat '$CAP'"
add "tcpdump -r (ICMP filter)" "$BYTES" "$PACKETS" lines \
	"tcpdump -n -r '$CAP' '$TCPDUMP_FILTER' 2>/dev/null"
if [ -x "$PM" ]; then
	add "portmortem events" "$BYTES" "$PACKETS" tsv "$PM events -f tsv '$CAP'"
	if { "$PM" --help; "$PM" events --help; } 2>&1 | grep -q -- '--libpcap'; then
		add "portmortem events --libpcap" "$BYTES" "$PACKETS" tsv \
			"$PM events --libpcap -f tsv '$CAP'"
	else
		echo "skipping portmortem events --libpcap: no such option in $PM --help"
	fi
	add "portmortem analyze" "$BYTES" "$PACKETS" none "$PM analyze -q --db '$DB' '$CAP'"
else
	echo "skipping portmortem: $PM is not built (make portmortem)"
fi
add "tshark (slice, scaled)" "$SLICE_BYTES" "$SLICE_PACKETS" lines \
	"tshark -n -r '$SLICE_CAP' -Y 'icmp.type==3 || icmpv6.type==1' 2>/dev/null"
rm -f "$DB" "$DB-wal" "$DB-shm" "$OUT"

# Before each timed run: no database, and the capture read once more (this machine's page
# cache may drop a cold file within seconds).
set --
while IFS='	' read -r name b p rss found cmd; do
	set -- "$@" -n "$name" "$cmd"
done < "$META"
echo "timing $(($# / 3)) commands: hyperfine --warmup 1 --runs $RUNS (at most $TIMEOUT s)"
timeout "$TIMEOUT" hyperfine --warmup 1 --runs "$RUNS" --export-json "$JSON" \
	--prepare "rm -f '$DB' '$DB-wal' '$DB-shm'; cat '$CAP' '$SLICE_CAP' > /dev/null" "$@" ||
	{ echo "hyperfine failed or ran out of its $TIMEOUT s" >&2; exit 1; }
rm -f "$DB" "$DB-wal" "$DB-shm"

# ---- the table ----

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "tools: $(tcpdump --version 2>&1 | head -n 1), $(tshark --version 2>/dev/null | head -n 1 | cut -d ' ' -f 1-3)," \
	"$([ -x "$PM" ] && "$PM" --version 2>&1 | head -n 1 || echo 'no portmortem')"

python3 - "$JSON" "$META" "$PACKETS" "$BYTES" "$EXPECT" <<'EOF'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
meta = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
packets, size, expect = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = []
for name, b, p, rss, found, _cmd in meta:
    if name not in runs:
        continue
    med = runs[name]["median"]
    scale = packets / int(p)  # tshark read a slice: its time scaled to the whole file
    rows.append((name, med, med * scale, int(p) / med, int(b) / med / 1e9, int(rss), found))
tcpd = next((r[2] for r in rows if r[0].startswith("tcpdump")), None)
print(f"{packets} packets, {size / 1e9:.2f} GB; ICMP type 3 / ICMPv6 type 1 planted: {expect}")
hdr = f"{'command':30} {'median s':>9} {'whole file s':>12} {'packets/s':>11} {'GB/s':>6} {'speed vs tcpdump':>16} {'peak RSS MB':>11} {'found':>6}"
print(hdr)
print("-" * len(hdr))
for name, med, whole, pps, gbs, rss, found in rows:
    ratio = f"{tcpd / whole:.2f}x" if tcpd else "-"
    print(f"{name:30} {med:9.3f} {whole:12.3f} {pps:11,.0f} {gbs:6.2f} {ratio:>16} {rss / 1024:11.1f} {found:>6}")
print("\nspeed vs tcpdump: tcpdump's time over the command's (whole file; tshark's scaled).")
print("found: lines of output (ICMP errors listed); tshark's are for its slice only.")
EOF
echo "raw results: $JSON"
echo "disk used by $BENCH_DIR: $(du -sh "$BENCH_DIR" | cut -f1) (remove with: rm -rf $BENCH_DIR)"
