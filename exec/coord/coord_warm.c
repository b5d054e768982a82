/* coord_warm.c — filling nodes' disk caches ahead of the tasks.
 *
 * A job planned and waiting for workers (others run ahead of it) already
 * knows every basket its tasks will read.  After each dispatch round the
 * coordinator offers the backend the first tasks of such jobs (those its
 * window will hand out first) whose files are remote; the backend has a
 * worker fetch each one's data into its node's cache and remembers the
 * node, so that the task, once dispatched, goes there and reads nothing
 * from the server.  For a running job it offers the next tasks (about one
 * per worker) that start another file: a worker prefetches the rest of
 * its own file, not the next one, which it does not know.  Each task is
 * offered once; one that could not be warmed reads from the server when
 * it runs, as any task does. */
#include "coord_int.h"

#include "src.h"

#include <errno.h>
#include <stdio.h>

/* Under c->lock: whether task idx of j reads a remote file. */
static bool task_remote(const struct cjob *j, size_t idx)
{
	const struct plan_task *t = plan_task(j->plan, idx);
	return t && src_url_remote(plan_file(j->plan, (size_t)t->file)->url);
}

/* Under c->lock: whether task idx of j starts another file than the task
 * before it (a worker's own prefetch covers the next task of its file). */
static bool first_of_file(const struct cjob *j, size_t idx)
{
	return idx == 0 || plan_task(j->plan, idx)->file != plan_task(j->plan, idx - 1)->file;
}

void coord_warm(struct coord *c)
{
	if (!c->bops->warm || c->stopping)
		return;
	for (struct cjob *j = c->jobs; j; j = j->next_job) {
		bool queued = j->status == JOB_QUEUED && !j->running;
		if (!j->planned || !(queued || j->status == JOB_RUNNING))
			continue;
		if (j->warm_next < j->next)
			j->warm_next = j->next;
		/* Queued: what its window will hand out first.  Running: the
		 * next tasks, about one per worker, that open another file. */
		size_t end = j->merged + j->window < j->ntasks ? j->merged + j->window : j->ntasks;
		size_t ahead = j->next + (j->window / 4 ? j->window / 4 : 1);
		if (!queued && ahead < end)
			end = ahead;
		while (j->warm_next < end) {
			size_t idx = j->warm_next;
			if (task_remote(j, idx) && (queued || first_of_file(j, idx))) {
				struct bwarm w = {j->id, idx, j->plan, plan_task_digest(j->plan, idx)};
				if (c->bops->warm(c->backend, &w) == -EAGAIN)
					return; /* no worker free to warm: the next round */
			}
			j->warm_next++;
		}
	}
}

void coord_task_warmed(void *ctx, int64_t job, size_t idx, const char *host, int rc,
		       uint64_t bytes, double secs, const char *why)
{
	struct coord *c = ctx;
	pthread_mutex_lock(&c->lock);
	struct cjob *j = coord_find(c, job);
	/* A running job's read-ahead is routine, and a task it missed reads
	 * for itself (and says so if that fails): only a queued job's warming
	 * is worth a line. */
	bool queued = j && j->status == JOB_QUEUED;
	if (queued && !rc)
		coord_log(c, job, "warmed task %zu on %s: %.1f MB fetched into its cache in %.1f s",
			  idx, host, (double)bytes / 1e6, secs);
	else if (queued)
		coord_log(c, job, "could not warm task %zu on %s (it will read from the server): %s",
			  idx, host, why);
	coord_unlock(c);
}
