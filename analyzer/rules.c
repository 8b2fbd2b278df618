/* rules.c - the traceroute and udp-scan rules, and what every rule shares: grouping keys,
 * application classes, severities. The rules run in order of precedence (diagnose.c);
 * each claims the events it explains, so no event counts twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"

struct key *dg_read_keys(struct dg *x, sqlite3_stmt *st, size_t *n_out)
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
		const unsigned char *a = sqlite3_column_text(st, 0),
				    *b = sqlite3_column_text(st, 1);
		snprintf(k[n].a, sizeof k[n].a, "%s", a ? (const char *)a : "");
		snprintf(k[n].b, sizeof k[n].b, "%s", b ? (const char *)b : "");
		k[n].n = sqlite3_column_int64(st, 2);
		n++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "grouping events");
	dg_done(x, st);
	*n_out = n;
	return k;
}

/* ---- traceroute: probes to 33434+ answered by time exceeded from hops, and port
 * unreachable from the target. One finding per (source, target). ---- */

static void traceroute_one(struct dg *x, const struct key *k)
{
	int64_t te = dg_int(
	    x,
	    dg_prepare(
		x,
		"SELECT COUNT(*) FROM te WHERE src = ?1 AND dst = ?2 AND dport BETWEEN ?3 AND ?4",
		"ttii", k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST),
	    0);
	int64_t min_qttl = dg_int(
	    x,
	    dg_prepare(x,
		       "SELECT MIN(quote_ttl) FROM pu WHERE +fid IS NULL AND src = ?1 AND dst = ?2"
		       " AND dport BETWEEN ?3 AND ?4",
		       "ttii", k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST,
		       (int64_t)TRACEROUTE_PORT_LAST),
	    255);
	/* Rising TTL shows as hops answering (time exceeded) or as probes that reach the
	 * target with almost no TTL left; several ports in the window either way. */
	if (te == 0 && (k->n < 2 || min_qttl > 2))
		return;
	int64_t fid = dg_new_finding(x, "traceroute", k->b, 0, k->a);
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE pu SET fid = ?1 WHERE +fid IS NULL AND src = ?2 AND dst = ?3"
			  " AND dport BETWEEN ?4 AND ?5",
			  "ittii", fid, k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST,
			  (int64_t)TRACEROUTE_PORT_LAST),
	       "claiming traceroute events");
	int64_t hops = dg_int(x,
			      dg_prepare(x,
					 "SELECT COUNT(DISTINCT reporter) FROM te WHERE"
					 " src = ?1 AND dst = ?2",
					 "tt", k->a, k->b),
			      0);
	/* The probed ports: refused by the target, expired on the way, or just seen sent. */
	static const char PROBED[] =
	    "SELECT dport AS p FROM pu WHERE fid = ?1 UNION"
	    " SELECT dport FROM te WHERE src = ?2 AND dst = ?3 AND dport BETWEEN ?4 AND ?5 UNION"
	    " SELECT port FROM endpoint_clients WHERE ip = ?3 AND client_ip = ?2"
	    " AND port BETWEEN ?4 AND ?5";
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM (%s)", PROBED);
	int64_t ports =
	    dg_int(x,
		   dg_prepare(x, sql, "ittii", fid, k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST,
			      (int64_t)TRACEROUTE_PORT_LAST),
		   1);
	snprintf(sql, sizeof sql, "SELECT MIN(p) FROM (%s)", PROBED);
	int64_t low =
	    dg_int(x,
		   dg_prepare(x, sql, "ittii", fid, k->a, k->b, (int64_t)TRACEROUTE_PORT_FIRST,
			      (int64_t)TRACEROUTE_PORT_LAST),
		   0);
	int64_t probes = dg_int(
	    x,
	    dg_prepare(x,
		       "SELECT SUM(rx_packets) FROM epg e WHERE ip = ?1 AND port BETWEEN ?3 AND ?4"
		       " AND EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.ip = e.ip AND c.port "
		       "= e.port"
		       " AND c.client_ip = ?2)",
		       "ttii", k->b, k->a, (int64_t)TRACEROUTE_PORT_FIRST,
		       (int64_t)TRACEROUTE_PORT_LAST),
	    0);
	dg_set(x, fid, "server_port", NULL, low);
	dg_set(x, fid, "ports", NULL, ports);
	dg_set(x, fid, "severity", NULL, 10);
	dg_set(x, fid, "confidence", te ? "high" : "medium", 0);
	dg_set(x, fid, "requests", NULL, probes > ports ? probes : ports);
	dg_evidence(x, fid,
		    "%s probed %lld UDP port%s of %s from %lld upward, one port per probe,"
		    " as traceroute does.",
		    k->a, (long long)ports, ports == 1 ? "" : "s", k->b, (long long)low);
	if (te)
		dg_evidence(x, fid,
			    "%lld probe%s expired on the way (ICMP time exceeded from %lld"
			    " hop%s): the TTL was rising.",
			    (long long)te, te == 1 ? "" : "s", (long long)hops,
			    hops == 1 ? "" : "s");
	else
		dg_evidence(x, fid,
			    "The probes reached %s with a TTL of %lld left: sent with a"
			    " small, rising TTL.",
			    k->b, (long long)min_qttl);
	dg_evidence(x, fid,
		    "%s answered the probes that reached it with port unreachable, which"
		    " is how traceroute knows it has arrived: expected, nothing to fix.",
		    k->b);
}

