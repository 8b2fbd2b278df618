/* db.c - opening the SQLite store, applying the schema, copying captures between databases. */
#include "db/db.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const char pm_schema_sql[];
extern const char pm_views_sql[];

static void set_err(char *errbuf, const char *what, sqlite3 *db)
{
	snprintf(errbuf, DB_ERRBUF_SIZE, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

int db_exec(sqlite3 *db, const char *sql, char *errbuf)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int64_t db_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int user_version(sqlite3 *db, int *out, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		set_err(errbuf, "reading the schema version", db);
		return -1;
	}
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		set_err(errbuf, "reading the schema version", db);
		return -1;
	}
	return 0;
}

/* Version 1 -> 2: columns the real-traffic diagnosis needs; old rows keep NULL / 0 there,
 * which the diagnosis reads as "not measured". Version 3 added tables (source_ports, meta),
 * which the schema itself creates. */
static const char UPGRADE_1_2[] =
    "UPDATE captures SET content_hash = 'file:' || content_hash;"
    "ALTER TABLE flows ADD COLUMN c2s_last_ns INTEGER;"
    "ALTER TABLE flows ADD COLUMN s2c_last_ns INTEGER;"
    "ALTER TABLE events ADD COLUMN icmp_cksum INTEGER;"
    "ALTER TABLE events ADD COLUMN quote_ip_id INTEGER;"
    "ALTER TABLE events ADD COLUMN other_delay_ns INTEGER;"
    "ALTER TABLE events ADD COLUMN other_wait_ns INTEGER;"
    "ALTER TABLE events ADD COLUMN other_run INTEGER;"
    "ALTER TABLE events ADD COLUMN fwd_before INTEGER;"
    "ALTER TABLE events ADD COLUMN rev_before INTEGER;"
    "ALTER TABLE events ADD COLUMN sender_peers INTEGER;"
    "ALTER TABLE events ADD COLUMN finding_id INTEGER;"
    "ALTER TABLE events ADD COLUMN dup_of INTEGER;"
    "ALTER TABLE endpoints ADD COLUMN n_peers INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE endpoints ADD COLUMN tx_refused_during INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE endpoints ADD COLUMN tx_other_during INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE findings ADD COLUMN capture_points TEXT NOT NULL DEFAULT '[]';";

/* Versions 1-3 -> 4: identities move from the hand-written packet hash to XXH3-128; the old
 * ones are marked "pkt1:" and still matched (analyze.c computes that hash only while such
 * rows exist). Captures get the optional SHA-256 of their file (--sha256), and an index no
 * query needs (events_dst) goes. */
static const char UPGRADE_TO_4[] =
    "UPDATE captures SET content_hash = 'pkt1:' || content_hash"
    " WHERE content_hash NOT GLOB 'file:*' AND content_hash NOT GLOB 'pending:*';"
    "ALTER TABLE captures ADD COLUMN sha256 TEXT;"
    "DROP INDEX IF EXISTS events_dst;";

/* Versions 1-5 -> 6: the endpoints' secondary indexes go (no query reads them); a finding's
 * events are indexed in time order (the schema makes events_finding again). */
static const char UPGRADE_TO_6[] = "DROP INDEX IF EXISTS endpoints_ip_port;"
				   "DROP INDEX IF EXISTS endpoints_port;"
				   "DROP INDEX IF EXISTS events_finding;";

/* Versions 1-6 -> 7: events_flow goes (no query looks events up by flow; the flows they
 * point to are never deleted), and events_finding becomes partial (the schema makes it). */
static const char UPGRADE_TO_7[] = "DROP INDEX IF EXISTS events_flow;"
				   "DROP INDEX IF EXISTS events_finding;";

/* Versions 1-7 -> 8: endpoint_clients_ep goes (the diagnosis indexes the pairs it reads in a
 * temporary table of its own). */
static const char UPGRADE_TO_8[] = "DROP INDEX IF EXISTS endpoint_clients_ep;";

