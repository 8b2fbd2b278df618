/* test_events_columns.c - every list of the events table's columns (the store's insert, the
 * copy between databases, the events CSV) checked against db/schema.sql, so a column added to
 * the schema fails here until each of them takes it or says why not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "analyzer/store.h"
#include "db/db.h"
#include "tests/unit/report_fixture.h"

extern const char pm_schema_sql[];

#define MAX_COLS 64

struct cols {
	char *name[MAX_COLS];
	int n;
};

static void cols_free(struct cols *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->name[i]);
	c->n = 0;
}

static bool cols_has(const struct cols *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return true;
	return false;
}

static void cols_add(struct cols *c, const char *name, size_t len)
{
	cr_assert_lt(c->n, MAX_COLS);
	c->name[c->n++] = strndup(name, len);
}

/* The columns of `table` as a database made from the compiled-in schema has them. */
static void schema_cols(const char *table, struct cols *out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	out->n = 0;
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, pm_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
					-1, &st, NULL),
		     SQLITE_OK);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		cols_add(out, (const char *)sqlite3_column_text(st, 0), SIZE_MAX);
	sqlite3_finalize(st);
	sqlite3_close(db);
	cr_assert_gt(out->n, 10);
}

/* Splits "a, b,c" (up to `end`) into names. */
static void split_list(const char *s, const char *end, struct cols *out)
{
	out->n = 0;
	while (s < end) {
		while (s < end && (*s == ' ' || *s == ','))
			s++;
		const char *w = s;
		while (s < end && *s != ',' && *s != ' ')
			s++;
		if (s > w)
			cols_add(out, w, (size_t)(s - w));
	}
}

/* Each of `want` is in `got` or in `except` (NULL-terminated), and `got` holds nothing else. */
static void expect_same(const char *what, const struct cols *want, const struct cols *got,
			const char *const *except)
{
	for (int i = 0; i < want->n; i++) {
		bool excepted = false;
		for (const char *const *e = except; *e; e++)
			excepted |= strcmp(*e, want->name[i]) == 0;
		if (excepted)
			cr_expect(!cols_has(got, want->name[i]), "%s: %s should not be there", what,
				  want->name[i]);
		else
			cr_expect(cols_has(got, want->name[i]), "%s lacks the column %s", what,
				  want->name[i]);
	}
	for (int i = 0; i < got->n; i++)
		cr_expect(cols_has(want, got->name[i]), "%s: %s is not a column of the schema",
			  what, got->name[i]);
}

/* analyzer/store.c inserts every column but the row id and what the diagnosis sets later. */
Test(events_columns, store_inserts_every_column)
{
	static const char *const later[] = {"id", "finding_id", "dup_of", NULL};
	struct cols schema, insert = {0};
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	schema_cols("events", &schema);
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	struct store *s = store_begin(db, "main", "x.pcap", NULL, err);
	cr_assert_not_null(s, "%s", err);
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st)) {
		const char *sql = sqlite3_sql(st), *at = strstr(sql, "INTO main.events (");
		if (!at)
			continue;
		at = strchr(at, '(') + 1;
		split_list(at, strchr(at, ')'), &insert);
	}
	cr_assert_gt(insert.n, 0, "the store prepared no insert into events");
	expect_same("the store's insert", &schema, &insert, later);
	store_abort(s);
	sqlite3_close(db);
	cols_free(&schema);
	cols_free(&insert);
}

/* db/copy.c copies every column of an event as it is, but the ids it remaps and what the
 * diagnosis sets again afterwards. */
Test(events_columns, copy_keeps_every_column)
{
	static const char *const remapped[] = {"id",	     "capture_id", "flow_id",
					       "finding_id", "dup_of",	   NULL};
	struct cols schema;
	char err[DB_ERRBUF_SIZE], src[] = "/tmp/pm-columns-XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(src));
	snprintf(path, sizeof path, "%s/src.db", src);
	sqlite3 *db = NULL;
	schema_cols("events", &schema);
	cr_assert_eq(db_open(path, &db, err), 0, "%s", err);
	/* one capture and one event whose every column holds a value of its own (its cid + 1) */
	char sql[4096] = "INSERT INTO events VALUES (";
	for (int i = 0; i < schema.n; i++)
		snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%s%d", i ? ", " : "",
			 strcmp(schema.name[i], "capture_id") == 0 ? 7
			 : strcmp(schema.name[i], "flow_id") == 0  ? 9
								   : i + 1);
	strcat(sql, ")");
	cr_assert_eq(db_exec(db,
			     "INSERT INTO captures (id, path, content_hash, format) VALUES"
			     " (7, 'a.pcap', 'h1', 'pcap');"
			     "INSERT INTO flows (id, capture_id, client_ip, client_port, server_ip,"
			     " server_port) VALUES (9, 7, '192.0.2.1', 1, '192.0.2.2', 2)",
			     err),
		     0, "%s", err);
	cr_assert_eq(db_exec(db, sql, err), 0, "%s", err);
	sqlite3_close(db);

	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	cr_assert_eq(db_attach(db, path, "src", err), 0, "%s", err);
	struct copy_counts k;
	cr_assert_eq(db_copy_captures(db, "src", "main", &k, NULL, NULL, err), 0, "%s", err);
	cr_assert_eq(k.copied, 1);
	for (int i = 0; i < schema.n; i++) {
		bool kept = true;
		for (const char *const *r = remapped; *r; r++)
			kept &= strcmp(*r, schema.name[i]) != 0;
		char q[256];
		snprintf(
		    q, sizeof q,
		    "SELECT (SELECT \"%s\" FROM main.events) IS (SELECT \"%s\" FROM src.events)",
		    schema.name[i], schema.name[i]);
		sqlite3_stmt *st = NULL;
		cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s",
			     sqlite3_errmsg(db));
		cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
		if (kept)
			cr_expect(sqlite3_column_int(st, 0), "the copy changed events.%s",
				  schema.name[i]);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	cols_free(&schema);
	unlink(path);
	rmdir(src);
}

/* The events CSV (reports/csv.c) has a column for each events column but those it shows in
 * another form or leaves out, each for the reason written beside it. */
Test(events_columns, csv_names_every_column)
{
	static const char *const not_shown[] = {
	    "id",	      /* internal row id */
	    "capture_id",     /* shown as the capture's path (capture) and capture_sha256 */
	    "ts_ns",	      /* shown as time, ISO 8601 */
	    "flow_id",	      /* internal link; the flow is src, sport, dst, dport */
	    "icmp_cksum",     /* for matching capture points, not for readers */
	    "quote_ip_id",    /* idem */
	    "other_delay_ns", /* the diagnosis's timing of the conversation */
	    "other_wait_ns",
	    "other_run",
	    "fwd_before",
	    "rev_before",
	    "sender_peers",
	    "dup_of", /* de-duplication across capture points */
	    NULL};
	/* columns of the CSV that are no column of events, by design */
	static const char *const derived[] = {
	    "capture",	    "time", "dns_qname_hex", "capture_sha256", "diagnosis",
	    "community_id", NULL};
	struct cols schema, header = {0};
	schema_cols("events", &schema);
	sqlite3 *db = pmt_db_new();
	char *csv = pmt_render(db, REPORT_CSV, false, true, NULL);
	split_list(csv, strstr(csv, "\r\n"), &header);
	for (const char *const *d = derived; *d; d++)
		cols_add(&schema, *d, SIZE_MAX);
	expect_same("the events CSV", &schema, &header, not_shown);
	free(csv);
	sqlite3_close(db);
	cols_free(&schema);
	cols_free(&header);
}
