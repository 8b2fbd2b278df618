/* test_capture_diff.c - differential tests: our classic pcap reader against libpcap 1.10
 * (through cap_open's force_libpcap, and libpcap alone) on every sample, every corpus file
 * and a few thousand generated files with hostile headers, whole, cut, and gzipped. */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "analyzer/capture.h"
#include "tests/unit/shared_data.h"

#define SAMPLES_DIR "samples"
#define N_GENERATED 3000
#define GEN_CAP (2u << 20)

struct tally {
	int files, opened, refused, cut, same_msg, failures;
	char first_failure[1024];
};

static void fail_note(struct tally *t, const char *path, const char *what)
{
	if (t->failures++ == 0)
		snprintf(t->first_failure, sizeof t->first_failure, "%s: %s", path, what);
}

static bool same_pkt(const struct cap_pkt *a, const struct cap_pkt *b)
{
	return a->ts_sec == b->ts_sec && a->ts_nsec == b->ts_nsec && a->caplen == b->caplen &&
	       a->len == b->len && (a->caplen == 0 || memcmp(a->data, b->data, a->caplen) == 0);
}

static bool same_header(struct cap_reader *a, struct cap_reader *b)
{
	return cap_linktype(a) == cap_linktype(b) && cap_snaplen(a) == cap_snaplen(b) &&
	       cap_precision(a) == cap_precision(b) && cap_format(a) == cap_format(b) &&
	       cap_compression(a) == cap_compression(b) &&
	       strcmp(cap_linktype_name(a), cap_linktype_name(b)) == 0;
}

/* Steps both readers in lockstep; returns false at the first difference. */
static bool same_records(struct cap_reader *a, struct cap_reader *b, int *end, char *why,
			 size_t why_len)
{
	struct cap_pkt pa, pb;

	for (uint64_t i = 0;; i++) {
		int ra = cap_next(a, &pa), rb = cap_next(b, &pb);

		if (ra != rb) {
			snprintf(why, why_len, "record %llu: ours %d (%s), libpcap %d (%s)",
				 (unsigned long long)i, ra, cap_error(a), rb, cap_error(b));
			return false;
		}
		if (ra <= 0) {
			*end = ra;
			return true;
		}
		if (!same_pkt(&pa, &pb)) {
			snprintf(why, why_len,
				 "record %llu differs: ts %lld.%09u/%lld.%09u "
				 "caplen %u/%u len %u/%u",
				 (unsigned long long)i, (long long)pa.ts_sec, pa.ts_nsec,
				 (long long)pb.ts_sec, pb.ts_nsec, pa.caplen, pb.caplen, pa.len,
				 pb.len);
			return false;
		}
	}
}

/* Ours against cap_open(force_libpcap): same verdict, header, records, end and hash. */
static void diff_one(const char *path, size_t read_size, struct tally *t)
{
	struct cap_options oa = {.read_size = read_size}, ob = {.force_libpcap = true};
	struct cap_reader *a = NULL, *b = NULL;
	char ea[CAP_ERRBUF_SIZE] = "", eb[CAP_ERRBUF_SIZE] = "", why[512] = "";
	char ha[33], hb[33];
	int end = 0;
	int rca = cap_open(path, &oa, &a, ea), rcb = cap_open(path, &ob, &b, eb);

	t->files++;
	if (rca != rcb) {
		snprintf(why, sizeof why, "open: ours %d (%s), libpcap %d (%s)", rca, ea, rcb, eb);
		fail_note(t, path, why);
	} else if (rca < 0) {
		t->refused++;
		t->same_msg += strcmp(ea, eb) == 0;
		if (ea[0] == '\0' || eb[0] == '\0')
			fail_note(t, path, "open refused without a message");
	} else if (!same_header(a, b)) {
		fail_note(t, path, "header fields differ");
	} else if (!same_records(a, b, &end, why, sizeof why)) {
		fail_note(t, path, why);
	} else {
		t->opened++;
		cap_content_hash(a, ha);
		cap_content_hash(b, hb);
		if (end < 0) {
			t->cut++;
			t->same_msg += strcmp(cap_error(a), cap_error(b)) == 0;
			if (cap_error(a)[0] == '\0' || cap_error(b)[0] == '\0')
				fail_note(t, path, "read error without a message");
		} else if (strcmp(ha, hb) != 0 || cap_bytes_in(a) != cap_bytes_in(b)) {
			fail_note(t, path, "content hash or byte count differs");
		}
	}
	cap_close(a);
	cap_close(b);
}

