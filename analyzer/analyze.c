/* analyze.c - `portmortem analyze`: captures read by worker threads, stored, diagnosed, reported.
 */
#include "analyzer/commands.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "analyzer/batch.h"
#include "analyzer/corr.h"
#include "analyzer/diagnose.h"
#include "analyzer/scan.h"
#include "analyzer/store.h"
#include "db/db.h"
#include "dissectors/dissect.h"

#define FLOW_CACHE_SLOTS (1u << 18)

/* A scratch database only holds one capture's rows until they are copied: no journal to
 * sync, no foreign-key bookkeeping (the copy into the real database checks them), and none
 * of the indexes that only the reports need. */
static const char SCRATCH_SQL[] =
    "PRAGMA main.journal_mode = MEMORY; PRAGMA main.synchronous = OFF; PRAGMA foreign_keys = OFF;"
    "PRAGMA main.cache_size = -32768;"
    "DROP INDEX main.events_capture; DROP INDEX main.events_finding;"
    "DROP INDEX main.host_ttls_ip;";

/* Empties the scratch database for the next capture (no foreign keys to cascade there). */
static const char SCRATCH_EMPTY_SQL[] =
    "DELETE FROM main.events; DELETE FROM main.flows; DELETE FROM main.endpoints;"
    "DELETE FROM main.endpoint_clients; DELETE FROM main.host_ttls;"
    "DELETE FROM main.source_ports; DELETE FROM main.capture_anomalies;"
    "DELETE FROM main.captures;";

/* The signal that asked us to stop (SIGINT, SIGTERM), 0 until then. The handler only sets
 * it; readers (cap_set_stop_flag), SQLite statements (db_set_stop_flag), the packet loop
 * and the workers between captures look at it. */
static volatile sig_atomic_t g_signal;

static void on_signal(int signo)
{
	g_signal = signo;
}

/* SA_RESETHAND: a second Ctrl-C ends the process at once. No SA_RESTART: a blocked read
 * returns. */
void pm_catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cap_set_stop_flag(&g_signal);
	db_set_stop_flag(&g_signal);
}

int pm_signal(void)
{
	return g_signal;
}

struct capture_list {
	char **paths;
	int n, cap;
	int status;
	bool stdin_seen;
};

struct run {
	const struct cli *cli;
	struct batch batch;	  /* the captures of the run, and what became of them */
	struct capture_list keys; /* identities of this run's captures in the database */
	pthread_mutex_t lock;	  /* the fields below, and standard error */
	int next, done;
	int status;
	atomic_int decode_threads; /* cores not taken by a worker: free for decompression */
	atomic_int next_slot;	   /* progress slot of the next worker */
	struct progress *progress;
	bool db_failed; /* a database error (exit status PM_EXIT_DB) */
	bool direct;	/* one worker: it stores into the database itself, no scratch copy */
	int *same_next; /* several workers: the next item with the same bytes, -1 (same_files) */
	bool *taken;	/* items a worker took with an earlier one of the same bytes */
};

static void add_capture(const char *path, const char *err, void *arg)
{
	struct capture_list *l = arg;
	if (err) {
		fprintf(stderr, "portmortem: %s: %s\n", path, err);
		l->status = 1;
		return;
	}
	if (strcmp(path, "-") == 0) {
		if (l->stdin_seen)
			return;
		l->stdin_seen = true;
	}
	if (l->n == l->cap) {
		int ncap = l->cap ? l->cap * 2 : 64;
		char **np = realloc(l->paths, (size_t)ncap * sizeof *np);
		if (!np)
			goto out_of_memory;
		l->paths = np;
		l->cap = ncap;
	}
	l->paths[l->n] = strdup(path);
	if (!l->paths[l->n])
		goto out_of_memory;
	l->n++;
	return;
out_of_memory:
	fprintf(stderr, "portmortem: %s: out of memory listing captures\n", path);
	l->status = 1;
}

/* OUT_CUT: stored, but the input was cut or corrupt; OUT_FAILED: not read at all; OUT_DB:
 * the database failed; OUT_STOPPED: a signal came, the capture was rolled back. */
enum outcome { OUT_STORED, OUT_CUT, OUT_KNOWN, OUT_FAILED, OUT_DB, OUT_STOPPED };

/* The identity of a capture in the database: its content, and the filter it was read with. */
static void capture_key(const char *hash, const char *filter, char *out, size_t out_len)
{
	snprintf(out, out_len, "%s%s%s", hash, filter ? "|filter=" : "", filter ? filter : "");
}

/* Whether `tag` + the hash (a legacy identity) is stored: 1 (and that identity in key), 0,
 * -1. "" hash: not asked. */
static int known_legacy(sqlite3 *w, const char *tag, const char *hash, const char *filter,
			char *key, size_t key_len, char *errbuf)
{
	char tagged[40], legacy[4200];
	if (!hash[0])
		return 0;
	snprintf(tagged, sizeof tagged, "%s%s", tag, hash);
	capture_key(tagged, filter, legacy, sizeof legacy);
	int known = db_capture_known(w, "out", legacy, errbuf);
	if (known == 1)
		snprintf(key, key_len, "%s", legacy);
	return known;
}

