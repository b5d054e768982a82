/* dist_session.c — the conversation with one worker (docs/internals.md,
 * "Workers: the conversation"): the handshake, then progress, results,
 * tasks given back, and losing a worker.
 *
 * A peer is refused (logged with its address, its pipe closed) for
 * anything but HELLO then AUTH with the right proof, within
 * DIST_AUTH_SECS.  Once authenticated, a frame that does not decode
 * closes the connection too (see dist_on_msg). */
#include "dist_int.h"

#include "ana_err.h"

#include <nng/transport/ipc/ipc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- peers ---- */

/* s (cap bytes) NUL-terminated and printable ASCII, for the log. */
static void printable(char *s, size_t cap)
{
	s[cap - 1] = 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void peer_addr(nng_pipe p, char *out, size_t cap)
{
	nng_sockaddr sa;
	char ip[INET6_ADDRSTRLEN] = "?";
	uint64_t pid = 0;
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa)) {
		snprintf(out, cap, "connection %u", nng_pipe_id(p));
		return;
	}
	switch (sa.s_family) {
	case NNG_AF_INET:
		inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip));
		snprintf(out, cap, "tcp %s:%u (connection %u)", ip, ntohs(sa.s_in.sa_port),
			 nng_pipe_id(p));
		break;
	case NNG_AF_INET6:
		inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof(ip));
		snprintf(out, cap, "tcp [%s]:%u (connection %u)", ip, ntohs(sa.s_in6.sa_port),
			 nng_pipe_id(p));
		break;
	case NNG_AF_IPC:
		if (!nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid))
			snprintf(out, cap, "ipc pid %llu (connection %u)", (unsigned long long)pid,
				 nng_pipe_id(p));
		else
			snprintf(out, cap, "ipc (connection %u)", nng_pipe_id(p));
		break;
	default:
		snprintf(out, cap, "connection %u", nng_pipe_id(p));
	}
}

struct wk *dist_peer_find(struct backend *b, uint32_t pipe)
{
	for (struct wk *w = b->workers; w; w = w->next)
		if ((uint32_t)nng_pipe_id(w->pipe) == pipe)
			return w;
	return NULL;
}

struct wk *dist_worker_find(struct backend *b, uint32_t id)
{
	for (struct wk *w = b->workers; w; w = w->next)
		if (w->id == id && !w->closed)
			return w;
	return NULL;
}

struct wk *dist_peer_add(struct backend *b, nng_pipe p)
{
	struct wk *w = NULL;
	if (dist_probe_claims(b, p))
		return NULL; /* the watchdog's own connection */
	if (b->npeers < DIST_MAX_PEERS)
		w = calloc(1, sizeof(*w));
	if (!w) {
		struct wk tmp = {.pipe = p};
		peer_addr(p, tmp.addr, sizeof(tmp.addr));
		dist_refuse(b, &tmp, "%d connections at once already", b->npeers);
		return NULL;
	}
	w->pipe = p;
	w->state = WK_HELLO;
	w->t_open = w->t_heard = dist_now();
	peer_addr(p, w->addr, sizeof(w->addr));
	w->next = b->workers;
	b->workers = w;
	b->npeers++;
	return w;
}

void dist_peer_free(struct backend *b, struct wk *w)
{
	dist_close(b, w);
	if (w->reserved)
		b->reserved -= (size_t)w->slots;
	free(w->slot);
	free(w);
	b->npeers--;
}

void dist_peer_lose(struct backend *b, struct wk *w, const char *why)
{
	int n = 0;
	for (int i = 0; i < w->slots; i++) {
		struct btask *t = w->slot[i].t;
		if (!t)
			continue;
		w->slot[i].t = NULL;
		t->rc = ANA_ELOST;
		t->worker = (int)w->id;
		snprintf(t->msg, sizeof(t->msg), "worker %u (%s pid %d) %s", w->id, w->hello.host,
			 (int)w->hello.pid, why);
		b->ret[b->nret++] = t; /* room reserved when w was let in */
		n++;
	}
	w->nbusy = 0;
	if (w->reserved) {
		b->reserved -= (size_t)w->slots;
		w->reserved = false;
	}
	if (w->state >= WK_READY)
		dist_log(b, "worker %u (%s pid %d) %s%s", w->id, w->hello.host, (int)w->hello.pid, why,
			 n ? ": its tasks run again elsewhere" : "");
	w->state = WK_LEAVING;
	dist_close(b, w);
}

