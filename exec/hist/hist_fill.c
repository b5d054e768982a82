/* hist_fill.c — histograms: the bin of a point and the fills (see
 * hist.h).  The fast fills of 1-D and 2-D histograms compute the bins of
 * a chunk of points first, in a loop without branches, then the counts. */
#include "hist_int.h"
#include "gpu_kern.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && !defined(ANAFS_NO_SIMD)
#define HIST_AVX2 1
#include <immintrin.h>
#endif

/* The bin loops compiled twice, for AVX2 and for any x86-64, chosen when
 * the program loads.  ThreadSanitizer cannot run the chooser, so its build
 * (ANAFS_NO_CLONES) has one version. */
#ifdef ANAFS_NO_CLONES
#define HIST_CLONES
#else
#define HIST_CLONES __attribute__((target_clones("avx2", "default")))
#endif

/* ---- binning ---- */

/* The bin of x (not NaN) with flow on a regular or variable axis is
 * gpu_kern.h's gpu_k_bin(), the one copy of the rule that the device's
 * kernels run too: on a regular axis the reference's expression, in the
 * same order, so that every point lands where ROOT and reference.json put
 * it; rounding can only carry a point just below hi to nbins, never past
 * it, and the clamp keeps it in the last bin.  The fill loops pass a
 * local copy of the axis: with -fno-strict-aliasing a pointer into the
 * histogram would make the compiler reload lo, hi and nbins after every
 * store to a bin. */
static inline int axis_bin(const struct hist_axis *a, double x)
{
	const struct gpu_k_axis k = {a->nbins, a->lo, a->hi, a->edges};
	return gpu_k_bin(&k, x);
}

/* Bin of x on a category axis: its category, else "other" or -1.  A
 * coordinate that is not an integer in range is no category; the range
 * test comes first so that the conversion is defined. */
static int cat_bin(const struct hist_axis *a, double x)
{
	int miss = a->flow ? a->nbins : -1;
	if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || x != floor(x))
		return miss;
	int64_t v = (int64_t)x;
	if (a->kind == HIST_AXIS_CAT_STR)
		return v < a->nbins ? (v >= 0 ? (int)v : miss) : miss;
	int lo = 0, hi = a->nbins;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (a->sorted[mid].v < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->nbins && a->sorted[lo].v == v ? a->sorted[lo].idx : miss;
}

/* Bin of x on any axis, or -1: the fill goes into no bin. */
static int any_bin(const struct hist_axis *a, double x)
{
	if (isnan(x))
		return -1;
	if (a->kind == HIST_AXIS_CAT_INT || a->kind == HIST_AXIS_CAT_STR)
		return cat_bin(a, x);
	return axis_bin(a, x);
}

int hist_find_bin(const struct hist *h, int axis, double x)
{
	if (axis < 0 || axis >= h->ndim)
		return -1;
	return any_bin(&h->ax[axis], x);
}

/* ---- filling ---- */

/* A weight that can go into a sum; NaN and infinities are skipped. */
static inline bool good_weight(double w)
{
	return isfinite(w);
}


/* The fast fills run in chunks: the bins of a chunk's points first (a loop
 * without a branch or a call, vectorized), then the counts. */
#define FILL_CHUNK 1024
/* Unweighted counts go round HIST_SUBS copies of the bins, so that a run
 * of points in one bin does not wait on its own last store; integer sums
 * do not depend on the order, and the copies are added up at the end. */
#define HIST_SUBS 4
#define HIST_SUB_MAX 256 /* bins (flow included) up to which copies pay */

/* bins[i]: the bin of x[i] on regular or variable axis a, or nan_bin for
 * NaN.  The same expression as axis_bin(), in the same order, so that
 * every point gets the same bin: each lane computes t only from a value in
 * range (else from lo), so that no conversion overflows. */
