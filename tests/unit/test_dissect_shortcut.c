/* test_dissect_shortcut.c - dissect_packet()'s shortcut for TCP over IPv4 gives what the
 * whole chain of dissectors gives (dissect_chain()), and every frame dissect_plain_tcp4()
 * lets the scan skip is one the chain finds nothing in, on every frame of the samples and of
 * the public corpus, on every truncation of a TCP frame, and on frames whose IPv4 header is
 * changed field by field and at random. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissect.h"
#include "dissectors/internal.h"
#include "tests/unit/shared_data.h"

/* Frames dissect_plain_tcp4() let the scan skip, and frames it did not, in expect_alike(). */
static size_t n_plain, n_not_plain;

/* Frame for frame, what the analyzer reads of a dissection: its kind, anomalies and outer
 * fields, and whether it is an ICMP error. A frame dissect_plain_tcp4() says the scan may
 * skip is one the chain finds nothing in: PK_OTHER, no anomaly. */
static void expect_alike(int link, const uint8_t *p, size_t caplen, size_t wirelen,
			 const char *what)
{
	struct dissection a, b;
	enum pkt_kind ka = dissect_packet(link, p, caplen, wirelen, &a);
	enum pkt_kind kb = dissect_chain(link, p, caplen, wirelen, &b);
	if (dissect_plain_tcp4(link, p, caplen, wirelen)) {
		n_plain++;
		cr_assert(kb == PK_OTHER && b.anomalies == 0,
			  "%s: skipped as plain TCP, the chain's kind %d, anomalies %#llx", what,
			  kb, (unsigned long long)b.anomalies);
	} else {
		n_not_plain++;
	}
	cr_assert_eq(ka, kb, "%s: kind %d, the chain's %d", what, ka, kb);
	cr_assert_eq(a.anomalies, b.anomalies, "%s: anomalies %#llx, the chain's %#llx", what,
		     (unsigned long long)a.anomalies, (unsigned long long)b.anomalies);
	cr_assert(memcmp(&a, &b, offsetof(struct dissection, icmp)) == 0,
		  "%s: the outer fields differ", what);
	cr_assert(a.icmp.family == b.icmp.family && a.icmp.type == b.icmp.type &&
		      a.icmp.code == b.icmp.code,
		  "%s: the ICMP error differs", what);
}

/* Every frame of a capture file libpcap reads; returns the frames compared. */
static size_t file_alike(const char *path)
{
	char err[PCAP_ERRBUF_SIZE], what[1100];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc)
		return 0; /* a file the corpus keeps to be refused */
	int link = pcap_datalink_ext(pc);
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0;
	while (pcap_next_ex(pc, &h, &d) == 1) {
		snprintf(what, sizeof what, "%s, frame %zu", path, ++n);
		/* DLT_ and LINKTYPE_ numbers agree for every link with a TCP shortcut */
		expect_alike(link, d, h->caplen, h->len, what);
	}
	pcap_close(pc);
	return n;
}

static size_t dir_alike(const char *dir, int depth)
{
	DIR *dp = opendir(dir);
	size_t n = 0;
	if (!dp)
		return 0;
	struct dirent *e;
	char path[1024];
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t l = strlen(e->d_name);
		if (e->d_type == DT_DIR && depth > 0)
			n += dir_alike(path, depth - 1);
		else if ((l > 5 && strcmp(e->d_name + l - 5, ".pcap") == 0) ||
			 (l > 7 && strcmp(e->d_name + l - 7, ".pcapng") == 0))
			n += file_alike(path);
	}
	closedir(dp);
	return n;
}

Test(dissect_shortcut, samples_alike)
{
	cr_expect_gt(dir_alike("samples", 2), 300);
}

Test(dissect_shortcut, corpus_alike)
{
	need_shared("corpus", "the public corpus");
	cr_expect_gt(dir_alike(shared_path("corpus"), 3), 10000);
}

