/* store.c - one capture's rows written in one transaction with prepared statements. */
#include "analyzer/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissect.h"
#include "db/db.h"

struct ev_thread;

struct store {
	sqlite3 *db;
	const char *schema; /* "main" (a worker's scratch database) or "out" (the real one) */
	sqlite3_stmt *ev;
	int64_t capture_id;
	int64_t flow_base;   /* flow ids of this capture start above it */
	bool nested;	     /* inside the caller's transaction: a savepoint of its own */
	bool in_transaction; /* BEGIN or SAVEPOINT done: store_abort() rolls it back */
	bool fk_restore;     /* foreign keys turned off for the transaction: on again after it */
	bool may_thread;     /* store_allow_thread(): the events may go to a thread of their own */
	uint64_t inline_n;   /* events stored in the caller's thread */
	struct ev_thread *t; /* the events' thread, once started */
	char errbuf[DB_ERRBUF_SIZE];
};

static const char EVENT_SQL[] =
    "INSERT INTO %s.events (capture_id, frame, ts_ns, reporter, reported_to, ttl, family, type,"
    " code, vlan, proto, src, sport, dst, dport, quote_ttl, quote_ip_len, udp_len, quote_len,"
    " rfc4884_len, hint, dns_id, dns_qtype, dns_qname, anomalies, role, flow_id, orig_seen,"
    " orig_delay_ns, icmp_cksum, quote_ip_id, other_delay_ns, other_wait_ns, other_run,"
    " fwd_before, rev_before, sender_peers) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
    "?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,"
    "?35,?36,?37)";

/* The parameters of EVENT_SQL, in the order of its columns. */
enum event_param {
	EV_CAPTURE_ID = 1,
	EV_FRAME,
	EV_TS_NS,
	EV_REPORTER,
	EV_REPORTED_TO,
	EV_TTL,
	EV_FAMILY,
	EV_TYPE,
	EV_CODE,
	EV_VLAN,
	EV_PROTO,
	EV_SRC,
	EV_SPORT,
	EV_DST,
	EV_DPORT,
	EV_QUOTE_TTL,
	EV_QUOTE_IP_LEN,
	EV_UDP_LEN,
	EV_QUOTE_LEN,
	EV_RFC4884_LEN,
	EV_HINT,
	EV_DNS_ID,
	EV_DNS_QTYPE,
	EV_DNS_QNAME,
	EV_ANOMALIES,
	EV_ROLE,
	EV_FLOW_ID,
	EV_ORIG_SEEN,
	EV_ORIG_DELAY_NS,
	EV_ICMP_CKSUM,
	EV_QUOTE_IP_ID,
	EV_OTHER_DELAY_NS,
	EV_OTHER_WAIT_NS,
	EV_OTHER_RUN,
	EV_FWD_BEFORE,
	EV_REV_BEFORE,
	EV_SENDER_PEERS,
	EV__END
};

static int prepare(struct store *s, const char *sql, int n_params, sqlite3_stmt **st);
static void unprepare(sqlite3_stmt *st);
static int ev_thread_end(struct store *s, bool discard);

/* Turns the foreign keys on again once the store's own transaction has ended. */
static void fk_restore(struct store *s)
{
	char ignore[DB_ERRBUF_SIZE];
	if (s->fk_restore && sqlite3_get_autocommit(s->db))
		db_exec(s->db, "PRAGMA foreign_keys = ON", ignore);
	s->fk_restore = false;
}

