/* fuzz_capture.c - libFuzzer target over the capture reader: pcap and pcapng, plain, gzip, zstd. */
// Input: byte 0 chooses how the rest is read: bits 0-1 wrap it (0 as it is, 1 gzip, 2 zstd,
// 3 as it is), bit 2 reads classic pcap through libpcap instead of our reader, bit 3 asks for
// 7-byte reads so that records straddle reads, bit 4 applies a BPF filter. The bytes go to a
// memfd opened by path, as a file on disk would be. Besides the sanitizers, it traps when a
// record contradicts the reader's contract (capture.h).

#include <stdlib.h>
#include <string.h>

#include "analyzer/capture.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record(const struct cap_pkt *pkt)
{
	if (pkt->ts_nsec >= 1000000000u)
		__builtin_trap();
	if (pkt->caplen && !pkt->data)
		__builtin_trap();
	volatile uint8_t sink = 0;
	for (uint32_t i = 0; i < pkt->caplen; i += 97)
		sink ^= pkt->data[i]; /* every captured byte must be readable */
	if (pkt->caplen)
		sink ^= pkt->data[pkt->caplen - 1];
	(void)sink;
}

static void read_all(const char *path, uint8_t mode)
{
	char errbuf[CAP_ERRBUF_SIZE], hash[33];
	struct cap_reader *r = NULL;
	struct cap_options o = {.force_libpcap = mode & 4,
				.read_size = (mode & 8) ? 7 : 0,
				.filter = (mode & 16) ? "udp or icmp or icmp6" : NULL};
	if (cap_open(path, &o, &r, errbuf) < 0) {
		if (r || !memchr(errbuf, '\0', sizeof errbuf) || !errbuf[0])
			__builtin_trap(); /* a refusal always says why */
		return;
	}
	struct cap_pkt pkt;
	int rc;
	uint64_t n = 0;
	while ((rc = cap_next(r, &pkt)) == 1) {
		check_record(&pkt);
		n++;
	}
	if (rc < 0 && !cap_error(r)[0])
		__builtin_trap();
	if (cap_next(r, &pkt) != rc) /* the end and errors are sticky */
		__builtin_trap();
	if (!(mode & 16) && n > cap_packets_read(r))
		__builtin_trap();
	cap_content_hash(r, hash);
	if (strlen(hash) != 32)
		__builtin_trap();
	(void)cap_linktype_name(r);
	(void)cap_format_name(r);
	cap_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *body = data + 1;
	size_t body_len = size - 1;
	uint8_t *wrapped = NULL;
	int wrap = mode & 3;
	if (wrap == 1 || wrap == 2) {
		wrapped = fuzz_compress(body, body_len, wrap, &body_len);
		if (!wrapped)
			return 0;
		body = wrapped;
	}
	int fd = fuzz_memfd(body, body_len, path, sizeof path);
	if (fd >= 0) {
		read_all(path, mode);
		close(fd);
	}
	free(wrapped);
	return 0;
}
