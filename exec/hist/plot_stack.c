/* plot_stack.c — several 1-D histograms in one frame (plot.h's
 * plot_svg_set()): simulation stacked by sample with the band of its
 * uncertainty, data as points with error bars, overlaid lines, a legend,
 * and a ratio panel of data over simulation.
 *
 * Colours are Petroff's ten-colour sequence (arXiv:2107.02270), which
 * CMS recommends: distinct for colour-blind readers and in grey.  Bins
 * are merged, sums of values and of variances, when a histogram has more
 * than PLOT_SET_BINS of them, so that the SVG stays bounded. */
#include "plot_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_SET_MAX 64
#define PLOT_SET_BINS 1000

static const char *const palette[10] = {
	"#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
	"#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
};

/* A histogram's drawn bins: n of them, edges x[0..n], values and variances. */
struct series {
	int n;
	double *x, *v, *var;
};

static void series_free(struct series *s)
{
	free(s->x);
	free(s->v);
	free(s->var);
	*s = (struct series){0};
}

/* The bins of h merged per at a time, per unit of x with density. */
static int series_of(const struct hist *h, bool density, int per, struct series *s)
{
	int n0 = hist_nbins(h, 0), m = (n0 + per - 1) / per;
	s->n = m;
	s->x = calloc((size_t)m + 1, sizeof(double));
	s->v = calloc((size_t)m, sizeof(double));
	s->var = calloc((size_t)m, sizeof(double));
	if (!s->x || !s->v || !s->var) {
		series_free(s);
		return -ENOMEM;
	}
	for (int k = 0; k < m; k++) {
		int i0 = k * per + 1, i1 = (k + 1) * per > n0 ? n0 : (k + 1) * per;
		s->x[k] = hist_edge(h, 0, i0);
		for (int i = i0; i <= i1; i++) {
			s->v[k] += clampv(hist_value(h, i, 0));
			s->var[k] += clampv(hist_variance(h, i, 0));
		}
	}
	s->x[m] = hist_edge(h, 0, n0 + 1);
	for (int k = 0; density && k < m; k++) {
		double w = s->x[k + 1] - s->x[k];
		s->v[k] /= w;
		s->var[k] /= w * w;
	}
	return 0;
}

/* Whether two series have the same bins. */
static bool same_bins(const struct series *a, const struct series *b)
{
	if (a->n != b->n)
		return false;
	for (int k = 0; k <= a->n; k++)
		if (a->x[k] != b->x[k])
			return false;
	return true;
}

static bool plain_1d(const struct hist *h)
{
	return h && hist_ndim(h) == 1 && !hist_profile(h) && !is_cat(h, 0);
}

/* A step path over values top[] left to right, then back over bot[] (or
 * the frame's bottom when NULL): a filled band. */
static void band_path(struct strbuf *b, const struct frame *f, const struct series *s,
		      const double *top, const double *bot)
{
	for (int k = 0; k < s->n; k++)
		sb_printf(b, "%c%.1f %.1fH%.1f", k ? 'L' : 'M', fx(f, s->x[k]), fy(f, top[k]),
			  fx(f, s->x[k + 1]));
	for (int k = s->n - 1; k >= 0; k--) {
		double y = bot ? fy(f, bot[k]) : f->y1;
		sb_printf(b, "L%.1f %.1fH%.1f", fx(f, s->x[k + 1]), y, fx(f, s->x[k]));
	}
	strbuf_puts(b, "Z");
}

