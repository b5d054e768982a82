/* test_ql_errors.c — every mistake a user can make in a query gets its
 * return code, line, column, message, hint, and an error text with the
 * line and a caret under the spot; hints name each candidate once; limits
 * on size and depth hold however the query is written.  The accepted
 * forms are in test_ql.c. */
#include "ql.h"
#include "ql_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ql_cases.h"

/* ---- queries that must be refused ---- */

/* Errors need no err to go to, and a NULL filename reads "query". */
static void test_error_plumbing(void)
{
	struct ql_query *q = NULL;
	const char *t = "define a = 1\n";
	CHECK_EQ_I(ql_parse(t, strlen(t), "t.query", &q, NULL), -EINVAL);
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	t = D "define a = (\n";
	CHECK_EQ_I(ql_parse(t, strlen(t), NULL, &q, &err), -EINVAL);
	CHECK(strncmp(err.text, "query:2:", 8) == 0);
	/* Text that is not NUL-terminated: len is obeyed. */
	char buf[64];
	memcpy(buf, D "filter HLT\nXXXX", strlen(D) + 15);
	CHECK_EQ_I(ql_parse(buf, strlen(D) + 11, "t.query", &q, &err), 0);
	if (q) {
		CHECK_EQ_I(q->nstmts, 1);
		CHECK_EQ_I(ql_check(q, &schema, &err), 0);
		ql_free(q);
	}
	ql_free(NULL);
}

/* An unknown option's hint names every option a hist statement takes. */
static void test_hist_option_hint(void)
{
	const char *all = "bins=, range=, edges=, xedges=, yedges=, weight=, label=, xlabel=, "
			  "ylabel=, title=";
	char want[512];
	snprintf(want, sizeof(want), "did you mean weight? A histogram takes %s", all);
	BAD(D "hist h = MET_pt bins=1 range=0,1 wieght=HLT", -EINVAL, 2, 34,
	    "unknown histogram option", want);
	snprintf(want, sizeof(want), "a histogram takes %s", all);
	BAD(D "hist h = MET_pt bins=1 range=0,1 colour=\"red\"", -EINVAL, 2, 34,
	    "unknown histogram option", want);
	BAD(D "hist h = MET_pt bins=1 range=0,1 zlabel=\"z\"", -EINVAL, 2, 34,
	    "unknown histogram option", all);
}

