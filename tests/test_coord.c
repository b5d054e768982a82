/* test_coord.c — the coordinator: jobs to their end, results equal to a
 * straight run, control racing completion over many small jobs (no job
 * ends in a state it should not, none hangs, nothing merges after the
 * end), the memory cap, planning errors (a missing branch, a FIFO, a file
 * the submitter may not read), stop and resume, and a file changed
 * between a stop and a restart.  Run under ThreadSanitizer by `make tsan`.
 *
 * Usage: test_coord SHARED_DATA_ROOT */
#include "check.h"

#include "backend.h"
#include "coord.h"
#include "plan.h"
#include "result.h"
#include "runner.h"
#include "store.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *data;
static char tmp[256];

/* Under ThreadSanitizer every file open costs a tenth of a second: fewer
 * rounds there, the same cases. */
#if defined(__SANITIZE_THREAD__)
#define ROUNDS(n) ((n) / 10 + 1)
#else
#define ROUNDS(n) (n)
#endif

struct env {
	struct store *st;
	struct coord *c;
};

static uint64_t memory; /* the histogram memory limit of the next start (0: default) */

/* Jobs of the same query take an earlier one's result unless this is set
 * (coord_opts.no_reuse): the tests of control and progress need jobs that
 * run their tasks. */
static bool no_reuse;

/* The backend of the next start: NULL for backend_local, or gated_ops,
 * backend_local with its tasks held back while gate_closed is set (jobs
 * are planned and run nothing), so that a test can pause a job before it
 * runs however late its thread gets the CPU. */
static const struct backend_ops *next_backend;
static struct backend_ops gated_ops;
static atomic_bool gate_closed;

static int gated_dispatch(struct backend *b, struct btask *t)
{
	return atomic_load(&gate_closed) ? -EAGAIN : backend_local.dispatch(b, t);
}

static int gated_poll(struct backend *b)
{
	int free_slots = backend_local.poll(b);
	return atomic_load(&gate_closed) ? 0 : free_slots;
}

static void start(struct env *e, const char *db, int workers, bool access, int64_t task_events)
{
	char msg[512] = "";
	memset(e, 0, sizeof(*e));
	if (store_open(db, &e->st, msg, sizeof(msg)) ||
	    coord_start(&(struct coord_opts){.st = e->st, .workers = workers, .resume = true,
					     .check_access = access, .task_events = task_events,
					     .hist_memory = memory, .no_reuse = no_reuse,
					     .backend = next_backend},
			&e->c, msg, sizeof(msg))) {
		fprintf(stderr, "cannot start: %s\n", msg);
		exit(1);
	}
}

static void stop(struct env *e)
{
	coord_stop(e->c);
	store_close(e->st);
}

static int submit_as(struct env *e, const char *text, uid_t uid, int64_t *id, struct ql_error *err)
{
	struct coord_submission s = {.name = "t", .filename = "t.query", .uid = uid, .gid = uid,
				     .text = text, .len = strlen(text), .basedir = tmp};
	return coord_submit(e->c, &s, id, err);
}

static int64_t submit(struct env *e, const char *text)
{
	struct ql_error err;
	int64_t id = 0;
	int rc = submit_as(e, text, 0, &id, &err);
	if (rc)
		fprintf(stderr, "submit: %d %s\n", rc, err.text);
	CHECK_EQ_I(rc, 0);
	return id;
}

static enum job_status wait_end(struct env *e, int64_t id)
{
	enum job_status s = JOB_QUEUED;
	int rc = coord_wait(e->c, id, 60000, &s);
	if (rc)
		fprintf(stderr, "job %lld: wait gave %d\n", (long long)id, rc);
	CHECK_EQ_I(rc, 0);
	return s;
}

static char *error_of(struct env *e, int64_t id)
{
	char *err = NULL;
	CHECK_EQ_I(coord_job_error(e->c, id, &err), 0);
	return err ? err : strdup("");
}

