/* corr_eval.c — a correction evaluated over columns of points.
 *
 * Each point walks the tree from the root in a loop (no recursion, no
 * allocation).  A binning whose contents are all constants — most scale
 * factors — is the fast path: one bin search per axis and a load.  Bins
 * are found as correctionlib finds them: upper_bound on the edges (so a
 * value on the last edge, and a NaN, are past it), n * (x - low) / (high -
 * low) for uniform ones. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "corr_int.h"

/* What axis_bin() says besides a bin: take the flow node, or fail. */
enum { B_NODE = -1, B_BELOW = -2, B_ABOVE = -3, B_NOWRAP = -4 };

/* The largest i with edges[i] <= x, for edges[0] <= x < edges[n]. */
static inline long edge_search(const double *e, uint32_t n, double x)
{
	uint32_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (e[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static inline long axis_bin(const struct axis *ax, int flow, double x)
{
	if (flow == FLOW_WRAP) {
		/* As correctionlib wraps: every value, in range or not, goes
		 * through the same arithmetic, so both agree to the last bit. */
		if (!isfinite(x))
			return B_NOWRAP;
		double w = ax->high - ax->low, t = (x - ax->low) / w;
		t -= floor(t);
		if (!ax->edges) {
			long k = (long)(ax->nbins * t);
			return k < (long)ax->nbins ? k : (long)ax->nbins - 1;
		}
		x = ax->low + t * w;
		if (!(x < ax->high))
			return (long)ax->nbins - 1;
		return x < ax->low ? 0 : edge_search(ax->edges, ax->nbins, x);
	}
	if (!(x < ax->high)) { /* NaN too: upper_bound puts it past the end */
		if (flow == FLOW_CLAMP)
			return (long)ax->nbins - 1;
		return flow == FLOW_NODE ? B_NODE : B_ABOVE;
	}
	if (x < ax->low) {
		if (flow == FLOW_CLAMP)
			return 0;
		return flow == FLOW_NODE ? B_NODE : B_BELOW;
	}
	if (!ax->edges) {
		/* Rounding can reach n just below high; that is the last bin. */
		long k = (long)(ax->nbins * ((x - ax->low) / (ax->high - ax->low)));
		return k < (long)ax->nbins ? k : (long)ax->nbins - 1;
	}
	return edge_search(ax->edges, ax->nbins, x);
}

/* The content index of point i in a binning, or a B_* code; *bad the axis
 * that gave it. */
static inline long bin_at(const struct cnode *nd, const double *const *in, size_t i, int *bad)
{
	size_t at = 0;
	for (int a = 0; a < nd->naxes; a++) {
		const struct axis *ax = &nd->axes[a];
		long k = axis_bin(ax, nd->flow, in[ax->input][i]);
		if (k < 0) {
			*bad = a;
			return k;
		}
		at += (size_t)k * ax->stride;
	}
	return (long)at;
}

static int bin_error(const struct corr *c, const struct cnode *nd, int a, long code, double x,
		     size_t i, char *why, size_t cap)
{
	const struct axis *ax = &nd->axes[a];
	const char *in = c->in_names[ax->input];
	if (code == B_NOWRAP)
		snprintf(why, cap, "correction '%s': input '%s' = %g at index %zu cannot be wrapped into "
			 "the binning (flow \"wrap\")", c->name, in, x, i);
	else if (code == B_BELOW)
		snprintf(why, cap, "correction '%s': input '%s' = %g at index %zu is below the binning's "
			 "first edge %g (flow \"error\")", c->name, in, x, i, ax->low);
	else if (x != x)
		snprintf(why, cap, "correction '%s': input '%s' is NaN at index %zu (flow \"error\")",
			 c->name, in, i);
	else
		snprintf(why, cap, "correction '%s': input '%s' = %g at index %zu is not below the "
			 "binning's last edge %g (flow \"error\")", c->name, in, x, i, ax->high);
	return -EDOM;
}

/* The child of category nd for value x (an int, or a string id). */
static inline const struct cnode *cat_child(const struct cnode *nd, double x)
{
	/* Only integral values in int64's range can be keys; the test also
	 * keeps the conversion below defined. */
	if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || x != trunc(x))
		return nd->dflt;
	int64_t k = (int64_t)x;
	size_t lo = 0, hi = nd->nkeys;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nd->keys[mid] == k)
			return nd->kchild[mid];
		if (nd->keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return nd->dflt;
}

static int cat_error(const struct corr *c, const struct cnode *nd, double x, size_t i, char *why, size_t cap)
{
	const char *in = c->in_names[nd->input];
	if (c->in_types[nd->input] == CORR_STRING) {
		const char *s = x >= 0 && x <= INT32_MAX && x == trunc(x) ? corr_string_at(c, nd->input, (int)x) : NULL;
		if (s)
			snprintf(why, cap, "correction '%s': input '%s' = \"%s\" at index %zu is not a key "
				 "of the category, which has no default", c->name, in, s, i);
		else
			snprintf(why, cap, "correction '%s': input '%s' at index %zu is a string that no "
				 "category key has, and the category has no default", c->name, in, i);
	} else {
		snprintf(why, cap, "correction '%s': input '%s' = %.17g at index %zu is not a key of the "
			 "category, which has no default", c->name, in, x, i);
	}
	return -EDOM;
}

/* Point i from node nd down to its constant. */
static int walk(const struct corr *c, const struct cnode *nd, const double *const *in, size_t i,
		double *res, char *why, size_t cap)
{
	for (;;) {
		if (nd->kind == CN_CONST) {
			*res = nd->value;
			return 0;
		}
		if (nd->kind == CN_CAT) {
			double x = in[nd->input][i];
			const struct cnode *ch = cat_child(nd, x);
			if (!ch)
				return cat_error(c, nd, x, i, why, cap);
			nd = ch;
			continue;
		}
		int bad = 0;
		long k = bin_at(nd, in, i, &bad);
		if (k == B_NODE) {
			nd = nd->flownode;
		} else if (k < 0) {
			return bin_error(c, nd, bad, k, in[nd->axes[bad].input][i], i, why, cap);
		} else if (nd->leaf) {
			*res = nd->leaf[k];
			return 0;
		} else {
			nd = nd->content[k];
		}
	}
}

int corr_eval(const struct corr *c, const double *const *in, size_t n, double *out, char *why, size_t cap)
{
	char scratch[1];
	if (!why || !cap) {
		why = scratch;
		cap = sizeof(scratch);
	}
	const struct cnode *r = c->root;
	if (r->kind == CN_CONST) {
		for (size_t i = 0; i < n; i++)
			out[i] = r->value;
		return 0;
	}
	if ((r->kind == CN_BIN || r->kind == CN_MBIN) && r->leaf && r->naxes == 1) {
		/* The common case, in a loop of its own. */
		const struct axis *ax = r->axes;
		const double *x = in[ax->input];
		for (size_t i = 0; i < n; i++) {
			long k = axis_bin(ax, r->flow, x[i]);
			if (k >= 0)
				out[i] = r->leaf[k];
			else if (walk(c, r, in, i, &out[i], why, cap))
				return -EDOM;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (walk(c, r, in, i, &out[i], why, cap))
			return -EDOM;
	return 0;
}
