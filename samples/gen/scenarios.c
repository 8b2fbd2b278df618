/* scenarios.c - the planted problems of a generated capture: every kind of ICMP port
 * unreachable that portmortem diagnoses (SPEC §6), other destination-unreachable codes and
 * traceroute time-exceeded messages, each planned as timed events with its truth record. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define CAP_HOST4 548  /* Linux: the error fits 576 bytes (RFC 1812 4.3.2.3) */
#define CAP_HOST6 1232 /* RFC 4443: the error fits the IPv6 minimum MTU */
#define CAP_MINIMAL 28 /* RFC 792: IP header + 64 bits (older routers) */

struct ctx {
	struct plan *pl;
	struct world *w;
	struct rng r;
	uint64_t dur; /* capture duration, ns */
	bool err;
};

struct service {
	const char *name;
	uint16_t port;
	uint8_t req, rep; /* enum app of requests and of replies (APP_NONE: never answers) */
};

static const struct service SVC_DNS = {"dns", 53, APP_DNS_Q, APP_DNS_R};
static const struct service SVC_NTP = {"ntp", 123, APP_NTP_C, APP_NTP_S};
static const struct service SVC_SNMP = {"snmp", 161, APP_SNMP_GET, APP_SNMP_RESP};
static const struct service SVC_SYSLOG = {"syslog", 514, APP_SYSLOG, APP_NONE};
static const struct service SVC_TFTP = {"tftp", 69, APP_TFTP_RRQ, APP_NONE};

/* ---- plumbing ---- */

static int new_host(struct ctx *c, enum pool pool, int fam, int ttl0, int hops)
{
	int h = host_new(c->w, pool, fam, ttl0, hops);
	if (h < 0) {
		if (!c->err)
			fprintf(stderr, "gen: address pool exhausted while planning scenarios\n");
		c->err = true;
		return 0;
	}
	return h;
}

static void new_clients(struct ctx *c, int fam, int m, int *out)
{
	for (int i = 0; i < m; i++)
		out[i] = new_host(c, POOL_SC_CLIENT, fam, 64, 0);
}

/* p (*cap elements of elem_len bytes) grown to twice its size (first when empty); NULL when
 * memory runs out (c->err set, p left as it was). */
static void *grow(struct ctx *c, void *p, size_t *cap, size_t first, size_t elem_len)
{
	size_t bigger = *cap ? *cap * 2 : first;
	void *grown = realloc(p, bigger * elem_len);
	if (!grown) {
		c->err = true;
		return NULL;
	}
	*cap = bigger;
	return grown;
}

static int new_finding(struct ctx *c, const char *diag, const char *service, int server, int port,
		       int n_clients)
{
	struct plan *pl = c->pl;
	if (pl->n_fd == pl->cap_fd) {
		struct finding *grown = grow(c, pl->fd, &pl->cap_fd, 64, sizeof(*grown));
		if (!grown)
			return NO_FINDING;
		pl->fd = grown;
	}
	struct finding *f = &pl->fd[pl->n_fd];
	memset(f, 0, sizeof(*f));
	f->diagnosis = diag;
	f->secondary = "";
	f->service = service;
	f->server = (uint16_t)server;
	f->port = (uint16_t)port;
	f->ports = 1;
	f->n_clients = (uint32_t)n_clients;
	return (int)pl->n_fd++;
}

static struct finding *fd_at(struct ctx *c, int f)
{
	static struct finding none;
	return f == NO_FINDING ? &none : &c->pl->fd[f];
}

static void push(struct ctx *c, const struct event *e, int finding, enum ev_role role)
{
	struct plan *pl = c->pl;
	if (pl->n_ev == pl->cap_ev) {
		struct event *grown = grow(c, pl->ev, &pl->cap_ev, 4096, sizeof(*grown));
		if (!grown)
			return;
		pl->ev = grown;
	}
	struct event *n = &pl->ev[pl->n_ev++];
	*n = *e;
	n->order = pl->order++;
	n->finding = (uint16_t)finding;
	n->role = (uint8_t)role;
}

static const struct host *H(struct ctx *c, int h)
{
	return &c->w->hosts[h];
}

