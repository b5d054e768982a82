/* dcache_index.c — the cache's sqlite index, DIR/index.db: the remote
 * files (their identity), the blocks (length, last use, prefetched and not
 * yet read) and the node-wide counters.  WAL with a busy timeout, so that
 * every process on the node shares it.  One connection per struct dcache,
 * under db_mu.
 *
 * A read that hits does not write the index: its last use is batched
 * (dc_touch()) and written by dc_index_flush() about every second, with
 * the counters' deltas.  A flush also takes in a block file that is on
 * disk but missing from the index (a process that died between the
 * rename and the insert). */
#include "dcache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const counter_names[DC_NCOUNTERS] = {
	"hits", "misses", "bytes_hit", "bytes_fetched", "bytes_prefetched", "bytes_wasted",
	"evictions", "bytes_evicted", "corrupt", "waited", "not_kept", "bytes_warmed",
};

const char *dcache_counter_name(enum dcache_counter k)
{
	return (unsigned)k < DC_NCOUNTERS ? counter_names[k] : "?";
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS files("
	" id INTEGER PRIMARY KEY, url TEXT NOT NULL, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, block_size INTEGER NOT NULL,"
	" last_use INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS files_url ON files(url);"
	"CREATE TABLE IF NOT EXISTS blocks("
	" file INTEGER NOT NULL, block INTEGER NOT NULL, len INTEGER NOT NULL,"
	" last_use INTEGER NOT NULL, prefetched INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(file, block)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS blocks_lru ON blocks(last_use);"
	"CREATE TABLE IF NOT EXISTS counters("
	" name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

int dc_sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* An I/O error from a full disk says so. */
static int sql_err(struct dcache *c, int rc)
{
	int sys = c->db ? sqlite3_system_errno(c->db) : 0;
	if ((rc & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT))
		return -ENOSPC;
	return dc_sql_errno(rc);
}

int dc_index_open(struct dcache *c, char *msg, size_t cap)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.db", c->dir);
	int rc = sqlite3_open_v2(path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, DC_BUSY_MS);
	/* Processes opening a new index at once: switching it to WAL does
	 * not wait through the busy handler, so it is retried here. */
	for (int i = 0; rc == SQLITE_OK || ((rc & 0xff) == SQLITE_BUSY && i < 1000); i++) {
		if (rc != SQLITE_OK)
			usleep(10000);
		rc = sqlite3_exec(c->db,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				  " PRAGMA wal_autocheckpoint=256; PRAGMA journal_size_limit=1048576;"
				  " PRAGMA cell_size_check=ON", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_exec(c->db, schema, NULL, NULL, NULL);
			rc = sqlite3_exec(c->db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL,
					  NULL, NULL) == SQLITE_OK ? rc : SQLITE_IOERR;
		}
		if (rc == SQLITE_OK)
			break;
	}
	if (rc != SQLITE_OK) {
		int err = sql_err(c, rc);
		snprintf(msg, cap, "%s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
		sqlite3_close(c->db);
		c->db = NULL;
		return err;
	}
	return 0;
}

void dc_index_close(struct dcache *c)
{
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Prepare sql on c->db (under db_mu). */
static sqlite3_stmt *prep(struct dcache *c, const char *sql, int *rc)
{
	sqlite3_stmt *st = NULL;
	*rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	return st;
}

/* Step st to its end and finalize it: 0 or -errno. */
static int run(struct dcache *c, sqlite3_stmt *st, int rc)
{
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
	sqlite3_finalize(st);
	return sql_err(c, rc == SQLITE_DONE ? SQLITE_OK : rc);
}

int dc_index_file(struct dcache *c, uint64_t fid, const char *url, uint64_t size,
		  int64_t mtime_ns)
{
	int rc;
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *st = prep(c, "INSERT INTO files(id, url, size, mtime_ns, block_size, last_use)"
				" VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE"
				" SET last_use = excluded.last_use", &rc);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)fid);
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
		sqlite3_bind_int64(st, 4, mtime_ns);
		sqlite3_bind_int64(st, 5, c->block_size);
		sqlite3_bind_int64(st, 6, dc_now_us());
	}
	rc = run(c, st, rc);
	pthread_mutex_unlock(&c->db_mu);
	return rc;
}

/* A last use later than any this process gave before (ties would make
 * the order of eviction arbitrary). */
static int64_t next_use(struct dcache *c)
{
	int64_t now = dc_now_us();
	if (now <= c->last_use)
		now = c->last_use + 1;
	c->last_use = now;
	return now;
}

int dc_index_block(struct dcache *c, struct dc_key k, uint32_t len, bool prefetched)
{
	int rc;
	pthread_mutex_lock(&c->touch_mu);
	int64_t use = next_use(c);
	pthread_mutex_unlock(&c->touch_mu);
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO blocks(file, block, len, last_use,"
				" prefetched) VALUES(?1, ?2, ?3, ?4, ?5)", &rc);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)k.fid);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)k.block);
		sqlite3_bind_int64(st, 3, len);
		sqlite3_bind_int64(st, 4, use);
		sqlite3_bind_int(st, 5, prefetched);
	}
	rc = run(c, st, rc);
	pthread_mutex_unlock(&c->db_mu);
	return rc;
}

