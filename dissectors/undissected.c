/* undissected.c - encapsulations we recognise but do not open (SPEC §5): ESP (RFC 4303, RFC
 * 3948), L2TP (RFC 2661, RFC 3931), MACsec (IEEE 802.1AE), CAPWAP (RFC 5415) data. */
#include "dissectors/internal.h"

/*
 * A frame in one of these is flagged encap.undissected.<kind> (one kind per frame: dissection
 * stops there), so a report can say how much traffic was not looked into. A kind is listed
 * when real networks put user traffic in it and something solid identifies it, never a port
 * alone:
 *   esp     IP protocol 50, and ESP-in-UDP on 4500 (NAT-T) with an SPI of 256 or more (0 marks
 *           IKE, 1-255 are reserved; a 1-byte 0xff is a keepalive): encrypted, cannot be opened.
 *           Every IPsec VPN.
 *   l2tp    data messages only (control messages carry no frame): L2TPv2 or v3 headers on
 *           UDP 1701 with their reserved bits clear, L2TPv3 over IP (115) with a session id.
 *           ISP access networks (BNG/LNS), pseudowires.
 *   macsec  ethertype 0x88e5: link encryption between switches, hosts (Linux macsec devices).
 *   capwap  the CAPWAP data channel (UDP 5247): a valid header with a wireless binding, or a
 *           DTLS application-data record (encrypted). Controller-based Wi-Fi.
 * and, where the dissectors of the tunnel find them (gre.c, geneve.c, mpls.c, gtpu.c):
 *   gre     a GRE payload type we do not decode (WCCP, Cisco metadata, vendor types; not the
 *           control protocols NHRP, CDP, IS-IS, ARP, keepalives), source routing, an unknown
 *           version;
 *   geneve  a version-0 header, reserved bits clear, with a protocol type we do not decode;
 *   mpls    after the label stack, neither IPv4, IPv6 nor a pseudowire control word
 *           (an Ethernet pseudowire without control word, other payloads);
 *   gtpu    a G-PDU whose T-PDU is not IP (Ethernet or unstructured PDU sessions).
 * VXLAN always carries Ethernet, which is opened. Left out, as rare where port unreachables
 * are diagnosed or not identifiable: Teredo (3544 marks only the qualification exchange with
 * the server; data flows between peers use any port), VXLAN-GPE (4790), MPLS-in-UDP (6635,
 * a label stack has no magic to confirm the port), LISP data (4341), PBB (0x88e7), NSH
 * (0x894f), IPv4 AH (in transport mode not an encapsulation), CAPWAP control (5246).
 */

#define ESP_SPI_MIN 256 /* RFC 4303 §2.1: SPIs 1-255 are reserved by IANA */

/* IP protocol 50: ESP over IP. The number says it; the payload is encrypted. */
void dx_esp(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	dx_flag(x, AN_UNDISSECTED_ESP);
}

/* IP protocol 115: L2TPv3 over IP (RFC 3931 §4.1.1.2). Session id 0 is a control message. */
void dx_l2tpv3_ip(struct dctx *x, const struct ip_layer *ip, struct cursor c)
{
	uint32_t session = cur_be32(&c);
	if (!c.err && session != 0)
		dx_flag(x, AN_UNDISSECTED_L2TP);
}

/* Ethertype 0x88e5: an 802.1AE SecTAG follows, then (usually encrypted) user data. */
void dx_macsec(struct dctx *x, struct cursor c)
{
	dx_flag(x, AN_UNDISSECTED_MACSEC);
}

/* ESP-in-UDP (RFC 3948 §2.2): the first 4 octets are a non-zero SPI, and not a reserved one
 * (a receiver tells ESP from IKE by them alone; a snaplen may cut what follows). */
static bool esp_in_udp(struct cursor c)
{
	uint32_t spi = cur_be32(&c);
	return !c.err && spi >= ESP_SPI_MIN;
}

#define L2TP_T 0x8000	    /* control message */
#define L2TP_L 0x4000	    /* v2: length field present */
#define L2TP_S 0x0800	    /* v2: Ns, Nr present */
#define L2TP_O 0x0200	    /* v2: offset size present */
#define L2TP_V2_RSVD 0x34f0 /* RFC 2661 §3.1: the x bits */
#define L2TP_V3_RSVD 0x7ff0 /* RFC 3931 §4.1.2.1 */

/* An L2TP data message on UDP 1701: v2 (RFC 2661 §3.1) with its optional fields present, or
 * v3 (RFC 3931 §4.1.2.1) with a session id. */
static bool l2tp_data(struct cursor c)
{
	uint16_t flags = cur_be16(&c);
	if (c.err || (flags & L2TP_T))
		return false;
	if ((flags & 0x0f) == 2 && !(flags & L2TP_V2_RSVD)) {
		size_t opt = ((flags & L2TP_L) ? 2 : 0) + 4 + ((flags & L2TP_S) ? 4 : 0) +
			     ((flags & L2TP_O) ? 2 : 0);
		return cur_has(&c, opt);
	}
	if ((flags & 0x0f) == 3 && !(flags & L2TP_V3_RSVD)) {
		uint16_t reserved = cur_be16(&c);
		uint32_t session = cur_be32(&c);
		return !c.err && reserved == 0 && session != 0;
	}
	return false;
}

#define CAPWAP_WBID_80211 1
#define CAPWAP_WBID_EPC 3
#define DTLS_APP_DATA 23

/* A CAPWAP data channel packet (RFC 5415 §4.1, §4.3) carrying a frame: preamble version 0;
 * type 0 with a header of at least 2 words, a wireless binding and the keep-alive bit clear,
 * or type 1 (DTLS) with an application-data record. */
static bool capwap_data(struct cursor c)
{
	uint32_t w = cur_be32(&c);
	if (c.err || (w >> 28) != 0)
		return false;
	if ((w >> 24) == 1) {
		uint8_t type = cur_u8(&c);
		uint8_t major = cur_u8(&c);
		return !c.err && (w & 0xffffff) == 0 && type == DTLS_APP_DATA && major == 0xfe;
	}
	unsigned hlen = (w >> 19) & 0x1f, wbid = (w >> 9) & 0x1f, keepalive = (w >> 3) & 1;
	if ((w >> 24) != 0 || hlen < 2 || keepalive ||
	    (wbid != CAPWAP_WBID_80211 && wbid != CAPWAP_WBID_EPC))
		return false;
	return cur_has(&c, (size_t)hlen * 4 - 4 + 1);
}

static const struct {
	uint16_t port;
	bool (*is)(struct cursor c);
	enum anomaly kind;
} UDP_UNDISSECTED[] = {
    {1701, l2tp_data, AN_UNDISSECTED_L2TP},
    {4500, esp_in_udp, AN_UNDISSECTED_ESP},
    {5247, capwap_data, AN_UNDISSECTED_CAPWAP},
};

/* A UDP payload c between sport and dport that no tunnel dissector took: flags the kind when
 * either port is one of an encapsulation above and the bytes are what that port promises
 * (NAT-T and L2TP answers come from the well-known port to another one). */
void dx_udp_undissected(struct dctx *x, uint16_t sport, uint16_t dport, struct cursor c)
{
	for (size_t i = 0; i < sizeof UDP_UNDISSECTED / sizeof UDP_UNDISSECTED[0]; i++) {
		uint16_t port = UDP_UNDISSECTED[i].port;
		if ((port == sport || port == dport) && UDP_UNDISSECTED[i].is(c)) {
			dx_flag(x, UDP_UNDISSECTED[i].kind);
			return;
		}
	}
}
