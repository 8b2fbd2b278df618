#!/usr/bin/env bash
# integration.sh - the pipeline on real captures, run by `make test` with the sanitizer build:
# events against tshark's reading, findings against each sample's expected labels, the corpus
# without a crash, idempotence, merge, exit statuses, compressed and standard input; it runs
# tests/reports.sh, tests/report-views.sh, tests/robust.sh (issue 11), tests/batch.sh,
# tests/tshark-agree.sh, tests/cli.sh and tests/kb-text.sh.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. tests/tools/harness.sh

# 1. Events agree with tshark on every sample and holdout capture (references committed).
for ref in samples/expected/*.ref samples/formats/expected/*.ref samples/twopoint/expected/*.ref \
	tests/holdout/expected/*.ref tests/holdout/formats/expected/*.ref \
	tests/holdout/twopoint/expected/*.ref; do
	[ -f "$ref" ] || continue
	dir=$(dirname "$(dirname "$ref")")
	cap="$dir/$(basename "$ref" .ref)"
	if diff <(our_ref "$cap") "$ref" >"$TMP/diff"; then ok; else
		bad "events of $cap differ from tshark's"; head -20 "$TMP/diff"; fi
done

# 2. Findings: each capture alone gets its expected labels. DIR/expected/DIR.labels in a
# subdirectory (twopoint/expected/twopoint.labels) holds the findings of all of DIR's captures
# together.
findings_of() { # DB -> "diagnosis<TAB>server_ip<TAB>server_port<TAB>secondary"
	sqlite3 -separator $'\t' "$1" "SELECT diagnosis, server_ip, server_port,
		CASE WHEN secondary = '[]' THEN '-' ELSE (SELECT group_concat(value, ',')
		FROM (SELECT value FROM json_each(secondary) ORDER BY value)) END
		FROM findings ORDER BY 1, 2, 3"
}
for labels in samples/expected/*.labels samples/twopoint/expected/*.labels \
	tests/holdout/expected/*.labels tests/holdout/twopoint/expected/*.labels \
	tests/captures/expected/*.labels; do
	[ -f "$labels" ] || continue
	dir=$(dirname "$(dirname "$labels")")
	name=$(basename "$labels" .labels)
	cap=$(ls "$dir/$name".pcap* 2>/dev/null | head -1)
	if [ -z "$cap" ] && [ "$name" = "$(basename "$dir")" ]; then
		cap=$(ls "$dir"/*.pcap* 2>/dev/null) # the directory's captures together
	fi
	[ -n "$cap" ] || { bad "no capture for $labels"; continue; }
	rm -f "$TMP/one.db"*
	# shellcheck disable=SC2086 # several captures for a directory's combined labels
	"$BIN" analyze -q --db "$TMP/one.db" -f json -o "$TMP/one.json" $cap 2>"$TMP/err"
	st=$?
	[ $st -eq 0 ] || { bad "analyze $cap exited $st"; cat "$TMP/err"; continue; }
	if diff <(findings_of "$TMP/one.db") <(sort "$labels") >"$TMP/diff"; then ok; else
		bad "findings of $cap"; cat "$TMP/diff"; fi
	check "json of $cap is valid" sqlite3 :memory: "SELECT CASE WHEN json_valid(readfile('$TMP/one.json')) THEN 0 ELSE abs(-9223372036854775807-1) END"
done

# 2b. Two capture points of one outage (samples/twopoint/: client side and server side, the
# same 6 refused DNS queries). Analysed together they must count each ICMP error once:
# expected `errors|requests` = 6|6, NOT 12|12 (SPEC §6 "One packet is one event"), and the
# finding names both capture points.
{
	rm -f "$TMP/tp.db"*
	"$BIN" analyze -q -d "$TMP/tp.db" -o /dev/null samples/twopoint/*.pcap 2>"$TMP/err"
	check "twopoint: analyze exits 0" test $? -eq 0
	got=$(sqlite3 "$TMP/tp.db" "SELECT errors, requests FROM findings")
	check "twopoint: client + server capture count 6 errors and 6 requests (6|6), not 12 (got ${got//$'\n'/ })" \
		test "$got" = "6|6"
	check "twopoint: the finding names both capture points" test "$(sqlite3 "$TMP/tp.db" \
		"SELECT json_array_length(capture_points) FROM findings")" = 2
	if [ -d tests/holdout/twopoint ]; then # the hold-out pair: 5 queries
		rm -f "$TMP/tp.db"*
		"$BIN" analyze -q -d "$TMP/tp.db" -o /dev/null tests/holdout/twopoint/*.pcap 2>"$TMP/err"
		got=$(sqlite3 "$TMP/tp.db" "SELECT errors, requests FROM findings")
		check "holdout twopoint: 5 errors and 5 requests (5|5), not 10 (got ${got//$'\n'/ })" \
			test "$got" = "5|5"
	fi
}

# 3. Whole sample set: re-running adds nothing; merge of two shards equals one run.
"$BIN" analyze -q --db "$TMP/all.db" -f json -o "$TMP/all1.json" samples 2>"$TMP/err"
check "analyze samples/" test $? -eq 0
"$BIN" analyze -q --db "$TMP/all.db" -f json -o "$TMP/all2.json" samples 2>"$TMP/err"
check "re-run changes no finding" cmp "$TMP/all1.json" "$TMP/all2.json"
# samples/formats/ holds the same packets in other formats: one capture each (SPEC §8).
check "re-run adds no capture; format copies add nothing" \
	test "$(sqlite3 "$TMP/all.db" 'SELECT COUNT(*) FROM captures')" \
	-eq "$(find samples -path '*/formats' -prune -o -type f -name '*.pcap' -print | wc -l)"
