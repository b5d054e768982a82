/* bench_gpu.c — histogram fill rates on the GPU against one and all CPU
 * cores, at batch sizes from 1e3 to 1e8 points, to find where the device
 * starts to win (and so GPU_AUTO_MIN_POINTS).  The GPU figure counts the
 * whole gpu_fill(): copies to the device, kernels, the result back.  The
 * CPU figures are hist_fill1/hist_fill2 on one thread, and on every core
 * (a histogram per thread over its share of the points, then merged);
 * gpu/cpu is the GPU's rate over the better of the two.
 * Points are the bench file's Jet_pt and Jet_eta when it reads, else
 * synthetic (exponential pt, uniform eta).
 *
 * Then the evaluator's rates for the benchmark queries (bench_gpu_eval.c).
 *
 * Usage: bench_gpu [--max N] [--seconds S] [FILE]
 * Without a device (gpu_device_count() 0) it prints "no device" and
 * exits 0; ANAFS_GPU_EMULATE=1 times the host emulation instead. */
#include "bench_gpu.h"
#include "gpu.h"
#include "hist.h"
#include "rootio.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The case being timed. */
struct job {
	int ndim;
	bool weighted;
	const double *x, *y, *w;
	size_t n;
};

static const struct hist_def *def_of(const struct job *j)
{
	static struct hist_def d1 = {.name = "pt", .ndim = 1, .axes = {{.nbins = 100, .lo = 0, .hi = 200}}};
	static struct hist_def d2 = {.name = "pt_eta", .ndim = 2,
				     .axes = {{.nbins = 100, .lo = 0, .hi = 200},
					      {.nbins = 50, .lo = -2.5, .hi = 2.5}}};
	struct hist_def *d = j->ndim == 1 ? &d1 : &d2;
	d->weighted = j->weighted;
	return d;
}

static void cpu_fill(struct hist *h, const struct job *j, size_t a, size_t b)
{
	const double *w = j->weighted ? j->w + a : NULL;
	if (j->ndim == 1)
		hist_fill1(h, j->x + a, w, b - a);
	else
		hist_fill2(h, j->x + a, j->y + a, w, b - a);
}

struct part {
	const struct job *j;
	struct hist *h;
	size_t a, b;
};

static void *part_run(void *arg)
{
	struct part *p = arg;
	cpu_fill(p->h, p->j, p->a, p->b);
	return NULL;
}

/* One fill of the batch on nthreads CPU threads (merged at the end). */
static void cpu_batch(const struct job *j, int nthreads)
{
	struct hist *h;
	if (hist_new(def_of(j), &h, NULL))
		exit(1);
	if (nthreads == 1) {
		cpu_fill(h, j, 0, j->n);
	} else {
		pthread_t t[256];
		struct part p[256];
		for (int k = 0; k < nthreads; k++) {
			p[k] = (struct part){j, hist_new_like(h), j->n * (size_t)k / (size_t)nthreads,
					     j->n * (size_t)(k + 1) / (size_t)nthreads};
			pthread_create(&t[k], NULL, part_run, &p[k]);
		}
		for (int k = 0; k < nthreads; k++) {
			pthread_join(t[k], NULL);
			hist_merge(h, p[k].h);
			hist_free(p[k].h);
		}
	}
	hist_free(h);
}

static int gpu_batch(struct gpu_ctx *g, const struct job *j, int64_t *cnt, double *sw, double *sw2)
{
	const struct hist_def *d = def_of(j);
	struct gpu_hist gh = {.ndim = j->ndim, .cnt = j->weighted ? NULL : cnt,
			      .sw = j->weighted ? sw : NULL, .sw2 = j->weighted ? sw2 : NULL};
	for (int a = 0; a < j->ndim; a++)
		gh.ax[a] = (struct gpu_axis){d->axes[a].nbins, d->axes[a].lo, d->axes[a].hi, NULL};
	return gpu_fill(g, &gh, j->x, j->y, j->weighted ? j->w : NULL, j->n);
}

/* Points per second of fn over at least secs (at least 3 calls). */
#define RATE(secs, n, call)                                                     \
	({                                                                      \
		double t0_ = now(), t_;                                         \
		long k_ = 0;                                                    \
		do {                                                            \
			call;                                                   \
			k_++;                                                   \
		} while ((t_ = now() - t0_) < (secs) || k_ < 3);                \
		(double)(n) * (double)k_ / t_;                                  \
	})

