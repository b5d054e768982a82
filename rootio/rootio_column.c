/* rootio_column.c — opening a tree and reading a column over an entry
 * range: find the baskets, decode each once, convert big-endian values to
 * native ones in the caller's growing buffers. */
#include "rootio_tree_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- opening ---- */

static int find_tree(const struct rootio_file *f, const char *name)
{
	if (!name)
		name = f->ntrees ? f->trees[0].path : "";
	char path[1024];
	snprintf(path, sizeof(path), "%s", name);
	int cycle = -1;
	char *semi = strrchr(path, ';');
	if (semi) {
		*semi = 0;
		cycle = atoi(semi + 1);
	}
	int best = -1;
	for (size_t i = 0; i < f->ntrees; i++) {
		if (strcmp(f->trees[i].path, path))
			continue;
		if (cycle >= 0 ? f->trees[i].cycle == cycle
			       : best < 0 || f->trees[i].cycle > f->trees[best].cycle)
			best = (int)i;
	}
	return best;
}

int rootio_tree_open(struct rootio_file *f, const char *name, struct rootio_tree **out,
		     struct rootio_err *err)
{
	const char *url = src_url(f->src);
	int i = find_tree(f, name);
	if (i < 0)
		return rootio_fail(err, -ENOENT, "%s: no tree '%s' in the file", url,
				   name ? name : "(any)");
	struct rootio_tree *t = calloc(1, sizeof(*t));
	if (!t || !(t->arena = arena_new())) {
		free(t);
		return rootio_fail(err, -ENOMEM, "out of memory");
	}
	t->file = f;
	t->cycle = f->trees[i].cycle;
	const struct rkey *k = &f->tree_keys[i];
	int rc = rootio_read_object(f, k, &t->object, err);
	if (!rc) {
		t->object_len = (size_t)k->objlen;
		struct rootio_err inner;
		rc = rootio_parse_tree(t, t->object, (size_t)k->objlen, k->keylen,
				       f->trees[i].classname, &inner);
		if (rc)
			rootio_fail(err, rc, "%s: tree '%s;%d': %s", url, f->trees[i].path,
				    t->cycle, inner.msg);
	}
	if (rc) {
		/* Read with pread, into copies: only a failure may be the file's
		 * changing, and then the error says so. */
		rc = rootio_check_src(f->src, rc, err);
		rootio_tree_close(t);
		return rc;
	}
	if (!t->name || !*t->name)
		t->name = (char *)f->trees[i].path;
	*out = t;
	return 0;
}

void rootio_tree_close(struct rootio_tree *t)
{
	if (!t)
		return;
	if (t->cache)
		for (int i = 0; i < t->nbranches; i++) {
			rootio_pool_put(t->cache[i].owned, t->cache[i].cap_owned);
			rootio_pool_put(t->cache[i].offsets,
					t->cache[i].cap_offsets * sizeof(*t->cache[i].offsets));
		}
	free(t->cache);
	free(t->branches);
	rootio_pool_put(t->scratch, t->cap_scratch);
	free(t->object);
	arena_free(t->arena);
	free(t);
}

uint64_t rootio_tree_fingerprint(const struct rootio_tree *t)
{
	/* The TTree object names every basket's place and size and every
	 * branch's entries; the file's end and version change with any rewrite
	 * or append. */
	uint64_t seed = t->file->end * 0x9e3779b97f4a7c15ull ^ (uint64_t)t->file->version;
	return XXH64(t->object, t->object_len, seed);
}

const char *rootio_tree_name(const struct rootio_tree *t)
{
	return t->name;
}

const char *rootio_tree_title(const struct rootio_tree *t)
{
	return t->title ? t->title : "";
}

int rootio_tree_cycle(const struct rootio_tree *t)
{
	return t->cycle;
}

int64_t rootio_tree_entries(const struct rootio_tree *t)
{
	return t->entries;
}

size_t rootio_tree_ncolumns(const struct rootio_tree *t)
{
	return (size_t)t->ncolumns;
}

const struct rootio_branch *rootio_tree_column(const struct rootio_tree *t, size_t i)
{
	return i < (size_t)t->ncolumns ? &t->columns[i].pub : NULL;
}

int rootio_tree_find(const struct rootio_tree *t, const char *name)
{
	for (int i = 0; i < t->ncolumns; i++)
		if (!strcmp(t->columns[i].pub.name, name))
			return i;
	return -1;
}

