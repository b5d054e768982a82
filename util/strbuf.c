/* strbuf.c — the growing text buffer (see strbuf.h). */
#include "strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; 0, or -1 with the error set. */
static int reserve(struct strbuf *b, size_t n)
{
	if (b->err)
		return -1;
	if (b->buf && n < b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 4 - b->len) {
		b->err = -ENOMEM;
		return -1;
	}
	if (b->max && b->len + n > b->max) {
		b->err = -EFBIG;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	char *p = realloc(b->buf, cap);
	if (!p) {
		b->err = -ENOMEM;
		return -1;
	}
	b->buf = p;
	b->cap = cap;
	return 0;
}

void strbuf_put(struct strbuf *b, const void *s, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_put(b, s, strlen(s));
}

void strbuf_putc(struct strbuf *b, char c)
{
	strbuf_put(b, &c, 1);
}

void strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	if (b->err)
		return;
	va_list aq;
	va_copy(aq, ap);
	size_t room = b->buf ? b->cap - b->len : 0;
	int n = vsnprintf(b->buf ? b->buf + b->len : NULL, room, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->err = -ENOMEM;
		return;
	}
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return;
	}
	if (reserve(b, (size_t)n) < 0)
		return;
	vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

int strbuf_finish(struct strbuf *b, char **out, size_t *len)
{
	if (!b->err && !b->buf)
		strbuf_put(b, "", 0);
	int err = b->err;
	if (!err) {
		*out = b->buf;
		if (len)
			*len = b->len;
		b->buf = NULL;
	}
	strbuf_free(b);
	return err;
}

void strbuf_free(struct strbuf *b)
{
	free(b->buf);
	size_t max = b->max;
	memset(b, 0, sizeof(*b));
	b->max = max;
}

size_t utf8_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}
