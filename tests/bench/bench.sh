#!/bin/sh
# bench.sh - times portmortem against its peers (cat, tcpdump, tshark, zstd, igzip, pigz) on
# large generated captures: one hyperfine run per row of issue 9, each command with its peer
# in the same run, each portmortem result checked against the generator's ground truth.
# Prints median time, packets/s, GB/s, the ratio to the peer, peak RSS and the check.
# See tests/bench/README.md.
#
# Env: BENCH_DIR (default /tmp/portmortem-bench; only files this script names are written or
# deleted there), BENCH_SIZE (2G), BENCH_SEED (1), BENCH_LINK (en10mb), BENCH_RUNS (5),
# BENCH_SMALL (10000000 packets cut to 120 bytes), BENCH_FILES (200), BENCH_ROWS (the rows
# to run, default "mix small zst gz rotated batch"), BENCH_BATCH_SIZE (500M) and
# BENCH_BATCH_FILES (589: the batch row's capture, cut into that many files, half gzipped), BENCH_SLICE (100M: tshark's share; tshark is
# timed only with BENCH_TSHARK=1), BENCH_TIMEOUT (1800 s per row), PORTMORTEM (./portmortem),
# GEN (the generator; built when unset).
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh

SIZE=${BENCH_SIZE:-2G}
SEED=${BENCH_SEED:-1}
LINK=${BENCH_LINK:-en10mb}
RUNS=${BENCH_RUNS:-5}
SMALL=${BENCH_SMALL:-10000000}
NFILES=${BENCH_FILES:-200}
ROWS=${BENCH_ROWS:-mix small zst gz rotated batch}
BATCH_SIZE=${BENCH_BATCH_SIZE:-500M}
BATCH_FILES=${BENCH_BATCH_FILES:-589}
SLICE=${BENCH_SLICE:-100M}
TIMEOUT=${BENCH_TIMEOUT:-1800}
PM=${PORTMORTEM:-./portmortem}
CAP="$BENCH_DIR/bench.pcap"
TRUTH="$BENCH_DIR/bench.tsv"
STAMP="$BENCH_DIR/bench.stamp"
SLICE_CAP="$BENCH_DIR/slice.pcap"
SMALL_CAP="$BENCH_DIR/small.pcap"
SMALL_TRUTH="$BENCH_DIR/small.tsv"
ZST="$BENCH_DIR/bench.pcap.zst"
GZ="$BENCH_DIR/bench.pcap.gz"
ROT="$BENCH_DIR/rotated"
BATCH_CAP="$BENCH_DIR/batch.pcap"
BATCH_TRUTH="$BENCH_DIR/batch.tsv"
BATCH_DIR="$BENCH_DIR/batch"
BATCH_PLAIN="$BENCH_DIR/batch-plain"
BATCH_RERUN="$BENCH_DIR/batch-rerun.db"
DB="$BENCH_DIR/bench.db"
META="$BENCH_DIR/bench.meta"
TABLE="$BENCH_DIR/table.txt"
OUT="$BENCH_DIR/out.txt"

need hyperfine hyperfine
need tcpdump tcpdump
need editcap wireshark-common
need python3 python3
need sqlite3 sqlite3
need zstd zstd
need igzip isal
need pigz pigz
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install -y time" >&2; exit 2; }
[ -x "$PM" ] || { echo "$PM is not built (make portmortem)" >&2; exit 2; }

bytes_of() { # SIZE with k/M/G/T suffix (powers of 1024) -> bytes
	echo "$1" | awk '{ n = $0 + 0; u = toupper(substr($0, length($0)))
		if (u == "B") u = toupper(substr($0, length($0) - 1, 1))
		m = u == "K" ? 2^10 : u == "M" ? 2^20 : u == "G" ? 2^30 : u == "T" ? 2^40 : 1
		printf "%.0f\n", n * m }'
}

need_disk() { # MiB
	free_kb=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
	if [ "$free_kb" -lt $(($1 * 1024)) ]; then
		echo "not enough disk in $BENCH_DIR: $((free_kb / 1024)) MiB free, $1 MiB needed" >&2
		exit 2
	fi
}

