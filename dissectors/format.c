/* format.c - dissected data in printable form: raw bytes (a DNS name, a payload) escaped and
 * as hex, protocol names, a hint's bytes, anomaly lists: what the database stores and what
 * every report and the events listing show. */
#include "dissectors/dissect.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

size_t pm_bytes_escape(const uint8_t *p, size_t n, char *out, size_t out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (out_len == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		char tmp[4];
		size_t k = 0;
		if (b == '\\') {
			tmp[k++] = '\\', tmp[k++] = '\\';
		} else if (b >= 0x20 && b <= 0x7e) {
			tmp[k++] = (char)b;
		} else {
			tmp[k++] = '\\', tmp[k++] = 'x', tmp[k++] = hex[b >> 4],
			tmp[k++] = hex[b & 15];
		}
		if (o + k >= out_len)
			break;
		for (size_t j = 0; j < k; j++)
			out[o++] = tmp[j];
	}
	out[o] = '\0';
	return o;
}

/* Splits ns since the epoch into a UTC calendar time and the nanoseconds of the second. */
static bool split_time(int64_t ns, struct tm *tm, int64_t *frac)
{
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;
	if (rem < 0) {
		rem += 1000000000;
		sec -= 1;
	}
	time_t t = (time_t)sec;
	*frac = rem;
	return gmtime_r(&t, tm) != NULL;
}

void pm_fmt_utc(int64_t ns, int precision, bool iso, char *buf, size_t len)
{
	struct tm tm;
	int64_t frac;
	char f[24] = "";
	if (ns == INT64_MIN || !split_time(ns, &tm, &frac)) {
		snprintf(buf, len, "?");
		return;
	}
	if (precision >= 9)
		snprintf(f, sizeof f, ".%09lld", (long long)frac);
	else if (precision >= 6)
		snprintf(f, sizeof f, ".%06lld", (long long)(frac / 1000));
	else if (precision >= 3)
		snprintf(f, sizeof f, ".%03lld", (long long)(frac / 1000000));
	snprintf(buf, len, "%04d-%02d-%02d%c%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, iso ? 'T' : ' ', tm.tm_hour, tm.tm_min, tm.tm_sec, f, iso ? "Z" : "");
}

void pm_fmt_duration(int64_t ns, char *buf, size_t len)
{
	if (ns < 0)
		ns = 0;
	double s = (double)ns / 1e9;
	int64_t whole = ns / 1000000000;
	if (s < 0.001)
		snprintf(buf, len, "%.0f µs", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.0f ms", s * 1e3);
	else if (s < 60)
		snprintf(buf, len, "%.1f s", s);
	else if (whole < 3600)
		snprintf(buf, len, "%lld min %lld s", (long long)(whole / 60),
			 (long long)(whole % 60));
	else if (whole < 86400)
		snprintf(buf, len, "%lld h %lld min", (long long)(whole / 3600),
			 (long long)(whole % 3600 / 60));
	else
		snprintf(buf, len, "%lld d %lld h", (long long)(whole / 86400),
			 (long long)(whole % 86400 / 3600));
}

size_t pm_bytes_hex(const uint8_t *p, size_t n, char *out, size_t out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (out_len == 0)
		return 0;
	for (size_t i = 0; i < n && o + 2 < out_len; i++) {
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
	}
	out[o] = '\0';
	return o;
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case PM_IPPROTO_ICMP:
		return "icmp";
	case PM_IPPROTO_TCP:
		return "tcp";
	case PM_IPPROTO_UDP:
		return "udp";
	case PM_IPPROTO_ICMP6:
		return "icmp6";
	case PM_IPPROTO_SCTP:
		return "sctp";
	case PM_IPPROTO_UDPLITE:
		return "udplite";
	default:
		return NULL;
	}
}

/* app_hint_str() with the whole DNS name: a NUL byte inside the name ends app_hint_str()'s C
 * string, so the name (always last) is put back from its length. Returns the byte count. */
size_t app_hint_bytes(const struct app_hint *h, char *buf, size_t buf_len)
{
	app_hint_str(h, buf, buf_len);
	size_t n = strlen(buf);
	if (h->kind != HINT_DNS || h->dns_qname_len == 0)
		return n;
	size_t shown = strnlen((const char *)h->dns_qname, h->dns_qname_len);
	if (shown == h->dns_qname_len || shown > n ||
	    memcmp(buf + n - shown, h->dns_qname, shown) != 0)
		return n;
	size_t start = n - shown, end = start + h->dns_qname_len;
	if (end >= buf_len)
		end = buf_len - 1;
	memcpy(buf + start, h->dns_qname, end - start);
	buf[end] = '\0';
	return end;
}

/* Comma-separated (or JSON array) anomaly names of one packet. */
void anomaly_list(uint64_t bits, bool json, char *buf, size_t buf_len)
{
	size_t o = 0;
	buf[0] = '\0';
	if (json)
		o += (size_t)snprintf(buf, buf_len, "[");
	for (int a = 0; a < AN__COUNT && o < buf_len; a++) {
		if (!(bits & (1ULL << a)))
			continue;
		const char *sep = (json ? o > 1 : o > 0) ? "," : "";
		o += (size_t)snprintf(buf + o, buf_len - o, json ? "%s\"%s\"" : "%s%s", sep,
				      anomaly_name((enum anomaly)a));
	}
	if (json && o < buf_len)
		snprintf(buf + o, buf_len - o, "]");
}

const char *pm_plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}
