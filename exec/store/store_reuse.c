/* store_reuse.c — a job's result taken from an earlier job of the same
 * query over the same files: the reuse key recorded at planning, the
 * lookup of a job whose result is whole, and taking its bytes. */
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* An UPDATE of job id's row: -ENOENT when it has none. */
static int update_job(struct store *st, sqlite3_stmt *s, int b)
{
	int rc = st_bound(st, s, b);
	if (rc == 0 && (rc = st_exec(st, s)) == 0 && sqlite3_changes(st->db) == 0)
		rc = -ENOENT;
	return rc;
}

int store_job_set_fresh(struct store *st, int64_t id)
{
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *s;
	int rc = st_prep_id(st, S_JOB_FRESH, id, &s);
	if (rc == 0)
		rc = update_job(st, s, SQLITE_OK);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int store_job_set_reuse_key(struct store *st, int64_t id, const char *key)
{
	if (!key || !*key)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_prep_id(st, S_JOB_REUSE_KEY, id, &s);
	if (rc == 0) {
		st_bind_text(s, 2, key, strlen(key), &b);
		rc = update_job(st, s, b);
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int store_job_find_reuse(struct store *st, const char *key, uint32_t uid, int64_t id,
			 int64_t *from)
{
	if (!key || !*key)
		return -EINVAL;
	*from = 0;
	pthread_mutex_lock(&st->mu);
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_prep(st, S_JOB_FIND_REUSE, &s);
	if (rc == 0) {
		st_bind_text(s, 1, key, strlen(key), &b);
		st_bind_i64(s, 2, uid, &b);
		st_bind_i64(s, 3, id, &b);
		if ((rc = st_bound(st, s, b)) == 0) {
			int step = sqlite3_step(s);
			if (step == SQLITE_ROW)
				*from = sqlite3_column_int64(s, 0);
			else if (step != SQLITE_DONE)
				rc = st_errno(st->db, step);
			st_unprep(s);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* 0 when job id is planned and not over, -EBUSY when it is over or not
 * planned. */
static int job_open_planned(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_GET, id, &s);
	if (rc != 0)
		return rc;
	bool active = JOB_MASK(sqlite3_column_int(s, 2)) & JOB_MASK_ACTIVE;
	bool planned = sqlite3_column_int(s, 14) != 0;
	st_unprep(s);
	return active && planned ? 0 : -EBUSY;
}

static int reuse_locked(struct store *st, int64_t id, int64_t from, const void *result,
			size_t len)
{
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	sqlite3_stmt *s;
	int b = SQLITE_OK;
	if ((rc = job_open_planned(st, id)) != 0 ||
	    (rc = st_prep_id(st, S_TASKS_ALL_DONE, id, &s)) != 0 || (rc = st_exec(st, s)) != 0 ||
	    (rc = st_prep_id(st, S_RESULT_PUT, id, &s)) != 0)
		return st_abort(st, rc);
	st_bind_blob(s, 2, result, len, &b);
	if ((rc = st_bound(st, s, b)) != 0 || (rc = st_exec(st, s)) != 0 ||
	    (rc = st_prep_id(st, S_JOB_REUSED, id, &s)) != 0)
		return st_abort(st, rc);
	st_bind_f64(s, 2, st_now(), &b);
	st_bind_i64(s, 3, from, &b);
	if ((rc = update_job(st, s, b)) != 0)
		return st_abort(st, rc);
	return st_commit(st);
}

int store_job_reuse(struct store *st, int64_t id, int64_t from, const void *result, size_t len)
{
	if (!result || !len || from <= 0)
		return -EINVAL;
	if (len > INT_MAX)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = reuse_locked(st, id, from, result, len);
	pthread_mutex_unlock(&st->mu);
	return rc;
}