# ---- the inputs: generated once, reused while size, seed, link and generator agree ----

want=$(bytes_of "$SIZE")
stamp="size=$SIZE seed=$SEED link=$LINK small=$SMALL files=$NFILES gen=$(cat samples/gen/*.c samples/gen/*.h | cksum)"
GEN=$(gen_binary)
if [ -s "$CAP" ] && [ -s "$TRUTH" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$stamp" ]; then
	echo "reusing the inputs in $BENCH_DIR"
else
	rm -rf "$CAP" "$TRUTH" "$STAMP" "$SLICE_CAP" "$SLICE_CAP.stamp" "$SMALL_CAP" "$SMALL_TRUTH" "$ZST" "$GZ" "$ROT" \
		"$BATCH_CAP" "$BATCH_CAP.gz" "$BATCH_TRUTH" "$BATCH_DIR" "$BATCH_PLAIN" "$BATCH_RERUN"*
	need_disk $((want * 3 / 1048576 + 2048))
	echo "generating $SIZE ($LINK, seed $SEED) into $CAP"
	"$GEN" -q --bytes "$SIZE" --seed "$SEED" --link "$LINK" --truth "$TRUTH" -o "$CAP"
	echo "$stamp" > "$STAMP"
fi
BYTES=$(wc -c < "$CAP")
PACKETS=$(truth_value "$TRUTH" packets)
planted() { echo $(($(truth_value "$1" icmp_port_unreach_v4) + $(truth_value "$1" icmp6_port_unreach) + $(truth_value "$1" icmp_unreach_other))); }
EXPECT=$(planted "$TRUTH")

make_inputs() {
	case $1 in
	small)
		# Small packets: the generator's mix, SMALL packets, cut to 120 bytes as a capture
		# with `tcpdump -s 120` is (frames of 60 to 120 captured bytes).
		[ -s "$SMALL_CAP" ] && return
		echo "generating $SMALL packets cut to 120 bytes into $SMALL_CAP"
		"$GEN" -q --packets "$SMALL" --seed "$SEED" --link "$LINK" --truth "$SMALL_TRUTH" -o - |
			editcap -F pcap -s 120 - "$SMALL_CAP" ;;
	zst)
		[ -s "$ZST" ] || { echo "compressing $CAP with zstd -3"; zstd -q -3 -T0 -f "$CAP" -o "$ZST"; } ;;
	gz)
		[ -s "$GZ" ] || { echo "compressing $CAP with pigz -6"; pigz -6 -c "$CAP" > "$GZ"; } ;;
	rotated)
		[ -d "$ROT" ] && [ "$(ls "$ROT" | wc -l)" -eq "$NFILES" ] && return
		rm -rf "$ROT"; mkdir -p "$ROT"
		echo "splitting $CAP into $NFILES rotated files"
		editcap -F pcap -c $(((PACKETS + NFILES - 1) / NFILES)) "$CAP" "$ROT/rot.pcap" >/dev/null ;;
	batch)
		# Issue 10's archive: BATCH_SIZE of packets as one file, and the same packets as
		# BATCH_FILES rotated files, every second one gzipped.
		[ -d "$BATCH_DIR" ] && [ "$(ls "$BATCH_DIR" | wc -l)" -eq "$BATCH_FILES" ] &&
			[ -d "$BATCH_PLAIN" ] && return
		rm -rf "$BATCH_DIR" "$BATCH_PLAIN" "$BATCH_RERUN"* "$BATCH_CAP.gz"; mkdir -p "$BATCH_DIR" "$BATCH_PLAIN"
		echo "generating $BATCH_SIZE into $BATCH_CAP, cut into $BATCH_FILES files, half gzipped"
		"$GEN" -q --bytes "$BATCH_SIZE" --seed "$SEED" --link "$LINK" --truth "$BATCH_TRUTH" -o "$BATCH_CAP"
		bp=$(truth_value "$BATCH_TRUTH" packets)
		editcap -F pcap -c $(((bp + BATCH_FILES - 1) / BATCH_FILES)) "$BATCH_CAP" "$BATCH_PLAIN/rot.pcap" >/dev/null
		i=0
		for f in "$BATCH_PLAIN"/*; do # the same files, every second one gzipped
			i=$((i + 1))
			if [ $((i % 2)) -eq 0 ]; then gzip -c "$f" > "$BATCH_DIR/${f##*/}.gz"
			else ln "$f" "$BATCH_DIR/"; fi
		done ;;
	esac
}