static void regular_bins_c(const struct hist_axis *ap, const double *restrict x, size_t n,
			   int *restrict bins, int nan_bin)
{
	const struct hist_axis a = *ap;
	const double lo = a.lo, hi = a.hi, width = a.hi - a.lo, nb = a.nbins;
	const int last = a.nbins, over = a.nbins + 1;
	for (size_t i = 0; i < n; i++) {
		double v = x[i];
		double in = v >= lo ? v : lo; /* lo for NaN too */
		in = in < hi ? in : lo;
		int k = (int)(nb * (in - lo) / width);
		k = k < last ? k + 1 : last;
		k = v < lo ? 0 : k;
		k = v >= hi ? over : k;
		bins[i] = v != v ? nan_bin : k;
	}
}

#ifdef HIST_AVX2
/* regular_bins_c() four points a step, every choice made on doubles and
 * the bin converted to an int once at the end (compilers repack the
 * compare masks between doubles and ints at every step of the C loop).
 * t is clamped to [0, nbins] before its conversion, which changes nothing
 * in range (0 <= t <= nbins there: hist.c's check_axis()) and keeps every
 * other lane's conversion defined; those lanes take 0, nbins + 1 or
 * nan_bin.  The same bins to the point: test_hist checks. */
__attribute__((target("avx2"))) static size_t regular_bins_avx2(const struct hist_axis *ap,
								const double *restrict x, size_t n,
								int *restrict bins, int nan_bin)
{
	const __m256d lo = _mm256_set1_pd(ap->lo), hi = _mm256_set1_pd(ap->hi);
	const __m256d width = _mm256_set1_pd(ap->hi - ap->lo), nb = _mm256_set1_pd(ap->nbins);
	const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
	const __m256d over = _mm256_set1_pd(ap->nbins + 1.0), nanb = _mm256_set1_pd(nan_bin);
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256d v = _mm256_loadu_pd(x + i);
		__m256d t = _mm256_div_pd(_mm256_mul_pd(nb, _mm256_sub_pd(v, lo)), width);
		t = _mm256_min_pd(_mm256_max_pd(t, zero), nb); /* max gives 0 for NaN */
		__m256d k = _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_cvttpd_epi32(t)), one);
		k = _mm256_min_pd(k, nb);
		k = _mm256_blendv_pd(k, zero, _mm256_cmp_pd(v, lo, _CMP_LT_OQ));
		k = _mm256_blendv_pd(k, over, _mm256_cmp_pd(v, hi, _CMP_GE_OQ));
		k = _mm256_blendv_pd(k, nanb, _mm256_cmp_pd(v, v, _CMP_UNORD_Q));
		_mm_storeu_si128((__m128i *)(bins + i), _mm256_cvttpd_epi32(k));
	}
	return i;
}

/* Whether the CPU has AVX2 (libgcc's constructor has filled in what
 * __builtin_cpu_supports reads). */
static bool have_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#endif

static void regular_bins(const struct hist_axis *ap, const double *restrict x, size_t n,
			 int *restrict bins, int nan_bin)
{
	if (ap->edges) {
		for (size_t i = 0; i < n; i++)
			bins[i] = isnan(x[i]) ? nan_bin : gpu_k_var_bin(ap->edges, ap->nbins, x[i]);
		return;
	}
	size_t i = 0;
#ifdef HIST_AVX2
	if (have_avx2())
		i = regular_bins_avx2(ap, x, n, bins, nan_bin);
#endif
	regular_bins_c(ap, x + i, n - i, bins + i, nan_bin);
}

/* Count the n points of bins (-1: skipped) into cnt; the points skipped. */
static uint64_t count_bins(int64_t *restrict cnt, const int *restrict bins, size_t n)
{
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		if (bins[i] < 0)
			skipped++;
		else
			cnt[bins[i]]++;
	}
	return skipped;
}

/* The copies of the bins of one fill call; slot extent of each counts
 * the skipped points, which the bins name as extent (no test a point).
 * A copy's slot holds at most SUB_FLUSH points between two flushes. */
