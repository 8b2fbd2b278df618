#!/usr/bin/env bash
# batch.sh - archives as batch users run them (issue 10, item 8), run by tests/integration.sh
# with the sanitizer build: --files-from, the summary line and -v, re-runs that recognise
# unchanged files without reading them, the directory walk (what is not a capture is skipped
# and counted), the progress line and the SIGUSR1 snapshot, and the scale-out recipes of
# docs/ (GNU parallel, a Slurm job array) against one plain run.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
. tests/tools/harness.sh
S=samples
ROOT=$PWD
captures() { sqlite3 "$1" "SELECT COUNT(*) FROM captures"; }

# An archive: captures at two depths, one gzip, one zstd, and what lies beside real ones.
A="$TMP/archive"
mkdir -p "$A/day1" "$A/day2"
cp $S/dns-closed-v4.pcap $S/udp-scan.pcap "$A/day1/"
cp $S/formats/dns-closed-v6.pcap.zst $S/traceroute.pcap "$A/day2/"
gzip -c $S/dns-restart.pcap >"$A/day2/dns-restart.pcap.gz"
echo "rotated by tcpdump -G 3600" >"$A/notes.txt"
: >"$A/day1/empty.pcap"
printf 'abc' >"$A/day1/tiny"
echo '{"level":"info","msg":"rotated"}' | gzip >"$A/day2/log.json.gz"
echo '{"not":"a capture"}' | zstd -q >"$A/day2/meta.json.zst"
N_CAP=5 N_SKIP=5

# 1. The walk: what is not a capture is skipped and counted, never an error (exit 0).
"$BIN" analyze -d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"; st=$?
check "walk: exit 0 with non-captures beside the captures (got $st)" test $st -eq 0
check "walk: the $N_CAP captures are stored" test "$(captures "$TMP/a.db")" -eq $N_CAP
check "walk: one summary line: 10 files, 5 stored, 5 skipped" \
	grep -qx "portmortem: 10 files: 5 stored, 5 skipped (not captures)" "$TMP/err"
check "walk: nothing else on standard error" test "$(wc -l <"$TMP/err")" -eq 1
"$BIN" analyze -v -d "$TMP/v.db" -o /dev/null "$A" 2>"$TMP/err"
for f in notes.txt day1/empty.pcap day1/tiny day2/log.json.gz day2/meta.json.zst; do
	check "walk -v: $f is named as skipped" grep -q "$f: skipped: " "$TMP/err"
done
check "walk -v: the gzip that is no capture says what it holds" \
	grep -q "log.json.gz: skipped: gzip data, not a pcap or pcapng capture" "$TMP/err"
check "walk -v: a 3-byte file is too short" grep -q "tiny: skipped: 3 bytes" "$TMP/err"
# A file named on the command line that is not a capture is still an error naming it.
for f in notes.txt day1/empty.pcap day2/log.json.gz; do
	"$BIN" analyze -q -d "$TMP/x.db" -o /dev/null "$A/$f" $S/dns-stops.pcap 2>"$TMP/err"; st=$?
	check "named $f: exit 1 (got $st)" test $st -eq 1
	check "named $f: the error names it" grep -q "$A/$f: " "$TMP/err"
done

# 2. The summary line of a re-run: no line per file (-v gives them).
"$BIN" analyze -d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"; st=$?
check "re-run: exit 0 (got $st)" test $st -eq 0
check "re-run: one summary line, nothing per file" grep -qx \
	"portmortem: 10 files: 0 stored, 5 already in the database (unchanged, not read again), 5 skipped (not captures)" "$TMP/err"
check "re-run: one line in all" test "$(wc -l <"$TMP/err")" -eq 1
"$BIN" analyze -v -d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"
check "re-run -v: a line per capture already stored" \
	test "$(grep -c 'already in the database (unchanged file), nothing added' "$TMP/err")" -eq $N_CAP
"$BIN" analyze -q -d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"
check "re-run -q: nothing on standard error" test ! -s "$TMP/err"

# 3. A re-run does not read unchanged files (not even their first bytes); a touched or
# replaced file is read again and identified by its packets.
if command -v strace >/dev/null; then
	# (LeakSanitizer does not work under ptrace)
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o "$TMP/trace" "$BIN" analyze -q \
		-d "$TMP/a.db" -o /dev/null "$A"
	check "re-run: no capture of the archive is opened" sh -c "! grep -E \
		'(dns-closed-v4.pcap|udp-scan.pcap|dns-closed-v6.pcap.zst|traceroute.pcap|dns-restart.pcap.gz)\"' '$TMP/trace'"
	check "re-run: the files that are no captures are still looked at (to count them)" \
		grep -q "\"$A/notes.txt\"" "$TMP/trace"
	touch "$A/day1/udp-scan.pcap"
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o "$TMP/trace" "$BIN" analyze \
		-d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"
	check "touched file: read again" grep -q "\"$A/day1/udp-scan.pcap\"" "$TMP/trace"
	check "touched file: the others are not" \
		sh -c "! grep -q '\"$A/day1/dns-closed-v4.pcap\"' '$TMP/trace'"
	check "touched file: recognised by its packets (nothing added)" grep -qx \
		"portmortem: 10 files: 0 stored, 5 already in the database (4 unchanged, not read again), 5 skipped (not captures)" "$TMP/err"
