/* ql_cases.h — what the query-language tests share: the schema every
 * query is checked against, and OK()/BAD(), which parse and check a query
 * and hold the outcome against what a user must see. */
#ifndef ANAFS_TEST_QL_CASES_H
#define ANAFS_TEST_QL_CASES_H

#include "ql.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* Parse text and check it against the schema, keeping nothing: 0, or the
 * refusal with err filled. */
static int parse_check(const char *text, size_t len, struct ql_error *err)
{
	struct ql_query *q = NULL;
	memset(err, 0, sizeof(*err));
	int rc = ql_parse(text, len, "t.query", &q, err);
	if (rc == 0) {
		rc = ql_check(q, &schema, err);
		ql_free(q);
	}
	return rc;
}

/* The refusal rc, err of text must be want_rc at (line, col) with msg in
 * err.msg and (when hint is not NULL) hint in err.hint; err.text must read
 * "t.query:LINE:COL: error: MSG", the line, a caret under col, the hint.
 * Apart from bad_() so that a test that checks otherwise (one sample of
 * several) holds its refusal to the same rules. */
static void bad_err_(int at, const char *text, int rc, const struct ql_error *err, int want_rc,
		     int line, int col, const char *msg, const char *hint)
{
	bool bad = false;
	char want[512];
	if (rc != want_rc || err->line != line || err->col != col || !strstr(err->msg, msg) ||
	    (hint && !strstr(err->hint, hint)))
		bad = true;
	/* The first line of the text. */
	if (line > 0)
		snprintf(want, sizeof(want), "t.query:%d:%d: error: %s\n", line, col, err->msg);
	else
		snprintf(want, sizeof(want), "t.query: error: %s\n", err->msg);
	if (strncmp(err->text, want, strlen(want)) != 0)
		bad = true;
	if (!bad && line > 0) {
		/* Then the source line, then a caret under the column. */
		char src[256], l2[300];
		line_of(text, line, src, sizeof(src));
		snprintf(l2, sizeof(l2), "  %s\n", src);
		const char *p = err->text + strlen(want);
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
	if (!bad && err->hint[0]) {
		char h[600];
		snprintf(h, sizeof(h), "  hint: %s\n", err->hint);
		if (!strstr(err->text, h))
			bad = true;
	}
	if (bad) {
		fprintf(stderr,
			"%s:%d: for query\n%.300s\nwanted rc %d at %d:%d msg ~'%s' hint ~'%s'\n"
			"got rc %d at %d:%d msg '%s' hint '%s' text:\n%s\n",
			__FILE__, at, text, want_rc, line, col, msg, hint ? hint : "(any)", rc, err->line,
			err->col, err->msg, err->hint, err->text);
		failures++;
	}
}

/* The query must be refused as bad_err_() says. */
static void bad_(int at, const char *text, size_t len, int want_rc, int line, int col,
		 const char *msg, const char *hint)
{
	struct ql_error err;
	int rc = parse_check(text, len, &err);
	bad_err_(at, text, rc, &err, want_rc, line, col, msg, hint);
}
#define BAD(text, rc, line, col, msg, hint) bad_(__LINE__, text, strlen(text), rc, line, col, msg, hint)

#endif
