/* test_store.c — the job store: jobs, planned files with their identity
 * and tasks, merges, guarded status transitions, the last merge ending a
 * job, logs, persistence across reopening, in-memory databases, values
 * over sqlite's limit, and the database files' modes.  Opening
 * (versions, migration, damage) is test_store_open.c's; threads and
 * kills are test_store_race.c's; a full disk is test_store_full.c's;
 * failing allocations are test_store_nomem.c's.
 *
 * Usage: test_store.  Works in a fresh directory under /tmp, removed at
 * the end. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h" /* white box: sqlite3_limit() on the connection */
#include "store_test.h"

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
/* A job's cache figures: zero at first, sums of what is added, -ENOENT
 * for no such job; kept across reopening (test_reopen). */
static void test_cache(struct store *st, int64_t id)
{
	struct store_cache c;
	CHECK_EQ_I(store_job_cache(st, id, &c), 0);
	CHECK(!c.hits && !c.misses && !c.bytes_hit && !c.bytes_fetched && !c.bytes_prefetched);
	struct store_cache d = {3, 1, 3u << 20, 1u << 20, 2u << 20};
	CHECK_EQ_I(store_job_cache_add(st, id, &d), 0);
	CHECK_EQ_I(store_job_cache_add(st, id, &d), 0);
	CHECK_EQ_I(store_job_cache(st, id, &c), 0);
	CHECK(c.hits == 6 && c.misses == 2 && c.bytes_hit == 6u << 20 &&
	      c.bytes_fetched == 2u << 20 && c.bytes_prefetched == 4u << 20);
	CHECK_EQ_I(store_job_cache_add(st, 999999, &d), -ENOENT);
	CHECK_EQ_I(store_job_cache(st, 999999, &c), -ENOENT);
}

static void test_reopen(const char *path, const int64_t *ids)
{
	struct store *st = open_or_die(path);
	struct job_info ji;
	struct store_cache c;
	CHECK_EQ_I(store_job_cache(st, ids[0], &c), 0);
	CHECK(c.hits == 6 && c.bytes_prefetched == 4u << 20);
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
	CHECK_STR(v, SCHEMA_VERSION_TEXT);
	CHECK_EQ_I(raw_sql(path, "PRAGMA journal_mode", v, sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "wal");
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

/* A value over sqlite's length limit is refused whole with -EFBIG: a
 * result once became NULL and its task counted merged.  The limit is
 * lowered on the connection to keep the values small. */
static void test_too_big(void)
{
	static char big[5000];
	struct store *st = open_or_die(":memory:");
	int64_t id = small_job(st, "big", 2, JOB_RUNNING), none = -1;
	struct job_info ji;
	void *data = (void *)1;
	size_t len = 1, n = 0;
	int64_t *ids = NULL;
	sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, 4096);
	CHECK_EQ_I(store_task_commit(st, id, 0, big, sizeof(big), 1, true), -EFBIG);
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK(ji.tasks_done == 0 && ji.result_version == 0 && ji.status == JOB_RUNNING);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, NULL), 0);
	CHECK(data == NULL && len == 0);
	const struct store_task want[2] = { { 0, 0, 1, false }, { 0, 1, 2, false } };
	check_tasks(st, id, want, 2);
	CHECK_EQ_I(store_task_commit(st, id, 0, big, 100, 1, false), 0);
	CHECK_EQ_I(store_job_create(st, "q", 0, 0, big, sizeof(big), "", JOB_QUEUED, NULL, &none),
		   -EFBIG);
	CHECK_EQ_I(none, -1);
	CHECK_EQ_I(store_jobs(st, &ids, &n), 0);
	CHECK_EQ_I(n, 1);
	free(ids);
	store_close(st);
}

/* The mode of path (and that it exists). */
static void check_mode(const char *path, mode_t want)
{
	struct stat sb;
	CHECK_EQ_I(stat(path, &sb), 0);
	if ((sb.st_mode & 07777) != want) {
		fprintf(stderr, "%s: mode %04o, expected %04o\n", path, (unsigned)(sb.st_mode & 07777),
			(unsigned)want);
		failures++;
	}
}

/* The database and its -wal and -shm files are 0600 whatever the umask
 * and the directory's mode; files an older anafs left looser are
 * tightened. */
static void test_modes(void)
{
	char sub[128], path[160], wal[170], shm[170];
	mode_t old = umask(0);
	snprintf(sub, sizeof(sub), "%s/open", dir);
	CHECK_EQ_I(mkdir(sub, 0777), 0);
	snprintf(path, sizeof(path), "%s/anafs.db", sub);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);

	struct store *st = open_or_die(path);
	int64_t id = small_job(st, "modes", 2, JOB_RUNNING); /* something in the WAL */
	check_mode(path, 0600);
	check_mode(wal, 0600);
	check_mode(shm, 0600);
	store_close(st);

	CHECK_EQ_I(chmod(path, 0666), 0);
	for (int i = 0; i < 2; i++) {
		int fd = open(i ? shm : wal, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	check_mode(wal, 0666);
	st = open_or_die(path);
	check_mode(path, 0600);
	check_mode(wal, 0600);
	check_mode(shm, 0600);
	struct job_info ji;
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(store_task_commit(st, id, 0, "m", 1, 1, false), 0);
	store_close(st);
	umask(old);
}

int main(void)
{
	char path[128];
	int64_t ids[4] = { 0 };

	make_dir("store");
	db_path(path, sizeof(path), "jobs.db");
	struct store *st = open_or_die(path);
	test_jobs(st, ids);
	test_tasks(st, ids[0]);
	test_status(st, ids[0]);
	test_logs(st, ids[0], ids[1]);
	test_cache(st, ids[0]);
	store_close(st);
	test_reopen(path, ids);
	test_memory();
	test_too_big();
	test_modes();

	remove_dir();
	if (failures)
		fprintf(stderr, "test_store: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
