/* ql_check.c — names, types and lists: every expression gets a type (bool,
 * int or float), a shape (one value per event, or a list per event) and,
 * for lists, which list it runs over, so that per-jet and per-muon values
 * are never combined by mistake.  Errors point at the spot and hint. */
#include "ql_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ql_fninfo ql_functions[] = {
	{"abs", QF_ABS, 1, "absolute value"},
	{"sqrt", QF_SQRT, 1, "square root"},
	{"exp", QF_EXP, 1, "e to the power x"},
	{"log", QF_LOG, 1, "natural logarithm"},
	{"sin", QF_SIN, 1, "sine"},
	{"cos", QF_COS, 1, "cosine"},
	{"tan", QF_TAN, 1, "tangent"},
	{"atan2", QF_ATAN2, 2, "atan2(y, x)"},
	{"sinh", QF_SINH, 1, "hyperbolic sine"},
	{"cosh", QF_COSH, 1, "hyperbolic cosine"},
	{"tanh", QF_TANH, 1, "hyperbolic tangent"},
	{"hypot", QF_HYPOT, 2, "sqrt(x*x + y*y)"},
	{"pow", QF_POW, 2, "x to the power y"},
	{"floor", QF_FLOOR, 1, "round down"},
	{"ceil", QF_CEIL, 1, "round up"},
	{"min", QF_MIN2, 2, "the smaller of two values"},
	{"max", QF_MAX2, 2, "the larger of two values"},
	{"delta_phi", QF_DELTA_PHI, 2, "phi1 - phi2 wrapped into [-pi, pi)"},
	{"delta_r", QF_DELTA_R, 4, "delta_r(eta1, phi1, eta2, phi2)"},
	{"inv_mass", QF_INV_MASS, -1, "invariant mass from pt, eta, phi, mass"},
	{"sum", QF_SUM, 1, "sum over each event's list"},
	{"count", QF_COUNT, 1, "number of elements of each event's list"},
	{"len", QF_LEN, 1, "number of elements of each event's list"},
	{"min", QF_MIN, 1, "smallest element of each event's list"},
	{"max", QF_MAX, 1, "largest element of each event's list"},
	{"any", QF_ANY, 1, "true when any element is true"},
	{"all", QF_ALL, 1, "true when every element is true"},
	{"argmax", QF_ARGMAX, 1, "the index of each event's largest element (the first of ties)"},
	{"argmin", QF_ARGMIN, 1, "the index of each event's smallest element (the first of ties)"},
	{"argsort", QF_ARGSORT, 1, "the indices that sort each event's list, ascending (argsort(-x): descending)"},
	{"sort", QF_SORT, 1, "each event's list sorted, ascending (-sort(-x): descending)"},
	{"first", QF_FIRST, 1, "first(x) or first(x, default): the first element"},
	{"first", QF_FIRST, 2, "first(x) or first(x, default): the first element"},
	{"last", QF_LAST, 1, "last(x) or last(x, default): the last element"},
	{"last", QF_LAST, 2, "last(x) or last(x, default): the last element"},
	{"local_index", QF_LOCAL_INDEX, 1, "each element's position in its event's list: 0, 1, ..."},
	{"take", QF_TAKE, 3, "take(x, indices, default): x at each index, default where out of range"},
	{"min_delta_r", QF_MIN_DR, 4, "min_delta_r(eta, phi, other_eta, other_phi): the smallest delta R to any of the others"},
	{"nearest", QF_NEAREST, 4, "nearest(eta, phi, other_eta, other_phi): the index of the nearest other in delta R, -1 for none"},
	{"combinations", QF_COMBINATIONS, 3, "combinations(x, n, k): member k of every combination of n elements"},
	{"comb_sum", QF_COMB_SUM, 2, "comb_sum(x, n): the sum over the members of every combination of n"},
	{"comb_min", QF_COMB_MIN, 2, "comb_min(x, n): the smallest member of every combination of n"},
	{"comb_max", QF_COMB_MAX, 2, "comb_max(x, n): the largest member of every combination of n"},
	{"comb_pt", QF_COMB_PT, 5, "comb_pt(pt, eta, phi, mass, n): pt of the four-vector sum of every combination of n"},
	{"comb_eta", QF_COMB_ETA, 5, "comb_eta(pt, eta, phi, mass, n): eta of the sum of every combination of n"},
	{"comb_phi", QF_COMB_PHI, 5, "comb_phi(pt, eta, phi, mass, n): phi of the sum of every combination of n"},
	{"comb_mass", QF_COMB_MASS, 5, "comb_mass(pt, eta, phi, mass, n): mass of the sum of every combination of n"},
	{"p4_pt", QF_P4_PT, -1, "pt of the four-vector sum of objects given as pt, eta, phi, mass"},
	{"p4_eta", QF_P4_ETA, -1, "eta of the four-vector sum of objects given as pt, eta, phi, mass"},
	{"p4_phi", QF_P4_PHI, -1, "phi of the four-vector sum of objects given as pt, eta, phi, mass"},
	{"p4_mass", QF_P4_MASS, -1, "mass of the four-vector sum of objects given as pt, eta, phi, mass"},
	{"random_normal", QF_RANDOM_NORMAL, 2, "random_normal(mean, sigma): a normal random number, the same for an event on every run"},
	{"random_normal", QF_RANDOM_NORMAL, 3, "random_normal(mean, sigma, like): one per element of the list like"},
	{"correction", QF_CORRECTION, -1, "correction(\"file.json\", \"name\", inputs...): a correctionlib lookup"},
	{"lumi_mask", QF_LUMI_MASK, 3, "lumi_mask(\"golden.json\", run, luminosityBlock): certified data"},
	{"transverse_mass", QF_MT, 4, "transverse_mass(pt1, phi1, pt2, phi2): sqrt(2 pt1 pt2 (1 - cos(phi1 - phi2)))"},
};
const size_t ql_nfunctions = sizeof(ql_functions) / sizeof(ql_functions[0]);

