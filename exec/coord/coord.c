/* coord.c — the coordinator's table of jobs and its state machine:
 * starting and stopping, submitting, controlling, and what callers may
 * ask of a job.  The planner is in coord_plan.c, dispatch and merging in
 * coord_run.c; docs/internals.md has the states and the lock order. */
#include "coord_int.h"

#include "ana_err.h"
#include "gpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The statuses each status may be reached from.  Done is also reached by
 * the last merge, which the store records in the merge's transaction. */
#define M(s) JOB_MASK(JOB_##s)
static const unsigned legal_from[] = {
	[JOB_QUEUED] = M(PAUSED),                 /* resumed before any task ran */
	[JOB_RUNNING] = M(QUEUED) | M(PAUSED),    /* a task started; resumed */
	[JOB_PAUSED] = M(QUEUED) | M(RUNNING),
	[JOB_DONE] = JOB_MASK_ACTIVE,             /* all merged (or nothing to run) */
	[JOB_FAILED] = JOB_MASK_ACTIVE,
	[JOB_CANCELLED] = JOB_MASK_ACTIVE,
	[JOB_INVALID] = M(QUEUED) | M(PAUSED),    /* planning found the query wrong */
};
#undef M

/* ---- the table ---- */

struct cjob *coord_find(struct coord *c, int64_t id)
{
	for (struct cjob *j = c->jobs; j; j = j->next_job)
		if (j->id == id)
			return j;
	return NULL;
}

static struct override *find_override(struct coord *c, int64_t id)
{
	for (struct override *o = c->overrides; o; o = o->next)
		if (o->id == id)
			return o;
	return NULL;
}

static void add_job(struct coord *c, struct cjob *j)
{
	struct cjob **p = &c->jobs;
	while (*p && (*p)->id < j->id)
		p = &(*p)->next_job;
	j->next_job = *p;
	*p = j;
}

static void free_job(struct cjob *j)
{
	if (!j)
		return;
	for (size_t i = 0; j->slots && i < j->window; i++)
		result_free(j->slots[i]);
	for (size_t i = 0; j->slot_skip && i < j->window; i++)
		free(j->slot_skip[i]);
	while (j->retry) {
		struct retry *r = j->retry;
		j->retry = r->next;
		free(r);
	}
	free(j->slots);
	free(j->slot_events);
	free(j->slot_skip);
	free(j->attempts);
	free(j->tries);
	free(j->losses);
	result_free(j->total);
	plan_unref(j->plan);
	free(j->error);
	free(j->filename);
	free(j);
}

void coord_store_cache(struct coord *c, int64_t id, const struct store_cache *d)
{
	static const struct store_cache none;
	if (memcmp(d, &none, sizeof(none)))
		store_job_cache_add(c->o.st, id, d); /* figures: a failure loses only them */
}

void coord_retire(struct coord *c, struct cjob *j)
{
	if (!job_status_terminal(j->status) || j->running || j->planning || j->merging)
		return;
	coord_store_cache(c, j->id, &j->cache);
	if (j->unrecorded) {
		struct override *o = calloc(1, sizeof(*o));
		if (o) {
			o->id = j->id;
			o->status = j->status;
			o->error = j->error;
			j->error = NULL;
			o->next = c->overrides;
			c->overrides = o;
		}
	}
	for (struct cjob **p = &c->jobs; *p; p = &(*p)->next_job)
		if (*p == j) {
			*p = j->next_job;
			break;
		}
	free_job(j);
}

void coord_stop_tasks(struct cjob *j)
{
	for (struct btask *t = j->inflight; t; t = t->next_inflight)
		atomic_store(&t->stop, true);
}

/* ---- events ---- */

void coord_emit(struct coord *c, int64_t id, unsigned ev)
{
	pthread_cond_broadcast(&c->changed);
	for (int i = 0; i < c->nevents; i++)
		if (c->events[i].job == id) {
			c->events[i].ev |= ev;
			return;
		}
	if (c->nevents == COORD_MAX_EVENTS) { /* full: job 0 means "any job" */
		c->events[COORD_MAX_EVENTS - 1].job = 0;
		c->events[COORD_MAX_EVENTS - 1].ev |= ev;
		return;
	}
	c->events[c->nevents].job = id;
	c->events[c->nevents++].ev = ev;
}

