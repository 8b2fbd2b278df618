/* build_packets.c - builds test frames byte by byte (see build_packets.h). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/build_packets.h"

void pk_init(struct pkt *p)
{
	memset(p, 0, sizeof *p);
}

void pk_u8(struct pkt *p, uint8_t v)
{
	if (p->n < sizeof p->b)
		p->b[p->n++] = v;
}

void pk_be16(struct pkt *p, uint16_t v)
{
	pk_u8(p, (uint8_t)(v >> 8));
	pk_u8(p, (uint8_t)v);
}

void pk_be32(struct pkt *p, uint32_t v)
{
	pk_be16(p, (uint16_t)(v >> 16));
	pk_be16(p, (uint16_t)v);
}

void pk_le32(struct pkt *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		pk_u8(p, (uint8_t)(v >> (8 * i)));
}

void pk_bytes(struct pkt *p, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pk_u8(p, ((const uint8_t *)src)[i]);
}

void pk_fill(struct pkt *p, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pk_u8(p, v);
}

void pk_str(struct pkt *p, const char *s)
{
	pk_bytes(p, s, strlen(s));
}

void pk_put16(struct pkt *p, size_t off, uint16_t v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

size_t pk_eth(struct pkt *p, uint16_t etype)
{
	size_t off = p->n;
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
	pk_bytes(p, macs, sizeof macs);
	pk_be16(p, etype);
	return off;
}

static void pk_addr(struct pkt *p, int af, const char *txt)
{
	uint8_t b[16];
	if (inet_pton(af, txt, b) != 1)
		memset(b, 0xee, sizeof b);
	pk_bytes(p, b, af == AF_INET ? 4 : 16);
}

size_t pk_ipv4_opts(struct pkt *p, uint8_t proto, const char *src, const char *dst, uint8_t ttl,
		    size_t opt_len)
{
	size_t off = p->n;
	pk_u8(p, (uint8_t)(0x40 | (5 + opt_len / 4)));
	pk_u8(p, 0);
	pk_be16(p, 0);	    /* total length: pk_ipv4_fin */
	pk_be16(p, 0x1234); /* id */
	pk_be16(p, 0);
	pk_u8(p, ttl);
	pk_u8(p, proto);
	pk_be16(p, 0);
	pk_addr(p, AF_INET, src);
	pk_addr(p, AF_INET, dst);
	pk_fill(p, 1, opt_len); /* NOP options */
	return off;
}

size_t pk_ipv4(struct pkt *p, uint8_t proto, const char *src, const char *dst, uint8_t ttl)
{
	return pk_ipv4_opts(p, proto, src, dst, ttl, 0);
}

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void pk_ipv4_fin(struct pkt *p, size_t off)
{
	size_t hlen = (size_t)(p->b[off] & 15) * 4;
	pk_put16(p, off + 2, (uint16_t)(p->n - off));
	pk_put16(p, off + 10, 0);
	pk_put16(p, off + 10, fold(sum16(p->b + off, hlen, 0)));
}

size_t pk_ipv6(struct pkt *p, uint8_t nh, const char *src, const char *dst, uint8_t hlim)
{
	size_t off = p->n;
	pk_be32(p, 0x60000000);
	pk_be16(p, 0); /* payload length: pk_ipv6_fin */
	pk_u8(p, nh);
	pk_u8(p, hlim);
	pk_addr(p, AF_INET6, src);
	pk_addr(p, AF_INET6, dst);
	return off;
}

void pk_ipv6_fin(struct pkt *p, size_t off)
{
	pk_put16(p, off + 4, (uint16_t)(p->n - off - 40));
}

size_t pk_ipv6_ext(struct pkt *p, uint8_t nh)
{
	size_t off = p->n;
	pk_u8(p, nh);
	pk_u8(p, 0);
	pk_u8(p, 1); /* PadN of 4 bytes */
	pk_u8(p, 4);
	pk_fill(p, 0, 4);
	return off;
}

