/* test_dissect_undissected.c - encapsulations recognised but not opened: each frame in one is
 * flagged encap.undissected.<kind>; look-alikes (control messages, keepalives, IKE, other
 * ports, reserved bits set) are not. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/build_packets.h"

#define BIT(a) (UINT64_C(1) << (a))

static enum pkt_kind raw(const struct pkt *p, struct dissection *d)
{
	return dissect_packet(PM_LINKTYPE_RAW, p->b, p->n, p->n, d);
}

/* IPv4 198.51.100.1 -> 203.0.113.1 with protocol proto around body. */
static void ip4(struct pkt *p, uint8_t proto, const struct pkt *body)
{
	pk_init(p);
	size_t ip = pk_ipv4(p, proto, "198.51.100.1", "203.0.113.1", 64);
	pk_bytes(p, body->b, body->n);
	pk_ipv4_fin(p, ip);
}

static void udp4(struct pkt *p, uint16_t sport, uint16_t dport, const struct pkt *body)
{
	pk_init(p);
	pk_udp4_datagram(p, "198.51.100.1", sport, "203.0.113.1", dport, body);
}

/* The anomalies of a raw IPv4/UDP frame sport -> dport carrying body. */
static uint64_t udp_anomalies(uint16_t sport, uint16_t dport, const struct pkt *body)
{
	struct pkt p;
	struct dissection d;
	udp4(&p, sport, dport, body);
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.dport, dport);
	return d.anomalies;
}

Test(dissect_undissected, esp_over_ip_v4_and_v6)
{
	struct pkt e, p;
	struct dissection d;
	pk_init(&e);
	pk_be32(&e, 0x0000c0de); /* SPI */
	pk_be32(&e, 1);		 /* sequence number */
	pk_fill(&e, 0xa5, 48);
	ip4(&p, 50, &e);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.ip_proto, 50);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_ESP));
	/* IPv6, after a hop-by-hop options header */
	pk_init(&p);
	size_t ip = pk_ipv6(&p, 0, "2001:db8::1", "2001:db8::2", 64);
	pk_ipv6_ext(&p, 50);
	pk_bytes(&p, e.b, e.n);
	pk_ipv6_fin(&p, ip);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.ip_proto, 50);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_ESP));
}

Test(dissect_undissected, esp_in_udp_but_not_ike_or_keepalives)
{
	struct pkt b;
	pk_init(&b);
	pk_be32(&b, 0x1a2b3c4d);
	pk_be32(&b, 7);
	pk_fill(&b, 0x5a, 40);
	cr_assert_eq(udp_anomalies(4500, 4500, &b), BIT(AN_UNDISSECTED_ESP));
	cr_assert_eq(udp_anomalies(4500, 61000, &b), BIT(AN_UNDISSECTED_ESP)); /* behind NAT */
	cr_assert_eq(udp_anomalies(61000, 4501, &b), 0);
	/* non-ESP marker: IKE */
	pk_init(&b);
	pk_be32(&b, 0);
	pk_fill(&b, 0x11, 40);
	cr_assert_eq(udp_anomalies(4500, 4500, &b), 0);
	/* NAT keepalive */
	pk_init(&b);
	pk_u8(&b, 0xff);
	cr_assert_eq(udp_anomalies(4500, 4500, &b), 0);
	/* a reserved SPI, and 3 octets: not ESP */
	pk_init(&b);
	pk_be32(&b, 255);
	pk_be32(&b, 1);
	cr_assert_eq(udp_anomalies(4500, 4500, &b), 0);
	pk_init(&b);
	pk_fill(&b, 0x1a, 3);
	cr_assert_eq(udp_anomalies(4500, 4500, &b), 0);
	/* the SPI alone, the rest cut by the snaplen (tcpdump's esp_truncated.pcap): ESP */
	struct pkt p;
	struct dissection d;
	pk_init(&b);
	pk_be32(&b, 0x1a2b3c4d);
	pk_be32(&b, 7);
	pk_fill(&b, 0x5a, 40);
	udp4(&p, 4500, 4500, &b);
	dissect_packet(PM_LINKTYPE_RAW, p.b, 20 + 8 + 4, p.n, &d);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_ESP));
}

