# lib.sh - shared by bench.sh and check-gen.sh (sourced from the repository root).

BENCH_DIR=${BENCH_DIR:-/tmp/portmortem-bench}
case "$BENCH_DIR" in
/ | "" | "$HOME" | /tmp | /work | /usr | /etc)
	echo "BENCH_DIR=$BENCH_DIR is too broad: give a directory of its own" >&2
	exit 2 ;;
esac
mkdir -p "$BENCH_DIR"

# Prints the path of the capture generator, building it when needed: `make build/gen-capture`
# when the Makefile has that target, else straight into $BENCH_DIR with cc.
gen_binary() {
	if [ -n "${GEN:-}" ]; then
		echo "$GEN"
		return
	fi
	if make --no-print-directory build/gen-capture >/dev/null 2>&1 && [ -x build/gen-capture ]; then
		echo build/gen-capture
		return
	fi
	${CC:-cc} -std=c17 -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -O2 -Wall -Wextra \
		-o "$BENCH_DIR/gen-pcap" samples/gen/*.c >&2 || return 1
	echo "$BENCH_DIR/gen-pcap"
}

# truth_value FILE KEY: the number of a "# KEY N" line of a truth file.
truth_value() {
	sed -n "s/^# $2 //p" "$1"
}

# need CMD PACKAGE: fails with the Debian package to install when CMD is missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "missing $1: apt-get install -y $2" >&2
	exit 2
}
