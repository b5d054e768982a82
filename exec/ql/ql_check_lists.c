/* ql_check_lists.c — the checker's rules for working with lists: slices,
 * sorting and picking (argmax, argsort, first, take), two collections at
 * once (min_delta_r, nearest), combinations of n elements and four-vector
 * sums.  Each rule fixes the result's type and shape and, for a list
 * result, which list it runs over: a slice or a combination makes a list
 * of its own, named after how it is written, so that only values made the
 * same way line up. */
#include "ql_int.h"

#include <stdio.h>
#include <string.h>

static bool need_list(struct ql_checker *c, struct ql_node *x, const char *what)
{
	if (x->jagged)
		return true;
	return ql_cfail(c, x, "give it a list, like Jet_pt or Jet_pt[good]",
			"%s needs a list per event, not one value", what, NULL);
}

static bool need_value(struct ql_checker *c, struct ql_node *x, const char *what)
{
	if (!x->jagged)
		return true;
	return ql_cfail(c, x, "reduce it first (sum, max, x[0], ...)",
			"%s must be one value per event, not a list", what, NULL);
}

static bool need_int(struct ql_checker *c, struct ql_node *x, const char *what)
{
	if (x->type == QL_INT)
		return true;
	return ql_cfail(c, x, "indices are integers: 0 is the first element, -1 the last",
			"%s must be an integer, not %s", what, ql_type_name(x->type));
}

/* A whole number written in the query, in [lo, hi]: *out. */
static bool literal(struct ql_checker *c, struct ql_node *x, int64_t lo, int64_t hi,
		    const char *what, int64_t *out)
{
	char hint[128];
	snprintf(hint, sizeof(hint), "write a number from %lld to %lld", (long long)lo, (long long)hi);
	if (x->kind != QN_INT)
		return ql_cfail(c, x, hint, "%s must be a number written in the query", what, NULL);
	if (x->ival < lo || x->ival > hi)
		return ql_cfail(c, x, hint, "%s is out of range", what, NULL);
	*out = x->ival;
	return true;
}

/* The type of "x, or d where x has no value": true/false only when both are. */
static enum ql_type either(enum ql_type x, enum ql_type d)
{
	return x == QL_BOOL && d == QL_BOOL ? QL_BOOL : ql_promote(x, d);
}

/* n's list: a new one named base + suffix. */
static bool new_list(struct ql_checker *c, struct ql_node *n, int base, const char *suffix)
{
	char key[1024];
	snprintf(key, sizeof(key), "%s%s", ql_list_name(c->q, base), suffix);
	n->jagged = true;
	n->list = ql_intern_list(c, key);
	return n->list >= 0 || ql_cfail(c, n, NULL, "out of memory", NULL, NULL);
}

bool ql_check_slice(struct ql_checker *c, struct ql_node *n)
{
	struct ql_node *x = n->args[0], *lo = n->args[1], *hi = n->args[2];
	if (!x->jagged)
		return ql_cfail(c, n, "only lists (like Jet_pt) can be sliced",
				"this is one value per event, not a list", NULL, NULL);
	if (!need_value(c, lo, "a slice's bound") || !need_value(c, hi, "a slice's bound") ||
	    !need_int(c, lo, "a slice's bound") || !need_int(c, hi, "a slice's bound"))
		return false;
	char key[1024] = "[";
	int k = 1;
	if (!ql_write_key(lo, key, sizeof(key), &k) || k + 2 >= (int)sizeof(key))
		k = snprintf(key, sizeof(key), "[#%p", (void *)n);
	key[k++] = ':';
	key[k] = 0;
	if (!ql_write_key(hi, key, sizeof(key), &k) || k + 2 >= (int)sizeof(key))
		k = snprintf(key, sizeof(key), "[#%p", (void *)n);
	snprintf(key + k, sizeof(key) - (size_t)k, "]");
	n->type = x->type;
	return new_list(c, n, x->list, key);
}

/* combinations(x, n, ...), comb_*(..., n): the list of x's combinations
 * of n; *np is n. */
static bool comb_list(struct ql_checker *c, struct ql_node *n, struct ql_node *x,
		      struct ql_node *nn, int64_t *np)
{
	if (!literal(c, nn, 1, QL_MAX_COMB_N, "the number of objects in a combination", np))
		return false;
	char suffix[32];
	snprintf(suffix, sizeof(suffix), " choose %lld", (long long)*np);
	return new_list(c, n, x->list, suffix);
}

