/* wclient.c — the worker process (wclient.h): the thread that speaks to
 * the coordinator, its socket and its loop; the messages it exchanges are
 * wclient_conv.c, the slot threads that run tasks wclient_slots.c.
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

#define HANDSHAKE_SECS 10.0   /* a handshake not done by then starts over */
#define SEND_TIMEOUT_MS 10000 /* a message the connection does not take by then */
#define BYE_ACK_SECS 3.0      /* told BYE: how long to wait for the last ACKs */
#define END_ACK_SECS 0.4      /* ending on a signal: how long to wait for ACKs */
#define END_CLOSE_SECS 0.2    /* after our BYE: how long to let it reach the peer */
#define END_JOIN_SECS 0.25    /* how long to wait for the slot threads */
#define REFUSED_LOG_SECS 30.0 /* refused handshakes are logged at most this often */
#define REDIAL_MIN_SECS 0.5   /* the pause after a failed handshake, doubled after each */
#define REDIAL_MAX_SECS 10.0

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void wc_log(const struct wc *w, const char *fmt, ...)
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

/* A connection that goes before WELCOME has its dialer closed here, in
 * the callback: nng runs REM_POST before it arms the dialer's own redial
 * (0 to RECONNMINT later), so a closed dialer never dials again.  Left
 * to the socket thread, the close raced that redial and could abort a
 * connection the coordinator was still negotiating; under nng 1.5.2 an
 * ipc listener whose peer goes mid-negotiation stops accepting for good
 * (nng issue #1518), and the worker's next HELLOs went to a coordinator
 * that never read them.  The socket thread dials again after its pause
 * (redial_later). */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct wc *w = arg;
	bool cancel = false;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	struct pipe_event e = {ev == NNG_PIPE_EV_ADD_POST, p, 0};
	nng_dialer d = NNG_DIALER_INITIALIZER;
	if (!e.add) /* the pipe is still known to nng until this returns */
		d = nng_pipe_dialer(p);
	pthread_mutex_lock(&w->mu);
	if (e.add) {
		w->cb_pipe = id;
	} else {
		if (id == w->cb_pipe) {
			w->cb_pipe = 0;
			cancel = true;
		}
		if (id != w->cb_welcomed && nng_dialer_id(d) > 0)
			e.dialer_closed = (uint32_t)nng_dialer_id(d);
	}
	if (w->nev < WC_MAX_EVENTS)
		w->ev[w->nev++] = e;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (e.dialer_closed)
		nng_dialer_close(d);
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

/* Dial (again). */
static void dial(struct wc *w)
{
	int rv = nng_dial(w->sock, w->o->url, &w->dialer, NNG_FLAG_NONBLOCK);
	if (rv) {
		wc_log(w, "cannot dial %s: %s", w->o->url, nng_strerror(rv));
		w->redial_at = wclient_now() + REDIAL_MAX_SECS;
		return;
	}
	w->dialing = true;
}

/* A handshake that failed: nng would dial again at once, and a
 * coordinator that refuses us would be flooded (and its log with it).
 * Stop dialing and start again after a pause that doubles with each
 * failure since the last WELCOME. */
static void redial_later(struct wc *w)
{
	w->refused++;
	if (w->dialing) /* before its connection: closing that would arm nng's redial */
		nng_dialer_close(w->dialer);
	w->dialing = false;
	double pause = REDIAL_MIN_SECS;
	for (int i = 1; i < w->refused && pause < REDIAL_MAX_SECS; i++)
		pause *= 2;
	w->redial_at = wclient_now() + (pause < REDIAL_MAX_SECS ? pause : REDIAL_MAX_SECS);
}

/* Drop the current connection (nng dials again): a session whose
 * numbering broke, a handshake that went wrong (then after a pause). */
void wc_lose(struct wc *w)
{
	if (w->st == ST_READY)
		wc_log(w, "lost the coordinator at %s; dialing again (exiting after %g s without one)",
		     w->o->url, w->o->linger);
	else if (w->st != ST_DOWN && !w->done)
		redial_later(w); /* first: it closes the connection with the dialer */
	if (nng_pipe_id(w->pipe) > 0)
		nng_pipe_close(w->pipe);
	w->st = ST_DOWN;
	w->pipe = (nng_pipe)NNG_PIPE_INITIALIZER;
	w->s.ready = false;
}

/* Encode and send m on the current connection.  Returns 0; the encoder's
 * error (nothing sent); or -EIO when the connection did not take it (the
 * session is then dropped). */
int wc_send(struct wc *w, const struct wire_msg *m)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = wire_encode(w->st == ST_READY ? &w->s : NULL, m, &buf, &len);
	if (rc)
		return rc;
	nng_msg *msg;
	if (nng_msg_alloc(&msg, len)) {
		free(buf);
		wc_lose(w); /* its number is spent: the session cannot go on */
		return -EIO;
	}
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	nng_aio_set_msg(w->saio, msg);
	nng_aio_set_timeout(w->saio, SEND_TIMEOUT_MS);
	/* Started under mu, and only while the callbacks still know the
	 * connection: its removal then either comes first (nothing sent) or
	 * finds the send in flight and cancels it.  Started after a removal
	 * that came first, it would wait SEND_TIMEOUT_MS for a connection. */
	pthread_mutex_lock(&w->mu);
	bool live = w->cb_pipe && w->cb_pipe == (uint32_t)nng_pipe_id(w->pipe);
	if (live)
		nng_send_aio(w->sock, w->saio);
	pthread_mutex_unlock(&w->mu);
	if (live)
		nng_aio_wait(w->saio);
	if (!live || nng_aio_result(w->saio)) {
		nng_msg_free(nng_aio_get_msg(w->saio));
		nng_aio_set_msg(w->saio, NULL);
		wc_lose(w);
		return -EIO;
	}
	return 0;
}

