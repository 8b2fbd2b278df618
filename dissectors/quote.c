/* quote.c - the datagram quoted in an ICMP error (RFC 792, RFC 4443 §3.1, RFC 4884). */
#include <string.h>

#include "dissectors/internal.h"

/* Transport protocols whose header starts with source port, destination port. */
static const uint8_t PORT_PROTOS[] = {
    PM_IPPROTO_TCP,
    PM_IPPROTO_UDP,
    PM_IPPROTO_SCTP,
    PM_IPPROTO_UDPLITE,
};

bool pm_proto_has_ports(uint8_t proto)
{
	for (size_t i = 0; i < sizeof PORT_PROTOS; i++)
		if (PORT_PROTOS[i] == proto)
			return true;
	return false;
}

static void quote_short(struct quote *q, uint64_t *an)
{
	q->truncated = true;
	an_set(an, AN_QUOTE_TRUNCATED);
}

/* Ports; for UDP also length, checksum, the payload present (narrowed to the UDP length)
 * and what it says about the application. */
static void quote_l4(struct cursor c, struct quote *q, uint64_t *an)
{
	if (!pm_proto_has_ports(q->proto))
		return;
	uint16_t sport = cur_be16(&c);
	uint16_t dport = cur_be16(&c);
	if (c.err) {
		quote_short(q, an);
		return;
	}
	q->has_ports = true;
	q->sport = sport;
	q->dport = dport;
	if (q->proto != PM_IPPROTO_UDP)
		return;
	q->udp_len = cur_be16(&c);
	q->udp_cksum = cur_be16(&c);
	if (c.err) {
		quote_short(q, an);
		return;
	}
	size_t wire = PM_LEN_UNKNOWN; /* the quoted UDP length tells how long the payload was */
	if (q->udp_len >= 8) {
		wire = (size_t)q->udp_len - 8;
		cur_limit(&c, wire);
	}
	q->payload.p = c.p;
	q->payload.len = c.left;
	app_hint_classify(c.p, c.left, wire, sport, dport, &q->hint, an);
}

/* The fields of a quoted IP header, read by the same code as an outer one (ipv4_fixed,
 * ipv6_fixed); from a cut header, what came before the cut. */
static void quote_take_ip(struct quote *q, const struct ip_layer *ip)
{
	q->ip_version = ip->version;
	q->src = ip->src;
	q->dst = ip->dst;
	q->proto = ip->proto;
	q->ttl = ip->ttl;
	q->ip_total_len = ip->ip_len;
	q->ip_id = ip->ip_id;
}

/* A quoted IPv4 header. IHL < 5 cannot be a real header: addresses are kept (they sit at
 * fixed offsets) but nothing after the header is read, so no made-up ports. */
static void quote_ipv4(struct cursor c, struct quote *q, uint64_t *an)
{
	struct ip_layer ip = {0};
	uint8_t vihl;
	uint16_t frag;
	ipv4_fixed(&c, &ip, &vihl, &frag); /* a cut is seen below, after IHL */
	quote_take_ip(q, &ip);
	size_t hlen = (size_t)(vihl & 0x0f) * 4; /* the caller saw the first byte */
	if (hlen < 20) {
		an_set(an, AN_QUOTE_BAD_IHL);
		return;
	}
	cur_skip(&c, hlen - 20);
	if (c.err) {
		quote_short(q, an);
		return;
	}
	if (frag & 0x1fff) {
		an_set(an, AN_QUOTE_FRAGMENT);
		return;
	}
	if (q->ip_total_len >= hlen)
		cur_limit(&c, q->ip_total_len - hlen);
	quote_l4(c, q, an);
}

/* A quoted IPv6 header and its extension headers (same bounded walk as outside). ip_id is
 * the low 16 bits of a fragment header's identification, 0 without one. */
static void quote_ipv6(struct cursor c, struct quote *q, uint64_t *an)
{
	struct ip_layer ip = {0};
	uint16_t plen;
	ipv6_fixed(&c, &ip, &plen);
	quote_take_ip(q, &ip);
	if (c.err) {
		quote_short(q, an);
		return;
	}
	if (plen)
		cur_limit(&c, plen);
	struct ip6_frag frag = {0};
	enum ext_rc rc = ipv6_walk_ext(&c, &q->proto, &frag);
	if (rc != EXT_OK) {
		if (rc == EXT_TOO_MANY)
			an_set(an, AN_QUOTE_EXT_TOO_MANY);
		else
			quote_short(q, an);
		return;
	}
	q->ip_id = (uint16_t)frag.id;
	if (frag.present && frag.offset) {
		an_set(an, AN_QUOTE_FRAGMENT);
		return;
	}
	quote_l4(c, q, an);
}

/*
 * Fills err->q from the bytes after the 8-byte ICMP header. With an RFC 4884 length the
 * quote is that many 32-bit (v4) / 64-bit (v6) words and what follows is the extension
 * structure; a length beyond the message is icmp.bad_rfc4884_length and is ignored.
 * quote_len counts the bytes the message carries (declared), payload the bytes captured.
 */
void quote_dissect(struct cursor c, size_t decl_len, uint8_t family, uint8_t rfc4884_len,
		   struct icmp_error *err, uint64_t *an)
{
	struct quote *q = &err->q;
	memset(q, 0, sizeof *q);
	hint_reset(&q->hint);
	err->family = family;
	err->rfc4884_len = rfc4884_len;
	err->has_extensions = false;
	if (decl_len == PM_LEN_UNKNOWN)
		decl_len = c.left;
	size_t qlen = decl_len;
	if (rfc4884_len) {
		size_t want = (size_t)rfc4884_len * (family == 6 ? 8 : 4);
		if (want > decl_len) {
			an_set(an, AN_ICMP_BAD_RFC4884_LEN);
		} else {
			qlen = want;
			err->has_extensions = decl_len > want;
		}
	}
	q->quote_len = qlen > UINT16_MAX ? UINT16_MAX : (uint16_t)qlen;
	if (qlen == 0) {
		an_set(an, AN_ICMP_NO_QUOTE);
		return;
	}
	cur_limit(&c, qlen);
	uint8_t version = cur_peek(&c, 0) >> 4;
	if (c.err)
		quote_short(q, an);
	else if (version == 4)
		quote_ipv4(c, q, an);
	else if (version == 6)
		quote_ipv6(c, q, an);
	else
		an_set(an, AN_QUOTE_BAD_VERSION);
}

void dissect_quote(const uint8_t *data, size_t len, uint8_t family, uint8_t rfc4884_len,
		   struct icmp_error *err, uint64_t *anomalies)
{
	uint64_t ignored = 0;
	quote_dissect(cur_make(data, len), data ? len : 0, family, rfc4884_len, err,
		      anomalies ? anomalies : &ignored);
}
