/* test_corr.c — correctionlib corrections and golden-JSON masks, against
 * values worked out by hand: bins at and between edges, every flow, uniform
 * and 2-D binning (the flattening order), string and int categories,
 * constants, every refusal with its message, the files themselves. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ana_err.h"
#include "check.h"
#include "corr.h"
#include "lumimask.h"

static char dir[64];

/* A correction set from text, named "t.json" in messages. */
static struct corr_set *load(const char *text)
{
	struct corr_set *s = NULL;
	char why[512];
	int rc = corr_load_text(text, strlen(text), "t.json", &s, why, sizeof(why));
	check(rc == 0, "load: %d %s\n  %.200s", rc, why, text);
	return s;
}

/* text must be refused with -EINVAL and exactly "t.json: " want. */
static void refused(const char *text, const char *want)
{
	struct corr_set *s = NULL;
	char why[512] = "", full[512];
	int rc = corr_load_text(text, strlen(text), "t.json", &s, why, sizeof(why));
	snprintf(full, sizeof(full), "t.json: %s", want);
	check(rc == -EINVAL && !s, "refused: rc %d for %.200s", rc, text);
	check(!strcmp(why, full), "refused:\n  %s\nexpected\n  %s", why, full);
	corr_free(s);
}

/* A correction document with one correction "sf" of the given inputs
 * (JSON array members) and data. */
static char *doc(const char *inputs, const char *data)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf),
		 "{\"schema_version\": 2, \"corrections\": [{\"name\": \"sf\", \"version\": 1,"
		 " \"inputs\": [%s], \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": %s}]}",
		 inputs, data);
	return buf;
}

#define PT "{\"name\": \"pt\", \"type\": \"real\"}"
#define ETA "{\"name\": \"eta\", \"type\": \"real\"}"
#define SYST "{\"name\": \"syst\", \"type\": \"string\"}"
#define FLAV "{\"name\": \"flavor\", \"type\": \"int\"}"

/* Evaluate one input column xs of n points; each result must be want[i]. */
static void expect1(const struct corr *c, const double *xs, const double *want, size_t n, const char *what)
{
	double out[64];
	char why[256] = "";
	const double *in[1] = {xs};
	int rc = corr_eval(c, in, n, out, why, sizeof(why));
	check(rc == 0, "%s: %d %s", what, rc, why);
	for (size_t i = 0; i < n && !rc; i++)
		check(out[i] == want[i], "%s: point %zu (x = %g): %.17g, expected %.17g", what, i, xs[i], out[i], want[i]);
}

