/* text.c - the terminal report: summary, then findings most severe first, 80 columns (SPEC §11). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

struct tctx {
	FILE *out;
	bool color;
	bool rates_shown;
};

static const char *class_color(const char *klass)
{
	const struct kb_class *c = kb_class_find(klass);
	return c ? c->sgr : "1";
}

/* Our own escape sequences only: never text from a packet. */
static void sgr(struct tctx *t, const char *code)
{
	if (t->color)
		fprintf(t->out, "\033[%sm", code);
}

/* "2026-11-23 10:02:03 → 10:06:41 UTC" (the date once when both are on the same day). */
static void fmt_range(char *buf, size_t len, int64_t a, int64_t b, int prec)
{
	char s[48], e[48];
	pm_fmt_utc(a, prec, false, s, sizeof(s));
	pm_fmt_utc(b, prec, false, e, sizeof(e));
	bool same_day = strncmp(s, e, 10) == 0;
	snprintf(buf, len, "%s → %s UTC", s, same_day ? e + 11 : e);
}

static void summary_labels(struct tctx *t, const struct rep_model *m, struct sbuf *b)
{
	bool first = true;
	for (const char *const *l = kb_labels; *l; l++) {
		size_t n = rep_count_label(m, *l);
		if (n == 0)
			continue;
		const char *klass = kb_label_class(*l);
		char num[32];
		fmt_count(num, sizeof(num), (int64_t)n);
		sb_printf(b, "%s%s %s%s", first ? ": " : ", ", num, kb_label_title(*l),
			  klass && strcmp(klass, "benign") == 0 ? " (benign)" : "");
		first = false;
	}
}

#define UNDISSECTED_PREFIX "encap.undissected."
#define UNDISSECTED_KINDS_MAX 16

struct undissected_kind {
	const char *kind;
	int64_t n;
};

