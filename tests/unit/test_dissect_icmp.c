/* test_dissect_icmp.c - ICMPv4/ICMPv6 errors and the datagrams they quote. */
#include <criterion/criterion.h>
#include <string.h>

#include "dissectors/internal.h"
#include "tests/unit/build_packets.h"

/* The query that was refused: 192.0.2.1:40000 -> 192.0.2.53:53 "A example.com" (57 bytes). */
static void query4(struct pkt *q)
{
	struct pkt dns;
	pk_init(&dns);
	pk_dns_query(&dns, 0x1234, "example.com", 1);
	pk_init(q);
	pk_udp4_datagram(q, "192.0.2.1", 40000, "192.0.2.53", 53, &dns);
}

static void query6(struct pkt *q)
{
	struct pkt dns;
	pk_init(&dns);
	pk_dns_query(&dns, 0x5678, "mail.example.org", 28);
	pk_init(q);
	pk_udp6_datagram(q, "2001:db8::1", 40001, "2001:db8::53", 53, &dns);
}

/* Ethernet/IPv4 from the reporter with ICMP type/code, `rest` word, quoting q. */
static void icmp4_frame(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest,
			const struct pkt *q)
{
	pk_init(p);
	pk_eth(p, 0x0800);
	size_t ip = pk_ipv4(p, 1, "192.0.2.53", "192.0.2.1", 63);
	size_t ic = pk_icmp(p, type, code, rest);
	if (q)
		pk_bytes(p, q->b, q->n);
	pk_icmp_fin(p, ic);
	pk_ipv4_fin(p, ip);
}

static void icmp6_frame(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest,
			const struct pkt *q)
{
	pk_init(p);
	pk_eth(p, 0x86dd);
	size_t ip = pk_ipv6(p, 58, "2001:db8::53", "2001:db8::1", 62);
	size_t ic = pk_icmp(p, type, code, rest);
	if (q)
		pk_bytes(p, q->b, q->n);
	pk_icmp6_fin(p, ic, ip);
	pk_ipv6_fin(p, ip);
}

static enum pkt_kind eth(const struct pkt *p, struct dissection *d)
{
	return dissect_packet(PM_LINKTYPE_ETHERNET, p->b, p->n, p->n, d);
}

static void hint_is(const struct app_hint *h, const char *want)
{
	char buf[300];
	app_hint_str(h, buf, sizeof buf);
	cr_assert_str_eq(buf, want);
}

Test(dissect_icmp, v4_port_unreachable_quoting_dns_query)
{
	struct pkt q, p;
	struct dissection d;
	query4(&q);
	icmp4_frame(&p, 3, 3, 0, &q);
	cr_assert_eq(eth(&p, &d), PK_ICMP_UNREACH);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_str_eq(addr_txt(&d.src, 0), "192.0.2.53"); /* the reporter */
	cr_assert_str_eq(addr_txt(&d.dst, 1), "192.0.2.1");
	cr_assert_eq(d.ttl, 63);
	cr_assert_eq(d.ip_proto, 1);
	cr_assert_eq(d.icmp.family, 4);
	cr_assert_eq(d.icmp.type, 3);
	cr_assert_eq(d.icmp.code, 3);
	cr_assert_eq(d.icmp.rfc4884_len, 0);
	cr_assert_not(d.icmp.has_extensions);
	const struct quote *qt = &d.icmp.q;
	cr_assert_eq(qt->ip_version, 4);
	cr_assert_str_eq(addr_txt(&qt->src, 0), "192.0.2.1");
	cr_assert_str_eq(addr_txt(&qt->dst, 1), "192.0.2.53");
	cr_assert_eq(qt->proto, 17);
	cr_assert_eq(qt->ttl, 64);
	cr_assert_eq(qt->ip_total_len, 57);
	cr_assert_eq(qt->ip_id, 0x1234);
	cr_assert(qt->has_ports);
	cr_assert_eq(qt->sport, 40000);
	cr_assert_eq(qt->dport, 53);
	cr_assert_eq(qt->udp_len, 37);
	cr_assert_neq(qt->udp_cksum, 0);
	cr_assert_eq(qt->quote_len, 57);
	cr_assert_eq(qt->payload.len, 29);
	cr_assert_not(qt->truncated);
	cr_assert_eq(qt->hint.kind, HINT_DNS);
	cr_assert_eq(qt->hint.dns_id, 0x1234);
	cr_assert_eq(qt->hint.dns_qtype, 1);
	cr_assert_eq(qt->hint.dns_qclass, 1);
	hint_is(&qt->hint, "dns A example.com");
	/* the outer UDP fields are not set for an ICMP error */
	cr_assert_eq(d.sport, 0);
	cr_assert_eq(d.payload.len, 0);
}

