/* kb_check.c - validation of the parsed knowledge base: complete labels, sourced rates, services.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reports/kb_int.h"

#define MIN_SERVICES 25

/* Keys every service must have (the OS commands are checked by expanding them); [service
 * other], the service nobody named, has no process, unit or rc name to put in a command. */
static const char *const svc_required[] = {"name",   "daemon",	      "daemons",
					   "config", "client-config", NULL};
static const char *const svc_required_known[] = {"process", "unit", "freebsd-rc", NULL};

static int verr(char *errbuf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int verr(char *errbuf, size_t len, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(errbuf, len, "kb.txt: %s", msg);
	return -1;
}

/* A source reference is "NAME" or "NAME, detail" with NAME a [source] section. */
static bool source_known(const struct kb_db *db, const char *ref)
{
	char name[64];
	size_t n = strcspn(ref, ",");
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, ref, n);
	name[n] = '\0';
	return kb_find(db, KB_SOURCE, name) != NULL;
}

static int check_item(const struct kb_db *db, const struct kb_section *l, const struct kb_item *it,
		      char *errbuf, size_t len)
{
	struct kb_item copy = *it;
	if (!it->rate_text)
		return verr(errbuf, len,
			    "line %d: [label %s] entry has no rate: (a percentage or "
			    "\"unmeasured\")",
			    it->line, l->name);
	if (kb_parse_rate(it->rate_text, &copy.rate, &copy.has_rate) < 0)
		return verr(errbuf, len, "line %d: rate \"%s\" is not N%% (0-100) or unmeasured",
			    it->line, it->rate_text);
	if (copy.has_rate && (!it->source || !source_known(db, it->source)))
		return verr(errbuf, len,
			    "line %d: a rate needs source: NAME, where NAME is a "
			    "[source] section",
			    it->line);
	if (it->is_dont && !it->why)
		return verr(errbuf, len, "line %d: a dont: needs a why:", it->line);
	if (it->text[0] == '\0')
		return verr(errbuf, len, "line %d: empty do:/dont:", it->line);
	return 0;
}

static int check_label(struct kb_db *db, struct kb_section *l, char *errbuf, size_t len)
{
	static const char *const need[] = {"title", "class", "summary", "cause", NULL};
	for (const char *const *k = need; *k; k++)
		if (!kb_field(l, *k))
			return verr(errbuf, len, "[label %s] has no %s:", l->name, *k);
	if (!kb_class_find(kb_field(l, "class"))) {
		char names[120] = "";
		for (const struct kb_class *c = kb_classes; c->name; c++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 c == kb_classes ? "" : ", ", c->name);
		return verr(errbuf, len, "[label %s] class: must be one of %s", l->name, names);
	}
	int n_do = 0, n_dont = 0;
	for (int i = 0; i < l->n_items; i++) {
		struct kb_item *it = &db->items[l->first_item + i];
		if (check_item(db, l, it, errbuf, len) < 0)
			return -1;
		kb_parse_rate(it->rate_text, &it->rate, &it->has_rate);
		if (it->is_dont)
			n_dont++;
		else
			n_do++;
	}
	if (n_do == 0 || n_dont == 0)
		return verr(errbuf, len,
			    "[label %s] needs at least one do: and one dont:", l->name);
	const char *fr = kb_field(l, "fix-rate"), *fs = kb_field(l, "fix-source");
	double r;
	bool has;
	if (fr && (kb_parse_rate(fr, &r, &has) < 0 || (has && (!fs || !source_known(db, fs)))))
		return verr(errbuf, len,
			    "[label %s] fix-rate needs N%% and a fix-source:", l->name);
	return 0;
}

static int check_expands(const struct kb_db *db, const struct kb_section *svc, const char *what,
			 const char *tmpl, char *errbuf, size_t len)
{
	struct kb_ctx ctx;
	struct sbuf b;
	char bad[64] = "";
	kb_sample_ctx(&ctx, NULL);
	sb_init(&b);
	int rc = kb_expand(db, svc, &ctx, tmpl, &b, bad, sizeof(bad));
	sb_free(&b);
	if (rc < 0)
		return verr(errbuf, len, "%s, for [service %s]: %s", what, svc->name, bad);
	return 0;
}

/* Every template of every label must expand for every service: no unknown variable. */
static int check_label_templates(const struct kb_db *db, const struct kb_section *l,
				 const struct kb_section *svc, char *errbuf, size_t len)
{
	char what[96];
	snprintf(what, sizeof(what), "[label %s]", l->name);
	for (int i = 0; i < l->n_f; i++)
		if (check_expands(db, svc, what, l->f[i].val, errbuf, len) < 0)
			return -1;
	for (int i = 0; i < l->n_items; i++) {
		const struct kb_item *it = &db->items[l->first_item + i];
		snprintf(what, sizeof(what), "line %d", it->line);
		if (check_expands(db, svc, what, it->text, errbuf, len) < 0 ||
		    (it->why && check_expands(db, svc, what, it->why, errbuf, len) < 0))
			return -1;
		for (int c = 0; c < it->n_cmd; c++)
			if (check_expands(db, svc, what, it->cmd[c].tmpl, errbuf, len) < 0)
				return -1;
	}
	return 0;
}

