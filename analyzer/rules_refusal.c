/* rules_refusal.c - refused requests: datagrams to ip:port answered with port unreachable.
 * One finding per ip:port; the labels are tried so that a benign or hostile reading that
 * fits wins over an outage that does not (SPEC §6): firewall-reject (another device
 * answers), stream-ended, unsolicited, firewall-reject (ip:port answers other clients in
 * between), intermittent, service-restarted, then wrong-port, wrong-host, service-down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "reports/report.h"

static void refusal_errors(struct dx *x, struct refusal *r)
{
	sqlite3_stmt *st = dx_prepare(x,
		"SELECT COUNT(*), SUM(reporter = dst), MIN(ts_ns), MAX(ts_ns), MAX(quote_len),"
		" MAX(quote_ip_len), MAX(family = 'icmp6'), COUNT(DISTINCT src), SUM(orig_seen),"
		" SUM(coalesce(rev_before, 0) > 0), SUM(s2c_last_ns IS NULL OR s2c_last_ns <= ts_ns),"
		" SUM(coalesce(s2c_packets, 0)), MAX(coalesce(c2s_packets, 1)) FROM pu WHERE fid = ?1",
		"i", r->fid);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		int64_t v6 = 0, *out[] = { &r->errors, &r->self, &r->t_first, &r->t_last,
					   &r->quote_len, &r->quote_ip_len, &v6, &r->n_clients,
					   &r->seen, &r->two_way, &r->silent_after, &r->talked,
					   &r->max_shots };
		for (int i = 0; i < (int)(sizeof out / sizeof out[0]); i++)
			*out[i] = sqlite3_column_int64(st, i);
		r->v6 = v6 != 0;
	} else {
		dx_fail(x, "summarising refusals");
	}
	sqlite3_finalize(st);
	r->other = r->errors - r->self;
	dx_text(x, dx_prepare(x, "SELECT reporter FROM pu WHERE fid = ?1 AND reporter != dst"
			      " GROUP BY reporter ORDER BY COUNT(*) DESC, reporter LIMIT 1", "i", r->fid),
		r->reporter, sizeof r->reporter);
	r->icmp_ttl = dx_int(x, dx_prepare(x, "SELECT ttl FROM pu WHERE fid = ?1 AND reporter = dst"
					   " GROUP BY ttl ORDER BY COUNT(*) DESC, ttl LIMIT 1", "i", r->fid), -1);
	r->udp_ttl = dx_int(x, dx_prepare(x, "SELECT ttl FROM host_ttls WHERE ip = ?1 GROUP BY ttl"
					  " ORDER BY SUM(packets) DESC, ttl LIMIT 1", "t", r->ip), -1);
	/* Senders whose socket talks to many peers: peer-to-peer clients. */
	sqlite3_stmt *p = dx_prepare(x, "SELECT SUM(sender_peers >= ?2), MAX(sender_peers) FROM pu"
				     " WHERE fid = ?1", "ii", r->fid, (int64_t)P2P_MIN_PEERS);
	if (p && sqlite3_step(p) == SQLITE_ROW) {
		r->p2p = sqlite3_column_int64(p, 0);
		r->peers = sqlite3_column_int64(p, 1);
	}
	sqlite3_finalize(p);
}

static const char *const FACTS_SQL =
	"SELECT SUM(rx_packets), SUM(tx_packets),"
	" MAX(CASE WHEN last_tx_ns < ?3 THEN last_tx_ns WHEN tx_before_err_ns < ?3"
	"     THEN tx_before_err_ns END),"
	" MIN(CASE WHEN first_tx_ns > ?4 THEN first_tx_ns WHEN tx_after_err_ns > ?4"
	"     THEN tx_after_err_ns END),"
	" SUM(rx_unanswered), MAX(app), SUM(tx_refused_during), SUM(tx_other_during)"
	" FROM epg WHERE ip = ?1 AND port = ?2";

static void refusal_traffic(struct dx *x, struct refusal *r)
{
	sqlite3_stmt *st = dx_prepare(x, FACTS_SQL, "tiii", r->ip, r->port, r->t_first, r->t_last);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->rx = sqlite3_column_int64(st, 0), r->tx = sqlite3_column_int64(st, 1);
		r->before = sqlite3_column_int64(st, 2), r->after = sqlite3_column_int64(st, 3);
		r->unanswered = sqlite3_column_int64(st, 4);
		const unsigned char *app = sqlite3_column_text(st, 5);
		snprintf(r->app, sizeof r->app, "%s", app ? (const char *)app : "");
		r->tx_refused = sqlite3_column_int64(st, 6), r->tx_other = sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	if (!r->rx && !r->tx)
		dx_flow_counts(x, r->fid, &r->rx, &r->tx);
	if (!r->app[0])
		dx_quoted_app(x, r->fid, r->app, sizeof r->app);
	r->cls = dx_app_class(r->app);
	/* A service clients are configured to use: its payload says so, or, with no payload to
	 * read, a well-known port the knowledge base has a service for. */
	r->configured = r->cls == APP_SERVICE ||
			(r->cls == APP_UNKNOWN && r->port < 1024 && kb_service_for_port((uint16_t)r->port));
	/* Time covered by the captures that hold these errors (each capture's own span). */
	r->span_ns = dx_int(x, dx_prepare(x, "SELECT SUM(last_ns - first_ns) FROM captures WHERE id IN"
					  " (SELECT capture_id FROM pu WHERE fid = ?1)", "i", r->fid), 0);
}

