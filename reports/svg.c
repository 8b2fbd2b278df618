/* svg.c - draws a timeline as inline SVG 1.1 in HTML: lanes of bars, an outage window, a UTC axis.
 */
#include <math.h>
#include <string.h>

#include "reports/report_int.h"

#define W 960.0
#define LEFT 170.0
#define RIGHT 64.0
#define TOP 22.0
#define LANE_H 30.0
#define AXIS_H 34.0
#define PLOT_W (W - LEFT - RIGHT)

int tl_bin(const struct timeline *tl, int64_t t)
{
	double f = (double)(t - tl->t0) / (double)(tl->t1 - tl->t0);
	int b = (int)floor(f * TL_BINS);
	return b < 0 ? 0 : b >= TL_BINS ? TL_BINS - 1 : b;
}

void tl_spread(const struct timeline *tl, struct tl_lane *l, int64_t a, int64_t b, double count)
{
	if (count <= 0)
		return;
	l->total += count;
	int ba = tl_bin(tl, a), bb = tl_bin(tl, b < a ? a : b);
	for (int i = ba; i <= bb; i++)
		l->bins[i] += count / (bb - ba + 1);
}

static double x_of(const struct timeline *tl, int64_t t)
{
	double f = (double)(t - tl->t0) / (double)(tl->t1 - tl->t0);
	return LEFT + (f < 0 ? 0 : f > 1 ? 1 : f) * PLOT_W;
}

/* A tick step giving at most 7 ticks, and the digits of fraction its labels need. */
static int64_t tick_step(int64_t span, int *frac)
{
	static const int64_t ms = 1000000, s = 1000 * ms, m = 60 * s, h = 60 * m, d = 24 * h;
	static const int64_t steps[] = {ms,	  2 * ms,   5 * ms,   10 * ms, 20 * ms, 50 * ms,
					100 * ms, 200 * ms, 500 * ms, s,       2 * s,	5 * s,
					10 * s,	  15 * s,   30 * s,   m,       2 * m,	5 * m,
					10 * m,	  15 * m,   30 * m,   h,       2 * h,	3 * h,
					6 * h,	  12 * h,   d,	      2 * d,   7 * d,	30 * d};
	size_t i = 0;
	while (i + 1 < sizeof(steps) / sizeof(steps[0]) && span / steps[i] > 7)
		i++;
	*frac = steps[i] < 10 * ms ? 3 : steps[i] < s ? 3 : 0;
	return steps[i];
}

static void draw_axis(FILE *out, const struct timeline *tl, double y0, double y1)
{
	int frac;
	int64_t step = tick_step(tl->t1 - tl->t0, &frac);
	int64_t t = tl->t0 - (tl->t0 % step + step) % step + step;
	char buf[48], day[48];
	for (int n = 0; t <= tl->t1 && n < 40; t += step, n++) {
		double x = x_of(tl, t);
		pm_fmt_utc(t, frac, false, buf, sizeof(buf));
		const char *label = step >= 24LL * 3600 * 1000000000 ? buf + 5 : buf + 11;
		if (step >= 24LL * 3600 * 1000000000)
			buf[10] = '\0';
		fprintf(out,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x,
			y0, x, y1 + 4);
		fprintf(
		    out,
		    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
		    x, y1 + 17, label);
	}
	pm_fmt_utc(tl->t0, 0, false, day, sizeof(day));
	day[10] = '\0';
	fprintf(out, "<text class=\"tick\" x=\"8\" y=\"%.1f\">UTC %s</text>", y1 + 17, day);
}

