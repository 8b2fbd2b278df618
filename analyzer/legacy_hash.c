/* legacy_hash.c - the hand-written 128-bit hash of schema versions 1 and 2 (legacy_hash.h),
 * for matching the identities those databases stored; not used for new ones. */
#include "analyzer/legacy_hash.h"

#include <stdio.h>
#include <string.h>

static const uint64_t LANE_SEED[4] = {0x243f6a8885a308d3u, 0x13198a2e03707344u, 0xa4093822299f31d0u,
				      0x082efa98ec4e6c89u};
static const uint64_t LANE_MUL[4] = {0x9e3779b97f4a7c15u, 0xc2b2ae3d27d4eb4fu, 0x165667b19e3779f9u,
				     0xd6e8feb86659fd93u};

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t lane_round(uint64_t acc, uint64_t word, uint64_t mul)
{
	acc = (acc ^ word) * mul;
	return acc ^ (acc >> 29);
}

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdu;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53u;
	return x ^ (x >> 33);
}

/* The four lanes are independent chains: the CPU runs their multiplies side by side. */
static void hash_stripes(uint64_t lane[4], const uint8_t *p, size_t n_stripes)
{
	uint64_t a = lane[0], b = lane[1], c = lane[2], d = lane[3];

	for (size_t i = 0; i < n_stripes; i++, p += 32) {
		a = lane_round(a, load_le64(p), LANE_MUL[0]);
		b = lane_round(b, load_le64(p + 8), LANE_MUL[1]);
		c = lane_round(c, load_le64(p + 16), LANE_MUL[2]);
		d = lane_round(d, load_le64(p + 24), LANE_MUL[3]);
	}
	lane[0] = a, lane[1] = b, lane[2] = c, lane[3] = d;
}

void legacy_hash128_init(struct legacy_hash128 *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->lane, LANE_SEED, sizeof h->lane);
}

void legacy_hash128_update(struct legacy_hash128 *h, const void *data, size_t len)
{
	const uint8_t *p = data;

	h->total_len += len;
	if (h->tail_len > 0) {
		size_t take = sizeof h->tail - h->tail_len;

		if (take > len)
			take = len;
		memcpy(h->tail + h->tail_len, p, take);
		h->tail_len += take, p += take, len -= take;
		if (h->tail_len < sizeof h->tail)
			return;
		hash_stripes(h->lane, h->tail, 1);
		h->tail_len = 0;
	}
	hash_stripes(h->lane, p, len / 32);
	p += len / 32 * 32;
	memcpy(h->tail, p, len % 32);
	h->tail_len = len % 32;
}

void legacy_hash128_hex(const struct legacy_hash128 *h, char out[33])
{
	uint64_t lane[4];
	uint8_t last[32] = {0};

	memcpy(lane, h->lane, sizeof lane);
	if (h->tail_len > 0) { /* zero-padded; the length below tells "ab" from "ab\0" */
		memcpy(last, h->tail, h->tail_len);
		hash_stripes(lane, last, 1);
	}
	uint64_t x = lane[0] ^ rotl64(lane[2], 23);
	uint64_t y = lane[1] ^ rotl64(lane[3], 41);
	uint64_t lo = fmix64((x + y) ^ h->total_len);
	uint64_t hi = fmix64(y + rotl64(x, 32) + lo * LANE_MUL[3]);

	snprintf(out, 33, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
}
