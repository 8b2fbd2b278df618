/* scan.c - the per-packet loop: every record counted and dissected, interesting ones handed on.
 * With a helper thread free, reading and dissecting run on it, and the caller's thread gets
 * the UDP datagrams and ICMP errors through a ring, with the byte ranges of whole records to
 * hash: the two halves of the work (file to dissection; correlation, storage and the
 * capture's identity) each take a core. */
#include "analyzer/scan.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/stream.h"

#define RING_SLOTS 1024	 /* dissected records between the threads (a power of two) */
#define PIN_BUFFERS 4	 /* the reader's buffers (1 MiB each) the ring's records point into */
#define PUBLISH_EVERY 32 /* records filled or used before the other thread is told */
#define SPINS 512	 /* polls of the other thread's progress before sleeping */
/* A thread that finds nothing to do after its spin sleeps until a batch is there, not the
 * next record or slot: a full ring until REFILL slots are free, an empty one until
 * DRAIN_BATCH records are (or the reader ends or waits), so that the threads wake each other
 * once a batch instead of once a publication (each wake is a system call or two). */
#define REFILL (RING_SLOTS / 2)
#define DRAIN_BATCH (RING_SLOTS / 4)
/* How many records before its turn a datagram is shown to the scan_ahead_fn: far enough for
 * a miss to memory to be served while the records between are handled (a datagram takes
 * 50-100 ns), near enough for the lines not to be evicted again. */
#define AHEAD_FAR 12
#define AHEAD_NEAR 5

static void count_anomalies(struct scan_stats *st, uint64_t bits)
{
	while (bits) {
		int a = __builtin_ctzll(bits);
		bits &= bits - 1;
		if (a < AN__COUNT)
			st->anomalies[a]++;
	}
}

/* Counts and dissects one record into *d: its kind. */
static enum pkt_kind scan_one(struct scan_stats *st, int link, const struct cap_pkt *pkt,
			      int64_t *ts_out, struct dissection *d)
{
	int64_t ts = pkt->ts_sec * 1000000000LL + pkt->ts_nsec;
	*ts_out = ts;
	if (!st->packets++)
		st->first_ns = ts;
	if (ts > st->last_ns || st->packets == 1)
		st->last_ns = ts;
	if (ts < st->first_ns)
		st->first_ns = ts;
	st->bytes += pkt->caplen;
	/* Most frames are TCP: those the dissector would take by its shortcut are, for the
	 * scan, a count and nothing more (PK_OTHER, no anomaly), and go undissected. */
	if (dissect_plain_tcp4(link, pkt->data, pkt->caplen, pkt->len)) {
		d->kind = PK_OTHER;
		return PK_OTHER;
	}
	enum pkt_kind k = dissect_packet(link, pkt->data, pkt->caplen, pkt->len, d);
	if (d->anomalies)
		count_anomalies(st, d->anomalies);
	if (k == PK_UDP) {
		st->udp++;
	} else if (k == PK_ICMP_UNREACH) {
		st->icmp_unreach++;
		const struct icmp_error *ie = &d->icmp;
		if (pm_is_port_unreachable(ie->family, ie->type, ie->code))
			st->port_unreach++;
	} else if (k != PK_OTHER) {
		st->time_exceeded++;
	}
	return k;
}

static int scan_here(struct cap_reader *r, struct scan_stats *st, scan_fn fn, void *arg)
{
	struct cap_pkt pkt;
	struct dissection d;
	int link = cap_linktype(r), rc;
	int64_t ts;
	while ((rc = cap_next(r, &pkt)) == 1) {
		if (scan_one(st, link, &pkt, &ts, &d) == PK_OTHER)
			continue;
		int f = fn ? fn(&pkt, cap_packets_read(r), ts, &d, arg) : SCAN_GO_ON;
		if (f != SCAN_GO_ON)
			return f;
	}
	return rc < 0 ? -1 : 0;
}

/* ---- two threads ---- */

/* A record in the ring. Of a UDP datagram only the outer fields are copied (HEAD_BYTES, the
 * part of struct dissection before `icmp`): the rest of a slot is written for ICMP errors
 * only, so that the cache lines going from one core to the other are few. */
