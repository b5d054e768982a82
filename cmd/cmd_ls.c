/* cmd_ls.c — `anafs ls [--json] FILE [TREE]`: trees with their entry counts
 * and branches with type, kind and bytes, like `rootls -t`. */
#include "cmd.h"
#include "cmd_jobs.h"
#include "jsonw.h"
#include "rootio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s as a JSON string, escaped by the one JSON writer. */
static void json_string(FILE *out, const char *s)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_str(&w, s);
	size_t n = 0;
	char *j = jsonw_finish(&w, &n);
	if (j)
		fwrite(j, 1, n, out);
	else
		fputs("null", out);
	free(j);
}

/* "float32", "float32[3]", "float32[nJet]" */
static void type_text(const struct rootio_tree *t, const struct rootio_branch *b, char *buf,
		      size_t n)
{
	const char *ty = rootio_type_name(b->type);
	switch (b->kind) {
	case ROOTIO_FIXED:
		snprintf(buf, n, "%s[%d]", ty, b->fixed_len);
		break;
	case ROOTIO_JAGGED:
		if (b->fixed_len > 1)
			snprintf(buf, n, "%s[%s][%d]", ty, rootio_tree_column(t, (size_t)b->counter)->name,
				 b->fixed_len);
		else
			snprintf(buf, n, "%s[%s]", ty, rootio_tree_column(t, (size_t)b->counter)->name);
		break;
	case ROOTIO_UNSUPPORTED:
		snprintf(buf, n, "-");
		break;
	default:
		snprintf(buf, n, "%s", ty);
	}
}

/* The text listing fits LS_COLS columns: a name or type longer than its
 * column is cut with an ellipsis (the JSON listing has them whole). */
#define LS_COLS 100
#define LS_TYPE_COLS 20
/* "  " name "  " type " " kind " " compressed " " uncompressed " " baskets */
#define LS_FIXED_COLS (2 + 2 + 1 + 11 + 1 + 10 + 1 + 12 + 1 + 7)

/* s padded with spaces to cols characters, cut with "…" when longer. */
static void put_cell(const char *s, size_t cols)
{
	char cell[1200];
	size_t w = cmd_fit(cell, sizeof(cell), s, cols);
	printf("%s%*s", cell, (int)(cols - w), "");
}

/* A line of at most LS_COLS characters, ending in newline. */
static void put_line(const char *s)
{
	char line[1200];
	cmd_fit(line, sizeof(line), s, LS_COLS);
	printf("%s\n", line);
}

static void print_text(const struct rootio_tree *t, const struct rootio_tree_info *ti)
{
	char line[1200];
	snprintf(line, sizeof(line), "%s;%d  %lld entries  \"%s\"", ti->path, ti->cycle,
		 (long long)rootio_tree_entries(t), rootio_tree_title(t));
	put_line(line);
	size_t n = rootio_tree_ncolumns(t);
	size_t nw = 6, tw = 4;
	for (size_t i = 0; i < n; i++) {
		char ty[256];
		type_text(t, rootio_tree_column(t, i), ty, sizeof(ty));
		size_t l = cmd_width(rootio_tree_column(t, i)->name), k = cmd_width(ty);
		nw = l > nw ? l : nw;
		tw = k > tw ? k : tw;
	}
	tw = tw > LS_TYPE_COLS ? LS_TYPE_COLS : tw;
	nw = nw > LS_COLS - LS_FIXED_COLS - tw ? LS_COLS - LS_FIXED_COLS - tw : nw;
	printf("  ");
	put_cell("branch", nw);
	printf("  ");
	put_cell("type", tw);
	printf(" %-11s %10s %12s %7s\n", "kind", "compressed", "uncompressed", "baskets");
	for (size_t i = 0; i < n; i++) {
		const struct rootio_branch *b = rootio_tree_column(t, i);
		char ty[256], nums[128];
		type_text(t, b, ty, sizeof(ty));
		printf("  ");
		put_cell(b->name, nw);
		printf("  ");
		put_cell(ty, tw);
		int used = snprintf(nums, sizeof(nums), " %-11s %10lld %12lld %7d",
				    rootio_kind_name(b->kind), (long long)b->zip_bytes,
				    (long long)b->tot_bytes, b->nbaskets);
		fputs(nums, stdout);
		/* A note goes on the row when it fits, else on a line of its own. */
		if (b->note) {
			size_t row = 4 + nw + tw + (size_t)used;
			snprintf(line, sizeof(line), "  (%s)", b->note);
			if (row + cmd_width(line) <= LS_COLS) {
				fputs(line, stdout);
			} else {
				char own[1200];
				snprintf(line, sizeof(line), "      (%s)", b->note);
				cmd_fit(own, sizeof(own), line, LS_COLS);
				printf("\n%s", own);
			}
		}
		putchar('\n');
	}
}