static int by_count_then_kind(const void *a, const void *b)
{
	const struct undissected_kind *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

/* SPEC §5: frames in encapsulations we recognise but do not open (the captures'
 * encap.undissected.<kind> counts), summed over every capture, kinds with most frames first:
 * "12 frames in encapsulations not dissected: esp 10, l2tp 2". Nothing when there are none. */
static void print_undissected(struct tctx *t, const struct rep_model *m)
{
	struct undissected_kind k[UNDISSECTED_KINDS_MAX];
	size_t nk = 0, plen = strlen(UNDISSECTED_PREFIX);
	int64_t total = 0, other = 0;
	for (size_t i = 0; i < m->n_caps; i++) {
		for (size_t a = 0; a < m->caps[i].n_anomalies; a++) {
			const struct rep_anomaly *an = &m->caps[i].anomalies[a];
			if (!an->name || strncmp(an->name, UNDISSECTED_PREFIX, plen) != 0)
				continue;
			total += an->count;
			size_t j = 0;
			while (j < nk && strcmp(k[j].kind, an->name + plen) != 0)
				j++;
			if (j == UNDISSECTED_KINDS_MAX) {
				other += an->count;
				continue;
			}
			if (j == nk)
				k[nk++] = (struct undissected_kind){an->name + plen, 0};
			k[j].n += an->count;
		}
	}
	if (total == 0)
		return;
	qsort(k, nk, sizeof k[0], by_count_then_kind);
	char num[32];
	struct sbuf b;
	sb_init(&b);
	fmt_count(num, sizeof(num), total);
	sb_printf(&b, "%s %s in encapsulations not dissected", num,
		  pm_plural((int64_t)total, "frame", "frames"));
	for (size_t j = 0; j < nk; j++) {
		fmt_count(num, sizeof(num), k[j].n);
		sb_printf(&b, "%s%s %s", j ? ", " : ": ", k[j].kind, num);
	}
	if (other) {
		fmt_count(num, sizeof(num), other);
		sb_printf(&b, ", other %s", num);
	}
	wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
	sb_free(&b);
}

/* --sha256: the captures' digests, one per line as sha256sum(1) prints them, never wrapped
 * (a digest is copied whole into evidence logs). Nothing when none was taken. */
static void print_sha256(struct tctx *t, const struct rep_model *m)
{
	bool any = false;
	for (size_t i = 0; i < m->n_caps; i++)
		any |= m->caps[i].sha256 != NULL;
	if (!any)
		return;
	fputs("  SHA-256 of the capture files:\n", t->out);
	for (size_t i = 0; i < m->n_caps; i++) {
		const struct rep_capture *c = &m->caps[i];
		if (c->sha256)
			fprintf(t->out, "    %s  %s\n", c->sha256, c->path ? c->path : "?");
	}
}

static void print_summary(struct tctx *t, const struct report_options *opt,
			  const struct rep_model *m)
{
	char num[32], range[128], span[32];
	struct sbuf b;
	sb_init(&b);
	fmt_count(num, sizeof(num), m->packets);
	sb_printf(&b, "portmortem %s — %zu %s, %s packets", opt->version ? opt->version : "",
		  m->n_caps, pm_plural((int64_t)m->n_caps, "capture", "captures"), num);
	if (m->first_ns != REP_NO_TIME && m->last_ns != REP_NO_TIME) {
		fmt_range(range, sizeof(range), m->first_ns, m->last_ns, 0);
		pm_fmt_duration(m->last_ns - m->first_ns, span, sizeof(span));
		sb_printf(&b, ", %s (%s)", range, span);
	}
	sgr(t, "1");
	wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
	sgr(t, "0");
	sb_free(&b);
	sb_init(&b);
	fmt_count(num, sizeof(num), m->n_port_unreach);
	char nf[32];
	fmt_count(nf, sizeof(nf), (int64_t)m->n_fnd);
	sb_printf(&b, "%s port-unreachable %s → %s %s", num,
		  pm_plural(m->n_port_unreach, "event", "events"), nf,
		  pm_plural((int64_t)m->n_fnd, "finding", "findings"));
	summary_labels(t, m, &b);
	wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
	sb_free(&b);
	print_undissected(t, m);
	print_sha256(t, m);
	for (size_t i = 0; i < m->n_caps; i++) {
		const struct rep_capture *c = &m->caps[i];
		if (c->complete && !c->read_error)
			continue;
		sb_init(&b);
		sb_printf(&b, "! %s could not be read in full: %s", c->path ? c->path : "?",
			  c->read_error ? c->read_error : "cut short");
		wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
		sb_free(&b);
	}
	size_t capped = 0;
	for (size_t i = 0; i < m->n_caps; i++)
		capped += m->caps[i].stats_capped;
	if (capped) {
		sb_init(&b);
		sb_printf(&b,
			  "! the UDP statistics of %zu %s hit their bound (--max-endpoints):"
			  " request and reply counts are partial",
			  capped, pm_plural((int64_t)capped, "capture", "captures"));
		wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
		sb_free(&b);
	}
}

static void upper(char *dst, size_t len, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < len; i++)
		dst[i] = (char)toupper((unsigned char)s[i]);
	dst[i] = '\0';
}

/* A finding keyed on a source and a target (a prober) names both; the others their server. */
static bool has_source(const struct rep_finding *f)
{
	return f->source_ip && *f->source_ip;
}

static void endpoint(const struct rep_finding *f, char *buf, size_t len)
{
	bool v6 = strchr(f->server_ip, ':') != NULL;
	if (has_source(f))
		snprintf(buf, len, "%s → %s, %d %s from %d/%s", f->source_ip ? f->source_ip : "?",
			 f->server_ip, f->ports, pm_plural(f->ports, "port", "ports"),
			 f->server_port, f->proto ? f->proto : "udp");
	else
		snprintf(buf, len, "%s%s%s:%d/%s", v6 ? "[" : "", f->server_ip, v6 ? "]" : "",
			 f->server_port, f->proto ? f->proto : "udp");
}