/* Ethernet, IPv4 (20 bytes, DF), TCP SYN 192.0.2.1:40000 -> 198.51.100.7:443, 40 + 20 bytes. */
static const uint8_t TCP_FRAME[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45,
    0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
    0xc6, 0x33, 0x64, 0x07, 0x9c, 0x40, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x50, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

Test(dissect_shortcut, tcp_frame_every_truncation_and_wire_length)
{
	struct dissection d;
	cr_assert_eq(
	    dissect_packet(PM_LINKTYPE_ETHERNET, TCP_FRAME, sizeof TCP_FRAME, sizeof TCP_FRAME, &d),
	    PK_OTHER);
	cr_assert_eq(d.anomalies, 0);
	cr_assert_eq(d.ip_proto, 6);
	cr_assert_eq(d.ttl, 64);
	cr_assert(dissect_plain_tcp4(PM_LINKTYPE_ETHERNET, TCP_FRAME, sizeof TCP_FRAME,
				     sizeof TCP_FRAME));
	cr_assert(dissect_plain_tcp4(PM_LINKTYPE_ETHERNET, TCP_FRAME, 34, sizeof TCP_FRAME),
		  "cut after the IP header (a snapshot length)");
	cr_assert(!dissect_plain_tcp4(PM_LINKTYPE_ETHERNET, TCP_FRAME, 33, sizeof TCP_FRAME),
		  "the IP header cut");
	cr_assert(!dissect_plain_tcp4(PM_LINKTYPE_RAW, TCP_FRAME + 14, sizeof TCP_FRAME - 14,
				      sizeof TCP_FRAME - 14),
		  "the shortcut is Ethernet's only");
	cr_assert(!dissect_plain_tcp4(PM_LINKTYPE_ETHERNET, NULL, 0, 0));
	char what[80];
	n_plain = n_not_plain = 0;
	for (size_t cap = 0; cap <= sizeof TCP_FRAME; cap++)
		for (size_t wire = 0; wire <= sizeof TCP_FRAME + 70; wire += 7) {
			snprintf(what, sizeof what, "caplen %zu, wire length %zu", cap, wire);
			expect_alike(PM_LINKTYPE_ETHERNET, TCP_FRAME, cap, wire, what);
		}
	cr_expect_gt(n_plain, 0);
	cr_expect_gt(n_not_plain, 0);
}

Test(dissect_shortcut, every_value_of_the_fields_it_reads)
{
	uint8_t f[sizeof TCP_FRAME];
	char what[80];
	/* ethertype high and low byte, version/IHL, total length (both bytes), flags and
	 * offset (both bytes), protocol */
	static const size_t at[] = {12, 13, 14, 16, 17, 20, 21, 23};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		for (unsigned v = 0; v < 256; v++) {
			memcpy(f, TCP_FRAME, sizeof f);
			f[at[i]] = (uint8_t)v;
			snprintf(what, sizeof what, "byte %zu = %#x", at[i], v);
			expect_alike(PM_LINKTYPE_ETHERNET, f, sizeof f, sizeof f, what);
			expect_alike(PM_LINKTYPE_ETHERNET, f, sizeof f, sizeof f + 1000, what);
			expect_alike(PM_LINKTYPE_ETHERNET, f, 34, sizeof f, what);
		}
}

Test(dissect_shortcut, random_headers)
{
	uint8_t f[sizeof TCP_FRAME];
	char what[80];
	srand(20261201);
	for (int n = 0; n < 200000; n++) {
		memcpy(f, TCP_FRAME, sizeof f);
		for (size_t i = 14; i < 34; i++)
			if (rand() % 4 == 0)
				f[i] = (uint8_t)rand();
		if (rand() % 2)
			f[14] = 0x45, f[23] = 6; /* mostly frames the shortcut may take */
		size_t cap = (size_t)rand() % (sizeof f + 1);
		size_t wire = cap + (size_t)(rand() % 3 == 0 ? rand() % 2000 : 0);
		if (rand() % 16 == 0)
			wire = (size_t)rand() % (sizeof f + 1);
		snprintf(what, sizeof what, "random frame %d", n);
		expect_alike(PM_LINKTYPE_ETHERNET, f, cap, wire, what);
	}
}
