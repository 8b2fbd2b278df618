/* rules_refusal.c - refused requests: datagrams to ip:port answered with port unreachable.
 * One finding per ip:port; the labels are tried so that a benign or hostile reading that
 * fits wins over an outage that does not (SPEC §6): firewall-reject (another device
 * answers), stream-ended, unsolicited, firewall-reject (ip:port answers other clients in
 * between), intermittent, service-restarted, then wrong-port, wrong-host, service-down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"

/* The events of every target still unclaimed, in one pass sorted by target, then client,
 * then conversation: each target's facts are summed as its rows go by (distinct clients
 * and conversations counted where their value changes), instead of one GROUP BY pass over
 * the events per fact. */
static const char TARGET_EVENTS_SQL[] =
    "SELECT " DG_SUMMARY_COLUMNS ", dst, dport, src, flow_id, coalesce(rev_before, 0) > 0,"
    " s2c_last_ns IS NULL OR s2c_last_ns <= ts_ns, coalesce(s2c_packets, 0),"
    " coalesce(c2s_packets, 1), sender_peers, capture_id, c2s_packets, s2c_packets"
    " FROM pu WHERE +fid IS NULL ORDER BY dst, dport, src, flow_id";
/* The finding's summary columns first (dg_summary_row() reads them from column 0), some of
 * which the target's facts read too; then the target's own. */
enum {
	TE_REPORTER = DG_SUM_REPORTER,
	TE_TTL = DG_SUM_TTL,
	TE_DST = DG_SUM_COLUMNS,
	TE_DPORT,
	TE_SRC,
	TE_FLOW,
	TE_TWO_WAY,
	TE_SILENT,
	TE_TALKED,
	TE_SHOTS,
	TE_PEERS,
	TE_CAPTURE,
	TE_FLOW_C2S,
	TE_FLOW_S2C,
};

/* The clients of each target, for "which other server answered them" (wrong-host). */
static const char TARGET_TABLES_SQL[] =
    "DROP TABLE IF EXISTS temp.rt_client;"
    "CREATE TEMP TABLE rt_client (dst, dport, src, PRIMARY KEY (dst, dport, src)) WITHOUT ROWID;"
    "DROP TABLE IF EXISTS temp.rt_fid;"
    "CREATE TEMP TABLE rt_fid (dst, dport, fid, PRIMARY KEY (dst, dport)) WITHOUT ROWID;";

/* Every event's finding, in the table claim that the names and the link read: the events
 * the rules before claimed (pu.fid), and every other event its target's finding, in one pass
 * once all targets have one (the event table is not rewritten). The refusals take every
 * event left, so each event of pu gets a finding here. */
static const char TARGETS_CLAIM_SQL[] =
    "DROP TABLE IF EXISTS temp.claim;"
    "CREATE TEMP TABLE claim (eid INTEGER PRIMARY KEY, fid INTEGER, dup_of INTEGER,"
    " capture_id INTEGER);"
    "INSERT INTO claim SELECT p.eid, coalesce(p.fid, m.fid), NULL, p.capture_id FROM pu p"
    " LEFT JOIN rt_fid m ON p.fid IS NULL AND m.dst = p.dst AND m.dport = p.dport"
    " WHERE coalesce(p.fid, m.fid) IS NOT NULL;"
    "DROP TABLE temp.rt_client; DROP TABLE temp.rt_fid;";

/* Each capture's span (last packet minus first), looked up by id for the targets' spans. */
struct spans {
	int64_t *id, *span, *seen_by; /* by id ascending; seen_by: the last target counting it */
	bool *known;		      /* false: the capture has no packet times */
	size_t n;
};