static void print_json_branch(const struct rootio_tree *t, const struct rootio_branch *b)
{
	printf("{\"name\": ");
	json_string(stdout, b->name);
	printf(", \"type\": \"%s\", \"kind\": \"%s\"", b->kind == ROOTIO_UNSUPPORTED ? "none"
				: rootio_type_name(b->type), rootio_kind_name(b->kind));
	if (b->kind == ROOTIO_FIXED || (b->kind == ROOTIO_JAGGED && b->fixed_len > 1))
		printf(", \"fixed_len\": %d", b->fixed_len);
	if (b->kind == ROOTIO_JAGGED) {
		printf(", \"counter\": ");
		json_string(stdout, rootio_tree_column(t, (size_t)b->counter)->name);
	}
	printf(", \"leaf\": ");
	json_string(stdout, b->leafclass);
	printf(", \"entries\": %lld, \"zip_bytes\": %lld, \"tot_bytes\": %lld, \"baskets\": %d",
	       (long long)b->entries, (long long)b->zip_bytes, (long long)b->tot_bytes, b->nbaskets);
	if (b->note) {
		printf(", \"note\": ");
		json_string(stdout, b->note);
	}
	printf("}");
}

static void print_json(const struct rootio_tree *t, const struct rootio_tree_info *ti)
{
	printf("{\"name\": ");
	json_string(stdout, ti->path);
	printf(", \"cycle\": %d, \"class\": ", ti->cycle);
	json_string(stdout, ti->classname);
	printf(", \"entries\": %lld, \"title\": ", (long long)rootio_tree_entries(t));
	json_string(stdout, rootio_tree_title(t));
	/* A string: a 64-bit number is more than a JSON reader's double holds.
	 * random_normal() is seeded by it (docs/analysis.md). */
	printf(", \"fingerprint\": \"%llu\"", (unsigned long long)rootio_tree_fingerprint(t));
	printf(", \"branches\": [");
	for (size_t i = 0; i < rootio_tree_ncolumns(t); i++) {
		printf(i ? ",\n    " : "\n    ");
		print_json_branch(t, rootio_tree_column(t, i));
	}
	printf("]}");
}

int cmd_ls(int argc, char **argv)
{
	int json = 0, i = 1;
	if (i < argc && !strcmp(argv[i], "--json")) {
		json = 1;
		i++;
	}
	if (i >= argc || argc - i > 2 || argv[i][0] == '-') {
		fprintf(stderr, "usage: anafs ls [--json] FILE [TREE]\n");
		return 2;
	}
	const char *path = argv[i], *want = i + 1 < argc ? argv[i + 1] : NULL;
	struct rootio_file *f;
	struct rootio_err err;
	if (rootio_open(path, &f, &err)) {
		fprintf(stderr, "anafs ls: %s\n", err.msg);
		return 1;
	}
	int status = 0, shown = 0;
	if (json) {
		printf("{\"file\": ");
		json_string(stdout, path);
		printf(", \"trees\": [");
	}
	for (size_t k = 0; k < rootio_ntrees(f); k++) {
		const struct rootio_tree_info *ti = rootio_tree_at(f, k);
		char name[1100];
		snprintf(name, sizeof(name), "%s;%d", ti->path, ti->cycle);
		if (want && strcmp(want, ti->path) && strcmp(want, name))
			continue;
		if (want && !strchr(want, ';')) { /* only the highest cycle of a named tree */
			int best = 1;
			for (size_t m = 0; m < rootio_ntrees(f); m++)
				if (!strcmp(rootio_tree_at(f, m)->path, ti->path) &&
				    rootio_tree_at(f, m)->cycle > ti->cycle)
					best = 0;
			if (!best)
				continue;
		}
		struct rootio_tree *t;
		if (rootio_tree_open(f, name, &t, &err)) {
			fprintf(stderr, "anafs ls: %s\n", err.msg);
			status = 1;
			continue;
		}
		if (json) {
			printf(shown ? ",\n  " : "\n  ");
			print_json(t, ti);
		} else {
			if (shown)
				putchar('\n');
			print_text(t, ti);
		}
		shown++;
		rootio_tree_close(t);
	}
	if (json)
		printf("]}\n");
	if (want && !shown && !status) {
		fprintf(stderr, "anafs ls: %s: no tree '%s'\n", path, want);
		status = 1;
	}
	rootio_close(f);
	return status;
}