static struct event mk_dgram(struct ctx *c, uint64_t t, int src, int dst, int sport, int dport,
			     uint8_t app)
{
	struct event e;
	memset(&e, 0, sizeof(e));
	e.t = t;
	e.kind = EV_DGRAM;
	e.d.t_orig = t;
	e.d.src = (uint16_t)src;
	e.d.dst = (uint16_t)dst;
	e.d.sport = (uint16_t)sport;
	e.d.dport = (uint16_t)dport;
	e.d.proto = 17;
	e.d.app = app;
	e.d.ttl = host_seen_ttl(H(c, src));
	e.d.ip_id = (uint16_t)rng_next(&c->r);
	e.d.id = (uint16_t)rng_next(&c->r);
	return e;
}

/* An ICMP error about orig's datagram from reporter, sent at t. The quoted TTL is what the
 * datagram had left when it reached the reporter. */
static struct event mk_icmp(struct ctx *c, uint64_t t, const struct event *orig, int reporter,
			    int type, int code, int cap)
{
	struct event e = *orig;
	const struct host *r = H(c, reporter);
	e.t = t;
	e.kind = EV_ICMP;
	e.reporter = (uint16_t)reporter;
	e.icmp_type = (uint8_t)type;
	e.icmp_code = (uint8_t)code;
	e.icmp_ttl = host_seen_ttl(r);
	e.quote_cap = (uint16_t)cap;
	e.mtu = 0;
	e.d.ttl = orig->d.ttl > r->hops ? (uint8_t)(orig->d.ttl - r->hops) : 1;
	return e;
}

/* Port unreachable of the reporter's family: ICMP 3/3 or ICMPv6 1/4. */
static struct event mk_pu(struct ctx *c, uint64_t t, const struct event *orig, int reporter,
			  int cap)
{
	bool v6 = H(c, reporter)->fam == 6;
	return mk_icmp(c, t, orig, reporter, v6 ? 1 : 3, v6 ? 4 : 3, cap);
}

static int host_cap(struct ctx *c, int h)
{
	return H(c, h)->fam == 6 ? CAP_HOST6 : CAP_HOST4;
}

/* Round trip from the capture point to a host and back, plus its turnaround. */
static uint64_t rtt(struct ctx *c, int h)
{
	return 80 * US + H(c, h)->hops * 300 * US + rng_below(&c->r, 150) * US;
}

static uint16_t ephemeral(struct ctx *c)
{
	return (uint16_t)rng_range(&c->r, 32768, 60999);
}

/* A request of a service from client to server:dport at t. */
static struct event mk_request(struct ctx *c, uint64_t t, int client, int server,
			       const struct service *s, int dport)
{
	int sport = s->port == 123 && rng_below(&c->r, 2) ? 123 : ephemeral(c);
	struct event e = mk_dgram(c, t, client, server, sport, dport, s->req);
	uint32_t r = rng_below(&c->r, 100);
	switch (s->req) {
	case APP_DNS_Q: /* names of real zones only: not the .invalid ones */
		e.d.arg =
		    DNS_ARG(rng_below(&c->r, app_dns_n_names() - 30), r < 65 ? QSEL_A : QSEL_AAAA);
		break;
	case APP_SYSLOG:
		e.d.arg = (uint16_t)rng_below(&c->r, 8);
		e.d.plen =
		    (uint16_t)(r < 50 ? rng_range(&c->r, 120, 400) : rng_range(&c->r, 400, 1200));
		break;
	default:
		e.d.arg = (uint16_t)rng_below(&c->r, 5 * 16);
		break;
	}
	return e;
}

/* A request at t from one of the m clients cl, picked at random, to srv's service s on
 * dport, pushed for finding f in role. */
static struct event client_request(struct ctx *c, uint64_t t, const int *cl, uint32_t m, int srv,
				   const struct service *s, int dport, int f, enum ev_role role)
{
	struct event q = mk_request(c, t, cl[rng_below(&c->r, m)], srv, s, dport);
	push(c, &q, f, role);
	return q;
}

static struct event mk_reply(struct ctx *c, uint64_t t, const struct event *req, uint8_t app)
{
	struct event e = mk_dgram(c, t, req->d.dst, req->d.src, req->d.dport, req->d.sport, app);
	e.d.arg = req->d.arg;
	e.d.id = req->d.id;
	e.d.seq = (uint32_t)((t - req->t) / US);
	return e;
}

