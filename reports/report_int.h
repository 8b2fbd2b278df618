/* report_int.h - internal interfaces shared by the files of reports/ (not part of report.h). */
#ifndef PM_REPORT_INT_H
#define PM_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "dissectors/dissect.h"
#include "reports/report.h"

/* ---- growable string (escape.c) ---- */

/* A NUL-terminated heap string that grows; `oom` is sticky: once set, appends are no-ops. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void sb_init(struct sbuf *b);
void sb_free(struct sbuf *b);
void sb_put(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty); valid until the next append or sb_free. */
const char *sb_str(const struct sbuf *b);
/* Hands the heap string to the caller (who frees it) and resets b; NULL after an oom. */
char *sb_take(struct sbuf *b);

/* ---- escaping for every destination (escape.c), SPEC §10 ---- */

/*
 * Bytes from a packet (a DNS name) as strict printable ASCII: 0x20..0x7e kept, a backslash
 * doubled, every other byte written \xNN. The result is valid UTF-8 and holds no control
 * character, whatever the input.
 */
void esc_name(struct sbuf *b, const uint8_t *s, size_t n);

/*
 * Text that may hold UTF-8 (a path, an evidence sentence): valid UTF-8 is kept, except C0 and
 * C1 controls, DEL, bidirectional overrides and line separators; those and every byte of an
 * invalid sequence become \xNN. The result is valid UTF-8 without control characters.
 */
void esc_text(struct sbuf *b, const uint8_t *s, size_t n);

/* esc_text/esc_name of a C string into a new heap string (caller frees); NULL stays NULL. */
char *esc_text_dup(const char *s);
char *esc_name_dup(const uint8_t *s, size_t n);

/* Writes s for HTML text or a quoted attribute value: & < > " ' become entities; NULL
 * writes nothing. */
void html_puts(FILE *out, const char *s);

/*
 * Writes one CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, and
 * prefixed with ' when it starts with = + - @ TAB or CR, so a spreadsheet never reads it as
 * a formula. `s` NULL writes an empty field.
 */
void csv_field(FILE *out, const char *s);

/* Display columns of UTF-8 text (one per code point; the escapes above are ASCII). */
size_t text_cols(const char *s, size_t n);

/* A time the database does not have; pm_fmt_utc() (dissect.h) writes it "?". Times and
 * durations are written by pm_fmt_utc() and pm_fmt_duration(), as the analyzer writes them. */
#define REP_NO_TIME INT64_MIN

/* "48,213": digits grouped by three. */
void fmt_count(char *buf, size_t len, int64_t v);

/* ---- SQL functions used by the report queries (sqlfn.c) ---- */

/*
 * Registers on `db`: pm_text(x) (esc_text), pm_name(x) (esc_name of the bytes),
 * pm_hexname(hex, fallback) (esc_name of the bytes the hex spells, else of fallback),
 * pm_hexnorm(hex, fallback) (lowercase hex of those bytes), pm_iso(ns, precision),
 * pm_proto(n) (the IP protocol's name); and defines the views of db/views.sql
 * (db_define_views). 0, or -1 with errbuf filled.
 */
int rep_sql_register(sqlite3 *db, char *errbuf);

/* ---- the data of a report, loaded from the database (model.c) ---- */

/* The diagnosis stores at most this many clients and reporters per finding (in address
 * order): a list that long may be cut, and its count is shown as "100+". */
#define REP_LIST_CAP 100

struct rep_strv {
	char **v;
	size_t n;
};

/* A failing query name: shown = esc_name of the raw bytes, hex = those bytes in hex. */
struct rep_name {
	char *shown, *hex, *type;
	int64_t count;
};

/* Where a finding's packets are in one capture: its first frames (bounded). */
#define REP_FRAMES_MAX 10    /* frames listed per capture */
#define REP_FRAME_CAPS_MAX 8 /* captures listed with their frames */
#define REP_SAMPLE 16	     /* events read per finding for its frames and display filter */

struct rep_frames {
	int64_t capture_id;
	char *path; /* escaped (esc_text) */
	int64_t frame[REP_FRAMES_MAX];
	int n;
	bool more; /* the finding has more frames in this capture (or may have) */
};

struct rep_finding {
	int64_t id;
	char *diagnosis, *confidence, *server_ip, *proto, *service, *source_ip, *related;
	int severity, server_port, ports, precision;
	int64_t errors, requests, replies;
	int64_t first_error_ns, last_error_ns, outage_start_ns, outage_end_ns; /* REP_NO_TIME */
	struct rep_strv secondary, clients, reporters;
	/* evidence and names: filled by rep_details_load() only */
	struct rep_strv evidence;
	struct rep_name *names;
	size_t n_names;
	char *evidence_json, *names_json; /* as stored */
	bool details, names_loaded;	  /* rep_details_load() done */
	/* report order (order.c): severity weighed by the clients and requests affected */
	double impact;
	size_t rank;	   /* 1-based position in the one order every format uses */
	size_t group_size; /* findings of its host (server_ip) */
	bool group_head;   /* the first of them in the order */
	/* its packets (packets.c) */
	struct rep_strv capture_points;
	struct rep_frames *frames;
	size_t n_frames;
	bool frames_more_caps; /* events in more captures than listed */
	char *display_filter;  /* Wireshark/tshark display filter of its events; NULL if none */
	bool filter_sampled;   /* built from its first REP_SAMPLE events, not all of them */
};

