/* test_dissect_apps.c - the application recognisers (dissectors/apphint.c and a file per
 * protocol): each on the first bytes of a real payload, every cut of it placed against an
 * unreadable guard page, and near misses that must not be claimed. */
#include <criterion/criterion.h>
#include <string.h>

#include "dissectors/internal.h"
#include "tests/unit/build_packets.h"

/* ---- payloads taken from real captures (the first bytes of one datagram each) ---- */

/* STUN Binding Request of a WhatsApp call (44 bytes, whole) */
static const uint8_t STUN[] = {
    0x00, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42, 0x59, 0x8b, 0x51, 0x54, 0xd5, 0x29, 0x91,
    0x56, 0x4c, 0x46, 0x66, 0x04, 0x00, 0x08, 0x00, 0x14, 0x60, 0x29, 0x98, 0x48, 0xdf, 0xab,
    0x93, 0x23, 0x58, 0x54, 0x8c, 0x7d, 0x23, 0x5e, 0x82, 0x76, 0x8b, 0x49, 0x58, 0xa7,
};

/* STUN Allocate Request of the same call, unpadded: length 106 (first 24 of 126 bytes) */
static const uint8_t STUN_UNPADDED[] = {
    0x00, 0x03, 0x00, 0x6a, 0x21, 0x12, 0xa4, 0x42, 0xa6, 0x67, 0x4f, 0x75,
    0xf0, 0xad, 0x2c, 0x00, 0x13, 0x15, 0xb3, 0x36, 0x40, 0x00, 0x00, 0x66,
};

/* RTP of a WhatsApp call, payload type 120 (first 32 of 171 bytes) */
static const uint8_t RTP[] = {
    0x80, 0x78, 0x00, 0x09, 0x00, 0x03, 0x43, 0x00, 0x87, 0xfa, 0xb2, 0xd7, 0x83, 0x5d, 0xd7, 0x34,
    0x01, 0xaa, 0x2e, 0xc0, 0xfe, 0xef, 0xa7, 0xf3, 0x1a, 0xef, 0x7f, 0xf9, 0xdd, 0x11, 0x02, 0xc1,
};

/* RTCP sender report of the same call (first 32 of 122 bytes) */
static const uint8_t RTCP[] = {
    0x81, 0xc8, 0x00, 0x12, 0x87, 0xfa, 0xb2, 0xd7, 0xdc, 0xe3, 0x2d, 0x6e, 0x6f, 0xae, 0x8f, 0x09,
    0xc5, 0x23, 0xd7, 0x7e, 0x36, 0x2f, 0x6c, 0xd8, 0x59, 0xb5, 0x05, 0x03, 0xcb, 0x5c, 0xd2, 0x0a,
};

/* QUIC v1 Handshake packet from a CDN to a phone (first 24 of 1232 bytes) */
static const uint8_t QUIC_HS[] = {
    0xe6, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x91, 0x00, 0xcb, 0xd0, 0x05,
    0x80, 0x4b, 0x05, 0x44, 0xbf, 0xdf, 0xed, 0x96, 0x91, 0x2e, 0xaf, 0x5b,
};

/* QUIC v1 client Initial (first 24 of 1200 bytes) */
static const uint8_t QUIC_INIT[] = {
    0xce, 0x00, 0x00, 0x00, 0x01, 0x08, 0x84, 0xac, 0xac, 0x06, 0xb4, 0x2e,
    0xd8, 0x63, 0x00, 0x00, 0x44, 0x9e, 0xbf, 0x8d, 0xec, 0x1e, 0x22, 0xec,
};

/* QUIC version negotiation listing v1 and a greased version (23 bytes, whole) */
static const uint8_t QUIC_VN[] = {
    0xf5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x9d, 0x57, 0x28, 0x48, 0x12,
    0x87, 0xa3, 0xb4, 0x00, 0x00, 0x00, 0x01, 0x1a, 0x2a, 0x3a, 0x4a,
};

/* Google QUIC Q046 client hello (first 24 of 1350 bytes) */
static const uint8_t GQUIC[] = {
    0xc3, 0x51, 0x30, 0x34, 0x36, 0x50, 0x21, 0xe5, 0x5d, 0x4e, 0xc1, 0x1a,
    0x8b, 0x1d, 0x00, 0x00, 0x00, 0x03, 0x5e, 0x9f, 0xb9, 0xe3, 0x39, 0x89,
};

/* DTLS 1.2 alert record carried by a call relay (31 bytes, whole) */
static const uint8_t DTLS[] = {
    0x15, 0xfe, 0xfd, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x12, 0x1f, 0x80, 0x8a,
    0x53, 0x84, 0x6e, 0x4f, 0x1d, 0xdf, 0x73, 0xe5, 0x0e, 0xae, 0xfc, 0xb8, 0x46, 0xe3, 0xcb,
};

/* BACnet/IP readProperty answer from a reflector (first 32 of 96 bytes) */
static const uint8_t BACNET[] = {
    0x81, 0x0a, 0x00, 0x60, 0x01, 0x00, 0x30, 0x01, 0x0e, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x1e, 0x29,
    0x0c, 0x5e, 0x91, 0x01, 0x91, 0x1f, 0x5f, 0x29, 0x1c, 0x5e, 0x91, 0x01, 0x91, 0x1f, 0x5f, 0x29,
};

