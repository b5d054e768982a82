/* test_ql.c — the query parser and checker against a hand-built schema:
 * every statement form parses to the tree we expect, and every mistake a
 * user can make gets its return code, line, column, message, hint, and an
 * error text with the line and a caret under the spot.
 *
 * The last group holds the bugs these tests found, fixed since (run in a
 * child process, as they once crashed). */
#include "ql.h"
#include "ql_int.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"


/* The tree every query here is checked against: NanoAOD-like. */
enum {
	C_NJET, C_JET_PT, C_JET_ETA, C_JET_ID, C_NMUON, C_MU_PT, C_MU_ETA, C_MU_PHI, C_MU_MASS,
	C_MU_Q, C_MET_PT, C_HLT, C_WEIGHT, C_ARR, C_OBJ, C_MU_TIGHT,
};
static const struct ql_column columns[] = {
	[C_NJET] = {"nJet", QL_INT, false, NULL, 0, true},
	[C_JET_PT] = {"Jet_pt", QL_FLOAT, true, "nJet", 0, true},
	[C_JET_ETA] = {"Jet_eta", QL_FLOAT, true, "nJet", 0, true},
	[C_JET_ID] = {"Jet_id", QL_INT, true, "nJet", 0, true},
	[C_NMUON] = {"nMuon", QL_INT, false, NULL, 0, true},
	[C_MU_PT] = {"Muon_pt", QL_FLOAT, true, "nMuon", 0, true},
	[C_MU_ETA] = {"Muon_eta", QL_FLOAT, true, "nMuon", 0, true},
	[C_MU_PHI] = {"Muon_phi", QL_FLOAT, true, "nMuon", 0, true},
	[C_MU_MASS] = {"Muon_mass", QL_FLOAT, true, "nMuon", 0, true},
	[C_MU_Q] = {"Muon_charge", QL_INT, true, "nMuon", 0, true},
	[C_MET_PT] = {"MET_pt", QL_FLOAT, false, NULL, 0, true},
	[C_HLT] = {"HLT", QL_BOOL, false, NULL, 0, true},
	[C_WEIGHT] = {"weight", QL_FLOAT, false, NULL, 0, true},
	[C_ARR] = {"arr", QL_FLOAT, false, NULL, 3, true},
	[C_OBJ] = {"obj", QL_FLOAT, false, NULL, 0, false},
	[C_MU_TIGHT] = {"Muon_tight", QL_BOOL, true, "nMuon", 0, true},
};
static const struct ql_schema schema = {columns, sizeof(columns) / sizeof(columns[0])};

#define D "dataset x.root\n"

/* Parse and check text, which must succeed; NULL (and a failure) if not. */
static struct ql_query *ok_(int at, const char *text)
{
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(text, strlen(text), "t.query", &q, &err);
	if (rc == 0) {
		rc = ql_check(q, &schema, &err);
		if (rc != 0) {
			ql_free(q);
			q = NULL;
		}
	}
	if (rc != 0) {
		fprintf(stderr, "%s:%d: query refused (%d):\n%s\n%s", __FILE__, at, rc, text, err.text);
		failures++;
		return NULL;
	}
	CHECK(q->checked);
	return q;
}
#define OK(text) ok_(__LINE__, text)

/* Line l (1-based) of text, at most 200 bytes, into out. */
static void line_of(const char *text, int l, char *out, size_t cap)
{
	const char *p = text;
	for (int i = 1; i < l && p; i++)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	size_t n = 0;
	while (p && p[n] && p[n] != '\n' && n < 200 && n + 1 < cap)
		n++;
	snprintf(out, cap, "%.*s", (int)n, p ? p : "");
}

/* The query must be refused with rc at (line, col) with msg in err.msg and
 * (when hint is not NULL) hint in err.hint; err.text must read
 * "t.query:LINE:COL: error: MSG", the line, a caret under col, the hint. */
