/* background.c - the healthy traffic of a generated capture: TLS over TCP, DNS, syslog, NTP
 * and SNMP between documentation addresses, every request answered. Never an ICMP error. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#define N_FLOWS 512
#define N_FLOWS6 52 /* the last ones are IPv6 */
#define RING 256
#define N_CL 120
#define N_WEB 20
#define N_AGENTS 12

struct flow {
	uint16_t c, s, cport, sport;
	uint32_t cseq, sseq;
	uint32_t acked; /* server sequence number the client last acknowledged */
};

/* Requests waiting for their answer, oldest first. */
struct ring {
	struct dgram q[RING];
	unsigned head, n;
};

struct bg {
	struct world *w;
	struct rng r;
	int cl4[N_CL], cl6[N_CL];
	int web4[N_WEB], web6[N_WEB / 2];
	int res4[2], res6[2], ntp4[2], ntp6, syslog4, nms, agents[N_AGENTS];
	struct flow flows[N_FLOWS];
	struct ring dns4, dns6, ntp4r, ntp6r, snmp;
};

static int add(struct bg *b, enum pool pool, int fam, int ttl0, int hops)
{
	int h = host_new(b->w, pool, fam, ttl0, hops);
	if (h < 0) {
		fprintf(stderr, "gen: background address pool exhausted\n");
		abort(); /* a bug of the generator: the pools are sized for this */
	}
	return h;
}

static uint16_t ephemeral(struct bg *b)
{
	return (uint16_t)rng_range(&b->r, 32768, 60999); /* Linux ip_local_port_range */
}

static void flow_init(struct bg *b, int i)
{
	struct flow *f = &b->flows[i];
	static const uint16_t ports[8] = {443, 443, 443, 443, 443, 993, 8883, 636};
	bool v6 = i >= N_FLOWS - N_FLOWS6;
	f->c = (uint16_t)(v6 ? b->cl6[rng_below(&b->r, N_CL)] : b->cl4[rng_below(&b->r, N_CL)]);
	f->s = (uint16_t)(v6 ? b->web6[rng_below(&b->r, N_WEB / 2)]
			     : b->web4[rng_below(&b->r, N_WEB)]);
	f->cport = ephemeral(b);
	f->sport = ports[rng_below(&b->r, 8)];
	f->cseq = (uint32_t)rng_next(&b->r);
	f->sseq = (uint32_t)rng_next(&b->r);
	f->acked = f->sseq - 1;
}

struct bg *bg_new(struct world *w, uint64_t seed)
{
	struct bg *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->w = w;
	rng_seed(&b->r, seed, 2);
	for (int i = 0; i < N_CL; i++) {
		b->cl4[i] = add(b, POOL_BG_CLIENT, 4, i % 3 ? 64 : 128, 0);
		b->cl6[i] = add(b, POOL_BG_CLIENT, 6, i % 3 ? 64 : 128, 0);
	}
	for (int i = 0; i < 2; i++) {
		b->res4[i] = add(b, POOL_BG_SERVER, 4, 64, 1);
		b->res6[i] = add(b, POOL_BG_SERVER, 6, 64, 1);
		b->ntp4[i] = add(b, POOL_BG_SERVER, 4, 64, 2);
	}
	b->ntp6 = add(b, POOL_BG_SERVER, 6, 64, 2);
	b->syslog4 = add(b, POOL_BG_SERVER, 4, 64, 1);
	b->nms = b->cl4[0];
	for (int i = 0; i < N_AGENTS; i++)
		b->agents[i] = add(b, POOL_BG_SERVER, 4, 255, 1);
	for (int i = 0; i < N_WEB; i++)
		b->web4[i] = add(b, POOL_BG_SERVER, 4, i % 4 ? 64 : 128, 2);
	for (int i = 0; i < N_WEB / 2; i++)
		b->web6[i] = add(b, POOL_BG_SERVER, 6, 64, 2);
	for (int i = 0; i < N_FLOWS; i++)
		flow_init(b, i);
	return b;
}

void bg_free(struct bg *b)
{
	free(b);
}

static void base(struct bg *b, struct dgram *d, uint64_t t, int src, int dst, uint16_t sport,
		 uint16_t dport, uint8_t app)
{
	memset(d, 0, sizeof(*d));
	d->t_orig = t;
	d->src = (uint16_t)src;
	d->dst = (uint16_t)dst;
	d->sport = sport;
	d->dport = dport;
	d->proto = 17;
	d->app = app;
	d->ttl = host_seen_ttl(&b->w->hosts[src]);
	d->ip_id = (uint16_t)rng_next(&b->r);
}

static void tcp_next(struct bg *b, uint64_t t, struct dgram *d, bool v6)
{
	int i = v6 ? N_FLOWS - N_FLOWS6 + (int)rng_below(&b->r, N_FLOWS6)
		   : (int)rng_below(&b->r, N_FLOWS - N_FLOWS6);
	if (rng_below(&b->r, 2048) == 0)
		flow_init(b, i); /* a new connection (seen from its middle on) */
	struct flow *f = &b->flows[i];
	uint32_t mss = v6 ? 1440 : 1460, r = rng_below(&b->r, 100);
	bool down = r < 60;
	uint32_t plen;
	if (down)
		plen = r < 42 ? mss : rng_range(&b->r, 6, mss);
	else if (r < 86 && f->acked != f->sseq)
		plen = 0; /* a pure ACK only for new data: no duplicate ACKs */
	else
		plen = rng_range(&b->r, 40, 400);
	if (!down)
		f->acked = f->sseq;
	if (down)
		base(b, d, t, f->s, f->c, f->sport, f->cport, APP_TLS);
	else
		base(b, d, t, f->c, f->s, f->cport, f->sport, APP_TLS);
	d->proto = 6;
	d->plen = (uint16_t)plen;
	d->tcp_flags = plen ? 0x18 : 0x10; /* PSH|ACK or ACK */
	uint32_t *mine = down ? &f->sseq : &f->cseq, *theirs = down ? &f->cseq : &f->sseq;
	d->seq = *mine;
	d->ack = *theirs;
	*mine += plen;
}

