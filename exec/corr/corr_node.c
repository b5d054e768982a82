/* corr_node.c — a correction's data: JSON nodes checked and built into the
 * tree of corr_int.h.  Every rule that evaluation relies on is checked
 * here (edges, content lengths, input names and types, key types), so
 * that corr_eval() never meets a malformed node. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "corr_int.h"

static void fail(struct cbuild *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct cbuild *b, const char *fmt, ...)
{
	if (b->err)
		return;
	b->err = -EINVAL;
	int n = snprintf(b->why, b->cap, "correction '%s': ", b->c->name);
	if (n < 0 || (size_t)n >= b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->why + n, b->cap - (size_t)n, fmt, ap);
	va_end(ap);
}

static void nomem(struct cbuild *b)
{
	if (!b->err) {
		b->err = -ENOMEM;
		snprintf(b->why, b->cap, "correction '%s': out of memory", b->c->name);
	}
}

static void *alloc(struct cbuild *b, size_t n, size_t sz)
{
	void *p = n ? arena_alloc(b->arena, n * sz) : NULL;
	if (n && !p)
		nomem(b);
	return p;
}

/* The JSON path of the node at hand grows as the walk goes down and is cut
 * back on the way up; a path too long for the buffer ends in "...". */
static size_t push(struct cbuild *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(struct cbuild *b, const char *fmt, ...)
{
	size_t old = b->plen;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->path + b->plen, sizeof(b->path) - b->plen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->path) - b->plen) {
		memcpy(b->path + sizeof(b->path) - 4, "...", 4);
		b->plen = sizeof(b->path) - 1;
	} else {
		b->plen += (size_t)n;
	}
	return old;
}

static void pop(struct cbuild *b, size_t old)
{
	b->plen = old;
	b->path[old] = 0;
}

/* The input called name, of a type the node allows (a bitmask of 1 <<
 * enum corr_type); the index, or -1 after fail(). */
static int input_of(struct cbuild *b, const struct jsonr_val *v, const char *what, unsigned types,
		    const char *node)
{
	const char *name = jsonr_str(v, NULL);
	if (!name) {
		fail(b, "%s.%s must be a string naming an input", b->path, what);
		return -1;
	}
	int i = corr_input_index(b->c, name);
	if (i < 0) {
		fail(b, "%s.%s is '%s', which is not one of the correction's inputs", b->path, what, name);
		return -1;
	}
	if (!(types & 1u << b->c->in_types[i])) {
		static const char *const tn[] = {"real", "int", "string"};
		fail(b, "%s: a %s cannot use the %s input '%s'", b->path, node, tn[b->c->in_types[i]], name);
		return -1;
	}
	return i;
}

/* An edge: a number, or "inf", "+inf", "-inf" as correctionlib writes
 * infinities. */
static bool edge_value(const struct jsonr_val *v, double *x)
{
	const char *s = jsonr_str(v, NULL);
	if (s) {
		if (!strcmp(s, "inf") || !strcmp(s, "+inf"))
			*x = INFINITY;
		else if (!strcmp(s, "-inf"))
			*x = -INFINITY;
		else
			return false;
		return true;
	}
	if (jsonr_type(v) != JSONR_NUM)
		return false;
	*x = jsonr_num(v);
	return true;
}

/* The edges of one axis at v (an array, or {"n","low","high"}), named
 * `what` in messages; flow is the node's, for the wrap check. */