struct store *store_begin(sqlite3 *db, const char *schema, const char *path, const char *filter,
			  char *errbuf)
{
	struct store *s = calloc(1, sizeof *s);
	sqlite3_stmt *st = NULL;
	if (!s) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "out of memory");
		return NULL;
	}
	s->db = db;
	s->schema = schema;
	/* Deferred: the first write (the capture's row) locks `schema` alone. BEGIN IMMEDIATE
	 * would also take the write lock of every attached database, the real one ("out")
	 * included, for as long as the capture is read: other workers and other runs writing
	 * to it would wait on this one capture's reading, and give up ("database is locked")
	 * when that took longer than their wait. */
	/* Inside a transaction the caller holds open across captures (analyze.c's batch), a
	 * savepoint: the capture is still kept or dropped as a whole. */
	s->nested = !sqlite3_get_autocommit(db);
	/* Foreign keys off for a transaction of its own, as analyze.c's batch has them (a pragma
	 * a transaction cannot change): the events point to flows stored after them, at the
	 * end of the capture, and with the keys on each flow's insert looked for the events
	 * waiting for it through a table that has no index on flow_id: a scan of the events
	 * per flow, which kept a storm of 180,000 errors storing for minutes. */
	if (!s->nested && db_query_int(db, "PRAGMA foreign_keys") == 1) {
		if (db_exec(db, "PRAGMA foreign_keys = OFF", s->errbuf) < 0)
			goto error;
		s->fk_restore = true;
	}
	if (db_exec(db, s->nested ? "SAVEPOINT capture" : "BEGIN", s->errbuf) < 0)
		goto error;
	s->in_transaction = true;
	if (db_exec(db, "PRAGMA defer_foreign_keys = ON", s->errbuf) < 0)
		goto error;
	if (prepare(s,
		    "INSERT INTO %s.captures (path, content_hash, format, filter)"
		    " VALUES (?1, 'pending:' || ?1, 'pcap', ?2)",
		    2, &st) < 0)
		goto error;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
	if (filter)
		sqlite3_bind_text(st, 2, filter, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto sql_error;
	unprepare(st);
	st = NULL;
	s->capture_id = sqlite3_last_insert_rowid(db);
	if (prepare(s, "SELECT coalesce(MAX(id), 0) FROM %s.flows", 0, &st) < 0)
		goto error;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto sql_error;
	s->flow_base = sqlite3_column_int64(st, 0);
	unprepare(st);
	st = NULL;
	if (prepare(s, EVENT_SQL, EV__END - 1, &s->ev) < 0)
		goto error;
	return s;
sql_error:
	snprintf(s->errbuf, DB_ERRBUF_SIZE, "storing a capture: %s", sqlite3_errmsg(db));
error:
	snprintf(errbuf, DB_ERRBUF_SIZE, "%s", s->errbuf);
	unprepare(st);
	store_abort(s);
	return NULL;
}

const char *store_error(const struct store *s)
{
	return s->errbuf;
}

void store_abort(struct store *s)
{
	char ignore[DB_ERRBUF_SIZE];
	if (!s)
		return;
	ev_thread_end(s, true);
	unprepare(s->ev);
	if (s->in_transaction)
		db_exec(s->db, s->nested ? "ROLLBACK TO capture; RELEASE capture" : "ROLLBACK",
			ignore);
	fk_restore(s);
	free(s);
}

