/* select.c - report filters (SPEC §4): which findings, captures and events a report covers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/report_int.h"

static const char *const KIND_NAMES[] = {"capture", "since", "until", "server", "label", "service"};

const char *report_filter_kind_name(enum report_filter_kind k)
{
	return (unsigned)k < sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]) ? KIND_NAMES[k] : "?";
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits; -1 when they are not there. */
static long digits(const char **s, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* "HH:MM[:SS[.frac]]" after the date; fills *ns with the time of day. 0 or -1. */
static int parse_clock(const char **p, int64_t *ns)
{
	const char *s = *p;
	long hh = digits(&s, 2), mm = -1, ss = 0;
	int64_t frac = 0;
	if (hh < 0 || *s++ != ':' || (mm = digits(&s, 2)) < 0)
		return -1;
	if (*s == ':') {
		s++;
		if ((ss = digits(&s, 2)) < 0)
			return -1;
		if (*s == '.' || *s == ',') {
			int64_t scale = 100000000;
			s++;
			if (!isdigit((unsigned char)*s))
				return -1;
			for (; isdigit((unsigned char)*s); s++, scale /= 10)
				frac += scale ? (*s - '0') * scale : 0;
		}
	}
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	*ns = ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000000 + frac;
	*p = s;
	return 0;
}

/* "Z", "+HH:MM", "-HHMM", or nothing (UTC); adds the offset's correction to *ns. */
static int parse_zone(const char *s, int64_t *ns)
{
	if (*s == '\0' || ((*s == 'Z' || *s == 'z') && s[1] == '\0'))
		return 0;
	if ((*s != '+' && *s != '-') || strlen(s) < 3)
		return -1;
	int sign = *s++ == '+' ? 1 : -1;
	long oh = digits(&s, 2), om = 0;
	if (*s == ':')
		s++;
	if (*s && (om = digits(&s, 2)) < 0)
		return -1;
	if (oh < 0 || oh > 23 || om > 59 || *s)
		return -1;
	*ns -= sign * ((int64_t)oh * 3600 + om * 60) * 1000000000;
	return 0;
}

int report_parse_time(const char *text, int64_t *ns)
{
	const char *s = text;
	long y = digits(&s, 4), mo = -1, d = -1;
	int64_t clock = 0;
	if (y < 0 || *s++ != '-' || (mo = digits(&s, 2)) < 1 || mo > 12 || *s++ != '-' ||
	    (d = digits(&s, 2)) < 1 || d > 31)
		return -1;
	if ((*s == 'T' || *s == 't' || *s == ' ') && s[1] != '\0') {
		s++;
		if (parse_clock(&s, &clock) < 0)
			return -1;
	}
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 * 1000000000 + clock;
	if (parse_zone(s, &t) < 0)
		return -1;
	*ns = t;
	return 0;
}

/* "IP", "IP:PORT", "[IPv6]:PORT": the address as inet_ntop writes it (as the database
 * stores it) and the port, -1 when none. */
static int parse_server(const char *text, char *ip, size_t ip_len, int *port)
{
	char buf[80];
	const char *addr = text, *p = NULL;
	*port = -1;
	if (strlen(text) >= sizeof(buf))
		return -1;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -1;
		snprintf(buf, sizeof(buf), "%.*s", (int)(close - text - 1), text + 1);
		addr = buf;
		p = close[1] == ':' ? close + 2 : NULL;
	} else if (strchr(text, ':') == strrchr(text, ':') && strchr(text, ':')) {
		const char *colon = strchr(text, ':'); /* one colon: IPv4 with a port */
		snprintf(buf, sizeof(buf), "%.*s", (int)(colon - text), text);
		addr = buf;
		p = colon + 1;
	}
	if (p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (*p == '\0' || *end != '\0' || v < 0 || v > 65535)
			return -1;
		*port = (int)v;
	}
	unsigned char bin[16];
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, addr, bin) != 1 || !inet_ntop(af, bin, ip, (socklen_t)ip_len))
		return -1;
	return 0;
}

