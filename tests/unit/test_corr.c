/* test_corr.c - the bounded endpoint table: a table full of endpoints that cannot be evicted
 * (every one refused) costs a bounded number of eviction passes, not one per new endpoint. */
#include <criterion/criterion.h>
#include <string.h>

#include "analyzer/corr.h"

/* A port unreachable from 192.0.2.x (x from i) about a datagram 198.51.100.1 -> it, port p. */
static void refusal(struct dissection *d, uint32_t i, uint16_t port)
{
	memset(d, 0, sizeof *d);
	d->kind = PK_ICMP_UNREACH;
	d->ip_version = 4;
	d->src.family = d->dst.family = 4;
	d->src.b[0] = 192, d->src.b[2] = 2, d->src.b[3] = (uint8_t)(i % 250 + 1);
	d->dst.b[0] = 198, d->dst.b[1] = 51, d->dst.b[2] = 100, d->dst.b[3] = 1;
	d->icmp.family = 4, d->icmp.type = 3, d->icmp.code = 3;
	struct quote *q = &d->icmp.q;
	q->ip_version = 4, q->proto = 17, q->has_ports = true;
	q->src = d->dst, q->dst = d->src;
	q->sport = 40000, q->dport = port;
}

Test(corr, a_table_full_of_refused_endpoints_evicts_a_bounded_number_of_times)
{
	enum { MAX = 1024, N = 16384 };
	struct corr *c = corr_new(MAX, 4096);
	cr_assert_not_null(c);
	struct dissection d;
	struct corr_link link;
	for (uint32_t i = 0; i < N; i++) {
		refusal(&d, i, (uint16_t)(1 + i / 250));
		corr_icmp(c, (int64_t)i * 1000, &d, &link);
	}
	cr_assert(corr_capped(c), "the table overflowed and says so");
	/* A pass runs once a quarter of the table's size came since the last: N / (MAX / 4) */
	cr_assert_leq(corr_eviction_passes(c), N / (MAX / 4) + 2, "%llu passes",
		      (unsigned long long)corr_eviction_passes(c));
	corr_free(c);
}

static int count_endpoint(const struct endpoint *e, void *arg)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

static int count_ttl(const struct pm_addr *ip, uint8_t ttl, uint64_t packets, void *arg)
{
	(void)ip, (void)ttl, (void)packets;
	++*(int *)arg;
	return 0;
}

/* corr_free() keeps the state for the thread's next corr_new() of the same sizes: what the
 * next capture gets is empty, as a fresh one, even after the first capture grew and filled
 * every table (endpoints past the first size, a capped table, TTLs, touched flows). */
Test(corr, a_state_kept_for_the_next_capture_starts_empty)
{
	struct dissection d;
	struct corr_link link;
	int n_ep = 0, n_ttl = 0;
	struct corr *c = corr_new(1024, 4096);
	cr_assert_not_null(c);
	for (uint32_t i = 0; i < 200; i++) { /* the refused service answers others too */
		struct dissection u;
		refusal(&u, i, 53);
		u.kind = PK_UDP;
		u.src = u.icmp.q.dst, u.dst = u.icmp.q.src, u.ttl = 64;
		u.sport = 53, u.dport = (uint16_t)(30000 + i), u.udp_len = 40;
		corr_udp(c, 7000000 + (int64_t)i, &u);
	}
	for (uint32_t i = 0; i < 6000; i++) {
		refusal(&d, i, (uint16_t)(1 + i / 250));
		d.ttl = 64;
		corr_icmp(c, (int64_t)i * 1000, &d, &link);
	}
	cr_assert(corr_capped(c));
	cr_assert_gt(corr_n_flows(c), 0);
	corr_each_endpoint(c, count_endpoint, &n_ep);
	cr_assert_gt(n_ep, 0);
	corr_each_ttl(c, count_ttl, &n_ttl);
	cr_assert_gt(n_ttl, 0, "the first capture has TTLs to forget");
	n_ttl = 0;
	corr_free(c);

	struct corr *again = corr_new(1024, 4096);
	cr_assert_eq(again, c, "the kept state is reused");
	n_ep = 0;
	corr_each_endpoint(again, count_endpoint, &n_ep);
	corr_each_ttl(again, count_ttl, &n_ttl);
	cr_expect_eq(n_ep, 0, "%d endpoints left from the last capture", n_ep);
	cr_expect_eq(n_ttl, 0, "%d TTLs left from the last capture", n_ttl);
	cr_expect_eq(corr_n_flows(again), 0);
	cr_expect(!corr_capped(again));
	cr_expect_eq(corr_eviction_passes(again), 0);
	/* It works as a fresh one: the same refusal gives the same link and one endpoint. */
	refusal(&d, 1, 53);
	corr_icmp(again, 1000, &d, &link);
	corr_each_endpoint(again, count_endpoint, &n_ep);
	cr_expect_eq(n_ep, 1);
	corr_free(again);

	struct corr *other = corr_new(2048, 4096); /* other sizes: a new state */
	cr_assert_not_null(other);
	corr_free(other);
	corr_drop_spare();
}

