/* test_diagnose.c - every diagnosis rule on hand-built databases, with the edges between labels. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/diagnose.h"
#include "analyzer/diagnose_int.h"
#include "db/db.h"
#include "reports/report.h"

static sqlite3 *db;

static void setup(void)
{
	char err[DB_ERRBUF_SIZE];
	cr_assert_eq(db_open(":memory:", &db, err), 0, "%s", err);
}

static void teardown(void)
{
	sqlite3_close(db);
}

__attribute__((format(printf, 1, 2))) static void sql(const char *fmt, ...)
{
	char buf[2048], *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	cr_assert_eq(sqlite3_exec(db, buf, NULL, NULL, &msg), SQLITE_OK, "%s: %s", buf, msg);
}

#define S(x) ((long long)(x)*1000000000LL)

static void capture(int id, long long first, long long last)
{
	sql("INSERT INTO captures (id, path, content_hash, format, precision, first_ns, last_ns)"
	    " VALUES (%d, 'c%d.pcap', 'h%d', 'pcap', 6, %lld, %lld)",
	    id, id, id, first, last);
}

/* A port unreachable from `rep` (ttl) quoting src:sport -> dst:dport. */
static void unreach(int cap, long long ts, const char *rep, int ttl, const char *src, int sport,
		    const char *dst, int dport, const char *role)
{
	sql("INSERT INTO events (capture_id, frame, ts_ns, reporter, reported_to, ttl, family,"
	    " type, code, proto, src, sport, dst, dport, quote_len, quote_ip_len, role, orig_seen)"
	    " VALUES (%d, 1, %lld, '%s', '%s', %d, 'icmp', 3, 3, 17, '%s', %d, '%s', %d, 60, 60,"
	    " '%s', 1)",
	    cap, ts, rep, src, ttl, src, sport, dst, dport, role);
}

static void time_exceeded(int cap, long long ts, const char *rep, const char *src, const char *dst,
			  int dport)
{
	sql("INSERT INTO events (capture_id, frame, ts_ns, reporter, reported_to, ttl, family,"
	    " type, code, proto, src, sport, dst, dport, quote_ttl) VALUES (%d, 1, %lld, '%s', "
	    "'%s',"
	    " 64, 'icmp', 11, 0, 17, '%s', 40000, '%s', %d, 1)",
	    cap, ts, rep, src, src, dst, dport);
}

/* Endpoint statistics: rx/tx counts, first/last tx, errors window. */
static void endpoint(int cap, const char *ip, int port, long long rx, long long tx,
		     long long first_tx, long long last_tx, const char *app)
{
	sql("INSERT INTO endpoints (capture_id, ip, port, rx_packets, tx_packets, first_tx_ns,"
	    " last_tx_ns, app) VALUES (%d, '%s', %d, %lld, %lld, NULL, NULL, %s%s%s)",
	    cap, ip, port, rx, tx, app ? "'" : "", app ? app : "NULL", app ? "'" : "");
	if (tx)
		sql("UPDATE endpoints SET first_tx_ns = %lld, last_tx_ns = %lld, first_rx_ns = %lld"
		    " WHERE capture_id = %d AND ip = '%s' AND port = %d",
		    first_tx, last_tx, rx ? first_tx - 1 : 0, cap, ip, port);
}

static int rebuild(void)
{
	char err[DB_ERRBUF_SIZE];
	int n = diagnose_rebuild(db, &(struct diagnose_kb){kb_service_for_port}, err);
	cr_assert_geq(n, 0, "%s", err);
	return n;
}

/* The text of column `col` of the finding for server ip:port. */
static const char *finding(const char *ip, int port, const char *col)
{
	static char out[4096];
	char q[256];
	sqlite3_stmt *st;
	snprintf(q, sizeof q, "SELECT %s FROM findings WHERE server_ip = ?1 AND server_port = ?2",
		 col);
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, port);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

TestSuite(diagnose, .init = setup, .fini = teardown);

Test(diagnose, service_down_when_nothing_answers)
{
	capture(1, S(100), S(400));
	for (int i = 0; i < 3; i++)
		unreach(1, S(101 + i), "192.0.2.53", 64, "192.0.2.10", 40000 + i, "192.0.2.53", 53,
			"request");
	endpoint(1, "192.0.2.53", 53, 3, 0, 0, 0, "dns");
	cr_assert_eq(rebuild(), 1);
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-down");
	cr_assert_str_eq(finding("192.0.2.53", 53, "confidence"), "high");
	cr_assert_str_eq(finding("192.0.2.53", 53, "errors"), "3");
	cr_assert_str_eq(finding("192.0.2.53", 53, "service"), "dns");
	cr_assert_str_eq(finding("192.0.2.53", 53, "clients"), "[\"192.0.2.10\"]");
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "No datagram from 192.0.2.53:53"));
	cr_assert_str_eq(finding("192.0.2.53", 53, "secondary"), "[]");
}

