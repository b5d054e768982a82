/* test_store_race.c — the job store under threads and kills: workers
 * merging into their jobs at once; a cancel and pauses racing the last
 * merge of a job (the job ends done with every task merged, or cancelled
 * with a prefix merged, and never changes once it is over); and a writer
 * killed with SIGKILL at random moments leaving every merge whole.
 *
 * Usage: test_store_race.  Works in a fresh directory under /tmp, removed
 * at the end.  Run under ThreadSanitizer too (see the store's commits). */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test.h"

/* ---- threads ---- */

#define NTHREADS 4
#define THREAD_TASKS 200

struct worker {
	struct store *st;
	int64_t id;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < THREAD_TASKS; i++) {
		char r[32];
		int n = snprintf(r, sizeof(r), "job %lld task %d", (long long)w->id, i);
		struct job_info ji;
		if (store_task_commit(w->st, w->id, i, r, (size_t)n, i + 1, false) != 0)
			w->errors++;
		if (store_task_commit(w->st, w->id, i, "dup", 3, 1000, false) != 1)
			w->errors++;
		if (store_log(w->st, w->id, "task %d merged", i) != 0)
			w->errors++;
		if (store_job_get(w->st, w->id, &ji) != 0 || ji.tasks_done != i + 1)
			w->errors++;
	}
	return NULL;
}

static void test_threads(const char *path)
{
	struct store *st = open_or_die(path);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct store_task *plan = calloc(THREAD_TASKS, sizeof(*plan));
	struct store_file file = { "/d/f.root", "Events", 10 * THREAD_TASKS, 0, 0, 0 };
	for (int i = 0; i < THREAD_TASKS; i++)
		plan[i] = (struct store_task){ 0, i * 10, i * 10 + 10, false };
	for (int k = 0; k < NTHREADS; k++) {
		w[k] = (struct worker){ st, 0, 0 };
		CHECK_EQ_I(store_job_create(st, "threads", 0, 0, "q", 1, "", JOB_RUNNING, NULL,
					    &w[k].id), 0);
		CHECK_EQ_I(store_job_plan(st, w[k].id, &file, 1, plan, THREAD_TASKS,
					  10 * THREAD_TASKS), 0);
	}
	free(plan);
	for (int k = 0; k < NTHREADS; k++)
		CHECK_EQ_I(pthread_create(&th[k], NULL, worker_main, &w[k]), 0);
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < NTHREADS; k++) {
		struct job_info ji;
		CHECK_EQ_I(w[k].errors, 0);
		CHECK_EQ_I(store_job_get(st, w[k].id, &ji), 0);
		CHECK_EQ_I(ji.tasks_done, THREAD_TASKS);
		CHECK_EQ_I(ji.result_version, THREAD_TASKS);
		CHECK_EQ_I(ji.events_done, THREAD_TASKS * (THREAD_TASKS + 1) / 2);
		void *data = NULL;
		size_t len = 0;
		char want[32];
		snprintf(want, sizeof(want), "job %lld task %d", (long long)w[k].id, THREAD_TASKS - 1);
		CHECK_EQ_I(store_job_result(st, w[k].id, &data, &len, NULL), 0);
		CHECK(data && len == strlen(want) && memcmp(data, want, len) == 0);
		free(data);
		char *text = NULL;
		CHECK_EQ_I(store_job_log(st, w[k].id, &text, &len, NULL), 0);
		size_t lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		CHECK_EQ_I(lines, THREAD_TASKS);
		free(text);
	}
	store_close(st);
}

/* ---- a cancel and pauses racing the last merge ---- */

#define RACE_ROUNDS 200
#define RACE_TASKS 4

struct race {
	struct store *st;
	int64_t id;
	pthread_barrier_t *go;
	int cancel_after;      /* merges the canceller waits for */
	atomic_bool stop;      /* the observer's cue */
	int merged;            /* commits that returned 0 */
	bool done_by_commit;   /* the job_done commit returned 0 */
	bool cancelled;        /* the cancel returned 0 */
	int errors[4];         /* per thread: results that break the contract */
};