/* PPP (address/control, IPv4) after an L2TP header: what a data message carries. */
static void ppp_ip(struct pkt *b)
{
	pk_be16(b, 0xff03);
	pk_be16(b, 0x0021);
	pk_fill(b, 0x45, 20);
}

Test(dissect_undissected, l2tp_data_messages_on_udp)
{
	struct pkt b;
	/* v2, no optional fields: tunnel id, session id */
	pk_init(&b);
	pk_be16(&b, 0x0002);
	pk_be16(&b, 17);
	pk_be16(&b, 4);
	ppp_ip(&b);
	cr_assert_eq(udp_anomalies(1701, 1701, &b), BIT(AN_UNDISSECTED_L2TP));
	/* v2 with length, sequence numbers and offset */
	pk_init(&b);
	pk_be16(&b, 0x4a02);
	pk_be16(&b, 40);
	pk_be16(&b, 17);
	pk_be16(&b, 4);
	pk_be32(&b, 0x00010002);
	pk_be16(&b, 0);
	ppp_ip(&b);
	cr_assert_eq(udp_anomalies(51000, 1701, &b), BIT(AN_UNDISSECTED_L2TP));
	/* v3 over UDP: reserved 0, session id */
	pk_init(&b);
	pk_be16(&b, 0x0003);
	pk_be16(&b, 0);
	pk_be32(&b, 0x00c0ffee);
	pk_fill(&b, 0x02, 30);
	cr_assert_eq(udp_anomalies(1701, 1701, &b), BIT(AN_UNDISSECTED_L2TP));
}

Test(dissect_undissected, l2tp_control_and_look_alikes_are_not_counted)
{
	struct pkt b;
	/* v2 control message (SCCRQ): T, L, S set */
	pk_init(&b);
	pk_be16(&b, 0xc802);
	pk_be16(&b, 20);
	pk_fill(&b, 0, 18);
	cr_assert_eq(udp_anomalies(1701, 1701, &b), 0);
	/* v2 with reserved bits set, v3 with session 0, version 5, cut optional fields */
	static const uint16_t flags[] = {0x1002, 0x00f2, 0x0005};
	for (size_t i = 0; i < 3; i++) {
		pk_init(&b);
		pk_be16(&b, flags[i]);
		pk_fill(&b, 1, 20);
		cr_assert_eq(udp_anomalies(1701, 1701, &b), 0, "flags %#x", flags[i]);
	}
	pk_init(&b);
	pk_be16(&b, 0x0003);
	pk_be16(&b, 0);
	pk_be32(&b, 0);
	cr_assert_eq(udp_anomalies(1701, 1701, &b), 0);
	pk_init(&b);
	pk_be16(&b, 0x0802); /* S: Ns and Nr promised, not there */
	pk_be16(&b, 17);
	pk_be16(&b, 4);
	cr_assert_eq(udp_anomalies(1701, 1701, &b), 0);
	/* the same data message on another port */
	pk_init(&b);
	pk_be16(&b, 0x0002);
	pk_be16(&b, 17);
	pk_be16(&b, 4);
	ppp_ip(&b);
	cr_assert_eq(udp_anomalies(1702, 1703, &b), 0);
}

