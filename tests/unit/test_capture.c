/* test_capture.c - capture opening: formats, gzip and zstd, stdin, bad and cut files, the
 * filter, the content hash and the directory walk. Captures come from the shared corpus
 * ($SHARED/corpus, ../shared/corpus by default: tests/unit/shared_data.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>

#include "analyzer/capture.h"
#include "analyzer/legacy_hash.h"
#include "analyzer/stream.h"
#include "tests/unit/shared_data.h"

#define CORPUS(rel) shared_path("corpus/" rel)
#define AFS CORPUS("tcpdump/afs.pcap")		    /* 601 packets, 25 port unreachables */
#define MPLS CORPUS("tcpdump/mpls-traceroute.pcap") /* 18 packets, PPP */
#define NANO CORPUS("tcpdump/tcp-handshake-nano.pcap")
#define PCAPNG CORPUS("tcpdump/icmp-cksum-oobr-3.pcapng")

/* What a whole read gave: records, end, a digest of every record, the file's hash. */
struct readout {
	int open_rc, end_rc;
	uint64_t n;
	char digest[33], hash[33], file_hash[33];
	char err[CAP_ERRBUF_SIZE];
	char format[16];
};

static struct readout read_all(const char *path, const struct cap_options *given)
{
	struct readout o = {0};
	struct cap_reader *r;
	struct cap_pkt p;
	struct legacy_hash128 h;
	struct cap_options opt = given != NULL ? *given : (struct cap_options){0};

	opt.legacy_file_hash = true; /* the file's hash is checked here, as version 1 stored it */
	legacy_hash128_init(&h);
	o.open_rc = cap_open(path, &opt, &r, o.err);
	if (o.open_rc < 0)
		return o;
	while ((o.end_rc = cap_next(r, &p)) > 0) {
		o.n++;
		legacy_hash128_update(&h, &p.ts_sec, sizeof p.ts_sec);
		legacy_hash128_update(&h, &p.ts_nsec, sizeof p.ts_nsec);
		legacy_hash128_update(&h, &p.caplen, sizeof p.caplen);
		legacy_hash128_update(&h, &p.len, sizeof p.len);
		legacy_hash128_update(&h, p.data, p.caplen);
	}
	legacy_hash128_hex(&h, o.digest);
	cap_content_hash(r, o.hash);
	cap_legacy_file_hash(r, o.file_hash);
	snprintf(o.err, sizeof o.err, "%s", cap_error(r));
	snprintf(o.format, sizeof o.format, "%s", cap_format_name(r));
	cap_close(r);
	return o;
}

static void need_corpus(void)
{
	need_shared("corpus", "corpus captures");
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A memory file reachable by path (/proc/self/fd/N); the caller closes the fd. */
static int mem_file(const void *data, size_t n, char path[64])
{
	int fd = memfd_create("pm-test", 0);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

static size_t gzip_member(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z = {0};
	size_t made;

	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	made = cap - z.avail_out;
	deflateEnd(&z);
	return made;
}

/* ---- formats ---- */

Test(capture, formats_and_header_fields)
{
	struct cap_reader *r;
	char err[CAP_ERRBUF_SIZE];

	need_corpus();
	cr_assert_eq(cap_open(AFS, NULL, &r, err), 0, "%s", err);
	cr_expect_str_eq(cap_format_name(r), "pcap");
	cr_expect_eq(cap_format(r), CAP_FMT_PCAP);
	cr_expect_eq(cap_compression(r), CAP_COMP_NONE);
	cr_expect_eq(cap_linktype(r), 1);
	cr_expect_str_eq(cap_linktype_name(r), "EN10MB");
	cr_expect_eq(cap_precision(r), 6);
	cap_close(r);

	cr_assert_eq(cap_open(NANO, NULL, &r, err), 0, "%s", err);
	cr_expect_eq(cap_precision(r), 9);
	cap_close(r);

	cr_assert_eq(cap_open(MPLS, NULL, &r, err), 0, "%s", err);
	cr_expect_str_eq(cap_linktype_name(r), "PPP");
	cap_close(r);

	cr_assert_eq(cap_open(PCAPNG, NULL, &r, err), 0, "%s", err);
	cr_expect_str_eq(cap_format_name(r), "pcapng");
	cr_expect_eq(cap_format(r), CAP_FMT_PCAPNG);
	cr_expect_eq(cap_precision(r), 6);
	cap_close(r);
}

/* A file header with the given link type, snaplen 65535, and one 4-byte record. */
static int tiny_pcap(uint32_t linktype, char path[64])
{
	uint8_t f[24 + 16 + 4] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};

	f[16] = 0xff, f[17] = 0xff;
	memcpy(f + 20, &linktype, 4); /* little-endian host, as the magic says */
	f[24 + 8] = 4, f[24 + 12] = 4;
	return mem_file(f, sizeof f, path);
}

Test(capture, linktype_numbers_and_names)
{
	static const struct {
		uint32_t file;
		int linktype;
		const char *name;
	} cases[] = {{0, 0, "NULL"},
		     {101, 101, "RAW"},
		     {12, 101, "RAW"},
		     {113, 113, "LINUX_SLL"},
		     {276, 276, "LINUX_SLL2"},
		     {0x04000001, 1, "EN10MB"},
		     {3145729, 3145729, "LINKTYPE_3145729"}};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[64], err[CAP_ERRBUF_SIZE];
		int fd = tiny_pcap(cases[i].file, path);
		struct cap_reader *r;

		cr_assert_eq(cap_open(path, NULL, &r, err), 0, "%s", err);
		cr_expect_eq(cap_linktype(r), cases[i].linktype, "file link type %u",
			     cases[i].file);
		cr_expect_str_eq(cap_linktype_name(r), cases[i].name);
		cap_close(r);
		close(fd);
	}
}

