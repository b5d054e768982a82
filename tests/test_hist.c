/* test_hist.c — histograms and the JSON writer, against hand-worked values.
 *
 * Usage: test_hist [OUTDIR].  With OUTDIR, every hist.json produced here is
 * also written there as a file, for hist_schema_check.py. */
#include "hist.h"
#include "jsonw.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
static const char *outdir;

static struct hist *new_or_die(const struct hist_def *def)
{
	struct hist *h = NULL;
	const char *why = NULL;
	int rc = hist_new(def, &h, &why);
	if (rc != 0) {
		fprintf(stderr, "hist_new(%s): %d %s\n", def->name, rc, why ? why : "");
		exit(1);
	}
	return h;
}

static struct hist *reg1(const char *name, int n, double lo, double hi, bool weighted)
{
	struct hist_def d = { .name = name, .ndim = 1, .weighted = weighted,
			      .axes = { { .nbins = n, .lo = lo, .hi = hi } } };
	return new_or_die(&d);
}

/* hist_to_json of n histograms; written to OUTDIR/file when given. */
static char *to_json(struct hist *const *h, size_t n, const char *file)
{
	char *s = NULL;
	size_t len = 0;
	int rc = hist_to_json(h, n, "0.1.0", &s, &len);
	CHECK_EQ_I(rc, 0);
	if (rc != 0)
		return NULL;
	CHECK_EQ_I(len, strlen(s));
	if (outdir && file) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", outdir, file);
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			CHECK(fwrite(s, 1, len, f) == len);
			CHECK(fclose(f) == 0);
		}
	}
	return check_json_compact(s);
}

/* ---- the JSON writer ---- */

static void check_str(const char *in, size_t n, const char *want)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_strn(&w, in, n);
	char *s = jsonw_finish(&w, NULL);
	CHECK_STR(s, want);
	free(s);
}

static void check_double(double v, const char *want)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_double(&w, v);
	char *s = jsonw_finish(&w, NULL);
	CHECK_STR(s, want);
	free(s);
}

