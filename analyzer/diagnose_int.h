/* diagnose_int.h - shared state of the diagnosis files (rules.c, evidence.c, diagnose.c). */
#ifndef PM_DIAGNOSE_INT_H
#define PM_DIAGNOSE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "analyzer/tally.h"
#include "db/db.h"

/* Statements the rules run once per finding are prepared once per diagnosis: a finding
 * costs a few binds and steps, not a dozen parses. */
#define DG_CACHE_SLOTS 128
struct dg_cached {
	sqlite3_stmt *st;
	bool busy; /* handed out by dg_prepare, not yet given back by dg_done */
};

struct diagnose_kb;

struct dg {
	sqlite3 *db;
	const struct diagnose_kb *kb;
	bool failed;
	char errbuf[DB_ERRBUF_SIZE];
	int64_t n_findings;
	bool indexed;	      /* dg_need_indexes() ran */
	bool pair_indexed;    /* dg_need_pair_index() ran */
	bool trace_indexed;   /* dg_need_trace_index() ran */
	bool clients_indexed; /* dg_need_client_index() ran */
	const struct dg_census *census;
	struct dg_cached cache[DG_CACHE_SLOTS];
};

/* Ports traceroute probes by default: 33434 and up (one per probe, 3 probes x 30 hops is
 * 90; a generous window covers -p and long runs). */
#define TRACEROUTE_PORT_FIRST 33434
#define TRACEROUTE_PORT_LAST (33434 + 1023)
/* The window as SQL, written the same in the partial index pu_trace and in the statements
 * that use it (SQLite uses a partial index only for a term it can see implies its WHERE). */
#define TRACEROUTE_WINDOW_(first, last) "dport BETWEEN " #first " AND " #last
#define TRACEROUTE_WINDOW_AS(first, last) TRACEROUTE_WINDOW_(first, last)
#define TRACEROUTE_WINDOW TRACEROUTE_WINDOW_AS(TRACEROUTE_PORT_FIRST, TRACEROUTE_PORT_LAST)
/* A udp-scan: one source, at least this many distinct ports of one host... */
#define SCAN_MIN_PORTS 10
/* ...within this time (ns) for high confidence. */
#define SCAN_WINDOW_NS (600LL * 1000000000LL)

/* A client gives up on a request after this long at the earliest (Windows, macOS and iOS
 * resolvers, net-snmp: 1 s; glibc waits 5 s): an answer later than that is late. */
#define CLIENT_TIMEOUT_NS 1000000000LL
/* A request sent again this long after the first of its run is a retry, not a parallel copy. */
#define RETRY_GAP_NS 500000000LL
/* Reflection: at least this many distinct reflectors (or hosts answering spoofed requests). */
#define REFLECT_MIN_SOURCES 10
/* Peer-to-peer: a socket that sent to at least this many distinct peers. */
#define P2P_MIN_PEERS 5

/* What kind of application an endpoint speaks (from dg_app_class()). */
enum app_class {
	APP_UNKNOWN, /* nothing in the payload said */
	APP_SERVICE, /* request/response service clients are configured to use (DNS, NTP, ...) */
	APP_STREAM,  /* media, QUIC, VPN, game: long two-way conversations */
	APP_P2P,     /* peer-to-peer overlays */
	APP_HOSTILE, /* spam and worm payloads */
};
enum app_class dg_app_class(const char *app);
/* census.c: the groups of events that may reach the reflection and udp-scan thresholds,
 * counted while pu is made. dg_census_start() defines pm_census(src, dst, sport, dport,
 * flood) for PU_SQL, pm_flood_maybe(victim, sport) and pm_pair_maybe(src, dst) for the
 * rules (NULL: out of memory); dg_census_end() removes them and frees the counts. Whether
 * any group may reach each threshold: dg_census_floods(), dg_census_pairs() (true when
 * nothing was counted). */
struct dg_census;
struct dg_census *dg_census_start(sqlite3 *db, int64_t expected_rows);
void dg_census_end(sqlite3 *db);
bool dg_census_floods(const struct dg_census *c);
bool dg_census_pairs(const struct dg_census *c);
/* Builds the indexes on pu (fid, dst, dport, ts_ns, sport; src, sport) once, before a rule claims
 * its first key: dg_each_key() calls it for every rule before the refusals that has candidates. */
void dg_need_indexes(struct dg *x);
/* Builds the index on pu (src, dst) once: for statements that select one source's events to
 * one target while other events are unclaimed (a small scan's probed ports). */
void dg_need_pair_index(struct dg *x);
/* The same for the events in the traceroute window only (TRACEROUTE_WINDOW): a partial index
 * as small as the window's events, for a traceroute's statements. */
void dg_need_trace_index(struct dg *x);
/* The table ecl (ip, port, client_ip): who talked to which endpoint in the captures
 * diagnosed, each pair once, keyed from the endpoint's side and indexed from the client's
 * (endpoint_clients has no index of its own); made on first use. */