/* pt, eta, phi, mass of one list (args[0..3]): all lists, lined up. */
static bool p4_list(struct ql_checker *c, struct ql_node *n, const char *fn)
{
	if (!ql_combine(c, n, n->args, 4))
		return false;
	for (int i = 0; i < 4; i++)
		if (!need_list(c, n->args[i], fn))
			return false;
	return true;
}

bool ql_check_list_call(struct ql_checker *c, struct ql_node *n, const struct ql_fninfo *f)
{
	struct ql_node **a = n->args, *x = a[0];
	int64_t num, k;
	switch (f->id) {
	case QF_ARGMAX:
	case QF_ARGMIN:
		if (!need_list(c, x, f->name))
			return false;
		n->jagged = false;
		n->type = QL_INT;
		return true;
	case QF_ARGSORT:
	case QF_SORT:
	case QF_LOCAL_INDEX:
		if (!need_list(c, x, f->name))
			return false;
		n->jagged = true;
		n->list = x->list;
		n->type = f->id == QF_SORT ? x->type : QL_INT;
		return true;
	case QF_FIRST:
	case QF_LAST:
		if (!need_list(c, x, f->name) || (n->nargs == 2 && !need_value(c, a[1], "the default")))
			return false;
		n->jagged = false;
		n->type = n->nargs == 2 ? either(x->type, a[1]->type) : x->type;
		return true;
	case QF_TAKE:
		if (!need_list(c, x, "take") || !need_list(c, a[1], "take") ||
		    !need_int(c, a[1], "an index"))
			return false;
		if (a[2]->jagged && a[2]->list != a[1]->list)
			return ql_cfail(c, a[2], "give one default, or one per index",
					"the default does not line up with the indices", NULL, NULL);
		n->jagged = true;
		n->list = a[1]->list;
		n->type = either(x->type, a[2]->type);
		return true;
	case QF_MIN_DR:
	case QF_NEAREST:
		if (!ql_combine(c, n, a + 2, 2) || !need_list(c, a[2], f->name) ||
		    !need_list(c, a[3], f->name) || !ql_combine(c, n, a, 2))
			return false;
		n->type = f->id == QF_NEAREST ? QL_INT : QL_FLOAT;
		return true;
	case QF_COMBINATIONS:
		if (!need_list(c, x, f->name) || !comb_list(c, n, x, a[1], &num) ||
		    !literal(c, a[2], 0, num - 1, "the member of a combination", &k))
			return false;
		n->type = x->type;
		return true;
	case QF_COMB_SUM:
	case QF_COMB_MIN:
	case QF_COMB_MAX:
		if (!need_list(c, x, f->name) || !comb_list(c, n, x, a[1], &num))
			return false;
		n->type = f->id == QF_COMB_SUM && x->type == QL_BOOL ? QL_INT : x->type;
		return true;
	case QF_COMB_PT:
	case QF_COMB_ETA:
	case QF_COMB_PHI:
	case QF_COMB_MASS:
		if (!p4_list(c, n, f->name) || !comb_list(c, n, x, a[4], &num))
			return false;
		n->type = QL_FLOAT;
		return true;
	case QF_P4_PT:
	case QF_P4_ETA:
	case QF_P4_PHI:
	case QF_P4_MASS:
		if (n->nargs < 4 || n->nargs % 4)
			return ql_cfail(c, n, "one list: p4_mass(pt, eta, phi, mass); or objects: "
					"p4_mass(pt1, eta1, phi1, m1, pt2, eta2, phi2, m2, ...)",
					"%s takes four values per object", f->name, NULL);
		if (!ql_combine(c, n, a, n->nargs))
			return false;
		if (n->nargs == 4 && n->jagged && !p4_list(c, n, f->name))
			return false;
		if (n->nargs == 4 && n->jagged)
			n->jagged = false; /* the sum of the whole list */
		n->type = QL_FLOAT;
		return true;
	case QF_MT:
		if (!ql_combine(c, n, a, 4))
			return false;
		n->type = QL_FLOAT;
		return true;
	default:
		return ql_cfail(c, n, NULL, "internal error: no rule for %s", f->name, NULL);
	}
}
