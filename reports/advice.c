/* advice.c - the knowledge base specialised to one finding: cause, workarounds, dead ends,
 * commands. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

#define REP_MAX_LISTED 100 /* the diagnosis keeps the first 100 clients of a finding */

const char *kb_os_title(enum kb_os os)
{
	static const char *const titles[KB_N_OS] = {"Linux", "Windows", "FreeBSD"};
	return os < KB_N_OS ? titles[os] : "?";
}

/* The template expanded for this finding, or NULL when nothing of it is left (every sentence
 * needed a value the finding or the service does not have). */
static char *expand_dup(const struct kb_db *db, const struct kb_section *svc,
			const struct kb_ctx *ctx, const char *tmpl, bool whole)
{
	struct sbuf b;
	char bad[64];
	if (!tmpl)
		return NULL;
	sb_init(&b);
	/* validated at load: no unknown variable, so the only failure is a sentence left out */
	kb_expand_opt(db, svc, ctx, tmpl, whole, &b, NULL, bad, sizeof(bad));
	if (b.len == 0) {
		sb_free(&b);
		return NULL;
	}
	return sb_take(&b);
}

/* Fills o from a do:/dont: entry; false when its text is left out for this finding. */
static bool advise_item(const struct kb_db *db, const struct kb_section *svc,
			const struct kb_ctx *ctx, const struct kb_item *it, struct kb_adv_item *o)
{
	memset(o, 0, sizeof(*o));
	o->is_dont = it->is_dont;
	o->text = expand_dup(db, svc, ctx, it->text, false);
	if (!o->text)
		return false;
	o->why = expand_dup(db, svc, ctx, it->why, false);
	o->has_rate = it->has_rate;
	o->rate = it->rate;
	o->source = it->has_rate ? kb_source_text(db, it->source) : NULL;
	for (int c = 0; c < it->n_cmd && c < KB_MAX_CMDS; c++) {
		char *cmd = expand_dup(db, svc, ctx, it->cmd[c].tmpl, true);
		if (!cmd)
			continue; /* e.g. no unit to start for a service the knowledge base lacks */
		o->os[o->n_cmd] = it->cmd[c].os;
		o->cmd[o->n_cmd++] = cmd;
	}
	return true;
}

static const struct kb_section *pick_service(const struct kb_db *db, const char *service,
					     unsigned port)
{
	const struct kb_section *svc =
	    service && *service ? kb_find(db, KB_SERVICE, service) : NULL;
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
	out->summary = expand_dup(db, svc, ctx, kb_field(l, "summary"), false);
	out->cause = expand_dup(db, svc, ctx, kb_field(l, "cause"), false);
	out->service_note = expand_dup(db, svc, ctx, kb_field(svc, "note"), false);
	const char *fr = kb_field(l, "fix-rate");
	if (fr && strcmp(fr, "unmeasured") != 0) {
		out->has_fix = true;
		out->fix_rate = strtol(fr, NULL, 10) / 100.0;
		out->fix_source = kb_source_text(db, kb_field(l, "fix-source"));
	}
	for (int i = 0; i < l->n_items && out->n_item < KB_MAX_ADVICE; i++)
		if (advise_item(db, svc, ctx, &db->items[l->first_item + i],
				&out->item[out->n_item]))
			out->n_item++;
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
static const char *safe_addr(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 45 || strspn(s, "0123456789abcdefABCDEF.:") != n || !strpbrk(s, ".:"))
		return NULL;
	return s;
}

struct ctx_store {
	char port[12], ports[24], since[40], until[40], since_iso[40], until_iso[40];
	char clients[200], n_clients[24], client_net[INET6_ADDRSTRLEN + 4], rel_ip[64],
	    rel_port[16];
	char related[256];
};

/* "a, b, c and 4 more" (four are shown whole, never "and 1 more"), from the addresses that
 * look like addresses; false when none does. */
static bool join_clients(const struct rep_strv *v, char *buf, size_t len)
{
	size_t used = 0, shown = 0, max = v->n == 4 ? 4 : 3;
	buf[0] = '\0';
	for (size_t i = 0; i < v->n && shown < max; i++) {
		const char *a = safe_addr(v->v[i]);
		if (!a)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", shown ? ", " : "", a);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n, shown++;
	}
	if (v->n >= REP_MAX_LISTED && shown > 0) /* the stored list is cut: the rest is unknown */
		snprintf(buf + used, len - used, " and others");
	else if (v->n > shown && shown > 0)
		snprintf(buf + used, len - used, " and %zu more", v->n - shown);
	return shown > 0;
}

/* Bits in common at the start of a and b (n bytes each). */
static int common_bits(const uint8_t *a, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t x = a[i] ^ b[i];
		if (x == 0)
			continue;
		int bits = 0;
		while (!(x & 0x80))
			x <<= 1, bits++;
		return i * 8 + bits;
	}
	return n * 8;
}

int kb_client_net(const char *const *clients, size_t n, char *buf, size_t len)
{
	uint8_t first[16], cur[16];
	int fam = 0, bytes = 0, bits = 128;
	if (n == 0 || n >= REP_MAX_LISTED || len < INET6_ADDRSTRLEN + 4)
		return -1; /* none, or a list the database may have cut */
	for (size_t i = 0; i < n; i++) {
		int f = clients[i] && strchr(clients[i], ':') ? AF_INET6 : AF_INET;
		if (!clients[i] || inet_pton(f, clients[i], i ? cur : first) != 1 ||
		    (i && f != fam))
			return -1;
		fam = f, bytes = f == AF_INET6 ? 16 : 4;
		int c = i ? common_bits(first, cur, bytes) : bytes * 8;
		bits = c < bits ? c : bits;
	}
	if (bits < (fam == AF_INET6 ? 48 : 16))
		return -1; /* wider than a site: no single rule should admit that many hosts */
	for (int i = 0; i < bytes; i++) /* the network address: host bits cleared */
		first[i] &= (uint8_t)(i * 8 >= bits	  ? 0
				      : i * 8 + 8 <= bits ? 0xff
							  : 0xff << (8 - bits % 8));
	inet_ntop(fam, first, buf, (socklen_t)len);
	if (n > 1)
		snprintf(buf + strlen(buf), len - strlen(buf), "/%d", bits);
	return 0;
}

