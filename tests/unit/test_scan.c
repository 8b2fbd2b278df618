/* test_scan.c - the packet loop in two threads (a helper reads and dissects, the caller's
 * thread gets the records) against the same loop in one: the same records, bytes, counts,
 * ends and identities, on the samples, repeated, cut, with tiny reads, a slow consumer and a
 * consumer that stops. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "analyzer/capture.h"
#include "analyzer/scan.h"

#define SAMPLE "samples/dns-restart.pcap"

/* What the callback saw, digested record by record, and how it behaves. */
struct seen {
	XXH3_state_t *h;
	uint64_t n;
	uint64_t stop_after; /* 0: never stop */
	int slow_every;	     /* > 0: sleep 50 us every that many records */
};

static void digest(XXH3_state_t *h, const void *p, size_t n)
{
	if (n)
		cr_assert_neq(XXH3_128bits_update(h, p, n), XXH_ERROR);
}

static int on_record(const struct cap_pkt *pkt, uint64_t frame, int64_t ts,
		     const struct dissection *d, void *arg)
{
	struct seen *s = arg;
	int kind = d->kind;
	digest(s->h, &frame, sizeof frame);
	digest(s->h, &ts, sizeof ts);
	digest(s->h, &kind, sizeof kind);
	digest(s->h, &pkt->caplen, sizeof pkt->caplen);
	digest(s->h, &pkt->len, sizeof pkt->len);
	digest(s->h, pkt->data, pkt->caplen); /* the bytes are still the record's */
	digest(s->h, &d->src, sizeof d->src);
	digest(s->h, &d->dst, sizeof d->dst);
	digest(s->h, &d->sport, sizeof d->sport);
	digest(s->h, &d->dport, sizeof d->dport);
	digest(s->h, d->payload.p, d->payload.len);
	digest(s->h, &d->icmp.q.sport, sizeof d->icmp.q.sport);
	digest(s->h, d->icmp.q.payload.p, d->icmp.q.payload.len);
	digest(s->h, d->icmp.q.hint.dns_qname, d->icmp.q.hint.dns_qname_len);
	s->n++;
	if (s->slow_every > 0 && s->n % (uint64_t)s->slow_every == 0) {
		struct timespec t = {0, 50000};
		nanosleep(&t, NULL);
	}
	return s->stop_after && s->n >= s->stop_after ? SCAN_DB_ERROR : SCAN_GO_ON;
}

struct scan_out {
	int rc;
	uint64_t n;
	struct scan_stats st;
	char digest[33], hash[33], err[CAP_ERRBUF_SIZE];
};

static struct scan_out scan_with(const char *path, const struct cap_options *opt_in,
				 atomic_int *helpers, uint64_t stop_after, int slow_every)
{
	struct cap_options opt = *opt_in;
	struct cap_reader *r;
	char errbuf[CAP_ERRBUF_SIZE];
	struct scan_out o = {0};
	struct seen s = {XXH3_createState(), 0, stop_after, slow_every};
	cr_assert(s.h != NULL);
	cr_assert_neq(XXH3_128bits_reset(s.h), XXH_ERROR);
	cr_assert_eq(cap_open(path, &opt, &r, errbuf), 0, "%s: %s", path, errbuf);
	o.rc = scan_capture(r, &o.st, on_record, &s, helpers);
	o.n = s.n;
	XXH128_hash_t v = XXH3_128bits_digest(s.h);
	snprintf(o.digest, sizeof o.digest, "%016llx%016llx", (unsigned long long)v.high64,
		 (unsigned long long)v.low64);
	if (o.rc <= 0) /* a capture cut short is stored too, under the hash of what was read */
		cap_content_hash(r, o.hash);
	snprintf(o.err, sizeof o.err, "%s", o.rc < 0 ? cap_error(r) : "");
	cap_close(r);
	XXH3_freeState(s.h);
	return o;
}

static struct scan_out scan(const char *path, size_t read_size, atomic_int *helpers,
			    uint64_t stop_after, int slow_every)
{
	struct cap_options opt = {.read_size = read_size};
	return scan_with(path, &opt, helpers, stop_after, slow_every);
}

