/* radius.c - RADIUS packets (RFC 2865 §3, accounting RFC 2866, status RFC 5997, challenge
 * codes RFC 2865 §4.4): only on the RADIUS ports, checked by their lengths. */
#include <stdio.h>

#include "dissectors/internal.h"

#define RADIUS_HDR_LEN 20
#define RADIUS_LEN_MAX 4096
#define RADIUS_ATTRS_MAX 255 /* attributes walked */

static bool radius_code_ok(uint8_t code)
{
	return (code >= 1 && code <= 5) || (code >= 11 && code <= 13);
}

/* Attributes present within the packet's length: each type non-zero, length at least 2, and
 * inside the packet. A list cut by the end of the bytes is not judged past the cut. */
static bool radius_attrs_ok(struct cursor c, size_t len)
{
	cur_limit(&c, len - RADIUS_HDR_LEN);
	size_t left = len - RADIUS_HDR_LEN; /* declared bytes of attributes */
	for (unsigned i = 0; i < RADIUS_ATTRS_MAX && left > 0; i++) {
		uint8_t type = cur_u8(&c);
		uint8_t alen = cur_u8(&c);
		if (c.err)
			return true;
		if (type == 0 || alen < 2 || alen > left)
			return false;
		left -= alen;
		cur_skip(&c, alen - 2u);
	}
	return true;
}

/*
 * A code of RFC 2865/2866/5997, a length of 20 to 4096 that fits the payload (bytes after
 * it are padding, RFC 2865 §3), the whole 20-byte header present, and attributes that fit.
 * app_code = code.
 */
bool radius_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t code = cur_u8(&c);
	cur_skip(&c, 1);
	size_t len = cur_be16(&c);
	cur_skip(&c, 16);
	if (c.err || !radius_code_ok(code) || len < RADIUS_HDR_LEN || len > RADIUS_LEN_MAX)
		return false;
	if (in->wire_len != PM_LEN_UNKNOWN && len > in->wire_len)
		return false;
	if (!radius_attrs_ok(c, len))
		return false;
	h->kind = HINT_RADIUS;
	h->app_code = code;
	return true;
}

void radius_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const CODES[] = {
	    [1] = "access-request",	[2] = "access-accept",	     [3] = "access-reject",
	    [4] = "accounting-request", [5] = "accounting-response", [11] = "access-challenge",
	    [12] = "status-server",	[13] = "status-client",
	};
	const char *name = h->app_code < sizeof CODES / sizeof CODES[0] ? CODES[h->app_code] : NULL;
	snprintf(buf, buf_len, "radius %s", name ? name : "");
}
