/* dist_server.c — the worker-process backend (dist.h): its start and
 * stop, the one thread that receives every frame, and sending.
 *
 * One nng pair1 socket, polyamorous: each worker's connection is a pipe.
 * It listens on ipc (STATE/workers.sock, mode 0600) and, for batch
 * launchers, on tcp.  nng's pipe callback only queues the event; the
 * thread does the work.  The conversation with each worker is in
 * dist_session.c, dispatch, scaling and describe in dist_sched.c.
 *
 * Sending never blocks: frames go to the worker's outbox, encoded in
 * order (each signed with the next seq), and are handed to nng with
 * NNG_FLAG_NONBLOCK, a few at a time per pipe.  The pacing matters: in
 * polyamorous mode nng moves a message to its pipe with a try-put into a
 * queue of two and drops it silently when that is full, and a dropped
 * signed frame would leave the worker's session out of step.  A worker
 * whose sends keep failing is lost (dist_sched.c). */
#include "dist_int.h"

#include "ana_err.h"

#include <nng/protocol/pair1/pair.h>
#include <nng/transport/ipc/ipc.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

double dist_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void dist_log(struct backend *b, const char *fmt, ...)
{
	char line[1400];
	int n = snprintf(line, sizeof(line), "workers: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (b->env.log)
		b->env.log(b->env.ctx, line);
	else
		fprintf(stderr, "anafs: %s\n", line);
}

/* ---- sending ---- */

int dist_queue(struct backend *b, struct wk *w, const struct wire_msg *m)
{
	(void)b;
	if (w->closed)
		return 0;
	if (w->nout >= DIST_MAX_OUTBOX)
		return -ENOBUFS; /* a worker that reads nothing: the lease takes it */
	struct omsg *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	void *buf = NULL;
	size_t len = 0;
	int rc = wire_encode(w->state >= WK_READY ? &w->sess : NULL, m, &buf, &len);
	if (!rc && nng_msg_alloc(&o->m, len))
		rc = -ENOMEM;
	if (rc) {
		free(buf);
		free(o);
		return rc;
	}
	memcpy(nng_msg_body(o->m), buf, len);
	free(buf);
	if (w->out_tail)
		w->out_tail->next = o;
	else
		w->out = o;
	w->out_tail = o;
	w->nout++;
	return 0;
}

void dist_flush(struct backend *b, struct wk *w)
{
	double now = dist_now();
	if (now - w->t_burst >= DIST_BURST_SECS) {
		w->t_burst = now;
		w->burst = 0;
	}
	while (w->out && !w->closed && w->burst < DIST_BURST) {
		struct omsg *o = w->out;
		nng_msg_set_pipe(o->m, w->pipe);
		int rc = nng_sendmsg(b->sock, o->m, NNG_FLAG_NONBLOCK);
		if (rc) {
			/* The socket's queue is full (every worker shares it):
			 * try again at the next pass; past a lease the worker
			 * is lost (dist_housekeep). */
			if (!w->t_blocked) {
				w->t_blocked = now;
				dist_note(b, w, "cannot send to it now (%s); retrying",
					  nng_strerror(rc));
			}
			return;
		}
		w->t_blocked = 0;
		w->burst++;
		w->out = o->next;
		if (!w->out)
			w->out_tail = NULL;
		w->nout--;
		free(o);
	}
}

static void outbox_free(struct wk *w)
{
	while (w->out) {
		struct omsg *o = w->out;
		w->out = o->next;
		nng_msg_free(o->m);
		free(o);
	}
	w->out_tail = NULL;
	w->nout = 0;
}

void dist_close(struct backend *b, struct wk *w)
{
	(void)b;
	if (w->closed)
		return;
	w->closed = true;
	w->t_closed = dist_now();
	outbox_free(w);
	nng_pipe_close(w->pipe);
}

static void note(struct backend *b, struct wk *w, const char *what, const char *why)
{
	double now = dist_now();
	if (now - b->log_window >= DIST_LOG_WINDOW) {
		if (b->log_suppressed)
			dist_log(b, "%lld more refusals in the last %.0f s not logged",
				 (long long)b->log_suppressed, DIST_LOG_WINDOW);
		b->log_window = now;
		b->log_count = 0;
		b->log_suppressed = 0;
	}
	/* Per connection the first few, overall DIST_LOG_BURST a window: a
	 * flood of bad frames cannot fill the disk with the log. */
	if (w->refusals < DIST_LOG_PEER && b->log_count < DIST_LOG_BURST) {
		w->refusals++;
		b->log_count++;
		dist_log(b, "%s %s: %s", what, w->addr, why);
	} else {
		w->dropped++;
		b->log_suppressed++;
	}
}

void dist_note(struct backend *b, struct wk *w, const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	note(b, w, "dropped a frame from", why);
}

void dist_refuse(struct backend *b, struct wk *w, const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	note(b, w, "refused", why);
	dist_close(b, w);
}

/* ---- tasks given back ---- */

int dist_reserve(struct backend *b, size_t n)
{
	size_t need = b->nret + b->reserved + n;
	if (need <= b->capret)
		return 0;
	size_t cap = b->capret ? b->capret : 64;
	while (cap < need)
		cap *= 2;
	struct btask **r = realloc(b->ret, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	b->ret = r;
	b->capret = cap;
	return 0;
}

void dist_drain(struct backend *b)
{
	for (;;) {
		struct btask *batch[64];
		size_t n = 0;
		pthread_mutex_lock(&b->mu);
		while (n < 64 && b->nret)
			batch[n++] = b->ret[--b->nret];
		pthread_mutex_unlock(&b->mu);
		if (!n)
			return;
		for (size_t i = 0; i < n; i++)
			b->env.done(b->env.ctx, batch[i]);
	}
}

/* ---- pipe events: nng's callback queues, the thread handles ---- */

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct evbox *e = arg;
	pthread_mutex_lock(&e->mu);
	if (e->n < DIST_EVQ) {
		struct pipe_ev *x = &e->q[(e->head + e->n++) % DIST_EVQ];
		x->pipe = (uint32_t)nng_pipe_id(p);
		x->add = ev == NNG_PIPE_EV_ADD_POST;
	} else {
		e->overflow = true; /* the records mend it: see take_events */
	}
	pthread_mutex_unlock(&e->mu);
}

/* Handle the queued pipe events.  A lost ADD is harmless (the first frame
 * makes the record); a lost REM leaves a record whose lease, or whose
 * handshake deadline, ends it. */
static void take_events(struct backend *b)
{
	struct pipe_ev evs[256];
	for (;;) {
		size_t n = 0;
		bool overflow;
		struct evbox *e = b->ev;
		pthread_mutex_lock(&e->mu);
		while (n < 256 && e->n) {
			evs[n++] = e->q[e->head];
			e->head = (e->head + 1) % DIST_EVQ;
			e->n--;
		}
		overflow = e->overflow;
		e->overflow = false;
		pthread_mutex_unlock(&e->mu);
		if (overflow)
			dist_log(b, "more than %d connection events at once: some were dropped",
				 DIST_EVQ);
		if (!n)
			break;
		pthread_mutex_lock(&b->mu);
		for (size_t i = 0; i < n; i++) {
			struct wk *w = dist_peer_find(b, evs[i].pipe);
			if (evs[i].add) {
				nng_pipe p = {.id = evs[i].pipe};
				if (!w)
					dist_peer_add(b, p);
				continue;
			}
			if (!w)
				continue;
			if (!w->closed && w->state >= WK_READY)
				dist_peer_lose(b, w, "lost its connection");
			/* Kept a moment, closed, so that frames of it still
			 * queued are dropped rather than taken for a new peer. */
			if (!w->closed) {
				w->closed = true;
				w->t_closed = dist_now();
			}
		}
		pthread_mutex_unlock(&b->mu);
	}
}

/* ---- the thread ---- */

static void *serve(void *arg)
{
	struct backend *b = arg;
	int timeo = -1;
	double t_house = 0;
	while (!atomic_load(&b->stopping)) {
		take_events(b);
		nng_msg *m = NULL;
		int rc = nng_recvmsg(b->sock, &m, 0);
		if (!rc)
			dist_on_msg(b, m);
		else if (rc == NNG_ECLOSED)
			break;
		/* Housekeeping at most every 2 ms while frames pour in: it
		 * walks every worker. */
		double now = dist_now();
		if (rc || now - t_house >= 0.002) {
			t_house = now;
			dist_housekeep(b);
		}
		dist_drain(b);
		dist_probe_tick(b);
		if (now - b->t_tick >= 0.25) { /* a dead local worker is restarted within a quarter second */
			b->t_tick = now;
			dist_tick(b);
			dist_drain(b);
		}
		/* Short waits while an outbox holds frames paced out. */
		pthread_mutex_lock(&b->mu);
		bool more = false;
		for (struct wk *w = b->workers; w && !more; w = w->next)
			more = w->out != NULL;
		pthread_mutex_unlock(&b->mu);
		int want = more ? 2 : 50;
		if (want != timeo && !nng_socket_set_ms(b->sock, NNG_OPT_RECVTIMEO, want))
			timeo = want;
	}
	return NULL;
}

/* ---- start and stop ---- */

void dist_ipc_url(const char *statedir, char *out, size_t cap)
{
	snprintf(out, cap, "ipc://%s/workers.sock", statedir);
}

/* Remove the socket file of a daemon that is gone; refuse (-EADDRINUSE)
 * when one still answers on it. */
static int clear_socket(struct backend *b, const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		dist_log(b, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		dist_log(b, "%s: the path is too long for a socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	if (alive) {
		dist_log(b, "%s: another daemon listens there", path);
		return -EADDRINUSE;
	}
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

static int nng_err(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case NNG_ENOMEM:
		return -ENOMEM;
	case NNG_EADDRINUSE:
		return -EADDRINUSE;
	case NNG_EADDRINVAL:
		return -EADDRNOTAVAIL;
	case NNG_EPERM:
		return -EACCES;
	default:
		return -EIO;
	}
}

int dist_listen_ipc(struct backend *b)
{
	dist_ipc_url(b->env.statedir, b->url_ipc, sizeof(b->url_ipc));
	char path[sizeof(b->sock_path)];
	snprintf(path, sizeof(path), "%s/workers.sock", b->env.statedir);
	int rc = clear_socket(b, path);
	if (rc)
		return rc;
	strcpy(b->sock_path, path); /* ours now: removed at stop */
	nng_listener l;
	int rv = nng_listener_create(&l, b->sock, b->url_ipc);
	if (!rv) {
		b->lipc = l;
		b->lipc_on = true;
		rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
	}
	if (!rv)
		rv = nng_listener_start(l, 0);
	if (rv)
		dist_log(b, "listening on %s: %s", b->url_ipc, nng_strerror(rv));
	return nng_err(rv);
}

int dist_listen_tcp(struct backend *b)
{
	char url[sizeof(b->url_tcp)];
	if (b->url_tcp[0]) /* listening again: the URL pilots were given */
		snprintf(url, sizeof(url), "%s", b->url_tcp);
	else if (b->conf->listen[0])
		snprintf(url, sizeof(url), "%s", b->conf->listen);
	else
		snprintf(url, sizeof(url), "tcp://%s:0", b->host);
	nng_listener l;
	int port = 0;
	int rv = nng_listen(b->sock, url, &l, 0);
	if (!rv) {
		b->ltcp = l;
		b->ltcp_on = true;
		rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
	}
	if (rv) {
		dist_log(b, "listening on %s: %s", url, nng_strerror(rv));
		return nng_err(rv);
	}
	/* The URL workers dial: the one listened on, with the real port. */
	char *colon = strrchr(url + 6, ':');
	if (colon)
		*colon = 0;
	snprintf(b->url_tcp, sizeof(b->url_tcp), "%.*s:%d", (int)sizeof(b->url_tcp) - 8, url, port);
	dist_log(b, "listening on %s for pilots", b->url_tcp);
	return 0;
}

static int open_socket(struct backend *b)
{
	int rv = nng_pair1_open_poly(&b->sock);
	if (rv)
		return nng_err(rv);
	b->sock_open = true;
	/* The socket's own send queue takes the paced frames of every
	 * worker at once (dist_flush); the receive side is bounded by the
	 * largest frame a worker may send. */
	if (!rv)
		rv = nng_socket_set_size(b->sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG);
	if (!rv)
		rv = nng_socket_set_int(b->sock, NNG_OPT_SENDBUF, 1024);
	if (!rv)
		rv = nng_socket_set_int(b->sock, NNG_OPT_RECVBUF, 1024);
	if (!rv)
		rv = nng_socket_set_ms(b->sock, NNG_OPT_RECVTIMEO, 50);
	if (!rv)
		rv = nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, b->ev);
	if (!rv)
		rv = nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, pipe_cb, b->ev);
	return nng_err(rv);
}

