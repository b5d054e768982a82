/* test_store.c — the job store: jobs, planned files with their identity
 * and tasks, merges, guarded status transitions, the last merge ending a
 * job, logs, persistence across reopening, schema versions and the
 * migration from version 1, in-memory databases, threads, and a writer
 * killed with SIGKILL at random moments leaving every merge whole.
 *
 * Usage: test_store.  Works in a fresh directory under /tmp, removed at
 * the end. */
#include "store.h"

#include "ana_err.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char dir[64];

static void db_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static struct store *open_or_die(const char *path)
{
	struct store *st = NULL;
	char msg[256];
	int rc = store_open(path, &st, msg, sizeof(msg));
	if (rc != 0) {
		fprintf(stderr, "store_open(%s): %d %s\n", path, rc, msg);
		exit(1);
	}
	return st;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one SQL statement on path with sqlite itself; the first column of
 * its first row into out (cap bytes) when out is not NULL. */
static int raw_sql(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && out)
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

/* Run SQL text (several statements) on path with sqlite itself. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

static const char query1[] = "dataset \"data/*.root\"\0with a NUL\nhist x = px\n";

static void test_jobs(struct store *st, int64_t *ids)
{
	int64_t id = 0;
	/* sizeof - 1: the text holds a NUL inside and none at its end. */
	CHECK_EQ_I(store_job_create(st, "zmumu", 1000, 100, query1, sizeof(query1) - 1, "/home/u",
				    JOB_QUEUED, NULL, &id), 0);
	CHECK(id > 0);
	ids[0] = id;

	double t0 = now();
	struct job_info ji;
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(ji.id, id);
	CHECK_STR(ji.name, "zmumu");
	CHECK_EQ_I(ji.uid, 1000);
	CHECK_EQ_I(ji.gid, 100);
	CHECK_EQ_I(ji.status, JOB_QUEUED);
	CHECK(!ji.planned);
	CHECK(ji.created > t0 - 5 && ji.created <= t0);
	CHECK_EQ_D(ji.status_changed, ji.created);
	CHECK_EQ_D(ji.started, 0);
	CHECK_EQ_D(ji.finished, 0);
	CHECK_EQ_D(ji.result_changed, 0);
	CHECK_EQ_I(ji.events_total, 0);
	CHECK_EQ_I(ji.tasks_total, 0);
	CHECK_EQ_I(ji.result_version, 0);

	char *q = NULL, *b = NULL, *e = NULL;
	size_t len = 0;
	CHECK_EQ_I(store_job_text(st, id, &q, &len, &b, &e), 0);
	CHECK_EQ_I(len, sizeof(query1) - 1);
	CHECK(q && memcmp(q, query1, sizeof(query1) - 1) == 0 && q[len] == '\0');
	CHECK_STR(b, "/home/u");
	CHECK_STR(e, "");
	free(q);
	free(b);
	free(e);
	/* Only what is asked for. */
	b = NULL;
	CHECK_EQ_I(store_job_text(st, id, NULL, NULL, &b, NULL), 0);
	CHECK_STR(b, "/home/u");
	free(b);

	/* An invalid job keeps its error; a long name is cut to 255 bytes,
	 * before a UTF-8 sequence rather than inside it. */
	char name[400];
	memset(name, 'n', sizeof(name));
	memcpy(name + 254, "\xc3\xa9", 2); /* é across bytes 254-255 */
	name[sizeof(name) - 1] = '\0';
	CHECK_EQ_I(store_job_create(st, name, 0, 0, "bad", 3, NULL, JOB_INVALID,
				    "bad.query:1:1: unknown word", &ids[1]), 0);
	CHECK_EQ_I(store_job_get(st, ids[1], &ji), 0);
	CHECK_EQ_I(strlen(ji.name), 254);
	CHECK_EQ_I(ji.status, JOB_INVALID);
	CHECK(ji.finished > 0);
	CHECK(ji.planned); /* nothing to plan */
	e = b = NULL;
	CHECK_EQ_I(store_job_text(st, ids[1], NULL, NULL, &b, &e), 0);
	CHECK_STR(e, "bad.query:1:1: unknown word");
	CHECK_STR(b, "");
	free(e);
	free(b);

	/* Bounds: a query over 1 MiB, an error over 8 KB, bad arguments. */
	size_t big = (1u << 20) + 1;
	char *text = malloc(big + 1);
	memset(text, 'x', big);
	text[big] = '\0';
	int64_t none = -1;
	CHECK_EQ_I(store_job_create(st, "big", 0, 0, text, big, "", JOB_QUEUED, NULL, &none), -EFBIG);
	CHECK_EQ_I(none, -1);
	CHECK_EQ_I(store_job_create(st, "max", 0, 0, text, big - 1, "", JOB_QUEUED, text, &ids[2]), 0);
	free(text);
	q = e = NULL;
	CHECK_EQ_I(store_job_text(st, ids[2], &q, &len, NULL, &e), 0);
	CHECK_EQ_I(len, big - 1);
	CHECK_EQ_I(e ? strlen(e) : 0, 8192);
	free(q);
	free(e);
	CHECK_EQ_I(store_job_create(st, "x", 0, 0, "", 0, "", (enum job_status)99, NULL, &none),
		   -EINVAL);
	/* An empty query; uid and gid keep all 32 bits. */
	CHECK_EQ_I(store_job_create(st, "empty", 4294967295u, 4294967294u, NULL, 0, NULL, JOB_QUEUED,
				    NULL, &ids[3]), 0);
	q = NULL;
	CHECK_EQ_I(store_job_text(st, ids[3], &q, &len, NULL, NULL), 0);
	CHECK(q && len == 0 && q[0] == '\0');
	free(q);
	CHECK_EQ_I(store_job_get(st, ids[3], &ji), 0);
	CHECK_EQ_I(ji.uid, 4294967295u);
	CHECK_EQ_I(ji.gid, 4294967294u);

	CHECK_EQ_I(store_job_get(st, 987654, &ji), -ENOENT);
	CHECK_EQ_I(store_job_text(st, 987654, &q, &len, NULL, NULL), -ENOENT);

	int64_t *all = NULL;
	size_t n = 0;
	CHECK_EQ_I(store_jobs(st, &all, &n), 0);
	CHECK_EQ_I(n, 4);
	for (size_t i = 0; i < n && i < 4; i++)
		CHECK_EQ_I(all[i], ids[i]);
	CHECK(n == 4 && all[0] < all[1] && all[1] < all[2] && all[2] < all[3]);
	free(all);
}

