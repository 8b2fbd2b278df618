/* build_packets.h - builds test frames byte by byte, with lengths and checksums. */
#ifndef PM_TEST_DISSECT_BUILD_H
#define PM_TEST_DISSECT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

struct pkt {
	uint8_t b[4096];
	size_t n;
};

void pk_init(struct pkt *p);
void pk_u8(struct pkt *p, uint8_t v);
void pk_be16(struct pkt *p, uint16_t v);
void pk_be32(struct pkt *p, uint32_t v);
void pk_le32(struct pkt *p, uint32_t v);
void pk_bytes(struct pkt *p, const void *src, size_t n);
void pk_fill(struct pkt *p, uint8_t v, size_t n);
void pk_str(struct pkt *p, const char *s); /* without the NUL */
void pk_put16(struct pkt *p, size_t off, uint16_t v);

/* Ethernet II with fixed MACs; returns the offset of the header. */
size_t pk_eth(struct pkt *p, uint16_t etype);
/* IPv4 header with IHL 5 + opt_len bytes of NOP options (opt_len multiple of 4). */
size_t pk_ipv4(struct pkt *p, uint8_t proto, const char *src, const char *dst, uint8_t ttl);
size_t pk_ipv4_opts(struct pkt *p, uint8_t proto, const char *src, const char *dst, uint8_t ttl,
		    size_t opt_len);
/* Sets total length = bytes from off to the end, and the header checksum. */
void pk_ipv4_fin(struct pkt *p, size_t off);
size_t pk_ipv6(struct pkt *p, uint8_t nh, const char *src, const char *dst, uint8_t hlim);
void pk_ipv6_fin(struct pkt *p, size_t off);
/* A generic extension header (hop-by-hop, routing, dest opts) of 8 bytes; returns offset. */
size_t pk_ipv6_ext(struct pkt *p, uint8_t nh);
size_t pk_ipv6_frag(struct pkt *p, uint8_t nh, uint16_t offset_bytes, int more, uint32_t id);
size_t pk_udp(struct pkt *p, uint16_t sport, uint16_t dport);
/* Sets UDP length = bytes from off to the end, and the checksum (pseudo header from the
 * IPv4 or IPv6 header at ip_off; ip_off == (size_t)-1: checksum 0). */
void pk_udp_fin(struct pkt *p, size_t off, size_t ip_off);
size_t pk_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
void pk_icmp_fin(struct pkt *p, size_t off);
void pk_icmp6_fin(struct pkt *p, size_t off, size_t ip6_off);
/* A DNS query: id, RD, one question for dotted `name` of qtype, class IN. */
void pk_dns_query(struct pkt *p, uint16_t id, const char *name, uint16_t qtype);
/* An IPv4/UDP datagram (with checksums) from src:sport to dst:dport carrying payload. */
void pk_udp4_datagram(struct pkt *p, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, const struct pkt *payload);
void pk_udp6_datagram(struct pkt *p, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, const struct pkt *payload);

/* Two pages, the second unreadable: bytes copied to the end of the first are followed by a
 * fault, so a one-byte over-read crashes. *page_out = page size; NULL on failure. Release
 * with guard_release(). */
uint8_t *guard_region(size_t *page_out);
void guard_release(uint8_t *m, size_t page);

/* Text form of an address, in a static buffer of its own per call site number (0..3). */
const char *addr_txt(const struct pm_addr *a, int slot);
uint64_t an_bit(enum anomaly a);

#endif
