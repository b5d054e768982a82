/* jsonw.c — the JSON writer (see jsonw.h). */
#include "jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

void jsonw_init_pretty(struct jsonw *w)
{
	jsonw_init(w);
	w->pretty = true;
}

void jsonw_free(struct jsonw *w)
{
	strbuf_free(&w->out);
	jsonw_init(w);
}

char *jsonw_finish(struct jsonw *w, size_t *len)
{
	char *s = NULL;

	if (!w->err && w->depth != 0)
		w->err = -EINVAL;
	if (!w->err)
		w->err = strbuf_finish(&w->out, &s, len);
	int err = w->err;
	jsonw_free(w);
	w->err = err;
	return err ? NULL : s;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (w->err)
		return;
	strbuf_put(&w->out, s, n);
	w->err = w->out.err;
}

static void put(struct jsonw *w, char c)
{
	jsonw_raw(w, &c, 1);
}

static void newline(struct jsonw *w, int depth)
{
	static const char sp[JSONW_MAX_DEPTH + 1] = "\n                                ";
	jsonw_raw(w, sp, (size_t)depth + 1);
}

/* The comma before a value, unless it follows its key; pretty, the line
 * break before a member of an object and before an array's element that
 * is a container or follows one (scalars of an array run on one line). */
static void pre_value(struct jsonw *w, bool container)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	int d = w->depth - 1;
	bool first = w->count[d]++ == 0;
	if (!w->pretty) {
		if (!first)
			put(w, ',');
		return;
	}
	bool own_line = w->is_obj[d] || container || w->nested[d];
	if (!first)
		jsonw_raw(w, own_line ? "," : ", ", own_line ? 1 : 2);
	if (own_line)
		newline(w, w->depth);
	if (container)
		w->nested[d] = true;
}

void jsonw_value_raw(struct jsonw *w, const char *s, size_t n)
{
	pre_value(w, false);
	jsonw_raw(w, s, n);
}

void jsonw_strn(struct jsonw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	pre_value(w, false);
	put(w, '"');
	while (i < n && !w->err) {
		/* Copy the longest run that needs no escaping in one go. */
		size_t j = i;
		while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
			j++;
		jsonw_raw(w, (const char *)s + i, j - i);
		i = j;
		if (i == n)
			break;
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			jsonw_raw(w, e, 2);
			i++;
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", c);
			jsonw_raw(w, e, 6);
			i++;
		} else {
			size_t len = utf8_len(s + i, n - i);
			if (len) {
				jsonw_raw(w, (const char *)s + i, len);
				i += len;
			} else {
				jsonw_raw(w, "\xEF\xBF\xBD", 3); /* U+FFFD */
				i++;
			}
		}
	}
	put(w, '"');
}

void jsonw_str(struct jsonw *w, const char *s)
{
	if (!s)
		jsonw_null(w);
	else
		jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	jsonw_value_raw(w, b, (size_t)n);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	jsonw_value_raw(w, b, (size_t)n);
}

size_t jsonw_fmt_double(char *buf, double v)
{
	if (!isfinite(v))
		return 0;
	if (fabs(v) < 1e16 && v == trunc(v))
		return (size_t)snprintf(buf, 32, "%.0f", v);
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* printf and strtod follow LC_NUMERIC: under a locale with a decimal
	 * comma both use it, so the round trip above holds; JSON wants '.'. */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	return (size_t)n;
}

void jsonw_double(struct jsonw *w, double v)
{
	char b[32];
	size_t n = jsonw_fmt_double(b, v);
	if (n == 0)
		jsonw_null(w);
	else
		jsonw_value_raw(w, b, n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	if (v)
		jsonw_value_raw(w, "true", 4);
	else
		jsonw_value_raw(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
	jsonw_value_raw(w, "null", 4);
}

void jsonw_key(struct jsonw *w, const char *k)
{
	if (w->err)
		return;
	if (w->depth == 0 || !w->is_obj[w->depth - 1] || w->after_key) {
		w->err = -EINVAL;
		return;
	}
	jsonw_str(w, k); /* counts as the object's next item: comma included */
	if (w->pretty)
		jsonw_raw(w, ": ", 2);
	else
		put(w, ':');
	w->after_key = true;
}

static void begin(struct jsonw *w, bool obj)
{
	if (w->err)
		return;
	if (w->depth == JSONW_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	pre_value(w, true);
	w->start[w->depth] = w->out.len;
	put(w, obj ? '{' : '[');
	w->is_obj[w->depth] = obj;
	w->count[w->depth] = 0;
	w->nested[w->depth] = false;
	w->depth++;
}

/* The one-line form of the container text from start to the end: every
 * line break with its indentation goes, a space staying after a comma.
 * Line breaks are ours alone (strings escape control characters).
 * Measures without writing when dst is NULL, giving up past limit. */
static size_t one_line(char *s, size_t n, char *dst, size_t limit)
{
	size_t o = 0;
	char prev = 0;
	for (size_t i = 0; i < n && o <= limit; i++) {
		char c = s[i];
		if (c == '\n') {
			while (i + 1 < n && s[i + 1] == ' ')
				i++;
			if (prev != ',')
				continue;
			c = ' ';
		}
		if (dst)
			dst[o] = c;
		o++;
		prev = c;
	}
	return o;
}

static void end(struct jsonw *w, bool obj)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->is_obj[w->depth - 1] != obj || w->after_key) {
		w->err = -EINVAL;
		return;
	}
	w->depth--;
	int d = w->depth;
	bool broken = w->pretty && (obj || w->nested[d]) && w->count[d] > 0;
	if (broken)
		newline(w, d);
	put(w, obj ? '}' : ']');
	if (!broken || w->err)
		return;
	char *s = w->out.buf + w->start[d];
	size_t n = w->out.len - w->start[d];
	if (one_line(s, n, NULL, JSONW_LINE) <= JSONW_LINE)
	{
		w->out.len = w->start[d] + one_line(s, n, s, SIZE_MAX);
		w->out.buf[w->out.len] = '\0';
	}
}
void jsonw_obj_begin(struct jsonw *w) { begin(w, true); }
void jsonw_obj_end(struct jsonw *w) { end(w, true); }
void jsonw_arr_begin(struct jsonw *w) { begin(w, false); }
void jsonw_arr_end(struct jsonw *w) { end(w, false); }
