/* model.c - loads what a report shows (captures, findings, totals) from the database, escaped. */
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissect.h"
#include "reports/report_int.h"

static const char SQL_FINDINGS[] =
    "SELECT id, pm_text(diagnosis), secondary, pm_text(confidence), severity,"
    " pm_text(server_ip), server_port, pm_text(proto), pm_text(service), ports,"
    " pm_text(source_ip), errors, requests, replies, clients, reporters, first_error_ns,"
    " last_error_ns, outage_start_ns, outage_end_ns, precision, evidence, names,"
    " pm_text(related), capture_points FROM findings WHERE id IN temp.pm_sel_f ORDER BY id";

static const char SQL_STRINGS[] =
    "SELECT pm_text(value) FROM json_each(CASE WHEN ?1 IS NULL THEN '[]'"
    " WHEN json_valid(?1) THEN ?1 ELSE json_array(?1) END) ORDER BY key";

static const char SQL_NAMES[] =
    "SELECT pm_hexname(json_extract(value, '$.hex'), json_extract(value, '$.name')),"
    " pm_hexnorm(json_extract(value, '$.hex'), json_extract(value, '$.name')),"
    " CASE WHEN json_type(value, '$.type') = 'integer' THEN json_extract(value, '$.type')"
    " ELSE pm_text(json_extract(value, '$.type')) END, json_extract(value, '$.count')"
    " FROM json_each(CASE WHEN json_valid(?1) THEN ?1 ELSE '[]' END)"
    " WHERE json_type(value) = 'object' ORDER BY json_extract(value, '$.count') DESC, key";

static const char SQL_CAPTURES[] =
    "SELECT id, pm_text(path), size, pm_text(format), link_type, pm_text(link_type_name),"
    " precision, packets, bytes, udp_packets, icmp_errors, port_unreachables, first_ns,"
    " last_ns, complete, pm_text(read_error), stats_capped, pm_text(filter),"
    " pm_text(content_hash), pm_text(sha256) FROM captures WHERE id IN temp.pm_sel_c"
    " ORDER BY first_ns, path, id"; /* ids: completion order */

static const char SQL_ANOMALIES[] =
    "SELECT pm_text(name), count FROM capture_anomalies WHERE capture_id = ?1"
    " ORDER BY count DESC, name";

/* Port unreachables of the captures covered: the captures' own counts (no scan of the events)
 * unless a filter narrows them to a time window or to the events of some findings. */
static const char SQL_TOTALS[] =
    "SELECT coalesce(sum(port_unreachables), 0) FROM captures WHERE id IN temp.pm_sel_c";
static const char SQL_TOTALS_FILTERED[] =
    "SELECT count(*) FROM event_kinds WHERE port_unreachable AND capture_id IN temp.pm_sel_c"
    " AND ts_ns >= coalesce((SELECT min(b) FROM temp.pm_flt WHERE kind = 'since'), ts_ns)"
    " AND ts_ns <= coalesce((SELECT max(b) FROM temp.pm_flt WHERE kind = 'until'), ts_ns)"
    " AND (?1 = 0 OR finding_id IN temp.pm_sel_f)";
static const char SQL_ALL_FINDINGS[] = "SELECT count(*) FROM findings";

static void free_strv_n(struct rep_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

struct loader {
	sqlite3 *db;
	sqlite3_stmt *strings, *names;
	char *errbuf;
};

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? strdup(s) : NULL;
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? REP_NO_TIME
							 : sqlite3_column_int64(st, i);
}

/* Grows an array of `size`-byte elements to hold n + 1; false when out of memory. */
static bool grow(void **v, size_t n, size_t size)
{
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return true; /* capacity: 4, then doubled each time n reaches a power of two */
	size_t cap = n ? n * 2 : 4;
	void *p = realloc(*v, cap * size);
	if (!p)
		return false;
	*v = p;
	return true;
}

static bool push_str(struct rep_strv *out, const char *s, size_t n)
{
	if (!grow((void **)&out->v, out->n, sizeof(char *)))
		return false;
	char *c = strndup(s, n);
	if (!c)
		return false;
	out->v[out->n++] = c;
	return true;
}

/*
 * The common case without SQL: a JSON array of strings of printable ASCII without a
 * backslash (addresses, paths), which escaping leaves as they are. Returns 1 when it was
 * that and *out is filled, 0 (out untouched) for anything else, -1 out of memory.
 */
