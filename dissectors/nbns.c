/* nbns.c - NetBIOS name service packets (RFC 1002 §4.2): a DNS-like header and a 32-byte
 * first-level encoded name (RFC 1001 §14.1); only on port 137. */
#include <stdio.h>

#include "dissectors/internal.h"

#define NBNS_HDR_LEN 12
#define NBNS_NAME_LEN 16 /* 15 characters and a suffix byte */

/* Query, registration, release, WACK, refresh (8 and 9), multi-homed registration. */
static bool nbns_opcode_ok(uint8_t op)
{
	return op == 0 || (op >= 5 && op <= 9) || op == 15;
}

/* Decodes the length byte 0x20 and 32 letters 'A'..'P' into 16 bytes. */
static bool nbns_name(struct cursor *c, uint8_t name[NBNS_NAME_LEN])
{
	if (cur_u8(c) != 0x20)
		return false;
	for (size_t i = 0; i < NBNS_NAME_LEN; i++) {
		uint8_t hi = cur_u8(c), lo = cur_u8(c);
		if (c->err || hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P')
			return false;
		name[i] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
	}
	return true;
}

/*
 * A known opcode, at most one entry in each section and a question or an answer, then the
 * encoded name of that entry (all 33 bytes present). app_code = opcode, plus 0x10 for a
 * response; app_value = the name's suffix byte; app_text = the name, trailing spaces cut.
 */
bool nbns_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	cur_skip(&c, 2);
	uint16_t flags = cur_be16(&c);
	uint16_t qd = cur_be16(&c), ans = cur_be16(&c), ns = cur_be16(&c), ar = cur_be16(&c);
	uint8_t name[NBNS_NAME_LEN];
	uint8_t op = flags >> 11 & 0xf;
	if (c.err || !nbns_opcode_ok(op) || qd > 1 || ans > 1 || ns > 1 || ar > 1 || qd + ans == 0)
		return false;
	if (!nbns_name(&c, name))
		return false;
	size_t n = NBNS_NAME_LEN - 1;
	while (n > 0 && name[n - 1] == ' ')
		n--;
	h->kind = HINT_NETBIOS_NS;
	h->app_code = (uint16_t)(op | (flags & 0x8000 ? 0x10 : 0));
	h->app_value = name[NBNS_NAME_LEN - 1];
	app_text_set(h, cur_make(name, n), n);
	return true;
}

/* "netbios-ns query WORKGROUP<1d>", "netbios-ns registration-response HOST<00>". */
void nbns_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const OPS[16] = {[0] = "query",
					    [5] = "registration",
					    [6] = "release",
					    [7] = "wack",
					    [8] = "refresh",
					    [9] = "refresh",
					    [15] = "multihomed-registration"};
	const char *op = OPS[h->app_code & 0xf] ? OPS[h->app_code & 0xf] : "opcode";
	snprintf(buf, buf_len, "netbios-ns %s%s %s<%02x>", op,
		 h->app_code & 0x10 ? "-response" : "", (const char *)h->app_text,
		 (unsigned)h->app_value);
}
