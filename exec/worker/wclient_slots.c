/* wclient_slots.c — the worker process's slot threads (wclient_int.h):
 * each takes the next queued task, plans it from its own message, runs it
 * with a runner and hands the outcome back to the socket thread.
 *
 * Plans are kept for the next tasks in a small table keyed by job, file
 * and query (a few entries, dropped when idle): a task whose digest is
 * the cached plan's reuses it, with its open file; each thread keeps its
 * runner while its tasks are of the same plan.  Any task of the same job,
 * query and file (with the same identity) is run on the cached plan, with
 * runner_run_entries(); its digest is checked against plan_digest_of() of
 * its entries.
 *
 * Locks: s->mu guards the queues and the threads' state; s->cache_mu the
 * plan table.  Neither is held while a task is planned or run, and
 * cache_mu is never taken with mu held. */
#include "wclient_int.h"

#include "ana_err.h"
#include "plan.h"
#include "result.h"
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_PLANS 4     /* plans kept at once */
#define CACHE_IDLE 5.0    /* seconds a plan or a runner stays unused */

struct cached {
	int64_t job;
	struct plan *p;      /* NULL: a free entry */
	double used;
};

struct wthread {
	struct wslots *s;
	pthread_t tid;
	bool started;
	bool ended;          /* under s->mu */
	bool warm;           /* the warm thread: takes from wtodo */
};

struct wslots {
	const struct wclient_opts *o;
	void (*wake)(void *ctx);
	void *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv, ended_cv;
	struct wtask *todo, *todo_tail;  /* under mu */
	struct wtask *wtodo, *wtodo_tail; /* WARMs, under mu */
	struct wtask *done, *done_tail;  /* under mu */
	bool stopping;                   /* under mu */
	int nthreads, nended;            /* under mu */
	struct wthread *t;   /* o->slots slot threads, then the warm thread */
	pthread_mutex_t cache_mu;
	struct cached cache[CACHE_PLANS]; /* under cache_mu */
};

double wclient_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

bool wkey_equal(const struct wire_key *a, const struct wire_key *b)
{
	return a->job == b->job && a->idx == b->idx && a->attempt == b->attempt &&
	       a->digest == b->digest;
}

static char *dup_str(const char *s)
{
	return strdup(s ? s : "");
}

struct wtask *wtask_from_msg(const struct wire_task *m)
{
	struct wtask *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key = m->key;
	t->text = malloc(m->text_len + 1u);
	t->basedir = dup_str(m->basedir);
	t->url = dup_str(m->url);
	t->tree = dup_str(m->tree);
	if (!t->text || !t->basedir || !t->url || !t->tree) {
		wtask_free(t);
		return NULL;
	}
	memcpy(t->text, m->text, m->text_len);
	t->text[m->text_len] = 0;
	t->text_len = m->text_len;
	t->entries = m->entries;
	t->size = m->size;
	t->mtime_ns = m->mtime_ns;
	t->fingerprint = m->fingerprint;
	t->first = m->first;
	t->last = m->last;
	return t;
}

void wtask_free(struct wtask *t)
{
	if (!t)
		return;
	free(t->text);
	free(t->basedir);
	free(t->url);
	free(t->tree);
	free(t->blob);
	free(t);
}

/* ---- the plan table ---- */

/* Whether c's plan is of t's job, query and file (with the identity the
 * task gives it). */
static bool same_source(const struct cached *c, const struct wtask *t)
{
	size_t len;
	const char *text = plan_text(c->p, &len);
	const char *base = plan_basedir(c->p);
	const struct plan_file *f = plan_file(c->p, 0);
	return c->job == t->key.job && len == t->text_len && !memcmp(text, t->text, len) &&
	       !strcmp(f->url, t->url) && base && !strcmp(base, t->basedir) &&
	       f->size == t->size && f->mtime_ns == t->mtime_ns &&
	       f->fingerprint == t->fingerprint && (!t->tree[0] || !strcmp(f->tree, t->tree));
}