else
	bad "strace is needed (make test installs it)"
fi
cp $S/dns-stops.pcap "$A/day1/udp-scan.pcap" # same path, other content
"$BIN" analyze -d "$TMP/a.db" -o /dev/null "$A" 2>"$TMP/err"
check "replaced file: stored as the new capture it is" test "$(captures "$TMP/a.db")" -eq $((N_CAP + 1))
cp $S/udp-scan.pcap "$A/day1/udp-scan.pcap"
check "the file identities are in the database" test "$(sqlite3 "$TMP/a.db" \
	"SELECT COUNT(*) FROM capture_files f JOIN captures c USING (content_hash)")" -ge $N_CAP
# With a filter, a file is another capture: the unfiltered identity is not taken for it.
"$BIN" analyze -q -d "$TMP/a.db" --filter udp -o /dev/null "$A/day1/dns-closed-v4.pcap"
check "--filter: the unchanged file is read again under the filter" \
	test "$(sqlite3 "$TMP/a.db" "SELECT COUNT(*) FROM captures WHERE content_hash GLOB '*|filter=udp'")" -eq 1

# 4. --files-from: newline- or NUL-separated (auto-detected), "-" for standard input,
# together with CAPTURE arguments.
printf '%s\n' "$S/dns-closed-v4.pcap" "" "$S/udp-scan.pcap" >"$TMP/list"
"$BIN" analyze -d "$TMP/f.db" -o /dev/null --files-from "$TMP/list" $S/traceroute.pcap 2>"$TMP/err"; st=$?
check "--files-from FILE with an argument: exit 0 (got $st)" test $st -eq 0
check "--files-from FILE with an argument: 3 captures" test "$(captures "$TMP/f.db")" -eq 3
mkdir -p "$TMP/odd"
cp $S/dns-stops.pcap "$TMP/odd/two
lines.pcap"
cp $S/dns-restart.pcap "$TMP/odd/blank name.pcap"
find "$TMP/odd" -type f -print0 | "$BIN" analyze -q -d "$TMP/f.db" -o /dev/null --files-from - 2>"$TMP/err"
st=$?
check "--files-from - (find -print0, a name with a newline): exit 0 (got $st)" test $st -eq 0
check "--files-from - (NUL-separated): both stored" test "$(captures "$TMP/f.db")" -eq 5
# A list is bulk input, as a directory is: what in it is not a capture is skipped and counted.
printf '%s\0' "$A/notes.txt" "$S/dns-closed-v4.pcap" "$A/day2/log.json.gz" >"$TMP/list0"
"$BIN" analyze -d "$TMP/f.db" -o /dev/null --files-from "$TMP/list0" 2>"$TMP/err"; st=$?
check "--files-from: a listed file that is not a capture is skipped, exit 0 (got $st)" test $st -eq 0
check "--files-from: and counted" grep -q "3 files: .*, 2 skipped (not captures)" "$TMP/err"
"$BIN" analyze -q -d "$TMP/f.db" -o /dev/null --files-from - - </dev/null 2>"$TMP/err"; st=$?
check "--files-from - with a capture - : usage error (got $st)" test $st -eq 2
"$BIN" analyze -q -d "$TMP/f.db" -o "$TMP/f.txt" --files-from "$TMP/nothere" 2>"$TMP/err"; st=$?
check "--files-from a missing list: exit 1 (got $st), named" \
	sh -c "[ $st -eq 1 ] && grep -q 'nothere' '$TMP/err'"
check "--files-from a missing list: no report" test ! -s "$TMP/f.txt"

