/* test_dcache.c — the disk cache in front of a fake remote source: cold
 * and warm reads (a restart), reads across blocks and at the end,
 * eviction of the coldest, corrupt and truncated blocks, views of mapped
 * blocks (in place, across blocks, a block cut under its mapping), a changed file
 * identity, prefetch (vectored, coalesced, waste counted), 8 threads and
 * 2 processes on the same cold blocks, failures of the inner source.
 *
 * Usage: test_dcache                 the unit test (temporary folders)
 *        test_dcache fill DIR BYTES  a helper for dcache_check.py: read
 *          BYTES of fake remote files through the cache in DIR (the
 *          environment's settings), check every byte, print the counters
 *          as KEY=VALUE lines; exit 0 when every byte was right.
 *
 * The fake inner source counts what it is asked for in memory shared
 * between processes, so that a fork's fetches count too. */
#include "check.h"
#include "ana_err.h"
#include "dcache.h"
#include "src.h"
#include "src_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BS (64u << 10)
#define DATA_MAX (4u << 20)

struct fake_count {
	_Atomic uint64_t bytes, preads, readvs, iovs;
};

struct fake {
	const uint8_t *data;
	int delay_us;
	_Atomic int fail;
};

static struct fake_count *counts; /* shared with forks */
static uint8_t *data1, *data2;
static char tmp_dir[256];

static ssize_t fake_pread(struct src *s, void *buf, size_t len, uint64_t off)
{
	struct fake *f = src_priv(s);
	if (atomic_load(&f->fail))
		return atomic_load(&f->fail);
	if (f->delay_us)
		usleep((useconds_t)f->delay_us);
	atomic_fetch_add(&counts->bytes, len);
	atomic_fetch_add(&counts->preads, 1);
	memcpy(buf, f->data + off, len);
	return (ssize_t)len;
}

static int fake_readv(struct src *s, const struct src_iov *iov, size_t n)
{
	struct fake *f = src_priv(s);
	if (atomic_load(&f->fail))
		return atomic_load(&f->fail);
	atomic_fetch_add(&counts->readvs, 1);
	atomic_fetch_add(&counts->iovs, n);
	for (size_t i = 0; i < n; i++) {
		atomic_fetch_add(&counts->bytes, iov[i].len);
		memcpy(iov[i].buf, f->data + iov[i].off, iov[i].len);
	}
	return 0;
}

static void fake_close(struct src *s)
{
	(void)s;
}

static const struct src_ops fake_ops = {
	.scheme = "root", .pread = fake_pread, .readv = fake_readv, .close = fake_close,
};

static struct src *fake_open(const char *url, const uint8_t *data, uint64_t size,
			     int64_t mtime, int delay_us)
{
	struct src *s = src_alloc(&fake_ops, url, size, sizeof(struct fake));
	struct fake *f = src_priv(s);
	f->data = data;
	f->delay_us = delay_us;
	src_set_mtime_ns(s, mtime);
	return s;
}

static struct dcache *cache_open(const char *name, uint64_t limit, int pf)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/%s", tmp_dir, name);
	struct dcache_conf conf = {.dir = dir, .limit = limit, .block_size = BS,
				   .prefetch_threads = pf};
	struct dcache *c;
	char msg[512];
	if (dcache_open(&conf, &c, msg, sizeof(msg))) {
		fprintf(stderr, "FAIL: dcache_open %s: %s\n", dir, msg);
		exit(1);
	}
	return c;
}

/* The fake behind c. */
static struct src *wrap(struct dcache *c, const char *url, const uint8_t *data, uint64_t size,
			int64_t mtime, int delay_us)
{
	struct src *s;
	char msg[256];
	struct src *in = fake_open(url, data, size, mtime, delay_us);
	if (dcache_wrap(c, in, &s, msg, sizeof(msg)) || s == in) {
		fprintf(stderr, "FAIL: dcache_wrap %s\n", url);
		exit(1);
	}
	return s;
}

/* Read all of s in pieces of step bytes: whether every byte is data's. */
static bool read_all(struct src *s, const uint8_t *data, size_t step)
{
	uint64_t size = src_size(s);
	uint8_t *buf = malloc(step);
	bool ok = true;
	for (uint64_t off = 0; off < size; off += step) {
		size_t want = size - off < step ? (size_t)(size - off) : step;
		ssize_t r = src_pread(s, buf, step, off);
		if (r != (ssize_t)want || memcmp(buf, data + off, want) != 0)
			ok = false;
	}
	free(buf);
	return ok;
}

