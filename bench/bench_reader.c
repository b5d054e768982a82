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
 *           each pass with a fresh tree (--reuse: one tree).  This
 *           includes fetching each basket record through the byte source,
 *           the checks, the LZ4 checksum, and converting big-endian
 *           values into native ones.
 *   bare    the same basket records, read into memory once beforehand,
 *           decompressed by calling libdeflate, liblz4, libzstd and liblzma
 *           directly: no rootio_* call, no checksum, no conversion
 *           (bench_bare.h, which bench_query uses too).
 *
 * Each measurement runs whole passes for at least S seconds; the two are
 * measured in turn R times and the median of each is reported.  Both
 * rates count the same bytes: the entries' data of every basket (what
 * rootio_stats.bytes_out counts), so ratio = bare time / reader time.
 *
 * Exit status: 0; 1 when a file fails or the two paths disagree on what
 * they decoded; 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_bare.h"
#include "rootio.h"

#ifndef SHARED
#define SHARED "../shared"
#endif

#define MAX_REPEAT 51

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
	struct bench_bare *bare;   /* the same baskets' records, in memory */
	size_t nbaskets;           /* theirs and the embedded ones */
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

/* ---- the two paths ---- */

static int bare_pass(struct bench *b)
{
	return bench_bare_pass(b->bare);
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
	if (bench_bare_open(path, b->t, b->cols, b->ncols, &b->bare))
		return -1;
	b->nbaskets = bench_bare_records(b->bare) + bench_bare_embedded(b->bare);
	return 0;
}

static void close_bench(struct bench *b)
{
	for (size_t c = 0; c < b->ncols; c++)
		rootio_column_free(&b->out[c]);
	free(b->out);
	free(b->cols);
	bench_bare_free(b->bare);
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
	const struct bench_bare *bb = b->bare;
	size_t nembedded = bench_bare_embedded(bb);
	uint64_t zbytes = bench_bare_zbytes(bb), databytes = bench_bare_databytes(bb);
	printf("  %s: %zu columns, %zu baskets (%zu embedded, not in bare; %zu stored"
	       " uncompressed), %s\n", b->path, b->ncols, b->nbaskets, nembedded, bench_bare_raw(bb),
	       bench_bare_algo(bb));
	printf("    per pass: reader decoded %llu baskets, %llu -> %llu bytes;"
	       " bare %zu records, %llu -> %llu bytes (%llu of entries' data, the rest"
	       " entry offsets)\n",
	       (unsigned long long)one->baskets, (unsigned long long)one->bytes_read,
	       (unsigned long long)one->bytes_out, bench_bare_records(bb),
	       (unsigned long long)zbytes, (unsigned long long)bench_bare_objbytes(bb),
	       (unsigned long long)databytes);
	int bad = one->baskets < b->nbaskets ||
		  (one->baskets == b->nbaskets && (one->bytes_read != zbytes ||
		   (!nembedded && one->bytes_out != databytes)));
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
	snprintf(res->algo, sizeof(res->algo), "%s", bench_bare_algo(b.bare));
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
		bmbs[r] = (double)bench_bare_databytes(b.bare) * (double)bs.passes / bs.wall / 1e6;
		ratio[r] = (bs.wall / (double)bs.passes) / (rs.wall / (double)rs.passes);
		cratio[r] = (bs.cpu / (double)bs.passes) / (rs.cpu / (double)rs.passes);
		printf("    round %d: reader %ld passes %.2f s (cpu %.2f s, tree opens %.1f ms,"
		       " %ld page faults a pass) %.0f MB/s; bare %ld passes %.2f s (cpu %.2f s)"
		       " %.0f MB/s; ratio %.3f\n",
		       r + 1, rs.passes, rs.wall, rs.cpu, 1e3 * (b.open_s - open0),
		       rs.passes ? rs.faults / rs.passes : 0, rmbs[r], bs.passes, bs.wall, bs.cpu,
		       bmbs[r], ratio[r]);
	}
	res->reader_mbs = bench_median(rmbs, o->repeat);
	res->reader_zmbs = bench_median(rzmbs, o->repeat);
	res->reader_eps = bench_median(reps, o->repeat);
	res->bare_mbs = bench_median(bmbs, o->repeat);
	res->ratio = bench_median(ratio, o->repeat);
	res->cpu_ratio = bench_median(cratio, o->repeat);
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
