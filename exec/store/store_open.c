/* store_open.c — opening the job store: the database file's mode, the
 * schema and its migrations, the connection's settings, closing.
 *
 * Durability.  The database runs in WAL mode with synchronous=NORMAL: a
 * committed transaction is in the WAL file (written, not fsync'ed) before
 * COMMIT returns, so it survives the process being killed at any moment
 * (kill -9 of the daemon).  A power loss or kernel crash may lose the last
 * few transactions, but never corrupts the database nor splits one: a task
 * is either merged and marked done, or neither. */
#include "store_int.h"

#include "ana_err.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Schema version 3's migration drops a column. */
#if SQLITE_VERSION_NUMBER < 3035000
#error "the job store needs sqlite 3.35 or newer (ALTER TABLE DROP COLUMN)"
#endif

/* migrations[i] takes a database from schema version i to i + 1, inside
 * the transaction migrate() opens.  Append; never edit a step that
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
	/* 2 -> 3: the merged result in a table of its own.  In the jobs row
	 * it came before result_version, gid and planned, so reading those
	 * walked the result's whole overflow chain, and one damaged page of
	 * a result made the job's record unreadable and unwritable: it could
	 * not even be marked failed. */
	"CREATE TABLE results("
	" job INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
	" data BLOB NOT NULL);"
	"INSERT INTO results(job, data) SELECT id, result FROM jobs WHERE result IS NOT NULL;"
	"ALTER TABLE jobs DROP COLUMN result;",
	/* 3 -> 4: the tasks a job left out (on_error skip), with why. */
	"CREATE TABLE skipped("
	" job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" reason TEXT NOT NULL,"
	" PRIMARY KEY(job, idx)) WITHOUT ROWID;",
	/* 4 -> 5: what the disk cache did for each job's reads. */
	"CREATE TABLE job_cache("
	" job INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
	" hits INTEGER NOT NULL DEFAULT 0,"
	" misses INTEGER NOT NULL DEFAULT 0,"
	" bytes_hit INTEGER NOT NULL DEFAULT 0,"
	" bytes_fetched INTEGER NOT NULL DEFAULT 0,"
	" bytes_prefetched INTEGER NOT NULL DEFAULT 0);",
	/* 5 -> 6: a result reused from an earlier job of the same query over
	 * the same files: the key both are found by, the job it came from,
	 * and whether the job must run afresh (`rerun`). */
	"ALTER TABLE jobs ADD COLUMN reuse_key TEXT;"
	"ALTER TABLE jobs ADD COLUMN reused_from INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN fresh INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_reuse ON jobs(reuse_key);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");


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

/* sqlite failed with rc while doing what: the error, msg saying why.  A
 * damaged file gets the words a user needs: which file, and that anafs
 * cannot use it. */
static int sql_fail(sqlite3 *db, const char *path, int rc, const char *what, char *msg,
		    size_t cap)
{
	int err = st_errno(db, rc);
	const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (err == ANA_EDAMAGED)
		return open_fail(msg, cap, err,
				 "%s is not a database or is damaged beyond use: %s (%s)", path, why,
				 what);
	/* "disk I/O error" alone does not say that the disk is full. */
	if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN)
		return open_fail(msg, cap, err, "%s: %s (%s)", what, why, strerror(-err));
	return open_fail(msg, cap, err, "%s: %s", what, why);
}

/* One row of a query on db with no parameters: SQLITE_ROW with *out on
 * it, SQLITE_DONE (*out finalized), or the error. */
static int one_row(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(*out);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(*out);
		*out = NULL;
	}
	return rc;
}

/* The schema version stored in meta: 0 for a new, empty database.  A
 * database holding tables but no meta is someone else's: refused. */
