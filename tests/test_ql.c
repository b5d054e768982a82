/* test_ql.c — the query parser and checker against a hand-built schema:
 * every statement form parses to the tree we expect (the refusals are in
 * test_ql_errors.c).
 *
 * The last group holds the bugs these tests found, fixed since (run in a
 * child process, as they once crashed). */
#include "ql.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ql_cases.h"

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
		"on_error skip\n"
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
	CHECK(q->on_error_skip);
	CHECK_EQ_I(q->on_error_line, 17);
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
	CHECK(!q->on_error_skip && !q->on_error_line);
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

/* Plot options per histogram and from the defaults; plot statements. */
static void test_hist_plot_options(void)
{
	struct ql_query *q = OK(D "defaults bins=1 range=0,1 plot_label=\"CMS Open Data\" logy=true\n"
				  "hist a = MET_pt size=800x600 density=true\n"
				  "hist b = MET_pt logy=false size=300,200 plot_lumi=\"1 fb^{-1}\" points=true\n"
				  "hist c = MET_pt, nJet bins=1,1 range=0,1,0,1 logz=true logx=true\n"
				  "plot p = a, b title=\"a and b\" logy=false\n");
	if (!q)
		return;
	const struct ql_plot *o = &q->stmts[0].u.hist.plot;
	CHECK(o->logy && o->density && !o->logz && !o->points);
	CHECK_EQ_I(o->width, 800);
	CHECK_EQ_I(o->height, 600);
	CHECK_STR(o->label, "CMS Open Data");
	CHECK(o->lumi == NULL);
	o = &q->stmts[1].u.hist.plot;
	CHECK(!o->logy && o->points && !o->density);
	CHECK_EQ_I(o->width, 300);
	CHECK_STR(o->lumi, "1 fb^{-1}");
	CHECK_STR(o->label, "CMS Open Data");
	o = &q->stmts[2].u.hist.plot;
	CHECK(o->logz && o->logx && o->logy && o->width == 0);
	CHECK_EQ_I(q->nplots, 1);
	if (q->nplots == 1) {
		const struct ql_plotdef *p = &q->plots[0];
		CHECK_STR(p->name, "p");
		CHECK_STR(p->title, "a and b");
		CHECK_EQ_I(p->nhists, 2);
		CHECK(p->nhists == 2 && !strcmp(p->hists[0], "a") && !strcmp(p->hists[1], "b"));
		CHECK(!p->plot.logy);
		CHECK_STR(p->plot.label, "CMS Open Data");
	}
	ql_free(q);
}

/* Sample s of text, parsed afresh and checked against sc (as the planner
 * does, one parse per sample): the query, or NULL and a failure. */
static struct ql_query *ok_sample_(int at, const char *text, const struct ql_schema *sc, int s)
{
	struct ql_query *q = NULL;
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	int rc = ql_parse(text, strlen(text), "t.query", &q, &err);
	if (rc == 0 && (rc = ql_check_sample(q, sc, s, &err)) != 0) {
		ql_free(q);
		q = NULL;
	}
	if (rc != 0) {
		fprintf(stderr, "%s:%d: sample %d refused (%d):\n%s\n%s", __FILE__, at, s, rc, text,
			err.text);
		failures++;
		return NULL;
	}
	CHECK(q->checked);
	return q;
}
#define OK_SAMPLE(text, sc, s) ok_sample_(__LINE__, text, sc, s)

/* What is known per sample is folded before it is checked: in data,
 * is_data ? 1 : genWeight is 1 and needs no genWeight branch (the data
 * files have none); in simulation it is genWeight, which must be there.
 * sample == "NAME" folds the same way, and && and || by their left side. */
