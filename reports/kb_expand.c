/* kb_expand.c - fills the {variables} of knowledge-base templates from a finding and a service. */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

#define VAR_MAX 32  /* longest variable name */
#define SPEC_MAX 96 /* longest "{name:one|other}" inside the braces */

static const struct {
	const char *name;
	size_t off;
} ctx_vars[] = {
    {"ip", offsetof(struct kb_ctx, ip)},
    {"port", offsetof(struct kb_ctx, port)},
    {"af", offsetof(struct kb_ctx, af)},
    {"nft-family", offsetof(struct kb_ctx, nft_family)},
    {"client", offsetof(struct kb_ctx, client)},
    {"clients", offsetof(struct kb_ctx, clients)},
    {"client-net", offsetof(struct kb_ctx, client_net)},
    {"n-clients", offsetof(struct kb_ctx, n_clients)},
    {"reporter", offsetof(struct kb_ctx, reporter)},
    {"reporter-other", offsetof(struct kb_ctx, reporter_other)},
    {"reporter-is-server", offsetof(struct kb_ctx, reporter_is_server)},
    {"source", offsetof(struct kb_ctx, source)},
    {"related", offsetof(struct kb_ctx, related)},
    {"related-ip", offsetof(struct kb_ctx, related_ip)},
    {"related-port", offsetof(struct kb_ctx, related_port)},
    {"ports", offsetof(struct kb_ctx, ports)},
    {"since", offsetof(struct kb_ctx, since)},
    {"until", offsetof(struct kb_ctx, until)},
    {"since-iso", offsetof(struct kb_ctx, since_iso)},
    {"until-iso", offsetof(struct kb_ctx, until_iso)},
};

/* The finding's value of a variable: 1 and *val (NULL when unknown) for a finding variable,
 * 0 when `name` is not one. */
static int ctx_lookup(const struct kb_ctx *ctx, const char *name, const char **val)
{
	for (size_t i = 0; i < sizeof(ctx_vars) / sizeof(ctx_vars[0]); i++) {
		if (strcmp(ctx_vars[i].name, name) != 0)
			continue;
		*val = *(const char *const *)((const char *)ctx + ctx_vars[i].off);
		return 1;
	}
	return 0;
}

bool kb_is_variable(const char *name)
{
	const char *v;
	static const struct kb_ctx none;
	return ctx_lookup(&none, name, &v) || kb_key_allowed(KB_SERVICE, name) ||
	       kb_key_allowed(KB_DEFAULTS, name);
}

/* A parsed "{name}" or "{name:one|other}" at s (s[0] == '{'). */
struct var_ref {
	char name[VAR_MAX];
	const char *one, *other; /* the plural forms, NULL for a plain variable */
	size_t one_len, other_len;
	size_t len; /* bytes of the whole reference, braces included */
};

/* Reads a variable reference at s; 0 when s does not start one (the text is then literal:
 * "@{LogName='System'}" in a PowerShell command is not a variable). */
static int var_parse(const char *s, struct var_ref *r)
{
	size_t n = 0;
	if (s[0] != '{' || !islower((unsigned char)s[1]))
		return 0;
	while (islower((unsigned char)s[1 + n]) || isdigit((unsigned char)s[1 + n]) ||
	       s[1 + n] == '-')
		n++;
	if (n >= VAR_MAX)
		return 0;
	memcpy(r->name, s + 1, n);
	r->name[n] = '\0';
	r->one = r->other = NULL;
	if (s[1 + n] == '}') {
		r->len = n + 2;
		return 1;
	}
	if (s[1 + n] != ':')
		return 0;
	const char *one = s + 2 + n, *bar = one + strcspn(one, "|{}\n");
	if (*bar != '|')
		return 0;
	const char *other = bar + 1, *end = other + strcspn(other, "|{}\n");
	if (*end != '}' || bar == one || end == other || (size_t)(end - s) > SPEC_MAX)
		return 0;
	r->one = one, r->one_len = (size_t)(bar - one);
	r->other = other, r->other_len = (size_t)(end - other);
	r->len = (size_t)(end - s) + 1;
	return 1;
}

/* The state of one expansion: the output, where the current sentence began in it, and
 * whether that sentence needs a value this finding does not have. */
struct xp {
	const struct kb_db *db;
	const struct kb_section *svc;
	const struct kb_ctx *ctx;
	struct sbuf *out;
	bool whole;	   /* a command: one unit, never split into sentences */
	size_t sent_start; /* offset in out of the current sentence */
	bool missing;
	int n_dropped;
	char *bad;
	size_t bad_len;
	int rc;
};