int rootio_tree_baskets(const struct rootio_tree *t, size_t i, const int64_t **starts,
			size_t *n)
{
	if (i >= (size_t)t->ncolumns)
		return -EINVAL;
	*starts = t->columns[i].branch->starts;
	*n = (size_t)t->columns[i].branch->nbaskets;
	return 0;
}

int rootio_tree_basket_locs(const struct rootio_tree *t, size_t i,
			    const struct rootio_basket_loc **locs, size_t *n)
{
	if (i >= (size_t)t->ncolumns)
		return -EINVAL;
	*locs = t->columns[i].branch->locs;
	*n = (size_t)t->columns[i].branch->nbaskets;
	return 0;
}

void rootio_tree_stats(const struct rootio_tree *t, struct rootio_stats *st)
{
	*st = t->stats;
}

/* ---- columns ---- */

void rootio_column_init(struct rootio_column *c)
{
	memset(c, 0, sizeof(*c));
}

void rootio_column_free(struct rootio_column *c)
{
	free(c->values);
	free(c->offsets_mem);
	rootio_column_init(c);
}

static int reserve_values(struct rootio_column *c, size_t nvalues, size_t size)
{
	size_t need = nvalues * size;
	if (need / size != nvalues)
		return -ENOMEM;
	if (need <= c->cap_values)
		return 0;
	size_t cap = c->cap_values ? c->cap_values : 4096;
	while (cap < need)
		cap *= 2;
	void *p = realloc(c->values, cap);
	if (!p)
		return -ENOMEM;
	c->values = p;
	c->cap_values = cap;
	return 0;
}

static int reserve_offsets(struct rootio_column *c, size_t n)
{
	if (n <= c->cap_offsets)
		return 0;
	size_t cap = c->cap_offsets ? c->cap_offsets : 1024;
	while (cap < n)
		cap *= 2;
	int64_t *p = realloc(c->offsets_mem, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->offsets_mem = p;
	c->cap_offsets = cap;
	return 0;
}

/* Float16_t and Double32_t, as TBufferFile::ReadWithNbits and
 * ReadWithFactor decode them. */
static double decode_packed(const struct leaf *l, const uint8_t *p)
{
	if (l->factor != 0)
		return (double)be32(p) / l->factor + l->xmin;
	if (l->nbits) {
		uint32_t exp = p[0], man = be16(p + 1);
		uint32_t bits = exp << 23 | (man & ((1u << (l->nbits + 1)) - 1)) << (23 - l->nbits);
		float f;
		memcpy(&f, &bits, sizeof(f));
		return (1u << (l->nbits + 1)) & man ? -f : f;
	}
	uint32_t u = be32(p);
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

ROOTIO_CLONES
static void swap16(uint16_t *restrict d, const uint8_t *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t v;
		memcpy(&v, s + 2 * i, 2);
		d[i] = __builtin_bswap16(v);
	}
}

ROOTIO_CLONES
static void swap32(uint32_t *restrict d, const uint8_t *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		memcpy(&v, s + 4 * i, 4);
		d[i] = __builtin_bswap32(v);
	}
}

ROOTIO_CLONES
static void swap64(uint64_t *restrict d, const uint8_t *restrict s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, s + 8 * i, 8);
		d[i] = __builtin_bswap64(v);
	}
}

/* Convert n values of leaf l from src (big-endian, stride bytes apart when
 * stride is not the value size) into dst. */
static void convert(const struct leaf *l, void *dst, const uint8_t *src, size_t n)
{
	size_t i;
	if (!n)
		return;
	switch (l->enc) {
	case ENC_FLOAT16:
		for (i = 0; i < n; i++)
			((float *)dst)[i] = (float)decode_packed(l, src + i * (size_t)l->size);
		return;
	case ENC_DOUBLE32:
		for (i = 0; i < n; i++)
			((double *)dst)[i] = decode_packed(l, src + i * (size_t)l->size);
		return;
	default:
		break;
	}
	switch (l->size) {
	case 1:
		if (l->type == ROOTIO_BOOL)
			for (i = 0; i < n; i++)
				((uint8_t *)dst)[i] = src[i] != 0;
		else
			memcpy(dst, src, n);
		break;
	case 2:
		swap16(dst, src, n);
		break;
	case 4:
		swap32(dst, src, n);
		break;
	default:
		swap64(dst, src, n);
		break;
	}
}