Test(diagnose, restarted_when_it_answered_before_and_after)
{
	capture(1, S(100), S(400));
	endpoint(1, "192.0.2.53", 53, 20, 10, S(100), S(300), "dns");
	sql("UPDATE endpoints SET tx_before_err_ns = %lld, tx_after_err_ns = %lld", S(150), S(210));
	unreach(1, S(160), "192.0.2.53", 64, "192.0.2.10", 40000, "192.0.2.53", 53, "request");
	unreach(1, S(200), "192.0.2.53", 64, "192.0.2.10", 40001, "192.0.2.53", 53, "request");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-restarted");
	cr_assert_str_eq(finding("192.0.2.53", 53, "outage_start_ns"), "150000000000");
	cr_assert_str_eq(finding("192.0.2.53", 53, "outage_end_ns"), "210000000000");
}

Test(diagnose, down_since_its_last_answer_in_an_earlier_capture)
{
	capture(1, S(100), S(199));
	capture(2, S(200), S(300));
	endpoint(1, "192.0.2.53", 53, 5, 5, S(100), S(190), "dns");
	endpoint(2, "192.0.2.53", 53, 2, 0, 0, 0, "dns");
	unreach(2, S(201), "192.0.2.53", 64, "192.0.2.10", 40000, "192.0.2.53", 53, "request");
	rebuild();
	/* It never answered again: down since its last answer, not restarted. */
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-down");
	cr_assert_str_eq(finding("192.0.2.53", 53, "outage_start_ns"), "190000000000");
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "then stopped"));
	/* An answer after the errors, in a third file: it came back. */
	capture(3, S(301), S(400));
	endpoint(3, "192.0.2.53", 53, 2, 2, S(350), S(360), "dns");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-restarted");
	cr_assert_str_eq(finding("192.0.2.53", 53, "outage_end_ns"), "350000000000");
}

Test(diagnose, wrong_port_needs_the_same_application)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.53", 64, "192.0.2.10", 40000, "192.0.2.53", 53, "request");
	endpoint(1, "192.0.2.53", 53, 1, 0, 0, 0, "dns");
	endpoint(1, "192.0.2.53", 123, 4, 4, S(100), S(300), "ntp");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-down");
	endpoint(1, "192.0.2.53", 8053, 4, 4, S(100), S(300), "dns");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "wrong-port");
	cr_assert(strstr(finding("192.0.2.53", 53, "related"), "8053"));
}

Test(diagnose, wrong_host_needs_shared_clients)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.54", 64, "192.0.2.10", 40000, "192.0.2.54", 53, "request");
	endpoint(1, "192.0.2.54", 53, 1, 0, 0, 0, "dns");
	endpoint(1, "192.0.2.53", 53, 4, 4, S(100), S(300), "dns");
	sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', 53, '192.0.2.99')");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.54", 53, "diagnosis"), "service-down");
	sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', 53, '192.0.2.10')");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.54", 53, "diagnosis"), "wrong-host");
}

/* The servers that answered a refused service's clients on its port, named in `related`:
 * the three that sent the most (ties in address order), never the service itself nor one that
 * answered other clients only. The same from the SQL the first 64 targets that ask use, from
 * the list of who answered whom the later ones look up, and from the SQL again when that list
 * is past its bound (262,144 pairs). */
static void refused_with_answers(const char *target)
{
	for (int c = 10; c < 13; c++) {
		char client[16];
		snprintf(client, sizeof client, "192.0.2.%d", c);
		unreach(1, S(101 + c), target, 64, client, 40000, target, 53, "request");
	}
	endpoint(1, target, 53, 3, 1, S(100), S(300), "dns");
	sql("INSERT INTO endpoint_clients VALUES (1, '%s', 53, '192.0.2.10')", target);
}