static uint64_t fetched(void)
{
	return atomic_load(&counts->bytes);
}

static void test_cold_warm(void)
{
	uint64_t size = 5 * BS + 12345;
	struct dcache *c = cache_open("warm", 0, -1);
	struct src *s = wrap(c, "root://h//a.root", data1, size, 1, 0);
	uint64_t f0 = fetched();
	check(read_all(s, data1, 10000), "cold read: the inner's bytes");
	CHECK_EQ_I(fetched() - f0, size);
	struct src_stats st;
	src_stats(s, &st);
	CHECK_EQ_I(st.misses, 6);
	CHECK_EQ_I(st.bytes_fetched, size);
	CHECK_EQ_I(src_mtime_ns(s), 1);
	src_close(s);
	dcache_close(c);

	c = cache_open("warm", 0, -1); /* a restart */
	s = wrap(c, "root://h//a.root", data1, size, 1, 0);
	f0 = fetched();
	check(read_all(s, data1, 7777), "warm read: the same bytes");
	CHECK_EQ_I(fetched() - f0, 0);
	uint8_t buf[300];
	CHECK_EQ_I(src_pread(s, buf, 300, BS - 100), 300); /* across two blocks */
	CHECK(!memcmp(buf, data1 + BS - 100, 300));
	CHECK_EQ_I(src_pread(s, buf, 300, size - 10), 10); /* the end */
	CHECK(!memcmp(buf, data1 + size - 10, 10));
	CHECK_EQ_I(src_pread(s, buf, 3, 3 * BS + 1), 3); /* unaligned */
	CHECK(!memcmp(buf, data1 + 3 * BS + 1, 3));
	src_stats(s, &st);
	CHECK_EQ_I(st.misses, 0);
	CHECK(st.hits >= 6);
	src_close(s);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.used, size);
	CHECK_EQ_I(ds.blocks, 6);
	CHECK_EQ_I(ds.files, 1);
	CHECK_EQ_I(ds.node[DC_MISSES], 6);
	CHECK_EQ_I(ds.node[DC_BYTES_FETCHED], size);
	dcache_close(c);
}

static void test_evict(void)
{
	struct dcache *c = cache_open("evict", 10 * BS, -1);
	struct src *a = wrap(c, "root://h//A", data1, 3 * BS, 1, 0);
	struct src *b = wrap(c, "root://h//B", data2, 3 * BS, 1, 0);
	check(read_all(a, data1, BS) && read_all(b, data2, BS), "A and B read");
	check(read_all(a, data1, BS), "A read again (now the most recent)");
	struct src *cc = wrap(c, "root://h//C", data1 + 3 * BS, 6 * BS, 1, 0);
	check(read_all(cc, data1 + 3 * BS, BS), "C read");
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	check(ds.used <= 10 * BS, "used %llu within the limit", (unsigned long long)ds.used);
	check(ds.proc[DC_EVICTIONS] >= 1, "something was evicted");
	src_close(a);
	src_close(b);
	src_close(cc);
	a = wrap(c, "root://h//A", data1, 3 * BS, 1, 0);
	uint64_t f0 = fetched();
	check(read_all(a, data1, BS), "A after eviction");
	check(fetched() == f0, "A, used recently, survived (%llu fetched)",
	      (unsigned long long)(fetched() - f0));
	b = wrap(c, "root://h//B", data2, 3 * BS, 1, 0);
	f0 = fetched();
	check(read_all(b, data2, BS), "B after eviction");
	check(fetched() - f0 >= BS, "B, the coldest, was evicted");
	src_close(a);
	src_close(b);
	dcache_close(c);
}

/* The one block file of block n in the cache folder name. */
static void block_file(const char *name, int n, char *out, size_t cap)
{
	char pat[600];
	snprintf(pat, sizeof(pat), "%s/%s/blocks/*/*.%d", tmp_dir, name, n);
	glob_t g;
	out[0] = 0;
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1)
		snprintf(out, cap, "%s", g.gl_pathv[0]);
	globfree(&g);
}