/* The diagnosis's "(1 datagrams)" as "(1 datagram)", cut at an entry that does not fit. */
static void related_text(const char *rel, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	while (*rel) {
		size_t n = strcspn(rel, ",");
		const char *one = strstr(rel, "(1 datagrams)");
		int w =
		    one && (size_t)(one - rel) < n
			? snprintf(buf + used, len - used, "%s%.*s(1 datagram)%.*s",
				   used ? ", " : "", (int)(one - rel), rel,
				   (int)(n - (size_t)(one - rel) - 13), one + 13)
			: snprintf(buf + used, len - used, "%s%.*s", used ? ", " : "", (int)n, rel);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)w;
		rel += n;
		rel += strspn(rel, ", ");
	}
}

/* related, as the diagnosis writes it: "8053 (12 datagrams), 5353 (3 datagrams)" (wrong-port)
 * or "192.0.2.55 (12 datagrams)" (wrong-host); "ip:port" and "[v6]:port" are read too. The
 * first entry gives {related-ip} and {related-port}; what cannot be read stays unknown. */
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
	snprintf(st->rel_port, sizeof(st->rel_port), "%s", port_ok ? p : "");
	snprintf(st->rel_ip, sizeof(st->rel_ip), "%s", safe_addr(a) ? a : "");
	ctx->related_ip = st->rel_ip[0] ? st->rel_ip : NULL;
	ctx->related_port = st->rel_port[0] ? st->rel_port : NULL;
	related_text(rel ? rel : "", st->related, sizeof(st->related));
	ctx->related = st->related[0] ? st->related : NULL;
}

static void window(const struct rep_finding *f, struct ctx_store *st, struct kb_ctx *ctx)
{
	int64_t a = f->outage_start_ns != REP_NO_TIME ? f->outage_start_ns : f->first_error_ns;
	int64_t b = f->outage_end_ns != REP_NO_TIME ? f->outage_end_ns : f->last_error_ns;
	if (a == REP_NO_TIME || b == REP_NO_TIME)
		return; /* unknown: sentences that need the window are left out */
	pm_fmt_utc(a, 0, false, st->since, sizeof(st->since) - 4);
	strcat(st->since, " UTC");
	pm_fmt_utc(b + 999999999, 0, false, st->until,
		   sizeof(st->until) - 4); /* round the end up */
	strcat(st->until, " UTC");
	pm_fmt_utc(a, 0, true, st->since_iso, sizeof(st->since_iso));
	pm_fmt_utc(b + 999999999, 0, true, st->until_iso, sizeof(st->until_iso));
	ctx->since = st->since, ctx->until = st->until;
	ctx->since_iso = st->since_iso, ctx->until_iso = st->until_iso;
}

/* Who sent the errors: {reporter}, and which of {reporter-other} (a router or firewall with
 * its own address) and {reporter-is-server} (the errors carry the server's address) holds. */
static void reporters(const struct rep_finding *f, struct kb_ctx *ctx)
{
	bool all_server = f->reporters.n > 0 && ctx->ip;
	for (size_t i = 0; i < f->reporters.n; i++) {
		const char *r = safe_addr(f->reporters.v[i]);
		if (r && !ctx->reporter)
			ctx->reporter = r;
		if (!r || !ctx->ip || strcmp(r, ctx->ip) != 0) {
			all_server = false;
			if (r && !ctx->reporter_other)
				ctx->reporter_other = r;
		}
	}
	ctx->reporter_is_server = all_server ? ctx->ip : NULL;
}

int rep_advise(const struct rep_finding *f, struct kb_advice *out, char *errbuf)
{
	struct kb_ctx ctx = {0};
	struct ctx_store st;
	memset(&st, 0, sizeof(st));
	ctx.ip = safe_addr(f->server_ip);
	snprintf(st.port, sizeof(st.port), "%d", f->server_port);
	snprintf(st.ports, sizeof(st.ports), "%d", f->ports);
	ctx.port = st.port;
	ctx.ports = st.ports;
	if (ctx.ip) {
		ctx.af = strchr(ctx.ip, ':') ? "6" : "4";
		ctx.nft_family = strchr(ctx.ip, ':') ? "ip6" : "ip";
	}
	if (join_clients(&f->clients, st.clients, sizeof(st.clients)))
		ctx.clients = st.clients;
	if (f->clients.n > 0) {
		if (f->clients.n < REP_MAX_LISTED)
			snprintf(st.n_clients, sizeof(st.n_clients), "%zu", f->clients.n);
		else
			snprintf(st.n_clients, sizeof(st.n_clients), "%d or more", REP_MAX_LISTED);
		ctx.n_clients = st.n_clients;
	}
	for (size_t i = 0; i < f->clients.n && !ctx.client; i++)
		ctx.client = safe_addr(f->clients.v[i]);
	if (kb_client_net((const char *const *)f->clients.v, f->clients.n, st.client_net,
			  sizeof(st.client_net)) == 0)
		ctx.client_net = st.client_net;
	reporters(f, &ctx);
	ctx.source = safe_addr(f->source_ip) ? f->source_ip : ctx.client;
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
