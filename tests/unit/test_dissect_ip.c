/* test_dissect_ip.c - IPv4 (options, checksum, lengths, fragments), IPv6 extension headers
 * and fragments, UDP lengths and checksums. */
#include <criterion/criterion.h>
#include <string.h>

#include "dissectors/internal.h"
#include "tests/unit/build_packets.h"

static enum pkt_kind raw(const struct pkt *p, struct dissection *d)
{
	return dissect_packet(PM_LINKTYPE_RAW, p->b, p->n, p->n, d);
}

/* IPv4 with opt_len bytes of options carrying UDP 1111 -> 514 and a syslog line. */
static size_t syslog4(struct pkt *p, size_t opt_len)
{
	pk_init(p);
	size_t ip = pk_ipv4_opts(p, 17, "198.51.100.7", "198.51.100.9", 17, opt_len);
	size_t u = pk_udp(p, 1111, 514);
	pk_str(p, "<13>hello");
	pk_udp_fin(p, u, ip);
	pk_ipv4_fin(p, ip);
	return ip;
}

Test(dissect_ip, ipv4_options_are_skipped)
{
	static const size_t opts[] = {0, 4, 12, 40};
	for (size_t i = 0; i < 4; i++) {
		struct pkt p;
		struct dissection d;
		syslog4(&p, opts[i]);
		cr_assert_eq(raw(&p, &d), PK_UDP);
		cr_assert_eq(d.anomalies, 0, "opts %zu: %#llx", opts[i],
			     (unsigned long long)d.anomalies);
		cr_assert_eq(d.sport, 1111);
		cr_assert_eq(d.dport, 514);
		cr_assert_eq(d.ttl, 17);
		cr_assert_eq(d.ip_len, 20 + opts[i] + 8 + 9);
		cr_assert_eq(d.payload.len, 9);
		cr_assert_eq(memcmp(d.payload.p, "<13>hello", 9), 0);
	}
}

Test(dissect_ip, ipv4_options_cut)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 40);
	dissect_packet(PM_LINKTYPE_RAW, p.b, 30, p.n, &d);
	cr_assert_eq(d.kind, PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_TRUNCATED));
	cr_assert_eq(d.ip_version, 4, "fixed header is there: fields are kept");
	cr_assert_str_eq(addr_txt(&d.src, 0), "198.51.100.7");
	for (size_t n = 1; n < 20; n++) {
		dissect_packet(PM_LINKTYPE_RAW, p.b, n, p.n, &d);
		cr_assert_eq(d.anomalies, an_bit(AN_IPV4_TRUNCATED));
		cr_assert_eq(d.ip_version, 0);
	}
}

Test(dissect_ip, ipv4_bad_checksum_is_flagged_and_decoded)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 8);
	p.b[10] ^= 0x55;
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_BAD_CHECKSUM));
	cr_assert_eq(d.dport, 514);
}

/* The header checksum is summed only for the protocols dissected: a TCP datagram's is not
 * (the bulk of real traffic, never reported), so its bad checksum is not counted. */
Test(dissect_ip, ipv4_checksum_only_where_the_payload_is_dissected)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 8);
	p.b[9] = 6; /* TCP: the checksum no longer matches either */
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.ip_proto, 6);
}

Test(dissect_ip, ipv4_bad_ihl_and_total_length)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 0);
	p.b[0] = 0x43;
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies & an_bit(AN_IPV4_BAD_IHL), an_bit(AN_IPV4_BAD_IHL));
	cr_assert_eq(d.ip_version, 0);
	syslog4(&p, 0);
	pk_put16(&p, 2, 19);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert(d.anomalies & an_bit(AN_IPV4_BAD_TOTAL_LEN));
	/* total length 0 (segmentation offload): flagged, the captured bytes are used */
	syslog4(&p, 0);
	pk_put16(&p, 2, 0);
	pk_put16(&p, 10, 0);
	pk_ipv4_fin(&p, 0);
	pk_put16(&p, 2, 0);
	p.b[10] = 0;
	p.b[11] = 0;
	{
		/* recompute the header checksum over total length 0 */
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)p.b[i] << 8 | p.b[i + 1];
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		pk_put16(&p, 10, (uint16_t)~s);
	}
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_BAD_TOTAL_LEN));
	cr_assert_eq(d.payload.len, 9);
}

