/* result_codec.c — a result as bytes and back (the layout is in result.h).
 *
 * Decoding trusts nothing: the length is checked against the header before
 * anything is read, the checksum before any count is used, the counts and
 * the histograms' shape against the shape the query gives, and each
 * histogram's cells by hist_load().  A decode that fails leaves the result
 * as it was. */
#include "result.h"

#include "ana_err.h"
#include "le.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAGIC 0x53524e41u         /* "ANRS", versions 2, 3 and 4 */
#define MAGIC1 0x31535645u        /* "EVS1", version 1: a u64 */
#define HEAD1 32                  /* version 1: bytes before the passed counts */
#define HEAD2 40                  /* version 2 */
#define HEAD3 48                  /* version 3: version 2 and the shape */
#define SUM_FROM 24               /* the checksum covers [SUM_FROM, len) */

/* The histograms' shape id: a mismatch that keeps the number of cells
 * (bins=4,3 read as bins=3,4, another range) passes hist_load(). */
static uint64_t shape_of(const struct result *r)
{
	uint64_t id = r->nhists;
	for (size_t h = 0; h < r->nhists; h++) {
		unsigned char b[16];
		le_put64(b, id);
		le_put64(b + 8, hist_shape_id(r->hists[h]));
		id = XXH64(b, sizeof(b), 0);
	}
	return id;
}

/* The analysis block (version 4), after the histograms: u32 samples, u32
 * regions, then per sample its events (u64), the sum of the event weight
 * over them and its generator weights (f64), per filter the events
 * passing (u64) and their weight (f64), the same per region. */
static size_t analysis_size(const struct result *r)
{
	if (!r->extended)
		return 0;
	return 8 + r->nsamples * (24 + 16 * (r->nfilters + r->nregions));
}

static unsigned char *put_f64(unsigned char *q, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	le_put64(q, u);
	return q + 8;
}

static double get_f64(const unsigned char *q)
{
	uint64_t u = le_get64(q);
	double v;
	memcpy(&v, &u, 8);
	return v;
}

static void put_analysis(const struct result *r, unsigned char *q)
{
	le_put32(q, (uint32_t)r->nsamples);
	le_put32(q + 4, (uint32_t)r->nregions);
	q += 8;
	for (size_t s = 0; s < r->nsamples; s++) {
		le_put64(q, (uint64_t)r->s_events[s]);
		q = put_f64(q + 8, r->s_wevents[s]);
		q = put_f64(q, r->sumw[s]);
		for (size_t f = 0; f < r->nfilters; f++, q += 8)
			le_put64(q, (uint64_t)r->s_passed[s * r->nfilters + f]);
		for (size_t f = 0; f < r->nfilters; f++)
			q = put_f64(q, r->s_wpassed[s * r->nfilters + f]);
		for (size_t g = 0; g < r->nregions; g++, q += 8)
			le_put64(q, (uint64_t)r->s_region[s * r->nregions + g]);
		for (size_t g = 0; g < r->nregions; g++)
			q = put_f64(q, r->s_wregion[s * r->nregions + g]);
	}
}

/* Read the analysis block at q (size checked by the caller) into n: the
 * counts must make sense and the sums be finite. */
static bool get_analysis(struct result *n, const unsigned char *q);

int result_encode(const struct result *r, void **out, size_t *len)
{
	size_t n = HEAD3 + 8 * r->nfilters + analysis_size(r);
	for (size_t h = 0; h < r->nhists; h++)
		n += hist_save_size(r->hists[h]);
	unsigned char *b = malloc(n);
	if (!b)
		return -ENOMEM;
	le_put32(b, MAGIC);
	int version = r->extended ? RESULT_VERSION_ANALYSIS : RESULT_VERSION;
	b[4] = version & 0xff;
	b[5] = version >> 8;
	b[6] = b[7] = 0;
	le_put64(b + 8, n);
	le_put32(b + 24, (uint32_t)r->nfilters);
	le_put32(b + 28, (uint32_t)r->nhists);
	le_put64(b + 32, (uint64_t)r->events);
	le_put64(b + 40, shape_of(r));
	unsigned char *q = b + HEAD3;
	for (size_t f = 0; f < r->nfilters; f++, q += 8)
		le_put64(q, (uint64_t)r->passed[f]);
	for (size_t h = 0; h < r->nhists; h++) {
		hist_save(r->hists[h], q);
		q += hist_save_size(r->hists[h]);
	}
	if (r->extended)
		put_analysis(r, q);
	le_put64(b + 16, XXH64(b + SUM_FROM, n - SUM_FROM, 0));
	*out = b;
	*len = n;
	return 0;
}

/* The cutflow must make sense: no count below zero, none above the one
 * before it (each filter sees only the events the earlier ones passed). */
static bool counts_ok(int64_t events, const int64_t *passed, size_t n)
{
	int64_t prev = events;
	if (events < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (passed[i] < 0 || passed[i] > prev)
			return false;
		prev = passed[i];
	}
	return true;
}

