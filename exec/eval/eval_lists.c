/* eval_lists.c — the list kernels: slices, indices, sorting, picking,
 * two collections at once, combinations and four-vector sums.  Each runs
 * over a whole batch; a kernel whose result is a list of its own (a slice,
 * combinations) writes that list's offsets first.  Indices are positions
 * within the event's list (0 is the first element). */
#include "eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t *list_offsets(struct eval_state *s, int L)
{
	if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], ((size_t)s->nev + 1) * 8))
		return NULL;
	return s->lists[L];
}

static size_t elem_size(enum ql_type t)
{
	return t == QL_BOOL ? 1 : 8;
}

/* Event e of out has no value (out's validity made first if need be). */
static int set_missing(struct eval_state *s, struct val *out, int64_t e)
{
	if (!out->has_valid && eval_set_valid(s, out))
		return -ENOMEM;
	out->valid[e] = 0;
	return 0;
}

/* A bound as Python's slices take it: negative counts from the end, then
 * clipped to [0, len]. */
static int64_t clip(int64_t v, int64_t len)
{
	if (v < 0)
		v = v < -len ? 0 : v + len;
	return v > len ? len : v;
}

int eval_slice(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **args)
{
	struct val *x = args[0];
	const int64_t *off = s->lists[x->list];
	const int64_t *lo = eval_as_i64(s, args[1], -1, 0), *hi = eval_as_i64(s, args[2], -1, 1);
	int64_t *noff = list_offsets(s, n->list);
	if (!lo || !hi || !noff ||
	    eval_reserve(&s->scratch[2], &s->scratch_cap[2], ((size_t)s->nev + 1) * 8))
		return -ENOMEM;
	int64_t *start = s->scratch[2];
	noff[0] = 0;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t len = off[e + 1] - off[e], a = clip(lo[e], len), b = clip(hi[e], len);
		start[e] = off[e] + a;
		noff[e + 1] = noff[e] + (b > a ? b - a : 0);
	}
	s->list_ready[n->list] = true;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t size = elem_size(x->t);
	for (int64_t e = 0; e < s->nev; e++)
		memcpy((char *)out->data + (size_t)noff[e] * size, (const char *)x->data + (size_t)start[e] * size,
		       (size_t)(noff[e + 1] - noff[e]) * size);
	return eval_join_valid(s, out, args, 3);
}

/* x at the indices ix (a list; negative counts from the end, as x[i]);
 * fallback NULL: an index out of range makes the event missing, else the
 * event's fallback value (dflt broadcast to ix's list). */
static int pick(struct eval_state *s, struct val *out, struct val *x, struct val *ix,
		const void *dflt)
{
	const int64_t *xo = s->lists[x->list], *io = s->lists[ix->list];
	const int64_t *k = eval_as_i64(s, ix, -1, 0);
	if (!k)
		return -ENOMEM;
	size_t size = elem_size(out->t);
	char *o = out->data;
	const char *src = x->data;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t len = xo[e + 1] - xo[e];
		bool bad = false;
		for (int64_t j = io[e]; j < io[e + 1]; j++) {
			int64_t i = k[j];
			if (!dflt && i < 0)
				i = i < -len ? -1 : i + len;
			if (i >= 0 && i < len)
				memcpy(o + (size_t)j * size, src + (size_t)(xo[e] + i) * size, size);
			else if (dflt)
				memcpy(o + (size_t)j * size, (const char *)dflt + (size_t)j * size, size);
			else
				memset(o + (size_t)j * size, 0, size), bad = true;
		}
		if (bad && set_missing(s, out, e))
			return -ENOMEM;
	}
	return 0;
}

int eval_gather(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x,
		struct val *ix)
{
	struct val *args[2] = {x, ix};
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, args, 2))
		return -ENOMEM;
	return pick(s, out, x, ix, NULL);
}