void dg_traceroutes(struct dg *x)
{
	size_t n;
	struct key *k = dg_read_keys(
	    x,
	    dg_prepare(x,
		       "SELECT src, dst, COUNT(DISTINCT dport) FROM pu NOT INDEXED WHERE +fid IS "
		       "NULL AND dport BETWEEN"
		       " ?1 AND ?2 AND role IS NOT 'reply' GROUP BY src, dst ORDER BY src, dst",
		       "ii", (int64_t)TRACEROUTE_PORT_FIRST, (int64_t)TRACEROUTE_PORT_LAST),
	    &n);
	if (n)
		dg_need_indexes(x);
	for (size_t i = 0; i < n && !x->failed; i++)
		traceroute_one(x, &k[i]);
	free(k);
}

/* ---- udp-scan: one source, many ports of one host, in a short time ---- */

static void scan_one(struct dg *x, const struct key *k)
{
	int64_t fid = dg_new_finding(x, "udp-scan", k->b, 0, k->a);
	dg_run(x,
	       dg_prepare(x, "UPDATE pu SET fid = ?1 WHERE +fid IS NULL AND src = ?2 AND dst = ?3",
			  "itt", fid, k->a, k->b),
	       "claiming scan events");
	sqlite3_stmt *st = dg_prepare(x,
				      "SELECT MIN(dport), MAX(dport), MIN(ts_ns), MAX(ts_ns),"
				      " COUNT(DISTINCT sport) FROM pu WHERE fid = ?1",
				      "i", fid);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		dg_fail(x, "summarising a scan");
		dg_done(x, st);
		return;
	}
	int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1);
	int64_t t0 = sqlite3_column_int64(st, 2), t1 = sqlite3_column_int64(st, 3);
	int64_t sports = sqlite3_column_int64(st, 4);
	dg_done(x, st);
	/* Every port of the target the source sent to, refused or not (rate-limited errors,
	 * open ports), and the datagrams it sent there. */
	int64_t probes = dg_int(
	    x,
	    dg_prepare(
		x,
		"SELECT SUM(rx_packets) FROM epg e WHERE ip = ?1 AND (port IN (SELECT dport"
		" FROM pu WHERE fid = ?2) OR EXISTS (SELECT 1 FROM endpoint_clients c WHERE c.ip ="
		" e.ip AND c.port = e.port AND c.client_ip = ?3))",
		"tit", k->b, fid, k->a),
	    0);
	int64_t probed = dg_int(
	    x,
	    dg_prepare(
		x,
		"SELECT COUNT(*) FROM (SELECT dport FROM pu WHERE fid = ?2 UNION SELECT port FROM"
		" endpoint_clients WHERE ip = ?1 AND client_ip = ?3)",
		"tit", k->b, fid, k->a),
	    k->n);
	int64_t open = dg_int(
	    x,
	    dg_prepare(
		x,
		"SELECT COUNT(DISTINCT port) FROM epg WHERE ip = ?1 AND tx_packets > 0 AND"
		" port NOT IN (SELECT dport FROM pu WHERE fid = ?2) AND port IN (SELECT port FROM"
		" endpoint_clients WHERE ip = ?1 AND client_ip = ?3)",
		"tit", k->b, fid, k->a),
	    0);
	char span[32];
	fmt_duration(t1 - t0, span, sizeof span);
	dg_set(x, fid, "server_port", NULL, lo);
	dg_set(x, fid, "ports", NULL, probed > k->n ? probed : k->n);
	dg_set(x, fid, "severity", NULL, 40);
	dg_set(x, fid, "requests", NULL, probes > k->n ? probes : k->n);
	dg_set(x, fid, "confidence", t1 - t0 <= SCAN_WINDOW_NS ? "high" : "medium", 0);
	dg_evidence(x, fid,
		    "%s sent UDP datagrams to %lld different closed ports of %s (%lld to %lld)"
		    " in %s, and %s refused each with port unreachable.",
		    k->a, (long long)k->n, k->b, (long long)lo, (long long)hi, span, k->b);
	if (sports == 1)
		dg_evidence(x, fid,
			    "Every probe came from the same source port: a scanner such as"
			    " nmap -sU, not an application.");
	if (open)
		dg_evidence(x, fid, "%lld other port%s of %s answered the same source.",
			    (long long)open, open == 1 ? "" : "s", k->b);
	if (probed > k->n)
		dg_evidence(x, fid,
			    "%lld ports were probed in all (%lld datagrams); the others got"
			    " no error back (ICMP rate limit) or answered.",
			    (long long)probed, (long long)probes);
	else
		dg_evidence(x, fid,
			    "A host answers only so many probes: Linux rate-limits ICMP"
			    " errors, so more ports may have been probed than were refused.");
}

