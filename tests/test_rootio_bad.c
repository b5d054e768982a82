/* test_rootio_bad.c — the ROOT reader on bad input: truncated files,
 * flipped bytes, wrong magic, absurd sizes and counts, baskets that
 * decompress to another size than they claim.
 *
 * Usage: test_rootio_bad DIR   (DIR holds the shared ROOT files)
 *
 * Each case copies a real file into a buffer of its exact size, damages
 * the copy, serves it through src_mem_open() under a name of its own and
 * reads every tree and column.  Nothing may crash; a failure must come with
 * a message that names the file and says where; the cases of known damage
 * must give the error code they call for, without allocating what the
 * file claims (checked by ASan's allocation hooks under ASan, else by an
 * address-space limit).  Exit status: 0 when every check passed, 1 when
 * one failed, 2 on bad usage or missing files. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "rootio.h"
#include "src.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#define MAX_TREES 4
#define MAX_ENTRIES 100000
#define NTRUNC 200
#define NFLIPS 500
#define MAX_KEYS 64
#define MAX_SPANS 4096



/* The largest single allocation since the last reset. */
#ifdef HAVE_ASAN
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));
static size_t max_alloc;
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > max_alloc)
		max_alloc = n;
}
static void on_free(const volatile void *p)
{
	(void)p;
}
static void alloc_watch_start(void)
{
	max_alloc = 0;
}
static size_t alloc_watch_stop(void)
{
	return max_alloc;
}
#else
/* Without ASan an allocation of what a patched file claims (2 GiB) fails
 * under a limit of 1 GiB more than the process uses now, and the reader's
 * -ENOMEM fails the check on the error code. */
static struct rlimit saved_as;
static void alloc_watch_start(void)
{
	unsigned long pages = 0;
	FILE *fp = fopen("/proc/self/statm", "r");
	if (fp) {
		if (fscanf(fp, "%lu", &pages) != 1)
			pages = 0;
		fclose(fp);
	}
	getrlimit(RLIMIT_AS, &saved_as);
	struct rlimit r = saved_as;
	rlim_t want = (rlim_t)pages * 4096 + ((rlim_t)1 << 30);
	if (pages && (r.rlim_max == RLIM_INFINITY || want < r.rlim_max)) {
		r.rlim_cur = want;
		setrlimit(RLIMIT_AS, &r);
	}
}
static size_t alloc_watch_stop(void)
{
	setrlimit(RLIMIT_AS, &saved_as);
	return 0;
}
#endif

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One key of the top directory's key list, as the test finds it. */
struct tkey {
	size_t at; /* where its header lies in the key list */
	uint32_t nbytes, objlen;
	uint16_t keylen;
	uint64_t seek;
	char classname[64];
};

/* A shared file in memory and the places the test damages. */
struct image {
	const char *file;
	uint8_t *data;
	size_t len;
	uint64_t begin, dir_at, seek_keys;
	uint32_t nbytes_name, nbytes_keys;
	uint16_t list_keylen;
	struct tkey keys[MAX_KEYS];
	size_t nkeys;
	struct span { /* an on-disk basket of the first tree */
		uint64_t seek;
		uint32_t nbytes;
		int col;
	} spans[MAX_SPANS];
	size_t nspans;
};

static int load(const char *dir, const char *file, struct image *im)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "test_rootio_bad: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	memset(im, 0, sizeof(*im));
	im->file = file;
	im->len = n > 0 ? (size_t)n : 0;
	im->data = malloc(im->len ? im->len : 1);
	size_t got = im->data ? fread(im->data, 1, im->len, fp) : 0;
	fclose(fp);
	if (got != im->len || im->len < 200) {
		fprintf(stderr, "test_rootio_bad: %s: short read\n", path);
		return -1;
	}
	return 0;
}

static size_t skip_tstring(const uint8_t *p, size_t at, size_t end, char *out, size_t cap)
{
	if (at >= end)
		return end;
	size_t n = p[at++];
	if (n == 255) {
		if (at + 4 > end)
			return end;
		n = be32(p + at);
		at += 4;
	}
	if (out && cap) {
		size_t k = n < cap - 1 ? n : cap - 1;
		if (at + k > end)
			k = 0;
		memcpy(out, p + at, k);
		out[k] = 0;
	}
	return at + n;
}

/* Find the header fields, the top directory and its keys, the way ROOT
 * lays them out (TFile::Init, TDirectoryFile::Streamer, TKey). */