static void bind_addr(sqlite3_stmt *st, int i, const struct pm_addr *a)
{
	char buf[64];
	if (!a->family)
		return;
	pm_addr_str(a, buf, sizeof buf);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

/* An event's text, kept where store_event() binds it without a copy (SQLITE_STATIC) until
 * its step is done and the bindings cleared: seven copies and frees fewer per event. */
struct event_text {
	char reporter[64], reported_to[64], src[64], dst[64];
	char hint[600];
	char anomalies[1024];
};

static void bind_addr_static(sqlite3_stmt *st, int i, const struct pm_addr *a, char buf[64])
{
	if (!a->family)
		return;
	pm_addr_str(a, buf, 64);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
}

static void bind_quote(sqlite3_stmt *st, const struct quote *q, struct event_text *t)
{
	if (!q->ip_version)
		return;
	sqlite3_bind_int(st, EV_PROTO, q->proto);
	bind_addr_static(st, EV_SRC, &q->src, t->src);
	bind_addr_static(st, EV_DST, &q->dst, t->dst);
	if (q->has_ports) {
		sqlite3_bind_int(st, EV_SPORT, q->sport);
		sqlite3_bind_int(st, EV_DPORT, q->dport);
	}
	sqlite3_bind_int(st, EV_QUOTE_TTL, q->ttl);
	sqlite3_bind_int(st, EV_QUOTE_IP_LEN, q->ip_total_len);
	if (q->proto == PM_IPPROTO_UDP && q->has_ports)
		sqlite3_bind_int(st, EV_UDP_LEN, q->udp_len);
	if (q->hint.kind != HINT_NONE) {
		size_t n = app_hint_bytes(&q->hint, t->hint, sizeof t->hint);
		sqlite3_bind_blob(st, EV_HINT, t->hint, (int)n, SQLITE_STATIC);
	}
	if (q->hint.kind == HINT_DNS) {
		sqlite3_bind_int(st, EV_DNS_ID, q->hint.dns_id);
		if (q->hint.dns_has_question) {
			sqlite3_bind_int(st, EV_DNS_QTYPE, q->hint.dns_qtype);
			/* the dissection outlives the step too */
			sqlite3_bind_blob(st, EV_DNS_QNAME, q->hint.dns_qname,
					  q->hint.dns_qname_len, SQLITE_STATIC);
		}
	}
}

static int store_event_now(struct store *s, uint64_t frame, int64_t ts, const struct dissection *d,
			   const struct corr_link *link)
{
	sqlite3_stmt *st = s->ev;
	struct event_text t;
	sqlite3_bind_int64(st, EV_CAPTURE_ID, s->capture_id);
	sqlite3_bind_int64(st, EV_FRAME, (sqlite3_int64)frame);
	sqlite3_bind_int64(st, EV_TS_NS, ts);
	bind_addr_static(st, EV_REPORTER, &d->src, t.reporter);
	bind_addr_static(st, EV_REPORTED_TO, &d->dst, t.reported_to);
	sqlite3_bind_int(st, EV_TTL, d->ttl);
	sqlite3_bind_text(st, EV_FAMILY, d->icmp.family == 6 ? "icmp6" : "icmp", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, EV_TYPE, d->icmp.type);
	sqlite3_bind_int(st, EV_CODE, d->icmp.code);
	if (d->n_vlan)
		sqlite3_bind_int(st, EV_VLAN, d->vlan_id);
	bind_quote(st, &d->icmp.q, &t);
	sqlite3_bind_int(st, EV_QUOTE_LEN, d->icmp.q.quote_len);
	sqlite3_bind_int(st, EV_RFC4884_LEN, d->icmp.rfc4884_len);
	anomaly_list(d->anomalies, false, t.anomalies, sizeof t.anomalies);
	sqlite3_bind_text(st, EV_ANOMALIES, t.anomalies, -1, SQLITE_STATIC);
	if (d->icmp.q.has_ports)
		sqlite3_bind_text(st, EV_ROLE, link->is_reply ? "reply" : "request", -1,
				  SQLITE_STATIC);
	if (link->flow >= 0)
		sqlite3_bind_int64(st, EV_FLOW_ID, (sqlite3_int64)link->flow + 1 + s->flow_base);
	sqlite3_bind_int(st, EV_ORIG_SEEN, link->orig_seen);
	if (link->orig_seen)
		sqlite3_bind_int64(st, EV_ORIG_DELAY_NS, link->orig_delay);
	sqlite3_bind_int(st, EV_ICMP_CKSUM, d->icmp.cksum);
	if (d->icmp.q.ip_version == 4)
		sqlite3_bind_int(st, EV_QUOTE_IP_ID, d->icmp.q.ip_id);
	if (link->has_other) {
		sqlite3_bind_int64(st, EV_OTHER_DELAY_NS, link->other_delay);
		sqlite3_bind_int64(st, EV_OTHER_WAIT_NS, link->other_wait);
		sqlite3_bind_int64(st, EV_OTHER_RUN, link->other_run);
	}
	if (link->fwd_before || link->rev_before) {
		sqlite3_bind_int64(st, EV_FWD_BEFORE, (sqlite3_int64)link->fwd_before);
		sqlite3_bind_int64(st, EV_REV_BEFORE, (sqlite3_int64)link->rev_before);
	}
	if (d->icmp.q.has_ports && d->icmp.q.proto == PM_IPPROTO_UDP)
		sqlite3_bind_int64(st, EV_SENDER_PEERS, link->sender_peers);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(s->errbuf, sizeof s->errbuf, "storing an event: %s",
			 sqlite3_errmsg(s->db));
	/* nothing bound may point into t once it is gone */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- the events' own thread ----
 * In a capture dense with errors (an error storm: a million refused requests), inserting
 * the events is most of the packet loop's work, while the thread that reads and dissects
 * waits for it. Past EV_THREAD_AFTER events, a capture allowed to (store_allow_thread())
 * hands its events to a thread of their own in batches, and the packet loop goes on
 * correlating: the same rows in the same order, written on the same connection, which the
 * caller does not use until store_flush() has joined the thread. */
#define EV_THREAD_AFTER 4096 /* events stored inline first: most captures never start it */
#define EV_BATCH 256	     /* events per batch handed over */
#define EV_BATCHES 4	     /* batches in circulation: at most this many wait to be stored */

struct queued_event {
	uint64_t frame;
	int64_t ts;
	struct corr_link link;
	struct dissection d; /* its spans point into a packet gone by then: store_event_now()
			      * reads none of them */
};

struct ev_batch {
	int n;
	struct queued_event ev[EV_BATCH];
};

struct ev_thread {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t wake_store, wake_caller;
	struct ev_batch *all[EV_BATCHES];
	struct ev_batch *full[EV_BATCHES], *spare[EV_BATCHES]; /* full: a FIFO from full_at */
	int n_full, full_at, n_spare;
	struct ev_batch *cur; /* the caller's, being filled */
	bool ending;	      /* no more batches: store what is queued and end */
	bool discard;	      /* and drop what is queued (the capture is abandoned) */
	atomic_bool failed;   /* an insert failed: s->errbuf says why; the rest is dropped */
	struct store *s;
};

static void *ev_thread_main(void *arg)
{
	struct ev_thread *t = arg;
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->n_full && !t->ending)
			pthread_cond_wait(&t->wake_store, &t->lock);
		if (!t->n_full)
			break;
		struct ev_batch *b = t->full[t->full_at];
		t->full_at = (t->full_at + 1) % EV_BATCHES;
		t->n_full--;
		bool skip = t->discard || atomic_load(&t->failed);
		pthread_mutex_unlock(&t->lock);
		for (int i = 0; i < b->n && !skip; i++) {
			const struct queued_event *q = &b->ev[i];
			if (store_event_now(t->s, q->frame, q->ts, &q->d, &q->link) < 0) {
				atomic_store(&t->failed, true); /* after s->errbuf is written */
				skip = true;
			}
		}
		b->n = 0;
		pthread_mutex_lock(&t->lock);
		t->spare[t->n_spare++] = b;
		pthread_cond_signal(&t->wake_caller);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void ev_thread_free(struct ev_thread *t)
{
	for (int i = 0; i < EV_BATCHES; i++)
		free(t->all[i]);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wake_store);
	pthread_cond_destroy(&t->wake_caller);
	free(t);
}

/* Starts the events' thread; false (the events go on inline) when it cannot. */
static bool ev_thread_start(struct store *s)
{
	struct ev_thread *t = calloc(1, sizeof *t);
	if (!t)
		return false;
	t->s = s;
	atomic_init(&t->failed, false);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake_store, NULL);
	pthread_cond_init(&t->wake_caller, NULL);
	for (int i = 0; i < EV_BATCHES; i++) {
		if (!(t->all[i] = malloc(sizeof *t->all[i]))) {
			ev_thread_free(t);
			return false;
		}
		t->all[i]->n = 0;
	}
	t->cur = t->all[0];
	for (int i = 1; i < EV_BATCHES; i++)
		t->spare[t->n_spare++] = t->all[i];
	if (pthread_create(&t->tid, NULL, ev_thread_main, t) != 0) {
		ev_thread_free(t);
		return false;
	}
	s->t = t;
	return true;
}