void dg_need_client_index(struct dg *x);
/* Whether the knowledge base has a service clients are configured to use on `port`. */
bool dg_service_port(const struct dg *x, int64_t port);

/* A column value kept from one row of a sorted pass to compare with the next (NULL apart
 * from every value; compared byte for byte, whatever its length). dg_kept_set() copies the
 * row's value (false when memory runs out); free p when done. */
struct dg_kept {
	char *p; /* NUL-terminated copy ("" for NULL) */
	size_t len, cap;
	bool null;
};
bool dg_kept_same(const struct dg_kept *k, sqlite3_stmt *st, int col);
bool dg_kept_set(struct dg_kept *k, sqlite3_stmt *st, int col);

/* A (text, text, int) key read from a grouping query, kept so the query can end first. */
struct key {
	char a[64], b[64];
	int64_t n;
};
/* Reads every key of a grouping query st (then given back), builds the indexes
 * (dg_need_indexes) when there is one, and runs fn on each while the diagnosis has not
 * failed. */
void dg_each_key(struct dg *x, sqlite3_stmt *st, void (*fn)(struct dg *x, const struct key *k));
/* The same for keys a rule found itself: dg_add_key() appends one (a, b NULL read as ""),
 * false when memory runs out; dg_run_keys() runs fn on each and empties the list. */
struct dg_keys {
	struct key *k;
	size_t n, cap;
};
bool dg_add_key(struct dg *x, struct dg_keys *ks, const char *a, const char *b, int64_t n);
void dg_run_keys(struct dg *x, struct dg_keys *ks, void (*fn)(struct dg *x, const struct key *k));
/* p (an array of *cap elements of elem_len bytes) grown to twice its size (at least 32);
 * NULL after freeing p when memory runs out (the diagnosis fails). */
void *dg_grow(struct dg *x, void *p, size_t *cap, size_t elem_len);
/* Severity of a label (report order): larger first. */
int dg_severity(const char *label);

/* A named parameter of a diagnosis statement, bound by dg_prepare(): DG_TEXT(":ip", ip)
 * (NULL binds NULL), DG_INT(":port", port), DG_INT_IF(":end", end, known) (NULL unless
 * known), DG_REAL_IF(":mean", mean, known). */
struct dg_arg {
	const char *name;
	bool is_text, is_real, is_null;
	const char *text;
	int64_t num;
	double real;
};
#define DG_TEXT(n, v) ((struct dg_arg){.name = (n), .is_text = true, .text = (v)})
#define DG_INT(n, v) ((struct dg_arg){.name = (n), .num = (v)})
#define DG_INT_IF(n, v, known) ((struct dg_arg){.name = (n), .num = (v), .is_null = !(known)})
#define DG_REAL_IF(n, v, known)                                                                    \
	((struct dg_arg){.name = (n), .is_real = true, .real = (v), .is_null = !(known)})

/* A statement for sql, from the cache when it was prepared before, with the named
 * parameters bound: dg_prepare(x, sql, DG_TEXT(":ip", ip), DG_INT(":port", port)); a
 * statement without parameters comes from dg_statement(x, sql). A name that sql does not
 * have fails the diagnosis. Give the statement back with dg_done() (dg_run, dg_int and
 * dg_text do), never sqlite3_finalize(). NULL after a failure. */
#define dg_prepare(x, sql, ...)                                                                    \
	dg_prepare_args((x), (sql), (const struct dg_arg[]){__VA_ARGS__, {.name = NULL}})
sqlite3_stmt *dg_prepare_args(struct dg *x, const char *sql, const struct dg_arg *args);
sqlite3_stmt *dg_statement(struct dg *x, const char *sql);
void dg_done(struct dg *x, sqlite3_stmt *st);
void dg_cache_free(struct dg *x);
void dg_fail(struct dg *x, const char *what);
void dg_out_of_memory(struct dg *x);
void dg_run(struct dg *x, sqlite3_stmt *st, const char *what);
int64_t dg_int(struct dg *x, sqlite3_stmt *st, int64_t def);
void dg_text(struct dg *x, sqlite3_stmt *st, char *buf, size_t len);
int64_t dg_new_finding(struct dg *x, const char *label, const char *server_ip, int64_t server_port,
		       const char *source_ip);

/* What a rule concludes about a finding, written in one statement by dg_conclude(); the
 * severity comes from the label (dg_severity()). */
struct verdict {
	const char *label, *confidence;
	int64_t server_port, requests, replies;
	int64_t ports;	     /* distinct ports probed (traceroute, udp-scan, reflection); 0: one */
	const char *related; /* wrong-port/wrong-host: where it does answer; NULL: nowhere */
	bool outage;	     /* the outage's start is known (service-down, service-restarted) */
	int64_t outage_start_ns, outage_end_ns; /* end 0: not over within the captures */
};
void dg_conclude(struct dg *x, int64_t fid, const struct verdict *v);

