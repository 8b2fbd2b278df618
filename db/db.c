/* db.c - opening the SQLite store, applying the schema, copying captures between databases. */
#include "db/db.h"

#include <stdio.h>
#include <string.h>

extern const char pm_schema_sql[];

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
	    db_exec(db, pm_schema_sql, errbuf) < 0 ||
	    db_exec(db, sql, errbuf) < 0) {
		char ignore[DB_ERRBUF_SIZE];
		db_exec(db, "ROLLBACK", ignore);
		return -1;
	}
	return db_exec(db, "COMMIT", errbuf);
}

int db_open(const char *path, sqlite3 **out, char *errbuf)
{
	sqlite3 *db = NULL;
	*out = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "cannot open database %s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto error;
	}
	sqlite3_extended_result_codes(db, 1);
	if (sqlite3_busy_timeout(db, 30000) != SQLITE_OK) {
		set_err(errbuf, "setting busy_timeout", db);
		goto error;
	}
	if (db_exec(db, "PRAGMA journal_mode = WAL", errbuf) < 0 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL", errbuf) < 0 ||
	    /* reports read rows of a finding scattered over a large file: map it instead of
	     * copying each page through read() */
	    db_exec(db, "PRAGMA mmap_size = 1073741824", errbuf) < 0 ||
	    db_exec(db, "PRAGMA foreign_keys = ON", errbuf) < 0)
		goto error;
	if (apply_schema(db, errbuf) < 0)
		goto error;
	*out = db;
	return 0;
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
	if (sqlite3_prepare_v2(db, uri, -1, &st, NULL) != SQLITE_OK) {
		set_err(errbuf, "preparing ATTACH", db);
		return -1;
	}
	sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "cannot attach %s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
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