/* Hands the caller's batch over and takes a spare one, waiting for it if need be. */
static void ev_thread_hand_over(struct ev_thread *t)
{
	pthread_mutex_lock(&t->lock);
	t->full[(t->full_at + t->n_full) % EV_BATCHES] = t->cur;
	t->n_full++;
	pthread_cond_signal(&t->wake_store);
	while (!t->n_spare)
		pthread_cond_wait(&t->wake_caller, &t->lock);
	t->cur = t->spare[--t->n_spare];
	pthread_mutex_unlock(&t->lock);
}

/* Ends the events' thread: what is queued is stored first, or dropped (discard). 0, or -1
 * when an insert failed (s->errbuf). */
static int ev_thread_end(struct store *s, bool discard)
{
	struct ev_thread *t = s->t;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (t->cur->n && !discard) {
		t->full[(t->full_at + t->n_full) % EV_BATCHES] = t->cur;
		t->n_full++;
		t->cur = NULL;
	}
	t->ending = true;
	t->discard = discard;
	pthread_cond_signal(&t->wake_store);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->tid, NULL);
	bool failed = atomic_load(&t->failed);
	ev_thread_free(t);
	s->t = NULL;
	s->may_thread = false; /* one thread per capture */
	return failed ? -1 : 0;
}

void store_allow_thread(struct store *s, bool allow)
{
	s->may_thread = allow;
}

int store_flush(struct store *s)
{
	return ev_thread_end(s, false);
}

int store_event(struct store *s, uint64_t frame, int64_t ts, const struct dissection *d,
		const struct corr_link *link)
{
	struct ev_thread *t = s->t;
	if (!t && s->may_thread && ++s->inline_n > EV_THREAD_AFTER && ev_thread_start(s))
		t = s->t;
	if (!t)
		return store_event_now(s, frame, ts, d, link);
	if (atomic_load(&t->failed))
		return -1;
	struct queued_event *q = &t->cur->ev[t->cur->n++];
	q->frame = frame, q->ts = ts, q->link = *link;
	memcpy(&q->d, d, sizeof q->d); /* an error's fields are most of it */
	if (t->cur->n == EV_BATCH)
		ev_thread_hand_over(t);
	return 0;
}

int store_scanned(const struct cap_pkt *pkt, uint64_t frame, int64_t ts, const struct dissection *d,
		  void *arg)
{
	struct store_job *j = arg;
	struct corr_link link = {.flow = -1};
	if (j->stop && *j->stop)
		return SCAN_STOPPED;
	if (d->kind == PK_UDP) {
		corr_udp(j->corr, ts, d);
		return SCAN_GO_ON;
	}
	if (d->kind == PK_ICMP_UNREACH)
		corr_icmp(j->corr, ts, d, &link);
	return store_event(j->store, frame, ts, d, &link) < 0 ? SCAN_DB_ERROR : SCAN_GO_ON;
}

