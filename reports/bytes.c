/* bytes.c - times for every report format. */
#include "reports/report.h"

#include <stdio.h>
#include <time.h>

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
