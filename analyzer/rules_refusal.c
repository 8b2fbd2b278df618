/* rules_refusal.c - refused requests: datagrams to ip:port answered with port unreachable.
 * One finding per ip:port; the labels are tried so that a benign or hostile reading that
 * fits wins over an outage that does not (SPEC §6): firewall-reject (another device
 * answers), stream-ended, unsolicited, firewall-reject (ip:port answers other clients in
 * between), intermittent, service-restarted, then wrong-port, wrong-host, service-down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"

/* The facts of every target still unclaimed, one pass each over the events (never one query
 * per finding): counts and times (TARGET_COUNTS_SQL), then the most frequent foreign
 * reporter, the host's own error TTL, the application its quotes name, the captures' span,
 * the conversations' datagrams, and the clients (for wrong-host). */
static const char TARGET_COUNTS_SQL[] =
    "CREATE TEMP TABLE rt AS SELECT dst, dport, COUNT(*) AS errors, SUM(reporter = dst) AS self,"
    " MIN(ts_ns) AS t0, MAX(ts_ns) AS t1, MAX(quote_len) AS qlen, MAX(quote_ip_len) AS qiplen,"
    " MAX(family = 'icmp6') AS v6, COUNT(DISTINCT src) AS clients, SUM(orig_seen) AS seen,"
    " SUM(coalesce(rev_before, 0) > 0) AS two_way,"
    " SUM(s2c_last_ns IS NULL OR s2c_last_ns <= ts_ns) AS silent,"
    " SUM(coalesce(s2c_packets, 0)) AS talked, MAX(coalesce(c2s_packets, 1)) AS shots,"
    " SUM(sender_peers >= :p2p_min_peers) AS p2p, MAX(sender_peers) AS peers"
    " FROM pu NOT INDEXED WHERE +fid IS NULL GROUP BY dst, dport";

static const char TARGET_FACTS_SQL[] =
    "DROP TABLE IF EXISTS temp.rt_rep;"
    "CREATE TEMP TABLE rt_rep AS SELECT dst, dport, reporter FROM (SELECT dst, dport, reporter,"
    " row_number() OVER (PARTITION BY dst, dport ORDER BY COUNT(*) DESC, reporter) AS k"
    " FROM pu NOT INDEXED WHERE +fid IS NULL AND reporter != dst GROUP BY dst, dport, reporter)"
    " WHERE k = 1;"
    "DROP TABLE IF EXISTS temp.rt_ttl;"
    "CREATE TEMP TABLE rt_ttl AS SELECT dst, dport, ttl FROM (SELECT dst, dport, ttl,"
    " row_number() OVER (PARTITION BY dst, dport ORDER BY COUNT(*) DESC, ttl) AS k"
    " FROM pu NOT INDEXED WHERE +fid IS NULL AND reporter = dst GROUP BY dst, dport, ttl)"
    " WHERE k = 1;"
    "DROP TABLE IF EXISTS temp.rt_app;"
    "CREATE TEMP TABLE rt_app AS SELECT dst, dport, app FROM (SELECT dst, dport, app,"
    " row_number() OVER (PARTITION BY dst, dport ORDER BY COUNT(*) DESC, app) AS k"
    " FROM pu NOT INDEXED WHERE +fid IS NULL AND app IS NOT NULL GROUP BY dst, dport, app)"
    " WHERE k = 1;"
    "DROP TABLE IF EXISTS temp.rt_span;"
    "CREATE TEMP TABLE rt_span AS SELECT t.dst, t.dport, SUM(c.last_ns - c.first_ns) AS span"
    " FROM (SELECT DISTINCT dst, dport, capture_id FROM pu NOT INDEXED WHERE +fid IS NULL) t"
    " JOIN captures c ON c.id = t.capture_id GROUP BY t.dst, t.dport;"
    "DROP TABLE IF EXISTS temp.rt_flow;"
    "CREATE TEMP TABLE rt_flow AS SELECT t.dst, t.dport, coalesce(SUM(f.c2s_packets), 0) AS c2s,"
    " coalesce(SUM(f.s2c_packets), 0) AS s2c FROM (SELECT DISTINCT dst, dport, flow_id FROM pu"
    " WHERE +fid IS NULL AND flow_id IS NOT NULL) t JOIN flows f ON f.id = t.flow_id"
    " GROUP BY t.dst, t.dport;"
    "DROP TABLE IF EXISTS temp.rt_client;"
    "CREATE TEMP TABLE rt_client (dst, dport, src, PRIMARY KEY (dst, dport, src)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO rt_client SELECT dst, dport, src FROM pu NOT INDEXED"
    " WHERE +fid IS NULL;"
    "DROP TABLE IF EXISTS temp.rt_fid;"
    "CREATE TEMP TABLE rt_fid (dst, dport, fid, PRIMARY KEY (dst, dport)) WITHOUT ROWID;";

static const char TARGET_ROWS_SQL[] =
    "SELECT r.dst, r.dport, r.errors, r.self, r.t0, r.t1, r.qlen, r.qiplen, r.v6, r.clients,"
    " r.seen, r.two_way, r.silent, r.talked, r.shots, r.p2p, r.peers,"
    " coalesce(t.ttl, -1), rep.reporter, a.app, coalesce(s.span, 0), f.c2s, f.s2c"
    " FROM rt r LEFT JOIN rt_rep rep USING (dst, dport) LEFT JOIN rt_ttl t USING (dst, dport)"
    " LEFT JOIN rt_app a USING (dst, dport) LEFT JOIN rt_span s USING (dst, dport)"
    " LEFT JOIN rt_flow f USING (dst, dport) ORDER BY r.dst, r.dport";