static int start_launcher(struct backend *b)
{
	b->lops = launch_find(b->conf->backend);
	if (!b->lops)
		return 0; /* manual: workers dial in by themselves */
	ssize_t n = readlink("/proc/self/exe", b->anafs, sizeof(b->anafs) - 1);
	if (n <= 0) {
		dist_log(b, "cannot find this program's path: %s", strerror(errno));
		return -ENOENT;
	}
	b->anafs[n] = 0;
	b->lenv = (struct launch_env){
		.anafs = b->anafs,
		.url = strcmp(b->lops->name, "local") ? b->url_tcp : b->url_ipc,
		.statedir = b->env.statedir,
		.secret_path = b->secret_path,
		.secret = b->secret,
		.conf = b->conf,
		.log = b->env.log,
		.ctx = b->env.ctx,
	};
	char msg[512] = "";
	int rc = b->lops->start(&b->lenv, &b->launcher, msg, sizeof(msg));
	if (rc)
		dist_log(b, "starting the %s launcher: %s", b->lops->name,
			 *msg ? msg : ana_strerror(rc));
	return rc;
}

/* Closing the socket, in a thread of its own: nng 1.5.2's nng_close()
 * can wait forever for a pipe a hostile peer left half-closed (fixed in
 * later nng).  The daemon does not wait past CLOSE_SECS for it. */
