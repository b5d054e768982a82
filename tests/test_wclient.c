/* test_wclient.c — `anafs worker` against a fake coordinator made of the
 * same wire codec on an nng pair1 socket: the handshake and its fields, a
 * heartbeat while idle, a task on a real file whose result is a local
 * runner's to the byte, a result kept across a lost connection and sent
 * again before anything else, forgotten at its ACK; a wrong digest and a
 * changed file answered with their errors; a task beyond the slots given
 * back, CANCEL answered -ECANCELED, SIGTERM and the time limit handing
 * tasks back and saying BYE; BYE from the coordinator; a coordinator that
 * cannot prove itself (exit 2, nothing given to it); a handshake cut
 * after HELLO and again after AUTH, the worker welcomed all the same; no
 * coordinator at all (exit 0 after the linger).
 *
 * Usage: test_wclient ANAFS SHARED_DATA_ROOT */
#include "check.h"

#include "ana_err.h"
#include "plan.h"
#include "result.h"
#include "runner.h"
#include "wire.h"

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *anafs, *data;
static char dir[256];
static uint8_t secret[WIRE_SECRET];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the fake coordinator ---- */

struct coord {
	nng_socket s;
	nng_pipe p;              /* the worker's connection */
	struct wire_session ses;
	struct wire_hello hello;
	uint8_t nonce[WIRE_NONCE];
	uint32_t cut[16];        /* connections this coordinator closed */
	int ncut;
};

/* Close the worker's connection; what it sent there is dropped from now on
 * (frames already queued here would otherwise be taken, before the session
 * is ready, as the new connection's). */
static void coord_cut(struct coord *c)
{
	if (c->ncut < (int)(sizeof(c->cut) / sizeof(c->cut[0])))
		c->cut[c->ncut++] = (uint32_t)nng_pipe_id(c->p);
	nng_pipe_close(c->p);
}

static bool was_cut(const struct coord *c, nng_pipe p)
{
	for (int i = 0; i < c->ncut; i++)
		if (c->cut[i] == (uint32_t)nng_pipe_id(p))
			return true;
	return false;
}

/* A received message: m decoded from frame (both freed by done()). */
struct got {
	struct wire_msg m;
	nng_msg *frame;
	bool ok;
};

static void done(struct got *g)
{
	if (g->ok)
		wire_msg_free(&g->m);
	if (g->frame)
		nng_msg_free(g->frame);
	memset(g, 0, sizeof(*g));
}

static void coord_open(struct coord *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	if (nng_pair1_open_poly(&c->s) || nng_socket_set_size(c->s, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG) ||
	    nng_listen(c->s, url, NULL, 0)) {
		fprintf(stderr, "cannot listen on %s\n", url);
		exit(1);
	}
}

static void coord_send(struct coord *c, const struct wire_msg *m)
{
	void *buf;
	size_t len;
	int rc = wire_encode(c->ses.ready ? &c->ses : NULL, m, &buf, &len);
	check(rc == 0, "encoding %s: %d", wire_type_name(m->type), rc);
	if (rc)
		return;
	nng_msg *msg;
	nng_msg_alloc(&msg, len);
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	nng_msg_set_pipe(msg, c->p);
	if (nng_sendmsg(c->s, msg, 0)) {
		nng_msg_free(msg);
		check(0, "sending %s", wire_type_name(m->type));
	}
}

/* The next message from the worker within secs; skip_progress: PROGRESS
 * messages are counted in *progress and skipped.  false on a timeout. */
