/* bacnet.c - BACnet/IP virtual link layer, BVLC (ASHRAE 135 Annex J.2), and the version byte
 * of the network layer message it carries (Clause 6.2). */
#include <stdio.h>

#include "dissectors/internal.h"

#define BVLC_TYPE_BIP 0x81
#define BVLC_HDR_LEN 4
#define BVLC_FORWARDED 0x04 /* carries the original source's B/IP address (6 bytes) first */
#define NPDU_VERSION 0x01

/* Functions that carry an NPDU; the others are link-layer management messages. */
static bool bvlc_has_npdu(uint8_t fn)
{
	return fn == BVLC_FORWARDED || fn == 0x09 || fn == 0x0a || fn == 0x0b;
}

/* Management messages have a fixed size or 10-byte table entries (J.2.1-J.2.10). */
static bool bvlc_mgmt_len_ok(uint8_t fn, size_t len)
{
	switch (fn) {
	case 0x00:
	case 0x05:
		return len == 6; /* result, register-foreign-device */
	case 0x02:
	case 0x06:
		return len == 4; /* read-bdt, read-fdt */
	case 0x08:
		return len == 10; /* delete-fdt-entry */
	case 0x01:
	case 0x03:
		return (len - 4) % 10 == 0; /* write-bdt, read-bdt-ack */
	default:
		return (len - 4) % 10 == 0; /* 0x07 read-fdt-ack */
	}
}

/*
 * Type 0x81, a function up to 0x0b, a BVLC length that is the whole payload (equal to the
 * declared length, never less than the bytes present); an NPDU's version byte 0x01 present,
 * or a management message of its size. app_code = BVLC function.
 */
bool bacnet_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t type = cur_u8(&c);
	uint8_t fn = cur_u8(&c);
	size_t len = cur_be16(&c);
	if (c.err || type != BVLC_TYPE_BIP || fn > 0x0b || len < BVLC_HDR_LEN)
		return false;
	if (!app_len_is_whole(in, len))
		return false;
	if (bvlc_has_npdu(fn)) {
		size_t at = fn == BVLC_FORWARDED ? 6 : 0;
		if (cur_peek(&c, at) != NPDU_VERSION || c.err)
			return false;
	} else if (!bvlc_mgmt_len_ok(fn, len)) {
		return false;
	}
	h->kind = HINT_BACNET;
	h->app_code = fn;
	return true;
}

void bacnet_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const FNS[] = {
	    "result",		"write-bdt",
	    "read-bdt",		"read-bdt-ack",
	    "forwarded-npdu",	"register-foreign-device",
	    "read-fdt",		"read-fdt-ack",
	    "delete-fdt-entry", "distribute-broadcast",
	    "unicast-npdu",	"broadcast-npdu",
	};
	snprintf(buf, buf_len, "bacnet %s", FNS[h->app_code <= 0x0b ? h->app_code : 0]);
}
