/* test_dissect_corpus_regress.c - frames from the public corpus (../shared/corpus) on which
 * `portmortem events` once disagreed with tshark (tests/corpus-ref/DIFFERENCES.md), each
 * decoded whole and at every truncation against an unreadable guard page. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/build_packets.h"

/* tcpdump/mpls-traceroute.pcap (link type 9, PPP with RFC 1662 address/control). Before
 * LINKTYPE_PPP was decoded, its 3 port unreachables (tshark: frames 14, 16, 18) were
 * missed, and so were its MPLS-labelled traceroute probes (PPP protocol 0x0281). */

/* Frame 14: 12.1.1.1 -> 12.4.4.4 ICMP 3/3 quoting UDP 12.4.4.4:42315 -> 12.1.1.1:33441. */
static const uint8_t PPP_UNREACH[] = {
    0xff, 0x03, 0x00, 0x21, 0x45, 0x00, 0x00, 0x38, 0xc5, 0xa7, 0x40, 0x00, 0xfd, 0x01, 0x9b,
    0x13, 0x0c, 0x01, 0x01, 0x01, 0x0c, 0x04, 0x04, 0x04, 0x03, 0x03, 0xd4, 0xfb, 0x00, 0x00,
    0x00, 0x00, 0x45, 0x00, 0x00, 0x28, 0xa5, 0x52, 0x00, 0x00, 0x01, 0x11, 0xf7, 0x69, 0x0c,
    0x04, 0x04, 0x04, 0x0c, 0x01, 0x01, 0x01, 0xa5, 0x4b, 0x82, 0xa1, 0x00, 0x14, 0x00, 0x00,
};

/* Frame 1: one MPLS label (bottom of stack, TTL 1) over PPP, then the UDP probe
 * 12.4.4.4:42315 -> 12.1.1.1:33435, TTL 1. */
