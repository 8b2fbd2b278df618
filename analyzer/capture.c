/* capture.c - opens captures (pcap, pcapng, gzip, zstd) and hands out records: classic pcap
 * through our own zero-copy reader, pcapng through libpcap (pcap-savefile(5), pcapng RFC draft). */
#include "analyzer/capture.h"

#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* libxxhash's run-time dispatch picks the CPU's widest vectors (SSE2, AVX2, AVX-512); the
 * value is the same whichever runs. */
#include <xxh_x86dispatch.h>
#define PKT_HASH_UPDATE XXH3_128bits_update_dispatch
#else
#define PKT_HASH_UPDATE XXH3_128bits_update
#endif

#include "analyzer/legacy_hash.h"
#include "analyzer/stream.h"
#include "dissectors/dissect.h"

#define READ_SIZE_DEFAULT (1024 * 1024)
#define GROW_STEP (64 * 1024)
#define PCAP_FILE_HDR_LEN 24
#define PEEK_MAX (64 * 1024)   /* pcapng bytes looked at for the first interface */
#define STAGE_SIZE (64 * 1024) /* packet identity bytes gathered before each hash update */
#define STAGE_DIRECT 512       /* packets at least this long are hashed without the stage */
#define PIN_MAX 8	       /* buffers of a pinned reader (cap_pin) */
#define IDENTITY_HEAD_LEN 16   /* a packet's time and lengths in its identity (hash_packet) */

/* Magic numbers as read big-endian (pcap-savefile(5)). */
#define MAGIC_MICRO 0xa1b2c3d4u
#define MAGIC_NANO 0xa1b23c4du
#define MAGIC_KUZNETZOV 0xa1b2cd34u /* patched libpcap: 24-byte record headers */
#define MAGIC_PCAPNG 0x0a0d0d0au

enum len_order { LEN_AS_IS, LEN_SWAPPED, LEN_MAYBE_SWAPPED };
enum rd_state { ST_OK, ST_EOF, ST_ERROR };

/* What our classic pcap reader needs from the file header. */
struct pcap_file {
	bool be;      /* file written big-endian */
	bool swapped; /* in the other byte order than this host's */
	bool nano;
	size_t rec_hdr_len; /* 16, or 24 for MAGIC_KUZNETZOV */
	enum len_order len_order;
	uint32_t snapshot;   /* caplen is cut to this, as libpcap does */
	uint32_t max_caplen; /* libpcap's max_snaplen_for_dlt(): a bigger caplen is corrupt */
};

struct cap_reader {
	struct cap_watch *watch; /* where this reader publishes itself (cap_watch_thread) */
	struct stream *st;
	bool no_hash;		/* opened with cap_options.no_hash */
	bool legacy_pkt;	/* cap_options.legacy_packet_hash (and not no_hash) */
	XXH3_state_t *pkt_hash; /* the packets: link type, then each time, lengths and bytes */
	uint8_t *stage;		/* those bytes gathered, hashed STAGE_SIZE at a time */
	size_t stage_len;
	struct legacy_hash128 legacy_pkt_hash; /* the same fields, schema version 2's hash */
	enum cap_format fmt;
	enum rd_state state;
	/* The hash above may be another thread's (cap_pin), the fields below are the reading
	 * thread's: a cache line apart, so that the two do not take it from each other. */
	uint8_t apart[64];
	uint8_t *buf; /* one reused buffer: records are handed out in place */
	size_t buf_cap, buf_len, pos, read_size;
	bool eof;
	/* cap_pin(): buf is pin_buf[pin_seq % pin_n], and a record that does not fit moves to
	 * the next one, so the records handed out stay where they are until released */
	unsigned pin_n;
	uint8_t *pin_buf[PIN_MAX];
	size_t pin_cap[PIN_MAX];
	uint64_t pin_seq;
	size_t pin_from; /* records from there on in buf were not reported to pin_fn yet */
	bool pin_norm;	 /* their headers are rewritten to what the identity hashes */
	/* Read by this thread alone, our own reader rewrites the headers too and hashes a run of
	 * records, buf[run_from, run_to), when the next one does not follow it or before the
	 * buffer's bytes move (run_hash()) */
	bool run_norm;
	size_t run_from, run_to;
	cap_pin_fn pin_fn;
	void *pin_arg;
	struct pcap_file pf;
	pcap_t *pc; /* set: libpcap reads (pcapng, or forced) */
	FILE *pc_file;
	pcap_t *dead; /* compiles the filter for our own reader */
	struct bpf_program prog;
	bool have_prog;
	int dlt;
	int precision;
	uint32_t snapshot;
	uint64_t n_read;
	char fmt_name[16];
	char lt_name[24];
	char err[CAP_ERRBUF_SIZE];
};

