/* gen.h - shared declarations of the synthetic capture generator (samples/gen/, not linked
 * into portmortem). Classic pcap out (libpcap savefile format), IPv4 RFC 791, IPv6 RFC 8200,
 * UDP RFC 768, TCP RFC 9293, ICMP RFC 792, ICMPv6 RFC 4443. */
#ifndef GEN_H
#define GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- deterministic pseudo-random numbers (xorshift64*, seeded by splitmix64) ---- */

struct rng {
	uint64_t s;
};

/* Seeds one independent stream per (seed, stream) pair. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n); n > 0. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi], both inclusive. */
static inline uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* Uniform in [lo, hi) for 64-bit times; lo when hi <= lo. */
static inline uint64_t rng_span(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_next(r) % (hi - lo);
}

/* ---- big-endian stores into packet bytes ---- */

static inline void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- hosts and addresses: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32 ---- */

enum pool {
	POOL_BG_CLIENT, /* background clients: 198.51.100.1-126, 2001:db8:100::/48 */
	POOL_BG_SERVER, /* background servers: 203.0.113.1-62, 2001:db8:200::/48 */
	POOL_SC_SERVER, /* planted servers and targets: 192.0.2.1-223, 2001:db8:300::/48 */
	POOL_SC_CLIENT, /* planted clients: 198.51.100.129-254 then 203.0.113.65-254, 2001:db8:400::
			 */
	POOL_ROUTER,	/* routers and firewalls: 192.0.2.224-254, 2001:db8:ffff::/48 */
	POOL__COUNT
};

struct host {
	uint8_t fam;	  /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint8_t mac[6];
	uint8_t ttl0;  /* initial TTL / hop limit: 64 Linux, 128 Windows, 255 routers */
	uint8_t hops;  /* routers between the capture point and the host */
	uint16_t vlan; /* 802.1Q VLAN of its access port, 0 = untagged */
	bool qinq;     /* also carries an outer 802.1ad service tag */
};

#define MAX_HOSTS 40000
#define N_ROUTERS 8

struct world {
	struct host hosts[MAX_HOSTS];
	int n_hosts;
	int next4[POOL__COUNT], next6[POOL__COUNT];
	uint32_t vlan_share;	/* fraction of clients on tagged ports, scaled to 2^32 - 1 */
	int router4[N_ROUTERS]; /* a chain of routers: router4[i] is i hops from the capture */
	int router6[N_ROUTERS];
	uint64_t start_ns; /* time of the capture's start, ns since the Unix epoch */
};

/* Initialises the world (no hosts but the routers); vlan_share in [0, 1]. */
void world_init(struct world *w, double vlan_share, uint64_t start_ns);

/* Adds a host from a pool; returns its index, or -1 when the pool is exhausted. */
int host_new(struct world *w, enum pool pool, int fam, int ttl0, int hops);

/* TTL of a host's datagrams where the capture sees them. */
static inline uint8_t host_seen_ttl(const struct host *h)
{
	return (uint8_t)(h->ttl0 - h->hops);
}

/* inet_ntop form of a host's address into buf (>= 46 bytes). */
void host_str(const struct host *h, char *buf, size_t buf_len);

/* ---- datagrams and events ---- */

enum app {
	APP_NONE,      /* empty payload (a UDP scan probe) */
	APP_DNS_Q,     /* DNS query; arg = name index | qtype selector << 12, id = DNS id */
	APP_DNS_R,     /* DNS response to the same arg and id */
	APP_SYSLOG,    /* RFC 3164 message; arg = variant, plen = length */
	APP_NTP_C,     /* NTPv4 client (mode 3) */
	APP_NTP_S,     /* NTPv4 server (mode 4); seq = microseconds since the request */
	APP_SNMP_GET,  /* SNMPv2c get-request; arg = OID, id = request id */
	APP_SNMP_RESP, /* SNMPv2c response to the same arg and id */
	APP_TFTP_RRQ,  /* TFTP read request; arg = file name */
	APP_TRACE,     /* traceroute probe payload, plen bytes */
	APP_TLS,       /* TCP: one TLS application-data record of plen bytes, or none (plen 0) */
};

#define QSEL_A 0
#define QSEL_AAAA 1
#define QSEL_MX 2
#define QSEL_TXT 3
#define DNS_ARG(name, qsel) ((uint16_t)((name) | ((qsel) << 12)))

/* One IP datagram, described well enough to be rebuilt byte for byte (for a quote). */
struct dgram {
	uint64_t t_orig;   /* ns since the start: when it was sent (payload clocks) */
	uint32_t seq, ack; /* TCP; APP_NTP_S: seq = request-to-response microseconds */
	uint16_t src, dst; /* host indices */
	uint16_t sport, dport;
	uint16_t ip_id;
	uint16_t arg;  /* payload selector, see enum app */
	uint16_t id;   /* DNS id, SNMP request id, syslog pid */
	uint16_t plen; /* payload length for the sized payloads */
	uint8_t proto; /* 17 UDP or 6 TCP */
	uint8_t app;   /* enum app */
	uint8_t ttl;   /* TTL / hop limit in its IP header */
	uint8_t tcp_flags;
};

enum ev_kind { EV_DGRAM, EV_ICMP };
enum ev_role { ROLE_NONE, ROLE_REQ, ROLE_REPLY, ROLE_ERR };
#define NO_FINDING 0xffff