static void print_heading(struct tctx *t, const struct rep_finding *f, const struct kb_advice *a)
{
	char label[64], ep[200], conf[48];
	upper(label, sizeof(label), a->title);
	endpoint(f, ep, sizeof(ep));
	snprintf(conf, sizeof(conf), "confidence %s", f->confidence ? f->confidence : "?");
	int n = fprintf(t->out, "\n[%lld] ", (long long)f->id);
	sgr(t, class_color(a->klass));
	fputs(label, t->out);
	sgr(t, "0");
	const char *svc = f->service && *f->service ? f->service
			  : has_source(f)	    ? ""
						    : a->service_id;
	size_t col = (size_t)n + text_cols(label, strlen(label));
	char what[300];
	snprintf(what, sizeof(what), "%s%s%s", svc, *svc ? "  " : "", ep);
	size_t rest = text_cols(what, strlen(what));
	if (col + 2 + rest > TEXT_WIDTH) {
		fprintf(t->out, "\n    ");
		col = 4;
	} else {
		fputs("  ", t->out);
		col += 2;
	}
	fputs(what, t->out);
	col += rest;
	size_t cl = strlen(conf);
	if (col + 2 + cl <= TEXT_WIDTH)
		fprintf(t->out, "%*s%s\n", (int)(TEXT_WIDTH - col - cl), "", conf);
	else
		fprintf(t->out, "\n    %s\n", conf);
}

static void print_facts(struct tctx *t, const struct rep_finding *f)
{
	char range[128], span[32];
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "%lld %s, %lld %s, %lld %s", (long long)f->errors,
		  pm_plural(f->errors, "error", "errors"), (long long)f->requests,
		  pm_plural(f->requests, "request", "requests"), (long long)f->replies,
		  pm_plural(f->replies, "reply", "replies"));
	if (f->first_error_ns != REP_NO_TIME && f->last_error_ns != REP_NO_TIME) {
		fmt_range(range, sizeof(range), f->first_error_ns, f->last_error_ns, 3);
		sb_printf(&b, "; errors %s", range);
	}
	for (size_t i = 0; i < f->clients.n && i < 5; i++)
		sb_printf(&b, "%s%s", i ? ", " : "; clients ", f->clients.v[i]);
	if (f->clients.n > 5)
		sb_printf(&b, " and %zu more", f->clients.n - 5);
	for (size_t i = 0; i < f->reporters.n && i < 5; i++)
		sb_printf(&b, "%s%s", i ? ", " : "; reported by ", f->reporters.v[i]);
	if (f->outage_start_ns != REP_NO_TIME && f->outage_end_ns != REP_NO_TIME) {
		fmt_range(range, sizeof(range), f->outage_start_ns, f->outage_end_ns, 3);
		pm_fmt_duration(f->outage_end_ns - f->outage_start_ns, span, sizeof(span));
		sb_printf(&b, "; outage %s (%s)", range, span);
	}
	if (f->related && *f->related)
		sb_printf(&b, "; answers at %s", f->related);
	sb_putc(&b, '.');
	wrap_para(t->out, 4, sb_str(&b));
	sb_free(&b);
}

static void print_names(struct tctx *t, const struct rep_finding *f)
{
	if (f->n_names == 0)
		return;
	struct sbuf b;
	sb_init(&b);
	sb_puts(&b, "Failing names:");
	for (size_t i = 0; i < f->n_names && i < 10; i++)
		sb_printf(&b, "%s %s%s%s (%lld)", i ? "," : "", f->names[i].shown,
			  f->names[i].type && *f->names[i].type ? " " : "",
			  f->names[i].type ? f->names[i].type : "", (long long)f->names[i].count);
	if (f->n_names > 10)
		sb_printf(&b, ", and %zu more", f->n_names - 10);
	wrap_para(t->out, 4, sb_str(&b));
	sb_free(&b);
}

