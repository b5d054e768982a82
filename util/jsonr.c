/* jsonr.c — the JSON reader of jsonr.h: one recursive-descent pass, bounded
 * in depth, values gathered on scratch stacks and copied into the arena
 * when their container closes (so each array and object is one contiguous
 * block and nothing is reallocated inside the arena). */
#include "jsonr.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ana_err.h"
#include "arena.h"

enum { F_TRUE = 1, F_INT = 2, F_FITS = 4 };

struct jsonr_val {
	uint8_t type;
	uint8_t flags;   /* F_*: the literal true; an integer literal; one that fits int64 */
	uint32_t len;    /* elements, members or string bytes */
	uint32_t line, col;
	union {
		double num;
		int64_t i;   /* with F_FITS */
		const char *str;
		const struct jsonr_val *items;
		const struct jsonr_mem *mems;
	} u;
};

struct jsonr_mem {
	const char *key;
	uint32_t klen;
	uint32_t kline, kcol; /* where the key is, for the duplicate-key error */
	struct jsonr_val val;
};

struct jsonr_doc {
	struct arena *arena;
	struct jsonr_val root;
};

struct parser {
	const unsigned char *p, *end;
	const unsigned char *line_start;
	unsigned line;
	struct arena *arena;
	size_t nvalues;
	struct jsonr_val *vs;  /* elements of the open arrays */
	size_t nvs, capvs;
	struct jsonr_mem *ms;  /* members of the open objects */
	size_t nms, capms;
	char *sb;              /* a string being decoded */
	size_t capsb;
	int err;
	char *why;
	size_t cap;
};

static void say(struct parser *ps, int err, const unsigned char *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(struct parser *ps, int err, const unsigned char *at, const char *fmt, ...)
{
	if (ps->err)
		return;
	ps->err = err;
	if (!ps->why || !ps->cap)
		return;
	int n = snprintf(ps->why, ps->cap, "line %u, column %u: ", ps->line,
			 (unsigned)(at - ps->line_start) + 1);
	if (n < 0 || (size_t)n >= ps->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->why + n, ps->cap - (size_t)n, fmt, ap);
	va_end(ap);
}

static void nomem(struct parser *ps)
{
	say(ps, -ENOMEM, ps->p, "out of memory");
}

/* Grow *buf (of *cap elements of size sz) to hold at least need. */
static int grow(void **buf, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(*buf, n * sz);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Newlines are only legal between tokens, so counting them here keeps
 * the line of every position right. */
static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		unsigned char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->line_start = ++ps->p;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else {
			break;
		}
	}
}

static int peek(const struct parser *ps)
{
	return ps->p < ps->end ? *ps->p : -1;
}

static void expected(struct parser *ps, const char *what)
{
	if (ps->p >= ps->end)
		say(ps, -EINVAL, ps->p, "unexpected end of input (expected %s)", what);
	else if (*ps->p == '/')
		say(ps, -EINVAL, ps->p, "expected %s (comments are not JSON)", what);
	else
		say(ps, -EINVAL, ps->p, "expected %s", what);
}

static void start_val(struct parser *ps, struct jsonr_val *v, uint8_t type)
{
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->line = ps->line;
	v->col = (uint32_t)(ps->p - ps->line_start) + 1;
	if (++ps->nvalues > JSONR_MAX_VALUES)
		say(ps, ANA_ETOOBIG, ps->p, "more than %zu values", JSONR_MAX_VALUES);
}

static int put_sb(struct parser *ps, size_t *n, const char *s, size_t k)
{
	if (grow((void **)&ps->sb, &ps->capsb, *n + k + 1, 1)) {
		nomem(ps);
		return -1;
	}
	memcpy(ps->sb + *n, s, k);
	*n += k;
	ps->sb[*n] = 0; /* strtod needs the end marked */
	return 0;
}

