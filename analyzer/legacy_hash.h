/* legacy_hash.h - the project's own 128-bit hash, kept only to recognise the identities that
 * databases made before the switch to XXH3 recorded (schema versions 1 and 2). */
#ifndef PM_LEGACY_HASH_H
#define PM_LEGACY_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Four 64-bit lanes over 32-byte stripes, each lane mixed with a multiply and an xorshift,
 * folded with the total length at the end. The value does not depend on how the bytes are
 * split between updates, and words are read little-endian, so every host gives the same
 * hex. NOT cryptographic. New identities use XXH3-128 (capture.c); this one is computed
 * only when a database holds rows stored with it ("file:" and "pkt1:" identities).
 */
struct legacy_hash128 {
	uint64_t lane[4];
	uint64_t total_len;
	uint8_t tail[32];
	size_t tail_len;
};

void legacy_hash128_init(struct legacy_hash128 *h);
void legacy_hash128_update(struct legacy_hash128 *h, const void *data, size_t len);
/* 32 lowercase hex digits + NUL of everything given so far; h itself is not changed. */
void legacy_hash128_hex(const struct legacy_hash128 *h, char out[33]);

#endif
