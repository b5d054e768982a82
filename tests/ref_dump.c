/* ref_dump.c — print what the ROOT reader reads from one file, as JSON
 * lines, for tests/ref_check.py to compare with reference.json.
 *
 * Usage: ref_dump FILE.root [WINDOW] < REQUESTS
 *
 * Each line of REQUESTS (stdin, ignored when it is a terminal) asks for one
 * histogram: "tree;cycle TAB column TAB lo TAB hi TAB nbins".  Columns are
 * read in windows of entries whose sizes cycle through WINDOW_SIZES, so
 * that the windows cut baskets at many places; a WINDOW argument reads in
 * windows of that size instead (0: the whole tree in one call).  Each
 * window is checked against rootio.h's promises, and each entry of a
 * jagged column against its counter column.
 *
 * Output, one JSON object a line:
 *   {"file":F,"error":M}                                 the file failed
 *   {"tree":K,"cycle":C,"entries":N,"ncolumns":M,...}    per tree
 *   {"tree":K,"column":C,"type":T,"kind":K,...stats}     per column
 *   {"tree":K,"column":C,"hist":I,"counts":[...],...}    per request I
 *   {"done":true,"failed":B}                             last, if no crash
 * A tree or column that failed carries "error" with the reader's message.
 * Integer sums are exact (__int128) and printed as decimal strings; float
 * sums are plain double loops over the non-NaN values.  NaN and infinities
 * are written as the strings "nan", "inf", "-inf".
 *
 * Exit status: 0; 1 when anything failed (the error lines say what); 2 on
 * bad usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootio.h"

#define HEAD_ENTRIES 3
#define MAX_NBINS 10000

static const int64_t WINDOW_SIZES[] = {1, 3, 17, 1000, 4093, 65536};
#define NWINDOW_SIZES (sizeof WINDOW_SIZES / sizeof WINDOW_SIZES[0])

/* One histogram request, filled while its column is read. */
struct hist {
	char *tree;
	char *column;
	double lo, hi;
	int nbins;
	uint64_t *counts;
	uint64_t under, over, nan;
};

/* What one column holds, accumulated window by window. */
struct stats {
	uint64_t count, n_nan, n_inf, n_empty, max_mult, total_chars;
	__int128 isum, imin, imax;
	double fsum, fmin, fmax;
	int have_minmax;
	FILE *head; /* JSON text of the first entries */
	char *head_buf;
	size_t head_len;
	int64_t head_n;
	struct hist **hists;
	size_t nhists;
};

static void print_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void print_cstr(FILE *f, const char *s)
{
	if (s)
		print_str(f, s, strlen(s));
	else
		fputs("null", f);
}

static void print_i128(FILE *f, __int128 v)
{
	char buf[48], *p = buf + sizeof buf;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	fputs(p, f);
}

static void print_dbl(FILE *f, double x)
{
	if (isnan(x))
		fputs("\"nan\"", f);
	else if (isinf(x))
		fputs(x > 0 ? "\"inf\"" : "\"-inf\"", f);
	else
		fprintf(f, "%.17g", x);
}

static int is_float(enum rootio_type t)
{
	return t == ROOTIO_F32 || t == ROOTIO_F64;
}

static __int128 int_at(const struct rootio_column *c, size_t k)
{
	switch (c->type) {
	case ROOTIO_BOOL:
	case ROOTIO_U8: return ((const uint8_t *)c->values)[k];
	case ROOTIO_I8: return ((const int8_t *)c->values)[k];
	case ROOTIO_I16: return ((const int16_t *)c->values)[k];
	case ROOTIO_U16: return ((const uint16_t *)c->values)[k];
	case ROOTIO_I32: return ((const int32_t *)c->values)[k];
	case ROOTIO_U32: return ((const uint32_t *)c->values)[k];
	case ROOTIO_I64: return ((const int64_t *)c->values)[k];
	case ROOTIO_U64: return ((const uint64_t *)c->values)[k];
	default: return 0;
	}
}

static double flt_at(const struct rootio_column *c, size_t k)
{
	if (c->type == ROOTIO_F32)
		return ((const float *)c->values)[k];
	return ((const double *)c->values)[k];
}

static void print_value(FILE *f, const struct rootio_column *c, size_t k)
{
	if (is_float(c->type))
		print_dbl(f, flt_at(c, k));
	else
		print_i128(f, int_at(c, k));
}