/* A cached plan for t (a new reference), or NULL. */
static struct plan *cache_get(struct wslots *s, const struct wtask *t)
{
	struct plan *p = NULL;
	pthread_mutex_lock(&s->cache_mu);
	for (int i = 0; i < CACHE_PLANS && !p; i++) {
		struct cached *c = &s->cache[i];
		if (c->p && same_source(c, t)) {
			p = plan_ref(c->p);
			c->used = wclient_now();
		}
	}
	pthread_mutex_unlock(&s->cache_mu);
	return p;
}

/* Keep p (a reference of its own) in place of the plan of the same job,
 * file and query, else of the least recently used. */
static void cache_put(struct wslots *s, const struct wtask *t, struct plan *p)
{
	pthread_mutex_lock(&s->cache_mu);
	int at = -1;
	for (int i = 0; i < CACHE_PLANS && at < 0; i++)
		if (s->cache[i].p && same_source(&s->cache[i], t))
			at = i;
	for (int i = 0; i < CACHE_PLANS && at < 0; i++)
		if (!s->cache[i].p)
			at = i;
	if (at < 0) {
		at = 0;
		for (int i = 1; i < CACHE_PLANS; i++)
			if (s->cache[i].used < s->cache[at].used)
				at = i;
	}
	struct plan *drop = s->cache[at].p;
	s->cache[at] = (struct cached){t->key.job, plan_ref(p), wclient_now()};
	pthread_mutex_unlock(&s->cache_mu);
	plan_unref(drop);
}

void wslots_sweep(struct wslots *s)
{
	struct plan *drop[CACHE_PLANS];
	int n = 0;
	double now = wclient_now();
	pthread_mutex_lock(&s->cache_mu);
	for (int i = 0; i < CACHE_PLANS; i++)
		if (s->cache[i].p && now - s->cache[i].used > CACHE_IDLE) {
			drop[n++] = s->cache[i].p;
			s->cache[i].p = NULL;
		}
	pthread_mutex_unlock(&s->cache_mu);
	for (int i = 0; i < n; i++)
		plan_unref(drop[i]);
}

/* The plan of t: cached, or made from its message alone and checked to
 * be the very task the coordinator means. */
