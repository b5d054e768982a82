/* test_coord_retry.c — what the coordinator does with tasks that come back
 * wrong, through a backend of the test's own (the ops table of backend.h)
 * that runs tasks with a real runner but fails, loses or duplicates them
 * as each case says:
 *   - a task failing twice and then succeeding is retried with backoff and
 *     the job's bytes are those of an undisturbed run;
 *   - a task failing past its retries fails the job with the file, the
 *     entries and the reason;
 *   - with `on_error skip` the job completes without that task, the store
 *     lists it, and the other tasks' counts are whole;
 *   - a lost worker (ANA_ELOST) and a task handed back (ANA_EGIVENBACK)
 *     run again, not counted as failures;
 *   - a result adopted (env->adopt) and then given back again by its
 *     worker counts once; a wrong digest or an unknown job is refused.
 *
 * Usage: test_coord_retry SHARED_DATA_ROOT */
#include "check.h"

#include "ana_err.h"
#include "backend.h"
#include "coord.h"
#include "runner.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *data;

/* ---- a backend that misbehaves on purpose ---- */

enum mode { M_FAIL, M_LOSE, M_GIVEBACK, M_ADOPT };

struct policy {
	enum mode mode;
	size_t victim;  /* the task the mode applies to */
	int times;      /* how many of its tries go wrong (M_FAIL, M_LOSE, M_GIVEBACK) */
	int seen;       /* tries of the victim so far */
	int adopt_rc, adopt_again_rc, adopt_stale_rc, adopt_nojob_rc;
};
static struct policy pol;

struct backend {
	struct backend_env env;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct btask *queue[64];
	int n;
	bool stopping;
	pthread_t tid;
	struct btask *held;
};

static void run_one(struct backend *b, struct btask *t)
{
	struct runner *r = NULL;
	t->rc = runner_new(t->plan, &r);
	if (!t->rc)
		t->rc = runner_run(r, t->idx, NULL, NULL, &t->result, t->msg, sizeof(t->msg));
	runner_free(r);
	if (t->rc || t->idx != pol.victim)
		return;
	pol.seen++;
	if (pol.mode == M_ADOPT && pol.seen == 1) {
		void *blob;
		size_t len;
		CHECK_EQ_I(result_encode(t->result, &blob, &len), 0);
		pol.adopt_rc = b->env.adopt(b->env.ctx, t->job, t->idx, t->digest, blob, len, 0, 0);
		pol.adopt_again_rc = b->env.adopt(b->env.ctx, t->job, t->idx, t->digest, blob, len, 0, 0);
		pol.adopt_stale_rc = b->env.adopt(b->env.ctx, t->job, t->idx, t->digest ^ 1, blob, len, 0, 0);
		pol.adopt_nojob_rc = b->env.adopt(b->env.ctx, 9999, t->idx, t->digest, blob, len, 0, 0);
		free(blob);
		return; /* and the worker's own result comes back too: a duplicate */
	}
	if (pol.seen > pol.times)
		return;
	result_free(t->result);
	t->result = NULL;
	if (pol.mode == M_FAIL) {
		t->rc = -EIO;
		snprintf(t->msg, sizeof(t->msg), "a read failed on purpose");
	} else {
		t->rc = pol.mode == M_LOSE ? ANA_ELOST : ANA_EGIVENBACK;
		snprintf(t->msg, sizeof(t->msg), "worker 1 went silent for 10 s");
	}
}

static void *work(void *arg)
{
	struct backend *b = arg;
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->n && !b->stopping)
			pthread_cond_wait(&b->cv, &b->mu);
		if (!b->n)
			break;
		struct btask *t = b->queue[--b->n];
		pthread_mutex_unlock(&b->mu);
		/* Adopting: task 0 waits until the victim is handled, so the job
		 * cannot merge past it meanwhile. */
		if (pol.mode == M_ADOPT && t->idx == 0 && !pol.seen && !b->held) {
			b->held = t;
			pthread_mutex_lock(&b->mu);
			continue;
		}
		if (atomic_load(&t->stop))
			t->rc = -ECANCELED;
		else
			run_one(b, t);
		b->env.done(b->env.ctx, t);
		if (b->held && pol.seen) {
			struct btask *h = b->held;
			b->held = NULL;
			run_one(b, h);
			b->env.done(b->env.ctx, h);
		}
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static int t_start(const struct backend_env *env, struct backend **out)
{
	struct backend *b = calloc(1, sizeof(*b));
	b->env = *env;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	pthread_create(&b->tid, NULL, work, b);
	*out = b;
	return 0;
}