static bool spans_load(struct dg *x, struct spans *s)
{
	sqlite3_stmt *st =
	    dg_statement(x, "SELECT id, last_ns - first_ns FROM captures ORDER BY id");
	size_t cap = 0;
	int rc = SQLITE_DONE;
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *a = realloc(s->id, cap * sizeof *a), *b, *c;
			s->id = a ? a : s->id;
			b = a ? realloc(s->span, cap * sizeof *b) : NULL;
			s->span = b ? b : s->span;
			c = b ? realloc(s->seen_by, cap * sizeof *c) : NULL;
			s->seen_by = c ? c : s->seen_by;
			bool *d = c ? realloc(s->known, cap * sizeof *d) : NULL;
			s->known = d ? d : s->known;
			if (!d) {
				dg_done(x, st);
				dg_out_of_memory(x);
				return false;
			}
		}
		s->id[s->n] = sqlite3_column_int64(st, 0);
		s->known[s->n] = sqlite3_column_type(st, 1) != SQLITE_NULL;
		s->span[s->n] = sqlite3_column_int64(st, 1);
		s->seen_by[s->n] = -1;
		s->n++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading capture spans");
	dg_done(x, st);
	return !x->failed;
}

static void spans_free(struct spans *s)
{
	free(s->id), free(s->span), free(s->seen_by), free(s->known);
}

/* Adds the span of capture id to *sum the first time target `seq` meets it. */
static void span_add(struct spans *s, int64_t id, int64_t seq, int64_t *sum)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n || s->id[lo] != id || s->seen_by[lo] == seq)
		return;
	s->seen_by[lo] = seq;
	if (s->known[lo])
		*sum += s->span[lo];
}

/* One target's facts while its rows stream by. */
struct target {
	struct refusal r;
	int64_t seq, flow_rx, flow_tx;
	struct dg_kept ip, src;
	bool have_flow;
	int64_t flow;
	struct tally reporters, ttls;
	char quoted_app[24];
	struct dg_summary sum;
	/* the servers that answered the target's clients on its port (struct answers): each
	 * once, with the datagrams it sent from that port (alt_n[i] for alt.items[i]) */
	struct tally alt;
	int64_t *alt_n;
	size_t alt_cap;
};

/*
 * Who answered whom, for wrong-host: every (client, port, server) of endpoint_clients whose
 * server sent datagrams from that port (epg), with how many, sorted by client and port. The
 * refusals look each client of a target up here instead of listing the clients in a table and
 * joining (1,000 refused DNS servers with 1.2 M errors: 3.5 s of the pass). It is loaded once
 * ANSWERS_AFTER targets asked; past ANSWERS_MAX rows it is not kept (usable false) and the SQL
 * below answers instead.
 */
#define ANSWERS_MAX 262144
/* Targets that ask the question one statement each before the list is loaded: loading reads
 * every answered endpoint's clients (47,000 rows over 200 rotated files: 0.2 s), which pays
 * only for many targets (1,000 in the storm above). */
#define ANSWERS_AFTER 64
struct answer {
	char *client, *server;
	size_t client_len, server_len;
	int64_t port, n;
};
struct answers {
	bool loaded, usable;
	struct answer *a;
	size_t n;
};

static const char ANSWERS_SQL[] =
    "SELECT DISTINCT c.client_ip, c.port, c.ip, a.n FROM endpoint_clients c JOIN (SELECT ip,"
    " port, SUM(tx_packets) AS n FROM epg WHERE tx_packets > 0 GROUP BY ip, port) a"
    " ON a.ip = c.ip AND a.port = c.port WHERE c.client_ip IS NOT NULL AND c.ip IS NOT NULL"
    " ORDER BY c.client_ip, c.port, c.ip";

static void answers_free(struct answers *ans)
{
	for (size_t i = 0; i < ans->n; i++)
		free(ans->a[i].client), free(ans->a[i].server);
	free(ans->a);
	*ans = (struct answers){0};
}

static char *column_copy(sqlite3_stmt *st, int col, size_t *len)
{
	const unsigned char *p = sqlite3_column_text(st, col);
	*len = (size_t)sqlite3_column_bytes(st, col);
	char *c = p ? malloc(*len + 1) : NULL;
	if (c)
		memcpy(c, p, *len), c[*len] = '\0';
	return c;
}