const struct ql_fninfo *ql_function(const char *name, int nargs)
{
	const struct ql_fninfo *named = NULL;
	for (size_t i = 0; i < ql_nfunctions; i++)
		if (!strcmp(ql_functions[i].name, name)) {
			named = &ql_functions[i];
			if (ql_functions[i].nargs == nargs || ql_functions[i].nargs < 0)
				return named;
		}
	return named;
}

bool ql_cfail(struct ql_checker *c, const struct ql_node *n, const char *hint, const char *fmt,
		 const char *a, const char *b)
{
	if (!c->failed) {
		char msg[256];
		int k = snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
		/* A copy of a variation's, or an error of one sample's only (the
		 * caller knows: another sample checks). */
		const struct ql_query *q = c->q;
		if (c->variation && k > 0 && (size_t)k < sizeof(msg))
			k += snprintf(msg + k, sizeof(msg) - (size_t)k, " (in variation %s)", c->variation);
		if (c->name_sample && k > 0 && (size_t)k < sizeof(msg) && c->sample >= 0 &&
		    c->sample < q->nsamples)
			snprintf(msg + k, sizeof(msg) - (size_t)k, " (in sample %s)",
				 q->samples[c->sample].name);
		ql_fail(c->err, c->q->filename, c->q->text, n->line, n->col, n->len, hint, "%s", msg);
	}
	c->failed = true;
	return false;
}

int ql_intern_list(struct ql_checker *c, const char *name)
{
	struct ql_query *q = c->q;
	for (int i = 0; i < q->nlists; i++)
		if (!strcmp(q->lists[i], name))
			return i;
	char **v = realloc(q->lists, (size_t)(q->nlists + 1) * sizeof(*v));
	if (!v)
		return -1;
	q->lists = v;
	q->lists[q->nlists] = arena_strndup(q->arena, name, strlen(name));
	return q->lists[q->nlists] ? q->nlists++ : -1;
}

const char *ql_type_name(enum ql_type t)
{
	return t == QL_BOOL ? "true/false" : t == QL_INT ? "integer" : t == QL_STR ? "string" : "number";
}

static const char *shape(const struct ql_node *n)
{
	return n->jagged ? "a list per event" : "one value per event";
}

/* Make n's shape the combination of its arguments' (lists must agree). */
bool ql_combine(struct ql_checker *c, struct ql_node *n, struct ql_node **args, int k)
{
	n->jagged = false;
	for (int i = 0; i < k; i++) {
		if (!args[i]->jagged)
			continue;
		if (n->jagged && n->list != args[i]->list) {
			char hint[512];
			snprintf(hint, sizeof(hint),
				 "one side has a value per element of %s, the other per element of %s; "
				 "reduce one of them first (sum, max, x[0], ...)",
				 ql_list_name(c->q, n->list), ql_list_name(c->q, args[i]->list));
			return ql_cfail(c, n, hint, "these lists do not line up", NULL, NULL);
		}
		n->jagged = true;
		n->list = args[i]->list;
	}
	return true;
}

