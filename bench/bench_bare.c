/* bench_bare.c — bare decompression of a tree's baskets (bench_bare.h). */
#include "bench_bare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <lz4.h>
#include <lzma.h>
#include <zstd.h>

#define BLOCK_HEADER 9 /* "ZS" etc., method, 3-byte compressed and raw sizes */

/* One on-disk basket record, held in memory. */
struct bare_rec {
	const uint8_t *p;
	uint32_t nbytes, keylen, objlen;
	uint32_t datalen; /* fLast - fKeylen: the entries' bytes */
};

struct bench_bare {
	const char *path;
	struct bare_rec *recs;
	size_t nrecs, nembedded;
	size_t nraw;        /* records stored uncompressed */
	uint8_t *records;   /* every record, back to back */
	uint64_t zbytes;    /* compressed bytes of the records */
	uint64_t objbytes;  /* their decompressed size (data and offsets) */
	uint64_t databytes; /* their entries' bytes */
	uint8_t *dst;       /* as large as the largest basket */
	size_t cap_dst;
	char algo[8];       /* the block types seen */
	struct libdeflate_decompressor *zl;
	ZSTD_DCtx *zs;
};

static uint32_t be(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* ---- reading the records (not timed) ---- */

/* Skip a TString at *at; returns -1 when it runs past len. */
static int skip_tstring(const uint8_t *p, size_t len, size_t *at)
{
	if (*at >= len)
		return -1;
	size_t n = p[(*at)++];
	if (n == 255) {
		if (len - *at < 4)
			return -1;
		n = be(p + *at, 4);
		*at += 4;
	}
	if (n > len - *at)
		return -1;
	*at += n;
	return 0;
}

/* Read the TKey and TBasket fields a pass and the benches' byte checks
 * need: fNbytes i32 @0, fVersion i16 @4, fObjlen i32 @6, fDatime @10,
 * fKeylen i16 @14, fCycle @16, two seeks (8 bytes each when fVersion >
 * 1000), three TStrings, then TBasket's version, fBufferSize, fNevBufSize,
 * fNevBuf, fLast. */
static int parse_record(struct bare_rec *r, size_t len)
{
	const uint8_t *p = r->p;
	if (len < 18 || be(p, 4) != len)
		return -1;
	uint32_t version = be(p + 4, 2);
	r->nbytes = (uint32_t)len;
	r->objlen = be(p + 6, 4);
	r->keylen = be(p + 14, 2);
	size_t at = 18 + (version > 1000 ? 16 : 8);
	for (int i = 0; i < 3; i++)
		if (skip_tstring(p, len, &at))
			return -1;
	if (len - at < 2 + 4 + 4 + 4 + 4)
		return -1;
	int32_t nevbufsize = (int32_t)be(p + at + 6, 4);
	at += 10 + (nevbufsize < 0) + 4;
	int32_t last = (int32_t)be(p + at, 4);
	if (r->keylen > len || r->keylen < at || last < (int32_t)r->keylen ||
	    (uint32_t)last - r->keylen > r->objlen || r->objlen > ROOTIO_MAX_BASKET)
		return -1;
	r->datalen = (uint32_t)last - r->keylen;
	return 0;
}

/* Name the compression from the first block of each compressed record. */
static void note_algo(struct bench_bare *b, const struct bare_rec *r)
{
	static const struct { const char *magic, *name; } names[] = {
		{"ZL", "zlib"}, {"L4", "lz4"}, {"ZS", "zstd"}, {"XZ", "lzma"},
	};
	const char *name = "other";
	if (r->nbytes - r->keylen == r->objlen)
		name = "raw";
	else if (r->nbytes - r->keylen >= BLOCK_HEADER)
		for (size_t i = 0; i < 4; i++)
			if (!memcmp(r->p + r->keylen, names[i].magic, 2))
				name = names[i].name;
	if (!strcmp(name, "raw") && b->algo[0])
		return;
	if (!b->algo[0] || !strcmp(b->algo, "raw"))
		snprintf(b->algo, sizeof(b->algo), "%s", name);
	else if (strcmp(b->algo, name))
		snprintf(b->algo, sizeof(b->algo), "mixed");
}

/* Read the record at loc into at and account for it. */
static int load(struct bench_bare *b, int fd, const struct rootio_basket_loc *loc, uint8_t *at)
{
	struct bare_rec *r = &b->recs[b->nrecs];
	ssize_t got = pread(fd, at, loc->nbytes, (off_t)loc->seek);
	r->p = at;
	if (got != (ssize_t)loc->nbytes || parse_record(r, loc->nbytes)) {
		fprintf(stderr, "%s: basket at %llu (%u bytes): %s\n", b->path,
			(unsigned long long)loc->seek, loc->nbytes,
			got < 0 ? strerror(errno) : "short read or bad header");
		return -1;
	}
	note_algo(b, r);
	b->nraw += r->nbytes - r->keylen == r->objlen;
	b->zbytes += r->nbytes;
	b->objbytes += r->objlen;
	b->databytes += r->datalen;
	if (r->objlen > b->cap_dst)
		b->cap_dst = r->objlen;
	b->nrecs++;
	return 0;
}

/* The distinct basket lists of cols (leaf-list columns share their
 * branch's, the same locs array), their baskets and the bytes of their
 * on-disk records. */
static int collect(struct bench_bare *b, const struct rootio_tree *t, const size_t *cols,
		   size_t n, const struct rootio_basket_loc **lists, size_t *lens, size_t *nlists,
		   size_t *nbaskets, size_t *bytes)
{
	*nlists = *nbaskets = *bytes = 0;
	for (size_t c = 0; c < n; c++) {
		const struct rootio_basket_loc *l;
		size_t k, len;
		if (rootio_tree_basket_locs(t, cols[c], &l, &len)) {
			fprintf(stderr, "%s: no column %zu\n", b->path, cols[c]);
			return -1;
		}
		for (k = 0; k < *nlists && lists[k] != l; k++)
			;
		if (k < *nlists)
			continue;
		lists[*nlists] = l;
		lens[(*nlists)++] = len;
		*nbaskets += len;
		for (size_t i = 0; i < len; i++) {
			b->nembedded += !l[i].seek;
			*bytes += l[i].seek ? l[i].nbytes : 0;
		}
	}
	return 0;
}

int bench_bare_open(const char *path, const struct rootio_tree *t, const size_t *cols, size_t n,
		    struct bench_bare **out)
{
	struct bench_bare *b = calloc(1, sizeof(*b));
	const struct rootio_basket_loc **lists = calloc(n + 1, sizeof(*lists));
	size_t *lens = calloc(n + 1, sizeof(*lens));
	size_t nlists, nbaskets, bytes;
	int fd = open(path, O_RDONLY), rc = -1;
	if (!b || !lists || !lens || fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(fd < 0 ? errno : ENOMEM));
		goto out;
	}
	b->path = path;
	if (collect(b, t, cols, n, lists, lens, &nlists, &nbaskets, &bytes))
		goto out;
	b->records = malloc(bytes + 1);
	b->recs = calloc(nbaskets + 1, sizeof(*b->recs));
	if (!b->records || !b->recs) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	uint8_t *at = b->records;
	for (size_t k = 0; k < nlists; k++)
		for (size_t i = 0; i < lens[k]; i++) {
			const struct rootio_basket_loc *loc = &lists[k][i];
			if (!loc->seek)
				continue;
			if (load(b, fd, loc, at))
				goto out;
			at += loc->nbytes;
		}
	b->dst = malloc(b->cap_dst ? b->cap_dst : 1);
	b->zl = libdeflate_alloc_decompressor();
	b->zs = ZSTD_createDCtx();
	if (!b->dst || !b->zl || !b->zs) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(lists);
	free(lens);
	if (rc)
		bench_bare_free(b);
	else
		*out = b;
	return rc;
}