/* The result after k merges: k bytes of k. */
static void race_result(unsigned char *buf, int k)
{
	memset(buf, k, (size_t)k);
}

/* Merge tasks in order, the last with job_done; each delivered twice.
 * Once a merge is refused (the job is over) every later one must be. */
static void *race_committer(void *arg)
{
	struct race *r = arg;
	unsigned char buf[RACE_TASKS];
	bool refused = false;
	pthread_barrier_wait(r->go);
	for (int i = 0; i < RACE_TASKS; i++) {
		race_result(buf, i + 1);
		int rc = store_task_commit(r->st, r->id, i, buf, (size_t)i + 1, 1, i == RACE_TASKS - 1);
		if (rc == 0 && !refused) {
			r->merged++;
			r->done_by_commit = i == RACE_TASKS - 1;
		} else if (rc == -EBUSY) {
			refused = true;
		} else {
			r->errors[0]++;
		}
		rc = store_task_commit(r->st, r->id, i, "dup", 3, 1, true);
		if (rc == 0 || (rc != 1 && rc != -EBUSY) || (refused && rc != -EBUSY))
			r->errors[0]++;
		sched_yield(); /* merges arrive apart, as workers send them */
	}
	return NULL;
}

static void *race_canceller(void *arg)
{
	struct race *r = arg;
	struct job_info ji;
	pthread_barrier_wait(r->go);
	/* Right after the cancel_after-th merge, racing the next one (the last
	 * with cancel_after RACE_TASKS - 1). */
	while (store_job_get(r->st, r->id, &ji) == 0 && ji.tasks_done < r->cancel_after &&
	       !job_status_terminal(ji.status))
		;
	int rc = store_job_transition(r->st, r->id, JOB_MASK_ACTIVE, JOB_CANCELLED, "cancelled");
	if (rc == 0)
		r->cancelled = true;
	else if (rc != -EBUSY)
		r->errors[1]++;
	return NULL;
}

/* Pause and resume, as a user writing to ctl does, until the job is over:
 * then both are refused. */
static void *race_pauser(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(r->go);
	for (int i = 0; i < 100000; i++) {
		int a = store_job_transition(r->st, r->id, JOB_MASK(JOB_RUNNING), JOB_PAUSED, NULL);
		int b = store_job_transition(r->st, r->id, JOB_MASK(JOB_PAUSED), JOB_RUNNING, NULL);
		struct job_info ji;
		if ((a != 0 && a != -EBUSY) || (b != 0 && b != -EBUSY) ||
		    store_job_get(r->st, r->id, &ji) != 0)
			r->errors[2]++;
		else if (job_status_terminal(ji.status))
			return NULL;
	}
	r->errors[2]++; /* the job never ended */
	return NULL;
}

/* Once the job is seen over, it never changes again. */
static void *race_observer(void *arg)
{
	struct race *r = arg;
	struct job_info first = { 0 }, ji;
	bool over = false;
	pthread_barrier_wait(r->go);
	do {
		if (store_job_get(r->st, r->id, &ji) != 0) {
			r->errors[3]++;
			continue;
		}
		if (over && (ji.status != first.status || ji.result_version != first.result_version ||
			     ji.tasks_done != first.tasks_done || ji.finished != first.finished ||
			     ji.result_changed != first.result_changed))
			r->errors[3]++;
		if (!over && job_status_terminal(ji.status)) {
			over = true;
			first = ji;
		}
	} while (!atomic_load(&r->stop));
	return NULL;
}

/* The job after the round: what the threads saw agrees with what it
 * holds.  Returns its status. */
