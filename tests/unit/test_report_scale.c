/* test_report_scale.c - a report reads a finding's events by the stored link and its index,
 * a bounded number of rows, never every event: counted by SQLite's full-scan steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reports/report.h"

extern const char pm_schema_sql[];

#define T0 1795428121LL /* 2026-11-23 10:02:01 UTC */
#define BIG 60000	/* events of the large finding */

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK, "%s: %s", sql,
		     err ? err : "");
}

/* One capture; finding 1 (BIG events, one flow per 1000), finding 2 (10 events), interleaved
 * one in 40 so the large one's ids are spread out as in a storm. */
static sqlite3 *big_db(void)
{
	sqlite3 *db = NULL;
	char sql[2048];
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	exec(db, pm_schema_sql);
	exec(db, "BEGIN");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO captures (id, path, content_hash, format, link_type, link_type_name,"
		 " packets, port_unreachables, first_ns, last_ns) VALUES (1, 'big.pcap', 'h1',"
		 " 'pcap', 1, 'EN10MB', %d, %d, %lld, %lld)",
		 3 * BIG, BIG + BIG / 39, T0 * 1000000000LL, (T0 + 600) * 1000000000LL);
	exec(db, sql);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO flows (id, capture_id, client_ip, client_port, server_ip, server_port,"
	    " c2s_packets, s2c_packets, first_ns, last_ns, errors) WITH RECURSIVE n(i) AS"
	    " (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) SELECT i + 1, 1,"
	    " '192.0.2.' || (10 + i %% 200), 40000 + i, '192.0.2.53', 53, 1000, 0,"
	    " %lld + i * 1000000, %lld + i * 1000000 + 500000000, 1000 FROM n",
	    BIG / 1000, T0 * 1000000000LL, T0 * 1000000000LL);
	exec(db, sql);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO events (capture_id, frame, ts_ns, reporter, reported_to, ttl, family,"
	    " type, code, proto, src, sport, dst, dport, hint, flow_id, finding_id)"
	    " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
	    " SELECT 1, 2 * i + 1, %lld + i * 5000000, CASE WHEN i %% 40 = 39 THEN '192.0.2.54'"
	    " ELSE '192.0.2.53' END, '192.0.2.10', 64, 'icmp', 3, 3, 17, '192.0.2.10',"
	    " 40000 + i %% 1000, CASE WHEN i %% 40 = 39 THEN '192.0.2.54' ELSE '192.0.2.53' END,"
	    " 53, printf('dns A %%.150c', 'x'), i / 1000 + 1, CASE WHEN i %% 40 = 39 THEN 2"
	    " ELSE 1 END FROM n",
	    BIG + BIG / 39 - 1, T0 * 1000000000LL);
	exec(db, sql);
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO findings (id, diagnosis, confidence, severity, server_ip, server_port,"
	    " service, errors, requests, replies, clients, reporters, first_error_ns,"
	    " last_error_ns, evidence, capture_points) SELECT 1, 'service-down', 'high', 90,"
	    " '192.0.2.53', 53, 'dns', count(*), count(*), 0, '[\"192.0.2.10\"]',"
	    " '[\"192.0.2.53\"]', min(ts_ns), max(ts_ns), '[\"many\"]', '[\"big.pcap\"]'"
	    " FROM events WHERE finding_id = 1");
	exec(db, sql);
	exec(db,
	     "INSERT INTO findings (id, diagnosis, confidence, severity, server_ip, server_port,"
	     " service, errors, requests, replies, clients, reporters, first_error_ns,"
	     " last_error_ns, capture_points) SELECT 2, 'service-down', 'high', 90,"
	     " '192.0.2.54', 53, 'dns', count(*), count(*), 0, '[\"192.0.2.10\"]',"
	     " '[\"192.0.2.54\"]', min(ts_ns), max(ts_ns), '[\"big.pcap\"]'"
	     " FROM events WHERE finding_id = 2");
	exec(db, "COMMIT");
	return db;
}

/* Sums each statement's full-scan steps as it finishes (SQLITE_TRACE_PROFILE). */
static int64_t fullscan;
static int on_profile(unsigned type, void *ctx, void *p, void *x)
{
	if (type == SQLITE_TRACE_PROFILE)
		fullscan += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	return 0;
}

static char *render(sqlite3 *db, enum report_format fmt, int64_t *scan)
{
	char *buf = NULL, err[REPORT_ERRBUF_SIZE] = "";
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n);
	struct report_options opt = {.format = fmt, .version = "test"};
	fullscan = 0;
	sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, on_profile, NULL);
	int rc = report_write(db, &opt, out, err);
	sqlite3_trace_v2(db, 0, NULL, NULL);
	fclose(out);
	cr_assert_eq(rc, 0, "report_write: %s", err);
	*scan = fullscan;
	return buf;
}

/* Every format but the per-event CSV (one row per event by design) steps through a few
 * hundred rows of tables scanned whole (captures, findings, the report's own), never through
 * the events: with 61,538 events the bound is 2,000. */
Test(report_scale, no_format_scans_the_events)
{
	sqlite3 *db = big_db();
	const enum report_format fmts[] = {REPORT_TEXT, REPORT_JSON, REPORT_HTML, REPORT_CSV};
	const char *names[] = {"text", "json", "html", "csv"};
	for (size_t i = 0; i < 4; i++) {
		int64_t scan = 0;
		free(render(db, fmts[i], &scan));
		cr_expect_lt(scan, 2000, "%s report: %lld full-scan steps", names[i],
			     (long long)scan);
	}
	sqlite3_close(db);
}

/* The large finding's timeline is drawn from a sample, its total is still its errors; the
 * small one's is exact; both list their first frames. */
Test(report_scale, sampled_timeline_keeps_the_totals)
{
	sqlite3 *db = big_db();
	int64_t scan;
	char *html = render(db, REPORT_HTML, &scan);
	const char *one =
	    strstr(html, "<section class=\"card finding k-outage\" id=\"finding-1\">");
	const char *two =
	    strstr(html, "<section class=\"card finding k-outage\" id=\"finding-2\">");
	cr_assert(one && two);
	const char *end1 = strstr(one, "</section>"), *end2 = strstr(two, "</section>");
	const char *t1 = strstr(one, "<text class=\"tot\""),
		   *t2 = strstr(two, "port unreachable</text>");
	cr_assert(t1 && t1 < end1 && t2 && t2 < end2);
	cr_expect(strstr(one, "port unreachable</text>") < end1);
	/* 60,000 errors: "≈60000"; 1,538 (sampled too: more than 400) "≈1538" */
	const char *pu1 = strstr(strstr(one, "port unreachable</text>"), "<text class=\"tot\"");
	cr_expect(strncmp(strchr(pu1, '>') + 1, "≈60000<", strlen("≈60000<")) == 0, "%.40s", pu1);
	const char *pu2 = strstr(t2, "<text class=\"tot\"");
	cr_expect(strncmp(strchr(pu2, '>') + 1, "≈1538<", strlen("≈1538<")) == 0, "%.40s", pu2);
	cr_expect(strstr(one, "frames 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, …") != NULL);
	cr_expect(strstr(two, "frames 79, 159, 239") != NULL);
	free(html);
	sqlite3_close(db);
}