/* Whether the capture read by r (to its end) is in the database already: by its packets
 * (XXH3), or by the identities older databases recorded, computed only when the database
 * holds some (cmd_analyze): the legacy packet hash of version 2 ("pkt1:"), the legacy hash
 * of the file's bytes of version 1 ("file:"). 1 known, 0 not, -1 error. */
static int known_capture(sqlite3 *w, struct cap_reader *r, const char *filter, char *key,
			 size_t key_len, char *errbuf)
{
	char hash[33];
	cap_content_hash(r, hash);
	capture_key(hash, filter, key, key_len);
	int known = db_capture_known(w, "out", key, errbuf);
	if (known == 0) /* or stored by this worker and not copied yet (flush_copies()) */
		known = db_capture_known(w, "main", key, errbuf);
	if (known != 0)
		return known;
	cap_legacy_packet_hash(r, hash);
	known = known_legacy(w, "pkt1:", hash, filter, key, key_len, errbuf);
	if (known != 0)
		return known;
	cap_legacy_file_hash(r, hash);
	return known_legacy(w, "file:", hash, filter, key, key_len, errbuf);
}

/* Reads a capture only to learn its content hash (its identity goes to key). 1 known, 0 not,
 * -1 unreadable. */
static int known_content(sqlite3 *w, const char *path, const struct cli *cli, char *key,
			 size_t key_len)
{
	char errbuf[CAP_ERRBUF_SIZE];
	struct cap_reader *r = NULL;
	struct cap_pkt pkt;
	struct cap_options o = cli->cap_opt;
	o.filter = NULL;
	o.sha256 = false;
	if (cap_open(path, &o, &r, errbuf) < 0)
		return -1;
	int rc;
	while ((rc = cap_next(r, &pkt)) == 1)
		;
	int known = known_capture(w, r, NULL, key, key_len, errbuf);
	cap_close(r);
	return known;
}

static long long file_size(const char *path)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return -1;
	return (long long)sb.st_size;
}

static enum outcome scan_and_store(sqlite3 *w, const char *schema, const char *path, long long size,
				   struct cap_reader *r, const struct cli *cli, char *msg,
				   size_t msg_len, char *key, size_t key_len)
{
	char errbuf[DB_ERRBUF_SIZE];
	struct scan_stats st;
	struct store_job j = {.stop = &g_signal};
	enum outcome o;
	j.corr = corr_new(cli->max_endpoints, FLOW_CACHE_SLOTS);
	j.store = j.corr ? store_begin(w, schema, path, cli->cap_opt.filter, errbuf) : NULL;
	if (!j.store) {
		snprintf(msg, msg_len, "%s", j.corr ? errbuf : "out of memory");
		o = j.corr ? OUT_DB : OUT_FAILED;
		goto done;
	}
	/* A scan that gets a core to spare reads on it; in an error storm that reader waits for
	 * the inserts most of the time, and the events' thread shares the core with it. Without
	 * one (as many workers as cores, or a decompression thread holding it), neither runs. */
	atomic_int *spare = cli->cap_opt.decode_threads;
	store_allow_thread(j.store, spare && atomic_load(spare) > 0);
	int rc = scan_capture_ahead(r, &st, store_scanned, store_ahead, &j, spare);
	if (rc != SCAN_DB_ERROR && rc != SCAN_STOPPED && store_flush(j.store) < 0)
		rc = SCAN_DB_ERROR;
	if (rc == SCAN_DB_ERROR || rc == SCAN_STOPPED || (rc < 0 && g_signal)) {
		snprintf(msg, msg_len, "%s",
			 rc == SCAN_DB_ERROR ? store_error(j.store) : "interrupted");
		o = rc == SCAN_DB_ERROR ? OUT_DB : OUT_STOPPED;
		goto done;
	}
	int known = known_capture(w, r, cli->cap_opt.filter, key, key_len, errbuf);
	if (known != 0) {
		snprintf(msg, msg_len, "%s",
			 known < 0 ? errbuf : "already in the database (same content)");
		o = known < 0 ? OUT_DB : OUT_KNOWN;
		goto done;
	}
	char sha[65]; /* "" (stored NULL) when the file could not be read to its end */
	(void)cap_sha256(r, sha);
	struct capture_facts f = store_facts(r, rc, &st, j.corr);
	f.size = size;
	f.hash = key;
	f.sha256 = sha;
	if (rc < 0)
		snprintf(msg, msg_len, "%s", cap_error(r));
	/* store_finish() commits and frees the store, or rolls back and frees it */
	struct store *s = j.store;
	j.store = NULL;
	if (store_finish(s, &f, errbuf) < 0) {
		snprintf(msg, msg_len, "%s", errbuf);
		o = g_signal ? OUT_STOPPED : OUT_DB;
		goto done;
	}
	o = rc < 0 ? OUT_CUT : OUT_STORED;
done:
	store_abort(j.store);
	corr_free(j.corr);
	return o;
}

#define COPY_ERR_LEN 512

/* The one capture db_copy_captures() copied for analyze_one(): its error goes to arg
 * (COPY_ERR_LEN) when it failed. */
static void copy_failed(const char *capture_path, enum copy_result result, const char *err,
			void *arg)
{
	if (result == COPY_FAILED)
		snprintf(arg, COPY_ERR_LEN, "%s", err);
}

