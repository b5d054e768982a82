/* ql_check_vary.c — what makes a query an analysis: the samples' values
 * in expressions, strings, the event weight, regions, and variations.
 *
 * A variation replaces branches or defines by other expressions.  Every
 * filter, region and histogram expression that reads a replaced value,
 * directly or through defines, is copied for that variation with the
 * replacement made (what does not read one is shared, not copied), and
 * the copies are checked again: their types and lists follow from the
 * replacement (a mask that reads a varied Jet_pt makes a list of its own).
 * The compiler merges what the copies share, so a variation computes only
 * what depends on what it varies. */
#include "ql_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum ql_sample_value v;
	enum ql_type t;
} sample_values[] = {
	{"is_data", QL_SV_IS_DATA, QL_BOOL}, {"sample", QL_SV_SAMPLE, QL_STR},
	{"xsec", QL_SV_XSEC, QL_FLOAT},      {"lumi", QL_SV_LUMI, QL_FLOAT},
	{"sumw", QL_SV_SUMW, QL_FLOAT},
};

bool ql_sample_value_name(const char *name)
{
	for (size_t i = 0; i < sizeof(sample_values) / sizeof(sample_values[0]); i++)
		if (!strcmp(name, sample_values[i].name))
			return true;
	return false;
}

bool ql_check_sample_value(struct ql_checker *c, struct ql_node *n)
{
	const struct ql_query *q = c->q;
	int k = -1;
	for (size_t i = 0; i < sizeof(sample_values) / sizeof(sample_values[0]); i++)
		if (!strcmp(n->name, sample_values[i].name))
			k = (int)i;
	if (k < 0)
		return false;
	if (!q->nsamples) {
		ql_cfail(c, n, "write the files on sample lines: sample NAME [data] xsec=... FILES",
			 "'%s' is a sample's value, and the query has no samples", n->name, NULL);
		return true;
	}
	if (sample_values[k].v == QL_SV_SUMW)
		for (int i = 0; i < q->nsamples; i++)
			if (!q->samples[i].is_data && !(q->samples[i].has_sumw && !q->samples[i].sumw_auto)) {
				ql_cfail(c, n, "give sumw=NUMBER on every simulation sample to use it in expressions",
					 "sumw of sample '%s' is known only once every event is read",
					 q->samples[i].name, NULL);
				return true;
			}
	n->op = sample_values[k].v;
	n->type = sample_values[k].t;
	n->jagged = false;
	n->column = -1;
	n->define = NULL;
	return true;
}

static bool is_sample_name(const struct ql_node *n)
{
	while (n->kind == QN_NAME && n->define)
		n = n->define->expr;
	return n->kind == QN_NAME && !n->define && n->column < 0 && n->op == QL_SV_SAMPLE;
}

/* `sample == "wjet"` with no such sample is a typo that would silently
 * match nothing. */
static bool check_sample_literal(struct ql_checker *c, const struct ql_node *lit)
{
	const struct ql_query *q = c->q;
	const char *s = q->strings[lit->ival];
	const char *names[QL_MAX_SAMPLES];
	for (int i = 0; i < q->nsamples; i++) {
		if (!strcmp(q->samples[i].name, s))
			return true;
		names[i] = q->samples[i].name;
	}
	char hint[512];
	ql_suggest(s, names, (size_t)q->nsamples, hint, sizeof(hint));
	return ql_cfail(c, lit, *hint ? hint : "the samples are named on the sample lines",
			"no sample is named '%s'", s, NULL);
}

bool ql_check_sample_categories(struct ql_checker *c, const struct ql_axis *ax, const struct ql_node *e)
{
	if (!is_sample_name(e))
		return true;
	const struct ql_query *q = c->q;
	const char *names[QL_MAX_SAMPLES];
	for (int i = 0; i < q->nsamples; i++)
		names[i] = q->samples[i].name;
	for (int k = 0; k < ax->nbins; k++) {
		int i = 0;
		while (i < q->nsamples && strcmp(names[i], ax->cat_strs[k]))
			i++;
		if (i == q->nsamples) {
			char hint[512];
			ql_suggest(ax->cat_strs[k], names, (size_t)q->nsamples, hint, sizeof(hint));
			return ql_cfail(c, e, *hint ? hint : "the samples are named on the sample lines",
					"category '%s' is no sample's name", ax->cat_strs[k], NULL);
		}
	}
	return true;
}

