/* plot_1d.c — 1-D histograms (see plot.h), and plot_svg() itself.
 *
 * The canvas is 640x480 unless the histogram's plot options say another
 * size.  Layout sizes come from estimated text widths (0.6 em per
 * character), which is close enough for sans-serif digits that tick
 * labels never collide.  Output size is bounded whatever the binning: a
 * 1-D histogram is drawn with at most two groups of bins per pixel column
 * (each group drawn as its minimum-to-maximum span, so values stay per
 * original bin).  A category axis spans 0..n in the frame's coordinates,
 * one unit a category, with its labels as the ticks. */
#include "plot_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What bin i shows: its value, per unit of x with density. */
static double bval(const struct hist *h, int i, bool density)
{
	double v = hist_value(h, i, 0);
	return density ? v / (hist_edge(h, 0, i + 1) - hist_edge(h, 0, i)) : v;
}

/* The root of its variance: sqrt(N) for counts. */
static double berr(const struct hist *h, int i, bool density)
{
	double e = sqrt(hist_variance(h, i, 0));
	return density ? e / (hist_edge(h, 0, i + 1) - hist_edge(h, 0, i)) : e;
}

/* Bins [b0, b1] as one drawn group: its value span and the last value. */
struct group {
	double lo, hi, last, xa, xb;
};

static void group_of(const struct hist *h, int b0, int b1, bool err, bool density, struct group *g)
{
	g->lo = INFINITY;
	g->hi = -INFINITY;
	g->last = 0;
	for (int i = b0; i <= b1; i++) {
		double v = clampv(bval(h, i, density));
		double e = err ? berr(h, i, density) : 0;
		g->lo = fmin(g->lo, clampv(v - e));
		g->hi = fmax(g->hi, clampv(v + e));
		g->last = v;
	}
	g->xa = hist_edge(h, 0, b0);
	g->xb = hist_edge(h, 0, b1 + 1);
}

/* The y range of a linear axis for values in [ylo, yhi]: 0 included, 5%
 * of the span either way, grown to whole steps. */
static void range_linear(double *ylo, double *yhi, bool pad_low)
{
	if (fabs(*ylo) < PLOT_TINY)
		*ylo = 0;
	if (fabs(*yhi) < PLOT_TINY)
		*yhi = 0;
	if (!(*yhi > *ylo)) {
		*yhi = *ylo + 1;  /* empty: 0..1 */
	} else {
		double pad = (*yhi / 2 - *ylo / 2) * 0.1;
		*yhi = clampv(*yhi + pad);
		if (pad_low || *ylo < 0)
			*ylo = clampv(*ylo - pad);
	}
}

/* Points with error bars, empty bins left out as ROOT does; on a log
 * axis a bin at or below 0 has no point. */
static void draw_points(struct strbuf *b, const struct frame *f, const struct hist *h, bool density)
{
	int n = hist_nbins(h, 0);
	double bw = (f->x1 - f->x0) / n;
	struct strbuf dots = STRBUF_INIT;
	strbuf_puts(b, "<path fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" d=\"");
	for (int i = 1; i <= n; i++) {
		double v = bval(h, i, density), e = berr(h, i, density);
		if ((v == 0 && e == 0) || (f->logy && !(v > 0)))
			continue;
		double xa = fx(f, hist_edge(h, 0, i)), xb = fx(f, hist_edge(h, 0, i + 1));
		sb_printf(b, "M%.1f %.1fV%.1fM%.1f %.1fH%.1f", (xa + xb) / 2, fy(f, v + e), fy(f, v - e), xa,
			  fy(f, v), xb);
		dot(&dots, (xa + xb) / 2, fy(f, v), bw);
	}
	dots_end(b, &dots, "");
}

