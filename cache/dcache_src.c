/* dcache_src.c — the source that reads a remote source through the disk
 * cache: dcache_wrap(), its read path, prefetch hints, stats and close.
 *
 * A read is cut into blocks.  Each block comes from the last block this
 * source read (kept in memory, already checked), else from its block
 * file (checked: dcache_block.c), else from a fill (dcache_fill.c).  The
 * cache never fails a read: whatever goes wrong with the disk, the bytes
 * come from the inner source, and only the inner source's errors reach
 * the reader.
 *
 * A view (src_view()) is served in place: each block file it covers is
 * mapped, once checked, at its own offset in an address range as large
 * as the file, so that a basket is decoded from the page cache without a
 * copy, also one that straddles two blocks.  A view never fetches: when a
 * block is not in the cache it returns NULL and the reader's src_pread()
 * fills it (the next view of that block maps it).  A block file cut
 * while it is mapped (by hand: anafs never writes a block in place)
 * reads as zeros and fails the source with -EIO at src_check(), the
 * SIGBUS guard's way for local files. */
#include "dcache_int.h"

#include "src.h"
#include "src_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

/* A 63-bit id of a file identity (positive in sqlite). */
static uint64_t file_id(const char *url, uint64_t size, int64_t mtime_ns, uint32_t bs)
{
	XXH64_state_t *h = XXH64_createState();
	uint64_t id = 0;
	if (h) {
		XXH64_reset(h, 0x616e616673ull);
		XXH64_update(h, url, strlen(url) + 1);
		unsigned char t[20];
		memcpy(t, &size, 8);
		memcpy(t + 8, &mtime_ns, 8);
		memcpy(t + 16, &bs, 4);
		XXH64_update(h, t, sizeof(t));
		id = XXH64_digest(h);
		XXH64_freeState(h);
	}
	id &= INT64_MAX;
	return id ? id : 1;
}

/* The calling thread's tally (src_tally()), or NULL. */
static _Thread_local struct src_stats *tally;

void src_tally(struct src_stats *t)
{
	if (t)
		memset(t, 0, sizeof(*t));
	tally = t;
}

/* k's field in a tally; NULL for the counters a tally does not keep. */
static uint64_t *tally_field(struct src_stats *t, enum dcache_counter k)
{
	switch (k) {
	case DC_HITS: return &t->hits;
	case DC_MISSES: return &t->misses;
	case DC_BYTES_HIT: return &t->bytes_hit;
	case DC_BYTES_FETCHED: return &t->bytes_fetched;
	case DC_CORRUPT: return &t->corrupt;
	case DC_WAITED: return &t->waited;
	default: return NULL;
	}
}

void dc_count(struct dcache *c, struct dsrc *d, enum dcache_counter k, uint64_t n)
{
	if (!n)
		return;
	atomic_fetch_add_explicit(&c->proc[k], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->delta[k], n, memory_order_relaxed);
	if (d)
		atomic_fetch_add_explicit(&d->st[k], n, memory_order_relaxed);
	uint64_t *f = tally ? tally_field(tally, k) : NULL;
	if (f)
		*f += n;
}

/* A read of block b (len bytes): mark it read, so that a block this
 * source prefetched counts once in the thread's tally as used (waste is
 * the index's: dcache_evict.c). */
static void mark_read(struct dsrc *d, uint64_t b, uint32_t len)
{
	pthread_mutex_lock(&d->mu);
	bool prefetched = d->pf_state && d->pf_state[b] == 1;
	if (d->pf_state)
		d->pf_state[b] = 2;
	pthread_mutex_unlock(&d->mu);
	if (prefetched && tally)
		tally->bytes_prefetched += len;
}

/* Copy n bytes at boff of block b from the last block read: whether it
 * was that block. */
static bool from_last(struct dsrc *d, uint64_t b, size_t boff, void *out, size_t n)
{
	pthread_mutex_lock(&d->mu);
	bool ok = d->last && d->last_block == b;
	if (ok)
		memcpy(out, d->last + boff, n);
	pthread_mutex_unlock(&d->mu);
	return ok;
}

/* Keep data (len bytes of block b, checked) as the last block read;
 * takes ownership of data. */
