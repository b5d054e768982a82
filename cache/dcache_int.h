/* dcache_int.h — what the files of the disk cache share.
 *
 * Files: dcache.c (configuration, open, close, the default cache, stats
 * text), dcache_index.c (the sqlite index), dcache_block.c (block files
 * and their integrity), dcache_fill.c (fills: the table of blocks in
 * flight, the cross-process locks, the prefetch threads), dcache_evict.c
 * (eviction and dropping blocks), dcache_src.c (the wrapping source).
 *
 * Locks, in the order taken; none is held while waiting for another
 * process's block lock (an OFD lock on DIR/lock):
 *   pf_mu (the prefetch queue) > fly_mu (blocks in flight) > touch_mu >
 *   db_mu (the one sqlite connection).
 * A fill blocks on its OFD lock holding none of them; inside db_mu only
 * non-blocking OFD locks are tried (eviction), so processes cannot
 * deadlock through the index and the lock file. */
#ifndef ANAFS_DCACHE_INT_H
#define ANAFS_DCACHE_INT_H

#include "dcache.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DC_HDR_LEN 48
#define DC_MAGIC "ANAFSBLK"
#define DC_VERSION 3u /* 3: the header after the data (mappable); 1, 2: fetched again */
#define DC_MAP_MAX 2048u                 /* blocks one source keeps mapped for views */
#define DC_MAP_MAX_TOTAL 16384u          /* and the whole process (vm.max_map_count) */
#define DC_LOCK_BYTES (1u << 20)         /* bytes of DIR/lock a block may hash to */
#define DC_PF_QUEUE_MAX (1ull << 30)     /* bytes of prefetch hints queued */
#define DC_PF_CALL_MAX (64ull << 20)     /* bytes per vectored read */
#define DC_FLUSH_MS 1000
#define DC_TOUCH_MAX 4096                /* last uses batched before a flush */
#define DC_BUSY_MS 10000
#define DC_PF_THREADS_MAX 32             /* prefetch threads (ANAFS_PREFETCH=N) */

/* One block of one file identity. */
struct dc_key {
	uint64_t fid;
	uint64_t block;
};

struct dc_touch {
	struct dc_key k;
	uint32_t len;
	int64_t use; /* microseconds since the epoch */
};

struct dc_fly {
	struct dc_key k;
	struct dc_fly *next;
};

struct dsrc;

struct dc_pfjob {
	struct dsrc *d;
	uint64_t first, last; /* blocks, inclusive */
	struct dc_pfjob *next;
};

struct dcache {
	char *dir;
	char *lock_path;
	uint64_t limit;
	uint32_t block_size;

	pthread_mutex_t db_mu;
	sqlite3 *db;

	pthread_mutex_t fly_mu;
	pthread_cond_t fly_cv;
	struct dc_fly *fly;

	pthread_mutex_t touch_mu;
	struct dc_touch *touch;
	size_t ntouch;
	int64_t last_use;      /* strictly increasing, under touch_mu */

	_Atomic uint64_t proc[DC_NCOUNTERS];
	_Atomic uint64_t delta[DC_NCOUNTERS]; /* not yet added to the index */

	/* The flusher thread and the prefetch threads. */
	pthread_mutex_t pf_mu;
	pthread_cond_t pf_cv;   /* work queued, or stopping */
	pthread_cond_t idle_cv; /* a job done */
	pthread_cond_t flush_cv; /* stopping (the flusher's timed wait) */
	struct dc_pfjob *pf_head, *pf_tail;
	uint64_t pf_bytes;
	int pf_running;
	int npf;
	pthread_t pf[DC_PF_THREADS_MAX];
	pthread_t flusher;
	bool flusher_started;
	bool stop;
};

/* The per-source state of dcache_src.c that fills and prefetches touch. */
struct dsrc {
	struct dcache *c;
	struct src *self;      /* the source this is the state of */
	struct src *inner;
	uint64_t fid, size;
	uint64_t nblocks;
	int pf_busy;           /* prefetch jobs of this source running, under c->pf_mu */
	atomic_bool closing;   /* its prefetches running give up (dc_prefetch_cancel()) */
	pthread_mutex_t mu;    /* pf_state and the last block */
	uint8_t *pf_state;     /* per block: 1 prefetched here and unread, 2 read (tallies) */
	uint8_t *last;         /* the last block read, checked */
	uint64_t last_block;
	size_t last_len;
	/* Views (dcache_src.c): nblocks * block_size of address space,
	 * PROT_NONE but where a checked block file is mapped at its offset,
	 * so that a basket is read in place even across blocks.  NULL: no
	 * views (ANAFS_NO_MMAP=1, a block size not a multiple of the page,
	 * the guard full).  Mappings stay until close, under mu. */
	uint8_t *base;
	size_t span;
	int slot;              /* base's slot in the SIGBUS guard */
	uint8_t *mapped;       /* per block: 1 mapped and checked */
	unsigned nmapped;
	_Atomic uint64_t st[DC_NCOUNTERS];
};