/* The bin rule of reference.json (ROOT's TAxis::FindBin): below lo is
 * underflow, at or above hi overflow, NaN nowhere.  A value just below hi
 * whose quotient rounds up to nbins lands in overflow, as in ROOT. */
static void hist_fill(struct hist *h, double x)
{
	if (isnan(x)) {
		h->nan++;
	} else if (x < h->lo) {
		h->under++;
	} else if (x >= h->hi) {
		h->over++;
	} else {
		double b = floor((double)h->nbins * (x - h->lo) / (h->hi - h->lo));
		if (b >= h->nbins)
			h->over++;
		else
			h->counts[(int)b]++;
	}
}

static void stats_add_value(struct stats *s, const struct rootio_column *c, size_t k)
{
	double x;

	if (is_float(c->type)) {
		x = flt_at(c, k);
		if (isnan(x)) {
			s->n_nan++;
		} else {
			s->n_inf += isinf(x) != 0;
			s->fsum += x;
			if (!s->have_minmax || x < s->fmin)
				s->fmin = x;
			if (!s->have_minmax || x > s->fmax)
				s->fmax = x;
			s->have_minmax = 1;
		}
	} else {
		__int128 v = int_at(c, k);
		s->isum += v;
		if (!s->have_minmax || v < s->imin)
			s->imin = v;
		if (!s->have_minmax || v > s->imax)
			s->imax = v;
		s->have_minmax = 1;
		x = (double)v;
	}
	for (size_t h = 0; h < s->nhists; h++)
		hist_fill(s->hists[h], x);
}

/* Values [v0, v1) of the column's entry e, whatever its kind. */
static void entry_bounds(const struct rootio_branch *b, const struct rootio_column *c,
			 int64_t e, size_t *v0, size_t *v1)
{
	if (c->offsets) {
		*v0 = (size_t)c->offsets[e];
		*v1 = (size_t)c->offsets[e + 1];
	} else {
		*v0 = (size_t)e * (size_t)b->fixed_len;
		*v1 = *v0 + (size_t)b->fixed_len;
	}
}

/* Append entry e (relative to the window) to the head text. */
static void head_add(struct stats *s, const struct rootio_branch *b,
		     const struct rootio_column *c, int64_t e)
{
	size_t v0, v1;

	entry_bounds(b, c, e, &v0, &v1);
	if (s->head_n++)
		fputc(',', s->head);
	if (b->kind == ROOTIO_STR) {
		print_str(s->head, (const char *)c->values + v0, v1 - v0);
		return;
	}
	if (b->kind == ROOTIO_FLAT) {
		print_value(s->head, c, v0);
		return;
	}
	fputc('[', s->head);
	for (size_t k = v0; k < v1; k++) {
		if (k > v0)
			fputc(',', s->head);
		print_value(s->head, c, k);
	}
	fputc(']', s->head);
}

/* Check that a window holds what rootio.h promises; 0 or -1 with msg. */
static int check_window(const struct rootio_branch *b, const struct rootio_column *c,
			int64_t a, int64_t e, char *msg, size_t len)
{
	int64_t n = e - a;
	size_t want = 0;

	if (c->type != b->type || c->first != a || c->nentries != n) {
		snprintf(msg, len, "read [%lld,%lld): got type %d first %lld nentries %lld",
			 (long long)a, (long long)e, (int)c->type, (long long)c->first,
			 (long long)c->nentries);
		return -1;
	}
	if (b->kind == ROOTIO_JAGGED || b->kind == ROOTIO_STR) {
		if (!c->offsets || c->offsets[0] != 0)
			goto bad_offsets;
		for (int64_t i = 0; i < n; i++)
			if (c->offsets[i + 1] < c->offsets[i])
				goto bad_offsets;
		want = (size_t)c->offsets[n];
	} else {
		want = (size_t)n * (size_t)b->fixed_len;
	}
	if (c->nvalues != want) {
		snprintf(msg, len, "read [%lld,%lld): nvalues %zu, expected %zu",
			 (long long)a, (long long)e, c->nvalues, want);
		return -1;
	}
	return 0;
bad_offsets:
	snprintf(msg, len, "read [%lld,%lld): offsets missing, not from 0 or decreasing",
		 (long long)a, (long long)e);
	return -1;
}

/* Check that each entry of a jagged window holds as many values as its
 * counter column says: the reference sees only totals and the first
 * entries.  Returns 0 or -1 with msg. */
