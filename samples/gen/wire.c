/* wire.c - packet bytes of the generator: Internet checksums (RFC 1071), link headers
 * (Ethernet with 802.1Q/802.1ad, Linux SLL2, BSD null, raw IP), IPv4, IPv6, UDP, TCP,
 * ICMP (RFC 792) and ICMPv6 (RFC 4443) errors, and the pcap file writer. */
#include "gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_8021Q 0x8100
#define ETH_8021AD 0x88a8
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define ICMP_ERR_HDR 8
#define QUOTE_MAX_V6 (1280 - 40 - 8) /* RFC 4443 2.4(c): the error fits the minimum MTU */

static inline void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ---- checksums ---- */

uint32_t csum_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* Sums native-order words (byte-order independent, RFC 1071 2(B)), then turns the folded
 * sum into big-endian word order. */
uint32_t csum_bytes(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		acc += (v & 0xffffffffu) + (v >> 32);
		p += 8;
		n -= 8;
	}
	while (n >= 2) {
		uint16_t v;
		memcpy(&v, p, 2);
		acc += v;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {p[0], 0};
		uint16_t v;
		memcpy(&v, last, 2);
		acc += v;
	}
	uint32_t s = csum_fold(acc);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = ((s & 0xff) << 8) | (s >> 8);
#endif
	return s;
}

static inline uint16_t csum_final(uint64_t s)
{
	return (uint16_t)(~csum_fold(s) & 0xffff);
}

/* ---- random pool: TLS ciphertext, copied with checksums from prefix sums ---- */

static uint8_t pool[POOL_SIZE + 2048];
static uint32_t pool_prefix[(POOL_SIZE + 2048) / 2 + 1]; /* sums of big-endian words */

void wire_init(void)
{
	struct rng r;
	rng_seed(&r, 0x706f6f6c, 1); /* fixed: the pool is the same for every seed */
	for (size_t i = 0; i < sizeof(pool); i += 8) {
		uint64_t v = rng_next(&r);
		memcpy(pool + i, &v, 8);
	}
	pool_prefix[0] = 0;
	for (size_t i = 0; i < sizeof(pool) / 2; i++)
		pool_prefix[i + 1] =
		    pool_prefix[i] + (uint32_t)((pool[2 * i] << 8) | pool[2 * i + 1]);
}

uint32_t pool_copy_sum(uint8_t *dst, size_t off, size_t n, bool odd_pos)
{
	memcpy(dst, pool + off, n);
	uint64_t s = (uint64_t)pool_prefix[(off + n) / 2] - pool_prefix[off / 2];
	if (n & 1)
		s += (uint32_t)pool[off + n - 1] << 8;
	uint32_t f = csum_fold(s);
	return odd_pos ? ((f & 0xff) << 8) | (f >> 8) : f;
}

/* ---- IP and transport headers ---- */

static size_t ip_hdr_len(int fam)
{
	return fam == 4 ? 20 : 40;
}

/* Writes the IP header for a payload of l4_len bytes; returns the pseudo-header sum. */
static uint32_t ip_hdr(uint8_t *p, const struct host *s, const struct host *d, uint8_t proto,
		       uint8_t ttl, uint16_t ip_id, uint8_t tos, bool df, size_t l4_len)
{
	if (s->fam == 4) {
		p[0] = 0x45;
		p[1] = tos;
		be16(p + 2, (uint32_t)(20 + l4_len));
		be16(p + 4, ip_id);
		be16(p + 6, df ? 0x4000 : 0);
		p[8] = ttl;
		p[9] = proto;
		p[10] = p[11] = 0;
		memcpy(p + 12, s->addr, 4);
		memcpy(p + 16, d->addr, 4);
		be16(p + 10, (uint16_t)~csum_bytes(p, 20));
		return csum_bytes(p + 12, 8) + proto + (uint32_t)l4_len;
	}
	uint32_t flow = (uint32_t)ip_id * 0x9E37u & 0xfffff; /* RFC 6437: any stable value */
	be32(p, 0x60000000u | (uint32_t)tos << 20 | flow);
	be16(p + 4, (uint32_t)l4_len);
	p[6] = proto;
	p[7] = ttl;
	memcpy(p + 8, s->addr, 16);
	memcpy(p + 24, d->addr, 16);
	return csum_bytes(p + 8, 32) + proto + (uint32_t)l4_len;
}

