/* scheduler.c — jobs, tasks, workers, merging in task order, committing.
 *
 * One lock guards the scheduler.  A worker takes the next task of the
 * oldest runnable job, runs it without the lock, then under the lock files
 * its partial result and merges every partial that is next in task order
 * into the job's total, committing each merge to the store in the same
 * transaction that marks its task done.  Merging in task order makes the
 * result independent of thread count, timing and restarts. */
#include "coord.h"

#include "eval.h"
#include "result.h"
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


struct sjob {
	int64_t id;
	struct run_plan *plan;
	struct result *total;        /* merged tasks [0, merged) */
	struct result **partial;     /* finished, not yet merged */
	size_t ntasks, next, merged;
	int inflight;                /* tasks running now */
	int holders;                 /* workers keeping a runner for its plan */
	bool paused, cancel, failed;
	atomic_llong pending;        /* events done in tasks not merged */
	atomic_ullong bytes;         /* compressed bytes read for it */
	double t0;                   /* when this daemon first ran one of its tasks */
	int64_t ev0;                 /* events merged by then */
	struct sjob *next_job;
};

struct worker {
	struct sched *s;
	int id;
	pthread_t tid;
	struct sjob *job;            /* what it runs now, or NULL */
	size_t task;
	int64_t tasks_done;
	atomic_llong events;
	atomic_ullong bytes;
	double started;
};

struct sched {
	void (*on_event)(void *ctx, int64_t job, unsigned events);
	void *event_ctx;
	struct store *st;
	pthread_mutex_t lock;
	pthread_cond_t work, changed;
	struct sjob *jobs;           /* active jobs, oldest first */
	struct worker *w;
	int nworkers;
	bool stopping;
	char host[64];
	double started;
};

