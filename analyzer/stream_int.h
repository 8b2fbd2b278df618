/* stream_int.h - inside analyzer/stream*.c: the stream's state, shared by the reader
 * (stream.c), the gzip decoder (stream_gz.c) and the decoder thread (stream_pipe.c). */
#ifndef PM_STREAM_INT_H
#define PM_STREAM_INT_H

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <zlib.h>
#include <zstd.h>

#include "analyzer/legacy_hash.h"
#include "analyzer/stream.h"

#define IN_SIZE (256 * 1024) /* compressed bytes read at a time */

struct stream_pipe;

struct stream {
	int fd;
	bool own_fd;
	bool seekable; /* a regular file: a gzip member can be read again with zlib */
	bool waits;    /* a pipe, FIFO, terminal or socket: a read can wait for ever */
	enum cap_compression comp;
	uint8_t *in; /* stored bytes not used yet: compressed input, or the peeked head */
	size_t in_pos, in_len;
	bool raw_eof;
	bool legacy_hash;    /* STREAM_LEGACY_HASH */
	EVP_MD_CTX *sha;     /* STREAM_SHA256 */
	uint64_t hashed_to;  /* stored bytes hashed so far (a re-read is not hashed twice) */
	const uint8_t *back; /* pushed-back bytes, served before anything else */
	size_t back_len;
	/* gzip: ISA-L's inflate while it accepts the member, zlib from the member's start after */
	struct inflate_state *isal;
	bool use_isal;	     /* the current member is inflated by ISA-L */
	uint64_t member_at;  /* file offset where the current member starts */
	uint64_t member_out; /* bytes ISA-L produced from it (zlib skips them on a re-read) */
	uint64_t skip_out;   /* decompressed bytes still to drop after falling back */
	z_stream z;
	bool z_ready;
	bool gz_between; /* a gzip member ended: another one or the end of the file follows */
	ZSTD_DStream *zd;
	size_t zd_hint; /* last ZSTD_decompressStream() result: 0 = frame complete */
	char *file_buf;
	_Atomic uint64_t bytes_in; /* written by the decoding thread, read for the progress line */
	struct legacy_hash128 hash;
	struct stream_pipe *pipe;  /* set: a thread decodes (stream_pipe.c) */
	char err[CAP_ERRBUF_SIZE]; /* the decoding side's error */
};

/* Sets the sticky error (the first one only) and returns -1. */
__attribute__((format(printf, 2, 3))) int stream_fail(struct stream *s, const char *fmt, ...);
/* Refills s->in once it is used up: the count read, 0 at the end of the file, -1 on error. */
ssize_t stream_fill_in(struct stream *s);
/* Up to n decompressed bytes from the file, in the calling thread (no push-back, no pipe). */
ssize_t stream_decode(struct stream *s, uint8_t *dst, size_t n);

/* gzip (stream_gz.c): starts the decoder once the magic was seen; reads like stream_decode. */
int gz_start(struct stream *s);
ssize_t gz_read(struct stream *s, uint8_t *dst, size_t n);
void gz_end(struct stream *s);

/* The decoding thread (stream_pipe.c). pipe_start: 0, or -1 when no thread could be had (the
 * caller then decodes in its own thread). pipe_read: as stream_read. pipe_stop: joins. */
int pipe_start(struct stream *s, atomic_int *helpers);
ssize_t pipe_read(struct stream *s, uint8_t *dst, size_t n);
const char *pipe_error(const struct stream *s);
void pipe_stop(struct stream *s);

#endif
