/* ql_parse.c — from query text to statements and expression trees.
 *
 * One statement per line; a line ending in a backslash continues on the
 * next; '#' starts a comment.  Expressions are parsed by precedence
 * climbing.  Every limit on the input (size, depth, statement count, name
 * length) is checked here, before anything else sees the query. */
#include "ql_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expressions ---- */

static struct ql_node *node(struct parser *p, enum ql_kind k, const struct token *at)
{
	struct ql_node *n = arena_alloc(p->q->arena, sizeof(*n));
	if (!n) {
		ql_fail_tok(p, at, NULL, "out of memory");
		return NULL;
	}
	n->kind = k;
	n->line = at->line;
	n->col = at->col;
	n->len = at->len;
	n->column = -1;
	return n;
}

/* The height of n from its arguments; everything that walks a tree
 * recursively (checking, compiling) relies on this bound. */
static bool tall(struct parser *p, struct ql_node *n)
{
	int h = 0;
	for (int i = 0; i < n->nargs; i++)
		h = n->args[i]->height > h ? n->args[i]->height : h;
	n->height = h + 1;
	if (n->height <= QL_MAX_DEPTH)
		return false;
	struct token t = {.line = n->line, .col = n->col, .len = n->len};
	ql_fail_tok(p, &t, "split it with define", "expression nests too deep");
	return true;
}

/* Make n span from a's start to b's end when they are on one line. */
static void span_args(struct ql_node *n, const struct ql_node *a, const struct ql_node *b)
{
	if (a->line == b->line && b->col + b->len > a->col) {
		n->line = a->line;
		n->col = a->col;
		n->len = b->col + b->len - a->col;
	}
}

/* Extend n's span to cover through the end of t when on the same line. */
static void span_to(struct ql_node *n, const struct token *t)
{
	if (t->line == n->line && t->col + t->len > n->col)
		n->len = t->col + t->len - n->col;
}

static struct ql_node *parse_expr(struct parser *p);

static struct ql_node *parse_args(struct parser *p, struct ql_node *n, enum tok close)
{
	struct ql_node *args[64];
	int k = 0;
	ql_lex(p); /* past ( or [ */
	if (p->tok.t != close) {
		for (;;) {
			struct ql_node *a = parse_expr(p);
			if (!a)
				return NULL;
			if (k == 64) {
				ql_fail_tok(p, &p->tok, NULL, "more than 64 arguments");
				return NULL;
			}
			args[k++] = a;
			if (p->tok.t != T_COMMA)
				break;
			ql_lex(p);
		}
	}
	if (p->tok.t != close) {
		ql_fail_tok(p, &p->tok, NULL, close == T_RP ? "expected ',' or ')'" : "expected ']'");
		return NULL;
	}
	span_to(n, &p->tok);
	ql_lex(p);
	n->args = arena_alloc(p->q->arena, (size_t)(k ? k : 1) * sizeof(*n->args));
	if (!n->args)
		return NULL;
	memcpy(n->args, args, (size_t)k * sizeof(*args));
	n->nargs = k;
	return tall(p, n) ? NULL : n;
}

/* An integer literal node (a slice's omitted bound) at token at. */
static struct ql_node *int_node(struct parser *p, const struct token *at, int64_t v)
{
	struct ql_node *n = node(p, QN_INT, at);
	if (n) {
		n->ival = v;
		n->height = 1;
	}
	return n;
}

/* base[...] with the current token '[': an index, a mask or a list of
 * indices (one expression), or a slice lo:hi (either bound may be left
 * out, as in Python). */
