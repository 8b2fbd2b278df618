/* timeline.c - gathers timeline data: error times (events), flows (first/last, counts), outages. */
#include <stdlib.h>
#include <string.h>

#include "reports/kb_int.h"
#include "reports/report_int.h"

/*
 * A finding's events by the stored link (events.finding_id, its index), never by what its
 * label claims. Reading a finding costs at most TL_SAMPLE rows of events and their flows,
 * whatever its size: its event ids are counted from the index alone, and past TL_SAMPLE every
 * k-th of them (by a hash of the id, so a finding whose events are evenly interleaved with
 * others' is sampled evenly too) stands for k; the lanes then say ≈ and their totals are the
 * finding's own errors, requests and replies.
 */
#define TL_SAMPLE 400
#define TL_FLOWS_MAX 400

static const char SQL_COUNT[] = "SELECT count(*) FROM events WHERE finding_id = ?1";
static const char SQL_SAMPLE[] =
    "SELECT e.ts_ns, e.port_unreachable, e.time_exceeded, e.dup_of IS NULL, e.flow_id"
    " FROM event_kinds e"
    " WHERE e.id IN (SELECT id FROM events WHERE finding_id = ?1"
    " AND (?2 = 1 OR ts_ns % 65521 * 40503 % 65521 % ?2 = 0)) ORDER BY e.ts_ns, e.id LIMIT ?3";
static const char SQL_FLOW[] =
    "SELECT first_ns, coalesce(last_ns, first_ns), c2s_packets, s2c_packets FROM flows"
    " WHERE id = ?1 AND first_ns IS NOT NULL";

struct tl_event {
	int64_t ts, flow;
	bool pu, te;
};

struct tl_flow {
	int64_t a, b;
	double c2s, s2c;
};

/* The sampled events and flows of one finding. */
struct tl_sample {
	struct tl_event *ev;
	size_t n_ev;
	struct tl_flow *fl;
	size_t n_fl;
	int64_t stride; /* 1: every event was read */
	size_t n_pu;	/* sampled port unreachables, one per packet (dup_of) */
};

static void sample_free(struct tl_sample *s)
{
	free(s->ev);
	free(s->fl);
	memset(s, 0, sizeof(*s));
}

static int step_count(sqlite3 *db, int64_t id, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, SQL_COUNT, -1, &st, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

static bool seen_flow(const struct tl_event *ev, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (ev[k].flow == ev[i].flow)
			return true;
	return false;
}

static int sample_flows(sqlite3 *db, struct tl_sample *s)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, SQL_FLOW, -1, &st, NULL);
	s->fl = calloc(TL_FLOWS_MAX, sizeof(*s->fl));
	if (!s->fl)
		rc = SQLITE_NOMEM;
	for (size_t i = 0; i < s->n_ev && rc == SQLITE_OK && s->n_fl < TL_FLOWS_MAX; i++) {
		if (s->ev[i].flow < 0 || seen_flow(s->ev, i))
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, s->ev[i].flow);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			s->fl[s->n_fl++] = (struct tl_flow){sqlite3_column_int64(st, 0),
							    sqlite3_column_int64(st, 1),
							    (double)sqlite3_column_int64(st, 2),
							    (double)sqlite3_column_int64(st, 3)};
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Reads at most TL_SAMPLE events of f (and with `flows`, their flows). 0 or -1. */
static int sample_finding(sqlite3 *db, const struct rep_finding *f, bool flows, struct tl_sample *s)
{
	int64_t n = 0;
	memset(s, 0, sizeof(*s));
	if (step_count(db, f->id, &n) < 0)
		return -1;
	s->stride = n > TL_SAMPLE ? (n + TL_SAMPLE - 1) / TL_SAMPLE : 1;
	s->ev = calloc(2 * TL_SAMPLE, sizeof(*s->ev));
	sqlite3_stmt *st = NULL;
	int rc = s->ev ? sqlite3_prepare_v2(db, SQL_SAMPLE, -1, &st, NULL) : SQLITE_NOMEM;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, s->stride);
		sqlite3_bind_int(st, 3, 2 * TL_SAMPLE);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tl_event *e = &s->ev[s->n_ev];
		bool once = sqlite3_column_int(st, 3) != 0;
		e->ts = sqlite3_column_int64(st, 0);
		e->pu = sqlite3_column_int(st, 1) && once;
		e->te = sqlite3_column_int(st, 2) && once;
		e->flow =
		    sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
		s->n_pu += e->pu;
		s->n_ev++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		return -1;
	return flows ? sample_flows(db, s) : 0;
}

