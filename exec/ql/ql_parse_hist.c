/* ql_parse_hist.c — the hist, profile and defaults statements: axes
 * (bins and ranges, edges, categories), labels, weights and regions. */
#include "ql_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct hist_opts {
	double bins[QL_MAX_DIM], range[2 * QL_MAX_DIM];
	int nbins, nrange;
	double *edges[QL_MAX_DIM];
	int nedges[QL_MAX_DIM];
	struct ql_axis cats[QL_MAX_DIM]; /* categories= per axis (is_cat set) */
	char *labels[QL_MAX_DIM];
	struct token bins_at, range_at;
	const char *xlabel_by; /* "label" or "xlabel", once one gave the x axis label */
	/* What a histogram takes from the defaults line: given there. */
	struct ql_node *weight;
	char *title, *value_label;
	char **region_names;
	int nregion_names;
	struct ql_place *region_at;
	const char *axis_by[QL_MAX_DIM]; /* the option that named each axis (zedges=, ...) */
	bool one_region;
	int maxdim;            /* numbers bins= takes: the histogram's axes, at least 2 */
	bool own_bins;         /* bins= or range= given by the histogram, not the defaults */
	bool own_edges[QL_MAX_DIM], own_cats[QL_MAX_DIM], own_region, own_labels;
	struct ql_plot plot;   /* the plot options; a histogram's own replace the defaults' one by one */
};

/* The options of a hist statement, in the order the hint lists them. */
enum hist_key { K_BINS, K_RANGE, K_EDGES, K_XEDGES, K_YEDGES, K_WEIGHT, K_LABEL, K_XLABEL,
		K_YLABEL, K_TITLE, K_ZEDGES, K_CATEGORIES, K_XCATEGORIES, K_YCATEGORIES,
		K_ZCATEGORIES, K_LABELS, K_REGION, K_REGIONS, K_LOGX, K_LOGY, K_LOGZ, K_DENSITY,
		K_POINTS, K_SIZE, K_PLOT_LABEL, K_PLOT_LUMI, K_COUNT };
static const char *const hist_keys[K_COUNT] = {
	"bins", "range", "edges", "xedges", "yedges", "weight", "label", "xlabel", "ylabel", "title",
	"zedges", "categories", "xcategories", "ycategories", "zcategories", "labels", "region",
	"regions", "logx", "logy", "logz", "density", "points", "size", "plot_label", "plot_lumi"};

/* "did you mean weight? A histogram takes bins=, range=, ...": every
 * option, from the table itself, so that the hint never falls behind it. */
static void option_hint(const struct token *key, char *hint, size_t cap)
{
	char name[QL_MAX_NAME + 1];
	snprintf(name, sizeof(name), "%.*s", key->len > QL_MAX_NAME ? QL_MAX_NAME : key->len, key->s);
	/* The short switches (logx=, points=) are near any short word: they
	 * are suggested only for a word that starts as one does. */
	const char *cands[K_COUNT];
	size_t nc = 0;
	for (int i = 0; i < K_COUNT; i++)
		if (i < K_LOGX || i > K_POINTS || !strncmp(name, hist_keys[i], 3))
			cands[nc++] = hist_keys[i];
	ql_suggest(name, cands, nc, hint, cap);
	size_t n = strlen(hint);
	n += (size_t)snprintf(hint + n, cap - n, "%s histogram takes ", n ? " A" : "a");
	for (int i = 0; i < K_COUNT && n < cap; i++)
		n += (size_t)snprintf(hint + n, cap - n, "%s%s=", i ? ", " : "", hist_keys[i]);
}

