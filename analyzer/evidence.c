/* evidence.c - finding summaries (counts, clients, names) and the sentences of the evidence. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/diagnose_int.h"
#include "analyzer/tally.h"
#include "dissectors/dissect.h"

/* The time of day of pm_fmt_utc()'s "2026-11-23 21:42:45.501" (the date is 10 characters). */
void fmt_clock(int64_t ns, char *buf, size_t len)
{
	char full[48];
	pm_fmt_utc(ns, 3, false, full, sizeof full);
	snprintf(buf, len, "%s", ns < 0 || strlen(full) < 11 ? "?" : full + 11);
}

void fmt_duration(int64_t ns, char *buf, size_t len)
{
	pm_fmt_duration(ns, buf, len);
}

void fmt_endpoint(const char *ip, int64_t port, char *buf, size_t len)
{
	snprintf(buf, len, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, (long long)port);
}

int initial_ttl(int ttl)
{
	return ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

void dg_evidence(struct dg *x, int64_t fid, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE findings SET evidence = json_insert(evidence, '$[#]', :text)"
			  " WHERE id = :fid",
			  DG_INT(":fid", fid), DG_TEXT(":text", text)),
	       "adding evidence");
}

void dg_add_secondary(struct dg *x, int64_t fid, const char *label)
{
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE findings SET secondary = json_insert(secondary, '$[#]', :label)"
			  " WHERE id = :fid",
			  DG_INT(":fid", fid), DG_TEXT(":label", label)),
	       "adding a label");
}

/* One pass over the claimed events for every finding at once, in finding order and then
 * client order: counts, times and what the quotes say (into fs, for FINDING_SUMS_SQL), the
 * application the quotes name most often (fa), and the first 100 clients and reporters of
 * each in address order. */
static const char SUMMARY_TABLES_SQL[] =
    "DROP TABLE IF EXISTS temp.fs;"
    "CREATE TEMP TABLE fs (fid INTEGER PRIMARY KEY, n, seen, delay, qlen, iplen, v6, ttl_lo,"
    " ttl_hi);"
    "DROP TABLE IF EXISTS temp.fa;"
    "CREATE TEMP TABLE fa (fid INTEGER PRIMARY KEY, app);";

static const char SUMMARY_EVENTS_SQL[] =
    "SELECT fid, CASE WHEN role = 'reply' THEN dst ELSE src END AS c, reporter, ts_ns,"
    " precision, orig_seen, CASE WHEN orig_seen THEN orig_delay_ns END, quote_len,"
    " quote_ip_len, family = 'icmp6', ttl, app FROM pu NOT INDEXED WHERE fid IS NOT NULL"
    " ORDER BY fid, c";
enum {
	SE_FID,
	SE_CLIENT,
	SE_REPORTER,
	SE_TS,
	SE_PRECISION,
	SE_SEEN,
	SE_DELAY,
	SE_QUOTE_LEN,
	SE_QUOTE_IP_LEN,
	SE_V6,
	SE_TTL,
	SE_APP,
};

/* Addresses listed per finding (clients, reporters). */
#define SUMMARY_LIST_MAX 100

/* One finding's summary while its events stream by. */
struct fsum_acc {
	int64_t fid, n, t0, t1, prec, seen, qlen, iplen, v6, ttl_lo, ttl_hi;
	int64_t n_delay, delay_sum;
	bool have_qlen, have_iplen;
	struct tally clients, reporters, apps; /* clients: in order, at most SUMMARY_LIST_MAX */
};