static int plan_for(struct wslots *s, struct wtask *t, struct plan **out)
{
	struct plan *p = cache_get(s, t);
	int rc = 0;
	if (!p) {
		struct plan_opts po = {.basedir = t->basedir, .filename = "query",
				       .remote_lazy = true};
		struct plan_file f = {t->url, t->tree, t->entries, t->size, t->mtime_ns,
				      t->fingerprint, 0};
		struct plan_task pt = {0, t->first, t->last};
		if ((rc = plan_resume(t->text, t->text_len, &po, &f, 1, &pt, 1, &p, t->why,
				      sizeof(t->why))))
			return rc;
		cache_put(s, t, p);
	}
	int64_t entries = plan_file(p, 0)->entries;
	struct plan_task pt = {0, t->first, t->last};
	if (plan_digest_of(p, &pt) != t->key.digest) {
		snprintf(t->why, sizeof(t->why), "the task's digest does not match what it describes");
		rc = -EPROTO;
	} else if (t->first < 0 || t->last < t->first || t->last > entries) {
		snprintf(t->why, sizeof(t->why), "%s: entries [%lld, %lld) are not within its %lld",
			 t->url, (long long)t->first, (long long)t->last, (long long)entries);
		rc = -EINVAL;
	}
	if (rc) {
		plan_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* ---- running a task ---- */

struct progress_ctx {
	struct wtask *t;
	struct runner *r;
	uint64_t b0;
};

static int on_progress(void *ctx, int64_t events)
{
	struct progress_ctx *pc = ctx;
	atomic_fetch_add(&pc->t->events, events);
	atomic_store(&pc->t->bytes, runner_bytes_read(pc->r) - pc->b0);
	return atomic_load(&pc->t->stop) != WSTOP_NONE;
}

/* Fake mode: wait fake_secs (or a stop), then the empty result of the
 * query's shape.  Parsing alone gives the shape: no file is opened, so a
 * fake worker costs the coordinator's benchmarks next to nothing (and
 * the digest is not checked). */
static int run_fake(struct wslots *s, struct wtask *t, struct result **out)
{
	double end = wclient_now() + s->o->fake_secs;
	for (;;) {
		if (atomic_load(&t->stop) != WSTOP_NONE)
			return -ECANCELED;
		double left = end - wclient_now();
		if (left <= 0)
			break;
		if (left > 0.01)
			left = 0.01;
		struct timespec ts = {0, (long)(left * 1e9)};
		nanosleep(&ts, NULL);
	}
	struct ql_query *q = NULL;
	struct ql_error err;
	int rc = ql_parse(t->text, t->text_len, "query", &q, &err);
	if (rc)
		snprintf(t->why, sizeof(t->why), "%s", err.msg);
	else
		rc = result_new(q, out);
	ql_free(q);
	if (!rc) {
		(*out)->events = t->last - t->first;
		atomic_store(&t->events, (*out)->events);
	}
	return rc;
}

/* The thread's runner *kit, made anew for plan p when it ran another: 0,
 * or -ENOMEM with t->why. */
static int kit_for(struct runner **kit, struct plan *p, struct wtask *t)
{
	if (*kit && runner_plan(*kit) != p) {
		runner_free(*kit);
		*kit = NULL;
	}
	int rc = *kit ? 0 : runner_new(p, kit);
	if (rc)
		snprintf(t->why, sizeof(t->why), "out of memory");
	return rc;
}

static void run_task(struct wslots *s, struct runner **kit, struct wtask *t)
{
	struct plan *p = NULL;
	struct result *res = NULL;
	int rc = atomic_load(&t->stop) != WSTOP_NONE ? -ECANCELED : 0;
	if (!rc && s->o->fake_secs >= 0)
		rc = run_fake(s, t, &res);
	else if (!rc && !(rc = plan_for(s, t, &p)) && !(rc = kit_for(kit, p, t))) {
		struct progress_ctx pc = {t, *kit, runner_bytes_read(*kit)};
		struct plan_task pt = {0, t->first, t->last};
		rc = runner_run_entries(*kit, &pt, on_progress, &pc, &res, t->why, sizeof(t->why));
		if (!rc && *runner_note(*kit)) /* the device failed; the task ran on */
			fprintf(stderr, "anafs worker: entries %lld to %lld: %s\n",
				(long long)t->first, (long long)t->last, runner_note(*kit));
		atomic_store(&t->bytes, runner_bytes_read(*kit) - pc.b0);
		struct src_stats cs;
		runner_cache(*kit, &cs);
		t->cache = (struct wire_cache){cs.hits, cs.misses, cs.bytes_hit, cs.bytes_fetched,
					       cs.bytes_prefetched};
	}
	if (!rc && (rc = result_encode(res, &t->blob, &t->blob_len)))
		snprintf(t->why, sizeof(t->why), "out of memory");
	t->done_events = res && !rc ? res->events : atomic_load(&t->events);
	t->done_bytes = atomic_load(&t->bytes);
	if (rc == -ECANCELED && atomic_load(&t->stop) == WSTOP_CANCEL)
		snprintf(t->why, sizeof(t->why), "cancelled by the coordinator");
	else if (rc && !t->why[0])
		snprintf(t->why, sizeof(t->why), "%s", ana_strerror(rc));
	t->rc = rc;
	result_free(res);
	plan_unref(p);
}

/* WARM t: its file opened through its plan, its baskets fetched into the
 * node's cache (runner_warm()).  A fake worker fetches nothing. */
static void run_warm(struct wslots *s, struct runner **kit, struct wtask *t)
{
	double t0 = wclient_now();
	struct plan *p = NULL;
	int rc = 0;
	if (s->o->fake_secs < 0 && !(rc = plan_for(s, t, &p)) && !(rc = kit_for(kit, p, t))) {
		struct plan_task pt = {0, t->first, t->last};
		rc = runner_warm(*kit, &pt, &t->warm_bytes, t->why, sizeof(t->why));
	}
	if (rc && !t->why[0])
		snprintf(t->why, sizeof(t->why), "%s", ana_strerror(rc));
	t->rc = rc;
	double ms = (wclient_now() - t0) * 1e3;
	t->warm_ms = ms > 4e9 ? 4000000000u : (uint32_t)ms;
	plan_unref(p);
}

static void *slot_main(void *arg)
{
	struct wthread *w = arg;
	struct wslots *s = w->s;
	struct runner *kit = NULL;
	double idle_since = wclient_now();
	struct wtask **todo = w->warm ? &s->wtodo : &s->todo;
	struct wtask **todo_tail = w->warm ? &s->wtodo_tail : &s->todo_tail;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!*todo && !s->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
			if (!*todo && kit && wclient_now() - idle_since > CACHE_IDLE) {
				pthread_mutex_unlock(&s->mu);
				runner_free(kit); /* idle: let the plan and its file go */
				kit = NULL;
				pthread_mutex_lock(&s->mu);
			}
		}
		if (s->stopping)
			break;
		struct wtask *t = *todo;
		*todo = t->next;
		if (!*todo)
			*todo_tail = NULL;
		t->next = NULL;
		pthread_mutex_unlock(&s->mu);
		if (w->warm)
			run_warm(s, &kit, t);
		else
			run_task(s, &kit, t);
		pthread_mutex_lock(&s->mu);
		if (s->done_tail)
			s->done_tail->next = t;
		else
			s->done = t;
		s->done_tail = t;
		idle_since = wclient_now();
		pthread_mutex_unlock(&s->mu);
		s->wake(s->ctx);
		pthread_mutex_lock(&s->mu);
	}
	w->ended = true;
	s->nended++;
	pthread_cond_broadcast(&s->ended_cv);
	pthread_mutex_unlock(&s->mu);
	runner_free(kit);
	return NULL;
}