/* A random stretch of the capture: start in the first fifth, end in the last third. */
static void window(struct ctx *c, uint64_t *a, uint64_t *b)
{
	*a = c->dur / 100 * rng_range(&c->r, 2, 20);
	*b = c->dur / 100 * rng_range(&c->r, 62, 90);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* ---- the scenarios ---- */

/* Nothing listens: the host answers every request with a port unreachable itself. */
static void sc_down(struct ctx *c, int fam, const struct service *s, uint32_t n, int ttl0)
{
	int srv = new_host(c, POOL_SC_SERVER, fam, ttl0, (int)rng_below(&c->r, 3));
	int cl[8], m = 2 + (int)rng_below(&c->r, 4);
	new_clients(c, fam, m, cl);
	int f = new_finding(c, "service-down", s->name, srv, s->port, m);
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "nothing listens; the host refuses every request itself (initial TTL %d)", ttl0);
	uint64_t a, b;
	window(c, &a, &b);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = rng_span(&c->r, a, b);
		struct event q =
		    client_request(c, t, cl, (uint32_t)m, srv, s, s->port, f, ROLE_REQ);
		struct event e = mk_pu(c, t + rtt(c, srv), &q, srv, host_cap(c, srv));
		push(c, &e, f, ROLE_ERR);
	}
}

/* A dead Linux DNS server whose ICMP rate limit (per client: a burst of 6, then 1/s) leaves
 * most queries without any answer. */
static void sc_down_ratelimited(struct ctx *c, uint32_t n)
{
	int srv = new_host(c, POOL_SC_SERVER, 4, 64, 1);
	int cl[3], m = 3;
	new_clients(c, 4, m, cl);
	int f = new_finding(c, "service-down", "dns", srv, 53, m);
	fd_at(c, f)->secondary = "rate-limited";
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "Linux ICMP rate limit: per client a burst of 6 errors, then 1 per second");
	uint64_t a, b;
	window(c, &a, &b);
	uint64_t len_s = (b - a) / SEC;
	size_t per = (size_t)(5 * (6 + len_s));
	if (per < 5 * n / (uint32_t)m)
		per = 5 * n / (uint32_t)m;
	uint64_t *ts = malloc(per * sizeof(*ts));
	if (!ts) {
		c->err = true;
		return;
	}
	for (int k = 0; k < m; k++) {
		for (size_t i = 0; i < per; i++)
			ts[i] = rng_span(&c->r, a, b);
		qsort(ts, per, sizeof(*ts), cmp_u64);
		uint64_t tokens = 6 * SEC, last = ts[0]; /* a new peer starts with a full bucket */
		for (size_t i = 0; i < per; i++) {
			struct event q = mk_request(c, ts[i], cl[k], srv, &SVC_DNS, 53);
			push(c, &q, f, ROLE_REQ);
			tokens += ts[i] - last;
			last = ts[i];
			if (tokens > 6 * SEC)
				tokens = 6 * SEC;
			if (tokens < SEC)
				continue;
			tokens -= SEC;
			struct event e = mk_pu(c, ts[i] + rtt(c, srv), &q, srv, CAP_HOST4);
			push(c, &e, f, ROLE_ERR);
		}
	}
	free(ts);
}