static int check_counter(struct rootio_tree *t, const struct rootio_branch *b,
			 const struct rootio_column *c, struct rootio_column *cnt, int64_t a,
			 char *msg, size_t len)
{
	struct rootio_err err = {""};
	int64_t e = a + c->nentries;
	int rc;

	if (b->counter < 0 || (size_t)b->counter >= rootio_tree_ncolumns(t))
		return 0;
	rc = rootio_read(t, (size_t)b->counter, a, e, cnt, &err);
	if (rc) {
		snprintf(msg, len, "counter read [%lld,%lld): %s (%s)", (long long)a,
			 (long long)e, err.msg, rootio_strerror(rc));
		return -1;
	}
	for (int64_t i = 0; i < c->nentries && i < cnt->nentries; i++) {
		if (is_float(cnt->type) || cnt->nvalues != (size_t)cnt->nentries ||
		    int_at(cnt, (size_t)i) != c->offsets[i + 1] - c->offsets[i]) {
			snprintf(msg, len, "entry %lld holds %lld values, its counter says %lld",
				 (long long)(a + i), (long long)(c->offsets[i + 1] - c->offsets[i]),
				 (long long)int_at(cnt, (size_t)i));
			return -1;
		}
	}
	return 0;
}

/* Fold one window (entries [a, a + c->nentries)) into s. */
static void stats_add_window(struct stats *s, const struct rootio_branch *b,
			     const struct rootio_column *c, int64_t a)
{
	for (int64_t e = 0; e < c->nentries && a + e < HEAD_ENTRIES; e++)
		head_add(s, b, c, e);
	if (b->kind == ROOTIO_STR) {
		s->count += (uint64_t)c->nentries;
		s->total_chars += c->nvalues;
		return;
	}
	if (b->kind == ROOTIO_JAGGED) {
		for (int64_t e = 0; e < c->nentries; e++) {
			uint64_t m = (uint64_t)(c->offsets[e + 1] - c->offsets[e]);
			s->n_empty += m == 0;
			if (m > s->max_mult)
				s->max_mult = m;
		}
	}
	s->count += c->nvalues;
	for (size_t k = 0; k < c->nvalues; k++)
		stats_add_value(s, c, k);
}

/* Read column i window by window into s.  Returns 0, or -1 with msg. */
static int read_column(struct rootio_tree *t, size_t i, struct stats *s, int64_t window,
		       char *msg, size_t len)
{
	const struct rootio_branch *b = rootio_tree_column(t, i);
	int64_t n = rootio_tree_entries(t), a = 0, e;
	struct rootio_column c, cnt;
	struct rootio_err err = {""};
	size_t w = 0;
	int rc = 0;

	rootio_column_init(&c);
	rootio_column_init(&cnt);
	do { /* a tree of 0 entries still gets one (empty) read */
		e = a + (window >= 0 ? (window ? window : n) : WINDOW_SIZES[w++ % NWINDOW_SIZES]);
		if (e > n)
			e = n;
		rc = rootio_read(t, i, a, e, &c, &err);
		if (rc) {
			snprintf(msg, len, "read [%lld,%lld): %s (%s)", (long long)a,
				 (long long)e, err.msg, rootio_strerror(rc));
			break;
		}
		rc = check_window(b, &c, a, e, msg, len);
		if (!rc && b->kind == ROOTIO_JAGGED)
			rc = check_counter(t, b, &c, &cnt, a, msg, len);
		if (rc)
			break;
		stats_add_window(s, b, &c, a);
		a = e;
	} while (a < n);
	rootio_column_free(&c);
	rootio_column_free(&cnt);
	return rc ? -1 : 0;
}

/* ,"sum":"S","min":M,"max":M of a numeric column; min and max are null
 * when every value is NaN. */
static void print_sum_min_max(FILE *f, const struct rootio_branch *b, const struct stats *s)
{
	int flt = is_float(b->type);

	fputs(",\"sum\":\"", f);
	flt ? (void)fprintf(f, "%.17g", s->fsum) : print_i128(f, s->isum);
	fputs("\",\"min\":", f);
	if (!s->have_minmax)
		fputs("null", f);
	else
		flt ? print_dbl(f, s->fmin) : print_i128(f, s->imin);
	fputs(",\"max\":", f);
	if (!s->have_minmax)
		fputs("null", f);
	else
		flt ? print_dbl(f, s->fmax) : print_i128(f, s->imax);
}