static void expect_same(const struct scan_out *a, const struct scan_out *b, const char *what)
{
	cr_expect_eq(a->rc, b->rc, "%s: rc %d alone, %d in two threads", what, a->rc, b->rc);
	cr_expect_eq(a->n, b->n, "%s: %llu records alone, %llu in two threads", what,
		     (unsigned long long)a->n, (unsigned long long)b->n);
	cr_expect_str_eq(a->digest, b->digest, "%s: the records differ", what);
	cr_expect_str_eq(a->hash, b->hash, "%s: the identity differs", what);
	cr_expect_str_eq(a->err, b->err, "%s", what);
	cr_expect_eq(memcmp(&a->st, &b->st, sizeof a->st), 0, "%s: the counts differ", what);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f != NULL, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	cr_assert(n > 24);
	rewind(f);
	uint8_t *p = malloc((size_t)n);
	cr_assert(p != NULL);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* A file in memory: `times` copies of the sample's records, cut to `keep` bytes (0: all). */
static int repeated(int times, size_t keep, char path[64])
{
	size_t len;
	uint8_t *one = slurp(SAMPLE, &len);
	int fd = memfd_create("pm-scan", 0);
	cr_assert(fd >= 0);
	size_t total = 24 + (len - 24) * (size_t)times, written = 0;
	cr_assert_eq(write(fd, one, 24), 24);
	for (int i = 0; i < times; i++, written += len - 24)
		cr_assert_eq(write(fd, one + 24, len - 24), (ssize_t)(len - 24));
	cr_assert_eq(written + 24, total);
	if (keep)
		cr_assert_eq(ftruncate(fd, (off_t)keep), 0);
	free(one);
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* The file read in one thread and in two, with reads of read_size bytes: the same, and the
 * helper given back. The one-thread reading. */
static struct scan_out both_ways(const char *path, size_t read_size, const char *what)
{
	atomic_int helpers = 1;
	struct scan_out a = scan(path, read_size, NULL, 0, 0);
	struct scan_out b = scan(path, read_size, &helpers, 0, 0);
	expect_same(&a, &b, what);
	cr_expect_eq(atomic_load(&helpers), 1, "%s: the helper is given back", what);
	return a;
}

Test(scan, two_threads_hand_on_what_one_does)
{
	static const char *const files[] = {
	    "samples/dns-restart.pcap",	      "samples/dns-closed-vlan.pcap",
	    "samples/traceroute.pcap",	      "samples/udp-scan.pcap",
	    "samples/reflection-victim.pcap", "samples/media-hangup.pcap"};
	static const size_t sizes[] = {7, 100, 1500, 65536, 0};
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			char what[128];
			snprintf(what, sizeof what, "%s, reads of %zu", files[f], sizes[i]);
			struct scan_out a = both_ways(files[f], sizes[i], what);
			cr_expect_gt(a.n, 0, "%s: no records", what);
		}
	}
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
	for (int i = 0; i < 4; i++)
		p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum variant { V_BIG_ENDIAN, V_NANOSECONDS, V_SNAPSHOT_60, V_HEADERS_24 };

/* The sample rewritten as another kind of classic pcap file, in memory. */
static int variant_file(enum variant v, char path[64])
{
	size_t len;
	uint8_t *in = slurp(SAMPLE, &len);
	uint8_t *out = malloc(len * 2);
	cr_assert(out != NULL);
	bool be = v == V_BIG_ENDIAN;
	uint32_t magic = v == V_NANOSECONDS  ? 0xa1b23c4du
			 : v == V_HEADERS_24 ? 0xa1b2cd34u
					     : 0xa1b2c3d4u;
	put32(out, magic, be);
	out[be ? 5 : 4] = 2, out[be ? 4 : 5] = 0; /* version 2.4 */
	out[be ? 7 : 6] = 4, out[be ? 6 : 7] = 0;
	memset(out + 8, 0, 8);
	put32(out + 16, v == V_SNAPSHOT_60 ? 60 : get32le(in + 16), be);
	put32(out + 20, get32le(in + 20), be);
	size_t o = 24;
	for (size_t i = 24; i + 16 <= len;) {
		uint32_t caplen = get32le(in + i + 8);
		cr_assert(i + 16 + caplen <= len);
		put32(out + o, get32le(in + i), be);
		put32(out + o + 4, get32le(in + i + 4) * (v == V_NANOSECONDS ? 1000 : 1), be);
		put32(out + o + 8, caplen, be);
		put32(out + o + 12, get32le(in + i + 12), be);
		o += 16;
		if (v == V_HEADERS_24) {
			memset(out + o, 0, 8);
			o += 8;
		}
		memcpy(out + o, in + i + 16, caplen);
		o += caplen;
		i += 16 + caplen;
	}
	int fd = memfd_create("pm-scan-variant", 0);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, out, o), (ssize_t)o);
	free(in);
	free(out);
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* Big-endian, nanosecond, 24-byte record headers, records cut to a 60-byte snapshot: the
 * identity the caller's thread takes over the reader's records is the one-thread one. */
