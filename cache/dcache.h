/* dcache.h — the node-local disk cache in front of remote byte sources:
 * opening one, its counters, listing and purging it (for `anafs cache`
 * and the mount's `cache` file).  docs/cache.md is the user's view.
 *
 * A cache is a folder: blocks/ (one file per block, checksummed), an
 * sqlite index (index.db) and a lock file.  Several processes on a node
 * may open the same folder at once; each block is fetched once.  A struct
 * dcache is safe to use from several threads.  Sources are put behind a
 * cache by dcache_wrap() (src_int.h); src_open() of a root:// URL does so
 * with the process's default cache (src_cache_default()). */
#ifndef ANAFS_DCACHE_H
#define ANAFS_DCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct dcache;
struct src;

#define DCACHE_BLOCK_MIN (64u << 10)
#define DCACHE_BLOCK_MAX (16u << 20)
#define DCACHE_BLOCK_DEFAULT (1u << 20)
#define DCACHE_SIZE_DEFAULT (10ull << 30)

/* How to open a cache.  Zero fields take the defaults. */
struct dcache_conf {
	const char *dir;       /* the folder (created 0700 when missing, unless no_create) */
	uint64_t limit;        /* bytes of blocks kept; 0: 10G, at most half the file system */
	uint32_t block_size;   /* bytes per block, DCACHE_BLOCK_MIN..MAX; 0: 1 MiB */
	int prefetch_threads;  /* 0: 16 (at most DC_PF_THREADS_MAX, 32); -1: prefetch off */
	bool no_create;        /* fail with -ENOENT when dir is missing (the commands) */
};

/* The counters, process-wide (since dcache_open()) and node-wide (every
 * process's, cumulative in the index). */
enum dcache_counter {
	DC_HITS,             /* blocks read from the cache */
	DC_MISSES,           /* blocks fetched for a read */
	DC_BYTES_HIT,        /* bytes read from cached blocks */
	DC_BYTES_FETCHED,    /* bytes fetched for reads */
	DC_BYTES_PREFETCHED, /* bytes fetched ahead of the reads */
	DC_BYTES_WASTED,     /* prefetched or warmed bytes evicted before any read used them */
	DC_EVICTIONS,        /* blocks evicted */
	DC_BYTES_EVICTED,
	DC_CORRUPT,          /* blocks found corrupt or cut short, dropped, fetched again */
	DC_WAITED,           /* reads that waited for another filler of their block */
	DC_NOT_KEPT,         /* blocks fetched but not kept (the disk or the index full) */
	DC_BYTES_WARMED,     /* bytes fetched for tasks not started yet (src_warm()) */
	DC_NCOUNTERS
};

/* The counter's name in the index, the text and the JSON ("bytes_hit"). */
const char *dcache_counter_name(enum dcache_counter k);

struct dcache_stats {
	uint64_t proc[DC_NCOUNTERS]; /* this process's, since dcache_open() */
	uint64_t node[DC_NCOUNTERS]; /* every process's, as far as flushed */
	uint64_t used, limit;        /* bytes of blocks in the index; the limit */
	uint64_t unread;             /* of those, fetched ahead and not read by anyone yet */
	uint64_t files, blocks;      /* remote files with blocks; blocks */
	uint32_t block_size;
};

/* One remote file of the cache, for dcache_list(). */
struct dcache_file {
	const char *url;      /* borrowed for the call */
	uint64_t size;        /* the file's size */
	int64_t mtime_ns;     /* its modification time */
	uint64_t cached;      /* bytes of its blocks in the cache */
	uint64_t blocks;
	double last_use;      /* seconds since the epoch; 0 for none */
};

/* Open the cache in conf->dir.  On success *out is new: release it with
 * dcache_close().  Returns 0 or -errno with msg (cap bytes) saying why. */
int dcache_open(const struct dcache_conf *conf, struct dcache **out, char *msg, size_t cap)
	__attribute__((warn_unused_result));

/* Flush what is batched (last uses, counters), stop the threads, close.
 * Every source wrapped by c must be closed first.  NULL is allowed. */
void dcache_close(struct dcache *c);

/* Write what is batched to the index now (dcache_close() does it too). */
void dcache_flush(struct dcache *c);

/* Wait until no prefetch is queued or running, at most timeout_ms:
 * 0, or -ETIMEDOUT.  For tests and benchmarks. */
int dcache_prefetch_idle(struct dcache *c, int timeout_ms);

/* The counters and the usage (flushes first).  0 or -errno. */
int dcache_stats(struct dcache *c, struct dcache_stats *st);

/* The text of `anafs cache stat` and of the mount's cache file, appended
 * to b; json: the same as one JSON object.  0 or -errno. */
int dcache_stat_text(struct dcache *c, struct strbuf *b, bool json);

/* Call each() for every remote file with blocks, by URL; a non-zero
 * return stops and is returned.  0 or -errno. */
int dcache_list(struct dcache *c, int (*each)(void *ctx, const struct dcache_file *f),
		void *ctx);

/* Drop the blocks of url (every identity of it), or of every file when
 * url is NULL; *blocks (may be NULL) how many.  0 or -errno. */
int dcache_purge(struct dcache *c, const char *url, uint64_t *blocks);

/* Whether c holds the first and the last block of the remote file of
 * that identity: a file whose header and directory a job read before
 * (two access(2) calls, no index query). */
bool dcache_holds_ends(struct dcache *c, const char *url, uint64_t size, int64_t mtime_ns);

/* The process's own cache, opened from the environment at the first call
 * (NULL when ANAFS_CACHE=off or it could not be opened): the one every
 * root:// source of the process reads through.  Never closed. */
struct dcache *src_cache_default(void);

/* The folder a cache is in by default: $ANAFS_CACHE_DIR, else
 * $XDG_CACHE_HOME/anafs, else $HOME/.cache/anafs, else
 * /var/tmp/anafs-cache-UID (cap bytes). */
void dcache_default_dir(char *out, size_t cap);

/* The configuration the environment asks for (dcache_default_dir() into
 * dir, cap bytes; ANAFS_CACHE_SIZE, ANAFS_CACHE_BLOCK, ANAFS_PREFETCH=0),
 * as src_cache_default() opens it.  A bad value is said on stderr. */
void dcache_env_conf(struct dcache_conf *conf, char *dir, size_t cap);

/* A size such as 4096, 512M or 10G (powers of 1024): 0, or -EINVAL. */
int dcache_parse_size(const char *s, uint64_t *out);

#endif
