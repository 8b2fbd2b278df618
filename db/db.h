/* db.h - the face of db/: the SQLite store (schema in db/schema.sql, compiled in). */
#ifndef PM_DB_H
#define PM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define DB_ERRBUF_SIZE 512
#define DB_SCHEMA_VERSION 4

/*
 * Opens (creating if needed) the database at `path`, applies the schema, sets WAL mode,
 * busy_timeout and foreign keys. A database with a newer user_version is refused.
 * Returns 0 and *out, or -1 with errbuf (DB_ERRBUF_SIZE) filled; the caller closes *out
 * with sqlite3_close().
 */
int db_open(const char *path, sqlite3 **out, char *errbuf);

/* Runs one SQL statement without results; 0 or -1 with errbuf. */
int db_exec(sqlite3 *db, const char *sql, char *errbuf);

/* 1 when a capture with this content hash is stored, 0 when not, -1 on error. */
int db_capture_known(sqlite3 *db, const char *schema, const char *hash, char *errbuf);

/* 1 when a capture of exactly `size` bytes is stored (a duplicate is possible), 0 if not. */
int db_size_known(sqlite3 *db, const char *schema, int64_t size, char *errbuf);

/*
 * Copies every capture of database `from` (schema name of an attached database, or "main")
 * into `to` that `to` does not hold yet (by content hash), each capture with all its rows in
 * its own transaction (BEGIN IMMEDIATE). *n_copied and *n_skipped count captures.
 * Returns 0 or -1 with errbuf.
 */
int db_copy_captures(sqlite3 *db, const char *from, const char *to, int *n_copied,
		     int *n_skipped, char *errbuf);

/* Attaches the database file `path` as schema `name`; 0 or -1 with errbuf. */
int db_attach(sqlite3 *db, const char *path, const char *name, char *errbuf);
int db_detach(sqlite3 *db, const char *name, char *errbuf);

#endif
