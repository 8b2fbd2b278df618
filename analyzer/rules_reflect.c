/* rules_reflect.c - reflection/amplification DDoS seen from its victim (SPEC §6 `reflection`).
 *
 * Two traces of one attack reach the victim's capture, and both are claimed by one finding
 * per victim:
 *  - the reflected flood: many sources send datagrams FROM one service port (SNMP 161,
 *    NTP 123, BACnet 47808, ...) to closed ports of the victim, which refuses them, though
 *    it never sent them anything;
 *  - the backscatter of the spoofed requests: hosts that got a request forged with the
 *    victim's address, but run nothing on the port, send their port unreachable to the
 *    victim; the victim's capture holds those errors, never the requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "dissectors/dissect.h"

/* Victims refusing a flood from one source port: (victim, '', source port) of the errors a
 * victim sent itself about datagrams it had not answered, with at least REFLECT_MIN_SOURCES
 * distinct sources and more than one port. Sorted by key, then source, so both counts are
 * taken as the rows go by (flood_keys()): one sort, no set of sources per key. */
static const char FLOOD_SQL[] =
    "SELECT dst, sport, src, dport FROM pu NOT INDEXED WHERE +fid IS NULL AND reporter = dst"
    " AND coalesce(rev_before, 0) = 0 AND pm_flood_maybe(dst, sport) ORDER BY dst, sport, src";

/* Victims whose forged requests were refused by many hosts: (victim, forged source, 0).
 * The victim is where the errors arrived; the requests may carry another of its addresses
 * (its public address, in front of a NAT). */
static const char BACKSCATTER_SQL[] =
    "SELECT reported_to, src, 0 FROM pu NOT INDEXED WHERE +fid IS NULL AND orig_seen = 0"
    " AND role IS NOT 'reply' GROUP BY reported_to, src HAVING COUNT(DISTINCT dst) >= :min_sources"
    " ORDER BY reported_to, src";

struct reflection {
	const char *victim, *forged;
	int64_t fid, port, errors, flood, backscatter, reflectors, forged_to, volume, volume_bytes;
	int64_t t0, t1, n_ports;
	char ports[160], forged_buf[64];
};

/* Claims the flood refused by the victim and the backscatter of requests forged in its name. */
static void reflect_claim(struct dg *x, const struct reflection *r, bool flood_port, int64_t port)
{
	if (flood_port)
		dg_run(x,
		       dg_prepare(x,
				  "UPDATE pu SET fid = :fid WHERE +fid IS NULL AND dst = :victim"
				  " AND sport = :port AND reporter = dst"
				  " AND coalesce(rev_before, 0) = 0",
				  DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim),
				  DG_INT(":port", port)),
		       "claiming a reflected flood");
	else
		dg_run(x,
		       dg_prepare(
			   x,
			   "UPDATE pu SET fid = :fid WHERE +fid IS NULL AND reported_to = :victim"
			   " AND src = :forged AND orig_seen = 0 AND role IS NOT 'reply'",
			   DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim),
			   DG_TEXT(":forged", r->forged)),
		       "claiming backscatter");
}

/* The finding's events with whether each is of the flood (refused by the victim) rather than
 * of the backscatter, and the service port it names: the flood's source port, the port a
 * forged request went to. */
#define ATTACK_EVENTS                                                                              \
	"(SELECT src, dst, ts_ns, dst = :victim AND reporter = dst AS flood,"                      \
	" CASE WHEN dst = :victim AND reporter = dst THEN sport ELSE dport END AS service_port"    \
	" FROM pu WHERE fid = :fid)"

