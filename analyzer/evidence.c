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

/* Each finding's summary, summed from its events as they stream by (struct dg_summary):
 * counts, times and what the quotes say (into fs, for FINDING_SUMS_SQL), the application the
 * quotes name most often (fa), and its first DG_SUMMARY_LIST clients and reporters in
 * address order. The refusals sum theirs in their own pass (rules_refusal.c); the findings
 * of the rules before them are summed by dg_summarise_claimed(). */
static const char SUMMARY_TABLES_SQL[] =
    "DROP TABLE IF EXISTS temp.fs;"
    "CREATE TEMP TABLE fs (fid INTEGER PRIMARY KEY, n, seen, delay, qlen, iplen, v6, ttl_lo,"
    " ttl_hi);"
    "DROP TABLE IF EXISTS temp.fa;"
    "CREATE TEMP TABLE fa (fid INTEGER PRIMARY KEY, app);";

static const char CLAIMED_EVENTS_SQL[] =
    "SELECT fid, " DG_SUMMARY_COLUMNS " FROM pu WHERE fid IS NOT NULL ORDER BY fid";

/* Adds v (len bytes) to the list of the smallest distinct values, in order. */
static bool firsts_add(struct dg_firsts *f, const void *v, size_t len)
{
	size_t lo = 0, hi = f->n;
	/* in order already (the common case): only a value past the last can be new */
	if (f->n && tally_cmp(v, len, f->v[f->n - 1], f->len[f->n - 1]) > 0) {
		if (f->n == DG_SUMMARY_LIST)
			return true;
		lo = f->n;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tally_cmp(v, len, f->v[mid], f->len[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == DG_SUMMARY_LIST)
		return true;
	char *copy = malloc(len + 1);
	if (!copy)
		return false;
	memcpy(copy, v, len);
	copy[len] = '\0';
	if (f->n == DG_SUMMARY_LIST)
		free(f->v[--f->n]);
	memmove(&f->v[lo + 1], &f->v[lo], (f->n - lo) * sizeof f->v[0]);
	memmove(&f->len[lo + 1], &f->len[lo], (f->n - lo) * sizeof f->len[0]);
	f->v[lo] = copy, f->len[lo] = len;
	f->n++;
	return true;
}

static void firsts_clear(struct dg_firsts *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
}

/* v as a JSON string onto out (SQLite's json_quote() escapes); out has room for 6 bytes per
 * byte of v and the quotes. */
static size_t json_string(const char *v, size_t len, char *out)
{
	static const char SIMPLE[32] = {
	    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
	static const char HEX[] = "0123456789abcdef";
	size_t used = 0;
	out[used++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '"' || c == '\\' || (c < 0x20 && SIMPLE[c])) {
			out[used++] = '\\';
			out[used++] = c < 0x20 ? SIMPLE[c] : (char)c;
		} else if (c < 0x20) {
			memcpy(out + used, "\\u00", 4);
			out[used + 4] = HEX[c >> 4], out[used + 5] = HEX[c & 15];
			used += 6;
		} else
			out[used++] = (char)c;
	}
	out[used++] = '"';
	return used;
}

/* The list as a JSON array, in a new string; NULL when it is empty or memory runs out
 * (*oom). */
static char *json_list(const struct dg_firsts *f, bool *oom)
{
	if (!f->n)
		return NULL;
	size_t cap = 3;
	for (size_t i = 0; i < f->n; i++)
		cap += 6 * f->len[i] + 3;
	char *out = malloc(cap);
	if (!out) {
		*oom = true;
		return NULL;
	}
	size_t used = 0;
	out[used++] = '[';
	for (size_t i = 0; i < f->n; i++) {
		if (i)
			out[used++] = ',';
		used += json_string(f->v[i], f->len[i], out + used);
	}
	out[used++] = ']';
	out[used] = '\0';
	return out;
}

void dg_summary_start(struct dg_summary *a)
{
	firsts_clear(&a->clients), firsts_clear(&a->reporters), tally_clear(&a->apps);
	a->n = a->seen = a->v6 = a->n_delay = 0;
	a->delay_sum = 0;
	a->have_qlen = a->have_iplen = false;
}

void dg_summary_free(struct dg_summary *a)
{
	firsts_clear(&a->clients), firsts_clear(&a->reporters), tally_free(&a->apps);
}

static void summary_max(sqlite3_stmt *st, int col, int64_t *max, bool *have)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	int64_t v = sqlite3_column_int64(st, col);
	if (!*have || v > *max)
		*max = v, *have = true;
}

bool dg_summary_row(struct dg_summary *a, sqlite3_stmt *st, int col)
{
	int64_t ts = sqlite3_column_int64(st, col + DG_SUM_TS);
	int64_t ttl = sqlite3_column_int64(st, col + DG_SUM_TTL);
	int64_t prec = sqlite3_column_int64(st, col + DG_SUM_PRECISION);
	bool first = a->n++ == 0;
	a->t0 = first || ts < a->t0 ? ts : a->t0;
	a->t1 = first || ts > a->t1 ? ts : a->t1;
	a->prec = first || prec > a->prec ? prec : a->prec;
	a->ttl_lo = first || ttl < a->ttl_lo ? ttl : a->ttl_lo;
	a->ttl_hi = first || ttl > a->ttl_hi ? ttl : a->ttl_hi;
	a->seen += sqlite3_column_int64(st, col + DG_SUM_SEEN);
	a->v6 |= sqlite3_column_int64(st, col + DG_SUM_V6) != 0;
	/* AVG() sums in floating point */
	if (sqlite3_column_type(st, col + DG_SUM_DELAY) != SQLITE_NULL)
		a->delay_sum += (double)sqlite3_column_int64(st, col + DG_SUM_DELAY), a->n_delay++;
	summary_max(st, col + DG_SUM_QUOTE_LEN, &a->qlen, &a->have_qlen);
	summary_max(st, col + DG_SUM_QUOTE_IP_LEN, &a->iplen, &a->have_iplen);
	int c = col + DG_SUM_CLIENT, r = col + DG_SUM_REPORTER, p = col + DG_SUM_APP;
	if (sqlite3_column_type(st, c) != SQLITE_NULL &&
	    !firsts_add(&a->clients, sqlite3_column_text(st, c),
			(size_t)sqlite3_column_bytes(st, c)))
		return false;
	if (sqlite3_column_type(st, r) != SQLITE_NULL &&
	    !firsts_add(&a->reporters, sqlite3_column_text(st, r),
			(size_t)sqlite3_column_bytes(st, r)))
		return false;
	return sqlite3_column_type(st, p) == SQLITE_NULL ||
	       tally_add(&a->apps, sqlite3_column_text(st, p), (size_t)sqlite3_column_bytes(st, p));
}

void dg_summary_end(struct dg *x, const struct dg_summary *a, int64_t fid)
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
			  DG_INT(":fid", fid), DG_INT(":n", a->n), DG_INT(":t0", a->t0),
			  DG_INT(":t1", a->t1), DG_INT(":prec", a->prec),
			  DG_TEXT(":clients", clients), DG_TEXT(":reporters", reporters)),
	       "summarising findings");
	free(clients), free(reporters);
	dg_run(x,
	       dg_prepare(x,
			  "INSERT INTO fs (fid, n, seen, delay, qlen, iplen, v6, ttl_lo, ttl_hi)"
			  " VALUES (:fid, :n, :seen, :delay, :qlen, :iplen, :v6, :lo, :hi)",
			  DG_INT(":fid", fid), DG_INT(":n", a->n), DG_INT(":seen", a->seen),
			  DG_REAL_IF(":delay", a->n_delay ? a->delay_sum / (double)a->n_delay : 0,
				     a->n_delay > 0),
			  DG_INT_IF(":qlen", a->qlen, a->have_qlen),
			  DG_INT_IF(":iplen", a->iplen, a->have_iplen), DG_INT(":v6", a->v6),
			  DG_INT(":lo", a->ttl_lo), DG_INT(":hi", a->ttl_hi)),
	       "summarising findings");
	const struct tally_item *app = tally_top(&a->apps);
	if (app)
		dg_run(x,
		       dg_prepare(x, "INSERT INTO fa (fid, app) VALUES (:fid, :app)",
				  DG_INT(":fid", fid), DG_TEXT(":app", app->key)),
		       "summarising findings");
}