Test(diagnose, wrong_host_names_the_servers_that_answered_the_same_clients)
{
	static const char *want = "192.0.2.55 (9 datagrams), 192.0.2.53 (4 datagrams), "
				  "192.0.2.56 (4 datagrams)";
	capture(1, S(100), S(400));
	refused_with_answers("192.0.2.54"); /* the first target that asks */
	static const struct {
		const char *ip, *client;
		int tx;
	} answered[] = {{"192.0.2.53", "192.0.2.10", 4},
			{"192.0.2.55", "192.0.2.11", 9},
			{"192.0.2.56", "192.0.2.12", 4},
			{"192.0.2.57", "192.0.2.10", 1},
			{"192.0.2.58", "192.0.2.99", 20}};
	for (size_t i = 0; i < sizeof answered / sizeof answered[0]; i++) {
		endpoint(1, answered[i].ip, 53, 4, answered[i].tx, S(100), S(300), "dns");
		sql("INSERT INTO endpoint_clients VALUES (1, '%s', 53, '%s')", answered[i].ip,
		    answered[i].client);
	}
	rebuild();
	cr_assert_str_eq(finding("192.0.2.54", 53, "diagnosis"), "wrong-host");
	cr_assert_str_eq(finding("192.0.2.54", 53, "related"), want);
	/* 70 more targets that ask, in address order after it: the last ones look it up */
	for (int i = 0; i < 70; i++) {
		char ip[24];
		snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
		refused_with_answers(ip);
	}
	rebuild();
	cr_assert_str_eq(finding("192.0.2.54", 53, "related"), want);
	cr_assert_str_eq(finding("198.51.100.70", 53, "diagnosis"), "wrong-host");
	cr_assert_str_eq(finding("198.51.100.70", 53, "related"), want);
	endpoint(1, "198.51.100.200", 9999, 1, 1, S(100), S(300), "dns");
	sql("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 262144)"
	    " INSERT INTO endpoint_clients SELECT 1, '198.51.100.200', 9999,"
	    " printf('10.%%d.%%d.%%d', i >> 16, (i >> 8) & 255, i & 255) FROM n");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.70", 53, "diagnosis"), "wrong-host");
	cr_assert_str_eq(finding("198.51.100.70", 53, "related"), want);
}

Test(diagnose, restarted_outranks_wrong_host_which_stays_secondary)
{
	capture(1, S(100), S(400));
	unreach(1, S(150), "192.0.2.54", 64, "192.0.2.10", 40000, "192.0.2.54", 53, "request");
	endpoint(1, "192.0.2.54", 53, 3, 2, S(100), S(300), "dns");
	sql("UPDATE endpoints SET tx_before_err_ns = %lld, tx_after_err_ns = %lld", S(120), S(200));
	endpoint(1, "192.0.2.53", 53, 4, 4, S(100), S(300), "dns");
	sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', 53, '192.0.2.10')");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.54", 53, "diagnosis"), "service-restarted");
	cr_assert_str_eq(finding("192.0.2.54", 53, "secondary"), "[\"wrong-host\"]");
}

Test(diagnose, late_reply_is_keyed_on_the_server)
{
	capture(1, S(100), S(400));
	unreach(1, S(102), "192.0.2.10", 64, "192.0.2.53", 53, "192.0.2.10", 40000, "reply");
	unreach(1, S(104), "192.0.2.10", 64, "192.0.2.53", 53, "192.0.2.10", 40001, "reply");
	/* Each answer came 2 s after its request: later than a client waits. */
	sql("UPDATE events SET other_delay_ns = %lld, other_wait_ns = %lld, other_run = 1,"
	    " hint = 'dns A example.com'",
	    S(2), S(2));
	cr_assert_eq(rebuild(), 1);
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "late-reply");
	cr_assert_str_eq(finding("192.0.2.53", 53, "clients"), "[\"192.0.2.10\"]");
	cr_assert_str_eq(finding("192.0.2.53", 53, "errors"), "2");
}

Test(diagnose, traceroute_one_finding_per_source_and_target)
{
	capture(1, S(100), S(400));
	time_exceeded(1, S(101), "192.0.2.1", "192.0.2.10", "198.51.100.20", 33434);
	unreach(1, S(102), "198.51.100.20", 63, "192.0.2.10", 40000, "198.51.100.20", 33435,
		"request");
	unreach(1, S(103), "198.51.100.20", 63, "192.0.2.10", 40000, "198.51.100.20", 33436,
		"request");
	cr_assert_eq(rebuild(), 1);
	cr_assert_str_eq(finding("198.51.100.20", 33434, "diagnosis"), "traceroute");
	cr_assert_str_eq(finding("198.51.100.20", 33434, "ports"), "3");
	cr_assert_str_eq(finding("198.51.100.20", 33434, "source_ip"), "192.0.2.10");
}

Test(diagnose, a_lone_high_port_refusal_is_not_a_traceroute)
{
	capture(1, S(100), S(400));
	unreach(1, S(102), "198.51.100.20", 64, "192.0.2.10", 40000, "198.51.100.20", 33434,
		"request");
	sql("UPDATE events SET quote_ttl = 60");
	rebuild();
	/* One datagram from a sender the host never answered, to a port no service uses. */
	cr_assert_str_eq(finding("198.51.100.20", 33434, "diagnosis"), "unsolicited");
}

Test(diagnose, scan_needs_ten_ports)
{
	capture(1, S(100), S(400));
	for (int p = 1; p <= 9; p++)
		unreach(1, S(100) + p, "192.0.2.53", 64, "203.0.113.66", 50000, "192.0.2.53", p,
			"request");
	cr_assert_eq(rebuild(), 9);
	unreach(1, S(101), "192.0.2.53", 64, "203.0.113.66", 50000, "192.0.2.53", 10, "request");
	cr_assert_eq(rebuild(), 1);
	cr_assert_str_eq(finding("192.0.2.53", 1, "diagnosis"), "udp-scan");
	cr_assert_str_eq(finding("192.0.2.53", 1, "ports"), "10");
}

