/* test_report.c - text, JSON and CSV reports over a hand-made database with hostile names. */
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "reports/report.h"
#include "tests/unit/report_fixture.h"

/* Evaluates a one-value SQL expression over the report text bound as ?1. */
static char *sql_eval(sqlite3 *db, const char *expr, const char *json)
{
	sqlite3_stmt *st;
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT %s", expr);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	const char *v = (const char *)sqlite3_column_text(st, 0);
	char *r = v ? strdup(v) : NULL;
	sqlite3_finalize(st);
	return r;
}

static void expect_eval(sqlite3 *db, const char *expr, const char *json, const char *want)
{
	char *got = sql_eval(db, expr, json);
	cr_expect(got && strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", expr,
		  got ? got : "NULL", want);
	free(got);
}

/* ---- text ---- */

Test(report_text, no_raw_escape_and_fits_80_columns)
{
	sqlite3 *db = pmt_db_new();
	size_t n;
	char *t = pmt_render(db, REPORT_TEXT, false, false, &n);
	cr_assert(pmt_utf8_valid(t, n), "text report is not valid UTF-8");
	cr_expect_null(memchr(t, 0x1b, n), "raw ESC in the text report");
	for (size_t i = 0; i < n; i++)
		cr_expect((unsigned char)t[i] >= 0x20 || t[i] == '\n', "control byte 0x%02x at %zu",
			  (unsigned char)t[i], i);
	size_t cols = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\n') {
			cr_expect_leq(cols, 80, "a line of %zu columns ends at byte %zu", cols, i);
			cols = 0;
		} else if (((unsigned char)t[i] & 0xc0) != 0x80) {
			cols++;
		}
	}
	cr_expect(strstr(t, "\\x1b[31mred\\xff\\xfe.example") != NULL, "escaped name missing");
	free(t);
	sqlite3_close(db);
}

Test(report_text, content_specialised_to_the_finding)
{
	sqlite3 *db = pmt_db_new();
	char *t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	cr_expect(strstr(t, "portmortem 0.3-test — 2 captures, 48,212 packets") != NULL, "%.200s",
		  t);
	cr_expect(strstr(t, "8 findings: 1 service down") != NULL);
	cr_expect(strstr(t, "1 traceroute (benign)") != NULL);
	cr_expect(strstr(t, "[1] SERVICE DOWN  dns  192.0.2.53:53/udp") != NULL);
	cr_expect(strstr(t, "ss -ulpn 'sport = :53'") != NULL);
	cr_expect(strstr(t, "systemctl start named") != NULL);
	cr_expect(strstr(t, "Get-NetUDPEndpoint -LocalPort 53") != NULL);
	cr_expect(strstr(t, "sockstat -4 -l -P udp -p 53") != NULL);
	cr_expect(strstr(t, "journalctl -u chrony --since '2026-11-23 10:02:56 UTC' \\\n") != NULL,
		  "the outage window in the log command, continued with a backslash");
	cr_expect(strstr(t, "--until '2026-11-23 10:03:33 UTC'") != NULL);
	cr_expect(strstr(t, "(fixes 85%)") != NULL);
	cr_expect(strstr(t, "(fails 60%)") != NULL);
	cr_expect(strstr(t, "Failing names: <script>alert(1)</script> A (5)") != NULL);
	cr_expect(strstr(t, "Also rate-limited:") != NULL);
	cr_expect(strstr(t, "could not be read in full") != NULL);
	cr_expect(strstr(t, "ss -ulpn 'sport = :53 or sport = :5353'") != NULL, "wrong-port");
	free(t);
	sqlite3_close(db);
}

Test(report_text, most_severe_first)
{
	sqlite3 *db = pmt_db_new();
	char *t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	const char *down = strstr(t, "SERVICE DOWN"), *restarted = strstr(t, "SERVICE RESTARTED");
	const char *trace = strstr(t, "] TRACEROUTE");
	cr_assert(down && restarted && trace);
	cr_expect(down < restarted && restarted < trace);
	free(t);
	sqlite3_close(db);
}

