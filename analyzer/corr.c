/* corr.c - streaming UDP correlation with bounded tables (endpoints, recent flows, touched flows).
 */
#include "analyzer/corr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FLOW_WAYS 4
#define TTL_MAX_ENTRIES 65536
#define APP_TRIES 8	   /* datagrams of an endpoint looked at for its application */
#define FANOUT_SLOTS 65536 /* sockets whose peers are counted at once (1 MiB) */
#define FC_DIRTY_MAX 16384 /* flow-cache sets remembered for clearing; past them, all */
#define EP_CAP_FIRST 512   /* endpoint slots of a new capture (the table grows) */
/* Words of the filter that lets a datagram skip the touched-flow lookups: 2^20 bits, about
 * 6 % false hits with 65,536 touched flows. With 2^16 bits, 61 % of a storm's datagrams and
 * 15 % of 10 M small packets' looked a flow up (two probes into 7 MiB) and found none. */
#define TF_BLOOM_WORDS 16384

/* A recent flow in the set-associative cache; side 0 is the lower (addr, port). */
struct flow_slot {
	struct pm_addr a, b;
	uint16_t ap, bp;
	uint8_t first_dir;   /* direction of the first datagram: 0 = a->b, 1 = b->a */
	uint8_t last_side;   /* direction of the latest datagram */
	uint32_t run_len[2]; /* datagrams in the latest unbroken run each way */
	int64_t first, last_dir[2];
	int64_t run_start[2]; /* first datagram of that run */
	uint64_t packets[2], bytes[2];
};

/* A set of the flow cache: its ways' tags (the flow hash's upper half << 32 | last use at
 * 2^24 ns, 0 = empty) and their flows' places in the dense array of flows, on one line. */
struct flow_set {
	_Alignas(64) uint64_t tag[FLOW_WAYS];
	uint32_t at[FLOW_WAYS];
};

/* How many peers a socket (ip, port) sends to: a peer-to-peer client's socket talks to many.
 * A lossy table: a socket that hashes to a slot another one holds starts it afresh. */
/* A UDP source port's datagrams and bytes: both counted for each datagram, so together. */
struct sport_count {
	uint64_t datagrams, bytes;
};

struct fanout {
	uint32_t tag;	/* hash of the socket, 0 = empty */
	uint32_t peers; /* distinct peers, estimated from bits */
	uint64_t bits;	/* hashed peer addresses */
};

struct ttl_slot {
	struct pm_addr ip;
	uint8_t ttl, used;
	uint64_t packets;
};

struct corr {
	/* The endpoints, ep_n of them in the order they came, in room for ep_alloc (which
	 * doubles up to ep_max), found through ep_idx: open addressing with linear probing over
	 * ep_cap slots, each the hash's upper half << 32 | the endpoint's place + 1 (0 = empty),
	 * so that a probe that does not match reads no endpoint. At most half of ep_idx is in
	 * use; it doubles up to ep_cap_max. Only the index is sparse: a full table of 262,144
	 * endpoints is 80 MB of endpoints and 4 MiB of index, where open addressing over the
	 * endpoints themselves takes 159 MB, and more while it is copied to grow. */
	struct endpoint *ep;
	uint32_t *ep_bounced; /* parallel to ep: replies from it that bounced */
	uint64_t *ep_idx;
	size_t ep_cap, ep_n, ep_alloc, ep_max, ep_cap_max;
	size_t ep_since_evict; /* new endpoints (added or refused) since the last
				* eviction pass: what pays for the next one */
	/* The recent-flow cache: n_sets sets of FLOW_WAYS ways (struct flow_set, 4 MiB at
	 * most), a miss reads no flow. The flows themselves are packed in the order the ways
	 * were first filled (fc_n of them): room for n_sets * FLOW_WAYS is reserved, and only
	 * what a capture fills is memory (a file with 5,000 flows touches 600 KB, not 30 MiB:
	 * two workers reading rotated files held 60 MiB of flow cache between them). */
	struct flow_slot *fc;
	struct flow_set *fc_set;
	size_t n_sets, fc_n;
	uint64_t *tf_bloom; /* TF_BLOOM_WORDS: bits of the flow hashes of touched flows */
	struct touched_flow *tf;
	int32_t *tf_index; /* open addressing over tf, -1 = empty */
	size_t tf_n, tf_max, tf_index_cap;
	struct ttl_slot *ttl; /* (ip, ttl) of UDP datagrams from service endpoints */
	size_t ttl_cap, ttl_n;
	struct ttl_slot *rep;	       /* addresses that sent ICMP errors (ttl unused) */
	uint32_t *ttl_used, *rep_used; /* the slots of ttl and rep in use (ttl_n, rep_n) */
	struct fanout *fan;	       /* FANOUT_SLOTS sockets: the peers each sent to */
	struct sport_count *sport; /* per UDP source port: datagrams and bytes, one line apart */
	/* What a capture wrote in the tables above, so that the next capture clears those
	 * entries and not the 5 MiB of tables (589 rotated files spent a tenth of their run in
	 * memset): sets of the flow cache given a flow (fc_dirty_n > FC_DIRTY_MAX: clear it
	 * all), fan-out slots taken, source ports counted. */
	uint32_t *fc_dirty, *fan_dirty;
	uint16_t *sport_dirty;
	size_t fc_dirty_n, fan_dirty_n, sport_dirty_n;
	uint64_t quoted_ports[65536 / 64]; /* ports a port unreachable quoted */
	size_t rep_n;
	bool capped;
	uint64_t evictions; /* eviction passes over the endpoint table */
};

static void corr_destroy(struct corr *c);
static uint64_t *touched_bloom_word(struct corr *c, const struct touched_flow *f, uint64_t *bit);

/* The flow cache (26 MiB) in 2 MiB pages where the kernel has them: a datagram's lookup is
 * one random access into it, and with 4 KiB pages each also missed the TLB. Zeroed, like
 * calloc(); NULL on failure. */
static void *table_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