/* Evaluation must fail with -EDOM and message want. */
static void eval_fails(const struct corr *c, const double *const *in, size_t n, const char *want)
{
	double out[64];
	char why[256] = "";
	int rc = corr_eval(c, in, n, out, why, sizeof(why));
	CHECK_EQ_I(rc, -EDOM);
	check(!strcmp(why, want), "eval:\n  %s\nexpected\n  %s", why, want);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_binning(void)
{
	const char *bins = "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 10, 20, 50],"
			   " \"content\": [1.1, 1.2, 1.3], \"flow\": \"%s\"}";
	char data[512];
	snprintf(data, sizeof(data), bins, "clamp");
	struct corr_set *s = load(doc(PT, data));
	const struct corr *c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		CHECK_EQ_I(corr_ninputs(c), 1);
		CHECK_STR(corr_input_name(c, 0), "pt");
		CHECK(corr_input_type(c, 0) == CORR_REAL);
		CHECK_EQ_I(corr_version(c), 1);
		/* Bin i holds edges[i] <= x < edges[i+1]; clamp takes the
		 * first and last bins outside, the last edge and NaN included. */
		double x[] = {-5, 0, 9.999, 10, 19.99, 20, 49.9, 50, 1e9, NAN, INFINITY, -INFINITY};
		double w[] = {1.1, 1.1, 1.1, 1.2, 1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.1};
		expect1(c, x, w, N(x), "binning clamp");
	}
	CHECK(corr_find(s, "nope") == NULL);
	corr_free(s);

	snprintf(data, sizeof(data), bins, "error");
	s = load(doc(PT, data));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {0, 10, 49.9};
		double w[] = {1.1, 1.2, 1.3};
		expect1(c, x, w, N(x), "binning error, inside");
		double a[] = {5, 15, 50}, b[] = {-1}, d[] = {NAN};
		const double *in[] = {a};
		eval_fails(c, in, 3, "correction 'sf': input 'pt' = 50 at index 2 is not below the binning's "
			   "last edge 50 (flow \"error\")");
		in[0] = b;
		eval_fails(c, in, 1, "correction 'sf': input 'pt' = -1 at index 0 is below the binning's "
			   "first edge 0 (flow \"error\")");
		in[0] = d;
		eval_fails(c, in, 1, "correction 'sf': input 'pt' is NaN at index 0 (flow \"error\")");
	}
	corr_free(s);

	/* A node for the values outside: another binning, on eta, and a
	 * content node that is itself a binning. */
	s = load(doc(PT "," ETA,
		     "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 10, 20],"
		     " \"content\": [2.0, {\"nodetype\": \"binning\", \"input\": \"eta\", \"edges\": [-1, 0, 1],"
		     " \"content\": [3.0, 4.0], \"flow\": 5.0}],"
		     " \"flow\": {\"nodetype\": \"binning\", \"input\": \"eta\", \"edges\": [-3, 0, 3],"
		     " \"content\": [7, 8], \"flow\": \"clamp\"}}"));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double pt[] = {5, 15, 15, 15, 25, -1, 20, 25};
		double eta[] = {0, -0.5, 0.5, 1.0, -1, 2, 9, -9};
		double w[] = {2.0, 3.0, 4.0, 5.0, 7, 8, 8, 7};
		double out[8];
		const double *in[] = {pt, eta};
		char why[256] = "";
		CHECK_EQ_I(corr_eval(c, in, 8, out, why, sizeof(why)), 0);
		for (size_t i = 0; i < 8; i++)
			check(out[i] == w[i], "flow node: point %zu: %g, expected %g", i, out[i], w[i]);
	}
	corr_free(s);
}

static void test_uniform(void)
{
	const char *u = "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": {\"n\": 4, \"low\": 0, \"high\": 2},"
			" \"content\": [10, 20, 30, 40], \"flow\": \"%s\"}";
	char data[512];
	snprintf(data, sizeof(data), u, "clamp");
	struct corr_set *s = load(doc(PT, data));
	const struct corr *c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {0, 0.49, 0.5, 1.0, 1.999, 2, -0.1, 7, NAN};
		double w[] = {10, 10, 20, 30, 40, 40, 10, 40, 40};
		expect1(c, x, w, N(x), "uniform clamp");
	}
	corr_free(s);
	/* wrap: 2.5 is 0.5 (bin 1), -0.5 is 1.5 (bin 3), 4 is 0. */
	snprintf(data, sizeof(data), u, "wrap");
	s = load(doc(PT, data));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {2.5, -0.5, 4, 1.2};
		double w[] = {20, 40, 10, 30};
		expect1(c, x, w, N(x), "uniform wrap");
		double a[] = {INFINITY};
		const double *in[] = {a};
		eval_fails(c, in, 1, "correction 'sf': input 'pt' = inf at index 0 cannot be wrapped into "
			   "the binning (flow \"wrap\")");
	}
	corr_free(s);
	/* "inf" edges, as correctionlib writes them. */
	s = load(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [\"-inf\", 0, \"+inf\"],"
		     " \"content\": [1, 2], \"flow\": \"error\"}"));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {-1e300, -INFINITY, 0, 1e300};
		double w[] = {1, 1, 2, 2};
		expect1(c, x, w, N(x), "inf edges");
	}
	corr_free(s);
}