/* Where a decode reads: the events count, the passed counts, the cells. */
struct layout {
	size_t events_at, passed_at, hists_at;
	bool analysis;        /* version 4: the analysis block ends the bytes */
};

static bool get_analysis(struct result *n, const unsigned char *q)
{
	if (le_get32(q) != n->nsamples || le_get32(q + 4) != n->nregions)
		return false;
	q += 8;
	size_t nf = n->nfilters, nr = n->nregions;
	for (size_t s = 0; s < n->nsamples; s++) {
		n->s_events[s] = (int64_t)le_get64(q);
		n->s_wevents[s] = get_f64(q + 8);
		n->sumw[s] = get_f64(q + 16);
		q += 24;
		bool ok = isfinite(n->s_wevents[s]) && isfinite(n->sumw[s]);
		for (size_t f = 0; f < nf; f++, q += 8)
			n->s_passed[s * nf + f] = (int64_t)le_get64(q);
		for (size_t f = 0; f < nf; f++, q += 8)
			ok &= isfinite(n->s_wpassed[s * nf + f] = get_f64(q));
		int64_t last = nf ? n->s_passed[s * nf + nf - 1] : n->s_events[s];
		for (size_t g = 0; g < nr; g++, q += 8) {
			int64_t k = n->s_region[s * nr + g] = (int64_t)le_get64(q);
			ok &= k >= 0 && k <= last;
		}
		for (size_t g = 0; g < nr; g++, q += 8)
			ok &= isfinite(n->s_wregion[s * nr + g] = get_f64(q));
		if (!ok || !counts_ok(n->s_events[s], n->s_passed + s * nf, nf))
			return false;
	}
	return true;
}

/* Version 1: u64 magic, filters, histograms, events; no length, no sum. */
static bool parse_v1(const unsigned char *b, size_t len, const struct result *r,
		     struct layout *l)
{
	if (len < HEAD1 || (len - HEAD1) / 8 < r->nfilters || le_get64(b + 8) != r->nfilters ||
	    le_get64(b + 16) != r->nhists)
		return false;
	*l = (struct layout){.events_at = 24, .passed_at = HEAD1, .hists_at = HEAD1 + 8 * r->nfilters};
	return true;
}

/* Versions 2 and 3, whose fields up to the events count agree. */
static bool parse_v23(const unsigned char *b, size_t len, const struct result *r,
		      struct layout *l)
{
	int version = b[4] | b[5] << 8;
	size_t head = version == 2 ? HEAD2 : HEAD3;
	/* An analysis's result is version 4, any other's 3 (or older). */
	if (version != (r->extended ? 4 : version == 2 ? 2 : 3) || b[6] || b[7] || len < head ||
	    le_get64(b + 8) != len || le_get64(b + 16) != XXH64(b + SUM_FROM, len - SUM_FROM, 0))
		return false;
	if (le_get32(b + 24) != r->nfilters || le_get32(b + 28) != r->nhists ||
	    (len - head) / 8 < r->nfilters)
		return false;
	/* Version 2 carries no shape: its bytes fit any query with as many
	 * cells, and are taken on trust there as they always were. */
	if (version >= 3 && le_get64(b + 40) != shape_of(r))
		return false;
	if (version == 4 && (len - head) / 8 - r->nfilters < analysis_size(r) / 8)
		return false;
	*l = (struct layout){.events_at = 32, .passed_at = head, .hists_at = head + 8 * r->nfilters,
			     .analysis = version == 4};
	return true;
}

static bool parse_head(const unsigned char *b, size_t len, const struct result *r,
		       struct layout *l)
{
	if (len >= 8 && le_get64(b) == MAGIC1)
		return !r->extended && parse_v1(b, len, r, l);
	return len >= 8 && le_get32(b) == MAGIC && parse_v23(b, len, r, l);
}

static void swap_contents(struct result *a, struct result *b)
{
	struct result t = *a;
	*a = *b;
	*b = t;
}

int result_decode(struct result *r, const void *data, size_t len)
{
	const unsigned char *b = data;
	struct layout l;
	if (!b || !parse_head(b, len, r, &l))
		return ANA_ECORRUPT;
	struct result *n = NULL;
	int rc = result_new_like(r, &n);
	if (rc)
		return rc;
	n->events = (int64_t)le_get64(b + l.events_at);
	for (size_t f = 0; f < n->nfilters; f++)
		n->passed[f] = (int64_t)le_get64(b + l.passed_at + 8 * f);
	rc = counts_ok(n->events, n->passed, n->nfilters) ? 0 : ANA_ECORRUPT;
	size_t at = l.hists_at, tail = analysis_size(n);
	for (size_t h = 0; !rc && h < n->nhists; h++) {
		long used = hist_load(n->hists[h], b + at, len - tail - at);
		if (used < 0)
			rc = ANA_ECORRUPT;
		else
			at += (size_t)used;
	}
	if (!rc && at + tail != len)
		rc = ANA_ECORRUPT;
	if (!rc && l.analysis && !get_analysis(n, b + at))
		rc = ANA_ECORRUPT;
	if (!rc)
		swap_contents(r, n);
	result_free(n);
	return rc;
}