Test(diagnose, firewall_reject_by_address)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.1", 254, "192.0.2.10", 40000, "198.51.100.53", 53, "request");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.53", 53, "diagnosis"), "firewall-reject");
	cr_assert_str_eq(finding("198.51.100.53", 53, "reporters"), "[\"192.0.2.1\"]");
}

Test(diagnose, firewall_reject_by_ttl)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "198.51.100.53", 254, "192.0.2.10", 40000, "198.51.100.53", 53,
		"request");
	sql("INSERT INTO host_ttls VALUES (1, '198.51.100.53', 61, 10)");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.53", 53, "diagnosis"), "firewall-reject");
	sql("DELETE FROM host_ttls");
	sql("INSERT INTO host_ttls VALUES (1, '198.51.100.53', 62, 10)");
	sql("UPDATE events SET ttl = 62");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.53", 53, "diagnosis"), "service-down");
}

Test(diagnose, rate_limited_is_secondary)
{
	capture(1, S(100), S(400));
	for (int i = 0; i < 6; i++)
		unreach(1, S(101), "192.0.2.53", 64, "192.0.2.10", 40000 + i, "192.0.2.53", 53,
			"request");
	endpoint(1, "192.0.2.53", 53, 60, 0, 0, 0, "dns");
	sql("UPDATE endpoints SET rx_unanswered = 60, errors = 6");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "service-down");
	cr_assert_str_eq(finding("192.0.2.53", 53, "secondary"), "[\"rate-limited\"]");
	sql("UPDATE endpoints SET rx_unanswered = 10");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "secondary"), "[]");
}

Test(diagnose, rebuild_is_idempotent)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.53", 64, "192.0.2.10", 40000, "192.0.2.53", 53, "request");
	rebuild();
	char first[4096];
	snprintf(first, sizeof first, "%s", finding("192.0.2.53", 53, "evidence"));
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "evidence"), first);
	cr_assert_eq(rebuild(), 1);
}

Test(diagnose, firewall_reject_by_ttl_255_and_short_quote_without_a_baseline)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.21", 254, "192.0.2.10", 40000, "192.0.2.21", 514, "request");
	sql("UPDATE events SET quote_len = 28, quote_ip_len = 300");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.21", 514, "diagnosis"), "firewall-reject");
	cr_assert(strstr(finding("192.0.2.21", 514, "evidence"), "a firewall answers in the name"));
	/* The same TTL with the whole datagram quoted is a host that starts at 255. */
	sql("UPDATE events SET quote_len = 300");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.21", 514, "diagnosis"), "service-down");
}

Test(diagnose, reply_from_an_answering_service_on_a_high_port_is_late)
{
	/* RADIUS on 1812 answered in an earlier file; here only its bounced reply is seen. */
	capture(1, S(100), S(199));
	capture(2, S(200), S(300));
	endpoint(1, "192.0.2.50", 1812, 10, 10, S(100), S(190), NULL);
	unreach(2, S(201), "192.0.2.10", 64, "192.0.2.50", 1812, "192.0.2.10", 40000, "request");
	sql("UPDATE events SET orig_seen = 0");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.50", 1812, "diagnosis"), "late-reply");
	/* The same datagram quoted with the request itself seen in its capture stays a request. */
	sql("UPDATE events SET orig_seen = 1");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.50", 1812, "diagnosis"), "");
	cr_assert_str_eq(finding("192.0.2.10", 40000, "diagnosis"), "unsolicited");
}

/* Sets the timing of the refused datagram in its conversation on every event. */
static void timing(long long delay_ns, long long wait_ns, int run, int fwd, int rev)
{
	sql("UPDATE events SET other_delay_ns = %lld, other_wait_ns = %lld, other_run = %d,"
	    " fwd_before = %d, rev_before = %d",
	    delay_ns, wait_ns, run, fwd, rev);
}

Test(diagnose, a_quick_refused_answer_is_a_duplicate_not_a_late_reply)
{
	capture(1, S(100), S(400));
	for (int i = 0; i < 3; i++)
		unreach(1, S(102 + i), "192.0.2.10", 64, "192.0.2.53", 53, "192.0.2.10", 40000 + i,
			"reply");
	sql("UPDATE events SET hint = 'dns A example.com'");
	timing(45000000LL, 45000000LL, 1, 1, 1);
	endpoint(1, "192.0.2.53", 53, 10, 10, S(100), S(300), "dns");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "duplicate-reply");
	cr_assert_str_eq(finding("192.0.2.53", 53, "confidence"), "high");
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "45 ms after the request"));
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "Benign"));
	/* The client had asked again 1.5 s before the answer came: it had given up. */
	timing(45000000LL, 1545000000LL, 2, 1, 2);
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "late-reply");
	/* A parallel copy 10 ms apart is no retry. */
	timing(45000000LL, 55000000LL, 2, 1, 2);
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "duplicate-reply");
}