/* One planted packet: the datagram itself, or an ICMP error quoting it. */
struct event {
	uint64_t t;	    /* ns since the start */
	uint32_t order;	    /* creation order: breaks ties of t */
	uint16_t finding;   /* index of the finding it is evidence for, or NO_FINDING */
	uint16_t reporter;  /* EV_ICMP: host that sends the error */
	uint8_t kind, role; /* enum ev_kind, enum ev_role */
	uint8_t icmp_type, icmp_code, icmp_ttl;
	uint16_t quote_cap; /* EV_ICMP: most bytes of the datagram quoted */
	uint16_t mtu;	    /* EV_ICMP type 3 code 4: next-hop MTU */
	struct dgram d;	    /* EV_DGRAM: the datagram; EV_ICMP: the quoted datagram */
};

/* A planted finding: what the analyzer should report (the truth file). */
#define MAX_REPORTERS 4
struct finding {
	const char *diagnosis, *secondary, *service;
	uint16_t server; /* host index */
	uint16_t port;
	uint32_t ports; /* distinct ports (traceroute, udp-scan), else 1 */
	uint32_t n_clients;
	char note[120];
	/* counted while writing, so they are what the file holds */
	uint64_t n_err, n_req, n_rep;
	uint64_t first_err, last_err;
	uint16_t reporters[MAX_REPORTERS];
	int n_reporters;
	bool more_reporters;
};

struct plan {
	struct event *ev;
	size_t n_ev, cap_ev;
	struct finding *fd;
	size_t n_fd, cap_fd;
	uint32_t order;
};

/* An error storm (--storm): `servers` DNS servers refusing `requests` requests in all, and
 * `scanners` scanners each probing `ports` ports of `targets` hosts. All zero: none. */
struct storm {
	uint32_t servers, scanners, targets, ports;
	uint64_t requests;
};

/* Plans every scenario for a capture of about n_packets packets lasting duration_ns, plus
 * the storm. Events are sorted by time on return. Returns 0, or -1 (message on stderr). */
int plan_scenarios(struct plan *pl, struct world *w, uint64_t seed, uint64_t n_packets,
		   uint64_t duration_ns, const struct storm *storm);
void plan_free(struct plan *pl);

/* ---- background traffic ---- */

struct bg;
/* Creates the background hosts in w and the generator state; NULL when out of memory. */
struct bg *bg_new(struct world *w, uint64_t seed);
/* Fills d with the next background datagram, sent at t (ns since the start). */
void bg_next(struct bg *b, uint64_t t, struct dgram *d);
void bg_free(struct bg *b);

/* ---- packet bytes ---- */

enum link { LINK_EN10MB = 1, LINK_RAW = 101, LINK_NULL = 0, LINK_SLL2 = 276 };

#define FRAME_MAX 2048 /* largest frame built: 22 link + 1500 IP (ICMPv6 errors: 1280) */

/* Builds the payload of d at p (room for 1500 bytes); returns its length. */
size_t app_build(uint8_t *p, const struct world *w, const struct dgram *d);
/* Pre-computes tables (DNS names, random pool). Call once before anything is built. */
void app_init(void);
/* The DNS name of a name index, dotted, for notes. */
const char *app_dns_name(unsigned idx);
unsigned app_dns_n_names(void);

/* Ones' complement sum (not complemented) of n bytes as big-endian 16-bit words. */
uint32_t csum_bytes(const uint8_t *p, size_t n);
uint32_t csum_fold(uint64_t s);
/* Sum of random-pool bytes [off, off + n) (off even), as they would sum starting at an
 * odd (odd_pos) or even offset of the checksummed data; copies them to dst. */
uint32_t pool_copy_sum(uint8_t *dst, size_t off, size_t n, bool odd_pos);
#define POOL_SIZE 65536

/* Pre-computes the random pool. Call once before anything is built. */
void wire_init(void);
/* Builds the IP datagram d at p; returns its length. */
size_t wire_dgram(uint8_t *p, const struct world *w, const struct dgram *d);
/* Builds the ICMP/ICMPv6 error of e (outer IP header included) at p; returns its length. */
size_t wire_icmp(uint8_t *p, const struct world *w, const struct event *e);
/* Builds the link-layer header for an IP datagram of family fam from src to dst, tagged
 * with the VLAN of vlan_host (if any) on Ethernet; returns its length. */
size_t wire_link(uint8_t *p, enum link link, int fam, const struct host *src,
		 const struct host *dst, const struct host *vlan_host);

/* ---- output: classic pcap, little-endian, written in 1 MiB blocks ---- */

#define OUT_BLOCK (1u << 20)

struct out {
	FILE *f;
	uint8_t *buf;
	size_t len;
	uint64_t total; /* bytes handed to the file so far plus buffered */
	bool nsec;
	int err;
};

int out_open(struct out *o, const char *path, enum link link, bool nsec, char *errbuf,
	     size_t errbuf_len);
/* Room for one record (16-byte header + FRAME_MAX). */
static inline uint8_t *out_room(struct out *o)
{
	return o->buf + o->len;
}
/* Commits a record of frame_len bytes at out_room() with its header; flushes whole blocks. */
void out_commit(struct out *o, uint64_t ts_ns, size_t frame_len);
int out_close(struct out *o, char *errbuf, size_t errbuf_len);

#endif
