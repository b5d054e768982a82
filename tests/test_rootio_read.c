/* test_rootio_read.c — reading columns the way the evaluator will: in
 * windows that cut baskets anywhere, only the branches asked for, trees
 * chosen by path and cycle. */
#include "rootio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static const char *dir;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			failures++;                                          \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);           \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

static struct rootio_file *open_shared(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct rootio_file *f;
	struct rootio_err err;
	if (rootio_open(path, &f, &err)) {
		printf("FAIL cannot open %s: %s\n", path, err.msg);
		exit(1);
	}
	return f;
}

static size_t values_bytes(const struct rootio_column *c)
{
	return c->nvalues * rootio_type_size(c->type);
}

/* Open file and its tree; on failure count it and return -1. */
static int open_tree(const char *file, const char *tree, struct rootio_file **f,
		     struct rootio_tree **t)
{
	struct rootio_err err;
	*f = open_shared(file);
	if (rootio_tree_open(*f, tree, t, &err)) {
		CHECK(0, "%s", err.msg);
		rootio_close(*f);
		return -1;
	}
	return 0;
}

/* Read column i in windows of w entries; compare with one read of all. */
static void windows_equal_whole(const char *file, const char *tree, const char *col, int64_t w)
{
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err err;
	if (open_tree(file, tree, &f, &t))
		return;
	int i = rootio_tree_find(t, col);
	CHECK(i >= 0, "%s: no column %s", file, col);
	int64_t n = rootio_tree_entries(t);
	struct rootio_column all, part;
	rootio_column_init(&all);
	rootio_column_init(&part);
	CHECK(!rootio_read(t, (size_t)i, 0, n, &all, &err), "%s", err.msg);
	/* A fresh tree so that the windowed pass starts with an empty cache. */
	rootio_tree_close(t);
	CHECK(!rootio_tree_open(f, tree, &t, &err), "%s", err.msg);
	size_t nb;
	const int64_t *starts;
	CHECK(!rootio_tree_baskets(t, (size_t)i, &starts, &nb), "baskets");
	size_t vs = rootio_type_size(all.type), got = 0;
	int64_t entries = 0;
	for (int64_t a = 0; a < n; a += w) {
		int64_t b = a + w < n ? a + w : n;
		if (rootio_read(t, (size_t)i, a, b, &part, &err)) {
			CHECK(0, "%s [%lld,%lld): %s", col, (long long)a, (long long)b, err.msg);
			break;
		}
		CHECK(part.nentries == b - a, "%s: %lld entries for [%lld,%lld)", col,
		      (long long)part.nentries, (long long)a, (long long)b);
		CHECK(got + values_bytes(&part) <= values_bytes(&all) &&
			      !memcmp((char *)all.values + got, part.values, values_bytes(&part)),
		      "%s window [%lld,%lld) differs from the whole read", col, (long long)a,
		      (long long)b);
		if (part.offsets && all.offsets)
			for (int64_t e = 0; e <= part.nentries; e++)
				CHECK(part.offsets[e] == all.offsets[a + e] - all.offsets[a],
				      "%s offsets differ at entry %lld", col, (long long)(a + e));
		got += values_bytes(&part);
		entries += part.nentries;
		(void)vs;
	}
	CHECK(got == values_bytes(&all) && entries == n, "%s: windows hold %zu bytes, whole %zu",
	      col, got, values_bytes(&all));
	/* Each basket decoded once (a jagged column without stored offsets
	 * also decodes its counter's baskets). */
	struct rootio_stats st;
	rootio_tree_stats(t, &st);
	const struct rootio_branch *br = rootio_tree_column(t, (size_t)i);
	size_t expect = 0; /* baskets holding at least one entry */
	for (size_t k = 0; k < nb; k++)
		expect += starts[k + 1] > starts[k];
	if (br->kind == ROOTIO_JAGGED && st.baskets != nb) {
		size_t nc;
		const int64_t *cs;
		CHECK(!rootio_tree_baskets(t, (size_t)br->counter, &cs, &nc), "counter baskets");
		/* its counter's baskets are decoded once each too */
		CHECK(st.baskets <= expect + nc, "%s: %llu baskets decoded", col,
		      (unsigned long long)st.baskets);
		expect = st.baskets;
	}
	CHECK(st.baskets == expect, "%s: %llu baskets decoded for %zu baskets (window %lld)", col,
	      (unsigned long long)st.baskets, nb, (long long)w);
	printf("ok   %s %s windows of %lld: %lld entries, %zu baskets, %llu decodes\n", file, col,
	       (long long)w, (long long)n, nb, (unsigned long long)st.baskets);
	rootio_column_free(&all);
	rootio_column_free(&part);
	rootio_tree_close(t);
	rootio_close(f);
}

/* Values before entry e of whole, a column read over all its entries. */
static size_t values_before(const struct rootio_column *whole, int64_t e)
{
	if (whole->offsets)
		return (size_t)whole->offsets[e];
	return whole->nentries ? (size_t)e * (whole->nvalues / (size_t)whole->nentries) : 0;
}