/* The files of test_tasks' job: identities with the top bit set, an
 * mtime before 1970, and a file whose identity was not recorded. */
static const struct store_file plan_files[3] = {
	{ "/d/a.root", "Events", 2000, 123456789, 1700000000123456789, 0x8000000000000001u },
	{ "root://h//b.root", "tree/sub", 500, 0xfffffffffffffff0u, -1, 0xffffffffffffffffu },
	{ "/d/c.root", NULL, 20, 0, 0, 0 },
};
static const struct store_task plan_tasks[5] = {
	{ 0, 0, 1000, false }, { 0, 1000, 2000, false }, { 1, 0, 500, false },
	{ 2, 0, 10, false },   { 2, 10, 20, false },
};

static void check_files(struct store *st, int64_t id, const struct store_file *want, size_t nwant)
{
	struct store_file *f = NULL;
	size_t n = 99;
	CHECK_EQ_I(store_job_files(st, id, &f, &n), 0);
	CHECK_EQ_I(n, nwant);
	for (size_t i = 0; i < n && i < nwant; i++) {
		CHECK_STR(f[i].url, want[i].url);
		CHECK_STR(f[i].tree, want[i].tree ? want[i].tree : "");
		CHECK_EQ_I(f[i].entries, want[i].entries);
		CHECK(f[i].size == want[i].size);
		CHECK_EQ_I(f[i].mtime_ns, want[i].mtime_ns);
		CHECK(f[i].fingerprint == want[i].fingerprint);
	}
	store_files_free(f, n);
}

static void check_tasks(struct store *st, int64_t id, const struct store_task *want, size_t nwant)
{
	struct store_task *t = NULL;
	size_t n = 99;
	CHECK_EQ_I(store_job_tasks(st, id, &t, &n), 0);
	CHECK_EQ_I(n, nwant);
	for (size_t i = 0; i < n && i < nwant; i++) {
		CHECK_EQ_I(t[i].file, want[i].file);
		CHECK_EQ_I(t[i].first, want[i].first);
		CHECK_EQ_I(t[i].last, want[i].last);
		CHECK_EQ_I(t[i].done, want[i].done);
	}
	free(t);
}