static int plain_strings(const char *json, struct rep_strv *out)
{
	const char *p = json;
	struct rep_strv v = {0};
	for (const char *c = json; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == '\\')
			return 0;
	while (*p == ' ')
		p++;
	if (*p++ != '[')
		return 0;
	while (*p == ' ')
		p++;
	bool more = *p != ']';
	while (more) {
		const char *end;
		if (*p++ != '"' || !(end = strchr(p, '"'))) {
			free_strv_n(&v);
			return 0;
		}
		if (!push_str(&v, p, (size_t)(end - p))) {
			free_strv_n(&v);
			return -1;
		}
		for (p = end + 1; *p == ' '; p++)
			;
		more = *p == ',';
		if (more)
			for (p++; *p == ' '; p++)
				;
	}
	if (*p++ != ']' || *p != '\0') {
		free_strv_n(&v);
		return 0;
	}
	*out = v;
	return 1;
}

/* Runs SQL_STRINGS over a JSON array (text; NULL: none). */
static int load_json_strings(struct loader *ld, const char *json, struct rep_strv *out)
{
	int plain = json && out->n == 0 ? plain_strings(json, out) : 0;
	if (plain < 0)
		return rep_sql_error(NULL, ld->errbuf, "out of memory");
	if (plain > 0)
		return 0;
	sqlite3_stmt *st = ld->strings;
	int rc;
	sqlite3_reset(st);
	if ((json ? sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 1)) !=
	    SQLITE_OK)
		return rep_sql_error(ld->db, ld->errbuf, "reading a JSON list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!grow((void **)&out->v, out->n, sizeof(char *)))
			return rep_sql_error(NULL, ld->errbuf, "out of memory");
		char *s = col_dup(st, 0);
		out->v[out->n++] = s ? s : strdup("");
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rep_sql_error(ld->db, ld->errbuf, "reading a JSON list");
}

/* A numeric type ("28") becomes its mnemonic ("AAAA"), or "TYPE65280" (RFC 3597). */
static char *type_text(sqlite3_stmt *st, int i)
{
	char buf[24];
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return col_dup(st, i);
	long t = (long)sqlite3_column_int64(st, i);
	const char *name = t >= 0 && t <= UINT16_MAX ? dns_qtype_name((uint16_t)t) : NULL;
	if (!name)
		snprintf(buf, sizeof(buf), "TYPE%ld", t);
	return strdup(name ? name : buf);
}

/* Runs SQL_STRINGS over a JSON array column value. */
static int load_strings(struct loader *ld, sqlite3_stmt *row, int col, struct rep_strv *out)
{
	return load_json_strings(ld, (const char *)sqlite3_column_text(row, col), out);
}

static int load_names(struct loader *ld, const char *json, struct rep_finding *f)
{
	sqlite3_stmt *st = ld->names;
	int rc;
	sqlite3_reset(st);
	if ((json ? sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 1)) !=
	    SQLITE_OK)
		return rep_sql_error(ld->db, ld->errbuf, "reading query names");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			continue;
		if (!grow((void **)&f->names, f->n_names, sizeof(*f->names)))
			return rep_sql_error(NULL, ld->errbuf, "out of memory");
		struct rep_name *n = &f->names[f->n_names++];
		n->shown = col_dup(st, 0);
		n->hex = col_dup(st, 1);
		n->type = type_text(st, 2);
		n->count = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rep_sql_error(ld->db, ld->errbuf, "reading query names");
}

static int load_finding(struct loader *ld, sqlite3_stmt *st, struct rep_finding *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	f->diagnosis = col_dup(st, 1);
	f->confidence = col_dup(st, 3);
	f->severity = sqlite3_column_int(st, 4);
	f->server_ip = col_dup(st, 5);
	f->server_port = sqlite3_column_int(st, 6);
	f->proto = col_dup(st, 7);
	f->service = col_dup(st, 8);
	f->ports = sqlite3_column_int(st, 9);
	f->source_ip = col_dup(st, 10);
	f->errors = sqlite3_column_int64(st, 11);
	f->requests = sqlite3_column_int64(st, 12);
	f->replies = sqlite3_column_int64(st, 13);
	f->first_error_ns = col_time(st, 16);
	f->last_error_ns = col_time(st, 17);
	f->outage_start_ns = col_time(st, 18);
	f->outage_end_ns = col_time(st, 19);
	f->precision = sqlite3_column_int(st, 20) >= 9 ? 9 : 6;
	f->related = col_dup(st, 23);
	if (!f->diagnosis || !f->server_ip)
		return rep_sql_error(NULL, ld->errbuf, "a finding without diagnosis or server");
	if (load_strings(ld, st, 2, &f->secondary) < 0 ||
	    load_strings(ld, st, 14, &f->clients) < 0 ||
	    load_strings(ld, st, 15, &f->reporters) < 0 ||
	    load_strings(ld, st, 24, &f->capture_points) < 0)
		return -1;
	/* evidence and names: parsed and escaped only for the findings a writer shows them for */
	f->evidence_json = col_dup(st, 21);
	f->names_json = col_dup(st, 22);
	return 0;
}

