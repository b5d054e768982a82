/* hist_json.c — histograms as hist.json: UHI serialization, schema 1 (see
 * hist.h).
 *
 * A storage array nests one level per axis in axis order, the value axes
 * with their flow bins first and a composite's category axes after them,
 * so that its innermost arrays run over the last category.  With no
 * categories this is the flat cell order itself, x outer. */
#include "hist_int.h"
#include "jsonw.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_CATS 4

/* Sums of finite weights are finite unless they overflow; an overflowed
 * sum is written as the largest finite double of its sign, and a sum that
 * met overflows of both signs (NaN) as 0, so that the file stays valid JSON
 * that every reader accepts. */
static void write_sum(struct jsonw *w, double v)
{
	if (isnan(v))
		v = 0;
	else if (isinf(v))
		v = copysign(DBL_MAX, v);
	jsonw_double(w, v);
}

static void write_label(struct jsonw *w, const char *key, const char *v)
{
	jsonw_key(w, "metadata");
	jsonw_obj_begin(w);
	jsonw_key(w, key);
	jsonw_str(w, v);
	jsonw_obj_end(w);
}

static void write_axis(struct jsonw *w, const struct hist_axis *a)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
	if (a->kind == HIST_AXIS_CAT_INT || a->kind == HIST_AXIS_CAT_STR) {
		bool is_int = a->kind == HIST_AXIS_CAT_INT;
		jsonw_str(w, is_int ? "category_int" : "category_str");
		jsonw_key(w, "categories");
		jsonw_arr_begin(w);
		for (int i = 0; i < a->nbins; i++)
			if (is_int)
				jsonw_int(w, a->cat_int[i]);
			else
				jsonw_str(w, a->cat_str[i]);
		jsonw_arr_end(w);
		jsonw_key(w, "flow");
		jsonw_bool(w, a->flow);
		if (a->label[0])
			write_label(w, "label", a->label);
		jsonw_obj_end(w);
		return;
	}
	if (a->edges) {
		jsonw_str(w, "variable");
		jsonw_key(w, "edges");
		jsonw_arr_begin(w);
		for (int i = 0; i <= a->nbins; i++)
			jsonw_double(w, a->edges[i]);
		jsonw_arr_end(w);
	} else {
		jsonw_str(w, "regular");
		jsonw_key(w, "lower");
		jsonw_double(w, a->lo);
		jsonw_key(w, "upper");
		jsonw_double(w, a->hi);
		jsonw_key(w, "bins");
		jsonw_int(w, a->nbins);
	}
	jsonw_key(w, "underflow");
	jsonw_bool(w, true);
	jsonw_key(w, "overflow");
	jsonw_bool(w, true);
	jsonw_key(w, "circular");
	jsonw_bool(w, false);
	if (a->label[0])
		write_label(w, "label", a->label);
	jsonw_obj_end(w);
}

/* A composite's category axis.  Boost-histogram keeps an axis's metadata
 * as its attributes, and hist.Hist takes "name" from there (its label
 * falls back to the name). */
static void write_cat_axis(struct jsonw *w, const struct hist_cat_axis *c)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
	jsonw_str(w, "category_str");
	jsonw_key(w, "categories");
	jsonw_arr_begin(w);
	for (int i = 0; i < c->n; i++)
		jsonw_str(w, c->cats[i]);
	jsonw_arr_end(w);
	jsonw_key(w, "flow");
	jsonw_bool(w, false);
	write_label(w, "name", c->name);
	jsonw_obj_end(w);
}

/* What one storage array holds. */
enum field { F_COUNT, F_SW, F_SW2, F_MEAN, F_VAR };

static void write_elem(struct jsonw *w, const struct hist *h, size_t c, enum field f)
{
	switch (f) {
	case F_COUNT:
		jsonw_int(w, h->cnt[c]);
		break;
	case F_SW:
		write_sum(w, h->sw[c]);
		break;
	case F_SW2:
		write_sum(w, h->sw2[c]);
		break;
	case F_MEAN:
		write_sum(w, h->mean[c]);
		break;
	case F_VAR:
		write_sum(w, hist_cell_variance(h, c));
		break;
	}
}

