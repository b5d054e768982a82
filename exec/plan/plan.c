/* plan.c — from query text to tasks: the schema of the first file, the
 * check and the compilation, every file's tree and branches checked and
 * fingerprinted, entries cut into tasks on basket boundaries; and a
 * recorded plan taken up again. */
#include "plan_int.h"

#include "dcache.h"
#include "src.h"

#include "ana_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

int plan_fail(struct ql_error *err, const struct ql_query *q, const char *hint, const char *fmt,
	      ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ql_fail(err, q->filename, q->text, q->dataset_line, 1, 7, hint, "%s", msg);
	return -EINVAL;
}

const char *plan_pick_tree(const struct ql_query *q, struct rootio_file *f)
{
	if (q->tree)
		return q->tree;
	const char *only = NULL;
	for (size_t i = 0; i < rootio_ntrees(f); i++) {
		const char *t = rootio_tree_at(f, i)->path;
		if (!strcmp(t, "Events"))
			return "Events";
		if (only && strcmp(only, t))
			return "Events"; /* several: say Events is missing */
		only = t;
	}
	return only ? only : "Events";
}

/* ---- the schema ---- */

static enum ql_type type_of(enum rootio_type t)
{
	return t == ROOTIO_BOOL ? QL_BOOL : t == ROOTIO_F32 || t == ROOTIO_F64 ? QL_FLOAT : QL_INT;
}

static bool readable(const struct rootio_branch *b)
{
	return b->kind == ROOTIO_FLAT || b->kind == ROOTIO_FIXED ||
	       (b->kind == ROOTIO_JAGGED && b->fixed_len == 1);
}

bool plan_column_matches(const struct rootio_tree *t, int c, const struct ql_column *want)
{
	const struct rootio_branch *b = c >= 0 ? rootio_tree_column(t, (size_t)c) : NULL;
	return b && readable(b) && type_of(b->type) == want->type &&
	       (b->kind == ROOTIO_JAGGED) == want->jagged &&
	       (b->kind == ROOTIO_FIXED ? b->fixed_len : 0) == want->fixed_len &&
	       (!want->jagged ||
		!strcmp(rootio_tree_column(t, (size_t)b->counter)->name, want->counter));
}

