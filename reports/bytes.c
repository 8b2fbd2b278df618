/* bytes.c - raw packet bytes made printable (escaped names) and hex, for every report format. */
#include "reports/report.h"

#include <stdio.h>
#include <time.h>

size_t report_bytes_escape(const uint8_t *p, size_t n, char *out, size_t out_len)
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
			tmp[k++] = '\\', tmp[k++] = 'x', tmp[k++] = hex[b >> 4], tmp[k++] = hex[b & 15];
		}
		if (o + k >= out_len)
			break;
		for (size_t j = 0; j < k; j++)
			out[o++] = tmp[j];
	}
	out[o] = '\0';
	return o;
}

size_t report_bytes_hex(const uint8_t *p, size_t n, char *out, size_t out_len)
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

char *report_time_iso(int64_t ns, int precision, char *buf, size_t buf_len)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, buf_len, "invalid-time");
		return buf;
	}
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	if (precision <= 0) {
		snprintf(buf, buf_len, "%sZ", base);
		return buf;
	}
	if (precision > 9)
		precision = 9;
	int64_t div = 1;
	for (int i = precision; i < 9; i++)
		div *= 10;
	snprintf(buf, buf_len, "%s.%0*lldZ", base, precision, (long long)(frac / div));
	return buf;
}
