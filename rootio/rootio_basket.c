/* rootio_basket.c — TBaskets: the record on disk (a TKey header with the
 * basket's own fields, then the possibly compressed payload) or the copy
 * streamed inside the TTree, turned into the entries' bytes and their byte
 * offsets. */
#include "rootio_tree_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bhead {
	struct rkey k;
	int32_t nevbuf;
	int32_t last;
	uint8_t flag;
};

/* The TBasket fields that follow its TKey part. */
static void basket_fields(struct rbuf *b, struct bhead *h)
{
	(void)rbuf_i16(b);     /* fVersion */
	rbuf_skip(b, 4);       /* fBufferSize */
	int32_t nevbufsize = rbuf_i32(b);
	if (nevbufsize < 0)
		rbuf_skip(b, 1); /* fIOBits */
	h->nevbuf = rbuf_i32(b);
	h->last = rbuf_i32(b);
	h->flag = rbuf_u8(b);
}

static int parse_head(const uint8_t *rec, size_t len, struct bhead *h)
{
	struct rbuf b;
	rbuf_init(&b, rec, len, 0);
	if (rootio_read_key(&b, &h->k))
		return -1;
	basket_fields(&b, h);
	if (b.bad || b.pos > (size_t)h->k.keylen || (size_t)h->k.nbytes > len ||
	    h->k.keylen > h->k.nbytes ||
	    h->nevbuf < 0 || h->last < h->k.keylen || h->k.objlen < 0)
		return -1;
	return 0;
}

struct embedded *rootio_parse_embedded(struct stream *s)
{
	struct rbuf *b = &s->b;
	struct bhead h;
	size_t start = b->pos;
	if (rootio_read_key(b, &h.k))
		return NULL;
	basket_fields(b, &h);
	if (b->bad || h.nevbuf < 0 || h.last < h.k.keylen || b->pos - start > (size_t)h.k.keylen)
		return NULL;
	struct embedded *e = arena_alloc(s->arena, sizeof(*e));
	if (!e)
		return NULL;
	e->keylen = h.k.keylen;
	e->last = h.last;
	e->nevbuf = h.nevbuf;
	e->flag = h.flag;
	if (!h.flag)
		return e;
	if (h.flag % 10 != 2) {
		if (h.nevbuf) {
			int32_t n = rbuf_i32(b);
			if (n < 0 || (size_t)n > rbuf_left(b) / 4)
				return NULL;
			e->offsets = (const int32_t *)rbuf_take(b, (size_t)n * 4);
			e->noffsets = (size_t)n;
		}
		if (h.flag > 40) {
			int32_t n = rbuf_i32(b);
			if (n < 0 || (size_t)n > rbuf_left(b) / 4)
				return NULL;
			rbuf_skip(b, (size_t)n * 4); /* fDisplacement */
		}
	}
	if (h.flag == 1 || h.flag > 10)
		e->buf = rbuf_take(b, (size_t)h.last);
	else
		e->nevbuf = 0; /* no data was streamed with it */
	return b->bad ? NULL : e;
}

/* Offsets from n raw big-endian ones: out[i] = (raw[i] & mask) - keylen,
 * each within [0, len] and none below the one before.  One branch-free
 * pass that the compiler vectorizes: each offset is compared with the one
 * before it as decoded again from raw (in the cache by then), not as
 * loaded back from out. */
ROOTIO_CLONES
static int offsets_from_raw(int32_t *restrict out, const uint8_t *restrict raw, size_t n,
			    uint32_t mask, int32_t keylen, size_t len)
{
	uint32_t bad = 0;
	if (!n)
		return 0;
	uint32_t v;
	memcpy(&v, raw, 4);
	v = (__builtin_bswap32(v) & mask) - (uint32_t)keylen;
	bad |= v > (uint32_t)len; /* also catches values below keylen */
	out[0] = (int32_t)v;
	for (size_t i = 1; i < n; i++) {
		uint32_t p, c;
		memcpy(&p, raw + 4 * i - 4, 4);
		memcpy(&c, raw + 4 * i, 4);
		p = (__builtin_bswap32(p) & mask) - (uint32_t)keylen;
		c = (__builtin_bswap32(c) & mask) - (uint32_t)keylen;
		bad |= (c > (uint32_t)len) | (c < p);
		out[i] = (int32_t)c;
	}
	return bad ? -1 : 0;
}

/* Offsets stored as big-endian numbers from the key's start become offsets
 * from the start of data (len bytes); the last is the end of data. */
static int convert_offsets(struct decoded *d, const uint8_t *raw, size_t n, int32_t keylen,
			   int32_t mask)
{
	if (n < (size_t)d->nevbuf)
		return -1;
	size_t need = (size_t)d->nevbuf + 1;
	if (d->cap_offsets < need) {
		size_t cap = d->cap_offsets * sizeof(*d->offsets);
		int32_t *o = rootio_pool_grow(d->offsets, &cap, need * sizeof(*o));
		if (!o)
			return -ENOMEM;
		d->offsets = o;
		d->cap_offsets = cap / sizeof(*o);
	}
	if (offsets_from_raw(d->offsets, raw, (size_t)d->nevbuf, (uint32_t)mask, keylen,
			     d->len))
		return -1;
	d->offsets[d->nevbuf] = (int32_t)d->len;
	d->has_offsets = true;
	return 0;
}

