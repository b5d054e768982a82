/* result_codec.c — a result as bytes and back (the layout is in result.h).
 *
 * Decoding trusts nothing: the length is checked against the header before
 * anything is read, the checksum before any count is used, the counts
 * against the shape the query gives, and each histogram's cells by
 * hist_load().  A decode that fails leaves the result as it was. */
#include "result.h"

#include "ana_err.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAGIC2 0x53524e41u        /* "ANRS" */
#define MAGIC1 0x31535645u        /* "EVS1", version 1: a u64 */
#define HEAD2 40                  /* bytes before the passed counts */
#define SUM_FROM 24               /* the checksum covers [SUM_FROM, len) */

int result_encode(const struct result *r, void **out, size_t *len)
{
	size_t n = HEAD2 + 8 * r->nfilters;
	for (size_t h = 0; h < r->nhists; h++)
		n += hist_save_size(r->hists[h]);
	unsigned char *b = malloc(n);
	if (!b)
		return -ENOMEM;
	le_put32(b, MAGIC2);
	b[4] = RESULT_VERSION & 0xff;
	b[5] = RESULT_VERSION >> 8;
	b[6] = b[7] = 0;
	le_put64(b + 8, n);
	le_put32(b + 24, (uint32_t)r->nfilters);
	le_put32(b + 28, (uint32_t)r->nhists);
	le_put64(b + 32, (uint64_t)r->events);
	unsigned char *q = b + HEAD2;
	for (size_t f = 0; f < r->nfilters; f++, q += 8)
		le_put64(q, (uint64_t)r->passed[f]);
	for (size_t h = 0; h < r->nhists; h++) {
		hist_save(r->hists[h], q);
		q += hist_save_size(r->hists[h]);
	}
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

/* Where the counts and the histograms start in data, by version; or 0. */
static size_t parse_head(const unsigned char *b, size_t len, const struct result *r,
			 size_t *passed_at)
{
	if (len >= 8 && le_get64(b) == MAGIC1) { /* version 1 */
		size_t head = 32 + 8 * r->nfilters;
		if (len < head || le_get64(b + 8) != r->nfilters || le_get64(b + 16) != r->nhists)
			return 0;
		*passed_at = 32;
		return head;
	}
	if (len < HEAD2 || le_get32(b) != MAGIC2 || (b[4] | b[5] << 8) != RESULT_VERSION ||
	    b[6] || b[7] || le_get64(b + 8) != len ||
	    le_get64(b + 16) != XXH64(b + SUM_FROM, len - SUM_FROM, 0))
		return 0;
	if (le_get32(b + 24) != r->nfilters || le_get32(b + 28) != r->nhists ||
	    (len - HEAD2) / 8 < r->nfilters)
		return 0;
	*passed_at = HEAD2;
	return HEAD2 + 8 * r->nfilters;
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
	size_t passed_at = 0;
	size_t at = b ? parse_head(b, len, r, &passed_at) : 0;
	if (!at)
		return ANA_ECORRUPT;
	struct result *n = NULL;
	int rc = result_new_like(r, &n);
	if (rc)
		return rc;
	n->events = (int64_t)le_get64(b + (passed_at == 32 ? 24 : 32));
	for (size_t f = 0; f < n->nfilters; f++)
		n->passed[f] = (int64_t)le_get64(b + passed_at + 8 * f);
	rc = counts_ok(n->events, n->passed, n->nfilters) ? 0 : ANA_ECORRUPT;
	for (size_t h = 0; !rc && h < n->nhists; h++) {
		long used = hist_load(n->hists[h], b + at, len - at);
		if (used < 0)
			rc = ANA_ECORRUPT;
		else
			at += (size_t)used;
	}
	if (!rc && at != len)
		rc = ANA_ECORRUPT;
	if (!rc)
		swap_contents(r, n);
	result_free(n);
	return rc;
}