struct rep_anomaly {
	char *name;
	int64_t count;
};

struct rep_capture {
	int64_t id, size, packets, bytes, udp_packets, icmp_errors, port_unreachables;
	int64_t first_ns, last_ns;
	int precision, link_type;
	bool complete, stats_capped;
	char *path, *format, *link_type_name, *read_error, *filter, *content_hash;
	char *sha256; /* hex, NULL unless analyzed with --sha256 */
	struct rep_anomaly *anomalies;
	size_t n_anomalies;
};

struct rep_model {
	struct rep_capture *caps;
	size_t n_caps;
	struct rep_finding *fnd; /* in report order (order.c): fnd[i].rank == i + 1 */
	size_t n_fnd;
	size_t n_fnd_all; /* findings in the database (or scope) before the filter */
	size_t n_detail;  /* text and HTML show fnd[0 .. n_detail-1] in full */
	const struct report_filter *filter; /* NULL when nothing was filtered */
	int64_t packets, first_ns, last_ns, n_port_unreach;
	int precision; /* the finest of the captures' */
};

/* Loads everything a report shows, for the findings and captures rep_select() chose. Every
 * string is escaped (esc_text/esc_name) already. 0, or -1 with errbuf; the caller frees with
 * rep_model_free() in both cases. */
int rep_model_load(sqlite3 *db, const struct report_options *opt, struct rep_model *m,
		   char *errbuf);
void rep_model_free(struct rep_model *m);
/* Parses and escapes the evidence (and with `names` the query names) of fnd[from .. to-1] (the
 * findings a writer shows them for). 0, or -1 with errbuf. */
int rep_details_load(sqlite3 *db, struct rep_model *m, size_t from, size_t to, bool names,
		     char *errbuf);
/* How many findings of the model carry diagnosis `label`. */
size_t rep_count_label(const struct rep_model *m, const char *label);

/* ---- selection (select.c): the report filters as temporary tables ---- */

/*
 * Creates temp.pm_sel_c (ids of the captures the report covers) and temp.pm_sel_f (ids of its
 * findings) from `f` (NULL: everything), over whatever `captures`, `findings` and `events`
 * name on db (the tables, or analyze's scope views). 0, or -1 with errbuf (an unknown
 * --capture says so).
 */
int rep_select(sqlite3 *db, const struct report_filter *f, char *errbuf);
void rep_select_drop(sqlite3 *db);
bool rep_filter_has(const struct report_filter *f, enum report_filter_kind kind);
/* "--label service-down --server 192.0.2.2", escaped for any output (esc_text). */
void rep_filter_describe(const struct report_filter *f, struct sbuf *b);

/* ---- order (order.c) ---- */

/* Sorts m->fnd into the report order: host groups by their most severe finding (severity
 * weighed by clients and requests), largest first, those shown in full (n_detail) before the
 * others; sets rank, group_size, group_head and n_detail. */
void rep_order(struct rep_model *m);

/* The findings after the first n_detail, summed per diagnosis and service: "and 940 more
 * service-down findings (dns) on 940 hosts, 3,100 errors in all". */
struct rep_tail {
	const char *label, *service; /* service NULL: unknown */
	size_t n, hosts;
	int64_t errors;
};
/* Fills up to `max` entries, most findings first; returns how many. */
size_t rep_tail(const struct rep_model *m, struct rep_tail *out, size_t max);

/* ---- packets (packets.c) ---- */

/* Loads capture points, first frames and the display filter of every finding of m, each
 * from a bounded read of the finding's events by the stored link. 0 or -1 with errbuf. */
int rep_packets_load(sqlite3 *db, struct rep_model *m, char *errbuf);
/* Frees what rep_packets_load() gave one finding. */
void rep_packets_free(struct rep_finding *f);

/* ---- advice: the knowledge base specialised to a finding (advice.c) ---- */

enum kb_os { KB_LINUX, KB_WINDOWS, KB_FREEBSD, KB_N_OS };
#define KB_MAX_CMDS 8
#define KB_MAX_ADVICE 16

/* Finding values substituted into knowledge-base templates: plain text, never expanded.
 * NULL means unknown for this finding: a sentence that needs it is left out (kb_int.h). */
