/* result.c — results shaped by a query: building, merging, sizes, the
 * cutflow text. */
#include "result.h"

#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether simulation is scaled by cross section: then every histogram
 * keeps sums of weights. */
static bool scaled(const struct ql_query *q)
{
	for (int i = 0; i < q->nsamples; i++)
		if (!q->samples[i].is_data && q->samples[i].has_xsec)
			return true;
	return false;
}

struct hist *result_hist_new(const struct ql_query *q, const struct ql_hist *h)
{
	struct hist_def d = {.name = h->name, .title = h->title, .value_label = h->value_label,
			     .ndim = h->ndim, .profile = h->profile,
			     .weighted = h->weight != NULL || q->weight != NULL || scaled(q)};
	const struct ql_plot *qp = &h->plot;
	struct hist_plot plot = {.logx = qp->logx, .logy = qp->logy, .logz = qp->logz,
				 .density = qp->density, .points = qp->points, .width = qp->width,
				 .height = qp->height, .label = qp->label, .lumi = qp->lumi};
	d.plot = &plot;
	for (int a = 0; a < h->ndim; a++) {
		const struct ql_axis *x = &h->axes[a];
		d.axes[a] = (struct hist_axis_def){.nbins = x->nbins, .lo = x->lo, .hi = x->hi,
						   .edges = x->edges, .label = x->label};
		if (x->is_cat) {
			d.axes[a].kind = x->cat_str ? HIST_AXIS_CAT_STR : HIST_AXIS_CAT_INT;
			d.axes[a].cat_int = x->cat_int;
			d.axes[a].cat_str = (const char *const *)x->cat_strs;
			d.axes[a].flow = true;
		}
	}
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

static bool is_analysis(const struct ql_query *q)
{
	return q->nsamples || q->weight || q->nregions || q->nvaries;
}

/* Whether statement h has a category axis of regions (regions=, even of
 * one region; region= fills under one region, with no axis). */
static bool region_axis(const struct ql_hist *h)
{
	return h->nregion_names > 0 && h->region == -1;
}

/* The cells of statement h: samples, regions of its regions= axis,
 * variations. */
static void cells_of(const struct ql_query *q, const struct ql_hist *h, int *ns, int *nr, int *nv)
{
	*ns = q->nsamples ? q->nsamples : 1;
	*nr = region_axis(h) ? h->nregion_names : 1;
	*nv = 1 + q->nvaries;
}

/* The analysis block's arrays, zeroed, for ns samples, nf filters and nr
 * regions; names copied by the caller. */
static int alloc_analysis(struct result *r, size_t ns, size_t nr, size_t nv, size_t nh)
{
	size_t nf = r->nfilters;
	r->extended = true;
	r->nsamples = ns;
	r->nregions = nr;
	r->nvaries = nv;
	r->nhstmts = nh;
	r->samples = calloc(ns + 1, sizeof(*r->samples));
	r->regions = calloc(nr + 1, sizeof(*r->regions));
	r->varies = calloc(nv + 1, sizeof(*r->varies));
	r->s_events = calloc(ns + 1, sizeof(int64_t));
	r->s_passed = calloc(ns * nf + 1, sizeof(int64_t));
	r->s_region = calloc(ns * nr + 1, sizeof(int64_t));
	r->s_wevents = calloc(ns + 1, sizeof(double));
	r->s_wpassed = calloc(ns * nf + 1, sizeof(double));
	r->s_wregion = calloc(ns * nr + 1, sizeof(double));
	r->sumw = calloc(ns + 1, sizeof(double));
	r->hr = calloc(nh + 1, sizeof(*r->hr));
	return r->samples && r->regions && r->varies && r->s_events && r->s_passed && r->s_region &&
			       r->s_wevents && r->s_wpassed && r->s_wregion && r->sumw && r->hr
		       ? 0
		       : -ENOMEM;
}

static char *dup_or_fail(const char *s, int *rc)
{
	char *d = strdup(s ? s : "");
	if (!d)
		*rc = -ENOMEM;
	return d;
}

/* The analysis block of a new result for q: names and scales. */
static int analysis_of(struct result *r, const struct ql_query *q)
{
	size_t ns = q->nsamples ? (size_t)q->nsamples : 1;
	int rc = alloc_analysis(r, ns, (size_t)q->nregions, 1 + (size_t)q->nvaries, (size_t)q->nhists);
	r->has_weight = q->weight != NULL;
	for (size_t i = 0; !rc && i < ns; i++) {
		struct result_sample *rs = &r->samples[i];
		if (!q->nsamples) {
			rs->name = dup_or_fail("", &rc);
			continue;
		}
		const struct ql_sample *sm = &q->samples[i];
		rs->name = dup_or_fail(sm->name, &rc);
		rs->is_data = sm->is_data;
		double lumi = sm->has_lumi ? sm->lumi : q->has_lumi ? q->lumi : 1;
		rs->xsec_lumi = !sm->is_data && sm->has_xsec ? sm->xsec * lumi : 0;
		rs->sumw_given = sm->has_sumw && !sm->sumw_auto ? sm->sumw : 0;
	}
	for (int i = 0; !rc && i < q->nregions; i++)
		r->regions[i] = dup_or_fail(q->regions[i]->name, &rc);
	r->varies[0] = dup_or_fail("nominal", &rc);
	for (int i = 0; !rc && i < q->nvaries; i++)
		r->varies[i + 1] = dup_or_fail(q->varies[i]->name, &rc);
	return rc;
}

/* The regions= axis of a statement, as region indices: from the checked
 * statement, or (parsed only) by name. */
static int copy_regions(struct result_hrange *hr, const int *idx, char *const *names,
			const struct ql_query *q)
{
	if (!(hr->regions = calloc((size_t)hr->nr, sizeof(int))))
		return -ENOMEM;
	for (int i = 0; i < hr->nr; i++) {
		hr->regions[i] = idx ? idx[i] : -1;
		for (int k = 0; !idx && k < q->nregions; k++)
			if (!strcmp(q->regions[k]->name, names[i]))
				hr->regions[i] = k;
		if (hr->regions[i] < 0)
			return -EINVAL;
	}
	return 0;
}

int result_new(const struct ql_query *q, struct result **out)
{
	size_t nh = 0;
	for (int i = 0; i < q->nstmts; i++)
		if (q->stmts[i].kind == QS_HIST) {
			int ns, nr, nv;
			cells_of(q, &q->stmts[i].u.hist, &ns, &nr, &nv);
			nh += (size_t)ns * (size_t)nr * (size_t)nv;
		}
	struct result *r = alloc_result(nh, (size_t)q->nfilters);
	if (!r)
		return -ENOMEM;
	int rc = 0;
	for (int i = 0; !rc && i < q->nstmts; i++)
		if (q->stmts[i].kind == QS_FILTER) {
			if ((r->filters[r->nfilters] = strdup(q->stmts[i].u.filter.name)))
				r->nfilters++;
			else
				rc = -ENOMEM;
		}
	if (!rc && is_analysis(q))
		rc = analysis_of(r, q);
	size_t k = 0;
	for (int i = 0; !rc && i < q->nstmts; i++) {
		const struct ql_stmt *s = &q->stmts[i];
		if (s->kind != QS_HIST)
			continue;
		int ns, nr, nv;
		cells_of(q, &s->u.hist, &ns, &nr, &nv);
		if (r->extended) {
			struct result_hrange *hr = &r->hr[k++];
			*hr = (struct result_hrange){.first = r->nhists, .ns = ns, .nr = nr, .nv = nv};
			if (region_axis(&s->u.hist))
				rc = copy_regions(hr, s->u.hist.regions, s->u.hist.region_names, q);
		}
		for (int c = 0; !rc && c < ns * nr * nv; c++) {
			if ((r->hists[r->nhists] = result_hist_new(q, &s->u.hist)))
				r->nhists++;
			else
				rc = -EINVAL;
		}
	}
	if (!rc)
		rc = result_plots_of(r, q);
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
	if (src->extended) {
		int rc = alloc_analysis(r, src->nsamples, src->nregions, src->nvaries, src->nhstmts);
		r->has_weight = src->has_weight;
		for (size_t i = 0; !rc && i < src->nsamples; i++) {
			r->samples[i] = src->samples[i];
			r->samples[i].name = dup_or_fail(src->samples[i].name, &rc);
		}
		for (size_t i = 0; !rc && i < src->nregions; i++)
			r->regions[i] = dup_or_fail(src->regions[i], &rc);
		for (size_t i = 0; !rc && i < src->nvaries; i++)
			r->varies[i] = dup_or_fail(src->varies[i], &rc);
		if (rc)
			goto fail;
		memcpy(r->hr, src->hr, src->nhstmts * sizeof(*r->hr));
		for (size_t i = 0; i < src->nhstmts; i++) {
			r->hr[i].regions = NULL;
			if (src->hr[i].regions &&
			    !(r->hr[i].regions = malloc(((size_t)src->hr[i].nr + 1) * sizeof(int))))
				goto fail;
			if (src->hr[i].regions)
				memcpy(r->hr[i].regions, src->hr[i].regions, (size_t)src->hr[i].nr * sizeof(int));
		}
	}
	if (result_plots_copy(r, src))
		goto fail;
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
	for (size_t i = 0; r->samples && i < r->nsamples; i++)
		free(r->samples[i].name);
	for (size_t i = 0; r->regions && i < r->nregions; i++)
		free(r->regions[i]);
	for (size_t i = 0; r->varies && i < r->nvaries; i++)
		free(r->varies[i]);
	free(r->samples);
	free(r->regions);
	free(r->varies);
	free(r->s_events);
	free(r->s_passed);
	free(r->s_region);
	free(r->s_wevents);
	free(r->s_wpassed);
	free(r->s_wregion);
	free(r->sumw);
	for (size_t i = 0; r->hr && i < r->nhstmts; i++)
		free(r->hr[i].regions);
	free(r->hr);
	result_plots_free(r);
	free(r);
}

/* Whether src can be added into dst, before anything is: a merge that
 * failed half-way would leave dst counting some of src's events. */
static int merge_check(const struct result *dst, const struct result *src)
{
	if (dst->nhists != src->nhists || dst->nfilters != src->nfilters ||
	    dst->extended != src->extended ||
	    (dst->extended && (dst->nsamples != src->nsamples || dst->nregions != src->nregions)))
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
	size_t ns = dst->extended ? dst->nsamples : 0;
	for (size_t i = 0; i < ns * dst->nfilters; i++)
		if (__builtin_add_overflow(dst->s_passed[i], src->s_passed[i], &sum))
			return -EOVERFLOW;
	for (size_t i = 0; i < ns * dst->nregions; i++)
		if (__builtin_add_overflow(dst->s_region[i], src->s_region[i], &sum))
			return -EOVERFLOW;
	for (size_t i = 0; i < ns; i++)
		if (__builtin_add_overflow(dst->s_events[i], src->s_events[i], &sum))
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
	size_t ns = dst->extended ? dst->nsamples : 0, nf = dst->nfilters, nr = dst->nregions;
	for (size_t i = 0; i < ns; i++) {
		dst->s_events[i] += src->s_events[i];
		dst->s_wevents[i] += src->s_wevents[i];
		dst->sumw[i] += src->sumw[i];
	}
	for (size_t i = 0; i < ns * nf; i++) {
		dst->s_passed[i] += src->s_passed[i];
		dst->s_wpassed[i] += src->s_wpassed[i];
	}
	for (size_t i = 0; i < ns * nr; i++) {
		dst->s_region[i] += src->s_region[i];
		dst->s_wregion[i] += src->s_wregion[i];
	}
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
		uint64_t cells = 1;
		for (int a = 0; a < h->ndim; a++)
			cells *= (uint64_t)(h->axes[a].nbins > 0 ? h->axes[a].nbins : 0) + 2;
		int ns, nr, nv;
		cells_of(q, h, &ns, &nr, &nv);
		bool weighted = h->weight || q->weight || scaled(q);
		total += cells * 8 * (uint64_t)(h->profile ? (weighted ? 4 : 3) : weighted ? 2 : 1) *
			 (uint64_t)ns * (uint64_t)nr * (uint64_t)nv;
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

/* The weighted figure of a cutflow line: the sum of the event weight, or
 * without one (a sample only scaled) the count, each event weighing 1. */
static double wsum(const struct result *r, double w, int64_t count)
{
	return r->has_weight ? w : (double)count;
}

/* One block of the cutflow: the events seen, then a line per filter and
 * per region, with sums of weights (scaled by scale) when weighted. */
static void cutflow_block(struct strbuf *b, const struct result *r, int w, int64_t events,
			  const int64_t *passed, const int64_t *region, bool weighted, double wevents,
			  const double *wpassed, const double *wregion, double scale)
{
	int64_t prev = events;
	strbuf_printf(b, "%-*s %14s %9s %9s%s\n", w, "filter", "events", "eff", "cumul",
		      weighted ? "       weighted" : "");
	strbuf_printf(b, "%-*s %14lld", w, "all events", (long long)events);
	if (weighted)
		strbuf_printf(b, "%20s %14.6g", "", wsum(r, wevents, events) * scale);
	strbuf_printf(b, "\n");
	for (size_t i = 0; i < r->nfilters; i++) {
		int64_t k = passed[i];
		strbuf_printf(b, "%-*.*s %14lld %8.2f%% %8.2f%%", w, w, r->filters[i], (long long)k,
			      prev ? 100.0 * (double)k / (double)prev : 0.0,
			      events ? 100.0 * (double)k / (double)events : 0.0);
		if (weighted)
			strbuf_printf(b, " %14.6g", wsum(r, wpassed[i], k) * scale);
		strbuf_printf(b, "\n");
		prev = k;
	}
	for (size_t i = 0; region && i < r->nregions; i++) {
		char name[80];
		snprintf(name, sizeof(name), "region %s", r->regions[i]);
		strbuf_printf(b, "%-*.*s %14lld %8.2f%% %8.2f%%", w, w, name, (long long)region[i],
			      prev ? 100.0 * (double)region[i] / (double)prev : 0.0,
			      events ? 100.0 * (double)region[i] / (double)events : 0.0);
		if (weighted)
			strbuf_printf(b, " %14.6g", wsum(r, wregion[i], region[i]) * scale);
		strbuf_printf(b, "\n");
	}
}

double result_sample_scale(const struct result *r, size_t s)
{
	if (!r->extended || s >= r->nsamples || r->samples[s].xsec_lumi == 0)
		return 1;
	double sumw = r->samples[s].sumw_given ? r->samples[s].sumw_given : r->sumw[s];
	double c = sumw != 0 ? r->samples[s].xsec_lumi / sumw : 0;
	return isfinite(c) ? c : 0; /* a sum too small to divide by (bytes from outside) */
}

char *result_cutflow(const struct result *r)
{
	struct strbuf b = STRBUF_INIT;
	int w = 10;
	for (size_t i = 0; i < r->nfilters; i++) {
		int l = (int)strlen(r->filters[i]);
		w = l > w ? (l > 60 ? 60 : l) : w;
	}
	for (size_t i = 0; r->extended && i < r->nregions; i++) {
		int l = 7 + (int)strlen(r->regions[i]);
		w = l > w ? (l > 60 ? 60 : l) : w;
	}
	if (!r->extended) {
		cutflow_block(&b, r, w, r->events, r->passed, NULL, false, 0, NULL, NULL, 1);
	} else {
		bool named = r->nsamples > 1 || r->samples[0].name[0];
		for (size_t s = 0; s < r->nsamples; s++) {
			double scale = result_sample_scale(r, s);
			bool weighted = r->has_weight || r->samples[s].xsec_lumi;
			if (named) {
				strbuf_printf(&b, "%ssample %s (%s", s ? "\n" : "", r->samples[s].name,
					      r->samples[s].is_data ? "data" : "simulation");
				if (r->samples[s].xsec_lumi)
					strbuf_printf(&b, ", weighted sums scaled by xsec * lumi / sumw = %.6g",
						      scale);
				strbuf_printf(&b, ")\n");
			}
			cutflow_block(&b, r, w, r->s_events[s], r->s_passed + s * r->nfilters,
				      r->s_region + s * r->nregions, weighted, r->s_wevents[s],
				      r->s_wpassed + s * r->nfilters, r->s_wregion + s * r->nregions, scale);
		}
	}
	char *out = NULL;
	return strbuf_finish(&b, &out, NULL) ? NULL : out;
}
