# harness.sh - sourced by the test scripts (integration.sh, reports.sh, tshark-agree.sh):
# sanitizer settings, pass/fail counters, the shared checks and where the shared data lies.
# Needs BIN and TMP set; the scripts run from the repository root.

# The public captures kept beside the repository: SHARED, else ../shared (relative to the
# repository root; tests/unit/shared_data.c finds them the same way). CI lays ../shared beside
# its clone; a newcomer's clone has none, and each group of tests that reads it is skipped
# with one line saying so (have_shared). REQUIRE_SHARED=1 (CI) makes that a failure instead.
SHARED=${SHARED:-../shared}
CORPUS=${CORPUS:-$SHARED/corpus}
REALWORLD=${REALWORLD:-$SHARED/realworld}
CORPUS_LIST=tests/corpus-ref/corpus.list # the corpus's files, written by make-refs.sh
export SHARED CORPUS REALWORLD

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'FAIL: %s\n' "$*"; }
check() { # check NAME COMMAND... : passes when the command succeeds
	local name=$1; shift
	if "$@" >"$TMP/out" 2>&1; then ok; else bad "$name"; sed 's/^/    /' "$TMP/out" | head -20; fi
}

# have_shared DIR WHAT : true when DIR (one of CORPUS, REALWORLD) is there. Otherwise prints
# "skipped: WHAT (DIR not found beside the repository)" and is false; with REQUIRE_SHARED=1
# it counts a failure instead.
have_shared() {
	local where=""
	[ -d "$1" ] && [ -r "$1" ] && [ -x "$1" ] && return 0
	case $1 in ../shared/*) where=" beside the repository" ;; esac
	if [ "${REQUIRE_SHARED:-}" = 1 ]; then
		bad "$2: $1 not found (REQUIRE_SHARED=1)"
	else
		printf 'skipped: %s (%s not found%s)\n' "$2" "$1" "$where"
	fi
	return 1
}

# corpus_files : the corpus files the suite reads (not its READMEs and licences), sorted.
corpus_files() {
	find "$CORPUS" -type f ! -name '*.md' ! -name 'LICENSE*' ! -name 'COPYING*' | LC_ALL=C sort
}

# The columns tests/tools/tshark-ref.sh prints (frame reporter family type code src sport dst
# dport), from our events output of CAPTURE ("-": standard input); a sanitizer report or a
# crash (exit > 1) prints a line that matches no reference.
our_ref() {
	"$BIN" events -f tsv "$1" 2>/dev/null | awk -F'\t' 'NR > 1 {
		print $3 "\t" $4 "\t" $6 "\t" $7 "\t" $8 "\t" $10 "\t" $11 "\t" $12 "\t" $13 }'
	local st=${PIPESTATUS[0]}
	[ "$st" -le 1 ] || echo "portmortem exited $st"
}

