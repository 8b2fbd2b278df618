/* kb_expand.c - fills the {variables} of knowledge-base templates from a finding and a service. */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

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
	{"reporter", offsetof(struct kb_ctx, reporter)},
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

static const char *ctx_lookup(const struct kb_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < sizeof(ctx_vars) / sizeof(ctx_vars[0]); i++) {
		if (strcmp(ctx_vars[i].name, name) != 0)
			continue;
		const char *v = *(const char *const *)((const char *)ctx + ctx_vars[i].off);
		return v ? v : "?";
	}
	return NULL;
}

/* Length of a variable name at s ([a-z][a-z0-9-]* followed by '}'), 0 if not one. */
static size_t variable_len(const char *s)
{
	size_t n = 0;
	if (!islower((unsigned char)s[0]))
		return 0;
	while (islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '-')
		n++;
	return s[n] == '}' && n < 32 ? n : 0;
}

static int expand(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
		  const char *t, struct sbuf *out, int depth, char *bad, size_t bad_len)
{
	int rc = 0;
	while (*t) {
		size_t n = t[0] == '{' ? variable_len(t + 1) : 0;
		if (n == 0) {
			size_t run = strcspn(t + 1, "{") + 1;
			sb_put(out, t, run);
			t += run;
			continue;
		}
		char name[32];
		memcpy(name, t + 1, n);
		name[n] = '\0';
		const char *v = ctx_lookup(ctx, name);
		const char *tmpl = v ? NULL : kb_svc_field(db, svc, name);
		if (v && strchr(v, ':') && t[n + 2] == ':' && t[n + 3] == '{') {
			sb_printf(out, "[%s]", v); /* {ip}:{port} with IPv6: [2001:db8::53]:53 */
		} else if (v) {
			sb_puts(out, v); /* finding data: inserted as it is, never expanded */
		} else if (tmpl && depth < KB_MAX_DEPTH) {
			if (expand(db, svc, ctx, tmpl, out, depth + 1, bad, bad_len) < 0)
				rc = -1;
		} else {
			snprintf(bad, bad_len, tmpl ? "{%s} nests too deep" : "unknown variable {%s}",
				 name);
			sb_put(out, t, n + 2);
			rc = -1;
		}
		t += n + 2;
	}
	return rc;
}

int kb_expand(const struct kb_db *db, const struct kb_section *svc, const struct kb_ctx *ctx,
	      const char *tmpl, struct sbuf *out, char *bad, size_t bad_len)
{
	sb_puts(out, "");
	return tmpl ? expand(db, svc, ctx, tmpl, out, 0, bad, bad_len) : 0;
}

void kb_sample_ctx(struct kb_ctx *ctx, const char *port)
{
	*ctx = (struct kb_ctx){
		.ip = "SERVER",
		.port = port ? port : "PORT",
		.af = "4",
		.nft_family = "ip",
		.client = "CLIENT",
		.clients = "CLIENTS",
		.reporter = "REPORTER",
		.source = "SOURCE",
		.related = "OTHER-SERVER:OTHER-PORT",
		.related_ip = "OTHER-SERVER",
		.related_port = "OTHER-PORT",
		.ports = "N",
		.since = "START",
		.until = "END",
		.since_iso = "START",
		.until_iso = "END",
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