/* v as a JSON string onto *out (SQLite's json_quote() escapes). False when out is full. */
static bool json_string(const char *v, size_t len, char *out, size_t cap, size_t *used)
{
	static const char SIMPLE[32] = {
	    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
	if (*used + 2 > cap)
		return false;
	out[(*used)++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		char esc[8];
		int n = 0;
		if (c == '"' || c == '\\')
			n = snprintf(esc, sizeof esc, "\\%c", c);
		else if (c < 0x20 && SIMPLE[c])
			n = snprintf(esc, sizeof esc, "\\%c", SIMPLE[c]);
		else if (c < 0x20)
			n = snprintf(esc, sizeof esc, "\\u%04x", c);
		else
			esc[n++] = (char)c;
		if (*used + (size_t)n + 1 > cap)
			return false;
		memcpy(out + *used, esc, (size_t)n);
		*used += (size_t)n;
	}
	out[(*used)++] = '"';
	return true;
}

/* The first SUMMARY_LIST_MAX values of t (sorted) as a JSON array into a new string; NULL
 * when t is empty or memory runs out (*oom). */
static char *json_list(struct tally *t, bool *oom)
{
	if (!t->n_items)
		return NULL;
	tally_sort(t);
	size_t n = t->n_items < SUMMARY_LIST_MAX ? t->n_items : SUMMARY_LIST_MAX, cap = 2, used = 0;
	for (size_t i = 0; i < n; i++)
		cap += 6 * t->items[i].len + 3;
	char *out = malloc(cap + 1);
	if (!out) {
		*oom = true;
		return NULL;
	}
	out[used++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			out[used++] = ',';
		json_string(t->items[i].key, t->items[i].len, out, cap, &used);
	}
	out[used++] = ']';
	out[used] = '\0';
	return out;
}

static void fsum_start(struct fsum_acc *a, sqlite3_stmt *st)
{
	tally_clear(&a->clients), tally_clear(&a->reporters), tally_clear(&a->apps);
	struct fsum_acc fresh = {.fid = sqlite3_column_int64(st, SE_FID),
				 .clients = a->clients,
				 .reporters = a->reporters,
				 .apps = a->apps};
	*a = fresh;
}

static void fsum_max(sqlite3_stmt *st, int col, int64_t *max, bool *have)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	int64_t v = sqlite3_column_int64(st, col);
	if (!*have || v > *max)
		*max = v, *have = true;
}

/* Adds one event to its finding's summary. False when memory runs out. */
static bool fsum_row(struct fsum_acc *a, sqlite3_stmt *st)
{
	int64_t ts = sqlite3_column_int64(st, SE_TS), ttl = sqlite3_column_int64(st, SE_TTL);
	int64_t prec = sqlite3_column_int64(st, SE_PRECISION);
	bool first = a->n++ == 0;
	a->t0 = first || ts < a->t0 ? ts : a->t0;
	a->t1 = first || ts > a->t1 ? ts : a->t1;
	a->prec = first || prec > a->prec ? prec : a->prec;
	a->ttl_lo = first || ttl < a->ttl_lo ? ttl : a->ttl_lo;
	a->ttl_hi = first || ttl > a->ttl_hi ? ttl : a->ttl_hi;
	a->seen += sqlite3_column_int64(st, SE_SEEN);
	a->v6 |= sqlite3_column_int64(st, SE_V6) != 0;
	if (sqlite3_column_type(st, SE_DELAY) != SQLITE_NULL)
		a->delay_sum += sqlite3_column_int64(st, SE_DELAY), a->n_delay++;
	fsum_max(st, SE_QUOTE_LEN, &a->qlen, &a->have_qlen);
	fsum_max(st, SE_QUOTE_IP_LEN, &a->iplen, &a->have_iplen);
	/* clients arrive in order: the first SUMMARY_LIST_MAX distinct ones are the list */
	if (sqlite3_column_type(st, SE_CLIENT) != SQLITE_NULL &&
	    a->clients.n_items < SUMMARY_LIST_MAX &&
	    !tally_add(&a->clients, sqlite3_column_text(st, SE_CLIENT),
		       (size_t)sqlite3_column_bytes(st, SE_CLIENT)))
		return false;
	if (!tally_add(&a->reporters, sqlite3_column_text(st, SE_REPORTER),
		       (size_t)sqlite3_column_bytes(st, SE_REPORTER)))
		return false;
	return sqlite3_column_type(st, SE_APP) == SQLITE_NULL ||
	       tally_add(&a->apps, sqlite3_column_text(st, SE_APP),
			 (size_t)sqlite3_column_bytes(st, SE_APP));
}