static void table_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t addr_hash(const struct pm_addr *a, uint64_t seed)
{
	uint64_t w0 = 0, w1 = 0;
	memcpy(&w0, a->b, 8);
	memcpy(&w1, a->b + 8, 8);
	/* an IPv4 address's upper half is zero: the inner mix is then a constant (folded at
	 * compile time), the same value as computed */
	uint64_t inner = w1 == 0 && a->family == 4 ? mix64(4) : mix64(w1 + a->family);
	return mix64(seed ^ w0 ^ inner);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

/* A worker reads one capture after another with tables of the same size: corr_free() keeps
 * the last one for its thread, and corr_new() empties it instead of allocating and zeroing
 * about 21 MiB again (with 589 rotated files, the calloc()s and their page faults were a
 * fifth of the run). */
static _Thread_local struct corr *spare;

static size_t ep_cap_first(size_t ep_cap_max)
{
	return ep_cap_max < EP_CAP_FIRST ? ep_cap_max : EP_CAP_FIRST;
}

/* Room for endpoints a new capture starts with: what its first index holds at half load. */
static size_t ep_alloc_first(const struct corr *c)
{
	size_t n = ep_cap_first(c->ep_cap_max) / 2;
	return n < c->ep_max ? n : c->ep_max;
}

/* Empties c as corr_new() leaves it: the tables touched are cleared, every count is 0. */
static bool corr_clear(struct corr *c)
{
	for (size_t i = 0; i < c->ttl_n; i++)
		memset(&c->ttl[c->ttl_used[i]], 0, sizeof *c->ttl);
	for (size_t i = 0; i < c->rep_n; i++)
		memset(&c->rep[c->rep_used[i]], 0, sizeof *c->rep);
	if (c->ep_cap != ep_cap_first(c->ep_cap_max) || c->ep_alloc != ep_alloc_first(c)) {
		/* it grew: back to its first size (an endpoint is cleared when it is added) */
		uint64_t *idx = calloc(ep_cap_first(c->ep_cap_max), sizeof *idx);
		struct endpoint *ep = malloc(ep_alloc_first(c) * sizeof *ep);
		uint32_t *b = malloc(ep_alloc_first(c) * sizeof *b);
		if (!idx || !ep || !b) {
			free(idx);
			free(ep);
			free(b);
			return false;
		}
		free(c->ep_idx), free(c->ep), free(c->ep_bounced);
		c->ep_idx = idx, c->ep = ep, c->ep_bounced = b;
		c->ep_cap = ep_cap_first(c->ep_cap_max), c->ep_alloc = ep_alloc_first(c);
	} else if (c->ep_n) {
		memset(c->ep_idx, 0, c->ep_cap * sizeof *c->ep_idx);
	}
	if (c->fc_dirty_n > FC_DIRTY_MAX)
		memset(c->fc_set, 0, c->n_sets * sizeof *c->fc_set);
	else
		for (size_t i = 0; i < c->fc_dirty_n; i++)
			memset(&c->fc_set[c->fc_dirty[i]], 0, sizeof *c->fc_set);
	for (size_t i = 0; i < c->tf_n; i++) {
		uint64_t bit;
		c->tf_index[c->tf[i].index_slot] = -1;
		*touched_bloom_word(c, &c->tf[i], &bit) = 0;
	}
	for (size_t i = 0; i < c->fan_dirty_n; i++)
		memset(&c->fan[c->fan_dirty[i]], 0, sizeof *c->fan);
	for (size_t i = 0; i < c->sport_dirty_n; i++)
		c->sport[c->sport_dirty[i]] = (struct sport_count){0};
	/* Every other field starts at 0, as calloc() leaves it in corr_new(). */
	const struct corr keep = *c;
	memset(c, 0, sizeof *c);
	c->ep = keep.ep, c->ep_bounced = keep.ep_bounced, c->ep_cap = keep.ep_cap;
	c->ep_idx = keep.ep_idx, c->ep_alloc = keep.ep_alloc;
	c->ep_max = keep.ep_max, c->ep_cap_max = keep.ep_cap_max;
	c->fc = keep.fc, c->fc_set = keep.fc_set, c->n_sets = keep.n_sets;
	c->tf = keep.tf, c->tf_index = keep.tf_index, c->tf_max = keep.tf_max;
	c->tf_bloom = keep.tf_bloom;
	c->tf_index_cap = keep.tf_index_cap;
	c->ttl = keep.ttl, c->rep = keep.rep, c->ttl_cap = keep.ttl_cap;
	c->ttl_used = keep.ttl_used, c->rep_used = keep.rep_used;
	c->fan = keep.fan, c->sport = keep.sport;
	c->fc_dirty = keep.fc_dirty, c->fan_dirty = keep.fan_dirty;
	c->sport_dirty = keep.sport_dirty;
	return true;
}

struct corr *corr_new(size_t max_endpoints, size_t max_flows)
{
	struct corr *c = spare;
	spare = NULL;
	if (c && c->ep_max == (max_endpoints < 64 ? 64 : max_endpoints) &&
	    c->n_sets == pow2_at_least(max_flows / FLOW_WAYS) && corr_clear(c))
		return c;
	corr_free(c);
	corr_drop_spare();
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ep_max = max_endpoints < 64 ? 64 : max_endpoints;
	c->ep_cap_max = pow2_at_least(c->ep_max + c->ep_max / 2);
	c->ep_cap = ep_cap_first(c->ep_cap_max);
	c->n_sets = pow2_at_least(max_flows / FLOW_WAYS);
	c->tf_max = max_flows < 1024 ? 1024 : max_flows / 4;
	c->tf_index_cap = pow2_at_least(c->tf_max * 2);
	c->ttl_cap = pow2_at_least(TTL_MAX_ENTRIES * 2);
	c->ep_alloc = ep_alloc_first(c);
	c->ep = malloc(c->ep_alloc * sizeof *c->ep);
	c->ep_bounced = malloc(c->ep_alloc * sizeof *c->ep_bounced);
	c->ep_idx = calloc(c->ep_cap, sizeof *c->ep_idx);
	/* Not cleared: a flow is read only once its way's tag matched, and filled when the tag
	 * is set (flow_find), so the 30 MiB are never zeroed per capture (200 rotated files made
	 * that memset the first item of the profile); pages never filled are never touched. */
	c->fc = table_alloc(c->n_sets * FLOW_WAYS * sizeof *c->fc);
	c->fc_set = table_alloc(c->n_sets * sizeof *c->fc_set);
	c->tf = calloc(c->tf_max, sizeof *c->tf);
	c->tf_index = malloc(c->tf_index_cap * sizeof *c->tf_index);
	c->tf_bloom = calloc(TF_BLOOM_WORDS, sizeof *c->tf_bloom);
	c->ttl = calloc(c->ttl_cap, sizeof *c->ttl);
	c->rep = calloc(c->ttl_cap, sizeof *c->rep);
	c->ttl_used = malloc(TTL_MAX_ENTRIES * sizeof *c->ttl_used);
	c->rep_used = malloc(TTL_MAX_ENTRIES * sizeof *c->rep_used);
	c->fan = calloc(FANOUT_SLOTS, sizeof *c->fan);
	c->sport = calloc(65536, sizeof *c->sport);
	c->fc_dirty = malloc(FC_DIRTY_MAX * sizeof *c->fc_dirty);
	c->fan_dirty = malloc(FANOUT_SLOTS * sizeof *c->fan_dirty);
	c->sport_dirty = malloc(65536 * sizeof *c->sport_dirty);
	if (!c->fc_dirty || !c->fan_dirty || !c->sport_dirty || !c->fan || !c->sport || !c->ep ||
	    !c->ep_bounced || !c->ep_idx || !c->fc || !c->fc_set || !c->tf || !c->tf_index ||
	    !c->tf_bloom || !c->ttl || !c->rep || !c->ttl_used || !c->rep_used) {
		corr_free(c);
		return NULL;
	}
	memset(c->tf_index, 0xff, c->tf_index_cap * sizeof *c->tf_index);
	return c;
}

void corr_free(struct corr *c)
{
	if (!c)
		return;
	if (!spare) {
		spare = c;
		return;
	}
	corr_destroy(c);
}

void corr_drop_spare(void)
{
	struct corr *c = spare;
	spare = NULL;
	if (c)
		corr_destroy(c);
}

static void corr_destroy(struct corr *c)
{
	free(c->ttl_used);
	free(c->rep_used);
	free(c->ep);
	free(c->ep_bounced);
	free(c->ep_idx);
	table_free(c->fc, c->n_sets * FLOW_WAYS * sizeof *c->fc);
	table_free(c->fc_set, c->n_sets * sizeof *c->fc_set);
	free(c->tf);
	free(c->tf_index);
	free(c->tf_bloom);
	free(c->ttl);
	free(c->rep);
	free(c->fan);
	free(c->sport);
	free(c->fc_dirty);
	free(c->fan_dirty);
	free(c->sport_dirty);
	free(c);
}

/* ---- endpoint table ---- */

static uint64_t ep_tag(uint64_t h)
{
	return h & ~0xffffffffULL;
}

/* The index slot of (ip, port), whose hash is h: the one that holds it, or the empty one. */
static size_t ep_slot(const struct corr *c, const struct pm_addr *ip, uint16_t port, uint64_t h)
{
	size_t mask = c->ep_cap - 1, i = (size_t)h & mask;
	for (uint64_t v; (v = c->ep_idx[i]) != 0; i = (i + 1) & mask) {
		if (ep_tag(v) != ep_tag(h))
			continue;
		const struct endpoint *e = &c->ep[(uint32_t)v - 1];
		if (e->port == port && pm_addr_eq(&e->ip, ip))
			break;
	}
	return i;
}

/* Indexes ep[0, ep_n) in idx, cap empty slots. */
static void ep_index(const struct corr *c, uint64_t *idx, size_t cap)
{
	for (size_t k = 0; k < c->ep_n; k++) {
		uint64_t h = addr_hash(&c->ep[k].ip, c->ep[k].port);
		size_t i = (size_t)h & (cap - 1);
		while (idx[i])
			i = (i + 1) & (cap - 1);
		idx[i] = ep_tag(h) | (k + 1);
	}
}

/* An index of new_cap slots; false when out of memory (the old one stays). */
static bool ep_index_grow(struct corr *c, size_t new_cap)
{
	uint64_t *idx = calloc(new_cap, sizeof *idx);
	if (!idx)
		return false;
	ep_index(c, idx, new_cap);
	free(c->ep_idx);
	c->ep_idx = idx, c->ep_cap = new_cap;
	return true;
}

/* Room for one more endpoint; false when out of memory. */
static bool ep_room(struct corr *c)
{
	if (c->ep_n < c->ep_alloc)
		return true;
	size_t n = c->ep_alloc * 2 < c->ep_max ? c->ep_alloc * 2 : c->ep_max;
	struct endpoint *ep = n > c->ep_alloc ? realloc(c->ep, n * sizeof *ep) : NULL;
	if (!ep)
		return false;
	c->ep = ep;
	uint32_t *b = realloc(c->ep_bounced, n * sizeof *b);
	if (!b)
		return false; /* ep is bigger already: harmless, ep_alloc stays */
	c->ep_bounced = b, c->ep_alloc = n;
	return true;
}

/* Usefulness of an endpoint for the diagnosis: errors first, then traffic. */
static bool ep_keep(const struct endpoint *e, uint32_t bounced, uint64_t threshold)
{
	return e->errors > 0 || bounced > 0 || e->rx_packets + e->tx_packets > threshold;
}

/* Drops the least useful quarter (or more) of the table and indexes the survivors again, in
 * place. The threshold doubles until enough would go, or until it passes the busiest
 * endpoint's traffic (then only endpoints with errors or bounced replies are left, which are
 * never dropped): at most 1 + log2(max traffic) <= 65 counting passes over the endpoints,
 * one pass that keeps the survivors in their order, and one over the index. */
static void ep_evict(struct corr *c)
{
	size_t target = c->ep_max - c->ep_max / 4, kept = c->ep_n;
	uint64_t threshold = 0, busiest = 0;
	for (size_t i = 0; i < c->ep_n; i++)
		if (c->ep[i].rx_packets + c->ep[i].tx_packets > busiest)
			busiest = c->ep[i].rx_packets + c->ep[i].tx_packets;
	for (int round = 0; round < 64 && kept > target; round++, threshold = threshold * 2 + 1) {
		kept = 0;
		for (size_t i = 0; i < c->ep_n; i++)
			kept += ep_keep(&c->ep[i], c->ep_bounced[i], threshold);
		if (threshold >= busiest) {
			threshold = threshold * 2 + 1; /* undone below: this round's threshold */
			break;
		}
	}
	threshold = threshold ? (threshold - 1) / 2 : 0;
	size_t n = 0;
	for (size_t i = 0; i < c->ep_n; i++) {
		if (!ep_keep(&c->ep[i], c->ep_bounced[i], threshold))
			continue;
		if (n != i) {
			c->ep[n] = c->ep[i];
			c->ep_bounced[n] = c->ep_bounced[i];
		}
		n++;
	}
	c->ep_n = n;
	memset(c->ep_idx, 0, c->ep_cap * sizeof *c->ep_idx);
	ep_index(c, c->ep_idx, c->ep_cap);
	c->capped = true;
}

/*
 * Makes room for a new endpoint in a full table; false when there is none. An eviction pass
 * costs O(67 * ep_max) and runs only once ep_max / 4 new endpoints (added or refused) came
 * since the last one: when the table is full of endpoints that cannot go (all with errors),
 * new ones are refused at O(1) each until the next pass is paid for. A pass visits at most
 * 67 * ep_max endpoints (the busiest, up to 64 counting rounds, the compaction, the index
 * again) and the ep_cap < 3 * ep_max index slots (corr_new), so eviction costs at most
 * (67 + 3) * 4 = 280 visits per new endpoint, amortised, whatever the capture. When a pass frees
 * its quarter, the quarter fills before the next one, so the table evicts exactly as often as
 * without the bound.
 */
static bool ep_make_room(struct corr *c)
{
	if (c->ep_since_evict < c->ep_max / 4) {
		c->ep_since_evict++;
		c->capped = true;
		return false;
	}
	ep_evict(c);
	c->evictions++;
	c->ep_since_evict = 0;
	if (c->ep_n < c->ep_max)
		return true;
	c->ep_since_evict = 1;
	c->capped = true;
	return false;
}

/* Finds or adds (ip, port); NULL only when the table is full of endpoints with errors (or
 * there is no memory for more). *slot_out: its place in ep. */
static struct endpoint *ep_get(struct corr *c, const struct pm_addr *ip, uint16_t port,
			       size_t *slot_out)
{
	uint64_t h = addr_hash(ip, port);
	size_t s = ep_slot(c, ip, port, h);
	if (!c->ep_idx[s]) {
		if (c->ep_n + 1 > c->ep_cap / 2 && c->ep_cap < c->ep_cap_max &&
		    ep_index_grow(c, c->ep_cap * 2))
			s = ep_slot(c, ip, port, h);
		if (c->ep_n >= c->ep_max) {
			if (!ep_make_room(c))
				return NULL;
			s = ep_slot(c, ip, port, h);
		}
		if (!ep_room(c)) {
			c->capped = true;
			return NULL;
		}
		struct endpoint *e = &c->ep[c->ep_n];
		memset(e, 0, sizeof *e);
		e->ip = *ip;
		e->port = port;
		e->ttl_min = 255;
		c->ep_bounced[c->ep_n] = 0;
		c->ep_idx[s] = ep_tag(h) | (c->ep_n + 1);
		c->ep_n++;
		c->ep_since_evict++;
	}
	size_t at = (uint32_t)c->ep_idx[s] - 1;
	if (slot_out)
		*slot_out = at;
	return &c->ep[at];
}

/* Remembers the first CORR_MAX_CLIENTS peers exactly; past them, a 64-bit bitmap of hashed
 * addresses estimates how many distinct ones came (an undercount past ~64). */
static void ep_add_client(struct endpoint *e, const struct pm_addr *client)
{
	for (unsigned i = 0; i < e->n_client_addrs; i++)
		if (pm_addr_eq(&e->clients[i], client))
			return;
	if (e->n_client_addrs < CORR_MAX_CLIENTS) {
		e->clients[e->n_client_addrs++] = *client;
		e->n_clients++;
		return;
	}
	uint64_t bit = 1ULL << (addr_hash(client, 7) & 63);
	if (!(e->client_bits & bit)) {
		e->client_bits |= bit;
		e->n_clients++;
	}
}

static void ep_rx(struct endpoint *e, int64_t ts, const struct dissection *d)
{
	if (!e->rx_packets)
		e->first_rx = ts;
	e->last_rx = ts;
	e->rx_packets++;
	e->rx_bytes += d->udp_len;
	if (e->errors)
		e->rx_since_err++;
	ep_add_client(e, &d->src);
}

/* A 64-bit bitmap of hashed addresses: set bit, true when it was clear. */
static bool bits_add(uint64_t *bits, const struct pm_addr *a)
{
	uint64_t bit = 1ULL << (addr_hash(a, 7) & 63);
	bool fresh = !(*bits & bit);
	*bits |= bit;
	return fresh;
}

static bool bits_has(uint64_t bits, const struct pm_addr *a)
{
	return bits & (1ULL << (addr_hash(a, 7) & 63));
}

static struct fanout *fanout_slot(struct corr *c, const struct pm_addr *ip, uint16_t port,
				  uint32_t *tag)
{
	uint64_t h = addr_hash(ip, port ^ 0x5a5a0000u);
	*tag = (uint32_t)(h >> 32) | 1;
	return &c->fan[h & (FANOUT_SLOTS - 1)];
}

static void fanout_add(struct corr *c, const struct dissection *d)
{
	uint32_t tag;
	struct fanout *f = fanout_slot(c, &d->src, d->sport, &tag);
	if (f->tag != tag) {
		if (!f->tag)
			c->fan_dirty[c->fan_dirty_n++] = (uint32_t)(f - c->fan);
		f->tag = tag;
		f->peers = 0;
		f->bits = 0;
	}
	if (bits_add(&f->bits, &d->dst))
		f->peers++;
}

static uint32_t fanout_peers(struct corr *c, const struct pm_addr *ip, uint16_t port)
{
	uint32_t tag;
	const struct fanout *f = fanout_slot(c, ip, port, &tag);
	return f->tag == tag ? f->peers : 0;
}

static void ep_tx(struct endpoint *e, int64_t ts, const struct dissection *d)
{
	if (!e->tx_packets)
		e->first_tx = ts;
	e->last_tx = ts;
	e->tx_packets++;
	e->tx_bytes += d->udp_len;
	if (bits_add(&e->peer_bits, &d->dst))
		e->n_peers++;
	if (e->errors) {
		if (bits_has(e->refused_bits, &d->dst))
			e->tx_refused_since++;
		else
			e->tx_other_since++;
	}
	if (d->ttl < e->ttl_min)
		e->ttl_min = d->ttl;
	if (d->ttl > e->ttl_max)
		e->ttl_max = d->ttl;
	if (!e->errors) {
		e->tx_before_err = ts;
	} else {
		e->tx_since_err++;
		if (!e->tx_after_err)
			e->tx_after_err = ts;
	}
	/* The application shows in its first datagrams or not at all: stop looking after that. */
	if (e->app == HINT_NONE && e->app_tries < APP_TRIES) {
		e->app_tries++;
		struct app_hint h;
		uint64_t ignore = 0;
		dissect_app_hint(d->payload.p, d->payload.len, d->sport, d->dport, &h, &ignore);
		e->app = (uint8_t)h.kind;
	}
}

/* ---- recent-flow cache (set-associative, least recently used way replaced) ---- */

/* Orders the two ends; *dir = 0 when (src, sport) is side a. */
static void flow_key(const struct pm_addr *src, uint16_t sport, const struct pm_addr *dst,
		     uint16_t dport, struct flow_slot *k, int *dir)
{
	int cmp = pm_addr_order(src, dst);
	if (cmp < 0 || (cmp == 0 && sport <= dport)) {
		k->a = *src, k->ap = sport, k->b = *dst, k->bp = dport, *dir = 0;
	} else {
		k->a = *dst, k->ap = dport, k->b = *src, k->bp = sport, *dir = 1;
	}
}

static bool flow_eq(const struct flow_slot *x, const struct flow_slot *y)
{
	return x->ap == y->ap && x->bp == y->bp && pm_addr_eq(&x->a, &y->a) &&
	       pm_addr_eq(&x->b, &y->b);
}

static uint64_t flow_hash(const struct flow_slot *k)
{
	return addr_hash(&k->a, k->ap) ^ mix64(addr_hash(&k->b, k->bp) + 1);
}

/* Finds the cached flow of key k (hash h); with `add`, replaces the least recently used way
 * if absent. Recency is kept at 2^24 ns (about 17 ms) granularity. A way filled for the first
 * time in this capture takes the next flow of the dense array; a replaced one keeps its own. */
static struct flow_slot *flow_find(struct corr *c, const struct flow_slot *k, uint64_t h, bool add,
				   int64_t ts)
{
	size_t set_no = (size_t)(h & (c->n_sets - 1));
	struct flow_set *set = &c->fc_set[set_no];
	uint64_t tag = ((h >> 32) | 1) << 32, now = (uint64_t)(ts >> 24) & 0xffffffffu;
	int victim = 0;
	for (int w = 0; w < FLOW_WAYS; w++) {
		if ((set->tag[w] & ~0xffffffffULL) == tag && flow_eq(&c->fc[set->at[w]], k)) {
			set->tag[w] = tag | now;
			return &c->fc[set->at[w]];
		}
		if (set->tag[victim] &&
		    (!set->tag[w] || (uint32_t)set->tag[w] < (uint32_t)set->tag[victim]))
			victim = w;
	}
	if (!add)
		return NULL;
	if (!set->tag[0] && c->fc_dirty_n <= FC_DIRTY_MAX) { /* ways fill in order: a set's first */
		if (c->fc_dirty_n < FC_DIRTY_MAX)
			c->fc_dirty[c->fc_dirty_n] = (uint32_t)set_no;
		c->fc_dirty_n++;
	}
	if (!set->tag[victim])
		set->at[victim] = (uint32_t)c->fc_n++;
	struct flow_slot *f = &c->fc[set->at[victim]];
	memset(f, 0, sizeof *f);
	f->a = k->a, f->ap = k->ap, f->b = k->b, f->bp = k->bp;
	f->first = ts;
	set->tag[victim] = tag | now;
	return f;
}

static uint64_t *bloom_word(struct corr *c, uint64_t h, uint64_t *bit)
{
	*bit = 1ULL << ((h >> 16) & 63);
	return &c->tf_bloom[(h >> 22) & (TF_BLOOM_WORDS - 1)];
}

/* The filter word a touched flow set (touch()). */
/* The filter word and bit of a touched flow's conversation. */
static uint64_t *touched_bloom_word(struct corr *c, const struct touched_flow *f, uint64_t *bit)
{
	struct flow_slot k;
	int dir;
	flow_key(&f->client, f->client_port, &f->server, f->server_port, &k, &dir);
	return bloom_word(c, flow_hash(&k), bit);
}

/* ---- flows touched by errors ---- */

static uint64_t touched_hash(const struct pm_addr *cl, uint16_t cp, const struct pm_addr *sv,
			     uint16_t sp)
{
	return addr_hash(cl, cp) ^ mix64(addr_hash(sv, sp) + 3);
}

/* Index slot for (client, server): the slot holding it, or the empty slot to fill. */
static size_t touched_slot(const struct corr *c, const struct pm_addr *cl, uint16_t cp,
			   const struct pm_addr *sv, uint16_t sp)
{
	size_t mask = c->tf_index_cap - 1, i = (size_t)touched_hash(cl, cp, sv, sp) & mask;
	for (;;) {
		int32_t t = c->tf_index[i];
		if (t < 0)
			return i;
		const struct touched_flow *f = &c->tf[t];
		if (f->client_port == cp && f->server_port == sp && pm_addr_eq(&f->client, cl) &&
		    pm_addr_eq(&f->server, sv))
			return i;
		i = (i + 1) & mask;
	}
}

/* Counts a datagram in a touched flow, if the conversation is one. */
static void touched_count(struct corr *c, int64_t ts, const struct dissection *d)
{
	int32_t t = c->tf_index[touched_slot(c, &d->src, d->sport, &d->dst, d->dport)];
	bool c2s = true;
	if (t < 0) {
		t = c->tf_index[touched_slot(c, &d->dst, d->dport, &d->src, d->sport)];
		c2s = false;
	}
	if (t < 0)
		return;
	struct touched_flow *f = &c->tf[t];
	if (c2s) {
		f->c2s_packets++;
		f->c2s_bytes += d->udp_len;
		f->c2s_last = ts;
	} else {
		f->s2c_packets++;
		f->s2c_bytes += d->udp_len;
		f->s2c_last = ts;
	}
	f->last = ts;
}

/* Finds or starts the touched flow (client, server), seeded from the flow cache entry. */
static int32_t touch(struct corr *c, const struct pm_addr *cl, uint16_t cp,
		     const struct pm_addr *sv, uint16_t sp, const struct flow_slot *cached,
		     int client_side, int64_t ts)
{
	size_t i = touched_slot(c, cl, cp, sv, sp);
	if (c->tf_index[i] >= 0)
		return c->tf_index[i];
	if (c->tf_n >= c->tf_max) {
		c->capped = true;
		return -1;
	}
	struct touched_flow *f = &c->tf[c->tf_n];
	memset(f, 0, sizeof *f);
	f->client = *cl, f->client_port = cp, f->server = *sv, f->server_port = sp;
	f->first = f->last = ts;
	if (cached) {
		f->c2s_packets = cached->packets[client_side];
		f->c2s_bytes = cached->bytes[client_side];
		f->s2c_packets = cached->packets[!client_side];
		f->s2c_bytes = cached->bytes[!client_side];
		f->first = cached->first;
		if (f->c2s_packets)
			f->c2s_last = cached->last_dir[client_side];
		if (f->s2c_packets)
			f->s2c_last = cached->last_dir[!client_side];
		f->last = f->c2s_last > f->s2c_last ? f->c2s_last : f->s2c_last;
	}
	c->tf_index[i] = (int32_t)c->tf_n;
	f->index_slot = (uint32_t)i;
	uint64_t bit;
	*touched_bloom_word(c, f, &bit) |= bit;
	return (int32_t)c->tf_n++;
}

/* ---- host TTLs and ICMP reporters ---- */

/* Finds or adds (ip, ttl) in an open-addressing table of ttl_cap slots; NULL when full. */
static struct ttl_slot *ttl_get(struct ttl_slot *tab, uint32_t *used, size_t cap, size_t *n,
				const struct pm_addr *ip, uint8_t ttl)
{
	size_t mask = cap - 1, i = (size_t)addr_hash(ip, ttl) & mask;
	while (tab[i].used && !(tab[i].ttl == ttl && pm_addr_eq(&tab[i].ip, ip)))
		i = (i + 1) & mask;
	if (!tab[i].used) {
		if (*n >= TTL_MAX_ENTRIES)
			return NULL;
		tab[i].used = 1, tab[i].ip = *ip, tab[i].ttl = ttl;
		used[(*n)++] = (uint32_t)i;
	}
	return &tab[i];
}

static bool is_reporter(const struct corr *c, const struct pm_addr *ip)
{
	size_t mask = c->ttl_cap - 1, i = (size_t)addr_hash(ip, 0) & mask;
	while (c->rep[i].used) {
		if (pm_addr_eq(&c->rep[i].ip, ip))
			return true;
		i = (i + 1) & mask;
	}
	return false;
}

/* ---- feeding ---- */

/* The prefetching helpers are inlined: GCC finds a function that only prefetches free of
 * side effects and drops its calls (it did so to the prefetches of an earlier version). */
#define PREFETCH_HELPER static inline __attribute__((always_inline)) void

/* The cache lines a datagram will touch, asked for while earlier datagrams are correlated
 * (corr_udp_ahead()): the flow's set (its tags and ways), its endpoints' index slots, its
 * socket's fan-out slot and its source port's counts are each a miss in tables of
 * megabytes, and waited for one after another at the datagram's turn they were most of the
 * cost of a datagram (10 M small packets: corr_udp and flow_find, a third of the run). */
PREFETCH_HELPER prefetch_tables(const struct corr *c, const struct dissection *d, uint64_t flow_h)
{
	__builtin_prefetch(&c->fc_set[flow_h & (c->n_sets - 1)], 1);
	__builtin_prefetch(&c->fan[addr_hash(&d->src, d->sport ^ 0x5a5a0000u) & (FANOUT_SLOTS - 1)],
			   1);
	__builtin_prefetch(&c->sport[d->sport], 1);
	if (d->dport <= d->sport)
		__builtin_prefetch(&c->ep_idx[addr_hash(&d->dst, d->dport) & (c->ep_cap - 1)], 0);
	if (d->sport <= d->dport)
		__builtin_prefetch(&c->ep_idx[addr_hash(&d->src, d->sport) & (c->ep_cap - 1)], 0);
}

/* The endpoint (ip, port) if its index slot, asked for earlier, says where it is: its
 * first lines (counts and times) and its clients. */
PREFETCH_HELPER prefetch_endpoint(const struct corr *c, const struct pm_addr *ip, uint16_t port)
{
	uint64_t h = addr_hash(ip, port), v = c->ep_idx[h & (c->ep_cap - 1)];
	if (v == 0 || ep_tag(v) != ep_tag(h))
		return;
	const char *e = (const char *)&c->ep[(uint32_t)v - 1];
	for (size_t off = 0; off < sizeof(struct endpoint); off += 64)
		__builtin_prefetch(e + off, 1);
}

/* A flow's lines (it may straddle three). */
PREFETCH_HELPER prefetch_flow_slot(const struct flow_slot *f)
{
	const char *p = (const char *)f;
	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + 64, 1);
	__builtin_prefetch(p + sizeof *f - 1, 1);
}