Test(dissect_undissected, l2tpv3_over_ip)
{
	struct pkt b, p;
	struct dissection d;
	pk_init(&b);
	pk_be32(&b, 0x00000042);
	pk_fill(&b, 0x02, 30);
	ip4(&p, 115, &b);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_L2TP));
	pk_init(&b);
	pk_be32(&b, 0); /* control message */
	pk_fill(&b, 0xc8, 30);
	ip4(&p, 115, &b);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_undissected, macsec_at_the_link_and_under_a_vlan_tag)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x88e5);
	pk_u8(&p, 0x2c); /* TCI/AN: SC, E, C */
	pk_u8(&p, 0);
	pk_be32(&p, 1);
	pk_fill(&p, 0x77, 60);
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, p.n, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_MACSEC));
	pk_init(&p);
	pk_eth(&p, 0x8100);
	pk_be16(&p, 10);
	pk_be16(&p, 0x88e5);
	pk_fill(&p, 0x77, 60);
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, p.n, &d);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_MACSEC));
	cr_assert_eq(d.vlan_id, 10);
	/* ARP is not an encapsulation */
	pk_init(&p);
	pk_eth(&p, 0x0806);
	pk_fill(&p, 0, 28);
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, p.n, &d);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_undissected, capwap_data_channel)
{
	struct pkt b;
	/* clear header: HLEN 2, RID 1, WBID 1 (802.11), T = 1 (native frame) */
	pk_init(&b);
	pk_be32(&b, (2u << 19) | (1u << 14) | (1u << 9) | (1u << 8));
	pk_be32(&b, 0);
	pk_fill(&b, 0x08, 40);
	cr_assert_eq(udp_anomalies(5247, 5247, &b), BIT(AN_UNDISSECTED_CAPWAP));
	cr_assert_eq(udp_anomalies(5247, 12222, &b), BIT(AN_UNDISSECTED_CAPWAP));
	cr_assert_eq(udp_anomalies(5246, 5246, &b), 0); /* the control channel */
	/* DTLS-protected data: an application-data record */
	pk_init(&b);
	pk_be32(&b, 0x01000000);
	pk_u8(&b, 23);
	pk_be16(&b, 0xfefd);
	pk_fill(&b, 0x33, 40);
	cr_assert_eq(udp_anomalies(5247, 5247, &b), BIT(AN_UNDISSECTED_CAPWAP));
}

Test(dissect_undissected, capwap_keepalives_handshakes_and_look_alikes_are_not_counted)
{
	static const uint32_t words[] = {
	    (2u << 19) | (1u << 9) | (1u << 3),	  /* keep-alive */
	    (1u << 19) | (1u << 9),		  /* HLEN 1: shorter than the header */
	    (2u << 19) | (2u << 9),		  /* WBID 2: reserved */
	    0x10000000u | (2u << 19) | (1u << 9), /* preamble version 1 */
	    0x02000000u | (2u << 19) | (1u << 9), /* preamble type 2 */
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		struct pkt b;
		pk_init(&b);
		pk_be32(&b, words[i]);
		pk_be32(&b, 0);
		pk_fill(&b, 0x08, 40);
		cr_assert_eq(udp_anomalies(5247, 5247, &b), 0, "word %#x", words[i]);
	}
	/* a DTLS handshake record, and a header with nothing after it */
	struct pkt b;
	pk_init(&b);
	pk_be32(&b, 0x01000000);
	pk_u8(&b, 22);
	pk_be16(&b, 0xfefd);
	pk_fill(&b, 0x33, 40);
	cr_assert_eq(udp_anomalies(5247, 5247, &b), 0);
	pk_init(&b);
	pk_be32(&b, (2u << 19) | (1u << 9));
	pk_be32(&b, 0);
	cr_assert_eq(udp_anomalies(5247, 5247, &b), 0);
}

Test(dissect_undissected, gre_payload_types_and_versions_we_do_not_decode)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	pk_be16(&g, 0);
	pk_be16(&g, 0x883e); /* WCCP redirect */
	pk_be32(&g, 0);
	pk_fill(&g, 0x45, 20);
	ip4(&p, 47, &g);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_GRE));
	cr_assert_eq(d.n_encap, 1);
	/* source routing (RFC 1701), version 1 without a key, version 7 */
	static const uint16_t flags[] = {0x4000, 0x0001, 0x0007};
	for (size_t i = 0; i < 3; i++) {
		pk_init(&g);
		pk_be16(&g, flags[i]);
		pk_be16(&g, 0x0800);
		pk_fill(&g, 0x45, 24);
		ip4(&p, 47, &g);
		raw(&p, &d);
		cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_GRE), "flags %#x", flags[i]);
	}
	/* control protocols over GRE (NHRP, CDP, IS-IS, ARP, keepalive): nothing to open */
	static const uint16_t control[] = {0x2001, 0x2000, 0x00fe, 0x0806, 0x0000};
	for (size_t i = 0; i < 5; i++) {
		pk_init(&g);
		pk_be16(&g, 0);
		pk_be16(&g, control[i]);
		pk_fill(&g, 0x01, 24);
		ip4(&p, 47, &g);
		raw(&p, &d);
		cr_assert_eq(d.anomalies, 0, "type %#x", control[i]);
	}
	/* a GRE header cut before its protocol type: truncated, not undissected */
	pk_init(&g);
	pk_be16(&g, 0);
	ip4(&p, 47, &g);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, BIT(AN_ENCAP_TRUNCATED));
}

