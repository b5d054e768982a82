/* result.c — results shaped by a query: building, merging, sizes, the
 * cutflow text. */
#include "result.h"

#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hist *result_hist_new(const struct ql_hist *h)
{
	struct hist_def d = {.name = h->name, .title = h->title, .value_label = h->value_label,
			     .ndim = h->ndim, .weighted = h->weight != NULL};
	for (int a = 0; a < h->ndim; a++)
		d.axes[a] = (struct hist_axis_def){.nbins = h->axes[a].nbins, .lo = h->axes[a].lo,
						   .hi = h->axes[a].hi, .edges = h->axes[a].edges,
						   .label = h->axes[a].label};
	struct hist *out = NULL;
	return hist_new(&d, &out, NULL) ? NULL : out;
}

/* An empty result with room for nh histograms and nf filters. */
static struct result *alloc_result(size_t nh, size_t nf)
{
	struct result *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->hists = calloc(nh + 1, sizeof(*r->hists));
	r->filters = calloc(nf + 1, sizeof(*r->filters));
	r->passed = calloc(nf + 1, sizeof(*r->passed));
	if (!r->hists || !r->filters || !r->passed) {
		result_free(r);
		return NULL;
	}
	return r;
}

int result_new(const struct ql_query *q, struct result **out)
{
	struct result *r = alloc_result((size_t)q->nhists, (size_t)q->nfilters);
	if (!r)
		return -ENOMEM;
	int rc = 0;
	for (int i = 0; !rc && i < q->nstmts; i++) {
		const struct ql_stmt *s = &q->stmts[i];
		if (s->kind == QS_HIST) {
			if ((r->hists[r->nhists] = result_hist_new(&s->u.hist)))
				r->nhists++;
			else
				rc = -EINVAL;
		} else if (s->kind == QS_FILTER) {
			if ((r->filters[r->nfilters] = strdup(s->u.filter.name)))
				r->nfilters++;
			else
				rc = -ENOMEM;
		}
	}
	if (rc) {
		result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int result_new_like(const struct result *src, struct result **out)
{
	struct result *r = alloc_result(src->nhists, src->nfilters);
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < src->nhists; i++) {
		if (!(r->hists[i] = hist_new_like(src->hists[i])))
			goto fail;
		r->nhists++;
	}
	for (size_t i = 0; i < src->nfilters; i++) {
		if (!(r->filters[i] = strdup(src->filters[i])))
			goto fail;
		r->nfilters++;
	}
	*out = r;
	return 0;
fail:
	result_free(r);
	return -ENOMEM;
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

/* Whether src can be added into dst, before anything is: a merge that
 * failed half-way would leave dst counting some of src's events. */
static int merge_check(const struct result *dst, const struct result *src)
{
	if (dst->nhists != src->nhists || dst->nfilters != src->nfilters)
		return -EINVAL;
	for (size_t i = 0; i < dst->nhists; i++) {
		int rc = hist_merge_check(dst->hists[i], src->hists[i]);
		if (rc)
			return rc;
	}
	int64_t sum;
	for (size_t i = 0; i < dst->nfilters; i++)
		if (__builtin_add_overflow(dst->passed[i], src->passed[i], &sum))
			return -EOVERFLOW;
	return __builtin_add_overflow(dst->events, src->events, &sum) ? -EOVERFLOW : 0;
}

int result_merge(struct result *dst, const struct result *src)
{
	int rc = merge_check(dst, src);
	for (size_t i = 0; !rc && i < dst->nhists; i++)
		rc = hist_merge(dst->hists[i], src->hists[i]);
	if (rc)
		return rc;
	for (size_t i = 0; i < dst->nfilters; i++)
		dst->passed[i] += src->passed[i];
	dst->events += src->events;
	return 0;
}

uint64_t result_query_bytes(const struct ql_query *q)
{
	uint64_t total = 0;
	for (int i = 0; i < q->nstmts; i++) {
		const struct ql_stmt *s = &q->stmts[i];
		if (s->kind != QS_HIST)
			continue;
		const struct ql_hist *h = &s->u.hist;
		uint64_t cells = (uint64_t)(h->axes[0].nbins > 0 ? h->axes[0].nbins : 0) + 2;
		if (h->ndim == 2)
			cells *= (uint64_t)(h->axes[1].nbins > 0 ? h->axes[1].nbins : 0) + 2;
		total += cells * 8 * (h->weight ? 2 : 1);
	}
	return total;
}

int result_load(const char *query, size_t qlen, const void *data, size_t len,
		struct result **out)
{
	struct ql_query *q;
	struct ql_error err;
	if (ql_parse(query, qlen, "query", &q, &err))
		return -EINVAL;
	struct result *r = NULL;
	int rc = result_new(q, &r);
	ql_free(q);
	if (!rc && len)
		rc = result_decode(r, data, len);
	if (rc) {
		result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

char *result_cutflow(const struct result *r)
{
	struct strbuf b = STRBUF_INIT;
	int w = 10;
	for (size_t i = 0; i < r->nfilters; i++) {
		int l = (int)strlen(r->filters[i]);
		w = l > w ? (l > 60 ? 60 : l) : w;
	}
	int64_t prev = r->events;
	strbuf_printf(&b, "%-*s %14s %9s %9s\n", w, "filter", "events", "eff", "cumul");
	strbuf_printf(&b, "%-*s %14lld\n", w, "all events", (long long)r->events);
	for (size_t i = 0; i < r->nfilters; i++) {
		int64_t k = r->passed[i];
		strbuf_printf(&b, "%-*.*s %14lld %8.2f%% %8.2f%%\n", w, w, r->filters[i], (long long)k,
			      prev ? 100.0 * (double)k / (double)prev : 0.0,
			      r->events ? 100.0 * (double)k / (double)r->events : 0.0);
		prev = k;
	}
	char *out = NULL;
	return strbuf_finish(&b, &out, NULL) ? NULL : out;
}
