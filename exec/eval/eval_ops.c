/* eval_ops.c — the kernels: each computes one node for a whole batch.
 *
 * Integers are 64-bit and wrap on overflow (two's complement, as the
 * hardware does; never undefined behaviour).  Numbers are doubles.  A value
 * may be missing for an event (x[3] of an event with two elements, min of
 * an empty list): missing propagates, except that false && missing is
 * false and true || missing is true. */
#include "eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static inline int64_t int_mod(int64_t a, int64_t b)
{
	return b == 0 || (b == -1) ? 0 : a % b;
}

double eval_nan_min(double a, double b)
{
	return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
}

double eval_nan_max(double a, double b)
{
	return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
}

/* fmod(t, 2 pi) is exact, and for |t| < 4 pi it is t, t - 2 pi or
 * t + 2 pi, each exact too (Sterbenz: |t| within [2 pi, 4 pi)); only
 * larger angles, infinities and NaN call fmod.  (At t = -2 pi this gives
 * +0 where fmod gives -0; d - pi is -pi from either.)  Without the call
 * the loops over it vectorize. */
static inline double mod_2pi(double t)
{
	const double y = 2 * M_PI;
	if (!(fabs(t) < 2 * y))
		return fmod(t, y);
	double r = t >= y ? t - y : t;
	return r <= -y ? r + y : r;
}

double eval_delta_phi(double a, double b)
{
	double d = mod_2pi(a - b + M_PI);
	if (d < 0)
		d += 2 * M_PI;
	return d - M_PI;
}

/* ---- node kinds ---- */

static EVAL_CLONES int eval_literal(struct eval_state *s, const struct ql_node *n, struct val *out)
{
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	out->is_const = true;
	/* A literal read for its first value only (eval_prog.lit_one): that. */
	size_t k = s->p->lit_one[n->id] && out->n ? 1 : out->n;
	if (n->type == QL_FLOAT) {
		double *restrict o = out->data, c = n->fval;
		for (size_t i = 0; i < k; i++)
			o[i] = c;
	} else if (n->type == QL_INT || n->type == QL_STR) {
		int64_t *restrict o = out->data, c = n->ival;
		for (size_t i = 0; i < k; i++)
			o[i] = c;
	} else
		memset(out->data, n->ival != 0, k);
	return 0;
}

/* is_data, sample, xsec, lumi, sumw: the same for every event of the
 * task; xsec, lumi and sumw have no value in a data sample. */
static int eval_sample_value(struct eval_state *s, const struct ql_node *n, struct val *out)
{
	const struct ql_query *q = s->p->q;
	const struct ql_sample *sm = s->sample >= 0 && s->sample < q->nsamples ? &q->samples[s->sample] : NULL;
	if (!sm) {
		s->why = "a task ran without its sample";
		return -EINVAL;
	}
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	out->is_const = true;
	size_t k = out->n;
	double f = n->op == QL_SV_XSEC ? sm->xsec
		 : n->op == QL_SV_SUMW ? sm->sumw
		 : sm->has_lumi ? sm->lumi : q->has_lumi ? q->lumi : NAN;
	if (n->op == QL_SV_IS_DATA) {
		memset(out->data, sm->is_data, k);
	} else if (n->op == QL_SV_SAMPLE) {
		for (size_t i = 0; i < k; i++)
			((int64_t *)out->data)[i] = sm->name_id;
	} else {
		for (size_t i = 0; i < k; i++)
			((double *)out->data)[i] = f;
		bool none = sm->is_data || (n->op == QL_SV_XSEC && !sm->has_xsec) || isnan(f);
		if (none) {
			if (eval_set_valid(s, out))
				return -ENOMEM;
			memset(out->valid, 0, (size_t)s->nev);
		}
	}
	return 0;
}

