/* csv.c - CSV reports (RFC 4180): one row per finding, or per event; formula-safe fields. */
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

static const char *const FINDING_COLS[] = {"id",
					   "diagnosis",
					   "secondary",
					   "confidence",
					   "severity",
					   "service",
					   "server_ip",
					   "server_port",
					   "proto",
					   "ports",
					   "source_ip",
					   "errors",
					   "requests",
					   "replies",
					   "clients",
					   "reporters",
					   "first_error",
					   "last_error",
					   "outage_start",
					   "outage_end",
					   "related",
					   "names",
					   "names_hex",
					   "evidence",
					   "cause",
					   "workarounds",
					   "dead_ends",
					   "rank",
					   "capture_points",
					   "frames",
					   "display_filter",
					   NULL};

static const char SQL_EVENTS[] =
    "SELECT pm_text(c.path) AS capture, e.frame, pm_iso(e.ts_ns, c.precision) AS time,"
    " pm_text(e.reporter) AS reporter, pm_text(e.reported_to) AS reported_to, e.ttl,"
    " pm_text(e.family) AS family, e.type, e.code, e.vlan,"
    " pm_proto(e.proto) AS proto, pm_text(e.src) AS src,"
    " e.sport, pm_text(e.dst) AS dst, e.dport, e.quote_ttl, e.quote_ip_len, e.udp_len,"
    " e.quote_len, e.rfc4884_len, pm_name(e.hint) AS hint, e.dns_id, e.dns_qtype,"
    " pm_name(e.dns_qname) AS dns_qname, lower(hex(e.dns_qname)) AS dns_qname_hex,"
    " pm_text(e.anomalies) AS anomalies, pm_text(e.role) AS role, e.orig_seen,"
    " e.orig_delay_ns, pm_text(c.sha256) AS capture_sha256,"
    " e.finding_id, pm_text(f.diagnosis) AS diagnosis,"
    " community_id(e.src, e.sport, e.dst, e.dport, e.proto) AS community_id"
    " FROM events e JOIN captures c ON c.id = e.capture_id"
    " LEFT JOIN findings f ON f.id = e.finding_id"
    " WHERE c.id IN temp.pm_sel_c"
    " AND e.ts_ns >= coalesce((SELECT min(b) FROM temp.pm_flt WHERE kind = 'since'), e.ts_ns)"
    " AND e.ts_ns <= coalesce((SELECT max(b) FROM temp.pm_flt WHERE kind = 'until'), e.ts_ns)"
    " AND (?1 = 0 OR e.finding_id IN temp.pm_sel_f)"
    " ORDER BY c.first_ns, c.path, e.capture_id, e.frame, e.id";

static void sep(FILE *out)
{
	fputc(',', out);
}

static void field_int(FILE *out, int64_t v)
{
	fprintf(out, "%lld", (long long)v);
}

static void field_time(FILE *out, int64_t ns, int precision)
{
	char buf[48];
	if (ns == REP_NO_TIME)
		return;
	pm_fmt_utc(ns, precision, true, buf, sizeof(buf));
	csv_field(out, buf);
}

static void field_list(FILE *out, const struct rep_strv *v, const char *joiner)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < v->n; i++)
		sb_printf(&b, "%s%s", i ? joiner : "", v->v[i]);
	csv_field(out, sb_str(&b));
	sb_free(&b);
}

static void field_names(FILE *out, const struct rep_finding *f, bool hex)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < f->n_names; i++) {
		const struct rep_name *n = &f->names[i];
		if (hex)
			sb_printf(&b, "%s%s", i ? " " : "", n->hex ? n->hex : "");
		else
			sb_printf(&b, "%s%s %s (%lld)", i ? "; " : "", n->shown ? n->shown : "",
				  n->type ? n->type : "", (long long)n->count);
	}
	csv_field(out, sb_str(&b));
	sb_free(&b);
}

static void field_advice(FILE *out, const struct kb_advice *a, bool donts)
{
	struct sbuf b;
	int k = 0;
	sb_init(&b);
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (it->is_dont != donts)
			continue;
		sb_printf(&b, "%s%d. %s", k ? " | " : "", k + 1, it->text);
		if (donts && it->why)
			sb_printf(&b, " %s", it->why);
		if (it->has_rate)
			sb_printf(&b, " (%s %.0f%%; source: %s)", donts ? "fails" : "fixes",
				  it->rate * 100, it->source ? it->source : "unknown");
		k++;
	}
	csv_field(out, sb_str(&b));
	sb_free(&b);
}