int report_filter_add(struct report_filter *f, enum report_filter_kind kind, const char *value,
		      char *errbuf)
{
	if (f->n == REPORT_FILTER_MAX) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "at most %d filter options",
			 REPORT_FILTER_MAX);
		return -1;
	}
	struct report_filter_item *it = &f->item[f->n];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->text = value;
	it->port = -1;
	switch (kind) {
	case RF_SINCE:
	case RF_UNTIL:
		if (report_parse_time(value, &it->ns) < 0) {
			snprintf(errbuf, REPORT_ERRBUF_SIZE,
				 "--%s wants a UTC time such as "
				 "2026-11-23T10:02:03Z or '2026-11-23 10:02' (got '%s')",
				 report_filter_kind_name(kind), value);
			return -1;
		}
		break;
	case RF_SERVER:
		if (parse_server(value, it->ip, sizeof(it->ip), &it->port) < 0) {
			snprintf(errbuf, REPORT_ERRBUF_SIZE,
				 "--server wants IP, IP:PORT or [IPv6]:PORT"
				 " (got '%s')",
				 value);
			return -1;
		}
		break;
	case RF_LABEL:
		if (!kb_label_title(value)) {
			snprintf(errbuf, REPORT_ERRBUF_SIZE,
				 "--label: no label '%s' (the labels are"
				 " listed by 'portmortem explain', SPEC §6)",
				 value);
			return -1;
		}
		break;
	case RF_CAPTURE:
	case RF_SERVICE:
		if (!*value) {
			snprintf(errbuf, REPORT_ERRBUF_SIZE, "--%s wants a value",
				 report_filter_kind_name(kind));
			return -1;
		}
		break;
	}
	f->n++;
	return 0;
}

bool rep_filter_has(const struct report_filter *f, enum report_filter_kind kind)
{
	for (int i = 0; f && i < f->n; i++)
		if (f->item[i].kind == kind)
			return true;
	return false;
}

/* The filter's values, one row each, for the selection queries to read. */
static const char SQL_SETUP[] =
    "DROP TABLE IF EXISTS temp.pm_flt; DROP TABLE IF EXISTS temp.pm_sel_c;"
    "DROP TABLE IF EXISTS temp.pm_sel_f;"
    "CREATE TEMP TABLE pm_flt (kind TEXT, a TEXT, b INTEGER);"
    "CREATE TEMP TABLE pm_sel_c (id INTEGER PRIMARY KEY);"
    "CREATE TEMP TABLE pm_sel_f (id INTEGER PRIMARY KEY);";

static const char SQL_FLT[] = "INSERT INTO temp.pm_flt VALUES (?1, ?2, ?3)";

/* A capture by id, by its path as stored, or by its file name / trailing path. */
static const char SQL_CAPTURE_IDS[] =
    "INSERT INTO temp.pm_flt SELECT 'capture-id', NULL, id FROM captures"
    " WHERE CAST(id AS TEXT) = ?1 OR path = ?1 OR substr(path, -length(?1) - 1) = '/' || ?1";

/* Which kinds of filter were given: a kind that was not lets everything through. Times
 * overlap: a capture or finding is kept when its span meets [since, until]. */
#define SQL_GIVEN                                                                                  \
	"WITH g AS (SELECT"                                                                        \
	"  EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'capture') AS g_capture,"                \
	"  EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'label') AS g_label,"                    \
	"  EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'service') AS g_service,"                \
	"  EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'server') AS g_server,"                  \
	"  (SELECT min(b) FROM temp.pm_flt WHERE kind = 'since') AS g_since,"                      \
	"  (SELECT max(b) FROM temp.pm_flt WHERE kind = 'until') AS g_until) "

static const char SQL_SEL_CAPTURES[] =
    SQL_GIVEN "INSERT INTO temp.pm_sel_c SELECT c.id FROM captures c, g WHERE"
	      " (NOT g_capture OR c.id IN (SELECT b FROM temp.pm_flt WHERE kind = 'capture-id'))"
	      " AND ((g_since IS NULL AND g_until IS NULL) OR (c.first_ns IS NOT NULL"
	      "  AND (g_since IS NULL OR coalesce(c.last_ns, c.first_ns) >= g_since)"
	      "  AND (g_until IS NULL OR c.first_ns <= g_until)))";