/* Points at v[k] / div[k] (div NULL: 1) with error bars. */
static void points(struct strbuf *b, const struct frame *f, const struct series *s, const double *div)
{
	struct strbuf dots = STRBUF_INIT;
	strbuf_puts(b, "<path fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" d=\"");
	for (int k = 0; k < s->n; k++) {
		double d = div ? div[k] : 1, v = s->v[k] / d, e = sqrt(s->var[k]) / d;
		if ((s->v[k] == 0 && s->var[k] == 0) || !(d > 0) || (f->logy && !(v > 0)))
			continue;
		double xa = fx(f, s->x[k]), xb = fx(f, s->x[k + 1]), xm = (xa + xb) / 2;
		sb_printf(b, "M%.1f %.1fV%.1fM%.1f %.1fH%.1f", xm, fy(f, v + e), fy(f, v - e), xa, fy(f, v), xb);
		dot(&dots, xm, fy(f, v), xb - xa);
	}
	dots_end(b, &dots, " class=\"data\"");
}

static void hatch_defs(struct strbuf *b)
{
	strbuf_puts(b, "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
		       "height=\"6\"><path d=\"M0 6L6 0M-1 1L1 -1M5 7L7 5\" stroke=\"#333\" "
		       "stroke-width=\"0.8\"/></pattern></defs>\n");
}

struct legend {
	const char *text[PLOT_SET_MAX + 2];
	const char *colour[PLOT_SET_MAX + 2]; /* NULL: data; "hatch": the band; "line:#..." a line */
	int n;
};

static void legend_draw(struct strbuf *b, const struct frame *f, const struct legend *l)
{
	double w = 0;
	for (int i = 0; i < l->n; i++)
		w = fmax(w, plot_tex_width(l->text[i], 13));
	double x = f->x1 - 14 - w - 30, y = f->y0 + 14;
	for (int i = 0; i < l->n; i++, y += 19) {
		const char *c = l->colour[i];
		if (!c)
			sb_printf(b, "<path d=\"M%.1f %.1fv10M%.1f %.1fh12\" stroke=\"black\" stroke-width=\"1.2\"/>"
				  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", x + 9, y, x + 3, y + 5, x + 9, y + 5);
		else if (!strcmp(c, "hatch"))
			sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"11\" fill=\"url(#hatch)\" "
				  "stroke=\"#333\" stroke-width=\"0.6\"/>\n", x, y);
		else if (!strncmp(c, "line:", 5))
			sb_printf(b, "<path d=\"M%.1f %.1fh20\" stroke=\"%s\" stroke-width=\"2\"/>\n", x, y + 5.5,
				  c + 5);
		else
			sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"11\" fill=\"%s\" "
				  "stroke=\"#222\" stroke-width=\"0.5\"/>\n", x, y, c);
		text_at(b, x + 28, y + 10, 13, "start", 0, l->text[i]);
	}
}

struct set {
	struct series ser[PLOT_SET_MAX], tot;
	double *cum[PLOT_SET_MAX];      /* the stack's top after each stacked layer */
	double *hi, *lo;                /* the band */
	int nstack, first, data;        /* stacked layers; the first; the data layer (-1) */
};