/* label="..." and the other strings of a histogram, at the current token. */
static bool parse_hist_text(struct parser *p, struct hist_opts *o, const struct token *key,
			    enum hist_key which)
{
	if (p->tok.t != T_STRING) {
		ql_fail_tok(p, &p->tok, "put the text in double quotes", "expected a string");
		return false;
	}
	char *s = ql_tok_str(p, &p->tok);
	if (which == K_LABEL || which == K_XLABEL) {
		/* Two spellings of one label: which one would win is a guess. */
		if (o->xlabel_by && o->xlabel_by != hist_keys[which]) {
			ql_fail_tok(p, key, "give one of them", "label= and xlabel= both name the x axis");
			return false;
		}
		if (o->own_labels) {
			ql_fail_tok(p, key, "give labels= alone, or label=, ylabel= for each axis",
				    "labels= and label= both name the x axis");
			return false;
		}
		o->xlabel_by = hist_keys[which];
		o->labels[0] = s;
	} else if (which == K_YLABEL) {
		o->labels[1] = s; /* a 1-D histogram's: its values' (y) axis */
	} else if (which == K_PLOT_LABEL || which == K_PLOT_LUMI) {
		*(which == K_PLOT_LABEL ? &o->plot.label : &o->plot.lumi) = s;
	} else {
		o->title = s;
	}
	ql_lex(p);
	return true;
}

/* labels="x", "y", "z": one per axis. */
static bool parse_labels(struct parser *p, struct hist_opts *o, const struct token *key)
{
	if (o->maxdim && o->xlabel_by) {
		ql_fail_tok(p, key, "give labels= alone, or label=, ylabel= for each axis",
			    "labels= and label= both name the x axis");
		return false;
	}
	o->own_labels = o->maxdim != 0;
	for (int a = 0;; a++) {
		if (p->tok.t != T_STRING || a == QL_MAX_DIM) {
			ql_fail_tok(p, &p->tok, "labels=\"x\", \"y\", \"z\": one string per axis",
				    a == QL_MAX_DIM ? "more labels than axes" : "expected a string");
			return false;
		}
		o->labels[a] = ql_tok_str(p, &p->tok);
		ql_lex(p);
		if (p->tok.t != T_COMMA)
			return true;
		ql_lex(p);
	}
}

/* edges=/xedges=/yedges=/zedges= numbers, into the query's arena. */
static bool parse_edges(struct parser *p, struct hist_opts *o, int axis)
{
	double tmp[1024];
	int n = ql_parse_numbers(p, tmp, 1024);
	if (n < 0)
		return false;
	o->edges[axis] = arena_alloc(p->q->arena, (size_t)n * sizeof(double));
	if (!o->edges[axis])
		return false;
	memcpy(o->edges[axis], tmp, (size_t)n * sizeof(double));
	o->nedges[axis] = n;
	return true;
}

/* categories=-1,1 or categories="ee","mumu","emu": the axis's categories,
 * distinct, all integers or all strings. */
static bool parse_categories(struct parser *p, struct hist_opts *o, int axis)
{
	struct ql_axis *ax = &o->cats[axis];
	int64_t iv[1024];
	char *sv[1024];
	int n = 0;
	struct token first = p->tok;
	ax->cat_str = first.t == T_STRING;
	for (;;) {
		struct token t = p->tok, at = t;
		bool neg = t.t == T_MINUS;
		if (neg) {
			ql_lex(p);
			t = p->tok;
			at.len = t.col + t.len - at.col;
		}
		if (n == 1024) {
			ql_fail_tok(p, &t, NULL, "at most 1024 categories");
			return false;
		}
		if (ax->cat_str ? t.t != T_STRING || neg : t.t != T_INT) {
			ql_fail_tok(p, &t, "categories=-1,1 or categories=\"ee\",\"mumu\"",
				    "categories are all integers or all strings in double quotes");
			return false;
		}
		if (ax->cat_str) {
			if (!(sv[n] = ql_tok_str(p, &t)))
				return false;
		} else {
			iv[n] = neg ? -t.ival : t.ival;
		}
		for (int i = 0; i < n; i++)
			if (ax->cat_str ? !strcmp(sv[i], sv[n]) : iv[i] == iv[n]) {
				ql_fail_tok(p, &at, NULL, "a category is listed twice");
				return false;
			}
		n++;
		ql_lex(p);
		if (p->tok.t != T_COMMA)
			break;
		ql_lex(p);
	}
	ax->is_cat = true;
	ax->nbins = n;
	if (ax->cat_str) {
		if (!(ax->cat_strs = arena_alloc(p->q->arena, (size_t)n * sizeof(char *))))
			return false;
		memcpy(ax->cat_strs, sv, (size_t)n * sizeof(char *));
	} else {
		if (!(ax->cat_int = arena_alloc(p->q->arena, (size_t)n * sizeof(int64_t))))
			return false;
		memcpy(ax->cat_int, iv, (size_t)n * sizeof(int64_t));
	}
	return true;
}

