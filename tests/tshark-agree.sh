#!/usr/bin/env bash
# tshark-agree.sh - `portmortem events` against tshark's reading of every ICMPv4 type 3 and
# ICMPv6 type 1 message (frame, reporter, family, type, code, quoted src/sport/dst/dport):
#  1. every corpus file ($CORPUS: tests/tools/harness.sh; skipped, said so, when absent): the
#     same lines as tests/corpus-ref/<set>/<file>.ref, and no line for a file without one;
#  2. captures made now by samples/gen (tests/corpus-ref/generated/configs, deterministic):
#     the same lines as generated/<name>.ref, for the plain file and its gzip, zstd and
#     pcapng (editcap) forms; a form whose tool is missing is skipped and said so;
#  3. captures made for a dissector (tests/captures/, README.md there says how): the same lines
#     as tests/captures/expected/<file>.ref.
# The references were made by tshark (tests/corpus-ref/make-refs.sh) and are committed: CI has
# no tshark. Where they differ from tshark-ref.sh's output, tests/corpus-ref/DIFFERENCES.md
# says why. Run from `make test` through tests/integration.sh, or alone; BIN as there.
set -u
cd "$(dirname "$0")/.." || exit 2
BIN=${BIN:-build/asan/portmortem}
REFS=tests/corpus-ref
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. tests/tools/harness.sh

# same NAME CAPTURE REF: our lines for CAPTURE equal REF.
same() {
	our_ref "$2" >"$TMP/ours"
	if diff "$TMP/ours" "$3" >"$TMP/diff"; then ok; else
		bad "events of $1 differ from tshark's ($3)"; head -10 "$TMP/diff" | sed 's/^/    /'; fi
}

# 1. The corpus, two files at a time: one result line per file, then counted here.
if have_shared "$CORPUS" "tshark agreement on $(grep -c . "$CORPUS_LIST") corpus captures"; then
	: >"$TMP/none.ref" # a file without a reference: no line expected
	export BIN REFS CORPUS TMP
	export -f our_ref
	# shellcheck disable=SC2016 # expanded by the inner bash
	corpus_files | xargs -P 2 -I{} bash -c 'f=$0; ref=$REFS/${f#"$CORPUS"/}.ref; [ -f "$ref" ] || ref=$TMP/none.ref
			if our_ref "$f" | cmp -s - "$ref"; then echo "ok $f"; else echo "FAIL $f $ref"; fi' {} \
		>"$TMP/corpus"
	n_ref=0
	while read -r ref; do
		n_ref=$((n_ref + 1))
		rel=${ref#"$REFS"/}
		[ -f "$CORPUS/${rel%.ref}" ] || bad "no corpus file for $ref"
	done < <(find "$REFS" -mindepth 2 -name '*.ref' ! -path "$REFS/generated/*")
	while read -r st f ref; do
		if [ "$st" = ok ]; then ok; continue; fi
		bad "events of $f differ from tshark's (${ref/#$TMP\/none.ref/no reference: no event expected})"
		diff <(our_ref "$f") "$ref" | head -10 | sed 's/^/    /'
	done <"$TMP/corpus"
	echo "tshark-agree: corpus $(wc -l <"$TMP/corpus") files, $n_ref with references"
fi

# 2. Generated captures, each in every form.
if [ -z "${GEN:-}" ]; then # GEN: a generator binary already built, else `make build/gen-capture`
	GEN=build/gen-capture
	make --no-print-directory -s "$GEN" >"$TMP/cc.err" 2>&1 ||
		{ bad "samples/gen does not build (make $GEN)"; head "$TMP/cc.err"; }
fi
skipped=""
grep -v '^#' "$REFS/generated/configs" | while read -r name args; do
	[ -n "$name" ] && echo "$name $args"
done >"$TMP/configs"
while read -r name args; do
	ref=$REFS/generated/$name.ref
	cap=$TMP/$name.pcap
	# shellcheck disable=SC2086 # the generator's arguments, split on purpose
	if ! [ -f "$ref" ] || ! "$GEN" -q $args -o "$cap" 2>"$TMP/gen.err"; then
		bad "generated/$name: no reference or no capture"; head -3 "$TMP/gen.err"; continue
	fi
	same "generated/$name (gen $args)" "$cap" "$ref"
	if command -v gzip >/dev/null; then
		gzip -1 -c "$cap" >"$cap.gz" && same "generated/$name.pcap.gz" "$cap.gz" "$ref"
	else skipped="$skipped gzip"; fi
	if command -v zstd >/dev/null; then
		zstd -q -1 -c "$cap" >"$cap.zst" && same "generated/$name.pcap.zst" "$cap.zst" "$ref"
	else skipped="$skipped zstd"; fi
	if command -v editcap >/dev/null; then
		editcap -F pcapng "$cap" "$TMP/$name.pcapng" && same "generated/$name.pcapng" "$TMP/$name.pcapng" "$ref"
	else skipped="$skipped pcapng"; fi
	rm -f "$cap" "$cap.gz" "$cap.zst" "$TMP/$name.pcapng"
done <"$TMP/configs"
# 3. Captures made for a dissector.
for ref in tests/captures/expected/*.ref; do
	[ -f "$ref" ] || continue
	cap=tests/captures/$(basename "$ref" .ref)
	same "$cap" "$cap" "$ref"
done

skipped=$(echo "$skipped" | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${skipped// /}" ] || echo "tshark-agree: no tool for the${skipped% } form(s) of the generated captures: skipped (the pcapng form was checked by hand: tests/corpus-ref/DIFFERENCES.md)"

echo "tshark-agree: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
