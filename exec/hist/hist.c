/* hist.c — histograms: definition, scaling, merging and introspection
 * (see hist.h; bins and fills in hist_fill.c, saved bytes in hist_save.c,
 * JSON in hist_json.c). */
#include "hist_int.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MAX_CELLS 4000000 /* the product of bins, flow bins not counted */

/* ---- definition ---- */

static int cmp_cat(const void *a, const void *b)
{
	const struct hist_cat *x = a, *y = b;
	return (x->v > y->v) - (x->v < y->v);
}

static int check_cats(const struct hist_axis_def *a, const char **why)
{
	if (a->kind == HIST_AXIS_CAT_INT) {
		if (!a->cat_int) {
			*why = "an integer category axis has no categories";
			return -EINVAL;
		}
		/* Distinct: checked on the sorted copy in hist_new(). */
		return 0;
	}
	if (!a->cat_str) {
		*why = "a string category axis has no categories";
		return -EINVAL;
	}
	for (int i = 0; i < a->nbins; i++) {
		if (!a->cat_str[i] || strlen(a->cat_str[i]) > HIST_MAX_CAT_LEN) {
			*why = "a string category is missing or longer than 255 bytes";
			return -EINVAL;
		}
	}
	/* Quadratic, but only at definition time and over what a query names. */
	for (int i = 0; i < a->nbins; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(a->cat_str[i], a->cat_str[j]) == 0) {
				*why = "the categories of an axis must be distinct";
				return -EINVAL;
			}
	return 0;
}

static int check_axis(const struct hist_axis_def *a, const char **why)
{
	if (a->nbins < 1 || a->nbins > HIST_MAX_BINS) {
		*why = "the number of bins must be between 1 and 1000000";
		return -EINVAL;
	}
	if (a->kind == HIST_AXIS_CAT_INT || a->kind == HIST_AXIS_CAT_STR)
		return check_cats(a, why);
	if (a->kind != HIST_AXIS_REGULAR && a->kind != HIST_AXIS_VARIABLE) {
		*why = "unknown axis kind";
		return -EINVAL;
	}
	if (a->kind == HIST_AXIS_VARIABLE && !a->edges) {
		*why = "a variable axis has no edges";
		return -EINVAL;
	}
	if (a->edges) {
		for (int i = 0; i <= a->nbins; i++) {
			if (!isfinite(a->edges[i]) || (i > 0 && !(a->edges[i] > a->edges[i - 1]))) {
				*why = "bin edges must be finite and strictly increasing";
				return -EINVAL;
			}
		}
		return 0;
	}
	if (!isfinite(a->lo) || !isfinite(a->hi) || !(a->lo < a->hi)) {
		*why = "the range must be finite with low < high";
		return -EINVAL;
	}
	/* nbins * (x - lo) must not overflow, or a point near hi could land in
	 * the wrong bin. */
	if (!isfinite((double)a->nbins * (a->hi - a->lo))) {
		*why = "the range is too wide";
		return -EINVAL;
	}
	return 0;
}

static int check_def(const struct hist_def *def, const char **why)
{
	if (!def->name || !def->name[0]) {
		*why = "the histogram has no name";
		return -EINVAL;
	}
	if (def->ndim < 1 || def->ndim > HIST_MAX_DIM) {
		*why = "a histogram has 1 to 3 dimensions";
		return -EINVAL;
	}
	const struct hist_plot *pl = def->plot;
	if (pl && ((pl->width && (pl->width < 200 || pl->width > 4000)) ||
		   (pl->height && (pl->height < 200 || pl->height > 4000)))) {
		*why = "a plot is 200 to 4000 pixels wide and high";
		return -EINVAL;
	}
	int64_t cells = 1;
	for (int d = 0; d < def->ndim; d++) {
		int rc = check_axis(&def->axes[d], why);
		if (rc < 0)
			return rc;
		cells *= def->axes[d].nbins; /* at most 4e6 * 1e6: no overflow */
		if (cells > HIST_MAX_CELLS) {
			*why = "too many bins: their product is more than 4000000";
			return -EINVAL;
		}
	}
	return 0;
}

static char *dupstr(const char *s)
{
	return strdup(s ? s : "");
}

static void free_axis(struct hist_axis *a)
{
	free(a->edges);
	free(a->cat_int);
	free(a->sorted);
	if (a->cat_str)
		for (int i = 0; i < a->nbins; i++)
			free(a->cat_str[i]);
	free(a->cat_str);
	free(a->label);
}