/* take(x, indices, default): the default where an index is outside [0, len). */
static int eval_take(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **a)
{
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, a, 3))
		return -ENOMEM;
	/* x and the default in the result's type, the default per index. */
	struct val xv = *a[0];
	const void *xd, *dd;
	if (n->type == QL_FLOAT) {
		xd = eval_as_f64(s, a[0], -1, 1);
		dd = eval_as_f64(s, a[2], n->list, 2);
	} else if (n->type == QL_INT) {
		xd = eval_as_i64(s, a[0], -1, 1);
		dd = eval_as_i64(s, a[2], n->list, 2);
	} else {
		xd = eval_as_u8(s, a[0], -1, 1);
		dd = eval_as_u8(s, a[2], n->list, 2);
	}
	if (!xd || !dd)
		return -ENOMEM;
	xv.data = (void *)xd;
	xv.t = n->type;
	return pick(s, out, &xv, a[1], dd);
}

/* ---- picking one element ---- */

/* argmax/argmin: the first index of the largest (smallest); a NaN wins,
 * as numpy's; missing for an empty list. */
static int eval_argbest(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x)
{
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, &x, 1))
		return -ENOMEM;
	const int64_t *off = s->lists[x->list];
	int64_t *o = out->data;
	bool mx = n->op == QF_ARGMAX;
	const double *f = x->t == QL_FLOAT ? x->data : NULL;
	const int64_t *iv = f ? NULL : eval_as_i64(s, x, -1, 0);
	if (!f && !iv)
		return -ENOMEM;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t a = off[e], b = off[e + 1], best = a;
		if (a == b) {
			o[e] = 0;
			if (set_missing(s, out, e))
				return -ENOMEM;
			continue;
		}
		if (f) {
			for (int64_t i = a; i < b && !isnan(f[best]); i++)
				if (isnan(f[i]) || (mx ? f[i] > f[best] : f[i] < f[best]))
					best = i;
		} else {
			for (int64_t i = a + 1; i < b; i++)
				if (mx ? iv[i] > iv[best] : iv[i] < iv[best])
					best = i;
		}
		o[e] = best - a;
	}
	return 0;
}

