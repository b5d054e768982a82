/* coord.h — the coordinator: the one executor of jobs, for the mount and
 * for `anafs run` alike.
 *
 * A job is submitted (its query parsed and checked, the job recorded),
 * planned by the coordinator's planner (dataset expanded, every file
 * checked, tasks cut), its tasks handed to a backend (local threads; worker
 * processes later), their partial results merged in task order and each
 * merge committed to the store with its task marked done.  Every change of
 * a job's state goes through one state machine under the coordinator's
 * lock (docs/internals.md has the lock order and the transitions; the
 * user's view of them is in docs/mount.md).  At start it resumes every
 * unfinished job of the store from its last merged task.
 *
 * Thread safety: every call may come from any thread.  on_event is called
 * with no coordinator lock held. */
#ifndef ANAFS_COORD_H
#define ANAFS_COORD_H

#include "ql.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct backend_ops;
struct coord;

/* What changed in a job, for on_event (a bit set). */
enum coord_event {
	COORD_EV_STATUS = 1,   /* status or error (terminal or not) */
	COORD_EV_RESULT = 2,   /* a task was merged: hist.json, cutflow, plots */
	COORD_EV_LOG = 4,      /* a line was appended to the log */
	COORD_EV_CREATED = 8,  /* the job is new */
};

struct coord_opts {
	struct store *st;        /* borrowed: it must outlive the coordinator */
	int workers;             /* local worker threads, >= 1 */
	uint64_t hist_memory;    /* bytes every copy of one job's histograms may take
				    together; 0: half the machine's memory */
	bool check_access;       /* jobs read only files their submitter may read */
	const char *base_desc;   /* where relative dataset paths start, for hints
				    ("the folder anafs mount ran in"); borrowed */
	bool resume;             /* resume the store's unfinished jobs at start */
	int64_t task_events;     /* events per task, about; 0: a default (plan.h) */
	/* The backend that runs tasks: NULL for threads of this process
	 * (backend_local).  conf and statedir are handed to it. */
	const struct backend_ops *backend;
	const void *backend_conf;
	const char *statedir;
	int retries;             /* tries of a failing task after its first (0: none) */
	double retry_backoff;    /* seconds before the first retry, doubled for each next */
	bool no_reuse;           /* every job runs: none takes an earlier job's result */
	/* Called when job changes (events: enum coord_event bits), from a
	 * coordinator thread or the caller of coord_submit()/coord_control(),
	 * never with a coordinator lock held.  It must not call back into the
	 * coordinator and should return quickly.  May be NULL. */
	void (*on_event)(void *ctx, int64_t job, unsigned events);
	void *event_ctx;
};

/* Start the planner, the backend and the coordinator's thread; resume
 * unfinished jobs when o->resume.  *out: coord_stop().  Returns 0 or a
 * negative errno with msg (cap bytes) saying why. */
int coord_start(const struct coord_opts *o, struct coord **out, char *msg, size_t cap);

/* Stop everything (tasks running are abandoned: they run again at the next
 * start) and free the coordinator.  Jobs stay as the store has them. */
void coord_stop(struct coord *c);

struct coord_submission {
	const char *name;      /* the job's name ("dimuon"), for jobs/NAME */
	const char *filename;  /* the query's name in errors ("dimuon.query") */
	uid_t uid;             /* who submits */
	gid_t gid;
	const char *text;      /* the query, len bytes (borrowed) */
	size_t len;
	const char *basedir;   /* where relative dataset paths start */
	bool fresh;            /* run it even when an earlier job's result would do */
};

/* Submit a query.  What can be checked without its data is checked now:
 * the syntax, histogram binnings, the memory its histograms need.  The
 * job is then recorded as queued and *id set; its dataset is expanded and
 * its files read by the planner afterwards (their errors make the job
 * invalid, with the reason in its error).  Returns 0; -EINVAL when the
 * query is refused (the job is recorded as invalid, *id set, err filled);
 * or another negative errno (nothing recorded, err says why). */
int coord_submit(struct coord *c, const struct coord_submission *s, int64_t *id,
		 struct ql_error *err);

/* "cancel", "pause", "resume" or "rerun", a trailing newline or blanks
 * allowed.  Returns 0; -EINVAL for anything else; -ENOENT for no such
 * job; -EBUSY when the job is over (nothing changes; not for rerun).
 * Pausing a paused job and resuming one that is not paused change nothing
 * and return 0.  "rerun", in any status, submits the job's query again as
 * a new job of the same name and owner that runs afresh (it takes no
 * earlier result); both logs name the other. */
int coord_control(struct coord *c, int64_t id, const char *cmd, size_t len);

/* A job as the coordinator sees it: the store's record, with what the
 * coordinator knows better (a state it could not record because the store
 * refused the write, a job whose record is damaged).  Returns 0 or
 * -ENOENT. */
int coord_job(struct coord *c, int64_t id, struct job_info *out);

/* The job's error text (new, "" when none), the coordinator's when it
 * knows better than the store.  0 or -ENOENT / -ENOMEM. */
int coord_job_error(struct coord *c, int64_t id, char **error);

/* Live figures of a job beyond what the store holds. */
struct coord_live {
	int64_t events_pending; /* processed in tasks not yet merged */
	double rate;            /* events per second since this daemon started on it */
	int workers;            /* workers on it now */
	int workers_live;       /* workers connected now, on any job */
	int retrying;           /* tasks waiting to be tried again */
	uint64_t bytes;         /* compressed bytes read for it by this daemon */
	struct store_cache cache; /* cache figures of tries back and not yet in the store */
	bool active;            /* the coordinator holds it (queued, running, paused) */
	bool planned;           /* its dataset is expanded and its tasks are known */
	char note[256];         /* what it waits for ("planning: 120 of 2000 files"), or "" */
	char gpu[256];          /* where this process's fills go: "fills on GPU NVIDIA H200
				 * (--gpu auto: ...)", "fills on the CPU: no device (--gpu auto)" */
};
void coord_live(struct coord *c, int64_t id, struct coord_live *out);

/* Block until job id is over (*status: its final status), timeout_ms
 * passes (-ETIMEDOUT; < 0: no timeout) or the coordinator stops (-EINTR).
 * -ENOENT for no such job. */
int coord_wait(struct coord *c, int64_t id, int timeout_ms, enum job_status *status);

/* A header line, then one line per worker: id, host, backend, state, job
 * and task, tasks done, events, rate, last heard.  New. */
char *coord_workers_text(struct coord *c);

/* Workers connected and ready now. */
int coord_workers_live(struct coord *c);

/* A command for the backend ("scale N"): 0, or -EINVAL / -ENOTSUP with
 * msg (cap bytes). */
int coord_workers_control(struct coord *c, const char *cmd, size_t len, char *msg, size_t cap);

/* Bytes read and events done since start, for the cache file. */
void coord_io(struct coord *c, uint64_t *bytes, uint64_t *events);

#endif
