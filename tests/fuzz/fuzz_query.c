/* fuzz_query.c — libFuzzer target over the query language: ql_parse(),
 * then ql_check() against a small fixed schema (flat, jagged, fixed-array
 * and unreadable columns), then eval_compile() of what checks.  A query
 * with samples is parsed again and checked for each further sample, as
 * the planner does, data against the schema without genWeight (so that
 * `is_data ? 1 : genWeight` is folded, not read).  Nothing is run: no data
 * is read.
 *
 * Beyond crashes and sanitizer reports, it aborts when a failure comes
 * without a usable error (no text, text not naming the file, a line past
 * the end of the query) or when a success leaves the query unchecked. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "ql.h"

#define FILENAME "fuzz.q"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ql_column cols[] = {
	{.name = "run", .type = QL_INT, .readable = true},
	{.name = "met", .type = QL_FLOAT, .readable = true},
	{.name = "flag", .type = QL_BOOL, .readable = true},
	{.name = "br.x", .type = QL_FLOAT, .readable = true},
	{.name = "nMuon", .type = QL_INT, .readable = true},
	{.name = "Muon_pt", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_eta", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_phi", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_mass", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_charge", .type = QL_INT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_tight", .type = QL_BOOL, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "nJet", .type = QL_INT, .readable = true},
	{.name = "Jet_pt", .type = QL_FLOAT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "Jet_eta", .type = QL_FLOAT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "arr", .type = QL_INT, .fixed_len = 3, .readable = true},
	{.name = "one", .type = QL_FLOAT, .fixed_len = 1, .readable = true},
	{.name = "name", .type = QL_INT, .readable = false},
	/* What examples/agc_ttbar.query reads, so that its seed checks through. */
	{.name = "nElectron", .type = QL_INT, .readable = true},
	{.name = "Electron_pt", .type = QL_FLOAT, .jagged = true, .counter = "nElectron", .readable = true},
	{.name = "Electron_eta", .type = QL_FLOAT, .jagged = true, .counter = "nElectron", .readable = true},
	{.name = "Electron_cutBased", .type = QL_INT, .jagged = true, .counter = "nElectron", .readable = true},
	{.name = "Electron_sip3d", .type = QL_FLOAT, .jagged = true, .counter = "nElectron", .readable = true},
	{.name = "Muon_tightId", .type = QL_BOOL, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_sip3d", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Muon_pfRelIso04_all", .type = QL_FLOAT, .jagged = true, .counter = "nMuon", .readable = true},
	{.name = "Jet_phi", .type = QL_FLOAT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "Jet_mass", .type = QL_FLOAT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "Jet_jetId", .type = QL_INT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "Jet_btagCSVV2", .type = QL_FLOAT, .jagged = true, .counter = "nJet", .readable = true},
	{.name = "genWeight", .type = QL_FLOAT, .readable = true}, /* last: data have none */
};

static const struct ql_schema schema = {cols, sizeof(cols) / sizeof(cols[0])};
static const struct ql_schema data_schema = {cols, sizeof(cols) / sizeof(cols[0]) - 1};

/* Samples past the first checked per input: each is a parse and a check. */
#define MAX_SAMPLES_CHECKED 8

static int count_lines(const uint8_t *data, size_t size)
{
	int n = 1;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* A failure must say where and what: "fuzz.q:L:C: error: ..." or
 * "fuzz.q: error: ...", with L on a line of the query. */
static void check_error(int rc, const struct ql_error *err, const uint8_t *data, size_t size,
			const char *what)
{
	if (rc == -ENOMEM)
		return;
	const char *why = NULL;
	if (!memchr(err->text, 0, sizeof(err->text)) || !memchr(err->msg, 0, sizeof(err->msg)))
		why = "unterminated error text";
	else if (err->text[0] == 0 || err->msg[0] == 0)
		why = "no error text";
	else if (strncmp(err->text, FILENAME ":", strlen(FILENAME ":")) || !strstr(err->text, "error: "))
		why = "error text does not start with the file name";
	else if (err->line < 0 || err->line > count_lines(data, size) || err->col < 0)
		why = "error line out of range";
	if (why) {
		fprintf(stderr, "fuzz_query: %s failed (%d): %s\n%s\n", what, rc, why, err->text);
		abort();
	}
}

/* Check q for sample s (data against the schema without genWeight), then
 * compile what checks; abort on what must not happen. */
static void check_compile(struct ql_query *q, int s, const uint8_t *data, size_t size)
{
	struct ql_error err;
	const struct ql_schema *sc = s < q->nsamples && q->samples[s].is_data ? &data_schema : &schema;
	memset(&err, 0, sizeof(err));
	int rc = ql_check_sample(q, sc, s, &err);
	if (rc) {
		check_error(rc, &err, data, size, "ql_check");
		return;
	}
	if (!q->checked) {
		fprintf(stderr, "fuzz_query: ql_check succeeded but the query is unchecked\n");
		abort();
	}
	struct eval_prog *p = NULL;
	rc = eval_compile(q, &p);
	if (rc && rc != -ENOMEM) {
		fprintf(stderr, "fuzz_query: eval_compile of a checked query failed (%d)\n", rc);
		abort();
	}
	/* Every input is a readable column of the sample's schema. */
	for (size_t i = 0; p && i < eval_ninputs(p); i++) {
		int c = eval_input_column(p, i);
		if (c < 0 || (size_t)c >= sc->ncols || !cols[c].readable) {
			fprintf(stderr, "fuzz_query: input %zu is column %d\n", i, c);
			abort();
		}
	}
	eval_prog_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, not NUL-terminated: ql_parse() takes a length. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct ql_error err;
	memset(&err, 0, sizeof(err));
	struct ql_query *q = NULL;
	int rc = ql_parse(text, size, FILENAME, &q, &err);
	free(text); /* the query keeps its own copy */
	if (rc) {
		if (q) {
			fprintf(stderr, "fuzz_query: ql_parse failed but set *out\n");
			abort();
		}
		if (rc != -EFBIG)
			check_error(rc, &err, data, size, "ql_parse");
		return 0;
	}
	int nsamples = q->nsamples;
	check_compile(q, 0, data, size);
	ql_free(q);
	/* Every further sample on a query of its own, as the planner checks. */
	for (int i = 1; i < nsamples && i <= MAX_SAMPLES_CHECKED; i++) {
		memset(&err, 0, sizeof(err));
		q = NULL;
		rc = ql_parse((const char *)data, size, FILENAME, &q, &err);
		if (rc == -ENOMEM)
			return 0;
		if (rc || !q || q->nsamples != nsamples) {
			fprintf(stderr, "fuzz_query: a second parse of the query differs (%d)\n", rc);
			abort();
		}
		check_compile(q, i, data, size);
		ql_free(q);
	}
	return 0;
}
