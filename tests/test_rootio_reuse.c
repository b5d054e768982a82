/* test_rootio_reuse.c — the reader's reused buffers (rootio_pool.c, the
 * lent baskets of rootio_basket.c) never hand one basket's bytes to
 * another: several trees open at once on a thread, of one file and of
 * two, read column by column in random windows (some ending where a
 * basket does, some across baskets, some the branches in turn as the
 * runner reads them), opened and closed in random orders, on two threads
 * at once, and trees read and closed on another thread than the one that
 * opened them after that thread ended; every read equals the same
 * entries of the column read whole in a fresh tree.
 *
 * Usage: test_rootio_reuse SHARED_ROOT_DIR BENCH_DIR [OPS]; the bench
 * files are read with fewer operations (each basket is a megabyte). */
#include "check.h"
#include "rootio.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TREES 3  /* open at once on a thread */

struct ref {
	const char *path, *tree;
	struct rootio_file *f;  /* shared by the trees of the file */
	int64_t entries;
	size_t ncols;
	size_t *cols;           /* readable columns */
	struct rootio_column *whole;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int64_t pick(uint64_t *s, int64_t n)
{
	return n > 0 ? (int64_t)(next(s) % (uint64_t)n) : 0;
}

/* The file's readable columns, each read whole in a tree of its own. */
static int ref_load(struct ref *r, const char *path, const char *tree)
{
	struct rootio_err err;
	r->path = path;
	r->tree = tree;
	if (rootio_open(path, &r->f, &err)) {
		check(0, "%s", err.msg);
		return -1;
	}
	struct rootio_tree *t;
	if (rootio_tree_open(r->f, tree, &t, &err)) {
		check(0, "%s", err.msg);
		return -1;
	}
	size_t n = rootio_tree_ncolumns(t);
	r->entries = rootio_tree_entries(t);
	r->cols = calloc(n + 1, sizeof(*r->cols));
	r->whole = calloc(n + 1, sizeof(*r->whole));
	for (size_t i = 0; i < n; i++)
		if (rootio_tree_column(t, i)->kind != ROOTIO_UNSUPPORTED)
			r->cols[r->ncols++] = i;
	rootio_tree_close(t);
	for (size_t c = 0; c < r->ncols; c++) {
		rootio_column_init(&r->whole[c]);
		if (rootio_tree_open(r->f, tree, &t, &err) ||
		    rootio_read(t, r->cols[c], 0, r->entries, &r->whole[c], &err))
			check(0, "%s column %zu: %s", path, r->cols[c], err.msg);
		rootio_tree_close(t);
	}
	return 0;
}

static void ref_free(struct ref *r)
{
	for (size_t c = 0; c < r->ncols; c++)
		rootio_column_free(&r->whole[c]);
	free(r->whole);
	free(r->cols);
	rootio_close(r->f);
}

/* Read [a, b) of column c of r in t and compare with the whole read. */
static void read_check(struct ref *r, struct rootio_tree *t, size_t c, int64_t a, int64_t b,
		       struct rootio_column *part, const char *how)
{
	struct rootio_err err;
	const struct rootio_column *x = &r->whole[c];
	if (rootio_read(t, r->cols[c], a, b, part, &err)) {
		check(0, "%s column %zu [%lld,%lld) %s: %s", r->path, r->cols[c], (long long)a,
		      (long long)b, how, err.msg);
		return;
	}
	size_t vs = rootio_type_size(x->type);
	size_t v0 = x->offsets ? (size_t)x->offsets[a]
			       : x->nentries ? (size_t)a * (x->nvalues / (size_t)x->nentries) : 0;
	size_t bytes = part->nvalues * vs;
	int ok = part->nentries == b - a && (v0 + part->nvalues) * vs <= x->nvalues * vs &&
		 (!bytes || !memcmp((const char *)x->values + v0 * vs, part->values, bytes));
	for (int64_t e = 0; ok && x->offsets && e <= part->nentries; e++)
		ok = part->offsets[e] == x->offsets[a + e] - x->offsets[a];
	check(ok, "%s column %zu [%lld,%lld) %s: differs from the column read whole", r->path,
	      r->cols[c], (long long)a, (long long)b, how);
}

/* A window of column c: from a random entry or a basket's start, to a
 * basket's end, one entry, a little, or across baskets. */
static void window(uint64_t *s, struct rootio_tree *t, struct ref *r, size_t c, int64_t *a,
		   int64_t *b)
{
	const int64_t *starts;
	size_t nb;
	int64_t n = r->entries;
	if (rootio_tree_baskets(t, r->cols[c], &starts, &nb) || !nb) {
		*a = 0;
		*b = n;
		return;
	}
	size_t k = (size_t)pick(s, (int64_t)nb);
	*a = pick(s, 2) ? starts[k] : pick(s, n);
	if (*a >= n)
		*a = n ? n - 1 : 0;
	switch (pick(s, 4)) {
	case 0: /* to the end of the basket holding *a */
		for (k = 0; k + 1 < nb && starts[k + 1] <= *a; k++)
			;
		*b = starts[k + 1] > *a ? starts[k + 1] : n;
		break;
	case 1:
		*b = *a + 1;
		break;
	case 2:
		*b = *a + 1 + pick(s, 333);
		break;
	default:
		*b = *a + 1 + pick(s, n);
		break;
	}
	if (*b > n)
		*b = n;
}

struct run {
	struct ref *refs;
	int nrefs;
	uint64_t seed;
	int ops;
	struct rootio_tree *t[TREES]; /* left open for the next run when keep */
	int of[TREES];                /* which ref each tree reads */
	bool keep;
};

/* ops random operations on the trees of run->t (opened as needed). */
static void *scramble(void *arg)
{
	struct run *u = arg;
	uint64_t s = u->seed | 1;
	struct rootio_column part;
	rootio_column_init(&part);
	struct rootio_err err;
	for (int op = 0; op < u->ops; op++) {
		int i = (int)pick(&s, TREES);
		if (!u->t[i]) {
			u->of[i] = (int)pick(&s, u->nrefs);
			struct ref *r = &u->refs[u->of[i]];
			if (rootio_tree_open(r->f, r->tree, &u->t[i], &err)) {
				check(0, "%s: %s", r->path, err.msg);
				u->t[i] = NULL;
			}
			continue;
		}
		struct ref *r = &u->refs[u->of[i]];
		int64_t what = pick(&s, 10), a, b;
		if (!r->ncols || what == 0) {
			rootio_tree_close(u->t[i]);
			u->t[i] = NULL;
		} else if (what < 3) {
			/* the columns in turn over one window, as the runner reads */
			window(&s, u->t[i], r, 0, &a, &b);
			for (size_t c = 0; c < r->ncols; c++)
				read_check(r, u->t[i], c, a, b, &part, "in turn");
		} else {
			size_t c = (size_t)pick(&s, (int64_t)r->ncols);
			window(&s, u->t[i], r, c, &a, &b);
			read_check(r, u->t[i], c, a, b, &part, "alone");
		}
	}
	for (int k = 0; k < TREES && !u->keep; k++) {
		int i = (int)((u->seed + (uint64_t)k) % TREES); /* closed in another order */
		rootio_tree_close(u->t[i]);
		u->t[i] = NULL;
	}
	rootio_column_free(&part);
	return NULL;
}

static void run_on_thread(struct run *u)
{
	pthread_t th;
	if (pthread_create(&th, NULL, scramble, u)) {
		check(0, "pthread_create");
		return;
	}
	pthread_join(th, NULL);
}

/* The scrambles of refs: on this thread, two threads at once, then trees
 * opened on a thread that ends before this one reads and closes them. */
static void scrambles(struct ref *refs, int nrefs, int ops, const char *what)
{
	struct run a = {refs, nrefs, 0x9e3779b97f4a7c15ull, ops, {0}, {0}, false};
	struct run b = a, c = a;
	b.seed = 0x2545f4914f6cdd1dull;
	c.seed = 0xda942042e4dd58b5ull;
	int before = failures;
	scramble(&a);
	pthread_t th[2];
	int started = 0;
	for (; started < 2; started++)
		if (pthread_create(&th[started], NULL, scramble, started ? &c : &b)) {
			check(0, "pthread_create");
			break;
		}
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	a.keep = true;
	a.seed = 0x853c49e6748fea9bull;
	run_on_thread(&a); /* its pool freed at its exit, its trees still open */
	a.keep = false;
	a.seed++;
	scramble(&a);
	printf("%s %s: %d operations a scramble, 4 scrambles on 3 threads\n",
	       failures == before ? "ok  " : "FAIL", what, ops);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_rootio_reuse SHARED_ROOT_DIR BENCH_DIR [OPS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int ops = argc > 3 ? atoi(argv[3]) : 300;
	static const char *const small[][2] = {
		{"nanoAOD_2015_CMS_Open_Data_ttbar.root", "Events"},
		{"uproot-small-dy-nooffsets.root", "tree"}, /* offsets from the counter */
		{"uproot-leaflist.root", "tree"},           /* columns sharing a branch */
		{"uproot-HZZ-lz4.root", "events"},
		{"uproot-HZZ-zlib.root", "events"},
		{"uproot-HZZ-uncompressed.root", "events"}, /* baskets used in place */
		{"uproot-sample-6.20.04-uncompressed.root", "sample"},
		{"uproot-issue-750.root", "tout"},
		{"nano_dimuon.root", "Events"},
	};
	static const char *const bench[] = {
		"nano_like_zlib_200k.root", "nano_like_lzma_100k.root",
		"nano_like_lz4_200k.root", "nano_like_zstd_500k.root",
	};
	size_t ns = sizeof(small) / sizeof(small[0]), nb = sizeof(bench) / sizeof(bench[0]);
	struct ref *refs = calloc(ns + nb, sizeof(*refs));
	char path[4096];
	for (size_t k = 0; k < ns; k++) {
		snprintf(path, sizeof(path), "%s/%s", argv[1], small[k][0]);
		if (ref_load(&refs[k], strdup(path), small[k][1]))
			return 1;
		scrambles(&refs[k], 1, ops, small[k][0]);
	}
	scrambles(refs, (int)ns, ops, "the shared files together");
	for (size_t k = 0; k < nb; k++) {
		snprintf(path, sizeof(path), "%s/%s", argv[2], bench[k]);
		if (ref_load(&refs[ns + k], strdup(path), "Events"))
			return 1;
		scrambles(&refs[ns + k], 1, ops / 16, bench[k]);
		if (k == 1) /* the two files of workers_kill's query, side by side */
			scrambles(&refs[ns], 2, ops / 16, "zlib and lzma bench files together");
		if (k >= 1) {
			ref_free(&refs[ns + k - 1]);
			free((char *)refs[ns + k - 1].path);
		}
	}
	ref_free(&refs[ns + nb - 1]);
	free((char *)refs[ns + nb - 1].path);
	for (size_t k = 0; k < ns; k++) {
		ref_free(&refs[k]);
		free((char *)refs[k].path);
	}
	free(refs);
	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}
