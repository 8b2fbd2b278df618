/* addr.c - IP addresses of dissected packets: text form (RFC 4291 §2.2, as glibc's inet_ntop
 * writes it) and equality. */
#include <string.h>

#include "dissectors/dissect.h"

/* Longest text and its NUL: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" is 39 characters,
 * "::ffff:255.255.255.255" 22; 46 is INET6_ADDRSTRLEN, the size the contract promises. */
enum { ADDR_STR_MAX = 46 };

static char *put_dec8(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_v4(char *p, const uint8_t *b)
{
	p = put_dec8(p, b[0]);
	for (int i = 1; i < 4; i++) {
		*p++ = '.';
		p = put_dec8(p, b[i]);
	}
	return p;
}

/* Lowercase hex, no leading zeros ("0" for zero). */
static char *put_hex16(char *p, unsigned w)
{
	static const char HEX[] = "0123456789abcdef";
	int shift = w >= 0x1000 ? 12 : w >= 0x100 ? 8 : w >= 0x10 ? 4 : 0;
	for (; shift >= 0; shift -= 4)
		*p++ = HEX[(w >> shift) & 0xf];
	return p;
}

/* Words from..to-1 joined by ':'. */
static char *put_words(char *p, const unsigned *w, int from, int to)
{
	for (int i = from; i < to; i++) {
		if (i > from)
			*p++ = ':';
		p = put_hex16(p, w[i]);
	}
	return p;
}

/*
 * glibc's choices, checked against its inet_ntop: the longest run of two or more zero words
 * becomes "::", the first of equally long runs; a lone zero word stays "0". The last 32 bits
 * are written as IPv4 only when the run starts at word 0 and is exactly 6 words long
 * ("::1.2.3.4", IPv4-compatible) or 5 words followed by ffff ("::ffff:1.2.3.4", IPv4-mapped).
 * So "::0.1.0.0" (word 7 is zero, the run stays 6) but "::100" (word 6 is zero, the run
 * grows to 7), "::ffff:0.0.0.0" but "::ffff:0:102:304" and "64:ff9b::102:304".
 */
static char *put_v6(char *p, const uint8_t *b)
{
	unsigned w[8];
	int base = 0, len = 0, run = 0;
	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		run = w[i] ? 0 : run + 1;
		if (run > len) { /* strictly longer: the first of equal runs wins */
			len = run;
			base = i + 1 - run;
		}
	}
	if (len < 2)
		return put_words(p, w, 0, 8);
	if (base == 0 && (len == 6 || (len == 5 && w[5] == 0xffff))) {
		static const char MAPPED[] = "::ffff:"; /* "::" alone when len is 6 */
		size_t head_len = len == 6 ? 2 : sizeof MAPPED - 1;
		memcpy(p, MAPPED, head_len);
		return put_v4(p + head_len, b + 12);
	}
	p = put_words(p, w, 0, base);
	*p++ = ':';
	*p++ = ':';
	return put_words(p, w, base + len, 8);
}

/* Writes a's text form, as glibc's inet_ntop writes it, into buf (buf_len >= 46 is enough
 * for any address); "" when a is absent, not IPv4 or IPv6, or its text and NUL do not fit in
 * buf_len bytes. Nothing is written past buf_len. */
void pm_addr_str(const struct pm_addr *a, char *buf, size_t buf_len)
{
	if (!buf || buf_len == 0)
		return;
	buf[0] = '\0';
	if (!a || (a->family != 4 && a->family != 6))
		return;
	char tmp[ADDR_STR_MAX];
	char *out = buf_len >= sizeof tmp ? buf : tmp; /* the usual case writes in place */
	char *end = a->family == 4 ? put_v4(out, a->b) : put_v6(out, a->b);
	size_t n = (size_t)(end - out);
	if (n >= buf_len) {
		buf[0] = '\0';
		return;
	}
	if (out != buf)
		memcpy(buf, tmp, n);
	buf[n] = '\0';
}