static int map_image(struct image *im)
{
	const uint8_t *d = im->data;
	uint32_t version = be32(d + 4);
	im->begin = be32(d + 8);
	im->nbytes_name = be32(d + (version >= 1000000 ? 36 : 28));
	im->dir_at = im->begin + im->nbytes_name;
	if (im->dir_at + 42 > im->len)
		return -1;
	const uint8_t *r = d + im->dir_at;
	im->nbytes_keys = be32(r + 10);
	im->seek_keys = be16(r) > 1000 ? be64(r + 34) : be32(r + 26);
	if (im->seek_keys + im->nbytes_keys > im->len)
		return -1;
	const uint8_t *kl = d + im->seek_keys;
	im->list_keylen = be16(kl + 14);
	size_t end = im->nbytes_keys, at = im->list_keylen;
	uint32_t nkeys = be32(kl + at);
	at += 4;
	for (uint32_t i = 0; i < nkeys && im->nkeys < MAX_KEYS && at + 26 < end; i++) {
		struct tkey *k = &im->keys[im->nkeys++];
		k->at = at;
		k->nbytes = be32(kl + at);
		k->objlen = be32(kl + at + 6);
		k->keylen = be16(kl + at + 14);
		int big = be16(kl + at + 4) > 1000;
		k->seek = big ? be64(kl + at + 18) : be32(kl + at + 18);
		size_t s = at + 18 + (big ? 16 : 8);
		s = skip_tstring(kl, s, end, k->classname, sizeof(k->classname));
		s = skip_tstring(kl, s, end, NULL, 0);
		s = skip_tstring(kl, s, end, NULL, 0);
		at = s;
	}
	return im->nkeys ? 0 : -1;
}

static const struct tkey *find_key(const struct image *im, const char *classname)
{
	for (size_t i = 0; i < im->nkeys; i++)
		if (!strcmp(im->keys[i].classname, classname))
			return &im->keys[i];
	return NULL;
}

/* A failed call's message: NUL-terminated, names the file, says where. */
static int message_ok(const char *msg, const char *name)
{
	if (!memchr(msg, 0, 512) || !msg[0])
		return 0;
	const char *at = strstr(msg, name);
	if (!at)
		return 0;
	char rest[512];
	snprintf(rest, sizeof(rest), "%.*s%s", (int)(at - msg), msg, at + strlen(name));
	if (strstr(rest, "offset") || strstr(rest, " at ") || strstr(rest, "byte") ||
	    strchr(rest, '\''))
		return 1;
	for (const char *p = rest; *p; p++)
		if (*p >= '0' && *p <= '9')
			return 1;
	return 0;
}

/* What reading a damaged copy gave: the first failure, if any. */
struct outcome {
	int rc;
	const char *call;
	struct rootio_err err;
};

static void fail_at(struct outcome *o, int rc, const char *call, const struct rootio_err *e)
{
	if (o->rc)
		return;
	o->rc = rc;
	o->call = call;
	o->err = *e;
}

/* Open data (len bytes, copied to a buffer of exactly that size) as name
 * and read every column of every tree; with col >= 0 only that column of
 * the first tree. */
static struct outcome exercise(const uint8_t *data, size_t len, const char *name, int col)
{
	struct outcome o = {0};
	struct rootio_err e;
	memset(&e, 0xa5, sizeof(e));
	uint8_t *copy = malloc(len ? len : 1);
	struct src *s;
	if (copy)
		memcpy(copy, data, len);
	if (!copy || src_mem_open(copy, len, name, &s)) {
		snprintf(e.msg, sizeof(e.msg), "%s: test setup failed", name);
		fail_at(&o, -ENOMEM, "setup", &e);
		free(copy);
		return o;
	}
	struct rootio_file *f;
	int rc = rootio_open_src(s, &f, &e);
	if (rc) {
		fail_at(&o, rc, "rootio_open_src", &e);
		free(copy);
		return o;
	}
	struct rootio_column c;
	rootio_column_init(&c);
	for (size_t k = 0; k < rootio_ntrees(f) && k < MAX_TREES; k++) {
		const struct rootio_tree_info *ti = rootio_tree_at(f, k);
		char tname[600];
		snprintf(tname, sizeof(tname), "%s;%d", ti->path, ti->cycle);
		struct rootio_tree *t;
		memset(&e, 0xa5, sizeof(e));
		if ((rc = rootio_tree_open(f, tname, &t, &e))) {
			fail_at(&o, rc, "rootio_tree_open", &e);
			continue;
		}
		int64_t n = rootio_tree_entries(t);
		n = n < 0 ? 0 : n > MAX_ENTRIES ? MAX_ENTRIES : n;
		for (size_t i = 0; i < rootio_tree_ncolumns(t); i++) {
			if (col >= 0 && (k > 0 || i != (size_t)col))
				continue;
			if (rootio_tree_column(t, i)->kind == ROOTIO_UNSUPPORTED)
				continue;
			memset(&e, 0xa5, sizeof(e));
			if ((rc = rootio_read(t, i, 0, n, &c, &e)))
				fail_at(&o, rc, "rootio_read", &e);
		}
		rootio_tree_close(t);
	}
	rootio_column_free(&c);
	rootio_close(f);
	free(copy);
	return o;
}