/* first/last, with a default for an empty list (else missing). */
static int eval_end(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **a)
{
	bool dflt = n->nargs == 2;
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, a, 1))
		return -ENOMEM;
	const int64_t *off = s->lists[a[0]->list];
	bool last = n->op == QF_LAST;
	size_t size = elem_size(n->type);
	const void *xd, *dd = NULL;
	if (n->type == QL_FLOAT) {
		xd = eval_as_f64(s, a[0], -1, 0);
		dd = dflt ? eval_as_f64(s, a[1], -1, 1) : NULL;
	} else if (n->type == QL_INT) {
		xd = eval_as_i64(s, a[0], -1, 0);
		dd = dflt ? eval_as_i64(s, a[1], -1, 1) : NULL;
	} else {
		xd = eval_as_u8(s, a[0], -1, 0);
		dd = dflt ? eval_as_u8(s, a[1], -1, 1) : NULL;
	}
	if (!xd || (dflt && !dd))
		return -ENOMEM;
	char *o = out->data;
	for (int64_t e = 0; e < s->nev; e++) {
		if (off[e + 1] > off[e]) {
			int64_t i = last ? off[e + 1] - 1 : off[e];
			memcpy(o + (size_t)e * size, (const char *)xd + (size_t)i * size, size);
			continue;
		}
		if (dflt) {
			memcpy(o + (size_t)e * size, (const char *)dd + (size_t)e * size, size);
			if (a[1]->has_valid && !a[1]->valid[e] && set_missing(s, out, e))
				return -ENOMEM;
		} else {
			memset(o + (size_t)e * size, 0, size);
			if (set_missing(s, out, e))
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- sorting ---- */

static inline bool f_less(double a, double b)
{
	return a < b || (!isnan(a) && isnan(b)); /* NaN sorts last, as numpy's */
}

static inline bool i_less(int64_t a, int64_t b)
{
	return a < b;
}

/* Stable sort of the m indices ix by v[ix[i]]: insertion for short
 * lists, bottom-up merge through tmp for long ones (no recursion). */
#define SORTER(NAME, T, LESS)                                                             \
	static void NAME(int64_t *ix, int64_t *tmp, int64_t m, const T *v)                 \
	{                                                                                  \
		if (m <= 16) {                                                             \
			for (int64_t i = 1; i < m; i++) {                                  \
				int64_t t = ix[i], j = i;                                  \
				for (; j > 0 && LESS(v[t], v[ix[j - 1]]); j--)             \
					ix[j] = ix[j - 1];                                 \
				ix[j] = t;                                                 \
			}                                                                  \
			return;                                                            \
		}                                                                          \
		int64_t *a = ix, *b = tmp;                                                 \
		for (int64_t w = 1; w < m; w *= 2) {                                       \
			for (int64_t lo = 0; lo < m; lo += 2 * w) {                        \
				int64_t mid = lo + w < m ? lo + w : m;                     \
				int64_t hi = lo + 2 * w < m ? lo + 2 * w : m;              \
				int64_t i = lo, j = mid, k = lo;                           \
				while (i < mid && j < hi)                                  \
					b[k++] = LESS(v[a[j]], v[a[i]]) ? a[j++] : a[i++]; \
				while (i < mid)                                            \
					b[k++] = a[i++];                                   \
				while (j < hi)                                             \
					b[k++] = a[j++];                                   \
			}                                                                  \
			int64_t *t = a;                                                    \
			a = b;                                                             \
			b = t;                                                             \
		}                                                                          \
		if (a != ix)                                                               \
			memcpy(ix, a, (size_t)m * sizeof(*ix));                            \
	}
SORTER(sort_f64, double, f_less)
SORTER(sort_i64, int64_t, i_less)

/* Each event's indices in sorted order into o (positions in the list). */
static int argsort_into(struct eval_state *s, struct val *x, int64_t *o)
{
	const int64_t *off = s->lists[x->list];
	size_t total = (size_t)off[s->nev];
	const double *f = x->t == QL_FLOAT ? x->data : NULL;
	const int64_t *iv = f ? NULL : eval_as_i64(s, x, -1, 0);
	if ((!f && !iv) || eval_reserve(&s->scratch[3], &s->scratch_cap[3], (total + 1) * 8))
		return -ENOMEM;
	int64_t *tmp = s->scratch[3];
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t a = off[e], m = off[e + 1] - a;
		for (int64_t i = 0; i < m; i++)
			o[a + i] = i;
		if (f)
			sort_f64(o + a, tmp + a, m, f + a);
		else
			sort_i64(o + a, tmp + a, m, iv + a);
	}
	return 0;
}

static int eval_sort(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x)
{
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, &x, 1))
		return -ENOMEM;
	if (n->op == QF_ARGSORT)
		return argsort_into(s, x, out->data);
	size_t total = out->n, size = elem_size(x->t);
	if (eval_reserve(&s->scratch[4], &s->scratch_cap[4], (total + 1) * 8) ||
	    argsort_into(s, x, s->scratch[4]))
		return -ENOMEM;
	const int64_t *ix = s->scratch[4], *off = s->lists[x->list];
	for (int64_t e = 0; e < s->nev; e++)
		for (int64_t i = off[e]; i < off[e + 1]; i++)
			memcpy((char *)out->data + (size_t)i * size,
			       (const char *)x->data + (size_t)(off[e] + ix[i]) * size, size);
	return 0;
}

static int eval_local_index(struct eval_state *s, const struct ql_node *n, struct val *out,
			    struct val *x)
{
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, &x, 1))
		return -ENOMEM;
	const int64_t *off = s->lists[x->list];
	int64_t *o = out->data;
	for (int64_t e = 0; e < s->nev; e++)
		for (int64_t i = off[e]; i < off[e + 1]; i++)
			o[i] = i - off[e];
	return 0;
}

/* ---- two collections ---- */

/* Per object of the first (eta, phi): the smallest delta R to any of the
 * others (+inf when there are none) or the index of the nearest (-1);
 * ties go to the first.  NaN distances never win. */
