/* eval_load.c — a batch's columns as node values: the reader's columns
 * borrowed where their type is the node's and no event was cut, else
 * converted, or gathered through the event index after a cut; float32
 * columns with their floats (struct val.f32), kept as floats where every
 * use takes them.  Every column is checked against the batch first. */
#include "eval_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Convert k values of c starting at value `from` into o[at...]. */
static EVAL_CLONES void convert_values(const struct rootio_column *c, enum ql_type t, void *o, size_t at,
			   size_t from, size_t k)
{
	const void *src = c->values;
	if (t == QL_BOOL) {
		memcpy((uint8_t *)o + at, (const uint8_t *)src + from, k);
		return;
	}
	/* A float widened to double is exact: the same double as before. */
#define CONVERT(T, S)                                                       \
	do {                                                                \
		T *restrict d_ = (T *)o + at;                               \
		const S *restrict x_ = (const S *)src + from;               \
		for (size_t i = 0; i < k; i++)                              \
			d_[i] = x_[i];                                      \
	} while (0)
	if (t == QL_FLOAT) {
		if (c->type == ROOTIO_F32)
			CONVERT(double, float);
		else
			memcpy((double *)o + at, (const double *)src + from, k * 8);
		return;
	}
	switch (c->type) {
	case ROOTIO_BOOL:
	case ROOTIO_U8: CONVERT(int64_t, uint8_t); break;
	case ROOTIO_I8: CONVERT(int64_t, int8_t); break;
	case ROOTIO_I16: CONVERT(int64_t, int16_t); break;
	case ROOTIO_U16: CONVERT(int64_t, uint16_t); break;
	case ROOTIO_I32: CONVERT(int64_t, int32_t); break;
	case ROOTIO_U32: CONVERT(int64_t, uint32_t); break;
	default: memcpy((int64_t *)o + at, (const int64_t *)src + from, k * 8); break;
	}
#undef CONVERT
}

/* The offsets of column c for the current events (gathered through idx). */
static EVAL_CLONES int column_offsets(struct eval_state *s, const struct rootio_column *c, int64_t *o)
{
	const int64_t *restrict co = c->offsets, *restrict idx = s->idx;
	int64_t per = !co && c->nentries ? (int64_t)(c->nvalues / (size_t)c->nentries) : 0;
	int64_t n = s->nev, at = 0;
	o[0] = 0;
	if (co && !s->have_idx) /* starts at 0: load_column checked it */
		memcpy(o + 1, co + 1, (size_t)n * sizeof(*o));
	else if (co)
		for (int64_t j = 0; j < n; j++)
			o[j + 1] = at += co[idx[j] + 1] - co[idx[j]];
	else
		for (int64_t j = 0; j < n; j++)
			o[j + 1] = (j + 1) * per;
	return 0;
}

/* Copy the current events' values of c (through idx) into o, converted:
 * per event for flat columns, per range of elements for lists (off: the
 * gathered offsets).  Loops by source type, with no call per event.  (A
 * version without a loop per event, from a prefix sum of where each
 * element lies, ran no faster on the bench query: fewer mispredicted loop
 * exits, twice the instructions.)  A list of at most GATHER_RUN elements
 * is copied as GATHER_RUN of them, a fixed-length loop the compiler makes
 * two vector steps: no loop exit to mispredict per event.  The elements
 * past its own land where the next event's go, which that event's copy
 * then writes; o has room for GATHER_RUN past the last event's (see
 * load_column), and the source is read past a list only where it holds
 * GATHER_RUN more values. */
#define GATHER_RUN 8
/* GATHER_RUN values converted: floats to doubles as two vector steps
 * (the compiler leaves the plain loop scalar), the rest a plain loop. */
static inline void run_f2d(double *restrict w, const float *restrict x)
{
	typedef float v4f __attribute__((vector_size(16), aligned(4)));
	typedef double v4d __attribute__((vector_size(32), aligned(8)));
	v4f a, b;
	memcpy(&a, x, sizeof(a));
	memcpy(&b, x + 4, sizeof(b));
	v4d c = __builtin_convertvector(a, v4d), d = __builtin_convertvector(b, v4d);
	memcpy(w, &c, sizeof(c));
	memcpy(w + 4, &d, sizeof(d));
}
#define RUN_FN(NAME, T, S)                                                        \
	static inline void NAME(T *restrict w, const S *restrict x)             \
	{                                                                       \
		for (int i = 0; i < GATHER_RUN; i++)                            \
			w[i] = (T)x[i];                                         \
	}
RUN_FN(run_u8, uint8_t, uint8_t)
RUN_FN(run_f2f, float, float)
RUN_FN(run_d2d, double, double)
RUN_FN(run_u8i, int64_t, uint8_t)
RUN_FN(run_i8i, int64_t, int8_t)
RUN_FN(run_i16i, int64_t, int16_t)
RUN_FN(run_u16i, int64_t, uint16_t)
RUN_FN(run_i32i, int64_t, int32_t)
RUN_FN(run_u32i, int64_t, uint32_t)
RUN_FN(run_i64i, int64_t, int64_t)
#undef RUN_FN

