/* apphint.c - application hints from the first bytes of a UDP payload, by port (IANA). */
#include <stdio.h>
#include <string.h>

#include "dissectors/internal.h"

void hint_reset(struct app_hint *h)
{
	memset(h, 0, sizeof *h);
	h->kind = HINT_NONE;
	h->syslog_pri = -1;
	h->snmp_version = -1;
	h->snmp_pdu = -1;
}

static void dns_hint(struct cursor c, struct app_hint *h, uint64_t *an)
{
	dissect_dns(c.p, c.left, h, an);
}

typedef void (*hint_fn)(struct cursor c, struct app_hint *h, uint64_t *an);

static const struct {
	uint16_t port;
	hint_fn fn;
} APP_PORTS[] = {
	{ 53, dns_hint },     /* DNS */
	{ 123, ntp_hint },    /* NTP */
	{ 161, snmp_hint },   /* SNMP */
	{ 162, snmp_hint },   /* SNMP trap */
	{ 514, syslog_hint }, /* syslog */
	{ 5353, dns_hint },   /* multicast DNS (RFC 6762) */
	{ 5355, dns_hint },   /* LLMNR (RFC 4795) */
	{ 8053, dns_hint },   /* DNS on an alternate port */
};

static hint_fn hint_for_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof APP_PORTS / sizeof APP_PORTS[0]; i++)
		if (APP_PORTS[i].port == port)
			return APP_PORTS[i].fn;
	return NULL;
}

/*
 * Resets *out, then decodes data[0..len) by the destination port, else the source port (a
 * quoted reply). An empty payload or an unknown port leaves HINT_NONE. DNS problems set
 * dns.* anomaly bits in *anomalies (may be NULL). Nothing in out points into data.
 */
void dissect_app_hint(const uint8_t *data, size_t len, uint16_t sport, uint16_t dport,
		      struct app_hint *out, uint64_t *anomalies)
{
	uint64_t ignored = 0;
	hint_reset(out);
	if (!data || len == 0)
		return;
	hint_fn fn = hint_for_port(dport);
	if (!fn)
		fn = hint_for_port(sport);
	if (fn)
		fn(cur_make(data, len), out, anomalies ? anomalies : &ignored);
}

static void dns_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (!h->dns_has_question) {
		if (h->dns_qname_len)
			snprintf(buf, buf_len, "dns ? %s", (const char *)h->dns_qname);
		else
			snprintf(buf, buf_len, "dns");
		return;
	}
	const char *name = h->dns_qname_len ? (const char *)h->dns_qname : ".";
	const char *type = dns_qtype_name(h->dns_qtype);
	if (type)
		snprintf(buf, buf_len, "dns %s %s", type, name);
	else
		snprintf(buf, buf_len, "dns TYPE%u %s", (unsigned)h->dns_qtype, name);
}

static void syslog_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "syslog pri %d", h->syslog_pri);
}

static void ntp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "ntp v%u %s", (unsigned)h->ntp_version, ntp_mode_name(h->ntp_mode));
}

static void snmp_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	static const char *const VERSIONS[] = { " v1", " v2c", "", " v3" };
	const char *v = h->snmp_version >= 0 && h->snmp_version <= 3 ? VERSIONS[h->snmp_version] : "";
	const char *pdu = snmp_pdu_name(h->snmp_pdu);
	if (pdu)
		snprintf(buf, buf_len, "snmp%s %s", v, pdu);
	else if (h->snmp_pdu >= 0)
		snprintf(buf, buf_len, "snmp%s pdu %d", v, h->snmp_pdu);
	else
		snprintf(buf, buf_len, "snmp%s", v);
}

typedef void (*hint_str_fn)(const struct app_hint *h, char *buf, size_t buf_len);

static const hint_str_fn HINT_STR[] = {
	[HINT_DNS] = dns_str,
	[HINT_SYSLOG] = syslog_str,
	[HINT_NTP] = ntp_str,
	[HINT_SNMP] = snmp_str,
};

/* Formats h in one line ("dns A example.com", "dns TYPE65 x.org", "dns ? exam" for a name
 * cut short, "syslog pri 13", "ntp v4 client", "snmp v2c get-request"); "" for none. Name
 * bytes are copied raw (a NUL byte in a label ends the text): the caller escapes. */
void app_hint_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (!buf || buf_len == 0)
		return;
	buf[0] = '\0';
	if (!h || (unsigned)h->kind >= sizeof HINT_STR / sizeof HINT_STR[0] || !HINT_STR[h->kind])
		return;
	HINT_STR[h->kind](h, buf, buf_len);
}