/* A lepton scale factor in |eta| (uniform, 2 bins) x pt (3 bins).
 * correctionlib flattens C-ordered, the last input fastest:
 * content[i_eta * 3 + i_pt]. */
static void test_multibinning(void)
{
	const char *m = "{\"nodetype\": \"multibinning\", \"inputs\": [\"eta\", \"pt\"],"
			" \"edges\": [{\"n\": 2, \"low\": 0, \"high\": 2.4}, [20, 40, 60, 120]],"
			" \"content\": [0.91, 0.92, 0.93, 0.81, 0.82, 0.83], \"flow\": %s}";
	char data[512];
	snprintf(data, sizeof(data), m, "\"clamp\"");
	struct corr_set *s = load(doc(PT "," ETA, data));
	const struct corr *c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double eta[] = {0.5, 0.5, 0.5, 1.5, 2.0, 1.2, 3.0, -1, 1.19};
		double pt[] = {30, 50, 100, 25, 100, 40, 500, 10, 119.9};
		double w[] = {0.91, 0.92, 0.93, 0.81, 0.83, 0.82, 0.83, 0.91, 0.93};
		double out[N(w)];
		const double *in[] = {pt, eta}; /* in the correction's input order */
		CHECK_EQ_I(corr_eval(c, in, N(w), out, NULL, 0), 0);
		for (size_t i = 0; i < N(w); i++)
			check(out[i] == w[i], "multibinning: (eta %g, pt %g): %g, expected %g", eta[i], pt[i], out[i], w[i]);
	}
	corr_free(s);
	snprintf(data, sizeof(data), m, "1.0");
	s = load(doc(PT "," ETA, data));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double eta[] = {0.5, 2.4, 0.5}, pt[] = {30, 30, 120};
		double out[3];
		const double *in[] = {pt, eta};
		CHECK_EQ_I(corr_eval(c, in, 3, out, NULL, 0), 0);
		CHECK_EQ_D(out[0], 0.91);
		CHECK_EQ_D(out[1], 1.0);
		CHECK_EQ_D(out[2], 1.0);
	}
	corr_free(s);
	snprintf(data, sizeof(data), m, "\"error\"");
	s = load(doc(PT "," ETA, data));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double eta[] = {0.5, 0.5}, pt[] = {30, 19};
		const double *in[] = {pt, eta};
		eval_fails(c, in, 2, "correction 'sf': input 'pt' = 19 at index 1 is below the binning's "
			   "first edge 20 (flow \"error\")");
	}
	corr_free(s);
}