struct subcount {
	uint32_t c[HIST_SUBS][HIST_SUB_MAX + 1];
};
#define SUB_FLUSH ((size_t)1 << 30)

static void sub_count(struct subcount *restrict sc, const int *restrict bins, size_t n)
{
	size_t i = 0;
	for (; i + HIST_SUBS <= n; i += HIST_SUBS)
		for (int k = 0; k < HIST_SUBS; k++)
			sc->c[k][bins[i + (size_t)k]]++;
	for (; i < n; i++)
		sc->c[0][bins[i]]++;
}

/* Add the copies into cnt and clear them; the points skipped. */
static uint64_t sub_flush(struct subcount *sc, int64_t *cnt, size_t extent)
{
	uint64_t skipped = 0;
	for (size_t b = 0; b <= extent; b++) {
		uint64_t c = 0;
		for (int k = 0; k < HIST_SUBS; k++)
			c += sc->c[k][b];
		if (b < extent)
			cnt[b] += (int64_t)c;
		else
			skipped += c;
	}
	memset(sc, 0, sizeof(*sc));
	return skipped;
}

/* Add the weights of the points of cells (-1: skipped) in order; a weight
 * that is not finite skips its point.  The points skipped. */
static uint64_t add_weights(double *restrict sw, double *restrict sw2, const int *restrict cells,
			    const double *w, size_t n)
{
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0;
		if (cells[i] < 0 || !good_weight(wi)) {
			skipped++;
			continue;
		}
		sw[cells[i]] += wi;
		sw2[cells[i]] += wi * wi;
	}
	return skipped;
}

void hist_fill1(struct hist *h, const double *x, const double *w, size_t n)
{
	uint64_t skipped = 0;
	int bins[FILL_CHUNK];

	assert(h->ndim == 1 && !h->profile);
	if (!h->fast) {
		hist_fill(h, &x, w, NULL, n);
		return;
	}
	const size_t extent = (size_t)h->ax[0].extent;
	if (!h->weighted && extent <= HIST_SUB_MAX && n >= 64) {
		struct subcount sc;
		memset(&sc, 0, sizeof(sc));
		for (size_t at = 0; at < n; at += FILL_CHUNK) {
			size_t k = n - at < FILL_CHUNK ? n - at : FILL_CHUNK;
			regular_bins(&h->ax[0], x + at, k, bins, (int)extent);
			sub_count(&sc, bins, k);
			if ((at + k) % SUB_FLUSH == 0)
				skipped += sub_flush(&sc, h->cnt, extent);
		}
		skipped += sub_flush(&sc, h->cnt, extent);
	} else {
		for (size_t at = 0; at < n; at += FILL_CHUNK) {
			size_t k = n - at < FILL_CHUNK ? n - at : FILL_CHUNK;
			regular_bins(&h->ax[0], x + at, k, bins, -1);
			if (!h->weighted)
				skipped += count_bins(h->cnt, bins, k);
			else
				skipped += add_weights(h->sw, h->sw2, bins, w ? w + at : NULL, k);
		}
	}
	h->skipped += skipped;
	h->entries += n - skipped;
}

