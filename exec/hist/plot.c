/* plot.c — histograms as SVG (see plot.h; the CSV is plot_csv.c's).
 *
 * The SVG is a fixed 640x480 canvas.  Layout sizes come from estimated text
 * widths (0.6 em per character), which is close enough for sans-serif
 * digits that tick labels never collide.  Output size is bounded whatever
 * the binning: a 1-D histogram is drawn with at most two groups of bins per
 * pixel column (each group drawn as its minimum-to-maximum span, so values
 * stay per original bin), and a 2-D one with at most PLOT_MAX_CELLS cells
 * per axis (adjacent bins summed, a profile's means averaged), in
 * PLOT_NCOLOURS colours, each colour one path whose horizontal runs of
 * equal colour are merged.  A category axis spans 0..n in the frame's
 * coordinates, one unit a category, with its labels as the ticks.
 *
 * Numbers in the markup never depend on LC_NUMERIC: sb_printf() turns a
 * decimal comma back into a point, so its formats carry no literal commas;
 * text goes through sb_text(), which escapes XML and repairs bad UTF-8. */
#include "plot.h"
#include "jsonw.h"
#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W 640
#define PLOT_H 480
#define PLOT_MAX_TICKS 24
#define PLOT_MAX_CELLS 200      /* per axis, drawn cells of a 2-D histogram */
#define PLOT_NCOLOURS 64
#define PLOT_BIG 1e300          /* larger magnitudes are drawn at this value */
#define PLOT_TINY 1e-280        /* smaller magnitudes count as 0 for ranges */
#define PLOT_MAX_TEXT 160       /* bytes of a label or title shown */
#define PLOT_CAT_CHARS 16       /* bytes of a category's tick label shown */

/* ---- text ---- */

static void fix_comma(char *s)
{
	for (; *s; s++)
		if (*s == ',')
			*s = '.';
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	fix_comma(tmp);
	strbuf_put(b, tmp, (size_t)n);
}

/* s as XML character data: markup characters escaped, control characters
 * (not allowed in XML 1.0) as spaces, invalid UTF-8 as U+FFFD, and at most
 * PLOT_MAX_TEXT bytes shown before an ellipsis. */
static void sb_text(struct strbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		if (i >= PLOT_MAX_TEXT) {
			strbuf_puts(b, "\xe2\x80\xa6");
			return;
		}
		size_t k = utf8_len(p + i, n - i);
		const char *r = k == 0 ? "\xef\xbf\xbd" : p[i] == '<' ? "&lt;" : p[i] == '>' ? "&gt;" :
				p[i] == '&' ? "&amp;" : p[i] == '"' ? "&quot;" : p[i] == '\'' ? "&apos;" :
				p[i] < 0x20 || p[i] == 0x7f ? " " : NULL;
		if (r)
			strbuf_puts(b, r);
		else
			strbuf_put(b, s + i, k);
		k += k == 0;
		i += k;
	}
}

/* ---- numbers and ticks ---- */

/* v within +-PLOT_BIG; NaN, which a histogram never holds, as -PLOT_BIG. */
static double clampv(double v)
{
	return !(v > -PLOT_BIG) ? -PLOT_BIG : v < PLOT_BIG ? v : PLOT_BIG;
}

/* Where v lies in [lo, hi] as 0..1; halves keep hi - lo finite. */
static double frac(double v, double lo, double hi)
{
	double t = (v / 2 - lo / 2) / (hi / 2 - lo / 2);
	return t < 0 ? 0 : t > 1 ? 1 : t;
}

struct ticks {
	int n, mant;             /* mant: the step is mant * 10^k, mant 1, 2 or 5 */
	double step, v[PLOT_MAX_TICKS];
	char s[PLOT_MAX_TICKS][32];
	size_t maxw;             /* characters of the widest label */
	bool cat;                /* labels of categories at their centres: no minor ticks */
};

/* A step of 1, 2 or 5 times a power of ten nearest to giving target
 * steps over [lo, hi], into t; halves keep the span finite. */
static void nice_step(struct ticks *t, double lo, double hi, int target)
{
	t->cat = false;
	double raw = (hi / 2 - lo / 2) / target * 2;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	t->mant = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
	if (t->mant == 10) {
		t->mant = 1;
		mag *= 10;
	}
	t->step = t->mant * mag;
}

