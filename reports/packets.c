/* packets.c - where a finding's packets are: capture points, first frames, a display filter. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

/*
 * The finding's first events by the stored link (index events_finding, in time order, then
 * id: the same whatever order the captures were stored in), never more than REP_SAMPLE of
 * them: a finding of a million errors costs what one of five hundred does.
 */
static const char SQL_SAMPLE[] =
    "SELECT e.capture_id, e.frame, pm_text(c.path), e.family, e.type, e.code, e.reporter,"
    " e.src, e.sport, e.dst, e.dport FROM events e LEFT JOIN captures c ON c.id = e.capture_id"
    " WHERE e.finding_id = ?1 AND e.capture_id IN temp.pm_sel_c ORDER BY e.ts_ns, e.id"
    " LIMIT ?2";

#define SET_MAX 16 /* distinct values a filter lists with "in {...}" */

/* Distinct values of one field over the sample: addresses (validated) or ports. */
struct vset {
	char v[SET_MAX][INET6_ADDRSTRLEN];
	int port[SET_MAX];
	int n, lo, hi;
	bool many, bad; /* more than SET_MAX distinct; a value that is not an address */
};

struct fam {
	const char *name; /* "icmp" or "icmp6" */
	bool seen;
	struct vset type, code, reporter, src, dst, sport, dport;
};

static void add_addr(struct vset *s, const unsigned char *text)
{
	unsigned char bin[16];
	const char *t = (const char *)text;
	if (!t || (inet_pton(AF_INET, t, bin) != 1 && inet_pton(AF_INET6, t, bin) != 1)) {
		s->bad = true; /* NULL (not quoted) or not an address: the field is left out */
		return;
	}
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], t) == 0)
			return;
	if (s->n == SET_MAX) {
		s->many = true;
		return;
	}
	snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", t);
}

static void add_port(struct vset *s, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
		s->bad = true;
		return;
	}
	int p = sqlite3_column_int(st, col);
	if (s->n == 0 && !s->many)
		s->lo = s->hi = p;
	s->lo = p < s->lo ? p : s->lo;
	s->hi = p > s->hi ? p : s->hi;
	for (int i = 0; i < s->n; i++)
		if (s->port[i] == p)
			return;
	if (s->n == SET_MAX)
		s->many = true;
	else
		s->port[s->n++] = p;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* " && FIELD==V" or " && FIELD in {V W}"; ports past SET_MAX as a range; nothing when the
 * field is not known for every event, takes too many values, or (sets) the sample may not
 * have seen them all. `sets`: whether a list of values may stand for the field. */
static void clause(struct sbuf *b, const char *field, struct vset *s, bool is_port, bool sets)
{
	if (s->bad || s->n == 0 || (s->n > 1 && !sets) || (s->many && !is_port))
		return;
	if (s->many) {
		sb_printf(b, " && %s in {%d..%d}", field, s->lo, s->hi);
		return;
	}
	if (is_port)
		qsort(s->port, (size_t)s->n, sizeof(int), cmp_int);
	if (s->n == 1) {
		if (is_port)
			sb_printf(b, " && %s==%d", field, s->port[0]);
		else
			sb_printf(b, " && %s==%s", field, s->v[0]);
		return;
	}
	sb_printf(b, " && %s in {", field);
	for (int i = 0; i < s->n; i++) {
		if (is_port)
			sb_printf(b, "%s%d", i ? ", " : "", s->port[i]);
		else
			sb_printf(b, "%s%s", i ? ", " : "", s->v[i]);
	}
	sb_putc(b, '}');
}

/*
 * The filter of one address family. tshark shows the IP header of the ICMP message as layer 1
 * of ip/ipv6 and the quoted one as layer 2 (ip.dst#2), and the quoted UDP header as udp: the
 * clauses name the fields in which the finding's events agree, so the filter holds whatever
 * the diagnosis keyed the finding on without the report knowing which label did what.
 */
