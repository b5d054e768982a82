/* wclient_conv.c — the worker's side of the conversation (docs/internals.md,
 * "Workers: the conversation"): the handshake, the coordinator's
 * messages, and what the worker says back.  Runs on the socket thread
 * alone (wclient_int.h). */
#include "wclient_int.h"

#include "ana_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void wc_send_key(struct wc *w, unsigned type, const struct wire_key *k)
{
	struct wire_msg m = {.type = (uint16_t)type};
	m.u.key = *k;
	wc_send(w, &m);
}

void wc_send_hello(struct wc *w)
{
	struct wire_hello *h = &w->hello;
	memset(h, 0, sizeof(*h));
	if (wire_random(h->nonce, sizeof(h->nonce))) {
		wc_log(w, "no random bytes for the handshake; dialing again");
		wc_lose(w);
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
	int rc = wc_send(w, &m);
	if (rc && rc != -EIO) {
		wc_log(w, "cannot say hello: %s", ana_strerror(rc));
		wc_lose(w);
	}
}

/* The RESULT of t, in the session now ready.  A result too large for a
 * message goes as an error instead. */
void wc_send_result(struct wc *w, struct wtask *t)
{
	for (int tries = 0; tries < 2 && w->st == ST_READY; tries++) {
		struct wire_msg m = {.type = WIRE_RESULT};
		struct wire_result *r = &m.u.result;
		r->key = t->key;
		r->rc = t->rc;
		snprintf(r->why, sizeof(r->why), "%s", t->rc ? t->why : "");
		r->events = t->done_events;
		r->bytes = t->done_bytes;
		r->cache = t->cache;
		r->blob = t->rc ? NULL : t->blob;
		r->blob_len = t->rc ? 0 : t->blob_len;
		int rc = wc_send(w, &m);
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

void wc_send_progress(struct wc *w)
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
	wc_send(w, &m);
	w->next_progress = wclient_now() + w->period;
}

/* ---- what the coordinator says ---- */
int wc_count_results(const struct wc *w)
{
	int n = 0;
	for (const struct wtask *t = w->results; t; t = t->link)
		n++;
	return n;
}


static void on_challenge(struct wc *w, const struct wire_challenge *c)
{
	memcpy(w->coord_nonce, c->nonce, WIRE_NONCE);
	w->instance_next = c->instance;
	struct wire_msg m = {.type = WIRE_AUTH};
	wire_proof_worker(w->o->secret, &w->hello, c->nonce, m.u.auth.proof);
	if (!wc_send(w, &m))
		w->st = ST_AUTH;
}

static void on_welcome(struct wc *w, const struct wire_welcome *wl)
{
	uint8_t want[WIRE_MAC];
	wire_proof_coord(w->o->secret, w->hello.nonce, w->coord_nonce, want);
	if (!wire_proof_equal(want, wl->proof)) {
		wc_log(w, "the coordinator at %s failed to prove it holds the secret: exiting, "
			"nothing given to it", w->o->url);
		wc_lose(w);
		w->exit_code = 2;
		w->done = true;
		return;
	}
	wire_session_init(&w->s, w->o->secret, w->coord_nonce, w->hello.nonce, false);
	pthread_mutex_lock(&w->mu); /* its loss now leaves the redial to nng (wclient.c, on_pipe) */
	w->cb_welcomed = (uint32_t)nng_pipe_id(w->pipe);
	pthread_mutex_unlock(&w->mu);
	w->st = ST_READY;
	w->gen++;
	w->worker_id = wl->worker_id;
	w->period = wl->progress_ms ? wl->progress_ms / 1000.0 : 0.5;
	if (w->period > 0.5) /* at least twice a second, whatever it asks */
		w->period = 0.5;
	if (w->period < 0.02)
		w->period = 0.02;
	int n = wc_count_results(w);
	if (w->gen == 1)
		wc_log(w, "connected to %s as worker %u (%d slot%s)", w->o->url, wl->worker_id,
		     w->o->slots, w->o->slots == 1 ? "" : "s");
	else
		wc_log(w, "reconnected to %s%s as worker %u; %d task(s) running, %d result(s) to "
			"deliver", w->o->url, w->instance_next != w->instance ?
			" (a restarted coordinator)" : "", wl->worker_id, w->nheld, n);
	w->instance = w->instance_next;
	w->refused = 0;
	w->last_ready = wclient_now();
	w->bye_until = 0;
	/* First what is owed from before, then the heartbeat. */
	for (struct wtask *t = w->results; t && w->st == ST_READY; t = t->link)
		wc_send_result(w, t);
	if (w->st == ST_READY)
		wc_send_progress(w);
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
		wc_send_result(w, *have);
		return;
	}
	if (find_key(&w->held, &m->key))
		return; /* a duplicate of a task running */
	struct wtask *t = NULL;
	if (w->ending || w->bye || w->nheld >= w->o->slots || !(t = wtask_from_msg(m))) {
		wc_send_key(w, WIRE_GIVEBACK, &m->key);
		return;
	}
	t->link = w->held;
	w->held = t;
	w->nheld++;
	wslots_push(w->slots, t);
}

void wc_send_warmed(struct wc *w, const struct wtask *t)
{
	struct wire_msg m = {.type = WIRE_WARMED};
	m.u.warmed.key = t->key;
	m.u.warmed.rc = t->rc;
	m.u.warmed.bytes = t->warm_bytes;
	m.u.warmed.ms = t->warm_ms;
	if (t->rc)
		snprintf(m.u.warmed.why, sizeof(m.u.warmed.why), "%s", t->why);
	wc_send(w, &m);
}

/* WARM: for the warm thread, unless the worker is ending or has enough
 * of them (then answered busy at once). */
static void on_warm(struct wc *w, const struct wire_task *m)
{
	struct wtask *t = NULL;
	if (w->ending || w->bye || w->nwarm >= WC_MAX_WARMS || !(t = wtask_from_msg(m))) {
		struct wtask busy = {.key = m->key, .rc = -EBUSY};
		snprintf(busy.why, sizeof(busy.why), "the worker is %s",
			 w->ending || w->bye ? "ending" : "busy warming");
		wc_send_warmed(w, &busy);
		return;
	}
	t->warm = true;
	w->nwarm++;
	wslots_push_warm(w->slots, t);
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

void wc_on_msg(struct wc *w, nng_msg *msg)
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
		wc_log(w, "refused a message from the coordinator (%s); starting the session again",
		     why[0] ? why : ana_strerror(rc));
		nng_msg_free(msg);
		wc_lose(w);
		return;
	}
	enum wstate st = w->st;
	if (st == ST_HELLO && m.type == WIRE_CHALLENGE)
		on_challenge(w, &m.u.challenge);
	else if (st == ST_AUTH && m.type == WIRE_WELCOME)
		on_welcome(w, &m.u.welcome);
	else if (st == ST_READY && m.type == WIRE_TASK)
		on_task(w, &m.u.task);
	else if (st == ST_READY && m.type == WIRE_WARM)
		on_warm(w, &m.u.task);
	else if (st == ST_READY && m.type == WIRE_ACK)
		on_ack(w, &m.u.key);
	else if (st == ST_READY && m.type == WIRE_CANCEL)
		on_cancel(w, &m.u.key);
	else if (st == ST_READY && m.type == WIRE_BYE) {
		if (!w->bye)
			wc_log(w, "the coordinator asks this worker to end: finishing %d running "
				"task(s), then exiting", w->nheld);
		w->bye = true;
	} else {
		wc_log(w, "unexpected %s from the coordinator; starting the session again",
		     wire_type_name(m.type));
		wc_lose(w);
	}
	wire_msg_free(&m);
	nng_msg_free(msg);
}

