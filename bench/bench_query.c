/* bench_query.c — the evaluator against bare decompression and a
 * hand-written loop.
 *
 * Two queries over a NanoAOD-like file: the bench query (6 branches, 2
 * filters, a jagged mask, 3 histograms) and the query of issue 12 (MET_pt,
 * Jet_pt, Jet_eta, nJet; a jagged mask; 3 histograms, no filter).  For
 * each, R rounds (--repeat) of, each for about --seconds:
 *   anafs   the query through plan_new/runner_run on one thread (what a
 *           worker does per core);
 *   bare    the basket records of exactly the branches the query reads,
 *           read into memory beforehand, through the compression library
 *           alone (bench_bare.h): the rate no reader and evaluator can pass;
 *   decode  reading the query's columns with rootio, nothing else.
 * It prints medians of events/s and of the per-round ratios anafs / bare
 * (wall clock and thread CPU time).  For the bench query also:
 *   hand    the same columns read the same way and a fused C loop that
 *           does the same work, checked to fill the same histograms;
 *   run     the query through the coordinator on every core, as `anafs
 *           run` runs it (a job store in memory, each merge committed). */
#include "bench_bare.h"
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

#define MAX_ROUNDS 15

static const char *const BENCH_QUERY =
	"dataset %s\n"
	"define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
	"filter trig: HLT_IsoMu24\n"
	"filter twojets: sum(goodjet) >= 2\n"
	"hist met = MET_pt bins=50 range=0,200\n"
	"hist jetpt = Jet_pt[goodjet] bins=50 range=0,300\n"
	"hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi\n";

/* The query of issue 12: four branches, a jagged mask, three histograms. */
static const char *const ISSUE_QUERY =
	"dataset %s\n"
	"define good = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
	"hist met = MET_pt bins=50 range=0,200\n"
	"hist njet = nJet bins=15 range=0,15\n"
	"hist jetpt = Jet_pt[good] bins=50 range=0,300\n";

/* The hand loop's columns, in the order it indexes them. */
static const char *const HAND_BRANCHES[] = {"HLT_IsoMu24", "MET_pt", "MET_phi",
					    "Jet_pt", "Jet_eta", "Jet_phi"};
enum { NHAND = 6 };

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static long peak_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static char *query_text(const char *fmt, const char *file)
{
	size_t n = strlen(fmt) + strlen(file) + 1;
	char *q = malloc(n);
	if (!q)
		exit(1);
	snprintf(q, n, fmt, file);
	return q;
}

/* rootio columns by name, read batch by batch. */
struct reader {
	struct rootio_file *f;
	struct rootio_tree *t;
	size_t n;
	size_t col[16];
	struct rootio_column c[16];
};