static bool in_list(const struct rep_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

/*
 * A sample may miss values: a field the sample saw constant is kept only when the finding's
 * own record says it is constant: its key (server, source, port) or the one entry of its
 * stored list (reporters, clients). Everything else is left out, never guessed.
 */
static void trust_sample(const struct rep_finding *fd, struct fam *f)
{
	struct vset *addr[] = {&f->reporter, &f->src, &f->dst};
	for (size_t i = 0; i < 3; i++) {
		struct vset *s = addr[i];
		if (s->n != 1 || s->many)
			continue;
		const struct rep_strv *list = i == 0 ? &fd->reporters : &fd->clients;
		bool key = strcmp(s->v[0], fd->server_ip) == 0 ||
			   (fd->source_ip && strcmp(s->v[0], fd->source_ip) == 0) ||
			   (list->n == 1 && in_list(list, s->v[0]));
		s->bad |= !key;
	}
	struct vset *port[] = {&f->sport, &f->dport};
	for (size_t i = 0; i < 2; i++)
		if (port[i]->n == 1 && !port[i]->many && port[i]->port[0] != fd->server_port)
			port[i]->bad = true;
}

static void family_filter(struct sbuf *b, struct fam *f, bool sampled)
{
	bool v6 = strcmp(f->name, "icmp6") == 0;
	const char *icmp = v6 ? "icmpv6" : "icmp", *ip = v6 ? "ipv6" : "ip";
	char field[32];
	struct sbuf t;
	sb_init(&t);
	snprintf(field, sizeof(field), "%s.type", icmp);
	clause(&t, field, &f->type, true, true);
	snprintf(field, sizeof(field), "%s.code", icmp);
	clause(&t, field, &f->code, true, true);
	snprintf(field, sizeof(field), "%s.src#1", ip);
	clause(&t, field, &f->reporter, false, !sampled);
	snprintf(field, sizeof(field), "%s.src#2", ip);
	clause(&t, field, &f->src, false, !sampled);
	snprintf(field, sizeof(field), "%s.dst#2", ip);
	clause(&t, field, &f->dst, false, !sampled);
	/* a client's source ports are ephemeral: named only when they are one */
	clause(&t, "udp.srcport", &f->sport, true, false);
	clause(&t, "udp.dstport", &f->dport, true, !sampled);
	sb_puts(b, t.len > 4 ? sb_str(&t) + 4 : icmp); /* without the leading " && " */
	sb_free(&t);
}

static struct rep_frames *frames_of(struct rep_finding *f, int64_t cap, const char *path)
{
	for (size_t i = 0; i < f->n_frames; i++)
		if (f->frames[i].capture_id == cap)
			return &f->frames[i];
	if (f->n_frames == REP_FRAME_CAPS_MAX) {
		f->frames_more_caps = true;
		return NULL;
	}
	if (!f->frames && !(f->frames = calloc(REP_FRAME_CAPS_MAX, sizeof(*f->frames))))
		return NULL;
	struct rep_frames *r = &f->frames[f->n_frames++];
	r->capture_id = cap;
	r->path = strdup(path ? path : "?");
	return r;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void add_row(struct rep_finding *f, sqlite3_stmt *st, struct fam *fams)
{
	struct rep_frames *r =
	    frames_of(f, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 2));
	if (r && r->n < REP_FRAMES_MAX)
		r->frame[r->n++] = sqlite3_column_int64(st, 1);
	else if (r)
		r->more = true;
	const char *family = (const char *)sqlite3_column_text(st, 3);
	struct fam *fa = family && strcmp(family, "icmp6") == 0 ? &fams[1] : &fams[0];
	fa->seen = true;
	add_port(&fa->type, st, 4);
	add_port(&fa->code, st, 5);
	add_addr(&fa->reporter, sqlite3_column_text(st, 6));
	add_addr(&fa->src, sqlite3_column_text(st, 7));
	add_port(&fa->sport, st, 8);
	add_addr(&fa->dst, sqlite3_column_text(st, 9));
	add_port(&fa->dport, st, 10);
}

static int load_one(sqlite3_stmt *st, struct rep_finding *f)
{
	struct fam *fams = calloc(2, sizeof(*fams));
	int rc, rows = 0;
	if (!fams)
		return SQLITE_NOMEM;
	fams[0].name = "icmp", fams[1].name = "icmp6";
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, f->id);
	sqlite3_bind_int(st, 2, REP_SAMPLE);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		add_row(f, st, fams);
		rows++;
	}
	for (size_t i = 0; i < f->n_frames; i++)
		qsort(f->frames[i].frame, (size_t)f->frames[i].n, sizeof(int64_t), cmp_i64);
	if (rows == REP_SAMPLE) { /* there may be more than the sample saw */
		f->filter_sampled = true;
		if (f->n_frames)
			f->frames[f->n_frames - 1].more = true;
	}
	/* its capture points name every capture its events are in */
	f->frames_more_caps |= f->capture_points.n > f->n_frames;
	if (rows > 0) {
		struct sbuf b;
		sb_init(&b);
		bool both = fams[0].seen && fams[1].seen;
		for (int i = 0; i < 2; i++)
			if (fams[i].seen) {
				if (f->filter_sampled)
					trust_sample(f, &fams[i]);
				sb_puts(&b, i && both ? ") || (" : i == 0 && both ? "(" : "");
				family_filter(&b, &fams[i], f->filter_sampled);
			}
		if (both)
			sb_puts(&b, ")");
		f->display_filter = sb_take(&b);
	}
	free(fams);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int rep_packets_load(sqlite3 *db, struct rep_model *m, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, SQL_SAMPLE, -1, &st, NULL);
	for (size_t i = 0; i < m->n_fnd && rc == SQLITE_OK; i++)
		rc = load_one(st, &m->fnd[i]);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0
			       : rep_sql_error(rc == SQLITE_NOMEM ? NULL : db, errbuf,
					       "reading where the findings' packets are");
}

void rep_packets_free(struct rep_finding *f)
{
	for (size_t i = 0; i < f->capture_points.n; i++)
		free(f->capture_points.v[i]);
	free(f->capture_points.v);
	for (size_t i = 0; i < f->n_frames; i++)
		free(f->frames[i].path);
	free(f->frames);
	free(f->display_filter);
}
