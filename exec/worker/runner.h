/* runner.h — running one task of a plan into a partial result: what a
 * worker does, on a thread of the daemon or (later) in a worker process.
 *
 * A runner opens the file of the task it runs when it needs it (closing
 * the one before), through the plan, which shares one open file between
 * the runners on it: a worker holds at most two input files at a time
 * whatever the size of the dataset (its task's, and with runner_run() on
 * a remote file with a disk cache, the next task's while its baskets are
 * prefetched), and the file is checked to be the one the job
 * planned (size and modification time at its opening; the tree's
 * fingerprint, its entries and the branches the query reads at each
 * runner's).
 *
 * Thread safety: a runner belongs to one thread; several runners may run
 * tasks of one plan at once. */
#ifndef ANAFS_RUNNER_H
#define ANAFS_RUNNER_H

#include "plan.h"
#include "result.h"
#include "src.h"

#include <stdint.h>

struct runner;

/* A runner for plan p (it takes a reference; dropped by runner_free()).
 * *out is new. */
int runner_new(struct plan *p, struct runner **out);
void runner_free(struct runner *r);

/* The plan the runner runs tasks of (borrowed). */
struct plan *runner_plan(const struct runner *r);

/* Run task i of the plan (and prefetch task i + 1's baskets when it is
 * in another remote file).  progress, when given, is called after each
 * batch with the events just done; when it returns non-zero the task stops
 * with -ECANCELED.  On success *out is the task's partial result (new:
 * result_free()).  Returns 0, or a negative code with msg (cap bytes)
 * naming the file, tree, branch and entry: ANA_ECHANGED when the file is
 * not the one planned (or changed while it was read). */
int runner_run(struct runner *r, size_t i, int (*progress)(void *ctx, int64_t events),
	       void *ctx, struct result **out, char *msg, size_t cap);

/* The same for entries [t->first, t->last) of file t->file of the plan,
 * which need not be one of its tasks: a worker process plans a file once
 * and runs every task it is given on it.  -EINVAL (msg says why) for a
 * file or entries the plan does not have. */
int runner_run_entries(struct runner *r, const struct plan_task *t,
		       int (*progress)(void *ctx, int64_t events), void *ctx, struct result **out,
		       char *msg, size_t cap);

/* Warm the node's disk cache for entries [t->first, t->last) of file
 * t->file, a task not run yet: its file opened (its header and the
 * tree's metadata come through the cache too) and the baskets of every
 * branch the query reads fetched into the cache now (src_warm()), so that
 * whichever worker of the node runs the task later reads no byte from
 * the server.  *bytes: what was fetched.  A local file needs nothing (0).
 * 0, or a negative code with msg: the file's open or identity check, the
 * server's error, -ENOTSUP without a disk cache. */
int runner_warm(struct runner *r, const struct plan_task *t, uint64_t *bytes, char *msg,
		size_t cap);

/* What the disk cache did for the reads of the runner's last task
 * (src_tally(): hits, misses, bytes from the cache and fetched, bytes
 * prefetched and used); all zero for local files. */
void runner_cache(const struct runner *r, struct src_stats *out);

/* Where the runner's fills go: its first task opens a device context
 * when the process's mode (gpu_mode_get(): --gpu, $ANAFS_GPU) and the
 * machine choose one (gpu_choose()), kept for the runner's life.  A
 * device error in a task sends that task's later fills to the CPU: the
 * task still succeeds, and runner_note() says what happened ("device out
 * of memory on NVIDIA H200: ..."), else "".  Borrowed, until the next task. */
const char *runner_note(const struct runner *r);
/* Fills the runner's last task made on the device. */
uint64_t runner_gpu_fills(const struct runner *r);
/* The program nodes the last task computed on the device. */
uint64_t runner_gpu_nodes(const struct runner *r);

/* Compressed bytes the runner has read from files so far. */
uint64_t runner_bytes_read(const struct runner *r);

#endif
