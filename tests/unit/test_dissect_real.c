/* test_dissect_real.c - real frames from the public corpus: full decode, and every
 * truncation 0..caplen-1 placed against an unreadable guard page (a one-byte over-read
 * faults). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/build_packets.h"
#include "tests/unit/test_dissect_samples.h"

struct expect {
	enum pkt_kind kind;
	const char *src, *dst; /* the frame's (innermost) IP layer */
	uint8_t ttl;
	uint8_t n_encap;
	uint8_t type, code;    /* ICMP errors */
	uint16_t sport, dport; /* outer UDP ports, or the quoted ones for an ICMP error */
	uint16_t quote_len;
	const char *hint; /* of the quote, or of the outer UDP payload */
	uint64_t anomalies;
};

#define BIT(a) (UINT64_C(1) << (a))

/* In SAMPLES[] order. Values checked against tcpdump -vv on the same frames. */
static const struct expect EXPECT[] = {
    {PK_ICMP_UNREACH, "192.168.1.102", "192.168.1.1", 128, 0, 3, 3, 53, 59207, 148,
     "dns A secure.ed4.net", 0},
    {PK_UDP, "131.151.32.21", "131.151.1.59", 64, 0, 0, 0, 7001, 7000, 0, "", 0},
    {PK_ICMP_UNREACH, "131.151.32.21", "131.151.1.59", 255, 0, 3, 3, 7003, 1792, 440, "", 0},
    {PK_ICMP_UNREACH, "fe80::dead", "fe80::beef", 64, 0, 1, 0, 30000, 13000, 60, "", 0},
    {PK_OTHER, "192.168.203.3", "192.168.203.5", 64, 1, 0, 0, 0, 0, 0, "", 0},
    {PK_OTHER, "30.0.0.1", "30.0.0.2", 64, 1, 0, 0, 0, 0, 0, "", 0},
    {PK_UDP, "2001:db8::1", "2620:fe::9", 64, 0, 0, 0, 12345, 53, 0, "dns A example.com", 0},
    {PK_UDP, "10.0.0.20", "10.0.0.72", 64, 0, 0, 0, 47565, 514, 0, "syslog pri 5",
     BIT(AN_UDP_BAD_CHECKSUM)},
    {PK_UDP, "192.168.100.2", "192.168.100.1", 64, 0, 0, 0, 58054, 123, 0, "ntp v4 client",
     BIT(AN_UDP_BAD_CHECKSUM)},
    {PK_UDP, "127.0.0.1", "127.0.0.1", 64, 0, 0, 0, 54954, 53, 0, "dns SOA .",
     BIT(AN_IPV4_BAD_CHECKSUM) | BIT(AN_UDP_BAD_CHECKSUM)},
    {PK_UDP, "127.0.0.1", "127.0.0.1", 64, 0, 0, 0, 39646, 1812, 0, "radius access-request", 0},
    /* recorded packets in GTP-U (tests/tools/gtpu-wrap.py); values from tshark -V */
    {PK_UDP, "192.0.2.10", "192.0.2.53", 64, 1, 0, 0, 42797, 53, 0, "dns A www.example.com", 0},
    {PK_ICMP_UNREACH, "192.0.2.53", "192.0.2.10", 64, 1, 3, 3, 40079, 53, 62,
     "dns MX mail.example.org", 0},
    {PK_ICMP_UNREACH, "192.0.2.53", "192.0.2.10", 64, 1, 3, 3, 44248, 53, 61,
     "dns AAAA www.example.net", 0},
    {PK_ICMP_UNREACH, "2001:db8::53", "2001:db8::10", 64, 1, 1, 4, 59078, 53, 81,
     "dns A www.example.com", 0},
};

_Static_assert(sizeof EXPECT / sizeof EXPECT[0] == sizeof SAMPLES / sizeof SAMPLES[0],
	       "one expectation per sample");

static void hint_of(const struct dissection *d, char *buf, size_t n)
{
	if (d->kind == PK_ICMP_UNREACH || d->kind == PK_ICMP_TIME_EXCEEDED) {
		app_hint_str(&d->icmp.q.hint, buf, n);
		return;
	}
	struct app_hint h;
	dissect_app_hint(d->payload.p, d->payload.len, d->sport, d->dport, &h, NULL);
	app_hint_str(&h, buf, n);
}

static void check_full(const struct sample *s, const struct expect *e, const struct dissection *d)
{
	char hint[300];
	cr_assert_eq(d->kind, e->kind, "%s", s->name);
	cr_assert_eq(d->anomalies, e->anomalies, "%s: %#llx", s->name,
		     (unsigned long long)d->anomalies);
	cr_assert_str_eq(addr_txt(&d->src, 0), e->src, "%s", s->name);
	cr_assert_str_eq(addr_txt(&d->dst, 1), e->dst, "%s", s->name);
	cr_assert_eq(d->ttl, e->ttl, "%s", s->name);
	cr_assert_eq(d->n_encap, e->n_encap, "%s", s->name);
	if (e->kind == PK_UDP) {
		cr_assert_eq(d->sport, e->sport, "%s", s->name);
		cr_assert_eq(d->dport, e->dport, "%s", s->name);
	} else if (e->kind != PK_OTHER) {
		cr_assert_eq(d->icmp.type, e->type, "%s", s->name);
		cr_assert_eq(d->icmp.code, e->code, "%s", s->name);
		cr_assert(d->icmp.q.has_ports, "%s", s->name);
		cr_assert_eq(d->icmp.q.sport, e->sport, "%s", s->name);
		cr_assert_eq(d->icmp.q.dport, e->dport, "%s", s->name);
		cr_assert_eq(d->icmp.q.quote_len, e->quote_len, "%s", s->name);
		cr_assert(pm_addr_eq(&d->icmp.q.src, &d->dst), "%s: quote from the receiver",
			  s->name);
	}
	hint_of(d, hint, sizeof hint);
	cr_assert_str_eq(hint, e->hint, "%s", s->name);
}