/* Answers, then refuses for a while (the daemon was restarted or crashed), then answers. */
static void sc_restarted(struct ctx *c, const struct service *s, uint32_t n)
{
	int srv = new_host(c, POOL_SC_SERVER, 4, 64, 1);
	int cl[8], m = 2 + (int)rng_below(&c->r, 3);
	new_clients(c, 4, m, cl);
	int f = new_finding(c, "service-restarted", s->name, srv, s->port, m);
	uint64_t a, b;
	window(c, &a, &b);
	uint64_t o1 = a + (b - a) / 100 * rng_range(&c->r, 30, 40);
	uint64_t o2 = a + (b - a) / 100 * rng_range(&c->r, 60, 70);
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "answers before and after an outage of %.1f s", (double)(o2 - o1) / SEC);
	uint32_t n_side = n * 3 / 4 > 3 ? n * 3 / 4 : 3;
	for (uint32_t i = 0; i < n + 2 * n_side; i++) {
		bool during = i < n;
		uint64_t t = during	      ? rng_span(&c->r, o1, o2)
			     : i < n + n_side ? rng_span(&c->r, a, o1 - 50 * MS)
					      : rng_span(&c->r, o2 + 50 * MS, b);
		struct event q =
		    client_request(c, t, cl, (uint32_t)m, srv, s, s->port, f, ROLE_REQ);
		uint64_t t2 = t + rtt(c, srv);
		struct event e = during ? mk_pu(c, t2, &q, srv, CAP_HOST4)
					: mk_reply(c, t2 + rng_below(&c->r, 2000) * US, &q, s->rep);
		push(c, &e, f, during ? ROLE_ERR : ROLE_REPLY);
	}
}

/* The host runs the DNS server on another port (8053, 5353): clients on 53 are refused. */
static void sc_wrong_port(struct ctx *c, int alt, uint32_t n)
{
	int srv = new_host(c, POOL_SC_SERVER, 4, 64, 1);
	int cl[8], m = 2 + (int)rng_below(&c->r, 3);
	new_clients(c, 4, m, cl);
	int f = new_finding(c, "wrong-port", "dns", srv, 53, m);
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "the same host answers DNS on port %d", alt);
	uint64_t a, b;
	window(c, &a, &b);
	for (uint32_t i = 0; i < 2 * n; i++) {
		bool wrong = i < n;
		uint64_t t = rng_span(&c->r, a, b);
		struct event q =
		    client_request(c, t, cl, (uint32_t)m, srv, &SVC_DNS, wrong ? 53 : alt,
				   wrong ? f : NO_FINDING, wrong ? ROLE_REQ : ROLE_NONE);
		uint64_t t2 = t + rtt(c, srv);
		struct event e = wrong
				     ? mk_pu(c, t2, &q, srv, CAP_HOST4)
				     : mk_reply(c, t2 + rng_below(&c->r, 900) * US, &q, APP_DNS_R);
		push(c, &e, wrong ? f : NO_FINDING, wrong ? ROLE_ERR : ROLE_NONE);
	}
}

/* resolv.conf names a host without a DNS server first: each lookup is refused there, and
 * the resolver then asks the second name server, which answers. */
static void sc_wrong_host(struct ctx *c, uint32_t n)
{
	int bad = new_host(c, POOL_SC_SERVER, 4, 64, 1);
	int good = new_host(c, POOL_SC_SERVER, 4, 64, 1);
	int cl[8], m = 2 + (int)rng_below(&c->r, 3);
	new_clients(c, 4, m, cl);
	int f = new_finding(c, "wrong-host", "dns", bad, 53, m);
	char gs[48];
	host_str(H(c, good), gs, sizeof(gs));
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "the same clients get answers from %s:53", gs);
	uint64_t a, b;
	window(c, &a, &b);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = rng_span(&c->r, a, b);
		int cli = cl[rng_below(&c->r, (uint32_t)m)];
		struct event q = mk_request(c, t, cli, bad, &SVC_DNS, 53);
		push(c, &q, f, ROLE_REQ);
		uint64_t t2 = t + rtt(c, bad);
		struct event e = mk_pu(c, t2, &q, bad, CAP_HOST4);
		push(c, &e, f, ROLE_ERR);
		struct event q2 = mk_dgram(c, t2 + 60 * US, cli, good, q.d.sport, 53, APP_DNS_Q);
		q2.d.arg = q.d.arg;
		push(c, &q2, NO_FINDING, ROLE_NONE);
		struct event r2 = mk_reply(c, q2.t + rtt(c, good), &q2, APP_DNS_R);
		push(c, &r2, NO_FINDING, ROLE_NONE);
	}
}

/* A slow server: a third of its answers arrive 5.2-9 s late, after the client closed its
 * socket, and the client's kernel refuses them. */