/* Bins the sampled events into the PU and time-exceeded lanes. Read whole, a packet seen at
 * several capture points counts once (dup_of), as the finding counts it; sampled, each
 * stands for errors / sampled, so the lane's total is the finding's errors. */
static void bin_sample(const struct timeline *tl, const struct rep_finding *f,
		       const struct tl_sample *s, struct tl_lane *pu, struct tl_lane *te)
{
	double w = s->stride > 1 && s->n_pu ? (double)f->errors / (double)s->n_pu : 1.0;
	for (size_t i = 0; i < s->n_ev; i++) {
		struct tl_lane *l = s->ev[i].pu ? pu : s->ev[i].te ? te : NULL;
		if (!l)
			continue;
		double v = s->ev[i].pu ? w : (double)s->stride;
		l->bins[tl_bin(tl, s->ev[i].ts)] += v;
		l->total += v;
	}
	if (s->stride > 1) {
		pu->estimated = true;
		if (te)
			te->estimated = true;
	}
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
	int64_t before = tl->win_a > a ? tl->win_a - a : 0,
		after = b > tl->win_b ? b - tl->win_b : 0;
	if (before + after == 0) {
		tl_spread(tl, rep, a, b, count);
		return;
	}
	if (before)
		tl_spread(tl, rep, a, tl->win_a, count * (double)before / (double)(before + after));
	if (after)
		tl_spread(tl, rep, tl->win_b, b, count * (double)after / (double)(before + after));
}

/* Scales a lane to a total (a sampled finding's requests or replies). */
static void scale_lane(struct tl_lane *l, double total)
{
	if (l->total <= 0)
		return;
	double k = total / l->total;
	for (int i = 0; i < TL_BINS; i++)
		l->bins[i] *= k;
	l->total = total;
}

