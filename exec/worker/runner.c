/* runner.c — one task into a partial result: its file opened and checked,
 * its entries read in batches, the program run on each batch. */
#include "runner.h"

#include "ana_err.h"
#include "colcache.h"
#include "dcache.h"
#include "gpu.h"
#include "rootio.h"
#include "src.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far ahead of its task a runner of runner_run() has the disk cache
 * fetch: about RUNNER_AHEAD_BYTES of the query's baskets, in the task's
 * file and up to RUNNER_AHEAD_FILES others.  At 100 ms from the server,
 * with one task ahead, each file took about three round trips in a row
 * (its open, then two rounds of reads); the window keeps several files
 * coming at once. */
#define RUNNER_AHEAD_BYTES (96ll << 20)
#define RUNNER_AHEAD_FILES 4

/* A file held open for its prefetch (through the plan), with its tree. */
struct ahead {
	int file;
	struct rootio_file *f;
	struct rootio_tree *t;
};

struct runner {
	struct plan *p;
	struct eval_state *st;     /* the open file's sample's (one of sts) */
	struct eval_state **sts;   /* per sample, made at its first task */
	int sample;                /* the open file's */
	bool runs_sumw;            /* the open file has a Runs tree's genEventSumw (sumw=auto) */
	int file;                  /* whose tree is open, or -1 */
	int file_open;             /* the file f is (shared through the plan) */
	struct rootio_file *f;
	struct rootio_tree *t;
	int *map;                  /* program input -> column of this tree */
	struct rootio_column *cols;
	const struct rootio_column **colp;
	size_t ninputs;
	uint64_t bytes_closed;     /* read by trees already closed */
	struct ahead held[RUNNER_AHEAD_FILES]; /* files held open while their baskets prefetch */
	int nheld;
	struct src_stats tally;    /* the disk cache's work for the last task's reads */
	struct gpu_ctx *gpu;       /* the device for large fills, or NULL */
	size_t gpu_min;            /* the least points a fill sends to it */
	bool gpu_tried;            /* the choice is made (at the first task) */
	uint64_t gpu_fills;        /* the last task's fills on the device */
	uint64_t gpu_nodes;        /* and its nodes computed there */
	char note[256];            /* what the last task's device did wrong, or "" */
};

void runner_cache(const struct runner *r, struct src_stats *out)
{
	*out = r->tally;
}

uint64_t runner_bytes_read(const struct runner *r)
{
	struct rootio_stats st = {0};
	if (r->t)
		rootio_tree_stats(r->t, &st);
	return r->bytes_closed + st.bytes_read;
}

const char *runner_note(const struct runner *r)
{
	return r->note;
}

uint64_t runner_gpu_fills(const struct runner *r)
{
	return r->gpu_fills;
}

uint64_t runner_gpu_nodes(const struct runner *r)
{
	return r->gpu_nodes;
}

/* The task's fills to the device, when there is one for this runner. */
static void gpu_begin(struct runner *r)
{
	r->note[0] = '\0';
	r->gpu_fills = 0;
	r->gpu_nodes = 0;
	if (!r->gpu_tried) {
		r->gpu_tried = true;
		enum gpu_mode m = gpu_mode_get();
		int dev = 0;
		char text[256];
		if (gpu_choose(m, &dev, text, sizeof(text)) && gpu_ctx_open(dev, &r->gpu) == 0)
			r->gpu_min = gpu_min_points(m);
	}
	eval_set_gpu(r->st, r->gpu, r->gpu_min);
}

static void gpu_end(struct runner *r)
{
	int e = eval_gpu_failed(r->st);
	r->gpu_fills = eval_gpu_fills(r->st);
	r->gpu_nodes = eval_gpu_nodes(r->st);
	if (e)
		snprintf(r->note, sizeof(r->note), "%s on %s: the task's fills went on on the CPU",
			 gpu_strerror(e), gpu_ctx_name(r->gpu));
	eval_set_gpu(r->st, NULL, 0);
}

struct plan *runner_plan(const struct runner *r)
{
	return r->p;
}