bool dist_usable(const struct backend *b, const struct wk *w)
{
	(void)b;
	return w->state == WK_READY && !w->closed && (w->owned || w->manual);
}

/* ---- the handshake ---- */

static void admit(struct backend *b, struct wk *w)
{
	int slots = w->hello.slots;
	if (!(w->slot = calloc((size_t)slots, sizeof(*w->slot))) || dist_reserve(b, (size_t)slots)) {
		dist_refuse(b, w, "out of memory for its %d slots", slots);
		return;
	}
	w->slots = slots;
	b->reserved += (size_t)slots;
	w->reserved = true;
	wire_session_init(&w->sess, b->secret, w->cnonce, w->hello.nonce, true);
	w->id = ++b->next_id;
	w->owned = b->launcher && b->lops->owns(b->launcher, w->hello.pilot);
	w->manual = !b->lops || !strcmp(w->hello.backend, "manual");
	struct wire_msg m = {.type = WIRE_WELCOME};
	wire_proof_coord(b->secret, w->hello.nonce, w->cnonce, m.u.welcome.proof);
	m.u.welcome.worker_id = w->id;
	m.u.welcome.lease_ms = (uint32_t)(b->conf->lease * 1000);
	m.u.welcome.progress_ms = (uint32_t)(b->conf->progress * 1000);
	int rc = dist_queue(b, w, &m); /* before READY: WELCOME travels unsigned */
	if (rc) {
		dist_refuse(b, w, "cannot answer it: %s", ana_strerror(rc));
		return;
	}
	w->state = WK_READY;
	w->t_heard = w->t_idle = w->t_mark = dist_now();
	dist_log(b, "worker %u joined: %s pid %d, %s%s%s, %d slot%s, from %s", w->id, w->hello.host,
		 (int)w->hello.pid, w->hello.backend, *w->hello.pilot ? " pilot " : "",
		 w->hello.pilot, slots, slots == 1 ? "" : "s", w->addr);
}

/* A frame of a peer not yet authenticated.  Under mu. */
static void handshake(struct backend *b, struct wk *w, const void *buf, size_t len)
{
	struct wire_msg m;
	char why[256] = "";
	int rc = wire_decode(NULL, buf, len, &m, why, sizeof(why));
	if (rc) {
		printable(why, sizeof(why));
		dist_refuse(b, w, "unauthenticated and malformed: %s", why);
		return;
	}
	if (w->state == WK_HELLO && m.type == WIRE_HELLO) {
		w->hello = m.u.hello;
		if (w->hello.slots < 1 || w->hello.slots > WIRE_MAX_SLOTS) {
			dist_refuse(b, w, "a HELLO with %u slots", (unsigned)w->hello.slots);
		} else if (wire_random(w->cnonce, sizeof(w->cnonce))) {
			dist_refuse(b, w, "no random bytes for its challenge");
		} else {
			/* The proof covers the fields as sent: computed before
			 * they are made printable for the log. */
			wire_proof_worker(b->secret, &w->hello, w->cnonce, w->expect);
			printable(w->hello.name, sizeof(w->hello.name));
			printable(w->hello.host, sizeof(w->hello.host));
			printable(w->hello.backend, sizeof(w->hello.backend));
			printable(w->hello.pilot, sizeof(w->hello.pilot));
			struct wire_msg c = {.type = WIRE_CHALLENGE};
			memcpy(c.u.challenge.nonce, w->cnonce, WIRE_NONCE);
			c.u.challenge.instance = b->instance;
			if ((rc = dist_queue(b, w, &c)))
				dist_refuse(b, w, "cannot answer it: %s", ana_strerror(rc));
			else
				w->state = WK_AUTH;
		}
	} else if (w->state == WK_AUTH && m.type == WIRE_AUTH) {
		if (!wire_proof_equal(w->expect, m.u.auth.proof))
			dist_refuse(b, w, "a wrong proof: it does not hold this daemon's secret "
					  "(HELLO said %s pid %d)",
				    w->hello.host, (int)w->hello.pid);
		else
			admit(b, w);
	} else {
		dist_refuse(b, w, "%s %s before authentication", w->state == WK_HELLO ? "a" : "another",
			    wire_type_name(m.type));
	}
	wire_msg_free(&m);
}