static int make_schema(struct plan *p, struct rootio_tree *t, int s)
{
	size_t n = rootio_tree_ncolumns(t);
	struct ql_column *cols = arena_alloc(p->arena, (n + 1) * sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	p->scols[s] = cols;
	for (size_t i = 0; i < n; i++) {
		const struct rootio_branch *b = rootio_tree_column(t, i);
		struct ql_column *c = &cols[i];
		c->name = arena_strndup(p->arena, b->name, strlen(b->name));
		c->readable = readable(b);
		c->type = type_of(b->type);
		c->jagged = b->kind == ROOTIO_JAGGED;
		c->fixed_len = b->kind == ROOTIO_FIXED ? b->fixed_len : 0;
		if (c->jagged) {
			const char *cn = rootio_tree_column(t, (size_t)b->counter)->name;
			c->counter = arena_strndup(p->arena, cn, strlen(cn));
		}
		if (!c->name || (c->jagged && !c->counter))
			return -ENOMEM;
	}
	p->nscols[s] = n;
	return 0;
}

const struct ql_column *plan_sample_input(const struct plan *p, int s, size_t i)
{
	return &p->scols[s][eval_input_column(p->progs[s], i)];
}

const struct ql_column *plan_input(const struct plan *p, size_t i)
{
	return plan_sample_input(p, 0, i);
}

const struct eval_prog *plan_sample_prog(const struct plan *p, int s)
{
	return s >= 0 && s < p->nq ? p->progs[s] : NULL;
}

/* Every input of its sample's program in tree t of file f, as the
 * sample's first file had it; else why. */
static int check_inputs(const struct plan *p, const struct plan_file *f,
			const struct rootio_tree *t, char *why, size_t cap)
{
	const struct eval_prog *prog = plan_sample_prog(p, f->sample);
	for (size_t k = 0; prog && k < eval_ninputs(prog); k++) {
		const struct ql_column *want = plan_sample_input(p, f->sample, k);
		int c = rootio_tree_find(t, want->name);
		if (!plan_column_matches(t, c, want)) {
			snprintf(why, cap, "%s: tree '%s': branch '%s' %s", f->url, f->tree, want->name,
				 c >= 0 ? "has another type or shape than in the first file"
				 : p->q->nsamples ? "is missing (the sample's first file has it)"
						  : "is missing (the first file has it)");
			return -EINVAL;
		}
	}
	return 0;
}

/* sumw=auto: a simulation file must have what its generator weights are
 * summed from (the Runs tree's genEventSumw, else genWeight); else why. */
static int check_sumw(const struct plan *p, const struct plan_file *f, struct rootio_file *rf,
		      const struct rootio_tree *t, char *why, size_t cap)
{
	const struct ql_query *q = p->q;
	if (!q->nsamples || !q->samples[f->sample].sumw_auto)
		return 0;
	if (plan_runs_sumw(rf, NULL) == 0 || rootio_tree_find(t, "genWeight") >= 0)
		return 0;
	snprintf(why, cap,
		 "%s: sample '%s' has sumw=auto, but the file has neither a Runs tree with "
		 "genEventSumw nor a genWeight branch (give sumw=NUMBER)",
		 f->url, q->samples[f->sample].name);
	return -EINVAL;
}

int plan_runs_sumw(struct rootio_file *f, double *sum)
{
	struct rootio_tree *runs;
	struct rootio_err e;
	bool has = false;
	for (size_t i = 0; i < rootio_ntrees(f); i++)
		has |= !strcmp(rootio_tree_at(f, i)->path, "Runs");
	if (!has || rootio_tree_open(f, "Runs", &runs, &e))
		return -ENOENT;
	int c = rootio_tree_find(runs, "genEventSumw");
	if (c < 0)
		c = rootio_tree_find(runs, "genEventSumw_"); /* NanoAOD before v6 */
	const struct rootio_branch *b = c >= 0 ? rootio_tree_column(runs, (size_t)c) : NULL;
	int rc = b && b->kind == ROOTIO_FLAT && (b->type == ROOTIO_F64 || b->type == ROOTIO_F32)
			 ? 0
			 : -ENOENT;
	if (!rc && sum) {
		struct rootio_column col;
		rootio_column_init(&col);
		rc = rootio_read(runs, (size_t)c, 0, rootio_tree_entries(runs), &col, &e);
		double s = 0;
		for (size_t i = 0; !rc && i < col.nvalues; i++)
			s += b->type == ROOTIO_F64 ? ((const double *)col.values)[i]
						   : ((const float *)col.values)[i];
		*sum = s;
		rootio_column_free(&col);
	}
	rootio_tree_close(runs);
	return rc;
}

/* ---- tasks ---- */

static int add_task(struct plan *p, int file, int64_t a, int64_t b)
{
	if (p->ntasks == p->capt) {
		size_t cap = p->capt ? 2 * p->capt : 64;
		struct plan_task *v = realloc(p->tasks, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->tasks = v;
		p->capt = cap;
	}
	p->tasks[p->ntasks++] = (struct plan_task){file, a, b};
	p->events += b - a;
	return 0;
}

/* Where a file's tasks may end: the basket starts of the first column the
 * program reads (NanoAOD writes the baskets of all branches on the same
 * entry clusters), so that no basket is decoded by two tasks.  Copied into
 * the arena while the file is open; n = 0 when the program reads none. */
struct cuts {
	int64_t *starts;
	size_t n;
};

static int take_cuts(struct plan *p, int sample, struct rootio_tree *t, struct cuts *out)
{
	memset(out, 0, sizeof(*out));
	const struct eval_prog *prog = plan_sample_prog(p, sample);
	if (!prog || !eval_ninputs(prog))
		return 0;
	int c = rootio_tree_find(t, plan_sample_input(p, sample, 0)->name);
	const int64_t *starts = NULL;
	size_t n = 0;
	if (c < 0 || rootio_tree_baskets(t, (size_t)c, &starts, &n) || !n)
		return 0;
	out->starts = arena_alloc(p->arena, (n + 1) * sizeof(*starts));
	if (!out->starts)
		return -ENOMEM;
	memcpy(out->starts, starts, (n + 1) * sizeof(*starts));
	out->n = n;
	return 0;
}

/* The first tasks of a job are small, so that its first partial result
 * comes soon whatever its size: task k < PLAN_RAMP_TASKS takes target >>
 * (PLAN_RAMP_TASKS - k) events, at least PLAN_RAMP_MIN (then the next
 * basket boundary); later ones the whole target. */
#define PLAN_RAMP_TASKS 4
#define PLAN_RAMP_MIN 10000

static int64_t task_target(const struct plan *p, int64_t target, bool ramp)
{
	if (!ramp || p->ntasks >= PLAN_RAMP_TASKS)
		return target;
	int64_t t = target >> (PLAN_RAMP_TASKS - p->ntasks);
	return t < PLAN_RAMP_MIN ? (target < PLAN_RAMP_MIN ? target : PLAN_RAMP_MIN) : t;
}

static int cut_file(struct plan *p, int i, const struct cuts *cu, int64_t full, bool ramp)
{
	int64_t n = p->files[i].entries, a = 0;
	size_t k = 0;
	/* A skimmed file with no event left still holds its Runs tree's sum
	 * of generator weights: an empty task adds it (sumw=auto). */
	const struct ql_query *q = p->q;
	if (n == 0 && q->nsamples && q->samples[p->files[i].sample].sumw_auto)
		return add_task(p, i, 0, 0);
	while (a < n) {
		int64_t target = task_target(p, full, ramp);
		int64_t b = a + target < n ? a + target : n;
		if (cu->n) {
			while (k < cu->n && cu->starts[k] < b)
				k++;
			b = k < cu->n && cu->starts[k] < n ? cu->starts[k] : n;
		}
		int rc = add_task(p, i, a, b);
		if (rc)
			return rc;
		a = b;
	}
	return 0;
}

/* ---- planning ---- */

static struct plan *plan_alloc(void)
{
	struct plan *p = calloc(1, sizeof(*p));
	if (!p || !(p->arena = arena_new())) {
		free(p);
		return NULL;
	}
	atomic_init(&p->refs, 1);
	pthread_mutex_init(&p->open_mu, NULL);
	return p;
}

/* Open file i and its tree: 0 with *f, *t, the tree's name, entries and
 * fingerprint recorded; else why. */
static int open_file_locked(struct plan *p, size_t i, struct rootio_file **f,
			    struct rootio_tree **t, char *why, size_t cap, pthread_mutex_t *mu)
{
	struct plan_file *pf = &p->files[i];
	struct rootio_err e = {0};
	*f = NULL;
	*t = NULL;
	int rc = plan_rootio_open(pf, f, e.msg, sizeof(e.msg));
	if (!rc) {
		const char *name = pf->tree && *pf->tree ? pf->tree : plan_pick_tree(p->q, *f);
		if (!pf->tree || !*pf->tree) {
			if (mu)
				pthread_mutex_lock(mu);
			pf->tree = arena_strndup(p->arena, name, strlen(name));
			if (mu)
				pthread_mutex_unlock(mu);
		}
		rc = pf->tree ? rootio_tree_open(*f, name, t, &e) : -ENOMEM;
	}
	if (rc) {
		snprintf(why, cap, "%s", rc == -ENOMEM ? "out of memory" : e.msg);
		rootio_close(*f);
		*f = NULL;
	}
	return rc;
}

static int open_file(struct plan *p, size_t i, struct rootio_file **f, struct rootio_tree **t,
		     char *why, size_t cap)
{
	return open_file_locked(p, i, f, t, why, cap, NULL);
}

static int check_sample(struct plan *p, struct ql_query *q, int s, bool named, struct ql_error *err)
{
	return ql_check_opts(q, &(struct ql_schema){p->scols[s], p->nscols[s]},
			     &(struct ql_check_opts){.sample = s, .basedir = p->basedir, .name_sample = named},
			     err);
}

/* Whether some sample but s checks: then s's error is its own. */
static bool another_passes(struct plan *p, int s)
{
	for (int t = 0; t < p->nq; t++) {
		struct ql_query *q = NULL;
		struct ql_error e;
		if (t == s || !p->scols[t] || ql_parse(p->text, p->text_len, p->q->filename, &q, &e))
			continue;
		bool ok = check_sample(p, q, t, false, &e) == 0;
		ql_free(q);
		if (ok)
			return true;
	}
	return false;
}

/* Sample s checked again on a fresh parse, its error saying "(in sample
 * NAME)"; the query kept in p->qs[s]. */
static int recheck_named(struct plan *p, int s, struct ql_error *err)
{
	struct ql_query *q = NULL;
	int rc = ql_parse(p->text, p->text_len, p->q->filename, &q, err);
	if (!rc)
		rc = check_sample(p, q, s, true, err);
	if (!rc)
		rc = -EINVAL; /* it failed before: it must again */
	ql_free(q);
	return rc;
}

/* Per sample: the schema of its first file here, the query checked
 * against it for that sample, the program.  A check that fails names the
 * sample when there are several (ql_check() says which). */
static int compile_samples(struct plan *p, struct ql_error *err)
{
	char why[1024];
	if (!p->nfiles)
		return plan_fail(err, p->q, NULL, "the dataset has no file");
	int nq = p->q->nsamples ? p->q->nsamples : 1;
	p->qs = arena_alloc(p->arena, (size_t)nq * sizeof(*p->qs));
	p->progs = arena_alloc(p->arena, (size_t)nq * sizeof(*p->progs));
	p->scols = arena_alloc(p->arena, (size_t)nq * sizeof(*p->scols));
	p->nscols = arena_alloc(p->arena, (size_t)nq * sizeof(*p->nscols));
	if (!p->qs || !p->progs || !p->scols || !p->nscols)
		return -ENOMEM;
	memset(p->qs, 0, (size_t)nq * sizeof(*p->qs));
	memset(p->progs, 0, (size_t)nq * sizeof(*p->progs));
	memset(p->scols, 0, (size_t)nq * sizeof(*p->scols));
	memset(p->nscols, 0, (size_t)nq * sizeof(*p->nscols));
	p->nq = nq;
	p->qs[0] = p->q;
	/* Every sample's schema first: an error is then said to be one
	 * sample's own only when another sample passes the same check. */
	for (int s = 0; s < nq; s++) {
		size_t first = 0;
		while (first < p->nfiles && p->files[first].sample != s)
			first++;
		if (first == p->nfiles)
			continue; /* none of its files in this plan (a worker's) */
		struct rootio_file *f;
		struct rootio_tree *t;
		int rc = open_file(p, first, &f, &t, why, sizeof(why));
		if (rc)
			return rc == -ENOMEM ? rc : plan_file_fail(p, err, first, "%s", why);
		rc = make_schema(p, t, s);
		rootio_tree_close(t);
		rootio_close(f);
		if (rc)
			return rc;
	}
	for (int s = 0; s < nq; s++) {
		if (!p->scols[s])
			continue;
		int rc = s ? ql_parse(p->text, p->text_len, p->q->filename, &p->qs[s], err) : 0;
		if (!rc && (rc = check_sample(p, p->qs[s], s, false, err)) == -EINVAL && nq > 1 &&
		    another_passes(p, s))
			rc = recheck_named(p, s, err);
		if (!rc)
			rc = eval_compile(p->qs[s], &p->progs[s]);
		if (rc)
			return rc;
	}
	p->prog = p->progs[0];
	p->cols = p->scols[0];
	p->ncols = p->nscols[0];
	return 0;
}

int plan_file_fail(struct plan *p, struct ql_error *err, size_t i, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->q->nsamples && i < p->nfiles)
		p->q->dataset_line = p->q->samples[p->files[i].sample].line;
	return plan_fail(err, p->q, NULL, "%s", msg);
}

static int64_t default_task_events(int64_t total)
{
	int64_t t = total / 64;
	return t < 20000 ? 20000 : t > 1000000 ? 1000000 : t;
}

/* Keep the query's text and base folder (workers in other processes plan
 * their task from them). */
static int keep_text(struct plan *p, const char *text, size_t len, const struct plan_opts *o)
{
	const char *base = o->basedir ? o->basedir : ".";
	p->text = arena_strndup(p->arena, text, len);
	p->text_len = len;
	p->basedir = arena_strndup(p->arena, base, strlen(base));
	return p->text && p->basedir ? 0 : -ENOMEM;
}

/* ---- every file checked, remote ones several at once ---- */

#define PLAN_REMOTE_THREADS 32 /* each waits on its server: a round trip a file, not CPU */

struct checking {
	struct plan *p;
	const struct plan_opts *o;
	struct cuts *cuts;
	pthread_mutex_t mu;     /* next, done, stop, the arena, the first failure */
	size_t next, done;
	bool stop;
	size_t bad;             /* the lowest file that failed (nfiles: none) */
	int bad_rc;
	char bad_why[1200];
};

/* File i (file 0 comes open as f, t): entries, fingerprint, the inputs
 * checked, where its tasks may end; closed again. */
static int check_one(struct checking *k, size_t i, struct rootio_file *f, struct rootio_tree *t,
		     char *why, size_t cap)
{
	struct plan *p = k->p;
	int rc = 0;
	if (!f) {
		rc = open_file_locked(p, i, &f, &t, why, cap, &k->mu);
	}
	if (!rc) {
		struct plan_file *pf = &p->files[i];
		pf->entries = rootio_tree_entries(t);
		pf->fingerprint = rootio_tree_fingerprint(t);
		if ((rc = check_inputs(p, pf, t, why, cap)) == 0 &&
		    (rc = check_sumw(p, pf, f, t, why, cap)) == 0) {
			pthread_mutex_lock(&k->mu);
			rc = take_cuts(p, pf->sample, t, &k->cuts[i]);
			pthread_mutex_unlock(&k->mu);
		}
	}
	rootio_tree_close(t);
	rootio_close(f);
	return rc;
}

static void *check_loop(void *arg)
{
	struct checking *k = arg;
	char why[1200];
	for (;;) {
		pthread_mutex_lock(&k->mu);
		size_t i = k->next++;
		bool stop = k->stop || i >= k->p->nfiles;
		pthread_mutex_unlock(&k->mu);
		if (stop)
			return NULL;
		int rc = check_one(k, i, NULL, NULL, why, sizeof(why));
		pthread_mutex_lock(&k->mu);
		if (rc && i < k->bad) {
			k->bad = i;
			k->bad_rc = rc;
			snprintf(k->bad_why, sizeof(k->bad_why), "%s", why);
		}
		k->done++;
		if (rc || (k->o->progress && k->o->progress(k->o->ctx, k->done, k->p->nfiles)))
			k->stop = true;
		if (!rc && k->stop && k->bad == k->p->nfiles)
			k->bad_rc = -ECANCELED;
		pthread_mutex_unlock(&k->mu);
	}
}

/* Check every file of p, file 0 open as f0, t0 (closed here).  Local files
 * one after the other; remote ones on several threads, since each costs
 * round trips to its server rather than work here.  The first failing
 * file in dataset order is the one reported, whatever the threads did. */
static int check_files(struct plan *p, const struct plan_opts *o, struct rootio_file *f0,
		       struct rootio_tree *t0, struct cuts *cuts, struct ql_error *err)
{
	struct checking k = {.p = p, .o = o, .cuts = cuts, .next = 1, .done = 1,
			     .bad = p->nfiles};
	pthread_mutex_init(&k.mu, NULL);
	int rc = check_one(&k, 0, f0, t0, k.bad_why, sizeof(k.bad_why));
	if (rc) {
		k.bad = 0;
		k.bad_rc = rc;
	} else if (o->progress && o->progress(o->ctx, 1, p->nfiles)) {
		k.bad_rc = -ECANCELED;
		k.stop = true;
	}
	size_t nthreads = 0;
	pthread_t tid[PLAN_REMOTE_THREADS];
	if (!rc && !k.stop && p->nfiles > 2 && src_url_remote(p->files[1].url))
		while (nthreads < PLAN_REMOTE_THREADS && nthreads + 1 < p->nfiles &&
		       pthread_create(&tid[nthreads], NULL, check_loop, &k) == 0)
			nthreads++;
	if (!rc && !k.stop)
		check_loop(&k); /* this thread too (all of it when no thread started) */
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&k.mu);
	if (k.bad < p->nfiles)
		return k.bad_rc == -ENOMEM ? -ENOMEM : plan_file_fail(p, err, k.bad, "%s", k.bad_why);
	return k.bad_rc;
}

