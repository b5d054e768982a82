/* bench_reader.c — how much the ROOT reader adds to bare decompression.
 *
 * Usage: bench_reader [--seconds S] [--repeat R] [--window N]
 *                     [--only reader|bare] [--reuse] [FILE...]
 *
 * For each file (by default the four trees under SHARED/data/bench) it
 * times two ways of turning the same baskets into bytes:
 *
 *   reader  rootio_read() of every numeric column of the first tree over
 *           all entries, in windows of N entries (window by window, every
 *           column in each, as a batch analysis reads), pass after pass,
 *           each pass with a fresh tree (--reuse: one tree).  This includes fetching each basket record through the byte
 *           source, the checks, the LZ4 checksum, and converting
 *           big-endian values into native ones.
 *   bare    the same basket records, read into memory once beforehand,
 *           decompressed by calling libdeflate, liblz4, libzstd and liblzma
 *           directly: no rootio_* call, no checksum, no conversion.
 *
 * Each measurement runs whole passes for at least S seconds; the two are
 * measured in turn R times and the median of each is reported.  Both
 * rates count the same bytes: the entries' data of every basket (what
 * rootio_stats.bytes_out counts), so ratio = bare time / reader time.
 *
 * Exit status: 0; 1 when a file fails or the two paths disagree on what
 * they decoded; 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libdeflate.h>
#include <lz4.h>
#include <lzma.h>
#include <zstd.h>

#include "rootio.h"

#ifndef SHARED
#define SHARED "../shared"
#endif

#define MAX_REPEAT 51
#define BLOCK_HEADER 9

static const char *const DEFAULT_FILES[] = {
	"nano_like_lz4_200k.root",
	"nano_like_lzma_100k.root",
	"nano_like_zlib_200k.root",
	"nano_like_zstd_500k.root",
};
#define NDEFAULT (sizeof DEFAULT_FILES / sizeof DEFAULT_FILES[0])

struct opts {
	double seconds;
	int repeat;
	int64_t window;
	int only;        /* 0: both paths; 1: the reader only; 2: bare only */
	int reuse;       /* one tree for every pass instead of one per pass */
};

/* One on-disk basket record, held in memory for the bare path. */
struct rec {
	const uint8_t *p;
	uint32_t nbytes, keylen, objlen;
	uint32_t datalen; /* fLast - fKeylen: the entries' bytes */
};

struct bench {
	const char *path;
	struct rootio_file *f;
	struct rootio_tree *t;  /* the column list; passes open their own */
	struct rootio_stats rsum; /* over every reader pass */
	struct rootio_stats last; /* of the last pass */
	double open_s;            /* spent opening trees in reader passes */
	int reuse;                /* read every pass with t */
	int64_t entries;
	int64_t window;
	size_t *cols; /* readable numeric columns */
	size_t ncols;
	struct rootio_column *out; /* one per column, reused */
	struct rec *recs;
	size_t nrecs, nembedded, nbaskets;
	size_t nraw;        /* records stored uncompressed */
	uint8_t *records;   /* every record, back to back */
	uint64_t zbytes;    /* compressed bytes of the records */
	uint64_t objbytes;  /* their decompressed size (data and offsets) */
	uint64_t databytes; /* their entries' bytes */
	uint8_t *dst;       /* bare output, as large as the largest basket */
	size_t cap_dst;
	char algo[32];      /* the block types seen */
	struct libdeflate_decompressor *zl;
	ZSTD_DCtx *zs;
};

/* One measurement: whole passes over the file. */
struct sample {
	double wall, cpu;
	long passes;
	long faults; /* minor page faults of this thread */
};

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t get_be(const uint8_t *p, int n)
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

static long thread_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static long peak_rss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- preparing the bare path (not timed) ---- */

