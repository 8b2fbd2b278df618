/* test_store.c - a capture's events stored in the caller's thread or handed to a thread of
 * their own (store_allow_thread()): the same rows in the same order either way, and an
 * insert that fails in that thread reported to the caller with the capture rolled back. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "analyzer/corr.h"
#include "analyzer/store.h"
#include "db/db.h"

/* More than the events a capture stores inline before its thread starts (store.c). */
#define MANY_EVENTS 10000

/* Port unreachable number n: from 203.0.113.x about a DNS query of 198.51.100.9. */
static void error_event(struct dissection *d, uint32_t n)
{
	memset(d, 0, sizeof *d);
	d->kind = PK_ICMP_UNREACH;
	d->ip_version = 4;
	d->src.family = d->dst.family = 4;
	const uint8_t server[4] = {203, 0, 113, (uint8_t)(n % 200 + 1)};
	const uint8_t client[4] = {198, 51, 100, 9};
	memcpy(d->src.b, server, 4);
	memcpy(d->dst.b, client, 4);
	d->ttl = 64;
	d->icmp.family = 4, d->icmp.type = 3, d->icmp.code = 3;
	d->icmp.cksum = (uint16_t)n;
	struct quote *q = &d->icmp.q;
	q->ip_version = 4;
	q->src = d->dst, q->dst = d->src;
	q->proto = 17, q->ttl = 63, q->ip_total_len = 60, q->ip_id = (uint16_t)(n * 7);
	q->has_ports = true;
	q->sport = (uint16_t)(20000 + n % 30000), q->dport = 53;
	q->udp_len = 40, q->quote_len = 60;
	q->hint.kind = HINT_DNS;
	q->hint.dns_id = (uint16_t)n;
	q->hint.dns_has_question = true;
	q->hint.dns_qtype = 1;
	q->hint.dns_qname_len = (uint16_t)snprintf(
	    (char *)q->hint.dns_qname, sizeof q->hint.dns_qname, "h%u.example", (unsigned)n);
}

/* Stores `n` events of one capture, with or without the events' thread; returns what
 * store_flush() said, and with finish, commits the capture. */
static int store_many(sqlite3 *db, bool thread, uint32_t n, bool finish, char *err)
{
	struct store *s = store_begin(db, "main", "many.pcap", NULL, err);
	cr_assert_not_null(s, "%s", err);
	store_allow_thread(s, thread);
	struct dissection d;
	struct corr_link link = {.flow = -1, .orig_seen = true, .orig_delay = 1000};
	int rc = 0;
	for (uint32_t i = 1; i <= n && rc == 0; i++) {
		error_event(&d, i);
		rc = store_event(s, i, 1000000000LL * 1700000000 + i, &d, &link);
	}
	if (rc == 0)
		rc = store_flush(s);
	if (rc < 0) {
		snprintf(err, DB_ERRBUF_SIZE, "%s", store_error(s));
		store_abort(s);
		return rc;
	}
	if (!finish) {
		store_abort(s);
		return 0;
	}
	struct corr *c = corr_new(1024, 1024);
	cr_assert_not_null(c);
	struct scan_stats st = {.packets = n, .port_unreach = n, .icmp_unreach = n};
	struct capture_facts f = {
	    .size = -1, .hash = "many", .format = "pcap", .precision = 9, .stats = &st, .corr = c};
	rc = store_finish(s, &f, err);
	corr_free(c);
	return rc;
}