static size_t put_record(uint8_t *p, uint32_t sec, uint32_t usec, uint32_t caplen, uint32_t len)
{
	memcpy(p, &sec, 4); /* little-endian host, as the magic says */
	memcpy(p + 4, &usec, 4);
	memcpy(p + 8, &caplen, 4);
	memcpy(p + 12, &len, 4);
	for (uint32_t i = 0; i < caplen; i++)
		p[16 + i] = (uint8_t)i;
	return 16 + caplen;
}

/* caplen 0, caplen > len: handed out for the caller to count. caplen > snaplen 64 (but
 * not over libpcap's maximum): cut to 64 as libpcap does, the rest skipped. Times before
 * 1970 and a fraction of a second above 1 s come out normalised. */
Test(capture, anomalous_records_are_handed_out)
{
	uint8_t f[24 + 4 * 16 + 10 + 100 + 4] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	size_t n = 24;
	char path[64], err[CAP_ERRBUF_SIZE];
	struct cap_reader *r;
	struct cap_pkt p;
	int fd;

	f[16] = 64, f[20] = 1;
	n += put_record(f + n, 10, 0, 0, 60);
	n += put_record(f + n, 11, 1500000, 10, 4);
	n += put_record(f + n, 12, 0, 100, 100);
	n += put_record(f + n, 0xfffffff0u, 999999, 4, 4);
	fd = mem_file(f, n, path);
	for (int forced = 0; forced < 2; forced++) {
		struct cap_options opt = {.force_libpcap = forced};

		cr_assert_eq(cap_open(path, &opt, &r, err), 0, "%s", err);
		cr_assert_eq(cap_next(r, &p), 1, "%s", cap_error(r));
		cr_expect(p.caplen == 0 && p.len == 60 && p.ts_sec == 10);
		cr_assert_eq(cap_next(r, &p), 1, "%s", cap_error(r));
		cr_expect(p.caplen == 10 && p.len == 4 && p.data[9] == 9);
		cr_expect(p.ts_sec == 12 && p.ts_nsec == 500000000, "%lld.%09u",
			  (long long)p.ts_sec, p.ts_nsec);
		cr_assert_eq(cap_next(r, &p), 1, "%s", cap_error(r));
		cr_expect(p.caplen == 64 && p.len == 100 && p.data[63] == 63);
		cr_assert_eq(cap_next(r, &p), 1, "%s", cap_error(r));
		cr_expect(p.ts_sec == -16 && p.ts_nsec == 999999000, "%lld.%09u",
			  (long long)p.ts_sec, p.ts_nsec);
		cr_expect_eq(cap_next(r, &p), 0, "%s", cap_error(r));
		cap_close(r);
	}
	close(fd);
}

/* SHB, IDB with if_tsresol 9 (ns), one EPB at 1.5 s: libpcap delivers ns, we say 9. */
Test(capture, pcapng_nanosecond_interface)
{
	/* clang-format off */
	static const uint8_t ng[] = {
		0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
		1, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0,
		0, 0, 0, 0, 32, 0, 0, 0,
		6, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x2f, 0x68, 0x59,
		4, 0, 0, 0, 4, 0, 0, 0, 'a', 'b', 'c', 'd', 36, 0, 0, 0,
	};
	/* clang-format on */
	char path[64], err[CAP_ERRBUF_SIZE];
	int fd = mem_file(ng, sizeof ng, path);
	struct cap_reader *r;
	struct cap_pkt p;

	cr_assert_eq(cap_open(path, NULL, &r, err), 0, "%s", err);
	cr_expect_eq(cap_precision(r), 9);
	cr_assert_eq(cap_next(r, &p), 1, "%s", cap_error(r));
	cr_expect_eq(p.ts_sec, 1);
	cr_expect_eq(p.ts_nsec, 500000000u);
	cr_expect_eq(p.caplen, 4);
	cr_expect_eq(cap_next(r, &p), 0);
	cap_close(r);
	close(fd);
}

/* ---- bad files ---- */

Test(capture, missing_empty_and_unknown_files)
{
	char path[64], err[CAP_ERRBUF_SIZE];
	struct cap_reader *r = (void *)1;
	int fd;

	cr_expect_eq(cap_open("/nonexistent/x.pcap", NULL, &r, err), -1);
	cr_expect_null(r);
	cr_expect_str_eq(err, "cannot open: No such file or directory");

	fd = mem_file("", 0, path);
	cr_expect_eq(cap_open(path, NULL, &r, err), -1);
	cr_expect_str_eq(err, "file is empty");
	close(fd);

	fd = mem_file("# Public capture corpus\n", 24, path);
	cr_expect_eq(cap_open(path, NULL, &r, err), -1);
	cr_expect_str_eq(err,
			 "not a pcap, pcapng, gzip or zstd file (starts with 4 bytes 23 20 50 75)");
	close(fd);

	fd = mem_file("\x01\x02", 2, path);
	cr_expect_eq(cap_open(path, NULL, &r, err), -1);
	cr_expect_str_eq(err, "not a pcap, pcapng, gzip or zstd file (starts with 2 bytes 01 02)");
	close(fd);

	cr_expect_eq(cap_open("/", NULL, &r, err), -1);
	cr_expect_str_eq(err, "cannot read: Is a directory");
}

