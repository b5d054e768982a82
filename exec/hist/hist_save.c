/* hist_save.c — a histogram's contents as bytes, checked when loaded, and
 * the shape id that says which binning they belong to (see hist.h).
 *
 * Bytes: magic << 32 | storage, ncells, skipped, entries, then one array
 * of ncells 64-bit words per field of the storage: counts (int); sums of
 * weights and of squares (weighted); counts, means, sums of squared
 * deltas (mean); sums of weights and of squares, means, sums of weighted
 * squared deltas (weighted mean).  Storage 0 and 1 are the int and
 * weighted bytes of earlier versions, word for word. */
#include "hist_int.h"
#include "le.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SAVE_MAGIC 0x31545348u /* "HST1" */

/* ---- shape id ---- */

/* One step of a 64-bit hash (splitmix64's finalizer over h ^ v): enough
 * to tell binnings apart, which nobody chooses in order to collide. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t mix_double(uint64_t h, double v)
{
	uint64_t bits;
	v = v == 0 ? 0 : v; /* -0 and 0 are one edge, as same_axis() has it */
	memcpy(&bits, &v, 8);
	return mix(h, bits);
}

/* A string as its length and its bytes, 8 at a time, so that "a", "b" and
 * "ab" all differ. */
static uint64_t mix_str(uint64_t h, const char *s)
{
	size_t n = strlen(s);
	h = mix(h, n);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = 0;
		memcpy(&v, s + i, n - i < 8 ? n - i : 8);
		h = mix(h, v);
	}
	return h;
}

/* What earlier versions mixed comes first, unchanged, so that results
 * saved by them keep their ids; profiles and category axes add bits that
 * were 0 there, and their categories. */
uint64_t hist_shape_id(const struct hist *h)
{
	uint64_t id = mix(0x414e4153ull, (uint64_t)h->ndim << 1 | h->weighted | (uint64_t)h->profile << 8);
	for (int d = 0; d < h->ndim; d++) {
		const struct hist_axis *a = &h->ax[d];
		bool cat = a->kind == HIST_AXIS_CAT_INT || a->kind == HIST_AXIS_CAT_STR;
		uint64_t word = (uint64_t)a->nbins << 1 | (a->edges != NULL);
		if (cat)
			word |= (uint64_t)a->kind << 40 | (uint64_t)a->flow << 44;
		id = mix(id, word);
		if (a->edges) {
			for (int i = 0; i <= a->nbins; i++)
				id = mix_double(id, a->edges[i]);
		} else if (a->kind == HIST_AXIS_CAT_INT) {
			for (int i = 0; i < a->nbins; i++)
				id = mix(id, (uint64_t)a->cat_int[i]);
		} else if (a->kind == HIST_AXIS_CAT_STR) {
			for (int i = 0; i < a->nbins; i++)
				id = mix_str(id, a->cat_str[i]);
		} else {
			id = mix_double(mix_double(id, a->lo), a->hi);
		}
	}
	return id;
}

/* ---- bytes ---- */

/* The storage's arrays in the order of the bytes; counts are int64_t,
 * the rest double, both 8 bytes. */
static int fields(const struct hist *h, void *f[4])
{
	switch (h->storage) {
	case HIST_ST_INT:
		f[0] = h->cnt;
		return 1;
	case HIST_ST_WEIGHTED:
		f[0] = h->sw, f[1] = h->sw2;
		return 2;
	case HIST_ST_MEAN:
		f[0] = h->cnt, f[1] = h->mean, f[2] = h->m2;
		return 3;
	default:
		f[0] = h->sw, f[1] = h->sw2, f[2] = h->mean, f[3] = h->m2;
		return 4;
	}
}

size_t hist_save_size(const struct hist *h)
{
	void *f[4];
	return 8 * 4 + h->ncells * 8 * (size_t)fields(h, f);
}

void hist_save(const struct hist *h, unsigned char *out)
{
	void *f[4];
	int nf = fields(h, f);
	le_put64(out, (uint64_t)SAVE_MAGIC << 32 | (uint64_t)h->storage);
	le_put64(out + 8, h->ncells);
	le_put64(out + 16, h->skipped);
	le_put64(out + 24, h->entries);
	unsigned char *p = out + 32;
	for (int k = 0; k < nf; k++) {
		for (size_t i = 0; i < h->ncells; i++, p += 8) {
			uint64_t v;
			memcpy(&v, (unsigned char *)f[k] + i * 8, 8);
			le_put64(p, v);
		}
	}
}

/* Whether cell i holds what fills, merges and scaling can make: counts
 * not negative, no NaN, sums of squares not negative (false for NaN); a
 * mean cell with no sample holds no mean, one with one sample no spread;
 * a weighted mean with no weight no mean nor spread (wmean_add()). */
static bool cell_ok(const struct hist *h, size_t i)
{
	switch (h->storage) {
	case HIST_ST_INT:
		return h->cnt[i] >= 0;
	case HIST_ST_WEIGHTED:
		return !isnan(h->sw[i]) && h->sw2[i] >= 0;
	case HIST_ST_MEAN:
		return h->cnt[i] >= 0 && !isnan(h->mean[i]) && h->m2[i] >= 0 &&
		       (h->cnt[i] > 0 || h->mean[i] == 0) && (h->cnt[i] > 1 || h->m2[i] == 0);
	default:
		/* With negative weights the sum of weighted squared deltas may
		 * be negative; NaN it never is. */
		return !isnan(h->sw[i]) && h->sw2[i] >= 0 && !isnan(h->mean[i]) && !isnan(h->m2[i]) &&
		       (h->sw[i] != 0 || (h->mean[i] == 0 && h->m2[i] == 0));
	}
}

/* What a histogram's fills imply of its counters: every fill that is not
 * skipped adds one to entries and one to a cell's count, so counts sum to
 * entries exactly (modulo 2^64, as both wrap alike); a weighted cell that
 * holds anything had at least one fill. */
static bool entries_ok(const struct hist *h)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < h->ncells; i++)
		sum += h->cnt ? (uint64_t)h->cnt[i] : (h->sw[i] != 0 || h->sw2[i] != 0);
	return h->cnt ? sum == h->entries : sum <= h->entries;
}

long hist_load(struct hist *h, const unsigned char *in, size_t len)
{
	void *f[4];
	int nf = fields(h, f);
	size_t need = hist_save_size(h);
	if (len < need || le_get64(in) != ((uint64_t)SAVE_MAGIC << 32 | (uint64_t)h->storage) ||
	    le_get64(in + 8) != h->ncells)
		return -EINVAL;
	h->skipped = le_get64(in + 16);
	h->entries = le_get64(in + 24);
	const unsigned char *p = in + 32;
	for (int k = 0; k < nf; k++) {
		for (size_t i = 0; i < h->ncells; i++, p += 8) {
			uint64_t v = le_get64(p);
			memcpy((unsigned char *)f[k] + i * 8, &v, 8);
		}
	}
	bool ok = true;
	for (size_t i = 0; i < h->ncells; i++)
		ok &= cell_ok(h, i);
	return ok && entries_ok(h) ? (long)need : -EINVAL;
}