/* region=NAME or regions=A,B,...: names checked against the regions later. */
static bool parse_region_names(struct parser *p, struct hist_opts *o, bool one)
{
	char *v[QL_MAX_REGIONS];
	struct ql_place at[QL_MAX_REGIONS];
	int n = 0;
	if (o->own_region) {
		ql_fail_tok(p, &p->tok, "give one of them", "region= or regions= is given twice");
		return false;
	}
	o->own_region = o->maxdim != 0;
	for (;;) {
		struct token t;
		if (n == QL_MAX_REGIONS || !ql_lex_label(p, &t)) {
			ql_fail_tok(p, &t, one ? "region=4j2b" : "regions=4j1b,4j2b",
				    n == QL_MAX_REGIONS ? "too many regions" : "expected a region's name");
			return false;
		}
		at[n] = (struct ql_place){t.line, t.col, t.len};
		if (!(v[n++] = ql_tok_str(p, &t)))
			return false;
		if (one || p->tok.t != T_COMMA)
			break;
		/* ql_lex_label reads from the text after the comma. */
	}
	if (!(o->region_names = arena_alloc(p->q->arena, (size_t)n * sizeof(char *))) ||
	    !(o->region_at = arena_alloc(p->q->arena, (size_t)n * sizeof(*at))))
		return false;
	memcpy(o->region_names, v, (size_t)n * sizeof(char *));
	memcpy(o->region_at, at, (size_t)n * sizeof(*at));
	o->nregion_names = n;
	o->one_region = one;
	return true;
}

/* logy=true and the other switches of a plot: true or false. */
static bool parse_switch(struct parser *p, struct hist_opts *o, enum hist_key which)
{
	bool on = ql_is_ident(&p->tok, "true");
	if (!on && !ql_is_ident(&p->tok, "false")) {
		char hint[64];
		snprintf(hint, sizeof(hint), "write %s=true or %s=false", hist_keys[which], hist_keys[which]);
		ql_fail_tok(p, &p->tok, hint, "expected true or false");
		return false;
	}
	bool *v[] = {&o->plot.logx, &o->plot.logy, &o->plot.logz, &o->plot.density, &o->plot.points};
	*v[which - K_LOGX] = on;
	ql_lex(p);
	return true;
}

/* The whole number 200..4000 at s (n bytes), or -1. */
static int pixels(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 4000)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return n > 0 && v >= 200 && v <= 4000 ? v : -1;
}

/* size=800,600 or size=800x600 (p->tok the '='): the plot's width and
 * height in pixels, read raw, since 800x600 is no token. */
static bool parse_size(struct parser *p, struct hist_opts *o)
{
	struct token a, b = {0};
	bool ok = ql_lex_label(p, &a);
	const char *x = ok ? memchr(a.s, 'x', (size_t)a.len) : NULL;
	int w = -1, h = -1;
	if (x) {
		w = pixels(a.s, (int)(x - a.s));
		h = pixels(x + 1, a.len - (int)(x - a.s) - 1);
	} else if (ok && p->tok.t == T_COMMA && ql_lex_label(p, &b)) {
		w = pixels(a.s, a.len);
		h = pixels(b.s, b.len);
	}
	if (w < 0 || h < 0) {
		ql_fail_tok(p, &a, "size=800,600 or size=800x600: width and height in pixels, each 200 to 4000",
			    "a plot's size is two whole numbers");
		return false;
	}
	o->plot.width = w;
	o->plot.height = h;
	return true;
}

