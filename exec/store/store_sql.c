/* store_sql.c — the SQL of every statement and the helpers every call of
 * the job store uses: preparing, binding, stepping, transactions, column
 * reads, and sqlite's result codes as errors. */
#include "store_int.h"

#include "ana_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const st_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_JOB_INSERT] = "INSERT INTO jobs(name, uid, query, basedir, status, error, created,"
			 " started, finished, status_changed, gid, planned) VALUES(?1, ?2, ?3, ?4,"
			 " ?5, ?6, ?7, ?8, ?9, ?7, ?10, ?11)",
	[S_JOB_GET] = "SELECT name, uid, status, created, started, finished, status_changed,"
		      " result_changed, events_total, events_done, tasks_total, tasks_done,"
		      " result_version, gid, planned, reused_from, fresh FROM jobs WHERE id = ?1",
	[S_JOB_TEXT] = "SELECT query, basedir, error FROM jobs WHERE id = ?1",
	/* From after ?1, so that a listing can resume past a damaged page. */
	[S_JOB_IDS] = "SELECT id FROM jobs WHERE id > ?1 ORDER BY id",
	[S_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
	/* ?1 id, ?2 status, ?3 now, ?4 error or NULL, ?5 new status is terminal.
	 * started: the first time the job runs; finished: when it becomes
	 * terminal, back to 0 should it leave a terminal status. */
	[S_JOB_STATUS] = "UPDATE jobs SET status = ?2, status_changed = ?3,"
			 " started = CASE WHEN ?2 = 1 AND started = 0 THEN ?3 ELSE started END,"
			 " finished = CASE WHEN NOT ?5 THEN 0 WHEN finished = 0 THEN ?3"
			 " ELSE finished END,"
			 " error = COALESCE(?4, error) WHERE id = ?1",
	[S_JOB_STATE] = "SELECT status FROM jobs WHERE id = ?1",
	[S_JOB_PLANNED] = "SELECT planned FROM jobs WHERE id = ?1",
	[S_JOB_PLAN] = "UPDATE jobs SET tasks_total = ?2, events_total = ?3, planned = 1"
		       " WHERE id = ?1",
	[S_FILE_INSERT] = "INSERT INTO files(job, idx, url, tree, entries, size, mtime_ns,"
			  " fingerprint) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_FILES] = "SELECT url, tree, entries, size, mtime_ns, fingerprint FROM files"
		    " WHERE job = ?1 ORDER BY idx",
	[S_TASK_INSERT] = "INSERT INTO tasks(job, idx, url, \"first\", \"last\", done, file)"
			  " VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6)",
	[S_TASKS] = "SELECT idx, file, \"first\", \"last\", done FROM tasks WHERE job = ?1"
		    " ORDER BY idx",
	/* The last merge makes the job done in the same transaction. */
	[S_JOB_DONE] = "UPDATE jobs SET status = 3, status_changed = ?2, finished = ?2"
		       " WHERE id = ?1",
	[S_TASK_DONE] = "UPDATE tasks SET done = 1 WHERE job = ?1 AND idx = ?2 AND done = 0",
	[S_TASK_STATE] = "SELECT done FROM tasks WHERE job = ?1 AND idx = ?2",
	[S_JOB_MERGE] = "UPDATE jobs SET result_version = result_version + 1,"
			" result_changed = ?2, events_done = events_done + ?3,"
			" tasks_done = tasks_done + 1 WHERE id = ?1",
	[S_RESULT_PUT] = "INSERT INTO results(job, data) VALUES(?1, ?2)"
			 " ON CONFLICT(job) DO UPDATE SET data = excluded.data",
	/* data NULL: no merge yet. */
	[S_JOB_RESULT] = "SELECT r.data, j.result_version FROM jobs j"
			 " LEFT JOIN results r ON r.job = j.id WHERE j.id = ?1",
	[S_SKIP_INSERT] = "INSERT INTO skipped(job, idx, reason) VALUES(?1, ?2, ?3)",
	[S_SKIPPED] = "SELECT s.idx, f.url, t.\"first\", t.\"last\", s.reason FROM skipped s"
		      " JOIN tasks t ON t.job = s.job AND t.idx = s.idx"
		      " JOIN files f ON f.job = t.job AND f.idx = t.file"
		      " WHERE s.job = ?1 ORDER BY s.idx",
	[S_LOG_INSERT] = "INSERT INTO logs(job, t, text) VALUES(?1, ?2, ?3)",
	[S_LOG] = "SELECT t, text FROM logs WHERE job = ?1 ORDER BY seq",
	[S_CACHE_ADD] = "INSERT INTO job_cache(job, hits, misses, bytes_hit, bytes_fetched,"
			" bytes_prefetched) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(job) DO UPDATE"
			" SET hits = hits + excluded.hits, misses = misses + excluded.misses,"
			" bytes_hit = bytes_hit + excluded.bytes_hit,"
			" bytes_fetched = bytes_fetched + excluded.bytes_fetched,"
			" bytes_prefetched = bytes_prefetched + excluded.bytes_prefetched",
	[S_CACHE_GET] = "SELECT hits, misses, bytes_hit, bytes_fetched, bytes_prefetched"
			" FROM job_cache WHERE job = ?1",
	[S_JOB_FRESH] = "UPDATE jobs SET fresh = 1 WHERE id = ?1",
	[S_JOB_REUSE_KEY] = "UPDATE jobs SET reuse_key = ?2 WHERE id = ?1",
	/* Only a result that is whole: done, every event merged, no task
	 * left out. */
	[S_JOB_FIND_REUSE] = "SELECT id FROM jobs WHERE reuse_key = ?1 AND uid = ?2 AND id <> ?3"
			     " AND status = 3 AND planned = 1 AND events_done = events_total"
			     " AND tasks_done = tasks_total AND NOT EXISTS"
			     " (SELECT 1 FROM skipped s WHERE s.job = jobs.id)"
			     " ORDER BY id DESC LIMIT 1",
	[S_TASKS_ALL_DONE] = "UPDATE tasks SET done = 1 WHERE job = ?1",
	[S_JOB_REUSED] = "UPDATE jobs SET result_version = result_version + 1,"
			 " result_changed = ?2, events_done = events_total,"
			 " tasks_done = tasks_total, reused_from = ?3 WHERE id = ?1",
	/* Ten problems are plenty to say what is wrong. */
	[S_QUICK_CHECK] = "PRAGMA quick_check(10)",
	/* The highest job id each table knows, where the jobs table cannot
	 * say: each read on its own, so that one damaged table spoils none of
	 * the others. */
	[S_MAX_SEQ] = "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'",
	[S_MAX_TASK_JOB] = "SELECT max(job) FROM tasks",
	[S_MAX_FILE_JOB] = "SELECT max(job) FROM files",
	[S_MAX_LOG_JOB] = "SELECT max(job) FROM logs",
};