static void emit(struct sched *s, int64_t job, unsigned ev)
{
	if (s->on_event)
		s->on_event(s->event_ctx, job, ev);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void free_job(struct sjob *j)
{
	if (!j)
		return;
	for (size_t i = 0; j->partial && i < j->ntasks; i++)
		result_free(j->partial[i]);
	free(j->partial);
	result_free(j->total);
	run_plan_free(j->plan);
	free(j);
}

/* Under the lock: drop job j from the active list once nothing runs on it
 * and no worker keeps a runner made for its plan. */
static void retire(struct sched *s, struct sjob *j)
{
	if (j->inflight || j->holders)
		return;
	for (struct sjob **p = &s->jobs; *p; p = &(*p)->next_job)
		if (*p == j) {
			*p = j->next_job;
			free_job(j);
			return;
		}
}

static struct sjob *find(struct sched *s, int64_t id)
{
	for (struct sjob *j = s->jobs; j; j = j->next_job)
		if (j->id == id)
			return j;
	return NULL;
}

static void add_job(struct sched *s, struct sjob *j)
{
	struct sjob **p = &s->jobs;
	while (*p && (*p)->id < j->id)
		p = &(*p)->next_job;
	j->next_job = *p;
	*p = j;
}

/* A new active job from a plan; resumed from merged tasks and saved result. */
static int make_job(int64_t id, struct run_plan *plan, size_t merged, const void *result,
		    size_t len, struct sjob **out)
{
	struct sjob *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->id = id;
	j->plan = plan;
	j->ntasks = run_plan_ntasks(plan);
	j->partial = calloc(j->ntasks + 1, sizeof(*j->partial));
	int rc = j->partial ? result_new(run_plan_query(plan), &j->total) : -ENOMEM;
	if (!rc && len)
		rc = result_decode(j->total, result, len);
	if (rc) {
		j->plan = NULL; /* the caller keeps it on failure */
		free_job(j);
		return rc;
	}
	j->next = j->merged = merged;
	*out = j;
	return 0;
}

/* ---- merging ---- */

static int64_t task_events(const struct run_plan *p, size_t i)
{
	const struct run_task *t = run_plan_task(p, i);
	return t->last - t->first;
}

/* Under the lock: merge and commit every partial next in order. */
static void merge_ready(struct sched *s, struct sjob *j)
{
	while (j->merged < j->ntasks && j->partial[j->merged] && !j->failed) {
		size_t i = j->merged;
		void *blob = NULL;
		size_t len = 0;
		int rc = result_merge(j->total, j->partial[i]);
		if (!rc)
			rc = result_encode(j->total, &blob, &len);
		if (!rc)
			rc = store_task_commit(s->st, j->id, (int)i, blob, len, task_events(j->plan, i));
		free(blob);
		result_free(j->partial[i]);
		j->partial[i] = NULL;
		if (rc < 0) {
			j->failed = true;
			store_job_set_status(s->st, j->id, JOB_FAILED, "the job store could not record a result");
			store_log(s->st, j->id, "failed: store error %d merging task %zu", rc, i);
			break;
		}
		atomic_fetch_sub(&j->pending, task_events(j->plan, i));
		j->merged++;
		emit(s, j->id, COORD_EV_RESULT);
	}
	if (j->merged == j->ntasks && !j->failed && !j->cancel) {
		store_job_set_status(s->st, j->id, JOB_DONE, NULL);
		store_log(s->st, j->id, "done: %zu tasks, %lld events", j->ntasks,
			  (long long)run_plan_events(j->plan));
		j->cancel = true; /* nothing more to run */
		pthread_cond_broadcast(&s->changed);
		emit(s, j->id, COORD_EV_STATUS | COORD_EV_LOG);
	}
}

/* ---- workers ---- */

struct progress_ctx {
	struct worker *w;
	struct sjob *j;
};

static int on_progress(void *ctx, int64_t events)
{
	struct progress_ctx *c = ctx;
	atomic_fetch_add(&c->j->pending, events);
	atomic_fetch_add(&c->w->events, events);
	return c->j->cancel || c->j->failed || c->w->s->stopping;
}

/* Under the lock: the next task to run, or NULL. */
static struct sjob *next_task(struct sched *s, size_t *task)
{
	for (struct sjob *j = s->jobs; j; j = j->next_job)
		if (!j->paused && !j->cancel && !j->failed && j->next < j->ntasks) {
			*task = j->next++;
			return j;
		}
	return NULL;
}

/* A worker's runner and state, made for one job's plan and kept while it
 * runs that job's tasks; the job is not freed while they exist. */
struct kit {
	struct sjob *job;
	struct runner *r;
	struct eval_state *st;
};

/* Drop the kit; the lock is not held. */
static void drop_kit(struct sched *s, struct kit *k)
{
	if (!k->job)
		return;
	runner_free(k->r);
	eval_state_free(k->st);
	pthread_mutex_lock(&s->lock);
	k->job->holders--;
	if (k->job->cancel || k->job->failed)
		retire(s, k->job);
	pthread_mutex_unlock(&s->lock);
	memset(k, 0, sizeof(*k));
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct sched *s = w->s;
	struct kit kit = {0};
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		size_t i;
		struct sjob *j = next_task(s, &i);
		if (!j) {
			if (kit.job) { /* nothing to run: let finished jobs go */
				pthread_mutex_unlock(&s->lock);
				drop_kit(s, &kit);
				pthread_mutex_lock(&s->lock);
				continue;
			}
			pthread_cond_wait(&s->work, &s->lock);
			continue;
		}
		j->inflight++;
		w->job = j;
		w->task = i;
		w->started = now();
		struct job_info info;
		int got = store_job_get(s->st, j->id, &info);
		if (!j->t0 && !got) {
			j->t0 = w->started;
			j->ev0 = info.events_done;
		}
		if (!got && info.status == JOB_QUEUED) {
			store_job_set_status(s->st, j->id, JOB_RUNNING, NULL);
			store_log(s->st, j->id, "running");
			emit(s, j->id, COORD_EV_STATUS | COORD_EV_LOG);
		}
		bool swap = kit.job != j;
		if (swap)
			j->holders++;
		pthread_mutex_unlock(&s->lock);

		char msg[1024] = "";
		int rc = 0;
		if (swap) { /* a runner and a state for this job's plan */
			drop_kit(s, &kit);
			kit.job = j;
			if (!(rc = runner_new(j->plan, &kit.r)))
				rc = eval_state_new(run_plan_prog(j->plan), &kit.st);
		}
		struct progress_ctx pc = {w, j};
		uint64_t bytes0 = kit.r ? runner_bytes_read(kit.r) : 0;
		if (!rc)
			rc = runner_run(kit.r, run_plan_task(j->plan, i), kit.st, on_progress, &pc, msg,
					sizeof(msg));
		struct result *part = NULL;
		if (!rc)
			rc = eval_state_take(kit.st, &part);
		else if (kit.st) { /* a task cut short leaves a partial result: drop it */
			struct result *junk = NULL;
			if (!eval_state_take(kit.st, &junk))
				result_free(junk);
		}
		if (kit.r) {
			uint64_t b = runner_bytes_read(kit.r) - bytes0;
			atomic_fetch_add(&w->bytes, b);
			atomic_fetch_add(&j->bytes, b);
		}

		pthread_mutex_lock(&s->lock);
		j->inflight--;
		w->job = NULL;
		if (!rc) {
			w->tasks_done++;
			j->partial[i] = part;
			merge_ready(s, j);
		} else if (rc != -ECANCELED && !j->failed && !j->cancel) {
			const struct run_task *t = run_plan_task(j->plan, i);
			char err[1400];
			snprintf(err, sizeof(err), "task %zu (%s, entries %lld to %lld): %s", i,
				 run_plan_file(j->plan, (size_t)t->file), (long long)t->first,
				 (long long)t->last, *msg ? msg : "out of memory");
			j->failed = true;
			store_job_set_status(s->st, j->id, JOB_FAILED, err);
			store_log(s->st, j->id, "failed: %s", err);
			pthread_cond_broadcast(&s->changed);
			emit(s, j->id, COORD_EV_STATUS | COORD_EV_LOG);
		} else if (rc == -ECANCELED && !j->cancel && !j->failed) {
			j->next = j->next < i ? j->next : i; /* stopped, not cancelled: run it again */
		}
		if (j->cancel || j->failed) {
			pthread_mutex_unlock(&s->lock);
			drop_kit(s, &kit); /* the job may go now */
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	drop_kit(s, &kit);
	return NULL;
}

/* ---- starting, resuming ---- */

/* Plan a stored job again and check the plan matches what was recorded. */
static int resume_job(struct sched *s, int64_t id, const struct job_info *info)
{
	char *text = NULL, *base = NULL;
	size_t len = 0;
	int rc = store_job_text(s->st, id, &text, &len, &base, NULL);
	if (rc)
		return rc;
	struct run_plan *plan = NULL;
	struct ql_error err;
	char why[2300] = "";
	rc = run_plan_new(text, len, "query", base, 0, &plan, &err);
	if (rc)
		snprintf(why, sizeof(why), "cannot resume: %s", err.text);
	struct store_task *t = NULL;
	size_t n = 0, done = 0;
	if (!rc && !(rc = store_job_tasks(s->st, id, &t, &n))) {
		bool same = n == run_plan_ntasks(plan);
		for (size_t i = 0; same && i < n; i++) {
			const struct run_task *rt = run_plan_task(plan, i);
			same = !strcmp(t[i].url, run_plan_file(plan, (size_t)rt->file)) &&
			       t[i].first == rt->first && t[i].last == rt->last;
		}
		while (done < n && t[done].done)
			done++;
		for (size_t i = done; same && i < n; i++)
			same = !t[i].done; /* merges happen in order: done tasks are a prefix */
		if (!same) {
			snprintf(why, sizeof(why), "cannot resume: the dataset changed since the job "
						   "was planned");
			rc = -ESTALE;
		}
		store_tasks_free(t, n);
	}
	void *blob = NULL;
	size_t blen = 0;
	int64_t version;
	struct sjob *j = NULL;
	if (!rc && !(rc = store_job_result(s->st, id, &blob, &blen, &version)))
		rc = make_job(id, plan, done, blob, blen, &j);
	free(blob);
	free(text);
	free(base);
	if (rc) {
		run_plan_free(plan);
		store_job_set_status(s->st, id, JOB_FAILED, *why ? why : "cannot resume");
		store_log(s->st, id, "failed: %s", *why ? why : "cannot resume");
		return rc;
	}
	j->paused = info->status == JOB_PAUSED;
	add_job(s, j);
	store_log(s->st, id, "resumed at task %zu of %zu", done, j->ntasks);
	pthread_mutex_lock(&s->lock);
	merge_ready(s, j); /* a job whose tasks were all merged is done */
	if (j->cancel)
		retire(s, j);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int coord_start(const struct coord_opts *o, struct coord **out, char *msg, size_t cap)
{
	struct sched *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	struct store *st = o->st;
	s->st = st;
	s->on_event = o->on_event;
	s->event_ctx = o->event_ctx;
	s->nworkers = o->workers < 1 ? 1 : o->workers;
	s->started = now();
	gethostname(s->host, sizeof(s->host) - 1);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->changed, NULL);
	int64_t *ids = NULL;
	size_t n = 0;
	if (o->resume && !store_jobs(st, &ids, &n))
		for (size_t i = 0; i < n; i++) {
			struct job_info info;
			if (!store_job_get(st, ids[i], &info) && !job_status_terminal(info.status))
				resume_job(s, ids[i], &info);
		}
	free(ids);
	s->w = calloc((size_t)s->nworkers, sizeof(*s->w));
	if (!s->w) {
		free(s);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nworkers; i++) {
		s->w[i].s = s;
		s->w[i].id = i + 1;
		if (pthread_create(&s->w[i].tid, NULL, work, &s->w[i])) {
			s->nworkers = i;
			break;
		}
	}
	*out = (struct coord *)s;
	return 0;
}

void coord_stop(struct coord *c)
{
	struct sched *s = (struct sched *)c;
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->w[i].tid, NULL);
	while (s->jobs) {
		struct sjob *j = s->jobs;
		s->jobs = j->next_job;
		free_job(j);
	}
	free(s->w);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->changed);
	free(s);
}