static int reader_open(struct reader *r, const char *file, const char *const *names, size_t n)
{
	struct rootio_err e;
	r->n = 0;
	if (n > 16 || rootio_open(file, &r->f, &e) || rootio_tree_open(r->f, "Events", &r->t, &e)) {
		fprintf(stderr, "bench_query: %s\n", n > 16 ? "too many branches" : e.msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int c = rootio_tree_find(r->t, names[i]);
		if (c < 0) {
			fprintf(stderr, "bench_query: %s has no branch %s\n", file, names[i]);
			return -1;
		}
		r->col[i] = (size_t)c;
		rootio_column_init(&r->c[i]);
		r->n++;
	}
	return 0;
}

static void reader_close(struct reader *r)
{
	for (size_t i = 0; i < r->n; i++)
		rootio_column_free(&r->c[i]);
	rootio_tree_close(r->t);
	rootio_close(r->f);
}

static int read_batch(struct reader *r, int64_t a, int64_t b)
{
	struct rootio_err e;
	for (size_t i = 0; i < r->n; i++)
		if (rootio_read(r->t, r->col[i], a, b, &r->c[i], &e)) {
			fprintf(stderr, "bench_query: %s\n", e.msg);
			return -1;
		}
	return 0;
}

/* One query under test: its plan, the branches it reads, its bare path. */
struct bq {
	const char *file;
	char *text;
	struct plan *plan;
	const char *names[16];
	size_t nnames;
	struct bench_bare *bare;
	int64_t entries;
	struct result *tot; /* every anafs pass merged */
	int passes;
};

/* One pass of decoding only; returns events. */
static int64_t pass_decode(struct bq *q)
{
	struct reader r;
	if (reader_open(&r, q->file, q->names, q->nnames))
		exit(1);
	int64_t n = rootio_tree_entries(r.t);
	for (int64_t a = 0; a < n; a += PLAN_BATCH)
		if (read_batch(&r, a, a + PLAN_BATCH < n ? a + PLAN_BATCH : n))
			exit(1);
	reader_close(&r);
	return n;
}

static int64_t pass_bare(struct bq *q)
{
	if (bench_bare_pass(q->bare))
		exit(1);
	return q->entries;
}

/* One pass of the evaluator on one thread, over every task in order. */
static int64_t pass_anafs(struct bq *q)
{
	struct runner *r;
	char msg[1024];
	if (runner_new(q->plan, &r))
		exit(1);
	for (size_t i = 0; i < plan_ntasks(q->plan); i++) {
		struct result *part = NULL;
		if (runner_run(r, i, NULL, NULL, &part, msg, sizeof(msg))) {
			fprintf(stderr, "bench_query: %s\n", msg);
			exit(1);
		}
		if (q->tot) {
			result_merge(q->tot, part);
			result_free(part);
		} else {
			q->tot = part;
		}
	}
	runner_free(r);
	q->passes++;
	return plan_events(q->plan);
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

/* One pass of the hand-written loop of the bench query. */
static int64_t pass_hand(const char *file, struct hand *H)
{
	struct reader r;
	if (reader_open(&r, file, HAND_BRANCHES, NHAND))
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

/* Whole passes for at least `seconds`: events/s by the wall clock and by
 * this thread's CPU time. */
struct rate {
	double wall, cpu;
};

static struct rate measure(int64_t (*pass)(struct bq *), struct bq *q, double seconds)
{
	int64_t ev = 0;
	double w0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w;
	do {
		ev += pass(q);
		w = now();
	} while (w - w0 < seconds);
	double c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return (struct rate){(double)ev / (w - w0), (double)ev / (c > 0 ? c : 1e-9)};
}

static int bq_open(struct bq *q, const char *fmt, const char *file)
{
	struct ql_error qe;
	memset(q, 0, sizeof(*q));
	q->file = file;
	q->text = query_text(fmt, file);
	if (plan_new(q->text, strlen(q->text),
		     &(struct plan_opts){.basedir = ".", .filename = "bench.query"}, &q->plan, &qe)) {
		fputs(qe.text, stderr);
		return -1;
	}
	size_t n = eval_ninputs(plan_prog(q->plan));
	if (n > 16)
		return -1;
	for (size_t i = 0; i < n; i++)
		q->names[i] = plan_input(q->plan, i)->name;
	q->nnames = n;
	/* The bare path: the baskets of exactly these branches. */
	struct reader r;
	if (reader_open(&r, file, q->names, n))
		return -1;
	q->entries = rootio_tree_entries(r.t);
	int rc = bench_bare_open(file, r.t, r.col, n, &q->bare);
	reader_close(&r);
	return rc;
}

static void bq_close(struct bq *q)
{
	bench_bare_free(q->bare);
	result_free(q->tot);
	plan_unref(q->plan);
	free(q->text);
}

/* The rounds of one query: anafs, bare and decode in turn, medians. */
static void run_rounds(struct bq *q, int rounds, double seconds)
{
	double an[MAX_ROUNDS], ba[MAX_ROUNDS], de[MAX_ROUNDS], rw[MAX_ROUNDS], rc[MAX_ROUNDS],
		ac[MAX_ROUNDS], bc[MAX_ROUNDS];
	printf("query:\n%s", q->text);
	printf("branches read:");
	for (size_t i = 0; i < q->nnames; i++)
		printf(" %s", q->names[i]);
	printf("; %zu basket records (%.1f MB compressed), %zu embedded left out\n",
	       bench_bare_records(q->bare), (double)bench_bare_zbytes(q->bare) / 1e6,
	       bench_bare_embedded(q->bare));
	for (int k = 0; k < rounds; k++) {
		struct rate a = measure(pass_anafs, q, seconds), b = measure(pass_bare, q, seconds),
			    d = measure(pass_decode, q, seconds);
		an[k] = a.wall, ba[k] = b.wall, de[k] = d.wall, ac[k] = a.cpu, bc[k] = b.cpu;
		rw[k] = a.wall / b.wall;
		rc[k] = a.cpu / b.cpu;
		printf("  round %d: anafs %.4g, bare %.4g, decode %.4g events/s; anafs/bare %.3f (cpu %.3f)\n",
		       k + 1, a.wall, b.wall, d.wall, rw[k], rc[k]);
	}
	printf("%-40s %14s %14s\n", "", "events/s", "cpu events/s");
	printf("%-40s %14.4g %14.4g\n", "bare decompression of its branches", bench_median(ba, rounds),
	       bench_median(bc, rounds));
	printf("%-40s %14.4g\n", "decode only (1 core)", bench_median(de, rounds));
	printf("%-40s %14.4g %14.4g\n", "anafs evaluator (1 core)", bench_median(an, rounds),
	       bench_median(ac, rounds));
	printf("ratio anafs / bare (1 core):              %.3f (cpu time: %.3f)\n", bench_median(rw, rounds),
	       bench_median(rc, rounds));
}

int main(int argc, char **argv)
{
	/* The evaluator is timed against decompression: a column cache would
	 * serve its baskets decoded (speed_bench.py times that). */
	setenv("ANAFS_COLCACHE", "off", 1);
	double seconds = 1;
	int rounds = 3;
	const char *file = SHARED_DIR "/data/bench/nano_like_zstd_500k.root";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			file = argv[i];
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || !(seconds >= 0 && seconds <= 600)) {
		fprintf(stderr, "usage: bench_query [--seconds S] [--repeat 1..%d] [FILE]\n", MAX_ROUNDS);
		return 2;
	}
	struct bq q1, q2;
	if (bq_open(&q1, BENCH_QUERY, file) || bq_open(&q2, ISSUE_QUERY, file))
		return 1;
	printf("file: %s\n\n== the bench query\n", file);

	/* anafs on one thread (first, so that peak memory is its own). */
	run_rounds(&q1, rounds, seconds);
	long rss_anafs = peak_kb();

	/* anafs on every core, through the coordinator as `anafs run` does. */
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int64_t evj = 0;
	double t_tasks = 0, t0 = now();
	do
		evj += pass_coord(q1.text, ncpu, &t_tasks);
	while (now() - t0 < seconds);
	double t_all = now() - t0;

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
		for (int k = 0; k < q1.passes; k++)
			hist_merge(b, H.h[i]); /* scale hand counts to the anafs passes */
		for (int k = 0; k < hpasses; k++)
			hist_merge(a, q1.tot->hists[i]);
		ok &= same_counts(a, b);
		hist_free(a);
		hist_free(b);
		hist_free(H.h[i]);
		free(H.buf[i]);
	}
	double r_hand = (double)evh / t_hand, r_all = (double)evj / t_all, r_tasks = (double)evj / t_tasks;
	printf("%-40s %14.4g\n", "hand-written loop (1 core)", r_hand);
	printf("%-40s %14.4g   (%d workers)\n", "anafs run (all cores), whole job", r_all, ncpu);
	printf("%-40s %14.4g   (from the plan to the end)\n", "anafs run (all cores), tasks", r_tasks);
	printf("peak RSS after the anafs runs:            %ld MB\n", rss_anafs / 1024);
	printf("same histograms as the hand loop:         %s\n", ok ? "yes" : "NO");

	printf("\n== the query of issue 12\n");
	run_rounds(&q2, rounds, seconds);
	bq_close(&q1);
	bq_close(&q2);
	return ok ? 0 : 1;
}