Test(diagnose, the_tail_of_a_media_conversation_is_stream_ended)
{
	capture(1, S(100), S(400));
	for (int i = 0; i < 4; i++)
		unreach(1, S(200) + i, "192.0.2.10", 64, "198.51.100.7", 5004, "192.0.2.10", 40002,
			"reply");
	timing(20000000LL, 20000000LL, 1, 150, 140);
	sql("UPDATE events SET hint = 'rtp pt 0'");
	endpoint(1, "198.51.100.7", 5004, 140, 154, S(100), S(200), "rtp");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.7", 5004, "diagnosis"), "stream-ended");
	cr_assert_str_eq(finding("198.51.100.7", 5004, "confidence"), "high");
	cr_assert_str_eq(finding("198.51.100.7", 5004, "service"), "rtp");
	/* Refused the other way round: the responder closed, the caller still sent. */
	sql("DELETE FROM events; DELETE FROM endpoints");
	for (int i = 0; i < 3; i++)
		unreach(1, S(200) + i, "198.51.100.8", 64, "192.0.2.11", 40004, "198.51.100.8",
			5006, "request");
	timing(20000000LL, 20000000LL, 1, 150, 140);
	rebuild();
	cr_assert_str_eq(finding("198.51.100.8", 5006, "diagnosis"), "stream-ended");
}

Test(diagnose, spam_and_single_shots_are_unsolicited_never_a_service_to_start)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "192.0.2.2", 128, "203.0.113.9", 59310, "192.0.2.2", 1026, "request");
	sql("UPDATE events SET hint = 'messenger'");
	unreach(1, S(102), "192.0.2.2", 128, "203.0.113.10", 41000, "192.0.2.2", 6881, "request");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.2", 1026, "diagnosis"), "unsolicited");
	cr_assert_str_eq(finding("192.0.2.2", 1026, "confidence"), "high");
	cr_assert_str_eq(finding("192.0.2.2", 6881, "diagnosis"), "unsolicited");
	cr_assert_str_eq(finding("192.0.2.2", 6881, "service"), "udp/6881");
	cr_assert(strstr(finding("192.0.2.2", 6881, "evidence"), "do not start a service"));
}

Test(diagnose, a_peer_to_peer_client_probing_a_departed_peer_is_unsolicited)
{
	capture(1, S(100), S(400));
	unreach(1, S(101), "198.51.100.40", 127, "192.0.2.15", 28681, "198.51.100.40", 7890,
		"request");
	sql("UPDATE events SET rev_before = 0");
	sql("INSERT INTO flows (id, capture_id, client_ip, client_port, server_ip, server_port,"
	    " c2s_packets, s2c_packets) VALUES (1, 1, '192.0.2.15', 28681, '198.51.100.40', 7890, "
	    "3, 0)");
	sql("UPDATE events SET flow_id = 1");
	/* The refused datagram's socket had sent to 40 peers when it was refused. */
	sql("UPDATE events SET sender_peers = 40");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.40", 7890, "diagnosis"), "unsolicited");
	cr_assert(strstr(finding("198.51.100.40", 7890, "evidence"), "40 different peers"));
	/* Without the fan-out, three datagrams to a port nobody configured: a closed port,
	 * maybe unsolicited, never certain. */
	sql("UPDATE events SET sender_peers = 1");
	rebuild();
	cr_assert_str_eq(finding("198.51.100.40", 7890, "diagnosis"), "service-down");
	cr_assert_str_eq(finding("198.51.100.40", 7890, "secondary"), "[\"unsolicited\"]");
	cr_assert_str_neq(finding("198.51.100.40", 7890, "confidence"), "high");
}

