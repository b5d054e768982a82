/* ql_check_corr.c — correction("file.json", "name", inputs...) and
 * lumi_mask("golden.json", run, luminosityBlock): the files are read when
 * the query is checked (a missing file, an unknown correction or a wrong
 * number of inputs is an error with its place, like any other), kept by
 * the query, and shared by every call that names the same file. */
#include "ql_int.h"

#include "corr.h"
#include "lumimask.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The files a query loaded, by path as written. */
struct loaded {
	char *path;
	struct corr_set *set;
	struct lumimask *mask;
	struct loaded *next;
};

void ql_lookups_free(struct ql_query *q)
{
	for (struct loaded *l = q->lookups, *n; l; l = n) {
		n = l->next;
		corr_free(l->set);
		lumimask_free(l->mask);
		free(l->path);
		free(l);
	}
	q->lookups = NULL;
}

size_t ql_lookup_count(const struct ql_query *q)
{
	size_t n = 0;
	for (const struct loaded *l = q->lookups; l; l = l->next)
		n++;
	return n;
}

const char *ql_lookup_path(const struct ql_query *q, size_t i)
{
	const struct loaded *l = q->lookups;
	while (l && i--)
		l = l->next;
	return l ? l->path : NULL;
}

/* The file named by literal n, loaded once; NULL with the error set. */
static struct loaded *load(struct ql_checker *c, const struct ql_node *n, bool mask)
{
	struct ql_query *q = c->q;
	const char *path = q->strings[n->ival];
	for (struct loaded *l = q->lookups; l; l = l->next)
		if (!strcmp(l->path, path) && (mask ? l->mask != NULL : l->set != NULL))
			return l;
	char full[PATH_MAX], why[512];
	if (path[0] == '/' || !c->basedir)
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", c->basedir, path);
	struct loaded *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		ql_cfail(c, n, NULL, "out of memory", NULL, NULL);
		return NULL;
	}
	int rc = mask ? lumimask_load(full, &l->mask, why, sizeof(why))
		      : corr_load(full, &l->set, why, sizeof(why));
	if (rc) {
		free(l->path);
		free(l);
		ql_cfail(c, n, mask ? "see docs/corrections.md for the golden JSON anafs reads"
				    : "see docs/corrections.md for the correction files anafs reads",
			 "%s", why, NULL);
		return NULL;
	}
	l->next = q->lookups;
	q->lookups = l;
	return l;
}

static bool need_literal(struct ql_checker *c, const struct ql_node *n, const char *what)
{
	if (n->kind == QN_STR)
		return true;
	return ql_cfail(c, n, "write it in double quotes, as the query gives it", "%s must be a string literal",
			what, NULL);
}

static bool check_mask(struct ql_checker *c, struct ql_node *n)
{
	if (!need_literal(c, n->args[0], "the golden JSON's path"))
		return false;
	for (int i = 1; i < 3; i++)
		if (n->args[i]->jagged || (n->args[i]->type != QL_INT && n->args[i]->type != QL_BOOL))
			return ql_cfail(c, n->args[i], "lumi_mask(\"golden.json\", run, luminosityBlock)",
					"the run and the luminosity block are integers, one per event", NULL, NULL);
	struct loaded *l = load(c, n->args[0], true);
	struct ql_lookup *lk = l ? arena_alloc(c->q->arena, sizeof(*lk)) : NULL;
	if (!lk)
		return l ? ql_cfail(c, n, NULL, "out of memory", NULL, NULL) : false;
	*lk = (struct ql_lookup){.mask = l->mask};
	n->lookup = lk;
	n->type = QL_BOOL;
	n->jagged = false;
	return true;
}

/* Per string input k: the correction's id of each string of the query. */
static int **string_maps(struct ql_checker *c, const struct corr *cr)
{
	struct ql_query *q = c->q;
	int k = corr_ninputs(cr);
	int **m = arena_alloc(q->arena, ((size_t)k + 1) * sizeof(*m));
	for (int i = 0; m && i < k; i++) {
		m[i] = NULL;
		if (corr_input_type(cr, i) != CORR_STRING)
			continue;
		if (!(m[i] = arena_alloc(q->arena, ((size_t)q->nstrings + 1) * sizeof(int))))
			return NULL;
		for (int s = 0; s < q->nstrings; s++)
			m[i][s] = corr_string_id(cr, i, q->strings[s]);
	}
	return m;
}

bool ql_check_lookup(struct ql_checker *c, struct ql_node *n)
{
	if (n->op == QF_LUMI_MASK)
		return check_mask(c, n);
	if (n->nargs < 2)
		return ql_cfail(c, n, "correction(\"file.json\", \"name\", inputs...)",
				"correction takes a file, a correction's name and its inputs", NULL, NULL);
	if (!need_literal(c, n->args[0], "the correction file's path") ||
	    !need_literal(c, n->args[1], "the correction's name"))
		return false;
	struct loaded *l = load(c, n->args[0], false);
	if (!l)
		return false;
	const char *name = c->q->strings[n->args[1]->ival];
	const struct corr *cr = corr_find(l->set, name);
	if (!cr) {
		char names[400];
		char hint[512];
		snprintf(hint, sizeof(hint), "the file has %s", corr_names(l->set, names, sizeof(names)));
		return ql_cfail(c, n->args[1], hint, "no correction '%s' in the file", name, NULL);
	}
	int k = corr_ninputs(cr);
	if (n->nargs - 2 != k) {
		char hint[512];
		int w = snprintf(hint, sizeof(hint), "'%s' takes", name);
		for (int i = 0; i < k && w > 0 && (size_t)w < sizeof(hint); i++)
			w += snprintf(hint + w, sizeof(hint) - (size_t)w, "%s %s", i ? "," : "",
				      corr_input_name(cr, i));
		char got[32];
		snprintf(got, sizeof(got), "%d", n->nargs - 2);
		return ql_cfail(c, n, hint, "the correction '%s' has another number of inputs than %s given",
				name, got);
	}
	for (int i = 0; i < k; i++) {
		const struct ql_node *a = n->args[i + 2];
		enum corr_type t = corr_input_type(cr, i);
		bool ok = t == CORR_STRING ? a->type == QL_STR
			: t == CORR_INT	   ? a->type == QL_INT || a->type == QL_BOOL
					   : a->type != QL_STR;
		if (!ok)
			return ql_cfail(c, a, t == CORR_INT ? "round it first, for example floor(x)" : NULL,
					"input '%s' of the correction is %s",
					corr_input_name(cr, i),
					t == CORR_STRING ? "a string" : t == CORR_INT ? "an integer" : "a number");
	}
	if (!ql_combine(c, n, n->args + 2, k))
		return false;
	struct ql_lookup *lk = arena_alloc(c->q->arena, sizeof(*lk));
	if (!lk || !(lk->strmap = string_maps(c, cr)))
		return ql_cfail(c, n, NULL, "out of memory", NULL, NULL);
	lk->corr = cr;
	lk->mask = NULL;
	n->lookup = lk;
	n->type = QL_FLOAT;
	return true;
}