/* A query over n copies of the dimuon file. */
static char *dimuon(int n)
{
	static char q[16384];
	int at = snprintf(q, sizeof(q), "dataset");
	for (int i = 0; i < n; i++)
		at += snprintf(q + at, sizeof(q) - (size_t)at, " %s/nano_dimuon.root", data);
	snprintf(q + at, sizeof(q) - (size_t)at,
		 "\ndefine good = Muon_pt > 5 && abs(Muon_eta) < 2.4\n"
		 "filter twomu: sum(good) == 2\n"
		 "hist mass = inv_mass(Muon_pt[good], Muon_eta[good], Muon_phi[good], "
		 "Muon_mass[good]) bins=30 range=0,150\n"
		 "hist pt = Muon_pt[good] bins=20 range=0,100 weight=MET_pt * 0.37\n");
	return q;
}

/* The bytes of the job's stored result. */
static void *stored(struct env *e, int64_t id, size_t *len)
{
	void *b = NULL;
	int64_t v;
	CHECK_EQ_I(store_job_result(e->st, id, &b, len, &v), 0);
	return b;
}

/* The same query planned and run straight, task by task in order. */
static void *straight(const char *text, int64_t task_events, size_t *len)
{
	struct plan *p = NULL;
	struct ql_error err;
	struct plan_opts o = {.basedir = tmp, .filename = "t.query", .task_events = task_events};
	if (plan_new(text, strlen(text), &o, &p, &err)) {
		fprintf(stderr, "%s", err.text);
		failures++;
		return NULL;
	}
	struct runner *r = NULL;
	struct result *total = NULL;
	char msg[1024];
	CHECK_EQ_I(runner_new(p, &r), 0);
	CHECK_EQ_I(result_new(plan_query(p), &total), 0);
	for (size_t i = 0; i < plan_ntasks(p); i++) {
		struct result *part = NULL;
		CHECK_EQ_I(runner_run(r, i, NULL, NULL, &part, msg, sizeof(msg)), 0);
		CHECK_EQ_I(result_merge(total, part), 0);
		result_free(part);
	}
	void *b = NULL;
	CHECK_EQ_I(result_encode(total, &b, len), 0);
	result_free(total);
	runner_free(r);
	plan_unref(p);
	return b;
}

static void same_bytes(int line, struct env *e, int64_t id, const void *want, size_t wlen)
{
	size_t len = 0;
	void *got = stored(e, id, &len);
	if (!got || len != wlen || memcmp(got, want, len)) {
		fprintf(stderr, "%s:%d: job %lld: the result differs from a straight run\n", __FILE__,
			line, (long long)id);
		failures++;
	}
	free(got);
}

/* ---- the cases ---- */

static void test_results(void)
{
	for (int workers = 1; workers <= 4; workers += 3) {
		struct env e;
		start(&e, ":memory:", workers, false, 10);
		const char *q = dimuon(6);
		int64_t id = submit(&e, q);
		CHECK_EQ_I(wait_end(&e, id), JOB_DONE);
		size_t wlen = 0;
		void *want = straight(q, 10, &wlen);
		same_bytes(__LINE__, &e, id, want, wlen);
		struct job_info info;
		CHECK_EQ_I(coord_job(e.c, id, &info), 0);
		CHECK_EQ_I(info.tasks_done, 6); /* one basket per file: a task each */
		CHECK_EQ_I(info.tasks_total, 6);
		CHECK_EQ_I(info.events_done, 240);
		CHECK(info.planned);
		CHECK_EQ_I(coord_control(e.c, id, "pause", 5), -EBUSY);
		CHECK_EQ_I(coord_control(e.c, id, "cancel\n", 7), -EBUSY);
		CHECK_EQ_I(coord_control(e.c, id, "resume", 6), -EBUSY);
		CHECK_EQ_I(coord_control(e.c, id, "stop", 4), -EINVAL);
		CHECK_EQ_I(coord_control(e.c, 999, "pause", 5), -ENOENT);
		free(want);
		stop(&e);
	}
}

/* Control racing completion: a job of 8 tasks of 40 events each, a
 * command at a random moment, over many jobs. */