Test(dissect_ip, ipv4_total_length_narrows_away_trailer)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 0);
	pk_fill(&p, 0xee, 10); /* bytes beyond the datagram */
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.payload.len, 9);
}

Test(dissect_ip, ipv4_fragments)
{
	struct pkt p;
	struct dissection d;
	/* first fragment (MF, offset 0): ports are there, the UDP length covers later ones */
	pk_init(&p);
	size_t ip = pk_ipv4(&p, 17, "192.0.2.1", "192.0.2.2", 64);
	pk_be16(&p, 5353);
	pk_be16(&p, 53);
	pk_be16(&p, 3000);
	pk_be16(&p, 0x1111);
	pk_fill(&p, 0, 100);
	pk_ipv4_fin(&p, ip);
	pk_put16(&p, 6, 0x2000);
	pk_ipv4_fin(&p, ip);
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, 0, "%#llx", (unsigned long long)d.anomalies);
	cr_assert_eq(d.sport, 5353);
	cr_assert_eq(d.udp_len, 3000);
	cr_assert_eq(d.payload.len, 100);
	/* a later fragment: no ports may be taken from its first bytes */
	pk_put16(&p, 6, 0x2000 | 185);
	pk_ipv4_fin(&p, ip);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_FRAGMENT));
	cr_assert_eq(d.ip_version, 4);
	cr_assert_eq(d.ip_proto, 17);
	cr_assert_eq(d.sport, 0);
	cr_assert_eq(d.dport, 0);
	pk_put16(&p, 6, 185); /* last fragment */
	pk_ipv4_fin(&p, ip);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_FRAGMENT));
}

Test(dissect_ip, udp_length_checksum_and_cut)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 0);
	p.b[p.n - 1] ^= 1; /* payload changed after the checksum */
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_BAD_CHECKSUM));
	/* a zero checksum means none (IPv4) */
	syslog4(&p, 0);
	pk_put16(&p, 26, 0);
	p.b[p.n - 1] ^= 1;
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	/* UDP length larger than the IP payload */
	syslog4(&p, 0);
	pk_put16(&p, 24, 200);
	pk_put16(&p, 26, 0);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_BAD_LENGTH));
	cr_assert_eq(d.udp_len, 200);
	cr_assert_eq(d.payload.len, 9);
	/* UDP length below 8 */
	pk_put16(&p, 24, 5);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_BAD_LENGTH));
	cr_assert_eq(d.payload.len, 9);
	/* UDP length shorter than the IP payload: narrowed */
	pk_put16(&p, 24, 8 + 4);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.payload.len, 4);
	/* cut: ports need 4 bytes, the rest of the header 4 more */
	syslog4(&p, 0);
	dissect_packet(PM_LINKTYPE_RAW, p.b, 23, p.n, &d);
	cr_assert_eq(d.kind, PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_TRUNCATED));
	dissect_packet(PM_LINKTYPE_RAW, p.b, 26, p.n, &d);
	cr_assert_eq(d.kind, PK_UDP);
	cr_assert_eq(d.dport, 514);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_TRUNCATED));
	dissect_packet(PM_LINKTYPE_RAW, p.b, 30, p.n, &d);
	cr_assert_eq(d.anomalies, 0, "a snaplen cut in the payload is no anomaly");
	cr_assert_eq(d.payload.len, 2);
}

/* IPv6 2001:db8::a -> 2001:db8::b with the given extension headers, then UDP 7 -> 53. */
static void ext6(struct pkt *p, const uint8_t *exts, size_t n_ext)
{
	pk_init(p);
	size_t ip = pk_ipv6(p, n_ext ? exts[0] : 17, "2001:db8::a", "2001:db8::b", 255);
	for (size_t i = 0; i < n_ext; i++) {
		uint8_t next = i + 1 < n_ext ? exts[i + 1] : 17;
		if (exts[i] == 44) {
			pk_ipv6_frag(p, next, 0, 0, 0xabcd);
		} else if (exts[i] == 51) {
			pk_u8(p, next);
			pk_u8(p, 4); /* (4 + 2) * 4 = 24 bytes */
			pk_fill(p, 0, 22);
		} else {
			pk_ipv6_ext(p, next);
		}
	}
	size_t u = pk_udp(p, 7, 53);
	pk_str(p, "abcdefghijkl");
	pk_udp_fin(p, u, ip);
	pk_ipv6_fin(p, ip);
}

