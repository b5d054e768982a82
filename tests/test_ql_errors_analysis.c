/* test_ql_errors_analysis.c — the refusals of what makes a query an
 * analysis: sample, lumi, weight, region, vary, defaults and profile
 * lines; categories, labels and three axes on histograms; strings, the
 * samples' values and random_normal in expressions.  Each case holds the
 * return code, line, column, message, hint, and the caret line, as
 * test_ql_errors.c does for the rest of the language (a file of its own
 * to keep each near the size STYLE.md asks).
 *
 * A query with samples is checked once per sample (ql_check_sample(), on
 * a fresh parse each time, as the planner does): BADS() holds one sample's
 * refusal, BAD() sample 0's. */
#include "ql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_cases.h"

/* Three samples: two simulated (one with a known sum of weights), data. */
#define S3                                                                                 \
	"sample ttbar xsec=729.84 sumw=auto tt.root\n"                                    \
	"sample wjets xsec=15487.16 sumw=1e6 wj.root\n"                                   \
	"sample data  data d.root\n"

/* Parse text and check sample s of it against sc: the refusal as BAD(). */
static void bads_(int at, const char *text, const struct ql_schema *sc, int s, int want_rc, int line,
		  int col, const char *msg, const char *hint)
{
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(text, strlen(text), "t.query", &q, &err);
	if (rc == 0) {
		rc = ql_check_sample(q, sc, s, &err);
		ql_free(q);
	}
	bad_err_(at, text, rc, &err, want_rc, line, col, msg, hint);
}
#define BADS(text, s, rc, line, col, msg, hint) \
	bads_(__LINE__, text, &schema, s, rc, line, col, msg, hint)

/* The same refusal in every one of n samples.  (The planner adds "(in
 * sample X)" only to an error one sample has and another not; the
 * checker alone never does, unless asked: test_analysis.c.) */
static void bad_every_(int at, const char *text, int n, int line, int col, const char *msg,
		       const char *hint)
{
	for (int s = 0; s < n; s++)
		bads_(at, text, &schema, s, -EINVAL, line, col, msg, hint);
}
#define BAD_EVERY(text, line, col, msg, hint) bad_every_(__LINE__, text, 3, line, col, msg, hint)

/* A query n lines of fmt (each taking the line's number), then tail. */
static char *lines_of(const char *head, const char *fmt, int n, const char *tail)
{
	size_t cap = strlen(head) + (size_t)n * (strlen(fmt) + 24) + strlen(tail) + 1;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	int k = snprintf(t, cap, "%s", head);
	for (int i = 0; i < n; i++)
		k += snprintf(t + k, cap - (size_t)k, fmt, i, i);
	snprintf(t + k, cap - (size_t)k, "%s", tail);
	return t;
}

/* The queries these cases break are sound without their mistake. */
static void test_controls(void)
{
	struct ql_query *q = OK(S3 "lumi 3378\nweight w = is_data ? 1 : weight\n"
				   "region 4j: nJet >= 4\nvary up: w = w * 1.1\n"
				   "filter sample == \"wjets\"\n"
				   "hist h = MET_pt, nJet bins=1,1 range=0,1,0,1 region=4j labels=\"x\",\"y\"\n");
	ql_free(q);
}

