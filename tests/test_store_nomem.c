/* test_store_nomem.c — the job store when sqlite finds no memory: every
 * allocation sqlite makes, one at a time, fails once during a job's life
 * (open, create, plan, merges, the last one ending the job, a log line,
 * every read).  Each call succeeds or returns an error; none crashes; and
 * the database, read back afterwards, holds exactly what the calls that
 * succeeded wrote: a failed call leaves nothing half-done.
 *
 * Allocations of the store itself are not failed here (sqlite's memory
 * methods are the hook); its own are few and each is checked.
 *
 * Usage: test_store_nomem.  Works in a fresh directory under /dev/shm (or
 * /tmp), removed at the end. */
#include "store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_test.h"

#define NTASKS 3

static sqlite3_mem_methods real;
static atomic_long countdown = -1; /* allocations until the one that fails; -1: none */
static atomic_long failed;

static bool fail_now(void)
{
	long c = atomic_load(&countdown);
	if (c < 0)
		return false;
	atomic_store(&countdown, c - 1);
	if (c != 0)
		return false;
	atomic_fetch_add(&failed, 1);
	return true;
}

static void *fault_malloc(int n)
{
	return fail_now() ? NULL : real.xMalloc(n);
}

static void *fault_realloc(void *p, int n)
{
	return fail_now() ? NULL : real.xRealloc(p, n);
}

/* What the calls that succeeded wrote. */
struct model {
	bool created, planned, done;
	int64_t id;
	int merged;
	int logs;
};

/* An error from a call under the fault: negative, and one the contract
 * names for a failing allocation or a failing read. */
static void check_error(int rc, const char *call, int k)
{
	if (rc < 0 && rc != -ENOMEM && rc != -EIO) {
		fprintf(stderr, "allocation %d: %s: unexpected %d\n", k, call, rc);
		failures++;
	}
	if (rc > 0) {
		fprintf(stderr, "allocation %d: %s: returned %d\n", k, call, rc);
		failures++;
	}
}

/* A job's life in st with the k-th allocation failing. */
static void life(struct store *st, int k, struct model *m)
{
	struct store_file f = { "/d/f.root", "Events", NTASKS, 1, 2, 3 };
	struct store_task t[NTASKS];
	int rc;
	for (int i = 0; i < NTASKS; i++)
		t[i] = (struct store_task){ 0, i, i + 1, false };
	atomic_store(&countdown, k);
	if ((rc = store_job_create(st, "nomem", 1, 1, "q", 1, "/", JOB_RUNNING, NULL, &m->id)) == 0)
		m->created = true;
	check_error(rc, "create", k);
	if (m->created && (rc = store_job_plan(st, m->id, &f, 1, t, NTASKS, NTASKS)) == 0)
		m->planned = true;
	check_error(rc, "plan", k);
	for (int i = 0; m->planned && i < NTASKS; i++) {
		char r[16];
		int n = snprintf(r, sizeof(r), "result %d", i + 1);
		rc = store_task_commit(st, m->id, i, r, (size_t)n, 1, i == NTASKS - 1);
		check_error(rc, "commit", k);
		if (rc != 0)
			break; /* merges go in order */
		m->merged++;
		m->done = i == NTASKS - 1;
	}
	if (m->created && (rc = store_log(st, m->id, "line")) == 0)
		m->logs++;
	check_error(rc, "log", k);
	if (m->created) {
		struct job_info ji;
		void *data = NULL;
		size_t len = 0;
		char *text = NULL;
		struct store_task *tt = NULL;
		check_error(store_job_get(st, m->id, &ji), "get", k);
		if ((rc = store_job_result(st, m->id, &data, &len, NULL)) == 0)
			free(data);
		check_error(rc, "result", k);
		if ((rc = store_job_log(st, m->id, &text, &len, NULL)) == 0)
			free(text);
		check_error(rc, "log", k);
		if ((rc = store_job_tasks(st, m->id, &tt, &len)) == 0)
			free(tt);
		check_error(rc, "tasks", k);
	}
	atomic_store(&countdown, -1);
}

/* store_open(path) with the k-th allocation failing: it opens, or fails
 * saying why. */