Test(report_text, colour_only_when_asked)
{
	sqlite3 *db = pmt_db_new();
	size_t n;
	char *t = pmt_render(db, REPORT_TEXT, true, false, &n);
	cr_expect(strstr(t, "\033[1;31mSERVICE DOWN\033[0m") != NULL);
	/* every ESC is ours: a complete SGR sequence, never the packet's ESC[31m */
	for (const char *p = t; (p = memchr(p, 0x1b, n - (size_t)(p - t))); p++) {
		size_t k = strspn(p + 2, "0123456789;");
		cr_expect(p[1] == '[' && p[2 + k] == 'm', "stray ESC at %zu", (size_t)(p - t));
		cr_expect(strncmp(p, "\033[31mred", 8) != 0);
	}
	free(t);
	sqlite3_close(db);
}

Test(report_text, empty_database)
{
	sqlite3 *db = NULL;
	extern const char pm_schema_sql[];
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, pm_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	char *t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	cr_expect(strstr(t, "0 captures") != NULL);
	cr_expect(strstr(t, "nothing to diagnose") != NULL);
	free(t);
	char *j = pmt_render(db, REPORT_JSON, false, false, NULL);
	expect_eval(db, "json_array_length(?1, '$.findings')", j, "0");
	free(j);
	sqlite3_close(db);
}

Test(report_text, frames_in_encapsulations_not_dissected)
{
	sqlite3 *db = pmt_db_new();
	char *t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	cr_expect_null(strstr(t, "not dissected"), "no line when every frame was opened");
	free(t);
	cr_assert_eq(
	    sqlite3_exec(db,
			 "INSERT INTO capture_anomalies VALUES"
			 " (1, 'encap.undissected.esp', 10), (1, 'encap.undissected.l2tp', 2),"
			 " (2, 'encap.undissected.esp', 1234), (2, 'encap.undissected.gtpu', 2)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	cr_expect(strstr(t, "\n1,248 frames in encapsulations not dissected: esp 1,244, gtpu 2,"
			    " l2tp 2\n") != NULL,
		  "summed over the captures, most first: %.400s", t);
	cr_expect(strstr(t, "not dissected") < strstr(t, "[1] "), "in the summary");
	free(t);
	char *j = pmt_render(db, REPORT_JSON, false, false, NULL);
	expect_eval(db, "json_extract(?1, '$.captures[0].anomalies.\"encap.undissected.esp\"')", j,
		    "10");
	free(j);
	sqlite3_close(db);
}

/* ---- JSON ---- */

/* The scan of the fixture, wherever the order puts it. */
#define SCAN                                                                                       \
	"(SELECT value FROM json_each(?1, '$.findings') WHERE json_extract(value, '$.diagnosis') " \
	"= 'udp-scan')"

Test(report_json, valid_and_in_the_spec_shape)
{
	sqlite3 *db = pmt_db_new();
	size_t n;
	char *j = pmt_render(db, REPORT_JSON, false, false, &n);
	cr_assert(pmt_utf8_valid(j, n), "JSON is not valid UTF-8");
	expect_eval(db, "json_valid(?1)", j, "1");
	expect_eval(db, "json_extract(?1, '$.tool')", j, "portmortem");
	expect_eval(db, "json_extract(?1, '$.version')", j, "0.3-test");
	expect_eval(db, "json_extract(?1, '$.captures[0].link_type')", j, "EN10MB");
	expect_eval(db, "json_extract(?1, '$.captures[0].first_packet')", j,
		    "2026-11-23T10:02:01.000000Z");
	expect_eval(db, "json_extract(?1, '$.captures[1].first_packet')", j,
		    "2026-11-23T10:02:21.000000000Z");
	expect_eval(db, "json_array_length(?1, '$.captures[1].errors')", j, "1");
	expect_eval(db, "json_array_length(?1, '$.findings')", j, "8");
	/* the outage of 2 clients before the scan of 180 errors from 1 (order.c) */
	expect_eval(db, "json_extract(?1, '$.findings[0].diagnosis')", j, "service-down");
	expect_eval(db, "json_extract(?1, '$.findings[0].server_port')", j, "53");
	expect_eval(db, "json_extract(?1, '$.findings[0].secondary[0]')", j, "rate-limited");
	expect_eval(db, "json_extract(?1, '$.findings[0].clients[1]')", j, "192.0.2.11");
	expect_eval(db, "json_extract(?1, '$.findings[0].first_error')", j,
		    "2026-11-23T10:02:03.000000Z");
	expect_eval(db, "json_extract(?1, '$.findings[0].workarounds[0].success_rate')", j, "0.85");
	expect_eval(db, "json_extract(?1, '$.findings[0].workarounds[1].success_rate')", j, "0.8");
	expect_eval(db, "json_extract(?1, '$.findings[0].dead_ends[2].fail_rate')", j, "0.6");
	expect_eval(db, "json_extract(?1, '$.findings[0].workarounds[0].commands[0].command')", j,
		    "ss -ulpn 'sport = :53'");
	expect_eval(db, "json_type(" SCAN ", '$.workarounds[0].success_rate')", j, "null");
	expect_eval(db, "json_extract(" SCAN ", '$.ports')", j, "200");
	free(j);
	sqlite3_close(db);
}