void coord_unlock(struct coord *c)
{
	int n = c->nevents;
	struct { int64_t job; unsigned ev; } ev[COORD_MAX_EVENTS];
	memcpy(ev, c->events, (size_t)n * sizeof(ev[0]));
	c->nevents = 0;
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < n && c->o.on_event; i++)
		c->o.on_event(c->o.event_ctx, ev[i].job, ev[i].ev);
}

void coord_log(struct coord *c, int64_t id, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (store_log(c->o.st, id, "%s", line) == 0)
		coord_emit(c, id, COORD_EV_LOG);
}

/* ---- the state machine ---- */

int coord_transition(struct coord *c, struct cjob *j, enum job_status to, const char *error)
{
	unsigned from = legal_from[to];
	if (!(JOB_MASK(j->status) & from))
		return -EBUSY;
	int rc = store_job_transition(c->o.st, j->id, JOB_MASK(j->status), to, error);
	if (rc == -EBUSY || rc == -ENOENT)
		return -EBUSY; /* the store has it over already (the last merge) */
	if (rc) {
		fprintf(stderr, "anafs: job %lld: the job store could not record '%s': %s\n",
			(long long)j->id, job_status_name(to), ana_strerror(rc));
		j->unrecorded = true;
	}
	if (error && (rc || j->unrecorded)) {
		free(j->error);
		j->error = strdup(error);
	}
	j->status = to;
	coord_emit(c, j->id, COORD_EV_STATUS);
	return 0;
}

/* ---- memory ---- */

static uint64_t default_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 2 : (uint64_t)4 << 30;
}

/* Tasks a job may have dispatched and not merged, given one copy of its
 * histograms takes bytes: each is a copy waiting (or a worker's), with the
 * merged result and one per worker. */
static size_t window_for(const struct coord *c, uint64_t bytes)
{
	size_t w = 4 * (size_t)c->o.workers; /* workers pull the next before a merge */
	if (bytes) {
		uint64_t copies = c->hist_memory / bytes, fixed = 1 + (uint64_t)c->o.workers;
		uint64_t room = copies > fixed ? copies - fixed : 1;
		if (room < w)
			w = room ? (size_t)room : 1;
	}
	return w;
}

static void human(char *out, size_t cap, double v)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int i = 0;
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* What the query's histograms need against the limits: 0, or -EINVAL with
 * err at the largest histogram. */
static int check_memory(const struct coord *c, const struct ql_query *q, struct ql_error *err)
{
	uint64_t one = result_query_bytes(q), copies = 2 + (uint64_t)c->o.workers;
	const uint64_t per_result = 900u << 20; /* the store keeps a result in one sqlite value */
	if (one * copies <= c->hist_memory && one <= per_result)
		return 0;
	int line = 1;
	uint64_t big = 0;
	for (int i = 0; i < q->nstmts; i++)
		if (q->stmts[i].kind == QS_HIST) {
			const struct ql_hist *h = &q->stmts[i].u.hist;
			uint64_t b = ((uint64_t)h->axes[0].nbins + 2) *
				     (h->ndim == 2 ? (uint64_t)h->axes[1].nbins + 2 : 1);
			if (b >= big) {
				big = b;
				line = q->stmts[i].line;
			}
		}
	char a[32], b[32], lim[32];
	human(a, sizeof(a), (double)one * (double)copies);
	human(b, sizeof(b), (double)one);
	if (one > per_result) {
		human(lim, sizeof(lim), (double)per_result);
		ql_fail(err, q->filename, q->text, line, 1, 4, "use fewer or coarser histograms",
			"the %d histogram%s take%s %s in one copy; a job's result may take at most %s",
			q->nhists, q->nhists == 1 ? "" : "s", q->nhists == 1 ? "s" : "", b, lim);
	} else {
		human(lim, sizeof(lim), (double)c->hist_memory);
		ql_fail(err, q->filename, q->text, line, 1, 4,
			"use fewer or coarser histograms, or raise the limit (--hist-memory)",
			"the %d histogram%s need%s %s: %s per copy, %llu copies (the merged result, "
			"one per worker, one waiting to merge); the limit is %s",
			q->nhists, q->nhists == 1 ? "" : "s", q->nhists == 1 ? "s" : "", a, b,
			(unsigned long long)copies, lim);
	}
	return -EINVAL;
}

/* ---- starting and stopping ---- */

/* Jobs a damaged page of the store affects: failed, with an error that
 * says so, whatever the store can still read of them. */
