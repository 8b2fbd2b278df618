/* stun.c - STUN and TURN messages (RFC 8489, formerly RFC 5389; TURN methods RFC 8656, RFC
 * 6062): recognised by the magic cookie. Classic RFC 3489 STUN has no cookie and is not. */
#include <stdio.h>

#include "dissectors/internal.h"

#define STUN_HDR_LEN 20
#define STUN_MAGIC 0x2112A442u

/*
 * A message header: the two top bits of the type 00, a length that covers the rest of the
 * payload, then the magic cookie. All 8 bytes up to the cookie must be present. The length
 * is a multiple of 4 (attributes are padded), or else exactly the payload's whole length:
 * WhatsApp sends unpadded messages (an Allocate Request of length 106), and an exact length
 * behind the cookie leaves no doubt. app_code = the message type (class and method bits).
 */
bool stun_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint16_t type = cur_be16(&c);
	uint16_t len = cur_be16(&c);
	uint32_t magic = cur_be32(&c);
	if (c.err || magic != STUN_MAGIC || (type & 0xc000))
		return false;
	if ((len & 3) && (size_t)STUN_HDR_LEN + len != app_total_len(in))
		return false;
	if (!app_len_is_whole(in, (size_t)STUN_HDR_LEN + len))
		return false;
	h->kind = HINT_STUN;
	h->app_code = type;
	return true;
}

/* Method and class from the interleaved bits of the type (RFC 8489 §5). */
static unsigned stun_method(uint16_t type)
{
	return (type & 0x000f) | (type >> 1 & 0x0070) | (type >> 2 & 0x0f80);
}

static unsigned stun_class(uint16_t type)
{
	return (type >> 7 & 2) | (type >> 4 & 1);
}

static const char *const STUN_METHODS[] = {
    [0x001] = "binding",
    [0x003] = "allocate",
    [0x004] = "refresh",
    [0x006] = "send",
    [0x007] = "data",
    [0x008] = "create-permission",
    [0x009] = "channel-bind",
    [0x00a] = "connect",
    [0x00b] = "connection-bind",
    [0x00c] = "connection-attempt",
};

/* "stun binding-request", "stun allocate-success", "stun method-0x800-indication". */
void stun_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const CLASSES[4] = {"request", "indication", "success", "error"};
	unsigned m = stun_method(h->app_code);
	const char *cls = CLASSES[stun_class(h->app_code)];
	if (m < sizeof STUN_METHODS / sizeof STUN_METHODS[0] && STUN_METHODS[m])
		snprintf(buf, buf_len, "stun %s-%s", STUN_METHODS[m], cls);
	else
		snprintf(buf, buf_len, "stun method-0x%03x-%s", m, cls);
}
