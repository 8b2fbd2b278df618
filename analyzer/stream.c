/* stream.c - a capture file's bytes, hashed as stored and decompressed on the fly:
 * gzip (RFC 1952, concatenated members as gzip(1) writes them) and zstd (RFC 8878). */
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
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define IN_SIZE (256 * 1024)	   /* compressed bytes read at a time */
#define FILE_BUF_SIZE (256 * 1024) /* stdio buffer of the FILE* handed to libpcap */
#define MAGIC_LEN 4

struct stream {
	int fd;
	bool own_fd;
	bool waits; /* a pipe, FIFO, terminal or socket: a read can wait for ever */
	enum cap_compression comp;
	uint8_t *in; /* stored bytes not used yet: compressed input, or the peeked head */
	size_t in_pos, in_len;
	bool raw_eof;
	bool no_hash;
	const uint8_t *back; /* pushed-back bytes, served before anything else */
	size_t back_len;
	z_stream z;
	bool z_ready;
	bool gz_between; /* a gzip member ended: another one or the end of the file follows */
	ZSTD_DStream *zd;
	size_t zd_hint; /* last ZSTD_decompressStream() result: 0 = frame complete */
	char *file_buf;
	uint64_t bytes_in;
	struct hash128 hash;
	char err[CAP_ERRBUF_SIZE];
};

/* ---- content hash ---- */

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

void hash128_init(struct hash128 *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->lane, LANE_SEED, sizeof h->lane);
}

void hash128_update(struct hash128 *h, const void *data, size_t len)
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

void hash128_hex(const struct hash128 *h, char out[33])
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

/* ---- reading stored bytes ---- */

__attribute__((format(printf, 2, 3))) static int fail(struct stream *s, const char *fmt, ...)
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
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	for (;;) {
		if (stopped())
			return fail(s, "interrupted");
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
			return fail(s, "interrupted");
		k = read(s->fd, buf, n);
	} while (k < 0 && errno == EINTR);
	if (k < 0) {
		const char *why = strerror_r(errno, msg, sizeof msg);

		if (s->bytes_in == 0)
			return fail(s, "cannot read: %s", why);
		return fail(s, "read error after %llu bytes: %s", (unsigned long long)s->bytes_in,
			    why);
	}
	if (k == 0)
		s->raw_eof = true;
	if (!s->no_hash)
		hash128_update(&s->hash, buf, (size_t)k);
	s->bytes_in += (uint64_t)k;
	return k;
}

/* Refills s->in once it is used up: the count read, 0 at the end of the file, -1 on error. */
static ssize_t fill_in(struct stream *s)
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

/* After a member: another member starts with 1f; anything else is trailing junk (tape
 * padding, say), ignored as gzip(1) and zlib's gzread() do, but still read and hashed. */
static int gz_next_member(struct stream *s)
{
	if (s->in[s->in_pos] == 0x1f) {
		s->gz_between = false;
		return inflateReset(&s->z) == Z_OK ? 0 : fail(s, "gzip: inflateReset failed");
	}
	for (;;) {
		ssize_t k = fill_in(s);

		if (k <= 0)
			return (int)k;
	}
}

static ssize_t gz_read(struct stream *s, uint8_t *dst, size_t n)
{
	for (;;) {
		if (s->in_pos == s->in_len && !s->raw_eof && fill_in(s) < 0)
			return -1;
		if (s->gz_between) {
			if (s->in_pos == s->in_len)
				return 0; /* the file ends after a whole member */
			if (gz_next_member(s) < 0)
				return -1;
			if (s->gz_between)
				return 0;
		}
		s->z.next_in = s->in + s->in_pos;
		s->z.avail_in = (uInt)(s->in_len - s->in_pos);
		s->z.next_out = dst;
		s->z.avail_out = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
		uInt avail_out = s->z.avail_out;
		int zr = inflate(&s->z, Z_NO_FLUSH);
		size_t made = avail_out - s->z.avail_out;

		s->in_pos = s->in_len - s->z.avail_in;
		if (zr == Z_STREAM_END)
			s->gz_between = true;
		else if (zr == Z_BUF_ERROR && made == 0 && s->raw_eof && s->in_pos == s->in_len)
			return fail(s,
				    "gzip stream cut after %llu bytes, inside a compressed member",
				    (unsigned long long)s->bytes_in);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return fail(s, "gzip data corrupt near byte %llu: %s",
				    (unsigned long long)(s->bytes_in - (s->in_len - s->in_pos)),
				    s->z.msg ? s->z.msg : zError(zr));
		if (made > 0)
			return (ssize_t)made;
	}
}