static int take_damaged(struct coord *c)
{
	int64_t *ids = NULL;
	size_t n = 0;
	char summary[1024] = "";
	int rc = store_damaged(c->o.st, &ids, &n, summary, sizeof(summary));
	if (!rc && *summary)
		fprintf(stderr, "anafs: %s\n", summary);
	for (size_t i = 0; !rc && i < n; i++) {
		struct override *o = calloc(1, sizeof(*o));
		if (!o || !(o->error = strdup("the job's record in the state database is damaged; "
					      "its results may be lost"))) {
			free(o);
			rc = -ENOMEM;
			break;
		}
		o->id = ids[i];
		o->status = JOB_FAILED;
		o->next = c->overrides;
		c->overrides = o;
	}
	free(ids);
	return rc;
}

static int take_up(struct coord *c)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int rc = store_jobs(c->o.st, &ids, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		struct job_info info;
		if (store_job_get(c->o.st, ids[i], &info) || job_status_terminal(info.status) ||
		    find_override(c, ids[i]))
			continue;
		struct cjob *j = calloc(1, sizeof(*j));
		if (!j) {
			rc = -ENOMEM;
			break;
		}
		j->id = ids[i];
		j->status = info.status;
		j->uid = info.uid;
		j->gid = info.gid;
		j->resume = info.planned;
		char fn[300];
		snprintf(fn, sizeof(fn), "%s.query", info.name);
		if (!(j->filename = strdup(fn))) {
			free(j);
			rc = -ENOMEM;
			break;
		}
		add_job(c, j);
	}
	free(ids);
	return rc;
}

void coord_stop(struct coord *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	for (struct cjob *j = c->jobs; j; j = j->next_job)
		coord_stop_tasks(j);
	pthread_cond_broadcast(&c->plan_cv);
	pthread_cond_broadcast(&c->run_cv);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	if (c->runner_started)
		pthread_join(c->runner, NULL);
	if (c->planner_started)
		pthread_join(c->planner, NULL);
	if (c->backend)
		c->bops->stop(c->backend); /* what was in flight comes back through done */
	for (struct btask *t = c->done; t;) {
		struct btask *next = t->next_done;
		result_free(t->result);
		plan_unref(t->plan);
		free(t);
		t = next;
	}
	while (c->jobs) {
		struct cjob *j = c->jobs;
		c->jobs = j->next_job;
		free_job(j); /* its tasks in flight came back through done, freed above */
	}
	while (c->overrides) {
		struct override *o = c->overrides;
		c->overrides = o->next;
		free(o->error);
		free(o);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	pthread_cond_destroy(&c->plan_cv);
	pthread_cond_destroy(&c->run_cv);
	free(c);
}

/* A backend's line for the daemon's log: stderr, timestamped. */
static void daemon_log(void *ctx, const char *line)
{
	(void)ctx;
	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "anafs: %s %s\n", when, line);
}