static void print_commands(struct tctx *t, const struct kb_adv_item *it)
{
	enum kb_os last = KB_N_OS;
	for (int c = 0; c < it->n_cmd; c++) {
		fprintf(t->out, "         %-9s", it->os[c] != last ? kb_os_title(it->os[c]) : "");
		last = it->os[c];
		wrap_write(t->out, it->cmd[c], 18, 20, TEXT_WIDTH,
			   it->os[c] == KB_WINDOWS ? "`" : "\\");
	}
}

static void print_advice(struct tctx *t, const struct kb_advice *a)
{
	char text[1024];
	int n = 0;
	sgr(t, "1");
	fputs("    Do:\n", t->out);
	sgr(t, "0");
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (it->is_dont)
			continue;
		snprintf(text, sizeof(text), "%s", it->text);
		if (it->has_rate) {
			snprintf(text, sizeof(text), "%s (fixes %.0f%%)", it->text, it->rate * 100);
			t->rates_shown = true;
		}
		int w = fprintf(t->out, "      %d. ", ++n);
		wrap_write(t->out, text, (size_t)w, 9, TEXT_WIDTH, NULL);
		print_commands(t, it);
	}
	sgr(t, "1");
	fputs("    Don't:\n", t->out);
	sgr(t, "0");
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (!it->is_dont)
			continue;
		snprintf(text, sizeof(text), "%s %s", it->text, it->why ? it->why : "");
		if (it->has_rate) {
			snprintf(text, sizeof(text), "%s %s (fails %.0f%%)", it->text,
				 it->why ? it->why : "", it->rate * 100);
			t->rates_shown = true;
		}
		fputs("      - ", t->out);
		wrap_write(t->out, text, 8, 8, TEXT_WIDTH, NULL);
	}
}

/* "    Why: text..." with the text wrapped under itself. */
static void labelled(struct tctx *t, const char *label, const char *text)
{
	if (!text)
		return;
	size_t col = 4 + strlen(label);
	fprintf(t->out, "    %s", label);
	wrap_write(t->out, text, col, strlen(label) <= 6 ? col : 6, TEXT_WIDTH, NULL);
}

static void print_secondary(struct tctx *t, const struct rep_finding *f)
{
	for (size_t i = 0; i < f->secondary.n; i++) {
		const char *title = kb_label_title(f->secondary.v[i]);
		struct kb_advice a;
		char err[REPORT_ERRBUF_SIZE], line[600];
		if (!title || rep_advise(&(struct rep_finding){.diagnosis = f->secondary.v[i],
							       .server_ip = f->server_ip,
							       .server_port = f->server_port},
					 &a, err) < 0)
			continue;
		snprintf(line, sizeof(line), "Also %s: ", title);
		labelled(t, line, a.cause);
		kb_advice_free(&a);
	}
}

/* "Packets: in a.pcap frames 4, 6, 8; in b.pcap frames 1, 2, …" and the display filter. */
static void print_packets(struct tctx *t, const struct rep_finding *f)
{
	struct sbuf b;
	if (f->capture_points.n > 1) {
		sb_init(&b);
		sb_printf(&b, "Seen at %zu capture points:", f->capture_points.n);
		for (size_t i = 0; i < f->capture_points.n && i < 5; i++)
			sb_printf(&b, "%s %s", i ? "," : "", f->capture_points.v[i]);
		if (f->capture_points.n > 5)
			sb_printf(&b, " and %zu more", f->capture_points.n - 5);
		sb_putc(&b, '.');
		wrap_para(t->out, 4, sb_str(&b));
		sb_free(&b);
	}
	if (f->n_frames) {
		sb_init(&b);
		sb_puts(&b, "Packets:");
		for (size_t i = 0; i < f->n_frames; i++) {
			const struct rep_frames *r = &f->frames[i];
			sb_printf(&b, "%s in %s %s", i ? ";" : "", r->path,
				  pm_plural(r->n, "frame", "frames"));
			for (int k = 0; k < r->n; k++)
				sb_printf(&b, "%s %lld", k ? "," : "", (long long)r->frame[k]);
			if (r->more)
				sb_puts(&b, ", …");
		}
		if (f->frames_more_caps)
			sb_puts(&b, "; and in more captures");
		wrap_para(t->out, 4, sb_str(&b));
		sb_free(&b);
	}
	if (f->display_filter) {
		fputs("    Display filter: ", t->out);
		wrap_write(t->out, f->display_filter, 20, 6, TEXT_WIDTH, NULL);
	}
}