void plot1(struct canvas *c, const struct hist *h)
{
	struct strbuf *b = c->b;
	int n = hist_nbins(h, 0);
	bool w = hist_weighted(h), dens = c->o.density, pts = w || c->o.points;
	/* Two groups per pixel column at most. */
	int per = n > 1080 ? (n + 1079) / 1080 : 1;
	double ylo = 0, yhi = 0, minpos = INFINITY;
	struct group g;
	for (int i = 1; i <= n; i += per) {
		group_of(h, i, i + per - 1 > n ? n : i + per - 1, pts, dens, &g);
		ylo = fmin(ylo, g.lo);
		yhi = fmax(yhi, g.hi);
		if (g.last > 0)
			minpos = fmin(minpos, g.last);
		if (g.lo > 0)
			minpos = fmin(minpos, g.lo);
	}
	struct ticks tx, ty;
	if (c->o.logy) {
		range_log(minpos, yhi, c->o.label || c->o.lumi ? 0.1 : 0.05, &ylo, &yhi);
		ticks_log(&ty, ylo, yhi, c->h - 110);
	} else {
		range_linear(&ylo, &yhi, false);
		ticks_linear_y(&ty, &ylo, &yhi);  /* y grows to whole steps */
	}
	struct frame f = { .x0 = 36 + ty.maxw, .x1 = c->w - 24, .y0 = 52, .y1 = c->h - 58,
			   .xlo = hist_edge(h, 0, 1), .xhi = hist_edge(h, 0, n + 1), .ylo = ylo, .yhi = yhi,
			   .logy = c->o.logy, .logx = c->o.logx && hist_edge(h, 0, 1) > 0 };
	if (f.logx)
		ticks_log(&tx, f.xlo, f.xhi, f.x1 - f.x0);
	else
		ticks_fit(&tx, f.xlo, f.xhi, f.x1 - f.x0);
	double base = f.logy ? f.y1 : fy(&f, 0);

	if (ylo < 0 && !f.logy)
		sb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
			  f.x0, base, f.x1);
	if (pts && per == 1) {
		draw_points(b, &f, h, dens);
	} else {
		/* A step line; filled when unweighted.  Merged groups draw their
		 * whole span (with errors when weighted), so a spike stays visible. */
		sb_printf(b, "<path fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" "
			  "d=\"M%.1f %.1f", w ? "none" : "#cadcf0", w ? "black" : "#1f4e9c", f.x0, base);
		for (int i = 1; i <= n; i += per) {
			group_of(h, i, i + per - 1 > n ? n : i + per - 1, w, dens, &g);
			if (per == 1)
				sb_printf(b, "V%.1fH%.1f", fy(&f, g.last), fx(&f, g.xb));
			else
				sb_printf(b, "V%.1fV%.1fV%.1fH%.1f", fy(&f, g.hi), fy(&f, g.lo), fy(&f, g.last),
					  fx(&f, g.xb));
		}
		sb_printf(b, "V%.1f%s\"/>\n", base, w ? "" : "Z");
	}

	char ylabel[160], flow[128] = "", u[32], o[32];
	y_title(ylabel, sizeof(ylabel), h, w ? "Sum of weights" : "Entries", dens);
	double uv = hist_value(h, 0, 0), ov = hist_value(h, n + 1, 0);
	fmt_amount(u, uv, w);
	fmt_amount(o, ov, w);
	if (uv != 0 || ov != 0)
		snprintf(flow, sizeof(flow), "underflow %s, overflow %s", u, o);
	if (per > 1)
		snprintf(flow + strlen(flow), sizeof(flow) - strlen(flow), "%sdrawn %d bins per step",
			 flow[0] ? ", " : "", per);
	/* The query's ylabel= (the value label) says it better than we can. */
	axes(b, &f, &tx, &ty, hist_label(h, 0)[0] ? hist_label(h, 0) : hist_name(h),
	     hist_value_label(h)[0] ? hist_value_label(h) : ylabel);
	heading(c, h, &f, flow);
}

/* ---- 1-D categories and profiles ---- */

/* What drawn bin k of a 1-D histogram shows: a profile's mean and the
 * error of the mean, boost-histogram's sqrt(variances() / counts()) (the
 * count, or the sum of weights; 0 where undefined), or a category's
 * count or sum of weights, with the root of its variance when weighted.
 * false for an empty profile cell, which is not drawn. */
static bool point(const struct hist *h, int k, double *v, double *e)
{
	size_t c = (size_t)dcell(h, 0, k);
	*v = hist_cell_value(h, c);
	*e = 0;
	if (!hist_profile(h)) {
		if (hist_weighted(h))
			*e = sqrt(hist_cell_variance(h, c));
		return true;
	}
	double n = hist_cell_sumw(h, c), n2 = hist_cell_sumw2(h, c), var = hist_cell_variance(h, c);
	if (n == 0 && n2 == 0)
		return false;
	if ((hist_weighted(h) ? n * n > n2 : n > 1) && var > 0)
		*e = sqrt(var / n);
	return true;
}

/* Bars (categories) or points with error bars (profiles), over
 * categories or bins; more than two bins per pixel column are drawn as
 * the span of their values, as plot1() does. */
