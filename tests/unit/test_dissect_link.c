/* test_dissect_link.c - link types, VLAN tags and tunnels around an IPv4/UDP DNS query. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/build_packets.h"

/* 192.0.2.1:40000 -> 192.0.2.53:53, "dns A example.com". */
static void dns_datagram(struct pkt *p)
{
	struct pkt q;
	pk_init(&q);
	pk_dns_query(&q, 0x1234, "example.com", 1);
	pk_udp4_datagram(p, "192.0.2.1", 40000, "192.0.2.53", 53, &q);
}

static void dns_datagram6(struct pkt *p)
{
	struct pkt q;
	pk_init(&q);
	pk_dns_query(&q, 0x4321, "example.org", 28);
	pk_udp6_datagram(p, "2001:db8::1", 40001, "2001:db8::53", 53, &q);
}

static void assert_dns4(const struct dissection *d)
{
	cr_assert_eq(d->kind, PK_UDP);
	cr_assert_eq(d->ip_version, 4);
	cr_assert_str_eq(addr_txt(&d->src, 0), "192.0.2.1");
	cr_assert_str_eq(addr_txt(&d->dst, 1), "192.0.2.53");
	cr_assert_eq(d->ttl, 64);
	cr_assert_eq(d->ip_proto, 17);
	cr_assert_eq(d->sport, 40000);
	cr_assert_eq(d->dport, 53);
	cr_assert_eq(d->udp_len, 8 + 29);
	cr_assert_eq(d->ip_len, 20 + 8 + 29);
	cr_assert_eq(d->payload.len, 29);
	cr_assert_eq(d->payload.p[0], 0x12);
	cr_assert_eq(d->anomalies, 0, "anomalies %#llx", (unsigned long long)d->anomalies);
}

static void assert_dns6(const struct dissection *d)
{
	cr_assert_eq(d->kind, PK_UDP);
	cr_assert_eq(d->ip_version, 6);
	cr_assert_str_eq(addr_txt(&d->src, 0), "2001:db8::1");
	cr_assert_str_eq(addr_txt(&d->dst, 1), "2001:db8::53");
	cr_assert_eq(d->sport, 40001);
	cr_assert_eq(d->dport, 53);
	cr_assert_eq(d->payload.len, 29);
	cr_assert_eq(d->anomalies, 0, "anomalies %#llx", (unsigned long long)d->anomalies);
}

static enum pkt_kind run(int lt, const struct pkt *p, struct dissection *d)
{
	return dissect_packet(lt, p->b, p->n, p->n, d);
}

Test(dissect_link, ethernet_ipv4)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x0800);
	dns_datagram(&p);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_UDP);
	assert_dns4(&d);
	cr_assert_eq(d.n_vlan, 0);
	cr_assert_eq(d.n_encap, 0);
}

Test(dissect_link, ethernet_ipv6_with_trailer_padding)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x86dd);
	dns_datagram6(&p);
	pk_fill(&p, 0xaa, 6); /* Ethernet trailer: never part of the payload */
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns6(&d);
}

Test(dissect_link, ethernet_8023_and_arp_are_other)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x0026); /* an 802.3 length */
	pk_fill(&p, 0x42, 38);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_OTHER);
	cr_assert_eq(d.ip_version, 0);
	cr_assert_eq(d.anomalies, 0);
	pk_init(&p);
	pk_eth(&p, 0x0806);
	pk_fill(&p, 0, 28);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_link, ethernet_truncated_header)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x0800);
	for (size_t n = 1; n < 14; n++) {
		dissect_packet(PM_LINKTYPE_ETHERNET, p.b, n, 60, &d);
		cr_assert_eq(d.kind, PK_OTHER);
		cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED), "n=%zu", n);
	}
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 14, 60, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_TRUNCATED));
}

