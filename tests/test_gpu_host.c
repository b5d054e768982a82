/* test_gpu_host.c — the GPU kernels' logic (gpu/gpu_kern.h) compiled as
 * host C, through the host emulation (ANAFS_GPU_EMULATE=1), against
 * hist_fill(): bin indices equal to hist_find_bin(), counts exact,
 * weighted sums within 1e-12 relative and the same bits run to run and
 * as the device's chunking computes them; compaction; fault injection;
 * the selection's words.  Runs on every machine, device or not. */
#include "gpu.h"
#include "gpu_kern.h"
#include "hist.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t rng = 88172645463325252ull;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* Values that probe every rule: NaN, infinities, the range's ends, the
 * doubles next to them and to bin edges, far values, and uniform ones. */
static void make_values(double *x, size_t n, double lo, double hi, int nbins)
{
	const double special[] = {NAN, INFINITY, -INFINITY, lo, hi, nextafter(hi, -INFINITY),
				  nextafter(lo, -INFINITY), nextafter(lo, INFINITY), 1e300, -1e300,
				  DBL_MIN, -0.0, 0.0, 5e-324};
	size_t ns = sizeof(special) / sizeof(special[0]);
	for (size_t i = 0; i < n; i++) {
		if (i < ns)
			x[i] = special[i];
		else if (i % 7 == 0) { /* a bin edge, or the double next to it */
			double e = lo + (hi - lo) * (double)(rng % (uint64_t)(nbins + 1)) / nbins;
			(void)urand();
			x[i] = i % 3 ? e : nextafter(e, i % 2 ? INFINITY : -INFINITY);
		} else if (i % 97 == 0)
			x[i] = NAN;
		else
			x[i] = lo - 0.1 * (hi - lo) + 1.2 * (hi - lo) * urand();
	}
}

static struct gpu_axis gaxis(const struct hist_axis_def *a)
{
	return (struct gpu_axis){a->nbins, a->lo, a->hi, a->edges};
}

static struct hist *new_hist(int ndim, const struct hist_axis_def *ax, bool weighted)
{
	struct hist_def d = {.name = "h", .ndim = ndim, .weighted = weighted};
	for (int k = 0; k < ndim; k++)
		d.axes[k] = ax[k];
	struct hist *h = NULL;
	const char *why = NULL;
	if (hist_new(&d, &h, &why)) {
		fprintf(stderr, "hist_new: %s\n", why ? why : "?");
		exit(1);
	}
	return h;
}

/* Bins through the emulated device and through gpu_kern.h directly,
 * against hist_find_bin(). */
static void test_bins(struct gpu_ctx *g, const struct hist_axis_def *ax, const char *what)
{
	size_t n = 50000;
	double *x = malloc(n * sizeof(double));
	int32_t *b = malloc(n * sizeof(int32_t));
	double lo = ax->edges ? ax->edges[0] : ax->lo, hi = ax->edges ? ax->edges[ax->nbins] : ax->hi;
	make_values(x, n, lo, hi, ax->nbins);
	struct hist *h = new_hist(1, ax, false);
	struct gpu_axis a = gaxis(ax);
	CHECK_EQ_I(gpu_bins(g, &a, x, n, b), 0);
	struct gpu_k_axis k = {a.nbins, a.lo, a.hi, a.edges};
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		int want = hist_find_bin(h, 0, x[i]);
		if (b[i] != want || gpu_k_bin(&k, x[i]) != want) {
			if (bad++ < 5)
				check(0, "%s: bin of %.17g is %d, hist_find_bin says %d", what, x[i],
				      b[i], want);
		}
	}
	check(bad == 0, "%s: %zu of %zu bins differ", what, bad, n);
	hist_free(h);
	free(x);
	free(b);
}

static void gpu_hist_of(struct gpu_hist *gh, int ndim, const struct hist_axis_def *ax, size_t ncells,
			bool weighted)
{
	memset(gh, 0, sizeof(*gh));
	gh->ndim = ndim;
	for (int k = 0; k < ndim; k++)
		gh->ax[k] = gaxis(&ax[k]);
	if (weighted) {
		gh->sw = calloc(ncells, sizeof(double));
		gh->sw2 = calloc(ncells, sizeof(double));
	} else {
		gh->cnt = calloc(ncells, sizeof(int64_t));
	}
}

