/* tftp.c - TFTP packets (RFC 1350 §5; error 8 and OACK RFC 2347): only with port 69, since an
 * opcode of two bytes says too little on its own. */
#include <stdio.h>

#include "dissectors/internal.h"

#define TFTP_STRING_MAX 512 /* bytes looked at for a file name, mode or option */
#define TFTP_ERROR_MAX 8

/* A NUL-terminated string of printable bytes, at least one, all present; its length. */
static bool tftp_string(struct cursor *c, size_t *len)
{
	for (size_t n = 0; n < TFTP_STRING_MAX; n++) {
		uint8_t ch = cur_u8(c);
		if (c->err)
			return false;
		if (ch == 0) {
			*len = n;
			return n > 0;
		}
		if (ch < 0x20 || ch > 0x7e)
			return false;
	}
	return false;
}

static bool lower_eq(struct cursor c, size_t n, const char *mode)
{
	size_t i = 0;
	for (; i < n && mode[i]; i++) {
		uint8_t ch = cur_u8(&c);
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch + 32);
		if (ch != (uint8_t)mode[i])
			return false;
	}
	return i == n && !mode[i];
}

/* RRQ/WRQ: a file name (its bytes in *name, *name_len), then a transfer mode of RFC 1350
 * (any case). */
static bool tftp_request(struct cursor c, struct cursor *name, size_t *name_len)
{
	struct cursor mode;
	size_t mode_len;
	*name = c;
	if (!tftp_string(&c, name_len))
		return false;
	mode = c;
	if (!tftp_string(&c, &mode_len))
		return false;
	return lower_eq(mode, mode_len, "netascii") || lower_eq(mode, mode_len, "octet") ||
	       lower_eq(mode, mode_len, "mail");
}

/*
 * Port 69 on one side (apphint.c) and: a read or write request with its file name and mode
 * all present; DATA with its block number; an ACK of exactly 4 bytes; an ERROR with a code
 * of RFC 1350/2347 and its message started; an OACK with a whole first option name.
 * app_code = opcode; app_value = the error code; app_text = the file name of a request.
 */
bool tftp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint16_t op = cur_be16(&c);
	struct cursor body = c, name = c;
	uint16_t word = cur_be16(&c); /* block number or error code */
	size_t name_len = 0, opt_len;
	bool ok;
	switch (op) {
	case 1:
	case 2:
		ok = tftp_request(body, &name, &name_len);
		break;
	case 3:
		ok = !c.err;
		break;
	case 4:
		ok = !c.err && app_total_len(in) == 4;
		break;
	case 5:
		ok = !c.err && word <= TFTP_ERROR_MAX && cur_has(&c, 1);
		break;
	case 6:
		ok = tftp_string(&body, &opt_len);
		break;
	default:
		ok = false;
	}
	if (!ok)
		return false;
	h->kind = HINT_TFTP;
	h->app_code = op;
	h->app_value = op == 5 ? word : 0;
	app_text_set(h, name, name_len);
	return true;
}

/* "tftp read-request boot.img", "tftp data", "tftp error 1". */
void tftp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const OPS[] = {"",	 "read-request", "write-request", "data",
					  "ack", "error",	 "option-ack"};
	const char *op = OPS[h->app_code <= 6 ? h->app_code : 0];
	if (h->app_code == 1 || h->app_code == 2)
		snprintf(buf, buf_len, "tftp %s %s", op, (const char *)h->app_text);
	else if (h->app_code == 5)
		snprintf(buf, buf_len, "tftp error %u", (unsigned)h->app_value);
	else
		snprintf(buf, buf_len, "tftp %s", op);
}