static int read_axis(struct cbuild *b, const struct jsonr_val *v, const char *what, struct axis *ax,
		     int flow)
{
	if (jsonr_type(v) == JSONR_OBJ) {
		int64_t n = 0;
		const struct jsonr_val *lo = jsonr_get(v, "low"), *hi = jsonr_get(v, "high");
		if (!jsonr_int64(jsonr_get(v, "n"), &n) || n < 1 || n > UINT32_MAX) {
			fail(b, "%s.%s.n must be an integer of at least 1", b->path, what);
			return -1;
		}
		if (jsonr_type(lo) != JSONR_NUM || jsonr_type(hi) != JSONR_NUM) {
			fail(b, "%s.%s needs numbers \"low\" and \"high\"", b->path, what);
			return -1;
		}
		ax->low = jsonr_num(lo);
		ax->high = jsonr_num(hi);
		if (!(ax->low < ax->high) || !isfinite(ax->high - ax->low)) {
			fail(b, "%s.%s: low (%g) must be below high (%g)", b->path, what, ax->low, ax->high);
			return -1;
		}
		ax->nbins = (uint32_t)n;
		ax->edges = NULL;
		return 0;
	}
	size_t ne = jsonr_len(v);
	if (jsonr_type(v) != JSONR_ARR || ne < 2) {
		fail(b, "%s.%s must be an array of at least two edges or {\"n\", \"low\", \"high\"}", b->path, what);
		return -1;
	}
	if (ne - 1 > UINT32_MAX) {
		fail(b, "%s.%s: too many edges", b->path, what);
		return -1;
	}
	double *e = alloc(b, ne, sizeof(*e));
	if (!e)
		return -1;
	for (size_t i = 0; i < ne; i++) {
		if (!edge_value(jsonr_at(v, i), &e[i])) {
			fail(b, "%s.%s[%zu] must be a number, \"inf\" or \"-inf\"", b->path, what, i);
			return -1;
		}
		if (i > 0 && !(e[i] > e[i - 1])) {
			fail(b, "%s.%s[%zu] (%g) is not above %s[%zu] (%g): edges must increase strictly",
			     b->path, what, i, e[i], what, i - 1, e[i - 1]);
			return -1;
		}
	}
	ax->nbins = (uint32_t)(ne - 1);
	ax->edges = e;
	ax->low = e[0];
	ax->high = e[ne - 1];
	if (flow == FLOW_WRAP && !isfinite(ax->high - ax->low)) {
		fail(b, "%s: flow \"wrap\" needs finite edges", b->path);
		return -1;
	}
	return 0;
}

static const struct cnode *build(struct cbuild *b, const struct jsonr_val *v, int depth);

/* The flow of a binning: clamp, error, wrap, or a node for the values
 * outside. */
static int read_flow(struct cbuild *b, const struct jsonr_val *obj, struct cnode *nd, int depth)
{
	const struct jsonr_val *f = jsonr_get(obj, "flow");
	const char *s = jsonr_str(f, NULL);
	if (!f) {
		fail(b, "%s has no \"flow\" (\"clamp\", \"error\", \"wrap\" or a node)", b->path);
		return -1;
	}
	if (s) {
		if (!strcmp(s, "clamp"))
			nd->flow = FLOW_CLAMP;
		else if (!strcmp(s, "error"))
			nd->flow = FLOW_ERROR;
		else if (!strcmp(s, "wrap"))
			nd->flow = FLOW_WRAP;
		else {
			fail(b, "%s.flow is \"%.40s\"; it must be \"clamp\", \"error\", \"wrap\" or a node", b->path, s);
			return -1;
		}
		return 0;
	}
	size_t old = push(b, ".flow");
	nd->flow = FLOW_NODE;
	nd->flownode = build(b, f, depth + 1);
	pop(b, old);
	return nd->flownode ? 0 : -1;
}

/* The content nodes of a binning, or their values as one array when all
 * are numbers (the fast path of corr_eval). */
