/* store_tasks.c — a job's planned files and tasks, the merge transaction,
 * the merged result. */
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- planning ---- */

static int insert_files(struct store *st, int64_t id, const struct store_file *f, size_t n)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_FILE_INSERT, &s);
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		sqlite3_bind_text(s, 3, f[i].url, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, f[i].tree ? f[i].tree : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, f[i].entries);
		sqlite3_bind_int64(s, 6, (int64_t)f[i].size);
		sqlite3_bind_int64(s, 7, f[i].mtime_ns);
		sqlite3_bind_int64(s, 8, (int64_t)f[i].fingerprint);
		rc = st_exec(s);
	}
	return rc;
}

static int insert_tasks(struct store *st, int64_t id, const struct store_file *f,
			const struct store_task *t, size_t n)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_TASK_INSERT, &s);
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		sqlite3_bind_text(s, 3, f[t[i].file].url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, t[i].first);
		sqlite3_bind_int64(s, 5, t[i].last);
		sqlite3_bind_int(s, 6, t[i].file);
		rc = st_exec(s);
	}
	return rc;
}

static int job_plan_locked(struct store *st, int64_t id, const struct store_file *f, size_t nf,
			   const struct store_task *t, size_t nt, int64_t events_total)
{
	sqlite3_stmt *s;
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	if ((rc = st_job_row(st, S_JOB_PLANNED, id, &s)) != 0)
		goto fail;
	rc = sqlite3_column_int(s, 0) ? -EEXIST : 0;
	st_unprep(s);
	if (rc == 0)
		rc = insert_files(st, id, f, nf);
	if (rc == 0)
		rc = insert_tasks(st, id, f, t, nt);
	if (rc != 0 || (rc = st_prep(st, S_JOB_PLAN, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)nt);
	sqlite3_bind_int64(s, 3, events_total);
	if ((rc = st_exec(s)) != 0)
		goto fail;
	return st_commit(st);
fail:
	st_rollback(st);
	return rc;
}

int store_job_plan(struct store *st, int64_t id, const struct store_file *f, size_t nf,
		   const struct store_task *t, size_t nt, int64_t events_total)
{
	if ((nf && !f) || (nt && !t) || nf > INT_MAX || nt > INT_MAX || events_total < 0)
		return -EINVAL;
	for (size_t i = 0; i < nf; i++)
		if (!f[i].url)
			return -EINVAL;
	for (size_t i = 0; i < nt; i++)
		if (t[i].file < 0 || (size_t)t[i].file >= nf || t[i].first < 0 || t[i].last < t[i].first)
			return -EINVAL;
	pthread_mutex_lock(&st->mu);
	int rc = job_plan_locked(st, id, f, nf, t, nt, events_total);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- reading the plan back ---- */

/* Grow *v (of *cap elements of size sz) to hold n + 1. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 64;
	void *nv = realloc(*v, c * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

void store_files_free(struct store_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].url);
		free(f[i].tree);
	}
	free(f);
}

static int job_files_locked(struct store *st, int64_t id, struct store_file **f, size_t *n)
{
	struct store_file *v = NULL;
	size_t cnt = 0, capv = 0;
	sqlite3_stmt *s = NULL;
	int rc = st_job_exists(st, id);
	if (rc != 0 || (rc = st_prep(st, S_FILES, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = grow((void **)&v, &capv, cnt, sizeof(*v))) != 0)
			goto out;
		struct store_file *k = &v[cnt];
		memset(k, 0, sizeof(*k));
		cnt++;
		if ((rc = st_column_dup(s, 0, false, &k->url, NULL)) != 0 ||
		    (rc = st_column_dup(s, 1, false, &k->tree, NULL)) != 0)
			goto out;
		k->entries = sqlite3_column_int64(s, 2);
		k->size = (uint64_t)sqlite3_column_int64(s, 3);
		k->mtime_ns = sqlite3_column_int64(s, 4);
		k->fingerprint = (uint64_t)sqlite3_column_int64(s, 5);
	}
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);
		goto out;
	}
	*f = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	st_unprep(s);
	store_files_free(v, cnt);
	return rc;
}

int store_job_files(struct store *st, int64_t id, struct store_file **f, size_t *n)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_files_locked(st, id, f, n);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_tasks_locked(struct store *st, int64_t id, struct store_task **t, size_t *n)
{
	struct store_task *v = NULL;
	size_t cnt = 0, capv = 0;
	sqlite3_stmt *s = NULL;
	int rc = st_job_exists(st, id);
	if (rc != 0 || (rc = st_prep(st, S_TASKS, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = grow((void **)&v, &capv, cnt, sizeof(*v))) != 0)
			goto out;
		struct store_task *k = &v[cnt++];
		k->file = sqlite3_column_int(s, 1);
		k->first = sqlite3_column_int64(s, 2);
		k->last = sqlite3_column_int64(s, 3);
		k->done = sqlite3_column_int(s, 4) != 0;
	}
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);
		goto out;
	}
	*t = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	st_unprep(s);
	free(v);
	return rc;
}

int store_job_tasks(struct store *st, int64_t id, struct store_task **t, size_t *n)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_tasks_locked(st, id, t, n);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- merging ---- */

/* Why no task row changed: 1 when the task is already done, -ENOENT when
 * job id has no task idx. */
static int task_state(struct store *st, int64_t id, int idx)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_TASK_STATE, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, idx);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	st_unprep(s);
	return rc;
}

