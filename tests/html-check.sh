#!/bin/sh
# html-check.sh REPORT.html [DB] [SHOT.png] - renders an HTML report in headless Chromium and
# checks the DOM it built: every finding has its section (id) and its link (anchor), no element
# or attribute came from a packet (no <script>, no on* handler, only the tags portmortem
# writes), no external resource. With DB, the finding ids are taken from its findings table.
# Writes a 1280x2000 screenshot to SHOT.png (default: REPORT.png). Exit 0 = pass.
set -eu
report=${1:?usage: html-check.sh REPORT.html [DB] [SHOT.png]}
db=${2:-}
shot=${3:-${report%.html}.png}
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "html-check: chromium not found (apt-get install chromium)" >&2; exit 2; }
[ -r "$report" ] || { echo "html-check: cannot read $report" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
 --disable-background-networking --disable-component-update --disable-sync"

# shellcheck disable=SC2086
timeout 120 "$chromium" $flags --user-data-dir="$tmp/profile1" --dump-dom "$url" \
	>"$tmp/dom.html" 2>"$tmp/chromium.log" || { cat "$tmp/chromium.log" >&2; exit 1; }
# shellcheck disable=SC2086
timeout 120 "$chromium" $flags --user-data-dir="$tmp/profile2" --screenshot="$shot" \
	--window-size=1280,2000 "$url" >/dev/null 2>>"$tmp/chromium.log" ||
	{ cat "$tmp/chromium.log" >&2; exit 1; }
[ -s "$shot" ] || { echo "html-check: no screenshot written" >&2; exit 1; }

: >"$tmp/ids"
if [ -n "$db" ]; then
	sqlite3 -readonly "$db" "SELECT id FROM findings ORDER BY id" >"$tmp/ids"
fi

python3 - "$tmp/dom.html" "$tmp/ids" <<'PY'
import re, sys
from html.parser import HTMLParser

# Every element portmortem's HTML writer emits; anything else came from somewhere else.
ALLOWED = set("""html head meta title style body header div h1 h2 h3 p nav a main section span
table thead tbody tr th td code pre ul ol li dl dt dd strong i footer svg line text rect
details summary
""".split())

class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self.ids, self.links, self.sections, self.csp = [], set(), set(), set(), False
    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED:
            self.problems.append("unexpected element <%s>" % tag)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append("event handler attribute %s on <%s>" % (name, tag))
            if name in ("src", "srcset", "action", "formaction", "xlink:href", "background"):
                self.problems.append("resource attribute %s on <%s>" % (name, tag))
            if name == "href" and not value.startswith("#"):
                self.problems.append("link outside the report: %r" % value)
            if "javascript:" in value.lower():
                self.problems.append("javascript: URL in %s" % name)
            if name == "id":
                self.ids.add(value)
                if tag == "section" and value.startswith("finding-"):
                    self.sections.add(value)
            if name == "href" and value.startswith("#finding-"):
                self.links.add(value[1:])
        d = dict(attrs)
        if tag == "meta" and d.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = d.get("content", "") == \
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

dom = open(sys.argv[1], encoding="utf-8", errors="strict").read()
p = Dom()
p.feed(dom)
want = ["finding-%s" % line.strip() for line in open(sys.argv[2]) if line.strip()]
if not p.csp:
    p.problems.append("no Content-Security-Policy meta forbidding scripts")
for ident in want or sorted(p.links | p.sections):
    if ident not in p.sections:
        p.problems.append("finding %s has no section" % ident)
    if ident not in p.links:
        p.problems.append("finding %s has no link to it" % ident)
if want and len(p.sections) != len(want):
    p.problems.append("%d finding sections, %d findings" % (len(p.sections), len(want)))
if re.search(r"<script", dom, re.I):
    p.problems.append("a <script in the DOM")
for problem in p.problems:
    print("html-check: " + problem, file=sys.stderr)
print("html-check: %d findings, %d problems" % (len(p.sections), len(p.problems)))
sys.exit(1 if p.problems else 0)
PY