enum ql_type ql_promote(enum ql_type a, enum ql_type b)
{
	if (a == QL_FLOAT || b == QL_FLOAT)
		return QL_FLOAT;
	return QL_INT;
}

bool ql_need_bool(struct ql_checker *c, struct ql_node *n, const char *what)
{
	if (n->type == QL_BOOL)
		return true;
	return ql_cfail(c, n, "compare it, for example x != 0", "%s needs true/false values, not %s", what,
		    n->type == QL_INT ? "integers" : "numbers");
}


static bool check_name(struct ql_checker *c, struct ql_node *n)
{
	for (int i = c->ndefines; i-- > 0;)
		if (!strcmp(c->defines[i]->name, n->name)) {
			struct ql_node *e = c->defines[i]->expr;
			n->define = c->defines[i];
			n->type = e->type;
			n->jagged = e->jagged;
			n->list = e->list;
			return true;
		}
	if (ql_check_sample_value(c, n))
		return !c->failed;
	const struct ql_schema *sc = c->sc;
	for (size_t i = 0; i < sc->ncols; i++) {
		const struct ql_column *col = &sc->cols[i];
		if (strcmp(col->name, n->name))
			continue;
		if (!col->readable)
			return ql_cfail(c, n, "anafs reads numbers, fixed arrays and lists of numbers",
				    "branch '%s' cannot be read (an object or string branch)", n->name,
				    NULL);
		n->column = (int)i;
		n->type = col->type;
		n->jagged = col->jagged || col->fixed_len > 1;
		if (n->jagged) {
			char name[QL_MAX_NAME + 32];
			if (col->counter)
				snprintf(name, sizeof(name), "%s", col->counter);
			else
				snprintf(name, sizeof(name), "[%d]", col->fixed_len);
			n->list = ql_intern_list(c, name);
			if (n->list < 0)
				return ql_cfail(c, n, NULL, "out of memory", NULL, NULL);
		}
		return true;
	}
	/* Unknown: suggest the closest branch or define names. */
	static const char *const sample_names[] = {"is_data", "sample", "xsec", "lumi", "sumw"};
	size_t nc = sc->ncols + (size_t)c->ndefines + 5;
	const char **cands = malloc((nc ? nc : 1) * sizeof(*cands));
	char hint[512] = "";
	if (cands) {
		size_t k = 0;
		for (size_t i = 0; i < sc->ncols; i++)
			cands[k++] = sc->cols[i].name;
		for (int i = 0; i < c->ndefines; i++)
			cands[k++] = c->defines[i]->name;
		for (int i = 0; c->q->nsamples && i < 5; i++)
			cands[k++] = sample_names[i];
		ql_suggest(n->name, (const char *const *)cands, k, hint, sizeof(hint));
		free(cands);
	}
	return ql_cfail(c, n, *hint ? hint : "see `anafs ls FILE` for the branches",
		    "unknown name '%s'%s", n->name,
		    ql_function(n->name, 1) ? " (a function: call it with parentheses)" : "");
}

static bool check_binary(struct ql_checker *c, struct ql_node *n)
{
	struct ql_node *a = n->args[0], *b = n->args[1];
	if (!ql_combine(c, n, n->args, 2))
		return false;
	switch (n->op) {
	case QB_AND:
	case QB_OR:
		if (!ql_need_bool(c, a, n->op == QB_AND ? "&&" : "||") ||
		    !ql_need_bool(c, b, n->op == QB_AND ? "&&" : "||"))
			return false;
		n->type = QL_BOOL;
		return true;
	case QB_EQ:
	case QB_NE:
	case QB_LT:
	case QB_LE:
	case QB_GT:
	case QB_GE:
		n->type = QL_BOOL;
		return true;
	case QB_DIV:
	case QB_POW:
		n->type = QL_FLOAT; /* bools count as 0 and 1 in arithmetic */
		return true;
	default:
		n->type = ql_promote(a->type, b->type);
		return true;
	}
}

/* A canonical text for expression n, written as it reads ("Muon_pt>5"),
 * used to tell masks apart and to name masked lists: false when it does
 * not fit. */
