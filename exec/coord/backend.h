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
 * thread, with no backend lock held. */
#ifndef ANAFS_BACKEND_H
#define ANAFS_BACKEND_H

#include "plan.h"
#include "result.h"
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
	int worker;               /* which worker ran it (for the log) */
	/* The coordinator's two lists; a task is on both between done and its
	 * collection, so each has its own link. */
	struct btask *next_inflight; /* its job's tasks with the backend */
	struct btask *next_done;     /* the tasks given back, not collected yet */
};

struct backend_env {
	int workers;              /* slots to offer */
	const char *host;         /* this machine's name, for describe */
	void (*done)(void *ctx, struct btask *t);
	/* The next task for a worker that has just given one back, or NULL
	 * (none runnable now: the coordinator dispatches later). */
	struct btask *(*pull)(void *ctx);
	void *ctx;
};

struct backend;

struct backend_ops {
	const char *name;         /* "local" */
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
	/* One line per worker: id, host, backend, state, tasks, events/s. */
	void (*describe)(struct backend *b, struct strbuf *out);
};

/* Worker threads of this process. */
extern const struct backend_ops backend_local;

#endif