void hist_free(struct hist *h)
{
	if (!h)
		return;
	free(h->name);
	free(h->title);
	free(h->vlabel);
	free((char *)h->plot.label);
	free((char *)h->plot.lumi);
	for (int d = 0; d < HIST_MAX_DIM; d++)
		free_axis(&h->ax[d]);
	free(h->cnt);
	free(h->sw);
	free(h->sw2);
	free(h->mean);
	free(h->m2);
	free(h);
}

static int alloc_storage(struct hist *h)
{
	h->storage = h->profile ? (h->weighted ? HIST_ST_WMEAN : HIST_ST_MEAN)
				: (h->weighted ? HIST_ST_WEIGHTED : HIST_ST_INT);
	h->fast = !h->profile && h->ndim <= 2;
	h->ncells = 1;
	for (int d = h->ndim - 1; d >= 0; d--) {
		h->stride[d] = h->ncells;
		h->ncells *= (size_t)h->ax[d].extent;
		h->fast &= h->ax[d].kind == HIST_AXIS_REGULAR || h->ax[d].kind == HIST_AXIS_VARIABLE;
	}
	bool ok = true;
	if (h->storage == HIST_ST_INT || h->storage == HIST_ST_MEAN)
		ok &= (h->cnt = calloc(h->ncells, sizeof(int64_t))) != NULL;
	if (h->weighted) {
		ok &= (h->sw = calloc(h->ncells, sizeof(double))) != NULL;
		ok &= (h->sw2 = calloc(h->ncells, sizeof(double))) != NULL;
	}
	if (h->profile) {
		ok &= (h->mean = calloc(h->ncells, sizeof(double))) != NULL;
		ok &= (h->m2 = calloc(h->ncells, sizeof(double))) != NULL;
	}
	return ok ? 0 : -ENOMEM;
}

/* Copy an axis from a definition's fields (or another axis's): kind
 * resolved, edges NULL for a regular axis, cat_int or cat_str for a
 * category axis.  -EINVAL for repeated integer categories. */
static int copy_axis(struct hist_axis *a, int kind, int nbins, double lo, double hi,
		     const double *edges, const int64_t *cat_int, const char *const *cat_str,
		     bool flow, const char *label)
{
	if (kind == HIST_AXIS_REGULAR && edges)
		kind = HIST_AXIS_VARIABLE;
	a->kind = kind;
	a->nbins = nbins;
	bool cat = kind == HIST_AXIS_CAT_INT || kind == HIST_AXIS_CAT_STR;
	a->flow = cat && flow;
	a->extent = cat ? nbins + a->flow : nbins + 2;
	a->lo = kind == HIST_AXIS_VARIABLE ? edges[0] : cat ? 0 : lo;
	a->hi = kind == HIST_AXIS_VARIABLE ? edges[nbins] : cat ? 0 : hi;
	a->label = dupstr(label);
	if (!a->label)
		return -ENOMEM;
	size_t n = (size_t)nbins;
	if (kind == HIST_AXIS_VARIABLE) {
		if (!(a->edges = malloc((n + 1) * sizeof(double))))
			return -ENOMEM;
		memcpy(a->edges, edges, (n + 1) * sizeof(double));
	} else if (kind == HIST_AXIS_CAT_INT) {
		a->cat_int = malloc(n * sizeof(int64_t));
		a->sorted = malloc(n * sizeof(*a->sorted));
		if (!a->cat_int || !a->sorted)
			return -ENOMEM;
		for (int i = 0; i < nbins; i++) {
			a->cat_int[i] = cat_int[i];
			a->sorted[i] = (struct hist_cat){ cat_int[i], i };
		}
		qsort(a->sorted, n, sizeof(*a->sorted), cmp_cat);
		for (size_t i = 1; i < n; i++)
			if (a->sorted[i].v == a->sorted[i - 1].v)
				return -EINVAL;
	} else if (kind == HIST_AXIS_CAT_STR) {
		if (!(a->cat_str = calloc(n, sizeof(char *))))
			return -ENOMEM;
		for (int i = 0; i < nbins; i++)
			if (!(a->cat_str[i] = strdup(cat_str[i])))
				return -ENOMEM;
	}
	return 0;
}

/* A histogram with def's names and flags and no axes yet; NULL on ENOMEM. */
static struct hist *new_head(const char *name, const char *title, const char *vlabel, int ndim,
			     bool weighted, bool profile)
{
	struct hist *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ndim = ndim;
	h->weighted = weighted;
	h->profile = profile;
	h->name = dupstr(name);
	h->title = dupstr(title);
	h->vlabel = dupstr(vlabel);
	if (!h->name || !h->title || !h->vlabel) {
		hist_free(h);
		return NULL;
	}
	return h;
}