# 4b. Past one machine (docs/parallel.sh, docs/slurm-array.sh): shards of an archive analyzed
# into their own databases and merged give the findings of one plain run (labels, targets,
# error counts). The archive: samples/ (its captures, and the expected files beside them,
# which are skipped).
findings() { sqlite3 -separator ' ' "$1" "SELECT diagnosis, server_ip, server_port, errors
	FROM findings ORDER BY 1, 2, 3, 4"; }
"$BIN" analyze -q -d "$TMP/plain.db" -o /dev/null $S
findings "$TMP/plain.db" >"$TMP/plain.txt"
check "scale-out: the plain run has findings to compare" test "$(wc -l <"$TMP/plain.txt")" -ge 10
if command -v parallel >/dev/null; then
	W="$TMP/shards"
	PORTMORTEM="$ROOT/$BIN" bash docs/parallel.sh -j 2 -s 4 -w "$W" $S "$TMP/par.db" -o /dev/null \
		2>"$TMP/err"; st=$?
	check "parallel.sh: exit 0 (got $st)" test $st -eq 0
	check "parallel.sh: 4 shards in the joblog, all exit 0" \
		test "$(awk -F'\t' 'NR > 1 && $7 == 0' "$W/joblog" | wc -l)" -eq 4
	check "parallel.sh: merged findings = one plain run" diff <(findings "$TMP/par.db") "$TMP/plain.txt"
	# A shard that fails (its database cannot be written the first time) is run again, alone,
	# by --resume-failed; the merge then equals the plain run.
	rm -rf "$W" "$TMP/par.db"*
	cat >"$TMP/flaky" <<EOF2
#!/bin/sh
case "\$*" in *list.0002*) [ -e "$TMP/flaky.done" ] || { touch "$TMP/flaky.done"; exit 3; } ;; esac
exec "$ROOT/$BIN" "\$@"
EOF2
	chmod +x "$TMP/flaky"
	PORTMORTEM="$TMP/flaky" bash docs/parallel.sh -j 2 -s 4 -w "$W" $S "$TMP/par.db" -o /dev/null \
		2>"$TMP/err"; st=$?
	check "parallel.sh: a failed shard: exit 1 (got $st), named in the joblog" \
		sh -c "[ $st -eq 1 ] && awk -F'\t' '\$7 == 3' '$W/joblog' | grep -q list.0002"
	check "parallel.sh: a failed shard: says to resume" grep -q -- "--resume-failed" "$TMP/err"
	rm -f "$TMP/par.db"*
	PORTMORTEM="$TMP/flaky" bash docs/parallel.sh --resume-failed -j 2 -s 4 -w "$W" $S "$TMP/par.db" \
		-o /dev/null 2>"$TMP/err"; st=$?
	check "parallel.sh --resume-failed: exit 0 (got $st)" test $st -eq 0
	check "parallel.sh --resume-failed: only the failed shard ran again" \
		test "$(awk -F'\t' 'NR > 1' "$W/joblog" | wc -l)" -eq 5
	check "parallel.sh --resume-failed: merged findings = one plain run" \
		diff <(findings "$TMP/par.db") "$TMP/plain.txt"
	check "parallel.sh documents --joblog, --resume-failed and --sshloginfile" \
		sh -c "grep -q -- --joblog docs/parallel.sh && grep -q -- --resume-failed docs/parallel.sh && grep -q -- --sshloginfile docs/parallel.sh"
else
	bad "GNU parallel is needed (make test installs it)"
fi
check "slurm-array.sh: bash -n" bash -n docs/slurm-array.sh
W="$TMP/slurm"
for k in 0 1 2; do
	SLURM_ARRAY_TASK_ID=$((k + 5)) SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=3 \
		PORTMORTEM="$ROOT/$BIN" bash docs/slurm-array.sh $S "$W" >/dev/null 2>"$TMP/err"; st=$?
	check "slurm-array.sh: task $k of 3 exits 0 (got $st)" test $st -eq 0
done
check "slurm-array.sh: the 3 slices cover every file of the archive once" \
	diff <(cat "$W"/list.0 "$W"/list.1 "$W"/list.2 | tr '\0' '\n') <(find $S -type f | LC_ALL=C sort)
PORTMORTEM="$ROOT/$BIN" bash docs/slurm-array.sh --merge $S "$W" -o /dev/null 2>"$TMP/err"; st=$?
check "slurm-array.sh --merge: exit 0 (got $st)" test $st -eq 0
check "slurm-array.sh --merge: findings = one plain run" diff <(findings "$W/all.db") "$TMP/plain.txt"
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=3 PORTMORTEM="$ROOT/$BIN" bash docs/slurm-array.sh \
	$S "$W" >/dev/null 2>&1
check "slurm-array.sh: a task outside the array is refused (exit 2)" test $? -eq 2

# 5. The schema of the file identities: committed databases of older versions upgrade.
for v in 1 2; do
	cp tests/captures/v$v-two-samples.db "$TMP/old$v.db"
	"$BIN" analyze -q -d "$TMP/old$v.db" -o /dev/null $S/dns-closed-v4.pcap; st=$?
	check "version-$v database: analyzed after the upgrade (exit $st)" test $st -eq 0
	check "version-$v database: a capture_files table" \
		test "$(sqlite3 "$TMP/old$v.db" "SELECT COUNT(*) FROM capture_files")" -eq 1
