/* rootio_pool.c — the large buffers of closed trees, kept per thread for
 * the next tree the thread opens.
 *
 * A tree holds a decompressed basket and its entry offsets per branch; a
 * worker opens a tree per file, so without the pool every file would map
 * fresh pages for them and fault each one in (a tenth of the time of an
 * LZ4 file went to page faults).  The pool is bounded (POOL_SLOTS buffers,
 * POOL_BYTES in all) and freed when the thread ends. */
#include "rootio_int.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_SLOTS 64
#define POOL_BYTES (64u << 20)

struct pool {
	void *buf[POOL_SLOTS];
	size_t cap[POOL_SLOTS];
	int n;
	size_t bytes;
};

static _Thread_local struct pool *tl_pool;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* At the thread's exit, on that thread: a tree closed later by another
 * destructor starts a new pool, freed in turn. */
static void free_pool(void *p)
{
	struct pool *pl = p;
	for (int i = 0; i < pl->n; i++)
		free(pl->buf[i]);
	free(pl);
	if (tl_pool == pl)
		tl_pool = NULL;
}

static void make_key(void)
{
	(void)pthread_key_create(&pool_key, free_pool);
}

static struct pool *this_pool(void)
{
	if (!tl_pool) {
		pthread_once(&pool_once, make_key);
		if ((tl_pool = calloc(1, sizeof(*tl_pool))))
			pthread_setspecific(pool_key, tl_pool);
	}
	return tl_pool;
}

static void drop(struct pool *pl, int i)
{
	free(pl->buf[i]);
	pl->bytes -= pl->cap[i];
	pl->n--;
	pl->buf[i] = pl->buf[pl->n];
	pl->cap[i] = pl->cap[pl->n];
}

void rootio_pool_put(void *p, size_t cap)
{
	struct pool *pl = p ? this_pool() : NULL;
	if (!pl || cap > POOL_BYTES) {
		free(p);
		return;
	}
	/* Make room by freeing smaller buffers; keep the larger ones. */
	while (pl->n == POOL_SLOTS || pl->bytes + cap > POOL_BYTES) {
		int small = 0;
		for (int i = 1; i < pl->n; i++)
			if (pl->cap[i] < pl->cap[small])
				small = i;
		if (!pl->n || pl->cap[small] >= cap) {
			free(p);
			return;
		}
		drop(pl, small);
	}
	pl->buf[pl->n] = p;
	pl->cap[pl->n] = cap;
	pl->n++;
	pl->bytes += cap;
}

void *rootio_pool_grow(void *buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return buf;
	struct pool *pl = this_pool();
	int best = -1;
	for (int i = 0; pl && i < pl->n; i++)
		if (pl->cap[i] >= need && (best < 0 || pl->cap[i] < pl->cap[best]))
			best = i;
	void *p;
	size_t c;
	if (best >= 0) {
		p = pl->buf[best];
		c = pl->cap[best];
		pl->bytes -= c;
		pl->n--;
		pl->buf[best] = pl->buf[pl->n];
		pl->cap[best] = pl->cap[pl->n];
	} else {
		/* Room for the next basket of the branch, a little larger. */
		c = need + need / 8;
		c = c + 4095 < c ? need : (c + 4095) & ~(size_t)4095;
		if (!(p = malloc(c)))
			return NULL;
	}
	rootio_pool_put(buf, *cap);
	*cap = c;
	return p;
}