/* The stack's cumulative tops, its total and the band (see plot.h). */
static int build(struct set *st, const struct plot_set *s, bool dens, int per)
{
	for (size_t i = 0; i < s->n; i++)
		if (series_of(s->layers[i].h, dens, per, &st->ser[i]))
			return -ENOMEM;
	st->first = st->data = -1;
	for (size_t i = 0; i < s->n; i++) {
		if (s->layers[i].kind == PLOT_DATA && st->data < 0)
			st->data = (int)i;
		if (s->layers[i].kind != PLOT_STACK)
			continue;
		if (st->first < 0)
			st->first = (int)i;
		else if (!same_bins(&st->ser[i], &st->ser[st->first]))
			continue;  /* another binning: not stacked (one statement never has one) */
		st->nstack++;
	}
	if (st->first < 0)
		return 0;
	const struct series *f0 = &st->ser[st->first];
	int n = f0->n;
	st->tot = (struct series){.n = n, .x = calloc((size_t)n + 1, sizeof(double)),
				  .v = calloc((size_t)n, sizeof(double)), .var = calloc((size_t)n, sizeof(double))};
	st->hi = calloc((size_t)n, sizeof(double));
	st->lo = calloc((size_t)n, sizeof(double));
	if (!st->tot.x || !st->tot.v || !st->tot.var || !st->hi || !st->lo)
		return -ENOMEM;
	memcpy(st->tot.x, f0->x, ((size_t)n + 1) * sizeof(double));
	for (size_t i = 0; i < s->n; i++) {
		if (s->layers[i].kind != PLOT_STACK || !same_bins(&st->ser[i], f0))
			continue;
		if (!(st->cum[i] = calloc((size_t)n, sizeof(double))))
			return -ENOMEM;
		for (int k = 0; k < n; k++) {
			st->tot.v[k] += st->ser[i].v[k];
			st->tot.var[k] += st->ser[i].var[k];
			st->cum[i][k] = st->tot.v[k];
		}
	}
	double *up = calloc((size_t)n, sizeof(double)), *dn = calloc((size_t)n, sizeof(double));
	int rc = up && dn ? 0 : -ENOMEM;
	for (size_t j = 0; !rc && j < s->nvar; j++) {
		struct series vs = {0};
		if (!plain_1d(s->vars[j]) || (rc = series_of(s->vars[j], dens, per, &vs)))
			break;
		for (int k = 0; same_bins(&vs, &st->tot) && k < n; k++) {
			double d = vs.v[k] - st->tot.v[k];
			up[k] = fmax(up[k], d);
			dn[k] = fmax(dn[k], -d);
		}
		series_free(&vs);
	}
	for (int k = 0; !rc && k < n; k++) {
		double var = st->tot.var[k];
		st->hi[k] = st->tot.v[k] + sqrt(var + up[k] * up[k]);
		st->lo[k] = st->tot.v[k] - sqrt(var + dn[k] * dn[k]);
	}
	free(up);
	free(dn);
	return rc;
}

static void set_free(struct set *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		series_free(&st->ser[i]);
		free(st->cum[i]);
	}
	series_free(&st->tot);
	free(st->hi);
	free(st->lo);
}

/* The y range of the main frame (px high): everything drawn, with room
 * above it for a legend of nleg rows. */
static void y_range(const struct set *st, const struct plot_set *s, bool logy, int nleg, double px,
		    double *lo, double *hi)
{
	double ymax = 0, ymin = 0, minpos = INFINITY;
	for (size_t i = 0; i < s->n; i++) {
		const struct series *r = &st->ser[i];
		for (int k = 0; k < r->n; k++) {
			double v = st->cum[i] ? st->cum[i][k] : r->v[k];
			double e = s->layers[i].kind == PLOT_DATA ? sqrt(r->var[k]) : 0;
			ymax = fmax(ymax, v + e);
			ymin = fmin(ymin, v - e);
			if (v > 0)
				minpos = fmin(minpos, v);
		}
	}
	for (int k = 0; st->hi && k < st->tot.n; k++)
		ymax = fmax(ymax, st->hi[k]);
	double room = fmin(0.6, (nleg * 19 + 24) / px);
	if (logy) {
		range_log(fmax(minpos, ymax * 1e-6), ymax, room, lo, hi);
	} else {
		*lo = ymin < 0 ? ymin * 1.1 : 0;
		*hi = ymax > 0 ? ymax / (1 - room) : 1;
	}
}