/* Loads the answers once; false when they cannot be held (too many, out of memory). */
static bool answers_load(struct dg *x, struct answers *ans)
{
	if (ans->loaded)
		return ans->usable;
	ans->loaded = true;
	sqlite3_stmt *st = dg_statement(x, ANSWERS_SQL);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	ans->usable = st != NULL;
	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ans->n == ANSWERS_MAX) {
			ans->usable = false;
			break;
		}
		if (ans->n == cap) {
			cap = cap ? 2 * cap : 256;
			struct answer *b = realloc(ans->a, cap * sizeof *b);
			if (!b) {
				ans->usable = false;
				break;
			}
			ans->a = b;
		}
		struct answer *a = &ans->a[ans->n];
		a->client = column_copy(st, 0, &a->client_len);
		a->server = column_copy(st, 2, &a->server_len);
		a->port = sqlite3_column_int64(st, 1);
		a->n = sqlite3_column_int64(st, 3);
		if (!a->client || !a->server) {
			free(a->client), free(a->server);
			ans->usable = false;
			break;
		}
		ans->n++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading who answered whom");
	dg_done(x, st);
	if (!ans->usable) {
		answers_free(ans);
		ans->loaded = true;
	}
	return ans->usable;
}

/* The first answer to (client, port) in the sorted list, or ans->n. */
static size_t answers_find(const struct answers *ans, const char *client, size_t len, int64_t port)
{
	size_t lo = 0, hi = ans->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct answer *a = &ans->a[mid];
		int c = tally_cmp(a->client, a->client_len, client, len);
		if (c < 0 || (c == 0 && a->port < port))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The servers that answered the target's new client on the target's port. */
static bool answers_add(struct target *t, const struct answers *ans)
{
	if (t->src.null)
		return true;
	for (size_t i = answers_find(ans, t->src.p, t->src.len, t->r.port); i < ans->n; i++) {
		const struct answer *a = &ans->a[i];
		if (a->port != t->r.port ||
		    tally_cmp(a->client, a->client_len, t->src.p, t->src.len))
			break;
		size_t before = t->alt.n_items;
		if (!tally_add(&t->alt, a->server, a->server_len))
			return false;
		if (t->alt.n_items == before)
			continue;
		if (before == t->alt_cap) {
			size_t cap = t->alt_cap ? 2 * t->alt_cap : 16;
			int64_t *b = realloc(t->alt_n, cap * sizeof *b);
			if (!b)
				return false;
			t->alt_n = b, t->alt_cap = cap;
		}
		t->alt_n[before] = a->n;
	}
	return true;
}

struct alt_row {
	int64_t n;
	const char *ip;
	size_t len;
};

/* ORDER BY n DESC, ip (BINARY) */
static int alt_order(const void *pa, const void *pb)
{
	const struct alt_row *a = pa, *b = pb;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return tally_cmp(a->ip, a->len, b->ip, b->len);
}

/* As the SQL of refusal_alternatives: the three servers other than the target that sent the
 * most from its port, "ip (n datagrams), ...". False when out of memory. */
static bool alt_host_text(const struct target *t, char *buf, size_t len)
{
	size_t k = 0;
	struct alt_row *rows = malloc((t->alt.n_items ? t->alt.n_items : 1) * sizeof *rows);
	buf[0] = '\0';
	if (!rows)
		return false;
	for (size_t i = 0; i < t->alt.n_items; i++) {
		const struct tally_item *it = &t->alt.items[i];
		if (tally_cmp(it->key, it->len, t->ip.p, t->ip.len) != 0)
			rows[k++] = (struct alt_row){t->alt_n[i], it->key, it->len};
	}
	qsort(rows, k, sizeof *rows, alt_order);
	size_t at = 0;
	for (size_t i = 0; i < k && i < 3 && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s (%lld %s)", i ? ", " : "", rows[i].ip,
				 (long long)rows[i].n, rows[i].n == 1 ? "datagram" : "datagrams");
		if (w < 0)
			break;
		at += (size_t)w;
	}
	free(rows);
	return true;
}

/* An integer as a key of a tally whose byte order is the numbers' order. */
static void int_key(int64_t v, unsigned char key[8])
{
	uint64_t u = (uint64_t)v ^ (UINT64_C(1) << 63);
	for (int i = 7; i >= 0; i--, u >>= 8)
		key[i] = (unsigned char)u;
}

