/* capture.h - opening and streaming capture files: pcap, pcapng, gzip and zstd, files and stdin. */
#ifndef PM_CAPTURE_H
#define PM_CAPTURE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_ERRBUF_SIZE 512

/*
 * One record, valid until the next cap_next() or cap_close(). Exactly what libpcap 1.10
 * hands out for the file: caplen cut to the snapshot length, caplen 0 and caplen > len
 * passed on (the caller counts them). Time as libpcap reads it, normalised so that
 * 0 <= ts_nsec < 1e9: classic pcap seconds are signed 32-bit in this host's byte order
 * and unsigned in the other (a libpcap quirk we keep, to agree with it).
 */
struct cap_pkt {
	int64_t ts_sec;
	uint32_t ts_nsec; /* always nanoseconds, whatever the file's precision */
	uint32_t caplen;  /* bytes at data */
	uint32_t len;	  /* original length on the wire */
	const uint8_t *data;
};

enum cap_format { CAP_FMT_PCAP, CAP_FMT_PCAPNG };
enum cap_compression { CAP_COMP_NONE, CAP_COMP_GZIP, CAP_COMP_ZSTD };

struct cap_reader;

struct cap_options {
	const char *filter; /* BPF expression (pcap_compile syntax) or NULL */
	bool force_libpcap; /* read classic pcap through libpcap too (differential tests) */
	size_t read_size;   /* bytes asked of each read() by our pcap reader; 0 = 1 MiB.
			     * Tests set tiny sizes so records straddle reads. */
	bool no_hash;	    /* skip the content hash (cap_content_hash() then says "") */
	bool sha256;	    /* SHA-256 of the file's bytes as stored (cap_sha256()) */
	/* Identities of databases made before XXH3 (only worth computing when one holds them):
	 * the legacy hash of the file's bytes (schema 1), of the packets (schema 2). */
	bool legacy_file_hash;
	bool legacy_packet_hash;
	/* Threads that may decompress gzip/zstd input beside the packet loop (taken per capture,
	 * given back by cap_close()); NULL or 0 left: decompress in the calling thread. */
	atomic_int *decode_threads;
};

/*
 * Opens `path` ("-" is standard input). The format and compression are detected from the
 * content. On failure returns -1, *out is NULL and errbuf (CAP_ERRBUF_SIZE) says what was
 * wrong, e.g. "unsupported pcap savefile version 1.4". The caller owns *out.
 */
int cap_open(const char *path, const struct cap_options *opt, struct cap_reader **out,
	     char *errbuf);

/*
 * Next record that passes the filter: 1 and *pkt filled; 0 at a clean end of file;
 * -1 when the file is cut or corrupt (cap_error() says what and after how many packets,
 * in libpcap's words where libpcap has some: "truncated dump file; tried to read 16
 * header bytes, only got 9 (after 120 packets)"). Errors and the end are sticky.
 */
int cap_next(struct cap_reader *r, struct cap_pkt *pkt);

const char *cap_error(const struct cap_reader *r);
int cap_linktype(const struct cap_reader *r);		   /* LINKTYPE_ number */
const char *cap_linktype_name(const struct cap_reader *r); /* "EN10MB", "LINUX_SLL2", ... */
/* 6 (micro) or 9 (nano): the file's own. pcapng: from the first interface's if_tsresol
 * (10^-7 and finer, or 2^-21 and finer, say 9), 6 when absent or not in the first 64 KiB. */
int cap_precision(const struct cap_reader *r);
uint32_t cap_snaplen(const struct cap_reader *r); /* libpcap's (0 in a file: the maximum) */
enum cap_format cap_format(const struct cap_reader *r);
enum cap_compression cap_compression(const struct cap_reader *r);
const char *cap_format_name(const struct cap_reader *r); /* "pcap", "pcapng.gz", "pcap.zst" */
uint64_t cap_packets_read(const struct cap_reader *r);	 /* records read, before the filter */
uint64_t cap_bytes_in(const struct cap_reader *r);	 /* bytes read from the file so far */

/*
 * Content hash of the packets read so far (link type, then each record's time in
 * microseconds, lengths and captured bytes, little-endian): the capture's identity, the same
 * whether the file is pcap or pcapng, micro- or nanosecond, plain or compressed (SPEC §8).
 * Complete once cap_next() returned 0. XXH3-128 (libxxhash), 32 lowercase hex digits + NUL,
 * high half first (XXH128's canonical order). Not cryptographic: it tells identical
 * captures apart from different ones, not a capture crafted to collide. "" with no_hash.
 */
void cap_content_hash(const struct cap_reader *r, char out[33]);
/* The same fields under the hand-written hash of schema version 2 (legacy_hash.h), stored
 * as "pkt1:HEX" since the upgrade to 3; "" unless legacy_packet_hash was asked. */
void cap_legacy_packet_hash(const struct cap_reader *r, char out[33]);
/* The legacy hash of the file's bytes as stored, the identity schema version 1 recorded
 * ("file:HEX" since the upgrade to 2); "" unless legacy_file_hash was asked. */
void cap_legacy_file_hash(struct cap_reader *r, char out[33]);
/* SHA-256 of the whole file as stored (64 hex digits + NUL), after the last cap_next(): the
 * bytes the reader did not need (after a corrupt record) are read to hash them. 0 (out ""
 * when not asked), -1 with out "" when the file could not be read to its end. */
int cap_sha256(struct cap_reader *r, char out[65]);

void cap_close(struct cap_reader *r);