static int print_finding(struct tctx *t, size_t idx, const struct rep_finding *f, char *errbuf)
{
	struct kb_advice a;
	if (rep_advise(f, &a, errbuf) < 0)
		return -1;
	(void)idx;
	print_heading(t, f, &a);
	for (size_t i = 0; i < f->evidence.n; i++)
		wrap_para(t->out, 4, f->evidence.v[i]);
	print_facts(t, f);
	print_packets(t, f);
	print_secondary(t, f);
	print_names(t, f);
	labelled(t, "Why: ", a.cause);
	if (a.service_note && a.klass &&
	    (strcmp(a.klass, "outage") == 0 || strcmp(a.klass, "misconfig") == 0))
		labelled(t, "Note: ", a.service_note);
	print_advice(t, &a);
	kb_advice_free(&a);
	return 0;
}

/* "192.0.2.5: 3 findings, ports 53/udp, 123/udp, 161/udp" before the first of a host's
 * findings when it has several: one outage of a host is one story. */
static void print_group(struct tctx *t, const struct rep_model *m, size_t i)
{
	const struct rep_finding *f = &m->fnd[i];
	if (!f->group_head || f->group_size < 2)
		return;
	struct sbuf b;
	sb_init(&b);
	sb_printf(&b, "%s: %zu findings, ports", f->server_ip, f->group_size);
	for (size_t k = 0; k < f->group_size && i + k < m->n_fnd && k < 12; k++)
		sb_printf(&b, "%s %d/%s", k ? "," : "", m->fnd[i + k].server_port,
			  m->fnd[i + k].proto ? m->fnd[i + k].proto : "udp");
	if (f->group_size > 12)
		sb_printf(&b, " and %zu more", f->group_size - 12);
	fputc('\n', t->out);
	sgr(t, "1");
	wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
	sgr(t, "0");
	sb_free(&b);
}

/* "and 940 more service-down findings on 940 hosts, 3,100 errors in all" */
static void print_tail(struct tctx *t, const struct rep_model *m, size_t indent)
{
	struct rep_tail tail[32];
	size_t n = rep_tail(m, tail, sizeof(tail) / sizeof(tail[0]));
	for (size_t i = 0; i < n; i++) {
		char e[32];
		struct sbuf b;
		sb_init(&b);
		fmt_count(e, sizeof(e), tail[i].errors);
		char nf[32], h[32];
		fmt_count(nf, sizeof(nf), (int64_t)tail[i].n);
		fmt_count(h, sizeof(h), (int64_t)tail[i].hosts);
		sb_printf(&b, "and %s more %s %s", nf, tail[i].label,
			  pm_plural((int64_t)tail[i].n, "finding", "findings"));
		if (tail[i].service)
			sb_printf(&b, " (%s)", tail[i].service);
		sb_printf(&b, " on %s %s, %s %s in all", h,
			  pm_plural((int64_t)tail[i].hosts, "host", "hosts"), e,
			  pm_plural((int64_t)tail[i].errors, "error", "errors"));
		wrap_para(t->out, indent, sb_str(&b));
		sb_free(&b);
	}
	if (n)
		wrap_para(t->out, indent,
			  "(every finding, in this order and with these ids, is in"
			  " -f json and -f csv; -f html folds them)");
}