struct slot {
	struct cap_pkt pkt; /* its bytes stay in the reader's pinned buffer `pin` */
	size_t hash_len;    /* > 0: not a record but whole records at pkt.data to hash */
	uint64_t frame, pin;
	int64_t ts;
	struct dissection d;
};

#define HEAD_BYTES offsetof(struct dissection, icmp)

struct scan_pipe {
	struct cap_reader *r;
	struct slot *ring;
	/* Each side tells the other how far it is; a side that has to wait sets the count it
	 * waits for (*_want), then its *_sleeps flag, and sleeps; the other side wakes it once
	 * its counter reaches that count, or at once when it is about to wait itself or ends
	 * (all sequentially consistent, so one of the two sees the other's stores). What each
	 * side writes sits on a cache line of its own. */
	_Alignas(64) _Atomic uint64_t head; /* slots the reader filled */
	_Atomic uint64_t reader_want;	    /* the tail a sleeping reader waits for */
	atomic_int reader_sleeps;
	atomic_int done;		    /* the reader ended: rc and st are final */
	_Alignas(64) _Atomic uint64_t tail; /* slots the caller is done with */
	_Atomic uint64_t caller_want;	    /* the head a sleeping caller waits for */
	atomic_int caller_sleeps;
	atomic_int stop; /* the caller wants no more */
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t wake_reader, wake_caller;
	uint64_t filled; /* the reader's own count: head lags it by less than PUBLISH_EVERY */
	int rc;
	struct scan_stats st;
};

/* Wakes the other side if it sleeps (an end, or a wait of this side's own). */
static void wake(struct scan_pipe *p, atomic_int *sleeps, pthread_cond_t *cond)
{
	if (atomic_load(sleeps)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(cond);
		pthread_mutex_unlock(&p->lock);
	}
}

/* Wakes the other side if it sleeps waiting for a count this side's counter reached. */
static void wake_at(struct scan_pipe *p, uint64_t count, _Atomic uint64_t *want, atomic_int *sleeps,
		    pthread_cond_t *cond)
{
	if (atomic_load(sleeps) && count >= atomic_load(want)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(cond);
		pthread_mutex_unlock(&p->lock);
	}
}

/* Shows the caller the filled slots; `now`: the reader is about to wait, so the caller must
 * not sleep on for a batch that will not come. */
