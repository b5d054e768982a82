/* coord_int.h — what the coordinator's files share.
 *
 * Threads: callers (the mount's handlers, `anafs run`); the planner
 * (coord_plan.c), which plans new jobs and takes up recorded ones; the
 * coordinator thread (coord_run.c), which dispatches tasks to the backend,
 * collects them, merges and commits; and the backend's workers.
 *
 * Locks, in the order they are taken (never the other way):
 *   c->lock   the job table, every field of every job, the queue of
 *             finished tasks (backends call done holding nothing);
 *   the backend's own lock (taken in dispatch, poll and describe);
 *   the store's mutex (store calls are made with or without c->lock).
 * A job's merged result (j->total) and its waiting partial results are
 * touched only by the coordinator thread once the job is planned, so
 * merging and encoding run without the lock; the store's commit refuses a
 * merge into a job that is over, which makes cancel and the last merge
 * race safely.  on_event is called with no lock held. */
#ifndef ANAFS_COORD_INT_H
#define ANAFS_COORD_INT_H

#include "backend.h"
#include "coord.h"
#include "plan.h"
#include "result.h"

#include <pthread.h>
#include <stdatomic.h>

/* A job the coordinator holds: from submission (or resumption) until it is
 * over and nothing of it runs. */
struct cjob {
	int64_t id;
	uint64_t gpu_fills;          /* fills its tasks made on a device (local workers) */
	uint64_t gpu_nodes;          /* nodes they computed there */
	enum job_status status;      /* the truth; the store follows it */
	char *error;                 /* when the store could not record it, else NULL */
	bool unrecorded;             /* the store lags behind status/error */
	uid_t uid;
	gid_t gid;
	char *filename;              /* the query's name in errors (new jobs) */
	bool resume;                 /* planned from the store's record */
	bool planning;               /* the planner works on it now */
	bool merging;                /* the coordinator thread merges it, unlocked */
	bool planned;
	char note[256];              /* what it waits for */
	/* Once planned: */
	struct plan *plan;
	struct result *total;        /* merged tasks [0, merged): coordinator thread only */
	size_t ntasks, next, merged;
	size_t window;               /* tasks dispatched and not merged, at most */
	struct result **slots;       /* finished, not merged: slot (i - merged) % window */
	int64_t *slot_events;
	char **slot_skip;            /* a slot left out (on_error skip): why; else NULL */
	uint32_t *attempts;          /* per task: tries handed out */
	uint8_t *tries;              /* per task: tries that failed with an error */
	uint8_t *losses;             /* per task: workers lost (or handing it back) while on it */
	struct retry *retry;         /* tasks to run again, soonest first */
	bool skip_errors;            /* its query says on_error skip */
	int skipped;                 /* tasks left out by this daemon */
	int running;                 /* tasks with the backend */
	struct btask *inflight;      /* those tasks */
	int64_t events_waiting;      /* in finished tasks not yet merged */
	int64_t events_done_here;    /* merged by this daemon */
	double active_secs;          /* time with tasks running, for the rate */
	double active_since;         /* > 0 while tasks run */
	atomic_ullong bytes;
	size_t warm_next;            /* tasks below were offered for warming (coord_warm.c) */
	struct store_cache cache;    /* the disk cache's figures of tries back, not yet stored */
	struct cjob *next_job;
};

/* A task to hand out again, not before at (monotonic seconds). */
struct retry {
	size_t idx;
	double at;
	struct retry *next;
};

/* Workers lost while running one task before it fails its job: a task
 * that kills every worker it is given must not go round for ever. */
#define COORD_MAX_LOSSES 5

/* What a job that left the table still needs to show: a state the store
 * could not record, or a damaged record. */
struct override {
	int64_t id;
	enum job_status status;
	char *error;
	struct override *next;
};

#define COORD_MAX_EVENTS 64

struct coord {
	struct coord_opts o;
	char gpu_text[256];          /* where this process's fills go (gpu_choose()), for the log */
	pthread_mutex_t lock;
	pthread_cond_t changed;      /* a job changed: coord_wait */
	pthread_cond_t plan_cv;      /* a job to plan */
	pthread_cond_t run_cv;       /* something for the coordinator thread */
	struct cjob *jobs;           /* by id */
	struct override *overrides;
	bool stopping;
	uint64_t hist_memory;
	char host[64];
	/* Events to hand to on_event once the lock is let go. */
	struct { int64_t job; unsigned ev; } events[COORD_MAX_EVENTS];
	int nevents;
	/* Finished tasks, given back by the backend, for the coordinator thread. */
	struct btask *done, **done_tail;
	/* The backend and the threads. */
	const struct backend_ops *bops;
	struct backend *backend;
	pthread_t planner, runner;
	bool planner_started, runner_started;
	atomic_ullong bytes_read, events_read; /* by tasks given back */
	atomic_int pending;          /* tasks runnable and not handed out, at the last dispatch */
	bool adopted;                /* a result was adopted: merge (under lock) */
};

/* ---- coord.c: the table, the state machine, events ---- */

/* Under c->lock: the job held as id, or NULL. */
struct cjob *coord_find(struct coord *c, int64_t id);

/* Under c->lock: move j to status to (error when not NULL), if the state
 * machine allows it from j's status: the store records it (when it cannot,
 * the job holds it in memory and says so on stderr) and the event is
 * queued.  Returns 0 or -EBUSY (not allowed: nothing changes). */
int coord_transition(struct coord *c, struct cjob *j, enum job_status to, const char *error);

/* Under c->lock: a log line for job id (best effort) and its event. */
void coord_log(struct coord *c, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Under c->lock: queue events for on_event; wake coord_wait. */
void coord_emit(struct coord *c, int64_t id, unsigned ev);

/* Let go of c->lock and hand the queued events to on_event. */
void coord_unlock(struct coord *c);

/* Under c->lock: drop j from the table when it is over and nothing of it
 * runs (keeping an override when the store lags; its cache figures
 * stored). */
void coord_retire(struct coord *c, struct cjob *j);

/* Under c->lock: set the stop flag of every task of j in flight. */
void coord_stop_tasks(struct cjob *j);

/* Under c->lock: make planned job j runnable with plan p (the reference
 * is taken), resumed at merged tasks with the saved result (NULL: none).
 * Returns 0 or -ENOMEM / ANA_ECORRUPT. */
int coord_attach(struct coord *c, struct cjob *j, struct plan *p, size_t merged,
		 const void *saved, size_t len);

/* ---- coord_plan.c: the planner thread ---- */
void *coord_planner(void *arg);

/* ---- coord_run.c: the coordinator thread, and done for backends ---- */
void *coord_runner(void *arg);
void coord_task_done(void *ctx, struct btask *t);
struct btask *coord_task_pull(void *ctx);
int coord_task_pending(void *ctx);
int coord_task_adopt(void *ctx, int64_t job, size_t idx, uint64_t digest, const void *blob,
		     size_t len, int64_t events, uint64_t bytes);

/* Add the cache figures d to job id's in the store (a no-op for zeros);
 * any lock or none. */
void coord_store_cache(struct coord *c, int64_t id, const struct store_cache *d);

/* ---- coord_warm.c: filling caches ahead of the tasks ---- */
/* Under c->lock, after a dispatch round: offer the backend the first
 * tasks of queued jobs, and a running job's next tasks that start another
 * file, over remote files, to warm its nodes' caches. */
void coord_warm(struct coord *c);
void coord_task_warmed(void *ctx, int64_t job, size_t idx, const char *host, int rc,
		       uint64_t bytes, double secs, const char *why);

#endif