find samples -path '*/expected' -prune -o -type f -name '*.pcap*' -print | sort >"$TMP/caps.list"
awk 'NR % 2' "$TMP/caps.list" >"$TMP/a.list"
awk 'NR % 2 == 0' "$TMP/caps.list" >"$TMP/b.list"
"$BIN" analyze -q --db "$TMP/a.db" -o /dev/null $(cat "$TMP/a.list") 2>/dev/null
"$BIN" analyze -q --db "$TMP/b.db" -o /dev/null $(cat "$TMP/b.list") 2>/dev/null
"$BIN" merge -q --db "$TMP/m.db" -f json -o "$TMP/merged.json" "$TMP/a.db" "$TMP/b.db"
check "merge exits 0" test $? -eq 0
"$BIN" report -q --db "$TMP/m.db" -f json -o "$TMP/merged2.json"
check "report over merged db is stable" cmp "$TMP/merged.json" "$TMP/merged2.json"
check "merged findings equal one run's" diff <(findings_of "$TMP/m.db") <(findings_of "$TMP/all.db")
"$BIN" analyze -q --db "$TMP/two.db" -o /dev/null $(cat "$TMP/a.list") 2>/dev/null
"$BIN" analyze -q --db "$TMP/two.db" -o /dev/null $(cat "$TMP/b.list") 2>/dev/null
# (each run reports on its own captures; the database's report covers both: report only
# reads, so compare what it reports)
report_findings() { "$BIN" report -q --db "$1" -f json 2>/dev/null | python3 -c 'import json, sys
for f in sorted(json.load(sys.stdin)["findings"], key=lambda f: (f["diagnosis"], f["server_ip"], f["server_port"])):
    print(f["diagnosis"], f["server_ip"], f["server_port"], ",".join(sorted(f["secondary"])) or "-", f["errors"])'; }
check "two runs into one database equal one run" diff <(report_findings "$TMP/two.db") <(report_findings "$TMP/all.db")
check "-o /dev/null leaves /dev/null a device" test -c /dev/null
mkfifo "$TMP/report.fifo"
cat "$TMP/report.fifo" >"$TMP/fifo.out" &
"$BIN" report -q --db "$TMP/all.db" -f json -o "$TMP/report.fifo"
wait
check "-o FIFO: the report goes through the FIFO" cmp "$TMP/fifo.out" "$TMP/all1.json"
check "-o FIFO: the FIFO stays a FIFO" test -p "$TMP/report.fifo"

# 3b. A rotated archive: the restart capture cut into three files (before, during and after
# the outage) still gives one service-restarted finding with its outage window.
python3 - samples/dns-restart.pcap "$TMP/rot" <<'PY'
import struct, sys, os
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
data = open(src, "rb").read()
head, recs, off = data[:24], [], 24
while off + 16 <= len(data):
    n = struct.unpack("<I", data[off + 8:off + 12])[0]
    recs.append(data[off:off + 16 + n])
    off += 16 + n
cut = [0, len(recs) // 3, 2 * len(recs) // 3, len(recs)]
for i in range(3):
    with open(os.path.join(out, "part%d.pcap" % i), "wb") as f:
        f.write(head + b"".join(recs[cut[i]:cut[i + 1]]))
PY
"$BIN" analyze -q --db "$TMP/rot.db" -o /dev/null "$TMP/rot" 2>/dev/null
check "rotated archive: three captures stored" test "$(sqlite3 "$TMP/rot.db" 'SELECT COUNT(*) FROM captures')" -eq 3
check "rotated archive: same findings as the whole capture" diff <(findings_of "$TMP/rot.db") <(sort samples/expected/dns-restart.labels)
check "rotated archive: outage window across files" test "$(sqlite3 "$TMP/rot.db" \
	"SELECT outage_start_ns IS NOT NULL AND outage_end_ns IS NOT NULL FROM findings")" = 1

# 3c. Split invariance and one event per packet (SPEC §6, §8), on a generated capture with
# its ground truth: one file, 12 rotated files and 60 give the same findings and counts of
# errors; the same capture again gzip-compressed adds nothing. (Secondary labels are not
# compared: an answer whose request sits in the previous file cannot be timed.)
GEN=build/gen-capture
if [ -x "$GEN" ] && command -v editcap >/dev/null; then
	"$GEN" -q --packets 120000 --seed 11 --truth "$TMP/gen.tsv" -o "$TMP/gen.pcap"
	mkdir -p "$TMP/g12" "$TMP/g60"
	editcap -F pcap -c 10000 "$TMP/gen.pcap" "$TMP/g12/g.pcap" >/dev/null 2>&1
	editcap -F pcap -c 2000 "$TMP/gen.pcap" "$TMP/g60/g.pcap" >/dev/null 2>&1
	keyed() { sqlite3 -separator $'\t' "$1" "SELECT diagnosis, server_ip, server_port, errors
		FROM findings ORDER BY 2, 3"; }
	"$BIN" analyze -q --db "$TMP/g1.db" -o /dev/null "$TMP/gen.pcap" 2>/dev/null
	check "generated capture: findings equal the ground truth" diff <(keyed "$TMP/g1.db") \
		<(grep -v '^#' "$TMP/gen.tsv" | awk -F'\t' 'NR > 1 { print $1 "\t" $3 "\t" $4 "\t" $7 }' | LC_ALL=C sort -t$'\t' -k2,2 -k3,3)
	for n in 12 60; do
		"$BIN" analyze -q -j 2 --db "$TMP/g$n.db" -o /dev/null "$TMP/g$n" 2>/dev/null
		check "generated capture as $(ls "$TMP/g$n" | wc -l) files: same findings" \
			diff <(keyed "$TMP/g1.db") <(keyed "$TMP/g$n.db")
	done
	gzip -c "$TMP/gen.pcap" >"$TMP/gen.pcap.gz"
	"$BIN" analyze -q --db "$TMP/g1.db" -o /dev/null "$TMP/gen.pcap.gz" 2>/dev/null
	check "the same capture gzipped adds nothing" \
		test "$(sqlite3 "$TMP/g1.db" 'SELECT COUNT(*) FROM captures')" -eq 1
	check "evidence never contradicts the counts (samples, generated)" \
		python3 tests/tools/evidence-check.py "$TMP/all.db" "$TMP/g1.db" "$TMP/g12.db" "$TMP/g60.db"
else
	echo "skipped: split invariance (needs build/gen-capture and editcap)"
fi

# 3d. Real captures made by others (../shared/realworld, never copied here): each gets the
# reading an expert gives (tests/realworld/README.md says why).
if have_shared "$REALWORLD" "$(cut -f1 tests/realworld/expected.tsv | sort -u | wc -l) real captures: the expert's reading"; then
	for f in $(cut -f1 tests/realworld/expected.tsv | sort -u); do
		rm -f "$TMP/rw.db"*
		"$BIN" analyze -q --db "$TMP/rw.db" -o /dev/null "$REALWORLD/$f" 2>/dev/null
		check "real capture $f: the expert's reading" diff <(findings_of "$TMP/rw.db") \
			<(awk -F'\t' -v f="$f" '$1 == f { print $2 "\t" $3 "\t" $4 "\t" $5 }' \
			tests/realworld/expected.tsv | sort)
		check "real capture $f: evidence never contradicts the counts" \
			python3 tests/tools/evidence-check.py "$TMP/rw.db"
	done
fi

# 3e. A database made by the previous release (schema version 1, tests/captures/
# v1-two-samples.db: dns-restart and dns-closed-v4 analyzed by it) is upgraded in place: its
# captures are still recognised, a compressed copy of one adds no error, findings hold.
cp tests/captures/v1-two-samples.db "$TMP/v1.db"
"$BIN" analyze -q --db "$TMP/v1.db" -o /dev/null samples/dns-restart.pcap samples/dns-closed-v4.pcap \
	samples/formats/dns-closed-v4.pcap.gz 2>/dev/null
check "version-1 database: upgraded to the current version (8)" test "$(sqlite3 "$TMP/v1.db" 'PRAGMA user_version')" = 8
check "version-1 database: the indexes later versions retired are gone, the others kept" \
	test "$(sqlite3 "$TMP/v1.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema
	WHERE type = 'index' AND sql IS NOT NULL ORDER BY name)")" = \
	"captures_size events_capture events_finding host_ttls_ip"
check "version-1 database: keeps its 4 KiB pages (a new database gets 16 KiB ones)" \
	test "$(sqlite3 "$TMP/v1.db" 'PRAGMA page_size')" = 4096
check "version-1 database: its captures are recognised (the .gz copy is the only one added)" \
	test "$(sqlite3 "$TMP/v1.db" 'SELECT COUNT(*) FROM captures')" = 3
check "version-1 database: findings and errors as before" test "$(sqlite3 "$TMP/v1.db" \
	"SELECT group_concat(diagnosis || ' ' || server_ip || ' ' || errors, ', ') FROM (SELECT *
	FROM findings ORDER BY server_ip)")" = "service-down 192.0.2.53 5, service-restarted 192.0.2.83 7"

# 3f. Scope (SPEC §4): analyze reports on the captures named in this run only. Two tickets in
# one database do not leak into each other: ticket B (the outage part of the restart capture)
# reads the same alone and after ticket A (the part where the server still answered).
"$BIN" analyze -q --db "$TMP/tb.db" -o "$TMP/tb-alone.txt" "$TMP/rot/part1.pcap" 2>/dev/null
"$BIN" analyze -q --db "$TMP/tab.db" -o /dev/null "$TMP/rot/part0.pcap" 2>/dev/null
"$BIN" analyze -q --db "$TMP/tab.db" -o "$TMP/tb-after.txt" "$TMP/rot/part1.pcap" 2>/dev/null
check "scope: ticket B's report is the same alone and after ticket A" cmp "$TMP/tb-alone.txt" "$TMP/tb-after.txt"
check "scope: report covers the whole database" \
	grep -q "^portmortem .* 2 captures" <("$BIN" report -q --db "$TMP/tab.db" 2>/dev/null)
check "scope: an already analyzed capture again reports on itself only" \
	grep -q "^portmortem .* 1 capture," <("$BIN" analyze -q --db "$TMP/tab.db" "$TMP/rot/part0.pcap" 2>/dev/null)

# 3g. -d :memory: analyzes without keeping a database (SPEC §4).
mkdir -p "$TMP/memtmp"
TMPDIR="$TMP/memtmp" "$BIN" analyze -q -d :memory: -f json -o "$TMP/mem.json" samples/dns-closed-v4.pcap 2>"$TMP/err"
check "-d :memory: exits 0 and reports" grep -q '"diagnosis": *"service-down"' "$TMP/mem.json"
check "-d :memory: leaves no database behind" test -z "$(ls -A "$TMP/memtmp")"
check "-d :memory: writes no ./:memory: file" test ! -e ":memory:"

# 3h. A database made before the identity moved to XXH3 (schema version 2, tests/captures/
# v2-two-samples.db: the same two samples analyzed by commit 9cd857b) is upgraded to 4: its
# identities become "pkt1:..." and are still matched (the legacy packet hash is computed
# because such rows exist), so neither sample nor a gzip copy of one is stored again.
cp tests/captures/v2-two-samples.db "$TMP/v2.db"
"$BIN" analyze -q --db "$TMP/v2.db" -o /dev/null samples/dns-restart.pcap samples/dns-closed-v4.pcap \
	samples/formats/dns-closed-v4.pcap.gz 2>/dev/null
check "version-2 database: upgraded to version 8" test "$(sqlite3 "$TMP/v2.db" 'PRAGMA user_version')" = 8
check "version-2 database: identities marked pkt1:" test "$(sqlite3 "$TMP/v2.db" \
	"SELECT COUNT(*) FROM captures WHERE content_hash GLOB 'pkt1:*'")" = 2
check "version-2 database: its captures are recognised, the .gz copy too (nothing added)" \
	test "$(sqlite3 "$TMP/v2.db" 'SELECT COUNT(*) FROM captures')" = 2
check "version-2 database: findings and errors as before" test "$(sqlite3 "$TMP/v2.db" \
	"SELECT group_concat(diagnosis || ' ' || server_ip || ' ' || errors, ', ') FROM (SELECT *
	FROM findings ORDER BY server_ip)")" = "service-down 192.0.2.53 5, service-restarted 192.0.2.83 7"
"$BIN" analyze -q --db "$TMP/v3.db" -o /dev/null samples/dns-restart.pcap 2>/dev/null
check "a new database stores XXH3 identities (32 hex digits, no tag)" test "$(sqlite3 "$TMP/v3.db" \
	"SELECT COUNT(*) FROM captures WHERE content_hash GLOB '[0-9a-f]*' AND length(content_hash) = 32")" = 1
check "a new database has 16 KiB pages" test "$(sqlite3 "$TMP/v3.db" 'PRAGMA page_size')" = 16384

# 3i. --sha256: each capture file's SHA-256 as stored, the same as sha256sum's, in the
# database and in every report format's capture list.
sha_files="samples/dns-restart.pcap samples/formats/dns-closed-v4.pcap.gz samples/formats/dns-closed-v6.pcap.zst"
# shellcheck disable=SC2086
"$BIN" analyze -q --sha256 --db "$TMP/sha.db" -o /dev/null $sha_files 2>/dev/null
# shellcheck disable=SC2086
check "--sha256: the database holds sha256sum's digest of every file" test \
	"$(sqlite3 -separator '  ' "$TMP/sha.db" 'SELECT sha256, path FROM captures ORDER BY path')" = \
	"$(sha256sum $sha_files | sort -k2)"
"$BIN" analyze -q --sha256 --db "$TMP/sha-stdin.db" -o /dev/null - <samples/formats/dns-closed-v4.pcap.gz 2>/dev/null
check "--sha256: standard input too" test "$(sqlite3 "$TMP/sha-stdin.db" 'SELECT sha256 FROM captures')" = \
	"$(sha256sum <samples/formats/dns-closed-v4.pcap.gz | cut -d' ' -f1)"
want=$(sha256sum samples/dns-restart.pcap | cut -d' ' -f1)
for fmt in text html json; do
	"$BIN" report --db "$TMP/sha.db" -f "$fmt" -o "$TMP/sha.$fmt" 2>/dev/null
	check "--sha256: the $fmt report shows it" grep -q "$want" "$TMP/sha.$fmt"
done
# CSV: the per-finding rows have no capture list; the per-event rows name their capture.
"$BIN" report --db "$TMP/sha.db" -f csv --events -o "$TMP/sha.csv" 2>/dev/null
check "--sha256: csv --events has a capture_sha256 column" test "$(python3 -c 'import csv,sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(sorted({r["capture_sha256"] for r in rows if r["capture"].endswith("restart.pcap")})[0])' "$TMP/sha.csv")" = "$want"
check "--sha256: json field captures[].sha256" test "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(sorted(c["sha256"] for c in d["captures"] if c["path"].endswith("restart.pcap"))[0])' "$TMP/sha.json")" = "$want"
"$BIN" analyze -q --db "$TMP/nosha.db" -f json -o "$TMP/nosha.json" samples/dns-restart.pcap 2>/dev/null
check "without --sha256: json sha256 is null" test "$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["captures"][0]["sha256"])' "$TMP/nosha.json")" = None

# 4. Formats and inputs: gzip, zstd, pcapng and stdin give the same events as the plain file.
plain=$(our_ref samples/dns-closed-v4.pcap)
check "stdin" test "$(our_ref - <samples/dns-closed-v4.pcap)" = "$plain"
check "gzip" test "$(our_ref samples/formats/dns-closed-v4.pcap.gz)" = "$plain"
check "pcapng" test "$(our_ref samples/formats/dns-closed-v4.pcapng)" = "$plain"
check "json events are valid" sh -c "'$BIN' events -f json samples/formats/dns-closed-v6.pcap.zst |
	while read -r l; do sqlite3 :memory: \"SELECT json_valid('\$(printf %s \"\$l\" | sed \"s/'/''/g\")')\"; done | grep -qv 1 && exit 1 || exit 0"

# 5. Exit statuses (SPEC §4).
"$BIN" events "$TMP/missing.pcap" >/dev/null 2>"$TMP/err"; st=$?
check "missing file exits 1" test $st -eq 1
check "missing file is named" grep -q missing.pcap "$TMP/err"
"$BIN" --no-such-option >/dev/null 2>&1; check "usage error exits 2" test $? -eq 2
head -c 3000 samples/dns-restart.pcap >"$TMP/cut.pcap"
"$BIN" analyze -q --db "$TMP/cut.db" -o /dev/null "$TMP/cut.pcap" samples/dns-closed-v4.pcap 2>"$TMP/err"; st=$?
check "truncated capture exits 1" test $st -eq 1
check "truncated capture is named with a packet count" grep -q "cut.pcap.*packet" "$TMP/err"
check "the rest of the batch is stored" test "$(sqlite3 "$TMP/cut.db" 'SELECT COUNT(*) FROM captures')" -eq 2

# An empty directory: nothing to analyze, said so, exit 0 (SPEC §4: done), no sanitizer report.
mkdir "$TMP/empty"
"$BIN" analyze --db "$TMP/empty.db" -o /dev/null "$TMP/empty" 2>"$TMP/err"; st=$?
check "empty directory: analyze exits 0 (got $st)" test $st -eq 0
check "empty directory: says there was nothing to analyze" grep -q "no capture file found" "$TMP/err"
check "empty directory: no sanitizer report" sh -c "! grep -E 'runtime error|Sanitizer' '$TMP/err'"

# 5b. An interrupted run leaves the database as it was before that capture; memory stays
# bounded. A generated capture large enough to be killed in the middle of.
GEN=build/gen-capture
if [ -x "$GEN" ]; then
	"$GEN" --bytes 400M --seed 3 -q -o "$TMP/big.pcap"
	"$BIN" analyze -q --db "$TMP/kill.db" -o /dev/null samples/dns-closed-v4.pcap 2>/dev/null
	before=$(sqlite3 "$TMP/kill.db" 'SELECT COUNT(*) || "/" || (SELECT COUNT(*) FROM events) FROM captures')
	# The capture comes through a FIFO that stalls half-way: the kill lands mid-capture.
	mkfifo "$TMP/fifo"
	"$BIN" analyze -q --db "$TMP/kill.db" -o /dev/null "$TMP/fifo" 2>/dev/null &
	pid=$!
	(head -c 60000000 "$TMP/big.pcap"; exec sleep 60) >"$TMP/fifo" &
	feeder=$!
	sleep 3
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	kill $feeder 2>/dev/null
	wait $feeder 2>/dev/null
	check "killed run: database intact" test "$(sqlite3 "$TMP/kill.db" 'PRAGMA integrity_check')" = ok
	check "killed run: nothing half-stored" test \
		"$(sqlite3 "$TMP/kill.db" 'SELECT COUNT(*) || "/" || (SELECT COUNT(*) FROM events) FROM captures')" = "$before"
	/usr/bin/time -f %M -o "$TMP/rss" ./portmortem analyze -q --db "$TMP/rss.db" -o /dev/null "$TMP/big.pcap"
	check "400 MB capture analyzed in under 200 MB of memory ($(cat "$TMP/rss") KB)" test "$(tail -1 "$TMP/rss")" -lt 204800
fi

# 6. Every corpus file: no crash, no hang, no sanitizer report; exit 0 or 1. The corpus
# ($CORPUS, ../shared/corpus) holds every file tests/corpus-ref/corpus.list names.
if have_shared "$CORPUS" "$(grep -c . "$CORPUS_LIST") corpus captures: no crash, libpcap refusals"
then
	corpus_files >"$TMP/corpus"
	cut -c$((${#CORPUS} + 2))- "$TMP/corpus" |
		LC_ALL=C comm -23 "$CORPUS_LIST" - >"$TMP/corpus.missing"
	check "$CORPUS holds every file of $CORPUS_LIST" sh -c "! grep . '$TMP/corpus.missing'"
	: >"$TMP/corpus.bad"
	xargs -P 2 -I{} sh -c 'timeout 20 "$0" events -f json "$1" >/dev/null 2>&1;
		st=$?; [ $st -le 1 ] || echo "$1 exit $st" >>"$2"' "$BIN" {} "$TMP/corpus.bad" <"$TMP/corpus"
	n=$(wc -l <"$TMP/corpus")
	if [ -s "$TMP/corpus.bad" ]; then bad "corpus: $(wc -l <"$TMP/corpus.bad") of $n files"; head "$TMP/corpus.bad"
	else ok; echo "corpus: $n files, no crash"; fi
	# The whole job on each file alone (-j 1): a plain pcap is read on a second thread
	# (analyzer/scan.c) where a core is free; no sanitizer report, exit 0 or 1.
	: >"$TMP/corpus.bad"
	xargs -P 2 -I{} sh -c 'timeout 30 "$0" analyze -q -j 1 -d :memory: -f json -o /dev/null "$1" \
		>/dev/null 2>"$2.$$"; st=$?
		if [ $st -gt 1 ] || grep -qE "runtime error|Sanitizer" "$2.$$"; then echo "$1 exit $st" >>"$2"; fi
		rm -f "$2.$$"' "$BIN" {} "$TMP/corpus.bad" <"$TMP/corpus"
	if [ -s "$TMP/corpus.bad" ]; then bad "corpus, analyze: $(wc -l <"$TMP/corpus.bad") of $n files"; head "$TMP/corpus.bad"
	else ok; echo "corpus: $n files through analyze -j 1, no crash, no sanitizer report"; fi
	for f in "$CORPUS"/libpcap/*.pcap*; do
		[ "$(basename "$f")" = linktype-reserved-field-not-zero.pcap ] && continue
		"$BIN" events "$f" >/dev/null 2>"$TMP/err"; st=$?
		check "libpcap reject file $(basename "$f") exits 1 with a message" \
			sh -c "[ $st -eq 1 ] && grep -q '$(basename "$f")' '$TMP/err'"
	done
fi

if BIN="$BIN" bash tests/reports.sh; then ok; else bad "report tests (tests/reports.sh)"; fi
if BIN="$BIN" bash tests/report-views.sh; then ok; else bad "report views: packets, order, filters (tests/report-views.sh)"; fi
if BIN="$BIN" bash tests/robust.sh; then ok; else bad "robustness tests (tests/robust.sh)"; fi
if BIN="$BIN" bash tests/batch.sh; then ok; else bad "batch tests (tests/batch.sh)"; fi
if bash tests/tshark-agree.sh; then ok; else bad "tshark agreement (tests/tshark-agree.sh)"; fi
if BIN="$BIN" bash tests/cli.sh; then ok; else bad "command line, database file, install (tests/cli.sh)"; fi
if BIN="$BIN" bash tests/kb-text.sh; then ok; else bad "report text without template words (tests/kb-text.sh)"; fi
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