static void test_sample_folding(void)
{
	const char *t = "sample tt xsec=729.84 sumw=auto tt.root\n"
			"sample wjets xsec=15487.16 sumw=1e6 wj.root\n"
			"sample data data d.root\n"
			"weight w = is_data ? 1 : genWeight\n"
			"define scaled = sample == \"wjets\" ? w * 1.025 : w\n"
			"define kept = !is_data && genWeight > 0\n"
			"define any_data = is_data || genWeight > 0\n"
			"hist h = MET_pt bins=1 range=0,1\n";
	enum { N = sizeof(columns) / sizeof(columns[0]) };
	struct ql_column sim_cols[N + 1];
	memcpy(sim_cols, columns, sizeof(columns));
	sim_cols[N] = (struct ql_column){"genWeight", QL_FLOAT, false, NULL, 0, true};
	const struct ql_schema sim = {sim_cols, N + 1};

	/* Data, without genWeight. */
	struct ql_query *q = OK_SAMPLE(t, &schema, 2);
	if (q) {
		const struct ql_node *w = def_expr(q, "w");
		CHECK_EQ_I(w->kind, QN_INT);
		CHECK_EQ_I(w->ival, 1);
		CHECK(q->weight && q->weight->expr == w);
		CHECK_EQ_I(def_expr(q, "scaled")->kind, QN_NAME); /* w */
		const struct ql_node *k = def_expr(q, "kept");
		CHECK(k->kind == QN_UNARY && k->type == QL_BOOL); /* !is_data: false */
		const struct ql_node *a = def_expr(q, "any_data");
		CHECK(a->kind == QN_NAME && a->type == QL_BOOL); /* is_data: true */
		CHECK(q->stmts[q->nstmts - 1].u.hist.weight != NULL);
		ql_free(q);
	}
	/* Simulation, with it; wjets scaled, ttbar not. */
	for (int s = 0; s < 2; s++) {
		q = OK_SAMPLE(t, &sim, s);
		if (!q)
			continue;
		const struct ql_node *w = def_expr(q, "w");
		CHECK(w->kind == QN_NAME && !strcmp(w->name, "genWeight"));
		CHECK_EQ_I(w->column, N);
		CHECK_EQ_I(w->type, QL_FLOAT);
		const struct ql_node *sc = def_expr(q, "scaled");
		CHECK_EQ_I(sc->kind, s == 1 ? QN_BINARY : QN_NAME);
		const struct ql_node *k = def_expr(q, "kept");
		CHECK(k->kind == QN_BINARY && k->op == QB_GT); /* genWeight > 0 */
		const struct ql_node *a = def_expr(q, "any_data");
		CHECK(a->kind == QN_BINARY && a->op == QB_GT);
		ql_free(q);
	}
	/* The data sample checks against the simulation's branches too. */
	q = OK_SAMPLE(t, &sim, 2);
	ql_free(q);
	/* The example analysis folds the same way: its scale variations
	 * choose by the sample's name. */
	q = OK_SAMPLE("sample wjets xsec=1 sumw=1 wj.root\nsample data data d.root\n"
		      "weight w = is_data ? 1 : genWeight\n"
		      "vary up: w = sample == \"wjets\" ? w * 1.025 : w\n"
		      "hist h = MET_pt bins=1 range=0,1\n",
		      &schema, 1);
	if (q) {
		CHECK_EQ_I(q->nvaries, 1);
		ql_free(q);
	}
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

/* The normal text reused results are keyed on. */
static char *normal(const char *text)
{
	char *out = NULL;
	size_t len = 0;
	if (ql_normal_text(text, strlen(text), &out, &len))
		return NULL;
	return out;
}

static bool same_normal(const char *a, const char *b)
{
	char *x = normal(a), *y = normal(b);
	bool same = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return same;
}

static void test_normal_text(void)
{
	const char *q = "dataset f.root\ndefine a = x > 1\ndefine b = y < 2\n"
			"filter f: a && b\nhist h = x bins=10 range=0,1\n";
	char *n = normal(q);
	CHECK_STR(n, "dataset f.root\nfilter f : a && b\nhist h = x bins = 10 range = 0 , 1\n"
		     "--\ndefine a = x > 1\ndefine b = y < 2\n");
	free(n);
	/* Comments, blanks, continuations, blank lines, define order: ignored. */
	CHECK(same_normal(q, "# a comment\ndataset   f.root\n\ndefine b=y<2 # b\n"
			     "define a = x>1\nfilter f:a&&\\\n b\nhist h = x bins=10 range=0,1"));
	/* Statement order that matters, a changed number or string: not. */
	CHECK(!same_normal(q, "dataset f.root\ndefine a = x > 1\ndefine b = y < 2\n"
			      "hist h = x bins=10 range=0,1\nfilter f: a && b\n"));
	CHECK(!same_normal(q, "dataset f.root\ndefine a = x > 1\ndefine b = y < 2\n"
			      "filter f: a && b\nhist h = x bins=11 range=0,1\n"));
	CHECK(!same_normal("hist h = x label=\"a b\"\n", "hist h = x label=\"a  b\"\n"));
	/* random_normal numbers its calls in text order: defines stay put. */
	CHECK(!same_normal("define a = random_normal(0, 1)\ndefine b = random_normal(0, 2)\n",
			   "define b = random_normal(0, 2)\ndefine a = random_normal(0, 1)\n"));
	CHECK(normal("hist h = x $\n") == NULL);
	/* Paths, URLs and a sample's options are words, as the parser reads
	 * them: a temporary folder "-1kcq" or "-4e1b" in a path is no number. */
	const char *tmp = "dataset /tmp/anafs-reuse-1kcqrofz/a-4e1b.root  root://h:1094//d/*.root\n"
			  "tree Events\nsample tt xsec=1.5 sumw=auto /tmp/x-1j/t.root\n"
			  "on_error skip\n";
	char *nt = normal(tmp);
	CHECK(nt != NULL);
	free(nt);
	CHECK(same_normal(tmp, "dataset   /tmp/anafs-reuse-1kcqrofz/a-4e1b.root root://h:1094//d/*.root "
			       "# the files\ntree   Events\n"
			       "sample tt   xsec=1.5 sumw=auto   /tmp/x-1j/t.root\non_error   skip\n"));
	CHECK(!same_normal(tmp, "dataset /tmp/anafs-reuse-1kcqrofz/a-4e1c.root root://h:1094//d/*.root\n"
				"tree Events\nsample tt xsec=1.5 sumw=auto /tmp/x-1j/t.root\n"
				"on_error skip\n"));
	/* Region names that start with a digit, as labels. */
	const char *reg = "dataset f.root\nregion 4j1b: x > 1\nhist h = x bins=2 range=0,1 "
			  "regions=4j1b,4j2b\n";
	char *nr = normal(reg);
	CHECK(nr != NULL);
	free(nr);
	CHECK(same_normal(reg, "dataset f.root\nregion 4j1b : x>1\nhist h = x bins=2 range=0,1 "
			       "regions = 4j1b , 4j2b\n"));
	CHECK(!same_normal(reg, "dataset f.root\nregion 4j1b: x > 1\nhist h = x bins=2 range=0,1 "
				"regions=4j1b,4j3b\n"));
}

int main(void)
{
	test_full_query();
	test_shorthand_and_counts();
	test_filters_and_hist_order();
	test_types();
	test_precedence();
	test_lexical();
	test_hist_labels();
	test_hist_plot_options();
	test_sample_folding();
	test_regressions();
	test_normal_text();
	if (failures) {
		fprintf(stderr, "test_ql: %d failures\n", failures);
		return 1;
	}
	printf("test_ql: ok\n");
	return 0;
}
