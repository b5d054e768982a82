/* store_open.c — opening the job store: the schema, its migrations, the
 * connection's settings; and the helpers every call uses.
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
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	/* 1 -> 2: files with their identity, tasks pointing at them, the
	 * submitter's group, and a planned flag (planning leaves submission).
	 * Jobs of version 1 were planned when submitted; their files get no
	 * identity (size 0, fingerprint 0: not recorded). */
	"CREATE TABLE files("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" url TEXT NOT NULL,"
	" tree TEXT NOT NULL DEFAULT '',"
	" entries INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" mtime_ns INTEGER NOT NULL DEFAULT 0,"
	" fingerprint INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(job, idx)) WITHOUT ROWID;"
	"ALTER TABLE tasks ADD COLUMN file INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN gid INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN planned INTEGER NOT NULL DEFAULT 0;"
	"UPDATE jobs SET planned = 1;"
	"INSERT INTO files(job, idx, url)"
	" SELECT job, row_number() OVER (PARTITION BY job ORDER BY first_idx) - 1, url"
	" FROM (SELECT job, url, min(idx) AS first_idx FROM tasks GROUP BY job, url);"
	"UPDATE tasks SET file = (SELECT f.idx FROM files f WHERE f.job = tasks.job"
	" AND f.url = tasks.url);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");


/* The SQL of each statement (store_open.c). */
const char *const st_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_JOB_INSERT] = "INSERT INTO jobs(name, uid, query, basedir, status, error, created,"
			 " started, finished, status_changed, gid, planned) VALUES(?1, ?2, ?3, ?4,"
			 " ?5, ?6, ?7, ?8, ?9, ?7, ?10, ?11)",
	[S_JOB_GET] = "SELECT name, uid, status, created, started, finished, status_changed,"
		      " result_changed, events_total, events_done, tasks_total, tasks_done,"
		      " result_version, gid, planned FROM jobs WHERE id = ?1",
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
	[S_JOB_MERGE] = "UPDATE jobs SET result = ?2, result_version = result_version + 1,"
			" result_changed = ?3, events_done = events_done + ?4,"
			" tasks_done = tasks_done + 1 WHERE id = ?1",
	[S_JOB_RESULT] = "SELECT result, result_version FROM jobs WHERE id = ?1",
	[S_LOG_INSERT] = "INSERT INTO logs(job, t, text) VALUES(?1, ?2, ?3)",
	[S_LOG] = "SELECT t, text FROM logs WHERE job = ?1 ORDER BY seq",
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

/* A sqlite result code as a negative errno. */
int st_errno(int rc)
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

/* The cached statement id, reset and ready to bind. */
int st_prep(struct store *st, enum stmt_id id, sqlite3_stmt **out)
{
	*out = NULL;
	if (!st->stmt[id]) {
		int rc = sqlite3_prepare_v3(st->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return st_errno(rc);
	}
	*out = st->stmt[id];
	return 0;
}

/* Prepare statement id, bind a job id and step to its row: 0 with *out
 * on the row (st_unprep() it), -ENOENT when there is none, else an error
 * (the statement already released). */
int st_job_row(struct store *st, enum stmt_id id, int64_t job, sqlite3_stmt **out)
{
	int rc = st_prep(st, id, out);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(*out, 1, job);
	rc = sqlite3_step(*out);
	if (rc == SQLITE_ROW)
		return 0;
	sqlite3_reset(*out);
	sqlite3_clear_bindings(*out);
	*out = NULL;
	return rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
}

/* Done with a statement: release its locks and bound values. */
void st_unprep(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* Run a statement that returns no rows (BEGIN, an UPDATE). */
int st_exec(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : st_errno(rc);
	st_unprep(s);
	return ret;
}

int st_exec_id(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, id, &s);
	return rc ? rc : st_exec(s);
}

int st_begin(struct store *st)
{
	return st_exec_id(st, S_BEGIN);
}

/* Commit; on failure the transaction is rolled back. */
int st_commit(struct store *st)
{
	int rc = st_exec_id(st, S_COMMIT);
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		st_exec_id(st, S_ROLLBACK);
	return rc;
}

void st_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		st_exec_id(st, S_ROLLBACK);
}

/* 0 when job id exists, -ENOENT when not, or an error. */
int st_job_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int rc = st_prep(st, S_JOB_EXISTS, &s);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	st_unprep(s);
	return rc;
}

/* A new NUL-terminated copy of column col: text, or a blob of *len bytes. */
int st_column_dup(sqlite3_stmt *s, int col, bool blob, char **out, size_t *len)
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
		rc = open_fail(msg, cap, st_errno(rc), "reading the schema: %s", sqlite3_errmsg(db));
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
		rc = open_fail(msg, cap, st_errno(rc), "reading the schema version: %s",
			       sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE
			     ? open_fail(msg, cap, -EPROTO, "no schema_version in meta")
			     : open_fail(msg, cap, st_errno(rc), "reading the schema version: %s",
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
		return open_fail(msg, cap, st_errno(rc), "starting the migration: %s",
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
	rc = open_fail(msg, cap, st_errno(rc), "migrating the schema: %s", sqlite3_errmsg(db));
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* WAL (a memory journal for an in-memory database), NORMAL sync, a busy
 * timeout, foreign keys. */
static int configure(sqlite3 *db, bool memory, char *msg, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_busy_timeout(db, STORE_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(s, 0);
		if (!mode || strcmp(mode, memory ? "memory" : "wal") != 0) {
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
		return open_fail(msg, cap, st_errno(rc), "configuring the database: %s",
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
		rc = open_fail(msg, cap, db ? st_errno(rc) : -ENOMEM, "%s: %s", path,
			       db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 0);
	rc = configure(db, !strcmp(path, ":memory:"), msg, cap);
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

