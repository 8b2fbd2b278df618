/* dispatch.c - dissector tables: ethertype (IEEE 802) and IP protocol (IANA) numbers. */
#include <stddef.h>
#include <string.h>

#include "dissectors/internal.h"

static void ipip4(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	if (dx_tunnel(x))
		dx_ipv4(x, c);
}

static void ipip6(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	if (dx_tunnel(x))
		dx_ipv6(x, c);
}

static const struct {
	uint16_t etype;
	dx_fn fn;
} ETHERTYPES[] = {
    {0x0800, dx_ipv4},	 /* IPv4 */
    {0x86dd, dx_ipv6},	 /* IPv6 */
    {0x8847, dx_mpls},	 /* MPLS unicast */
    {0x8848, dx_mpls},	 /* MPLS multicast */
    {0x8864, dx_pppoe},	 /* PPPoE session stage */
    {0x88e5, dx_macsec}, /* MACsec (IEEE 802.1AE): counted, not opened */
};

static const struct {
	uint8_t proto;
	dx_l4_fn fn;
} IP_PROTOS[] = {
    {1, dx_icmp4},	 /* ICMP */
    {4, ipip4},		 /* IPv4 in IP (RFC 2003) */
    {17, dx_udp},	 /* UDP */
    {41, ipip6},	 /* IPv6 in IP (6in4, RFC 4213; IPv6-in-IPv6, RFC 2473) */
    {47, dx_gre},	 /* GRE */
    {50, dx_esp},	 /* ESP (RFC 4303): counted, not opened */
    {58, dx_icmp6},	 /* ICMPv6 */
    {115, dx_l2tpv3_ip}, /* L2TPv3 over IP (RFC 3931): counted, not opened */
};

/* Walks VLAN tags (they are not tunnels), then hands c to the dissector of the ethertype;
 * an ethertype we do not decode leaves the frame as it is (PK_OTHER unless set before) and
 * returns false, so a tunnel can count a payload it could not open. */
bool dx_ethertype(struct dctx *x, uint16_t etype, struct cursor c)
{
	if (!vlan_walk(x, &etype, &c))
		return true; /* flagged by the walk */
	for (size_t i = 0; i < sizeof ETHERTYPES / sizeof ETHERTYPES[0]; i++) {
		if (ETHERTYPES[i].etype == etype) {
			ETHERTYPES[i].fn(x, c);
			return true;
		}
	}
	return false;
}

/* Hands the payload of an IP datagram to the dissector of its protocol. */
bool dx_ip_proto_known(uint8_t proto)
{
	for (size_t i = 0; i < sizeof IP_PROTOS / sizeof IP_PROTOS[0]; i++)
		if (IP_PROTOS[i].proto == proto)
			return true;
	return false;
}

void dx_ip_payload(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	for (size_t i = 0; i < sizeof IP_PROTOS / sizeof IP_PROTOS[0]; i++) {
		if (IP_PROTOS[i].proto == ip->proto) {
			IP_PROTOS[i].fn(x, ip, c);
			return;
		}
	}
}

bool dx_tunnel(struct dctx *x)
{
	if (x->out->n_encap >= PM_ENCAP_MAX) {
		dx_flag(x, AN_ENCAP_TOO_DEEP);
		return false;
	}
	x->out->n_encap++;
	return true;
}

void dx_commit_ip(struct dctx *x, const struct ip_layer *ip)
{
	struct dissection *d = x->out;
	d->kind = PK_OTHER;
	d->ip_version = ip->version;
	d->src = ip->src;
	d->dst = ip->dst;
	d->ttl = ip->ttl;
	d->ip_proto = ip->proto;
	d->ip_len = ip->ip_len;
	d->sport = d->dport = d->udp_len = 0;
	d->payload.p = NULL;
	d->payload.len = 0;
	icmp_error_reset(&d->icmp);
}

/* The fields of an ICMP error that say whether there is one: the rest (the 256-byte name
 * buffer above all) is cleared by the ICMP dissectors when they start, not for every frame. */
void icmp_error_reset(struct icmp_error *e)
{
	e->family = e->type = e->code = 0;
	e->next_mtu = 0;
	e->rfc4884_len = 0;
	e->has_extensions = false;
	memset(&e->q, 0, offsetof(struct quote, hint));
	e->q.hint.kind = HINT_NONE;
	e->q.hint.dns_qname_len = 0;
	e->q.hint.dns_qname[0] = '\0';
	e->q.hint.dns_has_question = false;
	e->q.hint.app_text_len = 0;
	e->q.hint.app_text[0] = '\0';
}