static bool close_rel(double a, double b)
{
	double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	return a == b || fabs(a - b) <= 1e-12 * m;
}

/* The device's weighted scheme written out as the device runs it: every
 * chunk's partial at once (cell-major), then each cell's partials reduced
 * in chunk order. */
static void device_scheme(const struct gpu_hist *gh, const double *x, const double *y,
			  const double *w, size_t n, size_t ncells, double *sw, double *sw2)
{
	struct gpu_k_axis k[2] = {{gh->ax[0].nbins, gh->ax[0].lo, gh->ax[0].hi, gh->ax[0].edges},
				  {gh->ax[gh->ndim - 1].nbins, gh->ax[gh->ndim - 1].lo,
				   gh->ax[gh->ndim - 1].hi, gh->ax[gh->ndim - 1].edges}};
	size_t chunk = gpu_k_chunk(n, ncells), nchunks = (n + chunk - 1) / chunk;
	double *p = calloc(nchunks * ncells, sizeof(double)), *p2 = calloc(nchunks * ncells, sizeof(double));
	for (size_t c = nchunks; c-- > 0;) /* any order of the chunks: each has its own partial */
		gpu_k_chunk_sum(k, gh->ndim, x, y, w, n, c, nchunks, p + c, p2 + c, nchunks);
	for (size_t c = 0; c < ncells; c++) {
		sw[c] = gpu_k_reduce(p + c * nchunks, nchunks);
		sw2[c] = gpu_k_reduce(p2 + c * nchunks, nchunks);
	}
	free(p);
	free(p2);
}

static void test_fill(struct gpu_ctx *g, int ndim, const struct hist_axis_def *ax, size_t n,
		      bool weighted, const char *what)
{
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
	double *w = malloc(n * sizeof(double));
	double lo0 = ax[0].edges ? ax[0].edges[0] : ax[0].lo;
	double hi0 = ax[0].edges ? ax[0].edges[ax[0].nbins] : ax[0].hi;
	make_values(x, n, lo0, hi0, ax[0].nbins);
	if (ndim == 2) {
		double lo1 = ax[1].edges ? ax[1].edges[0] : ax[1].lo;
		double hi1 = ax[1].edges ? ax[1].edges[ax[1].nbins] : ax[1].hi;
		make_values(y, n, lo1, hi1, ax[1].nbins);
	}
	for (size_t i = 0; i < n; i++)
		w[i] = i % 211 == 5 ? NAN : i % 401 == 3 ? INFINITY : 0.5 + urand();
	struct hist *h = new_hist(ndim, ax, weighted);
	size_t ncells = hist_ncells(h);
	/* The CPU in two calls, the emulated device in two: both add. */
	size_t half = n / 3;
	for (int pass = 0; pass < 2; pass++) {
		size_t a = pass ? half : 0, k = pass ? n - half : half;
		if (ndim == 1)
			hist_fill1(h, x + a, weighted ? w + a : NULL, k);
		else
			hist_fill2(h, x + a, y + a, weighted ? w + a : NULL, k);
	}
	struct gpu_hist gh, gh2;
	gpu_hist_of(&gh, ndim, ax, ncells, weighted);
	gpu_hist_of(&gh2, ndim, ax, ncells, weighted);
	for (int pass = 0; pass < 2; pass++) {
		size_t a = pass ? half : 0, k = pass ? n - half : half;
		CHECK_EQ_I(gpu_fill(g, &gh, x + a, ndim == 2 ? y + a : NULL, weighted ? w + a : NULL, k), 0);
		CHECK_EQ_I(gpu_fill(g, &gh2, x + a, ndim == 2 ? y + a : NULL, weighted ? w + a : NULL, k), 0);
	}
	check(gh.entries == hist_entries(h) && gh.skipped == hist_skipped(h),
	      "%s: entries %llu skipped %llu, the CPU %llu %llu", what,
	      (unsigned long long)gh.entries, (unsigned long long)gh.skipped,
	      (unsigned long long)hist_entries(h), (unsigned long long)hist_skipped(h));
	size_t bad = 0;
	for (size_t c = 0; c < ncells; c++) {
		bool ok;
		if (weighted)
			ok = close_rel(gh.sw[c], hist_cell_sumw(h, c)) &&
			     close_rel(gh.sw2[c], hist_cell_sumw2(h, c)) &&
			     !memcmp(&gh.sw[c], &gh2.sw[c], 8) && !memcmp(&gh.sw2[c], &gh2.sw2[c], 8);
		else
			ok = gh.cnt[c] == hist_cell_count(h, c);
		if (!ok && bad++ < 5)
			check(0, "%s: cell %zu: %.17g, the CPU %.17g", what, c,
			      weighted ? gh.sw[c] : (double)gh.cnt[c], hist_cell_sumw(h, c));
	}
	check(bad == 0, "%s: %zu of %zu cells differ", what, bad, ncells);
	if (weighted) { /* the emulation has the device's bits */
		double *sw = calloc(ncells, sizeof(double)), *sw2 = calloc(ncells, sizeof(double));
		struct gpu_hist one;
		gpu_hist_of(&one, ndim, ax, ncells, true);
		CHECK_EQ_I(gpu_fill(g, &one, x, ndim == 2 ? y : NULL, w, n), 0);
		device_scheme(&one, x, ndim == 2 ? y : NULL, w, n, ncells, sw, sw2);
		check(!memcmp(sw, one.sw, ncells * 8) && !memcmp(sw2, one.sw2, ncells * 8),
		      "%s: the emulation's sums are not the device scheme's bits", what);
		free(one.sw);
		free(one.sw2);
		free(sw);
		free(sw2);
	}
	free(gh.cnt);
	free(gh.sw);
	free(gh.sw2);
	free(gh2.cnt);
	free(gh2.sw);
	free(gh2.sw2);
	hist_free(h);
	free(x);
	free(y);
	free(w);
}