static void bin_flows(const struct timeline *tl, const struct rep_finding *f,
		      const struct tl_sample *s, struct tl_lane *req, struct tl_lane *rep)
{
	for (size_t i = 0; i < s->n_fl; i++) {
		tl_spread(tl, req, s->fl[i].a, s->fl[i].b, s->fl[i].c2s);
		spread_replies(tl, rep, s->fl[i].a, s->fl[i].b, s->fl[i].s2c);
	}
	if (s->stride > 1 || s->n_fl == TL_FLOWS_MAX) {
		scale_lane(req, (double)f->requests);
		scale_lane(rep, (double)f->replies);
	}
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

/* Spreads a finding's errors over its first..last error (≈): no event read at all. */
static void spread_errors(const struct timeline *tl, const struct rep_finding *f, struct tl_lane *l)
{
	if (f->first_error_ns == REP_NO_TIME || f->errors <= 0)
		return;
	l->estimated = true;
	tl_spread(tl, l, f->first_error_ns,
		  f->last_error_ns == REP_NO_TIME ? f->first_error_ns : f->last_error_ns,
		  (double)f->errors);
}

/* The finding's errors, outage and sampled events and flows bound its time. */
static bool finding_range(const struct rep_finding *f, const struct tl_sample *s,
			  struct timeline *tl)
{
	int64_t lo = REP_NO_TIME, hi = REP_NO_TIME;
	widen(&lo, &hi, f->first_error_ns);
	widen(&lo, &hi, f->last_error_ns);
	widen(&lo, &hi, f->outage_start_ns);
	widen(&lo, &hi, f->outage_end_ns);
	for (size_t i = 0; i < s->n_ev; i++)
		widen(&lo, &hi, s->ev[i].ts);
	for (size_t i = 0; i < s->n_fl; i++) {
		widen(&lo, &hi, s->fl[i].a);
		widen(&lo, &hi, s->fl[i].b);
	}
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

int timeline_finding(FILE *out, sqlite3 *db, const struct rep_finding *f, bool *hops, char *errbuf)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	struct tl_sample s;
	if (!tl)
		return rep_sql_error(NULL, errbuf, "out of memory");
	if (sample_finding(db, f, true, &s) < 0) {
		sample_free(&s);
		free(tl);
		return rep_sql_error(db, errbuf, "reading the timeline of a finding");
	}
	tl->title = "Requests, replies and port unreachables over time";
	if (!finding_range(f, &s, tl)) {
		fputs("<p class=\"muted\">No times recorded for this finding.</p>\n", out);
	} else {
		struct tl_lane *req = add_lane(tl, "requests", "req");
		struct tl_lane *rep = add_lane(tl, "replies", "rep");
		struct tl_lane *pu = add_lane(tl, "port unreachable", "err");
		/* drawn when the finding claimed time-exceeded messages too, whatever its label */
		struct tl_lane *te = add_lane(tl, "time exceeded", "hop");
		req->estimated = rep->estimated = true;
		outage_marks(f, tl);
		bin_flows(tl, f, &s, req, rep);
		bin_sample(tl, f, &s, pu, te);
		if (te->total == 0)
			tl->n_lanes--; /* te is the last lane */
		if (hops)
			*hops = te->total > 0;
		svg_timeline(out, tl);
		if (s.stride > 1)
			fprintf(
			    out,
			    "<p class=\"muted\">≈ drawn from 1 in %lld of its events; the totals"
			    " are the finding's own.</p>\n",
			    (long long)s.stride);
	}
	sample_free(&s);
	free(tl);
	return 0;
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

/* CSS class of a finding's bars, by the class of its label ("err" for none). */
static const char *klass_css(const char *klass)
{
	const struct kb_class *c = kb_class_find(klass);
	return c ? c->css : "err";
}

static int finding_lanes(sqlite3 *db, struct timeline *tl, const struct rep_model *m)
{
	for (size_t i = 0; i < m->n_fnd && tl->n_lanes < TL_MAX_LANES; i++) {
		const struct rep_finding *f = &m->fnd[i];
		const char *title = kb_label_title(f->diagnosis);
		char label[80];
		snprintf(label, sizeof(label), "[%lld] %s · %s", (long long)f->id,
			 title ? title : f->diagnosis, f->service ? f->service : f->server_ip);
		struct tl_lane *l = add_lane(tl, label, klass_css(kb_label_class(f->diagnosis)));
		snprintf(l->href, sizeof(l->href), "#finding-%lld", (long long)f->id);
		struct tl_sample s;
		int rc = sample_finding(db, f, false, &s);
		if (rc == 0)
			bin_sample(tl, f, &s, l, NULL);
		sample_free(&s);
		if (rc < 0)
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
	for (size_t i = 0; i < m->n_fnd; i++) {
		widen(&lo, &hi, m->fnd[i].first_error_ns);
		widen(&lo, &hi, m->fnd[i].last_error_ns);
	}
	if (rc == 0 && set_range(tl, lo, hi)) {
		capture_lanes(tl, m);
		/* every finding's errors, each spread over its first..last error: no scan of the
		 * events, whatever their number */
		struct tl_lane *all = add_lane(tl, "errors of all findings", "err");
		for (size_t i = 0; i < m->n_fnd; i++)
			spread_errors(tl, &m->fnd[i], all);
		int before = tl->n_lanes;
		if (finding_lanes(db, tl, m) < 0) {
			rc = rep_sql_error(db, errbuf, "reading the overall timeline");
		} else {
			svg_timeline(out, tl);
			size_t shown = (size_t)(tl->n_lanes - before);
			if (shown < m->n_fnd)
				fprintf(
				    out,
				    "<p class=\"muted\">Lanes for the first %zu of %zu findings;"
				    " every finding has its own timeline below.</p>\n",
				    shown, m->n_fnd);
		}
	} else if (rc == 0) {
		fputs("<p class=\"muted\">No packet times recorded.</p>\n", out);
	}
	free(tl);
	return rc;
}
