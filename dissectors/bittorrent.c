/* bittorrent.c - BitTorrent's UDP protocols: the DHT's bencoded KRPC messages (BEP 5; the ip
 * key of BEP 42) and uTP headers (BEP 29). */
#include <stdio.h>

#include "dissectors/internal.h"

#define UTP_HDR_LEN 20
#define UTP_EXT_MAX 8 /* extension headers walked */

/* A response that starts with BEP 42's "ip" key: "d2:ip6:<6 bytes>1:rd2:id20:" (or 18). */
static bool dht_ip_response(struct cursor c)
{
	if (!CUR_STARTS(&c, "d2:ip"))
		return false;
	cur_skip(&c, 5);
	if (CUR_STARTS(&c, "6:"))
		cur_skip(&c, 2 + 6);
	else if (CUR_STARTS(&c, "18:"))
		cur_skip(&c, 3 + 18);
	else
		return false;
	return CUR_STARTS(&c, "1:rd2:id20:");
}

/*
 * The first bytes of a KRPC dictionary (keys sorted, so "a", "e", "q" or "r" comes first):
 * "d1:ad2:id20:" (a query's arguments), "d1:rd2:id20:" (a response), "d1:q" and a length (a
 * query that names its method first), "d1:eli" (an error), or a BEP 42 response. All of the
 * prefix must be present. app_code = 'q', 'r' or 'e'.
 */
bool dht_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	const struct cursor *c = &in->c;
	uint8_t kind = 0;
	struct cursor q = *c;
	cur_skip(&q, 4);
	uint8_t qlen = cur_u8(&q), colon = cur_u8(&q);
	if (CUR_STARTS(c, "d1:ad2:id20:"))
		kind = 'q';
	else if (CUR_STARTS(c, "d1:rd2:id20:") || dht_ip_response(*c))
		kind = 'r';
	else if (CUR_STARTS(c, "d1:eli"))
		kind = 'e';
	else if (CUR_STARTS(c, "d1:q") && !q.err && qlen >= '1' && qlen <= '9' && colon == ':')
		kind = 'q';
	if (!kind)
		return false;
	h->kind = HINT_BITTORRENT;
	h->app_code = kind;
	return true;
}

/* "bittorrent dht query", "bittorrent dht response", "bittorrent dht error". */
void dht_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	const char *k = h->app_code == 'q' ? "query" : h->app_code == 'r' ? "response" : "error";
	snprintf(buf, buf_len, "bittorrent dht %s", k);
}

/* The chain of extension headers after the fixed header, all present: each "next, length",
 * selective acks (1) a non-zero multiple of 4 bytes long, extension bits (2) 8 bytes. */
static bool utp_extensions(struct cursor c, uint8_t ext)
{
	for (unsigned i = 0; ext != 0; i++) {
		if (i == UTP_EXT_MAX)
			return false;
		uint8_t next = cur_u8(&c), len = cur_u8(&c);
		cur_skip(&c, len);
		if (c.err || (ext == 1 && (len == 0 || len % 4)) || (ext == 2 && len != 8))
			return false;
		ext = next;
	}
	return true;
}

/*
 * Version 1 with a type 0 (data) to 4 (syn), an extension of 0, 1 (selective ack) or 2 (bits)
 * and its chain, the whole 20-byte header present. A weak signature: tried last. app_code =
 * type.
 */
bool utp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t tv = cur_u8(&c);
	uint8_t ext = cur_u8(&c);
	cur_skip(&c, UTP_HDR_LEN - 2);
	if (c.err || (tv & 0x0f) != 1 || tv >> 4 > 4 || ext > 2 || !utp_extensions(c, ext))
		return false;
	h->kind = HINT_UTP;
	h->app_code = tv >> 4;
	return true;
}

void utp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const TYPES[] = {"data", "fin", "state", "reset", "syn"};
	snprintf(buf, buf_len, "utp %s", TYPES[h->app_code <= 4 ? h->app_code : 0]);
}
