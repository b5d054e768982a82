/* test_dist.c — the worker-process backend (dist.h).
 *
 * The backend (`manual`: no launcher) against fake workers
 * written with wire.h directly: the right secret let in; a wrong proof,
 * frames before authentication, garbage and a replayed frame refused and
 * logged with the peer's address; a task handed over with its key and
 * file, progress counted, its result decoded and acknowledged; a result
 * that does not decode failed as corrupt; GIVEBACK; CANCEL on the stop
 * flag; a worker silent past its lease loses its task exactly once, and
 * its late result goes to adopt; stop gives back what is in flight;
 * placement: with workers on two hosts, each file's tasks go back to the
 * host that read it first (its disk cache), before a worker of the same
 * job elsewhere.  (workers.conf and the local launcher: test_dist_local.c.)
 *
 * Usage: test_dist SHARED_DATA_ROOT */
#include "check.h"

#include "ana_err.h"
#include "dist.h"
#include "plan.h"
#include "result.h"
#include "wire.h"

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the coordinator's side of a test ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct btask *done_list[64];
static int ndone;
static char logbuf[65536];
static size_t loglen;
static int nadopt;
static struct {
	int64_t job;
	size_t idx;
	uint64_t digest;
	size_t len;
} adopted;

static void on_done(void *ctx, struct btask *t)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	if (ndone < 64)
		done_list[ndone] = t;
	ndone++;
	pthread_mutex_unlock(&mu);
}
static struct btask *on_pull(void *ctx)
{
	(void)ctx;
	return NULL;
}
static int on_pending(void *ctx)
{
	(void)ctx;
	return 0;
}
static int on_adopt(void *ctx, int64_t job, size_t idx, uint64_t digest, const void *blob,
		    size_t len, int64_t events, uint64_t bytes)
{
	(void)ctx, (void)blob, (void)events, (void)bytes;
	pthread_mutex_lock(&mu);
	nadopt++;
	adopted.job = job;
	adopted.idx = idx;
	adopted.digest = digest;
	adopted.len = len;
	pthread_mutex_unlock(&mu);
	return 0;
}
static void on_log(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
	pthread_mutex_unlock(&mu);
	fprintf(stderr, "  log: %s\n", line);
}

static bool logged(const char *what)
{
	pthread_mutex_lock(&mu);
	bool yes = strstr(logbuf, what) != NULL;
	pthread_mutex_unlock(&mu);
	return yes;
}

static int nadopts(void)
{
	pthread_mutex_lock(&mu);
	int n = nadopt;
	pthread_mutex_unlock(&mu);
	return n;
}

static int dones(void)
{
	pthread_mutex_lock(&mu);
	int n = ndone;
	pthread_mutex_unlock(&mu);
	return n;
}

static struct backend *start(struct dist_conf *conf)
{
	struct backend_env env = {.workers = 1, .host = "test", .done = on_done, .pull = on_pull,
				  .pending = on_pending, .adopt = on_adopt, .statedir = dir,
				  .conf = conf, .log = on_log};
	struct backend *b = NULL;
	int rc = backend_workers.start(&env, &b);
	check(rc == 0, "the backend starts: %s", ana_strerror(rc));
	if (rc)
		exit(1);
	return b;
}

/* ---- a fake worker ---- */

struct fw {
	nng_socket s;
	struct wire_session ses;
	struct wire_hello hello;
	uint32_t id;
	uint64_t last_frame_seq;
	void *last_frame;        /* the last signed frame sent, for replays */
	size_t last_len;
};

static void fw_open(struct fw *w, const char *url)
{
	memset(w, 0, sizeof(*w));
	if (nng_pair1_open(&w->s) || nng_socket_set_size(w->s, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG) ||
	    nng_dial(w->s, url, NULL, 0)) {
		fprintf(stderr, "cannot dial %s\n", url);
		exit(1);
	}
}

static void fw_close(struct fw *w)
{
	nng_close(w->s);
	free(w->last_frame);
	w->last_frame = NULL;
}