static void t_stop(struct backend *b)
{
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	for (int i = 0; i < b->n; i++)
		atomic_store(&b->queue[i]->stop, true);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->tid, NULL);
	if (b->held) {
		b->held->rc = -ECANCELED;
		b->env.done(b->env.ctx, b->held);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

static int t_dispatch(struct backend *b, struct btask *t)
{
	pthread_mutex_lock(&b->mu);
	int rc = b->n < 4 ? 0 : -EAGAIN;
	if (!rc)
		b->queue[b->n++] = t;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static int t_poll(struct backend *b)
{
	pthread_mutex_lock(&b->mu);
	int n = 4 - b->n;
	pthread_mutex_unlock(&b->mu);
	return n;
}

static void t_describe(struct backend *b, struct strbuf *out)
{
	(void)b, (void)out;
}

static const struct backend_ops backend_test = {
	.name = "test", .start = t_start, .stop = t_stop, .dispatch = t_dispatch,
	.poll = t_poll, .describe = t_describe,
};

/* ---- jobs ---- */

static const char *query(bool skip)
{
	static char q[4096];
	snprintf(q, sizeof(q),
		 "dataset %s/nano_dimuon.root %s/nano_dimuon.root %s/nano_dimuon.root %s/nano_dimuon.root\n%s"
		 "define good = Muon_pt > 5 && abs(Muon_eta) < 2.4\n"
		 "filter twomu: sum(good) == 2\n"
		 "hist mass = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], "
		 "Muon_mass[good]) bins=30 range=0,150\n",
		 data, data, data, data, skip ? "on_error skip\n" : "");
	return q;
}

struct run {
	enum job_status status;
	void *blob;
	size_t len;
	char *error;
	struct job_info info;
	struct store_skip *skips;
	size_t nskips;
	char *log;
};

static void run_job(const struct backend_ops *ops, bool skip, int retries, struct run *out)
{
	struct store *st = NULL;
	struct coord *c = NULL;
	char msg[512] = "";
	memset(out, 0, sizeof(*out));
	CHECK_EQ_I(store_open(":memory:", &st, msg, sizeof(msg)), 0);
	CHECK_EQ_I(coord_start(&(struct coord_opts){.st = st, .workers = 2, .task_events = 2000,
						    .backend = ops, .retries = retries,
						    .retry_backoff = 0.05},
			       &c, msg, sizeof(msg)),
		   0);
	const char *q = query(skip);
	struct coord_submission s = {.name = "t", .filename = "t.query", .text = q,
				     .len = strlen(q), .basedir = "/"};
	struct ql_error err;
	int64_t id = 0;
	CHECK_EQ_I(coord_submit(c, &s, &id, &err), 0);
	CHECK_EQ_I(coord_wait(c, id, 60000, &out->status), 0);
	int64_t v;
	size_t ll;
	double last;
	CHECK_EQ_I(store_job_result(st, id, &out->blob, &out->len, &v), 0);
	CHECK_EQ_I(coord_job_error(c, id, &out->error), 0);
	CHECK_EQ_I(coord_job(c, id, &out->info), 0);
	CHECK_EQ_I(store_job_skipped(st, id, &out->skips, &out->nskips), 0);
	CHECK_EQ_I(store_job_log(st, id, &out->log, &ll, &last), 0);
	coord_stop(c);
	store_close(st);
}

static void run_free(struct run *r)
{
	free(r->blob);
	free(r->error);
	free(r->log);
	store_skips_free(r->skips, r->nskips);
}

static struct run want;

static void same_as_want(int line, const struct run *r)
{
	if (r->len != want.len || memcmp(r->blob, want.blob, want.len))
		fprintf(stderr, "line %d: the result differs from an undisturbed run's\n", line);
	CHECK(r->len == want.len && !memcmp(r->blob, want.blob, want.len));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_coord_retry SHARED_DATA_ROOT\n");
		return 2;
	}
	static char abs_data[4096];
	if (!realpath(argv[1], abs_data))
		return 2;
	data = abs_data;
	run_job(NULL, false, 0, &want); /* threads, nothing wrong */
	CHECK_EQ_I(want.status, JOB_DONE);
	if (want.info.tasks_total < 3)
		fprintf(stderr, "only %d tasks\n", want.info.tasks_total);
	CHECK(want.info.tasks_total >= 3);
	pol.victim = 1;

	/* Fails twice, then works: two retries are enough. */
	struct run r;
	pol = (struct policy){.mode = M_FAIL, .victim = 1, .times = 2};
	run_job(&backend_test, false, 2, &r);
	CHECK_EQ_I(r.status, JOB_DONE);
	CHECK_EQ_I(pol.seen, 3);
	same_as_want(__LINE__, &r);
	CHECK(strstr(r.log, "failed on worker") && strstr(r.log, "try 3 of 3"));
	run_free(&r);

	/* Fails three times with two retries: the job fails, saying where. */
	pol = (struct policy){.mode = M_FAIL, .victim = 1, .times = 3};
	run_job(&backend_test, false, 2, &r);
	CHECK_EQ_I(r.status, JOB_FAILED);
	CHECK(strstr(r.error, "task 1 (") && strstr(r.error, "nano_dimuon.root, entries"));
	CHECK(strstr(r.error, "a read failed on purpose (after 3 tries)"));
	run_free(&r);

	/* The same with on_error skip: done without task 1, which is listed. */
	pol = (struct policy){.mode = M_FAIL, .victim = 1, .times = 100};
	run_job(&backend_test, true, 1, &r);
	CHECK_EQ_I(r.status, JOB_DONE);
	CHECK_EQ_I(r.nskips, 1);
	CHECK_EQ_I(r.nskips ? r.skips[0].idx : -1, 1);
	CHECK(r.nskips && strstr(r.skips[0].why, "a read failed on purpose (after 2 tries)"));
	CHECK(r.nskips && strstr(r.skips[0].url, "nano_dimuon.root"));
	CHECK_EQ_I(r.info.tasks_done, r.info.tasks_total);
	CHECK(r.nskips && r.info.events_done == r.info.events_total -
						  (r.skips[0].last - r.skips[0].first));
	CHECK(strstr(r.log, "left out task 1") && strstr(r.log, "1 tasks left out"));
	CHECK(r.len != want.len || memcmp(r.blob, want.blob, want.len)); /* less is counted */
	run_free(&r);

	/* Lost workers and hand-backs run again and are not failures. */
	pol = (struct policy){.mode = M_LOSE, .victim = 1, .times = 3};
	run_job(&backend_test, false, 0, &r);
	CHECK_EQ_I(r.status, JOB_DONE);
	same_as_want(__LINE__, &r);
	CHECK(strstr(r.log, "running it again"));
	run_free(&r);
	pol = (struct policy){.mode = M_LOSE, .victim = 1, .times = 100};
	run_job(&backend_test, false, 0, &r);
	CHECK_EQ_I(r.status, JOB_FAILED);
	CHECK(strstr(r.error, "its worker was lost 5 times"));
	run_free(&r);
	pol = (struct policy){.mode = M_GIVEBACK, .victim = 1, .times = 8};
	run_job(&backend_test, false, 0, &r);
	CHECK_EQ_I(r.status, JOB_DONE);
	same_as_want(__LINE__, &r);
	run_free(&r);

	/* Adopted, then the worker's own copy: counted once. */
	pol = (struct policy){.mode = M_ADOPT, .victim = 1};
	run_job(&backend_test, false, 0, &r);
	CHECK_EQ_I(r.status, JOB_DONE);
	CHECK_EQ_I(pol.adopt_rc, 0);
	CHECK_EQ_I(pol.adopt_again_rc, -EALREADY);
	CHECK_EQ_I(pol.adopt_stale_rc, -ESTALE);
	CHECK_EQ_I(pol.adopt_nojob_rc, -ESTALE);
	same_as_want(__LINE__, &r);
	CHECK_EQ_I(r.info.events_done, want.info.events_done);
	CHECK(strstr(r.log, "took the result a worker kept"));
	run_free(&r);

	run_free(&want);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
