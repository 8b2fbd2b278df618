#!/bin/sh
# run-unit.sh BINARY - runs the Criterion suite. Criterion's process spawner (boxfort) can
# fail to start a test worker on a loaded machine ("Could not spawn test instance"); that is
# the runner, not a test, so the whole suite is run again once in that case only.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
	"$1" --jobs 2 >"$log" 2>&1
	st=$?
	if [ $st -ne 0 ] && grep -q "Could not spawn test instance" "$log" && [ $attempt -eq 1 ]; then
		echo "criterion could not spawn a test worker; running the suite again"
		continue
	fi
	grep -v '^\[----\]   $' "$log" | grep -E '^\[(FAIL|----)\]|Synthesis|ERROR|Sanitizer' | tail -n 60
	exit $st
done