int coord_start(const struct coord_opts *o, struct coord **out, char *msg, size_t cap)
{
	struct coord *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	c->o = *o;
	c->o.workers = o->workers < 1 ? 1 : o->workers;
	c->hist_memory = o->hist_memory ? o->hist_memory : default_memory();
	c->bops = o->backend ? o->backend : &backend_local;
	c->o.retries = o->retries < 0 ? 0 : o->retries > 100 ? 100 : o->retries;
	c->o.retry_backoff = o->retry_backoff < 0 ? 0 : o->retry_backoff;
	c->done_tail = &c->done;
	gethostname(c->host, sizeof(c->host) - 1);
	int dev;
	gpu_choose(gpu_mode_get(), &dev, c->gpu_text, sizeof(c->gpu_text));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	pthread_cond_init(&c->plan_cv, NULL);
	pthread_cond_init(&c->run_cv, NULL);
	struct backend_env env = {.workers = c->o.workers, .host = c->host,
				  .done = coord_task_done, .pull = coord_task_pull,
				  .pending = coord_task_pending, .adopt = coord_task_adopt,
				  .warmed = coord_task_warmed, .ctx = c,
				  .statedir = o->statedir, .conf = o->backend_conf, .log = daemon_log};
	int rc = take_damaged(c);
	if (!rc && o->resume)
		rc = take_up(c);
	if (rc)
		snprintf(msg, cap, "reading the job store: %s", ana_strerror(rc));
	if (!rc && (rc = c->bops->start(&env, &c->backend)))
		snprintf(msg, cap, "starting the workers: %s", ana_strerror(rc));
	if (!rc && !(rc = -pthread_create(&c->planner, NULL, coord_planner, c)))
		c->planner_started = true;
	if (!rc && !(rc = -pthread_create(&c->runner, NULL, coord_runner, c)))
		c->runner_started = true;
	if (rc) {
		if (!*msg)
			snprintf(msg, cap, "starting the coordinator: %s", ana_strerror(rc));
		coord_stop(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- submitting ---- */

/* Record a refused query as an invalid job: -EINVAL with *id, or the
 * store's error. */
static int record_invalid(struct coord *c, const struct coord_submission *s,
			  const struct ql_error *err, int64_t *id)
{
	int rc = store_job_create(c->o.st, s->name, (uint32_t)s->uid, (uint32_t)s->gid, s->text,
				  s->len, s->basedir, JOB_INVALID, err->text, id);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	coord_log(c, *id, "invalid: %s", err->msg);
	coord_emit(c, *id, COORD_EV_CREATED | COORD_EV_STATUS);
	coord_unlock(c);
	return -EINVAL;
}

int coord_submit(struct coord *c, const struct coord_submission *s, int64_t *id,
		 struct ql_error *err)
{
	struct ql_query *q = NULL;
	memset(err, 0, sizeof(*err));
	int rc = ql_parse(s->text, s->len, s->filename, &q, err);
	if (!rc)
		rc = check_memory(c, q, err);
	ql_free(q);
	if (rc == -EINVAL || rc == -EFBIG)
		return record_invalid(c, s, err, id);
	if (rc) {
		snprintf(err->text, sizeof(err->text), "%s", ana_strerror(rc));
		return rc;
	}
	struct cjob *j = calloc(1, sizeof(*j));
	if (!j || !(j->filename = strdup(s->filename ? s->filename : "query"))) {
		free(j);
		return -ENOMEM;
	}
	rc = store_job_create(c->o.st, s->name, (uint32_t)s->uid, (uint32_t)s->gid, s->text, s->len,
			      s->basedir, JOB_QUEUED, NULL, id);
	if (rc) {
		snprintf(err->text, sizeof(err->text), "the job store: %s", ana_strerror(rc));
		free(j->filename);
		free(j);
		return rc;
	}
	if (s->fresh && (rc = store_job_set_fresh(c->o.st, *id))) {
		/* Queued and never planned: it would take a result it must not. */
		store_job_transition(c->o.st, *id, JOB_MASK_ACTIVE, JOB_FAILED,
				     "cannot record that the job runs afresh");
		snprintf(err->text, sizeof(err->text), "the job store: %s", ana_strerror(rc));
		free(j->filename);
		free(j);
		return rc;
	}
	j->id = *id;
	j->status = JOB_QUEUED;
	j->uid = s->uid;
	j->gid = s->gid;
	pthread_mutex_lock(&c->lock);
	add_job(c, j);
	coord_log(c, *id, "submitted by uid %u", (unsigned)s->uid);
	coord_emit(c, *id, COORD_EV_CREATED | COORD_EV_STATUS);
	pthread_cond_broadcast(&c->plan_cv);
	coord_unlock(c);
	return 0;
}

/* ---- control ---- */

enum ctl { CTL_CANCEL, CTL_PAUSE, CTL_RESUME, CTL_RERUN, CTL_BAD };

static enum ctl parse_ctl(const char *cmd, size_t len)
{
	while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == ' ' || cmd[len - 1] == '\r' ||
		       cmd[len - 1] == '\t'))
		len--;
	static const char *const words[] = {"cancel", "pause", "resume", "rerun"};
	for (int i = 0; i < 4; i++)
		if (len == strlen(words[i]) && !memcmp(cmd, words[i], len))
			return (enum ctl)i;
	return CTL_BAD;
}

/* Under c->lock. */
static int control(struct coord *c, struct cjob *j, enum ctl what)
{
	int rc = 0;
	if (job_status_terminal(j->status)) /* over, its last tasks still coming back */
		return -EBUSY;
	if (what == CTL_CANCEL) {
		if (!(rc = coord_transition(c, j, JOB_CANCELLED, NULL))) {
			coord_log(c, j->id, "cancelled");
			coord_stop_tasks(j);
			coord_retire(c, j);
		}
	} else if (what == CTL_PAUSE) {
		if (j->status != JOB_PAUSED && !(rc = coord_transition(c, j, JOB_PAUSED, NULL)))
			coord_log(c, j->id, "paused (tasks running now finish)");
	} else if (j->status == JOB_PAUSED) {
		bool started = j->next > 0 || j->merged > 0;
		if (!(rc = coord_transition(c, j, started ? JOB_RUNNING : JOB_QUEUED, NULL))) {
			coord_log(c, j->id, "resumed");
			pthread_cond_broadcast(&c->run_cv);
		}
	}
	return rc;
}

/* The query of job id submitted again, to run afresh. */
static int rerun(struct coord *c, int64_t id)
{
	struct job_info info;
	char *text = NULL, *basedir = NULL;
	size_t len = 0;
	int rc = store_job_get(c->o.st, id, &info);
	if (!rc)
		rc = store_job_text(c->o.st, id, &text, &len, &basedir, NULL);
	if (rc)
		return rc;
	char filename[300];
	snprintf(filename, sizeof(filename), "%s.query", info.name);
	struct coord_submission s = {.name = info.name, .filename = filename, .uid = info.uid,
				     .gid = info.gid, .text = text, .len = len, .basedir = basedir,
				     .fresh = true};
	struct ql_error err;
	int64_t nid = 0;
	rc = coord_submit(c, &s, &nid, &err);
	if (rc == 0 || rc == -EINVAL) { /* an invalid query is a job too */
		pthread_mutex_lock(&c->lock);
		coord_log(c, id, "rerun: its query runs afresh as job %lld", (long long)nid);
		coord_log(c, nid, "a fresh run of job %lld's query (rerun): no earlier result taken",
			  (long long)id);
		coord_unlock(c);
		rc = 0;
	}
	free(text);
	free(basedir);
	return rc;
}

int coord_control(struct coord *c, int64_t id, const char *cmd, size_t len)
{
	enum ctl what = parse_ctl(cmd, len);
	if (what == CTL_BAD)
		return -EINVAL;
	if (what == CTL_RERUN)
		return rerun(c, id);
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, id);
	int rc = j ? control(c, j, what) : 0;
	coord_unlock(c);
	if (!j) { /* not held: over, or no such job */
		struct job_info info;
		rc = coord_job(c, id, &info);
		return rc ? rc : -EBUSY;
	}
	return rc;
}