/* A new cache folder name with url (size bytes of data) read through it. */
static struct dcache *filled(const char *name, const char *url, const uint8_t *data,
			     uint64_t size, int64_t mtime)
{
	struct dcache *c = cache_open(name, 0, -1);
	struct src *s = wrap(c, url, data, size, mtime, 0);
	check(read_all(s, data, BS), "%s filled", url);
	src_close(s);
	return c;
}

static void test_corrupt(void)
{
	uint64_t size = 4 * BS;
	struct dcache *c = filled("corrupt", "root://h//x", data1, size, 1);
	struct src *s;
	char p[700];
	block_file("corrupt", 1, p, sizeof(p));
	int fd = open(p, O_RDWR);
	check(fd >= 0, "block 1's file %s", p);
	unsigned char x;
	CHECK_EQ_I(pread(fd, &x, 1, 1000), 1); /* the data, then the 48-byte trailer */
	x ^= 0x10;
	CHECK_EQ_I(pwrite(fd, &x, 1, 1000), 1);
	close(fd);
	block_file("corrupt", 2, p, sizeof(p));
	CHECK_EQ_I(truncate(p, BS / 2), 0);
	block_file("corrupt", 3, p, sizeof(p));
	fd = open(p, O_RDWR);
	x = 7; /* the trailer's block number */
	CHECK_EQ_I(pwrite(fd, &x, 1, BS + 24), 1);
	close(fd);
	s = wrap(c, "root://h//x", data1, size, 1, 0);
	uint64_t f0 = fetched();
	check(read_all(s, data1, 4096), "a corrupt, a cut and a misnamed block: right bytes");
	CHECK_EQ_I(fetched() - f0, 3 * BS);
	struct src_stats st;
	src_stats(s, &st);
	CHECK_EQ_I(st.corrupt, 3);
	src_close(s);
	s = wrap(c, "root://h//x", data1, size, 1, 0);
	f0 = fetched();
	check(read_all(s, data1, BS), "fetched again and kept");
	CHECK_EQ_I(fetched() - f0, 0);
	src_close(s);
	dcache_close(c);
}

/* Views: a basket read in place from mapped block files, across blocks
 * too; never a fetch; a corrupt block refused and fetched again by the
 * read that follows; a block file cut under its mapping fails the source
 * (no SIGBUS). */
static void test_views(void)
{
	int probe = src_guard_add(data1, 4096);
	if (probe < 0) { /* a sanitizer keeps SIGBUS: no views, pread only */
		printf("views: skipped, no SIGBUS guard here\n");
		return;
	}
	src_guard_remove(probe);
	uint64_t size = 4 * BS - 100;
	struct dcache *c = filled("views", "root://h//v", data1, size, 1);
	struct src *s = wrap(c, "root://h//v", data1, size, 1, 0);
	uint64_t f0 = fetched();
	check(!src_view_free(s), "a disk cache view may read: not free");
	const uint8_t *v = src_view(s, BS - 10, 20);
	check(v && memcmp(v, data1 + BS - 10, 20) == 0, "a view across two blocks");
	const uint8_t *w = src_view(s, 0, (size_t)size);
	check(w && memcmp(w, data1, (size_t)size) == 0, "a view of the whole file, its end short");
	check(w && v == w + BS - 10, "one address range: views of one source agree");
	CHECK_EQ_I(fetched() - f0, 0);
	struct src_stats st;
	src_stats(s, &st);
	check(st.hits >= 5 && st.misses == 0, "views count hits (%llu), no misses",
	      (unsigned long long)st.hits);
	CHECK_EQ_I(src_check(s), 0);
	src_close(s);

	/* A corrupt block: no view; the read fetches it again; then a view. */
	char p[700];
	block_file("views", 2, p, sizeof(p));
	int fd = open(p, O_RDWR);
	unsigned char x;
	CHECK_EQ_I(pread(fd, &x, 1, 5), 1);
	x ^= 1;
	CHECK_EQ_I(pwrite(fd, &x, 1, 5), 1);
	close(fd);
	s = wrap(c, "root://h//v", data1, size, 1, 0);
	f0 = fetched();
	check(src_view(s, 2 * BS, 100) == NULL, "no view of a corrupt block");
	src_stats(s, &st);
	CHECK_EQ_I(st.corrupt, 1);
	check(read_all(s, data1, BS), "the read after it: right bytes");
	CHECK_EQ_I(fetched() - f0, BS);
	v = src_view(s, 2 * BS, 100);
	check(v && memcmp(v, data1 + 2 * BS, 100) == 0, "then a view of the block fetched again");
	CHECK_EQ_I(src_check(s), 0);

	/* Cut under its mapping (by hand: anafs never writes a block in place). */
	block_file("views", 1, p, sizeof(p));
	v = src_view(s, BS, BS);
	check(v != NULL, "a view of block 1");
	CHECK_EQ_I(truncate(p, 100), 0);
	volatile uint8_t sink = 0;
	for (size_t i = 0; v && i < BS; i += 4096)
		sink ^= v[i];
	(void)sink;
	CHECK_EQ_I(src_check(s), -EIO);
	src_close(s);
	dcache_close(c);
}

