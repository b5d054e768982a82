/* plot_axes.c — the parts every plot shares: markup and text, numbers
 * and their tick labels (linear, and decades 10^{n} on log axes, never
 * "2.5e+06"), the frame with its ticks and axis titles, the heading
 * (title, experiment label line or statistics), and category axes. */
#include "plot_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

void fix_comma(char *s)
{
	for (; *s; s++)
		if (*s == ',')
			*s = '.';
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
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
void sb_text(struct strbuf *b, const char *s)
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

static void text_el(struct strbuf *b, double x, double y, int size, const char *anchor, int rot,
		    const char *s, bool tex)
{
	sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"", x, y, size, anchor);
	if (rot)
		sb_printf(b, " transform=\"rotate(%d %.1f %.1f)\"", rot, x, y);
	strbuf_puts(b, ">");
	if (tex)
		plot_tex(b, s, size);
	else
		sb_text(b, s);
	strbuf_puts(b, "</text>\n");
}

void text_at(struct strbuf *b, double x, double y, int size, const char *anchor, int rot,
	     const char *s)
{
	text_el(b, x, y, size, anchor, rot, s, true);
}

void text_raw(struct strbuf *b, double x, double y, int size, const char *anchor, int rot,
	      const char *s)
{
	text_el(b, x, y, size, anchor, rot, s, false);
}

void svg_begin(struct strbuf *b, double w, double h)
{
	sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
		  "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n", w, h, w, h);
	strbuf_puts(b, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
}

void svg_end(struct strbuf *b)
{
	strbuf_puts(b, "</svg>\n");
}

void dot(struct strbuf *dots, double x, double y, double bw)
{
	if (bw >= 5)
		sb_printf(dots, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\"/>\n", x, y, bw >= 10 ? 3.0 : 2.0);
}

void dots_end(struct strbuf *b, struct strbuf *dots, const char *attrs)
{
	sb_printf(b, "\"/>\n<g%s fill=\"black\">\n", attrs);
	strbuf_put(b, dots->buf ? dots->buf : "", dots->len);
	strbuf_puts(b, "</g>\n");
	b->err = b->err ? b->err : dots->err;
	strbuf_free(dots);
}

/* ---- numbers and ticks ---- */

/* v within +-PLOT_BIG; NaN, which a histogram never holds, as -PLOT_BIG. */
double clampv(double v)
{
	return !(v > -PLOT_BIG) ? -PLOT_BIG : v < PLOT_BIG ? v : PLOT_BIG;
}

/* Where v lies in [lo, hi] as 0..1; halves keep hi - lo finite. */
double frac(double v, double lo, double hi)
{
	double t = (v / 2 - lo / 2) / (hi / 2 - lo / 2);
	return t < 0 ? 0 : t > 1 ? 1 : t;
}

/* A step of 1, 2 or 5 times a power of ten nearest to giving target
 * steps over [lo, hi], into t; halves keep the span finite. */
void nice_step(struct ticks *t, double lo, double hi, int target)
{
	t->cat = t->log = false;
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

static void measure(struct ticks *t)
{
	t->maxw = 7.2;
	for (int i = 0; i < t->n; i++)
		t->maxw = fmax(t->maxw, plot_tex_width(t->s[i], 12));
}

/* 10^{n} with a minus sign (U+2212) for negative n. */
static void decade(char *s, size_t cap, const char *mant, int ex)
{
	snprintf(s, cap, "%s10^{%s%d}", mant, ex < 0 ? "\xe2\x88\x92" : "", ex < 0 ? -ex : ex);
}

/* Tick values in [lo, hi] at t's step, and their labels: fixed decimals
 * as the step needs them, or for magnitudes of a million and more or
 * below a thousandth a mantissa times a power of ten (2.5x10^6, 10^-5). */
void ticks_make(struct ticks *t, double lo, double hi)
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
	for (int i = 0; i < t->n; i++) {
		char *s = t->s[i], m[32];
		if (t->v[i] == 0) {
			strcpy(s, "0");
			continue;
		}
		snprintf(m, sizeof(m), expo ? "%.*e" : "%.*f", expo ? sig - 1 : dec, t->v[i]);
		fix_comma(m);
		char *e = expo ? strchr(m, 'e') : m + strlen(m), *z = e;
		if (strchr(m, '.')) {  /* trailing zeros go: 1 and 0.5 */
			while (z[-1] == '0')
				z--;
			z -= z[-1] == '.';
		}
		if (!expo) {
			snprintf(s, 40, "%.*s", (int)(z - m), m);
			continue;
		}
		int ex = atoi(e + 1);
		char mant[40];
		snprintf(mant, sizeof(mant), "%.*s#times", (int)(z - m), m);
		if (z - m == 1 && m[0] == '1')
			mant[0] = 0;
		else if (z - m == 2 && m[0] == '-' && m[1] == '1')
			mant[1] = 0;
		decade(s, 40, mant, ex);
	}
	measure(t);
}

