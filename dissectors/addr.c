/* addr.c - IP addresses of dissected packets: text form (RFC 5952 via inet_ntop) and equality. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dissectors/dissect.h"

/* Writes a's text form into buf (buf_len >= INET6_ADDRSTRLEN, 46, for any address); ""
 * when a is absent or buf too small. */
void pm_addr_str(const struct pm_addr *a, char *buf, size_t buf_len)
{
	if (!buf || buf_len == 0)
		return;
	buf[0] = '\0';
	if (!a || (a->family != 4 && a->family != 6))
		return;
	int af = a->family == 4 ? AF_INET : AF_INET6;
	if (buf_len > (size_t)INT32_MAX)
		buf_len = INT32_MAX;
	if (!inet_ntop(af, a->b, buf, (socklen_t)buf_len))
		buf[0] = '\0';
}

/* Same family and same address bytes (only the 4 bytes of an IPv4 address count). Two
 * absent addresses are equal. */
bool pm_addr_eq(const struct pm_addr *a, const struct pm_addr *b)
{
	if (a->family != b->family)
		return false;
	size_t n = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
	return memcmp(a->b, b->b, n) == 0;
}
