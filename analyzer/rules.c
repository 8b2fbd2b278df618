/* rules.c - the traceroute and udp-scan rules, and what every rule shares: grouping keys,
 * application classes, severities. The rules run in order of precedence (diagnose.c);
 * each claims the events it explains, so no event counts twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "dissectors/dissect.h"

void *dg_grow(struct dg *x, void *p, size_t *cap, size_t elem_len)
{
	size_t bigger = *cap ? *cap * 2 : 32;
	void *grown = realloc(p, bigger * elem_len);
	if (!grown) {
		free(p);
		dg_out_of_memory(x);
		return NULL;
	}
	*cap = bigger;
	return grown;
}

bool dg_add_key(struct dg *x, struct dg_keys *ks, const char *a, const char *b, int64_t n)
{
	if (ks->n == ks->cap && !(ks->k = dg_grow(x, ks->k, &ks->cap, sizeof *ks->k)))
		return false;
	struct key *k = &ks->k[ks->n++];
	snprintf(k->a, sizeof k->a, "%s", a ? a : "");
	snprintf(k->b, sizeof k->b, "%s", b ? b : "");
	k->n = n;
	return true;
}

void dg_run_keys(struct dg *x, struct dg_keys *ks, void (*fn)(struct dg *x, const struct key *k))
{
	if (ks->n && !x->failed)
		dg_need_indexes(x);
	for (size_t i = 0; i < ks->n && !x->failed; i++)
		fn(x, &ks->k[i]);
	free(ks->k);
	*ks = (struct dg_keys){0};
}

/* Reads every key of grouping query st into ks (then gives st back); a failure fails x. */
static void read_keys(struct dg *x, sqlite3_stmt *st, struct dg_keys *ks)
{
	int rc = SQLITE_DONE;
	while (st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!dg_add_key(x, ks, (const char *)sqlite3_column_text(st, 0),
				(const char *)sqlite3_column_text(st, 1),
				sqlite3_column_int64(st, 2)))
			break;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "grouping events");
	dg_done(x, st);
}

void dg_each_key(struct dg *x, sqlite3_stmt *st, void (*fn)(struct dg *x, const struct key *k))
{
	struct dg_keys ks = {0};
	read_keys(x, st, &ks);
	dg_run_keys(x, &ks, fn);
}

/* ---- traceroute: probes to 33434+ answered by time exceeded from hops, and port
 * unreachable from the target. One finding per (source, target). ---- */

/* The parameters of a traceroute's statements: its source, target and port window. */
#define TRACEROUTE_ARGS(k)                                                                         \
	DG_TEXT(":src", (k)->a), DG_TEXT(":dst", (k)->b), DG_INT(":lo", TRACEROUTE_PORT_FIRST),    \
	    DG_INT(":hi", TRACEROUTE_PORT_LAST)

/* The probed ports: refused by the target, expired on the way, or just seen sent. */
#define TRACEROUTE_PROBED                                                                          \
	"SELECT dport AS p FROM pu WHERE fid = :fid"                                               \
	" UNION SELECT dport FROM te WHERE src = :src AND dst = :dst"                              \
	" AND dport BETWEEN :lo AND :hi"                                                           \
	" UNION SELECT port FROM ecl WHERE ip = :dst AND client_ip = :src"                         \
	" AND port BETWEEN :lo AND :hi"