/* Plot options and plot statements: what they take, where they are wrong. */
static void test_errors_plots(void)
{
	BAD(D "hist h = MET_pt bins=1 range=0,1 logy=yes", -EINVAL, 2, 39, "expected true or false",
	    "write logy=true or logy=false");
	BAD(D "hist h = MET_pt bins=1 range=0,1 size=100,100", -EINVAL, 2, 39,
	    "a plot's size is two whole numbers", "size=800,600");
	BAD(D "hist h = MET_pt bins=1 range=0,1 size=800", -EINVAL, 2, 39,
	    "a plot's size is two whole numbers", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 plot_label=CMS", -EINVAL, 2, 45, "expected a string", NULL);
	BAD(D "plot p = h", -EINVAL, 2, 10, "no histogram above has this name", "written above");
	BAD(D "hist h = MET_pt bins=1 range=0,1\nplot h = h", -EINVAL, 3, 6,
	    "a histogram or plot above has this name", "hist/NAME.svg");
	BAD(D "hist h = MET_pt bins=1 range=0,1\nplot p = h bins=3", -EINVAL, 3, 12,
	    "not an option of a plot", "a plot takes title=");
	BAD(D "hist h = MET_pt, MET_phi bins=1,1 range=0,1,0,1\nplot p = h", -EINVAL, 3, 10,
	    "this histogram cannot be overlaid", "1-D");
	BAD(D "hist h = MET_pt bins=1 range=0,1\nplot p = h\nhist p = MET_phi bins=1 range=0,1",
	    -EINVAL, 4, 6, "a plot and a histogram may not share a name", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1\nplot p h", -EINVAL, 3, 8, "expected '='", NULL);
}

/* The words of a "did you mean a, b or c?" hint, each at most once. */
static void check_once_(int at, const char *hint)
{
	char words[8][64];
	int n = 0;
	const char *p = strncmp(hint, "did you mean ", 13) ? NULL : hint + 13;
	while (p && *p && n < 8) {
		size_t k = strcspn(p, ",? ");
		snprintf(words[n], sizeof(words[n]), "%.*s", (int)k, p);
		if (k && strcmp(words[n], "or"))
			n++;
		p += k;
		p += strspn(p, ",? ");
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (!strcmp(words[i], words[j])) {
				fprintf(stderr, "%s:%d: '%s' twice in the hint '%s'\n", __FILE__, at,
					words[i], hint);
				failures++;
			}
}
#define CHECK_ONCE(hint) check_once_(__LINE__, hint)

/* Did-you-mean never names a candidate twice: min and max have two
 * arities, and names may come from several places. */
static void test_suggest_once(void)
{
	BAD(D "define a = maxx(Muon_pt)", -EINVAL, 2, 12, "unknown function 'maxx'",
	    "did you mean max, abs or exp?");
	BAD(D "define a = mn(Muon_pt)", -EINVAL, 2, 12, "unknown function 'mn'",
	    "did you mean min, sin or tan?");
	char hint[512];
	static const char *const dup[] = {"max", "max", "mass", "max", "mass", "map"};
	ql_suggest("mas", dup, 6, hint, sizeof(hint));
	CHECK_STR(hint, "did you mean max, mass or map?");
	CHECK_ONCE(hint);
	ql_suggest("mas", dup, 2, hint, sizeof(hint));
	CHECK_STR(hint, "did you mean max?");
	ql_suggest("zzzzzz", dup, 6, hint, sizeof(hint));
	CHECK_STR(hint, "");
	/* A tree that lists a branch twice (ROOT allows it). */
	static const struct ql_column twice[] = {
		{"Muon_pt", QL_FLOAT, false, NULL, 0, true},
		{"Muon_pt", QL_FLOAT, false, NULL, 0, true},
		{"Muon_eta", QL_FLOAT, false, NULL, 0, true},
	};
	static const struct ql_schema sc = {twice, 3};
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	const char *t = D "define x = Muon_ptt\n";
	if (ql_parse(t, strlen(t), "t.query", &q, &err) == 0) {
		CHECK_EQ_I(ql_check(q, &sc, &err), -EINVAL);
		CHECK_STR(err.hint, "did you mean Muon_pt or Muon_eta?");
		CHECK_ONCE(err.hint);
		ql_free(q);
	}
}

static void test_errors_names(void)
{
	BAD(D "define good = Muon_ptt > 5", -EINVAL, 2, 15, "unknown name 'Muon_ptt'",
	    "did you mean Muon_pt, Muon_eta or Muon_phi?");
	/* The exact text of the docs' example. */
	{
		struct ql_query *q = NULL;
		struct ql_error err;
		const char *t = D "define good = Muon_ptt > 5\n";
		if (ql_parse(t, strlen(t), "dimuon.query", &q, &err) == 0) {
			CHECK(ql_check(q, &schema, &err) == -EINVAL);
			CHECK_STR(err.text, "dimuon.query:2:15: error: unknown name 'Muon_ptt'\n"
					    "  define good = Muon_ptt > 5\n"
					    "                ^~~~~~~~\n"
					    "  hint: did you mean Muon_pt, Muon_eta or Muon_phi?\n");
			ql_free(q);
		}
	}
	BAD(D "filter nmuon > 0", -EINVAL, 2, 8, "unknown name 'nmuon'", "nMuon");
	BAD(D "define a = sqr(MET_pt)", -EINVAL, 2, 12, "unknown function 'sqr'", "did you mean sqrt");
	BAD(D "define a = sqrt + 1", -EINVAL, 2, 12, "unknown name 'sqrt' (a function", NULL);
	BAD(D "hsit h = MET_pt bins=1 range=0,1", -EINVAL, 2, 1, "unknown statement",
	    "did you mean hist or plot?");
	BAD(D "filtr HLT", -EINVAL, 2, 1, "unknown statement", "did you mean filter");
	BAD(D "= 1", -EINVAL, 2, 1, "expected a statement", NULL);
	BAD(D "define a = obj + 1", -EINVAL, 2, 12, "branch 'obj' cannot be read", NULL);
	BAD(D "define a = 1\ndefine a = 2", -EINVAL, 3, 1, "'a' is already defined", NULL);
	BAD(D "define MET_pt = 1", -EINVAL, 2, 1, "'MET_pt' is a branch of the tree", NULL);
	BAD(D "define sum = 1", -EINVAL, 2, 1, "'sum' is a reserved name", NULL);
	BAD(D "define pi = 1", -EINVAL, 2, 1, "'pi' is a reserved name", NULL);
	BAD(D "define atan2 = 1", -EINVAL, 2, 1, "'atan2' is a reserved name", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1\nhist h = nJet bins=1 range=0,1", -EINVAL, 3, 1,
	    "a histogram 'h' already exists", NULL);
	/* A define is visible only below it. */
	BAD(D "filter a\ndefine a = HLT", -EINVAL, 2, 8, "unknown name 'a'", NULL);
	BAD(D "define a = a + 1", -EINVAL, 2, 12, "unknown name 'a'", NULL);
	/* A name one past the limit. */
	char text[512];
	char name[QL_MAX_NAME + 2];
	memset(name, 'a', QL_MAX_NAME + 1);
	name[QL_MAX_NAME + 1] = 0;
	snprintf(text, sizeof(text), D "filter %s\n", name);
	BAD(text, -EINVAL, 2, 8, "name too long", NULL);
}

static void test_errors_calls(void)
{
	BAD(D "define a = sqrt(MET_pt, 2)", -EINVAL, 2, 12, "sqrt takes 1 argument", "square root");
	BAD(D "define a = atan2(MET_pt)", -EINVAL, 2, 12, "atan2 takes 2 arguments", NULL);
	BAD(D "define a = delta_r(1, 2, 3)", -EINVAL, 2, 12, "delta_r takes 4 arguments", NULL);
	BAD(D "define a = hypot()", -EINVAL, 2, 12, "hypot takes 2 arguments", NULL);
	BAD(D "define a = inv_mass(1, 2, 3)", -EINVAL, 2, 12, "inv_mass takes four values per object",
	    "inv_mass(pt, eta, phi, mass)");
	BAD(D "define a = inv_mass(Muon_pt, Muon_eta, Muon_phi, Muon_mass, 1, 2, 3, 4)", -EINVAL, 2,
	    12, "inv_mass mixes lists and single objects", NULL);
	BAD(D "define a = inv_mass(Muon_pt, Muon_eta, Muon_phi, 0)", -EINVAL, 2, 50,
	    "inv_mass mixes lists and single values", NULL);
	BAD(D "define a = inv_mass(Muon_pt, Muon_eta, Muon_phi, Jet_pt)", -EINVAL, 2, 12,
	    "these lists do not line up", "nJet");
	BAD(D "define a = sum(MET_pt)", -EINVAL, 2, 12, "sum needs a list per event, not one value",
	    "sum(Jet_pt > 30)");
	BAD(D "define a = max(nJet)", -EINVAL, 2, 12, "max needs a list per event", NULL);
	BAD(D "define a = count(HLT)", -EINVAL, 2, 12, "count needs a list per event", NULL);
	BAD(D "define a = any(Muon_pt)", -EINVAL, 2, 16, "any needs true/false values, not numbers",
	    "compare it");
	BAD(D "define a = all(Jet_id)", -EINVAL, 2, 16, "all needs true/false values, not integers",
	    NULL);
	BAD(D "define a = sum(Muon_pt, Muon_eta)", -EINVAL, 2, 12, "sum takes 1 argument", NULL);
	BAD(D "define a = sqrt(MET_pt", -EINVAL, 2, 23, "expected ',' or ')'", NULL);
	BAD(D "define a = min(Muon_pt, Jet_pt)", -EINVAL, 2, 12, "these lists do not line up", NULL);
}

static void test_errors_types(void)
{
	BAD(D "filter MET_pt && HLT", -EINVAL, 2, 8, "&& needs true/false values, not numbers",
	    "compare it, for example x != 0");
	BAD(D "filter HLT and nJet", -EINVAL, 2, 16, "&& needs true/false values, not integers", NULL);
	BAD(D "filter HLT || 1.5", -EINVAL, 2, 15, "|| needs true/false values, not numbers", NULL);
	BAD(D "filter !nJet", -EINVAL, 2, 9, "! needs true/false values, not integers", NULL);
	BAD(D "filter not MET_pt", -EINVAL, 2, 12, "! needs true/false values", NULL);
	BAD(D "define a = nJet ? 1 : 2", -EINVAL, 2, 12, "the condition of ?: needs true/false values",
	    NULL);
	BAD(D "define a = Muon_pt[Muon_eta]", -EINVAL, 2, 20,
	    "a list used inside [] must be true/false values", "Muon_pt > 5");
	BAD(D "define a = Muon_pt[1.5]", -EINVAL, 2, 20, "an index must be an integer, not number",
	    "x[0] is the first element");
	BAD(D "define a = Muon_pt[HLT]", -EINVAL, 2, 20, "an index must be an integer, not true/false",
	    NULL);
	BAD(D "define a = MET_pt[0]", -EINVAL, 2, 12, "this is one value per event, not a list",
	    "only lists");
	BAD(D "define a = Muon_pt[0][0]", -EINVAL, 2, 12, "this is one value per event, not a list", NULL);
	BAD(D "filter Muon_pt > 5", -EINVAL, 2, 8,
	    "a filter needs one true/false per event, not a list per event", "any(...)");
	BAD(D "filter nJet + 1", -EINVAL, 2, 8, "a filter needs a true/false value, not integer",
	    "sum(good) >= 2");
	BAD(D "filter MET_pt", -EINVAL, 2, 8, "a filter needs a true/false value, not number", NULL);
	BAD(D "filter arr > 1", -EINVAL, 2, 8, "a filter needs one true/false per event", NULL);
}

static void test_errors_lists(void)
{
	BAD(D "define a = Jet_pt + Muon_pt", -EINVAL, 2, 12, "these lists do not line up",
	    "one side has a value per element of nJet, the other per element of nMuon");
	BAD(D "define a = Muon_pt[Muon_pt > 5] + Muon_eta[Muon_eta > 1]", -EINVAL, 2, 12,
	    "these lists do not line up", "nMuon[Muon_pt>5]");
	BAD(D "define a = Muon_pt[Muon_pt > 5] + Muon_eta", -EINVAL, 2, 12,
	    "these lists do not line up", NULL);
	BAD(D "define a = HLT ? Jet_pt : Muon_pt", -EINVAL, 2, 12, "these lists do not line up", NULL);
	BAD(D "define a = arr + Muon_pt", -EINVAL, 2, 12, "these lists do not line up", "[3]");
	BAD(D "define a = Muon_pt[Jet_pt > 5]", -EINVAL, 2, 20,
	    "the mask does not line up with the list", "nMuon");
	BAD(D "define g = Muon_pt > 5\ndefine a = Muon_pt[g][g]", -EINVAL, 3, 23,
	    "the mask does not line up with the list", NULL);
	BAD(D "hist h = Jet_pt, Muon_pt bins=2,2 range=0,1,0,1", -EINVAL, 2, 1,
	    "these lists do not line up", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 weight=Muon_pt", -EINVAL, 2, 41,
	    "the weight does not line up with what is filled", "one value per event");
	BAD(D "hist h = Jet_pt bins=1 range=0,1 weight=Muon_pt", -EINVAL, 2, 41,
	    "the weight does not line up with what is filled", NULL);
	BAD(D "hist h = Jet_pt bins=1 range=0,1 weight=Jet_pt + Muon_pt", -EINVAL, 2, 41,
	    "these lists do not line up", NULL);
}

static void test_errors_binning(void)
{
	BAD(D "hist h = MET_pt bins=0 range=0,1", -EINVAL, 2, 22,
	    "bins must be a whole number from 1 to 1000000", NULL);
	BAD(D "hist h = MET_pt bins=2.5 range=0,1", -EINVAL, 2, 22, "bins must be a whole number", NULL);
	BAD(D "hist h = MET_pt bins=1000001 range=0,1", -EINVAL, 2, 22, "bins must be a whole number",
	    NULL);
	BAD(D "hist h = MET_pt bins=10 range=5,1", -EINVAL, 2, 31, "a range needs lo < hi", NULL);
	BAD(D "hist h = MET_pt bins=10 range=1,1", -EINVAL, 2, 31, "a range needs lo < hi", NULL);
	BAD(D "hist h = MET_pt bins=10 range=0,1e999", -EINVAL, 2, 31, "both finite", NULL);
	BAD(D "hist h = MET_pt edges=0,2,1", -EINVAL, 2, 6, "edges must be finite and increasing", NULL);
	BAD(D "hist h = MET_pt edges=0,1,1", -EINVAL, 2, 6, "edges must be finite and increasing", NULL);
	BAD(D "hist h = MET_pt edges=0", -EINVAL, 2, 6, "edges need at least two numbers", NULL);
	BAD(D "hist h = MET_pt, HLT bins=10 range=0,1,0,1", -EINVAL, 2, 27,
	    "bins= and range= do not match the histogram's dimension", "bins=NX,NY");
	BAD(D "hist h = MET_pt bins=10,10 range=0,1", -EINVAL, 2, 22,
	    "bins= and range= do not match", "bins=N range=lo,hi");
	BAD(D "hist h = MET_pt", -EINVAL, 2, 6, "the histogram needs a binning", "bins=N range=lo,hi");
	BAD(D "hist h = MET_pt, nJet bins=1000000,5 range=0,1,0,1", -EINVAL, 2, 6,
	    "at most 4,000,000 bins", NULL);
	BAD(D "hist h = MET_pt bins 1 range=0,1", -EINVAL, 2, 17, "expected '=' after the option name",
	    NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 label=MET", -EINVAL, 2, 40, "expected a string",
	    "double quotes");
	BAD(D "hist h = MET_pt bins=x range=0,1", -EINVAL, 2, 22, "expected a number", NULL);
	BAD(D "hist h = MET_pt bins=1,2,3 range=0,1", -EINVAL, 2, 26, "too many numbers", NULL);
	BAD(D "hist = MET_pt bins=1 range=0,1", -EINVAL, 2, 6, "expected the histogram's name", NULL);
}

static void test_errors_syntax(void)
{
	BAD(D "filter 1 < nJet < 5", -EINVAL, 2, 17, "comparisons do not chain", "a < b && b < c");
	BAD(D "filter 1 == nJet != 5", -EINVAL, 2, 18, "comparisons do not chain", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 label=\"abc", -EINVAL, 2, 40, "unexpected '\"abc'",
	    "a string ends with \" on the same line");
	BAD(D "hist h = MET_pt bins=1 range=0,1 title=\"a\nb\"", -EINVAL, 2, 40, "unexpected", NULL);
	BAD(D "define a = 1 2", -EINVAL, 2, 14, "unexpected text after the statement",
	    "one statement per line");
	BAD(D "filter HLT HLT", -EINVAL, 2, 12, "unexpected text after the statement", NULL);
	BAD(D "filter HLT & HLT", -EINVAL, 2, 12, "unexpected '&'", "write && (or 'and')");
	BAD(D "filter HLT | HLT", -EINVAL, 2, 12, "unexpected '|'", "write || (or 'or')");
	BAD(D "define a = 1 $ 2", -EINVAL, 2, 14, "unexpected '$'", NULL);
	BAD(D "define a = 1abc", -EINVAL, 2, 12, "unexpected '1", NULL);
	BAD(D "define a = 99999999999999999999", -EINVAL, 2, 12, "unexpected", NULL);
	BAD(D "define a = 1.2.3", -EINVAL, 2, 12, "unexpected", NULL);
	BAD(D "define a =", -EINVAL, 2, 11, "the expression ends too early", NULL);
	BAD(D "define a = (1 + 2", -EINVAL, 2, 18, "expected ')'", "every '(' needs its ')'");
	BAD(D "define a = HLT ? 1", -EINVAL, 2, 19, "expected ':'", "condition ? value : other");
	BAD(D "define a = Muon_pt[0", -EINVAL, 2, 21, "expected ']'", NULL);
	BAD(D "define a = Muon_pt[]", -EINVAL, 2, 12, "an index or mask takes one expression", NULL);
	BAD(D "define a = * 2", -EINVAL, 2, 12, "expected a value, a name or '('", NULL);
	BAD(D "define = 1", -EINVAL, 2, 8, "expected the name being defined", "define NAME = EXPR");
	BAD(D "define a 1", -EINVAL, 2, 10, "expected '='", NULL);
	BAD(D "tree", -EINVAL, 2, 1, "tree takes one name", NULL);
	BAD(D "tree a b", -EINVAL, 2, 1, "tree takes one name", NULL);
	BAD(D "on_error", -EINVAL, 2, 1, "on_error takes skip or fail", NULL);
	BAD(D "on_error ignore", -EINVAL, 2, 1, "on_error takes skip or fail", NULL);
	BAD(D "on_error skip fail", -EINVAL, 2, 1, "on_error takes skip or fail", NULL);
	BAD(D "on_error skip\non_error fail", -EINVAL, 3, 1, "on_error is given twice", NULL);
	BAD(D "on_eror skip", -EINVAL, 2, 1, "unknown statement", "did you mean on_error?");
	BAD("dataset\n", -EINVAL, 1, 1, "dataset needs at least one path", "dataset data/*.root");
	BAD("dataset \"a b\n", -EINVAL, 1, 9, "unterminated quoted path", NULL);
	/* An error on a continued line is reported on the line where it is. */
	BAD(D "define a = 1 + \\\n   Muon_ptt", -EINVAL, 3, 4, "unknown name 'Muon_ptt'", NULL);
	/* No dataset: not about a place. */
	BAD("define a = 1\nfilter HLT\n", -EINVAL, 0, 0, "the query names no dataset",
	    "add a line like: dataset data/*.root");
	BAD("", -EINVAL, 0, 0, "the query names no dataset", NULL);
	BAD("# nothing\n\n", -EINVAL, 0, 0, "the query names no dataset", NULL);
	/* A NUL byte anywhere. */
	{
		static const char t[] = "dataset x\ndefine a = 1\0\n";
		bad_(__LINE__, t, sizeof(t) - 1, -EINVAL, 0, 0, "NUL byte", "queries are text");
	}
}

static void test_errors_limits(void)
{
	/* 300 nested parentheses. */
	size_t cap = 4096;
	char *t = malloc(cap);
	int k = snprintf(t, cap, D "define a = ");
	for (int i = 0; i < 300; i++)
		t[k++] = '(';
	t[k++] = '1';
	for (int i = 0; i < 300; i++)
		t[k++] = ')';
	t[k] = 0;
	bad_(__LINE__, t, strlen(t), -EINVAL, 2, 12 + QL_MAX_DEPTH, "expression nests too deep", NULL);
	/* 300 unary minus signs, and 300 nested calls. */
	k = snprintf(t, cap, D "define a = ");
	for (int i = 0; i < 300; i++)
		t[k++] = '-';
	t[k++] = '1';
	t[k] = 0;
	bad_(__LINE__, t, strlen(t), -EINVAL, 2, 11 + QL_MAX_DEPTH, "expression nests too deep", NULL);
	k = snprintf(t, cap, D "define a = ");
	for (int i = 0; i < 300; i++)
		k += snprintf(t + k, cap - (size_t)k, "abs(");
	t[k++] = '1';
	for (int i = 0; i < 300; i++)
		t[k++] = ')';
	t[k] = 0;
	struct ql_query *q = NULL;
	struct ql_error err;
	CHECK_EQ_I(ql_parse(t, strlen(t), "t.query", &q, &err), -EINVAL);
	CHECK(strstr(err.msg, "nests too deep") != NULL);
	free(t);

	/* Past 1 MiB: -EFBIG before anything is read; exactly 1 MiB is read. */
	size_t big = QL_MAX_TEXT + 1;
	t = malloc(big + 1);
	memset(t, '#', big);
	memcpy(t, D, strlen(D));
	t[big] = 0;
	memset(&err, 0, sizeof(err));
	q = NULL;
	CHECK_EQ_I(ql_parse(t, big, "t.query", &q, &err), -EFBIG);
	CHECK(q == NULL);
	CHECK(strstr(err.msg, "at most 1048576") != NULL);
	CHECK(strstr(err.text, "t.query: error:") == err.text);
	CHECK(err.hint[0] != 0);
	CHECK_EQ_I(ql_parse(t, big - 1, "t.query", &q, &err), 0);
	ql_free(q);
	free(t);

	/* 4096 statements are fine, the 4097th is not. */
	size_t n = strlen(D) + 4097 * 11 + 1;
	t = malloc(n);
	k = snprintf(t, n, D);
	for (int i = 0; i < 4096; i++)
		k += snprintf(t + k, n - (size_t)k, "filter HLT\n");
	q = NULL;
	if (ql_parse(t, (size_t)k, "t.query", &q, &err) == 0) {
		CHECK_EQ_I(q->nstmts, 4096);
		ql_free(q);
	} else {
		fprintf(stderr, "%s:%d: 4096 statements refused: %s\n", __FILE__, __LINE__, err.text);
		failures++;
	}
	k += snprintf(t + k, n - (size_t)k, "filter HLT\n");
	bad_(__LINE__, t, (size_t)k, -EINVAL, 4098, 1, "too many statements", NULL);
	free(t);
}

/* Refused with rc and msg; place not checked (long generated texts). */
static void refused_(int at, const char *text, size_t len, const char *msg)
{
	struct ql_error err;
	int rc = parse_check(text, len, &err);
	if (rc != -EINVAL || !strstr(err.msg, msg)) {
		fprintf(stderr, "%s:%d: %.80s...: rc %d '%s', expected -EINVAL '%s'\n", __FILE__, at, text,
			rc, err.msg, msg);
		failures++;
	}
}

/* Trees taller than QL_MAX_DEPTH however they are written: '**' chains,
 * postfix chains, long sums; up to 1 MiB of them without a crash. */
static void test_tall_expressions(void)
{
	size_t cap = QL_MAX_TEXT;
	char *t = malloc(cap);
	static const char *const unit[] = {"1**", "1+", "-", "!", "abs("};
	for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
		for (int big = 0; big < 2; big++) {
			int k = snprintf(t, cap, D "define a = ");
			size_t n = big ? cap - 16 : (size_t)k + 1000 * strlen(unit[u]);
			while ((size_t)k + strlen(unit[u]) < n)
				k += snprintf(t + (size_t)k, cap - (size_t)k, "%s", unit[u]);
			k += snprintf(t + (size_t)k, cap - (size_t)k, "1");
			refused_(__LINE__, t, (size_t)k, "nests too deep");
		}
	}
	int k = snprintf(t, cap, D "define a = Muon_pt");
	while ((size_t)k + 8 < cap)
		k += snprintf(t + (size_t)k, cap - (size_t)k, "[0]");
	refused_(__LINE__, t, (size_t)k, "nests too deep");
	free(t);
	/* 150 terms of a sum are fine. */
	char s[1024];
	k = snprintf(s, sizeof(s), D "define a = 1");
	for (int i = 0; i < 150; i++)
		k += snprintf(s + k, sizeof(s) - (size_t)k, "+1");
	struct ql_query *q = OK(s);
	ql_free(q);
}

/* Masks are told apart by what they compute, however they are written. */
static void test_mask_keys(void)
{
	BAD(D "define a = Muon_pt[Muon_pt > \\\n 5] + Muon_eta[Muon_eta > \\\n 1]", -EINVAL, 3, 5,
	    "these lists do not line up", NULL);
	BAD(D "define good = Muon_pt > 5\ndefine notgood = Muon_eta > 1\n"
	      "define a = Muon_pt[not good] + Muon_eta[notgood]", -EINVAL, 4, 12,
	    "these lists do not line up", NULL);
	BAD(D "define a = Muon_pt[Muon_tight && Muon_pt > 5 || Muon_eta > 1] + "
	      "Muon_eta[Muon_tight && (Muon_pt > 5 || Muon_eta > 1)]", -EINVAL, 2, 12,
	    "these lists do not line up", NULL);
	struct ql_query *q = OK(D "define a = Muon_pt[Muon_pt > \\\n 5] + Muon_eta[(Muon_pt)>5]\n"
				  "define b = Muon_pt[not Muon_tight] * Muon_eta[!Muon_tight]\n"
				  "define c = Muon_pt[(Muon_pt - 1) * 2 > 5] * Muon_eta[(Muon_pt-1)*2>5]\n"
				  "define d = Muon_pt[Muon_pt > 5 - 1] + Muon_eta[Muon_pt > (5 - 1)]\n");
	ql_free(q);
}

int main(void)
{
	test_error_plumbing();
	test_errors_names();
	test_errors_calls();
	test_errors_types();
	test_errors_lists();
	test_errors_binning();
	test_errors_syntax();
	test_hist_option_hint();
	test_errors_plots();
	test_suggest_once();
	test_errors_limits();
	test_tall_expressions();
	test_mask_keys();
	if (failures) {
		fprintf(stderr, "test_ql_errors: %d failures\n", failures);
		return 1;
	}
	printf("test_ql_errors: ok\n");
	return 0;
}
