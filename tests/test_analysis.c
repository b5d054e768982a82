/* test_analysis.c — samples, the event weight, regions, variations,
 * strings, categories, profiles, 3-D, random_normal and the lookups,
 * against values worked out by hand.
 *
 * As in test_eval.c, batches are built here (no ROOT file).  A query is
 * parsed and checked once per sample (ql_check_sample(), against that
 * sample's schema: data have no genWeight), compiled, and run with
 * eval_set_source(); the results are read from the cells of the result,
 * its cutflow, and the hist.json result_json() writes.
 *
 * The batch, 4 events:
 *   ev  Jet_pt        x  k   genWeight  run lumi
 *   0   40 25         1  -1  0.5        1   10
 *   1   35 31         2  1   -1         1   50
 *   2   -             3  1   2          2   5
 *   3   50 28 22      4  0   1          2   7
 * good = Jet_pt > 30 counts 1, 2, 0, 1; with Jet_pt * 1.5 it counts
 * 2, 2, 0, 3. */
#include "corr.h"
#include "eval.h"
#include "hist.h"
#include "jsonr.h"
#include "ql.h"
#include "result.h"
#include "rootio.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

enum { C_EV, C_NJET, C_JET_PT, C_X, C_K, C_GENW, C_RUN, C_LUMI, NCOLS };

static const struct ql_column columns[NCOLS] = {
	[C_EV] = {"ev", QL_INT, false, NULL, 0, true},
	[C_NJET] = {"nJet", QL_INT, false, NULL, 0, true},
	[C_JET_PT] = {"Jet_pt", QL_FLOAT, true, "nJet", 0, true},
	[C_X] = {"x", QL_FLOAT, false, NULL, 0, true},
	[C_K] = {"k", QL_INT, false, NULL, 0, true},
	[C_GENW] = {"genWeight", QL_FLOAT, false, NULL, 0, true},
	[C_RUN] = {"run", QL_INT, false, NULL, 0, true},
	[C_LUMI] = {"luminosityBlock", QL_INT, false, NULL, 0, true},
};
/* Simulation has every column; data the same but genWeight, whose place
 * another name takes (so that the indices stay). */
static struct ql_column data_columns[NCOLS];

static const int64_t ev4[] = {0, 1, 2, 3};
static const int32_t njet[] = {2, 2, 0, 3};
static const int64_t jet_off[] = {0, 2, 4, 4, 7};
static const float jet_pt[] = {40, 25, 35, 31, 50, 28, 22};
static const double x4[] = {1, 2, 3, 4};
static const int32_t k4[] = {-1, 1, 1, 0};
static const float genw[] = {0.5f, -1, 2, 1};
static const int32_t run4[] = {1, 1, 2, 2};
static const int32_t lumi4[] = {10, 50, 5, 7};

static struct rootio_column cols[NCOLS];

static void set_col(int c, enum rootio_type t, const void *v, size_t n, const int64_t *off,
		    int64_t first, int64_t nev)
{
	cols[c] = (struct rootio_column){.type = t, .first = first, .nentries = nev, .nvalues = n,
					 .values = (void *)v, .offsets = (int64_t *)off};
}

/* Events [a, b) of the batch as columns (offsets rebased into off). */
static void load(int64_t a, int64_t b, int64_t *off)
{
	int64_t n = b - a;
	for (int64_t i = a; i <= b; i++)
		off[i - a] = jet_off[i] - jet_off[a];
	set_col(C_EV, ROOTIO_I64, ev4 + a, (size_t)n, NULL, a, n);
	set_col(C_NJET, ROOTIO_I32, njet + a, (size_t)n, NULL, a, n);
	set_col(C_JET_PT, ROOTIO_F32, jet_pt + jet_off[a], (size_t)(jet_off[b] - jet_off[a]), off, a, n);
	set_col(C_X, ROOTIO_F64, x4 + a, (size_t)n, NULL, a, n);
	set_col(C_K, ROOTIO_I32, k4 + a, (size_t)n, NULL, a, n);
	set_col(C_GENW, ROOTIO_F32, genw + a, (size_t)n, NULL, a, n);
	set_col(C_RUN, ROOTIO_I32, run4 + a, (size_t)n, NULL, a, n);
	set_col(C_LUMI, ROOTIO_I32, lumi4 + a, (size_t)n, NULL, a, n);
}

