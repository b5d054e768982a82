/* test_jsonr.c — the JSON reader: values, escapes, numbers, key order,
 * every refusal with its line and column, the depth limit; and the layout
 * of the writer's pretty mode (jsonw.h), read back by the reader. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ana_err.h"
#include "check.h"
#include "jsonr.h"
#include "jsonw.h"

static struct jsonr_doc *parse(const char *text)
{
	struct jsonr_doc *d = NULL;
	char why[256];
	int rc = jsonr_parse(text, strlen(text), &d, why, sizeof(why));
	check(rc == 0, "parse %s: %d %s", text, rc, why);
	return d;
}

/* text must be refused with rc and exactly the message want. */
static void refused(const char *text, size_t len, int rc, const char *want)
{
	struct jsonr_doc *d = NULL;
	char why[256] = "";
	int got = jsonr_parse(text, len, &d, why, sizeof(why));
	check(got == rc && d == NULL, "%.40s: rc %d, expected %d", text, got, rc);
	check(!strcmp(why, want), "%.40s:\n  %s\nexpected\n  %s", text, why, want);
	if (!got)
		jsonr_free(d);
}

#define REFUSED(text, want) refused(text, strlen(text), -EINVAL, want)

static void test_values(void)
{
	struct jsonr_doc *d = parse(" {\"b\": [1, -2.5, true, false, null, \"x\"],\n  \"a\": {}, \"c\": []} ");
	const struct jsonr_val *r = jsonr_root(d), *b = jsonr_get(r, "b");
	CHECK(jsonr_type(r) == JSONR_OBJ);
	CHECK_EQ_I(jsonr_len(r), 3);
	/* Key order is the text's. */
	CHECK_STR(jsonr_key_at(r, 0, NULL), "b");
	CHECK_STR(jsonr_key_at(r, 1, NULL), "a");
	CHECK_STR(jsonr_key_at(r, 2, NULL), "c");
	CHECK(jsonr_key_at(r, 3, NULL) == NULL);
	CHECK_EQ_I(jsonr_len(b), 6);
	CHECK_EQ_D(jsonr_num(jsonr_at(b, 0)), 1);
	CHECK(jsonr_is_int(jsonr_at(b, 0)));
	CHECK_EQ_D(jsonr_num(jsonr_at(b, 1)), -2.5);
	CHECK(!jsonr_is_int(jsonr_at(b, 1)));
	CHECK(jsonr_bool(jsonr_at(b, 2)));
	CHECK(jsonr_type(jsonr_at(b, 3)) == JSONR_BOOL && !jsonr_bool(jsonr_at(b, 3)));
	CHECK(jsonr_type(jsonr_at(b, 4)) == JSONR_NULL);
	CHECK_STR(jsonr_str(jsonr_at(b, 5), NULL), "x");
	CHECK(jsonr_at(b, 6) == NULL);
	CHECK(jsonr_type(jsonr_get(r, "a")) == JSONR_OBJ && jsonr_len(jsonr_get(r, "a")) == 0);
	CHECK(jsonr_type(jsonr_get(r, "c")) == JSONR_ARR && jsonr_len(jsonr_get(r, "c")) == 0);
	/* Missing values chain to nothing. */
	CHECK(jsonr_get(r, "zz") == NULL);
	CHECK(jsonr_type(jsonr_at(jsonr_get(r, "zz"), 0)) == JSONR_NONE);
	CHECK(isnan(jsonr_num(jsonr_get(r, "zz"))));
	CHECK(jsonr_str(jsonr_at(b, 0), NULL) == NULL);
	/* Where values start: "a" is on line 2, column 8. */
	unsigned line, col;
	jsonr_where(jsonr_get(r, "a"), &line, &col);
	CHECK_EQ_I(line, 2);
	CHECK_EQ_I(col, 8);
	jsonr_free(d);

	/* Any value may be the top one; a BOM is skipped. */
	d = parse("\xEF\xBB\xBF 42 ");
	CHECK_EQ_D(jsonr_num(jsonr_root(d)), 42);
	jsonr_free(d);
	d = parse("\"top\"");
	CHECK_STR(jsonr_str(jsonr_root(d), NULL), "top");
	jsonr_free(d);
}

