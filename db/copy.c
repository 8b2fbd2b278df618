/* copy.c - copying whole captures (with all their rows) from one attached database to another. */
#include "db/db.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The statements of one db_copy_captures() call, prepared once for all its captures: ?1 is
 * the capture's new id, ?2 its id in the source, ?3 what moves its flow ids, ?4 its identity.
 * Statement CS_ROWS + i copies ROWS[i]. */
enum copy_stmt { CS_KNOWN, CS_CAPTURE, CS_SHIFT, CS_ROWS };
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])
#define CS__COUNT (CS_ROWS + (int)N_ROWS)

struct copier {
	sqlite3 *db;
	sqlite3_stmt *st[CS__COUNT];
};

/* The statement copying table ROWS[i] (a heap string), or NULL with errbuf. */
static char *rows_sql(sqlite3 *db, const char *from, const char *to, size_t i, char *errbuf)
{
	char *cols = copied_cols(db, to, ROWS[i].table, errbuf);
	if (!cols)
		return NULL;
	char *sql = sqlite3_mprintf("INSERT INTO %s.%s (%s, %s) SELECT %s, %s FROM %s.%s"
				    " WHERE capture_id = ?2%s",
				    to, ROWS[i].table, ROWS[i].head, cols, ROWS[i].vals, cols, from,
				    ROWS[i].table, ROWS[i].order);
	sqlite3_free(cols);
	if (!sql)
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
	return sql;
}

static int copier_open(struct copier *cp, sqlite3 *db, const char *from, const char *to,
		       char *errbuf)
{
	char *sql[CS__COUNT] = {0};
	char *cols = copied_cols(db, to, "captures", errbuf);
	int rc = cols ? 0 : -1;
	*cp = (struct copier){.db = db};
	sql[CS_KNOWN] = sqlite3_mprintf("SELECT 1 FROM %s.captures WHERE content_hash = ?4", to);
	if (cols)
		sql[CS_CAPTURE] = sqlite3_mprintf(
		    "INSERT INTO %s.captures (%s) SELECT %s FROM %s.captures WHERE id = ?2", to,
		    cols, cols, from);
	/* Flows keep their order and spacing above every id already there (ROWS). */
	sql[CS_SHIFT] = sqlite3_mprintf("SELECT coalesce((SELECT MAX(id) FROM %s.flows), 0) + 1 -"
					" coalesce((SELECT MIN(id) FROM %s.flows WHERE"
					" capture_id = ?2), 1)",
					to, from);
	for (size_t i = 0; rc == 0 && i < N_ROWS; i++)
		if (!(sql[CS_ROWS + i] = rows_sql(db, from, to, i, errbuf)))
			rc = -1;
	for (int i = 0; rc == 0 && i < CS__COUNT; i++) {
		if (!sql[i]) {
			snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
			rc = -1;
		} else if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &cp->st[i],
					      NULL) != SQLITE_OK) {
			snprintf(errbuf, DB_ERRBUF_SIZE, "preparing a copy: %s",
				 sqlite3_errmsg(db));
			rc = -1;
		}
	}
	for (int i = 0; i < CS__COUNT; i++)
		sqlite3_free(sql[i]);
	sqlite3_free(cols);
	return rc;
}

static void copier_close(struct copier *cp)
{
	for (int i = 0; i < CS__COUNT; i++)
		sqlite3_finalize(cp->st[i]);
}

/* Runs statement i with ?1..?4 bound as far as it has them (?4: the capture's identity);
 * SQLITE_ROW or SQLITE_DONE, its first column in *out when it returns a row. */
