/* apphint.c - names the application of a UDP payload from its bytes (SPEC §6), in a fixed
 * order of recognisers, each in its protocol's file; and the hint's one-line text. */
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

void app_text_set(struct app_hint *h, struct cursor c, size_t n)
{
	if (n > PM_APP_TEXT_MAX)
		n = PM_APP_TEXT_MAX;
	if (n > c.left)
		n = c.left;
	cur_copy(&c, h->app_text, n);
	h->app_text[n] = '\0';
	h->app_text_len = (uint8_t)n;
}

#define PORTS_MAX 4 /* ports of one port-bound entry; 0 ends a shorter list */

enum rec_group { STRONG, PORT_BOUND, STRUCTURE, WEAK };

/*
 * The order of the checks is the point of this table: the first recogniser that claims the
 * payload names it.
 * 1. Signatures that random or foreign bytes almost never match (magic numbers, a UUID, a
 *    registered version number, exact text), tried on every port: the port is not asked.
 * 2. Protocols with little or no signature of their own, tried only when their IANA port is
 *    one of the two: the port says which protocol to check and the bytes must agree with it
 *    (NTP's version and mode, a RADIUS length, TFTP's request, ...). A DNS header on 53 is
 *    enough here even when the quote stops before the question.
 * 3. Structures that identify a protocol on any port but are weaker than group 1: a DNS
 *    message with a whole, well-formed question (DNS on 8053 or 5300 is still DNS), an SNMP
 *    message down to its PDU, a syslog line with its header.
 * 4. Weak signatures, last: RTCP, RTP (two version bits and a payload type), uTP.
 * Groups 3 and 4 are not tried when one of the ports is a group 2 port: the port breaks the
 * tie, and a payload that fails its own port's check is a damaged or unknown message of that
 * service (a NetBIOS name with a bad letter is still DNS-shaped; a transaction ID of 0x89..
 * passes for RTP), not another application.
 * A payload no entry claims stays HINT_NONE: reports then say udp/PORT, never a guess.
 */
static const struct {
	app_fn fn;
	enum rec_group group;
	uint16_t ports[PORTS_MAX]; /* PORT_BOUND only */
} RECOGNISERS[] = {
    {stun_recognise, STRONG, {0}},		 /* magic cookie 0x2112A442 (RFC 5389) */
    {dhcp_recognise, STRONG, {0}},		 /* magic cookie 0x63825363 at 236 (RFC 2131) */
    {messenger_recognise, STRONG, {0}},		 /* DCE/RPC interface UUID */
    {dhip_recognise, STRONG, {0}},		 /* "DHIP" magic */
    {quic_recognise, STRONG, {0}},		 /* long header, registered version (RFC 9000) */
    {dtls_recognise, STRONG, {0}},		 /* record headers with DTLS versions (RFC 6347) */
    {wireguard_recognise, STRONG, {0}},		 /* type, three zero bytes, exact size */
    {dht_recognise, STRONG, {0}},		 /* bencoded KRPC dictionary (BEP 5) */
    {memcached_recognise, STRONG, {0}},		 /* UDP frame header + ASCII command */
    {sip_recognise, STRONG, {0}},		 /* request or status line (RFC 3261) */
    {ssdp_recognise, STRONG, {0}},		 /* HTTPU request line */
    {bacnet_recognise, STRONG, {0}},		 /* BVLC header with its length + NPDU version */
    {dns_on_port, PORT_BOUND, {53, 5353, 5355}}, /* DNS, mDNS, LLMNR */
    {nbns_recognise, PORT_BOUND, {137}},
    {ntp_recognise, PORT_BOUND, {123}},
    {snmp_on_port, PORT_BOUND, {161, 162}},
    {syslog_on_port, PORT_BOUND, {514}},
    {tftp_recognise, PORT_BOUND, {69}},
    {radius_recognise, PORT_BOUND, {1812, 1813, 1645, 1646}},
    {ike_recognise, PORT_BOUND, {500, 4500}},
    {esp_recognise, PORT_BOUND, {4500}},
    {mssql_recognise, PORT_BOUND, {1434}},
    {cldap_recognise, PORT_BOUND, {389}},
    {dns_anywhere, STRUCTURE, {0}},
    {snmp_anywhere, STRUCTURE, {0}},
    {syslog_anywhere, STRUCTURE, {0}},
    {rtcp_recognise, WEAK, {0}},
    {rtp_recognise, WEAK, {0}},
    {utp_recognise, WEAK, {0}},
};