/* A query checked and compiled for each of its samples. */
struct job {
	int n;
	struct ql_query *q[4];
	struct eval_prog *prog[4];
	struct eval_state *st[4];
};

static void job_free(struct job *j)
{
	for (int s = 0; s < j->n; s++) {
		eval_state_free(j->st[s]);
		eval_prog_free(j->prog[s]);
		ql_free(j->q[s]);
	}
	memset(j, 0, sizeof(*j));
}

/* Sample s of text checked and compiled against the schema of data (no
 * genWeight) or simulation; false (error printed) if not. */
static bool prepare(struct job *j, const char *text, int s, const char *dir)
{
	struct ql_error err;
	struct ql_query *q = NULL;
	bool data = s == 1 && strstr(text, "sample dat data"); /* the tests' data are the second */
	struct ql_schema sc = {data ? data_columns : columns, NCOLS};
	if (ql_parse(text, strlen(text), "t.query", &q, &err) ||
	    ql_check_in(q, &sc, s, dir, &err)) {
		fprintf(stderr, "query refused (sample %d):\n%s\n%s\n", s, text, err.text);
		ql_free(q);
		return false;
	}
	j->q[s] = q;
	if (eval_compile(q, &j->prog[s]) || eval_state_new(j->prog[s], &j->st[s]))
		return false;
	if (s + 1 > j->n)
		j->n = s + 1;
	return true;
}

/* Run sample s over events [a, b) in one batch. */
static bool run_part(struct job *j, int s, int64_t a, int64_t b, uint64_t seed)
{
	int64_t off[8];
	load(a, b, off);
	const struct rootio_column *in[NCOLS];
	for (size_t i = 0; i < eval_ninputs(j->prog[s]); i++)
		in[i] = &cols[eval_input_column(j->prog[s], i)];
	eval_set_source(j->st[s], s, seed);
	const char *why = NULL;
	int rc = eval_run(j->st[s], b - a, in, &why);
	if (rc)
		fprintf(stderr, "eval_run: %d %s\n", rc, why ? why : "");
	return rc == 0;
}

/* Every sample of text run over the 4 events; the merged result (new). */
static struct result *run_all(const char *text, int nsamples, const char *dir)
{
	struct job j = {0};
	struct result *sum = NULL;
	for (int s = 0; s < nsamples; s++)
		if (!prepare(&j, text, s, dir) || !run_part(&j, s, 0, 4, 42)) {
			failures++;
			job_free(&j);
			return NULL;
		}
	if (result_new(j.q[0], &sum) == 0)
		for (int s = 0; s < nsamples; s++)
			CHECK(result_merge(sum, eval_state_result(j.st[s])) == 0);
	job_free(&j);
	return sum;
}

/* The cell of statement h for sample s, region r, variation v. */
static const struct hist *cell(const struct result *r, int h, int s, int g, int v)
{
	const struct result_hrange *hr = &r->hr[h];
	return r->hists[hr->first + ((size_t)s * (size_t)hr->nr + (size_t)g) * (size_t)hr->nv + (size_t)v];
}

/* ---- samples, the weight, variations that change the selection ---- */

