/* hist.h — histograms of 1 to HIST_MAX_DIM value axes, with the storages of
 * UHI: integer counts (unweighted), sum of weights and sum of squared
 * weights (weighted), and profiles, which keep per cell the mean of a
 * sample value: count, mean and variance (unweighted, UHI "mean") or sum
 * of weights, sum of squared weights, weighted mean and variance
 * (weighted, UHI "weighted_mean").  Merging is exact for counts and, for a
 * fixed merge order, deterministic for everything else, so partial
 * results from workers combine to the answer of one pass.
 *
 * Axes.  A regular or variable axis always keeps an underflow and an
 * overflow bin.  A category axis (integers or strings) has one bin per
 * category, no underflow, and an "other" bin at the overflow position when
 * its definition sets flow.  Cells are flat, x outermost: a cell's index
 * is the sum of idx[d] * stride[d], stride of the last axis 1, each
 * axis's extent (hist_extent()) times the next one's stride.  For 1-D and
 * 2-D histograms with regular or variable axes this is ix * (ny + 2) + iy,
 * the layout of earlier versions and of the nested JSON arrays.
 *
 * Bin indexes (idx[d], hist_find_bin(), hist_value()) count stored bins:
 * on a regular or variable axis 0 is underflow, 1..nbins the bins,
 * nbins + 1 overflow; on a category axis 0..n-1 are the categories in the
 * definition's order and n the "other" bin, when there is one.
 *
 * Binning (the same as ROOT's TAxis::FindBin and reference.json): on a
 * regular axis, bin = floor(nbins * (x - lo) / (hi - lo)) in double;
 * x < lo is underflow, x >= hi overflow (+inf: overflow, -inf: underflow).
 * A variable axis with edges e0 < e1 < ... < en puts x in [e(i), e(i+1)).
 * On an integer category axis the coordinate is the integer itself (as a
 * double); on a string category axis it is the category's index 0..n-1,
 * the caller mapping strings to indexes.  A coordinate that is no category
 * goes to the "other" bin, or, without one, into no bin.
 *
 * A fill goes into no bin, and is counted in hist_skipped() and reported
 * in the JSON metadata, when a coordinate is NaN or no category of an axis
 * without "other", when its weight is NaN or infinite, or, for a profile,
 * when its sample is NaN or infinite.
 *
 * Thread safety: none; give each thread its own (hist_new_like()) and merge. */
#ifndef ANAFS_HIST_H
#define ANAFS_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_DIM 3
#define HIST_MAX_BINS 1000000 /* per axis (bins or categories); their product at most 4e6 */
#define HIST_MAX_CAT_LEN 255  /* bytes of a string category */

/* Axis kinds.  A definition may leave kind 0 and set edges for a variable
 * axis, so that designated initialisers without kind keep their meaning. */
#define HIST_AXIS_REGULAR 0
#define HIST_AXIS_VARIABLE 1
#define HIST_AXIS_CAT_INT 2
#define HIST_AXIS_CAT_STR 3

struct hist_axis_def {
	int nbins;            /* > 0: bins, or categories */
	double lo, hi;        /* regular: lo < hi, both finite */
	const double *edges;  /* variable: nbins + 1 strictly increasing finite edges; NULL = regular */
	const char *label;    /* may be NULL */
	int kind;             /* HIST_AXIS_*; 0 with edges set is a variable axis */
	const int64_t *cat_int;         /* CAT_INT: nbins distinct integers */
	const char *const *cat_str;     /* CAT_STR: nbins distinct strings, each at most 255 bytes */
	bool flow;            /* category axes: an "other" bin for coordinates no category has */
};

/* How a plot draws the histogram (plot.h): set by the query, carried
 * with the histogram into hist.json's metadata (plot_logy, plot_size, ...)
 * when set, so that a plot is a function of the histogram alone.  Zero
 * and NULL fields are unset.  Not part of the shape: histograms that
 * differ only here merge. */
struct hist_plot {
	bool logx, logy, logz;  /* log axes: x and y of 1-D, z (the colour) of 2-D */
	bool density;           /* values per unit of x: value / bin width */
	bool points;            /* 1-D: points with error bars (sqrt(N) unweighted) */
	int width, height;      /* pixels, 200..4000; 0: 640x480 */
	const char *label;      /* experiment label line, left ("CMS Open Data"); NULL: none */
	const char *lumi;       /* its right part ("59.7 fb^{-1} (13 TeV)"); NULL: none */
};

struct hist_def {
	const char *name;     /* key in hist.json */
	const char *title;    /* may be NULL */
	const char *value_label; /* what the values are ("Events"): the y axis title of a
				  * 1-D plot, the colour bar's of a 2-D one; may be NULL */
	int ndim;             /* 1..HIST_MAX_DIM */
	struct hist_axis_def axes[HIST_MAX_DIM];
	bool weighted;
	bool profile;         /* cells keep the mean of a sample (hist_fill()'s sample) */
	const struct hist_plot *plot; /* NULL: no plot options (copied) */
};

struct hist;