static EVAL_CLONES int eval_logic(struct eval_state *s, const struct ql_node *n, struct val *out,
		      struct val *a, struct val *b)
{
	int L = n->jagged ? n->list : -1;
	const uint8_t *x = eval_as_u8(s, a, L, 0), *y = eval_as_u8(s, b, L, 1);
	if (!x || !y || eval_prepare(s, n, out))
		return -ENOMEM;
	uint8_t *restrict o = out->data;
	bool and = n->op == QB_AND;
	size_t k = out->n;
	if (and)
		for (size_t i = 0; i < k; i++)
			o[i] = x[i] & y[i];
	else
		for (size_t i = 0; i < k; i++)
			o[i] = x[i] | y[i];
	if (!a->has_valid && !b->has_valid)
		return 0;
	/* Three-valued: false && missing is false, true || missing is true. */
	if (eval_set_valid(s, out))
		return -ENOMEM;
	const int64_t *off = L >= 0 ? s->lists[L] : NULL;
	for (int64_t e = 0; e < s->nev; e++) {
		bool va = !a->has_valid || a->valid[e], vb = !b->has_valid || b->valid[e];
		if (va && vb)
			continue;
		size_t lo = off ? (size_t)off[e] : (size_t)e, hi = off ? (size_t)off[e + 1] : lo + 1;
		bool decided = true;
		for (size_t i = lo; i < hi; i++) {
			bool dec = and ? ((va && !x[i]) || (vb && !y[i])) : ((va && x[i]) || (vb && y[i]));
			if (dec)
				o[i] = !and;
			else
				decided = false;
		}
		out->valid[e] = decided;
	}
	return 0;
}

static EVAL_CLONES int eval_compare(struct eval_state *s, const struct ql_node *n, struct val *out,
			struct val *a, struct val *b)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	uint8_t *restrict o = out->data;
	size_t k = out->n;
	if (a->f32 && b->is_const && b->n && a->jagged == n->jagged && a->t == QL_FLOAT) {
		eval_compare_f32(o, a->f32, k, n->op, GET(double, b, 0));
		struct val *args[2] = {a, b};
		return eval_join_valid(s, out, args, 2);
	}
	/* A literal on the right is compared as one value, not broadcast; it is
	 * converted as eval_as_*() would, so every answer is the same. */
#define CMP_LOOPS(Y)                                                                  \
	switch (n->op) {                                                              \
	case QB_EQ: for (size_t i = 0; i < k; i++) o[i] = x[i] == (Y); break;          \
	case QB_NE: for (size_t i = 0; i < k; i++) o[i] = x[i] != (Y); break;          \
	case QB_LT: for (size_t i = 0; i < k; i++) o[i] = x[i] < (Y); break;           \
	case QB_LE: for (size_t i = 0; i < k; i++) o[i] = x[i] <= (Y); break;          \
	case QB_GT: for (size_t i = 0; i < k; i++) o[i] = x[i] > (Y); break;           \
	default: for (size_t i = 0; i < k; i++) o[i] = x[i] >= (Y); break;             \
	}
#define CMP(T, FN, GETC)                                                              \
	do {                                                                          \
		const T *restrict x = FN(s, a, L, 0);                                 \
		if (!x)                                                               \
			return -ENOMEM;                                               \
		if (b->is_const && b->n) {                                            \
			const T c = GETC;                                             \
			CMP_LOOPS(c)                                                  \
		} else {                                                              \
			const T *restrict y = FN(s, b, L, 1);                         \
			if (!y)                                                       \
				return -ENOMEM;                                       \
			CMP_LOOPS(y[i])                                               \
		}                                                                     \
	} while (0)
	if (a->t == QL_FLOAT || b->t == QL_FLOAT)
		CMP(double, eval_as_f64, GET(double, b, 0));
	else
		CMP(int64_t, eval_as_i64, GET(int64_t, b, 0));
#undef CMP
#undef CMP_LOOPS
	struct val *args[2] = {a, b};
	return eval_join_valid(s, out, args, 2);
}