/* Dahua DHIP answer from a reflector (first 32 of 761 bytes) */
static const uint8_t DHIP[] = {
    0x20, 0x00, 0x00, 0x00, 0x44, 0x48, 0x49, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xd9, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Windows Messenger spam to 1026, little-endian DCE/RPC (first 72 of 458 bytes) */
static const uint8_t MESSENGER[] = {
    0x04, 0x00, 0x28, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x91, 0x7b, 0x5a, 0x00, 0xff,
    0xd0, 0x11, 0xa9, 0xb2, 0x00, 0xc0, 0x4f, 0xb6, 0xe6, 0xfc, 0xdc, 0x56, 0x32, 0x1c, 0x21,
    0x10, 0xca, 0xb4, 0xa3, 0x7f, 0xa8, 0xcd, 0xd6, 0x29, 0x34, 0xe3, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
};

/* DNS query A e872.g.akamaiedge.net (39 bytes, whole) */
static const uint8_t DNS[] = {
    0x13, 0xa2, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
    0x65, 0x38, 0x37, 0x32, 0x01, 0x67, 0x0a, 0x61, 0x6b, 0x61, 0x6d, 0x61, 0x69,
    0x65, 0x64, 0x67, 0x65, 0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* mDNS query with two questions, unicast-response bit (49 bytes, whole) */
static const uint8_t MDNS[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x5f, 0x72, 0x61, 0x6f, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f,
    0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c, 0x80, 0x01, 0x08, 0x5f, 0x61, 0x69, 0x72,
    0x70, 0x6c, 0x61, 0x79, 0xc0, 0x12, 0x00, 0x0c, 0x80, 0x01,
};

/* NetBIOS name query, broadcast (50 bytes, whole) */
static const uint8_t NBNS[] = {
    0x89, 0x21, 0x01, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
    0x45, 0x42, 0x46, 0x43, 0x45, 0x43, 0x45, 0x46, 0x45, 0x4a, 0x46, 0x45, 0x46,
    0x44, 0x45, 0x48, 0x46, 0x43, 0x46, 0x46, 0x46, 0x41, 0x46, 0x41, 0x45, 0x46,
    0x43, 0x41, 0x43, 0x41, 0x42, 0x4c, 0x00, 0x00, 0x20, 0x00, 0x01,
};

/* NTP v4 server reply (first 16 of 52 bytes) */
static const uint8_t NTP[] = {
    0xe4, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, 0x53, 0x54, 0x45, 0x50,
};

/* SNMP v1 message to 162, cut in the community (12 bytes) */
static const uint8_t SNMP[] = {
    0x30, 0x82, 0x00, 0x30, 0x02, 0x01, 0x00, 0x04, 0x06, 0x70, 0x75, 0x62,
};

/* BSD syslog line (first 24 of 51 bytes) */
static const uint8_t SYSLOG[] = {
    0x3c, 0x35, 0x3e, 0x53, 0x65, 0x70, 0x20, 0x31, 0x32, 0x20, 0x31, 0x39,
    0x3a, 0x31, 0x36, 0x3a, 0x31, 0x32, 0x20, 0x74, 0x68, 0x72, 0x6f, 0x75,
};

/* TFTP read request for "file1", octet (14 bytes, whole) */
static const uint8_t TFTP[] = {
    0x00, 0x01, 0x66, 0x69, 0x6c, 0x65, 0x31, 0x00, 0x6f, 0x63, 0x74, 0x65, 0x74, 0x00,
};

/* RADIUS Access-Request (first 40 of 139 bytes) */
static const uint8_t RADIUS[] = {
    0x01, 0x05, 0x00, 0x8b, 0xec, 0xfe, 0x3d, 0x2f, 0xe4, 0x47, 0x3e, 0xc6, 0x29, 0x90,
    0x95, 0xee, 0x46, 0xae, 0xdf, 0x77, 0x04, 0x06, 0x0a, 0x00, 0x00, 0x01, 0x05, 0x06,
    0x00, 0x00, 0xc3, 0x5c, 0x3d, 0x06, 0x00, 0x00, 0x00, 0x0f, 0x01, 0x0e,
};

/* IKEv2 IKE_SA_INIT request (first 32 of 376 bytes) */
static const uint8_t IKEV2[] = {
    0xa8, 0x88, 0x75, 0xa8, 0x19, 0x89, 0x92, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x21, 0x20, 0x22, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x78, 0x22, 0x00, 0x00, 0x78,
};

/* IKEv1 main mode, first message (first 32 of 292 bytes) */
static const uint8_t IKEV1[] = {
    0x9e, 0x89, 0xf2, 0x38, 0x8f, 0x90, 0xbc, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x24, 0x0d, 0x00, 0x00, 0x94,
};

/* IKEv1 main mode, encrypted, after the non-ESP marker on 4500 (first 36 of 328 bytes) */
static const uint8_t IKE4500[] = {
    0x00, 0x00, 0x00, 0x00, 0x9e, 0x89, 0xf2, 0x38, 0x8f, 0x90, 0xbc, 0x1e,
    0x0a, 0x74, 0x35, 0x7c, 0xe3, 0xd1, 0xa4, 0xbf, 0x05, 0x10, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x44, 0xa0, 0x24, 0x60, 0xdc,
};

/* ESP in UDP on 4500 (first 24 of 140 bytes) */
static const uint8_t ESP[] = {
    0x53, 0xed, 0xa0, 0xa1, 0x00, 0x00, 0xe1, 0x33, 0x44, 0xd5, 0xf5, 0xda,
    0x43, 0xeb, 0x39, 0x5b, 0x7b, 0x21, 0x0d, 0xdc, 0xe5, 0xa0, 0x20, 0xdb,
};

/* SSDP M-SEARCH (first 40 of 126 bytes) */
static const uint8_t SSDP[] = {
    0x4d, 0x2d, 0x53, 0x45, 0x41, 0x52, 0x43, 0x48, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54,
    0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x4f, 0x53, 0x54, 0x3a, 0x20, 0x32,
    0x33, 0x39, 0x2e, 0x32, 0x35, 0x35, 0x2e, 0x32, 0x35, 0x35, 0x2e, 0x32,
};

/* ---- payloads from specifications, attack write-ups and reference implementations (tshark's
 * dissectors read each as intended, uTP excepted: tshark has no heuristic for it), and one
 * real DHCP message whose zeros are left implicit ---- */

#define TXT(s) (const uint8_t *)(s), sizeof(s) - 1

/* RFC 3261 §24.2 F1, the request line and the start of the first header */
#define SIP_INVITE "INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33"
#define SIP_200 "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP server10"
#define SSDP_NOTIFY "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
#define SSDP_200 "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n"
/* BEP 5's ping query, whole */
#define DHT_PING "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
/* the memcached "stats" request of the 2018 reflection attacks, whole */
#define MC_STATS "\0\0\0\0\0\1\0\0stats\r\n"

/* WireGuard handshake initiation: type, reserved, sender index; the rest (140 bytes of
 * keys and MACs) is random and not kept */
static const uint8_t WG_INIT[] = {0x01, 0x00, 0x00, 0x00, 0x5d, 0x1c, 0x6a, 0x2f,
				  0x0b, 0x30, 0x55, 0x7a, 0x9f, 0xc4, 0xe9, 0x0e};
/* CLDAP rootDSE search for (objectclass=*), as AD's DC locator and reflection attacks send */
static const uint8_t CLDAP[] = {0x30, 0x25, 0x02, 0x01, 0x01, 0x63, 0x20, 0x04, 0x00, 0x0a,
				0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01,
				0x00, 0x01, 0x01, 0x00, 0x87, 0x0b, 0x6f, 0x62, 0x6a, 0x65,
				0x63, 0x74, 0x63, 0x6c, 0x61, 0x73, 0x73, 0x30, 0x00};
/* the opening of SQL Slammer (376 bytes: 0x04, then 0x01 up to the overwritten return
 * address, then the code) */
static const uint8_t SLAMMER[] = {0x04, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01};
/* uTP ST_STATE from BitTorrent's reference implementation (20 bytes, whole) */
static const uint8_t UTP_STATE[] = {0x21, 0x00, 0x15, 0x72, 0x00, 0xba, 0x4d, 0x71, 0x00, 0x00,
				    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x41, 0xa7, 0x00, 0x01};
/* DHCP Discover of a laptop (first 255 of 300 bytes; real bytes, zeros left implicit) */
static const uint8_t DHCP[255] = {
    [0] = 0x01,	  0x01, 0x06, 0x00, 0x7e, 0x4a, 0xf2, 0xd7, /* op, htype, hlen, hops, xid */
    [28] = 0xd8,  0x30, 0x62, 0x56, 0x00, 0x1c,		    /* chaddr */
    [236] = 0x63, 0x82, 0x53, 0x63,			    /* magic cookie */
    0x35,	  0x01, 0x01,				    /* message type: discover */
    0x37,	  0x0a, 0x01, 0x79, 0x03, 0x06, 0x0f, 0x77, 0xfc, 0x5f, 0x2c, 0x2e, /* requests */
};

struct app_case {
	const char *what;
	const uint8_t *b;
	size_t n;    /* bytes kept here: the payload's first ones */
	size_t wire; /* the payload's whole length */
	uint16_t sport, dport;
	const char *hint; /* app_hint_str() with the whole length declared */
	size_t sig;	  /* fewest first bytes claimed with the whole length declared */
};

static const struct app_case CASES[] = {
    {"stun", STUN, sizeof STUN, 44, 32704, 56328, "stun binding-request", 8},
    {"rtp", RTP, sizeof RTP, 171, 32704, 56328, "rtp pt 120", 12},
    {"rtcp", RTCP, sizeof RTCP, 122, 3478, 56328, "rtcp sr", 8},
    {"quic_hs", QUIC_HS, sizeof QUIC_HS, 1232, 443, 44320, "quic v1 handshake", 15},
    {"quic_init", QUIC_INIT, sizeof QUIC_INIT, 1200, 50606, 443, "quic v1 initial", 15},
    {"quic_vn", QUIC_VN, sizeof QUIC_VN, 23, 443, 57406, "quic version-negotiation", 19},
    {"gquic", GQUIC, sizeof GQUIC, 1350, 38824, 443, "quic Q046 initial", 5},
    {"dtls", DTLS, sizeof DTLS, 31, 598, 38352, "dtls 1.2 alert", 13},
    {"bacnet", BACNET, sizeof BACNET, 96, 47808, 30120, "bacnet unicast-npdu", 5},
    {"dhip", DHIP, sizeof DHIP, 761, 37810, 30120, "dhip", 8},
    {"messenger", MESSENGER, sizeof MESSENGER, 458, 59310, 1026, "messenger send-message", 40},
    {"dns", DNS, sizeof DNS, 39, 54639, 53, "dns A e872.g.akamaiedge.net", 12},
    {"mdns", MDNS, sizeof MDNS, 49, 5353, 5353, "dns PTR _raop._tcp.local", 12},
    {"nbns", NBNS, sizeof NBNS, 50, 137, 137, "netbios-ns query ARBEITSGRUPPE<1b>", 45},
    {"ntp", NTP, sizeof NTP, 52, 123, 58054, "ntp v4 server", 1},
    {"snmp", SNMP, sizeof SNMP, 12, 12336, 162, "snmp v1", 7},
    {"syslog", SYSLOG, sizeof SYSLOG, 51, 47565, 514, "syslog pri 5", 3},
    {"tftp", TFTP, sizeof TFTP, 14, 44935, 69, "tftp read-request file1", 14},
    {"radius", RADIUS, sizeof RADIUS, 139, 1645, 1812, "radius access-request", 20},
    {"ikev2", IKEV2, sizeof IKEV2, 376, 500, 500, "ike v2 sa-init", 28},
    {"ikev1", IKEV1, sizeof IKEV1, 292, 500, 500, "ike v1 main-mode", 28},
    {"ike4500", IKE4500, sizeof IKE4500, 328, 4500, 4500, "ike v1 main-mode", 32},
    {"esp", ESP, sizeof ESP, 140, 4500, 4500, "esp spi 0x53eda0a1", 8},
    {"ssdp", SSDP, sizeof SSDP, 126, 50384, 1900, "ssdp M-SEARCH", 21},
    {"stun-unpadded", STUN_UNPADDED, sizeof STUN_UNPADDED, 126, 56328, 3478,
     "stun allocate-request", 8},
    {"sip", TXT(SIP_INVITE), 144, 5060, 5060, "sip INVITE", 11},
    {"sip-200", TXT(SIP_200), 56, 5060, 5060, "sip 200", 12},
    {"ssdp-notify", TXT(SSDP_NOTIFY), 87, 1900, 1900, "ssdp NOTIFY", 19},
    {"ssdp-200", TXT(SSDP_200), 99, 1900, 50000, "ssdp 200", 13},
    {"dht", TXT(DHT_PING), 56, 6881, 6881, "bittorrent dht query", 12},
    {"memcached", TXT(MC_STATS), 15, 50000, 11211, "memcached stats", 14},
    {"wireguard", WG_INIT, sizeof WG_INIT, 148, 51820, 51820, "wireguard handshake-initiation", 4},
    {"cldap", CLDAP, sizeof CLDAP, 39, 50000, 389, "cldap search-request", 6},
    {"slammer", SLAMMER, sizeof SLAMMER, 376, 50000, 1434, "ms-sql-m slammer worm 376 bytes", 1},
    {"utp", UTP_STATE, sizeof UTP_STATE, 20, 6881, 6881, "utp state", 20},
    {"dhcp", DHCP, sizeof DHCP, 300, 68, 67, "dhcp discover", 240},
    /* the same DNS query on ports that are not DNS's: the whole question is needed */
    {"dns-8053", DNS, sizeof DNS, 39, 54639, 8053, "dns A e872.g.akamaiedge.net", 39},
    /* the same syslog line away from 514: PRI and timestamp */
    {"syslog-5140", SYSLOG, sizeof SYSLOG, 51, 47565, 5140, "syslog pri 5", 13},
};

static enum hint_kind kind_of(const uint8_t *b, size_t n, size_t wire, uint16_t sport,
			      uint16_t dport)
{
	struct app_hint h;
	app_hint_classify(b, n, wire, sport, dport, &h, NULL);
	return h.kind;
}

static void hint_text(const struct app_hint *h, char *buf, size_t n)
{
	app_hint_str(h, buf, n);
}

Test(dissect_apps, real_payloads_name_their_application)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		const struct app_case *t = &CASES[i];
		struct app_hint h;
		char buf[128];
		uint64_t an = 0;
		app_hint_classify(t->b, t->n, t->wire, t->sport, t->dport, &h, &an);
		hint_text(&h, buf, sizeof buf);
		cr_assert_str_eq(buf, t->hint, "%s", t->what);
		cr_assert_eq(an, 0, "%s", t->what);
		const char *name = hint_kind_name(h.kind);
		cr_assert_not_null(name, "%s", t->what);
		cr_assert_eq(strncmp(buf, name, strlen(name)), 0,
			     "%s: the text starts with the name", t->what);
		/* without the declared length: the same, or nothing when the length is the
		 * evidence and the bytes kept are not the whole payload */
		dissect_app_hint(t->b, t->n, t->sport, t->dport, &h, NULL);
		if (t->n == t->wire)
			cr_assert_eq(h.kind, kind_of(t->b, t->n, t->wire, t->sport, t->dport), "%s",
				     t->what);
		else
			cr_assert(h.kind == HINT_NONE ||
				      h.kind == kind_of(t->b, t->n, t->wire, t->sport, t->dport),
				  "%s", t->what);
	}
}