#define ANALYSIS                                                                    \
	"sample mc xsec=3 sumw=10 lumi=5 mc.root\n"                                  \
	"sample dat data dat.root\n"                                                 \
	"weight w = is_data ? 1 : genWeight\n"                                       \
	"define good = Jet_pt > 30\n"                                                \
	"filter two: sum(good) >= 2\n"                                               \
	"region hi: x > 2\n"                                                         \
	"vary up: Jet_pt = Jet_pt * 1.5\n"                                           \
	"vary wup: w = w * 2\n"                                                      \
	"hist n = sum(good) bins=4 range=0,4\n"                                      \
	"hist m = x bins=4 range=0,4 region=hi\n"                                    \
	"hist ch = x > 2 ? \"hi\" : \"lo\" categories=\"lo\",\"hi\"\n"

static void test_variations(void)
{
	struct result *r = run_all(ANALYSIS, 2, NULL);
	CHECK(r && r->extended && r->nsamples == 2 && r->nvaries == 3 && r->nhstmts == 3);
	if (!r)
		return;
	/* n: value 2 is bin 3 (underflow first). mc nominal: event 1 (w -1);
	 * up: events 0 (2, w .5), 1 (2, w -1), 3 (3, w 1); wup: event 1 with
	 * w -2.  Data (w 1, varied too: the query does not guard it). */
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 0, 0), 3, 0), -1);
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 0, 1), 3, 0), -0.5);
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 0, 1), 4, 0), 1);
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 0, 2), 3, 0), -2);
	CHECK_EQ_D(hist_value(cell(r, 0, 1, 0, 0), 3, 0), 1);
	CHECK_EQ_D(hist_value(cell(r, 0, 1, 0, 1), 3, 0), 2);
	CHECK_EQ_D(hist_value(cell(r, 0, 1, 0, 1), 4, 0), 1);
	CHECK_EQ_D(hist_value(cell(r, 0, 1, 0, 2), 3, 0), 2);
	/* Squared weights follow the weights. */
	CHECK_EQ_D(hist_variance(cell(r, 0, 0, 0, 1), 3, 0), 0.25 + 1);
	/* m: only region hi (x > 2): nominal keeps event 1 (x 2): nothing;
	 * up keeps event 3 (x 4: overflow). */
	CHECK_EQ_I(hist_entries(cell(r, 1, 0, 0, 0)), 0);
	CHECK_EQ_I(hist_entries(cell(r, 1, 0, 0, 1)), 1);
	CHECK_EQ_D(hist_value(cell(r, 1, 0, 0, 1), 5, 0), 1);
	/* ch: strings into categories: event 1 is "lo" (index 0). */
	CHECK_EQ_D(hist_value(cell(r, 2, 0, 0, 0), 0, 0), -1);
	CHECK_EQ_D(hist_value(cell(r, 2, 0, 0, 1), 1, 0), 1);
	/* The cutflow per sample, counts and weights (nominal). */
	CHECK_EQ_I(r->s_events[0], 4);
	CHECK_EQ_I(r->s_passed[0], 1);
	CHECK_EQ_D(r->s_wevents[0], 2.5);
	CHECK_EQ_D(r->s_wpassed[0], -1);
	CHECK_EQ_I(r->s_passed[1], 1);
	CHECK_EQ_D(r->s_wevents[1], 4);
	CHECK_EQ_I(r->s_region[0], 0); /* event 1 has x 2 */
	CHECK_EQ_I(r->passed[0], 2);   /* both samples */
	/* hist.json: mc scaled by xsec * lumi / sumw = 1.5; data not. */
	CHECK_EQ_D(result_sample_scale(r, 0), 1.5);
	CHECK_EQ_D(result_sample_scale(r, 1), 1);
	char *json = NULL, why[256];
	size_t len = 0;
	struct jsonr_doc *doc = NULL;
	CHECK(result_json(r, "t", &json, &len) == 0);
	CHECK(json && jsonr_parse(json, len, &doc, why, sizeof(why)) == 0);
	const struct jsonr_val *n = jsonr_get(jsonr_root(doc), "n");
	const struct jsonr_val *axes = jsonr_get(n, "axes");
	CHECK_EQ_I(jsonr_len(axes), 3);
	CHECK_STR(jsonr_str(jsonr_get(jsonr_get(jsonr_at(axes, 1), "metadata"), "name"), NULL), "sample");
	CHECK_STR(jsonr_str(jsonr_get(jsonr_get(jsonr_at(axes, 2), "metadata"), "name"), NULL), "variation");
	CHECK_STR(jsonr_str(jsonr_at(jsonr_get(jsonr_at(axes, 2), "categories"), 0), NULL), "nominal");
	const struct jsonr_val *vals = jsonr_get(jsonr_get(n, "storage"), "values");
	/* values[bin][sample][variation] */
	CHECK_EQ_D(jsonr_num(jsonr_at(jsonr_at(jsonr_at(vals, 3), 0), 0)), -1.5);
	CHECK_EQ_D(jsonr_num(jsonr_at(jsonr_at(jsonr_at(vals, 3), 0), 1)), -0.75);
	CHECK_EQ_D(jsonr_num(jsonr_at(jsonr_at(jsonr_at(vals, 3), 1), 2)), 2);
	const struct jsonr_val *var = jsonr_get(jsonr_get(n, "storage"), "variances");
	CHECK_EQ_D(jsonr_num(jsonr_at(jsonr_at(jsonr_at(var, 3), 0), 1)), 1.25 * 2.25);
	jsonr_free(doc);
	free(json);
	/* The result's bytes (version 4) read back the same. */
	void *bytes = NULL, *again = NULL;
	size_t nb = 0, na = 0;
	struct result *back = NULL;
	CHECK(result_encode(r, &bytes, &nb) == 0 && ((unsigned char *)bytes)[4] == 4);
	CHECK(result_new_like(r, &back) == 0 && result_decode(back, bytes, nb) == 0);
	CHECK(back && result_encode(back, &again, &na) == 0 && na == nb && !memcmp(bytes, again, nb));
	((unsigned char *)bytes)[nb - 3] ^= 1;
	CHECK(back && result_decode(back, bytes, nb) != 0);
	free(bytes);
	free(again);
	result_free(back);
	char *cf = result_cutflow(r);
	CHECK(cf && strstr(cf, "sample dat (data)") && strstr(cf, "region hi"));
	free(cf);
	result_free(r);
}