static void test_plan(struct store *st, int64_t id)
{
	struct store_task *t = NULL;
	size_t n = 99;
	CHECK_EQ_I(store_job_tasks(st, id, &t, &n), 0);
	CHECK_EQ_I(n, 0);
	free(t);
	check_files(st, id, NULL, 0);

	/* Refused before anything is written: a task past the files, a file
	 * without a url, negative events. */
	struct store_task bad_task[1] = { { 3, 0, 1, false } };
	struct store_file bad_file[1] = { { NULL, "", 0, 0, 0, 0 } };
	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, bad_task, 1, 1), -EINVAL);
	bad_task[0].file = -1;
	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, bad_task, 1, 1), -EINVAL);
	bad_task[0] = (struct store_task){ 0, 5, 4, false };
	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, bad_task, 1, 1), -EINVAL);
	CHECK_EQ_I(store_job_plan(st, id, bad_file, 1, NULL, 0, 0), -EINVAL);
	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, plan_tasks, 5, -1), -EINVAL);
	struct job_info ji;
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK(!ji.planned);

	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, plan_tasks, 5, 2530), 0);
	CHECK_EQ_I(store_job_plan(st, id, plan_files, 3, plan_tasks, 5, 2530), -EEXIST);
	CHECK_EQ_I(store_job_plan(st, 987654, plan_files, 3, plan_tasks, 5, 2530), -ENOENT);
	CHECK_EQ_I(store_job_tasks(st, 987654, &t, &n), -ENOENT);
	struct store_file *f = NULL;
	CHECK_EQ_I(store_job_files(st, 987654, &f, &n), -ENOENT);
	check_files(st, id, plan_files, 3);
	check_tasks(st, id, plan_tasks, 5);

	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK(ji.planned);
	CHECK_EQ_I(ji.tasks_total, 5);
	CHECK_EQ_I(ji.events_total, 2530);
}

static void test_tasks(struct store *st, int64_t id)
{
	void *data = (void *)1;
	size_t len = 99;
	int64_t version = -1;
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	CHECK(data == NULL && len == 0 && version == 0);

	test_plan(st, id);

	/* Merges: the result replaced, counts grown, version up by one. */
	struct job_info ji;
	double t0 = now();
	CHECK_EQ_I(store_task_commit(st, id, 0, "r0\0x", 4, 1000, false), 0);
	CHECK_EQ_I(store_task_commit(st, id, 2, "r02", 3, 500, false), 0);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	CHECK(data && len == 3 && memcmp(data, "r02", 3) == 0);
	CHECK_EQ_I(version, 2);
	free(data);
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(ji.tasks_done, 2);
	CHECK_EQ_I(ji.events_done, 1500);
	CHECK_EQ_I(ji.result_version, 2);
	CHECK_EQ_I(ji.status, JOB_QUEUED);
	CHECK(ji.result_changed >= t0 - 1 && ji.result_changed <= now());

	/* A duplicate changes nothing; an unknown task is refused. */
	CHECK_EQ_I(store_task_commit(st, id, 0, "dup", 3, 1000, false), 1);
	CHECK_EQ_I(store_task_commit(st, id, 0, "dup", 3, 1000, true), 1);
	CHECK_EQ_I(store_task_commit(st, id, 5, "new", 3, 1, false), -ENOENT);
	CHECK_EQ_I(store_task_commit(st, 987654, 0, "new", 3, 1, false), -ENOENT);
	CHECK_EQ_I(store_task_commit(st, id, -1, "new", 3, 1, false), -EINVAL);
	CHECK_EQ_I(store_task_commit(st, id, 1, NULL, 3, 1, false), -EINVAL);
	CHECK_EQ_I(store_task_commit(st, id, 1, "new", 3, -1, false), -EINVAL);
	struct job_info j2;
	CHECK_EQ_I(store_job_get(st, id, &j2), 0);
	CHECK_EQ_I(j2.tasks_done, 2);
	CHECK_EQ_I(j2.events_done, 1500);
	CHECK_EQ_I(j2.result_version, 2);
	CHECK_EQ_I(j2.status, JOB_QUEUED); /* the duplicate with job_done did not end it */
	CHECK_EQ_D(j2.result_changed, ji.result_changed);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	CHECK(data && len == 3 && memcmp(data, "r02", 3) == 0 && version == 2);
	free(data);

	struct store_task want[5];
	memcpy(want, plan_tasks, sizeof(want));
	want[0].done = want[2].done = true;
	check_tasks(st, id, want, 5);

	/* An empty result is an empty blob, not "no result". */
	CHECK_EQ_I(store_task_commit(st, id, 1, NULL, 0, 0, false), 0);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	CHECK(data != NULL && len == 0 && version == 3);
	free(data);
	CHECK_EQ_I(store_task_commit(st, id, 3, "r0123", 5, 10, false), 0);
	CHECK_EQ_I(store_task_commit(st, id, 4, "r01234", 6, 10, false), 0);
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(ji.tasks_done, 5);
	CHECK_EQ_I(ji.events_done, 1520);
	CHECK_EQ_I(ji.result_version, 5);
	CHECK_EQ_I(ji.status, JOB_QUEUED); /* no job_done: the coordinator decides */
}

