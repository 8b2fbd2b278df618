/* db.h - the face of db/: the SQLite store (schema in db/schema.sql, compiled in). */
#ifndef PM_DB_H
#define PM_DB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define DB_ERRBUF_SIZE 512
#define DB_SCHEMA_VERSION 8
/* The oldest version whose tables this one reads as they are (6 and 7 only changed
 * indexes): such a database is reported read-only without the upgrade. */
#define DB_SCHEMA_READS_FROM 5
/* PRAGMA application_id of portmortem's databases: "PMrt" in ASCII (README "Database"). */
#define DB_APPLICATION_ID 0x504d7274u
/* How long a connection waits for another process's write lock (a second run waits for the
 * first, as cron starts them): an hour; SIGINT/SIGTERM (db_set_stop_flag) end the wait. */
#define DB_BUSY_WAIT_MS (3600 * 1000)

/* The diagnoses a finding carries (findings.diagnosis and findings.secondary), one
 * X(name, severity) each, in the order reports and `explain` list them: the analyzer's
 * severities (report order, larger first) and the knowledge base's list of labels
 * (reports/kb.c) both come from here. rate-limited is only ever a secondary label. */
#define DB_LABELS(X)                                                                               \
	X("service-down", 90)                                                                      \
	X("service-restarted", 60)                                                                 \
	X("intermittent", 72)                                                                      \
	X("wrong-port", 75)                                                                        \
	X("wrong-host", 70)                                                                        \
	X("late-reply", 50)                                                                        \
	X("duplicate-reply", 8)                                                                    \
	X("stream-ended", 5)                                                                       \
	X("traceroute", 10)                                                                        \
	X("udp-scan", 40)                                                                          \
	X("unsolicited", 30)                                                                       \
	X("reflection", 65)                                                                        \
	X("firewall-reject", 80)                                                                   \
	X("rate-limited", 0)

/*
 * Every database is opened defensively, since shards and databases come from elsewhere (a
 * colleague's, a ticket's): SQLITE_DBCONFIG_DEFENSIVE, trusted_schema OFF, cell_size_check
 * ON, no extension loading; a path is a plain file name, never a URI ("file:x.db" is the
 * file of that name); and every statement is bounded by a progress handler to
 * DB_STATEMENT_BUDGET virtual-machine operations (the triggers it fires included).
 */
#define DB_PROGRESS_STEP 10000
#define DB_STATEMENT_BUDGET 20000000000ull /* 10 min on the 2-core development machine */

/*
 * Opens (creating if needed) the database at `path`, refuses it when its schema holds
 * objects db/schema.sql does not create (db_check_objects, before anything writes), applies
 * the schema, sets WAL mode, busy_timeout and foreign keys. A database with a newer
 * user_version is refused. Returns 0 and *out, or -1 with errbuf (DB_ERRBUF_SIZE) filled;
 * the caller closes *out with sqlite3_close().
 */
int db_open(const char *path, sqlite3 **out, char *errbuf);

/*
 * Opens the database at `path` to read it only: it needs no write access (a file with mode
 * 444, a read-only directory or mount; where the file may be written, the connection is
 * read-write only so that SQLite cleans up its -wal and -shm files, and nothing is written).
 * Refused as db_open() does, and of the current schema version only. Returns 0 and *out,
 * or -1 with errbuf; -2 when the database is of an older schema version (db_open()
 * upgrades it, if the caller may write).
 */
int db_open_readonly(const char *path, sqlite3 **out, char *errbuf);

/*
 * Copies the tables the diagnosis writes (findings, events, meta) into temp tables of the
 * same names, which SQLite finds first for unqualified names: diagnose_rebuild() then writes
 * nothing to the file. Only needed when the stored findings are not current. 0 or -1.
 */
int db_shadow_written(sqlite3 *db, char *errbuf);

/*
 * Makes this connection's views of db/views.sql (TEMP: nothing is written to the database):
 * event_kinds, the events with their port_unreachable and time_exceeded flags. db_open()
 * and db_open_readonly() call it; a connection opened otherwise (a report on a plain
 * handle) calls it before its queries. Idempotent. 0, or -1 with errbuf filled.
 */
int db_define_views(sqlite3 *db, char *errbuf);

/* The hardened connection alone (SQLite open flags as given, plus NOMUTEX): no schema. */
int db_open_plain(const char *path, int flags, sqlite3 **out, char *errbuf);
/* The same for a URI built by portmortem itself (never one from the user); `path` names
 * the file in errors. */
int db_open_uri(const char *uri, const char *path, int flags, sqlite3 **out, char *errbuf);

/*
 * 0 when every table and index of schema `schema` ("main", an attached name) is one that
 * db/schema.sql creates (the expected set is read from a fresh in-memory database built
 * from it); -1 with errbuf naming the others ("trigger \"t\", view \"v\"") or the error.
 */
