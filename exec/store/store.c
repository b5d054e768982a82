/* store.c — the job store on sqlite.
 *
 * One connection, opened without sqlite's own mutexes, guarded by st->mu:
 * every public call takes the mutex for its whole length, so statements
 * cached on the connection are never shared between threads.  Every value
 * is bound to a prepared statement; the only SQL text built at run time is
 * none at all.
 *
 * Durability.  The database runs in WAL mode with synchronous=NORMAL: a
 * committed transaction is in the WAL file (written, not fsync'ed) before
 * COMMIT returns, so it survives the process being killed at any moment
 * (kill -9 of the daemon).  A power loss or kernel crash may lose the last
 * few transactions, but never corrupts the database nor splits one: a task
 * is either merged and marked done, or neither. */
#include "store.h"

#include "strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_MAX_QUERY (1u << 20)  /* bytes of query text */
#define STORE_MAX_NAME 255          /* bytes of a job name */
#define STORE_MAX_ERROR 8192        /* bytes of a job's error text */
#define STORE_MAX_LOGLINE 4096      /* bytes of one log line, with its NUL */
#define STORE_BUSY_MS 5000

/* migrations[i] takes a database from schema version i to i + 1, inside
 * the transaction store_migrate() opens.  Append; never edit a step that
 * has shipped. */
static const char *const migrations[] = {
	/* 0 -> 1: the initial tables. */
	"CREATE TABLE jobs("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL,"
	" uid INTEGER NOT NULL,"
	" query BLOB NOT NULL,"
	" basedir TEXT NOT NULL,"
	" status INTEGER NOT NULL,"
	" error TEXT NOT NULL DEFAULT '',"
	" created REAL NOT NULL,"
	" started REAL NOT NULL DEFAULT 0,"
	" finished REAL NOT NULL DEFAULT 0,"
	" status_changed REAL NOT NULL,"
	" result_changed REAL NOT NULL DEFAULT 0,"
	" events_total INTEGER NOT NULL DEFAULT 0,"
	" events_done INTEGER NOT NULL DEFAULT 0,"
	" tasks_total INTEGER NOT NULL DEFAULT 0,"
	" tasks_done INTEGER NOT NULL DEFAULT 0,"
	" result BLOB,"
	" result_version INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE tasks("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" url TEXT NOT NULL,"
	" \"first\" INTEGER NOT NULL,"
	" \"last\" INTEGER NOT NULL,"
	" done INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(job, idx)) WITHOUT ROWID;"
	"CREATE TABLE logs("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" t REAL NOT NULL,"
	" text TEXT NOT NULL);"
	"CREATE INDEX logs_job ON logs(job, seq);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

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
	S_JOB_PLANNED,
	S_JOB_PLAN,
	S_TASK_INSERT,
	S_TASKS,
	S_TASK_DONE,
	S_TASK_STATE,
	S_JOB_MERGE,
	S_JOB_RESULT,
	S_LOG_INSERT,
	S_LOG,
	S_NSTMT
};

static const char *const stmt_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_JOB_INSERT] = "INSERT INTO jobs(name, uid, query, basedir, status, error, created,"
			 " started, finished, status_changed) VALUES(?1, ?2, ?3, ?4, ?5, ?6,"
			 " ?7, ?8, ?9, ?7)",
	[S_JOB_GET] = "SELECT name, uid, status, created, started, finished, status_changed,"
		      " result_changed, events_total, events_done, tasks_total, tasks_done,"
		      " result_version FROM jobs WHERE id = ?1",
	[S_JOB_TEXT] = "SELECT query, basedir, error FROM jobs WHERE id = ?1",
	[S_JOB_IDS] = "SELECT id FROM jobs ORDER BY id",
	[S_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
	/* ?1 id, ?2 status, ?3 now, ?4 error or NULL, ?5 new status is terminal.
	 * started: the first time the job runs; finished: when it becomes
	 * terminal, back to 0 should it leave a terminal status. */
	[S_JOB_STATUS] = "UPDATE jobs SET status = ?2, status_changed = ?3,"
			 " started = CASE WHEN ?2 = 1 AND started = 0 THEN ?3 ELSE started END,"
			 " finished = CASE WHEN NOT ?5 THEN 0 WHEN finished = 0 THEN ?3"
			 " ELSE finished END,"
			 " error = COALESCE(?4, error) WHERE id = ?1",
	[S_JOB_PLANNED] = "SELECT tasks_total > 0 OR EXISTS(SELECT 1 FROM tasks WHERE job = ?1)"
			  " FROM jobs WHERE id = ?1",
	[S_JOB_PLAN] = "UPDATE jobs SET tasks_total = ?2, events_total = ?3 WHERE id = ?1",
	[S_TASK_INSERT] = "INSERT INTO tasks(job, idx, url, \"first\", \"last\", done)"
			  " VALUES(?1, ?2, ?3, ?4, ?5, 0)",
	[S_TASKS] = "SELECT idx, url, \"first\", \"last\", done FROM tasks WHERE job = ?1"
		    " ORDER BY idx",
	[S_TASK_DONE] = "UPDATE tasks SET done = 1 WHERE job = ?1 AND idx = ?2 AND done = 0",
	[S_TASK_STATE] = "SELECT done FROM tasks WHERE job = ?1 AND idx = ?2",
	[S_JOB_MERGE] = "UPDATE jobs SET result = ?2, result_version = result_version + 1,"
			" result_changed = ?3, events_done = events_done + ?4,"
			" tasks_done = tasks_done + 1 WHERE id = ?1",
	[S_JOB_RESULT] = "SELECT result, result_version FROM jobs WHERE id = ?1",
	[S_LOG_INSERT] = "INSERT INTO logs(job, t, text) VALUES(?1, ?2, ?3)",
	[S_LOG] = "SELECT t, text FROM logs WHERE job = ?1 ORDER BY seq",
};