static struct ql_node *parse_postfix(struct parser *p, struct ql_node *base)
{
	struct token open = p->tok;
	struct ql_node *lo = NULL, *hi = NULL;
	bool slice = false;
	struct token at = {.line = base->line, .col = base->col, .len = base->len};
	ql_lex(p); /* past [ */
	bool empty = p->tok.t == T_RB;
	if (!empty && p->tok.t != T_COLON && !(lo = parse_expr(p)))
		return NULL;
	if (empty || p->tok.t == T_COMMA) {
		ql_fail_tok(p, &at, "x[0] is the first element, x[a:b] a slice, x[mask] a selection",
			    "an index or mask takes one expression");
		return NULL;
	}
	if (p->tok.t == T_COLON) {
		slice = true;
		ql_lex(p);
		if (p->tok.t != T_RB && !(hi = parse_expr(p)))
			return NULL;
	}
	if (p->tok.t != T_RB) {
		ql_fail_tok(p, &p->tok, slice ? "a slice is x[lo:hi], x[lo:] or x[:hi]" : NULL,
			    "expected ']'");
		return NULL;
	}
	struct ql_node *n = node(p, slice ? QN_SLICE : QN_INDEX, &open);
	if (!n)
		return NULL;
	n->line = base->line;
	n->col = base->col;
	n->len = base->len;
	span_to(n, &p->tok);
	ql_lex(p);
	if (slice && !lo && !(lo = int_node(p, &open, 0)))
		return NULL;
	if (slice && !hi && !(hi = int_node(p, &open, INT64_MAX)))
		return NULL;
	n->nargs = slice ? 3 : 2;
	if (!(n->args = arena_alloc(p->q->arena, (size_t)n->nargs * sizeof(*n->args))))
		return NULL;
	n->args[0] = base;
	n->args[1] = lo;
	if (slice)
		n->args[2] = hi;
	return tall(p, n) ? NULL : n;
}

static struct ql_node *parse_primary(struct parser *p)
{
	struct token t = p->tok;
	struct ql_node *n = NULL;
	switch (t.t) {
	case T_INT:
		if ((n = node(p, QN_INT, &t)))
			n->ival = t.ival;
		ql_lex(p);
		break;
	case T_FLOAT:
		if ((n = node(p, QN_FLOAT, &t)))
			n->fval = t.fval;
		ql_lex(p);
		break;
	case T_IDENT:
		if (t.len > QL_MAX_NAME) {
			ql_fail_tok(p, &t, NULL, "name too long");
			return NULL;
		}
		ql_lex(p);
		if (ql_is_ident(&t, "true") || ql_is_ident(&t, "false")) {
			if ((n = node(p, QN_BOOL, &t)))
				n->ival = t.s[0] == 't';
		} else if (ql_is_ident(&t, "pi")) {
			if ((n = node(p, QN_FLOAT, &t)))
				n->fval = M_PI;
		} else if (p->tok.t == T_LP) {
			if ((n = node(p, QN_CALL, &t))) {
				n->name = ql_tok_str(p, &t);
				n = parse_args(p, n, T_RP);
			}
		} else if ((n = node(p, QN_NAME, &t))) {
			n->name = ql_tok_str(p, &t);
		}
		break;
	case T_LP: {
		ql_lex(p);
		n = parse_expr(p);
		if (!n)
			return NULL;
		if (p->tok.t != T_RP) {
			ql_fail_tok(p, &p->tok, "every '(' needs its ')'", "expected ')'");
			return NULL;
		}
		ql_lex(p);
		break;
	}
	default:
		ql_fail_tok(p, &t, NULL,
			 t.t == T_NL || t.t == T_EOF ? "the expression ends too early"
						     : "expected a value, a name or '('");
		return NULL;
	}
	/* Postfix: x[i], x[mask], x[indices], x[lo:hi]. */
	while (n && p->tok.t == T_LB)
		n = parse_postfix(p, n);
	return n;
}

static struct ql_node *parse_unary(struct parser *p);

/* The node a op b, written at token at. */
static struct ql_node *binary(struct parser *p, const struct token *at, int op, struct ql_node *a,
			      struct ql_node *b)
{
	struct ql_node *n = node(p, QN_BINARY, at);
	if (!n || !(n->args = arena_alloc(p->q->arena, 2 * sizeof(*n->args))))
		return NULL;
	n->op = op;
	n->args[0] = a;
	n->args[1] = b;
	n->nargs = 2;
	span_args(n, a, b);
	return tall(p, n) ? NULL : n;
}

static struct ql_node *parse_power(struct parser *p)
{
	struct ql_node *a = parse_primary(p);
	if (!a || p->tok.t != T_POW)
		return a;
	struct token op = p->tok;
	ql_lex(p);
	if (++p->depth > QL_MAX_DEPTH) {
		ql_fail_tok(p, &op, "split it with define", "expression nests too deep");
		return NULL;
	}
	struct ql_node *b = parse_unary(p); /* right-associative: 2**-1, a**b**c */
	p->depth--;
	if (!b)
		return NULL;
	return binary(p, &op, QB_POW, a, b);
}

