#!/usr/bin/env bash
# cli.sh - the command line and the database file (issue 10), run by tests/integration.sh with
# the sanitizer build: commands and their near misses, help, warnings for options that do
# nothing, explain's list; databases that are not portmortem's, messages that name the file,
# two runs at once; make install and the manual page; the Community ID against tshark's and
# an independent implementation.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
ABS_BIN=$(realpath "$BIN")
REPO=$(pwd)
TMP=$(mktemp -d)
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
. tests/tools/harness.sh
S=samples
APP_ID=1347252852 # "PMrt"
run() { # run NAME ARGS... : runs the binary in $TMP/cwd; status in $st, output in out/err
	(cd "$TMP/cwd" && "$ABS_BIN" "$@") >"$TMP/o" 2>"$TMP/e"
	st=$?
}
mkdir -p "$TMP/cwd"
cp "$S/dns-closed-v4.pcap" "$TMP/cwd/"

# 1. Commands: near misses are usage errors said before anything is opened (no database is
# created, no report printed); a word that is an existing path is a capture.
"$ABS_BIN" analyze -q -d "$TMP/cwd/portmortem.db" -o /dev/null "$S/dns-closed-v4.pcap"
for word in anaylze:analyze reprot:report analyse:analyze hlep:help mrege:merge; do
	run "${word%%:*}" dns-closed-v4.pcap
	check "'${word%%:*}' is a usage error (got $st)" test $st -eq 2
	check "'${word%%:*}': did you mean '${word#*:}'" \
		grep -q "unknown command '${word%%:*}'; did you mean '${word#*:}'?" "$TMP/e"
	check "'${word%%:*}': no report printed" test ! -s "$TMP/o"
done
rm -f "$TMP/cwd/portmortem.db"*
run reprot
check "a near miss opens no database (none created)" test ! -e "$TMP/cwd/portmortem.db"
cp "$S/dns-closed-v4.pcap" "$TMP/cwd/reprot"
run -q -d "$TMP/r.db" -o /dev/null reprot
check "a near miss that is an existing file is a capture (exit $st)" test $st -eq 0
check "  and it is stored" test "$(sqlite3 "$TMP/r.db" "SELECT path FROM captures")" = reprot
rm -f "$TMP/cwd/reprot"

# 2. help, help COMMAND, COMMAND --help: that command's help on stdout, exit 0.
run help
check "help prints the usage (exit $st)" sh -c "[ $st -eq 0 ] && grep -q '^usage: portmortem \[analyze\]' '$TMP/o'"
for cmd in analyze report merge events explain; do
	want="usage: portmortem $cmd"
	[ $cmd = analyze ] && want="usage: portmortem \[analyze\]"
	for form in "help $cmd" "$cmd --help" "$cmd -h"; do
		# shellcheck disable=SC2086 # the form is words
		run $form
		check "'$form' prints $cmd's own help (exit $st)" \
			sh -c "[ $st -eq 0 ] && head -1 '$TMP/o' | grep -q '^$want'"
	done
done
run report --help
check "report's help lists its options only" sh -c "grep -q -- '--events' '$TMP/o' && ! grep -q -- '--sha256' '$TMP/o'"
run help nosuch
check "help of an unknown command is a usage error (got $st)" test $st -eq 2

# 3. merge wants -d; a failed merge prints no report.
run merge "$TMP/r.db"
check "merge without -d is a usage error (got $st)" test $st -eq 2
check "merge without -d says so" grep -q "merge wants the database to merge into" "$TMP/e"
check "merge without -d creates no ./portmortem.db" test ! -e "$TMP/cwd/portmortem.db"
printf 'junk junk junk junk junk junk junk junk junk junk junk junk junk junk junk\n' >"$TMP/junk.db"
run merge -d "$TMP/m.db" "$TMP/r.db" "$TMP/junk.db"
check "a failed merge exits 3 (got $st)" test $st -eq 3
check "a failed merge prints no report" test ! -s "$TMP/o"
check "a failed merge says no report was written" grep -q "no report written" "$TMP/e"
check "a failed merge keeps what it merged" test "$(sqlite3 "$TMP/m.db" "SELECT COUNT(*) FROM captures")" -eq 1
run merge -d "$TMP/m2.db" "$TMP/r.db"
check "a merge that succeeds prints its report (exit $st)" sh -c "[ $st -eq 0 ] && grep -q 'SERVICE DOWN' '$TMP/o'"

