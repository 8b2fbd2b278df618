/* cksum.c - the Internet checksum (RFC 1071) over cursor bytes, for IPv4, UDP, ICMP, ICMPv6. */
#include <string.h>

#include "dissectors/internal.h"

/*
 * Adds the bytes of c (by value: the caller's cursor does not move) as big-endian 16-bit
 * words; an odd last byte is padded with zero. Returns the unfolded sum.
 *
 * Eight bytes at a time: the one's-complement sum does not depend on byte order (RFC 1071
 * §2(B)), so the words are summed as the host loads them, folded to 16 bits and swapped
 * into network order once. The folded sum is congruent to the word-by-word one modulo
 * 0xffff and zero only when every byte is, which is all that cksum_ok() looks at.
 */
uint64_t cksum_add(uint64_t sum, struct cursor c)
{
	const uint8_t *p = c.p;
	size_t n = c.left;
	uint64_t acc = 0;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32); /* 2^32 rounds before it could carry out */
		p += 8, n -= 8;
	}
	while (n >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
		p += 2, n -= 2;
	}
	if (n == 1) {
		uint8_t last[2] = {p[0], 0};
		uint16_t w;
		memcpy(&w, last, 2);
		acc += w;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	uint16_t folded = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = (uint16_t)(folded << 8 | folded >> 8);
#endif
	return sum + folded;
}

/* Adds the address bytes of a (4 or 16) for a pseudo header. */
uint64_t cksum_add_addr(uint64_t sum, const struct pm_addr *a)
{
	size_t n = a->family == 6 ? 16 : 4;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint64_t)a->b[i] << 8 | a->b[i + 1];
	return sum;
}

/* A received message whose checksum field is right sums (with the field) to 0xffff. */
bool cksum_ok(uint64_t sum)
{
	for (int i = 0; i < 4 && (sum >> 16); i++)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}