/* A finding is in a capture when one of its events is: the stored link, by its index. */
static const char SQL_SEL_FINDINGS[] = SQL_GIVEN
    "INSERT INTO temp.pm_sel_f SELECT f.id FROM findings f, g WHERE"
    " (NOT g_label OR f.diagnosis IN (SELECT a FROM temp.pm_flt WHERE kind = 'label')"
    "  OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(f.secondary) THEN f.secondary"
    "  ELSE '[]' END) j WHERE j.value IN (SELECT a FROM temp.pm_flt WHERE kind = 'label')))"
    " AND (NOT g_service OR EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'service'"
    "  AND lower(a) IN (lower(f.service), lower(f.proto) || '/' || f.server_port)))"
    " AND (NOT g_server OR EXISTS (SELECT 1 FROM temp.pm_flt WHERE kind = 'server'"
    "  AND a = f.server_ip AND (b IS NULL OR b = f.server_port)))"
    " AND ((g_since IS NULL AND g_until IS NULL) OR (f.first_error_ns IS NOT NULL"
    "  AND (g_since IS NULL OR coalesce(f.last_error_ns, f.first_error_ns) >= g_since)"
    "  AND (g_until IS NULL OR f.first_error_ns <= g_until)))"
    " AND (NOT g_capture OR EXISTS (SELECT 1 FROM events e WHERE e.finding_id = f.id"
    "  AND e.capture_id IN temp.pm_sel_c))";

static int exec(sqlite3 *db, const char *sql, char *errbuf, const char *what)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : rep_sql_error(db, errbuf, what);
}

/* Inserts the filter's values; each --capture must name at least one capture. */
static int insert_values(sqlite3 *db, const struct report_filter *f, char *errbuf)
{
	sqlite3_stmt *ins = NULL, *cap = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(db, SQL_FLT, -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_CAPTURE_IDS, -1, &cap, NULL) != SQLITE_OK) {
		rc = rep_sql_error(db, errbuf, "preparing the report filter");
		goto out;
	}
	for (int i = 0; f && i < f->n && rc == 0; i++) {
		const struct report_filter_item *it = &f->item[i];
		const char *a = it->kind == RF_SERVER ? it->ip : it->text;
		sqlite3_bind_text(ins, 1, report_filter_kind_name(it->kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, a, -1, SQLITE_STATIC);
		if (it->kind == RF_SINCE || it->kind == RF_UNTIL)
			sqlite3_bind_int64(ins, 3, it->ns);
		else if (it->kind == RF_SERVER && it->port >= 0)
			sqlite3_bind_int(ins, 3, it->port);
		else
			sqlite3_bind_null(ins, 3);
		if (sqlite3_step(ins) != SQLITE_DONE)
			rc = rep_sql_error(db, errbuf, "storing the report filter");
		sqlite3_reset(ins);
		if (rc == 0 && it->kind == RF_CAPTURE) {
			sqlite3_bind_text(cap, 1, it->text, -1, SQLITE_STATIC);
			if (sqlite3_step(cap) != SQLITE_DONE)
				rc = rep_sql_error(db, errbuf, "looking up --capture");
			else if (sqlite3_changes(db) == 0) {
				snprintf(
				    errbuf, REPORT_ERRBUF_SIZE,
				    "--capture %s: no such capture in the"
				    " database (give its id, its path as analyzed or its file name;"
				    " 'portmortem report -f json' lists them)",
				    it->text);
				rc = -1;
			}
			sqlite3_reset(cap);
		}
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(cap);
	return rc;
}

int rep_select(sqlite3 *db, const struct report_filter *f, char *errbuf)
{
	if (exec(db, SQL_SETUP, errbuf, "preparing the report filter") < 0 ||
	    insert_values(db, f, errbuf) < 0 ||
	    exec(db, SQL_SEL_CAPTURES, errbuf, "selecting captures") < 0 ||
	    exec(db, SQL_SEL_FINDINGS, errbuf, "selecting findings") < 0)
		return -1;
	return 0;
}

void rep_select_drop(sqlite3 *db)
{
	(void)sqlite3_exec(db,
			   "DROP TABLE IF EXISTS temp.pm_flt; DROP TABLE IF EXISTS temp.pm_sel_c;"
			   "DROP TABLE IF EXISTS temp.pm_sel_f;",
			   NULL, NULL, NULL);
}

void rep_filter_describe(const struct report_filter *f, struct sbuf *b)
{
	for (int i = 0; f && i < f->n; i++) {
		sb_printf(b, "%s--%s ", i ? " " : "", report_filter_kind_name(f->item[i].kind));
		esc_text(b, (const uint8_t *)f->item[i].text, strlen(f->item[i].text));
	}
}