# 4. getopt's messages name the program, not the binary's path.
for bad_opt in --no-such-option -Z "-d"; do
	run report $bad_opt
	check "'report $bad_opt' is a usage error (got $st)" test $st -eq 2
	check "'report $bad_opt' names portmortem, not $BIN" \
		sh -c "grep -q '^portmortem: ' '$TMP/e' && ! grep -qF '$ABS_BIN' '$TMP/e' && ! grep -qF 'asan' '$TMP/e'"
	check "'report $bad_opt' points to report's help" grep -q "try 'portmortem report --help'" "$TMP/e"
done

# 5. Options that do nothing in the mode: a warning naming them, the same exit status.
warns() { # warns "ARGS" "PATTERN" : the warning is printed, the status is 0
	# shellcheck disable=SC2086
	run $1
	check "'$1': exit 0 (got $st)" test $st -eq 0
	check "'$1' warns: $2" grep -q "warning: $2" "$TMP/e"
}
warns "report -d $TMP/r.db -o /dev/null --sha256" "--sha256 does nothing with 'report'"
warns "report -d $TMP/r.db -o /dev/null --filter udp" "--filter does nothing with 'report'"
warns "report -d $TMP/r.db -o /dev/null -j 2" "-j/--jobs does nothing with 'report'"
warns "report -d $TMP/r.db -o /dev/null --max-endpoints 100" "--max-endpoints does nothing"
warns "report -d $TMP/r.db -o /dev/null --libpcap" "--libpcap does nothing with 'report'"
warns "report -d $TMP/r.db -o /dev/null --events" "--events does nothing without -f csv"
warns "analyze -q -d $TMP/r.db -f json -o /dev/null --events dns-closed-v4.pcap" "--events does nothing without -f csv"
warns "explain -o x.txt 514" "-o/--output does nothing with 'explain'"
warns "events -o x.tsv dns-closed-v4.pcap" "-o/--output does nothing with 'events'"
check "explain -o wrote no file" test ! -e "$TMP/cwd/x.txt"
run report -d "$TMP/r.db" -f csv --events -o /dev/null
check "--events with -f csv: no warning" test ! -s "$TMP/e"
run analyze -q -d "$TMP/r.db" -o /dev/null dns-closed-v4.pcap
check "analyze with its own options: no warning" test ! -s "$TMP/e"

# 6. events -f csv points to the per-event CSV of report.
run events -f csv dns-closed-v4.pcap
check "events -f csv is a usage error (got $st)" test $st -eq 2
check "events -f csv points to report -f csv --events" grep -q "portmortem report -f csv --events" "$TMP/e"

# 7. explain: a list without argument, the list on stderr for an unknown topic, labels with
# spaces and in any case.
run explain
check "explain without argument lists (exit $st)" sh -c "[ $st -eq 0 ] && grep -q '^  service-down ' '$TMP/o' && grep -q '^  reflection ' '$TMP/o'"
check "explain's list names services and ports" grep -Eq '^  syslog +514 ' "$TMP/o"
run explain foo
check "explain foo is a usage error (got $st)" test $st -eq 2
check "explain foo lists what exists" sh -c "grep -q \"nothing in the knowledge base for 'foo'\" '$TMP/e' && grep -q '^  udp-scan ' '$TMP/e'"
for topic in "service down" "Service Down" "wrong_port" "LATE REPLY"; do
	run explain "$topic"
	check "explain '$topic' (exit $st)" sh -c "[ $st -eq 0 ] && grep -Eq '^(service-down|wrong-port|late-reply): ' '$TMP/o'"
done

# 8. Databases that are not portmortem's are refused and left as they were: another
# program's tables, another application_id, a capture given as -d.
sqlite3 "$TMP/other.db" "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
	INSERT INTO notes (body) VALUES ('keep me')"