static void fw_raw(struct fw *w, const void *buf, size_t len)
{
	nng_msg *m;
	nng_msg_alloc(&m, len);
	memcpy(nng_msg_body(m), buf, len);
	if (nng_sendmsg(w->s, m, 0))
		nng_msg_free(m);
}

static int fw_send(struct fw *w, const struct wire_msg *m)
{
	void *buf;
	size_t len;
	int rc = wire_encode(w->ses.ready ? &w->ses : NULL, m, &buf, &len);
	if (rc)
		return rc;
	fw_raw(w, buf, len);
	free(w->last_frame);
	w->last_frame = buf;
	w->last_len = len;
	return 0;
}

/* The next frame (not PROGRESS-skipping: the server sends none), within
 * secs: 0, or -ETIMEDOUT. */
static int fw_recv(struct fw *w, double secs, struct wire_msg *m)
{
	double end = now() + secs;
	nng_socket_set_ms(w->s, NNG_OPT_RECVTIMEO, 50);
	while (now() < end) {
		nng_msg *f;
		if (nng_recvmsg(w->s, &f, 0))
			continue;
		char why[256];
		int rc = wire_decode(w->ses.ready ? &w->ses : NULL, nng_msg_body(f), nng_msg_len(f), m,
				     why, sizeof(why));
		nng_msg_free(f);
		check(rc == 0, "the server's frame decodes: %s", why);
		if (!rc)
			return 0;
	}
	return -ETIMEDOUT;
}

static void fw_hello(struct fw *w, int slots, const char *pilot, const char *host)
{
	struct wire_msg m = {.type = WIRE_HELLO};
	wire_random(m.u.hello.nonce, WIRE_NONCE);
	snprintf(m.u.hello.name, sizeof(m.u.hello.name), "fake");
	snprintf(m.u.hello.host, sizeof(m.u.hello.host), "%s", host);
	m.u.hello.pid = (int32_t)getpid();
	snprintf(m.u.hello.backend, sizeof(m.u.hello.backend), "manual");
	snprintf(m.u.hello.pilot, sizeof(m.u.hello.pilot), "%s", pilot);
	m.u.hello.slots = (uint16_t)slots;
	w->hello = m.u.hello;
	fw_send(w, &m);
}

/* The whole handshake with secret, as a worker on host: true when
 * WELCOME came and verified. */
static bool fw_join_on(struct fw *w, const char *url, const uint8_t secret[WIRE_SECRET], int slots,
		       const char *host)
{
	fw_open(w, url);
	fw_hello(w, slots, "", host);
	struct wire_msg m;
	if (fw_recv(w, 5, &m) || m.type != WIRE_CHALLENGE)
		return false;
	uint8_t cnonce[WIRE_NONCE];
	memcpy(cnonce, m.u.challenge.nonce, WIRE_NONCE);
	wire_msg_free(&m);
	struct wire_msg a = {.type = WIRE_AUTH};
	wire_proof_worker(secret, &w->hello, cnonce, a.u.auth.proof);
	fw_send(w, &a);
	if (fw_recv(w, 3, &m) || m.type != WIRE_WELCOME) {
		if (!m.type)
			return false;
		wire_msg_free(&m);
		return false;
	}
	uint8_t want[WIRE_MAC];
	wire_proof_coord(secret, w->hello.nonce, cnonce, want);
	bool ok = wire_proof_equal(want, m.u.welcome.proof);
	w->id = m.u.welcome.worker_id;
	wire_msg_free(&m);
	wire_session_init(&w->ses, secret, cnonce, w->hello.nonce, false);
	return ok;
}

static bool fw_join(struct fw *w, const char *url, const uint8_t secret[WIRE_SECRET], int slots)
{
	return fw_join_on(w, url, secret, slots, "fakehost");
}

