/* eval.c — compiling a checked query into a program, running it on a
 * batch, filling histograms and the cutflow, merging thread states. */
#include "eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- compiling ---- */

struct builder {
	struct eval_prog *p;
	int cap;
	int *col_node;   /* per schema column: node id loading it, or -1 */
	int ncols;
	int *table;      /* open addressing: node id + 1 by hash, 0 empty */
	size_t tcap;     /* a power of two, at least twice the nodes */
};

static void clear_ids(struct ql_node *n)
{
	n->id = -1;
	for (int i = 0; i < n->nargs; i++)
		clear_ids(n->args[i]);
}

static int add_node(struct builder *b, struct ql_node *n)
{
	struct eval_prog *p = b->p;
	if (p->nnodes == b->cap) {
		int cap = b->cap ? 2 * b->cap : 64;
		struct ql_node **v = realloc(p->nodes, (size_t)cap * sizeof(*v));
		int *in = realloc(p->input_of, (size_t)cap * sizeof(*in));
		if (v)
			p->nodes = v;
		if (in)
			p->input_of = in;
		if (!v || !in)
			return -ENOMEM;
		b->cap = cap;
	}
	n->id = p->nnodes;
	p->input_of[p->nnodes] = -1;
	p->nodes[p->nnodes++] = n;
	return 0;
}

/* Two nodes compute the same values when they have the same kind,
 * operator, literal and arguments. */
static bool same(const struct ql_node *a, const struct ql_node *b)
{
	if (a->kind != b->kind || a->op != b->op || a->nargs != b->nargs ||
	    a->is_mask != b->is_mask || a->type != b->type || a->ival != b->ival ||
	    memcmp(&a->fval, &b->fval, sizeof(a->fval)))
		return false;
	for (int i = 0; i < a->nargs; i++)
		if (a->args[i]->id != b->args[i]->id)
			return false;
	return true;
}

static size_t hash_node(const struct ql_node *n)
{
	uint64_t h = 1469598103934665603ull, bits;
	memcpy(&bits, &n->fval, sizeof(bits));
	uint64_t v[6] = {(uint64_t)n->kind, (uint64_t)n->op, (uint64_t)n->type,
			 (uint64_t)n->ival, bits, (uint64_t)n->is_mask};
	for (int i = 0; i < 6 + n->nargs; i++) {
		h ^= i < 6 ? v[i] : (uint64_t)n->args[i - 6]->id;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ h >> 29);
}

/* Post-order: arguments first; defines, repeated branches and repeated
 * expressions share one node. */
static int visit(struct builder *b, struct ql_node *n)
{
	if (n->id >= 0)
		return 0;
	if (n->kind == QN_NAME && n->define) {
		int rc = visit(b, n->define->expr);
		n->id = n->define->expr->id;
		return rc;
	}
	if (n->kind == QN_NAME) {
		if (n->column < 0 || n->column >= b->ncols)
			return -EINVAL;
		if (b->col_node[n->column] >= 0) {
			n->id = b->col_node[n->column];
			return 0;
		}
		if (add_node(b, n))
			return -ENOMEM;
		struct eval_prog *p = b->p;
		int *in = realloc(p->inputs, (size_t)(p->ninputs + 1) * sizeof(*in));
		if (!in)
			return -ENOMEM;
		p->inputs = in;
		p->input_of[n->id] = p->ninputs;
		p->inputs[p->ninputs++] = n->column;
		b->col_node[n->column] = n->id;
		return 0;
	}
	for (int i = 0; i < n->nargs; i++) {
		int rc = visit(b, n->args[i]);
		if (rc)
			return rc;
	}
	/* Grow the table to keep it at most half full. */
	if ((size_t)b->p->nnodes * 2 + 2 > b->tcap) {
		size_t cap = b->tcap ? b->tcap * 2 : 256;
		int *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (int i = 0; i < b->p->nnodes; i++) {
			size_t h = hash_node(b->p->nodes[i]) & (cap - 1);
			while (t[h])
				h = (h + 1) & (cap - 1);
			t[h] = i + 1;
		}
		free(b->table);
		b->table = t;
		b->tcap = cap;
	}
	size_t h = hash_node(n) & (b->tcap - 1);
	for (; b->table[h]; h = (h + 1) & (b->tcap - 1))
		if (same(b->p->nodes[b->table[h] - 1], n)) {
			n->id = b->table[h] - 1;
			return 0;
		}
	if (add_node(b, n))
		return -ENOMEM;
	b->table[h] = n->id + 1;
	return 0;
}

