/* test_dissect_dns.c - DNS question names, application hints by port, their text form,
 * anomaly names and address helpers. */
#include <criterion/criterion.h>
#include <string.h>

#include "dissectors/internal.h"
#include "tests/unit/build_packets.h"

/* A query header (qdcount 1) followed by raw name bytes, then qtype/qclass if asked. */
static void msg_with_name(struct pkt *p, const void *name, size_t n, uint16_t qtype)
{
	pk_init(p);
	pk_be16(p, 0xbeef);
	pk_be16(p, 0x0100);
	pk_be16(p, 1);
	pk_fill(p, 0, 6);
	pk_bytes(p, name, n);
	if (qtype) {
		pk_be16(p, qtype);
		pk_be16(p, 1);
	}
}

static void str_is(const struct app_hint *h, const char *want)
{
	char buf[300];
	app_hint_str(h, buf, sizeof buf);
	cr_assert_str_eq(buf, want);
}

Test(dissect_dns, normal_query)
{
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	pk_init(&p);
	pk_dns_query(&p, 0xabcd, "www.example.com", 28);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_eq(an, 0);
	cr_assert_eq(h.kind, HINT_DNS);
	cr_assert_eq(h.dns_id, 0xabcd);
	cr_assert_eq(h.dns_flags, 0x0100);
	cr_assert(h.dns_has_question);
	cr_assert_eq(h.dns_qtype, 28);
	cr_assert_eq(h.dns_qclass, 1);
	cr_assert_eq(h.dns_qname_len, 15);
	cr_assert_str_eq((const char *)h.dns_qname, "www.example.com");
	str_is(&h, "dns AAAA www.example.com");
}

Test(dissect_dns, label_63_ok_64_bad)
{
	uint8_t name[70];
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	name[0] = 63;
	memset(name + 1, 'a', 63);
	name[64] = 0;
	msg_with_name(&p, name, 65, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_eq(an, 0);
	cr_assert_eq(h.dns_qname_len, 63);
	name[0] = 64;
	name[65] = 0;
	msg_with_name(&p, name, 66, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_BAD_LABEL));
	cr_assert_not(h.dns_has_question);
	name[0] = 0x80; /* the other reserved label type */
	an = 0;
	msg_with_name(&p, name, 66, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_BAD_LABEL));
}

/* Labels of the given lengths (filled with 'a'+i), then the root label. */
static size_t labels(uint8_t *out, const uint8_t *lens, size_t n)
{
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		out[at++] = lens[i];
		memset(out + at, 'a' + (int)i, lens[i]);
		at += lens[i];
	}
	out[at++] = 0;
	return at;
}

Test(dissect_dns, name_255_ok_256_too_long)
{
	uint8_t name[300];
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	static const uint8_t ok[] = {63, 63, 63, 61};
	size_t n = labels(name, ok, 4);
	cr_assert_eq(n, 255);
	msg_with_name(&p, name, n, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_eq(an, 0);
	cr_assert_eq(h.dns_qname_len, 253);
	cr_assert_eq(strlen((const char *)h.dns_qname), 253);
	static const uint8_t bad[] = {63, 63, 63, 62};
	n = labels(name, bad, 4);
	msg_with_name(&p, name, n, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_NAME_TOO_LONG));
	cr_assert_eq(h.dns_qname_len, 63 * 3 + 2, "the name up to the label that overflowed");
	/* many short labels: 128 labels of 1 byte are 257 bytes */
	uint8_t many[128];
	memset(many, 1, sizeof many);
	n = labels(name, many, 128);
	an = 0;
	msg_with_name(&p, name, n, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_NAME_TOO_LONG));
}

