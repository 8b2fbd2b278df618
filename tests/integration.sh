#!/usr/bin/env bash
# integration.sh - the pipeline on real captures, run by `make test` with the sanitizer build:
# events against tshark's reading, findings against each sample's expected labels, the corpus
# without a crash, idempotence, merge, exit statuses, compressed and standard input.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
CORPUS=${CORPUS:-../shared/corpus}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. tests/tools/harness.sh

# 1. Events agree with tshark on every sample and holdout capture (references committed).
for ref in samples/expected/*.ref samples/formats/expected/*.ref tests/holdout/expected/*.ref \
	tests/holdout/formats/expected/*.ref; do
	[ -f "$ref" ] || continue
	dir=$(dirname "$(dirname "$ref")")
	cap="$dir/$(basename "$ref" .ref)"
	if diff <(our_ref "$cap") "$ref" >"$TMP/diff"; then ok; else
		bad "events of $cap differ from tshark's"; head -20 "$TMP/diff"; fi
done

# 2. Findings: each capture alone gets its expected labels.
findings_of() { # DB -> "diagnosis<TAB>server_ip<TAB>server_port<TAB>secondary"
	sqlite3 -separator $'\t' "$1" "SELECT diagnosis, server_ip, server_port,
		CASE WHEN secondary = '[]' THEN '-' ELSE (SELECT group_concat(value, ',')
		FROM (SELECT value FROM json_each(secondary) ORDER BY value)) END
		FROM findings ORDER BY 1, 2, 3"
}
for labels in samples/expected/*.labels tests/holdout/expected/*.labels tests/captures/expected/*.labels; do
	[ -f "$labels" ] || continue
	dir=$(dirname "$(dirname "$labels")")
	name=$(basename "$labels" .labels)
	cap=$(ls "$dir/$name".pcap* 2>/dev/null | head -1)
	[ -n "$cap" ] || { bad "no capture for $labels"; continue; }
	rm -f "$TMP/one.db"*
	"$BIN" analyze -q --db "$TMP/one.db" -f json -o "$TMP/one.json" "$cap" 2>"$TMP/err"
	st=$?
	[ $st -eq 0 ] || { bad "analyze $cap exited $st"; cat "$TMP/err"; continue; }
	if diff <(findings_of "$TMP/one.db") <(sort "$labels") >"$TMP/diff"; then ok; else
		bad "findings of $cap"; cat "$TMP/diff"; fi
	check "json of $cap is valid" sqlite3 :memory: "SELECT CASE WHEN json_valid(readfile('$TMP/one.json')) THEN 0 ELSE abs(-9223372036854775807-1) END"
done

# 3. Whole sample set: re-running adds nothing; merge of two shards equals one run.
"$BIN" analyze -q --db "$TMP/all.db" -f json -o "$TMP/all1.json" samples 2>"$TMP/err"
check "analyze samples/" test $? -eq 0
"$BIN" analyze -q --db "$TMP/all.db" -f json -o "$TMP/all2.json" samples 2>"$TMP/err"
check "re-run changes no finding" cmp "$TMP/all1.json" "$TMP/all2.json"
check "re-run adds no capture" test "$(sqlite3 "$TMP/all.db" 'SELECT COUNT(*) FROM captures')" \
	-eq "$(find samples -path '*/expected' -prune -o -type f -name '*.pcap*' -print | wc -l)"
ls samples/*.pcap* | sort | awk 'NR % 2' >"$TMP/a.list"
ls samples/*.pcap* | sort | awk 'NR % 2 == 0' >"$TMP/b.list"
"$BIN" analyze -q --db "$TMP/a.db" -o /dev/null $(cat "$TMP/a.list") 2>/dev/null
"$BIN" analyze -q --db "$TMP/b.db" -o /dev/null $(cat "$TMP/b.list") 2>/dev/null
"$BIN" merge -q --db "$TMP/m.db" -f json -o "$TMP/merged.json" "$TMP/a.db" "$TMP/b.db"
check "merge exits 0" test $? -eq 0
"$BIN" report -q --db "$TMP/m.db" -f json -o "$TMP/merged2.json"
check "report over merged db is stable" cmp "$TMP/merged.json" "$TMP/merged2.json"
check "merged findings equal one run's" diff <(findings_of "$TMP/m.db") <(findings_of "$TMP/all.db")
"$BIN" analyze -q --db "$TMP/two.db" -o /dev/null $(cat "$TMP/a.list") 2>/dev/null
"$BIN" analyze -q --db "$TMP/two.db" -o /dev/null $(cat "$TMP/b.list") 2>/dev/null
check "two runs into one database equal one run" diff <(findings_of "$TMP/two.db") <(findings_of "$TMP/all.db")
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

# 6. Every corpus file: no crash, no hang, no sanitizer report; exit 0 or 1.
if [ -d "$CORPUS" ]; then
	find "$CORPUS" -type f ! -name '*.md' ! -name 'LICENSE*' ! -name 'COPYING*' | sort >"$TMP/corpus"
	: >"$TMP/corpus.bad"
	xargs -P 2 -I{} sh -c 'timeout 20 "$0" events -f json "$1" >/dev/null 2>&1;
		st=$?; [ $st -le 1 ] || echo "$1 exit $st" >>"$2"' "$BIN" {} "$TMP/corpus.bad" <"$TMP/corpus"
	n=$(wc -l <"$TMP/corpus")
	if [ -s "$TMP/corpus.bad" ]; then bad "corpus: $(wc -l <"$TMP/corpus.bad") of $n files"; head "$TMP/corpus.bad"
	else ok; echo "corpus: $n files, no crash"; fi
	for f in "$CORPUS"/libpcap/*.pcap*; do
		[ "$(basename "$f")" = linktype-reserved-field-not-zero.pcap ] && continue
		"$BIN" events "$f" >/dev/null 2>"$TMP/err"; st=$?
		check "libpcap reject file $(basename "$f") exits 1 with a message" \
			sh -c "[ $st -eq 1 ] && grep -q '$(basename "$f")' '$TMP/err'"
	done
else
	echo "corpus not found at $CORPUS: skipped"
fi

if BIN="$BIN" bash tests/reports.sh; then ok; else bad "report tests (tests/reports.sh)"; fi
if bash tests/tshark-agree.sh; then ok; else bad "tshark agreement (tests/tshark-agree.sh)"; fi
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
