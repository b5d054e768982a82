/* check.h — the checks the unit tests share: each failed check prints
 * where and what, and counts; a test exits non-zero when failures > 0. */
#ifndef ANAFS_TEST_CHECK_H
#define ANAFS_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures;
static int nchecks; /* made by check() */

/* A check that says what failed in a sentence of its own (printf-style). */
static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void check(int ok, const char *fmt, ...)
{
	nchecks++;
	if (ok)
		return;
	failures++;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Strip the whitespace outside strings from JSON text s, in place, so
 * that a test compares the content of pretty-printed JSON (hist.json) with
 * a compact literal; the layout has tests of its own.  Returns s. */
static char *check_json_compact(char *s) __attribute__((unused));
static char *check_json_compact(char *s)
{
	char *o = s;
	int in_str = 0;
	for (const char *p = s; s && *p; p++) {
		if (in_str) {
			*o++ = *p;
			if (*p == '\\' && p[1])
				*o++ = *++p;
			else if (*p == '"')
				in_str = 0;
		} else if (*p != ' ' && *p != '\n') {
			in_str = *p == '"';
			*o++ = *p;
		}
	}
	if (s)
		*o = '\0';
	return s;
}

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

#define CHECK_EQ_I(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
		failures++; \
	} \
} while (0)

#define CHECK_EQ_D(a, b) do { \
	double a_ = (a), b_ = (b); \
	if (a_ != b_) { \
		fprintf(stderr, "%s:%d: %s == %.17g, expected %.17g\n", __FILE__, __LINE__, #a, a_, b_); \
		failures++; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || strcmp(a_, b_) != 0) { \
		fprintf(stderr, "%s:%d: %s ==\n  %s\nexpected\n  %s\n", __FILE__, __LINE__, #a, \
			a_ ? a_ : "(null)", b_); \
		failures++; \
	} \
} while (0)

#endif