void store_ahead(const struct dissection *d, int stage, void *arg)
{
	const struct store_job *j = arg;
	corr_udp_ahead(j->corr, d, stage == 0 ? CORR_AHEAD_FAR : CORR_AHEAD_NEAR);
}

struct capture_facts store_facts(struct cap_reader *r, int scan_rc, const struct scan_stats *st,
				 struct corr *c)
{
	return (struct capture_facts){
	    .format = cap_format_name(r),
	    .link_name = cap_linktype_name(r),
	    .read_error = scan_rc < 0 ? cap_error(r) : NULL,
	    .link_type = cap_linktype(r),
	    .precision = cap_precision(r),
	    .snaplen = cap_snaplen(r),
	    .stats = st,
	    .corr = c,
	};
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(s->errbuf, sizeof s->errbuf, "storing %s: %s", what,
			 sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

/* Prepares sql, whose "%s." is the store's schema and which has n_params parameters (the
 * enum its binds are named by ends at n_params + 1). */
/* Statements kept from one capture to the next, on the connection this thread registered with
 * store_keep_statements(): preparing the same dozen statements again for each of 589 small
 * captures was a tenth of their run. A statement in use is not handed out twice. */
#define KEPT_MAX 16
static _Thread_local struct {
	sqlite3 *db;
	struct {
		const char *sql, *schema;
		sqlite3_stmt *st;
		bool busy;
	} slot[KEPT_MAX];
} kept;

void store_keep_statements(sqlite3 *db)
{
	store_forget_statements();
	kept.db = db;
}

void store_forget_statements(void)
{
	for (int i = 0; i < KEPT_MAX; i++)
		sqlite3_finalize(kept.slot[i].st);
	memset(&kept, 0, sizeof kept);
}

/* A kept statement of sql for s, reset and unbound, or NULL. */
static sqlite3_stmt *kept_statement(const struct store *s, const char *sql)
{
	for (int i = 0; kept.db == s->db && i < KEPT_MAX; i++)
		if (kept.slot[i].st && !kept.slot[i].busy && kept.slot[i].sql == sql &&
		    strcmp(kept.slot[i].schema, s->schema) == 0) {
			sqlite3_reset(kept.slot[i].st);
			sqlite3_clear_bindings(kept.slot[i].st);
			kept.slot[i].busy = true;
			return kept.slot[i].st;
		}
	return NULL;
}

static void keep_statement(const struct store *s, const char *sql, sqlite3_stmt *st)
{
	for (int i = 0; kept.db == s->db && i < KEPT_MAX; i++)
		if (!kept.slot[i].st) {
			kept.slot[i].sql = sql, kept.slot[i].schema = s->schema;
			kept.slot[i].st = st, kept.slot[i].busy = true;
			return;
		}
}

/* Done with a statement of prepare(): a kept one is reset for the next capture, any other
 * finalized. */
static void unprepare(sqlite3_stmt *st)
{
	for (int i = 0; st && i < KEPT_MAX; i++)
		if (kept.slot[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			kept.slot[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

static int prepare(struct store *s, const char *sql, int n_params, sqlite3_stmt **st)
{
	if ((*st = kept_statement(s, sql)) != NULL)
		return 0;
	char *text = sqlite3_mprintf(sql, s->schema);
	int rc =
	    text ? sqlite3_prepare_v3(s->db, text, -1,
				      kept.db == s->db ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL)
		 : SQLITE_NOMEM;
	sqlite3_free(text);
	if (rc != SQLITE_OK) {
		snprintf(s->errbuf, sizeof s->errbuf, "preparing: %s",
			 text ? sqlite3_errmsg(s->db) : "out of memory");
		return -1;
	}
	if (sqlite3_bind_parameter_count(*st) != n_params) {
		snprintf(s->errbuf, sizeof s->errbuf, "preparing: %d parameters where %d are bound",
			 sqlite3_bind_parameter_count(*st), n_params);
		sqlite3_finalize(*st);
		*st = NULL;
		return -1;
	}
	keep_statement(s, sql, *st);
	return 0;
}

static void bind_time(sqlite3_stmt *st, int i, int64_t t, bool present)
{
	if (present)
		sqlite3_bind_int64(st, i, t);
}

static int store_flows(struct store *s, struct corr *c)
{
	enum {
		FL_ID = 1,
		FL_CAPTURE_ID,
		FL_CLIENT_IP,
		FL_CLIENT_PORT,
		FL_SERVER_IP,
		FL_SERVER_PORT,
		FL_C2S_PACKETS,
		FL_C2S_BYTES,
		FL_S2C_PACKETS,
		FL_S2C_BYTES,
		FL_FIRST_NS,
		FL_LAST_NS,
		FL_ERRORS,
		FL_C2S_LAST_NS,
		FL_S2C_LAST_NS,
		FL__END
	};
	sqlite3_stmt *st = NULL;
	int rc = prepare(s,
			 "INSERT INTO %s.flows (id, capture_id, client_ip, client_port, server_ip,"
			 " server_port, c2s_packets, c2s_bytes, s2c_packets, s2c_bytes, first_ns,"
			 " last_ns, errors, c2s_last_ns, s2c_last_ns) VALUES (?1, ?2, ?3, ?4, ?5,"
			 " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
			 FL__END - 1, &st);
	for (size_t i = 0; rc == 0 && i < corr_n_flows(c); i++) {
		const struct touched_flow *f = corr_flow(c, i);
		sqlite3_bind_int64(st, FL_ID, (sqlite3_int64)i + 1 + s->flow_base);
		sqlite3_bind_int64(st, FL_CAPTURE_ID, s->capture_id);
		bind_addr(st, FL_CLIENT_IP, &f->client);
		sqlite3_bind_int(st, FL_CLIENT_PORT, f->client_port);
		bind_addr(st, FL_SERVER_IP, &f->server);
		sqlite3_bind_int(st, FL_SERVER_PORT, f->server_port);
		sqlite3_bind_int64(st, FL_C2S_PACKETS, (sqlite3_int64)f->c2s_packets);
		sqlite3_bind_int64(st, FL_C2S_BYTES, (sqlite3_int64)f->c2s_bytes);
		sqlite3_bind_int64(st, FL_S2C_PACKETS, (sqlite3_int64)f->s2c_packets);
		sqlite3_bind_int64(st, FL_S2C_BYTES, (sqlite3_int64)f->s2c_bytes);
		sqlite3_bind_int64(st, FL_FIRST_NS, f->first);
		sqlite3_bind_int64(st, FL_LAST_NS, f->last);
		sqlite3_bind_int(st, FL_ERRORS, (int)f->errors);
		bind_time(st, FL_C2S_LAST_NS, f->c2s_last, f->c2s_packets && f->c2s_last);
		bind_time(st, FL_S2C_LAST_NS, f->s2c_last, f->s2c_packets && f->s2c_last);
		rc = step_done(s, st, "a flow");
	}
	unprepare(st);
	return rc;
}

/* The parameters of the endpoint row (store_endpoints()), in the order of its columns. */
enum endpoint_param {
	EP_CAPTURE_ID = 1,
	EP_IP,
	EP_PORT,
	EP_RX_PACKETS,
	EP_RX_BYTES,
	EP_TX_PACKETS,
	EP_TX_BYTES,
	EP_FIRST_RX_NS,
	EP_LAST_RX_NS,
	EP_FIRST_TX_NS,
	EP_LAST_TX_NS,
	EP_N_CLIENTS,
	EP_APP,
	EP_ERRORS,
	EP_ERR_FIRST_NS,
	EP_ERR_LAST_NS,
	EP_TX_BEFORE_ERR_NS,
	EP_TX_AFTER_ERR_NS,
	EP_TX_DURING_ERR,
	EP_RX_UNANSWERED,
	EP_N_PEERS,
	EP_TX_REFUSED_DURING,
	EP_TX_OTHER_DURING,
	EP__END
};

struct ep_ctx {
	struct store *s;
	sqlite3_stmt *ep, *cl, *ttl, *sp;
};

static int store_endpoint(const struct endpoint *e, void *arg)
{
	struct ep_ctx *x = arg;
	sqlite3_stmt *st = x->ep;
	sqlite3_bind_int64(st, EP_CAPTURE_ID, x->s->capture_id);
	bind_addr(st, EP_IP, &e->ip);
	sqlite3_bind_int(st, EP_PORT, e->port);
	sqlite3_bind_int64(st, EP_RX_PACKETS, (sqlite3_int64)e->rx_packets);
	sqlite3_bind_int64(st, EP_RX_BYTES, (sqlite3_int64)e->rx_bytes);
	sqlite3_bind_int64(st, EP_TX_PACKETS, (sqlite3_int64)e->tx_packets);
	sqlite3_bind_int64(st, EP_TX_BYTES, (sqlite3_int64)e->tx_bytes);
	bind_time(st, EP_FIRST_RX_NS, e->first_rx, e->rx_packets);
	bind_time(st, EP_LAST_RX_NS, e->last_rx, e->rx_packets);
	bind_time(st, EP_FIRST_TX_NS, e->first_tx, e->tx_packets);
	bind_time(st, EP_LAST_TX_NS, e->last_tx, e->tx_packets);
	sqlite3_bind_int64(st, EP_N_CLIENTS, e->n_clients);
	if (hint_kind_name((enum hint_kind)e->app))
		sqlite3_bind_text(st, EP_APP, hint_kind_name((enum hint_kind)e->app), -1,
				  SQLITE_STATIC);
	sqlite3_bind_int64(st, EP_ERRORS, e->errors);
	bind_time(st, EP_ERR_FIRST_NS, e->err_first, e->errors);
	bind_time(st, EP_ERR_LAST_NS, e->err_last, e->errors);
	bind_time(st, EP_TX_BEFORE_ERR_NS, e->tx_before_err, e->errors && e->tx_before_err);
	bind_time(st, EP_TX_AFTER_ERR_NS, e->tx_after_err, e->errors && e->tx_after_err);
	sqlite3_bind_int64(st, EP_TX_DURING_ERR, (sqlite3_int64)e->tx_during_err);
	/* Requests from the first error on (the refused one included) that got no reply; in a
	 * capture without errors, every request to an endpoint that never answered (a rotated
	 * archive's file in the middle of an outage whose errors were all rate-limited). */
	uint64_t asked = e->errors	 ? e->rx_since_err + (e->rx_packets > 0)
			 : e->tx_packets ? 0
					 : e->rx_packets;
	sqlite3_bind_int64(st, EP_RX_UNANSWERED,
			   (sqlite3_int64)(asked > e->tx_since_err ? asked - e->tx_since_err : 0));
	sqlite3_bind_int64(st, EP_N_PEERS, e->n_peers);
	sqlite3_bind_int64(st, EP_TX_REFUSED_DURING, (sqlite3_int64)e->tx_refused_during);
	sqlite3_bind_int64(st, EP_TX_OTHER_DURING, (sqlite3_int64)e->tx_other_during);
	if (step_done(x->s, st, "an endpoint") < 0)
		return -1;
	for (unsigned i = 0; i < e->n_client_addrs; i++) {
		sqlite3_bind_int64(x->cl, 1, x->s->capture_id);
		bind_addr(x->cl, 2, &e->ip);
		sqlite3_bind_int(x->cl, 3, e->port);
		bind_addr(x->cl, 4, &e->clients[i]);
		if (step_done(x->s, x->cl, "a client") < 0)
			return -1;
	}
	return 0;
}

static int store_ttl(const struct pm_addr *ip, uint8_t ttl, uint64_t packets, void *arg)
{
	struct ep_ctx *x = arg;
	sqlite3_bind_int64(x->ttl, 1, x->s->capture_id);
	bind_addr(x->ttl, 2, ip);
	sqlite3_bind_int(x->ttl, 3, ttl);
	sqlite3_bind_int64(x->ttl, 4, (sqlite3_int64)packets);
	return step_done(x->s, x->ttl, "a TTL");
}

static int store_source_port(uint16_t port, uint64_t datagrams, uint64_t bytes, void *arg)
{
	struct ep_ctx *x = arg;
	sqlite3_bind_int64(x->sp, 1, x->s->capture_id);
	sqlite3_bind_int(x->sp, 2, port);
	sqlite3_bind_int64(x->sp, 3, (sqlite3_int64)datagrams);
	sqlite3_bind_int64(x->sp, 4, (sqlite3_int64)bytes);
	return step_done(x->s, x->sp, "a source port");
}

static int store_endpoints(struct store *s, struct corr *c)
{
	struct ep_ctx x = {.s = s};
	int rc =
	    prepare(s,
		    "INSERT INTO %s.endpoints (capture_id, ip, port, rx_packets, rx_bytes,"
		    " tx_packets, tx_bytes, first_rx_ns, last_rx_ns, first_tx_ns, last_tx_ns,"
		    " n_clients, app, errors, err_first_ns, err_last_ns, tx_before_err_ns,"
		    " tx_after_err_ns, tx_during_err, rx_unanswered, n_peers, tx_refused_during,"
		    " tx_other_during) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		    " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
		    EP__END - 1, &x.ep);
	if (rc == 0)
		rc = prepare(s,
			     "INSERT OR IGNORE INTO %s.endpoint_clients (capture_id, ip, port,"
			     " client_ip) VALUES (?1, ?2, ?3, ?4)",
			     4, &x.cl);
	if (rc == 0)
		rc = prepare(s,
			     "INSERT OR IGNORE INTO %s.host_ttls (capture_id, ip, ttl, packets)"
			     " VALUES (?1, ?2, ?3, ?4)",
			     4, &x.ttl);
	if (rc == 0)
		rc = corr_each_endpoint(c, store_endpoint, &x);
	if (rc == 0)
		rc = prepare(s,
			     "INSERT INTO %s.source_ports (capture_id, port, datagrams, bytes)"
			     " VALUES (?1, ?2, ?3, ?4)",
			     4, &x.sp);
	if (rc == 0)
		rc = corr_each_ttl(c, store_ttl, &x);
	if (rc == 0)
		rc = corr_each_source_port(c, store_source_port, &x);
	unprepare(x.ep);
	unprepare(x.cl);
	unprepare(x.ttl);
	unprepare(x.sp);
	return rc;
}

static int store_anomalies(struct store *s, const struct scan_stats *st)
{
	sqlite3_stmt *ins = NULL;
	int rc = prepare(s,
			 "INSERT INTO %s.capture_anomalies (capture_id, name, count)"
			 " VALUES (?1, ?2, ?3)",
			 3, &ins);
	for (int a = 0; rc == 0 && a < AN__COUNT; a++) {
		if (!st->anomalies[a])
			continue;
		sqlite3_bind_int64(ins, 1, s->capture_id);
		sqlite3_bind_text(ins, 2, anomaly_name((enum anomaly)a), -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)st->anomalies[a]);
		rc = step_done(s, ins, "an anomaly count");
	}
	unprepare(ins);
	return rc;
}

static int store_capture_row(struct store *s, const struct capture_facts *f)
{
	enum {
		CA_ID = 1,
		CA_SIZE,
		CA_CONTENT_HASH,
		CA_FORMAT,
		CA_LINK_TYPE,
		CA_LINK_TYPE_NAME,
		CA_PRECISION,
		CA_SNAPLEN,
		CA_PACKETS,
		CA_BYTES,
		CA_UDP_PACKETS,
		CA_ICMP_ERRORS,
		CA_PORT_UNREACHABLES,
		CA_FIRST_NS,
		CA_LAST_NS,
		CA_COMPLETE,
		CA_READ_ERROR,
		CA_STATS_CAPPED,
		CA_SHA256,
		CA__END
	};
	sqlite3_stmt *st = NULL;
	const struct scan_stats *ss = f->stats;
	int rc = prepare(s,
			 "UPDATE %s.captures SET size = ?2, content_hash = ?3, format = ?4,"
			 " link_type = ?5, link_type_name = ?6, precision = ?7, snaplen = ?8,"
			 " packets = ?9, bytes = ?10, udp_packets = ?11, icmp_errors = ?12,"
			 " port_unreachables = ?13, first_ns = ?14, last_ns = ?15, complete = ?16,"
			 " read_error = ?17, stats_capped = ?18, sha256 = ?19 WHERE id = ?1",
			 CA__END - 1, &st);
	if (rc < 0)
		return -1;
	sqlite3_bind_int64(st, CA_ID, s->capture_id);
	if (f->size >= 0)
		sqlite3_bind_int64(st, CA_SIZE, f->size);
	sqlite3_bind_text(st, CA_CONTENT_HASH, f->hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, CA_FORMAT, f->format, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, CA_LINK_TYPE, f->link_type);
	if (f->link_name)
		sqlite3_bind_text(st, CA_LINK_TYPE_NAME, f->link_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, CA_PRECISION, f->precision);
	sqlite3_bind_int64(st, CA_SNAPLEN, f->snaplen);
	sqlite3_bind_int64(st, CA_PACKETS, (sqlite3_int64)ss->packets);
	sqlite3_bind_int64(st, CA_BYTES, (sqlite3_int64)ss->bytes);
	sqlite3_bind_int64(st, CA_UDP_PACKETS, (sqlite3_int64)ss->udp);
	sqlite3_bind_int64(st, CA_ICMP_ERRORS, (sqlite3_int64)ss->icmp_unreach);
	sqlite3_bind_int64(st, CA_PORT_UNREACHABLES, (sqlite3_int64)ss->port_unreach);
	bind_time(st, CA_FIRST_NS, ss->first_ns, ss->packets);
	bind_time(st, CA_LAST_NS, ss->last_ns, ss->packets);
	sqlite3_bind_int(st, CA_COMPLETE, f->read_error == NULL);
	if (f->read_error)
		sqlite3_bind_text(st, CA_READ_ERROR, f->read_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, CA_STATS_CAPPED, corr_capped(f->corr));
	if (f->sha256 && f->sha256[0])
		sqlite3_bind_text(st, CA_SHA256, f->sha256, -1, SQLITE_TRANSIENT);
	rc = step_done(s, st, "the capture");
	unprepare(st);
	return rc;
}

int store_finish(struct store *s, const struct capture_facts *f, char *errbuf)
{
	if (store_flush(s) < 0 || store_flows(s, f->corr) < 0 || store_endpoints(s, f->corr) < 0 ||
	    store_anomalies(s, f->stats) < 0 || store_capture_row(s, f) < 0)
		goto error;
	unprepare(s->ev);
	s->ev = NULL;
	if (db_exec(s->db, s->nested ? "RELEASE capture" : "COMMIT", s->errbuf) < 0)
		goto error;
	s->in_transaction = false;
	fk_restore(s);
	free(s);
	return 0;
error:
	snprintf(errbuf, DB_ERRBUF_SIZE, "%s", s->errbuf);
	store_abort(s);
	return -1;
}