static uint32_t get32(const uint8_t *p, bool be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16(const uint8_t *p, bool be)
{
	return (uint16_t)(be ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

/* Sets the sticky error, "... (after N packets)", and returns -1. */
__attribute__((format(printf, 2, 3))) static int rd_fail(struct cap_reader *r, const char *fmt, ...)
{
	char msg[CAP_ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof r->err, "%.400s (after %llu %s)", msg,
		 (unsigned long long)r->n_read, pm_plural((int64_t)r->n_read, "packet", "packets"));
	r->state = ST_ERROR;
	return -1;
}

/* The fraction in ns may be negative (see ts_field()) or 1e9 and more (a file may hold
 * anything): carry it into the seconds so that 0 <= ts_nsec < 1e9, the same instant. */
static void set_ts(struct cap_pkt *pkt, int64_t sec, int64_t frac_ns)
{
	int64_t carry = frac_ns / 1000000000, ns = frac_ns % 1000000000;

	if (ns < 0) {
		ns += 1000000000;
		carry--;
	}
	pkt->ts_sec = sec + carry;
	pkt->ts_nsec = (uint32_t)ns;
}

/* ---- our own classic pcap reader ---- */

/* Hashes the run of normalized records kept in buf (run_norm) and empties it. */
static void run_hash(struct cap_reader *r)
{
	if (r->run_to > r->run_from)
		PKT_HASH_UPDATE(r->pkt_hash, r->buf + r->run_from, r->run_to - r->run_from);
	r->run_from = r->run_to = 0;
}

/* Moves the bytes not handed out yet to the next pinned buffer, once the records of the one
 * that buffer held last were released, so that n bytes fit. */
static int pin_next(struct cap_reader *r, size_t n)
{
	uint64_t next = r->pin_seq + 1;
	unsigned slot = (unsigned)(next % r->pin_n);
	size_t have = r->buf_len - r->pos;

	if (r->pin_fn(r->pin_arg, r->buf + r->pin_from, r->pos - r->pin_from, r->pin_seq,
		      next >= r->pin_n ? next - r->pin_n : UINT64_MAX) < 0)
		return rd_fail(r, "interrupted");
	if (r->pin_cap[slot] < n || r->pin_buf[slot] == NULL) {
		size_t cap =
		    n > r->read_size ? (n + GROW_STEP - 1) / GROW_STEP * GROW_STEP : r->read_size;
		uint8_t *b = malloc(cap);

		if (b == NULL)
			return rd_fail(r, "out of memory for a %zu-byte record", n);
		free(r->pin_buf[slot]);
		r->pin_buf[slot] = b, r->pin_cap[slot] = cap;
	}
	memcpy(r->pin_buf[slot], r->buf + r->pos, have);
	r->buf = r->pin_buf[slot], r->buf_cap = r->pin_cap[slot];
	r->buf_len = have, r->pos = 0;
	r->pin_seq = next;
	r->pin_from = 0;
	return 0;
}

/*
 * Makes n bytes available at r->buf + r->pos unless the file ends first. Only the bytes of
 * a record cut by the end of the buffer are moved; the buffer grows only for a record
 * bigger than itself (bounded by max_caplen). Returns the bytes available (< n at the end
 * of the data), or -1 on a stream error.
 */
static ssize_t rd_want(struct cap_reader *r, size_t n)
{
	size_t have = r->buf_len - r->pos;

	if (have >= n || r->eof)
		return (ssize_t)have;
	if (r->pin_n > 0) {
		if (r->pos + n > r->buf_cap && pin_next(r, n) < 0)
			return -1;
	} else if (n > r->buf_cap) {
		size_t cap = (n + GROW_STEP - 1) / GROW_STEP * GROW_STEP;
		uint8_t *bigger = malloc(cap);

		run_hash(r); /* before its bytes move */
		if (bigger == NULL)
			return rd_fail(r, "out of memory for a %zu-byte record", n);
		memcpy(bigger, r->buf + r->pos, have);
		free(r->buf);
		r->buf = bigger, r->buf_cap = cap, r->buf_len = have, r->pos = 0;
	} else if (r->pos + n > r->buf_cap) {
		run_hash(r);
		memmove(r->buf, r->buf + r->pos, have);
		r->buf_len = have, r->pos = 0;
	}
	while (r->buf_len - r->pos < n) {
		size_t room = r->buf_cap - r->buf_len;
		ssize_t k = stream_read(r->st, r->buf + r->buf_len,
					room < r->read_size ? room : r->read_size);

		if (k < 0)
			return rd_fail(r, "%s", stream_error(r->st));
		if (k == 0) {
			r->eof = true;
			break;
		}
		r->buf_len += (size_t)k;
	}
	return (ssize_t)(r->buf_len - r->pos);
}

/* libpcap's checks on caplen, in its order and words (sf-pcap.c, pcap_next_packet()). */
static int check_caplen(struct cap_reader *r, uint32_t caplen)
{
	const struct pcap_file *f = &r->pf;

	if (caplen <= f->max_caplen)
		return 0;
	if (caplen > f->snapshot)
		return rd_fail(r, "invalid packet capture length %u, bigger than snaplen of %d",
			       caplen, (int)f->snapshot);
	return rd_fail(r, "invalid packet capture length %u, bigger than maximum of %u", caplen,
		       f->max_caplen);
}

/*
 * libpcap 1.10 keeps both time stamp fields as signed 32-bit numbers (struct pcap_timeval)
 * but its byte swap yields an unsigned one: a file in this host's byte order has times
 * before 1970 where one in the other order has times after 2038. We do the same.
 */
static int64_t ts_field(const struct pcap_file *f, uint32_t v)
{
	return f->swapped ? (int64_t)v : (int64_t)(int32_t)v;
}

/* The record whose header is at h: its time and lengths into *pkt (caplen cut to the snapshot
 * length, as libpcap hands it out); returns the bytes the file stores after the header. */
static uint32_t rec_parse(const struct pcap_file *f, const uint8_t *h, struct cap_pkt *pkt)
{
	uint32_t caplen = get32(h + 8, f->be), len = get32(h + 12, f->be);

	set_ts(pkt, ts_field(f, get32(h, f->be)),
	       ts_field(f, get32(h + 4, f->be)) * (f->nano ? 1 : 1000));
	if (f->len_order == LEN_SWAPPED || (f->len_order == LEN_MAYBE_SWAPPED && caplen > len)) {
		uint32_t t = caplen;

		caplen = len, len = t;
	}
	pkt->caplen = caplen > f->snapshot ? f->snapshot : caplen;
	pkt->len = len;
	return caplen;
}

/* The packet's identity header (hash_packet()): its time in microseconds, both lengths,
 * little-endian. */
static void identity_head(uint8_t head[IDENTITY_HEAD_LEN], const struct cap_pkt *pkt)
{
	uint64_t us = (uint64_t)pkt->ts_sec * 1000000u + (uint64_t)pkt->ts_nsec / 1000u;

	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)(us >> (8 * i));
	for (int i = 0; i < 4; i++) {
		head[8 + i] = (uint8_t)(pkt->caplen >> (8 * i));
		head[12 + i] = (uint8_t)(pkt->len >> (8 * i));
	}
}

/* Reports the bytes to hash from pin_from up to `end` (if any), and goes on from `from`. */
static int pin_cut(struct cap_reader *r, size_t end, size_t from)
{
	if (end > r->pin_from && r->pin_fn(r->pin_arg, r->buf + r->pin_from, end - r->pin_from,
					   r->pin_seq, UINT64_MAX) < 0)
		return rd_fail(r, "interrupted");
	r->pin_from = from;
	return 0;
}

/*
 * A pinned reader's record, whole at r->buf + r->pos: the last 16 bytes of its header are
 * overwritten with its identity header, which then runs straight into the bytes it keeps,
 * so that the bytes the identity covers are the buffer's own, hashed a run of records at a
 * time instead of two calls per packet. Where they do not follow each other (24-byte
 * headers, bytes past the snapshot length) the run is cut there.
 */
static int pin_normalize(struct cap_reader *r, const struct cap_pkt *pkt, uint32_t stored)
{
	size_t at = r->pos, hl = r->pf.rec_hdr_len, head = at + hl - IDENTITY_HEAD_LEN;

	identity_head(r->buf + head, pkt);
	r->pos += hl + stored;
	if (head != at && pin_cut(r, at, head) < 0)
		return -1;
	if (pkt->caplen != stored && pin_cut(r, head + IDENTITY_HEAD_LEN + pkt->caplen, r->pos) < 0)
		return -1;
	return 1;
}

static int own_next(struct cap_reader *r, struct cap_pkt *pkt)
{
	const struct pcap_file *f = &r->pf;
	size_t hl = f->rec_hdr_len;
	ssize_t have = rd_want(r, hl);

	if (have <= 0)
		return (int)have;
	if ((size_t)have < hl)
		return rd_fail(r,
			       "truncated dump file; tried to read %zu header bytes, only got %zu",
			       hl, (size_t)have);
	uint32_t caplen = rec_parse(f, r->buf + r->pos, pkt);

	if (check_caplen(r, caplen) < 0)
		return -1;
	/* the header and its bytes at once: a record is never split between two buffers of a
	 * pinned reader, whose hash is taken over runs of whole records (cap_hash_records) */
	have = rd_want(r, hl + caplen);
	if (have < 0)
		return -1;
	have -= (ssize_t)hl;
	if ((size_t)have < caplen) {
		/* Past the snapshot length libpcap reads it first, then discards the rest. */
		uint32_t tried =
		    caplen > f->snapshot && (size_t)have < f->snapshot ? f->snapshot : caplen;

		return rd_fail(r,
			       "truncated dump file; tried to read %u captured bytes, only got %zu",
			       tried, (size_t)have);
	}
	pkt->data = r->buf + r->pos + hl;
	if (r->pin_norm)
		return pin_normalize(r, pkt, caplen);
	if (r->run_norm) { /* as pin_normalize(), the run hashed by this thread */
		size_t head = r->pos + hl - IDENTITY_HEAD_LEN;

		identity_head(r->buf + head, pkt);
		if (r->run_to != head) {
			run_hash(r);
			r->run_from = head;
		}
		r->run_to = head + IDENTITY_HEAD_LEN + pkt->caplen;
	}
	r->pos += hl + caplen;
	return 1;
}

/* ---- libpcap ---- */

static int lp_next(struct cap_reader *r, struct cap_pkt *pkt)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(r->pc, &h, &data);

	if (rc == PCAP_ERROR_BREAK)
		return 0; /* end of file */
	if (rc != 1) {
		const char *why = stream_error(r->st);

		return rd_fail(r, "%s", why[0] != '\0' ? why : pcap_geterr(r->pc));
	}
	set_ts(pkt, (int64_t)h->ts.tv_sec, (int64_t)h->ts.tv_usec); /* ns: we asked for it */
	pkt->caplen = h->caplen;
	pkt->len = h->len;
	pkt->data = data;
	return 1;
}

/* Hands the stream, with the bytes we already read replayed first, to libpcap. */
static int lp_open(struct cap_reader *r, char *errbuf)
{
	char pe[PCAP_ERRBUF_SIZE] = "";

	stream_push_back(r->st, r->buf + r->pos, r->buf_len - r->pos);
	r->pc_file = stream_fopen(r->st);
	if (r->pc_file == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	r->pc =
	    pcap_fopen_offline_with_tstamp_precision(r->pc_file, PCAP_TSTAMP_PRECISION_NANO, pe);
	if (r->pc == NULL) {
		const char *why = stream_error(r->st);

		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", why[0] != '\0' ? why : pe);
		return -1; /* r->pc_file is closed by cap_close() */
	}
	r->pc_file = NULL; /* pcap_close() closes it */
	r->dlt = pcap_datalink(r->pc);
	r->snapshot = (uint32_t)pcap_snapshot(r->pc);
	return 0;
}

/*
 * libpcap exports neither linktype_to_dlt() nor max_snaplen_for_dlt(), so we ask it: we
 * open a header-only copy of the file header. Its verdict (and message) on the header,
 * the DLT and the snapshot length are then libpcap's own, whatever its version.
 */
static int lp_probe(const uint8_t *hdr, size_t len, int *dlt, uint32_t *snapshot, char *errbuf)
{
	uint8_t copy[PCAP_FILE_HDR_LEN];
	char pe[PCAP_ERRBUF_SIZE] = "";
	FILE *f;
	pcap_t *p;

	memcpy(copy, hdr, len);
	f = fmemopen(copy, len, "r");
	if (f == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, pe);
	if (p == NULL) {
		fclose(f);
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", pe);
		return -1;
	}
	*dlt = pcap_datalink(p);
	*snapshot = (uint32_t)pcap_snapshot(p);
	pcap_close(p);
	return 0;
}

/* max_snaplen_for_dlt(dlt): what libpcap makes of snaplen 0 (pcap_adjust_snapshot()). */
static int lp_max_caplen(uint32_t linktype, uint32_t *max, char *errbuf)
{
	uint8_t h[PCAP_FILE_HDR_LEN] = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4};
	int dlt;

	for (int i = 0; i < 4; i++)
		h[20 + i] = (uint8_t)(linktype >> (24 - 8 * i));
	return lp_probe(h, sizeof h, &dlt, max, errbuf);
}

/* Link types whose pseudo-header libpcap rewrites when the file's byte order is not ours
 * (swap_pseudo_headers()), and USB mmapped, whose length some versions fix up: none of
 * them is one we dissect, so libpcap reads them, and stays the reference. */
static bool lp_rewrites(int dlt, bool swapped)
{
	if (dlt == DLT_USB_LINUX_MMAPPED)
		return true;
	return swapped && (dlt == DLT_PFLOG || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 ||
			   dlt == DLT_USB_LINUX || dlt == DLT_NFLOG);
}

/* Reads the classic pcap file header: 1 when our own reader can take the file, 0 when
 * libpcap must, -1 (errbuf filled) when libpcap refuses the header. */
static int pcap_header(struct cap_reader *r, uint32_t magic_be, size_t have, char *errbuf)
{
	struct pcap_file *f = &r->pf;
	const uint8_t *h = r->buf + r->pos;
	uint32_t m = magic_be;

	f->be = m == MAGIC_MICRO || m == MAGIC_NANO || m == MAGIC_KUZNETZOV;
	m = f->be ? m : __builtin_bswap32(m);
	f->nano = m == MAGIC_NANO;
	f->rec_hdr_len = m == MAGIC_KUZNETZOV ? 24 : 16;
	r->precision = f->nano ? 9 : 6;
	if (lp_probe(h, have < PCAP_FILE_HDR_LEN ? have : PCAP_FILE_HDR_LEN, &r->dlt, &f->snapshot,
		     errbuf) < 0)
		return -1;
	if (lp_max_caplen(get32(h + 20, f->be), &f->max_caplen, errbuf) < 0)
		return -1;
	r->snapshot = f->snapshot;

	uint16_t major = get16(h + 4, f->be), minor = get16(h + 6, f->be);

	f->len_order = major == 543 || (major == 2 && minor < 3) ? LEN_SWAPPED
		       : major == 2 && minor == 3		 ? LEN_MAYBE_SWAPPED
								 : LEN_AS_IS;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	f->swapped = !f->be;
#else
	f->swapped = f->be;
#endif
	return !lp_rewrites(r->dlt, f->swapped);
}

/* ---- pcapng: the precision of the first interface ---- */

/* if_tsresol (option 9): 10^-v, or 2^-v when the top bit is set; absent means 10^-6. */
static int tsresol_digits(uint8_t v)
{
	if (v & 0x80)
		return (v & 0x7f) <= 20 ? 6 : 9; /* 2^-20 s is about 1 us */
	return v <= 6 ? 6 : 9;
}

static int idb_precision(const uint8_t *o, size_t n, bool be)
{
	while (n >= 4) {
		uint16_t code = get16(o, be), len = get16(o + 2, be);
		size_t padded = ((size_t)len + 3) / 4 * 4;

		if (code == 0 || padded > n - 4)
			break;
		if (code == 9 && len >= 1)
			return tsresol_digits(o[4]);
		o += 4 + padded, n -= 4 + padded;
	}
	return 6;
}

/* 6 or 9 from the first Interface Description Block; -1 while more bytes are needed. */
static int pcapng_precision(const uint8_t *p, size_t n)
{
	size_t off = 0;
	bool be;

	if (n < 12)
		return -1;
	if (get32(p + 8, false) == 0x1a2b3c4d)
		be = false;
	else if (get32(p + 8, true) == 0x1a2b3c4d)
		be = true;
	else
		return 6;	       /* libpcap will refuse the file */
	for (int i = 0; i < 16; i++) { /* the IDB normally follows the section header */
		if (n - off < 8)
			return -1;
		uint32_t type = get32(p + off, be), blen = get32(p + off + 4, be);

		if (blen < 12 || blen % 4 != 0)
			return 6;
		if (blen > n - off)
			return -1;
		if (type == 1 && blen >= 20)
			return idb_precision(p + off + 16, blen - 20, be);
		off += blen;
	}
	return 6;
}

/* Reads on (the buffer holds PEEK_MAX) until the first interface is seen. A read error
 * only ends the peek: libpcap meets it again after the bytes before it, as it should. */
static void pcapng_peek(struct cap_reader *r)
{
	int digits;

	while ((digits = pcapng_precision(r->buf, r->buf_len)) < 0 && r->buf_len < PEEK_MAX) {
		ssize_t k = stream_read(r->st, r->buf + r->buf_len, PEEK_MAX - r->buf_len);

		if (k <= 0)
			break;
		r->buf_len += (size_t)k;
	}
	r->precision = digits > 0 ? digits : 6;
}

/* ---- opening ---- */

static void describe_magic(const uint8_t *p, size_t n, char *out, size_t out_len)
{
	size_t k = n < 4 ? n : 4;
	int used =
	    snprintf(out, out_len, "starts with %zu %s", k, pm_plural((int64_t)k, "byte", "bytes"));

	for (size_t i = 0; i < k && used > 0 && (size_t)used < out_len; i++)
		used += snprintf(out + used, out_len - (size_t)used, " %02x", p[i]);
}

static int unknown_format(struct cap_reader *r, size_t have, char *errbuf)
{
	char what[48];

	describe_magic(r->buf + r->pos, have, what, sizeof what);
	if (stream_compression(r->st) == CAP_COMP_NONE)
		snprintf(errbuf, CAP_ERRBUF_SIZE, "not a pcap, pcapng, gzip or zstd file (%s)",
			 what);
	else
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s data is not a pcap or pcapng file (%s)",
			 stream_compression(r->st) == CAP_COMP_GZIP ? "gzip" : "zstd", what);
	return -1;
}