static void test_compact(struct gpu_ctx *g)
{
	size_t n = 10007, kept = 0;
	double *x = malloc(n * 8), *out = malloc(n * 8);
	uint8_t *m = malloc(n);
	for (size_t i = 0; i < n; i++) {
		x[i] = (double)i * 0.5;
		m[i] = (uint8_t)(urand() < 0.3 ? (i % 5) + 1 : 0);
	}
	CHECK_EQ_I(gpu_compact(g, x, m, n, out, &kept), 0);
	size_t k = 0, bad = 0;
	for (size_t i = 0; i < n; i++)
		if (m[i])
			bad += k < kept && out[k++] != x[i];
	CHECK_EQ_I(kept, k);
	CHECK_EQ_I(bad, 0);
	CHECK_EQ_I(gpu_compact(g, x, m, 0, out, &kept), 0);
	CHECK_EQ_I(kept, 0);
	free(x);
	free(out);
	free(m);
}

static void test_fault(void)
{
	setenv("ANAFS_GPU_FAULT", "oom", 1);
	struct gpu_ctx *g = NULL;
	CHECK_EQ_I(gpu_ctx_open(0, &g), 0);
	unsetenv("ANAFS_GPU_FAULT");
	if (!g)
		return;
	struct hist_axis_def ax = {.nbins = 10, .lo = 0, .hi = 1};
	struct gpu_hist gh;
	gpu_hist_of(&gh, 1, &ax, 12, false);
	double x[3] = {0.1, 0.2, 0.3};
	CHECK_EQ_I(gpu_fill(g, &gh, x, NULL, NULL, 3), -ENOMEM);
	CHECK_EQ_I(gh.entries + gh.skipped + (uint64_t)gh.cnt[2], 0); /* unchanged */
	CHECK(strcmp(gpu_strerror(-ENOMEM), "device out of memory") == 0);
	free(gh.cnt);
	gpu_ctx_close(g);
}