bool ql_check_strings(struct ql_checker *c, struct ql_node *n)
{
	int first = 0, nstr = 0;
	for (int i = 0; i < n->nargs; i++)
		if (n->args[i]->type == QL_STR)
			nstr++;
	if (!nstr)
		return true;
	if (n->kind == QN_BINARY && (n->op == QB_EQ || n->op == QB_NE) && nstr == 2) {
		for (int i = 0; i < 2; i++)
			if (is_sample_name(n->args[i]) && n->args[1 - i]->kind == QN_STR)
				return check_sample_literal(c, n->args[1 - i]);
		return true;
	}
	if (n->kind == QN_COND && n->args[0]->type != QL_STR && nstr == 2)
		return true;
	if (n->kind == QN_CALL && (!strcmp(n->name, "correction") || !strcmp(n->name, "lumi_mask")))
		return true; /* files, names and string inputs: checked there */
	while (n->args[first]->type != QL_STR)
		first++;
	return ql_cfail(c, n->args[first],
			"strings are compared (==, !=), chosen (c ? \"a\" : \"b\") or filled into categories=",
			"a string cannot be used here", NULL, NULL);
}

bool ql_check_random(struct ql_checker *c, struct ql_node *n)
{
	for (int i = 0; i < 2; i++)
		if (n->args[i]->type == QL_STR || n->args[i]->type == QL_BOOL)
			return ql_cfail(c, n->args[i], "random_normal(mean, sigma[, like])",
					"the mean and sigma are numbers", NULL, NULL);
	if (!ql_combine(c, n, n->args, n->nargs))
		return false;
	if (n->nargs == 3 && !n->args[2]->jagged)
		return ql_cfail(c, n->args[2], "give a list (like Jet_pt) to draw one number per element",
				"random_normal's third argument must be a list", NULL, NULL);
	n->type = QL_FLOAT;
	return true;
}

bool ql_check_region(struct ql_checker *c, struct ql_region *r)
{
	struct ql_node *e = r->expr;
	if (!ql_check_node(c, e))
		return false;
	if (e->jagged)
		return ql_cfail(c, e, "a region holds or not for a whole event: use any(...), all(...) or sum(...)",
				"a region needs one true/false per event, not a list", NULL, NULL);
	if (e->type != QL_BOOL)
		return ql_cfail(c, e, "compare it, for example nbtag >= 2",
				"a region needs a true/false value, not %s", ql_type_name(e->type), NULL);
	return true;
}

struct ql_node *ql_weight_name(struct ql_checker *c, int line)
{
	struct ql_node *n = arena_alloc(c->q->arena, sizeof(*n));
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->kind = QN_NAME;
	n->name = c->q->weight->name;
	n->line = c->q->weight_line ? c->q->weight_line : line;
	n->col = 1;
	n->len = 6;
	n->column = -1;
	n->height = 1;
	return n;
}

bool ql_check_hist_regions(struct ql_checker *c, struct ql_hist *h)
{
	struct ql_query *q = c->q;
	if (!h->nregion_names)
		return true;
	if (!(h->regions = arena_alloc(q->arena, (size_t)h->nregion_names * sizeof(int))))
		return ql_cfail(c, &(struct ql_node){.line = 1}, NULL, "out of memory", NULL, NULL);
	for (int i = 0; i < h->nregion_names; i++) {
		const char *name = h->region_names[i];
		int r = -1;
		const char *names[QL_MAX_REGIONS];
		for (int k = 0; k < q->nregions; k++) {
			names[k] = q->regions[k]->name;
			if (!strcmp(names[k], name))
				r = k;
		}
		const struct ql_place *w = &h->region_at[i];
		struct ql_node at = {.line = w->line, .col = w->col, .len = w->len};
		if (r < 0) {
			char hint[512];
			ql_suggest(name, names, (size_t)q->nregions, hint, sizeof(hint));
			return ql_cfail(c, &at, *hint ? hint : "regions are named on region lines",
					"no region is named '%s'", name, NULL);
		}
		for (int k = 0; k < i; k++)
			if (h->regions[k] == r)
				return ql_cfail(c, &at, NULL, "region '%s' is listed twice", name, NULL);
		h->regions[i] = r;
	}
	h->nregions = h->nregion_names;
	if (h->region == -2)
		h->region = h->regions[0];
	return true;
}

/* ---- variations ---- */

struct subst {
	struct ql_checker *c;
	const struct ql_vary *v;
	struct ql_node **memo; /* per define (by index in c->defines): its varied expression */
	bool *done;
};

static int define_index(const struct ql_checker *c, const struct ql_define *d)
{
	for (int i = 0; i < c->ndefines; i++)
		if (c->defines[i] == d)
			return i;
	return -1;
}