static bool parse_hist_option(struct parser *p, struct hist_opts *o)
{
	struct token key = p->tok;
	int which = -1;
	for (int i = 0; i < K_COUNT; i++)
		if (ql_is_ident(&key, hist_keys[i]))
			which = i;
	if (which == K_REGION || which == K_REGIONS || which == K_SIZE) {
		/* The name after '=' may start with a digit: read it raw. */
		ql_lex(p);
		if (p->tok.t != T_ASSIGN) {
			ql_fail_tok(p, &key, which == K_REGION ? "write region=NAME"
					     : which == K_SIZE ? "write size=800,600" : "write regions=A,B",
				    "expected '=' after the option name");
			return false;
		}
		return which == K_SIZE ? parse_size(p, o) : parse_region_names(p, o, which == K_REGION);
	}
	ql_lex(p);
	if (which < 0) {
		char hint[512];
		option_hint(&key, hint, sizeof(hint));
		ql_fail_tok(p, &key, hint, "unknown histogram option");
		return false;
	}
	if (p->tok.t != T_ASSIGN) {
		char hint[64];
		snprintf(hint, sizeof(hint), "write %s=...", hist_keys[which]);
		ql_fail_tok(p, &key, hint, "expected '=' after the option name");
		return false;
	}
	ql_lex(p);
	switch (which) {
	case K_BINS:
		o->own_bins = o->maxdim != 0;
		o->bins_at = p->tok;
		return (o->nbins = ql_parse_numbers(p, o->bins, o->maxdim ? o->maxdim : QL_MAX_DIM)) > 0;
	case K_RANGE:
		o->own_bins = o->maxdim != 0;
		o->range_at = p->tok;
		return (o->nrange = ql_parse_numbers(p, o->range, 2 * (o->maxdim ? o->maxdim : QL_MAX_DIM))) > 0;
	case K_EDGES:
	case K_XEDGES:
	case K_YEDGES:
	case K_ZEDGES: {
		int a = which == K_YEDGES ? 1 : which == K_ZEDGES ? 2 : 0;
		if (o->maxdim && o->own_cats[a]) {
			ql_fail_tok(p, &key, "an axis is binned by edges= or is categories=, not both",
				    "this axis already has categories");
			return false;
		}
		o->own_edges[a] = o->maxdim != 0;
		o->axis_by[a] = hist_keys[which];
		return parse_edges(p, o, a);
	}
	case K_CATEGORIES:
	case K_XCATEGORIES:
	case K_YCATEGORIES:
	case K_ZCATEGORIES: {
		int a = which == K_YCATEGORIES ? 1 : which == K_ZCATEGORIES ? 2 : 0;
		if (o->maxdim && o->own_edges[a]) {
			ql_fail_tok(p, &key, "an axis is binned by edges= or is categories=, not both",
				    "this axis already has edges");
			return false;
		}
		o->own_cats[a] = o->maxdim != 0;
		o->axis_by[a] = hist_keys[which];
		return parse_categories(p, o, a);
	}
	case K_LABELS:
		return parse_labels(p, o, &key);
	case K_WEIGHT:
		return (o->weight = ql_parse_expr(p)) != NULL;
	case K_LOGX:
	case K_LOGY:
	case K_LOGZ:
	case K_DENSITY:
	case K_POINTS:
		return parse_switch(p, o, (enum hist_key)which);
	default:
		return parse_hist_text(p, o, &key, (enum hist_key)which);
	}
}

/* Turn bins=/range=/edges=/categories= into axes, checking what can be
 * checked now.  bins= and range= list the axes that are not given by
 * edges or categories, in order. */