static bool coord_recv(struct coord *c, double secs, bool skip_progress, int *progress,
		       struct got *g)
{
	memset(g, 0, sizeof(*g));
	double end = now() + secs;
	while (now() < end) {
		nng_socket_set_ms(c->s, NNG_OPT_RECVTIMEO, 100);
		nng_msg *msg;
		if (nng_recvmsg(c->s, &msg, 0))
			continue;
		if ((nng_pipe_id(nng_msg_get_pipe(msg)) != nng_pipe_id(c->p) && c->ses.ready) ||
		    was_cut(c, nng_msg_get_pipe(msg))) {
			nng_msg_free(msg); /* an older connection's */
			continue;
		}
		char why[256] = "";
		struct wire_session *s = c->ses.ready ? &c->ses : NULL;
		if (!s)
			c->p = nng_msg_get_pipe(msg);
		int rc = wire_decode(s, nng_msg_body(msg), nng_msg_len(msg), &g->m, why, sizeof(why));
		if (rc) {
			check(0, "the worker sent a frame the codec refuses: %s", why);
			nng_msg_free(msg);
			continue;
		}
		g->frame = msg;
		g->ok = true;
		if (skip_progress && g->m.type == WIRE_PROGRESS) {
			if (progress)
				(*progress)++;
			done(g);
			continue;
		}
		return true;
	}
	return false;
}

/* The next message that is not PROGRESS, which must be of type. */
static bool expect(struct coord *c, unsigned type, double secs, struct got *g)
{
	if (!coord_recv(c, secs, true, NULL, g)) {
		check(0, "no %s from the worker in %g s", wire_type_name(type), secs);
		return false;
	}
	if (g->m.type != type) {
		check(0, "%s from the worker, expected %s", wire_type_name(g->m.type),
		      wire_type_name(type));
		done(g);
		return false;
	}
	return true;
}

/* The coordinator's half of the handshake (a wrong proof when liar). */
static bool handshake(struct coord *c, bool liar)
{
	struct got g;
	c->ses.ready = false;
	if (!expect(c, WIRE_HELLO, 15, &g))
		return false;
	c->hello = g.m.u.hello;
	done(&g);
	struct wire_msg m = {.type = WIRE_CHALLENGE};
	wire_random(c->nonce, WIRE_NONCE);
	memcpy(m.u.challenge.nonce, c->nonce, WIRE_NONCE);
	m.u.challenge.instance = 42;
	coord_send(c, &m);
	if (!expect(c, WIRE_AUTH, 10, &g))
		return false;
	uint8_t want[WIRE_MAC];
	wire_proof_worker(secret, &c->hello, c->nonce, want);
	check(wire_proof_equal(want, g.m.u.auth.proof), "the worker's proof verifies");
	done(&g);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_WELCOME;
	wire_proof_coord(secret, c->hello.nonce, c->nonce, m.u.welcome.proof);
	if (liar)
		m.u.welcome.proof[3] ^= 1;
	m.u.welcome.worker_id = 5;
	m.u.welcome.lease_ms = 10000;
	m.u.welcome.progress_ms = 200;
	coord_send(c, &m);
	wire_session_init(&c->ses, secret, c->nonce, c->hello.nonce, true);
	return true;
}

/* ---- the worker process ---- */

/* Start `anafs worker --connect url --name name` with more arguments
 * (NULL-ended), its stderr into DIR/NAME.log. */
static pid_t spawn(const char *url, const char *name, ...)
{
	const char *argv[32] = {"anafs", "worker", "--connect", url, "--name", name};
	int n = 6;
	va_list ap;
	va_start(ap, name);
	for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char log[400];
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 2);
		execv(anafs, (char **)argv);
		_exit(127);
	}
	close(fd);
	return pid;
}

