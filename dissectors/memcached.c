/* memcached.c - memcached over UDP: the 8-byte frame header (memcached protocol.txt, "UDP
 * protocol") and an ASCII command or reply keyword after it. */
#include <stdio.h>

#include "dissectors/internal.h"

#define MC_FRAME_LEN 8

static const char *const MC_WORDS[] = {
    /* commands */
    "get",
    "gets",
    "gat",
    "gats",
    "set",
    "add",
    "replace",
    "append",
    "prepend",
    "cas",
    "delete",
    "incr",
    "decr",
    "touch",
    "stats",
    "version",
    "flush_all",
    "verbosity",
    "mg",
    "ms",
    "md",
    "ma",
    "mn",
    "me",
    /* replies */
    "VALUE",
    "STAT",
    "END",
    "STORED",
    "NOT_STORED",
    "EXISTS",
    "NOT_FOUND",
    "DELETED",
    "TOUCHED",
    "OK",
    "ERROR",
    "CLIENT_ERROR",
    "SERVER_ERROR",
    "VERSION",
};

/*
 * Frame header: request id, sequence number below the datagram count, reserved 0; then a
 * keyword of the table followed by a space or "\r" (both present). Only the first datagram
 * of a reply starts with a keyword: later ones are not claimed. app_text = the keyword.
 */
bool memcached_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	cur_skip(&c, 2);
	uint16_t seq = cur_be16(&c);
	uint16_t total = cur_be16(&c);
	uint16_t reserved = cur_be16(&c);
	if (c.err || reserved || total == 0 || seq >= total)
		return false;
	for (size_t w = 0; w < sizeof MC_WORDS / sizeof MC_WORDS[0]; w++) {
		size_t n = 0;
		while (MC_WORDS[w][n])
			n++;
		struct cursor t = c;
		if (!cur_starts(&t, MC_WORDS[w], n))
			continue;
		uint8_t after = cur_peek(&t, n);
		if (t.err || (after != ' ' && after != '\r'))
			continue;
		h->kind = HINT_MEMCACHED;
		app_text_set(h, c, n);
		return true;
	}
	return false;
}

/* "memcached stats", "memcached VALUE". */
void memcached_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "memcached %s", (const char *)h->app_text);
}
