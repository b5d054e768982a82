/* run.c — from query text to a merged result: dataset expansion, the
 * schema of the first file, checking, compiling, cutting the entries into
 * tasks on basket boundaries, and running tasks on threads. */
#include "run.h"

#include "arena.h"
#include "result.h"

#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pfile {
	char *url;
	char *tree;   /* path of the tree in this file */
	struct rootio_file *f;
	int64_t entries;
};

struct run_plan {
	struct ql_query *q;
	struct eval_prog *prog;
	struct arena *arena;
	struct pfile *files;
	int nfiles, capf;
	struct ql_column *cols; /* schema of the first file */
	size_t ncols;
	struct run_task *tasks;
	size_t ntasks, capt;
	int64_t events;
};

static int plan_fail(struct ql_error *err, const struct ql_query *q, const char *hint,
		     const char *fmt, const char *a, const char *b)
{
	char msg[600];
	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	ql_fail(err, q->filename, q->text, q->dataset_line, 1, 7, hint, "%s", msg);
	return -EINVAL;
}

static int add_file(struct run_plan *p, const char *url)
{
	if (p->nfiles == RUN_MAX_FILES)
		return -E2BIG;
	if (p->nfiles == p->capf) {
		int cap = p->capf ? 2 * p->capf : 16;
		struct pfile *v = realloc(p->files, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->files = v;
		p->capf = cap;
	}
	struct pfile *f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	if (!(f->url = arena_strndup(p->arena, url, strlen(url))))
		return -ENOMEM;
	p->nfiles++;
	return 0;
}

static int expand(struct run_plan *p, const char *basedir, struct ql_error *err)
{
	const struct ql_query *q = p->q;
	for (int i = 0; i < q->ndatasets; i++) {
		const char *d = q->datasets[i];
		char path[4096];
		int rc;
		if (strstr(d, "://") || d[0] == '/' || !basedir || !*basedir)
			snprintf(path, sizeof(path), "%s", d);
		else
			snprintf(path, sizeof(path), "%s/%s", basedir, d);
		if (strstr(d, "://") || !strpbrk(d, "*?[")) {
			if ((rc = add_file(p, path)))
				return rc == -E2BIG ? plan_fail(err, q, NULL, "more than %s files", "100000", NULL)
						    : rc;
			continue;
		}
		glob_t g;
		int gr = glob(path, GLOB_ERR, NULL, &g);
		if (gr == GLOB_NOMATCH || (gr == 0 && g.gl_pathc == 0)) {
			if (gr == 0)
				globfree(&g);
			return plan_fail(err, q, "check the path; relative paths start at the query's folder",
					 "dataset pattern '%s' matches no file", d, NULL);
		}
		if (gr)
			return plan_fail(err, q, NULL, "cannot expand dataset pattern '%s'", d, NULL);
		for (size_t k = 0; k < g.gl_pathc; k++)
			if ((rc = add_file(p, g.gl_pathv[k]))) {
				globfree(&g);
				return rc;
			}
		globfree(&g);
	}
	return 0;
}

/* The tree the query means in file f: `tree` if given, else Events, else
 * the file's only tree. */
static const char *pick_tree(const struct ql_query *q, struct rootio_file *f)
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

static enum ql_type ql_type_of(enum rootio_type t)
{
	return t == ROOTIO_BOOL ? QL_BOOL : t == ROOTIO_F32 || t == ROOTIO_F64 ? QL_FLOAT : QL_INT;
}

static bool readable(const struct rootio_branch *b)
{
	return b->kind == ROOTIO_FLAT || b->kind == ROOTIO_FIXED ||
	       (b->kind == ROOTIO_JAGGED && b->fixed_len == 1);
}

static int make_schema(struct run_plan *p, struct rootio_tree *t)
{
	size_t n = rootio_tree_ncolumns(t);
	p->cols = arena_alloc(p->arena, (n + 1) * sizeof(*p->cols));
	if (!p->cols)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rootio_branch *b = rootio_tree_column(t, i);
		struct ql_column *c = &p->cols[i];
		c->name = arena_strndup(p->arena, b->name, strlen(b->name));
		c->readable = readable(b);
		c->type = ql_type_of(b->type);
		c->jagged = b->kind == ROOTIO_JAGGED;
		c->fixed_len = b->kind == ROOTIO_FIXED ? b->fixed_len : 0;
		if (c->jagged) {
			const char *cn = rootio_tree_column(t, (size_t)b->counter)->name;
			c->counter = arena_strndup(p->arena, cn, strlen(cn));
		}
		if (!c->name || (c->jagged && !c->counter))
			return -ENOMEM;
	}
	p->ncols = n;
	return 0;
}

