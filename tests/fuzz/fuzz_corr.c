/* fuzz_corr.c — libFuzzer target over the JSON reader, the correctionlib
 * loader and the golden-JSON loader: each input goes to all three, as
 * `anafs` reads what users name.  A correction that loads is evaluated
 * over a grid of awkward points (edges, NaN, infinities, every string id
 * and one past), a mask over a few runs and sections.
 *
 * Beyond crashes and sanitizer reports it aborts when
 *   - a refusal comes without a message, or one that does not name the
 *     file (the JSON reader's: does not say line and column);
 *   - an evaluation fails other than with -EDOM and a message naming the
 *     correction, or succeeds with a value that is not finite (every
 *     constant in a file is finite, so every result is);
 *   - a mask answers anything but 0 or 1. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corr.h"
#include "jsonr.h"
#include "lumimask.h"

#define NAME "fuzz.json"
#define NPTS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_corr: %s: %s\n", what, why);
	abort();
}

static void named(int rc, const char *why, const char *what)
{
	if (rc >= 0)
		return;
	if (strncmp(why, NAME ": ", strlen(NAME ": ")) != 0 || strlen(why) <= strlen(NAME ": "))
		die(what, why);
}

static const double reals[NPTS] = {-1e300, -INFINITY, -2.5, -1, 0, 0.5, 1, 1.2, 2, 2.4, 10, 20, 100, 1e300, INFINITY, NAN};

static void eval_all(const struct corr *c)
{
	int n = corr_ninputs(c);
	double cols[CORR_MAX_INPUTS][NPTS], out[NPTS];
	const double *in[CORR_MAX_INPUTS];
	for (int k = 0; k < n; k++) {
		for (int i = 0; i < NPTS; i++) {
			/* Inputs shifted against each other, so that points mix values. */
			double x = reals[(i + 3 * k) % NPTS];
			if (corr_input_type(c, k) == CORR_INT)
				x = isfinite(x) ? trunc(x) : x;
			if (corr_input_type(c, k) == CORR_STRING)
				x = (i + k) % 6 - 1; /* -1 and the first ids */
			cols[k][i] = x;
		}
		in[k] = cols[k];
	}
	char why[512] = "";
	int rc = corr_eval(c, in, NPTS, out, why, sizeof(why));
	if (rc && (rc != -EDOM || strncmp(why, "correction '", 12)))
		die("corr_eval failed without -EDOM and a message", why);
	/* Point by point too: where the batch succeeded, each point alone
	 * gives the batch's value. */
	for (int i = 0; i < NPTS; i++) {
		const double *one[CORR_MAX_INPUTS];
		for (int k = 0; k < n; k++)
			one[k] = &cols[k][i];
		double o;
		int r1 = corr_eval(c, one, 1, &o, why, sizeof(why));
		if (r1 && r1 != -EDOM)
			die("corr_eval of one point", why);
		if (!r1 && !isfinite(o))
			die("a result that is not finite", corr_name(c));
		if (!rc && (r1 || !(o == out[i])))
			die("one point and the batch that holds it disagree", corr_name(c));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[1024] = "";
	struct jsonr_doc *d = NULL;
	int rc = jsonr_parse((const char *)data, size, &d, why, sizeof(why));
	if (rc && strncmp(why, "line ", 5))
		die("jsonr_parse failed without a place", why);
	jsonr_free(d);

	struct corr_set *s = NULL;
	why[0] = 0;
	rc = corr_load_text((const char *)data, size, NAME, &s, why, sizeof(why));
	named(rc, why, "corr_load_text");
	if (!rc) {
		char names[128];
		corr_names(s, names, sizeof(names));
		for (int i = 0; i < corr_count(s); i++) {
			const struct corr *c = corr_at(s, i);
			if (corr_find(s, corr_name(c)) != c)
				die("corr_find does not find a correction by its name", corr_name(c));
			eval_all(c);
		}
		corr_free(s);
	}

	struct lumimask *m = NULL;
	why[0] = 0;
	rc = lumimask_load_text((const char *)data, size, NAME, &m, why, sizeof(why));
	named(rc, why, "lumimask_load_text");
	if (!rc) {
		int64_t run[8] = {1, 1, 100, 100, 273158, 273158, -1, INT64_MAX};
		int64_t lumi[8] = {1, 2, 0, 5, 1283, 1284, 1, INT64_MAX};
		uint8_t out[8];
		lumimask_eval(m, run, lumi, 8, out);
		for (int i = 0; i < 8; i++)
			if (out[i] > 1)
				die("lumimask_eval", "a value other than 0 or 1");
		if (lumimask_nlumis(m) < 0)
			die("lumimask_nlumis", "negative");
		lumimask_free(m);
	}
	return 0;
}