static struct ql_node *parse_unary(struct parser *p)
{
	struct token t = p->tok;
	if (t.t != T_MINUS && t.t != T_PLUS && t.t != T_NOT)
		return parse_power(p);
	if (++p->depth > QL_MAX_DEPTH) {
		ql_fail_tok(p, &t, NULL, "expression nests too deep");
		return NULL;
	}
	ql_lex(p);
	struct ql_node *a = parse_unary(p);
	p->depth--;
	if (!a || t.t == T_PLUS)
		return a;
	struct ql_node *n = node(p, QN_UNARY, &t);
	if (!n)
		return NULL;
	n->op = t.t == T_MINUS ? '-' : '!';
	n->args = arena_alloc(p->q->arena, sizeof(*n->args));
	if (!n->args)
		return NULL;
	n->args[0] = a;
	n->nargs = 1;
	span_args(n, n, a);
	return tall(p, n) ? NULL : n;
}

/* Binary operators by precedence level (higher binds tighter). */
static int binop(enum tok t, int *op)
{
	switch (t) {
	case T_OR: *op = QB_OR; return 1;
	case T_AND: *op = QB_AND; return 2;
	case T_EQ: *op = QB_EQ; return 3;
	case T_NE: *op = QB_NE; return 3;
	case T_LT: *op = QB_LT; return 3;
	case T_LE: *op = QB_LE; return 3;
	case T_GT: *op = QB_GT; return 3;
	case T_GE: *op = QB_GE; return 3;
	case T_PLUS: *op = QB_ADD; return 4;
	case T_MINUS: *op = QB_SUB; return 4;
	case T_STAR: *op = QB_MUL; return 5;
	case T_SLASH: *op = QB_DIV; return 5;
	case T_PERCENT: *op = QB_MOD; return 5;
	default: return 0;
	}
}

static struct ql_node *parse_binary(struct parser *p, int min)
{
	if (++p->depth > QL_MAX_DEPTH) {
		ql_fail_tok(p, &p->tok, NULL, "expression nests too deep");
		return NULL;
	}
	struct ql_node *a = parse_unary(p);
	int op, prec;
	bool compared = false;
	while (a && (prec = binop(p->tok.t, &op)) >= min && prec > 0) {
		struct token t = p->tok;
		if (prec == 3 && compared) {
			ql_fail_tok(p, &t, "write a < b && b < c", "comparisons do not chain");
			return NULL;
		}
		compared = prec == 3;
		ql_lex(p);
		struct ql_node *b = parse_binary(p, prec + 1);
		if (!b)
			return NULL;
		if (!(a = binary(p, &t, op, a, b)))
			return NULL;
	}
	p->depth--;
	return a;
}

static struct ql_node *parse_expr(struct parser *p)
{
	struct ql_node *c = parse_binary(p, 1);
	if (!c || p->tok.t != T_QUEST)
		return c;
	struct token t = p->tok;
	if (++p->depth > QL_MAX_DEPTH) {
		ql_fail_tok(p, &t, NULL, "expression nests too deep");
		return NULL;
	}
	ql_lex(p);
	struct ql_node *a = parse_expr(p);
	if (!a)
		return NULL;
	if (p->tok.t != T_COLON) {
		ql_fail_tok(p, &p->tok, "a conditional is: condition ? value : other", "expected ':'");
		return NULL;
	}
	ql_lex(p);
	struct ql_node *b = parse_expr(p);
	p->depth--;
	if (!b)
		return NULL;
	struct ql_node *n = node(p, QN_COND, &t);
	if (!n)
		return NULL;
	n->args = arena_alloc(p->q->arena, 3 * sizeof(*n->args));
	if (!n->args)
		return NULL;
	n->args[0] = c;
	n->args[1] = a;
	n->args[2] = b;
	n->nargs = 3;
	span_args(n, c, b);
	return tall(p, n) ? NULL : n;
}

/* ---- statements ---- */

static struct ql_stmt *new_stmt(struct parser *p, enum ql_stmt_kind k, int line)
{
	struct ql_query *q = p->q;
	if (q->nstmts == QL_MAX_STATEMENTS)
		return NULL;
	struct ql_stmt *s = &q->stmts[q->nstmts++];
	s->kind = k;
	s->line = line;
	return s;
}

