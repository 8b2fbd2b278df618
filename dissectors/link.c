/* link.c - capture link layers (tcpdump.org LINKTYPE_ list, IEEE 802.3); dissect_packet(). */
#include <stddef.h>
#include <string.h>

#include "dissectors/internal.h"

#define ARPHRD_IPGRE 778 /* Linux GRE device: protocol is a GRE protocol type */

/* Ethernet II: destination, source, ethertype. 802.3 frames (a length, not a type) and
 * their LLC payloads are not analyzed. */
void dx_ether(struct dctx *x, struct cursor c)
{
	cur_skip(&c, 12);
	uint16_t etype = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	if (etype < 0x0600)
		return;
	dx_ethertype(x, etype, c);
}

static void sll_payload(struct dctx *x, uint16_t hatype, uint16_t proto, struct cursor c)
{
	if (hatype == ARPHRD_IPGRE) {
		/* The kernel already took the GRE header off: what is left is its payload. */
		dx_gre_proto(x, proto, 0, c);
		return;
	}
	dx_ethertype(x, proto, c);
}

/* Linux cooked v1: packet type, ARPHRD type, address length, 8 address bytes, protocol. */
static void link_sll(struct dctx *x, struct cursor c)
{
	cur_skip(&c, 2);
	uint16_t hatype = cur_be16(&c);
	cur_skip(&c, 10);
	uint16_t proto = cur_be16(&c);
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	sll_payload(x, hatype, proto, c);
}

/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD type, packet type, addr len, addr. */
static void link_sll2(struct dctx *x, struct cursor c)
{
	uint16_t proto = cur_be16(&c);
	cur_skip(&c, 6);
	uint16_t hatype = cur_be16(&c);
	cur_skip(&c, 10);
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	sll_payload(x, hatype, proto, c);
}

/* BSD address families that the null/loop header carries (values differ per BSD). */
static const struct {
	uint32_t af;
	dx_fn fn;
} NULL_AFS[] = {
    {2, dx_ipv4},  /* AF_INET everywhere */
    {24, dx_ipv6}, /* AF_INET6: NetBSD, OpenBSD, BSD/OS */
    {28, dx_ipv6}, /* AF_INET6: FreeBSD, DragonFly */
    {30, dx_ipv6}, /* AF_INET6: Darwin */
};

static void null_payload(struct dctx *x, uint32_t af, struct cursor c)
{
	for (size_t i = 0; i < sizeof NULL_AFS / sizeof NULL_AFS[0]; i++) {
		if (NULL_AFS[i].af == af) {
			NULL_AFS[i].fn(x, c);
			return;
		}
	}
}

/* LINKTYPE_NULL: the family in the capturing host's byte order, which the file does not
 * say; families are small, so a value with high bits set was written big-endian. */
static void link_null(struct dctx *x, struct cursor c)
{
	uint32_t af = cur_le32(&c);
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	if (af & 0xffff0000u)
		af = (af >> 24) | (af >> 8 & 0xff00u) | (af << 8 & 0xff0000u) | (af << 24);
	null_payload(x, af, c);
}

/* LINKTYPE_LOOP (OpenBSD): the family in network byte order. */
static void link_loop(struct dctx *x, struct cursor c)
{
	uint32_t af = cur_be32(&c);
	if (c.err) {
		dx_flag(x, AN_LINK_TRUNCATED);
		return;
	}
	null_payload(x, af, c);
}

static const struct {
	int linktype;
	dx_fn fn;
} LINKS[] = {
    {PM_LINKTYPE_NULL, link_null},
    {PM_LINKTYPE_ETHERNET, dx_ether},
    {PM_LINKTYPE_PPP, dx_ppp_link},
    {12, dx_ip_any}, /* DLT_RAW on most BSDs */
    {14, dx_ip_any}, /* DLT_RAW on OpenBSD */
    {PM_LINKTYPE_RAW, dx_ip_any},
    {PM_LINKTYPE_LOOP, link_loop},
    {PM_LINKTYPE_LINUX_SLL, link_sll},
    {PM_LINKTYPE_IPV4, dx_ipv4},
    {PM_LINKTYPE_IPV6, dx_ipv6},
    {PM_LINKTYPE_LINUX_SLL2, link_sll2},
};