static void test_jsonw(void)
{
	check_str("plain", 5, "\"plain\"");
	check_str("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_str("\n\t\x01\x1f", 4, "\"\\u000a\\u0009\\u0001\\u001f\"");
	check_str("nul\0x", 5, "\"nul\\u0000x\"");
	check_str("m_\xce\xbc\xce\xbc \xf0\x9f\x98\x80", 11, "\"m_\xce\xbc\xce\xbc \xf0\x9f\x98\x80\"");
	check_str("a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"");
	/* Overlong NUL, a surrogate, a truncated sequence, past U+10FFFF. */
	check_str("\xc0\x80", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_str("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_str("x\xe2\x82", 3, "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
	check_str("\xf4\x90\x80\x80", 4,
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_str("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");

	check_double(0, "0");
	check_double(-0.0, "-0");
	check_double(0.1, "0.1");
	check_double(1.0 / 3, "0.3333333333333333");
	check_double(0.1 + 0.2, "0.30000000000000004");
	check_double(1e15, "1000000000000000");
	check_double(-9999999999999998.0, "-9999999999999998");
	check_double(1e16, "1e+16");
	check_double(123456789012345680.0, "1.2345678901234568e+17");
	check_double(1e-7, "1e-07");
	check_double(DBL_MAX, "1.7976931348623157e+308");
	check_double(5e-324, "4.94065645841247e-324");
	check_double(NAN, "null");
	check_double(INFINITY, "null");
	check_double(-INFINITY, "null");

	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "a");
	jsonw_arr_begin(&w);
	jsonw_int(&w, INT64_MIN);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "b");
	jsonw_null(&w);
	jsonw_key(&w, "");
	jsonw_arr_begin(&w);
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	jsonw_value_raw(&w, "{\"r\":1}", 7);
	jsonw_arr_end(&w);
	jsonw_key(&w, "c");
	jsonw_bool(&w, true);
	jsonw_key(&w, "d");
	jsonw_str(&w, NULL);
	jsonw_obj_end(&w);
	size_t len = 0;
	char *s = jsonw_finish(&w, &len);
	CHECK_STR(s, "{\"a\":[-9223372036854775808,18446744073709551615,{\"b\":null,\"\":[]},"
		     "{\"r\":1}],\"c\":true,\"d\":null}");
	CHECK_EQ_I(len, s ? strlen(s) : 0);
	free(s);

	/* Misuse is sticky and reported by jsonw_finish(). */
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	jsonw_obj_end(&w);
	CHECK(jsonw_finish(&w, NULL) == NULL);
	CHECK_EQ_I(w.err, -EINVAL);
	jsonw_init(&w);
	jsonw_arr_begin(&w);
	jsonw_key(&w, "k"); /* a key outside an object */
	CHECK(jsonw_finish(&w, NULL) == NULL);
	CHECK_EQ_I(w.err, -EINVAL);
	jsonw_init(&w);
	for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
		jsonw_arr_begin(&w);
	CHECK_EQ_I(w.err, -EINVAL);
	jsonw_free(&w);
	jsonw_init(&w);
	for (int i = 0; i < JSONW_MAX_DEPTH; i++)
		jsonw_arr_begin(&w);
	for (int i = 0; i < JSONW_MAX_DEPTH; i++)
		jsonw_arr_end(&w);
	CHECK_EQ_I(w.err, 0);
	s = jsonw_finish(&w, NULL);
	CHECK(s && strlen(s) == 2 * JSONW_MAX_DEPTH);
	free(s);
	jsonw_init(&w);
	jsonw_obj_begin(&w); /* left open */
	CHECK(jsonw_finish(&w, NULL) == NULL);
	CHECK_EQ_I(w.err, -EINVAL);
}

/* ---- binning ---- */

static void test_regular(void)
{
	struct hist *h = reg1("r", 10, 0, 1, false);
	const double below = nextafter(1.0, 0.0);
	struct { double x; int bin; } cases[] = {
		{ 0.0, 1 }, { -0.0, 1 }, { 1.0, 11 }, { below, 10 }, { -INFINITY, 0 },
		{ INFINITY, 11 }, { -1e-300, 0 }, { 0.5, 6 }, { 0.1, 2 },
		{ 0.3, 4 },   /* 10 * 0.3 = 3.0000000000000004 */
		{ 0.7, 8 },   /* 10 * 0.7 = 7.000000000000001 */
		{ 0.09999999999999999, 1 }, { 1e300, 11 }, { DBL_MIN, 1 },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	double xs[32];

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_I(hist_find_bin(h, 0, cases[i].x), cases[i].bin);
		xs[i] = cases[i].x;
	}
	CHECK_EQ_I(hist_find_bin(h, 0, NAN), -1);
	CHECK_EQ_I(hist_find_bin(h, 1, 0.5), -1);
	xs[n] = NAN;
	xs[n + 1] = -NAN;
	hist_fill1(h, xs, NULL, n + 2);
	int64_t want[12] = { 0 };
	for (size_t i = 0; i < n; i++)
		want[cases[i].bin]++;
	for (int b = 0; b < 12; b++) {
		CHECK_EQ_I(hist_count(h, b, 0), want[b]);
		CHECK_EQ_D(hist_value(h, b, 0), (double)want[b]);
		CHECK_EQ_D(hist_variance(h, b, 0), (double)want[b]);
	}
	CHECK_EQ_I(want[0], 2);
	CHECK_EQ_I(want[11], 3);
	CHECK_EQ_I(hist_skipped(h), 2);
	CHECK_EQ_I(hist_entries(h), n);
	CHECK_EQ_I(hist_nbins(h, 0), 10);
	CHECK_EQ_I(hist_ndim(h), 1);
	CHECK(!hist_weighted(h));
	CHECK_STR(hist_name(h), "r");
	CHECK_STR(hist_title(h), "");
	CHECK_STR(hist_label(h, 0), "");
	CHECK_EQ_D(hist_edge(h, 0, 1), 0);
	CHECK_EQ_D(hist_edge(h, 0, 4), 0.3); /* 0 + 1 * 3 / 10 */
	CHECK_EQ_D(hist_edge(h, 0, 11), 1);
	hist_free(h);

	/* Rounding at the top edge: 10 * (prev(0.1) + 3) / 3.1 rounds to 10.0;
	 * the point is still below hi and must stay in the last bin. */
	h = reg1("top", 10, -3.0, 0.1, false);
	CHECK_EQ_I(hist_find_bin(h, 0, 0.09999999999999999), 10);
	CHECK_EQ_I(hist_find_bin(h, 0, 0.1), 11);
	CHECK_EQ_I(hist_find_bin(h, 0, -3.0), 1);
	hist_free(h);
}

/* The reference's convention: points built as lo + (hi - lo) * i / 20 land
 * in bin floor(20 * (x - lo) / (hi - lo)) + 1, which rounding sometimes puts
 * one below i + 1 (worked out by hand: -2.16 on [-2.4, 2.4), and
 * 0.33999999999999997 on [0.1, 0.7)). */
static void test_reference_convention(void)
{
	const double ranges[][2] = { { -2.4, 2.4 }, { 0.1, 0.7 }, { 0.25, 300 }, { 0, 1 }, { -7.31, 1.16 } };

	for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		double lo = ranges[r][0], hi = ranges[r][1];
		struct hist *h = reg1("ref", 20, lo, hi, false);
		for (int i = 0; i <= 20; i++) {
			double x0 = lo + (hi - lo) * i / 20;
			double xs[3] = { nextafter(x0, -INFINITY), x0, nextafter(x0, INFINITY) };
			for (int k = 0; k < 3; k++) {
				double x = xs[k];
				int want = x < lo ? 0 : x >= hi ? 21 : (int)floor(20 * (x - lo) / (hi - lo)) + 1;
				if (want == 21 && x < hi)
					want = 20; /* rounded up to 20 below hi: kept in the last bin */
				CHECK_EQ_I(hist_find_bin(h, 0, x), want);
			}
		}
		hist_free(h);
	}
	struct hist *h = reg1("ref", 20, -2.4, 2.4, false);
	CHECK_EQ_I(hist_find_bin(h, 0, -2.4 + 4.8 * 1 / 20), 1);
	CHECK_EQ_D(hist_edge(h, 0, 2), -2.16);
	hist_free(h);
	h = reg1("ref", 20, 0.1, 0.7, false);
	CHECK_EQ_I(hist_find_bin(h, 0, 0.1 + (0.7 - 0.1) * 8 / 20), 8);
	hist_free(h);
}

static void test_variable(void)
{
	const double edges[] = { 0, 1, 2.5, 10 };
	struct hist_def d = { .name = "v", .ndim = 1,
			      .axes = { { .nbins = 3, .edges = edges, .label = "x" } } };
	struct hist *h = new_or_die(&d);
	struct { double x; int bin; } cases[] = {
		{ 0, 1 }, { 1, 2 }, { 2.5, 3 }, { 10, 4 }, { -0.1, 0 }, { 9.99, 3 },
		{ 0.5, 1 }, { -INFINITY, 0 }, { INFINITY, 4 }, { nextafter(1, 0), 1 },
		{ nextafter(10, 0), 3 }, { 2.4999, 2 },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	double xs[16];
	int64_t want[5] = { 0 };

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_I(hist_find_bin(h, 0, cases[i].x), cases[i].bin);
		xs[i] = cases[i].x;
		want[cases[i].bin]++;
	}
	xs[n] = NAN;
	hist_fill1(h, xs, NULL, n + 1);
	for (int b = 0; b < 5; b++)
		CHECK_EQ_I(hist_count(h, b, 0), want[b]);
	CHECK_EQ_I(hist_skipped(h), 1);
	CHECK_EQ_I(hist_entries(h), n);
	CHECK_EQ_D(hist_edge(h, 0, 3), 2.5);
	CHECK_EQ_D(hist_edge(h, 0, 4), 10);
	CHECK_STR(hist_label(h, 0), "x");
	hist_free(h);

	/* One bin, and many bins (the binary search over every edge). */
	const double one[] = { -1, 1 };
	d.axes[0].nbins = 1;
	d.axes[0].edges = one;
	h = new_or_die(&d);
	CHECK_EQ_I(hist_find_bin(h, 0, -1), 1);
	CHECK_EQ_I(hist_find_bin(h, 0, 1), 2);
	CHECK_EQ_I(hist_find_bin(h, 0, -1.5), 0);
	hist_free(h);
	enum { NB = 1000 };
	static double many[NB + 1];
	for (int i = 0; i <= NB; i++)
		many[i] = i * 0.5;
	d.axes[0].nbins = NB;
	d.axes[0].edges = many;
	h = new_or_die(&d);
	for (int i = 0; i < NB; i++) {
		CHECK_EQ_I(hist_find_bin(h, 0, many[i]), i + 1);
		CHECK_EQ_I(hist_find_bin(h, 0, many[i] + 0.25), i + 1);
	}
	CHECK_EQ_I(hist_find_bin(h, 0, many[NB]), NB + 1);
	hist_free(h);
}

static void test_2d(void)
{
	const double ey[] = { 0, 1, 3 };
	struct hist_def d = { .name = "xy", .ndim = 2,
			      .axes = { { .nbins = 2, .lo = 0, .hi = 2 },
					{ .nbins = 2, .edges = ey } } };
	struct hist *h = new_or_die(&d);
	const double x[] = { 0.5, 1.5, -1, 2, 1, NAN, 1, 0.5 };
	const double y[] = { 0.5, 2, 0.5, 3, 5, 1, NAN, 0.5 };
	hist_fill2(h, x, y, NULL, 8);
	int64_t want[4][4] = { { 0 } };
	want[1][1] = 2; want[2][2] = 1; want[0][1] = 1; want[3][3] = 1; want[2][3] = 1;
	for (int ix = 0; ix < 4; ix++)
		for (int iy = 0; iy < 4; iy++)
			CHECK_EQ_I(hist_count(h, ix, iy), want[ix][iy]);
	CHECK_EQ_I(hist_skipped(h), 2);
	CHECK_EQ_I(hist_entries(h), 6);
	CHECK_EQ_I(hist_nbins(h, 1), 2);
	CHECK_EQ_I(hist_find_bin(h, 1, 1), 2);
	hist_free(h);
}

static void test_weighted(void)
{
	struct hist *h = reg1("w", 2, 0, 2, true);
	const double x[] = { 0.5, 0.5, 1.5, 3, NAN, 0.5, 0.5, 0.5, -5 };
	const double w[] = { 2, 0.5, -1, 4, 1, NAN, INFINITY, -INFINITY, 0 };
	hist_fill1(h, x, w, 9);
	CHECK_EQ_D(hist_value(h, 1, 0), 2.5);
	CHECK_EQ_D(hist_variance(h, 1, 0), 4.25);
	CHECK_EQ_D(hist_value(h, 2, 0), -1);
	CHECK_EQ_D(hist_variance(h, 2, 0), 1);
	CHECK_EQ_D(hist_value(h, 3, 0), 4);
	CHECK_EQ_D(hist_variance(h, 3, 0), 16);
	CHECK_EQ_D(hist_value(h, 0, 0), 0);   /* a zero weight fills, and adds nothing */
	CHECK_EQ_I(hist_skipped(h), 4);
	CHECK_EQ_I(hist_entries(h), 5);
	CHECK_EQ_I(hist_count(h, 1, 0), 2);   /* truncated sum of weights */
	CHECK(hist_weighted(h));

	/* Without weights a weighted histogram fills weight 1. */
	const double x2[] = { 0.5, 1.0, 1.5 };
	hist_fill1(h, x2, NULL, 3);
	CHECK_EQ_D(hist_value(h, 1, 0), 3.5);
	CHECK_EQ_D(hist_variance(h, 1, 0), 5.25);
	CHECK_EQ_D(hist_value(h, 2, 0), 1);
	CHECK_EQ_D(hist_variance(h, 2, 0), 3);
	CHECK_EQ_I(hist_entries(h), 8);
	hist_free(h);

	/* 2-D weighted, bad weights skipped. */
	struct hist_def d = { .name = "w2", .ndim = 2, .weighted = true,
			      .axes = { { .nbins = 1, .lo = 0, .hi = 1 },
					{ .nbins = 1, .lo = 0, .hi = 1 } } };
	h = new_or_die(&d);
	const double xx[] = { 0.5, 0.5, 0.5, 2 };
	const double yy[] = { 0.5, 0.5, NAN, -1 };
	const double ww[] = { 3, NAN, 1, 0.25 };
	hist_fill2(h, xx, yy, ww, 4);
	CHECK_EQ_D(hist_value(h, 1, 1), 3);
	CHECK_EQ_D(hist_variance(h, 1, 1), 9);
	CHECK_EQ_D(hist_value(h, 2, 0), 0.25);
	CHECK_EQ_D(hist_variance(h, 2, 0), 0.0625);
	CHECK_EQ_I(hist_skipped(h), 2);
	CHECK_EQ_I(hist_entries(h), 2);
	hist_free(h);
}

/* Partial sums that overflowed to opposite infinities merge to 0 (as
 * hist.json shows them), never to NaN, so the merged histogram saves to
 * bytes that hist_load() takes back. */
static void test_merge_opposite_overflows(void)
{
	struct hist *a = reg1("o", 1, 0, 1, true), *b = reg1("o", 1, 0, 1, true);
	const double x[] = { 0.5, 0.5 }, up[] = { 1e308, 1e308 }, down[] = { -1e308, -1e308 };
	hist_fill1(a, x, up, 2);
	hist_fill1(b, x, down, 2);
	CHECK(isinf(hist_value(a, 1, 0)) && isinf(hist_value(b, 1, 0)));
	CHECK_EQ_I(hist_merge(a, b), 0);
	CHECK_EQ_D(hist_value(a, 1, 0), 0);
	CHECK(isinf(hist_variance(a, 1, 0)));
	unsigned char *bytes = malloc(hist_save_size(a));
	hist_save(a, bytes);
	struct hist *c = hist_new_like(a);
	CHECK(c && hist_load(c, bytes, hist_save_size(a)) == (long)hist_save_size(a));
	free(bytes);
	hist_free(a);
	hist_free(b);
	hist_free(c);
}

/* ---- definitions ---- */

static void expect_einval(const struct hist_def *d, const char *what)
{
	struct hist *h = (struct hist *)&failures; /* must stay untouched */
	const char *why = NULL;
	int rc = hist_new(d, &h, &why);
	if (rc != -EINVAL || !why || !why[0] || h != (struct hist *)&failures) {
		fprintf(stderr, "%s:%d: %s accepted (rc %d)\n", __FILE__, __LINE__, what, rc);
		failures++;
	}
}

static void test_bad_defs(void)
{
	struct hist_def ok = { .name = "b", .ndim = 1, .axes = { { .nbins = 10, .lo = 0, .hi = 1 } } };
	struct hist_def d;
	const double unsorted[] = { 0, 2, 1 }, dup[] = { 0, 1, 1 }, nan_e[] = { 0, NAN, 2 },
		     inf_e[] = { 0, 1, INFINITY }, good[] = { 0, 1, 2 };

	d = ok; d.axes[0].hi = 0; expect_einval(&d, "lo == hi");
	d = ok; d.axes[0].lo = 2; expect_einval(&d, "lo > hi");
	d = ok; d.axes[0].lo = NAN; expect_einval(&d, "NaN lo");
	d = ok; d.axes[0].hi = INFINITY; expect_einval(&d, "infinite hi");
	d = ok; d.axes[0].lo = -1e308; d.axes[0].hi = 1e308; expect_einval(&d, "range overflows");
	d = ok; d.axes[0].lo = 0; d.axes[0].hi = 1e303; d.axes[0].nbins = 1000000;
	expect_einval(&d, "nbins * range overflows");
	d = ok; d.axes[0].nbins = 0; expect_einval(&d, "nbins 0");
	d = ok; d.axes[0].nbins = -1; expect_einval(&d, "nbins -1");
	d = ok; d.axes[0].nbins = HIST_MAX_BINS + 1; expect_einval(&d, "huge nbins");
	d = ok; d.axes[0].nbins = 2; d.axes[0].edges = unsorted; expect_einval(&d, "unsorted edges");
	d = ok; d.axes[0].nbins = 2; d.axes[0].edges = dup; expect_einval(&d, "duplicate edges");
	d = ok; d.axes[0].nbins = 2; d.axes[0].edges = nan_e; expect_einval(&d, "NaN edge");
	d = ok; d.axes[0].nbins = 2; d.axes[0].edges = inf_e; expect_einval(&d, "infinite edge");
	d = ok; d.ndim = 0; expect_einval(&d, "ndim 0");
	d = ok; d.ndim = 3; expect_einval(&d, "ndim 3");
	d = ok; d.name = ""; expect_einval(&d, "empty name");
	d = ok; d.name = NULL; expect_einval(&d, "no name");
	d = ok; d.ndim = 2; d.axes[1] = d.axes[0]; d.axes[1].nbins = 0; expect_einval(&d, "2-D nbins 0");
	d = ok; d.ndim = 2; d.axes[0].nbins = 2001; d.axes[1] = d.axes[0]; d.axes[1].nbins = 2000;
	expect_einval(&d, "nx * ny > 4e6");

	/* The limits themselves are accepted. */
	struct hist *h = NULL;
	d = ok; d.ndim = 2; d.axes[0].nbins = 2000; d.axes[1] = d.axes[0];
	CHECK_EQ_I(hist_new(&d, &h, NULL), 0);
	hist_free(h);
	d = ok; d.axes[0].nbins = HIST_MAX_BINS;
	CHECK_EQ_I(hist_new(&d, &h, NULL), 0);
	hist_free(h);
	d = ok; d.axes[0].nbins = 2; d.axes[0].edges = good;
	CHECK_EQ_I(hist_new(&d, &h, NULL), 0);
	hist_free(h);
	/* Everything is copied: the definition's storage may go away. */
	double edges[3] = { 0, 1, 2 };
	char name[8] = "copy", label[8] = "lab";
	d = ok; d.name = name; d.axes[0].nbins = 2; d.axes[0].edges = edges; d.axes[0].label = label;
	CHECK_EQ_I(hist_new(&d, &h, NULL), 0);
	edges[1] = 1.5; name[0] = 'X'; label[0] = 'X';
	CHECK_EQ_I(hist_find_bin(h, 0, 1.2), 2);
	CHECK_STR(hist_name(h), "copy");
	CHECK_STR(hist_label(h, 0), "lab");
	hist_free(h);
	hist_free(NULL);
}

/* ---- merge ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A coordinate on roughly [-1, 11), with NaNs, infinities and exact edges. */
static double rnd_x(void)
{
	uint64_t r = rng();
	switch (r % 64) {
	case 0: return NAN;
	case 1: return INFINITY;
	case 2: return -INFINITY;
	case 3: return (double)(r >> 8 & 15);       /* integral points: edges */
	default: return -1.0 + 12.0 * (double)(r >> 11) / 9007199254740992.0;
	}
}

/* A weight that is a multiple of 1/4 in [-2, 6): sums stay exact in any
 * order, so merged weighted histograms can be compared exactly too. */
static double rnd_w(void)
{
	uint64_t r = rng();
	if (r % 97 == 0)
		return NAN;
	return (double)(int)(r >> 40 & 31) / 4.0 - 2.0;
}

static bool same_contents(const struct hist *a, const struct hist *b)
{
	int nx = hist_nbins(a, 0) + 2, ny = hist_ndim(a) == 2 ? hist_nbins(a, 1) + 2 : 1;
	if (hist_skipped(a) != hist_skipped(b) || hist_entries(a) != hist_entries(b))
		return false;
	for (int ix = 0; ix < nx; ix++)
		for (int iy = 0; iy < ny; iy++) {
			if (hist_weighted(a)) {
				if (hist_value(a, ix, iy) != hist_value(b, ix, iy) ||
				    hist_variance(a, ix, iy) != hist_variance(b, ix, iy))
					return false;
			} else if (hist_count(a, ix, iy) != hist_count(b, ix, iy)) {
				return false;
			}
		}
	return true;
}

/* Fill [0, n) in pieces cut at cuts[] into fresh histograms, merge them
 * (in reverse order, to show order does not matter) and compare with one
 * pass. */
static void check_split(const struct hist *whole, const double *x, const double *y,
			const double *w, size_t n, const size_t *cuts, size_t ncuts)
{
	struct hist *acc = hist_new_like(whole);
	CHECK(acc != NULL);
	size_t end = n;
	for (size_t k = ncuts + 1; k-- > 0;) {
		size_t start = k ? cuts[k - 1] : 0;
		struct hist *part = hist_new_like(whole);
		CHECK(part != NULL);
		if (hist_ndim(whole) == 1)
			hist_fill1(part, x + start, w ? w + start : NULL, end - start);
		else
			hist_fill2(part, x + start, y + start, w ? w + start : NULL, end - start);
		CHECK_EQ_I(hist_merge(acc, part), 0);
		hist_free(part);
		end = start;
	}
	CHECK(same_contents(acc, whole));
	hist_free(acc);
}

/* A coordinate for axis [lo, hi): mostly inside, and the hard cases: the
 * edges, the doubles just beside them, NaN, infinities, huge values. */
static double edge_x(double lo, double hi)
{
	uint64_t r = rng();
	switch (r % 16) {
	case 0: return NAN;
	case 1: return r & 64 ? INFINITY : -INFINITY;
	case 2: return r & 64 ? 1e308 : -1e308;
	case 3: return nextafter(hi, -INFINITY);
	case 4: return r & 64 ? hi : lo;
	case 5: return nextafter(lo, r & 64 ? INFINITY : -INFINITY);
	default: return lo - (hi - lo) * 0.1 + (hi - lo) * 1.2 * (double)(r >> 11) / 9007199254740992.0;
	}
}

/* hist_fill1/2 (bins of a chunk first, then counts on several copies)
 * against the bin hist_find_bin() gives each point, counts and sums of
 * weights in point order; for sizes around the chunk and the copies. */
static void check_fill_points(const struct hist_def *def, size_t n, bool weighted)
{
	struct hist *h = new_or_die(def);
	int nd = def->ndim, nx = hist_extent(h, 0), ny = nd == 2 ? hist_extent(h, 1) : 1;
	double *x = malloc((n + 1) * sizeof(double)), *y = malloc((n + 1) * sizeof(double));
	double *w = malloc((n + 1) * sizeof(double));
	double *sw = calloc((size_t)(nx * ny), sizeof(double)), *sw2 = calloc((size_t)(nx * ny), sizeof(double));
	int64_t *cnt = calloc((size_t)(nx * ny), sizeof(int64_t));
	CHECK(x && y && w && sw && sw2 && cnt);
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = edge_x(def->axes[0].lo, def->axes[0].hi);
		y[i] = nd == 2 ? edge_x(def->axes[1].lo, def->axes[1].hi) : 0;
		w[i] = rng() % 50 ? (double)(rng() % 1000) * 0.001 : NAN;
		int bx = hist_find_bin(h, 0, x[i]), by = nd == 2 ? hist_find_bin(h, 1, y[i]) : 0;
		if (bx < 0 || by < 0 || (weighted && !isfinite(w[i]))) {
			skipped++;
			continue;
		}
		cnt[bx * ny + by]++;
		sw[bx * ny + by] += w[i];
		sw2[bx * ny + by] += w[i] * w[i];
	}
	if (nd == 1)
		hist_fill1(h, x, weighted ? w : NULL, n);
	else
		hist_fill2(h, x, y, weighted ? w : NULL, n);
	bool same = hist_skipped(h) == skipped && hist_entries(h) == n - skipped;
	for (int ix = 0; ix < nx; ix++)
		for (int iy = 0; iy < ny; iy++) {
			int c = ix * ny + iy;
			if (weighted)
				same &= hist_value(h, ix, iy) == sw[c] && hist_variance(h, ix, iy) == sw2[c];
			else
				same &= hist_count(h, ix, iy) == cnt[c];
		}
	check(same, "fill of %zu points (%d-D, %d bins, %s) differs from point by point", n, nd,
	      def->axes[0].nbins, weighted ? "weighted" : "counts");
	free(x);
	free(y);
	free(w);
	free(sw);
	free(sw2);
	free(cnt);
	hist_free(h);
}

