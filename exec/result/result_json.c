/* result_json.c — a result as hist.json, the histogram a plot shows, and
 * the summary table of those.
 *
 * A query that is not an analysis writes its histograms as they are.  An
 * analysis's cells (sample × region × variation per hist statement) are
 * written as one UHI histogram per statement, with a category axis per
 * dimension that has more than one entry (sample when the query names
 * samples, region for regions=, variation when it varies anything), and
 * each scaled simulation sample multiplied by xsec * lumi / sumw.  Scaling
 * happens here, on copies: the stored cells are the raw sums, so partial
 * results merge exactly and a result written mid-job uses the generator
 * weights summed so far. */
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies of the cells of statement k, each sample's scaled. */
static int scaled_cells(const struct result *r, size_t k, struct hist ***out)
{
	const struct result_hrange *hr = &r->hr[k];
	size_t n = (size_t)hr->ns * (size_t)hr->nr * (size_t)hr->nv;
	struct hist **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t s = i / ((size_t)hr->nr * (size_t)hr->nv);
		const struct hist *src = r->hists[hr->first + i];
		if (!(v[i] = hist_new_like(src)) || hist_merge(v[i], src))
			rc = -ENOMEM;
		double c = result_sample_scale(r, s);
		if (!rc && c != 1)
			rc = hist_scale(v[i], c);
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			hist_free(v[i]);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int result_json(const struct result *r, const char *version, char **out, size_t *len)
{
	if (!r->extended)
		return hist_to_json(r->hists, r->nhists, version, out, len);
	struct hist_json_item *items = calloc(r->nhstmts + 1, sizeof(*items));
	struct hist ***cells = calloc(r->nhstmts + 1, sizeof(*cells));
	const char **snames = calloc(r->nsamples + 1, sizeof(*snames));
	const char ***rnames = calloc(r->nhstmts + 1, sizeof(*rnames));
	int rc = items && cells && snames && rnames ? 0 : -ENOMEM;
	for (size_t s = 0; !rc && s < r->nsamples; s++)
		snames[s] = r->samples[s].name;
	bool named = r->nsamples > 1 || (r->nsamples && r->samples[0].name[0]);
	for (size_t k = 0; !rc && k < r->nhstmts; k++) {
		const struct result_hrange *hr = &r->hr[k];
		if ((rc = scaled_cells(r, k, &cells[k])))
			break;
		struct hist_json_item *it = &items[k];
		it->name = hist_name(r->hists[hr->first]);
		it->parts = cells[k];
		if (named)
			it->cat[it->ncat++] = (struct hist_cat_axis){"sample", snames, (int)r->nsamples};
		if (hr->regions) {
			if (!(rnames[k] = calloc((size_t)hr->nr, sizeof(char *)))) {
				rc = -ENOMEM;
				break;
			}
			for (int i = 0; i < hr->nr; i++)
				rnames[k][i] = r->regions[hr->regions[i]];
			it->cat[it->ncat++] = (struct hist_cat_axis){"region", rnames[k], hr->nr};
		}
		if (hr->nv > 1)
			it->cat[it->ncat++] =
				(struct hist_cat_axis){"variation", (const char *const *)r->varies, hr->nv};
	}
	if (!rc)
		rc = hist_to_json_items(items, r->nhstmts, version, out, len);
	for (size_t k = 0; cells && k < r->nhstmts; k++) {
		const struct result_hrange *hr = &r->hr[k];
		for (size_t i = 0; cells[k] && i < (size_t)hr->ns * hr->nr * hr->nv; i++)
			hist_free(cells[k][i]);
		free(cells[k]);
		if (rnames)
			free(rnames[k]);
	}
	free(cells);
	free(rnames);
	free(snames);
	free(items);
	return rc;
}

size_t result_nnamed(const struct result *r)
{
	return r->extended ? r->nhstmts : r->nhists;
}

const char *result_hist_name(const struct result *r, size_t i)
{
	if (i >= result_nnamed(r))
		return "";
	return hist_name(r->hists[r->extended ? r->hr[i].first : i]);
}

static struct hist *copy_of(const struct hist *src)
{
	struct hist *h = hist_new_like(src);
	if (h && hist_merge(h, src)) {
		hist_free(h);
		return NULL;
	}
	return h;
}

struct hist *result_plot_hist(const struct result *r, size_t k)
{
	if (!r->extended)
		return k < r->nhists ? copy_of(r->hists[k]) : NULL;
	if (k >= r->nhstmts)
		return NULL;
	const struct result_hrange *hr = &r->hr[k];
	bool sim = false;
	for (size_t s = 0; s < r->nsamples; s++)
		sim |= !r->samples[s].is_data;
	struct hist *h = hist_new_like(r->hists[hr->first]);
	for (size_t s = 0; h && s < (size_t)hr->ns; s++) {
		if (sim && r->samples[s].is_data)
			continue; /* simulation and data are not added up */
		struct hist *c = copy_of(r->hists[hr->first + s * (size_t)hr->nr * (size_t)hr->nv]);
		double f = result_sample_scale(r, s);
		if (!c || (f != 1 && hist_scale(c, f)) || hist_merge(h, c)) {
			hist_free(h);
			h = NULL;
		}
		hist_free(c);
	}
	return h;
}

char *result_summary(const struct result *r)
{
	size_t n = result_nnamed(r);
	struct hist **h = calloc(n + 1, sizeof(*h));
	const char **names = calloc(n + 1, sizeof(*names));
	char *out = NULL;
	bool ok = h && names;
	for (size_t i = 0; ok && i < n; i++) {
		names[i] = result_hist_name(r, i);
		ok = (h[i] = result_plot_hist(r, i)) != NULL;
	}
	if (ok)
		out = hist_summary(h, names, n);
	for (size_t i = 0; h && i < n; i++)
		hist_free(h[i]);
	free(h);
	free(names);
	return out;
}
