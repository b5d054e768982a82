/* result_plot.c — the pictures of a result: an analysis's histogram as
 * simulation stacked by sample over the nominal, data as points, the
 * variations as a band (result.h result_plot_svg(), plot.h
 * plot_svg_set()); and the overlays of plot statements.  How data and
 * simulation are told apart is the query's: a sample line with `data`
 * (struct result_sample's is_data). */
#include "result.h"

#include "plot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of cell (s, region 0, variation v) of statement k, scaled as
 * hist.json scales it; NULL on ENOMEM. */
static struct hist *cell(const struct result *r, size_t k, size_t s, int v)
{
	const struct result_hrange *hr = &r->hr[k];
	const struct hist *src = r->hists[hr->first + s * (size_t)hr->nr * (size_t)hr->nv + (size_t)v];
	struct hist *h = hist_new_like(src);
	double f = result_sample_scale(r, s);
	if (h && (hist_merge(h, src) || (f != 1 && hist_scale(h, f)))) {
		hist_free(h);
		h = NULL;
	}
	return h;
}

static int plain(const struct result *r, size_t k, char **out, size_t *len)
{
	struct hist *h = result_plot_hist(r, k);
	int rc = h ? plot_svg(h, out, len) : -ENOMEM;
	hist_free(h);
	return rc;
}

int result_plot_svg(const struct result *r, size_t k, char **out, size_t *len)
{
	if (k >= result_nnamed(r))
		return -ENOENT;
	if (!r->extended)
		return plain(r, k, out, len);
	const struct result_hrange *hr = &r->hr[k];
	size_t ns = (size_t)hr->ns, nsim = 0, ndata = 0;
	for (size_t s = 0; s < ns; s++)
		*(r->samples[s].is_data ? &ndata : &nsim) += 1;
	const struct hist *h0 = r->hists[hr->first];
	bool stackable = hist_ndim(h0) == 1 && !hist_profile(h0) &&
			 (hist_axis_kind(h0, 0) == HIST_AXIS_REGULAR || hist_axis_kind(h0, 0) == HIST_AXIS_VARIABLE);
	if (!stackable || nsim == 0 || (ndata == 0 && ns == 1 && hr->nv == 1) || ns > 60)
		return plain(r, k, out, len);

	struct plot_layer layers[64];
	struct hist *own[64] = {0}, *vars[64] = {0};
	size_t n = 0, nvar = 0;
	int rc = 0;
	struct hist *data = NULL;
	for (size_t s = 0; !rc && s < ns; s++) {
		struct hist *h = cell(r, k, s, 0);
		if (!h) {
			rc = -ENOMEM;
		} else if (r->samples[s].is_data) {
			/* All data samples are one set of points. */
			if (data) {
				rc = hist_merge(data, h) ? -ENOMEM : 0;
				hist_free(h);
			} else {
				data = h;
			}
		} else {
			own[n] = h;
			layers[n++] = (struct plot_layer){h, r->samples[s].name, PLOT_STACK};
		}
	}
	if (!rc && data) {
		own[n] = data;
		layers[n++] = (struct plot_layer){data, "Data", PLOT_DATA};
		data = NULL;
	}
	/* Per variation, the total of the simulation. */
	for (int v = 1; !rc && v < hr->nv && nvar < 64; v++) {
		struct hist *t = NULL;
		for (size_t s = 0; !rc && s < ns; s++) {
			if (r->samples[s].is_data)
				continue;
			struct hist *h = cell(r, k, s, v);
			if (!h)
				rc = -ENOMEM;
			else if (!t)
				t = h;
			else {
				rc = hist_merge(t, h) ? -ENOMEM : 0;
				hist_free(h);
			}
		}
		if (t)
			vars[nvar++] = t;
	}
	char note[300] = "";
	if (hr->regions)
		snprintf(note, sizeof(note), "region %s", r->regions[hr->regions[0]]);
	if (!rc) {
		struct plot_set set = {.layers = layers, .n = n, .vars = (const struct hist *const *)vars,
				       .nvar = nvar, .style = own[0], .note = note[0] ? note : NULL};
		rc = plot_svg_set(&set, out, len);
	}
	for (size_t i = 0; i < 64; i++) {
		hist_free(own[i]);
		hist_free(vars[i]);
	}
	hist_free(data);
	return rc;
}