Test(dissect_icmp, v4_every_unreachable_code_and_next_mtu)
{
	struct pkt q, p;
	struct dissection d;
	query4(&q);
	for (uint8_t code = 0; code < 16; code++) {
		icmp4_frame(&p, 3, code, code == 4 ? 1400 : 0, &q);
		cr_assert_eq(eth(&p, &d), PK_ICMP_UNREACH);
		cr_assert_eq(d.icmp.code, code);
		cr_assert_eq(d.icmp.next_mtu, code == 4 ? 1400 : 0);
		cr_assert_eq(d.icmp.q.dport, 53);
		cr_assert_eq(d.anomalies, 0);
	}
}

Test(dissect_icmp, v4_time_exceeded_and_other_types)
{
	struct pkt q, p;
	struct dissection d;
	query4(&q);
	icmp4_frame(&p, 11, 0, 0, &q);
	cr_assert_eq(eth(&p, &d), PK_ICMP_TIME_EXCEEDED);
	cr_assert_eq(d.icmp.type, 11);
	cr_assert_eq(d.icmp.q.sport, 40000);
	cr_assert_eq(d.ttl, 63);
	/* parameter problem: decoded, but not a kind the analyzer reads */
	icmp4_frame(&p, 12, 0, 0x14000000, &q);
	cr_assert_eq(eth(&p, &d), PK_OTHER);
	cr_assert_eq(d.icmp.type, 12);
	cr_assert_eq(d.icmp.q.dport, 53);
	/* echo request: nothing */
	icmp4_frame(&p, 8, 0, 0x00010001, &q);
	cr_assert_eq(eth(&p, &d), PK_OTHER);
	cr_assert_eq(d.icmp.family, 0);
	cr_assert_eq(d.ip_proto, 1);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_icmp, v4_checksum_cut_and_no_quote)
{
	struct pkt q, p;
	struct dissection d;
	query4(&q);
	icmp4_frame(&p, 3, 3, 0, &q);
	p.b[p.n - 1] ^= 0xff;
	eth(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_ICMP_BAD_CHECKSUM));
	/* a snaplen cut: the checksum cannot be checked, and that is no anomaly */
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, p.n - 3, p.n, &d);
	cr_assert_eq(d.kind, PK_ICMP_UNREACH);
	cr_assert_eq(d.icmp.q.quote_len, 57, "what the error carries");
	cr_assert_eq(d.icmp.q.payload.len, 26, "what was captured");
	cr_assert_eq(d.anomalies, an_bit(AN_DNS_TRUNCATED));
	/* header cut after type and code: the kind is known */
	for (size_t n = 36; n < 42; n++) {
		dissect_packet(PM_LINKTYPE_ETHERNET, p.b, n, p.n, &d);
		cr_assert_eq(d.kind, PK_ICMP_UNREACH);
		cr_assert_eq(d.anomalies, an_bit(AN_ICMP_TRUNCATED));
		cr_assert_eq(d.icmp.q.hint.syslog_pri, -1);
	}
	dissect_packet(PM_LINKTYPE_ETHERNET, p.b, 35, p.n, &d);
	cr_assert_eq(d.kind, PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_ICMP_TRUNCATED));
	/* no quote at all */
	icmp4_frame(&p, 3, 3, 0, NULL);
	cr_assert_eq(eth(&p, &d), PK_ICMP_UNREACH);
	cr_assert_eq(d.anomalies, an_bit(AN_ICMP_NO_QUOTE));
	cr_assert_eq(d.icmp.q.ip_version, 0);
	cr_assert_eq(d.icmp.q.quote_len, 0);
}

