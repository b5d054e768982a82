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

struct ql_node *ql_new_node(struct parser *p, enum ql_kind k, const struct token *at)
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
#define node ql_new_node

struct ql_node *ql_parse_expr(struct parser *p)
{
	return parse_expr(p);
}

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
	case T_STRING: {
		char *str = ql_tok_str(p, &t);
		if ((n = node(p, QN_STR, &t)) && (!str || (n->ival = ql_intern_string(p->q, str)) < 0)) {
			ql_fail_tok(p, &t, NULL, "out of memory");
			return NULL;
		}
		ql_lex(p);
		break;
	}
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
				/* Numbered where written: its random numbers depend on it. */
				if (ql_is_ident(&t, "random_normal"))
					n->ival = ++p->q->nrandom;
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

static struct ql_stmt *new_stmt(struct parser *p, enum ql_stmt_kind k, int line);
static bool parse_number(struct parser *p, double *v);

int ql_intern_string(struct ql_query *q, const char *str)
{
	int id = ql_string_id(q, str);
	if (id >= 0)
		return id;
	if ((q->nstrings & (q->nstrings - 1)) == 0 || !q->strings) {
		char **v = arena_alloc(q->arena, (size_t)(q->nstrings ? 2 * q->nstrings : 8) * sizeof(*v));
		if (!v)
			return -1;
		if (q->nstrings)
			memcpy(v, q->strings, (size_t)q->nstrings * sizeof(*v));
		q->strings = v;
	}
	if (!(q->strings[q->nstrings] = arena_strndup(q->arena, str, strlen(str))))
		return -1;
	return q->nstrings++;
}

int ql_string_id(const struct ql_query *q, const char *str)
{
	for (int i = 0; i < q->nstrings; i++)
		if (!strcmp(q->strings[i], str))
			return i;
	return -1;
}

struct ql_stmt *ql_new_stmt(struct parser *p, enum ql_stmt_kind k, int line)
{
	return new_stmt(p, k, line);
}

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

bool ql_parse_number(struct parser *p, double *v)
{
	return parse_number(p, v);
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
int ql_parse_numbers(struct parser *p, double *v, int max)
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
	static const char *const kws[] = {"dataset", "tree",   "define", "filter", "hist",
					  "on_error", "sample", "lumi",  "weight", "region",
					  "vary",     "defaults", "profile", "plot"};
	enum { NKW = sizeof(kws) / sizeof(kws[0]) };
	int which = -1;
	for (int i = 0; i < NKW; i++)
		if (ql_is_ident(&kw, kws[i]))
			which = i;
	if (which < 0) {
		char hint[512], name[QL_MAX_NAME + 1];
		snprintf(name, sizeof(name), "%.*s", kw.len > QL_MAX_NAME ? QL_MAX_NAME : kw.len, kw.s);
		ql_suggest(name, kws, NKW, hint, sizeof(hint));
		ql_fail_tok(p, &kw,
			    *hint ? hint
				  : "statements are dataset, tree, define, filter, hist, on_error, sample, "
				    "lumi, weight, region, vary, defaults, profile, plot",
			    kw.t == T_IDENT ? "unknown statement" : "expected a statement");
		return false;
	}
	switch (which) {
	case 6: return ql_parse_sample(p, &kw);
	case 7: return ql_parse_lumi(p, &kw);
	case 8: return ql_parse_weight(p, &kw);
	case 9: return ql_parse_region(p, &kw);
	case 10: return ql_parse_vary(p, &kw);
	case 11: return ql_parse_defaults(p, &kw);
	case 13: return ql_parse_plot(p, &kw);
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
	if (which == 12)
		which = 4;
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
	return ql_parse_hist(p, s, ql_is_ident(&kw, "profile"));
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
	if (!p.failed && q->ndatasets == 0 && q->nsamples == 0)
		ql_fail(err, q->filename, q->text, 0, 0, 0, "add a line like: dataset data/*.root",
			"the query names no dataset");
	else if (!p.failed && q->ndatasets && q->nsamples)
		ql_fail(err, q->filename, q->text, q->dataset_line, 1, 7,
			"give every file on the line of its sample",
			"a query with samples takes no dataset line");
	else if (!p.failed)
		ql_check_scales(&p);
	if (p.failed || (q->ndatasets == 0) == (q->nsamples == 0)) {
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
	ql_lookups_free(q);
	free(q->stmts);
	free(q->lists);
	arena_free(q->arena);
	free(q);
}

const char *ql_list_name(const struct ql_query *q, int list)
{
	return list >= 0 && list < q->nlists ? q->lists[list] : "?";
}
