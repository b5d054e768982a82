/* rootio_colcache.c — the reader's side of the column cache: the key of
 * a basket (the file's identity, the tree's fingerprint, the branch, the
 * basket's index, place and size) and the moves between a struct decoded
 * and the cache.  A hit is checked by the cache (header, key, checksum,
 * offsets in order and within the data) and then by the reader like any
 * basket it decoded itself. */
#include "rootio_tree_int.h"

#include "colcache.h"
#include "le.h"

#include <errno.h>
#include <string.h>

void rootio_tree_set_colcache(struct rootio_tree *t, struct colcache *c, const char *url,
			      uint64_t size, int64_t mtime_ns, uint64_t fingerprint)
{
	t->cc = NULL;
	size_t ulen = strlen(url), n = ulen + 1 + 24;
	if (!c || n > COLCACHE_KEY_MAX / 2)
		return;
	uint8_t *k = arena_alloc(t->arena, n);
	if (!k)
		return;
	memcpy(k, url, ulen + 1);
	le_put64(k + ulen + 1, size);
	le_put64(k + ulen + 9, (uint64_t)mtime_ns);
	le_put64(k + ulen + 17, fingerprint);
	t->cc_key = k;
	t->cc_klen = n;
	t->cc = c;
}

/* The key of basket i of br into key (COLCACHE_KEY_MAX bytes): its length,
 * or 0 when it does not fit. */
static size_t basket_key(const struct rootio_tree *t, const struct branch *br, int i,
			 uint8_t *key)
{
	size_t plen = strlen(br->path) + 1, n = t->cc_klen + plen + 16;
	if (n > COLCACHE_KEY_MAX)
		return 0;
	memcpy(key, t->cc_key, t->cc_klen);
	memcpy(key + t->cc_klen, br->path, plen);
	uint8_t *p = key + t->cc_klen + plen;
	le_put32(p, (uint32_t)i);
	le_put64(p + 4, br->slots[i].seek);
	le_put32(p + 12, br->slots[i].nbytes);
	return n;
}

int rootio_colcache_get(struct rootio_tree *t, const struct branch *br, int i, struct decoded *d)
{
	uint8_t key[COLCACHE_KEY_MAX];
	size_t n = basket_key(t, br, i, key);
	if (!n)
		return -ENOENT;
	struct colcache_val v = {.data = d->owned, .cap_data = d->cap_owned,
				 .offsets = d->offsets, .cap_offsets = d->cap_offsets};
	int rc = colcache_get(t->cc, key, n, &v);
	d->owned = v.data; /* grown even on a miss */
	d->cap_owned = v.cap_data;
	d->offsets = v.offsets;
	d->cap_offsets = v.cap_offsets;
	if (rc)
		return rc;
	d->data = d->owned;
	d->len = v.len;
	d->nevbuf = v.nevbuf;
	d->has_offsets = v.noffsets > 0;
	d->in_map = false;
	return 0;
}

void rootio_colcache_put(struct rootio_tree *t, const struct branch *br, int i,
			 const struct decoded *d)
{
	uint8_t key[COLCACHE_KEY_MAX];
	size_t n = basket_key(t, br, i, key);
	struct colcache_val v = {.data = (uint8_t *)d->data, .len = d->len,
				 .offsets = d->offsets,
				 .noffsets = d->has_offsets ? (size_t)d->nevbuf + 1 : 0,
				 .nevbuf = d->nevbuf};
	if (n)
		(void)colcache_put(t->cc, key, n, &v);
}