/* Rules, each claiming the events of its findings (pu.fid), in this order:
 * rules.c: traceroute, udp-scan; rules_reflect.c: reflection; rules_reply.c: refused
 * replies (stream-ended, late-reply, duplicate-reply); rules_refusal.c: refused requests. */
void dg_traceroutes(struct dg *x);
void dg_reflections(struct dg *x);
void dg_scans(struct dg *x);
void dg_replies(struct dg *x);
void dg_refusals(struct dg *x);

/* Facts about the refusals of one ip:port (rules_refusal.c), which refusal_evidence.c
 * puts in sentences. */
struct refusal {
	const char *ip;
	int64_t port, fid, errors, self, other, icmp_ttl, udp_ttl, n_clients;
	int64_t rx, tx, before, after, unanswered, t_first, t_last, span_ns, seen;
	int64_t quote_len, quote_ip_len; /* largest quote, and the datagram it came from */
	int64_t two_way, silent_after, talked, max_shots, p2p, peers;
	int64_t tx_refused, tx_other; /* answers between the errors, to whom */
	bool v6, configured, rate_limited, forged, hostile;
	bool others_answer; /* another server of the port answered someone (wrong-host possible) */
	enum app_class cls;
	char reporter[64], app[24], alt_port[128], alt_host[256], ep[80];
};
void dg_refusal_evidence(struct dg *x, const struct refusal *r, const char *label);

/* evidence.c */
/* The application the finding's quotes name most often ("dns"), "" when none does. */
void dg_quoted_app(struct dg *x, int64_t fid, char *buf, size_t len);
/* Datagrams to and from the server in the conversations of the finding's events: the counts
 * of a server whose endpoint statistics were not kept (the higher port of a conversation is
 * counted in its flows, not in the endpoint table). */
void dg_flow_counts(struct dg *x, int64_t fid, int64_t *to_server, int64_t *from_server);
/* A finding's summary, summed from its events' rows as they stream by in any order: what
 * the SQL aggregates COUNT, MIN, MAX, SUM and AVG over the finding's events would give, the
 * most frequent application, and the first DG_SUMMARY_LIST distinct clients and reporters
 * in address order (DG_SUMMARY_COLUMNS: the columns a row gives, from DG_SUM_CLIENT on). */
#define DG_SUMMARY_LIST 100
#define DG_SUMMARY_COLUMNS                                                                         \
	"CASE WHEN role = 'reply' THEN dst ELSE src END, reporter, ts_ns, precision, orig_seen,"   \
	" CASE WHEN orig_seen THEN orig_delay_ns END, quote_len, quote_ip_len, family = 'icmp6',"  \
	" ttl, app"
enum {
	DG_SUM_CLIENT,
	DG_SUM_REPORTER,
	DG_SUM_TS,
	DG_SUM_PRECISION,
	DG_SUM_SEEN,
	DG_SUM_DELAY,
	DG_SUM_QUOTE_LEN,
	DG_SUM_QUOTE_IP_LEN,
	DG_SUM_V6,
	DG_SUM_TTL,
	DG_SUM_APP,
	DG_SUM_COLUMNS /* how many */
};
struct dg_firsts {
	char *v[DG_SUMMARY_LIST]; /* distinct values in order, NUL-terminated */
	size_t len[DG_SUMMARY_LIST], n;
};
struct dg_summary {
	int64_t n, t0, t1, prec, seen, qlen, iplen, v6, ttl_lo, ttl_hi, n_delay;
	double delay_sum;
	bool have_qlen, have_iplen;
	struct dg_firsts clients, reporters;
	struct tally apps;
};
void dg_summary_start(struct dg_summary *a); /* empties a for the next finding */
/* Adds the row of st whose DG_SUMMARY_COLUMNS start at column col. False: out of memory. */
bool dg_summary_row(struct dg_summary *a, sqlite3_stmt *st, int col);
/* Writes finding fid's summary (its counts, times, clients and reporters; its fs and fa rows). */
void dg_summary_end(struct dg *x, const struct dg_summary *a, int64_t fid);
void dg_summary_free(struct dg_summary *a);
/* Makes the summary tables and sums the findings that have claimed events so far. */
void dg_summarise_claimed(struct dg *x);
void dg_summaries(struct dg *x); /* names, services, quote evidence; then drops fs, fa */
/* The bound of the (finding, name, type) groups the names are counted in before SQL groups
 * them instead (0: the default, 1 Mi); for tests. */
void dg_names_tally_max(size_t groups);
void dg_evidence(struct dg *x, int64_t fid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dg_add_secondary(struct dg *x, int64_t fid, const char *label);
void fmt_clock(int64_t ns, char *buf, size_t len);			/* "21:42:45.501" */
void fmt_duration(int64_t ns, char *buf, size_t len);			/* "1.5 s", "4 min 12 s" */
int initial_ttl(int ttl);						/* 32, 64, 128 or 255 */
void fmt_endpoint(const char *ip, int64_t port, char *buf, size_t len); /* "[2001:db8::1]:53" */

#endif