static int load_embedded(struct decoded *d, const struct embedded *e)
{
	if (!e->buf || e->last < e->keylen)
		return -1;
	d->data = e->buf + e->keylen;
	d->len = (size_t)(e->last - e->keylen);
	d->nevbuf = e->nevbuf;
	if (!e->offsets)
		return 0;
	/* Between 20 and 40 the top byte of each offset is a displacement flag. */
	int32_t mask = e->flag > 20 && e->flag < 40 ? 0x00ffffff : -1;
	return convert_offsets(d, (const uint8_t *)e->offsets, e->noffsets, e->keylen, mask);
}

static int blocks_add_up(const uint8_t *p, size_t stored, size_t objlen);

/* Decompress a basket record of len bytes (header in h) into d->owned. */
static int unpack(struct decoded *d, const uint8_t *rec, const struct bhead *h,
		  struct rootio_tree *t, bool mapped, const uint8_t **payload,
		  struct rootio_err *err)
{
	size_t objlen = (size_t)h->k.objlen;
	size_t stored = (size_t)(h->k.nbytes - h->k.keylen);
	if (objlen > ROOTIO_MAX_BASKET)
		return rootio_fail(err, ROOTIO_ETOOBIG, "claims %zu bytes uncompressed (limit %u)",
				   objlen, ROOTIO_MAX_BASKET);
	if (stored != objlen && blocks_add_up(rec + h->k.keylen, stored, objlen))
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "its compressed blocks do not add up to %zu bytes", objlen);
	if (stored == objlen && mapped) {
		/* Stored as is in memory that outlives the basket: no copy. */
		*payload = rec + h->k.keylen;
		return 0;
	}
	uint8_t *owned = rootio_pool_grow(d->owned, &d->cap_owned, objlen + 8);
	if (!owned)
		return rootio_fail(err, -ENOMEM, "out of memory");
	d->owned = owned;
	if (stored == objlen && t && rec == t->scratch) {
		/* Stored as is: keep the record buffer instead of copying it. */
		uint8_t *p = d->owned;
		size_t cap = d->cap_owned;
		d->owned = t->scratch;
		d->cap_owned = t->cap_scratch;
		t->scratch = p;
		t->cap_scratch = cap;
		*payload = d->owned + h->k.keylen;
		return 0;
	}
	*payload = d->owned;
	if (stored == objlen) {
		memcpy(d->owned, rec + h->k.keylen, objlen);
		return 0;
	}
	return rootio_unzip(rec + h->k.keylen, stored, d->owned, objlen, err);
}

/* Before allocating what a record claims: its blocks' sizes must add up. */
static int blocks_add_up(const uint8_t *p, size_t stored, size_t objlen)
{
	size_t in = 0, out = 0;
	while (out < objlen) {
		if (stored - in < 9)
			return -1;
		size_t c = (size_t)p[in + 3] | (size_t)p[in + 4] << 8 | (size_t)p[in + 5] << 16;
		size_t u = (size_t)p[in + 6] | (size_t)p[in + 7] << 8 | (size_t)p[in + 8] << 16;
		if (c > stored - in - 9 || u == 0 || u > objlen - out)
			return -1;
		in += 9 + c;
		out += u;
	}
	return 0;
}

/* Turn a record into entries' bytes and offsets. */
static int decode_record(struct decoded *d, const uint8_t *rec, size_t len,
			 struct rootio_tree *t, bool mapped, struct rootio_err *err)
{
	struct bhead h;
	if (parse_head(rec, len, &h))
		return rootio_fail(err, ROOTIO_ECORRUPT, "basket header is corrupt");
	const uint8_t *base = NULL;
	int rc = unpack(d, rec, &h, t, mapped, &base, err);
	if (rc)
		return rc;
	size_t datalen = (size_t)(h.last - h.k.keylen);
	if (datalen > (size_t)h.k.objlen)
		return rootio_fail(err, ROOTIO_ECORRUPT, "fLast %d lies past the payload (%d bytes)",
				   h.last, h.k.objlen);
	d->data = base;
	d->in_map = mapped && base == rec + h.k.keylen;
	d->len = datalen;
	d->nevbuf = h.nevbuf;
	size_t rest = (size_t)h.k.objlen - datalen;
	if (rest < 4)
		return 0;
	const uint8_t *p = base + datalen;
	int32_t n = (int32_t)be32(p);
	if (n < 0 || (size_t)n > (rest - 4) / 4 ||
	    convert_offsets(d, p + 4, (size_t)n, h.k.keylen, -1))
		return rootio_fail(err, ROOTIO_ECORRUPT, "entry offsets are corrupt");
	return 0;
}