/* Every port of `dst` that `src` sent to, refused or not: a host answers only so many
 * probes (Linux: a burst of about 6, then 1 per second), so refusals undercount a scan. */
static int64_t scan_probed(struct dg *x, const struct key *k)
{
	return dg_int(
	    x,
	    dg_prepare(
		x,
		"SELECT COUNT(*) FROM (SELECT dport FROM pu WHERE +fid IS NULL AND src = ?1 AND "
		"dst = ?2"
		" AND role IS NOT 'reply' UNION SELECT port FROM endpoint_clients WHERE ip = ?2"
		" AND client_ip = ?1)",
		"tt", k->a, k->b),
	    0);
}

void dg_scans(struct dg *x)
{
	size_t n;
	struct key *k =
	    dg_read_keys(x,
			 dg_prepare(x,
				    "SELECT src, dst, COUNT(DISTINCT dport) AS n FROM pu NOT "
				    "INDEXED WHERE +fid IS NULL AND role IS NOT"
				    " 'reply' GROUP BY src, dst HAVING n >= 3 ORDER BY src, dst",
				    ""),
			 &n);
	if (n)
		dg_need_indexes(x);
	for (size_t i = 0; i < n && !x->failed; i++)
		if (k[i].n >= SCAN_MIN_PORTS || scan_probed(x, &k[i]) >= SCAN_MIN_PORTS)
			scan_one(x, &k[i]);
	free(k);
}

enum app_class dg_app_class(const char *app)
{
	static const struct {
		const char *name;
		enum app_class cls;
	} APPS[] = {
	    {"dns", APP_SERVICE},	{"ntp", APP_SERVICE},
	    {"snmp", APP_SERVICE},	{"syslog", APP_SERVICE},
	    {"tftp", APP_SERVICE},	{"dhcp", APP_SERVICE},
	    {"radius", APP_SERVICE},	{"netbios-ns", APP_SERVICE},
	    {"cldap", APP_SERVICE},	{"ssdp", APP_SERVICE},
	    {"memcached", APP_SERVICE}, {"sip", APP_SERVICE},
	    {"bacnet", APP_SERVICE},	{"ike", APP_STREAM},
	    {"rtp", APP_STREAM},	{"rtcp", APP_STREAM},
	    {"stun", APP_STREAM},	{"quic", APP_STREAM},
	    {"dtls", APP_STREAM},	{"wireguard", APP_STREAM},
	    {"openvpn", APP_STREAM},	{"bittorrent", APP_P2P},
	    {"utp", APP_P2P},		{"gnutella", APP_P2P},
	    {"dhip", APP_SERVICE},	{"esp", APP_STREAM},
	    {"messenger", APP_HOSTILE}, {"ms-sql-m", APP_HOSTILE},
	};
	if (!app || !app[0])
		return APP_UNKNOWN;
	for (size_t i = 0; i < sizeof APPS / sizeof APPS[0]; i++)
		if (strcmp(APPS[i].name, app) == 0)
			return APPS[i].cls;
	return APP_UNKNOWN;
}

int dg_severity(const char *label)
{
	static const struct {
		const char *label;
		int severity;
	} SEVERITY[] = {
	    {"service-down", 90},      {"firewall-reject", 80}, {"wrong-port", 75},
	    {"intermittent", 72},      {"wrong-host", 70},	{"reflection", 65},
	    {"service-restarted", 60}, {"late-reply", 50},	{"udp-scan", 40},
	    {"unsolicited", 30},       {"traceroute", 10},	{"duplicate-reply", 8},
	    {"stream-ended", 5},
	};
	for (size_t i = 0; i < sizeof SEVERITY / sizeof SEVERITY[0]; i++)
		if (strcmp(SEVERITY[i].label, label) == 0)
			return SEVERITY[i].severity;
	return 50;
}