static ssize_t zstd_read(struct stream *s, uint8_t *dst, size_t n)
{
	ZSTD_outBuffer out = {dst, n, 0};

	while (out.pos == 0) {
		if (s->in_pos == s->in_len && !s->raw_eof && fill_in(s) < 0)
			return -1;
		if (s->in_pos == s->in_len && s->raw_eof && s->zd_hint == 0)
			return 0; /* the file ends after a whole frame */
		ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
		size_t ret = ZSTD_decompressStream(s->zd, &out, &in);

		s->in_pos = in.pos;
		if (ZSTD_isError(ret) &&
		    ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
			return fail(s, "zstd frame needs a window over 128 MiB (zstd --long=28 or "
				       "more): not read, to bound memory");
		if (ZSTD_isError(ret))
			return fail(s, "zstd data corrupt near byte %llu: %s",
				    (unsigned long long)(s->bytes_in - (s->in_len - s->in_pos)),
				    ZSTD_getErrorName(ret));
		s->zd_hint = ret;
		if (out.pos == 0 && s->raw_eof && s->in_pos == s->in_len && ret != 0)
			return fail(s, "zstd stream cut after %llu bytes, inside a frame",
				    (unsigned long long)s->bytes_in);
	}
	return (ssize_t)out.pos;
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
			return fail(s, "standard input is a terminal, not a capture");
		s->fd = STDIN_FILENO;
		s->waits = true;
		return 0;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return fail(s, "cannot open: %s", strerror_r(errno, msg, sizeof msg));
	s->own_fd = true;
	struct stat sb;
	s->waits = fstat(s->fd, &sb) != 0 || !S_ISREG(sb.st_mode);
	(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

static int start_decoder(struct stream *s)
{
	static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

	if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->comp = CAP_COMP_GZIP;
		if (inflateInit2(&s->z, 15 + 16) != Z_OK) /* 15 + 16: gzip wrapper only */
			return fail(s, "gzip: cannot start the decompressor");
		s->z_ready = true;
	} else if (s->in_len >= 4 && memcmp(s->in, zstd_magic, 4) == 0) {
		s->comp = CAP_COMP_ZSTD;
		s->zd = ZSTD_createDStream();
		if (s->zd == NULL || ZSTD_isError(ZSTD_initDStream(s->zd)))
			return fail(s, "zstd: cannot start the decompressor");
		s->zd_hint = 1;
	}
	return 0;
}

int stream_open(const char *path, struct stream **out, char *errbuf)
{
	struct stream *s = calloc(1, sizeof *s);

	*out = NULL;
	if (s == NULL || (s->in = malloc(IN_SIZE)) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		goto error;
	}
	s->fd = -1;
	hash128_init(&s->hash);
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
	return s->err;
}

uint64_t stream_bytes_in(const struct stream *s)
{
	return s->bytes_in;
}

void stream_hash_hex(const struct stream *s, char out[33])
{
	hash128_hex(&s->hash, out);
}

void stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	if (s->own_fd)
		close(s->fd);
	if (s->z_ready)
		inflateEnd(&s->z);
	ZSTD_freeDStream(s->zd);
	free(s->file_buf);
	free(s->in);
	free(s);
}

void stream_no_hash(struct stream *s)
{
	s->no_hash = true;
}