/* A b-tag-like scale factor: a category on the systematic over pt binnings. */
static void test_category_string(void)
{
	struct corr_set *s = load(doc(SYST "," PT,
		"{\"nodetype\": \"category\", \"input\": \"syst\", \"content\": ["
		" {\"key\": \"central\", \"value\": {\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [20, 50, 100], \"content\": [0.95, 0.97], \"flow\": \"clamp\"}},"
		" {\"key\": \"up\", \"value\": {\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [20, 50, 100], \"content\": [1.0, 1.02], \"flow\": \"clamp\"}},"
		" {\"key\": \"down\", \"value\": {\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [20, 50, 100], \"content\": [0.90, 0.92], \"flow\": \"clamp\"}}]}"));
	const struct corr *c = s ? corr_find(s, "sf") : NULL;
	if (!c)
		goto out;
	CHECK(corr_input_type(c, 0) == CORR_STRING);
	/* Ids are ranks of the keys' text. */
	int central = corr_string_id(c, 0, "central"), up = corr_string_id(c, 0, "up"),
	    down = corr_string_id(c, 0, "down");
	CHECK_EQ_I(central, 0);
	CHECK_EQ_I(down, 1);
	CHECK_EQ_I(up, 2);
	CHECK_EQ_I(corr_string_id(c, 0, "nominal"), -1);
	CHECK_EQ_I(corr_string_id(c, 1, "up"), -1); /* pt is not a string input */
	CHECK_STR(corr_string_at(c, 0, up), "up");
	CHECK(corr_string_at(c, 0, 3) == NULL);
	double sy[] = {central, up, down, central, up}, pt[] = {30, 60, 70, 10, 1000};
	double w[] = {0.95, 1.02, 0.92, 0.95, 1.02};
	double out[5];
	const double *in[] = {sy, pt};
	CHECK_EQ_I(corr_eval(c, in, 5, out, NULL, 0), 0);
	for (size_t i = 0; i < 5; i++)
		check(out[i] == w[i], "btag: point %zu: %g, expected %g", i, out[i], w[i]);
	double bad[] = {central, -1};
	in[0] = bad;
	eval_fails(c, in, 2, "correction 'sf': input 'syst' at index 1 is a string that no category key "
		   "has, and the category has no default");
out:
	corr_free(s);

	/* A key of one category is an id for all; the category without it
	 * names it when it fails. */
	s = load(doc(SYST,
		"{\"nodetype\": \"category\", \"input\": \"syst\", \"content\": ["
		" {\"key\": \"a\", \"value\": {\"nodetype\": \"category\", \"input\": \"syst\","
		"   \"content\": [{\"key\": \"b\", \"value\": 2}], \"default\": 3}},"
		" {\"key\": \"c\", \"value\": {\"nodetype\": \"category\", \"input\": \"syst\","
		"   \"content\": [{\"key\": \"d\", \"value\": 4}]}}], \"default\": null}"));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		CHECK_EQ_I(corr_string_id(c, 0, "d"), 3);
		double x[] = {corr_string_id(c, 0, "a")};
		double three[] = {3};
		expect1(c, x, three, 1, "nested string category");
		double y[] = {corr_string_id(c, 0, "c")};
		const double *yin[] = {y};
		eval_fails(c, yin, 1, "correction 'sf': input 'syst' = \"c\" at index 0 is not a key of the "
			   "category, which has no default");
	}
	corr_free(s);
}

static void test_category_int(void)
{
	const char *cat = "{\"nodetype\": \"category\", \"input\": \"flavor\", \"content\": ["
			  " {\"key\": 5, \"value\": 0.9}, {\"key\": 4, \"value\": 0.8}, {\"key\": 0, \"value\": 1.0}]%s}";
	char data[512];
	snprintf(data, sizeof(data), cat, "");
	struct corr_set *s = load(doc(FLAV, data));
	const struct corr *c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {4, 5, 0, 5, 4};
		double w[] = {0.8, 0.9, 1.0, 0.9, 0.8};
		expect1(c, x, w, N(x), "int category");
		double a[] = {4, 5, 0, 3}, b[] = {4.5};
		const double *in[] = {a};
		eval_fails(c, in, 4, "correction 'sf': input 'flavor' = 3 at index 3 is not a key of the "
			   "category, which has no default");
		in[0] = b;
		eval_fails(c, in, 1, "correction 'sf': input 'flavor' = 4.5 at index 0 is not a key of the "
			   "category, which has no default");
	}
	corr_free(s);
	snprintf(data, sizeof(data), cat, ", \"default\": 0.5");
	s = load(doc(FLAV, data));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {4, 3, 4.5, NAN, -1e30, 5};
		double w[] = {0.8, 0.5, 0.5, 0.5, 0.5, 0.9};
		expect1(c, x, w, N(x), "int category with default");
	}
	corr_free(s);
	/* An int input binned: 10 is in [10, 20). */
	s = load(doc(FLAV, "{\"nodetype\": \"binning\", \"input\": \"flavor\", \"edges\": [0, 10, 20],"
		     " \"content\": [1, 2], \"flow\": \"clamp\"}"));
	c = s ? corr_find(s, "sf") : NULL;
	if (c) {
		double x[] = {9, 10, 25};
		double w[] = {1, 2, 2};
		expect1(c, x, w, N(x), "int binning");
	}
	corr_free(s);
}

