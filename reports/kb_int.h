/* kb_int.h - the parsed knowledge base (reports/kb.txt), shared by kb.c, advice.c, kb_explain.c. */
#ifndef PM_KB_INT_H
#define PM_KB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/report_int.h"

#define KB_MAX_SECTIONS 96
#define KB_MAX_FIELDS 32
#define KB_MAX_ITEMS 160
#define KB_MAX_RANGES 8
#define KB_MAX_DEPTH 4 /* nesting of service templates ({linux-start} -> {unit}) */

enum kb_kind { KB_LABEL, KB_SERVICE, KB_SOURCE, KB_DEFAULTS };

struct kb_field {
	const char *key, *val;
	int line;
};

struct kb_cmd {
	enum kb_os os;
	const char *tmpl;
};

/* One do: or dont: entry with its sub-keys. */
struct kb_item {
	bool is_dont;
	const char *text, *why, *source, *rate_text;
	double rate; /* 0..1 when has_rate */
	bool has_rate;
	struct kb_cmd cmd[KB_MAX_CMDS];
	int n_cmd, line;
};

struct kb_range {
	unsigned lo, hi;
};

struct kb_section {
	enum kb_kind kind;
	const char *name; /* NULL for [defaults] */
	int line;
	struct kb_field f[KB_MAX_FIELDS];
	int n_f;
	int first_item, n_items;
	struct kb_range r[KB_MAX_RANGES];
	int n_r;
};

struct kb_db {
	char *buf; /* the text, values cut out of it in place */
	struct kb_section s[KB_MAX_SECTIONS];
	int n_s;
	struct kb_item items[KB_MAX_ITEMS];
	int n_items;
};

/* The compiled-in knowledge base, parsed and validated once (thread-safe); NULL and errbuf
 * filled when it is broken. Lives until the process exits. */
const struct kb_db *kb_get(char *errbuf, size_t errbuf_len);

/* Parses and validates `text` as kb.txt into a new database (free with kb_free). 0 or -1. */
int kb_load_text(const char *text, struct kb_db **out, char *errbuf, size_t errbuf_len);
void kb_free(struct kb_db *db);

/* Field of a section, NULL when absent. */
const char *kb_field(const struct kb_section *s, const char *key);
/* Field of a service, falling back to [defaults]. */
const char *kb_svc_field(const struct kb_db *db, const struct kb_section *svc, const char *key);
const struct kb_section *kb_find(const struct kb_db *db, enum kb_kind kind, const char *name);
/* The service whose ports hold `port` (single ports before ranges), or NULL. */
const struct kb_section *kb_find_port(const struct kb_db *db, unsigned port);
/* The label whose `ports:` hold `port` (traceroute), or NULL. */
const struct kb_section *kb_find_label_port(const struct kb_db *db, unsigned port);

/* "85%" -> 0.85 and has_rate; "unmeasured" -> !has_rate. 0, or -1 when it is neither. */
int kb_parse_rate(const char *s, double *rate, bool *has_rate);
/* True when s is one of the NULL-terminated list. */
bool kb_in_list(const char *const *list, const char *s);
/* Checks a parsed knowledge base for completeness (kb_check.c); 0 or -1 with errbuf. */
int kb_validate(struct kb_db *db, char *errbuf, size_t errbuf_len);
/* The command slots of a service: linux-check ... freebsd-log; NULL-terminated. */
extern const char *const kb_os_cmd_keys[];

/* Names of the diagnosis labels of SPEC §6, in report order; NULL-terminated. */
extern const char *const kb_labels[];

/* A label's class (its `class:` in kb.txt) and how reports show it. */
struct kb_class {
	const char *name; /* "outage", ..., "secondary" */
	const char *css;  /* HTML: class of its badges and timeline lanes ("k-outage") */
	const char *sgr;  /* terminal: SGR parameters of its title ("1;31") */
};
/* Every class a label may have, ending with an entry whose name is NULL. */
extern const struct kb_class kb_classes[];
/* The class named `name`, or NULL (also for NULL). */
const struct kb_class *kb_class_find(const char *name);

/*
 * Expands a template (the syntax is described at the top of kb.txt and in DEVELOPERS.md):
 * {name} is the finding's value from ctx (inserted as plain text), else the service's field,
 * else [defaults] (both expanded in turn, KB_MAX_DEPTH deep); {name:one|other} is the word
 * that goes with the number in {name} ("1 port", "3 ports"). A sentence that needs a value
 * this finding or service does not have (a NULL in ctx, a field the service lacks) is left
 * out whole, never printed with a placeholder; with `whole` (a command) the template is one
 * unit and goes whole. Sentences end at . ! or ? followed by white space, in the template's
 * own text only (a service's value is never split). Appends to out; *n_dropped (may be NULL)
 * counts the sentences left out. Returns 0, or -1 when a variable is unknown or nests too
 * deep (`bad` says which; that sentence is left out too).
 */
int kb_expand_opt(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
		  const char *tmpl, bool whole, struct sbuf *out, int *n_dropped, char *bad,
		  size_t bad_len);
/* kb_expand_opt() of prose (sentences dropped one by one), without the count. */
int kb_expand(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
	      const char *tmpl, struct sbuf *out, char *bad, size_t bad_len);
/* True when `name` may appear in {braces}: a finding value or a service/[defaults] setting. */
bool kb_is_variable(const char *name);
/* True when `key` is a setting that a section of this kind may have. */
bool kb_key_allowed(enum kb_kind kind, const char *key);

/* A ctx for `explain` and for validation: every finding value is a word in angle brackets
 * (<server>, <port>, ...), the way manual pages mark what the reader fills in; `port` may be
 * NULL ("<port>"). {reporter-is-server} is left unknown: explain shows the router's case. */
void kb_sample_ctx(struct kb_ctx *ctx, const char *port);

/* The clients as one rule for an allow list: the address of a single client, or the network
 * that covers them all ("10.0.0.0/16") when it is no wider than a /16 (IPv4) or a /48 (IPv6).
 * -1 when there is none: no client, addresses that do not parse or mix families, 100 or more
 * (the list the diagnosis stores is then cut), or a network wider than that. */
int kb_client_net(const char *const *clients, size_t n, char *buf, size_t len);

/* Expands an item's source ("seed, workaround 1") to the source's title plus the detail;
 * heap string, NULL when the item has none. */
char *kb_source_text(const struct kb_db *db, const char *source);

#endif
