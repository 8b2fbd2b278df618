/* html.c - the HTML report: one self-contained file, no script, strict CSP, every string escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

/* The CSS class of a label's badges and card: its class's, else the secondary class's. */
static const char *badge_css(const char *klass)
{
	const struct kb_class *c = kb_class_find(klass);
	return (c ? c : kb_class_find("secondary"))->css;
}

static void badge(FILE *out, const char *label)
{
	const char *title = kb_label_title(label);
	fprintf(out, "<span class=\"badge %s\">", badge_css(kb_label_class(label)));
	html_puts(out, title ? title : label);
	fputs("</span>", out);
}

static void endpoint(FILE *out, const struct rep_finding *f)
{
	bool v6 = strchr(f->server_ip, ':') != NULL;
	fputs("<code>", out);
	if (f->source_ip && *f->source_ip) { /* keyed on a source and a target */
		html_puts(out, f->source_ip ? f->source_ip : "?");
		fputs(" → ", out);
		html_puts(out, f->server_ip);
		fprintf(out, "</code> %d %s from %d", f->ports,
			pm_plural(f->ports, "port", "ports"), f->server_port);
		return;
	}
	fputs(v6 ? "[" : "", out);
	html_puts(out, f->server_ip);
	fprintf(out, "%s:%d/", v6 ? "]" : "", f->server_port);
	html_puts(out, f->proto ? f->proto : "udp");
	fputs("</code>", out);
}

static void time_cell(FILE *out, int64_t ns, int prec)
{
	char buf[48];
	pm_fmt_utc(ns, prec, false, buf, sizeof(buf));
	fputs(ns == REP_NO_TIME ? "—" : buf, out);
}

/* The time of day alone when it falls on the day the captures start (the header says which). */
static void time_short(FILE *out, int64_t ns, int64_t day_of)
{
	char a[48], b[48];
	pm_fmt_utc(ns, 0, false, a, sizeof(a));
	pm_fmt_utc(day_of, 0, false, b, sizeof(b));
	fputs(ns == REP_NO_TIME ? "—" : strncmp(a, b, 10) == 0 ? a + 11 : a, out);
}

static void head(FILE *out, const struct report_options *opt, const struct rep_model *m)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP "\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"referrer\" content=\"no-referrer\">\n"
	      "<meta name=\"color-scheme\" content=\"light dark\">\n",
	      out);
	fprintf(out, "<title>portmortem report: %zu %s</title>\n<style>\n", m->n_fnd,
		pm_plural((int64_t)m->n_fnd, "finding", "findings"));
	fputs(html_css, out);
	fputs("</style>\n</head>\n<body>\n<header class=\"top\"><div class=\"wrap\">\n"
	      "<h1>portmortem <span>report</span></h1>\n<p>",
	      out);
	fputs("ICMP port unreachable diagnosis", out);
	if (opt->version && *opt->version) {
		fputs(" · portmortem ", out);
		html_puts(out, opt->version);
	}
	fprintf(out, " · %zu %s", m->n_caps, pm_plural((int64_t)m->n_caps, "capture", "captures"));
	if (m->first_ns != REP_NO_TIME) {
		fputs(" · ", out);
		time_cell(out, m->first_ns, 0);
		fputs(" UTC", out);
	}
	fputs("</p>\n<nav class=\"toc\"><a href=\"#summary\">Summary</a><a href=\"#findings\">"
	      "Findings</a><a href=\"#captures\">Captures</a></nav>\n</div></header>\n<main>\n",
	      out);
}

/* One tile of the summary strip: a value over its caption. */
static void stat_tile(FILE *out, const char *key, const char *val)
{
	fputs("<div class=\"stat\"><div class=\"v\">", out);
	html_puts(out, val);
	fputs("</div><div class=\"k\">", out);
	html_puts(out, key);
	fputs("</div></div>\n", out);
}