static bool ring_reply_due(struct bg *b, const struct ring *q)
{
	return q->n == RING || (q->n > 0 && (rng_next(&b->r) & 1));
}

static void ring_push(struct ring *q, const struct dgram *d)
{
	q->q[(q->head + q->n) % RING] = *d;
	q->n++;
}

/* The answer to the oldest waiting request, sent at t. */
static void ring_answer(struct bg *b, struct ring *q, uint64_t t, struct dgram *d, uint8_t app)
{
	struct dgram req = q->q[q->head];
	q->head = (q->head + 1) % RING;
	q->n--;
	base(b, d, t, req.dst, req.src, req.dport, req.sport, app);
	d->arg = req.arg;
	d->id = req.id;
	uint64_t us = (t - req.t_orig) / 1000u;
	d->seq = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void dns_next(struct bg *b, uint64_t t, struct dgram *d, bool v6)
{
	struct ring *q = v6 ? &b->dns6 : &b->dns4;
	if (ring_reply_due(b, q)) {
		ring_answer(b, q, t, d, APP_DNS_R);
		return;
	}
	int c = v6 ? b->cl6[rng_below(&b->r, N_CL)] : b->cl4[rng_below(&b->r, N_CL)];
	int s = v6 ? b->res6[rng_below(&b->r, 2)] : b->res4[rng_below(&b->r, 2)];
	base(b, d, t, c, s, ephemeral(b), 53, APP_DNS_Q);
	uint32_t n = app_dns_n_names(), r = rng_below(&b->r, 100);
	uint32_t name = rng_below(&b->r, n);
	name = name * rng_below(&b->r, n) / n; /* popular names first */
	d->arg = DNS_ARG(name, r < 55 ? QSEL_A : r < 85 ? QSEL_AAAA : r < 93 ? QSEL_MX : QSEL_TXT);
	d->id = (uint16_t)rng_next(&b->r);
	ring_push(q, d);
}

static void ntp_next(struct bg *b, uint64_t t, struct dgram *d, bool v6)
{
	struct ring *q = v6 ? &b->ntp6r : &b->ntp4r;
	if (ring_reply_due(b, q)) {
		ring_answer(b, q, t, d, APP_NTP_S);
		return;
	}
	int c = v6 ? b->cl6[rng_below(&b->r, N_CL)] : b->cl4[rng_below(&b->r, N_CL)];
	int s = v6 ? b->ntp6 : b->ntp4[rng_below(&b->r, 2)];
	base(b, d, t, c, s, rng_below(&b->r, 2) ? 123 : ephemeral(b), 123, APP_NTP_C);
	ring_push(q, d);
}

static void snmp_next(struct bg *b, uint64_t t, struct dgram *d)
{
	if (ring_reply_due(b, &b->snmp)) {
		ring_answer(b, &b->snmp, t, d, APP_SNMP_RESP);
		return;
	}
	int agent = b->agents[rng_below(&b->r, N_AGENTS)]; /* one draw per statement: */
	uint16_t sport = ephemeral(b);			   /* argument order is unspecified */
	base(b, d, t, b->nms, agent, sport, 161, APP_SNMP_GET);
	d->arg = (uint16_t)rng_below(&b->r, 5 * 16);
	d->id = (uint16_t)rng_next(&b->r);
	ring_push(&b->snmp, d);
}

static void syslog_next(struct bg *b, uint64_t t, struct dgram *d)
{
	int c = b->cl4[rng_below(&b->r, N_CL)];
	base(b, d, t, c, b->syslog4, rng_below(&b->r, 4) ? ephemeral(b) : 514, 514, APP_SYSLOG);
	uint32_t r = rng_below(&b->r, 100);
	d->plen = (uint16_t)(r < 60   ? rng_range(&b->r, 80, 200)
			     : r < 95 ? rng_range(&b->r, 200, 500)
				      : rng_range(&b->r, 500, 1200));
	d->arg = (uint16_t)rng_below(&b->r, 8);
	d->id = (uint16_t)rng_range(&b->r, 300, 65000);
}

void bg_next(struct bg *b, uint64_t t, struct dgram *d)
{
	uint32_t r = rng_below(&b->r, 1000);
	if (r < 660)
		tcp_next(b, t, d, false);
	else if (r < 730)
		tcp_next(b, t, d, true);
	else if (r < 810)
		dns_next(b, t, d, false);
	else if (r < 830)
		dns_next(b, t, d, true);
	else if (r < 890)
		syslog_next(b, t, d);
	else if (r < 930)
		ntp_next(b, t, d, false);
	else if (r < 940)
		ntp_next(b, t, d, true);
	else
		snmp_next(b, t, d);
}
