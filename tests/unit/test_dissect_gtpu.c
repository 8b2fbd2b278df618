/* test_dissect_gtpu.c - GTP-U (3GPP TS 29.281) on UDP 2152: G-PDUs with and without optional
 * fields and extension headers, messages that carry no T-PDU, malformed lengths, every
 * truncation against a guard page. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/build_packets.h"

#define GTP_E 0x04
#define GTP_S 0x02
#define GTP_PN 0x01
#define GPDU 255

#define BIT(a) (UINT64_C(1) << (a))

/* Mandatory header of version 1, PT 1 with the given E/S/PN flags; the length is set by
 * gtp_fin. Returns the offset of the header. */
static size_t gtp_hdr(struct pkt *g, uint8_t flags, uint8_t type)
{
	size_t off = g->n;
	pk_u8(g, (uint8_t)(0x30 | flags));
	pk_u8(g, type);
	pk_be16(g, 0);
	pk_be32(g, 0x00002001); /* TEID */
	return off;
}

/* The 4 optional octets: sequence number, N-PDU number, next extension header type. */
static void gtp_opt(struct pkt *g, uint16_t seq, uint8_t next_ext)
{
	pk_be16(g, seq);
	pk_u8(g, 0);
	pk_u8(g, next_ext);
}

/* One extension header of `units` 4-octet units (units >= 1), content bytes `fill`. */
static void gtp_ext(struct pkt *g, uint8_t units, uint8_t fill, uint8_t next)
{
	pk_u8(g, units);
	pk_fill(g, fill, (size_t)units * 4 - 2);
	pk_u8(g, next);
}

/* Length = octets after the mandatory 8. */
static void gtp_fin(struct pkt *g, size_t off)
{
	pk_put16(g, off + 2, (uint16_t)(g->n - off - 8));
}

/* 192.0.2.1:40000 -> 192.0.2.53:53 "A example.com" (57 bytes), the UE's query. */
static void query4(struct pkt *q)
{
	struct pkt dns;
	pk_init(&dns);
	pk_dns_query(&dns, 0x1234, "example.com", 1);
	pk_udp4_datagram(q, "192.0.2.1", 40000, "192.0.2.53", 53, &dns);
}

static void query6(struct pkt *q)
{
	struct pkt dns;
	pk_init(&dns);
	pk_dns_query(&dns, 0x4321, "example.org", 28);
	pk_udp6_datagram(q, "2001:db8::1", 40001, "2001:db8::53", 53, &dns);
}

/* The server's port unreachable quoting query4 (IPv4, TTL 63). */
static void unreach4(struct pkt *p)
{
	struct pkt q;
	pk_init(&q);
	query4(&q);
	size_t ip = pk_ipv4(p, 1, "192.0.2.53", "192.0.2.1", 63);
	size_t ic = pk_icmp(p, 3, 3, 0);
	pk_bytes(p, q.b, q.n);
	pk_icmp_fin(p, ic);
	pk_ipv4_fin(p, ip);
}

/* Raw IPv4 frame 198.51.100.1 -> 203.0.113.1, UDP 2152 -> dport, carrying g. */
static enum pkt_kind run_port(struct pkt *p, uint16_t dport, const struct pkt *g,
			      struct dissection *d)
{
	pk_init(p);
	pk_udp4_datagram(p, "198.51.100.1", 2152, "203.0.113.1", dport, g);
	return dissect_packet(PM_LINKTYPE_RAW, p->b, p->n, p->n, d);
}

static enum pkt_kind run(struct pkt *p, const struct pkt *g, struct dissection *d)
{
	return run_port(p, 2152, g, d);
}

static void assert_query4(const struct dissection *d)
{
	cr_assert_eq(d->kind, PK_UDP);
	cr_assert_eq(d->ip_version, 4);
	cr_assert_str_eq(addr_txt(&d->src, 0), "192.0.2.1");
	cr_assert_str_eq(addr_txt(&d->dst, 1), "192.0.2.53");
	cr_assert_eq(d->sport, 40000);
	cr_assert_eq(d->dport, 53);
	cr_assert_eq(d->payload.len, 29);
	cr_assert_eq(d->n_encap, 1);
}

