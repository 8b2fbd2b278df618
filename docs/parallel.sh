#!/usr/bin/env bash
# parallel.sh - analyzes an archive of captures in shards with GNU parallel, one database per
# shard, on this machine or on several (--sshloginfile), then merges the shards into one
# database and prints its report: the same findings as one `portmortem analyze ARCHIVE`.
#
# usage: docs/parallel.sh [-j SLOTS] [-s SHARDS] [-w WORKDIR] [--sshloginfile FILE]
#                         [--resume-failed] ARCHIVE OUT.db [REPORT OPTIONS...]
#
#   -j SLOTS        shards analyzed at once on each machine (parallel's -j; default: its
#                   cores). Each shard runs `portmortem analyze -j 1`.
#   -s SHARDS       how many shards the file list is cut into (default 4 x SLOTS); more
#                   shards, smaller retries
#   -w WORKDIR      where the lists, shard databases and joblog go (default
#                   ./portmortem-shards); keep it to resume
#   --sshloginfile FILE   machines to run on (parallel's format: one "[N/]user@host" per
#                   line, ":" for this machine). Each needs portmortem in its PATH and the
#                   ARCHIVE at the same path (NFS, a shared mount); the list of each shard is
#                   sent to it and the shard's database brought back (--transferfile,
#                   --return, --cleanup)
#   --resume-failed run again only the shards that failed or never ran, from WORKDIR/joblog
#                   (a shard whose database is done is not analyzed again)
#   REPORT OPTIONS  passed to `portmortem merge` (e.g. -f html -o report.html)
#
# Every file under ARCHIVE is listed (find -print0, sorted): portmortem skips and counts what
# is not a capture. A shard exits 1 when a capture in it was cut short (stored with what
# could be read, named in its output); its joblog line says so, and --resume-failed runs it
# again. PORTMORTEM names the binary (default: portmortem in PATH).
set -eu

usage() {
	sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

PM=${PORTMORTEM:-portmortem}
slots="" shards="" work=./portmortem-shards sshlogin="" resume=""
while [ $# -gt 0 ]; do
	case $1 in
	-j) slots=$2; shift 2 ;;
	-s) shards=$2; shift 2 ;;
	-w) work=$2; shift 2 ;;
	--sshloginfile) sshlogin=$2; shift 2 ;;
	--resume-failed) resume=1; shift ;;
	-h | --help) usage ;;
	-*) echo "parallel.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || usage
archive=$1 out=$2
shift 2
command -v parallel >/dev/null || { echo "parallel.sh: needs GNU parallel (apt-get install parallel)" >&2; exit 2; }
[ -d "$archive" ] || { echo "parallel.sh: $archive is not a directory" >&2; exit 2; }
slots=${slots:-$(nproc)}
shards=${shards:-$((4 * slots))}
mkdir -p "$work"

# 1. The shards: the sorted file list cut into SHARDS lists of consecutive files (a rotated
# set stays together as far as it can; the merge correlates across shards anyway). Made once:
# a resumed run keeps the shards its joblog speaks of.
if [ -z "$resume" ] || ! ls "$work"/list.* >/dev/null 2>&1; then
	rm -f "$work"/list.* "$work"/joblog "$work"/shard.*.db*
	find "$archive" -type f -print0 | LC_ALL=C sort -z >"$work/files"
	n=$(tr -cd '\0' <"$work/files" | wc -c)
	[ "$n" -gt 0 ] || { echo "parallel.sh: no file under $archive" >&2; exit 1; }
	[ "$shards" -le "$n" ] || shards=$n
	split -n "l/$shards" -t '\0' -a 4 -d "$work/files" "$work/list."
	rm -f "$work/files"
	find "$work" -name 'list.*' -empty -delete
fi

# 2. One portmortem per shard, into its own database. The joblog records each shard's exit
# status; --resume-failed runs again those that failed or did not run.
popts=(--joblog "$work/joblog" -j "$slots" --halt never)
[ -n "$resume" ] && popts+=(--resume-failed)
if [ -n "$sshlogin" ]; then
	popts+=(--sshloginfile "$sshlogin" --transferfile {} --return "{}.db" --cleanup)
fi
set +e
# shellcheck disable=SC2016 # {} is parallel's, expanded per shard
parallel "${popts[@]}" "$PM" analyze -q -j 1 -d {}.db -o /dev/null --files-from {} \
	::: "$work"/list.????
status=$?
set -e
[ "$status" -eq 0 ] || echo "parallel.sh: $status shard(s) failed or had input cut short: see $work/joblog; rerun with --resume-failed" >&2

# 3. The merge: every shard's captures in one database, findings over all of them.
"$PM" merge -d "$out" "$@" "$work"/list.????.db
exit "$status"