static void print_stats(FILE *f, const struct rootio_branch *b, struct stats *s)
{
	fprintf(f, ",\"count\":%llu", (unsigned long long)s->count);
	if (b->kind == ROOTIO_STR) {
		fprintf(f, ",\"total_chars\":%llu", (unsigned long long)s->total_chars);
	} else {
		print_sum_min_max(f, b, s);
		fprintf(f, ",\"n_nan\":%llu,\"n_inf\":%llu", (unsigned long long)s->n_nan,
			(unsigned long long)s->n_inf);
	}
	if (b->kind == ROOTIO_JAGGED)
		fprintf(f, ",\"n_empty_entries\":%llu,\"max_multiplicity\":%llu",
			(unsigned long long)s->n_empty, (unsigned long long)s->max_mult);
	fflush(s->head);
	fprintf(f, ",\"head\":[%s]", s->head_buf);
}

static void print_column(FILE *f, const char *key, const struct rootio_tree *t,
			 const struct rootio_branch *b, struct stats *s, const char *error)
{
	size_t nc = rootio_tree_ncolumns(t);

	fputs("{\"tree\":", f);
	print_cstr(f, key);
	fputs(",\"column\":", f);
	print_cstr(f, b->name);
	fprintf(f, ",\"type\":");
	print_cstr(f, rootio_type_name(b->type));
	fprintf(f, ",\"kind\":");
	print_cstr(f, rootio_kind_name(b->kind));
	fputs(",\"leafclass\":", f);
	print_cstr(f, b->leafclass);
	fprintf(f, ",\"fixed_len\":%d,\"branch_entries\":%lld,\"counter\":", b->fixed_len,
		(long long)b->entries);
	print_cstr(f, b->counter >= 0 && (size_t)b->counter < nc
			      ? rootio_tree_column(t, (size_t)b->counter)->name : NULL);
	fputs(",\"note\":", f);
	print_cstr(f, b->note);
	if (error) {
		fputs(",\"error\":", f);
		print_cstr(f, error);
	} else if (b->kind != ROOTIO_UNSUPPORTED) {
		print_stats(f, b, s);
	}
	fputs("}\n", f);
}

static void print_hist(FILE *f, const struct hist *h, size_t index)
{
	fputs("{\"tree\":", f);
	print_cstr(f, h->tree);
	fputs(",\"column\":", f);
	print_cstr(f, h->column);
	fprintf(f, ",\"hist\":%zu,\"counts\":[", index);
	for (int k = 0; k < h->nbins; k++)
		fprintf(f, "%s%llu", k ? "," : "", (unsigned long long)h->counts[k]);
	fprintf(f, "],\"underflow\":%llu,\"overflow\":%llu,\"n_nan\":%llu}\n",
		(unsigned long long)h->under, (unsigned long long)h->over,
		(unsigned long long)h->nan);
}

/* Print column i of tree t (keyed "path;cycle") with its stats and the
 * histograms requested for it.  Returns 0, or 1 if it failed. */
static int dump_column(struct rootio_tree *t, const char *key, size_t i, struct hist *hists,
		       size_t nhists, int64_t window)
{
	const struct rootio_branch *b = rootio_tree_column(t, i);
	struct stats s;
	char msg[700] = "";
	int rc = 0;

	memset(&s, 0, sizeof s);
	s.head = open_memstream(&s.head_buf, &s.head_len);
	s.hists = calloc(nhists + 1, sizeof *s.hists);
	if (!s.head || !s.hists) {
		fprintf(stderr, "ref_dump: out of memory\n");
		exit(2);
	}
	for (size_t h = 0; h < nhists; h++)
		if (!strcmp(hists[h].tree, key) && !strcmp(hists[h].column, b->name))
			s.hists[s.nhists++] = &hists[h];
	if (b->kind != ROOTIO_UNSUPPORTED)
		rc = read_column(t, i, &s, window, msg, sizeof msg);
	print_column(stdout, key, t, b, &s, rc ? msg : NULL);
	for (size_t h = 0; h < s.nhists && !rc && b->kind != ROOTIO_UNSUPPORTED; h++)
		print_hist(stdout, s.hists[h], (size_t)(s.hists[h] - hists));
	fclose(s.head);
	free(s.head_buf);
	free(s.hists);
	return rc ? 1 : 0;
}

/* Open one tree by "path;cycle" and print it.  Returns 0, or 1 if any
 * part of it failed. */
static int dump_tree(struct rootio_file *f, const struct rootio_tree_info *ti,
		     struct hist *hists, size_t nhists, int64_t window)
{
	struct rootio_tree *t;
	struct rootio_err err = {""};
	char key[1024], msg[700];
	int rc, bad = 0;