/* The byte of DIR/lock that guards block k across processes. */
static inline uint64_t dc_lock_off(struct dc_key k)
{
	uint64_t h = (k.fid ^ (k.block + 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
	return (h ^ (h >> 31)) % DC_LOCK_BYTES;
}

/* Lock byte off of the lock file fd (an OFD lock, F_WRLCK): wait, or
 * only try.  0, or -errno (-EAGAIN: held by another). */
int dc_lock(int fd, uint64_t off, bool wait);

/* Counting: the process's, the delta for the index, the source's. */
void dc_count(struct dcache *c, struct dsrc *d, enum dcache_counter k, uint64_t n);
int64_t dc_now_us(void);

/* Shared with the column cache (colcache*.c): mkdir -p, mode 0700 for
 * what it creates (0 or -errno); 1.5G, 12M, 300K, 17 into out (cap
 * bytes); pread of exactly len bytes (-EBADMSG when the file is shorter)
 * and write of all len bytes, retried on EINTR (0 or -errno). */
int dc_make_dirs(const char *dir);
void dc_human(char *out, size_t cap, uint64_t v);
int dc_read_full(int fd, void *buf, size_t len, off_t off);
int dc_write_full(int fd, const void *buf, size_t len);

/* The length of block b of a file of size bytes. */
static inline uint32_t dc_block_len(const struct dcache *c, uint64_t size, uint64_t b)
{
	uint64_t off = b * c->block_size;
	uint64_t left = size > off ? size - off : 0;
	return (uint32_t)(left < c->block_size ? left : c->block_size);
}

/* dcache_block.c.  dc_block_load(): 0 with len bytes in data, -ENOENT
 * (no such block: a miss), -EBADMSG (corrupt: the file was dropped). */
void dc_block_path(const struct dcache *c, struct dc_key k, char *out, size_t cap);
int dc_block_load(struct dcache *c, struct dc_key k, uint32_t len, uint8_t *data);
int dc_block_write(struct dcache *c, struct dc_key k, const uint8_t *data, uint32_t len);
/* Map block file k (len bytes of data) read-only at addr (page-aligned,
 * MAP_FIXED over a reservation of the caller's) and check it: 0; -ENOENT
 * (a miss); -EBADMSG (corrupt: the file was dropped); another -errno.
 * On failure addr is PROT_NONE again. */
int dc_block_map(struct dcache *c, struct dc_key k, uint32_t len, void *addr);
bool dc_block_exists(const struct dcache *c, struct dc_key k);

/* dcache_index.c.  -errno results; -ENOSPC for a full disk. */
int dc_index_open(struct dcache *c, char *msg, size_t cap);
void dc_index_close(struct dcache *c);
int dc_index_file(struct dcache *c, uint64_t fid, const char *url, uint64_t size,
		  int64_t mtime_ns);
int dc_index_block(struct dcache *c, struct dc_key k, uint32_t len, bool prefetched);
int dc_index_used(struct dcache *c, uint64_t *used);
void dc_index_flush(struct dcache *c);
void dc_touch(struct dcache *c, struct dc_key k, uint32_t len);
int dc_index_node(struct dcache *c, struct dcache_stats *st);
int dc_index_each_file(struct dcache *c, int (*each)(void *, const struct dcache_file *),
		       void *ctx);
/* A negative errno for an sqlite result code (-ENOSPC for a full disk). */
int dc_sql_errno(int rc);

/* dcache_evict.c.  Make room for len more bytes under the limit (evicting
 * down to 90 %); dc_evict_more(): free at least need bytes whatever the
 * limit (a full disk).  The evicted blocks are counted on d. */
void dc_make_room(struct dcache *c, struct dsrc *d, uint64_t len);
void dc_evict_more(struct dcache *c, struct dsrc *d, uint64_t need);
/* Drop the blocks of file ids matching: url's other identities (keep is
 * the id kept), url's all (keep 0), or everything (url NULL). */
int dc_drop(struct dcache *c, const char *url, uint64_t keep, uint64_t *nblocks);
void dc_forget_block(struct dcache *c, struct dc_key k);

/* dcache_fill.c. */
int dc_threads_start(struct dcache *c, int nprefetch);
void dc_threads_stop(struct dcache *c);
/* Fill block b of d for a read into data (len bytes): 0 fetched, 1
 * loaded after waiting for another filler, or the inner source's error. */
int dc_fill(struct dsrc *d, uint64_t b, uint32_t len, uint8_t *data);
/* Store a fetched block: evicting, retrying once on a full disk, else
 * counted as not kept.  Never fails. */
void dc_store(struct dsrc *d, struct dc_key k, const uint8_t *data, uint32_t len,
	      bool prefetched);
/* Queue n ranges of blocks (first, last inclusive), all at once. */
void dc_prefetch_queue(struct dsrc *d, const uint64_t (*blocks)[2], size_t n);
/* Fetch the blocks of the ranges [first, last] (n) missing from the
 * cache now, with vectored reads on the calling thread (src_warm()):
 * blocks another filler holds are left to it.  0 or the read's error;
 * *bytes: fetched. */
int dc_warm(struct dsrc *d, const uint64_t (*blocks)[2], size_t n, uint64_t *bytes);
/* Drop d's queued prefetches and wait for the ones running. */
void dc_prefetch_cancel(struct dsrc *d);

#endif