static int draw_set(struct canvas *c, const struct plot_set *s, struct set *st)
{
	struct strbuf *b = c->b;
	bool ratio = st->data >= 0 && st->nstack && same_bins(&st->ser[st->data], &st->tot);
	struct legend leg = {0};
	if (st->data >= 0) {
		leg.text[leg.n] = s->layers[st->data].name;
		leg.colour[leg.n++] = NULL;
	}
	for (size_t i = s->n; i-- > 0;)
		if (st->cum[i]) {
			leg.text[leg.n] = s->layers[i].name;
			leg.colour[leg.n++] = palette[i % 10];
		}
	if (st->nstack) {
		leg.text[leg.n] = s->nvar ? "Stat. #oplus syst. unc." : "Stat. unc.";
		leg.colour[leg.n++] = "hatch";
	}
	char linecol[PLOT_SET_MAX][16];
	for (size_t i = 0; i < s->n; i++)
		if (s->layers[i].kind == PLOT_LINE && leg.n < PLOT_SET_MAX + 2) {
			snprintf(linecol[i], sizeof(linecol[i]), "line:%s", palette[i % 10]);
			leg.text[leg.n] = s->layers[i].name;
			leg.colour[leg.n++] = linecol[i];
		}

	double ylo, yhi, bottom = c->h - 58, rh = ratio ? (bottom - 52) * 0.28 : 0;
	y_range(st, s, c->o.logy, leg.n, bottom - 52 - (ratio ? rh + 6 : 0), &ylo, &yhi);
	struct ticks tx, ty, tr;
	if (c->o.logy)
		ticks_log(&ty, ylo, yhi, c->h - 110);
	else
		ticks_linear_y(&ty, &ylo, &yhi);
	/* The ratio panel: 0.5..1.5, or 0..2 when a point lies outside. */
	double rlo = 0.5, rhi = 1.5;
	for (int k = 0; ratio && k < st->tot.n; k++) {
		double d = st->ser[st->data].v[k], t = st->tot.v[k];
		if (t > 0 && d > 0 && (d / t < 0.55 || d / t > 1.45))
			rlo = 0, rhi = 2;
	}
	nice_step(&tr, rlo, rhi, 2);
	ticks_make(&tr, rlo, rhi);
	if (tr.n > 2 && tr.v[tr.n - 1] >= rhi)
		tr.n--;  /* its label would sit on the main frame's lowest */
	double lw = fmax(ty.maxw, ratio ? tr.maxw : 0);
	ty.maxw = tr.maxw = lw;
	struct frame f = {.x0 = 40 + lw, .x1 = c->w - 24, .y0 = 52, .y1 = bottom - (ratio ? rh + 6 : 0),
			  .ylo = ylo, .yhi = yhi, .logy = c->o.logy, .xlo = INFINITY, .xhi = -INFINITY};
	for (size_t i = 0; i < s->n; i++) {
		f.xlo = fmin(f.xlo, st->ser[i].x[0]);
		f.xhi = fmax(f.xhi, st->ser[i].x[st->ser[i].n]);
	}
	f.logx = c->o.logx && f.xlo > 0;
	if (f.logx)
		ticks_log(&tx, f.xlo, f.xhi, f.x1 - f.x0);
	else
		ticks_fit(&tx, f.xlo, f.xhi, f.x1 - f.x0);

	hatch_defs(b);
	for (size_t i = 0; i < s->n; i++) {
		if (!st->cum[i])
			continue;
		const double *below = NULL;
		for (size_t j = i; j-- > 0;)
			if (st->cum[j]) {
				below = st->cum[j];
				break;
			}
		sb_printf(b, "<path class=\"stack\" fill=\"%s\" stroke=\"%s\" stroke-width=\"0.6\" d=\"",
			  palette[i % 10], palette[i % 10]);
		band_path(b, &f, &st->ser[i], st->cum[i], below);
		strbuf_puts(b, "\"/>\n");
	}
	if (st->nstack) {
		strbuf_puts(b, "<path class=\"band\" fill=\"url(#hatch)\" stroke=\"none\" d=\"");
		band_path(b, &f, &st->tot, st->hi, st->lo);
		strbuf_puts(b, "\"/>\n");
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct series *r = &st->ser[i];
		if (s->layers[i].kind == PLOT_LINE) {
			sb_printf(b, "<path class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
				  "stroke-linejoin=\"round\" d=\"M%.1f %.1f", palette[i % 10], fx(&f, r->x[0]), f.y1);
			for (int k = 0; k < r->n; k++)
				sb_printf(b, "V%.1fH%.1f", fy(&f, r->v[k]), fx(&f, r->x[k + 1]));
			sb_printf(b, "V%.1f\"/>\n", f.y1);
		} else if (s->layers[i].kind == PLOT_DATA) {
			points(b, &f, r, NULL);
		}
	}
	legend_draw(b, &f, &leg);

	const struct hist *h = s->style;
	char ylabel[160];
	y_title(ylabel, sizeof(ylabel), h, "Events", c->o.density);
	const char *xl = hist_label(h, 0)[0] ? hist_label(h, 0) : hist_name(h);
	const char *yl = hist_value_label(h)[0] ? hist_value_label(h) : ylabel;
	axes(b, &f, &tx, &ty, ratio ? NULL : xl, yl);
	if (ratio) {
		struct frame fr = f;
		fr.y0 = f.y1 + 6;
		fr.y1 = bottom;
		fr.ylo = rlo;
		fr.yhi = rhi;
		fr.logy = false;
		double *one = calloc((size_t)st->tot.n, sizeof(double)), *rl = calloc((size_t)st->tot.n, sizeof(double));
		if (!one || !rl) {
			free(one);
			free(rl);
			return -ENOMEM;
		}
		for (int k = 0; k < st->tot.n; k++) {
			double t = st->tot.v[k];
			one[k] = t > 0 ? st->hi[k] / t : 1;
			rl[k] = t > 0 ? st->lo[k] / t : 1;
		}
		strbuf_puts(b, "<path class=\"band\" fill=\"url(#hatch)\" stroke=\"none\" d=\"");
		band_path(b, &fr, &st->tot, one, rl);
		strbuf_puts(b, "\"/>\n");
		sb_printf(b, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#666\" stroke-dasharray=\"4 3\"/>\n",
			  fr.x0, fy(&fr, 1), fr.x1);
		strbuf_puts(b, "<g class=\"ratio\">\n");
		points(b, &fr, &st->ser[st->data], st->tot.v);
		strbuf_puts(b, "</g>\n");
		free(one);
		free(rl);
		axes(b, &fr, &tx, &tr, xl, "Data / Sim.");
	}
	heading(c, NULL, &f, "");
	if (!c->o.label && !c->o.lumi && s->note) {
		strbuf_puts(b, "<g fill=\"#555\">");
		text_raw(b, f.x1, f.y0 - 8, 11, "end", 0, s->note);
		strbuf_puts(b, "</g>\n");
	}
	return 0;
}

