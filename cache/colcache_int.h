/* colcache_int.h — what the files of the column cache share: colcache.c
 * (the folder, its configuration, the shared counters, the commands'
 * text) and colcache_entry.c (entries: lookup, store, drop, eviction).
 *
 * The folder: DIR/stats (the counters and the bytes used, mapped shared
 * by every process), DIR/lock (flock: shared while an entry is linked in
 * or dropped, exclusive while evicting, so that the bytes used stay
 * exact), DIR/XX/HASH.c the entries (XX: the hash's first byte). */
#ifndef ANAFS_COLCACHE_INT_H
#define ANAFS_COLCACHE_INT_H

#include "colcache.h"

#include <stdatomic.h>

#define CC_MAGIC "ANAFSCOL"
#define CC_STATS_MAGIC "ANAFSCCS"
#define CC_VERSION 1u
#define CC_HDR_LEN 48u
#define CC_STATS_LEN 4096u
#define CC_MAX_ENTRY (512ull << 20) /* bytes of data in one entry (ROOTIO_MAX_BASKET) */
#define CC_SCAN_MAX (4u << 20)      /* entries one eviction looks at */
#define CC_TMP_AGE_S 600            /* a temporary file older than this is a crash's */

/* DIR/stats, mapped by every process of the node. */
struct cc_shared {
	char magic[8];
	uint32_t version, len;
	_Atomic uint64_t used;    /* bytes of the entry files */
	_Atomic uint64_t entries;
	_Atomic uint64_t node[CC_NCOUNTERS];
};

struct colcache {
	char *dir;
	char *lock_path;
	uint64_t limit;
	struct cc_shared *sh;
};

static inline void cc_count(struct colcache *c, enum colcache_counter k, uint64_t n)
{
	atomic_fetch_add_explicit(&c->sh->node[k], n, memory_order_relaxed);
}

/* Evict the coldest entries until at most target bytes are used; the
 * caller holds DIR/lock exclusively.  Sets the bytes used and entries to
 * what the scan found. */
void cc_evict_to(struct colcache *c, uint64_t target);

#endif