/* Tick values in [lo, hi] at t's step, and their labels: fixed decimals as the step
 * needs them, or a compact exponent form (1e+06, 2.5e-05) for magnitudes
 * of a million and more or below a thousandth. */
static void ticks_make(struct ticks *t, double lo, double hi)
{
	double k = floor(log10(t->step / t->mant) + 0.5);  /* step = mant * 10^k */
	double k0 = ceil(lo / t->step - 1e-9);
	double maxabs = 0;
	t->n = 0;
	for (int i = 0; t->n < PLOT_MAX_TICKS; i++) {
		double v = (k0 + i) * t->step;
		if (v > hi + t->step * 1e-9)
			break;
		if (fabs(v) < t->step * 1e-6)
			v = 0;
		t->v[t->n++] = v;
		maxabs = fmax(maxabs, fabs(v));
	}
	bool expo = maxabs >= 1e6 || (maxabs > 0 && maxabs < 1e-3);
	int sig = (int)(floor(log10(maxabs > 0 ? maxabs : 1)) - k) + 1;
	sig = sig < 1 ? 1 : sig > 17 ? 17 : sig;
	int dec = k < 0 ? (int)-k : 0;
	dec = dec > 17 ? 17 : dec;
	t->maxw = 1;
	for (int i = 0; i < t->n; i++) {
		char *s = t->s[i];
		if (t->v[i] == 0) {
			strcpy(s, "0");
		} else {
			/* Trailing zeros go: 1 and 0.5, 1e+06 and 1.5e+06. */
			snprintf(s, 32, expo ? "%.*e" : "%.*f", expo ? sig - 1 : dec, t->v[i]);
			char *e = expo ? strchr(s, 'e') : s + strlen(s), *z = e;
			if (strpbrk(s, ".,")) {  /* a point stops the walk back */
				while (z[-1] == '0')
					z--;
				z -= z[-1] == '.' || z[-1] == ',';
			}
			memmove(z, e, strlen(e) + 1);
		}
		fix_comma(s);
		t->maxw = strlen(s) > t->maxw ? strlen(s) : t->maxw;
	}
}

/* Ticks for a horizontal axis of width px: the most, about 6, whose labels
 * (12 px font) leave a gap between neighbours. */
static void ticks_fit(struct ticks *t, double lo, double hi, double px)
{
	for (int target = 6; target >= 2; target--) {
		nice_step(t, lo, hi, target);
		ticks_make(t, lo, hi);
		if (t->n * (t->maxw * 7.2 + 14) <= px)
			return;
	}
}

/* Compact text of a flow or sum value. */
static void fmt_amount(char *buf, double v, bool weighted)
{
	if (!weighted && fabs(v) < 1e15)
		snprintf(buf, 32, "%.0f", v);
	else
		snprintf(buf, 32, "%.4g", v);
}

/* ---- frame, axes and text ---- */

struct frame {
	double x0, x1, y0, y1;   /* pixels: left, right, top, bottom */
	double xlo, xhi, ylo, yhi;
};

/* Pixel coordinates of x and y. */
#define fx(f, x) ((f)->x0 + ((f)->x1 - (f)->x0) * frac(clampv(x), (f)->xlo, (f)->xhi))
#define fy(f, y) ((f)->y1 - ((f)->y1 - (f)->y0) * frac(clampv(y), (f)->ylo, (f)->yhi))

/* A text element; anchor "start", "middle" or "end"; rot -90 or 0. */
static void text_at(struct strbuf *b, double x, double y, int size, const char *anchor,
		    int rot, const char *s)
{
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"", x, y, size, anchor);
	if (rot)
		sb_printf(b, " transform=\"rotate(%d %.1f %.1f)\"", rot, x, y);
	strbuf_puts(b, ">");
	sb_text(b, s);
	strbuf_puts(b, "</text>\n");
}

/* Minor ticks, 3 px, at a fifth (a quarter for steps of 2) of t's step:
 * on the y axis (at x0 and x1) when vertical, else on the x axis. */
