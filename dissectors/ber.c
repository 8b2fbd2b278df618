/* ber.c - ASN.1 BER elements (ITU-T X.690 §8.1): what SNMP and CLDAP messages are made of. */
#include "dissectors/internal.h"

/* A tag and a definite length: short form, or long form of at most 4 bytes (the indefinite
 * form, 0x80, is refused: SNMP and LDAP use definite lengths only). */
bool ber_tl(struct cursor *c, uint8_t *tag, size_t *len)
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

/* Enters a constructed element: c is narrowed to its contents (those present). */
bool ber_enter(struct cursor *c, uint8_t want)
{
	uint8_t tag;
	size_t len;
	if (!ber_tl(c, &tag, &len) || tag != want)
		return false;
	cur_limit(c, len);
	return true;
}

/* Skips a whole element with tag want; false when it is not all there. */
bool ber_skip(struct cursor *c, uint8_t want)
{
	uint8_t tag;
	size_t len;
	if (!ber_tl(c, &tag, &len) || tag != want)
		return false;
	cur_skip(c, len);
	return !c->err;
}

bool ber_int(struct cursor *c, long *out)
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