/* Analyzes one capture into the worker's private database `w`, then copies it into "out";
 * a lone worker (`direct`) stores a regular file into "out" itself: a million events are
 * written once, not twice. With `defer`, a capture stored in `w` stays there (OUT_STORED or
 * OUT_CUT) for the worker's next flush_copies(). The message (error or note) goes to msg; the
 * capture's identity in the database to key ("" when it is not there). A capture cut short
 * is stored and FAILED. */
static enum outcome analyze_one(sqlite3 *w, bool direct, bool defer, const char *path,
				const struct cli *cli, char *msg, size_t msg_len, char *key,
				size_t key_len)
{
	char errbuf[CAP_ERRBUF_SIZE > DB_ERRBUF_SIZE ? CAP_ERRBUF_SIZE : DB_ERRBUF_SIZE];
	struct cap_reader *r = NULL;
	long long size = file_size(path);
	msg[0] = key[0] = '\0';
	if (g_signal) {
		snprintf(msg, msg_len, "interrupted");
		return OUT_STOPPED;
	}
	if (size >= 0 && !cli->cap_opt.filter && db_size_known(w, "out", size, errbuf) == 1 &&
	    known_content(w, path, cli, key, key_len) == 1) {
		snprintf(msg, msg_len, "already in the database (same content)");
		return OUT_KNOWN;
	}
	if (cap_open(path, &cli->cap_opt, &r, errbuf) < 0) {
		snprintf(msg, msg_len, "%s", errbuf);
		return OUT_FAILED;
	}
	/* Straight into the real database only from a file of known size: the write lock is
	 * held while it is read, which a pipe or a FIFO could make last for ever for other
	 * runs waiting on it. */
	direct = direct && size >= 0;
	enum outcome o = scan_and_store(w, direct ? "out" : "main", path, size, r, cli, msg,
					msg_len, key, key_len);
	cap_close(r);
	if (o == OUT_KNOWN || o == OUT_DB || o == OUT_STOPPED || direct || defer)
		return o;
	struct copy_counts k;
	char copy_err[COPY_ERR_LEN] = "";
	if (db_copy_captures(w, "main", "out", &k, copy_failed, copy_err, errbuf) < 0 ||
	    db_exec(w, SCRATCH_EMPTY_SQL, errbuf) < 0 || k.failed) {
		snprintf(msg, msg_len, "%s", k.failed ? copy_err : errbuf);
		return g_signal ? OUT_STOPPED : OUT_DB;
	}
	if (k.skipped && !k.copied) {
		snprintf(msg, msg_len, "already in the database (same content)");
		return OUT_KNOWN;
	}
	return o;
}

/* Workers take turns writing the real database, each for the few milliseconds of one
 * capture's copy: the next one retries every 200 us instead of SQLite's default back-off
 * (1, 2, 5, 10 ... ms), which left it asleep long after the lock was free. 30 s in all, as
 * db_open()'s busy timeout. */
static int busy_retry(void *arg, int n)
{
	(void)arg;
	if (n >= 150000)
		return 0;
	usleep(200);
	return 1;
}

/* A worker's private scratch database with the real one attached as "out". */
static sqlite3 *open_scratch(const char *db_path, char *errbuf)
{
	sqlite3 *w = NULL;
	if (db_open("", &w, errbuf) < 0)
		return NULL;
	if (db_exec(w, SCRATCH_SQL, errbuf) < 0 || db_attach(w, db_path, "out", errbuf) < 0 ||
	    db_exec(w, "PRAGMA out.cache_size = -32768; PRAGMA out.synchronous = NORMAL", errbuf) <
		0) {
		sqlite3_close(w);
		return NULL;
	}
	sqlite3_busy_handler(w, busy_retry, NULL);
	/* Each capture's copy is a transaction of a few hundred pages: checkpointed every 1000
	 * pages (SQLite's default), a batch of small captures paid a checkpoint and its fsync
	 * every second or third capture. Every 16384 pages (64 MiB of WAL) instead; the last
	 * connection to close checkpoints what is left. */
	sqlite3_wal_autocheckpoint(w, 16384);
	return w;
}

static const enum batch_outcome AS_BATCH[] = {
    [OUT_STORED] = BATCH_STORED, [OUT_CUT] = BATCH_CUT, [OUT_KNOWN] = BATCH_KNOWN,
    [OUT_FAILED] = BATCH_FAILED, [OUT_DB] = BATCH_DB,	[OUT_STOPPED] = BATCH_STOPPED,
};

/* Counts the outcome of capture i; errors always go to standard error, notes with -v. */
static void report_outcome(struct run *run, int i, enum outcome o, const char *msg, const char *key)
{
	const char *path = run->batch.items[i].path;
	pthread_mutex_lock(&run->lock);
	run->done++;
	if (key[0])
		add_capture(key, NULL, &run->keys);
	if (o == OUT_FAILED || o == OUT_CUT)
		run->status = PM_EXIT_INPUT;
	run->db_failed |= o == OUT_DB;
	batch_count(&run->batch, i, AS_BATCH[o], key);
	progress_clear(run->progress);
	if (o == OUT_FAILED || o == OUT_CUT)
		fprintf(stderr, "portmortem: %s: %s\n", path, msg);
	else if (o == OUT_DB)
		fprintf(stderr, "portmortem: database %s: %s (while storing %s)\n",
			run->cli->db_path, msg, path);
	else if (o == OUT_KNOWN && run->cli->verbose)
		fprintf(stderr, "portmortem: %s: %s, nothing added\n", path, msg);
	else if (o == OUT_STORED && run->cli->verbose)
		fprintf(stderr, "portmortem: %s: stored\n", path);
	pthread_mutex_unlock(&run->lock);
}

