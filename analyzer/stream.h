/* stream.h - a capture file's bytes: read from a file or stdin, hashed as stored, gunzipped
 * (RFC 1952, concatenated members) or unzstd'ed (RFC 8878) on the fly, never whole. */
#ifndef PM_STREAM_H
#define PM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analyzer/capture.h"

/*
 * 128-bit content hash of a byte stream: four 64-bit lanes over 32-byte stripes, each
 * lane mixed with a multiply and an xorshift, folded with the total length at the end.
 * The value does not depend on how the bytes are split between updates, and words are
 * read little-endian, so every host gives the same hex. It tells identical files apart
 * from different ones; it is NOT a cryptographic hash and offers nothing against someone
 * crafting a collision on purpose.
 */
struct hash128 {
	uint64_t lane[4];
	uint64_t total_len;
	uint8_t tail[32];
	size_t tail_len;
};

void hash128_init(struct hash128 *h);
void hash128_update(struct hash128 *h, const void *data, size_t len);
/* 32 lowercase hex digits + NUL of everything given so far; h itself is not changed. */
void hash128_hex(const struct hash128 *h, char out[33]);

struct stream;

/*
 * Opens `path` ("-" is standard input, never closed by us) and reads its first bytes to
 * learn the compression from the magic (gzip 1f 8b, zstd 28 b5 2f fd). 0 and *out on
 * success (the caller owns it), -1 with errbuf (CAP_ERRBUF_SIZE) filled otherwise.
 */
int stream_open(const char *path, struct stream **out, char *errbuf);

/*
 * Up to n decompressed bytes into buf: the count (> 0), 0 at a clean end, -1 when the file
 * cannot be read or the compressed data is cut or corrupt (stream_error() says which).
 * An error is sticky. Every stored byte read on the way is hashed and counted.
 */
ssize_t stream_read(struct stream *s, void *buf, size_t n);

/* Makes the next reads return data[0..len) first. data must stay valid until they did. */
void stream_push_back(struct stream *s, const uint8_t *data, size_t len);

/* A read-only FILE* over stream_read() (for libpcap). fclose() on it leaves s open. */
FILE *stream_fopen(struct stream *s);

enum cap_compression stream_compression(const struct stream *s);
const char *stream_error(const struct stream *s); /* "" while there is none */
uint64_t stream_bytes_in(const struct stream *s); /* stored bytes read so far */
void stream_hash_hex(const struct stream *s, char out[33]);

/* Closes the file (not standard input) and frees everything; s may be NULL. */
/* Stops hashing the bytes read (for readers that never ask for the content hash). */
void stream_no_hash(struct stream *s);

void stream_close(struct stream *s);

#endif