static void test_numbers(void)
{
	struct jsonr_doc *d = parse("[0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808,"
				    " 1e2, 1.5E-3, 0.1, 123456789012345678901234567890, 2.2250738585072014e-308, 5e-324]");
	const struct jsonr_val *a = jsonr_root(d);
	int64_t v = 0;
	CHECK(jsonr_int64(jsonr_at(a, 0), &v) && v == 0);
	CHECK(jsonr_int64(jsonr_at(a, 1), &v) && v == 0);
	CHECK(jsonr_int64(jsonr_at(a, 2), &v) && v == INT64_MAX);
	CHECK(jsonr_int64(jsonr_at(a, 3), &v) && v == INT64_MIN);
	/* One past int64: still an integer literal, read as a double. */
	CHECK(!jsonr_int64(jsonr_at(a, 4), &v) && jsonr_is_int(jsonr_at(a, 4)));
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 4)), 9223372036854775808.0);
	CHECK(!jsonr_is_int(jsonr_at(a, 5)) && !jsonr_int64(jsonr_at(a, 5), &v));
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 5)), 100);
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 6)), 0.0015);
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 7)), 0.1);
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 8)), 1.2345678901234568e29);
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 9)), 2.2250738585072014e-308);
	CHECK_EQ_D(jsonr_num(jsonr_at(a, 10)), 5e-324);
	jsonr_free(d);
	/* An integer past 2^53 as a double is the nearest one, as strtod gives. */
	d = parse("9007199254740993");
	CHECK_EQ_D(jsonr_num(jsonr_root(d)), 9007199254740992.0);
	CHECK(jsonr_int64(jsonr_root(d), &v) && v == 9007199254740993LL);
	jsonr_free(d);
}