static void check_failure_text(const struct outcome *o, const char *name, const char *what)
{
	if (!o->rc)
		return;
	check(message_ok(o->err.msg, name), "%s: %s failed (%d) with a message that does not "
	      "name the file and a place: \"%.*s\"", what, o->call, o->rc, 400,
	      memchr(o->err.msg, 0, sizeof(o->err.msg)) ? o->err.msg : "(not terminated)");
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* The first column with an on-disk basket that is compressed (or, with
 * want_compressed 0, stored as is), and that basket; with jagged set, the
 * first jagged column whose basket holds entry offsets. */
static int find_basket_of(const struct image *im, int want_compressed, int jagged, int *col,
			  struct rootio_basket_loc *loc, char *colname, size_t cap)
{
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err e;
	struct src *s;
	int found = -1;
	if (src_mem_open(im->data, im->len, im->file, &s) || rootio_open_src(s, &f, &e))
		return -1;
	if (rootio_tree_open(f, NULL, &t, &e)) {
		rootio_close(f);
		return -1;
	}
	for (size_t i = 0; i < rootio_tree_ncolumns(t) && found < 0; i++) {
		const struct rootio_branch *br = rootio_tree_column(t, i);
		const struct rootio_basket_loc *l;
		size_t n;
		if (br->kind == ROOTIO_UNSUPPORTED || strpbrk(br->name, "./") ||
		    (jagged && br->kind != ROOTIO_JAGGED) || rootio_tree_basket_locs(t, i, &l, &n))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!l[k].seek || l[k].seek + l[k].nbytes > im->len)
				continue;
			const uint8_t *r = im->data + l[k].seek;
			int compressed = be32(r) - be16(r + 14) != be32(r + 6);
			if (compressed != want_compressed)
				continue;
			/* fLast is the key's last int32 but for fFlag. */
			if (jagged && (compressed || be32(r + 6) + be16(r + 14) <
							 be32(r + be16(r + 14) - 5) + 16))
				continue;
			*col = (int)i;
			*loc = l[k];
			snprintf(colname, cap, "%s", br->name);
			found = 0;
			break;
		}
	}
	rootio_tree_close(t);
	rootio_close(f);
	return found;
}

static int find_basket(const struct image *im, int want_compressed, int *col,
		       struct rootio_basket_loc *loc, char *colname, size_t cap)
{
	return find_basket_of(im, want_compressed, 0, col, loc, colname, cap);
}

/* Where the on-disk baskets of the first tree lie, and whose they are. */
static void map_baskets(struct image *im)
{
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err e;
	struct src *s;
	if (src_mem_open(im->data, im->len, im->file, &s) || rootio_open_src(s, &f, &e))
		return;
	if (rootio_tree_open(f, NULL, &t, &e)) {
		rootio_close(f);
		return;
	}
	for (size_t i = 0; i < rootio_tree_ncolumns(t); i++) {
		const struct rootio_basket_loc *l;
		size_t nl;
		if (rootio_tree_basket_locs(t, i, &l, &nl))
			continue;
		for (size_t k = 0; k < nl && im->nspans < MAX_SPANS; k++)
			if (l[k].seek)
				im->spans[im->nspans++] =
					(struct span){l[k].seek, l[k].nbytes, (int)i};
	}
	rootio_tree_close(t);
	rootio_close(f);
}

