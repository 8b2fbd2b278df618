#!/bin/sh
# check-format.sh - every C source and header that git tracks, as clang-format 14 writes it with
# the repository's .clang-format. Without arguments: a dry run that names each file that differs
# and exits 1 (run by `make test`). With --fix: rewrites those files in place (`make format`).
set -eu
cd "$(dirname "$0")/../.."
CF=${CLANG_FORMAT:-clang-format-14}
command -v "$CF" > /dev/null 2>&1 || { echo "check-format: $CF is missing: apt-get install -y clang-format-14" >&2; exit 2; }
files=$(git ls-files '*.c' '*.h' 2> /dev/null || find . -name '*.[ch]' -not -path './build/*')
[ -n "$files" ] || { echo "check-format: no C files found" >&2; exit 2; }
if [ "${1:-}" = --fix ]; then
	echo "$files" | xargs "$CF" -i
	exit 0
fi
bad=0
for f in $files; do
	if ! "$CF" --dry-run --Werror "$f" > /dev/null 2>&1; then
		echo "check-format: $f differs from clang-format 14 (make format rewrites it)" >&2
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "check-format: $bad file(s) not formatted" >&2
	exit 1
fi
echo "check-format: $(echo "$files" | wc -l) files formatted as .clang-format says"
