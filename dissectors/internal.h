/* internal.h - what dissectors/ files share among themselves; not part of the public face. */
#ifndef PM_DISSECT_INTERNAL_H
#define PM_DISSECT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissectors/cursor.h"
#include "dissectors/dissect.h"

/* Caps on every walk driven by packet data (STYLE.md "Packet bytes" 7). */
#define PM_ENCAP_MAX 16	    /* tunnel layers peeled per frame (Suricata's figure) */
#define PM_VLAN_MAX 8	    /* stacked 802.1Q/802.1ad tags per Ethernet header */
#define PM_MPLS_MAX 16	    /* MPLS label stack entries */
#define PM_IPV6_EXT_MAX 8   /* IPv6 extension headers per datagram */
#define PM_GTPU_EXT_MAX 8   /* GTP-U extension headers per message (real ones carry 1 or 2) */
#define PM_DNS_JUMPS_MAX 16 /* DNS compression pointers followed per name */

#define PM_LEN_UNKNOWN SIZE_MAX

static inline void an_set(uint64_t *anomalies, enum anomaly a)
{
	*anomalies |= UINT64_C(1) << a;
}

/* One frame being dissected: the caller's output, and what the capture left out. */
struct dctx {
	struct dissection *out;
	size_t uncaptured; /* wire bytes after the last captured one (wirelen - caplen) */
};

static inline void dx_flag(struct dctx *x, enum anomaly a)
{
	an_set(&x->out->anomalies, a);
}

/* At most how many bytes of the frame's wire length remain from the start of c on: an
 * upper bound (c may have been narrowed by an outer layer; never an underestimate). */
static inline size_t dx_wire_left(const struct dctx *x, const struct cursor *c)
{
	return c->left + x->uncaptured;
}

/* What an IP layer hands to the dissector of its payload. */
struct ip_layer {
	uint8_t version; /* 4 or 6 */
	struct pm_addr src, dst;
	uint8_t proto; /* transport protocol (after IPv6 extension headers) */
	uint8_t ttl;
	uint16_t ip_len;    /* declared total length of the datagram */
	uint16_t ip_id;	    /* IPv4 identification (0 for IPv6) */
	bool more_frags;    /* first fragment of several: L4 lengths exceed what is here */
	bool alt_pseudo;    /* IPv6 routing or destination options header: the checksum
			     * pseudo header may use another address (RFC 8200 §8.1, RFC 6275
			     * home address), so transport checksums are not verified */
	size_t l4_declared; /* declared payload length, PM_LEN_UNKNOWN when not declared */
};

/* True when `all` (the transport message from its first byte) holds every declared byte. */
static inline bool ip_l4_complete(const struct ip_layer *ip, const struct cursor *all)
{
	return !ip->more_frags && ip->l4_declared != PM_LEN_UNKNOWN && all->left >= ip->l4_declared;
}

/* True when a transport checksum over `all` can be verified. */
static inline bool ip_l4_checkable(const struct ip_layer *ip, const struct cursor *all)
{
	return !ip->alt_pseudo && ip_l4_complete(ip, all);
}

/* Declared bytes after the first hdr_len of the transport message (unknown stays unknown). */
static inline size_t ip_l4_after(const struct ip_layer *ip, size_t hdr_len)
{
	if (ip->more_frags || ip->l4_declared == PM_LEN_UNKNOWN || ip->l4_declared < hdr_len)
		return PM_LEN_UNKNOWN;
	return ip->l4_declared - hdr_len;
}

/* A dissector of bytes whose type is known from the layer below (ethertype, AF, PPP). */
typedef void (*dx_fn)(struct dctx *x, struct cursor c);
/* A dissector of an IP payload. */
typedef void (*dx_l4_fn)(struct dctx *x, const struct ip_layer *ip, struct cursor c);

/* dispatch.c: tables ethertype -> dissector and IP protocol -> dissector. dx_ethertype
 * returns false when the ethertype has no dissector (after VLAN tags). */
bool dx_ethertype(struct dctx *x, uint16_t etype, struct cursor c);
void dx_ip_payload(struct dctx *x, const struct ip_layer *ip, struct cursor c);
/* Whether dx_ip_payload() has a dissector for the IP protocol number. */
bool dx_ip_proto_known(uint8_t proto);
/* Called when a tunnel header has been read: false (and encap.too_deep) past the cap,
 * else counts the layer. Every recursion into an inner frame passes through here. */
