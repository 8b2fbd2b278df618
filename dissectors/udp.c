/* udp.c - UDP (RFC 768; RFC 8200 §8.1 IPv6 checksum) and the UDP ports of tunnels. */
#include "dissectors/internal.h"

static const struct {
	uint16_t port;
	dx_fn fn;
} UDP_TUNNELS[] = {
    {2152, dx_gtpu},   /* 3GPP TS 29.281: GTP-U, mobile-core user plane (S1-U, N3, N9) */
    {4789, dx_vxlan},  /* RFC 7348; also AWS/GCP traffic mirroring */
    {6081, dx_geneve}, /* RFC 8926 */
};

/* The checksum of the whole datagram, when all of it is here and the pseudo header is known.
 * A zero IPv4 checksum means "none"; a zero IPv6 one is tolerated too (RFC 6935 tunnels). */
static void udp_check(struct dctx *x, const struct ip_layer *ip, struct cursor all, uint16_t ulen,
		      uint16_t cksum)
{
	if (cksum == 0 || ip->more_frags || ip->alt_pseudo || ulen < 8 || all.left < ulen)
		return;
	if (ip->l4_declared != PM_LEN_UNKNOWN && ulen > ip->l4_declared)
		return;
	cur_limit(&all, ulen);
	uint64_t sum = cksum_add_addr(0, &ip->src);
	sum = cksum_add_addr(sum, &ip->dst);
	sum += 17u + ulen;
	if (!cksum_ok(cksum_add(sum, all)))
		dx_flag(x, AN_UDP_BAD_CHECKSUM);
}

/* Narrows c (after the header) to the UDP length when that length makes sense. */
static void udp_narrow(struct dctx *x, const struct ip_layer *ip, uint16_t ulen, struct cursor *c)
{
	if (ulen == 0 && ip->version == 6)
		return; /* RFC 2675 jumbogram: the IPv6 length rules */
	if (ulen < 8) {
		dx_flag(x, AN_UDP_BAD_LENGTH);
		return;
	}
	if (ip->l4_declared != PM_LEN_UNKNOWN && ulen > ip->l4_declared && !ip->more_frags)
		dx_flag(x, AN_UDP_BAD_LENGTH);
	cur_limit(c, (size_t)ulen - 8);
}

/*
 * A UDP datagram in c (already narrowed to its IP payload). PK_UDP as soon as the ports are
 * here; payload = the bytes present, narrowed to the UDP length. A datagram to a tunnel port
 * is then dissected inside: an inner IP header replaces this one as the frame's IP layer.
 * One of an encapsulation we do not open (ESP-in-UDP, L2TP, CAPWAP) is counted as such.
 */
void dx_udp(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	struct dissection *d = x->out;
	struct cursor all = c;
	uint16_t sport = cur_be16(&c);
	uint16_t dport = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_UDP_TRUNCATED);
		return;
	}
	d->kind = PK_UDP;
	d->sport = sport;
	d->dport = dport;
	uint16_t ulen = cur_be16(&c);
	uint16_t cksum = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_UDP_TRUNCATED);
		return;
	}
	d->udp_len = ulen;
	udp_narrow(x, ip, ulen, &c);
	d->payload.p = c.p;
	d->payload.len = c.left;
	udp_check(x, ip, all, ulen, cksum);
	for (size_t i = 0; i < sizeof UDP_TUNNELS / sizeof UDP_TUNNELS[0]; i++) {
		if (UDP_TUNNELS[i].port == dport) {
			UDP_TUNNELS[i].fn(x, c);
			return;
		}
	}
	dx_udp_undissected(x, sport, dport, c);
}
