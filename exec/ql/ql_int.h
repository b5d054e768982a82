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
	int sample;           /* the sample checked for */
	const char *basedir;  /* where relative paths of lookup files start (NULL: ".") */
	const char *variation; /* checking the copies of this variation (errors say so) */
	bool name_sample;     /* errors say "(in sample X)": this sample's own */
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

/* Samples, strings, regions, weights and variations (ql_check_vary.c). */
/* n, a QN_NAME, is a sample's value (is_data, sample, xsec, lumi, sumw):
 * true when it is (c->failed set if it may not be used). */
bool ql_check_sample_value(struct ql_checker *c, struct ql_node *n);
bool ql_sample_value_name(const char *name);
/* categories= over the sample's name: every category must be a sample. */
bool ql_check_sample_categories(struct ql_checker *c, const struct ql_axis *ax, const struct ql_node *e);
#define QL_INT_CATEGORIES_HINT "integer categories take an integer value (a charge, a channel number)"

/* Strings are only compared, chosen with ?:, or filled into categories. */
bool ql_check_strings(struct ql_checker *c, struct ql_node *n);
bool ql_check_random(struct ql_checker *c, struct ql_node *n);
/* correction() and lumi_mask(): the file loaded (once per query and
 * path), the inputs checked against it (ql_check_corr.c). */
bool ql_check_lookup(struct ql_checker *c, struct ql_node *n);
void ql_lookups_free(struct ql_query *q);
/* n (c ? a : b, a && b, a || b) when its condition (its left side) is
 * known for the sample checked: replaced by what it comes to, only that
 * checked.  1 when folded and checked, -1 when folded and failed, 0 when
 * there is nothing to fold. */
int ql_fold_sample(struct ql_checker *c, struct ql_node *n);
/* After every statement is checked: the weight, the regions, what each
 * histogram takes from them, and every variation's expressions. */
bool ql_check_analysis(struct ql_checker *c);
bool ql_check_region(struct ql_checker *c, struct ql_region *r);
/* The weight statement's define, just checked: one number per event. */
bool ql_check_weight(struct ql_checker *c);
/* A name node of the weight define, written at line (for a histogram
 * that takes the event weight); NULL on ENOMEM. */
struct ql_node *ql_weight_name(struct ql_checker *c, int line);
/* region= and regions= of h resolved to the regions. */
bool ql_check_hist_regions(struct ql_checker *c, struct ql_hist *h);

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
	bool labels;          /* a number run into letters is a label ("4j1b"): ql_normal.c */
	void *hist_defaults;  /* the defaults line's options (ql_parse.c), or NULL */
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
int ql_lex_word(struct parser *p, struct token *t, bool *quoted);
bool ql_lex_label(struct parser *p, struct token *t);

/* The parser's pieces other files use (ql_parse.c): an expression at the
 * current token, a new statement (NULL past QL_MAX_STATEMENTS), a number
 * (sign, integer, float or pi), the index of string s in the query's
 * strings (added when new; -1 on ENOMEM). */
struct ql_node *ql_parse_expr(struct parser *p);
struct ql_node *ql_new_node(struct parser *p, enum ql_kind k, const struct token *at);
int ql_parse_numbers(struct parser *p, double *v, int max);
/* hist, profile and defaults (ql_parse_hist.c). */
bool ql_parse_hist(struct parser *p, struct ql_stmt *s, bool profile);
bool ql_parse_defaults(struct parser *p, const struct token *kw);
bool ql_parse_plot(struct parser *p, const struct token *kw);
struct ql_stmt *ql_new_stmt(struct parser *p, enum ql_stmt_kind k, int line);
bool ql_parse_number(struct parser *p, double *v);
int ql_intern_string(struct ql_query *q, const char *s);

/* The statements of samples, regions, variations and defaults
 * (ql_parse_stmts.c); kw is the keyword, the current token is the next. */
bool ql_parse_sample(struct parser *p, const struct token *kw);
bool ql_parse_lumi(struct parser *p, const struct token *kw);
bool ql_parse_weight(struct parser *p, const struct token *kw);
bool ql_parse_region(struct parser *p, const struct token *kw);
bool ql_parse_vary(struct parser *p, const struct token *kw);
/* After the last line: lumi and cross sections make sense together. */
void ql_check_scales(struct parser *p);

#endif
