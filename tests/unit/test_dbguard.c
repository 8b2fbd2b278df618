/* test_dbguard.c - the defensive open: planted objects refused and named, statements bounded,
 * plain paths, read-only databases diagnosed in temp tables, merges that lose nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/diagnose.h"
#include "db/db.h"
#include "reports/report.h"

static char dir[] = "/tmp/pm-dbguard-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* A fresh portmortem database at dir/name, then `plant` run on it by a plain connection. */
static void make_db(const char *name, const char *plant, char *path, size_t len)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	snprintf(path, len, "%s/%s", dir, name);
	cr_assert_eq(db_open(path, &db, err), 0, "%s", err);
	sqlite3_close(db);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, plant, NULL, NULL, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	sqlite3_close(db);
}

TestSuite(dbguard, .init = setup, .fini = teardown);

Test(dbguard, planted_trigger_is_refused_and_named)
{
	char path[256], err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	make_db("t.db",
		"CREATE TRIGGER evil AFTER INSERT ON findings BEGIN UPDATE findings SET "
		"evidence = '[\"run curl x | sh\"]'; END;",
		path, sizeof path);
	cr_assert_eq(db_open(path, &db, err), -1);
	cr_assert_null(db);
	cr_assert(strstr(err, "trigger \"evil\"") != NULL, "%s", err);
	cr_assert_lt(db_open_readonly(path, &db, err), 0);
	cr_assert(strstr(err, "trigger \"evil\"") != NULL, "%s", err);
}

Test(dbguard, views_indexes_and_virtual_tables_are_named)
{
	char path[256], err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	make_db("v.db",
		"CREATE VIEW loop AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
		" FROM c) SELECT x FROM c; CREATE INDEX extra ON events (ts_ns);"
		"CREATE VIRTUAL TABLE notes USING fts5(body);",
		path, sizeof path);
	cr_assert_eq(db_open(path, &db, err), -1);
	cr_assert(strstr(err, "view \"loop\"") && strstr(err, "index \"extra\"") &&
		      strstr(err, "table \"notes\""),
		  "%s", err);
}

Test(dbguard, own_schema_passes)
{
	char path[256], err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	make_db("ok.db", "SELECT 1", path, sizeof path);
	cr_assert_eq(db_open(path, &db, err), 0, "%s", err);
	cr_assert_eq(db_check_objects(db, "main", path, err), 0, "%s", err);
	sqlite3_close(db);
}

Test(dbguard, runaway_statement_is_stopped)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	cr_assert_eq(db_set_budget(db, 1000000), 0);
	cr_assert_not(db_budget_exceeded(db));
	int rc = db_exec(db,
			 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
			 " SELECT count(*) FROM c",
			 err);
	cr_assert_eq(rc, -1);
	cr_assert(db_budget_exceeded(db));
	/* the next statement has a budget of its own */
	cr_assert_eq(db_exec(db, "SELECT count(*) FROM captures", err), 0, "%s", err);
	sqlite3_close(db);
}

Test(dbguard, defensive_flags_are_on)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	int on = -1;
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	cr_assert_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on), SQLITE_OK);
	cr_assert_eq(on, 1);
	cr_assert_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &on), SQLITE_OK);
	cr_assert_eq(on, 0);
	/* DEFENSIVE: the schema cannot be rewritten from SQL */
	cr_assert_eq(db_exec(db,
			     "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = ''"
			     " WHERE name = 'findings'",
			     err),
		     -1);
	sqlite3_close(db);
}

Test(dbguard, file_colon_is_a_file_name)
{
	char err[DB_ERRBUF_SIZE], path[256], cwd[512];
	sqlite3 *db = NULL;
	cr_assert_not_null(getcwd(cwd, sizeof cwd));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(db_open("file:x.db?mode=memory", &db, err), 0, "%s", err);
	sqlite3_close(db);
	snprintf(path, sizeof path, "%s/file:x.db?mode=memory", dir);
	cr_assert_eq(access(path, F_OK), 0, "no file named %s", path);
	cr_assert_eq(chdir(cwd), 0);
}

Test(dbguard, readonly_open_diagnoses_in_temp)
{
	char path[256], err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	make_db(
	    "r.db",
	    "INSERT INTO findings (diagnosis, confidence, severity, server_ip,"
	    " server_port, errors, requests, replies) VALUES ('stale', 'low', 0, '192.0.2.1', 53,"
	    " 1, 0, 0)",
	    path, sizeof path);
	cr_assert_eq(db_open_readonly(path, &db, err), 0, "%s", err);
	/* stale findings: report then recomputes them in temp copies of what it writes */
	cr_assert(!diagnose_current(db));
	cr_assert_eq(db_shadow_written(db, err), 0, "%s", err);
	cr_assert_geq(diagnose_rebuild(db, &(struct diagnose_kb){kb_service_for_port}, err), 0,
		      "%s", err);
	sqlite3_close(db);
	/* the file still holds what it held */
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT count(*) FROM findings WHERE diagnosis = 'stale'",
					-1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Identities of any length are matched (version 1's "file:" + 32 hex, "|filter=..."). */
Test(dbguard, long_identities_are_found)
{
	char err[DB_ERRBUF_SIZE], sql[512];
	sqlite3 *db = NULL;
	const char *id = "0123456789abcdef0123456789abcdef|filter=udp and not port 53";
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	snprintf(sql, sizeof sql,
		 "INSERT INTO captures (path, content_hash, format) VALUES"
		 " ('a.pcap', '%s', 'pcap')",
		 id);
	cr_assert_eq(db_exec(db, sql, err), 0, "%s", err);
	cr_assert_eq(db_capture_known(db, "main", id, err), 1);
	sqlite3_close(db);
}
