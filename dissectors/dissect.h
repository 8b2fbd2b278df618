/* dissect.h - the face of dissectors/: bytes of one captured frame in, a plain struct out. */
#ifndef PM_DISSECT_H
#define PM_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Anomalies: stable names (see anomaly_name()), stored in the database and printed in
 * reports, so never renumber or rename one; add new ones before AN__COUNT.
 */
enum anomaly {
	AN_CAPLEN_GT_LEN,	 /* "capture.caplen_gt_len" */
	AN_CAPLEN_ZERO,		 /* "capture.caplen_zero" */
	AN_LINK_UNSUPPORTED,	 /* "link.unsupported" */
	AN_LINK_TRUNCATED,	 /* "link.truncated" */
	AN_VLAN_TOO_DEEP,	 /* "link.vlan_too_deep" */
	AN_ENCAP_TOO_DEEP,	 /* "encap.too_deep" */
	AN_ENCAP_TRUNCATED,	 /* "encap.truncated" */
	AN_IPV4_TRUNCATED,	 /* "ipv4.truncated" */
	AN_IPV4_BAD_VERSION,	 /* "ipv4.bad_version" */
	AN_IPV4_BAD_IHL,	 /* "ipv4.bad_ihl" */
	AN_IPV4_BAD_TOTAL_LEN,	 /* "ipv4.bad_total_len" */
	AN_IPV4_BAD_CHECKSUM,	 /* "ipv4.bad_checksum" */
	AN_IPV4_FRAGMENT,	 /* "ipv4.fragment" (a non-first fragment: no ports) */
	AN_IPV6_TRUNCATED,	 /* "ipv6.truncated" */
	AN_IPV6_BAD_VERSION,	 /* "ipv6.bad_version" */
	AN_IPV6_EXT_TOO_MANY,	 /* "ipv6.ext_too_many" */
	AN_IPV6_BAD_EXT,	 /* "ipv6.bad_ext" */
	AN_IPV6_FRAGMENT,	 /* "ipv6.fragment" */
	AN_UDP_TRUNCATED,	 /* "udp.truncated" */
	AN_UDP_BAD_LENGTH,	 /* "udp.bad_length" */
	AN_UDP_BAD_CHECKSUM,	 /* "udp.bad_checksum" */
	AN_ICMP_TRUNCATED,	 /* "icmp.truncated" */
	AN_ICMP_BAD_CHECKSUM,	 /* "icmp.bad_checksum" */
	AN_ICMP_NO_QUOTE,	 /* "icmp.no_quote" */
	AN_ICMP_BAD_RFC4884_LEN, /* "icmp.bad_rfc4884_length" */
	AN_QUOTE_TRUNCATED,	 /* "quote.truncated" (quote shorter than its headers) */
	AN_QUOTE_BAD_VERSION,	 /* "quote.bad_version" */
	AN_QUOTE_BAD_IHL,	 /* "quote.bad_ihl" (IHL < 5: no ports taken from it) */
	AN_QUOTE_FRAGMENT,	 /* "quote.fragment" (quoted non-first fragment) */
	AN_QUOTE_EXT_TOO_MANY,	 /* "quote.ext_too_many" */
	AN_DNS_TRUNCATED,	 /* "dns.truncated" */
	AN_DNS_BAD_LABEL,	 /* "dns.bad_label" */
	AN_DNS_NAME_TOO_LONG,	 /* "dns.name_too_long" */
	AN_DNS_BAD_POINTER,	 /* "dns.bad_pointer" (forward, self or loop) */
	AN_IPV6_BAD_PAYLOAD_LEN, /* "ipv6.bad_payload_len" (more than the frame holds) */
	AN_GTPU_BAD_LENGTH,	 /* "gtpu.bad_length" (message or extension header length) */
	AN_GTPU_EXT_TOO_MANY,	 /* "gtpu.ext_too_many" */
	/* A frame in an encapsulation we recognise but do not open (SPEC §5: counted per kind,
	 * never silently dropped; unopened.c says which kinds and why). At most one per frame. */
	AN_UNDISSECTED_ESP,    /* "encap.undissected.esp" (IP 50, ESP-in-UDP 4500) */
	AN_UNDISSECTED_L2TP,   /* "encap.undissected.l2tp" (data: UDP 1701, IP 115) */
	AN_UNDISSECTED_GRE,    /* "encap.undissected.gre" (a payload type or version) */
	AN_UNDISSECTED_GENEVE, /* "encap.undissected.geneve" (a protocol type or version) */
	AN_UNDISSECTED_MPLS,   /* "encap.undissected.mpls" (neither IP nor control word) */
	AN_UNDISSECTED_MACSEC, /* "encap.undissected.macsec" (ethertype 0x88e5) */
	AN_UNDISSECTED_CAPWAP, /* "encap.undissected.capwap" (data channel, UDP 5247) */
	AN_UNDISSECTED_GTPU,   /* "encap.undissected.gtpu" (a G-PDU whose T-PDU is not IP) */
	AN__COUNT
};

