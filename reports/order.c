/* order.c - the one order of findings every format uses: hosts grouped, most severe first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

#define DETAIL_ALL 40 /* up to this many findings, every one is shown in full */
#define DETAIL 25     /* beyond, whole host groups up to about this many; the rest summed */

/*
 * The label's severity (stored by the diagnosis: outages above benign noise) weighed by how
 * many clients and requests the finding touched, on a log scale: an outage of a resolver that
 * failed 80 clients outranks a port that refused one datagram from one client, and a scan of
 * a thousand ports does not outrank an outage for being noisy.
 */
static double impact(const struct rep_finding *f)
{
	double clients = (double)f->clients.n, requests = (double)f->requests;
	if (requests < (double)f->errors)
		requests = (double)f->errors;
	return f->severity * (1.0 + log10(1.0 + clients)) * (1.0 + 0.5 * log10(1.0 + requests));
}

struct keyed {
	struct rep_finding f;
	double group_impact;
	int64_t group_errors;
	size_t group_size, pos;
	bool detail;
};

static int cmp_ip(const struct keyed *a, const struct keyed *b)
{
	return strcmp(a->f.server_ip, b->f.server_ip);
}

static int by_ip_then_impact(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	int c = cmp_ip(a, b);
	if (c)
		return c;
	if (a->f.impact != b->f.impact)
		return a->f.impact < b->f.impact ? 1 : -1;
	if (a->f.errors != b->f.errors)
		return a->f.errors < b->f.errors ? 1 : -1;
	return a->f.id < b->f.id ? -1 : a->f.id > b->f.id;
}

/* Groups by their most severe member, then errors, then address; members stay in order. */
static int by_group(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	if (a->group_impact != b->group_impact)
		return a->group_impact < b->group_impact ? 1 : -1;
	if (a->group_errors != b->group_errors)
		return a->group_errors < b->group_errors ? 1 : -1;
	int c = cmp_ip(a, b);
	if (c)
		return c;
	return by_ip_then_impact(x, y);
}

/* Findings of one kind: the same diagnosis of the same service on the same port (one wave of
 * a storm: a thousand resolvers down at once, two hundred hosts scanned alike). */
static bool same_kind(const struct rep_finding *a, const struct rep_finding *b)
{
	return strcmp(a->diagnosis, b->diagnosis) == 0 && a->server_port == b->server_port &&
	       (a->service && b->service ? strcmp(a->service, b->service) == 0
					 : a->service == b->service);
}