sqlite3 "$TMP/appid.db" "PRAGMA application_id = 1179603014" # "FOSF", as Fossil's are
for db in other appid; do
	f=$TMP/$db.db
	schema=$(sqlite3 "$f" .schema)
	sum=$(md5sum <"$f")
	for cmd in "report -d $f" "analyze -q -d $f -o /dev/null dns-closed-v4.pcap" "merge -d $TMP/mm.db $f"; do
		# shellcheck disable=SC2086
		run $cmd
		check "$db.db: '${cmd%% *}' refuses it with exit 3 (got $st)" test $st -eq 3
		check "$db.db: '${cmd%% *}' names the file and says why" \
			grep -qF "$f: not a portmortem database" "$TMP/e"
	done
	check "$db.db: its schema is unchanged" test "$(sqlite3 "$f" .schema)" = "$schema"
	check "$db.db: its bytes are unchanged" test "$(md5sum <"$f")" = "$sum"
done
check "appid.db: still no tables" test -z "$(sqlite3 "$TMP/appid.db" .tables)"
for cmd in "report -d" "analyze -q -o /dev/null dns-closed-v4.pcap -d"; do
	sum=$(md5sum <"$S/dns-stops.pcap")
	# shellcheck disable=SC2086
	run $cmd "$REPO/$S/dns-stops.pcap"
	check "'${cmd%% *} -d CAPTURE' exits 3 (got $st)" test $st -eq 3
	check "'${cmd%% *} -d CAPTURE' says the file is not a SQLite database" grep -q "dns-stops.pcap: not a SQLite database" "$TMP/e"
	check "'${cmd%% *} -d CAPTURE' leaves it as it was" test "$(md5sum <"$S/dns-stops.pcap")" = "$sum"
done

# 9. application_id: set on creation; a database of an earlier version (our tables, id 0)
# is read as it is by a read-only report and stamped at the next write.
check "a new database carries application_id 'PMrt'" test "$(sqlite3 "$TMP/r.db" "PRAGMA application_id")" = $APP_ID
cp "$TMP/r.db" "$TMP/old.db"
sqlite3 "$TMP/old.db" "PRAGMA application_id = 0"
chmod 444 "$TMP/old.db"
run report -d "$TMP/old.db"
check "an earlier version's database: report reads it (exit $st)" sh -c "[ $st -eq 0 ] && grep -q 'SERVICE DOWN' '$TMP/o'"
check "  without writing to it" test "$(sqlite3 -readonly "$TMP/old.db" "PRAGMA application_id")" = 0
chmod 644 "$TMP/old.db"
run analyze -q -d "$TMP/old.db" -o /dev/null "$REPO/$S/udp-scan.pcap"
check "an earlier version's database: analyze adopts it (exit $st)" test $st -eq 0
check "  and stamps it" test "$(sqlite3 "$TMP/old.db" "PRAGMA application_id")" = $APP_ID