/* Every cut 0..n-1, its last byte the last readable one: no over-read (a fault), nothing
 * claimed before the signature is all there, and never another application. */
Test(dissect_apps, every_cut_against_a_guard_page)
{
	size_t page;
	uint8_t *m = guard_region(&page);
	cr_assert_not_null(m);
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
		const struct app_case *t = &CASES[i];
		enum hint_kind full = kind_of(t->b, t->n, t->wire, t->sport, t->dport);
		for (size_t k = 0; k < t->n; k++) {
			uint8_t *buf = m + page - k;
			memcpy(buf, t->b, k);
			enum hint_kind got = kind_of(buf, k, t->wire, t->sport, t->dport);
			cr_assert_eq(got, k < t->sig ? HINT_NONE : full, "%s cut at %zu: %s",
				     t->what, k,
				     hint_kind_name(got) ? hint_kind_name(got) : "none");
			struct app_hint h;
			dissect_app_hint(buf, k, t->sport, t->dport, &h, NULL);
			cr_assert(h.kind == HINT_NONE || (h.kind == full && k >= t->sig),
				  "%s cut at %zu, length unknown: %s", t->what, k,
				  hint_kind_name(h.kind));
			char text[128];
			hint_text(&h, text, sizeof text);
		}
	}
	guard_release(m, page);
}