/* ---- submitting, controlling, watching ---- */

int coord_submit(struct coord *c, const struct coord_submission *sub, int64_t *id,
		 struct ql_error *err)
{
	struct sched *s = (struct sched *)c;
	const char *name = sub->name, *text = sub->text, *basedir = sub->basedir;
	size_t len = sub->len;
	uint32_t uid = (uint32_t)sub->uid;
	struct run_plan *plan = NULL;
	int rc = run_plan_new(text, len, sub->filename, basedir, 0, &plan, err);
	if (rc == -EINVAL || rc == -EFBIG) {
		int r2 = store_job_create(s->st, name, uid, text, len, basedir, JOB_INVALID, err->text, id);
		if (!r2) {
			store_log(s->st, *id, "invalid: %s", err->msg);
			emit(s, *id, COORD_EV_CREATED | COORD_EV_STATUS | COORD_EV_LOG);
		}
		return r2 ? r2 : -EINVAL;
	}
	if (rc)
		return rc;
	rc = store_job_create(s->st, name, uid, text, len, basedir, JOB_QUEUED, NULL, id);
	size_t n = run_plan_ntasks(plan);
	struct store_task *t = calloc(n + 1, sizeof(*t));
	if (!rc && !t)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		const struct run_task *rt = run_plan_task(plan, i);
		t[i] = (struct store_task){(char *)run_plan_file(plan, (size_t)rt->file), rt->first,
					   rt->last, false};
	}
	if (!rc)
		rc = store_job_plan(s->st, *id, t, n, run_plan_events(plan));
	free(t);
	struct sjob *j = NULL;
	if (!rc)
		rc = make_job(*id, plan, 0, NULL, 0, &j);
	if (rc) {
		run_plan_free(plan);
		return rc;
	}
	store_log(s->st, *id, "submitted by uid %u: %zu tasks, %lld events in %zu file(s)", uid, n,
		  (long long)run_plan_events(plan), run_plan_nfiles(plan));
	pthread_mutex_lock(&s->lock);
	add_job(s, j);
	merge_ready(s, j); /* an empty dataset is done at once */
	if (j->cancel)
		retire(s, j);
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	emit(s, *id, COORD_EV_CREATED | COORD_EV_STATUS | COORD_EV_LOG);
	return 0;
}