# ---- one row: commands run once under /usr/bin/time -v (peak RSS, the ground-truth check),
# then together in one hyperfine run ----

# keyed DB: the findings as the truth file lists them (diagnosis, server, port, errors).
keyed() {
	sqlite3 -separator '	' "$1" "SELECT diagnosis, server_ip, server_port, errors FROM findings ORDER BY 2, 3"
}
truth_keyed() {
	grep -v '^#' "$1" | awk -F'\t' 'NR > 1 { print $1 "\t" $3 "\t" $4 "\t" $7 }'
}

# add NAME BYTES PACKETS CHECK COMMAND. CHECK: none; events N (tsv lines less the header must
# be N); findings TRUTH (the database's findings must equal the truth file's); same DB (equal
# to another database's findings and to the truth). The database of a command is $DB.<n>.
n_cmd=0
add() {
	name=$1 b=$2 p=$3 how=$4 arg=$5 cmd=$6
	n_cmd=$((n_cmd + 1))
	db="$DB.$n_cmd"
	rm -f "$db" "$db-wal" "$db-shm"
	cmd=$(printf '%s' "$cmd" | sed "s|@DB@|$db|g")
	if ! timeout 900 /usr/bin/time -v -o "$BENCH_DIR/time.txt" sh -c "$cmd" > "$OUT" 2> "$BENCH_DIR/err.txt"; then
		echo "skipping $name: it failed (see $BENCH_DIR/err.txt)"
		return 0
	fi
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$BENCH_DIR/time.txt")
	case $how in
	events) got=$(($(wc -l < "$OUT") - 1))
		[ "$got" -eq "$arg" ] && check="$got events = planted" || check="MISMATCH: $got events, $arg planted" ;;
	findings)
		truth_keyed "$arg" | LC_ALL=C sort > "$BENCH_DIR/want.txt"
		keyed "$db" | LC_ALL=C sort > "$BENCH_DIR/got.txt"
		nf=$(wc -l < "$BENCH_DIR/want.txt")
		if cmp -s "$BENCH_DIR/want.txt" "$BENCH_DIR/got.txt"; then check="$nf findings = truth"
		else check="MISMATCH: $(wc -l < "$BENCH_DIR/got.txt") findings, $(LC_ALL=C comm -12 "$BENCH_DIR/want.txt" "$BENCH_DIR/got.txt" | wc -l) of the $nf true ones"; fi ;;
	*) check="-" ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$b" "$p" "$rss" "$check" "$cmd" >> "$META"
}

# row TITLE PEER [PEER2]: times the commands added since the last row, prints the table
# (ratio: the peer's median time over the command's, > 1 is faster than the peer).
row() {
	title=$1 peer=$2 peer2=${3:-}
	set --
	while IFS='	' read -r name b p rss check cmd; do
		set -- "$@" -n "$name" "$cmd"
	done < "$META"
	echo "timing: $title ($(($# / 3)) commands, hyperfine --warmup 1 --runs $RUNS)"
	timeout "$TIMEOUT" hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$BENCH_DIR/row.json" \
		--prepare "sh -c 'rm -f $DB.*'" "$@" >/dev/null ||
		{ echo "hyperfine failed or ran out of its $TIMEOUT s" >&2; exit 1; }
	python3 - "$BENCH_DIR/row.json" "$META" "$title" "$peer" "$peer2" >> "$TABLE" <<'EOF'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
meta = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
title, peers = sys.argv[3], [p for p in sys.argv[4:] if p]
print(f"\n{title}")
med = {name: runs[name]["median"] for name, *_ in meta if name in runs}
labels = ["vs " + p.split(" (")[0] for p in peers]
width = [max(len(l), 8) for l in labels]
cols = "".join(f" {l:>{w}}" for l, w in zip(labels, width))
hdr = f"{'command':34} {'median s':>9} {'packets/s':>11} {'GB/s':>6}{cols} {'RSS MB':>7}  ground truth"
print(hdr)
print("-" * len(hdr))
for name, b, p, rss, check, _cmd in meta:
    if name not in med:
        continue
    m = med[name]
    ratios = "".join(f" {med[q] / m:{w - 1}.2f}x" if q in med else f" {'-':>{w}}" for q, w in zip(peers, width))
    print(f"{name:34} {m:9.3f} {int(p) / m:11,.0f} {int(b) / m / 1e9:6.2f}{ratios} {int(rss) / 1024:7.1f}  {check}")
EOF
	rm -f "$DB".* "$OUT"
	: > "$META"
}