Test(dissect_dns, bad_pointers_in_the_question)
{
	static const uint8_t forward[] = {1, 'a', 0xc0, 40, 0};
	static const uint8_t self[] = {0xc0, 12};
	static const uint8_t to_label[] = {1, 'a', 0xc0, 12}; /* loop onto its own start */
	static const uint8_t into_header[] = {0xc0, 2};
	const struct {
		const uint8_t *b;
		size_t n;
		size_t name_len;
	} cases[] = {
	    {forward, sizeof forward, 1},
	    {self, sizeof self, 0},
	    {to_label, sizeof to_label, 1},
	    {into_header, sizeof into_header, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pkt p;
		struct app_hint h;
		uint64_t an = 0;
		msg_with_name(&p, cases[i].b, cases[i].n, 1);
		pk_fill(&p, 0, 40);
		cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), -2, "case %zu", i);
		cr_assert_eq(an, an_bit(AN_DNS_BAD_POINTER), "case %zu", i);
		cr_assert_eq(h.dns_qname_len, cases[i].name_len);
		cr_assert_not(h.dns_has_question);
	}
}

Test(dissect_dns, backward_pointers_loops_and_jump_cap)
{
	/* Names later in a message: 12 "a" -> root; 20 "b" + ptr 12; 30 "c" + ptr 20. */
	uint8_t m[64] = {0};
	m[12] = 1, m[13] = 'a', m[14] = 0;
	m[20] = 1, m[21] = 'b', m[22] = 0xc0, m[23] = 12;
	m[30] = 1, m[31] = 'c', m[32] = 0xc0, m[33] = 20;
	struct app_hint h;
	uint64_t an = 0;
	size_t end = 0;
	cr_assert_eq(dns_name_decode(m, sizeof m, 30, &h, &end, &an), 0);
	cr_assert_eq(an, 0);
	cr_assert_str_eq((const char *)h.dns_qname, "c.b.a");
	cr_assert_eq(end, 34, "ends after the first pointer");
	/* a loop: 12 "a" + ptr 20, 20 "b" + ptr 12 */
	m[14] = 0xc0, m[15] = 20;
	cr_assert_eq(dns_name_decode(m, sizeof m, 30, &h, &end, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_BAD_POINTER));
	cr_assert_str_eq((const char *)h.dns_qname, "c.b.a");
	/* a chain of backward pointers: 16 jumps are followed, 17 are not */
	uint8_t chain[12 + 2 + 2 * 17] = {0};
	chain[12] = 0; /* root */
	for (size_t i = 1; i <= 17; i++) {
		chain[12 + 2 * i] = 0xc0;
		chain[13 + 2 * i] = (uint8_t)(12 + 2 * (i - 1));
	}
	an = 0;
	cr_assert_eq(dns_name_decode(chain, sizeof chain, 12 + 2 * 16, &h, &end, &an), 0);
	cr_assert_eq(h.dns_qname_len, 0);
	cr_assert_eq(dns_name_decode(chain, sizeof chain, 12 + 2 * 17, &h, &end, &an), -2);
	cr_assert_eq(an, an_bit(AN_DNS_BAD_POINTER));
}

Test(dissect_dns, hostile_bytes_are_kept_raw)
{
	static const uint8_t name[] = {8,    '<', 's', 'c', 'r', 'i', 'p', 't', '>', 4,
				       0x1b, '[', '2', 'J', 3,	 'a', '.', 'b', 0};
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	msg_with_name(&p, name, sizeof name, 16);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_eq(an, 0);
	cr_assert_eq(h.dns_qname_len, 8 + 1 + 4 + 1 + 3);
	cr_assert_eq(memcmp(h.dns_qname, "<script>.\x1b[2J.a.b", 17), 0);
	str_is(&h, "dns TXT <script>.\x1b[2J.a.b");
	/* a NUL inside a label: kept in dns_qname, the text form stops there */
	static const uint8_t nul[] = {3, 'a', 0, 'b', 0};
	msg_with_name(&p, nul, sizeof nul, 1);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_eq(h.dns_qname_len, 3);
	cr_assert_eq(h.dns_qname[2], 'b');
	str_is(&h, "dns A a");
}