static void sc_late(struct ctx *c, uint32_t n)
{
	int srv = new_host(c, POOL_SC_SERVER, 4, 64, 2);
	int cl[8], m = 2 + (int)rng_below(&c->r, 3);
	new_clients(c, 4, m, cl);
	int f = new_finding(c, "late-reply", "dns", srv, 53, m);
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
		 "1 answer in 3 comes 5.2-9 s after its query; the clients refuse those");
	uint64_t a, b;
	window(c, &a, &b);
	if (b > c->dur - 10 * SEC)
		b = c->dur - 10 * SEC;
	if (b <= a)
		a = b / 2;
	for (uint32_t i = 0; i < 3 * n; i++) {
		bool late = i % 3 == 0;
		uint64_t t = rng_span(&c->r, a, b);
		int cli = cl[rng_below(&c->r, (uint32_t)m)];
		struct event q = mk_request(c, t, cli, srv, &SVC_DNS, 53);
		push(c, &q, f, ROLE_REQ);
		uint64_t delay =
		    late ? rng_span(&c->r, 5200 * MS, 9000 * MS) : rng_span(&c->r, 2 * MS, 40 * MS);
		struct event r = mk_reply(c, t + delay, &q, APP_DNS_R);
		push(c, &r, f, ROLE_REPLY);
		if (late) {
			struct event e =
			    mk_pu(c, r.t + rng_range(&c->r, 30, 80) * US, &r, cli, CAP_HOST4);
			push(c, &e, f, ROLE_ERR);
		}
	}
}

/* One traceroute run: 3 UDP probes per TTL to 33434 and up, time exceeded from each
 * router (one of them silent when `silent`), port unreachable from the target. */
static void traceroute_run(struct ctx *c, int f, int src, int dst, int hops, uint64_t t,
			   bool silent)
{
	bool v6 = H(c, src)->fam == 6;
	const int *routers = v6 ? c->w->router6 : c->w->router4;
	int sport = 32768 + (int)rng_below(&c->r, 32767);
	for (int ttl = 1; ttl <= hops + 1; ttl++) {
		for (int q = 0; q < 3; q++) {
			int port = 33434 + 3 * (ttl - 1) + q;
			struct event p = mk_dgram(c, t, src, dst, sport, port, APP_TRACE);
			p.d.ttl = (uint8_t)ttl;
			p.d.plen = 32;
			push(c, &p, f, ROLE_REQ);
			if (ttl > hops) {
				struct event e =
				    mk_pu(c, t + rtt(c, dst), &p, dst, host_cap(c, dst));
				push(c, &e, f, ROLE_ERR);
				t = e.t;
			} else if (silent && ttl == 2) {
				t += 50 * MS; /* "* * *": the probe times out */
			} else {
				int r = routers[ttl - 1];
				int cap = v6 ? CAP_HOST6 : ttl % 2 ? CAP_MINIMAL : CAP_HOST4;
				struct event e =
				    mk_icmp(c, t + rtt(c, r), &p, r, v6 ? 3 : 11, 0, cap);
				push(c, &e, f, ROLE_NONE);
				t = e.t;
			}
			t += rng_range(&c->r, 10, 60) * US;
		}
	}
}

static void sc_traceroute(struct ctx *c, int fam, uint32_t n, bool silent)
{
	int hops = 3 + (int)rng_below(&c->r, 4);
	int src = new_host(c, POOL_SC_CLIENT, fam, 64, 0);
	int dst = new_host(c, POOL_SC_SERVER, fam, 64, hops);
	int f = new_finding(c, "traceroute", "traceroute", dst, 33434, 1);
	uint32_t runs = n / 3 > 1 ? n / 3 : 1;
	fd_at(c, f)->ports = (uint32_t)(3 * (hops + 1));
	char ss[48];
	host_str(H(c, src), ss, sizeof(ss));
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note), "%u runs from %s, %d hops%s", runs,
		 ss, hops + 1, silent ? ", hop 2 silent" : "");
	uint64_t a, b;
	window(c, &a, &b);
	for (uint32_t i = 0; i < runs; i++)
		traceroute_run(c, f, src, dst, hops, a + (b - a) / runs * i, silent);
}

/* nmap -sU: one source, every port from 1 up in random order, one source port; a few
 * ports are open or filtered (no answer, probed twice), the rest refused. */