Test(diagnose, reflected_flood_is_one_finding_per_victim)
{
	capture(1, S(100), S(400));
	for (int i = 1; i <= 12; i++) {
		char src[32];
		snprintf(src, sizeof src, "203.0.113.%d", i);
		unreach(1, S(101) + i, "192.0.2.99", 64, src, 161, "192.0.2.99", 30000 + i * 7,
			"reply");
	}
	rebuild();
	cr_assert_str_eq(finding("192.0.2.99", 161, "diagnosis"), "reflection");
	cr_assert_str_eq(finding("192.0.2.99", 161, "errors"), "12");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM findings", -1, &st, NULL);
	sqlite3_step(st);
	cr_assert_eq(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	cr_assert(strstr(finding("192.0.2.99", 161, "evidence"), "12 different sources"));
}

Test(diagnose, backscatter_of_forged_requests_is_reflection)
{
	capture(1, S(100), S(400));
	for (int i = 1; i <= 11; i++) {
		char dst[32];
		snprintf(dst, sizeof dst, "198.51.100.%d", i);
		unreach(1, S(101) + i, dst, 50, "192.0.2.98", 30120, dst, 47808, "request");
	}
	sql("UPDATE events SET orig_seen = 0, reported_to = '10.1.1.1'");
	rebuild();
	cr_assert_str_eq(finding("10.1.1.1", 47808, "diagnosis"), "reflection");
	cr_assert(strstr(finding("10.1.1.1", 47808, "evidence"), "forged"));
}

Test(diagnose, answering_the_same_clients_between_refusals_is_intermittent)
{
	capture(1, S(100), S(400));
	for (int i = 0; i < 4; i++)
		unreach(1, S(110 + 10 * i), "192.0.2.53", 64, "192.0.2.10", 40000 + i, "192.0.2.53",
			53, "request");
	endpoint(1, "192.0.2.53", 53, 80, 76, S(100), S(300), "dns");
	sql("UPDATE endpoints SET tx_before_err_ns = %lld, tx_after_err_ns = %lld, tx_during_err = "
	    "30,"
	    " tx_refused_during = 20, tx_other_during = 10, errors = 4",
	    S(105), S(141));
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "intermittent");
	cr_assert_str_eq(finding("192.0.2.53", 53, "outage_start_ns"), "");
	/* Only others answered in between: a filter refuses these clients. */
	sql("UPDATE endpoints SET tx_refused_during = 0");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "firewall-reject");
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "kept answering other clients"));
}

Test(diagnose, a_scan_counts_probed_ports_not_only_refused_ones)
{
	capture(1, S(100), S(400));
	for (int p = 1; p <= 6; p++)
		unreach(1, S(100) + p, "192.0.2.53", 64, "203.0.113.66", 50000, "192.0.2.53", p,
			"request");
	for (int p = 1; p <= 22; p++) {
		endpoint(1, "192.0.2.53", p, 1, 0, 0, 0, NULL);
		sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', %d, '203.0.113.66')", p);
	}
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 1, "diagnosis"), "udp-scan");
	cr_assert_str_eq(finding("192.0.2.53", 1, "ports"), "22");
}

/* Ports of the target that answered the scanner: counted once each, the refused ones never
 * (an endpoint that answered someone else, or answered after refusing, is not "open"). */
Test(diagnose, a_scan_says_which_other_ports_answered_the_same_source)
{
	capture(1, S(100), S(400));
	for (int p = 1; p <= 12; p++)
		unreach(1, S(100) + p, "192.0.2.53", 64, "203.0.113.66", 50000, "192.0.2.53", p,
			"request");
	/* ports 1-3: refused, though they answered once too; 100-102: answered the scanner;
	 * 103: answered another client only; 104: the scanner sent to it, nothing answered */
	for (int p = 1; p <= 3; p++)
		endpoint(1, "192.0.2.53", p, 2, 1, S(150), S(150), NULL);
	for (int p = 100; p <= 104; p++)
		endpoint(1, "192.0.2.53", p, 1, p == 104 ? 0 : 1, S(150), S(150), NULL);
	for (int p = 1; p <= 104; p++)
		if (p <= 3 || (p >= 100 && p != 103))
			sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', %d, "
			    "'203.0.113.66')",
			    p);
	sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', 103, '198.51.100.7')");
	/* a second capture of the same host: its rows must not count a port twice */
	capture(2, S(500), S(600));
	endpoint(2, "192.0.2.53", 100, 1, 1, S(550), S(550), NULL);
	sql("INSERT INTO endpoint_clients VALUES (2, '192.0.2.53', 100, '203.0.113.66')");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 1, "diagnosis"), "udp-scan");
	cr_assert(strstr(finding("192.0.2.53", 1, "evidence"),
			 "3 other ports of 192.0.2.53 answered the same source."),
		  "%s", finding("192.0.2.53", 1, "evidence"));
}

/* The scans of one diagnosis claim their events together: each (source, target) keeps its
 * own events, the findings are numbered in (source, target) order, a small scan counted
 * from the ports it probed still qualifies, and what a traceroute of the same pair claimed
 * first stays the traceroute's. */
static long long scalar(const char *q)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK, "%s", q);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", q);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