struct reader {
	struct rootio_tree *t;
	struct column *c;
	struct rootio_column *out;
	struct rootio_err *err;
	size_t vsize;      /* bytes per output value */
};

static int fail_at(struct reader *r, int k, const char *what)
{
	return rootio_fail(r->err, ROOTIO_ECORRUPT, "%s: branch '%s' basket %d: %s",
			   src_url(r->t->file->src), r->c->branch->path, k, what);
}

/* Fixed-size entries: flat, fixed arrays and leaf lists. */
static int take_fixed(struct reader *r, struct decoded *d, int k, int64_t j0, int64_t j1)
{
	const struct leaf *l = r->c->leaf;
	const struct branch *br = r->c->branch;
	size_t per = (size_t)l->len;
	size_t esize = br->record ? (size_t)br->record : per * (size_t)l->size;
	size_t n = (size_t)(j1 - j0);
	struct rootio_column *o = r->out;
	if (reserve_values(o, o->nvalues + n * per, r->vsize))
		return -ENOMEM;
	uint8_t *dst = (uint8_t *)o->values + o->nvalues * r->vsize;
	if (!d->has_offsets && !br->record) {
		if ((size_t)j1 * esize > d->len)
			return fail_at(r, k, "holds fewer bytes than its entries need");
		convert(l, dst, d->data + (size_t)j0 * esize, n * per);
	} else {
		for (int64_t j = j0; j < j1; j++, dst += per * r->vsize) {
			size_t at = d->has_offsets ? (size_t)d->offsets[j] : (size_t)j * esize;
			if (at + (size_t)l->offset + per * (size_t)l->size > d->len)
				return fail_at(r, k, "an entry lies past the basket's data");
			convert(l, dst, d->data + at + l->offset, per);
		}
	}
	o->nvalues += n * per;
	return 0;
}

/* Offsets for a basket stored without them: from the counter column. */
static int offsets_from_counter(struct reader *r, struct decoded *d, int k)
{
	const struct leaf *l = r->c->leaf;
	struct rootio_column cnt;
	rootio_column_init(&cnt);
	int64_t first = d->first, n = d->nevbuf;
	int rc = rootio_read(r->t, (size_t)r->c->pub.counter, first, first + n, &cnt, r->err);
	if (rc) {
		rootio_column_free(&cnt);
		return rc;
	}
	if (d->cap_offsets < (size_t)n + 1) {
		size_t cap = d->cap_offsets * sizeof(*d->offsets);
		int32_t *p = rootio_pool_grow(d->offsets, &cap, ((size_t)n + 1) * sizeof(*p));
		if (!p) {
			rootio_column_free(&cnt);
			return -ENOMEM;
		}
		d->offsets = p;
		d->cap_offsets = cap / sizeof(*p);
	}
	int64_t at = 0;
	size_t cs = rootio_type_size(cnt.type);
	for (int64_t j = 0; j < n; j++) {
		d->offsets[j] = (int32_t)at;
		int64_t m;
		const uint8_t *p = (const uint8_t *)cnt.values + (size_t)j * cs;
		switch (cs) {
		case 1: m = *(const int8_t *)p; break;
		case 2: m = *(const int16_t *)p; break;
		case 4: m = *(const int32_t *)p; break;
		default: m = *(const int64_t *)p; break;
		}
		if (m < 0 || m > (1 << 24))
			break;
		at += l->header + m * l->len * l->size;
		if (at > (int64_t)d->len)
			break;
	}
	rootio_column_free(&cnt);
	if (at != (int64_t)d->len)
		return fail_at(r, k, "its counter's values do not add up to its bytes");
	d->offsets[n] = (int32_t)at;
	d->has_offsets = true;
	return 0;
}

/* out[j] = base + (doff[j] - start) / 2^sh for n entries; returns the OR
 * of every (doff[j] - start), whose low bits tell whether an entry is not
 * a whole number of values (start is, and so then is every entry).  The
 * offsets rise (rootio_basket.c checks them), so the differences are not
 * negative. */
ROOTIO_CLONES
static size_t pow2_offsets(int64_t *restrict out, const int32_t *restrict doff, size_t n,
			   int32_t start, size_t base, int sh)
{
	uint32_t bad = 0;
	for (size_t j = 0; j < n; j++) {
		uint32_t rel = (uint32_t)(doff[j] - start);
		bad |= rel;
		out[j] = (int64_t)(base + (rel >> sh));
	}
	return bad;
}