struct store {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *stmt[S_NSTMT];
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

static bool status_valid(enum job_status s)
{
	return (unsigned)s <= JOB_INVALID;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A sqlite result code as a negative errno. */
static int sq_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_TOOBIG:
		return -EFBIG;
	default:
		return -EIO;
	}
}

/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t cut_len(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The cached statement id, reset and ready to bind. */
static int prep(struct store *st, enum stmt_id id, sqlite3_stmt **out)
{
	*out = NULL;
	if (!st->stmt[id]) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return sq_errno(rc);
	}
	*out = st->stmt[id];
	return 0;
}

/* Prepare statement id, bind a job id and step to its row: 0 with *out
 * on the row (unprep() it), -ENOENT when there is none, else an error
 * (the statement already released). */
static int job_row(struct store *st, enum stmt_id id, int64_t job, sqlite3_stmt **out)
{
	int rc = prep(st, id, out);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(*out, 1, job);
	rc = sqlite3_step(*out);
	if (rc == SQLITE_ROW)
		return 0;
	sqlite3_reset(*out);
	sqlite3_clear_bindings(*out);
	*out = NULL;
	return rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
}

/* Done with a statement: release its locks and bound values. */
static void unprep(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* Run a statement that returns no rows (BEGIN, an UPDATE). */
static int exec_stmt(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : sq_errno(rc);
	unprep(s);
	return ret;
}

static int exec_id(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s;
	int rc = prep(st, id, &s);
	return rc ? rc : exec_stmt(s);
}

static int begin(struct store *st)
{
	return exec_id(st, S_BEGIN);
}

/* Commit; on failure the transaction is rolled back. */
static int commit(struct store *st)
{
	int rc = exec_id(st, S_COMMIT);
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		exec_id(st, S_ROLLBACK);
	return rc;
}

static void rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		exec_id(st, S_ROLLBACK);
}

/* 0 when job id exists, -ENOENT when not, or an error. */
static int job_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc = prep(st, S_JOB_EXISTS, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
	unprep(s);
	return rc;
}

/* ---- opening and migrating ---- */

