/* test_store_open.c — opening the job store: schema versions refused,
 * the migration from version 1, files that are not databases, and
 * damaged pages: the open succeeds, the jobs affected (and only they) are
 * listed and marked failed, the others read as before.
 *
 * Usage: test_store_open [--bench]: with --bench, only the cost of the
 * check at open on a database of 1,000 jobs and 100,000 tasks.  Works in
 * a fresh directory under /tmp, removed at the end. */
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
	/* Version 3: results in a table of their own, none left in the row. */
	CHECK_EQ_I(raw_sql(path, "SELECT count(*) FROM pragma_table_info('jobs')"
			   " WHERE name = 'result'", v, sizeof(v)), SQLITE_OK);
	CHECK_STR(v, "0");
	CHECK_EQ_I(raw_sql(path, "SELECT hex(data) FROM results WHERE job = 1", v, sizeof(v)),
		   SQLITE_OK);
	CHECK_STR(v, "0102");
	/* Opening it again migrates nothing twice. */
	st = open_or_die(path);
	check_files(st, 1, f1, 3);
	store_close(st);
}


/* ---- damaged pages ---- */

#define NDMG 5            /* jobs in the damaged database */
#define DMG_RESULT 12000  /* bytes of each result: overflow pages of its own */
#define DMG_BIGQUERY 3950 /* bytes of job 3's query: a table leaf of its own */
#define DMG_TASKS 400     /* tasks of job 2: several index leaves of its own */
#define DMG_LOGS 300      /* log lines of job 0: several table leaves of their own */

/* The bytes of what: marker repeated to len bytes. */
static void fill_marked(char *buf, size_t len, const char *marker)
{
	size_t m = strlen(marker);
	for (size_t i = 0; i < len; i++)
		buf[i] = marker[i % m];
}

/* Jobs 0..NDMG-1 whose rows carry markers ("RESULT-JOB-k-", "TASKS-JOB-k-",
 * "QUERY-JOB-k-", "LOG-JOB-k-") that tell their pages apart. */
static void build_damage_db(const char *path, int64_t *ids)
{
	struct store *st = open_or_die(path);
	static char buf[DMG_RESULT];
	for (int k = 0; k < NDMG; k++) {
		char marker[32], url[64];
		int ntasks = k == 2 ? DMG_TASKS : 10;
		snprintf(marker, sizeof(marker), "QUERY-JOB-%d-", k);
		size_t qlen = k == 3 ? DMG_BIGQUERY : 2 * strlen(marker);
		fill_marked(buf, qlen, marker);
		/* uid, gid over 255: values in the row's body, not its header */
		CHECK_EQ_I(store_job_create(st, "dmg", 1000, 1000, buf, qlen, "/b", JOB_RUNNING, NULL,
					    &ids[k]), 0);
		snprintf(url, sizeof(url), "/d/TASKS-JOB-%d-abcdefghijklmnopqrstuv.root", k);
		struct store_file f = { url, "Events", ntasks, 1, 2, 3 };
		struct store_task *t = calloc((size_t)ntasks, sizeof(*t));
		for (int i = 0; i < ntasks; i++)
			t[i] = (struct store_task){ 0, i, i + 1, false };
		CHECK_EQ_I(store_job_plan(st, ids[k], &f, 1, t, (size_t)ntasks, ntasks), 0);
		free(t);
		if (k != 3) { /* job 3's row stays alone in its leaf */
			snprintf(marker, sizeof(marker), "RESULT-JOB-%d-", k);
			fill_marked(buf, DMG_RESULT, marker);
			CHECK_EQ_I(store_task_commit(st, ids[k], 0, buf, DMG_RESULT, 1, false), 0);
		}
		for (int i = 0; i < (k == 0 ? DMG_LOGS : 3); i++)
			CHECK_EQ_I(store_log(st, ids[k], "LOG-JOB-%d-%0100d", k, i), 0);
	}
	store_close(st);
}

static bool has(const unsigned char *page, size_t n, const char *s)
{
	return memmem(page, n, s, strlen(s)) != NULL;
}

/* The page numbers (1-based) of path's pages of type type (a b-tree page
 * type, or 0 for an overflow page: its first byte is the high byte of the
 * next page's number) that hold marker and no other job's; *n of them. */
static int find_pages(const char *path, int type, const char *marker_fmt, int job,
		      long *pages, int max)
{
	unsigned char page[65536];
	int fd = open(path, O_RDONLY), n = 0;
	CHECK(fd >= 0 && pread(fd, page, 100, 0) == 100);
	size_t size = (size_t)page[16] << 8 | page[17];
	size = size == 1 ? 65536 : size;
	for (long no = 2; n < max && pread(fd, page, size, (off_t)(no - 1) * (off_t)size) ==
					     (ssize_t)size; no++) {
		char m[32];
		bool mine = false, others = false;
		for (int k = 0; k < NDMG; k++) {
			snprintf(m, sizeof(m), marker_fmt, k);
			if (has(page, size, m))
				*(k == job ? &mine : &others) = true;
		}
		if (mine && !others && page[0] == type)
			pages[n++] = no;
	}
	close(fd);
	return n;
}