/* Every readable column read window by window, each window all columns
 * in turn (as the runner and bench_reader read), equals each column read
 * whole; then the first basket of the first column again once another
 * branch has taken its buffer (rootio_basket_load() lends the buffer of a
 * basket read to its end), and the first column whole.  w = 0: windows of
 * the first column's first basket, so that reads end where baskets do. */
static void columns_interleaved(const char *file, const char *tree, int64_t w)
{
	struct rootio_file *f;
	struct rootio_tree *t;
	struct rootio_err err;
	if (open_tree(file, tree, &f, &t))
		return;
	size_t ncols = rootio_tree_ncolumns(t), nread = 0;
	int64_t n = rootio_tree_entries(t);
	struct rootio_column *all = calloc(ncols, sizeof(*all)), part;
	size_t *cols = calloc(ncols, sizeof(*cols));
	rootio_column_init(&part);
	for (size_t i = 0; i < ncols; i++) {
		enum rootio_kind k = rootio_tree_column(t, i)->kind;
		if (k == ROOTIO_UNSUPPORTED)
			continue;
		rootio_column_init(&all[nread]);
		CHECK(!rootio_read(t, i, 0, n, &all[nread], &err), "%s", err.msg);
		cols[nread++] = i;
	}
	rootio_tree_close(t);
	if (rootio_tree_open(f, tree, &t, &err)) {
		CHECK(0, "%s", err.msg);
		t = NULL;
		goto out;
	}
	if (!w) {
		size_t nb;
		const int64_t *starts;
		CHECK(nread && !rootio_tree_baskets(t, cols[0], &starts, &nb), "baskets");
		w = nread && nb && starts[1] > 0 ? starts[1] : 1;
	}
	for (int64_t a = 0; a < n; a += w) {
		int64_t b = a + w < n ? a + w : n;
		for (size_t c = 0; c < nread; c++) {
			const struct rootio_column *x = &all[c];
			size_t vs = rootio_type_size(x->type);
			int rc = rootio_read(t, cols[c], a, b, &part, &err);
			CHECK(!rc, "%s", err.msg);
			if (rc)
				continue;
			size_t v0 = values_before(x, a);
			CHECK(v0 * vs + values_bytes(&part) <= values_bytes(x) &&
				      !memcmp((char *)x->values + v0 * vs, part.values, values_bytes(&part)),
			      "%s column %zu window [%lld,%lld) differs", file, cols[c], (long long)a,
			      (long long)b);
			if (x->offsets)
				for (int64_t e = 0; e <= part.nentries; e++)
					CHECK(part.offsets[e] == x->offsets[a + e] - x->offsets[a],
					      "%s column %zu offsets differ at %lld", file, cols[c],
					      (long long)(a + e));
		}
	}
	if (nread > 1) {
		/* In a fresh tree, the first basket read to its end, another
		 * branch's read, the first basket again: decoded again, not the
		 * other's bytes. */
		rootio_tree_close(t);
		if (rootio_tree_open(f, tree, &t, &err)) {
			CHECK(0, "%s", err.msg);
			t = NULL;
			goto out;
		}
		size_t nb;
		const int64_t *starts;
		CHECK(!rootio_tree_baskets(t, cols[0], &starts, &nb) && nb, "baskets");
		int64_t e = nb ? starts[1] : 0;
		size_t vs = rootio_type_size(all[0].type);
		size_t nv = values_before(&all[0], e);
		for (int r = 0; r < 2; r++) {
			CHECK(!rootio_read(t, cols[0], 0, e, &part, &err), "%s", err.msg);
			CHECK(part.nvalues == nv && !memcmp(part.values, all[0].values, nv * vs),
			      "%s column %zu basket 0 read again (%d) differs", file, cols[0], r);
			CHECK(!rootio_read(t, cols[nread - 1], 0, n < 1 ? n : 1, &part, &err), "%s",
			      err.msg);
		}
	}
	if (nread) {
		CHECK(!rootio_read(t, cols[0], 0, n, &part, &err), "%s", err.msg);
		CHECK(values_bytes(&part) == values_bytes(&all[0]) &&
			      !memcmp(part.values, all[0].values, values_bytes(&part)),
		      "%s column %zu read again differs", file, cols[0]);
	}
	printf("ok   %s: %zu columns interleaved in windows of %lld\n", file, nread, (long long)w);
out:
	for (size_t c = 0; c < nread; c++)
		rootio_column_free(&all[c]);
	rootio_column_free(&part);
	free(all);
	free(cols);
	rootio_tree_close(t);
	rootio_close(f);
}