# 10. Paths that cannot be opened or written: the message names the file and points to -d.
run analyze -q -d "$TMP/no/such/dir/x.db" dns-closed-v4.pcap
check "a database in a missing directory exits 3 (got $st)" test $st -eq 3
check "  named, with -d PATH" sh -c "grep -qF '$TMP/no/such/dir/x.db' '$TMP/e' && grep -q -- '-d PATH' '$TMP/e'"
run analyze -q -d "$TMP" dns-closed-v4.pcap
check "a directory given as the database exits 3 (got $st)" test $st -eq 3
check "  named, with -d PATH" sh -c "grep -qF '$TMP: it is a directory' '$TMP/e' && grep -q -- '-d PATH' '$TMP/e'"
as_user=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
if [ "$(id -u)" != 0 ] || [ ${#as_user[@]} -gt 0 ]; then
	mkdir -p "$TMP/ro"
	cp "$S/dns-closed-v4.pcap" "$TMP/ro/"
	chmod 755 "$TMP" && chmod 555 "$TMP/ro" && chmod 644 "$TMP/ro/dns-closed-v4.pcap"
	(cd "$TMP/ro" && "${as_user[@]}" "$ABS_BIN" dns-closed-v4.pcap) >"$TMP/o" 2>"$TMP/e"
	st=$?
	check "an unwritable directory exits 3 (got $st)" test $st -eq 3
	check "  the message names portmortem.db and suggests -d PATH" \
		sh -c "grep -q 'portmortem.db' '$TMP/e' && grep -q 'not writable' '$TMP/e' && grep -q -- '-d PATH' '$TMP/e'"
	chmod 755 "$TMP/ro"
else
	echo "skipped: the unwritable-directory message (running as root without setpriv)"
fi

# 11. Two runs at once into one database, as cron starts them: the second waits for the
# first instead of failing with "database is locked". The first reads its capture from a
# pipe held open until the second has finished (a long capture, or a slow disk): before the
# fix, its transaction locked the database for as long as the reading took.
rm -f "$TMP/cc.db"*
{ cat "$S/dns-closed-v4.pcap"; while [ ! -e "$TMP/second-done" ]; do sleep 0.1; done; } |
	"$BIN" analyze -q -d "$TMP/cc.db" -o /dev/null - 2>"$TMP/err1" &
first=$!
sleep 1
timeout 120 "$BIN" analyze -q -d "$TMP/cc.db" -o /dev/null "$S/udp-scan.pcap" \
	"$S/traceroute.pcap" 2>"$TMP/err2"
st2=$?
touch "$TMP/second-done"
wait $first
st1=$?
check "two runs at once: the second exits 0 (got $st2: $(head -c 200 "$TMP/err2"))" test $st2 -eq 0
check "two runs at once: the first exits 0 (got $st1: $(head -c 200 "$TMP/err1"))" test $st1 -eq 0
check "two runs at once: all 3 captures are stored" \
	test "$(sqlite3 "$TMP/cc.db" "SELECT COUNT(*) FROM captures")" -eq 3
# and two analyzes of sample sets started together into a database neither has created yet
rm -f "$TMP/cc.db"*
"$BIN" analyze -q -d "$TMP/cc.db" -o /dev/null $S/dns-*.pcap 2>"$TMP/err1" &
first=$!
"$BIN" analyze -q -d "$TMP/cc.db" -o /dev/null $S/[a-ce-z]*.pcap 2>"$TMP/err2"
st2=$?
wait $first
st1=$?
n_samples=$(ls $S/*.pcap | wc -l)
check "two analyzes started together: both exit 0 (got $st1 and $st2)" test "$st1$st2" = 00
check "two analyzes started together: all $n_samples captures stored" \
	test "$(sqlite3 "$TMP/cc.db" "SELECT COUNT(*) FROM captures")" -eq "$n_samples"

# and the report of each run is its own, though the other run rebuilt the findings (for its
# own captures) between this run's diagnosis and its report: 10 pairs started together
leaks=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	rm -f "$TMP/cc.db"*
	"$BIN" analyze -q -d "$TMP/cc.db" -f json -o "$TMP/a.json" "$S/dns-closed-v4.pcap" &
	first=$!
	"$BIN" analyze -q -d "$TMP/cc.db" -f json -o "$TMP/b.json" "$S/udp-scan.pcap"
	wait $first
	for r in a:service-down b:udp-scan; do
		got=$(python3 -c 'import json, sys
print(" ".join(sorted({f["diagnosis"] for f in json.load(open(sys.argv[1]))["findings"]})))' \
			"$TMP/${r%%:*}.json" 2>&1)
		[ "$got" = "${r#*:}" ] || { leaks=$((leaks + 1)); echo "    pair $i, run ${r%%:*}: $got"; }
	done
done
check "two runs at once: each report shows its own captures' findings ($leaks of 20 did not)" \
	test $leaks -eq 0

# 12. make install / uninstall into a staging directory, and the manual page.
stage=$TMP/stage
make -s --no-print-directory install DESTDIR="$stage" PREFIX=/usr >"$TMP/o" 2>&1
check "make install DESTDIR PREFIX=/usr (exit $?)" test -x "$stage/usr/bin/portmortem"
check "the installed binary runs" sh -c "'$stage/usr/bin/portmortem' --version | grep -q '^portmortem [0-9]'"
check "the manual page is installed" test -f "$stage/usr/share/man/man1/portmortem.1"
if command -v man >/dev/null && command -v groff >/dev/null; then
	MANWIDTH=80 man -l "$stage/usr/share/man/man1/portmortem.1" >"$TMP/man.txt" 2>"$TMP/man.err"
	check "man -l renders the installed page" grep -q "PORTMORTEM(1)" "$TMP/man.txt"
	check "man -l: no warnings ($(head -c 200 "$TMP/man.err"))" test ! -s "$TMP/man.err"
	groff -man -Tutf8 -ww -z docs/portmortem.1 >"$TMP/groff.err" 2>&1
	check "groff -ww: no warnings ($(head -c 200 "$TMP/groff.err"))" test ! -s "$TMP/groff.err"
else
	echo "skipped: rendering the manual page (man or groff not installed)"
fi
if command -v mandoc >/dev/null; then
	mandoc -Tlint docs/portmortem.1 >"$TMP/lint" 2>&1
	check "mandoc -Tlint: nothing to say ($(head -c 200 "$TMP/lint"))" test ! -s "$TMP/lint"
fi
# every long option of the command line and every command is in the manual page
for opt in $(sed -n 's/.*{ "\([a-z0-9-]*\)", \(no\|required\)_argument.*/\1/p; s/.*}, *{ "\([a-z0-9-]*\)", \(no\|required\)_argument.*/\1/p' analyzer/main.c | sort -u); do
	check "the manual page documents --$opt" grep -qF -- "\\-\\-${opt//-/\\-}" docs/portmortem.1
done
for cmd in analyze report merge events explain help; do
	check "the manual page documents '$cmd'" grep -q "^\.B $cmd\$" docs/portmortem.1
done
make -s --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr >"$TMP/o" 2>&1
check "make uninstall removes both files" test -z "$(find "$stage" -type f)"

# 13. Community ID v1 of the quoted flow: equal to tshark's for the same UDP datagrams
# (tests/cli/communityid.ref, from tests/tools/communityid-ref.sh; made again when tshark is
# here), and to an independent implementation with Python's hashlib.
for f in $S/*.pcap; do "$BIN" events "$f"; done >"$TMP/events.tsv"
awk -F'\t' 'NR > 1 && $9 == "udp" && $17 != "-" && $17 != "community_id" {
	print $10 "\t" $11 "\t" $12 "\t" $13 "\t" $17 }' "$TMP/events.tsv" | LC_ALL=C sort -u >"$TMP/ours"
if command -v tshark >/dev/null; then
	sh tests/tools/communityid-ref.sh $S/*.pcap >"$TMP/tshark.ref"
	check "tshark's Community IDs of the samples are the committed reference" \
		diff "$TMP/tshark.ref" tests/cli/communityid.ref
fi
awk -F'\t' 'NR == FNR { ref[$1 "\t" $2 "\t" $3 "\t" $4] = $5; next }
	{ k = $1 "\t" $2 "\t" $3 "\t" $4 }
	k in ref { n++; if (ref[k] != $5) { bad++; print "differs: " $0 " tshark " ref[k] } }
	END { print n + 0, bad + 0 }' tests/cli/communityid.ref "$TMP/ours" >"$TMP/cmp"
read -r n_same n_diff < <(tail -1 "$TMP/cmp")
check "Community IDs of $n_same quoted flows equal tshark's ($n_diff differ)" \
	sh -c "[ $n_diff -eq 0 ] && [ $n_same -ge 200 ]"
[ "$n_diff" -eq 0 ] || head -5 "$TMP/cmp"
check "events: quoted IPv6 flows have Community IDs too" grep -q $'^2001:db8::.*\t1:' "$TMP/ours"
python3 - "$TMP/ours" >"$TMP/py" <<'EOF'
import base64, hashlib, ipaddress, struct, sys
bad = n = 0
for line in open(sys.argv[1]):
    src, sport, dst, dport, cid = line.rstrip("\n").split("\t")
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    sp, dp = int(sport), int(dport)
    if (a, sp) > (b, dp):
        a, b, sp, dp = b, a, dp, sp
    h = hashlib.sha1(struct.pack("!H", 0) + a + b + struct.pack("!BBHH", 17, 0, sp, dp))
    n += 1
    if "1:" + base64.b64encode(h.digest()).decode() != cid:
        bad += 1
        print("differs:", line.strip())
print(n, bad)
EOF
read -r n_py bad_py < <(tail -1 "$TMP/py")
check "Community IDs of $n_py quoted flows equal Python hashlib's ($bad_py differ)" \
	sh -c "[ $bad_py -eq 0 ] && [ $n_py -ge 200 ]"
"$BIN" events -f json "$S/dns-closed-v6.pcap" >"$TMP/ev.json"
check "events -f json carries community_id" grep -q '"community_id":"1:[A-Za-z0-9+/]\{27\}="' "$TMP/ev.json"
# the per-event CSV and the JSON findings
rm -f "$TMP/c.db"*
"$BIN" analyze -q -d "$TMP/c.db" -o /dev/null "$S/dns-closed-v4.pcap" "$S/udp-scan.pcap" "$S/media-hangup.pcap"
"$BIN" report -d "$TMP/c.db" -f csv --events -o "$TMP/ev.csv"
check "per-event CSV: a community_id column" sh -c "head -1 '$TMP/ev.csv' | tr -d '\r' | tr ',' '\n' | grep -qx community_id"
"$BIN" events "$S/dns-closed-v4.pcap" | awk -F'\t' 'NR > 1 { print $3 "," $17 }' | sort >"$TMP/ev.ids"
python3 - "$TMP/ev.csv" <<'EOF' | sort >"$TMP/csv.ids"
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["capture"].endswith("dns-closed-v4.pcap"):
        print(r["frame"] + "," + (r["community_id"] or "-"))
EOF
check "per-event CSV: the same Community IDs as events" diff "$TMP/ev.ids" "$TMP/csv.ids"
# events -d: each event with the finding that claimed it, as the per-event CSV has it
"$BIN" events -d "$TMP/c.db" "$S/dns-closed-v4.pcap" "$S/udp-scan.pcap" 2>"$TMP/e" |
	awk -F'\t' 'NR == 1 { print $18 "," $19; next } { print $3 "," $18 "," $19 }' >"$TMP/evd.raw"
check "events -d: header ends with finding_id, diagnosis" sh -c "head -1 '$TMP/evd.raw' | grep -qx 'finding_id,diagnosis'"
tail -n +2 "$TMP/evd.raw" | sort >"$TMP/evd.ids"
python3 - "$TMP/ev.csv" <<'EOF' | sort >"$TMP/csvd.ids"
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["capture"].endswith(("dns-closed-v4.pcap", "udp-scan.pcap")):
        print(r["frame"] + "," + (r["finding_id"] or "-") + "," + (r["diagnosis"] or "-"))
EOF
check "events -d: the finding of every event, as in the per-event CSV ($(wc -l <"$TMP/evd.ids") events)" \
	sh -c "[ -s '$TMP/evd.ids' ] && diff '$TMP/evd.ids' '$TMP/csvd.ids' && grep -q ',udp-scan$' '$TMP/evd.ids'"
check "events -d: no note for captures analyzed into it" test ! -s "$TMP/e"
"$BIN" events -d "$TMP/c.db" "$S/dns-stops.pcap" >"$TMP/evd2" 2>"$TMP/e"
check "events -d: a capture the database does not hold is named" grep -q 'dns-stops.pcap: not analyzed into this database' "$TMP/e"
check "events -d: its events are listed, without finding ids" \
	sh -c "[ \$(awk -F'\t' 'NR > 1 && \$18 != \"-\"' '$TMP/evd2' | wc -l) -eq 0 ] && [ \$(wc -l <'$TMP/evd2') -gt 1 ]"
run events -d "$TMP/nonexistent-dir/x.db" dns-closed-v4.pcap
check "events -d with a database that cannot be opened: exit 3 (got $st)" test $st -eq 3
"$BIN" report -d "$TMP/c.db" -f json -o "$TMP/c.json"
python3 - "$TMP/c.json" "$TMP/events.tsv" >"$TMP/py" 2>&1 <<'EOF'
import json, sys
ids = {l.split("\t")[16].strip() for l in open(sys.argv[2]) if "\t" in l}
for f in json.load(open(sys.argv[1]))["findings"]:
    d, one, many, k = f["diagnosis"], f["community_id"], f["community_ids"], f["community_id_count"]
    # from the finding's first 20 events: the count is known only when that is all of them
    assert (k is None) == (f["errors"] > 20), (d, k, f["errors"])
    assert len(many) == (min(k, 20) if k is not None else len(set(many))) and len(many) <= 20, (d, len(many), k)
    assert set(many) <= ids, (d, "an id no event has")
    if k == 1:
        assert one == many[0], (d, one, many)
    else:
        assert one is None, (d, one)
    print(d, k, one is not None)
EOF
check "JSON findings: community_id for one flow, a list of at most 20 ($(tr '\n' ';' <"$TMP/py"))" \
	sh -c "grep -q '^stream-ended 1 True' '$TMP/py' && grep -q '^service-down 5 False' '$TMP/py' && grep -q '^udp-scan None False' '$TMP/py'"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