bool ql_write_key(const struct ql_node *n, char *buf, size_t cap, int *len)
{
#define PUT(...)                                                                     \
	do {                                                                         \
		int w_ = snprintf(buf + *len, cap - (size_t)*len, __VA_ARGS__);     \
		if (w_ < 0 || (size_t)(*len + w_) >= cap)                           \
			return false;                                                \
		*len += w_;                                                          \
	} while (0)
#define SUB(a)                                                                       \
	do {                                                                         \
		bool paren_ = (a)->kind == QN_BINARY || (a)->kind == QN_COND;        \
		if (paren_)                                                          \
			PUT("(");                                                    \
		if (!ql_write_key((a), buf, cap, len))                                  \
			return false;                                                \
		if (paren_)                                                          \
			PUT(")");                                                    \
	} while (0)
	static const char *const ops[] = {"", "+", "-", "*", "/", "%", "**", "==", "!=",
					   "<", "<=", ">", ">=", "&&", "||"};
	switch (n->kind) {
	case QN_INT: PUT("%lld", (long long)n->ival); return true;
	case QN_FLOAT: {
		char f[40];
		snprintf(f, sizeof(f), "%.15g", n->fval);
		if (strtod(f, NULL) != n->fval)
			snprintf(f, sizeof(f), "%.17g", n->fval);
		/* 0.0 is not 0: x % 0 and x % 0.0 differ. */
		PUT("%s%s", f, strpbrk(f, ".ein") ? "" : ".0");
		return true;
	}
	case QN_BOOL: PUT("%s", n->ival ? "true" : "false"); return true;
	case QN_STR: PUT("\"#%lld\"", (long long)n->ival); return true;
	case QN_NAME: PUT("%s", n->name); return true;
	case QN_UNARY: PUT("%c", n->op); SUB(n->args[0]); return true;
	case QN_BINARY:
		SUB(n->args[0]);
		PUT("%s", n->op > 0 && n->op <= QB_OR ? ops[n->op] : "?");
		SUB(n->args[1]);
		return true;
	case QN_COND:
		SUB(n->args[0]);
		PUT("?");
		SUB(n->args[1]);
		PUT(":");
		SUB(n->args[2]);
		return true;
	case QN_INDEX:
	case QN_SLICE: /* x[i], x[lo:hi] */
		SUB(n->args[0]);
		PUT("[");
		for (int a = 1; a < n->nargs; a++) {
			if (a > 1)
				PUT(":");
			if (!ql_write_key(n->args[a], buf, cap, len))
				return false;
		}
		PUT("]");
		return true;
	case QN_CALL:
		PUT("%s(", n->name);
		for (int a = 0; a < n->nargs; a++) {
			if (a)
				PUT(",");
			if (!ql_write_key(n->args[a], buf, cap, len))
				return false;
		}
		PUT(")");
		return true;
	}
	return false;
#undef SUB
#undef PUT
}

static bool check_index(struct ql_checker *c, struct ql_node *n)
{
	struct ql_node *x = n->args[0], *i = n->args[1];
	if (!x->jagged)
		return ql_cfail(c, n, "only lists (like Muon_pt) can be indexed or masked",
			    "this is one value per event, not a list", NULL, NULL);
	if (i->jagged && i->type == QL_INT) {
		/* A list of indices: one value per index, in its list. */
		n->is_gather = true;
		n->jagged = true;
		n->type = x->type;
		n->list = i->list;
		return true;
	}
	if (i->jagged) {
		if (i->type != QL_BOOL)
			return ql_cfail(c, i, "a mask is a comparison like Muon_pt > 5; indices are integers",
				    "a list used inside [] must be true/false values or integer indices", NULL, NULL);
		if (i->list != x->list) {
			char hint[512];
			snprintf(hint, sizeof(hint), "the list has one value per element of %s, the mask per element of %s",
				 ql_list_name(c->q, x->list), ql_list_name(c->q, i->list));
			return ql_cfail(c, i, hint, "the mask does not line up with the list", NULL, NULL);
		}
		/* Masked lists line up when the mask is written the same way. */
		char key[1024];
		int k = snprintf(key, sizeof(key), "%s[", ql_list_name(c->q, x->list));
		if (!ql_write_key(i, key, sizeof(key), &k) || k + 2 >= (int)sizeof(key))
			k = snprintf(key, sizeof(key), "%s[#%p", ql_list_name(c->q, x->list), (void *)i);
		snprintf(key + k, sizeof(key) - (size_t)k, "]");
		n->is_mask = true;
		n->jagged = true;
		n->type = x->type;
		n->list = ql_intern_list(c, key);
		return n->list >= 0 || ql_cfail(c, n, NULL, "out of memory", NULL, NULL);
	}
	if (i->type != QL_INT)
		return ql_cfail(c, i, "x[0] is the first element, x[-1] the last",
			    "an index must be an integer, not %s", ql_type_name(i->type), NULL);
	n->jagged = false;
	n->type = x->type;
	return true;
}