static void open_faulted(const char *path, int k)
{
	struct store *st = NULL;
	char msg[256] = "";
	atomic_store(&countdown, k);
	int rc = store_open(path, &st, msg, sizeof(msg));
	atomic_store(&countdown, -1);
	check_error(rc, "open", k);
	CHECK(rc == 0 ? st != NULL : msg[0] != '\0' && st == NULL);
	store_close(st);
}

static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	CHECK(in && out);
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		CHECK_EQ_I(fwrite(buf, 1, n, out), n);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

/* The database as the calls that succeeded left it. */
static void verify(const char *path, const struct model *m, int k)
{
	struct store *st = open_or_die(path);
	int64_t *ids = NULL;
	size_t n = 0;
	CHECK_EQ_I(store_jobs(st, &ids, &n), 0);
	CHECK_EQ_I(n, m->created ? 1 : 0);
	free(ids);
	if (m->created) {
		struct job_info ji;
		void *data = NULL;
		size_t len = 0;
		char want[16], *text = NULL;
		CHECK_EQ_I(store_job_get(st, m->id, &ji), 0);
		CHECK_EQ_I(ji.planned, m->planned);
		CHECK_EQ_I(ji.tasks_done, m->merged);
		CHECK_EQ_I(ji.result_version, m->merged);
		CHECK_EQ_I(ji.status, m->done ? JOB_DONE : JOB_RUNNING);
		CHECK_EQ_I(store_job_result(st, m->id, &data, &len, NULL), 0);
		snprintf(want, sizeof(want), "result %d", m->merged);
		CHECK(m->merged ? data && len == strlen(want) && !memcmp(data, want, len) : !data);
		free(data);
		CHECK_EQ_I(store_job_log(st, m->id, &text, &len, NULL), 0);
		CHECK_EQ_I(len, (size_t)m->logs * (21 + 5));
		free(text);
	}
	store_close(st);
	if (failures)
		fprintf(stderr, "after allocation %d failed\n", k);
}

/* Run one(path, k) for k = 0, step, 2 step, ... until a run makes no
 * allocation fail; returns how many runs. */
static int each_allocation(const char *what, int step, void (*one)(const char *, int))
{
	int runs = 0;
	for (int k = 0; k < 1000000 && !failures; k += step, runs++) {
		char path[128], name[64];
		snprintf(name, sizeof(name), "%s-%d.db", what, k);
		db_path(path, sizeof(path), name);
		long before = atomic_load(&failed);
		one(path, k);
		unlink(path); /* closed: its -wal and -shm are gone */
		if (atomic_load(&failed) == before) {
			printf("%s: %d allocations, each failing in turn (every %d)\n", what, k, step);
			break;
		}
	}
	return runs;
}

static char template_db[128];

/* Opening a database that exists. */
static void run_open(const char *path, int k)
{
	copy_file(template_db, path);
	open_faulted(path, k);
	struct model m = { 0 };
	verify(path, &m, k);
}

/* Creating a new database. */
static void run_create(const char *path, int k)
{
	struct model m = { 0 };
	open_faulted(path, k);
	verify(path, &m, k);
}

/* A job's life in a store already open. */
static void run_life(const char *path, int k)
{
	struct model m = { 0 };
	copy_file(template_db, path);
	struct store *st = open_or_die(path);
	life(st, k, &m);
	store_close(st);
	verify(path, &m, k);
}

int main(void)
{
	static sqlite3_mem_methods fault;
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real) != SQLITE_OK) {
		fprintf(stderr, "test_store_nomem: cannot read sqlite's memory methods\n");
		return 1;
	}
	fault = real;
	fault.xMalloc = fault_malloc;
	fault.xRealloc = fault_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &fault) != SQLITE_OK) {
		fprintf(stderr, "test_store_nomem: cannot set sqlite's memory methods\n");
		return 1;
	}
	/* Thousands of opens and closes: in memory where there is a tmpfs, as
	 * each close's checkpoint syncs the file. */
	make_dir_in(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL, "store_nomem");
	db_path(template_db, sizeof(template_db), "template.db");
	store_close(open_or_die(template_db));
	each_allocation("life", 1, run_life);
	each_allocation("open", 1, run_open);
	/* Creating runs every migration: thousands of allocations; one in
	 * eleven keeps the test to seconds. */
	each_allocation("create", 11, run_create);
	remove_dir();
	if (failures)
		fprintf(stderr, "test_store_nomem: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
