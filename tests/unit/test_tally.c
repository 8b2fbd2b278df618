/* test_tally.c - the diagnosis's one-pass aggregates against the SQL they replace: tally.c's
 * distinct values and counts, and a finding's summary (dg_summarise_claimed) against the
 * GROUP BY statements that computed it before, on random events with NULLs, replies, ties
 * and more than 100 clients. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "analyzer/tally.h"
#include "db/db.h"

Test(tally, counts_each_value_and_keeps_its_bytes)
{
	struct tally t = {0};
	cr_assert(tally_add(&t, "dns", 3));
	cr_assert(tally_add(&t, "ntp", 3));
	cr_assert(tally_add(&t, "dns", 3));
	cr_assert(tally_add(&t, "a\0b", 3)); /* embedded NUL: a value of its own */
	cr_assert(tally_add(&t, "a", 1));
	cr_assert_eq(t.n_items, 4);
	const struct tally_item *top = tally_top(&t);
	cr_assert_str_eq(top->key, "dns");
	cr_assert_eq(top->n, 2);
	tally_free(&t);
	cr_assert_eq(t.n_items, 0);
	cr_assert_null(t.items);
}

Test(tally, ties_go_to_the_smallest_value_in_binary_order)
{
	struct tally t = {0};
	/* "ab" < "abc" (a prefix first), "B" < "a" (bytes), "\xc3" after ASCII */
	const char *vals[] = {"abc", "ab", "\xc3\xa9", "a", "B"};
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
			cr_assert(tally_add(&t, vals[i], strlen(vals[i])));
	cr_assert_str_eq(tally_top(&t)->key, "B");
	cr_assert(tally_add(&t, "abc", 3));
	cr_assert_str_eq(tally_top(&t)->key, "abc");
	/* every item counted twice except abc (three times): the rest in first-added order */
	const char *want[] = {"abc", "ab", "\xc3\xa9", "a", "B"};
	for (size_t i = 0; i < t.n_items; i++) {
		cr_assert_str_eq(t.items[i].key, want[i], "item %zu", i);
		cr_assert_eq(t.items[i].n, i == 0 ? 3 : 2, "item %zu", i);
	}
	tally_clear(&t);
	cr_assert_null(tally_top(&t));
	cr_assert(tally_add(&t, "x", 1)); /* usable again after a clear */
	cr_assert_eq(tally_top(&t)->n, 1);
	tally_free(&t);
}

Test(tally, many_values_grow_the_table_and_keep_every_count)
{
	struct tally t = {0};
	char key[16];
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 5000; i++) {
			int n = snprintf(key, sizeof key, "k%d", i);
			if (round == 0 || i % (round + 1) == 0)
				cr_assert(tally_add(&t, key, (size_t)n));
		}
	cr_assert_eq(t.n_items, 5000);
	for (size_t i = 0; i < t.n_items; i++) {
		int k = atoi(t.items[i].key + 1);
		int64_t want = 1 + (k % 2 == 0) + (k % 3 == 0);
		cr_assert_eq(t.items[i].n, want, "%s: %lld", t.items[i].key,
			     (long long)t.items[i].n);
	}
	/* k0 is counted in every round, like every multiple of 6; "k0" is the smallest */
	cr_assert_str_eq(tally_top(&t)->key, "k0");
	tally_free(&t);
}

Test(tally, a_bound_keeps_the_first_values_and_says_it_left_some_out)
{
	struct tally t = {.max_items = 3};
	const char *vals[] = {"a", "b", "c", "d", "a", "e", "c"};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		cr_assert(tally_add(&t, vals[i], 1));
	cr_assert_eq(t.n_items, 3);
	cr_assert(t.overflow);
	cr_assert_str_eq(tally_top(&t)->key, "a"); /* a and c twice: the smaller */
	cr_assert_eq(tally_top(&t)->n, 2);
	tally_clear(&t);
	cr_assert_not(t.overflow);
	cr_assert_eq(t.max_items, 3);
	tally_free(&t);
}

Test(tally, cmp_is_sqlite_binary_collation)
{
	cr_assert_lt(tally_cmp("ab", 2, "abc", 3), 0);
	cr_assert_gt(tally_cmp("b", 1, "abc", 3), 0);
	cr_assert_eq(tally_cmp("", 0, "", 0), 0);
	cr_assert_lt(tally_cmp("", 0, "a", 1), 0);
	cr_assert_gt(tally_cmp("\x80", 1, "\x7f", 1), 0);
}

