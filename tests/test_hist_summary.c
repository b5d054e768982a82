/* test_hist_summary.c — the table of jobs/N/summary (hist_summary()): 1-D,
 * 2-D with flow on each axis, weighted sums, string and integer category
 * axes, an empty histogram, the alignment of the columns. */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static struct hist *make(const struct hist_def *d)
{
	struct hist *h = NULL;
	const char *why = NULL;
	check(hist_new(d, &h, &why) == 0, "hist_new %s: %s", d->name, why ? why : "");
	return h;
}

int main(void)
{
	struct hist *h[5];
	/* 1-D: four points inside (mean 1.5, std sqrt(0.5)), one each side. */
	h[0] = make(&(struct hist_def){ .name = "mass", .ndim = 1,
					.axes = { { .nbins = 4, .lo = 0, .hi = 4 } } });
	const double x0[] = { 0.5, 1.5, 1.5, 2.5, -1, 9 };
	hist_fill1(h[0], x0, NULL, 6);

	/* 2-D: two points inside, one past x's range, one below y's. */
	h[1] = make(&(struct hist_def){ .name = "pt_vs_eta", .ndim = 2,
					.axes = { { .nbins = 2, .lo = 0, .hi = 2 },
						  { .nbins = 2, .lo = 0, .hi = 10 } } });
	const double x1[] = { 0.5, 1.5, 5, 0.5 }, y1[] = { 2.5, 7.5, 2.5, -1 };
	hist_fill2(h[1], x1, y1, NULL, 4);

	/* Weighted: sums of weights, not counts. */
	h[2] = make(&(struct hist_def){ .name = "met_weighted_long_name", .ndim = 1, .weighted = true,
					.axes = { { .nbins = 2, .lo = 0, .hi = 2 } } });
	const double x2[] = { 0.5, 1.5, -3 }, w2[] = { 3, 1, 0.25 };
	hist_fill1(h[2], x2, w2, 3);

	/* Categories: strings with an "other" bin, integers without. */
	const char *chans[] = { "ee", "mumu" };
	const int64_t nj[] = { 7, -3 };
	h[3] = make(&(struct hist_def){ .name = "chan_nj", .ndim = 2,
					.axes = { { .nbins = 2, .kind = HIST_AXIS_CAT_STR,
						    .cat_str = chans, .flow = true },
						  { .nbins = 2, .kind = HIST_AXIS_CAT_INT,
						    .cat_int = nj } } });
	const double c3[] = { 0, 1, 1, 5 }, j3[] = { 7, 7, -3, 7 };
	hist_fill2(h[3], c3, j3, NULL, 4);

	h[4] = make(&(struct hist_def){ .name = "empty", .ndim = 1,
					.axes = { { .nbins = 3, .lo = 0, .hi = 1 } } });

	const char *names[] = { "mass", "pt_vs_eta", "met_weighted_long_name", "chan_nj", "empty" };
	char *s = hist_summary(h, names, 5);
	const char *want =
		"name                    entries       mean        std  underflow  overflow\n"
		"mass                          6        1.5   0.707107          1         1\n"
		"pt_vs_eta                     4        1,5    0.5,2.5        0,1       1,0\n"
		"met_weighted_long_name        3       0.75   0.433013       0.25         0\n"
		"chan_nj                       4  -,3.66667  -,4.71405        -,-       1,-\n"
		"empty                         0          -          -          0         0\n";
	check(s && !strcmp(s, want), "summary:\n%s\nexpected\n%s", s ? s : "(null)", want);
	free(s);

	/* No histograms: the header alone. */
	s = hist_summary(h, names, 0);
	check(s && !strcmp(s, "name  entries  mean  std  underflow  overflow\n"), "empty table: %s",
	      s ? s : "(null)");
	free(s);
	for (int i = 0; i < 5; i++)
		hist_free(h[i]);
	printf("test_hist_summary: %d checks, %d failures\n", nchecks, failures);
	return failures != 0;
}
