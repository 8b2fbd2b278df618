#!/usr/bin/env bash
# report-views.sh - what reports say about findings, on real samples, run by `make test`
# (tests/integration.sh) with the sanitizer build:
#   a. packets you can open (SPEC §4): for every finding of the samples (and of the two
#      capture points of samples/twopoint/), tshark with its display filter on each of its
#      captures returns exactly the frames of its events there (events.finding_id), and the
#      frames it lists are the first of them;
#   b. the stored link: each finding's timeline counts its errors (a packet seen at two
#      capture points once); the per-event CSV carries each event's finding id and diagnosis;
#   c. one id and one order in every format: text [id], the HTML sections, JSON and CSV ids
#      in the same order; a text index on top;
#   d. report filters (--capture, --since, --until, --server, --label, --service): the
#      findings each selects, the counts that follow them, an empty result said so, bad values
#      refused with exit 2.
# Exit 0 = all passed.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-build/asan/portmortem}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C.UTF-8
. tests/tools/harness.sh
[ -x "$BIN" ] || { echo "report-views: $BIN not built (make $BIN)" >&2; exit 2; }
# tshark opens the packets (make test-deps installs it); without it, the frames are still
# checked against the database and the tshark half is skipped with one line.
TSHARK=$(command -v tshark || true)
[ -n "$TSHARK" ] || echo "skipped: display filters run through tshark (tshark not found: apt-get install tshark)"