/* Captures stored but not yet committed or copied, whose outcomes are told once they are in
 * the real database: a lone worker's open transaction (BATCH_COMMIT_MS), or what one of
 * several workers stored in its scratch database (flush_copies()). At most COPY_PENDING_MAX. */
#define BATCH_COMMIT_MS 250
#define COPY_PENDING_MAX 256

struct pending {
	int i; /* the batch item */
	enum outcome o;
	char msg[1024], key[4200];
};

struct pending_list {
	struct pending *p;     /* NULL without memory for it: each capture is told at once */
	int n, next;	       /* stored; the next one the copy tells of */
	struct timespec since; /* when the first of them began to be read */
};

static double ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

/* Keeps capture i's outcome until its transaction is committed or it is copied (there is
 * room: the worker flushes a full list before it stores another capture). */
static void pending_add(struct pending_list *pl, int i, enum outcome o, const char *msg,
			const char *key)
{
	struct pending *p = &pl->p[pl->n++];
	p->i = i, p->o = o;
	snprintf(p->msg, sizeof p->msg, "%s", msg);
	snprintf(p->key, sizeof p->key, "%s", key);
}

/* A lone worker stores one small capture after another into the real database: committed
 * one by one, 589 rotated files spent a fifth of their run writing the same index pages to
 * the WAL again. It keeps one transaction open over the captures it stores for up to
 * BATCH_COMMIT_MS (each capture in a savepoint of its own, kept or dropped whole) and
 * commits then, before a capture it cannot store directly, and at the end. A crash loses at
 * most that much work, which the next run redoes (capture_files is written after). */
struct txn_batch {
	bool open;
};

/* Commits the lone worker's open transaction and tells the outcomes of the captures in it.
 * When the commit fails (a full disk, an I/O error: SQLite rolls the transaction back), each
 * of them is stored again in a transaction of its own, so that as many as fit are kept and
 * each of the others is named with its error, as when every capture was committed alone. */
static void batch_commit(struct run *run, sqlite3 *w, struct txn_batch *b, struct pending_list *pl)
{
	char errbuf[DB_ERRBUF_SIZE], ignore[DB_ERRBUF_SIZE];
	if (!b->open)
		return;
	b->open = false;
	bool ok = !sqlite3_get_autocommit(w) && db_exec(w, "COMMIT", errbuf) == 0;
	if (!ok)
		db_exec(w, "ROLLBACK", ignore);
	db_exec(w, "PRAGMA foreign_keys = ON", ignore);
	for (int j = 0; j < pl->n; j++) {
		struct pending *p = &pl->p[j];
		if (!ok)
			p->o = analyze_one(w, true, false, run->batch.items[p->i].path, run->cli,
					   p->msg, sizeof p->msg, p->key, sizeof p->key);
		report_outcome(run, p->i, p->o, p->msg, p->key);
	}
	pl->n = 0;
}

static void batch_before(struct run *run, sqlite3 *w, struct txn_batch *b, struct pending_list *pl,
			 const struct batch_item *it)
{
	char errbuf[DB_ERRBUF_SIZE];
	if (!run->direct || it->known || !pl->p)
		return;
	if (it->size < 0 || !it->real) { /* a pipe or FIFO: copied from the scratch database */
		batch_commit(run, w, b, pl);
		return;
	}
	/* IMMEDIATE: the capture's first statements only read (is it known already?); a
	 * deferred transaction would then have to turn a read into a write, which SQLite
	 * refuses at once, without waiting, when another run wrote in between. */
	/* Foreign keys off for the batch (a pragma a transaction cannot change): the store
	 * writes a capture's rows after the rows they point to and deletes nothing, and the
	 * parent lookups were a tenth of storing each event. */
	if (b->open || db_exec(w, "PRAGMA foreign_keys = OFF", errbuf) < 0)
		return;
	if (db_exec(w, "BEGIN IMMEDIATE", errbuf) < 0) { /* no batch: each commits */
		db_exec(w, "PRAGMA foreign_keys = ON", errbuf);
		return;
	}
	b->open = true;
	clock_gettime(CLOCK_MONOTONIC, &pl->since);
}

static void batch_after(struct run *run, sqlite3 *w, struct txn_batch *b, struct pending_list *pl)
{
	if (b->open && (sqlite3_get_autocommit(w) || pl->n >= COPY_PENDING_MAX ||
			ms_since(&pl->since) >= BATCH_COMMIT_MS || g_signal))
		batch_commit(run, w, b, pl);
}

/* Several workers: what each stored in its scratch database is copied into the real one
 * together, one transaction and one set of prepared statements for up to COPY_PENDING_MAX
 * captures or what BATCH_COMMIT_MS of work stored (copied one at a time, the copy's
 * statements and its commit were half the work of 589 small files). */