static void reflect_facts(struct dg *x, struct reflection *r)
{
	sqlite3_stmt *st = dg_prepare(
	    x,
	    "SELECT COUNT(*), SUM(flood), SUM(NOT flood), COUNT(DISTINCT CASE WHEN flood THEN src"
	    " END), COUNT(DISTINCT CASE WHEN NOT flood THEN dst END), MIN(ts_ns), MAX(ts_ns),"
	    " MAX(CASE WHEN NOT flood THEN src END) FROM " ATTACK_EVENTS,
	    DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->errors = sqlite3_column_int64(st, 0);
		r->flood = sqlite3_column_int64(st, 1),
		r->backscatter = sqlite3_column_int64(st, 2);
		r->reflectors = sqlite3_column_int64(st, 3),
		r->forged_to = sqlite3_column_int64(st, 4);
		r->t0 = sqlite3_column_int64(st, 5), r->t1 = sqlite3_column_int64(st, 6);
		const unsigned char *f = sqlite3_column_text(st, 7);
		snprintf(r->forged_buf, sizeof r->forged_buf, "%s",
			 f ? (const char *)f : r->victim);
	}
	dg_done(x, st);
	/* The service ports of the attack, the busiest first. */
	st =
	    dg_prepare(x,
		       "SELECT service_port AS p, COUNT(*) AS n, (SELECT coalesce(SUM(s.datagrams),"
		       " 0) FROM source_ports s WHERE s.port = service_port) AS vol"
		       " FROM " ATTACK_EVENTS " GROUP BY p ORDER BY vol DESC, n DESC, p",
		       DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim));
	size_t used = 0;
	r->ports[0] = '\0';
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		int64_t p = sqlite3_column_int64(st, 0);
		if (r->n_ports++ == 0)
			r->port = p;
		if (used < sizeof r->ports - 16)
			used += (size_t)snprintf(r->ports + used, sizeof r->ports - used, "%s%lld",
						 used ? ", " : "", (long long)p);
	}
	dg_done(x, st);
	/* The flood itself: datagrams sent from those service ports, and the hosts nobody asked
	 * that the endpoint table saw sending from them. */
	st = dg_prepare(x,
			"SELECT coalesce(SUM(datagrams), 0), coalesce(SUM(bytes), 0) FROM"
			" source_ports WHERE port IN (SELECT service_port FROM " ATTACK_EVENTS ")",
			DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim));
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		r->volume = sqlite3_column_int64(st, 0);
		r->volume_bytes = sqlite3_column_int64(st, 1);
	}
	dg_done(x, st);
	int64_t hosts = dg_int(x,
			       dg_prepare(x,
					  "SELECT COUNT(DISTINCT ip) FROM epg WHERE ip != :victim"
					  " AND rx_packets = 0 AND tx_packets > 0 AND port IN"
					  " (SELECT service_port FROM " ATTACK_EVENTS ")",
					  DG_INT(":fid", r->fid), DG_TEXT(":victim", r->victim)),
			       0);
	if (hosts > r->reflectors)
		r->reflectors = hosts;
	if (r->volume < r->flood)
		r->volume = r->flood;
}

static void reflect_evidence(struct dg *x, const struct reflection *r)
{
	char t0[32], t1[32];
	fmt_clock(r->t0, t0, sizeof t0);
	fmt_clock(r->t1, t1, sizeof t1);
	dg_evidence(x, r->fid,
		    "%s is the target of a reflection (amplification) attack from"
		    " service %s %s, %s to %s: %lld %s in all.",
		    r->victim, pm_plural(r->n_ports, "port", "ports"), r->ports, t0, t1,
		    (long long)r->errors, pm_plural(r->errors, "error", "errors"));
	if (r->flood)
		dg_evidence(x, r->fid,
			    "%lld datagrams from %lld different sources arrived from a"
			    " service port at closed ports of %s, which had sent them nothing; it"
			    " refused them with port unreachable.",
			    (long long)r->flood, (long long)r->reflectors, r->victim);
	if (r->backscatter)
		dg_evidence(
		    x, r->fid,
		    "%lld hosts refused requests that carried %s as their source"
		    " address, though %s sent none of them in the capture: the requests were"
		    " forged in its name, and the hosts that do run the service answered it"
		    " instead (the flood).%s",
		    (long long)r->forged_to, r->forged_buf, r->victim,
		    strcmp(r->forged_buf, r->victim) ? " The errors arrived at the address"
						       " the capture sees, behind a NAT."
						     : "");
	if (r->volume > r->flood)
		dg_evidence(x, r->fid,
			    "%lld datagrams (%lld bytes) came from those service ports in"
			    " the capture, from hosts %s never asked (at least %lld of them): the"
			    " reflected flood.",
			    (long long)r->volume, (long long)r->volume_bytes, r->victim,
			    (long long)r->reflectors);
	dg_evidence(x, r->fid,
		    "Nothing is broken on the reflectors or on %s's closed ports:"
		    " starting a service would not help. The attack is the problem.",
		    r->victim);
}

