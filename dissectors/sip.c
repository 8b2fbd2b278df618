/* sip.c - the first line of a SIP message (RFC 3261 §7.1, §7.2; methods RFC 3262, 3265, 3311,
 * 3428, 3515, 3903, 6086): "INVITE sip:bob@example.com SIP/2.0", "SIP/2.0 180 Ringing". */
#include <stdio.h>

#include "dissectors/internal.h"

static const char *const SIP_METHODS[] = {
    "INVITE",	 "ACK",	   "BYE",     "CANCEL", "REGISTER", "OPTIONS", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO",	"REFER",    "MESSAGE", "UPDATE",
};

static uint8_t lower(uint8_t ch)
{
	return ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
}

/* The Request-URI's scheme (case-insensitive, RFC 3261 §19.1.1): "sip:", "sips:", "tel:". */
static bool sip_scheme(struct cursor c)
{
	static const char *const SCHEMES[] = {"sip:", "sips:", "tel:"};
	for (size_t s = 0; s < sizeof SCHEMES / sizeof SCHEMES[0]; s++) {
		struct cursor t = c;
		size_t i = 0;
		for (; SCHEMES[s][i]; i++)
			if (lower(cur_u8(&t)) != (uint8_t)SCHEMES[s][i] || t.err)
				break;
		if (!SCHEMES[s][i])
			return true;
	}
	return false;
}

/* "SIP/2.0 NNN " with a class 1 to 6: app_code = NNN. */
static bool sip_status(struct cursor c, uint16_t *code)
{
	if (!CUR_STARTS(&c, "SIP/2.0 "))
		return false;
	cur_skip(&c, 8);
	uint8_t d[4];
	cur_copy(&c, d, 4);
	if (c.err || d[0] < '1' || d[0] > '6' || d[3] != ' ')
		return false;
	for (int i = 1; i < 3; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	*code = (uint16_t)((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
	return true;
}

/*
 * A request line: a method of the table, a space, a sip:, sips: or tel: URI (all present);
 * or a status line. app_text = the method, app_code = the status code (0 for a request).
 */
bool sip_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	uint16_t code;
	if (sip_status(in->c, &code)) {
		h->kind = HINT_SIP;
		h->app_code = code;
		return true;
	}
	for (size_t m = 0; m < sizeof SIP_METHODS / sizeof SIP_METHODS[0]; m++) {
		size_t n = 0;
		while (SIP_METHODS[m][n])
			n++;
		struct cursor c = in->c;
		if (!cur_starts(&c, SIP_METHODS[m], n) || cur_peek(&c, n) != ' ')
			continue;
		cur_skip(&c, n + 1);
		if (!sip_scheme(c))
			return false;
		h->kind = HINT_SIP;
		app_text_set(h, in->c, n);
		return true;
	}
	return false;
}

/* "sip INVITE", "sip 200". */
void sip_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (h->app_code)
		snprintf(buf, buf_len, "sip %u", (unsigned)h->app_code);
	else
		snprintf(buf, buf_len, "sip %s", (const char *)h->app_text);
}
