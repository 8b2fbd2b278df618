#!/usr/bin/env bash
# kb-text.sh - reports read as prose, not as a template (issue 10, item 7), run by `make test`
# (tests/integration.sh) with the sanitizer build:
#   a. no report (text, json, csv, csv --events, html) of a generated capture, of the samples
#      or of the hostile capture, and no `portmortem explain` entry, holds a placeholder word
#      in capitals (SERVER, OTHER-SERVER, CLIENTS, UNIT) or a "1 datagrams"-style plural
#      (tests/tools/template-scan.py, which checks itself first);
#   b. advice fits the finding: the syslog collector's FreeBSD command allows the network of
#      its clients, the client configuration sentence reads as one;
#   c. the source of the rates is named in plain words in every format and in `explain`.
# The generated capture is `build/gen-capture --packets 1000000 --seed 1`: the smallest size
# with the planted scenarios of the 2 GiB capture of the issue (the generator plants one set
# from 1 M to 4 M packets; the 2 GiB one has 3.2 M). GEN_ARGS="--bytes 2G --seed 1" scans
# that one instead (about 10 times longer).
#   bash tests/kb-text.sh        Exit 0 = all passed.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
GEN=${GEN:-build/gen-capture}
GEN_ARGS=${GEN_ARGS:---packets 1000000 --seed 1}
SCAN="python3 tests/tools/template-scan.py"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C.UTF-8
. tests/tools/harness.sh
[ -x "$BIN" ] || { echo "kb-text: $BIN not built (make $BIN)" >&2; exit 2; }
[ -x "$GEN" ] || { echo "kb-text: $GEN not built (make $GEN)" >&2; exit 2; }

# Every label, as `explain` lists them (from DB_LABELS in db/db.h).
LABELS=$("$BIN" explain | sed -n '/^Diagnosis labels/,/^$/s/^  \([^ ]*\).*/\1/p')
[ -n "$LABELS" ] || { echo "kb-text: no labels listed by $BIN explain" >&2; exit 1; }
# One port of every service of reports/kb.txt: the first `explain` lists for each.
PORTS=$("$BIN" explain | sed -n '/^Services/,/^$/s/^  [^ ]*  *\([0-9][0-9]*\).*/\1/p')
[ -n "$PORTS" ] || { echo "kb-text: no services listed by $BIN explain" >&2; exit 1; }

# reports DB STEM : every format of DB's report into $TMP/STEM.*
reports() {
	local st=0
	"$BIN" report -q -d "$1" -f text -o "$TMP/$2.txt" || st=1
	"$BIN" report -q -d "$1" -f json -o "$TMP/$2.json" || st=1
	"$BIN" report -q -d "$1" -f csv -o "$TMP/$2.csv" || st=1
	"$BIN" report -q -d "$1" -f csv --events -o "$TMP/$2.events.csv" || st=1
	"$BIN" report -q -d "$1" -f html -o "$TMP/$2.html" || st=1
	return $st
}

# ------------------------------------------------------------------ a. the scan ----------
check "template-scan.py recognises placeholders and wrong plurals" $SCAN --self-test

# shellcheck disable=SC2086 # GEN_ARGS is a list of arguments
"$GEN" $GEN_ARGS -q -o - | "$BIN" analyze -q -d "$TMP/gen.db" -o /dev/null - 2>"$TMP/err"
st=${PIPESTATUS[1]}
check "generated capture ($GEN_ARGS): analyze exits 0 (got $st)" test "$st" -eq 0
check "generated capture: at least 20 findings" \
	test "$(sqlite3 "$TMP/gen.db" 'SELECT COUNT(*) FROM findings')" -ge 20
check "generated capture: reports in every format" reports "$TMP/gen.db" gen

# shellcheck disable=SC2046 # the sample captures, each a word
"$BIN" analyze -q -d "$TMP/samples.db" -o /dev/null $(ls samples/*.pcap* samples/formats/*.pcap* \
	samples/twopoint/*.pcap tests/captures/gtpu-dns-closed.pcap) 2>"$TMP/err"
check "samples: analyze exits 0 (got $?)" test $? -eq 0
check "samples: reports in every format" reports "$TMP/samples.db" samples
"$BIN" analyze -q -d "$TMP/hostile.db" -o /dev/null tests/captures/hostile-names.pcap 2>"$TMP/err"
check "hostile capture: analyze exits 0" test $? -eq 0
check "hostile capture: reports in every format" reports "$TMP/hostile.db" hostile

for w in $LABELS $PORTS; do
	"$BIN" explain "$w" >>"$TMP/explain.txt" 2>&1 || echo "explain $w failed" >>"$TMP/explain.txt"
done
for f in "$TMP"/{gen,samples,hostile}.{txt,json,csv,events.csv,html} "$TMP/explain.txt"; do
	check "no placeholder word or wrong plural in $(basename "$f")" $SCAN "$f"
done

check "explain: no command slot left empty (a service without a Windows service name)" \
	bash -c "! grep -Eq '^    (check|start|status|log) *\$' '$TMP/explain.txt'"

# ------------------------------------------------------------- b. advice that fits -------
# The syslog collector of the generated capture has several clients: FreeBSD's syslogd is
# told to accept their network, not the first client alone.
check "syslog: FreeBSD allows the clients' network (-a NET/LEN)" \
	grep -Eq 'syslogd_flags=\\?"-a [0-9.]+/[0-9]+\\?"' "$TMP/gen.json"
check "syslog: no sentence built as 'X and 514 in *.* @X:514'" \
	bash -c "! grep -Fq ' in *.* @' '$TMP/gen.txt'"
check "firewall-reject: no 'sent by X, not by X' (the errors carry the server's address)" \
	bash -c "! cat '$TMP'/*.txt | tr '\n' ' ' | tr -s ' ' | grep -Eq 'sent by ([0-9.]+), not by \\1[ ,]'"

# ----------------------------------------------------------- c. the rates' source -------
for f in gen.txt gen.html samples.txt samples.html explain.txt; do
	check "$f names the source of the rates" \
		bash -c "tr '\n' ' ' <'$TMP/$f' | tr -s ' ' | grep -q 'come from one source: the troubleshooting entry .*(networking/udp-port-unreachable)'"
done
check "json: each rate names its source in plain words" \
	bash -c "grep -q '\"success_rate\":0.85,\"source\":\"\\\\\"ICMP: Port unreachable\\\\\", the unverified AI-generated entry' '$TMP/gen.json'"
check "csv: each rate names its source" grep -q 'fixes 85%; source: ""ICMP: Port unreachable"", the unverified AI-generated entry' "$TMP/gen.csv"
check "explain and reports agree: no 'only where a source measured them'" \
	bash -c "! grep -q 'only where a source measured' '$TMP'/*.txt"

echo "kb-text: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