Test(dissect_icmp, v4_quote_ihl_3_gives_no_ports)
{
	/* A quoted header claiming IHL 3: tcpdump would print ports from bytes 12..15. */
	static const uint8_t quote[] = {
	    0x43, 0x00, 0x00, 0x39, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0x00,
	    0x02, 0x01, 0xc0, 0x00, 0x02, 0x35, 0x9c, 0x40, 0x00, 0x35, 0x00, 0x25, 0x00, 0x00,
	};
	struct icmp_error e;
	uint64_t an = 0;
	dissect_quote(quote, sizeof quote, 4, 0, &e, &an);
	cr_assert_eq(an, an_bit(AN_QUOTE_BAD_IHL));
	cr_assert_eq(e.q.ip_version, 4);
	cr_assert_not(e.q.has_ports);
	cr_assert_eq(e.q.sport, 0);
	cr_assert_eq(e.q.dport, 0);
	cr_assert_eq(e.q.udp_len, 0);
	cr_assert_eq(e.q.payload.len, 0);
	cr_assert_eq(e.q.hint.kind, HINT_NONE);
	cr_assert_str_eq(addr_txt(&e.q.dst, 0), "192.0.2.53");
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		uint8_t b[sizeof quote];
		memcpy(b, quote, sizeof b);
		b[0] = (uint8_t)(0x40 | ihl);
		an = 0;
		dissect_quote(b, sizeof b, 4, 0, &e, &an);
		cr_assert(an & an_bit(AN_QUOTE_BAD_IHL));
		cr_assert_not(e.q.has_ports);
	}
}

