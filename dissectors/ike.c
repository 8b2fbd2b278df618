/* ike.c - IKE/ISAKMP headers (IKEv1 RFC 2408 §3.1, IKEv2 RFC 7296 §3.1) on ports 500 and 4500,
 * and what else UDP 4500 carries: ESP and NAT keepalives (RFC 3948 §2). */
#include <stdio.h>

#include "dissectors/internal.h"

#define IKE_PORT 500
#define NATT_PORT 4500
#define IKE_HDR_LEN 28
#define NON_ESP_MARKER_LEN 4
#define ESP_SPI_MIN 256 /* SPIs 1-255 are reserved by IANA (RFC 4303 §2.1) */

static bool ike_exchange_ok(uint8_t version, uint8_t x)
{
	if (version == 0x10) /* base, identity protection, auth only, aggressive, info,
			      * transaction (draft), quick mode, new group */
		return (x >= 1 && x <= 6) || x == 32 || x == 33;
	return (x >= 34 && x <= 38) || x == 43; /* SA_INIT .. SESSION_RESUME, INTERMEDIATE */
}

static bool ike_next_payload_ok(uint8_t version, uint8_t np)
{
	if (version == 0x10)
		return np <= 21 || np >= 128; /* RFC 2408, NAT-D/NAT-OA RFC 3947, private use */
	return np == 0 || (np >= 33 && np <= 55) || np >= 128;
}

/* The 28-byte header at c: a non-zero initiator SPI, version 1.0 or 2.0 and what goes with it
 * (exchange, next payload, flags), a length that is the whole rest of the payload. */
static bool ike_header(const struct app_in *in, struct cursor c, size_t before, uint32_t *xchg)
{
	uint32_t spi_hi = cur_be32(&c), spi_lo = cur_be32(&c);
	cur_skip(&c, 8);
	uint8_t np = cur_u8(&c), version = cur_u8(&c), x = cur_u8(&c), flags = cur_u8(&c);
	cur_skip(&c, 4);
	uint32_t len = cur_be32(&c);
	if (c.err || (spi_hi == 0 && spi_lo == 0) || (version != 0x10 && version != 0x20))
		return false;
	if (!ike_exchange_ok(version, x) || !ike_next_payload_ok(version, np))
		return false;
	if (flags & (version == 0x10 ? 0xf8 : 0xc7))
		return false;
	if (len < IKE_HDR_LEN || !app_len_is_whole(in, before + len))
		return false;
	*xchg = (uint32_t)version << 8 | x;
	return true;
}

/*
 * On 500 the header starts the payload; on 4500 it follows the 4-byte non-ESP marker (zero).
 * app_code = exchange type, app_value = the version byte (0x10 or 0x20).
 */
bool ike_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	size_t before = 0;
	if (app_port(in, NATT_PORT) && cur_be32(&c) == 0 && !c.err)
		before = NON_ESP_MARKER_LEN;
	else if (app_port(in, IKE_PORT))
		c = in->c;
	else
		return false;
	uint32_t xchg;
	if (!ike_header(in, c, before, &xchg))
		return false;
	h->kind = HINT_IKE;
	h->app_code = xchg & 0xff;
	h->app_value = xchg >> 8;
	return true;
}

/* "ike v2 sa-init", "ike v1 main-mode", "ike v1 quick-mode". */
void ike_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const V1[] = {"",	       "base",		"main-mode",  "auth-only",
					 "aggressive", "informational", "transaction"};
	static const char *const V2[] = {"sa-init", "auth", "create-child-sa", "informational",
					 "session-resume"};
	unsigned x = h->app_code;
	const char *name = h->app_value == 0x10
			       ? (x <= 6    ? V1[x]
				  : x == 32 ? "quick-mode"
					    : "new-group")
			       : (x >= 34 && x <= 38 ? V2[x - 34] : "intermediate");
	snprintf(buf, buf_len, "ike v%u %s", (unsigned)(h->app_value >> 4), name);
}

/*
 * On 4500 only: a NAT keepalive is the single byte 0xff (the whole payload); ESP starts with
 * an SPI of 256 or more and a sequence number that is not 0 (RFC 4303 §3.3.3). The marker
 * case is IKE's. app_code = 1 for a keepalive; app_value = SPI.
 */
bool esp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	if (!app_port(in, NATT_PORT))
		return false;
	struct cursor c = in->c;
	uint8_t first = cur_peek(&c, 0);
	if (!c.err && first == 0xff && app_total_len(in) == 1) {
		h->kind = HINT_ESP;
		h->app_code = 1;
		return true;
	}
	uint32_t spi = cur_be32(&c);
	uint32_t seq = cur_be32(&c);
	if (c.err || spi < ESP_SPI_MIN || seq == 0)
		return false;
	h->kind = HINT_ESP;
	h->app_value = spi;
	return true;
}

/* "esp spi 0x0000b2c4", "esp nat-keepalive". */
void esp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (h->app_code == 1)
		snprintf(buf, buf_len, "esp nat-keepalive");
	else
		snprintf(buf, buf_len, "esp spi 0x%08x", (unsigned)h->app_value);
}