static void test_identity(void)
{
	uint64_t size = 3 * BS;
	struct dcache *c = filled("ident", "root://h//f", data1, size, 100);
	struct src *s = wrap(c, "root://h//f", data2, size, 200, 0); /* rewritten: other mtime */
	uint64_t f0 = fetched();
	check(read_all(s, data2, 5000), "a new mtime: the new bytes, none stale");
	CHECK_EQ_I(fetched() - f0, size);
	src_close(s);
	s = wrap(c, "root://h//f", data1, size - 100, 200, 0); /* other size */
	f0 = fetched();
	check(read_all(s, data1, 5000), "a new size: the new bytes");
	CHECK_EQ_I(fetched() - f0, size - 100);
	src_close(s);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.blocks, 3);
	CHECK_EQ_I(ds.files, 1);
	CHECK_EQ_I(ds.used, size - 100);
	dcache_close(c);
}

static void test_prefetch(void)
{
	uint64_t size = 32 * BS;
	struct dcache *c = cache_open("prefetch", 0, 2);
	struct src *s = wrap(c, "root://h//p", data1, size, 1, 0);
	struct fake_count before = {0};
	before.readvs = atomic_load(&counts->readvs);
	before.iovs = atomic_load(&counts->iovs);
	before.preads = atomic_load(&counts->preads);
	uint64_t f0 = fetched();
	struct src_range r[] = {{0, 5 * BS}, {5 * BS, 3 * BS}, {20 * BS + 100, 1000}};
	src_prefetch(s, r, 3);
	CHECK_EQ_I(dcache_prefetch_idle(c, 10000), 0);
	CHECK_EQ_I(fetched() - f0, 9 * BS);
	CHECK_EQ_I(atomic_load(&counts->readvs) - before.readvs, 1);
	CHECK_EQ_I(atomic_load(&counts->iovs) - before.iovs, 2); /* 0..7 merged, 20 */
	CHECK_EQ_I(atomic_load(&counts->preads) - before.preads, 0);
	f0 = fetched();
	uint8_t *buf = malloc(8 * BS);
	CHECK_EQ_I(src_pread(s, buf, 8 * BS, 0), 8 * BS);
	CHECK(!memcmp(buf, data1, 8 * BS));
	CHECK_EQ_I(fetched() - f0, 0);
	struct src_stats st;
	src_stats(s, &st);
	CHECK_EQ_I(st.bytes_prefetched, 9 * BS);
	CHECK_EQ_I(st.misses, 0);
	src_close(s); /* block 20 was never read: waste only once evicted (test_waste) */
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.proc[DC_BYTES_WASTED], 0);
	/* A read of a block being prefetched waits for it. */
	s = wrap(c, "root://h//p2", data2, size, 1, 0);
	struct src_range all = {0, size};
	f0 = fetched();
	src_prefetch(s, &all, 1);
	check(read_all(s, data2, BS), "reads racing the prefetch");
	CHECK_EQ_I(dcache_prefetch_idle(c, 10000), 0);
	CHECK_EQ_I(fetched() - f0, size);
	src_close(s);
	free(buf);
	dcache_close(c);
}

/* src_warm(): the ranges' blocks fetched now with vectored reads, counted
 * as warmed, not waste when the warming source closes; a later source of
 * the same file reads them without a fetch; what is cached is not fetched
 * again; a failing server's error comes back. */