int db_check_objects(sqlite3 *db, const char *schema, const char *path, char *errbuf);

/*
 * Whether `db`'s main file is portmortem's: its application_id is DB_APPLICATION_ID, or 0
 * and it is empty (new) or holds our tables (made by a version before the id was set).
 * *stamp tells the caller to set the id at its first write (db_stamp_owner). -1 with errbuf
 * naming `path` for another program's file (another application_id, or tables without
 * ours) and for a file that is not a SQLite database; nothing is written.
 */
int db_check_owner(sqlite3 *db, const char *path, bool *stamp, char *errbuf);
/* Sets PRAGMA application_id = DB_APPLICATION_ID; 0 or -1 with errbuf. */
int db_stamp_owner(sqlite3 *db, char *errbuf);
/* Fills errbuf with why `path` could not be opened or written (a missing or read-only
 * directory, a directory given as the file, a read-only file), naming it and pointing to
 * -d PATH; `sqlite_msg` is SQLite's own words. */
void db_open_error(const char *path, const char *sqlite_msg, char *errbuf);
/* Whether a connection waiting for another process's lock says so once on standard error
 * (after a few seconds); on unless -q. */
void db_set_wait_notes(bool on);

/* Sets the operations budget of each statement on db (tests); 0 or -1. */
int db_set_budget(sqlite3 *db, uint64_t ops);
/* Whether a statement on db was stopped for exceeding its budget. */
bool db_budget_exceeded(sqlite3 *db);
/* Connections opened afterwards stop their statement (SQLITE_INTERRUPT) once *flag is
 * nonzero (a signal handler's flag). */
void db_set_stop_flag(volatile sig_atomic_t *flag);

/* Runs one SQL statement without results; 0 or -1 with errbuf. */
int db_exec(sqlite3 *db, const char *sql, char *errbuf);

/* The integer in the first column of the first row of sql (a count, a pragma), or -1 when
 * the statement fails or gives no row. */
int64_t db_query_int(sqlite3 *db, const char *sql);

/* 1 when a capture with this content hash is stored, 0 when not, -1 on error. */
int db_capture_known(sqlite3 *db, const char *schema, const char *hash, char *errbuf);

/* 1 when a capture of exactly `size` bytes is stored (a duplicate is possible), 0 if not. */
int db_size_known(sqlite3 *db, const char *schema, int64_t size, char *errbuf);

/* A file a capture was read from, as the file system describes it (capture_files). */
struct db_file_id {
	const char *path; /* absolute, symbolic links resolved */
	int64_t size, mtime_ns, inode;
};

/*
 * 1 when the file `f`, read with `filter` (NULL: none), was stored as a capture that is still
 * in the database (its identity, content_hash, goes to key), 0 when not (never seen, or it
 * changed: another size, modification time or inode), -1 with errbuf on error. *cache holds
 * the prepared statement between calls (NULL at first; the caller finalizes it).
 */
int db_file_lookup(sqlite3 *db, sqlite3_stmt **cache, const struct db_file_id *f,
		   const char *filter, char *key, size_t key_len, char *errbuf);

/* Records that files[i] holds the capture keys[i] (for i < n), all in one transaction:
 * db_file_lookup() then finds them. 0, or -1 with errbuf. */
int db_files_remember(sqlite3 *db, const struct db_file_id *files, const char *const *keys, int n,
		      const char *filter, char *errbuf);

/* Counts of db_copy_captures(): captures copied, already present, failed. */
struct copy_counts {
	int copied, skipped, failed;
};

/* What became of one capture of db_copy_captures(): copied, already in the target (same
 * identity), or failed (err says why). */
enum copy_result { COPY_COPIED, COPY_KNOWN, COPY_FAILED };
typedef void (*db_copy_fn)(const char *capture_path, enum copy_result result, const char *err,
			   void *arg);

/*
 * Copies every capture of database `from` (schema name of an attached database, or "main")
 * into `to` that `to` does not hold yet (by its identity, content_hash, of any length), with
 * all its rows. Up to 256 captures go in one transaction (BEGIN IMMEDIATE), each in a
 * savepoint: a capture that fails is rolled back alone, counted in k->failed, and the others
 * are still copied. on_capture (may be NULL) is told of each capture, in the source's order,
 * once its transaction is committed. Returns 0, or -1 with errbuf when the source cannot be
 * read.
 */
int db_copy_captures(sqlite3 *db, const char *from, const char *to, struct copy_counts *k,
		     db_copy_fn on_capture, void *arg, char *errbuf);

/* Attaches the database file `path` as schema `name`; 0 or -1 with errbuf. */
int db_attach(sqlite3 *db, const char *path, const char *name, char *errbuf);
int db_detach(sqlite3 *db, const char *name, char *errbuf);

#endif