/* The outer datagram, as the frame's layer: nothing was peeled. */
static void assert_outer(const struct dissection *d, const struct pkt *g)
{
	cr_assert_eq(d->kind, PK_UDP);
	cr_assert_str_eq(addr_txt(&d->src, 0), "198.51.100.1");
	cr_assert_eq(d->dport, 2152);
	cr_assert_eq(d->payload.len, g->n);
	cr_assert_eq(d->n_encap, 0);
}

Test(dissect_gtpu, gpdu_bare_header_ipv4)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, 0, GPDU);
	query4(&g);
	gtp_fin(&g, h);
	run(&p, &g, &d);
	assert_query4(&d);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
}

Test(dissect_gtpu, gpdu_with_sequence_or_npdu_number)
{
	static const uint8_t flags[] = {GTP_S, GTP_PN, GTP_S | GTP_PN};
	for (size_t i = 0; i < sizeof flags; i++) {
		struct pkt g, p;
		struct dissection d;
		pk_init(&g);
		size_t h = gtp_hdr(&g, flags[i], GPDU);
		/* without E the next-type octet means nothing, even when not 0 */
		gtp_opt(&g, 1000, 0x85);
		query4(&g);
		gtp_fin(&g, h);
		run(&p, &g, &d);
		assert_query4(&d);
		cr_assert_eq(d.anomalies, 0, "flags %#x", flags[i]);
	}
}

Test(dissect_gtpu, gpdu_extension_header_chain_ipv6)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, GTP_E | GTP_S, GPDU);
	gtp_opt(&g, 7, 0xc0);	    /* PDCP PDU number */
	gtp_ext(&g, 1, 0x03, 0x85); /* then a PDU session container */
	gtp_ext(&g, 2, 0x00, 0x84); /* two units long, then an NR RAN container */
	gtp_ext(&g, 1, 0x11, 0x00);
	query6(&g);
	gtp_fin(&g, h);
	run(&p, &g, &d);
	cr_assert_eq(d.kind, PK_UDP);
	cr_assert_eq(d.ip_version, 6);
	cr_assert_str_eq(addr_txt(&d.src, 0), "2001:db8::1");
	cr_assert_eq(d.dport, 53);
	cr_assert_eq(d.payload.len, 29);
	cr_assert_eq(d.n_encap, 1);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
}

Test(dissect_gtpu, port_unreachable_inside_is_found_with_its_quote)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, GTP_E, GPDU);
	gtp_opt(&g, 0, 0x85);
	gtp_ext(&g, 1, 0x00, 0x00);
	unreach4(&g);
	gtp_fin(&g, h);
	/* over IPv6 transport, in an Ethernet frame */
	pk_init(&p);
	pk_eth(&p, 0x86dd);
	size_t ip = pk_ipv6(&p, 17, "2001:db8:0:6::1", "2001:db8:0:3::1", 64);
	size_t u = pk_udp(&p, 2152, 2152);
	pk_bytes(&p, g.b, g.n);
	pk_udp_fin(&p, u, ip);
	pk_ipv6_fin(&p, ip);
	cr_assert_eq(dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n, p.n, &d), PK_ICMP_UNREACH);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_eq(d.n_encap, 1);
	cr_assert_str_eq(addr_txt(&d.src, 0), "192.0.2.53");
	cr_assert_str_eq(addr_txt(&d.dst, 1), "192.0.2.1");
	cr_assert_eq(d.ttl, 63);
	cr_assert_eq(d.icmp.type, 3);
	cr_assert_eq(d.icmp.code, 3);
	cr_assert(d.icmp.q.has_ports);
	cr_assert_eq(d.icmp.q.sport, 40000);
	cr_assert_eq(d.icmp.q.dport, 53);
	char hint[300];
	app_hint_str(&d.icmp.q.hint, hint, sizeof hint);
	cr_assert_str_eq(hint, "dns A example.com");
}

Test(dissect_gtpu, messages_without_a_tpdu_stay_the_outer_datagram)
{
	/* echo request, echo response (recovery IE), error indication (TEID IE, UDP port
	 * extension header), supported extension headers notification, end marker */
	static const uint8_t types[] = {1, 2, 26, 31, 254};
	for (size_t i = 0; i < sizeof types; i++) {
		struct pkt g, p;
		struct dissection d;
		pk_init(&g);
		size_t h = gtp_hdr(&g, types[i] == 26 ? GTP_E | GTP_S : GTP_S, types[i]);
		gtp_opt(&g, 5, types[i] == 26 ? 0x40 : 0);
		if (types[i] == 26)
			gtp_ext(&g, 1, 0x08, 0x00);
		pk_u8(&g, 0x45); /* an IE that looks like an IPv4 header: never read as one */
		pk_fill(&g, 0, 19);
		gtp_fin(&g, h);
		run(&p, &g, &d);
		assert_outer(&d, &g);
		cr_assert_eq(d.anomalies, 0, "type %u", types[i]);
	}
}

