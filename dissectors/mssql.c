/* mssql.c - the SQL Server Resolution Protocol on UDP 1434 ([MS-SQLR] §2.2), and SQL Slammer
 * (CERT CA-2003-04): a CLNT_UCAST_INST request whose instance name overflows its buffer. */
#include <stdio.h>

#include "dissectors/internal.h"

#define SSRP_BCAST_EX 0x02
#define SSRP_UCAST_EX 0x03
#define SSRP_UCAST_INST 0x04
#define SSRP_SVR_RESP 0x05
#define SSRP_UCAST_DAC 0x0a
#define SSRP_INSTANCE_MAX 32 /* instance name bytes before its NUL ([MS-SQLR] §2.2.3) */
#define SLAMMER_LEN 376	     /* the worm's whole UDP payload */
#define SSRP_SCAN_MAX 512    /* bytes looked at for a NUL */

/* Bytes from c up to a NUL, at most max; SIZE_MAX when no NUL is among those present. */
static size_t ssrp_strlen(struct cursor c, size_t max)
{
	for (size_t n = 0; n <= max && cur_has(&c, 1); n++)
		if (cur_u8(&c) == 0)
			return n;
	return SIZE_MAX;
}

/* 0x04: an instance name of 1 to 32 bytes and its NUL; or no NUL where the name should end
 * in a payload longer than any request (the overflow). */
static bool ssrp_inst(const struct app_in *in, struct cursor name, struct app_hint *h)
{
	size_t n = ssrp_strlen(name, SSRP_INSTANCE_MAX);
	if (n != SIZE_MAX && n > 0) {
		h->app_value = 0;
		app_text_set(h, name, n);
		return true;
	}
	size_t total = app_total_len(in);
	if (n == 0 || total <= 2 + SSRP_INSTANCE_MAX ||
	    ssrp_strlen(name, SSRP_SCAN_MAX) != SIZE_MAX)
		return false;
	h->app_value = (uint32_t)total;
	return true;
}

/*
 * On 1434 (apphint.c): a browse request (0x02, 0x03: that byte alone), an instance request
 * (0x04) or its overflow, a DAC request (0x0a 0x01 and a name), or a response (0x05, its
 * little-endian size covering the rest, "ServerName;"). app_code = the request byte;
 * app_value = the payload length of an overflow; app_text = the instance name.
 */
bool mssql_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t type = cur_u8(&c);
	if (c.err)
		return false;
	struct app_hint t;
	hint_reset(&t);
	bool ok;
	if (type == SSRP_BCAST_EX || type == SSRP_UCAST_EX) {
		ok = app_total_len(in) == 1;
	} else if (type == SSRP_UCAST_INST) {
		ok = ssrp_inst(in, c, &t);
	} else if (type == SSRP_UCAST_DAC) {
		ok = cur_u8(&c) == 0x01 && !c.err && ssrp_strlen(c, SSRP_INSTANCE_MAX) != SIZE_MAX;
	} else if (type == SSRP_SVR_RESP) {
		size_t size = cur_u8(&c);
		size |= (size_t)cur_u8(&c) << 8;
		ok = !c.err && app_len_is_whole(in, 3 + size) && CUR_STARTS(&c, "ServerName;");
	} else {
		ok = false;
	}
	if (!ok)
		return false;
	h->kind = HINT_MSSQL_M;
	h->app_code = type;
	h->app_value = t.app_value;
	app_text_set(h, cur_make(t.app_text, t.app_text_len), t.app_text_len);
	return true;
}

/* "ms-sql-m browse-request", "ms-sql-m instance-request SQLEXPRESS", "ms-sql-m response",
 * "ms-sql-m slammer worm 376 bytes", "ms-sql-m instance-overflow 500 bytes". */
void mssql_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	switch (h->app_code) {
	case SSRP_UCAST_INST:
		if (h->app_value == SLAMMER_LEN)
			snprintf(buf, buf_len, "ms-sql-m slammer worm %u bytes", SLAMMER_LEN);
		else if (h->app_value)
			snprintf(buf, buf_len, "ms-sql-m instance-overflow %u bytes",
				 (unsigned)h->app_value);
		else
			snprintf(buf, buf_len, "ms-sql-m instance-request %s",
				 (const char *)h->app_text);
		return;
	case SSRP_SVR_RESP:
		snprintf(buf, buf_len, "ms-sql-m response");
		return;
	case SSRP_UCAST_DAC:
		snprintf(buf, buf_len, "ms-sql-m dac-request");
		return;
	default:
		snprintf(buf, buf_len, "ms-sql-m browse-request");
		return;
	}
}