Test(dissect_ip, ipv6_extension_headers)
{
	static const uint8_t chain[] = {0, 60, 43, 44, 51, 60};
	for (size_t n = 0; n <= sizeof chain; n++) {
		struct pkt p;
		struct dissection d;
		ext6(&p, chain, n);
		cr_assert_eq(raw(&p, &d), PK_UDP, "n=%zu", n);
		cr_assert_eq(d.anomalies, 0, "n=%zu: %#llx", n, (unsigned long long)d.anomalies);
		cr_assert_eq(d.ip_proto, 17);
		cr_assert_eq(d.ttl, 255);
		cr_assert_eq(d.dport, 53);
		cr_assert_eq(d.udp_len, 20);
		cr_assert_eq(d.payload.len, 12);
	}
}

Test(dissect_ip, ipv6_extension_cap_cut_and_lie)
{
	static const uint8_t nine[] = {0, 60, 60, 60, 60, 60, 60, 60, 60};
	struct pkt p;
	struct dissection d;
	ext6(&p, nine, 8);
	cr_assert_eq(raw(&p, &d), PK_UDP);
	ext6(&p, nine, 9);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_EXT_TOO_MANY));
	cr_assert_eq(d.ip_version, 6);
	/* capture cut inside an extension header */
	ext6(&p, nine, 2);
	dissect_packet(PM_LINKTYPE_RAW, p.b, 50, p.n, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_TRUNCATED));
	cr_assert_eq(d.kind, PK_OTHER);
	/* payload length ends inside an extension header: malformed, not cut */
	pk_put16(&p, 4, 10);
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_BAD_EXT));
	/* no next header */
	ext6(&p, nine, 1);
	p.b[40] = 59;
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.ip_proto, 59);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_ip, ipv6_fragments)
{
	static const uint8_t frag[] = {44};
	struct pkt p;
	struct dissection d;
	ext6(&p, frag, 1);
	pk_put16(&p, 42, 0x0001); /* offset 0, more fragments */
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.sport, 7);
	pk_put16(&p, 42, 0x0050); /* offset 80: no transport header here */
	cr_assert_eq(raw(&p, &d), PK_OTHER);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_FRAGMENT));
	cr_assert_eq(d.ip_proto, 17);
	cr_assert_eq(d.sport, 0);
}

Test(dissect_ip, ipv6_udp_checksum_and_truncated_header)
{
	struct pkt p;
	struct dissection d;
	ext6(&p, NULL, 0);
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	p.b[p.n - 2] ^= 0x40;
	raw(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_BAD_CHECKSUM));
	for (size_t n = 1; n < 40; n++) {
		dissect_packet(PM_LINKTYPE_IPV6, p.b, n, p.n, &d);
		cr_assert_eq(d.anomalies, an_bit(AN_IPV6_TRUNCATED));
		cr_assert_eq(d.ip_version, 0);
	}
}