static bool check_call(struct ql_checker *c, struct ql_node *n)
{
	const struct ql_fninfo *f = ql_function(n->name, n->nargs);
	if (!f) {
		const char *names[128];
		size_t k = 0;
		for (size_t i = 0; i < ql_nfunctions && k < 128; i++)
			names[k++] = ql_functions[i].name;
		char hint[512];
		ql_suggest(n->name, names, k, hint, sizeof(hint));
		return ql_cfail(c, n, *hint ? hint : "see docs/query.md for the functions",
			    "unknown function '%s'", n->name, NULL);
	}
	if (f->nargs >= 0 && f->nargs != n->nargs) {
		char msg[64];
		if (f->id == QF_MIN || f->id == QF_MAX || f->id == QF_MIN2 || f->id == QF_MAX2)
			snprintf(msg, sizeof(msg), "1 (a list) or 2 (two values) arguments");
		else if (f->id == QF_FIRST || f->id == QF_LAST)
			snprintf(msg, sizeof(msg), "1 or 2 arguments (a list, and a default)");
		else if (f->id == QF_RANDOM_NORMAL)
			snprintf(msg, sizeof(msg), "2 or 3 arguments (mean, sigma[, a list])");
		else
			snprintf(msg, sizeof(msg), "%d argument%s", f->nargs, f->nargs == 1 ? "" : "s");
		return ql_cfail(c, n, f->what, "%s takes %s", f->name, msg);
	}
	n->op = f->id;
	if (f->id == QF_RANDOM_NORMAL)
		return ql_check_random(c, n);
	if (f->id == QF_CORRECTION || f->id == QF_LUMI_MASK)
		return ql_check_lookup(c, n);
	if (f->id >= QF_ARGMAX)
		return ql_check_list_call(c, n, f);
	struct ql_node *a = n->args[0];
	switch (f->id) {
	case QF_SUM:
	case QF_COUNT:
	case QF_LEN:
	case QF_MIN:
	case QF_MAX:
	case QF_ANY:
	case QF_ALL:
		if (!a->jagged)
			return ql_cfail(c, n, "reductions take a list, like sum(Jet_pt > 30)",
				    "%s needs a list per event, not one value", f->name, NULL);
		if ((f->id == QF_ANY || f->id == QF_ALL) && !ql_need_bool(c, a, f->name))
			return false;
		n->jagged = false;
		n->type = f->id == QF_COUNT || f->id == QF_LEN ? QL_INT
			: f->id == QF_ANY || f->id == QF_ALL ? QL_BOOL
			: a->type == QL_BOOL && f->id == QF_SUM ? QL_INT
			: a->type;
		return true;
	case QF_INV_MASS: {
		if (n->nargs < 4 || n->nargs % 4)
			return ql_cfail(c, n, "inv_mass(pt, eta, phi, mass) of a list, or of objects: "
				    "inv_mass(pt1, eta1, phi1, m1, pt2, eta2, phi2, m2)",
				    "inv_mass takes four values per object", NULL, NULL);
		if (!ql_combine(c, n, n->args, n->nargs))
			return false;
		if (n->jagged && n->nargs != 4)
			return ql_cfail(c, n, "give either one list of objects or several single objects",
				    "inv_mass mixes lists and single objects", NULL, NULL);
		for (int i = 0; i < n->nargs; i++)
			if (n->jagged != n->args[i]->jagged)
				return ql_cfail(c, n->args[i], "give pt, eta, phi and mass all as lists or all as single values",
					    "inv_mass mixes lists and single values", NULL, NULL);
		n->jagged = false;
		n->type = QL_FLOAT;
		return true;
	}
	default:
		if (!ql_combine(c, n, n->args, n->nargs))
			return false;
		if (f->id == QF_ABS)
			n->type = a->type == QL_BOOL ? QL_INT : a->type;
		else if (f->id == QF_MIN2 || f->id == QF_MAX2)
			n->type = ql_promote(a->type, n->args[1]->type);
		else
			n->type = QL_FLOAT;
		return true;
	}
}