static void pending_told(const char *capture_path, enum copy_result result, const char *err,
			 void *arg)
{
	struct pending_list *pl = arg;
	if (pl->next >= pl->n)
		return;
	struct pending *p = &pl->p[pl->next++];
	if (result == COPY_KNOWN) {
		p->o = OUT_KNOWN;
		snprintf(p->msg, sizeof p->msg, "already in the database (same content)");
	} else if (result == COPY_FAILED) {
		p->o = g_signal ? OUT_STOPPED : OUT_DB;
		snprintf(p->msg, sizeof p->msg, "%s", err);
	}
}

static void flush_copies(struct run *run, sqlite3 *w, struct pending_list *pl)
{
	char errbuf[DB_ERRBUF_SIZE], ignore[DB_ERRBUF_SIZE];
	struct copy_counts k;
	if (run->direct || !pl->n)
		return;
	pl->next = 0;
	int rc = db_copy_captures(w, "main", "out", &k, pending_told, pl, errbuf);
	/* the scratch database is emptied whatever the copy did; its error counts if the copy's
	 * did not */
	if (db_exec(w, SCRATCH_EMPTY_SQL, rc < 0 ? ignore : errbuf) < 0)
		rc = -1;
	for (int j = pl->next; rc < 0 && j < pl->n; j++) { /* not copied */
		pl->p[j].o = g_signal ? OUT_STOPPED : OUT_DB;
		snprintf(pl->p[j].msg, sizeof pl->p[j].msg, "%s", errbuf);
	}
	for (int j = 0; j < pl->n; j++)
		report_outcome(run, pl->p[j].i, pl->p[j].o, pl->p[j].msg, pl->p[j].key);
	pl->n = 0;
}

/* Files with the same bytes in one run (a capture listed twice, a copy in another directory)
 * are read by one worker, in the order they were listed: the first is stored and the others
 * are found to be known, as with -j 1. Two workers would each read one, and the one to finish
 * first would be stored: its path, from run to run. Same bytes: the same size and the same
 * first 64 KiB (only files whose size another one shares are read for that). The chains go to
 * run->same_next; none when memory runs out (every file for itself, as before). */
#define SAME_PREFIX_LEN 65536

struct same_key {
	int64_t size;
	uint64_t prefix; /* XXH3 of the first SAME_PREFIX_LEN bytes; 0 when unread */
	int i;
};

static int same_key_cmp(const void *a, const void *b)
{
	const struct same_key *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return x->i - y->i;
}

static uint64_t file_prefix_hash(const char *path, unsigned char *buf)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, SAME_PREFIX_LEN, f);
	fclose(f);
	return n ? XXH3_64bits(buf, n) | 1 : 0;
}

static void same_files(struct run *run)
{
	int n = run->batch.n;
	struct same_key *k = calloc((size_t)n, sizeof *k);
	unsigned char *buf = malloc(SAME_PREFIX_LEN);
	run->same_next = malloc((size_t)n * sizeof *run->same_next);
	run->taken = calloc((size_t)n, sizeof *run->taken);
	if (!k || !buf || !run->same_next || !run->taken) {
		free(run->same_next), free(run->taken);
		run->same_next = NULL, run->taken = NULL;
		goto done;
	}
	for (int i = 0; i < n; i++) {
		const struct batch_item *it = &run->batch.items[i];
		k[i] =
		    (struct same_key){.size = it->known || !it->real ? -1 - i : it->size, .i = i};
		run->same_next[i] = -1;
	}
	qsort(k, (size_t)n, sizeof *k, same_key_cmp);
	for (int a = 0; a < n; a++) /* sizes shared: read their first bytes */
		if (k[a].size >= 0 && ((a > 0 && k[a - 1].size == k[a].size) ||
				       (a + 1 < n && k[a + 1].size == k[a].size)))
			k[a].prefix = file_prefix_hash(run->batch.items[k[a].i].path, buf);
	qsort(k, (size_t)n, sizeof *k, same_key_cmp);
	for (int a = 0; a + 1 < n; a++)
		if (k[a].size >= 0 && k[a].prefix && k[a + 1].size == k[a].size &&
		    k[a + 1].prefix == k[a].prefix)
			run->same_next[k[a].i] = k[a + 1].i;
done:
	free(k);
	free(buf);
}

/* The next item for a worker: the next one of the same bytes as its last (*own), or the next
 * one nobody took; -1 at the end. */
static int next_item(struct run *run, int *own)
{
	pthread_mutex_lock(&run->lock);
	int i = -1;
	if (*own >= 0 && !g_signal)
		i = *own;
	else if (!g_signal) {
		while (run->next < run->batch.n && run->taken && run->taken[run->next])
			run->next++;
		if (run->next < run->batch.n) {
			i = run->next++;
			for (int j = run->same_next ? run->same_next[i] : -1; j >= 0;
			     j = run->same_next[j])
				run->taken[j] = true;
		}
	}
	*own = i >= 0 && run->same_next ? run->same_next[i] : -1;
	pthread_mutex_unlock(&run->lock);
	return i;
}