/* The condition on is_data is decided per sample: data have no genWeight,
 * and the query reads it only in simulation. */
static void test_folding(void)
{
	struct job j = {0};
	CHECK(prepare(&j, ANALYSIS, 1, NULL) && eval_ninputs(j.prog[1]) == 2); /* Jet_pt, x */
	CHECK(prepare(&j, ANALYSIS, 0, NULL) && eval_ninputs(j.prog[0]) == 3); /* and genWeight */
	job_free(&j);
	/* Unguarded, data's check fails; said to be that sample's own (the
	 * planner does when another sample passes), it names the sample. */
	const char *bad = "sample mc mc.root\nsample dat data dat.root\nhist g = genWeight bins=1 range=0,1\n";
	struct ql_query *q = NULL;
	struct ql_error err;
	struct ql_schema sc = {data_columns, NCOLS};
	CHECK(ql_parse(bad, strlen(bad), "t.query", &q, &err) == 0);
	CHECK(q && ql_check_sample(q, &sc, 1, &err) == -EINVAL);
	CHECK(strstr(err.msg, "unknown name 'genWeight'") && !strstr(err.msg, "(in sample"));
	ql_free(q);
	q = NULL;
	CHECK(ql_parse(bad, strlen(bad), "t.query", &q, &err) == 0);
	CHECK(q && ql_check_opts(q, &sc, &(struct ql_check_opts){.sample = 1, .name_sample = true},
				 &err) == -EINVAL);
	CHECK(strstr(err.msg, "unknown name 'genWeight' (in sample dat)") != NULL);
	ql_free(q);
}

/* A variation of a define that feeds a mask: the masked list is a list of
 * its own in that variation, and its length changes. */