/* ---- an authenticated worker's frames ---- */

static int find_slot(const struct wk *w, const struct wire_key *k)
{
	for (int i = 0; i < w->slots; i++) {
		const struct btask *t = w->slot[i].t;
		if (t && t->job == k->job && t->idx == k->idx && t->attempt == k->attempt &&
		    t->digest == k->digest)
			return i;
	}
	return -1;
}

/* Counts are cumulative per try: add what is new. */
static void count(struct wk *w, struct wslot *s, int64_t events, uint64_t bytes)
{
	if (events > s->events) {
		atomic_fetch_add(&s->t->events, events - s->events);
		w->events_done += events - s->events;
		s->events = events;
	}
	if (bytes > s->bytes) {
		atomic_fetch_add(&s->t->bytes, bytes - s->bytes);
		s->bytes = bytes;
	}
}

static void on_progress(struct wk *w, const struct wire_progress *p)
{
	w->busy_reported = p->busy;
	for (uint32_t i = 0; i < p->n && i < WIRE_MAX_PROGRESS; i++) {
		int k = find_slot(w, &p->t[i].key);
		if (k < 0)
			continue;
		w->slot[k].seen = true;
		count(w, &w->slot[k], p->t[i].events, p->t[i].bytes);
	}
	if (p->busy >= (uint32_t)w->nbusy)
		for (int i = 0; i < w->slots; i++)
			w->slot[i].seen = true;
}

/* Take slot k's task off w. */
static struct btask *unslot(struct wk *w, int k)
{
	struct btask *t = w->slot[k].t;
	w->slot[k].t = NULL;
	if (--w->nbusy == 0)
		w->t_idle = dist_now();
	t->worker = (int)w->id;
	return t;
}

/* The outcome of a RESULT for t, decoded without any lock held. */
static void take_result(struct btask *t, const struct wire_result *r, const char *who)
{
	t->result = NULL;
	t->cache = (struct store_cache){r->cache.hits, r->cache.misses, r->cache.bytes_hit,
					r->cache.bytes_fetched, r->cache.bytes_prefetched};
	if (r->rc == 0) {
		struct result *res = NULL;
		int rc = result_new(plan_query(t->plan), &res);
		if (!rc)
			rc = result_decode(res, r->blob, r->blob_len);
		if (rc) {
			result_free(res);
			t->rc = rc == -ENOMEM ? -ENOMEM : ANA_ECORRUPT;
			snprintf(t->msg, sizeof(t->msg), "%s sent a result that does not decode: %s",
				 who, ana_strerror(rc));
		} else {
			t->rc = 0;
			t->result = res;
		}
		return;
	}
	t->rc = r->rc < 0 ? r->rc : -EPROTO;
	char why[WIRE_MAX_WHY];
	memcpy(why, r->why, sizeof(why));
	printable(why, sizeof(why));
	if (*why)
		snprintf(t->msg, sizeof(t->msg), "%s", why);
	else
		snprintf(t->msg, sizeof(t->msg), "%s: %s", who, ana_strerror(t->rc));
}

/* Worker id just gave a task back: give it the next at once, if it is
 * free for one.  No lock held. */
