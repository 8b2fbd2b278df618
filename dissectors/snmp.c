/* snmp.c - SNMP version and PDU type from BER (RFC 1157, RFC 3416, RFC 3412). */
#include "dissectors/internal.h"

#define BER_INTEGER 0x02
#define BER_OCTET_STRING 0x04
#define BER_SEQUENCE 0x30

/* A tag and a definite length (short form, or long form of at most 4 bytes). */
static bool ber_tl(struct cursor *c, uint8_t *tag, size_t *len)
{
	*tag = cur_u8(c);
	uint8_t l = cur_u8(c);
	size_t v = l;
	if (l & 0x80) {
		unsigned n = l & 0x7f;
		if (n == 0 || n > 4)
			return false;
		v = 0;
		for (unsigned i = 0; i < n; i++)
			v = v << 8 | cur_u8(c);
	}
	*len = v;
	return !c->err;
}

/* Enters a constructed element: c is narrowed to its contents. */
static bool ber_enter(struct cursor *c, uint8_t want)
{
	uint8_t tag;
	size_t len;
	if (!ber_tl(c, &tag, &len) || tag != want)
		return false;
	cur_limit(c, len);
	return true;
}

/* Skips a whole element with tag want; false when it is not all there. */
static bool ber_skip(struct cursor *c, uint8_t want)
{
	uint8_t tag;
	size_t len;
	if (!ber_tl(c, &tag, &len) || tag != want)
		return false;
	cur_skip(c, len);
	return !c->err;
}

static bool ber_int(struct cursor *c, long *out)
{
	uint8_t tag;
	size_t len;
	if (!ber_tl(c, &tag, &len) || tag != BER_INTEGER || len < 1 || len > 4)
		return false;
	uint8_t first = cur_u8(c);
	long v = (first & 0x80) ? (long)first - 256 : (long)first;
	for (size_t i = 1; i < len; i++)
		v = v * 256 + cur_u8(c);
	*out = v;
	return !c->err;
}

/* A PDU is a context-specific constructed tag [0]..[30]. */
static void snmp_pdu_tag(struct cursor *c, struct app_hint *h)
{
	uint8_t tag = cur_u8(c);
	if (!c->err && (tag & 0xe0) == 0xa0 && (tag & 0x1f) != 0x1f)
		h->snmp_pdu = tag & 0x1f;
}

/* v3: msgGlobalData, msgSecurityParameters, then a plaintext ScopedPDU (an encrypted one
 * is an OCTET STRING: no PDU type to see). */
static void snmp_v3(struct cursor *c, struct app_hint *h)
{
	if (!ber_skip(c, BER_SEQUENCE) || !ber_skip(c, BER_OCTET_STRING))
		return;
	if (!ber_enter(c, BER_SEQUENCE))
		return;
	if (!ber_skip(c, BER_OCTET_STRING) || !ber_skip(c, BER_OCTET_STRING))
		return;
	snmp_pdu_tag(c, h);
}

/* HINT_SNMP once the message SEQUENCE and its version INTEGER are read; the PDU type when
 * the bytes before it (community, v3 headers) are all there. */
void snmp_hint(struct cursor c, struct app_hint *h, uint64_t *an)
{
	long v;
	if (!ber_enter(&c, BER_SEQUENCE) || !ber_int(&c, &v))
		return;
	h->kind = HINT_SNMP;
	h->snmp_version = (v == 0 || v == 1 || v == 3) ? (int)v : -1;
	if (v == 3)
		snmp_v3(&c, h);
	else if (ber_skip(&c, BER_OCTET_STRING))
		snmp_pdu_tag(&c, h);
}

static const char *const SNMP_PDUS[] = {
	"get-request",	  "get-next-request", "get-response", "set-request",  "trap",
	"get-bulk-request", "inform-request",	"snmpV2-trap",	"report",
};

/* Name of a PDU tag number, NULL when unknown. */
const char *snmp_pdu_name(int pdu)
{
	if (pdu < 0 || (size_t)pdu >= sizeof SNMP_PDUS / sizeof SNMP_PDUS[0])
		return NULL;
	return SNMP_PDUS[pdu];
}
