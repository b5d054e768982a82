/* coord_run.c — the coordinator thread: it hands tasks to the backend when
 * it has free slots (oldest runnable job first, within each job's window),
 * takes back what the backend finished, and merges each job's partial
 * results in task order, committing every merge with its task.
 *
 * Merging in task order makes a job's result independent of the number of
 * workers, their timing and any restart.  A job's window bounds the tasks
 * dispatched and not merged, and so the partial results held in memory. */
#include "coord_int.h"

#include "ana_err.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void coord_task_done(void *ctx, struct btask *t)
{
	struct coord *c = ctx;
	pthread_mutex_lock(&c->lock);
	t->next_done = NULL;
	*c->done_tail = t;
	c->done_tail = &t->next_done;
	pthread_cond_broadcast(&c->run_cv);
	pthread_mutex_unlock(&c->lock);
}

static void free_task(struct btask *t)
{
	result_free(t->result);
	plan_unref(t->plan);
	free(t);
}

/* ---- dispatch ---- */

/* Under c->lock: whether j has a task to hand out now. */
static bool has_task(const struct cjob *j)
{
	return (j->status == JOB_QUEUED || j->status == JOB_RUNNING) && j->planned &&
	       j->next < j->ntasks && j->next < j->merged + j->window;
}

/* Under c->lock: j's next task, made and put in flight; NULL on ENOMEM. */
static struct btask *take_task(struct coord *c, struct cjob *j)
{
	struct btask *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->job = j->id;
	t->idx = j->next++;
	t->plan = plan_ref(j->plan);
	t->next_inflight = j->inflight;
	j->inflight = t;
	if (j->running++ == 0)
		j->active_since = mono();
	if (j->status == JOB_QUEUED && !coord_transition(c, j, JOB_RUNNING, NULL))
		coord_log(c, j->id, "running");
	return t;
}

/* Under c->lock: t was not taken after all (the backend had no slot). */
static void untake_task(struct cjob *j, struct btask *t)
{
	j->inflight = t->next_inflight; /* t is the head: take_task just put it there */
	j->next--;
	if (--j->running == 0 && j->active_since > 0) {
		j->active_secs += mono() - j->active_since;
		j->active_since = 0;
	}
	free_task(t);
}

/* Under c->lock: fill the backend's free slots, oldest runnable job first. */
static void dispatch(struct coord *c)
{
	int free_slots = c->bops->poll(c->backend);
	for (struct cjob *j = c->jobs; j && free_slots > 0; j = j->next_job)
		while (free_slots > 0 && has_task(j)) {
			struct btask *t = take_task(c, j);
			if (!t)
				return;
			if (c->bops->dispatch(c->backend, t)) {
				untake_task(j, t);
				return;
			}
			free_slots--;
		}
}

struct btask *coord_task_pull(void *ctx)
{
	struct coord *c = ctx;
	struct btask *t = NULL;
	pthread_mutex_lock(&c->lock);
	for (struct cjob *j = c->jobs; j && !t && !c->stopping; j = j->next_job)
		if (has_task(j))
			t = take_task(c, j);
	coord_unlock(c);
	return t;
}

/* ---- taking tasks back ---- */

static void unlink_task(struct cjob *j, struct btask *t)
{
	struct btask **p = &j->inflight;
	while (*p && *p != t)
		p = &(*p)->next_inflight;
	assert(*p == t); /* every task given back is on its job's list */
	if (*p)
		*p = t->next_inflight;
	if (--j->running == 0 && j->active_since > 0) {
		j->active_secs += mono() - j->active_since;
		j->active_since = 0;
	}
}

/* Under c->lock: fail j with a task's error. */
static void fail_task(struct coord *c, struct cjob *j, const struct btask *t)
{
	const struct plan_task *pt = plan_task(j->plan, t->idx);
	char err[1600];
	snprintf(err, sizeof(err), "task %zu (%s, entries %lld to %lld): %s", t->idx,
		 plan_file(j->plan, (size_t)pt->file)->url, (long long)pt->first, (long long)pt->last,
		 *t->msg ? t->msg : ana_strerror(t->rc));
	if (!coord_transition(c, j, JOB_FAILED, err)) {
		coord_log(c, j->id, "failed: %s", err);
		coord_stop_tasks(j);
	}
}

