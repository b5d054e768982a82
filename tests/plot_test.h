/* plot_test.h — what the plot tests share: histograms that must build,
 * and a fixed pseudo-random sequence, so that every run draws the same. */
#ifndef ANAFS_PLOT_TEST_H
#define ANAFS_PLOT_TEST_H

#include "hist.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static __attribute__((unused)) struct hist *make(const struct hist_def *def)
{
	struct hist *h = NULL;
	const char *why = NULL;
	if (hist_new(def, &h, &why) != 0) {
		fprintf(stderr, "hist_new(%s): %s\n", def->name, why ? why : "");
		exit(1);
	}
	return h;
}

/* A fixed pseudo-random sequence: xorshift64, and normals by Box-Muller. */
static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

#endif