static void test_fill_points(void)
{
	static const double edges[] = {-1, 0, 0.5, 2, 7, 7.25, 100};
	const struct hist_axis_def axes[] = {
		{.nbins = 10, .lo = 0, .hi = 10},
		{.nbins = 32, .lo = -M_PI, .hi = M_PI},
		{.nbins = 7, .lo = 0.1, .hi = 0.7}, /* edges that are not doubles */
		{.nbins = 300, .lo = -3, .hi = 1e-3}, /* past the copies' size */
		{.kind = HIST_AXIS_VARIABLE, .nbins = 6, .lo = -1, .hi = 100, .edges = edges},
	};
	static const size_t sizes[] = {0, 1, 3, 63, 64, 1023, 1024, 1025, 5003};
	for (size_t a = 0; a < sizeof(axes) / sizeof(axes[0]); a++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			for (int wt = 0; wt < 2; wt++) {
				struct hist_def d = {.name = "f", .ndim = 1, .weighted = wt, .axes = {axes[a]}};
				check_fill_points(&d, sizes[k], wt);
				struct hist_def d2 = {.name = "f", .ndim = 2, .weighted = wt,
						      .axes = {axes[a], axes[(a + 1) % 5]}};
				check_fill_points(&d2, sizes[k], wt);
			}
}

static void test_merge_random(void)
{
	enum { N = 1000000 };
	double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double)),
	       *w = malloc(N * sizeof(double));
	CHECK(x && y && w);
	for (size_t i = 0; i < N; i++) {
		x[i] = rnd_x();
		y[i] = rnd_x();
		w[i] = rnd_w();
	}
	const double ey[] = { -0.5, 0, 1, 2, 3.5, 7, 10 };
	struct hist_def d1 = { .name = "m1", .ndim = 1, .axes = { { .nbins = 37, .lo = 0.25, .hi = 10 } } };
	struct hist_def d2 = { .name = "m2", .ndim = 2,
			       .axes = { { .nbins = 20, .lo = 0, .hi = 10 }, { .nbins = 6, .edges = ey } } };
	const size_t halves[] = { N / 2 };
	const size_t uneven[] = { 1, 2, 777, 250000, 250001, 999999 };
	const size_t empty_piece[] = { 0, 0, 123456, 123456, N };

	for (int weighted = 0; weighted <= 1; weighted++) {
		d1.weighted = d2.weighted = weighted;
		struct hist *h1 = new_or_die(&d1), *h2 = new_or_die(&d2);
		const double *wp = weighted ? w : NULL;
		hist_fill1(h1, x, wp, N);
		hist_fill2(h2, x, y, wp, N);
		/* About 1/64 NaN coordinates; 1/97 NaN weights when weighted. */
		CHECK(hist_skipped(h1) > N / 100 && hist_skipped(h1) < N / 30);
		CHECK_EQ_I(hist_skipped(h1) + hist_entries(h1), N);
		CHECK_EQ_I(hist_skipped(h2) + hist_entries(h2), N);
		check_split(h1, x, NULL, wp, N, halves, 1);
		check_split(h1, x, NULL, wp, N, uneven, 6);
		check_split(h1, x, NULL, wp, N, empty_piece, 5);
		check_split(h2, x, y, wp, N, halves, 1);
		check_split(h2, x, y, wp, N, uneven, 6);
		check_split(h2, x, y, wp, N, empty_piece, 5);
		if (!weighted) {
			/* Every point, by the definition of its bin. */
			int64_t total = 0;
			for (int b = 0; b < 39; b++)
				total += hist_count(h1, b, 0);
			CHECK_EQ_I(total, hist_entries(h1));
			int64_t want[39] = { 0 };
			for (size_t i = 0; i < N; i++) {
				if (isnan(x[i]))
					continue;
				int b = x[i] < 0.25 ? 0 : x[i] >= 10 ? 38
					: (int)floor(37 * (x[i] - 0.25) / (10 - 0.25)) + 1;
				want[b]++;
			}
			for (int b = 0; b < 39; b++)
				CHECK_EQ_I(hist_count(h1, b, 0), want[b]);
			free(to_json(&h2, 1, "random2d.json"));
		} else {
			free(to_json(&h2, 1, "random2d_weighted.json"));
		}
		hist_free(h1);
		hist_free(h2);
	}
	free(x);
	free(y);
	free(w);
}