int plot_svg_set(const struct plot_set *s, char **out, size_t *len)
{
	bool ok = s->n >= 1 && s->n <= PLOT_SET_MAX && plain_1d(s->style);
	int nmax = 1;
	for (size_t i = 0; ok && i < s->n; i++) {
		ok = plain_1d(s->layers[i].h);
		if (ok && hist_nbins(s->layers[i].h, 0) > nmax)
			nmax = hist_nbins(s->layers[i].h, 0);
	}
	if (!ok)
		return plot_svg(s->style, out, len);
	struct strbuf b = STRBUF_INIT;
	struct canvas c;
	canvas_init(&c, &b, s->style);
	if (s->plot)
		c.o = *s->plot;
	if (s->plot && (c.o.width || c.o.height)) {
		c.w = c.o.width ? c.o.width : PLOT_W;
		c.h = c.o.height ? c.o.height : PLOT_H;
	}
	if (s->title)
		c.title = s->title;
	int per = nmax > PLOT_SET_BINS ? (nmax + PLOT_SET_BINS - 1) / PLOT_SET_BINS : 1;
	struct set st = {0};
	int rc = build(&st, s, c.o.density, per);
	svg_begin(&b, c.w, c.h);
	if (!rc)
		rc = draw_set(&c, s, &st);
	svg_end(&b);
	set_free(&st, s->n);
	if (rc) {
		strbuf_free(&b);
		return rc;
	}
	return strbuf_finish(&b, out, len);
}
