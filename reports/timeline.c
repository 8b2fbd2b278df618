/* timeline.c - gathers timeline data: error times (events), flows (first/last, counts), outages. */
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

#define IS_PU "((e.family = 'icmp' AND e.type = 3 AND e.code = 3) OR (e.family = 'icmp6' AND e.type = 1 AND e.code = 4))"
#define IS_TE "((e.family = 'icmp' AND e.type = 11) OR (e.family = 'icmp6' AND e.type = 3))"

/* Flows of a finding: by server endpoint, or (traceroute, udp-scan) by prober and target. */
#define EVENT_MATCH "(e.finding_id = ?1)"
#define FLOW_MATCH " WHERE id IN (SELECT flow_id FROM events WHERE finding_id = ?1) AND first_ns IS NOT NULL"

/* Binds ?1, the finding's id: the diagnosis stored which events (and so which flows) it claimed. */
static int bind_finding(sqlite3_stmt *st, const struct rep_finding *f)
{
	return sqlite3_bind_int64(st, 1, f->id);
}

/* Widens [*lo, *hi] by the two integer columns a query returns. */
static int query_range(sqlite3 *db, const char *sql, const struct rep_finding *f, int64_t *lo,
		       int64_t *hi)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (!f || bind_finding(st, f) == SQLITE_OK))
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < 2; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				continue;
			int64_t v = sqlite3_column_int64(st, i);
			*lo = *lo == REP_NO_TIME || v < *lo ? v : *lo;
			*hi = *hi == REP_NO_TIME || v > *hi ? v : *hi;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

static void widen(int64_t *lo, int64_t *hi, int64_t t)
{
	if (t == REP_NO_TIME)
		return;
	*lo = *lo == REP_NO_TIME || t < *lo ? t : *lo;
	*hi = *hi == REP_NO_TIME || t > *hi ? t : *hi;
}

/* Sets t0/t1 with a margin; false when there is no time at all. */
static bool set_range(struct timeline *tl, int64_t lo, int64_t hi)
{
	if (lo == REP_NO_TIME || hi == REP_NO_TIME)
		return false;
	int64_t pad = (hi - lo) / 30;
	if (pad < 500000000)
		pad = hi == lo ? 1000000000 : (hi - lo) / 30 + 1;
	tl->t0 = lo - pad;
	tl->t1 = hi + pad;
	return true;
}

static struct tl_lane *add_lane(struct timeline *tl, const char *label, const char *cls)
{
	if (tl->n_lanes == TL_MAX_LANES)
		return NULL;
	struct tl_lane *l = &tl->lane[tl->n_lanes++];
	memset(l, 0, sizeof(*l));
	snprintf(l->label, sizeof(l->label), "%s", label);
	l->cls = cls;
	return l;
}

/* Bins the events of a finding (f NULL: every event) into the PU and time-exceeded lanes. */
static int bin_events(sqlite3 *db, struct timeline *tl, const struct rep_finding *f,
		      struct tl_lane *pu, struct tl_lane *te)
{
	char sql[512];
	sqlite3_stmt *st = NULL;
	snprintf(sql, sizeof(sql), "SELECT e.ts_ns, " IS_PU ", " IS_TE " FROM events e WHERE %s",
		 f ? EVENT_MATCH : "1");
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && f && bind_finding(st, f) != SQLITE_OK)
		rc = SQLITE_ERROR;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tl_lane *l = sqlite3_column_int(st, 1) ? pu : sqlite3_column_int(st, 2) ? te : NULL;
		if (l) {
			l->bins[tl_bin(tl, sqlite3_column_int64(st, 0))] += 1;
			l->total += 1;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : -1;
}

/* Replies: none fell inside the outage (it is bounded by the last reply before and the first
 * after), so a flow's replies are spread over its time outside the window only. */
