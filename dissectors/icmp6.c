/* icmp6.c - ICMPv6 error messages (RFC 4443; RFC 4884 length), pseudo-header checksum. */
#include <string.h>

#include "dissectors/internal.h"

/* Error messages (types 0..127). Types 1 and 3 make a frame PK_ICMP_*; packet too big
 * and parameter problem are decoded alike but stay PK_OTHER. */
static const struct icmp_error_type ICMP6_ERRORS[] = {
    {PM_ICMP6_UNREACH, PK_ICMP_UNREACH, true}, /* every code; byte 4 is the RFC 4884 length */
    {2, PK_OTHER, false},		       /* packet too big: bytes 4..7 are the MTU */
    {PM_ICMP6_TIME_EXCEEDED, PK_ICMP_TIME_EXCEEDED, true},
    {4, PK_OTHER, false}, /* parameter problem: bytes 4..7 are a pointer */
};

static void icmp6_check(struct dctx *x, const struct ip_layer *ip, struct cursor all)
{
	if (!ip_l4_checkable(ip, &all))
		return;
	uint64_t sum = cksum_add_addr(0, &ip->src);
	sum = cksum_add_addr(sum, &ip->dst);
	sum += (ip->l4_declared >> 16) + (ip->l4_declared & 0xffff) + 58u;
	if (!cksum_ok(cksum_add(sum, all)))
		dx_flag(x, AN_ICMP_BAD_CHECKSUM);
}

/*
 * An ICMPv6 message in c (after the extension headers, narrowed). For an error: type, code,
 * MTU (type 2, capped at 65535), RFC 4884 length; the checksum when the whole message is
 * captured; then the quote. The frame's IP fields stay those of the carrying IPv6 header.
 */
void dx_icmp6(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	if (ip->version != 6)
		return;
	struct cursor all = c;
	const struct icmp_error_type *t =
	    icmp_error_start(x, &c, ICMP6_ERRORS, sizeof ICMP6_ERRORS / sizeof ICMP6_ERRORS[0], 6);
	if (!t)
		return;
	struct icmp_error *e = &x->out->icmp;
	e->cksum = cur_be16(&c);
	uint32_t word = cur_be32(&c);
	if (c.err) {
		dx_flag(x, AN_ICMP_TRUNCATED);
		return;
	}
	if (e->type == 2)
		e->next_mtu = word > UINT16_MAX ? UINT16_MAX : (uint16_t)word;
	if (t->rfc4884)
		e->rfc4884_len = (uint8_t)(word >> 24);
	icmp6_check(x, ip, all);
	quote_dissect(c, ip_l4_after(ip, 8), 6, e->rfc4884_len, e, &x->out->anomalies);
}