static void sc_scan_from(struct ctx *c, int fam, int src, uint32_t n_ports)
{
	static const uint16_t quiet[] = {53, 67, 123, 137, 161, 500, 1900, 5353};
	int dst = new_host(c, POOL_SC_SERVER, fam, 128, 1);
	int f = new_finding(c, "udp-scan", "udp-scan", dst, 1, 1);
	fd_at(c, f)->ports = n_ports;
	uint16_t *ports = malloc(n_ports * sizeof(*ports));
	if (!ports) {
		c->err = true;
		return;
	}
	for (uint32_t i = 0; i < n_ports; i++)
		ports[i] = (uint16_t)(i + 1);
	for (uint32_t i = n_ports - 1; i > 0; i--) {
		uint32_t j = rng_below(&c->r, i + 1);
		uint16_t x = ports[i];
		ports[i] = ports[j];
		ports[j] = x;
	}
	uint64_t gap = c->dur / 2 / n_ports < MS ? c->dur / 2 / n_ports : MS;
	uint64_t t = c->dur / 100 * rng_range(&c->r, 5, 40);
	int sport = 40000 + (int)rng_below(&c->r, 20000);
	char ss[48];
	host_str(H(c, src), ss, sizeof(ss));
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note), "%u ports from %s in %.1f s",
		 n_ports, ss, (double)(gap * n_ports) / SEC);
	for (uint32_t i = 0; i < n_ports; i++, t += gap) {
		bool q = false;
		for (size_t k = 0; k < sizeof(quiet) / sizeof(quiet[0]); k++)
			q |= ports[i] == quiet[k];
		struct event p = mk_dgram(c, t, src, dst, sport, ports[i], APP_NONE);
		push(c, &p, f, ROLE_REQ);
		if (q) {
			p = mk_dgram(c, t + 800 * MS, src, dst, sport, ports[i], APP_NONE);
			push(c, &p, f, ROLE_REQ); /* nmap's retransmission */
			continue;
		}
		struct event e = mk_pu(c, t + rtt(c, dst), &p, dst, host_cap(c, dst));
		push(c, &e, f, ROLE_ERR);
	}
	free(ports);
}

static void sc_scan(struct ctx *c, int fam, uint32_t n_ports)
{
	sc_scan_from(c, fam, new_host(c, POOL_SC_CLIENT, fam, 64, 0), n_ports);
}

/* An error storm: a fleet of dead resolvers in front of many clients, every request refused
 * (one service-down finding per server), and scanners sweeping many hosts. IPv6, so that
 * thousands of hosts fit. */
static void sc_storm(struct ctx *c, const struct storm *s)
{
	enum { CLIENTS = 2000 };
	static int cl[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		cl[i] = new_host(c, POOL_SC_CLIENT, 6, 64, 1);
	uint64_t a = c->dur / 100, b = c->dur - c->dur / 100;
	for (uint32_t k = 0; k < s->servers && !c->err; k++) {
		int srv = new_host(c, POOL_SC_SERVER, 6, 64, 1);
		uint64_t n = s->requests / s->servers + (k < s->requests % s->servers);
		int f = new_finding(c, "service-down", "dns", srv, 53, CLIENTS);
		snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note),
			 "storm: one of %u dead resolvers, every request refused", s->servers);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t t = rng_span(&c->r, a, b);
			struct event q =
			    client_request(c, t, cl, CLIENTS, srv, &SVC_DNS, 53, f, ROLE_REQ);
			struct event e = mk_pu(c, t + rtt(c, srv), &q, srv, host_cap(c, srv));
			push(c, &e, f, ROLE_ERR);
		}
	}
	for (uint32_t k = 0; k < s->scanners && !c->err; k++) {
		int src = new_host(c, POOL_SC_CLIENT, 6, 64, 0);
		for (uint32_t t = 0; t < s->targets && !c->err; t++)
			sc_scan_from(c, 6, src, s->ports);
	}
}

enum fw_kind { FW_ROUTER, FW_LINUX, FW_SPOOF };

/* A REJECT rule on the path answers for the server: from a router's own address, from a
 * Linux firewall, or with the server's address but a router's TTL. */