struct kb_ctx {
	const char *ip, *port, *af, *nft_family, *client, *clients, *reporter, *source;
	const char *related, *related_ip, *related_port, *ports;
	const char *since, *until, *since_iso, *until_iso;
	const char *client_net, *n_clients, *reporter_other, *reporter_is_server;
};

struct kb_adv_item {
	bool is_dont;
	char *text, *why, *source; /* source NULL when the rate is unmeasured */
	double rate;		   /* success (do) or failure (dont) rate, 0..1 */
	bool has_rate;
	enum kb_os os[KB_MAX_CMDS];
	char *cmd[KB_MAX_CMDS];
	int n_cmd;
};

struct kb_advice {
	const char *label, *title, *klass, *service_id, *service_name, *versions;
	char *summary, *cause, *fix_source, *service_note;
	double fix_rate;
	bool has_fix;
	struct kb_adv_item item[KB_MAX_ADVICE];
	int n_item;
};

const char *kb_os_title(enum kb_os os);

/*
 * Specialises the entry of `label` to a service (knowledge-base name, or NULL: by port) and
 * the values in ctx. 0 and *out filled (free with kb_advice_free), or -1 with errbuf.
 */
int kb_advise(const char *label, const char *service, unsigned port, const struct kb_ctx *ctx,
	      struct kb_advice *out, char *errbuf, size_t errbuf_len);
void kb_advice_free(struct kb_advice *a);

/* Title ("service down") and class ("outage", "benign", ...) of a label; NULL if unknown. */
const char *kb_label_title(const char *label);
const char *kb_label_class(const char *label);
/* Where the success and failure rates come from, in plain words (kb.txt's rates-note): the
 * sentence every report and `explain` print beside the rates. */
const char *kb_rates_note(void);

/* kb_advise() for a finding: builds the ctx (addresses checked, times formatted). */
int rep_advise(const struct rep_finding *f, struct kb_advice *out, char *errbuf);

/* ---- word wrap for the terminal (wrap.c) ---- */

#define TEXT_WIDTH 80

/*
 * Writes `text` word-wrapped so no line passes `width` columns, then a newline. The cursor is
 * at column `col` (the caller printed a prefix); later lines start with `indent` spaces. A
 * word longer than a line is cut. `cont` (NULL or e.g. "\\") ends every line that the next
 * one continues, for commands that must survive copy and paste.
 */
void wrap_write(FILE *out, const char *text, size_t col, size_t indent, size_t width,
		const char *cont);
/* `indent` spaces, then wrap_write(). */
void wrap_para(FILE *out, size_t indent, const char *text);

/* ---- writers ---- */

int report_text(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf);
/* The inline stylesheet of the HTML report (html_style.c). */
extern const char html_css[];

int report_html(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf);
int report_json(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf);
int report_csv(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf);

/* ---- timelines: data (timeline.c) drawn as inline SVG (svg.c) ---- */

#define TL_BINS 160
#define TL_MAX_LANES 16
#define TL_MAX_MARKS 4

/* One row of a timeline: a histogram over TL_BINS bins, or a span (a capture's first..last). */
struct tl_lane {
	char label[80];	 /* escaped text (esc_text); HTML-escaped when drawn */
	char href[32];	 /* "#finding-12" or "" */
	const char *cls; /* CSS class of the bars: req, rep, err, hop, cap, k-outage, ... */
	bool is_span, estimated;
	int64_t span_a, span_b;
	double bins[TL_BINS];
	double total;
};

struct tl_mark {
	int64_t t;
	const char *label;
};

struct timeline {
	int64_t t0, t1; /* t1 > t0 */
	struct tl_lane lane[TL_MAX_LANES];
	int n_lanes;
	bool has_window;
	int64_t win_a, win_b;
	const char *win_label;
	struct tl_mark mark[TL_MAX_MARKS];
	int n_marks;
	const char *title;
};

/* Bin of time t (clamped into the timeline). */
int tl_bin(const struct timeline *tl, int64_t t);
/* Adds a datagram count spread evenly over [a, b] (a flow's first..last). */
void tl_spread(const struct timeline *tl, struct tl_lane *l, int64_t a, int64_t b, double count);
/* Writes the timeline as an inline <svg> (no script, no external reference). */
void svg_timeline(FILE *out, const struct timeline *tl);

/* HTML timelines (timeline.c): inline SVG, no script. 0 or -1 with errbuf. *hops (may be
 * NULL) tells whether a time-exceeded lane was drawn. */
#define TL_EVENTS_MAX 50000 /* events binned per finding; beyond, its errors are spread (≈) */
int timeline_finding(FILE *out, sqlite3 *db, const struct rep_finding *f, bool *hops, char *errbuf);
int timeline_overview(FILE *out, sqlite3 *db, const struct rep_model *m, char *errbuf);

/* Fills errbuf (REPORT_ERRBUF_SIZE) with what failed and sqlite's message; returns -1. */
int rep_sql_error(sqlite3 *db, char *errbuf, const char *what);

#endif
