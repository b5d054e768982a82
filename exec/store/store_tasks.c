/* store_tasks.c — a job's planned files and tasks, the merge transaction,
 * the merged result. */
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- planning ---- */

/* 64-bit sizes and fingerprints are stored as sqlite's signed integers:
 * the same 64 bits, read back with the opposite cast. */
static int insert_files(struct store *st, int64_t id, const struct store_file *f, size_t n)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_FILE_INSERT, &s);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *tree = f[i].tree ? f[i].tree : "";
		int b = SQLITE_OK;
		st_bind_i64(s, 1, id, &b);
		st_bind_i64(s, 2, (int64_t)i, &b);
		st_bind_text(s, 3, f[i].url, strlen(f[i].url), &b);
		st_bind_text(s, 4, tree, strlen(tree), &b);
		st_bind_i64(s, 5, f[i].entries, &b);
		st_bind_i64(s, 6, (int64_t)f[i].size, &b);
		st_bind_i64(s, 7, f[i].mtime_ns, &b);
		st_bind_i64(s, 8, (int64_t)f[i].fingerprint, &b);
		rc = st_bound(st, s, b);
		if (rc == 0)
			rc = st_exec(st, s);
	}
	return rc;
}

/* tasks.url (NOT NULL since version 1) gets the task's file's url. */
static int insert_tasks(struct store *st, int64_t id, const struct store_file *f,
			const struct store_task *t, size_t n)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_TASK_INSERT, &s);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *url = f[t[i].file].url;
		int b = SQLITE_OK;
		st_bind_i64(s, 1, id, &b);
		st_bind_i64(s, 2, (int64_t)i, &b);
		st_bind_text(s, 3, url, strlen(url), &b);
		st_bind_i64(s, 4, t[i].first, &b);
		st_bind_i64(s, 5, t[i].last, &b);
		st_bind_i64(s, 6, t[i].file, &b);
		rc = st_bound(st, s, b);
		if (rc == 0)
			rc = st_exec(st, s);
	}
	return rc;
}

static int job_plan_locked(struct store *st, int64_t id, const struct store_file *f, size_t nf,
			   const struct store_task *t, size_t nt, int64_t events_total)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_begin(st);
	if (rc != 0)
		return rc;
	if ((rc = st_job_row(st, S_JOB_PLANNED, id, &s)) != 0)
		return st_abort(st, rc);
	rc = sqlite3_column_int(s, 0) ? -EEXIST : 0;
	st_unprep(s);
	if (rc == 0)
		rc = insert_files(st, id, f, nf);
	if (rc == 0)
		rc = insert_tasks(st, id, f, t, nt);
	if (rc != 0 || (rc = st_prep_id(st, S_JOB_PLAN, id, &s)) != 0)
		return st_abort(st, rc);
	st_bind_i64(s, 2, (int64_t)nt, &b);
	st_bind_i64(s, 3, events_total, &b);
	if ((rc = st_bound(st, s, b)) != 0 || (rc = st_exec(st, s)) != 0)
		return st_abort(st, rc);
	return st_commit(st);
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

/* Statement id (its rows: a job's) ready to step, after checking the job
 * exists: 0 with *out bound, or an error (*out released). */
static int job_rows(struct store *st, enum stmt_id id, int64_t job, sqlite3_stmt **out)
{
	int rc = st_job_exists(st, job);
	return rc ? rc : st_prep_id(st, id, job, out);
}