static void on_pipe_event(struct wc *w, const struct pipe_event *e)
{
	double now = wclient_now();
	if (e->dialer_closed && w->dialing && e->dialer_closed == (uint32_t)nng_dialer_id(w->dialer)) {
		/* on_pipe closed the dialer: a new one after the pause (a
		 * session welcomed as it went: at once). */
		w->dialing = false;
		if (w->st == ST_READY || w->st == ST_DOWN)
			w->redial_at = now;
	}
	if (e->add) {
		if (w->st != ST_DOWN)
			wc_lose(w); /* the old one went without a word */
		w->pipe = e->p;
		w->st = ST_HELLO;
		w->hs_since = now;
		wc_send_hello(w);
		return;
	}
	if (w->st == ST_DOWN || nng_pipe_id(e->p) != nng_pipe_id(w->pipe))
		return;
	if (w->st != ST_READY) {
		/* Cut before WELCOME: most often a coordinator that refused our
		 * proof.  Logged at most every REFUSED_LOG_SECS. */
		if (!w->refused || now - w->refused_logged > REFUSED_LOG_SECS) {
			wc_log(w, "the coordinator at %s closed the connection before welcoming this "
				"worker (%d time(s); a different secret?); trying again", w->o->url,
			     w->refused + 1);
			w->refused_logged = now;
		}
	}
	w->pipe = (nng_pipe)NNG_PIPE_INITIALIZER; /* gone: nothing to close */
	wc_lose(w);
}

/* ---- the tasks ---- */

static void collect_done(struct wc *w)
{
	struct wtask *t = wslots_take_done(w->slots), *next;
	for (; t; t = next) {
		next = t->next;
		if (t->warm) { /* never on held: answered, then forgotten */
			w->nwarm--;
			if (w->st == ST_READY)
				wc_send_warmed(w, t);
			wtask_free(t);
			continue;
		}
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
			wc_send_result(w, t);
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
			wc_send_key(w, WIRE_GIVEBACK, &t->key);
	}
	wc_log(w, "%s: %d running task(s) handed back; exiting", why, n);
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
		if (!wc_send(w, &m)) {
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
	if (!w->dialing && w->redial_at < until)
		until = w->redial_at;
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
	struct pipe_event ev[WC_MAX_EVENTS];
	int nev, rv;
	nng_msg *msg;
	bool rearm;
	wait_turn(w, ev, &nev, &msg, &rearm, &rv);
	for (int i = 0; i < nev && !w->done; i++)
		on_pipe_event(w, &ev[i]);
	if (msg && !w->done)
		wc_on_msg(w, msg);
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
			wc_send_progress(w);
	} else if ((w->st == ST_HELLO || w->st == ST_AUTH) && now - w->hs_since > HANDSHAKE_SECS) {
		wc_log(w, "the coordinator at %s did not finish the handshake in %g s; trying again",
		     w->o->url, HANDSHAKE_SECS);
		wc_lose(w);
	}
	if (!w->dialing && now >= w->redial_at && !w->ending && !w->bye)
		dial(w);
	if (now >= w->next_sweep) {
		wslots_sweep(w->slots);
		w->next_sweep = now + 1;
	}
	if (w->ending) {
		if (w->st != ST_READY || !w->results || now >= w->end_until) {
			if (w->results)
				wc_log(w, "%d result(s) not acknowledged are dropped",
				     wc_count_results(w));
			finish(w, w->end_why);
		}
		return;
	}
	if (w->bye && !w->nheld && w->st == ST_READY) {
		if (!w->bye_until)
			w->bye_until = now + BYE_ACK_SECS;
		if (!w->results || now >= w->bye_until) {
			if (w->results)
				wc_log(w, "exiting as the coordinator asked; %d result(s) it did not "
					"acknowledge in %g s are dropped", wc_count_results(w),
				     BYE_ACK_SECS);
			else
				wc_log(w, "every result delivered; exiting as the coordinator asked");
			finish(w, "told to end");
			return;
		}
	}
	if (w->st != ST_READY && now - w->last_ready > w->o->linger) {
		if (w->refused)
			wc_log(w, "the coordinator at %s did not welcome this worker for %g s (%d "
				"refused handshake(s): is the secret the coordinator's?): exiting",
			     w->o->url, w->o->linger, w->refused);
		else if (w->gen)
			wc_log(w, "no coordinator at %s for %g s: exiting", w->o->url, w->o->linger);
		else
			wc_log(w, "could not reach a coordinator at %s in %g s: exiting", w->o->url,
			     w->o->linger);
		w->done = true;
	}
}

static int open_socket(struct wc *w)
{
	int rv;
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
	if ((rv = nng_dial(w->sock, w->o->url, &w->dialer, NNG_FLAG_NONBLOCK)))
		return rv;
	w->dialing = true;
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
		wc_log(w, "dialing %s", o->url);
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