/* ---- what callers ask ---- */

int coord_job(struct coord *c, int64_t id, struct job_info *out)
{
	int rc = store_job_get(c->o.st, id, out);
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, id);
	struct override *o = j ? NULL : find_override(c, id);
	if (j && !rc) {
		out->status = j->status;
		out->planned = j->planned;
	} else if (o) {
		if (rc) { /* a damaged record: what is known */
			memset(out, 0, sizeof(*out));
			out->id = id;
			rc = 0;
		}
		out->status = o->status;
	}
	pthread_mutex_unlock(&c->lock);
	return rc == ANA_EDAMAGED ? -ENOENT : rc;
}

int coord_job_error(struct coord *c, int64_t id, char **error)
{
	char *mine = NULL;
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, id);
	struct override *o = j ? NULL : find_override(c, id);
	const char *e = j ? j->error : o ? o->error : NULL;
	bool have = e != NULL;
	if (e && !(mine = strdup(e))) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	pthread_mutex_unlock(&c->lock);
	if (have) {
		*error = mine;
		return 0;
	}
	return store_job_text(c->o.st, id, NULL, NULL, NULL, error);
}

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void coord_live(struct coord *c, int64_t id, struct coord_live *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, id);
	if (j && !job_status_terminal(j->status)) {
		int64_t running = 0;
		for (struct btask *t = j->inflight; t; t = t->next_inflight)
			running += atomic_load(&t->events);
		out->events_pending = running + j->events_waiting;
		out->bytes = atomic_load(&j->bytes);
		out->cache = j->cache;
		out->active = true;
		out->planned = j->planned;
		out->workers = j->running;
		for (struct retry *r = j->retry; r; r = r->next)
			out->retrying++;
		/* The rate over the time tasks ran: it holds still while paused. */
		double secs = j->active_secs + (j->active_since > 0 ? mono() - j->active_since : 0);
		if (secs > 0.05)
			out->rate = (double)(j->events_done_here + out->events_pending) / secs;
		snprintf(out->note, sizeof(out->note), "%s", j->note);
	}
	pthread_mutex_unlock(&c->lock);
	out->workers_live = coord_workers_live(c);
	snprintf(out->gpu, sizeof(out->gpu), "%s", c->gpu_text);
}