static void stats(FILE *out, const struct rep_model *m)
{
	char buf[64];
	fputs("<div class=\"stats\">\n", out);
	snprintf(buf, sizeof(buf), "%zu", m->n_caps);
	stat_tile(out, "captures", buf);
	fmt_count(buf, sizeof(buf), m->packets);
	stat_tile(out, "packets", buf);
	if (m->first_ns != REP_NO_TIME && m->last_ns != REP_NO_TIME)
		pm_fmt_duration(m->last_ns - m->first_ns, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "—");
	stat_tile(out, "time span", buf);
	fmt_count(buf, sizeof(buf), m->n_port_unreach);
	stat_tile(out, "port unreachables", buf);
	fmt_count(buf, sizeof(buf), (int64_t)m->n_fnd);
	stat_tile(out, "findings", buf);
	fputs("</div>\n", out);
}

/* One badge per label, linked to its first finding in the report's order. */
static void chips(FILE *out, const struct rep_model *m)
{
	fputs("<p class=\"chips\">", out);
	for (const char *const *l = kb_labels; *l; l++) {
		size_t n = rep_count_label(m, *l), first = 0;
		if (n == 0)
			continue;
		while (strcmp(m->fnd[first].diagnosis, *l) != 0)
			first++;
		fprintf(out, "<a class=\"badge %s\" href=\"#finding-%lld\">%zu ",
			badge_css(kb_label_class(*l)), (long long)m->fnd[first].id, n);
		html_puts(out, kb_label_title(*l));
		fputs("</a>", out);
	}
	fputs("</p>\n", out);
}

static void filter_line(FILE *out, const struct rep_model *m)
{
	if (!m->filter)
		return;
	struct sbuf b;
	sb_init(&b);
	rep_filter_describe(m->filter, &b);
	fputs("<p class=\"filter\">Filter <code>", out);
	html_puts(out, sb_str(&b));
	fprintf(out, "</code>: %zu of %zu %s.", m->n_fnd, m->n_fnd_all,
		pm_plural((int64_t)m->n_fnd_all, "finding", "findings"));
	if (m->n_fnd == 0)
		fputs(" <strong>No finding matches the filter.</strong>", out);
	fputs("</p>\n", out);
	sb_free(&b);
}

static void legend(FILE *out, bool finding, bool hops, bool outage)
{
	fputs("<p class=\"legend\">", out);
	if (finding) {
		fputs(
		    "<i class=\"l-req\"></i>requests <i class=\"l-rep\"></i>replies (≈: each "
		    "flow's datagrams spread over its first–last time) <i class=\"l-err\"></i>port "
		    "unreachable",
		    out);
		if (hops)
			fputs(" <i class=\"l-hop\"></i>time exceeded", out);
		fputs(outage ? " <i class=\"l-outw\"></i>outage</p>\n" : "</p>\n", out);
	} else {
		fputs("<i class=\"l-cap\"></i>capture, first to last packet <i class=\"l-err\"></i>"
		      "port unreachables; each finding's lane links to it</p>\n",
		      out);
	}
}

static int summary(FILE *out, sqlite3 *db, const struct rep_model *m, char *errbuf)
{
	fputs("<section class=\"card\" id=\"summary\">\n<h2>Summary</h2>\n", out);
	filter_line(out, m);
	stats(out, m);
	chips(out, m);
	for (size_t i = 0; i < m->n_caps; i++)
		if (!m->caps[i].complete || m->caps[i].read_error) {
			fputs("<p class=\"err-text\">Some captures could not be read in full: see "
			      "<a href=\"#captures\">Captures</a>.</p>\n",
			      out);
			break;
		}
	fputs("<h3>Timeline</h3>\n<div class=\"tlwrap\">", out);
	if (timeline_overview(out, db, m, errbuf) < 0)
		return -1;
	fputs("</div>\n", out);
	legend(out, false, false, false);
	fputs("</section>\n", out);
	return 0;
}