/* A ROOT file's metadata lies at its end: the fill of block 0 of a file
 * named *.root queues its last two blocks (one round trip, not two in a
 * row); other names get nothing ahead.  Hints of baskets that share
 * blocks are merged into spans before they are queued. */
static void test_tail_and_spans(void)
{
	uint64_t size = 10 * BS - 7;
	struct dcache *c = cache_open("tail", 0, 2);
	const char *urls[] = {"root://h//t.root", "root://h//t.ROOT?svcClass=x", "root://h//t.bin"};
	for (int k = 0; k < 3; k++) {
		struct src *s = wrap(c, urls[k], data1, size, 1, 0);
		uint8_t buf[100];
		uint64_t f0 = fetched();
		CHECK_EQ_I(src_pread(s, buf, sizeof(buf), 0), sizeof(buf));
		CHECK_EQ_I(dcache_prefetch_idle(c, 10000), 0);
		uint64_t ahead = k < 2 ? 2 * BS - 7 : 0;
		check(fetched() - f0 == BS + ahead, "%s: block 0 and %s", urls[k],
		      k < 2 ? "the last two blocks" : "nothing more");
		struct src_stats st;
		CHECK_EQ_I(src_pread(s, buf, sizeof(buf), size - sizeof(buf)), sizeof(buf));
		CHECK(!memcmp(buf, data1 + size - sizeof(buf), sizeof(buf)));
		src_stats(s, &st);
		CHECK_EQ_I(st.misses, k < 2 ? 1 : 2);
		src_close(s);
	}
	/* 40 baskets of 1000 bytes in blocks 3 and 4, and one in block 7: each
	 * block fetched once, in two ranges. */
	struct src *s = wrap(c, "root://h//spans", data1, size, 1, 0);
	struct src_range r[41];
	for (int i = 0; i < 40; i++)
		r[i] = (struct src_range){3 * BS + (uint64_t)i * 3000, 1000};
	r[40] = (struct src_range){7 * BS + 5, 10};
	uint64_t v0 = atomic_load(&counts->iovs), f0 = fetched();
	src_prefetch(s, r, 41);
	CHECK_EQ_I(dcache_prefetch_idle(c, 10000), 0);
	CHECK_EQ_I(fetched() - f0, 3 * BS);
	CHECK_EQ_I(atomic_load(&counts->iovs) - v0, 2); /* 3..4 and 7 */
	src_close(s);
	dcache_close(c);
}

static void test_warm(void)
{
	uint64_t size = 32 * BS;
	struct dcache *c = cache_open("warm", 0, 2);
	struct src *s = wrap(c, "root://h//w", data1, size, 1, 0);
	uint64_t f0 = fetched(), rv0 = atomic_load(&counts->readvs);
	struct src_range r[] = {{BS + 10, 2 * BS}, {10 * BS, 100}, {size - 5, 100}};
	uint64_t bytes = 0;
	CHECK_EQ_I(src_warm(s, r, 3, &bytes), 0);
	CHECK_EQ_I(bytes, 5 * BS); /* blocks 1, 2, 3, 10, 31 */
	CHECK_EQ_I(fetched() - f0, 5 * BS);
	CHECK_EQ_I(atomic_load(&counts->readvs) - rv0, 1);
	struct src_stats st;
	src_stats(s, &st);
	CHECK_EQ_I(st.bytes_warmed, 5 * BS);
	CHECK_EQ_I(st.bytes_prefetched, 0);
	CHECK_EQ_I(src_warm(s, r, 3, &bytes), 0);
	CHECK_EQ_I(bytes, 0);
	src_close(s);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.proc[DC_BYTES_WASTED], 0);
	CHECK_EQ_I(ds.node[DC_BYTES_WARMED], 5 * BS);
	s = wrap(c, "root://h//w", data1, size, 1, 0);
	f0 = fetched();
	uint8_t *buf = malloc(3 * BS);
	CHECK_EQ_I(src_pread(s, buf, 3 * BS, BS), 3 * BS);
	CHECK(!memcmp(buf, data1 + BS, 3 * BS));
	CHECK_EQ_I(fetched() - f0, 0);
	src_close(s);
	free(buf);
	struct src *in = fake_open("root://h//wf", data2, size, 1, 0);
	CHECK_EQ_I(dcache_wrap(c, in, &s, NULL, 0), 0);
	atomic_store(&((struct fake *)src_priv(in))->fail, -EIO);
	struct src_range all = {0, size};
	CHECK_EQ_I(src_warm(s, &all, 1, &bytes), -EIO);
	CHECK_EQ_I(bytes, 0);
	atomic_store(&((struct fake *)src_priv(in))->fail, 0);
	check(read_all(s, data2, BS), "reads after a failed warm");
	src_close(s);
	/* A source without a disk cache cannot be warmed. */
	s = fake_open("root://h//raw", data1, size, 1, 0);
	CHECK_EQ_I(src_warm(s, &all, 1, &bytes), -ENOTSUP);
	src_close(s);
	dcache_close(c);
}

