/* ql_int.h — what the query-language files share. */
#ifndef ANAFS_QL_INT_H
#define ANAFS_QL_INT_H

#include "arena.h"
#include "ql.h"

#include <stdbool.h>
#include <stdint.h>

/* Write "did you mean a, b or c?" into out for the candidates closest to
 * name, or "" when none is close. */
void ql_suggest(const char *name, const char *const *cands, size_t n, char *out, size_t cap);

/* The function table: name, id, argument count (-1: any), what it is. */
struct ql_fninfo {
	const char *name;
	enum ql_fn id;
	int nargs;
	const char *what;
};
const struct ql_fninfo *ql_function(const char *name, int nargs);
extern const struct ql_fninfo ql_functions[];
extern const size_t ql_nfunctions;

/* ---- the checker (ql_check.c, ql_check_lists.c) ---- */

struct ql_checker {
	struct ql_query *q;
	const struct ql_schema *sc;
	struct ql_error *err;
	struct ql_define **defines;
	int ndefines;
	bool failed;
};

/* Fail at n (the first failure wins): always false.  fmt takes two %s. */
bool ql_cfail(struct ql_checker *c, const struct ql_node *n, const char *hint, const char *fmt,
	      const char *a, const char *b);
/* The index of the list called name, added when new; -1 on ENOMEM. */
int ql_intern_list(struct ql_checker *c, const char *name);
const char *ql_type_name(enum ql_type t);
/* n's shape from its k arguments': lists must line up. */
bool ql_combine(struct ql_checker *c, struct ql_node *n, struct ql_node **args, int k);
enum ql_type ql_promote(enum ql_type a, enum ql_type b);
bool ql_need_bool(struct ql_checker *c, struct ql_node *n, const char *what);
/* Append a canonical text of n to buf (at *len): false when it does not fit. */
bool ql_write_key(const struct ql_node *n, char *buf, size_t cap, int *len);
/* Check n and its arguments. */
bool ql_check_node(struct ql_checker *c, struct ql_node *n);
/* x[lo:hi], and the list functions (id >= QF_ARGMAX) with n->op set. */
bool ql_check_slice(struct ql_checker *c, struct ql_node *n);
bool ql_check_list_call(struct ql_checker *c, struct ql_node *n, const struct ql_fninfo *f);

/* ---- the lexer and the parser (ql_lex.c, ql_parse.c) ---- */

enum tok {
	T_EOF, T_NL, T_IDENT, T_INT, T_FLOAT, T_STRING,
	T_LP, T_RP, T_LB, T_RB, T_COMMA, T_ASSIGN, T_COLON, T_QUEST,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT, T_POW,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_AND, T_OR, T_NOT,
	T_BAD,
};

struct token {
	enum tok t;
	int line, col, len;
	const char *s; /* start in the text */
	int64_t ival;
	double fval;
};

struct parser {
	struct ql_query *q;
	struct ql_error *err;
	const char *text;
	size_t len, pos;
	int line, col;
	struct token tok; /* current */
	int depth;
	bool failed;
};

/* Read the next token into p->tok. */
void ql_lex(struct parser *p);
/* Fail at token t with msg and hint (may be NULL); p->failed is set. */
void ql_fail_tok(struct parser *p, const struct token *t, const char *hint, const char *msg);
bool ql_is_ident(const struct token *t, const char *word);
/* Token t's text (a string without its quotes), in the query's arena. */
char *ql_tok_str(struct parser *p, const struct token *t);
/* The rest of the line as words (paths, globs, URLs; "..." quotes), at
 * most max: the count, or -1 with the error set. */
int ql_lex_words(struct parser *p, char ***out, int max);

#endif
