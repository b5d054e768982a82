/* wclient.c — the worker process (wclient.h): the thread that speaks to
 * the coordinator; the slot threads that run tasks are wclient_slots.c.
 *
 * One socket thread owns the nng socket (pair1, dialing: nng redials a
 * lost connection by itself), the session's signing state and every list
 * of tasks.  nng's callbacks (a message came, a connection came or went)
 * and the slot threads (a task is done) only queue what happened under
 * w->mu and wake it; it sends everything itself, one message at a time,
 * so that the session's numbering follows the order of sending.  A
 * message is sent bound to the connection it was numbered for: when that
 * connection goes while the message waits, the send is cancelled rather
 * than left for the next connection (which would refuse it).
 *
 * The conversation is docs/internals.md, "Workers: the conversation". */
#include "wclient_int.h"

#include "ana_err.h"

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64         /* connection events queued between two turns */
#define HANDSHAKE_SECS 10.0   /* a handshake not done by then starts over */
#define SEND_TIMEOUT_MS 10000 /* a message the connection does not take by then */
#define BYE_ACK_SECS 3.0      /* told BYE: how long to wait for the last ACKs */
#define END_ACK_SECS 0.4      /* ending on a signal: how long to wait for ACKs */
#define END_CLOSE_SECS 0.2    /* after our BYE: how long to let it reach the peer */
#define END_JOIN_SECS 0.25    /* how long to wait for the slot threads */
#define REFUSED_LOG_SECS 30.0 /* refused handshakes are logged at most this often */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

enum wstate { ST_DOWN, ST_HELLO, ST_AUTH, ST_READY };

struct pipe_event {
	bool add;
	nng_pipe p;
};

struct wc {
	const struct wclient_opts *o;
	char name[WIRE_MAX_NAME];
	nng_socket sock;
	nng_aio *raio, *saio;
	struct wslots *slots;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: what the callbacks queue. */
	nng_msg *inbox;
	bool recv_done;          /* the receive completed (inbox, or recv_rv) */
	int recv_rv;
	struct pipe_event ev[MAX_EVENTS];
	int nev;
	uint32_t cb_pipe;        /* the connection the callbacks know as current */
	bool kick;               /* a task is done */
	/* The socket thread's. */
	enum wstate st;
	nng_pipe pipe;
	struct wire_hello hello;
	uint8_t coord_nonce[WIRE_NONCE];
	struct wire_session s;
	uint64_t gen;            /* sessions made ready so far */
	uint32_t worker_id;
	double period;           /* seconds between two PROGRESS */
	double t0, hs_since, last_ready, next_progress, next_sweep, refused_logged;
	int refused;             /* handshakes the coordinator cut since the last log */
	struct wtask *held;      /* handed to the slots and not back (through link) */
	int nheld;               /* those not given back */
	struct wtask *results, **results_tail; /* done, awaiting their ACK */
	bool bye;                /* the coordinator said BYE */
	double bye_until;
	bool ending;             /* a signal or the time limit */
	double end_until;
	const char *end_why;
	bool done;
	int exit_code;
};

static void wlog(const struct wc *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wlog(const struct wc *w, const char *fmt, ...)
{
	if (w->o->quiet)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "anafs worker %s: %s\n", w->name, line);
}

/* ---- callbacks: queue and wake ---- */

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct wc *w = arg;
	bool cancel = false;
	pthread_mutex_lock(&w->mu);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		w->cb_pipe = (uint32_t)nng_pipe_id(p);
	} else if ((uint32_t)nng_pipe_id(p) == w->cb_pipe) {
		w->cb_pipe = 0;
		cancel = true;
	}
	if (w->nev < MAX_EVENTS)
		w->ev[w->nev++] = (struct pipe_event){ev == NNG_PIPE_EV_ADD_POST, p};
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (cancel) /* a message waiting for this connection must not go to the next */
		nng_aio_cancel(w->saio);
}