void bench_bare_free(struct bench_bare *b)
{
	if (!b)
		return;
	free(b->recs);
	free(b->records);
	free(b->dst);
	if (b->zl)
		libdeflate_free_decompressor(b->zl);
	ZSTD_freeDCtx(b->zs);
	free(b);
}

/* ---- a pass ---- */

/* One block, straight into its library; nonzero when it fails. */
static int block(struct bench_bare *b, const uint8_t *h, uint32_t clen, uint8_t *o, uint32_t ulen)
{
	const uint8_t *in = h + BLOCK_HEADER;
	if (!memcmp(h, "ZL", 2)) {
		size_t got;
		return libdeflate_zlib_decompress(b->zl, in, clen, o, ulen, &got) || got != ulen;
	}
	if (!memcmp(h, "L4", 2)) /* an 8-byte checksum, then the LZ4 block */
		return clen < 8 || LZ4_decompress_safe((const char *)in + 8, (char *)o, (int)clen - 8,
						       (int)ulen) != (int)ulen;
	if (!memcmp(h, "ZS", 2))
		return ZSTD_decompressDCtx(b->zs, o, ulen, in, clen) != ulen;
	if (!memcmp(h, "XZ", 2)) {
		uint64_t limit = UINT64_MAX;
		size_t ip = 0, op = 0;
		return lzma_stream_buffer_decode(&limit, 0, NULL, in, &ip, clen, o, &op, ulen) !=
			       LZMA_OK || op != ulen;
	}
	return 1;
}

int bench_bare_pass(struct bench_bare *b)
{
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct bare_rec *r = &b->recs[i];
		const uint8_t *src = r->p + r->keylen;
		size_t len = r->nbytes - r->keylen, in = 0, done = 0;
		if (len == r->objlen) { /* stored as is */
			memcpy(b->dst, src, len);
			continue;
		}
		while (done < r->objlen) {
			const uint8_t *h = src + in;
			if (len - in < BLOCK_HEADER)
				goto bad;
			uint32_t clen = le24(h + 3), ulen = le24(h + 6);
			if (clen > len - in - BLOCK_HEADER || !ulen || ulen > r->objlen - done ||
			    block(b, h, clen, b->dst + done, ulen))
				goto bad;
			in += BLOCK_HEADER + clen;
			done += ulen;
		}
		continue;
bad:
		fprintf(stderr, "%s: bare: record %zu does not decompress\n", b->path, i);
		return -1;
	}
	return 0;
}

/* ---- introspection ---- */

size_t bench_bare_records(const struct bench_bare *b) { return b->nrecs; }
size_t bench_bare_embedded(const struct bench_bare *b) { return b->nembedded; }
uint64_t bench_bare_zbytes(const struct bench_bare *b) { return b->zbytes; }
size_t bench_bare_raw(const struct bench_bare *b) { return b->nraw; }
uint64_t bench_bare_objbytes(const struct bench_bare *b) { return b->objbytes; }
uint64_t bench_bare_databytes(const struct bench_bare *b) { return b->databytes; }
const char *bench_bare_algo(const struct bench_bare *b) { return b->algo; }

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