static int eval_nearest(struct eval_state *s, const struct ql_node *n, struct val *out,
			struct val **a)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, a, 4))
		return -ENOMEM;
	const double *eta = eval_as_f64(s, a[0], L, 0), *phi = eval_as_f64(s, a[1], L, 1);
	const double *oeta = eval_as_f64(s, a[2], -1, 2), *ophi = eval_as_f64(s, a[3], -1, 3);
	if (!eta || !phi || !oeta || !ophi)
		return -ENOMEM;
	const int64_t *off = L >= 0 ? s->lists[L] : NULL, *oo = s->lists[a[2]->list];
	bool index = n->op == QF_NEAREST;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t lo = off ? off[e] : e, hi = off ? off[e + 1] : e + 1;
		for (int64_t i = lo; i < hi; i++) {
			double best = INFINITY;
			int64_t at = -1;
			for (int64_t j = oo[e]; j < oo[e + 1]; j++) {
				double d = hypot(eta[i] - oeta[j], eval_delta_phi(phi[i], ophi[j]));
				if (d < best) {
					best = d;
					at = j - oo[e];
				}
			}
			if (index)
				((int64_t *)out->data)[i] = at;
			else
				((double *)out->data)[i] = best;
		}
	}
	return 0;
}

/* ---- combinations ---- */

/* C(m, n), or QL_MAX_COMB_EVENT + 1 when past it. */
static int64_t choose(int64_t m, int64_t n)
{
	if (m < n)
		return 0;
	if (n > m - n)
		n = m - n;
	int64_t c = 1;
	for (int64_t i = 0; i < n; i++) {
		c = c * (m - i) / (i + 1);
		if (c > QL_MAX_COMB_EVENT)
			return QL_MAX_COMB_EVENT + 1;
	}
	return c;
}

/* The offsets of list L, x's combinations of k, for this batch. */
static int comb_offsets(struct eval_state *s, int L, const struct val *x, int64_t k)
{
	const int64_t *off = s->lists[x->list];
	int64_t *noff = list_offsets(s, L);
	if (!noff)
		return -ENOMEM;
	noff[0] = 0;
	for (int64_t e = 0; e < s->nev; e++) {
		int64_t c = choose(off[e + 1] - off[e], k);
		if (c > QL_MAX_COMB_EVENT) {
			s->why = "an event has more than 10000 combinations, the most one event may have "
				 "(select fewer objects first: docs/query.md)";
			return -EINVAL;
		}
		noff[e + 1] = noff[e] + c;
	}
	s->list_ready[L] = true;
	return 0;
}

/* The next combination of k indices out of m, in lexicographic order
 * (0 1 2, 0 1 3, ...): false after the last. */
static bool next_comb(int64_t *ix, int64_t k, int64_t m)
{
	int64_t i = k - 1;
	while (i >= 0 && ix[i] == m - k + i)
		i--;
	if (i < 0)
		return false;
	ix[i]++;
	for (int64_t j = i + 1; j < k; j++)
		ix[j] = ix[j - 1] + 1;
	return true;
}

/* Call body for every combination of k elements of x's list in every
 * event: e the event, c the combination's place in the result, ix[0..k)
 * the members as positions in the batch. */
#define FOR_COMBS(s, x, k, ...)                                                             \
	do {                                                                               \
		const int64_t *off_ = (s)->lists[(x)->list];                                 \
		int64_t c = 0, ix[QL_MAX_COMB_N], base_[QL_MAX_COMB_N];                      \
		for (int64_t e = 0; e < (s)->nev; e++) {                                     \
			int64_t m_ = off_[e + 1] - off_[e];                                  \
			if (m_ < (k))                                                        \
				continue;                                                    \
			for (int64_t j_ = 0; j_ < (k); j_++)                                 \
				base_[j_] = j_;                                              \
			do {                                                                 \
				for (int64_t j_ = 0; j_ < (k); j_++)                         \
					ix[j_] = off_[e] + base_[j_];                        \
				__VA_ARGS__;                                                    \
				c++;                                                         \
			} while (next_comb(base_, (k), m_));                                 \
		}                                                                            \
	} while (0)

