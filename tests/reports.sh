#!/usr/bin/env bash
# reports.sh - the report writers on real captures, run by `make test` (tests/integration.sh)
# with the sanitizer build:
#   a. golden files: each samples/*.pcap alone, and all of them together, in every format
#      (text, json, csv, csv --events, html) must equal tests/golden/<name>.<ext>; text
#      reports fit 80 columns; reports do not depend on -j (the order captures finish in).
#   b. the HTML of the whole sample set and of tests/captures/hostile-names.pcap, rendered by
#      headless Chromium (tests/html-check.sh): DOM, links, no script; screenshots written to
#      build/test-screenshots/; nothing in the hostile DOM came from a query name, and the
#      names are shown, escaped;
#   c. hostile names (HTML/attribute injection, CSV formulas, terminal escapes, invalid UTF-8,
#      NUL, tab, CR) are neutralised in CSV, text, JSON and `events` (json, tsv);
#   d. colour on a terminal (a pseudo-terminal from util-linux `script`), none with NO_COLOR.
#
#   bash tests/reports.sh                    run the tests
#   UPDATE_GOLDEN=1 bash tests/reports.sh    write tests/golden/ from the current binary
#                                            (then read the diff before committing it)
# Reports hold no wall-clock time; capture paths are printed as given, so this script always
# runs from the repository root with relative paths. Exit 0 = all passed.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
GOLDEN=tests/golden
SHOTS=build/test-screenshots
HOSTILE=tests/captures/hostile-names.pcap
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C.UTF-8
unset NO_COLOR
. tests/tools/harness.sh
updated=0
[ -x "$BIN" ] || { echo "reports: $BIN not built (make $BIN)" >&2; exit 2; }

# reports DB DIR STEM : every format of DB's report into DIR/STEM.{txt,json,csv,events.csv,html}
reports() {
	local db=$1 out=$2/$3 st=0
	"$BIN" report -q --db "$db" -f text -o "$out.txt" || st=1
	"$BIN" report -q --db "$db" -f json -o "$out.json" || st=1
	"$BIN" report -q --db "$db" -f csv -o "$out.csv" || st=1
	"$BIN" report -q --db "$db" -f csv --events -o "$out.events.csv" || st=1
	"$BIN" report -q --db "$db" -f html -o "$out.html" || st=1
	return $st
}
EXTS="txt json csv events.csv html"

# Properties every report of a set has, whatever the capture: text fits 80 columns, has no
# control character but newline and no trailing blank; JSON parses; CSV rows have the header's
# width; everything is UTF-8.
cat >"$TMP/wellformed.py" <<'PY'
import csv, json, sys, unicodedata
base = sys.argv[1]
problems = []
def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
for ext in ("txt", "json", "csv", "events.csv", "html"):
    try:
        open(base + "." + ext, encoding="utf-8", newline="").read()
    except UnicodeDecodeError as e:
        problems.append("%s.%s is not UTF-8: %s" % (base, ext, e))
text = open(base + ".txt", encoding="utf-8", errors="replace", newline="").read()
for n, line in enumerate(text.split("\n"), 1):
    if width(line) > 80:
        problems.append("txt line %d is %d columns: %s" % (n, width(line), line))
    if line != line.rstrip():
        problems.append("txt line %d ends in a blank" % n)
    bad = [c for c in line if unicodedata.category(c) in ("Cc", "Cf")]
    if bad:
        problems.append("txt line %d holds control characters %r" % (n, bad))
try:
    json.load(open(base + ".json", encoding="utf-8"))
except ValueError as e:
    problems.append("json: %s" % e)
for ext in ("csv", "events.csv"):
    rows = list(csv.reader(open(base + "." + ext, encoding="utf-8", newline="")))
    if not rows:
        problems.append("%s: empty" % ext)
    for i, r in enumerate(rows[1:], 2):
        if len(r) != len(rows[0]):
            problems.append("%s row %d has %d fields, header %d" % (ext, i, len(r), len(rows[0])))