bool ql_check_node(struct ql_checker *c, struct ql_node *n)
{
	int folded = ql_fold_sample(c, n);
	if (folded)
		return folded > 0;
	for (int i = 0; i < n->nargs; i++)
		if (!ql_check_node(c, n->args[i]))
			return false;
	if (!ql_check_strings(c, n))
		return false;
	switch (n->kind) {
	case QN_STR:
		n->type = QL_STR;
		n->jagged = false;
		return true;
	case QN_INT:
		n->type = QL_INT;
		return true;
	case QN_FLOAT:
		n->type = QL_FLOAT;
		return true;
	case QN_BOOL:
		n->type = QL_BOOL;
		return true;
	case QN_NAME:
		return check_name(c, n);
	case QN_UNARY:
		n->jagged = n->args[0]->jagged;
		n->list = n->args[0]->list;
		if (n->op == '!') {
			n->type = QL_BOOL;
			return ql_need_bool(c, n->args[0], "!");
		}
		n->type = n->args[0]->type == QL_BOOL ? QL_INT : n->args[0]->type;
		return true;
	case QN_BINARY:
		return check_binary(c, n);
	case QN_COND: {
		struct ql_node *a = n->args[1], *b = n->args[2];
		if (!ql_need_bool(c, n->args[0], "the condition of ?:") || !ql_combine(c, n, n->args, 3))
			return false;
		n->type = a->type == b->type && (a->type == QL_BOOL || a->type == QL_STR)
				  ? a->type
				  : ql_promote(a->type, b->type);
		return true;
	}
	case QN_CALL:
		return check_call(c, n);
	case QN_INDEX:
		return check_index(c, n);
	case QN_SLICE:
		return ql_check_slice(c, n);
	}
	return false;
}

static bool is_column(const struct ql_schema *sc, const char *name)
{
	for (size_t i = 0; i < sc->ncols; i++)
		if (!strcmp(sc->cols[i].name, name))
			return true;
	return false;
}

static bool check_define(struct ql_checker *c, struct ql_stmt *s)
{
	struct ql_define *d = &s->u.define;
	struct ql_node at = {.line = s->line, .col = 1, .len = 6};
	for (int i = 0; i < c->ndefines; i++)
		if (!strcmp(c->defines[i]->name, d->name))
			return ql_cfail(c, &at, "give it another name", "'%s' is already defined", d->name, NULL);
	if (is_column(c->sc, d->name))
		return ql_cfail(c, &at, "give the define another name",
			    "'%s' is a branch of the tree; a define may not hide it", d->name, NULL);
	if (ql_function(d->name, 1) || !strcmp(d->name, "pi") || !strcmp(d->name, "true") ||
	    !strcmp(d->name, "false") || (c->q->nsamples && ql_sample_value_name(d->name)))
		return ql_cfail(c, &at, "give the define another name", "'%s' is a reserved name", d->name,
			    NULL);
	if (!ql_check_node(c, d->expr))
		return false;
	c->defines[c->ndefines++] = d;
	return true;
}

static bool check_axis_value(struct ql_checker *c, const struct ql_axis *ax, struct ql_node *e)
{
	if (ax->is_cat && ax->cat_str && e->type != QL_STR)
		return ql_cfail(c, e, "string categories take a string value, like a ? \"ee\" : \"mumu\"",
				"this is %s, not a string",
				e->type == QL_INT ? "an integer" : e->type == QL_BOOL ? "true/false" : "a number",
				NULL);
	if (ax->is_cat && ax->cat_str && !ql_check_sample_categories(c, ax, e))
		return false;
	if (ax->is_cat && !ax->cat_str && e->type == QL_STR)
		return ql_cfail(c, e, "write the categories as strings: categories=\"ee\",\"mumu\"",
				"the categories are integers, the value a string", NULL, NULL);
	if (ax->is_cat && !ax->cat_str && e->type == QL_FLOAT)
		return ql_cfail(c, e, QL_INT_CATEGORIES_HINT, "this is a number, not an integer", NULL, NULL);
	if (!ax->is_cat && e->type == QL_STR)
		return ql_cfail(c, e, "a string is filled into a category axis: categories=\"a\",\"b\"",
				"a binned axis needs numbers, not strings", NULL, NULL);
	return true;
}