static void test_constant_and_forms(void)
{
	/* A single correction at the top, not in a set. */
	const char *one = "{\"name\": \"k\", \"version\": 3, \"inputs\": [" PT "],"
			  " \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 1.5}";
	struct corr_set *s = load(one);
	const struct corr *c = s ? corr_find(s, "k") : NULL;
	if (c) {
		double x[] = {1, NAN, -7};
		double w[] = {1.5, 1.5, 1.5};
		expect1(c, x, w, 3, "constant");
		CHECK_EQ_I(corr_version(c), 3);
		CHECK_EQ_I(corr_count(s), 1);
	}
	corr_free(s);
	/* Three in a set, listed for a hint. */
	s = load("{\"schema_version\": 2, \"corrections\": ["
		 "{\"name\": \"alpha\", \"version\": 1, \"inputs\": [], \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 1},"
		 "{\"name\": \"beta\", \"version\": 1, \"inputs\": [], \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 2},"
		 "{\"name\": \"gamma\", \"version\": 1, \"inputs\": [], \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 3}],"
		 " \"compound_corrections\": []}");
	if (s) {
		char buf[64];
		CHECK_EQ_I(corr_count(s), 3);
		CHECK_STR(corr_name(corr_at(s, 1)), "beta");
		CHECK_STR(corr_names(s, buf, sizeof(buf)), "alpha, beta, gamma");
		CHECK_STR(corr_names(s, buf, 16), "alpha, beta...");
		CHECK_STR(corr_names(s, buf, 18), "alpha, beta...");
		CHECK_STR(corr_names(s, buf, 19), "alpha, beta, gamma");
		CHECK_STR(corr_names(s, buf, 4), "...");
		double out[2];
		CHECK_EQ_I(corr_eval(corr_find(s, "gamma"), NULL, 2, out, NULL, 0), 0);
		CHECK_EQ_D(out[1], 3);
	}
	corr_free(s);
}

