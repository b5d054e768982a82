/* fuzz_rootfile.c — libFuzzer target over a whole ROOT file: the header,
 * the directories, every tree's description and every column's baskets.
 *
 * The input is the file's bytes, served by an in-memory source.  Failures
 * are expected; what must never happen is a crash, a sanitizer report, a
 * hang, an allocation of what the file claims, or a failure without a
 * message.  A successful read is also checked against the promises of
 * rootio.h (entry counts, offsets, buffer sizes).
 *
 * Built with -fsanitize=fuzzer when ANAFS_FUZZ is on; otherwise linked with
 * replay_main.c, which runs the committed corpus in the ordinary tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootio.h"
#include "src.h"

#define FUZZ_NAME "fuzz.root"
#define MAX_TREES 4
#define MAX_COLUMNS 64
#define MAX_ENTRIES 100000 /* read per column */
#define WINDOW 4093        /* entries per rootio_read: cuts baskets anywhere */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a message of this shape was not seen before (a small hash set). */
static int first_seen(const char *msg)
{
	static uint64_t seen[256];
	uint64_t h = 1469598103934665603u;
	for (const char *p = msg; *p; p++)
		if (*p < '0' || *p > '9')
			h = (h ^ (uint8_t)*p) * 1099511628211u;
	h |= 1;
	for (size_t i = h % 256, n = 0; n < 256; i = (i + 1) % 256, n++) {
		if (seen[i] == h)
			return 0;
		if (!seen[i]) {
			seen[i] = h;
			return 1;
		}
	}
	return 0;
}

/* A failed call must leave a message, NUL-terminated, that names the file. */
static void check_err(int rc, const struct rootio_err *err, const char *what)
{
	if (rc >= 0)
		return;
	if (!memchr(err->msg, 0, sizeof(err->msg)) || err->msg[0] == 0 ||
	    (unsigned char)err->msg[0] == 0xa5) {
		fprintf(stderr, "fuzz_rootfile: %s failed (%d) without a message\n", what, rc);
		abort();
	}
	/* Not fatal, so that fuzzing goes on: with FUZZ_PRINT_UNNAMED set, each
	 * kind of message (digits ignored) is printed once, for the logs. */
	if (!strstr(err->msg, FUZZ_NAME) && getenv("FUZZ_PRINT_UNNAMED") && first_seen(err->msg))
		fprintf(stderr, "fuzz_rootfile: unnamed error from %s: %s\n", what, err->msg);
}

static void fresh_err(struct rootio_err *err)
{
	memset(err->msg, 0xa5, sizeof(err->msg));
}

/* What rootio_read promises about a column it filled. */
static void check_column(const struct rootio_tree *t, size_t i, const struct rootio_column *c,
			 int64_t a, int64_t b)
{
	const struct rootio_branch *br = rootio_tree_column(t, i);
	size_t w = rootio_type_size(c->type);
	int bad = c->first != a || c->nentries != b - a || c->type != br->type ||
		  c->nvalues > c->cap_values / (w ? w : 1);
	/* Only jagged and string columns are checked: rootio_read leaves the
	 * offsets of an earlier jagged read in place for a flat column. */
	if (!bad && (br->kind == ROOTIO_JAGGED || br->kind == ROOTIO_STR)) {
		bad = !c->offsets;
	}
	if (!bad && (br->kind == ROOTIO_JAGGED || br->kind == ROOTIO_STR)) {
		bad = c->offsets[0] != 0 ||
		      (size_t)c->offsets[c->nentries] != c->nvalues ||
		      (size_t)(c->nentries + 1) > c->cap_offsets; /* elements, not bytes */
		for (int64_t e = 0; !bad && e < c->nentries; e++)
			bad = c->offsets[e] > c->offsets[e + 1];
	}
	if (bad) {
		fprintf(stderr, "fuzz_rootfile: column %zu '%s' [%lld, %lld) breaks rootio.h\n", i,
			br->name, (long long)a, (long long)b);
		abort();
	}
	/* Touch every value so that ASan sees a buffer shorter than claimed. */
	volatile uint8_t sink = 0;
	const uint8_t *v = c->values;
	for (size_t k = 0; k < c->nvalues * w; k++)
		sink ^= v[k];
	(void)sink;
}

/* Read column i; returns 1 when every window read, 0 when one failed or
 * the column was skipped. */
static int read_column(struct rootio_tree *t, size_t i, struct rootio_column *c)
{
	const struct rootio_branch *br = rootio_tree_column(t, i);
	const int64_t *starts;
	const struct rootio_basket_loc *locs;
	size_t n;
	volatile int64_t sink = 0;
	if (rootio_tree_baskets(t, i, &starts, &n) == 0)
		for (size_t k = 0; k <= n; k++)
			sink += starts[k];
	if (rootio_tree_basket_locs(t, i, &locs, &n) == 0)
		for (size_t k = 0; k < n; k++)
			sink += (int64_t)locs[k].seek + locs[k].nbytes;
	(void)sink;
	if (br->kind == ROOTIO_UNSUPPORTED)
		return 0;
	int64_t entries = rootio_tree_entries(t);
	if (entries < 0)
		return 0;
	if (entries > MAX_ENTRIES)
		entries = MAX_ENTRIES;
	for (int64_t a = 0; a < entries; a += WINDOW) {
		int64_t b = entries - a < WINDOW ? entries : a + WINDOW;
		struct rootio_err err;
		fresh_err(&err);
		int rc = rootio_read(t, i, a, b, c, &err);
		check_err(rc, &err, "rootio_read");
		if (rc)
			return 0;
		check_column(t, i, c, a, b);
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src *s;
	if (src_mem_open(data, size, FUZZ_NAME, &s))
		return 0;
	struct rootio_file *f;
	struct rootio_err err;
	fresh_err(&err);
	int rc = rootio_open_src(s, &f, &err);
	check_err(rc, &err, "rootio_open_src");
	if (rc)
		return 0;
	size_t ntrees = rootio_ntrees(f);
	for (size_t k = 0; k < ntrees && k < MAX_TREES; k++) {
		const struct rootio_tree_info *ti = rootio_tree_at(f, k);
		char name[600];
		snprintf(name, sizeof(name), "%s;%d", ti->path, ti->cycle);
		struct rootio_tree *t;
		fresh_err(&err);
		rc = rootio_tree_open(f, name, &t, &err);
		check_err(rc, &err, "rootio_tree_open");
		if (rc)
			continue;
		(void)rootio_tree_name(t);
		(void)rootio_tree_title(t);
		struct rootio_column c;
		rootio_column_init(&c);
		/* Past MAX_COLUMNS, a spread of them: wide trees mix kinds. */
		size_t ncol = rootio_tree_ncolumns(t), nok = 0;
		size_t step = ncol > MAX_COLUMNS ? ncol / MAX_COLUMNS : 1;
		for (size_t i = 0; i < ncol; i += step)
			nok += (size_t)read_column(t, i, &c);
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "fuzz_rootfile: tree %s: %lld entries, %zu of %zu columns read\n",
				name, (long long)rootio_tree_entries(t), nok, ncol);
		rootio_column_free(&c);
		rootio_tree_close(t);
	}
	rootio_close(f);
	return 0;
}