static void on_recv(void *arg)
{
	struct wc *w = arg;
	pthread_mutex_lock(&w->mu);
	w->recv_rv = nng_aio_result(w->raio);
	if (!w->recv_rv)
		w->inbox = nng_aio_get_msg(w->raio);
	w->recv_done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void on_task_done(void *ctx)
{
	struct wc *w = ctx;
	pthread_mutex_lock(&w->mu);
	w->kick = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- the session ---- */

/* Drop the current connection (nng dials again): a session whose
 * numbering broke, a handshake that went wrong. */
static void lose(struct wc *w)
{
	if (nng_pipe_id(w->pipe) > 0)
		nng_pipe_close(w->pipe);
	if (w->st == ST_READY)
		wlog(w, "lost the coordinator at %s; dialing again (exiting after %g s without one)",
		     w->o->url, w->o->linger);
	w->st = ST_DOWN;
	w->pipe = (nng_pipe)NNG_PIPE_INITIALIZER;
	w->s.ready = false;
}

/* Encode and send m on the current connection.  Returns 0; the encoder's
 * error (nothing sent); or -EIO when the connection did not take it (the
 * session is then dropped). */
static int send_msg(struct wc *w, const struct wire_msg *m)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = wire_encode(w->st == ST_READY ? &w->s : NULL, m, &buf, &len);
	if (rc)
		return rc;
	nng_msg *msg;
	if (nng_msg_alloc(&msg, len)) {
		free(buf);
		lose(w); /* its number is spent: the session cannot go on */
		return -EIO;
	}
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	nng_aio_set_msg(w->saio, msg);
	nng_aio_set_timeout(w->saio, SEND_TIMEOUT_MS);
	nng_send_aio(w->sock, w->saio);
	nng_aio_wait(w->saio);
	if (nng_aio_result(w->saio)) {
		nng_msg_free(nng_aio_get_msg(w->saio));
		lose(w);
		return -EIO;
	}
	return 0;
}

static void send_key(struct wc *w, unsigned type, const struct wire_key *k)
{
	struct wire_msg m = {.type = (uint16_t)type};
	m.u.key = *k;
	send_msg(w, &m);
}

static void send_hello(struct wc *w)
{
	struct wire_hello *h = &w->hello;
	memset(h, 0, sizeof(*h));
	if (wire_random(h->nonce, sizeof(h->nonce))) {
		wlog(w, "no random bytes for the handshake; dialing again");
		lose(w);
		return;
	}
	snprintf(h->name, sizeof(h->name), "%s", w->name);
	if (gethostname(h->host, sizeof(h->host) - 1))
		snprintf(h->host, sizeof(h->host), "?");
	h->host[sizeof(h->host) - 1] = 0;
	h->pid = (int32_t)getpid();
	snprintf(h->backend, sizeof(h->backend), "%s", w->o->backend ? w->o->backend : "manual");
	snprintf(h->pilot, sizeof(h->pilot), "%s", w->o->pilot ? w->o->pilot : "");
	h->slots = (uint16_t)w->o->slots;
	struct wire_msg m = {.type = WIRE_HELLO};
	m.u.hello = *h;
	int rc = send_msg(w, &m);
	if (rc && rc != -EIO) {
		wlog(w, "cannot say hello: %s", ana_strerror(rc));
		lose(w);
	}
}

/* The RESULT of t, in the session now ready.  A result too large for a
 * message goes as an error instead. */
static void send_result(struct wc *w, struct wtask *t)
{
	for (int tries = 0; tries < 2 && w->st == ST_READY; tries++) {
		struct wire_msg m = {.type = WIRE_RESULT};
		struct wire_result *r = &m.u.result;
		r->key = t->key;
		r->rc = t->rc;
		snprintf(r->why, sizeof(r->why), "%s", t->rc ? t->why : "");
		r->events = t->done_events;
		r->bytes = t->done_bytes;
		r->blob = t->rc ? NULL : t->blob;
		r->blob_len = t->rc ? 0 : t->blob_len;
		int rc = send_msg(w, &m);
		if (!rc)
			t->sent_gen = w->gen;
		if (rc == 0 || rc == -EIO || t->rc)
			return;
		/* The encoder refused it: say why in its place. */
		if (rc == -EFBIG)
			snprintf(t->why, sizeof(t->why), "%s: entries [%lld, %lld): the result is %zu "
				 "bytes, more than a message carries", t->url, (long long)t->first,
				 (long long)t->last, t->blob_len);
		else
			snprintf(t->why, sizeof(t->why), "%s: entries [%lld, %lld): the result could "
				 "not be encoded: %s", t->url, (long long)t->first, (long long)t->last,
				 ana_strerror(rc));
		t->rc = rc == -EFBIG ? ANA_ETOOBIG : -EPROTO;
		free(t->blob);
		t->blob = NULL;
		t->blob_len = 0;
	}
}

static void send_progress(struct wc *w)
{
	struct wire_msg m = {.type = WIRE_PROGRESS};
	struct wire_progress *p = &m.u.progress;
	for (struct wtask *t = w->held; t; t = t->link) {
		if (t->given_back)
			continue;
		p->busy++;
		if (p->n < WIRE_MAX_PROGRESS)
			p->t[p->n++] = (struct wire_progress_task){
				t->key, atomic_load(&t->events), atomic_load(&t->bytes)};
	}
	send_msg(w, &m);
	w->next_progress = wclient_now() + w->period;
}

/* ---- what the coordinator says ---- */
static int count_results(const struct wc *w)
{
	int n = 0;
	for (const struct wtask *t = w->results; t; t = t->link)
		n++;
	return n;
}


static void on_challenge(struct wc *w, const struct wire_challenge *c)
{
	memcpy(w->coord_nonce, c->nonce, WIRE_NONCE);
	struct wire_msg m = {.type = WIRE_AUTH};
	wire_proof_worker(w->o->secret, &w->hello, c->nonce, m.u.auth.proof);
	if (!send_msg(w, &m))
		w->st = ST_AUTH;
}

static void on_welcome(struct wc *w, const struct wire_welcome *wl)
{
	uint8_t want[WIRE_MAC];
	wire_proof_coord(w->o->secret, w->hello.nonce, w->coord_nonce, want);
	if (!wire_proof_equal(want, wl->proof)) {
		wlog(w, "the coordinator at %s failed to prove it holds the secret: exiting, "
			"nothing given to it", w->o->url);
		lose(w);
		w->exit_code = 2;
		w->done = true;
		return;
	}
	wire_session_init(&w->s, w->o->secret, w->coord_nonce, w->hello.nonce, false);
	w->st = ST_READY;
	w->gen++;
	w->worker_id = wl->worker_id;
	w->period = wl->progress_ms ? wl->progress_ms / 1000.0 : 0.5;
	if (w->period > 0.5) /* at least twice a second, whatever it asks */
		w->period = 0.5;
	if (w->period < 0.02)
		w->period = 0.02;
	int n = count_results(w);
	if (w->gen == 1)
		wlog(w, "connected to %s as worker %u (%d slot%s)", w->o->url, wl->worker_id,
		     w->o->slots, w->o->slots == 1 ? "" : "s");
	else
		wlog(w, "reconnected to %s as worker %u; %d task(s) running, %d result(s) to deliver",
		     w->o->url, wl->worker_id, w->nheld, n);
	w->refused = 0;
	w->last_ready = wclient_now();
	w->bye_until = 0;
	/* First what is owed from before, then the heartbeat. */
	for (struct wtask *t = w->results; t && w->st == ST_READY; t = t->link)
		send_result(w, t);
	if (w->st == ST_READY)
		send_progress(w);
}

static struct wtask **find_key(struct wtask **list, const struct wire_key *k)
{
	for (; *list; list = &(*list)->link)
		if (wkey_equal(&(*list)->key, k) && !(*list)->given_back)
			return list;
	return NULL;
}

static void on_task(struct wc *w, const struct wire_task *m)
{
	struct wtask **have = find_key(&w->results, &m->key);
	if (have) { /* already done: it missed our RESULT */
		send_result(w, *have);
		return;
	}
	if (find_key(&w->held, &m->key))
		return; /* a duplicate of a task running */
	struct wtask *t = NULL;
	if (w->ending || w->bye || w->nheld >= w->o->slots || !(t = wtask_from_msg(m))) {
		send_key(w, WIRE_GIVEBACK, &m->key);
		return;
	}
	t->link = w->held;
	w->held = t;
	w->nheld++;
	wslots_push(w->slots, t);
}

static void on_ack(struct wc *w, const struct wire_key *k)
{
	struct wtask **at = find_key(&w->results, k);
	if (!at)
		return;
	struct wtask *t = *at;
	*at = t->link;
	if (w->results_tail == &t->link)
		w->results_tail = at;
	wtask_free(t);
}

static void on_cancel(struct wc *w, const struct wire_key *k)
{
	struct wtask **at = find_key(&w->held, k);
	if (at)
		atomic_store(&(*at)->stop, WSTOP_CANCEL);
}

static void on_msg(struct wc *w, nng_msg *msg)
{
	if (w->st == ST_DOWN || nng_pipe_id(nng_msg_get_pipe(msg)) != nng_pipe_id(w->pipe)) {
		nng_msg_free(msg); /* from a connection that is gone */
		return;
	}
	struct wire_msg m;
	char why[256] = "";
	int rc = wire_decode(w->st == ST_READY ? &w->s : NULL, nng_msg_body(msg), nng_msg_len(msg),
			     &m, why, sizeof(why));
	if (rc) {
		wlog(w, "refused a message from the coordinator (%s); starting the session again",
		     why[0] ? why : ana_strerror(rc));
		nng_msg_free(msg);
		lose(w);
		return;
	}
	enum wstate st = w->st;
	if (st == ST_HELLO && m.type == WIRE_CHALLENGE)
		on_challenge(w, &m.u.challenge);
	else if (st == ST_AUTH && m.type == WIRE_WELCOME)
		on_welcome(w, &m.u.welcome);
	else if (st == ST_READY && m.type == WIRE_TASK)
		on_task(w, &m.u.task);
	else if (st == ST_READY && m.type == WIRE_ACK)
		on_ack(w, &m.u.key);
	else if (st == ST_READY && m.type == WIRE_CANCEL)
		on_cancel(w, &m.u.key);
	else if (st == ST_READY && m.type == WIRE_BYE) {
		if (!w->bye)
			wlog(w, "the coordinator asks this worker to end: finishing %d running "
				"task(s), then exiting", w->nheld);
		w->bye = true;
	} else {
		wlog(w, "unexpected %s from the coordinator; starting the session again",
		     wire_type_name(m.type));
		lose(w);
	}
	wire_msg_free(&m);
	nng_msg_free(msg);
}

static void on_pipe_event(struct wc *w, const struct pipe_event *e)
{
	double now = wclient_now();
	if (e->add) {
		if (w->st != ST_DOWN)
			lose(w); /* the old one went without a word */
		w->pipe = e->p;
		w->st = ST_HELLO;
		w->hs_since = now;
		send_hello(w);
		return;
	}
	if (w->st == ST_DOWN || nng_pipe_id(e->p) != nng_pipe_id(w->pipe))
		return;
	if (w->st != ST_READY) {
		/* Cut before WELCOME: most often a coordinator that refused our
		 * proof.  Logged at most every REFUSED_LOG_SECS. */
		if (!w->refused++ || now - w->refused_logged > REFUSED_LOG_SECS) {
			wlog(w, "the coordinator at %s closed the connection before welcoming this "
				"worker (%d time(s); a different secret?); trying again", w->o->url,
			     w->refused);
			w->refused_logged = now;
		}
	}
	w->pipe = (nng_pipe)NNG_PIPE_INITIALIZER; /* gone: nothing to close */
	lose(w);
}

/* ---- the tasks ---- */

static void collect_done(struct wc *w)
{
	struct wtask *t = wslots_take_done(w->slots), *next;
	for (; t; t = next) {
		next = t->next;
		struct wtask **at = &w->held;
		while (*at && *at != t)
			at = &(*at)->link;
		if (*at)
			*at = t->link;
		if (t->given_back) {
			wtask_free(t);
			continue;
		}
		w->nheld--;
		t->link = NULL;
		*w->results_tail = t;
		w->results_tail = &t->link;
		if (w->st == ST_READY)
			send_result(w, t);
	}
}

/* A signal or the time limit: every running task goes back now. */
static void begin_end(struct wc *w, const char *why)
{
	int n = 0;
	for (struct wtask *t = w->held; t; t = t->link) {
		if (t->given_back)
			continue;
		atomic_store(&t->stop, WSTOP_GIVEBACK);
		t->given_back = true;
		w->nheld--;
		n++;
		if (w->st == ST_READY)
			send_key(w, WIRE_GIVEBACK, &t->key);
	}
	wlog(w, "%s: %d running task(s) handed back; exiting", why, n);
	w->ending = true;
	w->end_why = why;
	w->end_until = wclient_now() + END_ACK_SECS;
}

/* Say BYE and let it reach the coordinator (it closes the connection, or
 * a short while passes). */
static void finish(struct wc *w, const char *why)
{
	if (w->st == ST_READY) {
		struct wire_msg m = {.type = WIRE_BYE};
		snprintf(m.u.bye.why, sizeof(m.u.bye.why), "%s", why);
		uint32_t id = (uint32_t)nng_pipe_id(w->pipe);
		if (!send_msg(w, &m)) {
			double end = wclient_now() + END_CLOSE_SECS;
			pthread_mutex_lock(&w->mu);
			while (w->cb_pipe == id && wclient_now() < end) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 20 * 1000 * 1000;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&w->cv, &w->mu, &ts);
			}
			pthread_mutex_unlock(&w->mu);
		}
	}
	w->done = true;
}


