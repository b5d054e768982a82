/* ql_lex.c — the query's tokens: numbers, names, strings, operators, and
 * the path words of dataset lines.  Blanks, comments and backslash-newline
 * continuations are skipped here, so the parser sees only tokens. */
#include "ql_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lexing ---- */

static void advance_char(struct parser *p)
{
	if (p->text[p->pos] == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->pos++;
}

/* Skip blanks, comments and backslash-newline continuations. */
static void skip_space(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->text[p->pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			advance_char(p);
		} else if (c == '#') {
			while (p->pos < p->len && p->text[p->pos] != '\n')
				advance_char(p);
		} else if (c == '\\' && p->pos + 1 < p->len &&
			   (p->text[p->pos + 1] == '\n' ||
			    (p->text[p->pos + 1] == '\r' && p->pos + 2 < p->len &&
			     p->text[p->pos + 2] == '\n'))) {
			while (p->text[p->pos] != '\n')
				advance_char(p);
			advance_char(p);
		} else {
			break;
		}
	}
}

void ql_fail_tok(struct parser *p, const struct token *t, const char *hint, const char *msg)
{
	if (p->failed)
		return;
	p->failed = true;
	ql_fail(p->err, p->q->filename, p->text, t->line, t->col, t->len ? t->len : 1, hint, "%s",
		msg);
}

static void lex_number(struct parser *p, struct token *t)
{
	const char *s = p->text + p->pos;
	char buf[512];
	size_t n = 0;
	bool flt = false;
	while (p->pos + n < p->len) {
		char c = s[n];
		if (isdigit((unsigned char)c) || c == '_') {
			n++;
		} else if (c == '.' || c == 'e' || c == 'E') {
			flt = true;
			n++;
			if ((c == 'e' || c == 'E') && p->pos + n < p->len && (s[n] == '+' || s[n] == '-'))
				n++;
		} else {
			break;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof(buf) - 1; i++)
		if (s[i] != '_')
			buf[k++] = s[i];
	buf[k] = 0;
	char *end;
	errno = 0;
	if (flt) {
		t->t = T_FLOAT;
		t->fval = strtod(buf, &end);
	} else {
		t->t = T_INT;
		unsigned long long v = strtoull(buf, &end, 10);
		if (errno == ERANGE || v > INT64_MAX)
			t->t = T_BAD;
		t->ival = (int64_t)v;
	}
	if (*end || n >= sizeof(buf) - 1 ||
	    (p->pos + n < p->len && (isalpha((unsigned char)s[n]) || s[n] == '_')))
		t->t = T_BAD;
	size_t run = 0;
	while (p->labels && p->pos + run < p->len && (isalnum((unsigned char)s[run]) || s[run] == '_'))
		run++;
	if (t->t == T_BAD && p->labels && run >= n) {
		/* Where the parser reads a label ("4j1b", ql_lex_label), the same run. */
		t->t = T_IDENT;
		n = run;
	}
	for (size_t i = 0; i < n; i++)
		advance_char(p);
}

void ql_lex(struct parser *p)
{
	skip_space(p);
	struct token *t = &p->tok;
	memset(t, 0, sizeof(*t));
	t->line = p->line;
	t->col = p->col;
	t->s = p->text + p->pos;
	size_t start = p->pos;
	if (p->pos >= p->len) {
		t->t = T_EOF;
		return;
	}
	char c = p->text[p->pos], d = p->pos + 1 < p->len ? p->text[p->pos + 1] : 0;
	if (c == '\n') {
		t->t = T_NL;
		advance_char(p);
	} else if (isalpha((unsigned char)c) || c == '_') {
		while (p->pos < p->len &&
		       (isalnum((unsigned char)p->text[p->pos]) || p->text[p->pos] == '_' ||
			p->text[p->pos] == '.'))
			advance_char(p);
		t->t = T_IDENT;
		size_t n = p->pos - start;
		/* Word operators. */
		if (n == 3 && !memcmp(t->s, "and", 3))
			t->t = T_AND;
		else if (n == 2 && !memcmp(t->s, "or", 2))
			t->t = T_OR;
		else if (n == 3 && !memcmp(t->s, "not", 3))
			t->t = T_NOT;
	} else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)d))) {
		lex_number(p, t);
	} else if (c == '"') {
		advance_char(p);
		while (p->pos < p->len && p->text[p->pos] != '"' && p->text[p->pos] != '\n')
			advance_char(p);
		if (p->pos < p->len && p->text[p->pos] == '"') {
			advance_char(p);
			t->t = T_STRING;
		} else {
			t->t = T_BAD;
		}
	} else {
		static const struct {
			char a, b;
			enum tok t;
		} ops[] = {
			{'*', '*', T_POW}, {'=', '=', T_EQ}, {'!', '=', T_NE}, {'<', '=', T_LE},
			{'>', '=', T_GE},  {'&', '&', T_AND}, {'|', '|', T_OR}, {'(', 0, T_LP},
			{')', 0, T_RP},    {'[', 0, T_LB},   {']', 0, T_RB},   {',', 0, T_COMMA},
			{'=', 0, T_ASSIGN}, {':', 0, T_COLON}, {'?', 0, T_QUEST}, {'+', 0, T_PLUS},
			{'-', 0, T_MINUS}, {'*', 0, T_STAR}, {'/', 0, T_SLASH}, {'%', 0, T_PERCENT},
			{'<', 0, T_LT},    {'>', 0, T_GT},   {'!', 0, T_NOT},
		};
		t->t = T_BAD;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (ops[i].a == c && (!ops[i].b || ops[i].b == d)) {
				t->t = ops[i].t;
				advance_char(p);
				if (ops[i].b)
					advance_char(p);
				break;
			}
		if (t->t == T_BAD)
			advance_char(p);
	}
	t->len = p->line == t->line ? (int)(p->pos - start) : 1;
	if (t->t == T_BAD) {
		char msg[128];
		snprintf(msg, sizeof(msg), "unexpected '%.*s'", t->len > 20 ? 20 : t->len, t->s);
		ql_fail_tok(p, t, t->s[0] == '"' ? "a string ends with \" on the same line"
				  : t->s[0] == '&' ? "write && (or 'and')"
				  : t->s[0] == '|' ? "write || (or 'or')"
				  : NULL, msg);
	}
}

