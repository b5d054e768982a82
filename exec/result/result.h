/* result.h — a job's result: its histograms and its cutflow (events seen,
 * events passing each filter), shaped by the query's statements; and the
 * one codec that turns a result into bytes and back.  The store keeps
 * these bytes, the mount renders them, and the worker protocol carries
 * them: every decoder of a partial result is this one.
 *
 * The bytes (version 3, little-endian):
 *   u32 magic "ANRS", u16 version, u16 flags (0), u64 total length,
 *   u64 XXH64 of every byte after this field,
 *   u32 filters, u32 histograms, u64 events,
 *   u64 shape: the histograms' hist_shape_id()s folded by XXH64, so that
 *       bytes of another binning with as many cells are refused,
 *   u64 passed per filter, then each histogram's contents (hist_save()).
 * An analysis (samples, a weight, regions or variations) writes version 4:
 * the same, then the analysis block: u32 samples, u32 regions, and per
 * sample u64 events, f64 sum of the event weight, f64 generator weights
 * (sumw=auto), per filter u64 passed then f64 their weight, per region u64
 * passing then f64 their weight.  Its histograms are cells: per hist
 * statement, sample x region (of a regions= axis) x variation (hr).
 * Older bytes are still read: version 2 (the same without the shape) and
 * version 1 (anafs 0.1: u64 "EVS1", u64 filters, u64 histograms, u64
 * events, the passed counts and the contents; no length or checksum).
 *
 * Thread safety: none; a result belongs to one thread at a time, and a
 * result no one changes may be read from several. */
#ifndef ANAFS_RESULT_H
#define ANAFS_RESULT_H

#include "hist.h"
#include "ql.h"

#include <stddef.h>
#include <stdint.h>

#define RESULT_VERSION 3
#define RESULT_VERSION_ANALYSIS 4 /* version 3, then the analysis block */

/* A sample of an analysis, as the result needs it to be written. */
struct result_sample {
	char *name;
	bool is_data;
	double xsec_lumi;     /* simulation scaled by xsec * lumi / sumw: that product; 0: not scaled */
	double sumw_given;    /* sumw=NUMBER; 0: summed while running (sumw=auto) */
};

/* Where the cells of a hist statement are: n = ns * nr * nv histograms
 * from hists[first], sample outermost, then region, then variation. */
struct result_hrange {
	size_t first;
	int ns, nr, nv;
	int *regions;         /* the regions of its regions= axis, in order; NULL: no such axis */
};

/* A plot statement: histograms (by result_hist_name() index) in one frame. */
struct result_plot {
	char *name, *title;   /* title NULL: none */
	size_t hists[QL_MAX_PLOT_HISTS];
	int n;
	struct hist_plot o;   /* label and lumi owned */
};

struct result {
	struct hist **hists;  /* in query order; several per statement in an analysis (hr) */
	size_t nhists;
	char **filters;       /* filter names, in order */
	int64_t *passed;      /* events passing each filter (and every one before it) */
	size_t nfilters;
	int64_t events;       /* events seen */
	/* An analysis (samples, an event weight, regions or variations):
	 * written as version 4.  Per sample s (nsamples of them, 1 when the
	 * query names none): events seen and passing each filter (s_passed[s
	 * * nfilters + f]), the same as sums of the event weight, events
	 * passing every filter and each region (s_region[s * nregions + r]),
	 * and the generator weights summed for sumw=auto. */
	bool extended;
	size_t nsamples, nregions, nvaries;
	struct result_sample *samples;
	char **regions, **varies; /* names; varies[0] is "nominal" */
	bool has_weight;      /* the query has an event weight: the sums mean something */
	int64_t *s_events, *s_passed, *s_region;
	double *s_wevents, *s_wpassed, *s_wregion, *sumw;
	struct result_hrange *hr; /* per hist statement */
	size_t nhstmts;
	struct result_plot *plots; /* the query's plot statements */
	size_t nplots;
};

/* An empty histogram as statement h of q defines it (new: hist_free()),
 * NULL when its binning is refused or on ENOMEM. */
struct hist *result_hist_new(const struct ql_query *q, const struct ql_hist *h);