/* 0 when job id is not over, -EBUSY when it is. */
static int job_active(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_STATE, id, &s);
	if (rc != 0)
		return rc;
	rc = JOB_MASK(sqlite3_column_int(s, 0)) & JOB_MASK_ACTIVE ? 0 : -EBUSY;
	st_unprep(s);
	return rc;
}

static int task_commit_locked(struct store *st, int64_t id, int idx, const void *result,
			      size_t len, int64_t events, bool job_done)
{
	sqlite3_stmt *s;
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	if ((rc = job_active(st, id)) != 0 || (rc = st_prep(st, S_TASK_DONE, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, idx);
	if ((rc = st_exec(s)) != 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		rc = task_state(st, id, idx);
		goto fail;
	}
	if ((rc = st_prep(st, S_JOB_MERGE, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_bind_blob64(s, 2, result ? result : "", len, SQLITE_STATIC);
	if (rc != SQLITE_OK) { /* a result over sqlite's limit must not become NULL */
		st_unprep(s);
		rc = st_errno(rc);
		goto fail;
	}
	sqlite3_bind_double(s, 3, st_now());
	sqlite3_bind_int64(s, 4, events);
	if ((rc = st_exec(s)) != 0)
		goto fail;
	if (job_done) {
		if ((rc = st_prep(st, S_JOB_DONE, &s)) != 0)
			goto fail;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_double(s, 2, st_now());
		if ((rc = st_exec(s)) != 0)
			goto fail;
	}
	return st_commit(st);
fail:
	st_rollback(st);
	return rc;
}

int store_task_commit(struct store *st, int64_t id, int idx, const void *result, size_t len,
		      int64_t events, bool job_done)
{
	if ((!result && len) || idx < 0 || events < 0)
		return -EINVAL;
	if (len > INT_MAX)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = task_commit_locked(st, id, idx, result, len, events, job_done);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_result_locked(struct store *st, int64_t id, void **data, size_t *len,
			     int64_t *version)
{
	char *d = NULL;
	size_t n = 0;
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_RESULT, id, &s);
	if (rc != 0)
		return rc;
	rc = 0;
	if (sqlite3_column_type(s, 0) != SQLITE_NULL && (rc = st_column_dup(s, 0, true, &d, &n)) != 0)
		goto out;
	*data = d;
	*len = n;
	if (version)
		*version = sqlite3_column_int64(s, 1);
out:
	st_unprep(s);
	return rc;
}

int store_job_result(struct store *st, int64_t id, void **data, size_t *len, int64_t *version)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_result_locked(st, id, data, len, version);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