/* Ticks for a horizontal axis of width px: the most, about 6, whose labels
 * (12 px font) leave a gap between neighbours. */
void ticks_fit(struct ticks *t, double lo, double hi, double px)
{
	for (int target = 6; target >= 2; target--) {
		nice_step(t, lo, hi, target);
		ticks_make(t, lo, hi);
		if (t->n * (t->maxw + 14) <= px)
			return;
	}
}

void ticks_linear_y(struct ticks *t, double *lo, double *hi)
{
	nice_step(t, *lo, *hi, 6);
	*lo = clampv(floor(*lo / t->step) * t->step);
	*hi = clampv(ceil(*hi / t->step) * t->step);
	ticks_make(t, *lo, *hi);
}

void ticks_log(struct ticks *t, double lo, double hi, double px)
{
	*t = (struct ticks){.mant = 1, .step = 10, .log = true};
	int d0 = (int)ceil(log10(lo) - 1e-9), d1 = (int)floor(log10(hi) + 1e-9);
	if (d1 - d0 < 1) {
		/* Less than a decade and a bit: 1, 2 and 5 times the decades, as numbers. */
		for (int d = d0 - 1; d <= d1 && t->n < PLOT_MAX_TICKS - 3; d++) {
			for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
				double v = m * pow(10, d);
				if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
					t->v[t->n] = v;
					snprintf(t->s[t->n++], 40, "%g", v);
				}
			}
		}
		measure(t);
		return;
	}
	int every = 1;
	while ((d1 - d0) / every + 1 > PLOT_MAX_TICKS || ((d1 - d0) / every + 1) * 22.0 > px)
		every++;
	for (int d = d0; d <= d1 && t->n < PLOT_MAX_TICKS; d += every) {
		t->v[t->n] = pow(10, d);
		decade(t->s[t->n++], 40, "", d);
	}
	t->step = every;  /* decades between labels: minor ticks only when 1 */
	measure(t);
}

void range_log(double minpos, double max, double headroom, double *lo, double *hi)
{
	if (!(minpos > 0) || !(max > 0)) {
		*lo = 0.1;
		*hi = 10;
		return;
	}
	minpos = fmax(minpos, 1e-300);
	max = fmin(fmax(max, minpos), 1e300);
	double l = floor(log10(minpos) - 0.3), u = log10(max);
	if (u - l < 2)
		l = floor(u) - 2;
	/* headroom: the part of the frame above the largest value */
	u = headroom > 0 ? l + (u - l) / (1 - headroom) : ceil(u - 1e-9);
	*lo = pow(10, l);
	*hi = pow(10, u);
}

/* Compact text of a flow or sum value (buf holds 32 bytes): counts whole,
 * sums to four digits, large and small ones as 2.975×10⁶, never 2.975e+06. */
