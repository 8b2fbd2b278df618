/* geneve.c - GENEVE (RFC 8926): 8-byte header, options, then a frame of the protocol type. */
#include "dissectors/internal.h"

#define ETH_P_TEB 0x6558 /* transparent Ethernet bridging: an Ethernet frame follows */

/* c holds the UDP payload. Only version 0 is defined; others are left alone. A protocol type
 * we do not decode is encap.undissected.geneve when the reserved bits say it is GENEVE. */
void dx_geneve(struct dctx *x, struct cursor c)
{
	uint8_t ver_optlen = cur_u8(&c);
	uint8_t oc_rsvd = cur_u8(&c); /* O, C flags, 6 reserved bits */
	uint16_t proto = cur_be16(&c);
	uint32_t vni_rsvd = cur_be32(&c);
	cur_skip(&c, (size_t)(ver_optlen & 0x3f) * 4);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (ver_optlen >> 6 != 0 || !dx_tunnel(x))
		return;
	if (proto == ETH_P_TEB)
		dx_ether(x, c);
	else if (!dx_ethertype(x, proto, c) && !(oc_rsvd & 0x3f) && !(vni_rsvd & 0xff))
		dx_flag(x, AN_UNDISSECTED_GENEVE);
}