/* One order in every format: JSON's ranks run 1..n in array order, and the text report and
 * the CSV list the same ids in the same order. */
Test(report_json, one_order_in_every_format)
{
	sqlite3 *db = pmt_db_new();
	char *j = pmt_render(db, REPORT_JSON, false, false, NULL);
	char *t = pmt_render(db, REPORT_TEXT, false, false, NULL);
	char *c = pmt_render(db, REPORT_CSV, false, false, NULL);
	expect_eval(db,
		    "(SELECT count(*) FROM json_each(?1, '$.findings') WHERE"
		    " json_extract(value, '$.rank') != key + 1)",
		    j, "0");
	char *ids = sql_eval(db,
			     "(SELECT group_concat(json_extract(value, '$.id'), ' ') FROM"
			     " json_each(?1, '$.findings'))",
			     j);
	char text_ids[256] = "", csv_ids[256] = "";
	for (const char *p = t; (p = strstr(p, "\n[")); p++) { /* the finding headings */
		long id = strtol(p + 2, NULL, 10);
		if (strchr(p + 2, ']') && strchr(p + 2, ']')[1] == ' ' &&
		    isupper((unsigned char)strchr(p + 2, ']')[2]))
			snprintf(text_ids + strlen(text_ids), sizeof(text_ids) - strlen(text_ids),
				 "%s%ld", *text_ids ? " " : "", id);
	}
	for (const char *p = strstr(c, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
		snprintf(csv_ids + strlen(csv_ids), sizeof(csv_ids) - strlen(csv_ids), "%s%ld",
			 *csv_ids ? " " : "", strtol(p + 2, NULL, 10));
	cr_expect_str_eq(text_ids, ids);
	cr_expect_str_eq(csv_ids, ids);
	free(ids), free(j), free(t), free(c);
	sqlite3_close(db);
}

Test(report_json, hostile_names_escaped_and_hex_kept)
{
	sqlite3 *db = pmt_db_new();
	char *j = pmt_render(db, REPORT_JSON, false, false, NULL);
	const char *names = "json_extract(?1, '$.findings[0].names')";
	char expr[256];
	snprintf(expr, sizeof(expr), "json_extract(%s, '$[0].name')", names);
	expect_eval(db, expr, j, "<script>alert(1)</script>");
	snprintf(expr, sizeof(expr), "json_extract(%s, '$[0].hex')", names);
	expect_eval(db, expr, j, "3c7363726970743e616c6572742831293c2f7363726970743e");
	snprintf(expr, sizeof(expr), "json_extract(%s, '$[3].name')", names);
	expect_eval(db, expr, j, "\\x1b[31mred\\xff\\xfe.example");
	snprintf(expr, sizeof(expr), "json_extract(%s, '$[3].hex')", names);
	expect_eval(db, expr, j, "1b5b33316d726564fffe2e6578616d706c65");
	snprintf(expr, sizeof(expr), "json_extract(%s, '$[1].type')", names);
	expect_eval(db, expr, j, "1");
	expect_eval(db, "json_extract(?1, '$.findings[0].evidence[1]')", j,
		    "A name seen: \\x1b[31mred\\xff\\xfe alert\\x1b[0m and <b>bold</b>.");
	cr_expect_null(strchr(j, 0x1b));
	free(j);
	sqlite3_close(db);
}

Test(report_json, deterministic)
{
	sqlite3 *db = pmt_db_new();
	size_t n1, n2;
	char *a = pmt_render(db, REPORT_JSON, false, false, &n1);
	char *b = pmt_render(db, REPORT_JSON, false, false, &n2);
	cr_expect(n1 == n2 && memcmp(a, b, n1) == 0);
	free(a), free(b);
	a = pmt_render(db, REPORT_HTML, false, false, &n1);
	b = pmt_render(db, REPORT_HTML, false, false, &n2);
	cr_expect(n1 == n2 && memcmp(a, b, n1) == 0);
	free(a), free(b);
	sqlite3_close(db);
}

Test(report_json, read_only_connection)
{
	char dir[] = "/tmp/pm-report-XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	sqlite3_close(pmt_db_open(path));
	sqlite3 *ro = NULL;
	cr_assert_eq(sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	char *j = pmt_render(ro, REPORT_JSON, false, false, NULL);
	expect_eval(ro, "json_array_length(?1, '$.findings')", j, "8");
	free(j);
	sqlite3_close(ro);
	unlink(path);
	rmdir(dir);
}

/* ---- CSV ---- */

/* Splits RFC 4180 CSV; calls check() on every field with its raw text (quotes removed). */
static size_t csv_walk(const char *s, void (*check)(const char *field, size_t len, int col),
		       size_t *n_cols_first)
{
	size_t rows = 0;
	int col = 0;
	char field[4096];
	while (*s) {
		size_t len = 0;
		if (*s == '"') {
			for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
				if (*s == '"')
					s++;
				if (len < sizeof(field) - 1)
					field[len++] = *s;
			}
			s += *s == '"';
		} else {
			while (*s && *s != ',' && *s != '\r' && len < sizeof(field) - 1)
				field[len++] = *s++;
		}
		field[len] = '\0';
		check(field, len, col++);
		if (*s == ',') {
			s++;
			continue;
		}
		cr_assert(s[0] == '\r' && s[1] == '\n', "records end with CRLF");
		s += 2;
		if (rows == 0)
			*n_cols_first = (size_t)col;
		cr_expect_eq((size_t)col, *n_cols_first, "row %zu has %d fields", rows, col);
		rows++;
		col = 0;
	}
	return rows;
}

static void no_formula(const char *field, size_t len, int col)
{
	cr_expect(len == 0 || !strchr("=+-@\t\r", field[0]), "field %d starts a formula: %s", col,
		  field);
}

Test(report_csv, findings_neutralised)
{
	sqlite3 *db = pmt_db_new();
	size_t cols = 0, n;
	char *c = pmt_render(db, REPORT_CSV, false, false, &n);
	cr_assert(pmt_utf8_valid(c, n));
	cr_expect_eq(csv_walk(c, no_formula, &cols), 9); /* header + 8 findings */
	cr_expect(strstr(c, "\"'=HYPERLINK(\"\"http://evil.example/\"\")\"") != NULL);
	cr_expect_null(strchr(c, 0x1b));
	free(c);
	sqlite3_close(db);
}

Test(report_csv, events_neutralised)
{
	sqlite3 *db = pmt_db_new();
	size_t cols = 0;
	char *c = pmt_render(db, REPORT_CSV, false, true, NULL);
	cr_expect_eq(csv_walk(c, no_formula, &cols), 25); /* header + 24 events */
	cr_expect(strstr(c, "\"'=cmd|' /C calc'!A0\"") != NULL, "formula name neutralised");
	cr_expect(
	    strstr(c, "\\x1b[31mred\\xff\\xfe.example,1b5b33316d726564fffe2e6578616d706c65") !=
	    NULL);
	cr_expect(strstr(c, "\"\"\"onmouseover=alert(1) x=\"\"\"") != NULL);
	free(c);
	sqlite3_close(db);
}

/* ---- report_write_path ---- */

Test(report_path, atomic_write)
{
	sqlite3 *db = pmt_db_new();
	char dir[] = "/tmp/pm-report-XXXXXX", path[64], err[REPORT_ERRBUF_SIZE];
	struct report_options opt = {.format = REPORT_HTML, .version = "t"};
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.html", dir);
	cr_assert_eq(report_write_path(db, &opt, path, err), 0, "%s", err);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char head[16] = "";
	cr_expect(fread(head, 1, 15, f) == 15 && strcmp(head, "<!DOCTYPE html>") == 0);
	fclose(f);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	cr_expect_eq(system(cmd), 0, "a temporary file was left behind");
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/missing/r.html", dir);
	cr_expect_eq(report_write_path(db, &opt, path, err), -1);
	cr_expect(strstr(err, "temporary file") != NULL, "%s", err);
	sqlite3_close(db);
}