int runner_new(struct plan *p, struct runner **out)
{
	struct runner *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->p = plan_ref(p);
	r->file = -1;
	/* Room for the inputs of the sample that reads the most. */
	int nq = plan_query(p)->nsamples ? plan_query(p)->nsamples : 1;
	for (int s = 0; s < nq; s++) {
		const struct eval_prog *prog = plan_sample_prog(p, s);
		if (prog && eval_ninputs(prog) > r->ninputs)
			r->ninputs = eval_ninputs(prog);
	}
	r->map = calloc(r->ninputs + 1, sizeof(*r->map));
	r->cols = calloc(r->ninputs + 1, sizeof(*r->cols));
	r->colp = calloc(r->ninputs + 1, sizeof(*r->colp));
	r->sts = calloc((size_t)nq + 1, sizeof(*r->sts));
	if (!r->map || !r->cols || !r->colp || !r->sts) {
		runner_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->ninputs; i++) {
		rootio_column_init(&r->cols[i]);
		r->colp[i] = &r->cols[i];
	}
	*out = r;
	return 0;
}

static void close_file(struct runner *r)
{
	r->bytes_closed = runner_bytes_read(r);
	rootio_tree_close(r->t);
	if (r->f)
		plan_file_release(r->p, (size_t)r->file_open);
	r->t = NULL;
	r->f = NULL;
	r->file = -1;
}

/* Let go of the files held for prefetching that come before file (all
 * of them for INT_MAX): tasks are in file order, so this runner, and
 * every other one, is past them. */
static void release_ahead(struct runner *r, int file)
{
	int k = 0;
	for (int i = 0; i < r->nheld; i++) {
		if (r->held[i].file < file) {
			rootio_tree_close(r->held[i].t);
			plan_file_release(r->p, (size_t)r->held[i].file);
		} else {
			r->held[k++] = r->held[i];
		}
	}
	r->nheld = k;
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	release_ahead(r, INT_MAX);
	close_file(r);
	for (size_t i = 0; r->cols && i < r->ninputs; i++)
		rootio_column_free(&r->cols[i]);
	int nq = plan_query(r->p)->nsamples ? plan_query(r->p)->nsamples : 1;
	for (int s = 0; r->sts && s < nq; s++)
		eval_state_free(r->sts[s]);
	free(r->sts);
	gpu_ctx_close(r->gpu);
	plan_unref(r->p);
	free(r->map);
	free(r->cols);
	free(r->colp);
	free(r);
}

/* Whether the open tree is the one planned (the file's size and time were
 * checked when it was opened): ANA_ECHANGED with msg if not. */
static int check_identity(struct runner *r, const struct plan_file *pf, char *msg, size_t cap)
{
	bool recorded = pf->size || pf->fingerprint;
	if (!recorded)
		return 0;
	if (rootio_tree_entries(r->t) != pf->entries || rootio_tree_fingerprint(r->t) != pf->fingerprint) {
		snprintf(msg, cap, "%s changed since the job was planned (its tree '%s' differs)",
			 pf->url, pf->tree);
		return ANA_ECHANGED;
	}
	return 0;
}