static int check_service(const struct kb_db *db, const struct kb_section *s, char *errbuf,
			 size_t len)
{
	for (const char *const *k = svc_required; *k; k++)
		if (!kb_field(s, *k) || !*kb_field(s, *k))
			return verr(errbuf, len, "[service %s] has no %s:", s->name, *k);
	bool other = strcmp(s->name, "other") == 0;
	for (const char *const *k = svc_required_known; !other && *k; k++)
		if (!kb_field(s, *k) || !*kb_field(s, *k))
			return verr(errbuf, len, "[service %s] has no %s:", s->name, *k);
	if (s->n_r == 0 && !other)
		return verr(errbuf, len, "[service %s] has no ports:", s->name);
	for (const char *const *k = kb_os_cmd_keys; *k; k++)
		if (check_expands(db, s, *k, kb_svc_field(db, s, *k), errbuf, len) < 0)
			return -1;
	for (int r = 0; r < s->n_r; r++) {
		const struct kb_section *o =
		    s->r[r].lo == s->r[r].hi ? kb_find_port(db, s->r[r].lo) : s;
		if (o != s)
			return verr(errbuf, len, "port %u is in [service %s] and [service %s]",
				    s->r[r].lo, o->name, s->name);
	}
	return 0;
}

/* True when the template keeps some text for a finding that has nothing but its server. */
static bool survives_bare(const struct kb_db *db, const struct kb_section *svc, const char *tmpl)
{
	struct kb_ctx bare = {
	    .ip = "192.0.2.1", .port = "53", .af = "4", .nft_family = "ip", .ports = "1"};
	struct sbuf b;
	char bad[64];
	sb_init(&b);
	kb_expand(db, svc, &bare, tmpl, &b, bad, sizeof(bad));
	bool kept = b.len > 0;
	sb_free(&b);
	return kept;
}

/* A label must still say something when a finding lacks the optional values (clients,
 * reporters, times, where else the service answers): its first sentences may not need them. */
static int check_bare(const struct kb_db *db, const struct kb_section *l, char *errbuf, size_t len)
{
	const struct kb_section *dns = kb_find(db, KB_SERVICE, "dns");
	static const char *const keys[] = {"summary", "cause", NULL};
	for (const char *const *k = keys; dns && *k; k++)
		if (!survives_bare(db, dns, kb_field(l, *k)))
			return verr(errbuf, len,
				    "[label %s] %s: says nothing without the finding's "
				    "optional values: begin with a sentence that needs only "
				    "{ip} and {port}",
				    l->name, *k);
	int kept = 0;
	for (int i = 0; dns && i < l->n_items; i++)
		kept += survives_bare(db, dns, db->items[l->first_item + i].text);
	if (dns && kept == 0)
		return verr(errbuf, len,
			    "[label %s]: no do:/dont: is left without the finding's "
			    "optional values",
			    l->name);
	return 0;
}

int kb_validate(struct kb_db *db, char *errbuf, size_t len)
{
	for (const char *const *l = kb_labels; *l; l++)
		if (!kb_find(db, KB_LABEL, *l))
			return verr(errbuf, len, "no [label %s]", *l);
	for (const char *const *k = kb_os_cmd_keys; *k; k++)
		if (!kb_field(kb_find(db, KB_DEFAULTS, NULL), *k))
			return verr(errbuf, len, "[defaults] has no %s:", *k);
	int n_svc = 0;
	for (int i = 0; i < db->n_s; i++) {
		struct kb_section *s = &db->s[i];
		if (s->kind == KB_SOURCE && !kb_field(s, "title"))
			return verr(errbuf, len, "[source %s] has no title:", s->name);
		if (s->kind == KB_LABEL && check_label(db, s, errbuf, len) < 0)
			return -1;
		if (s->kind == KB_LABEL && check_bare(db, s, errbuf, len) < 0)
			return -1;
		if (s->kind == KB_SERVICE && check_service(db, s, errbuf, len) < 0)
			return -1;
		n_svc += s->kind == KB_SERVICE && s->n_r > 0;
	}
	if (n_svc < MIN_SERVICES)
		return verr(errbuf, len, "%d services with ports; at least %d expected", n_svc,
			    MIN_SERVICES);
	for (int i = 0; i < db->n_s; i++)
		for (int j = 0; db->s[i].kind == KB_LABEL && j < db->n_s; j++)
			if (db->s[j].kind == KB_SERVICE &&
			    check_label_templates(db, &db->s[i], &db->s[j], errbuf, len) < 0)
				return -1;
	return 0;
}