Test(diagnose, scans_claimed_together_keep_their_own_events)
{
	capture(1, S(100), S(400));
	for (int p = 1; p <= 12; p++) /* A -> H1: 12 ports */
		unreach(1, S(100) + p, "192.0.2.53", 64, "203.0.113.66", 50000, "192.0.2.53", p,
			"request");
	for (int p = 20; p <= 34; p++) /* A -> H2: 15 ports */
		unreach(1, S(120) + p, "192.0.2.54", 64, "203.0.113.66", 50000, "192.0.2.54", p,
			"request");
	for (int p = 40; p <= 45; p++) /* B -> H1: 6 refused, 22 probed */
		unreach(1, S(140) + p, "192.0.2.53", 64, "203.0.113.7", 50001, "192.0.2.53", p,
			"request");
	for (int p = 40; p <= 61; p++)
		sql("INSERT INTO endpoint_clients VALUES (1, '192.0.2.53', %d, '203.0.113.7')", p);
	/* A -> H1 traceroute: the window's events are the traceroute's, not the scan's */
	time_exceeded(1, S(200), "192.0.2.1", "203.0.113.66", "192.0.2.53", 33434);
	for (int p = 33435; p <= 33437; p++)
		unreach(1, S(201) + p, "192.0.2.53", 63, "203.0.113.66", 40000, "192.0.2.53", p,
			"request");
	/* A -> H3:53, one port: not a scan */
	unreach(1, S(300), "192.0.2.55", 64, "203.0.113.66", 50002, "192.0.2.55", 53, "request");
	rebuild();
	cr_assert_eq(scalar("SELECT COUNT(*) FROM findings WHERE diagnosis = 'udp-scan'"), 3);
	cr_assert_str_eq(finding("192.0.2.53", 1, "errors"), "12");
	cr_assert_str_eq(finding("192.0.2.54", 20, "errors"), "15");
	cr_assert_str_eq(finding("192.0.2.53", 40, "diagnosis"), "udp-scan");
	cr_assert_str_eq(finding("192.0.2.53", 40, "errors"), "6");
	cr_assert_str_eq(finding("192.0.2.53", 40, "ports"), "22");
	cr_assert_str_eq(finding("192.0.2.53", 33434, "diagnosis"), "traceroute");
	cr_assert_str_eq(finding("192.0.2.53", 33434, "errors"), "3");
	cr_assert_str_neq(finding("192.0.2.55", 53, "diagnosis"), "udp-scan");
	/* numbered in (source, target) order, as text: A's to H1, A's to H2, then B's
	 * ("203.0.113.66" sorts before "203.0.113.7") */
	cr_assert_lt(scalar("SELECT id FROM findings WHERE server_ip = '192.0.2.53'"
			    " AND server_port = 1"),
		     scalar("SELECT id FROM findings WHERE server_ip = '192.0.2.54'"));
	cr_assert_lt(scalar("SELECT id FROM findings WHERE server_ip = '192.0.2.54'"),
		     scalar("SELECT id FROM findings WHERE server_port = 40"));
	/* every event linked to the finding of its own pair */
	cr_assert_eq(scalar("SELECT COUNT(*) FROM events e JOIN findings f ON f.id = e.finding_id"
			    " WHERE f.diagnosis = 'udp-scan' AND (e.src != f.source_ip"
			    " OR e.dst != f.server_ip)"),
		     0);
	cr_assert_eq(scalar("SELECT COUNT(*) FROM events e JOIN findings f ON f.id = e.finding_id"
			    " WHERE f.diagnosis = 'udp-scan'"),
		     33);
}

Test(diagnose, one_error_seen_at_two_capture_points_counts_once)
{
	capture(1, S(100), S(400));
	capture(2, S(100), S(400));
	for (int c = 1; c <= 2; c++)
		for (int i = 0; i < 3; i++)
			unreach(c, S(101 + i) + c * 1000, "192.0.2.53", 64 - c, "192.0.2.10",
				40000 + i, "192.0.2.53", 53, "request");
	sql("UPDATE events SET icmp_cksum = 1000 + sport, quote_ip_id = sport");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "errors"), "3");
	cr_assert_str_eq(finding("192.0.2.53", 53, "capture_points"), "[\"c1.pcap\",\"c2.pcap\"]");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT COUNT(*), COUNT(dup_of), COUNT(finding_id) FROM events", -1,
			   &st, NULL);
	sqlite3_step(st);
	cr_assert_eq(sqlite3_column_int(st, 0), 6);
	cr_assert_eq(sqlite3_column_int(st, 1), 3);
	cr_assert_eq(sqlite3_column_int(st, 2), 6);
	sqlite3_finalize(st);
}

/* A target whose errors come from more foreign addresses than the refusal pass counts in
 * memory (errors forged from 70,000 addresses): the most frequent reporter is still the one
 * the evidence names, asked from the events. */