static void pull_next(struct backend *b, uint32_t id)
{
	if (!b->env.pull || atomic_load(&b->stopping))
		return;
	pthread_mutex_lock(&b->mu);
	struct wk *w = dist_worker_find(b, id);
	bool room = w && dist_usable(b, w) && w->nbusy < w->slots;
	pthread_mutex_unlock(&b->mu);
	if (!room)
		return;
	struct btask *t = b->env.pull(b->env.ctx);
	if (!t)
		return;
	pthread_mutex_lock(&b->mu);
	w = dist_worker_find(b, id);
	int rc = -EAGAIN;
	if (w && dist_usable(b, w) && w->nbusy < w->slots)
		rc = dist_assign(b, w, t);
	if (!rc)
		dist_flush(b, w);
	pthread_mutex_unlock(&b->mu);
	if (rc) { /* gone in between: the coordinator runs it again at once */
		t->rc = ANA_EGIVENBACK;
		t->worker = (int)id;
		snprintf(t->msg, sizeof(t->msg), "worker %u could not take it after all", id);
		b->env.done(b->env.ctx, t);
	}
}

/* A RESULT: called under mu, returns without it. */
static void on_result(struct backend *b, struct wk *w, const struct wire_result *r)
{
	char who[160];
	snprintf(who, sizeof(who), "worker %u (%s pid %d)", w->id, w->hello.host,
		 (int)w->hello.pid);
	uint32_t id = w->id;
	struct btask *t = NULL;
	int k = find_slot(w, &r->key);
	if (k >= 0) {
		count(w, &w->slot[k], r->events, r->bytes);
		t = unslot(w, k);
		w->tasks_done += r->rc == 0;
		w->last_job = t->job;
	}
	/* Acknowledged whether taken or dropped: the worker forgets it. */
	struct wire_msg ack = {.type = WIRE_ACK, .u.key = r->key};
	int rc = dist_queue(b, w, &ack);
	if (!rc)
		dist_flush(b, w);
	else
		dist_note(b, w, "cannot acknowledge its result: %s", ana_strerror(rc));
	pthread_mutex_unlock(&b->mu);
	if (t) {
		take_result(t, r, who);
		b->env.done(b->env.ctx, t);
		pull_next(b, id);
		return;
	}
	if (r->rc != 0 || !b->env.adopt)
		return; /* an error for a task not here: nothing to learn */
	int a = b->env.adopt(b->env.ctx, r->key.job, r->key.idx, r->key.digest, r->blob,
			     r->blob_len, r->events, r->bytes);
	dist_log(b, "%s: a result for job %lld task %u (try %u), not in flight here: %s", who,
		 (long long)r->key.job, r->key.idx, r->key.attempt,
		 !a ? "taken" : a == -EALREADY ? "dropped, counted already"
			      : a == -ESTALE	? "dropped, no such task now"
						: "dropped, it does not decode");
}

/* A GIVEBACK: called under mu, returns without it. */
static void on_giveback(struct backend *b, struct wk *w, const struct wire_key *key)
{
	struct btask *t = NULL;
	int k = find_slot(w, key);
	if (k >= 0) {
		t = unslot(w, k);
		t->rc = ANA_EGIVENBACK;
		snprintf(t->msg, sizeof(t->msg), "worker %u (%s pid %d) gave it back unfinished",
			 w->id, w->hello.host, (int)w->hello.pid);
	}
	pthread_mutex_unlock(&b->mu);
	if (t)
		b->env.done(b->env.ctx, t);
}

/* A WARM's outcome: to the coordinator's log.  Lets go of mu. */
static void on_warmed(struct backend *b, struct wk *w, struct wire_warmed *r)
{
	if (w->nwarm > 0)
		w->nwarm--;
	char host[WIRE_MAX_NAME];
	snprintf(host, sizeof(host), "%s", w->hello.host);
	pthread_mutex_unlock(&b->mu);
	printable(r->why, sizeof(r->why));
	if (b->env.warmed)
		b->env.warmed(b->env.ctx, r->key.job, r->key.idx, host, r->rc, r->bytes,
			      r->ms / 1e3, r->why);
}