bool dx_tunnel(struct dctx *x);
/* Makes ip the frame's IP layer: the innermost one wins, and resets what an outer layer
 * said about the transport (a UDP tunnel's ports). */
void dx_commit_ip(struct dctx *x, const struct ip_layer *ip);

/* One per protocol file. */
void dx_ether(struct dctx *x, struct cursor c);			   /* link.c */
bool vlan_walk(struct dctx *x, uint16_t *etype, struct cursor *c); /* vlan.c */
void dx_ipv4(struct dctx *x, struct cursor c);			   /* ipv4.c */
void dx_ipv6(struct dctx *x, struct cursor c);			   /* ipv6.c */
void dx_ip_any(struct dctx *x, struct cursor c);		   /* ipv4.c: by version nibble */
void dx_mpls(struct dctx *x, struct cursor c);			   /* mpls.c */
void dx_pppoe(struct dctx *x, struct cursor c);			   /* pppoe.c */
void dx_ppp(struct dctx *x, struct cursor c);			   /* pppoe.c: PPP protocol field */
void dx_ppp_link(struct dctx *x, struct cursor c);		   /* pppoe.c: LINKTYPE_PPP frame */
void dx_gre(struct dctx *x, const struct ip_layer *ip, struct cursor c); /* gre.c */
/* gre.c: the payload of a GRE header with protocol type `proto` and `flags` (no depth count). */
void dx_gre_proto(struct dctx *x, uint16_t proto, uint16_t flags, struct cursor c);
void dx_vxlan(struct dctx *x, struct cursor c);	 /* vxlan.c */
void dx_geneve(struct dctx *x, struct cursor c); /* geneve.c */
void dx_gtpu(struct dctx *x, struct cursor c);	 /* gtpu.c */
/* undissected.c: encapsulations recognised and counted (encap.undissected.*), not opened. */
void dx_esp(struct dctx *x, const struct ip_layer *ip, struct cursor c);
void dx_l2tpv3_ip(struct dctx *x, const struct ip_layer *ip, struct cursor c);
void dx_macsec(struct dctx *x, struct cursor c);
void dx_udp_undissected(struct dctx *x, uint16_t sport, uint16_t dport, struct cursor c);
void dx_udp(struct dctx *x, const struct ip_layer *ip, struct cursor c);   /* udp.c */
void dx_icmp4(struct dctx *x, const struct ip_layer *ip, struct cursor c); /* icmp.c */
/* An ICMP error type the dissectors decode (the tables of icmp.c and icmp6.c). Errors carry
 * the start of the datagram that caused them; only unreachable and time exceeded make a
 * frame PK_ICMP_*, the others are decoded alike but stay PK_OTHER. */
struct icmp_error_type {
	uint8_t type;
	enum pkt_kind kind;
	bool rfc4884; /* the header holds the RFC 4884 length of the original datagram */
};
/* icmp.c: reads type and code from c. For a type of `types`, clears x->out->icmp, fills its
 * family, type and code, sets the frame's kind and returns the entry; NULL for another type
 * (AN_ICMP_TRUNCATED flagged when c ran out). */
const struct icmp_error_type *icmp_error_start(struct dctx *x, struct cursor *c,
					       const struct icmp_error_type *types, size_t n_types,
					       uint8_t family);
void dx_icmp6(struct dctx *x, const struct ip_layer *ip, struct cursor c); /* icmp6.c */

/* ipv6.c: walks extension headers from *nh. Stops at the first header that is not an
 * extension header, and after a fragment header with a non-zero offset. */
enum ext_rc { EXT_OK, EXT_SHORT, EXT_TOO_MANY };
struct ip6_frag {
	bool present;
	bool more;
	uint16_t offset; /* in bytes */
	uint32_t id;
	bool alt_pseudo; /* a routing or destination options header was walked */
};
enum ext_rc ipv6_walk_ext(struct cursor *c, uint8_t *nh, struct ip6_frag *frag);

