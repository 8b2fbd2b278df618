/* ntp.c - the first bytes of an NTP packet: leap, version, mode, stratum (RFC 5905 §7.3). */
#include <stdio.h>

#include "dissectors/internal.h"

static const char *const NTP_MODES[8] = {
    "reserved", "symmetric-active", "symmetric-passive", "client",
    "server",	"broadcast",	    "control",		 "private",
};

const char *ntp_mode_name(uint8_t mode)
{
	return NTP_MODES[mode & 7];
}

/*
 * Only on port 123 (apphint.c): NTP has no signature of its own, so the port names it and
 * the first byte must agree: version 1 to 4 and a mode other than 0 (reserved). When the
 * stratum byte is there, modes 1 to 5 need a stratum of at most 16 (RFC 5905 §7.3; modes 6
 * and 7 are control and private messages with another layout).
 */
bool ntp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t b = cur_u8(&c);
	uint8_t version = b >> 3 & 7, mode = b & 7;
	if (c.err || version < 1 || version > 4 || mode == 0)
		return false;
	uint8_t stratum = cur_u8(&c);
	if (!c.err && mode <= 5 && stratum > 16)
		return false;
	h->kind = HINT_NTP;
	h->ntp_version = version;
	h->ntp_mode = mode;
	return true;
}

void ntp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "ntp v%u %s", (unsigned)h->ntp_version, ntp_mode_name(h->ntp_mode));
}