static void test_select(void)
{
	enum gpu_mode m;
	CHECK_EQ_I(gpu_mode_parse("auto", &m), 0);
	CHECK_EQ_I(m, GPU_AUTO);
	CHECK_EQ_I(gpu_mode_parse("on", &m), 0);
	CHECK_EQ_I(m, GPU_ON);
	CHECK_EQ_I(gpu_mode_parse("off", &m), 0);
	CHECK_EQ_I(m, GPU_OFF);
	CHECK_EQ_I(gpu_mode_parse("yes", &m), -EINVAL);
	setenv("ANAFS_GPU", "off", 1);
	CHECK_EQ_I(gpu_mode_get(), GPU_OFF);
	setenv("ANAFS_GPU", "bogus", 1);
	CHECK_EQ_I(gpu_mode_get(), GPU_AUTO);
	unsetenv("ANAFS_GPU");
	char text[256];
	int dev = -1;
	CHECK(!gpu_choose(GPU_OFF, &dev, text, sizeof(text)));
	CHECK(strcmp(text, "fills on the CPU (--gpu off)") == 0);
	CHECK(gpu_choose(GPU_ON, &dev, text, sizeof(text)) && dev == 0);
	CHECK(strstr(text, "fills on GPU ") == text);
	CHECK_EQ_I(gpu_min_points(GPU_ON), 0);
	CHECK_EQ_I(gpu_min_points(GPU_AUTO), GPU_AUTO_MIN_POINTS);
	/* No device, no emulation: auto and on say so; nothing opens. */
	unsetenv("ANAFS_GPU_EMULATE");
	if (gpu_device_count() == 0) {
		CHECK(!gpu_choose(GPU_AUTO, &dev, text, sizeof(text)));
		CHECK(strcmp(text, "fills on the CPU: no device (--gpu auto)") == 0);
		CHECK(!gpu_choose(GPU_ON, &dev, text, sizeof(text)));
		struct gpu_ctx *g = NULL;
		CHECK_EQ_I(gpu_ctx_open(0, &g), -ENODEV);
	}
	setenv("ANAFS_GPU_EMULATE", "1", 1);
}

int main(void)
{
	setenv("ANAFS_GPU_EMULATE", "1", 1);
	unsetenv("ANAFS_GPU_FAULT");
	struct gpu_ctx *g = NULL;
	CHECK(gpu_device_count() >= 1);
	CHECK_EQ_I(gpu_ctx_open(0, &g), 0);
	if (!g)
		return 1;
	printf("device 0: %s\n", gpu_ctx_name(g));
	double edges[] = {-3, -1, -0.5, 0, 0.001, 0.25, 1, 2.5, 7};
	double fine[1001];
	for (int i = 0; i <= 1000; i++)
		fine[i] = -2 + 4.0 * i / 1000 + (i % 3) * 1e-6;
	struct hist_axis_def reg = {.nbins = 100, .lo = -2, .hi = 3};
	struct hist_axis_def odd = {.nbins = 7, .lo = 0.1, .hi = 0.7};
	struct hist_axis_def big = {.nbins = 100000, .lo = -1e3, .hi = 1e3};
	struct hist_axis_def var = {.nbins = 8, .edges = edges};
	struct hist_axis_def varf = {.nbins = 1000, .edges = fine};
	test_bins(g, &reg, "regular 100");
	test_bins(g, &odd, "regular 7 over [0.1, 0.7)");
	test_bins(g, &big, "regular 100000");
	test_bins(g, &var, "variable 8");
	test_bins(g, &varf, "variable 1000");
	struct hist_axis_def a1[] = {reg}, a2[] = {odd, var}, a3[] = {varf, reg}, a4[] = {big};
	for (int wtd = 0; wtd < 2; wtd++) {
		test_fill(g, 1, a1, 100000, wtd, wtd ? "1-D weighted" : "1-D");
		test_fill(g, 1, a4, 300000, wtd, wtd ? "1-D 100000 bins weighted" : "1-D 100000 bins");
		test_fill(g, 2, a2, 100000, wtd, wtd ? "2-D weighted" : "2-D");
		test_fill(g, 2, a3, 200000, wtd, wtd ? "2-D 1000x100 weighted" : "2-D 1000x100");
		test_fill(g, 1, a1, 7, wtd, wtd ? "1-D, 7 points, weighted" : "1-D, 7 points");
	}
	/* The chunking's rule: at least the minimum, partials bounded. */
	CHECK_EQ_I(gpu_k_chunk(1000, 100), GPU_K_CHUNK_MIN);
	size_t c = gpu_k_chunk(100000000, 10002);
	CHECK(((100000000 + c - 1) / c) * 10002 <= GPU_K_PARTIAL_MAX);
	CHECK_EQ_I(gpu_k_chunk(10, (size_t)1 << 23), GPU_K_CHUNK_MIN);
	test_compact(g);
	gpu_ctx_close(g);
	test_fault();
	test_select();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("test_gpu_host: ok\n");
	return failures ? 1 : 0;
}