for p in problems[:20]:
    print(p)
sys.exit(1 if problems else 0)
PY

pretty() { "$PY" -m json.tool "$1" 2>&1 || cat "$1"; }

# golden NAME DIR : compares (or with UPDATE_GOLDEN=1 writes) DIR/NAME.* against tests/golden
golden() {
	local name=$1 dir=$2 ext
	for ext in $EXTS; do
		if [ ! -s "$dir/$name.$ext" ]; then
			bad "$name.$ext: no report written"
		elif [ -n "${UPDATE_GOLDEN:-}" ]; then
			mkdir -p "$GOLDEN"
			cmp -s "$dir/$name.$ext" "$GOLDEN/$name.$ext" || updated=$((updated + 1))
			cp "$dir/$name.$ext" "$GOLDEN/$name.$ext"
			ok
		elif [ ! -f "$GOLDEN/$name.$ext" ]; then
			bad "no golden $GOLDEN/$name.$ext (UPDATE_GOLDEN=1 bash tests/reports.sh)"
		elif diff -u "$GOLDEN/$name.$ext" "$dir/$name.$ext" >"$TMP/diff"; then
			ok
		else
			bad "$name.$ext differs from $GOLDEN/$name.$ext (UPDATE_GOLDEN=1 to accept):"
			if [ "$ext" = json ]; then # one line: show the difference indented
				diff -u --label "$GOLDEN/$name.$ext" --label "new $name.$ext" \
					<(pretty "$GOLDEN/$name.$ext") <(pretty "$dir/$name.$ext") >"$TMP/diff"
			fi
			cut -c1-200 "$TMP/diff" | head -20 | sed 's/^/    /'
		fi
	done
	check "$name: well-formed reports (80 columns, valid JSON/CSV, UTF-8)" \
		"$PY" "$TMP/wellformed.py" "$dir/$name"
}