/* Once the set's line is in: the flows of the datagram's set whose tag is its own, or else
 * the way flow_find() will give it (the least recently used, whose flow it clears). */
PREFETCH_HELPER prefetch_flow(const struct corr *c, uint64_t flow_h)
{
	const struct flow_set *set = &c->fc_set[flow_h & (c->n_sets - 1)];
	uint64_t tag = ((flow_h >> 32) | 1) << 32;
	int victim = 0, hits = 0;
	for (int w = 0; w < FLOW_WAYS; w++) {
		if ((set->tag[w] & ~0xffffffffULL) == tag) {
			prefetch_flow_slot(&c->fc[set->at[w]]);
			hits++;
		}
		if (set->tag[victim] &&
		    (!set->tag[w] || (uint32_t)set->tag[w] < (uint32_t)set->tag[victim]))
			victim = w;
	}
	if (!hits)
		prefetch_flow_slot(&c->fc[set->tag[victim] ? set->at[victim] : c->fc_n]);
}

void corr_udp_ahead(const struct corr *c, const struct dissection *d, int stage)
{
	struct flow_slot k;
	int dir;
	flow_key(&d->src, d->sport, &d->dst, d->dport, &k, &dir);
	uint64_t h = flow_hash(&k);
	if (stage == CORR_AHEAD_FAR) {
		prefetch_tables(c, d, h);
		return;
	}
	prefetch_flow(c, h);
	if (d->dport <= d->sport)
		prefetch_endpoint(c, &d->dst, d->dport);
	if (d->sport <= d->dport)
		prefetch_endpoint(c, &d->src, d->sport);
}