static int read_content(struct cbuild *b, const struct jsonr_val *obj, struct cnode *nd, size_t want,
			int depth)
{
	const struct jsonr_val *c = jsonr_get(obj, "content");
	if (jsonr_type(c) != JSONR_ARR) {
		fail(b, "%s.content must be an array", b->path);
		return -1;
	}
	if (jsonr_len(c) != want) {
		fail(b, "%s has %zu bins but %zu content nodes", b->path, want, jsonr_len(c));
		return -1;
	}
	nd->ncontent = want;
	bool leaf = true;
	for (size_t i = 0; i < want && leaf; i++)
		leaf = jsonr_type(jsonr_at(c, i)) == JSONR_NUM;
	if (leaf) {
		/* Numbers only (most tables): their values, and no node each,
		 * so that a large table costs 8 bytes a bin. */
		double *l = alloc(b, want, sizeof(*l));
		if (!l)
			return -1;
		for (size_t i = 0; i < want; i++)
			l[i] = jsonr_num(jsonr_at(c, i));
		nd->leaf = l;
		return 0;
	}
	if (!(nd->content = alloc(b, want, sizeof(*nd->content))))
		return -1;
	for (size_t i = 0; i < want; i++) {
		size_t old = push(b, ".content[%zu]", i);
		nd->content[i] = build(b, jsonr_at(c, i), depth + 1);
		pop(b, old);
		if (!nd->content[i])
			return -1;
	}
	return 0;
}

static int read_binning(struct cbuild *b, const struct jsonr_val *v, struct cnode *nd, int depth)
{
	struct axis *ax = alloc(b, 1, sizeof(*ax));
	if (!ax || read_flow(b, v, nd, depth))
		return -1;
	if ((ax->input = input_of(b, jsonr_get(v, "input"), "input", 1u << CORR_REAL | 1u << CORR_INT,
				  "binning")) < 0)
		return -1;
	if (read_axis(b, jsonr_get(v, "edges"), "edges", ax, nd->flow))
		return -1;
	ax->stride = 1;
	nd->naxes = 1;
	nd->axes = ax;
	return read_content(b, v, nd, ax->nbins, depth);
}

static int read_multibinning(struct cbuild *b, const struct jsonr_val *v, struct cnode *nd, int depth)
{
	const struct jsonr_val *in = jsonr_get(v, "inputs"), *ed = jsonr_get(v, "edges");
	size_t n = jsonr_len(in);
	if (jsonr_type(in) != JSONR_ARR || n < 1 || n > CORR_MAX_INPUTS) {
		fail(b, "%s.inputs must be an array of 1 to %d input names", b->path, CORR_MAX_INPUTS);
		return -1;
	}
	if (jsonr_type(ed) != JSONR_ARR || jsonr_len(ed) != n) {
		fail(b, "%s.edges must be an array of %zu binnings, one per input", b->path, n);
		return -1;
	}
	if (read_flow(b, v, nd, depth))
		return -1;
	struct axis *ax = alloc(b, n, sizeof(*ax));
	if (!ax)
		return -1;
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		char what[32];
		snprintf(what, sizeof(what), "inputs[%zu]", i);
		if ((ax[i].input = input_of(b, jsonr_at(in, i), what, 1u << CORR_REAL | 1u << CORR_INT,
					    "multibinning")) < 0)
			return -1;
		snprintf(what, sizeof(what), "edges[%zu]", i);
		if (read_axis(b, jsonr_at(ed, i), what, &ax[i], nd->flow))
			return -1;
		/* Saturated, so that a hostile product cannot wrap round to
		 * the length of the content. */
		total = total > SIZE_MAX / ax[i].nbins ? SIZE_MAX : total * ax[i].nbins;
	}
	/* Row-major, the last input fastest: content[d1*d2*i0 + d2*i1 + i2]. */
	size_t stride = 1;
	for (size_t i = n; i-- > 0;) {
		ax[i].stride = stride;
		stride *= ax[i].nbins;
	}
	nd->naxes = (int)n;
	nd->axes = ax;
	return read_content(b, v, nd, total, depth);
}

/* A category's key with its child while the keys are sorted. */
struct kv {
	int64_t k;
	const char *s;
	const struct cnode *c;
	size_t at; /* its index in the JSON content */
};

static int by_int(const void *x, const void *y)
{
	const struct kv *a = x, *c = y;
	return a->k < c->k ? -1 : a->k > c->k ? 1 : (a->at > c->at) - (a->at < c->at);
}

static int by_text(const void *x, const void *y)
{
	const struct kv *a = x, *c = y;
	int r = strcmp(a->s, c->s);
	return r ? r : (a->at > c->at) - (a->at < c->at);
}