static bool parse_number(struct parser *p, double *v)
{
	bool neg = false;
	if (p->tok.t == T_MINUS || p->tok.t == T_PLUS) {
		neg = p->tok.t == T_MINUS;
		ql_lex(p);
	}
	if (p->tok.t == T_INT)
		*v = (double)p->tok.ival;
	else if (p->tok.t == T_FLOAT)
		*v = p->tok.fval;
	else if (ql_is_ident(&p->tok, "pi"))
		*v = M_PI;
	else {
		ql_fail_tok(p, &p->tok, NULL, "expected a number");
		return false;
	}
	if (neg)
		*v = -*v;
	ql_lex(p);
	return true;
}

/* key=number,number,... into v (at most max). */
static int parse_numbers(struct parser *p, double *v, int max)
{
	int n = 0;
	for (;;) {
		if (n == max) {
			ql_fail_tok(p, &p->tok, NULL, "too many numbers");
			return -1;
		}
		if (!parse_number(p, &v[n++]))
			return -1;
		if (p->tok.t != T_COMMA)
			return n;
		ql_lex(p);
	}
}

struct hist_opts {
	double bins[2], range[4];
	int nbins, nrange;
	double *edges[2];
	int nedges[2];
	struct token bins_at, range_at;
	const char *xlabel_by; /* "label" or "xlabel", once one gave the x axis label */
};

/* The options of a hist statement, in the order the hint lists them. */
enum hist_key { K_BINS, K_RANGE, K_EDGES, K_XEDGES, K_YEDGES, K_WEIGHT, K_LABEL, K_XLABEL,
		K_YLABEL, K_TITLE, K_COUNT };
static const char *const hist_keys[K_COUNT] = {"bins", "range", "edges", "xedges", "yedges",
					       "weight", "label", "xlabel", "ylabel", "title"};

/* "did you mean weight? A histogram takes bins=, range=, ...": every
 * option, from the table itself, so that the hint never falls behind it. */
static void option_hint(const struct token *key, char *hint, size_t cap)
{
	char name[QL_MAX_NAME + 1];
	snprintf(name, sizeof(name), "%.*s", key->len > QL_MAX_NAME ? QL_MAX_NAME : key->len, key->s);
	ql_suggest(name, hist_keys, K_COUNT, hint, cap);
	size_t n = strlen(hint);
	n += (size_t)snprintf(hint + n, cap - n, "%s histogram takes ", n ? " A" : "a");
	for (int i = 0; i < K_COUNT && n < cap; i++)
		n += (size_t)snprintf(hint + n, cap - n, "%s%s=", i ? ", " : "", hist_keys[i]);
}

/* label="..." and the other strings of a histogram, at the current token. */
static bool parse_hist_text(struct parser *p, struct ql_hist *h, struct hist_opts *o,
			    const struct token *key, enum hist_key which)
{
	if (p->tok.t != T_STRING) {
		ql_fail_tok(p, &p->tok, "put the text in double quotes", "expected a string");
		return false;
	}
	char *s = ql_tok_str(p, &p->tok);
	if (which == K_LABEL || which == K_XLABEL) {
		/* Two spellings of one label: which one would win is a guess. */
		if (o->xlabel_by && o->xlabel_by != hist_keys[which]) {
			ql_fail_tok(p, key, "give one of them", "label= and xlabel= both name the x axis");
			return false;
		}
		o->xlabel_by = hist_keys[which];
		h->axes[0].label = s;
	} else if (which == K_YLABEL) {
		/* A 1-D histogram's y axis shows its values. */
		if (h->ndim == 1)
			h->value_label = s;
		else
			h->axes[1].label = s;
	} else {
		h->title = s;
	}
	ql_lex(p);
	return true;
}

/* edges=/xedges=/yedges= numbers, into the query's arena. */
static bool parse_edges(struct parser *p, struct hist_opts *o, int axis)
{
	double tmp[1024];
	int n = parse_numbers(p, tmp, 1024);
	if (n < 0)
		return false;
	o->edges[axis] = arena_alloc(p->q->arena, (size_t)n * sizeof(double));
	if (!o->edges[axis])
		return false;
	memcpy(o->edges[axis], tmp, (size_t)n * sizeof(double));
	o->nedges[axis] = n;
	return true;
}