void hist_fill2(struct hist *h, const double *x, const double *y, const double *w, size_t n)
{
	const size_t stride = h->stride[0];
	uint64_t skipped = 0;
	int bx[FILL_CHUNK], by[FILL_CHUNK];

	assert(h->ndim == 2 && !h->profile);
	if (!h->fast) {
		const double *xy[2] = { x, y };
		hist_fill(h, xy, w, NULL, n);
		return;
	}
	/* Unweighted fills of few cells count on copies, a skipped point in
	 * slot ncells. */
	const bool subs = !h->weighted && h->ncells <= HIST_SUB_MAX && n >= 64;
	const int skip = subs ? (int)h->ncells : -1;
	struct subcount sc;
	if (subs)
		memset(&sc, 0, sizeof(sc));
	for (size_t at = 0; at < n; at += FILL_CHUNK) {
		size_t k = n - at < FILL_CHUNK ? n - at : FILL_CHUNK;
		regular_bins(&h->ax[0], x + at, k, bx, -1);
		regular_bins(&h->ax[1], y + at, k, by, -1);
		for (size_t i = 0; i < k; i++) /* cells fit an int: HIST_MAX_CELLS */
			bx[i] = bx[i] < 0 || by[i] < 0 ? skip : bx[i] * (int)stride + by[i];
		if (subs) {
			sub_count(&sc, bx, k);
			if ((at + k) % SUB_FLUSH == 0)
				skipped += sub_flush(&sc, h->cnt, h->ncells);
		} else if (!h->weighted) {
			skipped += count_bins(h->cnt, bx, k);
		} else {
			skipped += add_weights(h->sw, h->sw2, bx, w ? w + at : NULL, k);
		}
	}
	if (subs)
		skipped += sub_flush(&sc, h->cnt, h->ncells);
	h->skipped += skipped;
	h->entries += n - skipped;
}

/* One sample s into a mean cell: Welford's update, as boost-histogram's
 * mean accumulator does it.  A sum that overflows stays infinite; NaN,
 * which only overflows of both signs make, is kept as 0. */
static void mean_add(struct hist *h, size_t c, double s)
{
	int64_t n = ++h->cnt[c];
	double delta = s - h->mean[c];
	h->mean[c] = nan0(h->mean[c] + delta / (double)n);
	h->m2[c] = nan0(h->m2[c] + delta * (s - h->mean[c]));
}

/* One sample s of weight w into a weighted mean cell: West's update, as
 * boost-histogram's weighted_mean does it.  Where the sum of weights is
 * 0 (a first weight 0, or weights that cancel) the mean is undefined and
 * boost's update divides by zero; the cell's mean and spread are then 0,
 * and the next weight starts them again. */
static void wmean_add(struct hist *h, size_t c, double w, double s)
{
	h->sw[c] += w;
	h->sw2[c] += w * w;
	if (h->sw[c] == 0) {
		h->mean[c] = 0;
		h->m2[c] = 0;
		return;
	}
	double delta = s - h->mean[c];
	h->mean[c] = nan0(h->mean[c] + w * delta / h->sw[c]);
	h->m2[c] = nan0(h->m2[c] + w * delta * (s - h->mean[c]));
}

/* The general loop: any axes, any storage.  1-D and 2-D histograms with
 * regular and variable axes, which are most, take hist_fill1/2's. */
void hist_fill(struct hist *h, const double *const *x, const double *w, const double *sample,
	       size_t n)
{
	assert(!h->profile || sample);
	if (h->fast && h->ndim == 1) {
		hist_fill1(h, x[0], w, n);
		return;
	}
	if (h->fast && h->ndim == 2) {
		hist_fill2(h, x[0], x[1], w, n);
		return;
	}
	uint64_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;
		int d = 0;
		for (; d < h->ndim; d++) {
			int b = any_bin(&h->ax[d], x[d][i]);
			if (b < 0)
				break;
			c += (size_t)b * h->stride[d];
		}
		double wi = h->weighted && w ? w[i] : 1.0;
		if (d < h->ndim || !good_weight(wi) || (h->profile && !isfinite(sample[i]))) {
			skipped++;
			continue;
		}
		switch (h->storage) {
		case HIST_ST_INT:
			h->cnt[c]++;
			break;
		case HIST_ST_WEIGHTED:
			h->sw[c] += wi;
			h->sw2[c] += wi * wi;
			break;
		case HIST_ST_MEAN:
			mean_add(h, c, sample[i]);
			break;
		default:
			wmean_add(h, c, wi, sample[i]);
			break;
		}
	}
	h->skipped += skipped;
	h->entries += n - skipped;
}