static void *worker(void *arg)
{
	struct run *run = arg;
	char errbuf[DB_ERRBUF_SIZE], msg[1024], key[4200];
	int slot = atomic_fetch_add(&run->next_slot, 1);
	sqlite3 *w = open_scratch(run->cli->db_path, errbuf);
	if (!w) {
		pthread_mutex_lock(&run->lock);
		fprintf(stderr, "portmortem: %s\n", errbuf);
		run->db_failed = true;
		run->next = run->batch.n;
		pthread_mutex_unlock(&run->lock);
		return NULL;
	}
	progress_worker(run->progress, slot);
	store_keep_statements(w);
	struct txn_batch tb = {0};
	struct pending_list pl = {.p = malloc(COPY_PENDING_MAX * sizeof *pl.p)};
	int own = -1;
	for (;;) {
		int i = next_item(run, &own);
		if (i < 0)
			break;
		const struct batch_item *it = &run->batch.items[i];
		enum outcome o = OUT_KNOWN;
		bool defer = false;
		if (it->known) { /* an unchanged file: recognised without reading it */
			snprintf(msg, sizeof msg, "already in the database (unchanged file)");
			snprintf(key, sizeof key, "%s", it->known);
		} else {
			progress_begin(run->progress, slot, it->path, it->size);
			batch_before(run, w, &tb, &pl, it);
			if (pl.n >= COPY_PENDING_MAX)
				flush_copies(run, w, &pl);
			if (!run->direct && !pl.n) /* the time since the first pending one began */
				clock_gettime(CLOCK_MONOTONIC, &pl.since);
			o = analyze_one(w, run->direct, !run->direct && pl.p != NULL, it->path,
					run->cli, msg, sizeof msg, key, sizeof key);
			defer = (o == OUT_STORED || o == OUT_CUT) &&
				(run->direct ? tb.open : pl.p != NULL);
		}
		if (defer)
			pending_add(&pl, i, o, msg, key);
		else
			report_outcome(run, i, o, msg, key);
		batch_after(run, w, &tb, &pl);
		if (pl.n && (ms_since(&pl.since) >= BATCH_COMMIT_MS || g_signal))
			flush_copies(run, w, &pl);
		progress_end(run->progress, slot, run->done);
	}
	flush_copies(run, w, &pl);
	batch_commit(run, w, &tb, &pl);
	free(pl.p);
	progress_worker(run->progress, -1);
	corr_drop_spare();
	cap_drop_spares();
	scan_drop_spares();
	store_forget_statements();
	sqlite3_close(w);
	return NULL;
}

/* Workers (at most -j, one per capture, 64): each reads one capture at a time. Compressed
 * captures get a decompression thread only while a core is left over (decode_threads), so
 * that no more threads are busy than cores: -j 1 on two cores decompresses beside the
 * packet loop, -j 2 decompresses in each worker. */
static void run_workers(struct run *run, struct cli *cli)
{
	int n = run->cli->jobs < run->batch.n ? run->cli->jobs : run->batch.n;
	pthread_t tids[64];
	int started = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (n > 64)
		n = 64;
	run->direct = n <= 1;
	if (!run->direct)
		same_files(run);
	atomic_init(&run->decode_threads, cores > n ? (int)(cores - n) : 0);
	cli->cap_opt.decode_threads = &run->decode_threads;
	for (int i = 1; i < n; i++)
		if (pthread_create(&tids[started], NULL, worker, run) == 0)
			started++;
	worker(run);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(run->same_next), free(run->taken);
	run->same_next = NULL, run->taken = NULL;
}

/* The events of the scope: made after the diagnosis, which writes main.events itself and
 * reads only the events of the captures it sees (diagnose.c). */
static const char SCOPE_EVENTS_SQL[] =
    "CREATE TEMP VIEW events AS SELECT * FROM main.events WHERE capture_id IN temp.scope;";

/* Rebuilds the findings when they are not those of the captures this connection sees, and
 * leaves a read transaction open in which they are: another run into the same database (its
 * own captures, its own scope) may rebuild them between our diagnosis and our report, which
 * would then show its findings. 0 with the transaction open (the caller ends it), or -1 with
 * errbuf (DB_ERRBUF_SIZE). */
static int report_snapshot(sqlite3 *db, char *errbuf)
{
	char ignore[DB_ERRBUF_SIZE];
	const struct diagnose_kb kb = {.service_for_port = kb_service_for_port};
	for (int attempt = 0; attempt < 10; attempt++) {
		if (!diagnose_current(db) && diagnose_rebuild(db, &kb, errbuf) < 0)
			return -1;
		if (db_exec(db, "BEGIN", errbuf) < 0)
			return -1;
		if (diagnose_current(db)) /* its first read fixes the snapshot */
			return 0;
		db_exec(db, "ROLLBACK", ignore);
	}
	snprintf(errbuf, DB_ERRBUF_SIZE, "other runs kept rebuilding the findings; run again");
	return -1;
}

static int report_in_snapshot(sqlite3 *db, const struct cli *cli, bool scoped);