static bool parse_hist_option(struct parser *p, struct ql_hist *h, struct hist_opts *o)
{
	struct token key = p->tok;
	int which = -1;
	for (int i = 0; i < K_COUNT; i++)
		if (ql_is_ident(&key, hist_keys[i]))
			which = i;
	ql_lex(p);
	if (which < 0) {
		char hint[512];
		option_hint(&key, hint, sizeof(hint));
		ql_fail_tok(p, &key, hint, "unknown histogram option");
		return false;
	}
	if (p->tok.t != T_ASSIGN) {
		char hint[64];
		snprintf(hint, sizeof(hint), "write %s=...", hist_keys[which]);
		ql_fail_tok(p, &key, hint, "expected '=' after the option name");
		return false;
	}
	ql_lex(p);
	switch (which) {
	case K_BINS:
		o->bins_at = p->tok;
		return (o->nbins = parse_numbers(p, o->bins, 2)) > 0;
	case K_RANGE:
		o->range_at = p->tok;
		return (o->nrange = parse_numbers(p, o->range, 4)) > 0;
	case K_EDGES:
	case K_XEDGES:
	case K_YEDGES:
		return parse_edges(p, o, which == K_YEDGES);
	case K_WEIGHT:
		return (h->weight = parse_expr(p)) != NULL;
	default:
		return parse_hist_text(p, h, o, &key, (enum hist_key)which);
	}
}

/* Turn bins=/range=/edges= into axes, checking what can be checked now. */
static bool make_axes(struct parser *p, struct ql_hist *h, struct hist_opts *o,
		      const struct token *at)
{
	for (int a = 0; a < h->ndim; a++) {
		struct ql_axis *ax = &h->axes[a];
		if (o->edges[a]) {
			int n = o->nedges[a];
			if (n < 2) {
				ql_fail_tok(p, at, NULL, "edges need at least two numbers");
				return false;
			}
			for (int i = 0; i < n; i++)
				if (!isfinite(o->edges[a][i]) || (i && o->edges[a][i] <= o->edges[a][i - 1])) {
					ql_fail_tok(p, at, NULL, "edges must be finite and increasing");
					return false;
				}
			ax->edges = o->edges[a];
			ax->nbins = n - 1;
			ax->lo = ax->edges[0];
			ax->hi = ax->edges[n - 1];
			continue;
		}
		if (o->nbins != h->ndim || o->nrange != 2 * h->ndim) {
			ql_fail_tok(p, o->nbins ? &o->bins_at : at,
				 h->ndim == 1 ? "write bins=N range=lo,hi or edges=e0,e1,..."
					      : "write bins=NX,NY range=xlo,xhi,ylo,yhi",
				 o->nbins == 0 && o->nrange == 0
					 ? "the histogram needs a binning"
					 : "bins= and range= do not match the histogram's dimension");
			return false;
		}
		double nb = o->bins[a];
		if (nb != floor(nb) || nb < 1 || nb > 1000000) {
			ql_fail_tok(p, &o->bins_at, NULL, "bins must be a whole number from 1 to 1000000");
			return false;
		}
		ax->nbins = (int)nb;
		ax->lo = o->range[2 * a];
		ax->hi = o->range[2 * a + 1];
		if (!(ax->lo < ax->hi) || !isfinite(ax->lo) || !isfinite(ax->hi)) {
			ql_fail_tok(p, &o->range_at, NULL, "a range needs lo < hi, both finite");
			return false;
		}
		if (!isfinite(ax->hi - ax->lo) || !isfinite((ax->hi - ax->lo) * ax->nbins)) {
			ql_fail_tok(p, &o->range_at, NULL, "the range is too wide to bin");
			return false;
		}
	}
	if (h->ndim == 2 && (double)h->axes[0].nbins * h->axes[1].nbins > 4e6) {
		ql_fail_tok(p, at, NULL, "a 2-D histogram may have at most 4,000,000 bins");
		return false;
	}
	return true;
}

