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

/* Under c->lock: whether task idx of j is still wanted: not merged, not
 * back (merged tasks are below merged; the window's slots hold the ones
 * back and not merged yet). */
static bool wanted(const struct cjob *j, size_t idx)
{
	if (idx < j->merged || idx >= j->ntasks || idx >= j->merged + j->window)
		return false;
	size_t s = idx % j->window;
	return !j->slots[s] && !j->slot_skip[s];
}

/* Under c->lock: run task idx of j again at (monotonic seconds). */
static int requeue(struct cjob *j, size_t idx, double at)
{
	struct retry *r = calloc(1, sizeof(*r)), **p = &j->retry;
	if (!r)
		return -ENOMEM;
	r->idx = idx;
	r->at = at;
	while (*p && (*p)->at <= at)
		p = &(*p)->next;
	r->next = *p;
	*p = r;
	return 0;
}

/* Under c->lock: drop the retries at the head that are not wanted any
 * more (their result came after all), and step next over tasks back
 * already (adopted results). */
static void tidy(struct cjob *j)
{
	while (j->retry && !wanted(j, j->retry->idx)) {
		struct retry *r = j->retry;
		j->retry = r->next;
		free(r);
	}
	while (j->next < j->ntasks && j->next < j->merged + j->window && !wanted(j, j->next))
		j->next++;
}

/* Under c->lock: whether j has a task to hand out now. */
static bool has_task(struct cjob *j, double now)
{
	if (!((j->status == JOB_QUEUED || j->status == JOB_RUNNING) && j->planned))
		return false;
	tidy(j);
	if (j->retry && j->retry->at <= now)
		return true;
	return j->next < j->ntasks && j->next < j->merged + j->window;
}

/* Under c->lock: j's next task (a retry that is due first), made and put
 * in flight; NULL on ENOMEM.  *retried: it was a retry. */
static struct btask *take_task(struct coord *c, struct cjob *j, double now, bool *retried)
{
	struct btask *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->job = j->id;
	*retried = j->retry && j->retry->at <= now;
	if (*retried) {
		struct retry *r = j->retry;
		j->retry = r->next;
		t->idx = r->idx;
		free(r);
	} else {
		t->idx = j->next++;
	}
	t->plan = plan_ref(j->plan);
	t->attempt = ++j->attempts[t->idx];
	t->digest = plan_task_digest(j->plan, t->idx);
	t->next_inflight = j->inflight;
	j->inflight = t;
	if (j->running++ == 0)
		j->active_since = mono();
	if (j->status == JOB_QUEUED && !coord_transition(c, j, JOB_RUNNING, NULL)) {
		coord_log(c, j->id, "running");
		coord_log(c, j->id, "%s", c->gpu_text);
	}
	return t;
}

/* Under c->lock: t was not taken after all (the backend had no slot). */
static void untake_task(struct cjob *j, struct btask *t, bool retried)
{
	j->inflight = t->next_inflight; /* t is the head: take_task just put it there */
	j->attempts[t->idx]--;
	if (!retried || requeue(j, t->idx, 0))
		j->next = t->idx < j->next ? t->idx : j->next;
	if (--j->running == 0 && j->active_since > 0) {
		j->active_secs += mono() - j->active_since;
		j->active_since = 0;
	}
	free_task(t);
}

/* Under c->lock: tasks of runnable jobs not handed out (for scaling). */
static int count_pending(const struct coord *c)
{
	int64_t n = 0;
	for (const struct cjob *j = c->jobs; j; j = j->next_job) {
		if (!(j->status == JOB_QUEUED || j->status == JOB_RUNNING))
			continue;
		if (!j->planned) {
			n++;
			continue;
		}
		n += (int64_t)(j->ntasks - j->next);
		for (const struct retry *r = j->retry; r; r = r->next)
			n++;
	}
	return n > 1000000000 ? 1000000000 : (int)n;
}

/* Under c->lock: fill the backend's free slots, oldest runnable job first. */
static void dispatch(struct coord *c)
{
	int free_slots = c->bops->poll(c->backend);
	double now = mono();
	for (struct cjob *j = c->jobs; j && free_slots > 0; j = j->next_job)
		while (free_slots > 0 && has_task(j, now)) {
			bool retried;
			struct btask *t = take_task(c, j, now, &retried);
			if (!t)
				goto out;
			if (c->bops->dispatch(c->backend, t)) {
				untake_task(j, t, retried);
				goto out;
			}
			free_slots--;
		}
out:
	coord_warm(c);
	atomic_store(&c->pending, count_pending(c));
}