static int apply_schema(sqlite3 *db, char *errbuf)
{
	int v = 0;
	if (user_version(db, &v, errbuf) < 0)
		return -1;
	if (v > DB_SCHEMA_VERSION) {
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "database schema version %d is newer than this portmortem's (%d)", v,
			 DB_SCHEMA_VERSION);
		return -1;
	}
	if (v == DB_SCHEMA_VERSION)
		return 0;
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
	if (db_exec(db, "BEGIN IMMEDIATE", errbuf) < 0)
		return -1;
	if ((v == 1 && db_exec(db, UPGRADE_1_2, errbuf) < 0) ||
	    (v >= 1 && v <= 3 && db_exec(db, UPGRADE_TO_4, errbuf) < 0) ||
	    (v >= 1 && v <= 5 && db_exec(db, UPGRADE_TO_6, errbuf) < 0) ||
	    (v >= 1 && v <= 6 && db_exec(db, UPGRADE_TO_7, errbuf) < 0) ||
	    (v >= 1 && v <= 7 && db_exec(db, UPGRADE_TO_8, errbuf) < 0) ||
	    db_exec(db, pm_schema_sql, errbuf) < 0 || db_exec(db, sql, errbuf) < 0) {
		char ignore[DB_ERRBUF_SIZE];
		db_exec(db, "ROLLBACK", ignore);
		return -1;
	}
	return db_exec(db, "COMMIT", errbuf);
}

int db_define_views(sqlite3 *db, char *errbuf)
{
	return db_exec(db, pm_views_sql, errbuf);
}

/* ---- opening defensively ---- */

/* Per-connection bound on a statement's work (db.h: db_statement_budget). Lives as long as
 * the connection: it is the user data of a function whose destructor frees it. */
struct db_guard {
	uint64_t ops, budget;
	bool tripped;
	double profile_ms; /* PORTMORTEM_PROFILE: statements slower than this go to stderr */
	volatile sig_atomic_t *stop;
	struct timespec busy_since; /* when the current wait for a lock began */
	bool busy_noted;	    /* the wait was announced on stderr */
	char path[256];		    /* the database, for that note */
};

static volatile sig_atomic_t *g_stop_flag;
static bool g_wait_notes = true;

void db_set_wait_notes(bool on)
{
	g_wait_notes = on;
}

void db_set_stop_flag(volatile sig_atomic_t *flag)
{
	g_stop_flag = flag;
}

static int guard_progress(void *arg)
{
	struct db_guard *g = arg;
	if (g->stop && *g->stop)
		return 1;
	g->ops += DB_PROGRESS_STEP;
	if (g->ops <= g->budget)
		return 0;
	g->tripped = true;
	return 1;
}

/* Each statement starts with a fresh budget; a trigger's body ("-- TRIGGER name") does not
 * reset it, so a statement and the triggers it fires share one budget. */
static int guard_trace(unsigned type, void *arg, void *p, void *x)
{
	struct db_guard *g = arg;
	const char *sql = x;
	if (type == SQLITE_TRACE_STMT && !(sql && sql[0] == '-' && sql[1] == '-'))
		g->ops = 0;
	if (type == SQLITE_TRACE_PROFILE) {
		double ms = (double)*(const sqlite3_int64 *)x / 1e6;
		if (ms >= g->profile_ms) {
			const char *text = sqlite3_sql(p);
			fprintf(stderr, "profile: %9.1f ms  %.160s\n", ms, text ? text : "?");
		}
	}
	return 0;
}

/* The busy handler: another process holds the lock (a second run started while the first
 * stores a capture or rebuilds the findings). Waits up to DB_BUSY_WAIT_MS, polling every
 * few milliseconds, and gives up at once when a signal asked us to stop. */
static int guard_busy(void *arg, int n_calls)
{
	struct db_guard *g = arg;
	struct timespec now;
	if (g->stop && *g->stop)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (n_calls == 0)
		g->busy_since = now;
	double ms = (double)(now.tv_sec - g->busy_since.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - g->busy_since.tv_nsec) / 1e6;
	if (ms >= DB_BUSY_WAIT_MS)
		return 0;
	if (ms >= 3000 && !g->busy_noted && g_wait_notes) {
		g->busy_noted = true;
		fprintf(stderr,
			"portmortem: %s is in use by another process (another portmortem "
			"run?); waiting for it\n",
			g->path[0] ? g->path : "the database");
	}
	usleep(n_calls < 10 ? 1000u << (n_calls / 2) : 50000u);
	return 1;
}

static void guard_noop(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_result_null(ctx);
}

static struct db_guard *guard_of(sqlite3 *db)
{
	/* The guard is found again through the progress handler's registration. */
	struct db_guard *g = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT pm_guard_addr()", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		g = (struct db_guard *)(intptr_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return g;
}