static size_t udp_dgram(uint8_t *p, const struct world *w, const struct dgram *d)
{
	const struct host *s = &w->hosts[d->src], *t = &w->hosts[d->dst];
	size_t hl = ip_hdr_len(s->fam);
	uint8_t *u = p + hl;
	size_t pl = app_build(u + 8, w, d);
	size_t ul = 8 + pl;
	uint32_t ps = ip_hdr(p, s, t, IPPROTO_UDP_, d->ttl, d->ip_id, 0, true, ul);
	be16(u, d->sport);
	be16(u + 2, d->dport);
	be16(u + 4, (uint32_t)ul);
	u[6] = u[7] = 0;
	uint16_t c = csum_final((uint64_t)ps + csum_bytes(u, ul));
	be16(u + 6, c ? c : 0xffff);
	return hl + ul;
}

static size_t tcp_dgram(uint8_t *p, const struct world *w, const struct dgram *d)
{
	const struct host *s = &w->hosts[d->src], *t = &w->hosts[d->dst];
	size_t hl = ip_hdr_len(s->fam);
	uint8_t *h = p + hl;
	size_t pl = d->plen >= 6 ? d->plen : 0;
	be16(h, d->sport);
	be16(h + 2, d->dport);
	be32(h + 4, d->seq);
	be32(h + 8, d->ack);
	h[12] = 0x50;
	h[13] = d->tcp_flags;
	be16(h + 14, 0x01f6); /* window 502 (scaled) */
	h[16] = h[17] = h[18] = h[19] = 0;
	uint64_t sum = 0;
	if (pl) {
		h[20] = 0x17; /* TLS application data, TLS 1.2 record version */
		h[21] = 0x03;
		h[22] = 0x03;
		be16(h + 23, (uint32_t)(pl - 5));
		size_t off = ((size_t)d->seq * 2) % POOL_SIZE & ~(size_t)1;
		sum += pool_copy_sum(h + 25, off, pl - 5, true);
	}
	uint32_t ps = ip_hdr(p, s, t, IPPROTO_TCP_, d->ttl, d->ip_id, 0, true, 20 + pl);
	sum += ps + csum_bytes(h, pl ? 25 : 20);
	be16(h + 16, csum_final(sum));
	return hl + 20 + pl;
}

size_t wire_dgram(uint8_t *p, const struct world *w, const struct dgram *d)
{
	return d->proto == IPPROTO_TCP_ ? tcp_dgram(p, w, d) : udp_dgram(p, w, d);
}

size_t wire_icmp(uint8_t *p, const struct world *w, const struct event *e)
{
	uint8_t orig[FRAME_MAX];
	size_t ol = wire_dgram(orig, w, &e->d);
	const struct host *r = &w->hosts[e->reporter], *to = &w->hosts[e->d.src];
	size_t ql = ol < e->quote_cap ? ol : e->quote_cap;
	if (r->fam == 6 && ql > QUOTE_MAX_V6)
		ql = QUOTE_MAX_V6;
	size_t hl = ip_hdr_len(r->fam);
	uint8_t *m = p + hl;
	size_t ml = ICMP_ERR_HDR + ql;
	m[0] = e->icmp_type;
	m[1] = e->icmp_code;
	m[2] = m[3] = 0;
	be32(m + 4, e->mtu); /* v4: unused + next-hop MTU (RFC 1191); v6: unused or MTU */
	memcpy(m + ICMP_ERR_HDR, orig, ql);
	uint16_t ip_id = (uint16_t)((e->order * 2654435761u) >> 16);
	if (r->fam == 4) {
		ip_hdr(p, r, to, IPPROTO_ICMP_, e->icmp_ttl, ip_id, 0xc0, false, ml);
		be16(m + 2, csum_final(csum_bytes(m, ml)));
	} else {
		uint32_t ps = ip_hdr(p, r, to, IPPROTO_ICMPV6_, e->icmp_ttl, ip_id, 0, false, ml);
		be16(m + 2, csum_final((uint64_t)ps + csum_bytes(m, ml)));
	}
	return hl + ml;
}

/* ---- link layer ---- */