static int add_task(struct run_plan *p, int file, int64_t a, int64_t b)
{
	if (p->ntasks == p->capt) {
		size_t cap = p->capt ? 2 * p->capt : 64;
		struct run_task *v = realloc(p->tasks, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->tasks = v;
		p->capt = cap;
	}
	p->tasks[p->ntasks++] = (struct run_task){file, a, b};
	p->events += b - a;
	return 0;
}

/* Cut file i into tasks of at least target events that end on basket
 * boundaries of the first column the program reads, so that no basket is
 * decoded by two tasks (NanoAOD writes the baskets of all branches on the
 * same entry clusters). */
static int cut_tasks(struct run_plan *p, int i, struct rootio_tree *t, int64_t target)
{
	int64_t n = p->files[i].entries, a = 0;
	const int64_t *starts = NULL;
	size_t nb = 0, k = 0;
	if (eval_ninputs(p->prog)) {
		const char *name = p->cols[eval_input_column(p->prog, 0)].name;
		int c = rootio_tree_find(t, name);
		if (c >= 0)
			(void)rootio_tree_baskets(t, (size_t)c, &starts, &nb);
	}
	while (a < n) {
		int64_t b = a + target < n ? a + target : n;
		if (nb) {
			while (k < nb && starts[k] < b)
				k++;
			b = k < nb && starts[k] < n ? starts[k] : n;
		}
		int rc = add_task(p, i, a, b);
		if (rc)
			return rc;
		a = b;
	}
	return 0;
}

int run_plan_new(const char *text, size_t len, const char *filename, const char *basedir,
		 int64_t task_events, struct run_plan **out, struct ql_error *err)
{
	struct run_plan *p = calloc(1, sizeof(*p));
	if (!p || !(p->arena = arena_new())) {
		free(p);
		return -ENOMEM;
	}
	int rc = ql_parse(text, len, filename, &p->q, err);
	if (!rc)
		rc = expand(p, basedir, err);
	int64_t total = 0;
	struct rootio_tree *first = NULL;
	for (int i = 0; i < p->nfiles && !rc; i++) {
		struct pfile *f = &p->files[i];
		struct rootio_err e;
		struct rootio_tree *t = NULL;
		if ((rc = rootio_open(f->url, &f->f, &e)) ||
		    (rc = rootio_tree_open(f->f, pick_tree(p->q, f->f), &t, &e))) {
			rc = plan_fail(err, p->q, NULL, "%s", e.msg, NULL);
			break;
		}
		f->tree = arena_strndup(p->arena, pick_tree(p->q, f->f), strlen(pick_tree(p->q, f->f)));
		f->entries = rootio_tree_entries(t);
		total += f->entries;
		if (i == 0) {
			first = t;
			rc = make_schema(p, t);
		} else {
			rootio_tree_close(t);
		}
	}
	if (!rc && !(rc = ql_check(p->q, &(struct ql_schema){p->cols, p->ncols}, err)))
		rc = eval_compile(p->q, &p->prog);
	if (!rc && task_events <= 0) {
		task_events = total / 64;
		task_events = task_events < 20000 ? 20000 : task_events > 1000000 ? 1000000 : task_events;
	}
	for (int i = 0; i < p->nfiles && !rc; i++) {
		struct rootio_tree *t = first;
		struct rootio_err e;
		if (i > 0 && rootio_tree_open(p->files[i].f, p->files[i].tree, &t, &e))
			t = NULL;
		if (t)
			rc = cut_tasks(p, i, t, task_events);
		if (t && t != first)
			rootio_tree_close(t);
	}
	rootio_tree_close(first);
	if (rc) {
		if (rc == -ENOMEM && err)
			ql_fail(err, filename, "", 0, 0, 0, NULL, "out of memory");
		run_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void run_plan_free(struct run_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nfiles; i++)
		rootio_close(p->files[i].f);
	eval_prog_free(p->prog);
	ql_free(p->q);
	free(p->files);
	free(p->tasks);
	arena_free(p->arena);
	free(p);
}

const struct ql_query *run_plan_query(const struct run_plan *p) { return p->q; }
const struct eval_prog *run_plan_prog(const struct run_plan *p) { return p->prog; }
size_t run_plan_ntasks(const struct run_plan *p) { return p->ntasks; }
const struct run_task *run_plan_task(const struct run_plan *p, size_t i) { return &p->tasks[i]; }
size_t run_plan_nfiles(const struct run_plan *p) { return (size_t)p->nfiles; }
const char *run_plan_file(const struct run_plan *p, size_t i) { return p->files[i].url; }
int64_t run_plan_events(const struct run_plan *p) { return p->events; }

/* ---- running ---- */

struct runner {
	const struct run_plan *p;
	int file;                  /* whose tree is open, or -1 */
	struct rootio_tree *t;
	int *map;                  /* program input -> column of this tree */
	struct rootio_column *cols;
	const struct rootio_column **colp;
	size_t ninputs;
	uint64_t bytes_closed; /* read by trees already closed */
};

uint64_t runner_bytes_read(const struct runner *r)
{
	struct rootio_stats st = {0};
	if (r->t)
		rootio_tree_stats(r->t, &st);
	return r->bytes_closed + st.bytes_read;
}

int runner_new(const struct run_plan *p, struct runner **out)
{
	struct runner *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->p = p;
	r->file = -1;
	r->ninputs = eval_ninputs(p->prog);
	r->map = calloc(r->ninputs + 1, sizeof(*r->map));
	r->cols = calloc(r->ninputs + 1, sizeof(*r->cols));
	r->colp = calloc(r->ninputs + 1, sizeof(*r->colp));
	if (!r->map || !r->cols || !r->colp) {
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

void runner_free(struct runner *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->cols && i < r->ninputs; i++)
		rootio_column_free(&r->cols[i]);
	rootio_tree_close(r->t);
	free(r->map);
	free(r->cols);
	free(r->colp);
	free(r);
}

/* Open file i's tree and find the program's columns in it, checking they
 * have the types the query was checked with. */
static int open_file(struct runner *r, int i, char *msg, size_t cap)
{
	const struct run_plan *p = r->p;
	r->bytes_closed = runner_bytes_read(r);
	rootio_tree_close(r->t);
	r->t = NULL;
	r->file = -1;
	struct rootio_err e;
	int rc = rootio_tree_open(p->files[i].f, p->files[i].tree, &r->t, &e);
	if (rc) {
		snprintf(msg, cap, "%s", e.msg);
		return rc;
	}
	for (size_t k = 0; k < r->ninputs; k++) {
		const struct ql_column *want = &p->cols[eval_input_column(p->prog, k)];
		int c = rootio_tree_find(r->t, want->name);
		const struct rootio_branch *b = c >= 0 ? rootio_tree_column(r->t, (size_t)c) : NULL;
		if (!b || !readable(b) || ql_type_of(b->type) != want->type ||
		    (b->kind == ROOTIO_JAGGED) != want->jagged ||
		    (want->jagged && strcmp(rootio_tree_column(r->t, (size_t)b->counter)->name, want->counter))) {
			snprintf(msg, cap, "%s: tree '%s': branch '%s' %s", p->files[i].url, p->files[i].tree,
				 want->name, b ? "has another type or shape than in the first file"
					       : "is missing (it is in the first file)");
			return -EINVAL;
		}
		r->map[k] = c;
	}
	r->file = i;
	return 0;
}

int runner_run(struct runner *r, const struct run_task *t, struct eval_state *st,
	       int (*progress)(void *ctx, int64_t events), void *ctx, char *msg, size_t cap)
{
	int rc;
	if (r->file != t->file && (rc = open_file(r, t->file, msg, cap)))
		return rc;
	for (int64_t a = t->first; a < t->last; a += RUN_BATCH) {
		int64_t b = a + RUN_BATCH < t->last ? a + RUN_BATCH : t->last;
		for (size_t k = 0; k < r->ninputs; k++) {
			struct rootio_err e;
			if ((rc = rootio_read(r->t, (size_t)r->map[k], a, b, &r->cols[k], &e))) {
				snprintf(msg, cap, "%s", e.msg);
				return rc;
			}
		}
		const char *why = NULL;
		if ((rc = eval_run(st, b - a, r->colp, &why))) {
			snprintf(msg, cap, "%s: tree '%s', entries %lld to %lld: %s",
				 r->p->files[t->file].url, r->p->files[t->file].tree, (long long)a,
				 (long long)b, why ? why : "evaluation failed");
			return rc;
		}
		if (progress && progress(ctx, b - a)) {
			snprintf(msg, cap, "stopped");
			return -ECANCELED;
		}
	}
	return 0;
}

/* ---- threads ---- */

/* Workers take tasks in turn; each task's partial result is merged into
 * the total in task order, so the result (sums of weights included) does
 * not depend on the number of threads or on which thread ran what. */
struct pool {
	const struct run_plan *p;
	atomic_size_t next;
	atomic_int failed;
	int (*progress)(void *, int64_t);
	void *ctx;
	pthread_mutex_t lock;
	struct eval_state **partial; /* per task, until merged */
	size_t merged;               /* tasks merged into total */
	struct eval_state *total;
	char msg[1024];
	int rc;
};

/* Under the lock: merge every partial that is next in order. */
static int merge_ready(struct pool *pl)
{
	int rc = 0;
	while (!rc && pl->merged < pl->p->ntasks && pl->partial[pl->merged]) {
		rc = eval_state_merge(pl->total, pl->partial[pl->merged]);
		eval_state_free(pl->partial[pl->merged]);
		pl->partial[pl->merged++] = NULL;
	}
	return rc;
}

static void fail_pool(struct pool *pl, int rc, const char *msg)
{
	pthread_mutex_lock(&pl->lock);
	if (!atomic_exchange(&pl->failed, 1)) {
		snprintf(pl->msg, sizeof(pl->msg), "%s", *msg ? msg : "out of memory");
		pl->rc = rc;
	}
	pthread_mutex_unlock(&pl->lock);
}

static void *work(void *arg)
{
	struct pool *pl = arg;
	struct runner *r = NULL;
	struct eval_state *st = NULL;
	char msg[1024] = "";
	int rc = runner_new(pl->p, &r);
	if (!rc)
		rc = eval_state_new(pl->p->prog, &st);
	while (!rc && !atomic_load(&pl->failed)) {
		size_t i = atomic_fetch_add(&pl->next, 1);
		if (i >= pl->p->ntasks)
			break;
		struct eval_state *part = NULL;
		rc = runner_run(r, &pl->p->tasks[i], st, pl->progress, pl->ctx, msg, sizeof(msg));
		if (!rc)
			rc = eval_state_split(st, &part);
		if (!rc) {
			pthread_mutex_lock(&pl->lock);
			pl->partial[i] = part;
			rc = merge_ready(pl);
			pthread_mutex_unlock(&pl->lock);
		}
	}
	eval_state_free(st);
	runner_free(r);
	if (rc)
		fail_pool(pl, rc, msg);
	return NULL;
}

int run_all(const struct run_plan *p, int nthreads, int (*progress)(void *ctx, int64_t events),
	    void *ctx, struct eval_state **out, char *msg, size_t cap)
{
	if (nthreads < 1)
		nthreads = 1;
	if ((size_t)nthreads > p->ntasks)
		nthreads = p->ntasks ? (int)p->ntasks : 1;
	struct pool pl = {.p = p, .progress = progress, .ctx = ctx};
	pthread_mutex_init(&pl.lock, NULL);
	pl.partial = calloc(p->ntasks + 1, sizeof(*pl.partial));
	pthread_t *tid = calloc((size_t)nthreads, sizeof(*tid));
	int rc = pl.partial && tid ? eval_state_new(p->prog, &pl.total) : -ENOMEM;
	int started = 0;
	for (int i = 1; i < nthreads && !rc; i++, started++)
		if (pthread_create(&tid[i], NULL, work, &pl))
			break;
	if (!rc)
		work(&pl);
	for (int i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	if (!rc && pl.rc) {
		rc = pl.rc;
		snprintf(msg, cap, "%s", pl.msg);
	}
	for (size_t i = 0; pl.partial && i < p->ntasks; i++)
		eval_state_free(pl.partial[i]);
	if (!rc)
		*out = pl.total;
	else {
		eval_state_free(pl.total);
		if (!*msg)
			snprintf(msg, cap, "%s", rc == -ENOMEM ? "out of memory" : "run failed");
	}
	free(pl.partial);
	free(tid);
	pthread_mutex_destroy(&pl.lock);
	return rc;
}

char *run_cutflow_text(const struct run_plan *p, const struct eval_state *st)
{
	(void)p;
	return result_cutflow(eval_state_result(st));
}