struct btask *coord_task_pull(void *ctx)
{
	struct coord *c = ctx;
	struct btask *t = NULL;
	bool retried;
	double now = mono();
	pthread_mutex_lock(&c->lock);
	for (struct cjob *j = c->jobs; j && !t && !c->stopping; j = j->next_job)
		if (has_task(j, now))
			t = take_task(c, j, now, &retried);
	coord_unlock(c);
	return t;
}

int coord_task_pending(void *ctx)
{
	struct coord *c = ctx;
	return atomic_load(&c->pending);
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

/* "task 5 (FILE, entries 0 to 100)" into out. */
static void task_where(const struct cjob *j, size_t idx, char *out, size_t cap)
{
	const struct plan_task *pt = plan_task(j->plan, idx);
	snprintf(out, cap, "task %zu (%s, entries %lld to %lld)", idx,
		 plan_file(j->plan, (size_t)pt->file)->url, (long long)pt->first, (long long)pt->last);
}

/* Under c->lock: fail j with a task's error. */
static void fail_task(struct coord *c, struct cjob *j, const struct btask *t, const char *after)
{
	char where[1200], err[2400];
	task_where(j, t->idx, where, sizeof(where));
	snprintf(err, sizeof(err), "%s: %s%s", where, *t->msg ? t->msg : ana_strerror(t->rc),
		 after ? after : "");
	if (!coord_transition(c, j, JOB_FAILED, err)) {
		coord_log(c, j->id, "failed: %s", err);
		coord_stop_tasks(j);
	}
}

/* Under c->lock: task t of j came back with an error.  A lost worker or a
 * task handed back runs again at once; a changed file fails the job (no
 * try can help); any other error is tried again after a backoff that
 * doubles, up to the retries allowed; then the task is left out (on_error
 * skip) or fails its job. */
static void task_error(struct coord *c, struct cjob *j, struct btask *t)
{
	size_t i = t->idx;
	const char *why = *t->msg ? t->msg : ana_strerror(t->rc);
	char where[1200], after[160];
	task_where(j, i, where, sizeof(where));
	bool lost = t->rc == ANA_ELOST || t->rc == ANA_EGIVENBACK || t->rc == -ECANCELED;
	if (lost && (t->rc == ANA_EGIVENBACK || ++j->losses[i] < COORD_MAX_LOSSES)) {
		if (t->rc != ANA_EGIVENBACK)
			coord_log(c, j->id, "%s: %s; running it again", where, why);
		if (!requeue(j, i, 0))
			return;
	}
	if (t->rc == ANA_ECHANGED) {
		fail_task(c, j, t, NULL);
		return;
	}
	if (!lost && j->tries[i] < c->o.retries) {
		int k = j->tries[i]++;
		double wait = c->o.retry_backoff * (double)(1u << (k < 16 ? k : 16));
		coord_log(c, j->id, "%s failed on worker %d: %s; try %d of %d in %.3g s", where,
			  t->worker, why, k + 2, c->o.retries + 1, wait);
		if (!requeue(j, i, mono() + wait))
			return;
	}
	if (lost)
		snprintf(after, sizeof(after), " (its worker was lost %d times)", j->losses[i]);
	else
		snprintf(after, sizeof(after), " (after %d tries)", j->tries[i] + 1);
	size_t s = i % j->window;
	if (j->skip_errors && (j->slot_skip[s] = malloc(strlen(why) + strlen(after) + 1))) {
		strcpy(j->slot_skip[s], why);
		strcat(j->slot_skip[s], after);
		coord_log(c, j->id, "left out %s: %s%s (on_error skip)", where, why, after);
		return;
	}
	fail_task(c, j, t, after);
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
	store_cache_sum(&j->cache, &t->cache);
	unlink_task(j, t);
	bool active = !job_status_terminal(j->status);
	if (!active || (t->rc == -ECANCELED && c->stopping) || !wanted(j, t->idx)) {
		/* over, stopping, or back already (a result adopted meanwhile) */
	} else if (t->rc == 0) {
		j->gpu_fills += t->gpu_fills;
		j->gpu_nodes += t->gpu_nodes;
		if (t->note[0]) {
			char where[1200];
			task_where(j, t->idx, where, sizeof(where));
			coord_log(c, j->id, "%s: %s", where, t->note);
		}
		size_t s = t->idx % j->window;
		const struct plan_task *pt = plan_task(j->plan, t->idx);
		j->slots[s] = t->result;
		j->slot_events[s] = pt->last - pt->first;
		j->events_waiting += pt->last - pt->first;
		t->result = NULL;
	} else {
		task_error(c, j, t);
	}
	free_task(t);
	coord_retire(c, j);
}

int coord_task_adopt(void *ctx, int64_t job, size_t idx, uint64_t digest, const void *blob,
		     size_t len, int64_t events, uint64_t bytes)
{
	struct coord *c = ctx;
	(void)events; /* the plan says how many the task holds */
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, job);
	struct result *r = NULL;
	int rc = 0;
	if (!j || !j->planned || job_status_terminal(j->status) || idx >= j->ntasks ||
	    plan_task_digest(j->plan, idx) != digest)
		rc = -ESTALE;
	else if (!wanted(j, idx))
		rc = -EALREADY;
	else if ((rc = result_new(plan_query(j->plan), &r)) == 0 &&
		 result_decode(r, blob, len) != 0)
		rc = -EBADMSG;
	if (!rc) {
		size_t s = idx % j->window;
		const struct plan_task *pt = plan_task(j->plan, idx);
		j->slots[s] = r;
		r = NULL;
		j->slot_events[s] = pt->last - pt->first;
		j->events_waiting += pt->last - pt->first;
		atomic_fetch_add(&j->bytes, bytes);
		char where[1200];
		task_where(j, idx, where, sizeof(where));
		coord_log(c, j->id, "%s: took the result a worker kept across a lost connection",
			  where);
		c->adopted = true;
		pthread_cond_broadcast(&c->run_cv);
	}
	result_free(r);
	coord_unlock(c);
	return rc;
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
		char *skip = j->slot_skip[s];
		if (!part && !skip)
			break;
		int64_t ev = part ? j->slot_events[s] : 0;
		j->slots[s] = NULL;
		j->slot_skip[s] = NULL;
		j->merging = true;
		/* The cache figures so far, stored before the commit: a job seen
		 * done has all of its merged tasks' figures. */
		struct store_cache cache = j->cache;
		memset(&j->cache, 0, sizeof(j->cache));
		pthread_mutex_unlock(&c->lock);
		coord_store_cache(c, j->id, &cache);
		void *blob = NULL;
		size_t len = 0;
		bool last = idx + 1 == j->ntasks;
		int rc = part ? result_merge(j->total, part) : 0;
		result_free(part);
		if (!rc)
			rc = result_encode(j->total, &blob, &len);
		if (!rc && part)
			rc = store_task_commit(c->o.st, j->id, (int)idx, blob, len, ev, last);
		else if (!rc)
			rc = store_task_skip(c->o.st, j->id, (int)idx, blob, len, skip, last);
		free(blob);
		free(skip);
		pthread_mutex_lock(&c->lock);
		j->skipped += !part && rc >= 0;
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
			if (j->skipped)
				coord_log(c, j->id, "done: %zu tasks, %lld events, %d tasks left out "
						    "(progress.json lists them)",
					  j->ntasks, (long long)plan_events(j->plan), j->skipped);
			else
				coord_log(c, j->id, "done: %zu tasks, %lld events", j->ntasks,
					  (long long)plan_events(j->plan));
			if (j->gpu_fills) /* by this process's local workers */
				coord_log(c, j->id, "%llu histogram fills ran on the device",
					  (unsigned long long)j->gpu_fills);
			if (j->gpu_nodes)
				coord_log(c, j->id, "%llu evaluation nodes ran on the device",
					  (unsigned long long)j->gpu_nodes);
		}
	}
	coord_retire(c, j);
}

/* Under c->lock: merge every job that has its next result waiting. */
static void merge_all(struct coord *c)
{
	for (struct cjob *j = c->jobs, *next; j; j = next) {
		next = j->next_job; /* j may be retired */
		size_t s = j->planned ? j->merged % j->window : 0; /* no window before planning */
		if (j->planned && j->merged < j->ntasks && (j->slots[s] || j->slot_skip[s])) {
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
		if (done || c->adopted) {
			c->adopted = false;
			dispatch(c); /* the workers first: merging can wait */
			merge_all(c);
		}
		coord_unlock(c); /* hands the events over */
		pthread_mutex_lock(&c->lock);
	}
	coord_unlock(c);
	return NULL;
}
