/* store_int.h — what the files of the job store share: the connection and
 * its cached statements, and the helpers every call uses.
 *
 * One connection, opened without sqlite's own mutexes, guarded by st->mu:
 * every public call takes the mutex for its whole length, so statements
 * cached on the connection are never shared between threads.  Every value
 * is bound to a prepared statement; no SQL text is built at run time.
 *
 * Checking sqlite's results.  Every prepare, bind, step and exec is
 * checked, and a failure becomes a negative errno through st_errno().
 * Binds go through st_bind_*(), which stop at the first failure so that a
 * statement never runs with a value left unbound (NULL).  Not checked, on
 * purpose: sqlite3_reset() and sqlite3_finalize() (they only repeat the
 * error of the last step, which whoever stepped has handled),
 * sqlite3_clear_bindings() (always SQLITE_OK), and the numeric column
 * reads (they convert without allocating, so they cannot fail).  Text and
 * blob column reads can fail for memory: st_column() tells that from a
 * NULL value. */
#ifndef ANAFS_STORE_INT_H
#define ANAFS_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_QUERY (1u << 20)  /* bytes of query text */
#define STORE_MAX_NAME 255          /* bytes of a job name */
#define STORE_MAX_ERROR 8192        /* bytes of a job's error text */
#define STORE_MAX_LOGLINE 4096      /* bytes of one log line, with its NUL */
#define STORE_MAX_SUMMARY 1024      /* bytes of store_damaged()'s summary */
#define STORE_BUSY_MS 5000

/* The statements, prepared on first use and kept for the connection. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_JOB_INSERT,
	S_JOB_GET,
	S_JOB_TEXT,
	S_JOB_IDS,
	S_JOB_EXISTS,
	S_JOB_STATUS,
	S_JOB_STATE,
	S_FILE_INSERT,
	S_FILES,
	S_JOB_DONE,
	S_JOB_PLANNED,
	S_JOB_PLAN,
	S_TASK_INSERT,
	S_TASKS,
	S_TASK_DONE,
	S_TASK_STATE,
	S_JOB_MERGE,
	S_RESULT_PUT,
	S_JOB_RESULT,
	S_SKIP_INSERT,
	S_SKIPPED,
	S_LOG_INSERT,
	S_LOG,
	S_CACHE_ADD,
	S_CACHE_GET,
	S_JOB_FRESH,
	S_JOB_REUSE_KEY,
	S_JOB_FIND_REUSE,
	S_TASKS_ALL_DONE,
	S_JOB_REUSED,
	/* The damage scan (store_check.c). */
	S_QUICK_CHECK,
	S_MAX_SEQ,
	S_MAX_TASK_JOB,
	S_MAX_FILE_JOB,
	S_MAX_LOG_JOB,
	S_NSTMT
};

struct store {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *stmt[S_NSTMT];
	/* What store_open()'s check found (store_damaged()). */
	int64_t *damaged;
	size_t ndamaged;
	char *summary;
};

extern const char *const st_sql[S_NSTMT];

/* Unix seconds now. */
double st_now(void);
/* A sqlite result code of db as a negative errno or ANA_EDAMAGED. */
int st_errno(sqlite3 *db, int rc);
/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
size_t st_cut_len(const char *s, size_t max);
/* The cached statement id, reset and ready to bind. */
int st_prep(struct store *st, enum stmt_id id, sqlite3_stmt **out);
/* The same with v (a job id, mostly) bound to ?1: 0, or an error with the
 * statement released. */
int st_prep_id(struct store *st, enum stmt_id id, int64_t v, sqlite3_stmt **out);

/* Bind a value to parameter col; each does nothing once *rc (a sqlite
 * code, SQLITE_OK to start) says an earlier bind failed.  Text and blobs
 * are borrowed until the statement is reset. */
void st_bind_i64(sqlite3_stmt *s, int col, int64_t v, int *rc);
void st_bind_f64(sqlite3_stmt *s, int col, double v, int *rc);
void st_bind_text(sqlite3_stmt *s, int col, const char *v, size_t len, int *rc);
void st_bind_blob(sqlite3_stmt *s, int col, const void *v, size_t len, int *rc);
void st_bind_null(sqlite3_stmt *s, int col, int *rc);
/* After the binds: 0, or their error with the statement released. */
int st_bound(struct store *st, sqlite3_stmt *s, int rc);

/* Prepare statement id, bind a job id and step to its row: 0 with *out on
 * the row (st_unprep() it), -ENOENT when there is none, else an error (the
 * statement already released). */
int st_job_row(struct store *st, enum stmt_id id, int64_t job, sqlite3_stmt **out);
/* Done with a statement: release its locks and bound values. */
void st_unprep(sqlite3_stmt *s);
/* Run a bound statement that returns no rows (BEGIN, an UPDATE), then
 * release it. */
int st_exec(struct store *st, sqlite3_stmt *s);
int st_exec_id(struct store *st, enum stmt_id id);
/* Start a write transaction (rolling back first one a failed rollback
 * left open). */
int st_begin(struct store *st);
/* Commit; on failure the transaction is rolled back. */
int st_commit(struct store *st);
/* Roll back the open transaction, if any: 0, or why it could not be. */
int st_rollback(struct store *st);
/* Roll back and return rc, the error that made the transaction fail. */
int st_abort(struct store *st, int rc);
/* 0 when job id exists, -ENOENT when not, or an error. */
int st_job_exists(struct store *st, int64_t id);
/* Column col as text (NUL-terminated) or as a blob: *p (NULL for a NULL
 * value or an empty blob) valid until the next step, *n its bytes.  0, or
 * -ENOMEM when sqlite could not convert it. */
int st_column(sqlite3_stmt *s, int col, bool blob, const void **p, size_t *n);
/* A new NUL-terminated copy of column col: text, or a blob of *len bytes. */
int st_column_dup(sqlite3_stmt *s, int col, bool blob, char **out, size_t *len);
bool st_status_valid(enum job_status s);

/* Set job id's status (and its error when not NULL), stamping started and
 * finished as the status implies (store_jobs.c). */
int st_set_status(struct store *st, int64_t id, enum job_status status, const char *error);
/* Append line (at most STORE_MAX_LOGLINE bytes, one line) to the job's log. */
int st_log_line(struct store *st, int64_t id, const char *line);

/* Every job id the jobs table yields, ascending, stepping over damaged
 * pages (store_check.c): *ids new; *bad (new, may be NULL with *nbad 0):
 * the ids whose rows could not be read.  0 or an error other than
 * damage. */
int st_list_jobs(struct store *st, int64_t **ids, size_t *n, int64_t **bad, size_t *nbad);
/* store_open()'s check: PRAGMA quick_check and, when it finds damage, the
 * jobs affected, marked failed (store_check.c).  path names the database
 * in the summary.  0 or an error with msg saying why. */
int st_check(struct store *st, const char *path, char *msg, size_t cap);

#endif