/* Detects the format from the first decompressed bytes and sets up the reader for it. */
static int open_format(struct cap_reader *r, const struct cap_options *opt, char *errbuf)
{
	ssize_t have = rd_want(r, PCAP_FILE_HDR_LEN);

	if (have < 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", stream_error(r->st));
		return -1;
	}
	if (have == 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "%s",
			 stream_compression(r->st) == CAP_COMP_NONE ? "file is empty"
								    : "decompressed data is empty");
		return -1;
	}
	uint32_t magic = have >= 4 ? get32(r->buf + r->pos, true) : 0;
	uint32_t swapped = __builtin_bswap32(magic);

	if (magic == MAGIC_PCAPNG) {
		r->fmt = CAP_FMT_PCAPNG;
		pcapng_peek(r); /* r->pos is still 0 */
		return lp_open(r, errbuf);
	}
	if (magic != MAGIC_MICRO && magic != MAGIC_NANO && magic != MAGIC_KUZNETZOV &&
	    swapped != MAGIC_MICRO && swapped != MAGIC_NANO && swapped != MAGIC_KUZNETZOV)
		return unknown_format(r, (size_t)have, errbuf);
	r->fmt = CAP_FMT_PCAP;
	int own = pcap_header(r, magic, (size_t)have, errbuf);

	if (own < 0)
		return -1;
	if (!own || opt->force_libpcap)
		return lp_open(r, errbuf);
	r->pos += PCAP_FILE_HDR_LEN;
	return 0;
}