static void fw_progress(struct fw *w, const struct wire_key *k, int64_t events, uint32_t busy)
{
	struct wire_msg m = {.type = WIRE_PROGRESS};
	m.u.progress.busy = busy;
	if (k) {
		m.u.progress.n = 1;
		m.u.progress.t[0].key = *k;
		m.u.progress.t[0].events = events;
		m.u.progress.t[0].bytes = (uint64_t)events * 10;
	}
	fw_send(w, &m);
}

static void fw_result(struct fw *w, const struct wire_key *k, int rc, const void *blob,
		      size_t len, int64_t events)
{
	struct wire_msg m = {.type = WIRE_RESULT};
	m.u.result.key = *k;
	m.u.result.rc = rc;
	m.u.result.events = events;
	m.u.result.blob = blob;
	m.u.result.blob_len = len;
	if (rc)
		snprintf(m.u.result.why, sizeof(m.u.result.why), "it failed on purpose");
	fw_send(w, &m);
}

static bool wait_until(bool (*pred)(void *), void *arg, double secs)
{
	double end = now() + secs;
	while (now() < end) {
		if (pred(arg))
			return true;
		usleep(10 * 1000);
	}
	return pred(arg);
}

struct live_arg {
	struct backend *b;
	int n;
};
static bool live_is(void *arg)
{
	struct live_arg *a = arg;
	return backend_workers.live(a->b) == a->n;
}
static bool dones_are(void *arg)
{
	return dones() >= *(int *)arg;
}
static bool is_logged(void *arg)
{
	return logged(arg);
}

static struct btask *task_of(struct plan *p, int64_t job, size_t idx)
{
	struct btask *t = calloc(1, sizeof(*t));
	t->job = job;
	t->idx = idx;
	t->plan = p;
	t->attempt = 1;
	t->digest = plan_task_digest(p, idx);
	atomic_init(&t->stop, false);
	atomic_init(&t->events, 0);
	atomic_init(&t->bytes, 0);
	return t;
}

static struct wire_key key_of(const struct btask *t)
{
	return (struct wire_key){t->job, (uint32_t)t->idx, t->attempt, t->digest};
}

static void reset(void)
{
	pthread_mutex_lock(&mu);
	ndone = 0;
	nadopt = 0;
	pthread_mutex_unlock(&mu);
}

static int lines_with(const char *what)
{
	int n = 0;
	pthread_mutex_lock(&mu);
	for (const char *p = logbuf; (p = strstr(p, what)); p++)
		n++;
	pthread_mutex_unlock(&mu);
	return n;
}

/* ---- who may talk ---- */