static EVAL_CLONES int eval_arith(struct eval_state *s, const struct ql_node *n, struct val *out,
		      struct val *a, struct val *b)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t k = out->n;
	if (n->type == QL_INT) {
		const int64_t *x = eval_as_i64(s, a, L, 0), *y = eval_as_i64(s, b, L, 1);
		int64_t *o = out->data;
		if (!x || !y)
			return -ENOMEM;
		switch (n->op) {
		case QB_ADD: for (size_t i = 0; i < k; i++) o[i] = eval_wrap_add(x[i], y[i]); break;
		case QB_SUB: for (size_t i = 0; i < k; i++) o[i] = wrap_sub(x[i], y[i]); break;
		case QB_MUL: for (size_t i = 0; i < k; i++) o[i] = wrap_mul(x[i], y[i]); break;
		default: for (size_t i = 0; i < k; i++) o[i] = int_mod(x[i], y[i]); break;
		}
	} else {
		const double *x = eval_as_f64(s, a, L, 0), *y = eval_as_f64(s, b, L, 1);
		double *o = out->data;
		if (!x || !y)
			return -ENOMEM;
		switch (n->op) {
		case QB_ADD: for (size_t i = 0; i < k; i++) o[i] = x[i] + y[i]; break;
		case QB_SUB: for (size_t i = 0; i < k; i++) o[i] = x[i] - y[i]; break;
		case QB_MUL: for (size_t i = 0; i < k; i++) o[i] = x[i] * y[i]; break;
		case QB_DIV: for (size_t i = 0; i < k; i++) o[i] = x[i] / y[i]; break;
		case QB_MOD: for (size_t i = 0; i < k; i++) o[i] = fmod(x[i], y[i]); break;
		default: for (size_t i = 0; i < k; i++) o[i] = pow(x[i], y[i]); break;
		}
	}
	struct val *args[2] = {a, b};
	return eval_join_valid(s, out, args, 2);
}

static EVAL_CLONES int eval_unary(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *a)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t k = out->n;
	if (n->op == '!') {
		const uint8_t *x = eval_as_u8(s, a, L, 0);
		if (!x)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			((uint8_t *)out->data)[i] = !x[i];
	} else if (n->type == QL_INT) {
		const int64_t *x = eval_as_i64(s, a, L, 0);
		if (!x)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			((int64_t *)out->data)[i] = wrap_sub(0, x[i]);
	} else {
		const double *x = eval_as_f64(s, a, L, 0);
		if (!x)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			((double *)out->data)[i] = -x[i];
	}
	return eval_join_valid(s, out, &a, 1);
}

static EVAL_CLONES int eval_cond(struct eval_state *s, const struct ql_node *n, struct val *out,
		     struct val **args)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t k = out->n;
	const uint8_t *c = eval_as_u8(s, args[0], L, 0);
	if (!c)
		return -ENOMEM;
	if (n->type == QL_FLOAT || n->type == QL_INT || n->type == QL_STR) {
		/* int64 and double share a size: pick by bits through memcpy-free paths */
		if (n->type == QL_FLOAT) {
			const double *x = eval_as_f64(s, args[1], L, 1), *y = eval_as_f64(s, args[2], L, 2);
			if (!x || !y)
				return -ENOMEM;
			for (size_t i = 0; i < k; i++)
				((double *)out->data)[i] = c[i] ? x[i] : y[i];
		} else {
			const int64_t *x = eval_as_i64(s, args[1], L, 1), *y = eval_as_i64(s, args[2], L, 2);
			if (!x || !y)
				return -ENOMEM;
			for (size_t i = 0; i < k; i++)
				((int64_t *)out->data)[i] = c[i] ? x[i] : y[i];
		}
	} else {
		const uint8_t *x = eval_as_u8(s, args[1], L, 1), *y = eval_as_u8(s, args[2], L, 2);
		if (!x || !y)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			((uint8_t *)out->data)[i] = c[i] ? x[i] : y[i];
	}
	if (!args[0]->has_valid && !args[1]->has_valid && !args[2]->has_valid)
		return 0;
	if (args[0]->jagged)
		return eval_join_valid(s, out, args, 3);
	/* One condition per event: only the branch taken must be present. */
	if (eval_set_valid(s, out))
		return -ENOMEM;
	const uint8_t *ce = args[0]->data; /* per event, not broadcast */
	for (int64_t e = 0; e < s->nev; e++) {
		struct val *v = ce[e] ? args[1] : args[2];
		out->valid[e] = (!args[0]->has_valid || args[0]->valid[e]) &&
				(!v->has_valid || v->valid[e]);
	}
	return 0;
}