static void test_merge_refused(void)
{
	const double e1[] = { 0, 1, 2 }, e2[] = { 0, 1.5, 2 };
	struct hist_def base = { .name = "a", .ndim = 1, .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } };
	struct hist *a = new_or_die(&base);
	struct hist_def d;
	struct hist *b;
	const double x[] = { 0.5 };

	hist_fill1(a, x, NULL, 1);
#define REFUSED(what) do { \
	b = new_or_die(&d); \
	if (hist_merge(a, b) != -EINVAL || hist_merge(b, a) != -EINVAL) { \
		fprintf(stderr, "%s:%d: merge accepted: %s\n", __FILE__, __LINE__, what); \
		failures++; \
	} \
	hist_free(b); \
} while (0)
	d = base; d.axes[0].nbins = 3; REFUSED("nbins");
	d = base; d.axes[0].lo = -0.5; REFUSED("lo");
	d = base; d.axes[0].hi = 2.5; REFUSED("hi");
	d = base; d.weighted = true; REFUSED("weighted");
	d = base; d.axes[0].edges = e1; REFUSED("variable vs regular");
	d = base; d.ndim = 2; d.axes[1] = d.axes[0]; REFUSED("2-D vs 1-D");
#undef REFUSED
	/* The refused merges left a untouched. */
	CHECK_EQ_I(hist_count(a, 1, 0), 1);
	CHECK_EQ_I(hist_entries(a), 1);

	d = base; d.axes[0].edges = e1;
	struct hist *v1 = new_or_die(&d);
	d.axes[0].edges = e2;
	struct hist *v2 = new_or_die(&d);
	CHECK_EQ_I(hist_merge(v1, v2), -EINVAL);
	hist_free(v2);
	/* Same definition, other name and labels: merged. */
	d.name = "other";
	d.axes[0].edges = e1;
	d.axes[0].label = "L";
	v2 = new_or_die(&d);
	hist_fill1(v2, x, NULL, 1);
	CHECK_EQ_I(hist_merge(v1, v2), 0);
	CHECK_EQ_I(hist_count(v1, 1, 0), 1);
	hist_free(v1);
	hist_free(v2);
	hist_free(a);
}