Test(dissect_dns, truncation_keeps_what_was_decoded)
{
	struct pkt p;
	pk_init(&p);
	pk_dns_query(&p, 0x1111, "example.com", 1);
	for (size_t n = 0; n < p.n; n++) {
		struct app_hint h;
		uint64_t an = 0;
		cr_assert_eq(dissect_dns(p.b, n, &h, &an), -1, "n=%zu", n);
		cr_assert_eq(an, an_bit(AN_DNS_TRUNCATED));
		cr_assert_eq(h.kind, HINT_DNS);
		cr_assert_not(h.dns_has_question);
		cr_assert_eq(h.dns_id, n >= 2 ? 0x1111 : 0);
		size_t want = n <= 13 ? 0 : n <= 20 ? n - 13 : n <= 24 ? 7 + (n - 21) + 1 : 11;
		if (n == 21)
			want = 7; /* the dot comes with the next label's first byte */
		cr_assert_eq(h.dns_qname_len, want, "n=%zu", n);
		cr_assert_eq(memcmp(h.dns_qname, "example.com", h.dns_qname_len), 0);
	}
	struct app_hint h;
	dissect_dns(p.b, 17, &h, NULL);
	str_is(&h, "dns ? exam");
	dissect_dns(p.b, 5, &h, NULL);
	str_is(&h, "dns");
}

Test(dissect_dns, no_question_and_root)
{
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	pk_init(&p);
	pk_be16(&p, 9);
	pk_be16(&p, 0x8180);
	pk_fill(&p, 0, 8);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert_not(h.dns_has_question);
	cr_assert_eq(h.dns_flags, 0x8180);
	str_is(&h, "dns");
	static const uint8_t root[] = {0};
	msg_with_name(&p, root, 1, 2);
	cr_assert_eq(dissect_dns(p.b, p.n, &h, &an), 0);
	cr_assert(h.dns_has_question);
	str_is(&h, "dns NS .");
	cr_assert_eq(an, 0);
}

Test(dissect_dns, qtype_names)
{
	cr_assert_str_eq(dns_qtype_name(1), "A");
	cr_assert_str_eq(dns_qtype_name(28), "AAAA");
	cr_assert_str_eq(dns_qtype_name(12), "PTR");
	cr_assert_str_eq(dns_qtype_name(33), "SRV");
	cr_assert_str_eq(dns_qtype_name(255), "ANY");
	cr_assert_str_eq(dns_qtype_name(65), "HTTPS");
	cr_assert_null(dns_qtype_name(65280));
	cr_assert_null(dns_qtype_name(0));
	struct pkt p;
	struct app_hint h;
	pk_init(&p);
	pk_dns_query(&p, 1, "x.org", 65280);
	dissect_dns(p.b, p.n, &h, NULL);
	str_is(&h, "dns TYPE65280 x.org");
}