Test(capture, libpcap_refusals_from_corpus_readme)
{
	static const struct {
		const char *file, *msg, *msg_1_10;
	} cases[] = {
	    {"pcap-invalid-version-1.pcap", "unsupported pcap savefile version 1.4",
	     "archaic pcap savefile format"},
	    {"pcap-invalid-version-2.pcap", "unsupported pcap savefile version 2.5", ""},
	    {"pcapng-invalid-vers-1.pcapng", "unsupported pcapng savefile version 0.1", ""},
	    {"pcapng-invalid-vers-2.pcapng", "unsupported pcapng savefile version 1.1", ""},
	    {"shb-option-too-long.pcapng",
	     "block total length in header 32 and trailer 808464432 don't match",
	     "block total length in header and trailer don't match"},
	};
	char path[256], err[CAP_ERRBUF_SIZE];
	struct cap_reader *r;

	need_corpus();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", CORPUS("libpcap"), cases[i].file);
		cr_expect_eq(cap_open(path, NULL, &r, err), -1, "%s opened", cases[i].file);
		/* The README quotes libpcap's newer words; 1.10.3 (Debian 12) says these. */
		cr_expect(strcmp(err, cases[i].msg) == 0 || strcmp(err, cases[i].msg_1_10) == 0,
			  "%s: %s", cases[i].file, err);
	}
	/* 1.10.3 opens this one and keeps the reserved bits in the link type: 0x00300000
	 * (tcpdump says "unknown data link type 3145728"; the README's 3145729 is off by one). */
	cr_assert_eq(
	    cap_open(CORPUS("libpcap/linktype-reserved-field-not-zero.pcap"), NULL, &r, err), 0,
	    "%s", err);
	cr_expect_eq(cap_linktype(r), 3145728);
	cap_close(r);
}

/* Every cut of a small file: records before the cut, then "truncated" (or a clean end at
 * a record boundary), with the count in the message; our buffer reads 7 bytes at a time. */
Test(capture, truncated_at_every_offset)
{
	struct cap_options opt = {.read_size = 7};
	size_t len, n_bounds = 0, bounds[64];
	uint8_t *all;

	need_corpus();
	all = slurp(MPLS, &len);
	bounds[n_bounds++] = 24;
	for (size_t off = 24; off + 16 <= len && n_bounds < 64;) { /* little-endian file */
		uint32_t caplen = (uint32_t)all[off + 8] | (uint32_t)all[off + 9] << 8;

		off += 16 + caplen;
		bounds[n_bounds++] = off;
	}
	cr_assert_eq(bounds[n_bounds - 1], len);
	for (size_t cut = 24; cut <= len; cut++) {
		char path[64], want[64];
		int fd = mem_file(all, cut, path);
		struct readout o = read_all(path, &opt);
		uint64_t whole = 0;

		while (whole + 1 < n_bounds && bounds[whole + 1] <= cut)
			whole++;
		cr_assert_eq(o.open_rc, 0, "cut %zu: %s", cut, o.err);
		cr_expect_eq(o.n, whole, "cut %zu: %llu packets", cut, (unsigned long long)o.n);
		if (cut == bounds[whole]) {
			cr_expect_eq(o.end_rc, 0, "cut %zu: %s", cut, o.err);
		} else {
			snprintf(want, sizeof want, "(after %llu packet%s)",
				 (unsigned long long)whole, whole == 1 ? "" : "s");
			cr_expect_eq(o.end_rc, -1, "cut %zu", cut);
			cr_expect(strncmp(o.err, "truncated dump file; tried to read ", 35) == 0 &&
				      strstr(o.err, want) != NULL,
				  "cut %zu: %s", cut, o.err);
		}
		close(fd);
	}
	free(all);
}

/* A few hundred cuts of a bigger file, with the default 1 MiB reads. */
Test(capture, truncated_big_file)
{
	size_t len;
	uint8_t *all;

	need_corpus();
	all = slurp(AFS, &len);
	for (size_t i = 0; i < 300; i++) {
		char path[64];
		size_t cut = 24 + (len - 24) * i / 300 + i % 17;
		int fd = mem_file(all, cut, path);
		struct readout o = read_all(path, NULL);

		cr_expect(o.end_rc == 0 || strstr(o.err, "truncated dump file") != NULL, "%s",
			  o.err);
		cr_expect_lt(o.n, 601u);
		close(fd);
	}
	free(all);
}

/* ---- compression ---- */

static void expect_same_records(const char *plain, const char *packed, const char *format,
				size_t read_size)
{
	struct cap_options opt = {.read_size = read_size};
	struct readout a = read_all(plain, NULL), b = read_all(packed, &opt);

	cr_assert_eq(b.open_rc, 0, "%s", b.err);
	cr_expect_eq(b.end_rc, 0, "%s", b.err);
	cr_expect_eq(a.n, b.n);
	cr_expect_str_eq(a.digest, b.digest);
	cr_expect_str_eq(b.format, format);
	cr_expect_str_neq(a.file_hash, b.file_hash, "the file hash is of the stored bytes");
	cr_expect_str_eq(a.hash, b.hash, "the capture's identity is of its packets");
}

static void gzip_round_trip(const char *file, const char *format)
{
	size_t len;
	uint8_t *all = slurp(file, &len);
	size_t cap = len + 4096, n;
	uint8_t *gz = malloc(cap);
	char path[64];
	int fd;

	n = gzip_member(all, len, gz, cap);
	fd = mem_file(gz, n, path);
	expect_same_records(file, path, format, 0);
	expect_same_records(file, path, format, 5);

	struct legacy_hash128 h;
	char want[33];
	struct readout o = read_all(path, NULL);

	legacy_hash128_init(&h);
	legacy_hash128_update(&h, gz, n);
	legacy_hash128_hex(&h, want);
	cr_expect_str_eq(o.file_hash, want);
	close(fd);
	free(gz);
	free(all);
}

Test(capture, gzip_round_trip)
{
	need_corpus();
	gzip_round_trip(AFS, "pcap.gz");
	gzip_round_trip(PCAPNG, "pcapng.gz");
}