static void test_auth(struct backend *b, const char *url, const uint8_t secret[WIRE_SECRET])
{
	struct fw good, liar, early, junk, rep;
	struct live_arg one = {b, 1}, none = {b, 0};
	check(fw_join(&good, url, secret, 1), "a worker with the secret is let in");
	check(wait_until(live_is, &one, 5), "it is live");
	char me[64];
	snprintf(me, sizeof(me), "ipc pid %d", (int)getpid());

	uint8_t wrong[WIRE_SECRET];
	memcpy(wrong, secret, WIRE_SECRET);
	wrong[0] ^= 0x55;
	check(!fw_join(&liar, url, wrong, 1), "a worker with another secret gets no WELCOME");
	check(wait_until(is_logged, "a wrong proof", 5), "the wrong proof is logged");
	check(logged(me), "with the peer's address (%s)", me);
	fw_close(&liar);

	/* A signed frame before any handshake. */
	fw_open(&early, url);
	uint8_t n1[WIRE_NONCE] = {1}, n2[WIRE_NONCE] = {2};
	wire_session_init(&early.ses, wrong, n1, n2, false);
	fw_progress(&early, NULL, 0, 0);
	check(wait_until(is_logged, "unauthenticated and malformed", 5),
	      "a signed frame before the handshake is refused");
	fw_close(&early);

	fw_open(&junk, url);
	fw_raw(&junk, "GET / HTTP/1.0\r\n\r\n", 18);
	check(wait_until(is_logged, "not a frame", 5) || lines_with("unauthenticated") >= 2,
	      "garbage is refused");
	fw_close(&junk);
	check(backend_workers.live(b) == 1, "none of them counts as a worker");

	/* A frame replayed on its own connection: that worker is dropped. */
	check(fw_join(&rep, url, secret, 1), "a second worker is let in");
	struct live_arg two = {b, 2};
	check(wait_until(live_is, &two, 5), "two are live");
	fw_progress(&rep, NULL, 0, 0);
	void *copy = malloc(rep.last_len);
	size_t clen = rep.last_len;
	memcpy(copy, rep.last_frame, clen);
	fw_raw(&rep, copy, clen);
	check(wait_until(is_logged, "sent a frame that does not decode", 5),
	      "a replayed frame is refused and logged");
	check(wait_until(live_is, &one, 5), "the worker that replayed is dropped");
	fw_close(&rep);
	/* The same frame on a new connection. */
	int before = lines_with("refused");
	fw_open(&rep, url);
	fw_raw(&rep, copy, clen);
	for (int i = 0; i < 500 && lines_with("refused") == before; i++)
		usleep(10 * 1000);
	check(lines_with("refused") > before && backend_workers.live(b) == 1,
	      "a frame replayed on a new connection is refused");
	fw_close(&rep);
	free(copy);
	fw_close(&good);
	check(wait_until(live_is, &none, 5), "a worker that hangs up is gone");
}

/* ---- tasks ---- */

static bool events_is(void *arg)
{
	struct btask *t = arg;
	return atomic_load(&t->events) == 7 && atomic_load(&t->bytes) == 70;
}

/* The TASK for t, checked against it. */
static bool got_task(struct fw *w, struct btask *t)
{
	struct wire_msg m;
	if (fw_recv(w, 5, &m)) {
		check(0, "no TASK for task %zu", t->idx);
		return false;
	}
	bool ok = m.type == WIRE_TASK;
	check(ok, "a TASK comes (%s)", wire_type_name(m.type));
	if (ok) {
		const struct plan_task *pt = plan_task(t->plan, t->idx);
		const struct plan_file *f = plan_file(t->plan, (size_t)pt->file);
		size_t tlen;
		const char *text = plan_text(t->plan, &tlen);
		check(m.u.task.key.job == t->job && m.u.task.key.idx == t->idx &&
			      m.u.task.key.attempt == t->attempt && m.u.task.key.digest == t->digest,
		      "the TASK's key is the task's");
		check(!strcmp(m.u.task.url, f->url) && m.u.task.first == pt->first &&
			      m.u.task.last == pt->last && m.u.task.size == f->size &&
			      m.u.task.fingerprint == f->fingerprint &&
			      m.u.task.text_len == tlen && !memcmp(m.u.task.text, text, tlen),
		      "the TASK carries the file, its identity, the entries and the query");
	}
	wire_msg_free(&m);
	return ok;
}

static void expect_type(struct fw *w, unsigned type, const struct btask *t, const char *what)
{
	struct wire_msg m;
	int rc = fw_recv(w, 5, &m);
	check(!rc && m.type == type && m.u.key.job == t->job && m.u.key.idx == t->idx, "%s", what);
	if (!rc)
		wire_msg_free(&m);
}

