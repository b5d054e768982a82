/* test_gpu_device.c — the real kernels against the CPU on real data: every
 * numeric column (flat, fixed and jagged; bool, integer and floating) of
 * every tree of the ROOT files in the folders given, read with rootio,
 * filled on the device and with hist_fill(): bins equal to
 * hist_find_bin() on a regular and a variable axis, 1-D and 2-D counts
 * exact, weighted sums within 1e-12 relative, the same bits on a second
 * run and the bits of the device's chunking computed on the host
 * (gpu_kern.h), compaction equal.  Exit 77 (skipped) when
 * gpu_device_count() is 0.  --emulate runs it on the host emulation, to
 * check the test itself on a machine without a device.
 *
 * Usage: test_gpu_device [--emulate] DIR... */
#include "gpu.h"
#include "gpu_kern.h"
#include "hist.h"
#include "rootio.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_ENTRIES 500000      /* per column: the first entries of a big tree */
#define MAX_VALUES (8u << 20)

static struct gpu_ctx *g;
static size_t ncolumns;

static double value_at(const struct rootio_column *c, size_t i)
{
	switch (c->type) {
	case ROOTIO_BOOL:
	case ROOTIO_U8: return ((const uint8_t *)c->values)[i];
	case ROOTIO_I8: return ((const int8_t *)c->values)[i];
	case ROOTIO_I16: return ((const int16_t *)c->values)[i];
	case ROOTIO_U16: return ((const uint16_t *)c->values)[i];
	case ROOTIO_I32: return ((const int32_t *)c->values)[i];
	case ROOTIO_U32: return ((const uint32_t *)c->values)[i];
	case ROOTIO_I64: return (double)((const int64_t *)c->values)[i];
	case ROOTIO_U64: return (double)((const uint64_t *)c->values)[i];
	case ROOTIO_F32: return ((const float *)c->values)[i];
	default: return ((const double *)c->values)[i];
	}
}

static struct hist *new_hist(int ndim, const struct hist_axis_def *ax, bool weighted)
{
	struct hist_def d = {.name = "h", .ndim = ndim, .weighted = weighted};
	for (int k = 0; k < ndim; k++)
		d.axes[k] = ax[k];
	struct hist *h = NULL;
	return hist_new(&d, &h, NULL) ? NULL : h;
}

static struct gpu_axis gaxis(const struct hist_axis_def *a)
{
	return (struct gpu_axis){a->nbins, a->lo, a->hi, a->edges};
}

/* The device's weighted sums computed on the host, as gpu_fill.cu does. */
static void host_scheme(const struct gpu_hist *gh, const double *x, const double *y,
			const double *w, size_t n, size_t ncells, double *sw)
{
	struct gpu_k_axis k[2];
	for (int a = 0; a < 2; a++) {
		const struct gpu_axis *s = &gh->ax[a < gh->ndim ? a : 0];
		k[a] = (struct gpu_k_axis){s->nbins, s->lo, s->hi, s->edges};
	}
	size_t chunk = gpu_k_chunk(n, ncells), nchunks = (n + chunk - 1) / chunk;
	double *p = calloc(2 * nchunks * ncells, sizeof(double));
	if (!p)
		return;
	for (size_t c = 0; c < nchunks; c++)
		gpu_k_chunk_sum(k, gh->ndim, x, y, w, n, c, nchunks, p + c, p + nchunks * ncells + c,
				nchunks);
	for (size_t c = 0; c < ncells; c++)
		sw[c] = gpu_k_reduce(p + c * nchunks, nchunks);
	free(p);
}

static bool close_rel(double a, double b)
{
	return a == b || fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b));
}