static void truncate_to(struct sbuf *b, size_t len)
{
	if (b->p && len <= b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
}

/* Ends the current sentence: kept, or cut from the output when it needs a missing value. */
static void sentence_end(struct xp *x)
{
	if (x->missing) {
		truncate_to(x->out, x->sent_start);
		x->n_dropped++;
	}
	x->missing = false;
	x->sent_start = x->out->len;
}

/* The length of a sentence end at t in the literal text (prev: the byte before t, 0 at the
 * start): . ! or ? (and closing quotes or parentheses) followed by white space or the end;
 * 0 when there is none. "9.18", an ellipsis ("kdc = ...)") and "a.b" do not end one. */
static size_t sentence_stop(const char *t, char prev)
{
	if ((t[0] != '.' && t[0] != '!' && t[0] != '?') || prev == '.')
		return 0;
	size_t n = 1;
	while (t[n] == ')' || t[n] == '"')
		n++;
	return t[n] == '\0' || t[n] == ' ' || t[n] == '\n' || t[n] == '\t' ? n : 0;
}

static void expand(struct xp *x, const char *t, int depth);

static void put_var(struct xp *x, const struct var_ref *r, const char *after, int depth)
{
	const char *v = NULL;
	bool is_ctx = ctx_lookup(x->ctx, r->name, &v);
	if (!is_ctx && !kb_is_variable(r->name)) {
		snprintf(x->bad, x->bad_len, "unknown variable {%s}", r->name);
		x->rc = -1;
		x->missing = true;
		return;
	}
	if (is_ctx && (!v || !*v)) {
		x->missing = true; /* the finding does not have it: the sentence goes */
		return;
	}
	if (r->one) { /* {ports:port|ports}: the word that goes with the number */
		bool one = strcmp(v, "1") == 0;
		sb_put(x->out, one ? r->one : r->other, one ? r->one_len : r->other_len);
		return;
	}
	if (is_ctx) {
		if (strchr(v, ':') && after[0] == ':' && after[1] == '{')
			sb_printf(x->out, "[%s]", v); /* {ip}:{port} with IPv6: [2001:db8::53]:53 */
		else
			sb_puts(x->out, v); /* finding data: inserted as it is, never expanded */
		return;
	}
	const char *tmpl = kb_svc_field(x->db, x->svc, r->name);
	if (!tmpl || !*tmpl) {
		x->missing = true; /* the service has no such value (a service we know little of) */
	} else if (depth >= KB_MAX_DEPTH) {
		snprintf(x->bad, x->bad_len, "{%s} nests too deep", r->name);
		x->rc = -1;
		x->missing = true;
	} else {
		expand(x, tmpl, depth + 1); /* a service's value: its sentences are not split */
	}
}

static void expand(struct xp *x, const char *t, int depth)
{
	const char *start = t;
	while (*t) {
		struct var_ref r;
		if (var_parse(t, &r)) {
			put_var(x, &r, t + r.len, depth);
			t += r.len;
			continue;
		}
		size_t stop = depth == 0 && !x->whole ? sentence_stop(t, t > start ? t[-1] : 0) : 0;
		if (stop) {
			sb_put(x->out, t, stop);
			t += stop;
			sentence_end(x);
			continue;
		}
		size_t run = 1 + strcspn(t + 1, "{.!?");
		sb_put(x->out, t, run);
		t += run;
	}
}

/* Cuts the white space a dropped first or last sentence leaves at either end. */
static void trim_out(struct sbuf *b, size_t from)
{
	if (!b->p)
		return;
	size_t lead = from;
	while (lead < b->len && isspace((unsigned char)b->p[lead]))
		lead++;
	memmove(b->p + from, b->p + lead, b->len - lead + 1);
	b->len -= lead - from;
	while (b->len > from && isspace((unsigned char)b->p[b->len - 1]))
		b->p[--b->len] = '\0';
}

int kb_expand_opt(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
		  const char *tmpl, bool whole, struct sbuf *out, int *n_dropped, char *bad,
		  size_t bad_len)
{
	struct xp x = {.db = db,
		       .svc = svc,
		       .ctx = ctx,
		       .out = out,
		       .whole = whole,
		       .bad = bad,
		       .bad_len = bad_len};
	sb_puts(out, "");
	size_t from = out->len;
	x.sent_start = from;
	if (tmpl) {
		expand(&x, tmpl, 0);
		sentence_end(&x);
		trim_out(out, from);
	}
	if (n_dropped)
		*n_dropped = x.n_dropped;
	return x.rc;
}

int kb_expand(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
	      const char *tmpl, struct sbuf *out, char *bad, size_t bad_len)
{
	return kb_expand_opt(db, svc, ctx, tmpl, false, out, NULL, bad, bad_len);
}

void kb_sample_ctx(struct kb_ctx *ctx, const char *port)
{
	*ctx = (struct kb_ctx){
	    .ip = "<server>",
	    .port = port ? port : "<port>",
	    .af = "4",
	    .nft_family = "ip",
	    .client = "<client>",
	    .clients = "<clients>",
	    .client_net = "<client network>",
	    .n_clients = "<n>",
	    .reporter = "<reporter>",
	    .reporter_other = "<router>",
	    .reporter_is_server = NULL, /* explain shows the router's case of firewall-reject */
	    .source = "<source>",
	    .related = "<other server>",
	    .related_ip = "<other server>",
	    .related_port = "<other port>",
	    .ports = "<n>",
	    .since = "<start>",
	    .until = "<end>",
	    .since_iso = "<start>",
	    .until_iso = "<end>",
	};
}

char *kb_source_text(const struct kb_db *db, const char *source)
{
	if (!source)
		return NULL;
	char name[64];
	size_t n = strcspn(source, ",");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, source, n);
	name[n] = '\0';
	const char *title = kb_field(kb_find(db, KB_SOURCE, name), "title");
	struct sbuf b;
	sb_init(&b);
	sb_puts(&b, title ? title : name);
	if (source[n] == ',')
		sb_puts(&b, source + n);
	return sb_take(&b);
}
