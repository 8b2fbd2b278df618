/* rules_reply.c - refused replies: the client's port unreachable about the server's datagram.
 * Keyed on the server, whichever reading wins (SPEC §6):
 *  - stream-ended: the tail of a two-way conversation (media, QUIC, VPN, peer-to-peer) whose
 *    client side closed while the server still sent;
 *  - late-reply: the answer came after the client stopped waiting (longer than a client's
 *    timeout after the request, or after the client had asked again);
 *  - duplicate-reply: the answer came quickly, but the client already had one (it asked
 *    several servers at once, or twice) and had closed its socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "dissectors/dissect.h"

struct reply_facts {
	const char *ip;
	int64_t port, fid, errors, measured, late, retried, two_way, clients, high_ports;
	int64_t avg, lo, hi, retry_gap, t0, t1, rx, tx;
	enum app_class cls;
	char app[24], ep[80], parallel[160];
};

/* A refused answer is late when it came a client's timeout after the request, or after the
 * client had repeated the request RETRY_GAP after its first try. */
static void reply_counts(struct dg *x, struct reply_facts *r)
{
	sqlite3_stmt *st = dg_prepare(
	    x,
	    "SELECT COUNT(*), COUNT(other_delay_ns), SUM(other_delay_ns >= :timeout OR retried),"
	    " SUM(retried), SUM(fwd_before >= 3 AND rev_before >= 3), COUNT(DISTINCT dst),"
	    " SUM(dport >= 1024 AND sport >= 1024), AVG(other_delay_ns), MIN(other_delay_ns),"
	    " MAX(other_delay_ns), MAX(other_wait_ns - other_delay_ns), MIN(ts_ns), MAX(ts_ns)"
	    /* retried: the client had repeated the request RETRY_GAP after its first try */
	    " FROM (SELECT *, other_run >= 2 AND other_wait_ns - other_delay_ns >= :retry_gap"
	    " AS retried FROM pu WHERE fid = :fid)",
	    DG_INT(":fid", r->fid), DG_INT(":timeout", CLIENT_TIMEOUT_NS),
	    DG_INT(":retry_gap", RETRY_GAP_NS));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		int64_t *out[] = {&r->errors,	 &r->measured,	 &r->late, &r->retried, &r->two_way,
				  &r->clients,	 &r->high_ports, &r->avg,  &r->lo,	&r->hi,
				  &r->retry_gap, &r->t0,	 &r->t1};
		for (int i = 0; i < (int)(sizeof out / sizeof out[0]); i++)
			*out[i] = sqlite3_column_int64(st, i);
	} else {
		dg_fail(x, "summarising refused replies");
	}
	dg_done(x, st);
	st = dg_prepare(x,
			"SELECT SUM(rx_packets), SUM(tx_packets), MAX(app) FROM epg"
			" WHERE ip = :ip AND port = :port",
			DG_TEXT(":ip", r->ip), DG_INT(":port", r->port));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->rx = sqlite3_column_int64(st, 0), r->tx = sqlite3_column_int64(st, 1);
		const unsigned char *a = sqlite3_column_text(st, 2);
		snprintf(r->app, sizeof r->app, "%s", a ? (const char *)a : "");
	}
	dg_done(x, st);
	if (!r->rx && !r->tx)
		dg_flow_counts(x, r->fid, &r->rx, &r->tx);
	if (!r->app[0]) /* the quotes themselves: "dns A example.com" */
		dg_quoted_app(x, r->fid, r->app, sizeof r->app);
	r->cls = dg_app_class(r->app);
	/* Other servers on the same port that answered the same clients: asked in parallel. */
	dg_need_client_index(x);
	dg_text(x,
		dg_prepare(x,
			   "SELECT group_concat(ip, ', ') FROM (SELECT DISTINCT e.ip FROM"
			   " epg e WHERE e.port = :port AND e.ip != :ip AND e.tx_packets > 0"
			   " AND e.ip IN (SELECT ip FROM ecl WHERE client_ip IN (SELECT dst"
			   " FROM pu WHERE fid = :fid) AND port = :port) ORDER BY e.ip LIMIT 3)",
			   DG_TEXT(":ip", r->ip), DG_INT(":port", r->port), DG_INT(":fid", r->fid)),
		r->parallel, sizeof r->parallel);
}

