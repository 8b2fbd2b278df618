/* copy.c - copying whole captures (with all their rows) from one attached database to another. */
#include "db/db.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * The rows of a capture, table by table: `head` are the columns whose values change (the
 * capture id, flow ids, which move above those already there) and `vals` their values (?1 =
 * the new capture id, ?2 = the old one, ?3 = what moves an old flow id to its new one); every
 * other column of the schema is copied as it is (copied_cols), except those the diagnosis
 * writes (events.finding_id and dup_of: it runs again after a copy). Flows keep their order
 * and spacing above every id already there, so an event's flow id moves by the same amount,
 * with no lookup per event.
 */
static const struct {
	const char *table, *head, *vals, *order;
} ROWS[] = {
    {"capture_anomalies", "capture_id", "?1", ""},
    {"flows", "id, capture_id", "id + ?3, ?1", " ORDER BY id"},
    {"events", "capture_id, flow_id", "?1, flow_id + ?3", " ORDER BY id"},
    {"endpoints", "capture_id", "?1", ""},
    {"endpoint_clients", "capture_id", "?1", ""},
    {"host_ttls", "capture_id", "?1", ""},
    {"source_ports", "capture_id", "?1", ""},
};

/* Columns never copied as they are: remapped ones and those the diagnosis writes. */
static const char NOT_COPIED[] = " id capture_id flow_id finding_id dup_of ";

/* "\"a\", \"b\", ...": the columns of schema.table that are copied as they are, in the
 * schema's order (a heap string the caller frees with sqlite3_free), or NULL with errbuf. */
static char *copied_cols(sqlite3 *db, const char *schema, const char *table, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	char *cols = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT group_concat('\"' || name || '\"', ', ') FROM"
			       " (SELECT name FROM pragma_table_info(?1, ?2)"
			       " WHERE instr(?3, ' ' || name || ' ') = 0 ORDER BY cid)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, NOT_COPIED, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			cols = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
	}
	if (!cols)
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading the columns of %s.%s: %s", schema, table,
			 sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return cols;
}

/* Runs `sql` with ?1 = new capture id, ?2 = old capture id and (when the statement has it)
 * ?3 = what to add to an old flow id to get its new one. */
static int run_triple(sqlite3 *db, const char *sql, int64_t new_id, int64_t old_id,
		      int64_t flow_shift, char *errbuf);

static int run_pair(sqlite3 *db, const char *sql, int64_t new_id, int64_t old_id, char *errbuf)
{
	return run_triple(db, sql, new_id, old_id, 0, errbuf);
}

static int run_triple(sqlite3 *db, const char *sql, int64_t new_id, int64_t old_id,
		      int64_t flow_shift, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "preparing a copy: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, new_id);
	sqlite3_bind_int64(st, 2, old_id);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, flow_shift);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "copying a capture: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The amount that moves capture old_id's flows in `from` just above every flow id in `to`;
 * INT64_MIN on error. */
static int64_t flow_shift(sqlite3 *db, const char *from, const char *to, int64_t old_id,
			  char *errbuf)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int64_t shift = INT64_MIN;
	snprintf(sql, sizeof sql,
		 "SELECT coalesce((SELECT MAX(id) FROM %s.flows), 0) + 1 -"
		 " coalesce((SELECT MIN(id) FROM %s.flows WHERE capture_id = ?1), 1)",
		 to, from);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, old_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			shift = sqlite3_column_int64(st, 0);
	}
	if (shift == INT64_MIN)
		snprintf(errbuf, DB_ERRBUF_SIZE, "copying a capture's flows: %s",
			 sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return shift;
}

