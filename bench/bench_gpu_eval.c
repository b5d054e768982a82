/* bench_gpu_eval.c — the evaluator's rates (events/s) on the device
 * against one and all CPU cores, for the benchmark queries (bench_query.c's
 * two, and one with a weight and a 2-D fill) over the bench file.  The
 * columns are read into memory first, so that what is timed is eval_run()
 * alone: the CPU over batches of PLAN_BATCH events (what a worker runs),
 * the device over batches of GPU_EVAL_EVENTS (what a worker with a device
 * runs) with the auto threshold and with every node (on), transfers
 * included (each node's and fill's copies both ways are in its call).
 * Also the bytes a batch sent to the device and back per event, the nodes
 * it computed, and whether its counts are the CPU's. */
#include "bench_gpu.h"
#include "eval.h"
#include "gpu.h"
#include "hist.h"
#include "plan.h"
#include "rootio.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const queries[] = {
	"define goodjet = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
	"filter trig: HLT_IsoMu24\n"
	"filter twojets: sum(goodjet) >= 2\n"
	"hist met = MET_pt bins=50 range=0,200\n"
	"hist jetpt = Jet_pt[goodjet] bins=50 range=0,300\n"
	"hist dphi = delta_phi(MET_phi, Jet_phi[goodjet][0]) bins=32 range=-pi,pi\n",
	"define good = Jet_pt > 30 && abs(Jet_eta) < 2.4\n"
	"hist met = MET_pt bins=50 range=0,200\n"
	"hist njet = nJet bins=15 range=0,15\n"
	"hist jetpt = Jet_pt[good] bins=50 range=0,300\n",
	"define good = Jet_pt > 20\n"
	"hist jpt_eta = Jet_pt[good], Jet_eta[good] bins=40,30 range=0,200,-3,3\n"
	"hist jw = Jet_pt[good] bins=40 range=0,200 weight=MET_pt\n",
};
static const char *const names[] = {"bench", "issue 12", "2-D, weighted"};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A file's inputs of a program cut into batches of span events. */
struct batches {
	size_t n, ninputs;
	int64_t *nev;
	struct rootio_column *cols;        /* n * ninputs */
	const struct rootio_column **colp; /* the same, as eval_run() takes them */
};

static void batches_free(struct batches *b)
{
	for (size_t i = 0; b->cols && i < b->n * b->ninputs; i++)
		rootio_column_free(&b->cols[i]);
	free(b->cols);
	free(b->colp);
	free(b->nev);
}

static int batches_read(struct rootio_tree *t, const int *map, size_t ninputs, int64_t span,
			struct batches *b)
{
	int64_t entries = rootio_tree_entries(t);
	memset(b, 0, sizeof(*b));
	b->n = (size_t)((entries + span - 1) / span);
	b->ninputs = ninputs;
	b->nev = calloc(b->n + 1, sizeof(*b->nev));
	b->cols = calloc(b->n * ninputs + 1, sizeof(*b->cols));
	b->colp = calloc(b->n * ninputs + 1, sizeof(*b->colp));
	if (!b->nev || !b->cols || !b->colp)
		return -1;
	for (size_t k = 0; k < b->n; k++) {
		int64_t a = (int64_t)k * span, z = a + span < entries ? a + span : entries;
		b->nev[k] = z - a;
		for (size_t i = 0; i < ninputs; i++) {
			struct rootio_column *c = &b->cols[k * ninputs + i];
			struct rootio_err e;
			rootio_column_init(c);
			b->colp[k * ninputs + i] = c;
			if (rootio_read(t, (size_t)map[i], a, z, c, &e)) {
				fprintf(stderr, "bench_gpu: %s\n", e.msg);
				return -1;
			}
		}
	}
	return 0;
}

/* A share of the batches on one thread: k, k + step, ... */
struct share {
	const struct batches *b;
	struct eval_state *s;
	size_t k, step;
	int rc;
};

static void *share_run(void *arg)
{
	struct share *w = arg;
	for (size_t k = w->k; k < w->b->n && !w->rc; k += w->step)
		w->rc = eval_run(w->s, w->b->nev[k], w->b->colp + k * w->b->ninputs, NULL);
	return NULL;
}

/* Events per second of the batches on nthreads states (g on the first,
 * with min points), over at least secs; *st the first state (the caller's
 * to free), one pass's results in it; *events those of all the passes. */
static double rate(const struct eval_prog *p, const struct batches *b, int nthreads,
		   struct gpu_ctx *g, size_t min, double secs, struct eval_state **st, double *all)
{
	struct share w[256];
	pthread_t th[256];
	int64_t events = 0;
	for (size_t k = 0; k < b->n; k++)
		events += b->nev[k];
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct share){b, NULL, (size_t)i, (size_t)nthreads, 0};
		if (eval_state_new(p, &w[i].s))
			return 0;
	}
	eval_set_gpu(w[0].s, g, min);
	long passes = 0;
	double t0 = now(), t;
	do {
		if (passes == 1) { /* the first pass's results are kept for the check */
			struct eval_state *keep = w[0].s;
			if (eval_state_new(p, &w[0].s))
				return 0;
			eval_set_gpu(w[0].s, g, min);
			*st = keep;
		}
		for (int i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, share_run, &w[i]);
		for (int i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
		passes++;
	} while ((t = now() - t0) < secs || passes < 2);
	for (int i = 0; i < nthreads; i++)
		eval_state_free(w[i].s);
	*all = (double)events * (double)passes;
	return *all / t;
}