static struct ql_node *target_of(const struct subst *s, const struct ql_node *n)
{
	for (int i = 0; i < s->v->ntargets; i++) {
		const struct ql_vary_target *t = &s->v->targets[i];
		if ((n->define && n->define == t->define) ||
		    (!n->define && n->column >= 0 && n->column == t->column))
			return t->expr;
	}
	return NULL;
}

/* n in variation v: n itself when nothing under it is varied, else a copy
 * (arguments replaced) to be checked again.  NULL on ENOMEM. */
static struct ql_node *subst(struct subst *s, struct ql_node *n, bool *oom)
{
	if (!n)
		return NULL;
	if (n->kind == QN_NAME) {
		struct ql_node *t = target_of(s, n);
		if (t)
			return t;
		if (!n->define)
			return n;
		int d = define_index(s->c, n->define);
		if (d < 0)
			return n;
		if (!s->done[d]) {
			s->done[d] = true;
			struct ql_node *e = subst(s, n->define->expr, oom);
			s->memo[d] = e == n->define->expr ? n : e;
		}
		return s->memo[d];
	}
	struct ql_node **args = NULL;
	for (int i = 0; i < n->nargs; i++) {
		struct ql_node *a = subst(s, n->args[i], oom);
		if (a == n->args[i] && !args)
			continue;
		if (!args) {
			if (!(args = arena_alloc(s->c->q->arena, (size_t)n->nargs * sizeof(*args)))) {
				*oom = true;
				return n;
			}
			memcpy(args, n->args, (size_t)n->nargs * sizeof(*args));
		}
		args[i] = a;
	}
	if (!args)
		return n;
	struct ql_node *copy = arena_alloc(s->c->q->arena, sizeof(*copy));
	if (!copy) {
		*oom = true;
		return n;
	}
	*copy = *n;
	copy->args = args;
	copy->list = 0;
	return copy;
}

/* A name's closest branches and defines, for a hint. */
static void closest(const struct ql_checker *c, const char *name, char *hint, size_t cap)
{
	size_t nc = c->sc->ncols + (size_t)c->ndefines;
	const char **cands = malloc((nc ? nc : 1) * sizeof(*cands));
	*hint = 0;
	if (!cands)
		return;
	size_t k = 0;
	for (size_t i = 0; i < c->sc->ncols; i++)
		cands[k++] = c->sc->cols[i].name;
	for (int i = 0; i < c->ndefines; i++)
		cands[k++] = c->defines[i]->name;
	ql_suggest(name, cands, k, hint, cap);
	free(cands);
}

static bool resolve_target(struct ql_checker *c, struct ql_vary_target *t)
{
	struct ql_node at = {.line = t->line, .col = t->col, .len = t->len};
	for (int i = 0; i < c->ndefines; i++)
		if (!strcmp(c->defines[i]->name, t->name))
			t->define = c->defines[i];
	if (!t->define) {
		if (ql_sample_value_name(t->name) && c->q->nsamples)
			return ql_cfail(c, &at, "vary what depends on it instead, e.g. a define that reads it",
					"'%s' is a sample's value and cannot be varied", t->name, NULL);
		for (size_t i = 0; i < c->sc->ncols; i++)
			if (!strcmp(c->sc->cols[i].name, t->name) && c->sc->cols[i].readable)
				t->column = (int)i;
		if (t->column < 0) {
			char hint[512];
			closest(c, t->name, hint, sizeof(hint));
			return ql_cfail(c, &at, *hint ? hint : "a variation replaces a branch or a define of the query",
					"unknown name '%s'", t->name, NULL);
		}
		for (size_t i = 0; i < c->sc->ncols; i++)
			if (c->sc->cols[i].counter && !strcmp(c->sc->cols[i].counter, t->name))
				return ql_cfail(c, &at, "vary the list's values (Jet_pt), not its length",
						"'%s' counts a list and cannot be varied", t->name, NULL);
	}
	struct ql_node name = {.kind = QN_NAME, .name = t->name, .line = t->line, .col = t->col,
			       .len = t->len, .column = -1};
	if (!ql_check_node(c, &name) || !ql_check_node(c, t->expr))
		return false;
	struct ql_node *e = t->expr;
	/* Numbers for numbers (data's weight 1 against simulation's), true/false
	 * for true/false, strings for strings. */
	bool numeric = (e->type == QL_INT || e->type == QL_FLOAT) &&
		       (name.type == QL_INT || name.type == QL_FLOAT);
	if (e->type != name.type && !numeric)
		return ql_cfail(c, e, "a variation replaces a value by one of its kind",
				"'%s' is %s; so must its variation be", t->name,
				name.type == QL_BOOL ? "true/false" : name.type == QL_STR ? "a string" : "a number");
	if (e->jagged != name.jagged || (t->column >= 0 && e->jagged && e->list != name.list)) {
		char hint[512];
		snprintf(hint, sizeof(hint), "'%s' has %s; so must its variation", t->name,
			 name.jagged ? "one value per element of its list" : "one value per event");
		return ql_cfail(c, e, hint, "the variation does not line up with what it replaces", NULL,
				NULL);
	}
	return true;
}