static void keep_last(struct dsrc *d, uint64_t b, uint8_t *data, size_t len)
{
	pthread_mutex_lock(&d->mu);
	uint8_t *old = d->last;
	d->last = data;
	d->last_block = b;
	d->last_len = len;
	pthread_mutex_unlock(&d->mu);
	free(old);
}

static void dsrc_prefetch(struct src *s, const struct src_range *r, size_t n);

/* A ROOT file is read from its header (block 0) to its directory, its
 * streamers and its trees' metadata, written at its end: a fill of block
 * 0 of a file named *.root (before any ?query) asks for the last
 * DC_TAIL_BLOCKS too, so that both come in one round trip instead of two
 * in a row. */
#define DC_TAIL_BLOCKS 2

static bool named_root(const char *url)
{
	size_t n = strcspn(url, "?");
	return n >= 5 && strncasecmp(url + n - 5, ".root", 5) == 0;
}

static void hint_tail(struct dsrc *d)
{
	uint64_t bs = d->c->block_size;
	if (d->nblocks < 2 || !d->self || !named_root(src_url(d->self)))
		return;
	uint64_t first = d->nblocks > DC_TAIL_BLOCKS + 1 ? d->nblocks - DC_TAIL_BLOCKS : 1;
	struct src_range r = {first * bs, d->size - first * bs};
	dsrc_prefetch(d->self, &r, 1);
}

/* n bytes at boff of block b into out. */
static int read_block(struct dsrc *d, uint64_t b, size_t boff, void *out, size_t n)
{
	struct dcache *c = d->c;
	struct dc_key k = {d->fid, b};
	uint32_t len = dc_block_len(c, d->size, b);
	if (from_last(d, b, boff, out, n)) {
		dc_count(c, d, DC_HITS, 1);
		dc_count(c, d, DC_BYTES_HIT, n);
		dc_touch(c, k, len);
		return 0;
	}
	uint8_t *data = malloc(len ? len : 1);
	if (!data)
		return -ENOMEM;
	int rc = dc_block_load(c, k, len, data);
	if (rc == 0) {
		dc_count(c, d, DC_HITS, 1);
		dc_count(c, d, DC_BYTES_HIT, n);
		dc_touch(c, k, len);
	} else {
		if (rc == -EBADMSG)
			dc_count(c, d, DC_CORRUPT, 1);
		if (b == 0)
			hint_tail(d);
		if ((rc = dc_fill(d, b, len, data)) < 0) {
			free(data);
			return rc;
		}
		if (rc > 0) /* another filler's block */
			dc_count(c, d, DC_BYTES_HIT, n);
		dc_touch(c, k, len);
	}
	memcpy(out, data + boff, n);
	mark_read(d, b, len);
	keep_last(d, b, data, len);
	return 0;
}

static _Atomic unsigned maps_total; /* blocks mapped for views, process-wide */

/* Map block b of d's view range (under d->mu): 0, or why not. */
static int map_block(struct dsrc *d, uint64_t b)
{
	if (d->nmapped >= DC_MAP_MAX)
		return -ENOSPC;
	if (atomic_fetch_add(&maps_total, 1) >= DC_MAP_MAX_TOTAL) {
		atomic_fetch_sub(&maps_total, 1);
		return -ENOSPC;
	}
	struct dc_key k = {d->fid, b};
	int rc = dc_block_map(d->c, k, dc_block_len(d->c, d->size, b),
			      d->base + b * d->c->block_size);
	if (rc) {
		atomic_fetch_sub(&maps_total, 1);
		if (rc == -EBADMSG)
			dc_count(d->c, d, DC_CORRUPT, 1);
		return rc;
	}
	d->mapped[b] = 1;
	d->nmapped++;
	return 0;
}