/* Overwrite page no of path with bytes no page type or page number has. */
static void smash(const char *path, long no)
{
	unsigned char page[65536];
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0 && pread(fd, page, 100, 0) == 100);
	size_t size = (size_t)page[16] << 8 | page[17];
	size = size == 1 ? 65536 : size;
	memset(page, 0xa5, size);
	CHECK(pwrite(fd, page, size, (off_t)(no - 1) * (off_t)size) == (ssize_t)size);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CHECK_EQ_I(system(cmd), 0);
}

/* The jobs other than the damaged one read as they were written. */
static void check_intact(struct store *st, const int64_t *ids, int bad)
{
	for (int k = 0; k < NDMG; k++) {
		if (k == bad)
			continue;
		struct job_info ji;
		char *q = NULL, *log = NULL;
		void *data = NULL;
		size_t len = 0, n = 0;
		struct store_task *t = NULL;
		CHECK_EQ_I(store_job_get(st, ids[k], &ji), 0);
		CHECK_EQ_I(ji.status, JOB_RUNNING);
		CHECK_EQ_I(store_job_text(st, ids[k], &q, &len, NULL, NULL), 0);
		CHECK_EQ_I(len, k == 3 ? DMG_BIGQUERY : 2 * strlen("QUERY-JOB-0-"));
		free(q);
		CHECK_EQ_I(store_job_result(st, ids[k], &data, &len, NULL), 0);
		CHECK_EQ_I(len, k == 3 ? 0 : DMG_RESULT);
		free(data);
		CHECK_EQ_I(store_job_tasks(st, ids[k], &t, &n), 0);
		CHECK_EQ_I(n, k == 2 ? DMG_TASKS : 10);
		free(t);
		CHECK_EQ_I(store_job_log(st, ids[k], &log, &len, NULL), 0);
		CHECK_EQ_I(len, (size_t)(k == 0 ? DMG_LOGS : 3) * (21 + 110 + 1));
		free(log);
	}
}

/* Page no of a copy of clean smashed: the open succeeds, job bad alone is
 * listed damaged, part names what of it was damaged, and it is marked
 * failed unless its record is the damage. */
static void test_damaged_page(const char *clean, const int64_t *ids, long no, int bad,
			      const char *name, const char *part, bool record_damaged)
{
	char path[128], msg[512] = "", summary[1024] = "";
	snprintf(path, sizeof(path), "%s/damaged-%s.db", dir, name);
	copy_file(clean, path);
	smash(path, no);

	struct store *st = NULL;
	CHECK_EQ_I(store_open(path, &st, msg, sizeof(msg)), 0);
	if (!st) {
		fprintf(stderr, "%s: %s\n", path, msg);
		return;
	}
	int64_t *dmg = NULL, *all = NULL;
	size_t n = 0, nall = 0;
	CHECK_EQ_I(store_damaged(st, &dmg, &n, summary, sizeof(summary)), 0);
	CHECK(n == 1 && dmg[0] == ids[bad]);
	free(dmg);
	char want[128];
	snprintf(want, sizeof(want), "jobs affected: %lld;", (long long)ids[bad]);
	CHECK(strstr(summary, path) && strstr(summary, "damaged") && strstr(summary, want));
	CHECK(!strchr(summary, '\n'));
	printf("%s: %s\n", name, summary);

	/* Listed still, with the others; they read as before. */
	CHECK_EQ_I(store_jobs(st, &all, &nall), 0);
	CHECK_EQ_I(nall, NDMG);
	for (size_t i = 0; i < nall && i < NDMG; i++)
		CHECK_EQ_I(all[i], ids[i]);
	free(all);
	check_intact(st, ids, bad);

	struct job_info ji;
	char *e = NULL;
	if (record_damaged) {
		CHECK_EQ_I(store_job_get(st, ids[bad], &ji), ANA_EDAMAGED);
		CHECK(strstr(summary, "0 of 1 marked failed") != NULL);
	} else {
		CHECK_EQ_I(store_job_get(st, ids[bad], &ji), 0);
		CHECK_EQ_I(ji.status, JOB_FAILED);
		CHECK(ji.finished > 0);
		CHECK_EQ_I(store_job_text(st, ids[bad], NULL, NULL, NULL, &e), 0);
		snprintf(want, sizeof(want), "the job's record in the state database is damaged (%s:",
			 part);
		CHECK(e && strstr(e, want) && strstr(e, "); its results may be lost"));
		free(e);
		CHECK(strstr(summary, "1 of 1 marked failed") != NULL);
	}
	/* The rest of the store goes on. */
	int64_t id = small_job(st, "after", 2, JOB_RUNNING);
	CHECK_EQ_I(store_task_commit(st, id, 0, "x", 1, 1, false), 0);
	store_close(st);
}