/* The nested arrays of one field.  Levels below ndim walk the value axes
 * (cell += i * stride), those above the categories (part += i * pstride). */
struct nest {
	const struct hist_json_item *it;
	int ndim, nlev;
	int extent[HIST_MAX_DIM + JSON_MAX_CATS];
	size_t step[HIST_MAX_DIM + JSON_MAX_CATS];
};

static void write_level(struct jsonw *w, const struct nest *n, int lev, size_t cell, size_t part,
			enum field f)
{
	if (lev >= n->nlev || lev >= HIST_MAX_DIM + JSON_MAX_CATS) { /* the second for the compiler */
		write_elem(w, n->it->parts[part], cell, f);
		return;
	}
	jsonw_arr_begin(w);
	for (int i = 0; i < n->extent[lev]; i++) {
		size_t off = (size_t)i * n->step[lev];
		if (lev < n->ndim)
			write_level(w, n, lev + 1, cell + off, part, f);
		else
			write_level(w, n, lev + 1, cell, part + off, f);
	}
	jsonw_arr_end(w);
}

static void write_storage(struct jsonw *w, const struct hist_json_item *it)
{
	const struct hist *h = it->parts[0];
	/* item_ok() checked ncat; the clamp tells the compiler. */
	int ncat = it->ncat < JSON_MAX_CATS ? it->ncat : JSON_MAX_CATS;
	struct nest n = { .it = it, .ndim = h->ndim, .nlev = h->ndim + ncat };
	for (int d = 0; d < h->ndim; d++) {
		n.extent[d] = h->ax[d].extent;
		n.step[d] = h->stride[d];
	}
	size_t ps = 1;
	for (int k = ncat - 1; k >= 0; k--) {
		n.extent[h->ndim + k] = it->cat[k].n;
		n.step[h->ndim + k] = ps;
		ps *= (size_t)it->cat[k].n;
	}
	static const struct {
		const char *type, *keys[4];
		enum field f[4];
	} st[] = {
		[HIST_ST_INT] = { "int", { "values" }, { F_COUNT } },
		[HIST_ST_WEIGHTED] = { "weighted", { "values", "variances" }, { F_SW, F_SW2 } },
		[HIST_ST_MEAN] = { "mean", { "counts", "values", "variances" }, { F_COUNT, F_MEAN, F_VAR } },
		[HIST_ST_WMEAN] = { "weighted_mean",
				    { "sum_of_weights", "sum_of_weights_squared", "values", "variances" },
				    { F_SW, F_SW2, F_MEAN, F_VAR } },
	};
	jsonw_key(w, "storage");
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
	jsonw_str(w, st[h->storage].type);
	for (int k = 0; k < 4 && st[h->storage].keys[k]; k++) {
		jsonw_key(w, st[h->storage].keys[k]);
		write_level(w, &n, 0, 0, 0, st[h->storage].f[k]);
	}
	jsonw_obj_end(w);
}

static size_t nparts(const struct hist_json_item *it)
{
	size_t p = 1;
	for (int k = 0; k < it->ncat; k++)
		p *= (size_t)it->cat[k].n;
	return p;
}

/* The plot options that are set (hist.h struct hist_plot), as flat
 * metadata keys: UHI metadata holds only strings, numbers and booleans. */
static void hist_plot_json(struct jsonw *w, const struct hist_plot *p)
{
	const char *flag[] = {"plot_logx", "plot_logy", "plot_logz", "plot_density", "plot_points"};
	bool on[] = {p->logx, p->logy, p->logz, p->density, p->points};
	for (int i = 0; i < 5; i++)
		if (on[i]) {
			jsonw_key(w, flag[i]);
			jsonw_bool(w, true);
		}
	if (p->width) {
		jsonw_key(w, "plot_width");
		jsonw_int(w, p->width);
	}
	if (p->height) {
		jsonw_key(w, "plot_height");
		jsonw_int(w, p->height);
	}
	if (p->label) {
		jsonw_key(w, "plot_label");
		jsonw_str(w, p->label);
	}
	if (p->lumi) {
		jsonw_key(w, "plot_lumi");
		jsonw_str(w, p->lumi);
	}
}

