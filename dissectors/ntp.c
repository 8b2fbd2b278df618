/* ntp.c - the first byte of an NTP packet: leap, version, mode (RFC 5905 §7.3). */
#include "dissectors/internal.h"

static const char *const NTP_MODES[8] = {
	"reserved",	    "symmetric-active", "symmetric-passive", "client",
	"server",	    "broadcast",	"control",	     "private",
};

const char *ntp_mode_name(uint8_t mode)
{
	return NTP_MODES[mode & 7];
}

/* Versions 1 to 4 are NTP; other values are not taken for it. */
void ntp_hint(struct cursor c, struct app_hint *h, uint64_t *an)
{
	uint8_t b = cur_u8(&c);
	uint8_t version = b >> 3 & 7;
	if (c.err || version < 1 || version > 4)
		return;
	h->kind = HINT_NTP;
	h->ntp_version = version;
	h->ntp_mode = b & 7;
}