Test(dissect_gtpu, gtp_prime_other_versions_and_other_ports_are_not_opened)
{
	static const uint8_t first[] = {0x20, 0x40, 0x50}; /* GTP' (PT 0), GTPv2, v2 PT 1 */
	for (size_t i = 0; i < sizeof first; i++) {
		struct pkt g, p;
		struct dissection d;
		pk_init(&g);
		size_t h = gtp_hdr(&g, 0, GPDU);
		g.b[h] = first[i];
		query4(&g);
		gtp_fin(&g, h);
		run(&p, &g, &d);
		assert_outer(&d, &g);
		cr_assert_eq(d.anomalies, 0);
	}
	/* a G-PDU from port 2152 to another port: matched by destination, like VXLAN */
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, 0, GPDU);
	query4(&g);
	gtp_fin(&g, h);
	run_port(&p, 40000, &g, &d);
	cr_assert_eq(d.n_encap, 0);
	cr_assert_eq(d.dport, 40000);
}

Test(dissect_gtpu, extension_header_of_length_zero_is_malformed)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, GTP_E, GPDU);
	gtp_opt(&g, 0, 0x85);
	pk_u8(&g, 0); /* length 0 */
	pk_u8(&g, 0);
	pk_u8(&g, 0);
	pk_u8(&g, 0);
	query4(&g);
	gtp_fin(&g, h);
	run(&p, &g, &d);
	assert_outer(&d, &g);
	cr_assert_eq(d.anomalies, BIT(AN_GTPU_BAD_LENGTH));
}

Test(dissect_gtpu, lengths_that_contradict_the_frame)
{
	struct pkt g, p;
	struct dissection d;
	/* message length beyond the datagram: flagged, and the T-PDU that is there is read */
	pk_init(&g);
	size_t h = gtp_hdr(&g, 0, GPDU);
	query4(&g);
	gtp_fin(&g, h);
	pk_put16(&g, h + 2, (uint16_t)(g.n + 100));
	run(&p, &g, &d);
	assert_query4(&d);
	cr_assert_eq(d.anomalies, BIT(AN_GTPU_BAD_LENGTH));
	/* S set but a length of 2: the optional octets do not fit in the message */
	pk_init(&g);
	h = gtp_hdr(&g, GTP_S, GPDU);
	gtp_opt(&g, 1, 0);
	query4(&g);
	pk_put16(&g, h + 2, 2);
	run(&p, &g, &d);
	assert_outer(&d, &g);
	cr_assert_eq(d.anomalies, BIT(AN_GTPU_BAD_LENGTH));
	/* an extension header that runs past the message length (bytes follow in the datagram) */
	pk_init(&g);
	h = gtp_hdr(&g, GTP_E, GPDU);
	gtp_opt(&g, 0, 0x85);
	gtp_ext(&g, 4, 0x00, 0x00);
	query4(&g);
	pk_put16(&g, h + 2, 4 + 8);
	run(&p, &g, &d);
	assert_outer(&d, &g);
	cr_assert_eq(d.anomalies, BIT(AN_GTPU_BAD_LENGTH));
	/* length 0: an empty G-PDU, nothing to open and nothing wrong with the bytes */
	pk_init(&g);
	h = gtp_hdr(&g, 0, GPDU);
	run(&p, &g, &d);
	assert_outer(&d, &g);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_gtpu, extension_headers_are_capped)
{
	for (unsigned n_ext = 8; n_ext <= 9; n_ext++) {
		struct pkt g, p;
		struct dissection d;
		pk_init(&g);
		size_t h = gtp_hdr(&g, GTP_E, GPDU);
		gtp_opt(&g, 0, 0x85);
		for (unsigned i = 0; i < n_ext; i++)
			gtp_ext(&g, 1, 0x00, i + 1 < n_ext ? 0x85 : 0x00);
		query4(&g);
		gtp_fin(&g, h);
		run(&p, &g, &d);
		if (n_ext == 8) {
			assert_query4(&d);
			cr_assert_eq(d.anomalies, 0);
		} else {
			assert_outer(&d, &g);
			cr_assert_eq(d.anomalies, BIT(AN_GTPU_EXT_TOO_MANY));
		}
	}
}