static void test_errors_sample(void)
{
	const char *takes = "a sample takes data, xsec=, sumw= and lumi=, then its files";
	const char *example = "sample ttbar xsec=729.84 sumw=auto data/ttbar_*.root";
	char want[256];
	snprintf(want, sizeof(want), "did you mean xsec? %s", takes);
	BAD("sample tt xsc=1 tt.root\n", -EINVAL, 1, 11, "unknown sample option", want);
	snprintf(want, sizeof(want), "did you mean sumw or lumi? %s", takes);
	BAD("sample tt sunw=auto tt.root\n", -EINVAL, 1, 11, "unknown sample option", want);
	BAD("sample tt colour=red tt.root\n", -EINVAL, 1, 11, "unknown sample option", takes);
	/* A path holding '=' but no '/' before it reads as an option. */
	BAD("sample tt tt.root x=1.root\n", -EINVAL, 1, 19, "unknown sample option", takes);
	BAD("sample tt xsec=1\n", -EINVAL, 1, 1, "the sample names no file", example);
	BAD("sample tt data\n", -EINVAL, 1, 1, "the sample names no file", example);
	BAD("sample\n", -EINVAL, 1, 1, "expected the sample's name", example);
	BAD("sample t-t tt.root\n", -EINVAL, 1, 8, "a sample's name is letters, digits and '_'", example);
	BAD("sample \"tt\" tt.root\n", -EINVAL, 1, 8, "a sample's name is letters, digits and '_'",
	    example);
	/* Data are not scaled: the caret under the first option too many. */
	BAD("sample d data xsec=1 d.root\n",
	    -EINVAL,
	    1,
	    15,
	    "a data sample takes no cross section, sum of weights or luminosity",
	    "data are not scaled: leave xsec=, sumw= and lumi= out");
	BAD("sample d data sumw=auto d.root\n",
	    -EINVAL,
	    1,
	    15,
	    "a data sample takes no cross section, sum of weights or luminosity",
	    "data are not scaled: leave xsec=, sumw= and lumi= out");
	BAD("sample d xsec=2 data d.root\n",
	    -EINVAL,
	    1,
	    10,
	    "a data sample takes no cross section, sum of weights or luminosity",
	    "data are not scaled: leave xsec=, sumw= and lumi= out");
	BAD("sample tt xsec=0 tt.root\n", -EINVAL, 1, 11, "expected a positive number after '='", NULL);
	BAD("sample tt xsec=abc tt.root\n", -EINVAL, 1, 11, "expected a positive number after '='",
	    NULL);
	BAD("sample tt sumw=-1 tt.root\n", -EINVAL, 1, 11, "expected a positive number after '='",
	    "sumw=auto, or the sum of generator weights");
	BAD("sample tt lumi=inf tt.root\n", -EINVAL, 1, 11, "expected a positive number after '='",
	    NULL);
	BAD("sample tt tt.root \"a b.root\n", -EINVAL, 1, 19, "unterminated quoted path", NULL);
	/* Samples or a dataset, not both, whichever comes first. */
	BAD(D "sample tt tt.root\n", -EINVAL, 1, 1, "a query with samples takes no dataset line",
	    "give every file on the line of its sample");
	BAD("sample tt tt.root\n" D, -EINVAL, 2, 1, "a query with samples takes no dataset line",
	    "give every file on the line of its sample");
	BAD("sample tt a.root\nsample tt b.root\n", -EINVAL, 2, 8, "a sample 'tt' already exists",
	    "give each its own name");
	BAD(D "smaple tt tt.root\n", -EINVAL, 2, 1, "unknown statement", "did you mean sample?");
	char *t = lines_of("", "sample s%d s%d.root\n", QL_MAX_SAMPLES + 1, "");
	if (t)
		BAD(t, -EINVAL, QL_MAX_SAMPLES + 1, 1, "too many samples (at most 256)", NULL);
	free(t);
}

static void test_errors_lumi(void)
{
	BAD("lumi 1\nlumi 2\n" S3, -EINVAL, 2, 1, "lumi is given twice", "keep one lumi line");
	/* The caret under the number. */
	BAD("lumi 0\n" S3,
	    -EINVAL,
	    1,
	    6,
	    "lumi takes a positive number",
	    "lumi 3378");
	BAD("lumi -1\n" S3,
	    -EINVAL,
	    1,
	    6,
	    "lumi takes a positive number",
	    "lumi 3378");
	BAD("lumi 1e999\n" S3,
	    -EINVAL,
	    1,
	    6,
	    "lumi takes a positive number",
	    "lumi 3378");
	BAD("lumi\n" S3,
	    -EINVAL,
	    1,
	    1,
	    "lumi takes a number",
	    "lumi 3378: the integrated luminosity, in the inverse of the cross sections' unit (pb^-1 for xsec in pb)");
	BAD("lumi abc\n" S3, -EINVAL, 1, 6, "expected a number", NULL);
	BAD("lumi 1 2\n" S3, -EINVAL, 1, 8, "unexpected text after the statement", NULL);
}

static void test_errors_weight(void)
{
	BAD(D "weight weight\nweight 2\n", -EINVAL, 3, 1, "weight is given twice",
	    "keep one weight line; give a histogram its own with weight=");
	BAD(D "hist h = MET_pt bins=1 range=0,1\nweight weight\n", -EINVAL, 3, 1,
	    "the weight must be given before the histograms",
	    "move the weight line above the first hist");
	BAD(D "weight w = Muon_pt\n", -EINVAL, 2, 12, "the weight is a list",
	    "the event weight is one number per event");
	BAD(D "weight w = \"x\"\n", -EINVAL, 2, 12, "the weight is a string",
	    "the event weight is one number per event");
	BAD(D "weight \"x\"\n", -EINVAL, 2, 8, "the weight is a string", NULL);
	/* The weight is checked on its line, before the histograms use it. */
	BAD(D "weight Muon_pt\nhist h = MET_pt bins=1 range=0,1\n",
	    -EINVAL,
	    2,
	    8,
	    "the weight is a list",
	    "the event weight is one number per event");
	BAD(D "weight \"x\"\nhist h = MET_pt bins=1 range=0,1\n",
	    -EINVAL,
	    2,
	    8,
	    "the weight is a string",
	    "the event weight is one number per event");
	BAD(D "weight\n", -EINVAL, 2, 7, "the expression ends too early", NULL);
	BAD(D "weight w =\n", -EINVAL, 2, 11, "the expression ends too early", NULL);
	BAD(D "weight w = w\n", -EINVAL, 2, 12, "unknown name 'w'", NULL);
	BAD(D "weight MET_pt = weight\n", -EINVAL, 2, 1,
	    "'MET_pt' is a branch of the tree; a define may not hide it", NULL);
	BAD(D "define w = 1\nweight w = 2\n", -EINVAL, 3, 1, "'w' is already defined", NULL);
	BAD(D "weight w = weight\ndefine w = 1\n", -EINVAL, 3, 1, "'w' is already defined", NULL);
	BAD(D "weight sum = 2\n", -EINVAL, 2, 1, "'sum' is a reserved name", NULL);
}