static dx_fn link_fn(int linktype)
{
	for (size_t i = 0; i < sizeof LINKS / sizeof LINKS[0]; i++)
		if (LINKS[i].linktype == linktype)
			return LINKS[i].fn;
	return NULL;
}

bool dissect_linktype_supported(int linktype)
{
	return link_fn(linktype) != NULL;
}

/* The whole chain of dissectors, from the link layer in. */
static enum pkt_kind chain(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
			   struct dissection *out)
{
	struct dctx x = {out, caplen < wirelen ? wirelen - caplen : 0};
	if (caplen == 0)
		dx_flag(&x, AN_CAPLEN_ZERO);
	if (caplen > wirelen)
		dx_flag(&x, AN_CAPLEN_GT_LEN);
	dx_fn fn = link_fn(linktype);
	if (!fn) {
		dx_flag(&x, AN_LINK_UNSUPPORTED);
		return out->kind;
	}
	if (caplen == 0 || !data)
		return out->kind;
	fn(&x, cur_make(data, caplen));
	return out->kind;
}

/*
 * Most frames of a capture are TCP over IPv4 over Ethernet, which nothing here decodes past
 * the IP header: such a frame, when the chain would find nothing wrong in it, gets the
 * chain's result (the IP layer committed, PK_OTHER, no anomaly) from fixed offsets. True
 * when it was one: no tag, a 20-byte header, a total length the wire held, not a later
 * fragment, all of the IP header captured and no more captured than sent.
 */
enum { SHORTCUT_ETH = 14, SHORTCUT_IP = 20 };

/* Whether p is such a frame. */
static bool shortcut_applies(const uint8_t *p, size_t caplen, size_t wirelen)
{
	enum { ETH = SHORTCUT_ETH, IP = SHORTCUT_IP };
	if (caplen < ETH + IP || caplen > wirelen || p[12] != 0x08 || p[13] != 0x00 ||
	    p[ETH] != 0x45 || p[ETH + 9] != 6)
		return false;
	unsigned total = (unsigned)p[ETH + 2] << 8 | p[ETH + 3];
	unsigned frag = (unsigned)p[ETH + 6] << 8 | p[ETH + 7];
	return total >= IP && total <= wirelen - ETH && (frag & 0x1fff) == 0;
}

bool dissect_plain_tcp4(int linktype, const uint8_t *data, size_t caplen, size_t wirelen)
{
	return linktype == PM_LINKTYPE_ETHERNET && data && shortcut_applies(data, caplen, wirelen);
}

/* The chain's result for such a frame, into *out: true when it was one. */
static bool tcp_over_ipv4(const uint8_t *p, size_t caplen, size_t wirelen, struct dissection *out)
{
	enum { ETH = SHORTCUT_ETH, IP = SHORTCUT_IP };
	if (!shortcut_applies(p, caplen, wirelen))
		return false;
	struct cursor c = cur_make(p + ETH, IP);
	struct ip_layer ip = {0};
	uint8_t vihl;
	uint16_t frag_field;
	struct dctx x = {out, wirelen - caplen};
	(void)ipv4_fixed(&c, &ip, &vihl, &frag_field);
	dx_commit_ip(&x, &ip);
	return true;
}

/*
 * The entry point (contract in dissect.h). What the result means, where dissect.h leaves room:
 * - the IP fields are those of the innermost IP header decoded; a tunnel (GRE, IP-in-IP,
 *   VXLAN, GENEVE, GTP-U, MPLS, PPPoE) whose inner frame holds an IP header makes that header the
 *   frame's, and a UDP tunnel datagram whose inside holds none stays PK_UDP;
 * - caplen > wirelen is flagged and the captured bytes are decoded; lengths that claim more
 *   than the wire held are malformed, lengths beyond what was captured are a snaplen cut.
 */
enum pkt_kind dissect_packet(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
			     struct dissection *out)
{
	memset(out, 0, offsetof(struct dissection, icmp));
	icmp_error_reset(&out->icmp);
	if (linktype == PM_LINKTYPE_ETHERNET && data && tcp_over_ipv4(data, caplen, wirelen, out))
		return out->kind;
	return chain(linktype, data, caplen, wirelen, out);
}

enum pkt_kind dissect_chain(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
			    struct dissection *out)
{
	memset(out, 0, offsetof(struct dissection, icmp));
	icmp_error_reset(&out->icmp);
	return chain(linktype, data, caplen, wirelen, out);
}