static void reflect_one(struct dg *x, const struct key *k, bool flood)
{
	struct reflection r = {.victim = k->a, .forged = k->b};
	r.fid = dg_int(x,
		       dg_prepare(x,
				  "SELECT id FROM findings WHERE diagnosis = 'reflection'"
				  " AND server_ip = :victim",
				  DG_TEXT(":victim", k->a)),
		       -1);
	if (r.fid < 0)
		r.fid = dg_new_finding(x, "reflection", k->a, k->n, NULL);
	else
		dg_run(x,
		       dg_prepare(x, "UPDATE findings SET evidence = '[]' WHERE id = :fid",
				  DG_INT(":fid", r.fid)),
		       "resetting evidence");
	reflect_claim(x, &r, flood, k->n);
	reflect_facts(x, &r);
	dg_conclude(x, r.fid,
		    &(struct verdict){
			.label = "reflection",
			.confidence = r.reflectors >= 2 * REFLECT_MIN_SOURCES ? "high" : "medium",
			.server_port = r.port,
			.ports = r.n_ports,
			.requests = r.volume});
	reflect_evidence(x, &r);
}

static void reflect_flood(struct dg *x, const struct key *k)
{
	reflect_one(x, k, true);
}

static void reflect_backscatter(struct dg *x, const struct key *k)
{
	reflect_one(x, k, false);
}

/* The keys of FLOOD_SQL's rows that pass: as GROUP BY dst, sport HAVING COUNT(DISTINCT src)
 * >= REFLECT_MIN_SOURCES AND COUNT(DISTINCT dport) > 1 would give them, in the same order. */
static void flood_keys(struct dg *x, struct dg_keys *ks)
{
	sqlite3_stmt *st = dg_statement(x, FLOOD_SQL);
	struct dg_kept dst = {0}, src = {0};
	int64_t sport = 0, dport = 0, n_src = 0;
	bool open = false, many_ports = false, ok = true;
	int rc = SQLITE_DONE;
	while (ok && st && !x->failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t sp = sqlite3_column_int64(st, 1);
		if (!open || !dg_kept_same(&dst, st, 0) || sp != sport) {
			if (open && n_src >= REFLECT_MIN_SOURCES && many_ports)
				ok = dg_add_key(x, ks, dst.p, "", sport);
			ok = ok && dg_kept_set(&dst, st, 0);
			sport = sp, n_src = 0, many_ports = false, src.len = (size_t)-1;
			dport = sqlite3_column_int64(st, 3);
			open = true;
		}
		/* sorted by source within the key: a new one where the value changes */
		if (ok && sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    (src.len == (size_t)-1 || !dg_kept_same(&src, st, 2))) {
			ok = dg_kept_set(&src, st, 2);
			n_src++;
		}
		many_ports |= sqlite3_column_int64(st, 3) != dport;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dg_fail(x, "grouping floods");
	else if (!ok && !x->failed)
		dg_out_of_memory(x);
	else if (open && ok && !x->failed && n_src >= REFLECT_MIN_SOURCES && many_ports)
		dg_add_key(x, ks, dst.p, "", sport);
	dg_done(x, st);
	free(dst.p), free(src.p);
}

void dg_reflections(struct dg *x)
{
	struct dg_keys ks = {0};
	if (dg_census_floods(x->census))
		flood_keys(x, &ks);
	dg_run_keys(x, &ks, reflect_flood);
	dg_each_key(x, dg_prepare(x, BACKSCATTER_SQL, DG_INT(":min_sources", REFLECT_MIN_SOURCES)),
		    reflect_backscatter);
}
