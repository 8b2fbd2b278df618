/* dhip.c - Dahua's DHIP, the discovery and control protocol of Dahua IP cameras and
 * recorders (UDP 37810; abused for reflection): a 32-byte header that starts with the
 * little-endian value 0x20 and the magic "DHIP". No public specification: the layout is the
 * one seen in captures. */
#include <stdio.h>

#include "dissectors/internal.h"

/* The first 8 bytes "\x20\0\0\0DHIP", all present. */
bool dhip_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	if (!CUR_STARTS(&in->c, "\x20\0\0\0DHIP"))
		return false;
	h->kind = HINT_DHIP;
	return true;
}

void dhip_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "dhip");
}
