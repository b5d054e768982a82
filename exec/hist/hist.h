/* hist.h — histograms: 1-D and 2-D, regular or variable axes, under- and
 * overflow bins always kept; integer counts when unweighted, sum of weights
 * and sum of squared weights when weighted.  Merging is exact for counts,
 * so partial results from workers combine to the answer of one pass.
 *
 * Binning (the same as ROOT's TAxis::FindBin and reference.json): on a
 * regular axis, bin = floor(nbins * (x - lo) / (hi - lo)) in double;
 * x < lo is underflow, x >= hi overflow (+inf: overflow, -inf: underflow).
 * A variable axis with edges e0 < e1 < ... < en puts x in [e(i), e(i+1)).
 * A fill with a NaN coordinate, or a NaN or infinite weight, goes into no
 * bin: it is counted in hist_skipped() and reported in the JSON metadata.
 *
 * Thread safety: none; give each thread its own (hist_new_like()) and merge. */
#ifndef ANAFS_HIST_H
#define ANAFS_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_BINS 1000000 /* per axis; and nx * ny at most 4e6 */

struct hist_axis_def {
	int nbins;            /* > 0 */
	double lo, hi;        /* regular: lo < hi, both finite */
	const double *edges;  /* variable: nbins + 1 strictly increasing finite edges; NULL = regular */
	const char *label;    /* may be NULL */
};

struct hist_def {
	const char *name;     /* key in hist.json */
	const char *title;    /* may be NULL */
	const char *value_label; /* what the values are ("Events"): the y axis title of a
				  * 1-D plot, the colour bar's of a 2-D one; may be NULL */
	int ndim;             /* 1 or 2 */
	struct hist_axis_def axes[2];
	bool weighted;
};

struct hist;

/* Check def and build an empty histogram; everything is copied.  Returns
 * 0 or -EINVAL (bad binning: *why, when given, says what in a short
 * sentence, static storage) or -ENOMEM.  *out: release with hist_free(). */
int hist_new(const struct hist_def *def, struct hist **out, const char **why);

/* An empty histogram with the same definition as h.  NULL on ENOMEM. */
struct hist *hist_new_like(const struct hist *h);
void hist_free(struct hist *h);

/* Fill n points: x[i] (and y[i] for 2-D) with weight w[i] (w NULL: unit
 * weights; a weighted histogram with NULL w fills weight 1). */
void hist_fill1(struct hist *h, const double *x, const double *w, size_t n);
void hist_fill2(struct hist *h, const double *x, const double *y, const double *w, size_t n);

/* Whether src can be added into dst: 0; -EINVAL when their binnings
 * differ (ndim, weighted, bins, range or edges; names and labels may);
 * -EOVERFLOW when a count of the sum would not fit in 64 bits. */
int hist_merge_check(const struct hist *dst, const struct hist *src);
/* Add src into dst.  Returns 0, or hist_merge_check()'s refusal, with dst
 * unchanged.  A sum of weights that meets overflows of both signs (+inf
 * and -inf) becomes 0, as hist.json writes it, never NaN. */
int hist_merge(struct hist *dst, const struct hist *src);

/* A 64-bit summary of what hist_merge_check() compares (ndim, weighted,
 * each axis's binning): histograms whose cells line up have equal ids,
 * others differ but by a hash collision.  Saved results carry it. */
uint64_t hist_shape_id(const struct hist *h);

/* Contents (not the definition) as bytes, for storing a partial result:
 * ncells, flags, counters and every bin, little-endian.  hist_save_size()
 * tells how many bytes hist_save() writes at out. */
size_t hist_save_size(const struct hist *h);
void hist_save(const struct hist *h, unsigned char *out);
/* Replace h's contents with saved bytes (len available at in); returns
 * the bytes used, or -EINVAL when they are not a saved histogram of the
 * same number of cells and weighting, or hold a negative count, a NaN sum
 * of weights, a negative sum of squared weights, or counters that no fills
 * give (unweighted counts that do not sum to the entries, more non-empty
 * weighted cells than entries): bytes from outside are checked, never
 * trusted.  The binning itself is not in the bytes (hist_shape_id()).
 * On failure h holds part of the bytes: load into a scratch copy. */
long hist_load(struct hist *h, const unsigned char *in, size_t len);

/* Introspection. Bin indexes include flow: 0 is underflow, 1..nbins the
 * bins, nbins + 1 overflow. */
const char *hist_name(const struct hist *h);
int hist_ndim(const struct hist *h);
int hist_nbins(const struct hist *h, int axis);
bool hist_weighted(const struct hist *h);
/* Bin of x on axis (0..nbins+1), or -1 for NaN. */
int hist_find_bin(const struct hist *h, int axis, double x);
/* Content of bin (ix, iy) (iy ignored for 1-D): the count, or sum of weights. */
double hist_value(const struct hist *h, int ix, int iy);
/* The exact count of an unweighted histogram's bin. */
int64_t hist_count(const struct hist *h, int ix, int iy);
/* Sum of squared weights (equal to the count when unweighted). */
double hist_variance(const struct hist *h, int ix, int iy);
/* Lower edge of bin i (1..nbins+1) on axis: lo + (hi - lo) * (i-1) / nbins for regular axes. */
double hist_edge(const struct hist *h, int axis, int i);
const char *hist_label(const struct hist *h, int axis); /* "" when none */
const char *hist_title(const struct hist *h);            /* "" when none */
const char *hist_value_label(const struct hist *h);      /* "" when none */
uint64_t hist_skipped(const struct hist *h); /* fills with NaN coordinate or bad weight */
uint64_t hist_entries(const struct hist *h); /* fills that went into a bin, flow included */

/* Serialize histograms as one hist.json object (UHI serialization, schema
 * 1: ../shared/spec/uhi-histogram.schema.json), keyed by name, flow bins
 * included, with metadata {name, title, value_label, skipped_fills,
 * entries} (title and value_label only when set), a label per axis, and
 * writer_info {"anafs": {"version": version}}.  No NaN or Infinity ever
 * appears.  *out is new (NUL-terminated; free()); *len its length. */
int hist_to_json(struct hist *const *h, size_t n, const char *version, char **out, size_t *len);

#endif