Test(dissect_icmp, v4_quote_with_ip_options)
{
	struct pkt dns, q, p;
	struct dissection d;
	pk_init(&dns);
	pk_dns_query(&dns, 7, "a.b", 16);
	pk_init(&q);
	size_t ip = pk_ipv4_opts(&q, 17, "192.0.2.1", "192.0.2.53", 64, 12);
	size_t u = pk_udp(&q, 1234, 53);
	pk_bytes(&q, dns.b, dns.n);
	pk_udp_fin(&q, u, ip);
	pk_ipv4_fin(&q, ip);
	icmp4_frame(&p, 3, 3, 0, &q);
	eth(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	cr_assert(d.icmp.q.has_ports);
	cr_assert_eq(d.icmp.q.sport, 1234);
	cr_assert_eq(d.icmp.q.ip_total_len, 32 + 8 + dns.n);
	hint_is(&d.icmp.q.hint, "dns TXT a.b");
}

Test(dissect_icmp, v4_quote_truncated_at_every_length)
{
	struct pkt q;
	query4(&q);
	for (size_t n = 0; n <= q.n; n++) {
		struct icmp_error e;
		uint64_t an = 0;
		dissect_quote(q.b, n, 4, 0, &e, &an);
		const struct quote *qt = &e.q;
		cr_assert_eq(qt->quote_len, n);
		if (n == 0) {
			cr_assert_eq(an, an_bit(AN_ICMP_NO_QUOTE));
			continue;
		}
		cr_assert_eq(qt->ip_version, 4);
		cr_assert_eq(qt->truncated, n < 28, "n=%zu", n);
		cr_assert_eq(!!(an & an_bit(AN_QUOTE_TRUNCATED)), n < 28, "n=%zu", n);
		cr_assert_eq(qt->has_ports, n >= 24, "n=%zu", n);
		cr_assert_eq(qt->src.family, n >= 16 ? 4 : 0, "n=%zu", n);
		cr_assert_eq(qt->dst.family, n >= 20 ? 4 : 0, "n=%zu", n);
		if (n >= 10)
			cr_assert_eq(qt->proto, 17);
		if (n >= 24) {
			cr_assert_eq(qt->sport, 40000);
			cr_assert_eq(qt->dport, 53);
		}
		cr_assert_eq(qt->udp_len, n >= 26 ? 37 : 0, "n=%zu", n);
		cr_assert_eq(qt->payload.len, n > 28 ? n - 28 : 0);
		/* DNS from its whole 12-byte header on: fewer bytes say nothing (SPEC §6) */
		cr_assert_eq(qt->hint.kind, n >= 28 + 12 ? HINT_DNS : HINT_NONE, "n=%zu", n);
		cr_assert_eq(!!(an & an_bit(AN_DNS_TRUNCATED)), n >= 28 + 12 && n < q.n, "n=%zu",
			     n);
		cr_assert_eq(qt->hint.dns_has_question, n == q.n);
		if (n > 28 + 12) {
			size_t got = qt->hint.dns_qname_len;
			cr_assert(got <= 11);
			cr_assert_eq(memcmp(qt->hint.dns_qname, "example.com", got), 0);
		}
	}
}

/* An RFC 4884 ICMP extension structure: version 2 header and one object (RFC 4950 MPLS). */
static void ext_structure(struct pkt *p)
{
	pk_be16(p, 0x2000);
	pk_be16(p, 0); /* checksum: not checked */
	pk_be16(p, 8);
	pk_u8(p, 1);
	pk_u8(p, 1);
	pk_be32(p, (16000u << 12) | 0x100 | 1);
}

Test(dissect_icmp, v4_rfc4884_length_and_extensions)
{
	struct pkt q, p;
	struct dissection d;
	query4(&q);
	pk_fill(&q, 0, 128 - q.n); /* the original datagram field is padded to 128 bytes */
	ext_structure(&q);
	icmp4_frame(&p, 11, 0, 32u << 16, &q); /* length 32 words = 128 bytes */
	cr_assert_eq(eth(&p, &d), PK_ICMP_TIME_EXCEEDED);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_eq(d.icmp.rfc4884_len, 32);
	cr_assert(d.icmp.has_extensions);
	cr_assert_eq(d.icmp.q.quote_len, 128);
	cr_assert_eq(d.icmp.q.payload.len, 29, "narrowed to the quoted UDP length: no padding");
	hint_is(&d.icmp.q.hint, "dns A example.com");
	/* a length beyond the message: flagged and ignored */
	query4(&q);
	icmp4_frame(&p, 3, 3, 40u << 16, &q);
	eth(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_ICMP_BAD_RFC4884_LEN));
	cr_assert_not(d.icmp.has_extensions);
	cr_assert_eq(d.icmp.q.quote_len, 57);
	cr_assert_eq(d.icmp.q.dport, 53);
	/* a short length cuts the quote where it says */
	icmp4_frame(&p, 3, 3, 6u << 16, &q);
	eth(&p, &d);
	cr_assert_eq(d.icmp.q.quote_len, 24);
	cr_assert(d.icmp.has_extensions);
	cr_assert(d.icmp.q.has_ports);
	cr_assert(d.icmp.q.truncated);
	cr_assert_eq(d.icmp.q.udp_len, 0);
}