/* Copy p's options into h (strings duplicated); -ENOMEM. */
static int copy_plot(struct hist *h, const struct hist_plot *p)
{
	if (!p)
		return 0;
	h->plot = *p;
	h->plot.label = p->label ? strdup(p->label) : NULL;
	h->plot.lumi = p->lumi ? strdup(p->lumi) : NULL;
	return (p->label && !h->plot.label) || (p->lumi && !h->plot.lumi) ? -ENOMEM : 0;
}

int hist_new(const struct hist_def *def, struct hist **out, const char **why)
{
	const char *reason = NULL;
	struct hist *h = NULL;
	int rc = check_def(def, &reason);

	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	h = new_head(def->name, def->title, def->value_label, def->ndim, def->weighted, def->profile);
	if (!h || copy_plot(h, def->plot))
		goto out;
	for (int d = 0; d < def->ndim; d++) {
		const struct hist_axis_def *a = &def->axes[d];
		rc = copy_axis(&h->ax[d], a->kind, a->nbins, a->lo, a->hi, a->edges, a->cat_int,
			       a->cat_str, a->flow, a->label);
		if (rc == -EINVAL)
			reason = "the categories of an axis must be distinct";
		if (rc < 0)
			goto out;
	}
	rc = alloc_storage(h);
	if (rc < 0)
		goto out;
	*out = h;
	h = NULL;
out:
	hist_free(h);
	if (rc == -ENOMEM)
		reason = "out of memory";
	if (why)
		*why = reason;
	return rc;
}

struct hist *hist_new_like(const struct hist *src)
{
	struct hist *h = new_head(src->name, src->title, src->vlabel, src->ndim, src->weighted,
				  src->profile);
	if (!h)
		return NULL;
	if (copy_plot(h, &src->plot))
		goto fail;
	for (int d = 0; d < src->ndim; d++) {
		const struct hist_axis *a = &src->ax[d];
		if (copy_axis(&h->ax[d], a->kind, a->nbins, a->lo, a->hi, a->edges, a->cat_int,
			      (const char *const *)a->cat_str, a->flow, a->label) < 0)
			goto fail;
	}
	if (alloc_storage(h) < 0)
		goto fail;
	return h;
fail:
	hist_free(h);
	return NULL;
}

/* ---- scaling ---- */

int hist_scale(struct hist *h, double c)
{
	if (!isfinite(c) || (!h->weighted && c != 1))
		return -EINVAL;
	if (!h->weighted)
		return 0;
	for (size_t i = 0; i < h->ncells; i++) {
		/* 0 times an overflowed sum is NaN: kept as 0, as merges keep it. */
		h->sw[i] = nan0(h->sw[i] * c);
		h->sw2[i] = nan0(h->sw2[i] * (c * c));
		if (h->profile) {
			/* variance = m2 / (sw - sw2 / sw) stays when m2 scales as sw;
			 * with the weights gone (c = 0) the cell holds no mean. */
			h->m2[i] = nan0(h->m2[i] * c);
			if (h->sw[i] == 0)
				h->mean[i] = h->m2[i] = 0;
		}
	}
	return 0;
}

/* ---- merge ---- */

static bool same_axis(const struct hist_axis *a, const struct hist_axis *b)
{
	if (a->kind != b->kind || a->nbins != b->nbins || a->flow != b->flow)
		return false;
	for (int i = 0; i < a->nbins; i++) {
		if (a->kind == HIST_AXIS_CAT_INT && a->cat_int[i] != b->cat_int[i])
			return false;
		if (a->kind == HIST_AXIS_CAT_STR && strcmp(a->cat_str[i], b->cat_str[i]) != 0)
			return false;
	}
	if (a->kind == HIST_AXIS_REGULAR)
		return a->lo == b->lo && a->hi == b->hi;
	if (a->kind == HIST_AXIS_VARIABLE)
		for (int i = 0; i <= a->nbins; i++)
			if (a->edges[i] != b->edges[i])
				return false;
	return true;
}

bool hist_same_shape(const struct hist *a, const struct hist *b)
{
	if (a->ndim != b->ndim || a->weighted != b->weighted || a->profile != b->profile)
		return false;
	for (int d = 0; d < a->ndim; d++)
		if (!same_axis(&a->ax[d], &b->ax[d]))
			return false;
	return true;
}

int hist_merge_check(const struct hist *dst, const struct hist *src)
{
	if (!hist_same_shape(dst, src))
		return -EINVAL;
	/* Counts from bytes (a stored or a worker's result) are only known
	 * not to be negative; their sum must still fit. */
	if (dst->cnt)
		for (size_t i = 0; i < dst->ncells; i++)
			if (src->cnt[i] > INT64_MAX - dst->cnt[i])
				return -EOVERFLOW;
	return 0;
}