static void bad_(int at, const char *text, size_t len, int want_rc, int line, int col,
		 const char *msg, const char *hint)
{
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(text, len, "t.query", &q, &err);
	if (rc == 0) {
		rc = ql_check(q, &schema, &err);
		ql_free(q);
	}
	bool bad = false;
	char want[512];
	if (rc != want_rc || err.line != line || err.col != col || !strstr(err.msg, msg) ||
	    (hint && !strstr(err.hint, hint)))
		bad = true;
	/* The first line of the text. */
	if (line > 0)
		snprintf(want, sizeof(want), "t.query:%d:%d: error: %s\n", line, col, err.msg);
	else
		snprintf(want, sizeof(want), "t.query: error: %s\n", err.msg);
	if (strncmp(err.text, want, strlen(want)) != 0)
		bad = true;
	if (!bad && line > 0) {
		/* Then the source line, then a caret under the column. */
		char src[256], l2[300];
		line_of(text, line, src, sizeof(src));
		snprintf(l2, sizeof(l2), "  %s\n", src);
		const char *p = err.text + strlen(want);
		if (strncmp(p, l2, strlen(l2)) != 0) {
			bad = true;
		} else {
			p += strlen(l2);
			const char *caret = strchr(p, '^');
			const char *eol = strchr(p, '\n');
			if (!caret || !eol || caret > eol || caret - p != col + 1)
				bad = true;
		}
	}
	if (!bad && err.hint[0]) {
		char h[600];
		snprintf(h, sizeof(h), "  hint: %s\n", err.hint);
		if (!strstr(err.text, h))
			bad = true;
	}
	if (bad) {
		fprintf(stderr,
			"%s:%d: for query\n%.300s\nwanted rc %d at %d:%d msg ~'%s' hint ~'%s'\n"
			"got rc %d at %d:%d msg '%s' hint '%s' text:\n%s\n",
			__FILE__, at, text, want_rc, line, col, msg, hint ? hint : "(any)", rc, err.line,
			err.col, err.msg, err.hint, err.text);
		failures++;
	}
}
#define BAD(text, rc, line, col, msg, hint) bad_(__LINE__, text, strlen(text), rc, line, col, msg, hint)

static const struct ql_define *find_define(const struct ql_query *q, const char *name)
{
	for (int i = 0; i < q->nstmts; i++)
		if (q->stmts[i].kind == QS_DEFINE && !strcmp(q->stmts[i].u.define.name, name))
			return &q->stmts[i].u.define;
	return NULL;
}

static const struct ql_node *def_expr(const struct ql_query *q, const char *name)
{
	const struct ql_define *d = find_define(q, name);
	if (!d) {
		fprintf(stderr, "no define '%s'\n", name);
		failures++;
		static struct ql_node none;
		return &none;
	}
	return d->expr;
}

/* ---- queries that must be accepted ---- */

