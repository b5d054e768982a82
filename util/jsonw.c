/* jsonw.c — the JSON writer (see jsonw.h). */
#include "jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
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

/* The comma before a value, unless it follows its key. */
static void pre_value(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->count[w->depth - 1]++ > 0)
		put(w, ',');
}

void jsonw_value_raw(struct jsonw *w, const char *s, size_t n)
{
	pre_value(w);
	jsonw_raw(w, s, n);
}

void jsonw_strn(struct jsonw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	pre_value(w);
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
	pre_value(w);
	put(w, obj ? '{' : '[');
	w->is_obj[w->depth] = obj;
	w->count[w->depth] = 0;
	w->depth++;
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
	put(w, obj ? '}' : ']');
}

void jsonw_obj_begin(struct jsonw *w) { begin(w, true); }
void jsonw_obj_end(struct jsonw *w) { end(w, true); }
void jsonw_arr_begin(struct jsonw *w) { begin(w, false); }
void jsonw_arr_end(struct jsonw *w) { end(w, false); }