static void sc_firewall(struct ctx *c, int fam, enum fw_kind kind, int svc_i, uint32_t n)
{
	static const struct service *const svcs[4] = {&SVC_SNMP, &SVC_SYSLOG, &SVC_TFTP, &SVC_DNS};
	const struct service *s = svcs[svc_i % 4];
	int hf = 1 + (int)rng_below(&c->r, 2);
	int srv = new_host(c, POOL_SC_SERVER, fam, 64, 3);
	int rep = kind == FW_SPOOF   ? srv
		  : kind == FW_LINUX ? new_host(c, POOL_ROUTER, fam, 64, hf)
				     : (fam == 6 ? c->w->router6 : c->w->router4)[hf];
	int cl[8], m = 2 + (int)rng_below(&c->r, 3);
	new_clients(c, fam, m, cl);
	int f = new_finding(c, "firewall-reject", s->name, srv, s->port, m);
	int ttl = kind == FW_SPOOF ? 255 - hf : host_seen_ttl(H(c, rep));
	int cap = fam == 6 ? CAP_HOST6 : kind == FW_LINUX ? CAP_HOST4 : CAP_MINIMAL;
	char rs[48];
	host_str(H(c, rep), rs, sizeof(rs));
	snprintf(fd_at(c, f)->note, sizeof(fd_at(c, f)->note), "%s %s, TTL %d, quotes %d bytes",
		 kind == FW_SPOOF ? "spoofed by a firewall as" : "rejected by",
		 kind == FW_SPOOF ? "the server" : rs, ttl, cap);
	uint64_t a, b;
	window(c, &a, &b);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = rng_span(&c->r, a, b);
		struct event q =
		    client_request(c, t, cl, (uint32_t)m, srv, s, s->port, f, ROLE_REQ);
		struct event e = mk_pu(c, t + 100 * US + (uint64_t)hf * 300 * US, &q, rep, cap);
		e.icmp_ttl = (uint8_t)ttl;
		e.d.ttl = q.d.ttl > hf ? (uint8_t)(q.d.ttl - hf) : 1;
		push(c, &e, f, ROLE_ERR);
	}
}

/* Destination unreachables that are not port unreachables: host unreachable (3/1),
 * fragmentation needed (3/4), administratively prohibited (3/13), ICMPv6 address
 * unreachable (1/3) and administratively prohibited (1/1). Not findings. */
static void sc_other(struct ctx *c, uint32_t n)
{
	int cl4 = new_host(c, POOL_SC_CLIENT, 4, 64, 0),
	    cl6 = new_host(c, POOL_SC_CLIENT, 6, 64, 0);
	int gone4 = new_host(c, POOL_SC_SERVER, 4, 64, 2),
	    gone6 = new_host(c, POOL_SC_SERVER, 6, 64, 2);
	int web = new_host(c, POOL_SC_SERVER, 4, 64, 2),
	    tftp = new_host(c, POOL_SC_SERVER, 4, 64, 3);
	int ntp6 = new_host(c, POOL_SC_SERVER, 6, 64, 3);
	const int *r4 = c->w->router4, *r6 = c->w->router6;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = rng_span(&c->r, c->dur / 50, c->dur / 100 * 85);
		struct event q, e;
		switch (i % 5) {
		case 0: /* a stale resolver address: the last router gives up on ARP */
			q = mk_request(c, t, cl4, gone4, &SVC_DNS, 53);
			e = mk_icmp(c, t + 3 * SEC, &q, r4[1], 3, 1, CAP_MINIMAL);
			break;
		case 1: /* a full-size TCP segment into a 1400-byte tunnel */
			q = mk_dgram(c, t, web, cl4, 443, ephemeral(c), APP_TLS);
			q.d.proto = 6;
			q.d.plen = 1460;
			q.d.tcp_flags = 0x18;
			q.d.seq = (uint32_t)rng_next(&c->r);
			q.d.ack = (uint32_t)rng_next(&c->r);
			/* minimal quote: tshark checks a TCP checksum over a cut segment */
			e = mk_icmp(c, t + rtt(c, r4[2]), &q, r4[2], 3, 4, CAP_MINIMAL);
			e.mtu = 1400;
			break;
		case 2:
			q = mk_request(c, t, cl4, tftp, &SVC_TFTP, 69);
			e = mk_icmp(c, t + rtt(c, r4[1]), &q, r4[1], 3, 13, CAP_MINIMAL);
			break;
		case 3:
			q = mk_request(c, t, cl6, gone6, &SVC_DNS, 53);
			e = mk_icmp(c, t + 3 * SEC, &q, r6[1], 1, 3, CAP_HOST6);
			break;
		default:
			q = mk_request(c, t, cl6, ntp6, &SVC_NTP, 123);
			e = mk_icmp(c, t + rtt(c, r6[1]), &q, r6[1], 1, 1, CAP_HOST6);
			break;
		}
		push(c, &q, NO_FINDING, ROLE_NONE);
		push(c, &e, NO_FINDING, ROLE_NONE);
	}
}