static bool parse_hist(struct parser *p, struct ql_stmt *s, const struct token *kw)
{
	struct ql_hist *h = &s->u.hist;
	struct token name = p->tok;
	if (name.t != T_IDENT) {
		ql_fail_tok(p, &name, "hist NAME = EXPR bins=N range=lo,hi", "expected the histogram's name");
		return false;
	}
	h->name = ql_tok_str(p, &name);
	ql_lex(p);
	h->ndim = 1;
	if (p->tok.t == T_ASSIGN) {
		ql_lex(p);
		if (!(h->expr[0] = parse_expr(p)))
			return false;
		if (p->tok.t == T_COMMA) {
			ql_lex(p);
			if (!(h->expr[1] = parse_expr(p)))
				return false;
			h->ndim = 2;
		}
	} else {
		/* hist x bins=...: the histogram of the define or branch x. */
		struct ql_node *n = node(p, QN_NAME, &name);
		if (!n)
			return false;
		n->name = h->name;
		h->expr[0] = n;
	}
	struct hist_opts o = {0};
	while (p->tok.t == T_IDENT)
		if (!parse_hist_option(p, h, &o))
			return false;
	if (p->failed)
		return false;
	h->nfilters = p->q->nfilters;
	return make_axes(p, h, &o, &name);
	(void)kw;
}

/* on_error skip | fail: what a task that keeps failing does to its job. */
static bool parse_on_error(struct parser *p, const struct token *kw)
{
	char **words;
	int n = ql_lex_words(p, &words, 2);
	if (n < 0)
		return false;
	if (p->q->on_error_line) {
		ql_fail_tok(p, kw, "keep one on_error line", "on_error is given twice");
		return false;
	}
	if (n != 1 || (strcmp(words[0], "skip") && strcmp(words[0], "fail"))) {
		ql_fail_tok(p, kw,
			    "on_error fail (the default: the job fails) or on_error skip (the job "
			    "completes without the ranges that keep failing)",
			    "on_error takes skip or fail");
		return false;
	}
	p->q->on_error_skip = !strcmp(words[0], "skip");
	p->q->on_error_line = kw->line;
	ql_lex(p);
	return true;
}

static bool parse_statement(struct parser *p)
{
	struct ql_query *q = p->q;
	struct token kw = p->tok;
	static const char *const kws[] = {"dataset", "tree", "define", "filter", "hist", "on_error"};
	int which = -1;
	for (int i = 0; i < 6; i++)
		if (ql_is_ident(&kw, kws[i]))
			which = i;
	if (which < 0) {
		char hint[512], name[QL_MAX_NAME + 1];
		snprintf(name, sizeof(name), "%.*s", kw.len > QL_MAX_NAME ? QL_MAX_NAME : kw.len, kw.s);
		ql_suggest(name, kws, 6, hint, sizeof(hint));
		ql_fail_tok(p, &kw,
			    *hint ? hint : "statements are dataset, tree, define, filter, hist, on_error",
			    kw.t == T_IDENT ? "unknown statement" : "expected a statement");
		return false;
	}
	if (which == 5)
		return parse_on_error(p, &kw);
	if (which <= 1) { /* dataset, tree: words, not tokens */
		char **words;
		int n = ql_lex_words(p, &words, which ? 2 : 4096);
		if (n < 0)
			return false;
		if (n == 0 || (which == 1 && n != 1)) {
			ql_fail_tok(p, &kw, which ? "tree Events" : "dataset data/*.root",
				 which ? "tree takes one name" : "dataset needs at least one path");
			return false;
		}
		if (which == 1) {
			q->tree = words[0];
		} else {
			char **all = arena_alloc(q->arena, (size_t)(q->ndatasets + n) * sizeof(*all));
			if (!all)
				return false;
			if (q->ndatasets)
				memcpy(all, q->datasets, (size_t)q->ndatasets * sizeof(*all));
			memcpy(all + q->ndatasets, words, (size_t)n * sizeof(*all));
			q->datasets = all;
			q->ndatasets += n;
			if (!q->dataset_line)
				q->dataset_line = kw.line;
		}
		ql_lex(p);
		return true;
	}
	ql_lex(p);
	struct ql_stmt *s = new_stmt(p, which == 2 ? QS_DEFINE : which == 3 ? QS_FILTER : QS_HIST,
				     kw.line);
	if (!s) {
		ql_fail_tok(p, &kw, NULL, "too many statements");
		return false;
	}
	if (which == 2) {
		struct token name = p->tok;
		if (name.t != T_IDENT || name.len > QL_MAX_NAME) {
			ql_fail_tok(p, &name, "define NAME = EXPR", "expected the name being defined");
			return false;
		}
		s->u.define.name = ql_tok_str(p, &name);
		ql_lex(p);
		if (p->tok.t != T_ASSIGN) {
			ql_fail_tok(p, &p->tok, "define NAME = EXPR", "expected '='");
			return false;
		}
		ql_lex(p);
		return (s->u.define.expr = parse_expr(p)) != NULL;
	}
	if (which == 3) {
		struct ql_filter *f = &s->u.filter;
		const char *start = p->tok.s;
		if (p->tok.t == T_IDENT) { /* filter NAME: EXPR? */
			struct parser save = *p;
			struct token name = p->tok;
			ql_lex(p);
			if (p->tok.t == T_COLON) {
				f->name = ql_tok_str(p, &name);
				ql_lex(p);
				start = NULL;
			} else {
				*p = save;
			}
		}
		if (!(f->expr = parse_expr(p)))
			return false;
		if (start) { /* named by its text, continuations and runs of blanks as one space */
			const char *end = p->tok.s;
			char name[201];
			size_t k = 0;
			for (const char *c = start; c < end && k < sizeof(name) - 1; c++) {
				bool blank = isspace((unsigned char)*c) ||
					     (*c == '\\' && c + 1 < end && (c[1] == '\n' || c[1] == '\r'));
				if (!blank)
					name[k++] = *c;
				else if (k && name[k - 1] != ' ')
					name[k++] = ' ';
			}
			while (k && name[k - 1] == ' ')
				k--;
			f->name = arena_strndup(q->arena, name, k);
		}
		f->index = q->nfilters++;
		return true;
	}
	q->nhists++;
	return parse_hist(p, s, &kw);
}