static bool make_axes(struct parser *p, struct ql_hist *h, struct hist_opts *o,
		      const struct token *at)
{
	int nreg = 0; /* axes binned by bins= and range= */
	for (int a = 0; a < h->ndim; a++)
		nreg += !o->edges[a] && !o->cats[a].is_cat;
	/* The defaults' binning is for the axes that need one. */
	if (!o->own_bins && nreg == 0)
		o->nbins = o->nrange = 0;
	double total = 1;
	for (int a = 0, r = 0; a < h->ndim; a++) {
		struct ql_axis *ax = &h->axes[a];
		ax->label = o->labels[a];
		if (o->cats[a].is_cat) {
			*ax = o->cats[a];
			ax->label = o->labels[a];
			total *= ax->nbins;
			continue;
		}
		if (o->edges[a]) {
			int n = o->nedges[a];
			if (n < 2) {
				ql_fail_tok(p, at, NULL, "edges need at least two numbers");
				return false;
			}
			for (int i = 0; i < n; i++)
				if (!isfinite(o->edges[a][i]) || (i && o->edges[a][i] <= o->edges[a][i - 1])) {
					ql_fail_tok(p, at, NULL, "edges must be finite and increasing");
					return false;
				}
			ax->edges = o->edges[a];
			ax->nbins = n - 1;
			ax->lo = ax->edges[0];
			ax->hi = ax->edges[n - 1];
			total *= ax->nbins;
			continue;
		}
		if (o->nbins != nreg || o->nrange != 2 * nreg) {
			ql_fail_tok(p, o->nbins && o->own_bins ? &o->bins_at : at,
				 h->ndim == 1 ? "write bins=N range=lo,hi or edges=e0,e1,..."
				 : h->ndim == 2 ? "write bins=NX,NY range=xlo,xhi,ylo,yhi"
						: "write bins=NX,NY,NZ range=xlo,xhi,ylo,yhi,zlo,zhi",
				 o->nbins == 0 && o->nrange == 0 ? "the histogram needs a binning"
				 : o->own_bins ? "bins= and range= do not match the histogram's dimension"
					       : "the defaults' bins= and range= do not fit this histogram's axes");
			return false;
		}
		double nb = o->bins[r];
		if (nb != floor(nb) || nb < 1 || nb > 1000000) {
			ql_fail_tok(p, &o->bins_at, NULL, "bins must be a whole number from 1 to 1000000");
			return false;
		}
		ax->nbins = (int)nb;
		ax->lo = o->range[2 * r];
		ax->hi = o->range[2 * r + 1];
		r++;
		if (!(ax->lo < ax->hi) || !isfinite(ax->lo) || !isfinite(ax->hi)) {
			ql_fail_tok(p, &o->range_at, NULL, "a range needs lo < hi, both finite");
			return false;
		}
		if (!isfinite(ax->hi - ax->lo) || !isfinite((ax->hi - ax->lo) * ax->nbins)) {
			ql_fail_tok(p, &o->range_at, NULL, "the range is too wide to bin");
			return false;
		}
		total *= ax->nbins;
	}
	if (h->ndim > 1 && total > 4e6) {
		ql_fail_tok(p, at, NULL,
			    h->ndim == 2 ? "a 2-D histogram may have at most 4,000,000 bins"
					 : "a histogram may have at most 4,000,000 bins");
		return false;
	}
	return true;
}

/* The options the defaults line gave, for every later histogram (NULL
 * while there is none). */
static struct hist_opts *defaults_of(struct parser *p)
{
	return p->hist_defaults;
}

/* defaults OPTIONS: what every later histogram takes unless it says
 * otherwise; a later defaults line replaces the earlier one. */
bool ql_parse_defaults(struct parser *p, const struct token *kw)
{
	struct hist_opts *o = arena_alloc(p->q->arena, sizeof(*o));
	if (!o)
		return false;
	memset(o, 0, sizeof(*o));
	ql_lex(p);
	if (p->tok.t != T_IDENT) {
		ql_fail_tok(p, kw, "defaults bins=25 range=50,550 label=\"m [GeV]\"",
			    "defaults takes histogram options");
		return false;
	}
	while (p->tok.t == T_IDENT)
		if (!parse_hist_option(p, o))
			return false;
	o->xlabel_by = NULL; /* a histogram's own label= or xlabel= replaces it */
	p->hist_defaults = o;
	return !p->failed;
}

/* The histogram statement above named name (len bytes), or NULL. */
static const struct ql_hist *hist_named(const struct ql_query *q, const char *name, size_t len)
{
	for (int i = 0; i < q->nstmts; i++) {
		const struct ql_hist *h = &q->stmts[i].u.hist;
		if (q->stmts[i].kind == QS_HIST && h->name && strlen(h->name) == len &&
		    !strncmp(h->name, name, len))
			return h;
	}
	return NULL;
}