/* Jet_pt and Jet_eta of file, up to max values: *n of them, or 0. */
static void load(const char *file, double *x, double *y, size_t max, size_t *n)
{
	*n = 0;
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err e;
	if (!file || rootio_open(file, &f, &e))
		return;
	if (!rootio_tree_open(f, "Events", &t, &e)) {
		int cx = rootio_tree_find(t, "Jet_pt"), cy = rootio_tree_find(t, "Jet_eta");
		struct rootio_column c;
		rootio_column_init(&c);
		int64_t ne = rootio_tree_entries(t);
		if (cx >= 0 && cy >= 0 && !rootio_read(t, (size_t)cx, 0, ne, &c, &e) &&
		    c.type == ROOTIO_F32) {
			size_t k = c.nvalues < max ? c.nvalues : max;
			for (size_t i = 0; i < k; i++)
				x[i] = ((const float *)c.values)[i];
			if (!rootio_read(t, (size_t)cy, 0, ne, &c, &e) && c.type == ROOTIO_F32 &&
			    c.nvalues >= k) {
				for (size_t i = 0; i < k; i++)
					y[i] = ((const float *)c.values)[i];
				*n = k;
			}
		}
		rootio_column_free(&c);
		rootio_tree_close(t);
	}
	rootio_close(f);
}

int main(int argc, char **argv)
{
	size_t max = 100000000;
	double secs = 0.5;
	const char *file = SHARED_DIR "/data/bench/nano_like_zstd_500k.root";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--max") && i + 1 < argc)
			max = (size_t)atof(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else
			file = argv[i];
	}
	struct gpu_info info;
	struct gpu_ctx *g;
	if (gpu_device_count() == 0 || gpu_device_info(0, &info) || gpu_ctx_open(0, &g)) {
		printf("bench_gpu: no device\n");
		return 0;
	}
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	cores = cores < 1 ? 1 : cores > 256 ? 256 : cores;
	double *x = malloc(max * sizeof(double)), *y = malloc(max * sizeof(double));
	double *w = malloc(max * sizeof(double));
	int64_t *cnt = calloc(102 * 52, sizeof(int64_t));
	double *sw = calloc(102 * 52, sizeof(double)), *sw2 = calloc(102 * 52, sizeof(double));
	if (!x || !y || !w || !cnt || !sw || !sw2)
		return 1;
	size_t have = 0;
	load(file, x, y, max, &have);
	const char *src = have ? file : "synthetic";
	if (!have)
		have = 1;
	srand(7);
	for (size_t i = 0; i < max; i++) { /* repeat the file's values, or make them */
		if (i >= have || !strcmp(src, "synthetic")) {
			if (!strcmp(src, "synthetic")) {
				x[i] = -30 * log(1 - rand() / (RAND_MAX + 1.0));
				y[i] = -2.5 + 5 * (rand() / (RAND_MAX + 1.0));
			} else {
				x[i] = x[i % have];
				y[i] = y[i % have];
			}
		}
		w[i] = 0.5 + rand() / (RAND_MAX + 1.0);
	}
	printf("device: %s; CPU: %d cores; points: %s; rates in points/s, the GPU's with its "
	       "transfers\n", info.name, cores, src);
	printf("%-12s %10s %12s %12s %12s %8s\n", "fill", "points", "gpu", "cpu x1", "cpu all",
	       "gpu/cpu");
	for (int c = 0; c < 4; c++) {
		const char *names[] = {"1-D", "1-D weighted", "2-D", "2-D weighted"};
		size_t crossover = 0; /* from here on the GPU beats the better CPU figure */
		for (size_t n = 1000; n <= max; n *= 10) {
			struct job j = {c / 2 + 1, c % 2 == 1, x, y, w, n};
			int rc = gpu_batch(g, &j, cnt, sw, sw2); /* the buffers grown once */
			if (rc) {
				printf("%-12s %10zu  gpu: %s\n", names[c], n, gpu_strerror(rc));
				break;
			}
			double rg = RATE(secs, n, gpu_batch(g, &j, cnt, sw, sw2));
			double r1 = RATE(secs, n, cpu_batch(&j, 1));
			double ra = RATE(secs, n, cpu_batch(&j, cores));
			double best = r1 > ra ? r1 : ra;
			if (rg <= best)
				crossover = 0;
			else if (!crossover)
				crossover = n;
			printf("%-12s %10zu %12.3g %12.3g %12.3g %8.2f\n", names[c], n, rg, r1, ra,
			       rg / best);
		}
		if (crossover)
			printf("%-12s the GPU beats the CPU (its better figure) from %zu points a fill\n",
			       names[c], crossover);
		else
			printf("%-12s the GPU does not beat the CPU at %zu points\n", names[c], max);
	}
	int erc = bench_gpu_eval(g, cores, secs, file);
	gpu_ctx_close(g);
	free(x);
	free(y);
	free(w);
	free(cnt);
	free(sw);
	free(sw2);
	return erc ? 1 : 0;
}