static EVAL_CLONES void gather_values(struct eval_state *s, const struct rootio_column *c,
				      const struct ql_node *n, void *o, const int64_t *off, bool f32)
{
	const int64_t *restrict idx = s->idx, *restrict co = c->offsets;
	int64_t per = !co && c->nentries ? (int64_t)(c->nvalues / (size_t)c->nentries) : 1;
	const int64_t nv = (int64_t)c->nvalues;
#define GATHER(T, S, RUN)                                                                \
	do {                                                                             \
		T *restrict d_ = o;                                                      \
		const S *restrict x_ = c->values;                                        \
		if (!n->jagged)                                                          \
			for (int64_t j = 0; j < s->nev; j++)                             \
				d_[j] = (T)x_[idx[j]];                                   \
		else                                                                     \
			for (int64_t j = 0; j < s->nev; j++) {                           \
				int64_t a_ = co ? co[idx[j]] : idx[j] * per;             \
				int64_t len_ = off[j + 1] - off[j];                      \
				T *w_ = d_ + off[j];                                     \
				if (len_ <= GATHER_RUN && a_ + GATHER_RUN <= nv)         \
					RUN(w_, x_ + a_);                                \
				else                                                     \
					for (int64_t i = 0; i < len_; i++)               \
						w_[i] = (T)x_[a_ + i];                   \
			}                                                                \
	} while (0)
	if (n->type == QL_BOOL)
		GATHER(uint8_t, uint8_t, run_u8);
	else if (f32) /* floats kept as floats */
		GATHER(float, float, run_f2f);
	else if (n->type == QL_FLOAT && c->type == ROOTIO_F32)
		GATHER(double, float, run_f2d);
	else if (n->type == QL_FLOAT)
		GATHER(double, double, run_d2d);
	else
		switch (c->type) {
		case ROOTIO_BOOL:
		case ROOTIO_U8: GATHER(int64_t, uint8_t, run_u8i); break;
		case ROOTIO_I8: GATHER(int64_t, int8_t, run_i8i); break;
		case ROOTIO_I16: GATHER(int64_t, int16_t, run_i16i); break;
		case ROOTIO_U16: GATHER(int64_t, uint16_t, run_u16i); break;
		case ROOTIO_I32: GATHER(int64_t, int32_t, run_i32i); break;
		case ROOTIO_U32: GATHER(int64_t, uint32_t, run_u32i); break;
		default: GATHER(int64_t, int64_t, run_i64i); break;
		}
#undef GATHER
}

int eval_load_column(struct eval_state *s, const struct ql_node *n, struct val *v,
		     const struct rootio_column *c)
{
	v->t = n->type;
	v->jagged = n->jagged;
	v->list = n->list;
	v->has_valid = false;
	v->is_const = false;
	if (c->nentries != s->orig) {
		s->why = "a column holds a different number of entries than the batch";
		return -EINVAL;
	}
	/* The column must hold what its offsets (or its entries) say. */
	if (n->jagged && c->offsets ? (c->offsets[0] != 0 || (size_t)c->offsets[c->nentries] != c->nvalues)
	    : n->jagged ? (c->nentries && c->nvalues % (size_t)c->nentries)
			: c->nvalues != (size_t)c->nentries) {
		s->why = "a column's values do not match its entries";
		return -EINVAL;
	}
	size_t k = s->have_idx ? 0 : c->nvalues;
	const int64_t *off = NULL;
	if (n->jagged) {
		int L = n->list;
		size_t ob = ((size_t)s->nev + 1) * 8;
		if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], ob))
			return -ENOMEM;
		if (c->offsets && !s->have_idx) {
			/* No event cut: the column's own offsets, checked above to
			 * start at 0, are the list's; no copy in between. */
			off = c->offsets;
		} else {
			if (eval_reserve(&s->scratch[0], &s->scratch_cap[0], ob))
				return -ENOMEM;
			int64_t *own = s->scratch[0];
			column_offsets(s, c, own);
			off = own;
		}
		if (!s->list_ready[L]) {
			memcpy(s->lists[L], off, ob);
			s->list_ready[L] = true;
		} else if (memcmp(s->lists[L], off, ob)) {
			s->why = "a list's lengths differ from those of its counter";
			return -EINVAL;
		}
		k = (size_t)off[s->nev];
	} else if (s->have_idx) {
		k = (size_t)s->nev;
	}
	v->n = k;
	v->f32 = NULL;
	v->no_f64 = false;
	if (c->type == ROOTIO_F32 && n->type == QL_FLOAT && !s->have_idx) {
		/* The floats as read, for the uses that take them; widened to
		 * doubles only when some use needs those. */
		v->f32 = c->values;
		if (eval_f32_only(s, n->id)) {
			v->no_f64 = true;
			return 0;
		}
	} else if (c->type == ROOTIO_F32 && n->type == QL_FLOAT && eval_f32_only(s, n->id)) {
		/* Cut: the current events' floats, gathered as floats. */
		size_t room = k + (n->jagged ? GATHER_RUN : 1);
		if (eval_reserve((void **)&v->fbuf, &v->fcap, room * sizeof(float)))
			return -ENOMEM;
		gather_values(s, c, n, v->fbuf, off, true);
		v->f32 = v->fbuf;
		v->no_f64 = true;
		return 0;
	}
	/* Types kept as read are borrowed, not copied, when no event was cut. */
	if (!s->have_idx &&
	    ((c->type == ROOTIO_F64 && n->type == QL_FLOAT) ||
	     ((c->type == ROOTIO_I64 || c->type == ROOTIO_U64) && n->type == QL_INT) ||
	     (c->type == ROOTIO_BOOL && n->type == QL_BOOL))) {
		if (!v->borrowed)
			free(v->data);
		v->data = c->values;
		v->cap = 0;
		v->borrowed = true;
		return 0;
	}
	if (v->borrowed) {
		v->data = NULL;
		v->cap = 0;
		v->borrowed = false;
	}
	/* Room for the fixed-length copies of gather_values(). */
	size_t room = k + (n->jagged && s->have_idx ? GATHER_RUN : 1);
	if (eval_reserve(&v->data, &v->cap, room * (n->type == QL_BOOL ? 1 : 8)))
		return -ENOMEM;
	if (!s->have_idx) {
		convert_values(c, n->type, v->data, 0, 0, k);
		return 0;
	}
	gather_values(s, c, n, v->data, off, false);
	return 0;
}