/* Check def and build an empty histogram; everything is copied.  Returns
 * 0 or -EINVAL (bad binning: *why, when given, says what in a short
 * sentence, static storage) or -ENOMEM.  *out: release with hist_free(). */
int hist_new(const struct hist_def *def, struct hist **out, const char **why);

/* An empty histogram with the same definition as h.  NULL on ENOMEM. */
struct hist *hist_new_like(const struct hist *h);
void hist_free(struct hist *h);

/* Fill n points: x[d][i] the coordinate on axis d, w[i] the weight (w
 * NULL: unit weights; ignored when unweighted), sample[i] the value whose
 * mean a profile keeps (required for a profile, ignored otherwise). */
void hist_fill(struct hist *h, const double *const *x, const double *w, const double *sample,
	       size_t n);
/* hist_fill() of a 1-D or 2-D histogram that is not a profile: x[i] (and
 * y[i]) with weight w[i]. */
void hist_fill1(struct hist *h, const double *x, const double *w, size_t n);
void hist_fill2(struct hist *h, const double *x, const double *y, const double *w, size_t n);

/* An accelerator's view of a 1-D or 2-D histogram with regular or
 * variable axes that is no profile: its binning, flat arrays to add fills
 * into (cells as hist_cell(), x outermost, flow bins included: cnt for
 * unweighted, sw and sw2 for weighted, the others NULL) and its fill
 * counters.  Borrowed from h.  false (out untouched) for other
 * histograms, which only hist_fill() fills. */
struct hist_raw {
	int ndim;
	int nbins[2];
	double lo[2], hi[2];
	const double *edges[2]; /* NULL: regular */
	int64_t *cnt;
	double *sw, *sw2;
	uint64_t *skipped, *entries;
};
bool hist_raw(struct hist *h, struct hist_raw *out);

/* Multiply a weighted histogram by c: sums of weights by c, sums of
 * squared weights by c * c; a profile's means and variances stay.  0, or
 * -EINVAL for c not finite, or for an unweighted one (its counts are
 * exact) unless c is 1. */
int hist_scale(struct hist *h, double c);

/* Whether src can be added into dst: 0; -EINVAL when their binnings
 * differ (ndim, weighted, profile, axis kinds, bins, range, edges,
 * categories or flow; names and labels may); -EOVERFLOW when a count of
 * the sum would not fit in 64 bits. */
int hist_merge_check(const struct hist *dst, const struct hist *src);
/* Add src into dst.  Returns 0, or hist_merge_check()'s refusal, with dst
 * unchanged.  A sum of weights that meets overflows of both signs (+inf
 * and -inf) becomes 0, as hist.json writes it, never NaN.  Profiles
 * combine as boost-histogram's accumulators do (mean and sum of squared
 * deltas from both sides); merging into an empty cell copies. */
int hist_merge(struct hist *dst, const struct hist *src);

/* A 64-bit summary of what hist_merge_check() compares: histograms whose
 * cells line up have equal ids, others differ but by a hash collision.
 * Saved results carry it; for 1-D and 2-D histograms that are no profile
 * and have no category axis it is the id of earlier versions. */
uint64_t hist_shape_id(const struct hist *h);

/* Contents (not the definition) as bytes, for storing a partial result:
 * storage kind, ncells, counters and every array of the storage,
 * little-endian; for int and weighted storage the bytes of earlier
 * versions.  hist_save_size() tells how many bytes hist_save() writes. */
size_t hist_save_size(const struct hist *h);
void hist_save(const struct hist *h, unsigned char *out);
/* Replace h's contents with saved bytes (len available at in); returns
 * the bytes used, or -EINVAL when they are not a saved histogram of the
 * same number of cells and storage, or hold what no fills give: a
 * negative count, a NaN sum, mean or variance, a negative sum of squared
 * weights or of squared deltas of a mean, an empty cell with a mean, a
 * one-sample cell with a spread, unweighted counts that do not sum to the
 * entries, more non-empty weighted cells than entries.  Bytes from outside
 * are checked, never trusted.  The binning itself is not in the bytes
 * (hist_shape_id()).  On failure h holds part of the bytes: load into a
 * scratch copy. */
long hist_load(struct hist *h, const unsigned char *in, size_t len);

/* Introspection. */
const char *hist_name(const struct hist *h);
int hist_ndim(const struct hist *h);
bool hist_weighted(const struct hist *h);
bool hist_profile(const struct hist *h);
int hist_axis_kind(const struct hist *h, int axis);  /* HIST_AXIS_*, -1 for no such axis */
/* Bins of a regular or variable axis, categories of a category axis. */
int hist_nbins(const struct hist *h, int axis);
/* Stored bins along axis: nbins + 2, or for a category axis nbins + 1
 * with an "other" bin, nbins without. */
int hist_extent(const struct hist *h, int axis);
bool hist_axis_flow(const struct hist *h, int axis); /* an "other" bin (category axes) */
int hist_ncats(const struct hist *h, int axis);      /* 0 unless a category axis */
int64_t hist_cat_int(const struct hist *h, int axis, int i); /* category i of a CAT_INT axis */
const char *hist_cat_str(const struct hist *h, int axis, int i); /* of a CAT_STR axis; borrowed */
/* Bin of x on axis (0..extent-1, see above), or -1 for NaN or, on a
 * category axis without "other", a coordinate that is no category. */
