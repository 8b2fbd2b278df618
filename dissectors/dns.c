/* dns.c - DNS header and first question (RFC 1035 §4.1), names decoded within bounds; what
 * makes a payload DNS on its own ports and on any other. */
#include <stdio.h>

#include "dissectors/internal.h"

#define DNS_HDR_LEN 12
/* Each label adds at least 2 wire bytes to a name of at most 255: 127 labels, plus jumps. */
#define DNS_STEPS_MAX (128 + PM_DNS_JUMPS_MAX)

static int dns_fail(uint64_t *an, enum anomaly a, int rc)
{
	an_set(an, a);
	return rc;
}

/* Appends a label of n bytes (raw) to h's qname; false when the message ends inside it
 * (the bytes that are there are kept). The caller's 255-byte wire check keeps the text
 * within 253 bytes, so it fits dns_qname. */
static bool dns_append(struct cursor *r, uint8_t n, struct app_hint *h)
{
	size_t at = h->dns_qname_len;
	size_t take = n <= r->left ? n : r->left;
	if (at && take)
		h->dns_qname[at++] = '.';
	cur_copy(r, h->dns_qname + at, take);
	at += take;
	h->dns_qname[at] = '\0';
	h->dns_qname_len = (uint16_t)at;
	return take == n;
}

/* A pointer may only go to a name that starts before the segment being read and after the
 * header: strictly backwards, so no loop and no self reference; jumps are capped too. */
static bool dns_pointer_ok(size_t target, size_t seg, unsigned jumps)
{
	return target >= DNS_HDR_LEN && target < seg && jumps <= PM_DNS_JUMPS_MAX;
}

int dns_name_decode(const uint8_t *msg, size_t msg_len, size_t off, struct app_hint *h,
		    size_t *end_off, uint64_t *an)
{
	struct cursor r = cur_make(msg, msg_len);
	cur_skip(&r, off);
	size_t seg = off, wire = 0;
	unsigned jumps = 0;
	bool jumped = false;
	h->dns_qname_len = 0;
	h->dns_qname[0] = '\0';
	for (unsigned step = 0; step < DNS_STEPS_MAX; step++) {
		size_t pos = msg_len - r.left;
		uint8_t b = cur_u8(&r);
		if (r.err)
			return dns_fail(an, AN_DNS_TRUNCATED, -1);
		if (b == 0) {
			*end_off = jumped ? *end_off : pos + 1;
			return 0;
		}
		if ((b & 0xc0) == 0xc0) {
			size_t target = (size_t)(b & 0x3f) << 8 | cur_u8(&r);
			if (r.err)
				return dns_fail(an, AN_DNS_TRUNCATED, -1);
			if (!dns_pointer_ok(target, seg, ++jumps))
				return dns_fail(an, AN_DNS_BAD_POINTER, -2);
			*end_off = jumped ? *end_off : pos + 2;
			jumped = true;
			r = cur_make(msg, msg_len);
			cur_skip(&r, target);
			seg = target;
			continue;
		}
		if (b & 0xc0) /* 0x40, 0x80: extended label types (RFC 6891 §5), not names */
			return dns_fail(an, AN_DNS_BAD_LABEL, -2);
		if (wire + b + 2 > PM_DNS_NAME_MAX) /* this label, and the root label after it */
			return dns_fail(an, AN_DNS_NAME_TOO_LONG, -2);
		if (!dns_append(&r, b, h))
			return dns_fail(an, AN_DNS_TRUNCATED, -1);
		wire += (size_t)b + 1;
	}
	return dns_fail(an, AN_DNS_NAME_TOO_LONG, -2);
}

/*
 * Resets *out to a DNS hint and decodes the header and the first question of data[0..len).
 * Returns 0 (dns_has_question when there is a whole question), -1 when the message ends
 * early (dns.truncated; what was decoded stays, including a partial name), -2 when it is
 * malformed (dns.bad_label, dns.name_too_long, dns.bad_pointer; the name so far stays).
 */
int dissect_dns(const uint8_t *data, size_t len, struct app_hint *out, uint64_t *anomalies)
{
	uint64_t ignored = 0;
	uint64_t *an = anomalies ? anomalies : &ignored;
	hint_reset(out);
	out->kind = HINT_DNS;
	struct cursor c = cur_make(data, len);
	out->dns_id = cur_be16(&c);
	out->dns_flags = cur_be16(&c);
	uint16_t qdcount = cur_be16(&c);
	cur_skip(&c, 6);
	if (c.err)
		return dns_fail(an, AN_DNS_TRUNCATED, -1);
	if (qdcount == 0)
		return 0;
	size_t end = 0;
	int rc = dns_name_decode(data, len, DNS_HDR_LEN, out, &end, an);
	if (rc)
		return rc;
	c = cur_make(data, len);
	cur_skip(&c, end);
	out->dns_qtype = cur_be16(&c);
	out->dns_qclass = cur_be16(&c);
	if (c.err)
		return dns_fail(an, AN_DNS_TRUNCATED, -1);
	out->dns_has_question = true;
	return 0;
}

