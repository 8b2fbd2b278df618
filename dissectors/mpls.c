/* mpls.c - MPLS label stack (RFC 3032) and what follows the bottom of the stack. */
#include "dissectors/internal.h"

#define MPLS_BOS 0x100u /* bottom-of-stack bit of a label stack entry */

/*
 * Labels up to the bottom of the stack (at most PM_MPLS_MAX, else encap.too_deep). The
 * payload type is not in the header: the first nibble tells IPv4 (4) and IPv6 (6) apart,
 * and 0 is the pseudowire control word (RFC 4385) before an Ethernet frame; anything else
 * (an Ethernet pseudowire without control word) is encap.undissected.mpls.
 */
void dx_mpls(struct dctx *x, struct cursor c)
{
	unsigned n = 0;
	for (; n < PM_MPLS_MAX; n++) {
		uint32_t lse = cur_be32(&c);
		if (c.err) {
			dx_flag(x, AN_ENCAP_TRUNCATED);
			return;
		}
		if (lse & MPLS_BOS)
			break;
	}
	if (n == PM_MPLS_MAX) {
		dx_flag(x, AN_ENCAP_TOO_DEEP);
		return;
	}
	uint8_t first = cur_peek(&c, 0);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (!dx_tunnel(x))
		return;
	if (first >> 4 == 4)
		dx_ipv4(x, c);
	else if (first >> 4 == 6)
		dx_ipv6(x, c);
	else if (first >> 4 == 0) {
		cur_skip(&c, 4);
		dx_ether(x, c);
	} else {
		dx_flag(x, AN_UNDISSECTED_MPLS);
	}
}
