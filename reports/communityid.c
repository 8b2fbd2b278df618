/* communityid.c - the Community ID of a flow, version 1 (github.com/corelight/community-id-spec),
 * so that findings and events join with Zeek, Suricata and Wireshark logs. */
#include <arpa/inet.h>
#include <string.h>

#include <openssl/evp.h>

#include "dissectors/dissect.h"
#include "reports/report.h"

/* Standard base64 (RFC 4648 §4) with padding of n bytes into out (4 * ceil(n / 3) + 1). */
static void base64(const uint8_t *p, size_t n, char *out)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		out[o++] = A[v >> 18 & 63];
		out[o++] = A[v >> 12 & 63];
		out[o++] = i + 1 < n ? A[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? A[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Parses an IPv4 or IPv6 address; its length (4 or 16), or 0. */
static size_t parse_addr(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

int report_community_id(const char *src, int sport, const char *dst, int dport, int proto,
			uint16_t seed, char *out, size_t out_len)
{
	uint8_t a[16], b[16], buf[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	/* ICMP's "ports" are its type and code, which a quote's flow does not carry: no ID. */
	if (!src || !dst || proto < 0 || proto > 255 || proto == PM_IPPROTO_ICMP ||
	    proto == PM_IPPROTO_ICMP6 || out_len < 32)
		return -1;
	size_t len = parse_addr(src, a);
	if (len == 0 || parse_addr(dst, b) != len)
		return -1;
	bool ports = pm_proto_has_ports((uint8_t)proto);
	if (ports && (sport < 0 || sport > 65535 || dport < 0 || dport > 65535))
		return -1;
	/* The endpoint that sorts first (address, then port) comes first: both directions of a
	 * flow get the same ID. */
	int c = memcmp(a, b, len);
	bool swap = c > 0 || (c == 0 && ports && sport > dport);
	const uint8_t *x = swap ? b : a, *y = swap ? a : b;
	int px = swap ? dport : sport, py = swap ? sport : dport;
	size_t n = 0;
	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, x, len), n += len;
	memcpy(buf + n, y, len), n += len;
	buf[n++] = (uint8_t)proto;
	buf[n++] = 0; /* padding */
	if (ports) {
		buf[n++] = (uint8_t)(px >> 8), buf[n++] = (uint8_t)px;
		buf[n++] = (uint8_t)(py >> 8), buf[n++] = (uint8_t)py;
	}
	if (EVP_Digest(buf, n, md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
		return -1;
	memcpy(out, "1:", 2);
	base64(md, md_len, out + 2); /* 28 characters */
	return 0;
}
