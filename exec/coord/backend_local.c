/* backend_local.c — the local backend: worker threads of this process.
 *
 * Each worker has one slot: the coordinator hands it a task (or the worker
 * pulls the next one as it gives the last back), it runs it with a runner
 * kept for the task's plan (so a run of tasks of one job reuses its open
 * file and buffers) and reports it through env->done.  A
 * worker idle for a second drops its runner, so a finished job's plan and
 * file do not stay held.
 *
 * Locks: b->mu guards the slots; it is never held while a task runs nor
 * while done is called (the coordinator takes its own locks in done). */
#include "backend.h"

#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lworker {
	struct backend *b;
	int id;
	pthread_t tid;
	bool started;
	struct btask *task;      /* the slot: under b->mu */
	bool choosing;           /* between giving a task back and pulling the next */
	int64_t tasks_done;      /* under b->mu */
	atomic_llong events;     /* since start */
};

struct backend {
	struct backend_env env;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lworker *w;
	int n;
	bool stopping;           /* under mu */
	double t0;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct progress_ctx {
	struct btask *t;
	struct lworker *w;
};

static int on_progress(void *ctx, int64_t events)
{
	struct progress_ctx *pc = ctx;
	atomic_fetch_add(&pc->t->events, events);
	atomic_fetch_add(&pc->w->events, events);
	return atomic_load(&pc->t->stop);
}

/* Run t with *kit (made anew for another plan). */
static void run_task(struct lworker *w, struct runner **kit, struct btask *t)
{
	if (*kit && runner_plan(*kit) != t->plan) {
		runner_free(*kit);
		*kit = NULL;
	}
	t->rc = 0;
	if (!*kit && (t->rc = runner_new(t->plan, kit)))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
	if (!t->rc && atomic_load(&t->stop))
		t->rc = -ECANCELED;
	if (!t->rc) {
		struct progress_ctx pc = {t, w};
		uint64_t b0 = runner_bytes_read(*kit);
		t->rc = runner_run(*kit, t->idx, on_progress, &pc, &t->result, t->msg,
				   sizeof(t->msg));
		snprintf(t->note, sizeof(t->note), "%s", t->rc ? "" : runner_note(*kit));
		t->gpu_fills = t->rc ? 0 : runner_gpu_fills(*kit);
		t->gpu_nodes = t->rc ? 0 : runner_gpu_nodes(*kit);
		atomic_fetch_add(&t->bytes, runner_bytes_read(*kit) - b0);
		struct src_stats cs;
		runner_cache(*kit, &cs);
		t->cache = (struct store_cache){cs.hits, cs.misses, cs.bytes_hit, cs.bytes_fetched,
						cs.bytes_prefetched};
	}
	t->worker = w->id;
}

/* Wait for a task or a stop, at most a second; under b->mu. */
static void wait_idle(struct backend *b)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	pthread_cond_timedwait(&b->cv, &b->mu, &ts);
}

static void *work(void *arg)
{
	struct lworker *w = arg;
	struct backend *b = w->b;
	struct runner *kit = NULL;
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!w->task && !b->stopping) {
			wait_idle(b);
			if (!w->task && kit) { /* idle a second: let the job's plan go */
				pthread_mutex_unlock(&b->mu);
				runner_free(kit);
				kit = NULL;
				pthread_mutex_lock(&b->mu);
			}
		}
		struct btask *t = w->task;
		if (!t)
			break; /* stopping, nothing assigned */
		while (t) {
			pthread_mutex_unlock(&b->mu);
			run_task(w, &kit, t);
			pthread_mutex_lock(&b->mu);
			w->tasks_done += t->rc == 0;
			w->task = NULL;
			w->choosing = true; /* the slot stays taken while the next is chosen */
			pthread_mutex_unlock(&b->mu);
			b->env.done(b->env.ctx, t);
			struct btask *next = b->env.pull(b->env.ctx);
			pthread_mutex_lock(&b->mu);
			w->choosing = false;
			w->task = t = next;
			if (t && b->stopping) /* stop came while it was chosen */
				atomic_store(&t->stop, true);
		}
	}
	pthread_mutex_unlock(&b->mu);
	runner_free(kit);
	return NULL;
}

static void local_stop(struct backend *b);

static int local_start(const struct backend_env *env, struct backend **out)
{
	struct backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->env = *env;
	b->n = env->workers < 1 ? 1 : env->workers;
	b->t0 = now();
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	if (!(b->w = calloc((size_t)b->n, sizeof(*b->w)))) {
		local_stop(b);
		return -ENOMEM;
	}
	for (int i = 0; i < b->n; i++) {
		b->w[i].b = b;
		b->w[i].id = i + 1;
		atomic_init(&b->w[i].events, 0);
		if (pthread_create(&b->w[i].tid, NULL, work, &b->w[i])) {
			local_stop(b);
			return -EAGAIN;
		}
		b->w[i].started = true;
	}
	*out = b;
	return 0;
}

static void local_stop(struct backend *b)
{
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	for (int i = 0; b->w && i < b->n; i++)
		if (b->w[i].task)
			atomic_store(&b->w[i].task->stop, true);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	for (int i = 0; b->w && i < b->n; i++)
		if (b->w[i].started)
			pthread_join(b->w[i].tid, NULL);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b->w);
	free(b);
}

static int local_dispatch(struct backend *b, struct btask *t)
{
	int rc = -EAGAIN;
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < b->n && rc; i++)
		if (!b->w[i].task && !b->w[i].choosing && !b->stopping) {
			b->w[i].task = t;
			rc = 0;
		}
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static int local_poll(struct backend *b)
{
	int free_slots = 0;
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < b->n; i++)
		free_slots += !b->w[i].task && !b->w[i].choosing && !b->stopping;
	pthread_mutex_unlock(&b->mu);
	return free_slots;
}

static void local_describe(struct backend *b, struct strbuf *out)
{
	double up = now() - b->t0;
	strbuf_printf(out, "%-4s %-16s %-8s %-8s %-6s %-6s %8s %12s %12s %s\n", "id", "host",
		      "backend", "state", "job", "task", "tasks", "events", "events/s", "heard");
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < b->n; i++) {
		struct lworker *w = &b->w[i];
		char job[24] = "-", task[24] = "-";
		if (w->task) {
			snprintf(job, sizeof(job), "%lld", (long long)w->task->job);
			snprintf(task, sizeof(task), "%zu", w->task->idx);
		}
		long long ev = atomic_load(&w->events);
		strbuf_printf(out, "%-4d %-16.16s %-8s %-8s %-6s %-6s %8lld %12lld %12.4g %s\n", w->id,
			      b->env.host, "threads", w->task ? "busy" : "idle", job, task,
			      (long long)w->tasks_done, ev, up > 0 ? (double)ev / up : 0.0, "now");
	}
	pthread_mutex_unlock(&b->mu);
}

const struct backend_ops backend_local = {
	.name = "threads",
	.start = local_start,
	.stop = local_stop,
	.dispatch = local_dispatch,
	.poll = local_poll,
	.describe = local_describe,
};