int rootio_decode_basket_record(const uint8_t *rec, size_t len, uint8_t **out, size_t *outlen,
				struct rootio_err *err)
{
	struct decoded d = {.slot = -1};
	int rc = decode_record(&d, rec, len, NULL, false, err);
	if (rc) {
		free(d.owned);
		free(d.offsets);
		return rc;
	}
	free(d.offsets);
	*out = d.owned;
	*outlen = d.len;
	return 0;
}

/* Whether the record in a view is stored uncompressed, so used in place:
 * no column cache entry is worth its copy. */
static bool stored_in_place(const uint8_t *rec, size_t len)
{
	struct bhead h;
	return parse_head(rec, len, &h) == 0 && h.k.objlen == h.k.nbytes - h.k.keylen;
}

int rootio_basket_load(struct rootio_tree *t, struct branch *br, int i, struct decoded *d,
		       struct rootio_err *err)
{
	const struct basket_slot *sl = &br->slots[i];
	const char *url = src_url(t->file->src);
	struct decoded *l = t->lent;
	t->lent = NULL;
	if (l && l != d) {
		uint8_t *p = l->owned;
		size_t cap = l->cap_owned;
		l->owned = d->owned;
		l->cap_owned = d->cap_owned;
		l->slot = -1;
		l->data = NULL;
		l->has_offsets = false;
		d->owned = p;
		d->cap_owned = cap;
	}
	d->slot = -1;
	d->first = br->starts[i];
	d->has_offsets = false;
	d->in_map = false;
	int rc;
	if (sl->emb) {
		rc = load_embedded(d, sl->emb);
		if (rc)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "%s: branch '%s' basket %d (embedded in the TTree): corrupt",
					   url, br->path, i);
		d->slot = i;
		t->stats.baskets++;
		t->stats.bytes_out += d->len;
		return 0;
	}
	uint64_t fsize = src_size(t->file->src);
	if (sl->seek > fsize || sl->nbytes > fsize - sl->seek)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: branch '%s' basket %d: %u bytes at offset %llu lie past the end "
				   "of the file",
				   url, br->path, i, sl->nbytes, (unsigned long long)sl->seek);
	if (sl->nbytes > ROOTIO_MAX_BASKET || sl->nbytes < 16)
		return rootio_fail(err, ROOTIO_ECORRUPT,
				   "%s: branch '%s' basket %d at %llu: size %u is impossible", url,
				   br->path, i, (unsigned long long)sl->seek, sl->nbytes);
	/* A mapped file is read in place; otherwise into the scratch buffer.
	 * Bytes of a view may be zeros that stand for a part of the file cut
	 * off while it was read: rootio_read() checks the source once it is
	 * done with the basket, whatever the decoding said. */
	/* A view that reads (the disk cache's) waits until the column cache
	 * has missed: a hit reads no compressed byte. */
	struct src *src = t->file->src;
	const uint8_t *rec = !t->cc || src_view_free(src) ? src_view(src, sl->seek, sl->nbytes)
							   : NULL;
	if (t->cc && !(rec && stored_in_place(rec, sl->nbytes)) &&
	    rootio_colcache_get(t, br, i, d) == 0) {
		d->slot = i;
		t->stats.baskets++;
		t->stats.bytes_out += d->len;
		return 0;
	}
	if (!rec && t->cc)
		rec = src_view(src, sl->seek, sl->nbytes);
	if (rec) {
		t->views++;
	} else {
		uint8_t *p = rootio_pool_grow(t->scratch, &t->cap_scratch, sl->nbytes);
		if (!p)
			return rootio_fail(err, -ENOMEM, "out of memory");
		t->scratch = p;
		ssize_t r = src_pread(t->file->src, t->scratch, sl->nbytes, sl->seek);
		char why[sizeof(err->msg)];
		if (r < 0 || (size_t)r != sl->nbytes)
			return rootio_fail(err, r < 0 ? (int)r : ROOTIO_ECORRUPT,
					   "%s: branch '%s' basket %d: %u bytes at %llu: %s", url,
					   br->path, i, sl->nbytes, (unsigned long long)sl->seek,
					   r < 0 ? rootio_read_reason(t->file->src, (int)r, why,
								      sizeof(why))
						 : "they lie past the end of the file");
	}
	char inner[sizeof(err->msg)] = "";
	struct rootio_err e2;
	rc = decode_record(d, rec ? rec : t->scratch, sl->nbytes, t, rec != NULL, &e2);
	if (rc) {
		snprintf(inner, sizeof(inner), "%s", e2.msg);
		return rootio_fail(err, rc, "%s: branch '%s' basket %d at offset %llu: %s", url,
				   br->path, i, (unsigned long long)sl->seek, inner);
	}
	if (t->cc && !d->in_map)
		rootio_colcache_put(t, br, i, d);
	d->slot = i;
	t->stats.baskets++;
	t->stats.bytes_read += sl->nbytes;
	t->stats.bytes_out += d->len;
	return 0;
}
