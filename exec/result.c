/* result.c — saved results back into histograms and a cutflow. */
#include "result.h"

#include "eval.h"
#include "ql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int result_load(const char *query, size_t qlen, const void *data, size_t len,
		struct result **out)
{
	struct ql_query *q;
	struct ql_error err;
	if (ql_parse(query, qlen, "query", &q, &err))
		return -EINVAL;
	struct result *r = calloc(1, sizeof(*r));
	int rc = r ? 0 : -ENOMEM;
	if (!rc) {
		r->hists = calloc((size_t)q->nhists + 1, sizeof(*r->hists));
		r->filters = calloc((size_t)q->nfilters + 1, sizeof(*r->filters));
		r->passed = calloc((size_t)q->nfilters + 1, sizeof(*r->passed));
		if (!r->hists || !r->filters || !r->passed)
			rc = -ENOMEM;
	}
	for (int i = 0; !rc && i < q->nstmts; i++) {
		struct ql_stmt *s = &q->stmts[i];
		if (s->kind == QS_HIST) {
			if (!(r->hists[r->nhists] = eval_hist_new(&s->u.hist)))
				rc = -EINVAL;
			else
				r->nhists++;
		} else if (s->kind == QS_FILTER) {
			if (!(r->filters[r->nfilters++] = strdup(s->u.filter.name)))
				rc = -ENOMEM;
		}
	}
	ql_free(q);
	/* The bytes: the layout of eval_state_save(). */
	const unsigned char *b = data;
	size_t head = 8 * (4 + r->nfilters);
	if (!rc && len) {
		if (len < head || get_u64(b) != 0x31535645u || get_u64(b + 8) != r->nfilters ||
		    get_u64(b + 16) != r->nhists)
			rc = -EINVAL;
		size_t at = head;
		for (size_t h = 0; !rc && h < r->nhists; h++) {
			long used = hist_load(r->hists[h], b + at, len - at);
			if (used < 0)
				rc = -EINVAL;
			else
				at += (size_t)used;
		}
		if (!rc && at != len)
			rc = -EINVAL;
		if (!rc) {
			r->events = (int64_t)get_u64(b + 24);
			for (size_t f = 0; f < r->nfilters; f++)
				r->passed[f] = (int64_t)get_u64(b + 32 + 8 * f);
		}
	}
	if (rc) {
		result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void result_free(struct result *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->hists && i < r->nhists; i++)
		hist_free(r->hists[i]);
	for (size_t i = 0; r->filters && i < r->nfilters; i++)
		free(r->filters[i]);
	free(r->hists);
	free(r->filters);
	free(r->passed);
	free(r);
}

char *cutflow_text(char *const *names, const int64_t *passed, size_t n, int64_t events)
{
	size_t cap = 128 * (n + 2), len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	int w = 10;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(names[i]);
		w = l > w ? (l > 60 ? 60 : l) : w;
	}
	int64_t prev = events;
	len += (size_t)snprintf(out + len, cap - len, "%-*s %14s %9s %9s\n", w, "filter", "events",
				"eff", "cumul");
	len += (size_t)snprintf(out + len, cap - len, "%-*s %14lld\n", w, "all events",
				(long long)events);
	for (size_t i = 0; i < n && len < cap; i++) {
		int64_t k = passed[i];
		len += (size_t)snprintf(out + len, cap - len, "%-*.*s %14lld %8.2f%% %8.2f%%\n", w, w,
					names[i], (long long)k,
					prev ? 100.0 * (double)k / (double)prev : 0.0,
					events ? 100.0 * (double)k / (double)events : 0.0);
		prev = k;
	}
	return out;
}

char *result_cutflow(const struct result *r)
{
	return cutflow_text(r->filters, r->passed, r->nfilters, r->events);
}