static bool span_inside(struct pm_span sp, const uint8_t *buf, size_t len)
{
	if (sp.len == 0)
		return true;
	return sp.p >= buf && sp.len <= len && sp.p - buf <= (ptrdiff_t)(len - sp.len);
}

/* What a cut frame may say, compared with the whole one: less, never something else. */
static void check_prefix(const struct sample *s, size_t n, const uint8_t *buf,
			 const struct dissection *full, const struct dissection *d)
{
	cr_assert_eq(d->anomalies & (BIT(AN_CAPLEN_GT_LEN) | BIT(AN_LINK_UNSUPPORTED)), 0);
	cr_assert(span_inside(d->payload, buf, n), "%s n=%zu", s->name, n);
	cr_assert(span_inside(d->icmp.q.payload, buf, n), "%s n=%zu", s->name, n);
	cr_assert(d->kind == PK_OTHER || d->kind == PK_UDP || d->kind == full->kind, "%s n=%zu",
		  s->name, n);
	if (d->kind != full->kind || d->n_encap != full->n_encap)
		return;
	if (d->kind == PK_UDP && !pm_addr_eq(&d->src, &full->src)) {
		/* a UDP tunnel (GTP-U) was peeled but its inner IP header is cut: the frame is
		 * still the tunnel's own datagram (dissect.h), not a wrong inner one */
		cr_assert(d->anomalies & (BIT(AN_IPV4_TRUNCATED) | BIT(AN_IPV6_TRUNCATED)),
			  "%s n=%zu", s->name, n);
		return;
	}
	cr_assert(pm_addr_eq(&d->src, &full->src), "%s n=%zu", s->name, n);
	cr_assert(pm_addr_eq(&d->dst, &full->dst), "%s n=%zu", s->name, n);
	if (d->kind == PK_UDP) {
		cr_assert_eq(d->dport, full->dport);
		cr_assert_eq(d->sport, full->sport);
		cr_assert(d->payload.len <= full->payload.len);
	}
	if (d->kind == PK_ICMP_UNREACH || d->kind == PK_ICMP_TIME_EXCEEDED) {
		const struct quote *q = &d->icmp.q, *fq = &full->icmp.q;
		cr_assert_eq(d->icmp.code, full->icmp.code);
		if (!(d->anomalies & BIT(AN_ICMP_TRUNCATED)))
			cr_assert_eq(q->quote_len, fq->quote_len,
				     "%s n=%zu: declared, not captured", s->name, n);
		if (q->has_ports) {
			cr_assert_eq(q->sport, fq->sport, "%s n=%zu", s->name, n);
			cr_assert_eq(q->dport, fq->dport, "%s n=%zu", s->name, n);
		}
		if (q->dst.family)
			cr_assert(pm_addr_eq(&q->dst, &fq->dst), "%s n=%zu", s->name, n);
		cr_assert(q->hint.dns_qname_len <= fq->hint.dns_qname_len);
		cr_assert_eq(memcmp(q->hint.dns_qname, fq->hint.dns_qname, q->hint.dns_qname_len),
			     0);
	}
}

Test(dissect_real, samples_whole_and_every_truncation_against_a_guard_page)
{
	size_t page;
	uint8_t *m = guard_region(&page);
	cr_assert_not_null(m);
	uint8_t *end = m + page; /* first unreadable byte */
	for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
		const struct sample *s = &SAMPLES[i];
		cr_assert(s->caplen <= page);
		struct dissection full, again;
		memcpy(end - s->caplen, s->data, s->caplen);
		dissect_packet(s->linktype, end - s->caplen, s->caplen, s->wirelen, &full);
		check_full(s, &EXPECT[i], &full);
		dissect_packet(s->linktype, s->data, s->caplen, s->wirelen, &again);
		cr_assert_eq(again.kind, full.kind);
		cr_assert_eq(again.anomalies, full.anomalies, "stable across buffers");
		for (size_t n = 0; n < s->caplen; n++) {
			struct dissection d;
			uint8_t *buf = end - n;
			memcpy(buf, s->data, n);
			dissect_packet(s->linktype, buf, n, s->wirelen, &d);
			check_prefix(s, n, buf, &full, &d);
		}
	}
	guard_release(m, page);
}

Test(dissect_real, quote_of_every_length_against_a_guard_page)
{
	/* The zeek frame's quote, fed to dissect_quote at every length. */
	const struct sample *s = &SAMPLES[0];
	size_t page;
	uint8_t *m = guard_region(&page);
	cr_assert_not_null(m);
	const uint8_t *quote = s->data + 14 + 20 + 8;
	size_t qlen = s->caplen - 14 - 20 - 8;
	for (size_t n = 0; n <= qlen; n++) {
		struct icmp_error e;
		uint64_t an = 0;
		uint8_t *buf = m + page - n;
		memcpy(buf, quote, n);
		dissect_quote(buf, n, 4, 0, &e, &an);
		cr_assert_eq(e.q.has_ports, n >= 24);
		cr_assert_eq(e.q.hint.dns_has_question, n >= 28 + 12 + 16 + 4, "n=%zu", n);
		cr_assert(span_inside(e.q.payload, buf, n));
	}
	guard_release(m, page);
}