Test(dissect_icmp, v4_quote_fragment_version_and_other_transports)
{
	struct pkt q;
	struct icmp_error e;
	uint64_t an;
	query4(&q);
	pk_put16(&q, 6, 0x0010); /* quoted non-first fragment */
	an = 0;
	dissect_quote(q.b, q.n, 4, 0, &e, &an);
	cr_assert_eq(an, an_bit(AN_QUOTE_FRAGMENT));
	cr_assert_not(e.q.has_ports);
	query4(&q);
	q.b[0] = 0x55;
	an = 0;
	dissect_quote(q.b, q.n, 4, 0, &e, &an);
	cr_assert_eq(an, an_bit(AN_QUOTE_BAD_VERSION));
	cr_assert_eq(e.q.ip_version, 0);
	static const uint8_t protos[] = {6, 132, 136};
	for (size_t i = 0; i < 3; i++) {
		query4(&q);
		q.b[9] = protos[i];
		an = 0;
		dissect_quote(q.b, q.n, 4, 0, &e, &an);
		cr_assert_eq(an, 0);
		cr_assert(e.q.has_ports);
		cr_assert_eq(e.q.sport, 40000);
		cr_assert_eq(e.q.dport, 53);
		cr_assert_eq(e.q.udp_len, 0, "only UDP has a UDP length");
		cr_assert_eq(e.q.hint.kind, HINT_NONE);
	}
	query4(&q);
	q.b[9] = 1; /* a quoted ICMP message has no ports */
	an = 0;
	dissect_quote(q.b, q.n, 4, 0, &e, &an);
	cr_assert_not(e.q.has_ports);
	cr_assert_eq(an, 0);
}

Test(dissect_icmp, v6_port_unreachable_quoting_dns_query)
{
	struct pkt q, p;
	struct dissection d;
	query6(&q);
	icmp6_frame(&p, 1, 4, 0, &q);
	cr_assert_eq(eth(&p, &d), PK_ICMP_UNREACH);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_eq(d.ip_version, 6);
	cr_assert_str_eq(addr_txt(&d.src, 0), "2001:db8::53");
	cr_assert_eq(d.ttl, 62);
	cr_assert_eq(d.icmp.family, 6);
	cr_assert_eq(d.icmp.type, 1);
	cr_assert_eq(d.icmp.code, 4);
	const struct quote *qt = &d.icmp.q;
	cr_assert_eq(qt->ip_version, 6);
	cr_assert_str_eq(addr_txt(&qt->src, 0), "2001:db8::1");
	cr_assert_str_eq(addr_txt(&qt->dst, 1), "2001:db8::53");
	cr_assert_eq(qt->proto, 17);
	cr_assert_eq(qt->ttl, 64);
	cr_assert_eq(qt->sport, 40001);
	cr_assert_eq(qt->dport, 53);
	cr_assert_eq(qt->quote_len, q.n);
	cr_assert_eq(qt->ip_total_len, q.n);
	hint_is(&qt->hint, "dns AAAA mail.example.org");
}

Test(dissect_icmp, v6_codes_time_exceeded_too_big_checksum)
{
	struct pkt q, p;
	struct dissection d;
	query6(&q);
	for (uint8_t code = 0; code < 8; code++) {
		icmp6_frame(&p, 1, code, 0, &q);
		cr_assert_eq(eth(&p, &d), PK_ICMP_UNREACH);
		cr_assert_eq(d.icmp.code, code);
		cr_assert_eq(d.anomalies, 0);
	}
	icmp6_frame(&p, 3, 0, 0, &q);
	cr_assert_eq(eth(&p, &d), PK_ICMP_TIME_EXCEEDED);
	cr_assert_eq(d.icmp.q.dport, 53);
	icmp6_frame(&p, 2, 0, 1280, &q);
	cr_assert_eq(eth(&p, &d), PK_OTHER);
	cr_assert_eq(d.icmp.next_mtu, 1280);
	cr_assert_eq(d.icmp.rfc4884_len, 0);
	icmp6_frame(&p, 128, 0, 0, NULL); /* echo request */
	cr_assert_eq(eth(&p, &d), PK_OTHER);
	cr_assert_eq(d.icmp.family, 0);
	icmp6_frame(&p, 1, 4, 0, &q);
	p.b[14 + 40 + 2] ^= 1;
	eth(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_ICMP_BAD_CHECKSUM));
	/* ICMPv4 inside IPv6 is not an ICMP error of either family */
	icmp6_frame(&p, 3, 3, 0, &q);
	p.b[14 + 6] = 1;
	cr_assert_eq(eth(&p, &d), PK_OTHER);
}

