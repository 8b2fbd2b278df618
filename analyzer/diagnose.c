/* diagnose.c - findings from the database: event groups, explicit rules, evidence (SPEC §6). */
#include "analyzer/diagnose.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/diagnose_int.h"
#include "db/db.h"

static uint32_t sql_hash(const char *sql)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* The cache slot holding sql (or the empty slot where it goes); NULL when the table is full
 * or sql is in use already (a nested use gets a statement of its own). */
static struct dg_cached *cache_slot(struct dg *x, const char *sql)
{
	uint32_t h = sql_hash(sql);
	for (uint32_t i = 0; i < DG_CACHE_SLOTS; i++) {
		struct dg_cached *c = &x->cache[(h + i) % DG_CACHE_SLOTS];
		if (!c->st)
			return c;
		if (strcmp(sqlite3_sql(c->st), sql) == 0)
			return c->busy ? NULL : c;
	}
	return NULL;
}

static sqlite3_stmt *cached_statement(struct dg *x, const char *sql)
{
	struct dg_cached *c = cache_slot(x, sql);
	sqlite3_stmt *st = NULL;
	if (c && c->st) {
		sqlite3_clear_bindings(c->st);
		c->busy = true;
		return c->st;
	}
	if (sqlite3_prepare_v3(x->db, sql, -1, c ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	if (c) {
		c->st = st;
		c->busy = true;
	}
	return st;
}

sqlite3_stmt *dg_statement(struct dg *x, const char *sql)
{
	if (x->failed)
		return NULL;
	sqlite3_stmt *st = cached_statement(x, sql);
	if (!st)
		dg_fail(x, "preparing");
	return st;
}

sqlite3_stmt *dg_prepare_args(struct dg *x, const char *sql, const struct dg_arg *args)
{
	sqlite3_stmt *st = dg_statement(x, sql);
	for (const struct dg_arg *a = args; st && a->name; a++) {
		int i = sqlite3_bind_parameter_index(st, a->name);
		if (i == 0) {
			snprintf(x->errbuf, DB_ERRBUF_SIZE, "diagnosis: no parameter %s in %s",
				 a->name, sql);
			x->failed = true;
			dg_done(x, st);
			return NULL;
		}
		if (a->is_null)
			sqlite3_bind_null(st, i);
		else if (a->is_text)
			sqlite3_bind_text(st, i, a->text, -1, SQLITE_TRANSIENT);
		else if (a->is_real)
			sqlite3_bind_double(st, i, a->real);
		else
			sqlite3_bind_int64(st, i, a->num);
	}
	return st;
}

void dg_done(struct dg *x, sqlite3_stmt *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < DG_CACHE_SLOTS; i++)
		if (x->cache[i].st == st) {
			sqlite3_reset(st);
			x->cache[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

void dg_cache_free(struct dg *x)
{
	for (uint32_t i = 0; i < DG_CACHE_SLOTS; i++) {
		sqlite3_finalize(x->cache[i].st);
		x->cache[i] = (struct dg_cached){0};
	}
}

void dg_fail(struct dg *x, const char *what)
{
	if (!x->failed)
		snprintf(x->errbuf, DB_ERRBUF_SIZE, "diagnosis, %s: %s", what,
			 sqlite3_errmsg(x->db));
	x->failed = true;
}

void dg_out_of_memory(struct dg *x)
{
	if (!x->failed)
		snprintf(x->errbuf, DB_ERRBUF_SIZE, "diagnosis: out of memory");
	x->failed = true;
}

bool dg_kept_same(const struct dg_kept *k, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return k->null;
	const void *v = sqlite3_column_text(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);
	return !k->null && k->len == len && (len == 0 || memcmp(k->p, v, len) == 0);
}

bool dg_kept_set(struct dg_kept *k, sqlite3_stmt *st, int col)
{
	k->null = sqlite3_column_type(st, col) == SQLITE_NULL;
	const void *v = k->null ? (const void *)"" : (const void *)sqlite3_column_text(st, col);
	size_t len = k->null ? 0 : (size_t)sqlite3_column_bytes(st, col);
	if (len + 1 > k->cap) {
		char *p = realloc(k->p, len + 1);
		if (!p)
			return false;
		k->p = p, k->cap = len + 1;
	}
	if (len)
		memcpy(k->p, v, len);
	k->p[len] = '\0';
	k->len = len;
	return true;
}

/* Runs a statement to its end; frees it. */
void dg_run(struct dg *x, sqlite3_stmt *st, const char *what)
{
	if (!st)
		return;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		dg_fail(x, what);
	dg_done(x, st);
}

/* One int64 from the first column of the first row (def when none or NULL). */
int64_t dg_int(struct dg *x, sqlite3_stmt *st, int64_t def)
{
	if (!st)
		return def;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		def = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		dg_fail(x, "reading");
	dg_done(x, st);
	return def;
}

/* One text from the first column of the first row into buf ("" when none). */
void dg_text(struct dg *x, sqlite3_stmt *st, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!st)
		return;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		dg_fail(x, "reading");
	dg_done(x, st);
}

static const char PU_SQL[] =
    "DROP TABLE IF EXISTS temp.pu;"
    "CREATE TEMP TABLE pu AS SELECT e.id AS eid, e.capture_id, e.ts_ns, e.reporter, e.reported_to,"
    " e.ttl, e.src, e.sport, e.dst, e.dport, e.quote_ttl, e.quote_len, e.quote_ip_len, e.role,"
    " e.orig_seen, e.orig_delay_ns, e.flow_id, e.family,"
    " e.icmp_cksum, e.quote_ip_id, e.other_delay_ns, e.other_wait_ns, e.other_run,"
    " e.fwd_before, e.rev_before, e.sender_peers,"
    /* the application the quote names: the first word of its hint ("dns A example.com") */
    " pm_first_word(e.hint) AS app, f.c2s_packets, f.s2c_packets, "
    "f.c2s_last_ns,"
    " f.s2c_last_ns, c.precision, CAST(NULL AS INTEGER) AS fid, CAST(NULL AS INTEGER) AS dup_of"
    " FROM event_kinds e JOIN captures c ON c.id = e.capture_id"
    " LEFT JOIN flows f ON f.id = e.flow_id"
    " WHERE e.udp_ports AND e.port_unreachable AND pm_census(e.src, e.dst, e.sport, e.dport,"
    " e.reporter = e.dst AND coalesce(e.rev_before, 0) = 0);"
    /* Endpoint counts of captures that overlap in time (the client's and the server's
     * capture of one incident) are the same datagrams seen twice: within such a group the
     * largest count stands; groups that follow each other (a rotated archive) add up. */
    "DROP TABLE IF EXISTS temp.capgrp;"
    "CREATE TEMP TABLE capgrp AS SELECT id, grp, COUNT(*) OVER (PARTITION BY grp) AS n FROM"
    " (WITH o AS (SELECT id, first_ns, MAX(last_ns) OVER (ORDER BY first_ns, id ROWS BETWEEN"
    " UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_last FROM captures)"
    " SELECT id, SUM(prev_last IS NULL OR first_ns > prev_last) OVER (ORDER BY first_ns, id)"
    " AS grp FROM o);"
    "DROP TABLE IF EXISTS temp.epg;"
    /* a capture alone in its group (a rotated archive, a ticket) as it is; a group of
     * overlapping captures aggregated */
    "CREATE TEMP TABLE epg AS SELECT g.grp AS capture_id, e.ip, e.port, e.rx_packets,"
    " e.rx_bytes, e.tx_packets, e.tx_bytes, e.first_rx_ns, e.last_rx_ns, e.first_tx_ns,"
    " e.last_tx_ns, e.n_clients, e.app, e.errors, e.err_first_ns, e.err_last_ns,"
    " e.tx_before_err_ns, e.tx_after_err_ns, e.tx_during_err, e.rx_unanswered, e.n_peers,"
    " e.tx_refused_during, e.tx_other_during"
    " FROM endpoints e JOIN capgrp g ON g.id = e.capture_id WHERE g.n = 1"
    " UNION ALL SELECT g.grp, e.ip, e.port,"
    " MAX(rx_packets), MAX(rx_bytes), MAX(tx_packets), MAX(tx_bytes), MIN(first_rx_ns),"
    " MAX(last_rx_ns), MIN(first_tx_ns), MAX(last_tx_ns), MAX(n_clients), MAX(app), MAX(errors),"
    " MIN(err_first_ns), MAX(err_last_ns), MAX(tx_before_err_ns), MIN(tx_after_err_ns),"
    " MAX(tx_during_err), MAX(rx_unanswered), MAX(n_peers), MAX(tx_refused_during),"
    " MAX(tx_other_during)"
    " FROM endpoints e JOIN capgrp g ON g.id = e.capture_id WHERE g.n > 1"
    " GROUP BY g.grp, e.ip, e.port;"
    "CREATE INDEX temp.epg_ip_port ON epg (ip, port);"
    "CREATE INDEX temp.epg_port ON epg (port, ip);"
    "DROP TABLE IF EXISTS temp.pud;"
    /* made on demand (dg_need_client_index), while a pass may be reading: dropped here */
    "DROP TABLE IF EXISTS temp.ecl;";

/* One packet is one event: the same error recorded at several capture points (same
 * reporter, ICMP checksum, quoted addresses, ports and IPv4 id; within a clock difference of
 * 10 s) counts once, as the earliest stored copy. Only captures that overlap in time can
 * hold the same packet: run when a group of them exists. */
static const char DEDUPE_SQL[] =
    "CREATE INDEX temp.pu_same ON pu (src, sport, dst, dport, reporter);"
    "DROP TABLE IF EXISTS temp.pukey;"
    "CREATE TEMP TABLE pukey AS SELECT src, sport, dst, dport, reporter FROM pu"
    " WHERE capture_id IN (SELECT id FROM capgrp WHERE n > 1)"
    " GROUP BY src, sport, dst, dport, reporter HAVING COUNT(DISTINCT capture_id) > 1;"
    "UPDATE pu SET dup_of = (SELECT MIN(o.eid) FROM pu o WHERE o.src = pu.src"
    " AND o.sport = pu.sport AND o.dst = pu.dst AND o.dport = pu.dport AND o.reporter = pu.reporter"
    " AND o.capture_id != pu.capture_id AND o.eid < pu.eid AND ((o.icmp_cksum = pu.icmp_cksum"
    " AND o.quote_ip_id IS pu.quote_ip_id AND abs(o.ts_ns - pu.ts_ns) <= 10000000000)"
    /* events stored by version 1 have no checksum: the very same time, then */
    " OR ((o.icmp_cksum IS NULL OR pu.icmp_cksum IS NULL) AND o.ts_ns = pu.ts_ns)))"
    " WHERE (src, sport, dst, dport, reporter) IN (SELECT * FROM pukey);"
    "DROP TABLE temp.pukey;"
    "UPDATE pu SET dup_of = (SELECT coalesce(o.dup_of, o.eid) FROM pu o WHERE o.eid = pu.dup_of)"
    " WHERE dup_of IS NOT NULL;";

/* The copies DEDUPE_SQL found leave pu for pud, which gives them their original's finding
 * (CLAIM_SQL); without overlapping captures there are none, and pud is empty. */
static const char SPLIT_DUPS_SQL[] =
    "CREATE TEMP TABLE pud AS SELECT eid, dup_of, capture_id FROM pu WHERE dup_of IS NOT NULL;"
    "DELETE FROM pu WHERE dup_of IS NOT NULL;";
static const char NO_DUPS_SQL[] =
    "CREATE TEMP TABLE pud (eid INTEGER, dup_of INTEGER, capture_id INTEGER);";

static const char CLASSIFY_SQL[] =
    "DROP TABLE IF EXISTS temp.te;"
    "CREATE TEMP TABLE te AS SELECT src, dst, dport, reporter, ts_ns, quote_ttl FROM event_kinds"
    " WHERE capture_id IN (SELECT id FROM captures) AND udp_ports AND time_exceeded;"
    "CREATE INDEX temp.te_pair ON te (src, dst, dport);"
    "DELETE FROM findings;"
    /* A refused datagram whose conversation was not in its capture (an earlier file of a
     * rotated archive, or evicted from the flow cache) was a reply when it came from a
     * service that answers requests in any capture, to a port that is no such service. */
    "UPDATE pu SET role = 'reply' WHERE role = 'request' AND orig_seen = 0"
    " AND reporter = dst AND sport < dport AND EXISTS (SELECT 1 FROM epg s WHERE s.ip = pu.src"
    "  AND s.port = pu.sport AND s.tx_packets > 0 AND s.rx_packets > 0"
    "  AND s.first_rx_ns <= s.first_tx_ns)"
    " AND NOT EXISTS (SELECT 1 FROM epg c WHERE c.ip = pu.dst AND c.port = pu.dport"
    "  AND c.tx_packets > 0 AND c.rx_packets > 0 AND c.first_rx_ns <= c.first_tx_ns);";

/* Every event records the finding that claimed it (the table claim, made by the refusals);
 * a copy seen at another capture point too gets its original's finding and the event it
 * duplicates; each finding lists the captures its events are in. */
static const char CLAIM_SQL[] =
    "INSERT OR REPLACE INTO claim SELECT d.eid, p.fid, d.dup_of, d.capture_id FROM pud d"
    " JOIN claim p ON p.eid = d.dup_of;"
    "UPDATE findings SET capture_points = s.j FROM (SELECT fid, json_group_array(path) AS j"
    " FROM (SELECT DISTINCT x.fid, c.path FROM (SELECT DISTINCT fid, capture_id FROM claim"
    " WHERE fid IS NOT NULL) x JOIN captures c ON c.id = x.capture_id ORDER BY x.fid, c.path)"
    " GROUP BY fid) s"
    " WHERE s.fid = findings.id;";

/* Only the rows whose link changed are written: a re-run writes nothing. */
static const char LINK_SQL[] =
    "UPDATE events SET finding_id = NULL, dup_of = NULL WHERE (finding_id IS NOT NULL"
    " OR dup_of IS NOT NULL) AND capture_id IN (SELECT id FROM captures)"
    " AND id NOT IN (SELECT eid FROM claim);"
    "UPDATE events SET finding_id = c.fid, dup_of = c.dup_of FROM claim c"
    " WHERE c.eid = events.id AND (events.finding_id IS NOT c.fid OR events.dup_of IS NOT "
    "c.dup_of);"
    "DROP TABLE temp.claim;";

/* Linking many events at once (a first run over a large capture) rewrites an entry of the
 * finding index for each: past this many new links, dropping the index and building it
 * again costs a third as much. */
#define RELINK_REBUILD_MIN 100000

static int link_events(sqlite3 *db, char *errbuf)
{
	if (db_exec(db, CLAIM_SQL, errbuf) < 0)
		return -1;
	/* The stored table, not a report's private copy of it (db_shadow_written). */
	bool stored =
	    db_query_int(db, "SELECT COUNT(*) FROM temp.sqlite_schema WHERE name = 'events'") == 0;
	int64_t linked = stored
			     ? db_query_int(db, "SELECT COUNT(*) FROM main.events WHERE finding_id"
						" IS NOT NULL")
			     : -1;
	bool rebuild = linked >= 0 && db_query_int(db, "SELECT COUNT(*) FROM claim") - linked >=
					  RELINK_REBUILD_MIN;
	if (rebuild && db_exec(db, "DROP INDEX main.events_finding", errbuf) < 0)
		return -1;
	if (db_exec(db, LINK_SQL, errbuf) < 0)
		return -1;
	if (rebuild && db_exec(db,
			       "CREATE INDEX main.events_finding ON events (finding_id, ts_ns)"
			       " WHERE finding_id IS NOT NULL",
			       errbuf) < 0)
		return -1;
	return 0;
}

/* Starts a finding row; its events are then tagged with its id. Returns the id or -1. */
int64_t dg_new_finding(struct dg *x, const char *label, const char *server_ip, int64_t server_port,
		       const char *source_ip)
{
	sqlite3_stmt *st = dg_prepare(
	    x,
	    "INSERT INTO findings (diagnosis, confidence, severity, server_ip, server_port,"
	    " source_ip, errors, requests, replies)"
	    " VALUES (:label, 'medium', 0, :ip, :port, :source, 0, 0, 0)",
	    DG_TEXT(":label", label), DG_TEXT(":ip", server_ip), DG_INT(":port", server_port),
	    DG_TEXT(":source", source_ip ? source_ip : ""));
	dg_run(x, st, "adding a finding");
	return x->failed ? -1 : sqlite3_last_insert_rowid(x->db);
}

void dg_conclude(struct dg *x, int64_t fid, const struct verdict *v)
{
	dg_run(
	    x,
	    dg_prepare(x,
		       "UPDATE findings SET diagnosis = :label, severity = :severity,"
		       " confidence = :confidence, server_port = :port, ports = :ports,"
		       " requests = :requests, replies = :replies, related = :related,"
		       " outage_start_ns = :outage_start, outage_end_ns = :outage_end"
		       " WHERE id = :fid",
		       DG_INT(":fid", fid), DG_TEXT(":label", v->label),
		       DG_INT(":severity", dg_severity(v->label)),
		       DG_TEXT(":confidence", v->confidence), DG_INT(":port", v->server_port),
		       DG_INT(":ports", v->ports ? v->ports : 1), DG_INT(":requests", v->requests),
		       DG_INT(":replies", v->replies), DG_TEXT(":related", v->related),
		       DG_INT_IF(":outage_start", v->outage_start_ns, v->outage),
		       DG_INT_IF(":outage_end", v->outage_end_ns, v->outage && v->outage_end_ns)),
	    "concluding a finding");
}

/* Whether two captures overlap in time (they may hold the same packets). */
static bool has_overlapping_captures(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool found = true;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM capgrp WHERE n > 1 LIMIT 1", -1, &st, NULL) ==
	    SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Bumped whenever the rules change what they conclude from the same rows. */
#define DIAGNOSIS_RULES 2

/* What the findings were computed from: the rules' version and the captures' rows. */
static const char SIGNATURE_SQL[] =
    "SELECT 'rules=' || :rules || ';captures=' || COUNT(*) || ';max=' || coalesce(MAX(id), 0)"
    " || ';ids=' || coalesce(SUM(id), 0) || ';packets=' || coalesce(SUM(packets), 0)"
    " FROM captures";

/* The signature of the database's captures into buf ("" when it cannot be read). */
static void findings_signature(sqlite3 *db, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, SIGNATURE_SQL, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":rules"), DIAGNOSIS_RULES) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

bool diagnose_current(sqlite3 *db)
{
	char sig[200];
	sqlite3_stmt *st = NULL;
	bool same = false;
	findings_signature(db, sig, sizeof sig);
	if (sig[0] &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'findings_from'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		same = strcmp((const char *)sqlite3_column_text(st, 0), sig) == 0;
	sqlite3_finalize(st);
	return same;
}

/* Records what the findings were computed from (meta 'findings_from'). */
static void sign_findings(struct dg *x)
{
	char sig[200];
	if (x->failed)
		return;
	findings_signature(x->db, sig, sizeof sig);
	if (!sig[0])
		dg_fail(x, "signing the findings");
	dg_run(x,
	       dg_prepare(x,
			  "INSERT OR REPLACE INTO meta (key, value) VALUES ('findings_from', :sig)",
			  DG_TEXT(":sig", sig)),
	       "signing the findings");
}

/* Runs sql once per diagnosis, the first time something needs what it builds (*done). */
static void build_once(struct dg *x, bool *done, const char *sql)
{
	if (x->failed || *done)
		return;
	if (db_exec(x->db, sql, x->errbuf) < 0)
		x->failed = true;
	*done = true;
}

/* The indexes the rules before the refusals use to claim a key's events and to look up a
 * finding's: built when one of them has candidates (a storm of refused requests alone needs
 * none of them). Both are partial: no event has a finding yet and few are replies, so they
 * cost a pass but no sort, and grow only with what the rules claim ("fid = :fid" and
 * "role = 'reply'" select them). */
void dg_need_indexes(struct dg *x)
{
	build_once(
	    x, &x->indexed,
	    "CREATE INDEX temp.pu_fid ON pu (fid, dst, dport, ts_ns, sport) WHERE fid IS NOT NULL;"
	    "CREATE INDEX temp.pu_reply ON pu (src, sport) WHERE role = 'reply';");
}

/* pu_pair finds a source's events to a target: what a small scan's count of probed ports
 * asks. It sorts every event (a second on a storm's million), so it is built for the first
 * such key only; the scans' claims go in one pass without it, and a traceroute's statements
 * use pu_trace, which holds the events of the traceroute window only. The two columns only,
 * so that they sort less and a claim (fid) does not rewrite them. */
void dg_need_pair_index(struct dg *x)
{
	build_once(x, &x->pair_indexed, "CREATE INDEX temp.pu_pair ON pu (src, dst);");
}

void dg_need_trace_index(struct dg *x)
{
	build_once(x, &x->trace_indexed,
		   "CREATE INDEX temp.pu_trace ON pu (src, dst) WHERE " TRACEROUTE_WINDOW ";");
}

/* Who talked to which endpoint, for the rules that ask it: from the endpoint's side (the
 * ports of a target a source sent to: traceroutes, scans) and from the client's ("which
 * other servers of this port talked to these clients", one probe per client where the
 * endpoints' side probed every client against every server of the port). The stored table
 * keeps no index for them: one per row to maintain while storing cost a sixth of a rotated
 * archive's run, where this copy costs a pass and two sorts of the pairs, once. */
void dg_need_client_index(struct dg *x)
{
	build_once(x, &x->clients_indexed,
		   "CREATE TEMP TABLE ecl (ip TEXT NOT NULL, port INTEGER NOT NULL,"
		   " client_ip TEXT NOT NULL, PRIMARY KEY (ip, port, client_ip)) WITHOUT ROWID;"
		   "INSERT OR IGNORE INTO ecl SELECT ip, port, client_ip FROM endpoint_clients"
		   " ORDER BY ip, port, client_ip;"
		   "CREATE INDEX temp.ecl_client ON ecl (client_ip, port, ip);");
}

bool dg_service_port(const struct dg *x, int64_t port)
{
	return port >= 0 && port <= 65535 && x->kb && x->kb->service_for_port &&
	       x->kb->service_for_port((uint16_t)port) != NULL;
}

/* pm_first_word(hint): the bytes of hint before its first space (all of them without one),
 * as text; NULL for NULL. What substr(h, 1, instr(h || ' ', ' ') - 1) gives, without the four
 * values SQL makes for it on every event. */
static void fn_first_word(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	const char *p = (const char *)sqlite3_value_blob(argv[0]);
	size_t len = (size_t)sqlite3_value_bytes(argv[0]);
	const char *space = p ? memchr(p, ' ', len) : NULL;
	sqlite3_result_text(ctx, p ? p : "", space ? (int)(space - p) : (int)len, SQLITE_TRANSIENT);
}

/* The diagnosis sorts its event tables several times (indexes, grouped passes) while the
 * packet threads are done: SQLite's sorter may then use the other cores (at most
 * SORTER_THREADS helpers), which takes a fifth off each large sort. Back to none after. */
#define SORTER_THREADS 3

static void sorter_threads(sqlite3 *db, bool on)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int n = !on || cores <= 1	     ? 0
		: cores - 1 > SORTER_THREADS ? SORTER_THREADS
					     : (int)cores - 1;
	char sql[40], ignore[DB_ERRBUF_SIZE];
	snprintf(sql, sizeof sql, "PRAGMA threads = %d", n);
	(void)db_exec(db, sql, ignore); /* a hint: the sorts are the same without it */
}

int diagnose_rebuild(sqlite3 *db, const struct diagnose_kb *kb, char *errbuf)
{
	struct dg x = {.db = db, .kb = kb};
	/* The temporary tables of a storm of errors hold millions of rows: a larger page cache
	 * for them keeps their B-trees in memory instead of spilling to temporary files. */
	if (db_exec(db, "PRAGMA temp.cache_size = -65536", errbuf) < 0 ||
	    db_exec(db, "BEGIN IMMEDIATE", errbuf) < 0)
		return -1;
	sorter_threads(db, true);
	if (sqlite3_create_function(db, "pm_first_word", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
				    fn_first_word, NULL, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "diagnosis: %s", sqlite3_errmsg(db));
		goto error;
	}
	x.census =
	    dg_census_start(db, db_query_int(db, "SELECT SUM(port_unreachables) FROM captures"));
	if (!x.census) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "diagnosis: out of memory");
		goto error;
	}
	if (db_exec(db, PU_SQL, errbuf) < 0)
		goto error;
	bool overlap = has_overlapping_captures(db);
	if (overlap && db_exec(db, DEDUPE_SQL, errbuf) < 0)
		goto error;
	if (db_exec(db, overlap ? SPLIT_DUPS_SQL : NO_DUPS_SQL, errbuf) < 0 ||
	    db_exec(db, CLASSIFY_SQL, errbuf) < 0)
		goto error;
	dg_traceroutes(&x);
	dg_reflections(&x);
	dg_scans(&x);
	dg_replies(&x);
	dg_refusals(&x);
	dg_summaries(&x);
	if (!x.failed && link_events(db, x.errbuf) < 0)
		x.failed = true;
	sign_findings(&x);
	dg_cache_free(&x);
	if (x.failed) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s", x.errbuf);
		goto error;
	}
	/* The temporary tables (pu, pud, te, epg, ecl, capgrp) stay until the connection closes
	 * or the next diagnosis replaces them: dropping a table reads every page of it (pu: a
	 * second per million events; epg and ecl: a quarter of a second in issue 8's storm),
	 * while closing deletes the temporary file at once. */
	if (db_exec(db, "COMMIT", errbuf) < 0)
		goto error;
	sorter_threads(db, false);
	dg_census_end(db);
	return (int)x.n_findings;
error:;
	sorter_threads(db, false);
	dg_census_end(db);
	dg_cache_free(&x);
	char ignore[DB_ERRBUF_SIZE];
	db_exec(db, "ROLLBACK", ignore);
	return -1;
}