/* store_job_transition(st, id, from, to, error) and the job after it. */
static void transition_ok(struct store *st, int64_t id, unsigned from, enum job_status to,
			  const char *error, struct job_info *after)
{
	CHECK_EQ_I(store_job_transition(st, id, from, to, error), 0);
	CHECK_EQ_I(store_job_get(st, id, after), 0);
	CHECK_EQ_I(after->status, to);
}

static void check_error(struct store *st, int64_t id, const char *want)
{
	char *e = NULL;
	CHECK_EQ_I(store_job_text(st, id, NULL, NULL, NULL, &e), 0);
	CHECK_STR(e, want);
	free(e);
}

static void test_status(struct store *st, int64_t id)
{
	struct job_info a, b;
	CHECK_EQ_I(store_job_get(st, id, &a), 0);
	transition_ok(st, id, JOB_MASK(JOB_QUEUED), JOB_RUNNING, NULL, &b);
	CHECK(b.started > 0 && b.started == b.status_changed && b.status_changed >= a.status_changed);
	CHECK_EQ_D(b.finished, 0);
	double started = b.started;

	/* From a status not in the mask: refused, nothing changed. */
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK(JOB_QUEUED) | JOB_MASK(JOB_PAUSED),
					JOB_RUNNING, "no"), -EBUSY);
	CHECK_EQ_I(store_job_transition(st, id, 0, JOB_RUNNING, NULL), -EBUSY);
	CHECK_EQ_I(store_job_get(st, id, &a), 0);
	CHECK_EQ_I(a.status, JOB_RUNNING);
	CHECK_EQ_D(a.status_changed, b.status_changed);
	check_error(st, id, "");

	transition_ok(st, id, JOB_MASK(JOB_RUNNING), JOB_PAUSED, NULL, &b);
	transition_ok(st, id, JOB_MASK(JOB_PAUSED), JOB_RUNNING, NULL, &b);
	CHECK_EQ_D(b.started, started); /* the first time only */
	CHECK(b.status_changed >= started);

	transition_ok(st, id, JOB_MASK_ACTIVE, JOB_FAILED, "worker lost", &b);
	CHECK(b.finished > 0 && b.finished == b.status_changed);
	check_error(st, id, "worker lost");

	/* Over: a pause or cancel (from the active statuses) racing the end
	 * never reopens or relabels the job. */
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, JOB_PAUSED, NULL), -EBUSY);
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, JOB_CANCELLED, "cancelled"), -EBUSY);
	CHECK_EQ_I(store_job_get(st, id, &a), 0);
	CHECK_EQ_I(a.status, JOB_FAILED);
	CHECK_EQ_D(a.finished, b.finished);
	CHECK_EQ_D(a.status_changed, b.status_changed);
	check_error(st, id, "worker lost");

	/* Resumed on purpose (failed named in the mask): no longer finished;
	 * done again: finished anew, error kept when none is given. */
	transition_ok(st, id, JOB_MASK(JOB_FAILED), JOB_RUNNING, NULL, &b);
	CHECK_EQ_D(b.finished, 0);
	CHECK_EQ_D(b.started, started);
	transition_ok(st, id, JOB_MASK_ACTIVE, JOB_DONE, NULL, &b);
	CHECK(b.finished > 0);
	check_error(st, id, "worker lost");
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK(JOB_DONE), JOB_DONE, ""), 0);
	check_error(st, id, "");
	for (enum job_status s = JOB_QUEUED; s <= JOB_INVALID; s++)
		CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, s, NULL), -EBUSY);
	CHECK_EQ_I(store_job_get(st, id, &a), 0);
	CHECK_EQ_I(a.status, JOB_DONE);

	CHECK_EQ_I(store_job_transition(st, 987654, JOB_MASK_ACTIVE, JOB_DONE, NULL), -ENOENT);
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, (enum job_status)-1, NULL), -EINVAL);

	CHECK_STR(job_status_name(JOB_QUEUED), "queued");
	CHECK_STR(job_status_name(JOB_RUNNING), "running");
	CHECK_STR(job_status_name(JOB_PAUSED), "paused");
	CHECK_STR(job_status_name(JOB_DONE), "done");
	CHECK_STR(job_status_name(JOB_FAILED), "failed");
	CHECK_STR(job_status_name(JOB_CANCELLED), "cancelled");
	CHECK_STR(job_status_name(JOB_INVALID), "invalid");
	CHECK(!job_status_terminal(JOB_QUEUED) && !job_status_terminal(JOB_RUNNING) &&
	      !job_status_terminal(JOB_PAUSED));
	CHECK(job_status_terminal(JOB_DONE) && job_status_terminal(JOB_FAILED) &&
	      job_status_terminal(JOB_CANCELLED) && job_status_terminal(JOB_INVALID));
}

