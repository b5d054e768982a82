/* dist_sched.c — which worker runs what, how many workers there should
 * be, and what the `workers` file shows (dist.h).
 *
 * Dispatch picks a usable worker with a free slot: one on the node that
 * last read the task's file if it can (that node's disk cache holds the
 * data), else the one that ran the same job last (its plan and open file
 * are warm), else the one with the most free slots.  Scaling: local processes are as many as
 * configured (`scale N` overrides); pilots follow the tasks waiting and
 * running, between min_workers and max_workers, and an idle pilot above
 * that is told BYE only after idle_timeout.  A worker the launcher does
 * not own (an earlier daemon's) gets no task and is told BYE once idle,
 * after it has delivered what it kept. */
#include "dist_int.h"

#include "ana_err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_batch(const struct backend *b)
{
	return b->lops && strcmp(b->lops->name, "local");
}

/* ---- the ops ---- */

/* FNV-1a of s: names of files and nodes, for placement. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h | 1; /* 0 marks a free slot */
}

static uint64_t task_file_hash(const struct btask *t)
{
	const struct plan_task *pt = plan_task(t->plan, t->idx);
	return pt ? name_hash(plan_file(t->plan, (size_t)pt->file)->url) : 0;
}

/* The node whose cache last read file fh (0: none known). */
static uint64_t place_get(const struct backend *b, uint64_t fh)
{
	const struct dist_place *e = &b->place[fh % DIST_PLACE_SLOTS];
	return fh && e->file == fh ? e->node : 0;
}

static void place_set(struct backend *b, uint64_t fh, uint64_t node)
{
	if (fh)
		b->place[fh % DIST_PLACE_SLOTS] = (struct dist_place){fh, node};
}