/* Open file i's tree and find the program's columns in it. */
static int open_file(struct runner *r, int i, char *msg, size_t cap)
{
	const struct plan_file *pf = plan_file(r->p, (size_t)i);
	close_file(r);
	struct rootio_err e;
	int rc = plan_file_open(r->p, (size_t)i, &r->f, msg, cap);
	if (rc)
		return rc;
	r->file_open = i;
	const char *tree = *pf->tree ? pf->tree : plan_pick_tree(plan_query(r->p), r->f);
	if ((rc = rootio_tree_open(r->f, tree, &r->t, &e))) {
		snprintf(msg, cap, "%s", e.msg);
		close_file(r);
		return rc;
	}
	if ((rc = check_identity(r, pf, msg, cap))) {
		close_file(r);
		return rc;
	}
	/* Decoded baskets are kept under the identity just checked; a file
	 * planned without one (never the case for a job) is decoded each time. */
	if (pf->size || pf->fingerprint)
		rootio_tree_set_colcache(r->t, colcache_default(), pf->url, pf->size, pf->mtime_ns,
					 pf->fingerprint);
	/* The file's sample: its program, its state. */
	const struct eval_prog *prog = plan_sample_prog(r->p, pf->sample);
	if (!prog) {
		snprintf(msg, cap, "%s: its sample has no program in this plan", pf->url);
		close_file(r);
		return -EINVAL;
	}
	if (!r->sts[pf->sample] && (rc = eval_state_new(prog, &r->sts[pf->sample]))) {
		snprintf(msg, cap, "out of memory");
		close_file(r);
		return rc;
	}
	r->sample = pf->sample;
	r->st = r->sts[pf->sample];
	const struct ql_query *q = plan_query(r->p);
	r->runs_sumw = q->nsamples && q->samples[pf->sample].sumw_auto && plan_runs_sumw(r->f, NULL) == 0;
	eval_set_source(r->st, pf->sample, pf->fingerprint);
	size_t ninputs = eval_ninputs(prog);
	for (size_t k = 0; k < ninputs; k++) {
		const struct ql_column *want = plan_sample_input(r->p, pf->sample, k);
		int c = rootio_tree_find(r->t, want->name);
		if (!plan_column_matches(r->t, c, want)) {
			snprintf(msg, cap, "%s: tree '%s': branch '%s' %s", pf->url, pf->tree, want->name,
				 c >= 0 ? "has another type or shape than in the first file"
					: "is missing (the first file has it)");
			close_file(r);
			return -EINVAL;
		}
		r->map[k] = c;
	}
	r->file = i;
	return 0;
}

/* ---- prefetch from the plan ---- */

#define PREFETCH_MAX_RANGES 4096

/* Add to v (*n so far) the on-disk baskets of column c that hold entries
 * of [a, b). */
static void basket_ranges(const struct rootio_tree *t, int c, int64_t a, int64_t b,
			  struct src_range *v, size_t *n)
{
	const int64_t *starts;
	const struct rootio_basket_loc *locs;
	size_t nb, nl;
	if (c < 0 || rootio_tree_baskets(t, (size_t)c, &starts, &nb) ||
	    rootio_tree_basket_locs(t, (size_t)c, &locs, &nl))
		return;
	for (size_t k = 0; k < nb && k < nl && *n < PREFETCH_MAX_RANGES; k++)
		if (starts[k + 1] > a && starts[k] < b && locs[k].seek && locs[k].nbytes)
			v[(*n)++] = (struct src_range){locs[k].seek, locs[k].nbytes};
}