static int job_files_locked(struct store *st, int64_t id, struct store_file **f, size_t *n)
{
	struct store_file *v = NULL;
	size_t cnt = 0, capv = 0;
	sqlite3_stmt *s = NULL;
	int rc = job_rows(st, S_FILES, id, &s);
	if (rc != 0)
		return rc;
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
		rc = st_errno(st->db, rc);
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
	int rc = job_rows(st, S_TASKS, id, &s);
	if (rc != 0)
		return rc;
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
		rc = st_errno(st->db, rc);
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

/* Statement id with job id and task idx bound (?1, ?2). */
static int prep_task(struct store *st, enum stmt_id stmt, int64_t id, int idx,
		     sqlite3_stmt **out)
{
	int b = SQLITE_OK, rc = st_prep_id(st, stmt, id, out);
	if (rc != 0)
		return rc;
	st_bind_i64(*out, 2, idx, &b);
	return st_bound(st, *out, b);
}

/* Why no task row changed: 1 when the task is already done, -ENOENT when
 * job id has no task idx. */
static int task_state(struct store *st, int64_t id, int idx)
{
	sqlite3_stmt *s;
	int rc = prep_task(st, S_TASK_STATE, id, idx, &s);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? -ENOENT : st_errno(st->db, rc);
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

/* Mark task idx of job id done: 0, 1 when it was done already, -ENOENT
 * when there is no such task, or an error. */
static int mark_done(struct store *st, int64_t id, int idx)
{
	sqlite3_stmt *s;
	int rc = prep_task(st, S_TASK_DONE, id, idx, &s);
	if (rc != 0 || (rc = st_exec(st, s)) != 0)
		return rc;
	return sqlite3_changes(st->db) == 0 ? task_state(st, id, idx) : 0;
}

/* The job's result becomes result, its counts grow.  A result over
 * sqlite's limit fails its bind (-EFBIG): it must never become NULL. */
static int merge(struct store *st, int64_t id, const void *result, size_t len, int64_t events)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_prep_id(st, S_RESULT_PUT, id, &s);
	if (rc != 0)
		return rc;
	st_bind_blob(s, 2, result, len, &b);
	if ((rc = st_bound(st, s, b)) != 0 || (rc = st_exec(st, s)) != 0 ||
	    (rc = st_prep_id(st, S_JOB_MERGE, id, &s)) != 0)
		return rc;
	st_bind_f64(s, 2, st_now(), &b);
	st_bind_i64(s, 3, events, &b);
	return (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
}

static int end_job(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_prep_id(st, S_JOB_DONE, id, &s);
	if (rc != 0)
		return rc;
	st_bind_f64(s, 2, st_now(), &b);
	return (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
}

/* Record why task idx of job id was left out. */
static int note_skip(struct store *st, int64_t id, int idx, const char *why)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = prep_task(st, S_SKIP_INSERT, id, idx, &s);
	if (rc != 0)
		return rc;
	st_bind_text(s, 3, why, st_cut_len(why, STORE_MAX_LOGLINE - 1), &b);
	return (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
}

/* why: NULL for a merge, else the task is left out for that reason. */
static int task_commit_locked(struct store *st, int64_t id, int idx, const void *result,
			      size_t len, int64_t events, bool job_done, const char *why)
{
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	if ((rc = job_active(st, id)) != 0 || (rc = mark_done(st, id, idx)) != 0 ||
	    (why && (rc = note_skip(st, id, idx, why)) != 0) ||
	    (rc = merge(st, id, result, len, events)) != 0 ||
	    (job_done && (rc = end_job(st, id)) != 0))
		return st_abort(st, rc);
	return st_commit(st);
}

int store_task_commit(struct store *st, int64_t id, int idx, const void *result, size_t len,
		      int64_t events, bool job_done)
{
	if ((!result && len) || idx < 0 || events < 0)
		return -EINVAL;
	if (len > INT_MAX)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = task_commit_locked(st, id, idx, result, len, events, job_done, NULL);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int store_task_skip(struct store *st, int64_t id, int idx, const void *result, size_t len,
		    const char *why, bool job_done)
{
	if ((!result && len) || idx < 0 || !why)
		return -EINVAL;
	if (len > INT_MAX)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = task_commit_locked(st, id, idx, result, len, 0, job_done, why);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void store_skips_free(struct store_skip *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].url);
		free(v[i].why);
	}
	free(v);
}

static int job_skipped_locked(struct store *st, int64_t id, struct store_skip **out, size_t *n)
{
	struct store_skip *v = NULL;
	size_t cnt = 0, capv = 0, len;
	sqlite3_stmt *s = NULL;
	int rc = job_rows(st, S_SKIPPED, id, &s);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = grow((void **)&v, &capv, cnt, sizeof(*v))) != 0)
			goto out;
		struct store_skip *k = &v[cnt++];
		memset(k, 0, sizeof(*k));
		k->idx = sqlite3_column_int(s, 0);
		k->first = sqlite3_column_int64(s, 2);
		k->last = sqlite3_column_int64(s, 3);
		if ((rc = st_column_dup(s, 1, false, &k->url, &len)) != 0 ||
		    (rc = st_column_dup(s, 4, false, &k->why, &len)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = st_errno(st->db, rc);
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	rc = 0;
out:
	st_unprep(s);
	store_skips_free(v, cnt);
	return rc;
}

int store_job_skipped(struct store *st, int64_t id, struct store_skip **out, size_t *n)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_skipped_locked(st, id, out, n);
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
	/* The type is what tells "no merge yet" (NULL) from an empty result. */
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