static int64_t key_int(const unsigned char key[8])
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | key[i];
	return (int64_t)(u ^ (UINT64_C(1) << 63));
}

/* Starts the target of row st: its address and port, every count at zero. */
static bool target_start(struct target *t, sqlite3_stmt *st)
{
	tally_clear(&t->reporters), tally_clear(&t->ttls), tally_clear(&t->alt);
	dg_summary_start(&t->sum);
	t->seq++;
	t->flow_rx = t->flow_tx = 0;
	t->have_flow = false;
	t->r = (struct refusal){.port = sqlite3_column_int64(st, TE_DPORT), .icmp_ttl = -1};
	t->src.null = true, t->src.len = (size_t)-1; /* no client yet */
	return dg_kept_set(&t->ip, st, TE_DST);
}

/* The row's client and conversation: new ones counted once. */
static bool target_client(struct target *t, sqlite3_stmt *st, struct spans *s)
{
	bool new_src = t->src.len == (size_t)-1 || !dg_kept_same(&t->src, st, TE_SRC);
	if (new_src) {
		if (!dg_kept_set(&t->src, st, TE_SRC))
			return false;
		t->have_flow = false;
		if (!t->src.null)
			t->r.n_clients++;
	}
	if (sqlite3_column_type(st, TE_FLOW) != SQLITE_NULL) {
		int64_t flow = sqlite3_column_int64(st, TE_FLOW);
		if ((!t->have_flow || flow != t->flow) &&
		    sqlite3_column_type(st, TE_FLOW_C2S) != SQLITE_NULL) {
			t->flow_rx += sqlite3_column_int64(st, TE_FLOW_C2S);
			t->flow_tx += sqlite3_column_int64(st, TE_FLOW_S2C);
		}
		t->flow = flow, t->have_flow = true;
	}
	span_add(s, sqlite3_column_int64(st, TE_CAPTURE), t->seq, &t->r.span_ns);
	return true;
}

/* Adds one event row to its target: to its finding's summary (which holds the counts, times,
 * quote sizes and application the target's facts share with it), then to the facts of the
 * target alone. False when memory runs out. */
static bool target_row(struct target *t, sqlite3_stmt *st, struct spans *s)
{
	struct refusal *r = &t->r;
	if (!dg_summary_row(&t->sum, st, 0))
		return false;
	r->two_way += sqlite3_column_int64(st, TE_TWO_WAY);
	r->silent_after += sqlite3_column_int64(st, TE_SILENT);
	r->talked += sqlite3_column_int64(st, TE_TALKED);
	if (t->sum.n == 1 || sqlite3_column_int64(st, TE_SHOTS) > r->max_shots)
		r->max_shots = sqlite3_column_int64(st, TE_SHOTS);
	if (sqlite3_column_type(st, TE_PEERS) != SQLITE_NULL) {
		int64_t peers = sqlite3_column_int64(st, TE_PEERS);
		r->p2p += peers >= P2P_MIN_PEERS;
		if (peers > r->peers)
			r->peers = peers;
	}
	if (!target_client(t, st, s))
		return false;
	/* reporter = dst: the host itself (its error TTL); otherwise a device on the path */
	if (!t->ip.null) {
		const void *rep = sqlite3_column_text(st, TE_REPORTER);
		size_t rep_len = (size_t)sqlite3_column_bytes(st, TE_REPORTER);
		if (rep && rep_len == t->ip.len && memcmp(rep, t->ip.p, rep_len) == 0) {
			unsigned char key[8];
			r->self++;
			int_key(sqlite3_column_int64(st, TE_TTL), key);
			if (!tally_add(&t->ttls, key, sizeof key))
				return false;
		} else if (rep && !tally_add(&t->reporters, rep, rep_len))
			return false;
	}
	return true;
}

/* Distinct foreign reporters counted in memory per target; past this many (errors forged from
 * as many addresses), the most frequent is asked from the events instead. */
#define TARGET_REPORTERS_MAX 65536

/* The target's facts, complete: those its finding's summary holds, the most frequent foreign
 * reporter, the host's own error TTL and the application its quotes name; its datagrams' TTL
 * from the host table. */