static void test_full_query(void)
{
	const char *text =
		"# dimuon spectrum\n"
		"dataset  data/a.root \"dir with space/b.root\" \\\n"
		"         root://host//store/c.root   # two lines\n"
		"dataset  more/*.root\n"
		"tree     Events\n"
		"define   good  = Muon_pt > 5 && abs(Muon_eta) < 2.4   # per muon\n"
		"filter   twomu: sum(good) == 2\n"
		"filter   sum(Muon_charge[good]) == 0   \n"
		"define   mass  = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], Muon_mass[good])\n"
		"hist     mass  bins=300 range=0.25,300 label=\"m(\xce\xbc\xce\xbc) [GeV]\" title=\"Dimuon mass\"\n"
		"hist     pt    = Muon_pt[good] bins=50 range=0,200 weight=weight\n"
		"hist     pt_eta = Muon_pt[good], Muon_eta[good] \\\n"
		"                  bins=50,48 range=0,200,-2.4,2.4 ylabel=\"eta\"\n"
		"hist     phi = Muon_phi edges=-pi,-1,0,1,pi\n"
		"hist     v2 = MET_pt, nJet xedges=0,10,100 yedges=0,1,2,5\n"
		"hist     MET_pt bins=10 range=0,1e3\n"
		"\n";
	struct ql_query *q = OK(text);
	if (!q)
		return;
	CHECK_EQ_I(q->ndatasets, 4);
	if (q->ndatasets == 4) {
		CHECK_STR(q->datasets[0], "data/a.root");
		CHECK_STR(q->datasets[1], "dir with space/b.root");
		CHECK_STR(q->datasets[2], "root://host//store/c.root");
		CHECK_STR(q->datasets[3], "more/*.root");
	}
	CHECK_EQ_I(q->dataset_line, 2);
	CHECK_STR(q->tree, "Events");
	CHECK_STR(q->filename, "t.query");
	CHECK_EQ_I(q->nstmts, 10);
	CHECK_EQ_I(q->nfilters, 2);
	CHECK_EQ_I(q->nhists, 6);
	if (q->nstmts != 10)
		goto out;
	const struct ql_stmt *s = q->stmts;
	CHECK_EQ_I(s[0].kind, QS_DEFINE);
	CHECK_EQ_I(s[0].line, 6);
	CHECK_EQ_I(s[0].u.define.expr->type, QL_BOOL);
	CHECK(s[0].u.define.expr->jagged);
	CHECK_STR(ql_list_name(q, s[0].u.define.expr->list), "nMuon");
	CHECK_EQ_I(s[1].kind, QS_FILTER);
	CHECK_STR(s[1].u.filter.name, "twomu");
	CHECK_EQ_I(s[1].u.filter.index, 0);
	CHECK_EQ_I(s[2].kind, QS_FILTER);
	CHECK_STR(s[2].u.filter.name, "sum(Muon_charge[good]) == 0");
	CHECK_EQ_I(s[2].u.filter.index, 1);
	CHECK_EQ_I(s[3].kind, QS_DEFINE);
	CHECK_EQ_I(s[3].u.define.expr->type, QL_FLOAT);
	CHECK(!s[3].u.define.expr->jagged);

	const struct ql_hist *h = &s[4].u.hist; /* mass: the shorthand of a define */
	CHECK_EQ_I(s[4].kind, QS_HIST);
	CHECK_STR(h->name, "mass");
	CHECK_EQ_I(h->ndim, 1);
	CHECK_EQ_I(h->expr[0]->kind, QN_NAME);
	CHECK(h->expr[0]->define == &s[3].u.define);
	CHECK_EQ_I(h->axes[0].nbins, 300);
	CHECK_EQ_D(h->axes[0].lo, 0.25);
	CHECK_EQ_D(h->axes[0].hi, 300);
	CHECK(h->axes[0].edges == NULL);
	CHECK_STR(h->axes[0].label, "m(\xce\xbc\xce\xbc) [GeV]");
	CHECK_STR(h->title, "Dimuon mass");
	CHECK(h->weight == NULL);
	CHECK_EQ_I(h->nfilters, 2);

	h = &s[5].u.hist; /* pt, weighted */
	CHECK_STR(h->name, "pt");
	CHECK(h->weight && h->weight->column == C_WEIGHT);
	CHECK(h->expr[0]->jagged);
	CHECK_EQ_I(h->axes[0].nbins, 50);

	h = &s[6].u.hist; /* pt_eta, 2-D over a continuation line */
	CHECK_EQ_I(s[6].line, 12);
	CHECK_EQ_I(h->ndim, 2);
	CHECK_EQ_I(h->axes[0].nbins, 50);
	CHECK_EQ_I(h->axes[1].nbins, 48);
	CHECK_EQ_D(h->axes[1].lo, -2.4);
	CHECK_EQ_D(h->axes[1].hi, 2.4);
	CHECK_STR(h->axes[1].label, "eta");
	CHECK(h->axes[0].label == NULL);

	h = &s[7].u.hist; /* phi, variable edges with pi */
	CHECK_EQ_I(h->axes[0].nbins, 4);
	if (h->axes[0].edges) {
		CHECK_EQ_D(h->axes[0].edges[0], -M_PI);
		CHECK_EQ_D(h->axes[0].edges[2], 0);
		CHECK_EQ_D(h->axes[0].edges[4], M_PI);
	} else {
		CHECK(h->axes[0].edges != NULL);
	}
	CHECK_EQ_D(h->axes[0].lo, -M_PI);
	CHECK_EQ_D(h->axes[0].hi, M_PI);

	h = &s[8].u.hist; /* v2: 2-D variable */
	CHECK_EQ_I(h->ndim, 2);
	CHECK_EQ_I(h->axes[0].nbins, 2);
	CHECK_EQ_I(h->axes[1].nbins, 3);
	CHECK(h->axes[1].edges && h->axes[1].edges[3] == 5);

	h = &s[9].u.hist; /* the shorthand of a branch */
	CHECK_STR(h->name, "MET_pt");
	CHECK_EQ_I(h->expr[0]->column, C_MET_PT);
	CHECK_EQ_D(h->axes[0].hi, 1000);
out:
	ql_free(q);
}