/* Media, QUIC, VPN and peer-to-peer conversations end this way; request/response services
 * (DNS, NTP, SNMP, ...) answer one question at a time. */
static bool reply_is_stream(const struct dg *x, const struct reply_facts *r)
{
	if (r->cls == APP_STREAM || r->cls == APP_P2P)
		return true;
	if (r->cls != APP_UNKNOWN)
		return false;
	/* Nothing names the application: a conversation both ways, two high ports that are no
	 * registered service (peer to peer, media), or a server that sends unasked. Registered:
	 * a well-known port, or one the knowledge base names below 10000 (above it, its entries
	 * are ranges that media and mosh pick ports from at run time). */
	bool registered = r->port < 1024 || (r->port < 10000 && dg_service_port(x, r->port));
	return 2 * r->two_way >= r->errors || (2 * r->high_ports >= r->errors && !registered) ||
	       (r->measured == 0 && r->rx == 0);
}

static const char *reply_label(struct dg *x, const struct reply_facts *r)
{
	int64_t quick = r->measured - r->late;
	if (reply_is_stream(x, r))
		return "stream-ended";
	/* The other reading holds too when at least a tenth of the measured answers show it
	 * (one answer whose request sat in the previous file of a rotated archive does not). */
	if (r->late > 0 && r->late >= quick) {
		if (quick > 0 && 10 * quick >= r->measured)
			dg_add_secondary(x, r->fid, "duplicate-reply");
		return "late-reply";
	}
	if (quick > 0) {
		if (r->late > 0 && 10 * r->late >= r->measured)
			dg_add_secondary(x, r->fid, "late-reply");
		return "duplicate-reply";
	}
	/* The requests are not in the capture: a late answer and an extra one look alike. */
	dg_add_secondary(x, r->fid, "duplicate-reply");
	return "late-reply";
}

static void delays_text(const struct reply_facts *r, char *buf, size_t len)
{
	char a[32], b[32], c[32];
	fmt_duration(r->avg, a, sizeof a);
	fmt_duration(r->lo, b, sizeof b);
	fmt_duration(r->hi, c, sizeof c);
	if (strcmp(b, c) == 0)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s on average (%s to %s)", a, b, c);
}

static void stream_evidence(struct dg *x, const struct reply_facts *r)
{
	char t0[32], t1[32];
	fmt_clock(r->t0, t0, sizeof t0);
	fmt_clock(r->t1, t1, sizeof t1);
	dg_evidence(x, r->fid,
		    "%lld %s between %s and %s: the last datagrams %s sent to %lld %s"
		    " were refused by the %s itself, which had closed its socket.",
		    (long long)r->errors, pm_plural(r->errors, "error", "errors"), t0, t1, r->ep,
		    (long long)r->clients, pm_plural(r->clients, "client", "clients"),
		    pm_plural(r->clients, "client", "clients"));
	if (r->two_way)
		dg_evidence(x, r->fid,
			    "They end two-way conversations (%lld %s to %s and %lld"
			    " from it in the capture): one side hung up or abandoned the connection"
			    " while the other still sent for a moment.",
			    (long long)r->rx, pm_plural(r->rx, "datagram", "datagrams"), r->ep,
			    (long long)r->tx);
	else if (r->measured == 0)
		dg_evidence(
		    x, r->fid,
		    "The start of these conversations is not in the capture: %s"
		    " still sent to ports that had been closed (QUIC and media retransmit with"
		    " back-off for a while after the other side is gone).",
		    r->ep);
	else
		dg_evidence(x, r->fid,
			    "Both ends use high ports, as peer-to-peer and media sessions"
			    " do: %s answered a peer that had just gone away.",
			    r->ep);
	dg_evidence(x, r->fid, "Benign: the end of a conversation, not a failure. Nothing to fix.");
}