/* Rebuilds the findings when the captures changed, and writes the report. */
static int pm_report(sqlite3 *db, const struct cli *cli, bool scoped)
{
	char errbuf[DB_ERRBUF_SIZE > REPORT_ERRBUF_SIZE ? DB_ERRBUF_SIZE : REPORT_ERRBUF_SIZE];
	if (report_snapshot(db, errbuf) < 0) {
		if (g_signal)
			return PM_EXIT_DB; /* the caller says it was interrupted */
		if (db_budget_exceeded(db))
			snprintf(errbuf, sizeof errbuf,
				 "a statement ran past its budget of %llu "
				 "operations and was stopped (a runaway query: is this database "
				 "from elsewhere?)",
				 (unsigned long long)DB_STATEMENT_BUDGET);
		fprintf(stderr, "portmortem: database %s: %s\n", cli->db_path, errbuf);
		return PM_EXIT_DB;
	}
	int st = report_in_snapshot(db, cli, scoped);
	char ignore[DB_ERRBUF_SIZE];
	db_exec(db, "COMMIT", ignore); /* the snapshot only read the database */
	return st;
}

/* Writes the report from the snapshot report_snapshot() opened. */
static int report_in_snapshot(sqlite3 *db, const struct cli *cli, bool scoped)
{
	char errbuf[DB_ERRBUF_SIZE > REPORT_ERRBUF_SIZE ? DB_ERRBUF_SIZE : REPORT_ERRBUF_SIZE];
	/* The diagnosis wrote the events' links; the report reads this run's events only. */
	if (scoped && db_exec(db, SCOPE_EVENTS_SQL, errbuf) < 0) {
		fprintf(stderr, "portmortem: database %s: %s\n", cli->db_path, errbuf);
		return PM_EXIT_DB;
	}
	const char *nc = getenv("NO_COLOR");
	struct report_options ro = {
	    .format = cli->format,
	    .csv_events = cli->csv_events,
	    .version = PM_VERSION,
	    .filter = &cli->filter,
	    .color = cli->format == REPORT_TEXT && !cli->output && isatty(STDOUT_FILENO) &&
		     !(nc && nc[0]),
	};
	if (report_write_path(db, &ro, cli->output, errbuf) < 0) {
		if (g_signal)
			return PM_EXIT_DB;
		if (db_budget_exceeded(db))
			fprintf(stderr,
				"portmortem: database %s: a report query ran past its budget "
				"and was stopped\n",
				cli->db_path);
		fprintf(stderr, "portmortem: report: %s\n", errbuf);
		int e = sqlite3_errcode(db);
		return e != SQLITE_OK && e != SQLITE_ROW && e != SQLITE_DONE ? PM_EXIT_DB : 1;
	}
	return 0;
}

/* The captures of this run, as temp.scope: temporary views by the names of the per-capture
 * tables then show only their rows (SQLite looks a name up in temp first), so the diagnosis
 * and the report see this run's captures and nothing else (SPEC §4). */
static const char SCOPE_VIEWS_SQL[] =
    "CREATE TEMP VIEW captures AS SELECT * FROM main.captures WHERE id IN temp.scope;"
    "CREATE TEMP VIEW flows AS SELECT * FROM main.flows WHERE capture_id IN temp.scope;"
    "CREATE TEMP VIEW endpoints AS SELECT * FROM main.endpoints WHERE capture_id IN temp.scope;"
    "CREATE TEMP VIEW endpoint_clients AS SELECT * FROM main.endpoint_clients"
    " WHERE capture_id IN temp.scope;"
    "CREATE TEMP VIEW host_ttls AS SELECT * FROM main.host_ttls WHERE capture_id IN temp.scope;"
    "CREATE TEMP VIEW source_ports AS SELECT * FROM main.source_ports"
    " WHERE capture_id IN temp.scope;"
    "CREATE TEMP VIEW capture_anomalies AS SELECT * FROM main.capture_anomalies"
    " WHERE capture_id IN temp.scope;";
static const char SCOPE_DROP_SQL[] =
    "DROP VIEW IF EXISTS temp.captures; DROP VIEW IF EXISTS temp.events;"
    "DROP VIEW IF EXISTS temp.flows; DROP VIEW IF EXISTS temp.endpoints;"
    "DROP VIEW IF EXISTS temp.endpoint_clients; DROP VIEW IF EXISTS temp.host_ttls;"
    "DROP VIEW IF EXISTS temp.source_ports; DROP VIEW IF EXISTS temp.capture_anomalies;"
    "DROP TABLE IF EXISTS temp.scope;";