static int copier_run(struct copier *cp, int i, int64_t new_id, int64_t old_id, int64_t shift,
		      const char *hash, int64_t *out)
{
	sqlite3_stmt *st = cp->st[i];
	const int64_t ids[] = {new_id, old_id, shift};
	int n = sqlite3_bind_parameter_count(st);
	for (int p = 1; p <= n && p <= 3; p++)
		sqlite3_bind_int64(st, p, ids[p - 1]);
	if (n >= 4)
		sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* Copies capture old_id inside the open transaction, in a savepoint of its own: 1 copied,
 * 0 already there, -1 error (the capture's rows rolled back, errbuf). */
static int copy_one(struct copier *cp, int64_t old_id, const char *hash, char *errbuf)
{
	char ignore[DB_ERRBUF_SIZE];
	int64_t shift = 0;
	int rc = copier_run(cp, CS_KNOWN, 0, old_id, 0, hash, NULL);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto sql_error;
	if (rc == SQLITE_ROW)
		return 0;
	if (db_exec(cp->db, "SAVEPOINT copy_capture", errbuf) < 0)
		return -1;
	if (copier_run(cp, CS_CAPTURE, 0, old_id, 0, hash, NULL) != SQLITE_DONE)
		goto rollback;
	int64_t new_id = sqlite3_last_insert_rowid(cp->db);
	if (copier_run(cp, CS_SHIFT, new_id, old_id, 0, hash, &shift) != SQLITE_ROW)
		goto rollback;
	for (int i = CS_ROWS; i < CS__COUNT; i++)
		if (copier_run(cp, i, new_id, old_id, shift, hash, NULL) != SQLITE_DONE)
			goto rollback;
	if (db_exec(cp->db, "RELEASE copy_capture", errbuf) < 0)
		goto rollback_quiet;
	return 1;
rollback:
	snprintf(errbuf, DB_ERRBUF_SIZE, "copying a capture: %s", sqlite3_errmsg(cp->db));
rollback_quiet:
	db_exec(cp->db, "ROLLBACK TO copy_capture; RELEASE copy_capture", ignore);
	return -1;
sql_error:
	snprintf(errbuf, DB_ERRBUF_SIZE, "copying a capture: %s", sqlite3_errmsg(cp->db));
	return -1;
}

/* One capture of the source: its id, identity and path (heap copies, any length), and what
 * its copy gave (told once the transaction holding it is committed). */
struct src_capture {
	int64_t id;
	char *hash, *path;
	int result; /* 1 copied, 0 already there, -1 failed */
	char err[DB_ERRBUF_SIZE];
};

static void free_batch(struct src_capture *c, int n)
{
	for (int i = 0; i < n; i++) {
		sqlite3_free(c[i].hash);
		sqlite3_free(c[i].path);
	}
}

/* Reads up to `max` captures with ids greater than `after` (the statement is reset
 * afterwards, so no read is pending while the copies write). Returns the count or -1. */
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

/* Copies one batch in one transaction, each capture in a savepoint: a capture that fails is
 * rolled back alone. The results are told after the commit; when the transaction itself is
 * lost (the commit fails, or SQLite rolled it back after an I/O error), every capture it
 * had copied is told as failed with that error. */
static void copy_batch(struct copier *cp, struct src_capture *c, int n, struct copy_counts *k,
		       db_copy_fn on_capture, void *arg)
{
	char errbuf[DB_ERRBUF_SIZE], ignore[DB_ERRBUF_SIZE];
	bool open = db_exec(cp->db, "BEGIN IMMEDIATE", errbuf) == 0;
	for (int i = 0; i < n; i++) {
		if (!open) {
			c[i].result = -1;
			snprintf(c[i].err, sizeof c[i].err, "%s", errbuf);
			continue;
		}
		c[i].result = copy_one(cp, c[i].id, c[i].hash, c[i].err);
		if (sqlite3_get_autocommit(cp->db)) { /* SQLite ended the transaction */
			snprintf(errbuf, sizeof errbuf, "%s",
				 c[i].result < 0 ? c[i].err : "the transaction was rolled back");
			open = false;
			for (int j = 0; j <= i; j++)
				if (c[j].result > 0) {
					c[j].result = -1;
					snprintf(c[j].err, sizeof c[j].err, "%s", errbuf);
				}
		}
	}
	if (open && db_exec(cp->db, "COMMIT", errbuf) < 0) {
		db_exec(cp->db, "ROLLBACK", ignore);
		for (int j = 0; j < n; j++)
			if (c[j].result > 0) {
				c[j].result = -1;
				snprintf(c[j].err, sizeof c[j].err, "%s", errbuf);
			}
	}
	for (int i = 0; i < n; i++) {
		if (c[i].result < 0)
			k->failed++;
		else
			*(c[i].result ? &k->copied : &k->skipped) += 1;
		if (on_capture)
			on_capture(c[i].path,
				   c[i].result < 0 ? COPY_FAILED
				   : c[i].result   ? COPY_COPIED
						   : COPY_KNOWN,
				   c[i].result < 0 ? c[i].err : "", arg);
	}
}

int db_copy_captures(sqlite3 *db, const char *from, const char *to, struct copy_counts *k,
		     db_copy_fn on_capture, void *arg, char *errbuf)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	struct copier cp;
	struct src_capture *batch = NULL;
	int64_t last = -1;
	int n = -1;
	*k = (struct copy_counts){0};
	snprintf(
	    sql, sizeof sql,
	    "SELECT id, content_hash, path FROM %s.captures WHERE id > ?1 ORDER BY id LIMIT ?2",
	    from);
	if (strpbrk(from, "\"'; ") || strpbrk(to, "\"'; ") ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading captures: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	if (copier_open(&cp, db, from, to, errbuf) < 0)
		goto out;
	batch = calloc(COPY_BATCH, sizeof *batch);
	if (!batch) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		goto out;
	}
	while ((n = next_batch(st, last, batch, COPY_BATCH)) > 0) {
		copy_batch(&cp, batch, n, k, on_capture, arg);
		last = batch[n - 1].id;
		free_batch(batch, n);
	}
	if (n < 0)
		snprintf(errbuf, DB_ERRBUF_SIZE, "reading captures: %s", sqlite3_errmsg(db));
out:
	free(batch);
	copier_close(&cp);
	sqlite3_finalize(st);
	return n < 0 ? -1 : 0;
}