/* x[i] per event, one loop per storage, from floats when x has only
 * those; a literal index (x[0]) is read once, not broadcast. */
static EVAL_CLONES int eval_index(struct eval_state *s, const struct ql_node *n, struct val *out,
				  struct val *x, struct val *ix)
{
	if (eval_prepare(s, n, out) || eval_set_valid(s, out))
		return -ENOMEM;
	const int64_t *restrict off = s->lists[x->list];
	const bool kc = ix->is_const && ix->n;
	const int64_t k0 = kc ? GET(int64_t, ix, 0) : 0;
	const int64_t *restrict k = kc ? NULL : eval_as_i64(s, ix, -1, 0);
	if (!kc && !k)
		return -ENOMEM;
	const uint8_t *restrict xv = x->has_valid ? x->valid : NULL;
	const uint8_t *restrict iv = ix->has_valid ? ix->valid : NULL;
	uint8_t *restrict ov = out->valid;
	const int64_t ne = s->nev;
#define INDEX_LOOP(T, SRC)                                                                \
	do {                                                                              \
		T *restrict o_ = out->data;                                               \
		const SRC *restrict x_ = SRC_OF;                                          \
		for (int64_t e = 0; e < ne; e++) {                                        \
			int64_t len = off[e + 1] - off[e], i = kc ? k0 : k[e];            \
			if (i < 0)                                                        \
				i += len;                                                 \
			bool ok = i >= 0 && i < len && (!xv || xv[e]) && (!iv || iv[e]);  \
			ov[e] = ok;                                                       \
			o_[e] = ok ? (T)x_[off[e] + i] : 0;                               \
		}                                                                         \
	} while (0)
#define SRC_OF x->f32
	if (x->no_f64)
		INDEX_LOOP(double, float);
#undef SRC_OF
#define SRC_OF x->data
	else if (x->t == QL_BOOL)
		INDEX_LOOP(uint8_t, uint8_t);
	else if (x->t == QL_FLOAT)
		INDEX_LOOP(double, double);
	else
		INDEX_LOOP(int64_t, int64_t);
#undef SRC_OF
#undef INDEX_LOOP
	return 0;
}

/* Compaction of a list's elements by keep, in one pass over the elements
 * of the batch and no loop per event (whose exits a CPU cannot predict):
 * write every element, advance past the kept; before[i] records the kept
 * elements before element i, which gives the new offsets.  Numbers take
 * eval_pack64(), four elements a step; bools this loop. */
#define MASK_LOOP(T)                                                               \
	do {                                                                       \
		T *restrict o_ = out->data;                                        \
		const T *restrict x_ = x->data;                                    \
		for (size_t i = 0; i < total; i++) {                               \
			o_[k] = x_[i];                                             \
			before[i] = (int64_t)k;                                    \
			k += keep[i] != 0;                                         \
		}                                                                  \
	} while (0)