static int eval_comb(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **a)
{
	struct val *x = a[0];
	int fn = n->op;
	bool p4 = fn >= QF_COMB_PT && fn <= QF_COMB_MASS;
	int64_t k = n->args[p4 ? 4 : 1]->ival;
	int rc = comb_offsets(s, n->list, x, k);
	if (rc || eval_prepare(s, n, out) || eval_join_valid(s, out, a, p4 ? 4 : 1))
		return rc ? rc : -ENOMEM;
	if (fn == QF_COMBINATIONS) {
		int64_t member = n->args[2]->ival;
		size_t size = elem_size(x->t);
		FOR_COMBS(s, x, k,
			  memcpy((char *)out->data + (size_t)c * size,
				 (const char *)x->data + (size_t)ix[member] * size, size));
		return 0;
	}
	if (p4) {
		/* Each element's four-vector once, then the sums. */
		size_t total = eval_list_size(s, x->list);
		const double *v[4];
		for (int i = 0; i < 4; i++)
			if (!(v[i] = eval_as_f64(s, a[i], -1, i)))
				return -ENOMEM;
		if (eval_reserve(&s->scratch[4], &s->scratch_cap[4], (4 * total + 1) * sizeof(double)))
			return -ENOMEM;
		double *q = s->scratch[4];
		for (size_t i = 0; i < total; i++) {
			double p[4] = {0, 0, 0, 0};
			eval_add_p4(p, v[0][i], v[1][i], v[2][i], v[3][i]);
			memcpy(q + 4 * i, p, sizeof(p));
		}
		double *o = out->data;
		FOR_COMBS(s, x, k, {
			double p[4] = {0, 0, 0, 0};
			for (int64_t j = 0; j < k; j++)
				for (int d = 0; d < 4; d++)
					p[d] += q[4 * ix[j] + d];
			o[c] = fn == QF_COMB_PT    ? hypot(p[0], p[1])
			       : fn == QF_COMB_PHI ? atan2(p[1], p[0])
			       : fn == QF_COMB_ETA ? (p[0] == 0 && p[1] == 0
							      ? (p[2] == 0 ? 0 : copysign(INFINITY, p[2]))
							      : asinh(p[2] / hypot(p[0], p[1])))
						   : eval_mass_of(p[0], p[1], p[2], p[3]);
		});
		return 0;
	}
	/* comb_sum, comb_min, comb_max. */
	if (out->t == QL_FLOAT) {
		const double *v = x->data;
		double *o = out->data;
		FOR_COMBS(s, x, k, {
			double r = v[ix[0]];
			for (int64_t j = 1; j < k; j++)
				r = fn == QF_COMB_SUM   ? r + v[ix[j]]
				    : fn == QF_COMB_MIN ? eval_nan_min(r, v[ix[j]])
							: eval_nan_max(r, v[ix[j]]);
			o[c] = r;
		});
	} else if (out->t == QL_INT) {
		const int64_t *v = eval_as_i64(s, x, -1, 0);
		int64_t *o = out->data;
		if (!v)
			return -ENOMEM;
		FOR_COMBS(s, x, k, {
			int64_t r = v[ix[0]];
			for (int64_t j = 1; j < k; j++)
				r = fn == QF_COMB_SUM   ? eval_wrap_add(r, v[ix[j]])
				    : fn == QF_COMB_MIN ? (v[ix[j]] < r ? v[ix[j]] : r)
							: (v[ix[j]] > r ? v[ix[j]] : r);
			o[c] = r;
		});
	} else {
		const uint8_t *v = x->data;
		uint8_t *o = out->data;
		FOR_COMBS(s, x, k, {
			uint8_t r = v[ix[0]];
			for (int64_t j = 1; j < k; j++)
				r = fn == QF_COMB_MIN ? (r & v[ix[j]]) : (r | v[ix[j]]);
			o[c] = r;
		});
	}
	return 0;
}

/* ---- four-vectors ---- */