static void test_races(void)
{
	struct env e;
	no_reuse = true; /* every job runs its tasks, racing the commands */
	start(&e, ":memory:", 2, false, 10);
	no_reuse = false;
	const char *q = dimuon(8);
	srand(12345);
	int ends[8] = {0};
	for (int round = 0; round < ROUNDS(200); round++) {
		int64_t id = submit(&e, q);
		struct timespec d = {0, (rand() % 3000) * 1000L};
		nanosleep(&d, NULL);
		int what = rand() % 3;
		int rc = coord_control(e.c, id, what == 0 ? "cancel" : "pause", what == 0 ? 6 : 5);
		CHECK(rc == 0 || rc == -EBUSY);
		bool resumed = false;
		if (what && rc == 0 && rand() % 2) {
			nanosleep(&d, NULL);
			int r2 = coord_control(e.c, id, "resume", 6);
			CHECK(r2 == 0 || r2 == -EBUSY);
			resumed = true;
		}
		enum job_status s = JOB_QUEUED;
		int w = coord_wait(e.c, id, what && !resumed ? 50 : 60000, &s);
		if (w == -ETIMEDOUT) {
			/* Paused: it stays so until resumed, but the tasks that were
			 * running when it was paused still merge, and the last of
			 * them may end the job after the wait gave up. */
			struct job_info info;
			CHECK_EQ_I(coord_job(e.c, id, &info), 0);
			CHECK(info.status == JOB_PAUSED ||
			      (info.status == JOB_DONE && info.tasks_done == 8));
			if (info.status == JOB_PAUSED)
				CHECK_EQ_I(coord_control(e.c, id, "resume", 6), 0);
			s = wait_end(&e, id);
		} else {
			CHECK_EQ_I(w, 0);
		}
		struct job_info a, b;
		CHECK_EQ_I(coord_job(e.c, id, &a), 0);
		if (what == 0 && rc == 0)
			CHECK_EQ_I(s, JOB_CANCELLED); /* a cancel that took is never undone */
		else
			CHECK_EQ_I(s, JOB_DONE);
		if (s == JOB_DONE)
			CHECK(a.tasks_done == 8 && a.events_done == 320);
		CHECK(a.tasks_done <= a.tasks_total);
		CHECK_EQ_I(coord_control(e.c, id, "pause", 5), -EBUSY);
		CHECK_EQ_I(coord_control(e.c, id, "resume", 6), -EBUSY);
		/* Nothing merges after the end. */
		struct timespec pause = {0, 20000000};
		nanosleep(&pause, NULL);
		CHECK_EQ_I(coord_job(e.c, id, &b), 0);
		CHECK_EQ_I(b.result_version, a.result_version);
		CHECK_EQ_I(b.status, a.status);
		ends[s]++;
	}
	printf("races: %d done, %d cancelled\n", ends[JOB_DONE], ends[JOB_CANCELLED]);
	stop(&e);
}

/* A query of n histograms of bins bins each (weighted when w). */
static char *many_hists(int n, int bins, bool w)
{
	static char q[400000];
	int at = snprintf(q, sizeof(q), "dataset %s/nano_dimuon.root\n", data);
	for (int i = 0; i < n; i++)
		at += snprintf(q + at, sizeof(q) - (size_t)at, "hist h%d = MET_pt bins=%d range=0,1%s\n",
			       i, bins, w ? " weight=MET_pt" : "");
	return q;
}

static void refused(struct env *e, const char *q, const char *what, const char *figure)
{
	struct ql_error err;
	int64_t id = 0;
	CHECK_EQ_I(submit_as(e, q, 0, &id, &err), -EINVAL);
	if (!strstr(err.msg, what) || !strstr(err.msg, figure))
		fprintf(stderr, "memory: %s\n", err.text);
	CHECK(strstr(err.msg, what) && strstr(err.msg, figure));
	CHECK(strstr(err.text, "hint:") != NULL);
	struct job_info info;
	CHECK(id > 0 && coord_job(e->c, id, &info) == 0 && info.status == JOB_INVALID);
}

/* Many workers finishing tiny tasks at once: several tasks are given back
 * before the coordinator collects them, in any order, while others are
 * still out (a task is then on its job's list and on the queue of those
 * given back).  Cancels land among them. */