/* Skip a TString at *at; returns -1 when it runs past len. */
static int skip_tstring(const uint8_t *p, size_t len, size_t *at)
{
	if (*at >= len)
		return -1;
	size_t n = p[(*at)++];
	if (n == 255) {
		if (len - *at < 4)
			return -1;
		n = get_be(p + *at, 4);
		*at += 4;
	}
	if (n > len - *at)
		return -1;
	*at += n;
	return 0;
}

/* Read the TKey and TBasket fields the bare path and the byte check need:
 * fNbytes i32 @0, fVersion i16 @4, fObjlen i32 @6, fDatime @10, fKeylen
 * i16 @14, fCycle @16, two seeks (8 bytes each when fVersion > 1000), three
 * TStrings, then TBasket's version, fBufferSize, fNevBufSize, fNevBuf,
 * fLast. */
static int parse_record(struct rec *r, size_t len)
{
	const uint8_t *p = r->p;
	if (len < 18 || get_be(p, 4) != len)
		return -1;
	uint32_t version = get_be(p + 4, 2);
	r->nbytes = (uint32_t)len;
	r->objlen = get_be(p + 6, 4);
	r->keylen = get_be(p + 14, 2);
	size_t at = 18 + (version > 1000 ? 16 : 8);
	for (int i = 0; i < 3; i++)
		if (skip_tstring(p, len, &at))
			return -1;
	if (len - at < 2 + 4 + 4 + 4 + 4)
		return -1;
	int32_t nevbufsize = (int32_t)get_be(p + at + 6, 4);
	at += 10 + (nevbufsize < 0) + 4;
	int32_t last = (int32_t)get_be(p + at, 4);
	if (r->keylen > len || r->keylen < at || last < (int32_t)r->keylen ||
	    (uint32_t)last - r->keylen > r->objlen || r->objlen > ROOTIO_MAX_BASKET)
		return -1;
	r->datalen = (uint32_t)last - r->keylen;
	return 0;
}

