/* result.h — a job's saved result read back for display, without the data
 * files: the query is parsed (not checked: parsing alone gives the
 * histograms' definitions and the filters' names) and the saved bytes fill
 * the histograms and the cutflow.
 *
 * Thread safety: a struct result is immutable once loaded. */
#ifndef ANAFS_RESULT_H
#define ANAFS_RESULT_H

#include "hist.h"

#include <stddef.h>
#include <stdint.h>

struct result {
	struct hist **hists;
	size_t nhists;
	char **filters;     /* filter names, in order */
	int64_t *passed;    /* events passing each filter */
	size_t nfilters;
	int64_t events;     /* events seen */
};

/* Build from query text and saved bytes (eval_state_save(); NULL/0 for
 * empty results).  *out is new: result_free().  -EINVAL when the bytes do
 * not fit the query. */
int result_load(const char *query, size_t qlen, const void *data, size_t len,
		struct result **out);
void result_free(struct result *r);

/* The cutflow as text (as `anafs run --cutflow` prints it); new. */
char *result_cutflow(const struct result *r);

/* The same from its parts: n filter names, the events passing each, the
 * events seen.  New (free()), NULL on ENOMEM. */
char *cutflow_text(char *const *names, const int64_t *passed, size_t n, int64_t events);

#endif