/* Mark the nodes under n as needed in phase k. */
static void mark(struct eval_prog *p, const struct ql_node *n, int k)
{
	int i = n->id;
	if (p->phase[i] <= k && p->last[i] >= k)
		return;
	if (k < p->phase[i])
		p->phase[i] = k;
	if (k > p->last[i])
		p->last[i] = k;
	const struct ql_node *c = p->nodes[i];
	for (int a = 0; a < c->nargs; a++)
		mark(p, c->args[a], k);
}

static void renumber(struct ql_node *n, const int *map)
{
	if (!n)
		return;
	if (n->id >= 0)
		n->id = map[n->id];
	for (int i = 0; i < n->nargs; i++)
		renumber(n->args[i], map);
}

/* Order the nodes by phase (a stable sort keeps arguments first): a node
 * is computed only for the events that passed the filters before its
 * phase, after the batch has been cut down to them. */
static int order_by_phase(struct eval_prog *p)
{
	int n = p->nnodes, F = p->nfilters;
	p->phase = malloc(((size_t)n + 1) * sizeof(int));
	p->last = malloc(((size_t)n + 1) * sizeof(int));
	int *map = malloc(((size_t)n + 1) * sizeof(int));
	struct ql_node **nodes = malloc(((size_t)n + 1) * sizeof(*nodes));
	int *input_of = malloc(((size_t)n + 1) * sizeof(int));
	int *ph = malloc(((size_t)n + 1) * sizeof(int)), *la = malloc(((size_t)n + 1) * sizeof(int));
	if (!p->phase || !p->last || !map || !nodes || !input_of || !ph || !la) {
		free(map), free(nodes), free(input_of), free(ph), free(la);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		p->phase[i] = F + 1;
		p->last[i] = -1;
	}
	for (int f = 0; f < F; f++)
		mark(p, p->filters[f]->expr, f);
	for (int h = 0; h < p->nhists; h++) {
		const struct ql_hist *hs = p->hists[h];
		for (int d = 0; d < hs->ndim; d++)
			mark(p, hs->expr[d], hs->nfilters);
		if (hs->weight)
			mark(p, hs->weight, hs->nfilters);
	}
	int k = 0;
	for (int phase = 0; phase <= F; phase++)
		for (int i = 0; i < n; i++)
			if (p->phase[i] == phase) {
				map[i] = k;
				nodes[k] = p->nodes[i];
				input_of[k] = p->input_of[i];
				ph[k] = p->phase[i];
				la[k++] = p->last[i];
			}
	/* Every node of every statement once (trees share no node). */
	const struct ql_query *q = p->q;
	for (int i = 0; i < q->nstmts; i++) {
		struct ql_stmt *st = &q->stmts[i];
		if (st->kind == QS_DEFINE)
			renumber(st->u.define.expr, map);
		else if (st->kind == QS_FILTER)
			renumber(st->u.filter.expr, map);
		else {
			renumber(st->u.hist.expr[0], map);
			renumber(st->u.hist.expr[1], map);
			renumber(st->u.hist.weight, map);
		}
	}
	free(map);
	free(p->nodes);
	free(p->input_of);
	free(p->phase);
	free(p->last);
	p->nodes = nodes;
	p->input_of = input_of;
	p->phase = ph;
	p->last = la;
	p->nnodes = k;
	return 0;
}

static int max_column(struct ql_node *n)
{
	int m = n->column;
	for (int i = 0; i < n->nargs; i++) {
		int k = max_column(n->args[i]);
		m = k > m ? k : m;
	}
	return m;
}

