/* advice.c - the knowledge base specialised to one finding: cause, workarounds, dead ends, commands. */
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

const char *kb_os_title(enum kb_os os)
{
	static const char *const titles[KB_N_OS] = {"Linux", "Windows", "FreeBSD"};
	return os < KB_N_OS ? titles[os] : "?";
}

static char *expand_dup(const struct kb_db *db, const struct kb_section *svc,
			const struct kb_ctx *ctx, const char *tmpl)
{
	struct sbuf b;
	char bad[64];
	if (!tmpl)
		return NULL;
	sb_init(&b);
	kb_expand(db, svc, ctx, tmpl, &b, bad, sizeof(bad)); /* validated at load: never fails */
	return sb_take(&b);
}

static void advise_item(const struct kb_db *db, const struct kb_section *svc,
			const struct kb_ctx *ctx, const struct kb_item *it, struct kb_adv_item *o)
{
	o->is_dont = it->is_dont;
	o->text = expand_dup(db, svc, ctx, it->text);
	o->why = expand_dup(db, svc, ctx, it->why);
	o->has_rate = it->has_rate;
	o->rate = it->rate;
	o->source = it->has_rate ? kb_source_text(db, it->source) : NULL;
	for (int c = 0; c < it->n_cmd && c < KB_MAX_CMDS; c++) {
		o->os[o->n_cmd] = it->cmd[c].os;
		o->cmd[o->n_cmd++] = expand_dup(db, svc, ctx, it->cmd[c].tmpl);
	}
}

static const struct kb_section *pick_service(const struct kb_db *db, const char *service,
					     unsigned port)
{
	const struct kb_section *svc = service && *service ? kb_find(db, KB_SERVICE, service) : NULL;
	/* A service the payload did not name ("udp/PORT"): only a well-known port (below 1024)
	 * is taken as a hint of what should listen there; a high port says nothing. */
	if (!svc && port > 0 && port < 1024)
		svc = kb_find_port(db, port);
	return svc ? svc : kb_find(db, KB_SERVICE, "other");
}

int kb_advise(const char *label, const char *service, unsigned port, const struct kb_ctx *ctx,
	      struct kb_advice *out, char *errbuf, size_t errbuf_len)
{
	memset(out, 0, sizeof(*out));
	const struct kb_db *db = kb_get(errbuf, errbuf_len);
	if (!db)
		return -1;
	const struct kb_section *l = label ? kb_find(db, KB_LABEL, label) : NULL;
	if (!l) {
		snprintf(errbuf, errbuf_len, "no knowledge-base entry for diagnosis \"%.40s\"",
			 label ? label : "(none)");
		return -1;
	}
	const struct kb_section *svc = pick_service(db, service, port);
	out->label = l->name;
	out->title = kb_field(l, "title");
	out->klass = kb_field(l, "class");
	out->service_id = svc->name;
	out->service_name = kb_field(svc, "name");
	out->versions = kb_field(svc, "versions");
	out->summary = expand_dup(db, svc, ctx, kb_field(l, "summary"));
	out->cause = expand_dup(db, svc, ctx, kb_field(l, "cause"));
	out->service_note = expand_dup(db, svc, ctx, kb_field(svc, "note"));
	const char *fr = kb_field(l, "fix-rate");
	if (fr && strcmp(fr, "unmeasured") != 0) {
		out->has_fix = true;
		out->fix_rate = strtol(fr, NULL, 10) / 100.0;
		out->fix_source = kb_source_text(db, kb_field(l, "fix-source"));
	}
	for (int i = 0; i < l->n_items && out->n_item < KB_MAX_ADVICE; i++)
		advise_item(db, svc, ctx, &db->items[l->first_item + i], &out->item[out->n_item++]);
	return 0;
}

void kb_advice_free(struct kb_advice *a)
{
	free(a->summary);
	free(a->cause);
	free(a->fix_source);
	free(a->service_note);
	for (int i = 0; i < a->n_item; i++) {
		struct kb_adv_item *it = &a->item[i];
		free(it->text);
		free(it->why);
		free(it->source);
		for (int c = 0; c < it->n_cmd; c++)
			free(it->cmd[c]);
	}
	memset(a, 0, sizeof(*a));
}

/* ---- a finding's values, made safe to paste into a shell ---- */

/* An address from the database goes into commands only when it looks like one. */
static const char *safe_addr(const char *s, const char *fallback)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 45 || strspn(s, "0123456789abcdefABCDEF.:") != n || !strpbrk(s, ".:"))
		return fallback;
	return s;
}

struct ctx_store {
	char port[12], ports[24], since[40], until[40], since_iso[40], until_iso[40];
	char clients[200], rel_ip[64], rel_port[16];
};

