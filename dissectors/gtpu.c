/* gtpu.c - GTP-U (3GPP TS 29.281 §5): the GTPv1 header of a G-PDU, its optional fields and
 * extension headers, then the T-PDU it carries (an IPv4 or IPv6 packet). */
#include "dissectors/internal.h"

#define GTP_VERSION_MASK 0xe0 /* the 3 top bits of the first octet */
#define GTP_VERSION_1 0x20
#define GTP_PT 0x10	 /* protocol type: 1 = GTP, 0 = GTP' (charging) */
#define GTP_E 0x04	 /* an extension header follows */
#define GTP_S 0x02	 /* sequence number */
#define GTP_PN 0x01	 /* N-PDU number */
#define GTP_MSG_GPDU 255 /* G-PDU: the only message that carries user traffic */

/* What the header says of the rest: `cut` when the capture holds fewer bytes than the
 * message length declares (a snaplen cut), so running out is truncation, not a lie. */
struct gtpu_msg {
	uint8_t flags;
	bool cut;
};

/* After a failed read: a snaplen cut is encap.truncated, a length that cannot hold the
 * fields is gtpu.bad_length. */
static void gtpu_short(struct dctx *x, const struct gtpu_msg *m)
{
	dx_flag(x, m->cut ? AN_ENCAP_TRUNCATED : AN_GTPU_BAD_LENGTH);
}

/*
 * Extension headers from type `next` on (§5.2): each is a length in 4-octet units (the
 * length and next-type octets included; 0 is malformed), its content, and the type of the
 * next one (0: none). At most PM_GTPU_EXT_MAX, else gtpu.ext_too_many. False when the
 * T-PDU cannot be found.
 */
static bool gtpu_ext_walk(struct dctx *x, const struct gtpu_msg *m, uint8_t next, struct cursor *c)
{
	for (unsigned n = 0; next != 0; n++) {
		if (n == PM_GTPU_EXT_MAX) {
			dx_flag(x, AN_GTPU_EXT_TOO_MANY);
			return false;
		}
		uint8_t units = cur_u8(c);
		if (!c->err && units == 0) {
			dx_flag(x, AN_GTPU_BAD_LENGTH);
			return false;
		}
		cur_skip(c, (size_t)units * 4 - 2);
		next = cur_u8(c);
		if (c->err) {
			gtpu_short(x, m);
			return false;
		}
	}
	return true;
}

/* The 4 optional octets (sequence number, N-PDU number, next extension header type), present
 * when any of E, S, PN is set; the next type means something only when E is. */
static bool gtpu_options(struct dctx *x, const struct gtpu_msg *m, struct cursor *c)
{
	if (!(m->flags & (GTP_E | GTP_S | GTP_PN)))
		return true;
	cur_skip(c, 3);
	uint8_t next = cur_u8(c);
	if (c->err) {
		gtpu_short(x, m);
		return false;
	}
	return !(m->flags & GTP_E) || gtpu_ext_walk(x, m, next, c);
}

/* The T-PDU: its version nibble says IPv4 or IPv6. Other PDU session types (Ethernet,
 * unstructured: TS 23.501 §5.6.10) are not opened: encap.undissected.gtpu. */
static void gtpu_tpdu(struct dctx *x, const struct gtpu_msg *m, struct cursor c)
{
	uint8_t v = cur_peek(&c, 0) >> 4;
	if (c.err) {
		if (m->cut)
			dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	if (v != 4 && v != 6) {
		dx_flag(x, AN_UNDISSECTED_GTPU);
		return;
	}
	if (!dx_tunnel(x))
		return;
	if (v == 4)
		dx_ipv4(x, c);
	else
		dx_ipv6(x, c);
}

/*
 * c holds the UDP payload (destination port 2152). A GTPv1 G-PDU is peeled as a tunnel
 * layer: its T-PDU is narrowed to the message length and becomes the frame's IP layer.
 * Echo, error indication, end marker and GTP' messages carry no T-PDU: the datagram stays
 * the frame's. A message length beyond the frame is gtpu.bad_length; the bytes there are
 * still read, as IPv4 does with its total length.
 */
void dx_gtpu(struct dctx *x, struct cursor c)
{
	struct gtpu_msg m = {.flags = cur_u8(&c)};
	uint8_t type = cur_u8(&c);
	if (!c.err && ((m.flags & GTP_VERSION_MASK) != GTP_VERSION_1 || !(m.flags & GTP_PT) ||
		       type != GTP_MSG_GPDU))
		return;
	uint16_t len = cur_be16(&c);
	cur_skip(&c, 4); /* TEID */
	if (c.err) {
		dx_flag(x, AN_ENCAP_TRUNCATED);
		return;
	}
	bool lie = len > dx_wire_left(x, &c);
	if (lie)
		dx_flag(x, AN_GTPU_BAD_LENGTH);
	m.cut = !lie && c.left < len;
	cur_limit(&c, len);
	if (gtpu_options(x, &m, &c))
		gtpu_tpdu(x, &m, c);
}