static void diff_walked(const char *path, const char *err, void *arg)
{
	if (err == NULL)
		diff_one(path, 0, arg);
}

static void diff_tree(const char *dir, const char *what)
{
	struct tally t = {0};
	const char *args[] = {dir};

	cr_assert_eq(access(dir, R_OK), 0, "%s (%s) not found", what, dir);
	cap_walk(args, 1, diff_walked, &t);
	cr_log_info("%s: %d files, %d read by both readers (%d cut short), %d refused by both; "
		    "%d of %d error messages identical; %d disagreements",
		    what, t.files, t.opened, t.cut, t.refused, t.same_msg, t.refused + t.cut,
		    t.failures);
	cr_expect_gt(t.files, 0, "%s (%s): no capture found", what, dir);
	cr_expect_eq(t.failures, 0, "%d of %d files differ; first: %s", t.failures, t.files,
		     t.first_failure);
}

Test(capture_diff, corpus)
{
	need_shared("corpus", "corpus captures");
	diff_tree(shared_path("corpus"), "corpus");
}

Test(capture_diff, samples)
{
	diff_tree(SAMPLES_DIR, "samples");
}

/* ---- generated files ---- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t pick(uint64_t *s, const uint32_t *v, size_t n)
{
	return v[rng_next(s) % n];
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
}

static void put16(uint8_t *p, uint16_t v, bool be)
{
	p[be ? 0 : 1] = (uint8_t)(v >> 8);
	p[be ? 1 : 0] = (uint8_t)v;
}

static size_t gen_file_header(uint64_t *s, uint8_t *out, bool *be, size_t *rec_hdr)
{
	static const uint32_t magic[] = {0xa1b2c3d4, 0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34};
	static const uint32_t snap[] = {0,	    1,	     16,     64,	 100,
					65535,	    262144,  262145, 0x7fffffff, 0x80000000,
					0xffffffff, 0x40000, 1500,   0x7ffffff2};
	static const uint32_t lt[] = {1,   1,	1,   101, 12,  0,   113,	276,
				      231, 279, 249, 220, 189, 239, 0x00300001, 0x04000001};
	static const uint16_t ver[][2] = {{2, 4}, {2, 4}, {2, 4}, {2, 0},   {2, 2},   {2, 3},
					  {2, 3}, {2, 5}, {1, 4}, {543, 0}, {543, 1}, {3, 0}};
	uint32_t m = pick(s, magic, 4);
	size_t v = rng_next(s) % 12;

	*be = rng_next(s) & 1;
	*rec_hdr = m == 0xa1b2cd34 ? 24 : 16;
	put32(out, m, *be);
	put16(out + 4, ver[v][0], *be);
	put16(out + 6, ver[v][1], *be);
	put32(out + 8, (uint32_t)rng_next(s), *be); /* thiszone, sigfigs: ignored */
	put32(out + 12, (uint32_t)rng_next(s), *be);
	put32(out + 16, rng_next(s) % 8 ? pick(s, snap, 14) : (uint32_t)rng_next(s), *be);
	put32(out + 20, rng_next(s) % 16 ? pick(s, lt, 16) : (uint32_t)rng_next(s) % 300, *be);
	return 24;
}

static uint32_t gen_caplen(uint64_t *s, uint32_t len)
{
	static const uint32_t odd[] = {0,      1,      14,     60,     64,
				       100,    101,    1500,   65535,  65536,
				       262144, 262145, 262158, 300000, 0xffffffff};

	switch (rng_next(s) % 4) {
	case 0:
		return pick(s, odd, 15);
	case 1:
		return len + (uint32_t)(rng_next(s) % 3);
	default:
		return (uint32_t)(rng_next(s) % 200);
	}
}

/* A pcap file with a hostile header and a few hostile records, sometimes cut. */
static size_t gen_pcap(uint64_t seed, uint8_t *out)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15u + 1;
	bool be;
	size_t rec_hdr, n = gen_file_header(&s, out, &be, &rec_hdr);
	int n_rec = (int)(rng_next(&s) % 9);

	for (int i = 0; i < n_rec; i++) {
		uint32_t len = (uint32_t)(rng_next(&s) % 2000), caplen = gen_caplen(&s, len);
		size_t body = caplen > 400000 ? 64 : caplen; /* huge ones end cut */

		if (n + rec_hdr + body > GEN_CAP)
			break;
		put32(out + n,
		      rng_next(&s) % 4 ? (uint32_t)rng_next(&s) % 2000000000u
				       : (uint32_t)rng_next(&s),
		      be);
		put32(out + n + 4,
		      rng_next(&s) % 4 ? (uint32_t)rng_next(&s) % 1000000u : (uint32_t)rng_next(&s),
		      be);
		put32(out + n + 8, caplen, be);
		put32(out + n + 12, len, be);
		for (size_t k = 16; k < rec_hdr; k++)
			out[n + k] = (uint8_t)rng_next(&s);
		n += rec_hdr;
		for (size_t k = 0; k < body; k++)
			out[n + k] = (uint8_t)(k * 7 + (size_t)seed);
		n += body;
		if (body != caplen)
			break;
	}
	if (rng_next(&s) % 3 == 0)
		n = (size_t)(rng_next(&s) % (n + 1));
	return n;
}