static void test_crowd(void)
{
	struct env e;
	start(&e, ":memory:", 8, false, 0);
	const char *q = dimuon(48);
	size_t wlen = 0;
	void *want = straight(q, 0, &wlen);
	for (int round = 0; round < ROUNDS(30); round++) {
		int64_t a = submit(&e, q), b = submit(&e, q);
		if (round % 3 == 0) {
			struct timespec d = {0, (round % 7) * 300000L};
			nanosleep(&d, NULL);
			int rc = coord_control(e.c, b, "cancel", 6);
			CHECK(rc == 0 || rc == -EBUSY);
		}
		CHECK_EQ_I(wait_end(&e, a), JOB_DONE);
		same_bytes(__LINE__, &e, a, want, wlen);
		enum job_status s = wait_end(&e, b);
		CHECK(s == JOB_DONE || (round % 3 == 0 && s == JOB_CANCELLED));
		if (s == JOB_DONE)
			same_bytes(__LINE__, &e, b, want, wlen);
	}
	free(want);
	stop(&e);
}

static void test_memory(void)
{
	struct env e;
	memory = (uint64_t)1 << 30; /* 1 GiB for every copy of a job's histograms */
	start(&e, ":memory:", 2, false, 0);
	/* 4000 histograms of a million bins: 29.8 GiB in one copy. */
	refused(&e, many_hists(4000, 1000000, false), "in one copy", "29.8 GiB");
	/* 40 weighted: 610 MiB a copy, 4 copies with 2 workers: 2.4 GiB. */
	refused(&e, many_hists(40, 1000000, true), "histograms need", "2.4 GiB");
	/* 4 of them fit: 64 MB a copy. */
	int64_t id = submit(&e, many_hists(4, 1000000, true));
	CHECK_EQ_I(wait_end(&e, id), JOB_DONE);
	stop(&e);
	memory = 0;
}

static void __attribute__((unused)) write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CHECK_EQ_I(system(cmd), 0);
}

static void test_planning_errors(void)
{
	struct env e;
	start(&e, ":memory:", 2, true, 0);
	char q[4096], path[512];
	/* A branch the query reads missing from the third file. */
	snprintf(q, sizeof(q), "dataset %s/nano_dimuon.root %s/nano_dimuon.root %s/uproot-HZZ-zlib.root\n"
		 "hist met = MET_pt bins=10 range=0,100\n", data, data, data);
	int64_t id = submit(&e, q);
	CHECK_EQ_I(wait_end(&e, id), JOB_INVALID);
	char *err = error_of(&e, id);
	CHECK(strstr(err, "uproot-HZZ-zlib.root") && strstr(err, "MET_pt"));
	free(err);
	struct job_info info;
	CHECK_EQ_I(coord_job(e.c, id, &info), 0);
	CHECK_EQ_I(info.tasks_done, 0);
	/* A FIFO matched by a pattern is refused, without blocking. */
	snprintf(path, sizeof(path), "%s/fifo", tmp);
	CHECK_EQ_I(mkdir(path, 0755), 0);
	copy_file((snprintf(q, sizeof(q), "%s/nano_dimuon.root", data), q),
		  (snprintf(path, sizeof(path), "%s/fifo/a.root", tmp), path));
	snprintf(path, sizeof(path), "%s/fifo/b.root", tmp);
	CHECK_EQ_I(mkfifo(path, 0644), 0);
	alarm(60);
	id = submit(&e, "dataset fifo/*.root\nhist met = MET_pt bins=10 range=0,100\n");
	CHECK_EQ_I(wait_end(&e, id), JOB_INVALID);
	alarm(0);
	err = error_of(&e, id);
	CHECK(strstr(err, "b.root") && strstr(err, "FIFO"));
	free(err);
	/* A file only root may read, named by uid 65534: refused, nothing of
	 * it shown. */
	snprintf(path, sizeof(path), "%s/secret.root", tmp);
	snprintf(q, sizeof(q), "%s/nano_dimuon.root", data);
	copy_file(q, path);
	CHECK_EQ_I(chmod(path, 0600), 0);
	snprintf(q, sizeof(q), "dataset %s\nhist met = MET_pt bins=10 range=0,100\n", path);
	struct ql_error qe;
	CHECK_EQ_I(submit_as(&e, q, 65534, &id, &qe), 0);
	CHECK_EQ_I(wait_end(&e, id), JOB_INVALID);
	err = error_of(&e, id);
	struct stat st;
	char size[32];
	stat(path, &st);
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	CHECK(strstr(err, "permission denied") && !strstr(err, size));
	free(err);
	/* The same file submitted by root (who may read it) runs. */
	id = submit(&e, q);
	CHECK_EQ_I(wait_end(&e, id), JOB_DONE);
	/* No file matching a pattern: the hint names the folder and the pattern. */
	id = submit(&e, "dataset nothere/*.root\nhist met = MET_pt bins=10 range=0,100\n");
	CHECK_EQ_I(wait_end(&e, id), JOB_INVALID);
	err = error_of(&e, id);
	snprintf(path, sizeof(path), "%s/nothere/*.root", tmp);
	CHECK(strstr(err, path) && strstr(err, "relative paths start at"));
	CHECK(!strstr(err, "/./") && !strstr(err, "/../"));
	free(err);
	stop(&e);
}

