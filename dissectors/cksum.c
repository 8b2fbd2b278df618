/* cksum.c - the Internet checksum (RFC 1071) over cursor bytes, for IPv4, UDP, ICMP, ICMPv6. */
#include "dissectors/internal.h"

/* Adds the bytes of c (by value: the caller's cursor does not move) as big-endian 16-bit
 * words; an odd last byte is padded with zero. Returns the unfolded sum. */
uint64_t cksum_add(uint64_t sum, struct cursor c)
{
	while (c.left >= 2)
		sum += cur_be16(&c);
	if (c.left == 1)
		sum += (uint64_t)cur_u8(&c) << 8;
	return sum;
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