const char *job_status_name(enum job_status s)
{
	static const char *const names[] = {
		[JOB_QUEUED] = "queued", [JOB_RUNNING] = "running", [JOB_PAUSED] = "paused",
		[JOB_DONE] = "done",     [JOB_FAILED] = "failed",   [JOB_CANCELLED] = "cancelled",
		[JOB_INVALID] = "invalid",
	};
	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "unknown";
}

bool job_status_terminal(enum job_status s)
{
	return s == JOB_DONE || s == JOB_FAILED || s == JOB_CANCELLED || s == JOB_INVALID;
}

bool st_status_valid(enum job_status s)
{
	return (unsigned)s <= JOB_INVALID;
}

double st_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A sqlite result code of db as a negative errno or ANA_EDAMAGED.  -EBUSY
 * is the store's answer for "not in that status", so a database locked by
 * another process is -EAGAIN.  sqlite says SQLITE_FULL only for ENOSPC on
 * a write; other failures for space (a quota, growing the -shm file) come
 * as SQLITE_IOERR with the errno kept by the connection. */
int st_errno(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EAGAIN;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_TOOBIG:
		return -EFBIG;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ANA_EDAMAGED;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return sys > 0 ? -sys : -EIO;
	case SQLITE_IOERR:
		return sys == ENOSPC || sys == EDQUOT ? -ENOSPC : -EIO;
	default:
		return -EIO;
	}
}