static void test_vary_lists(void)
{
	const char *text = "sample mc mc.root\n"
			   "define cut = 30\n"
			   "define good = Jet_pt > cut\n"
			   "vary loose: cut = 20\n"
			   "hist n = count(Jet_pt[good]) bins=4 range=0,4\n"
			   "hist pt = Jet_pt[good] bins=1 range=0,100\n";
	struct result *r = run_all(text, 1, NULL);
	if (!r)
		return;
	/* nominal counts 1, 2, 0, 1; with cut 20 every jet: 2, 2, 0, 3. */
	CHECK_EQ_I(hist_count(cell(r, 0, 0, 0, 0), 2, 0), 2);
	CHECK_EQ_I(hist_count(cell(r, 0, 0, 0, 0), 3, 0), 1);
	CHECK_EQ_I(hist_count(cell(r, 0, 0, 0, 1), 3, 0), 2);
	CHECK_EQ_I(hist_count(cell(r, 0, 0, 0, 1), 4, 0), 1);
	CHECK_EQ_I(hist_entries(cell(r, 1, 0, 0, 0)), 4);
	CHECK_EQ_I(hist_entries(cell(r, 1, 0, 0, 1)), 7);
	result_free(r);
}

/* A variation computes only what reads what it varies: a weight
 * variation adds its own weight (w * 2: the product; the literal 2 is the
 * filter's), an object variation the copies of the jet selection and of
 * the filter. */
static void test_shared(void)
{
	const char *base = "sample mc mc.root\n"
			   "weight w = genWeight\n"
			   "define good = Jet_pt > 30\n"
			   "filter two: sum(good) >= 2\n"
			   "hist x = x bins=4 range=0,4\n";
	char text[1024];
	struct job j = {0};
	CHECK(prepare(&j, base, 0, NULL));
	size_t nominal = j.prog[0] ? eval_nnodes(j.prog[0]) : 0;
	job_free(&j);
	snprintf(text, sizeof(text), "%svary wup: w = w * 2\n", base);
	CHECK(prepare(&j, text, 0, NULL));
	CHECK_EQ_I(j.prog[0] ? eval_nnodes(j.prog[0]) : 0, nominal + 1);
	job_free(&j);
	/* Jet_pt * 1.5 (2 nodes), > 30, sum, >= 2 (the literals are shared):
	 * 5 more; x and its histogram are not copied. */
	snprintf(text, sizeof(text), "%svary up: Jet_pt = Jet_pt * 1.5\n", base);
	CHECK(prepare(&j, text, 0, NULL));
	CHECK_EQ_I(j.prog[0] ? eval_nnodes(j.prog[0]) : 0, nominal + 5);
	job_free(&j);
}

/* regions=: a category axis of regions, an event in each that holds. */
static void test_region_axis(void)
{
	const char *text = "weight genWeight\n"
			   "dataset mc.root\n"
			   "region lo: x <= 2\n"
			   "region 3up: x >= 3\n"
			   "region all: true\n"
			   "hist x = x bins=4 range=0,4 regions=all,3up\n";
	struct result *r = run_all(text, 1, NULL);
	if (!r)
		return;
	CHECK(r->hr[0].nr == 2 && r->hr[0].regions[0] == 2 && r->hr[0].regions[1] == 1);
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 0, 0), 2, 0), 0.5); /* all: x 1, w .5 */
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 1, 0), 2, 0), 0);   /* 3up */
	CHECK_EQ_D(hist_value(cell(r, 0, 0, 1, 0), 4, 0), 2);   /* x 3, w 2 */
	CHECK_EQ_I(r->s_region[0], 2);
	CHECK_EQ_D(r->s_wregion[1], 3);
	CHECK_EQ_D(r->s_wregion[2], 2.5);
	result_free(r);
}