static const struct app_case *case_named(const char *what)
{
	for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
		if (strcmp(CASES[i].what, what) == 0)
			return &CASES[i];
	cr_assert_fail("no case %s", what);
	return NULL;
}

/* A real payload with one byte changed (off < n), or on other ports (0: the case's own). */
struct miss {
	const char *what; /* case */
	size_t off;
	uint8_t val;
	uint16_t sport, dport;
	size_t wire; /* 0: the case's own */
	enum hint_kind want;
	const char *why;
};

static const struct miss MISSES[] = {
    {"stun", 4, 0x21 ^ 1, 0, 0, 0, HINT_NONE, "magic cookie off by one bit"},
    {"stun", 3, 0x19, 0, 0, 0, HINT_NONE, "length not a multiple of 4"},
    {"stun", 3, 0x14, 0, 0, 0, HINT_NONE, "length shorter than the datagram"},
    {"stun", 0, 0x40, 0, 0, 0, HINT_NONE, "top bits of the type set"},
    {"stun", 0, 0x00, 0, 0, 48, HINT_NONE, "datagram longer than the message"},
    {"stun-unpadded", 3, 0x6a, 0, 0, 127, HINT_NONE, "unpadded and one byte short"},
    {"rtp", 0, 0x40, 0, 0, 0, HINT_NONE, "version 1"},
    {"rtp", 1, 0xc8, 0, 0, 0, HINT_RTCP, "marker and payload type 72 read as an RTCP SR"},
    {"rtp", 1, 0x50, 0, 0, 0, HINT_NONE, "payload type 80: unassigned"},
    {"rtp", 0, 0x8f, 0, 0, 0, HINT_NONE, "15 CSRCs: more header than the bytes kept"},
    {"rtcp", 3, 0x05, 0, 0, 0, HINT_NONE, "SR length too short for its sender info"},
    {"rtcp", 2, 0x01, 0, 0, 0, HINT_NONE, "length beyond the datagram"},
    {"rtcp", 1, 0xd0, 0, 0, 0, HINT_NONE, "type 208: neither RTCP nor an RTP payload type"},
    {"quic_hs", 4, 0x02, 0, 0, 0, HINT_NONE, "version 2: not registered"},
    {"quic_hs", 0, 0xa6, 0, 0, 0, HINT_NONE, "fixed bit clear"},
    {"quic_hs", 6, 0x15, 0, 0, 0, HINT_NONE, "source connection ID of 21 bytes"},
    {"quic_vn", 18, 0x02, 0, 0, 0, HINT_NONE, "a listed version that is not registered"},
    {"quic_vn", 0, 0xf5, 0, 0, 25, HINT_NONE, "version list not a multiple of 4"},
    {"gquic", 2, 0x31, 0, 0, 0, HINT_NONE, "\"Q146\""},
    {"dtls", 0, 0x1a, 0, 0, 0, HINT_NONE, "content type 26"},
    {"dtls", 2, 0xfe, 0, 0, 0, HINT_NONE, "version 0xfefe"},
    {"dtls", 12, 0x13, 0, 0, 0, HINT_NONE, "record longer than the datagram"},
    {"dtls", 12, 0x11, 0, 0, 0, HINT_NONE, "one byte left after the record"},
    {"bacnet", 0, 0x01, 0, 0, 0, HINT_NONE, "BVLC type 0x01"},
    /* RTP's two version bits are a weak signature: a damaged BVLC header passes for RTP */
    {"bacnet", 1, 0x0c, 0, 0, 0, HINT_RTP, "BVLC function 0x0c: not BACnet"},
    {"bacnet", 3, 0x5f, 0, 0, 0, HINT_RTP, "BVLC length one short of the datagram"},
    {"bacnet", 4, 0x02, 0, 0, 0, HINT_RTP, "NPDU version 2"},
    {"dhip", 4, 'd', 0, 0, 0, HINT_NONE, "\"dHIP\""},
    {"messenger", 24, 0xf9, 0, 0, 0, HINT_NONE, "another interface UUID"},
    {"messenger", 4, 0x00, 0, 0, 0, HINT_NONE, "the UUID in the other byte order"},
    {"messenger", 1, 0x01, 0, 0, 0, HINT_NONE, "a ping, not a request"},
    {"dns", 4, 0x41, 0, 0, 0, HINT_NONE, "16641 questions"},
    {"dns", 0, 0x13, 0, 8053, 0, HINT_DNS, "a whole question on 8053"},
    {"dns", 38, 0x02, 0, 8053, 0, HINT_NONE, "class 2 (CSNET) off the DNS ports"},
    {"mdns", 0, 0x00, 40000, 40001, 0, HINT_NONE, "two questions: DNS only on 5353"},
    {"nbns", 12, 0x21, 0, 0, 0, HINT_NONE, "name of 33 bytes"},
    {"nbns", 13, 'Q', 0, 0, 0, HINT_NONE, "a letter past 'P'"},
    {"nbns", 0, 0x89, 40000, 40001, 0, HINT_DNS, "off 137: a well-formed DNS query"},
    {"ntp", 0, 0xe4, 40000, 40001, 0, HINT_NONE, "NTP bytes off port 123"},
    {"ntp", 0, 0xe0, 0, 0, 0, HINT_NONE, "mode 0"},
    {"ntp", 0, 0xfc, 0, 0, 0, HINT_NONE, "version 7"},
    {"ntp", 1, 0x11, 0, 0, 0, HINT_NONE, "stratum 17"},
    {"snmp", 0, 0x30, 40000, 40001, 0, HINT_NONE, "a cut message off 161/162"},
    {"snmp", 4, 0x04, 0, 0, 0, HINT_NONE, "version not an INTEGER"},
    {"syslog", 0, 0x3c, 40000, 40001, 0, HINT_SYSLOG, "PRI and a timestamp on any port"},
    {"syslog", 3, 'X', 40000, 40001, 0, HINT_NONE, "PRI without a timestamp off 514"},
    {"syslog", 2, 'x', 0, 0, 0, HINT_NONE, "PRI not closed by '>'"},
    {"tftp", 12, 'x', 0, 0, 0, HINT_NONE, "mode \"octex\""},
    {"tftp", 1, 0x07, 0, 0, 0, HINT_NONE, "opcode 7"},
    {"tftp", 0, 0x00, 44935, 70, 0, HINT_NONE, "a read request away from port 69"},
    {"radius", 0, 0x06, 0, 0, 0, HINT_NONE, "code 6"},
    {"radius", 3, 0x8c, 0, 0, 0, HINT_NONE, "length beyond the datagram"},
    {"radius", 21, 0x01, 0, 0, 0, HINT_NONE, "an attribute of length 1"},
    {"radius", 0, 0x01, 40000, 40001, 0, HINT_NONE, "RADIUS bytes off its ports"},
    {"ikev2", 17, 0x30, 0, 0, 0, HINT_NONE, "version 3.0"},
    {"ikev2", 18, 0x27, 0, 0, 0, HINT_NONE, "exchange 39"},
    {"ikev2", 27, 0x79, 0, 0, 0, HINT_NONE, "length one more than the datagram"},
    {"ikev1", 0, 0x9e, 500, 40000, 0, HINT_IKE, "port 500 on one side is enough"},
    {"ikev1", 0, 0x9e, 4500, 4500, 0, HINT_ESP, "IKE without the marker on 4500 is ESP"},
    {"esp", 0, 0x53, 4500, 40000, 0, HINT_ESP, "4500 on one side is enough"},
    {"esp", 0, 0x53, 4501, 4501, 0, HINT_NONE, "ESP bytes off 4500"},
    {"ssdp", 9, 'X', 0, 0, 0, HINT_NONE, "\"M-SEARCH X\""},
    {"sip", 7, 'x', 0, 0, 0, HINT_NONE, "URI scheme \"xip:\""},
    {"sip", 6, '_', 0, 0, 0, HINT_NONE, "no space after the method"},
    {"sip-200", 8, '7', 0, 0, 0, HINT_NONE, "status 700"},
    {"ssdp-200", 0, 'H', 50000, 50001, 0, HINT_SSDP, "an ST header away from 1900"},
    {"ssdp-200", 47, 'X', 50000, 50001, 0, HINT_NONE, "no ST or USN header away from 1900"},
    {"dht", 3, 'b', 0, 0, 0, HINT_NONE, "key \"b\""},
    {"memcached", 7, 0x01, 0, 0, 0, HINT_NONE, "reserved bytes not zero"},
    {"memcached", 3, 0x01, 0, 0, 0, HINT_NONE, "sequence 1 of 1 datagram"},
    {"memcached", 8, 'S', 0, 0, 0, HINT_NONE, "\"Stats\""},
    {"wireguard", 0, 0x01, 0, 0, 149, HINT_NONE, "initiation of 149 bytes"},
    {"wireguard", 3, 0x01, 0, 0, 0, HINT_NONE, "reserved byte not zero"},
    {"wireguard", 0, 0x04, 0, 0, 0, HINT_NONE, "transport data of 148 bytes: not a multiple of 16"},
    {"wireguard", 0, 0x04, 0, 0, 160, HINT_WIREGUARD, "transport data of 160 bytes"},
    {"cldap", 5, 0x60, 0, 0, 0, HINT_NONE, "a bind request"},
    {"cldap", 0, 0x30, 50000, 390, 0, HINT_NONE, "CLDAP bytes off 389"},
    {"slammer", 0, 0x04, 50000, 1434, 20, HINT_NONE,
     "0x04 and 20 bytes: neither request nor overflow"},
    {"slammer", 0, 0x04, 50000, 1435, 0, HINT_NONE, "the worm off 1434"},
    {"utp", 0, 0x22, 0, 0, 0, HINT_NONE, "uTP version 2"},
    {"utp", 1, 0x03, 0, 0, 0, HINT_NONE, "extension 3"},
    {"utp", 1, 0x02, 0, 0, 0, HINT_NONE, "extension bits without their header"},
    {"dhcp", 236, 0x64, 0, 0, 0, HINT_NONE, "magic cookie off"},
    {"dhcp", 0, 0x03, 0, 0, 0, HINT_NONE, "op 3"},
    {"dhcp", 2, 0x11, 0, 0, 0, HINT_NONE, "hardware address of 17 bytes"},
};