/* (a) Truncations at about ntrunc lengths around every structure. */
static void test_truncations(const struct image *im, size_t ntrunc)
{
	size_t c[4096], n = 0;
	size_t fixed[] = {0, 1, 3, 4, 5, 8, 12, 16, 32, 33, 44, 45, 46, 50, 63, 64, 99, 100, 101};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		c[n++] = fixed[i];
	uint64_t marks[] = {im->begin, im->dir_at, im->dir_at + 42, im->seek_keys,
			    im->seek_keys + im->list_keylen, im->seek_keys + im->nbytes_keys,
			    im->len};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		for (int d = -2; d <= 2; d++)
			c[n++] = (size_t)((int64_t)marks[i] + d);
	for (size_t i = 0; i < im->nkeys; i++) {
		const struct tkey *k = &im->keys[i];
		uint64_t km[] = {k->seek, k->seek + k->keylen, k->seek + k->nbytes,
				 im->seek_keys + k->at};
		for (size_t j = 0; j < 4; j++)
			for (int d = -1; d <= 1; d++)
				c[n++] = (size_t)((int64_t)km[j] + d);
	}
	/* Basket boundaries, thinned to leave room for an even spread. */
	size_t room = ntrunc > n + 40 ? ntrunc - n - 40 : 0;
	for (size_t i = 0; i < 3 * im->nspans && room; i += 3 * im->nspans / room + 1) {
		const struct span *sp = &im->spans[i / 3];
		c[n++] = (size_t)(i % 3 == 0 ? sp->seek : i % 3 == 1 ? sp->seek + 40
							      : sp->seek + sp->nbytes - 1);
	}
	for (size_t k = 0; n < ntrunc && n < sizeof(c) / sizeof(c[0]); k++)
		c[n++] = im->len * (k * 7919 % ntrunc) / ntrunc;
	qsort(c, n, sizeof(c[0]), cmp_size);
	size_t ran = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (c[i] > im->len || (i && c[i] == c[i - 1]))
			continue;
		char name[256], what[300];
		snprintf(name, sizeof(name), "cut:%s", im->file);
		snprintf(what, sizeof(what), "%s cut to %zu bytes", im->file, c[i]);
		struct outcome o = exercise(im->data, c[i], name, -1);
		ran++;
		failed += o.rc != 0;
		check(o.rc || c[i] >= im->seek_keys + im->nbytes_keys,
		      "%s: succeeded without its key list", what);
		check_failure_text(&o, name, what);
	}
	check(failed > 0, "%s: no truncation failed", im->file);
	printf("  %s: %zu truncations, %zu failed cleanly\n", im->file, ran, failed);
}

/* (b) Not a ROOT file. */
static void test_magic(const struct image *im)
{
	const char *name = "magic:not-root.bin";
	uint8_t *d = malloc(im->len);
	memcpy(d, im->data, im->len);
	d[0] = 'R';
	struct outcome o = exercise(d, im->len, name, -1);
	check(o.rc == ROOTIO_ECORRUPT && strstr(o.err.msg, "not a ROOT file") &&
	      strstr(o.err.msg, name), "wrong magic: got %d \"%s\"", o.rc, o.err.msg);
	o = exercise((const uint8_t *)"roo", 3, name, -1);
	check(o.rc < 0 && strstr(o.err.msg, "not a ROOT file"), "3-byte file: got %d \"%s\"", o.rc,
	      o.err.msg);
	o = exercise(d, 0, name, -1);
	check(o.rc < 0 && strstr(o.err.msg, "not a ROOT file"), "empty file: got %d \"%s\"", o.rc,
	      o.err.msg);
	memset(d, 0, 64);
	memcpy(d, "root", 4);
	o = exercise(d, im->len, name, -1);
	check(o.rc == ROOTIO_ECORRUPT && message_ok(o.err.msg, name),
	      "zeroed header: got %d \"%s\"", o.rc, o.err.msg);
	free(d);
}

/* (c) One flipped byte at a time, half of them in the file's description
 * (header, directory, key list, tree record), half anywhere. */