/* Stable dotted name of an anomaly ("ipv4.bad_ihl"); "unknown" out of range. */
const char *anomaly_name(enum anomaly a);

/* An IP address: family 4 or 6, 0 when absent. Bytes in network order. */
struct pm_addr {
	uint8_t family;
	uint8_t b[16];
};

/* Writes the textual address (glibc's inet_ntop form) into buf (>= 46 bytes); "" when absent
 * or when buf is too small. */
void pm_addr_str(const struct pm_addr *a, char *buf, size_t buf_len);
/* Same family and same address bytes (only the 4 bytes of an IPv4 address count). Two
 * absent addresses are equal. Inline, with the sizes fixed: the correlation compares
 * addresses several times per datagram, and a call to memcmp() each time showed in its
 * profile. */
static inline bool pm_addr_eq(const struct pm_addr *a, const struct pm_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == 4)
		return memcmp(a->b, b->b, 4) == 0;
	if (a->family == 6)
		return memcmp(a->b, b->b, 16) == 0;
	return true;
}

/* The order of memcmp(x, y, sizeof *x) (the family, then every address byte), negative,
 * zero or positive, without the call: what orders the two ends of a conversation. */
static inline int pm_addr_order(const struct pm_addr *x, const struct pm_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	for (int half = 0; half < 2; half++) {
		uint64_t a, b;
		memcpy(&a, x->b + 8 * half, 8);
		memcpy(&b, y->b + 8 * half, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		a = __builtin_bswap64(a), b = __builtin_bswap64(b); /* byte order = number order */
#endif
		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

/* Bytes of the packet: valid until the next packet is read. */
struct pm_span {
	const uint8_t *p;
	size_t len;
};

/*
 * The application a UDP payload shows (SPEC §6: named from the payload, not from the port).
 * Stored in the database as hint_kind_name(), so never renumber one: add new kinds before
 * HINT__COUNT.
 */
enum hint_kind {
	HINT_NONE,
	HINT_DNS,	 /* "dns" (also mDNS, LLMNR) */
	HINT_SYSLOG,	 /* "syslog" */
	HINT_NTP,	 /* "ntp" */
	HINT_SNMP,	 /* "snmp" */
	HINT_STUN,	 /* "stun" (also TURN: RFC 5389 messages with the magic cookie) */
	HINT_RTP,	 /* "rtp" */
	HINT_RTCP,	 /* "rtcp" */
	HINT_QUIC,	 /* "quic" (IETF long headers and Google QUIC) */
	HINT_DTLS,	 /* "dtls" */
	HINT_SIP,	 /* "sip" */
	HINT_WIREGUARD,	 /* "wireguard" */
	HINT_BACNET,	 /* "bacnet" (BACnet/IP, BVLC) */
	HINT_SSDP,	 /* "ssdp" */
	HINT_MEMCACHED,	 /* "memcached" (UDP frame, ASCII protocol) */
	HINT_DHCP,	 /* "dhcp" (DHCP and BOOTP with the DHCP magic cookie) */
	HINT_TFTP,	 /* "tftp" */
	HINT_RADIUS,	 /* "radius" */
	HINT_NETBIOS_NS, /* "netbios-ns" */
	HINT_IKE,	 /* "ike" (ISAKMP, IKEv1 and IKEv2) */
	HINT_BITTORRENT, /* "bittorrent" (the DHT's bencoded KRPC) */
	HINT_UTP,	 /* "utp" (BitTorrent's micro transport protocol) */
	HINT_MESSENGER,	 /* "messenger" (Windows Messenger service over DCE/RPC) */
	HINT_MSSQL_M,	 /* "ms-sql-m" (SQL Server resolution protocol; SQL Slammer) */
	HINT_CLDAP,	 /* "cldap" */
	HINT_ESP,	 /* "esp" (IPsec ESP in UDP and NAT keepalives, RFC 3948) */
	HINT_DHIP,	 /* "dhip" (Dahua IP camera discovery and control) */
	HINT__COUNT
};

/* Stable lowercase name of a kind ("dns", "stun", "ms-sql-m"); NULL for HINT_NONE and for
 * values outside the enum. A static string. */
const char *hint_kind_name(enum hint_kind k);

#define PM_DNS_NAME_MAX 255
#define PM_APP_TEXT_MAX 32

/* What the start of a (quoted or outer) UDP payload says about the application. */
struct app_hint {
	enum hint_kind kind;
	/* DNS: qname is the raw label bytes joined by '.', NOT escaped (reports escape). */
	uint16_t dns_id;
	uint16_t dns_flags;
	uint16_t dns_qtype;
	uint16_t dns_qclass;
	bool dns_has_question;
	uint16_t dns_qname_len;
	uint8_t dns_qname[PM_DNS_NAME_MAX + 1]; /* NUL-terminated copy; may hold any byte */
	int syslog_pri;				/* 0..191, -1 unknown */
	uint8_t ntp_version, ntp_mode;
	int snmp_version; /* 0 = v1, 1 = v2c, 3 = v3, -1 unknown */
	int snmp_pdu;	  /* ASN.1 context tag number of the PDU, -1 unknown */
	/*
	 * The kinds after HINT_SNMP; what each field holds for a kind is written beside the
	 * recogniser that fills it (dissectors/<protocol>.c):
	 * app_code: STUN message type, RTP/RTCP payload type, QUIC long-header packet type,
	 *   DTLS content type, SIP status code, WireGuard message type, BVLC function,
	 *   DHCP message type, TFTP opcode, RADIUS code, NetBIOS opcode, IKE exchange type,
	 *   DHT message kind, uTP packet type, Messenger opnum, ms-sql-m request, CLDAP operation.
	 * app_value: QUIC version, DTLS record version, IKE major version, ESP SPI, RTP/RTCP SSRC,
	 *   NetBIOS name suffix, the payload length where it is the evidence (ms-sql-m).
	 * app_text: raw packet bytes, NOT escaped, NUL-terminated (SIP method, SSDP method,
	 *   memcached command, TFTP file name, NetBIOS name, ms-sql-m instance).
	 */
	uint16_t app_code;
	uint32_t app_value;
	uint8_t app_text_len;
	uint8_t app_text[PM_APP_TEXT_MAX + 1];
};

/* Formats a hint in one line ("dns A example.com", "syslog pri 13", "ntp v4 client",
 * "snmp v2c get-request", "stun binding-request", "rtp pt 111", "quic v1 initial",
 * "sip INVITE", "dhcp discover", "bacnet unicast-npdu", ...): the kind's name first, then
 * what the payload said. Bytes from the packet are copied raw (the caller escapes). "" if
 * none. */
void app_hint_str(const struct app_hint *h, char *buf, size_t buf_len);
/* app_hint_str() with the whole DNS name, NUL bytes included (format.c); returns its length. */
size_t app_hint_bytes(const struct app_hint *h, char *buf, size_t buf_len);
const char *dns_qtype_name(uint16_t qtype); /* "A", "AAAA", ... or NULL */

/* format.c */
/*
 * Escapes raw packet bytes (a DNS name) into printable ASCII: bytes 0x20..0x7e stay, except
 * backslash which becomes "\\"; every other byte becomes "\xNN". The result holds no
 * control character (callers still escape quotes for HTML/JSON/CSV) and is
 * valid UTF-8. Writes at most out_len-1 chars plus NUL (cut on a whole escape); returns the
 * length written.
 */
size_t pm_bytes_escape(const uint8_t *p, size_t n, char *out, size_t out_len);

/*
 * ns since the epoch as UTC: "2026-11-23T21:42:45.501342Z" (ISO 8601, iso true) or
 * "2026-11-23 21:42:45.501342" (for people), with 9, 6 or 3 fraction digits for a precision
 * of at least that, none below 3. "?" for INT64_MIN (no time) or a time gmtime_r() cannot
 * represent. Cut to fit len.
 */
void pm_fmt_utc(int64_t ns, int precision, bool iso, char *buf, size_t len);
/* A duration for people: "350 µs", "12 ms", "1.5 s", "4 min 12 s", "2 h 3 min", "3 d 4 h"
 * (negative as 0). */
void pm_fmt_duration(int64_t ns, char *buf, size_t len);
/* The word for n things: `one` when n is 1, else `many` ("error"/"errors", "reply"/"replies"). */
const char *pm_plural(int64_t n, const char *one, const char *many);

/* Lowercase hex of n bytes into out (2n+1 bytes needed, cut to fit); returns length. */
size_t pm_bytes_hex(const uint8_t *p, size_t n, char *out, size_t out_len);
const char *proto_name(uint8_t proto); /* "udp", "tcp", ... or NULL */
/* Comma-separated (json: a JSON array of) the names of the anomalies in `bits`. */
void anomaly_list(uint64_t bits, bool json, char *buf, size_t buf_len);

/* The IP datagram quoted inside an ICMP error (RFC 792, RFC 4443, RFC 4884). */
struct quote {
	uint8_t ip_version; /* 4 or 6; 0 if the quote held no usable IP header */
	struct pm_addr src, dst;
	uint8_t proto;	       /* IP protocol of the quoted datagram (after IPv6 ext headers) */
	uint8_t ttl;	       /* quoted TTL / hop limit */
	uint16_t ip_total_len; /* declared length of the original datagram */
	uint16_t ip_id;
	bool has_ports; /* ports decoded (UDP, TCP, SCTP, UDP-Lite; first fragment only) */
	uint16_t sport, dport;
	uint16_t udp_len; /* declared UDP length, 0 if not UDP or not quoted */
	uint16_t udp_cksum;
	uint16_t quote_len;	/* bytes of the original datagram that the error carries */
	struct pm_span payload; /* quoted L4 payload bytes present (after the UDP header) */
	bool truncated;		/* ran out of quote before the end of the headers */
	struct app_hint hint;
};

enum pkt_kind {
	PK_OTHER,	       /* nothing we analyze */
	PK_UDP,		       /* an ordinary UDP datagram (outer) */
	PK_ICMP_UNREACH,       /* ICMPv4 type 3 or ICMPv6 type 1 */
	PK_ICMP_TIME_EXCEEDED, /* ICMPv4 type 11 or ICMPv6 type 3 */
};

/* IP protocol numbers (IANA) that the dissectors and the store name. */
enum {
	PM_IPPROTO_ICMP = 1,
	PM_IPPROTO_TCP = 6,
	PM_IPPROTO_UDP = 17,
	PM_IPPROTO_ICMP6 = 58,
	PM_IPPROTO_SCTP = 132,
	PM_IPPROTO_UDPLITE = 136,
};

/* True for the transport protocols whose first 4 bytes are source and destination port
 * (TCP, UDP, SCTP, UDP-Lite). */
bool pm_proto_has_ports(uint8_t proto);

/* The ICMP error types and codes the analysis is about (RFC 792, RFC 4443 §3.1, §3.3). */
enum {
	PM_ICMP4_UNREACH = 3,	   /* destination unreachable */
	PM_ICMP4_PORT_UNREACH = 3, /* its code: port unreachable */
	PM_ICMP4_TIME_EXCEEDED = 11,
	PM_ICMP6_UNREACH = 1,	   /* destination unreachable */
	PM_ICMP6_PORT_UNREACH = 4, /* its code: port unreachable */
	PM_ICMP6_TIME_EXCEEDED = 3,
};

/* Whether an ICMP message of `family` (4 = ICMPv4, 6 = ICMPv6) is a port unreachable: the one
 * definition in C (the database's is the view of db/views.sql). */
static inline bool pm_is_port_unreachable(int family, int type, int code)
{
	if (family == 4)
		return type == PM_ICMP4_UNREACH && code == PM_ICMP4_PORT_UNREACH;
	return family == 6 && type == PM_ICMP6_UNREACH && code == PM_ICMP6_PORT_UNREACH;
}

struct icmp_error {
	uint8_t family; /* 4 = icmp, 6 = icmp6 */
	uint8_t type, code;
	uint16_t cksum;	     /* as sent: the same at every capture point on the path */
	uint16_t next_mtu;   /* type 3 code 4 / ICMPv6 type 2 */
	uint8_t rfc4884_len; /* length field, in 32-bit (v4) / 64-bit (v6) words; 0 = none */
	bool has_extensions; /* RFC 4884 extension structure present after the quote */
	struct quote q;
};

/* One dissected frame. The outer IP fields describe the innermost IP header that carried
 * the UDP datagram or the ICMP message (after tunnels). */
struct dissection {
	enum pkt_kind kind;
	uint64_t anomalies; /* bit (1 << enum anomaly) */
	uint8_t n_vlan;
	uint16_t vlan_id;   /* outermost VLAN id, 0 if untagged */
	uint8_t n_encap;    /* tunnel layers peeled (MPLS, PPPoE, GRE, VXLAN, GENEVE, GTP-U,
			     * IP-in-IP) */
	uint8_t ip_version; /* 4, 6 or 0 when no IP was found */
	struct pm_addr src, dst;
	uint8_t ttl; /* outer TTL / hop limit */
	uint8_t ip_proto;
	uint16_t ip_len; /* declared total length of the outer datagram */
	/* PK_UDP */
	uint16_t sport, dport;
	uint16_t udp_len;
	struct pm_span payload; /* UDP payload bytes present */
	/* PK_ICMP_* */
	struct icmp_error icmp;
};

/* LINKTYPE_* values we decode (the numbers written in capture files). */
enum {
	PM_LINKTYPE_NULL = 0,
	PM_LINKTYPE_ETHERNET = 1,
	PM_LINKTYPE_PPP = 9, /* RFC 1661, with or without RFC 1662 address/control */
	PM_LINKTYPE_RAW = 101,
	PM_LINKTYPE_LOOP = 108,
	PM_LINKTYPE_LINUX_SLL = 113,
	PM_LINKTYPE_IPV4 = 228,
	PM_LINKTYPE_IPV6 = 229,
	PM_LINKTYPE_LINUX_SLL2 = 276,
};

/*
 * Dissects one frame of link type `linktype` (a LINKTYPE_ number; DLT_RAW 12/14 accepted).
 * `caplen` bytes are at `data`; `wirelen` is the original length. Fills *out completely
 * (it is cleared first). Pure: no allocation, no I/O. Never reads past caplen.
 * Returns out->kind. Spans in *out point into `data`.
 */
enum pkt_kind dissect_packet(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
			     struct dissection *out);

/* True when the frame is one that dissect_packet() takes by its shortcut, TCP over IPv4 over
 * untagged Ethernet with nothing wrong that the chain of dissectors would find: its kind is
 * PK_OTHER, with no anomaly. A caller that needs only the kind and anomalies of such a frame
 * (most of the traffic of a capture) may skip dissect_packet() for it. Reads at most 34
 * bytes, never past caplen. */
bool dissect_plain_tcp4(int linktype, const uint8_t *data, size_t caplen, size_t wirelen);

/* True when the link type is one dissect_packet understands. */
bool dissect_linktype_supported(int linktype);

/* Dissects the payload of an ICMP error (everything after the 8-byte ICMP header) as the
 * quoted datagram; exposed for tests. `family` is 4 or 6; `rfc4884_len` as in icmp_error. */
void dissect_quote(const uint8_t *data, size_t len, uint8_t family, uint8_t rfc4884_len,
		   struct icmp_error *err, uint64_t *anomalies);

/*
 * Names the application of a UDP payload from its bytes (see apphint.c for the order of the
 * checks): data[0..len) are the bytes present, which may be cut anywhere (an ICMP quote), so
 * a protocol whose signature is not all there is not claimed. The ports only break ties and
 * confirm protocols that have no signature of their own (NTP, syslog, TFTP, RADIUS, ...).
 * Resets *out first; HINT_NONE when nothing in the bytes says what they are. dns.* anomaly
 * bits go to *anomalies (may be NULL) only for a payload claimed as DNS.
 */
void dissect_app_hint(const uint8_t *data, size_t len, uint16_t sport, uint16_t dport,
		      struct app_hint *out, uint64_t *anomalies);

/* DNS question decoder (RFC 1035 §4.1): fills id/flags/qname/qtype. Returns 0 ok,
 * -1 truncated, -2 malformed (an anomaly bit is set). */
int dissect_dns(const uint8_t *data, size_t len, struct app_hint *out, uint64_t *anomalies);

#endif