Test(dissect_hint, dns_by_payload_and_port)
{
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	pk_init(&p);
	pk_dns_query(&p, 2, "printer.local", 12);
	/* a whole question is DNS on any port: 8053 and 40001 as much as 53 */
	static const uint16_t dns_ports[] = {53, 5353, 5355, 8053, 40001};
	for (size_t i = 0; i < sizeof dns_ports / sizeof dns_ports[0]; i++) {
		dissect_app_hint(p.b, p.n, 40000, dns_ports[i], &h, &an);
		str_is(&h, "dns PTR printer.local");
	}
	dissect_app_hint(p.b, p.n, 53, 40000, &h, &an); /* a quoted reply */
	cr_assert_eq(h.kind, HINT_DNS);
	cr_assert_eq(an, 0);
	/* a header alone (the quote stops there) is DNS only on a DNS port */
	dissect_app_hint(p.b, 12, 40000, 53, &h, &an);
	str_is(&h, "dns");
	cr_assert_eq(an, an_bit(AN_DNS_TRUNCATED));
	an = 0;
	dissect_app_hint(p.b, 12, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	dissect_app_hint(p.b, p.n - 1, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE, "a question cut short names nothing off the DNS ports");
	cr_assert_eq(an, 0, "no dns.* anomaly for a payload not taken for DNS");
	dissect_app_hint(p.b, 11, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE, "11 bytes are not a DNS header");
	cr_assert_eq(h.syslog_pri, -1);
	cr_assert_eq(h.snmp_version, -1);
	cr_assert_eq(h.snmp_pdu, -1);
	str_is(&h, "");
	dissect_app_hint(p.b, 0, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	dissect_app_hint(NULL, 10, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	cr_assert_eq(an, 0);
}

Test(dissect_hint, dns_near_misses)
{
	struct pkt p;
	struct app_hint h;
	uint64_t an = 0;
	pk_init(&p);
	pk_dns_query(&p, 0x4142, "example.com", 1);
	struct pkt bad = p;
	pk_put16(&bad, 4, 0x4142); /* 16706 questions: absurd */
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	dissect_app_hint(bad.b, bad.n, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	bad = p;
	pk_put16(&bad, 6, 0xffff); /* 65535 answers cannot fit a datagram */
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	bad = p;
	pk_put16(&bad, 2, 0x0101); /* a query with a response code */
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	bad = p;
	pk_put16(&bad, 2, 0x3100); /* opcode 6 (DSO: TCP only) */
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	bad = p;
	pk_put16(&bad, 6, 1); /* a query with an answer: DNS on 53, nothing elsewhere */
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_DNS);
	dissect_app_hint(bad.b, bad.n, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	bad = p;
	pk_put16(&bad, bad.n - 2, 77); /* class 77 */
	dissect_app_hint(bad.b, bad.n, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	/* an empty message: nmap's server status request is DNS, twelve zero bytes are not */
	static const uint8_t status[12] = {0x00, 0x00, 0x10, 0x00};
	static const uint8_t zeros[12];
	dissect_app_hint(status, sizeof status, 61374, 53, &h, &an);
	str_is(&h, "dns");
	dissect_app_hint(zeros, sizeof zeros, 61374, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	cr_assert_eq(an, 0);
	bad = p;
	bad.b[12] = 0xc0; /* a pointer to itself: on 53 a DNS message with an anomaly */
	bad.b[13] = 12;
	dissect_app_hint(bad.b, bad.n, 40000, 53, &h, &an);
	cr_assert_eq(h.kind, HINT_DNS);
	cr_assert_eq(an, an_bit(AN_DNS_BAD_POINTER));
	an = 0;
	dissect_app_hint(bad.b, bad.n, 40000, 8053, &h, &an);
	cr_assert_eq(h.kind, HINT_NONE);
	cr_assert_eq(an, 0);
}

static void syslog_case(const char *payload, int want)
{
	struct app_hint h;
	dissect_app_hint((const uint8_t *)payload, strlen(payload), 5000, 514, &h, NULL);
	cr_assert_eq(h.syslog_pri, want, "%s", payload);
	cr_assert_eq(h.kind, want >= 0 ? HINT_SYSLOG : HINT_NONE, "%s", payload);
}

Test(dissect_hint, syslog)
{
	syslog_case("<13>Sep 12 19:16:12 host: test", 13);
	syslog_case("<0>x", 0);
	syslog_case("<191>1 2024-01-01T00:00:00Z h a - - - m", 191);
	syslog_case("<192>x", -1);
	syslog_case("<1234>x", -1);
	syslog_case("<>x", -1);
	syslog_case("<1x>", -1);
	syslog_case("13>x", -1);
	syslog_case("<13", -1);
	struct app_hint h;
	dissect_app_hint((const uint8_t *)"<13>", 4, 5000, 514, &h, NULL);
	str_is(&h, "syslog pri 13");
}

Test(dissect_hint, ntp)
{
	static const struct {
		uint8_t b;
		enum hint_kind kind;
		const char *text;
	} cases[] = {
	    {0x23, HINT_NTP, "ntp v4 client"},
	    {0x24, HINT_NTP, "ntp v4 server"},
	    {0x1c, HINT_NTP, "ntp v3 server"},
	    {0xe3, HINT_NTP, "ntp v4 client"},
	    {0x16, HINT_NTP, "ntp v2 control"},
	    {0x0f, HINT_NTP, "ntp v1 private"},
	    {0x21, HINT_NTP, "ntp v4 symmetric-active"},
	    {0x25, HINT_NTP, "ntp v4 broadcast"},
	    {0x03, HINT_NONE, ""},
	    {0x3b, HINT_NONE, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t pkt[48] = {cases[i].b};
		struct app_hint h;
		dissect_app_hint(pkt, sizeof pkt, 123, 123, &h, NULL);
		cr_assert_eq(h.kind, cases[i].kind, "%#x", cases[i].b);
		str_is(&h, cases[i].text);
	}
	uint8_t one = 0x23;
	struct app_hint h;
	dissect_app_hint(&one, 1, 40000, 123, &h, NULL);
	cr_assert_eq(h.ntp_version, 4);
	cr_assert_eq(h.ntp_mode, 3);
}

/* SNMP v1/v2c message with the given version, community "public" and PDU tag. */
static void snmp_msg(struct pkt *p, uint8_t version, uint8_t pdu_tag)
{
	static const uint8_t pdu_body[] = {0x02, 0x01, 0x2a, 0x02, 0x01, 0x00,
					   0x02, 0x01, 0x00, 0x30, 0x00};
	pk_init(p);
	pk_u8(p, 0x30);
	pk_u8(p, (uint8_t)(3 + 8 + 2 + sizeof pdu_body));
	pk_u8(p, 0x02);
	pk_u8(p, 0x01);
	pk_u8(p, version);
	pk_u8(p, 0x04);
	pk_u8(p, 6);
	pk_str(p, "public");
	pk_u8(p, pdu_tag);
	pk_u8(p, sizeof pdu_body);
	pk_bytes(p, pdu_body, sizeof pdu_body);
}

static void snmp_is(const struct pkt *p, size_t n, uint16_t dport, const char *want)
{
	struct app_hint h;
	dissect_app_hint(p->b, n, 40000, dport, &h, NULL);
	str_is(&h, want);
}

Test(dissect_hint, snmp_v1_v2c)
{
	struct pkt p;
	snmp_msg(&p, 0, 0xa0);
	snmp_is(&p, p.n, 161, "snmp v1 get-request");
	snmp_msg(&p, 1, 0xa0);
	snmp_is(&p, p.n, 161, "snmp v2c get-request");
	snmp_msg(&p, 1, 0xa1);
	snmp_is(&p, p.n, 161, "snmp v2c get-next-request");
	snmp_msg(&p, 1, 0xa2);
	snmp_is(&p, p.n, 161, "snmp v2c get-response");
	snmp_msg(&p, 1, 0xa5);
	snmp_is(&p, p.n, 161, "snmp v2c get-bulk-request");
	snmp_msg(&p, 0, 0xa4);
	snmp_is(&p, p.n, 162, "snmp v1 trap");
	snmp_msg(&p, 1, 0xa7);
	snmp_is(&p, p.n, 162, "snmp v2c snmpV2-trap");
	snmp_msg(&p, 1, 0xaa);
	snmp_is(&p, p.n, 161, "snmp v2c pdu 10");
	snmp_msg(&p, 2, 0xa0);
	snmp_is(&p, p.n, 161, "snmp get-request");
	/* cut inside the community: version only */
	snmp_msg(&p, 1, 0xa0);
	snmp_is(&p, 10, 161, "snmp v2c");
	snmp_is(&p, 4, 161, "");
	struct app_hint h;
	dissect_app_hint(p.b, 10, 40000, 161, &h, NULL);
	cr_assert_eq(h.kind, HINT_SNMP);
	cr_assert_eq(h.snmp_version, 1);
	cr_assert_eq(h.snmp_pdu, -1);
	/* long-form lengths */
	static const uint8_t longform[] = {0x30, 0x82, 0x00, 0x10, 0x02, 0x01, 0x01, 0x04,
					   0x81, 0x02, 'a',  'b',  0xa3, 0x81, 0x00};
	dissect_app_hint(longform, sizeof longform, 40000, 161, &h, NULL);
	str_is(&h, "snmp v2c set-request");
	/* not BER at all */
	static const uint8_t junk[] = {0x31, 0x02, 0x02, 0x01};
	dissect_app_hint(junk, sizeof junk, 40000, 161, &h, NULL);
	cr_assert_eq(h.kind, HINT_NONE);
	static const uint8_t too_long_len[] = {0x30, 0x85, 1, 2, 3, 4, 5, 0x02, 0x01, 0x01};
	dissect_app_hint(too_long_len, sizeof too_long_len, 40000, 161, &h, NULL);
	cr_assert_eq(h.kind, HINT_NONE);
}

Test(dissect_hint, snmp_v3_plain_and_encrypted)
{
	static const uint8_t plain[] = {
	    0x30, 0x3a, 0x02, 0x01, 0x03,					    /* version 3 */
	    0x30, 0x10, 0x02, 0x03, 0x00, 0xff, 0xe3, 0x02, 0x03, 0x00, 0xff, 0xe3, /* global */
	    0x04, 0x01, 0x04, 0x02, 0x01, 0x03, 0x04, 0x10, 0x30, 0x0e, 0x04, 0x00, 0x02,
	    0x01, 0x00, 0x02, 0x01, 0x00,					    /* USM */
	    0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x30, 0x11, 0x04, 0x00, 0x04, 0x00, /* scoped PDU */
	    0xa0, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00,
	};
	struct app_hint h;
	dissect_app_hint(plain, sizeof plain, 40000, 161, &h, NULL);
	cr_assert_eq(h.snmp_version, 3);
	cr_assert_eq(h.snmp_pdu, 0);
	str_is(&h, "snmp v3 get-request");
	uint8_t enc[sizeof plain];
	memcpy(enc, plain, sizeof enc);
	enc[41] = 0x04; /* msgData is an encrypted OCTET STRING */
	dissect_app_hint(enc, sizeof enc, 40000, 161, &h, NULL);
	cr_assert_eq(h.snmp_version, 3);
	cr_assert_eq(h.snmp_pdu, -1);
	str_is(&h, "snmp v3");
}

Test(dissect_hint, text_form_fits_small_buffers)
{
	struct pkt p;
	struct app_hint h;
	pk_init(&p);
	pk_dns_query(&p, 2, "example.com", 1);
	dissect_app_hint(p.b, p.n, 1, 53, &h, NULL);
	char buf[10];
	memset(buf, 'x', sizeof buf);
	app_hint_str(&h, buf, sizeof buf);
	cr_assert_str_eq(buf, "dns A exa");
	app_hint_str(&h, buf, 1);
	cr_assert_eq(buf[0], '\0');
	app_hint_str(&h, NULL, 0);
}

Test(dissect_misc, anomaly_names_are_stable_and_distinct)
{
	cr_assert_str_eq(anomaly_name(AN_CAPLEN_GT_LEN), "capture.caplen_gt_len");
	cr_assert_str_eq(anomaly_name(AN_IPV4_BAD_IHL), "ipv4.bad_ihl");
	cr_assert_str_eq(anomaly_name(AN_QUOTE_BAD_IHL), "quote.bad_ihl");
	cr_assert_str_eq(anomaly_name(AN_ICMP_BAD_RFC4884_LEN), "icmp.bad_rfc4884_length");
	cr_assert_str_eq(anomaly_name(AN_DNS_BAD_POINTER), "dns.bad_pointer");
	cr_assert_str_eq(anomaly_name(AN__COUNT), "unknown");
	cr_assert_str_eq(anomaly_name((enum anomaly) - 1), "unknown");
	for (int a = 0; a < AN__COUNT; a++) {
		cr_assert_str_neq(anomaly_name((enum anomaly)a), "unknown");
		cr_assert_not_null(strchr(anomaly_name((enum anomaly)a), '.'));
		for (int b = 0; b < a; b++)
			cr_assert_str_neq(anomaly_name((enum anomaly)a),
					  anomaly_name((enum anomaly)b));
	}
}

Test(dissect_misc, addresses)
{
	struct pm_addr a = {4, {192, 0, 2, 1}}, b = a, none = {0};
	char buf[46];
	pm_addr_str(&a, buf, sizeof buf);
	cr_assert_str_eq(buf, "192.0.2.1");
	b.b[10] = 99; /* bytes past an IPv4 address do not count */
	cr_assert(pm_addr_eq(&a, &b));
	b.b[3] = 2;
	cr_assert_not(pm_addr_eq(&a, &b));
	cr_assert_not(pm_addr_eq(&a, &none));
	cr_assert(pm_addr_eq(&none, &none));
	pm_addr_str(&none, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
	struct pm_addr v6 = {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	pm_addr_str(&v6, buf, sizeof buf);
	cr_assert_str_eq(buf, "2001:db8::1");
	pm_addr_str(&v6, buf, 5);
	cr_assert_str_eq(buf, "");
}
