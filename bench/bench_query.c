/* bench_query.c — the evaluator against a hand-written loop.
 *
 * One query over a NanoAOD-like file (6 branches, 2 filters, a jagged
 * mask, 3 histograms) run three ways in the same process, each repeated
 * for about --seconds:
 *   decode  reading the query's columns with rootio, nothing else;
 *   anafs   the query through plan_new/runner_run on one thread (what a
 *           worker does per core), and through the coordinator on every
 *           core (what `anafs run` does: a job store in memory, each
 *           merge encoded and committed);
 *   hand    the same columns read the same way and a fused C loop that
 *           does the same work: the practical limit.
 * It prints events/s per core, the ratio anafs/hand, the time spent
 * decoding and the peak memory, and checks that both give the same
 * histograms. */
#include "coord.h"
#include "hist.h"
#include "plan.h"
#include "rootio.h"
#include "runner.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

static const char *const branches[] = {"HLT_IsoMu24", "MET_pt", "MET_phi",
				       "Jet_pt", "Jet_eta", "Jet_phi"};
enum { NB = 6 };

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long peak_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static char *query_text(const char *file)
{
	char *q = malloc(8192);
	snprintf(q, 8192,
		 "dataset %s\n"
		 "define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
		 "filter trig: HLT_IsoMu24\n"
		 "filter twojets: sum(goodjet) >= 2\n"
		 "hist met = MET_pt bins=50 range=0,200\n"
		 "hist jetpt = Jet_pt[goodjet] bins=50 range=0,300\n"
		 "hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi\n",
		 file);
	return q;
}

struct reader {
	struct rootio_file *f;
	struct rootio_tree *t;
	int col[NB];
	struct rootio_column c[NB];
};

static int reader_open(struct reader *r, const char *file)
{
	struct rootio_err e;
	if (rootio_open(file, &r->f, &e) || rootio_tree_open(r->f, "Events", &r->t, &e)) {
		fprintf(stderr, "bench_query: %s\n", e.msg);
		return -1;
	}
	for (int i = 0; i < NB; i++) {
		r->col[i] = rootio_tree_find(r->t, branches[i]);
		rootio_column_init(&r->c[i]);
		if (r->col[i] < 0) {
			fprintf(stderr, "bench_query: %s has no branch %s\n", file, branches[i]);
			return -1;
		}
	}
	return 0;
}

static void reader_close(struct reader *r)
{
	for (int i = 0; i < NB; i++)
		rootio_column_free(&r->c[i]);
	rootio_tree_close(r->t);
	rootio_close(r->f);
}

static int read_batch(struct reader *r, int64_t a, int64_t b)
{
	struct rootio_err e;
	for (int i = 0; i < NB; i++)
		if (rootio_read(r->t, (size_t)r->col[i], a, b, &r->c[i], &e)) {
			fprintf(stderr, "bench_query: %s\n", e.msg);
			return -1;
		}
	return 0;
}

/* One pass of decoding only; returns events. */
static int64_t pass_decode(const char *file)
{
	struct reader r;
	if (reader_open(&r, file))
		exit(1);
	int64_t n = rootio_tree_entries(r.t);
	for (int64_t a = 0; a < n; a += PLAN_BATCH)
		if (read_batch(&r, a, a + PLAN_BATCH < n ? a + PLAN_BATCH : n))
			exit(1);
	reader_close(&r);
	return n;
}

static double delta_phi(double a, double b)
{
	double d = fmod(a - b + M_PI, 2 * M_PI);
	if (d < 0)
		d += 2 * M_PI;
	return d - M_PI;
}

struct hand {
	struct hist *h[3];
	double *buf[3];
};

