/* eval_values.c — a node's values as the kernels take them: buffers,
 * conversion and broadcast to the storage a kernel wants (eval_as_*),
 * the shape and validity of results, and comparisons made on float32
 * values with the answers of their doubles. */
#include "eval_int.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int eval_reserve(void **buf, size_t *cap, size_t bytes)
{
	if (bytes <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < bytes)
		c *= 2;
	void *p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

struct val *eval_arg(struct eval_state *s, const struct ql_node *n)
{
	return &s->vals[n->id];
}

/* ---- conversion and broadcast ---- */

/* Convert v to T (storage type WANT) shaped for list (-1: per event): as is
 * when it already is, else into scratch slot.  Loops are split by source
 * type so that each is a plain, vectorizable copy. */
#define AS(NAME, T, WANT)                                                                 \
	static EVAL_CLONES const T *NAME(struct eval_state *s, const struct val *v, int list, int slot) \
	{                                                                                  \
		bool spread = list >= 0 && !v->jagged;                                       \
		size_t n = spread ? eval_list_size(s, list) : v->n;                        \
		if (!spread && v->t == WANT && !v->no_f64)                                   \
			return v->data;                                                    \
		if (eval_reserve(&s->scratch[slot], &s->scratch_cap[slot], (n + 1) * sizeof(T))) \
			return NULL;                                                       \
		T *o = s->scratch[slot];                                                     \
		if (v->is_const) {                                                           \
			T c = GET(T, v, 0);                                                \
			for (size_t i = 0; i < n; i++)                                     \
				o[i] = c;                                                  \
		} else if (!spread) {                                                        \
			if (v->no_f64) /* only floats: widened, exactly */                  \
				for (size_t i = 0; i < n; i++)                             \
					o[i] = (T)v->f32[i];                               \
			else if (v->t == QL_FLOAT)                                         \
				for (size_t i = 0; i < n; i++)                             \
					o[i] = (T)((const double *)v->data)[i];            \
			else if (v->t == QL_INT)                                           \
				for (size_t i = 0; i < n; i++)                             \
					o[i] = (T)((const int64_t *)v->data)[i];           \
			else                                                               \
				for (size_t i = 0; i < n; i++)                             \
					o[i] = (T)((const uint8_t *)v->data)[i];           \
		} else {                                                                     \
			const int64_t *off = s->lists[list];                                 \
			for (int64_t e = 0; e < s->nev; e++) {                               \
				T c = GET(T, v, e);                                        \
				for (int64_t i = off[e]; i < off[e + 1]; i++)              \
					o[i] = c;                                          \
			}                                                                    \
		}                                                                            \
		return o;                                                                    \
	}

AS(as_f64, double, QL_FLOAT)
AS(as_i64, int64_t, QL_INT)
AS(as_u8, uint8_t, QL_BOOL)

/* o[i] = (double)x[i]: x86-64 has no vector instruction for it before
 * AVX-512, so through the double 1.5 * 2^52 + x, whose bits are those of
 * 1.5 * 2^52 plus x when |x| < 2^51 (every count and index), checked for
 * the whole array first; else one by one.  Exact either way. */
EVAL_CLONES void eval_i64_to_f64(double *restrict o, const int64_t *restrict x, size_t n)
{
	const uint64_t lim = (uint64_t)1 << 51;
	uint64_t far = 0;
	for (size_t i = 0; i < n; i++)
		far |= ((uint64_t)x[i] + lim) >> 52; /* 0 for -2^51 <= x < 2^51 */
	if (far) {
		for (size_t i = 0; i < n; i++)
			o[i] = (double)x[i];
		return;
	}
	const uint64_t magic_i = 0x4338000000000000; /* the bits of 1.5 * 2^52 */
	const double magic_d = 6755399441055744.0;   /* 1.5 * 2^52 */
	for (size_t i = 0; i < n; i++) {
		uint64_t b = (uint64_t)x[i] + magic_i;
		double d;
		memcpy(&d, &b, sizeof(d));
		o[i] = d - magic_d;
	}
}

const double *eval_as_f64(struct eval_state *s, const struct val *v, int list, int slot)
{
	if (v->t != QL_INT || v->is_const || (list >= 0 && !v->jagged))
		return as_f64(s, v, list, slot);
	if (eval_reserve(&s->scratch[slot], &s->scratch_cap[slot], (v->n + 1) * sizeof(double)))
		return NULL;
	eval_i64_to_f64(s->scratch[slot], v->data, v->n);
	return s->scratch[slot];
}

const int64_t *eval_as_i64(struct eval_state *s, const struct val *v, int list, int slot)
{
	return as_i64(s, v, list, slot);
}

const uint8_t *eval_as_u8(struct eval_state *s, const struct val *v, int list, int slot)
{
	return as_u8(s, v, list, slot);
}

/* ---- results ---- */

int eval_prepare(struct eval_state *s, const struct ql_node *n, struct val *out)
{
	out->t = n->type == QL_STR ? QL_INT : n->type; /* strings are held as their index */
	out->jagged = n->jagged;
	out->list = n->list;
	out->n = n->jagged ? eval_list_size(s, n->list) : (size_t)s->nev;
	out->has_valid = false;
	out->is_const = false;
	if (out->borrowed) {
		out->data = NULL;
		out->cap = 0;
		out->borrowed = false;
	}
	size_t size = n->type == QL_BOOL ? 1 : 8;
	return eval_reserve(&out->data, &out->cap, (out->n + 1) * size);
}

/* out's validity: the events where every argument is valid. */
int eval_join_valid(struct eval_state *s, struct val *out, struct val **args, int k)
{
	bool any = false;
	for (int i = 0; i < k; i++)
		any |= args[i]->has_valid;
	out->has_valid = any;
	if (!any)
		return 0;
	if (eval_reserve((void **)&out->valid, &out->vcap, (size_t)s->nev + 1))
		return -ENOMEM;
	uint8_t *restrict o = out->valid;
	const int64_t n = s->nev;
	memset(o, 1, (size_t)n);
	for (int i = 0; i < k; i++)
		if (args[i]->has_valid) {
			const uint8_t *restrict a = args[i]->valid;
			for (int64_t e = 0; e < n; e++)
				o[e] &= a[e];
		}
	return 0;
}

int eval_set_valid(struct eval_state *s, struct val *out)
{
	out->has_valid = true;
	if (eval_reserve((void **)&out->valid, &out->vcap, (size_t)s->nev + 1))
		return -ENOMEM;
	memset(out->valid, 1, (size_t)s->nev);
	return 0;
}

/* ---- float32 comparisons ---- */

/* Floats down <= c <= up, the closest to c: c itself when it is a float
 * (*exact).  For a float x, (double)x < c is then x < up, x <= c is
 * x <= down, x > c is x > down, x >= c is x >= up; x == c only where c is
 * a float.  Past the floats' range a bound is the largest float or an
 * infinity; NaN gives NaN bounds (every comparison false). */
static void f32_bounds(double c, float *down, float *up, bool *exact)
{
	*exact = false;
	if (c != c) {
		*down = *up = NAN;
	} else if (c > FLT_MAX) {
		*exact = c == INFINITY;
		*down = *exact ? INFINITY : FLT_MAX;
		*up = INFINITY;
	} else if (c < -FLT_MAX) {
		*exact = c == -INFINITY;
		*up = *exact ? -INFINITY : -FLT_MAX;
		*down = -INFINITY;
	} else {
		float f = (float)c; /* in range: rounded to nearest */
		*exact = (double)f == c;
		*down = *exact || (double)f < c ? f : nextafterf(f, -INFINITY);
		*up = *exact || (double)f > c ? f : nextafterf(f, INFINITY);
	}
}

EVAL_CLONES void eval_compare_f32(uint8_t *restrict o, const float *restrict x, size_t k, int op,
				  double c)
{
	float down, up;
	bool exact;
	f32_bounds(c, &down, &up, &exact);
	switch (op) {
	case QB_EQ:
		if (exact)
			for (size_t i = 0; i < k; i++) o[i] = x[i] == up;
		else
			memset(o, 0, k);
		break;
	case QB_NE:
		if (exact)
			for (size_t i = 0; i < k; i++) o[i] = x[i] != up;
		else
			memset(o, 1, k);
		break;
	case QB_LT: for (size_t i = 0; i < k; i++) o[i] = x[i] < up; break;
	case QB_LE: for (size_t i = 0; i < k; i++) o[i] = x[i] <= down; break;
	case QB_GT: for (size_t i = 0; i < k; i++) o[i] = x[i] > down; break;
	default: for (size_t i = 0; i < k; i++) o[i] = x[i] >= up; break;
	}
}
