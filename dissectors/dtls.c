/* dtls.c - DTLS record headers (RFC 6347 §4.1, RFC 9147 §4; content types RFC 8446 §5.1,
 * RFC 9146 tls12_cid): content type, version, epoch, sequence number, length. */
#include <stdio.h>

#include "dissectors/internal.h"

#define DTLS_HDR_LEN 13
#define DTLS_RECORD_MAX (16384 + 2048) /* ciphertext bound (RFC 6347 §4.1.2.1) */
#define DTLS_RECORDS_MAX 16	       /* records walked in one datagram */

static bool dtls_version_ok(uint16_t v)
{
	return v == 0xfeff || v == 0xfefd || v == 0xfefc; /* 1.0, 1.2, 1.3 */
}

/* One record header (all 13 bytes); its length in *len. */
static bool dtls_header(struct cursor *c, uint8_t *type, uint16_t *version, size_t *len)
{
	*type = cur_u8(c);
	*version = cur_be16(c);
	cur_skip(c, 8); /* epoch, sequence number */
	*len = cur_be16(c);
	return !c->err && *type >= 20 && *type <= 25 && dtls_version_ok(*version) &&
	       *len <= DTLS_RECORD_MAX;
}

/*
 * The first record's header whole and valid; then every later record whose header is
 * present must be valid too (a header cut by the end of the bytes is not judged). When the
 * datagram's length is known, the records must not run past it nor leave less than a header
 * after the last. app_code = content type of the first record, app_value = its version.
 */
bool dtls_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t type, t;
	uint16_t version, v;
	size_t len;
	if (!dtls_header(&c, &type, &version, &len))
		return false;
	size_t end = DTLS_HDR_LEN + len;
	for (unsigned i = 1; i < DTLS_RECORDS_MAX && end < in->c.left; i++) {
		struct cursor r = in->c;
		cur_skip(&r, end);
		if (!cur_has(&r, DTLS_HDR_LEN))
			break;
		if (!dtls_header(&r, &t, &v, &len))
			return false;
		end += DTLS_HDR_LEN + len;
	}
	size_t wire = in->wire_len;
	if (wire != PM_LEN_UNKNOWN && (end > wire || (end < wire && end + DTLS_HDR_LEN > wire)))
		return false;
	h->kind = HINT_DTLS;
	h->app_code = type;
	h->app_value = version;
	return true;
}

/* "dtls 1.2 handshake", "dtls 1.0 application-data". */
void dtls_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const TYPES[] = {"change-cipher-spec", "alert",     "handshake",
					    "application-data",	  "heartbeat", "tls12-cid"};
	const char *ver = h->app_value == 0xfeff ? "1.0" : h->app_value == 0xfefd ? "1.2" : "1.3";
	unsigned i = h->app_code >= 20 && h->app_code <= 25 ? h->app_code - 20u : 0;
	snprintf(buf, buf_len, "dtls %s %s", ver, TYPES[i]);
}