/* Other ports of the same host answering the same application; other hosts answering the
 * same port to the same clients (only for services clients are pointed at). */
static void refusal_alternatives(struct dx *x, struct refusal *r)
{
	if (r->app[0])
		dx_text(x, dx_prepare(x,
			"SELECT group_concat(port || ' (' || n || ' datagrams)', ', ') FROM (SELECT port,"
			" SUM(tx_packets) AS n FROM epg WHERE ip = ?1 AND port != ?2 AND app = ?3"
			" AND tx_packets > 0 GROUP BY port ORDER BY n DESC, port LIMIT 3)",
			"tit", r->ip, r->port, r->app), r->alt_port, sizeof r->alt_port);
	if (!r->configured)
		return;
	dx_text(x, dx_prepare(x,
		"SELECT group_concat(ip || ' (' || n || ' datagrams)', ', ') FROM (SELECT e.ip,"
		" SUM(e.tx_packets) AS n FROM epg e WHERE e.port = ?2 AND e.ip != ?1 AND"
		" e.tx_packets > 0 AND EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.ip = e.ip"
		" AND c.port = e.port AND c.client_ip IN (SELECT src FROM pu WHERE fid = ?3))"
		" GROUP BY e.ip ORDER BY n DESC, e.ip LIMIT 3)", "tii", r->ip, r->port, r->fid),
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

static bool rate_limited(const struct refusal *r)
{
	return r->unanswered >= 2 * r->errors && r->unanswered - r->errors >= 5;
}

/* Secondary labels: the readings that also hold. Returns how many are alternatives to the
 * main one (rate-limited is not: it only says the count is low). */
static int refusal_secondary(struct dx *x, const struct refusal *r, const char *label)
{
	int alternatives = 0;
	if (r->alt_host[0] && strcmp(label, "wrong-host") != 0) {
		dx_add_secondary(x, r->fid, "wrong-host");
		alternatives++;
	}
	if (r->alt_port[0] && strcmp(label, "wrong-port") != 0) {
		dx_add_secondary(x, r->fid, "wrong-port");
		alternatives++;
	}
	if (strcmp(label, "service-down") == 0 && !r->talked && !r->configured && !r->two_way) {
		dx_add_secondary(x, r->fid, "unsolicited");
		alternatives++;
	}
	if (rate_limited(r))
		dx_add_secondary(x, r->fid, "rate-limited");
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

static void refusal_one(struct dx *x, const struct key *k)
{
	struct refusal r = { .ip = k->a, .port = k->n };
	fmt_endpoint(k->a, k->n, r.ep, sizeof r.ep);
	r.fid = dx_new_finding(x, "service-down", k->a, k->n, NULL);
	dx_run(x, dx_prepare(x, "UPDATE pu SET fid = ?1 WHERE fid IS NULL AND dst = ?2 AND dport = ?3",
			     "iti", r.fid, k->a, k->n), "claiming refusals");
	refusal_errors(x, &r);
	refusal_traffic(x, &r);
	refusal_alternatives(x, &r);
	r.forged = forged_errors(&r);
	r.hostile = r.cls == APP_HOSTILE;
	const char *label = refusal_label(&r);
	int alternatives = refusal_secondary(x, &r, label);
	dx_set(x, r.fid, "diagnosis", label, 0);
	dx_set(x, r.fid, "severity", NULL, dx_severity(label));
	dx_set(x, r.fid, "requests", NULL, r.rx);
	dx_set(x, r.fid, "replies", NULL, r.tx);
	if (r.alt_port[0] || r.alt_host[0])
		dx_set(x, r.fid, "related", r.alt_port[0] ? r.alt_port : r.alt_host, 0);
	if (strcmp(label, "service-restarted") == 0) {
		dx_set(x, r.fid, "outage_start_ns", NULL, r.before ? r.before : r.t_first);
		dx_set(x, r.fid, "outage_end_ns", NULL, r.after);
	} else if (strcmp(label, "service-down") == 0 && r.before) {
		dx_set(x, r.fid, "outage_start_ns", NULL, r.before);
	}
	dx_set(x, r.fid, "confidence", refusal_confidence(&r, label, alternatives), 0);
	r.rate_limited = rate_limited(&r);
	dx_refusal_evidence(x, &r, label);
}

void dx_refusals(struct dx *x)
{
	size_t n;
	struct key *k = dx_read_keys(x, dx_prepare(x,
		"SELECT dst, '', dport FROM pu WHERE fid IS NULL GROUP BY dst, dport ORDER BY dst, dport",
		""), &n);
	for (size_t i = 0; i < n && !x->failed; i++)
		refusal_one(x, &k[i]);
	x->n_findings = dx_int(x, dx_prepare(x, "SELECT COUNT(*) FROM findings", ""), 0);
	free(k);
}