static void minor_ticks(struct strbuf *b, const struct frame *f, const struct ticks *t, bool vertical)
{
	if (t->cat)
		return;
	double lo = vertical ? f->ylo : f->xlo, hi = vertical ? f->yhi : f->xhi;
	double step = t->step / (t->mant == 2 ? 4 : 5);
	double k0 = ceil(lo / step - 1e-9);
	for (int i = 0; i < 100; i++) {
		double v = (k0 + i) * step;
		if (v > hi + step * 1e-9)
			break;
		if (vertical)
			sb_printf(b, "M%.1f %.1fh3M%.1f %.1fh-3", f->x0, fy(f, v), f->x1, fy(f, v));
		else
			sb_printf(b, "M%.1f %.1fv-3M%.1f %.1fv3", fx(f, v), f->y1, fx(f, v), f->y0);
	}
}

/* Ticks pointing inward on all four sides, tick labels left and below,
 * the frame on top of whatever was drawn, and the axis labels. */
static void axes(struct strbuf *b, const struct frame *f, const struct ticks *tx,
		 const struct ticks *ty, const char *xlabel, const char *ylabel)
{
	strbuf_puts(b, "<path fill=\"none\" stroke=\"black\" stroke-width=\"1\" d=\"");
	for (int i = 0; i < tx->n; i++)
		sb_printf(b, "M%.1f %.1fv-7M%.1f %.1fv7", fx(f, tx->v[i]), f->y1, fx(f, tx->v[i]), f->y0);
	for (int i = 0; i < ty->n; i++)
		sb_printf(b, "M%.1f %.1fh7M%.1f %.1fh-7", f->x0, fy(f, ty->v[i]), f->x1, fy(f, ty->v[i]));
	minor_ticks(b, f, tx, false);
	minor_ticks(b, f, ty, true);
	strbuf_puts(b, "\"/>\n");
	sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
		  "stroke=\"black\" stroke-width=\"1.2\"/>\n", f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
	strbuf_puts(b, "<g fill=\"#222\">\n");
	for (int i = 0; i < tx->n; i++)
		text_at(b, fx(f, tx->v[i]), f->y1 + 18, 12, "middle", 0, tx->s[i]);
	for (int i = 0; i < ty->n; i++)
		text_at(b, f->x0 - 6, fy(f, ty->v[i]) + 4, 12, "end", 0, ty->s[i]);
	strbuf_puts(b, "</g>\n");
	text_at(b, (f->x0 + f->x1) / 2, f->y1 + 42, 14, "middle", 0, xlabel);
	text_at(b, f->x0 - 14 - ty->maxw * 7.2, (f->y0 + f->y1) / 2, 14, "middle", -90, ylabel);
}

/* The title centred over the frame, the statistics right-aligned below it. */
static void heading(struct strbuf *b, const struct hist *h, const struct frame *f, const char *extra)
{
	const char *title = hist_title(h)[0] ? hist_title(h) : hist_name(h);
	text_at(b, (f->x0 + f->x1) / 2, 26, 17, "middle", 0, title);
	char stats[256];
	int n = snprintf(stats, sizeof(stats), "Entries %" PRIu64, hist_entries(h));
	if (hist_skipped(h))
		n += snprintf(stats + n, sizeof(stats) - n, ", skipped %" PRIu64, hist_skipped(h));
	if (extra[0])
		snprintf(stats + n, sizeof(stats) - n, ", %s", extra);
	strbuf_puts(b, "<g fill=\"#555\">");
	text_at(b, f->x1, f->y0 - 8, 11, "end", 0, stats);
	strbuf_puts(b, "</g>\n");
}

/* "Entries / 0.5 GeV" for a regular axis whose label ends in "[GeV]". */
static void y_title(char *buf, size_t cap, const struct hist *h, const char *what)
{
	int n = hist_nbins(h, 0);
	double e0 = hist_edge(h, 0, 1), en = hist_edge(h, 0, n + 1);
	double w = en / n - e0 / n;
	for (int i = 1; i <= n; i++) {
		double wi = hist_edge(h, 0, i + 1) - hist_edge(h, 0, i);
		if (!(fabs(wi - w) <= 1e-6 * w)) {
			snprintf(buf, cap, "%s per bin", what);
			return;
		}
	}
	const char *label = hist_label(h, 0), *lb = strrchr(label, '[');
	size_t ll = strlen(label);
	int ul = 0;
	if (lb && ll > 0 && label[ll - 1] == ']' && (size_t)(label + ll - 1 - lb) < 24)
		ul = (int)(label + ll - 1 - lb - 1);
	char wb[32];
	snprintf(wb, sizeof(wb), "%.3g", w);
	snprintf(buf, cap, "%s / %s%s%.*s", what, wb, ul > 0 ? " " : "", ul > 0 ? ul : 0, ul > 0 ? lb + 1 : "");
}