static void guard_addr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_result_int64(ctx, (sqlite3_int64)(intptr_t)sqlite3_user_data(ctx));
}

static int install_guard(sqlite3 *db, const char *path, char *errbuf)
{
	struct db_guard *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	g->budget = DB_STATEMENT_BUDGET;
	g->stop = g_stop_flag;
	snprintf(g->path, sizeof g->path, "%s", path);
	/* Registered first: its destructor frees g when the connection closes. */
	if (sqlite3_create_function_v2(db, "pm_guard_free", 0, SQLITE_UTF8, g, guard_noop, NULL,
				       NULL, free) != SQLITE_OK ||
	    sqlite3_create_function_v2(db, "pm_guard_addr", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, g,
				       guard_addr, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(errbuf, "registering the statement budget", db);
		return -1;
	}
	sqlite3_progress_handler(db, DB_PROGRESS_STEP, guard_progress, g);
	sqlite3_busy_handler(db, guard_busy, g);
	const char *prof = getenv("PORTMORTEM_PROFILE");
	unsigned mask = SQLITE_TRACE_STMT;
	if (prof && *prof) {
		g->profile_ms = strtod(prof, NULL);
		mask |= SQLITE_TRACE_PROFILE;
	}
	sqlite3_trace_v2(db, mask, guard_trace, g);
	return 0;
}

int db_set_budget(sqlite3 *db, uint64_t ops)
{
	struct db_guard *g = guard_of(db);
	if (!g)
		return -1;
	g->budget = ops;
	return 0;
}

bool db_budget_exceeded(sqlite3 *db)
{
	struct db_guard *g = db ? guard_of(db) : NULL;
	return g && g->tripped;
}

/* SQLite's hardening for files from elsewhere: no writes to the schema tables, no schema
 * functions or virtual tables that are not innocuous, pages checked as they are read. */
static int harden(sqlite3 *db, const char *path, char *errbuf)
{
	int on = -1;
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK || on != 1 ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) != SQLITE_OK || on != 0 ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &on) != SQLITE_OK) {
		set_err(errbuf, "hardening the connection", db);
		return -1;
	}
	if (db_exec(db, "PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON", errbuf) < 0)
		return -1;
	return install_guard(db, path, errbuf);
}

/* A path is a file name, never a URI: "file:x.db" names the file "file:x.db" (SQLite would
 * read it as a URI when the library was built with URIs on, as Debian's is). Returns a copy
 * the caller frees, or NULL with errbuf filled. */
static char *plain_path(const char *path, char *errbuf)
{
	size_t len = strlen(path) + 3;
	char *out = malloc(len);
	if (!out) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		return NULL;
	}
	snprintf(out, len, "%s%s", strncmp(path, "file:", 5) == 0 ? "./" : "", path);
	return out;
}

/* Opens `name` (a plain path, or with SQLITE_OPEN_URI a URI we built) and hardens the
 * connection; `path` names it in errors. */
static int open_hardened(const char *name, const char *path, int flags, sqlite3 **out, char *errbuf)
{
	sqlite3 *db = NULL;
	*out = NULL;
	if (sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "cannot open database %s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto error;
	}
	sqlite3_extended_result_codes(db, 1);
	if (harden(db, path, errbuf) < 0)
		goto error;
	*out = db;
	return 0;
error:
	sqlite3_close(db);
	return -1;
}

int db_open_plain(const char *path, int flags, sqlite3 **out, char *errbuf)
{
	char *plain = plain_path(path, errbuf);
	*out = NULL;
	if (!plain)
		return -1;
	int rc = open_hardened(plain, path, flags & ~SQLITE_OPEN_URI, out, errbuf);
	free(plain);
	return rc;
}

int db_open_uri(const char *uri, const char *path, int flags, sqlite3 **out, char *errbuf)
{
	return open_hardened(uri, path, flags | SQLITE_OPEN_URI, out, errbuf);
}