static void target_end(struct dg *x, struct target *t)
{
	struct refusal *r = &t->r;
	const struct dg_summary *sum = &t->sum;
	r->errors = sum->n, r->t_first = sum->t0, r->t_last = sum->t1, r->seen = sum->seen;
	r->quote_len = sum->have_qlen ? sum->qlen : 0;
	r->quote_ip_len = sum->have_iplen ? sum->iplen : 0;
	r->v6 = sum->v6 != 0;
	const struct tally_item *top = tally_top(&t->reporters);
	snprintf(r->reporter, sizeof r->reporter, "%s", top ? top->key : "");
	if (t->reporters.overflow)
		dg_text(x,
			dg_prepare(x,
				   "SELECT reporter FROM pu WHERE +fid IS NULL AND dst = :ip"
				   " AND dport = :port AND reporter != dst GROUP BY reporter"
				   " ORDER BY COUNT(*) DESC, reporter LIMIT 1",
				   DG_TEXT(":ip", t->ip.p), DG_INT(":port", r->port)),
			r->reporter, sizeof r->reporter);
	top = tally_top(&t->ttls);
	if (top)
		r->icmp_ttl = key_int((const unsigned char *)top->key);
	top = tally_top(&sum->apps);
	snprintf(t->quoted_app, sizeof t->quoted_app, "%s", top ? top->key : "");
	r->other = r->errors - r->self;
	r->udp_ttl = dg_int(x,
			    dg_prepare(x,
				       "SELECT ttl FROM host_ttls WHERE ip = :ip GROUP BY ttl"
				       " ORDER BY SUM(packets) DESC, ttl LIMIT 1",
				       DG_TEXT(":ip", r->ip)),
			    -1);
}

static const char *const FACTS_SQL =
    "SELECT SUM(rx_packets), SUM(tx_packets),"
    " MAX(CASE WHEN last_tx_ns < :t_first THEN last_tx_ns"
    "     WHEN tx_before_err_ns < :t_first THEN tx_before_err_ns END),"
    " MIN(CASE WHEN first_tx_ns > :t_last THEN first_tx_ns"
    "     WHEN tx_after_err_ns > :t_last THEN tx_after_err_ns END),"
    " SUM(rx_unanswered), MAX(app), SUM(tx_refused_during), SUM(tx_other_during)"
    " FROM epg WHERE ip = :ip AND port = :port";

static void refusal_traffic(struct dg *x, struct refusal *r, const char *quoted_app,
			    int64_t flow_rx, int64_t flow_tx)
{
	sqlite3_stmt *st = dg_prepare(x, FACTS_SQL, DG_TEXT(":ip", r->ip), DG_INT(":port", r->port),
				      DG_INT(":t_first", r->t_first), DG_INT(":t_last", r->t_last));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->rx = sqlite3_column_int64(st, 0), r->tx = sqlite3_column_int64(st, 1);
		r->before = sqlite3_column_int64(st, 2), r->after = sqlite3_column_int64(st, 3);
		r->unanswered = sqlite3_column_int64(st, 4);
		const unsigned char *app = sqlite3_column_text(st, 5);
		snprintf(r->app, sizeof r->app, "%s", app ? (const char *)app : "");
		r->tx_refused = sqlite3_column_int64(st, 6),
		r->tx_other = sqlite3_column_int64(st, 7);
	}
	dg_done(x, st);
	if (!r->rx && !r->tx)
		r->rx = flow_rx, r->tx = flow_tx;
	if (!r->app[0])
		snprintf(r->app, sizeof r->app, "%s", quoted_app);
	r->cls = dg_app_class(r->app);
	/* A service clients are configured to use: its payload says so, or, with no payload to
	 * read, a well-known port the knowledge base has a service for. */
	r->configured = r->cls == APP_SERVICE ||
			(r->cls == APP_UNKNOWN && r->port < 1024 && dg_service_port(x, r->port));
}

