/* icmp.c - ICMPv4 error messages (RFC 792; RFC 1191 next-hop MTU; RFC 4884 length field). */
#include <string.h>

#include "dissectors/internal.h"

/* Error messages, whose body is the start of the datagram that caused them. Only types
 * 3 and 11 make a frame PK_ICMP_*; the others are decoded alike but stay PK_OTHER. */
static const struct icmp_error_type ICMP4_ERRORS[] = {
    {PM_ICMP4_UNREACH, PK_ICMP_UNREACH, true}, /* every code; byte 5 is the RFC 4884 length */
    {4, PK_OTHER, false},		       /* source quench (deprecated) */
    {5, PK_OTHER, false},		       /* redirect */
    {PM_ICMP4_TIME_EXCEEDED, PK_ICMP_TIME_EXCEEDED, true},
    {12, PK_OTHER, true}, /* parameter problem */
};

const struct icmp_error_type *icmp_error_start(struct dctx *x, struct cursor *c,
					       const struct icmp_error_type *types, size_t n_types,
					       uint8_t family)
{
	uint8_t type = cur_u8(c);
	uint8_t code = cur_u8(c);
	if (c->err) {
		dx_flag(x, AN_ICMP_TRUNCATED);
		return NULL;
	}
	size_t i = 0;
	while (i < n_types && types[i].type != type)
		i++;
	if (i == n_types)
		return NULL;
	struct icmp_error *e = &x->out->icmp;
	memset(e, 0, sizeof *e);
	e->family = family;
	e->type = type;
	e->code = code;
	x->out->kind = types[i].kind;
	hint_reset(&e->q.hint);
	return &types[i];
}

/*
 * An ICMP message in c (narrowed to the IP payload). For an error: type, code, next-hop MTU
 * (3/4), RFC 4884 length; the checksum when the whole message is captured; then the quote.
 * The frame's IP fields stay those of the IP header that carried the error (the reporter).
 */
void dx_icmp4(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	if (ip->version != 4)
		return;
	struct cursor all = c;
	const struct icmp_error_type *t =
	    icmp_error_start(x, &c, ICMP4_ERRORS, sizeof ICMP4_ERRORS / sizeof ICMP4_ERRORS[0], 4);
	if (!t)
		return;
	struct icmp_error *e = &x->out->icmp;
	e->cksum = cur_be16(&c);
	cur_skip(&c, 1); /* unused (pointer for type 12) */
	uint8_t len = cur_u8(&c);
	uint16_t mtu = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_ICMP_TRUNCATED);
		return;
	}
	if (e->type == PM_ICMP4_UNREACH && e->code == 4) /* fragmentation needed */
		e->next_mtu = mtu;
	if (t->rfc4884)
		e->rfc4884_len = len;
	if (ip_l4_complete(ip, &all) && !cksum_ok(cksum_add(0, all)))
		dx_flag(x, AN_ICMP_BAD_CHECKSUM);
	quote_dissect(c, ip_l4_after(ip, 8), 4, e->rfc4884_len, e, &x->out->anomalies);
}