static int hex4(const unsigned char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t utf8_put(char *b, unsigned cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (char)(0xF0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	b[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The length of the well-formed UTF-8 sequence at s (at most end), or 0. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else
		return 0;
	if ((size_t)(end - s) < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* A \u escape at ps->p (on the backslash), joined with its low surrogate. */
static int unicode_escape(struct parser *ps, size_t *n)
{
	const unsigned char *at = ps->p;
	int cp = ps->end - ps->p >= 6 ? hex4(ps->p + 2) : -1;
	if (cp < 0) {
		say(ps, -EINVAL, at, "expected four hex digits after \\u");
		return -1;
	}
	ps->p += 6;
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		say(ps, -EINVAL, at, "a low surrogate \\u%04X without a high one before it", cp);
		return -1;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		int lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2) : -1;
		if (lo < 0xDC00 || lo > 0xDFFF) {
			say(ps, -EINVAL, at, "a high surrogate \\u%04X without a low one after it", cp);
			return -1;
		}
		ps->p += 6;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	char b[4];
	return put_sb(ps, n, b, utf8_put(b, (unsigned)cp));
}

/* The string at ps->p (on its quote) decoded into ps->sb; its length in
 * *len.  Runs without escapes are copied in one go. */
static int read_string(struct parser *ps, size_t *len)
{
	size_t n = 0;
	ps->p++;
	for (;;) {
		const unsigned char *run = ps->p;
		while (ps->p < ps->end && *ps->p >= 0x20 && *ps->p < 0x80 && *ps->p != '"' && *ps->p != '\\')
			ps->p++;
		if (put_sb(ps, &n, (const char *)run, (size_t)(ps->p - run)))
			return -1;
		if (ps->p >= ps->end) {
			say(ps, -EINVAL, ps->p, "unexpected end of input inside a string");
			return -1;
		}
		unsigned char c = *ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20) {
			say(ps, -EINVAL, ps->p, "control character 0x%02X in a string (write it as \\u%04X)", c, c);
			return -1;
		}
		if (c >= 0x80) {
			size_t k = utf8_len(ps->p, ps->end);
			if (!k) {
				say(ps, -EINVAL, ps->p, "invalid UTF-8 byte 0x%02X", c);
				return -1;
			}
			if (put_sb(ps, &n, (const char *)ps->p, k))
				return -1;
			ps->p += k;
			continue;
		}
		/* A backslash. */
		if (ps->end - ps->p < 2) {
			say(ps, -EINVAL, ps->p, "unexpected end of input inside a string");
			return -1;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e = ps->p[1] ? strchr(from, ps->p[1]) : NULL;
		if (e) {
			if (put_sb(ps, &n, &to[e - from], 1))
				return -1;
			ps->p += 2;
		} else if (ps->p[1] == 'u') {
			if (unicode_escape(ps, &n))
				return -1;
		} else {
			say(ps, -EINVAL, ps->p, "invalid escape in a string");
			return -1;
		}
	}
	if (n > UINT32_MAX) { /* cannot happen under JSONR_MAX_INPUT, kept for the cast */
		say(ps, ANA_ETOOBIG, ps->p, "a string too long");
		return -1;
	}
	*len = n;
	return 0;
}

static const char *keep_string(struct parser *ps, size_t len)
{
	const char *s = arena_strndup(ps->arena, ps->sb, len);
	if (!s)
		nomem(ps);
	return s;
}

/* A number: the RFC 8259 grammar checked here, then strtod over a
 * NUL-terminated copy (the text need not be terminated). */
static void read_number(struct parser *ps, struct jsonr_val *v)
{
	const unsigned char *s = ps->p, *q = s;
	bool isint = true;
	if (q < ps->end && *q == '-')
		q++;
	if (q < ps->end && *q == '0') {
		q++;
		if (q < ps->end && *q >= '0' && *q <= '9') {
			say(ps, -EINVAL, q, "a number with a leading zero");
			return;
		}
	} else if (q < ps->end && *q >= '1' && *q <= '9') {
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	} else {
		if (q < ps->end && *q == 'I')
			say(ps, -EINVAL, s, "expected a value (Infinity is not JSON)");
		else
			say(ps, -EINVAL, q, "expected a digit");
		return;
	}
	if (q < ps->end && *q == '.') {
		isint = false;
		if (++q >= ps->end || *q < '0' || *q > '9') {
			say(ps, -EINVAL, q, "expected a digit after '.'");
			return;
		}
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		isint = false;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || *q < '0' || *q > '9') {
			say(ps, -EINVAL, q, "expected a digit in the exponent");
			return;
		}
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	size_t n = 0;
	if (put_sb(ps, &n, (const char *)s, (size_t)(q - s)))
		return;
	ps->p = q;
	if (isint) {
		/* Exact int64 where it fits: accumulate negatively, as INT64_MIN has no positive twin. */
		const char *d = ps->sb + (*ps->sb == '-');
		int64_t acc = 0;
		bool fits = true;
		for (; *d && fits; d++) {
			int k = *d - '0';
			if (acc < (INT64_MIN + k) / 10)
				fits = false;
			else
				acc = acc * 10 - k;
		}
		v->flags |= F_INT;
		if (fits && *ps->sb != '-' && acc == INT64_MIN)
			fits = false;
		if (fits) {
			v->flags |= F_FITS;
			v->u.i = *ps->sb == '-' ? acc : -acc;
			return;
		}
	}
	v->u.num = strtod(ps->sb, NULL);
	if (!isfinite(v->u.num))
		say(ps, -EINVAL, s, "a number out of the range of a double");
}

static void read_value(struct parser *ps, struct jsonr_val *v, int depth);

static void read_array(struct parser *ps, struct jsonr_val *v, int depth)
{
	size_t base = ps->nvs;
	ps->p++;
	skip_ws(ps);
	if (peek(ps) != ']') {
		for (;;) {
			struct jsonr_val e;
			read_value(ps, &e, depth + 1);
			if (ps->err)
				goto out;
			if (grow((void **)&ps->vs, &ps->capvs, ps->nvs + 1, sizeof(*ps->vs))) {
				nomem(ps);
				goto out;
			}
			ps->vs[ps->nvs++] = e;
			skip_ws(ps);
			if (peek(ps) == ']')
				break;
			if (peek(ps) != ',') {
				expected(ps, "',' or ']'");
				goto out;
			}
			ps->p++;
			skip_ws(ps);
			if (peek(ps) == ']') {
				expected(ps, "a value (no trailing comma)");
				goto out;
			}
		}
	}
	ps->p++;
	size_t n = ps->nvs - base;
	struct jsonr_val *items = n ? arena_alloc(ps->arena, n * sizeof(*items)) : NULL;
	if (n && !items) {
		nomem(ps);
		goto out;
	}
	if (n)
		memcpy(items, ps->vs + base, n * sizeof(*items));
	v->u.items = items;
	v->len = (uint32_t)n;
out:
	ps->nvs = base;
}

static int by_key(const void *a, const void *b)
{
	const struct jsonr_mem *x = *(const struct jsonr_mem *const *)a, *y = *(const struct jsonr_mem *const *)b;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	int c = memcmp(x->key, y->key, x->klen);
	/* Equal keys in text order, so that the later one is reported. */
	return c ? c : (x < y ? -1 : x > y);
}

static bool same_key(const struct jsonr_mem *a, const struct jsonr_mem *b)
{
	return a->klen == b->klen && !memcmp(a->key, b->key, a->klen);
}

static void duplicate(struct parser *ps, const struct jsonr_mem *m)
{
	if (ps->err || !ps->why || !ps->cap)
		goto set;
	snprintf(ps->why, ps->cap, "line %u, column %u: duplicate key \"%.60s\"", m->kline, m->kcol, m->key);
set:
	if (!ps->err)
		ps->err = -EINVAL;
}

/* Duplicate keys among the n members at m: pairwise for small objects,
 * sorted for large ones, so that a hostile object costs n log n. */
static void check_keys(struct parser *ps, const struct jsonr_mem *m, size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (same_key(&m[i], &m[j])) {
					duplicate(ps, &m[i]);
					return;
				}
		return;
	}
	const struct jsonr_mem **s = malloc(n * sizeof(*s));
	if (!s) {
		nomem(ps);
		return;
	}
	for (size_t i = 0; i < n; i++)
		s[i] = &m[i];
	qsort(s, n, sizeof(*s), by_key);
	for (size_t i = 1; i < n; i++)
		if (same_key(s[i], s[i - 1])) {
			duplicate(ps, s[i]);
			break;
		}
	free(s);
}

static void read_object(struct parser *ps, struct jsonr_val *v, int depth)
{
	size_t base = ps->nms;
	ps->p++;
	skip_ws(ps);
	if (peek(ps) != '}') {
		for (;;) {
			struct jsonr_mem m;
			memset(&m, 0, sizeof(m));
			if (peek(ps) != '"') {
				expected(ps, ps->nms > base ? "a string key (no trailing comma)" : "a string key or '}'");
				goto out;
			}
			m.kline = ps->line;
			m.kcol = (uint32_t)(ps->p - ps->line_start) + 1;
			size_t klen = 0;
			if (read_string(ps, &klen) || !(m.key = keep_string(ps, klen)))
				goto out;
			m.klen = (uint32_t)klen;
			skip_ws(ps);
			if (peek(ps) != ':') {
				expected(ps, "':'");
				goto out;
			}
			ps->p++;
			skip_ws(ps);
			read_value(ps, &m.val, depth + 1);
			if (ps->err)
				goto out;
			if (grow((void **)&ps->ms, &ps->capms, ps->nms + 1, sizeof(*ps->ms))) {
				nomem(ps);
				goto out;
			}
			ps->ms[ps->nms++] = m;
			skip_ws(ps);
			if (peek(ps) == '}')
				break;
			if (peek(ps) != ',') {
				expected(ps, "',' or '}'");
				goto out;
			}
			ps->p++;
			skip_ws(ps);
		}
	}
	ps->p++;
	size_t n = ps->nms - base;
	check_keys(ps, ps->ms + base, n);
	if (ps->err)
		goto out;
	struct jsonr_mem *mems = n ? arena_alloc(ps->arena, n * sizeof(*mems)) : NULL;
	if (n && !mems) {
		nomem(ps);
		goto out;
	}
	if (n)
		memcpy(mems, ps->ms + base, n * sizeof(*mems));
	v->u.mems = mems;
	v->len = (uint32_t)n;
out:
	ps->nms = base;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

/* The value at ps->p (whitespace already skipped), depth containers deep. */
static void read_value(struct parser *ps, struct jsonr_val *v, int depth)
{
	int c = peek(ps);
	memset(v, 0, sizeof(*v));
	if ((c == '[' || c == '{') && depth >= JSONR_MAX_DEPTH) {
		say(ps, -EINVAL, ps->p, "nesting deeper than %d", JSONR_MAX_DEPTH);
		return;
	}
	switch (c) {
	case '[':
		start_val(ps, v, JSONR_ARR);
		if (!ps->err)
			read_array(ps, v, depth);
		return;
	case '{':
		start_val(ps, v, JSONR_OBJ);
		if (!ps->err)
			read_object(ps, v, depth);
		return;
	case '"': {
		start_val(ps, v, JSONR_STR);
		size_t len = 0;
		if (!ps->err && !read_string(ps, &len) && (v->u.str = keep_string(ps, len)))
			v->len = (uint32_t)len;
		return;
	}
	case 't':
	case 'f':
	case 'n':
		start_val(ps, v, c == 'n' ? JSONR_NULL : JSONR_BOOL);
		if (literal(ps, "true"))
			v->flags = F_TRUE;
		else if (!literal(ps, "false") && !literal(ps, "null"))
			expected(ps, "a value");
		return;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			start_val(ps, v, JSONR_NUM);
			if (!ps->err)
				read_number(ps, v);
		} else if (c == 'N' || c == 'I') {
			expected(ps, "a value (NaN and Infinity are not JSON)");
		} else {
			expected(ps, "a value");
		}
	}
}

int jsonr_parse(const char *text, size_t len, struct jsonr_doc **out, char *why, size_t cap)
{
	struct parser ps = {
		.p = (const unsigned char *)text, .end = (const unsigned char *)text + len,
		.line_start = (const unsigned char *)text, .line = 1, .why = why, .cap = cap,
	};
	struct jsonr_doc *d = NULL;
	if (why && cap)
		why[0] = 0;
	if (len > JSONR_MAX_INPUT) {
		say(&ps, ANA_ETOOBIG, ps.p, "the text is %zu bytes, more than the %zu read", len, JSONR_MAX_INPUT);
		goto out;
	}
	if (!(d = calloc(1, sizeof(*d))) || !(d->arena = arena_new()) ) {
		nomem(&ps);
		goto out;
	}
	ps.arena = d->arena;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		ps.p += 3;
	skip_ws(&ps);
	read_value(&ps, &d->root, 0);
	if (!ps.err) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			say(&ps, -EINVAL, ps.p, "expected the end of the text after the value");
	}
out:
	free(ps.vs);
	free(ps.ms);
	free(ps.sb);
	if (ps.err) {
		jsonr_free(d);
		return ps.err;
	}
	*out = d;
	return 0;
}

void jsonr_free(struct jsonr_doc *d)
{
	if (!d)
		return;
	arena_free(d->arena);
	free(d);
}

const struct jsonr_val *jsonr_root(const struct jsonr_doc *d)
{
	return d ? &d->root : NULL;
}

enum jsonr_type jsonr_type(const struct jsonr_val *v)
{
	return v ? (enum jsonr_type)v->type : JSONR_NONE;
}

const char *jsonr_type_name(enum jsonr_type t)
{
	static const char *const names[] = {"nothing", "null", "a boolean", "a number",
					    "a string", "an array", "an object"};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "nothing";
}

size_t jsonr_len(const struct jsonr_val *v)
{
	return v && (v->type == JSONR_ARR || v->type == JSONR_OBJ || v->type == JSONR_STR) ? v->len : 0;
}

const struct jsonr_val *jsonr_at(const struct jsonr_val *v, size_t i)
{
	if (!v || i >= v->len)
		return NULL;
	if (v->type == JSONR_ARR)
		return &v->u.items[i];
	if (v->type == JSONR_OBJ)
		return &v->u.mems[i].val;
	return NULL;
}

const char *jsonr_key_at(const struct jsonr_val *obj, size_t i, size_t *len)
{
	if (!obj || obj->type != JSONR_OBJ || i >= obj->len)
		return NULL;
	if (len)
		*len = obj->u.mems[i].klen;
	return obj->u.mems[i].key;
}

const struct jsonr_val *jsonr_get(const struct jsonr_val *obj, const char *key)
{
	if (!obj || obj->type != JSONR_OBJ)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct jsonr_mem *m = &obj->u.mems[i];
		if (m->klen == n && !memcmp(m->key, key, n))
			return &m->val;
	}
	return NULL;
}

double jsonr_num(const struct jsonr_val *v)
{
	if (!v || v->type != JSONR_NUM)
		return NAN;
	return v->flags & F_FITS ? (double)v->u.i : v->u.num;
}

bool jsonr_is_int(const struct jsonr_val *v)
{
	return v && v->type == JSONR_NUM && (v->flags & F_INT);
}

bool jsonr_int64(const struct jsonr_val *v, int64_t *out)
{
	if (!v || v->type != JSONR_NUM || !(v->flags & F_FITS))
		return false;
	*out = v->u.i;
	return true;
}

const char *jsonr_str(const struct jsonr_val *v, size_t *len)
{
	if (!v || v->type != JSONR_STR)
		return NULL;
	if (len)
		*len = v->len;
	return v->u.str;
}

bool jsonr_bool(const struct jsonr_val *v)
{
	return v && v->type == JSONR_BOOL && (v->flags & F_TRUE);
}

void jsonr_where(const struct jsonr_val *v, unsigned *line, unsigned *col)
{
	*line = v ? v->line : 0;
	*col = v ? v->col : 0;
}