static void test_tasks(struct backend *b, const char *url, const uint8_t secret[WIRE_SECRET],
		       struct plan *p, const void *blob, size_t blen)
{
	struct fw w;
	struct live_arg one = {b, 1};
	reset();
	check(fw_join(&w, url, secret, 1), "a worker joins for tasks");
	check(wait_until(live_is, &one, 5), "it is live");
	check(backend_workers.poll(b) == 1, "one free slot");
	struct btask *t[7];
	for (int i = 0; i < 7; i++)
		t[i] = task_of(p, 1, (size_t)i % plan_ntasks(p));
	check(backend_workers.dispatch(b, t[0]) == 0, "a task is taken");
	check(backend_workers.poll(b) == 0, "no free slot while it runs");
	check(backend_workers.dispatch(b, t[1]) == -EAGAIN, "a second waits: -EAGAIN");
	got_task(&w, t[0]);
	struct wire_key k = key_of(t[0]);
	fw_progress(&w, &k, 7, 1);
	check(wait_until(events_is, t[0], 5), "progress is counted");
	struct strbuf sb = STRBUF_INIT;
	backend_workers.describe(b, &sb);
	check(sb.buf && strstr(sb.buf, "last heard") && strstr(sb.buf, "fakehost") &&
		      strstr(sb.buf, "job 1 task 0") && strstr(sb.buf, "busy"),
	      "describe shows the worker busy with its task:\n%s", sb.buf ? sb.buf : "");
	strbuf_free(&sb);
	fw_result(&w, &k, 0, blob, blen, 40);
	int want = 1;
	bool ok = wait_until(dones_are, &want, 5);
	check(ok, "the result is given back");
	check(t[0]->rc == 0 && t[0]->result && t[0]->worker == (int)w.id &&
		      atomic_load(&t[0]->events) == 40,
	      "as rc 0 with its result, worker and events (rc %d)", t[0]->rc);
	expect_type(&w, WIRE_ACK, t[0], "the result is acknowledged");

	/* A result that does not decode. */
	check(backend_workers.dispatch(b, t[1]) == 0, "the next task is taken");
	got_task(&w, t[1]);
	k = key_of(t[1]);
	fw_result(&w, &k, 0, "\x01\x02garbage", 9, 1);
	want = 2;
	ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t[1]->rc == ANA_ECORRUPT && !t[1]->result,
	      "a result that does not decode fails the try as corrupt (%d: %s)", t[1]->rc,
	      t[1]->msg);
	expect_type(&w, WIRE_ACK, t[1], "and is acknowledged");

	/* An error. */
	check(backend_workers.dispatch(b, t[2]) == 0, "task 3 is taken");
	got_task(&w, t[2]);
	k = key_of(t[2]);
	fw_result(&w, &k, -EIO, NULL, 0, 0);
	want = 3;
	ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t[2]->rc == -EIO &&
		      strstr(t[2]->msg, "on purpose"),
	      "an error comes back with its reason (%d: %s)", t[2]->rc, t[2]->msg);
	expect_type(&w, WIRE_ACK, t[2], "and is acknowledged");

	/* Given back. */
	check(backend_workers.dispatch(b, t[3]) == 0, "task 4 is taken");
	got_task(&w, t[3]);
	struct wire_msg g = {.type = WIRE_GIVEBACK, .u.key = key_of(t[3])};
	fw_send(&w, &g);
	want = 4;
	ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t[3]->rc == ANA_EGIVENBACK,
	      "GIVEBACK gives it back as ANA_EGIVENBACK (%d)", t[3]->rc);

	/* Stopped by the coordinator. */
	check(backend_workers.dispatch(b, t[4]) == 0, "task 5 is taken");
	got_task(&w, t[4]);
	k = key_of(t[4]);
	fw_progress(&w, &k, 1, 1);
	atomic_store(&t[4]->stop, true);
	expect_type(&w, WIRE_CANCEL, t[4], "its stop flag sends CANCEL");
	fw_result(&w, &k, -ECANCELED, NULL, 0, 1);
	want = 5;
	ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t[4]->rc == -ECANCELED, "and -ECANCELED comes back");
	expect_type(&w, WIRE_ACK, t[4], "acknowledged");

	char msg[256] = "";
	check(backend_workers.control(b, "scale 3\n", 8, msg, sizeof(msg)) == 0, "scale 3");
	check(backend_workers.control(b, "frobnicate", 10, msg, sizeof(msg)) == -EINVAL &&
		      strstr(msg, "scale N"),
	      "an unknown command lists the commands: %s", msg);

	/* Stop with a task in flight: it comes back, the worker hears BYE. */
	check(backend_workers.dispatch(b, t[5]) == 0, "task 6 is taken");
	got_task(&w, t[5]);
	backend_workers.stop(b);
	check(dones() == 6 && t[5]->rc == -ECANCELED, "stop gives the task in flight back (%d)",
	      t[5]->rc);
	struct wire_msg m;
	int rc = fw_recv(&w, 3, &m);
	check(!rc && m.type == WIRE_BYE, "the worker is told BYE");
	if (!rc)
		wire_msg_free(&m);
	fw_close(&w);
	for (int i = 0; i < 7; i++) {
		result_free(t[i]->result);
		free(t[i]);
	}
}