void dist_on_msg(struct backend *b, nng_msg *m)
{
	uint32_t pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
	const void *buf = nng_msg_body(m);
	size_t len = nng_msg_len(m);
	pthread_mutex_lock(&b->mu);
	struct wk *w = dist_peer_find(b, pipe);
	if (!w) /* its frame came before nng told us of it */
		w = dist_peer_add(b, nng_msg_get_pipe(m));
	if (!w || w->closed) {
		if (w)
			w->dropped++;
		pthread_mutex_unlock(&b->mu);
		nng_msg_free(m);
		return;
	}
	if (w->state < WK_READY) {
		handshake(b, w, buf, len);
		dist_flush(b, w);
		pthread_mutex_unlock(&b->mu);
		nng_msg_free(m);
		return;
	}
	struct wire_msg msg;
	char why[256] = "";
	int rc = wire_decode(&w->sess, buf, len, &msg, why, sizeof(why));
	if (rc) {
		/* An authenticated worker whose frame does not decode is broken
		 * or hostile, and its session cannot be trusted to be in step
		 * (a frame that fails its mac or its seq makes every later one
		 * fail).  Closing costs only a rerun: its tasks run again
		 * elsewhere, and a worker that reconnects delivers what it kept
		 * through adopt. */
		printable(why, sizeof(why));
		char line[400];
		snprintf(line, sizeof(line), "sent a frame that does not decode (%s), from %s", why,
			 w->addr);
		dist_peer_lose(b, w, line);
		pthread_mutex_unlock(&b->mu);
		nng_msg_free(m);
		return;
	}
	w->t_heard = dist_now();
	switch (msg.type) {
	case WIRE_PROGRESS:
		on_progress(w, &msg.u.progress);
		pthread_mutex_unlock(&b->mu);
		break;
	case WIRE_RESULT:
		on_result(b, w, &msg.u.result);
		break;
	case WIRE_GIVEBACK:
		on_giveback(b, w, &msg.u.key);
		break;
	case WIRE_WARMED:
		on_warmed(b, w, &msg.u.warmed);
		break;
	case WIRE_BYE:
		if (w->state == WK_READY) {
			printable(msg.u.bye.why, sizeof(msg.u.bye.why));
			dist_log(b, "worker %u (%s pid %d) is leaving: %s", w->id, w->hello.host,
				 (int)w->hello.pid, *msg.u.bye.why ? msg.u.bye.why : "bye");
		}
		w->state = WK_LEAVING;
		pthread_mutex_unlock(&b->mu);
		break;
	default:
		/* Authentic and in step, only of the wrong direction: dropped. */
		dist_note(b, w, "a %s, which workers do not send", wire_type_name(msg.type));
		pthread_mutex_unlock(&b->mu);
	}
	wire_msg_free(&msg);
	nng_msg_free(m);
}

/* ---- handing a task over ---- */

int dist_task_msg(unsigned type, int64_t job, size_t idx, uint32_t attempt, uint64_t digest,
		  struct plan *p, struct wire_msg *m)
{
	size_t tlen = 0;
	const char *text = plan_text(p, &tlen);
	const struct plan_task *pt = plan_task(p, idx);
	if (!pt || idx > UINT32_MAX || tlen > UINT32_MAX)
		return -EINVAL;
	const struct plan_file *f = plan_file(p, (size_t)pt->file);
	const char *basedir = plan_basedir(p);
	*m = (struct wire_msg){.type = (uint16_t)type};
	struct wire_task *wt = &m->u.task;
	wt->key = (struct wire_key){job, (uint32_t)idx, attempt, digest};
	wt->text = text;
	wt->text_len = (uint32_t)tlen;
	wt->basedir = basedir ? basedir : "";
	wt->url = f->url;
	wt->tree = f->tree ? f->tree : "";
	wt->entries = f->entries;
	wt->size = f->size;
	wt->mtime_ns = f->mtime_ns;
	wt->fingerprint = f->fingerprint;
	wt->first = pt->first;
	wt->last = pt->last;
	return 0;
}

int dist_assign(struct backend *b, struct wk *w, struct btask *t)
{
	int k = 0;
	while (k < w->slots && w->slot[k].t)
		k++;
	if (k == w->slots)
		return -EAGAIN;
	struct wire_msg m;
	int rc = dist_task_msg(WIRE_TASK, t->job, t->idx, t->attempt, t->digest, t->plan, &m);
	if (!rc)
		rc = dist_queue(b, w, &m);
	if (rc)
		return rc;
	w->slot[k] = (struct wslot){.t = t, .sent = dist_now()};
	w->nbusy++;
	w->last_job = t->job;
	return 0;
}