static int copy_rows(sqlite3 *db, const char *from, const char *to, int64_t new_id, int64_t old_id,
		     char *errbuf)
{
	int64_t shift = flow_shift(db, from, to, old_id, errbuf);
	if (shift == INT64_MIN)
		return -1;
	for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
		char *cols = copied_cols(db, to, ROWS[i].table, errbuf);
		if (!cols)
			return -1;
		char *sql = sqlite3_mprintf("INSERT INTO %s.%s (%s, %s) SELECT %s, %s FROM %s.%s"
					    " WHERE capture_id = ?2%s",
					    to, ROWS[i].table, ROWS[i].head, cols, ROWS[i].vals,
					    cols, from, ROWS[i].table, ROWS[i].order);
		sqlite3_free(cols);
		int rc = sql ? run_triple(db, sql, new_id, old_id, shift, errbuf) : -1;
		if (!sql)
			snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		sqlite3_free(sql);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Copies capture `old_id` in its own transaction; 1 copied, 0 already there, -1 error. */
static int copy_one(sqlite3 *db, const char *from, const char *to, int64_t old_id, const char *hash,
		    char *errbuf)
{
	char ignore[DB_ERRBUF_SIZE];
	if (db_exec(db, "BEGIN IMMEDIATE", errbuf) < 0)
		return -1;
	int known = db_capture_known(db, to, hash, errbuf);
	if (known != 0) {
		db_exec(db, "ROLLBACK", ignore);
		return known < 0 ? -1 : 0;
	}
	char *cols = copied_cols(db, to, "captures", errbuf);
	char *sql = cols ? sqlite3_mprintf("INSERT INTO %s.captures (%s) SELECT %s FROM %s.captures"
					   " WHERE id = ?2",
					   to, cols, cols, from)
			 : NULL;
	int rc = sql ? run_pair(db, sql, 0, old_id, errbuf) : -1;
	if (cols && !sql)
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
	sqlite3_free(cols);
	sqlite3_free(sql);
	if (rc < 0)
		goto error;
	int64_t new_id = sqlite3_last_insert_rowid(db);
	if (copy_rows(db, from, to, new_id, old_id, errbuf) < 0)
		goto error;
	if (db_exec(db, "COMMIT", errbuf) < 0)
		goto error;
	return 1;
error:
	db_exec(db, "ROLLBACK", ignore);
	return -1;
}

/* One capture of the source: its id, identity and path (heap copies, any length). */
struct src_capture {
	int64_t id;
	char *hash, *path;
};

static void free_batch(struct src_capture *c, int n)
{
	for (int i = 0; i < n; i++) {
		sqlite3_free(c[i].hash);
		sqlite3_free(c[i].path);
	}
}

/* Reads up to `max` captures with ids greater than `after` (the statement is reset
 * afterwards, so no read is pending while copy_one writes). Returns the count or -1. */
static int next_batch(sqlite3_stmt *st, int64_t after, struct src_capture *c, int max)
{
	int n = 0, rc = SQLITE_DONE;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1),
				    *p = sqlite3_column_text(st, 2);
		c[n].id = sqlite3_column_int64(st, 0);
		c[n].hash = sqlite3_mprintf("%s", h ? (const char *)h : "");
		c[n].path = sqlite3_mprintf("%s", p ? (const char *)p : "?");
		if (!c[n].hash || !c[n].path) {
			free_batch(c, n + 1);
			sqlite3_reset(st);
			return -1;
		}
		n++;
	}
	if (n < max && rc != SQLITE_DONE) {
		free_batch(c, n);
		n = -1;
	}
	sqlite3_reset(st);
	return n;
}

#define COPY_BATCH 256

/* Copies one batch; a capture that fails is reported through on_error and skipped. */
static void copy_batch(sqlite3 *db, const char *from, const char *to, struct src_capture *c, int n,
		       struct copy_counts *k, db_copy_error_fn on_error, void *arg)
{
	char errbuf[DB_ERRBUF_SIZE];
	for (int i = 0; i < n; i++) {
		int r = copy_one(db, from, to, c[i].id, c[i].hash, errbuf);
		if (r < 0) {
			k->failed++;
			if (on_error)
				on_error(c[i].path, errbuf, arg);
			continue;
		}
		*(r ? &k->copied : &k->skipped) += 1;
	}
}

int db_copy_captures(sqlite3 *db, const char *from, const char *to, struct copy_counts *k,
		     db_copy_error_fn on_error, void *arg, char *errbuf)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	struct src_capture batch[COPY_BATCH];
	int64_t last = -1;
	int n;
	*k = (struct copy_counts){0};
	snprintf(
	    sql, sizeof sql,
	    "SELECT id, content_hash, path FROM %s.captures WHERE id > ?1 ORDER BY id LIMIT ?2",
	    from);
	if (strpbrk(from, "\"'; ") || strpbrk(to, "\"'; ") ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading captures: %s", sqlite3_errmsg(db));
		return -1;
	}
	while ((n = next_batch(st, last, batch, COPY_BATCH)) > 0) {
		copy_batch(db, from, to, batch, n, k, on_error, arg);
		last = batch[n - 1].id;
		free_batch(batch, n);
	}
	if (n < 0)
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading captures: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return n < 0 ? -1 : 0;
}