/* A job of ntasks one-event tasks on one file, in status status. */
static int64_t small_job(struct store *st, const char *name, int ntasks, enum job_status status)
{
	struct store_file f = { "/d/s.root", "Events", ntasks, 1, 2, 3 };
	struct store_task *t = calloc((size_t)ntasks, sizeof(*t));
	int64_t id = 0;
	for (int i = 0; i < ntasks; i++)
		t[i] = (struct store_task){ 0, i, i + 1, false };
	CHECK_EQ_I(store_job_create(st, name, 0, 0, "q", 1, "", status, NULL, &id), 0);
	CHECK_EQ_I(store_job_plan(st, id, &f, 1, t, (size_t)ntasks, ntasks), 0);
	free(t);
	return id;
}

/* The last merge with job_done ends the job in the same transaction;
 * once a job is over no merge changes it. */
static void test_job_done(struct store *st)
{
	int64_t id = small_job(st, "last", 2, JOB_RUNNING);
	struct job_info a, b;
	CHECK_EQ_I(store_task_commit(st, id, 0, "a", 1, 1, false), 0);
	double t0 = now();
	CHECK_EQ_I(store_task_commit(st, id, 1, "ab", 2, 1, true), 0);
	CHECK_EQ_I(store_job_get(st, id, &a), 0);
	CHECK_EQ_I(a.status, JOB_DONE);
	CHECK(a.finished >= t0 && a.finished <= now());
	CHECK_EQ_D(a.status_changed, a.finished);
	CHECK_EQ_I(a.tasks_done, 2);
	CHECK_EQ_I(a.result_version, 2);
	/* A duplicate of the last task and a pause are both refused now. */
	CHECK_EQ_I(store_task_commit(st, id, 1, "dup", 3, 1, true), -EBUSY);
	CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, JOB_PAUSED, NULL), -EBUSY);

	/* Cancelled with a task left: the merge that arrives late is refused
	 * and the result stays as it was. */
	for (enum job_status end = JOB_DONE; end <= JOB_INVALID; end++) {
		id = small_job(st, "over", 3, JOB_PAUSED);
		CHECK_EQ_I(store_task_commit(st, id, 0, "r0", 2, 1, false), 0);
		CHECK_EQ_I(store_job_transition(st, id, JOB_MASK_ACTIVE, end, "over"), 0);
		CHECK_EQ_I(store_job_get(st, id, &a), 0);
		CHECK_EQ_I(store_task_commit(st, id, 1, "r01", 3, 1, false), -EBUSY);
		CHECK_EQ_I(store_task_commit(st, id, 2, "r012", 4, 1, true), -EBUSY);
		CHECK_EQ_I(store_task_commit(st, id, 0, "r0", 2, 1, false), -EBUSY);
		CHECK_EQ_I(store_job_get(st, id, &b), 0);
		CHECK_EQ_I(b.status, end);
		CHECK_EQ_I(b.tasks_done, 1);
		CHECK_EQ_I(b.events_done, 1);
		CHECK_EQ_I(b.result_version, 1);
		CHECK_EQ_D(b.result_changed, a.result_changed);
		CHECK_EQ_D(b.finished, a.finished);
		void *data = NULL;
		size_t len = 0;
		CHECK_EQ_I(store_job_result(st, id, &data, &len, NULL), 0);
		CHECK(data && len == 2 && memcmp(data, "r0", 2) == 0);
		free(data);
		struct store_task *t = NULL;
		size_t n = 0;
		CHECK_EQ_I(store_job_tasks(st, id, &t, &n), 0);
		CHECK(n == 3 && t[0].done && !t[1].done && !t[2].done);
		free(t);
	}
}

/* Every line "YYYY-MM-DDTHH:MM:SSZ text" with a time near now; the texts
 * in order against want[]. */
