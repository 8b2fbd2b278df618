# harness.sh - sourced by the test scripts (integration.sh, reports.sh, tshark-agree.sh):
# sanitizer settings, pass/fail counters and the shared checks. Needs BIN and TMP set.

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); printf 'FAIL: %s\n' "$*"; }
check() { # check NAME COMMAND... : passes when the command succeeds
	local name=$1; shift
	if "$@" >"$TMP/out" 2>&1; then ok; else bad "$name"; sed 's/^/    /' "$TMP/out" | head -20; fi
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

# Captures recorded ahead of the diagnosis rules for their labels: samples/expected/PENDING and
# tests/holdout/expected/PENDING, one capture name per line (with or without a directory or
# .pcap; "#" starts a comment); a name in either file counts for both sets. Their label check
# (integration.sh) and their golden reports (reports.sh) are skipped, and said so, until the
# name is taken out of the file.
pending_names() {
	cat samples/expected/PENDING tests/holdout/expected/PENDING 2>/dev/null |
		sed 's/#.*//; s/[[:space:]]//g; s/\.pcap$//; s|.*/||' | grep -v '^$'
}
is_pending() { pending_names | grep -qxF "$1"; } # is_pending STEM
