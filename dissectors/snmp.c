/* snmp.c - SNMP version and PDU type from BER (RFC 1157, RFC 3416, RFC 3412). */
#include <stdio.h>

#include "dissectors/internal.h"

/* A PDU is a context-specific constructed tag [0]..[30]; -1 when the byte is not one. */
static int snmp_pdu_tag(struct cursor *c)
{
	uint8_t tag = cur_u8(c);
	if (!c->err && (tag & 0xe0) == 0xa0 && (tag & 0x1f) != 0x1f)
		return tag & 0x1f;
	return -1;
}

/* v3: msgGlobalData, msgSecurityParameters, then a plaintext ScopedPDU (an encrypted one
 * is an OCTET STRING: no PDU type to see). */
static int snmp_v3_pdu(struct cursor *c)
{
	if (!ber_skip(c, BER_SEQUENCE) || !ber_skip(c, BER_OCTET_STRING))
		return -1;
	if (!ber_enter(c, BER_SEQUENCE))
		return -1;
	if (!ber_skip(c, BER_OCTET_STRING) || !ber_skip(c, BER_OCTET_STRING))
		return -1;
	return snmp_pdu_tag(c);
}

/* The message SEQUENCE and its version INTEGER; *pdu the PDU tag number when the bytes
 * before it (community, v3 headers) are all there, else -1. */
static bool snmp_decode(struct cursor c, long *version, int *pdu)
{
	*pdu = -1;
	if (!ber_enter(&c, BER_SEQUENCE) || !ber_int(&c, version))
		return false;
	if (*version == 3)
		*pdu = snmp_v3_pdu(&c);
	else if (ber_skip(&c, BER_OCTET_STRING))
		*pdu = snmp_pdu_tag(&c);
	return true;
}

static void snmp_fill(struct app_hint *h, long version, int pdu)
{
	h->kind = HINT_SNMP;
	h->snmp_version = (version == 0 || version == 1 || version == 3) ? (int)version : -1;
	h->snmp_pdu = pdu;
}

/* On 161/162: SNMP once the message SEQUENCE and its version INTEGER are read (any version:
 * the historic v2u/v2* used 2); the PDU type when its bytes are there. */
bool snmp_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	long v;
	int pdu;
	if (!snmp_decode(in->c, &v, &pdu))
		return false;
	snmp_fill(h, v, pdu);
	return true;
}

/* On any port: a version that exists (1, 2c, 3) and a PDU type that has a name, so the whole
 * header is there; an LDAP message (also a SEQUENCE and an INTEGER) fails at the community. */
bool snmp_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	long v;
	int pdu;
	if (!snmp_decode(in->c, &v, &pdu) || (v != 0 && v != 1 && v != 3) || !snmp_pdu_name(pdu))
		return false;
	snmp_fill(h, v, pdu);
	return true;
}

static const char *const SNMP_PDUS[] = {
    "get-request",	"get-next-request", "get-response", "set-request", "trap",
    "get-bulk-request", "inform-request",   "snmpV2-trap",  "report",
};

/* Name of a PDU tag number, NULL when unknown. */
const char *snmp_pdu_name(int pdu)
{
	if (pdu < 0 || (size_t)pdu >= sizeof SNMP_PDUS / sizeof SNMP_PDUS[0])
		return NULL;
	return SNMP_PDUS[pdu];
}

void snmp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const VERSIONS[] = {" v1", " v2c", "", " v3"};
	const char *v =
	    h->snmp_version >= 0 && h->snmp_version <= 3 ? VERSIONS[h->snmp_version] : "";
	const char *pdu = snmp_pdu_name(h->snmp_pdu);
	if (pdu)
		snprintf(buf, buf_len, "snmp%s %s", v, pdu);
	else if (h->snmp_pdu >= 0)
		snprintf(buf, buf_len, "snmp%s pdu %d", v, h->snmp_pdu);
	else
		snprintf(buf, buf_len, "snmp%s", v);
}