Test(capture, gzip_concatenated_members_and_trailing_junk)
{
	size_t len, n = 0;
	uint8_t *all, *gz;
	char path[64];
	int fd;

	need_corpus();
	all = slurp(AFS, &len);
	gz = malloc(len + 65536);
	n += gzip_member(all, 1000, gz, len + 65536);		  /* cuts a record in two */
	n += gzip_member(all + 1000, 0, gz + n, len + 65536 - n); /* an empty member */
	n += gzip_member(all + 1000, len - 1000, gz + n, len + 65536 - n);
	fd = mem_file(gz, n, path);
	expect_same_records(AFS, path, "pcap.gz", 0);
	close(fd);

	memset(gz + n, 0, 512); /* tape padding after the last member: ignored, as gzip does */
	fd = mem_file(gz, n + 512, path);
	expect_same_records(AFS, path, "pcap.gz", 0);
	close(fd);
	free(gz);
	free(all);
}

Test(capture, zstd_round_trip_and_frames)
{
	size_t len;
	uint8_t *all, *zs;
	size_t cap, n;
	char path[64];
	int fd;

	need_corpus();
	all = slurp(AFS, &len);
	cap = ZSTD_compressBound(len) * 2;
	zs = malloc(cap);
	n = ZSTD_compress(zs, cap, all, len, 3);
	cr_assert(!ZSTD_isError(n));
	fd = mem_file(zs, n, path);
	expect_same_records(AFS, path, "pcap.zst", 0);
	expect_same_records(AFS, path, "pcap.zst", 3);
	close(fd);

	size_t m = ZSTD_compress(zs, cap, all, 777, 1); /* two frames */

	m += ZSTD_compress(zs + m, cap - m, all + 777, len - 777, 1);
	fd = mem_file(zs, m, path);
	expect_same_records(AFS, path, "pcap.zst", 0);
	close(fd);
	free(zs);
	free(all);
}

static void expect_cut(const uint8_t *data, size_t n, const char *want)
{
	char path[64];
	int fd = mem_file(data, n, path);
	struct readout o = read_all(path, NULL);

	cr_expect(o.open_rc < 0 || o.end_rc < 0, "cut at %zu read cleanly", n);
	cr_expect(strstr(o.err, want) != NULL, "cut at %zu: %s", n, o.err);
	cr_expect_leq(o.n, 601u); /* a cut trailer comes after every record */
	close(fd);
}

Test(capture, truncated_gzip_and_zstd)
{
	size_t len, cap, n;
	uint8_t *all, *buf;

	need_corpus();
	all = slurp(AFS, &len);
	cap = ZSTD_compressBound(len) + 65536;
	buf = malloc(cap);
	n = gzip_member(all, len, buf, cap);
	expect_cut(buf, n / 2, "gzip stream cut after");
	expect_cut(buf, n - 1, "gzip stream cut after"); /* inside the trailer */
	expect_cut(buf, 5, "gzip stream cut after");
	buf[n / 2] ^= 0x55;
	expect_cut(buf, n, "gzip data corrupt");

	n = ZSTD_compress(buf, cap, all, len, 3);
	expect_cut(buf, n / 2, "zstd stream cut after");
	expect_cut(buf, n - 1, "zstd stream cut after");
	free(buf);
	free(all);
}

/* ---- standard input ---- */

static void feed_stdin(const uint8_t *data, size_t n)
{
	int fds[2];
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < n;) { /* small writes: short reads at our end */
			ssize_t k = write(fds[1], data + off, n - off < 999 ? n - off : 999);

			if (k <= 0)
				_exit(1);
			off += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
}

Test(capture, standard_input)
{
	size_t len;
	uint8_t *all;

	need_corpus();
	all = slurp(AFS, &len);
	feed_stdin(all, len);
	struct readout a = read_all(AFS, NULL), b = read_all("-", NULL);

	cr_assert_eq(b.open_rc, 0, "%s", b.err);
	cr_expect_eq(b.end_rc, 0, "%s", b.err);
	cr_expect_eq(b.n, a.n);
	cr_expect_str_eq(b.digest, a.digest);
	cr_expect_str_eq(b.hash, a.hash);
	wait(NULL);
	free(all);
}

Test(capture, standard_input_gzip)
{
	size_t len;
	uint8_t *all, *gz;

	need_corpus();
	all = slurp(PCAPNG, &len);
	gz = malloc(len + 4096);
	feed_stdin(gz, gzip_member(all, len, gz, len + 4096));
	struct readout a = read_all(PCAPNG, NULL), b = read_all("-", NULL);

	cr_assert_eq(b.open_rc, 0, "%s", b.err);
	cr_expect_eq(b.n, a.n);
	cr_expect_str_eq(b.digest, a.digest);
	cr_expect_str_eq(b.format, "pcapng.gz");
	wait(NULL);
	free(gz);
	free(all);
}

/* ---- filter ---- */

static uint64_t libpcap_count(const char *path, const char *expr)
{
	char pe[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, pe);
	struct bpf_program prog;
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0;

	cr_assert(p != NULL, "%s", pe);
	cr_assert_eq(pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);
	cr_assert_eq(pcap_setfilter(p, &prog), 0);
	while (pcap_next_ex(p, &h, &d) == 1)
		n++;
	pcap_freecode(&prog);
	pcap_close(p);
	return n;
}

Test(capture, filter_on_both_readers)
{
	const char *expr = "icmp[0] = 3 and icmp[1] = 3";

	need_corpus();
	for (int forced = 0; forced < 2; forced++) {
		struct cap_options opt = {.filter = expr, .force_libpcap = forced};
		struct cap_reader *r;
		struct cap_pkt p;
		char err[CAP_ERRBUF_SIZE];
		uint64_t n = 0;

		cr_assert_eq(cap_open(AFS, &opt, &r, err), 0, "%s", err);
		while (cap_next(r, &p) > 0)
			n++;
		cr_expect_eq(n, 25);
		cr_expect_eq(n, libpcap_count(AFS, expr));
		cr_expect_eq(cap_packets_read(r), 601, "records are counted before the filter");
		cap_close(r);
	}
}