void plot1x(struct canvas *c, const struct hist *h)
{
	struct strbuf *b = c->b;
	int n = dbins(h, 0);
	bool prof = hist_profile(h);
	int per = n > 1080 ? (n + 1079) / 1080 : 1;
	double ylo = INFINITY, yhi = -INFINITY, v, e;
	for (int k = 1; k <= n; k++) {
		if (point(h, k, &v, &e)) {
			ylo = fmin(ylo, clampv(v - e));
			yhi = fmax(yhi, clampv(v + e));
		}
	}
	if (!prof) {  /* bars stand on 0 */
		ylo = fmin(ylo, 0);
		yhi = fmax(yhi, 0);
	}
	if (!(ylo <= yhi))
		ylo = yhi = 0;  /* an empty profile */
	if (fabs(ylo) < PLOT_TINY)
		ylo = 0;
	if (fabs(yhi) < PLOT_TINY)
		yhi = 0;
	if (!(yhi > ylo)) {
		double d = prof && ylo != 0 ? fabs(ylo) / 2 : 1;
		ylo = prof ? clampv(ylo - d) : ylo;
		yhi = clampv(yhi + d);
	} else {
		range_linear(&ylo, &yhi, prof);
	}
	struct ticks tx, ty;
	ticks_linear_y(&ty, &ylo, &yhi);
	struct frame f = { .x0 = 36 + ty.maxw, .x1 = c->w - 24, .y0 = 52, .y1 = c->h - 58,
			   .xlo = dedge(h, 0, 1), .xhi = dedge(h, 0, n + 1), .ylo = ylo, .yhi = yhi };
	if (is_cat(h, 0))
		cat_ticks(&tx, h, 0, f.x1 - f.x0, false);
	else
		ticks_fit(&tx, f.xlo, f.xhi, f.x1 - f.x0);
	double base = fy(&f, 0), bw = (f.x1 - f.x0) / n;

	if (ylo < 0 && yhi > 0)
		sb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
			  f.x0, base, f.x1);
	struct strbuf dots = STRBUF_INIT;
	if (!prof && per == 1) {
		strbuf_puts(b, "<path fill=\"#cadcf0\" stroke=\"#1f4e9c\" stroke-width=\"1.2\" d=\"");
		for (int k = 1; k <= n; k++) {
			point(h, k, &v, &e);
			double xa = fx(&f, dedge(h, 0, k)), xb = fx(&f, dedge(h, 0, k + 1)), g = (xb - xa) * 0.1;
			sb_printf(b, "M%.1f %.1fV%.1fH%.1fV%.1fZ", xa + g, base, fy(&f, v), xb - g, base);
		}
		strbuf_puts(b, "\"/>\n");
	}
	/* Error bars and points, or the spans of merged groups. */
	strbuf_puts(b, "<path fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" d=\"");
	for (int k = 1; k <= n; k += per) {
		int k1 = k + per - 1 > n ? n : k + per - 1;
		double lo = INFINITY, hi = -INFINITY;
		for (int j = k; j <= k1; j++) {
			if (point(h, j, &v, &e)) {
				lo = fmin(lo, clampv(v - e));
				hi = fmax(hi, clampv(v + e));
			}
		}
		if (!(lo <= hi) || (!prof && per == 1 && e == 0))
			continue;
		double xa = fx(&f, dedge(h, 0, k)), xb = fx(&f, dedge(h, 0, k1 + 1)), xm = (xa + xb) / 2;
		sb_printf(b, "M%.1f %.1fV%.1f", xm, fy(&f, hi), fy(&f, lo));
		if (prof && per == 1) {
			sb_printf(b, "M%.1f %.1fH%.1f", xa, fy(&f, v), xb);
			dot(&dots, xm, fy(&f, v), bw);
		}
	}
	dots_end(b, &dots, "");

	/* A profile's flow bins hold means: the heading gives their entries. */
	char flow[128] = "", u[32], o[32];
	if (!is_cat(h, 0)) {
		double uw = hist_cell_sumw(h, 0), ow = hist_cell_sumw(h, (size_t)n + 1);
		fmt_amount(u, uw, hist_weighted(h));
		fmt_amount(o, ow, hist_weighted(h));
		if (uw != 0 || ow != 0)
			snprintf(flow, sizeof(flow), "%s %s, %s %s", prof ? "entries below" : "underflow", u,
				 prof ? "above" : "overflow", o);
	}
	if (per > 1)
		snprintf(flow + strlen(flow), sizeof(flow) - strlen(flow), "%sdrawn %d bins per step",
			 flow[0] ? ", " : "", per);
	axes(b, &f, &tx, &ty, hist_label(h, 0)[0] ? hist_label(h, 0) : hist_name(h),
	     hist_value_label(h)[0] ? hist_value_label(h)
	     : prof ? "Mean" : hist_weighted(h) ? "Sum of weights" : "Entries");
	heading(c, h, &f, flow);
}

int plot_svg(const struct hist *h, char **out, size_t *len)
{
	struct strbuf b = STRBUF_INIT;
	struct canvas c;
	canvas_init(&c, &b, h);
	svg_begin(&b, c.w, c.h);
	if (hist_ndim(h) == 3)
		plot3(&c, h);
	else if (hist_ndim(h) == 2)
		plot2(&c, h);
	else if (hist_profile(h) || is_cat(h, 0))
		plot1x(&c, h);
	else
		plot1(&c, h);
	svg_end(&b);
	return strbuf_finish(&b, out, len);
}