void corr_udp(struct corr *c, int64_t ts, const struct dissection *d)
{
	struct endpoint *e;
	struct flow_slot k;
	int dir;
	flow_key(&d->src, d->sport, &d->dst, d->dport, &k, &dir);
	uint64_t h = flow_hash(&k), bit;
	fanout_add(c, d);
	struct sport_count *sp = &c->sport[d->sport];
	if (!sp->datagrams++)
		c->sport_dirty[c->sport_dirty_n++] = d->sport;
	sp->bytes += d->udp_len;
	if (d->dport <= d->sport && (e = ep_get(c, &d->dst, d->dport, NULL)))
		ep_rx(e, ts, d);
	if (d->sport <= d->dport && (e = ep_get(c, &d->src, d->sport, NULL))) {
		ep_tx(e, ts, d);
		struct ttl_slot *t =
		    ttl_get(c->ttl, c->ttl_used, c->ttl_cap, &c->ttl_n, &d->src, d->ttl);
		if (t)
			t->packets++;
	}
	struct flow_slot *f = flow_find(c, &k, h, true, ts);
	if (!f->packets[0] && !f->packets[1]) {
		f->first_dir = (uint8_t)dir;
		f->last_side = (uint8_t)!dir;
	}
	if (f->last_side != dir || !f->run_len[dir]) {
		f->run_start[dir] = ts;
		f->run_len[dir] = 0;
	}
	f->run_len[dir]++;
	f->last_side = (uint8_t)dir;
	f->packets[dir]++;
	f->bytes[dir] += d->udp_len;
	f->last_dir[dir] = ts;
	if (c->tf_n && (*bloom_word(c, h, &bit) & bit))
		touched_count(c, ts, d);
}

