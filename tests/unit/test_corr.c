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
