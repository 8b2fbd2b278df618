/* syslog.c - the PRI part of a syslog message and what follows it (RFC 5424 §6.2, RFC 3164
 * §4.1). */
#include <stdio.h>

#include "dissectors/internal.h"

/* "<" 1 to 3 digits ">" with a value 0..191; -1 otherwise. The cursor ends after '>'. */
static int syslog_pri(struct cursor *c)
{
	if (cur_u8(c) != '<')
		return -1;
	int pri = 0;
	unsigned n = 0;
	for (; n <= 3; n++) {
		uint8_t ch = cur_u8(c);
		if (c->err)
			return -1;
		if (ch == '>')
			break;
		if (ch < '0' || ch > '9' || n == 3)
			return -1;
		pri = pri * 10 + (ch - '0');
	}
	if (n == 0 || pri > 191)
		return -1;
	return pri;
}

static bool is_digit(uint8_t ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 3164 TIMESTAMP "Mmm dd hh:" (day padded with a space), up to the first colon. */
static bool bsd_timestamp(struct cursor c)
{
	static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	bool month = false;
	for (size_t m = 0; m < 12 && !month; m++)
		month = cur_starts(&c, MONTHS + 3 * m, 3);
	uint8_t p[10];
	cur_copy(&c, p, sizeof p);
	return month && !c.err && p[3] == ' ' && (p[4] == ' ' || is_digit(p[4])) &&
	       is_digit(p[5]) && p[6] == ' ' && is_digit(p[7]) && is_digit(p[8]) && p[9] == ':';
}

static bool syslog_fill(struct app_hint *h, int pri)
{
	h->kind = HINT_SYSLOG;
	h->syslog_pri = pri;
	return true;
}

/* On 514: the PRI is enough (a quote may stop right after it). */
bool syslog_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	int pri = syslog_pri(&c);
	return pri >= 0 && syslog_fill(h, pri);
}

/* On any port: the PRI followed by RFC 5424's VERSION "1 " or an RFC 3164 timestamp. */
bool syslog_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	int pri = syslog_pri(&c);
	if (pri < 0 || !(CUR_STARTS(&c, "1 ") || bsd_timestamp(c)))
		return false;
	return syslog_fill(h, pri);
}

void syslog_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "syslog pri %d", h->syslog_pri);
}