/* Writes a finding's summary: its counts, times, clients and reporters, its fs and fa rows. */
static void fsum_end(struct dg *x, struct fsum_acc *a, sqlite3_stmt *fs_ins)
{
	bool oom = false;
	char *clients = json_list(&a->clients, &oom), *reporters = json_list(&a->reporters, &oom);
	if (oom) {
		free(clients), free(reporters);
		dg_out_of_memory(x);
		return;
	}
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE findings SET errors = :n, first_error_ns = :t0,"
			  " last_error_ns = :t1, precision = :prec,"
			  " clients = coalesce(:clients, clients),"
			  " reporters = coalesce(:reporters, reporters) WHERE id = :fid",
			  DG_INT(":fid", a->fid), DG_INT(":n", a->n), DG_INT(":t0", a->t0),
			  DG_INT(":t1", a->t1), DG_INT(":prec", a->prec),
			  DG_TEXT(":clients", clients), DG_TEXT(":reporters", reporters)),
	       "summarising findings");
	free(clients), free(reporters);
	sqlite3_bind_int64(fs_ins, 1, a->fid);
	sqlite3_bind_int64(fs_ins, 2, a->n);
	sqlite3_bind_int64(fs_ins, 3, a->seen);
	/* AVG(): the mean as a real, NULL without a value */
	if (a->n_delay)
		sqlite3_bind_double(fs_ins, 4, a->delay_sum / (double)a->n_delay);
	else
		sqlite3_bind_null(fs_ins, 4);
	if (a->have_qlen)
		sqlite3_bind_int64(fs_ins, 5, a->qlen);
	else
		sqlite3_bind_null(fs_ins, 5);
	if (a->have_iplen)
		sqlite3_bind_int64(fs_ins, 6, a->iplen);
	else
		sqlite3_bind_null(fs_ins, 6);
	sqlite3_bind_int64(fs_ins, 7, a->v6);
	sqlite3_bind_int64(fs_ins, 8, a->ttl_lo);
	sqlite3_bind_int64(fs_ins, 9, a->ttl_hi);
	if (sqlite3_step(fs_ins) != SQLITE_DONE)
		dg_fail(x, "summarising findings");
	sqlite3_reset(fs_ins);
	const struct tally_item *app = tally_top(&a->apps);
	if (app)
		dg_run(x,
		       dg_prepare(x, "INSERT INTO fa (fid, app) VALUES (:fid, :app)",
				  DG_INT(":fid", a->fid), DG_TEXT(":app", app->key)),
		       "summarising findings");
}

/* Streams SUMMARY_EVENTS_SQL, writing each finding's summary when its events end. */
static void summary_stream(struct dg *x, sqlite3_stmt *fs_ins)
{
	struct fsum_acc a = {0};
	sqlite3_stmt *st = dg_statement(x, SUMMARY_EVENTS_SQL);
	bool open = false;
	int rc = SQLITE_DONE;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!open || sqlite3_column_int64(st, SE_FID) != a.fid) {
			if (open)
				fsum_end(x, &a, fs_ins);
			fsum_start(&a, st);
			open = true;
		}
		if (!x->failed && !fsum_row(&a, st))
			dg_out_of_memory(x);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading events");
	else if (open && !x->failed)
		fsum_end(x, &a, fs_ins);
	dg_done(x, st);
	tally_free(&a.clients), tally_free(&a.reporters), tally_free(&a.apps);
}

/* The failing query names of every finding, as a JSON array of {name, type, count, hex}:
 * the 20 most frequent of each. */
static void finding_names(struct dg *x)
{
	/* the names stay in events (a narrower event table makes every pass cheaper); pu is in
	 * event order, so the lookups walk events forward */
	sqlite3_stmt *st =
	    dg_statement(x, "SELECT p.fid, e.dns_qname, e.dns_qtype, COUNT(*) FROM pu p"
			    " NOT INDEXED JOIN events e ON e.id = p.eid WHERE p.fid IS NOT NULL"
			    " AND e.dns_qname IS NOT NULL GROUP BY p.fid, e.dns_qname, e.dns_qtype"
			    " ORDER BY p.fid, 4 DESC, 2, 3");
	int rc = SQLITE_DONE;
	int64_t fid = -1, rank = 0;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t f = sqlite3_column_int64(st, 0);
		rank = f == fid ? rank + 1 : 0;
		fid = f;
		if (rank >= 20)
			continue;
		const uint8_t *raw = sqlite3_column_blob(st, 1);
		size_t raw_len = (size_t)sqlite3_column_bytes(st, 1);
		char name[1100], hex[600], tbuf[16];
		pm_bytes_escape(raw, raw_len, name, sizeof name);
		pm_bytes_hex(raw, raw_len, hex, sizeof hex);
		int qtype = sqlite3_column_int(st, 2);
		const char *tn = dns_qtype_name((uint16_t)qtype);
		if (!tn) {
			snprintf(tbuf, sizeof tbuf, "TYPE%d", qtype);
			tn = tbuf;
		}
		dg_run(x,
		       dg_prepare(x,
				  "UPDATE findings SET names = json_insert(names, '$[#]',"
				  " json_object('name', :name, 'type', :type, 'count', :count,"
				  " 'hex', :hex)) WHERE id = :fid",
				  DG_INT(":fid", fid), DG_TEXT(":name", name), DG_TEXT(":type", tn),
				  DG_INT(":count", sqlite3_column_int64(st, 3)),
				  DG_TEXT(":hex", hex)),
		       "storing names");
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading names");
	dg_done(x, st);
}

