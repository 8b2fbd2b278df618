/* stream_gz.c - gzip (RFC 1952) members inflated by ISA-L's igzip, with zlib reading the
 * member again from its start where ISA-L refuses it; concatenated members as gzip(1) writes
 * them, trailing junk ignored as gzip(1) does. */
#include <stdlib.h>
#include <unistd.h>

#include "analyzer/stream_int.h"

/*
 * ISA-L inflates several times faster than zlib, but its errors are not zlib's, and zlib's
 * words are the ones users and tests know ("gzip stream cut after N bytes"). So ISA-L only
 * runs where the file can be read again: on any trouble (corrupt data, a cut, a header it
 * does not take) the member is read again by zlib from its first byte, the output ISA-L
 * already gave is dropped, and zlib says what is wrong, exactly as if it had read alone.
 * Standard input and pipes go to zlib from the start.
 */
int gz_start(struct stream *s)
{
	if (inflateInit2(&s->z, 15 + 16) != Z_OK) /* 15 + 16: gzip wrapper only */
		return stream_fail(s, "gzip: cannot start the decompressor");
	s->z_ready = true;
	s->member_at = 0;
	if (!s->seekable || (s->isal = malloc(sizeof *s->isal)) == NULL)
		return 0; /* zlib alone */
	isal_inflate_init(s->isal);
	s->isal->crc_flag = ISAL_GZIP;
	s->use_isal = true;
	return 0;
}

void gz_end(struct stream *s)
{
	if (s->z_ready)
		inflateEnd(&s->z);
	free(s->isal);
}

/* ISA-L gave up on this member: zlib reads it again from its first byte. */
static int fall_back(struct stream *s)
{
	s->use_isal = false;
	if (lseek(s->fd, (off_t)s->member_at, SEEK_SET) != (off_t)s->member_at)
		return stream_fail(s, "gzip: cannot go back to byte %llu to read it again",
				   (unsigned long long)s->member_at);
	atomic_store_explicit(&s->bytes_in, s->member_at, memory_order_relaxed);
	s->raw_eof = false;
	s->in_pos = s->in_len = 0;
	s->skip_out = s->member_out;
	return inflateReset(&s->z) == Z_OK ? 0 : stream_fail(s, "gzip: inflateReset failed");
}

/* After a member: another member starts with 1f; anything else is trailing junk (tape
 * padding, say), ignored as gzip(1) and zlib's gzread() do, but still read and hashed. */
static int gz_next_member(struct stream *s)
{
	if (s->in[s->in_pos] == 0x1f) {
		s->gz_between = false;
		s->member_at = s->bytes_in - (s->in_len - s->in_pos);
		s->member_out = 0;
		if (s->use_isal) {
			isal_inflate_reset(s->isal);
			s->isal->crc_flag = ISAL_GZIP;
		}
		return inflateReset(&s->z) == Z_OK ? 0
						   : stream_fail(s, "gzip: inflateReset failed");
	}
	for (;;) {
		ssize_t k = stream_fill_in(s);

		if (k <= 0)
			return (int)k;
	}
}

/* One ISA-L step: bytes made (> 0), 0 to go on, -1 on a stream error. A refusal (or no
 * progress at the end of the file: a cut member) switches the member to zlib. */
static ssize_t isal_step(struct stream *s, uint8_t *dst, size_t n)
{
	struct inflate_state *st = s->isal;
	size_t in_before = s->in_pos;

	st->next_in = s->in + s->in_pos;
	st->avail_in = (uint32_t)(s->in_len - s->in_pos);
	st->next_out = dst;
	st->avail_out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	uint32_t avail_out = st->avail_out;
	int rc = isal_inflate(st);
	size_t made = avail_out - st->avail_out;

	s->in_pos = s->in_len - st->avail_in;
	s->member_out += made;
	if (rc == ISAL_DECOMP_OK && st->block_state == ISAL_BLOCK_FINISH)
		s->gz_between = true;
	else if (rc != ISAL_DECOMP_OK ||
		 (made == 0 && s->in_pos == in_before && (s->raw_eof || s->in_pos < s->in_len))) {
		/* This step's output is not handed on (zlib drops what comes with its error),
		 * what earlier steps gave is skipped by zlib. */
		s->member_out -= made;
		return fall_back(s) < 0 ? -1 : 0;
	}
	return (ssize_t)made;
}

/* One zlib step, as isal_step; output ISA-L gave before a fall-back is dropped. */
static ssize_t zlib_step(struct stream *s, uint8_t *dst, size_t n)
{
	if (s->skip_out > 0 && n > s->skip_out)
		n = (size_t)s->skip_out; /* all of it is dropped below */
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
		return stream_fail(s,
				   "gzip stream cut after %llu bytes, inside a compressed member",
				   (unsigned long long)s->bytes_in);
	else if (zr != Z_OK && zr != Z_BUF_ERROR)
		return stream_fail(s, "gzip data corrupt near byte %llu: %s",
				   (unsigned long long)(s->bytes_in - (s->in_len - s->in_pos)),
				   s->z.msg ? s->z.msg : zError(zr));
	if (s->skip_out > 0) {
		s->skip_out -= made;
		return 0;
	}
	return (ssize_t)made;
}

ssize_t gz_read(struct stream *s, uint8_t *dst, size_t n)
{
	for (;;) {
		if (s->in_pos == s->in_len && !s->raw_eof && stream_fill_in(s) < 0)
			return -1;
		if (s->gz_between) {
			if (s->in_pos == s->in_len)
				return 0; /* the file ends after a whole member */
			if (gz_next_member(s) < 0)
				return -1;
			if (s->gz_between)
				return 0;
		}
		ssize_t made = s->use_isal ? isal_step(s, dst, n) : zlib_step(s, dst, n);

		if (made != 0)
			return made;
	}
}