static EVAL_CLONES int eval_mask(struct eval_state *s, const struct ql_node *n, struct val *out,
				 struct val *x, struct val *m)
{
	const int64_t *off = s->lists[x->list];
	const uint8_t *restrict keep = m->data;
	int L = n->list;
	size_t total = (size_t)off[s->nev], size = x->t == QL_BOOL ? 1 : 8;
	if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], ((size_t)s->nev + 1) * 8) ||
	    eval_reserve(&out->data, &out->cap, (total + 1) * size) ||
	    eval_reserve(&s->scratch[2], &s->scratch_cap[2], (total + 1) * 8))
		return -ENOMEM;
	int64_t *restrict noff = s->lists[L], *restrict before = s->scratch[2];
	size_t k = 0;
	const float *xf = x->f32 && x->t == QL_FLOAT ? x->f32 : NULL;
	out->f32 = NULL;
	out->no_f64 = false;
	if (xf) {
		/* Floats: packed as floats, eight a step, then widened (exactly)
		 * unless every use takes the floats. */
		if (eval_reserve((void **)&out->fbuf, &out->fcap, (total + 1) * sizeof(float)))
			return -ENOMEM;
		k = eval_pack32(out->fbuf, xf, keep, total, before);
		out->f32 = out->fbuf;
		if (eval_f32_only(s, n->id)) {
			out->no_f64 = true;
		} else {
			double *restrict od = out->data;
			const float *restrict of = out->fbuf;
			for (size_t i = 0; i < k; i++)
				od[i] = of[i];
		}
	} else if (size == 8) {
		k = eval_pack64(out->data, x->data, keep, total, before);
	} else {
		MASK_LOOP(uint8_t);
		before[total] = (int64_t)k;
	}
	for (int64_t e = 0; e <= s->nev; e++) /* off[0] is 0: lists start at 0 */
		noff[e] = before[off[e]];
	s->list_ready[L] = true;
	out->t = n->type;
	out->jagged = true;
	out->list = L;
	out->n = k;
	out->has_valid = false;
	out->is_const = false;
	struct val *args[2] = {x, m};
	return eval_join_valid(s, out, args, 2);
}
#undef MASK_LOOP

static EVAL_CLONES int eval_reduce(struct eval_state *s, const struct ql_node *n, struct val *out, struct val *x)
{
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	const int64_t *off = s->lists[x->list];
	int fn = n->op;
	if (fn == QF_COUNT || fn == QF_LEN) {
		for (int64_t e = 0; e < s->nev; e++)
			((int64_t *)out->data)[e] = off[e + 1] - off[e];
		return eval_join_valid(s, out, &x, 1);
	}
	if (fn == QF_ANY || fn == QF_ALL) {
		const uint8_t *v = x->data;
		for (int64_t e = 0; e < s->nev; e++) {
			uint8_t r = fn == QF_ALL;
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				r = fn == QF_ALL ? (r & v[i]) : (r | v[i]);
			((uint8_t *)out->data)[e] = r;
		}
		return eval_join_valid(s, out, &x, 1);
	}
	if (fn == QF_SUM && n->type == QL_INT && x->t == QL_BOOL) {
		/* sum(mask): a count (bools are 0 or 1), per event without a
		 * loop: eight bytes at once, the event's kept by a mask, added up
		 * by one multiply (every byte sum fits a byte).  A list longer
		 * than 8, or one whose eight bytes would run past the batch's
		 * elements, is counted byte by byte. */
		static const uint64_t keep[9] = {0,
						 0xff,
						 0xffff,
						 0xffffff,
						 0xffffffff,
						 0xffffffffffull,
						 0xffffffffffffull,
						 0xffffffffffffffull,
						 0xffffffffffffffffull};
		const uint8_t *restrict v = x->data;
		int64_t *restrict o = out->data;
		const int64_t ne = s->nev, total = off[ne];
		for (int64_t e = 0; e < ne; e++) {
			int64_t lo = off[e], len = off[e + 1] - lo;
			if (len <= 8 && lo + 8 <= total) {
				uint64_t w;
				memcpy(&w, v + lo, 8);
				o[e] = (int64_t)(((w & keep[len]) * 0x0101010101010101ull) >> 56);
			} else {
				int64_t c = 0;
				for (int64_t i = 0; i < len; i++)
					c += v[lo + i];
				o[e] = c;
			}
		}
		return eval_join_valid(s, out, &x, 1);
	}
	if (fn == QF_SUM && n->type == QL_INT) {
		/* From running sums over the batch's elements: a loop per event
		 * has exits a CPU cannot predict.  Wrapping sums of integers do
		 * not depend on the order, so the differences are the sums. */
		size_t total = (size_t)off[s->nev];
		if (eval_reserve(&s->scratch[1], &s->scratch_cap[1], (total + 1) * 8))
			return -ENOMEM;
		int64_t *restrict run = s->scratch[1], *restrict o = out->data;
		run[0] = 0;
		const int64_t *restrict v = eval_as_i64(s, x, -1, 0);
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < total; i++)
			run[i + 1] = eval_wrap_add(run[i], v[i]);
		for (int64_t e = 0; e < s->nev; e++)
			o[e] = wrap_sub(run[off[e + 1]], run[off[e]]);
		return eval_join_valid(s, out, &x, 1);
	}
	if (fn == QF_SUM) {
		const double *v = x->data;
		for (int64_t e = 0; e < s->nev; e++) {
			double r = 0;
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				r += v[i];
			((double *)out->data)[e] = r;
		}
		return eval_join_valid(s, out, &x, 1);
	}
	/* min, max: missing for an empty list. */
	if (eval_join_valid(s, out, &x, 1) || (!out->has_valid && eval_set_valid(s, out)))
		return -ENOMEM;
	bool mx = fn == QF_MAX;
	for (int64_t e = 0; e < s->nev; e++) {
		if (off[e + 1] == off[e]) {
			out->valid[e] = 0;
			if (n->type == QL_FLOAT)
				((double *)out->data)[e] = 0;
			else if (n->type == QL_INT)
				((int64_t *)out->data)[e] = 0;
			else
				((uint8_t *)out->data)[e] = 0;
			continue;
		}
		if (n->type == QL_FLOAT) {
			const double *v = x->data;
			double r = v[off[e]];
			for (int64_t i = off[e] + 1; i < off[e + 1]; i++)
				r = mx ? eval_nan_max(r, v[i]) : eval_nan_min(r, v[i]);
			((double *)out->data)[e] = r;
		} else if (n->type == QL_INT) {
			const int64_t *v = x->data;
			int64_t r = v[off[e]];
			for (int64_t i = off[e] + 1; i < off[e + 1]; i++)
				r = mx ? (v[i] > r ? v[i] : r) : (v[i] < r ? v[i] : r);
			((int64_t *)out->data)[e] = r;
		} else {
			const uint8_t *v = x->data;
			uint8_t r = v[off[e]];
			for (int64_t i = off[e] + 1; i < off[e + 1]; i++)
				r = mx ? (r | v[i]) : (r & v[i]);
			((uint8_t *)out->data)[e] = r;
		}
	}
	return 0;
}