static int take_jagged(struct reader *r, struct decoded *d, int k, int64_t j0, int64_t j1)
{
	const struct leaf *l = r->c->leaf;
	struct rootio_column *o = r->out;
	if (!d->has_offsets) {
		int rc = offsets_from_counter(r, d, k);
		if (rc)
			return rc;
	}
	size_t bytes = (size_t)(d->offsets[j1] - d->offsets[j0]);
	if (reserve_values(o, o->nvalues + bytes / (size_t)l->size + 1, r->vsize))
		return -ENOMEM;
	size_t unit = (size_t)l->size * (size_t)l->len;
	int64_t *off = o->offsets + o->nentries;
	if (!l->header && !(unit & (unit - 1))) {
		/* Power-of-two sizes: masks and shifts, no division per entry. */
		size_t base = o->nvalues;
		int32_t start = d->offsets[j0];
		int sh = __builtin_ctz((unsigned)l->size);
		if (pow2_offsets(off + 1, d->offsets + j0 + 1, (size_t)(j1 - j0), start, base, sh) &
		    (unit - 1))
			return fail_at(r, k, "an entry's size is not a whole number of values");
		size_t nv = (size_t)(d->offsets[j1] - start) >> sh;
		convert(l, (uint8_t *)o->values + o->nvalues * r->vsize, d->data + start, nv);
		o->nvalues = base + nv;
		o->nentries += j1 - j0;
		return 0;
	}
	if (!l->header) {
		/* The entries' values lie back to back: convert them at once. */
		size_t base = o->nvalues;
		for (int64_t j = j0; j < j1; j++) {
			size_t n = (size_t)(d->offsets[j + 1] - d->offsets[j]);
			if (n % unit)
				return fail_at(r, k, "an entry's size is not a whole number of values");
			*++off = (int64_t)(base += n / (size_t)l->size);
		}
		convert(l, (uint8_t *)o->values + o->nvalues * r->vsize, d->data + d->offsets[j0],
			base - o->nvalues);
		o->nvalues = base;
		o->nentries += j1 - j0;
		return 0;
	}
	for (int64_t j = j0; j < j1; j++) {
		size_t a = (size_t)d->offsets[j] + (size_t)l->header, b = (size_t)d->offsets[j + 1];
		if (a > b) {
			if (b != (size_t)d->offsets[j])
				return fail_at(r, k, "an entry is shorter than its header");
			a = b; /* an empty entry may omit the header */
		}
		if ((b - a) % unit)
			return fail_at(r, k, "an entry's size is not a whole number of values");
		size_t n = (b - a) / (size_t)l->size;
		convert(l, (uint8_t *)o->values + o->nvalues * r->vsize, d->data + a, n);
		o->nvalues += n;
		*++off = (int64_t)o->nvalues;
		o->nentries++;
	}
	return 0;
}

static int take_strings(struct reader *r, struct decoded *d, int k, int64_t j0, int64_t j1)
{
	struct rootio_column *o = r->out;
	size_t at = 0;
	if (!d->has_offsets) /* walk the strings from the start of the basket */
		for (int64_t j = 0; j < j0 && at < d->len; j++) {
			uint32_t n = d->data[at++];
			if (n == 255 && at + 4 <= d->len) {
				n = be32(d->data + at);
				at += 4;
			}
			at += n;
		}
	for (int64_t j = j0; j < j1; j++) {
		size_t end = d->len;
		if (d->has_offsets) {
			at = (size_t)d->offsets[j];
			end = (size_t)d->offsets[j + 1];
		}
		if (at >= end)
			return fail_at(r, k, "a string entry is missing");
		uint32_t n = d->data[at++];
		if (n == 255) {
			if (end - at < 4)
				return fail_at(r, k, "a string length is truncated");
			n = be32(d->data + at);
			at += 4;
		}
		if (n > end - at)
			return fail_at(r, k, "a string runs past its entry");
		if (reserve_values(o, o->nvalues + n, 1))
			return -ENOMEM;
		if (n)
			memcpy((char *)o->values + o->nvalues, d->data + at, n);
		at += n;
		o->nvalues += n;
		o->offsets[o->nentries + 1] = (int64_t)o->nvalues;
		o->nentries++;
	}
	return 0;
}

