/* cursor.h - bounds-checked big-endian reads over packet bytes (the only way dissectors read). */
#ifndef PM_CURSOR_H
#define PM_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A cursor is a view of `left` readable bytes at `p`. Every read checks the size first
 * (`n > left`, never pointer arithmetic); a failed read sets the sticky `err` flag and
 * returns 0, so a caller reads a whole header and checks `err` once at the end.
 * The bytes belong to the packet buffer: valid until the next packet is read.
 */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool err;
};

static inline struct cursor cur_make(const uint8_t *p, size_t len)
{
	struct cursor c = {p, p ? len : 0, false};
	return c;
}

static inline bool cur_has(const struct cursor *c, size_t n)
{
	return !c->err && n <= c->left;
}

static inline uint8_t cur_u8(struct cursor *c)
{
	if (!cur_has(c, 1)) {
		c->err = true;
		return 0;
	}
	uint8_t v = c->p[0];
	c->p += 1;
	c->left -= 1;
	return v;
}

static inline uint16_t cur_be16(struct cursor *c)
{
	if (!cur_has(c, 2)) {
		c->err = true;
		return 0;
	}
	uint16_t v = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->left -= 2;
	return v;
}

static inline uint32_t cur_be32(struct cursor *c)
{
	if (!cur_has(c, 4)) {
		c->err = true;
		return 0;
	}
	uint32_t v =
	    (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	c->left -= 4;
	return v;
}

/* Little-endian 16/32 (BSD null link header, SLL hatype in some captures). */
static inline uint32_t cur_le32(struct cursor *c)
{
	if (!cur_has(c, 4)) {
		c->err = true;
		return 0;
	}
	uint32_t v =
	    (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
	c->p += 4;
	c->left -= 4;
	return v;
}

/* Copies n bytes to dst; on a short cursor copies nothing and sets err. */
static inline void cur_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cur_has(c, n)) {
		c->err = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		((uint8_t *)dst)[i] = c->p[i];
	c->p += n;
	c->left -= n;
}

static inline void cur_skip(struct cursor *c, size_t n)
{
	if (!cur_has(c, n)) {
		c->err = true;
		c->p += c->left;
		c->left = 0;
		return;
	}
	c->p += n;
	c->left -= n;
}

/* Byte at offset `off` without moving; 0 and err when out of range. */
static inline uint8_t cur_peek(struct cursor *c, size_t off)
{
	if (c->err || off >= c->left) {
		c->err = true;
		return 0;
	}
	return c->p[off];
}

/*
 * Takes the next n bytes as a child cursor and advances past them. When fewer than n
 * are left the child holds what there is and *short_out (if given) is set: a snaplen
 * cut, not an error of the parent.
 */
static inline struct cursor cur_sub(struct cursor *c, size_t n, bool *short_out)
{
	size_t take = n <= c->left ? n : c->left;
	struct cursor s = {c->p, c->err ? 0 : take, false};
	if (short_out)
		*short_out = take < n;
	c->p += take;
	c->left -= take;
	return s;
}

/* Narrows the cursor to at most n bytes (drops trailers and padding). */
static inline void cur_limit(struct cursor *c, size_t n)
{
	if (n < c->left)
		c->left = n;
}

#endif