/* hist NAME OPTIONS of a branch and of a define. */
static void test_shorthand_and_counts(void)
{
	struct ql_query *q = OK(D "hist MET_pt bins=10 range=0,1e3 label=\"MET\"\n"
				  "define x = MET_pt * 2\n"
				  "hist x bins=5 range=-pi,pi\n");
	if (!q)
		return;
	CHECK_EQ_I(q->nstmts, 3);
	CHECK_EQ_I(q->nhists, 2);
	const struct ql_hist *h = &q->stmts[0].u.hist;
	CHECK_STR(h->name, "MET_pt");
	CHECK_EQ_I(h->expr[0]->kind, QN_NAME);
	CHECK_EQ_I(h->expr[0]->column, C_MET_PT);
	CHECK_EQ_D(h->axes[0].hi, 1000);
	CHECK_STR(h->axes[0].label, "MET");
	CHECK(q->tree == NULL);
	h = &q->stmts[2].u.hist;
	CHECK(h->expr[0]->define != NULL);
	CHECK_EQ_D(h->axes[0].lo, -M_PI);
	CHECK_EQ_D(h->axes[0].hi, M_PI);
	ql_free(q);
}

static void test_filters_and_hist_order(void)
{
	struct ql_query *q = OK(D "hist a = MET_pt bins=1 range=0,1\n"
				  "filter HLT\n"
				  "hist b = MET_pt bins=1 range=0,1\n"
				  "filter  trig : nMuon > 0   # named\n"
				  "filter HLT ? true : false\n"
				  "hist c = MET_pt bins=1 range=0,1\n");
	if (!q)
		return;
	CHECK_EQ_I(q->nfilters, 3);
	CHECK_EQ_I(q->stmts[0].u.hist.nfilters, 0);
	CHECK_EQ_I(q->stmts[2].u.hist.nfilters, 1);
	CHECK_EQ_I(q->stmts[5].u.hist.nfilters, 3);
	CHECK_STR(q->stmts[1].u.filter.name, "HLT");
	CHECK_STR(q->stmts[3].u.filter.name, "trig");
	CHECK_STR(q->stmts[4].u.filter.name, "HLT ? true : false");
	CHECK_EQ_I(q->stmts[4].u.filter.expr->kind, QN_COND);
	ql_free(q);
}