static void finding_row(FILE *out, const struct rep_model *m, const struct rep_finding *f)
{
	fprintf(out,
		"<tr><td data-l=\"id\"><a href=\"#finding-%lld\">%lld</a></td>"
		"<td data-l=\"diagnosis\">",
		(long long)f->id, (long long)f->id);
	badge(out, f->diagnosis);
	fputs("</td><td data-l=\"service\">", out);
	html_puts(out, f->service ? f->service : "—");
	fprintf(out, "</td><td data-l=\"server\"><a href=\"#finding-%lld\">", (long long)f->id);
	endpoint(out, f);
	fprintf(out,
		"</a></td><td class=\"n\" data-l=\"errors\">%lld</td><td class=\"n\" "
		"data-l=\"requests\">%lld</td><td class=\"n\" data-l=\"replies\">%lld</td>"
		"<td class=\"n\" data-l=\"clients\">%zu%s</td><td data-l=\"confidence\">",
		(long long)f->errors, (long long)f->requests, (long long)f->replies, f->clients.n,
		f->clients.n >= REP_LIST_CAP ? "+" : "");
	html_puts(out, f->confidence);
	fputs("</td><td data-l=\"first error\">", out);
	time_short(out, f->first_error_ns, m->first_ns);
	fputs("</td></tr>\n", out);
}

static void table_head(FILE *out)
{
	fputs("<table class=\"cards\">\n<thead><tr><th>id</th><th>Diagnosis</th><th>Service"
	      "</th><th>Server</th><th class=\"n\">Errors</th><th class=\"n\">Requests</th>"
	      "<th class=\"n\">Replies</th><th class=\"n\">Clients</th><th>Confidence</th>"
	      "<th>First error</th></tr></thead>\n<tbody>\n",
	      out);
}

/* "and 940 more service-down findings on 940 hosts, 3,100 errors in all" */
static void tail_lines(FILE *out, const struct rep_model *m)
{
	struct rep_tail tail[32];
	size_t n = rep_tail(m, tail, sizeof(tail) / sizeof(tail[0]));
	if (n == 0)
		return;
	fputs("<ul class=\"tail\">\n", out);
	for (size_t i = 0; i < n; i++) {
		char e[32];
		fmt_count(e, sizeof(e), tail[i].errors);
		char nf[32], hs[32];
		fmt_count(nf, sizeof(nf), (int64_t)tail[i].n);
		fmt_count(hs, sizeof(hs), (int64_t)tail[i].hosts);
		fprintf(out, "<li>and %s more ", nf);
		badge(out, tail[i].label);
		fprintf(out, " %s", pm_plural((int64_t)tail[i].n, "finding", "findings"));
		if (tail[i].service) {
			fputs(" (", out);
			html_puts(out, tail[i].service);
			fputs(")", out);
		}
		fprintf(out, " on %s %s, %s %s in all</li>\n", hs,
			pm_plural((int64_t)tail[i].hosts, "host", "hosts"), e,
			pm_plural((int64_t)tail[i].errors, "error", "errors"));
	}
	fputs("</ul>\n", out);
}

/* The findings shown in full, then the rest folded: one order, one id, as in JSON and CSV. */
static void findings_table(FILE *out, const struct rep_model *m)
{
	fputs("<section class=\"card\" id=\"findings\">\n<h2>Findings</h2>\n", out);
	if (m->n_fnd == 0) {
		fputs(m->filter
			  ? "<p><strong>No finding matches the filter.</strong></p>\n</section>\n"
		      : m->n_port_unreach
			  ? "<p>None of these port unreachables quotes a UDP datagram with"
			    " its ports (they quote TCP or other protocols, or too little):"
			    " nothing to diagnose.</p>\n</section>\n"
			  : "<p>No port unreachable messages: nothing to diagnose.</p>\n"
			    "</section>\n",
		      out);
		return;
	}
	fputs("<p class=\"muted\">Most severe first (severity weighed by the clients and requests"
	      " affected), a host's findings together; ids as in the JSON and CSV reports.</p>\n",
	      out);
	table_head(out);
	for (size_t i = 0; i < m->n_detail; i++)
		finding_row(out, m, &m->fnd[i]);
	fputs("</tbody></table>\n", out);
	if (m->n_detail < m->n_fnd) {
		tail_lines(out, m);
		fprintf(out, "<details><summary>All %zu other findings</summary>\n",
			m->n_fnd - m->n_detail);
		table_head(out);
		for (size_t i = m->n_detail; i < m->n_fnd; i++)
			finding_row(out, m, &m->fnd[i]);
		fputs("</tbody></table>\n</details>\n", out);
	}
	fputs("</section>\n", out);
}

