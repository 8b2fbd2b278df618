/* objects.c - refusing databases that hold objects portmortem's schema does not create. */
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char pm_schema_sql[];

#define MAX_OBJECTS 64

/* The objects db/schema.sql creates, read from a fresh in-memory database built from it:
 * "type name" strings (tables, indexes; SQLite's own sqlite_* objects left out). */
struct object_set {
	char *items[MAX_OBJECTS];
	int n;
};

static void free_set(struct object_set *s)
{
	for (int i = 0; i < s->n; i++)
		sqlite3_free(s->items[i]);
	s->n = 0;
}

static const char LIST_SQL[] = "SELECT type, name, coalesce(sql, '') FROM \"%w\".sqlite_schema"
			       " WHERE name NOT LIKE 'sqlite\\_%%' ESCAPE '\\' ORDER BY type, name";

static int expected_objects(struct object_set *s, char *errbuf)
{
	sqlite3 *mem = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	char *sql = sqlite3_mprintf(LIST_SQL, "main");
	s->n = 0;
	if (!sql || sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    db_exec(mem, pm_schema_sql, errbuf) < 0 ||
	    sqlite3_prepare_v2(mem, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "building the reference schema: %s",
			 mem ? sqlite3_errmsg(mem) : "out of memory");
		goto done;
	}
	while (sqlite3_step(st) == SQLITE_ROW && s->n < MAX_OBJECTS)
		s->items[s->n++] = sqlite3_mprintf("%s %s", sqlite3_column_text(st, 0),
						   sqlite3_column_text(st, 1));
	rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_close(mem);
	sqlite3_free(sql);
	return rc;
}

/* Indexes that earlier schema versions created and the upgrade drops: a database made by an
 * earlier portmortem holds them until it is upgraded. */
static const char *const RETIRED[] = {"index events_dst", "index endpoints_ip_port",
				      "index endpoints_port", "index events_flow",
				      "index endpoint_clients_ep"};

/* Whether an object of the inspected database is one the schema creates, as a plain table
 * or index (a virtual table of the same name is not), or one an earlier version created. */
static bool is_ours(const struct object_set *s, const char *type, const char *name, const char *sql)
{
	char key[256];
	snprintf(key, sizeof key, "%s %s", type, name);
	for (size_t i = 0; i < sizeof RETIRED / sizeof RETIRED[0]; i++)
		if (strcmp(RETIRED[i], key) == 0)
			return strncmp(sql, "CREATE INDEX", 12) == 0;
	for (int i = 0; i < s->n; i++)
		if (s->items[i] && strcmp(s->items[i], key) == 0)
			return strncmp(sql, strcmp(type, "table") == 0 ? "CREATE TABLE" : "CREATE ",
				       strcmp(type, "table") == 0 ? 12 : 7) == 0;
	return false;
}

/* Appends "type name" to the list of foreign objects in buf. */
static void add_foreign(char *buf, size_t len, int n, const char *type, const char *name)
{
	size_t used = strlen(buf);
	if (used + 8 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s \"%.64s\"", n ? ", " : "", type, name);
}

int db_check_objects(sqlite3 *db, const char *schema, const char *path, char *errbuf)
{
	struct object_set ours;
	sqlite3_stmt *st = NULL;
	char foreign[320] = "";
	int n = 0, rc = -1;
	if (expected_objects(&ours, errbuf) < 0)
		return -1;
	char *sql = sqlite3_mprintf(LIST_SQL, schema);
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s: cannot read its schema: %s", path,
			 sqlite3_errmsg(db));
		goto done;
	}
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (!is_ours(&ours, type, name, (const char *)sqlite3_column_text(st, 2)))
			add_foreign(foreign, sizeof foreign, n++, type, name);
	}
	if (step != SQLITE_DONE)
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s: cannot read its schema: %s", path,
			 sqlite3_errmsg(db));
	else if (n)
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "%s: refused: it holds %d object%s portmortem does not create (%s); "
			 "a database from elsewhere could run planted SQL",
			 path, n, n == 1 ? "" : "s", foreign);
	else
		rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	free_set(&ours);
	return rc;
}