/* The fixed IPv4 header (20 bytes) at c into ip (version, total length, identification, TTL,
 * protocol, addresses), its first byte into *vihl and the flags and fragment offset into
 * *frag; c ends after it. False when c ends inside it: what came before the cut is filled,
 * an address is family 0 unless all its bytes were there (an ICMP quote keeps them). */
bool ipv4_fixed(struct cursor *c, struct ip_layer *ip, uint8_t *vihl, uint16_t *frag);
/* link.c: dissect_packet() without its shortcut for TCP over IPv4 (for tests: the two must
 * agree on every frame). */
enum pkt_kind dissect_chain(int linktype, const uint8_t *data, size_t caplen, size_t wirelen,
			    struct dissection *out);
/* The fixed IPv6 header (40 bytes) alike: version, TTL (hop limit), next header in proto,
 * addresses, ip_len = 40 + payload length (capped at 65535), the payload length in *plen. */
bool ipv6_fixed(struct cursor *c, struct ip_layer *ip, uint16_t *plen);

/* quote.c: the quote of an ICMP error. `c` holds the captured bytes after the ICMP header,
 * `decl_len` the bytes the message declares (PM_LEN_UNKNOWN: as captured). */
void quote_dissect(struct cursor c, size_t decl_len, uint8_t family, uint8_t rfc4884_len,
		   struct icmp_error *err, uint64_t *anomalies);

/* cksum.c: Internet checksum (RFC 1071) over a cursor's bytes and over addresses. */
uint64_t cksum_add(uint64_t sum, struct cursor c);
uint64_t cksum_add_addr(uint64_t sum, const struct pm_addr *a);
bool cksum_ok(uint64_t sum); /* the one's complement sum folds to 0xffff */

/* ---- application recognisers (apphint.c dispatches, one file per protocol) ---- */

/* What a recogniser is given: the payload bytes present, what the datagram declared, ports. */
struct app_in {
	struct cursor c; /* the bytes present (may stop anywhere before the end) */
	size_t wire_len; /* the whole payload's length when a header declared it (the
			  * quoted UDP length of an ICMP error), else PM_LEN_UNKNOWN */
	uint16_t sport, dport;
};

/*
 * A recogniser: true when the payload is its protocol, having filled h (kind and its
 * fields; anomaly bits for DNS only); false leaves h and *an untouched. It reads only through
 * the cursor, never past what is present, and does not claim a payload whose signature is
 * cut off.
 */
typedef bool (*app_fn)(const struct app_in *in, struct app_hint *h, uint64_t *an);
/* Writes a hint of its kind in one line (see app_hint_str()). */
typedef void (*app_str_fn)(const struct app_hint *h, char *buf, size_t buf_len);

/* Recognises data[0..len) with what its header declared (apphint.c); quote.c passes the quoted
 * UDP length, dissect_app_hint() PM_LEN_UNKNOWN. */
void app_hint_classify(const uint8_t *data, size_t len, size_t wire_len, uint16_t sport,
		       uint16_t dport, struct app_hint *out, uint64_t *anomalies);

static inline bool app_port(const struct app_in *in, uint16_t port)
{
	return in->sport == port || in->dport == port;
}

/* A length field that covers the whole payload: equal to the declared payload length when
 * that is known; else at least the bytes present (the bytes may be cut, never longer). */
static inline bool app_len_is_whole(const struct app_in *in, size_t declared)
{
	if (in->wire_len != PM_LEN_UNKNOWN)
		return declared == in->wire_len;
	return declared >= in->c.left;
}

/* The payload's whole length for protocols identified by exact sizes: the declared length
 * when known, else the bytes present taken as the whole (a cut then fails the size check). */
static inline size_t app_total_len(const struct app_in *in)
{
	return in->wire_len != PM_LEN_UNKNOWN ? in->wire_len : in->c.left;
}

