/* colcache.h — the node-local cache of decoded columns: decompressed
 * baskets (their entries' bytes and entry offsets) kept as files in a
 * folder on memory-backed storage (/dev/shm), shared by every process of
 * the node, so that a query run again over the same branches reads no
 * compressed byte and decompresses nothing.  docs/cache.md is the user's
 * view, docs/internals.md the design.
 *
 * An entry is found by its key, bytes the caller makes (rootio: the
 * file's URL, size, modification time and tree fingerprint, the branch,
 * the basket's index, place and size): the file's name is a hash of the
 * key and the file holds the whole key, so a different key is never
 * served.  Everything read back is checked (header, lengths, key,
 * checksum, offsets) and anything wrong is deleted, never handed back.
 * The folder is kept under its limit by evicting the entries used least
 * recently, under a lock file shared by every process.
 *
 * A struct colcache is safe to use from several threads and processes. */
#ifndef ANAFS_COLCACHE_H
#define ANAFS_COLCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct colcache;

#define COLCACHE_KEY_MAX 8192 /* bytes of a key */

/* How to open a cache; zero fields take the defaults. */
struct colcache_conf {
	const char *dir; /* created 0700 when missing (unless no_create); must be the user's */
	uint64_t limit;  /* bytes of entries kept; 0: 1/8 of the memory, at most half the
			  * free space of the folder's file system */
	bool no_create;  /* fail with -ENOENT when dir is missing (the commands) */
};

/* Node-wide counters (kept in DIR/stats, shared by every process). */
enum colcache_counter {
	CC_HITS,          /* baskets served from the cache */
	CC_MISSES,        /* baskets looked up and not found (then decoded) */
	CC_BYTES_HIT,     /* bytes served */
	CC_STORES,        /* entries written */
	CC_BYTES_STORED,
	CC_EVICTIONS,     /* entries evicted */
	CC_BYTES_EVICTED,
	CC_CORRUPT,       /* entries found wrong (header, length, key, checksum), deleted */
	CC_NOT_KEPT,      /* entries not written: too big, the disk full, a race lost */
	CC_NCOUNTERS
};

/* The counter's name in the text and the JSON ("bytes_hit"). */
const char *colcache_counter_name(enum colcache_counter k);

struct colcache_stats {
	uint64_t node[CC_NCOUNTERS];
	uint64_t used, limit, entries; /* bytes of entries, the limit, entries */
};

/* A decoded basket: a get fills it, growing the buffers it is given (the
 * caller's, reused from basket to basket) with realloc(); a put reads it. */
struct colcache_val {
	uint8_t *data;     /* len bytes (a get leaves 8 more allocated after them) */
	size_t len, cap_data;        /* cap_data: bytes allocated */
	int32_t *offsets;  /* noffsets entry offsets into data (0: none) */
	size_t noffsets, cap_offsets; /* cap_offsets: offsets allocated */
	int32_t nevbuf;    /* entries in the basket */
};

/* Open the cache in conf->dir.  On success *out is new: release with
 * colcache_close().  Returns 0 or -errno with msg (cap bytes) saying why
 * (a folder owned by another user or open to others is refused). */
int colcache_open(const struct colcache_conf *conf, struct colcache **out, char *msg, size_t cap)
	__attribute__((warn_unused_result));
void colcache_close(struct colcache *c);

/* The process's cache from the environment, opened at the first call:
 * ANAFS_COLCACHE_DIR (default /dev/shm/anafs-columns-UID),
 * ANAFS_COLCACHE_SIZE; NULL when ANAFS_COLCACHE=off or the folder cannot
 * be used (said once on stderr).  Never closed. */
struct colcache *colcache_default(void);

/* The configuration the environment asks for (the folder into dir, cap
 * bytes), as colcache_default() opens it.  A bad size is said on stderr. */
void colcache_env_conf(struct colcache_conf *conf, char *dir, size_t cap);

/* Look up key (klen bytes) and fill v.  0 on a hit; -ENOENT on a miss
 * (also for an entry found wrong: it is deleted); -ENOMEM.  v's buffers
 * may have moved even on failure. */
int colcache_get(struct colcache *c, const void *key, size_t klen, struct colcache_val *v)
	__attribute__((warn_unused_result));

/* Store v under key, evicting the coldest entries to stay under the
 * limit.  An entry already there is kept (two processes decoding the same
 * basket write it once).  0 or -errno (the entry is then not kept). */
int colcache_put(struct colcache *c, const void *key, size_t klen, const struct colcache_val *v);

/* The counters and the usage.  0 or -errno. */
int colcache_stats(struct colcache *c, struct colcache_stats *st);

/* The "columns" part of `anafs cache stat` appended to b: text lines
 * ("columns     DIR", then "columns_KEY value"), or (json) one JSON
 * object without a newline.  0 or -errno. */
int colcache_stat_text(struct colcache *c, struct strbuf *b, bool json);

/* Delete every entry; *n (may be NULL) how many.  0 or -errno. */
int colcache_purge(struct colcache *c, uint64_t *n);

#endif
