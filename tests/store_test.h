/* store_test.h — what the job store's tests share: a private directory,
 * opening a store or dying, sqlite used directly on a database file, and
 * checks of a job's files and tasks.  Included by one test file each. */
#ifndef ANAFS_STORE_TEST_H
#define ANAFS_STORE_TEST_H

#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

static char dir[64];

/* STORE_SCHEMA_VERSION as meta holds it. */
#define STORE_TEST_STR_(x) #x
#define STORE_TEST_STR(x) STORE_TEST_STR_(x)
#define SCHEMA_VERSION_TEXT STORE_TEST_STR(STORE_SCHEMA_VERSION)

static inline void db_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static inline struct store *open_or_die(const char *path)
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

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one SQL statement on path with sqlite itself; the first column of
 * its first row into out (cap bytes) when out is not NULL. */
static inline int raw_sql(const char *path, const char *sql, char *out, size_t cap)
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
static inline int raw_exec(const char *path, const char *sql)
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

/* A fresh directory under base (/tmp when NULL) for the test's files:
 * in dir. */
static inline void make_dir_in(const char *base, const char *prog)
{
	snprintf(dir, sizeof(dir), "%s/anafs-%s-XXXXXX", base ? base : "/tmp", prog);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static inline void make_dir(const char *prog)
{
	make_dir_in(NULL, prog);
}

/* Removed at the end, unless ANAFS_TEST_KEEP is set (to look at it). */
static inline void remove_dir(void)
{
	char cmd[128];
	if (getenv("ANAFS_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static inline void check_files(struct store *st, int64_t id, const struct store_file *want, size_t nwant)
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

static inline void check_tasks(struct store *st, int64_t id, const struct store_task *want, size_t nwant)
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

/* A job of ntasks one-event tasks on one file, in status status. */
static inline int64_t small_job(struct store *st, const char *name, int ntasks, enum job_status status)
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

#endif