Test(dissect_apps, near_misses)
{
	for (size_t i = 0; i < sizeof MISSES / sizeof MISSES[0]; i++) {
		const struct miss *x = &MISSES[i];
		const struct app_case *t = case_named(x->what);
		uint8_t b[512];
		cr_assert(t->n <= sizeof b && x->off < t->n);
		memcpy(b, t->b, t->n);
		b[x->off] = x->val;
		uint16_t sport = x->sport ? x->sport : t->sport,
			 dport = x->dport ? x->dport : t->dport;
		size_t wire = x->wire ? x->wire : t->wire;
		enum hint_kind got = kind_of(b, t->n, wire, sport, dport);
		cr_assert_eq(got, x->want, "%s: %s: got %s", x->what, x->why,
			     hint_kind_name(got) ? hint_kind_name(got) : "none");
	}
}

static enum hint_kind kind_any(const uint8_t *b, size_t n, uint16_t sport, uint16_t dport)
{
	struct app_hint h;
	dissect_app_hint(b, n, sport, dport, &h, NULL);
	return h.kind;
}

static void text_is(const uint8_t *b, size_t n, size_t wire, uint16_t sport, uint16_t dport,
		    const char *want)
{
	struct app_hint h;
	char buf[128];
	app_hint_classify(b, n, wire, sport, dport, &h, NULL);
	app_hint_str(&h, buf, sizeof buf);
	cr_assert_str_eq(buf, want);
}

