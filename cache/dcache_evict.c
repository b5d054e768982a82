/* dcache_evict.c — keeping the cache under its limit, and dropping blocks.
 *
 * When a fill would take the blocks past the limit, the least recently
 * used blocks (the index's last use, after this process's batched uses
 * are flushed) are evicted until the blocks fill 90 % of the limit, so
 * that eviction runs once per many fills.  A block evicted while still
 * marked prefetched (fetched ahead or warmed, and no read of any process
 * touched it since) counts as waste.  A full disk evicts a tenth of
 * what is used whatever the limit.  A block being filled by another
 * process (its byte of DIR/lock held) is left alone; a reader that has a
 * block file open goes on reading it after the unlink, and one that finds
 * it gone treats it as a miss. */
#include "dcache_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Delete block file and row of (file, block) in the statement's row 0,1
 * with length in column 2; the caller runs the transaction. */
static int delete_row(struct dcache *c, sqlite3_stmt *del, struct dc_key k)
{
	char path[4096];
	dc_block_path(c, k, path, sizeof(path));
	unlink(path);
	sqlite3_bind_int64(del, 1, (sqlite3_int64)k.fid);
	sqlite3_bind_int64(del, 2, (sqlite3_int64)k.block);
	int rc = sqlite3_step(del);
	sqlite3_reset(del);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Evict the coldest blocks until at most target bytes are used. */
static void evict_to(struct dcache *c, struct dsrc *d, uint64_t used, uint64_t target)
{
	dc_index_flush(c);
	int lfd = open(c->lock_path, O_RDWR | O_CLOEXEC);
	uint64_t n = 0, bytes = 0, wasted = 0;
	pthread_mutex_lock(&c->db_mu);
	int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *sel = NULL, *del = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT file, block, len, prefetched FROM blocks"
					" ORDER BY last_use", -1, &sel, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "DELETE FROM blocks WHERE file = ?1 AND block = ?2",
					-1, &del, NULL);
	while (rc == SQLITE_OK && used > target && sqlite3_step(sel) == SQLITE_ROW) {
		struct dc_key k = {(uint64_t)sqlite3_column_int64(sel, 0),
				   (uint64_t)sqlite3_column_int64(sel, 1)};
		uint64_t len = (uint64_t)sqlite3_column_int64(sel, 2);
		if (lfd >= 0 && dc_lock(lfd, dc_lock_off(k), false) != 0)
			continue; /* being filled right now: not the coldest anyway */
		if ((rc = delete_row(c, del, k)) != SQLITE_OK)
			break;
		used = used > len ? used - len : 0;
		n++;
		bytes += len;
		/* Fetched ahead, and no read of any process used it since. */
		wasted += sqlite3_column_int(sel, 3) ? len : 0;
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	if (rc == SQLITE_OK && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
		dc_count(c, d, DC_EVICTIONS, n);
		dc_count(c, d, DC_BYTES_EVICTED, bytes);
		dc_count(c, d, DC_BYTES_WASTED, wasted);
	} else {
		/* The files are gone but their rows stay: reads miss on them
		 * and refill them, replacing the rows. */
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&c->db_mu);
	if (lfd >= 0)
		close(lfd); /* releases every byte locked above */
}

void dc_make_room(struct dcache *c, struct dsrc *d, uint64_t len)
{
	uint64_t used;
	if (dc_index_used(c, &used) || used + len <= c->limit)
		return;
	uint64_t low = c->limit / 10 * 9;
	evict_to(c, d, used, low > len ? low - len : 0);
}

void dc_evict_more(struct dcache *c, struct dsrc *d, uint64_t need)
{
	uint64_t used;
	if (dc_index_used(c, &used))
		return;
	if (need < used / 10)
		need = used / 10;
	evict_to(c, d, used, used > need ? used - need : 0);
}

void dc_forget_block(struct dcache *c, struct dc_key k)
{
	pthread_mutex_lock(&c->db_mu);
	sqlite3_stmt *del = NULL;
	if (sqlite3_prepare_v2(c->db, "DELETE FROM blocks WHERE file = ?1 AND block = ?2", -1,
			       &del, NULL) == SQLITE_OK)
		delete_row(c, del, k);
	else
		delete_row(c, NULL, k);
	sqlite3_finalize(del);
	pthread_mutex_unlock(&c->db_mu);
}

/* Every block file under DIR/blocks (also those the index lacks). */
static void unlink_all_blocks(struct dcache *c)
{
	char path[4096];
	for (int i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/blocks/%02x", c->dir, i);
		DIR *dir = opendir(path);
		if (!dir)
			continue;
		struct dirent *e;
		while ((e = readdir(dir)))
			if (e->d_name[0] != '.' || !strncmp(e->d_name, ".tmp.", 5))
				unlinkat(dirfd(dir), e->d_name, 0);
		closedir(dir);
	}
}

#define DROP_WHERE " WHERE ?1 IS NULL OR file IN (SELECT id FROM files WHERE url = ?1 AND id <> ?2)"

int dc_drop(struct dcache *c, const char *url, uint64_t keep, uint64_t *nblocks)
{
	uint64_t n = 0;
	pthread_mutex_lock(&c->db_mu);
	int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *sel = NULL, *del = NULL, *files = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT file, block FROM blocks" DROP_WHERE, -1, &sel,
					NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "DELETE FROM blocks WHERE file = ?1 AND block = ?2",
					-1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "DELETE FROM files WHERE ?1 IS NULL OR"
					" (url = ?1 AND id <> ?2)", -1, &files, NULL);
	for (sqlite3_stmt *st = sel; rc == SQLITE_OK && st; st = st == sel ? files : NULL) {
		if (url)
			sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)keep);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		struct dc_key k = {(uint64_t)sqlite3_column_int64(sel, 0),
				   (uint64_t)sqlite3_column_int64(sel, 1)};
		rc = delete_row(c, del, k);
		n++;
	}
	if (rc == SQLITE_DONE)
		rc = sqlite3_step(files) == SQLITE_DONE ? SQLITE_OK : SQLITE_IOERR;
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	sqlite3_finalize(files);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&c->db_mu);
	if (rc == SQLITE_OK && !url)
		unlink_all_blocks(c);
	if (rc == SQLITE_OK && nblocks)
		*nblocks = n;
	return dc_sql_errno(rc);
}