int dc_index_used(struct dcache *c, uint64_t *used)
{
	int rc;
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *st = prep(c, "SELECT total(len) FROM blocks", &rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*used = (uint64_t)sqlite3_column_double(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->db_mu);
	return sql_err(c, rc);
}

void dc_touch(struct dcache *c, struct dc_key k, uint32_t len)
{
	bool full;
	pthread_mutex_lock(&c->touch_mu);
	struct dc_touch *t = c->ntouch ? &c->touch[c->ntouch - 1] : NULL;
	if (t && t->k.fid == k.fid && t->k.block == k.block) {
		t->use = next_use(c);
	} else if (c->ntouch < DC_TOUCH_MAX) {
		c->touch[c->ntouch++] = (struct dc_touch){k, len, next_use(c)};
	}
	full = c->ntouch == DC_TOUCH_MAX;
	pthread_mutex_unlock(&c->touch_mu);
	if (full)
		dc_index_flush(c);
}

/* One last use: the row's, or a row for a block file the index lacks. */
static int flush_touch(struct dcache *c, sqlite3_stmt *upd, sqlite3_stmt *ins,
		       const struct dc_touch *t)
{
	sqlite3_bind_int64(upd, 1, t->use);
	sqlite3_bind_int64(upd, 2, (sqlite3_int64)t->k.fid);
	sqlite3_bind_int64(upd, 3, (sqlite3_int64)t->k.block);
	int rc = sqlite3_step(upd);
	sqlite3_reset(upd);
	if (rc != SQLITE_DONE)
		return rc;
	if (sqlite3_changes(c->db) > 0 || !dc_block_exists(c, t->k))
		return SQLITE_OK;
	sqlite3_bind_int64(ins, 1, (sqlite3_int64)t->k.fid);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)t->k.block);
	sqlite3_bind_int64(ins, 3, t->len);
	sqlite3_bind_int64(ins, 4, t->use);
	rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int flush_counters(struct dcache *c, const uint64_t *delta)
{
	int rc;
	sqlite3_stmt *st = prep(c, "INSERT INTO counters(name, value) VALUES(?1, ?2)"
				" ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
				&rc);
	for (int i = 0; rc == SQLITE_OK && i < DC_NCOUNTERS; i++) {
		if (!delta[i])
			continue;
		sqlite3_bind_text(st, 1, counter_names[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)delta[i]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	return rc;
}

void dc_index_flush(struct dcache *c)
{
	struct dc_touch *t = malloc(DC_TOUCH_MAX * sizeof(*t));
	if (!t)
		return;
	pthread_mutex_lock(&c->touch_mu);
	size_t n = c->ntouch;
	memcpy(t, c->touch, n * sizeof(*t));
	c->ntouch = 0;
	pthread_mutex_unlock(&c->touch_mu);
	uint64_t delta[DC_NCOUNTERS], any = 0;
	for (int i = 0; i < DC_NCOUNTERS; i++)
		any |= (delta[i] = atomic_exchange(&c->delta[i], 0));
	if (!n && !any) {
		free(t);
		return;
	}
	pthread_mutex_lock(&c->db_mu);
	int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *upd = NULL, *ins = NULL;
	if (rc == SQLITE_OK)
		upd = prep(c, "UPDATE blocks SET last_use = max(last_use, ?1), prefetched = 0"
			   " WHERE file = ?2 AND block = ?3", &rc);
	if (rc == SQLITE_OK)
		ins = prep(c, "INSERT OR IGNORE INTO blocks(file, block, len, last_use)"
			   " VALUES(?1, ?2, ?3, ?4)", &rc);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
		rc = flush_touch(c, upd, ins, &t[i]);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	if (rc == SQLITE_OK)
		rc = flush_counters(c, delta);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* The index is busy or full: keep the counts for the next flush
		 * (the last uses are only a hint, and are dropped). */
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		for (int i = 0; i < DC_NCOUNTERS; i++)
			atomic_fetch_add(&c->delta[i], delta[i]);
	}
	pthread_mutex_unlock(&c->db_mu);
	free(t);
}

int dc_index_node(struct dcache *c, struct dcache_stats *s)
{
	int rc;
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *st = prep(c, "SELECT name, value FROM counters", &rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		for (int i = 0; name && i < DC_NCOUNTERS; i++)
			if (!strcmp(name, counter_names[i]))
				s->node[i] = (uint64_t)sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE)
		st = prep(c, "SELECT total(len), count(*), count(DISTINCT file),"
			  " total(CASE WHEN prefetched THEN len ELSE 0 END) FROM blocks", &rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		s->used = (uint64_t)sqlite3_column_double(st, 0);
		s->blocks = (uint64_t)sqlite3_column_int64(st, 1);
		s->files = (uint64_t)sqlite3_column_int64(st, 2);
		s->unread = (uint64_t)sqlite3_column_double(st, 3);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->db_mu);
	return sql_err(c, rc);
}

int dc_index_each_file(struct dcache *c, int (*each)(void *, const struct dcache_file *),
		       void *ctx)
{
	int rc, stop = 0;
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *st = prep(c, "SELECT f.url, f.size, f.mtime_ns, total(b.len), count(*),"
				" max(b.last_use) FROM files f JOIN blocks b ON b.file = f.id"
				" GROUP BY f.id ORDER BY f.url, f.mtime_ns", &rc);
	while (rc == SQLITE_OK && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *url = (const char *)sqlite3_column_text(st, 0);
		struct dcache_file f = {
			.url = url ? url : "",
			.size = (uint64_t)sqlite3_column_int64(st, 1),
			.mtime_ns = sqlite3_column_int64(st, 2),
			.cached = (uint64_t)sqlite3_column_double(st, 3),
			.blocks = (uint64_t)sqlite3_column_int64(st, 4),
			.last_use = (double)sqlite3_column_int64(st, 5) / 1e6,
		};
		stop = each(ctx, &f);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&c->db_mu);
	return stop ? stop : sql_err(c, rc == SQLITE_DONE ? SQLITE_OK : rc);
}