Test(dissect_link, null_both_byte_orders_and_bsd_inet6_values)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_le32(&p, 2);
	dns_datagram(&p);
	run(PM_LINKTYPE_NULL, &p, &d);
	assert_dns4(&d);
	pk_init(&p);
	pk_be32(&p, 2); /* written by a big-endian host */
	dns_datagram(&p);
	run(PM_LINKTYPE_NULL, &p, &d);
	assert_dns4(&d);
	static const uint32_t inet6[] = {24, 28, 30};
	for (size_t i = 0; i < 3; i++) {
		pk_init(&p);
		if (i == 1)
			pk_be32(&p, inet6[i]);
		else
			pk_le32(&p, inet6[i]);
		dns_datagram6(&p);
		run(PM_LINKTYPE_NULL, &p, &d);
		assert_dns6(&d);
	}
	pk_init(&p);
	pk_le32(&p, 7); /* unknown family */
	dns_datagram(&p);
	cr_assert_eq(run(PM_LINKTYPE_NULL, &p, &d), PK_OTHER);
	cr_assert_eq(d.ip_version, 0);
}

Test(dissect_link, loop_is_network_order)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_be32(&p, 2);
	dns_datagram(&p);
	run(PM_LINKTYPE_LOOP, &p, &d);
	assert_dns4(&d);
	pk_init(&p);
	pk_be32(&p, 24);
	dns_datagram6(&p);
	run(PM_LINKTYPE_LOOP, &p, &d);
	assert_dns6(&d);
	pk_init(&p);
	pk_be32(&p, 2);
	dissect_packet(PM_LINKTYPE_LOOP, p.b, 3, 3, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
}

Test(dissect_link, raw_ip_link_types)
{
	static const int raw[] = {12, 14, PM_LINKTYPE_RAW};
	struct pkt p4, p6;
	struct dissection d;
	pk_init(&p4);
	dns_datagram(&p4);
	pk_init(&p6);
	dns_datagram6(&p6);
	for (size_t i = 0; i < 3; i++) {
		cr_assert(dissect_linktype_supported(raw[i]));
		run(raw[i], &p4, &d);
		assert_dns4(&d);
		run(raw[i], &p6, &d);
		assert_dns6(&d);
	}
	run(PM_LINKTYPE_IPV4, &p4, &d);
	assert_dns4(&d);
	run(PM_LINKTYPE_IPV6, &p6, &d);
	assert_dns6(&d);
	/* The version must match the link type. */
	cr_assert_eq(run(PM_LINKTYPE_IPV4, &p6, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_BAD_VERSION));
	cr_assert_eq(run(PM_LINKTYPE_IPV6, &p4, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_BAD_VERSION));
	p4.b[0] = 0x55;
	cr_assert_eq(run(PM_LINKTYPE_RAW, &p4, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_BAD_VERSION));
}

Test(dissect_link, linux_sll)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_be16(&p, 0); /* to us */
	pk_be16(&p, 1); /* ARPHRD_ETHER */
	pk_be16(&p, 6);
	pk_fill(&p, 0x11, 8);
	pk_be16(&p, 0x0800);
	dns_datagram(&p);
	run(PM_LINKTYPE_LINUX_SLL, &p, &d);
	assert_dns4(&d);
	dissect_packet(PM_LINKTYPE_LINUX_SLL, p.b, 15, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
}

Test(dissect_link, linux_sll_gre_device)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_be16(&p, 0);
	pk_be16(&p, 778); /* ARPHRD_IPGRE: the GRE header is already gone */
	pk_be16(&p, 0);
	pk_fill(&p, 0, 8);
	pk_be16(&p, 0x86dd); /* GRE protocol type */
	dns_datagram6(&p);
	run(PM_LINKTYPE_LINUX_SLL, &p, &d);
	assert_dns6(&d);
}

Test(dissect_link, linux_sll2)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_be16(&p, 0x86dd); /* protocol first */
	pk_be16(&p, 0);
	pk_be32(&p, 3); /* ifindex */
	pk_be16(&p, 1); /* ARPHRD_ETHER */
	pk_u8(&p, 4);	/* outgoing */
	pk_u8(&p, 6);
	pk_fill(&p, 0x22, 8);
	dns_datagram6(&p);
	run(PM_LINKTYPE_LINUX_SLL2, &p, &d);
	assert_dns6(&d);
	dissect_packet(PM_LINKTYPE_LINUX_SLL2, p.b, 19, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
}

