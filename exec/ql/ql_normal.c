/* ql_normal.c — a query's normal text: what two submissions of one query
 * have in common when they differ only in comments, blanks, line
 * continuations and the order of their defines.  The coordinator keys
 * reused results on it (docs/internals.md, "Reused results"). */
#include "ql_int.h"

#include "strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One statement: where its normal text lies in the buffer. */
struct line {
	size_t at, len;
	bool define;
};

static int by_text(const void *a, const void *b, void *ctx)
{
	const struct line *x = a, *y = b;
	const char *buf = ctx;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(buf + x->at, buf + y->at, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* dataset, tree, on_error, sample: ql_parse.c reads the rest as words. */
static bool word_statement(const struct token *t)
{
	return ql_is_ident(t, "dataset") || ql_is_ident(t, "tree") ||
	       ql_is_ident(t, "on_error") || ql_is_ident(t, "sample");
}

int ql_normal_text(const char *text, size_t len, char **out, size_t *outlen)
{
	static struct ql_query none;
	struct ql_error err;
	struct parser p = {.q = &none, .err = &err, .text = text, .len = len, .line = 1, .col = 1,
			   .labels = true};
	struct strbuf toks = {0};
	struct line *lines = NULL;
	size_t nlines = 0, cap = 0;
	bool random = false, fresh = true;
	int rc = 0;
	/* Each statement's tokens, one blank between two, one line each. */
	for (;;) {
		ql_lex(&p);
		if (p.failed) {
			rc = -EINVAL;
			break;
		}
		const struct token *t = &p.tok;
		if (t->t == T_EOF || t->t == T_NL) {
			fresh = true;
			if (t->t == T_EOF)
				break;
			continue;
		}
		if (fresh) {
			if (nlines == cap) {
				size_t ncap = cap ? 2 * cap : 32;
				struct line *nl = realloc(lines, ncap * sizeof(*nl));
				if (!nl) {
					rc = -ENOMEM;
					break;
				}
				lines = nl;
				cap = ncap;
			}
			lines[nlines++] = (struct line){toks.len, 0, ql_is_ident(t, "define")};
			fresh = false;
		} else {
			strbuf_putc(&toks, ' ');
		}
		strbuf_put(&toks, t->s, (size_t)t->len);
		random |= ql_is_ident(t, "random_normal");
		/* The statements the parser reads as words (paths, URLs, a
		 * sample's options), as words: "-1x" in a path is no token. */
		if (toks.len - lines[nlines - 1].at == (size_t)t->len && word_statement(t)) {
			struct token w;
			bool quoted;
			while ((rc = ql_lex_word(&p, &w, &quoted)) > 0) {
				strbuf_putc(&toks, ' ');
				strbuf_put(&toks, w.s, (size_t)w.len);
			}
			if (rc < 0) {
				rc = -EINVAL;
				break;
			}
		}
		lines[nlines - 1].len = toks.len - lines[nlines - 1].at;
	}
	if (!rc && toks.err)
		rc = toks.err;
	/* Defines may come in any order (each name once, none hiding a
	 * branch), unless random_normal() numbers its calls in text order:
	 * the other statements in theirs, then the defines sorted. */
	struct strbuf b = {0};
	size_t ndefs = 0;
	for (size_t i = 0; !rc && i < nlines; i++) {
		if (lines[i].define && !random) {
			lines[ndefs++] = lines[i]; /* ndefs <= i: nothing unread is overwritten */
			continue;
		}
		strbuf_put(&b, toks.buf + lines[i].at, lines[i].len);
		strbuf_putc(&b, '\n');
	}
	if (!rc && ndefs > 1)
		qsort_r(lines, ndefs, sizeof(*lines), by_text, toks.buf);
	strbuf_puts(&b, "--\n");
	for (size_t i = 0; !rc && i < ndefs; i++) {
		strbuf_put(&b, toks.buf + lines[i].at, lines[i].len);
		strbuf_putc(&b, '\n');
	}
	free(lines);
	strbuf_free(&toks);
	if (rc) {
		strbuf_free(&b);
		return rc;
	}
	return strbuf_finish(&b, out, outlen);
}