static int load_findings(struct loader *ld, struct rep_model *m)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(ld->db, SQL_FINDINGS, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rep_sql_error(ld->db, ld->errbuf, "reading findings");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!grow((void **)&m->fnd, m->n_fnd, sizeof(*m->fnd))) {
			rc = rep_sql_error(NULL, ld->errbuf, "out of memory");
			break;
		}
		if (load_finding(ld, st, &m->fnd[m->n_fnd++]) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc != -1)
		rc = rep_sql_error(ld->db, ld->errbuf, "reading findings");
	sqlite3_finalize(st);
	return rc;
}

static void load_capture_row(sqlite3_stmt *st, struct rep_capture *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->path = col_dup(st, 1);
	c->size = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
	c->format = col_dup(st, 3);
	c->link_type = sqlite3_column_int(st, 4);
	c->link_type_name = col_dup(st, 5);
	c->precision = sqlite3_column_int(st, 6) >= 9 ? 9 : 6;
	c->packets = sqlite3_column_int64(st, 7);
	c->bytes = sqlite3_column_int64(st, 8);
	c->udp_packets = sqlite3_column_int64(st, 9);
	c->icmp_errors = sqlite3_column_int64(st, 10);
	c->port_unreachables = sqlite3_column_int64(st, 11);
	c->first_ns = col_time(st, 12);
	c->last_ns = col_time(st, 13);
	c->complete = sqlite3_column_int(st, 14) != 0;
	c->read_error = col_dup(st, 15);
	c->stats_capped = sqlite3_column_int(st, 16) != 0;
	c->filter = col_dup(st, 17);
	c->content_hash = col_dup(st, 18);
	c->sha256 = col_dup(st, 19);
}

static int load_anomalies(struct loader *ld, sqlite3_stmt *an, struct rep_capture *c)
{
	int rc;
	sqlite3_reset(an);
	if (sqlite3_bind_int64(an, 1, c->id) != SQLITE_OK)
		return rep_sql_error(ld->db, ld->errbuf, "reading anomalies");
	while ((rc = sqlite3_step(an)) == SQLITE_ROW) {
		if (!grow((void **)&c->anomalies, c->n_anomalies, sizeof(*c->anomalies)))
			return rep_sql_error(NULL, ld->errbuf, "out of memory");
		c->anomalies[c->n_anomalies].name = col_dup(an, 0);
		c->anomalies[c->n_anomalies++].count = sqlite3_column_int64(an, 1);
	}
	return rc == SQLITE_DONE ? 0 : rep_sql_error(ld->db, ld->errbuf, "reading anomalies");
}

static void add_totals(struct rep_model *m, const struct rep_capture *c)
{
	m->packets += c->packets;
	if (c->precision > m->precision)
		m->precision = c->precision;
	if (c->first_ns != REP_NO_TIME && (m->first_ns == REP_NO_TIME || c->first_ns < m->first_ns))
		m->first_ns = c->first_ns;
	if (c->last_ns != REP_NO_TIME && (m->last_ns == REP_NO_TIME || c->last_ns > m->last_ns))
		m->last_ns = c->last_ns;
}