/* Boost-histogram's merge of two means: n1, n2 the counts or sums of
 * weights, both sides non-empty. */
static void mean_merge(double n1, double n2, double *mean, double *m2, double mu2, double m2b)
{
	double mu1 = *mean, n = n1 + n2;
	if (n == 0) { /* weights that cancel: see wmean_add() */
		*mean = *m2 = 0;
		return;
	}
	double mu = (n1 * mu1 + n2 * mu2) / n;
	*mean = nan0(mu);
	*m2 = nan0(*m2 + m2b + n1 * (mu - mu1) * (mu - mu1) + n2 * (mu - mu2) * (mu - mu2));
}

static void merge_profile(struct hist *dst, const struct hist *src, size_t i)
{
	bool wm = dst->storage == HIST_ST_WMEAN;
	/* Weights that cancel leave a sum of 0 but not an empty cell. */
	bool src_empty = wm ? src->sw[i] == 0 && src->sw2[i] == 0 : src->cnt[i] == 0;
	bool dst_empty = wm ? dst->sw[i] == 0 && dst->sw2[i] == 0 : dst->cnt[i] == 0;
	if (src_empty)
		return;
	if (dst_empty) {
		dst->mean[i] = src->mean[i];
		dst->m2[i] = src->m2[i];
	} else {
		mean_merge(wm ? dst->sw[i] : (double)dst->cnt[i], wm ? src->sw[i] : (double)src->cnt[i],
			   &dst->mean[i], &dst->m2[i], src->mean[i], src->m2[i]);
	}
	if (wm) {
		dst->sw[i] = nan0(dst->sw[i] + src->sw[i]);
		dst->sw2[i] += src->sw2[i];
	} else {
		dst->cnt[i] += src->cnt[i];
	}
}

int hist_merge(struct hist *dst, const struct hist *src)
{
	int rc = hist_merge_check(dst, src);
	if (rc)
		return rc;
	if (dst->profile) {
		for (size_t i = 0; i < dst->ncells; i++)
			merge_profile(dst, src, i);
	} else if (dst->weighted) {
		for (size_t i = 0; i < dst->ncells; i++) {
			/* Finite weights make a NaN sum only here, from partial
			 * sums that overflowed to opposite infinities.  It is kept
			 * as 0, as hist.json shows it: a NaN would make bytes that
			 * hist_load() refuses, and the saved result unreadable. */
			dst->sw[i] = nan0(dst->sw[i] + src->sw[i]);
			dst->sw2[i] += src->sw2[i];
		}
	} else {
		for (size_t i = 0; i < dst->ncells; i++)
			dst->cnt[i] += src->cnt[i];
	}
	dst->skipped += src->skipped;
	dst->entries += src->entries;
	return 0;
}

/* ---- introspection ---- */

const char *hist_name(const struct hist *h) { return h->name; }
int hist_ndim(const struct hist *h) { return h->ndim; }
bool hist_weighted(const struct hist *h) { return h->weighted; }
bool hist_profile(const struct hist *h) { return h->profile; }
const char *hist_title(const struct hist *h) { return h->title; }
const char *hist_value_label(const struct hist *h) { return h->vlabel; }
const struct hist_plot *hist_plot(const struct hist *h) { return &h->plot; }
uint64_t hist_skipped(const struct hist *h) { return h->skipped; }
uint64_t hist_entries(const struct hist *h) { return h->entries; }
size_t hist_ncells(const struct hist *h) { return h->ncells; }

static const struct hist_axis *axis_of(const struct hist *h, int axis)
{
	return axis >= 0 && axis < h->ndim ? &h->ax[axis] : NULL;
}

int hist_axis_kind(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a ? a->kind : -1;
}

int hist_nbins(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a ? a->nbins : 0;
}

int hist_extent(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a ? a->extent : 0;
}

bool hist_axis_flow(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a && a->flow;
}

int hist_ncats(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a && (a->cat_int || a->cat_str) ? a->nbins : 0;
}

int64_t hist_cat_int(const struct hist *h, int axis, int i)
{
	const struct hist_axis *a = axis_of(h, axis);
	bool ok = a && a->cat_int && i >= 0 && i < a->nbins;
	assert(ok);
	return ok ? a->cat_int[i] : 0;
}

const char *hist_cat_str(const struct hist *h, int axis, int i)
{
	const struct hist_axis *a = axis_of(h, axis);
	bool ok = a && a->cat_str && i >= 0 && i < a->nbins;
	assert(ok);
	return ok ? a->cat_str[i] : "";
}

