/* run.h — running a query over its dataset: plan the work into tasks (a
 * file and an entry range aligned to basket boundaries), run tasks into a
 * partial result (an eval_state), merge.  `anafs run` runs every task on
 * local threads; the daemon hands the same tasks to workers.
 *
 * Thread safety: a plan is immutable once made and may be shared; run
 * tasks of one plan from several threads, each with its own runner. */
#ifndef ANAFS_RUN_H
#define ANAFS_RUN_H

#include "eval.h"
#include "ql.h"

#include <stdint.h>

#define RUN_MAX_FILES 100000
#define RUN_BATCH 8192 /* events per evaluation batch */

struct run_task {
	int file;
	int64_t first, last; /* entries [first, last) */
};

struct run_plan;

/* Parse the query text, expand its dataset (globs; relative paths are
 * relative to basedir), open every file, check the query against the
 * first file's tree, compile it and cut the work into tasks of about
 * task_events events (0: a default).  On failure err says why: a query
 * error with line and column, or the file that could not be read.
 * *out is new: run_plan_free(). */
int run_plan_new(const char *text, size_t len, const char *filename, const char *basedir,
		 int64_t task_events, struct run_plan **out, struct ql_error *err);
void run_plan_free(struct run_plan *p);

const struct ql_query *run_plan_query(const struct run_plan *p);
const struct eval_prog *run_plan_prog(const struct run_plan *p);
size_t run_plan_ntasks(const struct run_plan *p);
const struct run_task *run_plan_task(const struct run_plan *p, size_t i);
size_t run_plan_nfiles(const struct run_plan *p);
const char *run_plan_file(const struct run_plan *p, size_t i);
int64_t run_plan_events(const struct run_plan *p); /* in every task together */

/* A runner: what one thread needs to run tasks (open tree, buffers). */
struct runner;
int runner_new(const struct run_plan *p, struct runner **out);
void runner_free(struct runner *r);

/* Run task t into state st (from eval_state_new on the plan's program).
 * progress, when given, is called after each batch with the events just
 * done; when it returns non-zero the task stops with -ECANCELED (st then
 * holds part of the task: discard it).  Returns 0, or a negative code with msg (cap bytes) naming the
 * file, tree, branch and entry. */
int runner_run(struct runner *r, const struct run_task *t, struct eval_state *st,
	       int (*progress)(void *ctx, int64_t events), void *ctx, char *msg, size_t cap);

/* Compressed bytes the runner has read from files so far. */
uint64_t runner_bytes_read(const struct runner *r);

/* Run every task of p on nthreads threads; *out is the merged result (new:
 * eval_state_free()). */
int run_all(const struct run_plan *p, int nthreads, int (*progress)(void *ctx, int64_t events),
	    void *ctx, struct eval_state **out, char *msg, size_t cap);

/* The cutflow as text: a line per filter with the events passing it. */
char *run_cutflow_text(const struct run_plan *p, const struct eval_state *st);

#endif