/* ---- the plan ---- */

static int cmp_event(const void *x, const void *y)
{
	const struct event *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Port-unreachable budget of one instance: weight percent of 0.2 % of the packets. */
static uint32_t share(uint64_t n_packets, uint32_t weight, uint32_t instances)
{
	uint64_t v = n_packets * 2 / 1000 * weight / 100 / instances;
	return v < 6 ? 6 : v > 200000 ? 200000 : (uint32_t)v;
}

static void plan_all(struct ctx *c, uint64_t n)
{
	static const struct service *const down_svc[5] = {&SVC_DNS, &SVC_SYSLOG, &SVC_NTP, &SVC_DNS,
							  &SVC_SNMP};
	static const struct service *const restart_svc[3] = {&SVC_DNS, &SVC_NTP, &SVC_SNMP};
	uint32_t k = n < 1000000 ? 1 : n < 4000000 ? 2 : n < 16000000 ? 3 : 4;
	for (uint32_t i = 0; i < k + 1; i++)
		sc_down(c, 4, down_svc[i], share(n, 22, k + 1), i % 2 ? 128 : 64);
	sc_down_ratelimited(c, share(n, 4, 1));
	for (uint32_t i = 0; i < k; i++) {
		sc_restarted(c, restart_svc[i % 3], share(n, 10, k));
		sc_wrong_port(c, i % 2 ? 5353 : 8053, share(n, 8, k));
		sc_wrong_host(c, share(n, 8, k));
		sc_late(c, share(n, 8, k));
		sc_firewall(c, 4, i % 2 ? FW_LINUX : FW_ROUTER, (int)i, share(n, 8, k + 1));
		sc_traceroute(c, 4, share(n, 5, k), i % 2 == 0);
		uint32_t ports = share(n, 10, k);
		sc_scan(c, 4, ports < 100 ? 100 : ports > 65535 ? 65535 : ports);
	}
	sc_firewall(c, 4, FW_SPOOF, 1, share(n, 8, k + 1));
	sc_down(c, 6, &SVC_DNS, share(n, 5, 1), 64);
	sc_firewall(c, 6, FW_ROUTER, 0, share(n, 3, 1));
	sc_traceroute(c, 6, share(n, 3, 1), false);
	uint32_t ports6 = share(n, 4, 1);
	sc_scan(c, 6, ports6 < 100 ? 100 : ports6 > 65535 ? 65535 : ports6);
	uint64_t other = n * 4 / 10000;
	sc_other(c, other < 10 ? 10 : (uint32_t)(other > 200000 ? 200000 : other));
}

int plan_scenarios(struct plan *pl, struct world *w, uint64_t seed, uint64_t n_packets,
		   uint64_t duration_ns, const struct storm *storm)
{
	memset(pl, 0, sizeof(*pl));
	struct ctx c = {.pl = pl, .w = w, .dur = duration_ns};
	rng_seed(&c.r, seed, 3);
	plan_all(&c, n_packets);
	if (storm->servers)
		sc_storm(&c, storm);
	if (c.err) {
		fprintf(stderr, "gen: planning the scenarios failed\n");
		return -1;
	}
	qsort(pl->ev, pl->n_ev, sizeof(*pl->ev), cmp_event);
	return 0;
}

void plan_free(struct plan *pl)
{
	free(pl->ev);
	free(pl->fd);
	memset(pl, 0, sizeof(*pl));
}