Test(capture, bad_filter_is_an_open_error)
{
	struct cap_options opt = {.filter = "udp port (("};
	struct cap_reader *r;
	char err[CAP_ERRBUF_SIZE];

	need_corpus();
	cr_expect_eq(cap_open(AFS, &opt, &r, err), -1);
	cr_expect(strstr(err, "invalid filter \"udp port ((\": ") == err, "%s", err);
	cr_expect(strstr(err, "syntax error") != NULL, "%s", err);
	opt.force_libpcap = true;
	cr_expect_eq(cap_open(PCAPNG, &opt, &r, err), -1);
	cr_expect(strstr(err, "syntax error") != NULL, "%s", err);
}

/* ---- content hash ---- */

/* The hand-written hash kept for schema 1 and 2 identities: its values must never change. */
Test(capture, legacy_hash_known_values_and_splits)
{
	static const struct {
		size_t len;
		const char *hex;
	} golden[] = {{0, "a57526cc3c8629aa549e5d1c9542bb3f"},
		      {3, "d3b9cb3d69c8f08c32f275f9107fd49f"},
		      {1000, "58d0b166c67345c5b074f174e0c9e22f"}};
	uint8_t data[1000];
	struct legacy_hash128 whole, parts;
	char a[33], b[33];

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++) {
		legacy_hash128_init(&whole);
		legacy_hash128_update(&whole, data, golden[g].len);
		legacy_hash128_hex(&whole, a);
		cr_expect_str_eq(a, golden[g].hex, "length %zu", golden[g].len);
	}
	legacy_hash128_init(&whole);
	legacy_hash128_update(&whole, data, sizeof data);
	legacy_hash128_hex(&whole, a);
	for (size_t step = 1; step < 70; step++) {
		legacy_hash128_init(&parts);
		for (size_t off = 0; off < sizeof data; off += step)
			legacy_hash128_update(&parts, data + off,
					      sizeof data - off < step ? sizeof data - off : step);
		legacy_hash128_hex(&parts, b);
		cr_expect_str_eq(a, b, "split every %zu bytes", step);
	}
	data[500] ^= 1;
	legacy_hash128_init(&parts);
	legacy_hash128_update(&parts, data, sizeof data);
	legacy_hash128_hex(&parts, b);
	cr_expect_str_neq(a, b);
}

Test(capture, file_hash_is_of_the_file)
{
	size_t len;
	uint8_t *all;
	struct legacy_hash128 h;
	char want[33];

	need_corpus();
	all = slurp(AFS, &len);
	legacy_hash128_init(&h);
	legacy_hash128_update(&h, all, len);
	legacy_hash128_hex(&h, want);
	for (size_t rs = 1; rs < 300000; rs = rs * 7 + 3) {
		struct cap_options opt = {.read_size = rs};
		struct readout o = read_all(AFS, &opt);

		cr_expect_str_eq(o.file_hash, want, "read size %zu", rs);
	}
	struct cap_options forced = {.force_libpcap = true};

	cr_expect_str_eq(read_all(AFS, &forced).file_hash, want);
	/* The packets' identity does not depend on the reader either. */
	cr_expect_str_eq(read_all(AFS, &forced).hash, read_all(AFS, NULL).hash);
	free(all);
}

#define SAMPLE "samples/dns-restart.pcap" /* in the repository: never skipped */

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The identity computed here from libpcap's reading, field by field (SPEC §8): XXH3-128 of
 * the link type, then each record's time in microseconds, caplen, len (little-endian) and
 * bytes; the legacy packet hash of schema 2 over the very same bytes. */