void dg_summarise_claimed(struct dg *x)
{
	if (x->failed)
		return;
	if (db_exec(x->db, SUMMARY_TABLES_SQL, x->errbuf) < 0) {
		x->failed = true;
		return;
	}
	struct dg_summary a = {0};
	sqlite3_stmt *st = dg_statement(x, CLAIMED_EVENTS_SQL);
	int64_t fid = 0;
	bool open = false;
	int rc = SQLITE_DONE;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!open || sqlite3_column_int64(st, 0) != fid) {
			if (open)
				dg_summary_end(x, &a, fid);
			dg_summary_start(&a);
			fid = sqlite3_column_int64(st, 0);
			open = true;
		}
		if (!x->failed && !dg_summary_row(&a, st, 1))
			dg_out_of_memory(x);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading events");
	else if (open && !x->failed)
		dg_summary_end(x, &a, fid);
	dg_done(x, st);
	dg_summary_free(&a);
}

/* The failing query names of every finding, as a JSON array of {name, type, count, hex}:
 * the NAMES_PER_FINDING most frequent of each (ORDER BY count DESC, name, type). The names
 * stay in events (a narrower event table makes every pass cheaper); claim is in event
 * order, so the join walks events forward. The join's rows are counted in C as they come
 * (a storm's million names into half a million groups: a fifth of the time of SQL's GROUP
 * BY, which sorts them all), up to NAMES_TALLY_MAX distinct (finding, name, type) groups;
 * past that bound, or on a value the C order does not know, SQL groups them. */