static const uint8_t PPP_MPLS_PROBE[] = {
    0xff, 0x03, 0x02, 0x81, 0x18, 0x96, 0x01, 0x01, 0x45, 0x00, 0x00, 0x28, 0xa5, 0x4c, 0x00, 0x00,
    0x01, 0x11, 0xf7, 0x6f, 0x0c, 0x04, 0x04, 0x04, 0x0c, 0x01, 0x01, 0x01, 0xa5, 0x4b, 0x82, 0x9b,
    0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void check_unreach(const struct dissection *d)
{
	cr_assert_eq(d->kind, PK_ICMP_UNREACH);
	cr_assert_eq(d->anomalies, 0, "anomalies %#llx", (unsigned long long)d->anomalies);
	cr_assert_eq(d->n_encap, 0);
	cr_assert_str_eq(addr_txt(&d->src, 0), "12.1.1.1");
	cr_assert_str_eq(addr_txt(&d->dst, 1), "12.4.4.4");
	cr_assert_eq(d->ttl, 253);
	cr_assert_eq(d->icmp.type, 3);
	cr_assert_eq(d->icmp.code, 3);
	cr_assert(d->icmp.q.has_ports);
	cr_assert_str_eq(addr_txt(&d->icmp.q.src, 2), "12.4.4.4");
	cr_assert_str_eq(addr_txt(&d->icmp.q.dst, 3), "12.1.1.1");
	cr_assert_eq(d->icmp.q.sport, 42315);
	cr_assert_eq(d->icmp.q.dport, 33441);
	cr_assert_eq(d->icmp.q.quote_len, 28);
}

static void check_probe(const struct dissection *d)
{
	cr_assert_eq(d->kind, PK_UDP);
	cr_assert_eq(d->anomalies, 0, "anomalies %#llx", (unsigned long long)d->anomalies);
	cr_assert_eq(d->n_encap, 1, "the MPLS label stack");
	cr_assert_str_eq(addr_txt(&d->src, 0), "12.4.4.4");
	cr_assert_str_eq(addr_txt(&d->dst, 1), "12.1.1.1");
	cr_assert_eq(d->ttl, 1);
	cr_assert_eq(d->sport, 42315);
	cr_assert_eq(d->dport, 33435);
	cr_assert_eq(d->udp_len, 20);
}

Test(dissect_corpus_regress, ppp_link_port_unreachable)
{
	struct dissection d;
	cr_assert(dissect_linktype_supported(PM_LINKTYPE_PPP));
	dissect_packet(PM_LINKTYPE_PPP, PPP_UNREACH, sizeof PPP_UNREACH, sizeof PPP_UNREACH, &d);
	check_unreach(&d);
}

Test(dissect_corpus_regress, ppp_link_mpls_probe)
{
	struct dissection d;
	dissect_packet(PM_LINKTYPE_PPP, PPP_MPLS_PROBE, sizeof PPP_MPLS_PROBE,
		       sizeof PPP_MPLS_PROBE, &d);
	check_probe(&d);
}

/* Without address/control, and with the protocol field compressed to one byte (RFC 1661
 * §6.5): the same datagram. */
Test(dissect_corpus_regress, ppp_link_header_variants)
{
	struct pkt p;
	struct dissection d;
	const uint8_t *ip = PPP_UNREACH + 4;
	size_t ip_len = sizeof PPP_UNREACH - 4;

	pk_init(&p);
	pk_be16(&p, 0x0021);
	pk_bytes(&p, ip, ip_len);
	dissect_packet(PM_LINKTYPE_PPP, p.b, p.n, p.n, &d);
	check_unreach(&d);

	pk_init(&p);
	pk_u8(&p, 0x21);
	pk_bytes(&p, ip, ip_len);
	dissect_packet(PM_LINKTYPE_PPP, p.b, p.n, p.n, &d);
	check_unreach(&d);

	pk_init(&p);
	pk_u8(&p, 0xff);
	pk_u8(&p, 0x03);
	pk_u8(&p, 0x21);
	pk_bytes(&p, ip, ip_len);
	dissect_packet(PM_LINKTYPE_PPP, p.b, p.n, p.n, &d);
	check_unreach(&d);

	/* LCP (0xc021) is not IP: nothing decoded, nothing wrong */
	pk_init(&p);
	pk_be16(&p, 0xff03);
	pk_be16(&p, 0xc021);
	pk_bytes(&p, ip, ip_len);
	cr_assert_eq(dissect_packet(PM_LINKTYPE_PPP, p.b, p.n, p.n, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, 0);

	/* a cut PPP header is the link's truncation here, not a tunnel's */
	cr_assert_eq(dissect_packet(PM_LINKTYPE_PPP, PPP_UNREACH, 3, 60, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
	cr_assert_eq(dissect_packet(PM_LINKTYPE_PPP, PPP_UNREACH, 1, 60, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_LINK_TRUNCATED));
}

/* Every prefix of both frames, ending at an unreadable page: no over-read, and a cut frame
 * says less than the whole one, never something else (a port only when both are there). */
Test(dissect_corpus_regress, ppp_every_truncation_against_a_guard_page)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *m =
	    mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + page, page, PROT_NONE), 0);
	uint8_t *end = m + page;
	const struct {
		const uint8_t *b;
		size_t n;
	} frames[] = {{PPP_UNREACH, sizeof PPP_UNREACH}, {PPP_MPLS_PROBE, sizeof PPP_MPLS_PROBE}};
	for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
		for (size_t n = 0; n <= frames[f].n; n++) {
			struct dissection d;
			memcpy(end - n, frames[f].b, n);
			dissect_packet(PM_LINKTYPE_PPP, end - n, n, frames[f].n, &d);
			if (n == frames[f].n) {
				if (f == 0)
					check_unreach(&d);
				else
					check_probe(&d);
				continue;
			}
			cr_assert_eq(d.anomalies & an_bit(AN_LINK_UNSUPPORTED), 0);
			if (d.kind == PK_ICMP_UNREACH && d.icmp.q.has_ports) {
				cr_assert_eq(d.icmp.q.sport, 42315, "n=%zu", n);
				cr_assert_eq(d.icmp.q.dport, 33441, "n=%zu", n);
			}
			if (d.kind == PK_UDP) {
				cr_assert_eq(d.sport, 42315, "n=%zu", n);
				cr_assert_eq(d.dport, f == 0 ? 33441 : 33435, "n=%zu", n);
			}
		}
	}
	munmap(m, 2 * page);
}