/* Other ports of the same host answering the same application; other hosts answering the
 * same port to the same clients (only for services clients are pointed at). Each as
 * "53 (12 datagrams), 5353 (1 datagram)". Which other servers sent to the clients is asked
 * from the clients' side (dg_need_client_index): one probe per client of the finding. */
static void refusal_alternatives(struct dg *x, struct refusal *r, const struct target *t,
				 const struct answers *ans)
{
	if (r->app[0])
		dg_text(x,
			dg_prepare(x,
				   "SELECT group_concat(port || ' (' || n || CASE n WHEN 1"
				   " THEN ' datagram)' ELSE ' datagrams)' END, ', ') FROM (SELECT"
				   " port, SUM(tx_packets) AS n FROM epg WHERE ip = :ip"
				   " AND port != :port AND app = :app AND tx_packets > 0"
				   " GROUP BY port ORDER BY n DESC, port LIMIT 3)",
				   DG_TEXT(":ip", r->ip), DG_INT(":port", r->port),
				   DG_TEXT(":app", r->app)),
			r->alt_port, sizeof r->alt_port);
	if (!r->configured || !r->others_answer)
		return;
	if (ans->usable) {
		if (!alt_host_text(t, r->alt_host, sizeof r->alt_host))
			dg_out_of_memory(x);
		return;
	}
	dg_need_client_index(x);
	dg_text(x,
		dg_prepare(x,
			   "SELECT group_concat(ip || ' (' || n || CASE n WHEN 1"
			   " THEN ' datagram)' ELSE ' datagrams)' END, ', ') FROM (SELECT e.ip,"
			   " SUM(e.tx_packets) AS n FROM epg e WHERE e.port = :port"
			   " AND e.ip != :ip AND e.tx_packets > 0 AND e.ip IN (SELECT ip FROM ecl"
			   " WHERE client_ip IN (SELECT src FROM rt_client WHERE dst = :ip"
			   " AND dport = :port) AND port = :port)"
			   " GROUP BY e.ip ORDER BY n DESC, e.ip LIMIT 3)",
			   DG_TEXT(":ip", r->ip), DG_INT(":port", r->port)),
		r->alt_host, sizeof r->alt_host);
}

/* Errors "from ip itself" that another device sent in its name: their initial TTL differs
 * from ip's own datagrams' or, with none of those to compare, they start at 255 as routers
 * and firewalls do and quote only the IP header and 8 bytes, unlike Linux, Windows and BSD
 * hosts (64 or 128, and up to 548 / 1232 bytes quoted). */
static bool forged_errors(const struct refusal *r)
{
	if (!r->self || r->icmp_ttl < 0)
		return false;
	if (r->udp_ttl >= 0)
		return initial_ttl((int)r->icmp_ttl) != initial_ttl((int)r->udp_ttl);
	return initial_ttl((int)r->icmp_ttl) == 255 && r->quote_len == (r->v6 ? 48 : 28) &&
	       r->quote_ip_len > r->quote_len;
}

/* The tail of a conversation: ip:port had sent to these peers, then went quiet and closed;
 * not for request/response services, whose clients and servers talk one question a time. */
static bool ended_stream(const struct refusal *r)
{
	if (r->cls == APP_SERVICE || r->cls == APP_HOSTILE || 2 * r->two_way < r->errors)
		return false;
	return r->silent_after == r->errors && (r->cls != APP_UNKNOWN || r->port >= 1024);
}

/* Datagrams nobody on the host asked for: spam and worm payloads, or, to a port no
 * configured service uses, single shots or peer-to-peer probes from senders it never
 * answered. */
static bool unsolicited(const struct refusal *r)
{
	if (r->cls == APP_HOSTILE)
		return true;
	if (r->talked || r->configured || r->two_way)
		return false;
	return 2 * r->p2p >= r->errors || r->max_shots <= 1;
}

static const char *refusal_label(const struct refusal *r)
{
	if (r->other > r->self)
		return "firewall-reject";
	if (ended_stream(r))
		return "stream-ended";
	if (unsolicited(r))
		return "unsolicited";
	if (r->forged)
		return "firewall-reject";
	if (r->errors >= 2 && r->tx_other > 0 && r->tx_refused == 0)
		return "firewall-reject";
	if (r->errors >= 2 && r->tx_refused > 0)
		return "intermittent";
	if (r->after)
		return "service-restarted";
	if (r->before)
		return "service-down";
	if (r->alt_port[0])
		return "wrong-port";
	if (r->alt_host[0])
		return "wrong-host";
	return "service-down";
}

