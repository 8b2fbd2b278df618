/* pppoe.c - PPPoE session stage (RFC 2516) and the PPP protocol field (RFC 1661). */
#include "dissectors/internal.h"

static const struct {
	uint16_t proto;
	dx_fn fn;
} PPP_PROTOS[] = {
	{ 0x0021, dx_ipv4 },
	{ 0x0057, dx_ipv6 },
};

/* A PPP frame: optional address/control (0xff 0x03), then a protocol field that may be
 * compressed to one byte (RFC 1661 §6.5: an odd first byte). */
void dx_ppp(struct dctx *x, struct cursor c)
{
	if (cur_peek(&c, 0) == 0xff && cur_peek(&c, 1) == 0x03)
		cur_skip(&c, 2);
	uint16_t proto = cur_u8(&c);
	if (!(proto & 1))
		proto = (uint16_t)(proto << 8 | cur_u8(&c));
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	for (size_t i = 0; i < sizeof PPP_PROTOS / sizeof PPP_PROTOS[0]; i++) {
		if (PPP_PROTOS[i].proto == proto) {
			PPP_PROTOS[i].fn(x, c);
			return;
		}
	}
}

/* The session header: version/type 0x11, code 0, session id, length; then PPP. The
 * payload is narrowed to the length (Ethernet padding stays out). */
void dx_pppoe(struct dctx *x, struct cursor c)
{
	uint8_t vt = cur_u8(&c);
	uint8_t code = cur_u8(&c);
	cur_skip(&c, 2);
	uint16_t len = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (vt != 0x11 || code != 0 || !dx_tunnel(x))
		return;
	cur_limit(&c, len);
	dx_ppp(x, c);
}