int wslots_start(const struct wclient_opts *o, void (*wake)(void *ctx), void *ctx,
		 struct wslots **out)
{
	struct wslots *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = o;
	s->wake = wake;
	s->ctx = ctx;
	s->t = calloc((size_t)o->slots + 1, sizeof(*s->t));
	if (!s->t) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->cache_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->ended_cv, NULL);
	for (int i = 0; i <= o->slots; i++) {
		s->t[i].s = s;
		s->t[i].warm = i == o->slots;
		int rc = pthread_create(&s->t[i].tid, NULL, slot_main, &s->t[i]);
		if (rc) {
			wslots_stop(s, 10);
			return -rc;
		}
		s->t[i].started = true;
		s->nthreads++;
	}
	*out = s;
	return 0;
}

static void push(struct wslots *s, struct wtask **todo, struct wtask **tail, struct wtask *t)
{
	t->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (*tail)
		(*tail)->next = t;
	else
		*todo = t;
	*tail = t;
	/* The slot threads and the warm thread wait on one condition. */
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void wslots_push(struct wslots *s, struct wtask *t)
{
	push(s, &s->todo, &s->todo_tail, t);
}

void wslots_push_warm(struct wslots *s, struct wtask *t)
{
	push(s, &s->wtodo, &s->wtodo_tail, t);
}

struct wtask *wslots_take_done(struct wslots *s)
{
	pthread_mutex_lock(&s->mu);
	struct wtask *d = s->done;
	s->done = s->done_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	return d;
}

bool wslots_stop(struct wslots *s, double wait_s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	double end = wclient_now() + wait_s;
	while (s->nended < s->nthreads && wclient_now() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->ended_cv, &s->mu, &ts);
	}
	bool all = s->nended == s->nthreads;
	pthread_mutex_unlock(&s->mu);
	if (!all)
		return false;
	for (int i = 0; i <= s->o->slots; i++)
		if (s->t[i].started)
			pthread_join(s->t[i].tid, NULL);
	for (int i = 0; i < CACHE_PLANS; i++)
		plan_unref(s->cache[i].p);
	/* WARMs are the slots' alone (the socket thread holds no list of
	 * them): those not run, and those done and not taken. */
	for (struct wtask *t = s->wtodo, *n; t; t = n) {
		n = t->next;
		wtask_free(t);
	}
	for (struct wtask *t = s->done, *n; t; t = n) {
		n = t->next;
		if (t->warm)
			wtask_free(t);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->cache_mu);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->ended_cv);
	free(s->t);
	free(s);
	return true;
}