static void test_errors_region(void)
{
	BAD(D "region r: MET_pt\n", -EINVAL, 2, 11, "a region needs a true/false value, not number",
	    "compare it, for example nbtag >= 2");
	BAD(D "region r: Muon_pt > 5\n", -EINVAL, 2, 11,
	    "a region needs one true/false per event, not a list", "use any(...), all(...) or sum(...)");
	BAD(D "region r: \"x\"\n", -EINVAL, 2, 11, "a region needs a true/false value, not string", NULL);
	BAD(D "region r: nbtag > 1\n", -EINVAL, 2, 11, "unknown name 'nbtag'", NULL);
	BAD(D "region r MET_pt > 5\n", -EINVAL, 2, 10, "expected ':' after the region's name",
	    "region 4j2b: nbtag >= 2");
	BAD(D "region a-b: HLT\n", -EINVAL, 2, 9, "expected ':' after the region's name", NULL);
	BAD(D "region : HLT\n", -EINVAL, 2, 8, "expected the region's name", "region 4j2b: nbtag >= 2");
	BAD(D "region\n", -EINVAL, 2, 7, "expected the region's name", NULL);
	BAD(D "region 4j: HLT\nregion 4j: HLT\n", -EINVAL, 3, 8, "a region '4j' already exists",
	    "give each its own name");
	/* region= and regions= point at the name that is wrong. */
	BAD(D "region 4j: HLT\nhist h = MET_pt bins=1 range=0,1 region=4k\n",
	    -EINVAL,
	    3,
	    41,
	    "no region is named '4k'",
	    "did you mean 4j?");
	BAD(D "region 4j: HLT\nhist h = MET_pt bins=1 range=0,1 region=zzzzzz\n",
	    -EINVAL,
	    3,
	    41,
	    "no region is named 'zzzzzz'",
	    "regions are named on region lines");
	BAD(D "region 4j1b: HLT\nregion 4j2b: HLT\n"
	      "hist h = MET_pt bins=1 range=0,1 regions=4j1b,4j3b\n",
	    -EINVAL,
	    4,
	    47,
	    "no region is named '4j3b'",
	    "did you mean 4j1b or 4j2b?");
	BAD(D "region 4j1b: HLT\nregion 4j2b: HLT\n"
	      "hist h = MET_pt bins=1 range=0,1 regions=4j1b,4j1b\n",
	    -EINVAL,
	    4,
	    47,
	    "region '4j1b' is listed twice",
	    NULL);
	BAD(D "region a: HLT\nhist h = MET_pt bins=1 range=0,1 region a\n", -EINVAL, 3, 34,
	    "expected '=' after the option name", "write region=NAME");
	BAD(D "region a: HLT\nhist h = MET_pt bins=1 range=0,1 regions a\n", -EINVAL, 3, 34,
	    "expected '=' after the option name", "write regions=A,B");
	BAD(D "region a: HLT\nhist h = MET_pt bins=1 range=0,1 region=\n", -EINVAL, 3, 41,
	    "expected a region's name", "region=4j2b");
	BAD(D "region a: HLT\nhist h = MET_pt bins=1 range=0,1 region=\"a\"\n", -EINVAL, 3, 41,
	    "expected a region's name", "region=4j2b");
	BAD(D "region a: HLT\nhist h = MET_pt bins=1 range=0,1 regions=a,\n", -EINVAL, 3, 44,
	    "expected a region's name", "regions=4j1b,4j2b");
	char *t = lines_of(D, "region r%d: HLT\n", QL_MAX_REGIONS + 1, "");
	if (t)
		BAD(t, -EINVAL, QL_MAX_REGIONS + 2, 1, "too many regions (at most 64)", NULL);
	free(t);
}

