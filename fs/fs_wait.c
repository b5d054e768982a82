/* fs_wait.c — reads that wait without holding a thread, the
 * coordinator's events, the notifier thread, and poll.
 *
 * A read of jobs/N/wait on a job that is not over is not answered by its
 * handler: the request goes on m->waiters and the handler returns, so a
 * blocked reader holds no thread of the mount.  It is answered exactly
 * once, by whoever takes it off the list under m->wait_lock:
 *   - the notifier thread, when the job is over: its status line, as the
 *     read's offset and size ask (dd bs=1 reads it byte by byte);
 *   - libfuse's interrupt callback, when the reader got a signal: EINTR;
 *   - fs_wait_shutdown(), when the daemon stops: the status, or EINTR.
 * A waiter is listed "new" first, and only its own handler may answer it
 * then: the interrupt callback is registered before the waiter is listed
 * (it may run at once, inside libfuse), and a request answered while its
 * handler still uses it would be freed under the handler's feet.
 *
 * The notifier is the only thread that calls libfuse's notify functions
 * (calling them from a request handler can deadlock the kernel).  Besides
 * the events, it looks at the jobs of the waiters once a second, so that
 * a lost event delays an answer by a second, never forever. */
#include "fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fs_waiter {
	uint64_t id;
	fuse_req_t req;
	int64_t job;
	size_t size;
	off_t off;
	bool listed;             /* others may answer it */
	bool intr;               /* interrupted while new */
	struct fs_waiter *next, *prev;
};

/* ---- the list (m->wait_lock) ---- */

static void wl_add(struct fs_mount *m, struct fs_waiter *w)
{
	w->prev = NULL;
	w->next = m->waiters;
	if (m->waiters)
		m->waiters->prev = w;
	m->waiters = w;
	m->nwaiters++;
}

static void wl_del(struct fs_mount *m, struct fs_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		m->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	m->nwaiters--;
}

static struct fs_waiter *wl_find(struct fs_mount *m, uint64_t id)
{
	for (struct fs_waiter *w = m->waiters; w; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

/* ---- answering ---- */

int fs_job_over(struct fs_mount *m, int64_t job, enum job_status *st, bool *over)
{
	struct job_info info;
	int rc = coord_job(m->ctx.sc, job, &info);
	if (!rc) {
		*st = info.status;
		*over = job_status_terminal(info.status);
	}
	return rc;
}

/* The final status line, as a read of size bytes at off sees it. */
static void reply_status(fuse_req_t req, enum job_status st, size_t size, off_t off)
{
	char text[32];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s\n", job_status_name(st));
	size_t n = off >= 0 && (size_t)off < len ? len - (size_t)off : 0;
	fuse_reply_buf(req, n ? text + off : NULL, n < size ? n : size);
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct fs_mount *m = fuse_req_userdata(req);
	pthread_mutex_lock(&m->wait_lock);
	struct fs_waiter *w = wl_find(m, (uint64_t)(uintptr_t)data);
	if (w && !w->listed) {
		w->intr = true; /* its handler answers */
		w = NULL;
	} else if (w) {
		wl_del(m, w);
	}
	pthread_mutex_unlock(&m->wait_lock);
	if (w) {
		fuse_reply_err(w->req, EINTR);
		free(w);
	}
}

/* Take waiter id off the list if it is still there. */
static struct fs_waiter *claim(struct fs_mount *m, uint64_t id)
{
	pthread_mutex_lock(&m->wait_lock);
	struct fs_waiter *w = wl_find(m, id);
	if (w)
		wl_del(m, w);
	pthread_mutex_unlock(&m->wait_lock);
	return w;
}

void fs_wait_read(struct fs_mount *m, fuse_req_t req, int64_t job, size_t size, off_t off)
{
	enum job_status st;
	bool over;
	int rc = fs_job_over(m, job, &st, &over);
	if (rc || over) {
		if (rc)
			fuse_reply_err(req, -rc);
		else
			reply_status(req, st, size, off);
		return;
	}
	struct fs_waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*w = (struct fs_waiter){.req = req, .job = job, .size = size, .off = off};
	pthread_mutex_lock(&m->wait_lock);
	uint64_t id = w->id = ++m->next_waiter;
	pthread_mutex_unlock(&m->wait_lock);
	fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)id);
	pthread_mutex_lock(&m->wait_lock);
	wl_add(m, w);
	pthread_mutex_unlock(&m->wait_lock);
	bool intr = fuse_req_interrupted(req); /* before it was listed */
	pthread_mutex_lock(&m->wait_lock);
	bool gone = intr || w->intr;
	if (gone)
		wl_del(m, w);
	else
		w->listed = true; /* from here on, w may be gone at any moment */
	pthread_mutex_unlock(&m->wait_lock);
	if (gone) {
		fuse_reply_err(req, EINTR);
		free(w);
		return;
	}
	/* The job may have ended before the waiter was listed, its event
	 * handled already: look again. */
	if (!fs_job_over(m, job, &st, &over) && over && (w = claim(m, id))) {
		reply_status(w->req, st, w->size, w->off);
		free(w);
	}
}