Test(dissect_gtpu, non_ip_tpdu_is_not_peeled)
{
	struct pkt g, p;
	struct dissection d;
	pk_init(&g);
	size_t h = gtp_hdr(&g, 0, GPDU);
	pk_eth(&g, 0x0800); /* an Ethernet PDU session: first nibble 0 */
	query4(&g);
	gtp_fin(&g, h);
	run(&p, &g, &d);
	assert_outer(&d, &g);
	cr_assert_eq(d.anomalies, BIT(AN_UNDISSECTED_GTPU));
}

Test(dissect_gtpu, tunnel_cap_counts_gtpu_layers)
{
	/* 16 GTP-U layers are peeled; the 17th is encap.too_deep. */
	for (int layers = 16; layers <= 17; layers++) {
		struct pkt a, b;
		pk_init(&a);
		query4(&a);
		for (int i = 0; i < layers; i++) {
			pk_init(&b);
			size_t h = gtp_hdr(&b, 0, GPDU);
			pk_bytes(&b, a.b, a.n);
			gtp_fin(&b, h);
			pk_init(&a);
			pk_udp4_datagram(&a, "198.51.100.1", 2152, "203.0.113.1", 2152, &b);
		}
		struct dissection d;
		dissect_packet(PM_LINKTYPE_RAW, a.b, a.n, a.n, &d);
		cr_assert_eq(d.n_encap, 16);
		if (layers == 16) {
			cr_assert_eq(d.dport, 53);
			cr_assert_eq(d.anomalies, 0);
		} else {
			cr_assert_eq(d.dport, 2152);
			cr_assert_eq(d.anomalies, BIT(AN_ENCAP_TOO_DEEP));
		}
	}
}

/* Every prefix of a G-PDU with an extension chain around a port unreachable, placed against
 * an unreadable page: a cut is encap.truncated (or the inner layer's own truncation), never
 * a length lie, and nothing is peeled before a byte of the T-PDU is there. */
Test(dissect_gtpu, every_truncation_against_a_guard_page)
{
	struct pkt g, p;
	pk_init(&g);
	size_t h = gtp_hdr(&g, GTP_E | GTP_S, GPDU);
	gtp_opt(&g, 9, 0xc0);
	gtp_ext(&g, 1, 0x03, 0x85);
	gtp_ext(&g, 1, 0x00, 0x00);
	size_t tpdu = 20 + 8 + g.n; /* offset of the T-PDU in the frame */
	unreach4(&g);
	gtp_fin(&g, h);
	pk_init(&p);
	pk_udp4_datagram(&p, "203.0.113.1", 2152, "198.51.100.1", 2152, &g);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *m =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + page, page, PROT_NONE), 0);
	const uint64_t lies = BIT(AN_GTPU_BAD_LENGTH) | BIT(AN_GTPU_EXT_TOO_MANY);
	for (size_t n = 0; n <= p.n; n++) {
		struct dissection d;
		uint8_t *buf = m + page - n;
		memcpy(buf, p.b, n);
		enum pkt_kind k = dissect_packet(PM_LINKTYPE_RAW, buf, n, p.n, &d);
		cr_assert_eq(d.anomalies & lies, 0, "n=%zu", n);
		if (n == p.n) {
			cr_assert_eq(k, PK_ICMP_UNREACH);
			cr_assert_eq(d.anomalies, 0);
		} else if (n >= 28 && n <= tpdu) {
			cr_assert_eq(k, PK_UDP, "n=%zu", n);
			cr_assert_eq(d.n_encap, 0, "n=%zu", n);
			cr_assert_eq(d.anomalies, BIT(AN_ENCAP_TRUNCATED), "n=%zu", n);
		} else if (n > tpdu) {
			cr_assert_eq(d.n_encap, 1, "n=%zu", n);
		}
		/* the same prefix as a whole datagram: lengths now claim more than the frame */
		dissect_packet(PM_LINKTYPE_RAW, buf, n, n, &d);
	}
	munmap(m, 2 * page);
}