size_t pk_ipv6_frag(struct pkt *p, uint8_t nh, uint16_t offset_bytes, int more, uint32_t id)
{
	size_t off = p->n;
	pk_u8(p, nh);
	pk_u8(p, 0);
	pk_be16(p, (uint16_t)((offset_bytes & 0xfff8) | (more ? 1 : 0)));
	pk_be32(p, id);
	return off;
}

size_t pk_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	size_t off = p->n;
	pk_be16(p, sport);
	pk_be16(p, dport);
	pk_be16(p, 0);
	pk_be16(p, 0);
	return off;
}

static uint32_t pseudo(const struct pkt *p, size_t ip_off, uint8_t proto, size_t len)
{
	const uint8_t *ip = p->b + ip_off;
	uint32_t sum = (uint32_t)proto + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	if (ip[0] >> 4 == 4)
		return sum16(ip + 12, 8, sum);
	return sum16(ip + 8, 32, sum);
}

void pk_udp_fin(struct pkt *p, size_t off, size_t ip_off)
{
	size_t len = p->n - off;
	pk_put16(p, off + 4, (uint16_t)len);
	pk_put16(p, off + 6, 0);
	if (ip_off == (size_t)-1)
		return;
	uint16_t ck = fold(sum16(p->b + off, len, pseudo(p, ip_off, 17, len)));
	pk_put16(p, off + 6, ck ? ck : 0xffff);
}

size_t pk_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	size_t off = p->n;
	pk_u8(p, type);
	pk_u8(p, code);
	pk_be16(p, 0);
	pk_be32(p, rest);
	return off;
}

void pk_icmp_fin(struct pkt *p, size_t off)
{
	pk_put16(p, off + 2, 0);
	pk_put16(p, off + 2, fold(sum16(p->b + off, p->n - off, 0)));
}

void pk_icmp6_fin(struct pkt *p, size_t off, size_t ip6_off)
{
	size_t len = p->n - off;
	pk_put16(p, off + 2, 0);
	pk_put16(p, off + 2, fold(sum16(p->b + off, len, pseudo(p, ip6_off, 58, len))));
}

void pk_dns_query(struct pkt *p, uint16_t id, const char *name, uint16_t qtype)
{
	pk_be16(p, id);
	pk_be16(p, 0x0100);
	pk_be16(p, 1);
	pk_be16(p, 0);
	pk_be16(p, 0);
	pk_be16(p, 0);
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		pk_u8(p, (uint8_t)n);
		pk_bytes(p, s, n);
		s += n + (dot ? 1 : 0);
	}
	pk_u8(p, 0);
	pk_be16(p, qtype);
	pk_be16(p, 1);
}

void pk_udp4_datagram(struct pkt *p, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, const struct pkt *payload)
{
	size_t ip = pk_ipv4(p, 17, src, dst, 64);
	size_t u = pk_udp(p, sport, dport);
	if (payload)
		pk_bytes(p, payload->b, payload->n);
	pk_udp_fin(p, u, ip);
	pk_ipv4_fin(p, ip);
}

void pk_udp6_datagram(struct pkt *p, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, const struct pkt *payload)
{
	size_t ip = pk_ipv6(p, 17, src, dst, 64);
	size_t u = pk_udp(p, sport, dport);
	if (payload)
		pk_bytes(p, payload->b, payload->n);
	pk_udp_fin(p, u, ip);
	pk_ipv6_fin(p, ip);
}

const char *addr_txt(const struct pm_addr *a, int slot)
{
	static char bufs[4][64];
	char *b = bufs[slot & 3];
	pm_addr_str(a, b, sizeof bufs[0]);
	return b;
}

uint64_t an_bit(enum anomaly a)
{
	return UINT64_C(1) << a;
}

uint8_t *guard_region(size_t *page_out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *m =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m + page, page, PROT_NONE) != 0) {
		munmap(m, 2 * page);
		return NULL;
	}
	*page_out = page;
	return m;
}

void guard_release(uint8_t *m, size_t page)
{
	munmap(m, 2 * page);
}
