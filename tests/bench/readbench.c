/* readbench.c - reads one capture with our reader (or libpcap) and prints the rate.
 *
 *   readbench [--libpcap] [--filter EXPR] [--read-size BYTES] FILE|-
 *   readbench --hash MIB       hash speeds over MIB MiB held in memory: the legacy hash
 *                              and XXH3-128 (the capture identity)
 *
 * Build (from the repository root):
 *   cc -std=c17 -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -O2 -I. -o build/readbench \
 *      tests/bench/readbench.c analyzer/capture.c analyzer/stream.c \
 *      analyzer/legacy_hash.c analyzer/stream_gz.c analyzer/stream_pipe.c -lpthread \
 *      $(pkg-config --cflags --libs libpcap zlib libzstd libxxhash libcrypto libisal)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/capture.h"
#include "analyzer/legacy_hash.h"
#include "analyzer/stream.h"
#include <xxhash.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_hash(size_t mib)
{
	size_t len = mib << 20;
	uint8_t *buf = malloc(len);
	struct legacy_hash128 h;
	char hex[33];

	if (buf == NULL)
		return 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 9));
	legacy_hash128_init(&h);
	legacy_hash128_update(&h, buf, len); /* warm up */
	double t0 = now();

	legacy_hash128_init(&h);
	for (int i = 0; i < 10; i++)
		legacy_hash128_update(&h, buf, len);
	double dt = now() - t0;

	legacy_hash128_hex(&h, hex);
	printf("legacy hash %s: %.2f GB/s\n", hex, 10.0 * (double)len / dt / 1e9);
	XXH3_state_t *x = XXH3_createState();

	t0 = now();
	XXH3_128bits_reset(x);
	for (int i = 0; i < 10; i++)
		XXH3_128bits_update(x, buf, len);
	dt = now() - t0;
	XXH128_hash_t v = XXH3_128bits_digest(x);

	printf("XXH3-128 %016llx%016llx: %.2f GB/s\n", (unsigned long long)v.high64,
	       (unsigned long long)v.low64, 10.0 * (double)len / dt / 1e9);
	XXH3_freeState(x);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct cap_options opt = {0};
	struct cap_reader *r;
	struct cap_pkt pkt;
	char err[CAP_ERRBUF_SIZE], hex[33];
	uint64_t n = 0, bytes = 0;
	int i = 1, rc;

	for (; i < argc - 1 && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--libpcap") == 0)
			opt.force_libpcap = true;
		else if (strcmp(argv[i], "--filter") == 0)
			opt.filter = argv[++i];
		else if (strcmp(argv[i], "--read-size") == 0)
			opt.read_size = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--hash") == 0)
			return bench_hash(strtoul(argv[i + 1], NULL, 0));
	}
	if (i != argc - 1) {
		fprintf(stderr,
			"usage: readbench [--libpcap] [--filter EXPR] [--read-size N] FILE\n"
			"       readbench --hash MIB\n");
		return 2;
	}
	double t0 = now();

	if (cap_open(argv[i], &opt, &r, err) < 0) {
		fprintf(stderr, "%s: %s\n", argv[i], err);
		return 1;
	}
	while ((rc = cap_next(r, &pkt)) > 0) {
		n++;
		bytes += pkt.caplen;
	}
	double dt = now() - t0;

	cap_content_hash(r, hex);
	printf("%s %s %s: %llu packets, %llu captured bytes, %llu file bytes in %.3f s: "
	       "%.2f Mpackets/s, %.2f GB/s (file)\n",
	       opt.force_libpcap ? "libpcap" : "ours", cap_format_name(r), cap_linktype_name(r),
	       (unsigned long long)n, (unsigned long long)bytes,
	       (unsigned long long)cap_bytes_in(r), dt, (double)n / dt / 1e6,
	       (double)cap_bytes_in(r) / dt / 1e9);
	printf("hash %s\n", hex);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", argv[i], cap_error(r));
	cap_close(r);
	return rc < 0;
}