static void test_errors_vary(void)
{
	const char *kind = "a variation replaces a value by one of its kind";
	const char *example = "vary jes_up: Jet_pt = Jet_pt * 1.03";
	/* A misspelt target: did you mean. */
	BAD(D "vary v: MET_ptt = 1\n",
	    -EINVAL,
	    2,
	    9,
	    "unknown name 'MET_ptt'",
	    "did you mean MET_pt, Jet_pt or Jet_eta?");
	BAD(D "vary v: obj = 1\n", -EINVAL, 2, 9, "unknown name 'obj'", NULL);
	/* A sample's value is not a branch: it cannot be varied. */
	BAD("sample tt tt.root\nvary v: is_data = true\n",
	    -EINVAL,
	    2,
	    9,
	    "'is_data' is a sample's value and cannot be varied",
	    "vary what depends on it instead, e.g. a define that reads it");
	/* A counter, whether or not anything reads its list. */
	BAD(D "vary v: nJet = 1\nhist h = Jet_pt bins=1 range=0,1\n", -EINVAL, 2, 9,
	    "'nJet' counts a list and cannot be varied",
	    "vary the list's values (Jet_pt), not its length");
	BAD(D "hist h = Jet_pt bins=1 range=0,1\nvary v: nJet = nJet + 1\n", -EINVAL, 3, 9,
	    "'nJet' counts a list and cannot be varied", NULL);
	/* Kinds: true/false for true/false, numbers for numbers, strings. */
	BAD(D "vary v: HLT = 1\n", -EINVAL, 2, 15, "'HLT' is true/false; so must its variation be", kind);
	BAD(D "vary v: MET_pt = HLT\n", -EINVAL, 2, 18, "'MET_pt' is a number; so must its variation be",
	    kind);
	BAD(D "define c = MET_pt > 5\nfilter c\nvary v: c = MET_pt\n", -EINVAL, 4, 13,
	    "'c' is true/false; so must its variation be", kind);
	BAD(D "define c = MET_pt\nvary v: c = \"x\"\n", -EINVAL, 3, 13,
	    "'c' is a number; so must its variation be", kind);
	/* Shapes: one value per event, or one per element of the same list. */
	BAD(D "vary v: MET_pt = Muon_pt\n", -EINVAL, 2, 18,
	    "the variation does not line up with what it replaces",
	    "'MET_pt' has one value per event; so must its variation");
	BAD(D "vary v: Jet_pt = MET_pt\n", -EINVAL, 2, 18,
	    "the variation does not line up with what it replaces",
	    "'Jet_pt' has one value per element of its list; so must its variation");
	BAD(D "vary v: Jet_pt = Muon_pt\n", -EINVAL, 2, 18,
	    "the variation does not line up with what it replaces", NULL);
	BAD(D "vary v: Jet_pt = Jet_pt[Jet_pt > 3]\n", -EINVAL, 2, 18,
	    "the variation does not line up with what it replaces", NULL);
	BAD(D "define c = MET_pt\nfilter c > 5\nvary v: c = Muon_pt\n", -EINVAL, 4, 13,
	    "the variation does not line up with what it replaces",
	    "'c' has one value per event; so must its variation");
	BAD(D "vary v: MET_pt = 1, MET_pt = 2\n", -EINVAL, 2, 21,
	    "'MET_pt' is varied twice in one variation", NULL);
	/* 'nominal' names the unvaried values. */
	BAD(D "vary nominal: MET_pt = 1\n",
	    -EINVAL,
	    2,
	    6,
	    "'nominal' names the values that are not varied",
	    "give the variation another name");
	BAD(D "vary v: MET_pt = 1\nvary v: MET_pt = 2\n", -EINVAL, 3, 6,
	    "a variation 'v' already exists", "give each its own name");
	BAD(D "vary v MET_pt = 1\n", -EINVAL, 2, 8, "expected ':' after the variation's name", example);
	BAD(D "vary v: MET_pt 1\n", -EINVAL, 2, 16, "expected '='", example);
	BAD(D "vary v: 1 = 1\n", -EINVAL, 2, 9, "expected the name of the branch or define varied",
	    example);
	BAD(D "vary v:\n", -EINVAL, 2, 8, "expected the name of the branch or define varied", example);
	BAD(D "vary v: MET_pt = 1,\n", -EINVAL, 2, 20, "expected the name of the branch or define varied",
	    example);
	BAD(D "vray v: MET_pt = 1\n", -EINVAL, 2, 1, "unknown statement", "did you mean vary");
	char *t = lines_of(D "vary v: ", "a%d = %d, ", 16, "a16 = 16\n");
	if (t)
		BAD(t, -EINVAL, 2, 9 + 10 * 8 + 6 * 10, "a variation replaces at most 16 values", NULL);
	free(t);
	t = lines_of(D, "vary v%d: MET_pt = %d\n", QL_MAX_VARIES + 1, "");
	if (t)
		BAD(t, -EINVAL, QL_MAX_VARIES + 2, 1, "too many variations (at most 256)", NULL);
	free(t);
}

/* What a variation breaks further down: the copies of the statements
 * that read it are checked again. */
