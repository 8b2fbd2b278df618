/* pppoe.c - PPPoE session stage (RFC 2516) and the PPP protocol field (RFC 1661), which is
 * also the PPP link type's header (LINKTYPE_PPP). */
#include "dissectors/internal.h"

static const struct {
	uint16_t proto;
	dx_fn fn;
} PPP_PROTOS[] = {
    {0x0021, dx_ipv4},
    {0x0057, dx_ipv6},
    {0x0281, dx_mpls}, /* MPLS unicast (RFC 3032 §5) */
    {0x0283, dx_mpls}, /* MPLS multicast */
};

/* A PPP frame: optional address/control (0xff 0x03), then a protocol field that may be
 * compressed to one byte (RFC 1661 §6.5: an odd first byte). `short_an` is flagged when the
 * header is cut: the encapsulation's anomaly inside a tunnel, the link's as a link type. */
static void ppp_frame(struct dctx *x, struct cursor c, enum anomaly short_an)
{
	if (cur_peek(&c, 0) == 0xff && cur_peek(&c, 1) == 0x03)
		cur_skip(&c, 2);
	uint16_t proto = cur_u8(&c);
	if (!(proto & 1))
		proto = (uint16_t)(proto << 8 | cur_u8(&c));
	if (c.err) {
		dx_flag(x, short_an);
		return;
	}
	for (size_t i = 0; i < sizeof PPP_PROTOS / sizeof PPP_PROTOS[0]; i++) {
		if (PPP_PROTOS[i].proto == proto) {
			PPP_PROTOS[i].fn(x, c);
			return;
		}
	}
}

void dx_ppp(struct dctx *x, struct cursor c)
{
	ppp_frame(x, c, AN_ENCAP_TRUNCATED);
}

void dx_ppp_link(struct dctx *x, struct cursor c)
{
	ppp_frame(x, c, AN_LINK_TRUNCATED);
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