static int read_version(sqlite3 *db, const char *path, long *version, char *msg, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = one_row(db,
			 "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'meta'),"
			 " (SELECT count(*) FROM sqlite_master)", &s);
	if (rc != SQLITE_ROW)
		return sql_fail(db, path, rc, "reading the schema", msg, cap);
	bool has_meta = sqlite3_column_int(s, 0) > 0;
	int nobjects = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	if (!has_meta) {
		*version = 0;
		return nobjects == 0 ? 0 : open_fail(msg, cap, -EPROTO,
				 "not an anafs job database (tables but no meta table)");
	}
	rc = one_row(db, "SELECT value FROM meta WHERE key = 'schema_version'", &s);
	if (rc == SQLITE_DONE)
		return open_fail(msg, cap, -EPROTO, "no schema_version in meta");
	if (rc != SQLITE_ROW)
		return sql_fail(db, path, rc, "reading the schema version", msg, cap);
	const void *p;
	size_t len;
	if ((rc = st_column(s, 0, false, &p, &len)) != 0) {
		sqlite3_finalize(s);
		return open_fail(msg, cap, rc, "reading the schema version: out of memory");
	}
	const char *v = p;
	char *end = NULL;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : -1;
	if (!v || end == v || *end || errno || n < 1)
		rc = open_fail(msg, cap, -EPROTO, "bad schema_version '%s' in meta",
			       v ? v : "(null)");
	else
		*version = n;
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
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, v, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Bring the schema to STORE_SCHEMA_VERSION in one transaction.  On
 * failure the rollback's own result does not matter: the caller closes
 * the connection, which rolls back whatever is still open. */
static int migrate(sqlite3 *db, const char *path, char *msg, size_t cap)
{
	long version = 0;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(db, path, rc, "starting the migration", msg, cap);
	rc = read_version(db, path, &version, msg, cap);
	if (rc != 0)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		rc = open_fail(msg, cap, -EPROTO,
			       "database schema version %ld is newer than this anafs knows (%d):"
			       " written by a newer anafs",
			       version, STORE_SCHEMA_VERSION);
		goto fail;
	}
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
	if (version < STORE_SCHEMA_VERSION && (rc = write_version(db, STORE_SCHEMA_VERSION)))
		goto sqlfail;
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlfail;
	return 0;
sqlfail:
	rc = sql_fail(db, path, rc, "migrating the schema", msg, cap);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* WAL mode: a memory journal for an in-memory database. */
static int set_wal(sqlite3 *db, const char *path, bool memory, char *msg, size_t cap)
{
	sqlite3_stmt *s = NULL;
	const void *mode;
	size_t n;
	int rc = one_row(db, "PRAGMA journal_mode=WAL", &s);
	if (rc != SQLITE_ROW)
		return sql_fail(db, path, rc, "setting the journal mode", msg, cap);
	if (st_column(s, 0, false, &mode, &n) != 0)
		rc = open_fail(msg, cap, -ENOMEM, "setting the journal mode: out of memory");
	else if (!mode || strcmp(mode, memory ? "memory" : "wal") != 0)
		rc = open_fail(msg, cap, -ENOTSUP, "cannot use WAL mode (journal mode '%s')",
			       mode ? (const char *)mode : "");
	else
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

/* WAL, NORMAL sync, a busy timeout, foreign keys; temporary data in
 * memory, so that a full /tmp is not mistaken for a full state directory;
 * each page's cells checked as it is read, so that damage is an error
 * rather than a wrong answer. */
static int configure(sqlite3 *db, const char *path, bool memory, char *msg, size_t cap)
{
	int rc = sqlite3_extended_result_codes(db, 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, STORE_BUSY_MS);
	if (rc != SQLITE_OK)
		return sql_fail(db, path, rc, "configuring the database", msg, cap);
	if ((rc = set_wal(db, path, memory, msg, cap)) != 0)
		return rc;
	rc = sqlite3_exec(db,
			  "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
			  " PRAGMA temp_store=MEMORY; PRAGMA cell_size_check=ON",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(db, path, rc, "configuring the database", msg, cap);
	return 0;
}

/* ---- the files' mode ---- */

/* fd's mode without its group and other bits. */
static int tighten(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return -errno;
	if ((sb.st_mode & 077) && fchmod(fd, sb.st_mode & 07700) != 0)
		return -errno;
	return 0;
}

/* The database and its -wal and -shm files readable by their owner only
 * (they hold every query and dataset path), whatever the umask and the
 * directory's mode.  sqlite gives -wal and -shm the database file's mode,
 * so the database file is created here, 0600, before sqlite opens it;
 * files an older anafs left looser are tightened. */
static int private_files(const char *path, char *msg, size_t cap)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	size_t len = strlen(path);
	char *name = malloc(len + 5);
	int rc = 0;
	if (!name)
		return open_fail(msg, cap, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]) && rc == 0; i++) {
		snprintf(name, len + 5, "%s%s", path, suffix[i]);
		/* sqlite opens -wal and -shm without following links: so here. */
		int fd = i == 0 ? open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)
				: open(name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (i > 0 && errno == ENOENT)
				continue;
			rc = open_fail(msg, cap, -errno, "%s: %s", name, strerror(errno));
			break;
		}
		if ((rc = tighten(fd)) != 0)
			open_fail(msg, cap, rc, "%s: making it private: %s", name, strerror(-rc));
		close(fd);
	}
	free(name);
	return rc;
}

/* ---- open and close ---- */

static void store_free(struct store *st)
{
	for (int i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* Fails only while a statement is not finalized: none is left. */
	int rc = sqlite3_close(st->db);
	assert(rc == SQLITE_OK);
	(void)rc;
	pthread_mutex_destroy(&st->mu);
	free(st->damaged);
	free(st->summary);
	free(st);
}

/* The transaction statements, prepared now so that a rollback never
 * depends on finding memory to prepare one. */
static int prepare_transactions(struct store *st, const char *path, char *msg, size_t cap)
{
	static const enum stmt_id ids[] = { S_BEGIN, S_COMMIT, S_ROLLBACK };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		int rc = sqlite3_prepare_v3(st->db, st_sql[ids[i]], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmt[ids[i]], NULL);
		if (rc != SQLITE_OK)
			return sql_fail(st->db, path, rc, "preparing statements", msg, cap);
	}
	return 0;
}

int store_open(const char *path, struct store **out, char *msg, size_t cap)
{
	struct store *st = NULL;
	int rc;

	if (msg && cap)
		msg[0] = '\0';
	if (!path || !out)
		return open_fail(msg, cap, -EINVAL, "no database path");
	if (!sqlite3_threadsafe())
		return open_fail(msg, cap, -ENOTSUP, "sqlite built without thread support");
	bool memory = !strcmp(path, ":memory:");
	if (!memory && *path && (rc = private_files(path, msg, cap)) != 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return open_fail(msg, cap, -ENOMEM, "out of memory");
	if ((rc = pthread_mutex_init(&st->mu, NULL)) != 0) {
		free(st);
		return open_fail(msg, cap, -rc, "cannot create a mutex: %s", strerror(rc));
	}
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = st->db ? sql_fail(st->db, path, rc, path, msg, cap)
			    : open_fail(msg, cap, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if ((rc = configure(st->db, path, memory, msg, cap)) != 0 ||
	    (rc = migrate(st->db, path, msg, cap)) != 0 ||
	    (rc = prepare_transactions(st, path, msg, cap)) != 0 ||
	    (!memory && (rc = st_check(st, path, msg, cap)) != 0)) /* a new memory db is whole */
		goto fail;
	*out = st;
	return 0;
fail:
	store_free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (st)
		store_free(st);
}