static int cmp_str(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

/* Orders group heads by kind (diagnosis, port, service), then position. */
static const struct keyed *g_keyed;
static int by_kind(const void *x, const void *y)
{
	const struct rep_finding *a = &g_keyed[*(const size_t *)x].f;
	const struct rep_finding *b = &g_keyed[*(const size_t *)y].f;
	int c = strcmp(a->diagnosis, b->diagnosis);
	if (!c)
		c = (a->server_port > b->server_port) - (a->server_port < b->server_port);
	if (!c)
		c = cmp_str(a->service, b->service);
	if (!c)
		c = (*(const size_t *)x > *(const size_t *)y) -
		    (*(const size_t *)x < *(const size_t *)y);
	return c;
}

/*
 * Which host groups are shown in full: every one up to DETAIL_ALL findings; beyond, groups in
 * order while about DETAIL findings fit, at most KIND_SHOWN of one kind when that kind has
 * more (the rest of a wave is summed, not repeated). Marks k[].detail. O(n log n).
 */
#define KIND_SHOWN 3
static size_t pick_detail(struct keyed *k, size_t n)
{
	if (n <= DETAIL_ALL) {
		for (size_t i = 0; i < n; i++)
			k[i].detail = true;
		return n;
	}
	size_t n_heads = 0, shown = 0;
	size_t *head = calloc(n, sizeof(*head)), *kind = calloc(n, sizeof(*kind));
	size_t *size = calloc(n, sizeof(*size)), *taken = calloc(n, sizeof(*taken));
	if (!head || !kind || !size || !taken) {
		free(head), free(kind), free(size), free(taken);
		for (size_t i = 0; i < n; i++)
			k[i].detail = true;
		return n;
	}
	for (size_t a = 0; a < n; a += k[a].group_size)
		head[n_heads++] = a;
	g_keyed = k;
	qsort(head, n_heads, sizeof(*head), by_kind);
	for (size_t i = 0, id = 0; i < n_heads; i++) { /* kind[group start] = its kind's number */
		if (i && !same_kind(&k[head[i - 1]].f, &k[head[i]].f))
			id++;
		kind[head[i]] = id;
		size[id]++;
	}
	for (size_t a = 0; a < n; a += k[a].group_size) {
		size_t g = k[a].group_size, id = kind[a];
		if (size[id] > KIND_SHOWN + 1 && taken[id] >= KIND_SHOWN)
			continue;
		if (shown > 0 && shown + g > DETAIL)
			continue;
		for (size_t i = a; i < a + g; i++)
			k[i].detail = true;
		shown += g;
		taken[id]++;
	}
	free(head), free(kind), free(size), free(taken);
	return shown;
}

static int detail_first(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	if (a->detail != b->detail)
		return a->detail ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

void rep_order(struct rep_model *m)
{
	size_t n = m->n_fnd;
	struct keyed *k = n ? calloc(n, sizeof(*k)) : NULL;
	if (!k) {
		for (size_t i = 0; i < n; i++)
			m->fnd[i].rank = i + 1, m->fnd[i].group_size = 1;
		m->n_detail = n;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].f = m->fnd[i];
		k[i].f.impact = impact(&m->fnd[i]);
	}
	qsort(k, n, sizeof(*k), by_ip_then_impact);
	for (size_t a = 0, b; a < n; a = b) {
		int64_t errors = 0;
		for (b = a; b < n && cmp_ip(&k[a], &k[b]) == 0; b++)
			errors += k[b].f.errors;
		for (size_t i = a; i < b; i++) {
			k[i].group_impact = k[a].f.impact;
			k[i].group_errors = errors;
			k[i].group_size = b - a;
		}
	}
	qsort(k, n, sizeof(*k), by_group);
	for (size_t i = 0; i < n; i++)
		k[i].pos = i;
	m->n_detail = pick_detail(k, n);
	qsort(k, n, sizeof(*k), detail_first); /* by pos within each part: groups stay whole */
	for (size_t i = 0; i < n; i++) {
		m->fnd[i] = k[i].f;
		m->fnd[i].rank = i + 1;
		m->fnd[i].group_size = k[i].group_size;
		m->fnd[i].group_head =
		    i == 0 || strcmp(k[i - 1].f.server_ip, k[i].f.server_ip) != 0;
	}
	free(k);
}

size_t rep_tail(const struct rep_model *m, struct rep_tail *out, size_t max)
{
	size_t n = 0;
	for (size_t i = m->n_detail; i < m->n_fnd; i++) {
		const struct rep_finding *f = &m->fnd[i];
		size_t j = 0;
		while (j < n &&
		       !(strcmp(out[j].label, f->diagnosis) == 0 &&
			 (out[j].service && f->service ? strcmp(out[j].service, f->service) == 0
						       : out[j].service == f->service)))
			j++;
		if (j == n) {
			if (n == max)
				continue;
			out[n++] = (struct rep_tail){.label = f->diagnosis, .service = f->service};
		}
		out[j].n++;
		out[j].errors += f->errors;
		/* the order keeps a host's findings together: look back within the host only */
		bool seen = false;
		for (size_t p = i; p > m->n_detail && !seen; p--) {
			const struct rep_finding *e = &m->fnd[p - 1];
			if (strcmp(e->server_ip, f->server_ip) != 0)
				break;
			seen = strcmp(e->diagnosis, f->diagnosis) == 0 &&
			       (e->service && f->service ? strcmp(e->service, f->service) == 0
							 : e->service == f->service);
		}
		out[j].hosts += !seen;
	}
	for (size_t a = 1; a < n; a++) /* most findings first; few labels: insertion sort */
		for (size_t b = a; b > 0 && out[b].n > out[b - 1].n; b--) {
			struct rep_tail t = out[b];
			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return n;
}