void fmt_amount(char *buf, double v, bool weighted)
{
	static const char *const sup[] = {"\u2070", "\u00b9", "\u00b2", "\u00b3", "\u2074",
					  "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
	double a = fabs(v);
	if (!weighted && a < 1e15) {
		snprintf(buf, 32, "%.0f", v);
		return;
	}
	if (a == 0 || !isfinite(v) || (a >= 1e-3 && a < 1e6)) {
		snprintf(buf, 32, "%.4g", v);
		return;
	}
	int e = (int)floor(log10(a));
	double m = v / pow(10, e);
	if (fabs(m) >= 9.9995) { /* rounds up to 10.00 */
		m /= 10;
		e++;
	}
	int n = snprintf(buf, 32, "%.4g\u00d710%s", m, e < 0 ? "\u207b" : "");
	char digits[8];
	int nd = snprintf(digits, sizeof(digits), "%d", e < 0 ? -e : e);
	for (int i = 0; i < nd && n < 28; i++)
		n += snprintf(buf + n, (size_t)(32 - n), "%s", sup[digits[i] - '0']);
}

/* ---- frame, axes and heading ---- */

static double place(double v, double lo, double hi, bool log)
{
	if (log)
		return v > 0 ? frac(log10(v), log10(lo), log10(hi)) : 0;
	return frac(clampv(v), lo, hi);
}

double fx(const struct frame *f, double x)
{
	return f->x0 + (f->x1 - f->x0) * place(x, f->xlo, f->xhi, f->logx);
}

double fy(const struct frame *f, double y)
{
	return f->y1 - (f->y1 - f->y0) * place(y, f->ylo, f->yhi, f->logy);
}

/* Minor ticks, 3 px: at a fifth (a quarter for steps of 2) of t's step,
 * or at 2..9 times the decades of a log axis; on the y axis (at x0 and
 * x1) when vertical, else on the x axis. */
static void minor_ticks(struct strbuf *b, const struct frame *f, const struct ticks *t, bool vertical)
{
	if (t->cat)
		return;
	double lo = vertical ? f->ylo : f->xlo, hi = vertical ? f->yhi : f->xhi;
	if (t->log) {
		if (t->step > 1 && t->n > 1)
			return;
		for (int d = (int)floor(log10(lo)); d <= (int)ceil(log10(hi)); d++) {
			for (int m = 2; m <= 9; m++) {
				double v = m * pow(10, d);
				if (v < lo || v > hi)
					continue;
				if (vertical)
					sb_printf(b, "M%.1f %.1fh4M%.1f %.1fh-4", f->x0, fy(f, v), f->x1, fy(f, v));
				else
					sb_printf(b, "M%.1f %.1fv-4M%.1f %.1fv4", fx(f, v), f->y1, fx(f, v), f->y0);
			}
		}
		return;
	}
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

void axes(struct strbuf *b, const struct frame *f, const struct ticks *tx, const struct ticks *ty,
	  const char *xlabel, const char *ylabel)
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
	for (int i = 0; xlabel && i < tx->n; i++)
		(tx->cat ? text_raw : text_at)(b, fx(f, tx->v[i]), f->y1 + 18, 12, "middle", 0, tx->s[i]);
	for (int i = 0; i < ty->n; i++)
		(ty->cat ? text_raw : text_at)(b, f->x0 - 6, fy(f, ty->v[i]) + 4, 12, "end", 0, ty->s[i]);
	strbuf_puts(b, "</g>\n");
	if (xlabel)
		text_at(b, (f->x0 + f->x1) / 2, f->y1 + 42, 14, "middle", 0, xlabel);
	text_at(b, f->x0 - 14 - ty->maxw, (f->y0 + f->y1) / 2, 14, "middle", -90, ylabel);
}

void canvas_init(struct canvas *c, struct strbuf *b, const struct hist *h)
{
	c->b = b;
	c->o = *hist_plot(h);
	c->w = c->o.width ? c->o.width : PLOT_W;
	c->h = c->o.height ? c->o.height : PLOT_H;
	c->title = hist_title(h)[0] ? hist_title(h) : hist_name(h);
}

void heading(const struct canvas *c, const struct hist *h, const struct frame *f, const char *extra)
{
	struct strbuf *b = c->b;
	text_at(b, (f->x0 + f->x1) / 2, 26, 17, "middle", 0, c->title);
	if (c->o.label || c->o.lumi) {
		/* "CMS Open Data": the experiment in bold, the rest in italics. */
		const char *l = c->o.label ? c->o.label : "", *sp = strchr(l, ' ');
		size_t n = sp ? (size_t)(sp - l) : strlen(l);
		char first[PLOT_MAX_TEXT + 1];
		snprintf(first, sizeof(first), "%.*s", (int)(n > PLOT_MAX_TEXT ? PLOT_MAX_TEXT : n), l);
		sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\">"
			  "<tspan font-weight=\"bold\">", f->x0, f->y0 - 8);
		plot_tex(b, first, 15);
		strbuf_puts(b, "</tspan>");
		if (sp) {
			strbuf_puts(b, "<tspan font-style=\"italic\" font-size=\"13\" dx=\"4\">");
			plot_tex(b, sp + 1, 13);
			strbuf_puts(b, "</tspan>");
		}
		strbuf_puts(b, "</text>\n");
		if (c->o.lumi)
			text_at(b, f->x1, f->y0 - 8, 13, "end", 0, c->o.lumi);
		return;
	}
	if (!h)
		return;
	char stats[256];
	int n = snprintf(stats, sizeof(stats), "Entries %" PRIu64, hist_entries(h));
	if (hist_skipped(h))
		n += snprintf(stats + n, sizeof(stats) - n, ", skipped %" PRIu64, hist_skipped(h));
	if (extra[0])
		snprintf(stats + n, sizeof(stats) - n, ", %s", extra);
	strbuf_puts(b, "<g fill=\"#555\">");
	text_raw(b, f->x1, f->y0 - 8, 11, "end", 0, stats);
	strbuf_puts(b, "</g>\n");
}