static void fact(FILE *out, const char *key, const char *val)
{
	fputs("<div><dt>", out);
	html_puts(out, key);
	fputs("</dt><dd>", out);
	html_puts(out, val);
	fputs("</dd></div>", out);
}

static void fact_list(FILE *out, const char *key, const struct rep_strv *v)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < v->n && i < 12; i++)
		sb_printf(&b, "%s%s", i ? ", " : "", v->v[i]);
	if (v->n > 12)
		sb_printf(&b, " and %zu more", v->n - 12);
	if (v->n)
		fact(out, key, sb_str(&b));
	sb_free(&b);
}

static void facts(FILE *out, const struct rep_finding *f)
{
	char buf[160], a[48], b[48];
	fputs("<dl class=\"facts\">", out);
	snprintf(buf, sizeof(buf), "%lld %s · %lld %s · %lld %s", (long long)f->errors,
		 pm_plural(f->errors, "error", "errors"), (long long)f->requests,
		 pm_plural(f->requests, "request", "requests"), (long long)f->replies,
		 pm_plural(f->replies, "reply", "replies"));
	fact(out, "Traffic", buf);
	if (f->first_error_ns != REP_NO_TIME) {
		pm_fmt_utc(f->first_error_ns, 3, false, a, sizeof(a));
		pm_fmt_utc(f->last_error_ns, 3, false, b, sizeof(b));
		snprintf(buf, sizeof(buf), "%s → %s", a,
			 f->last_error_ns != REP_NO_TIME ? b + 11 : "?");
		fact(out, "Errors (UTC)", buf);
	}
	if (f->outage_start_ns != REP_NO_TIME && f->outage_end_ns != REP_NO_TIME) {
		pm_fmt_utc(f->outage_start_ns, 3, false, a, sizeof(a));
		pm_fmt_duration(f->outage_end_ns - f->outage_start_ns, b, sizeof(b));
		snprintf(buf, sizeof(buf), "%s from %s", b, a);
		fact(out, "Outage (UTC)", buf);
	}
	fact_list(out, "Clients", &f->clients);
	fact_list(out, "Reported by", &f->reporters);
	if (f->related && *f->related)
		fact(out, "Answers at", f->related);
	fputs("</dl>\n", out);
}

/* Capture points, first frames per capture, and the display filter that selects them. */
static void packets(FILE *out, const struct rep_finding *f)
{
	if (!f->n_frames && !f->display_filter)
		return;
	fputs("<h3>Packets</h3>\n<dl class=\"facts\">", out);
	if (f->capture_points.n > 1)
		fact_list(out, "Capture points", &f->capture_points);
	for (size_t i = 0; i < f->n_frames; i++) {
		const struct rep_frames *r = &f->frames[i];
		struct sbuf b;
		sb_init(&b);
		sb_puts(&b, pm_plural(r->n, "frame", "frames"));
		for (int k = 0; k < r->n; k++)
			sb_printf(&b, "%s %lld", k ? "," : "", (long long)r->frame[k]);
		if (r->more)
			sb_puts(&b, ", …");
		fact(out, r->path, sb_str(&b));
		sb_free(&b);
	}
	if (f->frames_more_caps)
		fact(out, "More", "and in more captures than listed here");
	fputs("</dl>\n", out);
	if (f->display_filter) {
		fputs("<p class=\"muted\">Wireshark / <code>tshark -Y</code> display "
		      "filter:</p><pre><code>",
		      out);
		html_puts(out, f->display_filter);
		fputs("</code></pre>\n", out);
	}
}