/* Sort nd's keys (with their children) by k, or by their text first when
 * text: a hostile category of many keys costs n log n, and a key given
 * twice is found as two neighbours. */
static int sort_keys(struct cbuild *b, struct cnode *nd, bool text)
{
	size_t n = nd->nkeys;
	struct kv *kv = malloc(n ? n * sizeof(*kv) : 1);
	if (!kv) {
		nomem(b);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		kv[i] = (struct kv){nd->keys[i], nd->skeys ? nd->skeys[i] : NULL, nd->kchild[i], i};
	qsort(kv, n, sizeof(*kv), text ? by_text : by_int);
	int rc = 0;
	for (size_t i = 1; i < n && text && !rc; i++)
		if (!strcmp(kv[i].s, kv[i - 1].s)) {
			fail(b, "%s: key \"%.40s\" is in content[%zu] and content[%zu]", b->path, kv[i].s,
			     kv[i - 1].at, kv[i].at);
			rc = -1;
		}
	for (size_t i = 1; i < n && !text && !rc; i++)
		if (kv[i].k == kv[i - 1].k) {
			fail(b, "%s: key %" PRId64 " is in content[%zu] and content[%zu]", b->path, kv[i].k,
			     kv[i - 1].at, kv[i].at);
			rc = -1;
		}
	for (size_t i = 0; i < n && !rc; i++) {
		nd->keys[i] = kv[i].k;
		nd->kchild[i] = kv[i].c;
		if (nd->skeys)
			nd->skeys[i] = kv[i].s;
	}
	free(kv);
	return rc;
}

static int read_category(struct cbuild *b, const struct jsonr_val *v, struct cnode *nd, int depth)
{
	if ((nd->input = input_of(b, jsonr_get(v, "input"), "input", 1u << CORR_INT | 1u << CORR_STRING,
				  "category")) < 0)
		return -1;
	bool str = b->c->in_types[nd->input] == CORR_STRING;
	const struct jsonr_val *c = jsonr_get(v, "content");
	if (jsonr_type(c) != JSONR_ARR) {
		fail(b, "%s.content must be an array of {\"key\", \"value\"}", b->path);
		return -1;
	}
	size_t n = jsonr_len(c);
	nd->nkeys = n;
	if (!(nd->keys = alloc(b, n, sizeof(*nd->keys))) && n)
		return -1;
	if (!(nd->kchild = alloc(b, n, sizeof(*nd->kchild))) && n)
		return -1;
	if (str && !(nd->skeys = alloc(b, n, sizeof(*nd->skeys))) && n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct jsonr_val *item = jsonr_at(c, i), *key = jsonr_get(item, "key");
		size_t old = push(b, ".content[%zu]", i);
		if (jsonr_type(item) != JSONR_OBJ || !key || !jsonr_get(item, "value")) {
			fail(b, "%s must be {\"key\", \"value\"}", b->path);
			return -1;
		}
		if (str && !(nd->skeys[i] = jsonr_str(key, NULL))) {
			fail(b, "%s.key must be a string: input '%s' is a string", b->path, b->c->in_names[nd->input]);
			return -1;
		}
		if (!str && !jsonr_int64(key, &nd->keys[i])) {
			fail(b, "%s.key must be an integer: input '%s' is an int", b->path, b->c->in_names[nd->input]);
			return -1;
		}
		push(b, ".value");
		nd->kchild[i] = build(b, jsonr_get(item, "value"), depth + 1);
		pop(b, old);
		if (!nd->kchild[i])
			return -1;
	}
	if (sort_keys(b, nd, str))
		return -1;
	const struct jsonr_val *d = jsonr_get(v, "default");
	if (d && jsonr_type(d) != JSONR_NULL) {
		size_t old = push(b, ".default");
		nd->dflt = build(b, d, depth + 1);
		pop(b, old);
		if (!nd->dflt)
			return -1;
	}
	if (str) {
		/* Ids come once every string key of the correction is known. */
		if (b->nscats == b->capscats) {
			size_t cap = b->capscats ? 2 * b->capscats : 16;
			struct cnode **p = realloc(b->scats, cap * sizeof(*p));
			if (!p) {
				nomem(b);
				return -1;
			}
			b->scats = p;
			b->capscats = cap;
		}
		b->scats[b->nscats++] = nd;
	}
	return 0;
}

static const struct cnode *build(struct cbuild *b, const struct jsonr_val *v, int depth)
{
	if (b->err)
		return NULL;
	if (depth > CORR_MAX_DEPTH) {
		fail(b, "%s: nodes nested deeper than %d", b->path, CORR_MAX_DEPTH);
		return NULL;
	}
	struct cnode *nd = alloc(b, 1, sizeof(*nd));
	if (!nd)
		return NULL;
	if (jsonr_type(v) == JSONR_NUM) {
		nd->kind = CN_CONST;
		nd->value = jsonr_num(v);
		return nd;
	}
	const char *type = jsonr_str(jsonr_get(v, "nodetype"), NULL);
	if (jsonr_type(v) != JSONR_OBJ || !type) {
		fail(b, "%s must be a number or an object with a \"nodetype\", not %s", b->path,
		     jsonr_type(v) == JSONR_OBJ ? "an object without one" : jsonr_type_name(jsonr_type(v)));
		return NULL;
	}
	int rc;
	if (!strcmp(type, "binning")) {
		nd->kind = CN_BIN;
		rc = read_binning(b, v, nd, depth);
	} else if (!strcmp(type, "multibinning")) {
		nd->kind = CN_MBIN;
		rc = read_multibinning(b, v, nd, depth);
	} else if (!strcmp(type, "category")) {
		nd->kind = CN_CAT;
		rc = read_category(b, v, nd, depth);
	} else {
		fail(b, "node type '%.40s' at %s is not supported; anafs reads binning, multibinning, "
		     "category and constants", type, b->path);
		rc = -1;
	}
	return rc ? NULL : nd;
}

int corr_build_tree(struct cbuild *b, const struct jsonr_val *data)
{
	b->plen = 0;
	push(b, "data");
	if (!data)
		fail(b, "no \"data\"");
	else
		b->c->root = build(b, data, 0);
	return b->err;
}

static int by_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The id of s in t, or -1. */
static int64_t id_of(const struct strtab *t, const char *s)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->s[mid], s);
		if (c == 0)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int corr_build_ids(struct cbuild *b)
{
	struct corr *c = b->c;
	if (!(c->strs = alloc(b, (size_t)c->ninputs, sizeof(*c->strs))) && c->ninputs)
		return b->err;
	for (int in = 0; in < c->ninputs; in++) {
		if (c->in_types[in] != CORR_STRING)
			continue;
		size_t total = 0;
		for (size_t i = 0; i < b->nscats; i++)
			if (b->scats[i]->input == in)
				total += b->scats[i]->nkeys;
		const char **s = alloc(b, total, sizeof(*s));
		if (total && !s)
			return b->err;
		size_t n = 0;
		for (size_t i = 0; i < b->nscats; i++)
			if (b->scats[i]->input == in)
				for (size_t k = 0; k < b->scats[i]->nkeys; k++)
					s[n++] = b->scats[i]->skeys[k];
		qsort(s, n, sizeof(*s), by_str);
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (u == 0 || strcmp(s[u - 1], s[i]))
				s[u++] = s[i];
		c->strs[in].n = u;
		c->strs[in].s = s;
	}
	for (size_t i = 0; i < b->nscats; i++) {
		struct cnode *nd = b->scats[i];
		for (size_t k = 0; k < nd->nkeys; k++)
			nd->keys[k] = id_of(&c->strs[nd->input], nd->skeys[k]);
		/* The keys were sorted by their text and ids are ranks of the
		 * text, so the ids come out sorted too. */
		nd->skeys = NULL;
	}
	return 0;
}
