/* scheduler.h — the daemon's scheduler: jobs planned into tasks, tasks run on
 * worker threads (a task in, a partial result out: the boundary where
 * separate worker processes slot in), partial results merged in task
 * order and committed to the store one task at a time.  At start it
 * resumes every unfinished job from its last merged task.
 *
 * Thread safety: every call may come from any thread. */
#ifndef ANAFS_SCHED_H
#define ANAFS_SCHED_H

#include "ql.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

struct sched;

/* Start nworkers worker threads on store st (borrowed: it must outlive the
 * scheduler) and resume the jobs left unfinished.  *out: sched_stop(). */
int sched_start(struct store *st, int nworkers, struct sched **out);

/* Stop the workers (tasks in flight are abandoned: they run again at the
 * next start) and free the scheduler. */
void sched_stop(struct sched *s);

/* Submit a query: parse and check it against its dataset and plan it.
 * Returns 0 with *id of the new queued job, or -EINVAL when the query does
 * not parse or check (the job is then recorded as invalid, *id set, err
 * filled), or another negative errno. */
int sched_submit(struct sched *s, const char *name, uint32_t uid, const char *text, size_t len,
		 const char *basedir, int64_t *id, struct ql_error *err);

/* "cancel", "pause" or "resume" (a trailing newline is fine).  -EINVAL for
 * anything else, -ENOENT for no such job, -EBUSY when the job is already
 * over. */
int sched_control(struct sched *s, int64_t id, const char *cmd, size_t len);

/* Live figures of a job beyond what the store holds. */
struct sched_live {
	int64_t events_pending; /* processed in tasks not yet merged */
	double rate;            /* events per second over the last seconds */
	int workers;            /* workers on it now */
	uint64_t bytes;         /* compressed bytes read for it by this daemon */
	bool active;            /* the scheduler holds it (queued, running, paused) */
};
void sched_live(struct sched *s, int64_t id, struct sched_live *out);

/* Block until job id is over, or interrupted() returns true (then -EINTR);
 * *status: the final status.  interrupted may be NULL. */
int sched_wait(struct sched *s, int64_t id, bool (*interrupted)(void), enum job_status *status);

/* One line per worker: id, host, backend, state, tasks, rate.  New. */
char *sched_workers_text(struct sched *s);

/* Bytes read and events done since start, for the cache file. */
void sched_io(struct sched *s, uint64_t *bytes, uint64_t *events);

#endif