static int by_offset(const void *x, const void *y)
{
	const struct src_range *a = x, *b = y;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* The on-disk baskets every column the program reads needs in entries
 * [a, b) of tree t (map: program input -> column of t, or NULL to find
 * them by name) for sample's program, in file order: new (malloc), *n of them; NULL when none. */
static struct src_range *tree_ranges(const struct runner *r, const struct rootio_tree *t,
				     const int *map, int sample, int64_t a, int64_t b, size_t *n)
{
	*n = 0;
	struct src_range *v = a < b ? malloc(PREFETCH_MAX_RANGES * sizeof(*v)) : NULL;
	if (!v)
		return NULL;
	const struct eval_prog *prog = plan_sample_prog(r->p, sample);
	size_t ninputs = prog ? eval_ninputs(prog) : 0;
	for (size_t k = 0; k < ninputs; k++) {
		int c = map ? map[k] : rootio_tree_find(t, plan_sample_input(r->p, sample, k)->name);
		if (c < 0)
			continue;
		basket_ranges(t, c, a, b, v, n);
		const struct rootio_branch *br = rootio_tree_column(t, (size_t)c);
		if (br && br->counter >= 0)
			basket_ranges(t, br->counter, a, b, v, n);
	}
	qsort(v, *n, sizeof(*v), by_offset);
	return v;
}

static struct src_range *entry_ranges(struct runner *r, int64_t a, int64_t b, size_t *n)
{
	return tree_ranges(r, r->t, r->map, r->sample, a, b, n);
}

/* Ask the file's source for the baskets of entries [a, b): the query
 * names its branches up front, so what a task will read is known before
 * it reads a byte.  For a remote file the disk cache fetches them in the
 * background, coalesced, while the task computes; for a local one this is
 * a no-op. */
static void prefetch_entries(struct runner *r, int64_t a, int64_t b)
{
	struct src *s = rootio_file_src(r->f);
	if (!src_url_remote(src_url(s)))
		return;
	size_t n;
	struct src_range *v = entry_ranges(r, a, b, &n);
	if (v)
		src_prefetch(s, v, n);
	free(v);
}

/* The task's entries and as many after them in the same file (most
 * likely the next task, on this worker or another of the node): the node
 * cache is then warm one task ahead of every worker. */
static void prefetch_task(struct runner *r, const struct plan_task *t)
{
	int64_t entries = plan_file(r->p, (size_t)t->file)->entries;
	int64_t next = t->last + (t->last - t->first);
	prefetch_entries(r, t->first, next < entries ? next : entries);
}

/* File (not the open one) for prefetching: held already, or
 * opened through the plan (shared with whichever runner takes its tasks)
 * and held; NULL when RUNNER_AHEAD_FILES are held or it cannot be opened.
 * Its metadata the planner read through the cache: nothing here waits on
 * the network. */
static struct ahead *ahead_tree(struct runner *r, int file)
{
	for (int i = 0; i < r->nheld; i++)
		if (r->held[i].file == file)
			return &r->held[i];
	if (r->nheld >= RUNNER_AHEAD_FILES)
		return NULL;
	const struct plan_file *pf = plan_file(r->p, (size_t)file);
	struct rootio_file *f;
	char msg[256];
	if (!src_url_remote(pf->url) || plan_file_open(r->p, (size_t)file, &f, msg, sizeof(msg)))
		return NULL;
	struct rootio_tree *t;
	struct rootio_err e;
	const char *tree = *pf->tree ? pf->tree : plan_pick_tree(plan_query(r->p), f);
	if (rootio_tree_open(f, tree, &t, &e)) {
		plan_file_release(r->p, (size_t)file);
		return NULL;
	}
	r->held[r->nheld] = (struct ahead){file, f, t};
	return &r->held[r->nheld++];
}

static uint64_t range_bytes(const struct src_range *v, size_t n)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n; i++)
		b += v[i].len;
	return b;
}

/* Hint the baskets of task u, in the open file or in one held ahead:
 * their bytes, or -1 when its file cannot be held now. */
static int64_t hint_task(struct runner *r, const struct plan_task *u, bool send)
{
	struct ahead open = {r->file, r->f, r->t};
	struct ahead *a = u->file == r->file ? &open : ahead_tree(r, u->file);
	if (!a)
		return -1;
	const struct rootio_tree *t = a->t;
	size_t n;
	const int *map = u->file == r->file ? r->map : NULL;
	int sample = plan_file(r->p, (size_t)u->file)->sample;
	struct src_range *v = tree_ranges(r, t, map, sample, u->first, u->last, &n);
	int64_t bytes = v ? (int64_t)range_bytes(v, n) : 0;
	if (v && send)
		src_prefetch(rootio_file_src(a->f), v, n);
	free(v);
	return bytes;
}

/* Task i of a remote file and the window after it (RUNNER_AHEAD_BYTES,
 * counted in task i's bytes per entry) hinted to the disk cache; each
 * task once among the plan's runners (plan_hint()).  With tasks handed
 * out in order, the tasks after i are the ones this process's workers
 * start next, so the node cache is filled ahead of all of them. */
static void prefetch_window(struct runner *r, size_t i)
{
	const struct plan_task *t = plan_task(r->p, i);
	if (!src_url_remote(src_url(rootio_file_src(r->f))) || !src_cache_default())
		return;
	release_ahead(r, t->file);
	int64_t bytes = hint_task(r, t, plan_hint(r->p, i));
	int64_t entries = t->last - t->first;
	if (bytes <= 0 || entries <= 0)
		return;
	int64_t window = RUNNER_AHEAD_BYTES / (bytes / entries > 0 ? bytes / entries : 1);
	size_t j = i + 1;
	for (; j < plan_ntasks(r->p) && entries < window; j++) {
		const struct plan_task *u = plan_task(r->p, j);
		if (u->file < 0 || (size_t)u->file >= plan_nfiles(r->p))
			break;
		entries += u->last - u->first;
		if (u->file != r->file && !ahead_tree(r, u->file))
			break; /* RUNNER_AHEAD_FILES held: the rest later */
		if (plan_hint(r->p, j))
			(void)hint_task(r, u, true);
	}
}

