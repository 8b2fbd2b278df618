/* ssdp.c - SSDP, HTTP over UDP for UPnP discovery (UPnP Device Architecture 2.0 §1.2-1.3):
 * "M-SEARCH * HTTP/1.1", "NOTIFY * HTTP/1.1" and the "HTTP/1.1 200 OK" answers. */
#include <stdio.h>

#include "dissectors/internal.h"

#define SSDP_PORT 1900
#define SSDP_SCAN_MAX 1024 /* bytes searched for a discovery header in an answer */

static uint8_t upper(uint8_t ch)
{
	return ch >= 'a' && ch <= 'z' ? (uint8_t)(ch - 32) : ch;
}

/* A header line "\r\nST:" or "\r\nUSN:" (names case-insensitive) in the first bytes: what
 * makes an HTTP answer over UDP an SSDP one away from port 1900. */
static bool ssdp_header(struct cursor c)
{
	cur_limit(&c, SSDP_SCAN_MAX);
	for (size_t i = 0; i + 5 < c.left; i++) {
		if (cur_peek(&c, i) != '\r' || cur_peek(&c, i + 1) != '\n')
			continue;
		uint8_t a = upper(cur_peek(&c, i + 2)), b = upper(cur_peek(&c, i + 3));
		uint8_t d = upper(cur_peek(&c, i + 4));
		if ((a == 'S' && b == 'T' && d == ':') ||
		    (a == 'U' && b == 'S' && d == 'N' && cur_peek(&c, i + 5) == ':'))
			return !c.err;
	}
	return false;
}

/*
 * "M-SEARCH * HTTP/1.1\r\n" or "NOTIFY * HTTP/1.1\r\n" on any port; "HTTP/1.1 200" from or to
 * port 1900, or elsewhere with an ST or USN header in the first bytes. app_text = the method,
 * or "200".
 */
bool ssdp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	static const char *const LINES[] = {"M-SEARCH * HTTP/1.1\r\n", "NOTIFY * HTTP/1.1\r\n"};
	for (size_t i = 0; i < 2; i++) {
		size_t n = 0;
		while (LINES[i][n])
			n++;
		if (cur_starts(&in->c, LINES[i], n)) {
			h->kind = HINT_SSDP;
			app_text_set(h, in->c, i == 0 ? 8 : 6);
			return true;
		}
	}
	if (!CUR_STARTS(&in->c, "HTTP/1.1 200 "))
		return false;
	if (!app_port(in, SSDP_PORT) && !ssdp_header(in->c))
		return false;
	struct cursor code = in->c;
	cur_skip(&code, 9);
	h->kind = HINT_SSDP;
	app_text_set(h, code, 3);
	return true;
}

/* "ssdp M-SEARCH", "ssdp NOTIFY", "ssdp 200". */
void ssdp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "ssdp %s", (const char *)h->app_text);
}