/* Every root of every statement in variation v, checked again. */
static bool vary_roots(struct ql_checker *c, struct ql_vary *v, struct subst *s)
{
	struct ql_query *q = c->q;
	bool oom = false;
	for (int i = 0; i < q->nstmts && !c->failed; i++) {
		struct ql_stmt *st = &q->stmts[i];
		struct ql_node **slot[QL_VROOTS] = {0}, *root[QL_VROOTS] = {0};
		int nr = 0;
		if (st->kind == QS_FILTER) {
			slot[nr] = &st->u.filter.vexpr[v->index];
			root[nr++] = st->u.filter.expr;
		} else if (st->kind == QS_REGION) {
			slot[nr] = &st->u.region.vexpr[v->index];
			root[nr++] = st->u.region.expr;
		} else if (st->kind == QS_HIST) {
			struct ql_hist *h = &st->u.hist;
			struct ql_node *r[QL_VROOTS] = {h->expr[0], h->expr[1], h->expr[2], h->weight, h->value};
			for (int k = 0; k < QL_VROOTS; k++) {
				slot[nr] = &h->vroots[v->index * QL_VROOTS + k];
				root[nr++] = r[k];
			}
		}
		for (int k = 0; k < nr; k++) {
			struct ql_node *e = subst(s, root[k], &oom);
			*slot[k] = e;
			if (e && e != root[k] && !ql_check_node(c, e))
				return false;
			if (e && e != root[k] && st->kind != QS_HIST && (e->jagged || e->type != QL_BOOL))
				return ql_cfail(c, e, "vary a value by one of its kind",
						"this is no longer one true/false per event", NULL, NULL);
		}
		if (st->kind == QS_HIST) {
			/* The copies must still line up as the histogram needs. */
			struct ql_hist *h = &st->u.hist;
			struct ql_node **r = &h->vroots[v->index * QL_VROOTS], *all[QL_VROOTS];
			int n = 0;
			for (int k = 0; k < QL_VROOTS; k++)
				if (r[k] && k != 3)
					all[n++] = r[k];
			struct ql_node tmp = {.line = st->line, .col = 1, .len = 4};
			if (!ql_combine(c, &tmp, all, n))
				return false;
			for (int a = 0; a < h->ndim; a++)
				if (h->axes[a].is_cat && !h->axes[a].cat_str && r[a]->type == QL_FLOAT)
					return ql_cfail(c, r[a], QL_INT_CATEGORIES_HINT,
							"this is a number, not an integer", NULL, NULL);
			if (r[3] && r[3]->jagged && (!tmp.jagged || r[3]->list != tmp.list))
				return ql_cfail(c, r[3], "in a variation, the weight must still line up",
						"the weight does not line up with what is filled", NULL, NULL);
		}
	}
	return !oom || ql_cfail(c, &(struct ql_node){.line = 1}, NULL, "out of memory", NULL, NULL);
}

bool ql_check_weight(struct ql_checker *c)
{
	const struct ql_node *w = c->q->weight->expr;
	if (w->jagged || w->type == QL_STR)
		return ql_cfail(c, w, "the event weight is one number per event",
				"the weight is %s", w->jagged ? "a list" : "a string", NULL);
	return true;
}

