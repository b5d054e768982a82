/* plot.h — a histogram as a picture and as a table: SVG that a physicist
 * would put on a slide (axes, ticks, TeX-like labels, title, error bars,
 * a colour map for 2-D; stacks of simulation with data and a ratio
 * panel, overlays), and CSV with bin edges, values and variances.  Pure
 * functions of the histograms: how they are drawn (log axes, density,
 * size, the experiment label line) is in their hist_plot() options.
 * Files: plot_1d.c, plot_2d.c, plot_stack.c draw; plot_axes.c and
 * plot_tex.c (labels) are what they share; plot_csv.c the table. */
#ifndef ANAFS_PLOT_H
#define ANAFS_PLOT_H

#include "hist.h"

#include <stddef.h>

/* SVG of h; *out is new (free()), *len its length.  0 or -ENOMEM.  A
 * category axis is drawn with a labelled bin per category ("other"
 * included): bars in 1-D, rows or columns of a colour map in 2-D.  A
 * profile is drawn as points with the error of the mean (1-D) or a
 * colour map of means (2-D).  A 3-D histogram is not drawn: the SVG says
 * so in words. */
int plot_svg(const struct hist *h, char **out, size_t *len);

/* How a layer of a plot of several histograms is drawn. */
enum plot_kind {
	PLOT_STACK,  /* simulation: filled, stacked on the layers before it */
	PLOT_DATA,   /* points with error bars (sqrt(N) when unweighted) */
	PLOT_LINE,   /* a line of its own: an overlay */
};

struct plot_layer {
	const struct hist *h;    /* borrowed */
	const char *name;        /* the legend's text (TeX-like); borrowed */
	enum plot_kind kind;
};

/* Several 1-D histograms in one frame: the stacked layers bottom up in
 * order, the band of their total, data over them, lines on top, a legend
 * in the corner, and with data and a stack a ratio panel of data over
 * the stack's total.  The band is the statistical error of the total
 * (root of the summed variances) added in quadrature, up and down apart,
 * to the envelope of the variations: per bin, the largest excess and the
 * largest deficit of any variation's total over the nominal total. */
struct plot_set {
	const struct plot_layer *layers;
	size_t n;                /* 1..64 */
	const struct hist *const *vars; /* totals of the stack per variation; borrowed */
	size_t nvar;
	const struct hist *style;       /* whose options, title and axis labels are drawn */
	const struct hist_plot *plot;   /* options in place of style's; NULL: style's */
	const char *title;              /* in place of style's; NULL: style's */
	const char *note;        /* said in the statistics line ("region 4j1b"); NULL: nothing */
};

/* SVG of s, as plot_svg().  When style is no 1-D histogram of regular or
 * variable bins, or a layer's histogram is none, plot_svg(style). */
int plot_svg_set(const struct plot_set *s, char **out, size_t *len);

/* CSV of h: a header line, then one line per cell including flow bins,
 * x outermost.  Per axis two columns of edges (flow bins reach to -inf /
 * +inf; "xlo,xhi", "ylo,yhi", "zlo,zhi"), or for a category axis one
 * column ("x") with the category, quoted as RFC 4180 has it, empty for
 * the "other" bin.  Then "value,variance"; for a profile
 * "count,value,variance", or "sum_of_weights,sum_of_weights_squared,
 * value,variance" when weighted (hist_cell_value() and friends).  *out
 * is new (free()). */
int plot_csv(const struct hist *h, char **out, size_t *len);

#endif