static void endpoint_error(struct endpoint *e, int64_t ts, const struct quote *q)
{
	if (!e->errors++)
		e->err_first = ts;
	e->err_last = ts;
	e->tx_after_err = 0;
	e->tx_during_err = e->tx_since_err;
	e->rx_during_err = e->rx_since_err;
	e->tx_refused_during = e->tx_refused_since;
	e->tx_other_during = e->tx_other_since;
	bits_add(&e->refused_bits, &q->src);
	if (e->app == HINT_NONE)
		e->app = (uint8_t)q->hint.kind;
}

/* The refused datagram's place in its conversation: what came the other way before it. */
static void link_timing(const struct flow_slot *f, int dir, int64_t t_refused,
			struct corr_link *link)
{
	if (!f)
		return;
	link->fwd_before = f->packets[dir];
	link->rev_before = f->packets[!dir];
	if (!f->packets[!dir] || f->last_dir[!dir] > t_refused)
		return;
	link->has_other = true;
	link->other_delay = t_refused - f->last_dir[!dir];
	link->other_wait = t_refused - f->run_start[!dir];
	link->other_run = f->run_len[!dir];
}

void corr_icmp(struct corr *c, int64_t ts, const struct dissection *d, struct corr_link *link)
{
	const struct quote *q = &d->icmp.q;
	memset(link, 0, sizeof *link);
	link->flow = -1;
	ttl_get(c->rep, c->rep_used, c->ttl_cap, &c->rep_n, &d->src, 0);
	if (!pm_is_port_unreachable(d->icmp.family, d->icmp.type, d->icmp.code) || !q->has_ports ||
	    q->ip_version == 0)
		return;
	struct flow_slot k;
	int dir;
	flow_key(&q->src, q->sport, &q->dst, q->dport, &k, &dir);
	const struct flow_slot *f = flow_find(c, &k, flow_hash(&k), false, ts);
	/* Who spoke first tells a reply from a request, but only when the cache holds both
	 * directions: an entry evicted and re-created by the late reply itself starts with it. */
	if (f && f->packets[!dir])
		link->is_reply = f->first_dir != dir;
	else
		link->is_reply = q->sport < q->dport && q->sport < 1024;
	if (f && f->packets[dir]) {
		link->orig_seen = true;
		link->orig_delay = ts - f->last_dir[dir];
	}
	if (q->proto != PM_IPPROTO_UDP)
		return;
	link_timing(f, dir, link->orig_seen ? f->last_dir[dir] : ts, link);
	c->quoted_ports[q->sport / 64] |= 1ULL << (q->sport % 64);
	c->quoted_ports[q->dport / 64] |= 1ULL << (q->dport % 64);
	size_t slot;
	link->sender_peers = fanout_peers(c, &q->src, q->sport);
	if (link->is_reply) {
		if (ep_get(c, &q->src, q->sport, &slot))
			c->ep_bounced[slot]++;
		link->flow = touch(c, &q->dst, q->dport, &q->src, q->sport, f, 1 - dir, ts);
	} else {
		struct endpoint *e = ep_get(c, &q->dst, q->dport, &slot);
		if (e)
			endpoint_error(e, ts, q);
		link->flow = touch(c, &q->src, q->sport, &q->dst, q->dport, f, dir, ts);
	}
	if (link->flow >= 0)
		c->tf[link->flow].errors++;
}