/* ---- leases and late results ---- */

static void test_lease(const char *url, struct plan *p, const void *blob, size_t blen)
{
	struct dist_conf conf;
	dist_conf_defaults(&conf);
	strcpy(conf.backend, "manual");
	conf.lease = 1.0;
	strcpy(conf.listen, "tcp://127.0.0.1:0");
	struct backend *b = start(&conf);
	/* The tcp URL it listens on, with the port it was given. */
	char tcp[128] = "";
	pthread_mutex_lock(&mu);
	const char *at = strstr(logbuf, "listening on tcp://127.0.0.1:");
	if (at)
		sscanf(at + strlen("listening on "), "%127s", tcp);
	pthread_mutex_unlock(&mu);
	check(*tcp && strcmp(tcp, "tcp://127.0.0.1:0"), "it listens on tcp with a real port: %s",
	      tcp);
	uint8_t secret[WIRE_SECRET];
	char path[128], msg[256];
	snprintf(path, sizeof(path), "%s/secret", dir);
	wire_secret_load(path, false, secret, msg, sizeof(msg));
	reset();
	struct fw w;
	struct live_arg one = {b, 1};
	check(fw_join(&w, url, secret, 1), "a worker joins (lease 1 s)");
	check(wait_until(live_is, &one, 5), "it is live");
	struct btask *t = task_of(p, 7, 0);
	check(backend_workers.dispatch(b, t) == 0, "it takes a task");
	got_task(&w, t);
	struct wire_key k = key_of(t);
	fw_progress(&w, &k, 3, 1);
	int want = 1;
	bool ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t->rc == ANA_ELOST && strstr(t->msg, "went silent"),
	      "silent past its lease, its task is lost (%d: %s)", t->rc, t->msg);
	usleep(1500 * 1000);
	check(dones() == 1, "exactly once (%d)", dones());
	check(backend_workers.live(b) == 0, "the silent worker is gone");
	fw_close(&w);

	/* It comes back with its result (over tcp): not in flight any more,
	 * adopted. */
	check(*tcp && fw_join(&w, tcp, secret, 1), "the worker joins again over tcp");
	check(wait_until(is_logged, "from tcp 127.0.0.1:", 5), "its tcp address is logged");
	fw_result(&w, &k, 0, blob, blen, 40);
	struct wire_msg m;
	int rc = fw_recv(&w, 5, &m);
	check(!rc && m.type == WIRE_ACK && m.u.key.job == 7, "the late result is acknowledged");
	if (!rc)
		wire_msg_free(&m);
	for (int i = 0; i < 500 && !nadopts(); i++) /* the ACK may come first */
		usleep(10 * 1000);
	pthread_mutex_lock(&mu);
	check(nadopt == 1 && adopted.job == 7 && adopted.idx == 0 && adopted.digest == t->digest &&
		      adopted.len == blen,
	      "and offered to adopt (%d)", nadopt);
	pthread_mutex_unlock(&mu);
	check(dones() == 1, "done is not called again");
	fw_close(&w);
	backend_workers.stop(b);
	free(t);
}


/* ---- placement: a task goes to the node whose disk cache read its file ---- */