static void spread_replies(const struct timeline *tl, struct tl_lane *rep, int64_t a, int64_t b,
			   double count)
{
	if (!tl->has_window || b <= tl->win_a || a >= tl->win_b || b <= a) {
		tl_spread(tl, rep, a, b, count);
		return;
	}
	int64_t before = tl->win_a > a ? tl->win_a - a : 0, after = b > tl->win_b ? b - tl->win_b : 0;
	if (before + after == 0) {
		tl_spread(tl, rep, a, b, count);
		return;
	}
	if (before)
		tl_spread(tl, rep, a, tl->win_a, count * (double)before / (double)(before + after));
	if (after)
		tl_spread(tl, rep, tl->win_b, b, count * (double)after / (double)(before + after));
}

static int bin_flows(sqlite3 *db, struct timeline *tl, const struct rep_finding *f,
		     struct tl_lane *req, struct tl_lane *rep)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT first_ns, coalesce(last_ns, first_ns), c2s_packets,"
				    " s2c_packets FROM flows" FLOW_MATCH, -1, &st, NULL);
	if (rc == SQLITE_OK && bind_finding(st, f) != SQLITE_OK)
		rc = SQLITE_ERROR;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
		tl_spread(tl, req, a, b, (double)sqlite3_column_int64(st, 2));
		spread_replies(tl, rep, a, b, (double)sqlite3_column_int64(st, 3));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : -1;
}

static bool finding_range(sqlite3 *db, const struct rep_finding *f, struct timeline *tl)
{
	char sql[512];
	int64_t lo = REP_NO_TIME, hi = REP_NO_TIME;
	widen(&lo, &hi, f->first_error_ns);
	widen(&lo, &hi, f->last_error_ns);
	widen(&lo, &hi, f->outage_start_ns);
	widen(&lo, &hi, f->outage_end_ns);
	snprintf(sql, sizeof(sql), "SELECT min(e.ts_ns), max(e.ts_ns) FROM events e WHERE %s",
		 EVENT_MATCH);
	if (query_range(db, sql, f, &lo, &hi) < 0 ||
	    query_range(db, "SELECT min(first_ns), max(coalesce(last_ns, first_ns)) FROM flows" FLOW_MATCH,
			f, &lo, &hi) < 0)
		return false;
	return set_range(tl, lo, hi);
}

static void outage_marks(const struct rep_finding *f, struct timeline *tl)
{
	if (f->outage_start_ns == REP_NO_TIME || f->outage_end_ns == REP_NO_TIME)
		return;
	tl->has_window = true;
	tl->win_a = f->outage_start_ns;
	tl->win_b = f->outage_end_ns;
	tl->win_label = "no reply (outage)";
	tl->mark[tl->n_marks++] = (struct tl_mark){f->outage_start_ns, "last reply"};
	tl->mark[tl->n_marks++] = (struct tl_mark){f->outage_end_ns, "answers again"};
}

int timeline_finding(FILE *out, sqlite3 *db, const struct rep_finding *f, char *errbuf)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	int rc = 0;
	if (!tl)
		return rep_sql_error(NULL, errbuf, "out of memory");
	tl->title = "Requests, replies and port unreachables over time";
	if (!finding_range(db, f, tl)) {
		fputs("<p class=\"muted\">No times recorded for this finding.</p>\n", out);
		free(tl);
		return 0;
	}
	struct tl_lane *req = add_lane(tl, "requests", "req");
	struct tl_lane *rep = add_lane(tl, "replies", "rep");
	struct tl_lane *pu = add_lane(tl, "port unreachable", "err");
	struct tl_lane *te = strcmp(f->diagnosis, "traceroute") == 0 ? add_lane(tl, "time exceeded", "hop") : NULL;
	req->estimated = rep->estimated = true;
	outage_marks(f, tl);
	if (bin_flows(db, tl, f, req, rep) < 0 || bin_events(db, tl, f, pu, te) < 0)
		rc = rep_sql_error(db, errbuf, "reading the timeline of a finding");
	else
		svg_timeline(out, tl);
	free(tl);
	return rc;
}