/* The errors undercount the requests that got nothing back: the host rate-limits its ICMP
 * errors. */
static bool rate_limited(const struct refusal *r)
{
	return r->unanswered >= 2 * r->errors && r->unanswered - r->errors >= 5;
}

/* Secondary labels: the readings that also hold. Returns how many are alternatives to the
 * main one (rate-limited is not: it only says the count is low). */
static int refusal_secondary(struct dg *x, const struct refusal *r, const char *label)
{
	int alternatives = 0;
	if (r->alt_host[0] && strcmp(label, "wrong-host") != 0) {
		dg_add_secondary(x, r->fid, "wrong-host");
		alternatives++;
	}
	if (r->alt_port[0] && strcmp(label, "wrong-port") != 0) {
		dg_add_secondary(x, r->fid, "wrong-port");
		alternatives++;
	}
	if (strcmp(label, "service-down") == 0 && !r->talked && !r->configured && !r->two_way) {
		dg_add_secondary(x, r->fid, "unsolicited");
		alternatives++;
	}
	if (r->rate_limited)
		dg_add_secondary(x, r->fid, "rate-limited");
	return alternatives;
}

static const char *refusal_confidence(const struct refusal *r, const char *label, int alternatives)
{
	bool solid = r->errors >= 3 || r->seen > 0;
	if (alternatives)
		return "medium";
	if (strcmp(label, "stream-ended") == 0)
		return r->cls == APP_STREAM || r->cls == APP_P2P ? "high" : "medium";
	if (strcmp(label, "unsolicited") == 0)
		return r->cls == APP_HOSTILE ? "high" : "medium";
	if (strcmp(label, "firewall-reject") == 0)
		return r->other > r->self && solid ? "high" : "medium";
	if (strcmp(label, "intermittent") == 0)
		return r->errors >= 3 && r->tx_refused >= 3 ? "high" : "medium";
	if (strcmp(label, "service-down") == 0 && !r->configured)
		return solid ? "medium" : "low";
	return solid ? "high" : "medium";
}

static void refusal_one(struct dg *x, struct target *t, const struct answers *ans)
{
	struct refusal *r = &t->r;
	r->ip = t->ip.p;
	fmt_endpoint(r->ip, r->port, r->ep, sizeof r->ep);
	r->fid = dg_new_finding(x, "service-down", r->ip, r->port, NULL);
	dg_run(x,
	       dg_prepare(x, "INSERT INTO rt_fid (dst, dport, fid) VALUES (:ip, :port, :fid)",
			  DG_TEXT(":ip", r->ip), DG_INT(":port", r->port), DG_INT(":fid", r->fid)),
	       "claiming refusals");
	target_end(x, t);
	refusal_traffic(x, r, t->quoted_app, t->flow_rx, t->flow_tx);
	refusal_alternatives(x, r, t, ans);
	r->forged = forged_errors(r);
	r->hostile = r->cls == APP_HOSTILE;
	r->rate_limited = rate_limited(r);
	const char *label = refusal_label(r);
	int alternatives = refusal_secondary(x, r, label);
	struct verdict v = {
	    .label = label,
	    .confidence = refusal_confidence(r, label, alternatives),
	    .server_port = r->port,
	    .requests = r->rx,
	    .replies = r->tx,
	    .related = r->alt_port[0]	? r->alt_port
		       : r->alt_host[0] ? r->alt_host
					: NULL,
	};
	if (strcmp(label, "service-restarted") == 0) {
		v.outage = true;
		v.outage_start_ns = r->before ? r->before : r->t_first;
		v.outage_end_ns = r->after;
	} else if (strcmp(label, "service-down") == 0 && r->before) {
		v.outage = true;
		v.outage_start_ns = r->before;
	}
	dg_conclude(x, r->fid, &v);
	dg_refusal_evidence(x, r, label);
	dg_summary_end(x, &t->sum, r->fid);
}

