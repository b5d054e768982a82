/* hist_int.h — the body of struct hist, shared by hist.c (definition,
 * filling, merging), hist_save.c (bytes and shape ids) and hist_json.c;
 * not part of the module's contract. */
#ifndef ANAFS_HIST_INT_H
#define ANAFS_HIST_INT_H

#include "hist.h"

#include <math.h>

/* Storage kinds; the numbers are those of the saved bytes. */
#define HIST_ST_INT 0
#define HIST_ST_WEIGHTED 1
#define HIST_ST_MEAN 2
#define HIST_ST_WMEAN 3

/* An integer category and where the definition listed it. */
struct hist_cat {
	int64_t v;
	int idx;
};

struct hist_axis {
	int kind;         /* HIST_AXIS_*, VARIABLE resolved */
	int nbins;        /* bins, or categories */
	int extent;       /* stored bins */
	bool flow;        /* category axes */
	double lo, hi;    /* regular; for a variable axis the first and last edge */
	double *edges;    /* nbins + 1 of them, or NULL unless a variable axis */
	int64_t *cat_int; /* CAT_INT: the categories in the definition's order */
	struct hist_cat *sorted; /* CAT_INT: the same sorted by value, for lookup */
	char **cat_str;   /* CAT_STR */
	char *label;      /* never NULL */
};

struct hist {
	char *name, *title, *vlabel; /* never NULL */
	struct hist_plot plot;       /* label and lumi owned (or NULL) */
	int ndim;
	bool weighted, profile;
	int storage;        /* HIST_ST_* */
	bool fast;          /* no category axis, no profile: hist_fill1/2's own loops */
	struct hist_axis ax[HIST_MAX_DIM];
	size_t stride[HIST_MAX_DIM];
	size_t ncells;
	int64_t *cnt;       /* int, mean */
	double *sw, *sw2;   /* weighted, weighted mean */
	double *mean, *m2;  /* mean, weighted mean: the mean of the samples, and the sum
			     * of (weighted) squared deltas from it (boost-histogram's) */
	uint64_t skipped, entries;
};

/* NaN as 0: a sum that met overflows of both signs (see hist_merge()). */
static inline double nan0(double v)
{
	return isnan(v) ? 0 : v;
}

/* Whether a and b have cells that line up (hist_merge_check() without the
 * overflow check). */
bool hist_same_shape(const struct hist *a, const struct hist *b);

/* A profile cell's variance as UHI writes it; 0 where undefined. */
double hist_mean_variance(int64_t n, double m2);
double hist_wmean_variance(double sw, double sw2, double m2);

#endif