bool ql_is_ident(const struct token *t, const char *word)
{
	return t->t == T_IDENT && (size_t)t->len == strlen(word) && !memcmp(t->s, word, (size_t)t->len);
}

char *ql_tok_str(struct parser *p, const struct token *t)
{
	const char *s = t->s;
	int n = t->len;
	if (t->t == T_STRING) {
		s++;
		n -= 2;
	}
	return arena_strndup(p->q->arena, s, (size_t)n);
}

/* One word of the rest of the line (a path, a glob, a URL, "..." quoted)
 * into *t (its text with the quotes, *quoted telling): 1, 0 at the end of
 * the line, -1 with the error set. */
int ql_lex_word(struct parser *p, struct token *t, bool *quoted)
{
	skip_space(p);
	if (p->pos >= p->len || p->text[p->pos] == '\n')
		return 0;
	*t = (struct token){.t = T_BAD, .line = p->line, .col = p->col, .s = p->text + p->pos};
	size_t start = p->pos;
	*quoted = p->text[p->pos] == '"';
	if (*quoted)
		advance_char(p);
	while (p->pos < p->len && p->text[p->pos] != '\n' &&
	       (*quoted ? p->text[p->pos] != '"'
			: !isspace((unsigned char)p->text[p->pos]) && p->text[p->pos] != '#'))
		advance_char(p);
	t->len = (int)(p->pos - start);
	if (*quoted) {
		if (p->pos >= p->len || p->text[p->pos] != '"') {
			ql_fail_tok(p, t, NULL, "unterminated quoted path");
			return -1;
		}
		advance_char(p);
		t->len++;
	}
	return 1;
}

/* The rest of the line as words (paths, globs, URLs); "..." quotes. */
int ql_lex_words(struct parser *p, char ***out, int max)
{
	char **v = arena_alloc(p->q->arena, (size_t)max * sizeof(*v));
	int n = 0;
	if (!v)
		return -1;
	for (;;) {
		struct token t;
		bool quoted;
		int rc = ql_lex_word(p, &t, &quoted);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (n == max) {
			ql_fail_tok(p, &t, NULL, "too many paths on one line");
			return -1;
		}
		v[n++] = arena_strndup(p->q->arena, t.s + quoted, (size_t)t.len - 2 * quoted);
	}
	*out = v;
	return n;
}

/* A name that may start with a digit (a region's "4j1b", a sample's or a
 * variation's name): letters, digits and '_' from the current position;
 * then the next token is read.  False when there is none. */
bool ql_lex_label(struct parser *p, struct token *t)
{
	skip_space(p);
	*t = (struct token){.t = T_IDENT, .line = p->line, .col = p->col, .s = p->text + p->pos};
	size_t start = p->pos;
	while (p->pos < p->len && (isalnum((unsigned char)p->text[p->pos]) || p->text[p->pos] == '_'))
		advance_char(p);
	t->len = (int)(p->pos - start);
	ql_lex(p);
	return t->len > 0;
}