static int compile_filter(struct cap_reader *r, const char *expr, char *errbuf)
{
	pcap_t *p = r->pc;

	if (p == NULL) {
		r->dead = pcap_open_dead_with_tstamp_precision(r->dlt, (int)r->snapshot,
							       PCAP_TSTAMP_PRECISION_NANO);
		if (r->dead == NULL) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
			return -1;
		}
		p = r->dead;
	}
	if (pcap_compile(p, &r->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "invalid filter \"%.200s\": %.250s", expr,
			 pcap_geterr(p));
		return -1;
	}
	r->have_prog = true;
	return 0;
}

int cap_check_filter(const char *expr, char *errbuf)
{
	/* Link types whose filters cover what users write: Ethernet first (its error is the
	 * one shown), then raw IP and Linux cooked, for expressions without link headers. */
	static const int DLTS[] = {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_IEEE802_11_RADIO};
	char first[CAP_ERRBUF_SIZE] = "";
	for (size_t i = 0; i < sizeof DLTS / sizeof DLTS[0]; i++) {
		struct bpf_program prog;
		pcap_t *p = pcap_open_dead(DLTS[i], 262144);
		if (p == NULL) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
			return -1;
		}
		int rc = pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN);
		if (rc == 0)
			pcap_freecode(&prog);
		else if (!first[0])
			snprintf(first, sizeof first, "%.250s", pcap_geterr(p));
		pcap_close(p);
		if (rc == 0)
			return 0;
	}
	snprintf(errbuf, CAP_ERRBUF_SIZE, "invalid filter \"%.200s\": %s", expr, first);
	return -1;
}

