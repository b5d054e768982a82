/* store_jobs.c — jobs (create, read, status transitions) and their logs. */
#include "store_int.h"

#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- jobs ---- */

static int job_create_locked(struct store *st, const char *name, uint32_t uid, uint32_t gid,
			     const char *query, size_t len, const char *basedir,
			     enum job_status status, const char *error, int64_t *id)
{
	sqlite3_stmt *s;
	double t = st_now();
	int rc = st_prep(st, S_JOB_INSERT, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, name, (int)st_cut_len(name, STORE_MAX_NAME), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, uid);
	/* A non-NULL pointer keeps an empty query a zero-length blob, not NULL. */
	sqlite3_bind_blob(s, 3, query ? query : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, basedir ? basedir : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, status);
	sqlite3_bind_text(s, 6, error ? error : "", (int)st_cut_len(error ? error : "", STORE_MAX_ERROR),
			  SQLITE_STATIC);
	sqlite3_bind_double(s, 7, t);
	sqlite3_bind_double(s, 8, status == JOB_RUNNING ? t : 0);
	sqlite3_bind_double(s, 9, job_status_terminal(status) ? t : 0);
	sqlite3_bind_int64(s, 10, gid);
	sqlite3_bind_int(s, 11, job_status_terminal(status)); /* nothing to plan */
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : st_errno(rc);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	st_unprep(s);
	return rc;
}

int store_job_create(struct store *st, const char *name, uint32_t uid, uint32_t gid,
		     const char *query, size_t len, const char *basedir, enum job_status status, const char *error,
		     int64_t *id)
{
	if (!name || (!query && len) || !st_status_valid(status))
		return -EINVAL;
	if (len > STORE_MAX_QUERY)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = job_create_locked(st, name, uid, gid, query, len, basedir, status, error, id);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_get_locked(struct store *st, int64_t id, struct job_info *out)
{
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_GET, id, &s);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = id;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	if (name)
		memcpy(out->name, name, st_cut_len(name, sizeof(out->name) - 1));
	out->uid = (uint32_t)sqlite3_column_int64(s, 1);
	out->status = (enum job_status)sqlite3_column_int(s, 2);
	out->created = sqlite3_column_double(s, 3);
	out->started = sqlite3_column_double(s, 4);
	out->finished = sqlite3_column_double(s, 5);
	out->status_changed = sqlite3_column_double(s, 6);
	out->result_changed = sqlite3_column_double(s, 7);
	out->events_total = sqlite3_column_int64(s, 8);
	out->events_done = sqlite3_column_int64(s, 9);
	out->tasks_total = sqlite3_column_int(s, 10);
	out->tasks_done = sqlite3_column_int(s, 11);
	out->result_version = sqlite3_column_int64(s, 12);
	out->gid = (uint32_t)sqlite3_column_int64(s, 13);
	out->planned = sqlite3_column_int(s, 14) != 0;
	st_unprep(s);
	return 0;
}

int store_job_get(struct store *st, int64_t id, struct job_info *out)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_get_locked(st, id, out);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_text_locked(struct store *st, int64_t id, char **query, size_t *len,
			   char **basedir, char **error)
{
	char *q = NULL, *b = NULL, *e = NULL;
	size_t n = 0;
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_TEXT, id, &s);
	if (rc != 0)
		return rc;
	rc = 0;
	if (query && (rc = st_column_dup(s, 0, true, &q, &n)) != 0)
		goto out;
	if (basedir && (rc = st_column_dup(s, 1, false, &b, NULL)) != 0)
		goto out;
	if (error && (rc = st_column_dup(s, 2, false, &e, NULL)) != 0)
		goto out;
	if (query) {
		*query = q;
		q = NULL;
	}
	if (len)
		*len = n;
	if (basedir) {
		*basedir = b;
		b = NULL;
	}
	if (error) {
		*error = e;
		e = NULL;
	}
out:
	st_unprep(s);
	free(q);
	free(b);
	free(e);
	return rc;
}