/* The index: one line per finding shown, in the report's order, with the ids of JSON/CSV. */
static void print_index(struct tctx *t, const struct rep_model *m)
{
	if (m->n_fnd < 2)
		return;
	fputs("\n", t->out);
	sgr(t, "1");
	fputs("id       errors  clients  diagnosis          target\n", t->out);
	sgr(t, "0");
	for (size_t i = 0; i < m->n_detail; i++) {
		const struct rep_finding *f = &m->fnd[i];
		char id[32], err[32], ep[200], line[300];
		const char *title = kb_label_title(f->diagnosis);
		snprintf(id, sizeof(id), "[%lld]", (long long)f->id);
		fmt_count(err, sizeof(err), f->errors);
		endpoint(f, ep, sizeof(ep));
		char cl[16];
		snprintf(cl, sizeof(cl), "%zu%s", f->clients.n,
			 f->clients.n >= REP_LIST_CAP ? "+" : "");
		int n = snprintf(line, sizeof(line), "%-7s%8s%9s  %-18s ", id, err, cl,
				 title ? title : f->diagnosis);
		const char *svc = f->service && *f->service ? f->service : "";
		size_t need = text_cols(line, (size_t)n) + text_cols(ep, strlen(ep)) +
			      (*svc ? 1 + strlen(svc) : 0);
		if (need <= TEXT_WIDTH)
			fprintf(t->out, "%s%s%s%s\n", line, ep, *svc ? " " : "", svc);
		else {
			while (n > 0 && line[n - 1] == ' ')
				n--;
			fprintf(t->out, "%.*s\n%*s%s%s%s\n", n, line, 9, "", ep, *svc ? " " : "",
				svc);
		}
	}
	print_tail(t, m, 0);
}

static void print_filter(struct tctx *t, const struct rep_model *m)
{
	if (!m->filter)
		return;
	struct sbuf b;
	sb_init(&b);
	sb_puts(&b, "Filter: ");
	rep_filter_describe(m->filter, &b);
	char a[32], z[32];
	fmt_count(a, sizeof(a), (int64_t)m->n_fnd);
	fmt_count(z, sizeof(z), (int64_t)m->n_fnd_all);
	sb_printf(&b, " → %s of %s %s", a, z,
		  pm_plural((int64_t)m->n_fnd_all, "finding", "findings"));
	wrap_write(t->out, sb_str(&b), 0, 2, TEXT_WIDTH, NULL);
	sb_free(&b);
}

int report_text(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	struct rep_model m;
	struct tctx t = {.out = out, .color = opt->color};
	int rc = rep_model_load(db, opt, &m, errbuf);
	if (rc == 0)
		rc = rep_details_load(db, &m, 0, m.n_detail, true, errbuf);
	if (rc == 0) {
		print_summary(&t, opt, &m);
		print_filter(&t, &m);
		if (m.n_fnd == 0 && m.filter)
			fprintf(out,
				"\nNo finding matches the filter (%zu %s in the database,"
				" none selected).\n",
				m.n_fnd_all,
				pm_plural((int64_t)m.n_fnd_all, "finding", "findings"));
		else if (m.n_fnd == 0)
			fputs(m.n_port_unreach
				  ? "\nNone of these port unreachables quotes a UDP datagram"
				    " with its ports (they quote TCP or other protocols, or"
				    " too little): nothing to diagnose.\n"
				  : "\nNo port unreachable messages: nothing to diagnose.\n",
			      out);
		print_index(&t, &m);
		for (size_t i = 0; i < m.n_detail && rc == 0; i++) {
			print_group(&t, &m, i);
			rc = print_finding(&t, i + 1, &m.fnd[i], errbuf);
		}
		if (m.n_detail < m.n_fnd) {
			fputs("\n", out);
			print_tail(&t, &m, 0);
		}
	}
	if (rc == 0 && t.rates_shown) {
		fputc('\n', out);
		wrap_para(out, 0, kb_rates_note());
	}
	rep_model_free(&m);
	return rc;
}
