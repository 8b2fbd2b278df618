/* ipv4.c - IPv4 (RFC 791): header, options, header checksum (RFC 1071), fragments. */
#include "dissectors/internal.h"

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

bool ipv4_fixed(struct cursor *c, struct ip_layer *ip, uint8_t *vihl, uint16_t *frag)
{
	*vihl = cur_u8(c);
	cur_skip(c, 1); /* DSCP/ECN */
	ip->ip_len = cur_be16(c);
	ip->ip_id = cur_be16(c);
	*frag = cur_be16(c);
	ip->ttl = cur_u8(c);
	ip->proto = cur_u8(c);
	cur_skip(c, 2); /* header checksum: verified over the whole header by dx_ipv4 */
	cur_copy(c, ip->src.b, 4);
	ip->src.family = c->err ? 0 : 4;
	cur_copy(c, ip->dst.b, 4);
	ip->dst.family = c->err ? 0 : 4;
	ip->version = 4;
	return !c->err;
}

/* Sanity of IHL and total length; false (and the anomaly) when the header is unusable. */
static bool ipv4_lengths_ok(struct dctx *x, size_t hlen, uint16_t total)
{
	if (hlen < 20) {
		dx_flag(x, AN_IPV4_BAD_IHL);
		return false;
	}
	if (total == 0) {
		/* TCP segmentation offload captures (Linux BIG TCP) leave 0: use what is here. */
		dx_flag(x, AN_IPV4_BAD_TOTAL_LEN);
		return true;
	}
	if (total < hlen) {
		dx_flag(x, AN_IPV4_BAD_TOTAL_LEN);
		return false;
	}
	return true;
}

/* The payload length the L4 dissector may count on: the total length, unless it claims
 * more than the frame carried on the wire (then ipv4.bad_total_len and the frame's end). */
static size_t ipv4_l4_len(struct dctx *x, uint16_t total, size_t hlen, size_t wire_left)
{
	if (total == 0)
		return PM_LEN_UNKNOWN;
	if (total > wire_left) {
		dx_flag(x, AN_IPV4_BAD_TOTAL_LEN);
		return wire_left - hlen;
	}
	return total - hlen;
}

/*
 * An IPv4 datagram in c. Commits its fields as the frame's IP layer once the fixed header
 * is there and sane; narrows the payload to min(captured, total length); hands the payload
 * of an unfragmented datagram or a first fragment to the protocol table. A non-first
 * fragment has no transport header: ipv4.fragment, nothing more.
 */
void dx_ipv4(struct dctx *x, struct cursor c)
{
	struct ip_layer ip = {0};
	struct cursor hdr = c;
	size_t wire_left = dx_wire_left(x, &c);
	uint8_t vihl = cur_peek(&c, 0);
	if (!c.err && vihl >> 4 != 4) {
		dx_flag(x, AN_IPV4_BAD_VERSION);
		return;
	}
	uint16_t frag;
	if (!ipv4_fixed(&c, &ip, &vihl, &frag)) {
		dx_flag(x, AN_IPV4_TRUNCATED);
		return;
	}
	size_t hlen = (size_t)(vihl & 0x0f) * 4;
	if (!ipv4_lengths_ok(x, hlen, ip.ip_len))
		return;
	dx_commit_ip(x, &ip);
	cur_skip(&c, hlen - 20); /* options: nothing in them changes what we report */
	if (c.err) {
		dx_flag(x, AN_IPV4_TRUNCATED);
		return;
	}
	/* The header checksum only where the payload is dissected: TCP, most of the traffic,
	 * is not, and its checksum would be summed for nothing (ipv4.bad_checksum counts the
	 * datagrams of the protocols in the IP protocol table). */
	cur_limit(&hdr, hlen);
	if (dx_ip_proto_known(ip.proto) && !cksum_ok(cksum_add(0, hdr)))
		dx_flag(x, AN_IPV4_BAD_CHECKSUM);
	ip.l4_declared = ipv4_l4_len(x, ip.ip_len, hlen, wire_left);
	cur_limit(&c, ip.l4_declared);
	if (frag & IP_OFFMASK) {
		dx_flag(x, AN_IPV4_FRAGMENT);
		return;
	}
	ip.more_frags = frag & IP_MF;
	dx_ip_payload(x, &ip, c);
}

/* Raw IP link types: the version nibble says which. Neither 4 nor 6: ipv4.bad_version. */
void dx_ip_any(struct dctx *x, struct cursor c)
{
	uint8_t v = cur_peek(&c, 0) >> 4;
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	if (v == 6)
		dx_ipv6(x, c);
	else
		dx_ipv4(x, c);
}