static void test_errors_vary_copies(void)
{
	/* An index that the variation makes a number: the message ends "(in
	 * variation v)". */
	BAD(D "define i = 0\nfilter Muon_tight[i]\nvary v: i = 0.5\n", -EINVAL, 4, 13,
	    "an index must be an integer, not number", NULL);
	/* Lists a histogram fills that no longer line up (under "hist"; the
	 * message names the variation). */
	BAD(D "define j = Jet_pt\nvary v: j = Jet_pt[Jet_pt > 3]\n"
	      "hist h = j, Jet_eta bins=1,1 range=0,1,0,1\n",
	    -EINVAL, 4, 1, "these lists do not line up", "nJet[Jet_pt>3]");
	BAD(D "define c = nJet\nhist h = c categories=1,2\nvary v: c = 1.5\n", -EINVAL, 4, 13,
	    "this is a number, not an integer (in variation v)", "integer categories take an integer value");
	BAD(D "define j = Jet_eta\nhist h = Jet_pt bins=1 range=0,1 weight=j\nvary v: j = Muon_eta\n",
	    -EINVAL, 4, 13, "the weight does not line up with what is filled",
	    "in a variation, the weight must still line up");
	/* "in variation '...' this is no longer one true/false per event"
	 * (ql_check_vary.c) is not reached: a target keeps its kind and
	 * shape, and a filter or region made of it stays one true/false per
	 * event.  A filter over a define whose list changes fails as lists
	 * that do not line up: */
	BAD(D "define j = Jet_pt\nfilter sum(j > Jet_eta) > 0\nvary v: j = Jet_pt[Jet_pt > 3]\n",
	    -EINVAL, 3, 12, "these lists do not line up", NULL);
}

static void test_errors_strings(void)
{
	const char *how = "strings are compared (==, !=), chosen (c ? \"a\" : \"b\") or filled into "
			  "categories=";
	BAD(D "define a = \"x\" + 1\n", -EINVAL, 2, 12, "a string cannot be used here", how);
	BAD(D "define a = 1 * \"x\"\n", -EINVAL, 2, 16, "a string cannot be used here", how);
	BAD(D "define a = -\"x\"\n", -EINVAL, 2, 13, "a string cannot be used here", how);
	BAD(D "define a = !\"x\"\n", -EINVAL, 2, 13, "a string cannot be used here", how);
	BAD(D "define a = abs(\"x\")\n", -EINVAL, 2, 16, "a string cannot be used here", how);
	BAD(D "define a = Muon_pt[\"x\"]\n", -EINVAL, 2, 20, "a string cannot be used here", how);
	BAD(D "define a = \"x\" ? 1 : 2\n", -EINVAL, 2, 12, "a string cannot be used here", how);
	BAD(D "filter \"x\" && HLT\n", -EINVAL, 2, 8, "a string cannot be used here", how);
	/* Compared with a number, or ordered. */
	BAD(D "filter \"x\" == 1\n", -EINVAL, 2, 8, "a string cannot be used here", how);
	BAD(D "filter 1 != \"x\"\n", -EINVAL, 2, 13, "a string cannot be used here", how);
	BAD(D "filter \"x\" < \"y\"\n", -EINVAL, 2, 8, "a string cannot be used here", how);
	BAD(D "filter (HLT ? \"a\" : 3) == 1\n", -EINVAL, 2, 15, "a string cannot be used here", how);
	BAD(D "filter \"x\"\n", -EINVAL, 2, 8, "a filter needs a true/false value, not string", NULL);
	/* A sample's name that no sample has, in every sample. */
	BAD_EVERY(S3 "filter sample == \"wjet\"\n", 4, 18, "no sample is named 'wjet'",
		  "did you mean wjets?");
	BAD_EVERY(S3 "filter \"wjet\" != sample\n", 4, 8, "no sample is named 'wjet'",
		  "did you mean wjets?");
	BAD_EVERY(S3 "filter sample == \"zzzzz\"\n", 4, 18, "no sample is named 'zzzzz'",
		  "the samples are named on the sample lines");
	BAD_EVERY(S3 "filter sample == 1\n", 4, 8, "a string cannot be used here", how);
	BAD_EVERY(S3 "filter sample\n", 4, 8, "a filter needs a true/false value, not string", NULL);
}