CAPS=(samples/*.pcap)
"$BIN" analyze -q -j 1 --db "$TMP/all.db" -o /dev/null "${CAPS[@]}" 2>"$TMP/err"
check "analyze samples/*.pcap" test $? -eq 0
"$BIN" analyze -q --db "$TMP/two.db" -o /dev/null samples/twopoint/twopoint-client.pcap \
	samples/twopoint/twopoint-server.pcap 2>"$TMP/err"
check "analyze samples/twopoint/*.pcap" test $? -eq 0

# ------------------------------------------------------------ a. display filters ---
cat >"$TMP/filters.py" <<'PY'
import json, sqlite3, subprocess, sys
report, db = json.load(open(sys.argv[1])), sqlite3.connect(sys.argv[2])
tshark = sys.argv[3] if len(sys.argv) > 3 else ""
problems, checked = [], 0
for f in report["findings"]:
    flt = f.get("display_filter")
    if not flt:
        problems.append("finding %d has no display_filter" % f["id"]); continue
    if not f.get("frames"):
        problems.append("finding %d lists no frames" % f["id"])
    for path, listed in f.get("frames", {}).items():
        want = [r[0] for r in db.execute(
            "SELECT e.frame FROM events e JOIN captures c ON c.id = e.capture_id"
            " WHERE e.finding_id = ? AND c.path = ? ORDER BY e.frame", (f["id"], path))]
        if listed != want[:len(listed)] or not listed or len(listed) > 10:
            problems.append("finding %d in %s lists frames %s, its first events are %s"
                            % (f["id"], path, listed, want[:10]))
    every = {p: [r[0] for r in db.execute("SELECT e.frame FROM events e JOIN captures c ON"
             " c.id = e.capture_id WHERE e.finding_id = ? AND c.path = ?", (f["id"], p))]
             for p in f["capture_points"]}
    if f["frames_complete"] != all(len(f["frames"].get(p, [])) == len(v) for p, v in every.items()):
        problems.append("finding %d: frames_complete is %s" % (f["id"], f["frames_complete"]))
    for path in (f["capture_points"] if tshark else []):
        want = sorted(r[0] for r in db.execute(
            "SELECT e.frame FROM events e JOIN captures c ON c.id = e.capture_id"
            " WHERE e.finding_id = ? AND c.path = ?", (f["id"], path)))
        out = subprocess.run([tshark, "-r", path, "-Y", flt, "-T", "fields", "-e",
                              "frame.number"], capture_output=True, text=True)
        got = sorted(int(x) for x in out.stdout.split())
        checked += 1
        if out.returncode != 0 or got != want:
            problems.append("finding %d (%s) in %s: tshark -Y '%s' gives frames %s, its events"
                            " are %s %s" % (f["id"], f["diagnosis"], path, flt, got, want,
                                            out.stderr.strip()[:200]))
for p in problems[:20]:
    print(p)
print("%d filters checked on their captures" % checked)
sys.exit(1 if problems or (tshark and not checked) else 0)
PY
"$BIN" report -q --db "$TMP/all.db" -f json -o "$TMP/all.json"
check "samples: tshark with each finding's display filter selects exactly its events; frames" \
	"$PY" "$TMP/filters.py" "$TMP/all.json" "$TMP/all.db" "$TSHARK"
"$BIN" report -q --db "$TMP/two.db" -f json -o "$TMP/two.json"
check "twopoint: the filter selects the finding's frames at both capture points" \
	"$PY" "$TMP/filters.py" "$TMP/two.json" "$TMP/two.db" "$TSHARK"
check "twopoint: two capture points, frames listed for each" "$PY" -c 'import json, sys
f = json.load(open(sys.argv[1]))["findings"][0]
assert len(f["capture_points"]) == 2 and len(f["frames"]) == 2, f' "$TMP/two.json"
"$BIN" report -q --db "$TMP/all.db" -o "$TMP/all.txt"
"$BIN" report -q --db "$TMP/all.db" -f html -o "$TMP/all.html"
"$BIN" report -q --db "$TMP/all.db" -f csv -o "$TMP/all.csv"
check "text shows frames and the display filter" sh -c \
	"grep -q 'Packets: in samples/dns-closed-v4.pcap frames 4, 6, 8, 10, 12' '$TMP/all.txt' &&
	 grep -q 'Display filter: icmp.type==3 && icmp.code==3' '$TMP/all.txt'"
check "HTML shows frames and the display filter" sh -c \
	"grep -q 'frames 4, 6, 8, 10, 12' '$TMP/all.html' &&
	 grep -q 'icmp.type==3 &amp;&amp; icmp.code==3' '$TMP/all.html'"
check "CSV carries rank, capture_points, frames and display_filter" "$PY" -c 'import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
fs = {f["id"]: f for f in json.load(open(sys.argv[2]))["findings"]}
for r in rows:
    f = fs[int(r["id"])]
    assert r["display_filter"] == f["display_filter"], r
    assert int(r["rank"]) == f["rank"], r
    for path, frames in f["frames"].items():
        assert "%s: %s" % (path, " ".join(map(str, frames))) in r["frames"], (r["frames"], frames)' \
	"$TMP/all.csv" "$TMP/all.json"

# ------------------------------------------------------- b. the stored link ---
cat >"$TMP/timeline.py" <<'PY'
import re, sqlite3, sys
html, db = open(sys.argv[1], encoding="utf-8").read(), sqlite3.connect(sys.argv[2])
problems = []
for fid, errors in db.execute("SELECT id, errors FROM findings"):
    m = re.search(r'<section class="card finding[^"]*" id="finding-%d">(.*?)</section>' % fid, html, re.S)
    if not m:
        problems.append("no section for finding %d" % fid); continue
    # the port-unreachable lane's total: the <text class="tot"> after its label
    t = re.search(r'port unreachable</text>.*?<text class="tot"[^>]*>≈?([0-9]+)</text>', m.group(1), re.S)
    if not t or int(t.group(1)) != errors:
        problems.append("finding %d: timeline counts %s errors, the finding %d"
                        % (fid, t.group(1) if t else None, errors))
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
check "samples: each finding's timeline counts its errors" "$PY" "$TMP/timeline.py" "$TMP/all.html" "$TMP/all.db"
"$BIN" report -q --db "$TMP/two.db" -f html -o "$TMP/two.html"
check "twopoint: the timeline counts 6 errors, not the 12 packets at two capture points" \
	"$PY" "$TMP/timeline.py" "$TMP/two.html" "$TMP/two.db"
"$BIN" report -q --db "$TMP/all.db" -f csv --events -o "$TMP/events.csv"
check "per-event CSV: finding_id and diagnosis of each event, as stored" "$PY" -c 'import csv, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
db = sqlite3.connect(sys.argv[2])
want = {(p, fr): (str(fid or ""), d or "") for p, fr, fid, d in db.execute(
    "SELECT c.path, e.frame, e.finding_id, f.diagnosis FROM events e JOIN captures c ON c.id ="
    " e.capture_id LEFT JOIN findings f ON f.id = e.finding_id")}
assert len(rows) == len(want), (len(rows), len(want))
linked = 0
for r in rows:
    assert (r["finding_id"], r["diagnosis"]) == want[(r["capture"], int(r["frame"]))], r
    linked += bool(r["finding_id"])
assert linked > 200, linked' "$TMP/events.csv" "$TMP/all.db"

# ------------------------------------------------- c. one id, one order ---
check "one order and one id: text index, text sections, HTML, JSON and CSV agree" "$PY" -c 'import csv, json, re, sys
txt = open(sys.argv[1], encoding="utf-8").read()
html = open(sys.argv[2], encoding="utf-8").read()
js = [f["id"] for f in json.load(open(sys.argv[3]))["findings"]]
cs = [int(r["id"]) for r in csv.DictReader(open(sys.argv[4], newline=""))]
index = [int(x) for x in re.findall(r"^\[(\d+)\] +[0-9,]+ ", txt, re.M)]
heads = [int(x) for x in re.findall(r"^\[(\d+)\] [A-Z]", txt, re.M)]
sections = [int(x) for x in re.findall(r"<section class=\"card finding[^\"]*\" id=\"finding-(\d+)\"", html)]
assert js == cs == index == heads == sections, (js, cs, index, heads, sections)
assert [f["rank"] for f in json.load(open(sys.argv[3]))["findings"]] == list(range(1, len(js) + 1))
assert txt.index("id       errors  clients  diagnosis") < txt.index("\n[%d] " % js[0])' \
	"$TMP/all.txt" "$TMP/all.html" "$TMP/all.json" "$TMP/all.csv"
check "severity weighs clients and requests: the resolver intermittent for 2 clients comes" \
	"$PY" -c 'import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
rank = {(f["diagnosis"], f["server_ip"]): f["rank"] for f in fs}
# the same label: more clients and requests first; a benign label never above an outage
assert all(f["impact"] > 0 for f in fs)
down = [f for f in fs if f["diagnosis"] == "service-down"]
assert down == sorted(down, key=lambda f: -f["impact"]), [f["id"] for f in down]
assert rank[("stream-ended", "192.0.2.142")] > rank[("service-down", "192.0.2.53")]' "$TMP/all.json"
check "hosts grouped: the 4 unsolicited findings of 192.0.2.150 are one story, together" \
	"$PY" -c 'import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
pos = [i for i, f in enumerate(fs) if f["server_ip"] == "192.0.2.150"]
assert len(pos) == 4 and pos == list(range(pos[0], pos[0] + 4)), pos' "$TMP/all.json"
check "text: the host story is headed by its ports" grep -q \
	'^192.0.2.150: 4 findings, ports 1026/udp, 1027/udp, 1434/udp, 6881/udp' "$TMP/all.txt"
check "HTML: summary badges link to their findings" "$PY" -c 'import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
chips = re.search(r"<p class=\"chips\">(.*?)</p>", html, re.S).group(1)
links = re.findall(r"<a class=\"badge [^\"]+\" href=\"#finding-(\d+)\">", chips)
assert len(links) >= 10, chips
for i in links:
    assert "id=\"finding-%s\"" % i in html, i' "$TMP/all.html"
check "HTML: no hidden columns on a phone (every cell labelled, no display:none columns)" \
	"$PY" -c 'import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
assert "hide-narrow" not in html
for table in re.findall(r"<table class=\"cards\">(.*?)</table>", html, re.S):
    for td in re.findall(r"<td[^>]*>", table):
        assert "data-l=" in td, td' "$TMP/all.html"

# A rotated set in two directories: the capture list grouped by directory and set, folded.
mkdir -p "$TMP/arch/a" "$TMP/arch/b"
editcap -c 3 samples/udp-scan.pcap "$TMP/arch/a/rot.pcap" >/dev/null 2>&1
cp samples/dns-closed-v4.pcap "$TMP/arch/b/one.pcap"
"$BIN" analyze -q --db "$TMP/arch.db" -f html -o "$TMP/arch.html" "$TMP/arch" 2>/dev/null
check "HTML capture list: by directory and rotated set, folded" "$PY" -c 'import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
cap = html[html.index("id=\"captures\""):]
n = len(re.findall(r"<tr><td class=\"path\"", cap))
assert n >= 40, n
assert cap.count("<details") == 2, cap.count("<details")
assert re.search(r"<h3>rot_#_#.pcap — %d files</h3>" % (n - 1), cap), re.findall("<h3>.*?</h3>", cap)
assert "<details><summary>" in cap   # more than 12 files: folded
assert sys.argv[2] + "/a/rot" not in cap.split("</summary>", 2)[1]  # rows: file names only' \
	"$TMP/arch.html" "$TMP/arch"

# ------------------------------------------------------------ d. filters ---
# filter_ids ARGS... : the ids of the findings `report -f json ARGS` selects, one line
filter_ids() { "$BIN" report -q --db "$TMP/all.db" -f json "$@" | "$PY" -c 'import json, sys
print(" ".join(str(f["id"]) for f in json.load(sys.stdin)["findings"]))'; }
sql_ids() { sqlite3 "$TMP/all.db" "SELECT group_concat(id, ' ') FROM (SELECT id FROM findings WHERE $1 ORDER BY id)"; }
sorted_ids() { tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
same_ids() { # same_ids NAME "WHERE" ARGS...
	local name=$1 where=$2; shift 2
	local got want
	got=$(filter_ids "$@" | sorted_ids); want=$(sql_ids "$where")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then ok; else bad "$name: got [$got], want [$want]"; fi
}
same_ids "--label service-down" "diagnosis = 'service-down'" --label service-down
same_ids "--label rate-limited (a secondary label)" "secondary LIKE '%rate-limited%'" --label rate-limited
same_ids "--label udp-scan --label traceroute" "diagnosis IN ('udp-scan', 'traceroute')" \
	--label udp-scan --label traceroute
same_ids "--service dns" "service = 'dns'" --service dns
same_ids "--service DNS --label wrong-port" "service = 'dns' AND diagnosis = 'wrong-port'" \
	--service DNS --label wrong-port
same_ids "--server 192.0.2.150" "server_ip = '192.0.2.150'" --server 192.0.2.150
same_ids "--server 192.0.2.150:1434" "server_ip = '192.0.2.150' AND server_port = 1434" \
	--server 192.0.2.150:1434
same_ids "--server [2001:db8:0::53]:53 (written another way)" "server_ip = '2001:db8::53'" \
	--server '[2001:db8:0::53]:53'
same_ids "--capture PATH" "id IN (SELECT finding_id FROM events e JOIN captures c ON c.id =
	e.capture_id WHERE c.path = 'samples/udp-scan.pcap')" --capture samples/udp-scan.pcap
same_ids "--capture FILE-NAME --capture ID" "id IN (SELECT finding_id FROM events e JOIN captures c
	ON c.id = e.capture_id WHERE c.path IN ('samples/udp-scan.pcap', 'samples/traceroute.pcap'))" \
	--capture udp-scan.pcap --capture "$(sqlite3 "$TMP/all.db" "SELECT id FROM captures WHERE path = 'samples/traceroute.pcap'")"
ns() { echo "strftime('%s', '$1') * 1000000000"; } # UTC time to ns, by sqlite3
same_ids "--since (the captures of 2026-11-30)" "last_error_ns >= $(ns 2026-11-30)" --since 2026-11-30
same_ids "--until 2026-11-25T18:43" "first_error_ns <= $(ns '2026-11-25 18:43:00')" --until 2026-11-25T18:43
same_ids "--since --until (one second)" "last_error_ns >= $(ns '2026-11-25 18:43:24') AND
	first_error_ns <= $(ns '2026-11-25 18:43:25')" --since '2026-11-25 18:43:24Z' \
	--until 2026-11-25T19:43:25+01:00
check "a filter: the text says it, with the counts of what it selected" sh -c "
	'$BIN' report -q --db '$TMP/all.db' --capture samples/udp-scan.pcap > '$TMP/f.txt' &&
	grep -q '^60 port-unreachable events → 1 finding: 1 UDP port scan' '$TMP/f.txt' &&
	grep -q '^Filter: --capture samples/udp-scan.pcap → 1 of 23 findings' '$TMP/f.txt' &&
	grep -q '^portmortem 0.1.0 — 1 capture, 125 packets' '$TMP/f.txt'"
check "--capture: JSON lists that capture only, the filter, and the findings in the database" \
	"$PY" -c 'import json, subprocess, sys
d = json.loads(subprocess.run([sys.argv[1], "report", "-q", "--db", sys.argv[2], "-f", "json",
    "--capture", "samples/udp-scan.pcap"], capture_output=True, text=True).stdout)
assert [c["path"] for c in d["captures"]] == ["samples/udp-scan.pcap"], d["captures"]
assert d["filter"] == {"capture": ["samples/udp-scan.pcap"]}, d["filter"]
assert d["findings_in_database"] == 23 and len(d["findings"]) == 1' "$BIN" "$TMP/all.db"
check "--label: the per-event CSV holds that label's events only" "$PY" -c 'import csv, subprocess, sys
out = subprocess.run([sys.argv[1], "report", "-q", "--db", sys.argv[2], "-f", "csv", "--events",
    "--label", "reflection"], capture_output=True, text=True).stdout.splitlines()
rows = list(csv.DictReader(out))
assert len(rows) == 80 and {r["diagnosis"] for r in rows} == {"reflection"}, len(rows)' "$BIN" "$TMP/all.db"
"$BIN" report -q --db "$TMP/all.db" --label service-down --server 192.0.2.150 >"$TMP/none.txt"
check "an empty selection exits 0 and says so" grep -q \
	'^No finding matches the filter (23 findings in the database, none selected).' "$TMP/none.txt"
"$BIN" report -q --db "$TMP/all.db" -f html --since 2030-01-01 -o "$TMP/none.html"
check "an empty selection in HTML says so" grep -q 'No finding matches the filter' "$TMP/none.html"
for bad_arg in "--label nonsense" "--since yesterday" "--until 2026-13-01" "--server 300.1.1.1" \
	"--server 192.0.2.1:70000" "--capture="; do
	# shellcheck disable=SC2086
	"$BIN" report -q --db "$TMP/all.db" $bad_arg >/dev/null 2>"$TMP/err"
	st=$?
	if [ $st -eq 2 ] && [ -s "$TMP/err" ]; then ok; else bad "report $bad_arg: exit $st, want 2 and a message"; fi
done
"$BIN" report -q --db "$TMP/all.db" --capture nosuch.pcap >/dev/null 2>"$TMP/err"
check "--capture of a capture not in the database: said, not an empty report" \
	grep -q 'nosuch.pcap: no such capture in the database' "$TMP/err"
"$BIN" analyze -q --db "$TMP/an.db" --label udp-scan -f json -o "$TMP/an.json" samples/udp-scan.pcap \
	samples/dns-closed-v4.pcap 2>/dev/null
check "analyze takes the filters for its report" "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert [f["diagnosis"] for f in d["findings"]] == ["udp-scan"] and d["findings_in_database"] == 2' \
	"$TMP/an.json"

echo "report-views: $pass passed, $fail failed"
[ $fail -eq 0 ]