int db_open(const char *path, sqlite3 **out, char *errbuf)
{
	sqlite3 *db = NULL;
	bool stamp = false;
	*out = NULL;
	if (db_open_plain(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, errbuf) < 0) {
		const char *colon = strstr(errbuf, ": ");
		char msg[DB_ERRBUF_SIZE];
		snprintf(msg, sizeof msg, "%s", colon ? colon + 2 : errbuf);
		db_open_error(path, msg, errbuf);
		return -1;
	}
	/* Checked before anything writes: another program's file gets no tables of ours, and a
	 * planted trigger never fires. */
	if (db_check_owner(db, path, &stamp, errbuf) < 0 ||
	    db_check_objects(db, "main", path, errbuf) < 0)
		goto error;
	/* A new database gets 16 KiB pages (a file that has its pages keeps them): a storm's
	 * million events go through the WAL and back into the file a quarter as many pages at a
	 * time, which took 18 % off issue 8's storm (README, "Performance"). No connection maps
	 * the file (SQLite's default, mmap_size 0): a mapped page is checked again
	 * (cell_size_check) at every lookup that passes it, a cached one once, which made a
	 * report's lookups of each finding's first events slow (issue 8's storm, 16 KiB pages:
	 * `-f text` 0.20 s mapped, 0.08 s through the cache; json 0.72 and 0.41 s); and the
	 * process's resident memory stays its own, not the file's (452 MB mapped, 177 MB). */
	if (db_exec(db, "PRAGMA page_size = 16384", errbuf) < 0 ||
	    db_exec(db, "PRAGMA journal_mode = WAL", errbuf) < 0 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL", errbuf) < 0 ||
	    db_exec(db, "PRAGMA foreign_keys = ON", errbuf) < 0)
		goto write_error;
	if (apply_schema(db, errbuf) < 0 || (stamp && db_stamp_owner(db, errbuf) < 0))
		goto write_error;
	if (db_define_views(db, errbuf) < 0)
		goto error;
	*out = db;
	return 0;
write_error:
	if (sqlite3_extended_errcode(db) == SQLITE_READONLY ||
	    (sqlite3_extended_errcode(db) & 0xff) == SQLITE_READONLY ||
	    (sqlite3_extended_errcode(db) & 0xff) == SQLITE_CANTOPEN) {
		char msg[DB_ERRBUF_SIZE];
		snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db));
		db_open_error(path, msg, errbuf);
	}
error:
	sqlite3_close(db);
	return -1;
}

static int query_int(sqlite3 *db, const char *sql, const char *text, int64_t num, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(errbuf, "preparing a lookup", db);
		return -1;
	}
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, num);
	int rc = sqlite3_step(st);
	int found = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(errbuf, "looking up a capture", db);
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

static int valid_schema_name(const char *s)
{
	if (!s || !*s || strlen(s) > 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int db_capture_known(sqlite3 *db, const char *schema, const char *hash, char *errbuf)
{
	char sql[128];
	if (!valid_schema_name(schema)) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "bad schema name");
		return -1;
	}
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s.captures WHERE content_hash = ?1", schema);
	return query_int(db, sql, hash, 0, errbuf);
}

int db_size_known(sqlite3 *db, const char *schema, int64_t size, char *errbuf)
{
	char sql[128];
	if (!valid_schema_name(schema)) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "bad schema name");
		return -1;
	}
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s.captures WHERE size = ?1", schema);
	return query_int(db, sql, NULL, size, errbuf);
}

int db_attach(sqlite3 *db, const char *path, const char *name, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	char uri[64];
	if (!valid_schema_name(name)) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "bad schema name");
		return -1;
	}
	snprintf(uri, sizeof uri, "ATTACH ?1 AS %s", name);
	char *plain = plain_path(path, errbuf);
	if (!plain)
		return -1;
	if (sqlite3_prepare_v2(db, uri, -1, &st, NULL) != SQLITE_OK) {
		free(plain);
		set_err(errbuf, "preparing ATTACH", db);
		return -1;
	}
	sqlite3_bind_text(st, 1, plain, -1, SQLITE_TRANSIENT);
	free(plain);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "cannot attach %s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	struct db_guard *g = guard_of(db);
	if (g && !g->path[0]) /* a worker's scratch database waits for the one it attached */
		snprintf(g->path, sizeof g->path, "%s", path);
	return 0;
}

int db_detach(sqlite3 *db, const char *name, char *errbuf)
{
	char sql[64];
	if (!valid_schema_name(name)) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "bad schema name");
		return -1;
	}
	snprintf(sql, sizeof sql, "DETACH %s", name);
	return db_exec(db, sql, errbuf);
}
