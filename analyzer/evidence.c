/* evidence.c - finding summaries (counts, clients, names) and the sentences of the evidence. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/diagnose_int.h"
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

/* One pass over the claimed events for every finding at once: counts, times and what the
 * quotes say, the application the quotes name most often, then the first 100 clients and
 * reporters of each in address order. */
static const char SUMMARY_SQL[] =
    "DROP TABLE IF EXISTS temp.fs;"
    "CREATE TEMP TABLE fs AS SELECT fid, COUNT(*) AS n, MIN(ts_ns) AS t0, MAX(ts_ns) AS t1,"
    " MAX(precision) AS prec, SUM(orig_seen) AS seen,"
    " AVG(CASE WHEN orig_seen THEN orig_delay_ns END) AS delay, MAX(quote_len) AS qlen,"
    " MAX(quote_ip_len) AS iplen, MAX(family = 'icmp6') AS v6, MIN(ttl) AS ttl_lo,"
    " MAX(ttl) AS ttl_hi FROM pu NOT INDEXED WHERE fid IS NOT NULL GROUP BY fid;"
    "UPDATE findings SET errors = s.n, first_error_ns = s.t0, last_error_ns = s.t1,"
    " precision = coalesce(s.prec, 6) FROM fs s WHERE s.fid = findings.id;"
    "DROP TABLE IF EXISTS temp.fa;"
    "CREATE TEMP TABLE fa AS SELECT fid, app FROM (SELECT fid, app, row_number() OVER"
    " (PARTITION BY fid ORDER BY COUNT(*) DESC, app) AS k"
    " FROM pu NOT INDEXED WHERE fid IS NOT NULL AND app IS NOT NULL GROUP BY fid, app) WHERE k = 1;"
    /* distinct pairs into a clustered table first: the window then reads them in order */
    "DROP TABLE IF EXISTS temp.fc;"
    "CREATE TEMP TABLE fc (fid, c, PRIMARY KEY (fid, c)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO fc SELECT fid, CASE WHEN role = 'reply' THEN dst ELSE src END"
    " FROM pu NOT INDEXED WHERE fid IS NOT NULL;"
    "UPDATE findings SET clients = s.j FROM (SELECT fid, json_group_array(c) AS j FROM (SELECT"
    " fid, c, row_number() OVER (PARTITION BY fid ORDER BY c) AS k FROM fc) WHERE k <= 100"
    " GROUP BY fid) s WHERE s.fid = findings.id;"
    "DELETE FROM fc;"
    "INSERT OR IGNORE INTO fc SELECT fid, reporter FROM pu NOT INDEXED WHERE fid IS NOT NULL;"
    "UPDATE findings SET reporters = s.j FROM (SELECT fid, json_group_array(c) AS j FROM (SELECT"
    " fid, c, row_number() OVER (PARTITION BY fid ORDER BY c) AS k FROM fc) WHERE k <= 100"
    " GROUP BY fid) s"
    " WHERE s.fid = findings.id;";

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
	if (db_exec(x->db, SUMMARY_SQL, x->errbuf) < 0) {
		x->failed = true;
		return;
	}
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
	if (!x->failed &&
	    db_exec(x->db, "DROP TABLE temp.fs; DROP TABLE temp.fa; DROP TABLE temp.fc",
		    x->errbuf) < 0)
		x->failed = true;
}
