/* syslog.c - the PRI part of a syslog message (RFC 5424 §6.2.1, RFC 3164 §4.1.1). */
#include "dissectors/internal.h"

/* "<" 1 to 3 digits ">" with a value 0..191; anything else is not taken for syslog. */
void syslog_hint(struct cursor c, struct app_hint *h, uint64_t *an)
{
	if (cur_u8(&c) != '<')
		return;
	int pri = 0;
	unsigned n = 0;
	for (; n <= 3; n++) {
		uint8_t ch = cur_u8(&c);
		if (c.err)
			return;
		if (ch == '>')
			break;
		if (ch < '0' || ch > '9' || n == 3)
			return;
		pri = pri * 10 + (ch - '0');
	}
	if (n == 0 || pri > 191)
		return;
	h->kind = HINT_SYSLOG;
	h->syslog_pri = pri;
}