/* The endpoints corr_each_endpoint() handed out, by address and port. */
struct ep_seen {
	int n;
	int dup;  /* an (ip, port) handed out twice */
	int busy; /* busy ones (203.0.113.x, port 100) and their datagrams */
	uint64_t busy_rx;
	uint32_t errors_min, errors_max;
	struct pm_addr ips[8192];
	uint16_t ports[8192];
};

static int see_endpoint(const struct endpoint *e, void *arg)
{
	struct ep_seen *s = arg;
	for (int i = 0; i < s->n && i < 8192; i++)
		if (s->ports[i] == e->port && pm_addr_eq(&s->ips[i], &e->ip))
			s->dup++;
	if (s->n < 8192) {
		s->ips[s->n] = e->ip;
		s->ports[s->n] = e->port;
	}
	if (!s->n || e->errors < s->errors_min)
		s->errors_min = e->errors;
	if (!s->n || e->errors > s->errors_max)
		s->errors_max = e->errors;
	s->n++;
	if (e->ip.b[0] == 203 && e->port == 100) {
		s->busy++;
		s->busy_rx += e->rx_packets;
	}
	return 0;
}

/* The endpoints past the first room and index (which grow several times) are each found
 * again, not added twice: 5,000 refused endpoints, each refused twice. */
Test(corr, endpoints_stay_found_while_the_table_grows)
{
	struct corr *c = corr_new(262144, 65536);
	cr_assert_not_null(c);
	struct dissection d;
	struct corr_link link;
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < 5000; i++) {
			refusal(&d, i, (uint16_t)(1 + i / 250));
			corr_icmp(c, (int64_t)(round * 5000 + i) * 1000, &d, &link);
		}
	static struct ep_seen s;
	memset(&s, 0, sizeof s);
	corr_each_endpoint(c, see_endpoint, &s);
	cr_expect_eq(s.n, 5000, "%d endpoints", s.n);
	cr_expect_eq(s.dup, 0, "%d handed out twice", s.dup);
	cr_expect_eq(s.errors_min, 2);
	cr_expect_eq(s.errors_max, 2);
	cr_expect(!corr_capped(c));
	corr_free(c);
	corr_drop_spare();
}

/* A datagram to (203.0.113.x, port) from a client's port 40000, at ts. */
/* An IPv4 packet of `kind` from src to dst, TTL 64, the rest zero. */
static void v4_packet(struct dissection *d, enum pkt_kind kind, const uint8_t src[4],
		      const uint8_t dst[4])
{
	memset(d, 0, sizeof *d);
	d->kind = kind;
	d->ip_version = 4;
	d->src.family = d->dst.family = 4;
	memcpy(d->src.b, src, 4);
	memcpy(d->dst.b, dst, 4);
	d->ttl = 64;
}

static const uint8_t CLIENT[4] = {198, 51, 100, 9}, SERVER[4] = {203, 0, 113, 1};

static void to_service(struct corr *c, uint32_t x, uint16_t port, int64_t ts)
{
	struct dissection u;
	/* more hosts than one /24 */
	const uint8_t dst[4] = {203, (uint8_t)(x / 250), 113, (uint8_t)(x % 250 + 1)};
	v4_packet(&u, PK_UDP, CLIENT, dst);
	u.sport = 40000, u.dport = port, u.udp_len = 20;
	corr_udp(c, ts, &u);
}

/* An eviction keeps the busy endpoints whole and findable: after it, their datagrams go on
 * counting in the same entries (the index is rebuilt over the survivors). */