Test(dissect_link, unsupported_zero_and_gt_len)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x0800);
	dns_datagram(&p);
	cr_assert_not(dissect_linktype_supported(105));
	cr_assert_eq(run(105, &p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_UNSUPPORTED));
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 0, 60, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_CAPLEN_ZERO));
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, NULL, 0, 0, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_CAPLEN_ZERO));
	/* caplen > wire length: flagged, and the captured bytes still decoded */
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, 60, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_CAPLEN_GT_LEN));
	cr_assert_eq(d.dport, 53);
	/* a snaplen cut is not an anomaly of the capture */
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 54, p.n, &d), PK_UDP);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.payload.len, 12);
	cr_assert_eq(d.udp_len, 37);
}

Test(dissect_link, vlan_single)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x8100);
	pk_be16(&p, 0x2064); /* PCP 1, VLAN 100 */
	pk_be16(&p, 0x0800);
	dns_datagram(&p);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_vlan, 1);
	cr_assert_eq(d.vlan_id, 100);
}

Test(dissect_link, vlan_qinq_8021ad_and_9100)
{
	static const uint16_t outer[] = {0x88a8, 0x9100};
	for (size_t i = 0; i < 2; i++) {
		struct pkt p;
		struct dissection d;
		pk_init(&p);
		pk_eth(&p, outer[i]);
		pk_be16(&p, 0x0bb8); /* S-VLAN 3000 */
		pk_be16(&p, 0x8100);
		pk_be16(&p, 0x0007); /* C-VLAN 7 */
		pk_be16(&p, 0x86dd);
		dns_datagram6(&p);
		run(PM_LINKTYPE_ETHERNET, &p, &d);
		assert_dns6(&d);
		cr_assert_eq(d.n_vlan, 2);
		cr_assert_eq(d.vlan_id, 3000);
		cr_assert_eq(d.n_encap, 0);
	}
}

Test(dissect_link, vlan_too_deep_and_cut)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x8100);
	for (int i = 0; i < 8; i++) {
		pk_be16(&p, (uint16_t)(10 + i));
		pk_be16(&p, 0x8100);
	}
	pk_be16(&p, 99);
	pk_be16(&p, 0x0800);
	dns_datagram(&p);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_VLAN_TOO_DEEP));
	cr_assert_eq(d.n_vlan, 8);
	cr_assert_eq(d.vlan_id, 10);
	cr_assert_eq(d.ip_version, 0);
	/* 8 tags is the cap, and allowed */
	pk_init(&p);
	pk_eth(&p, 0x8100);
	for (int i = 0; i < 7; i++) {
		pk_be16(&p, (uint16_t)(10 + i));
		pk_be16(&p, 0x8100);
	}
	pk_be16(&p, 99);
	pk_be16(&p, 0x0800);
	dns_datagram(&p);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_vlan, 8);
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 16, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
}

Test(dissect_link, mpls_stack_ipv4_and_ipv6)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x8847);
	pk_be32(&p, (16000u << 12) | 0x40);	 /* label 16000, TTL 64 */
	pk_be32(&p, (17u << 12) | 0x100 | 0x40); /* bottom of stack */
	dns_datagram(&p);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&p);
	pk_eth(&p, 0x8848);
	pk_be32(&p, (2u << 12) | 0x100 | 0x40);
	dns_datagram6(&p);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns6(&d);
	cr_assert_eq(d.n_encap, 1);
}

Test(dissect_link, mpls_pseudowire_ethernet_too_deep_and_cut)
{
	struct pkt p;
	struct dissection d;
	pk_init(&p);
	pk_eth(&p, 0x8847);
	pk_be32(&p, (100u << 12) | 0x100 | 0x40);
	pk_be32(&p, 0); /* control word */
	pk_eth(&p, 0x0800);
	dns_datagram(&p);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&p);
	pk_eth(&p, 0x8847);
	for (int i = 0; i < 17; i++)
		pk_be32(&p, ((uint32_t)(100 + i) << 12) | (i == 16 ? 0x100u : 0) | 0x40);
	dns_datagram(&p);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TOO_DEEP));
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 20, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TRUNCATED));
}

