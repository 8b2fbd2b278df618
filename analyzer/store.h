/* store.h - writing one capture's rows (capture, events, flows, endpoints) into a database. */
#ifndef PM_STORE_H
#define PM_STORE_H

#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "analyzer/corr.h"
#include "analyzer/scan.h"

struct store;

/* Begins a capture in `db`'s database `schema` ("main", or an attached one): opens a
 * transaction and inserts its row; its flows get ids above those stored. NULL with errbuf
 * (DB_ERRBUF_SIZE) on failure. */
struct store *store_begin(sqlite3 *db, const char *schema, const char *path, const char *filter,
			  char *errbuf);

/* Inserts one ICMP error event (destination unreachable or time exceeded), or queues it for
 * the events' thread (store_allow_thread()). 0 or -1 (store_error()). */
int store_event(struct store *s, uint64_t frame, int64_t ts, const struct dissection *d,
		const struct corr_link *link);

/* Lets the capture's events go to a thread of their own once they are many (an error storm),
 * while the caller's thread goes on with the packets: for a caller with a core to spare. The
 * caller must not use the connection between its first store_event() and store_flush(). */
void store_allow_thread(struct store *s, bool allow);

/* Waits until every event passed to store_event() is stored. 0, or -1 (store_error()). */
int store_flush(struct store *s);

/* A capture being stored: the scan_fn store_scanned() takes it as its argument. */
struct store_job {
	struct store *store;
	struct corr *corr;
	const volatile sig_atomic_t *stop; /* when set and nonzero, the scan stops */
};

/* The scan_fn that stores (arg: a struct store_job): a UDP datagram goes to the
 * correlation, an ICMP error to the correlation and then the events. SCAN_GO_ON,
 * SCAN_STOPPED, or SCAN_DB_ERROR (store_error()). */
int store_scanned(const struct cap_pkt *pkt, uint64_t frame, int64_t ts, const struct dissection *d,
		  void *arg);

/* The scan_ahead_fn to go with store_scanned(): the correlation's tables for a datagram to
 * come (corr_udp_ahead()). */
void store_ahead(const struct dissection *d, int stage, void *arg);

struct capture_facts {
	long long size; /* bytes on disk, -1 for stdin */
	const char *hash, *format, *link_name, *read_error;
	const char *sha256; /* hex, or NULL / "" when not asked or not computable */
	int link_type, precision;
	long long snaplen;
	const struct scan_stats *stats;
	struct corr *corr;
};

/* The facts of capture r read to its end by scan_capture() (which returned scan_rc, with
 * the statistics st) through the correlation c; size, hash and sha256 are left for the
 * caller. */
struct capture_facts store_facts(struct cap_reader *r, int scan_rc, const struct scan_stats *st,
				 struct corr *c);

/* Stores flows, endpoints, TTLs, anomalies, fills in the capture row and commits.
 * 0, or -1 with errbuf (the transaction is rolled back). */
int store_finish(struct store *s, const struct capture_facts *f, char *errbuf);

/* The message of the last store_event() failure. */
const char *store_error(const struct store *s);

/* Rolls back and frees (after an error, or for a duplicate). */
void store_abort(struct store *s);

/* The statements of the captures stored through `db` by this thread are kept prepared for the
 * next capture; store_forget_statements() finalizes them (before db is closed). */
void store_keep_statements(sqlite3 *db);
void store_forget_statements(void);

#endif