static const struct {
	uint16_t qtype;
	const char *name;
} DNS_QTYPES[] = {
    {1, "A"},		{2, "NS"},	{5, "CNAME"},	{6, "SOA"},	  {12, "PTR"},
    {13, "HINFO"},	{15, "MX"},	{16, "TXT"},	{17, "RP"},	  {18, "AFSDB"},
    {24, "SIG"},	{25, "KEY"},	{28, "AAAA"},	{29, "LOC"},	  {33, "SRV"},
    {35, "NAPTR"},	{36, "KX"},	{37, "CERT"},	{39, "DNAME"},	  {41, "OPT"},
    {42, "APL"},	{43, "DS"},	{44, "SSHFP"},	{45, "IPSECKEY"}, {46, "RRSIG"},
    {47, "NSEC"},	{48, "DNSKEY"}, {49, "DHCID"},	{50, "NSEC3"},	  {51, "NSEC3PARAM"},
    {52, "TLSA"},	{53, "SMIMEA"}, {55, "HIP"},	{59, "CDS"},	  {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"},	{63, "ZONEMD"}, {64, "SVCB"},	  {65, "HTTPS"},
    {99, "SPF"},	{249, "TKEY"},	{250, "TSIG"},	{251, "IXFR"},	  {252, "AXFR"},
    {255, "ANY"},	{256, "URI"},	{257, "CAA"},
};

/* Mnemonic of a QTYPE (IANA DNS parameters); NULL for others, which print as "TYPEnn"
 * (RFC 3597 §5). */
const char *dns_qtype_name(uint16_t qtype)
{
	for (size_t i = 0; i < sizeof DNS_QTYPES / sizeof DNS_QTYPES[0]; i++)
		if (DNS_QTYPES[i].qtype == qtype)
			return DNS_QTYPES[i].name;
	return NULL;
}

/* ---- recognising DNS ---- */

#define DNS_QDCOUNT_MAX 64 /* mDNS queries ask several questions at once; never this many */
#define DNS_UDP_MAX 65535
#define DNS_OPCODE_STATUS 2

struct dns_hdr {
	uint16_t flags, qd, an, ns, ar;
};

/* Opcodes a DNS datagram carries: QUERY, STATUS, NOTIFY (RFC 1996), UPDATE (RFC 2136).
 * IQUERY is obsolete (RFC 3425), DSO is TCP only (RFC 8490). */
static bool dns_opcode_ok(uint8_t opcode)
{
	return opcode == 0 || opcode == 2 || opcode == 4 || opcode == 5;
}

/*
 * A header that could start a DNS message: all 12 bytes, a known opcode, no response code in
 * a query, at most DNS_QDCOUNT_MAX questions, something in it (a question or a record; only a
 * STATUS request, as nmap sends, may be empty: twelve zero bytes are not a message), and no
 * more records than the datagram could hold (a question takes at least 5 bytes, a record 11).
 */
static bool dns_header_sane(const struct app_in *in, struct dns_hdr *hd)
{
	struct cursor c = in->c;
	cur_skip(&c, 2);
	hd->flags = cur_be16(&c);
	hd->qd = cur_be16(&c);
	hd->an = cur_be16(&c);
	hd->ns = cur_be16(&c);
	hd->ar = cur_be16(&c);
	uint8_t opcode = hd->flags >> 11 & 0xf;
	if (c.err || !dns_opcode_ok(opcode) || hd->qd > DNS_QDCOUNT_MAX)
		return false;
	if (!(hd->flags & 0x8000) && (hd->flags & 0xf))
		return false;
	size_t records = (size_t)hd->an + hd->ns + hd->ar;
	if (hd->qd == 0 && records == 0 && opcode != DNS_OPCODE_STATUS)
		return false;
	size_t least = DNS_HDR_LEN + (size_t)hd->qd * 5 + records * 11;
	return least <= DNS_UDP_MAX && (in->wire_len == PM_LEN_UNKNOWN || least <= in->wire_len);
}

/* On 53, 5353, 5355: a sane header; what follows is decoded as far as it goes, and its
 * problems are anomalies of a DNS message (dns.truncated, dns.bad_pointer, ...). */
bool dns_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct dns_hdr hd;
	if (!dns_header_sane(in, &hd))
		return false;
	dissect_dns(in->c.p, in->c.left, h, an);
	return true;
}

static bool dns_qclass_ok(uint16_t qclass)
{
	qclass &= 0x7fff; /* mDNS: the top bit asks for a unicast response (RFC 6762 §5.4) */
	return qclass == 1 || qclass == 3 || qclass == 4 || qclass == 254 || qclass == 255;
}

/*
 * On any port: a sane header with one question, a query without answer or authority records
 * (UPDATE excepted: its prerequisites and updates use those counts), and that question whole
 * and well formed, with a type and a known class. Anything less is not claimed.
 */
bool dns_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct dns_hdr hd;
	if (!dns_header_sane(in, &hd) || hd.qd != 1)
		return false;
	bool query = !(hd.flags & 0x8000), update = (hd.flags >> 11 & 0xf) == 5;
	if (query && !update && (hd.an || hd.ns || hd.ar > 2))
		return false;
	struct app_hint t;
	uint64_t t_an = 0;
	if (dissect_dns(in->c.p, in->c.left, &t, &t_an) != 0 || !t.dns_has_question)
		return false;
	if (t.dns_qtype == 0 || !dns_qclass_ok(t.dns_qclass))
		return false;
	*h = t;
	return true;
}

void dns_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (!h->dns_has_question) {
		if (h->dns_qname_len)
			snprintf(buf, buf_len, "dns ? %s", (const char *)h->dns_qname);
		else
			snprintf(buf, buf_len, "dns");
		return;
	}
	const char *name = h->dns_qname_len ? (const char *)h->dns_qname : ".";
	const char *type = dns_qtype_name(h->dns_qtype);
	if (type)
		snprintf(buf, buf_len, "dns %s %s", type, name);
	else
		snprintf(buf, buf_len, "dns TYPE%u %s", (unsigned)h->dns_qtype, name);
}