static void test_errors_sample_values(void)
{
	const char *hint = "write the files on sample lines: sample NAME [data] xsec=... FILES";
	BAD(D "filter is_data\n", -EINVAL, 2, 8,
	    "'is_data' is a sample's value, and the query has no samples", hint);
	BAD(D "filter sample == \"a\"\n", -EINVAL, 2, 8,
	    "'sample' is a sample's value, and the query has no samples", hint);
	BAD(D "hist h = xsec bins=1 range=0,1\n", -EINVAL, 2, 10,
	    "'xsec' is a sample's value, and the query has no samples", hint);
	BAD(D "hist h = lumi bins=1 range=0,1\n", -EINVAL, 2, 10, "'lumi' is a sample's value", hint);
	BAD(D "hist h = sumw bins=1 range=0,1\n", -EINVAL, 2, 10, "'sumw' is a sample's value", hint);
	/* sumw is known in expressions only where it is written. */
	const char *give = "give sumw=NUMBER on every simulation sample to use it in expressions";
	BAD("sample tt xsec=1 sumw=auto tt.root\nhist h = sumw bins=1 range=0,1\n", -EINVAL, 2, 10,
	    "sumw of sample 'tt' is known only once every event is read", give);
	BAD_EVERY(S3 "define n = xsec / sumw\n", 4, 19,
		  "sumw of sample 'ttbar' is known only once every event is read", give);
	/* xsec= without sumw= means sumw=auto. */
	BAD("sample tt xsec=1 tt.root\nhist h = sumw bins=1 range=0,1\n", -EINVAL, 2, 10,
	    "sumw of sample 'tt' is known only once every event is read", give);
	/* With samples, their values' names are taken. */
	/* Categories of the sample's name must be samples. */
	BAD_EVERY(S3 "hist h = sample categories=\"ttbar\",\"wjet\"\n", 4, 10,
		  "category 'wjet' is no sample's name", "did you mean wjets?");
	ql_free(OK(S3 "hist h = sample categories=\"ttbar\",\"data\"\n"));
	BAD_EVERY(S3 "define is_data = 1\n", 4, 1, "'is_data' is a reserved name",
		  "give the define another name");
	BAD_EVERY(S3 "define sample = 1\n", 4, 1, "'sample' is a reserved name", NULL);
	BAD_EVERY(S3 "define xsec = 1\n", 4, 1, "'xsec' is a reserved name", NULL);
	BAD_EVERY(S3 "weight lumi = 1\n", 4, 1, "'lumi' is a reserved name", NULL);
}

/* is_data ? 1 : genWeight reads genWeight only in simulation: the data
 * sample checks without it, a simulation sample needs it. */
static void test_errors_sample_folding(void)
{
	const char *q = "sample tt xsec=1 sumw=auto tt.root\nsample d data d.root\n"
			"weight w = is_data ? 1 : genWeight\n";
	BADS(q,
	    0,
	    -EINVAL,
	    3,
	    26,
	    "unknown name 'genWeight'",
	    "did you mean weight or Muon_tight?");
	/* The condition's own names are checked in every sample. */
	BADS("sample tt xsec=1 tt.root\nsample d data d.root\nweight w = is_dat ? 1 : weight\n",
	    1,
	    -EINVAL,
	    3,
	    12,
	    "unknown name 'is_dat'",
	    "did you mean is_data?");
	BADS("sample tt xsec=1 tt.root\nsample d data d.root\nfilter is_data && genWeight > 0\n",
	    1,
	    -EINVAL,
	    3,
	    19,
	    "unknown name 'genWeight'",
	    "did you mean weight or Muon_tight?");
}

static void test_errors_categories(void)
{
	const char *mix = "categories are all integers or all strings in double quotes";
	const char *ex = "categories=-1,1 or categories=\"ee\",\"mumu\"";
	BAD(D "hist h = nJet categories=1,\"a\"\n", -EINVAL, 2, 28, mix, ex);
	BAD(D "hist h = nJet categories=\"a\",1\n", -EINVAL, 2, 30, mix, ex);
	BAD(D "hist h = nJet categories=-\"a\"\n", -EINVAL, 2, 27, mix, ex);
	BAD(D "hist h = nJet categories=1.5\n", -EINVAL, 2, 26, mix, ex);
	BAD(D "hist h = nJet categories=\n", -EINVAL, 2, 26, mix, ex);
	BAD(D "hist h = nJet categories=1,2,1\n", -EINVAL, 2, 30, "a category is listed twice", NULL);
	BAD(D "hist h = nJet categories=-1,-1\n",
	    -EINVAL,
	    2,
	    29,
	    "a category is listed twice",
	    NULL);
	BAD(D "hist h = nJet categories=\"a\",\"a\"\n", -EINVAL, 2, 30, "a category is listed twice",
	    NULL);
	BAD(D "hist h = nJet categores=1\n", -EINVAL, 2, 15, "unknown histogram option",
	    "did you mean categories, xcategories or ycategories?");
	/* The value filled must be of the categories' kind. */
	BAD(D "hist h = MET_pt categories=1,2\n", -EINVAL, 2, 10, "this is a number, not an integer",
	    "integer categories take an integer value (a charge, a channel number)");
	BAD(D "hist h = MET_pt, nJet bins=1 range=0,1 xcategories=1\n", -EINVAL, 2, 10,
	    "this is a number, not an integer", NULL);
	BAD(D "hist h = \"a\" categories=1,2\n", -EINVAL, 2, 10,
	    "the categories are integers, the value a string",
	    "write the categories as strings: categories=\"ee\",\"mumu\"");
	BAD(D "hist h = nJet categories=\"a\",\"b\"\n", -EINVAL, 2, 10, "this is an integer, not a string",
	    "string categories take a string value, like a ? \"ee\" : \"mumu\"");
	BAD(D "hist h = \"a\" bins=1 range=0,1\n", -EINVAL, 2, 10, "a binned axis needs numbers, not strings",
	    "a string is filled into a category axis: categories=\"a\",\"b\"");
	BAD(D "hist h = MET_pt, \"a\" bins=1,1 range=0,1,0,1\n", -EINVAL, 2, 18,
	    "a binned axis needs numbers, not strings", NULL);
	/* 1025 categories, one a line: the 1025th is refused. */
	char *t = lines_of(D "hist h = nJet categories=", "%d,\\\n", 1024, "1024\n");
	if (t)
		BAD(t, -EINVAL, 2 + 1024, 1, "at most 1024 categories", NULL);
	free(t);
}

