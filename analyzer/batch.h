/* batch.h - the captures of one `analyze` run: listing them (arguments, --files-from,
 * directories), recognising unchanged files before reading them, counting what became of
 * each, the summary line, and the progress line and SIGUSR1 snapshot. */
#ifndef PM_BATCH_H
#define PM_BATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "analyzer/capture.h"
#include "db/db.h"

/* One capture of the run. */
struct batch_item {
	char *path;  /* as listed */
	char *known; /* an unchanged file already stored: its identity (not read again) */
	char *real;  /* absolute path with links resolved; NULL when not a regular file */
	int64_t size, mtime_ns, inode;
};

/* What became of a capture (analyze.c's outcomes, counted here). */
enum batch_outcome { BATCH_STORED, BATCH_CUT, BATCH_KNOWN, BATCH_FAILED, BATCH_DB, BATCH_STOPPED };

struct batch {
	struct batch_item *items;
	int n, cap;
	int status; /* 1 once something listed could not be read */
	bool stdin_seen;
	bool verbose; /* -v: a line per file skipped or already stored */
	bool quiet;
	const char *filter; /* --filter: part of a file's identity */
	/* The walk: files that are not captures, files and directories that cannot be read. */
	int n_skipped, n_unreadable;
	/* Outcomes. */
	int n_stored, n_cut, n_known, n_unchanged, n_failed, n_db;
	/* Files read to their end and stored (or found stored): recorded at the end of the run. */
	struct db_file_id *files;
	char **file_keys;
	int n_files, files_cap;
	sqlite3 *db; /* for the look-ups while listing */
	sqlite3_stmt *lookup;
};

/*
 * Lists the captures of `args` and of the file `files_from` (NULL: none; "-": standard
 * input; names separated by NUL bytes when the file holds one, else by newlines; empty names
 * ignored). Directories are walked; a file found in one, or listed in `files_from`, that is
 * not a capture is skipped and counted (-v names it), never an error; a file named in the
 * arguments is left to the reader to judge (one that is not a capture is an error). A regular file
 * whose path, size, modification time and inode match a capture stored in `db` (read with the same
 * filter) is taken as known without reading it. Errors are printed as they come (b->status 1). 0,
 * or -1 when the list of names itself could not be read (said on standard error).
 */
int batch_list(struct batch *b, sqlite3 *db, const char *const *args, int n_args,
	       const char *files_from);

/* Counts an outcome of item i, and remembers the file when it was read in full and stored
 * (or found stored) under `key`. Not thread-safe: the caller holds its lock. */
void batch_count(struct batch *b, int i, enum batch_outcome o, const char *key);

/* Records the files remembered by batch_count() in the database (capture_files): the next
 * run recognises them unread. 0 or -1 with errbuf. */
int batch_remember(struct batch *b, sqlite3 *db, char *errbuf);

/* "portmortem: 589 files: 12 stored, 575 already in the database (570 unchanged, not read
 * again), 2 skipped (not captures)" on `out`. */
void batch_summary(const struct batch *b, FILE *out);

void batch_free(struct batch *b);

/* ---- progress ---- */

struct progress;

/*
 * Starts the progress thread of a run with `n_workers` readers and `total` captures. It
 * prints a snapshot line to standard error at each SIGUSR1 (which it blocks in the calling
 * thread, and so in every thread created afterwards) and, with `line`, redraws a progress line
 * twice a second (after the first second). `print_lock` serialises its output with the
 * caller's. NULL when it could not start (no progress then, SIGUSR1 still blocked).
 */
struct progress *progress_start(int n_workers, int total, bool line, pthread_mutex_t *print_lock);
/* A worker's slot (0 .. n_workers - 1): its thread publishes its reads there (cap_watch). */
void progress_worker(struct progress *p, int slot);
/* The worker of `slot` starts or ends reading `path` (size < 0: unknown). */
void progress_begin(struct progress *p, int slot, const char *path, long long size);
void progress_end(struct progress *p, int slot, int done);
/* The captures are read: no more progress line (the report may go to the same terminal);
 * a SIGUSR1 snapshot then says `what` is being done. */
void progress_phase(struct progress *p, const char *what);
/* Clears the progress line (with print_lock held). */
void progress_clear(struct progress *p);
void progress_stop(struct progress *p);

#endif
