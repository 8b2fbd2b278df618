/* wireguard.c - WireGuard messages (the WireGuard paper, "WireGuard: Next Generation Kernel
 * Network Tunnel", §5.4): a type byte, three reserved zero bytes, and a size fixed per type. */
#include <stdio.h>

#include "dissectors/internal.h"

#define WG_DATA_MIN 32 /* header 16 + authentication tag 16: a keepalive */

/* The whole size a message of this type has; 0 for transport data (checked apart). */
static size_t wg_size(uint8_t type)
{
	static const size_t SIZES[] = {0, 148, 92, 64, 0};
	return type < sizeof SIZES / sizeof SIZES[0] ? SIZES[type] : 0;
}

/*
 * Type 1 (handshake initiation, 148 bytes), 2 (response, 92), 3 (cookie reply, 64) or 4
 * (transport data: at least 32 bytes, padded to a multiple of 16), then three zero bytes.
 * The size is the payload's declared length, or the bytes present when it is not known: a
 * payload cut short is not claimed. app_code = message type.
 */
bool wireguard_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t type = cur_u8(&c);
	uint8_t r0 = cur_u8(&c), r1 = cur_u8(&c), r2 = cur_u8(&c);
	if (c.err || type < 1 || type > 4 || r0 || r1 || r2)
		return false;
	size_t total = app_total_len(in);
	if (type == 4 ? total < WG_DATA_MIN || total % 16 : total != wg_size(type))
		return false;
	h->kind = HINT_WIREGUARD;
	h->app_code = type;
	return true;
}

void wireguard_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const TYPES[] = {"", "handshake-initiation", "handshake-response",
					    "cookie-reply", "transport-data"};
	snprintf(buf, buf_len, "wireguard %s", TYPES[h->app_code <= 4 ? h->app_code : 0]);
}