/* One pass of the hand-written loop. */
static int64_t pass_hand(const char *file, struct hand *H)
{
	struct reader r;
	if (reader_open(&r, file))
		exit(1);
	int64_t n = rootio_tree_entries(r.t);
	for (int64_t a = 0; a < n; a += PLAN_BATCH) {
		int64_t b = a + PLAN_BATCH < n ? a + PLAN_BATCH : n;
		if (read_batch(&r, a, b))
			exit(1);
		const uint8_t *trig = r.c[0].values;
		const float *met = r.c[1].values, *metphi = r.c[2].values;
		const float *pt = r.c[3].values, *eta = r.c[4].values, *phi = r.c[5].values;
		const int64_t *off = r.c[3].offsets;
		size_t k0 = 0, k1 = 0, k2 = 0;
		for (int64_t e = 0; e < b - a; e++) {
			if (!trig[e])
				continue;
			int good = 0;
			int64_t first = -1;
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				if (pt[i] > 30 && fabs((double)eta[i]) < 2.4) {
					if (!good++)
						first = i;
				}
			if (good < 2)
				continue;
			H->buf[0][k0++] = met[e];
			for (int64_t i = off[e]; i < off[e + 1]; i++)
				if (pt[i] > 30 && fabs((double)eta[i]) < 2.4)
					H->buf[1][k1++] = pt[i];
			H->buf[2][k2++] = delta_phi(metphi[e], phi[first]);
		}
		hist_fill1(H->h[0], H->buf[0], NULL, k0);
		hist_fill1(H->h[1], H->buf[1], NULL, k1);
		hist_fill1(H->h[2], H->buf[2], NULL, k2);
	}
	reader_close(&r);
	return n;
}

/* One pass of the evaluator on one thread, over every task in order. */
static int64_t pass_anafs(struct plan *plan, struct result **total)
{
	struct runner *r;
	char msg[1024];
	if (runner_new(plan, &r))
		exit(1);
	for (size_t i = 0; i < plan_ntasks(plan); i++) {
		struct result *part = NULL;
		if (runner_run(r, i, NULL, NULL, &part, msg, sizeof(msg))) {
			fprintf(stderr, "bench_query: %s\n", msg);
			exit(1);
		}
		if (*total) {
			result_merge(*total, part);
			result_free(part);
		} else {
			*total = part;
		}
	}
	runner_free(r);
	return plan_events(plan);
}

/* One job through the coordinator on ncpu workers, as `anafs run` runs it;
 * *tasks_secs: the time from its plan to its end (what the workers and
 * the merges take, without the store's opening, planning and stopping). */
static int64_t pass_coord(const char *q, int ncpu, double *tasks_secs)
{
	struct store *st = NULL;
	struct coord *c = NULL;
	char msg[512];
	struct ql_error err;
	int64_t id;
	enum job_status status = JOB_FAILED;
	struct job_info info = {0};
	if (store_open(":memory:", &st, msg, sizeof(msg)) ||
	    coord_start(&(struct coord_opts){.st = st, .workers = ncpu}, &c, msg, sizeof(msg)) ||
	    coord_submit(c, &(struct coord_submission){.name = "bench", .filename = "bench.query",
						       .text = q, .len = strlen(q), .basedir = "."},
			 &id, &err)) {
		fprintf(stderr, "bench_query: the coordinator: %s\n", msg);
		exit(1);
	}
	while (coord_job(c, id, &info) == 0 && !info.planned && !job_status_terminal(info.status))
		; /* planning takes a millisecond */
	double t0 = now();
	if (coord_wait(c, id, -1, &status) || status != JOB_DONE || coord_job(c, id, &info)) {
		fprintf(stderr, "bench_query: the job is %s\n", job_status_name(status));
		exit(1);
	}
	*tasks_secs += now() - t0;
	coord_stop(c);
	store_close(st);
	return info.events_done;
}