#define NAMES_PER_FINDING 20
#define NAMES_TALLY_MAX (1u << 20)
#define NAMES_JOIN                                                                                 \
	" FROM claim c JOIN events e ON e.id = c.eid WHERE c.fid IS NOT NULL"                      \
	" AND e.dns_qname IS NOT NULL"

static size_t names_tally_max = NAMES_TALLY_MAX;

void dg_names_tally_max(size_t groups)
{
	names_tally_max = groups ? groups : NAMES_TALLY_MAX;
}

/* Appends one name to finding fid's list. */
static void store_name(struct dg *x, int64_t fid, const void *raw, size_t raw_len, bool qtype_null,
		       int qtype, int64_t count)
{
	char name[1100], hex[600], tbuf[16];
	pm_bytes_escape(raw, raw_len, name, sizeof name);
	pm_bytes_hex(raw, raw_len, hex, sizeof hex);
	/* a NULL type read as a number, as sqlite3_column_int() did */
	const char *tn = dns_qtype_name((uint16_t)(qtype_null ? 0 : qtype));
	if (!tn) {
		snprintf(tbuf, sizeof tbuf, "TYPE%d", qtype_null ? 0 : qtype);
		tn = tbuf;
	}
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE findings SET names = json_insert(names, '$[#]',"
			  " json_object('name', :name, 'type', :type, 'count', :count,"
			  " 'hex', :hex)) WHERE id = :fid",
			  DG_INT(":fid", fid), DG_TEXT(":name", name), DG_TEXT(":type", tn),
			  DG_INT(":count", count), DG_TEXT(":hex", hex)),
	       "storing names");
}

static void names_by_sql(struct dg *x)
{
	sqlite3_stmt *st =
	    dg_statement(x, "SELECT c.fid, e.dns_qname, e.dns_qtype, COUNT(*)" NAMES_JOIN
			    " GROUP BY c.fid, e.dns_qname, e.dns_qtype"
			    " ORDER BY c.fid, 4 DESC, 2, 3");
	int rc = SQLITE_DONE;
	int64_t fid = -1, rank = 0;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t f = sqlite3_column_int64(st, 0);
		rank = f == fid ? rank + 1 : 0;
		fid = f;
		if (rank >= NAMES_PER_FINDING)
			continue;
		store_name(x, fid, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
			   sqlite3_column_type(st, 2) == SQLITE_NULL, sqlite3_column_int(st, 2),
			   sqlite3_column_int64(st, 3));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading names");
	dg_done(x, st);
}

/* A counted group's key: the finding (big-endian, so keys of one finding are adjacent in
 * byte order too), the type (NULL first), then the name, TEXT before BLOB as SQLite orders
 * them. */