/* Warming remote files' metadata while the query is compiled against
 * the first file: each file's header, directory and tree read through the
 * disk cache (a few round trips each, all files at once), so that the
 * checks after it find them there.  Nothing of the plan is written. */
struct warming {
	struct plan *p;
	atomic_size_t next;
	size_t nthreads;
	pthread_t tid[PLAN_REMOTE_THREADS];
};

static void *warm_loop(void *arg)
{
	struct warming *w = arg;
	for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->p->nfiles;) {
		const struct plan_file *pf = &w->p->files[i];
		if (dcache_holds_ends(src_cache_default(), pf->url, pf->size, pf->mtime_ns))
			continue; /* read before: the checks find it cached */
		struct rootio_file *f;
		struct rootio_tree *t = NULL;
		struct rootio_err e;
		char why[256];
		if (plan_rootio_open(pf, &f, why, sizeof(why)))
			continue;
		const char *name = pf->tree && *pf->tree ? pf->tree : plan_pick_tree(w->p->q, f);
		if (name && rootio_tree_open(f, name, &t, &e) == 0)
			rootio_tree_close(t);
		rootio_close(f);
	}
	return NULL;
}

/* Start warming files 1.. when they are remote (w->nthreads 0: not). */
static void warm_start(struct plan *p, struct warming *w)
{
	w->p = p;
	atomic_init(&w->next, 1);
	w->nthreads = 0;
	if (p->nfiles < 2 || !src_url_remote(p->files[1].url) || !src_cache_default())
		return;
	while (w->nthreads < PLAN_REMOTE_THREADS && w->nthreads + 1 < p->nfiles &&
	       pthread_create(&w->tid[w->nthreads], NULL, warm_loop, w) == 0)
		w->nthreads++;
}