# ------------------------------------------------------------------ a. golden files ---
CAPS=(samples/*.pcap)
mkdir -p "$TMP/g"
for cap in "${CAPS[@]}"; do
	name=$(basename "$cap" .pcap)
	rm -f "$TMP/one.db"*
	if ! "$BIN" analyze -q --db "$TMP/one.db" -o /dev/null "$cap" 2>"$TMP/err"; then
		bad "analyze $cap"; cat "$TMP/err"; continue
	fi
	if ! reports "$TMP/one.db" "$TMP/g" "$name" 2>"$TMP/err"; then
		bad "reports of $cap"; cat "$TMP/err"; continue
	fi
	golden "$name" "$TMP/g"
done

# The whole set in one database; the golden run uses one job, so capture ids (the order
# captures finish in) are those of the command line.
"$BIN" analyze -q -j 1 --db "$TMP/all.db" -f text -o "$TMP/analyze-all.txt" "${CAPS[@]}" 2>"$TMP/err"
check "analyze samples/*.pcap" test $? -eq 0
reports "$TMP/all.db" "$TMP/g" all 2>"$TMP/err"
check "reports of samples/*.pcap" test $? -eq 0
golden all "$TMP/g"
check "analyze prints the same text report as report" cmp "$TMP/analyze-all.txt" "$TMP/g/all.txt"
check "reports have no colour when written to a file (-o)" \
	sh -c "! grep -q \"\$(printf '\\033')\" '$TMP/g/all.txt'"

# Reports do not depend on the order in which parallel jobs finish: 4 jobs, twice.
for run in 1 2; do
	rm -f "$TMP/par.db"*
	"$BIN" analyze -q -j 4 --db "$TMP/par.db" -o /dev/null "${CAPS[@]}" 2>/dev/null
	reports "$TMP/par.db" "$TMP" "par$run" 2>/dev/null
	for ext in txt csv events.csv html; do
		check "-j 4 (run $run): $ext report equals the -j 1 one" cmp "$TMP/par$run.$ext" "$TMP/g/all.$ext"
	done
	check "-j 4 (run $run): json report equals the -j 1 one" cmp "$TMP/par$run.json" "$TMP/g/all.json"
done

# ------------------------------------------------------------ b. HTML in Chromium ---
mkdir -p "$SHOTS"
rm -f "$SHOTS/samples-all.png" "$SHOTS/hostile-names.png"
check "html-check: samples/*.pcap" sh tests/html-check.sh "$TMP/g/all.html" "$TMP/all.db" \
	"$SHOTS/samples-all.png"
check "screenshot $SHOTS/samples-all.png is a PNG over 20 KB" sh -c \
	"[ \$(stat -c %s '$SHOTS/samples-all.png' 2>/dev/null || echo 0) -gt 20480 ] &&
	 [ \"\$(head -c 8 '$SHOTS/samples-all.png' | od -An -tx1 | tr -d ' \n')\" = 89504e470d0a1a0a ]"

if [ ! -f "$HOSTILE" ]; then
	bad "$HOSTILE missing (sudo tests/captures/record-hostile.sh)"
else
	mkdir -p "$TMP/h"
	"$BIN" analyze -q --db "$TMP/h.db" -o /dev/null "$HOSTILE" 2>"$TMP/err"
	check "analyze $HOSTILE" test $? -eq 0
	reports "$TMP/h.db" "$TMP/h" hostile 2>"$TMP/err"
	check "reports of $HOSTILE" test $? -eq 0
	check "hostile: findings are tests/captures/expected/hostile-names.labels" diff \
		<(sqlite3 -separator $'\t' "$TMP/h.db" "SELECT diagnosis, server_ip, server_port,
		  CASE WHEN secondary = '[]' THEN '-' ELSE secondary END FROM findings ORDER BY 1, 2, 3") \
		tests/captures/expected/hostile-names.labels
	check "hostile: well-formed reports" "$PY" "$TMP/wellformed.py" "$TMP/h/hostile"
	check "html-check: $HOSTILE" sh tests/html-check.sh "$TMP/h/hostile.html" "$TMP/h.db" \
		"$SHOTS/hostile-names.png"
	check "screenshot $SHOTS/hostile-names.png is a PNG over 20 KB" sh -c \
		"[ \$(stat -c %s '$SHOTS/hostile-names.png' 2>/dev/null || echo 0) -gt 20480 ]"
	# Our own look at the DOM Chromium built from the hostile report.
	chromium=$(command -v chromium || command -v chromium-browser || echo chromium)
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$TMP/profile" --dump-dom "file://$TMP/h/hostile.html" \
		>"$TMP/h/dom.html" 2>"$TMP/chromium.log"
	check "hostile: Chromium dumps the DOM" test -s "$TMP/h/dom.html"
	check "hostile: the DOM has no element or attribute from a name, and shows every name" \
		"$PY" - "$TMP/h/dom.html" <<'PY'
import sys
from html.parser import HTMLParser
ALLOWED = set("""html head meta title style body header div h1 h2 h3 p nav a main section span
table thead tbody tr th td code pre ul ol li dl dt dd strong i footer svg line text rect
details summary""".split())
class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self.text = [], []
    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED:
            self.problems.append("element <%s>" % tag)
        for name, value in attrs:
            if name.startswith("on") or name in ("y.example", "alert(1)") or '"' in name:
                self.problems.append("attribute %s=%r on <%s>" % (name, value, tag))
    handle_startendtag = handle_starttag
    def handle_data(self, data):
        self.text.append(data)
dom = open(sys.argv[1], encoding="utf-8").read()
p = Dom()
p.feed(dom)
text = "".join(p.text)
if "<script" in dom.lower():
    p.problems.append("<script in the DOM")
if "&lt;script&gt;alert(1)&lt;/script&gt;" not in dom:
    p.problems.append("the <script> name is not shown escaped (&lt;script&gt;)")
for shown in ['<script>alert(1)</script>', 'x"onmouseover=alert(1)"y.example',
              "=cmd|' /C calc'!A0.example", r"\x1b[31mred\x1b[0m.example",
              r"\x1b]0;title\x07.example", r"bad\xff\xfeutf8.example",
              r"nul\x00inside.example", "+SUM(1)", "-2+3", "@x", r"\x09tab.example",
              r"\x0dcr.example"]:
    if shown not in text:
        p.problems.append("name not shown as text: %r" % shown)
bad = sorted({c for c in text if ord(c) < 0x20 and c not in "\n\t" or c in "\x7f\ufffd"})
if bad:
    p.problems.append("control or replacement characters in the text: %r" % bad)
for x in p.problems:
    print(x)
sys.exit(1 if p.problems else 0)
PY

	# ------------------------------------------------------- c. hostile names ---
	# The names as sent (tests/captures/record-hostile.sh), raw bytes.
	cat >"$TMP/names.py" <<'PY'
NAMES = [b"<script>alert(1)</script>", b'x"onmouseover=alert(1)"y.example',
         b"=cmd|' /C calc'!A0.example", b"\x1b[31mred\x1b[0m.example",
         b"\x1b]0;title\x07.example", b"bad\xff\xfeutf8.example", b"nul\x00inside.example",
         b"+SUM(1)", b"-2+3", b"@x", b"\ttab.example", b"\rcr.example"]
PY
	check "hostile: CSV fields never start with = + - @ tab CR; names neutralised, raw in hex" \
		"$PY" - "$TMP/h/hostile.csv" "$TMP/h/hostile.events.csv" "$TMP/names.py" <<'PY'
import csv, sys
exec(open(sys.argv[3]).read())
problems = []
for path in sys.argv[1:3]:
    rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
    for i, row in enumerate(rows, 1):
        for j, f in enumerate(row):
            if f[:1] in ("=", "+", "-", "@", "\t", "\r"):
                problems.append("%s row %d field %s starts with %r: %r" % (path, i, rows[0][j], f[0], f))
            if any(ord(c) < 0x20 or ord(c) == 0x7f for c in f):
                problems.append("%s row %d field %s holds a control character: %r" % (path, i, rows[0][j], f))
ev = list(csv.DictReader(open(sys.argv[2], encoding="utf-8", newline="")))
names = {r["dns_qname"] for r in ev}
hexes = {r["dns_qname_hex"] for r in ev}
for want in ("'=cmd|' /C calc'!A0.example", "'+SUM(1)", "'-2+3", "'@x"):
    if want not in names:
        problems.append("events: neutralised name %r not found in %r" % (want, sorted(names)))
for n in NAMES:
    if n.hex() not in hexes:
        problems.append("events: no dns_qname_hex %s" % n.hex())
fnd = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
if len(fnd) != 1 or any(n.hex() not in fnd[0]["names_hex"] for n in NAMES):
    problems.append("findings: names_hex does not hold every name")
for p in problems[:20]:
    print(p)
sys.exit(1 if problems else 0)
PY

	"$BIN" report -q --db "$TMP/h.db" -f text | cat >"$TMP/h/piped.txt"
	check "hostile: text piped has no ESC and no control character but newline" \
		"$PY" -c 'import sys
b = open(sys.argv[1], "rb").read()
bad = sorted({c for c in b if (c < 0x20 and c != 10) or c == 0x7f})
assert not bad, "control bytes %r" % bad
b.decode("utf-8")' "$TMP/h/piped.txt"
	check "hostile: text shows the names escaped" grep -qF '\x1b[31mred\x1b[0m.example' "$TMP/h/piped.txt"

	check "hostile: JSON is valid and holds every name as hex (invalid UTF-8 and NUL too)" \
		"$PY" - "$TMP/h/hostile.json" "$TMP/names.py" <<'PY'
import json, sys
exec(open(sys.argv[2]).read())
d = json.load(open(sys.argv[1], encoding="utf-8"))
names = {n["hex"]: n["name"] for f in d["findings"] for n in f.get("names", [])}
problems = []
for n in NAMES:
    if n.hex() not in names:
        problems.append("no name with hex %s (%r)" % (n.hex(), n))
if names.get(b"bad\xff\xfeutf8.example".hex()) != r"bad\xff\xfeutf8.example":
    problems.append("invalid UTF-8 name shown as %r" % names.get(b"bad\xff\xfeutf8.example".hex()))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY

	"$BIN" events -f json "$HOSTILE" >"$TMP/h/events.ndjson" 2>"$TMP/err"
	check "hostile: events -f json exits 0" test $? -eq 0
	check "hostile: events -f json: 12 lines, each a valid JSON object with a dns hint" \
		"$PY" -c 'import json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").split("\n")
assert lines[-1] == "", "no final newline"
objs = [json.loads(l) for l in lines[:-1]]
assert len(objs) == 12, "%d events" % len(objs)
for o in objs:
    assert isinstance(o, dict) and str(o.get("hint", "")).startswith("dns A "), o
assert any(o["hint"] == r"dns A bad\xff\xfeutf8.example" for o in objs), [o["hint"] for o in objs]' \
		"$TMP/h/events.ndjson"
	"$BIN" events -f tsv "$HOSTILE" >"$TMP/h/events.tsv" 2>"$TMP/err"
	check "hostile: events -f tsv exits 0" test $? -eq 0
	check "hostile: events -f tsv: no raw control character, 17 columns on every line (the last the Community ID)" \
		"$PY" -c 'import sys
b = open(sys.argv[1], "rb").read()
bad = sorted({c for c in b if (c < 0x20 and c not in (9, 10)) or c == 0x7f})
assert not bad, "control bytes %r" % bad
lines = b.decode("utf-8").split("\n")[:-1]
assert len(lines) == 13, "%d lines" % len(lines)
for l in lines:
    assert l.count("\t") == 16, repr(l)' "$TMP/h/events.tsv"
fi

# ------------------------------------------------------- d. colour and NO_COLOR ---
# util-linux script(1) gives the report a pseudo-terminal; -E never: nothing is echoed back.
in_pty() { # in_pty OUT COMMAND : run COMMAND (a shell string) on a pseudo-terminal
	local out=$1; shift
	timeout 60 script -q -e -E never -c "$1" /dev/null </dev/null >"$out" 2>&1
}
if command -v script >/dev/null 2>&1; then
	in_pty "$TMP/tty.txt" "'$BIN' report -q --db '$TMP/all.db'"
	check "on a terminal the text report exits 0" test $? -eq 0
	check "on a terminal the text report uses ANSI colour" grep -q "$(printf '\033')\[[0-9;]*m" "$TMP/tty.txt"
	in_pty "$TMP/nocolor.txt" "NO_COLOR=1 '$BIN' report -q --db '$TMP/all.db'"
	check "NO_COLOR=1 on a terminal: no escape sequence" \
		sh -c "! grep -q \"\$(printf '\\033')\" '$TMP/nocolor.txt'"
	check "NO_COLOR=1 on a terminal: the same text as the report written to a file" \
		cmp <(tr -d '\r' <"$TMP/nocolor.txt") "$TMP/g/all.txt"
	in_pty "$TMP/tty-h.txt" "'$BIN' report -q --db '$TMP/h.db'"
	check "hostile on a terminal: the only escape sequences are portmortem's SGR colours" \
		"$PY" -c 'import re, sys
b = open(sys.argv[1], "rb").read()
rest = re.sub(rb"\x1b\[[0-9;]*m", b"", b)
bad = sorted({c for c in rest if (c < 0x20 and c not in (10, 13)) or c == 0x7f})
assert not bad, "control bytes besides SGR: %r" % bad
assert rb"\x1b[31mred" in rest, "name not shown escaped"' "$TMP/tty-h.txt"
else
	bad "script (util-linux, Debian package bsdutils) not found"
fi

if [ -n "${UPDATE_GOLDEN:-}" ]; then
	echo "reports: $updated golden file(s) changed in $GOLDEN/ - read git diff $GOLDEN before committing"
fi
echo "reports: $pass passed, $fail failed"
[ $fail -eq 0 ]