#define CLOSE_SECS 3

struct closer {
	nng_socket sock;
	nng_listener l[2];
	int nl;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, abandoned;
	struct evbox *ev;
};

static void *closer_run(void *arg)
{
	struct closer *c = arg;
	for (int i = 0; i < c->nl; i++) /* the listeners first: fewer hangs */
		nng_listener_close(c->l[i]);
	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	bool mine = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (mine) { /* the backend went on without us: the rest is ours */
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->ev->mu);
		free(c->ev);
		free(c);
	}
	return NULL;
}

/* true when the socket is closed (no callback comes any more). */
static bool close_socket(struct backend *b)
{
	if (!b->sock_open)
		return true;
	struct closer *c = calloc(1, sizeof(*c));
	pthread_t tid;
	pthread_attr_t attr;
	if (c) {
		c->sock = b->sock;
		if (b->lipc_on)
			c->l[c->nl++] = b->lipc;
		if (b->ltcp_on)
			c->l[c->nl++] = b->ltcp;
		c->ev = b->ev;
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	}
	if (!c || pthread_create(&tid, &attr, closer_run, c)) {
		if (c) {
			pthread_attr_destroy(&attr);
			free(c);
		}
		nng_close(b->sock); /* no thread to spare: wait for it here */
		return true;
	}
	pthread_attr_destroy(&attr);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CLOSE_SECS;
	pthread_mutex_lock(&c->mu);
	while (!c->done)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &until))
			break;
	bool done = c->done;
	c->abandoned = !done;
	pthread_mutex_unlock(&c->mu);
	if (!done) {
		dist_log(b, "closing the workers' socket did not end in %d s (an nng 1.5 bug); "
			    "going on without it", CLOSE_SECS);
		return false;
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	return true;
}