Test(scan, identity_alike_in_every_classic_pcap_kind)
{
	static const char *const names[] = {"big-endian", "nanoseconds", "snapshot 60",
					    "24-byte headers"};
	static const size_t sizes[] = {7, 100, 0};
	for (int v = V_BIG_ENDIAN; v <= V_HEADERS_24; v++) {
		char path[64], what[64];
		int fd = variant_file((enum variant)v, path);
		/* libpcap's reading hashes each packet as it comes (hash_packet()): our reader's
		 * runs of rewritten headers, in one thread or two, must come to the same */
		struct cap_options lp = {.force_libpcap = true};
		struct scan_out ref = scan_with(path, &lp, NULL, 0, 0);
		cr_expect_eq(ref.rc, 0, "%s through libpcap: %s", names[v], ref.err);
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			snprintf(what, sizeof what, "%s, reads of %zu", names[v], sizes[i]);
			struct scan_out a = both_ways(path, sizes[i], what);
			cr_expect_eq(a.rc, 0, "%s: %s", what, a.err);
			cr_expect_gt(a.n, 0, "%s", what);
			cr_expect_neq(a.hash[0], '\0', "%s", what);
			cr_expect_str_eq(a.hash, ref.hash, "%s: not libpcap's identity", what);
			cr_expect_str_eq(a.digest, ref.digest, "%s: not libpcap's records", what);
		}
		close(fd);
	}
}

/* Many buffers' worth of records and a consumer slower than the reader: the reader waits
 * for the ring and for its buffers, and no record's bytes change under the consumer. */
Test(scan, slow_consumer_and_buffers_coming_round)
{
	char path[64];
	int fd = repeated(300, 0, path);
	atomic_int helpers = 1;
	struct scan_out a = scan(path, 200, NULL, 0, 0);
	struct scan_out b = scan(path, 200, &helpers, 0, 7);
	struct scan_out c = scan(path, 0, &helpers, 0, 0);
	cr_expect_gt(a.n, 5000);
	expect_same(&a, &b, "slow consumer, reads of 200");
	expect_same(&a, &c, "reads of 1 MiB");
	cr_expect_eq(atomic_load(&helpers), 1);
	close(fd);
}

/* A file cut in a record: the same records before the cut, the same message. */
Test(scan, cut_file_ends_alike)
{
	size_t len;
	free(slurp(SAMPLE, &len));
	for (size_t cut = len * 5 - 3; cut > len * 5 - 80; cut -= 11) {
		char path[64], what[64];
		int fd = repeated(5, cut, path);
		snprintf(what, sizeof what, "cut at %zu", cut);
		struct scan_out a = both_ways(path, 64, what);
		cr_expect_eq(a.rc, -1, "%s", what);
		close(fd);
	}
}

/* A consumer that stops (a database error): its verdict, at once, from either loop. */
Test(scan, consumer_stops_the_reader)
{
	char path[64];
	int fd = repeated(200, 0, path);
	atomic_int helpers = 1;
	for (uint64_t stop = 1; stop < 3000; stop = stop * 3 + 1) {
		struct scan_out a = scan(path, 300, NULL, stop, 0);
		struct scan_out b = scan(path, 300, &helpers, stop, 0);
		cr_expect_eq(a.rc, SCAN_DB_ERROR);
		cr_expect_eq(b.rc, SCAN_DB_ERROR);
		cr_expect_eq(a.n, stop);
		cr_expect_eq(b.n, stop, "stopped after %llu, handed %llu", (unsigned long long)stop,
			     (unsigned long long)b.n);
		cr_expect_str_eq(a.digest, b.digest);
	}
	cr_expect_eq(atomic_load(&helpers), 1);
	close(fd);
}