/* Up to 3 axes, labels per axis, profiles. */
static void test_errors_axes(void)
{
	BAD(D "hist h = MET_pt, nJet, MET_pt, nJet bins=1,1,1,1 range=0,1,0,1,0,1,0,1\n", -EINVAL, 2,
	    32, "a histogram has at most 3 axes", NULL);
	BAD(D "hist h = MET_pt, nJet, MET_pt bins=1,1 range=0,1,0,1\n", -EINVAL, 2, 36,
	    "bins= and range= do not match the histogram's dimension",
	    "write bins=NX,NY,NZ range=xlo,xhi,ylo,yhi,zlo,zhi");
	BAD(D "hist h = MET_pt, nJet, MET_pt bins=200,200,200 range=0,1,0,2,0,3\n", -EINVAL, 2, 6,
	    "a histogram may have at most 4,000,000 bins", NULL);
	BAD(D "hist h = MET_pt, Jet_pt, Muon_pt bins=1,1,1 range=0,1,0,1,0,1\n", -EINVAL, 2, 1,
	    "these lists do not line up", NULL);
	/* Options for an axis the histogram does not have: which option, under
	 * the histogram's name. */
	BAD(D "hist h = MET_pt bins=1 range=0,1 zedges=1,2\n",
	    -EINVAL,
	    2,
	    6,
	    "zedges names axis 3; the histogram has 1",
	    NULL);
	BAD(D "hist h = MET_pt, nJet bins=1,1 range=0,1,0,1 zcategories=1,2\n",
	    -EINVAL,
	    2,
	    6,
	    "zcategories names axis 3; the histogram has 2",
	    NULL);
	BAD(D "hist h = MET_pt, nJet bins=1,1 range=0,1,0,1 labels=\"x\",\"y\",\"z\"\n",
	    -EINVAL,
	    2,
	    6,
	    "labels= names axis 3; the histogram has 2",
	    NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 labels=\"x\",\"y\",\"z\",\"w\"\n", -EINVAL, 2, 53,
	    "more labels than axes", "labels=\"x\", \"y\", \"z\": one string per axis");
	BAD(D "hist h = MET_pt bins=1 range=0,1 labels=1\n", -EINVAL, 2, 41, "expected a string",
	    "labels=\"x\", \"y\", \"z\": one string per axis");
	BAD(D "hist h = MET_pt bins=1 range=0,1 labels=\"x\",\n", -EINVAL, 2, 45, "expected a string", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 title=1\n", -EINVAL, 2, 40, "expected a string",
	    "put the text in double quotes");
	/* Profiles: one or two axes and the value averaged. */
	const char *pex = "profile NAME = X, VALUE (or X, Y, VALUE) bins=... range=...";
	BAD(D "profile p = MET_pt bins=1 range=0,1\n", -EINVAL, 2, 9,
	    "a profile needs its axes and the value averaged", pex);
	BAD(D "profile p bins=1 range=0,1\n", -EINVAL, 2, 9,
	    "a profile needs its axes and the value averaged", pex);
	/* Three axes and a value: too many. */
	BAD(D "profile p = MET_pt, nJet, MET_pt, nJet bins=1 range=0,1\n",
	    -EINVAL,
	    2,
	    9,
	    "a profile has at most 2 axes and its value",
	    "profile NAME = X, VALUE (or X, Y, VALUE) bins=... range=...");
	BAD(D "profile p = MET_pt, nJet, MET_pt, nJet, HLT bins=1 range=0,1\n", -EINVAL, 2, 41,
	    "a profile has at most 2 axes and its value", NULL);
	BAD(D "profile = MET_pt, nJet bins=1 range=0,1\n",
	    -EINVAL,
	    2,
	    9,
	    "expected the profile's name",
	    "profile NAME = X, VALUE bins=N range=lo,hi");
	BAD(D "profile p = MET_pt, \"x\" bins=1 range=0,1\n", -EINVAL, 2, 21, "the value is a string",
	    "a profile averages numbers");
	BAD(D "profile p = Jet_pt, Muon_pt bins=1 range=0,1\n", -EINVAL, 2, 1,
	    "these lists do not line up", NULL);
	BAD(D "profil p = MET_pt, nJet\n", -EINVAL, 2, 1, "unknown statement", "did you mean profile or plot?");
	/* The options' hint lists the new ones too. */
	BAD(D "hist h = MET_pt bins=1 range=0,1 regoin=a\n", -EINVAL, 2, 34, "unknown histogram option",
	    "did you mean region or regions? A histogram takes bins=, range=, edges=, xedges=, "
	    "yedges=, weight=, label=, xlabel=, ylabel=, title=, zedges=, categories=, xcategories=, "
	    "ycategories=, zcategories=, labels=, region=, regions=");
}