static void name_format(struct cap_reader *r)
{
	static const char *const suffix[] = {
	    [CAP_COMP_NONE] = "", [CAP_COMP_GZIP] = ".gz", [CAP_COMP_ZSTD] = ".zst"};
	const char *name = pcap_datalink_val_to_name(r->dlt);

	snprintf(r->fmt_name, sizeof r->fmt_name, "%s%s",
		 r->fmt == CAP_FMT_PCAPNG ? "pcapng" : "pcap", suffix[stream_compression(r->st)]);
	if (name != NULL)
		snprintf(r->lt_name, sizeof r->lt_name, "%s", name);
	else
		snprintf(r->lt_name, sizeof r->lt_name, "LINKTYPE_%d", cap_linktype(r));
}

/* Both packet hashes start with the link type, little-endian. */
static int start_packet_hash(struct cap_reader *r, char *errbuf)
{
	uint32_t lt = (uint32_t)cap_linktype(r);
	uint8_t le[4] = {(uint8_t)lt, (uint8_t)(lt >> 8), (uint8_t)(lt >> 16), (uint8_t)(lt >> 24)};

	if (r->no_hash)
		return 0;
	r->pkt_hash = XXH3_createState();
	r->stage = malloc(STAGE_SIZE);
	if (r->pkt_hash == NULL || r->stage == NULL ||
	    XXH3_128bits_reset(r->pkt_hash) == XXH_ERROR) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	PKT_HASH_UPDATE(r->pkt_hash, le, sizeof le);
	if (r->legacy_pkt) {
		legacy_hash128_init(&r->legacy_pkt_hash);
		legacy_hash128_update(&r->legacy_pkt_hash, le, sizeof le);
	}
	return 0;
}