/* One histogram (1-D or 2-D) filled on the device and on the CPU. */
static void fill_both(const char *what, int ndim, const struct hist_axis_def *ax, const double *x,
		      const double *y, const double *w, size_t n)
{
	struct hist *h = new_hist(ndim, ax, w != NULL);
	if (!h) {
		check(0, "%s: hist_new", what);
		return;
	}
	size_t nc = hist_ncells(h);
	if (ndim == 1)
		hist_fill1(h, x, w, n);
	else
		hist_fill2(h, x, y, w, n);
	struct gpu_hist gh[2];
	for (int r = 0; r < 2; r++) {
		memset(&gh[r], 0, sizeof(gh[r]));
		gh[r].ndim = ndim;
		for (int a = 0; a < ndim; a++)
			gh[r].ax[a] = gaxis(&ax[a]);
		if (w) {
			gh[r].sw = calloc(nc, sizeof(double));
			gh[r].sw2 = calloc(nc, sizeof(double));
		} else {
			gh[r].cnt = calloc(nc, sizeof(int64_t));
		}
		int rc = gpu_fill(g, &gh[r], x, y, w, n);
		check(rc == 0, "%s: gpu_fill: %s", what, gpu_strerror(rc));
	}
	check(gh[0].entries == hist_entries(h) && gh[0].skipped == hist_skipped(h),
	      "%s: entries/skipped %llu/%llu, the CPU %llu/%llu", what,
	      (unsigned long long)gh[0].entries, (unsigned long long)gh[0].skipped,
	      (unsigned long long)hist_entries(h), (unsigned long long)hist_skipped(h));
	size_t bad = 0;
	for (size_t c = 0; c < nc; c++) {
		bool ok = w ? close_rel(gh[0].sw[c], hist_cell_sumw(h, c)) &&
				      close_rel(gh[0].sw2[c], hist_cell_sumw2(h, c)) &&
				      !memcmp(&gh[0].sw[c], &gh[1].sw[c], sizeof(double))
			    : gh[0].cnt[c] == hist_cell_count(h, c) && gh[1].cnt[c] == gh[0].cnt[c];
		bad += !ok;
	}
	check(bad == 0, "%s: %zu of %zu cells differ from the CPU or between runs", what, bad, nc);
	if (w) {
		double *sw = calloc(nc, sizeof(double));
		if (sw) {
			host_scheme(&gh[0], x, y, w, n, nc, sw);
			check(!memcmp(sw, gh[0].sw, nc * sizeof(double)),
			      "%s: the device's sums are not the host's chunked bits", what);
		}
		free(sw);
	}
	for (int r = 0; r < 2; r++) {
		free(gh[r].cnt);
		free(gh[r].sw);
		free(gh[r].sw2);
	}
	hist_free(h);
}

static void column(const char *what, const double *x, size_t n)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i])) {
			lo = fmin(lo, x[i]);
			hi = fmax(hi, x[i]);
		}
	if (!(lo <= hi))
		lo = 0, hi = 1;
	if (!isfinite(hi - lo) || hi - lo > 1e300)
		lo = -1e300, hi = 1e300;
	double span = hi > lo ? hi - lo : 1;
	/* The top value goes to the overflow: [lo, hi) by the axis rule. */
	struct hist_axis_def reg = {.nbins = 64, .lo = lo, .hi = lo + span};
	double edges[11];
	for (int k = 0; k <= 10; k++)
		edges[k] = lo + span * (k * k) / 100.0;
	for (int k = 1; k <= 10; k++)
		if (!(edges[k] > edges[k - 1]))
			edges[k] = nextafter(edges[k - 1], INFINITY);
	struct hist_axis_def var = {.nbins = 10, .edges = edges};
	int32_t *b = malloc(n * sizeof(int32_t));
	double *w = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
	double *out = malloc(n * sizeof(double));
	uint8_t *m = malloc(n);
	if (!b || !w || !y || !out || !m) {
		check(0, "%s: out of memory", what);
		goto out;
	}
	struct hist *h = new_hist(1, &reg, false), *hv = new_hist(1, &var, false);
	for (int k = 0; k < 2 && h && hv; k++) {
		struct gpu_axis a = gaxis(k ? &var : &reg);
		int rc = gpu_bins(g, &a, x, n, b);
		size_t bad = 0;
		for (size_t i = 0; !rc && i < n; i++)
			bad += b[i] != hist_find_bin(k ? hv : h, 0, x[i]);
		check(rc == 0 && bad == 0, "%s: %s axis: %zu bins differ (rc %d)", what,
		      k ? "variable" : "regular", bad, rc);
	}
	hist_free(h);
	hist_free(hv);
	for (size_t i = 0; i < n; i++) {
		w[i] = 0.25 + fmod((double)i * 0.6180339887498949, 1.0);
		y[i] = x[(i + 1) % n];
		m[i] = (uint8_t)(i % 3 == 0 || x[i] > lo + span / 2);
	}
	char t[1200];
	struct hist_axis_def ax2[2] = {reg, var};
	snprintf(t, sizeof(t), "%s 1-D", what);
	fill_both(t, 1, &reg, x, NULL, NULL, n);
	snprintf(t, sizeof(t), "%s 1-D variable weighted", what);
	fill_both(t, 1, &var, x, NULL, w, n);
	snprintf(t, sizeof(t), "%s 1-D weighted", what);
	fill_both(t, 1, &reg, x, NULL, w, n);
	snprintf(t, sizeof(t), "%s 2-D", what);
	fill_both(t, 2, ax2, x, y, NULL, n);
	snprintf(t, sizeof(t), "%s 2-D weighted", what);
	fill_both(t, 2, ax2, x, y, w, n);
	size_t kept = 0, k = 0, bad = 0;
	int rc = gpu_compact(g, x, m, n, out, &kept);
	for (size_t i = 0; !rc && i < n; i++)
		if (m[i])
			bad += k >= kept || memcmp(&out[k++], &x[i], sizeof(double)) != 0;
	check(rc == 0 && bad == 0 && k == kept, "%s: compaction (rc %d, %zu wrong)", what, rc, bad);
	ncolumns++;
