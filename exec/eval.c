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

/* Post-order: arguments first; defines and repeated branches share one node. */
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
	return add_node(b, n);
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

static struct hist *make_hist(const struct ql_hist *h)
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
	s->sel = calloc((size_t)p->nfilters + 1, sizeof(*s->sel));
	bool ok = s->vals && s->lists && s->list_cap && s->list_ready && s->hists && s->passed && s->sel;
	for (int i = 0; ok && i < p->nhists; i++)
		ok = (s->hists[i] = make_hist(p->hists[i])) != NULL;
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
	for (int i = 0; s->sel && i <= p->nfilters; i++)
		free(s->sel[i]);
	for (int i = 0; i < EVAL_SCRATCH; i++)
		free(s->scratch[i]);
	for (int i = 0; i < 3; i++)
		free(s->fill[i]);
	free(s->vals);
	free(s->lists);
	free(s->list_cap);
	free(s->list_ready);
	free(s->hists);
	free(s->passed);
	free(s->sel);
	free(s);
}

/* ---- loading columns ---- */

static int load_column(struct eval_state *s, const struct ql_node *n, struct val *v,
		       const struct rootio_column *c)
{
	v->t = n->type;
	v->jagged = n->jagged;
	v->list = n->list;
	v->has_valid = false;
	size_t k = c->nvalues;
	if (n->jagged) {
		int L = n->list;
		const struct ql_column *unused = NULL;
		(void)unused;
		if (!s->list_ready[L]) {
			if (eval_reserve((void **)&s->lists[L], &s->list_cap[L], ((size_t)s->nev + 1) * 8))
				return -ENOMEM;
			if (c->offsets) {
				memcpy(s->lists[L], c->offsets, ((size_t)s->nev + 1) * 8);
			} else { /* a fixed-size array */
				int64_t per = s->nev ? (int64_t)(k / (size_t)s->nev) : 0;
				for (int64_t e = 0; e <= s->nev; e++)
					s->lists[L][e] = e * per;
			}
			s->list_ready[L] = true;
		} else if ((size_t)s->lists[L][s->nev] != k ||
			   (c->offsets && memcmp(s->lists[L], c->offsets, ((size_t)s->nev + 1) * 8))) {
			s->why = "a list's lengths differ from those of its counter";
			return -EINVAL;
		}
	} else if (k != (size_t)s->nev) {
		s->why = "a column holds a different number of entries than the batch";
		return -EINVAL;
	}
	v->n = k;
	/* Types the evaluator keeps as they are read are borrowed, not copied. */
	if ((c->type == ROOTIO_F64 && n->type == QL_FLOAT) ||
	    ((c->type == ROOTIO_I64 || c->type == ROOTIO_U64) && n->type == QL_INT) ||
	    (c->type == ROOTIO_BOOL && n->type == QL_BOOL)) {
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
	if (eval_reserve(&v->data, &v->cap, (k + 1) * 8))
		return -ENOMEM;
	const void *src = c->values;
	if (n->type == QL_FLOAT) {
		double *o = v->data;
		if (c->type == ROOTIO_F32)
			for (size_t i = 0; i < k; i++)
				o[i] = ((const float *)src)[i];
		else
			return -EINVAL;
		return 0;
	}
	int64_t *o = v->data;
	switch (c->type) {
	case ROOTIO_BOOL:
	case ROOTIO_U8: for (size_t i = 0; i < k; i++) o[i] = ((const uint8_t *)src)[i]; break;
	case ROOTIO_I8: for (size_t i = 0; i < k; i++) o[i] = ((const int8_t *)src)[i]; break;
	case ROOTIO_I16: for (size_t i = 0; i < k; i++) o[i] = ((const int16_t *)src)[i]; break;
	case ROOTIO_U16: for (size_t i = 0; i < k; i++) o[i] = ((const uint16_t *)src)[i]; break;
	case ROOTIO_I32: for (size_t i = 0; i < k; i++) o[i] = ((const int32_t *)src)[i]; break;
	case ROOTIO_U32: for (size_t i = 0; i < k; i++) o[i] = ((const uint32_t *)src)[i]; break;
	default: return -EINVAL;
	}
	return 0;
}

/* ---- filling ---- */

static int fill_hist(struct eval_state *s, const struct ql_hist *h, struct hist *out)
{
	const uint8_t *sel = s->sel[h->nfilters];
	struct val *v[3] = {eval_arg(s, h->expr[0]), h->ndim == 2 ? eval_arg(s, h->expr[1]) : NULL,
			    h->weight ? eval_arg(s, h->weight) : NULL};
	int L = -1;
	for (int i = 0; i < 3; i++)
		if (v[i] && v[i]->jagged)
			L = v[i]->list;
	const double *d[3] = {0};
	for (int i = 0; i < 3; i++)
		if (v[i] && !(d[i] = eval_as_f64(s, v[i], L, i)))
			return -ENOMEM;
	size_t total = L >= 0 ? eval_list_size(s, L) : (size_t)s->nev;
	for (int i = 0; i < 3; i++)
		if (v[i] && eval_reserve((void **)&s->fill[i], &s->fill_cap[i], (total + 1) * 8))
			return -ENOMEM;
	const int64_t *off = L >= 0 ? s->lists[L] : NULL;
	size_t k = 0;
	for (int64_t e = 0; e < s->nev; e++) {
		if (!sel[e])
			continue;
		bool ok = true;
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
	if (h->ndim == 1)
		hist_fill1(out, s->fill[0], v[2] ? s->fill[2] : NULL, k);
	else
		hist_fill2(out, s->fill[0], s->fill[1], v[2] ? s->fill[2] : NULL, k);
	return 0;
}

/* ---- running ---- */

int eval_run(struct eval_state *s, int64_t nevents, const struct rootio_column *const *cols,
	     const char **why)
{
	const struct eval_prog *p = s->p;
	s->nev = nevents;
	s->why = "out of memory";
	for (int i = 0; i < p->nlists; i++)
		s->list_ready[i] = false;
	int rc = 0;
	for (int i = 0; i < p->nnodes && !rc; i++) {
		const struct ql_node *n = p->nodes[i];
		int in = p->input_of[i];
		rc = in >= 0 ? load_column(s, n, &s->vals[i], cols[in]) : eval_node(s, n, &s->vals[i]);
	}
	/* Cumulative selections, filter by filter. */
	size_t need = (size_t)nevents + 1;
	for (int f = 0; f <= p->nfilters && !rc; f++) {
		if (need > s->sel_cap) {
			for (int g = 0; g <= p->nfilters; g++) {
				uint8_t *x = realloc(s->sel[g], need);
				if (!x) {
					rc = -ENOMEM;
					break;
				}
				s->sel[g] = x;
			}
			if (rc)
				break;
			s->sel_cap = need;
		}
		uint8_t *sel = s->sel[f];
		if (f == 0) {
			memset(sel, 1, (size_t)nevents);
			continue;
		}
		const struct val *v = eval_arg(s, p->filters[f - 1]->expr);
		const uint8_t *prev = s->sel[f - 1], *pass = v->data;
		int64_t c = 0;
		for (int64_t e = 0; e < nevents; e++) {
			sel[e] = prev[e] & pass[e] & (!v->has_valid || v->valid[e]);
			c += sel[e];
		}
		s->passed[f - 1] += c;
	}
	for (int h = 0; h < p->nhists && !rc; h++)
		rc = fill_hist(s, p->hists[h], s->hists[h]);
	if (rc) {
		if (why)
			*why = s->why;
		return rc;
	}
	s->events += nevents;
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
