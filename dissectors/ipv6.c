/* ipv6.c - IPv6 (RFC 8200): fixed header, bounded walk of extension headers, fragments. */
#include "dissectors/internal.h"

enum ext_shape { EXT_NONE, EXT_GENERIC, EXT_FRAGMENT, EXT_AH };

static const struct {
	uint8_t nh;
	enum ext_shape shape;
} IPV6_EXTS[] = {
    {0, EXT_GENERIC},	/* hop-by-hop options: (len + 1) * 8 bytes */
    {43, EXT_GENERIC},	/* routing */
    {44, EXT_FRAGMENT}, /* fragment: 8 bytes */
    {51, EXT_AH},	/* authentication header (RFC 4302): (len + 2) * 4 bytes */
    {60, EXT_GENERIC},	/* destination options */
};

static enum ext_shape ext_shape_of(uint8_t nh)
{
	for (size_t i = 0; i < sizeof IPV6_EXTS / sizeof IPV6_EXTS[0]; i++)
		if (IPV6_EXTS[i].nh == nh)
			return IPV6_EXTS[i].shape;
	return EXT_NONE;
}

/* Reads one extension header of the given shape; returns its next header. */
static uint8_t ext_one(struct cursor *c, enum ext_shape shape, struct ip6_frag *frag)
{
	uint8_t next = cur_u8(c);
	uint8_t len = cur_u8(c);
	if (shape == EXT_FRAGMENT) {
		uint16_t offm = cur_be16(c);
		uint32_t id = cur_be32(c);
		if (!c->err) {
			frag->present = true;
			frag->offset = offm & 0xfff8;
			frag->more = offm & 1;
			frag->id = id;
		}
	} else if (shape == EXT_AH) {
		cur_skip(c, ((size_t)len + 2) * 4 - 2);
	} else {
		cur_skip(c, ((size_t)len + 1) * 8 - 2);
	}
	return next;
}

/*
 * Walks at most PM_IPV6_EXT_MAX extension headers starting with next header *nh, leaving
 * *nh at the transport protocol and c after the headers. EXT_SHORT when c ended inside a
 * header (the caller knows whether that was a capture cut or a lie of the payload length);
 * EXT_TOO_MANY past the cap. A fragment header with a non-zero offset ends the walk: what
 * follows is fragment data.
 */
enum ext_rc ipv6_walk_ext(struct cursor *c, uint8_t *nh, struct ip6_frag *frag)
{
	for (unsigned n = 0; n <= PM_IPV6_EXT_MAX; n++) {
		enum ext_shape shape = ext_shape_of(*nh);
		if (shape == EXT_NONE)
			return EXT_OK;
		if (n == PM_IPV6_EXT_MAX)
			return EXT_TOO_MANY;
		uint8_t next = ext_one(c, shape, frag);
		if (c->err)
			return EXT_SHORT;
		if (*nh == 43 || *nh == 60)
			frag->alt_pseudo = true;
		*nh = next;
		if (shape == EXT_FRAGMENT && frag->offset != 0)
			return EXT_OK;
	}
	return EXT_TOO_MANY;
}

bool ipv6_fixed(struct cursor *c, struct ip_layer *ip, uint16_t *plen)
{
	cur_skip(c, 4); /* version, traffic class, flow label */
	*plen = cur_be16(c);
	ip->proto = cur_u8(c);
	ip->ttl = cur_u8(c);
	cur_copy(c, ip->src.b, 16);
	ip->src.family = c->err ? 0 : 6;
	cur_copy(c, ip->dst.b, 16);
	ip->dst.family = c->err ? 0 : 6;
	ip->version = 6;
	uint32_t len = 40u + *plen;
	ip->ip_len = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
	return !c->err;
}

/* Maps the walk's outcome to anomalies; true when the transport header can be read. */
static bool ipv6_ext_ok(struct dctx *x, enum ext_rc rc, bool cut, const struct ip6_frag *frag)
{
	if (rc == EXT_TOO_MANY)
		dx_flag(x, AN_IPV6_EXT_TOO_MANY);
	else if (rc == EXT_SHORT)
		dx_flag(x, cut ? AN_IPV6_TRUNCATED : AN_IPV6_BAD_EXT);
	else if (frag->present && frag->offset != 0)
		dx_flag(x, AN_IPV6_FRAGMENT);
	else
		return true;
	return false;
}

/*
 * An IPv6 datagram in c. Narrows to min(captured, payload length) (a payload length of 0,
 * a jumbogram or a segmentation-offload capture, means "what is here"), walks the extension
 * headers, commits the fields as the frame's IP layer (ip_proto is the transport protocol)
 * and hands a first-or-only fragment's payload to the protocol table.
 */
void dx_ipv6(struct dctx *x, struct cursor c)
{
	struct ip_layer ip = {0};
	uint16_t plen;
	size_t wire_left = dx_wire_left(x, &c);
	uint8_t v = cur_peek(&c, 0) >> 4;
	if (!c.err && v != 6) {
		dx_flag(x, AN_IPV6_BAD_VERSION);
		return;
	}
	if (!ipv6_fixed(&c, &ip, &plen)) {
		dx_flag(x, AN_IPV6_TRUNCATED);
		return;
	}
	size_t len = plen;
	if (len > wire_left - 40) {
		dx_flag(x, AN_IPV6_BAD_PAYLOAD_LEN);
		len = wire_left - 40;
	}
	bool cut = plen == 0 || c.left < len;
	if (plen)
		cur_limit(&c, len);
	size_t before = c.left;
	struct ip6_frag frag = {0};
	enum ext_rc rc = ipv6_walk_ext(&c, &ip.proto, &frag);
	dx_commit_ip(x, &ip);
	if (!ipv6_ext_ok(x, rc, cut, &frag))
		return;
	ip.more_frags = frag.present && frag.more;
	ip.alt_pseudo = frag.alt_pseudo;
	ip.l4_declared = plen ? len - (before - c.left) : PM_LEN_UNKNOWN;
	dx_ip_payload(x, &ip, c);
}