/* Whether the two states' unweighted histograms have the same counts. */
static bool same_counts(struct eval_state *a, struct eval_state *b)
{
	for (size_t h = 0; h < eval_nhists(a); h++) {
		struct hist_raw ra, rb;
		if (!hist_raw(eval_hist(a, h), &ra) || !hist_raw(eval_hist(b, h), &rb))
			continue;
		size_t cells = (size_t)(ra.nbins[0] + 2) * (size_t)(ra.ndim == 2 ? ra.nbins[1] + 2 : 1);
		if (ra.cnt && memcmp(ra.cnt, rb.cnt, cells * sizeof(int64_t)))
			return false;
		if (*ra.entries != *rb.entries)
			return false;
	}
	return true;
}

static int one_query(struct gpu_ctx *g, int cores, double secs, const char *file, int qi)
{
	char text[2048];
	snprintf(text, sizeof(text), "dataset %s\ntree Events\n%s", file, queries[qi]);
	struct plan *pl;
	struct ql_error qe;
	if (plan_new(text, strlen(text), &(struct plan_opts){.basedir = ".", .filename = "bench.query"},
		     &pl, &qe)) {
		fputs(qe.text, stderr);
		return -1;
	}
	const struct eval_prog *p = plan_prog(pl);
	size_t ni = eval_ninputs(p);
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err e;
	int map[64], rc = -1;
	struct batches cpu = {0}, dev = {0};
	if (ni > 64 || rootio_open(file, &f, &e)) {
		plan_unref(pl);
		return -1;
	}
	if (!rootio_tree_open(f, "Events", &t, &e)) {
		for (size_t i = 0; i < ni; i++)
			map[i] = rootio_tree_find(t, plan_input(pl, i)->name);
		if (!batches_read(t, map, ni, PLAN_BATCH, &cpu) &&
		    !batches_read(t, map, ni, GPU_EVAL_EVENTS, &dev))
			rc = 0;
		rootio_tree_close(t);
	}
	rootio_close(f);
	if (!rc) {
		struct eval_state *s1 = NULL, *sa = NULL, *sg = NULL, *so = NULL;
		struct gpu_traffic t0, t1;
		double n1, na, ng, no;
		double r1 = rate(p, &cpu, 1, NULL, 0, secs, &s1, &n1);
		double ra = rate(p, &cpu, cores, NULL, 0, secs, &sa, &na);
		gpu_ctx_traffic(g, &t0);
		double rg = rate(p, &dev, 1, g, GPU_AUTO_MIN_POINTS, secs, &sg, &ng);
		gpu_ctx_traffic(g, &t1);
		double ro = rate(p, &dev, 1, g, 0, secs, &so, &no);
		double moved = (double)(t1.to_dev - t0.to_dev + t1.from_dev - t0.from_dev);
		bool same = s1 && sg && so && same_counts(s1, sg) && same_counts(s1, so);
		printf("%-14s %12.3g %12.3g %12.3g %12.3g %8.2f  %6.1f B/ev  %llu nodes%s%s\n", names[qi],
		       rg, ro, r1, ra, (rg > ro ? rg : ro) / (r1 > ra ? r1 : ra), ng > 0 ? moved / ng : 0.0,
		       sg ? (unsigned long long)eval_gpu_nodes(sg) : 0ull, same ? "" : "  COUNTS DIFFER",
		       sg && eval_gpu_failed(sg) ? "  (device failed)" : "");
		eval_state_free(s1);
		eval_state_free(sa);
		eval_state_free(sg);
		eval_state_free(so);
	}
	batches_free(&cpu);
	batches_free(&dev);
	plan_unref(pl);
	return rc;
}

int bench_gpu_eval(struct gpu_ctx *g, int cores, double secs, const char *file)
{
	printf("\nevaluation of the benchmark queries over %s, columns in memory; events/s\n"
	       "(gpu: batches of %d events, --gpu auto and on, transfers included; cpu: batches of "
	       "%d)\n",
	       file, GPU_EVAL_EVENTS, PLAN_BATCH);
	printf("%-14s %12s %12s %12s %12s %8s  %s\n", "query", "gpu auto", "gpu on", "cpu x1", "cpu all",
	       "gpu/cpu", "moved (nodes and fills), nodes (auto, one pass)");
	int rc = 0;
	for (int q = 0; q < (int)(sizeof(queries) / sizeof(queries[0])); q++)
		if (one_query(g, cores, secs, file, q))
			rc = -1;
	return rc;
}