/* Say why opening failed in msg (cap bytes); returns rc. */
static int open_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int open_fail(char *msg, size_t cap, int rc, const char *fmt, ...)
{
	if (msg && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* The schema version stored in meta: 0 for a new, empty database.  A
 * database holding tables but no meta is someone else's: refused. */
static int read_version(sqlite3 *db, long *version, char *msg, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db,
				    "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'meta'),"
				    " (SELECT count(*) FROM sqlite_master)",
				    -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) != SQLITE_ROW)
		rc = sqlite3_errcode(db);
	if (rc != SQLITE_OK) {
		rc = open_fail(msg, cap, sq_errno(rc), "reading the schema: %s", sqlite3_errmsg(db));
		goto out;
	}
	bool has_meta = sqlite3_column_int(s, 0) > 0;
	int nobjects = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	s = NULL;
	if (!has_meta) {
		if (nobjects > 0) {
			rc = open_fail(msg, cap, -EPROTO,
				       "not an anafs job database (tables but no meta table)");
			goto out;
		}
		*version = 0;
		goto out;
	}
	rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
				NULL);
	if (rc != SQLITE_OK) {
		rc = open_fail(msg, cap, sq_errno(rc), "reading the schema version: %s",
			       sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE
			     ? open_fail(msg, cap, -EPROTO, "no schema_version in meta")
			     : open_fail(msg, cap, sq_errno(rc), "reading the schema version: %s",
					 sqlite3_errmsg(db));
		goto out;
	}
	const char *v = (const char *)sqlite3_column_text(s, 0);
	char *end = NULL;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : -1;
	if (!v || end == v || *end || errno || n < 1) {
		rc = open_fail(msg, cap, -EPROTO, "bad schema_version '%s' in meta",
			       v ? v : "(null)");
		goto out;
	}
	*version = n;
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

static int write_version(sqlite3 *db, long version)
{
	char v[32];
	sqlite3_stmt *s = NULL;
	snprintf(v, sizeof(v), "%ld", version);
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO meta(key, value) VALUES('schema_version', ?1)"
				    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
				    -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, v, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Bring the schema to STORE_SCHEMA_VERSION in one transaction. */
static int migrate(sqlite3 *db, char *msg, size_t cap)
{
	long version = 0;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return open_fail(msg, cap, sq_errno(rc), "starting the migration: %s",
				 sqlite3_errmsg(db));
	rc = read_version(db, &version, msg, cap);
	if (rc != 0)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		rc = open_fail(msg, cap, -EPROTO,
			       "database schema version %ld is newer than this anafs knows (%d):"
			       " written by a newer anafs",
			       version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version == STORE_SCHEMA_VERSION)
		goto done;
	if (version == 0) {
		rc = sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)", NULL,
				  NULL, NULL);
		if (rc != SQLITE_OK)
			goto sqlfail;
	}
	for (long v = version; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto sqlfail;
	}
	rc = write_version(db, STORE_SCHEMA_VERSION);
	if (rc != SQLITE_OK)
		goto sqlfail;
done:
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	return 0;
sqlfail:
	rc = open_fail(msg, cap, sq_errno(rc), "migrating the schema: %s", sqlite3_errmsg(db));
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* WAL, NORMAL sync, a busy timeout, foreign keys. */
static int configure(sqlite3 *db, char *msg, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_busy_timeout(db, STORE_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(s, 0);
		if (!mode || strcmp(mode, "wal") != 0) {
			rc = open_fail(msg, cap, -ENOTSUP, "cannot use WAL mode (journal mode '%s')",
				       mode ? mode : "");
			sqlite3_finalize(s);
			return rc;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL,
				  NULL, NULL);
	if (rc != SQLITE_OK)
		return open_fail(msg, cap, sq_errno(rc), "configuring the database: %s",
				 sqlite3_errmsg(db));
	return 0;
}

int store_open(const char *path, struct store **out, char *msg, size_t cap)
{
	struct store *st = NULL;
	sqlite3 *db = NULL;
	int rc;

	if (msg && cap)
		msg[0] = '\0';
	if (!sqlite3_threadsafe())
		return open_fail(msg, cap, -ENOTSUP, "sqlite built without thread support");
	st = calloc(1, sizeof(*st));
	if (!st)
		return open_fail(msg, cap, -ENOMEM, "out of memory");
	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = open_fail(msg, cap, db ? sq_errno(rc) : -ENOMEM, "%s: %s", path,
			       db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 0);
	rc = configure(db, msg, cap);
	if (rc == 0)
		rc = migrate(db, msg, cap);
	if (rc != 0)
		goto fail;
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		rc = open_fail(msg, cap, -ENOMEM, "cannot create a mutex");
		goto fail;
	}
	st->db = db;
	*out = st;
	return 0;
fail:
	sqlite3_close(db);
	free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* ---- jobs ---- */

static int job_create_locked(struct store *st, const char *name, uint32_t uid,
			     const char *query, size_t len, const char *basedir,
			     enum job_status status, const char *error, int64_t *id)
{
	sqlite3_stmt *s;
	double t = now();
	int rc = prep(st, S_JOB_INSERT, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(s, 1, name, (int)cut_len(name, STORE_MAX_NAME), SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, uid);
	/* A non-NULL pointer keeps an empty query a zero-length blob, not NULL. */
	sqlite3_bind_blob(s, 3, query ? query : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, basedir ? basedir : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, status);
	sqlite3_bind_text(s, 6, error ? error : "", (int)cut_len(error ? error : "", STORE_MAX_ERROR),
			  SQLITE_STATIC);
	sqlite3_bind_double(s, 7, t);
	sqlite3_bind_double(s, 8, status == JOB_RUNNING ? t : 0);
	sqlite3_bind_double(s, 9, job_status_terminal(status) ? t : 0);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : sq_errno(rc);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	unprep(s);
	return rc;
}

int store_job_create(struct store *st, const char *name, uint32_t uid, const char *query,
		     size_t len, const char *basedir, enum job_status status, const char *error,
		     int64_t *id)
{
	if (!name || (!query && len) || !status_valid(status))
		return -EINVAL;
	if (len > STORE_MAX_QUERY)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = job_create_locked(st, name, uid, query, len, basedir, status, error, id);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_get_locked(struct store *st, int64_t id, struct job_info *out)
{
	sqlite3_stmt *s;
	int rc = job_row(st, S_JOB_GET, id, &s);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = id;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	if (name)
		memcpy(out->name, name, cut_len(name, sizeof(out->name) - 1));
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
	unprep(s);
	return 0;
}

int store_job_get(struct store *st, int64_t id, struct job_info *out)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_get_locked(st, id, out);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* A new NUL-terminated copy of column col: text, or a blob of *len bytes. */
static int column_dup(sqlite3_stmt *s, int col, bool blob, char **out, size_t *len)
{
	const void *p = blob ? sqlite3_column_blob(s, col) : sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (!p && sqlite3_errcode(sqlite3_db_handle(s)) == SQLITE_NOMEM)
		return -ENOMEM;
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

static int job_text_locked(struct store *st, int64_t id, char **query, size_t *len,
			   char **basedir, char **error)
{
	char *q = NULL, *b = NULL, *e = NULL;
	size_t n = 0;
	sqlite3_stmt *s;
	int rc = job_row(st, S_JOB_TEXT, id, &s);
	if (rc != 0)
		return rc;
	rc = 0;
	if (query && (rc = column_dup(s, 0, true, &q, &n)) != 0)
		goto out;
	if (basedir && (rc = column_dup(s, 1, false, &b, NULL)) != 0)
		goto out;
	if (error && (rc = column_dup(s, 2, false, &e, NULL)) != 0)
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
	unprep(s);
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
	int rc = prep(st, S_JOB_IDS, &s);
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
		rc = sq_errno(rc);
		goto out;
	}
	*ids = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	unprep(s);
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

static int job_set_status_locked(struct store *st, int64_t id, enum job_status status,
				 const char *error)
{
	sqlite3_stmt *s;
	int rc = prep(st, S_JOB_STATUS, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, status);
	sqlite3_bind_double(s, 3, now());
	if (error)
		sqlite3_bind_text(s, 4, error, (int)cut_len(error, STORE_MAX_ERROR), SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int(s, 5, job_status_terminal(status));
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? (sqlite3_changes(st->db) ? 0 : -ENOENT) : sq_errno(rc);
	unprep(s);
	return rc;
}

int store_job_set_status(struct store *st, int64_t id, enum job_status s, const char *error)
{
	if (!status_valid(s))
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	int rc = job_set_status_locked(st, id, s, error);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- tasks ---- */

static int job_plan_locked(struct store *st, int64_t id, const struct store_task *t, size_t n,
			   int64_t events_total)
{
	sqlite3_stmt *s;
	int rc = begin(st);
	if (rc != 0)
		return rc;
	if ((rc = prep(st, S_JOB_PLANNED, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? (sqlite3_column_int(s, 0) ? -EEXIST : 0)
	     : rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
	unprep(s);
	if (rc != 0)
		goto fail;
	if ((rc = prep(st, S_TASK_INSERT, &s)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		sqlite3_bind_text(s, 3, t[i].url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, t[i].first);
		sqlite3_bind_int64(s, 5, t[i].last);
		if ((rc = exec_stmt(s)) != 0)
			goto fail;
	}
	if ((rc = prep(st, S_JOB_PLAN, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)n);
	sqlite3_bind_int64(s, 3, events_total);
	if ((rc = exec_stmt(s)) != 0)
		goto fail;
	return commit(st);
fail:
	rollback(st);
	return rc;
}

int store_job_plan(struct store *st, int64_t id, const struct store_task *t, size_t n,
		   int64_t events_total)
{
	if ((n && !t) || n > INT_MAX || events_total < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!t[i].url)
			return -EINVAL;
	pthread_mutex_lock(&st->mu);
	int rc = job_plan_locked(st, id, t, n, events_total);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void store_tasks_free(struct store_task *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].url);
	free(t);
}

static int job_tasks_locked(struct store *st, int64_t id, struct store_task **t, size_t *n)
{
	struct store_task *v = NULL;
	size_t cnt = 0, capv = 0;
	sqlite3_stmt *s = NULL;
	int rc = job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = prep(st, S_TASKS, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == capv) {
			size_t c = capv ? 2 * capv : 64;
			struct store_task *nv = realloc(v, c * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			capv = c;
		}
		struct store_task *k = &v[cnt];
		if ((rc = column_dup(s, 1, false, &k->url, NULL)) != 0)
			goto out;
		k->first = sqlite3_column_int64(s, 2);
		k->last = sqlite3_column_int64(s, 3);
		k->done = sqlite3_column_int(s, 4) != 0;
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		rc = sq_errno(rc);
		goto out;
	}
	*t = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	unprep(s);
	store_tasks_free(v, cnt);
	return rc;
}

int store_job_tasks(struct store *st, int64_t id, struct store_task **t, size_t *n)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_tasks_locked(st, id, t, n);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* Why no task row changed: 1 when the task is already done, -ENOENT when
 * job id has no task idx. */
static int task_state(struct store *st, int64_t id, int idx)
{
	sqlite3_stmt *s;
	int rc = prep(st, S_TASK_STATE, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, idx);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
	unprep(s);
	return rc;
}

static int task_commit_locked(struct store *st, int64_t id, int idx, const void *result,
			      size_t len, int64_t events)
{
	sqlite3_stmt *s;
	int rc = begin(st);
	if (rc != 0)
		return rc;
	if ((rc = prep(st, S_TASK_DONE, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, idx);
	if ((rc = exec_stmt(s)) != 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		rc = task_state(st, id, idx);
		goto fail;
	}
	if ((rc = prep(st, S_JOB_MERGE, &s)) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_blob64(s, 2, result ? result : "", len, SQLITE_STATIC);
	sqlite3_bind_double(s, 3, now());
	sqlite3_bind_int64(s, 4, events);
	if ((rc = exec_stmt(s)) != 0)
		goto fail;
	return commit(st);
fail:
	rollback(st);
	return rc;
}

int store_task_commit(struct store *st, int64_t id, int idx, const void *result, size_t len,
		      int64_t events)
{
	if ((!result && len) || idx < 0 || events < 0)
		return -EINVAL;
	if (len > INT_MAX)
		return -EFBIG;
	pthread_mutex_lock(&st->mu);
	int rc = task_commit_locked(st, id, idx, result, len, events);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

static int job_result_locked(struct store *st, int64_t id, void **data, size_t *len,
			     int64_t *version)
{
	char *d = NULL;
	size_t n = 0;
	sqlite3_stmt *s;
	int rc = job_row(st, S_JOB_RESULT, id, &s);
	if (rc != 0)
		return rc;
	rc = 0;
	if (sqlite3_column_type(s, 0) != SQLITE_NULL && (rc = column_dup(s, 0, true, &d, &n)) != 0)
		goto out;
	*data = d;
	*len = n;
	if (version)
		*version = sqlite3_column_int64(s, 1);
out:
	unprep(s);
	return rc;
}

int store_job_result(struct store *st, int64_t id, void **data, size_t *len, int64_t *version)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_result_locked(st, id, data, len, version);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- logs ---- */

static int log_locked(struct store *st, int64_t id, const char *line)
{
	sqlite3_stmt *s;
	int rc = job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = prep(st, S_LOG_INSERT, &s)) != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_double(s, 2, now());
	sqlite3_bind_text(s, 3, line, -1, SQLITE_STATIC);
	return exec_stmt(s);
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
	line[cut_len(line, STORE_MAX_LOGLINE - 1)] = '\0';
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
	int rc = job_exists(st, id);
	if (rc != 0)
		return rc;
	if ((rc = prep(st, S_LOG, &s)) != 0)
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
		rc = sq_errno(rc);
		strbuf_free(&b);
	} else if ((rc = strbuf_finish(&b, text, len)) == 0 && last) {
		*last = tlast;
	}
	unprep(s);
	return rc;
}

int store_job_log(struct store *st, int64_t id, char **text, size_t *len, double *last)
{
	pthread_mutex_lock(&st->mu);
	int rc = job_log_locked(st, id, text, len, last);
	pthread_mutex_unlock(&st->mu);
	return rc;
}