Test(dissect_ip, length_beyond_the_wire_is_malformed_not_a_snaplen_cut)
{
	struct pkt p;
	struct dissection d;
	syslog4(&p, 0);
	pk_put16(&p, 2, 200); /* claims 200 bytes; the frame had 37 on the wire */
	pk_put16(&p, 10, 0);
	{
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)p.b[i] << 8 | p.b[i + 1];
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		pk_put16(&p, 10, (uint16_t)~s);
	}
	cr_assert_eq(raw(&p, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV4_BAD_TOTAL_LEN));
	cr_assert_eq(d.ip_len, 200, "the declared value is reported");
	/* the same bytes cut by a snaplen from a 200-byte frame: no anomaly */
	dissect_packet(PM_LINKTYPE_RAW, p.b, p.n, 200, &d);
	cr_assert_eq(d.anomalies, 0);
	struct pkt p6;
	pk_init(&p6);
	size_t ip = pk_ipv6(&p6, 17, "2001:db8::a", "2001:db8::b", 1);
	size_t u = pk_udp(&p6, 1, 2);
	pk_udp_fin(&p6, u, ip);
	pk_ipv6_fin(&p6, ip);
	pk_put16(&p6, 4, 100);
	cr_assert_eq(raw(&p6, &d), PK_UDP);
	cr_assert_eq(d.anomalies, an_bit(AN_IPV6_BAD_PAYLOAD_LEN));
	dissect_packet(PM_LINKTYPE_RAW, p6.b, p6.n, 140, &d);
	cr_assert_eq(d.anomalies, 0);
}

Test(dissect_ip, ipv6_routing_or_dest_options_leave_checksums_unverified)
{
	/* RFC 8200 §8.1: with a routing header the pseudo header holds the final destination;
	 * a home address option (RFC 6275) replaces the source. Not guessed: not verified. */
	static const uint8_t routing[] = {43}, dstopt[] = {60}, hbh[] = {0};
	struct pkt p;
	struct dissection d;
	ext6(&p, routing, 1);
	p.b[p.n - 1] ^= 1;
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	ext6(&p, dstopt, 1);
	p.b[p.n - 1] ^= 1;
	raw(&p, &d);
	cr_assert_eq(d.anomalies, 0);
	ext6(&p, hbh, 1);
	p.b[p.n - 1] ^= 1;
	raw(&p, &d);
	cr_assert_eq(d.anomalies, an_bit(AN_UDP_BAD_CHECKSUM));
}

/* RFC 1071 as written: big-endian 16-bit words one at a time, an odd byte padded. */
static uint64_t cksum_reference(uint64_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint64_t)p[i] << 8 | p[i + 1];
	if (n % 2)
		sum += (uint64_t)p[n - 1] << 8;
	return sum;
}

/* cksum_add() sums eight bytes at a time in host order: whatever the bytes, their length
 * and where they start, cksum_ok() says of it what it says of the word-by-word sum, from
 * any starting sum (a pseudo header's), and the folded values agree. */
Test(dissect_ip, checksum_eight_bytes_at_a_time_agrees_with_rfc_1071)
{
	static uint8_t buf[1600];
	srand(1071);
	for (int n = 0; n < 100000; n++) {
		size_t len = (size_t)rand() % 1500, at = (size_t)rand() % 8;
		int fill = rand() % 4;
		for (size_t i = 0; i < len; i++)
			buf[at + i] = fill == 0 ? 0 : fill == 1 ? 0xff : (uint8_t)rand();
		uint64_t start = rand() % 3 == 0 ? 0 : (uint64_t)rand() % 0x40000;
		uint64_t ref = cksum_reference(start, buf + at, len);
		uint64_t got = cksum_add(start, cur_make(buf + at, len));
		cr_assert_eq(cksum_ok(got), cksum_ok(ref), "length %zu at +%zu", len, at);
		uint64_t fr = ref, fg = got;
		while (fr >> 16)
			fr = (fr & 0xffff) + (fr >> 16);
		while (fg >> 16)
			fg = (fg & 0xffff) + (fg >> 16);
		cr_assert_eq(fg, fr, "length %zu at +%zu: folded %#llx, RFC 1071 %#llx", len, at,
			     (unsigned long long)fg, (unsigned long long)fr);
		/* a message made right by its own checksum field checks */
		if (len >= 4 && len % 2 == 0) {
			buf[at] = buf[at + 1] = 0;
			uint64_t s = cksum_reference(0, buf + at, len);
			while (s >> 16)
				s = (s & 0xffff) + (s >> 16);
			uint16_t field = (uint16_t)~s;
			buf[at] = (uint8_t)(field >> 8), buf[at + 1] = (uint8_t)field;
			cr_assert(cksum_ok(cksum_add(0, cur_make(buf + at, len))), "length %zu",
				  len);
		}
	}
}