static void test_types(void)
{
	struct ql_query *q = OK(D
		"define a = 7 / 2\n"
		"define b = 7 % 2\n"
		"define c = true + true\n"
		"define d = sum(Muon_pt > 5)\n"
		"define e = sum(Muon_pt)\n"
		"define f = count(Jet_pt)\n"
		"define g = any(Muon_pt > 5)\n"
		"define h = abs(nJet)\n"
		"define i = min(nJet, 2)\n"
		"define j = min(Muon_pt)\n"
		"define k = arr * 2\n"
		"define l = Muon_pt[0]\n"
		"define m = Muon_pt[Muon_pt > 5]\n"
		"define n = 2 ** 3\n"
		"define o = -HLT\n"
		"define p = not HLT\n"
		"define q = HLT ? 1 : 2.5\n"
		"define r = Muon_pt > MET_pt\n"
		"define s = Jet_id[0] % 3\n"
		"define t = inv_mass(Muon_pt, Muon_eta, Muon_phi, Muon_mass)\n"
		"define u = max(HLT, HLT)\n"
		"define v = HLT ? HLT : HLT\n"
		"define w = Muon_pt[Muon_pt > 5] * Muon_eta[Muon_pt>5]\n"
		"define x = delta_r(Muon_eta, Muon_phi, Jet_eta[0], 0.5)\n"
		"define y = m[m > 10]\n"
		"define z = len(Muon_tight) + sum(Muon_tight) + count(arr)\n"
		"define aa = all(Muon_tight)\n"
		"define ab = max(Jet_id)\n"
		"define ac = sum(Jet_id)\n"
		"define ad = Muon_pt[Muon_tight]\n"
		"define ae = delta_phi(Muon_phi, 1)\n"
		"define af = inv_mass(Muon_pt[0], Muon_eta[0], Muon_phi[0], 0, MET_pt, 0, 0, 0)\n");
	if (!q)
		return;
	static const struct {
		const char *name;
		enum ql_type t;
		bool jagged;
		const char *list;
	} want[] = {
		{"a", QL_FLOAT, false, NULL}, {"b", QL_INT, false, NULL}, {"c", QL_INT, false, NULL},
		{"d", QL_INT, false, NULL}, {"e", QL_FLOAT, false, NULL}, {"f", QL_INT, false, NULL},
		{"g", QL_BOOL, false, NULL}, {"h", QL_INT, false, NULL}, {"i", QL_INT, false, NULL},
		{"j", QL_FLOAT, false, NULL}, {"k", QL_FLOAT, true, "[3]"}, {"l", QL_FLOAT, false, NULL},
		{"m", QL_FLOAT, true, "nMuon[Muon_pt>5]"}, {"n", QL_FLOAT, false, NULL},
		{"o", QL_INT, false, NULL}, {"p", QL_BOOL, false, NULL}, {"q", QL_FLOAT, false, NULL},
		{"r", QL_BOOL, true, "nMuon"}, {"s", QL_INT, false, NULL}, {"t", QL_FLOAT, false, NULL},
		{"u", QL_INT, false, NULL}, {"v", QL_BOOL, false, NULL},
		{"w", QL_FLOAT, true, "nMuon[Muon_pt>5]"}, {"x", QL_FLOAT, true, "nMuon"},
		{"y", QL_FLOAT, true, "nMuon[Muon_pt>5][m>10]"}, {"z", QL_INT, false, NULL},
		{"aa", QL_BOOL, false, NULL}, {"ab", QL_INT, false, NULL}, {"ac", QL_INT, false, NULL},
		{"ad", QL_FLOAT, true, "nMuon[Muon_tight]"}, {"ae", QL_FLOAT, true, "nMuon"},
		{"af", QL_FLOAT, false, NULL},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ql_node *e = def_expr(q, want[i].name);
		if (e->type != want[i].t || e->jagged != want[i].jagged ||
		    (want[i].list && strcmp(ql_list_name(q, e->list), want[i].list))) {
			fprintf(stderr, "%s:%d: define %s: type %d jagged %d list '%s', expected %d %d '%s'\n",
				__FILE__, __LINE__, want[i].name, e->type, e->jagged,
				e->jagged ? ql_list_name(q, e->list) : "", want[i].t, want[i].jagged,
				want[i].list ? want[i].list : "");
			failures++;
		}
	}
	/* Function ids after the check; min/max by argument count. */
	CHECK_EQ_I(def_expr(q, "i")->op, QF_MIN2);
	CHECK_EQ_I(def_expr(q, "j")->op, QF_MIN);
	CHECK_EQ_I(def_expr(q, "u")->op, QF_MAX2);
	CHECK_EQ_I(def_expr(q, "ab")->op, QF_MAX);
	CHECK_EQ_I(def_expr(q, "t")->op, QF_INV_MASS);
	CHECK(def_expr(q, "m")->is_mask);
	CHECK(!def_expr(q, "l")->is_mask);
	CHECK_EQ_I(def_expr(q, "l")->args[0]->column, C_MU_PT);
	CHECK_STR(ql_list_name(q, -1), "?");
	ql_free(q);
}

