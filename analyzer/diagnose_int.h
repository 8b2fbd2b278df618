/* diagnose_int.h - shared state of the diagnosis files (rules.c, evidence.c, diagnose.c). */
#ifndef PM_DIAGNOSE_INT_H
#define PM_DIAGNOSE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db/db.h"

struct dx {
	sqlite3 *db;
	bool failed;
	char errbuf[DB_ERRBUF_SIZE];
	int64_t n_findings;
};

/* Ports traceroute probes by default: 33434 and up (one per probe, 3 probes x 30 hops is
 * 90; a generous window covers -p and long runs). */
#define TRACEROUTE_PORT_FIRST 33434
#define TRACEROUTE_PORT_LAST (33434 + 1023)
/* A udp-scan: one source, at least this many distinct ports of one host... */
#define SCAN_MIN_PORTS 10
/* ...within this time (ns) for high confidence. */
#define SCAN_WINDOW_NS (600LL * 1000000000LL)

sqlite3_stmt *dx_prepare(struct dx *x, const char *sql, const char *types, ...);
void dx_fail(struct dx *x, const char *what);
void dx_run(struct dx *x, sqlite3_stmt *st, const char *what);
int64_t dx_int(struct dx *x, sqlite3_stmt *st, int64_t def);
void dx_text(struct dx *x, sqlite3_stmt *st, char *buf, size_t len);
int64_t dx_new_finding(struct dx *x, const char *label, const char *server_ip,
		       int64_t server_port, const char *source_ip);

/* rules.c: each claims the events of its findings (pu.fid) in this order. */
void dx_traceroutes(struct dx *x);
void dx_scans(struct dx *x);
void dx_late_replies(struct dx *x);
void dx_refusals(struct dx *x);

/* evidence.c */
void dx_summaries(struct dx *x);	/* errors, clients, reporters, names, times */
void dx_evidence(struct dx *x, int64_t fid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dx_set(struct dx *x, int64_t fid, const char *col, const char *text, int64_t num);
void dx_add_secondary(struct dx *x, int64_t fid, const char *label);
void fmt_clock(int64_t ns, char *buf, size_t len);	/* "21:42:45.501" */
void fmt_duration(int64_t ns, char *buf, size_t len);	/* "1.5 s", "4 min 12 s" */
int initial_ttl(int ttl);				/* 32, 64, 128 or 255 */
void fmt_endpoint(const char *ip, int64_t port, char *buf, size_t len); /* "[2001:db8::1]:53" */

#endif
