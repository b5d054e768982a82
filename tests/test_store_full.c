/* test_store_full.c — the job store when its state directory is full:
 * a merge fails with -ENOSPC leaving the job's previous result whole, a
 * log line or a status change either lands or fails with -ENOSPC, nothing
 * is damaged, and once space is freed every write works again.
 *
 * The state directory is a 2 MB tmpfs mounted in a private mount
 * namespace, so the test needs root (CAP_SYS_ADMIN); without it, it says
 * so and exits 77 (skipped).
 *
 * Usage: test_store_full. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_test.h"

#define RESULT_STEP 16384 /* each merge's result is this much larger */
#define NTASKS 64

/* A 2 MB tmpfs on dir, seen by this process only. */
static int private_tmpfs(const char *mnt)
{
	if (unshare(CLONE_NEWNS) != 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -errno;
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700") != 0)
		return -errno;
	return 0;
}

/* Write path until it holds max bytes or the disk is full; its size. */
static size_t fill(const char *path, size_t max)
{
	static char block[4096];
	size_t n = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	CHECK(fd >= 0);
	memset(block, 'f', sizeof(block));
	while (fd >= 0 && n < max) {
		ssize_t w = write(fd, block, sizeof(block));
		if (w <= 0)
			break;
		n += (size_t)w;
	}
	if (fd >= 0)
		close(fd);
	return n;
}

/* Result k: k * RESULT_STEP bytes of k. */
static unsigned char *result(int k, size_t *len)
{
	*len = (size_t)k * RESULT_STEP;
	unsigned char *r = malloc(*len);
	memset(r, k, *len);
	return r;
}

/* Job id holds k merges and result k, whole. */
static void check_merged(struct store *st, int64_t id, int k)
{
	struct job_info ji;
	void *data = NULL;
	size_t len = 0, wlen = 0, n = 0;
	int64_t version = -1;
	struct store_task *t = NULL;
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(ji.tasks_done, k);
	CHECK_EQ_I(ji.result_version, k);
	CHECK_EQ_I(store_job_result(st, id, &data, &len, &version), 0);
	unsigned char *want = result(k, &wlen);
	CHECK(version == k && len == wlen && (k == 0 || (data && memcmp(data, want, len) == 0)));
	free(want);
	free(data);
	CHECK_EQ_I(store_job_tasks(st, id, &t, &n), 0);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_I(t[i].done, (int)i < k);
	free(t);
}

/* Merge ever larger results into job id until the disk is full: returns
 * how many merged; the failing one must say -ENOSPC. */
static int merge_until_full(struct store *st, int64_t id)
{
	int k = 0;
	for (; k < NTASKS; k++) {
		size_t len;
		unsigned char *r = result(k + 1, &len);
		int rc = store_task_commit(st, id, k, r, len, 1, false);
		free(r);
		if (rc != 0) {
			CHECK_EQ_I(rc, -ENOSPC);
			printf("merge %d (%zu bytes) refused: %s\n", k + 1, len, strerror(-rc));
			break;
		}
	}
	CHECK(k > 0 && k < NTASKS);
	return k;
}

/* A log line and a status change on a full disk: each lands whole or
 * fails with -ENOSPC, changing nothing. */
static void writes_when_full(struct store *st, int64_t id)
{
	int rc = 0, lines = 0;
	char big[3000];
	memset(big, 'l', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	while (lines < 5000 && (rc = store_log(st, id, "%s", big)) == 0)
		lines++;
	CHECK_EQ_I(rc, -ENOSPC);
	printf("log lines written before -ENOSPC: %d\n", lines);

	struct job_info ji;
	char *e = NULL;
	rc = store_job_transition(st, id, JOB_MASK_ACTIVE, JOB_FAILED,
				  "no space left in the state directory");
	printf("transition to failed on a full disk: %s\n", rc ? strerror(-rc) : "done");
	CHECK(rc == 0 || rc == -ENOSPC);
	CHECK_EQ_I(store_job_get(st, id, &ji), 0);
	CHECK_EQ_I(store_job_text(st, id, NULL, NULL, NULL, &e), 0);
	if (rc == 0) {
		CHECK(ji.status == JOB_FAILED && ji.finished > 0);
		CHECK_STR(e, "no space left in the state directory");
	} else {
		CHECK(ji.status == JOB_RUNNING && ji.finished == 0);
		CHECK_STR(e, "");
		/* What the coordinator does next: try again once there is room. */
	}
	free(e);
	int64_t none = -1;
	rc = store_job_create(st, "full", 0, 0, "q", 1, "", JOB_QUEUED, NULL, &none);
	CHECK(rc == 0 || rc == -ENOSPC);
}

static void test_full(const char *path, const char *filler)
{
	struct store *st = open_or_die(path);
	int64_t a = small_job(st, "a", NTASKS, JOB_RUNNING);
	int64_t b = small_job(st, "b", NTASKS, JOB_RUNNING);
	/* Leave about 800 KB: the results reach it in a few merges. */
	printf("filler: %zu bytes\n", fill(filler, 1200 * 1024));

	int k = merge_until_full(st, a);
	check_merged(st, a, k); /* the refused merge left nothing behind */
	writes_when_full(st, a);
	check_merged(st, a, k);
	int64_t *ids = NULL;
	size_t n = 0;
	CHECK_EQ_I(store_jobs(st, &ids, &n), 0); /* reads go on */
	free(ids);

	/* Room again: every write works. */
	CHECK_EQ_I(unlink(filler), 0);
	size_t len;
	unsigned char *r = result(1, &len);
	CHECK_EQ_I(store_task_commit(st, b, 0, r, len, 1, false), 0);
	free(r);
	CHECK_EQ_I(store_job_transition(st, a, JOB_MASK_ACTIVE | JOB_MASK(JOB_FAILED), JOB_FAILED,
					"no space left in the state directory"), 0);
	CHECK_EQ_I(store_log(st, a, "failed: no space left in the state directory"), 0);
	store_close(st);

	/* Whole after reopening, and the check at open finds nothing. */
	st = open_or_die(path);
	char summary[512] = "x";
	CHECK_EQ_I(store_damaged(st, &ids, &n, summary, sizeof(summary)), 0);
	CHECK(n == 0 && summary[0] == '\0');
	free(ids);
	check_merged(st, a, k);
	check_merged(st, b, 1);
	store_close(st);
}

/* Opening on a disk with no byte left: a new database fails with
 * -ENOSPC and says so; an existing one opens or fails with -ENOSPC, and
 * opens once there is room. */
static void test_open_full(const char *path, const char *filler)
{
	char fresh[128], msg[512] = "";
	struct store *st = NULL;
	fill(filler, SIZE_MAX);
	db_path(fresh, sizeof(fresh), "fresh.db");
	int rc = store_open(fresh, &st, msg, sizeof(msg));
	printf("new database on a full disk: %d %s\n", rc, msg);
	CHECK_EQ_I(rc, -ENOSPC);
	CHECK(st == NULL && strstr(msg, "full") != NULL);
	rc = store_open(path, &st, msg, sizeof(msg));
	printf("existing database on a full disk: %d %s\n", rc, rc ? msg : "opened");
	CHECK(rc == 0 || rc == -ENOSPC);
	if (rc == 0)
		store_close(st);
	CHECK_EQ_I(unlink(filler), 0);
	st = open_or_die(path);
	store_close(st);
}

int main(void)
{
	char path[128], filler[128];
	make_dir("store_full");
	int rc = private_tmpfs(dir);
	if (rc != 0) {
		fprintf(stderr, "test_store_full: skipped: cannot mount a tmpfs in a private mount"
				" namespace (%s); needs root\n", strerror(-rc));
		rmdir(dir);
		return 77;
	}
	db_path(path, sizeof(path), "anafs.db");
	db_path(filler, sizeof(filler), "filler");
	test_full(path, filler);
	test_open_full(path, filler);
	if (umount2(dir, MNT_DETACH) != 0)
		perror("umount");
	remove_dir();
	if (failures)
		fprintf(stderr, "test_store_full: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