static bool plot_named(const struct ql_query *q, const char *name, size_t len)
{
	for (int i = 0; i < q->nplots; i++)
		if (strlen(q->plots[i].name) == len && !strncmp(q->plots[i].name, name, len))
			return true;
	return false;
}

/* plot NAME = H1, H2, ... OPTIONS (ql.h struct ql_plotdef). */
bool ql_parse_plot(struct parser *p, const struct token *kw)
{
	struct ql_query *q = p->q;
	ql_lex(p);
	struct token name = p->tok;
	if (name.t != T_IDENT) {
		ql_fail_tok(p, &name, "plot NAME = H1, H2 logy=true", "expected the plot's name");
		return false;
	}
	if (q->nplots == QL_MAX_PLOTS) {
		ql_fail_tok(p, kw, NULL, "at most 64 plot statements");
		return false;
	}
	if (hist_named(q, name.s, (size_t)name.len) || plot_named(q, name.s, (size_t)name.len)) {
		ql_fail_tok(p, &name, "give the plot a name of its own: it is the file hist/NAME.svg",
			    "a histogram or plot above has this name");
		return false;
	}
	if (!q->plots && !(q->plots = arena_alloc(q->arena, QL_MAX_PLOTS * sizeof(*q->plots))))
		return false;
	struct ql_plotdef *d = &q->plots[q->nplots];
	*d = (struct ql_plotdef){.name = ql_tok_str(p, &name), .line = kw->line};
	if (!d->name || !(d->hists = arena_alloc(q->arena, QL_MAX_PLOT_HISTS * sizeof(char *))))
		return false;
	ql_lex(p);
	if (p->tok.t != T_ASSIGN) {
		ql_fail_tok(p, &p->tok, "plot NAME = H1, H2", "expected '='");
		return false;
	}
	do {
		ql_lex(p);
		struct token t = p->tok;
		const struct ql_hist *h = t.t == T_IDENT ? hist_named(q, t.s, (size_t)t.len) : NULL;
		if (!h) {
			ql_fail_tok(p, &t, "name histograms written above the plot line",
				    t.t == T_IDENT ? "no histogram above has this name" : "expected a histogram's name");
			return false;
		}
		if (h->ndim != 1 || h->profile || h->axes[0].is_cat) {
			ql_fail_tok(p, &t, "a plot overlays 1-D histograms of bins (not categories or profiles)",
				    "this histogram cannot be overlaid");
			return false;
		}
		if (d->nhists == QL_MAX_PLOT_HISTS) {
			ql_fail_tok(p, &t, NULL, "a plot overlays at most 10 histograms");
			return false;
		}
		d->hists[d->nhists++] = h->name;
		ql_lex(p);
	} while (p->tok.t == T_COMMA);
	struct hist_opts o = {0};
	if (defaults_of(p))
		o.plot = defaults_of(p)->plot;
	while (p->tok.t == T_IDENT) {
		bool ok = ql_is_ident(&p->tok, "title");
		for (int k = K_LOGX; k < K_COUNT; k++)
			ok = ok || ql_is_ident(&p->tok, hist_keys[k]);
		if (!ok) {
			ql_fail_tok(p, &p->tok, "a plot takes title=, logx=, logy=, density=, size=, "
				    "plot_label= and plot_lumi=", "not an option of a plot");
			return false;
		}
		if (!parse_hist_option(p, &o))
			return false;
	}
	d->title = o.title;
	d->plot = o.plot;
	q->nplots++;
	return !p->failed;
}

/* hist NAME = X[, Y[, Z]] OPTIONS, hist NAME OPTIONS, and
 * profile NAME = X[, Y], VALUE OPTIONS (the mean of VALUE per bin). */