int ql_parse(const char *text, size_t len, const char *filename, struct ql_query **out,
	     struct ql_error *err)
{
	if (len > QL_MAX_TEXT) {
		ql_fail(err, filename, "", 0, 0, 0, "split the analysis into several queries",
			"the query is %zu bytes; at most %u are accepted", len, QL_MAX_TEXT);
		return -EFBIG;
	}
	struct ql_query *q = calloc(1, sizeof(*q));
	if (!q || !(q->arena = arena_new()) ||
	    !(q->text = arena_strndup(q->arena, text, len)) ||
	    !(q->filename = arena_strndup(q->arena, filename ? filename : "query",
					  strlen(filename ? filename : "query"))) ||
	    !(q->stmts = calloc(QL_MAX_STATEMENTS, sizeof(*q->stmts)))) {
		ql_free(q);
		return -ENOMEM;
	}
	if (memchr(text, 0, len)) {
		ql_fail(err, filename, "", 0, 0, 0, "queries are text", "the query holds a NUL byte");
		ql_free(q);
		return -EINVAL;
	}
	struct parser p = {.q = q, .err = err, .text = q->text, .len = len, .line = 1, .col = 1};
	ql_lex(&p);
	while (!p.failed && p.tok.t != T_EOF) {
		if (p.tok.t == T_NL) {
			ql_lex(&p);
			continue;
		}
		if (!parse_statement(&p)) {
			/* Every refusal is reported where it is found, but for
			 * an allocation that failed. */
			ql_fail_tok(&p, &p.tok, NULL, "out of memory");
			break;
		}
		if (!p.failed && p.tok.t != T_NL && p.tok.t != T_EOF)
			ql_fail_tok(&p, &p.tok, "one statement per line; end a line with \\ to continue it",
				 "unexpected text after the statement");
	}
	if (!p.failed && q->ndatasets == 0)
		ql_fail(err, q->filename, q->text, 0, 0, 0, "add a line like: dataset data/*.root",
			"the query names no dataset");
	if (p.failed || q->ndatasets == 0) {
		if (p.failed && err && !err->text[0])
			ql_fail(err, q->filename, q->text, p.tok.line, p.tok.col, 1, NULL, "out of memory");
		ql_free(q);
		return -EINVAL;
	}
	*out = q;
	return 0;
}

void ql_free(struct ql_query *q)
{
	if (!q)
		return;
	free(q->stmts);
	free(q->lists);
	arena_free(q->arena);
	free(q);
}

const char *ql_list_name(const struct ql_query *q, int list)
{
	return list >= 0 && list < q->nlists ? q->lists[list] : "?";
}
