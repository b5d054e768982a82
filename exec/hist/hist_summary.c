/* hist_summary.c — a table of histograms, one line each: entries, mean,
 * standard deviation, underflow and overflow (jobs/N/summary, see hist.h).
 *
 * The figures come from the bins, as a reader of hist.json would compute
 * them: the mean and spread of the bin centres weighted by each cell's sum
 * of weights (its count when unweighted), over the cells inside the range
 * of every axis, flow bins left out.  An axis's underflow and overflow sum
 * the cells below or above its range, whatever the other axes hold. */
#include "hist.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUM_COLS 6
#define SUM_CELL 96 /* bytes of one formatted cell: up to 3 figures */

static const char *const sum_head[SUM_COLS] = {
	"name", "entries", "mean", "std", "underflow", "overflow",
};

/* A figure as a count when it is one, else with six significant digits. */
static void fmt_num(char *b, size_t n, double v)
{
	if (v == trunc(v) && fabs(v) < 1e15)
		snprintf(b, n, "%.0f", v);
	else
		snprintf(b, n, "%.6g", v);
}

/* Append s to the comma-separated list in b (SUM_CELL bytes). */
static void add_part(char *b, const char *s)
{
	size_t l = strlen(b);
	snprintf(b + l, SUM_CELL - l, "%s%s", l ? "," : "", s);
}

/* Where bin i of axis d stands: -1 below the range, 1 above, 0 inside;
 * *x its coordinate (bin centre, or the integer of a category). */
static int bin_place(const struct hist *h, int d, int i, double *x)
{
	int kind = hist_axis_kind(h, d), nb = hist_nbins(h, d);
	*x = 0;
	if (kind == HIST_AXIS_CAT_INT || kind == HIST_AXIS_CAT_STR) {
		if (i >= nb)
			return 1; /* the "other" bin */
		if (kind == HIST_AXIS_CAT_INT)
			*x = (double)hist_cat_int(h, d, i);
		return 0;
	}
	if (i == 0)
		return -1;
	if (i > nb)
		return 1;
	*x = 0.5 * (hist_edge(h, d, i) + hist_edge(h, d, i + 1));
	return 0;
}

struct axis_sums {
	double sw, swx, swxx, under, over;
};

/* The sums of every axis of h: two passes, the second about the mean,
 * so that a narrow peak far from zero keeps its digits. */
static void axis_sums(const struct hist *h, struct axis_sums *s)
{
	int nd = hist_ndim(h);
	size_t stride[HIST_MAX_DIM], nc = hist_ncells(h);
	stride[nd - 1] = 1;
	for (int d = nd - 2; d >= 0; d--)
		stride[d] = stride[d + 1] * (size_t)hist_extent(h, d + 1);
	double mean[HIST_MAX_DIM] = {0};
	memset(s, 0, sizeof(*s) * (size_t)nd);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t c = 0; c < nc; c++) {
			double w = hist_cell_sumw(h, c), x[HIST_MAX_DIM];
			int place[HIST_MAX_DIM], inside = 1;
			if (w == 0)
				continue;
			for (int d = 0; d < nd; d++) {
				int i = (int)(c / stride[d] % (size_t)hist_extent(h, d));
				place[d] = bin_place(h, d, i, &x[d]);
				inside &= place[d] == 0;
			}
			for (int d = 0; d < nd; d++) {
				if (pass == 0 && place[d] < 0)
					s[d].under += w;
				else if (pass == 0 && place[d] > 0)
					s[d].over += w;
				if (!inside)
					continue;
				double dx = x[d] - mean[d];
				if (pass == 0) {
					s[d].sw += w;
					s[d].swx += w * x[d];
				} else {
					s[d].swxx += w * dx * dx;
				}
			}
		}
		for (int d = 0; pass == 0 && d < nd; d++)
			mean[d] = s[d].sw != 0 ? s[d].swx / s[d].sw : 0;
	}
}

/* The cells of row h: entries, then per axis mean, std, under, over. */
static void format_row(const struct hist *h, char cell[SUM_COLS][SUM_CELL])
{
	struct axis_sums s[HIST_MAX_DIM];
	axis_sums(h, s);
	snprintf(cell[1], SUM_CELL, "%llu", (unsigned long long)hist_entries(h));
	for (int c = 2; c < SUM_COLS; c++)
		cell[c][0] = '\0';
	for (int d = 0; d < hist_ndim(h); d++) {
		int kind = hist_axis_kind(h, d);
		bool cat = kind == HIST_AXIS_CAT_INT || kind == HIST_AXIS_CAT_STR;
		char b[40];
		/* A string category has no mean; a category axis no underflow,
		 * and an overflow only as its "other" bin. */
		bool has_mean = kind != HIST_AXIS_CAT_STR && s[d].sw > 0;
		double m = has_mean ? s[d].swx / s[d].sw : 0;
		double sd = has_mean ? sqrt(fmax(0, s[d].swxx / s[d].sw)) : 0;
		snprintf(b, sizeof(b), "%.6g", m);
		add_part(cell[2], has_mean ? b : "-");
		snprintf(b, sizeof(b), "%.6g", sd);
		add_part(cell[3], has_mean ? b : "-");
		fmt_num(b, sizeof(b), s[d].under);
		add_part(cell[4], cat ? "-" : b);
		fmt_num(b, sizeof(b), s[d].over);
		add_part(cell[5], cat && !hist_axis_flow(h, d) ? "-" : b);
	}
}

char *hist_summary(struct hist *const *h, const char *const *names, size_t n)
{
	char (*cells)[SUM_COLS][SUM_CELL] = calloc(n + 1, sizeof(*cells));
	size_t width[SUM_COLS];
	if (!cells)
		return NULL;
	for (int c = 0; c < SUM_COLS; c++) {
		snprintf(cells[0][c], SUM_CELL, "%s", sum_head[c]); /* names: names[] */
		width[c] = strlen(sum_head[c]);
	}
	for (size_t i = 0; i < n; i++) {
		format_row(h[i], cells[i + 1]);
		if (strlen(names[i]) > width[0])
			width[0] = strlen(names[i]);
	}
	for (size_t i = 1; i <= n; i++)
		for (int c = 1; c < SUM_COLS; c++)
			if (strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i <= n; i++) {
		/* The name left-aligned, the figures right-aligned; no trailing
		 * blanks. */
		strbuf_printf(&b, "%-*s", (int)width[0], i ? names[i - 1] : sum_head[0]);
		for (int c = 1; c < SUM_COLS; c++)
			strbuf_printf(&b, "  %*s", (int)width[c], cells[i][c]);
		strbuf_printf(&b, "\n");
	}
	free(cells);
	char *out = NULL;
	return strbuf_finish(&b, &out, NULL) ? NULL : out;
}