static size_t gzip_buf(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z = {0};
	size_t made;

	cr_assert_eq(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	made = cap - z.avail_out;
	deflateEnd(&z);
	return made;
}

/* A memory file with a path: /proc/self/fd/N. */
static int mem_file(const uint8_t *data, size_t n, char *path, size_t path_len)
{
	int fd = memfd_create("pm-test", 0);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
	return fd;
}

/* libpcap alone, on the plain file: the records ours must give, and its end. */
static void oracle_check(const char *path, size_t file_len, struct tally *t)
{
	char pe[PCAP_ERRBUF_SIZE] = "", ce[CAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
	struct cap_reader *r = NULL;
	struct pcap_pkthdr *h;
	const u_char *d;
	struct cap_pkt pkt;
	int rc = cap_open(path, NULL, &r, ce);

	if ((p == NULL) != (rc < 0))
		fail_note(t, path, p == NULL ? pe : ce);
	else if (p == NULL && file_len >= 4 && strcmp(pe, ce) != 0)
		fail_note(t, path, "libpcap and ours refuse the header in other words");
	while (p != NULL && r != NULL) {
		int lr = pcap_next_ex(p, &h, &d), our = cap_next(r, &pkt);

		if (lr == 1 && our == 1) {
			struct cap_pkt want = {.caplen = h->caplen, .len = h->len, .data = d};
			int64_t ns = (int64_t)h->ts.tv_usec;

			want.ts_sec =
			    (int64_t)h->ts.tv_sec + ns / 1000000000 - (ns % 1000000000 < 0);
			want.ts_nsec = (uint32_t)((ns % 1000000000 + 1000000000) % 1000000000);
			if (!same_pkt(&pkt, &want)) {
				fail_note(t, path, "record differs from libpcap alone");
				break;
			}
			continue;
		}
		if (!((lr == PCAP_ERROR_BREAK && our == 0) ||
		      (lr == PCAP_ERROR && our < 0 &&
		       strncmp(cap_error(r), pcap_geterr(p), strlen(pcap_geterr(p))) == 0)))
			fail_note(t, path, "end of file differs from libpcap alone");
		break;
	}
	if (p != NULL)
		pcap_close(p);
	cap_close(r);
}

Test(capture_diff, generated_headers_and_records, .timeout = 60)
{
	uint8_t *buf = malloc(GEN_CAP), *gz = malloc(GEN_CAP + 65536);
	struct tally t = {0}, orc = {0};
	char path[64], gz_path[64];

	cr_assert(buf != NULL && gz != NULL);
	for (uint64_t i = 0; i < N_GENERATED; i++) {
		size_t n = gen_pcap(i, buf);

		if (n == 0)
			continue;
		int fd = mem_file(buf, n, path, sizeof path);

		diff_one(path, i % 4 == 0 ? 1 + i % 61 : 0, &t);
		oracle_check(path, n, &orc);
		if (i % 5 == 0) { /* the same through gzip, read in small pieces */
			int gfd = mem_file(gz, gzip_buf(buf, n, gz, GEN_CAP + 65536), gz_path,
					   sizeof gz_path);

			diff_one(gz_path, 1 + i % 37, &t);
			close(gfd);
		}
		close(fd);
	}
	cr_log_info("generated: %d files, %d read by both (%d cut short), %d refused by both; "
		    "%d of %d messages identical",
		    t.files, t.opened, t.cut, t.refused, t.same_msg, t.refused + t.cut);
	cr_expect_eq(t.failures, 0, "%d differ; first: %s", t.failures, t.first_failure);
	cr_expect_eq(orc.failures, 0, "%d differ from libpcap alone; first: %s", orc.failures,
		     orc.first_failure);
	cr_expect_eq(t.same_msg, t.refused + t.cut, "ours and libpcap word errors alike");
	free(buf);
	free(gz);
}