/* ---- results ---- */

bool corr_capped(const struct corr *c)
{
	return c->capped;
}

uint64_t corr_eviction_passes(const struct corr *c)
{
	return c->evictions;
}

size_t corr_flows_filled(const struct corr *c)
{
	return c->fc_n;
}

size_t corr_n_flows(const struct corr *c)
{
	return c->tf_n;
}

const struct touched_flow *corr_flow(const struct corr *c, size_t i)
{
	return i < c->tf_n ? &c->tf[i] : NULL;
}

static int cmp_addr(const void *x, const void *y)
{
	return pm_addr_order(x, y);
}

static int cmp_u16(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

/* The hosts and ports that errors were about, sorted for bsearch. */
struct selection {
	struct pm_addr *ips;
	uint16_t *ports;
	size_t n;
};

static int select_build(const struct corr *c, struct selection *sel)
{
	sel->n = 0;
	sel->ips = malloc((c->ep_n + 1) * sizeof *sel->ips);
	sel->ports = malloc((c->ep_n + 1) * sizeof *sel->ports);
	if (!sel->ips || !sel->ports)
		return -1;
	for (size_t i = 0; i < c->ep_n; i++) {
		const struct endpoint *e = &c->ep[i];
		if (e->errors || c->ep_bounced[i]) {
			sel->ips[sel->n] = e->ip;
			sel->ports[sel->n++] = e->port;
		}
	}
	qsort(sel->ips, sel->n, sizeof *sel->ips, cmp_addr);
	qsort(sel->ports, sel->n, sizeof *sel->ports, cmp_u16);
	return 0;
}

static bool selected(const struct corr *c, const struct selection *sel, size_t i)
{
	const struct endpoint *e = &c->ep[i];
	if (e->errors || c->ep_bounced[i])
		return true;
	/* Same host: every port it was sent to or answered from (what a scan or a traceroute
	 * probed, where else it answers); same port elsewhere: the hosts that answer on it. */
	if (bsearch(&e->ip, sel->ips, sel->n, sizeof *sel->ips, cmp_addr))
		return e->tx_packets || e->rx_packets;
	if (e->tx_packets && bsearch(&e->port, sel->ports, sel->n, sizeof *sel->ports, cmp_u16))
		return true;
	/* Any service, answering or not: the files before, during and after an outage in a
	 * rotated archive hold only these, and the diagnosis combines captures, so every file
	 * stores them alike. A port below 49152 that was sent to: registered, sent to by several
	 * peers, never sending, or addressed before it spoke (not a client's ephemeral port). */
	return e->rx_packets && e->port < 49152 &&
	       (e->port < 1024 || e->n_clients >= 2 || !e->tx_packets ||
		e->first_rx <= e->first_tx);
}

/* An endpoint's place in the stored tables' key order: its address as text (46 bytes, the
 * longest pm_addr_str() writes), then its port. */
struct ep_order {
	char ip[46];
	uint16_t port;
	uint32_t slot;
};

static int cmp_ep_order(const void *x, const void *y)
{
	const struct ep_order *a = x, *b = y;
	int c = strcmp(a->ip, b->ip);
	return c ? c : (int)a->port - (int)b->port;
}

/* The endpoints are handed out in the order of the key the database stores them under
 * (address text, port): each insert then lands beside the one before in the tables' B-trees
 * instead of anywhere (a storm's 200,000 endpoints and their clients: 1.9 s of inserts in
 * hash order). Without memory for the order, in hash order. */
int corr_each_endpoint(struct corr *c, corr_endpoint_fn fn, void *arg)
{
	struct selection sel;
	int rc = select_build(c, &sel);
	struct ep_order *order = rc == 0 ? malloc((c->ep_n + 1) * sizeof *order) : NULL;
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < c->ep_n; i++) {
		if (!selected(c, &sel, i))
			continue;
		if (!order) {
			rc = fn(&c->ep[i], arg);
			continue;
		}
		pm_addr_str(&c->ep[i].ip, order[n].ip, sizeof order[n].ip);
		order[n].port = c->ep[i].port;
		order[n++].slot = (uint32_t)i;
	}
	if (n)
		qsort(order, n, sizeof *order, cmp_ep_order);
	for (size_t k = 0; rc == 0 && k < n; k++)
		rc = fn(&c->ep[order[k].slot], arg);
	free(order);
	free(sel.ips);
	free(sel.ports);
	return rc;
}

int corr_each_ttl(struct corr *c, corr_ttl_fn fn, void *arg)
{
	struct selection sel;
	int rc = select_build(c, &sel);
	for (size_t i = 0; rc == 0 && i < c->ttl_n; i++) { /* the slots in use only */
		const struct ttl_slot *t = &c->ttl[c->ttl_used[i]];
		if (t->used && (is_reporter(c, &t->ip) ||
				bsearch(&t->ip, sel.ips, sel.n, sizeof *sel.ips, cmp_addr)))
			rc = fn(&t->ip, t->ttl, t->packets, arg);
	}
	free(sel.ips);
	free(sel.ports);
	return rc;
}

int corr_each_source_port(struct corr *c, corr_port_fn fn, void *arg)
{
	int rc = 0;
	for (unsigned w = 0; rc == 0 && w < 65536 / 64; w++)
		for (uint64_t bits = c->quoted_ports[w]; rc == 0 && bits; bits &= bits - 1) {
			unsigned p = w * 64 + (unsigned)__builtin_ctzll(bits);
			if (c->sport[p].datagrams)
				rc = fn((uint16_t)p, c->sport[p].datagrams, c->sport[p].bytes, arg);
		}
	return rc;
}
