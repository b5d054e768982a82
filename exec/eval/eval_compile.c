/* eval_compile.c — a checked query into a program: its expressions in
 * evaluation order, each computed once (hash-consing), ordered by the
 * filters their events must pass, with the inputs they read. */
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
	if (a->kind != b->kind || a->op != b->op || a->nargs != b->nargs || a->lookup != b->lookup ||
	    a->is_mask != b->is_mask || a->is_gather != b->is_gather || a->type != b->type ||
	    a->ival != b->ival ||
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
	uint64_t v[6] = {(uint64_t)n->kind, (uint64_t)n->op ^ (uint64_t)(uintptr_t)n->lookup,
			 (uint64_t)n->type, (uint64_t)n->ival, bits,
			 (uint64_t)n->is_mask | (uint64_t)n->is_gather << 1};
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
	if (n->kind == QN_NAME && n->column >= 0) {
		if (n->column >= b->ncols)
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

/* Statements share nodes (variations share what they do not vary; a
 * defaults line's weight is every histogram's), so each node is renumbered
 * once: new ids are first written as -2 - id, then made positive. */
static void renumber_mark(struct ql_node *n, const int *map)
{
	if (!n || n->id < 0)
		return;
	int id = map[n->id];
	n->id = id >= 0 ? -2 - id : -1; /* -1: computed nowhere (a region no histogram uses) */
	for (int i = 0; i < n->nargs; i++)
		renumber_mark(n->args[i], map);
}

static void renumber_fix(struct ql_node *n)
{
	if (!n || n->id > -2)
		return;
	n->id = -2 - n->id;
	for (int i = 0; i < n->nargs; i++)
		renumber_fix(n->args[i]);
}

#define MAX_ROOTS (QL_VROOTS * (QL_MAX_VARIES + 1))

/* Every root of statement st: its expressions, and their variations (at
 * most MAX_ROOTS into r). */
static int roots_of(const struct ql_query *q, const struct ql_stmt *st, struct ql_node **r)
{
	int n = 0, V = q->nvaries;
	switch (st->kind) {
	case QS_DEFINE:
		r[n++] = st->u.define.expr;
		break;
	case QS_FILTER:
		r[n++] = st->u.filter.expr;
		for (int v = 0; v < V && st->u.filter.vexpr; v++)
			r[n++] = st->u.filter.vexpr[v];
		break;
	case QS_REGION:
		r[n++] = st->u.region.expr;
		for (int v = 0; v < V && st->u.region.vexpr; v++)
			r[n++] = st->u.region.vexpr[v];
		break;
	case QS_HIST: {
		const struct ql_hist *h = &st->u.hist;
		struct ql_node *k[QL_VROOTS] = {h->expr[0], h->expr[1], h->expr[2], h->weight, h->value};
		for (int i = 0; i < QL_VROOTS; i++)
			r[n++] = k[i];
		for (int i = 0; i < V * QL_VROOTS && h->vroots; i++)
			r[n++] = h->vroots[i];
		break;
	}
	default:
		break;
	}
	return n;
}


/* fn(p, n, k) for every expression n a statement uses and each phase k
 * it is used at: filters at their own, histograms (their regions too)
 * after their filters, the cutflow's regions after the last filter, the
 * event weight at every filter and after the last. */
static void each_root(struct eval_prog *p,
		      void (*fn)(struct eval_prog *p, const struct ql_node *n, int k))
{
	int F = p->nfilters, V = p->nvar - 1;
	for (int f = 0; f < F; f++) {
		fn(p, p->filters[f]->expr, f);
		for (int v = 0; v < V && p->filters[f]->vexpr; v++)
			fn(p, p->filters[f]->vexpr[v], f);
	}
	for (int h = 0; h < p->nhists; h++) {
		const struct ql_hist *hs = p->hists[h];
		const struct ql_node *k[QL_VROOTS] = {hs->expr[0], hs->expr[1], hs->expr[2], hs->weight,
						      hs->value};
		for (int i = 0; i < QL_VROOTS; i++)
			if (k[i])
				fn(p, k[i], hs->nfilters);
		for (int i = 0; i < V * QL_VROOTS && hs->vroots; i++)
			if (hs->vroots[i])
				fn(p, hs->vroots[i], hs->nfilters);
		for (int r = 0; r < hs->nregions; r++) {
			const struct ql_region *rg = p->regions[hs->regions[r]];
			fn(p, rg->expr, hs->nfilters);
			for (int v = 0; v < V && rg->vexpr; v++)
				fn(p, rg->vexpr[v], hs->nfilters);
		}
	}
	for (int r = 0; r < p->nregions; r++)
		fn(p, p->regions[r]->expr, F);
	for (int f = 0; p->weight && f <= F; f++)
		fn(p, p->weight, f);
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
	each_root(p, mark);
	int k = 0;
	for (int i = 0; i < n; i++)
		map[i] = -1;
	for (int phase = 0; phase <= F; phase++)
		for (int i = 0; i < n; i++)
			if (p->phase[i] == phase) {
				map[i] = k;
				nodes[k] = p->nodes[i];
				input_of[k] = p->input_of[i];
				ph[k] = p->phase[i];
				la[k++] = p->last[i];
			}
	/* Every node of every statement once. */
	const struct ql_query *q = p->q;
	struct ql_node **roots = malloc(MAX_ROOTS * sizeof(*roots));
	if (!roots) {
		free(map), free(nodes), free(input_of), free(ph), free(la);
		return -ENOMEM;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < q->nstmts; i++) {
			int nr = roots_of(q, &q->stmts[i], roots);
			for (int r = 0; r < nr; r++)
				if (pass)
					renumber_fix(roots[r]);
				else
					renumber_mark(roots[r], map);
		}
	free(roots);
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

/* Per histogram axis of string categories: the category of each string
 * the query holds, so that filling maps a string's index to a bin. */
static int string_categories(struct eval_prog *p)
{
	const struct ql_query *q = p->q;
	for (int h = 0; h < p->nhists; h++)
		for (int a = 0; a < p->hists[h]->ndim; a++) {
			const struct ql_axis *ax = &p->hists[h]->axes[a];
			if (!ax->is_cat || !ax->cat_str)
				continue;
			if (!p->str_cat &&
			    !(p->str_cat = calloc((size_t)p->nhists * QL_MAX_DIM + 1, sizeof(*p->str_cat))))
				return -ENOMEM;
			int *m = malloc(((size_t)q->nstrings + 1) * sizeof(int));
			if (!m)
				return -ENOMEM;
			for (int i = 0; i < q->nstrings; i++) {
				m[i] = -1;
				for (int c = 0; c < ax->nbins; c++)
					if (!strcmp(ax->cat_strs[c], q->strings[i]))
						m[i] = c;
			}
			p->str_cat[h * QL_MAX_DIM + a] = m;
		}
	return 0;
}

static void use_at(struct eval_prog *p, const struct ql_node *n, int k)
{
	if (n->id >= 0 && k > p->last[n->id])
		p->last[n->id] = k;
}

/* A node's values are needed up to the latest phase of the nodes that
 * take them and of the statements that use them: mark() gives every node
 * under a statement that statement's phase, which would keep (and cut at
 * every filter) the arguments of a node long after it was computed. */
static void tight_last(struct eval_prog *p)
{
	int n = p->nnodes;
	for (int i = 0; i < n; i++)
		p->last[i] = p->phase[i];
	for (int i = 0; i < n; i++)
		for (int a = 0; a < p->nodes[i]->nargs; a++)
			use_at(p, p->nodes[i]->args[a], p->phase[i]);
	each_root(p, use_at);
}

/* Whether use number a of node c takes the floats of its argument when
 * they come (eval_ops.c: a comparison with a literal on the right, abs,
 * the values of a jagged mask, x of x[i]),
 * the list shapes the same (a value per event spread over a list is
 * widened first). */
static bool takes_floats(const struct ql_node *c, int a)
{
	const struct ql_node *x = c->args[a];
	if (c->kind == QN_INDEX && !c->is_mask && !c->is_gather)
		return a == 0; /* x of x[i]: one element per event */
	if (x->jagged != c->jagged)
		return false;
	if (c->kind == QN_BINARY && c->op >= QB_EQ && c->op <= QB_GE)
		return a == 0 && (c->args[1]->kind == QN_INT || c->args[1]->kind == QN_FLOAT);
	if (c->kind == QN_INDEX && c->is_mask)
		return a == 0; /* a mask's values */
	return c->kind == QN_CALL && c->op == QF_ABS && c->nargs == 1;
}

/* A statement's own expression is used as doubles, and whole. */
static void root_use(struct eval_prog *p, const struct ql_node *n, int k)
{
	(void)k;
	if (n->id >= 0)
		p->f32_ok[n->id] = p->lit_one[n->id] = false;
}

static bool is_literal(const struct ql_node *n)
{
	return n->kind == QN_INT || n->kind == QN_FLOAT || n->kind == QN_BOOL || n->kind == QN_STR;
}

/* eval_prog.f32_ok: the numbers that may be floats (branches, abs of
 * them) whose every use takes floats, and which no filter's cut needs
 * after the phase that computes them (a cut compacts doubles); and
 * eval_prog.lit_one, the literals read for their first value only (a
 * cut would compact their values too). */
static int float_uses(struct eval_prog *p)
{
	int n = p->nnodes;
	bool *ok = malloc(((size_t)n + 1) * sizeof(*ok)), *one = malloc(((size_t)n + 1) * sizeof(*one));
	if (!ok || !one) {
		free(ok);
		free(one);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const struct ql_node *x = p->nodes[i];
		one[i] = is_literal(x) && p->last[i] == p->phase[i];
		ok[i] = x->type == QL_FLOAT && p->last[i] == p->phase[i] &&
			(p->input_of[i] >= 0 ||
			 (x->kind == QN_CALL && x->op == QF_ABS && x->nargs == 1 &&
			  x->args[0]->type == QL_FLOAT && x->args[0]->jagged == x->jagged) ||
			 (x->kind == QN_INDEX && x->is_mask && x->args[0]->type == QL_FLOAT));
	}
	for (int i = 0; i < n; i++) {
		const struct ql_node *c = p->nodes[i];
		/* Read for their first value only: a comparison's right side,
		 * the index of x[i]. */
		bool first = (c->kind == QN_BINARY && c->op >= QB_EQ && c->op <= QB_GE) ||
			     (c->kind == QN_INDEX && !c->is_mask && !c->is_gather);
		for (int a = 0; a < c->nargs; a++) {
			if (c->args[a]->id >= 0 && !takes_floats(c, a))
				ok[c->args[a]->id] = false;
			if (c->args[a]->id >= 0 && !(first && a == 1))
				one[c->args[a]->id] = false;
		}
	}
	p->f32_ok = ok;
	p->lit_one = one;
	each_root(p, root_use);
	return 0;
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
	p->nvar = 1 + q->nvaries;
	p->regions = q->regions;
	p->nregions = q->nregions;
	p->weight = q->weight ? q->weight->expr : NULL;
	struct ql_node **roots = malloc(MAX_ROOTS * sizeof(*roots));
	if (!roots)
		rc = -ENOMEM;
	for (int i = 0; i < q->nstmts && !rc; i++) {
		int nr = roots_of(q, &q->stmts[i], roots);
		for (int k = 0; k < nr; k++)
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
		} else if (s->kind == QS_HIST) {
			p->hists[p->nhists++] = &s->u.hist;
		}
		if (s->kind == QS_FILTER || s->kind == QS_HIST || s->kind == QS_REGION) {
			int nr = roots_of(q, s, roots);
			for (int k = 0; k < nr && !rc; k++)
				if (roots[k])
					rc = visit(&b, roots[k]);
		}
	}
	if (p->weight && !rc)
		rc = visit(&b, (struct ql_node *)p->weight);
	if (!rc)
		rc = string_categories(p);
	free(roots);
	free(b.col_node);
	free(b.table);
	if (!rc)
		rc = order_by_phase(p);
	if (!rc)
		tight_last(p);
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
	for (int i = 0; !rc && i < p->nnodes; i++) {
		const struct ql_node *n = p->nodes[i];
		if (n->kind == QN_CALL && n->op >= QF_COMBINATIONS && n->op <= QF_COMB_MASS)
			p->has_comb = true;
	}
	if (!rc)
		rc = float_uses(p);
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
	free(p->f32_ok);
	free(p->lit_one);
	free(p->filters);
	for (int i = 0; p->str_cat && i < p->nhists * QL_MAX_DIM; i++)
		free(p->str_cat[i]);
	free(p->str_cat);
	free(p->hists);
	free(p);
}

size_t eval_ninputs(const struct eval_prog *p)
{
	return (size_t)p->ninputs;
}

size_t eval_nnodes(const struct eval_prog *p)
{
	return (size_t)p->nnodes;
}

int eval_input_column(const struct eval_prog *p, size_t i)
{
	return i < (size_t)p->ninputs ? p->inputs[i] : -1;
}

const char *eval_filter_name(const struct eval_prog *p, size_t i)
{
	return i < (size_t)p->nfilters ? p->filters[i]->name : "";
}