/* Four-vectors from (pt, eta, phi, m), summed; the mass of the sum, negative
 * when the sum is space-like (as ROOT's TLorentzVector::M()). */
double eval_mass_of(double px, double py, double pz, double en)
{
	double m2 = en * en - px * px - py * py - pz * pz;
	return m2 >= 0 ? sqrt(m2) : -sqrt(-m2);
}

void eval_add_p4(double *p, double pt, double eta, double phi, double m)
{
	double px = pt * cos(phi), py = pt * sin(phi), pz = pt * sinh(eta);
	p[0] += px;
	p[1] += py;
	p[2] += pz;
	p[3] += sqrt(px * px + py * py + pz * pz + m * m);
}

static int eval_inv_mass(struct eval_state *s, const struct ql_node *n, struct val *out,
			 struct val **args)
{
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	int k = n->nargs;
	if (eval_join_valid(s, out, args, k))
		return -ENOMEM;
	double *o = out->data;
	if (args[0]->jagged) {
		const double *v[4];
		for (int i = 0; i < 4; i++)
			if (!(v[i] = eval_as_f64(s, args[i], -1, i)))
				return -ENOMEM;
		const int64_t *off = s->lists[args[0]->list];
		if (!out->has_valid && eval_set_valid(s, out))
			return -ENOMEM;
		for (int64_t e = 0; e < s->nev; e++) {
			double p[4] = {0, 0, 0, 0};
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				eval_add_p4(p, v[0][i], v[1][i], v[2][i], v[3][i]);
			o[e] = eval_mass_of(p[0], p[1], p[2], p[3]);
			if (off[e + 1] == off[e])
				out->valid[e] = 0;
		}
		return 0;
	}
	/* Single objects: sum their four-vectors object by object. */
	size_t ne = (size_t)s->nev;
	if (eval_reserve(&s->scratch[4], &s->scratch_cap[4], (4 * ne + 1) * sizeof(double)))
		return -ENOMEM;
	double *acc = s->scratch[4];
	memset(acc, 0, 4 * ne * sizeof(double));
	for (int obj = 0; obj < k; obj += 4) {
		const double *v[4];
		for (int i = 0; i < 4; i++)
			if (!(v[i] = eval_as_f64(s, args[obj + i], -1, i)))
				return -ENOMEM;
		for (size_t e = 0; e < ne; e++) {
			double p[4] = {acc[e], acc[ne + e], acc[2 * ne + e], acc[3 * ne + e]};
			eval_add_p4(p, v[0][e], v[1][e], v[2][e], v[3][e]);
			acc[e] = p[0];
			acc[ne + e] = p[1];
			acc[2 * ne + e] = p[2];
			acc[3 * ne + e] = p[3];
		}
	}
	for (size_t e = 0; e < ne; e++)
		o[e] = eval_mass_of(acc[e], acc[ne + e], acc[2 * ne + e], acc[3 * ne + e]);
	return 0;
}