/* The task's batches into the runner's state. */
static int run_batches(struct runner *r, const struct plan_task *t,
		       int (*progress)(void *ctx, int64_t events), void *ctx, char *msg, size_t cap)
{
	const struct plan_file *pf = plan_file(r->p, (size_t)t->file);
	size_t ninputs = eval_ninputs(plan_sample_prog(r->p, r->sample));
	/* With a device, batches of GPU_EVAL_EVENTS: what a node or a fill sends
	 * it is then large enough to pay for the transfers. */
	int64_t span = r->gpu ? GPU_EVAL_EVENTS : PLAN_BATCH;
	for (int64_t a = t->first; a < t->last; a += span) {
		int64_t b = a + span < t->last ? a + span : t->last;
		for (size_t k = 0; k < ninputs; k++) {
			struct rootio_err e;
			e.msg[0] = '\0';
			int rc = rootio_read(r->t, (size_t)r->map[k], a, b, &r->cols[k], &e);
			if (rc) {
				snprintf(msg, cap, "%s", rc == -ENOMEM && !*e.msg ? "out of memory" : e.msg);
				return rc;
			}
		}
		const char *why = NULL;
		int rc = eval_run(r->st, b - a, r->colp, &why);
		if (rc) {
			snprintf(msg, cap, "%s: tree '%s', entries %lld to %lld: %s", pf->url, pf->tree,
				 (long long)a, (long long)b,
				 why ? why : rc == -ENOMEM ? "out of memory" : "evaluation failed");
			return rc;
		}
		if (progress && progress(ctx, b - a)) {
			snprintf(msg, cap, "stopped");
			return -ECANCELED;
		}
	}
	return 0;
}

/* idx: the task's index in the plan (its window is prefetched), or
 * SIZE_MAX for a task given by its entries (its own baskets only). */
static int run_entries(struct runner *r, const struct plan_task *t, size_t idx,
		       int (*progress)(void *ctx, int64_t events), void *ctx, struct result **out,
		       char *msg, size_t cap);

int runner_run(struct runner *r, size_t i, int (*progress)(void *ctx, int64_t events),
	       void *ctx, struct result **out, char *msg, size_t cap)
{
	if (i >= plan_ntasks(r->p))
		return -EINVAL;
	return run_entries(r, plan_task(r->p, i), i, progress, ctx, out, msg, cap);
}

/* Open t's file unless it is open: 0, or the error with msg. */
static int task_file(struct runner *r, const struct plan_task *t, char *msg, size_t cap)
{
	if (t->file < 0 || (size_t)t->file >= plan_nfiles(r->p) || t->first < 0 ||
	    t->first > t->last || t->last > plan_file(r->p, (size_t)t->file)->entries) {
		snprintf(msg, cap, "entries %lld to %lld are not in the plan's file",
			 (long long)t->first, (long long)t->last);
		return -EINVAL;
	}
	return r->file != t->file ? open_file(r, t->file, msg, cap) : 0;
}

int runner_warm(struct runner *r, const struct plan_task *t, uint64_t *bytes, char *msg,
		size_t cap)
{
	*bytes = 0;
	int rc = task_file(r, t, msg, cap);
	if (rc)
		return rc;
	struct src *s = rootio_file_src(r->f);
	if (!src_url_remote(src_url(s)))
		return 0;
	size_t n;
	struct src_range *v = entry_ranges(r, t->first, t->last, &n);
	rc = v ? src_warm(s, v, n, bytes) : 0;
	free(v);
	if (rc == -ENOTSUP)
		snprintf(msg, cap, "%s: no disk cache to warm (ANAFS_CACHE=off)", src_url(s));
	else if (rc)
		src_error(s, msg, cap);
	return rc;
}

struct stop_probe {
	int (*progress)(void *ctx, int64_t events);
	void *ctx;
};