static void test_refusals(void)
{
	const char *bin3 = "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 1, 2, 3], \"content\": [1, 2, %s], \"flow\": \"clamp\"}";
	char data[1024];
	snprintf(data, sizeof(data), bin3,
		 "{\"nodetype\": \"formula\", \"expression\": \"x\", \"parser\": \"TFormula\", \"variables\": [\"pt\"]}");
	refused(doc(PT, data), "correction 'sf': node type 'formula' at data.content[2] is not supported; "
		"anafs reads binning, multibinning, category and constants");
	refused(doc(PT, "{\"nodetype\": \"transform\", \"input\": \"pt\", \"rule\": 1, \"content\": 1}"),
		"correction 'sf': node type 'transform' at data is not supported; anafs reads binning, "
		"multibinning, category and constants");
	refused(doc(SYST, "{\"nodetype\": \"category\", \"input\": \"syst\", \"content\": [{\"key\": \"up\","
		    " \"value\": {\"nodetype\": \"hashprng\"}}]}"),
		"correction 'sf': node type 'hashprng' at data.content[0].value is not supported; anafs reads "
		"binning, multibinning, category and constants");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 1, 2], \"content\": [1], \"flow\": \"clamp\"}"),
		"correction 'sf': data has 2 bins but 1 content nodes");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": {\"n\": 3, \"low\": 0, \"high\": 1}, \"content\": [1, 2, 3, 4], \"flow\": \"clamp\"}"),
		"correction 'sf': data has 3 bins but 4 content nodes");
	refused(doc(PT "," ETA, "{\"nodetype\": \"multibinning\", \"inputs\": [\"eta\", \"pt\"], \"edges\": [[0, 1, 2], [0, 1, 2, 3]],"
		    " \"content\": [1, 2, 3, 4, 5], \"flow\": \"clamp\"}"),
		"correction 'sf': data has 6 bins but 5 content nodes");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 10, 10, 20], \"content\": [1, 2, 3], \"flow\": \"clamp\"}"),
		"correction 'sf': data.edges[2] (10) is not above edges[1] (10): edges must increase strictly");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [5, 1], \"content\": [1], \"flow\": \"clamp\"}"),
		"correction 'sf': data.edges[1] (1) is not above edges[0] (5): edges must increase strictly");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": {\"n\": 2, \"low\": 1, \"high\": 1}, \"content\": [1, 2], \"flow\": \"clamp\"}"),
		"correction 'sf': data.edges: low (1) must be below high (1)");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, \"nan\"], \"content\": [1], \"flow\": \"clamp\"}"),
		"correction 'sf': data.edges[1] must be a number, \"inf\" or \"-inf\"");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"eta\", \"edges\": [0, 1], \"content\": [1], \"flow\": \"clamp\"}"),
		"correction 'sf': data.input is 'eta', which is not one of the correction's inputs");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 1], \"content\": [1]}"),
		"correction 'sf': data has no \"flow\" (\"clamp\", \"error\", \"wrap\" or a node)");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, 1], \"content\": [1], \"flow\": \"overflow\"}"),
		"correction 'sf': data.flow is \"overflow\"; it must be \"clamp\", \"error\", \"wrap\" or a node");
	refused(doc(PT, "{\"nodetype\": \"binning\", \"input\": \"pt\", \"edges\": [0, \"inf\"], \"content\": [1], \"flow\": \"wrap\"}"),
		"correction 'sf': data: flow \"wrap\" needs finite edges");
	refused(doc(SYST, "{\"nodetype\": \"binning\", \"input\": \"syst\", \"edges\": [0, 1], \"content\": [1], \"flow\": \"clamp\"}"),
		"correction 'sf': data: a binning cannot use the string input 'syst'");
	refused(doc(PT, "{\"nodetype\": \"category\", \"input\": \"pt\", \"content\": []}"),
		"correction 'sf': data: a category cannot use the real input 'pt'");
	refused(doc(FLAV, "{\"nodetype\": \"category\", \"input\": \"flavor\", \"content\": [{\"key\": \"b\", \"value\": 1}]}"),
		"correction 'sf': data.content[0].key must be an integer: input 'flavor' is an int");
	refused(doc(SYST, "{\"nodetype\": \"category\", \"input\": \"syst\", \"content\": [{\"key\": 1, \"value\": 1}]}"),
		"correction 'sf': data.content[0].key must be a string: input 'syst' is a string");
	refused(doc(FLAV, "{\"nodetype\": \"category\", \"input\": \"flavor\", \"content\": [{\"key\": 1.5, \"value\": 1}]}"),
		"correction 'sf': data.content[0].key must be an integer: input 'flavor' is an int");
	refused(doc(SYST, "{\"nodetype\": \"category\", \"input\": \"syst\", \"content\": [{\"key\": \"up\", \"value\": 1},"
		    " {\"key\": \"dn\", \"value\": 1}, {\"key\": \"up\", \"value\": 2}]}"),
		"correction 'sf': data: key \"up\" is in content[0] and content[2]");
	refused(doc(FLAV, "{\"nodetype\": \"category\", \"input\": \"flavor\", \"content\": [{\"key\": 5, \"value\": 1},"
		    " {\"key\": 5, \"value\": 2}]}"),
		"correction 'sf': data: key 5 is in content[0] and content[1]");
	refused(doc(PT, "\"x\""), "correction 'sf': data must be a number or an object with a \"nodetype\", not a string");
	refused(doc("{\"name\": \"pt\", \"type\": \"float\"}", "1"),
		"correction 'sf': inputs[0] ('pt') has type \"float\"; it must be \"real\", \"int\" or \"string\"");
	refused(doc(PT "," PT, "1"), "correction 'sf': inputs[0] and inputs[1] are both called 'pt'");
	refused("{\"schema_version\": 1, \"corrections\": []}", "schema_version 1; anafs reads correctionlib schema version 2");
	refused("{\"corrections\": []}", "no integer \"schema_version\"; anafs reads correctionlib schema version 2");
	refused("[1, 2]", "neither a correction set {\"schema_version\": 2, \"corrections\": [...]} nor a single correction");
	refused("{\"schema_version\": 2, \"corrections\": [{\"name\": \"a\", \"version\": 1, \"inputs\": [],"
		" \"output\": {\"name\": \"w\", \"type\": \"int\"}, \"data\": 1}]}",
		"correction 'a': \"output\" must be {\"name\", \"type\": \"real\"}");
	refused("{\"schema_version\": 2, \"corrections\": [{\"name\": \"a\", \"version\": 1, \"inputs\": [],"
		" \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 1}, {\"name\": \"a\", \"version\": 2, \"inputs\": [],"
		" \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 1}]}",
		"two corrections are called 'a'");
	refused("{\"schema_version\": 2,\n \"corrections\": [1,]}", "line 2, column 20: expected a value (no trailing comma)");
	refused("\x1f\x8b\x08\x00", "a gzip file; anafs reads plain JSON (gunzip it first)");

	/* Nodes nested past the bound. */
	char deep[4096];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"nodetype\": \"category\", \"input\": \"flavor\", \"default\": ");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, ", \"content\": []}");
	struct corr_set *s = NULL;
	char why[1024];
	CHECK_EQ_I(corr_load_text(doc(FLAV, deep), strlen(doc(FLAV, deep)), "t.json", &s, why, sizeof(why)), -EINVAL);
	check(strstr(why, ": nodes nested deeper than 32") != NULL, "deep: %s", why);
}

