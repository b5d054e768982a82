/* eval_run.c — running a program on a batch: per-thread state, loading
 * columns (eval_load.c), cutting the batch down at filters, filling
 * histograms and the cutflow; and taking and merging the results. */
#include "eval_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- state ---- */

int eval_state_new(const struct eval_prog *p, struct eval_state **out)
{
	struct eval_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->p = p;
	size_t nl = (size_t)p->nlists + 1;
	s->vals = calloc((size_t)p->nnodes + 1, sizeof(*s->vals));
	s->lists = calloc(nl, sizeof(*s->lists));
	s->list_cap = calloc(nl, sizeof(*s->list_cap));
	s->list_ready = calloc(nl, sizeof(*s->list_ready));
	s->checked = calloc((size_t)p->nnodes + 1, sizeof(*s->checked));
	s->vmask = calloc((size_t)p->nvar + 1, sizeof(*s->vmask));
	s->vmask_cap = calloc((size_t)p->nvar + 1, sizeof(*s->vmask_cap));
	s->vhas = calloc((size_t)p->nvar + 1, sizeof(*s->vhas));
	s->same = calloc((size_t)p->nvar + 1, sizeof(*s->same));
	bool ok = s->vals && s->lists && s->list_cap && s->list_ready && s->checked && s->vmask &&
		  s->vmask_cap && s->vhas && s->same && !result_new(p->q, &s->res);
	if (!ok) {
		eval_state_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void eval_state_free(struct eval_state *s)
{
	if (!s)
		return;
	const struct eval_prog *p = s->p;
	for (int i = 0; s->vals && i < p->nnodes; i++) {
		if (!s->vals[i].borrowed)
			free(s->vals[i].data);
		free(s->vals[i].valid);
		free(s->vals[i].fbuf);
	}
	for (int i = 0; s->lists && i < p->nlists; i++)
		free(s->lists[i]);
	result_free(s->res);
	for (int i = 0; i < EVAL_SCRATCH; i++)
		free(s->scratch[i]);
	for (int i = 0; i <= QL_VROOTS; i++)
		free(s->fill[i]);
	for (int v = 0; s->vmask && v < p->nvar; v++)
		free(s->vmask[v]);
	free(s->vmask);
	free(s->vmask_cap);
	free(s->vhas);
	free(s->same);
	free(s->pass_u);
	free(s->fmask);
	free(s->fill_ok);
	free(s->idx);
	free(s->mask);
	free(s->checked);
	free(s->vals);
	free(s->lists);
	free(s->list_cap);
	free(s->list_ready);
	free(s);
}

/* ---- cutting the batch down to the events that pass a filter ---- */

static EVAL_CLONES int compact_val(struct eval_state *s, struct val *v, const uint8_t *pass)
{
	size_t w = 0;
	v->f32 = NULL; /* the doubles are cut; no node cut later has only floats */
	if (v->borrowed) { /* the caller's column is read-only: take a copy */
		size_t bytes = v->n * (v->t == QL_BOOL ? 1 : 8);
		void *own = malloc(bytes + 8);
		if (!own)
			return -ENOMEM;
		memcpy(own, v->data, bytes);
		v->data = own;
		v->cap = bytes + 8;
		v->borrowed = false;
	}
	if (!v->jagged) {
		/* Branch-free: write every event, advance past the kept ones. */
		if (v->t == QL_BOOL) {
			uint8_t *d = v->data;
			for (int64_t j = 0; j < s->nev; j++) {
				d[w] = d[j];
				w += pass[j];
			}
		} else {
			uint64_t *d = v->data;
			for (int64_t j = 0; j < s->nev; j++) {
				d[w] = d[j];
				w += pass[j];
			}
		}
	} else {
		const int64_t *off = s->lists[v->list];
		size_t size = v->t == QL_BOOL ? 1 : 8;
		char *d = v->data;
		for (int64_t j = 0; j < s->nev; j++)
			if (pass[j]) {
				size_t len = (size_t)(off[j + 1] - off[j]);
				if (size == 8)
					for (size_t i = 0; i < len; i++)
						((uint64_t *)d)[w + i] = ((uint64_t *)d)[(size_t)off[j] + i];
				else
					memmove(d + w, d + off[j], len);
				w += len;
			}
	}
	v->n = w;
	if (v->has_valid) {
		size_t m = 0;
		for (int64_t j = 0; j < s->nev; j++) {
			v->valid[m] = v->valid[j];
			m += pass[j];
		}
	}
	return 0;
}

static EVAL_CLONES void compact_list(struct eval_state *s, int64_t *off, const uint8_t *pass)
{
	int64_t m = 0, at = 0;
	for (int64_t j = 0; j < s->nev; j++)
		if (pass[j]) {
			int64_t len = off[j + 1] - off[j];
			off[m++] = at;
			at += len;
		}
	off[m] = at;
}

/* Keep only the events with pass[j] in every value still needed after
 * phase k, every list and the event index. */
static int compact(struct eval_state *s, int k, const uint8_t *pass, int64_t kept)
{
	const struct eval_prog *p = s->p;
	for (int i = 0; i < p->nnodes && p->phase[i] <= k; i++)
		if (p->last[i] > k && compact_val(s, &s->vals[i], pass))
			return -ENOMEM;
	for (int l = 0; l < p->nlists; l++)
		if (s->list_ready[l])
			compact_list(s, s->lists[l], pass);
	if (!s->have_idx &&
	    eval_reserve((void **)&s->idx, &s->idx_cap, ((size_t)s->nev + 1) * 8))
		return -ENOMEM;
	/* Local pointers: with -fno-strict-aliasing a store through s->idx
	 * would reload s->idx and s->nev every event. */
	int64_t *restrict idx = s->idx;
	const int64_t n = s->nev;
	int64_t m = 0;
	if (!s->have_idx) /* the identity, cut */
		for (int64_t j = 0; j < n; j++) {
			idx[m] = j;
			m += pass[j];
		}
	else
		for (int64_t j = 0; j < n; j++) {
			idx[m] = idx[j];
			m += pass[j];
		}
	s->have_idx = true;
	s->nev = kept;
	s->gpu_epoch = 0; /* the values changed in place: the device's copies are stale */
	return 0;
}

/* ---- filling ---- */

/* o: the values x[e] of the events with ok[e], in order; their count. */
static EVAL_CLONES size_t gather_flat(double *restrict o, const double *restrict x,
				      const uint8_t *restrict ok, int64_t n)
{
	size_t k = 0;
	for (int64_t e = 0; e < n; e++) { /* branch-free: write each, keep the ok */
		o[k] = x[e];
		k += ok[e];
	}
	return k;
}

/* o: the elements x[off[e]..off[e+1]) of the events with ok[e], in order;
 * their count. */
static EVAL_CLONES size_t gather_lists(double *restrict o, const double *restrict x,
				       const int64_t *restrict off, const uint8_t *restrict ok,
				       int64_t n)
{
	size_t k = 0;
	for (int64_t e = 0; e < n; e++)
		if (ok[e])
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				o[k++] = x[i];
	return k;
}

/* Fill cell out of histogram h (index hi in the program) from roots r (x,
 * y, z, weight, value) with the events where mask (NULL: every current
 * event) is set and every value is present. */
static int fill_cell(struct eval_state *s, int hi, const struct ql_hist *h,
		     const struct ql_node *const *r, const uint8_t *mask, struct hist *out)
{
	struct val *v[QL_VROOTS];
	int L = -1;
	bool valid = mask != NULL;
	for (int i = 0; i < QL_VROOTS; i++) {
		v[i] = r[i] ? eval_arg(s, r[i]) : NULL;
		if (v[i]) {
			if (v[i]->jagged)
				L = v[i]->list;
			valid |= v[i]->has_valid;
		}
	}
	const double *d[QL_VROOTS] = {0};
	for (int i = 0; i < QL_VROOTS; i++)
		if (v[i] && !(d[i] = eval_as_f64(s, v[i], L, i)))
			return -ENOMEM;
	size_t total = L >= 0 ? eval_list_size(s, L) : (size_t)s->nev;
	if (valid) { /* gather the events where every value is present */
		if (eval_reserve((void **)&s->fill_ok, &s->fill_ok_cap, (size_t)s->nev + 1))
			return -ENOMEM;
		uint8_t *restrict ok = s->fill_ok;
		const int64_t ne = s->nev;
		for (int64_t e = 0; e < ne; e++)
			ok[e] = !mask || mask[e] != 0;
		for (int i = 0; i < QL_VROOTS; i++)
			if (v[i] && v[i]->has_valid) {
				const uint8_t *restrict vv = v[i]->valid;
				for (int64_t e = 0; e < ne; e++)
					ok[e] &= vv[e] != 0;
			}
		size_t k = 0;
		for (int i = 0; i < QL_VROOTS; i++) {
			if (!v[i])
				continue;
			if (eval_reserve((void **)&s->fill[i], &s->fill_cap[i], (total + 1) * 8))
				return -ENOMEM;
			k = L >= 0 ? gather_lists(s->fill[i], d[i], s->lists[L], ok, s->nev)
				   : gather_flat(s->fill[i], d[i], ok, s->nev);
			d[i] = s->fill[i];
		}
		total = k;
	}
	/* String categories: a string's index becomes its category's. */
	for (int a = 0; a < h->ndim && s->p->str_cat; a++) {
		const int *m = s->p->str_cat[hi * QL_MAX_DIM + a];
		if (!m)
			continue;
		if (d[a] != s->fill[a]) {
			if (eval_reserve((void **)&s->fill[a], &s->fill_cap[a], (total + 1) * 8))
				return -ENOMEM;
			memcpy(s->fill[a], d[a], total * sizeof(double));
		}
		double *x = s->fill[a];
		for (size_t i = 0; i < total; i++)
			x[i] = m[(int64_t)x[i]];
		d[a] = x;
	}
	if (h->ndim <= 2 && !h->profile &&
	    eval_gpu_fill(s, out, d[0], d[1], v[3] ? d[3] : NULL, total) == 0)
		return 0;
	if (h->ndim == 1 && !h->profile)
		hist_fill1(out, d[0], v[3] ? d[3] : NULL, total);
	else if (h->ndim == 2 && !h->profile)
		hist_fill2(out, d[0], d[1], v[3] ? d[3] : NULL, total);
	else
		hist_fill(out, d, v[3] ? d[3] : NULL, d[4], total);
	return 0;
}

/* ---- running ---- */

/* The events of variation v at the current phase: NULL when all pass. */
static const uint8_t *events_of(const struct eval_state *s, int v)
{
	if (v && !s->same[v])
		return s->vhas[v] ? s->vmask[v] : NULL;
	return s->has_mask ? s->mask : NULL;
}

/* m (for n events) ANDed with a region's value where it is present; into
 * s->fmask. */
static const uint8_t *with_region(struct eval_state *s, const uint8_t *m, const struct val *rv)
{
	if (eval_reserve((void **)&s->fmask, &s->fmask_cap, (size_t)s->nev + 1))
		return NULL;
	const uint8_t *x = rv->data;
	for (int64_t e = 0; e < s->nev; e++)
		s->fmask[e] = (uint8_t)((!m || m[e]) & (x[e] != 0) & (!rv->has_valid || rv->valid[e] != 0));
	return s->fmask;
}

static const struct ql_node *vnode(const struct ql_node *nominal, struct ql_node *const *vexpr, int v)
{
	return v ? vexpr[v - 1] : nominal;
}

/* Fill every cell of histogram hi: per region of its axis (or its one
 * region) and per variation. */
static int fill_hist(struct eval_state *s, int hi)
{
	const struct eval_prog *p = s->p;
	const struct ql_hist *h = p->hists[hi];
	const struct result_hrange *hr = s->res->extended ? &s->res->hr[hi] : NULL;
	int nr = hr ? hr->nr : 1, nv = hr ? hr->nv : 1;
	for (int v = 0; v < nv; v++) {
		const struct ql_node *r[QL_VROOTS] = {h->expr[0], h->expr[1], h->expr[2], h->weight,
						      h->value};
		if (v)
			memcpy(r, &h->vroots[(v - 1) * QL_VROOTS], sizeof(r));
		const uint8_t *m = events_of(s, v);
		for (int ri = 0; ri < nr; ri++) {
			int reg = hr && hr->regions ? hr->regions[ri] : h->region;
			const uint8_t *fm = m;
			if (reg >= 0) {
				const struct ql_region *rg = p->regions[reg];
				if (!(fm = with_region(s, m, eval_arg(s, vnode(rg->expr, rg->vexpr, v)))))
					return -ENOMEM;
			}
			size_t cell = hr ? hr->first + ((size_t)s->sample * (size_t)nr + (size_t)ri) * (size_t)nv + (size_t)v
					 : (size_t)hi;
			int rc = fill_cell(s, hi, h, r, fm, s->res->hists[cell]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The sum of the event weight over the events with pass set (NULL:
 * every event): missing and NaN weights count nothing. */
static double weight_sum(struct eval_state *s, const uint8_t *pass)
{
	const struct val *w = eval_arg(s, s->p->weight);
	const double *d = eval_as_f64(s, w, -1, EVAL_SCRATCH - 1);
	double sum = 0;
	for (int64_t e = 0; d && e < s->nev; e++)
		if ((!pass || pass[e]) && (!w->has_valid || w->valid[e]) && !isnan(d[e]))
			sum += d[e];
	return sum;
}

/* Counters read so far against the lengths of their lists. */
static int check_counters(struct eval_state *s, int k)
{
	const struct eval_prog *p = s->p;
	for (int i = 0; i < p->nnodes && p->phase[i] <= k; i++) {
		int l = p->counts[i];
		if (l < 0 || s->checked[i] || !s->list_ready[l])
			continue;
		const int64_t *v = s->vals[i].data, *off = s->lists[l];
		for (int64_t e = 0; e < s->nev; e++)
			if (v[e] != off[e + 1] - off[e]) {
				s->why = "a list's lengths differ from those of its counter";
				return -EINVAL;
			}
		s->checked[i] = true;
	}
	return 0;
}

/* The events of variation v that pass filter k, into out; their count. */
static EVAL_CLONES int64_t pass_of(struct eval_state *s, const struct val *fv, const uint8_t *m,
				  uint8_t *restrict out)
{
	const uint8_t *restrict val = fv->data, *restrict valid = fv->has_valid ? fv->valid : NULL;
	const int64_t n = s->nev;
	int64_t kept = 0;
	/* Separate stores and sums, and local pointers: both loops vectorize. */
	if (valid || m)
		for (int64_t e = 0; e < n; e++) {
			uint8_t b = (uint8_t)((val[e] != 0) & (!valid || valid[e] != 0) & (!m || m[e]));
			out[e] = b;
			kept += b;
		}
	else
		for (int64_t e = 0; e < n; e++) {
			uint8_t b = val[e] != 0;
			out[e] = b;
			kept += b;
		}
	return kept;
}

/* Keep pass's events in v's mask, cut down to the kept ones (u) when the
 * batch is cut. */
static int keep_mask(struct eval_state *s, int v, const uint8_t *pass, const uint8_t *u, int64_t kept_v,
		     int64_t n_after)
{
	if (eval_reserve((void **)&s->vmask[v], &s->vmask_cap[v], (size_t)s->nev + 1))
		return -ENOMEM;
	uint8_t *d = s->vmask[v];
	int64_t w = 0;
	for (int64_t e = 0; e < s->nev; e++) {
		d[w] = pass[e];
		w += u ? u[e] : 1;
	}
	s->vhas[v] = kept_v != n_after;
	return 0;
}

/* The cutflow of the current sample at filter k (or, k == F, of regions). */
static void count_filter(struct eval_state *s, int k, int64_t kept, const uint8_t *pass)
{
	struct result *r = s->res;
	r->passed[k] += kept;
	if (!r->extended)
		return;
	size_t at = (size_t)s->sample * r->nfilters + (size_t)k;
	r->s_passed[at] += kept;
	if (s->p->weight)
		r->s_wpassed[at] += weight_sum(s, pass);
}

static void count_regions(struct eval_state *s)
{
	const struct eval_prog *p = s->p;
	struct result *r = s->res;
	for (int g = 0; g < p->nregions; g++) {
		const struct val *rv = eval_arg(s, p->regions[g]->expr);
		const uint8_t *m = with_region(s, s->has_mask ? s->mask : NULL, rv);
		if (!m)
			continue;
		int64_t n = 0;
		for (int64_t e = 0; e < s->nev; e++)
			n += m[e];
		size_t at = (size_t)s->sample * r->nregions + (size_t)g;
		r->s_region[at] += n;
		if (p->weight)
			r->s_wregion[at] += weight_sum(s, m);
	}
}

static int run_pass(struct eval_state *s, int64_t nevents, const struct rootio_column *const *cols,
		    const char **why)
{
	const struct eval_prog *p = s->p;
	int V = p->nvar - 1;
	s->nev = s->orig = nevents;
	s->gpu_epoch = 0; /* new values: the device's copies are stale */
	s->have_idx = false;
	s->why = "out of memory";
	s->first_entry = p->ninputs ? cols[0]->first : 0;
	for (int i = 0; i < p->nlists; i++)
		s->list_ready[i] = false;
	for (int i = 0; i < p->nnodes; i++)
		s->checked[i] = false;
	s->has_mask = false;
	for (int v = 1; v <= V; v++) {
		s->same[v] = true;
		s->vhas[v] = false;
	}
	struct result *res = s->res;
	int rc = 0, i = 0;
	for (int k = 0; k <= p->nfilters && !rc; k++) {
		for (; i < p->nnodes && p->phase[i] == k && !rc; i++) {
			const struct ql_node *n = p->nodes[i];
			int in = p->input_of[i];
			if (in < 0) {
				s->vals[i].f32 = NULL;
				s->vals[i].no_f64 = false;
			}
			rc = in >= 0 ? eval_load_column(s, n, &s->vals[i], cols[in])
				     : eval_node(s, n, &s->vals[i]);
		}
		if (!rc)
			rc = check_counters(s, k);
		if (!rc && k == 0 && res->extended) {
			res->s_events[s->sample] += nevents;
			if (p->weight)
				res->s_wevents[s->sample] += weight_sum(s, NULL);
		}
		for (int h = 0; h < p->nhists && !rc; h++)
			if (p->hists[h]->nfilters == k)
				rc = fill_hist(s, h);
		if (rc)
			break;
		if (k == p->nfilters) {
			if (res->extended)
				count_regions(s);
			break;
		}
		/* Filter k in every variation: count the nominal, then cut the
		 * batch down to the events some variation keeps. */
		size_t nb = (size_t)s->nev + 1;
		if (eval_reserve(&s->scratch[0], &s->scratch_cap[0], nb * (size_t)(V + 1)) ||
		    (V && eval_reserve((void **)&s->pass_u, &s->pass_u_cap, nb))) {
			rc = -ENOMEM;
			break;
		}
		uint8_t *pass = s->scratch[0];
		const struct ql_filter *f = p->filters[k];
		int64_t kept = pass_of(s, eval_arg(s, f->expr), s->has_mask ? s->mask : NULL, pass);
		count_filter(s, k, kept, pass);
		int64_t kept_u = kept;
		uint8_t *u = pass;
		if (V) {
			u = s->pass_u;
			memcpy(u, pass, (size_t)s->nev);
			for (int v = 1; v <= V; v++) {
				const struct ql_node *fe = f->vexpr[v - 1];
				if (s->same[v] && fe->id == f->expr->id)
					continue; /* still the nominal's events */
				uint8_t *pv = pass + (size_t)v * nb;
				pass_of(s, eval_arg(s, fe), events_of(s, v), pv);
				s->same[v] = false;
				for (int64_t e = 0; e < s->nev; e++)
					u[e] |= pv[e];
			}
			kept_u = 0;
			for (int64_t e = 0; e < s->nev; e++)
				kept_u += u[e];
		}
		bool cut = 2 * kept_u < s->nev;
		int64_t n_after = cut ? kept_u : s->nev;
		/* Every variation's own events, in the batch as it will be. */
		for (int v = 1; v <= V && !rc; v++)
			if (!s->same[v]) {
				const uint8_t *pv = pass + (size_t)v * nb;
				int64_t kv = 0;
				for (int64_t e = 0; e < s->nev; e++)
					kv += pv[e];
				rc = keep_mask(s, v, pv, cut ? u : NULL, kv, n_after);
			}
		if (rc)
			break;
		if (kept == s->nev && kept_u == s->nev)
			continue;
		/* Cutting the batch down pays when it drops many events; else the
		 * events that failed are only masked out of later fills. */
		if (cut) {
			/* The nominal's events among those kept. */
			if (kept != kept_u) {
				if (eval_reserve((void **)&s->mask, &s->mask_cap, nb)) {
					rc = -ENOMEM;
					break;
				}
				int64_t w = 0;
				for (int64_t e = 0; e < s->nev; e++) {
					s->mask[w] = pass[e];
					w += u[e];
				}
			}
			rc = compact(s, k, u, kept_u);
			s->has_mask = kept != kept_u;
		} else if (!eval_reserve((void **)&s->mask, &s->mask_cap, nb)) {
			memcpy(s->mask, pass, (size_t)s->nev);
			s->has_mask = kept != s->nev;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc) {
		if (why)
			*why = s->why;
		return rc;
	}
	res->events += nevents;
	return 0;
}

/* Entries [a, b) of column c as a column of their own: values and, for
 * lists, offsets rebased to 0 (into off, b - a + 1 entries). */
static struct rootio_column part_of(const struct rootio_column *c, int64_t a, int64_t b, int64_t *off)
{
	struct rootio_column p = *c;
	size_t size = rootio_type_size(c->type);
	size_t from, n;
	if (c->offsets) {
		for (int64_t j = a; j <= b; j++)
			off[j - a] = c->offsets[j] - c->offsets[a];
		from = (size_t)c->offsets[a];
		n = (size_t)(c->offsets[b] - c->offsets[a]);
		p.offsets = off;
	} else {
		size_t per = c->nentries ? c->nvalues / (size_t)c->nentries : 0;
		from = (size_t)a * per;
		n = (size_t)(b - a) * per;
	}
	p.first = c->first + a;
	p.nentries = b - a;
	p.nvalues = n;
	p.values = (char *)c->values + from * size;
	p.offsets_mem = NULL;
	p.cap_values = p.cap_offsets = 0;
	return p;
}

/* A program that makes combinations runs EVAL_COMB_EVENTS events at a time,
 * which bounds the memory its combinations take. */
int eval_run(struct eval_state *s, int64_t nevents, const struct rootio_column *const *cols,
	     const char **why)
{
	const struct eval_prog *p = s->p;
	if (!p->has_comb || nevents <= EVAL_COMB_EVENTS)
		return run_pass(s, nevents, cols, why);
	size_t ni = (size_t)p->ninputs;
	s->why = "out of memory";
	struct rootio_column *part = calloc(ni + 1, sizeof(*part));
	const struct rootio_column **pp = calloc(ni + 1, sizeof(*pp));
	int64_t *offs = calloc((ni + 1) * (EVAL_COMB_EVENTS + 1), sizeof(*offs));
	int rc = part && pp && offs ? 0 : -ENOMEM;
	for (size_t i = 0; i < ni && !rc; i++) {
		const struct rootio_column *c = cols[i];
		pp[i] = &part[i];
		/* The same checks the pass makes, before slicing by them. */
		if (c->nentries != nevents) {
			s->why = "a column holds a different number of entries than the batch";
			rc = -EINVAL;
		} else if (c->offsets ? (c->offsets[0] != 0 || (size_t)c->offsets[c->nentries] != c->nvalues)
				      : (size_t)c->nvalues % (size_t)c->nentries != 0) {
			s->why = "a column's values do not match its entries";
			rc = -EINVAL;
		}
	}
	for (int64_t a = 0; a < nevents && !rc; a += EVAL_COMB_EVENTS) {
		int64_t b = a + EVAL_COMB_EVENTS < nevents ? a + EVAL_COMB_EVENTS : nevents;
		for (size_t i = 0; i < ni; i++)
			part[i] = part_of(cols[i], a, b, offs + i * (EVAL_COMB_EVENTS + 1));
		rc = run_pass(s, b - a, pp, why);
	}
	if (rc && why)
		*why = s->why;
	free(part);
	free(pp);
	free(offs);
	return rc;
}

void eval_set_source(struct eval_state *s, int sample, uint64_t fingerprint)
{
	s->sample = sample >= 0 && (!s->res->extended || (size_t)sample < s->res->nsamples) ? sample : 0;
	s->seed = fingerprint;
}

void eval_add_sumw(struct eval_state *s, double w)
{
	if (s->res->extended)
		s->res->sumw[s->sample] += w;
}

int eval_state_take(struct eval_state *s, struct result **out)
{
	struct result *fresh = NULL;
	int rc = result_new_like(s->res, &fresh);
	if (rc)
		return rc;
	*out = s->res;
	s->res = fresh;
	return 0;
}

int eval_state_split(struct eval_state *s, struct eval_state **out)
{
	struct eval_state *n;
	int rc = eval_state_new(s->p, &n);
	if (rc)
		return rc;
	struct result *r = n->res;
	n->res = s->res;
	s->res = r;
	n->sample = s->sample;
	n->seed = s->seed;
	*out = n;
	return 0;
}

int eval_state_merge(struct eval_state *dst, const struct eval_state *src)
{
	return src->p == dst->p ? result_merge(dst->res, src->res) : -EINVAL;
}

const struct result *eval_state_result(const struct eval_state *s)
{
	return s->res;
}

size_t eval_nhists(const struct eval_state *s)
{
	return (size_t)s->p->nhists;
}

struct hist *eval_hist(const struct eval_state *s, size_t i)
{
	return i < (size_t)s->p->nhists ? s->res->hists[i] : NULL;
}

size_t eval_nfilters(const struct eval_state *s)
{
	return (size_t)s->p->nfilters;
}

int64_t eval_events(const struct eval_state *s)
{
	return s->res->events;
}

int64_t eval_passed(const struct eval_state *s, size_t i)
{
	return i < (size_t)s->p->nfilters ? s->res->passed[i] : 0;
}
