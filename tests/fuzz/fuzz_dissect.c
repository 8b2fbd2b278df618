/* fuzz_dissect.c - libFuzzer target over dissect_packet(), the entry point for untrusted frames. */
// Build and run from the repository root (line comments: the globs would end a block comment):
//   mkdir -p build/fuzz/corpus build/fuzz/seeds
//   clang -std=c17 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined
//         -fno-sanitize-recover=all -o build/fuzz/fuzz_dissect dissectors/*.c
//         tests/fuzz/fuzz_dissect.c (one command)
//   python3 tests/fuzz/pcap_extract.py seeds build/fuzz/seeds ../shared/corpus/*/*.pcap
//   build/fuzz/fuzz_dissect -max_total_time=120 build/fuzz/corpus build/fuzz/seeds
//
// Input: byte 0 = how many bytes the wire held beyond the capture (a snaplen cut; 255 means
// the capture claims more than the wire, caplen > len), byte 1 = index into LINKTYPES
// (modulo), then the frame. Besides the sanitizers, it traps when a span in the result
// points outside the frame or a field contradicts another.

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dissectors/dissect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Same order as FUZZ_LINKTYPES in pcap_extract.py. */
static const int LINKTYPES[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9};

static void check_span(struct pm_span sp, const uint8_t *frame, size_t len)
{
	if (sp.len == 0)
		return;
	if (sp.p < frame || sp.len > len || (size_t)(sp.p - frame) > len - sp.len)
		__builtin_trap();
}

static void check_hint(const struct app_hint *h)
{
	char buf[320];
	app_hint_str(h, buf, sizeof buf);
	if (h->dns_qname_len > PM_DNS_NAME_MAX - 2 || h->dns_qname[h->dns_qname_len] != '\0')
		__builtin_trap();
	if (h->kind == HINT_SYSLOG && (h->syslog_pri < 0 || h->syslog_pri > 191))
		__builtin_trap();
	if ((unsigned)h->kind >= HINT__COUNT || h->app_text_len > PM_APP_TEXT_MAX ||
	    h->app_text[h->app_text_len] != '\0')
		__builtin_trap();
	const char *name = hint_kind_name(h->kind);
	if ((h->kind == HINT_NONE) != (name == NULL))
		__builtin_trap();
	if (name && strncmp(buf, name, strlen(name)) != 0)
		__builtin_trap(); /* every hint's text starts with its kind's name */
}

/* The encap.undissected.* anomalies, found by name once. */
static uint64_t undissected_bits(void)
{
	static uint64_t bits;
	static int done;
	for (int i = 0; !done && i < AN__COUNT; i++)
		if (strncmp(anomaly_name((enum anomaly)i), "encap.undissected.", 18) == 0)
			bits |= UINT64_C(1) << i;
	done = 1;
	return bits;
}

static void check(const struct dissection *d, const uint8_t *frame, size_t len)
{
	check_span(d->payload, frame, len);
	check_span(d->icmp.q.payload, frame, len);
	check_hint(&d->icmp.q.hint);
	if (d->n_encap > 16)
		__builtin_trap();
	if (d->kind != PK_OTHER && d->ip_version != 4 && d->ip_version != 6)
		__builtin_trap();
	if (d->icmp.q.has_ports && d->anomalies & (UINT64_C(1) << AN_QUOTE_BAD_IHL))
		__builtin_trap(); /* never a made-up port */
	char a[64];
	pm_addr_str(&d->src, a, sizeof a);
	pm_addr_str(&d->icmp.q.dst, a, sizeof a);
	for (int i = 0; i < AN__COUNT; i++)
		if (d->anomalies >> i & 1)
			(void)anomaly_name((enum anomaly)i);
	if (d->anomalies >> AN__COUNT)
		__builtin_trap();
	uint64_t undissected = d->anomalies & undissected_bits();
	if (undissected & (undissected - 1))
		__builtin_trap(); /* dissection stops at the first encapsulation it does not open */
	if (d->kind == PK_UDP) {
		struct app_hint h;
		dissect_app_hint(d->payload.p, d->payload.len, d->sport, d->dport, &h, NULL);
		check_hint(&h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int linktype = LINKTYPES[data[1] % (sizeof LINKTYPES / sizeof LINKTYPES[0])];
	const uint8_t *frame = data + 2;
	size_t len = size - 2;
	size_t wirelen = data[0] == 255 ? len / 2 : len + data[0];
	struct dissection d;
	dissect_packet(linktype, len ? frame : NULL, len, wirelen, &d);
	check(&d, frame, len);
	return 0;
}