out:
	free(b);
	free(w);
	free(y);
	free(out);
	free(m);
}

static void tree(const char *path, struct rootio_file *f, const char *name)
{
	struct rootio_tree *t;
	struct rootio_err e;
	if (rootio_tree_open(f, name, &t, &e))
		return;
	int64_t ne = rootio_tree_entries(t);
	ne = ne > MAX_ENTRIES ? MAX_ENTRIES : ne;
	struct rootio_column col;
	rootio_column_init(&col);
	for (size_t i = 0; i < rootio_tree_ncolumns(t); i++) {
		const struct rootio_branch *br = rootio_tree_column(t, i);
		if (br->type < ROOTIO_BOOL || br->type > ROOTIO_F64 ||
		    (br->kind != ROOTIO_FLAT && br->kind != ROOTIO_FIXED && br->kind != ROOTIO_JAGGED))
			continue;
		if (ne <= 0 || rootio_read(t, i, 0, ne, &col, &e) || !col.nvalues ||
		    col.nvalues > MAX_VALUES)
			continue;
		double *x = malloc(col.nvalues * sizeof(double));
		if (!x)
			continue;
		for (size_t k = 0; k < col.nvalues; k++)
			x[k] = value_at(&col, k);
		char what[1024];
		snprintf(what, sizeof(what), "%.500s:%.200s:%.200s (%s)", path, name, br->name,
			 rootio_type_name(br->type));
		column(what, x, col.nvalues);
		free(x);
	}
	rootio_column_free(&col);
	rootio_tree_close(t);
}

static void folder(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		check(0, "%s: cannot be listed", dir);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".root"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct rootio_file *f;
		struct rootio_err e;
		if (rootio_open(path, &f, &e))
			continue; /* files made to be unreadable are rootio's tests' */
		for (size_t k = 0; k < rootio_ntrees(f); k++)
			tree(path, f, rootio_tree_at(f, k)->path);
		rootio_close(f);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	int a = 1;
	if (a < argc && !strcmp(argv[a], "--emulate")) {
		setenv("ANAFS_GPU_EMULATE", "1", 1);
		a++;
	} else {
		unsetenv("ANAFS_GPU_EMULATE");
	}
	unsetenv("ANAFS_GPU_FAULT");
	if (gpu_device_count() == 0) {
		printf("SKIP: no GPU device (gpu_device_count() is 0: no device, driver or CUDA build)\n");
		return 77;
	}
	struct gpu_info info;
	if (gpu_device_info(0, &info) || gpu_ctx_open(0, &g)) {
		printf("FAIL: device 0 does not open\n");
		return 1;
	}
	printf("device 0: %s, %.1f GiB, compute %d.%d\n", info.name,
	       (double)info.mem_total / (1u << 30), info.cc_major, info.cc_minor);
	for (; a < argc; a++)
		folder(argv[a]);
	check(ncolumns > 0, "no column was tested");
	gpu_ctx_close(g);
	printf("%zu columns; %d failure(s)\n", ncolumns, failures);
	return failures ? 1 : 0;
}