int dist_dispatch(struct backend *b, struct btask *t)
{
	int rc = -EAGAIN;
	pthread_mutex_lock(&b->mu);
	struct wk *best = NULL;
	int best_free = 0;
	/* Rank: a worker on the node whose disk cache holds the task's file
	 * (it ran a task of it last), then one whose last task was of the same
	 * job (its plan and open file are warm), then the most free slots. */
	int best_rank = -1;
	uint64_t fh = task_file_hash(t), node = place_get(b, fh);
	for (struct wk *w = b->workers; w && !atomic_load(&b->stopping); w = w->next) {
		int free_slots = w->slots - w->nbusy;
		if (!dist_usable(b, w) || free_slots <= 0)
			continue;
		int rank = (node && name_hash(w->hello.host) == node) * 2 + (w->last_job == t->job);
		if (rank > best_rank || (rank == best_rank && free_slots > best_free)) {
			best = w;
			best_free = free_slots;
			best_rank = rank;
		}
	}
	if (best && !dist_reserve(b, 1)) {
		rc = dist_assign(b, best, t);
		if (!rc) {
			place_set(b, fh, name_hash(best->hello.host));
			dist_flush(b, best);
		} else if (rc != -ENOMEM && rc != -ENOBUFS && rc != -EAGAIN) {
			/* No TASK can carry it (a field past the wire's bounds):
			 * taken, and given back failed by the thread. */
			t->rc = rc;
			t->worker = 0;
			snprintf(t->msg, sizeof(t->msg),
				 "task %zu cannot be sent to a worker process: %s", t->idx,
				 ana_strerror(rc));
			b->ret[b->nret++] = t;
			rc = 0;
		} else {
			rc = -EAGAIN;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

/* WARMs one worker has at once: warming must not crowd out the running
 * job's own reads, and a worker answers more than a few with busy. */
#define DIST_WARMS_PER_WORKER 1

int dist_warm(struct backend *b, const struct bwarm *bw)
{
	const struct plan_task *pt = plan_task(bw->plan, bw->idx);
	if (!pt)
		return -EINVAL;
	uint64_t fh = name_hash(plan_file(bw->plan, (size_t)pt->file)->url);
	pthread_mutex_lock(&b->mu);
	uint64_t node = place_get(b, fh);
	/* The node that already holds the file's data, else any worker not
	 * warming; of those, the one with the most free slots. */
	struct wk *best = NULL;
	int best_rank = -1;
	for (struct wk *w = b->workers; w && !atomic_load(&b->stopping); w = w->next) {
		if (!dist_usable(b, w) || w->nwarm >= DIST_WARMS_PER_WORKER)
			continue;
		int rank = (node && name_hash(w->hello.host) == node) * 1000 + (w->slots - w->nbusy);
		if (rank > best_rank) {
			best = w;
			best_rank = rank;
		}
	}
	int rc = -EAGAIN;
	struct wire_msg m;
	if (best && !(rc = dist_task_msg(WIRE_WARM, bw->job, bw->idx, 0, bw->digest, bw->plan, &m)) &&
	    !(rc = dist_queue(b, best, &m))) {
		best->nwarm++;
		place_set(b, fh, name_hash(best->hello.host));
		dist_flush(b, best);
	} else if (rc == -ENOBUFS || rc == -ENOMEM) {
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

int dist_poll(struct backend *b)
{
	int n = 0;
	pthread_mutex_lock(&b->mu);
	for (struct wk *w = b->workers; w; w = w->next)
		if (dist_usable(b, w) && w->slots > w->nbusy)
			n += w->slots - w->nbusy;
	pthread_mutex_unlock(&b->mu);
	return atomic_load(&b->stopping) ? 0 : n;
}

int dist_live(struct backend *b)
{
	int n = 0;
	pthread_mutex_lock(&b->mu);
	for (struct wk *w = b->workers; w; w = w->next)
		n += w->state == WK_READY && !w->closed;
	pthread_mutex_unlock(&b->mu);
	return n;
}

int dist_control(struct backend *b, const char *cmd, size_t len, char *msg, size_t cap)
{
	char buf[64];
	while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == ' ' || cmd[len - 1] == '\t'))
		len--;
	long n = -1;
	char *end = NULL;
	if (len < sizeof(buf)) {
		memcpy(buf, cmd, len);
		buf[len] = 0;
		if (!strncmp(buf, "scale ", 6) && buf[6] >= '0' && buf[6] <= '9')
			n = strtol(buf + 6, &end, 10);
	}
	if (n < 0 || *end || n > 100000) {
		snprintf(msg, cap, "unknown command; the workers take: scale N (0 to 100000)");
		return -EINVAL;
	}
	pthread_mutex_lock(&b->mu);
	if (is_batch(b))
		b->max_override = (int)n;
	else
		b->want_local = (int)n;
	pthread_mutex_unlock(&b->mu);
	dist_log(b, "scaled to %ld workers", n);
	return 0;
}

static void fmt_ago(double secs, char *out, size_t cap)
{
	if (secs < 60)
		snprintf(out, cap, "%.1f s ago", secs < 0 ? 0 : secs);
	else if (secs < 3600)
		snprintf(out, cap, "%.0f min ago", secs / 60);
	else
		snprintf(out, cap, "%.1f h ago", secs / 3600);
}

void dist_describe(struct backend *b, struct strbuf *out)
{
	double now = dist_now();
	strbuf_printf(out, "%-5s %-16s %-8s %-8s %-10s %-18s %7s %12s %10s  %s\n", "id", "host",
		      "pid", "backend", "state", "task", "tasks", "events", "events/s",
		      "last heard");
	pthread_mutex_lock(&b->mu);
	int connecting = 0;
	for (struct wk *w = b->workers; w; w = w->next) {
		if (w->closed)
			continue;
		if (w->state < WK_READY) {
			connecting++;
			continue;
		}
		char task[48] = "-", ago[32];
		for (int i = 0; i < w->slots; i++)
			if (w->slot[i].t) {
				snprintf(task, sizeof(task), "job %lld task %zu%s",
					 (long long)w->slot[i].t->job, w->slot[i].t->idx,
					 w->nbusy > 1 ? " +" : "");
				break;
			}
		const char *state = w->state == WK_LEAVING ? "leaving" : w->nbusy ? "busy" : "idle";
		fmt_ago(now - w->t_heard, ago, sizeof(ago));
		strbuf_printf(out, "%-5u %-16.16s %-8d %-8.8s %-10s %-18s %7lld %12lld %10.4g  %s\n",
			      w->id, w->hello.host, (int)w->hello.pid, w->hello.backend, state, task,
			      (long long)w->tasks_done, (long long)w->events_done, w->rate, ago);
	}
	if (connecting)
		strbuf_printf(out, "%d connection%s not yet authenticated\n", connecting,
			      connecting == 1 ? "" : "s");
	if (b->launch_text)
		strbuf_puts(out, b->launch_text);
	pthread_mutex_unlock(&b->mu);
}

/* ---- the thread's rounds ---- */

static void say_bye(struct backend *b, struct wk *w, const char *why)
{
	struct wire_msg m = {.type = WIRE_BYE};
	snprintf(m.u.bye.why, sizeof(m.u.bye.why), "%s", why);
	if (!dist_queue(b, w, &m)) {
		w->state = WK_LEAVING;
		dist_flush(b, w);
	}
}

/* The workers wanted now; under mu, pending read before. */
static int wanted(struct backend *b, int pending)
{
	const struct dist_conf *c = b->conf;
	if (!is_batch(b)) {
		if (b->want_local >= 0)
			return b->want_local;
		if (c->workers > 0)
			return c->workers;
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
	}
	int maxw = b->max_override >= 0 ? b->max_override : c->max_workers;
	int minw = c->min_workers < maxw ? c->min_workers : maxw;
	int64_t demand = pending > 0 ? pending : 0;
	for (struct wk *w = b->workers; w; w = w->next)
		if (!w->closed)
			demand += w->nbusy;
	int slots = c->slots > 0 ? c->slots : 1;
	int64_t want = (demand + slots - 1) / slots;
	return want < minw ? minw : want > maxw ? maxw : (int)want;
}

void dist_tick(struct backend *b)
{
	int pending = b->env.pending ? b->env.pending(b->env.ctx) : 0;
	double now = dist_now();
	pthread_mutex_lock(&b->mu);
	int want = wanted(b, pending);
	int ready = 0;
	for (struct wk *w = b->workers; w; w = w->next) {
		double dt = now - w->t_mark;
		if (w->state >= WK_READY && dt >= 1.0) {
			double inst = (double)(w->events_done - w->ev_mark) / dt;
			w->rate = w->rate > 0 ? 0.5 * w->rate + 0.5 * inst : inst;
			w->ev_mark = w->events_done;
			w->t_mark = now;
		}
		ready += w->state == WK_READY && !w->closed && w->owned;
	}
	double grace = is_batch(b) ? b->conf->idle_timeout : 0;
	for (struct wk *w = b->workers; w; w = w->next) {
		if (w->state != WK_READY || w->closed || w->nbusy)
			continue;
		if (w->owned && ready > want && now - w->t_idle >= grace) {
			say_bye(b, w, "not needed now");
			ready--;
		} else if (!w->owned && !w->manual && now - w->t_idle >= 1.0) {
			say_bye(b, w, "a worker of an earlier daemon");
		}
	}
	pthread_mutex_unlock(&b->mu);
	if (!b->launcher)
		return;
	b->lops->tick(b->launcher, want);
	struct strbuf sb = STRBUF_INIT;
	b->lops->describe(b->launcher, &sb);
	char *text = NULL;
	if (strbuf_finish(&sb, &text, NULL))
		text = NULL;
	pthread_mutex_lock(&b->mu);
	free(b->launch_text);
	b->launch_text = text;
	pthread_mutex_unlock(&b->mu);
}

void dist_housekeep(struct backend *b)
{
	double now = dist_now();
	double lease = b->conf->lease;
	pthread_mutex_lock(&b->mu);
	for (struct wk **pw = &b->workers; *pw;) {
		struct wk *w = *pw;
		if (w->closed) {
			if (now - w->t_closed > 2.0) { /* nng is done with it */
				*pw = w->next;
				dist_peer_free(b, w);
			} else {
				pw = &w->next;
			}
			continue;
		}
		pw = &w->next;
		if (w->state < WK_READY) {
			if (now - w->t_open > DIST_AUTH_SECS)
				dist_refuse(b, w, "no AUTH within %.0f s", DIST_AUTH_SECS);
			continue;
		}
		char why[160];
		if (now - w->t_heard > lease) {
			snprintf(why, sizeof(why), "went silent for %.1f s", now - w->t_heard);
			dist_peer_lose(b, w, why);
			continue;
		}
		if (w->t_blocked && now - w->t_blocked > lease) {
			snprintf(why, sizeof(why), "took no frame for %.1f s", now - w->t_blocked);
			dist_peer_lose(b, w, why);
			continue;
		}
		bool lost = false;
		for (int i = 0; i < w->slots && !lost; i++) {
			struct wslot *s = &w->slot[i];
			if (!s->t)
				continue;
			if (!s->seen && now - s->sent > lease) {
				/* Heard from, yet never showing the task: its TASK
				 * was lost on the way.  A new session mends it. */
				snprintf(why, sizeof(why), "never showed job %lld task %zu in %.0f s",
					 (long long)s->t->job, s->t->idx, now - s->sent);
				dist_peer_lose(b, w, why);
				lost = true;
			} else if (atomic_load(&s->t->stop) && !s->cancel_sent) {
				struct wire_msg m = {.type = WIRE_CANCEL};
				m.u.key = (struct wire_key){s->t->job, (uint32_t)s->t->idx,
							    s->t->attempt, s->t->digest};
				s->cancel_sent = !dist_queue(b, w, &m);
			}
		}
		if (!lost)
			dist_flush(b, w);
	}
	pthread_mutex_unlock(&b->mu);
}