/* Profiles, 3-D, integer categories, defaults. */
static void test_hist_kinds(void)
{
	const char *text = "dataset mc.root\n"
			   "defaults bins=4 range=0,4\n"
			   "profile p = k, x categories=-1,0,1\n"
			   "hist h3 = x, k, nJet bins=4,3,4 range=0,4,-1.5,1.5,0,4\n"
			   "hist kc = k categories=1,-1\n"
			   "hist d = x\n";
	struct result *r = run_all(text, 1, NULL);
	if (!r)
		return;
	/* p: k -1 has x 1; k 0 has x 4; k 1 has x 2 and 3: mean 2.5, variance .5. */
	const struct hist *p = r->hists[0];
	CHECK(hist_profile(p));
	CHECK_EQ_D(hist_value(p, 0, 0), 1);
	CHECK_EQ_D(hist_value(p, 1, 0), 4);
	CHECK_EQ_D(hist_value(p, 2, 0), 2.5);
	CHECK_EQ_D(hist_variance(p, 2, 0), 0.5);
	const struct hist *h3 = r->hists[1];
	CHECK_EQ_I(hist_ndim(h3), 3);
	int idx[3] = {4, 3, 4}; /* x 3, k 1, nJet 0: the bins 4, 3, 1 with flow */
	idx[2] = 1;
	CHECK_EQ_D(hist_cell_value(h3, hist_cell(h3, idx)), 1);
	/* kc: categories 1, -1 in that order; k 0 goes to "other" (index 2). */
	CHECK_EQ_I(hist_count(r->hists[2], 0, 0), 2);
	CHECK_EQ_I(hist_count(r->hists[2], 1, 0), 1);
	CHECK_EQ_I(hist_count(r->hists[2], 2, 0), 1);
	CHECK_EQ_I(hist_nbins(r->hists[3], 0), 4); /* from the defaults */
	result_free(r);
}

/* ---- random_normal ---- */