/* Wait for the warming threads; with stop, files not begun are left. */
static void warm_end(struct warming *w, bool stop)
{
	if (stop)
		atomic_store(&w->next, w->p->nfiles);
	for (size_t i = 0; i < w->nthreads; i++)
		pthread_join(w->tid[i], NULL);
}

int plan_new(const char *text, size_t len, const struct plan_opts *o, struct plan **out,
	     struct ql_error *err)
{
	struct plan *p = plan_alloc();
	if (!p)
		return -ENOMEM;
	struct rootio_file *f = NULL;
	struct rootio_tree *t = NULL;
	struct cuts *cuts = NULL;
	int rc = keep_text(p, text, len, o);
	if (!rc)
		rc = ql_parse(text, len, o->filename, &p->q, err);
	if (!rc)
		rc = plan_expand(p, o, err);
	struct warming warm = {0};
	if (!rc)
		warm_start(p, &warm);
	if (!rc)
		rc = compile_samples(p, err);
	if (warm.p)
		warm_end(&warm, rc != 0);
	if (!rc && !(cuts = calloc(p->nfiles + 1, sizeof(*cuts))))
		rc = -ENOMEM;
	if (!rc) {
		rc = check_files(p, o, f, t, cuts, err);
		f = NULL; /* check_files() closed them */
		t = NULL;
	}
	int64_t total = 0;
	for (size_t i = 0; !rc && i < p->nfiles; i++)
		total += p->files[i].entries;
	int64_t target = o->task_events > 0 ? o->task_events : default_task_events(total);
	for (size_t i = 0; !rc && i < p->nfiles; i++)
		rc = cut_file(p, (int)i, &cuts[i], target, o->task_events <= 0);
	rootio_tree_close(t);
	rootio_close(f);
	free(cuts);
	if (rc) {
		if (rc == -ENOMEM && err)
			ql_fail(err, o->filename, "", 0, 0, 0, NULL, "out of memory");
		plan_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* The recorded files and tasks into p, names copied. */
static int take_record(struct plan *p, const struct plan_file *files, size_t nfiles,
		       const struct plan_task *tasks, size_t ntasks)
{
	p->files = calloc(nfiles + 1, sizeof(*p->files));
	p->tasks = calloc(ntasks + 1, sizeof(*p->tasks));
	if (!p->files || !p->tasks)
		return -ENOMEM;
	p->capf = p->nfiles = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		p->files[i] = files[i];
		p->files[i].url = arena_strndup(p->arena, files[i].url, strlen(files[i].url));
		const char *tr = files[i].tree ? files[i].tree : "";
		p->files[i].tree = arena_strndup(p->arena, tr, strlen(tr));
		if (!p->files[i].url || !p->files[i].tree)
			return -ENOMEM;
	}
	p->capt = p->ntasks = ntasks;
	for (size_t i = 0; i < ntasks; i++) {
		if (tasks[i].file < 0 || (size_t)tasks[i].file >= nfiles)
			return -EINVAL;
		p->tasks[i] = tasks[i];
		p->events += tasks[i].last - tasks[i].first;
	}
	return 0;
}

int plan_resume(const char *text, size_t len, const struct plan_opts *o,
		const struct plan_file *files, size_t nfiles, const struct plan_task *tasks,
		size_t ntasks, struct plan **out, char *why, size_t cap)
{
	struct plan *p = plan_alloc();
	if (!p)
		return -ENOMEM;
	struct ql_error err;
	struct rootio_file *f = NULL;
	struct rootio_tree *t = NULL;
	int rc = keep_text(p, text, len, o);
	if (rc)
		snprintf(why, cap, "out of memory");
	else if ((rc = ql_parse(text, len, o->filename, &p->q, &err)))
		snprintf(why, cap, "%s", err.msg);
	if (!rc && (rc = take_record(p, files, nfiles, tasks, ntasks)))
		snprintf(why, cap, "%s", rc == -ENOMEM ? "out of memory" : "the recorded tasks are bad");
	for (size_t i = 0; !rc && i < nfiles; i++)
		if (!(o->remote_lazy && src_url_remote(p->files[i].url)))
			rc = plan_file_unchanged(&p->files[i], o, why, cap);
	for (size_t i = 0; !rc && i < nfiles; i++)
		if ((p->files[i].sample = plan_sample_of(p->q, o, p->files[i].url)) < 0) {
			snprintf(why, cap, "%s is in none of the query's samples", p->files[i].url);
			rc = -EINVAL;
		}
	if (!rc && nfiles) {
		uint64_t recorded = p->files[0].fingerprint;
		if ((rc = compile_samples(p, &err)))
			snprintf(why, cap, "%s", rc == -ENOMEM ? "out of memory" : err.msg);
		else if ((rc = open_file(p, 0, &f, &t, why, cap)) == 0) {
			if (recorded && rootio_tree_fingerprint(t) != recorded) {
				snprintf(why, cap, "%s changed since the job was planned: its tree '%s' differs",
					 p->files[0].url, p->files[0].tree);
				rc = ANA_ECHANGED;
			} else if ((rc = check_inputs(p, &p->files[0], t, why, cap)) == 0) {
				p->files[0].entries = rootio_tree_entries(t);
			}
		}
	}
	rootio_tree_close(t);
	rootio_close(f);
	if (rc) {
		plan_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- references and introspection ---- */

struct plan *plan_ref(struct plan *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void plan_unref(struct plan *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	plan_open_free(p);
	pthread_mutex_destroy(&p->open_mu);
	for (int s = 0; s < p->nq; s++) {
		eval_prog_free(p->progs[s]);
		if (s)
			ql_free(p->qs[s]);
	}
	if (!p->nq)
		eval_prog_free(p->prog);
	ql_free(p->q);
	free(p->files);
	free(p->tasks);
	arena_free(p->arena);
	free(p);
}

const struct ql_query *plan_query(const struct plan *p) { return p->q; }
const struct eval_prog *plan_prog(const struct plan *p) { return p->prog; }
size_t plan_ntasks(const struct plan *p) { return p->ntasks; }
const struct plan_task *plan_task(const struct plan *p, size_t i) { return &p->tasks[i]; }
size_t plan_nfiles(const struct plan *p) { return p->nfiles; }
const struct plan_file *plan_file(const struct plan *p, size_t i) { return &p->files[i]; }
int64_t plan_events(const struct plan *p) { return p->events; }

const char *plan_text(const struct plan *p, size_t *len)
{
	*len = p->text_len;
	return p->text;
}

const char *plan_basedir(const struct plan *p) { return p->basedir; }

static void digest_u64(XXH64_state_t *h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	XXH64_update(h, b, sizeof(b));
}

uint64_t plan_task_digest(const struct plan *p, size_t i)
{
	return plan_digest_of(p, &p->tasks[i]);
}

uint64_t plan_digest_of(const struct plan *p, const struct plan_task *t)
{
	const struct plan_file *f = &p->files[t->file];
	XXH64_state_t h;
	XXH64_reset(&h, 0x616e616673ull); /* "anafs" */
	digest_u64(&h, p->text_len);
	XXH64_update(&h, p->text, p->text_len);
	digest_u64(&h, strlen(f->url));
	XXH64_update(&h, f->url, strlen(f->url));
	digest_u64(&h, f->size);
	digest_u64(&h, (uint64_t)f->mtime_ns);
	digest_u64(&h, f->fingerprint);
	digest_u64(&h, (uint64_t)t->first);
	digest_u64(&h, (uint64_t)t->last);
	return XXH64_digest(&h);
}