static void check_log_lines(const char *text, const char *const *want, size_t nwant)
{
	double t = now();
	size_t i = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		CHECK(nl != NULL);
		if (!nl)
			break;
		struct tm tm = { 0 };
		const char *rest = strptime(p, "%Y-%m-%dT%H:%M:%SZ ", &tm);
		CHECK(rest == p + 21);
		CHECK(p[4] == '-' && p[10] == 'T' && p[19] == 'Z' && p[20] == ' ');
		if (rest) {
			double when = (double)timegm(&tm);
			CHECK(when > t - 60 && when <= t);
		}
		CHECK(i < nwant);
		if (i < nwant && rest)
			CHECK(strlen(want[i]) == (size_t)(nl - rest) &&
			      memcmp(rest, want[i], nl - rest) == 0);
		i++;
		p = nl + 1;
	}
	CHECK_EQ_I(i, nwant);
}

static void test_logs(struct store *st, int64_t id, int64_t quiet)
{
	char *text = NULL;
	size_t len = 99;
	double last = -1;
	CHECK_EQ_I(store_job_log(st, quiet, &text, &len, &last), 0);
	CHECK(text && len == 0 && text[0] == '\0' && last == 0);
	free(text);

	CHECK_EQ_I(store_log(st, id, "submitted by uid %d", 1000), 0);
	CHECK_EQ_I(store_log(st, id, "two\nlines"), 0);
	char big[10000];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_I(store_log(st, id, "%s", big), 0);
	CHECK_EQ_I(store_log(st, id, "%s", "done"), 0);
	CHECK_EQ_I(store_log(st, 987654, "nobody"), -ENOENT);
	CHECK_EQ_I(store_job_log(st, 987654, &text, &len, &last), -ENOENT);

	big[4095] = '\0'; /* a line is capped at 4 KB */
	const char *want[] = { "submitted by uid 1000", "two lines", big, "done" };
	double t0 = now();
	CHECK_EQ_I(store_job_log(st, id, &text, &len, &last), 0);
	CHECK(text && strlen(text) == len);
	CHECK_EQ_I(len, 4 * 21 + strlen(want[0]) + strlen(want[1]) + 4095 + 4 + 4);
	check_log_lines(text, want, 4);
	CHECK(last > t0 - 60 && last <= t0);
	free(text);
}