/* ---- progress seen from another thread ---- */

static _Thread_local struct cap_watch *tls_watch;

void cap_watch_thread(struct cap_watch *w)
{
	tls_watch = w;
}

/* Publishes r in the watch of the thread that opens it, or withdraws it before it is freed. */
static void watch_set(struct cap_reader *r, bool opening)
{
	struct cap_watch *w = opening ? tls_watch : r->watch;
	if (w == NULL || (!opening && w->r != r))
		return;
	pthread_mutex_lock(&w->lock);
	w->r = opening ? r : NULL;
	pthread_mutex_unlock(&w->lock);
	r->watch = opening ? w : NULL;
}

uint64_t cap_watch_bytes(struct cap_watch *w)
{
	pthread_mutex_lock(&w->lock);
	uint64_t n = w->r ? cap_bytes_in(w->r) : 0; /* an atomic counter of the stream */
	pthread_mutex_unlock(&w->lock);
	return n;
}

int cap_open(const char *path, const struct cap_options *opt, struct cap_reader **out, char *errbuf)
{
	static const struct cap_options defaults = {0};
	struct cap_reader *r = calloc(1, sizeof *r);

	*out = NULL;
	opt = opt != NULL ? opt : &defaults;
	if (r == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		goto error;
	}
	r->read_size = opt->read_size > 0 ? opt->read_size : READ_SIZE_DEFAULT;
	r->buf_cap = r->read_size > PEEK_MAX ? r->read_size : PEEK_MAX;
	r->buf = malloc(r->buf_cap);
	if (r->buf == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		goto error;
	}
	unsigned flags = (opt->legacy_file_hash && !opt->no_hash ? STREAM_LEGACY_HASH : 0) |
			 (opt->sha256 ? STREAM_SHA256 : 0);

	if (stream_open(path, flags, &r->st, errbuf) < 0)
		goto error;
	(void)stream_use_thread(r->st, opt->decode_threads);
	r->no_hash = opt->no_hash;
	r->legacy_pkt = opt->legacy_packet_hash && !opt->no_hash;
	if (open_format(r, opt, errbuf) < 0 || start_packet_hash(r, errbuf) < 0)
		goto error;
	r->run_norm = r->pc == NULL && !r->no_hash && !r->legacy_pkt;
	if (opt->filter != NULL && compile_filter(r, opt->filter, errbuf) < 0)
		goto error;
	name_format(r);
	watch_set(r, true);
	*out = r;
	return 0;
error:
	cap_close(r);
	return -1;
}