/* "a.pcap: 4 6 8; b.pcap: 1 2 …" */
static void field_frames(FILE *out, const struct rep_finding *f)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < f->n_frames; i++) {
		const struct rep_frames *r = &f->frames[i];
		sb_printf(&b, "%s%s:", i ? "; " : "", r->path);
		for (int k = 0; k < r->n; k++)
			sb_printf(&b, " %lld", (long long)r->frame[k]);
		if (r->more)
			sb_puts(&b, " …");
	}
	csv_field(out, sb_str(&b));
	sb_free(&b);
}

static void finding_row(FILE *out, const struct rep_finding *f, const struct kb_advice *a)
{
	field_int(out, f->id), sep(out);
	csv_field(out, f->diagnosis), sep(out);
	field_list(out, &f->secondary, " "), sep(out);
	csv_field(out, f->confidence), sep(out);
	field_int(out, f->severity), sep(out);
	csv_field(out, f->service), sep(out);
	csv_field(out, f->server_ip), sep(out);
	field_int(out, f->server_port), sep(out);
	csv_field(out, f->proto), sep(out);
	field_int(out, f->ports), sep(out);
	csv_field(out, f->source_ip), sep(out);
	field_int(out, f->errors), sep(out);
	field_int(out, f->requests), sep(out);
	field_int(out, f->replies), sep(out);
	field_list(out, &f->clients, " "), sep(out);
	field_list(out, &f->reporters, " "), sep(out);
	field_time(out, f->first_error_ns, f->precision), sep(out);
	field_time(out, f->last_error_ns, f->precision), sep(out);
	field_time(out, f->outage_start_ns, f->precision), sep(out);
	field_time(out, f->outage_end_ns, f->precision), sep(out);
	csv_field(out, f->related), sep(out);
	field_names(out, f, false), sep(out);
	field_names(out, f, true), sep(out);
	field_list(out, &f->evidence, " "), sep(out);
	csv_field(out, a->cause), sep(out);
	field_advice(out, a, false), sep(out);
	field_advice(out, a, true), sep(out);
	field_int(out, (int64_t)f->rank), sep(out);
	field_list(out, &f->capture_points, " "), sep(out);
	field_frames(out, f), sep(out);
	csv_field(out, f->display_filter);
	fputs("\r\n", out);
}

/* Findings in the report's one order (order.c), as every format lists them. */
static int findings_csv(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	struct rep_model m;
	int rc = rep_model_load(db, opt, &m, errbuf);
	if (rc == 0)
		rc = rep_details_load(db, &m, 0, m.n_fnd, true, errbuf);
	for (size_t i = 0; FINDING_COLS[i] && rc == 0; i++)
		fprintf(out, "%s%s", i ? "," : "", FINDING_COLS[i]);
	if (rc == 0)
		fputs("\r\n", out);
	for (size_t i = 0; i < m.n_fnd && rc == 0; i++) {
		struct kb_advice a;
		rc = rep_advise(&m.fnd[i], &a, errbuf);
		if (rc == 0) {
			finding_row(out, &m.fnd[i], &a);
			kb_advice_free(&a);
		}
	}
	rep_model_free(&m);
	return rc;
}

/* One row per event, with the finding that claimed it (events.finding_id) and its diagnosis. */
static int events_csv(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	if (rep_sql_register(db, errbuf) < 0)
		return -1;
	int rc = sqlite3_prepare_v2(db, SQL_EVENTS, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rep_sql_error(db, errbuf, "reading events");
	const struct report_filter *f = opt->filter;
	sqlite3_bind_int(st, 1,
			 rep_filter_has(f, RF_SERVER) || rep_filter_has(f, RF_LABEL) ||
			     rep_filter_has(f, RF_SERVICE));
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "," : "", sqlite3_column_name(st, i));
	fputs("\r\n", out);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			if (i)
				sep(out);
			csv_field(out, (const char *)sqlite3_column_text(st, i));
		}
		fputs("\r\n", out);
	}
	if (rc != SQLITE_DONE)
		rep_sql_error(db, errbuf, "reading events");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int report_csv(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	return opt->csv_events ? events_csv(db, opt, out, errbuf)
			       : findings_csv(db, opt, out, errbuf);
}
