/* report_fixture.c - a hand-made database (with hostile names) and helpers for the report
 * tests (report_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reports/report.h"
#include "tests/unit/report_fixture.h"

extern const char pm_schema_sql[];

#define T0 1795428121LL /* 2026-11-23 10:02:01 UTC */
#define S(x) ((x)*1000000000LL)

/* Names from hostile packets: markup, an attribute breakout, a formula, ESC and bad UTF-8. */
#define NAME_SCRIPT "<script>alert(1)</script>"
#define NAME_ATTR "\"onmouseover=alert(1) x=\""
#define NAME_FORMULA "=cmd|' /C calc'!A0"
static const char NAME_ESC[] = "\x1b[31mred\xff\xfe.example";

static const char NAMES_JSON[] =
    "[{\"name\":\"<script>alert(1)</script>\",\"type\":\"A\",\"count\":5,"
    "\"hex\":\"3c7363726970743e616c6572742831293c2f7363726970743e\"},"
    "{\"name\":\"\\\"onmouseover=alert(1) x=\\\"\",\"type\":1,\"count\":3},"
    "{\"name\":\"=cmd|' /C calc'!A0\",\"type\":\"TXT\",\"count\":2},"
    "{\"name\":\"\\u001b[31mred??.example\",\"type\":\"AAAA\",\"count\":1,"
    "\"hex\":\"1b5b33316d726564fffe2e6578616d706c65\"}]";

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, err ? err : "");
}