int eval_compile(const struct ql_query *cq, struct eval_prog **out)
{
	struct ql_query *q = (struct ql_query *)cq; /* node ids are the compiler's to set */
	if (!q->checked)
		return -EINVAL;
	struct eval_prog *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->q = q;
	p->nlists = q->nlists;
	p->filters = calloc((size_t)q->nfilters + 1, sizeof(*p->filters));
	p->hists = calloc((size_t)q->nhists + 1, sizeof(*p->hists));
	struct builder b = {.p = p};
	int rc = p->filters && p->hists ? 0 : -ENOMEM;
	for (int i = 0; i < q->nstmts && !rc; i++) {
		struct ql_stmt *s = &q->stmts[i];
		struct ql_node *roots[3] = {0};
		if (s->kind == QS_DEFINE)
			roots[0] = s->u.define.expr;
		else if (s->kind == QS_FILTER)
			roots[0] = s->u.filter.expr;
		else {
			roots[0] = s->u.hist.expr[0];
			roots[1] = s->u.hist.expr[1];
			roots[2] = s->u.hist.weight;
		}
		for (int k = 0; k < 3; k++)
			if (roots[k]) {
				clear_ids(roots[k]);
				int m = max_column(roots[k]);
				b.ncols = m + 1 > b.ncols ? m + 1 : b.ncols;
			}
	}
	b.col_node = malloc(((size_t)b.ncols + 1) * sizeof(int));
	if (!b.col_node)
		rc = -ENOMEM;
	for (int i = 0; i < b.ncols && !rc; i++)
		b.col_node[i] = -1;
	/* Only what filters and histograms use is computed. */
	for (int i = 0; i < q->nstmts && !rc; i++) {
		struct ql_stmt *s = &q->stmts[i];
		if (s->kind == QS_FILTER) {
			p->filters[p->nfilters++] = &s->u.filter;
			rc = visit(&b, s->u.filter.expr);
		} else if (s->kind == QS_HIST) {
			struct ql_hist *h = &s->u.hist;
			p->hists[p->nhists++] = h;
			for (int k = 0; k < h->ndim && !rc; k++)
				rc = visit(&b, h->expr[k]);
			if (h->weight && !rc)
				rc = visit(&b, h->weight);
		}
	}
	free(b.col_node);
	free(b.table);
	if (!rc)
		rc = order_by_phase(p);
	/* A branch read as a value that is also the counter of a list read
	 * here must agree with that list's lengths. */
	if (!rc && !(p->counts = malloc(((size_t)p->nnodes + 1) * sizeof(int))))
		rc = -ENOMEM;
	for (int i = 0; !rc && i < p->nnodes; i++) {
		const struct ql_node *n = p->nodes[i];
		p->counts[i] = -1;
		if (p->input_of[i] >= 0 && !n->jagged && n->type == QL_INT)
			for (int l = 0; l < q->nlists; l++)
				if (!strcmp(q->lists[l], n->name)) {
					p->counts[i] = l;
					p->last[i] = p->nfilters; /* kept to compare */
				}
	}
	if (rc) {
		eval_prog_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void eval_prog_free(struct eval_prog *p)
{
	if (!p)
		return;
	free(p->nodes);
	free(p->inputs);
	free(p->input_of);
	free(p->phase);
	free(p->last);
	free(p->counts);
	free(p->filters);
	free(p->hists);
	free(p);
}

size_t eval_ninputs(const struct eval_prog *p)
{
	return (size_t)p->ninputs;
}

int eval_input_column(const struct eval_prog *p, size_t i)
{
	return i < (size_t)p->ninputs ? p->inputs[i] : -1;
}

const char *eval_filter_name(const struct eval_prog *p, size_t i)
{
	return i < (size_t)p->nfilters ? p->filters[i]->name : "";
}

/* ---- state ---- */

struct hist *eval_hist_new(const struct ql_hist *h)
{
	struct hist_def d = {.name = h->name, .title = h->title, .ndim = h->ndim,
			     .weighted = h->weight != NULL};
	for (int a = 0; a < h->ndim; a++)
		d.axes[a] = (struct hist_axis_def){.nbins = h->axes[a].nbins, .lo = h->axes[a].lo,
						   .hi = h->axes[a].hi, .edges = h->axes[a].edges,
						   .label = h->axes[a].label};
	struct hist *out = NULL;
	return hist_new(&d, &out, NULL) ? NULL : out;
}

int eval_state_new(const struct eval_prog *p, struct eval_state **out)
{
	struct eval_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->p = p;
	size_t nl = (size_t)p->nlists + 1;
	s->vals = calloc((size_t)p->nnodes + 1, sizeof(*s->vals));
	s->lists = calloc(nl, sizeof(*s->lists));
	s->list_cap = calloc(nl, sizeof(*s->list_cap));
	s->list_ready = calloc(nl, sizeof(*s->list_ready));
	s->hists = calloc((size_t)p->nhists + 1, sizeof(*s->hists));
	s->passed = calloc((size_t)p->nfilters + 1, sizeof(*s->passed));
	s->checked = calloc((size_t)p->nnodes + 1, sizeof(*s->checked));
	bool ok = s->vals && s->lists && s->list_cap && s->list_ready && s->hists && s->passed &&
		  s->checked;
	for (int i = 0; ok && i < p->nhists; i++)
		ok = (s->hists[i] = eval_hist_new(p->hists[i])) != NULL;
	if (!ok) {
		eval_state_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void eval_state_free(struct eval_state *s)
{
	if (!s)
		return;
	const struct eval_prog *p = s->p;
	for (int i = 0; s->vals && i < p->nnodes; i++) {
		if (!s->vals[i].borrowed)
			free(s->vals[i].data);
		free(s->vals[i].valid);
	}
	for (int i = 0; s->lists && i < p->nlists; i++)
		free(s->lists[i]);
	for (int i = 0; s->hists && i < p->nhists; i++)
		hist_free(s->hists[i]);
	for (int i = 0; i < EVAL_SCRATCH; i++)
		free(s->scratch[i]);
	for (int i = 0; i < 3; i++)
		free(s->fill[i]);
	free(s->idx);
	free(s->mask);
	free(s->checked);
	free(s->vals);
	free(s->lists);
	free(s->list_cap);
	free(s->list_ready);
	free(s->hists);
	free(s->passed);
	free(s);
}

/* ---- loading columns ---- */

/* Convert k values of c starting at value `from` into o[at...]. */
static void convert_values(const struct rootio_column *c, enum ql_type t, void *o, size_t at,
			   size_t from, size_t k)
{
	const void *src = c->values;
	if (t == QL_BOOL) {
		memcpy((uint8_t *)o + at, (const uint8_t *)src + from, k);
		return;
	}
	if (t == QL_FLOAT) {
		double *d = (double *)o + at;
		if (c->type == ROOTIO_F32)
			for (size_t i = 0; i < k; i++)
				d[i] = ((const float *)src)[from + i];
		else
			memcpy(d, (const double *)src + from, k * 8);
		return;
	}
	int64_t *d = (int64_t *)o + at;
	switch (c->type) {
	case ROOTIO_BOOL:
	case ROOTIO_U8: for (size_t i = 0; i < k; i++) d[i] = ((const uint8_t *)src)[from + i]; break;
	case ROOTIO_I8: for (size_t i = 0; i < k; i++) d[i] = ((const int8_t *)src)[from + i]; break;
	case ROOTIO_I16: for (size_t i = 0; i < k; i++) d[i] = ((const int16_t *)src)[from + i]; break;
	case ROOTIO_U16: for (size_t i = 0; i < k; i++) d[i] = ((const uint16_t *)src)[from + i]; break;
	case ROOTIO_I32: for (size_t i = 0; i < k; i++) d[i] = ((const int32_t *)src)[from + i]; break;
	case ROOTIO_U32: for (size_t i = 0; i < k; i++) d[i] = ((const uint32_t *)src)[from + i]; break;
	default: memcpy(d, (const int64_t *)src + from, k * 8); break;
	}
}

/* The offsets of column c for the current events (gathered through idx). */
static int column_offsets(struct eval_state *s, const struct rootio_column *c, int64_t *o)
{
	int64_t per = 0;
	if (!c->offsets)
		per = c->nentries ? (int64_t)(c->nvalues / (size_t)c->nentries) : 0;
	o[0] = 0;
	for (int64_t j = 0; j < s->nev; j++) {
		int64_t e = s->have_idx ? s->idx[j] : j;
		int64_t len = c->offsets ? c->offsets[e + 1] - c->offsets[e] : per;
		o[j + 1] = o[j] + len;
	}
	return 0;
}

/* Copy the current events' values of c (through idx) into o, converted:
 * per event for flat columns, per range of elements for lists (off: the
 * gathered offsets).  Loops by source type, with no call per event. */
static void gather_values(struct eval_state *s, const struct rootio_column *c,
			  const struct ql_node *n, void *o, const int64_t *off)
{
	const int64_t *idx = s->idx, *co = c->offsets;
	int64_t per = !co && c->nentries ? (int64_t)(c->nvalues / (size_t)c->nentries) : 1;
#define GATHER(T, S)                                                                     \
	do {                                                                             \
		T *d_ = o;                                                               \
		const S *x_ = c->values;                                                 \
		if (!n->jagged)                                                          \
			for (int64_t j = 0; j < s->nev; j++)                             \
				d_[j] = (T)x_[idx[j]];                                   \
		else                                                                     \
			for (int64_t j = 0; j < s->nev; j++) {                           \
				int64_t a_ = co ? co[idx[j]] : idx[j] * per;             \
				T *w_ = d_ + off[j];                                     \
				for (int64_t i = 0; i < off[j + 1] - off[j]; i++)        \
					w_[i] = (T)x_[a_ + i];                           \
			}                                                                \
	} while (0)
	if (n->type == QL_BOOL)
		GATHER(uint8_t, uint8_t);
	else if (n->type == QL_FLOAT && c->type == ROOTIO_F32)
		GATHER(double, float);
	else if (n->type == QL_FLOAT)
		GATHER(double, double);
	else
		switch (c->type) {
		case ROOTIO_BOOL:
		case ROOTIO_U8: GATHER(int64_t, uint8_t); break;
		case ROOTIO_I8: GATHER(int64_t, int8_t); break;
		case ROOTIO_I16: GATHER(int64_t, int16_t); break;
		case ROOTIO_U16: GATHER(int64_t, uint16_t); break;
		case ROOTIO_I32: GATHER(int64_t, int32_t); break;
		case ROOTIO_U32: GATHER(int64_t, uint32_t); break;
		default: GATHER(int64_t, int64_t); break;
		}
#undef GATHER
}

static int load_column(struct eval_state *s, const struct ql_node *n, struct val *v,
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
	int64_t *off = NULL;
	if (n->jagged) {
		int L = n->list;
		if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], ((size_t)s->nev + 1) * 8) ||
		    eval_reserve(&s->scratch[0], &s->scratch_cap[0], ((size_t)s->nev + 1) * 8))
			return -ENOMEM;
		off = s->scratch[0];
		column_offsets(s, c, off);
		if (!s->list_ready[L]) {
			memcpy(s->lists[L], off, ((size_t)s->nev + 1) * 8);
			s->list_ready[L] = true;
		} else if (memcmp(s->lists[L], off, ((size_t)s->nev + 1) * 8)) {
			s->why = "a list's lengths differ from those of its counter";
			return -EINVAL;
		}
		k = (size_t)off[s->nev];
	} else if (s->have_idx) {
		k = (size_t)s->nev;
	}
	v->n = k;
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
	if (eval_reserve(&v->data, &v->cap, (k + 1) * (n->type == QL_BOOL ? 1 : 8)))
		return -ENOMEM;
	if (!s->have_idx) {
		convert_values(c, n->type, v->data, 0, 0, k);
		return 0;
	}
	gather_values(s, c, n, v->data, off);
	return 0;
}

/* ---- cutting the batch down to the events that pass a filter ---- */

static int compact_val(struct eval_state *s, struct val *v, const uint8_t *pass)
{
	size_t w = 0;
	if (v->borrowed) { /* the caller's column is read-only: take a copy */
		size_t bytes = v->n * (v->t == QL_BOOL ? 1 : 8);
		void *own = malloc(bytes + 8);
		if (!own)
			return -ENOMEM;
		memcpy(own, v->data, bytes);
		v->data = own;
		v->cap = bytes + 8;
		v->borrowed = false;
	}
	if (!v->jagged) {
		/* Branch-free: write every event, advance past the kept ones. */
		if (v->t == QL_BOOL) {
			uint8_t *d = v->data;
			for (int64_t j = 0; j < s->nev; j++) {
				d[w] = d[j];
				w += pass[j];
			}
		} else {
			uint64_t *d = v->data;
			for (int64_t j = 0; j < s->nev; j++) {
				d[w] = d[j];
				w += pass[j];
			}
		}
	} else {
		const int64_t *off = s->lists[v->list];
		size_t size = v->t == QL_BOOL ? 1 : 8;
		char *d = v->data;
		for (int64_t j = 0; j < s->nev; j++)
			if (pass[j]) {
				size_t len = (size_t)(off[j + 1] - off[j]);
				if (size == 8)
					for (size_t i = 0; i < len; i++)
						((uint64_t *)d)[w + i] = ((uint64_t *)d)[(size_t)off[j] + i];
				else
					memmove(d + w, d + off[j], len);
				w += len;
			}
	}
	v->n = w;
	if (v->has_valid) {
		size_t m = 0;
		for (int64_t j = 0; j < s->nev; j++) {
			v->valid[m] = v->valid[j];
			m += pass[j];
		}
	}
	return 0;
}

static void compact_list(struct eval_state *s, int64_t *off, const uint8_t *pass)
{
	int64_t m = 0, at = 0;
	for (int64_t j = 0; j < s->nev; j++)
		if (pass[j]) {
			int64_t len = off[j + 1] - off[j];
			off[m++] = at;
			at += len;
		}
	off[m] = at;
}

/* Keep only the events with pass[j] in every value still needed after
 * phase k, every list and the event index. */
static int compact(struct eval_state *s, int k, const uint8_t *pass, int64_t kept)
{
	const struct eval_prog *p = s->p;
	for (int i = 0; i < p->nnodes && p->phase[i] <= k; i++)
		if (p->last[i] > k && compact_val(s, &s->vals[i], pass))
			return -ENOMEM;
	for (int l = 0; l < p->nlists; l++)
		if (s->list_ready[l])
			compact_list(s, s->lists[l], pass);
	if (!s->have_idx) {
		if (eval_reserve((void **)&s->idx, &s->idx_cap, ((size_t)s->nev + 1) * 8))
			return -ENOMEM;
		for (int64_t j = 0; j < s->nev; j++)
			s->idx[j] = j;
		s->have_idx = true;
	}
	int64_t m = 0;
	for (int64_t j = 0; j < s->nev; j++) {
		s->idx[m] = s->idx[j];
		m += pass[j];
	}
	s->nev = kept;
	return 0;
}

/* ---- filling ---- */

static int fill_hist(struct eval_state *s, const struct ql_hist *h, struct hist *out)
{
	struct val *v[3] = {eval_arg(s, h->expr[0]), h->ndim == 2 ? eval_arg(s, h->expr[1]) : NULL,
			    h->weight ? eval_arg(s, h->weight) : NULL};
	int L = -1;
	bool valid = s->has_mask;
	for (int i = 0; i < 3; i++)
		if (v[i]) {
			if (v[i]->jagged)
				L = v[i]->list;
			valid |= v[i]->has_valid;
		}
	const double *d[3] = {0};
	for (int i = 0; i < 3; i++)
		if (v[i] && !(d[i] = eval_as_f64(s, v[i], L, i)))
			return -ENOMEM;
	size_t total = L >= 0 ? eval_list_size(s, L) : (size_t)s->nev;
	if (valid) { /* gather the events where every value is present */
		for (int i = 0; i < 3; i++)
			if (v[i] && eval_reserve((void **)&s->fill[i], &s->fill_cap[i], (total + 1) * 8))
				return -ENOMEM;
		const int64_t *off = L >= 0 ? s->lists[L] : NULL;
		size_t k = 0;
		for (int64_t e = 0; e < s->nev; e++) {
			bool ok = !s->has_mask || s->mask[e];
			for (int i = 0; i < 3; i++)
				if (v[i] && v[i]->has_valid && !v[i]->valid[e])
					ok = false;
			if (!ok)
				continue;
			size_t lo = off ? (size_t)off[e] : (size_t)e, hi = off ? (size_t)off[e + 1] : lo + 1;
			for (int i = 0; i < 3; i++)
				if (v[i])
					memcpy(s->fill[i] + k, d[i] + lo, (hi - lo) * sizeof(double));
			k += hi - lo;
		}
		for (int i = 0; i < 3; i++)
			d[i] = s->fill[i];
		total = k;
	}
	if (h->ndim == 1)
		hist_fill1(out, d[0], v[2] ? d[2] : NULL, total);
	else
		hist_fill2(out, d[0], d[1], v[2] ? d[2] : NULL, total);
	return 0;
}

/* ---- running ---- */

/* Counters read so far against the lengths of their lists. */
static int check_counters(struct eval_state *s, int k)
{
	const struct eval_prog *p = s->p;
	for (int i = 0; i < p->nnodes && p->phase[i] <= k; i++) {
		int l = p->counts[i];
		if (l < 0 || s->checked[i] || !s->list_ready[l])
			continue;
		const int64_t *v = s->vals[i].data, *off = s->lists[l];
		for (int64_t e = 0; e < s->nev; e++)
			if (v[e] != off[e + 1] - off[e]) {
				s->why = "a list's lengths differ from those of its counter";
				return -EINVAL;
			}
		s->checked[i] = true;
	}
	return 0;
}

int eval_run(struct eval_state *s, int64_t nevents, const struct rootio_column *const *cols,
	     const char **why)
{
	const struct eval_prog *p = s->p;
	s->nev = s->orig = nevents;
	s->have_idx = false;
	s->why = "out of memory";
	for (int i = 0; i < p->nlists; i++)
		s->list_ready[i] = false;
	for (int i = 0; i < p->nnodes; i++)
		s->checked[i] = false;
	s->has_mask = false;
	int rc = 0, i = 0;
	for (int k = 0; k <= p->nfilters && !rc; k++) {
		for (; i < p->nnodes && p->phase[i] == k && !rc; i++) {
			const struct ql_node *n = p->nodes[i];
			int in = p->input_of[i];
			rc = in >= 0 ? load_column(s, n, &s->vals[i], cols[in])
				     : eval_node(s, n, &s->vals[i]);
		}
		if (!rc)
			rc = check_counters(s, k);
		for (int h = 0; h < p->nhists && !rc; h++)
			if (p->hists[h]->nfilters == k)
				rc = fill_hist(s, p->hists[h], s->hists[h]);
		if (rc || k == p->nfilters)
			break;
		/* Filter k: count, then cut the batch down to its events. */
		const struct val *v = eval_arg(s, p->filters[k]->expr);
		if (eval_reserve(&s->scratch[0], &s->scratch_cap[0], (size_t)s->nev + 1)) {
			rc = -ENOMEM;
			break;
		}
		uint8_t *pass = s->scratch[0];
		const uint8_t *val = v->data;
		int64_t kept = 0;
		const uint8_t *m = s->has_mask ? s->mask : NULL;
		if (v->has_valid || m)
			for (int64_t e = 0; e < s->nev; e++)
				kept += pass[e] = (uint8_t)((val[e] != 0) &
							    (!v->has_valid || v->valid[e] != 0) &
							    (!m || m[e]));
		else
			for (int64_t e = 0; e < s->nev; e++)
				kept += pass[e] = val[e] != 0;
		s->passed[k] += kept;
		if (kept == s->nev)
			continue;
		/* Cutting the batch down pays when it drops many events; else the
		 * events that failed are only masked out of later fills. */
		if (2 * kept < s->nev) {
			rc = compact(s, k, pass, kept);
			s->has_mask = false;
		} else if (!eval_reserve((void **)&s->mask, &s->mask_cap, (size_t)s->nev + 1)) {
			memcpy(s->mask, pass, (size_t)s->nev);
			s->has_mask = true;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc) {
		if (why)
			*why = s->why;
		return rc;
	}
	s->events += nevents;
	return 0;
}

int eval_state_split(struct eval_state *s, struct eval_state **out)
{
	struct eval_state *n;
	int rc = eval_state_new(s->p, &n);
	if (rc)
		return rc;
	struct hist **h = n->hists;
	int64_t *passed = n->passed;
	n->hists = s->hists;
	n->passed = s->passed;
	n->events = s->events;
	s->hists = h;
	s->passed = passed;
	s->events = 0;
	*out = n;
	return 0;
}

int eval_state_merge(struct eval_state *dst, const struct eval_state *src)
{
	const struct eval_prog *p = dst->p;
	if (src->p != p)
		return -EINVAL;
	for (int i = 0; i < p->nhists; i++) {
		int rc = hist_merge(dst->hists[i], src->hists[i]);
		if (rc)
			return rc;
	}
	for (int i = 0; i < p->nfilters; i++)
		dst->passed[i] += src->passed[i];
	dst->events += src->events;
	return 0;
}

/* Saved results: "EVS1", counts of filters and histograms, events, the
 * passed counts, then each histogram's contents; little-endian. */
static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#define STATE_MAGIC 0x31535645u /* "EVS1" */

int eval_state_save(const struct eval_state *s, void **out, size_t *len)
{
	const struct eval_prog *p = s->p;
	size_t n = 8 * (4 + (size_t)p->nfilters);
	for (int h = 0; h < p->nhists; h++)
		n += hist_save_size(s->hists[h]);
	unsigned char *b = malloc(n);
	if (!b)
		return -ENOMEM;
	put_u64(b, STATE_MAGIC);
	put_u64(b + 8, (uint64_t)p->nfilters);
	put_u64(b + 16, (uint64_t)p->nhists);
	put_u64(b + 24, (uint64_t)s->events);
	unsigned char *q = b + 32;
	for (int f = 0; f < p->nfilters; f++, q += 8)
		put_u64(q, (uint64_t)s->passed[f]);
	for (int h = 0; h < p->nhists; h++) {
		hist_save(s->hists[h], q);
		q += hist_save_size(s->hists[h]);
	}
	*out = b;
	*len = n;
	return 0;
}

int eval_state_load(struct eval_state *s, const void *data, size_t len)
{
	const struct eval_prog *p = s->p;
	const unsigned char *b = data;
	size_t head = 8 * (4 + (size_t)p->nfilters);
	if (len < 32 || get_u64(b) != STATE_MAGIC || get_u64(b + 8) != (uint64_t)p->nfilters ||
	    get_u64(b + 16) != (uint64_t)p->nhists || len < head)
		return -EINVAL;
	size_t at = head;
	for (int h = 0; h < p->nhists; h++) {
		long used = hist_load(s->hists[h], b + at, len - at);
		if (used < 0)
			return -EINVAL;
		at += (size_t)used;
	}
	if (at != len)
		return -EINVAL;
	s->events = (int64_t)get_u64(b + 24);
	for (int f = 0; f < p->nfilters; f++)
		s->passed[f] = (int64_t)get_u64(b + 32 + 8 * (size_t)f);
	return 0;
}

size_t eval_nhists(const struct eval_state *s)
{
	return (size_t)s->p->nhists;
}

struct hist *eval_hist(const struct eval_state *s, size_t i)
{
	return i < (size_t)s->p->nhists ? s->hists[i] : NULL;
}

size_t eval_nfilters(const struct eval_state *s)
{
	return (size_t)s->p->nfilters;
}

int64_t eval_events(const struct eval_state *s)
{
	return s->events;
}

int64_t eval_passed(const struct eval_state *s, size_t i)
{
	return i < (size_t)s->p->nfilters ? s->passed[i] : 0;
}
