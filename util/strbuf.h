/* strbuf.h — the growing text buffer of every module (file renderers, the
 * store's log text, plots, the JSON writer).
 *
 * Errors are sticky: after an allocation fails, or the buffer would pass
 * its cap, every call does nothing and strbuf_finish() returns the error.
 * The text is NUL-terminated whenever len > 0.
 *
 *	struct strbuf b = STRBUF_INIT;
 *	strbuf_printf(&b, "%d tasks\n", n);
 *	char *s; size_t len;
 *	if (strbuf_finish(&b, &s, &len) == 0) ... free(s);
 *
 * Thread safety: a struct strbuf belongs to one thread at a time. */
#ifndef ANAFS_STRBUF_H
#define ANAFS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	size_t max;   /* 0: no cap; else appends past max bytes fail with -EFBIG */
	int err;      /* 0, -ENOMEM or -EFBIG */
};

#define STRBUF_INIT {NULL, 0, 0, 0, 0}

/* Append n bytes (borrowed). */
void strbuf_put(struct strbuf *b, const void *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap);

/* Hand the text over: *out is new (free()), NUL-terminated, "" when
 * nothing was added; *len (may be NULL) its length.  Returns 0 or the
 * sticky error; the buffer is empty afterwards either way. */
int strbuf_finish(struct strbuf *b, char **out, size_t *len);

/* Drop the text. */
void strbuf_free(struct strbuf *b);

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when
 * it is invalid: overlong forms, surrogates and code points past U+10FFFF
 * are invalid, as RFC 3629 says.  ASCII is 1. */
size_t utf8_len(const unsigned char *s, size_t n);

#endif