Test(dissect_icmp, v6_outer_ext_header_and_rfc4884)
{
	struct pkt q, p;
	struct dissection d;
	query6(&q);
	size_t plen = q.n;
	pk_fill(&q, 0, 128 - q.n);
	ext_structure(&q);
	pk_init(&p);
	size_t ip = pk_ipv6(&p, 0, "2001:db8::53", "2001:db8::1", 62);
	pk_ipv6_ext(&p, 58);			  /* hop-by-hop before the ICMPv6 message */
	size_t ic = pk_icmp(&p, 1, 4, 16u << 24); /* 16 words of 8 bytes */
	pk_bytes(&p, q.b, q.n);
	pk_icmp6_fin(&p, ic, ip);
	pk_ipv6_fin(&p, ip);
	cr_assert_eq(dissect_packet(PM_LINKTYPE_RAW, p.b, p.n, p.n, &d), PK_ICMP_UNREACH);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_eq(d.ip_proto, 58);
	cr_assert_eq(d.icmp.rfc4884_len, 16);
	cr_assert(d.icmp.has_extensions);
	cr_assert_eq(d.icmp.q.quote_len, 128);
	cr_assert_eq(d.icmp.q.payload.len, plen - 48);
	hint_is(&d.icmp.q.hint, "dns AAAA mail.example.org");
}

/* IPv6 quote with the given extension headers before UDP. */
static void quote6_ext(struct pkt *q, const uint8_t *exts, size_t n, uint16_t frag_off)
{
	struct pkt dns;
	pk_init(&dns);
	pk_dns_query(&dns, 1, "x.org", 65280);
	pk_init(q);
	size_t ip = pk_ipv6(q, n ? exts[0] : 17, "2001:db8::1", "2001:db8::53", 5);
	for (size_t i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? exts[i + 1] : 17;
		if (exts[i] == 44)
			pk_ipv6_frag(q, next, frag_off, 1, 0x77665544);
		else
			pk_ipv6_ext(q, next);
	}
	size_t u = pk_udp(q, 5555, 53);
	pk_bytes(q, dns.b, dns.n);
	pk_udp_fin(q, u, ip);
	pk_ipv6_fin(q, ip);
}

Test(dissect_icmp, v6_quote_extension_headers_fragment_cap_cut)
{
	static const uint8_t chain[] = {0, 60, 44, 60, 60, 60, 60, 60, 60};
	struct pkt q;
	struct icmp_error e;
	uint64_t an = 0;
	quote6_ext(&q, chain, 4, 0);
	dissect_quote(q.b, q.n, 6, 0, &e, &an);
	cr_assert_eq(an, 0);
	cr_assert_eq(e.q.proto, 17);
	cr_assert_eq(e.q.ip_id, 0x5544);
	cr_assert_eq(e.q.dport, 53);
	cr_assert_eq(e.q.ttl, 5);
	hint_is(&e.q.hint, "dns TYPE65280 x.org");
	an = 0;
	quote6_ext(&q, chain, 4, 64);
	dissect_quote(q.b, q.n, 6, 0, &e, &an);
	cr_assert_eq(an, an_bit(AN_QUOTE_FRAGMENT));
	cr_assert_not(e.q.has_ports);
	an = 0;
	quote6_ext(&q, chain, 9, 0);
	dissect_quote(q.b, q.n, 6, 0, &e, &an);
	cr_assert_eq(an, an_bit(AN_QUOTE_EXT_TOO_MANY));
	cr_assert_not(e.q.has_ports);
	quote6_ext(&q, chain, 2, 0);
	for (size_t n = 1; n < 40 + 16 + 4; n++) {
		an = 0;
		dissect_quote(q.b, n, 6, 0, &e, &an);
		cr_assert_eq(an, an_bit(AN_QUOTE_TRUNCATED), "n=%zu", n);
		cr_assert(e.q.truncated);
		cr_assert_not(e.q.has_ports);
		cr_assert_eq(e.q.ip_version, 6);
		cr_assert_eq(e.q.dst.family, n >= 40 ? 6 : 0);
	}
}