static void test_errors_defaults(void)
{
	BAD(D "defaults\n", -EINVAL, 2, 1, "defaults takes histogram options",
	    "defaults bins=25 range=50,550 label=\"m [GeV]\"");
	BAD(D "defaults 1\n", -EINVAL, 2, 1, "defaults takes histogram options", NULL);
	BAD(D "defaults bins=1 range=0,1 foo=1\n", -EINVAL, 2, 27, "unknown histogram option",
	    "a histogram takes bins=");
	BAD(D "defaults bins=1,2,3,4\n", -EINVAL, 2, 21, "too many numbers", NULL);
	BAD(D "defualts bins=1\n", -EINVAL, 2, 1, "unknown statement", "did you mean defaults?");
	/* What the defaults give is checked on each histogram that takes it; a
	 * region= of the defaults line is pointed at there. */
	BAD(D "defaults region=a\nhist h = MET_pt bins=1 range=0,1\n",
	    -EINVAL,
	    2,
	    17,
	    "no region is named 'a'",
	    "regions are named on region lines");
	/* The defaults' options for an axis a histogram does not have are
	 * for the histograms that have it. */
	ql_free(OK(D "defaults labels=\"a\",\"b\",\"c\"\nhist h = MET_pt bins=1 range=0,1\n"));
	BAD(D "defaults bins=1 range=0,1\nhist h = MET_pt, nJet\n",
	    -EINVAL,
	    3,
	    6,
	    "the defaults' bins= and range= do not fit this histogram's axes",
	    "write bins=NX,NY range=xlo,xhi,ylo,yhi");
	BAD(D "defaults weight=Muon_pt\nhist h = MET_pt bins=1 range=0,1\n", -EINVAL, 2, 17,
	    "the weight does not line up with what is filled", NULL);
}

static void test_errors_random(void)
{
	const char *how = "random_normal(mean, sigma[, like])";
	BAD(D "define r = random_normal(HLT, 1)\n", -EINVAL, 2, 26, "the mean and sigma are numbers", how);
	BAD(D "define r = random_normal(1, Muon_tight)\n", -EINVAL, 2, 29,
	    "the mean and sigma are numbers", how);
	BAD(D "define r = random_normal(\"a\", 1)\n", -EINVAL, 2, 26, "a string cannot be used here", NULL);
	BAD(D "define r = random_normal(1, 1, MET_pt)\n",
	    -EINVAL,
	    2,
	    32,
	    "random_normal's third argument must be a list",
	    "give a list (like Jet_pt) to draw one number per element");
	BAD(D "define r = random_normal(1, 1, HLT)\n",
	    -EINVAL,
	    2,
	    32,
	    "random_normal's third argument must be a list",
	    "give a list (like Jet_pt) to draw one number per element");
	BAD(D "define r = random_normal(Muon_pt, 1, Jet_pt)\n", -EINVAL, 2, 12,
	    "these lists do not line up", NULL);
	/* It takes 2 or 3. */
	BAD(D "define r = random_normal(1)\n",
	    -EINVAL,
	    2,
	    12,
	    "random_normal takes 2 or 3 arguments (mean, sigma[, a list])",
	    "random_normal(mean, sigma, like): one per element of the list like");
	BAD(D "define r = random_normal(1, 1, Jet_pt, 2)\n",
	    -EINVAL,
	    2,
	    12,
	    "random_normal takes 2 or 3 arguments (mean, sigma[, a list])",
	    "random_normal(mean, sigma, like): one per element of the list like");
}

int main(void)
{
	test_controls();
	test_errors_sample();
	test_errors_lumi();
	test_errors_weight();
	test_errors_region();
	test_errors_vary();
	test_errors_vary_copies();
	test_errors_strings();
	test_errors_sample_values();
	test_errors_sample_folding();
	test_errors_categories();
	test_errors_axes();
	test_errors_defaults();
	test_errors_random();
	if (failures) {
		fprintf(stderr, "test_ql_errors_analysis: %d failures\n", failures);
		return 1;
	}
	printf("test_ql_errors_analysis: ok\n");
	return 0;
}