static char *write_file(const char *name, const char *text, size_t len)
{
	static char path[8][128];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, 128, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f))
		check(0, "cannot write %s", p);
	return p;
}

static void test_lumimask(void)
{
	const char *golden = "{\"273158\": [[1, 1283]],\n \"273302\": [[1, 459], [462, 472]],\n"
			     " \"100\": [[20, 30], [1, 5], [4, 10], [11, 12], [40, 40]]}";
	struct lumimask *m = NULL;
	char why[256] = "";
	const char *path = write_file("golden.json", golden, strlen(golden));
	int rc = lumimask_load(path, &m, why, sizeof(why));
	check(rc == 0, "lumimask_load: %d %s", rc, why);
	if (m) {
		/* Run 100 merged: [1, 12] (overlap, then touching), [20, 30], [40, 40]. */
		CHECK_EQ_I(lumimask_nruns(m), 3);
		CHECK_EQ_I(lumimask_nlumis(m), 12 + 11 + 1 + 1283 + 459 + 11);
		int64_t run[] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100,
				 273302, 273302, 273302, 273302, 273302, 273158, 273158, 100, 999, -1, 273302};
		int64_t lumi[] = {1, 12, 13, 19, 20, 30, 31, 40, 41, 0,
				  459, 460, 462, 472, 473, 1283, 1284, 5, 1, 1, 1};
		uint8_t want[] = {1, 1, 0, 0, 1, 1, 0, 1, 0, 0,
				  1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1};
		uint8_t out[N(want)];
		lumimask_eval(m, run, lumi, N(want), out);
		for (size_t i = 0; i < N(want); i++)
			check(out[i] == want[i], "lumimask: run %lld lumi %lld: %d, expected %d", (long long)run[i],
			      (long long)lumi[i], out[i], want[i]);
	}
	lumimask_free(m);

	struct { const char *text, *want; } bad[] = {
		{"{\"abc\": [[1, 2]]}", "t.json: line 1, column 9: the key \"abc\" is not a run number (decimal, from 1, no leading zero)"},
		{"{\"0100\": [[1, 2]]}", "t.json: line 1, column 10: the key \"0100\" is not a run number (decimal, from 1, no leading zero)"},
		{"{\"100\": [[5, 3]]}", "t.json: line 1, column 10: run 100: range 0 must have 1 <= first <= last"},
		{"{\"100\": [[1, 2], [0, 3]]}", "t.json: line 1, column 18: run 100: range 1 must have 1 <= first <= last"},
		{"{\"100\": [[1]]}", "t.json: line 1, column 10: run 100: range 0 must be [first, last], two integers"},
		{"{\"100\": [[1, 2.5]]}", "t.json: line 1, column 10: run 100: range 0 must be [first, last], two integers"},
		{"{\"100\": {\"a\": 1}}", "t.json: line 1, column 9: run 100: expected an array of [first, last] ranges"},
		{"[[1, 2]]", "t.json: line 1, column 1: expected an object of runs, {\"run\": [[first, last], ...]}"},
		{"{\"100\": [[1, 2]], \"100\": [[3, 4]]}", "t.json: line 1, column 19: duplicate key \"100\""},
	};
	for (size_t i = 0; i < N(bad); i++) {
		m = NULL;
		rc = lumimask_load_text(bad[i].text, strlen(bad[i].text), "t.json", &m, why, sizeof(why));
		check(rc == -EINVAL && !m, "lumimask %s: rc %d", bad[i].text, rc);
		check(!strcmp(why, bad[i].want), "lumimask:\n  %s\nexpected\n  %s", why, bad[i].want);
		lumimask_free(m);
	}
	/* An empty mask certifies nothing. */
	rc = lumimask_load_text("{}", 2, "t.json", &m, why, sizeof(why));
	CHECK_EQ_I(rc, 0);
	if (!rc) {
		int64_t r = 1, l = 1;
		uint8_t o = 9;
		lumimask_eval(m, &r, &l, 1, &o);
		CHECK_EQ_I(o, 0);
		lumimask_free(m);
	}
}