static int load_captures(struct loader *ld, struct rep_model *m)
{
	sqlite3_stmt *st = NULL, *an = NULL;
	int rc = sqlite3_prepare_v2(ld->db, SQL_CAPTURES, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(ld->db, SQL_ANOMALIES, -1, &an, NULL);
	if (rc != SQLITE_OK) {
		rc = rep_sql_error(ld->db, ld->errbuf, "reading captures");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!grow((void **)&m->caps, m->n_caps, sizeof(*m->caps))) {
			rc = rep_sql_error(NULL, ld->errbuf, "out of memory");
			goto out;
		}
		struct rep_capture *c = &m->caps[m->n_caps++];
		load_capture_row(st, c);
		add_totals(m, c);
		if (load_anomalies(ld, an, c) < 0) {
			rc = -1;
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : rep_sql_error(ld->db, ld->errbuf, "reading captures");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(an);
	return rc;
}

static int count(struct loader *ld, const char *sql, int arg, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(ld->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) > 0)
		rc = sqlite3_bind_int(st, 1, arg);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : rep_sql_error(ld->db, ld->errbuf, "counting events");
}

static int load_totals(struct loader *ld, struct rep_model *m, const struct report_filter *f)
{
	bool by_finding = rep_filter_has(f, RF_SERVER) || rep_filter_has(f, RF_LABEL) ||
			  rep_filter_has(f, RF_SERVICE);
	bool by_time = rep_filter_has(f, RF_SINCE) || rep_filter_has(f, RF_UNTIL);
	int64_t all = 0;
	if (count(ld, by_finding || by_time ? SQL_TOTALS_FILTERED : SQL_TOTALS, by_finding,
		  &m->n_port_unreach) < 0 ||
	    count(ld, SQL_ALL_FINDINGS, 0, &all) < 0)
		return -1;
	m->n_fnd_all = (size_t)all;
	return 0;
}

int rep_model_load(sqlite3 *db, const struct report_options *opt, struct rep_model *m, char *errbuf)
{
	struct loader ld = {.db = db, .errbuf = errbuf};
	int rc = -1;
	memset(m, 0, sizeof(*m));
	m->first_ns = m->last_ns = REP_NO_TIME;
	m->precision = 6;
	if (rep_sql_register(db, errbuf) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, SQL_STRINGS, -1, &ld.strings, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_NAMES, -1, &ld.names, NULL) != SQLITE_OK) {
		rep_sql_error(db, errbuf, "preparing the report queries");
		goto out;
	}
	const struct report_filter *f = opt && opt->filter && opt->filter->n ? opt->filter : NULL;
	m->filter = f;
	if (load_captures(&ld, m) == 0 && load_totals(&ld, m, f) == 0 &&
	    load_findings(&ld, m) == 0 && rep_packets_load(db, m, errbuf) == 0) {
		rep_order(m);
		rc = 0;
	}
out:
	sqlite3_finalize(ld.strings);
	sqlite3_finalize(ld.names);
	return rc;
}

int rep_details_load(sqlite3 *db, struct rep_model *m, size_t from, size_t to, bool names,
		     char *errbuf)
{
	struct loader ld = {.db = db, .errbuf = errbuf};
	int rc = -1;
	if (sqlite3_prepare_v2(db, SQL_STRINGS, -1, &ld.strings, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_NAMES, -1, &ld.names, NULL) != SQLITE_OK) {
		rep_sql_error(db, errbuf, "preparing the report queries");
		goto out;
	}
	for (size_t i = from; i < to && i < m->n_fnd; i++) {
		struct rep_finding *f = &m->fnd[i];
		if (!f->details && load_json_strings(&ld, f->evidence_json, &f->evidence) < 0)
			goto out;
		f->details = true;
		if (names && !f->names_loaded && load_names(&ld, f->names_json, f) < 0)
			goto out;
		f->names_loaded |= names;
	}
	rc = 0;
out:
	sqlite3_finalize(ld.strings);
	sqlite3_finalize(ld.names);
	return rc;
}

static void free_strv(struct rep_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
}

static void free_finding(struct rep_finding *f)
{
	free(f->diagnosis), free(f->confidence), free(f->server_ip), free(f->proto);
	free(f->service), free(f->source_ip), free(f->related);
	free(f->evidence_json), free(f->names_json);
	free_strv(&f->secondary), free_strv(&f->clients), free_strv(&f->reporters);
	free_strv(&f->evidence);
	rep_packets_free(f);
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i].shown), free(f->names[i].hex), free(f->names[i].type);
	free(f->names);
}

void rep_model_free(struct rep_model *m)
{
	for (size_t i = 0; i < m->n_fnd; i++)
		free_finding(&m->fnd[i]);
	for (size_t i = 0; i < m->n_caps; i++) {
		struct rep_capture *c = &m->caps[i];
		free(c->path), free(c->format), free(c->link_type_name), free(c->read_error);
		free(c->filter), free(c->content_hash), free(c->sha256);
		for (size_t k = 0; k < c->n_anomalies; k++)
			free(c->anomalies[k].name);
		free(c->anomalies);
	}
	free(m->fnd);
	free(m->caps);
	memset(m, 0, sizeof(*m));
}

size_t rep_count_label(const struct rep_model *m, const char *label)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_fnd; i++)
		n += strcmp(m->fnd[i].diagnosis, label) == 0;
	return n;
}