static void test_precedence(void)
{
	struct ql_query *q = OK(D
		"define a = 1 + 2 * 3\n"
		"define b = 2 ** 3 ** 2\n"
		"define c = -2 ** 2\n"
		"define d = HLT || HLT && HLT\n"
		"define e = HLT ? 1 : HLT ? 2 : 3\n"
		"define f = 1 - 2 - 3\n"
		"define g = not HLT == HLT\n"
		"define h = HLT and HLT or not HLT\n"
		"define i = 2 ** -1\n"
		"define j = (1 < 2) == true\n"
		"define k = 1_000 + 1e-3 + .5 + 2.5E2 + pi\n"
		"define l = 8 % 3 * 2\n"
		"define m = !!HLT\n"
		"define n = +1 - -1\n"
		"define o = (MET_pt > 1) == HLT ? 1 : 0\n");
	if (!q)
		return;
	const struct ql_node *n = def_expr(q, "a");
	CHECK(n->kind == QN_BINARY && n->op == QB_ADD && n->args[1]->op == QB_MUL);
	n = def_expr(q, "b");
	CHECK(n->op == QB_POW && n->args[1]->kind == QN_BINARY && n->args[1]->op == QB_POW);
	n = def_expr(q, "c");
	CHECK(n->kind == QN_UNARY && n->op == '-' && n->args[0]->op == QB_POW);
	n = def_expr(q, "d");
	CHECK(n->op == QB_OR && n->args[1]->op == QB_AND);
	n = def_expr(q, "e");
	CHECK(n->kind == QN_COND && n->args[2]->kind == QN_COND);
	n = def_expr(q, "f");
	CHECK(n->op == QB_SUB && n->args[0]->op == QB_SUB && n->args[1]->kind == QN_INT &&
	      n->args[1]->ival == 3);
	n = def_expr(q, "g"); /* not binds tighter than == (docs/query.md) */
	CHECK(n->kind == QN_BINARY && n->op == QB_EQ && n->args[0]->kind == QN_UNARY);
	n = def_expr(q, "h");
	CHECK(n->op == QB_OR && n->args[0]->op == QB_AND && n->args[1]->kind == QN_UNARY &&
	      n->args[1]->op == '!');
	n = def_expr(q, "i");
	CHECK(n->op == QB_POW && n->args[1]->kind == QN_UNARY);
	n = def_expr(q, "k");
	/* ((((1000 + 0.001) + 0.5) + 250) + pi): walk down the left spine. */
	const struct ql_node *x = n;
	CHECK(x->args[1]->kind == QN_FLOAT && x->args[1]->fval == M_PI);
	x = x->args[0];
	CHECK(x->args[1]->kind == QN_FLOAT && x->args[1]->fval == 250);
	x = x->args[0];
	CHECK(x->args[1]->kind == QN_FLOAT && x->args[1]->fval == 0.5);
	x = x->args[0];
	CHECK(x->args[1]->kind == QN_FLOAT && x->args[1]->fval == 1e-3);
	CHECK(x->args[0]->kind == QN_INT && x->args[0]->ival == 1000);
	n = def_expr(q, "l");
	CHECK(n->op == QB_MUL && n->args[0]->op == QB_MOD);
	n = def_expr(q, "m");
	CHECK(n->kind == QN_UNARY && n->args[0]->kind == QN_UNARY && n->args[0]->args[0]->kind == QN_NAME);
	n = def_expr(q, "n");
	CHECK(n->op == QB_SUB && n->args[0]->kind == QN_INT && n->args[1]->kind == QN_UNARY);
	n = def_expr(q, "o");
	CHECK(n->kind == QN_COND && n->args[0]->op == QB_EQ && n->args[0]->args[0]->op == QB_GT);
	ql_free(q);
}