/* The first task of p over file number f. */
static size_t first_task_of(struct plan *p, int64_t f)
{
	for (size_t i = 0; i < plan_ntasks(p); i++)
		if (plan_task(p, i)->file == f)
			return i;
	return SIZE_MAX;
}

/* Which of the n workers got the TASK of t (-1: none). */
static int taken_by(struct fw *w, int n, struct btask *t)
{
	for (double end = now() + 5; now() < end;)
		for (int i = 0; i < n; i++) {
			struct wire_msg m;
			if (fw_recv(&w[i], 0.05, &m))
				continue;
			bool ok = m.type == WIRE_TASK && m.u.task.key.job == t->job &&
				  m.u.task.key.idx == t->idx;
			wire_msg_free(&m);
			if (ok)
				return i;
		}
	return -1;
}

/* Worker i ends t well; returns once the backend gave it back. */
static void finish(struct fw *w, struct btask *t, const void *blob, size_t blen)
{
	int want = dones() + 1;
	struct wire_key k = key_of(t);
	fw_result(w, &k, 0, blob, blen, 1);
	bool ok = wait_until(dones_are, &want, 5); /* before the arguments read t */
	check(ok && t->rc == 0, "task %zu is done (%d)", t->idx, ok ? t->rc : 0);
	expect_type(w, WIRE_ACK, t, "and acknowledged");
}