static enum job_status race_check(struct race *r, int round)
{
	struct job_info ji;
	struct store_task *t = NULL;
	size_t n = 0, len = 0;
	void *data = NULL;
	unsigned char want[RACE_TASKS];
	for (int k = 0; k < 4; k++)
		if (r->errors[k])
			fprintf(stderr, "race round %d: thread %d: %d errors\n", round, k, r->errors[k]);
	CHECK(!r->errors[0] && !r->errors[1] && !r->errors[2] && !r->errors[3]);
	CHECK(r->cancelled != r->done_by_commit); /* exactly one ended it */
	CHECK_EQ_I(store_job_get(r->st, r->id, &ji), 0);
	CHECK_EQ_I(ji.status, r->cancelled ? JOB_CANCELLED : JOB_DONE);
	CHECK(ji.finished > 0);
	CHECK_EQ_I(ji.tasks_done, r->merged);
	CHECK_EQ_I(ji.result_version, r->merged);
	if (ji.status == JOB_DONE)
		CHECK_EQ_I(r->merged, RACE_TASKS);
	CHECK_EQ_I(store_job_tasks(r->st, r->id, &t, &n), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_I(t[i].done, (int)i < r->merged);
	free(t);
	CHECK_EQ_I(store_job_result(r->st, r->id, &data, &len, NULL), 0);
	race_result(want, r->merged);
	CHECK(len == (size_t)r->merged && (r->merged == 0 || memcmp(data, want, len) == 0));
	free(data);
	return ji.status;
}

static void test_race(const char *path)
{
	struct store *st = open_or_die(path);
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int outcome[RACE_TASKS + 2] = { 0 }; /* cancelled after k merges; [RACE_TASKS + 1]: done */
	pthread_barrier_t go;
	printf("race test seed %u\n", seed);
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct race r = { .st = st, .go = &go };
		pthread_t th[4];
		void *(*fn[4])(void *) = { race_committer, race_canceller, race_pauser, race_observer };
		r.id = small_job(st, "race", RACE_TASKS, JOB_RUNNING);
		r.cancel_after = (int)(rand_r(&seed) % RACE_TASKS);
		atomic_init(&r.stop, false);
		CHECK_EQ_I(pthread_barrier_init(&go, NULL, 4), 0);
		for (int k = 0; k < 4; k++)
			CHECK_EQ_I(pthread_create(&th[k], NULL, fn[k], &r), 0);
		for (int k = 0; k < 3; k++)
			pthread_join(th[k], NULL);
		atomic_store(&r.stop, true);
		pthread_join(th[3], NULL);
		pthread_barrier_destroy(&go);
		enum job_status s = race_check(&r, round);
		outcome[s == JOB_DONE ? RACE_TASKS + 1 : r.merged]++;
	}
	printf("race: cancelled after 0..%d merges:", RACE_TASKS);
	for (int k = 0; k <= RACE_TASKS; k++)
		printf(" %d", outcome[k]);
	printf("; done: %d\n", outcome[RACE_TASKS + 1]);
	store_close(st);
}

/* ---- a writer killed at random moments ---- */

#define CRASH_TASKS 4000
#define CRASH_RESULT 16384
#define CRASH_ROUNDS 8

/* The merged result after k tasks: k in the first bytes, then a byte
 * pattern of k, so a torn or stale blob shows. */
static void crash_result(unsigned char *buf, int64_t k)
{
	memset(buf, (int)(k * 7 + 1) & 0xff, CRASH_RESULT);
	memcpy(buf, &k, sizeof(k));
}

/* The done tasks form a prefix 0..k-1; -1 when they do not. */
static int64_t done_prefix(const struct store_task *t, size_t n)
{
	size_t k = 0;
	while (k < n && t[k].done)
		k++;
	for (size_t i = k; i < n; i++)
		if (t[i].done)
			return -1;
	return (int64_t)k;
}

/* The child: resume the job where the last one stopped, as a restarted
 * daemon does, and merge until killed. */