static void packet_hashes(const char *path, char xxh[33], char legacy[33])
{
	char pe[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
	XXH3_state_t *x = XXH3_createState();
	struct legacy_hash128 l;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t head[16];

	cr_assert(p != NULL && x != NULL, "%s", pe);
	XXH3_128bits_reset(x);
	legacy_hash128_init(&l);
	put_le(head, (uint64_t)pcap_datalink(p), 4);
	XXH3_128bits_update(x, head, 4);
	legacy_hash128_update(&l, head, 4);
	while (pcap_next_ex(p, &h, &data) == 1) {
		put_le(head, (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec / 1000u,
		       8);
		put_le(head + 8, h->caplen, 4);
		put_le(head + 12, h->len, 4);
		XXH3_128bits_update(x, head, sizeof head);
		XXH3_128bits_update(x, data, h->caplen);
		legacy_hash128_update(&l, head, sizeof head);
		legacy_hash128_update(&l, data, h->caplen);
	}
	XXH128_hash_t v = XXH3_128bits_digest(x);
	snprintf(xxh, 33, "%016llx%016llx", (unsigned long long)v.high64,
		 (unsigned long long)v.low64);
	legacy_hash128_hex(&l, legacy);
	XXH3_freeState(x);
	pcap_close(p);
}

struct hashes {
	int end_rc;
	char content[33], legacy_pkt[33], sha[65];
};

static struct hashes reader_hashes(const char *path, size_t read_size)
{
	struct cap_options opt = {
	    .legacy_packet_hash = true, .sha256 = true, .read_size = read_size};
	struct hashes o = {0};
	struct cap_reader *r;
	struct cap_pkt p;
	char err[CAP_ERRBUF_SIZE];

	cr_assert_eq(cap_open(path, &opt, &r, err), 0, "%s", err);
	while ((o.end_rc = cap_next(r, &p)) > 0)
		;
	cap_content_hash(r, o.content);
	cap_legacy_packet_hash(r, o.legacy_pkt);
	cr_expect_eq(cap_sha256(r, o.sha), 0);
	cap_close(r);
	return o;
}

static void sha256_of(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;

	cr_assert_eq(EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < md_len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

Test(capture, identity_is_xxh3_of_the_packets)
{
	char xxh[33], legacy[33], sha[65], path[64];
	size_t len;
	uint8_t *all = slurp(SAMPLE, &len);
	uint8_t *gz = malloc(len + 4096);
	size_t n = gzip_member(all, len, gz, len + 4096);
	int fd = mem_file(gz, n, path);

	packet_hashes(SAMPLE, xxh, legacy);
	for (size_t rs = 7; rs < 200000; rs = rs * 9 + 1) {
		struct hashes h = reader_hashes(SAMPLE, rs);

		cr_expect_eq(h.end_rc, 0);
		cr_expect_str_eq(h.content, xxh, "read size %zu", rs);
		cr_expect_str_eq(h.legacy_pkt, legacy, "read size %zu", rs);
	}
	struct hashes packed = reader_hashes(path, 0);

	cr_expect_str_eq(packed.content, xxh, "gzip-compressed: the same packets");
	cr_expect_str_eq(packed.legacy_pkt, legacy);
	sha256_of(gz, n, sha);
	cr_expect_str_eq(packed.sha, sha, "SHA-256 of the stored (compressed) bytes");
	sha256_of(all, len, sha);
	cr_expect_str_eq(reader_hashes(SAMPLE, 0).sha, sha);
	cr_expect_str_neq(xxh, legacy);
	close(fd);
	free(gz);
	free(all);
}

Test(capture, sha256_covers_the_file_after_a_corrupt_record)
{
	char sha[65], got[65], path[64], err[CAP_ERRBUF_SIZE];
	size_t len;
	uint8_t *all = slurp(SAMPLE, &len);
	struct cap_options opt = {.sha256 = true, .read_size = 100};
	struct cap_reader *r;
	struct cap_pkt p;
	int rc;

	size_t big = len + 600 * 1024; /* more than the stream reads ahead at open */

	all = realloc(all, big);
	cr_assert(all != NULL);
	for (size_t i = len; i < big; i++)
		all[i] = (uint8_t)(i * 7);
	len = big;
	memset(all + 24 + 8, 0xff, 4); /* the first record's caplen: 4 GiB */
	int fd = mem_file(all, len, path);

	sha256_of(all, len, sha);
	cr_assert_eq(cap_open(path, &opt, &r, err), 0, "%s", err);
	while ((rc = cap_next(r, &p)) > 0)
		;
	cr_expect_eq(rc, -1, "the reader stops at the first record");
	cr_expect_lt(cap_bytes_in(r), (uint64_t)len);
	cr_expect_eq(cap_sha256(r, got), 0);
	cr_expect_str_eq(got, sha, "the digest is still of the whole file");
	cap_close(r);
	opt.sha256 = false;
	cr_assert_eq(cap_open(path, &opt, &r, err), 0, "%s", err);
	cr_expect_eq(cap_sha256(r, got), 0);
	cr_expect_str_eq(got, "", "not asked: empty");
	cap_close(r);
	close(fd);
	free(all);
}

/* ---- decompression on a thread of its own ---- */

/* SAMPLE's records `times` over (a few MiB: several of the decoder's chunks). */
static uint8_t *repeated_sample(int times, size_t *out_len)
{
	size_t len;
	uint8_t *one = slurp(SAMPLE, &len);
	uint8_t *all = malloc(24 + (len - 24) * (size_t)times);

	cr_assert(all != NULL);
	memcpy(all, one, 24);
	for (int i = 0; i < times; i++)
		memcpy(all + 24 + (len - 24) * (size_t)i, one + 24, len - 24);
	*out_len = 24 + (len - 24) * (size_t)times;
	free(one);
	return all;
}

/* The same file read with the decoder inline and on a thread: same records, same end, same
 * message, same hashes; the helper is given back. */
static void expect_thread_same(const uint8_t *data, size_t n, const char *what)
{
	char path[64];
	int fd = mem_file(data, n, path);
	atomic_int helpers = 1;
	struct cap_options inline_opt = {.read_size = 4096};
	struct cap_options thread_opt = {.read_size = 4096, .decode_threads = &helpers};
	struct readout a = read_all(path, &inline_opt), b = read_all(path, &thread_opt);

	cr_expect_eq(a.open_rc, b.open_rc, "%s", what);
	cr_expect_eq(a.end_rc, b.end_rc, "%s", what);
	cr_expect_eq(a.n, b.n, "%s: %llu records inline, %llu threaded", what,
		     (unsigned long long)a.n, (unsigned long long)b.n);
	cr_expect_str_eq(a.digest, b.digest, "%s", what);
	cr_expect_str_eq(a.err, b.err, "%s", what);
	cr_expect_str_eq(a.hash, b.hash, "%s", what);
	cr_expect_str_eq(a.file_hash, b.file_hash, "%s", what);
	cr_expect_eq(atomic_load(&helpers), 1, "%s: the helper is given back", what);
	close(fd);
}

Test(capture, decoder_thread_reads_as_inline)
{
	size_t len, cap, n;
	uint8_t *all = repeated_sample(1500, &len); /* 5.4 MB */
	uint8_t *buf;

	cap = ZSTD_compressBound(len) + 65536;
	buf = malloc(cap);
	cr_assert(buf != NULL);
	n = gzip_member(all, len / 3, buf, cap);
	n += gzip_member(all + len / 3, len - len / 3, buf + n, cap - n);
	expect_thread_same(buf, n, "gzip, two members");
	memset(buf + n, 0, 512);
	expect_thread_same(buf, n + 512, "gzip, trailing junk");
	expect_thread_same(buf, n / 2, "gzip, cut");
	buf[n / 2] ^= 0x55;
	expect_thread_same(buf, n, "gzip, corrupt");
	n = ZSTD_compress(buf, cap, all, len, 3);
	expect_thread_same(buf, n, "zstd");
	expect_thread_same(buf, n - 1, "zstd, cut");
	buf[n / 2] ^= 0x55;
	expect_thread_same(buf, n, "zstd, corrupt");
	free(buf);
	free(all);
}

Test(capture, decoder_thread_only_while_a_helper_is_free)
{
	size_t len, n;
	uint8_t *all = repeated_sample(10, &len);
	uint8_t *gz = malloc(len + 4096);
	char path[64], err[CAP_ERRBUF_SIZE];
	atomic_int helpers = 1;
	struct cap_options opt = {.decode_threads = &helpers};
	struct cap_reader *a, *b;

	n = gzip_member(all, len, gz, len + 4096);
	int fd = mem_file(gz, n, path);

	cr_assert_eq(cap_open(path, &opt, &a, err), 0, "%s", err);
	cr_expect_eq(atomic_load(&helpers), 0, "the first capture took the helper");
	cr_assert_eq(cap_open(path, &opt, &b, err), 0, "%s", err);
	cr_expect_eq(atomic_load(&helpers), 0, "the second one decodes inline");
	cap_close(b);
	cr_expect_eq(atomic_load(&helpers), 0);
	cap_close(a);
	cr_expect_eq(atomic_load(&helpers), 1, "given back at close");
	cr_assert_eq(cap_open(SAMPLE, &opt, &a, err), 0, "%s", err);
	cr_expect_eq(atomic_load(&helpers), 1, "plain input takes none");
	cap_close(a);
	close(fd);
	free(gz);
	free(all);
}

/* ---- directory walk ---- */

struct seen {
	char lines[64][160];
	int n;
};

static void note(const char *path, const char *err, void *arg)
{
	struct seen *s = arg;
	const char *rel = strstr(path, "/t/");

	if (s->n < 64)
		snprintf(s->lines[s->n++], sizeof s->lines[0], "%s%s%s", rel ? rel + 3 : path,
			 err ? " ! " : "", err ? err : "");
}

/* A classic pcap file header (microseconds, little-endian, Ethernet): what the walk looks for. */
static const uint8_t PCAP_HEAD[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,	  4, 0, 0, 0, 0, 0,
				      0,    0,	  0,	0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};

static void write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Creates base/rel: a directory, a capture (a pcap header), an empty file, a text file, a
 * symbolic link to target, or a FIFO. */
static void make(const char *base, const char *rel, char kind, const char *target)
{
	char p[256];
	int rc = 0;

	snprintf(p, sizeof p, "%s/%s", base, rel);
	switch (kind) {
	case 'd':
		rc = mkdir(p, 0755);
		break;
	case 'f':
		write_file(p, PCAP_HEAD, sizeof PCAP_HEAD);
		break;
	case 'e':
		write_file(p, "", 0);
		break;
	case 't':
		write_file(p, "notes\n", 6);
		break;
	case 'l':
		rc = symlink(target, p);
		break;
	default:
		rc = mkfifo(p, 0644);
	}
	cr_assert_eq(rc, 0, "%s: %s", p, strerror(errno));
}

Test(capture, walk_sorted_no_symlinked_dirs)
{
	char base[] = "/tmp/pm-walk-XXXXXX", p[256];
	struct seen s = {0};

	cr_assert_not_null(mkdtemp(base));
	make(base, "t", 'd', NULL);
	make(base, "t/b", 'd', NULL);
	make(base, "t/b/2.pcap", 'f', NULL);
	make(base, "t/b/10.pcap", 'f', NULL);
	make(base, "t/a.pcap", 'f', NULL);
	make(base, "t/B.pcap", 'f', NULL);
	make(base, "t/_x", 'f', NULL);
	make(base, "t/empty.pcap", 'e', NULL);
	make(base, "t/notes.txt", 't', NULL);
	make(base, "t/linkdir", 'l', "b");
	make(base, "t/linkfile", 'l', "a.pcap");
	make(base, "t/dangling", 'l', "nothing");
	make(base, "t/fifo", 'p', NULL);

	snprintf(p, sizeof p, "%s/t/", base);
	const char *args[] = {"-", p, "/nonexistent.pcap"};

	cap_walk(args, 3, note, &s);
	cr_assert_eq(s.n, 9);
	cr_expect_str_eq(s.lines[0], "-");
	cr_expect_str_eq(s.lines[1], "B.pcap");
	cr_expect_str_eq(s.lines[2], "_x");
	cr_expect_str_eq(s.lines[3], "a.pcap");
	cr_expect_str_eq(s.lines[4], "b/10.pcap");
	cr_expect_str_eq(s.lines[5], "b/2.pcap");
	cr_expect_str_eq(s.lines[6], "dangling ! broken symbolic link: No such file or directory");
	cr_expect_str_eq(s.lines[7], "linkfile");
	cr_expect_str_eq(s.lines[8], "/nonexistent.pcap");

	snprintf(p, sizeof p, "rm -rf %s", base);
	cr_expect_eq(system(p), 0);
}

/* cap_sniff: a capture by its magic number, after gzip or zstd decompression of the first
 * bytes; empty, short, other magic numbers, compressed text are not captures. */
Test(capture, sniff_magic_after_decompression)
{
	char base[] = "/tmp/pm-sniff-XXXXXX", p[256], why[CAP_ERRBUF_SIZE];
	uint8_t z[256];
	cr_assert_not_null(mkdtemp(base));
	static const struct {
		const char *name;
		int zip;
		const void *data;
		size_t len;
		enum cap_sniff want;
		const char *why;
	} C[] = {
	    {"a.pcap", 0, PCAP_HEAD, sizeof PCAP_HEAD, CAP_SNIFF_CAPTURE, NULL},
	    {"b.pcap.gz", 1, PCAP_HEAD, sizeof PCAP_HEAD, CAP_SNIFF_CAPTURE, NULL},
	    {"c.pcap.zst", 2, PCAP_HEAD, sizeof PCAP_HEAD, CAP_SNIFF_CAPTURE, NULL},
	    {"ng.pcapng", 0, "\x0a\x0d\x0d\x0a\x1c\0\0\0", 8, CAP_SNIFF_CAPTURE, NULL},
	    {"empty", 0, "", 0, CAP_SNIFF_NOT_CAPTURE, "empty file"},
	    {"tiny", 0, "\xd4\xc3\xb2", 3, CAP_SNIFF_NOT_CAPTURE, "3 bytes, too short"},
	    {"notes.txt", 0, "hello\n", 6, CAP_SNIFF_NOT_CAPTURE, "(starts with 68 65 6c 6c)"},
	    {"log.json.gz", 1, "{\"a\":1}", 7, CAP_SNIFF_NOT_CAPTURE, "gzip data, not a pcap"},
	    {"log.zst", 2, "{\"a\":1}", 7, CAP_SNIFF_NOT_CAPTURE, "zstd data, not a pcap"},
	    {"cut.gz", 3, PCAP_HEAD, sizeof PCAP_HEAD, CAP_SNIFF_NOT_CAPTURE,
	     "does not decompress"},
	};
	for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
		size_t n = C[i].len;
		const void *data = C[i].data;
		snprintf(p, sizeof p, "%s/%s", base, C[i].name);
		if (C[i].zip == 1 || C[i].zip == 3) {
			z_stream zs = {0};
			cr_assert_eq(
			    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			    Z_OK);
			zs.next_in = (Bytef *)data, zs.avail_in = (uInt)n;
			zs.next_out = z, zs.avail_out = sizeof z;
			cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
			n = zs.total_out, data = z;
			deflateEnd(&zs);
			if (C[i].zip == 3)
				n = 12; /* the gzip header and two bytes of deflate data */
		} else if (C[i].zip == 2) {
			n = ZSTD_compress(z, sizeof z, data, n, 3);
			cr_assert(!ZSTD_isError(n));
			data = z;
		}
		write_file(p, data, n);
		why[0] = '\0';
		enum cap_sniff got = cap_sniff(p, why, sizeof why);
		cr_expect_eq(got, C[i].want, "%s: %d (%s)", C[i].name, got, why);
		if (C[i].why)
			cr_expect(strstr(why, C[i].why) != NULL, "%s: %s", C[i].name, why);
	}
	snprintf(p, sizeof p, "%s/missing", base);
	cr_expect_eq(cap_sniff(p, why, sizeof why), CAP_SNIFF_ERROR);
	cr_expect(strstr(why, "cannot open") != NULL, "%s", why);
	snprintf(p, sizeof p, "rm -rf %s", base);
	cr_expect_eq(system(p), 0);
}

/* An empty directory, alone or inside another, gives nothing and reports nothing (and its
 * empty listing is never handed to qsort as a null pointer: UBSan aborts on that). */
Test(capture, walk_empty_directories)
{
	char base[] = "/tmp/pm-walk-XXXXXX", p[256], q[256];
	struct seen s = {0};

	cr_assert_not_null(mkdtemp(base));
	make(base, "t", 'd', NULL);
	make(base, "t/empty", 'd', NULL);
	make(base, "t/empty2", 'd', NULL);
	snprintf(p, sizeof p, "%s/t/empty", base);
	snprintf(q, sizeof q, "%s/t", base);
	const char *args[] = {p, q};

	cap_walk(args, 2, note, &s);
	cr_expect_eq(s.n, 0, "%d paths or errors, first: %s", s.n, s.lines[0]);

	snprintf(p, sizeof p, "rm -rf %s", base);
	cr_expect_eq(system(p), 0);
}

Test(capture, walk_depth_cap_and_unreadable)
{
	char base[] = "/tmp/pm-walk-XXXXXX", p[1024];
	struct seen s = {0};
	size_t len;

	cr_assert_not_null(mkdtemp(base));
	len = (size_t)snprintf(p, sizeof p, "%s/t", base);
	mkdir(p, 0755);
	for (int i = 0; i < 40; i++) {
		len += (size_t)snprintf(p + len, sizeof p - len, "/d");
		cr_assert_eq(mkdir(p, 0755), 0);
	}
	snprintf(p, sizeof p, "%s/t", base);
	const char *args[] = {p};

	cap_walk(args, 1, note, &s);
	cr_assert_eq(s.n, 1);
	cr_expect(strstr(s.lines[0], "nested too deep") != NULL, "%s", s.lines[0]);

	if (geteuid() != 0) {
		snprintf(p, sizeof p, "%s/t/d", base);
		chmod(p, 0);
		s.n = 0;
		snprintf(p, sizeof p, "%s/t", base);
		cap_walk(args, 1, note, &s);
		cr_expect_eq(s.n, 1);
		cr_expect(strstr(s.lines[0], "cannot read directory: Permission denied") != NULL,
			  "%s", s.lines[0]);
		snprintf(p, sizeof p, "%s/t/d", base);
		chmod(p, 0755);
	} else {
		cr_log_info("running as root: the unreadable-directory case is not testable");
	}
	snprintf(p, sizeof p, "rm -rf %s", base);
	cr_expect_eq(system(p), 0);
}
