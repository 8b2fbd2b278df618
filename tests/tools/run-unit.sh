#!/bin/sh
# run-unit.sh BINARY - runs the Criterion suite. Criterion's process spawner (boxfort) can
# fail to start a test worker on a loaded machine ("Could not spawn test instance"); that is
# the runner, not a test, so the whole suite is run again once in that case only.
# A skipped test (cr_skip_test: its data is not there, tests/unit/shared_data.c) does not
# fail the run; one line per reason says how many were skipped and why. Criterion 2.4 does
# fail the run on a logged warning (cr_log_warn): a test must skip or fail, never warn.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
	"$1" --jobs 2 --verbose >"$log" 2>&1
	st=$?
	if [ $st -ne 0 ] && grep -q "Could not spawn test instance" "$log" && [ $attempt -eq 1 ]; then
		echo "criterion could not spawn a test worker; running the suite again"
		continue
	fi
	grep -v '^\[----\]   $' "$log" | grep -E '^\[(FAIL|WARN|----)\]|Synthesis|ERROR|Sanitizer' |
		grep -v '^\[----\] Criterion v' | tail -n 60
	sed -n 's/^\[SKIP\] [^ ]*: //p' "$log" | sort | uniq -c | while read -r n why; do
		[ "$n" -eq 1 ] && t=test || t=tests
		echo "skipped: $n unit $t $why"
	done
	exit $st
done