size_t wire_link(uint8_t *p, enum link link, int fam, const struct host *src,
		 const struct host *dst, const struct host *vlan_host)
{
	uint16_t et = fam == 4 ? ETH_IPV4 : ETH_IPV6;
	switch (link) {
	case LINK_EN10MB: {
		memcpy(p, dst->mac, 6);
		memcpy(p + 6, src->mac, 6);
		size_t n = 12;
		if (vlan_host && vlan_host->vlan) {
			if (vlan_host->qinq) {
				be16(p + n, ETH_8021AD);
				be16(p + n + 2, 2000); /* service VLAN of the provider */
				n += 4;
			}
			be16(p + n, ETH_8021Q);
			be16(p + n + 2, vlan_host->vlan);
			n += 4;
		}
		be16(p + n, et);
		return n + 2;
	}
	case LINK_SLL2:
		be16(p, et);
		be16(p + 2, 0);
		be32(p + 4, 2); /* interface index */
		be16(p + 8, 1); /* ARPHRD_ETHER */
		p[10] = 0;	/* PACKET_HOST */
		p[11] = 6;
		memcpy(p + 12, src->mac, 6);
		p[18] = p[19] = 0;
		return 20;
	case LINK_NULL:
		le32(p, fam == 4 ? 2 : 24); /* AF_INET; BSD AF_INET6, in the file's byte order */
		return 4;
	case LINK_RAW:
	default:
		return 0;
	}
}

/* ---- pcap writer ---- */

int out_open(struct out *o, const char *path, enum link link, bool nsec, char *errbuf,
	     size_t errbuf_len)
{
	memset(o, 0, sizeof(*o));
	o->nsec = nsec;
	o->buf = malloc(OUT_BLOCK + 16 + FRAME_MAX + 64);
	if (!o->buf) {
		snprintf(errbuf, errbuf_len, "out of memory for the output buffer");
		return -1;
	}
	o->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (!o->f) {
		snprintf(errbuf, errbuf_len, "cannot create %s: %s", path, strerror(errno));
		free(o->buf);
		o->buf = NULL;
		return -1;
	}
	setvbuf(o->f, NULL, _IONBF, 0); /* we write whole blocks ourselves */
	uint8_t *h = o->buf;
	le32(h, nsec ? 0xa1b23c4du : 0xa1b2c3d4u);
	h[4] = 2, h[5] = 0, h[6] = 4, h[7] = 0; /* version 2.4 */
	le32(h + 8, 0);				/* thiszone */
	le32(h + 12, 0);			/* sigfigs */
	le32(h + 16, 262144);			/* snaplen */
	le32(h + 20, (uint32_t)link);
	o->len = 24;
	o->total = 24;
	return 0;
}

void out_commit(struct out *o, uint64_t ts_ns, size_t frame_len)
{
	uint8_t *h = o->buf + o->len;
	uint64_t sec = ts_ns / 1000000000u;
	uint32_t frac = (uint32_t)(ts_ns % 1000000000u);
	le32(h, (uint32_t)sec);
	le32(h + 4, o->nsec ? frac : frac / 1000);
	le32(h + 8, (uint32_t)frame_len);
	le32(h + 12, (uint32_t)frame_len);
	o->len += 16 + frame_len;
	o->total += 16 + frame_len;
	if (o->len >= OUT_BLOCK) {
		if (!o->err && fwrite(o->buf, 1, OUT_BLOCK, o->f) != OUT_BLOCK)
			o->err = errno ? errno : EIO;
		o->len -= OUT_BLOCK;
		memmove(o->buf, o->buf + OUT_BLOCK, o->len);
	}
}

int out_close(struct out *o, char *errbuf, size_t errbuf_len)
{
	if (!o->err && o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->err = errno ? errno : EIO;
	if (o->f && o->f != stdout && fclose(o->f) != 0 && !o->err)
		o->err = errno ? errno : EIO;
	if (o->f == stdout && fflush(stdout) != 0 && !o->err)
		o->err = errno ? errno : EIO;
	free(o->buf);
	o->buf = NULL;
	if (o->err) {
		snprintf(errbuf, errbuf_len, "writing the capture failed: %s", strerror(o->err));
		return -1;
	}
	return 0;
}