/* ---- hist.json ---- */

static void test_json(void)
{
	struct hist_def d1 = { .name = "h1", .title = "Muon p_T", .ndim = 1,
			       .axes = { { .nbins = 2, .lo = 0, .hi = 1, .label = "p_T [GeV]" } } };
	struct hist *h1 = new_or_die(&d1);
	const double x1[] = { 0.25, 0.75, 0.75, -1, 5, NAN };
	hist_fill1(h1, x1, NULL, 6);
	char *s = to_json(&h1, 1, "h1.json");
	const char *want1 =
		"{\"h1\":{\"uhi_schema\":1,\"writer_info\":{\"anafs\":{\"version\":\"0.1.0\"}},"
		"\"metadata\":{\"name\":\"h1\",\"title\":\"Muon p_T\",\"skipped_fills\":1,\"entries\":5},"
		"\"axes\":[{\"type\":\"regular\",\"lower\":0,\"upper\":1,\"bins\":2,\"underflow\":true,"
		"\"overflow\":true,\"circular\":false,\"metadata\":{\"label\":\"p_T [GeV]\"}}],"
		"\"storage\":{\"type\":\"int\",\"values\":[1,1,2,1]}}}";
	CHECK_STR(s, want1);
	free(s);

	const double ey[] = { 0, 0.5, 2 };
	struct hist_def d2 = { .name = "h2", .ndim = 2, .weighted = true,
			       .axes = { { .nbins = 1, .lo = 0, .hi = 1 },
					 { .nbins = 2, .edges = ey, .label = "m_\xce\xbc\xce\xbc \"q\"" } } };
	struct hist *h2 = new_or_die(&d2);
	const double x2[] = { 0.5, 0.5, 2, 0.5 }, y2[] = { 0.25, 1, 0.1, 0.25 },
		     w2[] = { 0.5, 1.5, 0.1, INFINITY };
	hist_fill2(h2, x2, y2, w2, 4);
	s = to_json(&h2, 1, "h2.json");
	const char *want2 =
		"{\"h2\":{\"uhi_schema\":1,\"writer_info\":{\"anafs\":{\"version\":\"0.1.0\"}},"
		"\"metadata\":{\"name\":\"h2\",\"skipped_fills\":1,\"entries\":3},"
		"\"axes\":[{\"type\":\"regular\",\"lower\":0,\"upper\":1,\"bins\":1,\"underflow\":true,"
		"\"overflow\":true,\"circular\":false},"
		"{\"type\":\"variable\",\"edges\":[0,0.5,2],\"underflow\":true,\"overflow\":true,"
		"\"circular\":false,\"metadata\":{\"label\":\"m_\xce\xbc\xce\xbc \\\"q\\\"\"}}],"
		"\"storage\":{\"type\":\"weighted\","
		"\"values\":[[0,0,0,0],[0,0.5,1.5,0],[0,0.1,0,0]],"
		"\"variances\":[[0,0,0,0],[0,0.25,2.25,0],[0,0.010000000000000002,0,0]]}}}";
	CHECK_STR(s, want2);
	free(s);

	/* Both in one object, in the order given; duplicates refused. */
	struct hist *both[2] = { h1, h2 };
	s = to_json(both, 2, "both.json");
	CHECK(s && strncmp(s, "{\"h1\":{", 7) == 0 && strstr(s, "}},\"h2\":{\"uhi_schema\":1,"));
	CHECK(s && strlen(s) == strlen(want1) + strlen(want2) - 1);
	free(s);
	struct hist *dup[2] = { h1, h1 };
	char *out = (char *)"untouched";
	CHECK_EQ_I(hist_to_json(dup, 2, "0.1.0", &out, NULL), -EINVAL);
	CHECK_STR(out, "untouched");
	s = to_json(NULL, 0, "empty.json");
	CHECK_STR(s, "{}");
	free(s);
	hist_free(h1);
	hist_free(h2);

	/* Sums that overflow are written as the largest finite double. */
	struct hist *big = reg1("big", 1, 0, 1, true);
	const double xb[] = { 0.5, 0.5, 2, 2 }, wb[] = { 1e308, 1e308, -1e308, -1e308 };
	hist_fill1(big, xb, wb, 4);
	CHECK(isinf(hist_value(big, 1, 0)));
	s = to_json(&big, 1, "overflow.json");
	CHECK(s && strstr(s, "\"values\":[0,1.7976931348623157e+308,-1.7976931348623157e+308]"));
	CHECK(s && strstr(s, "\"variances\":[0,1.7976931348623157e+308,1.7976931348623157e+308]"));
	CHECK(s && !strstr(s, "null") && !strstr(s, "inf,") && !strstr(s, "inf]") && !strstr(s, "nan"));
	free(s);
	hist_free(big);

	/* Variable edges and regular bounds that need 17 digits. */
	const double ev[] = { -2.4, 0.1 + 0.2, 1.0 / 3, 1e20 };
	struct hist_def dv = { .name = "prec", .title = "t\x01", .ndim = 1,
			       .axes = { { .nbins = 3, .edges = ev } } };
	struct hist *hv = new_or_die(&dv);
	s = to_json(&hv, 1, "precision.json");
	CHECK(s && strstr(s, "\"edges\":[-2.4,0.30000000000000004,0.3333333333333333,1e+20]"));
	CHECK(s && strstr(s, "\"title\":\"t\\u0001\""));
	free(s);
	hist_free(hv);
}

/* A value label (ylabel= of a 1-D histogram) is kept, copied, and written
 * into the histogram's metadata, the one place the UHI schema leaves. */
static void test_value_label(void)
{
	struct hist_def d = { .name = "v", .value_label = "Events / bin", .ndim = 1,
			      .axes = { { .nbins = 1, .lo = 0, .hi = 1, .label = "x" } } };
	struct hist *h = new_or_die(&d);
	CHECK_STR(hist_value_label(h), "Events / bin");
	CHECK_STR(hist_label(h, 1), "");
	struct hist *like = hist_new_like(h);
	CHECK(like != NULL);
	if (like)
		CHECK_STR(hist_value_label(like), "Events / bin");
	char *s = to_json(&h, 1, "value_label.json");
	CHECK_STR(s, "{\"v\":{\"uhi_schema\":1,\"writer_info\":{\"anafs\":{\"version\":\"0.1.0\"}},"
		     "\"metadata\":{\"name\":\"v\",\"value_label\":\"Events / bin\",\"skipped_fills\":0,"
		     "\"entries\":0},\"axes\":[{\"type\":\"regular\",\"lower\":0,\"upper\":1,\"bins\":1,"
		     "\"underflow\":true,\"overflow\":true,\"circular\":false,\"metadata\":{\"label\":\"x\"}}],"
		     "\"storage\":{\"type\":\"int\",\"values\":[0,0,0]}}}");
	free(s);
	hist_free(like);
	hist_free(h);
	/* None given: no key at all, as for the title. */
	d.value_label = NULL;
	h = new_or_die(&d);
	CHECK_STR(hist_value_label(h), "");
	s = to_json(&h, 1, NULL);
	CHECK(s && !strstr(s, "value_label"));
	free(s);
	hist_free(h);
}

/* ---- three axes, categories, profiles ---- */

/* The whole of what two histograms hold, compared as their hist.json. */
static bool same_json(struct hist *a, struct hist *b)
{
	char *sa = NULL, *sb = NULL;
	bool same = hist_to_json(&a, 1, "t", &sa, NULL) == 0 && hist_to_json(&b, 1, "t", &sb, NULL) == 0 &&
		    strcmp(sa, sb) == 0;
	free(sa);
	free(sb);
	return same;
}

/* Save h, load into a fresh copy: the same contents back. */
static void check_round_trip(struct hist *h)
{
	size_t n = hist_save_size(h);
	unsigned char *buf = malloc(n);
	struct hist *back = hist_new_like(h);
	CHECK(buf && back);
	hist_save(h, buf);
	CHECK_EQ_I(hist_load(back, buf, n), (long)n);
	CHECK(same_json(h, back));
	CHECK_EQ_I(hist_shape_id(back), hist_shape_id(h));
	hist_free(back);
	free(buf);
}

/* hist_load() of h's bytes with the 8 at off replaced by v's: refused. */
static void check_corrupt(struct hist *h, size_t off, double v, const char *what)
{
	size_t n = hist_save_size(h);
	unsigned char *buf = malloc(n);
	struct hist *back = hist_new_like(h);
	CHECK(buf && back && off + 8 <= n);
	hist_save(h, buf);
	memcpy(buf + off, &v, 8); /* the tests run little-endian, as le.h's bytes are */
	check(hist_load(back, buf, n) == -EINVAL, "hist_load accepted %s", what);
	hist_free(back);
	free(buf);
}