/* Two small updates per packet cost XXH3 more than its bytes do: they are gathered into
 * r->stage and hashed in 64 KiB updates (the value does not depend on the split). A packet
 * of STAGE_DIRECT bytes or more is hashed where it is: copying it cost more than the call. */
static void stage_add(struct cap_reader *r, const uint8_t *p, size_t n)
{
	if (r->stage_len + n > STAGE_SIZE || n >= STAGE_DIRECT) {
		PKT_HASH_UPDATE(r->pkt_hash, r->stage, r->stage_len);
		r->stage_len = 0;
		if (n >= STAGE_DIRECT) {
			PKT_HASH_UPDATE(r->pkt_hash, p, n);
			return;
		}
	}
	memcpy(r->stage + r->stage_len, p, n);
	r->stage_len += n;
}

/* The packet as captured, whatever file holds it: its time in microseconds (a nanosecond
 * recording of the same frames, or its conversion to microseconds, is the same capture),
 * both lengths, the bytes (little-endian fields: every host computes the same identity). */
static void hash_packet(struct cap_reader *r, const struct cap_pkt *pkt)
{
	uint8_t head[IDENTITY_HEAD_LEN];

	identity_head(head, pkt);
	stage_add(r, head, sizeof head);
	stage_add(r, pkt->data, pkt->caplen);
	if (r->legacy_pkt) {
		legacy_hash128_update(&r->legacy_pkt_hash, head, sizeof head);
		legacy_hash128_update(&r->legacy_pkt_hash, pkt->data, pkt->caplen);
	}
}

int cap_next(struct cap_reader *r, struct cap_pkt *pkt)
{
	for (;;) {
		if (r->state != ST_OK)
			return r->state == ST_EOF ? 0 : -1;
		int rc = r->pc != NULL ? lp_next(r, pkt) : own_next(r, pkt);

		if (rc == 0)
			r->state = ST_EOF;
		if (rc <= 0)
			return rc;
		r->n_read++;
		if (!r->no_hash && r->pin_n == 0 && !r->run_norm)
			hash_packet(r, pkt);
		if (!r->have_prog)
			return 1;
		struct pcap_pkthdr h = {.caplen = pkt->caplen, .len = pkt->len};

		if (pcap_offline_filter(&r->prog, &h, pkt->data))
			return 1;
	}
}

const char *cap_error(const struct cap_reader *r)
{
	return r->err;
}

/* LINKTYPE_ value of a DLT_ value: they differ on Linux for these only (libpcap's
 * dlt_to_linktype(), which it does not export). */
int cap_linktype(const struct cap_reader *r)
{
	static const struct {
		int dlt, linktype;
	} differ[] = {{DLT_ATM_RFC1483, 100},
		      {DLT_RAW, 101},
		      {DLT_SLIP_BSDOS, 102},
		      {DLT_PPP_BSDOS, 103},
		      {DLT_ATM_CLIP, 106}};

	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++)
		if (differ[i].dlt == r->dlt)
			return differ[i].linktype;
	return r->dlt;
}