static const void *dsrc_view(struct src *s, uint64_t off, size_t len)
{
	struct dsrc *d = src_priv(s);
	struct dcache *c = d->c;
	uint32_t bs = c->block_size;
	if (!d->base || !len)
		return NULL;
	uint64_t first = off / bs, last = (off + len - 1) / bs;
	pthread_mutex_lock(&d->mu);
	bool ok = true;
	for (uint64_t b = first; ok && b <= last; b++)
		ok = d->mapped[b] || map_block(d, b) == 0;
	pthread_mutex_unlock(&d->mu);
	if (!ok)
		return NULL;
	for (uint64_t b = first; b <= last; b++) {
		uint64_t lo = b == first ? off : b * bs;
		uint64_t hi = b == last ? off + len : (b + 1) * bs;
		uint32_t blen = dc_block_len(c, d->size, b);
		dc_count(c, d, DC_HITS, 1);
		dc_count(c, d, DC_BYTES_HIT, hi - lo);
		dc_touch(c, (struct dc_key){d->fid, b}, blen);
		mark_read(d, b, blen);
	}
	return d->base + off;
}

/* Reserve d's view range, when views may be had. */
static void view_setup(struct dsrc *d)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t span = d->nblocks * d->c->block_size;
	d->slot = -1;
	if (src_no_mmap() || page <= 0 || d->c->block_size % (uint64_t)page || !span ||
	    span > SIZE_MAX / 2 || !(d->mapped = calloc(d->nblocks, 1)))
		return;
	void *m = mmap(NULL, (size_t)span, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int slot = m == MAP_FAILED ? -1 : src_guard_add(m, (size_t)span);
	if (slot < 0) {
		if (m != MAP_FAILED)
			munmap(m, (size_t)span);
		free(d->mapped);
		d->mapped = NULL;
		return;
	}
	d->base = m;
	d->span = (size_t)span;
	d->slot = slot;
}

/* The inner source's last error as s's own; returns rc. */
static int pass_error(struct src *s, int rc)
{
	struct dsrc *d = src_priv(s);
	char msg[256];
	src_error(d->inner, msg, sizeof(msg));
	if (*msg)
		src_set_error(s, "%s", msg);
	return rc;
}

static ssize_t dsrc_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct dsrc *d = src_priv(s);
	uint32_t bs = d->c->block_size;
	size_t done = 0;
	while (done < len) {
		uint64_t at = off + done, b = at / bs;
		size_t boff = (size_t)(at % bs);
		size_t n = dc_block_len(d->c, d->size, b) - boff;
		if (n > len - done)
			n = len - done;
		int rc = read_block(d, b, boff, (char *)buf + done, n);
		if (rc)
			return pass_error(s, rc);
		done += n;
	}
	return (ssize_t)done;
}

static int dsrc_check(struct src *s)
{
	struct dsrc *d = src_priv(s);
	if (d->base && src_guard_faulted(d->slot))
		return -EIO; /* a mapped block file was cut under its view */
	return src_check(d->inner);
}

/* The blocks of ranges r (n) as [first, last] pairs: new (malloc), *m of
 * them; NULL when none or out of memory. */
static uint64_t (*block_spans(const struct dsrc *d, const struct src_range *r, size_t n,
			      size_t *m))[2]
{
	uint32_t bs = d->c->block_size;
	uint64_t(*v)[2] = malloc((n ? n : 1) * sizeof(*v));
	*m = 0;
	for (size_t i = 0; v && i < n; i++) {
		if (!r[i].len || r[i].off >= d->size)
			continue;
		uint64_t end = r[i].len > d->size - r[i].off ? d->size : r[i].off + r[i].len;
		uint64_t first = r[i].off / bs, last = (end - 1) / bs;
		/* Ranges in file order (the runner's are) that share or touch
		 * blocks make one span: a window of baskets is counted, queued
		 * and claimed once per block, not once per basket. */
		if (*m && first >= v[*m - 1][0] && first <= v[*m - 1][1] + 1) {
			if (last > v[*m - 1][1])
				v[*m - 1][1] = last;
			continue;
		}
		v[*m][0] = first;
		v[(*m)++][1] = last;
	}
	return v;
}