/* ---- the loop ---- */

/* Wait for something to do, at most until the next thing due. */
static void wait_turn(struct wc *w, struct pipe_event *ev, int *nev, nng_msg **msg, bool *rearm,
		      int *rv)
{
	double until = wclient_now() + 0.1;
	if (w->st == ST_READY && w->next_progress < until)
		until = w->next_progress;
	pthread_mutex_lock(&w->mu);
	while (!w->recv_done && !w->nev && !w->kick && !(got_signal && !w->ending) &&
	       wclient_now() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double left = until - wclient_now();
		long ns = ts.tv_nsec + (long)((left > 0 ? left : 0) * 1e9);
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	*nev = w->nev;
	memcpy(ev, w->ev, sizeof(*ev) * (size_t)w->nev);
	w->nev = 0;
	*msg = w->inbox;
	w->inbox = NULL;
	*rearm = w->recv_done;
	*rv = w->recv_rv;
	w->recv_done = false;
	w->kick = false;
	pthread_mutex_unlock(&w->mu);
}

static void turn(struct wc *w)
{
	struct pipe_event ev[MAX_EVENTS];
	int nev, rv;
	nng_msg *msg;
	bool rearm;
	wait_turn(w, ev, &nev, &msg, &rearm, &rv);
	for (int i = 0; i < nev && !w->done; i++)
		on_pipe_event(w, &ev[i]);
	if (msg && !w->done)
		on_msg(w, msg);
	else if (msg)
		nng_msg_free(msg);
	if (rearm && rv != NNG_ECLOSED)
		nng_recv_aio(w->sock, w->raio);
	if (w->done)
		return;
	collect_done(w);
	double now = wclient_now();
	if (got_signal && !w->ending)
		begin_end(w, got_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
	if (w->o->time_limit > 0 && now - w->t0 >= w->o->time_limit && !w->ending)
		begin_end(w, "time limit reached");
	if (w->st == ST_READY) {
		w->last_ready = now;
		if (now >= w->next_progress)
			send_progress(w);
	} else if ((w->st == ST_HELLO || w->st == ST_AUTH) && now - w->hs_since > HANDSHAKE_SECS) {
		wlog(w, "the coordinator at %s did not finish the handshake in %g s; trying again",
		     w->o->url, HANDSHAKE_SECS);
		lose(w);
	}
	if (now >= w->next_sweep) {
		wslots_sweep(w->slots);
		w->next_sweep = now + 1;
	}
	if (w->ending) {
		if (w->st != ST_READY || !w->results || now >= w->end_until) {
			if (w->results)
				wlog(w, "%d result(s) not acknowledged are dropped",
				     count_results(w));
			finish(w, w->end_why);
		}
		return;
	}
	if (w->bye && !w->nheld && w->st == ST_READY) {
		if (!w->bye_until)
			w->bye_until = now + BYE_ACK_SECS;
		if (!w->results || now >= w->bye_until) {
			if (w->results)
				wlog(w, "exiting as the coordinator asked; %d result(s) it did not "
					"acknowledge in %g s are dropped", count_results(w),
				     BYE_ACK_SECS);
			else
				wlog(w, "every result delivered; exiting as the coordinator asked");
			finish(w, "told to end");
			return;
		}
	}
	if (w->st != ST_READY && now - w->last_ready > w->o->linger) {
		if (w->gen)
			wlog(w, "no coordinator at %s for %g s: exiting", w->o->url, w->o->linger);
		else
			wlog(w, "could not reach a coordinator at %s in %g s: exiting", w->o->url,
			     w->o->linger);
		w->done = true;
	}
}

static int open_socket(struct wc *w)
{
	int rv;
	nng_dialer d;
	if ((rv = nng_pair1_open(&w->sock)))
		return rv;
	if ((rv = nng_socket_set_size(w->sock, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG)) ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECVTIMEO, 100)) ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMINT, 100)) ||
	    (rv = nng_socket_set_ms(w->sock, NNG_OPT_RECONNMAXT, 2000)) ||
	    (rv = nng_pipe_notify(w->sock, NNG_PIPE_EV_ADD_POST, on_pipe, w)) ||
	    (rv = nng_pipe_notify(w->sock, NNG_PIPE_EV_REM_POST, on_pipe, w)) ||
	    (rv = nng_aio_alloc(&w->raio, on_recv, w)) || (rv = nng_aio_alloc(&w->saio, NULL, NULL)))
		return rv;
	nng_aio_set_timeout(w->raio, NNG_DURATION_INFINITE);
	/* Non-blocking: a coordinator not there yet is dialed again and again. */
	if ((rv = nng_dial(w->sock, w->o->url, &d, NNG_FLAG_NONBLOCK)))
		return rv;
	nng_recv_aio(w->sock, w->raio);
	return 0;
}

