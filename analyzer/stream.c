/* stream.c - a capture file's bytes, hashed as stored (SHA-256, FIPS 180-4, on request) and
 * decompressed on the fly: gzip (RFC 1952, concatenated members as gzip(1) writes them) and
 * zstd (RFC 8878). */
#include "analyzer/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd_errors.h>

#include "analyzer/stream_int.h"

#define FILE_BUF_SIZE (256 * 1024) /* stdio buffer of the FILE* handed to libpcap */
#define MAGIC_LEN 4

/* ---- reading stored bytes ---- */

int stream_fail(struct stream *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err[0] == '\0') { /* the first error is the one worth reporting */
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof s->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- stopping on a signal ---- */

static volatile sig_atomic_t *g_stop;

void cap_set_stop_flag(volatile sig_atomic_t *flag)
{
	g_stop = flag;
}

static bool stopped(void)
{
	return g_stop && *g_stop;
}

/* Waits until fd can be read, looking at the stop flag four times a second (whichever
 * thread the signal interrupted, a reader blocked on a stalled pipe notices). 0 or -1. */
static int wait_readable(struct stream *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	for (;;) {
		if (stopped())
			return stream_fail(s, "interrupted");
		int k = poll(&p, 1, 250);
		if (k > 0 || (k < 0 && errno != EINTR))
			return 0; /* ready, or an error that read() will say */
	}
}

static ssize_t raw_read(struct stream *s, void *buf, size_t n)
{
	ssize_t k;
	char msg[128];

	if (s->raw_eof)
		return 0;
	do {
		if (stopped() || (s->waits && wait_readable(s) < 0))
			return stream_fail(s, "interrupted");
		k = read(s->fd, buf, n);
	} while (k < 0 && errno == EINTR);
	if (k < 0) {
		const char *why = strerror_r(errno, msg, sizeof msg);

		if (s->bytes_in == 0)
			return stream_fail(s, "cannot read: %s", why);
		return stream_fail(s, "read error after %llu bytes: %s",
				   (unsigned long long)s->bytes_in, why);
	}
	if (k == 0)
		s->raw_eof = true;
	uint64_t at = s->bytes_in, end = at + (uint64_t)k;

	if (end > s->hashed_to) { /* bytes read again after a gzip fall-back were hashed once */
		const uint8_t *fresh =
		    (const uint8_t *)buf + (s->hashed_to > at ? s->hashed_to - at : 0);
		size_t fresh_len = (size_t)(end - (s->hashed_to > at ? s->hashed_to : at));

		if (s->legacy_hash)
			legacy_hash128_update(&s->hash, fresh, fresh_len);
		if (s->sha != NULL && EVP_DigestUpdate(s->sha, fresh, fresh_len) != 1)
			return stream_fail(s, "SHA-256: digest update failed");
		s->hashed_to = end;
	}
	atomic_store_explicit(&s->bytes_in, end, memory_order_relaxed);
	return k;
}

ssize_t stream_fill_in(struct stream *s)
{
	ssize_t k = raw_read(s, s->in, IN_SIZE);

	if (k >= 0) {
		s->in_pos = 0;
		s->in_len = (size_t)k;
	}
	return k;
}

static ssize_t plain_read(struct stream *s, uint8_t *dst, size_t n)
{
	if (s->in_pos < s->in_len) { /* the head peeked at open */
		size_t k = s->in_len - s->in_pos < n ? s->in_len - s->in_pos : n;

		memcpy(dst, s->in + s->in_pos, k);
		s->in_pos += k;
		return (ssize_t)k;
	}
	return raw_read(s, dst, n); /* straight into the caller's buffer: no copy */
}

static ssize_t zstd_read(struct stream *s, uint8_t *dst, size_t n)
{
	ZSTD_outBuffer out = {dst, n, 0};

	while (out.pos == 0) {
		if (s->in_pos == s->in_len && !s->raw_eof && stream_fill_in(s) < 0)
			return -1;
		if (s->in_pos == s->in_len && s->raw_eof && s->zd_hint == 0)
			return 0; /* the file ends after a whole frame */
		ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
		size_t ret = ZSTD_decompressStream(s->zd, &out, &in);

		s->in_pos = in.pos;
		if (ZSTD_isError(ret) &&
		    ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
			return stream_fail(
			    s, "zstd frame needs a window over 128 MiB (zstd --long=28 or "
			       "more): not read, to bound memory");
		if (ZSTD_isError(ret))
			return stream_fail(
			    s, "zstd data corrupt near byte %llu: %s",
			    (unsigned long long)(s->bytes_in - (s->in_len - s->in_pos)),
			    ZSTD_getErrorName(ret));
		s->zd_hint = ret;
		if (out.pos == 0 && s->raw_eof && s->in_pos == s->in_len && ret != 0)
			return stream_fail(s, "zstd stream cut after %llu bytes, inside a frame",
					   (unsigned long long)s->bytes_in);
	}
	return (ssize_t)out.pos;
}

ssize_t stream_decode(struct stream *s, uint8_t *buf, size_t n)
{
	if (s->err[0] != '\0')
		return -1;
	switch (s->comp) {
	case CAP_COMP_GZIP:
		return gz_read(s, buf, n);
	case CAP_COMP_ZSTD:
		return zstd_read(s, buf, n);
	case CAP_COMP_NONE:
		break;
	}
	return plain_read(s, buf, n);
}

ssize_t stream_read(struct stream *s, void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (s->back_len > 0) { /* served even after an error: they were read before it */
		size_t k = s->back_len < n ? s->back_len : n;

		memcpy(buf, s->back, k);
		s->back += k;
		s->back_len -= k;
		return (ssize_t)k;
	}
	return s->pipe != NULL ? pipe_read(s, buf, n) : stream_decode(s, buf, n);
}

int stream_use_thread(struct stream *s, atomic_int *helpers)
{
	if (s->comp == CAP_COMP_NONE || helpers == NULL)
		return 0;
	return pipe_start(s, helpers) == 0;
}

void stream_push_back(struct stream *s, const uint8_t *data, size_t len)
{
	s->back = data;
	s->back_len = len;
}

/* ---- FILE* for libpcap ---- */

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
	ssize_t k = stream_read(cookie, buf, n);

	if (k < 0)
		errno = EIO; /* the real story is in stream_error() */
	return k;
}

static int cookie_close(void *cookie)
{
	return 0; /* the stream belongs to its opener */
}

/*
 * The stdio buffer starts 2 KiB past a page boundary. The file's data sit page-aligned in
 * the page cache and stdio reads whole buffers, so with an aligned buffer every byte the
 * kernel copies would share its low 12 address bits with its destination, which x86
 * CPUs copy several times slower (4K aliasing): 0.8 s instead of 0.35 s for 1 GB here.
 */
FILE *stream_fopen(struct stream *s)
{
	cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
	FILE *f;

	if (s->file_buf == NULL && (s->file_buf = malloc(FILE_BUF_SIZE + 4096)) == NULL)
		return NULL;
	f = fopencookie(s, "r", io);
	if (f != NULL)
		setvbuf(f, s->file_buf + ((2048 - (uintptr_t)s->file_buf) & 4095), _IOFBF,
			FILE_BUF_SIZE);
	return f;
}

/* ---- opening ---- */

/* Reads until the magic can be seen or the file ends. */
static int read_head(struct stream *s)
{
	while (s->in_len < MAGIC_LEN && !s->raw_eof) {
		ssize_t k = raw_read(s, s->in + s->in_len, IN_SIZE - s->in_len);

		if (k < 0)
			return -1;
		s->in_len += (size_t)k;
	}
	return 0;
}

static int open_fd(struct stream *s, const char *path)
{
	char msg[128];

	if (strcmp(path, "-") == 0) {
		if (isatty(STDIN_FILENO))
			return stream_fail(s, "standard input is a terminal, not a capture");
		s->fd = STDIN_FILENO;
		s->waits = true;
		return 0;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return stream_fail(s, "cannot open: %s", strerror_r(errno, msg, sizeof msg));
	s->own_fd = true;
	struct stat sb;

	s->seekable = fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode);
	s->waits = !s->seekable;
	(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static int start_decoder(struct stream *s)
{
	static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

	if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->comp = CAP_COMP_GZIP;
		return gz_start(s);
	} else if (s->in_len >= 4 && memcmp(s->in, zstd_magic, 4) == 0) {
		s->comp = CAP_COMP_ZSTD;
		s->zd = ZSTD_createDStream();
		if (s->zd == NULL || ZSTD_isError(ZSTD_initDStream(s->zd)))
			return stream_fail(s, "zstd: cannot start the decompressor");
		s->zd_hint = 1;
	}
	return 0;
}

static int start_hashes(struct stream *s, unsigned flags)
{
	s->legacy_hash = flags & STREAM_LEGACY_HASH;
	legacy_hash128_init(&s->hash);
	if (!(flags & STREAM_SHA256))
		return 0;
	s->sha = EVP_MD_CTX_new();
	if (s->sha == NULL || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
		return stream_fail(s, "SHA-256: cannot start the digest (OpenSSL)");
	return 0;
}

int stream_open(const char *path, unsigned flags, struct stream **out, char *errbuf)
{
	struct stream *s = calloc(1, sizeof *s);

	*out = NULL;
	if (s == NULL || (s->in = malloc(IN_SIZE)) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		goto error;
	}
	s->fd = -1;
	if (start_hashes(s, flags) < 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", s->err);
		goto error;
	}
	if (open_fd(s, path) < 0 || read_head(s) < 0 || start_decoder(s) < 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", s->err);
		goto error;
	}
	*out = s;
	return 0;
error:
	stream_close(s);
	return -1;
}

enum cap_compression stream_compression(const struct stream *s)
{
	return s->comp;
}

const char *stream_error(const struct stream *s)
{
	return s->pipe != NULL ? pipe_error(s) : s->err;
}

uint64_t stream_bytes_in(const struct stream *s)
{
	return atomic_load_explicit(&s->bytes_in, memory_order_relaxed);
}

void stream_legacy_hash_hex(struct stream *s, char out[33])
{
	pipe_stop(s);
	if (s->legacy_hash)
		legacy_hash128_hex(&s->hash, out);
	else
		out[0] = '\0';
}

/* The rest of the stored bytes, read only to be hashed: a reader that stopped at a corrupt
 * record still records the digest of the whole file. */
static void drain(struct stream *s)
{
	while (!s->raw_eof && stream_fill_in(s) > 0)
		s->in_pos = s->in_len;
}

int stream_sha256_hex(struct stream *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *copy;

	out[0] = '\0';
	if (s->sha == NULL)
		return 0;
	pipe_stop(s);
	drain(s);
	if (!s->raw_eof || (copy = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_MD_CTX_copy_ex(copy, s->sha) == 1 && EVP_DigestFinal_ex(copy, md, &md_len) == 1 &&
	    md_len == 32)
		for (unsigned i = 0; i < md_len; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(copy);
	return out[0] != '\0' ? 0 : -1;
}

void stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	pipe_stop(s);
	free(s->pipe);
	if (s->own_fd)
		close(s->fd);
	gz_end(s);
	ZSTD_freeDStream(s->zd);
	EVP_MD_CTX_free(s->sha);
	free(s->file_buf);
	free(s->in);
	free(s);
}
