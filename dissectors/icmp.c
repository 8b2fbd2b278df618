/* icmp.c - ICMPv4 error messages (RFC 792; RFC 1191 next-hop MTU; RFC 4884 length field). */
#include <string.h>

#include "dissectors/internal.h"

/* Error messages, whose body is the start of the datagram that caused them. Only types
 * 3 and 11 make a frame PK_ICMP_*; the others are decoded alike but stay PK_OTHER. */
static const struct {
	uint8_t type;
	enum pkt_kind kind;
	bool rfc4884; /* byte 5 is the RFC 4884 length of the original datagram field */
} ICMP4_ERRORS[] = {
    {3, PK_ICMP_UNREACH, true},	       /* destination unreachable, every code */
    {4, PK_OTHER, false},	       /* source quench (deprecated) */
    {5, PK_OTHER, false},	       /* redirect */
    {11, PK_ICMP_TIME_EXCEEDED, true}, /* time exceeded */
    {12, PK_OTHER, true},	       /* parameter problem */
};

static int icmp4_error_index(uint8_t type)
{
	for (size_t i = 0; i < sizeof ICMP4_ERRORS / sizeof ICMP4_ERRORS[0]; i++)
		if (ICMP4_ERRORS[i].type == type)
			return (int)i;
	return -1;
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
	uint8_t type = cur_u8(&c);
	uint8_t code = cur_u8(&c);
	int i = icmp4_error_index(type);
	if (c.err || i < 0) {
		if (c.err)
			dx_flag(x, AN_ICMP_TRUNCATED);
		return;
	}
	struct icmp_error *e = &x->out->icmp;
	memset(e, 0, sizeof *e);
	e->family = 4;
	e->type = type;
	e->code = code;
	x->out->kind = ICMP4_ERRORS[i].kind;
	hint_reset(&e->q.hint);
	e->cksum = cur_be16(&c);
	cur_skip(&c, 1); /* unused (pointer for type 12) */
	uint8_t len = cur_u8(&c);
	uint16_t mtu = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_ICMP_TRUNCATED);
		return;
	}
	if (type == 3 && code == 4)
		e->next_mtu = mtu;
	if (ICMP4_ERRORS[i].rfc4884)
		e->rfc4884_len = len;
	if (ip_l4_complete(ip, &all) && !cksum_ok(cksum_add(0, all)))
		dx_flag(x, AN_ICMP_BAD_CHECKSUM);
	quote_dissect(c, ip_l4_after(ip, 8), 4, e->rfc4884_len, e, &x->out->anomalies);
}