Test(corr, an_eviction_keeps_the_busy_endpoints_findable)
{
	struct corr *c = corr_new(1024, 4096);
	cr_assert_not_null(c);
	int64_t ts = 1;
	for (uint32_t k = 0; k < 50; k++) /* 50 busy services, 20 datagrams each */
		for (int n = 0; n < 20; n++)
			to_service(c, k, 100, ts++);
	for (uint32_t k = 0; k < 3000; k++) /* 3,000 one-datagram services: the table fills */
		to_service(c, k, (uint16_t)(200 + k % 500), ts++);
	cr_assert(corr_capped(c), "the table overflowed");
	cr_assert_geq(corr_eviction_passes(c), 1);
	for (uint32_t k = 0; k < 50; k++)
		for (int n = 0; n < 5; n++)
			to_service(c, k, 100, ts++);
	static struct ep_seen s;
	memset(&s, 0, sizeof s);
	corr_each_endpoint(c, see_endpoint, &s);
	cr_expect_leq(s.n, 1024, "%d endpoints in a table of 1024", s.n);
	cr_expect_eq(s.dup, 0, "%d handed out twice", s.dup);
	cr_expect_eq(s.busy, 50, "%d busy services kept", s.busy);
	cr_expect_eq(s.busy_rx, 50 * 25, "%llu datagrams counted for them",
		     (unsigned long long)s.busy_rx);
	corr_free(c);
	corr_drop_spare();
}

/* A datagram from 198.51.100.9:sport to 203.0.113.1:53 at ts, and the port unreachable that
 * 203.0.113.1 sends back about it: the flow is known by its client's port. */
static void dns_query(struct corr *c, uint16_t sport, int64_t ts)
{
	struct dissection u;
	v4_packet(&u, PK_UDP, CLIENT, SERVER);
	u.sport = sport, u.dport = 53, u.udp_len = 40;
	corr_udp(c, ts, &u);
}

static void dns_refused(struct corr *c, uint16_t sport, int64_t ts, struct corr_link *link)
{
	struct dissection d;
	v4_packet(&d, PK_ICMP_UNREACH, SERVER, CLIENT);
	d.icmp.family = 4, d.icmp.type = 3, d.icmp.code = 3;
	struct quote *q = &d.icmp.q;
	q->ip_version = 4, q->proto = 17, q->has_ports = true;
	q->src = d.dst, q->dst = d.src;
	q->sport = sport, q->dport = 53;
	corr_icmp(c, ts, &d, link);
}

/* The recent-flow cache (16 sets of 4 ways here) keeps the flows used last in each set: a
 * flow used between every three new ones is never the least recently used of its set, and
 * keeps its count while 2,000 others come and go and the ways are reused; the newest flow is
 * there, the first long gone. A state kept for the next capture starts with no flow, and
 * fills its flows again from the start: never more than the cache's room, and no more than
 * the capture's flows. */
Test(corr, the_flow_cache_keeps_the_flows_used_last)
{
	const int64_t tick = 1LL << 24; /* the cache's clock: one step per datagram */
	struct corr_link link;
	for (int capture = 0; capture < 2; capture++) {
		struct corr *c = corr_new(1024, 64);
		cr_assert_not_null(c);
		int64_t ts = tick * 1000;
		dns_refused(c, 7, ts, &link);
		cr_expect(!link.orig_seen, "capture %d starts with flow 7 unknown", capture);
		int kept = 0;
		for (uint16_t p = 1000; p < 3000; p++) {
			if (p % 3 == 0) {
				dns_query(c, 7, ts += tick);
				kept++;
			}
			dns_query(c, p, ts += tick);
		}
		dns_refused(c, 7, ts + 5, &link);
		cr_expect(link.orig_seen, "capture %d: the flow used all along is kept", capture);
		cr_expect_eq(link.fwd_before, (uint64_t)kept,
			     "capture %d: %llu of its %d datagrams", capture,
			     (unsigned long long)link.fwd_before, kept);
		dns_refused(c, 2999, ts + 9, &link);
		cr_expect(link.orig_seen, "capture %d: the newest flow is there", capture);
		cr_expect_eq(link.orig_delay, 9, "its datagram 9 ns before the error");
		cr_expect_eq(link.fwd_before, 1);
		dns_refused(c, 1000, ts + 11, &link);
		cr_expect(!link.orig_seen, "capture %d: the first flow was replaced", capture);
		cr_expect_eq(corr_flows_filled(c), 64, "capture %d filled %zu flows of 64", capture,
			     corr_flows_filled(c));
		corr_free(c);
	}
	struct corr *c = corr_new(1024, 64); /* a third capture, with 10 flows */
	cr_assert_not_null(c);
	for (uint16_t p = 1; p <= 10; p++)
		dns_query(c, p, p);
	cr_expect_eq(corr_flows_filled(c), 10, "%zu flows for 10", corr_flows_filled(c));
	corr_free(c);
	corr_drop_spare();
}

