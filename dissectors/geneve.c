/* geneve.c - GENEVE (RFC 8926): 8-byte header, options, then a frame of the protocol type. */
#include "dissectors/internal.h"

#define ETH_P_TEB 0x6558 /* transparent Ethernet bridging: an Ethernet frame follows */

/* c holds the UDP payload. Only version 0 is defined; others are left alone. */
void dx_geneve(struct dctx *x, struct cursor c)
{
	uint8_t ver_optlen = cur_u8(&c);
	cur_skip(&c, 1); /* O, C flags */
	uint16_t proto = cur_be16(&c);
	cur_skip(&c, 4); /* VNI, reserved */
	cur_skip(&c, (size_t)(ver_optlen & 0x3f) * 4);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (ver_optlen >> 6 != 0 || !dx_tunnel(x))
		return;
	if (proto == ETH_P_TEB)
		dx_ether(x, c);
	else
		dx_ethertype(x, proto, c);
}