Test(dissect_link, pppoe_session_ipv4_ipv6)
{
	struct pkt p, inner;
	struct dissection d;
	pk_init(&inner);
	dns_datagram(&inner);
	pk_init(&p);
	pk_eth(&p, 0x8864);
	pk_u8(&p, 0x11);
	pk_u8(&p, 0);
	pk_be16(&p, 0x0042);
	pk_be16(&p, (uint16_t)(inner.n + 2));
	pk_be16(&p, 0x0021);
	pk_bytes(&p, inner.b, inner.n);
	pk_fill(&p, 0, 4); /* padding beyond the PPPoE length */
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&inner);
	dns_datagram6(&inner);
	pk_init(&p);
	pk_eth(&p, 0x8864);
	pk_u8(&p, 0x11);
	pk_u8(&p, 0);
	pk_be16(&p, 0x0042);
	pk_be16(&p, (uint16_t)(inner.n + 2));
	pk_be16(&p, 0x0057);
	pk_bytes(&p, inner.b, inner.n);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns6(&d);
	/* LCP is not IP; discovery stage (0x8863) is not a session */
	pk_put16(&p, 20, 0xc021);
	cr_assert_eq(run(PM_LINKTYPE_ETHERNET, &p, &d), PK_OTHER);
	cr_assert_eq(d.ip_version, 0);
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 18, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TRUNCATED));
}

/* Outer IPv4 (10.0.0.1 -> 10.0.0.2) around inner bytes with IP protocol proto. */
static void outer4(struct pkt *p, uint8_t proto, const struct pkt *inner)
{
	size_t ip = pk_ipv4(p, proto, "10.0.0.1", "10.0.0.2", 30);
	pk_bytes(p, inner->b, inner->n);
	pk_ipv4_fin(p, ip);
}

Test(dissect_link, gre_plain_and_flags)
{
	static const uint16_t flags[] = {0x0000, 0x8000, 0x2000, 0x1000, 0xb000};
	for (size_t i = 0; i < 5; i++) {
		struct pkt g, p;
		struct dissection d;
		pk_init(&g);
		pk_be16(&g, flags[i]);
		pk_be16(&g, 0x0800);
		int words = !!(flags[i] & 0x8000) + !!(flags[i] & 0x2000) + !!(flags[i] & 0x1000);
		for (int w = 0; w < words; w++)
			pk_be32(&g, 0xdead0000u + (uint32_t)w);
		dns_datagram(&g);
		pk_init(&p);
		pk_eth(&p, 0x0800);
		outer4(&p, 47, &g);
		run(PM_LINKTYPE_ETHERNET, &p, &d);
		assert_dns4(&d);
		cr_assert_eq(d.n_encap, 1, "flags %#x", flags[i]);
	}
}