static void test_placement(struct plan *p, const void *blob, size_t blen)
{
	struct dist_conf conf;
	dist_conf_defaults(&conf);
	strcpy(conf.backend, "manual");
	struct backend *b = start(&conf);
	char url[256], path[128], msg[256];
	dist_ipc_url(dir, url, sizeof(url));
	snprintf(path, sizeof(path), "%s/secret", dir);
	uint8_t secret[WIRE_SECRET];
	wire_secret_load(path, false, secret, msg, sizeof(msg));
	reset();
	struct fw w[3];
	const char *host[3] = {"node-a", "node-b", NULL};
	for (int i = 0; i < 2; i++)
		check(fw_join_on(&w[i], url, secret, 1, host[i]), "a worker joins on %s", host[i]);
	struct live_arg two = {b, 2};
	check(wait_until(live_is, &two, 5), "both are live");
	size_t i0 = first_task_of(p, 0), i1 = first_task_of(p, 1);
	check(i0 != SIZE_MAX && i1 != SIZE_MAX, "the plan has tasks of two files");
	if (i0 == SIZE_MAX || i1 == SIZE_MAX)
		goto out;
	struct btask *t[8];
	for (int i = 0; i < 8; i++) {
		t[i] = task_of(p, 3, i % 2 ? i1 : i0);
		t[i]->attempt = (uint32_t)i + 1; /* a key of its own, as the coordinator's */
	}

	/* File 0 goes to one worker, file 1 (while it is busy) to the other. */
	check(backend_workers.dispatch(b, t[0]) == 0, "a task of file 0 is taken");
	int x = taken_by(w, 2, t[0]);
	check(backend_workers.dispatch(b, t[1]) == 0, "a task of file 1 is taken");
	int y = taken_by(w, 2, t[1]);
	check(x >= 0 && y >= 0 && x != y, "by the two workers (%d, %d)", x, y);
	if (x < 0 || y < 0 || x == y)
		goto free;
	finish(&w[x], t[0], blob, blen);
	finish(&w[y], t[1], blob, blen);

	/* Both free, both last ran this job: each file goes back to its node,
	 * whichever is asked first. */
	for (int i = 2; i < 5; i++) {
		check(backend_workers.dispatch(b, t[i]) == 0, "task %d is taken", i);
		int got = taken_by(w, 2, t[i]);
		int want = i % 2 ? y : x;
		check(got == want, "a task of file %d goes to %s, whose cache read it (worker %d, "
		      "want %d)", i % 2, host[want], got, want);
		if (got >= 0)
			finish(&w[got], t[i], blob, blen);
	}

	/* A third worker on file 1's node: with file 1's worker busy, the next
	 * task of file 1 goes to it rather than to the idle worker of the same
	 * job on the other node. */
	host[2] = host[y];
	check(fw_join_on(&w[2], url, secret, 1, host[2]), "a third worker joins on %s", host[2]);
	struct live_arg three = {b, 3};
	check(wait_until(live_is, &three, 5), "it is live");
	check(backend_workers.dispatch(b, t[5]) == 0, "a task of file 1 is taken");
	int a = taken_by(w, 3, t[5]);
	check(backend_workers.dispatch(b, t[7]) == 0, "another task of file 1 is taken");
	int c = taken_by(w, 3, t[7]);
	check(a >= 0 && c >= 0 && !strcmp(host[a], host[y]) && !strcmp(host[c], host[y]),
	      "both by the workers on %s (%d, %d)", host[y], a, c);
	if (a >= 0)
		finish(&w[a], t[5], blob, blen);
	if (c >= 0)
		finish(&w[c], t[7], blob, blen);
free:
	backend_workers.stop(b);
	for (int i = 0; i < 8; i++) {
		result_free(t[i]->result);
		free(t[i]);
	}
	if (host[2])
		fw_close(&w[2]);
out:
	for (int i = 0; i < 2; i++)
		fw_close(&w[i]);
	if (i0 == SIZE_MAX || i1 == SIZE_MAX)
		backend_workers.stop(b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_dist SHARED_DATA_ROOT\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "/tmp/test_dist.XXXXXX");
	if (!mkdtemp(dir))
		return 1;

	char text[1024];
	int tlen = snprintf(text, sizeof(text),
			    "dataset %s/nano_dimuon.root\ntree Events\n"
			    "hist met = MET_pt bins=10 range=0,200\n",
			    argv[1]);
	struct plan_opts po = {.basedir = "/", .task_events = 10};
	struct plan *p = NULL;
	struct ql_error err;
	int rc = plan_new(text, (size_t)tlen, &po, &p, &err);
	check(rc == 0, "the test's query plans: %s", rc ? err.text : "");
	if (rc)
		return 1;
	struct result *r = NULL;
	void *blob = NULL;
	size_t blen = 0;
	if (result_new(plan_query(p), &r) || result_encode(r, &blob, &blen))
		return 1;
	result_free(r);

	struct dist_conf conf;
	dist_conf_defaults(&conf);
	strcpy(conf.backend, "manual");
	conf.lease = 30;
	struct backend *b = start(&conf);
	char url[256], path[128], msg[256];
	dist_ipc_url(dir, url, sizeof(url));
	snprintf(path, sizeof(path), "%s/secret", dir);
	uint8_t secret[WIRE_SECRET];
	check(wire_secret_load(path, false, secret, msg, sizeof(msg)) == 0,
	      "the backend made its secret: %s", msg);
	struct stat st;
	snprintf(path, sizeof(path), "%s/workers.sock", dir);
	check(!stat(path, &st) && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "its socket is %s, mode 0600 (%o)", path, (unsigned)st.st_mode & 0777);
	test_auth(b, url, secret);
	test_tasks(b, url, secret, p, blob, blen); /* stops b */
	test_lease(url, p, blob, blen);

	/* Two files for placement. */
	tlen = snprintf(text, sizeof(text),
			"dataset %s/uproot-HZZ-zlib.root %s/uproot-HZZ-lz4.root\ntree events\n"
			"hist met = MET_px bins=10 range=0,200\n",
			argv[1], argv[1]);
	struct plan *p2 = NULL;
	po.task_events = 1000;
	rc = plan_new(text, (size_t)tlen, &po, &p2, &err);
	check(rc == 0, "the placement query plans: %s", rc ? err.text : "");
	if (!rc)
		test_placement(p2, blob, blen);
	plan_unref(p2);

	free(blob);
	plan_unref(p);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	if (failures)
		fprintf(stderr, "%d of %d checks failed\n", failures, nchecks);
	return failures ? 1 : 0;
}