static uint64_t mix(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The recipe of docs/query.md, written out again. */
static double normal(uint64_t fp, int64_t site, int64_t entry, int64_t elem)
{
	uint64_t h = mix(mix(mix(fp ^ (uint64_t)site) ^ (uint64_t)entry) ^ (uint64_t)elem);
	double u1 = ((double)(h >> 11) + 1) / 9007199254740992.0;
	double u2 = (double)(mix(h) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* The same numbers for an event however the batches cut the entries, and
 * the recipe's numbers. */
static void test_random(void)
{
	const char *text = "dataset mc.root\n"
			   "hist a = ev bins=4 range=0,4 weight=random_normal(1, 2)\n"
			   "hist b = Jet_pt bins=1 range=0,100 weight=random_normal(0, 1, Jet_pt) * (Jet_pt > 45)\n";
	struct job j = {0}, k = {0};
	CHECK(prepare(&j, text, 0, NULL) && run_part(&j, 0, 0, 4, 7));
	CHECK(prepare(&k, text, 0, NULL) && run_part(&k, 0, 0, 1, 7) && run_part(&k, 0, 1, 3, 7) &&
	      run_part(&k, 0, 3, 4, 7));
	const struct result *r = eval_state_result(j.st[0]), *r2 = eval_state_result(k.st[0]);
	for (int e = 0; e < 4; e++) {
		CHECK_EQ_D(hist_value(r->hists[0], e + 1, 0), 1 + 2 * normal(7, 1, e, 0));
		CHECK_EQ_D(hist_value(r2->hists[0], e + 1, 0), hist_value(r->hists[0], e + 1, 0));
	}
	/* b: only jet 0 of event 3 (pt 50) counts: the second call, element 0. */
	CHECK_EQ_D(hist_value(r->hists[1], 1, 0), normal(7, 2, 3, 0));
	job_free(&j);
	job_free(&k);
}

/* ---- lookups ---- */

static void test_lookups(void)
{
	char dir[] = "/tmp/anafs-analysis-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	char path[300];
	snprintf(path, sizeof(path), "%s/sf.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"schema_version\": 2, \"corrections\": [{\"name\": \"sf\", \"version\": 1,"
	      " \"inputs\": [{\"name\": \"pt\", \"type\": \"real\"}, {\"name\": \"syst\", \"type\": \"string\"}],"
	      " \"output\": {\"name\": \"w\", \"type\": \"real\"},"
	      " \"data\": {\"nodetype\": \"category\", \"input\": \"syst\", \"content\": ["
	      "  {\"key\": \"central\", \"value\": {\"nodetype\": \"binning\", \"input\": \"pt\","
	      "   \"edges\": [0, 30, 45, 100], \"content\": [1, 2, 3], \"flow\": \"clamp\"}},"
	      "  {\"key\": \"up\", \"value\": 10}]}}]}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/golden.json", dir);
	f = fopen(path, "w");
	fputs("{\"1\": [[1, 20]], \"2\": [[6, 9]]}\n", f);
	fclose(f);
	const char *text = "dataset mc.root\n"
			   "hist c = Jet_pt bins=1 range=0,100 weight=correction(\"sf.json\", \"sf\", Jet_pt, \"central\")\n"
			   "hist u = ev bins=4 range=0,4 weight=correction(\"sf.json\", \"sf\", 1, \"up\")\n"
			   "hist g = ev bins=4 range=0,4 weight=lumi_mask(\"golden.json\", run, luminosityBlock)\n";
	struct result *r = run_all(text, 1, dir);
	if (r) {
		/* jets 40 25 35 31 50 28 22: 2 + 1 + 2 + 2 + 3 + 1 + 1 */
		CHECK_EQ_D(hist_value(r->hists[0], 1, 0), 12);
		CHECK_EQ_D(hist_value(r->hists[1], 2, 0), 10);
		/* (1, 10) in, (1, 50) out, (2, 5) out, (2, 7) in */
		CHECK_EQ_D(hist_value(r->hists[2], 1, 0), 1);
		CHECK_EQ_D(hist_value(r->hists[2], 2, 0), 0);
		CHECK_EQ_D(hist_value(r->hists[2], 3, 0), 0);
		CHECK_EQ_D(hist_value(r->hists[2], 4, 0), 1);
		result_free(r);
	}
	/* Errors name the place: an unknown correction, wrong inputs. */
	const char *bad[] = {
		"dataset mc.root\ndefine a = correction(\"sf.json\", \"sff\", x, \"central\")\n",
		"dataset mc.root\ndefine a = correction(\"sf.json\", \"sf\", x)\n",
		"dataset mc.root\ndefine a = correction(\"nope.json\", \"sf\", x, \"up\")\n",
		"dataset mc.root\ndefine a = correction(\"sf.json\", \"sf\", x, 1)\n",
	};
	const char *want[] = {"no correction 'sff' in the file", "another number of inputs",
			      "nope.json", "input 'syst' of the correction is a string"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ql_query *q = NULL;
		struct ql_error err;
		struct ql_schema sc = {columns, NCOLS};
		CHECK(ql_parse(bad[i], strlen(bad[i]), "t.query", &q, &err) == 0);
		check(q && ql_check_in(q, &sc, 0, dir, &err) == -EINVAL && strstr(err.msg, want[i]) &&
			      err.line == 2,
		      "lookup error %zu: got '%s'", i, err.msg);
		ql_free(q);
	}
	snprintf(path, sizeof(path), "%s/sf.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/golden.json", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	memcpy(data_columns, columns, sizeof(columns));
	data_columns[C_GENW].name = "notGenWeight";
	test_variations();
	test_folding();
	test_vary_lists();
	test_shared();
	test_region_axis();
	test_hist_kinds();
	test_random();
	test_lookups();
	if (failures)
		fprintf(stderr, "test_analysis: %d failures\n", failures);
	else
		printf("test_analysis: ok\n");
	return failures != 0;
}