static void test_3d(void)
{
	const double ey[] = { 0, 1, 3 };
	struct hist_def d = { .name = "h3", .ndim = 3,
			      .axes = { { .nbins = 2, .lo = 0, .hi = 2 }, { .nbins = 2, .edges = ey },
					{ .nbins = 1, .lo = 0, .hi = 1, .label = "z" } } };
	struct hist *h = new_or_die(&d);
	CHECK_EQ_I(hist_ncells(h), 4 * 4 * 3);
	CHECK_EQ_I(hist_axis_kind(h, 1), HIST_AXIS_VARIABLE);
	/* Flow on each axis in turn, and twice the same cell. */
	const double x[] = { 0.5, -1, 5, 0.5, 0.5, 1.5, NAN, 1, 0.5 },
		     y[] = { 0.5, 0.5, 2, -1, 4, 1, 1, 1, 0.5 },
		     z[] = { 0.5, 0.5, 0.5, 0.5, 2, -3, 1, NAN, 0.5 };
	const double *xyz[3] = { x, y, z };
	hist_fill(h, xyz, NULL, NULL, 9);
	CHECK_EQ_I(hist_entries(h), 7);
	CHECK_EQ_I(hist_skipped(h), 2);
	const int i16[] = { 1, 1, 1 }, i4[] = { 0, 1, 1 }, i43[] = { 3, 2, 1 }, i13[] = { 1, 0, 1 },
		  i23[] = { 1, 3, 2 }, i30[] = { 2, 2, 0 };
	CHECK_EQ_I(hist_cell(h, i16), 16);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i16)), 2);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i4)), 1);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i43)), 1);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i13)), 1);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i23)), 1);
	CHECK_EQ_I(hist_cell_count(h, hist_cell(h, i30)), 1);
	char *s = to_json(&h, 1, "h3.json");
	CHECK(s && strstr(s, "\"storage\":{\"type\":\"int\",\"values\":"
			  "[[[0,0,0],[0,1,0],[0,0,0],[0,0,0]],[[0,1,0],[0,2,0],[0,0,0],[0,0,1]],"
			  "[[0,0,0],[0,0,0],[1,0,0],[0,0,0]],[[0,0,0],[0,0,0],[0,1,0],[0,0,0]]]}}}"));
	free(s);
	check_round_trip(h);
	hist_free(h);

	/* The cap on bins holds for their product over three axes. */
	struct hist_def big = { .name = "b", .ndim = 3,
				.axes = { { .nbins = 100, .lo = 0, .hi = 1 }, { .nbins = 100, .lo = 0, .hi = 1 },
					  { .nbins = 400, .lo = 0, .hi = 1 } } };
	CHECK_EQ_I(hist_new(&big, &h, NULL), 0);
	hist_free(h);
	big.axes[2].nbins = 401;
	expect_einval(&big, "nx * ny * nz > 4e6");
	big.ndim = 4;
	expect_einval(&big, "ndim 4");
}

static void test_cat_int(void)
{
	const int64_t cats[] = { 7, -3, 100 };
	struct hist_def d = { .name = "ci", .ndim = 1,
			      .axes = { { .kind = HIST_AXIS_CAT_INT, .nbins = 3, .cat_int = cats, .label = "n" } } };
	const double x[] = { 7, 100, -3, 5, 7.5, NAN, 7, 1e300, -1e300 };
	struct hist *h = new_or_die(&d);
	hist_fill1(h, x, NULL, 9);
	CHECK_EQ_I(hist_extent(h, 0), 3);
	CHECK_EQ_I(hist_ncats(h, 0), 3);
	CHECK_EQ_I(hist_cat_int(h, 0, 2), 100);
	CHECK_EQ_I(hist_count(h, 0, 0), 2);
	CHECK_EQ_I(hist_count(h, 1, 0), 1);
	CHECK_EQ_I(hist_count(h, 2, 0), 1);
	CHECK_EQ_I(hist_entries(h), 4);
	CHECK_EQ_I(hist_skipped(h), 5);
	CHECK_EQ_I(hist_find_bin(h, 0, 5), -1);
	char *s = to_json(&h, 1, "cat_int.json");
	CHECK(s && strstr(s, "\"axes\":[{\"type\":\"category_int\",\"categories\":[7,-3,100],\"flow\":false,"
			  "\"metadata\":{\"label\":\"n\"}}],\"storage\":{\"type\":\"int\",\"values\":[2,1,1]}"));
	free(s);
	check_round_trip(h);
	hist_free(h);

	/* With an "other" bin, what is no category lands there; NaN still nowhere. */
	d.axes[0].flow = true;
	h = new_or_die(&d);
	hist_fill1(h, x, NULL, 9);
	CHECK_EQ_I(hist_extent(h, 0), 4);
	CHECK(hist_axis_flow(h, 0));
	CHECK_EQ_I(hist_count(h, 3, 0), 4);
	CHECK_EQ_I(hist_entries(h), 8);
	CHECK_EQ_I(hist_skipped(h), 1);
	CHECK_EQ_I(hist_find_bin(h, 0, -3), 1);
	CHECK_EQ_I(hist_find_bin(h, 0, 5), 3);
	s = to_json(&h, 1, "cat_int_flow.json");
	CHECK(s && strstr(s, "\"categories\":[7,-3,100],\"flow\":true,") &&
	      strstr(s, "\"values\":[2,1,1,4]"));
	free(s);
	hist_free(h);

	const int64_t dup[] = { 1, 2, 1 };
	d.axes[0].cat_int = dup;
	expect_einval(&d, "repeated integer category");
	d.axes[0].cat_int = NULL;
	expect_einval(&d, "no integer categories");
}

static void test_cat_str(void)
{
	const char *cats[] = { "ee", "mumu", "emu" };
	struct hist_def d = { .name = "cs", .ndim = 2, .weighted = true,
			      .axes = { { .nbins = 1, .lo = 0, .hi = 1 },
					{ .kind = HIST_AXIS_CAT_STR, .nbins = 3, .cat_str = cats } } };
	const double x[] = { 0.5, 0.5, 0.5, 0.5, 2, 0.5, 0.5 }, c[] = { 0, 2, 1, 3, 1, -1, 1.5 },
		     w[] = { 1, 2, 0.5, 1, 3, 1, 1 };
	struct hist *h = new_or_die(&d);
	hist_fill2(h, x, c, w, 7);
	CHECK_STR(hist_cat_str(h, 1, 1), "mumu");
	CHECK_EQ_I(hist_axis_kind(h, 1), HIST_AXIS_CAT_STR);
	CHECK_EQ_I(hist_entries(h), 4);
	CHECK_EQ_I(hist_skipped(h), 3);
	CHECK_EQ_D(hist_value(h, 1, 2), 2);
	CHECK_EQ_D(hist_variance(h, 2, 1), 9);
	char *s = to_json(&h, 1, "cat_str.json");
	CHECK(s && strstr(s, "{\"type\":\"category_str\",\"categories\":[\"ee\",\"mumu\",\"emu\"],"
			  "\"flow\":false}],\"storage\":{\"type\":\"weighted\","
			  "\"values\":[[0,0,0],[1,0.5,2],[0,3,0]],\"variances\":[[0,0,0],[1,0.25,4],[0,9,0]]}"));
	free(s);
	check_round_trip(h);
	hist_free(h);

	d.axes[1].flow = true;
	h = new_or_die(&d);
	hist_fill2(h, x, c, w, 7);
	CHECK_EQ_D(hist_value(h, 1, 3), 3);  /* indexes 3, -1 and 1.5 */
	CHECK_EQ_I(hist_skipped(h), 0);
	hist_free(h);

	const char *dup[] = { "a", "b", "a" }, *null[] = { "a", NULL, "b" };
	char longer[HIST_MAX_CAT_LEN + 2];
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	const char *toolong[] = { "a", "b", longer };
	d.axes[1].cat_str = dup;
	expect_einval(&d, "repeated string category");
	d.axes[1].cat_str = null;
	expect_einval(&d, "NULL string category");
	d.axes[1].cat_str = toolong;
	expect_einval(&d, "string category of 256 bytes");
	longer[HIST_MAX_CAT_LEN] = 0;
	struct hist *ok = NULL;
	CHECK_EQ_I(hist_new(&d, &ok, NULL), 0);
	hist_free(ok);
	d.axes[1].kind = 9;
	expect_einval(&d, "unknown axis kind");
}