struct fsum {
	int64_t id, port;
	int64_t n, seen, delay, qlen, iplen, v6, ttl_lo, ttl_hi; /* SUMMARY_SQL's fs row */
	char label[24], app[16], quoted_app[32];
};

/* What the quotes and the presence of the original datagrams say. */
static void quote_evidence(struct dg *x, const struct fsum *f)
{
	int64_t fid = f->id, n = f->n, seen = f->seen, delay = f->delay, qlen = f->qlen;
	int64_t iplen = f->iplen;
	bool v6 = f->v6 != 0;
	int ttl_lo = initial_ttl((int)f->ttl_lo), ttl_hi = initial_ttl((int)f->ttl_hi);
	char d[32];
	fmt_duration(delay, d, sizeof d);
	if (seen == 0)
		dg_evidence(x, fid,
			    "The refused datagrams themselves are not in the capture: the"
			    " capture point sees only one direction, or a filter hid them.");
	else if (n == 1)
		dg_evidence(x, fid,
			    "The refused datagram is in the capture; the error followed it"
			    " within %s.",
			    d);
	else if (seen == n)
		dg_evidence(x, fid,
			    "All %lld refused datagrams are in the capture; the error followed"
			    " each within %s on average.",
			    (long long)n, d);
	else
		dg_evidence(x, fid,
			    "%lld of the %lld refused datagrams %s in the capture; the error"
			    " followed each within %s on average.",
			    (long long)seen, (long long)n, pm_plural(seen, "is", "are"), d);
	int hdr8 = v6 ? 48 : 28;
	const char *quote = pm_plural(n, "The error quotes", "The errors quote");
	if (qlen == hdr8 && iplen > qlen && ttl_lo == 255 && ttl_hi == 255)
		dg_evidence(x, fid,
			    "%s only the IP header and 8 bytes of the original datagram"
			    " (%lld of %lld bytes) and %s with TTL 255: typical of a router or a"
			    " firewall; Linux hosts quote up to %d bytes.",
			    quote, (long long)qlen, (long long)iplen,
			    pm_plural(n, "starts", "start"), v6 ? 1232 : 548);
	else if (qlen == hdr8 && iplen > qlen)
		dg_evidence(
		    x, fid,
		    "%s only the IP header and 8 bytes of the original datagram"
		    " (%lld of %lld bytes), as Windows, macOS, iOS and many embedded stacks do"
		    " (Linux quotes up to %d bytes), so the quotes alone cannot name the"
		    " service.",
		    quote, (long long)qlen, (long long)iplen, v6 ? 1232 : 548);
	else if (qlen > 0 && iplen > 0 && qlen >= iplen)
		dg_evidence(x, fid,
			    "%s the whole original datagram (%lld bytes), as Linux and other"
			    " full host stacks do.",
			    quote, (long long)qlen);
}

void dg_quoted_app(struct dg *x, int64_t fid, char *buf, size_t len)
{
	dg_text(x,
		dg_prepare(x,
			   "SELECT app FROM pu WHERE fid = :fid AND app IS NOT NULL"
			   " GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1",
			   DG_INT(":fid", fid)),
		buf, len);
}