int hist_find_bin(const struct hist *h, int axis, double x);

size_t hist_ncells(const struct hist *h);
/* Flat index of the cell at idx[0..ndim-1] (each 0..extent-1). */
size_t hist_cell(const struct hist *h, const int *idx);
/* What a cell holds.  value: the count, sum of weights, or a profile's
 * mean (0 when empty).  variance: what UHI's "variances" are for the
 * storage: the count, the sum of squared weights, a mean's sample
 * variance (n - 1 in the denominator) or boost-histogram's weighted_mean
 * variance; 0 where a variance is undefined (too few samples).  count:
 * the exact count of int and mean storage; of weighted storage the sum of
 * weights truncated toward zero (0 when it does not fit).  sumw, sumw2:
 * sum of weights and of squared weights (the count for unweighted). */
double hist_cell_value(const struct hist *h, size_t cell);
double hist_cell_variance(const struct hist *h, size_t cell);
int64_t hist_cell_count(const struct hist *h, size_t cell);
double hist_cell_sumw(const struct hist *h, size_t cell);
double hist_cell_sumw2(const struct hist *h, size_t cell);
/* The same for cell (ix, iy) of a 1-D or 2-D histogram (iy ignored for 1-D). */
double hist_value(const struct hist *h, int ix, int iy);
int64_t hist_count(const struct hist *h, int ix, int iy);
double hist_variance(const struct hist *h, int ix, int iy);
/* Lower edge of bin i (1..nbins+1) on a regular or variable axis:
 * lo + (hi - lo) * (i-1) / nbins for regular axes; 0 on a category axis. */
double hist_edge(const struct hist *h, int axis, int i);
const char *hist_label(const struct hist *h, int axis); /* "" when none */
const char *hist_title(const struct hist *h);            /* "" when none */
const char *hist_value_label(const struct hist *h);      /* "" when none */
const struct hist_plot *hist_plot(const struct hist *h);  /* borrowed; all unset when none */
uint64_t hist_skipped(const struct hist *h); /* fills that went into no bin */
uint64_t hist_entries(const struct hist *h); /* fills that went into a bin, flow included */

/* Serialize histograms as one hist.json object (UHI serialization, schema
 * 1: ../shared/spec/uhi-histogram.schema.json), keyed by name, flow bins
 * included, with metadata {name, title, value_label, skipped_fills,
 * entries} (title and value_label only when set), a label per axis, and
 * writer_info {"anafs": {"version": version}}, pretty-printed (the layout
 * of jsonw_init_pretty(), jsonw.h).  No NaN or Infinity ever
 * appears: an overflowed sum is written as the largest finite double of
 * its sign, a NaN or undefined variance as 0.  *out is new
 * (NUL-terminated; free()); *len its length.  0, -EINVAL for two
 * histograms of one name, or -ENOMEM. */
int hist_to_json(struct hist *const *h, size_t n, const char *version, char **out, size_t *len);

/* A composite: histograms of one shape (hist_merge_check()'s) written as
 * one UHI histogram, with a category_str axis per cat after their value
 * axes (flow false, metadata {"name": name}, the axis name hist.Hist
 * shows).  parts holds the product of cat[k].n histograms, the last cat
 * fastest; title and value label are parts[0]'s, entries and skipped
 * fills the sums over parts. */
struct hist_cat_axis {
	const char *name;            /* e.g. "sample" */
	const char *const *cats;     /* n distinct strings: "ttbar", "wjets", "data" */
	int n;                       /* >= 1 */
};

struct hist_json_item {
	const char *name;             /* the key in hist.json */
	struct hist *const *parts;
	int ncat;                     /* 0..4 */
	struct hist_cat_axis cat[4];
};

/* hist_to_json() of items; an item with ncat 0 is the histogram parts[0]
 * under the item's name.  -EINVAL also for parts of different shapes, a
 * bad cat (no name, n < 1, a category repeated or longer than 255 bytes)
 * or more than HIST_MAX_BINS parts. */
int hist_to_json_items(const struct hist_json_item *it, size_t n, const char *version, char **out,
		       size_t *len);

/* A table of histograms h[0..n-1] named names[i] (jobs/N/summary): a
 * header line, then one line per histogram with its entries (fills into a
 * bin, flow included), the mean and standard deviation of the bin centres
 * weighted by each cell's sum of weights over the cells inside every
 * axis's range, and the sums of weights below (underflow) and above
 * (overflow) each axis's range.  With several axes each column holds one
 * figure per axis, comma-separated, x first.  A category axis's
 * coordinate is its integer (a string category has none: "-"); it has no
 * underflow ("-") and its overflow is its "other" bin ("-" without one).
 * Columns aligned, the name left, figures right.  New (free()), NULL on
 * ENOMEM. */
char *hist_summary(struct hist *const *h, const char *const *names, size_t n);

#endif