/* Unweighted profile: count, mean, sample variance (n - 1), worked by hand. */
static void test_mean(void)
{
	struct hist_def d = { .name = "pm", .ndim = 1, .profile = true,
			      .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } };
	const double x[] = { 0.5, 0.5, 0.5, 1.5, -1, 0.5, 1.5 }, s[] = { 1, 2, 6, 4, 3, NAN, INFINITY };
	const double *xs[1] = { x };
	struct hist *h = new_or_die(&d);
	CHECK(hist_profile(h));
	hist_fill(h, xs, NULL, s, 7);
	CHECK_EQ_I(hist_entries(h), 5);
	CHECK_EQ_I(hist_skipped(h), 2);
	CHECK_EQ_I(hist_count(h, 1, 0), 3);
	CHECK_EQ_D(hist_value(h, 1, 0), 3);
	CHECK_EQ_D(hist_variance(h, 1, 0), 7);   /* (4 + 1 + 9) / 2 */
	CHECK_EQ_D(hist_value(h, 2, 0), 4);      /* one sample: no variance */
	CHECK_EQ_D(hist_variance(h, 2, 0), 0);
	CHECK_EQ_D(hist_value(h, 3, 0), 0);      /* empty */
	char *js = to_json(&h, 1, "mean.json");
	CHECK(js && strstr(js, "\"storage\":{\"type\":\"mean\",\"counts\":[1,3,1,0],\"values\":[3,3,4,0],"
			   "\"variances\":[0,7,0,0]}"));
	free(js);

	/* Two partial passes merged: the one pass, exactly for these values
	 * (n1 = 2, mean 1.5, spread 0.5; n2 = 1, mean 6: 0.5 + 2 * 1.5^2 + 3^2 = 14). */
	struct hist *a = hist_new_like(h), *b = hist_new_like(h), *sum = hist_new_like(h);
	CHECK(a && b && sum);
	const double *xa[1] = { x }, *xb[1] = { x + 2 };
	hist_fill(a, xa, NULL, s, 2);
	hist_fill(b, xb, NULL, s + 2, 5);
	CHECK_EQ_I(hist_merge(sum, a), 0);  /* into empty cells: a copy */
	CHECK_EQ_I(hist_merge(sum, b), 0);
	CHECK(same_json(sum, h));
	check_round_trip(h);
	CHECK_EQ_I(hist_scale(h, 2), -EINVAL);
	CHECK_EQ_I(hist_scale(h, 1), 0);

	/* Bytes a fill cannot make.  Counts at 32, means at 64, spreads at 96. */
	check_corrupt(h, 32 + 8, -1, "a negative count");
	check_corrupt(h, 64 + 8, NAN, "a NaN mean");
	check_corrupt(h, 96 + 8, -1, "a negative spread");
	check_corrupt(h, 96 + 16, 1, "a spread of one sample");
	check_corrupt(h, 64 + 24, 1, "the mean of an empty cell");
	struct hist *wrong = reg1("pm", 2, 0, 2, true);
	size_t n = hist_save_size(h);
	unsigned char *buf = malloc(n);
	hist_save(h, buf);
	CHECK_EQ_I(hist_load(wrong, buf, n), -EINVAL);
	free(buf);
	CHECK(hist_merge(wrong, h) == -EINVAL);
	CHECK(hist_shape_id(wrong) != hist_shape_id(h));
	hist_free(wrong);
	hist_free(a);
	hist_free(b);
	hist_free(sum);
	hist_free(h);
}

/* Weighted profile: boost-histogram's weighted_mean, worked by hand. */
static void test_weighted_mean(void)
{
	struct hist_def d = { .name = "pw", .ndim = 1, .profile = true, .weighted = true,
			      .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } };
	const double x[] = { 0.5, 0.5, 0.5, 1.5, 0.5, 0.5 }, w[] = { 1, 3, 0, 2, NAN, 1 },
		     s[] = { 1, 5, 100, 7, 1, NAN };
	const double *xs[1] = { x };
	struct hist *h = new_or_die(&d);
	hist_fill(h, xs, w, s, 6);
	CHECK_EQ_I(hist_entries(h), 4);  /* the weight 0 counts: it went into a bin */
	CHECK_EQ_I(hist_skipped(h), 2);
	/* Cell 1: sum w 4, sum w^2 10, mean (1 + 15) / 4 = 4, sum w (x - mean)^2 =
	 * 9 + 3 = 12, variance 12 / (4 - 10 / 4) = 8. */
	CHECK_EQ_D(hist_value(h, 1, 0), 4);
	CHECK_EQ_D(hist_variance(h, 1, 0), 8);
	CHECK_EQ_D(hist_cell_sumw(h, 1), 4);
	CHECK_EQ_D(hist_cell_sumw2(h, 1), 10);
	/* Cell 2, one sample: sum w - sum w^2 / sum w = 0, no variance. */
	CHECK_EQ_D(hist_value(h, 2, 0), 7);
	CHECK_EQ_D(hist_variance(h, 2, 0), 0);
	char *js = to_json(&h, 1, "weighted_mean.json");
	CHECK(js && strstr(js, "\"storage\":{\"type\":\"weighted_mean\",\"sum_of_weights\":[0,4,2,0],"
			   "\"sum_of_weights_squared\":[0,10,4,0],\"values\":[0,4,7,0],"
			   "\"variances\":[0,8,0,0]}"));
	free(js);

	struct hist *a = hist_new_like(h), *b = hist_new_like(h), *sum = hist_new_like(h);
	CHECK(a && b && sum);
	const double *xb[1] = { x + 1 };
	hist_fill(a, xs, w, s, 1);
	hist_fill(b, xb, w + 1, s + 1, 5);
	CHECK_EQ_I(hist_merge(sum, a), 0);
	CHECK_EQ_I(hist_merge(sum, b), 0);
	CHECK(same_json(sum, h));
	check_round_trip(h);

	/* Scaling: weights by c, squares by c^2, mean and variance stay. */
	CHECK_EQ_I(hist_scale(sum, 2), 0);
	CHECK_EQ_D(hist_cell_sumw(sum, 1), 8);
	CHECK_EQ_D(hist_cell_sumw2(sum, 1), 40);
	CHECK_EQ_D(hist_value(sum, 1, 0), 4);
	CHECK_EQ_D(hist_variance(sum, 1, 0), 8);
	CHECK_EQ_I(hist_scale(sum, NAN), -EINVAL);
	CHECK_EQ_I(hist_scale(sum, 0), 0);
	CHECK_EQ_D(hist_value(sum, 1, 0), 0);
	check_round_trip(sum);

	/* Sums of weights at 32, squares at 64, means at 96, spreads at 128. */
	check_corrupt(h, 32 + 8, NAN, "a NaN sum of weights");
	check_corrupt(h, 64 + 8, -1, "a negative sum of squares");
	check_corrupt(h, 96 + 24, 1, "the mean of an empty cell");
	check_corrupt(h, 128 + 8, NAN, "a NaN spread");
	hist_free(a);
	hist_free(b);
	hist_free(sum);
	hist_free(h);
}

static void test_scale(void)
{
	struct hist *h = reg1("sc", 1, 0, 1, true);
	const double x[] = { 0.5, 0.5 }, w[] = { 1, 2 };
	hist_fill1(h, x, w, 2);
	CHECK_EQ_I(hist_scale(h, -0.5), 0);
	CHECK_EQ_D(hist_value(h, 1, 0), -1.5);
	CHECK_EQ_D(hist_variance(h, 1, 0), 1.25);
	CHECK_EQ_I(hist_scale(h, INFINITY), -EINVAL);
	hist_free(h);
	h = reg1("sc", 1, 0, 1, false);
	hist_fill1(h, x, NULL, 2);
	CHECK_EQ_I(hist_scale(h, 2), -EINVAL);
	CHECK_EQ_I(hist_scale(h, 1), 0);
	CHECK_EQ_I(hist_count(h, 1, 0), 2);
	hist_free(h);
}

/* Ids of earlier versions stay (saved results carry them); every new
 * difference of shape changes the id. */