ICMP_BPF='icmp[0]=3 or icmp6[0]=1'
TCPDUMP_FILTER="$ICMP_BPF or (vlan and ($ICMP_BPF or (vlan and ($ICMP_BPF))))"
TCPDUMP="tcpdump -n -r '$CAP' -w /dev/null '$TCPDUMP_FILTER'"
: > "$META"
: > "$TABLE"

for r in $ROWS; do
	make_inputs "$r"
	echo "warming the page cache"
	case $r in
	mix)
		cat "$CAP" > /dev/null
		add "cat" "$BYTES" "$PACKETS" none - "cat '$CAP'"
		add "tcpdump (port-unreach filter)" "$BYTES" "$PACKETS" none - "$TCPDUMP"
		add "portmortem events" "$BYTES" "$PACKETS" events "$EXPECT" "$PM events -f tsv '$CAP'"
		add "portmortem analyze" "$BYTES" "$PACKETS" findings "$TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$CAP'"
		if [ -n "${BENCH_TSHARK:-}" ] && command -v tshark >/dev/null; then
			k=$(awk -v p="$PACKETS" -v s="$(bytes_of "$SLICE")" -v b="$BYTES" 'BEGIN { k = int(p * s / b); print k < 1 ? 1 : k }')
			[ -s "$SLICE_CAP" ] || editcap -r "$CAP" "$SLICE_CAP" "1-$k"
			add "tshark -Y (slice of $k packets)" "$(wc -c < "$SLICE_CAP")" "$k" none - \
				"tshark -n -r '$SLICE_CAP' -Y 'icmp.type==3 || icmpv6.type==1'"
		fi
		row "$SIZE enterprise mix, plain pcap: $PACKETS packets, $BYTES bytes" "tcpdump (port-unreach filter)" ;;
	small)
		cat "$SMALL_CAP" > /dev/null
		sb=$(wc -c < "$SMALL_CAP")
		add "tcpdump (port-unreach filter)" "$sb" "$SMALL" none - \
			"tcpdump -n -r '$SMALL_CAP' -w /dev/null '$TCPDUMP_FILTER'"
		add "portmortem events" "$sb" "$SMALL" events "$(planted "$SMALL_TRUTH")" "$PM events -f tsv '$SMALL_CAP'"
		add "portmortem analyze" "$sb" "$SMALL" findings "$SMALL_TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$SMALL_CAP'"
		row "$SMALL small packets (cut to 120 bytes), $sb bytes" "tcpdump (port-unreach filter)" ;;
	zst)
		cat "$ZST" > /dev/null
		add "zstd -dc" "$BYTES" "$PACKETS" none - "zstd -dc '$ZST'"
		add "portmortem events" "$BYTES" "$PACKETS" events "$EXPECT" "$PM events -f tsv '$ZST'"
		add "portmortem analyze" "$BYTES" "$PACKETS" findings "$TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$ZST'"
		row "the mix as .zst (zstd -3, $(wc -c < "$ZST") bytes)" "zstd -dc" ;;
	gz)
		cat "$GZ" > /dev/null
		add "igzip -dc" "$BYTES" "$PACKETS" none - "igzip -dc '$GZ'"
		add "pigz -dc" "$BYTES" "$PACKETS" none - "pigz -dc '$GZ'"
		add "portmortem events" "$BYTES" "$PACKETS" events "$EXPECT" "$PM events -f tsv '$GZ'"
		add "portmortem analyze" "$BYTES" "$PACKETS" findings "$TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$GZ'"
		row "the mix as .gz (pigz -6, $(wc -c < "$GZ") bytes)" "igzip -dc" "pigz -dc" ;;
	rotated)
		cat "$ROT"/* > /dev/null
		add "portmortem analyze -j 1" "$BYTES" "$PACKETS" findings "$TRUTH" "$PM analyze -q -j 1 -d @DB@ -o /dev/null '$ROT'"
		add "portmortem analyze -j 2" "$BYTES" "$PACKETS" findings "$TRUTH" "$PM analyze -q -j 2 -d @DB@ -o /dev/null '$ROT'"
		row "the mix as $NFILES rotated files (both must give the true findings)" "portmortem analyze -j 1" ;;
	batch)
		[ -s "$BATCH_CAP.gz" ] || pigz -6 -c "$BATCH_CAP" > "$BATCH_CAP.gz"
		cat "$BATCH_CAP" "$BATCH_CAP.gz" "$BATCH_DIR"/* "$BATCH_PLAIN"/* > /dev/null
		bb=$(wc -c < "$BATCH_CAP") bp=$(truth_value "$BATCH_TRUTH" packets)
		# the database a re-run finds: every file already stored
		rm -f "$BATCH_RERUN"*
		"$PM" analyze -q -d "$BATCH_RERUN" -o /dev/null "$BATCH_DIR"
		add "analyze, one file" "$bb" "$bp" findings "$BATCH_TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$BATCH_CAP'"
		# the same packets as one gzipped file: what the half-gzipped set is like without
		# its per-file cost (it inflates half as much)
		add "analyze, one file gzipped" "$bb" "$bp" findings "$BATCH_TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$BATCH_CAP.gz'"
		add "analyze, $BATCH_FILES files" "$bb" "$bp" findings "$BATCH_TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$BATCH_DIR'"
		add "analyze -j 1, $BATCH_FILES files" "$bb" "$bp" findings "$BATCH_TRUTH" "$PM analyze -q -j 1 -d @DB@ -o /dev/null '$BATCH_DIR'"
		add "analyze, $BATCH_FILES files, none gzipped" "$bb" "$bp" findings "$BATCH_TRUTH" "$PM analyze -q -d @DB@ -o /dev/null '$BATCH_PLAIN'"
		add "re-run, $BATCH_FILES files unchanged" "$bb" "$bp" none - "$PM analyze -q -d '$BATCH_RERUN' -o /dev/null '$BATCH_DIR'"
		row "$BATCH_SIZE as one file and as $BATCH_FILES files, half gzipped (target, the per-file cost: the $BATCH_FILES plain files within 2x the one plain file, a ratio of 0.50x or more; the half-gzipped set, which also inflates half the bytes, against the one gzipped file)" "analyze, one file" ;;
	*)
		echo "unknown row $r (BENCH_ROWS: mix small zst gz rotated batch)" >&2; exit 2 ;;
	esac
done

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "tools: $(tcpdump --version 2>&1 | head -n 1), zstd $(zstd -V 2>&1 | sed -n 's/.* v\([0-9.]*\).*/\1/p'), igzip $(igzip --version 2>&1 | head -n 1 | awk '{print $NF}'), $(pigz --version 2>&1 | head -n 1), $("$PM" --version 2>&1 | head -n 1)"
cat "$TABLE"
echo
echo "median of $RUNS runs after a warm-up, page cache hot; ratio: the peer's median over the command's (> 1: faster)."
echo "ground truth: events listed = ICMP errors planted; findings (diagnosis, server, port, errors) = the generator's."
echo "disk used by $BENCH_DIR: $(du -sh "$BENCH_DIR" | cut -f1) (remove with: rm -rf $BENCH_DIR)"