void dg_flow_counts(struct dg *x, int64_t fid, int64_t *to_server, int64_t *from_server)
{
	sqlite3_stmt *st =
	    dg_prepare(x,
		       "SELECT coalesce(SUM(c2s_packets), 0), coalesce(SUM(s2c_packets), 0)"
		       " FROM flows WHERE id IN (SELECT flow_id FROM pu WHERE fid = :fid)",
		       DG_INT(":fid", fid));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		*to_server = sqlite3_column_int64(st, 0);
		*from_server = sqlite3_column_int64(st, 1);
	}
	dg_done(x, st);
}

/* The service as its payload names it (the server's datagrams, else the quoted ones); where
 * nothing does, "udp/PORT": the port alone is no proof of what listens there. */
static void finding_service(struct dg *x, const struct fsum *f)
{
	if (strcmp(f->label, "traceroute") == 0 || strcmp(f->label, "udp-scan") == 0)
		return;
	char svc[32];
	snprintf(svc, sizeof svc, "%s", f->app[0] ? f->app : f->quoted_app);
	if (!svc[0])
		snprintf(svc, sizeof svc, "udp/%lld", (long long)f->port);
	dg_run(x,
	       dg_prepare(x, "UPDATE findings SET service = :service WHERE id = :fid",
			  DG_INT(":fid", f->id), DG_TEXT(":service", svc)),
	       "naming the service");
}

static const char FINDING_SUMS_SQL[] =
    "SELECT f.id, f.server_port, f.diagnosis, (SELECT MAX(app) FROM epg e WHERE e.ip ="
    " f.server_ip AND e.port = f.server_port), a.app, s.n, s.seen, s.delay, s.qlen, s.iplen,"
    " s.v6, s.ttl_lo, s.ttl_hi FROM findings f LEFT JOIN fs s ON s.fid = f.id"
    " LEFT JOIN fa a ON a.fid = f.id ORDER BY f.id";

static void read_fsum(sqlite3_stmt *st, struct fsum *f)
{
	const unsigned char *l = sqlite3_column_text(st, 2), *a = sqlite3_column_text(st, 3);
	const unsigned char *q = sqlite3_column_text(st, 4);
	f->id = sqlite3_column_int64(st, 0);
	f->port = sqlite3_column_int64(st, 1);
	snprintf(f->label, sizeof f->label, "%s", l ? (const char *)l : "");
	snprintf(f->app, sizeof f->app, "%s", a ? (const char *)a : "");
	snprintf(f->quoted_app, sizeof f->quoted_app, "%s", q ? (const char *)q : "");
	int64_t *out[] = {&f->n,     &f->seen, &f->delay,  &f->qlen,
			  &f->iplen, &f->v6,   &f->ttl_lo, &f->ttl_hi};
	for (int i = 0; i < (int)(sizeof out / sizeof out[0]); i++)
		*out[i] = sqlite3_column_int64(st, 5 + i);
}

void dg_summaries(struct dg *x)
{
	if (x->failed)
		return;
	sqlite3_stmt *fs_ins = NULL;
	if (db_exec(x->db, SUMMARY_TABLES_SQL, x->errbuf) < 0) {
		x->failed = true;
		return;
	}
	if (sqlite3_prepare_v2(x->db, "INSERT INTO fs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			       -1, &fs_ins, NULL) != SQLITE_OK)
		dg_fail(x, "preparing");
	else
		summary_stream(x, fs_ins);
	sqlite3_finalize(fs_ins);
	finding_names(x);
	/* Read to the end first: the loop below writes the rows this query reads. */
	sqlite3_stmt *st = dg_statement(x, FINDING_SUMS_SQL);
	struct fsum *fs = NULL;
	size_t n = 0, cap = 0;
	while (st && !x->failed && sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap && !(fs = dg_grow(x, fs, &cap, sizeof *fs)))
			break;
		read_fsum(st, &fs[n++]);
	}
	dg_done(x, st);
	for (size_t i = 0; i < n && !x->failed; i++) {
		finding_service(x, &fs[i]);
		if (strcmp(fs[i].label, "traceroute") != 0 &&
		    strcmp(fs[i].label, "udp-scan") != 0 && strcmp(fs[i].label, "reflection") != 0)
			quote_evidence(x, &fs[i]);
	}
	free(fs);
	if (!x->failed && db_exec(x->db, "DROP TABLE temp.fs; DROP TABLE temp.fa", x->errbuf) < 0)
		x->failed = true;
}