static bool planned(struct env *e, int64_t id)
{
	struct job_info info;
	return coord_job(e->c, id, &info) == 0 && info.planned;
}

/* A job stopped unfinished resumes at its last merged task with the bytes
 * of a straight run; one whose file changed meanwhile fails, saying so. */
static void test_resume(void)
{
	char db[300], file[300], q[1024];
	snprintf(db, sizeof(db), "%s/state.db", tmp);
	snprintf(file, sizeof(file), "%s/copy.root", tmp);
	snprintf(q, sizeof(q), "%s/nano_dimuon.root", data);
	copy_file(q, file);
	snprintf(q, sizeof(q), "dataset %s %s\nhist met = MET_pt bins=10 range=0,100 weight=MET_pt\n",
		 file, file);
	struct env e;
	/* Paused at once: planned, nothing runs (the gate holds every task
	 * back until both are paused); stopped; resumed. */
	gated_ops = backend_local;
	gated_ops.dispatch = gated_dispatch;
	gated_ops.poll = gated_poll;
	atomic_store(&gate_closed, true);
	next_backend = &gated_ops;
	start(&e, db, 2, false, 10);
	int64_t a = submit(&e, q), b = submit(&e, q);
	CHECK_EQ_I(coord_control(e.c, a, "pause", 5), 0);
	CHECK_EQ_I(coord_control(e.c, b, "pause", 5), 0);
	/* The planner plans paused jobs too; stop once both are recorded (a job
	 * stopped before its plan is recorded is planned afresh later). */
	for (int i = 0; i < 6000 && !(planned(&e, a) && planned(&e, b)); i++) {
		struct timespec d = {0, 10000000};
		nanosleep(&d, NULL);
	}
	CHECK(planned(&e, a) && planned(&e, b));
	stop(&e);
	next_backend = NULL;
	atomic_store(&gate_closed, false);
	start(&e, db, 2, false, 10);
	struct job_info info;
	CHECK(coord_job(e.c, a, &info) == 0 && info.status == JOB_PAUSED);
	CHECK_EQ_I(coord_control(e.c, a, "resume", 6), 0);
	CHECK_EQ_I(wait_end(&e, a), JOB_DONE);
	size_t wlen = 0;
	void *want = straight(q, 10, &wlen);
	same_bytes(__LINE__, &e, a, want, wlen);
	free(want);
	stop(&e);
	/* The file changes while b is stopped: b fails at resume. */
	FILE *f = fopen(file, "a");
	CHECK(f && fputs("more bytes", f) >= 0);
	if (f)
		fclose(f);
	start(&e, db, 2, false, 10);
	CHECK_EQ_I(wait_end(&e, b), JOB_FAILED);
	char *err = error_of(&e, b);
	CHECK(strstr(err, "copy.root") && strstr(err, "changed since the job was planned"));
	free(err);
	char *log = NULL;
	size_t len;
	CHECK_EQ_I(store_job_log(e.st, b, &log, &len, NULL), 0);
	CHECK(log && strstr(log, "cannot resume"));
	free(log);
	stop(&e);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_coord SHARED_DATA_ROOT\n");
		return 2;
	}
	static char abs_data[4096];
	if (!realpath(argv[1], abs_data))
		return 2;
	data = abs_data;
	snprintf(tmp, sizeof(tmp), "/tmp/anafs-test-coord-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	test_results();
	test_races();
	test_crowd();
	test_memory();
	test_planning_errors();
	test_resume();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		failures++;
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