/* ---- category axes ---- */

/* The bins an axis draws, numbered 1..n: a regular or variable axis's own
 * (its flow bins stay off the frame, in the heading's numbers), or every
 * stored bin of a category axis, "other" included, each one unit wide. */
static bool is_cat(const struct hist *h, int axis)
{
	int k = hist_axis_kind(h, axis);
	return k == HIST_AXIS_CAT_INT || k == HIST_AXIS_CAT_STR;
}

static int dbins(const struct hist *h, int axis)
{
	return is_cat(h, axis) ? hist_extent(h, axis) : hist_nbins(h, axis);
}

/* The stored bin of drawn bin k. */
static int dcell(const struct hist *h, int axis, int k)
{
	return is_cat(h, axis) ? k - 1 : k;
}

/* The lower edge of drawn bin k (1..n+1). */
static double dedge(const struct hist *h, int axis, int k)
{
	return is_cat(h, axis) ? k - 1 : hist_edge(h, axis, k);
}

/* The tick label of stored bin i of a category axis: at most
 * PLOT_CAT_CHARS bytes, cut at a character's start, then an ellipsis. */
static void cat_label(char buf[32], const struct hist *h, int axis, int i)
{
	if (i == hist_nbins(h, axis))
		snprintf(buf, 32, "other");
	else if (hist_axis_kind(h, axis) == HIST_AXIS_CAT_INT)
		snprintf(buf, 32, "%" PRId64, hist_cat_int(h, axis, i));
	else
		snprintf(buf, 32, "%.*s", PLOT_CAT_CHARS + 1, hist_cat_str(h, axis, i));
	if (strlen(buf) > PLOT_CAT_CHARS) {
		int k = PLOT_CAT_CHARS;
		while (k > 0 && ((unsigned char)buf[k] & 0xc0) == 0x80)
			k--;
		strcpy(buf + k, "\xe2\x80\xa6");
	}
}

/* Ticks at the centres of a category axis's bins, each labelled when
 * the labels fit along px (12 px font; 16 px a row when vertical), else
 * every k-th. */
static void cat_ticks(struct ticks *t, const struct hist *h, int axis, double px, bool vertical)
{
	int n = dbins(h, axis);
	char buf[32];
	size_t w = 1;
	for (int i = 0; i < n; i++) {
		cat_label(buf, h, axis, i);
		w = strlen(buf) > w ? strlen(buf) : w;
	}
	double each = vertical ? 16 : w * 7.2 + 14;
	int every = 1;
	while ((n + every - 1) / every > PLOT_MAX_TICKS || (n + every - 1) / every * each > px)
		every++;
	*t = (struct ticks){ .mant = 1, .step = 1, .cat = true, .maxw = 1 };
	for (int i = 0; i < n && t->n < PLOT_MAX_TICKS; i += every) {
		cat_label(t->s[t->n], h, axis, i);
		t->maxw = strlen(t->s[t->n]) > t->maxw ? strlen(t->s[t->n]) : t->maxw;
		t->v[t->n++] = i + 0.5;
	}
}

/* Whether stored bin i of axis is inside the frame. */
static bool drawn(const struct hist *h, int axis, int i)
{
	return is_cat(h, axis) || (i >= 1 && i <= hist_nbins(h, axis));
}

/* ---- 1-D ---- */

/* Bins [b0, b1] as one drawn group: its value span and the last value. */
struct group {
	double lo, hi, last, xa, xb;
};

static void group_of(const struct hist *h, int b0, int b1, bool err, struct group *g)
{
	g->lo = INFINITY;
	g->hi = -INFINITY;
	g->last = 0;
	for (int i = b0; i <= b1; i++) {
		double v = clampv(hist_value(h, i, 0));
		double e = err ? sqrt(hist_variance(h, i, 0)) : 0;
		g->lo = fmin(g->lo, clampv(v - e));
		g->hi = fmax(g->hi, clampv(v + e));
		g->last = v;
	}
	g->xa = hist_edge(h, 0, b0);
	g->xb = hist_edge(h, 0, b1 + 1);
}