static int same_counts(const struct hist *a, const struct hist *b)
{
	for (int i = 0; i <= hist_nbins(a, 0) + 1; i++)
		if (hist_count(a, i, 0) != hist_count(b, i, 0))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	const char *file = SHARED_DIR "/data/bench/nano_like_zstd_500k.root";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else
			file = argv[i];
	}
	char *q = query_text(file);
	struct ql_error qe;
	struct plan *plan;
	if (plan_new(q, strlen(q), &(struct plan_opts){.basedir = ".", .filename = "bench.query"},
		     &plan, &qe)) {
		fputs(qe.text, stderr);
		return 1;
	}
	printf("file: %s\nquery:\n%s\n", file, q);

	/* anafs on one thread (first, so that peak memory is its own). */
	struct result *tot = NULL;
	int64_t ev = 0;
	int passes = 0;
	double t0 = now();
	do {
		ev += pass_anafs(plan, &tot);
		passes++;
	} while (now() - t0 < seconds);
	double t_anafs = now() - t0;
	long rss_anafs = peak_kb();

	/* anafs on every core, through the coordinator as `anafs run` does. */
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int64_t evj = 0;
	double t_tasks = 0;
	t0 = now();
	do
		evj += pass_coord(q, ncpu, &t_tasks);
	while (now() - t0 < seconds);
	double t_all = now() - t0;

	/* Decoding alone. */
	int64_t evd = 0;
	t0 = now();
	do
		evd += pass_decode(file);
	while (now() - t0 < seconds);
	double t_dec = now() - t0;

	/* The hand-written loop. */
	struct hand H;
	static const struct hist_axis_def ax[3] = {{.nbins = 50, .lo = 0, .hi = 200},
						   {.nbins = 50, .lo = 0, .hi = 300},
						   {.nbins = 32, .lo = -M_PI, .hi = M_PI}};
	for (int i = 0; i < 3; i++) {
		struct hist_def d = {.name = "h", .ndim = 1, .axes = {ax[i]}};
		if (hist_new(&d, &H.h[i], NULL))
			return 1;
		H.buf[i] = malloc(8 * (size_t)PLAN_BATCH * 64);
	}
	int64_t evh = 0;
	int hpasses = 0;
	t0 = now();
	do {
		evh += pass_hand(file, &H);
		hpasses++;
	} while (now() - t0 < seconds);
	double t_hand = now() - t0;

	/* Same answer: compare one pass worth of counts. */
	int ok = 1;
	for (int i = 0; i < 3; i++) {
		struct hist *a = hist_new_like(H.h[i]), *b = hist_new_like(H.h[i]);
		for (int k = 0; k < passes; k++)
			hist_merge(b, H.h[i]); /* scale hand counts to the anafs passes */
		for (int k = 0; k < hpasses; k++)
			hist_merge(a, tot->hists[i]);
		ok &= same_counts(a, b);
		hist_free(a);
		hist_free(b);
	}

	double r_anafs = (double)ev / t_anafs, r_hand = (double)evh / t_hand;
	double r_dec = (double)evd / t_dec, r_all = (double)evj / t_all, r_tasks = (double)evj / t_tasks;
	printf("%-34s %14s\n", "", "events/s");
	printf("%-34s %14.4g\n", "decode only (1 core)", r_dec);
	printf("%-34s %14.4g\n", "hand-written loop (1 core)", r_hand);
	printf("%-34s %14.4g\n", "anafs evaluator (1 core)", r_anafs);
	printf("%-34s %14.4g   (%d workers)\n", "anafs run (all cores), whole job", r_all, ncpu);
	printf("%-34s %14.4g   (from the plan to the end)\n", "anafs run (all cores), tasks", r_tasks);
	printf("ratio anafs / hand (1 core):        %.2f\n", r_anafs / r_hand);
	printf("share of anafs time decoding:       %.0f%%\n", 100.0 * r_anafs / r_dec);
	printf("speedup on %d cores (tasks):         %.2fx\n", ncpu, r_tasks / r_anafs);
	printf("peak RSS after the anafs runs:      %ld MB\n", rss_anafs / 1024);
	printf("same histograms as the hand loop:   %s\n", ok ? "yes" : "NO");
	result_free(tot);
	plan_unref(plan);
	free(q);
	return ok ? 0 : 1;
}
