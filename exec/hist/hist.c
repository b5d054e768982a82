/* hist.c — histograms, their merge and their UHI serialization (see hist.h).
 *
 * Cells are stored flat, flow bins included, x outer: cell (ix, iy) is at
 * ix * (ny + 2) + iy, which is also the order of the nested JSON arrays.  A
 * 1-D histogram has a stride of 1 and iy = 0. */
#include "hist.h"
#include "jsonw.h"
#include "le.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MAX_CELLS 4000000 /* nx * ny, flow bins not counted */

struct hist_axis {
	int nbins;
	double lo, hi;    /* regular; for a variable axis the first and last edge */
	double *edges;    /* nbins + 1 of them, or NULL for a regular axis */
	char *label;      /* never NULL */
};

struct hist {
	char *name, *title, *vlabel; /* never NULL */
	int ndim;
	bool weighted;
	struct hist_axis ax[2];
	size_t stride;      /* ny + 2, or 1 for 1-D */
	size_t ncells;
	int64_t *cnt;       /* unweighted */
	double *sw, *sw2;   /* weighted */
	uint64_t skipped, entries;
};

/* ---- definition ---- */

static int check_axis(const struct hist_axis_def *a, const char **why)
{
	if (a->nbins < 1 || a->nbins > HIST_MAX_BINS) {
		*why = "the number of bins must be between 1 and 1000000";
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
	if (def->ndim != 1 && def->ndim != 2) {
		*why = "a histogram has 1 or 2 dimensions";
		return -EINVAL;
	}
	for (int d = 0; d < def->ndim; d++) {
		int rc = check_axis(&def->axes[d], why);
		if (rc < 0)
			return rc;
	}
	if (def->ndim == 2 &&
	    (int64_t)def->axes[0].nbins * def->axes[1].nbins > HIST_MAX_CELLS) {
		*why = "too many bins: nx * ny is more than 4000000";
		return -EINVAL;
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
	free(a->label);
}

void hist_free(struct hist *h)
{
	if (!h)
		return;
	free(h->name);
	free(h->title);
	free(h->vlabel);
	free_axis(&h->ax[0]);
	free_axis(&h->ax[1]);
	free(h->cnt);
	free(h->sw);
	free(h->sw2);
	free(h);
}

static int alloc_storage(struct hist *h)
{
	size_t nx = (size_t)h->ax[0].nbins + 2;
	h->stride = h->ndim == 2 ? (size_t)h->ax[1].nbins + 2 : 1;
	h->ncells = nx * h->stride;
	if (h->weighted) {
		h->sw = calloc(h->ncells, sizeof(double));
		h->sw2 = calloc(h->ncells, sizeof(double));
		return h->sw && h->sw2 ? 0 : -ENOMEM;
	}
	h->cnt = calloc(h->ncells, sizeof(int64_t));
	return h->cnt ? 0 : -ENOMEM;
}

/* Copy an axis; src_edges is NULL for a regular axis. */
static int copy_axis(struct hist_axis *a, int nbins, double lo, double hi,
		     const double *src_edges, const char *label)
{
	a->nbins = nbins;
	a->lo = src_edges ? src_edges[0] : lo;
	a->hi = src_edges ? src_edges[nbins] : hi;
	a->label = dupstr(label);
	if (!a->label)
		return -ENOMEM;
	if (src_edges) {
		a->edges = malloc(((size_t)nbins + 1) * sizeof(double));
		if (!a->edges)
			return -ENOMEM;
		memcpy(a->edges, src_edges, ((size_t)nbins + 1) * sizeof(double));
	}
	return 0;
}

int hist_new(const struct hist_def *def, struct hist **out, const char **why)
{
	const char *reason = NULL;
	struct hist *h = NULL;
	int rc = check_def(def, &reason);

	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		goto out;
	h->ndim = def->ndim;
	h->weighted = def->weighted;
	h->name = dupstr(def->name);
	h->title = dupstr(def->title);
	h->vlabel = dupstr(def->value_label);
	if (!h->name || !h->title || !h->vlabel)
		goto out;
	for (int d = 0; d < def->ndim; d++) {
		const struct hist_axis_def *a = &def->axes[d];
		if (copy_axis(&h->ax[d], a->nbins, a->lo, a->hi, a->edges, a->label) < 0)
			goto out;
	}
	if (alloc_storage(h) < 0)
		goto out;
	*out = h;
	h = NULL;
	rc = 0;
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
	struct hist *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ndim = src->ndim;
	h->weighted = src->weighted;
	h->name = dupstr(src->name);
	h->title = dupstr(src->title);
	h->vlabel = dupstr(src->vlabel);
	if (!h->name || !h->title || !h->vlabel)
		goto fail;
	for (int d = 0; d < src->ndim; d++) {
		const struct hist_axis *a = &src->ax[d];
		if (copy_axis(&h->ax[d], a->nbins, a->lo, a->hi, a->edges, a->label) < 0)
			goto fail;
	}
	if (alloc_storage(h) < 0)
		goto fail;
	return h;
fail:
	hist_free(h);
	return NULL;
}

/* ---- binning ---- */

static int var_bin(const double *e, int nbins, double x)
{
	int lo = 0, hi = nbins;

	if (x < e[0])
		return 0;
	if (x >= e[hi])
		return hi + 1;
	/* Invariant: e[lo] <= x < e[hi]. */
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		if (x >= e[mid])
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

/* Bin of x (not NaN) with flow.  The regular case is inlined into the fill
 * loops.  The expression is the reference's, evaluated in the same order,
 * so that every point lands where ROOT and reference.json put it; rounding
 * can only carry a point just below hi to nbins, never past it, and the
 * clamp keeps it in the last bin.  The fill loops pass a local copy of the
 * axis: with -fno-strict-aliasing a pointer into the histogram would make
 * the compiler reload lo, hi and nbins after every store to a bin. */
static inline int axis_bin(const struct hist_axis *a, double x)
{
	if (a->edges)
		return var_bin(a->edges, a->nbins, x);
	if (x < a->lo)
		return 0;
	if (x >= a->hi)
		return a->nbins + 1;
	double t = a->nbins * (x - a->lo) / (a->hi - a->lo);
	int b = (int)t; /* 0 <= t <= nbins (check_axis rules out overflow) */
	return b < a->nbins ? b + 1 : a->nbins;
}

int hist_find_bin(const struct hist *h, int axis, double x)
{
	if (axis < 0 || axis >= h->ndim || isnan(x))
		return -1;
	return axis_bin(&h->ax[axis], x);
}

/* ---- filling ---- */

/* A weight that can go into a sum; NaN and infinities are skipped. */
static inline bool good_weight(double w)
{
	return isfinite(w);
}

void hist_fill1(struct hist *h, const double *x, const double *w, size_t n)
{
	const struct hist_axis ax = h->ax[0];
	uint64_t skipped = 0;

	assert(h->ndim == 1);
	if (!h->weighted) {
		int64_t *cnt = h->cnt;
		for (size_t i = 0; i < n; i++) {
			if (isnan(x[i])) {
				skipped++;
				continue;
			}
			cnt[axis_bin(&ax, x[i])]++;
		}
	} else {
		double *sw = h->sw, *sw2 = h->sw2;
		for (size_t i = 0; i < n; i++) {
			double wi = w ? w[i] : 1.0;
			if (isnan(x[i]) || !good_weight(wi)) {
				skipped++;
				continue;
			}
			int b = axis_bin(&ax, x[i]);
			sw[b] += wi;
			sw2[b] += wi * wi;
		}
	}
	h->skipped += skipped;
	h->entries += n - skipped;
}

void hist_fill2(struct hist *h, const double *x, const double *y, const double *w, size_t n)
{
	const struct hist_axis ax = h->ax[0], ay = h->ax[1];
	const size_t stride = h->stride;
	uint64_t skipped = 0;

	assert(h->ndim == 2);
	if (!h->weighted) {
		int64_t *cnt = h->cnt;
		for (size_t i = 0; i < n; i++) {
			if (isnan(x[i]) || isnan(y[i])) {
				skipped++;
				continue;
			}
			cnt[(size_t)axis_bin(&ax, x[i]) * stride + (size_t)axis_bin(&ay, y[i])]++;
		}
	} else {
		double *sw = h->sw, *sw2 = h->sw2;
		for (size_t i = 0; i < n; i++) {
			double wi = w ? w[i] : 1.0;
			if (isnan(x[i]) || isnan(y[i]) || !good_weight(wi)) {
				skipped++;
				continue;
			}
			size_t c = (size_t)axis_bin(&ax, x[i]) * stride + (size_t)axis_bin(&ay, y[i]);
			sw[c] += wi;
			sw2[c] += wi * wi;
		}
	}
	h->skipped += skipped;
	h->entries += n - skipped;
}

/* ---- merge ---- */

static bool same_axis(const struct hist_axis *a, const struct hist_axis *b)
{
	if (a->nbins != b->nbins || !a->edges != !b->edges)
		return false;
	if (!a->edges)
		return a->lo == b->lo && a->hi == b->hi;
	for (int i = 0; i <= a->nbins; i++)
		if (a->edges[i] != b->edges[i])
			return false;
	return true;
}

int hist_merge_check(const struct hist *dst, const struct hist *src)
{
	if (dst->ndim != src->ndim || dst->weighted != src->weighted)
		return -EINVAL;
	for (int d = 0; d < dst->ndim; d++)
		if (!same_axis(&dst->ax[d], &src->ax[d]))
			return -EINVAL;
	/* Counts from bytes (a stored or a worker's result) are only known
	 * not to be negative; their sum must still fit. */
	if (!dst->weighted)
		for (size_t i = 0; i < dst->ncells; i++)
			if (src->cnt[i] > INT64_MAX - dst->cnt[i])
				return -EOVERFLOW;
	return 0;
}

int hist_merge(struct hist *dst, const struct hist *src)
{
	int rc = hist_merge_check(dst, src);
	if (rc)
		return rc;
	if (dst->weighted) {
		for (size_t i = 0; i < dst->ncells; i++) {
			/* Finite weights make a NaN sum only here, from partial
			 * sums that overflowed to opposite infinities.  It is kept
			 * as 0, as hist.json shows it: a NaN would make bytes that
			 * hist_load() refuses, and the saved result unreadable. */
			double sum = dst->sw[i] + src->sw[i];
			dst->sw[i] = isnan(sum) ? 0 : sum;
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

/* One step of a 64-bit hash (splitmix64's finalizer over h ^ v): enough
 * to tell binnings apart, which nobody chooses in order to collide. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t mix_double(uint64_t h, double v)
{
	uint64_t bits;
	v = v == 0 ? 0 : v; /* -0 and 0 are one edge, as same_axis() has it */
	memcpy(&bits, &v, 8);
	return mix(h, bits);
}

uint64_t hist_shape_id(const struct hist *h)
{
	uint64_t id = mix(0x414e4153ull, (uint64_t)h->ndim << 1 | h->weighted);
	for (int d = 0; d < h->ndim; d++) {
		const struct hist_axis *a = &h->ax[d];
		id = mix(id, (uint64_t)a->nbins << 1 | (a->edges != NULL));
		if (a->edges) {
			for (int i = 0; i <= a->nbins; i++)
				id = mix_double(id, a->edges[i]);
		} else {
			id = mix_double(mix_double(id, a->lo), a->hi);
		}
	}
	return id;
}

/* ---- saving and loading contents ---- */

#define SAVE_MAGIC 0x31545348u /* "HST1" */

size_t hist_save_size(const struct hist *h)
{
	return 8 * 4 + h->ncells * 8 * (h->weighted ? 2 : 1);
}

void hist_save(const struct hist *h, unsigned char *out)
{
	le_put64(out, (uint64_t)SAVE_MAGIC << 32 | (uint64_t)h->weighted);
	le_put64(out + 8, h->ncells);
	le_put64(out + 16, h->skipped);
	le_put64(out + 24, h->entries);
	unsigned char *p = out + 32;
	for (size_t i = 0; i < h->ncells; i++, p += 8) {
		uint64_t v;
		if (h->weighted)
			memcpy(&v, &h->sw[i], 8);
		else
			v = (uint64_t)h->cnt[i];
		le_put64(p, v);
	}
	if (h->weighted)
		for (size_t i = 0; i < h->ncells; i++, p += 8) {
			uint64_t v;
			memcpy(&v, &h->sw2[i], 8);
			le_put64(p, v);
		}
}

/* What a histogram's fills imply of its counters: every fill that is not
 * skipped adds one to entries and one to a cell's count, so an unweighted
 * histogram's counts sum to entries exactly (modulo 2^64, as both wrap
 * alike); a weighted cell that holds anything had at least one fill. */
static bool entries_ok(const struct hist *h)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < h->ncells; i++)
		sum += h->weighted ? (h->sw[i] != 0 || h->sw2[i] != 0) : (uint64_t)h->cnt[i];
	return h->weighted ? sum <= h->entries : sum == h->entries;
}

long hist_load(struct hist *h, const unsigned char *in, size_t len)
{
	size_t need = hist_save_size(h);
	if (len < need || le_get64(in) != ((uint64_t)SAVE_MAGIC << 32 | (uint64_t)h->weighted) ||
	    le_get64(in + 8) != h->ncells)
		return -EINVAL;
	h->skipped = le_get64(in + 16);
	h->entries = le_get64(in + 24);
	const unsigned char *p = in + 32;
	bool ok = true;
	for (size_t i = 0; i < h->ncells; i++, p += 8) {
		uint64_t v = le_get64(p);
		if (h->weighted) {
			memcpy(&h->sw[i], &v, 8);
			ok &= !isnan(h->sw[i]);
		} else {
			h->cnt[i] = (int64_t)v;
			ok &= h->cnt[i] >= 0;
		}
	}
	if (h->weighted)
		for (size_t i = 0; i < h->ncells; i++, p += 8) {
			uint64_t v = le_get64(p);
			memcpy(&h->sw2[i], &v, 8);
			ok &= h->sw2[i] >= 0; /* false for NaN too */
		}
	return ok && entries_ok(h) ? (long)need : -EINVAL;
}

/* ---- introspection ---- */

const char *hist_name(const struct hist *h) { return h->name; }
int hist_ndim(const struct hist *h) { return h->ndim; }
bool hist_weighted(const struct hist *h) { return h->weighted; }
const char *hist_title(const struct hist *h) { return h->title; }
const char *hist_value_label(const struct hist *h) { return h->vlabel; }
uint64_t hist_skipped(const struct hist *h) { return h->skipped; }
uint64_t hist_entries(const struct hist *h) { return h->entries; }

int hist_nbins(const struct hist *h, int axis)
{
	return axis >= 0 && axis < h->ndim ? h->ax[axis].nbins : 0;
}

const char *hist_label(const struct hist *h, int axis)
{
	return axis >= 0 && axis < h->ndim ? h->ax[axis].label : "";
}

/* Index of cell (ix, iy), or -1 when out of range (a caller's bug). */
static ptrdiff_t cell(const struct hist *h, int ix, int iy)
{
	if (h->ndim == 1)
		iy = 0;
	bool ok = ix >= 0 && (size_t)ix < h->ncells / h->stride && iy >= 0 && (size_t)iy < h->stride;
	assert(ok);
	if (!ok)
		return -1;
	return (ptrdiff_t)((size_t)ix * h->stride + (size_t)iy);
}

double hist_value(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	if (c < 0)
		return 0;
	return h->weighted ? h->sw[c] : (double)h->cnt[c];
}

/* For a weighted histogram, which keeps no counts, the sum of weights
 * truncated toward zero (0 when it does not fit). */
int64_t hist_count(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	if (c < 0)
		return 0;
	if (!h->weighted)
		return h->cnt[c];
	double v = h->sw[c];
	return fabs(v) < 9.2e18 ? (int64_t)v : 0;
}

double hist_variance(const struct hist *h, int ix, int iy)
{
	ptrdiff_t c = cell(h, ix, iy);
	if (c < 0)
		return 0;
	return h->weighted ? h->sw2[c] : (double)h->cnt[c];
}

/* The last edge is hi itself rather than lo + (hi - lo), which rounding can
 * move by an ulp; the others follow the formula in hist.h. */
double hist_edge(const struct hist *h, int axis, int i)
{
	if (axis < 0 || axis >= h->ndim)
		return 0;
	const struct hist_axis *a = &h->ax[axis];
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

/* ---- JSON ---- */

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

static void write_axis(struct jsonw *w, const struct hist_axis *a)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
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
	if (a->label[0]) {
		jsonw_key(w, "metadata");
		jsonw_obj_begin(w);
		jsonw_key(w, "label");
		jsonw_str(w, a->label);
		jsonw_obj_end(w);
	}
	jsonw_obj_end(w);
}

/* One array of cells (values or variances), nested x outer for 2-D. */
static void write_cells(struct jsonw *w, const struct hist *h, const double *d)
{
	size_t nx = h->ncells / h->stride;

	jsonw_arr_begin(w);
	for (size_t ix = 0; ix < nx; ix++) {
		if (h->ndim == 2)
			jsonw_arr_begin(w);
		for (size_t iy = 0; iy < h->stride; iy++) {
			size_t c = ix * h->stride + iy;
			if (d)
				write_sum(w, d[c]);
			else
				jsonw_int(w, h->cnt[c]);
		}
		if (h->ndim == 2)
			jsonw_arr_end(w);
	}
	jsonw_arr_end(w);
}

static void write_hist(struct jsonw *w, const struct hist *h, const char *version)
{
	jsonw_key(w, h->name);
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
	jsonw_str(w, h->name);
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
	jsonw_key(w, "skipped_fills");
	jsonw_uint(w, h->skipped);
	jsonw_key(w, "entries");
	jsonw_uint(w, h->entries);
	jsonw_obj_end(w);

	jsonw_key(w, "axes");
	jsonw_arr_begin(w);
	for (int d = 0; d < h->ndim; d++)
		write_axis(w, &h->ax[d]);
	jsonw_arr_end(w);

	jsonw_key(w, "storage");
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
	if (h->weighted) {
		jsonw_str(w, "weighted");
		jsonw_key(w, "values");
		write_cells(w, h, h->sw);
		jsonw_key(w, "variances");
		write_cells(w, h, h->sw2);
	} else {
		jsonw_str(w, "int");
		jsonw_key(w, "values");
		write_cells(w, h, NULL);
	}
	jsonw_obj_end(w);

	jsonw_obj_end(w);
}

int hist_to_json(struct hist *const *h, size_t n, const char *version, char **out, size_t *len)
{
	struct jsonw w;

	/* Names are the keys: two histograms of one name would make an object
	 * that readers silently cut down to one. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(h[i]->name, h[j]->name) == 0)
				return -EINVAL;
	jsonw_init(&w);
	jsonw_obj_begin(&w);
	for (size_t i = 0; i < n; i++)
		write_hist(&w, h[i], version);
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
