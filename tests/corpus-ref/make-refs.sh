#!/usr/bin/env bash
# make-refs.sh [corpus] [generated] - (re)makes the tshark references that tests/tshark-agree.sh
# compares `portmortem events` against. Run by hand where tshark is installed (CI has none, so
# the references are committed) whenever the corpus, samples/gen or tshark changes; then review
# the diff and DIFFERENCES.md. Default: both parts.
#   corpus:    tests/corpus-ref/<set>/<file>.ref for every file of $CORPUS ($SHARED/corpus,
#              ../shared/corpus by default) in which tshark finds an ICMPv4 type 3 or ICMPv6
#              type 1 message (~8 min), and tests/corpus-ref/corpus.list, every file's name
#              (the tests check the corpus still holds them, and count them when it is absent).
#   generated: tests/corpus-ref/generated/<name>.ref for each line of generated/configs.
# A reference is tests/tools/tshark-ref.sh's output, with one change (DIFFERENCES.md): ports of
# a quoted TCP or SCTP header, which that script leaves as "-" (it reads udp.* only), are
# taken from tshark's own tcp.srcport/tcp.dstport (sctp.*) of the same frame.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
CORPUS=${CORPUS:-$SHARED/corpus}
REFS=tests/corpus-ref
command -v tshark >/dev/null || { echo "make-refs: needs tshark (apt-get install tshark)" >&2; exit 2; }
parts=${*:-corpus generated}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ref_of CAPTURE: the reference lines of CAPTURE on standard output.
ref_of() {
	sh tests/tools/tshark-ref.sh "$1" >"$TMP/ref.$$"
	tshark -n -r "$1" -Y 'icmp.type==3 || icmpv6.type==1' -T fields -E separator=/t \
		-e frame.number -e tcp.srcport -e tcp.dstport -e sctp.srcport -e sctp.dstport \
		2>/dev/null >"$TMP/ports.$$" || true
	awk -F'\t' -v OFS='\t' '
	function last(s,   a, n) { n = split(s, a, ","); return n ? a[n] : "" }
	NR == FNR { if ($2 != "") p[$1] = last($2) "\t" last($3)
		    else if ($4 != "") p[$1] = last($4) "\t" last($5)
		    next }
	$6 != "-" && $7 == "-" && $9 == "-" && ($1 in p) { split(p[$1], q, "\t"); $7 = q[1]; $9 = q[2] }
	{ print }' "$TMP/ports.$$" "$TMP/ref.$$"
	rm -f "$TMP/ref.$$" "$TMP/ports.$$"
}
export -f ref_of
export TMP

for part in $parts; do
	case $part in
	corpus)
		[ -d "$CORPUS" ] || { echo "make-refs: no corpus at $CORPUS" >&2; exit 2; }
		find "$REFS" -mindepth 2 -name '*.ref' ! -path "$REFS/generated/*" -delete
		find "$CORPUS" -type f ! -name '*.md' ! -name 'LICENSE*' ! -name 'COPYING*' |
			cut -c$((${#CORPUS} + 2))- | LC_ALL=C sort >"$REFS/corpus.list"
		# shellcheck disable=SC2016 # expanded by the inner bash
		find "$CORPUS" -type f ! -name '*.md' ! -name 'LICENSE*' ! -name 'COPYING*' | sort |
			xargs -P "$(nproc)" -I{} bash -c 'out=$0/${1#"$2"/}.ref; ref_of "$1" >"$TMP/$$.r"
				if [ -s "$TMP/$$.r" ]; then mkdir -p "$(dirname "$out")"; mv "$TMP/$$.r" "$out"; fi' \
				"$REFS" {} "$CORPUS"
		echo "corpus: $(find "$REFS" -mindepth 2 -name '*.ref' ! -path "$REFS/generated/*" | wc -l) references"
		;;
	generated)
		[ -n "${GEN:-}" ] || { GEN=build/gen-capture; make --no-print-directory -s "$GEN"; }
		grep -v '^#' "$REFS/generated/configs" | while read -r name args; do
			[ -n "$name" ] || continue
			# shellcheck disable=SC2086 # the generator's arguments, split on purpose
			"$GEN" -q $args -o "$TMP/$name.pcap"
			ref_of "$TMP/$name.pcap" >"$REFS/generated/$name.ref"
			echo "generated/$name: $(wc -l <"$REFS/generated/$name.ref") events"
			rm -f "$TMP/$name.pcap"
		done
		;;
	*) echo "make-refs: unknown part $part (corpus, generated)" >&2; exit 2 ;;
	esac
done