static void test_lexical(void)
{
	/* CRLF line ends, a continuation with CRLF, tabs, comments everywhere. */
	struct ql_query *q = OK("dataset x.root\r\n"
				"\tdefine a = 1 + \\\r\n"
				"   2   # two\r\n"
				"# only a comment\r\n"
				"filter HLT\r\n");
	if (q) {
		CHECK_EQ_I(q->nstmts, 2);
		CHECK_EQ_I(def_expr(q, "a")->op, QB_ADD);
		ql_free(q);
	}
	/* A continuation inside a call, and in the middle of options. */
	q = OK(D "hist h = inv_mass(Muon_pt, Muon_eta, \\\n"
		 "                  Muon_phi, Muon_mass) \\\n"
		 "   bins=10 \\\n"
		 "   range=0,1\n");
	if (q) {
		CHECK_EQ_I(q->stmts[0].u.hist.axes[0].nbins, 10);
		ql_free(q);
	}
	/* No newline at the end; the dataset on the last line. */
	q = OK("filter HLT\ndataset a.root");
	if (q) {
		CHECK_EQ_I(q->dataset_line, 2);
		ql_free(q);
	}
	/* A name of exactly QL_MAX_NAME characters is fine. */
	char text[512];
	char name[QL_MAX_NAME + 1];
	memset(name, 'a', QL_MAX_NAME);
	name[QL_MAX_NAME] = 0;
	snprintf(text, sizeof(text), D "define %s = 1\nfilter %s == 1\n", name, name);
	q = OK(text);
	ql_free(q);
	/* Nesting within the limit. */
	char deep[1024];
	int k = snprintf(deep, sizeof(deep), D "define a = ");
	for (int i = 0; i < 150; i++)
		deep[k++] = '(';
	deep[k++] = '1';
	for (int i = 0; i < 150; i++)
		deep[k++] = ')';
	deep[k] = 0;
	q = OK(deep);
	ql_free(q);
	/* Masks line up when written the same way, spaces aside. */
	q = OK(D "define g = Muon_pt > 5\n"
		 "define a = Muon_pt[g] + Muon_eta[g]\n"
		 "define b = Muon_pt[Muon_pt > 5] * Muon_eta[Muon_pt>5]\n"
		 "define c = Muon_pt[abs(Muon_eta) < 2] - Muon_phi[ abs( Muon_eta ) <2 ]\n"
		 "hist h = Muon_pt[g], Muon_eta[g] bins=2,2 range=0,1,0,1 weight=Muon_phi[g]\n"
		 "hist j = Muon_pt bins=1 range=0,1 weight=Muon_eta\n"
		 "hist k = MET_pt, Muon_pt bins=1,1 range=0,1,0,1 weight=Muon_eta\n");
	ql_free(q);
}

/* ---- queries that must be refused ---- */

/* Labels: label= and its synonym xlabel= name the x axis, ylabel= the y
 * axis of a 2-D histogram and the value axis of a 1-D one, title= the
 * histogram. */