static void test_damage(void)
{
	char clean[128], msg[512];
	int64_t ids[NDMG];
	long pages[64];
	db_path(clean, sizeof(clean), "clean.db");
	build_damage_db(clean, ids);

	/* Undamaged: the check passes. */
	struct store *st = open_or_die(clean);
	int64_t *dmg = (int64_t *)1;
	size_t n = 99;
	char summary[256] = "x";
	CHECK_EQ_I(store_damaged(st, &dmg, &n, summary, sizeof(summary)), 0);
	CHECK(n == 0 && summary[0] == '\0');
	free(dmg);
	store_close(st);

	/* The first overflow page of job 1's result: its record (a row of
	 * its own since schema version 3) reads and is marked failed. */
	int np = find_pages(clean, 0, "RESULT-JOB-%d-", 1, pages, 64);
	CHECK(np >= 2);
	if (np >= 2)
		test_damaged_page(clean, ids, pages[0], 1, "result", "its result", false);
	/* A leaf of the tasks (WITHOUT ROWID: an index leaf, 0x0a) holding
	 * job 2's only, between two others of its own. */
	np = find_pages(clean, 0x0a, "TASKS-JOB-%d-", 2, pages, 64);
	CHECK(np >= 3);
	if (np >= 3)
		test_damaged_page(clean, ids, pages[np / 2], 2, "tasks", "its tasks", false);
	/* A leaf of the logs table (0x0d) holding job 0's lines only. */
	np = find_pages(clean, 0x0d, "LOG-JOB-%d-", 0, pages, 64);
	CHECK(np >= 3);
	if (np >= 3)
		test_damaged_page(clean, ids, pages[np / 2], 0, "log", "its log", false);
	/* The jobs table's leaf holding job 3's record: its id cannot be
	 * listed, nor its row read. */
	np = find_pages(clean, 0x0d, "QUERY-JOB-%d-", 3, pages, 64);
	CHECK_EQ_I(np, 1);
	if (np == 1)
		test_damaged_page(clean, ids, pages[0], 3, "record", "its record", true);

	/* The schema's own page (page 1 after the header): beyond use. */
	char path[128];
	db_path(path, sizeof(path), "schema.db");
	copy_file(clean, path);
	int fd = open(path, O_RDWR);
	unsigned char junk[3000];
	memset(junk, 0xa5, sizeof(junk));
	CHECK(fd >= 0 && pwrite(fd, junk, sizeof(junk), 100) == (ssize_t)sizeof(junk));
	close(fd);
	snprintf(msg, sizeof(msg), "%s is not a database or is damaged beyond use", path);
	expect_refused(path, ANA_EDAMAGED, msg);
}

/* ---- the cost of the check ---- */

/* 1,000 jobs of 100 tasks, all merged, each with a 16 KB result at the
 * end and ten log lines; store_open() timed with it. */
static void bench(void)
{
	char path[128];
	static char buf[16384];
	db_path(path, sizeof(path), "bench.db");
	struct store *st = open_or_die(path);
	memset(buf, 'r', sizeof(buf));
	for (int k = 0; k < 1000; k++) {
		int64_t id = small_job(st, "bench", 100, JOB_RUNNING);
		for (int i = 0; i < 100; i++)
			CHECK_EQ_I(store_task_commit(st, id, i, buf, i == 99 ? sizeof(buf) : 64, 1,
						     i == 99), 0);
		for (int i = 0; i < 10; i++)
			CHECK_EQ_I(store_log(st, id, "task %d of job %d merged", i, k), 0);
	}
	store_close(st);
	char size[32] = "";
	CHECK_EQ_I(raw_sql(path, "SELECT page_count * page_size FROM pragma_page_count(),"
			   " pragma_page_size()", size, sizeof(size)), SQLITE_OK);
	for (int round = 0; round < 3; round++) {
		double t0 = now();
		st = open_or_die(path);
		double t1 = now();
		store_close(st);
		printf("store_open with its check: %.1f ms (%s bytes, 1000 jobs, 100000 tasks)\n",
		       (t1 - t0) * 1e3, size);
	}
	double t0 = now();
	CHECK_EQ_I(raw_sql(path, "PRAGMA quick_check", size, sizeof(size)), SQLITE_OK);
	printf("PRAGMA quick_check alone: %.1f ms: %s\n", (now() - t0) * 1e3, size);
}

int main(int argc, char **argv)
{
	make_dir("store_open");
	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		bench();
	} else {
		test_versions();
		test_migrate_v1();
		test_damage();
	}
	remove_dir();
	if (failures)
		fprintf(stderr, "test_store_open: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