bool ql_parse_hist(struct parser *p, struct ql_stmt *s, bool profile)
{
	struct ql_hist *h = &s->u.hist;
	struct token name = p->tok;
	if (name.t != T_IDENT) {
		ql_fail_tok(p, &name,
			    profile ? "profile NAME = X, VALUE bins=N range=lo,hi"
				    : "hist NAME = EXPR bins=N range=lo,hi",
			    profile ? "expected the profile's name" : "expected the histogram's name");
		return false;
	}
	if (plot_named(p->q, name.s, (size_t)name.len)) {
		ql_fail_tok(p, &name, "a plot above has this name: hist/NAME.svg would be both",
			    "a plot and a histogram may not share a name");
		return false;
	}
	h->name = ql_tok_str(p, &name);
	h->region = -1;
	h->profile = profile;
	ql_lex(p);
	struct ql_node *e[QL_MAX_DIM + 1];
	int n = 0;
	if (p->tok.t == T_ASSIGN) {
		ql_lex(p);
		for (;;) {
			if (n == QL_MAX_DIM + profile) {
				ql_fail_tok(p, &p->tok, NULL,
					    profile ? "a profile has at most 2 axes and its value"
						    : "a histogram has at most 3 axes");
				return false;
			}
			if (!(e[n++] = ql_parse_expr(p)))
				return false;
			if (p->tok.t != T_COMMA)
				break;
			ql_lex(p);
		}
	} else if (!profile) {
		/* hist x bins=...: the histogram of the define or branch x. */
		struct ql_node *x = ql_new_node(p, QN_NAME, &name);
		if (!x)
			return false;
		x->name = h->name;
		e[n++] = x;
	}
	if (profile && (n < 2 || n > 3)) {
		ql_fail_tok(p, &name, "profile NAME = X, VALUE (or X, Y, VALUE) bins=... range=...",
			    n > 3 ? "a profile has at most 2 axes and its value"
				  : "a profile needs its axes and the value averaged");
		return false;
	}
	h->ndim = n - profile;
	for (int i = 0; i < h->ndim; i++)
		h->expr[i] = e[i];
	if (profile)
		h->value = e[n - 1];
	struct hist_opts o = {0};
	if (defaults_of(p))
		o = *defaults_of(p);
	o.maxdim = h->ndim > 2 ? h->ndim : 2;
	while (p->tok.t == T_IDENT)
		if (!parse_hist_option(p, &o))
			return false;
	if (p->failed)
		return false;
	/* A histogram's own binning of an axis wins over the defaults' of any
	 * kind (their edges or categories would otherwise take precedence). */
	for (int a = 0; a < QL_MAX_DIM; a++) {
		bool own = o.own_edges[a] || o.own_cats[a] || o.own_bins;
		if (own && !o.own_edges[a])
			o.edges[a] = NULL;
		if (own && !o.own_cats[a])
			o.cats[a].is_cat = false;
	}
	h->nfilters = p->q->nfilters;
	h->weight = o.weight;
	h->title = o.title;
	h->plot = o.plot;
	if (h->ndim == 1) {
		h->value_label = o.labels[1];
		o.labels[1] = NULL;
	}
	h->region_names = o.region_names;
	h->nregion_names = o.nregion_names;
	h->region_at = o.region_at;
	if (o.one_region)
		h->region = -2; /* one region, resolved by check */
	/* An axis the histogram does not have: the defaults' options for it
	 * are for other histograms; its own are a mistake. */
	for (int a = h->ndim; a < QL_MAX_DIM; a++) {
		bool own = o.own_edges[a] || o.own_cats[a] || (o.own_labels && o.labels[a]);
		if (own) {
			char msg[120];
			snprintf(msg, sizeof(msg), "%s names axis %d; the histogram has %d",
				 o.axis_by[a] && (o.own_edges[a] || o.own_cats[a]) ? o.axis_by[a] : "labels=",
				 a + 1, h->ndim);
			ql_fail_tok(p, &name, "labels=, zedges= and the like give one per axis of the histogram",
				    msg);
			return false;
		}
		o.edges[a] = NULL;
		o.cats[a].is_cat = false;
		o.labels[a] = NULL;
	}
	if (o.own_bins && o.nbins) {
		bool all_given = true;
		for (int a = 0; a < h->ndim; a++)
			all_given &= o.edges[a] || o.cats[a].is_cat;
		if (all_given) {
			ql_fail_tok(p, &o.bins_at, "give bins= and range=, or edges=/categories=",
				    "bins= is given, but every axis has edges= or categories=");
			return false;
		}
	}
	return make_axes(p, h, &o, &name);
}

