/* dhcp.c - DHCP and BOOTP messages (RFC 2131 §2, RFC 951; options RFC 2132, message types
 * RFC 2132 §9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724): the magic cookie at offset 236. */
#include <stdio.h>

#include "dissectors/internal.h"

#define DHCP_COOKIE_AT 236
#define DHCP_COOKIE 0x63825363u
#define DHCP_HLEN_MAX 16     /* chaddr is 16 bytes */
#define DHCP_HOPS_MAX 16     /* relay agents drop messages with more hops (RFC 1542 §4.1.1) */
#define DHCP_OPTIONS_MAX 255 /* options walked looking for the message type */
#define OPT_PAD 0
#define OPT_MSG_TYPE 53
#define OPT_END 255

/* The DHCP message type option (53) among the options present; 0 when it is not there. */
static uint8_t dhcp_msg_type(struct cursor c)
{
	for (unsigned i = 0; i < DHCP_OPTIONS_MAX; i++) {
		uint8_t code = cur_u8(&c);
		if (c.err || code == OPT_END)
			return 0;
		if (code == OPT_PAD)
			continue;
		uint8_t len = cur_u8(&c);
		if (code == OPT_MSG_TYPE && len == 1) {
			uint8_t type = cur_u8(&c);
			return c.err ? 0 : type;
		}
		cur_skip(&c, len);
	}
	return 0;
}

/*
 * op 1 (request) or 2 (reply), a hardware address length and a hop count that can be, and
 * the magic cookie at 236 (all 240 bytes present). app_code = the DHCP message type, 0 when
 * the options present do not hold one (BOOTP, or a quote cut before it); app_value = op.
 */
bool dhcp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t op = cur_u8(&c);
	cur_skip(&c, 1);
	uint8_t hlen = cur_u8(&c);
	uint8_t hops = cur_u8(&c);
	cur_skip(&c, DHCP_COOKIE_AT - 4);
	uint32_t cookie = cur_be32(&c);
	if (c.err || cookie != DHCP_COOKIE || (op != 1 && op != 2) || hlen > DHCP_HLEN_MAX ||
	    hops > DHCP_HOPS_MAX)
		return false;
	h->kind = HINT_DHCP;
	h->app_code = dhcp_msg_type(c);
	h->app_value = op;
	return true;
}

/* "dhcp discover", "dhcp ack", "dhcp bootrequest" (no message type option). */
void dhcp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const TYPES[] = {
	    "",
	    "discover",
	    "offer",
	    "request",
	    "decline",
	    "ack",
	    "nak",
	    "release",
	    "inform",
	    "forcerenew",
	    "leasequery",
	    "leaseunassigned",
	    "leaseunknown",
	    "leaseactive",
	    "bulkleasequery",
	    "leasequerydone",
	    "activeleasequery",
	    "leasequerystatus",
	    "tls",
	};
	if (h->app_code && h->app_code < sizeof TYPES / sizeof TYPES[0])
		snprintf(buf, buf_len, "dhcp %s", TYPES[h->app_code]);
	else if (h->app_code)
		snprintf(buf, buf_len, "dhcp type %u", (unsigned)h->app_code);
	else
		snprintf(buf, buf_len, "dhcp %s", h->app_value == 1 ? "bootrequest" : "bootreply");
}