static struct timespec in_ms(int ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int coord_wait(struct coord *c, int64_t id, int timeout_ms, enum job_status *status)
{
	struct timespec until = in_ms(timeout_ms >= 0 ? timeout_ms : 0);
	for (;;) {
		struct job_info info;
		int rc = coord_job(c, id, &info);
		if (rc)
			return rc;
		if (job_status_terminal(info.status)) {
			*status = info.status;
			return 0;
		}
		pthread_mutex_lock(&c->lock);
		struct cjob *j = coord_find(c, id);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			return -EINTR;
		}
		/* A job not held is over since coord_job() looked, or was never
		 * taken up (the store could not say): look again within a second,
		 * never in a busy loop. */
		struct timespec when = in_ms(1000);
		if (timeout_ms >= 0 && before(&until, &when))
			when = until;
		if (j && !job_status_terminal(j->status)) {
			if (timeout_ms >= 0)
				pthread_cond_timedwait(&c->changed, &c->lock, &until);
			else
				pthread_cond_wait(&c->changed, &c->lock);
		} else if (!j) {
			pthread_cond_timedwait(&c->changed, &c->lock, &when);
		}
		pthread_mutex_unlock(&c->lock);
		struct timespec now = in_ms(0);
		if (timeout_ms >= 0 && !before(&now, &until)) {
			if (!coord_job(c, id, &info) && job_status_terminal(info.status)) {
				*status = info.status;
				return 0;
			}
			return -ETIMEDOUT;
		}
	}
}

char *coord_workers_text(struct coord *c)
{
	struct strbuf b = STRBUF_INIT;
	c->bops->describe(c->backend, &b);
	char *out = NULL;
	return strbuf_finish(&b, &out, NULL) ? NULL : out;
}

int coord_workers_live(struct coord *c)
{
	return c->bops->live ? c->bops->live(c->backend) : c->o.workers;
}

int coord_workers_control(struct coord *c, const char *cmd, size_t len, char *msg, size_t cap)
{
	if (!c->bops->control) {
		snprintf(msg, cap, "the %s backend takes no commands", c->bops->name);
		return -ENOTSUP;
	}
	return c->bops->control(c->backend, cmd, len, msg, cap);
}

void coord_io(struct coord *c, uint64_t *bytes, uint64_t *events)
{
	pthread_mutex_lock(&c->lock);
	*bytes = atomic_load(&c->bytes_read);
	*events = atomic_load(&c->events_read);
	for (struct cjob *j = c->jobs; j; j = j->next_job)
		for (struct btask *t = j->inflight; t; t = t->next_inflight) {
			*bytes += atomic_load(&t->bytes);
			*events += (uint64_t)atomic_load(&t->events);
		}
	pthread_mutex_unlock(&c->lock);
}

/* ---- planned jobs ---- */

int coord_attach(struct coord *c, struct cjob *j, struct plan *p, size_t merged,
		 const void *saved, size_t len)
{
	const struct ql_query *q = plan_query(p);
	size_t window = window_for(c, result_query_bytes(q));
	struct result *total = NULL;
	int rc = result_new(q, &total);
	if (!rc && len)
		rc = result_decode(total, saved, len);
	size_t n = plan_ntasks(p);
	struct result **slots = calloc(window, sizeof(*slots));
	int64_t *slot_events = calloc(window, sizeof(*slot_events));
	char **slot_skip = calloc(window, sizeof(*slot_skip));
	uint32_t *attempts = calloc(n + 1, sizeof(*attempts));
	uint8_t *tries = calloc(n + 1, 1), *losses = calloc(n + 1, 1);
	if (!rc && (!slots || !slot_events || !slot_skip || !attempts || !tries || !losses))
		rc = -ENOMEM;
	if (rc) {
		result_free(total);
		free(slots);
		free(slot_events);
		free(slot_skip);
		free(attempts);
		free(tries);
		free(losses);
		return rc;
	}
	j->slot_skip = slot_skip;
	j->attempts = attempts;
	j->tries = tries;
	j->losses = losses;
	j->skip_errors = q->on_error_skip;
	j->plan = plan_ref(p);
	j->total = total;
	j->slots = slots;
	j->slot_events = slot_events;
	j->window = window;
	j->ntasks = plan_ntasks(p);
	j->next = j->merged = merged;
	j->planned = true;
	j->note[0] = '\0';
	return 0;
}