/* Waste: a block fetched ahead counts when it is evicted with no read of
 * any source having used it; a prefetched block another source read is
 * not waste, though the source that prefetched it never read it. */
static void test_waste(void)
{
	struct dcache *c = cache_open("waste", 6 * BS, 2);
	struct src *s = wrap(c, "root://h//wp", data1, 4 * BS, 1, 0);
	struct src_range all = {0, 4 * BS};
	src_prefetch(s, &all, 1);
	CHECK_EQ_I(dcache_prefetch_idle(c, 10000), 0);
	src_close(s); /* its reader never read: a second source reads blocks 0 and 1 */
	s = wrap(c, "root://h//wp", data1, 4 * BS, 1, 0);
	uint8_t *buf = malloc(2 * BS);
	CHECK_EQ_I(src_pread(s, buf, 2 * BS, 0), 2 * BS);
	src_close(s);
	free(buf);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.proc[DC_BYTES_WASTED], 0);
	CHECK_EQ_I(ds.unread, 2 * BS); /* blocks 2 and 3, fetched ahead, not read yet */
	/* Another file pushes all four out; blocks 2 and 3 were never read. */
	s = wrap(c, "root://h//wq", data2, 6 * BS, 1, 0);
	check(read_all(s, data2, BS), "reads of the file that evicts");
	src_close(s);
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK(ds.proc[DC_EVICTIONS] >= 4);
	CHECK_EQ_I(ds.proc[DC_BYTES_WASTED], 2 * BS);
	CHECK_EQ_I(ds.unread, 0);
	dcache_close(c);
}

struct reader {
	struct dcache *c;
	uint64_t size;
	bool ok;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct src *s = wrap(r->c, "root://h//t", data2, r->size, 1, 2000);
	r->ok = read_all(s, data2, 3000);
	src_close(s);
	return NULL;
}