	snprintf(key, sizeof key, "%s;%d", ti->path, ti->cycle);
	rc = rootio_tree_open(f, key, &t, &err);
	fputs("{\"tree\":", stdout);
	print_cstr(stdout, key);
	fputs(",\"path\":", stdout);
	print_cstr(stdout, ti->path);
	fprintf(stdout, ",\"cycle\":%d,\"classname\":", ti->cycle);
	print_cstr(stdout, ti->classname);
	if (rc) {
		snprintf(msg, sizeof msg, "%s (%s)", err.msg, rootio_strerror(rc));
		fputs(",\"error\":", stdout);
		print_cstr(stdout, msg);
		fputs("}\n", stdout);
		return 1;
	}
	fprintf(stdout, ",\"tree_cycle\":%d,\"entries\":%lld,\"ncolumns\":%zu}\n",
		rootio_tree_cycle(t), (long long)rootio_tree_entries(t),
		rootio_tree_ncolumns(t));
	for (size_t i = 0; i < rootio_tree_ncolumns(t); i++)
		bad |= dump_column(t, key, i, hists, nhists, window);
	rootio_tree_close(t);
	return bad;
}

/* Parse one request line "tree TAB column TAB lo TAB hi TAB nbins" into h. */
static int parse_request(char *line, struct hist *h)
{
	char *field[5], *end;
	int n = 0;

	for (char *p = line; n < 5; p = NULL) {
		field[n] = strtok(p, "\t\n");
		if (!field[n])
			break;
		n++;
	}
	if (n != 5)
		return -1;
	h->lo = strtod(field[2], &end);
	if (*end)
		return -1;
	h->hi = strtod(field[3], &end);
	if (*end)
		return -1;
	h->nbins = (int)strtol(field[4], &end, 10);
	if (*end || h->nbins < 1 || h->nbins > MAX_NBINS || !(h->lo < h->hi))
		return -1;
	h->tree = strdup(field[0]);
	h->column = strdup(field[1]);
	h->counts = calloc((size_t)h->nbins, sizeof *h->counts);
	if (!h->tree || !h->column || !h->counts)
		return -1;
	return 0;
}

static int read_requests(FILE *in, struct hist **out, size_t *nout)
{
	struct hist *hists = NULL;
	size_t n = 0, lineno = 0, cap = 0;
	char *line = NULL;

	while (getline(&line, &cap, in) > 0) {
		lineno++;
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		struct hist *nh = realloc(hists, (n + 1) * sizeof *hists);
		if (!nh)
			goto fail;
		hists = nh;
		memset(&hists[n], 0, sizeof hists[n]);
		if (parse_request(line, &hists[n++]))
			goto fail;
	}
	free(line);
	*out = hists;
	*nout = n;
	return 0;
fail:
	fprintf(stderr, "ref_dump: stdin line %zu: want tree\\tcolumn\\tlo\\thi\\tnbins\n",
		lineno);
	free(line);
	return -1;
}

int main(int argc, char **argv)
{
	struct hist *hists = NULL;
	size_t nhists = 0;
	struct rootio_file *f;
	struct rootio_err err = {""};
	int64_t window = -1;
	int rc, bad = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ref_dump FILE.root [WINDOW] < REQUESTS\n");
		return 2;
	}
	if (argc == 3)
		window = strtoll(argv[2], NULL, 10);
	if (!isatty(0) && read_requests(stdin, &hists, &nhists))
		return 2;
	rc = rootio_open(argv[1], &f, &err);
	if (rc) {
		char msg[700];
		snprintf(msg, sizeof msg, "%s (%s)", err.msg, rootio_strerror(rc));
		fputs("{\"file\":", stdout);
		print_cstr(stdout, argv[1]);
		fputs(",\"error\":", stdout);
		print_cstr(stdout, msg);
		fputs("}\n", stdout);
		return 1;
	}
	for (size_t i = 0; i < rootio_ntrees(f); i++)
		bad |= dump_tree(f, rootio_tree_at(f, i), hists, nhists, window);
	rootio_close(f);
	printf("{\"done\":true,\"failed\":%s}\n", bad ? "true" : "false");
	for (size_t h = 0; h < nhists; h++) {
		free(hists[h].tree);
		free(hists[h].column);
		free(hists[h].counts);
	}
	free(hists);
	return bad;
}