static void draw_label(FILE *out, const struct tl_lane *l, double y)
{
	char cut[80];
	size_t n = 0, cols = 0;
	while (l->label[n] && cols < 26) {
		n++;
		while (((unsigned char)l->label[n] & 0xc0) == 0x80)
			n++;
		cols++;
	}
	snprintf(cut, sizeof(cut), "%.*s%s", (int)n, l->label, l->label[n] ? "…" : "");
	if (l->href[0]) {
		fputs("<a href=\"", out);
		html_puts(out, l->href);
		fputs("\">", out);
	}
	fprintf(out, "<text class=\"lane\" x=\"8\" y=\"%.1f\"><title>", y);
	html_puts(out, l->label);
	fputs("</title>", out);
	html_puts(out, cut);
	fputs("</text>", out);
	if (l->href[0])
		fputs("</a>", out);
}

static void draw_lane(FILE *out, const struct timeline *tl, const struct tl_lane *l, double top)
{
	double base = top + LANE_H - 6, max = 0;
	draw_label(out, l, top + LANE_H / 2 + 4);
	fprintf(out, "<line class=\"base\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT,
		base, W - RIGHT, base);
	if (l->is_span) {
		double xa = x_of(tl, l->span_a), xb = x_of(tl, l->span_b);
		fprintf(out,
			"<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" "
			"rx=\"3\"/>",
			l->cls, xa, base - 12, xb - xa < 3 ? 3 : xb - xa);
		return;
	}
	for (int i = 0; i < TL_BINS; i++)
		max = l->bins[i] > max ? l->bins[i] : max;
	double bw = PLOT_W / TL_BINS;
	for (int i = 0; i < TL_BINS && max > 0; i++) {
		if (l->bins[i] <= 0)
			continue;
		double h = l->bins[i] / max * (LANE_H - 10);
		h = h < 2.5 ? 2.5 : h;
		fprintf(out,
			"<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
			l->cls, LEFT + i * bw, base - h, bw > 1.6 ? bw - 0.6 : 1, h);
	}
	/* the right margin holds about 7 characters: large totals in k and M */
	char tot[32];
	if (l->total >= 999999.5)
		snprintf(tot, sizeof(tot), "%.1fM", l->total / 1e6);
	else if (l->total >= 99999.5)
		snprintf(tot, sizeof(tot), "%.0fk", l->total / 1e3);
	else
		snprintf(tot, sizeof(tot), "%.0f", l->total);
	fprintf(out, "<text class=\"tot\" x=\"%.1f\" y=\"%.1f\">%s%s</text>", W - RIGHT + 8,
		top + LANE_H / 2 + 4, l->estimated ? "≈" : "", tot);
}

static void draw_window(FILE *out, const struct timeline *tl, double y0, double y1)
{
	double xa = x_of(tl, tl->win_a), xb = x_of(tl, tl->win_b);
	fprintf(out, "<rect class=\"outw\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
		xa, y0, xb - xa < 2 ? 2 : xb - xa, y1 - y0);
	fprintf(out, "<text class=\"outl\" x=\"%.1f\" y=\"%.1f\">", xa + 4, y0 - 6);
	html_puts(out, tl->win_label ? tl->win_label : "outage");
	fputs("</text>", out);
}

void svg_timeline(FILE *out, const struct timeline *tl)
{
	double y1 = TOP + tl->n_lanes * LANE_H, h = y1 + AXIS_H;
	fprintf(out, "<svg class=\"tl\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W,
		h);
	html_puts(out, tl->title ? tl->title : "timeline");
	fputs("\"><title>", out);
	html_puts(out, tl->title ? tl->title : "timeline");
	fputs("</title>", out);
	draw_axis(out, tl, TOP, y1);
	if (tl->has_window)
		draw_window(out, tl, TOP - 2, y1);
	for (int i = 0; i < tl->n_lanes; i++)
		draw_lane(out, tl, &tl->lane[i], TOP + i * LANE_H);
	for (int i = 0; i < tl->n_marks; i++) {
		double x = x_of(tl, tl->mark[i].t);
		fprintf(out,
			"<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x,
			TOP - 4, x, y1);
		fprintf(out, "<text class=\"markl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x,
			TOP - 8, i % 2 ? "start" : "end");
		html_puts(out, tl->mark[i].label);
		fputs("</text>", out);
	}
	fputs("</svg>\n", out);
}