static void test_threads(void)
{
	struct dcache *c = cache_open("threads", 0, -1);
	struct reader r[8];
	pthread_t t[8];
	uint64_t f0 = fetched();
	for (int i = 0; i < 8; i++) {
		r[i] = (struct reader){c, 16 * BS + 5, false};
		pthread_create(&t[i], NULL, reader_main, &r[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		check(r[i].ok, "thread %d read the right bytes", i);
	}
	CHECK_EQ_I(fetched() - f0, 16 * BS + 5);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK(ds.proc[DC_WAITED] > 0);
	dcache_close(c);
}

static void test_processes(void)
{
	uint64_t size = 24 * BS + 77;
	int go[2];
	CHECK_EQ_I(pipe(go), 0);
	uint64_t f0 = fetched();
	pid_t pid[2];
	for (int i = 0; i < 2; i++) {
		if ((pid[i] = fork()) == 0) {
			close(go[1]);
			struct dcache *c = cache_open("procs", 0, -1);
			struct src *s = wrap(c, "root://h//proc", data1, size, 1, 3000);
			char x;
			if (read(go[0], &x, 1) != 0)
				_exit(3);
			bool ok = read_all(s, data1, 10000);
			src_close(s);
			dcache_close(c);
			_exit(ok ? 0 : 1);
		}
	}
	close(go[0]);
	usleep(200000);
	close(go[1]); /* both start at once */
	for (int i = 0; i < 2; i++) {
		int status = -1;
		waitpid(pid[i], &status, 0);
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d read right", i);
	}
	check(fetched() - f0 == size, "two processes: each block fetched once (%llu of %llu)",
	      (unsigned long long)(fetched() - f0), (unsigned long long)size);
	struct dcache *c = cache_open("procs", 0, -1);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.node[DC_MISSES], 25);
	CHECK_EQ_I(ds.node[DC_WAITED] + ds.node[DC_HITS] >= 25, 1);
	dcache_close(c);
}

static void test_fail(void)
{
	struct dcache *c = cache_open("fail", 0, -1);
	struct src *in = fake_open("root://h//bad", data1, 3 * BS, 1, 0);
	struct fake *f = src_priv(in);
	atomic_store(&f->fail, -ECONNRESET);
	struct src *s;
	char msg[128];
	CHECK_EQ_I(dcache_wrap(c, in, &s, msg, sizeof(msg)), 0);
	uint8_t buf[100];
	CHECK_EQ_I(src_pread(s, buf, 100, BS), -ECONNRESET);
	struct dcache_stats ds;
	CHECK_EQ_I(dcache_stats(c, &ds), 0);
	CHECK_EQ_I(ds.blocks, 0);
	atomic_store(&f->fail, 0);
	CHECK_EQ_I(src_pread(s, buf, 100, BS), 100);
	CHECK(!memcmp(buf, data1 + BS, 100));
	src_close(s);
	dcache_close(c);
	/* A folder that cannot be one. */
	char path[512];
	snprintf(path, sizeof(path), "%s/plainfile", tmp_dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	struct dcache_conf conf = {.dir = path};
	CHECK(dcache_open(&conf, &c, msg, sizeof(msg)) == -ENOTDIR);
	uint64_t v;
	CHECK(dcache_parse_size("10G", &v) == 0 && v == 10ull << 30);
	CHECK(dcache_parse_size("4x", &v) == -EINVAL);
}

/* The helper: BYTES of fake files through the cache of the environment's
 * settings in DIR. */
static int fill_main(const char *dir, uint64_t total)
{
	char d[4096], msg[512];
	struct dcache_conf conf;
	dcache_env_conf(&conf, d, sizeof(d));
	conf.dir = dir;
	struct dcache *c;
	if (dcache_open(&conf, &c, msg, sizeof(msg))) {
		fprintf(stderr, "dcache_open: %s\n", msg);
		return 1;
	}
	bool ok = true;
	uint64_t per = DATA_MAX / 2, nfiles = (total + per - 1) / per;
	for (uint64_t i = 0; i < nfiles; i++) {
		char url[64];
		snprintf(url, sizeof(url), "root://fake//file%llu.root", (unsigned long long)i);
		const uint8_t *data = (i % 2 ? data2 : data1) + i % 7 * 1000;
		struct src *s = wrap(c, url, data, per, 1, 0);
		ok = read_all(s, data, 40000) && read_all(s, data, 40000) && ok;
		src_close(s);
	}
	struct dcache_stats ds;
	if (dcache_stats(c, &ds))
		ok = false;
	for (int i = 0; i < DC_NCOUNTERS; i++)
		printf("%s=%llu\n", dcache_counter_name(i), (unsigned long long)ds.proc[i]);
	printf("used=%llu\nlimit=%llu\nfetched=%llu\nok=%d\n", (unsigned long long)ds.used,
	       (unsigned long long)ds.limit, (unsigned long long)fetched(), ok);
	dcache_close(c);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	data1 = malloc(DATA_MAX + 8192);
	data2 = malloc(DATA_MAX + 8192);
	for (size_t i = 0; i < DATA_MAX + 8192; i++) {
		data1[i] = (uint8_t)((i * 2654435761u) >> 13);
		data2[i] = (uint8_t)((i * 40503u) >> 7) ^ 0x5a;
	}
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return fill_main(argv[2], strtoull(argv[3], NULL, 10));
	if (argc != 1) {
		fprintf(stderr, "usage: test_dcache [fill DIR BYTES]\n");
		return 2;
	}
	const char *t = getenv("TMPDIR");
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_dcache.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp_dir))
		return 2;
	alarm(120);
	test_cold_warm();
	test_evict();
	test_corrupt();
	test_views();
	test_identity();
	test_prefetch();
	test_tail_and_spans();
	test_warm();
	test_waste();
	test_threads();
	test_processes();
	test_fail();
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		failures++;
	free(data1);
	free(data2);
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
