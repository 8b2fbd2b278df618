/* vxlan.c - VXLAN (RFC 7348): 8-byte header, then an Ethernet frame. */
#include "dissectors/internal.h"

/* c holds the UDP payload. The I flag is not required: decoding is all we do with it. */
void dx_vxlan(struct dctx *x, struct cursor c)
{
	cur_skip(&c, 8); /* flags, reserved, VNI, reserved */
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (dx_tunnel(x))
		dx_ether(x, c);
}
