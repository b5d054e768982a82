/* test_store_open.c — opening the job store: schema versions refused,
 * the migration from version 1, files that are not databases.
 *
 * Usage: test_store_open.  Works in a fresh directory under /tmp, removed
 * at the end. */
#include "store.h"

#include "ana_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_test.h"

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
	CHECK_EQ_I(raw_sql(path, "UPDATE meta SET value = " STORE_TEST_STR(STORE_SCHEMA_VERSION)
			   " + 1 WHERE key = 'schema_version'", NULL, 0), SQLITE_OK);
	expect_refused(path, -EPROTO, "newer");
	/* Refused without being touched. */
	char v[64] = "", newer[16];
	snprintf(newer, sizeof(newer), "%d", STORE_SCHEMA_VERSION + 1);
	CHECK_EQ_I(raw_sql(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
			   sizeof(v)), SQLITE_OK);
	CHECK_STR(v, newer);
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
	CHECK_STR(v, SCHEMA_VERSION_TEXT);
	/* Opening it again migrates nothing twice. */
	st = open_or_die(path);
	check_files(st, 1, f1, 3);
	store_close(st);
}


int main(void)
{
	make_dir("store_open");
	test_versions();
	test_migrate_v1();
	remove_dir();
	if (failures)
		fprintf(stderr, "test_store_open: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