static void names_table(FILE *out, const struct rep_finding *f)
{
	if (f->n_names == 0)
		return;
	fputs("<h3>Failing query names</h3>\n<div class=\"scroll\"><table "
	      "class=\"cards\"><thead><tr><th>Name</th>"
	      "<th>Type</th><th class=\"n\">Count</th><th>Raw bytes (hex)</th>"
	      "</tr></thead><tbody>\n",
	      out);
	for (size_t i = 0; i < f->n_names && i < 50; i++) {
		const struct rep_name *n = &f->names[i];
		fputs("<tr><td data-l=\"name\"><code>", out);
		html_puts(out, n->shown);
		fputs("</code></td><td data-l=\"type\">", out);
		html_puts(out, n->type);
		fprintf(out,
			"</td><td class=\"n\" data-l=\"count\">%lld</td><td data-l=\"hex\"><code>",
			(long long)n->count);
		html_puts(out, n->hex);
		fputs("</code></td></tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
	if (f->n_names > 50)
		fprintf(out, "<p class=\"muted\">and %zu more names</p>\n", f->n_names - 50);
}

static void commands(FILE *out, const struct kb_adv_item *it)
{
	if (it->n_cmd == 0)
		return;
	fputs("<div class=\"cmds\">", out);
	for (int c = 0; c < it->n_cmd; c++) {
		bool first = c == 0 || it->os[c] != it->os[c - 1];
		bool last = c + 1 == it->n_cmd || it->os[c + 1] != it->os[c];
		if (first)
			fprintf(out, "<div class=\"os\">%s</div><pre><code>",
				kb_os_title(it->os[c]));
		html_puts(out, it->cmd[c]);
		fputs(last ? "</code></pre>" : "\n", out);
	}
	fputs("</div>\n", out);
}

static void rate(FILE *out, const struct kb_adv_item *it)
{
	if (it->has_rate) {
		fprintf(out, " <span class=\"rate %s\" title=\"", it->is_dont ? "bad" : "ok");
		html_puts(out, it->source);
		fprintf(out, "\">%s %.0f%%</span>", it->is_dont ? "fails" : "fixes",
			it->rate * 100);
	} else {
		fputs(" <span class=\"rate none\">unmeasured</span>", out);
	}
}

/* The versions the commands are written for (the seed's list, from kb.txt). */
static void versions(FILE *out, const struct kb_advice *a)
{
	const struct kb_db *db = kb_get(NULL, 0);
	const struct kb_section *d = db ? kb_find(db, KB_DEFAULTS, NULL) : NULL;
	bool any = false;
	for (int i = 0; i < a->n_item; i++)
		any |= a->item[i].n_cmd > 0;
	if (!d || !any)
		return;
	fputs("<p class=\"src\">Commands written for ", out);
	html_puts(out, kb_field(d, "linux-versions"));
	fputs(", ", out);
	html_puts(out, kb_field(d, "windows-versions"));
	fputs(" and ", out);
	html_puts(out, kb_field(d, "freebsd-versions"));
	if (a->versions) {
		fputs("; ", out);
		html_puts(out, a->versions);
	}
	fputs(".</p>\n", out);
}

static void advice(FILE *out, const struct kb_advice *a)
{
	fputs("<h3>What to do</h3>\n<ol class=\"do\">\n", out);
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (it->is_dont)
			continue;
		fputs("<li><p>", out);
		html_puts(out, it->text);
		rate(out, it);
		fputs("</p>", out);
		commands(out, it);
		fputs("</li>\n", out);
	}
	fputs("</ol>\n", out);
	versions(out, a);
	fputs("<h3>What not to do</h3>\n<ul class=\"dont\">\n", out);
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (!it->is_dont)
			continue;
		fputs("<li><p><strong>", out);
		html_puts(out, it->text);
		fputs("</strong>", out);
		rate(out, it);
		fputs("</p><p class=\"why\">", out);
		html_puts(out, it->why);
		fputs("</p></li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void diagnosis(FILE *out, const struct rep_finding *f, const struct kb_advice *a)
{
	fputs("<h3>Diagnosis</h3>\n", out);
	if (a->cause) {
		fputs("<p class=\"cause\">", out);
		html_puts(out, a->cause);
		fputs("</p>\n", out);
	}
	const struct kb_db *db = kb_get(NULL, 0);
	for (size_t i = 0; db && i < f->secondary.n; i++) {
		const struct kb_section *l = kb_find(db, KB_LABEL, f->secondary.v[i]);
		fputs("<p>Also ", out);
		badge(out, f->secondary.v[i]);
		fputs(" ", out);
		html_puts(out, l ? kb_field(l, "summary") : "");
		fputs("</p>\n", out);
	}
	if (a->service_note) {
		fputs("<p class=\"note\">", out);
		html_puts(out, a->service_note);
		fputs("</p>\n", out);
	}
	if (a->has_fix) {
		fprintf(out, "<p class=\"src\">Overall fix rate %.0f%%, from ", a->fix_rate * 100);
		html_puts(out, a->fix_source);
		fputs(" (an estimate: see the note at the end).</p>\n", out);
	}
}

/* A host with several findings: one story, its ports listed before the first of them. */
static void host_head(FILE *out, const struct rep_model *m, size_t i)
{
	const struct rep_finding *f = &m->fnd[i];
	if (!f->group_head || f->group_size < 2)
		return;
	fputs("<h2 class=\"host\"><code>", out);
	html_puts(out, f->server_ip);
	fprintf(out, "</code> %zu findings:", f->group_size);
	for (size_t k = 0; k < f->group_size && i + k < m->n_fnd; k++)
		fprintf(out, " <a href=\"#finding-%lld\">%d</a>", (long long)m->fnd[i + k].id,
			m->fnd[i + k].server_port);
	fputs("</h2>\n", out);
}

static int finding(FILE *out, sqlite3 *db, const struct rep_finding *f, bool full, char *errbuf)
{
	struct kb_advice a;
	if (rep_advise(f, &a, errbuf) < 0)
		return -1;
	fprintf(out,
		"<section class=\"card finding %s\" id=\"finding-%lld\">\n<h2>"
		"<span class=\"num\">%lld</span>",
		badge_css(a.klass), (long long)f->id, (long long)f->id);
	badge(out, f->diagnosis);
	fputs(" <span>", out);
	html_puts(out, f->service ? f->service : a.service_id);
	fputs("</span> ", out);
	endpoint(out, f);
	fputs("<span class=\"conf\">confidence ", out);
	html_puts(out, f->confidence);
	fputs("</span></h2>\n<p class=\"summary\">", out);
	html_puts(out, a.summary);
	fputs("</p>\n", out);
	facts(out, f);
	if (f->evidence.n) {
		fputs("<h3>Evidence</h3>\n<ul class=\"ev\">\n", out);
		for (size_t i = 0; i < f->evidence.n; i++) {
			fputs("<li>", out);
			html_puts(out, f->evidence.v[i]);
			fputs("</li>\n", out);
		}
		fputs("</ul>\n", out);
	}
	packets(out, f);
	int rc = 0;
	if (full) {
		bool hops = false;
		fputs("<h3>Timeline</h3>\n<div class=\"tlwrap\">", out);
		rc = timeline_finding(out, db, f, &hops, errbuf);
		fputs("</div>\n", out);
		legend(out, true, hops,
		       f->outage_start_ns != REP_NO_TIME && f->outage_end_ns != REP_NO_TIME);
		names_table(out, f);
		diagnosis(out, f, &a);
		advice(out, &a);
	} else {
		fputs("<p class=\"muted\">Diagnosis and advice as for every ", out);
		badge(out, f->diagnosis);
		fputs(" finding: <code>portmortem explain ", out);
		html_puts(out, f->diagnosis);
		fputs("</code>, and in full above where one is shown.</p>\n", out);
	}
	fputs("</section>\n", out);
	kb_advice_free(&a);
	return rc;
}

static void anomalies(FILE *out, const struct rep_capture *c)
{
	for (size_t k = 0; k < c->n_anomalies; k++) {
		fputs(k ? ", " : "", out);
		fputs("<code>", out);
		html_puts(out, c->anomalies[k].name);
		fprintf(out, "</code> ×%lld", (long long)c->anomalies[k].count);
	}
	if (c->n_anomalies == 0)
		fputs("—", out);
}

/* The directory of a path ("." for none) and its length. */
static size_t dir_len(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	return slash ? (size_t)(slash - path) : 0;
}

/* The rotated set a file belongs to: its name with each run of digits as "#" and without a
 * compression suffix ("rot_00003.pcap.gz" -> "rot_#.pcap"). */
static void set_name(const char *path, char *buf, size_t len)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path ? path : "?";
	size_t n = 0;
	for (const char *c = base; *c && n + 1 < len; c++) {
		if (*c >= '0' && *c <= '9') {
			while (c[1] >= '0' && c[1] <= '9')
				c++;
			buf[n++] = '#';
		} else {
			buf[n++] = *c;
		}
	}
	buf[n] = '\0';
	size_t l = strlen(buf);
	if (l > 3 && strcmp(buf + l - 3, ".gz") == 0)
		buf[l - 3] = '\0';
	else if (l > 4 && strcmp(buf + l - 4, ".zst") == 0)
		buf[l - 4] = '\0';
}

static bool same_dir(const struct rep_capture *a, const struct rep_capture *b)
{
	size_t la = dir_len(a->path), lb = dir_len(b->path);
	return la == lb && (la == 0 || strncmp(a->path, b->path, la) == 0);
}

static void capture_row(FILE *out, const struct rep_capture *c)
{
	const char *base = c->path ? strrchr(c->path, '/') : NULL;
	fputs("<tr><td class=\"path\" data-l=\"file\"><code>", out);
	html_puts(out, base ? base + 1 : c->path);
	fputs("</code>", out);
	if (c->sha256) { /* --sha256: the file's digest, for the evidence log */
		fputs("<br><span class=\"muted\">SHA-256 <code>", out);
		html_puts(out, c->sha256);
		fputs("</code></span>", out);
	}
	fputs("</td><td data-l=\"format\">", out);
	html_puts(out, c->format);
	fputs(" · ", out);
	html_puts(out, c->link_type_name ? c->link_type_name : "?");
	fprintf(out,
		"</td><td class=\"n\" data-l=\"packets\">%lld</td><td class=\"n\" "
		"data-l=\"port unreach.\">%lld</td><td data-l=\"first → last (UTC)\">",
		(long long)c->packets, (long long)c->port_unreachables);
	time_cell(out, c->first_ns, 0);
	fputs(" → ", out);
	time_short(out, c->last_ns, c->first_ns);
	fputs("</td><td data-l=\"status\">", out);
	if (c->complete && !c->read_error) {
		fputs("complete", out);
	} else {
		fputs("<span class=\"err-text\">incomplete: ", out);
		html_puts(out, c->read_error ? c->read_error : "cut short");
		fputs("</span>", out);
	}
	fputs(c->stats_capped ? " <span class=\"muted\">(endpoint table full: counts partial)"
				"</span>"
			      : "",
	      out);
	fputs("</td><td data-l=\"anomalies\">", out);
	anomalies(out, c);
	fputs("</td></tr>\n", out);
}

static void capture_table_head(FILE *out)
{
	fputs("<div class=\"scroll\"><table class=\"cards\">\n<thead><tr><th>File</th>"
	      "<th>Format</th><th class=\"n\">Packets</th><th class=\"n\">"
	      "Port unreach.</th><th>First → last (UTC)</th><th>Status</th><th>Anomalies</th>"
	      "</tr></thead>\n<tbody>\n",
	      out);
}

static void capture_dir_summary(FILE *out, const struct rep_capture *c, size_t n, size_t total)
{
	int64_t packets = 0, pu = 0;
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		packets += c[i].packets, pu += c[i].port_unreachables;
		bad += !c[i].complete || c[i].read_error;
	}
	char pk[32], pus[32];
	fmt_count(pk, sizeof(pk), packets);
	fmt_count(pus, sizeof(pus), pu);
	fprintf(out, "<details%s><summary><code>", total <= 12 || bad ? " open" : "");
	size_t dl = dir_len(c[0].path);
	if (dl) {
		char *d = strndup(c[0].path, dl);
		html_puts(out, d ? d : "?");
		free(d);
		fputs("/", out);
	} else {
		fputs("./", out);
	}
	fprintf(out, "</code> %zu %s, %s packets, %s port unreachables", n,
		pm_plural((int64_t)n, "file", "files"), pk, pus);
	if (bad)
		fprintf(out, ", <span class=\"err-text\">%zu incomplete</span>", bad);
	fputs("</summary>\n", out);
}

/* One directory (c[0..n-1]): its captures by rotated set, folded unless the list is short. */
static void capture_dir(FILE *out, const struct rep_capture *c, size_t n, size_t total)
{
	char(*names)[128] = calloc(n, sizeof(*names));
	bool *shown = calloc(n, sizeof(bool));
	capture_dir_summary(out, c, n, total);
	for (size_t i = 0; names && shown && i < n; i++)
		set_name(c[i].path, names[i], sizeof(names[i]));
	for (size_t i = 0; names && shown && i < n; i++) {
		if (shown[i])
			continue;
		size_t members = 0;
		for (size_t j = i; j < n; j++)
			members += strcmp(names[i], names[j]) == 0;
		if (members > 1) { /* a rotated set: its members together, in time order */
			fputs("<h3>", out);
			html_puts(out, names[i]);
			fprintf(out, " — %zu files</h3>\n", members);
		}
		capture_table_head(out);
		for (size_t j = i; j < n; j++)
			if (!shown[j] && strcmp(names[i], names[j]) == 0) {
				capture_row(out, &c[j]);
				shown[j] = true;
			}
		fputs("</tbody></table></div>\n", out);
	}
	fputs("</details>\n", out);
	free(names);
	free(shown);
}

/* Captures by directory (in the order each first starts), then by rotated set. */
static void captures(FILE *out, const struct rep_model *m)
{
	fputs("<section class=\"card\" id=\"captures\">\n<h2>Captures</h2>\n", out);
	if (m->n_caps == 0)
		fputs("<p>No captures in the database.</p>\n", out);
	bool *done = m->n_caps ? calloc(m->n_caps, sizeof(bool)) : NULL;
	struct rep_capture *by_dir = m->n_caps ? calloc(m->n_caps, sizeof(*by_dir)) : NULL;
	size_t k = 0;
	for (size_t i = 0; done && by_dir && i < m->n_caps; i++)
		for (size_t j = i, first = !done[i]; first && j < m->n_caps; j++)
			if (!done[j] && same_dir(&m->caps[i], &m->caps[j])) {
				by_dir[k++] = m->caps[j]; /* shallow: m still owns the strings */
				done[j] = true;
			}
	const struct rep_capture *c = k == m->n_caps ? by_dir : m->caps;
	for (size_t a = 0, b; a < m->n_caps; a = b) {
		for (b = a + 1; b < m->n_caps && same_dir(&c[a], &c[b]); b++)
			;
		capture_dir(out, c + a, b - a, m->n_caps);
	}
	free(done);
	free(by_dir);
	fputs("</section>\n", out);
}

static void footer(FILE *out, const struct report_options *opt)
{
	fputs("<footer>Generated by portmortem", out);
	if (opt->version && *opt->version) {
		fputs(" ", out);
		html_puts(out, opt->version);
	}
	fputs(" from its database; all times are UTC. ", out);
	html_puts(out, kb_rates_note());
	fputs(" Names from packets are shown with unprintable bytes as \\xNN.</footer>\n</main>\n"
	      "</body>\n</html>\n",
	      out);
}

int report_html(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	struct rep_model m;
	int rc = rep_model_load(db, opt, &m, errbuf);
	if (rc == 0) /* the folded tail shows its evidence too, not its names */
		rc = rep_details_load(db, &m, 0, m.n_detail, true, errbuf) |
		     rep_details_load(db, &m, m.n_detail, m.n_fnd, false, errbuf);
	if (rc == 0) {
		head(out, opt, &m);
		rc = summary(out, db, &m, errbuf);
	}
	if (rc == 0) {
		findings_table(out, &m);
		for (size_t i = 0; i < m.n_detail && rc == 0; i++) {
			host_head(out, &m, i);
			rc = finding(out, db, &m.fnd[i], true, errbuf);
		}
	}
	if (rc == 0 && m.n_detail < m.n_fnd) {
		/* the long tail, folded: each finding its section (its id, its packets), no
		 * timeline */
		fprintf(out, "<section class=\"card\" id=\"more\">\n<h2>%zu more findings</h2>\n",
			m.n_fnd - m.n_detail);
		tail_lines(out, &m);
		fputs("<details><summary>Show them</summary>\n", out);
		for (size_t i = m.n_detail; i < m.n_fnd && rc == 0; i++)
			rc = finding(out, db, &m.fnd[i], false, errbuf);
		fputs("</details>\n</section>\n", out);
	}
	if (rc == 0) {
		captures(out, &m);
		footer(out, opt);
	}
	rep_model_free(&m);
	return rc;
}