static void plot1(struct strbuf *b, const struct hist *h)
{
	int n = hist_nbins(h, 0);
	bool w = hist_weighted(h);
	/* Two groups per pixel column at most. */
	int per = n > 1080 ? (n + 1079) / 1080 : 1;
	double ylo = 0, yhi = 0;
	struct group g;
	for (int i = 1; i <= n; i += per) {
		group_of(h, i, i + per - 1 > n ? n : i + per - 1, w, &g);
		ylo = fmin(ylo, g.lo);
		yhi = fmax(yhi, g.hi);
	}
	if (fabs(ylo) < PLOT_TINY)
		ylo = 0;
	if (fabs(yhi) < PLOT_TINY)
		yhi = 0;
	if (!(yhi > ylo)) {
		yhi = ylo + 1;  /* empty: 0..1 */
	} else {
		double pad = (yhi / 2 - ylo / 2) * 0.1;  /* 5% of the span either way */
		yhi = clampv(yhi + pad);
		if (ylo < 0)
			ylo = clampv(ylo - pad);
	}
	struct ticks tx, ty;  /* y grows to whole steps */
	nice_step(&ty, ylo, yhi, 6);
	ylo = clampv(floor(ylo / ty.step) * ty.step);
	yhi = clampv(ceil(yhi / ty.step) * ty.step);
	ticks_make(&ty, ylo, yhi);
	struct frame f = { .x0 = 36 + ty.maxw * 7.2, .x1 = PLOT_W - 24, .y0 = 52, .y1 = PLOT_H - 58,
			   .xlo = hist_edge(h, 0, 1), .xhi = hist_edge(h, 0, n + 1), .ylo = ylo, .yhi = yhi };
	ticks_fit(&tx, f.xlo, f.xhi, f.x1 - f.x0);
	double base = fy(&f, 0);

	if (ylo < 0)
		sb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
			  f.x0, base, f.x1);
	if (w && per == 1) {
		/* Points with error bars; empty bins left out, as ROOT does. */
		double bw = (f.x1 - f.x0) / n;
		struct strbuf dots = { 0 };
		strbuf_puts(b, "<path fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" d=\"");
		for (int i = 1; i <= n; i++) {
			double v = hist_value(h, i, 0), e = sqrt(hist_variance(h, i, 0));
			if (v == 0 && e == 0)
				continue;
			double xa = fx(&f, hist_edge(h, 0, i)), xb = fx(&f, hist_edge(h, 0, i + 1));
			sb_printf(b, "M%.1f %.1fV%.1fM%.1f %.1fH%.1f", (xa + xb) / 2, fy(&f, v + e),
				  fy(&f, v - e), xa, fy(&f, v), xb);
			if (bw >= 5)
				sb_printf(&dots, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\"/>\n", (xa + xb) / 2,
					  fy(&f, v), bw >= 10 ? 3.0 : 2.0);
		}
		strbuf_puts(b, "\"/>\n<g fill=\"black\">\n");
		strbuf_put(b, dots.buf ? dots.buf : "", dots.len);
		strbuf_puts(b, "</g>\n");
		b->err = b->err ? b->err : dots.err;
		strbuf_free(&dots);
	} else {
		/* A step line; filled when unweighted.  Merged groups draw their
		 * whole span (with errors when weighted), so a spike stays visible. */
		sb_printf(b, "<path fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" "
			  "d=\"M%.1f %.1f", w ? "none" : "#cadcf0", w ? "black" : "#1f4e9c", f.x0, base);
		for (int i = 1; i <= n; i += per) {
			group_of(h, i, i + per - 1 > n ? n : i + per - 1, w, &g);
			if (per == 1)
				sb_printf(b, "V%.1fH%.1f", fy(&f, g.last), fx(&f, g.xb));
			else
				sb_printf(b, "V%.1fV%.1fV%.1fH%.1f", fy(&f, g.hi), fy(&f, g.lo), fy(&f, g.last),
					  fx(&f, g.xb));
		}
		sb_printf(b, "V%.1f%s\"/>\n", base, w ? "" : "Z");
	}

	char ylabel[128], flow[128] = "", u[32], o[32];
	y_title(ylabel, sizeof(ylabel), h, w ? "Sum of weights" : "Entries");
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
	heading(b, h, &f, flow);
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
static void plot1x(struct strbuf *b, const struct hist *h)
{
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
		double pad = (yhi / 2 - ylo / 2) * 0.1;
		yhi = clampv(yhi + pad);
		if (prof || ylo < 0)
			ylo = clampv(ylo - pad);
	}
	struct ticks tx, ty;
	nice_step(&ty, ylo, yhi, 6);
	ylo = clampv(floor(ylo / ty.step) * ty.step);
	yhi = clampv(ceil(yhi / ty.step) * ty.step);
	ticks_make(&ty, ylo, yhi);
	struct frame f = { .x0 = 36 + ty.maxw * 7.2, .x1 = PLOT_W - 24, .y0 = 52, .y1 = PLOT_H - 58,
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
			if (bw >= 5)
				sb_printf(&dots, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\"/>\n", xm, fy(&f, v),
					  bw >= 10 ? 3.0 : 2.0);
		}
	}
	strbuf_puts(b, "\"/>\n<g fill=\"black\">\n");
	strbuf_put(b, dots.buf ? dots.buf : "", dots.len);
	strbuf_puts(b, "</g>\n");
	b->err = b->err ? b->err : dots.err;
	strbuf_free(&dots);

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
	heading(b, h, &f, flow);
}

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
static void plot2(struct strbuf *b, const struct hist *h)
{
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
	double zlo = 0, zhi = 0;
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
	}
	if (!(zhi - zlo > PLOT_TINY))
		zhi = zlo + 1;
	for (size_t k = 0; k < (size_t)cols * rows; k++)
		q[k] = q[k] ? (signed char)(frac(sum[k], zlo, zhi) * (PLOT_NCOLOURS - 1) + 0.5) : -1;

	struct ticks tx, ty, tz;
	nice_step(&tz, zlo, zhi, 6);
	ticks_make(&tz, zlo, zhi);
	struct frame f = { .x1 = PLOT_W - 74 - tz.maxw * 7.2, .y0 = 52, .y1 = PLOT_H - 58,
			   .xlo = dedge(h, 0, 1), .xhi = dedge(h, 0, nx + 1),
			   .ylo = dedge(h, 1, 1), .yhi = dedge(h, 1, ny + 1) };
	if (is_cat(h, 1)) {
		cat_ticks(&ty, h, 1, f.y1 - f.y0, true);
	} else {
		nice_step(&ty, f.ylo, f.yhi, 6);
		ticks_make(&ty, f.ylo, f.yhi);
	}
	f.x0 = 36 + ty.maxw * 7.2;
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
		sb_printf(b, "M%.1f %.1fh4", bx + bw, f.y1 - (f.y1 - f.y0) * frac(tz.v[i], zlo, zhi));
	strbuf_puts(b, "\"/>\n<g fill=\"#222\">\n");
	for (int i = 0; i < tz.n; i++)
		text_at(b, bx + bw + 7, f.y1 - (f.y1 - f.y0) * frac(tz.v[i], zlo, zhi) + 4, 12, "start", 0,
			tz.s[i]);
	strbuf_puts(b, "</g>\n");
	text_at(b, PLOT_W - 10, (f.y0 + f.y1) / 2, 13, "middle", -90,
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
	heading(b, h, &f, extra);
out:
	free(sum);
	free(wsum);
	free(q);
}

/* ---- 3-D ---- */

/* A picture of three axes would mislead more than it shows: say so. */
static void plot3(struct strbuf *b, const struct hist *h)
{
	struct frame f = { .x0 = 40, .x1 = PLOT_W - 40, .y0 = 52, .y1 = PLOT_H - 58 };
	text_at(b, PLOT_W / 2.0, PLOT_H / 2.0 - 12, 15, "middle", 0, "3-D histograms are not drawn.");
	text_at(b, PLOT_W / 2.0, PLOT_H / 2.0 + 14, 13, "middle", 0,
		"Their bins are in hist.json, and one line per cell in the .csv beside this file.");
	heading(b, h, &f, "");
}

int plot_svg(const struct hist *h, char **out, size_t *len)
{
	struct strbuf b = STRBUF_INIT;
	sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
		  "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	strbuf_puts(&b, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
	if (hist_ndim(h) == 3)
		plot3(&b, h);
	else if (hist_ndim(h) == 2)
		plot2(&b, h);
	else if (hist_profile(h) || is_cat(h, 0))
		plot1x(&b, h);
	else
		plot1(&b, h);
	strbuf_puts(&b, "</svg>\n");
	return strbuf_finish(&b, out, len);
}
