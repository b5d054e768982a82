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
	int b = SQLITE_OK, rc = st_prep(st, S_JOB_INSERT, &s);
	if (rc != 0)
		return rc;
	if (!basedir)
		basedir = "";
	if (!error)
		error = "";
	st_bind_text(s, 1, name, st_cut_len(name, STORE_MAX_NAME), &b);
	st_bind_i64(s, 2, uid, &b);
	st_bind_blob(s, 3, query, len, &b);
	st_bind_text(s, 4, basedir, strlen(basedir), &b);
	st_bind_i64(s, 5, status, &b);
	st_bind_text(s, 6, error, st_cut_len(error, STORE_MAX_ERROR), &b);
	st_bind_f64(s, 7, t, &b);
	st_bind_f64(s, 8, status == JOB_RUNNING ? t : 0, &b);
	st_bind_f64(s, 9, job_status_terminal(status) ? t : 0, &b);
	st_bind_i64(s, 10, gid, &b);
	st_bind_i64(s, 11, job_status_terminal(status), &b); /* nothing to plan */
	if ((rc = st_bound(st, s, b)) != 0)
		return rc;
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : st_errno(st->db, rc);
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
	struct job_info ji = { .id = id };
	sqlite3_stmt *s;
	const void *name;
	size_t n;
	int rc = st_job_row(st, S_JOB_GET, id, &s);
	if (rc != 0)
		return rc;
	if ((rc = st_column(s, 0, false, &name, &n)) != 0)
		goto out;
	if (name)
		memcpy(ji.name, name, st_cut_len(name, sizeof(ji.name) - 1));
	ji.uid = (uint32_t)sqlite3_column_int64(s, 1);
	ji.status = (enum job_status)sqlite3_column_int(s, 2);
	ji.created = sqlite3_column_double(s, 3);
	ji.started = sqlite3_column_double(s, 4);
	ji.finished = sqlite3_column_double(s, 5);
	ji.status_changed = sqlite3_column_double(s, 6);
	ji.result_changed = sqlite3_column_double(s, 7);
	ji.events_total = sqlite3_column_int64(s, 8);
	ji.events_done = sqlite3_column_int64(s, 9);
	ji.tasks_total = sqlite3_column_int(s, 10);
	ji.tasks_done = sqlite3_column_int(s, 11);
	ji.result_version = sqlite3_column_int64(s, 12);
	ji.gid = (uint32_t)sqlite3_column_int64(s, 13);
	ji.planned = sqlite3_column_int(s, 14) != 0;
	ji.reused_from = sqlite3_column_int64(s, 15);
	ji.fresh = sqlite3_column_int(s, 16) != 0;
	*out = ji;
out:
	st_unprep(s);
	return rc;
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
	if (!query && len) /* the length alone: no copy */
		n = (size_t)sqlite3_column_bytes(s, 0);
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

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The ids the jobs table yields, with those whose rows are damaged (found
 * now or by store_open()'s check): a damaged job stays listed, so that
 * its error can say what happened to it. */
static int jobs_locked(struct store *st, int64_t **ids, size_t *n)
{
	int64_t *v = NULL, *bad = NULL;
	size_t nv = 0, nbad = 0;
	int rc = st_list_jobs(st, &v, &nv, &bad, &nbad);
	if (rc != 0)
		return rc;
	size_t all = nv + nbad + st->ndamaged;
	if (nbad + st->ndamaged > 0) {
		int64_t *w = realloc(v, all * sizeof(*w));
		if (!w) {
			free(v);
			free(bad);
			return -ENOMEM;
		}
		v = w;
		if (nbad)
			memcpy(v + nv, bad, nbad * sizeof(*v));
		if (st->ndamaged)
			memcpy(v + nv + nbad, st->damaged, st->ndamaged * sizeof(*v));
		qsort(v, all, sizeof(*v), cmp_id);
		size_t k = 0;
		for (size_t i = 0; i < all; i++)
			if (k == 0 || v[i] != v[k - 1])
				v[k++] = v[i];
		nv = k;
	}
	free(bad);
	*ids = v;
	*n = nv;
	return 0;
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

int st_set_status(struct store *st, int64_t id, enum job_status status, const char *error)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_prep_id(st, S_JOB_STATUS, id, &s);
	if (rc != 0)
		return rc;
	st_bind_i64(s, 2, status, &b);
	st_bind_f64(s, 3, st_now(), &b);
	if (error)
		st_bind_text(s, 4, error, st_cut_len(error, STORE_MAX_ERROR), &b);
	else
		st_bind_null(s, 4, &b);
	st_bind_i64(s, 5, job_status_terminal(status), &b);
	return (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
}

static int transition_locked(struct store *st, int64_t id, unsigned from, enum job_status to,
			     const char *error)
{
	enum job_status now;
	int rc = st_begin(st);
	if (rc != 0)
		return rc;
	if ((rc = job_state(st, id, &now)) != 0)
		return st_abort(st, rc);
	if (!(JOB_MASK(now) & from))
		return st_abort(st, -EBUSY);
	if ((rc = st_set_status(st, id, to, error)) != 0)
		return st_abort(st, rc);
	return st_commit(st);
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

int st_log_line(struct store *st, int64_t id, const char *line)
{
	sqlite3_stmt *s;
	int b = SQLITE_OK, rc = st_job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = st_prep_id(st, S_LOG_INSERT, id, &s)) != 0)
		return rc;
	st_bind_f64(s, 2, st_now(), &b);
	st_bind_text(s, 3, line, strlen(line), &b);
	return (rc = st_bound(st, s, b)) ? rc : st_exec(st, s);
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
	int rc = st_log_line(st, id, line);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* The lines of the log, s on its first row, into b; *tlast: the last
 * line's time. */
static int log_lines(struct store *st, sqlite3_stmt *s, struct strbuf *b, double *tlast)
{
	int rc;
	do {
		char stamp[64];
		struct tm tm;
		const void *msg;
		size_t n;
		double t = sqlite3_column_double(s, 0);
		time_t secs = (time_t)t;
		if ((rc = st_column(s, 1, false, &msg, &n)) != 0)
			return rc;
		if (!gmtime_r(&secs, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ", &tm))
			strcpy(stamp, "0000-00-00T00:00:00Z ");
		strbuf_puts(b, stamp);
		strbuf_put(b, msg ? msg : "", n);
		strbuf_putc(b, '\n');
		*tlast = t;
	} while ((rc = sqlite3_step(s)) == SQLITE_ROW);
	return rc == SQLITE_DONE ? 0 : st_errno(st->db, rc);
}

static int job_log_locked(struct store *st, int64_t id, char **text, size_t *len, double *last)
{
	struct strbuf b = STRBUF_INIT;
	double tlast = 0;
	sqlite3_stmt *s = NULL;
	int rc = st_job_row(st, S_LOG, id, &s);
	if (rc == -ENOENT) /* no line yet: a job without one is still a job */
		rc = st_job_exists(st, id);
	else if (rc == 0)
		rc = log_lines(st, s, &b, &tlast);
	st_unprep(s);
	if (rc == 0 && (rc = strbuf_finish(&b, text, len)) == 0 && last)
		*last = tlast;
	if (rc != 0)
		strbuf_free(&b);
	return rc;
}

int store_job_log(struct store *st, int64_t id, char **text, size_t *len, double *last)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_log_locked(st, id, text, len, last);
	pthread_mutex_unlock(&st->mu);
	return rc;
}