static void join_clients(const struct rep_strv *v, char *buf, size_t len)
{
	size_t used = 0, shown = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < v->n && shown < 3; i++) {
		const char *a = safe_addr(v->v[i], NULL);
		if (!a)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", shown ? ", " : "", a);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n, shown++;
	}
	if (v->n > shown && shown > 0)
		snprintf(buf + used, len - used, " and %zu more", v->n - shown);
	if (shown == 0)
		snprintf(buf, len, "CLIENTS");
}

/* related, as the diagnosis writes it: "8053 (12 datagrams), 5353 (3 datagrams)" (wrong-port)
 * or "192.0.2.55 (12 datagrams)" (wrong-host); "ip:port" and "[v6]:port" are read too. The
 * first entry gives {related-ip} and {related-port}. */
static void parse_related(const char *rel, const char *ip, const char *port, struct ctx_store *st,
			  struct kb_ctx *ctx)
{
	char tmp[64];
	const char *p = NULL, *a = NULL;
	snprintf(tmp, sizeof(tmp), "%s", rel ? rel : "");
	tmp[strcspn(tmp, " ,")] = '\0';
	char *rb = strstr(tmp, "]:"), *colon = strchr(tmp, ':');
	if (tmp[0] == '[' && rb) {
		*rb = '\0';
		a = tmp + 1, p = rb + 2;
	} else if (colon && colon == strrchr(tmp, ':')) {
		*colon = '\0';
		a = tmp, p = colon + 1;
	} else if (tmp[0] && strspn(tmp, "0123456789") == strlen(tmp)) {
		a = ip, p = tmp;
	} else if (tmp[0]) {
		a = tmp, p = port;
	}
	bool port_ok = p && *p && strspn(p, "0123456789") == strlen(p) && strlen(p) < 6;
	snprintf(st->rel_port, sizeof(st->rel_port), "%s", port_ok ? p : "OTHER-PORT");
	snprintf(st->rel_ip, sizeof(st->rel_ip), "%s", safe_addr(a, "OTHER-SERVER"));
	ctx->related_ip = st->rel_ip;
	ctx->related_port = st->rel_port;
	ctx->related = rel && *rel ? rel : "another address";
}

static void window(const struct rep_finding *f, struct ctx_store *st, struct kb_ctx *ctx)
{
	int64_t a = f->outage_start_ns != REP_NO_TIME ? f->outage_start_ns : f->first_error_ns;
	int64_t b = f->outage_end_ns != REP_NO_TIME ? f->outage_end_ns : f->last_error_ns;
	if (a == REP_NO_TIME || b == REP_NO_TIME) {
		ctx->since = ctx->since_iso = "START";
		ctx->until = ctx->until_iso = "END";
		return;
	}
	fmt_human(st->since, sizeof(st->since) - 4, a, 0);
	strcat(st->since, " UTC");
	fmt_human(st->until, sizeof(st->until) - 4, b + 999999999, 0); /* round the end up */
	strcat(st->until, " UTC");
	fmt_iso(st->since_iso, sizeof(st->since_iso), a, 0);
	fmt_iso(st->until_iso, sizeof(st->until_iso), b + 999999999, 0);
	ctx->since = st->since, ctx->until = st->until;
	ctx->since_iso = st->since_iso, ctx->until_iso = st->until_iso;
}

int rep_advise(const struct rep_finding *f, struct kb_advice *out, char *errbuf)
{
	struct kb_ctx ctx;
	struct ctx_store st;
	memset(&st, 0, sizeof(st));
	kb_sample_ctx(&ctx, NULL);
	ctx.ip = safe_addr(f->server_ip, "SERVER");
	snprintf(st.port, sizeof(st.port), "%d", f->server_port);
	snprintf(st.ports, sizeof(st.ports), "%d", f->ports);
	ctx.port = st.port;
	ctx.ports = st.ports;
	ctx.af = strchr(ctx.ip, ':') ? "6" : "4";
	ctx.nft_family = strchr(ctx.ip, ':') ? "ip6" : "ip";
	join_clients(&f->clients, st.clients, sizeof(st.clients));
	ctx.clients = st.clients;
	ctx.client = f->clients.n ? safe_addr(f->clients.v[0], "CLIENT") : "CLIENT";
	ctx.reporter = f->reporters.n ? safe_addr(f->reporters.v[0], "REPORTER") : "REPORTER";
	ctx.source = safe_addr(f->source_ip, ctx.client);
	parse_related(f->related, ctx.ip, ctx.port, &st, &ctx);
	window(f, &st, &ctx);
	if (!kb_get(errbuf, REPORT_ERRBUF_SIZE))
		return -1;
	if (kb_advise(f->diagnosis, f->service, (unsigned)f->server_port, &ctx, out, errbuf,
		      REPORT_ERRBUF_SIZE) == 0)
		return 0;
	/* A label this knowledge base does not know (a newer database): report it bare. */
	memset(out, 0, sizeof(*out));
	out->label = out->title = f->diagnosis ? f->diagnosis : "unknown";
	out->service_id = f->service ? f->service : "other";
	out->service_name = out->service_id;
	return 0;
}