int coord_control(struct coord *c, int64_t id, const char *cmd, size_t len)
{
	struct sched *s = (struct sched *)c;
	while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == ' ' || cmd[len - 1] == '\r'))
		len--;
	enum { CANCEL, PAUSE, RESUME } what;
	if (len == 6 && !memcmp(cmd, "cancel", 6))
		what = CANCEL;
	else if (len == 5 && !memcmp(cmd, "pause", 5))
		what = PAUSE;
	else if (len == 6 && !memcmp(cmd, "resume", 6))
		what = RESUME;
	else
		return -EINVAL;
	struct job_info info;
	int rc = store_job_get(s->st, id, &info);
	if (rc)
		return rc;
	if (job_status_terminal(info.status))
		return -EBUSY;
	pthread_mutex_lock(&s->lock);
	struct sjob *j = find(s, id);
	if (what == CANCEL) {
		store_job_set_status(s->st, id, JOB_CANCELLED, NULL);
		store_log(s->st, id, "cancelled");
		if (j) {
			j->cancel = true;
			retire(s, j);
		}
		pthread_cond_broadcast(&s->changed);
	} else if (what == PAUSE && info.status != JOB_PAUSED) {
		store_job_set_status(s->st, id, JOB_PAUSED, NULL);
		store_log(s->st, id, "paused (tasks running now finish)");
		if (j)
			j->paused = true;
	} else if (what == RESUME && info.status == JOB_PAUSED) {
		bool started = j && j->next > 0;
		store_job_set_status(s->st, id, started ? JOB_RUNNING : JOB_QUEUED, NULL);
		store_log(s->st, id, "resumed");
		if (j)
			j->paused = false;
		pthread_cond_broadcast(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
	emit(s, id, COORD_EV_STATUS | COORD_EV_LOG);
	return 0;
}

int coord_job(struct coord *c, int64_t id, struct job_info *out)
{
	return store_job_get(((struct sched *)c)->st, id, out);
}

int coord_job_error(struct coord *c, int64_t id, char **error)
{
	return store_job_text(((struct sched *)c)->st, id, NULL, NULL, NULL, error);
}

void coord_live(struct coord *c, int64_t id, struct coord_live *out)
{
	struct sched *s = (struct sched *)c;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	struct sjob *j = find(s, id);
	if (j) {
		out->events_pending = atomic_load(&j->pending);
		out->bytes = atomic_load(&j->bytes);
		out->active = true;
		out->planned = true;
		for (int i = 0; i < s->nworkers; i++)
			out->workers += s->w[i].job == j;
		/* The rate: events done since this daemon started on the job. */
		struct job_info info;
		double dt = now() - j->t0;
		if (j->t0 && dt > 0 && !store_job_get(s->st, id, &info))
			out->rate = (double)(info.events_done + out->events_pending - j->ev0) / dt;
	}
	pthread_mutex_unlock(&s->lock);
}

int coord_wait(struct coord *c, int64_t id, int timeout_ms, enum job_status *status)
{
	struct sched *s = (struct sched *)c;
	double until = timeout_ms >= 0 ? now() + timeout_ms / 1000.0 : 0;
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job_info info;
		if ((rc = store_job_get(s->st, id, &info)))
			break;
		if (job_status_terminal(info.status)) {
			*status = info.status;
			break;
		}
		if (s->stopping) {
			rc = -EINTR;
			break;
		}
		if (timeout_ms >= 0 && now() >= until) {
			rc = -ETIMEDOUT;
			break;
		}
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 200000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->changed, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

char *coord_workers_text(struct coord *c)
{
	struct sched *s = (struct sched *)c;
	size_t cap = 256 * ((size_t)s->nworkers + 2), len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	double t = now(), up = t - s->started;
	len += (size_t)snprintf(out, cap, "%-4s %-16s %-8s %-24s %8s %12s\n", "id", "host", "backend",
				"state", "tasks", "events/s");
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nworkers && len < cap; i++) {
		struct worker *w = &s->w[i];
		char state[64];
		if (w->job)
			snprintf(state, sizeof(state), "busy job %lld task %zu", (long long)w->job->id,
				 w->task);
		else
			snprintf(state, sizeof(state), "idle");
		len += (size_t)snprintf(out + len, cap - len, "%-4d %-16.16s %-8s %-24s %8lld %12.4g\n",
					w->id, s->host, "local", state, (long long)w->tasks_done,
					up > 0 ? (double)atomic_load(&w->events) / up : 0.0);
	}
	pthread_mutex_unlock(&s->lock);
	return out;
}

void coord_io(struct coord *c, uint64_t *bytes, uint64_t *events)
{
	struct sched *s = (struct sched *)c;
	*bytes = *events = 0;
	for (int i = 0; i < s->nworkers; i++) {
		*bytes += atomic_load(&s->w[i].bytes);
		*events += (uint64_t)atomic_load(&s->w[i].events);
	}
}