/* True when the bytes at the cursor start with the n bytes of s (all of them present). */
static inline bool cur_starts(const struct cursor *c, const char *s, size_t n)
{
	if (!cur_has(c, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (c->p[i] != (uint8_t)s[i])
			return false;
	return true;
}
#define CUR_STARTS(c, lit) cur_starts((c), (lit), sizeof(lit) - 1)

/* Copies the first n bytes at c (at most PM_APP_TEXT_MAX, and only those present) raw into
 * h->app_text, NUL-terminated. */
void app_text_set(struct app_hint *h, struct cursor c, size_t n);

/* apphint.c */
void hint_reset(struct app_hint *h);
/* dns.c: decodes the name at offset `off` of the DNS message msg[0..msg_len) into h's qname
 * (RFC 1035 §4.1.4): 0 ok and *end_off past the name in place; -1 truncated; -2 malformed. */
int dns_name_decode(const uint8_t *msg, size_t msg_len, size_t off, struct app_hint *h,
		    size_t *end_off, uint64_t *anomalies);
/* dns.c: DNS on its own ports (a sane header is enough: the rest may be cut) and on any port
 * (a sane header and a whole, well-formed first question). */
bool dns_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an);
bool dns_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an);
void dns_str(const struct app_hint *h, char *buf, size_t buf_len);
/* syslog.c */
bool syslog_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an);
bool syslog_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an);
void syslog_str(const struct app_hint *h, char *buf, size_t buf_len);
/* ntp.c */
bool ntp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void ntp_str(const struct app_hint *h, char *buf, size_t buf_len);
const char *ntp_mode_name(uint8_t mode);
/* snmp.c */
bool snmp_on_port(const struct app_in *in, struct app_hint *h, uint64_t *an);
bool snmp_anywhere(const struct app_in *in, struct app_hint *h, uint64_t *an);
void snmp_str(const struct app_hint *h, char *buf, size_t buf_len);
const char *snmp_pdu_name(int pdu);

/* ber.c: ASN.1 BER reads (X.690 §8.1) for SNMP and CLDAP. A tag and a definite length
 * (short form, or long form of at most 4 bytes); enter narrows c to a constructed element's
 * contents; skip passes a whole element (false when it is not all there); int reads an
 * INTEGER of 1 to 4 bytes. All return false on another tag or too few bytes. */
bool ber_tl(struct cursor *c, uint8_t *tag, size_t *len);
bool ber_enter(struct cursor *c, uint8_t want);
bool ber_skip(struct cursor *c, uint8_t want);
bool ber_int(struct cursor *c, long *out);
#define BER_INTEGER 0x02
#define BER_OCTET_STRING 0x04
#define BER_SEQUENCE 0x30

/* One pair per protocol file: the recogniser and the text form. */
bool stun_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void stun_str(const struct app_hint *h, char *buf, size_t buf_len);
bool rtp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void rtp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool rtcp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void rtcp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool quic_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void quic_str(const struct app_hint *h, char *buf, size_t buf_len);
bool dtls_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void dtls_str(const struct app_hint *h, char *buf, size_t buf_len);
bool sip_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void sip_str(const struct app_hint *h, char *buf, size_t buf_len);
bool ssdp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void ssdp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool wireguard_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void wireguard_str(const struct app_hint *h, char *buf, size_t buf_len);
bool bacnet_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void bacnet_str(const struct app_hint *h, char *buf, size_t buf_len);
bool memcached_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void memcached_str(const struct app_hint *h, char *buf, size_t buf_len);
bool dhcp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void dhcp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool tftp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void tftp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool radius_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void radius_str(const struct app_hint *h, char *buf, size_t buf_len);
bool nbns_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void nbns_str(const struct app_hint *h, char *buf, size_t buf_len);
bool ike_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void ike_str(const struct app_hint *h, char *buf, size_t buf_len);
bool esp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void esp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool dht_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void dht_str(const struct app_hint *h, char *buf, size_t buf_len);
bool utp_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void utp_str(const struct app_hint *h, char *buf, size_t buf_len);
bool messenger_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void messenger_str(const struct app_hint *h, char *buf, size_t buf_len);
bool mssql_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void mssql_str(const struct app_hint *h, char *buf, size_t buf_len);
bool cldap_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void cldap_str(const struct app_hint *h, char *buf, size_t buf_len);
bool dhip_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an);
void dhip_str(const struct app_hint *h, char *buf, size_t buf_len);

/* Clears what tells an ICMP error apart (dispatch.c); the ICMP dissectors clear the rest. */
void icmp_error_reset(struct icmp_error *e);

#endif