static void test_hist_labels(void)
{
	struct ql_query *q = OK(D "hist a = MET_pt bins=1 range=0,1 xlabel=\"x [GeV]\" ylabel=\"Events\"\n"
				  "hist b = MET_pt bins=1 range=0,1 label=\"p\" title=\"t\"\n"
				  "hist c = MET_pt, nJet bins=1,1 range=0,1,0,1 xlabel=\"x\" ylabel=\"y\"\n"
				  "hist MET_pt bins=1 range=0,1 ylabel=\"per bin\"\n"
				  "hist d = MET_pt bins=1 range=0,1 label=\"one\" label=\"two\"\n");
	if (!q)
		return;
	const struct ql_hist *h = &q->stmts[0].u.hist;
	CHECK_STR(h->axes[0].label, "x [GeV]");
	CHECK_STR(h->value_label, "Events");
	CHECK(h->axes[1].label == NULL); /* a 1-D histogram has no second axis */
	h = &q->stmts[1].u.hist;
	CHECK_STR(h->axes[0].label, "p");
	CHECK(h->value_label == NULL);
	CHECK_STR(h->title, "t");
	h = &q->stmts[2].u.hist;
	CHECK_STR(h->axes[0].label, "x");
	CHECK_STR(h->axes[1].label, "y");
	CHECK(h->value_label == NULL);
	h = &q->stmts[3].u.hist; /* the shorthand is 1-D too */
	CHECK_STR(h->value_label, "per bin");
	h = &q->stmts[4].u.hist; /* one spelling twice: the last, as before */
	CHECK_STR(h->axes[0].label, "two");
	ql_free(q);

	BAD(D "hist h = MET_pt bins=1 range=0,1 label=\"a\" xlabel=\"b\"", -EINVAL, 2, 44,
	    "label= and xlabel= both name the x axis", "give one of them");
	BAD(D "hist h = MET_pt bins=1 range=0,1 xlabel=\"a\" label=\"b\"", -EINVAL, 2, 45,
	    "label= and xlabel= both name the x axis", NULL);
	BAD(D "hist h = MET_pt bins=1 range=0,1 xlabel=1", -EINVAL, 2, 41, "expected a string", NULL);
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
	    "did you mean hist?");
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
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(text, len, "t.query", &q, &err);
	if (rc == 0) {
		rc = ql_check(q, &schema, &err);
		ql_free(q);
	}
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

/* ---- regressions: bugs found by these tests, fixed since ---- */

/* Run fn in a child; report a crash as a failure. */
static void in_child(const char *what, void (*fn)(void))
{
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		failures = 0;
		fn();
		_exit(failures ? 1 : 0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		failures++;
		return;
	}
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "regression: %s: the process died of signal %d\n", what, WTERMSIG(st));
		failures++;
	} else if (WEXITSTATUS(st)) {
		failures++;
	}
}

/* Was a bug: a number literal longer than 63 characters is cut at 63 and the
 * rest lexed as a second token: `0.000...0001` (70 digits) is refused
 * with "unexpected text after the statement".  Expected: accepted, 1e-70. */
static void bug_long_number(void)
{
	const char *t = D "define a = 0.0000000000000000000000000000000000000000000000000000000000000000000001\n";
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(t, strlen(t), "t.query", &q, &err);
	if (rc != 0 || def_expr(q, "a")->fval != 1e-70) {
		fprintf(stderr, "regression: a 72-character literal 0.00...01: rc %d '%s', expected 0 and 1e-70\n",
			rc, err.msg);
		failures++;
	}
	ql_free(q);
}

/* Was a bug: an unnamed filter written over a continuation line is named by its
 * raw text, backslash and newline included: the cutflow shows
 * "HLT && \\\n  HLT".  Expected "HLT && HLT" (or at least one line). */
static void bug_filter_name_continuation(void)
{
	const char *t = D "filter HLT && \\\n  HLT\n";
	struct ql_query *q = NULL;
	struct ql_error err;
	int rc = ql_parse(t, strlen(t), "t.query", &q, &err);
	if (rc == 0 && strchr(q->stmts[0].u.filter.name, '\n')) {
		fprintf(stderr, "regression: filter over a continuation line is named '%s'\n",
			q->stmts[0].u.filter.name);
		failures++;
	}
	ql_free(q);
}

/* Bugs found while writing these tests, fixed since (in a child process:
 * they once crashed). */
static void test_regressions(void)
{
	in_child("long number literal", bug_long_number);
	in_child("filter name over a continuation", bug_filter_name_continuation);
}

int main(void)
{
	test_full_query();
	test_shorthand_and_counts();
	test_filters_and_hist_order();
	test_types();
	test_precedence();
	test_lexical();
	test_error_plumbing();
	test_errors_names();
	test_errors_calls();
	test_errors_types();
	test_errors_lists();
	test_errors_binning();
	test_errors_syntax();
	test_hist_labels();
	test_hist_option_hint();
	test_suggest_once();
	test_errors_limits();
	test_tall_expressions();
	test_mask_keys();
	test_regressions();
	if (failures) {
		fprintf(stderr, "test_ql: %d failures\n", failures);
		return 1;
	}
	printf("test_ql: ok\n");
	return 0;
}