static void publish_head(struct scan_pipe *p, bool now)
{
	atomic_store(&p->head, p->filled);
	if (now)
		wake(p, &p->caller_sleeps, &p->wake_caller);
	else
		wake_at(p, p->filled, &p->caller_want, &p->caller_sleeps, &p->wake_caller);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Waits until *counter reaches `need` or *end is set. It spins for a while, hoping for
 * `want` (>= need: a batch); if even `need` is not there then, it sleeps with *want_at =
 * want and *sleeps set, and the other side wakes it once the counter reaches `want`, or at
 * once when it ends or is about to wait itself. The counter's value then. */
static uint64_t wait_for(struct scan_pipe *p, _Atomic uint64_t *counter, uint64_t need,
			 uint64_t want, atomic_int *end, _Atomic uint64_t *want_at,
			 atomic_int *sleeps, pthread_cond_t *cond)
{
	uint64_t v;
	for (int i = 0; i < SPINS; i++) {
		if (atomic_load(counter) >= want || atomic_load(end))
			return atomic_load(counter); /* read again: the end may have moved it */
		cpu_relax();
	}
	if ((v = atomic_load(counter)) >= need)
		return v;
	pthread_mutex_lock(&p->lock);
	atomic_store(want_at, want);
	atomic_store(sleeps, 1);
	while (atomic_load(counter) < need && !atomic_load(end))
		pthread_cond_wait(cond, &p->lock);
	atomic_store(sleeps, 0);
	pthread_mutex_unlock(&p->lock);
	return atomic_load(counter);
}

/* The reader waits for the caller to be done with `need` slots (`want` would be better), or
 * to stop. */
static uint64_t reader_wait(struct scan_pipe *p, uint64_t need, uint64_t want)
{
	return wait_for(p, &p->tail, need, want, &p->stop, &p->reader_want, &p->reader_sleeps,
			&p->wake_reader);
}

/* The caller waits for the reader to fill more than `seen` slots (a batch would be better),
 * or for the reader's end. */
static uint64_t caller_wait(struct scan_pipe *p, uint64_t seen)
{
	return wait_for(p, &p->head, seen + 1, seen + DRAIN_BATCH, &p->done, &p->caller_want,
			&p->caller_sleeps, &p->wake_caller);
}

/* The reader waits for room in the ring: false when the caller stopped. `*tail` is the
 * tail it last saw. A full ring that has to be slept on is slept on until REFILL slots are
 * free. */
static bool reader_room(struct scan_pipe *p, uint64_t *tail)
{
	while (p->filled - *tail >= RING_SLOTS) {
		publish_head(p, true);
		*tail = reader_wait(p, p->filled - RING_SLOTS + 1, p->filled - RING_SLOTS + REFILL);
		if (atomic_load(&p->stop))
			return false;
	}
	return true;
}

/* Queues whole records of buffer `seq` for the caller to hash, in their place in the file. */
static int reader_hash_job(struct scan_pipe *p, const uint8_t *records, size_t len, uint64_t seq)
{
	uint64_t tail = atomic_load(&p->tail);
	if (len == 0)
		return 0;
	if (!reader_room(p, &tail))
		return -1;
	struct slot *s = &p->ring[p->filled % RING_SLOTS];
	s->pkt.data = records;
	s->hash_len = len;
	s->pin = seq;
	p->filled++;
	return 0;
}

/* cap_pin_fn: the records of the buffer left go to the caller's hash; buffer `reuse` may be
 * overwritten once no slot the caller has not used yet points into it or an older one. */
static int pin_turn(void *arg, const uint8_t *records, size_t len, uint64_t seq, uint64_t reuse)
{
	struct scan_pipe *p = arg;
	if (reader_hash_job(p, records, len, seq) < 0)
		return -1;
	uint64_t t = atomic_load(&p->tail), past = t;
	if (reuse == UINT64_MAX)
		return 0;
	/* the first slot the caller has not used that points past `reuse`, or the end */
	while (past < p->filled && p->ring[past % RING_SLOTS].pin <= reuse)
		past++;
	while (t < past) {
		if (atomic_load(&p->stop))
			return -1;
		publish_head(p, true); /* the caller may wait for slots it has not been shown */
		t = reader_wait(p, past, past);
	}
	return atomic_load(&p->stop) ? -1 : 0;
}

static void *reader_main(void *arg)
{
	struct scan_pipe *p = arg;
	int link = cap_linktype(p->r), rc;
	uint64_t tail = 0;
	struct dissection d; /* dissected here, in this core's cache, then copied */
	struct cap_pkt pkt;
	int64_t ts;
	for (;;) {
		if (atomic_load_explicit(&p->stop, memory_order_relaxed)) {
			rc = 0;
			break;
		}
		if ((rc = cap_next(p->r, &pkt)) != 1)
			break;
		enum pkt_kind k = scan_one(&p->st, link, &pkt, &ts, &d);
		if (k == PK_OTHER)
			continue;
		if (!reader_room(p, &tail)) {
			rc = 0;
			break;
		}
		struct slot *s = &p->ring[p->filled % RING_SLOTS];
		s->pkt = pkt;
		s->hash_len = 0;
		memcpy(&s->d, &d, k == PK_UDP ? HEAD_BYTES : sizeof d);
		s->ts = ts;
		s->frame = cap_packets_read(p->r);
		s->pin = cap_pin_seq(p->r);
		if (++p->filled % PUBLISH_EVERY == 0)
			publish_head(p, false);
	}
	const uint8_t *rest;
	size_t n = cap_pin_rest(p->r, &rest);
	(void)reader_hash_job(p, rest, n, cap_pin_seq(p->r));
	p->rc = rc < 0 ? -1 : 0;
	publish_head(p, true);
	atomic_store(&p->done, 1);
	wake(p, &p->caller_sleeps, &p->wake_caller);
	return NULL;
}

static void release_tail(struct scan_pipe *p, uint64_t t)
{
	atomic_store(&p->tail, t);
	wake_at(p, t, &p->reader_want, &p->reader_sleeps, &p->wake_reader);
}

/* Shows the datagram of ring position t, if it is one, to `ahead`. */
static void look_ahead(const struct scan_pipe *p, uint64_t t, scan_ahead_fn ahead, int stage,
		       void *arg)
{
	const struct slot *s = &p->ring[t % RING_SLOTS];
	if (s->hash_len == 0 && s->d.kind == PK_UDP)
		ahead(&s->d, stage, arg);
}

/* The caller's half: hands each slot to fn. The verdict that stopped it, or SCAN_GO_ON. */
static int caller_loop(struct scan_pipe *p, scan_fn fn, scan_ahead_fn ahead, void *arg)
{
	uint64_t t = 0, head = 0;
	struct dissection udp;	     /* a UDP datagram's: the ICMP part stays as dissect_packet() */
	memset(&udp, 0, sizeof udp); /* leaves it for a datagram: all zero (no error) */
	for (;;) {
		if (t == head) {
			release_tail(p, t);
			if ((head = caller_wait(p, t)) == t)
				return SCAN_GO_ON; /* the reader ended */
		}
		const struct slot *s = &p->ring[t % RING_SLOTS];
		if (ahead) {
			if (t + AHEAD_FAR < head)
				look_ahead(p, t + AHEAD_FAR, ahead, 0, arg);
			if (t + AHEAD_NEAR < head)
				look_ahead(p, t + AHEAD_NEAR, ahead, 1, arg);
		}
		if (s->hash_len > 0) {
			cap_hash_records(p->r, s->pkt.data, s->hash_len);
			if (++t % PUBLISH_EVERY == 0)
				release_tail(p, t);
			continue;
		}
		const struct dissection *d = &s->d;
		if (d->kind == PK_UDP) {
			memcpy(&udp, d, HEAD_BYTES);
			d = &udp;
		}
		int f = fn ? fn(&s->pkt, s->frame, s->ts, d, arg) : SCAN_GO_ON;
		if (f != SCAN_GO_ON)
			return f;
		if (++t % PUBLISH_EVERY == 0)
			release_tail(p, t);
	}
}

static _Thread_local struct slot *spare_ring; /* kept from one capture to the next */

/* -1 when no second thread could be had (nothing was read then). */
static int scan_two(struct cap_reader *r, struct scan_stats *st, scan_fn fn, scan_ahead_fn ahead,
		    void *arg, atomic_int *helpers, int *rc_out)
{
	struct scan_pipe *p = calloc(1, sizeof *p);
	pthread_t tid;
	if (p == NULL)
		return -1;
	p->ring = spare_ring ? spare_ring : malloc(RING_SLOTS * sizeof *p->ring);
	spare_ring = NULL;
	if (p->ring == NULL || !cap_pin(r, PIN_BUFFERS, pin_turn, p)) {
		free(p->ring);
		free(p);
		return -1;
	}
	p->r = r;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake_reader, NULL);
	pthread_cond_init(&p->wake_caller, NULL);
	int started = pthread_create(&tid, NULL, reader_main, p) == 0;
	if (started) {
		int f = caller_loop(p, fn, ahead, arg);
		if (f != SCAN_GO_ON) {
			atomic_store(&p->stop, 1);
			wake(p, &p->reader_sleeps, &p->wake_reader);
		}
		pthread_join(tid, NULL);
		*st = p->st;
		*rc_out = f != SCAN_GO_ON ? f : p->rc;
	} else {
		cap_unpin(r); /* nothing was read: this thread reads alone */
		*rc_out = scan_here(r, st, fn, arg);
	}
	atomic_fetch_add(helpers, 1);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake_reader);
	pthread_cond_destroy(&p->wake_caller);
	if (spare_ring == NULL)
		spare_ring = p->ring;
	else
		free(p->ring);
	free(p);
	return 0;
}

int scan_capture(struct cap_reader *r, struct scan_stats *st, scan_fn fn, void *arg,
		 atomic_int *helpers)
{
	return scan_capture_ahead(r, st, fn, NULL, arg, helpers);
}

int scan_capture_ahead(struct cap_reader *r, struct scan_stats *st, scan_fn fn, scan_ahead_fn ahead,
		       void *arg, atomic_int *helpers)
{
	int rc;
	memset(st, 0, sizeof *st);
	if (stream_take_helper(helpers)) {
		if (scan_two(r, st, fn, ahead, arg, helpers, &rc) == 0)
			return rc;
		atomic_fetch_add(helpers, 1);
	}
	return scan_here(r, st, fn, arg);
}

void scan_drop_spares(void)
{
	free(spare_ring);
	spare_ring = NULL;
}