static bool check_hist(struct ql_checker *c, struct ql_hist *h, int line, struct ql_stmt *all, int k)
{
	struct ql_query *q = c->q;
	struct ql_node at = {.line = line, .col = 1, .len = 4};
	for (int i = 0; i < k; i++)
		if (all[i].kind == QS_HIST && !strcmp(all[i].u.hist.name, h->name))
			return ql_cfail(c, &at, "give each histogram its own name",
				    "a histogram '%s' already exists", h->name, NULL);
	struct ql_node *e[QL_MAX_DIM + 1];
	int n = 0;
	for (int i = 0; i < h->ndim; i++)
		e[n++] = h->expr[i];
	if (h->value)
		e[n++] = h->value;
	for (int i = 0; i < n; i++)
		if (!ql_check_node(c, e[i]))
			return false;
	for (int i = 0; i < h->ndim; i++)
		if (!check_axis_value(c, &h->axes[i], h->expr[i]))
			return false;
	if (h->value && h->value->type == QL_STR)
		return ql_cfail(c, h->value, "a profile averages numbers", "the value is a string", NULL, NULL);
	struct ql_node tmp = at;
	if (!ql_combine(c, &tmp, e, n))
		return false;
	if (!h->weight && q->weight && !(h->weight = ql_weight_name(c, line)))
		return ql_cfail(c, &at, NULL, "out of memory", NULL, NULL);
	if (h->weight) {
		if (!ql_check_node(c, h->weight))
			return false;
		if (h->weight->type == QL_STR)
			return ql_cfail(c, h->weight, "a weight is a number", "the weight is a string", NULL, NULL);
		if (h->weight->jagged && (!tmp.jagged || h->weight->list != tmp.list))
			return ql_cfail(c, h->weight, "a weight is one value per event, or per element of the filled list",
				    "the weight does not line up with what is filled", NULL, NULL);
	}
	return ql_check_hist_regions(c, h);
}

int ql_check(struct ql_query *q, const struct ql_schema *schema, struct ql_error *err)
{
	return ql_check_sample(q, schema, 0, err);
}

int ql_check_sample(struct ql_query *q, const struct ql_schema *schema, int sample,
		    struct ql_error *err)
{
	return ql_check_in(q, schema, sample, NULL, err);
}

int ql_check_in(struct ql_query *q, const struct ql_schema *schema, int sample, const char *basedir,
		struct ql_error *err)
{
	return ql_check_opts(q, schema, &(struct ql_check_opts){.sample = sample, .basedir = basedir}, err);
}

int ql_check_opts(struct ql_query *q, const struct ql_schema *schema, const struct ql_check_opts *o,
		  struct ql_error *err)
{
	struct ql_checker c = {.q = q, .sc = schema, .err = err, .sample = o->sample,
			       .basedir = o->basedir, .name_sample = o->name_sample};
	c.defines = calloc((size_t)q->nstmts + 1, sizeof(*c.defines));
	if (!c.defines)
		return -ENOMEM;
	for (int i = 0; i < q->nstmts && !c.failed; i++) {
		struct ql_stmt *s = &q->stmts[i];
		if (s->kind == QS_DEFINE) {
			if (check_define(&c, s) && &s->u.define == q->weight)
				ql_check_weight(&c);
		} else if (s->kind == QS_FILTER) {
			struct ql_node *e = s->u.filter.expr;
			if (!ql_check_node(&c, e))
				break;
			if (e->jagged)
				ql_cfail(&c, e, "a filter keeps or drops whole events: use any(...), all(...) or sum(...) == N",
				     "a filter needs one true/false per event, not %s", shape(e), NULL);
			else if (e->type != QL_BOOL)
				ql_cfail(&c, e, "compare it, for example sum(good) >= 2",
				     "a filter needs a true/false value, not %s", ql_type_name(e->type), NULL);
		} else if (s->kind == QS_REGION) {
			ql_check_region(&c, &s->u.region);
		} else if (s->kind == QS_HIST) {
			check_hist(&c, &s->u.hist, s->line, q->stmts, i);
		}
	}
	if (!c.failed)
		ql_check_analysis(&c);
	free(c.defines);
	if (c.failed)
		return -EINVAL;
	q->checked = true;
	return 0;
}