/* No helper free: one thread, and the count is left as it was. */
Test(scan, no_free_helper_reads_in_the_caller)
{
	atomic_int helpers = 0;
	struct scan_out a = scan(SAMPLE, 0, NULL, 0, 0);
	struct scan_out b = scan(SAMPLE, 0, &helpers, 0, 0);
	expect_same(&a, &b, "no helper");
	cr_expect_eq(atomic_load(&helpers), 0);
}

/* What a scan_ahead_fn was shown: the datagrams' ports and addresses, each with how many
 * datagrams the scan_fn had had then. */
#define AHEAD_MAX 4096
struct ahead_seen {
	uint64_t udp; /* datagrams the scan_fn got */
	struct dissection d[AHEAD_MAX];
	uint64_t udp_then[AHEAD_MAX]; /* for those shown near */
	size_t n[2];
	int bad_stage, not_udp;
	struct dissection got[AHEAD_MAX];
};

static void on_ahead(const struct dissection *d, int stage, void *arg)
{
	struct ahead_seen *s = arg;
	if (stage != 0 && stage != 1) {
		s->bad_stage++;
		return;
	}
	if (d->kind != PK_UDP)
		s->not_udp++;
	size_t i = s->n[stage]++;
	if (i < AHEAD_MAX && stage == 1) {
		s->d[i] = *d;
		s->udp_then[i] = s->udp;
	}
}

static int on_datagram(const struct cap_pkt *pkt, uint64_t frame, int64_t ts,
		       const struct dissection *d, void *arg)
{
	struct ahead_seen *s = arg;
	if (d->kind == PK_UDP && s->udp < AHEAD_MAX)
		s->got[s->udp] = *d;
	s->udp += d->kind == PK_UDP;
	return SCAN_GO_ON;
}

static bool same_datagram(const struct dissection *a, const struct dissection *b)
{
	return a->sport == b->sport && a->dport == b->dport && pm_addr_eq(&a->src, &b->src) &&
	       pm_addr_eq(&a->dst, &b->dst);
}

/* In two threads, the scan_ahead_fn is shown datagrams (and only datagrams) before the
 * scan_fn gets them, far and then near, in the order of the file; reading alone, there is
 * nothing to show ahead and it is never called. */
Test(scan, datagrams_are_shown_ahead_before_their_turn)
{
	static struct ahead_seen s;
	struct cap_options opt = {0};
	struct cap_reader *r;
	char errbuf[CAP_ERRBUF_SIZE];
	struct scan_stats st;
	atomic_int helpers = 1;
	const char *path = "samples/reflection-victim.pcap";
	for (int two = 0; two < 2; two++) {
		memset(&s, 0, sizeof s);
		cr_assert_eq(cap_open(path, &opt, &r, errbuf), 0, "%s: %s", path, errbuf);
		cr_assert_eq(
		    scan_capture_ahead(r, &st, on_datagram, on_ahead, &s, two ? &helpers : NULL),
		    0);
		cap_close(r);
		cr_assert_gt(s.udp, 20, "%llu datagrams", (unsigned long long)s.udp);
		cr_assert_lt(s.udp, AHEAD_MAX);
		if (!two) {
			cr_expect_eq(s.n[0] + s.n[1], 0, "one thread: shown ahead %zu times",
				     s.n[0] + s.n[1]);
			continue;
		}
		cr_expect_eq(s.bad_stage, 0);
		cr_expect_eq(s.not_udp, 0, "%d records shown ahead were no datagrams", s.not_udp);
		cr_expect_gt(s.n[0], 0, "nothing shown far ahead");
		cr_expect_gt(s.n[1], 0, "nothing shown near ahead");
		cr_expect_leq(s.n[0], s.udp);
		cr_expect_leq(s.n[1], s.udp);
		/* each datagram shown near is one still to come, in the file's order */
		uint64_t next = 0;
		for (size_t i = 0; i < s.n[1]; i++) {
			uint64_t j = s.udp_then[i] > next ? s.udp_then[i] : next;
			while (j < s.udp && !same_datagram(&s.got[j], &s.d[i]))
				j++;
			cr_assert_lt(j, s.udp, "datagram %zu shown ahead never came after", i);
			next = j + 1;
		}
	}
	cr_expect_eq(atomic_load(&helpers), 1);
}
