/* plot_csv.c — a histogram as CSV, one line per cell (see plot.h). */
#include "plot.h"
#include "jsonw.h"
#include "strbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void csv_num(struct strbuf *b, double v, bool last)
{
	char buf[32];
	size_t n = jsonw_fmt_double(buf, v);
	if (n == 0)
		n = (size_t)snprintf(buf, sizeof(buf), "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
	buf[n++] = last ? '\n' : ',';
	strbuf_put(b, buf, n);
}

static void csv_int(struct strbuf *b, int64_t v, bool last)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRId64 "%c", v, last ? '\n' : ',');
	strbuf_put(b, buf, (size_t)n);
}

/* A field as RFC 4180 has it: quoted when it holds a comma, a quote or a
 * line break, quotes doubled. */
static void csv_str(struct strbuf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		strbuf_puts(b, s);
	} else {
		strbuf_putc(b, '"');
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				strbuf_putc(b, '"');
			strbuf_putc(b, *p);
		}
		strbuf_putc(b, '"');
	}
	strbuf_putc(b, ',');
}

static bool is_cat(const struct hist *h, int axis)
{
	int k = hist_axis_kind(h, axis);
	return k == HIST_AXIS_CAT_INT || k == HIST_AXIS_CAT_STR;
}

/* Bin i of axis: its edges (flow bins reach to -inf / inf), or its
 * category, empty for the "other" bin. */
static void csv_bin(struct strbuf *b, const struct hist *h, int axis, int i)
{
	int n = hist_nbins(h, axis);
	if (!is_cat(h, axis)) {
		csv_num(b, i == 0 ? -INFINITY : hist_edge(h, axis, i), false);
		csv_num(b, i == n + 1 ? INFINITY : hist_edge(h, axis, i + 1), false);
	} else if (i == n) {
		strbuf_puts(b, ",");
	} else if (hist_axis_kind(h, axis) == HIST_AXIS_CAT_INT) {
		csv_int(b, hist_cat_int(h, axis, i), false);
	} else {
		csv_str(b, hist_cat_str(h, axis, i));
	}
}

static void csv_cell(struct strbuf *b, const struct hist *h, size_t c)
{
	if (hist_profile(h)) {
		if (hist_weighted(h)) {
			csv_num(b, hist_cell_sumw(h, c), false);
			csv_num(b, hist_cell_sumw2(h, c), false);
		} else {
			csv_int(b, hist_cell_count(h, c), false);
		}
		csv_num(b, hist_cell_value(h, c), false);
		csv_num(b, hist_cell_variance(h, c), true);
	} else if (hist_weighted(h)) {
		csv_num(b, hist_cell_value(h, c), false);
		csv_num(b, hist_cell_variance(h, c), true);
	} else {
		csv_int(b, hist_cell_count(h, c), false);
		csv_int(b, hist_cell_count(h, c), true);
	}
}

/* Cells in flat order, x outermost, which is also the order of the loop
 * over each axis's bins below. */
int plot_csv(const struct hist *h, char **out, size_t *len)
{
	struct strbuf b = STRBUF_INIT;
	static const char *const names[HIST_MAX_DIM] = { "x", "y", "z" };
	int nd = hist_ndim(h), idx[HIST_MAX_DIM] = { 0 };
	for (int d = 0; d < nd; d++) {
		strbuf_puts(&b, names[d]);
		if (!is_cat(h, d)) {
			strbuf_puts(&b, "lo,");
			strbuf_puts(&b, names[d]);
			strbuf_puts(&b, "hi");
		}
		strbuf_puts(&b, ",");
	}
	strbuf_puts(&b, !hist_profile(h) ? "value,variance\n"
			: hist_weighted(h) ? "sum_of_weights,sum_of_weights_squared,value,variance\n"
			: "count,value,variance\n");
	for (size_t c = 0; c < hist_ncells(h) && !b.err; c++) {
		for (int d = 0; d < nd; d++)
			csv_bin(&b, h, d, idx[d]);
		csv_cell(&b, h, c);
		for (int d = nd - 1; d >= 0 && ++idx[d] == hist_extent(h, d); d--)
			idx[d] = 0;
	}
	return strbuf_finish(&b, out, len);
}