Test(dissect_apps, what_is_left_unnamed)
{
	/* QUIC short headers carry no version: never claimed, whatever the port */
	static const uint8_t short_hdr[] = {0x41, 0x91, 0x00, 0xcb, 0xd0, 0x05, 0x80, 0x4b, 0x05,
					    0x44, 0xbf, 0xdf, 0xed, 0x96, 0x91, 0x2e, 0xaf, 0x5b};
	cr_assert_eq(kind_any(short_hdr, sizeof short_hdr, 443, 44320), HINT_NONE);
	/* TURN ChannelData (channel 0x4000, 16 bytes of data) is not recognised: a channel
	 * number and a length that a cut quote cannot confirm */
	static const uint8_t channel[] = {0x40, 0x00, 0x00, 0x10, 0x80, 0x78, 0x00,
					  0x09, 0x00, 0x03, 0x43, 0x00, 0x87, 0xfa,
					  0xb2, 0xd7, 0x83, 0x5d, 0xd7, 0x34};
	cr_assert_eq(kind_any(channel, sizeof channel, 3478, 56328), HINT_NONE);
	/* a later datagram of a memcached reply: no keyword at its start */
	static const uint8_t mc_cont[] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
					  'r',	'e',  'e',  ' ',  '1',	'2',  '\r', '\n'};
	cr_assert_eq(kind_any(mc_cont, sizeof mc_cont, 11211, 40000), HINT_NONE);
	/* ESP on 4500: an SPI below 256, a sequence number of 0 */
	static const uint8_t low_spi[] = {0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t seq0[] = {0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00};
	cr_assert_eq(kind_any(low_spi, sizeof low_spi, 4500, 4500), HINT_NONE);
	cr_assert_eq(kind_any(seq0, sizeof seq0, 4500, 4500), HINT_NONE);
	/* a payload of zeros, of 0xff, of text: nothing (on 4500 any SPI of 256 and more with
	 * a sequence number is ESP: the port names it, ESP has no signature of its own) */
	static const uint8_t zeros[64];
	uint8_t ones[64];
	memset(ones, 0xff, sizeof ones);
	static const uint16_t ports[] = {53, 69, 123, 137, 161, 389, 500, 514, 1434, 1812, 40000};
	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		cr_assert_eq(kind_any(zeros, sizeof zeros, 40000, ports[i]), HINT_NONE, "%u",
			     ports[i]);
		cr_assert_eq(kind_any(ones, sizeof ones, 40000, ports[i]), HINT_NONE, "%u",
			     ports[i]);
	}
	cr_assert_eq(kind_any(zeros, sizeof zeros, 40000, 4500), HINT_NONE);
	cr_assert_eq(kind_any(ones, sizeof ones, 40000, 4500), HINT_ESP);
	cr_assert_eq(kind_any(TXT("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 40000, 80), HINT_NONE);
}

Test(dissect_apps, weak_readings_that_real_traffic_refuted)
{
	/* NetBIOS datagram service (138): type 0x11 and flags 0x02 looked like uTP FIN with
	 * extension bits, whose header is 8 bytes (here "0x20 0x45": a NetBIOS name) */
	static const uint8_t nbdgm[] = {0x11, 0x02, 0x9c, 0x2c, 0x0a, 0x00, 0x02, 0x0f,
					0x00, 0x8a, 0x00, 0xbb, 0x00, 0x00, 0x20, 0x45,
					0x4e, 0x46, 0x44, 0x45, 0x20, 0x45, 0x46, 0x45};
	cr_assert_eq(kind_any(nbdgm, sizeof nbdgm, 138, 138), HINT_NONE);
	/* a traceroute probe's payload (sequence, TTL, time) to 33435 */
	static const uint8_t probe[] = {0x01, 0x02, 0x00, 0x00, 0x43, 0x50, 0xef, 0x44,
					0xb9, 0x97, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	cr_assert_eq(kind_any(probe, sizeof probe, 60577, 33435), HINT_NONE);
	/* a peer-to-peer datagram whose first bytes read as an RTCP RR of 12546 words */
	static const uint8_t p2p[] = {0x87, 0xc9, 0x31, 0x02, 0x6d, 0x4e, 0xb2, 0x56,
				      0xff, 0x40, 0xc8, 0x06, 0xc8, 0xc8, 0x51, 0x03,
				      0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0xc3};
	cr_assert_neq(kind_any(p2p, sizeof p2p, 28681, 11603), HINT_RTCP);
	/* the SSRC comes with RTP and RTCP, so a stream can be confirmed across datagrams */
	struct app_hint h;
	dissect_app_hint(RTP, sizeof RTP, 32704, 56328, &h, NULL);
	cr_assert_eq(h.app_value, 0x87fab2d7);
	dissect_app_hint(RTCP, sizeof RTCP, 3478, 56328, &h, NULL);
	cr_assert_eq(h.kind, HINT_NONE, "an SR longer than the bytes present, length unknown");
	app_hint_classify(RTCP, sizeof RTCP, 122, 3478, 56328, &h, NULL);
	cr_assert_eq(h.app_value, 0x87fab2d7, "the same SSRC as the call's RTP");
}

Test(dissect_apps, port_bound_details)
{
	/* NAT keepalive: the single byte 0xff on 4500, nothing more */
	static const uint8_t ka = 0xff;
	text_is(&ka, 1, 1, 4500, 4500, "esp nat-keepalive");
	cr_assert_eq(kind_of(&ka, 1, 2, 4500, 4500), HINT_NONE);
	/* SQL Server resolution requests and a worm of another size */
	static const uint8_t inst[] = {0x04, 'M', 'S', 'S', 'Q', 'L', 'S',
				       'E',  'R', 'V', 'E', 'R', 0};
	text_is(inst, sizeof inst, sizeof inst, 50000, 1434,
		"ms-sql-m instance-request MSSQLSERVER");
	static const uint8_t bcast = 0x02;
	text_is(&bcast, 1, 1, 50000, 1434, "ms-sql-m browse-request");
	cr_assert_eq(kind_of(&bcast, 1, 9, 50000, 1434), HINT_NONE);
	text_is(SLAMMER, sizeof SLAMMER, 500, 50000, 1434, "ms-sql-m instance-overflow 500 bytes");
	static const uint8_t resp[] = {0x05, 0x0e, 0x00, 'S', 'e', 'r', 'v', 'e', 'r',
				       'N',  'a',  'm',	 'e', ';', 'D', 'B', ';'};
	text_is(resp, sizeof resp, sizeof resp, 1434, 50000, "ms-sql-m response");
	/* TFTP: error, ack, data, option ack */
	static const uint8_t err[] = {0x00, 0x05, 0x00, 0x01, 'F', 'i', 'l', 'e', 0};
	text_is(err, sizeof err, sizeof err, 69, 40000, "tftp error 1");
	static const uint8_t ack[] = {0x00, 0x04, 0x00, 0x01};
	text_is(ack, sizeof ack, sizeof ack, 40000, 69, "tftp ack");
	cr_assert_eq(kind_of(ack, sizeof ack, 6, 40000, 69), HINT_NONE, "an ACK is 4 bytes");
	static const uint8_t oack[] = {0x00, 0x06, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '1', 0};
	text_is(oack, sizeof oack, sizeof oack, 69, 40000, "tftp option-ack");
	/* SNMP down to its PDU is SNMP on any port; the same cut after the version is not */
	static const uint8_t get[] = {0x30, 0x19, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',
				      'b',  'l',  'i',	'c',  0xa0, 0x0c, 0x02, 0x01, 0x2a,
				      0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00};
	text_is(get, sizeof get, sizeof get, 40000, 1161, "snmp v2c get-request");
	cr_assert_eq(kind_of(get, 12, sizeof get, 40000, 1161), HINT_NONE);
	text_is(get, 12, sizeof get, 40000, 161, "snmp v2c");
}

Test(dissect_apps, packet_bytes_stay_raw_in_the_text)
{
	/* a NetBIOS name whose bytes are an escape sequence: copied as they are */
	uint8_t q[50] = {0x12, 0x34, 0x01, 0x10, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x20};
	static const char name[16] = "\x1b[2J<b>        "; /* 15 bytes, then the suffix */
	for (size_t i = 0; i < 16; i++) {
		uint8_t ch = i == 15 ? 0x20 : (uint8_t)name[i];
		q[13 + 2 * i] = (uint8_t)('A' + (ch >> 4));
		q[14 + 2 * i] = (uint8_t)('A' + (ch & 0x0f));
	}
	text_is(q, sizeof q, sizeof q, 137, 137, "netbios-ns query \x1b[2J<b><20>");
	/* a TFTP file name with HTML in it */
	static const uint8_t rrq[] = {0, 1, '<', 'i', '>', 0, 'o', 'c', 't', 'e', 't', 0};
	text_is(rrq, sizeof rrq, sizeof rrq, 40000, 69, "tftp read-request <i>");
	/* a file name longer than the text keeps its first PM_APP_TEXT_MAX bytes */
	uint8_t lng[2 + 40 + 1 + 6] = {0, 2};
	memset(lng + 2, 'a', 40);
	memcpy(lng + 43, "octet", 6);
	struct app_hint h;
	app_hint_classify(lng, sizeof lng, sizeof lng, 40000, 69, &h, NULL);
	cr_assert_eq(h.app_text_len, PM_APP_TEXT_MAX);
	cr_assert_eq(strlen((const char *)h.app_text), PM_APP_TEXT_MAX);
}

Test(dissect_apps, kind_names_are_stable_and_distinct)
{
	static const char *const NAMES[HINT__COUNT] = {
	    NULL,	 "dns",	      "syslog",	  "ntp",    "snmp",	  "stun",   "rtp",
	    "rtcp",	 "quic",      "dtls",	  "sip",    "wireguard",  "bacnet", "ssdp",
	    "memcached", "dhcp",      "tftp",	  "radius", "netbios-ns", "ike",    "bittorrent",
	    "utp",	 "messenger", "ms-sql-m", "cldap",  "esp",	  "dhip",
	};
	cr_assert_null(hint_kind_name(HINT_NONE));
	cr_assert_null(hint_kind_name(HINT__COUNT));
	cr_assert_null(hint_kind_name((enum hint_kind) - 1));
	for (int k = 1; k < HINT__COUNT; k++) {
		const char *n = hint_kind_name((enum hint_kind)k);
		cr_assert_str_eq(n, NAMES[k]);
		for (const char *p = n; *p; p++)
			cr_assert((*p >= 'a' && *p <= 'z') || *p == '-', "%s", n);
		for (int j = 1; j < k; j++)
			cr_assert_str_neq(n, hint_kind_name((enum hint_kind)j));
	}
	/* the values stored before these kinds existed keep their numbers */
	cr_assert_eq(HINT_DNS, 1);
	cr_assert_eq(HINT_SYSLOG, 2);
	cr_assert_eq(HINT_NTP, 3);
	cr_assert_eq(HINT_SNMP, 4);
}
