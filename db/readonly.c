/* readonly.c - opening a database to read only: what the diagnosis writes goes to temp. */
#include "db/db.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char pm_schema_sql[];

/* The tables the diagnosis writes (findings rebuilt, events tagged with their finding, the
 * record of what the findings were computed from). */
static const char *const WRITTEN[] = {"findings", "events", "meta"};

/* The schema's "CREATE TABLE x (...)" as "CREATE TEMP TABLE x (...)", and its
 * "CREATE [UNIQUE] INDEX i ON x (...)" as "CREATE [UNIQUE] INDEX temp.i ON x (...)".
 * NULL when out of memory or the statement is neither. */
static char *temp_ddl(const char *sql, bool is_table)
{
	const char *kw = is_table ? "TABLE " : "INDEX ";
	const char *at = strstr(sql, kw);
	if (!at)
		return NULL;
	int head = (int)(at - sql) + 6;
	if (is_table)
		return sqlite3_mprintf("CREATE TEMP TABLE %s", at + 6);
	return sqlite3_mprintf("%.*stemp.%s", head, sql, at + 6);
}

/* Runs the schema's DDL for `table` and its indexes (read from `ref`, a fresh in-memory
 * database built from db/schema.sql) in temp. */
static int create_temp(sqlite3 *db, sqlite3 *ref, const char *table, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(ref,
			       "SELECT type = 'table', sql FROM sqlite_schema"
			       " WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type = 'index'",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading the schema: %s", sqlite3_errmsg(ref));
		return -1;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		char *ddl =
		    temp_ddl((const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 0));
		rc = ddl ? db_exec(db, ddl, errbuf) : -1;
		if (!ddl)
			snprintf(errbuf, DB_ERRBUF_SIZE, "unexpected schema statement for %s",
				 table);
		sqlite3_free(ddl);
	}
	sqlite3_finalize(st);
	return rc;
}

/* temp.<table> as the schema makes <table>, filled from main.<table> column by column (a
 * database upgraded from version 1 holds them in another order). */
static int shadow_table(sqlite3 *db, sqlite3 *ref, const char *table, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	char *copy = NULL;
	int rc = -1;
	if (create_temp(db, ref, table, errbuf) < 0)
		return -1;
	if (sqlite3_prepare_v2(ref,
			       "SELECT group_concat('\"' || name || '\"', ', ')"
			       " FROM pragma_table_info(?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading the schema: %s", sqlite3_errmsg(ref));
		return -1;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *cols = (const char *)sqlite3_column_text(st, 0);
		copy = sqlite3_mprintf("INSERT INTO temp.\"%w\" (%s) SELECT %s FROM main.\"%w\"",
				       table, cols, cols, table);
	}
	if (copy)
		rc = db_exec(db, copy, errbuf);
	else
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading the columns of %s", table);
	sqlite3_free(copy);
	sqlite3_finalize(st);
	return rc;
}

/* A database of this version or one it reads as it is (DB_SCHEMA_READS_FROM); an older one
 * would need the upgrade, which writes. */
static int current_version(sqlite3 *db, const char *path, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v >= DB_SCHEMA_READS_FROM && v <= DB_SCHEMA_VERSION)
		return 0;
	if (v < 0)
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s: reading the schema version: %s", path,
			 sqlite3_errmsg(db));
	else if (v == 0)
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s: not a portmortem database (no schema)", path);
	else
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "%s: schema version %d, this portmortem reads %d "
			 "(an older one is upgraded by 'portmortem merge -d NEW.db %s', which "
			 "writes only NEW.db)",
			 path, v, DB_SCHEMA_VERSION, path);
	return v > 0 && v < DB_SCHEMA_READS_FROM ? -2 : -1;
}

/* Whether nothing can change the file (neither it nor its directory is writable for us, and
 * no write-ahead log waits beside it): then it is opened as immutable, which needs no -shm
 * file (one cannot be created in a read-only directory) and leaves nothing beside it. */
static bool frozen(const char *path)
{
	char *copy = strdup(path), wal[4200];
	struct stat sb;
	if (!copy)
		return false;
	bool dir_ro = access(dirname(copy), W_OK) != 0;
	free(copy);
	snprintf(wal, sizeof wal, "%s-wal", path);
	bool wal_empty = stat(wal, &sb) != 0 || sb.st_size == 0;
	return access(path, W_OK) != 0 && dir_ro && wal_empty;
}

/* "file:<path, percent-encoded>?immutable=1": a URI we build, for this one purpose. */
static char *immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(path);
	char *uri = malloc(len * 3 + 32), *o = uri;
	if (!uri)
		return NULL;
	o += sprintf(o, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (isalnum(*p) || strchr("/-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	strcpy(o, "?immutable=1");
	return uri;
}

/* Where we may write the file and its directory, the connection is read-write all the same,
 * only so that SQLite removes its -wal and -shm files at the end as it does for a writer
 * (a read-only connection leaves them behind); nothing is written to the database. */
static bool writable(const char *path)
{
	char *copy = strdup(path);
	bool ok = copy && access(path, W_OK) == 0 && access(dirname(copy), W_OK) == 0;
	free(copy);
	return ok;
}

static int open_ro(const char *path, sqlite3 **db, char *errbuf)
{
	if (writable(path))
		return db_open_plain(path, SQLITE_OPEN_READWRITE, db, errbuf);
	if (!frozen(path))
		return db_open_plain(path, SQLITE_OPEN_READONLY, db, errbuf);
	char *uri = immutable_uri(path);
	if (!uri) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	int rc = db_open_uri(uri, path, SQLITE_OPEN_READONLY, db, errbuf);
	free(uri);
	return rc;
}

int db_open_readonly(const char *path, sqlite3 **out, char *errbuf)
{
	sqlite3 *db = NULL;
	*out = NULL;
	int rc = -1;
	bool stamp; /* an earlier version's database: stamped when next opened to write */
	if (open_ro(path, &db, errbuf) < 0)
		return -1;
	if (db_check_owner(db, path, &stamp, errbuf) < 0 ||
	    db_check_objects(db, "main", path, errbuf) < 0 ||
	    (rc = current_version(db, path, errbuf)) < 0)
		goto error;
	rc = -1;
	if (db_exec(db, "PRAGMA foreign_keys = OFF", errbuf) < 0 || db_define_views(db, errbuf) < 0)
		goto error;
	*out = db;
	return 0;
error:
	sqlite3_close(db);
	return rc;
}

int db_shadow_written(sqlite3 *db, char *errbuf)
{
	sqlite3 *ref = NULL;
	int rc = -1;
	if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		goto done;
	}
	if (db_exec(ref, pm_schema_sql, errbuf) < 0)
		goto done;
	for (size_t i = 0; i < sizeof WRITTEN / sizeof WRITTEN[0]; i++)
		if (shadow_table(db, ref, WRITTEN[i], errbuf) < 0)
			goto done;
	rc = 0;
done:
	sqlite3_close(ref);
	return rc;
}