/* ---- a finding's summary against the SQL it replaced ---- */

static sqlite3 *db;

static void exec_ok(const char *sql)
{
	char *msg = NULL;
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg);
}

static void text_of(const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Random events for findings 1..n_findings: clients from a pool of 300 (so lists are cut at
 * 100), some replies, NULL delays and quote lengths, a few applications with ties. */
static void random_events(int n_findings, int n_events, unsigned seed)
{
	exec_ok("CREATE TEMP TABLE pu (eid INTEGER PRIMARY KEY, fid, role, src, dst, reporter,"
		" ts_ns, precision, orig_seen, orig_delay_ns, quote_len, quote_ip_len, family,"
		" ttl, app)");
	sqlite3_stmt *ins = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db,
					"INSERT INTO pu (fid, role, src, dst, reporter, ts_ns,"
					" precision, orig_seen, orig_delay_ns, quote_len,"
					" quote_ip_len, family, ttl, app) VALUES (?1, ?2, ?3, ?4,"
					" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
					-1, &ins, NULL),
		     SQLITE_OK);
	static const char *APPS[] = {"dns", "ntp", "snmp", "quic"};
	srand(seed);
	for (int i = 0; i < n_events; i++) {
		char src[40], dst[40], rep[40];
		int fid = 1 + rand() % n_findings;
		snprintf(src, sizeof src, "2001:db8::%x", rand() % 300);
		snprintf(dst, sizeof dst, "192.0.2.%d", fid);
		snprintf(rep, sizeof rep, "198.51.100.%d", rand() % 150);
		sqlite3_bind_int(ins, 1, fid);
		sqlite3_bind_text(ins, 2, rand() % 10 ? "request" : "reply", -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, src, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 4, dst, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 5, rep, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 6, 1700000000000000000LL + (long long)rand() * 1000);
		sqlite3_bind_int(ins, 7, rand() % 2 ? 6 : 9);
		sqlite3_bind_int(ins, 8, rand() % 3 != 0);
		if (rand() % 4)
			sqlite3_bind_int64(ins, 9, rand() % 5000000);
		else
			sqlite3_bind_null(ins, 9);
		if (rand() % 5)
			sqlite3_bind_int(ins, 10, 28 + rand() % 500);
		else
			sqlite3_bind_null(ins, 10);
		sqlite3_bind_int(ins, 11, 28 + rand() % 1400);
		sqlite3_bind_text(ins, 12, rand() % 2 ? "icmp" : "icmp6", -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 13, 50 + rand() % 200);
		if (rand() % 3)
			sqlite3_bind_text(ins, 14, APPS[rand() % 4], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 14);
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	for (int f = 1; f <= n_findings; f++) {
		char sql[200];
		snprintf(sql, sizeof sql,
			 "INSERT INTO findings (id, diagnosis, confidence, severity, server_ip,"
			 " server_port, errors, requests, replies) VALUES (%d, 'service-down',"
			 " 'medium', 0, '192.0.2.%d', 53, 0, 0, 0)",
			 f, f);
		exec_ok(sql);
	}
}