/* Under c->lock: file finished task t with its job. */
static void collect(struct coord *c, struct btask *t)
{
	struct cjob *j = coord_find(c, t->job);
	atomic_fetch_add(&c->bytes_read, atomic_load(&t->bytes));
	atomic_fetch_add(&c->events_read, (uint64_t)atomic_load(&t->events));
	if (!j) { /* cannot happen: a job stays held while it has tasks out */
		free_task(t);
		return;
	}
	atomic_fetch_add(&j->bytes, atomic_load(&t->bytes));
	unlink_task(j, t);
	bool active = !job_status_terminal(j->status);
	if (active && t->rc == 0) {
		size_t s = t->idx % j->window;
		const struct plan_task *pt = plan_task(j->plan, t->idx);
		j->slots[s] = t->result;
		j->slot_events[s] = pt->last - pt->first;
		j->events_waiting += pt->last - pt->first;
		t->result = NULL;
	} else if (active && !(t->rc == -ECANCELED && c->stopping)) {
		fail_task(c, j, t);
	}
	free_task(t);
	coord_retire(c, j);
}

/* ---- merging ---- */

/* Under c->lock: what a failed commit means for j. */
static void commit_failed(struct coord *c, struct cjob *j, int rc)
{
	char err[512];
	if (rc == -ENOSPC)
		snprintf(err, sizeof(err), "cannot record task %zu's result: no space left in the "
					   "state folder; free space and submit the query again",
			 j->merged);
	else
		snprintf(err, sizeof(err), "cannot record task %zu's result in the job store: %s",
			 j->merged, ana_strerror(rc));
	if (!coord_transition(c, j, JOB_FAILED, err)) {
		coord_log(c, j->id, "failed: %s", err);
		coord_stop_tasks(j);
	}
}

/* Under c->lock (let go while merging): merge and commit every partial
 * result of j that is next in task order. */
static void merge_job(struct coord *c, struct cjob *j)
{
	while (!c->stopping && !job_status_terminal(j->status) && j->merged < j->ntasks) {
		size_t s = j->merged % j->window, idx = j->merged;
		struct result *part = j->slots[s];
		if (!part)
			break;
		int64_t ev = j->slot_events[s];
		j->slots[s] = NULL;
		j->merging = true;
		pthread_mutex_unlock(&c->lock);
		void *blob = NULL;
		size_t len = 0;
		bool last = idx + 1 == j->ntasks;
		int rc = result_merge(j->total, part);
		result_free(part);
		if (!rc)
			rc = result_encode(j->total, &blob, &len);
		if (!rc)
			rc = store_task_commit(c->o.st, j->id, (int)idx, blob, len, ev, last);
		free(blob);
		pthread_mutex_lock(&c->lock);
		j->merging = false;
		j->events_waiting -= ev;
		if (rc == -EBUSY) /* over meanwhile: a cancel won */
			break;
		if (rc < 0) {
			commit_failed(c, j, rc);
			break;
		}
		j->merged++;
		j->events_done_here += ev;
		coord_emit(c, j->id, COORD_EV_RESULT);
		if (last) {
			j->status = JOB_DONE; /* recorded by the commit */
			coord_emit(c, j->id, COORD_EV_STATUS);
			coord_log(c, j->id, "done: %zu tasks, %lld events", j->ntasks,
				  (long long)plan_events(j->plan));
		}
	}
	coord_retire(c, j);
}

/* Under c->lock: merge every job that has its next result waiting. */
static void merge_all(struct coord *c)
{
	for (struct cjob *j = c->jobs, *next; j; j = next) {
		next = j->next_job; /* j may be retired */
		if (j->planned && j->merged < j->ntasks && j->slots[j->merged % j->window]) {
			int64_t id = j->id;
			merge_job(c, j);
			/* The table may have changed while unlocked: start again after j. */
			struct cjob *k = c->jobs;
			while (k && k->id <= id)
				k = k->next_job;
			next = k;
		}
	}
}

/* Under c->lock: wait for the backend (or anything else) at most 250 ms. */
static void wait_run(struct coord *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 250000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&c->run_cv, &c->lock, &ts);
}

void *coord_runner(void *arg)
{
	struct coord *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		dispatch(c);
		struct btask *done = c->done;
		c->done = NULL;
		c->done_tail = &c->done;
		if (!done)
			wait_run(c);
		for (struct btask *t = done, *next; t; t = next) {
			next = t->next_done;
			collect(c, t);
		}
		if (done) {
			dispatch(c); /* the workers first: merging can wait */
			merge_all(c);
		}
		coord_unlock(c); /* hands the events over */
		pthread_mutex_lock(&c->lock);
	}
	coord_unlock(c);
	return NULL;
}