/* The worker's exit status within secs, or -1 (then it is killed). */
static int reap(pid_t pid, double secs)
{
	double end = now() + secs;
	int st;
	while (now() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static bool log_says(const char *name, const char *what)
{
	char path[400], buf[8192];
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	bool ok = strstr(buf, what) != NULL;
	if (!ok)
		fprintf(stderr, "%s's log lacks '%s':\n%s", name, what, buf);
	return ok;
}

/* ---- tasks ---- */

static char query[2048];
static struct plan *plan;
static void *want_blob; /* task 0 run here */
static size_t want_len;

static struct wire_msg task_msg(int64_t job, uint32_t idx)
{
	const struct plan_task *t = plan_task(plan, 0);
	const struct plan_file *f = plan_file(plan, (size_t)t->file);
	struct wire_msg m = {.type = WIRE_TASK};
	struct wire_task *w = &m.u.task;
	size_t len;
	w->key = (struct wire_key){job, idx, 1, plan_task_digest(plan, 0)};
	w->text = plan_text(plan, &len);
	w->text_len = (uint32_t)len;
	w->basedir = plan_basedir(plan);
	w->url = f->url;
	w->tree = f->tree;
	w->entries = f->entries;
	w->size = f->size;
	w->mtime_ns = f->mtime_ns;
	w->fingerprint = f->fingerprint;
	w->first = t->first;
	w->last = t->last;
	return m;
}

static void prepare(void)
{
	snprintf(query, sizeof(query),
		 "dataset %s/nano_dimuon.root\n"
		 "define good = Muon_pt > 5 && abs(Muon_eta) < 2.4\n"
		 "filter twomu: sum(good) == 2\n"
		 "hist mass = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], "
		 "Muon_mass[good]) bins=30 range=0,150\n"
		 "hist pt = Muon_pt[good] bins=20 range=0,100 weight=MET_pt * 0.37\n", data);
	struct plan_opts o = {.basedir = dir, .filename = "t.query"};
	struct ql_error err;
	struct runner *r = NULL;
	struct result *res = NULL;
	char msg[512];
	if (plan_new(query, strlen(query), &o, &plan, &err) || runner_new(plan, &r) ||
	    runner_run(r, 0, NULL, NULL, &res, msg, sizeof(msg)) ||
	    result_encode(res, &want_blob, &want_len)) {
		fprintf(stderr, "cannot run the query here\n");
		exit(1);
	}
	check(res->events == 40 && res->passed[0] > 0, "the reference run has events (%lld)",
	      (long long)res->events);
	result_free(res);
	runner_free(r);
}

static bool wkey_same(const struct wire_key *a, const struct wire_key *b)
{
	return a->job == b->job && a->idx == b->idx && a->attempt == b->attempt &&
	       a->digest == b->digest;
}

static bool key_is(const struct wire_key *k, int64_t job, uint32_t idx)
{
	return k->job == job && k->idx == idx;
}

static void ack(struct coord *c, const struct wire_key *k)
{
	struct wire_msg m = {.type = WIRE_ACK};
	m.u.key = *k;
	coord_send(c, &m);
}

/* ---- the cases ---- */

/* A real task, its result across a lost connection, errors, BYE. */
static void real_tasks(void)
{
	char url[300];
	snprintf(url, sizeof(url), "ipc://%s/a.sock", dir);
	struct coord c;
	coord_open(&c, url);
	pid_t pid = spawn(url, "wa", "--state", dir, "--slots", "2", NULL);
	if (!handshake(&c, false))
		goto out;
	check(!strcmp(c.hello.name, "wa") && c.hello.slots == 2 && c.hello.pid == pid &&
		      !strcmp(c.hello.backend, "manual") && !c.hello.pilot[0],
	      "HELLO says who the worker is (%s, %u slots, pid %d, %s)", c.hello.name,
	      c.hello.slots, c.hello.pid, c.hello.backend);
	struct got g;
	/* Idle, it beats all the same. */
	check(coord_recv(&c, 5, false, NULL, &g) && g.m.type == WIRE_PROGRESS &&
		      g.m.u.progress.busy == 0,
	      "an idle worker sends PROGRESS");
	done(&g);
	struct wire_msg t = task_msg(7, 0);
	coord_send(&c, &t);
	if (!expect(&c, WIRE_RESULT, 30, &g))
		goto out;
	struct wire_key k = g.m.u.result.key;
	struct wire_result *r = &g.m.u.result;
	check(key_is(&k, 7, 0) && k.digest == t.u.task.key.digest && r->rc == 0 && r->events == 40,
	      "RESULT of job 7 task 0: rc %d (%s), %lld events", r->rc, r->why,
	      (long long)r->events);
	check(r->blob_len == want_len && !memcmp(r->blob, want_blob, want_len),
	      "the worker's result is the local runner's, byte for byte (%zu and %zu bytes)",
	      r->blob_len, want_len);
	struct result *back = NULL;
	check(!result_new(plan_query(plan), &back) && !result_decode(back, r->blob, r->blob_len) &&
		      back->events == 40,
	      "the result decodes into the query's shape");
	result_free(back);
	done(&g);
	/* Lost before its ACK: the result comes again first thing. */
	coord_cut(&c);
	if (!handshake(&c, false))
		goto out;
	check(coord_recv(&c, 5, false, NULL, &g) && g.m.type == WIRE_RESULT &&
		      wkey_same(&g.m.u.result.key, &k),
	      "after a reconnection the unacknowledged RESULT comes before anything else");
	done(&g);
	/* Acknowledged, then another task: once its RESULT is here the ACK was
	 * taken (the worker reads in order).  An error is kept like a result. */
	ack(&c, &k);
	t = task_msg(7, 1);
	t.u.task.key.digest ^= 1;
	coord_send(&c, &t);
	if (expect(&c, WIRE_RESULT, 30, &g)) {
		check(key_is(&g.m.u.result.key, 7, 1) && g.m.u.result.rc == -EPROTO &&
			      strstr(g.m.u.result.why, "digest"),
		      "a wrong digest: -EPROTO (%d, %s)", g.m.u.result.rc, g.m.u.result.why);
		k = g.m.u.result.key;
		done(&g);
	}
	coord_cut(&c);
	if (!handshake(&c, false))
		goto out;
	check(coord_recv(&c, 5, false, NULL, &g) && g.m.type == WIRE_RESULT &&
		      wkey_same(&g.m.u.result.key, &k) && g.m.u.result.rc == -EPROTO,
	      "an acknowledged result is not sent again, an unacknowledged error is (%s %u)",
	      wire_type_name(g.m.type), g.m.u.result.key.idx);
	done(&g);
	ack(&c, &k);
	t = task_msg(7, 2);
	t.u.task.size += 1;
	coord_send(&c, &t);
	if (expect(&c, WIRE_RESULT, 30, &g)) {
		check(key_is(&g.m.u.result.key, 7, 2) && g.m.u.result.rc == ANA_ECHANGED &&
			      strstr(g.m.u.result.why, "nano_dimuon.root"),
		      "a changed file: ANA_ECHANGED naming it (task %u: %d, %s)",
		      g.m.u.result.key.idx, g.m.u.result.rc, g.m.u.result.why);
		ack(&c, &g.m.u.result.key);
		done(&g);
	}
	/* WARM: answered WARMED, never RESULT; a local file needs no fetch; a
	 * wrong identity is the task's error. */
	t = task_msg(7, 3);
	t.type = WIRE_WARM;
	coord_send(&c, &t);
	if (expect(&c, WIRE_WARMED, 30, &g)) {
		check(key_is(&g.m.u.warmed.key, 7, 3) && g.m.u.warmed.rc == 0 &&
			      g.m.u.warmed.bytes == 0,
		      "WARM of a local file: WARMED, nothing fetched (%d, %s)", g.m.u.warmed.rc,
		      g.m.u.warmed.why);
		done(&g);
	}
	t.u.task.key.idx = 4;
	t.u.task.size += 1;
	coord_send(&c, &t);
	if (expect(&c, WIRE_WARMED, 30, &g)) {
		check(key_is(&g.m.u.warmed.key, 7, 4) && g.m.u.warmed.rc == ANA_ECHANGED &&
			      strstr(g.m.u.warmed.why, "nano_dimuon.root"),
		      "WARM of a changed file: the error naming it (%d, %s)", g.m.u.warmed.rc,
		      g.m.u.warmed.why);
		done(&g);
	}
	struct wire_msg bye = {.type = WIRE_BYE};
	coord_send(&c, &bye);
	check(expect(&c, WIRE_BYE, 10, &g), "BYE answered with BYE");
	done(&g);
out:
	check(reap(pid, 10) == 0, "told BYE, the worker exits 0");
	check(log_says("wa", "connected to") && log_says("wa", "reconnected"),
	      "the log says it connected and reconnected");
	nng_close(c.s);
}

/* Wait for a PROGRESS that lists key k as running. */
static bool running(struct coord *c, const struct wire_key *k, double secs)
{
	double end = now() + secs;
	struct got g;
	while (now() < end && coord_recv(c, end - now(), false, NULL, &g)) {
		bool yes = g.m.type == WIRE_PROGRESS && g.m.u.progress.n >= 1 &&
			   wkey_same(&g.m.u.progress.t[0].key, k);
		if (g.m.type != WIRE_PROGRESS)
			check(0, "%s while waiting for PROGRESS", wire_type_name(g.m.type));
		done(&g);
		if (yes)
			return true;
	}
	check(0, "no PROGRESS listing job %lld task %u", (long long)k->job, k->idx);
	return false;
}

/* Fake mode: one slot, a second task given back, CANCEL, SIGTERM. */
static void fake_tasks(void)
{
	char url[300];
	snprintf(url, sizeof(url), "ipc://%s/b.sock", dir);
	struct coord c;
	coord_open(&c, url);
	pid_t pid = spawn(url, "wb", "--fake", "30", "--backend", "local", "--pilot", "p-1", NULL);
	struct got g;
	if (!handshake(&c, false))
		goto out;
	check(!strcmp(c.hello.backend, "local") && !strcmp(c.hello.pilot, "p-1") &&
		      c.hello.slots == 1,
	      "HELLO carries the backend and pilot");
	struct wire_msg t1 = task_msg(8, 0), t2 = task_msg(8, 1), t3 = task_msg(8, 2);
	coord_send(&c, &t1);
	if (!running(&c, &t1.u.task.key, 10))
		goto out;
	coord_send(&c, &t2);
	if (expect(&c, WIRE_GIVEBACK, 10, &g)) {
		check(key_is(&g.m.u.key, 8, 1), "a task beyond the slots is given back");
		done(&g);
	}
	struct wire_msg cancel = {.type = WIRE_CANCEL};
	cancel.u.key = t1.u.task.key;
	coord_send(&c, &cancel);
	if (expect(&c, WIRE_RESULT, 10, &g)) {
		check(key_is(&g.m.u.result.key, 8, 0) && g.m.u.result.rc == -ECANCELED,
		      "CANCEL: the task's RESULT says -ECANCELED (%d)", g.m.u.result.rc);
		ack(&c, &g.m.u.result.key);
		done(&g);
	}
	coord_send(&c, &t3);
	if (!running(&c, &t3.u.task.key, 10))
		goto out;
	kill(pid, SIGTERM);
	if (expect(&c, WIRE_GIVEBACK, 10, &g)) {
		check(key_is(&g.m.u.key, 8, 2), "SIGTERM: the running task is given back");
		done(&g);
	}
	check(expect(&c, WIRE_BYE, 10, &g), "SIGTERM: then BYE");
	done(&g);
out:
	check(reap(pid, 10) == 0, "on SIGTERM the worker exits 0");
	check(log_says("wb", "SIGTERM"), "the log says why it ends");
	nng_close(c.s);
}

/* Fake results have the query's shape; the time limit ends the worker. */
static void time_limit(void)
{
	char url[300];
	snprintf(url, sizeof(url), "ipc://%s/c.sock", dir);
	struct coord c;
	coord_open(&c, url);
	pid_t pid = spawn(url, "wc", "--fake", "0", "--time-limit", "3", "--quiet", NULL);
	struct got g;
	if (!handshake(&c, false))
		goto out;
	struct wire_msg t = task_msg(9, 0);
	coord_send(&c, &t);
	if (expect(&c, WIRE_RESULT, 10, &g)) {
		struct result *r = NULL;
		struct wire_result *w = &g.m.u.result;
		check(!w->rc && w->events == 40 && !result_new(plan_query(plan), &r) &&
			      !result_decode(r, w->blob, w->blob_len) && r->events == 40 &&
			      r->nhists == 2 && r->passed[0] == 0,
		      "a fake result: the query's shape, no counts, events = last - first");
		result_free(r);
		ack(&c, &w->key);
		done(&g);
	}
	check(expect(&c, WIRE_BYE, 15, &g), "at its time limit the worker says BYE");
	done(&g);
out:
	check(reap(pid, 10) == 0, "at its time limit the worker exits 0");
	nng_close(c.s);
}

/* A coordinator without the secret gets nothing; no coordinator at all. */
static void impostor_and_linger(void)
{
	char url[300];
	snprintf(url, sizeof(url), "ipc://%s/d.sock", dir);
	struct coord c;
	coord_open(&c, url);
	pid_t pid = spawn(url, "wd", NULL);
	if (handshake(&c, true)) {
		struct got g;
		int progress = 0;
		bool any = coord_recv(&c, 1, false, &progress, &g);
		check(!any, "nothing goes to a coordinator that fails its proof (%s)",
		      any ? wire_type_name(g.m.type) : "");
		if (any)
			done(&g);
	}
	check(reap(pid, 10) == 2, "a coordinator that fails its proof: exit 2");
	check(log_says("wd", "failed to prove"), "the log says the coordinator failed its proof");
	nng_close(c.s);
	/* A handshake cut short: the worker says so, comes back, is welcomed. */
	snprintf(url, sizeof(url), "ipc://%s/e.sock", dir);
	coord_open(&c, url);
	pid = spawn(url, "wh", NULL);
	struct got g;
	if (expect(&c, WIRE_HELLO, 15, &g)) {
		done(&g);
		coord_cut(&c);
		/* Again, cut once the worker has answered CHALLENGE. */
		if (expect(&c, WIRE_HELLO, 15, &g)) {
			struct wire_msg ch = {.type = WIRE_CHALLENGE};
			wire_random(ch.u.challenge.nonce, WIRE_NONCE);
			done(&g);
			coord_send(&c, &ch);
			if (expect(&c, WIRE_AUTH, 10, &g))
				done(&g);
			coord_cut(&c);
		}
		if (handshake(&c, false)) {
			struct wire_msg bye = {.type = WIRE_BYE};
			coord_send(&c, &bye);
			check(expect(&c, WIRE_BYE, 10, &g), "welcomed after a cut handshake");
			done(&g);
		}
	}
	check(reap(pid, 10) == 0, "after a cut handshake and BYE: exit 0");
	check(log_says("wh", "closed the connection before welcoming"),
	      "the log says the coordinator cut the handshake");
	nng_close(c.s);
	snprintf(url, sizeof(url), "ipc://%s/nobody.sock", dir);
	pid = spawn(url, "we", "--linger", "0.5", NULL);
	check(reap(pid, 15) == 0, "no coordinator: exit 0 after the linger");
	check(log_says("we", "could not reach"), "the log says no coordinator was reached");
	/* Usage errors: 2, and the secret never on the command line. */
	pid = spawn(url, "wf", "--secret", "00", NULL);
	check(reap(pid, 10) == 2, "an unknown option: exit 2");
	pid = spawn(url, "wg", "--slots", "0", NULL);
	check(reap(pid, 10) == 2, "--slots 0: exit 2");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_wclient ANAFS SHARED_DATA_ROOT\n");
		return 2;
	}
	anafs = argv[1];
	data = argv[2];
	snprintf(dir, sizeof(dir), "/tmp/test_wclient.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	/* The secret: in DIR/secret (mode 0600) and in ANAFS_SECRET. */
	char hex[2 * WIRE_SECRET + 1], path[400];
	wire_random(secret, sizeof(secret));
	wire_secret_hex(secret, hex);
	snprintf(path, sizeof(path), "%s/secret", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, secret, sizeof(secret)) != (ssize_t)sizeof(secret))
		return 1;
	close(fd);
	prepare();
	real_tasks(); /* from DIR/secret: ANAFS_SECRET is not set yet */
	setenv("ANAFS_SECRET", hex, 1);
	fake_tasks();
	time_limit();
	impostor_and_linger();
	plan_unref(plan);
	free(want_blob);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (!failures) {
		int rc = system(cmd);
		(void)rc;
	}
	printf("%d check(s), %d failure(s)\n", nchecks, failures);
	return failures ? 1 : 0;
}
