/* diagnose.c - findings from the database: event groups, explicit rules, evidence (SPEC §6). */
#include "analyzer/diagnose.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "db/db.h"

/* Prepares sql and binds arguments described by `types`: 't' text, 'i' int64, 'n' NULL. */
sqlite3_stmt *dx_prepare(struct dx *x, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	if (x->failed)
		return NULL;
	if (sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) != SQLITE_OK) {
		dx_fail(x, "preparing");
		return NULL;
	}
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	return st;
}

void dx_fail(struct dx *x, const char *what)
{
	if (!x->failed)
		snprintf(x->errbuf, DB_ERRBUF_SIZE, "diagnosis, %s: %s", what, sqlite3_errmsg(x->db));
	x->failed = true;
}

/* Runs a statement to its end; frees it. */
void dx_run(struct dx *x, sqlite3_stmt *st, const char *what)
{
	if (!st)
		return;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		dx_fail(x, what);
	sqlite3_finalize(st);
}

/* One int64 from the first column of the first row (def when none or NULL). */
int64_t dx_int(struct dx *x, sqlite3_stmt *st, int64_t def)
{
	if (!st)
		return def;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		def = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		dx_fail(x, "reading");
	sqlite3_finalize(st);
	return def;
}

/* One text from the first column of the first row into buf ("" when none). */
void dx_text(struct dx *x, sqlite3_stmt *st, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!st)
		return;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		dx_fail(x, "reading");
	sqlite3_finalize(st);
}

static const char PU_SQL[] =
	"DROP TABLE IF EXISTS temp.pu;"
	"CREATE TEMP TABLE pu AS SELECT e.id AS eid, e.capture_id, e.ts_ns, e.reporter, e.ttl,"
	" e.src, e.sport, e.dst, e.dport, e.quote_ttl, e.quote_len, e.quote_ip_len, e.role,"
	" e.dns_qname, e.dns_qtype, e.orig_seen, e.orig_delay_ns, e.flow_id, e.family,"
	" c.precision, CAST(NULL AS INTEGER) AS fid"
	" FROM events e JOIN captures c ON c.id = e.capture_id"
	" WHERE e.proto = 17 AND e.sport IS NOT NULL AND e.dport IS NOT NULL"
	" AND ((e.family = 'icmp' AND e.type = 3 AND e.code = 3)"
	"   OR (e.family = 'icmp6' AND e.type = 1 AND e.code = 4));"
	"CREATE INDEX temp.pu_fid ON pu (fid, dst, dport);"
	"CREATE INDEX temp.pu_pair ON pu (src, dst, dport);"
	"CREATE INDEX temp.pu_reply ON pu (src, sport);"
	"DROP TABLE IF EXISTS temp.te;"
	"CREATE TEMP TABLE te AS SELECT src, dst, dport, reporter, ts_ns, quote_ttl FROM events"
	" WHERE proto = 17 AND sport IS NOT NULL AND dport IS NOT NULL"
	" AND ((family = 'icmp' AND type = 11) OR (family = 'icmp6' AND type = 3));"
	"CREATE INDEX temp.te_pair ON te (src, dst, dport);"
	"DELETE FROM findings;"
	/* A refused datagram whose conversation was not in its capture (an earlier file of a
	 * rotated archive, or evicted from the flow cache) was a reply when it came from a
	 * service that answers requests in any capture, to a port that is no such service. */
	"UPDATE pu SET role = 'reply' WHERE role = 'request' AND orig_seen = 0"
	" AND reporter = dst AND sport < dport AND EXISTS (SELECT 1 FROM endpoints s WHERE s.ip = pu.src"
	"  AND s.port = pu.sport AND s.tx_packets > 0 AND s.rx_packets > 0)"
	" AND NOT EXISTS (SELECT 1 FROM endpoints c WHERE c.ip = pu.dst AND c.port = pu.dport"
	"  AND c.tx_packets > 0 AND c.rx_packets > 0);";

/* Starts a finding row; its events are then tagged with its id. Returns the id or -1. */
int64_t dx_new_finding(struct dx *x, const char *label, const char *server_ip,
		       int64_t server_port, const char *source_ip)
{
	sqlite3_stmt *st = dx_prepare(x,
		"INSERT INTO findings (diagnosis, confidence, severity, server_ip, server_port,"
		" source_ip, errors, requests, replies) VALUES (?1, 'medium', 0, ?2, ?3, ?4, 0, 0, 0)",
		"ttit", label, server_ip, server_port, source_ip ? source_ip : "");
	dx_run(x, st, "adding a finding");
	return x->failed ? -1 : sqlite3_last_insert_rowid(x->db);
}

int diagnose_rebuild(sqlite3 *db, char *errbuf)
{
	struct dx x = { .db = db };
	if (db_exec(db, "BEGIN IMMEDIATE", errbuf) < 0)
		return -1;
	if (db_exec(db, PU_SQL, errbuf) < 0)
		goto error;
	dx_traceroutes(&x);
	dx_scans(&x);
	dx_late_replies(&x);
	dx_refusals(&x);
	dx_summaries(&x);
	if (x.failed) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "%s", x.errbuf);
		goto error;
	}
	if (db_exec(db, "DROP TABLE temp.pu; DROP TABLE temp.te; COMMIT", errbuf) < 0)
		goto error;
	return (int)x.n_findings;
error:;
	char ignore[DB_ERRBUF_SIZE];
	db_exec(db, "ROLLBACK", ignore);
	return -1;
}