enum { NK_FID = 0, NK_QTYPE_NULL = 8, NK_QTYPE = 9, NK_NAME_BLOB = 13, NK_NAME = 14 };

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* ORDER BY fid, count DESC, name, type: the order names_by_sql() reads them in. */
static int name_order(const void *pa, const void *pb)
{
	const struct tally_item *a = *(const struct tally_item *const *)pa;
	const struct tally_item *b = *(const struct tally_item *const *)pb;
	const unsigned char *ka = (const unsigned char *)a->key,
			    *kb = (const unsigned char *)b->key;
	int c = memcmp(ka, kb, NK_QTYPE_NULL); /* the finding */
	if (c)
		return c;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	if (ka[NK_NAME_BLOB] != kb[NK_NAME_BLOB])
		return ka[NK_NAME_BLOB] < kb[NK_NAME_BLOB] ? -1 : 1;
	c = tally_cmp(ka + NK_NAME, a->len - NK_NAME, kb + NK_NAME, b->len - NK_NAME);
	if (c)
		return c;
	if (ka[NK_QTYPE_NULL] != kb[NK_QTYPE_NULL])
		return ka[NK_QTYPE_NULL] ? -1 : 1;
	int64_t qa = (int32_t)(uint32_t)get_be(ka + NK_QTYPE, 4);
	int64_t qb = (int32_t)(uint32_t)get_be(kb + NK_QTYPE, 4);
	return qa < qb ? -1 : qa > qb;
}

/* Counts the join's rows into t; false when SQL must group them instead (a value the key
 * does not represent, the bound, memory) or on an error (x->failed). */
static bool names_count(struct dg *x, struct tally *t)
{
	sqlite3_stmt *st = dg_statement(x, "SELECT c.fid, e.dns_qname, e.dns_qtype" NAMES_JOIN);
	unsigned char *key = NULL;
	size_t cap = 0;
	bool ok = true;
	int rc = SQLITE_DONE;
	while (ok && st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int name_type = sqlite3_column_type(st, 1), qtype_type = sqlite3_column_type(st, 2);
		int64_t qtype = sqlite3_column_int64(st, 2);
		if ((name_type != SQLITE_TEXT && name_type != SQLITE_BLOB) ||
		    (qtype_type != SQLITE_NULL && qtype_type != SQLITE_INTEGER) ||
		    qtype < INT32_MIN || qtype > INT32_MAX ||
		    sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
			ok = false;
			break;
		}
		const void *name = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		if (NK_NAME + len > cap) {
			unsigned char *k = realloc(key, NK_NAME + len);
			if (!k) {
				ok = false;
				break;
			}
			key = k, cap = NK_NAME + len;
		}
		/* the finding ids are positive: big-endian bytes order them as numbers */
		put_be(key + NK_FID, (uint64_t)sqlite3_column_int64(st, 0), 8);
		key[NK_QTYPE_NULL] = qtype_type == SQLITE_NULL;
		put_be(key + NK_QTYPE, (uint32_t)(int32_t)qtype, 4);
		key[NK_NAME_BLOB] = name_type == SQLITE_BLOB;
		if (len)
			memcpy(key + NK_NAME, name, len);
		ok = tally_add(t, key, NK_NAME + len) && !t->overflow;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading names");
	dg_done(x, st);
	free(key);
	return ok && !x->failed;
}

static void finding_names(struct dg *x)
{
	struct tally t = {.max_items = names_tally_max};
	const struct tally_item **order = NULL;
	if (!names_count(x, &t) || (t.n_items && !(order = malloc(t.n_items * sizeof *order)))) {
		tally_free(&t);
		if (!x->failed)
			names_by_sql(x);
		return;
	}
	for (size_t i = 0; i < t.n_items; i++)
		order[i] = &t.items[i];
	if (t.n_items)
		qsort(order, t.n_items, sizeof *order, name_order);
	int64_t fid = -1, rank = 0;
	for (size_t i = 0; i < t.n_items && !x->failed; i++) {
		const unsigned char *k = (const unsigned char *)order[i]->key;
		int64_t f = (int64_t)get_be(k + NK_FID, 8);
		rank = f == fid ? rank + 1 : 0;
		fid = f;
		if (rank < NAMES_PER_FINDING)
			store_name(x, fid, k + NK_NAME, order[i]->len - NK_NAME, k[NK_QTYPE_NULL],
				   (int32_t)(uint32_t)get_be(k + NK_QTYPE, 4), order[i]->n);
	}
	free(order);
	tally_free(&t);
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
