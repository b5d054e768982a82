/* backend.h — how the coordinator has tasks run: one ops table per kind of
 * worker (local threads now; worker processes on this machine, Slurm or
 * HTCondor later), as the byte sources have their src_ops.
 *
 * Tasks reach a worker two ways: the coordinator dispatches one to a free
 * slot, and a worker that just gave a task back may pull the next one at
 * once (env->pull), which saves the round trip through the coordinator's
 * thread between two tasks.  Either way the task is chosen when a worker
 * is free to start it, so tasks never queue inside a backend and pausing
 * a job takes effect at the next free slot.  A backend reports each task
 * it was given exactly once, through env->done, whatever its outcome; a
 * task whose stop flag is set may end early with -ECANCELED.
 *
 * Thread safety: the coordinator calls the ops from its own thread (and
 * describe from any thread); done and pull may be called from any
 * thread, with no backend lock held.
 *
 * A task given back with rc ANA_ELOST (its worker went silent or away) or
 * ANA_EGIVENBACK (its worker handed it back unrun) is run again at once,
 * not counted as a failure; any other error is retried with backoff up to
 * the job's limit. */
#ifndef ANAFS_BACKEND_H
#define ANAFS_BACKEND_H

#include "plan.h"
#include "result.h"
#include "store.h"
#include "strbuf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One task handed to a backend.  The coordinator owns it; the backend
 * fills the outcome and gives it back through done. */
struct btask {
	int64_t job;
	size_t idx;               /* the task's index in its plan */
	struct plan *plan;        /* a reference, held by the coordinator */
	atomic_bool stop;         /* set by the coordinator: abandon the task */
	atomic_llong events;      /* done so far, for progress */
	atomic_ullong bytes;      /* compressed bytes read so far */
	/* The outcome, written by the backend before done: */
	int rc;                   /* 0, -ECANCELED when stopped, or the error */
	struct result *result;    /* rc == 0: the partial result (the coordinator takes it) */
	char msg[1024];           /* rc < 0: why, naming file and entries */
	char note[256];           /* rc == 0: a line for the job's log ("" none): the device
				   * failed and the task's fills went on on the CPU */
	uint64_t gpu_fills;       /* rc == 0: histogram fills it made on a device */
	uint64_t gpu_nodes;       /* rc == 0: program nodes computed there */
	struct store_cache cache; /* what the disk cache did for this try's reads (src_tally()) */
	int worker;               /* which worker ran it (for the log) */
	uint32_t attempt;         /* 1 for the first try, +1 for each retry */
	uint64_t digest;          /* plan_task_digest(plan, idx) */
	/* The coordinator's two lists; a task is on both between done and its
	 * collection, so each has its own link. */
	struct btask *next_inflight; /* its job's tasks with the backend */
	struct btask *next_done;     /* the tasks given back, not collected yet */
};

/* A task whose data a backend may fetch ahead into a node's disk cache
 * (backend_ops.warm): the task is not run, and stays the coordinator's to
 * dispatch later.  Borrowed for the call. */
struct bwarm {
	int64_t job;
	size_t idx;
	struct plan *plan;
	uint64_t digest;
};

struct backend_env {
	int workers;              /* slots to offer */
	const char *host;         /* this machine's name, for describe */
	void (*done)(void *ctx, struct btask *t);
	/* The next task for a worker that has just given one back, or NULL
	 * (none runnable now: the coordinator dispatches later). */
	struct btask *(*pull)(void *ctx);
	/* Tasks runnable now and not handed out (for scaling); may be called
	 * from any thread. */
	int (*pending)(void *ctx);
	/* A result the backend holds for no task it was given: a worker's,
	 * kept across a lost connection or from a coordinator run before this
	 * one.  The coordinator takes it (0; blob is copied) when the task of
	 * that job, index and digest is not merged nor already back; else
	 * -ESTALE (unknown job or digest), -EALREADY (merged or back already)
	 * or -EBADMSG (the blob does not decode for that job).  Any thread,
	 * no backend lock held. */
	int (*adopt)(void *ctx, int64_t job, size_t idx, uint64_t digest, const void *blob,
		     size_t len, int64_t events, uint64_t bytes);
	/* A warm's outcome (backend_ops.warm): where it ran, 0 and the bytes
	 * fetched, or the error and why.  Any thread, no backend lock held;
	 * may be NULL. */
	void (*warmed)(void *ctx, int64_t job, size_t idx, const char *host, int rc,
		       uint64_t bytes, double secs, const char *why);
	void *ctx;
	/* For backends with worker processes: */
	const char *statedir;     /* the state folder (secret, socket, config) */
	const void *conf;         /* the backend's configuration (dist.h), or NULL */
	/* A line for the daemon's log (stderr); may be NULL. */
	void (*log)(void *ctx, const char *line);
};

struct backend;

struct backend_ops {
	const char *name;         /* "threads", "workers" */
	/* Start the backend: *out is new.  0 or a negative errno. */
	int (*start)(const struct backend_env *env, struct backend **out);
	/* Stop: every task in flight gets its stop flag, is reported through
	 * done, and the backend is freed. */
	void (*stop)(struct backend *b);
	/* Hand over t: 0, or -EAGAIN when no slot is free (t not taken). */
	int (*dispatch)(struct backend *b, struct btask *t);
	/* Housekeeping (leases, scaling; nothing for threads), then the
	 * number of slots free now. */
	int (*poll)(struct backend *b);
	/* One line per worker: id, host, backend, state, job and task,
	 * events done, events/s, last heard (a header line first). */
	void (*describe)(struct backend *b, struct strbuf *out);
	/* A command from the user ("scale N"): 0, or -EINVAL / -ENOTSUP with
	 * msg (cap bytes).  May be NULL (nothing to control). */
	int (*control)(struct backend *b, const char *cmd, size_t len, char *msg, size_t cap);
	/* Workers connected and ready now; may be NULL (then env->workers). */
	int (*live)(struct backend *b);
	/* May be NULL (no warming).  Have a worker fetch w's data into its
	 * node's disk cache now, ahead of the task's run, and remember that
	 * node for the task's file so that dispatch gives the task to it.  0:
	 * sent (the outcome comes through env->warmed); -EAGAIN: no worker
	 * can take one now; another negative code: this task cannot be warmed
	 * (not tried again). */
	int (*warm)(struct backend *b, const struct bwarm *w);
};

/* Worker threads of this process. */
extern const struct backend_ops backend_local;

#endif