static void test_shape_ids(void)
{
	const double e[] = { 0, 0.5, 2 };
	struct hist_def d2 = { .name = "b", .ndim = 2, .weighted = true,
			       .axes = { { .nbins = 3, .lo = -1, .hi = 1 }, { .nbins = 2, .edges = e } } };
	struct hist *a = reg1("a", 10, 0, 1, false), *b = new_or_die(&d2);
	CHECK_EQ_I(hist_shape_id(a), 0x6220589fdc64fc07ull);
	CHECK_EQ_I(hist_shape_id(b), 0xc957f99e405cb1a6ull);
	hist_free(a);
	hist_free(b);

	const int64_t c12[] = { 1, 2 }, c21[] = { 2, 1 };
	const char *sab[] = { "a", "b" }, *sba[] = { "b", "a" }, *s2[] = { "ab", "" };
	struct hist_def v[] = {
		{ .name = "r", .ndim = 1, .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } },
		{ .name = "r", .ndim = 1, .profile = true, .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } },
		{ .name = "r", .ndim = 1, .profile = true, .weighted = true,
		  .axes = { { .nbins = 2, .lo = 0, .hi = 2 } } },
		{ .name = "i", .ndim = 1, .axes = { { .kind = HIST_AXIS_CAT_INT, .nbins = 2, .cat_int = c12 } } },
		{ .name = "i", .ndim = 1, .axes = { { .kind = HIST_AXIS_CAT_INT, .nbins = 2, .cat_int = c21 } } },
		{ .name = "i", .ndim = 1,
		  .axes = { { .kind = HIST_AXIS_CAT_INT, .nbins = 2, .cat_int = c12, .flow = true } } },
		{ .name = "s", .ndim = 1, .axes = { { .kind = HIST_AXIS_CAT_STR, .nbins = 2, .cat_str = sab } } },
		{ .name = "s", .ndim = 1, .axes = { { .kind = HIST_AXIS_CAT_STR, .nbins = 2, .cat_str = sba } } },
		{ .name = "s", .ndim = 1, .axes = { { .kind = HIST_AXIS_CAT_STR, .nbins = 2, .cat_str = s2 } } },
	};
	enum { NV = sizeof(v) / sizeof(v[0]) };
	struct hist *h[NV];
	for (int i = 0; i < NV; i++)
		h[i] = new_or_die(&v[i]);
	for (int i = 0; i < NV; i++)
		for (int j = 0; j < i; j++) {
			check(hist_shape_id(h[i]) != hist_shape_id(h[j]), "shape ids %d and %d equal", i, j);
			check(hist_merge(h[i], h[j]) == -EINVAL, "merged %d into %d", j, i);
		}
	for (int i = 0; i < NV; i++) {
		struct hist *like = hist_new_like(h[i]);
		CHECK(like && hist_shape_id(like) == hist_shape_id(h[i]) && hist_merge(like, h[i]) == 0);
		hist_free(like);
		hist_free(h[i]);
	}
}

/* A 3-bin weighted histogram for each of sample(2) x variation(3), as one
 * hist.json entry with two category axes, checked element by element. */
static void test_composite(void)
{
	struct hist_def d = { .name = "part", .title = "T", .ndim = 1, .weighted = true,
			      .axes = { { .nbins = 3, .lo = 0, .hi = 3, .label = "x" } } };
	struct hist *p[6];
	for (int i = 0; i < 6; i++) {
		p[i] = new_or_die(&d);
		const double x[] = { 0.5, 2.5, i == 0 ? NAN : 5 }, w[] = { i + 1, 10 * (i + 1), 0.5 };
		hist_fill1(p[i], x, w, i == 0 || i == 5 ? 3 : 2);
	}
	const char *samples[] = { "ttbar", "data" }, *vars[] = { "nominal", "up", "down" };
	struct hist_json_item it = { .name = "mjj", .parts = p, .ncat = 2,
				     .cat = { { "sample", samples, 2 }, { "variation", vars, 3 } } };
	char *s = NULL;
	size_t len = 0;
	CHECK_EQ_I(hist_to_json_items(&it, 1, "0.1.0", &s, &len), 0);
	/* The layout of hist.json (jsonw.h): members on lines of their own, an
	 * indentation of one space per level, arrays of numbers on one line,
	 * containers of at most 72 bytes on one line. */
	const char *want =
		"{\n"
		" \"mjj\": {\n"
		"  \"uhi_schema\": 1,\n"
		"  \"writer_info\": {\"anafs\": {\"version\": \"0.1.0\"}},\n"
		"  \"metadata\": {\"name\": \"mjj\", \"title\": \"T\", \"skipped_fills\": 1, \"entries\": 13},\n"
		"  \"axes\": [\n"
		"   {\n"
		"    \"type\": \"regular\",\n"
		"    \"lower\": 0,\n"
		"    \"upper\": 3,\n"
		"    \"bins\": 3,\n"
		"    \"underflow\": true,\n"
		"    \"overflow\": true,\n"
		"    \"circular\": false,\n"
		"    \"metadata\": {\"label\": \"x\"}\n"
		"   },\n"
		"   {\n"
		"    \"type\": \"category_str\",\n"
		"    \"categories\": [\"ttbar\", \"data\"],\n"
		"    \"flow\": false,\n"
		"    \"metadata\": {\"name\": \"sample\"}\n"
		"   },\n"
		"   {\n"
		"    \"type\": \"category_str\",\n"
		"    \"categories\": [\"nominal\", \"up\", \"down\"],\n"
		"    \"flow\": false,\n"
		"    \"metadata\": {\"name\": \"variation\"}\n"
		"   }\n"
		"  ],\n"
		"  \"storage\": {\n"
		"   \"type\": \"weighted\",\n"
		"   \"values\": [\n"
		"    [[0, 0, 0], [0, 0, 0]],\n"
		"    [[1, 2, 3], [4, 5, 6]],\n"
		"    [[0, 0, 0], [0, 0, 0]],\n"
		"    [[10, 20, 30], [40, 50, 60]],\n"
		"    [[0, 0, 0], [0, 0, 0.5]]\n"
		"   ],\n"
		"   \"variances\": [\n"
		"    [[0, 0, 0], [0, 0, 0]],\n"
		"    [[1, 4, 9], [16, 25, 36]],\n"
		"    [[0, 0, 0], [0, 0, 0]],\n"
		"    [[100, 400, 900], [1600, 2500, 3600]],\n"
		"    [[0, 0, 0], [0, 0, 0.25]]\n"
		"   ]\n"
		"  }\n"
		" }\n"
		"}";
	CHECK_STR(s, want);
	CHECK_EQ_I(len, strlen(want));
	if (outdir && s) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/composite.json", outdir);
		FILE *f = fopen(path, "w");
		CHECK(f && fwrite(s, 1, len, f) == len && fclose(f) == 0);
	}
	free(s);

	/* No categories: hist_to_json() under the item's name. */
	struct hist_json_item one = { .name = "part", .parts = p };
	char *a = NULL, *b = NULL;
	CHECK_EQ_I(hist_to_json_items(&one, 1, "v", &a, NULL), 0);
	CHECK_EQ_I(hist_to_json(p, 1, "v", &b, NULL), 0);
	CHECK_STR(a, b);
	free(a);
	free(b);

	/* Refused: another shape among the parts, a category repeated or
	 * missing, too many category axes, two items of one name. */
	char *out = (char *)"untouched";
	struct hist *other = reg1("o", 4, 0, 3, true), *keep = p[4];
	p[4] = other;
	CHECK_EQ_I(hist_to_json_items(&it, 1, "v", &out, NULL), -EINVAL);
	p[4] = keep;
	const char *rep[] = { "ttbar", "ttbar" };
	it.cat[0].cats = rep;
	CHECK_EQ_I(hist_to_json_items(&it, 1, "v", &out, NULL), -EINVAL);
	it.cat[0].cats = samples;
	it.cat[0].n = 0;
	CHECK_EQ_I(hist_to_json_items(&it, 1, "v", &out, NULL), -EINVAL);
	it.cat[0].n = 2;
	it.ncat = 5;
	CHECK_EQ_I(hist_to_json_items(&it, 1, "v", &out, NULL), -EINVAL);
	it.ncat = 2;
	struct hist_json_item two[2] = { it, it };
	CHECK_EQ_I(hist_to_json_items(two, 2, "v", &out, NULL), -EINVAL);
	CHECK_STR(out, "untouched");
	hist_free(other);
	for (int i = 0; i < 6; i++)
		hist_free(p[i]);
}

/* The int and weighted bytes are those of earlier versions. */
static void test_save_format(void)
{
	struct hist *h = reg1("f", 1, 0, 1, false), *w = reg1("f", 1, 0, 1, true);
	unsigned char b[64 + 32];
	CHECK_EQ_I(hist_save_size(h), 32 + 3 * 8);
	CHECK_EQ_I(hist_save_size(w), 32 + 6 * 8);
	hist_save(h, b);
	CHECK(b[7] == 0x31 && b[6] == 0x54 && b[5] == 0x53 && b[4] == 0x48 && b[0] == 0);
	hist_save(w, b);
	CHECK(b[0] == 1);
	hist_free(h);
	hist_free(w);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		outdir = argv[1];
		if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
			perror(outdir);
			return 1;
		}
	}
	test_jsonw();
	test_regular();
	test_reference_convention();
	test_variable();
	test_2d();
	test_weighted();
	test_merge_opposite_overflows();
	test_bad_defs();
	test_merge_refused();
	test_merge_random();
	test_fill_points();
	test_json();
	test_value_label();
	test_3d();
	test_cat_int();
	test_cat_str();
	test_mean();
	test_weighted_mean();
	test_scale();
	test_shape_ids();
	test_composite();
	test_save_format();
	if (failures) {
		fprintf(stderr, "test_hist: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_hist: all passed\n");
	return 0;
}