static void dsrc_prefetch(struct src *s, const struct src_range *r, size_t n)
{
	struct dsrc *d = src_priv(s);
	struct dcache *c = d->c;
	if (!c->npf || !d->nblocks)
		return;
	pthread_mutex_lock(&d->mu);
	if (!d->pf_state)
		d->pf_state = calloc(d->nblocks, 1);
	bool ok = d->pf_state != NULL;
	pthread_mutex_unlock(&d->mu);
	size_t m = 0;
	uint64_t(*v)[2] = ok ? block_spans(d, r, n, &m) : NULL;
	if (m)
		dc_prefetch_queue(d, (const uint64_t(*)[2])v, m);
	free(v);
}

static int dsrc_warm(struct src *s, const struct src_range *r, size_t n, uint64_t *bytes)
{
	struct dsrc *d = src_priv(s);
	size_t m;
	uint64_t(*v)[2] = block_spans(d, r, n, &m);
	if (!v)
		return -ENOMEM;
	int rc = m ? dc_warm(d, (const uint64_t(*)[2])v, m, bytes) : 0;
	free(v);
	return rc ? pass_error(s, rc) : 0;
}

static void dsrc_stats(struct src *s, struct src_stats *st)
{
	struct dsrc *d = src_priv(s);
	st->hits = atomic_load(&d->st[DC_HITS]);
	st->misses = atomic_load(&d->st[DC_MISSES]);
	st->bytes_hit = atomic_load(&d->st[DC_BYTES_HIT]);
	st->bytes_fetched = atomic_load(&d->st[DC_BYTES_FETCHED]);
	st->bytes_prefetched = atomic_load(&d->st[DC_BYTES_PREFETCHED]);
	st->evictions = atomic_load(&d->st[DC_EVICTIONS]);
	st->corrupt = atomic_load(&d->st[DC_CORRUPT]);
	st->waited = atomic_load(&d->st[DC_WAITED]);
	st->bytes_warmed = atomic_load(&d->st[DC_BYTES_WARMED]);
}

static void dsrc_close(struct src *s)
{
	struct dsrc *d = src_priv(s);
	dc_prefetch_cancel(d);
	dc_index_flush(d->c);
	src_close(d->inner);
	free(d->pf_state);
	free(d->last);
	if (d->base) {
		src_guard_remove(d->slot);
		munmap(d->base, d->span);
		atomic_fetch_sub(&maps_total, d->nmapped);
	}
	free(d->mapped);
	pthread_mutex_destroy(&d->mu);
}

static const struct src_ops dsrc_ops = {
	.scheme = "dcache",
	.pread = dsrc_pread,
	.readv = NULL,
	.view = dsrc_view,
	.view_reads = true,
	.check = dsrc_check,
	.close = dsrc_close,
	.prefetch = dsrc_prefetch,
	.warm = dsrc_warm,
	.stats = dsrc_stats,
};

int dcache_wrap(struct dcache *c, struct src *inner, struct src **out, char *msg, size_t cap)
{
	(void)msg;
	(void)cap;
	const char *url = src_url(inner);
	uint64_t size = src_size(inner);
	int64_t mtime = src_mtime_ns(inner);
	struct src *s = src_alloc(&dsrc_ops, url, size, sizeof(struct dsrc));
	if (!s) {
		/* Never fail an open because of the cache: read directly. */
		*out = inner;
		return 0;
	}
	src_set_mtime_ns(s, mtime);
	struct dsrc *d = src_priv(s);
	d->c = c;
	d->self = s;
	d->inner = inner;
	d->size = size;
	d->fid = file_id(url, size, mtime, c->block_size);
	d->nblocks = (size + c->block_size - 1) / c->block_size;
	pthread_mutex_init(&d->mu, NULL);
	view_setup(d);
	/* A new identity of the URL: the blocks of its older ones go, so
	 * that nothing stale is ever served or kept. */
	if (dc_index_file(c, d->fid, url, size, mtime) == 0)
		(void)dc_drop(c, url, d->fid, NULL);
	*out = s;
	return 0;
}

bool dcache_holds_ends(struct dcache *c, const char *url, uint64_t size, int64_t mtime_ns)
{
	if (!c || !size)
		return false;
	uint64_t fid = file_id(url, size, mtime_ns, c->block_size);
	uint64_t last = (size - 1) / c->block_size;
	return dc_block_exists(c, (struct dc_key){fid, 0}) &&
	       dc_block_exists(c, (struct dc_key){fid, last});
}
