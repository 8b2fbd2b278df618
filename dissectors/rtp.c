/* rtp.c - RTP and RTCP headers (RFC 3550 §5.1, §6.4-6.6; payload types RFC 3551 §6; feedback
 * RFC 4585; XR RFC 3611). Two version bits are a weak signature: these are tried last. */
#include <stdio.h>

#include "dissectors/internal.h"

#define RTP_HDR_LEN 12

/* Static payload types assigned by RFC 3551 (tables 4 and 5; 1, 2, 19 are reserved, 20-24,
 * 27, 29, 30 and 35-95 unassigned) and the dynamic range 96-127. 72-76 would make a marked
 * RTP packet look like RTCP 200-204 (RFC 5761 §4). */
static bool rtp_pt_ok(uint8_t pt)
{
	static const uint64_t STATIC =
	    0x7ffffffffULL & ~(1ULL << 1 | 1ULL << 2 | 1ULL << 19 | 0x1fULL << 20 | 1ULL << 27 |
			       1ULL << 29 | 1ULL << 30);
	return pt >= 96 || (pt < 35 && (STATIC >> pt & 1));
}

/*
 * Version 2, a payload type in use, and the whole fixed header with its CSRC list present
 * (and the extension header when the X bit says there is one, within the datagram's length
 * when that is known). When the whole datagram is here, a P bit's padding count must fit.
 * app_code = payload type, app_value = SSRC (one datagram is weak evidence: a stream keeps
 * its SSRC from one datagram to the next).
 */
bool rtp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t b0 = cur_u8(&c);
	uint8_t pt = cur_u8(&c) & 0x7f;
	cur_skip(&c, 6); /* sequence number, timestamp */
	uint32_t ssrc = cur_be32(&c);
	cur_skip(&c, 4 * (size_t)(b0 & 0x0f));
	if (c.err || b0 >> 6 != 2 || !rtp_pt_ok(pt))
		return false;
	size_t hdr = in->c.left - c.left;
	if (b0 & 0x10) {
		cur_skip(&c, 2);
		hdr += 4 + 4 * (size_t)cur_be16(&c);
		if (c.err || hdr > app_total_len(in))
			return false;
	}
	if ((b0 & 0x20) && in->wire_len == in->c.left) {
		uint8_t pad = cur_peek(&c, c.left ? c.left - 1 : 0);
		if (c.err || pad == 0 || hdr + pad > in->wire_len)
			return false;
	}
	h->kind = HINT_RTP;
	h->app_code = pt;
	h->app_value = ssrc;
	return true;
}

void rtp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "rtp pt %u", (unsigned)h->app_code);
}

/* Fewest 32-bit words after the header word that a packet of type pt with count rc holds. */
static size_t rtcp_min_words(uint8_t pt, size_t rc)
{
	switch (pt) {
	case 200:
		return 6 + 6 * rc; /* SR: SSRC, sender info, report blocks */
	case 201:
		return 1 + 6 * rc; /* RR */
	case 202:
		return 2 * rc; /* SDES: each chunk SSRC + at least one end word */
	case 203:
		return rc; /* BYE: the SSRCs */
	case 204:
		return 2; /* APP: SSRC, name */
	case 205:
	case 206:
		return 2; /* RTPFB, PSFB: sender and media SSRC */
	default:
		return 1; /* XR: SSRC */
	}
}

/* Feedback message types (RFC 4585 §6.2-6.3, RFC 5104, RFC 6051, RFC 6285, RFC 6642,
 * RFC 6679, RFC 7728; 15 is the application layer / transport-wide extension). */
static bool rtcp_fmt_ok(uint8_t pt, uint8_t fmt)
{
	if (pt == 205)
		return (fmt >= 1 && fmt <= 10 && fmt != 2) || fmt == 15;
	if (pt == 206)
		return (fmt >= 1 && fmt <= 8) || fmt == 15;
	return true;
}

/*
 * The first packet of a compound RTCP datagram: version 2, a packet type 200 (SR) to 207
 * (XR), a count (or feedback type) that can be, a length that holds what the count announces
 * and fits the payload, and its first 8 bytes present. The signature being weak, the length
 * is checked against the declared payload length or else the bytes present (a payload cut
 * inside the first packet is not claimed). Later packets are not walked: SRTCP encrypts
 * them. app_code = packet type, app_value = the sender's SSRC.
 */
bool rtcp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t b0 = cur_u8(&c);
	uint8_t pt = cur_u8(&c);
	size_t words = cur_be16(&c);
	uint32_t ssrc = cur_be32(&c);
	if (c.err || b0 >> 6 != 2 || pt < 200 || pt > 207)
		return false;
	if (words < rtcp_min_words(pt, b0 & 0x1f) || !rtcp_fmt_ok(pt, b0 & 0x1f))
		return false;
	if ((words + 1) * 4 > app_total_len(in))
		return false;
	h->kind = HINT_RTCP;
	h->app_code = pt;
	h->app_value = ssrc;
	return true;
}

void rtcp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const TYPES[] = {"sr",  "rr",    "sdes", "bye",
					    "app", "rtpfb", "psfb", "xr"};
	unsigned i = h->app_code >= 200 && h->app_code <= 207 ? h->app_code - 200u : 0;
	snprintf(buf, buf_len, "rtcp %s", TYPES[i]);
}
