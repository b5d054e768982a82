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

struct bare_rec {
	const uint8_t *p;
	uint32_t nbytes, keylen, objlen;
};

struct bench_bare {
	struct bare_rec *recs;
	size_t nrecs, nembedded;
	uint8_t *records; /* every record, back to back */
	uint64_t zbytes;
	uint8_t *dst;     /* as large as the largest basket */
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

/* The distinct basket lists of cols (leaf-list columns share their
 * branch's) and the bytes of their on-disk records. */
static int collect(const struct rootio_tree *t, const size_t *cols, size_t n,
		   const struct rootio_basket_loc **lists, size_t *lens, size_t *nlists,
		   size_t *nrec, size_t *bytes)
{
	*nlists = *nrec = *bytes = 0;
	for (size_t c = 0; c < n; c++) {
		const struct rootio_basket_loc *l;
		size_t k, len;
		if (rootio_tree_basket_locs(t, cols[c], &l, &len))
			return -1;
		for (k = 0; k < *nlists && lists[k] != l; k++)
			;
		if (k < *nlists)
			continue;
		lists[*nlists] = l;
		lens[(*nlists)++] = len;
		*nrec += len;
		for (size_t i = 0; i < len; i++)
			*bytes += l[i].seek ? l[i].nbytes : 0;
	}
	return 0;
}

/* Read record loc at `at`: its key header gives fObjlen (@6) and fKeylen
 * (@14); the payload after the key is the compressed basket. */
static int load(struct bench_bare *b, int fd, const struct rootio_basket_loc *loc, uint8_t *at,
		size_t *maxobj)
{
	struct bare_rec *r = &b->recs[b->nrecs];
	ssize_t got = pread(fd, at, loc->nbytes, (off_t)loc->seek);
	if (got != (ssize_t)loc->nbytes || loc->nbytes < 18 || be(at, 4) != loc->nbytes)
		return -1;
	r->p = at;
	r->nbytes = loc->nbytes;
	r->objlen = be(at + 6, 4);
	r->keylen = be(at + 14, 2);
	if (r->keylen > r->nbytes || r->objlen > ROOTIO_MAX_BASKET)
		return -1;
	if (r->objlen > *maxobj)
		*maxobj = r->objlen;
	b->zbytes += r->nbytes;
	b->nrecs++;
	return 0;
}

int bench_bare_open(const char *path, const struct rootio_tree *t, const size_t *cols, size_t n,
		    struct bench_bare **out)
{
	struct bench_bare *b = calloc(1, sizeof(*b));
	const struct rootio_basket_loc **lists = calloc(n + 1, sizeof(*lists));
	size_t *lens = calloc(n + 1, sizeof(*lens));
	size_t nlists, nrec, bytes, maxobj = 1;
	int fd = open(path, O_RDONLY), rc = -1;
	if (!b || !lists || !lens || fd < 0 || collect(t, cols, n, lists, lens, &nlists, &nrec, &bytes))
		goto out;
	b->records = malloc(bytes + 1);
	b->recs = calloc(nrec + 1, sizeof(*b->recs));
	if (!b->records || !b->recs)
		goto out;
	uint8_t *at = b->records;
	for (size_t k = 0; k < nlists; k++)
		for (size_t i = 0; i < lens[k]; i++) {
			const struct rootio_basket_loc *loc = &lists[k][i];
			if (!loc->seek) {
				b->nembedded++;
				continue;
			}
			if (load(b, fd, loc, at, &maxobj)) {
				fprintf(stderr, "%s: basket at %llu: short read or bad key\n", path,
					(unsigned long long)loc->seek);
				goto out;
			}
			at += loc->nbytes;
		}
	b->dst = malloc(maxobj);
	b->zl = libdeflate_alloc_decompressor();
	b->zs = ZSTD_createDCtx();
	if (b->dst && b->zl && b->zs)
		rc = 0;
out:
	if (rc && errno)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
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
		fprintf(stderr, "bench: record %zu does not decompress\n", i);
		return -1;
	}
	return 0;
}

size_t bench_bare_records(const struct bench_bare *b) { return b->nrecs; }
size_t bench_bare_embedded(const struct bench_bare *b) { return b->nembedded; }
uint64_t bench_bare_zbytes(const struct bench_bare *b) { return b->zbytes; }

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