static void late_evidence(struct dg *x, const struct reply_facts *r)
{
	char d[128];
	delays_text(r, d, sizeof d);
	dg_evidence(x, r->fid,
		    "%lld %s: answers from %s came back after the client had stopped"
		    " waiting, and the client itself refused them with port unreachable.",
		    (long long)r->errors, pm_plural(r->errors, "error", "errors"), r->ep);
	if (r->measured)
		dg_evidence(x, r->fid,
			    "The refused answers came %s after the request: longer than"
			    " many clients wait (1 s for Windows, macOS and iOS resolvers and"
			    " net-snmp; glibc waits 5 s per try).",
			    d);
	if (r->retried)
		dg_evidence(x, r->fid,
			    "%lld of them answered a request the client had already sent"
			    " again (up to %.1f s after its first try).",
			    (long long)r->retried, (double)r->retry_gap / 1e9);
	if (!r->measured)
		dg_evidence(x, r->fid,
			    "The requests are not in the capture, so their timing cannot"
			    " be measured: these may also be extra answers to a client that already"
			    " had one (duplicate-reply).");
	else
		dg_evidence(x, r->fid, "The server is slow, not down: %s did answer, too late.",
			    r->ep);
}

static void duplicate_evidence(struct dg *x, const struct reply_facts *r)
{
	char d[128];
	delays_text(r, d, sizeof d);
	dg_evidence(x, r->fid,
		    "%lld %s: answers from %s came back %s after the request and were"
		    " refused by the client itself with port unreachable.",
		    (long long)r->errors, pm_plural(r->errors, "error", "errors"), r->ep, d);
	dg_evidence(x, r->fid,
		    "That is sooner than any client gives up (1 s at the least), and"
		    " the client had not asked again: it already had its answer, from another"
		    " server it asked at the same time or from a copy of the same question, and"
		    " had closed its socket.");
	if (r->parallel[0])
		dg_evidence(x, r->fid, "The same clients also asked %s on port %lld.", r->parallel,
			    (long long)r->port);
	dg_evidence(x, r->fid, "Benign: %s is not slow, and nothing fails. Nothing to fix.", r->ep);
}

static void reply_one(struct dg *x, const struct key *k)
{
	struct reply_facts r = {.ip = k->a, .port = k->n};
	fmt_endpoint(k->a, k->n, r.ep, sizeof r.ep);
	r.fid = dg_new_finding(x, "late-reply", k->a, k->n, NULL);
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE pu SET fid = :fid WHERE +fid IS NULL AND role = 'reply'"
			  " AND src = :ip AND sport = :port",
			  DG_INT(":fid", r.fid), DG_TEXT(":ip", k->a), DG_INT(":port", k->n)),
	       "claiming replies");
	reply_counts(x, &r);
	const char *label = reply_label(x, &r);
	bool all_measured = r.measured == r.errors;
	const char *conf = "medium";
	if (strcmp(label, "stream-ended") == 0)
		conf = r.two_way == r.errors ? "high" : "medium";
	else if (strcmp(label, "late-reply") == 0)
		conf = !r.measured ? "low" : all_measured && r.late == r.errors ? "high" : "medium";
	else
		conf = all_measured && r.late == 0 && r.cls == APP_SERVICE ? "high" : "medium";
	dg_conclude(x, r.fid,
		    &(struct verdict){.label = label,
				      .confidence = conf,
				      .server_port = r.port,
				      .requests = r.rx,
				      .replies = r.tx});
	if (label[0] == 's')
		stream_evidence(x, &r);
	else if (label[0] == 'l')
		late_evidence(x, &r);
	else
		duplicate_evidence(x, &r);
}

void dg_replies(struct dg *x)
{
	dg_each_key(x,
		    dg_statement(x, "SELECT src, '', sport FROM pu NOT INDEXED"
				    " WHERE +fid IS NULL AND role = 'reply'"
				    " GROUP BY src, sport ORDER BY src, sport"),
		    reply_one);
}