bool ql_check_analysis(struct ql_checker *c)
{
	struct ql_query *q = c->q;
	int V = q->nvaries;
	if (!V)
		return true;
	for (int i = 0; i < q->nstmts; i++) {
		struct ql_stmt *st = &q->stmts[i];
		size_t n = st->kind == QS_HIST ? (size_t)V * QL_VROOTS : (size_t)V;
		struct ql_node ***slot = st->kind == QS_FILTER	 ? &st->u.filter.vexpr
					 : st->kind == QS_REGION ? &st->u.region.vexpr
					 : st->kind == QS_HIST	 ? &st->u.hist.vroots
								 : NULL;
		if (slot && !(*slot = arena_alloc(q->arena, n * sizeof(**slot))))
			return ql_cfail(c, &(struct ql_node){.line = st->line}, NULL, "out of memory", NULL, NULL);
		if (slot)
			memset(*slot, 0, n * sizeof(**slot));
	}
	struct subst s = {.c = c};
	s.memo = calloc((size_t)c->ndefines + 1, sizeof(*s.memo));
	s.done = calloc((size_t)c->ndefines + 1, sizeof(*s.done));
	bool ok = s.memo && s.done;
	for (int i = 0; ok && i < V; i++) {
		struct ql_vary *v = q->varies[i];
		for (int t = 0; ok && t < v->ntargets; t++) {
			ok = resolve_target(c, &v->targets[t]);
			for (int u = 0; ok && u < t; u++)
				if (!strcmp(v->targets[u].name, v->targets[t].name))
					ok = ql_cfail(c, &(struct ql_node){.line = v->targets[t].line,
									  .col = v->targets[t].col,
									  .len = v->targets[t].len},
						      NULL, "'%s' is varied twice in one variation", v->targets[t].name,
						      NULL);
		}
		memset(s.done, 0, ((size_t)c->ndefines + 1) * sizeof(*s.done));
		s.v = v;
		c->variation = v->name; /* errors in the copies say which */
		ok = ok && vary_roots(c, v, &s);
		c->variation = NULL;
	}
	free(s.memo);
	free(s.done);
	return ok && !c->failed;
}

/* ---- conditions known per sample ---- */

/* The value of n for the sample checked when it is known without reading
 * an event: 1 true, 0 false, -1 not known. */
static int known(struct ql_checker *c, const struct ql_node *n)
{
	const struct ql_query *q = c->q;
	int s = c->sample;
	if (!q->nsamples || s < 0 || s >= q->nsamples)
		return -1;
	switch (n->kind) {
	case QN_BOOL:
		return n->ival != 0;
	case QN_NAME:
		if (strcmp(n->name, "is_data"))
			return -1;
		for (int i = 0; i < c->ndefines; i++)
			if (!strcmp(c->defines[i]->name, n->name))
				return -1;
		return q->samples[s].is_data;
	case QN_UNARY: {
		int k = n->op == '!' ? known(c, n->args[0]) : -1;
		return k < 0 ? -1 : !k;
	}
	case QN_BINARY: {
		if (n->op == QB_AND || n->op == QB_OR) {
			int a = known(c, n->args[0]), b = known(c, n->args[1]);
			if (n->op == QB_AND)
				return a == 0 || b == 0 ? 0 : a == 1 && b == 1 ? 1 : -1;
			return a == 1 || b == 1 ? 1 : a == 0 && b == 0 ? 0 : -1;
		}
		if (n->op != QB_EQ && n->op != QB_NE)
			return -1;
		for (int i = 0; i < 2; i++) {
			const struct ql_node *x = n->args[i], *lit = n->args[1 - i];
			if (x->kind == QN_NAME && !strcmp(x->name, "sample") && lit->kind == QN_STR) {
				for (int d = 0; d < c->ndefines; d++)
					if (!strcmp(c->defines[d]->name, "sample"))
						return -1;
				bool eq = !strcmp(q->strings[lit->ival], q->samples[s].name);
				return n->op == QB_EQ ? eq : !eq;
			}
		}
		return -1;
	}
	default:
		return -1;
	}
}

/* Replace n by its argument k, checked. */
static int take_arg(struct ql_checker *c, struct ql_node *n, int k)
{
	struct ql_node *a = n->args[k];
	if (!ql_check_node(c, a))
		return -1;
	int line = n->line, col = n->col, len = n->len;
	*n = *a;
	n->line = line, n->col = col, n->len = len; /* errors still point at the whole */
	return 1;
}

int ql_fold_sample(struct ql_checker *c, struct ql_node *n)
{
	bool cond = n->kind == QN_COND;
	bool logic = n->kind == QN_BINARY && (n->op == QB_AND || n->op == QB_OR);
	if (!cond && !logic)
		return 0;
	int k = known(c, n->args[0]);
	if (k < 0)
		return 0;
	/* The condition's own names must still make sense (a typo in it is an
	 * error in every sample). */
	if (!ql_check_node(c, n->args[0]))
		return -1;
	if (cond)
		return take_arg(c, n, k ? 1 : 2);
	if (n->op == QB_AND ? k == 0 : k == 1)
		return take_arg(c, n, 0); /* false && x is false; true || x is true */
	if (!ql_check_node(c, n->args[1]) || !ql_need_bool(c, n->args[1], n->op == QB_AND ? "&&" : "||"))
		return -1;
	return take_arg(c, n, 1);
}