static bool ports_match(const uint16_t ports[PORTS_MAX], const struct app_in *in)
{
	for (size_t i = 0; i < PORTS_MAX && ports[i]; i++)
		if (app_port(in, ports[i]))
			return true;
	return false;
}

void app_hint_classify(const uint8_t *data, size_t len, size_t wire_len, uint16_t sport,
		       uint16_t dport, struct app_hint *out, uint64_t *anomalies)
{
	uint64_t ignored = 0;
	hint_reset(out);
	if (!data || len == 0)
		return;
	if (wire_len != PM_LEN_UNKNOWN && wire_len < len)
		wire_len = PM_LEN_UNKNOWN; /* a declared length shorter than the bytes: no help */
	struct app_in in = {cur_make(data, len), wire_len, sport, dport};
	bool service_port = false;
	for (size_t i = 0; i < sizeof RECOGNISERS / sizeof RECOGNISERS[0]; i++) {
		enum rec_group g = RECOGNISERS[i].group;
		if (g == PORT_BOUND) {
			if (!ports_match(RECOGNISERS[i].ports, &in))
				continue;
			service_port = true;
		}
		if ((g == STRUCTURE || g == WEAK) && service_port)
			return;
		if (RECOGNISERS[i].fn(&in, out, anomalies ? anomalies : &ignored))
			return;
	}
}

/* Nothing in out points into data. */
void dissect_app_hint(const uint8_t *data, size_t len, uint16_t sport, uint16_t dport,
		      struct app_hint *out, uint64_t *anomalies)
{
	app_hint_classify(data, len, PM_LEN_UNKNOWN, sport, dport, out, anomalies);
}

static const struct {
	const char *name;
	app_str_fn str;
} KINDS[HINT__COUNT] = {
    [HINT_DNS] = {"dns", dns_str},
    [HINT_SYSLOG] = {"syslog", syslog_str},
    [HINT_NTP] = {"ntp", ntp_str},
    [HINT_SNMP] = {"snmp", snmp_str},
    [HINT_STUN] = {"stun", stun_str},
    [HINT_RTP] = {"rtp", rtp_str},
    [HINT_RTCP] = {"rtcp", rtcp_str},
    [HINT_QUIC] = {"quic", quic_str},
    [HINT_DTLS] = {"dtls", dtls_str},
    [HINT_SIP] = {"sip", sip_str},
    [HINT_WIREGUARD] = {"wireguard", wireguard_str},
    [HINT_BACNET] = {"bacnet", bacnet_str},
    [HINT_SSDP] = {"ssdp", ssdp_str},
    [HINT_MEMCACHED] = {"memcached", memcached_str},
    [HINT_DHCP] = {"dhcp", dhcp_str},
    [HINT_TFTP] = {"tftp", tftp_str},
    [HINT_RADIUS] = {"radius", radius_str},
    [HINT_NETBIOS_NS] = {"netbios-ns", nbns_str},
    [HINT_IKE] = {"ike", ike_str},
    [HINT_BITTORRENT] = {"bittorrent", dht_str},
    [HINT_UTP] = {"utp", utp_str},
    [HINT_MESSENGER] = {"messenger", messenger_str},
    [HINT_MSSQL_M] = {"ms-sql-m", mssql_str},
    [HINT_CLDAP] = {"cldap", cldap_str},
    [HINT_ESP] = {"esp", esp_str},
    [HINT_DHIP] = {"dhip", dhip_str},
};

const char *hint_kind_name(enum hint_kind k)
{
	if ((unsigned)k >= HINT__COUNT)
		return NULL;
	return KINDS[k].name;
}

/* Formats h in one line, the kind's name first ("dns A example.com", "dns TYPE65 x.org",
 * "dns ? exam" for a name cut short, "syslog pri 13", "ntp v4 client", "snmp v2c
 * get-request", "stun binding-request", "quic v1 initial", ...); "" for none. Packet bytes
 * are copied raw (a NUL byte ends the text): the caller escapes. */
void app_hint_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	if (!buf || buf_len == 0)
		return;
	buf[0] = '\0';
	if (!h || (unsigned)h->kind >= HINT__COUNT || !KINDS[h->kind].str)
		return;
	KINDS[h->kind].str(h, buf, buf_len);
}