/* The files: a real one, a missing one, gzip, a directory, one too big. */
static void test_files(void)
{
	const char *text = "{\"name\": \"k\", \"version\": 1, \"inputs\": [], \"output\": {\"name\": \"w\", \"type\": \"real\"}, \"data\": 2}";
	struct corr_set *s = NULL;
	char why[512] = "", want[512];
	const char *p = write_file("k.json", text, strlen(text));
	CHECK_EQ_I(corr_load(p, &s, why, sizeof(why)), 0);
	CHECK(s && corr_find(s, "k"));
	corr_free(s);
	s = NULL;
	snprintf(want, sizeof(want), "%s/none.json", dir);
	CHECK_EQ_I(corr_load(want, &s, why, sizeof(why)), -ENOENT);
	strcat(want, ": No such file or directory");
	CHECK_STR(why, want);
	p = write_file("k.json.gz", "\x1f\x8b\x08\x00\x00", 5);
	CHECK_EQ_I(corr_load(p, &s, why, sizeof(why)), -EINVAL);
	snprintf(want, sizeof(want), "%s: a gzip file; anafs reads plain JSON (gunzip it first)", p);
	CHECK_STR(why, want);
	CHECK_EQ_I(corr_load(dir, &s, why, sizeof(why)), ANA_ENOTREG);
	struct lumimask *m = NULL;
	CHECK_EQ_I(lumimask_load(dir, &m, why, sizeof(why)), ANA_ENOTREG);
	/* A sparse file one byte over the cap: refused by its size alone. */
	p = write_file("big.json", "", 0);
	if (truncate(p, (off_t)CORR_MAX_FILE + 1) == 0) {
		CHECK_EQ_I(corr_load(p, &s, why, sizeof(why)), ANA_ETOOBIG);
		snprintf(want, sizeof(want), "%s: 268435457 bytes, more than the 256 MiB anafs reads", p);
		CHECK_STR(why, want);
		CHECK_EQ_I(lumimask_load(p, &m, why, sizeof(why)), ANA_ETOOBIG);
	}
	unlink(p);
	CHECK(s == NULL && m == NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_corr.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_binning();
	test_uniform();
	test_multibinning();
	test_category_string();
	test_category_int();
	test_constant_and_forms();
	test_refusals();
	test_lumimask();
	test_files();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_corr: could not remove %s\n", dir);
	printf("test_corr: %d checks, %d failures\n", nchecks, failures);
	return failures != 0;
}