/* Answer every listed waiter of job with its final status st. */
static void answer(struct fs_mount *m, int64_t job, enum job_status st)
{
	struct fs_waiter *done = NULL;
	pthread_mutex_lock(&m->wait_lock);
	for (struct fs_waiter *w = m->waiters, *next; w; w = next) {
		next = w->next;
		if (w->job == job && w->listed) {
			wl_del(m, w);
			w->next = done;
			done = w;
		}
	}
	pthread_mutex_unlock(&m->wait_lock);
	while (done) {
		struct fs_waiter *w = done;
		done = w->next;
		reply_status(w->req, st, w->size, w->off);
		free(w);
	}
}

void fs_wait_shutdown(struct fs_mount *m)
{
	pthread_mutex_lock(&m->wait_lock);
	struct fs_waiter *all = m->waiters;
	m->waiters = NULL;
	m->nwaiters = 0;
	for (struct fs_handle *h = m->polls; h; h = h->pnext) {
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
	m->polls = NULL;
	pthread_mutex_unlock(&m->wait_lock);
	int64_t last = 0;
	enum job_status st = JOB_QUEUED;
	bool over = false;
	while (all) {
		struct fs_waiter *w = all;
		all = w->next;
		if (w->job != last && fs_job_over(m, w->job, &st, &over))
			over = false;
		last = w->job;
		if (over)
			reply_status(w->req, st, w->size, w->off);
		else
			fuse_reply_err(w->req, EINTR);
		free(w);
	}
}

/* ---- poll handles (m->wait_lock) ---- */

void fs_poll_keep(struct fs_mount *m, struct fs_handle *h, struct fuse_pollhandle *ph)
{
	pthread_mutex_lock(&m->wait_lock);
	struct fuse_pollhandle *old = h->ph;
	h->ph = ph;
	if (!old) {
		h->pprev = NULL;
		h->pnext = m->polls;
		if (m->polls)
			m->polls->pprev = h;
		m->polls = h;
	}
	pthread_mutex_unlock(&m->wait_lock);
	if (old)
		fuse_pollhandle_destroy(old);
}

static struct fuse_pollhandle *poll_take(struct fs_mount *m, struct fs_handle *h)
{
	struct fuse_pollhandle *ph = h->ph;
	if (!ph)
		return NULL;
	if (h->pprev)
		h->pprev->pnext = h->pnext;
	else
		m->polls = h->pnext;
	if (h->pnext)
		h->pnext->pprev = h->pprev;
	h->ph = NULL;
	return ph;
}

void fs_poll_drop(struct fs_mount *m, struct fs_handle *h)
{
	pthread_mutex_lock(&m->wait_lock);
	struct fuse_pollhandle *ph = poll_take(m, h);
	pthread_mutex_unlock(&m->wait_lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
}

/* Wake the pollers of job: status files at any change, wait once over. */
static void poll_wake(struct fs_mount *m, int64_t job, bool over)
{
	struct fuse_pollhandle *v[64];
	size_t n;
	do { /* in rounds of 64, without holding the lock while notifying */
		n = 0;
		pthread_mutex_lock(&m->wait_lock);
		for (struct fs_handle *h = m->polls, *next; h && n < 64; h = next) {
			next = h->pnext;
			if (h->job == job && (h->kind != H_WAIT || over))
				v[n++] = poll_take(m, h);
		}
		pthread_mutex_unlock(&m->wait_lock);
		for (size_t i = 0; i < n; i++) {
			fuse_lowlevel_notify_poll(v[i]);
			fuse_pollhandle_destroy(v[i]);
		}
	} while (n == 64);
}

/* ---- events and the notifier ---- */

void fs_on_event(void *ctx, int64_t job, unsigned events)
{
	struct fs_mount *m = ctx;
	pthread_mutex_lock(&m->ev_lock);
	size_t i = 0;
	while (i < m->nev && m->evq[i].job != job)
		i++;
	if (i == m->nev && m->nev == m->capev) {
		size_t cap = m->capev ? 2 * m->capev : 64;
		struct fs_ev *v = realloc(m->evq, cap * sizeof(*v));
		if (v) {
			m->evq = v;
			m->capev = cap;
		}
	}
	if (i < m->capev) {
		if (i == m->nev)
			m->evq[m->nev++] = (struct fs_ev){job, 0};
		m->evq[i].events |= events;
	} else {
		m->ev_lost = true; /* out of memory: the notifier looks at every waiter */
	}
	pthread_cond_signal(&m->ev_cond);
	pthread_mutex_unlock(&m->ev_lock);
}

static void inval(struct fs_mount *m, uint64_t ino)
{
	fuse_lowlevel_notify_inval_inode(m->se, (fuse_ino_t)ino, -1, 0); /* attributes only */
}

/* A new job: its name's link now points at it; jobs/ changed. */
static void created(struct fs_mount *m, int64_t job)
{
	struct job_info info;
	if (coord_job(m->ctx.sc, job, &info))
		return;
	pthread_mutex_lock(&m->lock);
	fs_name_job(m, info.name, job, info.uid, info.created);
	struct fs_name *nm = fs_name_find(m, info.name);
	uint64_t link = nm ? nm->link_ino : 0;
	pthread_mutex_unlock(&m->lock);
	inval(m, FS_INO_JOBS);
	if (link)
		inval(m, link);
}

static void handle(struct fs_mount *m, int64_t job, unsigned events)
{
	if (events & COORD_EV_CREATED)
		created(m, job);
	if (!(events & (COORD_EV_STATUS | COORD_EV_CREATED)))
		return;
	enum job_status st;
	bool over = false;
	if (!fs_job_over(m, job, &st, &over) && over)
		answer(m, job, st);
	poll_wake(m, job, over);
}

/* The jobs someone waits for or polls, looked at again (a safety net). */
static void sweep(struct fs_mount *m)
{
	int64_t jobs[32];
	size_t n = 0;
	pthread_mutex_lock(&m->wait_lock);
	for (struct fs_waiter *w = m->waiters; w && n < 32; w = w->next) {
		size_t i = 0;
		while (i < n && jobs[i] != w->job)
			i++;
		if (i == n && w->listed)
			jobs[n++] = w->job;
	}
	for (struct fs_handle *h = m->polls; h && n < 32; h = h->pnext)
		if (h->kind == H_WAIT)
			jobs[n++] = h->job;
	pthread_mutex_unlock(&m->wait_lock);
	for (size_t i = 0; i < n; i++)
		handle(m, jobs[i], COORD_EV_STATUS);
}

static void *notifier_main(void *arg)
{
	struct fs_mount *m = arg;
	for (;;) {
		pthread_mutex_lock(&m->ev_lock);
		int r = 0;
		while (!m->ev_stop && !m->nev && !m->ev_lost && r != ETIMEDOUT) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_sec += 1;
			r = pthread_cond_timedwait(&m->ev_cond, &m->ev_lock, &t);
		}
		if (m->ev_stop) {
			pthread_mutex_unlock(&m->ev_lock);
			return NULL;
		}
		struct fs_ev *batch = m->evq;
		size_t n = m->nev;
		bool all = m->ev_lost || !n;
		m->evq = NULL;
		m->nev = m->capev = 0;
		m->ev_lost = false;
		pthread_mutex_unlock(&m->ev_lock);
		for (size_t i = 0; i < n; i++)
			handle(m, batch[i].job, batch[i].events);
		free(batch);
		if (all)
			sweep(m);
	}
}

int fs_notifier_start(struct fs_mount *m)
{
	int rc = pthread_create(&m->notifier, NULL, notifier_main, m);
	m->notifier_up = !rc;
	return -rc;
}

void fs_notifier_stop(struct fs_mount *m)
{
	if (!m->notifier_up)
		return;
	pthread_mutex_lock(&m->ev_lock);
	m->ev_stop = true;
	pthread_cond_signal(&m->ev_cond);
	pthread_mutex_unlock(&m->ev_lock);
	pthread_join(m->notifier, NULL);
	m->notifier_up = false;
}