int store_job_text(struct store *st, int64_t id, char **query, size_t *len, char **basedir,
		   char **error)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_text_locked(st, id, query, len, basedir, error);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int jobs_locked(struct store *st, int64_t **ids, size_t *n)
{
	int64_t *v = NULL;
	size_t cnt = 0, capv = 0;
	sqlite3_stmt *s;
	int rc = st_prep(st, S_JOB_IDS, &s);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == capv) {
			size_t c = capv ? 2 * capv : 64;
			int64_t *nv = realloc(v, c * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			capv = c;
		}
		v[cnt++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);
		goto out;
	}
	*ids = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	st_unprep(s);
	free(v);
	return rc;
}

int store_jobs(struct store *st, int64_t **ids, size_t *n)
{
	pthread_mutex_lock(&st->mu);
	int rc = jobs_locked(st, ids, n);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* The job's status now: 0 with *out, -ENOENT, or an error. */
static int job_state(struct store *st, int64_t id, enum job_status *out)
{
	sqlite3_stmt *s;
	int rc = st_job_row(st, S_JOB_STATE, id, &s);
	if (rc != 0)
		return rc;
	*out = (enum job_status)sqlite3_column_int(s, 0);
	st_unprep(s);
	return 0;
}

static int set_status(struct store *st, int64_t id, enum job_status status, const char *error)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_JOB_STATUS, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, status);
	sqlite3_bind_double(s, 3, st_now());
	if (error)
		sqlite3_bind_text(s, 4, error, (int)st_cut_len(error, STORE_MAX_ERROR), SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int(s, 5, job_status_terminal(status));
	return st_exec(s);
}

static int transition_locked(struct store *st, int64_t id, unsigned from, enum job_status to,
			     const char *error)
{
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	enum job_status now;
	if ((rc = job_state(st, id, &now)) != 0)
		goto fail;
	if (!(JOB_MASK(now) & from)) {
		rc = -EBUSY;
		goto fail;
	}
	if ((rc = set_status(st, id, to, error)) != 0)
		goto fail;
	return st_commit(st);
fail:
	st_rollback(st);
	return rc;
}

int store_job_transition(struct store *st, int64_t id, unsigned from, enum job_status to,
			 const char *error)
{
	if (!st_status_valid(to))
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	int rc = transition_locked(st, id, from, to, error);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- logs ---- */

static int log_locked(struct store *st, int64_t id, const char *line)
{
	sqlite3_stmt *s;
	int rc = st_job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = st_prep(st, S_LOG_INSERT, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_double(s, 2, st_now());
	sqlite3_bind_text(s, 3, line, -1, SQLITE_STATIC);
	return st_exec(s);
}

int store_log(struct store *st, int64_t id, const char *fmt, ...)
{
	char line[STORE_MAX_LOGLINE + 1]; /* one spare byte shows where a cut lands */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	line[st_cut_len(line, STORE_MAX_LOGLINE - 1)] = '\0';
	/* One entry is one line of the rendered log. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&st->mu);
	int rc = log_locked(st, id, line);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_log_locked(struct store *st, int64_t id, char **text, size_t *len, double *last)
{
	struct strbuf b = STRBUF_INIT;
	double tlast = 0;
	sqlite3_stmt *s = NULL;
	int rc = st_job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = st_prep(st, S_LOG, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char stamp[64];
		struct tm tm;
		double t = sqlite3_column_double(s, 0);
		time_t secs = (time_t)t;
		const char *msg = (const char *)sqlite3_column_text(s, 1);
		if (!gmtime_r(&secs, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ", &tm))
			strcpy(stamp, "0000-00-00T00:00:00Z ");
		strbuf_puts(&b, stamp);
		strbuf_puts(&b, msg ? msg : "");
		strbuf_putc(&b, '\n');
		tlast = t;
	}
	if (rc != SQLITE_DONE) {
		rc = st_errno(rc);
		strbuf_free(&b);
	} else if ((rc = strbuf_finish(&b, text, len)) == 0 && last) {
		*last = tlast;
	}
	st_unprep(s);
	return rc;
}

int store_job_log(struct store *st, int64_t id, char **text, size_t *len, double *last)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_log_locked(st, id, text, len, last);
	pthread_mutex_unlock(&st->mu);
	return rc;
}