static EVAL_CLONES int eval_math(struct eval_state *s, const struct ql_node *n, struct val *out,
		     struct val **args)
{
	int L = n->jagged ? n->list : -1;
	if (eval_prepare(s, n, out))
		return -ENOMEM;
	size_t k = out->n;
	int fn = n->op;
	if (n->type == QL_INT) { /* abs, min, max of integers */
		const int64_t *x = eval_as_i64(s, args[0], L, 0);
		const int64_t *y = n->nargs > 1 ? eval_as_i64(s, args[1], L, 1) : x;
		int64_t *o = out->data;
		if (!x || !y)
			return -ENOMEM;
		for (size_t i = 0; i < k; i++)
			o[i] = fn == QF_ABS ? (x[i] < 0 ? wrap_sub(0, x[i]) : x[i])
			     : fn == QF_MIN2 ? (x[i] < y[i] ? x[i] : y[i])
					     : (x[i] > y[i] ? x[i] : y[i]);
		return eval_join_valid(s, out, args, n->nargs);
	}
	const struct val *x0 = args[0];
	if (fn == QF_ABS && x0->f32 && x0->jagged == n->jagged) {
		/* |x| of floats is a float, the same number as |(double)x|: as
		 * floats only, when every use takes them. */
		const float *restrict xf = x0->f32;
		if (eval_f32_only(s, n->id)) {
			if (eval_reserve((void **)&out->fbuf, &out->fcap, (k + 1) * sizeof(float)))
				return -ENOMEM;
			float *restrict of = out->fbuf;
			for (size_t i = 0; i < k; i++)
				of[i] = fabsf(xf[i]);
			out->f32 = out->fbuf;
			out->no_f64 = true;
		} else {
			double *restrict od = out->data;
			for (size_t i = 0; i < k; i++)
				od[i] = fabsf(xf[i]);
			out->f32 = NULL;
		}
		return eval_join_valid(s, out, args, 1);
	}
	const double *a[4] = {0};
	for (int i = 0; i < n->nargs; i++)
		if (!(a[i] = eval_as_f64(s, args[i], L, i)))
			return -ENOMEM;
	double *o = out->data;
	const double *x = a[0], *y = n->nargs > 1 ? a[1] : a[0];
	switch (fn) {
	case QF_ABS: for (size_t i = 0; i < k; i++) o[i] = fabs(x[i]); break;
	case QF_SQRT: for (size_t i = 0; i < k; i++) o[i] = sqrt(x[i]); break;
	case QF_EXP: for (size_t i = 0; i < k; i++) o[i] = exp(x[i]); break;
	case QF_LOG: for (size_t i = 0; i < k; i++) o[i] = log(x[i]); break;
	case QF_SIN: for (size_t i = 0; i < k; i++) o[i] = sin(x[i]); break;
	case QF_COS: for (size_t i = 0; i < k; i++) o[i] = cos(x[i]); break;
	case QF_TAN: for (size_t i = 0; i < k; i++) o[i] = tan(x[i]); break;
	case QF_SINH: for (size_t i = 0; i < k; i++) o[i] = sinh(x[i]); break;
	case QF_COSH: for (size_t i = 0; i < k; i++) o[i] = cosh(x[i]); break;
	case QF_TANH: for (size_t i = 0; i < k; i++) o[i] = tanh(x[i]); break;
	case QF_FLOOR: for (size_t i = 0; i < k; i++) o[i] = floor(x[i]); break;
	case QF_CEIL: for (size_t i = 0; i < k; i++) o[i] = ceil(x[i]); break;
	case QF_ATAN2: for (size_t i = 0; i < k; i++) o[i] = atan2(x[i], y[i]); break;
	case QF_HYPOT: for (size_t i = 0; i < k; i++) o[i] = hypot(x[i], y[i]); break;
	case QF_POW: for (size_t i = 0; i < k; i++) o[i] = pow(x[i], y[i]); break;
	case QF_MIN2: for (size_t i = 0; i < k; i++) o[i] = eval_nan_min(x[i], y[i]); break;
	case QF_MAX2: for (size_t i = 0; i < k; i++) o[i] = eval_nan_max(x[i], y[i]); break;
	case QF_DELTA_PHI: for (size_t i = 0; i < k; i++) o[i] = eval_delta_phi(x[i], y[i]); break;
	case QF_DELTA_R:
		for (size_t i = 0; i < k; i++)
			o[i] = hypot(a[0][i] - a[2][i], eval_delta_phi(a[1][i], a[3][i]));
		break;
	default:
		return -EINVAL;
	}
	return eval_join_valid(s, out, args, n->nargs);
}