static void traceroute_one(struct dg *x, const struct key *k)
{
	dg_need_trace_index(x);
	int64_t te = dg_int(x,
			    dg_prepare(x,
				       "SELECT COUNT(*) FROM te WHERE src = :src AND dst = :dst"
				       " AND dport BETWEEN :lo AND :hi",
				       TRACEROUTE_ARGS(k)),
			    0);
	int64_t min_qttl =
	    dg_int(x,
		   dg_prepare(x,
			      "SELECT MIN(quote_ttl) FROM pu WHERE +fid IS NULL"
			      " AND src = :src AND dst = :dst AND " TRACEROUTE_WINDOW,
			      DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
		   255);
	/* Rising TTL shows as hops answering (time exceeded) or as probes that reach the
	 * target with almost no TTL left; several ports in the window either way. */
	if (te == 0 && (k->n < 2 || min_qttl > 2))
		return;
	dg_need_client_index(x);
	int64_t fid = dg_new_finding(x, "traceroute", k->b, 0, k->a);
	dg_run(x,
	       dg_prepare(x,
			  "UPDATE pu SET fid = :fid WHERE +fid IS NULL AND src = :src"
			  " AND dst = :dst AND " TRACEROUTE_WINDOW,
			  DG_INT(":fid", fid), DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
	       "claiming traceroute events");
	int64_t hops = dg_int(x,
			      dg_prepare(x,
					 "SELECT COUNT(DISTINCT reporter) FROM te"
					 " WHERE src = :src AND dst = :dst",
					 DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
			      0);
	int64_t ports = dg_int(x,
			       dg_prepare(x, "SELECT COUNT(*) FROM (" TRACEROUTE_PROBED ")",
					  DG_INT(":fid", fid), TRACEROUTE_ARGS(k)),
			       1);
	int64_t low = dg_int(x,
			     dg_prepare(x, "SELECT MIN(p) FROM (" TRACEROUTE_PROBED ")",
					DG_INT(":fid", fid), TRACEROUTE_ARGS(k)),
			     0);
	int64_t probes =
	    dg_int(x,
		   dg_prepare(x,
			      "SELECT SUM(rx_packets) FROM epg WHERE ip = :dst AND port"
			      " IN (SELECT d.port FROM (SELECT DISTINCT port FROM epg"
			      " WHERE ip = :dst AND port BETWEEN :lo AND :hi) d WHERE"
			      " EXISTS (SELECT 1 FROM ecl c WHERE"
			      " c.ip = :dst AND c.port = d.port AND c.client_ip = :src))",
			      TRACEROUTE_ARGS(k)),
		   0);
	dg_conclude(x, fid,
		    &(struct verdict){.label = "traceroute",
				      .confidence = te ? "high" : "medium",
				      .server_port = low,
				      .ports = ports,
				      .requests = probes > ports ? probes : ports});
	dg_evidence(x, fid,
		    "%s probed %lld UDP %s of %s from %lld upward, one port per probe,"
		    " as traceroute does.",
		    k->a, (long long)ports, pm_plural(ports, "port", "ports"), k->b,
		    (long long)low);
	if (te)
		dg_evidence(x, fid,
			    "%lld %s expired on the way (ICMP time exceeded from %lld %s): the TTL"
			    " was rising.",
			    (long long)te, pm_plural(te, "probe", "probes"), (long long)hops,
			    pm_plural(hops, "hop", "hops"));
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
	dg_each_key(
	    x,
	    dg_prepare(x,
		       "SELECT src, dst, COUNT(DISTINCT dport) FROM pu NOT INDEXED"
		       " WHERE +fid IS NULL AND dport BETWEEN :lo AND :hi AND role IS NOT 'reply'"
		       " GROUP BY src, dst ORDER BY src, dst",
		       DG_INT(":lo", TRACEROUTE_PORT_FIRST), DG_INT(":hi", TRACEROUTE_PORT_LAST)),
	    traceroute_one);
}

/* ---- udp-scan: one source, many ports of one host, in a short time ---- */

/* Every port of the target :dst the source :src sent to, refused (the events :refused
 * selects) or not: a host answers only so many probes (Linux: a burst of about 6, then 1
 * per second), so refusals undercount a scan. */
#define SCAN_PROBED(refused)                                                                       \
	"SELECT COUNT(*) FROM (SELECT dport FROM pu WHERE " refused                                \
	" UNION SELECT port FROM ecl WHERE ip = :dst AND client_ip = :src)"

/* Whether the source of key k probed enough ports of its target to be a scan: k->n refused
 * ports, or as many ports probed in all when fewer were refused. */
static bool scan_probed_enough(struct dg *x, const struct key *k)
{
	if (k->n >= SCAN_MIN_PORTS)
		return true;
	dg_need_pair_index(x);
	dg_need_client_index(x);
	return dg_int(x,
		      dg_prepare(x,
				 SCAN_PROBED("+fid IS NULL AND src = :src AND dst = :dst"
					     " AND role IS NOT 'reply'"),
				 DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
		      0) >= SCAN_MIN_PORTS;
}

/* The facts of scan fid (key k), its events claimed. */
static void scan_conclude(struct dg *x, const struct key *k, int64_t fid)
{
	dg_need_client_index(x);
	sqlite3_stmt *st = dg_prepare(x,
				      "SELECT MIN(dport), MAX(dport), MIN(ts_ns), MAX(ts_ns),"
				      " COUNT(DISTINCT sport) FROM pu WHERE fid = :fid",
				      DG_INT(":fid", fid));
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
		"SELECT SUM(rx_packets) FROM epg e WHERE ip = :dst AND (port IN (SELECT dport"
		" FROM pu WHERE fid = :fid) OR EXISTS (SELECT 1 FROM ecl c"
		" WHERE c.ip = e.ip AND c.port = e.port AND c.client_ip = :src))",
		DG_INT(":fid", fid), DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
	    0);
	int64_t probed = dg_int(x,
				dg_prepare(x, SCAN_PROBED("fid = :fid"), DG_INT(":fid", fid),
					   DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
				k->n);
	int64_t open = dg_int(
	    x,
	    dg_prepare(
		x,
		/* from the ports the source talked to (few), each refused one looked up
		 * in the finding's index entries: not every port of the target in epg,
		 * each against a list of the refused ones made for the statement */
		"SELECT COUNT(DISTINCT e.port) FROM ecl c JOIN epg e"
		" ON e.ip = c.ip AND e.port = c.port WHERE c.ip = :dst AND c.client_ip = :src"
		" AND e.tx_packets > 0 AND NOT EXISTS (SELECT 1 FROM pu WHERE fid = :fid"
		" AND dst = :dst AND dport = e.port)",
		DG_INT(":fid", fid), DG_TEXT(":src", k->a), DG_TEXT(":dst", k->b)),
	    0);
	char span[32];
	fmt_duration(t1 - t0, span, sizeof span);
	dg_conclude(x, fid,
		    &(struct verdict){.label = "udp-scan",
				      .confidence = t1 - t0 <= SCAN_WINDOW_NS ? "high" : "medium",
				      .server_port = lo,
				      .ports = probed > k->n ? probed : k->n,
				      .requests = probes > k->n ? probes : k->n});
	dg_evidence(x, fid,
		    "%s sent UDP datagrams to %lld different closed ports of %s (%lld to %lld)"
		    " in %s, and %s refused each with port unreachable.",
		    k->a, (long long)k->n, k->b, (long long)lo, (long long)hi, span, k->b);
	if (sports == 1)
		dg_evidence(x, fid,
			    "Every probe came from the same source port: a scanner such as"
			    " nmap -sU, not an application.");
	if (open)
		dg_evidence(x, fid, "%lld other %s of %s answered the same source.",
			    (long long)open, pm_plural(open, "port", "ports"), k->b);
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

/* The scans' claims in one pass over pu, from a table of (source, target, finding): a
 * statement per scan found its events through pu_pair, which sorts every event, and walked
 * the index once per scan (four scanners over 50 hosts: 200 walks). No two scans share a
 * (source, target), so claiming them together claims what claiming them in turn did. */
static const char SCAN_CLAIMS_SQL[] =
    "DROP TABLE IF EXISTS temp.scan_claim;"
    "CREATE TEMP TABLE scan_claim (src, dst, fid, PRIMARY KEY (src, dst)) WITHOUT ROWID;";
static const char SCAN_CLAIM_SQL[] =
    "UPDATE pu SET fid = (SELECT s.fid FROM scan_claim s WHERE s.src = pu.src"
    " AND s.dst = pu.dst) WHERE +fid IS NULL AND (src, dst) IN (SELECT src, dst FROM scan_claim);"
    "DROP TABLE temp.scan_claim;";

void dg_scans(struct dg *x)
{
	if (!dg_census_pairs(x->census))
		return;
	struct dg_keys ks = {0};
	sqlite3_stmt *st =
	    dg_statement(x, "SELECT src, dst, COUNT(DISTINCT dport) AS n FROM pu NOT INDEXED"
			    " WHERE +fid IS NULL AND role IS NOT 'reply'"
			    " AND pm_pair_maybe(src, dst) GROUP BY src, dst"
			    " HAVING n >= 3 ORDER BY src, dst");
	read_keys(x, st, &ks);
	int64_t *fids = ks.n && !x->failed ? calloc(ks.n, sizeof *fids) : NULL;
	if (ks.n && !x->failed && !fids)
		dg_out_of_memory(x);
	if (fids) {
		dg_need_indexes(x);
		if (db_exec(x->db, SCAN_CLAIMS_SQL, x->errbuf) < 0)
			x->failed = true;
	}
	/* the findings in key order, as each scan claimed in turn numbered them */
	bool any = false;
	for (size_t i = 0; fids && i < ks.n && !x->failed; i++) {
		if (!scan_probed_enough(x, &ks.k[i]))
			continue;
		fids[i] = dg_new_finding(x, "udp-scan", ks.k[i].b, 0, ks.k[i].a);
		dg_run(x,
		       dg_prepare(
			   x, "INSERT INTO scan_claim (src, dst, fid) VALUES (:src, :dst, :fid)",
			   DG_TEXT(":src", ks.k[i].a), DG_TEXT(":dst", ks.k[i].b),
			   DG_INT(":fid", fids[i])),
		       "listing a scan");
		any = true;
	}
	if (fids && !x->failed &&
	    db_exec(x->db, any ? SCAN_CLAIM_SQL : "DROP TABLE temp.scan_claim;", x->errbuf) < 0)
		x->failed = true;
	for (size_t i = 0; fids && i < ks.n && !x->failed; i++)
		if (fids[i])
			scan_conclude(x, &ks.k[i], fids[i]);
	free(fids);
	free(ks.k);
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
#define SEVERITY_OF(name, severity) {name, severity},
	static const struct {
		const char *label;
		int severity;
	} SEVERITY[] = {DB_LABELS(SEVERITY_OF)};
#undef SEVERITY_OF
	for (size_t i = 0; i < sizeof SEVERITY / sizeof SEVERITY[0]; i++)
		if (strcmp(SEVERITY[i].label, label) == 0)
			return SEVERITY[i].severity;
	return 50;
}
