/* gre.c - GRE (RFC 2784, RFC 2890 key/sequence, RFC 2637 v1) and the ERSPAN it carries. */
#include "dissectors/internal.h"

#define GRE_CSUM 0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY 0x2000
#define GRE_SEQ 0x1000
#define GRE_ACK 0x0080 /* version 1 only */
#define GRE_VER 0x0007

#define GRE_P_TEB 0x6558
#define GRE_P_PPP 0x880b
#define GRE_P_ERSPAN2 0x88be
#define GRE_P_ERSPAN3 0x22eb

/* ERSPAN type II (8-byte header) or, without a sequence number, type I (no header). */
static void erspan2(struct dctx *x, uint16_t flags, struct cursor c)
{
	if (flags & GRE_SEQ)
		cur_skip(&c, 8);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	dx_ether(x, c);
}

/* ERSPAN type III: 12 bytes, and 8 more when the O bit (last bit of the header) is set. */
static void erspan3(struct dctx *x, uint16_t flags, struct cursor c)
{
	cur_skip(&c, 11);
	uint8_t last = cur_u8(&c);
	cur_skip(&c, (last & 1) ? 8 : 0);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	dx_ether(x, c);
}

static void gre_teb(struct dctx *x, uint16_t flags, struct cursor c)
{
	dx_ether(x, c);
}

static void gre_ppp(struct dctx *x, uint16_t flags, struct cursor c)
{
	dx_ppp(x, c);
}

/* Control protocols sent straight over GRE: they carry no user traffic, so there is nothing
 * in them to open or to count as undissected. */
static void gre_control(struct dctx *x, uint16_t flags, struct cursor c)
{
}

/* Protocol types that are not plain ethertypes (those go to the ethertype table). */
static const struct {
	uint16_t proto;
	void (*fn)(struct dctx *x, uint16_t flags, struct cursor c);
} GRE_PAYLOADS[] = {
    {GRE_P_TEB, gre_teb},     {GRE_P_PPP, gre_ppp},  {GRE_P_ERSPAN2, erspan2},
    {GRE_P_ERSPAN3, erspan3}, {0x0000, gre_control}, /* keepalive reflected by the peer (Cisco) */
    {0x00fe, gre_control},			     /* OSI network layer: IS-IS */
    {0x0806, gre_control},			     /* ARP */
    {0x2000, gre_control},			     /* CDP */
    {0x2001, gre_control},			     /* NHRP (RFC 2332: DMVPN) */
};

/* The payload of a GRE header with protocol type proto and flags (ERSPAN I/II differ by
 * the sequence flag). Also Linux cooked captures of GRE devices (header already gone). A type
 * we do not decode and that is not a control protocol (WCCP, Cisco metadata 0x8909, vendor
 * types) is encap.undissected.gre. */
void dx_gre_proto(struct dctx *x, uint16_t proto, uint16_t flags, struct cursor c)
{
	for (size_t i = 0; i < sizeof GRE_PAYLOADS / sizeof GRE_PAYLOADS[0]; i++) {
		if (GRE_PAYLOADS[i].proto == proto) {
			GRE_PAYLOADS[i].fn(x, flags, c);
			return;
		}
	}
	if (!dx_ethertype(x, proto, c))
		dx_flag(x, AN_UNDISSECTED_GRE);
}

/* Bytes of optional fields after the 4-byte base header; -1 for what we do not decode. */
static long gre_opt_len(uint16_t flags)
{
	unsigned ver = flags & GRE_VER;
	if (ver == 0) {
		if (flags & GRE_ROUTING)
			return -1; /* RFC 1701 source routing: obsolete, not decoded */
		return ((flags & (GRE_CSUM | GRE_ROUTING)) ? 4 : 0) + ((flags & GRE_KEY) ? 4 : 0) +
		       ((flags & GRE_SEQ) ? 4 : 0);
	}
	if (ver == 1 && (flags & GRE_KEY))
		return 4 + ((flags & GRE_SEQ) ? 4 : 0) + ((flags & GRE_ACK) ? 4 : 0);
	return -1;
}

/*
 * A GRE packet in c (ip unused: GRE over IPv4 and IPv6 read the same). Skips checksum, key
 * and sequence fields as the flags say, counts a tunnel layer and dissects the payload by
 * its protocol type: an ethertype, 0x6558 for an Ethernet frame, PPP for PPTP, ERSPAN.
 */
void dx_gre(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	uint16_t flags = cur_be16(&c);
	uint16_t proto = cur_be16(&c);
	long opt = gre_opt_len(flags);
	if (!c.err && opt < 0) {
		dx_flag(x, AN_UNDISSECTED_GRE);
		return;
	}
	cur_skip(&c, opt < 0 ? 0 : (size_t)opt);
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (dx_tunnel(x))
		dx_gre_proto(x, proto, flags, c);
}