int eval_node(struct eval_state *s, const struct ql_node *n, struct val *out)
{
	struct val *args[64];
	for (int i = 0; i < n->nargs && i < 64; i++)
		args[i] = eval_arg(s, n->args[i]);
	int g = s->gpu ? eval_gpu_node(s, n, out, args) : 1;
	if (g <= 0)
		return g;
	switch (n->kind) {
	case QN_INT:
	case QN_FLOAT:
	case QN_BOOL:
	case QN_STR:
		return eval_literal(s, n, out);
	case QN_UNARY:
		return eval_unary(s, n, out, args[0]);
	case QN_BINARY:
		if (n->op == QB_AND || n->op == QB_OR)
			return eval_logic(s, n, out, args[0], args[1]);
		if (n->op >= QB_EQ && n->op <= QB_GE)
			return eval_compare(s, n, out, args[0], args[1]);
		return eval_arith(s, n, out, args[0], args[1]);
	case QN_COND:
		return eval_cond(s, n, out, args);
	case QN_INDEX:
		return n->is_mask     ? eval_mask(s, n, out, args[0], args[1])
		       : n->is_gather ? eval_gather(s, n, out, args[0], args[1])
				      : eval_index(s, n, out, args[0], args[1]);
	case QN_SLICE:
		return eval_slice(s, n, out, args);
	case QN_CALL:
		if (n->op == QF_RANDOM_NORMAL)
			return eval_random_normal(s, n, out, args);
		if (n->op == QF_CORRECTION || n->op == QF_LUMI_MASK)
			return eval_lookup(s, n, out, args);
		if (n->op >= QF_ARGMAX)
			return eval_list_call(s, n, out, args);
		if (n->op >= QF_SUM)
			return eval_reduce(s, n, out, args[0]);
		if (n->op == QF_INV_MASS)
			return eval_inv_mass(s, n, out, args);
		return eval_math(s, n, out, args);
	case QN_NAME:
		if (!n->define && n->column < 0)
			return eval_sample_value(s, n, out);
		break; /* a branch: loaded by eval_run */
	}
	return -EINVAL;
}
