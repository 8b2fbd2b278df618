/* stream.h - a capture file's bytes: read from a file or stdin, hashed as stored, gunzipped
 * (RFC 1952, concatenated members) or unzstd'ed (RFC 8878) on the fly, never whole. */
#ifndef PM_STREAM_H
#define PM_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analyzer/capture.h"

struct stream;

/* What stream_open() hashes: every stored byte read, as read. */
#define STREAM_LEGACY_HASH 1u /* the hand-written hash of schema version 1 (legacy_hash.h) */
#define STREAM_SHA256 2u      /* SHA-256 (OpenSSL libcrypto), for --sha256 */

/*
 * Opens `path` ("-" is standard input, never closed by us) and reads its first bytes to
 * learn the compression from the magic (gzip 1f 8b, zstd 28 b5 2f fd). flags: STREAM_*.
 * 0 and *out on success (the caller owns it), -1 with errbuf (CAP_ERRBUF_SIZE) filled.
 */
int stream_open(const char *path, unsigned flags, struct stream **out, char *errbuf);

/*
 * Up to n decompressed bytes into buf: the count (> 0), 0 at a clean end, -1 when the file
 * cannot be read or the compressed data is cut or corrupt (stream_error() says which).
 * An error is sticky. Every stored byte read on the way is hashed and counted.
 */
ssize_t stream_read(struct stream *s, void *buf, size_t n);

/*
 * Compressed input only: decompression moves to a thread of its own, which feeds
 * stream_read() through a bounded buffer (4 MiB) while the caller works on what it got.
 * `helpers` counts the threads that may still be started for this purpose: one is taken
 * here and given back by stream_close(), so that with several captures read at once no more
 * threads are busy than cores. 1 when a thread runs, 0 when the caller decodes itself (plain
 * input, none free, or no thread could be made). Call right after stream_open().
 */
int stream_use_thread(struct stream *s, atomic_int *helpers);

/* Takes a helper thread from the count (NULL: none): true when one was free. Give it back
 * with atomic_fetch_add(helpers, 1) once its thread ended. */
bool stream_take_helper(atomic_int *helpers);

/* Frees the decompression ring the calling thread kept for its next compressed stream. */
void stream_drop_spares(void);

/* Makes the next reads return data[0..len) first. data must stay valid until they did. */
void stream_push_back(struct stream *s, const uint8_t *data, size_t len);

/* A read-only FILE* over stream_read() (for libpcap). fclose() on it leaves s open. */
FILE *stream_fopen(struct stream *s);

enum cap_compression stream_compression(const struct stream *s);
const char *stream_error(const struct stream *s); /* "" while there is none */
uint64_t stream_bytes_in(const struct stream *s); /* stored bytes read so far */
/* The legacy hash of the stored bytes read so far (32 hex digits), "" without the flag. */
/* After the last read (the decoding thread, if any, is stopped first). */
void stream_legacy_hash_hex(struct stream *s, char out[33]);
/*
 * SHA-256 of the whole file as stored, 64 lowercase hex digits + NUL: the stored bytes not
 * read yet (after a corrupt record, say) are read first, only to be hashed. 0 (out "" when
 * STREAM_SHA256 was not asked), -1 with out "" when the file could not be read to its end.
 */
int stream_sha256_hex(struct stream *s, char out[65]);

/* Closes the file (not standard input) and frees everything; s may be NULL. */
void stream_close(struct stream *s);

#endif
