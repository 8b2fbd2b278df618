/* vlan.c - IEEE 802.1Q VLAN tags, 802.1ad service tags and stacked (QinQ) tags. */
#include "dissectors/internal.h"

static bool is_vlan_tpid(uint16_t etype)
{
	/* 0x8100 C-tag, 0x88a8 S-tag (802.1ad), 0x9100/0x9200 pre-standard QinQ S-tags. */
	return etype == 0x8100 || etype == 0x88a8 || etype == 0x9100 || etype == 0x9200;
}

/*
 * While *etype is a VLAN TPID, reads the tag (TCI, next ethertype) from *c. Counts tags in
 * d->n_vlan and keeps the outermost VLAN id. Returns false when the frame cannot go on:
 * a cut tag (link.truncated) or more than PM_VLAN_MAX tags (link.vlan_too_deep).
 */
bool vlan_walk(struct dctx *x, uint16_t *etype, struct cursor *c)
{
	struct dissection *d = x->out;
	for (unsigned n = 0; is_vlan_tpid(*etype); n++) {
		if (n == PM_VLAN_MAX) {
			dx_flag(x, AN_VLAN_TOO_DEEP);
			return false;
		}
		uint16_t tci = cur_be16(c);
		*etype = cur_be16(c);
		if (c->err) {
			dx_flag(x, AN_LINK_TRUNCATED);
			return false;
		}
		if (d->n_vlan == 0)
			d->vlan_id = tci & 0x0fff;
		if (d->n_vlan < UINT8_MAX)
			d->n_vlan++;
	}
	return true;
}