static void test_strings(void)
{
	size_t len = 0;
	struct jsonr_doc *d = parse("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\","
				    " \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"a\\u0000b\", \"\"]");
	const struct jsonr_val *a = jsonr_root(d);
	CHECK_STR(jsonr_str(jsonr_at(a, 0), NULL), "a\"b\\c/d\b\f\n\r\t");
	CHECK_STR(jsonr_str(jsonr_at(a, 1), NULL), "\xc3\xa9\xe2\x82\xac");
	CHECK_STR(jsonr_str(jsonr_at(a, 2), NULL), "\xf0\x9f\x98\x80");
	CHECK_STR(jsonr_str(jsonr_at(a, 3), NULL), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	const char *z = jsonr_str(jsonr_at(a, 4), &len);
	CHECK(z && len == 3 && !memcmp(z, "a\0b", 3));
	CHECK_EQ_I(jsonr_len(jsonr_at(a, 4)), 3);
	CHECK_STR(jsonr_str(jsonr_at(a, 5), &len), "");
	CHECK_EQ_I(len, 0);
	jsonr_free(d);
	/* Escaped keys are found by their decoded text. */
	d = parse("{\"k\\u0065y\": 1}");
	CHECK_EQ_D(jsonr_num(jsonr_get(jsonr_root(d), "key")), 1);
	jsonr_free(d);
}

static void test_refusals(void)
{
	REFUSED("", "line 1, column 1: unexpected end of input (expected a value)");
	REFUSED("{\"a\": 1,\n \"b\": 2\n ]", "line 3, column 2: expected ',' or '}'");
	REFUSED("[1, 2,]", "line 1, column 7: expected a value (no trailing comma)");
	REFUSED("{\"a\": 1,}", "line 1, column 9: expected a string key (no trailing comma)");
	REFUSED("{\"a\" 1}", "line 1, column 6: expected ':'");
	REFUSED("{a: 1}", "line 1, column 2: expected a string key or '}'");
	REFUSED("[1 2]", "line 1, column 4: expected ',' or ']'");
	REFUSED("[1] // c", "line 1, column 5: expected the end of the text after the value");
	REFUSED("/* c */ 1", "line 1, column 1: expected a value (comments are not JSON)");
	REFUSED("[NaN]", "line 1, column 2: expected a value (NaN and Infinity are not JSON)");
	REFUSED("[-Infinity]", "line 1, column 2: expected a value (Infinity is not JSON)");
	REFUSED("[01]", "line 1, column 3: a number with a leading zero");
	REFUSED("[1.]", "line 1, column 4: expected a digit after '.'");
	REFUSED("[.5]", "line 1, column 2: expected a value");
	REFUSED("[1e]", "line 1, column 4: expected a digit in the exponent");
	REFUSED("[+1]", "line 1, column 2: expected a value");
	REFUSED("[1e999]", "line 1, column 2: a number out of the range of a double");
	REFUSED("[tru]", "line 1, column 2: expected a value");
	REFUSED("\"abc", "line 1, column 5: unexpected end of input inside a string");
	REFUSED("\"a\nb\"", "line 1, column 3: control character 0x0A in a string (write it as \\u000A)");
	REFUSED("\"\\x\"", "line 1, column 2: invalid escape in a string");
	REFUSED("\"\\u12g4\"", "line 1, column 2: expected four hex digits after \\u");
	REFUSED("\"\\ud83d\"", "line 1, column 2: a high surrogate \\uD83D without a low one after it");
	REFUSED("\"\\ude00\"", "line 1, column 2: a low surrogate \\uDE00 without a high one before it");
	REFUSED("\"\xc0\xaf\"", "line 1, column 2: invalid UTF-8 byte 0xC0");      /* overlong '/' */
	REFUSED("\"\xed\xa0\x80\"", "line 1, column 2: invalid UTF-8 byte 0xED");  /* a surrogate */
	REFUSED("\"\xf4\x90\x80\x80\"", "line 1, column 2: invalid UTF-8 byte 0xF4"); /* past U+10FFFF */
	REFUSED("\"\xe2\x82\"", "line 1, column 2: invalid UTF-8 byte 0xE2");      /* cut short */
	REFUSED("{\"a\": 1,\n  \"a\": 2}", "line 2, column 3: duplicate key \"a\"");
	/* A NUL byte inside the text is not whitespace. */
	refused("[1,\0 2]", 7, -EINVAL, "line 1, column 4: expected a value");

	/* Duplicates in a large object are found too (the sorted check). */
	char big[4096];
	size_t n = 0;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "{");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%d\": %d, ", i, i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k42\": 0}");
	char want[64];
	snprintf(want, sizeof(want), "line 1, column %zu: duplicate key \"k42\"", n - strlen("\"k42\": 0}") + 1);
	REFUSED(big, want);
	big[n - 7] = 'x', big[n - 6] = 'y';
	struct jsonr_doc *d = parse(big);
	CHECK_EQ_I(jsonr_len(jsonr_root(d)), 101);
	CHECK_EQ_D(jsonr_num(jsonr_get(jsonr_root(d), "kxy")), 0);
	jsonr_free(d);
}

/* 128 containers deep is read; 129 is refused. */
static void test_depth(void)
{
	char text[600];
	for (int depth = 127; depth <= 129; depth++) {
		size_t n = 0;
		for (int i = 0; i < depth; i++)
			text[n++] = '[';
		for (int i = 0; i < depth; i++)
			text[n++] = ']';
		text[n] = 0;
		struct jsonr_doc *d = NULL;
		char why[128];
		int rc = jsonr_parse(text, n, &d, why, sizeof(why));
		if (depth <= JSONR_MAX_DEPTH) {
			check(rc == 0, "depth %d: %s", depth, why);
			jsonr_free(d);
		} else {
			CHECK_EQ_I(rc, -EINVAL);
			CHECK_STR(why, "line 1, column 129: nesting deeper than 128");
		}
	}
	/* Objects count as well. */
	size_t n = 0;
	for (int i = 0; i < 129; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"\":");
	refused(text, n, -EINVAL, "line 1, column 513: nesting deeper than 128");
	/* Over the size limit: refused before a byte is read. */
	struct jsonr_doc *d = NULL;
	char why[128];
	CHECK_EQ_I(jsonr_parse("1", JSONR_MAX_INPUT + 1, &d, why, sizeof(why)), ANA_ETOOBIG);
}

