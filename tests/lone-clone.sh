#!/usr/bin/env bash
# lone-clone.sh - `make test` as a newcomer gets it (`make test-lone`): clones the committed
# HEAD into a new temporary directory, with no shared/ beside the clone, runs `make test`
# there and fails when it fails. The run must also say which groups it skipped for want of
# the shared data ("skipped: ..."), or it was not the lone run this is meant to check.
# Uncommitted changes are not in the clone. The directory is removed at the end, whatever
# happens. Not run by `make test` (it runs `make test`).
set -u
cd "$(dirname "$0")/.." || exit 2
head=$(git rev-parse --verify HEAD) || exit 2
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
	echo "lone-clone: uncommitted changes are not tested (the clone is of HEAD $head)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pm-lone.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
clone=$TMP/portmortem
git clone -q --no-hardlinks --no-checkout . "$clone" && git -C "$clone" checkout -q --detach "$head" ||
	{ echo "lone-clone: cannot clone $head into $clone" >&2; exit 2; }
if [ -e "$TMP/shared" ]; then echo "lone-clone: $TMP/shared exists" >&2; exit 2; fi

echo "lone-clone: make test in $clone (HEAD $(git -C "$clone" log -1 --format='%h %s'))"
start=$(date +%s)
# Nothing from this environment may point the clone at shared data, nor forbid skipping.
(cd "$clone" && env -u SHARED -u CORPUS -u REALWORLD -u REQUIRE_SHARED -u MAKEFLAGS -u MFLAGS \
	-u MAKELEVEL make test) 2>&1 | tee "$TMP/log"
st=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))

if [ "$st" -ne 0 ]; then
	echo "lone-clone: FAIL: make test exited $st in a clone without shared data (${secs}s)"
	exit 1
fi
if ! grep -q '^skipped: .*corpus' "$TMP/log"; then
	echo "lone-clone: FAIL: make test passed but named no skipped corpus group: was shared data found?"
	exit 1
fi
echo "lone-clone: make test passed without shared data in ${secs}s; it skipped:"
grep '^skipped: ' "$TMP/log" | sed 's/^/    /'
