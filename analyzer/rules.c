/* rules.c - the diagnosis rules, applied in order of precedence: traceroute, udp-scan,
 * late-reply, then refusals (firewall-reject, service-restarted, wrong-port, wrong-host,
 * service-down). Each rule claims the events it explains, so no event counts twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"

/* A (text, text, int) key read from a grouping query, kept so the query can end first. */
struct key {
	char a[64], b[64];
	int64_t n;
};

static struct key *read_keys(struct dx *x, sqlite3_stmt *st, size_t *n_out)
{
	struct key *k = NULL;
	size_t n = 0, cap = 0;
	int rc;
	*n_out = 0;
	if (!st)
		return NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct key *nk = realloc(k, cap * sizeof *nk);
			if (!nk)
				break;
			k = nk;
		}
		const unsigned char *a = sqlite3_column_text(st, 0), *b = sqlite3_column_text(st, 1);
		snprintf(k[n].a, sizeof k[n].a, "%s", a ? (const char *)a : "");
		snprintf(k[n].b, sizeof k[n].b, "%s", b ? (const char *)b : "");
		k[n].n = sqlite3_column_int64(st, 2);
		n++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dx_fail(x, "grouping events");
	sqlite3_finalize(st);
	*n_out = n;
	return k;
}

/* ---- traceroute: probes to 33434+ answered by time exceeded from hops, and port
 * unreachable from the target. One finding per (source, target). ---- */