/* Pretty layout: members on their own lines, one space per level, scalars
 * of an array on one line however long, containers of at most JSONW_LINE
 * bytes on one line, line breaks in strings escaped. */
static void test_pretty(void)
{
	struct jsonw w;
	jsonw_init_pretty(&w);
	jsonw_obj_begin(&w);
	const char *labels[][2] = {
		{ "short", "a\nb" },
		{ "long", "a title long enough to keep this object on several lines" },
	};
	for (int i = 0; i < 2; i++) {
		jsonw_key(&w, labels[i][0]);
		jsonw_obj_begin(&w);
		jsonw_key(&w, i ? "title" : "label");
		jsonw_str(&w, labels[i][1]);
		jsonw_key(&w, i ? "n" : "e");
		if (i) {
			jsonw_int(&w, 1);
		} else {
			jsonw_arr_begin(&w);
			jsonw_arr_end(&w);
		}
		jsonw_obj_end(&w);
	}
	jsonw_key(&w, "values");
	jsonw_arr_begin(&w);
	for (int i = 0; i < 30; i++)
		jsonw_int(&w, i);
	jsonw_arr_end(&w);
	jsonw_key(&w, "matrix");
	jsonw_arr_begin(&w);
	for (int r = 0; r < 3; r++) {
		jsonw_arr_begin(&w);
		for (int i = 0; i < 12; i++)
			jsonw_double(&w, r + i / 4.0);
		jsonw_arr_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "small");
	jsonw_arr_begin(&w);
	for (int r = 0; r < 2; r++) {
		jsonw_arr_begin(&w);
		jsonw_int(&w, r);
		jsonw_bool(&w, r);
		jsonw_arr_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	size_t len = 0;
	char *s = jsonw_finish(&w, &len);
	const char *want =
		"{\n"
		" \"short\": {\"label\": \"a\\u000ab\", \"e\": []},\n"
		" \"long\": {\n"
		"  \"title\": \"a title long enough to keep this object on several lines\",\n"
		"  \"n\": 1\n"
		" },\n"
		" \"values\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, "
		"20, 21, 22, 23, 24, 25, 26, 27, 28, 29],\n"
		" \"matrix\": [\n"
		"  [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75],\n"
		"  [1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75],\n"
		"  [2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 4.25, 4.5, 4.75]\n"
		" ],\n"
		" \"small\": [[0, false], [1, true]]\n"
		"}";
	check(s && !strcmp(s, want), "pretty:\n%s\nexpected\n%s", s ? s : "(null)", want);
	check(s && len == strlen(s), "pretty: length %zu", len);
	struct jsonr_doc *d = s ? parse(s) : NULL;
	const struct jsonr_val *v = jsonr_get(jsonr_root(d), "values");
	check(jsonr_len(v) == 30, "pretty: 30 values read back");
	jsonr_free(d);
	free(s);

	/* A top-level scalar and an empty object stay as they are. */
	jsonw_init_pretty(&w);
	jsonw_obj_begin(&w);
	jsonw_obj_end(&w);
	s = jsonw_finish(&w, NULL);
	check(s && !strcmp(s, "{}"), "pretty empty object: %s", s ? s : "(null)");
	free(s);
}

int main(void)
{
	test_values();
	test_numbers();
	test_strings();
	test_refusals();
	test_depth();
	test_pretty();
	printf("test_jsonr: %d checks, %d failures\n", nchecks, failures);
	return failures != 0;
}