const char *cap_linktype_name(const struct cap_reader *r)
{
	return r->lt_name;
}

int cap_precision(const struct cap_reader *r)
{
	return r->precision;
}

uint32_t cap_snaplen(const struct cap_reader *r)
{
	return r->snapshot;
}

enum cap_format cap_format(const struct cap_reader *r)
{
	return r->fmt;
}

enum cap_compression cap_compression(const struct cap_reader *r)
{
	return stream_compression(r->st);
}

const char *cap_format_name(const struct cap_reader *r)
{
	return r->fmt_name;
}

uint64_t cap_packets_read(const struct cap_reader *r)
{
	return r->n_read;
}

uint64_t cap_bytes_in(const struct cap_reader *r)
{
	return stream_bytes_in(r->st);
}

void cap_content_hash(const struct cap_reader *r, char out[33])
{
	/* r is const to callers: the bytes still staged are hashed into a copy of the state. */
	XXH3_state_t *tmp = r->no_hash ? NULL : XXH3_createState();

	out[0] = '\0';
	if (tmp == NULL)
		return;
	XXH3_copyState(tmp, r->pkt_hash);
	PKT_HASH_UPDATE(tmp, r->stage, r->stage_len);
	if (r->run_to > r->run_from)
		PKT_HASH_UPDATE(tmp, r->buf + r->run_from, r->run_to - r->run_from);
	XXH128_hash_t h = XXH3_128bits_digest(tmp);

	XXH3_freeState(tmp);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

void cap_legacy_packet_hash(const struct cap_reader *r, char out[33])
{
	if (r->legacy_pkt)
		legacy_hash128_hex(&r->legacy_pkt_hash, out);
	else
		out[0] = '\0';
}

void cap_legacy_file_hash(struct cap_reader *r, char out[33])
{
	stream_legacy_hash_hex(r->st, out);
}

int cap_sha256(struct cap_reader *r, char out[65])
{
	return stream_sha256_hex(r->st, out);
}

void cap_drop_spares(void)
{
	stream_drop_spares();
}

void cap_close(struct cap_reader *r)
{
	if (r == NULL)
		return;
	watch_set(r, false);
	if (r->have_prog)
		pcap_freecode(&r->prog);
	if (r->dead != NULL)
		pcap_close(r->dead);
	if (r->pc != NULL)
		pcap_close(r->pc);
	if (r->pc_file != NULL)
		fclose(r->pc_file);
	stream_close(r->st);
	XXH3_freeState(r->pkt_hash);
	free(r->stage);
	if (r->pin_n > 0) {
		for (unsigned i = 0; i < r->pin_n; i++)
			free(r->pin_buf[i]);
	} else {
		free(r->buf);
	}
	free(r);
}

bool cap_pin(struct cap_reader *r, unsigned n_buffers, cap_pin_fn fn, void *arg)
{
	if (r->pc != NULL || r->pin_n > 0 || r->n_read > 0 || n_buffers < 2 || n_buffers > PIN_MAX)
		return false;
	r->pin_n = n_buffers;
	r->pin_buf[0] = r->buf, r->pin_cap[0] = r->buf_cap;
	r->pin_seq = 0;
	r->pin_from = r->pos;
	r->pin_fn = fn, r->pin_arg = arg;
	r->pin_norm = !r->no_hash && !r->legacy_pkt;
	r->run_norm = false;
	return true;
}

void cap_unpin(struct cap_reader *r)
{
	if (r->pin_n == 0 || r->n_read > 0)
		return;
	for (unsigned i = 1; i < r->pin_n; i++)
		free(r->pin_buf[i]);
	r->pin_n = 0;
	r->pin_norm = false;
	r->run_norm = !r->no_hash && !r->legacy_pkt;
}

size_t cap_pin_rest(struct cap_reader *r, const uint8_t **records)
{
	size_t n = r->pin_n > 0 ? r->pos - r->pin_from : 0;
	*records = r->buf + r->pin_from;
	r->pin_from = r->pos;
	return n;
}

void cap_hash_records(struct cap_reader *r, const uint8_t *records, size_t len)
{
	size_t hl = r->pf.rec_hdr_len;

	if (r->pin_norm) { /* the identity's own bytes already (pin_normalize) */
		PKT_HASH_UPDATE(r->pkt_hash, records, len);
		return;
	}
	while (!r->no_hash && len >= hl) {
		struct cap_pkt pkt;
		uint32_t stored = rec_parse(&r->pf, records, &pkt);
		if (stored > len - hl)
			break; /* not a whole record: the reader never reports one */
		pkt.data = records + hl;
		hash_packet(r, &pkt);
		records += hl + stored;
		len -= hl + stored;
	}
}

uint64_t cap_pin_seq(const struct cap_reader *r)
{
	return r->pin_seq;
}