/* hist.json of r: histograms of an analysis as one UHI histogram each
 * with sample, region and variation axes, simulation scaled by xsec *
 * lumi / sumw.  *out is new (free()).  0, -ENOMEM, or -EINVAL. */
/* What hist.json multiplies sample s's histograms by: xsec * lumi / sumw
 * for scaled simulation (0 while no generator weight is summed, or when
 * the quotient is not finite), else 1. */
double result_sample_scale(const struct result *r, size_t s);
int result_json(const struct result *r, const char *version, char **out, size_t *len);
/* The histograms as hist.json names them: one per hist statement. */
size_t result_nnamed(const struct result *r);
const char *result_hist_name(const struct result *r, size_t i);
/* The histogram a plot of statement i shows (new: hist_free()): the sum
 * over samples, scaled, of the nominal, in the first region; NULL on
 * ENOMEM. */
struct hist *result_plot_hist(const struct result *r, size_t i);
/* hist/NAME.svg of statement i (new: free()).  With samples of data and
 * simulation: the simulation stacked by sample (scaled), data (all data
 * samples summed) as points, a ratio panel, and with variations the band
 * of their envelope (plot.h plot_svg_set()); always in the first region
 * of a regions= axis, which the plot names.  Else plot_svg() of
 * result_plot_hist().  0, -ENOENT (no statement i) or -ENOMEM. */
int result_plot_svg(const struct result *r, size_t i, char **out, size_t *len);
/* hist/NAME.svg of plot statement j: its histograms (each as
 * result_plot_hist() gives it) as lines in one frame, with the plot's
 * title and options.  0, -ENOENT or -ENOMEM. */
int result_overlay_svg(const struct result *r, size_t j, char **out, size_t *len);
/* r->plots from q's plot statements (result_new() calls it), or a copy of
 * src's (result_new_like()); 0 or -ENOMEM.  And their release. */
int result_plots_of(struct result *r, const struct ql_query *q);
int result_plots_copy(struct result *r, const struct result *src);
void result_plots_free(struct result *r);

/* An empty result shaped by parsed query q (checked or not: parsing alone
 * gives the histograms' definitions and the filters' names).  *out is new:
 * result_free().  -EINVAL when a histogram's binning is refused. */
int result_new(const struct ql_query *q, struct result **out);
/* An empty result with r's shape. */
int result_new_like(const struct result *r, struct result **out);
void result_free(struct result *r);

/* Add src into dst (same shape).  Counts merge exactly; sums of weights
 * depend on the order of merging, so merge partial results in task order.
 * Returns 0; -EINVAL when the shapes differ (histogram or filter counts,
 * a histogram's binning or weighting), -EOVERFLOW when a count would pass
 * INT64_MAX: then dst is unchanged. */
int result_merge(struct result *dst, const struct result *src);

/* The bytes one copy of q's result takes in memory (histogram cells; the
 * rest is small), computed from the statements without allocating. */
uint64_t result_query_bytes(const struct ql_query *q);

/* r as bytes: *out is new (free()).  0 or -ENOMEM. */
int result_encode(const struct result *r, void **out, size_t *len);

/* Replace r's contents with saved bytes of the same shape.  The bytes are
 * untrusted: length, checksum, shape and counts are checked before use and
 * r is unchanged on failure (ANA_ECORRUPT, or -ENOMEM). */
int result_decode(struct result *r, const void *data, size_t len);

/* A saved result read back: query text parsed, bytes decoded (NULL/0 for
 * an empty result).  *out is new: result_free().  -EINVAL when the query
 * does not parse, ANA_ECORRUPT when the bytes do not fit it. */
int result_load(const char *query, size_t qlen, const void *data, size_t len,
		struct result **out);

/* The cutflow as text (`anafs run --cutflow`, jobs/N/cutflow): a header,
 * the events seen, then a line per filter.  New (free()), NULL on ENOMEM. */
char *result_cutflow(const struct result *r);

/* jobs/N/summary: hist_summary() of the histograms as hist.json names
 * them, each the histogram its plot shows (result_plot_hist(): with
 * samples, the simulation summed and scaled, or the data when there is no
 * simulation; the nominal, the first region).  New (free()), NULL on
 * ENOMEM. */
char *result_summary(const struct result *r);

#endif