done

# 6. Progress: a SIGUSR1 snapshot at any time (here while the input stalls in a FIFO), and
# a progress line for one large file on a terminal.
mkfifo "$TMP/fifo"
"$BIN" analyze -q -d "$TMP/p.db" -o /dev/null "$TMP/fifo" 2>"$TMP/usr1" &
pid=$!
(head -c 300000 $S/dns-restart.pcap; cat $S/dns-restart.pcap >/dev/null; exec sleep 30) >"$TMP/fifo" &
feeder=$!
sleep 2
kill -USR1 $pid
sleep 1
check "SIGUSR1: the process is still running" kill -0 $pid
kill -USR1 $pid
sleep 1
kill $feeder 2>/dev/null
wait $pid; st=$?
check "SIGUSR1: the run still finishes (exit $st)" test $st -eq 0
check "SIGUSR1: a snapshot line per signal" test "$(grep -c '^portmortem: progress: 0 of 1 captures done' "$TMP/usr1")" -eq 2
check "SIGUSR1: it names the file being read and the bytes read" \
	grep -q "reading $TMP/fifo: 0\.[0-9] MB read" "$TMP/usr1"
if [ -x build/gen-capture ] && command -v script >/dev/null; then
	# gzip-compressed, so that reading it lasts past the first second of the line
	build/gen-capture --bytes 300M --seed 5 -q -o - | gzip -1 >"$TMP/big.pcap.gz"
	size=$(awk -v b="$(wc -c <"$TMP/big.pcap.gz")" 'BEGIN { printf "%.1f", b / 1e6 }')
	# the line from the start: a fast machine reads the file in well under a second
	script -qec "PORTMORTEM_PROGRESS_AFTER=0 '$ROOT/$BIN' analyze -j 1 -d '$TMP/big.db' -o /dev/null '$TMP/big.pcap.gz'" \
		/dev/null </dev/null >"$TMP/tty" 2>&1
	check "progress line on a terminal: bytes of the size ($size MB), percent and rate" \
		grep -aqE "big.pcap.gz: [0-9.]+ MB of $size MB \([0-9]+%\), [0-9.]+ MB/s" "$TMP/tty"
	"$BIN" analyze -d "$TMP/big2.db" -o /dev/null "$TMP/big.pcap.gz" 2>"$TMP/err"
	check "no progress line when standard error is not a terminal" sh -c "! grep -q 'MB/s' '$TMP/err'"
	rm -f "$TMP/big.pcap.gz"
fi

# 7. Many captures in one run: a lone worker stores them in one transaction (a savepoint each),
# several workers copy what they stored in batches. Among them a capture cut short, one with
# the same packets as another, and a file that is no capture: every capture is stored once,
# the cut one is named, and -j 1 and -j 2 give the same report, byte for byte (a finding's
# first events are chosen by time, not by the order the workers stored the captures in).
M="$TMP/many"
mkdir -p "$M"
cp $S/*.pcap "$M/"
n_many=$(ls $S/*.pcap | wc -l)
head -c 20000 $S/media-hangup.pcap >"$M/zz-cut.pcap"
cp $S/dns-closed-v4.pcap "$M/copy-of-dns-closed-v4.pcap"
echo "not a capture" >"$M/fake.pcap"
for j in 1 2; do
	"$BIN" analyze -q -j $j -d "$TMP/many$j.db" -f json -o "$TMP/many$j.json" "$M" 2>"$TMP/err$j"
	st=$?
	check "many captures, -j $j: exit 1 for the capture cut short (got $st)" test $st -eq 1
	check "many captures, -j $j: the cut capture is named" grep -q "zz-cut.pcap" "$TMP/err$j"
	check "many captures, -j $j: every capture stored once ($n_many and the cut one)" \
		test "$(captures "$TMP/many$j.db")" -eq $((n_many + 1))
	grep -v '"generated"' "$TMP/many$j.json" >"$TMP/many$j.cmp"
done
check "many captures: -j 1 and -j 2 give the same JSON report" cmp "$TMP/many1.cmp" "$TMP/many2.cmp"
# the cut capture is a part of media-hangup.pcap (the same packets, seen twice), the copy is
# recognised: the findings are those of the samples alone (label, server, port, errors)
keyed() { sqlite3 "$1" "SELECT diagnosis, server_ip, server_port, errors FROM findings ORDER BY 2, 3, 1"; }
"$BIN" analyze -q -d "$TMP/samples-only.db" -o /dev/null $S/*.pcap 2>/dev/null
check "many captures: the findings of the samples alone" \
	diff <(keyed "$TMP/many2.db") <(keyed "$TMP/samples-only.db")

echo "batch: $pass passed, $fail failed"
[ $fail -eq 0 ]