/* What a state holds, digested: its endpoints, its touched flows, and the links of the
 * errors fed to it. */
struct state_digest {
	uint64_t sum;
	int n;
};

static void mix_in(struct state_digest *s, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		s->sum = (s->sum ^ b[i]) * 1099511628211ULL;
}

static int digest_endpoint(const struct endpoint *e, void *arg)
{
	struct state_digest *s = arg;
	mix_in(s, e, sizeof *e);
	s->n++;
	return 0;
}

/* 20,000 datagrams over some 3,000 conversations, more than the flow cache's 256 flows and
 * the 1,024 endpoints hold, with a refusal every 50: with `ahead`, each datagram is shown to
 * corr_udp_ahead() (far, then near) a few datagrams before corr_udp() gets it, as the scan
 * does. */
static struct state_digest feed(bool ahead)
{
	enum { N = 20000, FAR = 12, NEAR = 5 };
	static struct dissection u[N];
	struct state_digest s = {14695981039346656037ULL, 0};
	struct corr *c = corr_new(1024, 256);
	cr_assert_not_null(c);
	uint32_t x = 12345;
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		bool reply = (x >> 8) % 3 == 0;
		const uint8_t cl[4] = {198, 51, 100, (uint8_t)(x >> 16)};
		const uint8_t sv[4] = {203, 0, 113, (uint8_t)(x >> 24 & 63)};
		uint16_t cport = (uint16_t)(40000 + (x >> 12) % 12),
			 sport = (x >> 20) % 2 ? 53 : 123;
		v4_packet(&u[i], PK_UDP, reply ? sv : cl, reply ? cl : sv);
		u[i].sport = reply ? sport : cport, u[i].dport = reply ? cport : sport;
		u[i].udp_len = (uint16_t)(20 + x % 400), u[i].ttl = (uint8_t)(50 + x % 3);
	}
	for (int i = 0; i < N; i++) {
		if (ahead && i + FAR < N)
			corr_udp_ahead(c, &u[i + FAR], CORR_AHEAD_FAR);
		if (ahead && i + NEAR < N)
			corr_udp_ahead(c, &u[i + NEAR], CORR_AHEAD_NEAR);
		corr_udp(c, (int64_t)i * 1000000, &u[i]);
		if (i % 50 == 49) {
			struct dissection d;
			struct corr_link link;
			memset(&link, 0, sizeof link);
			v4_packet(&d, PK_ICMP_UNREACH, u[i].dst.b, u[i].src.b);
			d.icmp.family = 4, d.icmp.type = 3, d.icmp.code = 3;
			struct quote *q = &d.icmp.q;
			q->ip_version = 4, q->proto = 17, q->has_ports = true;
			q->src = u[i].src, q->dst = u[i].dst, q->sport = u[i].sport,
			q->dport = u[i].dport;
			corr_icmp(c, (int64_t)i * 1000000 + 7, &d, &link);
			mix_in(&s, &link, sizeof link);
		}
	}
	corr_each_endpoint(c, digest_endpoint, &s);
	for (size_t i = 0; i < corr_n_flows(c); i++)
		mix_in(&s, corr_flow(c, i), sizeof(struct touched_flow));
	mix_in(&s, &(size_t){corr_flows_filled(c)}, sizeof(size_t));
	corr_free(c);
	return s;
}

/* corr_udp_ahead() only asks for memory: a state fed with it holds the same endpoints, flows
 * and links as one fed without. */
Test(corr, looking_ahead_changes_nothing)
{
	struct state_digest plain = feed(false), ahead = feed(true);
	cr_assert_gt(plain.n, 60, "%d endpoints", plain.n);
	cr_expect_eq(plain.n, ahead.n, "%d endpoints, %d looking ahead", plain.n, ahead.n);
	cr_expect_eq(plain.sum, ahead.sum, "the states differ");
	corr_drop_spare();
}