/* A new client of the target in rt_client. */
static void add_client(struct dg *x, sqlite3_stmt *ins, const struct target *t)
{
	if (t->ip.null || t->src.null)
		return;
	sqlite3_bind_text(ins, 1, t->ip.p, (int)t->ip.len, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, t->r.port);
	sqlite3_bind_text(ins, 3, t->src.p, (int)t->src.len, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE)
		dg_fail(x, "listing clients");
	sqlite3_reset(ins);
}

/* Streams the targets' events (TARGET_EVENTS_SQL), concluding each target when its rows end. */
static void refusal_stream(struct dg *x, struct spans *s, sqlite3_stmt *ins)
{
	struct target t = {.reporters.max_items = TARGET_REPORTERS_MAX};
	struct answers ans = {0};
	int asked = 0; /* targets whose clients another server of the port may have answered */
	sqlite3_stmt *st = dg_statement(x, TARGET_EVENTS_SQL);
	bool open = false;
	int rc = SQLITE_DONE;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!open || !dg_kept_same(&t.ip, st, TE_DST) ||
		    sqlite3_column_int64(st, TE_DPORT) != t.r.port) {
			if (open)
				refusal_one(x, &t, &ans);
			if (x->failed || !target_start(&t, st))
				break;
			open = true;
			/* whether another server of the port answered anyone: only then is there a
			 * wrong host to look for among the target's clients (rt_client) */
			t.r.others_answer =
			    dg_int(x,
				   dg_prepare(x,
					      "SELECT EXISTS (SELECT 1 FROM epg WHERE port = :port"
					      " AND ip != :ip AND tx_packets > 0)",
					      DG_TEXT(":ip", t.ip.p), DG_INT(":port", t.r.port)),
				   0) != 0;
			if (t.r.others_answer && ++asked > ANSWERS_AFTER && !ans.loaded)
				(void)answers_load(x, &ans);
		}
		size_t clients = (size_t)t.r.n_clients;
		if (!target_row(&t, st, s)) {
			dg_out_of_memory(x);
			break;
		}
		if ((size_t)t.r.n_clients != clients && t.r.others_answer) {
			if (!ans.usable)
				add_client(x, ins, &t);
			else if (!answers_add(&t, &ans)) {
				dg_out_of_memory(x);
				break;
			}
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading refusals");
	else if (open && !x->failed && rc == SQLITE_DONE)
		refusal_one(x, &t, &ans);
	dg_done(x, st);
	free(t.ip.p), free(t.src.p);
	tally_free(&t.reporters), tally_free(&t.ttls), tally_free(&t.alt);
	free(t.alt_n);
	answers_free(&ans);
	dg_summary_free(&t.sum);
}

void dg_refusals(struct dg *x)
{
	dg_summarise_claimed(x);
	if (x->failed)
		return;
	/* No rule after this one looks up events by finding: the index would only slow the
	 * claim of every remaining event below. */
	if (db_exec(x->db, "DROP INDEX IF EXISTS temp.pu_fid;", x->errbuf) < 0 ||
	    db_exec(x->db, TARGET_TABLES_SQL, x->errbuf) < 0) {
		x->failed = true;
		return;
	}
	struct spans s = {0};
	sqlite3_stmt *ins = NULL;
	if (spans_load(x, &s) &&
	    sqlite3_prepare_v2(x->db,
			       "INSERT OR IGNORE INTO rt_client (dst, dport, src)"
			       " VALUES (?1, ?2, ?3)",
			       -1, &ins, NULL) != SQLITE_OK)
		dg_fail(x, "preparing");
	if (!x->failed)
		refusal_stream(x, &s, ins);
	sqlite3_finalize(ins);
	spans_free(&s);
	if (!x->failed && db_exec(x->db, TARGETS_CLAIM_SQL, x->errbuf) < 0)
		x->failed = true;
	x->n_findings = dg_int(x, dg_statement(x, "SELECT COUNT(*) FROM findings"), 0);
}