static double p4_component(int fn, const double p[4])
{
	double pt = hypot(p[0], p[1]);
	switch (fn) {
	case QF_P4_PT: return pt;
	case QF_P4_PHI: return atan2(p[1], p[0]);
	case QF_P4_ETA:
		if (pt == 0)
			return p[2] == 0 ? 0 : copysign(INFINITY, p[2]);
		return asinh(p[2] / pt);
	default: return eval_mass_of(p[0], p[1], p[2], p[3]);
	}
}

/* p4_*: of one list, the sum of each event's elements (missing for none);
 * of several objects, their sum, element-wise over lists that line up. */
static int eval_p4(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **a)
{
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, a, n->nargs))
		return -ENOMEM;
	double *o = out->data;
	if (n->nargs == 4 && a[0]->jagged) {
		const double *v[4];
		for (int i = 0; i < 4; i++)
			if (!(v[i] = eval_as_f64(s, a[i], -1, i)))
				return -ENOMEM;
		const int64_t *off = s->lists[a[0]->list];
		for (int64_t e = 0; e < s->nev; e++) {
			double p[4] = {0, 0, 0, 0};
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				eval_add_p4(p, v[0][i], v[1][i], v[2][i], v[3][i]);
			o[e] = p4_component(n->op, p);
			if (off[e + 1] == off[e] && set_missing(s, out, e))
				return -ENOMEM;
		}
		return 0;
	}
	int L = n->jagged ? n->list : -1;
	size_t k = out->n;
	if (eval_reserve(&s->scratch[4], &s->scratch_cap[4], (4 * k + 1) * sizeof(double)))
		return -ENOMEM;
	double *acc = s->scratch[4];
	memset(acc, 0, 4 * k * sizeof(double));
	for (int obj = 0; obj < n->nargs; obj += 4) {
		const double *v[4];
		for (int i = 0; i < 4; i++)
			if (!(v[i] = eval_as_f64(s, a[obj + i], L, i)))
				return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			eval_add_p4(acc + 4 * i, v[0][i], v[1][i], v[2][i], v[3][i]);
	}
	for (size_t i = 0; i < k; i++)
		o[i] = p4_component(n->op, acc + 4 * i);
	return 0;
}

/* mt = sqrt(2 pt1 pt2 (1 - cos(phi1 - phi2))). */
static int eval_mt(struct eval_state *s, const struct ql_node *n, struct val *out, struct val **a)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out) || eval_join_valid(s, out, a, 4))
		return -ENOMEM;
	const double *v[4];
	for (int i = 0; i < 4; i++)
		if (!(v[i] = eval_as_f64(s, a[i], L, i)))
			return -ENOMEM;
	double *o = out->data;
	for (size_t i = 0; i < out->n; i++) {
		double m2 = 2 * v[0][i] * v[2][i] * (1 - cos(v[1][i] - v[3][i]));
		o[i] = sqrt(m2 > 0 ? m2 : 0);
	}
	return 0;
}

int eval_list_call(struct eval_state *s, const struct ql_node *n, struct val *out,
		   struct val **args)
{
	switch (n->op) {
	case QF_ARGMAX:
	case QF_ARGMIN: return eval_argbest(s, n, out, args[0]);
	case QF_ARGSORT:
	case QF_SORT: return eval_sort(s, n, out, args[0]);
	case QF_FIRST:
	case QF_LAST: return eval_end(s, n, out, args);
	case QF_LOCAL_INDEX: return eval_local_index(s, n, out, args[0]);
	case QF_TAKE: return eval_take(s, n, out, args);
	case QF_MIN_DR:
	case QF_NEAREST: return eval_nearest(s, n, out, args);
	case QF_COMBINATIONS:
	case QF_COMB_SUM:
	case QF_COMB_MIN:
	case QF_COMB_MAX:
	case QF_COMB_PT:
	case QF_COMB_ETA:
	case QF_COMB_PHI:
	case QF_COMB_MASS: return eval_comb(s, n, out, args);
	case QF_P4_PT:
	case QF_P4_ETA:
	case QF_P4_PHI:
	case QF_P4_MASS: return eval_p4(s, n, out, args);
	case QF_MT: return eval_mt(s, n, out, args);
	default: return -EINVAL;
	}
}