static void test_flips(const struct image *im, size_t nflips)
{
	uint8_t *d = malloc(im->len);
	uint64_t x = 0x9e3779b97f4a7c15u;
	const struct tkey *tk = find_key(im, "TTree");
	size_t failed = 0;
	for (size_t i = 0; i < nflips; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t pos = (size_t)(x >> 16) % im->len;
		switch (i % 8) {
		case 0:
			pos = (size_t)(x >> 16) % 128;
			break;
		case 1:
			pos = (size_t)(im->dir_at + (x >> 16) % 60);
			break;
		case 2:
		case 3:
			pos = (size_t)(im->seek_keys + (x >> 16) % im->nbytes_keys);
			break;
		case 4:
			if (tk)
				pos = (size_t)(tk->seek + (x >> 16) % tk->nbytes);
			break;
		}
		if (pos >= im->len)
			pos %= im->len;
		uint8_t mask = (uint8_t)(x >> 8) ? (uint8_t)(x >> 8) : 0x80;
		memcpy(d, im->data, im->len);
		d[pos] ^= mask;
		char name[256], what[300];
		snprintf(name, sizeof(name), "flip:%s", im->file);
		snprintf(what, sizeof(what), "%s with byte %zu ^ 0x%02x", im->file, pos, mask);
		/* A byte inside a basket can only change that basket's column. */
		int col = -1;
		for (size_t k = 0; k < im->nspans; k++)
			if (pos >= im->spans[k].seek && pos - im->spans[k].seek < im->spans[k].nbytes)
				col = im->spans[k].col;
		struct outcome o = exercise(d, im->len, name, col);
		failed += o.rc != 0;
		check_failure_text(&o, name, what);
	}
	free(d);
	printf("  %s: %zu flipped bytes, %zu failed cleanly\n", im->file, nflips, failed);
}

/* Patch the 32-bit field at off to v, read (column col, or all), and
 * require one of the error codes, a message naming the file and, when
 * given, containing need; no allocation over the basket cap. */
static void expect_error(const struct image *im, uint64_t off, uint32_t v, int col,
			 const char *need, const char *what)
{
	uint8_t *d = malloc(im->len);
	memcpy(d, im->data, im->len);
	put32(d + off, v);
	char name[256];
	snprintf(name, sizeof(name), "patched:%s", im->file);
	alloc_watch_start();
	struct outcome o = exercise(d, im->len, name, col);
	size_t big = alloc_watch_stop();
	check(o.rc == ROOTIO_ECORRUPT || o.rc == ROOTIO_ETOOBIG,
	      "%s: want ROOTIO_ECORRUPT or ROOTIO_ETOOBIG, got %d (%s) \"%s\"", what, o.rc,
	      rootio_strerror(o.rc), o.err.msg);
	check(!o.rc || message_ok(o.err.msg, name), "%s: message \"%s\" does not name the file "
	      "and a place", what, o.err.msg);
	check(!need || strstr(o.err.msg, need), "%s: message \"%s\" lacks \"%s\"", what,
	      o.err.msg, need ? need : "");
	check(big <= ROOTIO_MAX_BASKET, "%s: allocated %zu bytes at once", what, big);
	printf("  %-58s %d \"%.150s\"\n", what, o.rc, o.err.msg);
	free(d);
}

/* (d), (e), (f): sizes and counts that lie. */
static void test_sizes(const struct image *im)
{
	char what[300], colname[256], need[300];
	struct rootio_basket_loc loc;
	int col;
	if (find_basket(im, 1, &col, &loc, colname, sizeof(colname)) == 0) {
		const uint8_t *r = im->data + loc.seek;
		uint32_t objlen = be32(r + 6), keylen = be16(r + 14);
		snprintf(need, sizeof(need), "branch '%s' basket", colname);
		snprintf(what, sizeof(what), "%s: basket of '%s' fObjLen 0x7fffffff", im->file,
			 colname);
		expect_error(im, loc.seek + 6, 0x7fffffff, col, need, what);
		snprintf(what, sizeof(what), "%s: basket of '%s' fNbytes 0x7fffffff", im->file,
			 colname);
		expect_error(im, loc.seek, 0x7fffffff, col, need, what);
		snprintf(what, sizeof(what), "%s: basket of '%s' fObjLen + 1", im->file, colname);
		expect_error(im, loc.seek + 6, objlen + 1, col, need, what);
		snprintf(what, sizeof(what), "%s: basket of '%s' fObjLen - 1", im->file, colname);
		expect_error(im, loc.seek + 6, objlen - 1, col, need, what);
		/* The block header's uncompressed size (24 bits at +6) one short. */
		uint64_t blk = loc.seek + keylen;
		uint32_t ulen = r[keylen + 6] | r[keylen + 7] << 8 | (uint32_t)r[keylen + 8] << 16;
		uint32_t word = be32(im->data + blk + 5);
		word = (word & 0xff000000u) | ((ulen - 1) & 0xff) << 16 |
		       ((ulen - 1) >> 8 & 0xff) << 8 | ((ulen - 1) >> 16 & 0xff);
		snprintf(what, sizeof(what), "%s: basket of '%s' block size - 1", im->file, colname);
		expect_error(im, blk + 5, word, col, need, what);
	} else if (find_basket(im, 0, &col, &loc, colname, sizeof(colname)) == 0) {
		snprintf(need, sizeof(need), "branch '%s' basket", colname);
		snprintf(what, sizeof(what), "%s: basket of '%s' fObjLen 0x7fffffff", im->file,
			 colname);
		expect_error(im, loc.seek + 6, 0x7fffffff, col, need, what);
	} else {
		check(0, "%s: no on-disk basket found", im->file);
	}
	uint64_t nk = im->seek_keys + im->list_keylen;
	snprintf(what, sizeof(what), "%s: top directory nkeys 0x7fffffff", im->file);
	expect_error(im, nk, 0x7fffffff, -1, NULL, what);
	snprintf(what, sizeof(what), "%s: top directory nkeys 0x000fffff", im->file);
	expect_error(im, nk, 0x000fffff, -1, NULL, what);
	snprintf(what, sizeof(what), "%s: top directory fNbytesKeys 0x7fffffff", im->file);
	expect_error(im, im->dir_at + 10, 0x7fffffff, -1, NULL, what);
	const struct tkey *tk = find_key(im, "TTree");
	if (tk) {
		snprintf(what, sizeof(what), "%s: TTree key fObjLen 0x7fffffff", im->file);
		expect_error(im, im->seek_keys + tk->at + 6, 0x7fffffff, -1, NULL, what);
		snprintf(what, sizeof(what), "%s: TTree key fNbytes 0x7fffffff", im->file);
		expect_error(im, im->seek_keys + tk->at, 0x7fffffff, -1, NULL, what);
	}
}