/* For src_stop_when(): the task's progress callback says whether to stop
 * (no events added). */
static bool probe_stop(void *arg)
{
	struct stop_probe *p = arg;
	return p->progress(p->ctx, 0) != 0;
}

/* Around a task: its thread's cache tally, and its remote reads made to
 * give up when the task is stopped. */
static void task_begin(struct runner *r, struct stop_probe *p)
{
	src_tally(&r->tally); /* the file's opening counts too */
	src_stop_when(p->progress ? probe_stop : NULL, p);
}

static void task_end(void)
{
	src_tally(NULL);
	src_stop_when(NULL, NULL);
}

int runner_run_entries(struct runner *r, const struct plan_task *t,
		       int (*progress)(void *ctx, int64_t events), void *ctx, struct result **out,
		       char *msg, size_t cap)
{
	return run_entries(r, t, SIZE_MAX, progress, ctx, out, msg, cap);
}

/* sumw=auto: the generator weights of the task's file into its result:
 * the Runs tree's genEventSumw, once, by the task that starts the file;
 * else genWeight summed over the task's entries, in order. */
static int add_sumw(struct runner *r, const struct plan_task *t, char *msg, size_t cap)
{
	const struct ql_query *q = plan_query(r->p);
	const struct plan_file *pf = plan_file(r->p, (size_t)t->file);
	if (!q->nsamples || !q->samples[pf->sample].sumw_auto)
		return 0;
	double sum = 0;
	int rc = 0;
	struct rootio_err e = {0};
	if (r->runs_sumw) {
		if (t->first != 0)
			return 0;
		if ((rc = plan_runs_sumw(r->f, &sum)))
			snprintf(e.msg, sizeof(e.msg), "its Runs tree could not be read");
	} else {
		int c = rootio_tree_find(r->t, "genWeight");
		const struct rootio_branch *b = c >= 0 ? rootio_tree_column(r->t, (size_t)c) : NULL;
		if (!b || b->kind != ROOTIO_FLAT || (b->type != ROOTIO_F32 && b->type != ROOTIO_F64)) {
			snprintf(e.msg, sizeof(e.msg), "no Runs tree and no genWeight to sum (sumw=auto)");
			rc = -EINVAL;
		}
		struct rootio_column col;
		rootio_column_init(&col);
		for (int64_t a = t->first; !rc && a < t->last; a += PLAN_BATCH) {
			int64_t z = a + PLAN_BATCH < t->last ? a + PLAN_BATCH : t->last;
			if ((rc = rootio_read(r->t, (size_t)c, a, z, &col, &e)))
				break;
			for (size_t i = 0; i < col.nvalues; i++)
				sum += b->type == ROOTIO_F64 ? ((const double *)col.values)[i]
							     : ((const float *)col.values)[i];
		}
		rootio_column_free(&col);
	}
	if (rc) {
		snprintf(msg, cap, "%s: the sum of generator weights: %s", pf->url,
			 rc == -ENOMEM ? "out of memory" : e.msg);
		return rc;
	}
	eval_add_sumw(r->st, sum);
	return 0;
}

static int run_entries(struct runner *r, const struct plan_task *t, size_t idx,
		       int (*progress)(void *ctx, int64_t events), void *ctx, struct result **out,
		       char *msg, size_t cap)
{
	struct stop_probe probe = {progress, ctx};
	task_begin(r, &probe);
	int rc = task_file(r, t, msg, cap);
	if (rc) {
		task_end();
		return rc;
	}
	if (idx == SIZE_MAX)
		prefetch_task(r, t);
	else
		prefetch_window(r, idx);
	rc = add_sumw(r, t, msg, cap);
	gpu_begin(r);
	if (!rc)
		rc = run_batches(r, t, progress, ctx, msg, cap);
	gpu_end(r);
	task_end();
	struct result *part = NULL;
	int rc2 = eval_state_take(r->st, &part);
	if (!rc && rc2)
		snprintf(msg, cap, "out of memory");
	rc = rc ? rc : rc2;
	if (rc) {
		result_free(part); /* what a task cut short did is dropped */
		return rc;
	}
	*out = part;
	return 0;
}