/* A new copy of s, NULL for NULL; *bad set on ENOMEM. */
static char *dup_s(const char *s, bool *bad)
{
	char *d = s ? strdup(s) : NULL;
	*bad |= s && !d;
	return d;
}

int result_plots_of(struct result *r, const struct ql_query *q)
{
	if (!q->nplots)
		return 0;
	if (!(r->plots = calloc((size_t)q->nplots, sizeof(*r->plots))))
		return -ENOMEM;
	bool bad = false;
	for (int j = 0; j < q->nplots; j++) {
		const struct ql_plotdef *d = &q->plots[j];
		struct result_plot *p = &r->plots[r->nplots++];
		const struct ql_plot *o = &d->plot;
		p->o = (struct hist_plot){.logx = o->logx, .logy = o->logy, .logz = o->logz,
					  .density = o->density, .points = o->points,
					  .width = o->width, .height = o->height};
		p->name = dup_s(d->name, &bad);
		p->title = dup_s(d->title, &bad);
		p->o.label = dup_s(o->label, &bad);
		p->o.lumi = dup_s(o->lumi, &bad);
		for (int i = 0; i < d->nhists; i++)
			for (size_t k = 0; k < result_nnamed(r); k++)
				if (!strcmp(result_hist_name(r, k), d->hists[i]))
					p->hists[p->n++] = k;
	}
	return bad ? -ENOMEM : 0;
}

int result_plots_copy(struct result *r, const struct result *src)
{
	if (!src->nplots)
		return 0;
	if (!(r->plots = calloc(src->nplots, sizeof(*r->plots))))
		return -ENOMEM;
	bool bad = false;
	for (size_t j = 0; j < src->nplots; j++) {
		struct result_plot *p = &r->plots[r->nplots++];
		*p = src->plots[j];
		p->name = dup_s(p->name, &bad);
		p->title = dup_s(p->title, &bad);
		p->o.label = dup_s(p->o.label, &bad);
		p->o.lumi = dup_s(p->o.lumi, &bad);
	}
	return bad ? -ENOMEM : 0;
}

void result_plots_free(struct result *r)
{
	for (size_t j = 0; r->plots && j < r->nplots; j++) {
		free(r->plots[j].name);
		free(r->plots[j].title);
		free((char *)r->plots[j].o.label);
		free((char *)r->plots[j].o.lumi);
	}
	free(r->plots);
	r->plots = NULL;
	r->nplots = 0;
}

int result_overlay_svg(const struct result *r, size_t j, char **out, size_t *len)
{
	if (j >= r->nplots || r->plots[j].n == 0)
		return -ENOENT;
	const struct result_plot *p = &r->plots[j];
	struct plot_layer layers[QL_MAX_PLOT_HISTS];
	struct hist *h[QL_MAX_PLOT_HISTS] = {0};
	int rc = 0;
	for (int i = 0; !rc && i < p->n; i++) {
		if (!(h[i] = result_plot_hist(r, p->hists[i])))
			rc = -ENOMEM;
		else
			layers[i] = (struct plot_layer){h[i], hist_title(h[i])[0] ? hist_title(h[i]) : hist_name(h[i]),
							PLOT_LINE};
	}
	if (!rc) {
		struct plot_set set = {.layers = layers, .n = (size_t)p->n, .style = h[0], .plot = &p->o,
				       .title = p->title ? p->title : p->name};
		rc = plot_svg_set(&set, out, len);
	}
	for (int i = 0; i < p->n; i++)
		hist_free(h[i]);
	return rc;
}
