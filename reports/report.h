/* report.h - the face of reports/: knowledge base, and the text/HTML/JSON/CSV writers. */
#ifndef PM_REPORT_H
#define PM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#define REPORT_ERRBUF_SIZE 512

enum report_format { REPORT_TEXT, REPORT_HTML, REPORT_JSON, REPORT_CSV };

/* Report filters (SPEC §4): values of one kind are alternatives (OR), kinds combine (AND). */
enum report_filter_kind { RF_CAPTURE, RF_SINCE, RF_UNTIL, RF_SERVER, RF_LABEL, RF_SERVICE };
#define REPORT_FILTER_MAX 64

struct report_filter_item {
	enum report_filter_kind kind;
	const char *text; /* as given; not copied: lives as long as the filter */
	int64_t ns;	  /* since/until: ns since the epoch, UTC */
	char ip[64];	  /* server: the address as stored (inet_ntop) */
	int port;	  /* server: the port, -1 for any */
};

struct report_filter {
	struct report_filter_item item[REPORT_FILTER_MAX];
	int n;
};

/*
 * Adds one filter value (the text of --capture, --since, ... without the option): times are
 * ISO 8601 ("2026-11-23T10:02:03.5Z", "2026-11-23 10:02", a date alone; no zone = UTC),
 * servers IP, IP:PORT or [IPv6]:PORT, labels those of SPEC §6. Captures are looked up when the
 * report is written. 0, or -1 with errbuf (REPORT_ERRBUF_SIZE) saying what was expected.
 */
int report_filter_add(struct report_filter *f, enum report_filter_kind kind, const char *value,
		      char *errbuf);
/* "capture", "since", ... (the option's name without dashes). */
const char *report_filter_kind_name(enum report_filter_kind kind);
/* ISO 8601 as report_filter_add() takes it, to ns since the epoch. 0 or -1. */
int report_parse_time(const char *text, int64_t *ns);

struct report_options {
	enum report_format format;
	bool color;	     /* text: ANSI colour (caller decided: a tty and no NO_COLOR) */
	bool csv_events;     /* csv: one row per event instead of one per finding */
	const char *version; /* portmortem version string */
	const struct report_filter *filter; /* NULL or empty: the whole database */
};

/*
 * Writes a report of everything in the database `db` (captures, findings, events) to `out`.
 * Reads the database only. Returns 0, or -1 with errbuf (REPORT_ERRBUF_SIZE) filled.
 */
int report_write(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf);

/*
 * Writes the report to `path` through a temporary file in the same directory renamed into
 * place, so a failed write never leaves half a report. "-" or NULL = standard output.
 */
int report_write_path(sqlite3 *db, const struct report_options *opt, const char *path,
		      char *errbuf);

/* The Community ID v1 of a flow ("1:" + base64 of a SHA-1, 30 characters and a NUL in out,
 * out_len >= 32): addresses as text (IPv4 or IPv6, both the same family), ports (ignored
 * unless proto is TCP, UDP, SCTP or UDP-Lite), IP protocol, seed (0 by default). The same
 * for both directions. 0, or -1 for an address that does not parse, mixed families, ICMP
 * (whose type and code a quoted flow does not give) or a bad port. */
#define REPORT_COMMUNITY_ID_LEN 32
int report_community_id(const char *src, int sport, const char *dst, int dport, int proto,
			uint16_t seed, char *out, size_t out_len);

/* ---- knowledge base (reports/kb.txt compiled in) ---- */

/* Service name for a UDP port ("dns", "syslog", ...) or NULL when the knowledge base has none. */
const char *kb_service_for_port(uint16_t port);

/* Prints the entry for a diagnosis label, a port number or a service name. 0, or -1 if unknown. */
int kb_explain(const char *what, FILE *out);
/* kb_explain() of `what` as given, else with spaces and underscores as dashes, in lower case
 * ("service down" is service-down). 0, or -1 if unknown. */
int kb_explain_topic(const char *what, FILE *out);
/* Lists the entries kb_explain() knows: the labels with their summaries, the services with
 * their ports. 0, or -1 (said on standard error). */
int kb_explain_list(FILE *out);

/* Parses and validates the compiled-in knowledge base; 0 or -1 with errbuf. */
int kb_check(char *errbuf, size_t errbuf_len);

#endif
