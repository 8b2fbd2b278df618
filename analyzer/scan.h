/* scan.h - the per-packet loop over one open capture: read, count, dissect, hand on. */
#ifndef PM_SCAN_H
#define PM_SCAN_H

#include <stdint.h>

#include "analyzer/capture.h"
#include "dissectors/dissect.h"

struct scan_stats {
	uint64_t packets, bytes; /* records read (after the filter) and their captured bytes */
	uint64_t udp, icmp_unreach, port_unreach, time_exceeded;
	int64_t first_ns, last_ns;
	uint64_t anomalies[AN__COUNT];
};

/* What a scan_fn returns: SCAN_GO_ON, or why the scan stops (scan_capture() returns it). */
enum scan_verdict {
	SCAN_GO_ON = 0,
	SCAN_OUTPUT_ERROR = 2, /* the callback could not write its output */
	SCAN_DB_ERROR = 3,     /* the callback could not store the packet */
	SCAN_STOPPED = 4,      /* a signal asked to stop */
};

/* Called for every ICMP error and UDP datagram; `frame` is the 1-based record number in the
 * file. Returns an enum scan_verdict: anything but SCAN_GO_ON stops the scan. */
typedef int (*scan_fn)(const struct cap_pkt *pkt, uint64_t frame, int64_t ts_ns,
		       const struct dissection *d, void *arg);

/* Called, when records are queued between two threads, for a UDP datagram some records
 * before fn gets it: first with stage 0 (AHEAD_FAR records before), then with stage 1
 * (AHEAD_NEAR before), so that fn's tables can be brought into the cache beforehand (only
 * the outer fields of d, up to `payload`, are valid). Never called for every datagram. */
typedef void (*scan_ahead_fn)(const struct dissection *d, int stage, void *arg);

/* Reads `r` to its end. Returns 0 at a clean end, -1 on a read error (cap_error(r)), or
 * the callback's verdict when it stopped the scan. *st is cleared first.
 * With a thread to take from `helpers` (stream_take_helper(); NULL: none), `r` is read and
 * dissected on it, pinned (cap_pin()), while fn runs in the calling thread on records in
 * the order of the file, and the content hash is taken there too (cap_hash_records()): fn
 * must not use `r`, and sees each record's bytes valid until it returns, as in one thread.
 * A capture read through libpcap is read in the calling thread. */
int scan_capture(struct cap_reader *r, struct scan_stats *st, scan_fn fn, void *arg,
		 atomic_int *helpers);

/* scan_capture() with a scan_ahead_fn (NULL: none) called with the same arg. */
int scan_capture_ahead(struct cap_reader *r, struct scan_stats *st, scan_fn fn, scan_ahead_fn ahead,
		       void *arg, atomic_int *helpers);

/* Frees the ring the calling thread kept from one two-thread scan for the next. */
void scan_drop_spares(void);

#endif