static int scope_to(sqlite3 *db, const struct capture_list *keys, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	if (db_exec(db, "CREATE TEMP TABLE scope (id INTEGER PRIMARY KEY)", errbuf) < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR IGNORE INTO temp.scope SELECT id FROM main.captures"
			       " WHERE content_hash = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "scoping the report: %s", sqlite3_errmsg(db));
		return -1;
	}
	int rc = SQLITE_DONE;
	for (int i = 0; i < keys->n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_text(st, 1, keys->paths[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "scoping the report: %s", sqlite3_errmsg(db));
		return -1;
	}
	return db_exec(db, SCOPE_VIEWS_SQL, errbuf);
}

/* Rebuilds the findings (when the captures changed) and writes the report: shared by
 * analyze, report and merge. With `scope` (analyze), both cover those captures only. */
int pm_finish(sqlite3 *db, const struct cli *cli, const struct capture_list *scope)
{
	char errbuf[DB_ERRBUF_SIZE > REPORT_ERRBUF_SIZE ? DB_ERRBUF_SIZE : REPORT_ERRBUF_SIZE];
	char ignore[DB_ERRBUF_SIZE];
	if (scope && scope_to(db, scope, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s: %s\n", cli->db_path, errbuf);
		db_exec(db, SCOPE_DROP_SQL, ignore);
		return 1;
	}
	int st = pm_report(db, cli, scope != NULL);
	if (scope)
		db_exec(db, SCOPE_DROP_SQL, ignore);
	return st;
}

/* Whether the database holds captures identified the old ways, `pattern` "file:*" (version
 * 1, by their file's bytes) or "pkt1:*" (version 2, by the legacy packet hash): only then is
 * that second hash worth computing. */
static bool has_identities(sqlite3 *db, const char *pattern)
{
	sqlite3_stmt *st = NULL;
	bool found = true; /* when in doubt, compute it */
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM captures WHERE content_hash GLOB ?1 LIMIT 1", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
		found = sqlite3_step(st) != SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return found;
}

/* `-d :memory:` keeps no database: the workers need one file they can all attach, so it is
 * a private temporary file, removed at the end. 0, or -1 with errbuf. */
static int temp_database(char *path, size_t len, char *errbuf)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/portmortem-XXXXXX", dir && dir[0] ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "creating a temporary database in %s: %s",
			 dir && dir[0] ? dir : "/tmp", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static void remove_database(const char *path)
{
	char side[4200];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

static void free_list(struct capture_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

/* The final status: a signal (128 + its number) over a database error over unread input. */
static int final_status(const struct run *run, int finish_status)
{
	if (g_signal) {
		fprintf(stderr,
			"portmortem: interrupted: %d of %d %s stored; run again to finish\n",
			run->batch.n_stored + run->batch.n_known, run->batch.n,
			pm_plural(run->batch.n, "capture", "captures"));
		return 128 + g_signal;
	}
	if (run->db_failed || finish_status == PM_EXIT_DB)
		return PM_EXIT_DB;
	return finish_status ? finish_status : run->status;
}

int cmd_analyze(const struct cli *in)
{
	struct cli c = *in, *cli = &c;
	struct run run = {.cli = cli};
	char errbuf[DB_ERRBUF_SIZE], mem_path[4096] = "";
	sqlite3 *db = NULL;
	int st = PM_EXIT_DB;
	pm_catch_signals();
	pthread_mutex_init(&run.lock, NULL);
	if (strcmp(cli->db_path, ":memory:") == 0) {
		if (temp_database(mem_path, sizeof mem_path, errbuf) < 0) {
			fprintf(stderr, "portmortem: %s\n", errbuf);
			goto done;
		}
		c.db_path = mem_path;
	}
	if (db_open(cli->db_path, &db, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s\n", errbuf);
		goto done;
	}
	cli->cap_opt.legacy_file_hash = has_identities(db, "file:*");
	cli->cap_opt.legacy_packet_hash = has_identities(db, "pkt1:*");
	run.batch.verbose = cli->verbose, run.batch.quiet = cli->quiet;
	run.batch.filter = cli->cap_opt.filter;
	if (batch_list(&run.batch, db, (const char *const *)cli->args, cli->n_args,
		       cli->files_from) < 0) { /* the list of captures: nothing analyzed */
		st = PM_EXIT_INPUT;
		goto done;
	}
	run.status = run.batch.status;
	/* One capture after another: the buffers freed after each (decompression rings, read
	 * buffers) are kept for the next instead of returned to the kernel and faulted in again
	 * (with 589 rotated files, 4 times the page faults). Not for one capture: memory from
	 * the heap is zeroed by calloc(), fresh pages from the kernel come zeroed. */
	if (run.batch.n > 1) {
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
		mallopt(M_TRIM_THRESHOLD, 256 << 20);
	}
	if (run.batch.n == 0 && run.status == 0 && !cli->quiet)
		fprintf(stderr, "portmortem: no capture file found in what was given (directories"
				" are searched for pcap and pcapng files, plain, gzip or zstd)\n");
	/* Progress is the progress thread's, not the workers'. */
	c.progress = false;
	run.progress = progress_start(cli->jobs < run.batch.n ? cli->jobs
				      : run.batch.n > 0	      ? run.batch.n
							      : 1,
				      run.batch.n, in->progress, &run.lock);
	run_workers(&run, cli);
	progress_phase(run.progress, "diagnosing and writing the report");
	if (!g_signal && batch_remember(&run.batch, db, errbuf) < 0)
		fprintf(stderr,
			"portmortem: database %s: %s (the next run reads these files again)\n",
			cli->db_path, errbuf);
	if (!cli->quiet && run.batch.n + run.batch.n_skipped + run.batch.n_unreadable > 0)
		batch_summary(&run.batch, stderr);
	st = g_signal ? 0 : pm_finish(db, cli, &run.keys);
	progress_stop(run.progress);
	st = final_status(&run, st);
done:
	batch_free(&run.batch);
	free_list(&run.keys);
	pthread_mutex_destroy(&run.lock);
	sqlite3_close(db);
	if (mem_path[0])
		remove_database(mem_path);
	return st;
}