const char *hist_label(const struct hist *h, int axis)
{
	const struct hist_axis *a = axis_of(h, axis);
	return a ? a->label : "";
}

size_t hist_cell(const struct hist *h, const int *idx)
{
	size_t c = 0;
	for (int d = 0; d < h->ndim; d++) {
		assert(idx[d] >= 0 && idx[d] < h->ax[d].extent);
		c += (size_t)idx[d] * h->stride[d];
	}
	return c;
}

double hist_mean_variance(int64_t n, double m2)
{
	return n > 1 ? m2 / (double)(n - 1) : 0;
}

/* Boost-histogram's: undefined (there NaN) unless sw - sw2 / sw > 0. */
double hist_wmean_variance(double sw, double sw2, double m2)
{
	double denom = sw != 0 ? sw - sw2 / sw : 0;
	return denom > 0 ? nan0(m2 / denom) : 0;
}

double hist_cell_value(const struct hist *h, size_t c)
{
	assert(c < h->ncells);
	return h->profile ? h->mean[c] : h->weighted ? h->sw[c] : (double)h->cnt[c];
}

double hist_cell_variance(const struct hist *h, size_t c)
{
	assert(c < h->ncells);
	switch (h->storage) {
	case HIST_ST_INT:
		return (double)h->cnt[c];
	case HIST_ST_WEIGHTED:
		return h->sw2[c];
	case HIST_ST_MEAN:
		return hist_mean_variance(h->cnt[c], h->m2[c]);
	default:
		return hist_wmean_variance(h->sw[c], h->sw2[c], h->m2[c]);
	}
}

/* Weighted storages keep no counts: their sum of weights stands in. */
int64_t hist_cell_count(const struct hist *h, size_t c)
{
	assert(c < h->ncells);
	if (h->cnt)
		return h->cnt[c];
	double v = h->sw[c];
	return fabs(v) < 9.2e18 ? (int64_t)v : 0;
}

double hist_cell_sumw(const struct hist *h, size_t c)
{
	assert(c < h->ncells);
	return h->weighted ? h->sw[c] : (double)h->cnt[c];
}

double hist_cell_sumw2(const struct hist *h, size_t c)
{
	assert(c < h->ncells);
	return h->weighted ? h->sw2[c] : (double)h->cnt[c];
}

/* Index of cell (ix, iy), or -1 when out of range (a caller's bug). */
static ptrdiff_t cell(const struct hist *h, int ix, int iy)
{
	if (h->ndim == 1)
		iy = 0;
	bool ok = h->ndim <= 2 && ix >= 0 && ix < h->ax[0].extent && iy >= 0 &&
		  (h->ndim == 1 || iy < h->ax[1].extent);
	assert(ok);
	if (!ok)
		return -1;
	return (ptrdiff_t)((size_t)ix * h->stride[0] + (size_t)iy);
}

double hist_value(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	return c < 0 ? 0 : hist_cell_value(h, (size_t)c);
}

int64_t hist_count(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	return c < 0 ? 0 : hist_cell_count(h, (size_t)c);
}

double hist_variance(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	return c < 0 ? 0 : hist_cell_variance(h, (size_t)c);
}

/* The last edge is hi itself rather than lo + (hi - lo), which rounding can
 * move by an ulp; the others follow the formula in hist.h. */
double hist_edge(const struct hist *h, int axis, int i)
{
	const struct hist_axis *a = axis_of(h, axis);
	if (!a || a->cat_int || a->cat_str)
		return 0;
	if (i < 1)
		i = 1;
	if (i > a->nbins + 1)
		i = a->nbins + 1;
	if (a->edges)
		return a->edges[i - 1];
	if (i == a->nbins + 1)
		return a->hi;
	return a->lo + (a->hi - a->lo) * (i - 1) / a->nbins;
}

bool hist_raw(struct hist *h, struct hist_raw *out)
{
	if (!h->fast || h->ndim > 2 || h->profile)
		return false;
	memset(out, 0, sizeof(*out));
	out->ndim = h->ndim;
	for (int d = 0; d < h->ndim; d++) {
		out->nbins[d] = h->ax[d].nbins;
		out->lo[d] = h->ax[d].lo;
		out->hi[d] = h->ax[d].hi;
		out->edges[d] = h->ax[d].edges;
	}
	out->cnt = h->weighted ? NULL : h->cnt;
	out->sw = h->weighted ? h->sw : NULL;
	out->sw2 = h->weighted ? h->sw2 : NULL;
	out->skipped = &h->skipped;
	out->entries = &h->entries;
	return true;
}