static void traceroute_one(struct dx *x, const struct key *k)
{
	int64_t te = dx_int(x, dx_prepare(x,
		"SELECT COUNT(*) FROM te WHERE src = ?1 AND dst = ?2 AND dport BETWEEN ?3 AND ?4",
		"ttii", k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST), 0);
	int64_t min_qttl = dx_int(x, dx_prepare(x,
		"SELECT MIN(quote_ttl) FROM pu WHERE fid IS NULL AND src = ?1 AND dst = ?2"
		" AND dport BETWEEN ?3 AND ?4", "ttii", k->a, k->b,
		(int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST), 255);
	/* Rising TTL shows as hops answering (time exceeded) or as probes that reach the
	 * target with almost no TTL left; several ports in the window either way. */
	if (te == 0 && (k->n < 2 || min_qttl > 2))
		return;
	int64_t fid = dx_new_finding(x, "traceroute", k->b, 0, k->a);
	dx_run(x, dx_prepare(x, "UPDATE pu SET fid = ?1 WHERE fid IS NULL AND src = ?2 AND dst = ?3"
			     " AND dport BETWEEN ?4 AND ?5", "ittii", fid, k->a, k->b,
			     (int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST),
	       "claiming traceroute events");
	int64_t hops = dx_int(x, dx_prepare(x, "SELECT COUNT(DISTINCT reporter) FROM te WHERE"
					    " src = ?1 AND dst = ?2", "tt", k->a, k->b), 0);
	/* The probed ports: refused by the target, expired on the way, or just seen sent. */
	static const char PROBED[] =
		"SELECT dport AS p FROM pu WHERE fid = ?1 UNION"
		" SELECT dport FROM te WHERE src = ?2 AND dst = ?3 AND dport BETWEEN ?4 AND ?5 UNION"
		" SELECT port FROM endpoint_clients WHERE ip = ?3 AND client_ip = ?2"
		" AND port BETWEEN ?4 AND ?5";
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM (%s)", PROBED);
	int64_t ports = dx_int(x, dx_prepare(x, sql, "ittii", fid, k->a, k->b,
		(int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST), 1);
	snprintf(sql, sizeof sql, "SELECT MIN(p) FROM (%s)", PROBED);
	int64_t low = dx_int(x, dx_prepare(x, sql, "ittii", fid, k->a, k->b,
		(int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST), 0);
	int64_t probes = dx_int(x, dx_prepare(x,
		"SELECT SUM(rx_packets) FROM endpoints e WHERE ip = ?1 AND port BETWEEN ?3 AND ?4"
		" AND EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.ip = e.ip AND c.port = e.port"
		" AND c.client_ip = ?2)", "ttii", k->b, k->a, (int64_t)TRACEROUTE_PORT_FIRST,
		(int64_t)TRACEROUTE_PORT_LAST), 0);
	dx_set(x, fid, "server_port", NULL, low);
	dx_set(x, fid, "ports", NULL, ports);
	dx_set(x, fid, "severity", NULL, 10);
	dx_set(x, fid, "confidence", te ? "high" : "medium", 0);
	dx_set(x, fid, "requests", NULL, probes > ports ? probes : ports);
	dx_evidence(x, fid, "%s probed %lld UDP port%s of %s from %lld upward, one port per probe,"
		    " as traceroute does.", k->a, (long long)ports, ports == 1 ? "" : "s", k->b,
		    (long long)low);
	if (te)
		dx_evidence(x, fid, "%lld probe%s expired on the way (ICMP time exceeded from %lld"
			    " hop%s): the TTL was rising.", (long long)te, te == 1 ? "" : "s",
			    (long long)hops, hops == 1 ? "" : "s");
	else
		dx_evidence(x, fid, "The probes reached %s with a TTL of %lld left: sent with a"
			    " small, rising TTL.", k->b, (long long)min_qttl);
	dx_evidence(x, fid, "%s answered the probes that reached it with port unreachable, which"
		    " is how traceroute knows it has arrived: expected, nothing to fix.", k->b);
}

void dx_traceroutes(struct dx *x)
{
	size_t n;
	struct key *k = read_keys(x, dx_prepare(x,
		"SELECT src, dst, COUNT(DISTINCT dport) FROM pu WHERE fid IS NULL AND dport BETWEEN"
		" ?1 AND ?2 AND role IS NOT 'reply' GROUP BY src, dst ORDER BY src, dst", "ii",
		(int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST), &n);
	for (size_t i = 0; i < n && !x->failed; i++)
		traceroute_one(x, &k[i]);
	free(k);
}

/* ---- udp-scan: one source, many ports of one host, in a short time ---- */

static void scan_one(struct dx *x, const struct key *k)
{
	int64_t fid = dx_new_finding(x, "udp-scan", k->b, 0, k->a);
	dx_run(x, dx_prepare(x, "UPDATE pu SET fid = ?1 WHERE fid IS NULL AND src = ?2 AND dst = ?3",
			     "itt", fid, k->a, k->b), "claiming scan events");
	sqlite3_stmt *st = dx_prepare(x, "SELECT MIN(dport), MAX(dport), MIN(ts_ns), MAX(ts_ns),"
				      " COUNT(DISTINCT sport) FROM pu WHERE fid = ?1", "i", fid);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		dx_fail(x, "summarising a scan");
		sqlite3_finalize(st);
		return;
	}
	int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1);
	int64_t t0 = sqlite3_column_int64(st, 2), t1 = sqlite3_column_int64(st, 3);
	int64_t sports = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	/* Every port of the target the source sent to, refused or not (rate-limited errors,
	 * open ports), and the datagrams it sent there. */
	int64_t probes = dx_int(x, dx_prepare(x,
		"SELECT SUM(rx_packets) FROM endpoints e WHERE ip = ?1 AND (port IN (SELECT dport"
		" FROM pu WHERE fid = ?2) OR EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.ip ="
		" e.ip AND c.port = e.port AND c.client_ip = ?3))", "tit", k->b, fid, k->a), 0);
	int64_t probed = dx_int(x, dx_prepare(x,
		"SELECT COUNT(*) FROM (SELECT dport FROM pu WHERE fid = ?2 UNION SELECT port FROM"
		" endpoint_clients WHERE ip = ?1 AND client_ip = ?3)", "tit", k->b, fid, k->a), k->n);
	int64_t open = dx_int(x, dx_prepare(x,
		"SELECT COUNT(DISTINCT port) FROM endpoints WHERE ip = ?1 AND tx_packets > 0 AND"
		" port NOT IN (SELECT dport FROM pu WHERE fid = ?2) AND port IN (SELECT port FROM"
		" endpoint_clients WHERE ip = ?1 AND client_ip = ?3)", "tit", k->b, fid, k->a), 0);
	char span[32];
	fmt_duration(t1 - t0, span, sizeof span);
	dx_set(x, fid, "server_port", NULL, lo);
	dx_set(x, fid, "ports", NULL, probed > k->n ? probed : k->n);
	dx_set(x, fid, "severity", NULL, 40);
	dx_set(x, fid, "requests", NULL, probes > k->n ? probes : k->n);
	dx_set(x, fid, "confidence", t1 - t0 <= SCAN_WINDOW_NS ? "high" : "medium", 0);
	dx_evidence(x, fid, "%s sent UDP datagrams to %lld different closed ports of %s (%lld to %lld)"
		    " in %s, and %s refused each with port unreachable.", k->a, (long long)k->n,
		    k->b, (long long)lo, (long long)hi, span, k->b);
	if (sports == 1)
		dx_evidence(x, fid, "Every probe came from the same source port: a scanner such as"
			    " nmap -sU, not an application.");
	if (open)
		dx_evidence(x, fid, "%lld other port%s of %s answered the same source.",
			    (long long)open, open == 1 ? "" : "s", k->b);
	if (probed > k->n)
		dx_evidence(x, fid, "%lld ports were probed in all (%lld datagrams); the others got"
			    " no error back (ICMP rate limit) or answered.", (long long)probed,
			    (long long)probes);
	else
		dx_evidence(x, fid, "A host answers only so many probes: Linux rate-limits ICMP"
			    " errors, so more ports may have been probed than were refused.");
}

void dx_scans(struct dx *x)
{
	size_t n;
	struct key *k = read_keys(x, dx_prepare(x,
		"SELECT src, dst, COUNT(DISTINCT dport) AS n FROM pu WHERE fid IS NULL AND role IS NOT"
		" 'reply' GROUP BY src, dst HAVING n >= ?1 ORDER BY src, dst", "i",
		(int64_t)SCAN_MIN_PORTS), &n);
	for (size_t i = 0; i < n && !x->failed; i++)
		scan_one(x, &k[i]);
	free(k);
}

/* ---- late-reply: the client refused the server's reply; keyed on the server ---- */

static void late_one(struct dx *x, const struct key *k)
{
	char ep[80];
	fmt_endpoint(k->a, k->n, ep, sizeof ep);
	int64_t fid = dx_new_finding(x, "late-reply", k->a, k->n, NULL);
	dx_run(x, dx_prepare(x, "UPDATE pu SET fid = ?1 WHERE fid IS NULL AND role = 'reply' AND"
			     " src = ?2 AND sport = ?3", "iti", fid, k->a, k->n), "claiming replies");
	/* Lateness: from the first datagram of each refused conversation to the error. */
	sqlite3_stmt *st = dx_prepare(x,
		"SELECT COUNT(*), AVG(p.ts_ns - f.first_ns), MIN(p.ts_ns - f.first_ns),"
		" MAX(p.ts_ns - f.first_ns) FROM pu p JOIN flows f ON f.id = p.flow_id"
		" WHERE p.fid = ?1 AND f.c2s_packets > 0", "i", fid);
	int64_t n_timed = 0, avg = 0, lo = 0, hi = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		n_timed = sqlite3_column_int64(st, 0);
		avg = sqlite3_column_int64(st, 1), lo = sqlite3_column_int64(st, 2);
		hi = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	int64_t errors = dx_int(x, dx_prepare(x, "SELECT COUNT(*) FROM pu WHERE fid = ?1", "i", fid), 0);
	int64_t answered = dx_int(x, dx_prepare(x, "SELECT SUM(tx_packets) FROM endpoints WHERE"
						" ip = ?1 AND port = ?2", "ti", k->a, k->n), 0);
	int64_t asked = dx_int(x, dx_prepare(x, "SELECT SUM(rx_packets) FROM endpoints WHERE"
					     " ip = ?1 AND port = ?2", "ti", k->a, k->n), 0);
	dx_set(x, fid, "requests", NULL, asked);
	dx_set(x, fid, "severity", NULL, 50);
	dx_set(x, fid, "confidence", n_timed ? "high" : "medium", 0);
	dx_set(x, fid, "replies", NULL, answered);
	dx_evidence(x, fid, "%lld repl%s from %s came back after the client had closed its"
		    " socket: the client itself answered with port unreachable.", (long long)errors,
		    errors == 1 ? "y" : "ies", ep);
	if (n_timed) {
		char a[32], b[32], c[32];
		fmt_duration(avg, a, sizeof a);
		fmt_duration(lo, b, sizeof b);
		fmt_duration(hi, c, sizeof c);
		char range[80] = "";
		if (strcmp(b, c) != 0)
			snprintf(range, sizeof range, " (%s to %s)", b, c);
		dx_evidence(x, fid, "The refused replies came %s after the request on average%s;"
			    " the client had given up by then (a glibc resolver waits 5 s per try by"
			    " default).", a, range);
	} else {
		dx_evidence(x, fid, "The requests themselves are not in the capture, so their timing"
			    " cannot be measured here.");
	}
	dx_evidence(x, fid, "The server is slow, not down: %s did answer, too late.", ep);
}

void dx_late_replies(struct dx *x)
{
	size_t n;
	struct key *k = read_keys(x, dx_prepare(x,
		"SELECT src, '', sport FROM pu WHERE fid IS NULL AND role = 'reply'"
		" GROUP BY src, sport ORDER BY src, sport", ""), &n);
	for (size_t i = 0; i < n && !x->failed; i++)
		late_one(x, &k[i]);
	free(k);
}

/* ---- refusals: requests to ip:port answered with port unreachable ---- */

struct refusal {
	const char *ip;
	int64_t port, fid, errors, self, other, icmp_ttl, udp_ttl;
	int64_t rx, tx, before, after, during, unanswered, t_first, t_last, span_ns;
	int64_t quote_len, quote_ip_len;	/* largest quote, and the datagram it came from */
	bool v6;
	char reporter[64], app[16], alt_port[128], alt_host[256];
};

static const char *const FACTS_SQL =
	"SELECT SUM(rx_packets), SUM(tx_packets),"
	" MAX(CASE WHEN last_tx_ns < ?3 THEN last_tx_ns WHEN tx_before_err_ns < ?3"
	"     THEN tx_before_err_ns END),"
	" MIN(CASE WHEN first_tx_ns > ?4 THEN first_tx_ns WHEN tx_after_err_ns > ?4"
	"     THEN tx_after_err_ns END),"
	" SUM(tx_during_err), SUM(rx_unanswered), MAX(app)"
	" FROM endpoints WHERE ip = ?1 AND port = ?2";

static void refusal_facts(struct dx *x, struct refusal *r)
{
	sqlite3_stmt *st = dx_prepare(x, "SELECT COUNT(*), SUM(reporter = dst), MIN(ts_ns),"
				      " MAX(ts_ns), MAX(quote_len), MAX(quote_ip_len), MAX(family = 'icmp6')"
				      " FROM pu WHERE fid = ?1", "i", r->fid);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->errors = sqlite3_column_int64(st, 0), r->self = sqlite3_column_int64(st, 1);
		r->t_first = sqlite3_column_int64(st, 2), r->t_last = sqlite3_column_int64(st, 3);
		r->quote_len = sqlite3_column_int64(st, 4);
		r->quote_ip_len = sqlite3_column_int64(st, 5);
		r->v6 = sqlite3_column_int64(st, 6) != 0;
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
	st = dx_prepare(x, FACTS_SQL, "tiii", r->ip, r->port, r->t_first, r->t_last);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->rx = sqlite3_column_int64(st, 0), r->tx = sqlite3_column_int64(st, 1);
		r->before = sqlite3_column_int64(st, 2), r->after = sqlite3_column_int64(st, 3);
		r->during = sqlite3_column_int64(st, 4), r->unanswered = sqlite3_column_int64(st, 5);
		const unsigned char *app = sqlite3_column_text(st, 6);
		snprintf(r->app, sizeof r->app, "%s", app ? (const char *)app : "");
	}
	sqlite3_finalize(st);
	/* Time covered by the captures that hold these errors (each capture's own span). */
	r->span_ns = dx_int(x, dx_prepare(x, "SELECT SUM(last_ns - first_ns) FROM captures WHERE id IN"
					  " (SELECT capture_id FROM pu WHERE fid = ?1)", "i", r->fid), 0);
}

/* Other ports of the same host answering the same application; other hosts answering the
 * same port to the same clients. Lists like "8053 (12 replies)". */
static void refusal_alternatives(struct dx *x, struct refusal *r)
{
	if (r->app[0])
		dx_text(x, dx_prepare(x,
			"SELECT group_concat(port || ' (' || n || ' datagrams)', ', ') FROM (SELECT port,"
			" SUM(tx_packets) AS n FROM endpoints WHERE ip = ?1 AND port != ?2 AND app = ?3"
			" AND tx_packets > 0 GROUP BY port ORDER BY n DESC, port LIMIT 3)",
			"tit", r->ip, r->port, r->app), r->alt_port, sizeof r->alt_port);
	dx_text(x, dx_prepare(x,
		"SELECT group_concat(ip || ' (' || n || ' datagrams)', ', ') FROM (SELECT e.ip,"
		" SUM(e.tx_packets) AS n FROM endpoints e WHERE e.port = ?2 AND e.ip != ?1 AND"
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

/* The rule, in order of precedence; also sets the secondary labels that hold too. */
static const char *refusal_label(struct dx *x, const struct refusal *r)
{
	bool forged_ttl = forged_errors(r);
	bool answered = r->tx > 0;
	const char *label;
	if (r->other > r->self || forged_ttl)
		label = "firewall-reject";
	else if (answered)
		label = "service-restarted";
	else if (r->alt_port[0])
		label = "wrong-port";
	else if (r->alt_host[0])
		label = "wrong-host";
	else
		label = "service-down";
	if (r->alt_host[0] && strcmp(label, "wrong-host") != 0)
		dx_add_secondary(x, r->fid, "wrong-host");
	if (r->alt_port[0] && strcmp(label, "wrong-port") != 0)
		dx_add_secondary(x, r->fid, "wrong-port");
	if (r->unanswered >= 2 * r->errors && r->unanswered - r->errors >= 5)
		dx_add_secondary(x, r->fid, "rate-limited");
	return label;
}

/* How an application name reads in a sentence ("dns" -> "DNS"). */
static const char *app_title(const char *app)
{
	static const char *const T[][2] = { { "dns", "DNS" }, { "ntp", "NTP" }, { "snmp", "SNMP" },
					    { "syslog", "syslog" } };
	for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
		if (strcmp(app, T[i][0]) == 0)
			return T[i][1];
	return app[0] ? app : "the same protocol";
}

static void refusal_evidence(struct dx *x, const struct refusal *r, const char *label)
{
	char ep[80];
	fmt_endpoint(r->ip, r->port, ep, sizeof ep);
	char t0[32], t1[32], span[32], a[32], b[32];
	fmt_clock(r->t_first, t0, sizeof t0);
	fmt_clock(r->t_last, t1, sizeof t1);
	fmt_duration(r->span_ns, span, sizeof span);
	int64_t n_clients = dx_int(x, dx_prepare(x, "SELECT COUNT(DISTINCT src) FROM pu WHERE fid = ?1",
						 "i", r->fid), 0);
	if (r->self)
		dx_evidence(x, r->fid, "%lld request%s from %lld client%s between %s and %s %s refused"
			    " by %s itself (%s%s%lld%s).", (long long)r->errors,
			    r->errors == 1 ? "" : "s", (long long)n_clients, n_clients == 1 ? "" : "s",
			    t0, t1, r->errors == 1 ? "was" : "were", r->ip,
			    r->v6 ? "ICMPv6 port unreachable" : "ICMP port unreachable",
			    r->icmp_ttl >= 0 ? (r->v6 ? ", hop limit " : ", TTL ") : "", (long long)(r->icmp_ttl >= 0 ? r->icmp_ttl : 0),
			    r->icmp_ttl >= 0 ? (initial_ttl((int)r->icmp_ttl) == 255 ? ": sent with 255, as routers do"
					      : ": the host, not a router") : "");
	if (r->other)
		dx_evidence(x, r->fid, "%lld error%s about %s came from %s, not from %s: a router or"
			    " firewall on the path rejects the traffic (an iptables or nftables REJECT"
			    " rule answers with port unreachable by default).", (long long)r->other,
			    r->other == 1 ? "" : "s", ep, r->reporter, r->ip);
	if (strcmp(label, "firewall-reject") == 0 && r->self && r->udp_ttl >= 0)
		dx_evidence(x, r->fid, "The errors carry TTL %lld (sent with %d) while %s's own datagrams"
			    " arrive with TTL %lld (sent with %d): another device answers in its name.",
			    (long long)r->icmp_ttl, initial_ttl((int)r->icmp_ttl), r->ip,
			    (long long)r->udp_ttl, initial_ttl((int)r->udp_ttl));
	else if (strcmp(label, "firewall-reject") == 0 && r->self)
		dx_evidence(x, r->fid, "The errors start with TTL 255 and quote only %lld bytes, as"
			    " routers and firewalls do; host stacks start at 64 or 128 and Linux quotes up"
			    " to %d bytes: a firewall answers in the name of %s.", (long long)r->quote_len,
			    r->v6 ? 1232 : 548, r->ip);
	if (r->tx == 0)
		dx_evidence(x, r->fid, "No datagram from %s was seen in the %s captured.", ep, span);
	else if (r->before || r->after) {
		fmt_clock(r->before, a, sizeof a);
		fmt_clock(r->after, b, sizeof b);
		if (r->before && r->after)
			dx_evidence(x, r->fid, "%s answered until %s and again from %s: it was down"
				    " in between (%lld datagrams from it in all).", ep,
				    a, b, (long long)r->tx);
		else if (r->before)
			dx_evidence(x, r->fid, "%s answered until %s, then stopped (%lld datagrams"
				    " from it in all).", ep, a, (long long)r->tx);
		else
			dx_evidence(x, r->fid, "%s started answering at %s, after the errors (%lld"
				    " datagrams from it in all).", ep, b, (long long)r->tx);
	} else {
		dx_evidence(x, r->fid, "%s answered %lld datagram%s between the errors: it answers"
			    " some requests and refuses others.", ep,
			    (long long)r->tx, r->tx == 1 ? "" : "s");
	}
	if (r->alt_port[0])
		dx_evidence(x, r->fid, "%s answers %s on %s: %s.", r->ip, app_title(r->app),
			    strchr(r->alt_port, ',') ? "other ports" : "another port", r->alt_port);
	if (r->alt_host[0])
		dx_evidence(x, r->fid, "The same clients get answers on port %lld from %s.",
			    (long long)r->port, r->alt_host);
	if (r->unanswered >= 2 * r->errors && r->unanswered - r->errors >= 5)
		dx_evidence(x, r->fid, "%lld requests went unanswered but only %lld errors came back:"
			    " the sender rate-limits ICMP (Linux: a burst of about 6, then 1 per second,"
			    " net.ipv4.icmp_ratelimit = 1000 ms), so the failure is larger than the"
			    " error count shows.", (long long)r->unanswered, (long long)r->errors);
}

static const struct { const char *label; int severity; } SEVERITY[] = {
	{ "service-down", 90 }, { "firewall-reject", 80 }, { "wrong-port", 75 },
	{ "wrong-host", 70 }, { "service-restarted", 60 },
};

static void refusal_one(struct dx *x, const struct key *k)
{
	struct refusal r = { .ip = k->a, .port = k->n };
	r.fid = dx_new_finding(x, "service-down", k->a, k->n, NULL);
	dx_run(x, dx_prepare(x, "UPDATE pu SET fid = ?1 WHERE fid IS NULL AND dst = ?2 AND dport = ?3",
			     "iti", r.fid, k->a, k->n), "claiming refusals");
	refusal_facts(x, &r);
	refusal_alternatives(x, &r);
	const char *label = refusal_label(x, &r);
	int severity = 50;
	for (size_t i = 0; i < sizeof SEVERITY / sizeof SEVERITY[0]; i++)
		if (strcmp(SEVERITY[i].label, label) == 0)
			severity = SEVERITY[i].severity;
	dx_set(x, r.fid, "diagnosis", label, 0);
	dx_set(x, r.fid, "severity", NULL, severity);
	dx_set(x, r.fid, "requests", NULL, r.rx);
	dx_set(x, r.fid, "replies", NULL, r.tx);
	if (r.alt_port[0] || r.alt_host[0])
		dx_set(x, r.fid, "related", r.alt_port[0] ? r.alt_port : r.alt_host, 0);
	if (strcmp(label, "service-restarted") == 0) {
		if (r.before)
			dx_set(x, r.fid, "outage_start_ns", NULL, r.before);
		if (r.after)
			dx_set(x, r.fid, "outage_end_ns", NULL, r.after);
	}
	/* Confidence: several errors, or one with the request seen, make it high. */
	int64_t seen = dx_int(x, dx_prepare(x, "SELECT SUM(orig_seen) FROM pu WHERE fid = ?1", "i",
					    r.fid), 0);
	dx_set(x, r.fid, "confidence", r.errors >= 3 || seen ? "high" : "medium", 0);
	refusal_evidence(x, &r, label);
}

void dx_refusals(struct dx *x)
{
	size_t n;
	struct key *k = read_keys(x, dx_prepare(x,
		"SELECT dst, '', dport FROM pu WHERE fid IS NULL GROUP BY dst, dport ORDER BY dst, dport",
		""), &n);
	for (size_t i = 0; i < n && !x->failed; i++)
		refusal_one(x, &k[i]);
	x->n_findings = dx_int(x, dx_prepare(x, "SELECT COUNT(*) FROM findings", ""), 0);
	free(k);
}