static void write_item(struct jsonw *w, const struct hist_json_item *it, const char *version)
{
	const struct hist *h = it->parts[0];
	uint64_t skipped = 0, entries = 0;
	for (size_t p = 0; p < nparts(it); p++) {
		skipped += it->parts[p]->skipped;
		entries += it->parts[p]->entries;
	}
	jsonw_key(w, it->name);
	jsonw_obj_begin(w);
	jsonw_key(w, "uhi_schema");
	jsonw_int(w, 1);

	jsonw_key(w, "writer_info");
	jsonw_obj_begin(w);
	jsonw_key(w, "anafs");
	jsonw_obj_begin(w);
	jsonw_key(w, "version");
	jsonw_str(w, version ? version : "");
	jsonw_obj_end(w);
	jsonw_obj_end(w);

	jsonw_key(w, "metadata");
	jsonw_obj_begin(w);
	jsonw_key(w, "name");
	jsonw_str(w, it->name);
	if (h->title[0]) {
		jsonw_key(w, "title");
		jsonw_str(w, h->title);
	}
	/* The UHI schema has no place for a value label but metadata,
	 * which takes any string. */
	if (h->vlabel[0]) {
		jsonw_key(w, "value_label");
		jsonw_str(w, h->vlabel);
	}
	hist_plot_json(w, &h->plot);
	jsonw_key(w, "skipped_fills");
	jsonw_uint(w, skipped);
	jsonw_key(w, "entries");
	jsonw_uint(w, entries);
	jsonw_obj_end(w);

	jsonw_key(w, "axes");
	jsonw_arr_begin(w);
	for (int d = 0; d < h->ndim; d++)
		write_axis(w, &h->ax[d]);
	for (int k = 0; k < it->ncat; k++)
		write_cat_axis(w, &it->cat[k]);
	jsonw_arr_end(w);

	write_storage(w, it);
	jsonw_obj_end(w);
}

static bool cat_ok(const struct hist_cat_axis *c)
{
	if (!c->name || !c->cats || c->n < 1 || c->n > HIST_MAX_BINS)
		return false;
	for (int i = 0; i < c->n; i++) {
		if (!c->cats[i] || strlen(c->cats[i]) > HIST_MAX_CAT_LEN)
			return false;
		for (int j = 0; j < i; j++)
			if (strcmp(c->cats[i], c->cats[j]) == 0)
				return false;
	}
	return true;
}

static bool item_ok(const struct hist_json_item *it)
{
	if (!it->name || !it->parts || it->ncat < 0 || it->ncat > JSON_MAX_CATS)
		return false;
	size_t p = 1;
	for (int k = 0; k < it->ncat; k++) {
		if (!cat_ok(&it->cat[k]))
			return false;
		p *= (size_t)it->cat[k].n;
		if (p > HIST_MAX_BINS)
			return false;
	}
	for (size_t i = 0; i < p; i++)
		if (!it->parts[i] || !hist_same_shape(it->parts[0], it->parts[i]))
			return false;
	return true;
}

int hist_to_json_items(const struct hist_json_item *it, size_t n, const char *version, char **out,
		       size_t *len)
{
	struct jsonw w;

	/* Names are the keys: two histograms of one name would make an object
	 * that readers silently cut down to one. */
	for (size_t i = 0; i < n; i++) {
		if (!item_ok(&it[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(it[i].name, it[j].name) == 0)
				return -EINVAL;
	}
	jsonw_init_pretty(&w);
	jsonw_obj_begin(&w);
	for (size_t i = 0; i < n; i++)
		write_item(&w, &it[i], version);
	jsonw_obj_end(&w);
	size_t l = 0;
	char *s = jsonw_finish(&w, &l);
	if (!s)
		return w.err ? w.err : -ENOMEM;
	*out = s;
	if (len)
		*len = l;
	return 0;
}

int hist_to_json(struct hist *const *h, size_t n, const char *version, char **out, size_t *len)
{
	struct hist_json_item *it = calloc(n ? n : 1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		it[i].name = h[i]->name;
		it[i].parts = &h[i];
	}
	int rc = hist_to_json_items(it, n, version, out, len);
	free(it);
	return rc;
}
