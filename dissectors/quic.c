/* quic.c - QUIC long headers (RFC 8999 invariants, RFC 9000 §17.2, QUIC v2 RFC 9369) and
 * Google QUIC's versions; short headers carry no version and are never claimed. */
#include <stdio.h>

#include "dissectors/internal.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu
#define QUIC_CID_MAX 20	    /* RFC 9000 §17.2: v1 connection IDs are at most 20 bytes */
#define QUIC_VN_LIST_MAX 16 /* versions looked at in a version negotiation packet */

static bool is_digit(uint32_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* Google QUIC "Q0xx" (Q046 and later use the long header too). */
static bool gquic_version(uint32_t v)
{
	return (v >> 16) == 0x5130 && is_digit(v >> 8 & 0xff) && is_digit(v & 0xff);
}

/* Versions with a registration or a public specification: v1, v2, the IETF drafts
 * (0xff0000xx), Facebook's mvfst (0xfaceb0xx), Google's Q0xx. */
static bool quic_version_known(uint32_t v)
{
	return v == QUIC_V1 || v == QUIC_V2 || (v & 0xffffff00u) == 0xff000000u ||
	       (v & 0xffffff00u) == 0xfaceb000u || gquic_version(v);
}

/* Reserved versions that endpoints list to exercise negotiation (RFC 9000 §15). */
static bool quic_version_greased(uint32_t v)
{
	return (v & 0x0f0f0f0fu) == 0x0a0a0a0au;
}

/* Both connection IDs with their lengths, all present. */
static bool quic_cids(struct cursor *c)
{
	uint8_t dcil = cur_u8(c);
	cur_skip(c, dcil);
	uint8_t scil = cur_u8(c);
	cur_skip(c, scil);
	return !c->err && dcil <= QUIC_CID_MAX && scil <= QUIC_CID_MAX;
}

/* Version negotiation (version 0): a list of whole versions, each registered or greased, at
 * least one registered, filling the datagram when its length is known. */
static bool quic_vn_list(const struct app_in *in, struct cursor c)
{
	size_t consumed = in->c.left - c.left;
	if (in->wire_len != PM_LEN_UNKNOWN && (in->wire_len - consumed) % 4)
		return false;
	bool known = false;
	for (unsigned i = 0; i < QUIC_VN_LIST_MAX && cur_has(&c, 4); i++) {
		uint32_t v = cur_be32(&c);
		if (!quic_version_known(v) && !quic_version_greased(v))
			return false;
		known = known || quic_version_known(v);
	}
	return known;
}

/* Legacy Google QUIC (Q043 and before): public flags with the version bit and an 8-byte
 * connection ID, then the version at offset 9. */
static bool gquic_legacy(struct cursor c, uint32_t *version)
{
	uint8_t flags = cur_u8(&c);
	cur_skip(&c, 8);
	*version = cur_be32(&c);
	return !c.err && (flags & 0x89) == 0x09 && gquic_version(*version);
}

static bool quic_fill(struct app_hint *h, uint16_t type, uint32_t version)
{
	h->kind = HINT_QUIC;
	h->app_code = type;
	h->app_value = version;
	return true;
}

/*
 * A long header (form bit set) with a registered version and the fixed bit, and both
 * connection IDs present within the v1 limit; or a version negotiation packet; or Google
 * QUIC: a long header with "Q0xx" (Q046 packs both ID lengths in one byte, so they are not
 * checked: the version is signature enough), or a legacy header. app_value = version;
 * app_code = the long packet type bits, or 0xff for a legacy Google QUIC packet.
 */
bool quic_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t b0 = cur_u8(&c);
	uint32_t version = cur_be32(&c);
	if (c.err)
		return false;
	if (!(b0 & 0x80))
		return gquic_legacy(in->c, &version) && quic_fill(h, 0xff, version);
	if (gquic_version(version))
		return (b0 & 0x40) && quic_fill(h, b0 >> 4 & 3, version);
	if (!quic_cids(&c))
		return false;
	if (version == 0)
		return quic_vn_list(in, c) && quic_fill(h, 0, 0);
	if (!(b0 & 0x40) || !quic_version_known(version))
		return false;
	return quic_fill(h, b0 >> 4 & 3, version);
}

/* Long packet type names: v2 numbers them differently (RFC 9369 §3.2). */
static const char *quic_type_name(uint32_t version, uint16_t type)
{
	static const char *const V1[4] = {"initial", "0-rtt", "handshake", "retry"};
	static const char *const V2[4] = {"retry", "initial", "0-rtt", "handshake"};
	return version == QUIC_V2 ? V2[type & 3] : V1[type & 3];
}

/* "quic v1 initial", "quic v2 handshake", "quic draft-29 initial", "quic Q050 initial",
 * "quic Q043", "quic 0xfaceb002 handshake", "quic version-negotiation". */
void quic_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	uint32_t v = h->app_value;
	char ver[16];
	if (v == QUIC_V1 || v == QUIC_V2)
		snprintf(ver, sizeof ver, "v%d", v == QUIC_V1 ? 1 : 2);
	else if ((v & 0xffffff00u) == 0xff000000u)
		snprintf(ver, sizeof ver, "draft-%u", (unsigned)(v & 0xff));
	else if (gquic_version(v))
		snprintf(ver, sizeof ver, "Q%c%c%c", (char)(v >> 16), (char)(v >> 8), (char)v);
	else
		snprintf(ver, sizeof ver, "0x%08x", (unsigned)v);
	if (v == 0)
		snprintf(buf, buf_len, "quic version-negotiation");
	else if (h->app_code == 0xff)
		snprintf(buf, buf_len, "quic %s", ver);
	else
		snprintf(buf, buf_len, "quic %s %s", ver, quic_type_name(v, h->app_code));
}