Test(dissect_undissected, geneve_protocol_types_we_do_not_decode)
{
	struct pkt g;
	pk_init(&g);
	pk_u8(&g, 0);
	pk_u8(&g, 0);
	pk_be16(&g, 0x894f); /* NSH */
	pk_be32(&g, 0x00000a00);
	pk_fill(&g, 0x0f, 24);
	cr_assert_eq(udp_anomalies(40000, 6081, &g), BIT(AN_UNDISSECTED_GENEVE));
	/* reserved bits set: not sure it is GENEVE at all */
	g.b[1] = 0x01;
	cr_assert_eq(udp_anomalies(40000, 6081, &g), 0);
	g.b[1] = 0;
	g.b[7] = 0x01;
	cr_assert_eq(udp_anomalies(40000, 6081, &g), 0);
	/* an Ethernet frame (TEB) holding ARP: opened, nothing undissected */
	pk_init(&g);
	pk_u8(&g, 0);
	pk_u8(&g, 0);
	pk_be16(&g, 0x6558);
	pk_be32(&g, 0x00000a00);
	pk_eth(&g, 0x0806);
	pk_fill(&g, 0, 28);
	cr_assert_eq(udp_anomalies(40000, 6081, &g), 0);
}

Test(dissect_undissected, mpls_payload_neither_ip_nor_control_word)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x8847);
	pk_be32(&p, (16u << 12) | 0x100 | 64);
	/* an Ethernet pseudowire without control word: the destination MAC comes first */
	static const uint8_t macs[12] = {0x2e, 0, 0, 0, 0, 1, 0x2e, 0, 0, 0, 0, 2};
	pk_bytes(&p, macs, sizeof macs);
	pk_be16(&p, 0x0800);
	pk_fill(&p, 0x45, 20);
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, p.n, &d);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_MPLS));
}

Test(dissect_undissected, gtpu_tpdu_that_is_not_ip)
{
	struct pkt g;
	pk_init(&g);
	pk_u8(&g, 0x30);
	pk_u8(&g, 255);
	pk_be16(&g, 14 + 20);
	pk_be32(&g, 0x2001);
	pk_eth(&g, 0x0800); /* an Ethernet PDU session */
	pk_fill(&g, 0x45, 20);
	cr_assert_eq(udp_anomalies(2152, 2152, &g), BIT(AN_UNDISSECTED_GTPU));
}

Test(dissect_undissected, names_are_encap_undissected_kind)
{
	static const struct {
		enum anomaly a;
		const char *name;
	} names[] = {
	    {AN_UNDISSECTED_ESP, "encap.undissected.esp"},
	    {AN_UNDISSECTED_L2TP, "encap.undissected.l2tp"},
	    {AN_UNDISSECTED_GRE, "encap.undissected.gre"},
	    {AN_UNDISSECTED_GENEVE, "encap.undissected.geneve"},
	    {AN_UNDISSECTED_MPLS, "encap.undissected.mpls"},
	    {AN_UNDISSECTED_MACSEC, "encap.undissected.macsec"},
	    {AN_UNDISSECTED_CAPWAP, "encap.undissected.capwap"},
	    {AN_UNDISSECTED_GTPU, "encap.undissected.gtpu"},
	    {AN_GTPU_BAD_LENGTH, "gtpu.bad_length"},
	    {AN_GTPU_EXT_TOO_MANY, "gtpu.ext_too_many"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		cr_assert_str_eq(anomaly_name(names[i].a), names[i].name);
	cr_assert_eq(AN_IPV6_BAD_PAYLOAD_LEN, 34, "existing anomalies keep their numbers");
}