static void crash_child(const char *path, int64_t id)
{
	struct store *st = NULL;
	char msg[256];
	struct store_task *t = NULL;
	size_t n = 0;
	static unsigned char buf[CRASH_RESULT];
	if (store_open(path, &st, msg, sizeof(msg)) != 0 || store_job_tasks(st, id, &t, &n) != 0)
		_exit(2);
	int64_t k = done_prefix(t, n);
	free(t);
	if (k < 0)
		_exit(3);
	/* The last merge before the kill, delivered again, is dropped. */
	if (k > 0 && store_task_commit(st, id, (int)k - 1, "late", 4, 1, false) != 1)
		_exit(4);
	for (; k < CRASH_TASKS; k++) {
		crash_result(buf, k + 1);
		if (store_task_commit(st, id, (int)k, buf, sizeof(buf), k + 1, false) != 0)
			_exit(5);
	}
	store_close(st);
	_exit(0);
}

/* The job after a kill: counts, version and result agree with the tasks
 * marked done.  Returns how many are done. */
static int64_t crash_check(const char *path, int64_t id)
{
	struct store *st = open_or_die(path);
	struct store_task *t = NULL;
	size_t n = 0;
	struct job_info ji;
	void *data = NULL;
	size_t len = 0;
	int64_t version = -1, k = -1;
	static unsigned char want[CRASH_RESULT];

	CHECK_EQ_I(store_job_tasks(st, id, &t, &n), 0);
	CHECK_EQ_I(n, CRASH_TASKS);
	k = done_prefix(t, n);
	CHECK(k >= 0);
	free(t);
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(ji.tasks_done, k);
	CHECK_EQ_I(ji.result_version, k);
	CHECK_EQ_I(ji.events_done, k * (k + 1) / 2);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	CHECK_EQ_I(version, k);
	if (k == 0) {
		CHECK(data == NULL && len == 0);
	} else {
		crash_result(want, k);
		CHECK(data && len == CRASH_RESULT && memcmp(data, want, len) == 0);
	}
	free(data);
	store_close(st);
	return k;
}

static void test_crash(const char *path)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int64_t id = 0, k = 0;
	printf("crash test seed %u\n", seed);

	struct store *st = open_or_die(path);
	struct store_task *plan = calloc(CRASH_TASKS, sizeof(*plan));
	struct store_file file = { "/d/crash.root", "Events", CRASH_TASKS, 0, 0, 0 };
	for (int i = 0; i < CRASH_TASKS; i++)
		plan[i] = (struct store_task){ 0, i, i + 1, false };
	CHECK_EQ_I(store_job_create(st, "crash", 0, 0, "q", 1, "", JOB_RUNNING, NULL, &id), 0);
	CHECK_EQ_I(store_job_plan(st, id, &file, 1, plan, CRASH_TASKS, CRASH_TASKS), 0);
	free(plan);
	store_close(st);

	for (int round = 0; round < CRASH_ROUNDS && k < CRASH_TASKS; round++) {
		fflush(NULL);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid < 0)
			return;
		if (pid == 0)
			crash_child(path, id);
		/* 5-60 ms, and longer each round on a slow machine: from before
		 * the first merge to deep in the loop. */
		struct timespec ts = { 0, (5 + 10 * round + rand_r(&seed) % 56) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status = 0;
		CHECK_EQ_I(waitpid(pid, &status, 0), pid);
		bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		CHECK(killed || finished);
		if (!killed && !finished)
			fprintf(stderr, "crash child: status 0x%x\n", status);
		int64_t k2 = crash_check(path, id);
		CHECK(k2 >= k);
		printf("round %d: killed after %lld merges in all\n", round, (long long)k2);
		k = k2;
	}
	CHECK(k > 0); /* some child got to merge before being killed */
}

int main(void)
{
	char path[128];
	make_dir("store_race");
	db_path(path, sizeof(path), "threads.db");
	test_threads(path);
	db_path(path, sizeof(path), "race.db");
	test_race(path);
	db_path(path, sizeof(path), "crash.db");
	test_crash(path);
	remove_dir();
	if (failures)
		fprintf(stderr, "test_store_race: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