static void server_stop(struct backend *b);

static int server_start(const struct backend_env *env, struct backend **out)
{
	if (!env->statedir || !env->conf || !env->done)
		return -EINVAL;
	struct backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->env = *env;
	b->conf = env->conf;
	b->want_local = b->max_override = -1;
	b->t0 = dist_now();
	b->t_tick = b->t0 - 1.0; /* the first tick (starting the workers) at once */
	b->probe_fd = -1;
	b->probe_last = b->t0;
	atomic_init(&b->stopping, false);
	pthread_mutex_init(&b->mu, NULL);
	if (!(b->ev = calloc(1, sizeof(*b->ev)))) {
		free(b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->ev->mu, NULL);
	if (gethostname(b->host, sizeof(b->host) - 1))
		strcpy(b->host, "localhost");
	snprintf(b->secret_path, sizeof(b->secret_path), "%s/secret", env->statedir);
	char msg[512] = "";
	int rc = wire_secret_load(b->secret_path, true, b->secret, msg, sizeof(msg));
	if (rc)
		dist_log(b, "%s: %s", b->secret_path, *msg ? msg : ana_strerror(rc));
	if (!rc && (rc = wire_random(&b->instance, sizeof(b->instance))))
		dist_log(b, "no random bytes for the instance id");
	if (!rc)
		rc = open_socket(b);
	if (!rc)
		rc = dist_listen_ipc(b);
	bool batch = !strcmp(b->conf->backend, "slurm") || !strcmp(b->conf->backend, "htcondor");
	if (!rc && (batch || b->conf->listen[0]))
		rc = dist_listen_tcp(b);
	if (!rc)
		rc = start_launcher(b);
	if (!rc && (rc = -pthread_create(&b->tid, NULL, serve, b)) == 0)
		b->started = true;
	if (rc) {
		server_stop(b);
		return rc;
	}
	*out = b;
	return 0;
}

static void server_stop(struct backend *b)
{
	if (!b)
		return;
	atomic_store(&b->stopping, true);
	if (b->started)
		pthread_join(b->tid, NULL);
	dist_probe_stop(b); /* the thread is gone: its probe socket is ours */
	/* BYE to every worker, then a moment for nng to write them out. */
	pthread_mutex_lock(&b->mu);
	bool any = false;
	for (int round = 0; round < 2; round++) {
		for (struct wk *w = b->workers; w; w = w->next) {
			if (w->closed || w->state < WK_READY)
				continue;
			if (!round) {
				struct wire_msg m = {.type = WIRE_BYE};
				snprintf(m.u.bye.why, sizeof(m.u.bye.why), "the daemon is stopping");
				if (!dist_queue(b, w, &m))
					any = true;
			}
			w->burst = 0; /* past the pacing: these are the last frames */
			dist_flush(b, w);
		}
	}
	pthread_mutex_unlock(&b->mu);
	if (any)
		usleep(100 * 1000);
	if (b->launcher)
		b->lops->stop(b->launcher);
	b->launcher = NULL;
	/* Everything still in flight goes back, once. */
	pthread_mutex_lock(&b->mu);
	for (struct wk *w = b->workers; w; w = w->next)
		for (int i = 0; i < w->slots; i++) {
			struct btask *t = w->slot[i].t;
			if (!t)
				continue;
			w->slot[i].t = NULL;
			t->rc = -ECANCELED;
			t->worker = (int)w->id;
			snprintf(t->msg, sizeof(t->msg), "the daemon stopped while worker %u ran it",
				 w->id);
			b->ret[b->nret++] = t; /* room reserved when w was let in */
		}
	pthread_mutex_unlock(&b->mu);
	dist_drain(b);
	bool closed = close_socket(b);
	while (b->workers) {
		struct wk *w = b->workers;
		b->workers = w->next;
		w->closed = true; /* the socket is gone, or left to nng */
		dist_peer_free(b, w);
	}
	if (b->sock_path[0])
		unlink(b->sock_path);
	free(b->ret);
	free(b->launch_text);
	pthread_mutex_destroy(&b->mu);
	if (closed) {
		pthread_mutex_destroy(&b->ev->mu);
		free(b->ev);
	}
	free(b);
}

const struct backend_ops backend_workers = {
	.name = "workers",
	.start = server_start,
	.stop = server_stop,
	.dispatch = dist_dispatch,
	.poll = dist_poll,
	.describe = dist_describe,
	.control = dist_control,
	.live = dist_live,
	.warm = dist_warm,
};