/* The statements the summary pass replaced: their results are the oracle. */
static const char ORACLE_SQL[] =
    "CREATE TEMP TABLE want_fs AS SELECT fid, COUNT(*) AS n, MIN(ts_ns) AS t0, MAX(ts_ns) AS t1,"
    " MAX(precision) AS prec, SUM(orig_seen) AS seen,"
    " AVG(CASE WHEN orig_seen THEN orig_delay_ns END) AS delay, MAX(quote_len) AS qlen,"
    " MAX(quote_ip_len) AS iplen, MAX(family = 'icmp6') AS v6, MIN(ttl) AS ttl_lo,"
    " MAX(ttl) AS ttl_hi FROM pu WHERE fid IS NOT NULL GROUP BY fid;"
    "CREATE TEMP TABLE want_fa AS SELECT fid, app FROM (SELECT fid, app, row_number() OVER"
    " (PARTITION BY fid ORDER BY COUNT(*) DESC, app) AS k FROM pu WHERE fid IS NOT NULL"
    " AND app IS NOT NULL GROUP BY fid, app) WHERE k = 1;"
    "CREATE TEMP TABLE fc (fid, c, PRIMARY KEY (fid, c)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO fc SELECT fid, CASE WHEN role = 'reply' THEN dst ELSE src END"
    " FROM pu WHERE fid IS NOT NULL;"
    "CREATE TEMP TABLE want_clients AS SELECT fid, json_group_array(c) AS j FROM (SELECT fid,"
    " c, row_number() OVER (PARTITION BY fid ORDER BY c) AS k FROM fc) WHERE k <= 100"
    " GROUP BY fid;"
    "DELETE FROM fc;"
    "INSERT OR IGNORE INTO fc SELECT fid, reporter FROM pu WHERE fid IS NOT NULL;"
    "CREATE TEMP TABLE want_reporters AS SELECT fid, json_group_array(c) AS j FROM (SELECT"
    " fid, c, row_number() OVER (PARTITION BY fid ORDER BY c) AS k FROM fc) WHERE k <= 100"
    " GROUP BY fid;";

Test(summary, one_pass_equals_the_group_by_statements)
{
	char err[DB_ERRBUF_SIZE], got[64];
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	random_events(7, 6000, 12345);
	exec_ok(ORACLE_SQL);
	struct dg x = {.db = db};
	dg_summarise_claimed(&x);
	dg_cache_free(&x);
	cr_assert_not(x.failed, "%s", x.errbuf);
	/* every column of fs and fa, every summary field of findings */
	static const char *const CHECKS[] = {
	    "SELECT COUNT(*) FROM want_fs w JOIN fs g USING (fid) WHERE g.n IS w.n"
	    " AND g.seen IS w.seen AND g.delay IS w.delay AND g.qlen IS w.qlen"
	    " AND g.iplen IS w.iplen AND g.v6 IS w.v6 AND g.ttl_lo IS w.ttl_lo"
	    " AND g.ttl_hi IS w.ttl_hi",
	    "SELECT COUNT(*) FROM want_fa w JOIN fa g USING (fid) WHERE g.app IS w.app",
	    "SELECT COUNT(*) FROM want_fs w JOIN findings f ON f.id = w.fid WHERE f.errors = w.n"
	    " AND f.first_error_ns = w.t0 AND f.last_error_ns = w.t1 AND f.precision = w.prec",
	    "SELECT COUNT(*) FROM want_clients w JOIN findings f ON f.id = w.fid"
	    " WHERE f.clients = w.j AND json_array_length(f.clients) = 100",
	    "SELECT COUNT(*) FROM want_reporters w JOIN findings f ON f.id = w.fid"
	    " WHERE f.reporters = w.j AND json_array_length(f.reporters) = 100",
	};
	for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
		text_of(CHECKS[i], got, sizeof got);
		cr_assert_str_eq(got, "7", "check %zu: %s", i, CHECKS[i]);
	}
	text_of("SELECT COUNT(*) FROM fs", got, sizeof got);
	cr_assert_str_eq(got, "7");
	sqlite3_close(db);
}

Test(summary, findings_without_events_keep_their_empty_lists)
{
	char err[DB_ERRBUF_SIZE], got[64];
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	random_events(3, 50, 7);
	exec_ok("UPDATE pu SET fid = NULL WHERE fid = 2;"
		"UPDATE pu SET src = NULL, dst = NULL, app = NULL, quote_len = NULL,"
		" orig_delay_ns = NULL WHERE fid = 3");
	struct dg x = {.db = db};
	dg_summarise_claimed(&x);
	dg_cache_free(&x);
	cr_assert_not(x.failed, "%s", x.errbuf);
	text_of("SELECT clients || errors FROM findings WHERE id = 2", got, sizeof got);
	cr_assert_str_eq(got, "[]0");
	/* no client, no application, no quote length, no delay: NULL as the aggregates give */
	text_of("SELECT clients || coalesce(qlen, 'null') || coalesce(delay, 'null')"
		" || (SELECT COUNT(*) FROM fa WHERE fid = 3) FROM findings, fs"
		" WHERE findings.id = 3 AND fs.fid = 3",
		got, sizeof got);
	cr_assert_str_eq(got, "[]nullnull0");
	sqlite3_close(db);
}