/* The basket holding entry e (baskets may be empty). */
static int basket_of(const struct branch *br, int64_t e)
{
	int lo = 0, hi = br->nbaskets;
	while (lo < hi) { /* first basket whose end is past e */
		int mid = (lo + hi) / 2;
		if (br->starts[mid + 1] <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int read_range(struct rootio_tree *t, size_t i, int64_t a, int64_t b,
		      struct rootio_column *out, struct rootio_err *err)
{
	if (i >= (size_t)t->ncolumns)
		return rootio_fail(err, -EINVAL, "no column %zu", i);
	struct column *c = &t->columns[i];
	struct branch *br = c->branch;
	const char *url = src_url(t->file->src);
	if (c->pub.kind == ROOTIO_UNSUPPORTED)
		return rootio_fail(err, ROOTIO_EUNSUPPORTED, "%s: branch '%s': %s", url,
				   c->pub.name, c->pub.note);
	if (a < 0 || b < a || b > br->entries)
		return rootio_fail(err, -EINVAL,
				   "%s: branch '%s': entries [%lld, %lld) outside [0, %lld)", url,
				   c->pub.name, (long long)a, (long long)b, (long long)br->entries);
	struct reader r = {t, c, out, err, rootio_type_size(c->pub.type)};
	bool offsets = c->pub.kind == ROOTIO_JAGGED || c->pub.kind == ROOTIO_STR;
	out->type = c->pub.type;
	out->first = a;
	out->nentries = 0;
	out->nvalues = 0;
	out->offsets = NULL;
	if (offsets) {
		if (reserve_offsets(out, (size_t)(b - a) + 1))
			return rootio_fail(err, -ENOMEM, "out of memory");
		out->offsets = out->offsets_mem;
		out->offsets[0] = 0;
	}
	/* One decoded basket per branch; leaf-list columns share it. */
	struct decoded *d = &t->cache[br->index];
	int64_t e = a;
	for (int k = basket_of(br, a); e < b; k++) {
		if (k >= br->nbaskets)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "%s: branch '%s': no basket holds entry %lld", url,
					   c->pub.name, (long long)e);
		int64_t s = br->starts[k], stop = br->starts[k + 1];
		if (stop <= e)
			continue;
		if (s > e)
			return rootio_fail(err, ROOTIO_ECORRUPT,
					   "%s: branch '%s': no basket holds entry %lld", url,
					   c->pub.name, (long long)e);
		if (d->slot != k) {
			int rc = rootio_basket_load(t, br, k, d, err);
			if (rc)
				return rc;
		} else if (t->lent == d) {
			t->lent = NULL; /* in use again: not to be taken */
		}
		if (stop - s > d->nevbuf)
			return fail_at(&r, k, "holds fewer entries than the branch says");
		int64_t j0 = e - s, j1 = (b < stop ? b : stop) - s;
		int rc;
		if (c->pub.kind == ROOTIO_JAGGED)
			rc = take_jagged(&r, d, k, j0, j1);
		else if (c->pub.kind == ROOTIO_STR)
			rc = take_strings(&r, d, k, j0, j1);
		else
			rc = take_fixed(&r, d, k, j0, j1);
		if (d->in_map)
			t->views++;
		if (rc)
			return rc == -ENOMEM ? rootio_fail(err, rc, "out of memory") : rc;
		/* Read to its end, the basket is likely done with: the next one
		 * decoded, of any branch, goes into its buffer while that is
		 * still in the cache, instead of into a buffer of its own that
		 * was last written a whole round of branches ago. */
		if (s + j1 == stop && !d->in_map && !br->slots[k].emb)
			t->lent = d;
		e = s + j1;
	}
	if (!offsets)
		out->nentries = b - a;
	return 0;
}

int rootio_read(struct rootio_tree *t, size_t i, int64_t a, int64_t b,
		struct rootio_column *out, struct rootio_err *err)
{
	/* Baskets are decoded from the source's view and raw ones used in
	 * place, also by later calls: bytes read from the view are trusted
	 * only once the source says that the file still holds them (a failure
	 * too may come from zeros that stand for bytes the file lost).  A call
	 * that used only copies costs no check. */
	uint64_t views = t->views;
	int rc = read_range(t, i, a, b, out, err);
	if (rc || t->views != views)
		rc = rootio_check_src(t->file->src, rc, err);
	return rc;
}
