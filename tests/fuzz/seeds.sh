#!/bin/sh
# seeds.sh DIR CAPTURE... - seed directories of the fuzz targets under DIR:
#   seeds-capture: each capture behind a mode byte (fuzz_capture.c): as it is, through
#                  libpcap, wrapped in gzip, in zstd, read 7 bytes at a time, filtered;
#   seeds-report:  each capture as it is;
#   seeds-escape:  names and paths with the bytes the escapers must handle.
# Corpus directories (corpus-*) are created empty when missing.
set -eu
dir=$1; shift
mkdir -p "$dir/seeds-capture" "$dir/seeds-report" "$dir/seeds-escape" \
	"$dir/corpus-capture" "$dir/corpus-report" "$dir/corpus-escape"
for f in "$@"; do
	[ "$(wc -c < "$f")" -le 65535 ] || continue
	name=$(basename "$f")
	cp "$f" "$dir/seeds-report/$name"
	for mode in 000 001 002 004 010 020; do
		{ printf "\\$mode"; cat "$f"; } > "$dir/seeds-capture/$name.$mode"
	done
done
printf 'www.example.com' > "$dir/seeds-escape/name"
printf '=cmd|/c calc!A1' > "$dir/seeds-escape/formula"
printf '<script>alert("x")</script> & it'"'"'s' > "$dir/seeds-escape/html"
printf 'caf\303\251 \342\200\256evil\342\200\254 \302\205 \377\376 \\x41' > "$dir/seeds-escape/utf8"
printf 'a,b\r\n"c"' > "$dir/seeds-escape/csv"