Test(diagnose, most_frequent_reporter_among_more_than_the_memory_bound)
{
	capture(1, S(100), S(400));
	sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70000)"
	    " INSERT INTO events (capture_id, frame, ts_ns, reporter, reported_to, ttl, family,"
	    " type, code, proto, src, sport, dst, dport, quote_len, quote_ip_len, role,"
	    " orig_seen) SELECT 1, i, %lld + i, printf('2001:db8:1::%%x', i), '192.0.2.10', 250,"
	    " 'icmp', 3, 3, 17, '192.0.2.10', 40000, '192.0.2.53', 53, 28, 60, 'request', 1"
	    " FROM n",
	    S(101));
	for (int i = 0; i < 3; i++)
		unreach(1, S(300 + i), "203.0.113.9", 250, "192.0.2.10", 40000, "192.0.2.53", 53,
			"request");
	rebuild();
	cr_assert_str_eq(finding("192.0.2.53", 53, "diagnosis"), "firewall-reject");
	cr_assert_str_eq(finding("192.0.2.53", 53, "errors"), "70003");
	cr_assert(strstr(finding("192.0.2.53", 53, "evidence"), "came from 203.0.113.9, not from"),
		  "%s", finding("192.0.2.53", 53, "evidence"));
}

/* Gives the event just stored a query name (hex bytes, as a BLOB, or text) and type. */
static void qname(const char *value, const char *qtype)
{
	sql("UPDATE events SET dns_qname = %s, dns_qtype = %s WHERE id = last_insert_rowid()",
	    value, qtype);
}

/* Two services, each refused for many names: as text, as a BLOB of the same bytes, with
 * no type, more than twenty, with ties of count (broken by name, then type). */
static void names_case(void)
{
	capture(1, S(100), S(400));
	static const char *const SERVERS[] = {"192.0.2.53", "198.51.100.53"};
	long long t = S(101);
	int sport = 40000;
	for (int s = 0; s < 2; s++) {
		for (int n = 0; n < 30; n++) /* name n, n % 4 + 1 times */
			for (int k = 0; k <= n % 4; k++) {
				unreach(1, t++, SERVERS[s], 64, "192.0.2.10", sport++, SERVERS[s],
					53, "request");
				char hex[16];
				snprintf(hex, sizeof hex, "X'%02x6e'", 0x61 + n);
				qname(hex, n % 7 == 0 ? "28" : "1");
			}
		for (int k = 0; k < 2; k++) {
			unreach(1, t++, SERVERS[s], 64, "192.0.2.10", sport++, SERVERS[s], 53,
				"request");
			qname("'an'", "1"); /* "an" as text: before the BLOB X'616e' */
		}
		for (int k = 0; k < 4; k++) {
			unreach(1, t++, SERVERS[s], 64, "192.0.2.10", sport++, SERVERS[s], 53,
				"request");
			qname("X'616e'", k < 2 ? "NULL" : "1"); /* the same name, two types */
		}
		endpoint(1, SERVERS[s], 53, 130, 0, 0, 0, "dns");
	}
}

Test(diagnose, query_names_counted_in_c_equal_sqls_grouping)
{
	names_case();
	cr_assert_eq(rebuild(), 2);
	char counted[2][4096];
	for (int s = 0; s < 2; s++)
		snprintf(counted[s], sizeof counted[s], "%s",
			 finding(s ? "198.51.100.53" : "192.0.2.53", 53, "names"));
	/* the 20 most frequent: the seven names seen 4 times, in name order, then those seen
	 * 3 times, then twice: "an" as text, as a BLOB without a type and of type A, then
	 * "bn" to "jn" */
	const char *start = "[{\"name\":\"dn\",\"type\":\"A\",\"count\":4,";
	cr_assert_eq(strncmp(counted[0], start, strlen(start)), 0, "%s", counted[0]);
	cr_assert(strstr(counted[0],
			 "{\"name\":\"an\",\"type\":\"A\",\"count\":2,\"hex\":\"616e\"},"
			 "{\"name\":\"an\",\"type\":\"TYPE0\",\"count\":2,\"hex\":\"616e\"},"
			 "{\"name\":\"an\",\"type\":\"A\",\"count\":2,\"hex\":\"616e\"},"
			 "{\"name\":\"bn\""),
		  "%s", counted[0]);
	const char *end = "{\"name\":\"jn\",\"type\":\"A\",\"count\":2,\"hex\":\"6a6e\"}]";
	cr_assert_str_eq(counted[0] + strlen(counted[0]) - strlen(end), end, "%s", counted[0]);
	int names = 0;
	for (const char *p = counted[0]; (p = strstr(p, "\"name\"")); p++)
		names++;
	cr_assert_eq(names, 20);
	/* the same lists when SQL groups them (the C count's bound reached) */
	dg_names_tally_max(3);
	cr_assert_eq(rebuild(), 2);
	dg_names_tally_max(0);
	for (int s = 0; s < 2; s++)
		cr_assert_str_eq(finding(s ? "198.51.100.53" : "192.0.2.53", 53, "names"),
				 counted[s]);
}