/* Reading one column touches only that branch's baskets. */
static void only_requested(void)
{
	struct rootio_file *f = open_shared("uproot-issue412.root");
	struct rootio_tree *t;
	struct rootio_err err;
	CHECK(!rootio_tree_open(f, "test", &t, &err), "%s", err.msg);
	int i = rootio_tree_find(t, "b2");
	struct rootio_column c;
	rootio_column_init(&c);
	CHECK(!rootio_read(t, (size_t)i, 0, rootio_tree_entries(t), &c, &err), "%s", err.msg);
	struct rootio_stats st;
	rootio_tree_stats(t, &st);
	const struct rootio_basket_loc *locs;
	size_t n;
	CHECK(!rootio_tree_basket_locs(t, (size_t)i, &locs, &n), "locs");
	uint64_t bytes = 0;
	for (size_t k = 0; k < n; k++)
		bytes += locs[k].nbytes;
	CHECK(st.baskets == n && st.bytes_read == bytes,
	      "read %llu baskets / %llu bytes, branch b2 has %zu / %llu",
	      (unsigned long long)st.baskets, (unsigned long long)st.bytes_read, n,
	      (unsigned long long)bytes);
	uint64_t trues = 0;
	for (size_t k = 0; k < c.nvalues; k++)
		trues += ((uint8_t *)c.values)[k];
	printf("ok   only b2 read: %llu baskets, %llu bytes, %llu trues\n",
	       (unsigned long long)st.baskets, (unsigned long long)st.bytes_read,
	       (unsigned long long)trues);
	rootio_column_free(&c);
	rootio_tree_close(t);
	rootio_close(f);
}

static void tree_names(void)
{
	struct rootio_file *f = open_shared("uproot-issue31.root");
	struct rootio_tree *t;
	struct rootio_err err;
	CHECK(!rootio_tree_open(f, "T", &t, &err) && rootio_tree_cycle(t) == 2,
	      "T should open cycle 2");
	rootio_tree_close(t);
	CHECK(!rootio_tree_open(f, "T;1", &t, &err) && rootio_tree_cycle(t) == 1,
	      "T;1 should open cycle 1");
	rootio_tree_close(t);
	CHECK(rootio_tree_open(f, "T;7", &t, &err) != 0 && strstr(err.msg, "no tree"),
	      "T;7 should not exist");
	CHECK(rootio_tree_open(f, "nope", &t, &err) != 0 && strstr(err.msg, "uproot-issue31.root"),
	      "error should name the file: %s", err.msg);
	rootio_close(f);

	f = open_shared("uproot-nesteddirs.root");
	CHECK(!rootio_tree_open(f, "one/two/tree", &t, &err) && rootio_tree_entries(t) == 100,
	      "one/two/tree");
	rootio_tree_close(t);
	CHECK(!rootio_tree_open(f, "one/tree", &t, &err) && rootio_tree_entries(t) == 4,
	      "one/tree");
	rootio_tree_close(t);
	rootio_close(f);
	printf("ok   tree names and cycles\n");
}

static void bad_ranges(void)
{
	struct rootio_file *f = open_shared("uproot-HZZ-zlib.root");
	struct rootio_tree *t;
	struct rootio_err err;
	CHECK(!rootio_tree_open(f, NULL, &t, &err), "%s", err.msg);
	struct rootio_column c;
	rootio_column_init(&c);
	CHECK(rootio_read(t, 0, 10, 5, &c, &err) < 0, "a > b accepted");
	CHECK(rootio_read(t, 0, 0, rootio_tree_entries(t) + 1, &c, &err) < 0, "b > entries");
	CHECK(rootio_read(t, 100000, 0, 1, &c, &err) < 0, "no such column");
	CHECK(!rootio_read(t, 0, 7, 7, &c, &err) && c.nentries == 0, "empty range");
	rootio_column_free(&c);
	rootio_tree_close(t);
	rootio_close(f);
	printf("ok   bad ranges refused\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_rootio_read SHARED_ROOT_DIR\n");
		return 2;
	}
	dir = argv[1];
	static const int64_t windows[] = {1, 7, 333, 100000};
	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		windows_equal_whole("uproot-small-dy-nooffsets.root", "tree", "Jet_pt", windows[w]);
		windows_equal_whole("uproot-issue-750.root", "tout", "Muon_pt", windows[w]);
		windows_equal_whole("uproot-HZZ-lz4.root", "events", "Muon_Px", windows[w]);
		windows_equal_whole("uproot-sample-6.20.04-uncompressed.root", "sample", "str",
				    windows[w]);
	}
	windows_equal_whole("uproot-issue412.root", "test", "b1", 4999);
	windows_equal_whole("uproot-issue79.root", "taus", "pt", 65536);
	windows_equal_whole("nanoAOD_2015_CMS_Open_Data_ttbar.root", "Events", "Jet_pt", 3);
	static const char *const inter[][2] = {
		{"nanoAOD_2015_CMS_Open_Data_ttbar.root", "Events"},
		{"uproot-small-dy-nooffsets.root", "tree"},
		{"uproot-leaflist.root", "tree"},
		{"uproot-HZZ-lz4.root", "events"},
		{"uproot-sample-6.20.04-uncompressed.root", "sample"},
	};
	for (size_t k = 0; k < sizeof(inter) / sizeof(inter[0]); k++) {
		columns_interleaved(inter[k][0], inter[k][1], 0);
		columns_interleaved(inter[k][0], inter[k][1], 333);
	}
	only_requested();
	tree_names();
	bad_ranges();
	printf("%d failed\n", failures);
	return failures ? 1 : 0;
}