/* Every event of a target becomes its finding's, in one pass once all targets have one. */
static const char TARGETS_CLAIM_SQL[] =
    "UPDATE pu SET fid = m.fid FROM rt_fid m WHERE +pu.fid IS NULL AND m.dst = pu.dst"
    " AND m.dport = pu.dport;"
    "DROP TABLE temp.rt; DROP TABLE temp.rt_rep; DROP TABLE temp.rt_ttl; DROP TABLE temp.rt_app;"
    "DROP TABLE temp.rt_span; DROP TABLE temp.rt_flow; DROP TABLE temp.rt_client;"
    "DROP TABLE temp.rt_fid;";

static void column_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

/* The counts of one row of TARGET_ROWS_SQL; app and conversation counts are the quoted
 * fallbacks refusal_traffic() takes when the endpoint table has none. */
static void refusal_errors(struct dg *x, sqlite3_stmt *row, struct refusal *r, char *quoted_app,
			   size_t app_len, int64_t *flow_rx, int64_t *flow_tx)
{
	int64_t v6 = 0,
		*out[] = {&r->errors,	    &r->self,	&r->t_first,   &r->t_last, &r->quote_len,
			  &r->quote_ip_len, &v6,	&r->n_clients, &r->seen,   &r->two_way,
			  &r->silent_after, &r->talked, &r->max_shots, &r->p2p,	   &r->peers,
			  &r->icmp_ttl};
	for (int i = 0; i < (int)(sizeof out / sizeof out[0]); i++)
		*out[i] = sqlite3_column_int64(row, i + 2);
	r->v6 = v6 != 0;
	r->other = r->errors - r->self;
	column_text(row, 18, r->reporter, sizeof r->reporter);
	column_text(row, 19, quoted_app, app_len);
	r->span_ns = sqlite3_column_int64(row, 20);
	*flow_rx = sqlite3_column_int64(row, 21);
	*flow_tx = sqlite3_column_int64(row, 22);
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
static void refusal_alternatives(struct dg *x, struct refusal *r)
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
	if (!r->configured)
		return;
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

static void refusal_one(struct dg *x, sqlite3_stmt *row)
{
	char ip[64], quoted_app[24];
	int64_t flow_rx, flow_tx;
	column_text(row, 0, ip, sizeof ip);
	struct refusal r = {.ip = ip, .port = sqlite3_column_int64(row, 1)};
	fmt_endpoint(r.ip, r.port, r.ep, sizeof r.ep);
	r.fid = dg_new_finding(x, "service-down", r.ip, r.port, NULL);
	dg_run(x,
	       dg_prepare(x, "INSERT INTO rt_fid (dst, dport, fid) VALUES (:ip, :port, :fid)",
			  DG_TEXT(":ip", r.ip), DG_INT(":port", r.port), DG_INT(":fid", r.fid)),
	       "claiming refusals");
	refusal_errors(x, row, &r, quoted_app, sizeof quoted_app, &flow_rx, &flow_tx);
	refusal_traffic(x, &r, quoted_app, flow_rx, flow_tx);
	refusal_alternatives(x, &r);
	r.forged = forged_errors(&r);
	r.hostile = r.cls == APP_HOSTILE;
	r.rate_limited = rate_limited(&r);
	const char *label = refusal_label(&r);
	int alternatives = refusal_secondary(x, &r, label);
	struct verdict v = {
	    .label = label,
	    .confidence = refusal_confidence(&r, label, alternatives),
	    .server_port = r.port,
	    .requests = r.rx,
	    .replies = r.tx,
	    .related = r.alt_port[0]   ? r.alt_port
		       : r.alt_host[0] ? r.alt_host
				       : NULL,
	};
	if (strcmp(label, "service-restarted") == 0) {
		v.outage = true;
		v.outage_start_ns = r.before ? r.before : r.t_first;
		v.outage_end_ns = r.after;
	} else if (strcmp(label, "service-down") == 0 && r.before) {
		v.outage = true;
		v.outage_start_ns = r.before;
	}
	dg_conclude(x, r.fid, &v);
	dg_refusal_evidence(x, &r, label);
}

void dg_refusals(struct dg *x)
{
	if (x->failed)
		return;
	/* No rule after this one looks up events by finding: the index would only slow the
	 * claim of every remaining event below. */
	if (db_exec(x->db, "DROP INDEX IF EXISTS temp.pu_fid; DROP TABLE IF EXISTS temp.rt",
		    x->errbuf) < 0) {
		x->failed = true;
		return;
	}
	dg_run(x, dg_prepare(x, TARGET_COUNTS_SQL, DG_INT(":p2p_min_peers", P2P_MIN_PEERS)),
	       "counting refusals");
	if (!x->failed && db_exec(x->db, TARGET_FACTS_SQL, x->errbuf) < 0)
		x->failed = true;
	if (x->failed)
		return;
	/* Read while findings are written: the rows come from temporary tables nothing
	 * writes to until the claim. */
	sqlite3_stmt *row = dg_statement(x, TARGET_ROWS_SQL);
	int rc = SQLITE_DONE;
	while (row && !x->failed && (rc = sqlite3_step(row)) == SQLITE_ROW)
		refusal_one(x, row);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "reading refusals");
	dg_done(x, row);
	if (!x->failed && db_exec(x->db, TARGETS_CLAIM_SQL, x->errbuf) < 0)
		x->failed = true;
	x->n_findings = dg_int(x, dg_statement(x, "SELECT COUNT(*) FROM findings"), 0);
}