/* (g) Entry offsets of a basket stored as is that go backwards, or past
 * the data: each must fail the read, not hand out entries. */
static void test_offsets(const struct image *im)
{
	char what[600], colname[256];
	struct rootio_basket_loc loc;
	int col;
	if (find_basket_of(im, 0, 1, &col, &loc, colname, sizeof(colname)))
		return;
	const uint8_t *r = im->data + loc.seek;
	uint32_t keylen = be16(r + 14), last = be32(r + keylen - 5);
	uint32_t n = be32(r + last);
	if (n < 3)
		return;
	uint64_t at = loc.seek + last + 4; /* offsets from the key's start */
	/* An entry j that is not empty, after one that is not either: its
	 * end moved one byte before its start, still past fKeylen. */
	for (uint32_t j = 1; j + 1 < n; j++) {
		uint32_t a = be32(im->data + at + 4 * j), b = be32(im->data + at + 4 * j + 4);
		if (a <= keylen || b <= a)
			continue;
		snprintf(what, sizeof(what), "%s: '%s' entry offset %u below offset %u", im->file,
			 colname, j + 1, j);
		expect_error(im, at + 4 * j + 4, a - 1, col, "entry offsets are corrupt", what);
		break;
	}
	snprintf(what, sizeof(what), "%s: '%s' entry offset 1 past fLast", im->file, colname);
	expect_error(im, at + 4, last + 1, col, "entry offsets are corrupt", what);
	snprintf(what, sizeof(what), "%s: '%s' entry offset 1 below fKeylen", im->file, colname);
	expect_error(im, at + 4, keylen - 1, col, "entry offsets are corrupt", what);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_rootio_bad DIR\n");
		return 2;
	}
#ifdef HAVE_ASAN
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#endif
	static const struct {
		const char *file;
		size_t ntrunc, nflips;
	} files[] = {
		{"uproot-HZZ-zlib.root", NTRUNC, NFLIPS},
		{"uproot-HZZ-lz4.root", NTRUNC / 2, NFLIPS / 5},
		{"uproot-sample-6.20.04-uncompressed.root", NTRUNC / 2, NFLIPS / 5},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct image im;
		if (load(argv[1], files[i].file, &im) || map_image(&im)) {
			fprintf(stderr, "test_rootio_bad: %s: cannot load or map\n", files[i].file);
			return 2;
		}
		map_baskets(&im);
		printf("%s (%zu bytes, %zu keys, %zu baskets)\n", im.file, im.len, im.nkeys,
		       im.nspans);
		test_truncations(&im, files[i].ntrunc);
		if (i == 0)
			test_magic(&im);
		test_flips(&im, files[i].nflips);
		test_sizes(&im);
		test_offsets(&im);
		free(im.data);
	}
	printf("test_rootio_bad: %d checks, %d failed\n", nchecks, failures);
	return failures ? 1 : 0;
}
