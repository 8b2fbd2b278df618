#!/usr/bin/env bash
#SBATCH --job-name=portmortem
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --output=portmortem-%A_%a.log
# slurm-array.sh - analyzes an archive of captures on a Slurm cluster: task k of a job array
# of N tasks analyzes the k-th of N slices of the archive's sorted file list into its own
# database; one more job merges them (the same findings as one `portmortem analyze ARCHIVE`).
#
#   jid=$(sbatch --parsable --array=0-15 docs/slurm-array.sh ARCHIVE WORKDIR)
#   sbatch --dependency=afterany:$jid --wrap "docs/slurm-array.sh --merge ARCHIVE WORKDIR"
#
# ARCHIVE and WORKDIR must be on storage every node mounts at the same path. Task k writes
# WORKDIR/list.k (its files, NUL-separated) and WORKDIR/shard.k.db; --merge writes
# WORKDIR/all.db and prints the report (extra arguments go to `portmortem merge`, e.g.
# -f html -o WORKDIR/report.html). A task whose slice holds a capture cut short exits 1
# (done, input named in its log); failed tasks can be run again alone
# (sbatch --array=3,7 ...): files already stored are recognised without being read.
# The slice of a task is computed from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN (0 when
# unset) and SLURM_ARRAY_TASK_COUNT, so the script can be run by hand or tested with them set.
# PORTMORTEM names the binary (default: portmortem in PATH).
set -eu

PM=${PORTMORTEM:-portmortem}
merge=""
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
[ $# -ge 2 ] || { sed -n '12,13p' "$0" | sed 's/^# *//' >&2; exit 2; }
archive=$1 work=$2
shift 2
mkdir -p "$work"

if [ -n "$merge" ]; then
	exec "$PM" merge -d "$work/all.db" "$@" "$work"/shard.*.db
fi

: "${SLURM_ARRAY_TASK_ID:?not a task of a Slurm job array (set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)}"
: "${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set}"
task=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
count=$SLURM_ARRAY_TASK_COUNT
[ "$task" -ge 0 ] && [ "$task" -lt "$count" ] || {
	echo "slurm-array.sh: task $SLURM_ARRAY_TASK_ID is not in 0..$((count - 1)) (+ SLURM_ARRAY_TASK_MIN)" >&2
	exit 2
}

# The k-th of N slices of consecutive files (GNU split's l/K/N: cut by size, never inside a
# name): every task lists the archive the same way, sorted bytewise, so the slices cover it
# exactly once.
list="$work/list.$task"
find "$archive" -type f -print0 | LC_ALL=C sort -z >"$list.all"
split -n "l/$((task + 1))/$count" -t '\0' "$list.all" >"$list"
rm -f "$list.all"
echo "task $task of $count: $(tr -cd '\0' <"$list" | wc -c) files"
exec "$PM" analyze -q -j "${SLURM_CPUS_PER_TASK:-1}" -d "$work/shard.$task.db" -o /dev/null \
	--files-from "$list"