static void capture_lanes(struct timeline *tl, const struct rep_model *m)
{
	size_t shown = m->n_caps > 6 ? 5 : m->n_caps;
	for (size_t i = 0; i < shown; i++) {
		const struct rep_capture *c = &m->caps[i];
		const char *base = c->path ? strrchr(c->path, '/') : NULL;
		struct tl_lane *l = add_lane(tl, base ? base + 1 : c->path ? c->path : "?", "cap");
		l->is_span = c->first_ns != REP_NO_TIME && c->last_ns != REP_NO_TIME;
		l->span_a = c->first_ns, l->span_b = c->last_ns;
		if (!l->is_span)
			l->cls = "none";
	}
	if (m->n_caps > shown) {
		char label[64];
		snprintf(label, sizeof(label), "%zu more captures", m->n_caps - shown);
		struct tl_lane *l = add_lane(tl, label, "cap");
		l->is_span = true;
		l->span_a = m->caps[shown].first_ns, l->span_b = m->caps[shown].last_ns;
		for (size_t i = shown; i < m->n_caps; i++) {
			widen(&l->span_a, &l->span_b, m->caps[i].first_ns);
			widen(&l->span_a, &l->span_b, m->caps[i].last_ns);
		}
		l->is_span = l->span_a != REP_NO_TIME;
	}
}

/* CSS class of a finding's bars, by the class of its label. */
static const char *klass_css(const char *klass)
{
	static const char *const map[][2] = {{"outage", "k-outage"},	 {"misconfig", "k-misconfig"},
					     {"firewall", "k-firewall"}, {"slow", "k-slow"},
					     {"benign", "k-benign"},	 {"security", "k-security"}};
	for (size_t i = 0; klass && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], klass) == 0)
			return map[i][1];
	return "err";
}

static int finding_lanes(sqlite3 *db, struct timeline *tl, const struct rep_model *m)
{
	for (size_t i = 0; i < m->n_fnd && tl->n_lanes < TL_MAX_LANES; i++) {
		const struct rep_finding *f = &m->fnd[i];
		const char *title = kb_label_title(f->diagnosis);
		char label[80];
		snprintf(label, sizeof(label), "[%zu] %s · %s", i + 1, title ? title : f->diagnosis,
			 f->service ? f->service : f->server_ip);
		struct tl_lane *l = add_lane(tl, label, klass_css(kb_label_class(f->diagnosis)));
		snprintf(l->href, sizeof(l->href), "#finding-%lld", (long long)f->id);
		if (bin_events(db, tl, f, l, NULL) < 0)
			return -1;
	}
	return 0;
}

int timeline_overview(FILE *out, sqlite3 *db, const struct rep_model *m, char *errbuf)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	int64_t lo = m->first_ns, hi = m->last_ns;
	int rc = 0;
	if (!tl)
		return rep_sql_error(NULL, errbuf, "out of memory");
	tl->title = "Captures, and the port unreachables of each finding, over time";
	if (query_range(db, "SELECT min(ts_ns), max(ts_ns) FROM events", NULL, &lo, &hi) < 0)
		rc = rep_sql_error(db, errbuf, "reading the overall timeline");
	if (rc == 0 && set_range(tl, lo, hi)) {
		capture_lanes(tl, m);
		struct tl_lane *all = add_lane(tl, "all port unreachables", "err");
		int before = tl->n_lanes;
		if (bin_events(db, tl, NULL, all, NULL) < 0 || finding_lanes(db, tl, m) < 0) {
			rc = rep_sql_error(db, errbuf, "reading the overall timeline");
		} else {
			svg_timeline(out, tl);
			size_t shown = (size_t)(tl->n_lanes - before);
			if (shown < m->n_fnd)
				fprintf(out, "<p class=\"muted\">Lanes for the first %zu of %zu findings;"
					" every finding has its own timeline below.</p>\n", shown, m->n_fnd);
		}
	} else if (rc == 0) {
		fputs("<p class=\"muted\">No packet times recorded.</p>\n", out);
	}
	free(tl);
	return rc;
}