static void free_list(struct wtask *t, bool by_link)
{
	while (t) {
		struct wtask *n = by_link ? t->link : t->next;
		wtask_free(t);
		t = n;
	}
}

int wclient_run(const struct wclient_opts *o)
{
	struct wc *w = calloc(1, sizeof(*w));
	if (!w) {
		fprintf(stderr, "anafs worker: out of memory\n");
		return 1;
	}
	w->o = o;
	if (o->name && *o->name)
		snprintf(w->name, sizeof(w->name), "%s", o->name);
	else
		snprintf(w->name, sizeof(w->name), "w-%ld", (long)getpid());
	w->results_tail = &w->results;
	w->t0 = w->last_ready = wclient_now();
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = wslots_start(o, on_task_done, w, &w->slots);
	if (rc) {
		fprintf(stderr, "anafs worker %s: cannot start its threads: %s\n", w->name,
			ana_strerror(rc));
		return 1;
	}
	int rv = open_socket(w);
	if (rv) {
		fprintf(stderr, "anafs worker %s: cannot dial %s: %s\n", w->name, o->url,
			nng_strerror(rv));
		w->exit_code = 1;
		w->done = true;
	} else {
		wlog(w, "dialing %s", o->url);
	}
	while (!w->done)
		turn(w);
	nng_close(w->sock);
	if (w->raio)
		nng_aio_free(w->raio);
	if (w->saio)
		nng_aio_free(w->saio);
	int code = w->exit_code;
	if (wslots_stop(w->slots, END_JOIN_SECS)) {
		free_list(w->held, true);
		free_list(w->results, true);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
	} /* else a slot thread is still inside a task: the process's exit ends it */
	return code;
}