/* Everything the first round wrote, as read back after reopening. */
static void test_reopen(const char *path, const int64_t *ids)
{
	struct store *st = open_or_die(path);
	struct job_info ji;
	CHECK_EQ_I(store_job_get(st, ids[0], &ji), 0);
	CHECK_STR(ji.name, "zmumu");
	CHECK_EQ_I(ji.status, JOB_DONE);
	CHECK_EQ_I(ji.tasks_total, 5);
	CHECK_EQ_I(ji.tasks_done, 5);
	CHECK_EQ_I(ji.events_done, 1520);
	CHECK_EQ_I(ji.result_version, 5);
	CHECK(ji.started > 0 && ji.finished >= ji.started && ji.result_changed > 0);
	char *q = NULL;
	size_t len = 0;
	CHECK_EQ_I(store_job_text(st, ids[0], &q, &len, NULL, NULL), 0);
	CHECK(len == sizeof(query1) - 1 && memcmp(q, query1, len) == 0);
	free(q);
	void *data = NULL;
	int64_t version = 0;
	CHECK_EQ_I(store_job_result(st, ids[0], &data, &len, &version), 0);
	CHECK(data && len == 6 && memcmp(data, "r01234", 6) == 0 && version == 5);
	free(data);
	struct store_task *t = NULL;
	size_t n = 0;
	CHECK_EQ_I(store_job_tasks(st, ids[0], &t, &n), 0);
	CHECK(n == 5 && t[4].done && t[2].file == 1);
	free(t);
	check_files(st, ids[0], plan_files, 3);
	char *text = NULL;
	double last = 0;
	CHECK_EQ_I(store_job_log(st, ids[0], &text, &len, &last), 0);
	CHECK(text && strstr(text, "Z submitted by uid 1000\n") && strstr(text, "Z done\n"));
	free(text);
	int64_t *all = NULL;
	CHECK_EQ_I(store_jobs(st, &all, &n), 0);
	CHECK_EQ_I(n, 4);
	free(all);
	/* A new job never reuses an id. */
	int64_t id = 0;
	CHECK_EQ_I(store_job_create(st, "later", 1, 1, "q", 1, "", JOB_QUEUED, NULL, &id), 0);
	CHECK(id > ids[3]);
	store_close(st);

	char v[64] = "";
	CHECK_EQ_I(raw_sql(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
			   sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "2");
	CHECK_EQ_I(raw_sql(path, "PRAGMA journal_mode", v, sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "wal");
}

static void expect_refused(const char *path, int want, const char *words)
{
	struct store *st = NULL;
	char msg[512] = "";
	int rc = store_open(path, &st, msg, sizeof(msg));
	CHECK_EQ_I(rc, want);
	CHECK(st == NULL);
	if (!strstr(msg, words)) {
		fprintf(stderr, "%s: message '%s' lacks '%s'\n", path, msg, words);
		failures++;
	}
	if (rc == 0)
		store_close(st);
}

static void test_versions(void)
{
	char path[128];
	db_path(path, sizeof(path), "newer.db");
	store_close(open_or_die(path));
	CHECK_EQ_I(raw_sql(path, "UPDATE meta SET value = '3' WHERE key = 'schema_version'", NULL,
			   0), SQLITE_OK);
	expect_refused(path, -EPROTO, "newer");
	/* Refused without being touched. */
	char v[64] = "";
	CHECK_EQ_I(raw_sql(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
			   sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "3");
	CHECK_EQ_I(raw_sql(path, "UPDATE meta SET value = 'one' WHERE key = 'schema_version'",
			   NULL, 0), SQLITE_OK);
	expect_refused(path, -EPROTO, "bad schema_version");

	db_path(path, sizeof(path), "other.db");
	CHECK_EQ_I(raw_sql(path, "CREATE TABLE photos(id INTEGER)", NULL, 0), SQLITE_OK);
	expect_refused(path, -EPROTO, "not an anafs");

	db_path(path, sizeof(path), "text.db");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		for (int i = 0; i < 200; i++)
			fputs("this is not a database at all\n", f);
		fclose(f);
	}
	char words[200];
	snprintf(words, sizeof(words), "%s is not a database or is damaged beyond use", path);
	expect_refused(path, ANA_EDAMAGED, words);

	db_path(path, sizeof(path), "no/such/dir/jobs.db");
	expect_refused(path, -ENOENT, "no/such/dir");
}

/* ---- schema version 1 ---- */

/* The schema of version 1 as it shipped (store_open.c's migration step 0),
 * with the meta table, and rows as anafs 0.1 wrote them. */
static const char v1_db[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
	"INSERT INTO meta VALUES('schema_version', '1');"
	"CREATE TABLE jobs("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, uid INTEGER NOT NULL,"
	" query BLOB NOT NULL, basedir TEXT NOT NULL, status INTEGER NOT NULL,"
	" error TEXT NOT NULL DEFAULT '', created REAL NOT NULL,"
	" started REAL NOT NULL DEFAULT 0, finished REAL NOT NULL DEFAULT 0,"
	" status_changed REAL NOT NULL, result_changed REAL NOT NULL DEFAULT 0,"
	" events_total INTEGER NOT NULL DEFAULT 0, events_done INTEGER NOT NULL DEFAULT 0,"
	" tasks_total INTEGER NOT NULL DEFAULT 0, tasks_done INTEGER NOT NULL DEFAULT 0,"
	" result BLOB, result_version INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE tasks("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,"
	" url TEXT NOT NULL, \"first\" INTEGER NOT NULL, \"last\" INTEGER NOT NULL,"
	" done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(job, idx)) WITHOUT ROWID;"
	"CREATE TABLE logs("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, text TEXT NOT NULL);"
	"CREATE INDEX logs_job ON logs(job, seq);"
	"INSERT INTO jobs(id, name, uid, query, basedir, status, created, started,"
	" status_changed, result_changed, events_total, events_done, tasks_total, tasks_done,"
	" result, result_version) VALUES"
	" (1, 'mig', 7, X'7131', '/b', 1, 1.5, 2, 2, 3, 38, 15, 4, 2, X'0102', 2),"
	" (2, 'none', 7, X'7132', '/b', 5, 1.5, 0, 4, 0, 0, 0, 0, 0, NULL, 0),"
	" (3, 'other', 8, X'7133', '/c', 0, 1.5, 0, 1.5, 0, 8, 0, 2, 0, NULL, 0);"
	"INSERT INTO tasks VALUES"
	" (1, 0, '/d/b.root', 0, 10, 1), (1, 1, '/d/a.root', 0, 5, 1),"
	" (1, 2, '/d/b.root', 10, 20, 0), (1, 3, '/d/c.root', 0, 3, 0),"
	" (3, 0, '/d/a.root', 0, 7, 0), (3, 1, '/d/z.root', 0, 1, 0);"
	"INSERT INTO logs(job, t, text) VALUES(1, 2, 'resumed');";

/* A version 1 database opened: every job planned, its files derived from
 * its tasks' urls in task order (no identity), the tasks pointing at
 * them; nothing else changed. */
static void test_migrate_v1(void)
{
	char path[128];
	db_path(path, sizeof(path), "v1.db");
	CHECK_EQ_I(raw_exec(path, v1_db), SQLITE_OK);
	struct store *st = open_or_die(path);

	struct job_info ji;
	CHECK_EQ_I(store_job_get(st, 1, &ji), 0);
	CHECK_STR(ji.name, "mig");
	CHECK(ji.planned && ji.status == JOB_RUNNING && ji.uid == 7 && ji.gid == 0);
	CHECK(ji.tasks_total == 4 && ji.tasks_done == 2 && ji.events_done == 15);
	CHECK(ji.events_total == 38 && ji.result_version == 2);
	const struct store_file f1[3] = {
		{ "/d/b.root", "", 0, 0, 0, 0 },
		{ "/d/a.root", "", 0, 0, 0, 0 },
		{ "/d/c.root", "", 0, 0, 0, 0 },
	};
	const struct store_task t1[4] = {
		{ 0, 0, 10, true }, { 1, 0, 5, true }, { 0, 10, 20, false }, { 2, 0, 3, false },
	};
	check_files(st, 1, f1, 3);
	check_tasks(st, 1, t1, 4);
	void *data = NULL;
	size_t len = 0;
	CHECK_EQ_I(store_job_result(st, 1, &data, &len, NULL), 0);
	CHECK(data && len == 2 && memcmp(data, "\1\2", 2) == 0);
	free(data);
	char *text = NULL;
	CHECK_EQ_I(store_job_log(st, 1, &text, &len, NULL), 0);
	CHECK(text && strstr(text, "Z resumed\n"));
	free(text);

	CHECK_EQ_I(store_job_get(st, 2, &ji), 0);
	CHECK(ji.planned && ji.status == JOB_CANCELLED);
	check_files(st, 2, NULL, 0);
	check_tasks(st, 2, NULL, 0);

	/* Files are numbered per job. */
	const struct store_file f3[2] = { { "/d/a.root", "", 0, 0, 0, 0 },
					  { "/d/z.root", "", 0, 0, 0, 0 } };
	const struct store_task t3[2] = { { 0, 0, 7, false }, { 1, 0, 1, false } };
	check_files(st, 3, f3, 2);
	check_tasks(st, 3, t3, 2);
	CHECK_EQ_I(store_task_commit(st, 3, 1, "m", 1, 1, false), 0);

	/* New jobs go on after the old ids, and plan as version 2 ones do. */
	int64_t id = small_job(st, "after", 2, JOB_QUEUED);
	CHECK(id > 3);
	store_close(st);
	char v[64] = "";
	CHECK_EQ_I(raw_sql(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
			   sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "2");
	/* Opening it again migrates nothing twice. */
	st = open_or_die(path);
	check_files(st, 1, f1, 3);
	store_close(st);
}

/* ":memory:": a private database per open, gone at close. */
static void test_memory(void)
{
	struct store *st = open_or_die(":memory:");
	struct store *other = open_or_die(":memory:");
	test_job_done(st);
	int64_t *ids = NULL;
	size_t n = 0;
	CHECK_EQ_I(store_jobs(st, &ids, &n), 0);
	CHECK_EQ_I(n, 1 + (JOB_INVALID - JOB_DONE + 1));
	free(ids);
	CHECK_EQ_I(store_jobs(other, &ids, &n), 0);
	CHECK_EQ_I(n, 0);
	free(ids);
	store_close(other);
	store_close(st);
	st = open_or_die(":memory:");
	CHECK_EQ_I(store_jobs(st, &ids, &n), 0);
	CHECK_EQ_I(n, 0);
	free(ids);
	store_close(st);
}

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
	int64_t ids[4] = { 0 };

	snprintf(dir, sizeof(dir), "/tmp/anafs-store-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	db_path(path, sizeof(path), "jobs.db");
	struct store *st = open_or_die(path);
	test_jobs(st, ids);
	test_tasks(st, ids[0]);
	test_status(st, ids[0]);
	test_logs(st, ids[0], ids[1]);
	store_close(st);
	test_reopen(path, ids);
	test_versions();
	test_migrate_v1();
	test_memory();
	test_threads(path);
	db_path(path, sizeof(path), "crash.db");
	test_crash(path);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (failures)
		fprintf(stderr, "test_store: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