/*
 * Pinned reading, for a reader in one thread whose records another thread uses later: the
 * records are handed out in n_buffers (2..8) buffers taken in turn, each record whole in one,
 * and a record stays where it is until its buffer comes round again. The content hash is
 * then left to the caller: each record handed out must be given to cap_hash_records(), once,
 * in the order of the file, from whichever thread (one at a time, and not the reading thread
 * while it reads). Before leaving buffer `seq` the reader calls
 * fn(arg, records, len, seq, reuse): records[0..len) are the whole records of buffer seq not
 * reported before (the ones it handed out from it since); fn returns 0 once buffer `reuse`
 * (UINT64_MAX: none) may be overwritten, no record of it or an older one being in use, or -1
 * to stop (cap_next() then fails, "interrupted"). The reader may also report a run of
 * records early, with reuse UINT64_MAX. A record's header is rewritten in place (to the
 * bytes the content hash covers) before cap_next() hands it out: only its data stays as
 * read. False, and nothing changes, for a capture read through libpcap (pcapng), whose
 * records move, or once a record was read.
 */
typedef int (*cap_pin_fn)(void *arg, const uint8_t *records, size_t len, uint64_t seq,
			  uint64_t reuse);
bool cap_pin(struct cap_reader *r, unsigned n_buffers, cap_pin_fn fn, void *arg);
/* Undoes cap_pin() while no record was read (the hash goes back to cap_next()). */
void cap_unpin(struct cap_reader *r);
/* The buffer sequence number of the last record cap_next() handed out (0 unpinned). */
uint64_t cap_pin_seq(const struct cap_reader *r);
/* After the last cap_next(): the records of the current buffer not reported to fn yet, in
 * *records (the count of bytes; 0 unpinned). They count as reported. */
size_t cap_pin_rest(struct cap_reader *r, const uint8_t **records);
/* Adds whole records (as reported by a pinned reader) to the content hash: one update over
 * them as they are, whose headers the reader rewrote, unless the legacy hash is asked for. */
void cap_hash_records(struct cap_reader *r, const uint8_t *records, size_t len);

/* Frees what the calling thread kept from one compressed capture for the next (the
 * decompression ring); a thread that read captures calls it before it ends. */
void cap_drop_spares(void);

/*
 * Progress of one thread's reads, for another thread to read (a progress line, a SIGUSR1
 * snapshot). After cap_watch_thread(w), each reader the calling thread opens is published in
 * *w until its cap_close(); cap_watch_bytes(w) is then the bytes it has read from its file
 * (compressed bytes for a compressed file), 0 between readers. w->lock is initialised by the
 * caller, which keeps *w alive while the thread reads; NULL stops publishing.
 */
struct cap_watch {
	pthread_mutex_t lock;
	struct cap_reader *r;
};
void cap_watch_thread(struct cap_watch *w);
uint64_t cap_watch_bytes(struct cap_watch *w);

/* 0 when `expr` compiles as a BPF filter for Ethernet, raw IP, Linux cooked or 802.11
 * captures; -1 with errbuf (CAP_ERRBUF_SIZE) saying why it does for none. */
int cap_check_filter(const char *expr, char *errbuf);

/* Once *flag is nonzero (set by a signal handler), reads stop: cap_next() returns -1 with
 * cap_error() "interrupted", also when waiting on a stalled pipe or FIFO. NULL: never. */
void cap_set_stop_flag(volatile sig_atomic_t *flag);

/* Expands CAPTURE arguments: files kept, directories walked recursively in byte order
 * of their names (symlinked directories not followed), "-" kept.
 * cap_walk_items() reports each item as it is found, without reading any file: */
enum cap_walk_kind {
	CAP_WALK_ARG,	/* named as an argument (a file, "-", a path that is not there): cap_open()
			 * judges it, and one that is not a capture is an error */
	CAP_WALK_FOUND, /* a regular file found in a directory, not read yet: cap_sniff() says
			 * whether it is a capture (one that is not is skipped, not an error) */
	CAP_WALK_ERROR, /* a directory that cannot be read, a broken link: err says what */
};
struct stat;
struct cap_walk_item {
	const char *path;
	enum cap_walk_kind kind;
	const char *err; /* CAP_WALK_ERROR only */
	const struct stat
	    *st; /* the file's (through a link); NULL for "-", errors, missing paths */
};
typedef void (*cap_walk_item_fn)(const struct cap_walk_item *it, void *arg);
/* `listed`: args come from a list of files (--files-from, as find writes it), not typed one
 * by one: their regular files are reported as CAP_WALK_FOUND, as if found in a directory. */
void cap_walk_items(const char *const *args, int n_args, bool listed, cap_walk_item_fn fn,
		    void *arg);

/* The same, sniffing each file found in a directory: fn gets every capture and every error
 * (err set: an unreadable directory or file); files that are not captures are left out. */
typedef void (*cap_walk_fn)(const char *path, const char *err, void *arg);
void cap_walk(const char *const *args, int n_args, cap_walk_fn fn, void *arg);

/*
 * Whether the file at `path` is a capture, from its first bytes: a pcap or pcapng magic
 * number, directly or after gzip or zstd decompression of the first block (at most 128 KiB
 * read). CAP_SNIFF_NOT_CAPTURE: empty, under 4 bytes, another magic, compressed data that
 * is not a capture (why says which); CAP_SNIFF_ERROR: it could not be read (why says so).
 */
enum cap_sniff { CAP_SNIFF_CAPTURE, CAP_SNIFF_NOT_CAPTURE, CAP_SNIFF_ERROR };
enum cap_sniff cap_sniff(const char *path, char *why, size_t why_len);

#endif