/* Name the compression from the first block of each compressed record. */
static void note_algo(struct bench *b, const struct rec *r)
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
static int load_record(struct bench *b, int fd, const struct rootio_basket_loc *loc,
		       uint8_t *at)
{
	ssize_t got = pread(fd, at, loc->nbytes, (off_t)loc->seek);
	struct rec *r = &b->recs[b->nrecs];
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

/* Read every on-disk basket of the selected columns into memory, each
 * branch once: leaf-list columns share their branch's baskets, and so
 * the same locs array. */
static int prepare_bare(struct bench *b)
{
	struct span {
		const struct rootio_basket_loc *locs;
		size_t n;
	} *seen = calloc(b->ncols ? b->ncols : 1, sizeof(*seen));
	int fd = open(b->path, O_RDONLY);
	int rc = -1;
	if (!seen || fd < 0) {
		fprintf(stderr, "%s: %s\n", b->path, strerror(errno));
		goto out;
	}
	size_t nseen = 0, total = 0;
	for (size_t c = 0; c < b->ncols; c++) {
		struct span sp;
		if (rootio_tree_basket_locs(b->t, b->cols[c], &sp.locs, &sp.n))
			goto out;
		size_t k = 0;
		while (k < nseen && seen[k].locs != sp.locs)
			k++;
		if (k < nseen)
			continue;
		seen[nseen++] = sp;
		b->nbaskets += sp.n;
		for (size_t i = 0; i < sp.n; i++) {
			b->nembedded += !sp.locs[i].seek;
			total += sp.locs[i].seek ? sp.locs[i].nbytes : 0;
		}
	}
	b->records = malloc(total ? total : 1);
	b->recs = calloc(b->nbaskets ? b->nbaskets : 1, sizeof(*b->recs));
	if (!b->records || !b->recs) {
		fprintf(stderr, "%s: out of memory\n", b->path);
		goto out;
	}
	uint8_t *at = b->records;
	for (size_t k = 0; k < nseen; k++)
		for (size_t i = 0; i < seen[k].n; i++) {
			const struct rootio_basket_loc *loc = &seen[k].locs[i];
			if (!loc->seek)
				continue;
			if (load_record(b, fd, loc, at))
				goto out;
			at += loc->nbytes;
		}
	b->dst = malloc(b->cap_dst ? b->cap_dst : 1);
	b->zl = libdeflate_alloc_decompressor();
	b->zs = ZSTD_createDCtx();
	if (!b->dst || !b->zl || !b->zs) {
		fprintf(stderr, "%s: out of memory\n", b->path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(seen);
	return rc;
}

/* ---- the two paths ---- */

/* One block of a ROOT compressed record, straight into the library. */
static int bare_block(struct bench *b, const uint8_t *h, uint32_t clen, uint8_t *out,
		      uint32_t ulen)
{
	const uint8_t *in = h + BLOCK_HEADER;
	if (h[0] == 'Z' && h[1] == 'L') {
		size_t got;
		return libdeflate_zlib_decompress(b->zl, in, clen, out, ulen, &got) ||
		       got != ulen;
	}
	if (h[0] == 'L' && h[1] == '4') /* an xxhash64 checksum, then the block */
		return clen < 8 ||
		       LZ4_decompress_safe((const char *)in + 8, (char *)out, (int)clen - 8,
					   (int)ulen) != (int)ulen;
	if (h[0] == 'Z' && h[1] == 'S')
		return ZSTD_decompressDCtx(b->zs, out, ulen, in, clen) != ulen;
	if (h[0] == 'X' && h[1] == 'Z') {
		uint64_t memlimit = UINT64_MAX;
		size_t inpos = 0, outpos = 0;
		return lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &inpos, clen, out,
						 &outpos, ulen) != LZMA_OK || outpos != ulen;
	}
	return 1;
}

static int bare_pass(struct bench *b)
{
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct rec *r = &b->recs[i];
		const uint8_t *src = r->p + r->keylen;
		size_t srclen = r->nbytes - r->keylen, in = 0, out = 0;
		if (srclen == r->objlen) {
			memcpy(b->dst, src, r->objlen);
			continue;
		}
		while (out < r->objlen) {
			const uint8_t *h = src + in;
			if (srclen - in < BLOCK_HEADER)
				goto bad;
			uint32_t clen = le24(h + 3), ulen = le24(h + 6);
			if (clen > srclen - in - BLOCK_HEADER || ulen > r->objlen - out || !ulen ||
			    bare_block(b, h, clen, b->dst + out, ulen))
				goto bad;
			in += BLOCK_HEADER + clen;
			out += ulen;
		}
		continue;
bad:
		fprintf(stderr, "%s: bare: record %zu does not decompress\n", b->path, i);
		return -1;
	}
	return 0;
}

/* A fresh tree per pass, as when a file is read once: with one tree the
 * cached basket of a branch that has a single basket would be free from
 * the second pass on (--reuse: the timing loop then fails such a file). */
static int reader_pass(struct bench *b)
{
	struct rootio_err err;
	struct rootio_tree *t = b->t;
	struct rootio_stats s0;
	rootio_tree_stats(t, &s0);
	double t0 = clock_s(CLOCK_MONOTONIC);
	if (!b->reuse && rootio_tree_open(b->f, NULL, &t, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	b->open_s += clock_s(CLOCK_MONOTONIC) - t0;
	int rc = 0;
	for (int64_t a = 0; a < b->entries && !rc; a += b->window) {
		int64_t e = a + b->window < b->entries ? a + b->window : b->entries;
		for (size_t c = 0; c < b->ncols && !rc; c++)
			if ((rc = rootio_read(t, b->cols[c], a, e, &b->out[c], &err)))
				fprintf(stderr, "%s\n", err.msg);
	}
	rootio_tree_stats(t, &b->last);
	if (b->reuse) {
		b->last.baskets -= s0.baskets;
		b->last.bytes_read -= s0.bytes_read;
		b->last.bytes_out -= s0.bytes_out;
	} else {
		rootio_tree_close(t);
	}
	b->rsum.baskets += b->last.baskets;
	b->rsum.bytes_read += b->last.bytes_read;
	b->rsum.bytes_out += b->last.bytes_out;
	return rc;
}

static int measure(struct bench *b, int (*pass)(struct bench *), double seconds,
		   struct sample *s)
{
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w;
	long f0 = thread_faults();
	s->passes = 0;
	do {
		if (pass(b))
			return -1;
		s->passes++;
		w = clock_s(CLOCK_MONOTONIC);
	} while (w - w0 < seconds);
	s->wall = w - w0;
	s->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	s->faults = thread_faults() - f0;
	return 0;
}

/* ---- one file ---- */

/* What a file's measurements came to. */
struct result {
	char name[64], algo[32];
	int64_t entries;
	double mb;                    /* data bytes per pass, MB */
	double reader_mbs, bare_mbs;  /* medians, wall clock */
	double reader_eps, reader_zmbs;
	double ratio, cpu_ratio;      /* medians of per-round reader/bare */
	long rss_mb;
};

static int open_bench(struct bench *b, const char *path, const struct opts *o)
{
	struct rootio_err err;
	memset(b, 0, sizeof(*b));
	b->path = path;
	b->window = o->window;
	b->reuse = o->reuse;
	if (rootio_open(path, &b->f, &err) || rootio_tree_open(b->f, NULL, &b->t, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	b->entries = rootio_tree_entries(b->t);
	size_t n = rootio_tree_ncolumns(b->t);
	b->cols = calloc(n ? n : 1, sizeof(*b->cols));
	b->out = calloc(n ? n : 1, sizeof(*b->out));
	if (!b->cols || !b->out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct rootio_branch *br = rootio_tree_column(b->t, i);
		if (br->kind == ROOTIO_FLAT || br->kind == ROOTIO_FIXED ||
		    br->kind == ROOTIO_JAGGED) {
			rootio_column_init(&b->out[b->ncols]);
			b->cols[b->ncols++] = i;
		}
	}
	if (b->ncols < n)
		printf("  %s: %zu of %zu columns are numeric and read\n", path, b->ncols, n);
	return prepare_bare(b);
}

static void close_bench(struct bench *b)
{
	for (size_t c = 0; c < b->ncols; c++)
		rootio_column_free(&b->out[c]);
	free(b->out);
	free(b->cols);
	free(b->recs);
	free(b->records);
	free(b->dst);
	if (b->zl)
		libdeflate_free_decompressor(b->zl);
	ZSTD_freeDCtx(b->zs);
	rootio_tree_close(b->t);
	rootio_close(b->f);
}

/* One untimed pass of each path: both must decode every basket once, and
 * the same bytes.  Returns the reader's stats for one pass in *one.
 * Columns of one leaf-list branch share its cached basket, so a window
 * that spans baskets decodes them again for each such column. */
static int check(struct bench *b, struct rootio_stats *one)
{
	if (reader_pass(b) || bare_pass(b))
		return -1;
	*one = b->last;
	printf("  %s: %zu columns, %zu baskets (%zu embedded, not in bare; %zu stored"
	       " uncompressed), %s\n", b->path, b->ncols, b->nbaskets, b->nembedded, b->nraw,
	       b->algo);
	printf("    per pass: reader decoded %llu baskets, %llu -> %llu bytes;"
	       " bare %zu records, %llu -> %llu bytes (%llu of entries' data, the rest"
	       " entry offsets)\n",
	       (unsigned long long)one->baskets, (unsigned long long)one->bytes_read,
	       (unsigned long long)one->bytes_out, b->nrecs, (unsigned long long)b->zbytes,
	       (unsigned long long)b->objbytes, (unsigned long long)b->databytes);
	int bad = one->baskets < b->nbaskets ||
		  (one->baskets == b->nbaskets && (one->bytes_read != b->zbytes ||
		   (!b->nembedded && one->bytes_out != b->databytes)));
	if (one->baskets > b->nbaskets)
		printf("    the reader decoded %llu baskets more than once (leaf-list columns"
		       " share a branch's cached basket)\n",
		       (unsigned long long)(one->baskets - b->nbaskets));
	if (bad)
		fprintf(stderr, "%s: the reader and the bare path decoded different baskets\n",
			b->path);
	return bad ? -1 : 0;
}

static int run_file(const char *path, const struct opts *o, struct result *res)
{
	struct bench b;
	struct rootio_stats one, s0, s1;
	double rmbs[MAX_REPEAT], bmbs[MAX_REPEAT], reps[MAX_REPEAT], rzmbs[MAX_REPEAT];
	double ratio[MAX_REPEAT], cratio[MAX_REPEAT];
	int rc = -1;
	if (open_bench(&b, path, o) || check(&b, &one))
		goto out;
	memset(res, 0, sizeof(*res));
	const char *base = strrchr(path, '/');
	snprintf(res->name, sizeof(res->name), "%s", base ? base + 1 : path);
	snprintf(res->algo, sizeof(res->algo), "%s", b.algo);
	res->entries = b.entries;
	res->mb = (double)one.bytes_out / 1e6;
	for (int r = 0; r < o->repeat; r++) {
		struct sample rs = {0}, bs = {0};
		s0 = b.rsum;
		double open0 = b.open_s;
		if (o->only != 2 && measure(&b, reader_pass, o->seconds, &rs))
			goto out;
		s1 = b.rsum;
		if (s1.baskets - s0.baskets != (uint64_t)rs.passes * one.baskets) {
			fprintf(stderr, "%s: a pass decoded fewer baskets than the first\n", path);
			goto out;
		}
		if (o->only != 1 && measure(&b, bare_pass, o->seconds, &bs))
			goto out;
		rmbs[r] = (double)(s1.bytes_out - s0.bytes_out) / rs.wall / 1e6;
		rzmbs[r] = (double)(s1.bytes_read - s0.bytes_read) / rs.wall / 1e6;
		reps[r] = (double)b.entries * (double)rs.passes / rs.wall;
		bmbs[r] = (double)b.databytes * (double)bs.passes / bs.wall / 1e6;
		ratio[r] = (bs.wall / (double)bs.passes) / (rs.wall / (double)rs.passes);
		cratio[r] = (bs.cpu / (double)bs.passes) / (rs.cpu / (double)rs.passes);
		printf("    round %d: reader %ld passes %.2f s (cpu %.2f s, tree opens %.1f ms,"
		       " %ld page faults a pass) %.0f MB/s; bare %ld passes %.2f s (cpu %.2f s)"
		       " %.0f MB/s; ratio %.3f\n",
		       r + 1, rs.passes, rs.wall, rs.cpu, 1e3 * (b.open_s - open0),
		       rs.passes ? rs.faults / rs.passes : 0, rmbs[r], bs.passes, bs.wall, bs.cpu,
		       bmbs[r], ratio[r]);
	}
	res->reader_mbs = median(rmbs, o->repeat);
	res->reader_zmbs = median(rzmbs, o->repeat);
	res->reader_eps = median(reps, o->repeat);
	res->bare_mbs = median(bmbs, o->repeat);
	res->ratio = median(ratio, o->repeat);
	res->cpu_ratio = median(cratio, o->repeat);
	res->rss_mb = peak_rss_mb();
	rc = 0;
out:
	close_bench(&b);
	return rc;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: bench_reader [--seconds S] [--repeat R] [--window N]"
			" [--only reader|bare] [--reuse] [FILE...]\n"
			"  default files: %s/data/bench/nano_like_*.root\n", SHARED);
	exit(2);
}

/* Options into *o; returns the index of the first FILE. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int i = 1;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--"))
			return i + 1;
		if (!strcmp(opt, "--reuse")) {
			o->reuse = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *arg = argv[++i];
		char *end = "";
		if (!strcmp(opt, "--seconds"))
			o->seconds = strtod(arg, &end);
		else if (!strcmp(opt, "--repeat"))
			o->repeat = (int)strtol(arg, &end, 10);
		else if (!strcmp(opt, "--window"))
			o->window = strtoll(arg, &end, 10);
		else if (!strcmp(opt, "--only") && !strcmp(arg, "reader"))
			o->only = 1;
		else if (!strcmp(opt, "--only") && !strcmp(arg, "bare"))
			o->only = 2;
		else
			usage();
		if (*end || end == arg || !(o->seconds >= 0) || o->repeat < 1 ||
		    o->repeat > MAX_REPEAT || o->window < 1)
			usage();
	}
	return i;
}

static void print_row(const struct result *r)
{
	printf("| %-26s | %-5s | %7lld | %7.1f | %9.0f | %8.2f | %8.0f | %8.0f | %6.3f | %+7.1f%% |"
	       " %6.3f | %5ld |\n",
	       r->name, r->algo, (long long)r->entries, r->mb, r->reader_mbs,
	       r->reader_eps / 1e6, r->reader_zmbs, r->bare_mbs, r->ratio,
	       100 * (1 - r->ratio), r->cpu_ratio, r->rss_mb);
}

int main(int argc, char **argv)
{
	struct opts o = {.seconds = 2.0, .repeat = 3, .window = 100000};
	int i = parse_args(argc, argv, &o);
	char defaults[NDEFAULT][4096];
	const char **files = (const char **)argv + i;
	int nfiles = argc - i;
	const char *dflt[NDEFAULT];
	if (!nfiles) {
		for (size_t k = 0; k < NDEFAULT; k++) {
			snprintf(defaults[k], sizeof(defaults[k]), "%s/data/bench/%s", SHARED,
				 DEFAULT_FILES[k]);
			dflt[k] = defaults[k];
		}
		files = dflt;
		nfiles = (int)NDEFAULT;
	}
	printf("bench_reader: %.1f s per measurement, %d rounds, windows of %lld entries,"
	       " %s\n", o.seconds, o.repeat, (long long)o.window,
	       o.reuse ? "one tree for all passes" : "a fresh tree per pass");
	printf("note: the reader verifies each LZ4 block's xxhash64 checksum; the bare"
	       " path does not.\n");
	struct result *res = calloc((size_t)nfiles, sizeof(*res));
	int *ok = calloc((size_t)nfiles, sizeof(*ok));
	int failed = 0;
	if (!res || !ok)
		return 1;
	for (int k = 0; k < nfiles; k++) {
		ok[k] = !run_file(files[k], &o, &res[k]);
		failed |= !ok[k];
		fflush(stdout);
	}
	printf("\n| file                       | comp  | entries | MB/pass | reader MB/s"
	       " | Mentry/s | zip MB/s | bare MB/s | ratio  | overhead | cpu ratio | RSS MB |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < nfiles; k++)
		if (ok[k])
			print_row(&res[k]);
	printf("\n");
	for (int k = 0; k < nfiles; k++) {
		if (!ok[k]) {
			printf("%s: FAILED\n", files[k]);
			continue;
		}
		const struct result *r = &res[k];
		if (o.only) {
			printf("%s (%s): reader %.0f MB/s, bare %.0f MB/s\n", r->name, r->algo,
			       r->reader_mbs, r->bare_mbs);
			continue;
		}
		printf("%s (%s): reader %.0f MB/s, bare %.0f MB/s: the reader runs at %.1f%% of"
		       " bare decompression (%.1f%% in CPU time): %s the 10%% budget\n",
		       r->name, r->algo, r->reader_mbs, r->bare_mbs, 100 * r->ratio,
		       100 * r->cpu_ratio, r->ratio >= 0.9 ? "within" : "OVER");
	}
	free(res);
	free(ok);
	return failed;
}
