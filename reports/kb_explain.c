/* kb_explain.c - `portmortem explain LABEL|PORT|SERVICE`: one knowledge-base entry as text. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reports/kb_int.h"

/* "  Key:      value" with the value wrapped under itself. */
static void kv(FILE *out, const char *key, const char *val)
{
	if (!val || !*val)
		return;
	int n = fprintf(out, "  %-9s ", key);
	wrap_write(out, val, n > 0 ? (size_t)n : 0, 12, TEXT_WIDTH, NULL);
}

static void print_cmds(FILE *out, const struct kb_adv_item *it, size_t indent)
{
	enum kb_os last = KB_N_OS;
	for (int c = 0; c < it->n_cmd; c++) {
		fprintf(out, "%*s%-9s", (int)indent, "",
			it->os[c] != last ? kb_os_title(it->os[c]) : "");
		last = it->os[c];
		wrap_write(out, it->cmd[c], indent + 9, indent + 11, TEXT_WIDTH,
			   it->os[c] == KB_WINDOWS ? "`" : "\\");
	}
}

static void print_label(FILE *out, const struct kb_advice *a)
{
	char line[300];
	fprintf(out, "%s: %s\n", a->label, a->title);
	wrap_para(out, 2, a->summary);
	fputs("\nCause\n", out);
	wrap_para(out, 2, a->cause);
	if (a->has_fix) {
		snprintf(line, sizeof(line), "Fix rate %.0f%% (source: %s).", a->fix_rate * 100,
			 a->fix_source);
		wrap_para(out, 2, line);
	}
	fputs("\nDo, in this order\n", out);
	for (int i = 0, n = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (it->is_dont)
			continue;
		int w = fprintf(out, "  %d. ", ++n);
		wrap_write(out, it->text, (size_t)w, 5, TEXT_WIDTH, NULL);
		if (it->has_rate) {
			snprintf(line, sizeof(line), "success rate %.0f%% (source: %s)",
				 it->rate * 100, it->source);
			wrap_para(out, 5, line);
		}
		print_cmds(out, it, 5);
	}
	fputs("\nDon't\n", out);
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (!it->is_dont)
			continue;
		fputs("  - ", out);
		wrap_write(out, it->text, 4, 4, TEXT_WIDTH, NULL);
		wrap_para(out, 4, it->why);
		if (it->has_rate) {
			snprintf(line, sizeof(line), "fails %.0f%% (source: %s)", it->rate * 100,
				 it->source);
			wrap_para(out, 4, line);
		}
	}
	fputc('\n', out);
	wrap_para(out, 0, kb_rates_note());
}

static int explain_label(const struct kb_section *l, FILE *out)
{
	struct kb_ctx ctx;
	struct kb_advice a;
	char err[REPORT_ERRBUF_SIZE];
	kb_sample_ctx(&ctx, NULL);
	if (kb_advise(l->name, "other", 0, &ctx, &a, err, sizeof(err)) < 0)
		return -1;
	print_label(out, &a);
	kb_advice_free(&a);
	return 0;
}

static void print_ports(FILE *out, const struct kb_section *s)
{
	fputs("  Ports:    ", out);
	for (int r = 0; r < s->n_r; r++) {
		fprintf(out, "%s%u", r ? ", " : "", s->r[r].lo);
		if (s->r[r].hi != s->r[r].lo)
			fprintf(out, "-%u", s->r[r].hi);
	}
	fputs("/udp\n", out);
}

static void print_os(const struct kb_db *db, const struct kb_section *s, const struct kb_ctx *ctx,
		     FILE *out, enum kb_os os)
{
	static const char *const os_keys[KB_N_OS] = {"linux", "windows", "freebsd"};
	static const char *const slots[] = {"check", "start", "status", "log"};
	char key[40], bad[64];
	struct sbuf b;
	snprintf(key, sizeof(key), "%s-versions", os_keys[os]);
	fprintf(out, "\n  %s (%s)\n", kb_os_title(os),
		kb_svc_field(db, s, key) ? kb_svc_field(db, s, key) : "");
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		snprintf(key, sizeof(key), "%s-%s", os_keys[os], slots[i]);
		sb_init(&b);
		kb_expand(db, s, ctx, kb_svc_field(db, s, key), &b, bad, sizeof(bad));
		fprintf(out, "    %-8s", slots[i]);
		wrap_write(out, sb_str(&b), 12, 14, TEXT_WIDTH, os == KB_WINDOWS ? "`" : "\\");
		sb_free(&b);
	}
}

static int explain_service(const struct kb_db *db, const struct kb_section *s, FILE *out)
{
	struct kb_ctx ctx;
	char port[12], bad[64];
	struct sbuf b;
	snprintf(port, sizeof(port), "%u", s->n_r ? s->r[0].lo : 0);
	kb_sample_ctx(&ctx, s->n_r ? port : NULL);
	fprintf(out, "%s: %s\n", s->name, kb_field(s, "name"));
	print_ports(out, s);
	kv(out, "Daemons:", kb_field(s, "daemons"));
	kv(out, "Versions:", kb_field(s, "versions"));
	static const struct {
		const char *key, *title;
	} more[] = {{"config", "Config:"},
		    {"client-config", "Clients:"},
		    {"probe", "Probe:"},
		    {"note", "Note:"}};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		sb_init(&b);
		kb_expand(db, s, &ctx, kb_svc_field(db, s, more[i].key), &b, bad, sizeof(bad));
		kv(out, more[i].title, sb_str(&b));
		sb_free(&b);
	}
	for (int os = 0; os < KB_N_OS; os++)
		print_os(db, s, &ctx, out, (enum kb_os)os);
	fputc('\n', out);
	char labels[512];
	size_t used =
	    (size_t)snprintf(labels, sizeof labels,
			     "What a port unreachable about it means: portmortem explain %s,"
			     " or another label:",
			     kb_labels[0]);
	for (int i = 1; kb_labels[i] && used < sizeof labels; i++)
		used += (size_t)snprintf(labels + used, sizeof labels - used, " %s%s", kb_labels[i],
					 kb_labels[i + 1] ? "," : ".");
	wrap_para(out, 0, labels);
	return 0;
}

static const struct kb_section *find_service_name(const struct kb_db *db, const char *what)
{
	const struct kb_section *s = kb_find(db, KB_SERVICE, what);
	for (int i = 0; !s && i < db->n_s; i++)
		if (db->s[i].kind == KB_SERVICE && kb_field(&db->s[i], "name") &&
		    strcasecmp(kb_field(&db->s[i], "name"), what) == 0)
			s = &db->s[i];
	return s;
}

int kb_explain(const char *what, FILE *out)
{
	const struct kb_db *db = kb_get(NULL, 0);
	if (!db || !what || !*what)
		return -1;
	const struct kb_section *l = kb_find(db, KB_LABEL, what);
	if (l)
		return explain_label(l, out);
	if (strspn(what, "0123456789") == strlen(what) && strlen(what) <= 5) {
		long port = strtol(what, NULL, 10);
		const struct kb_section *s =
		    port > 0 && port < 65536 ? kb_find_port(db, (unsigned)port) : NULL;
		if (!s && port > 0 && port < 65536 && (l = kb_find_label_port(db, (unsigned)port)))
			return explain_label(l, out);
		return s ? explain_service(db, s, out) : -1;
	}
	const struct kb_section *s = find_service_name(db, what);
	return s && s->n_r ? explain_service(db, s, out) : -1;
}
