/* plot_2d.c — 2-D histograms as colour maps, with a colour bar that is
 * linear or, with the logz option, logarithmic (decades 10^{n}); and the
 * words that stand for a 3-D histogram.
 *
 * A 2-D histogram is drawn with at most PLOT_MAX_CELLS cells per axis
 * (adjacent bins summed, a profile's means averaged), in PLOT_NCOLOURS
 * colours, each colour one path whose horizontal runs of equal colour
 * are merged.  On a log colour scale a cell at or below zero stays
 * white, as an empty one does. */
#include "plot_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 2-D ---- */

/* A viridis-like colour map: 8 stops, linear in RGB between them. */
static const unsigned char cmap[8][3] = {
	{ 0x44, 0x01, 0x54 }, { 0x46, 0x32, 0x7e }, { 0x36, 0x5c, 0x8d }, { 0x27, 0x7f, 0x8e },
	{ 0x1f, 0xa1, 0x87 }, { 0x4a, 0xc1, 0x6d }, { 0xa0, 0xda, 0x39 }, { 0xfd, 0xe7, 0x25 },
};

static void colour(char *buf, double t)
{
	double p = (t < 0 ? 0 : t > 1 ? 1 : t) * 7;
	int i = p >= 7 ? 6 : (int)p;
	double r = p - i;
	int c[3];
	for (int k = 0; k < 3; k++)
		c[k] = (int)lround(cmap[i][k] + (cmap[i + 1][k] - cmap[i][k]) * r);
	snprintf(buf, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* Whether cell (ix, iy) of a 2-D histogram holds anything. */
static bool filled(const struct hist *h, int ix, int iy)
{
	int idx[2] = { ix, iy };
	return hist_value(h, ix, iy) != 0 ||
	       (hist_profile(h) ? hist_cell_sumw2(h, hist_cell(h, idx)) : hist_variance(h, ix, iy)) != 0;
}

/* A colour map: of sums, or of a profile's means (merged cells show the
 * mean of their samples).  A category axis draws every category, "other"
 * included, as a labelled row or column. */
void plot2(struct canvas *cv, const struct hist *h)
{
	struct strbuf *b = cv->b;
	bool logz = cv->o.logz;
	int nx = dbins(h, 0), ny = dbins(h, 1);
	bool prof = hist_profile(h);
	int gx = (nx + PLOT_MAX_CELLS - 1) / PLOT_MAX_CELLS, gy = (ny + PLOT_MAX_CELLS - 1) / PLOT_MAX_CELLS;
	int cols = (nx + gx - 1) / gx, rows = (ny + gy - 1) / gy;
	double *sum = calloc((size_t)cols * rows, sizeof(*sum));
	double *wsum = prof ? calloc((size_t)cols * rows, sizeof(*wsum)) : NULL;
	signed char *q = calloc((size_t)cols * rows, 1);
	if (!sum || !q || (prof && !wsum)) {
		b->err = -ENOMEM;
		goto out;
	}
	/* Merged cells: sums of values, then colour levels in q; a cell with
	 * no content (q -1) stays white. */
	double zlo = 0, zhi = 0, minpos = INFINITY;
	for (int c = 0; c < cols; c++) {
		for (int ix = c * gx + 1; ix <= nx && ix <= (c + 1) * gx; ix++) {
			for (int iy = 1; iy <= ny; iy++) {
				size_t k = (size_t)c * rows + (iy - 1) / gy;
				int sx = dcell(h, 0, ix), sy = dcell(h, 1, iy), idx[2] = { sx, sy };
				double v = hist_value(h, sx, sy);
				if (prof) {
					double w = hist_cell_sumw(h, hist_cell(h, idx));
					sum[k] += v * w;
					wsum[k] += w;
				} else {
					sum[k] += v;
				}
				q[k] |= filled(h, sx, sy);
			}
		}
	}
	for (size_t k = 0; k < (size_t)cols * rows; k++) {
		if (prof)
			sum[k] = wsum[k] != 0 ? sum[k] / wsum[k] : 0;
		sum[k] = clampv(sum[k]);
		zlo = fmin(zlo, sum[k]);
		zhi = fmax(zhi, sum[k]);
		if (q[k] && sum[k] > 0)
			minpos = fmin(minpos, sum[k]);
	}
	struct ticks tx, ty, tz;
	if (logz) {
		/* Whole decades from the smallest positive cell to the largest. */
		range_log(minpos, zhi, 0, &zlo, &zhi);
		ticks_log(&tz, zlo, zhi, cv->h - 110);
	} else {
		if (!(zhi - zlo > PLOT_TINY))
			zhi = zlo + 1;
		nice_step(&tz, zlo, zhi, 6);
		ticks_make(&tz, zlo, zhi);
	}
	for (size_t k = 0; k < (size_t)cols * rows; k++) {
		double t = logz ? (sum[k] > 0 ? frac(log10(sum[k]), log10(zlo), log10(zhi)) : -1)
				: frac(sum[k], zlo, zhi);
		q[k] = q[k] && t >= 0 ? (signed char)(t * (PLOT_NCOLOURS - 1) + 0.5) : -1;
	}
	/* Where a value sits on the colour bar, 0..1. */
#define ZF(v) (logz ? frac(log10(v), log10(zlo), log10(zhi)) : frac((v), zlo, zhi))
	struct frame f = { .x1 = cv->w - 74 - tz.maxw, .y0 = 52, .y1 = cv->h - 58,
			   .xlo = dedge(h, 0, 1), .xhi = dedge(h, 0, nx + 1),
			   .ylo = dedge(h, 1, 1), .yhi = dedge(h, 1, ny + 1) };
	if (is_cat(h, 1)) {
		cat_ticks(&ty, h, 1, f.y1 - f.y0, true);
	} else {
		nice_step(&ty, f.ylo, f.yhi, 6);
		ticks_make(&ty, f.ylo, f.yhi);
	}
	f.x0 = 36 + ty.maxw;
	if (is_cat(h, 0))
		cat_ticks(&tx, h, 0, f.x1 - f.x0, false);
	else
		ticks_fit(&tx, f.xlo, f.xhi, f.x1 - f.x0);

	strbuf_puts(b, "<g shape-rendering=\"crispEdges\" stroke=\"none\">\n");
	for (int level = 0; level < PLOT_NCOLOURS; level++) {
		bool open = false;
		for (int r = 0; r < rows; r++) {
			int iy0 = r * gy + 1, iy1 = (r + 1) * gy + 1 > ny + 1 ? ny + 1 : (r + 1) * gy + 1;
			double ya = fy(&f, dedge(h, 1, iy1)), yb = fy(&f, dedge(h, 1, iy0));
			for (int c = 0; c < cols; c++) {
				if (q[(size_t)c * rows + r] != level)
					continue;
				int c1 = c;  /* the run of equal colour */
				while (c1 + 1 < cols && q[(size_t)(c1 + 1) * rows + r] == level)
					c1++;
				int ix1 = (c1 + 1) * gx + 1 > nx + 1 ? nx + 1 : (c1 + 1) * gx + 1;
				double xa = fx(&f, dedge(h, 0, c * gx + 1)), xb = fx(&f, dedge(h, 0, ix1));
				if (!open) {
					char col[8];
					colour(col, (double)level / (PLOT_NCOLOURS - 1));
					sb_printf(b, "<path fill=\"%s\" d=\"", col);
					open = true;
				}
				sb_printf(b, "M%.1f %.1fH%.1fV%.1fH%.1fZ", xa, ya, xb, yb, xa);
				c = c1;
			}
		}
		if (open)
			strbuf_puts(b, "\"/>\n");
	}
	strbuf_puts(b, "</g>\n");

	/* The colour bar: a gradient through the stops, ticks on its right. */
	double bx = f.x1 + 14, bw = 14;
	strbuf_puts(b, "<defs><linearGradient id=\"cmap\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
	for (int i = 0; i < 8; i++) {
		char col[8];
		colour(col, i / 7.0);
		sb_printf(b, "<stop offset=\"%.4f\" stop-color=\"%s\"/>", i / 7.0, col);
	}
	strbuf_puts(b, "</linearGradient></defs>\n");
	sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"url(#cmap)\" "
		  "stroke=\"black\" stroke-width=\"0.8\"/>\n", bx, f.y0, bw, f.y1 - f.y0);
	strbuf_puts(b, "<path stroke=\"black\" d=\"");
	for (int i = 0; i < tz.n; i++)
		sb_printf(b, "M%.1f %.1fh4", bx + bw, f.y1 - (f.y1 - f.y0) * ZF(tz.v[i]));
	strbuf_puts(b, "\"/>\n<g fill=\"#222\">\n");
	for (int i = 0; i < tz.n; i++)
		text_at(b, bx + bw + 7, f.y1 - (f.y1 - f.y0) * ZF(tz.v[i]) + 4, 12, "start", 0,
			tz.s[i]);
	strbuf_puts(b, "</g>\n");
	if (logz) {  /* minor ticks of the log colour bar, at 2..9 times the decades */
		strbuf_puts(b, "<path stroke=\"black\" d=\"");
		for (double d = zlo; d < zhi && tz.step <= 1; d *= 10)
			for (int m = 2; m <= 9; m++)
				if (m * d < zhi)
					sb_printf(b, "M%.1f %.1fh2", bx + bw, f.y1 - (f.y1 - f.y0) * ZF(m * d));
		strbuf_puts(b, "\"/>\n");
	}
#undef ZF
	text_at(b, cv->w - 10, (f.y0 + f.y1) / 2, 13, "middle", -90,
		hist_value_label(h)[0] ? hist_value_label(h)
		: prof ? "Mean" : hist_weighted(h) ? "Sum of weights" : "Entries");

	/* Off the frame: the flow bins of regular and variable axes (for a
	 * profile, their entries). */
	double flow = 0;
	for (int ix = 0; ix < hist_extent(h, 0); ix++) {
		for (int iy = 0; iy < hist_extent(h, 1); iy++) {
			int idx[2] = { ix, iy };
			if (!drawn(h, 0, ix) || !drawn(h, 1, iy))
				flow += prof ? hist_cell_sumw(h, hist_cell(h, idx)) : hist_value(h, ix, iy);
		}
	}
	char extra[128] = "", fb[32];
	fmt_amount(fb, flow, hist_weighted(h));
	int n = flow != 0 ? snprintf(extra, sizeof(extra), "%s %s", prof ? "entries out of range" :
				     "out of range", fb) : 0;
	if (gx > 1 || gy > 1)
		snprintf(extra + n, sizeof(extra) - n, "%sdrawn %dx%d bins per cell", n ? ", " : "", gx, gy);
	axes(b, &f, &tx, &ty, hist_label(h, 0)[0] ? hist_label(h, 0) : "x",
	     hist_label(h, 1)[0] ? hist_label(h, 1) : "y");
	heading(cv, h, &f, extra);
out:
	free(sum);
	free(wsum);
	free(q);
}

/* ---- 3-D ---- */

/* A picture of three axes would mislead more than it shows: say so. */
void plot3(struct canvas *cv, const struct hist *h)
{
	struct strbuf *b = cv->b;
	struct frame f = { .x0 = 40, .x1 = cv->w - 40, .y0 = 52, .y1 = cv->h - 58 };
	text_at(b, cv->w / 2.0, cv->h / 2.0 - 12, 15, "middle", 0, "3-D histograms are not drawn.");
	text_raw(b, cv->w / 2.0, cv->h / 2.0 + 14, 13, "middle", 0,
		"Their bins are in hist.json, and one line per cell in the .csv beside this file.");
	heading(cv, h, &f, "");
}