/* A digest of every stored event: each column, in id order. */
static char *events_digest(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	cr_assert_eq(
	    sqlite3_prepare_v2(db,
			       "SELECT group_concat(x, '|') FROM (SELECT id || ',' || frame"
			       " || ',' || ts_ns || ',' || reporter || ',' || src || ','"
			       " || sport || ',' || dst || ',' || dport || ',' || dns_qname"
			       " || ',' || icmp_cksum || ',' || quote_ip_id || ',' || role"
			       " AS x FROM events ORDER BY id)",
			       -1, &st, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	const char *t = (const char *)sqlite3_column_text(st, 0);
	char *copy = strdup(t ? t : "");
	sqlite3_finalize(st);
	return copy;
}

/* db_query_int(), -1 when the query fails: every expectation below is 0 or more. */
#define count(db, sql) db_query_int(db, sql)

Test(store, the_events_thread_stores_the_same_rows_in_the_same_order)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *inline_db = NULL, *thread_db = NULL;
	cr_assert_eq(db_open(":memory:", &inline_db, err), 0, "%s", err);
	cr_assert_eq(db_open(":memory:", &thread_db, err), 0, "%s", err);
	cr_assert_eq(store_many(inline_db, false, MANY_EVENTS, true, err), 0, "%s", err);
	cr_assert_eq(store_many(thread_db, true, MANY_EVENTS, true, err), 0, "%s", err);
	cr_expect_eq(count(thread_db, "SELECT COUNT(*) FROM events"), MANY_EVENTS);
	cr_expect_eq(count(thread_db, "SELECT COUNT(*) FROM events WHERE id != frame"), 0,
		     "events out of order");
	cr_expect_eq(count(thread_db, "SELECT COUNT(*) FROM events WHERE dns_qname ="
				      " CAST('h' || frame || '.example' AS BLOB)"),
		     MANY_EVENTS, "a name belongs to another event");
	char *a = events_digest(inline_db), *b = events_digest(thread_db);
	cr_expect_str_eq(a, b, "the rows differ between the caller's thread and the events'");
	free(a), free(b);
	sqlite3_close(inline_db);
	sqlite3_close(thread_db);
}

/* An insert that fails in the events' thread: the caller hears of it with its message, and
 * nothing of the capture stays. */
Test(store, an_insert_failing_in_the_events_thread_is_reported_and_rolled_back)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	cr_assert_eq(
	    db_exec(db,
		    "CREATE TEMP TRIGGER refuse_one BEFORE INSERT ON main.events"
		    " WHEN NEW.frame = 9000 BEGIN SELECT RAISE(ABORT, 'event 9000 refused');"
		    " END",
		    err),
	    0, "%s", err);
	err[0] = 0;
	cr_expect_eq(store_many(db, true, MANY_EVENTS, true, err), -1);
	cr_expect(strstr(err, "event 9000 refused") != NULL, "the error said: %s", err);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM events"), 0);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM captures"), 0);
	/* the connection is usable again: the next capture is stored whole */
	cr_assert_eq(db_exec(db, "DROP TRIGGER temp.refuse_one", err), 0, "%s", err);
	cr_expect_eq(store_many(db, true, MANY_EVENTS, true, err), 0, "%s", err);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM events"), MANY_EVENTS);
	sqlite3_close(db);
}

/* A capture abandoned while its thread still has events queued (a signal, a duplicate):
 * store_abort() stops the thread and rolls everything back. */
Test(store, a_capture_abandoned_with_events_queued_leaves_nothing)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	struct store *s = store_begin(db, "main", "gone.pcap", NULL, err);
	cr_assert_not_null(s, "%s", err);
	store_allow_thread(s, true);
	struct dissection d;
	struct corr_link link = {.flow = -1};
	for (uint32_t i = 1; i <= MANY_EVENTS; i++) {
		error_event(&d, i);
		cr_assert_eq(store_event(s, i, i, &d, &link), 0, "%s", store_error(s));
	}
	store_abort(s);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM events"), 0);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM captures"), 0);
	sqlite3_close(db);
}

/* A capture stored in a transaction of its own runs with the foreign keys off (a flow's
 * insert would otherwise look through every event for those pointing to it) and gives the
 * connection back with them as it found them, whether it is kept or dropped. */
Test(store, the_foreign_keys_are_as_they_were_after_a_capture)
{
	char err[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
	cr_assert_eq(count(db, "PRAGMA foreign_keys"), 1, "db_open() turns them on");
	cr_assert_eq(store_many(db, true, MANY_EVENTS, true, err), 0, "%s", err);
	cr_expect_eq(count(db, "PRAGMA foreign_keys"), 1, "after a capture kept");
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0,
		     "the rows keep their keys");
	cr_assert_eq(db_exec(db, "DELETE FROM captures", err), 0, "%s", err);
	cr_expect_eq(count(db, "SELECT COUNT(*) FROM events"), 0, "the cascade still works");
	cr_assert_eq(store_many(db, false, 10, false, err), 0, "%s", err);
	cr_expect_eq(count(db, "PRAGMA foreign_keys"), 1, "after a capture dropped");
	cr_assert_eq(db_exec(db, "PRAGMA foreign_keys = OFF", err), 0, "%s", err);
	cr_assert_eq(store_many(db, false, 10, true, err), 0, "%s", err);
	cr_expect_eq(count(db, "PRAGMA foreign_keys"), 0, "left off when it was off");
	sqlite3_close(db);
}