/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
size_t st_cut_len(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int st_prep(struct store *st, enum stmt_id id, sqlite3_stmt **out)
{
	*out = NULL;
	if (!st->stmt[id]) {
		int rc = sqlite3_prepare_v3(st->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return st_errno(st->db, rc);
	}
	*out = st->stmt[id];
	return 0;
}

int st_prep_id(struct store *st, enum stmt_id id, int64_t v, sqlite3_stmt **out)
{
	int b = SQLITE_OK, rc = st_prep(st, id, out);
	if (rc != 0)
		return rc;
	st_bind_i64(*out, 1, v, &b);
	if ((rc = st_bound(st, *out, b)) != 0)
		*out = NULL;
	return rc;
}

/* ---- binding ---- */

void st_bind_i64(sqlite3_stmt *s, int col, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, col, v);
}

void st_bind_f64(sqlite3_stmt *s, int col, double v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_double(s, col, v);
}

void st_bind_text(sqlite3_stmt *s, int col, const char *v, size_t len, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text64(s, col, v, len, SQLITE_STATIC, SQLITE_UTF8);
}

/* A non-NULL pointer keeps an empty blob a zero-length blob, not NULL. */
void st_bind_blob(sqlite3_stmt *s, int col, const void *v, size_t len, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_blob64(s, col, v ? v : "", len, SQLITE_STATIC);
}

void st_bind_null(sqlite3_stmt *s, int col, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_null(s, col);
}

int st_bound(struct store *st, sqlite3_stmt *s, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	st_unprep(s);
	return st_errno(st->db, rc);
}

/* ---- stepping ---- */

int st_job_row(struct store *st, enum stmt_id id, int64_t job, sqlite3_stmt **out)
{
	sqlite3_stmt *s;
	int rc = st_prep_id(st, id, job, &s);
	if (rc != 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = s;
		return 0;
	}
	rc = rc == SQLITE_DONE ? -ENOENT : st_errno(st->db, rc);
	st_unprep(s);
	return rc;
}

/* sqlite3_reset() only repeats the last step's error, which the caller
 * has handled; sqlite3_clear_bindings() cannot fail. */
void st_unprep(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

int st_exec(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : st_errno(st->db, rc);
	st_unprep(s);
	return ret;
}

int st_exec_id(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, id, &s);
	return rc ? rc : st_exec(st, s);
}

/* ---- transactions ---- */

int st_begin(struct store *st)
{
	int rc = st_rollback(st);
	return rc ? rc : st_exec_id(st, S_BEGIN);
}

int st_commit(struct store *st)
{
	int rc = st_exec_id(st, S_COMMIT);
	if (rc != 0)
		st_rollback(st); /* its own failure leaves the commit's error the one to tell */
	return rc;
}

/* sqlite may have rolled back already (SQLITE_FULL, IOERR, NOMEM can end
 * the transaction), hence the autocommit test.  A rollback that fails
 * leaves the transaction open; st_begin() tries again before the next. */
int st_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return 0;
	int rc = st_exec_id(st, S_ROLLBACK);
	if (rc != 0 && sqlite3_get_autocommit(st->db))
		rc = 0;
	return rc;
}

int st_abort(struct store *st, int rc)
{
	st_rollback(st); /* rc says what went wrong; a failed rollback is retried */
	return rc;
}

int st_job_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc = st_job_row(st, S_JOB_EXISTS, id, &s);
	if (rc == 0)
		st_unprep(s);
	return rc;
}

/* ---- columns ---- */

/* The type is taken before the read: after a conversion it is undefined.
 * A NULL pointer is a NULL value, or an empty blob; else the conversion
 * (to text, or adding the NUL) found no memory. */
int st_column(sqlite3_stmt *s, int col, bool blob, const void **p, size_t *n)
{
	int type = sqlite3_column_type(s, col);
	*p = blob ? sqlite3_column_blob(s, col) : (const void *)sqlite3_column_text(s, col);
	*n = (size_t)sqlite3_column_bytes(s, col);
	if (*p || type == SQLITE_NULL)
		return 0;
	if (blob && (type == SQLITE_BLOB || type == SQLITE_TEXT) && *n == 0)
		return 0;
	return -ENOMEM;
}

int st_column_dup(sqlite3_stmt *s, int col, bool blob, char **out, size_t *len)
{
	const void *p;
	size_t n;
	int rc = st_column(s, col, blob, &p, &n);
	if (rc != 0)
		return rc;
	char *c = malloc(n + 1);
	if (!c)
		return -ENOMEM;
	if (n)
		memcpy(c, p, n);
	c[n] = '\0';
	*out = c;
	if (len)
		*len = n;
	return 0;
}
