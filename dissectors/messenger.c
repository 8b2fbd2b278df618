/* messenger.c - Windows Messenger service requests over connectionless DCE/RPC (C706 §12.5,
 * [MS-MSRP]): the pop-up spam of the 2000s, sent to UDP 1026-1029 and 135. */
#include <stdio.h>

#include "dissectors/internal.h"

#define DCERPC_CL_VERSION 4
#define DCERPC_REQUEST 0
#define DCERPC_IF_AT 24 /* interface UUID: after the 8-byte start and the object UUID */
#define DCERPC_OPNUM_AT 68

/* msgsvcsend, 5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc, in big-endian (drep 0x00) byte order;
 * little-endian (drep 0x10) swaps the first three fields. */
static const uint8_t MESSENGER_UUID[16] = {0x5a, 0x7b, 0x91, 0xf8, 0xff, 0x00, 0x11, 0xd0,
					   0xa9, 0xb2, 0x00, 0xc0, 0x4f, 0xb6, 0xe6, 0xfc};

static bool uuid_matches(const uint8_t wire[16], bool little)
{
	static const uint8_t LE_ORDER[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (size_t i = 0; i < 16; i++)
		if (wire[i] != MESSENGER_UUID[little ? LE_ORDER[i] : i])
			return false;
	return true;
}

/*
 * Version 4, a request, an integer representation of big- or little-endian (drep[0] high
 * nibble 0 or 1), and the Messenger interface UUID in that byte order (all 40 bytes present).
 * app_code = the operation number when present (0 = NetrSendMessage), else 0xffff.
 */
bool messenger_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t version = cur_u8(&c), ptype = cur_u8(&c);
	cur_skip(&c, 2);
	uint8_t drep = cur_u8(&c);
	cur_skip(&c, DCERPC_IF_AT - 5);
	uint8_t uuid[16];
	cur_copy(&c, uuid, sizeof uuid);
	if (c.err || version != DCERPC_CL_VERSION || ptype != DCERPC_REQUEST || drep >> 4 > 1)
		return false;
	bool little = drep >> 4 == 1;
	if (!uuid_matches(uuid, little))
		return false;
	cur_skip(&c, DCERPC_OPNUM_AT - DCERPC_IF_AT - 16);
	uint8_t a = cur_u8(&c), b = cur_u8(&c);
	h->kind = HINT_MESSENGER;
	h->app_code = c.err ? 0xffff : little ? (uint16_t)(b << 8 | a) : (uint16_t)(a << 8 | b);
	return true;
}

/* "messenger send-message", "messenger op 1", "messenger". */
void messenger_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (h->app_code == 0)
		snprintf(buf, buf_len, "messenger send-message");
	else if (h->app_code == 0xffff)
		snprintf(buf, buf_len, "messenger");
	else
		snprintf(buf, buf_len, "messenger op %u", (unsigned)h->app_code);
}