static void add_capture(sqlite3 *db, int id, const char *path, int prec, int64_t first,
			int64_t last, bool complete, const char *read_error)
{
	sqlite3_stmt *st;
	char hash[32];
	snprintf(hash, sizeof(hash), "hash%d", id);
	cr_assert_eq(
	    sqlite3_prepare_v2(db,
			       "INSERT INTO captures (id, path, content_hash, format,"
			       " link_type, link_type_name, precision, packets, udp_packets,"
			       " port_unreachables, first_ns, last_ns, complete, read_error)"
			       " VALUES (?, ?, ?, 'pcap', 1, 'EN10MB', ?, 24106, 2000, 20, ?, ?,"
			       " ?, ?)",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int(st, 1, id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, prec);
	sqlite3_bind_int64(st, 5, first);
	sqlite3_bind_int64(st, 6, last);
	sqlite3_bind_int(st, 7, complete);
	if (read_error)
		sqlite3_bind_text(st, 8, read_error, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

struct ev {
	int64_t ts;
	const char *reporter, *family;
	int type, code;
	const char *src;
	int sport;
	const char *dst;
	int dport;
	const char *qname;
	size_t qname_len;
};

static void add_event(sqlite3 *db, int frame, const struct ev *e)
{
	sqlite3_stmt *st;
	char hint[128];
	cr_assert_eq(
	    sqlite3_prepare_v2(db,
			       "INSERT INTO events (capture_id, frame, ts_ns, reporter,"
			       " reported_to, ttl, family, type, code, proto, src, sport, dst,"
			       " dport, hint, dns_qtype, dns_qname, role) VALUES (1, ?, ?, ?, ?,"
			       " 64, ?, ?, ?, 17, ?, ?, ?, ?, ?, 1, ?, 'request')",
			       -1, &st, NULL),
	    SQLITE_OK);
	snprintf(hint, sizeof(hint), "dns A %.*s", (int)e->qname_len, e->qname ? e->qname : "");
	sqlite3_bind_int(st, 1, frame);
	sqlite3_bind_int64(st, 2, e->ts);
	sqlite3_bind_text(st, 3, e->reporter, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->src, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->family, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, e->type);
	sqlite3_bind_int(st, 7, e->code);
	sqlite3_bind_text(st, 8, e->src, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, e->sport);
	sqlite3_bind_text(st, 10, e->dst, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 11, e->dport);
	if (e->qname) {
		sqlite3_bind_text(st, 12, hint, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 13, e->qname, (int)e->qname_len, SQLITE_STATIC);
	}
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static void add_events(sqlite3 *db)
{
	static const char *const names[] = {NAME_SCRIPT, NAME_ATTR, NAME_FORMULA, NAME_ESC};
	int frame = 1;
	for (int i = 0; i < 12; i++) {
		const char *q = names[i % 4];
		struct ev e = {S(T0 + 2) + i * S(20),
			       "192.0.2.53",
			       "icmp",
			       3,
			       3,
			       "192.0.2.10",
			       40000 + i,
			       "192.0.2.53",
			       53,
			       q,
			       strlen(q)};
		add_event(db, frame++, &e);
	}
	for (int i = 0; i < 6; i++) {
		struct ev e = {S(T0 + 60) + i * S(5),
			       "2001:db8::123",
			       "icmp6",
			       1,
			       4,
			       "2001:db8::10",
			       123,
			       "2001:db8::123",
			       123,
			       NULL,
			       0};
		add_event(db, frame++, &e);
	}
	for (int i = 0; i < 5; i++) {
		struct ev e = {S(T0 + 200) + i * 1000000,
			       i < 3 ? "10.0.0.1" : "198.51.100.20",
			       "icmp",
			       i < 3 ? 11 : 3,
			       i < 3 ? 0 : 3,
			       "192.0.2.10",
			       50000,
			       "198.51.100.20",
			       33434 + i,
			       NULL,
			       0};
		add_event(db, frame++, &e);
	}
	struct ev late = {S(T0 + 100), "203.0.113.5", "icmp", 3,    3, "198.51.100.7",
			  53,	       "203.0.113.5", 41000,  NULL, 0};
	add_event(db, frame++, &late);
}

static void add_flow(sqlite3 *db, const char *cip, int cport, const char *sip, int sport, int c2s,
		     int s2c, int64_t first, int64_t last)
{
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(db,
			       "INSERT INTO flows (capture_id, client_ip, client_port,"
			       " server_ip, server_port, c2s_packets, s2c_packets, first_ns,"
			       " last_ns, errors) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, cip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, cport);
	sqlite3_bind_text(st, 3, sip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, sport);
	sqlite3_bind_int(st, 5, c2s);
	sqlite3_bind_int(st, 6, s2c);
	sqlite3_bind_int64(st, 7, first);
	sqlite3_bind_int64(st, 8, last);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

struct fnd {
	const char *diagnosis, *secondary, *service, *ip;
	int port, ports, severity;
	const char *source, *clients, *reporters;
	int errors, requests, replies;
	int64_t first, last, out_a, out_b;
	int precision;
	const char *evidence, *names, *related;
};

static void bind_opt_time(sqlite3_stmt *st, int i, int64_t t)
{
	if (t)
		sqlite3_bind_int64(st, i, t);
}

static void add_finding(sqlite3 *db, const struct fnd *f)
{
	sqlite3_stmt *st;
	cr_assert_eq(
	    sqlite3_prepare_v2(db,
			       "INSERT INTO findings (diagnosis, secondary, confidence,"
			       " severity, server_ip, server_port, service, ports, source_ip,"
			       " errors, requests, replies, clients, reporters, first_error_ns,"
			       " last_error_ns, outage_start_ns, outage_end_ns, precision,"
			       " evidence, names, related) VALUES (?, ?, 'high', ?, ?, ?, ?, ?,"
			       " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, f->diagnosis, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->secondary ? f->secondary : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->severity);
	sqlite3_bind_text(st, 4, f->ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, f->port);
	if (f->service)
		sqlite3_bind_text(st, 6, f->service, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, f->ports ? f->ports : 1);
	if (f->source)
		sqlite3_bind_text(st, 8, f->source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, f->errors);
	sqlite3_bind_int(st, 10, f->requests);
	sqlite3_bind_int(st, 11, f->replies);
	sqlite3_bind_text(st, 12, f->clients ? f->clients : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, f->reporters ? f->reporters : "[]", -1, SQLITE_STATIC);
	bind_opt_time(st, 14, f->first);
	bind_opt_time(st, 15, f->last);
	bind_opt_time(st, 16, f->out_a);
	bind_opt_time(st, 17, f->out_b);
	sqlite3_bind_int(st, 18, f->precision ? f->precision : 6);
	sqlite3_bind_text(st, 19, f->evidence ? f->evidence : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 20, f->names ? f->names : "[]", -1, SQLITE_STATIC);
	if (f->related)
		sqlite3_bind_text(st, 21, f->related, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static const struct fnd FINDINGS[] = {
    {"service-down",
     "[\"rate-limited\"]",
     "dns",
     "192.0.2.53",
     53,
     1,
     100,
     NULL,
     "[\"192.0.2.10\",\"192.0.2.11\"]",
     "[\"192.0.2.53\"]",
     12,
     40,
     0,
     S(T0 + 2),
     S(T0 + 222),
     0,
     0,
     6,
     "[\"16 queries from 2 clients were refused by 192.0.2.53 itself.\","
     "\"A name seen: \\u001b[31mred\xff\xfe alert\\u001b[0m and <b>bold</b>.\"]",
     NAMES_JSON,
     NULL},
    {"service-restarted",
     NULL,
     "ntp",
     "2001:db8::123",
     123,
     1,
     90,
     NULL,
     "[\"2001:db8::10\"]",
     "[\"2001:db8::123\"]",
     6,
     30,
     20,
     S(T0 + 60),
     S(T0 + 85),
     S(T0 + 55),
     S(T0 + 92),
     9,
     "[\"6 requests were refused between two answered periods.\"]",
     NULL,
     NULL},
    {"late-reply",
     NULL,
     "dns",
     "198.51.100.7",
     53,
     1,
     50,
     NULL,
     "[\"203.0.113.5\"]",
     "[\"203.0.113.5\"]",
     1,
     5,
     5,
     S(T0 + 100),
     S(T0 + 100),
     0,
     0,
     6,
     NULL,
     NULL,
     NULL},
    {"traceroute",
     NULL,
     NULL,
     "198.51.100.20",
     33434,
     2,
     1,
     "192.0.2.10",
     "[\"192.0.2.10\"]",
     "[\"198.51.100.20\"]",
     2,
     5,
     0,
     S(T0 + 200),
     S(T0 + 200) + 4000000,
     0,
     0,
     6,
     NULL,
     NULL,
     NULL},
    {"wrong-port",
     NULL,
     "dns",
     "192.0.2.54",
     53,
     1,
     70,
     NULL,
     "[\"192.0.2.10\"]",
     "[\"192.0.2.54\"]",
     3,
     3,
     0,
     S(T0 + 10),
     S(T0 + 30),
     0,
     0,
     6,
     "[\"=HYPERLINK(\\\"http://evil.example/\\\")\"]",
     NULL,
     "192.0.2.54:5353"},
    {"firewall-reject",
     NULL,
     "syslog",
     "198.51.100.53",
     514,
     1,
     60,
     NULL,
     "[\"192.0.2.10\"]",
     "[\"192.0.2.1\"]",
     4,
     4,
     0,
     S(T0 + 5),
     S(T0 + 25),
     0,
     0,
     6,
     NULL,
     NULL,
     NULL},
    {"udp-scan",
     NULL,
     NULL,
     "192.0.2.99",
     1,
     200,
     40,
     "203.0.113.66",
     "[\"203.0.113.66\"]",
     "[\"192.0.2.99\"]",
     180,
     200,
     0,
     S(T0 + 150),
     S(T0 + 152),
     0,
     0,
     6,
     NULL,
     NULL,
     NULL},
    {"wrong-host",
     NULL,
     "radius",
     "192.0.2.18",
     1812,
     1,
     65,
     NULL,
     "[\"192.0.2.40\"]",
     "[\"192.0.2.18\"]",
     2,
     2,
     0,
     S(T0 + 40),
     S(T0 + 41),
     0,
     0,
     6,
     NULL,
     NULL,
     "192.0.2.19:1812"},
};

sqlite3 *pmt_db_open(const char *path)
{
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, pm_schema_sql);
	exec(db, "BEGIN");
	add_capture(db, 1, "captures/dns-closed.pcap", 6, S(T0), S(T0 + 311), true, NULL);
	add_capture(db, 2, "uploads/<script>x</script>\x1b[2J.pcapng", 9, S(T0 + 20), S(T0 + 90),
		    false, "record 18 is cut: wanted 1514 bytes, got 600 <b>");
	exec(db, "INSERT INTO capture_anomalies VALUES (2, 'quote.truncated', 3),"
		 " (2, 'dns.bad_label', 1)");
	add_events(db);
	add_flow(db, "192.0.2.10", 40000, "192.0.2.53", 53, 20, 0, S(T0 + 2), S(T0 + 200));
	add_flow(db, "192.0.2.11", 40001, "192.0.2.53", 53, 20, 0, S(T0 + 5), S(T0 + 220));
	add_flow(db, "2001:db8::10", 123, "2001:db8::123", 123, 30, 20, S(T0 + 20), S(T0 + 120));
	for (size_t i = 0; i < sizeof(FINDINGS) / sizeof(FINDINGS[0]); i++)
		add_finding(db, &FINDINGS[i]);
	exec(db, "COMMIT");
	return db;
}

sqlite3 *pmt_db_new(void)
{
	return pmt_db_open(":memory:");
}

char *pmt_render(sqlite3 *db, enum report_format fmt, bool color, bool csv_events, size_t *len)
{
	char *buf = NULL, err[REPORT_ERRBUF_SIZE] = "";
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n);
	struct report_options opt = {
	    .format = fmt, .color = color, .csv_events = csv_events, .version = "0.3-test"};
	cr_assert_not_null(out);
	int rc = report_write(db, &opt, out, err);
	fclose(out);
	cr_assert_eq(rc, 0, "report_write: %s", err);
	if (len)
		*len = n;
	return buf;
}

bool pmt_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = p[i] < 0x80	     ? 1
			     : (p[i] & 0xe0) == 0xc0 ? 2
			     : (p[i] & 0xf0) == 0xe0 ? 3
			     : (p[i] & 0xf8) == 0xf0 ? 4
						     : 0;
		if (len == 0 || (len == 2 && p[i] < 0xc2) || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}