void label_unit(char *u, size_t cap, const char *label)
{
	const char *lb = strrchr(label, '[');
	size_t ll = strlen(label);
	u[0] = 0;
	if (lb && ll > 0 && label[ll - 1] == ']' && (size_t)(label + ll - 1 - lb) < 24)
		snprintf(u, cap, "%.*s", (int)(label + ll - 1 - lb - 1), lb + 1);
}

void y_title(char *buf, size_t cap, const struct hist *h, const char *what, bool density)
{
	char u[32];
	label_unit(u, sizeof(u), hist_label(h, 0));
	if (density) {
		snprintf(buf, cap, "%s / %s", what, u[0] ? u : "unit");
		return;
	}
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
	char wb[32];
	snprintf(wb, sizeof(wb), "%.3g", w);
	fix_comma(wb);
	/* 1e+06 as a width: TeX-like, as the ticks write it */
	char *e = strchr(wb, 'e');
	if (e) {
		int ex = atoi(e + 1);
		char m[24];
		snprintf(m, 16, "%.*s", (int)(e - wb), wb);
		strcat(m, "#times");
		decade(wb, sizeof(wb), strcmp(m, "1#times") ? m : "", ex);
	}
	snprintf(buf, cap, "%s / %s%s%s", what, wb, u[0] ? " " : "", u);
}

/* ---- category axes ---- */

/* The bins an axis draws, numbered 1..n: a regular or variable axis's own
 * (its flow bins stay off the frame, in the heading's numbers), or every
 * stored bin of a category axis, "other" included, each one unit wide. */
bool is_cat(const struct hist *h, int axis)
{
	int k = hist_axis_kind(h, axis);
	return k == HIST_AXIS_CAT_INT || k == HIST_AXIS_CAT_STR;
}

int dbins(const struct hist *h, int axis)
{
	return is_cat(h, axis) ? hist_extent(h, axis) : hist_nbins(h, axis);
}

/* The stored bin of drawn bin k. */
int dcell(const struct hist *h, int axis, int k)
{
	return is_cat(h, axis) ? k - 1 : k;
}

/* The lower edge of drawn bin k (1..n+1). */
double dedge(const struct hist *h, int axis, int k)
{
	return is_cat(h, axis) ? k - 1 : hist_edge(h, axis, k);
}

/* The tick label of stored bin i of a category axis: at most
 * PLOT_CAT_CHARS bytes, cut at a character's start, then an ellipsis. */
static void cat_label(char buf[40], const struct hist *h, int axis, int i)
{
	if (i == hist_nbins(h, axis))
		snprintf(buf, 40, "other");
	else if (hist_axis_kind(h, axis) == HIST_AXIS_CAT_INT)
		snprintf(buf, 40, "%" PRId64, hist_cat_int(h, axis, i));
	else
		snprintf(buf, 40, "%.*s", PLOT_CAT_CHARS + 1, hist_cat_str(h, axis, i));
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
void cat_ticks(struct ticks *t, const struct hist *h, int axis, double px, bool vertical)
{
	int n = dbins(h, axis);
	char buf[40];
	size_t w = 1;
	for (int i = 0; i < n; i++) {
		cat_label(buf, h, axis, i);
		w = strlen(buf) > w ? strlen(buf) : w;
	}
	double each = vertical ? 16 : w * 7.2 + 14;
	int every = 1;
	while ((n + every - 1) / every > PLOT_MAX_TICKS || (n + every - 1) / every * each > px)
		every++;
	*t = (struct ticks){ .mant = 1, .step = 1, .cat = true, .maxw = 7.2 };
	for (int i = 0; i < n && t->n < PLOT_MAX_TICKS; i += every) {
		cat_label(t->s[t->n], h, axis, i);
		t->maxw = fmax(t->maxw, strlen(t->s[t->n]) * 7.2);
		t->v[t->n++] = i + 0.5;
	}
}

/* Whether stored bin i of axis is inside the frame. */
bool drawn(const struct hist *h, int axis, int i)
{
	return is_cat(h, axis) || (i >= 1 && i <= hist_nbins(h, axis));
}
