/* anomaly.c - stable names of dissection anomalies (Suricata-style dotted event names). */
#include "dissectors/dissect.h"

static const char *const ANOMALY_NAMES[AN__COUNT] = {
    [AN_CAPLEN_GT_LEN] = "capture.caplen_gt_len",
    [AN_CAPLEN_ZERO] = "capture.caplen_zero",
    [AN_LINK_UNSUPPORTED] = "link.unsupported",
    [AN_LINK_TRUNCATED] = "link.truncated",
    [AN_VLAN_TOO_DEEP] = "link.vlan_too_deep",
    [AN_ENCAP_TOO_DEEP] = "encap.too_deep",
    [AN_ENCAP_TRUNCATED] = "encap.truncated",
    [AN_IPV4_TRUNCATED] = "ipv4.truncated",
    [AN_IPV4_BAD_VERSION] = "ipv4.bad_version",
    [AN_IPV4_BAD_IHL] = "ipv4.bad_ihl",
    [AN_IPV4_BAD_TOTAL_LEN] = "ipv4.bad_total_len",
    [AN_IPV4_BAD_CHECKSUM] = "ipv4.bad_checksum",
    [AN_IPV4_FRAGMENT] = "ipv4.fragment",
    [AN_IPV6_TRUNCATED] = "ipv6.truncated",
    [AN_IPV6_BAD_VERSION] = "ipv6.bad_version",
    [AN_IPV6_EXT_TOO_MANY] = "ipv6.ext_too_many",
    [AN_IPV6_BAD_EXT] = "ipv6.bad_ext",
    [AN_IPV6_FRAGMENT] = "ipv6.fragment",
    [AN_UDP_TRUNCATED] = "udp.truncated",
    [AN_UDP_BAD_LENGTH] = "udp.bad_length",
    [AN_UDP_BAD_CHECKSUM] = "udp.bad_checksum",
    [AN_ICMP_TRUNCATED] = "icmp.truncated",
    [AN_ICMP_BAD_CHECKSUM] = "icmp.bad_checksum",
    [AN_ICMP_NO_QUOTE] = "icmp.no_quote",
    [AN_ICMP_BAD_RFC4884_LEN] = "icmp.bad_rfc4884_length",
    [AN_QUOTE_TRUNCATED] = "quote.truncated",
    [AN_QUOTE_BAD_VERSION] = "quote.bad_version",
    [AN_QUOTE_BAD_IHL] = "quote.bad_ihl",
    [AN_QUOTE_FRAGMENT] = "quote.fragment",
    [AN_QUOTE_EXT_TOO_MANY] = "quote.ext_too_many",
    [AN_DNS_TRUNCATED] = "dns.truncated",
    [AN_DNS_BAD_LABEL] = "dns.bad_label",
    [AN_DNS_NAME_TOO_LONG] = "dns.name_too_long",
    [AN_DNS_BAD_POINTER] = "dns.bad_pointer",
    [AN_IPV6_BAD_PAYLOAD_LEN] = "ipv6.bad_payload_len",
    [AN_GTPU_BAD_LENGTH] = "gtpu.bad_length",
    [AN_GTPU_EXT_TOO_MANY] = "gtpu.ext_too_many",
    [AN_UNDISSECTED_ESP] = "encap.undissected.esp",
    [AN_UNDISSECTED_L2TP] = "encap.undissected.l2tp",
    [AN_UNDISSECTED_GRE] = "encap.undissected.gre",
    [AN_UNDISSECTED_GENEVE] = "encap.undissected.geneve",
    [AN_UNDISSECTED_MPLS] = "encap.undissected.mpls",
    [AN_UNDISSECTED_MACSEC] = "encap.undissected.macsec",
    [AN_UNDISSECTED_CAPWAP] = "encap.undissected.capwap",
    [AN_UNDISSECTED_GTPU] = "encap.undissected.gtpu",
};

_Static_assert(AN__COUNT <= 64, "anomalies are bits of a uint64_t");

/* Returns a static string; "unknown" for a value outside the enum (or a gap). */
const char *anomaly_name(enum anomaly a)
{
	if ((unsigned)a >= AN__COUNT || !ANOMALY_NAMES[a])
		return "unknown";
	return ANOMALY_NAMES[a];
}
