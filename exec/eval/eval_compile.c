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
	if (a->kind != b->kind || a->op != b->op || a->nargs != b->nargs ||
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
	uint64_t v[6] = {(uint64_t)n->kind, (uint64_t)n->op, (uint64_t)n->type,
			 (uint64_t)n->ival, bits, (uint64_t)n->is_mask | (uint64_t)n->is_gather << 1};
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
	for (int i = 0; !rc && i < p->nnodes; i++) {
		const struct ql_node *n = p->nodes[i];
		if (n->kind == QN_CALL && n->op >= QF_COMBINATIONS && n->op <= QF_COMB_MASS)
			p->has_comb = true;
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