Test(dissect_link, gre_teb_and_erspan)
{
	struct pkt g, p;
	struct dissection d;
	/* transparent Ethernet bridging */
	pk_init(&g);
	pk_be16(&g, 0x2000);
	pk_be16(&g, 0x6558);
	pk_be32(&g, 42);
	pk_eth(&g, 0x86dd);
	dns_datagram6(&g);
	pk_init(&p);
	outer4(&p, 47, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns6(&d);
	cr_assert_eq(d.n_encap, 1);
	/* ERSPAN type II: sequence number, 8-byte header, Ethernet */
	pk_init(&g);
	pk_be16(&g, 0x1000);
	pk_be16(&g, 0x88be);
	pk_be32(&g, 7);
	pk_fill(&g, 0x10, 8);
	pk_eth(&g, 0x0800);
	dns_datagram(&g);
	pk_init(&p);
	outer4(&p, 47, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns4(&d);
	/* ERSPAN type III with the platform sub-header (O bit) */
	pk_init(&g);
	pk_be16(&g, 0x1000);
	pk_be16(&g, 0x22eb);
	pk_be32(&g, 7);
	pk_fill(&g, 0x20, 11);
	pk_u8(&g, 0x01);
	pk_fill(&g, 0x30, 8);
	pk_eth(&g, 0x0800);
	dns_datagram(&g);
	pk_init(&p);
	outer4(&p, 47, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns4(&d);
}

Test(dissect_link, gre_pptp_and_cut)
{
	struct pkt g, p;
	struct dissection d;
	/* enhanced GRE (PPTP): key (length, call id), sequence, PPP with address/control */
	pk_init(&g);
	pk_be16(&g, 0x3001);
	pk_be16(&g, 0x880b);
	pk_be32(&g, 0x00400001);
	pk_be32(&g, 9);
	pk_be16(&g, 0xff03);
	pk_be16(&g, 0x0021);
	dns_datagram(&g);
	pk_init(&p);
	outer4(&p, 47, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns4(&d);
	/* cut inside the GRE key: the outer IP stays the frame's IP */
	pk_init(&g);
	pk_be16(&g, 0x2000);
	pk_be16(&g, 0x0800);
	pk_be16(&g, 0);
	pk_init(&p);
	outer4(&p, 47, &g);
	cr_assert_eq(run(PM_LINKTYPE_RAW, &p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TRUNCATED));
	cr_assert_str_eq(addr_txt(&d.src, 0), "10.0.0.1");
	cr_assert_eq(d.ip_proto, 47);
}

/* Outer IPv4/UDP to dport around inner bytes. */
static void outer_udp(struct pkt *p, uint16_t dport, const struct pkt *inner)
{
	pk_udp4_datagram(p, "10.0.0.1", 50123, "10.0.0.2", dport, inner);
}

Test(dissect_link, vxlan)
{
	struct pkt v, p;
	struct dissection d;
	pk_init(&v);
	pk_be32(&v, 0x08000000);
	pk_be32(&v, 0x00123400); /* VNI 0x1234 */
	pk_eth(&v, 0x0800);
	dns_datagram(&v);
	pk_init(&p);
	pk_eth(&p, 0x0800);
	outer_udp(&p, 4789, &v);
	run(PM_LINKTYPE_ETHERNET, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 1);
}

Test(dissect_link, vxlan_without_inner_ip_stays_outer_udp)
{
	struct pkt v, p;
	struct dissection d;
	pk_init(&v);
	pk_be32(&v, 0x08000000);
	pk_be32(&v, 0x00000100);
	pk_eth(&v, 0x0806); /* ARP */
	pk_fill(&v, 0, 28);
	pk_init(&p);
	outer_udp(&p, 4789, &v);
	cr_assert_eq(run(PM_LINKTYPE_RAW, &p, &d), PK_UDP);
	cr_assert_str_eq(addr_txt(&d.dst, 0), "10.0.0.2");
	cr_assert_eq(d.dport, 4789);
	cr_assert_eq(d.payload.len, v.n);
	cr_assert_eq(d.n_encap, 1);
	/* VXLAN header cut */
	pk_init(&v);
	pk_be32(&v, 0x08000000);
	pk_init(&p);
	outer_udp(&p, 4789, &v);
	cr_assert_eq(run(PM_LINKTYPE_RAW, &p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TRUNCATED));
	cr_assert_eq(d.n_encap, 0);
}

Test(dissect_link, geneve_with_options_ethernet_and_ip)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	pk_u8(&g, 0x02); /* version 0, 2 words of options */
	pk_u8(&g, 0);
	pk_be16(&g, 0x6558);
	pk_be32(&g, 0x00000a00); /* VNI 10 */
	pk_be32(&g, 0x01020301); /* option class/type/len 1 */
	pk_be32(&g, 0xcafef00d);
	pk_eth(&g, 0x86dd);
	dns_datagram6(&g);
	pk_init(&p);
	outer_udp(&p, 6081, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns6(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&g);
	pk_u8(&g, 0);
	pk_u8(&g, 0);
	pk_be16(&g, 0x0800); /* an IP packet directly */
	pk_be32(&g, 0);
	dns_datagram(&g);
	pk_init(&p);
	outer_udp(&p, 6081, &g);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns4(&d);
	/* options longer than the packet */
	pk_init(&g);
	pk_u8(&g, 0x3f);
	pk_u8(&g, 0);
	pk_be16(&g, 0x0800);
	pk_be32(&g, 0);
	pk_init(&p);
	outer_udp(&p, 6081, &g);
	cr_assert_eq(run(PM_LINKTYPE_RAW, &p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TRUNCATED));
	cr_assert_eq(d.dport, 6081);
}

Test(dissect_link, ip_in_ip_6in4_and_6in6)
{
	struct pkt in, p;
	struct dissection d;
	pk_init(&in);
	dns_datagram(&in);
	pk_init(&p);
	outer4(&p, 4, &in);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&in);
	dns_datagram6(&in);
	pk_init(&p);
	outer4(&p, 41, &in);
	run(PM_LINKTYPE_RAW, &p, &d);
	assert_dns6(&d);
	cr_assert_eq(d.n_encap, 1);
	struct pkt p6;
	pk_init(&p6);
	size_t ip = pk_ipv6(&p6, 41, "2001:db8:ffff::1", "2001:db8:ffff::2", 9);
	pk_bytes(&p6, in.b, in.n);
	pk_ipv6_fin(&p6, ip);
	run(PM_LINKTYPE_RAW, &p6, &d);
	assert_dns6(&d);
	cr_assert_eq(d.n_encap, 1);
	pk_init(&p6);
	ip = pk_ipv6(&p6, 4, "2001:db8:ffff::1", "2001:db8:ffff::2", 9);
	pk_init(&in);
	dns_datagram(&in);
	pk_bytes(&p6, in.b, in.n);
	pk_ipv6_fin(&p6, ip);
	run(PM_LINKTYPE_RAW, &p6, &d);
	assert_dns4(&d);
}

Test(dissect_link, tunnel_nesting_cap)
{
	/* 16 IP-in-IP layers are peeled; the 17th is encap.too_deep. */
	for (int layers = 16; layers <= 17; layers++) {
		struct pkt a, b;
		pk_init(&a);
		dns_datagram(&a);
		for (int i = 0; i < layers; i++) {
			pk_init(&b);
			outer4(&b, 4, &a);
			a = b;
		}
		struct dissection d;
		enum pkt_kind k = run(PM_LINKTYPE_RAW, &a, &d);
		if (layers == 16) {
			assert_dns4(&d);
			cr_assert_eq(d.n_encap, 16);
		} else {
			cr_assert_eq(k, PK_OTHER);
			cr_assert_eq(d.anomalies, an_bit(AN_ENCAP_TOO_DEEP));
			cr_assert_eq(d.n_encap, 16);
			cr_assert_eq(d.ip_proto, 4);
		}
	}
}

Test(dissect_link, mixed_nesting_vxlan_in_gre_in_mpls)
{
	struct pkt a, b;
	struct dissection d;
	pk_init(&a);
	pk_be32(&a, 0x08000000);
	pk_be32(&a, 0x00000100);
	pk_eth(&a, 0x8100);
	pk_be16(&a, 0x0005);
	pk_be16(&a, 0x0800);
	dns_datagram(&a);
	pk_init(&b);
	outer_udp(&b, 4789, &a); /* 10.0.0.1 -> 10.0.0.2 UDP 4789 */
	pk_init(&a);
	pk_be16(&a, 0);
	pk_be16(&a, 0x0800);
	pk_bytes(&a, b.b, b.n);
	pk_init(&b);
	outer4(&b, 47, &a); /* GRE */
	pk_init(&a);
	pk_eth(&a, 0x8847);
	pk_be32(&a, (33u << 12) | 0x100 | 0x40);
	pk_bytes(&a, b.b, b.n);
	run(PM_LINKTYPE_ETHERNET, &a, &d);
	assert_dns4(&d);
	cr_assert_eq(d.n_encap, 3);
	cr_assert_eq(d.n_vlan, 1);
	cr_assert_eq(d.vlan_id, 5);
}
